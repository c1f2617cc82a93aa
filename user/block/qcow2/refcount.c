// SPDX-License-Identifier: GPL-2.0-only
/*
 * Refcounts (spec "Cluster refcounts"): a refcount table of refcount block
 * offsets, each block an array of refcount_bits-wide counts, one per host
 * cluster. Widths below 8 bits are packed from the low bit of each byte
 * up, wider ones are big-endian, as QEMU reads them.
 *
 * Write order: a refcount goes up on disk before any table points to the
 * cluster (the L2 cache writes the refcount blocks first, cache.c), and
 * down only after no table on disk points to it (deferred frees, applied
 * by qcow2_flush_metadata()). A crash between the two leaves a refcount too
 * high (a leak), never too low (corruption).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

uint64_t qcow2_rb_get(const struct qcow2 *q, const void *rb, uint64_t i)
{
	const uint8_t *p = rb;
	unsigned int bits = q->refcount_bits;

	switch (bits) {
	case 1:
	case 2:
	case 4:
		return (p[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
	case 8:
		return p[i];
	case 16:
		return be16toh(((const uint16_t *)rb)[i]);
	case 32:
		return be32toh(((const uint32_t *)rb)[i]);
	default:
		return be64toh(((const uint64_t *)rb)[i]);
	}
}

void qcow2_rb_set(const struct qcow2 *q, void *rb, uint64_t i, uint64_t v)
{
	uint8_t *p = rb;
	unsigned int bits = q->refcount_bits, shift;

	switch (bits) {
	case 1:
	case 2:
	case 4:
		shift = i * bits % 8;
		p[i * bits / 8] &= ~(((1u << bits) - 1) << shift);
		p[i * bits / 8] |= v << shift;
		break;
	case 8:
		p[i] = v;
		break;
	case 16:
		((uint16_t *)rb)[i] = htobe16(v);
		break;
	case 32:
		((uint32_t *)rb)[i] = htobe32(v);
		break;
	default:
		((uint64_t *)rb)[i] = htobe64(v);
	}
}

int qcow2_refcount_read_table(struct qcow2 *q)
{
	uint64_t bytes = (uint64_t)q->h.refcount_table_clusters << q->cluster_bits;
	uint64_t i;
	int ret;

	q->rt_entries = bytes / 8;
	q->rt = malloc(bytes);
	if (!q->rt)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	ret = bfile_pread(q->blk.file, q->rt, bytes, q->h.refcount_table_offset);
	if (ret)
		return ret;
	for (i = 0; i < q->rt_entries; i++)
		q->rt[i] = be64toh(q->rt[i]);
	return 0;
}

/* The refcount block of table index TI, checked before it is trusted. */
static int get_block(struct qcow2 *q, uint64_t ti, void **rb)
{
	uint64_t off = q->rt[ti];

	if (off % q->cluster_size || off < q->cluster_size ||
	    off >= q->file_end)
		return blk_fail(EINVAL, q->blk.filename,
				"refcount block %llu at offset 0x%llx is invalid (unaligned, in the header or past the end of the file)",
				(unsigned long long)ti, (unsigned long long)off);
	if (qcow2_ranges_overlap(off, q->cluster_size,
				 q->h.refcount_table_offset,
				 q->rt_entries * 8))
		return blk_fail(EINVAL, q->blk.filename,
				"refcount block %llu overlaps the refcount table",
				(unsigned long long)ti);
	return qcow2_cache_get(q, &q->rb_cache, off, false, rb);
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc)
{
	uint64_t ti = cluster / q->rb_entries;
	void *rb;
	int ret;

	if (ti >= q->rt_entries || !q->rt[ti]) {
		*rc = 0;
		return 0;
	}
	ret = get_block(q, ti, &rb);
	if (ret)
		return ret;
	*rc = qcow2_rb_get(q, rb, cluster % q->rb_entries);
	return 0;
}

int qcow2_refcounts_persist(struct qcow2 *q)
{
	bool wrote = false;
	int ret;

	ret = qcow2_cache_write(q, &q->rb_cache, &wrote);
	if (!ret && wrote)
		ret = bfile_flush(q->blk.file);
	return ret;
}

static int write_rt_entry(struct qcow2 *q, uint64_t ti)
{
	uint64_t be = htobe64(q->rt[ti]);

	return bfile_pwrite(q->blk.file, &be, 8,
			    q->h.refcount_table_offset + ti * 8);
}

static void note_end(struct qcow2 *q, uint64_t end)
{
	if (end > q->file_end)
		q->file_end = end;
}

/*
 * A new refcount block for table index TI, placed in the first cluster it
 * covers (free, since no block counts it yet) and counting itself: written
 * and synced before the table entry that makes it live.
 */
