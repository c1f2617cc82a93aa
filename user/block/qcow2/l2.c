// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cluster mapping (spec "Cluster mapping"): the L1 table, kept whole in
 * memory, points to L2 tables, one cluster each, read through the cache.
 * An L1 or L2 entry with the COPIED flag (bit 63) points to a cluster whose
 * refcount is exactly one, which may therefore be written in place; any
 * other allocated cluster is shared with a snapshot and is copied before
 * it is written.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

uint64_t qcow2_l1_entries_for(uint64_t size, unsigned int cluster_bits)
{
	unsigned int shift = cluster_bits + (cluster_bits - 3);

	return (size + (1ull << shift) - 1) >> shift;
}

int qcow2_l1_read(struct qcow2 *q)
{
	uint64_t bytes = (uint64_t)q->h.l1_size * 8;
	uint32_t i;
	int ret;

	q->l1_size = q->h.l1_size;
	q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
	if (!q->l1)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	ret = bfile_pread(q->blk.file, q->l1, bytes, q->h.l1_table_offset);
	if (ret)
		return ret;
	for (i = 0; i < q->l1_size; i++)
		q->l1[i] = be64toh(q->l1[i]);
	return 0;
}

int qcow2_l1_write(struct qcow2 *q)
{
	uint64_t bytes = (uint64_t)q->l1_size * 8;
	uint64_t *be;
	uint32_t i;
	int ret;

	be = malloc(bytes ? bytes : 1);
	if (!be)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	for (i = 0; i < q->l1_size; i++)
		be[i] = htobe64(q->l1[i]);
	ret = bfile_pwrite(q->blk.file, be, bytes, q->h.l1_table_offset);
	free(be);
	if (!ret)
		q->l1_dirty = false;
	return ret;
}

/* A table or data cluster must not overlap the header, L1 or refcount
 * table: writing there would destroy the image.
 */
static const char *overlaps_metadata(struct qcow2 *q, uint64_t off,
				     uint64_t len)
{
	if (off < q->cluster_size)
		return "the header";
	if (qcow2_ranges_overlap(off, len, q->h.l1_table_offset,
				 (uint64_t)q->l1_size * 8))
		return "the L1 table";
	if (qcow2_ranges_overlap(off, len, q->h.refcount_table_offset,
				 q->rt_entries * 8))
		return "the refcount table";
	return NULL;
}

int qcow2_check_l2_offset(struct qcow2 *q, uint64_t l2_offset, uint64_t l1i)
{
	const char *what;

	if (l2_offset % q->cluster_size)
		return blk_fail(EINVAL, q->blk.filename,
				"L2 table %llu at unaligned offset 0x%llx",
				(unsigned long long)l1i,
				(unsigned long long)l2_offset);
	if (l2_offset >= q->file_end)
		return blk_fail(EINVAL, q->blk.filename,
				"L2 table %llu at offset 0x%llx past the end of the file",
				(unsigned long long)l1i,
				(unsigned long long)l2_offset);
	what = overlaps_metadata(q, l2_offset, q->cluster_size);
	if (what)
		return blk_fail(EINVAL, q->blk.filename,
				"L2 table %llu at offset 0x%llx overlaps %s",
				(unsigned long long)l1i,
				(unsigned long long)l2_offset, what);
	return 0;
}

int qcow2_check_data_offset(struct qcow2 *q, uint64_t entry, uint64_t off)
{
	uint64_t host = entry & QCOW2_L2E_OFFSET_MASK;
	const char *what;

	if (host % q->cluster_size)
		return blk_fail(EINVAL, q->blk.filename,
				"data cluster of guest offset 0x%llx at unaligned offset 0x%llx",
				(unsigned long long)off,
				(unsigned long long)host);
	if (host >= q->file_end)
		return blk_fail(EINVAL, q->blk.filename,
				"data cluster of guest offset 0x%llx at offset 0x%llx past the end of the file",
				(unsigned long long)off,
				(unsigned long long)host);
	what = overlaps_metadata(q, host, q->cluster_size);
	if (what)
		return blk_fail(EINVAL, q->blk.filename,
				"data cluster of guest offset 0x%llx overlaps %s",
				(unsigned long long)off, what);
	return 0;
}

static int l1_index(struct qcow2 *q, uint64_t off, uint64_t *l1i)
{
	*l1i = off >> (q->cluster_bits + q->l2_bits);
	if (*l1i >= q->l1_size)
		return blk_fail(EINVAL, q->blk.filename,
				"guest offset 0x%llx beyond the L1 table",
				(unsigned long long)off);
	if (q->l1[*l1i] & QCOW2_L1E_RESERVED)
		return blk_fail(EINVAL, q->blk.filename,
				"L1 entry %llu has reserved bits set (0x%llx)",
				(unsigned long long)*l1i,
				(unsigned long long)q->l1[*l1i]);
	return 0;
}