static int create_block(struct qcow2 *q, uint64_t ti)
{
	uint64_t cluster = ti * q->rb_entries;
	uint64_t off = cluster << q->cluster_bits;
	void *rb;
	int ret;

	ret = qcow2_cache_get(q, &q->rb_cache, off, true, &rb);
	if (ret)
		return ret;
	qcow2_rb_set(q, rb, 0, 1);
	ret = bfile_pwrite(q->blk.file, rb, q->cluster_size, off);
	if (!ret)
		ret = bfile_flush(q->blk.file);
	if (ret)
		return ret;
	qcow2_cache_forget(&q->rb_cache, off);
	note_end(q, off + q->cluster_size);
	q->rt[ti] = off;
	/* no sync needed after this one: the refcount changes that follow
	 * are synced before any table that depends on them is written
	 */
	return write_rt_entry(q, ti);
}

/*
 * A larger refcount table, for table index NEED_TI. The new table and the
 * new blocks it needs go after the end of the file, the blocks counting the
 * table and themselves. Order: blocks and counts on disk, table on disk,
 * header switched in one 12-byte write, old table freed.
 */
static int grow_table(struct qcow2 *q, uint64_t need_ti)
{
	uint64_t cs = q->cluster_size, rbe = q->rb_entries;
	uint64_t start = qcow2_div_up(q->file_end, cs);
	uint64_t t = 0, nb = 0, t2, nb2, end, r, maxr, x, i, b;
	uint64_t old_off = q->h.refcount_table_offset;
	uint64_t old_clusters = q->h.refcount_table_clusters;
	uint64_t *nrt = NULL, *disk = NULL;
	unsigned char hdr[12];
	uint64_t be64;
	uint32_t be32;
	void *blocks = NULL;
	int ret;

	for (;;) {
		end = start + t + nb;
		maxr = (end ? end - 1 : 0) / rbe;
		if (maxr < need_ti)
			maxr = need_ti;
		t2 = qcow2_div_up((maxr + 1) * 8, cs);
		if (t2 < old_clusters * 2)
			t2 = old_clusters * 2;
		nb2 = 0;
		for (r = start / rbe; r <= (start + t2 + nb - 1) / rbe; r++)
			if (r >= q->rt_entries || !q->rt[r])
				nb2++;
		if (t2 == t && nb2 == nb)
			break;
		t = t2 > t ? t2 : t;
		nb = nb2 > nb ? nb2 : nb;
	}
	if (t * cs > QCOW2_MAX_RT_BYTES)
		return blk_fail(ENOSPC, q->blk.filename,
				"the refcount table would exceed %u MiB",
				QCOW2_MAX_RT_BYTES >> 20);
	end = start + t + nb;
	nrt = calloc(t * cs / 8, 8);
	disk = malloc(t * cs);
	blocks = calloc(nb ? nb : 1, cs);
	if (!nrt || !disk || !blocks) {
		ret = blk_fail(ENOMEM, q->blk.filename, "out of memory");
		goto out;
	}
	memcpy(nrt, q->rt, q->rt_entries * 8);
	/* assign the new blocks, in order, to the ranges that lack one */
	b = 0;
	for (r = start / rbe; r <= (end - 1) / rbe; r++)
		if (r >= q->rt_entries || !q->rt[r])
			nrt[r] = (start + t + b++) << q->cluster_bits;
	/* count the new table's and blocks' clusters */
	for (x = start; x < end; x++) {
		r = x / rbe;
		if (r < q->rt_entries && q->rt[r]) {
			ret = qcow2_refcount_add(q, x, 1);
			if (ret)
				goto out;
			continue;
		}
		b = (nrt[r] >> q->cluster_bits) - start - t;
		qcow2_rb_set(q, (char *)blocks + b * cs, x % rbe, 1);
	}
	ret = qcow2_refcounts_persist(q);
	if (!ret && nb)
		ret = bfile_pwrite(q->blk.file, blocks, nb * cs, (start + t) * cs);
	for (i = 0; i < t * cs / 8; i++)
		disk[i] = htobe64(nrt[i]);
	if (!ret)
		ret = bfile_pwrite(q->blk.file, disk, t * cs, start * cs);
	if (!ret)
		ret = bfile_flush(q->blk.file);
	if (ret)
		goto out;
	note_end(q, end * cs);
	be64 = htobe64(start * cs);
	be32 = htobe32(t);
	memcpy(hdr, &be64, 8);
	memcpy(hdr + 8, &be32, 4);
	ret = bfile_pwrite(q->blk.file, hdr, 12, QH_RT_OFFSET);
	if (!ret)
		ret = bfile_flush(q->blk.file);
	if (ret)
		goto out;
	free(q->rt);
	q->rt = nrt;
	nrt = NULL;
	q->rt_entries = t * cs / 8;
	q->h.refcount_table_offset = start * cs;
	q->h.refcount_table_clusters = t;
	/* the old table: nothing on disk points to it any more */
	for (x = 0; x < old_clusters; x++) {
		ret = qcow2_refcount_add(q, (old_off / cs) + x, -1);
		if (ret)
			goto out;
	}
out:
	free(nrt);
	free(disk);
	free(blocks);
	return ret;
}