int qcow2_l2_get(struct qcow2 *q, uint64_t off, uint64_t *entry)
{
	uint64_t l1i, l2_offset;
	uint64_t *l2;
	int ret;

	ret = l1_index(q, off, &l1i);
	if (ret)
		return ret;
	l2_offset = q->l1[l1i] & QCOW2_L1E_OFFSET_MASK;
	if (!l2_offset) {
		*entry = 0;
		return 0;
	}
	ret = qcow2_check_l2_offset(q, l2_offset, l1i);
	if (!ret)
		ret = qcow2_cache_get(q, &q->l2_cache, l2_offset, false,
				      (void **)&l2);
	if (ret)
		return ret;
	*entry = be64toh(l2[(off >> q->cluster_bits) & (q->l2_entries - 1)]);
	return 0;
}

/*
 * A new L2 table for L1 index L1I: empty, or a copy of the shared one.
 * The L1 entry changes in memory only; qcow2_flush_metadata() writes it
 * after the table itself is on disk.
 */
static int new_l2(struct qcow2 *q, uint64_t l1i, uint64_t old)
{
	uint64_t offset;
	void *copy = NULL, *l2;
	int ret;

	if (old) {
		copy = malloc(q->cluster_size);
		if (!copy)
			return blk_fail(ENOMEM, q->blk.filename, "out of memory");
		ret = qcow2_cache_get(q, &q->l2_cache, old, false, &l2);
		if (ret)
			goto out;
		memcpy(copy, l2, q->cluster_size);
	}
	ret = qcow2_alloc_clusters(q, 1, &offset);
	if (ret)
		goto out;
	ret = qcow2_cache_get(q, &q->l2_cache, offset, true, &l2);
	if (ret)
		goto out;
	if (copy)
		memcpy(l2, copy, q->cluster_size);
	q->l1[l1i] = offset | QCOW2_OFLAG_COPIED;
	q->l1_dirty = true;
	if (old)
		ret = qcow2_free_deferred(q, old, q->cluster_size);
out:
	free(copy);
	return ret;
}

int qcow2_l2_set(struct qcow2 *q, uint64_t off, uint64_t entry)
{
	uint64_t l1i, l2_offset;
	uint64_t *l2;
	int ret;

	ret = l1_index(q, off, &l1i);
	if (ret)
		return ret;
	l2_offset = q->l1[l1i] & QCOW2_L1E_OFFSET_MASK;
	if (l2_offset) {
		ret = qcow2_check_l2_offset(q, l2_offset, l1i);
		if (ret)
			return ret;
	}
	if (!l2_offset || !(q->l1[l1i] & QCOW2_OFLAG_COPIED)) {
		ret = new_l2(q, l1i, l2_offset);
		if (ret)
			return ret;
		l2_offset = q->l1[l1i] & QCOW2_L1E_OFFSET_MASK;
	}
	ret = qcow2_cache_get(q, &q->l2_cache, l2_offset, false, (void **)&l2);
	if (ret)
		return ret;
	l2[(off >> q->cluster_bits) & (q->l2_entries - 1)] = htobe64(entry);
	qcow2_cache_mark_dirty(&q->l2_cache, l2);
	return 0;
}

/*
 * A larger L1 table for a larger virtual size: written whole to new
 * clusters, then the header switched to it in one 12-byte write (l1_size
 * and l1_table_offset are adjacent), then the old one freed.
 */
int qcow2_l1_grow(struct qcow2 *q, uint64_t size)
{
	uint64_t need = qcow2_l1_entries_for(size, q->cluster_bits);
	uint64_t old_off = q->h.l1_table_offset;
	uint64_t old_bytes = (uint64_t)q->l1_size * 8, offset;
	uint32_t old_size = q->l1_size;
	unsigned char hdr[12];
	uint32_t be32;
	uint64_t be64;
	uint64_t *l1;
	int ret;

	if (need <= q->l1_size)
		return 0;
	if (need * 8 > QCOW2_MAX_L1_BYTES)
		return blk_fail(EFBIG, q->blk.filename,
				"the L1 table for %llu bytes would exceed %u MiB",
				(unsigned long long)size, QCOW2_MAX_L1_BYTES >> 20);
	ret = qcow2_flush_metadata(q);
	if (ret)
		return ret;
	l1 = calloc(need, 8);
	if (!l1)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	memcpy(l1, q->l1, old_bytes);
	ret = qcow2_alloc_clusters(q, qcow2_div_up(need * 8, q->cluster_size),
				   &offset);
	if (ret) {
		free(l1);
		return ret;
	}
	free(q->l1);
	q->l1 = l1;
	q->l1_size = need;
	q->h.l1_size = need;
	q->h.l1_table_offset = offset;
	ret = qcow2_refcounts_persist(q);
	if (!ret)
		ret = qcow2_l1_write(q);
	if (!ret)
		ret = bfile_flush(q->blk.file);
	if (ret)
		return ret;
	be32 = htobe32(need);
	be64 = htobe64(offset);
	memcpy(hdr, &be32, 4);
	memcpy(hdr + 4, &be64, 8);
	ret = bfile_pwrite(q->blk.file, hdr, 12, QH_L1_SIZE);
	if (!ret)
		ret = bfile_flush(q->blk.file);
	if (!ret && old_size)
		ret = qcow2_free_deferred(q, old_off, old_bytes);
	return ret;
}