static int ensure_table(struct qcow2 *q, uint64_t ti)
{
	if (ti < q->rt_entries)
		return 0;
	return grow_table(q, ti);
}

int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t rc)
{
	uint64_t ti = cluster / q->rb_entries;
	void *rb;
	int ret;

	if (rc > q->refcount_max)
		return blk_fail(EOVERFLOW, q->blk.filename,
				"refcount of cluster %llu would exceed %llu",
				(unsigned long long)cluster,
				(unsigned long long)q->refcount_max);
	ret = ensure_table(q, ti);
	if (ret)
		return ret;
	if (!q->rt[ti]) {
		if (!rc)
			return 0;
		if (cluster == ti * q->rb_entries)
			return blk_fail(EINVAL, q->blk.filename,
					"cluster %llu needs a refcount block where it lies itself",
					(unsigned long long)cluster);
		ret = create_block(q, ti);
		if (ret)
			return ret;
	}
	ret = get_block(q, ti, &rb);
	if (ret)
		return ret;
	qcow2_rb_set(q, rb, cluster % q->rb_entries, rc);
	qcow2_cache_mark_dirty(&q->rb_cache, rb);
	if (!rc) {
		if (cluster < q->free_hint)
			q->free_hint = cluster;
		/* a freed L2 table must not come back from the cache */
		qcow2_cache_forget(&q->l2_cache, cluster << q->cluster_bits);
	}
	return 0;
}

int qcow2_refcount_add(struct qcow2 *q, uint64_t cluster, int64_t delta)
{
	uint64_t rc;
	int ret;

	ret = qcow2_refcount_get(q, cluster, &rc);
	if (ret)
		return ret;
	if (delta < 0 && rc < (uint64_t)-delta)
		return blk_fail(EINVAL, q->blk.filename,
				"refcount of cluster %llu would go below zero (image corrupt; run check -r all)",
				(unsigned long long)cluster);
	return qcow2_refcount_set(q, cluster, rc + delta);
}

/* The first run of N clusters with refcount 0, from the free hint on. */
static int find_free(struct qcow2 *q, uint64_t n, uint64_t *first)
{
	uint64_t end = qcow2_div_up(q->file_end, q->cluster_size);
	uint64_t i = q->free_hint, run = 0, rc, first_free = 0;
	int ret;

	if (!i)
		i = 1;	/* cluster 0 is the header */
	for (; i < end && run < n; i++) {
		ret = qcow2_refcount_get(q, i, &rc);
		if (ret)
			return ret;
		run = rc ? 0 : run + 1;
		if (!rc && !first_free)
			first_free = i;
	}
	*first = i - run;
	/* everything before the first free cluster seen is in use */
	q->free_hint = first_free ? first_free : *first;
	return 0;
}

int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset)
{
	uint64_t first, r, x, rbe = q->rb_entries;
	bool retry;
	int ret;

	do {
		retry = false;
		ret = find_free(q, n, &first);
		if (ret)
			return ret;
		for (r = first / rbe; r <= (first + n - 1) / rbe; r++) {
			if (r >= q->rt_entries) {
				/* the new table may take the clusters found */
				ret = grow_table(q, r);
				if (ret)
					return ret;
				retry = true;
				break;
			}
			if (q->rt[r])
				continue;
			ret = create_block(q, r);
			if (ret)
				return ret;
			/* the block took a cluster: look again */
			retry = true;
			break;
		}
	} while (retry);
	for (x = first; x < first + n; x++) {
		ret = qcow2_refcount_add(q, x, 1);
		if (ret)
			return ret;
	}
	if (first == q->free_hint)
		q->free_hint = first + n;
	note_end(q, (first + n) << q->cluster_bits);
	*offset = first << q->cluster_bits;
	return 0;
}

int qcow2_free_deferred(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	struct qcow2_deferred *d;

	if (q->nr_deferred == q->max_deferred) {
		unsigned int n = q->max_deferred ? q->max_deferred * 2 : 64;

		d = realloc(q->deferred, n * sizeof(*d));
		if (!d)
			return blk_fail(ENOMEM, q->blk.filename, "out of memory");
		q->deferred = d;
		q->max_deferred = n;
	}
	d = &q->deferred[q->nr_deferred++];
	d->offset = offset >> q->cluster_bits;
	d->count = qcow2_div_up(offset + len, q->cluster_size) - d->offset;
	return 0;
}
