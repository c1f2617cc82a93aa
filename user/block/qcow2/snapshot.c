// SPDX-License-Identifier: GPL-2.0-only
/*
 * Internal snapshots (spec "Snapshots"): a table of entries, each naming
 * an L1 table of its own that shares L2 tables and data clusters with the
 * active L1 through refcounts. Entry layout: L1 offset (8), L1 size (4),
 * id length (2), name length (2), date seconds and nanoseconds (4, 4), VM
 * clock (8), VM state size (4), extra data size (4), extra data, id, name,
 * padding to 8 bytes.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

/* QEMU's limits: QCOW_MAX_SNAPSHOT_EXTRA_DATA, QCOW_MAX_SNAPSHOTS_SIZE */
#define SNAPSHOT_MAX_EXTRA	1024
#define SNAPSHOT_TABLE_MAX	(64u << 20)

static uint16_t get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

void qcow2_snapshots_free(struct qcow2 *q)
{
	uint32_t i;

	for (i = 0; i < q->nr_snapshots; i++) {
		free(q->snapshots[i].id);
		free(q->snapshots[i].name);
		free(q->snapshots[i].extra);
	}
	free(q->snapshots);
	q->snapshots = NULL;
	q->nr_snapshots = 0;
}

static int check_snapshot_l1(struct qcow2 *q, uint32_t i)
{
	const struct qcow2_snapshot *s = &q->snapshots[i];
	uint64_t bytes = (uint64_t)s->l1_size * 8;

	if (bytes > QCOW2_MAX_L1_BYTES)
		return blk_fail(EINVAL, q->blk.filename,
				"snapshot %u: L1 size %u too large", i, s->l1_size);
	if (s->l1_size &&
	    (s->l1_table_offset % q->cluster_size ||
	     s->l1_table_offset < q->cluster_size ||
	     s->l1_table_offset + bytes > q->file_end))
		return blk_fail(EINVAL, q->blk.filename,
				"snapshot %u: L1 table offset 0x%llx invalid (unaligned, in the header or past the end of the file)",
				i, (unsigned long long)s->l1_table_offset);
	if (qcow2_ranges_overlap(s->l1_table_offset, bytes,
				 q->h.refcount_table_offset,
				 (uint64_t)q->h.refcount_table_clusters << q->cluster_bits))
		return blk_fail(EINVAL, q->blk.filename,
				"snapshot %u: L1 table overlaps the refcount table", i);
	return 0;
}

int qcow2_snapshots_read(struct qcow2 *q)
{
	uint64_t pos = q->h.snapshots_offset, start = pos;
	unsigned char e[40];
	uint32_t i, n = q->h.nb_snapshots;
	uint16_t id_len, name_len;
	struct qcow2_snapshot *s;
	int ret;

	if (!n)
		return 0;
	q->snapshots = calloc(n, sizeof(*q->snapshots));
	if (!q->snapshots)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	for (i = 0; i < n; i++) {
		s = &q->snapshots[i];
		q->nr_snapshots = i + 1;
		if (pos + sizeof(e) > q->file_end ||
		    pos - start > SNAPSHOT_TABLE_MAX)
			return blk_fail(EINVAL, q->blk.filename,
					"snapshot table runs past the end of the file");
		ret = bfile_pread(q->blk.file, e, sizeof(e), pos);
		if (ret)
			return ret;
		s->l1_table_offset = get64(e);
		s->l1_size = get32(e + 8);
		id_len = get16(e + 12);
		name_len = get16(e + 14);
		s->date_sec = get32(e + 16);
		s->date_nsec = get32(e + 20);
		s->vm_clock_nsec = get64(e + 24);
		s->vm_state_size = get32(e + 32);
		s->extra_size = get32(e + 36);
		if (s->extra_size > SNAPSHOT_MAX_EXTRA)
			return blk_fail(EINVAL, q->blk.filename,
					"snapshot %u: extra data size %u too large",
					i, s->extra_size);
		pos += sizeof(e);
		if (pos + s->extra_size + id_len + name_len > q->file_end)
			return blk_fail(EINVAL, q->blk.filename,
					"snapshot table runs past the end of the file");
		s->extra = malloc(s->extra_size + 1);
		s->id = calloc(1, id_len + 1);
		s->name = calloc(1, name_len + 1);
		if (!s->extra || !s->id || !s->name)
			return blk_fail(ENOMEM, q->blk.filename, "out of memory");
		ret = bfile_pread(q->blk.file, s->extra, s->extra_size, pos);
		if (!ret)
			ret = bfile_pread(q->blk.file, s->id, id_len,
					  pos + s->extra_size);
		if (!ret)
			ret = bfile_pread(q->blk.file, s->name, name_len,
					  pos + s->extra_size + id_len);
		if (ret)
			return ret;
		if (s->extra_size >= 8)
			s->vm_state_size = get64(s->extra);
		s->disk_size = q->h.size;
		if (s->extra_size >= 16)
			s->disk_size = get64((unsigned char *)s->extra + 8);
		pos = qcow2_align_up(pos + s->extra_size + id_len + name_len, 8);
		ret = check_snapshot_l1(q, i);
		if (ret)
			return ret;
	}
	q->snapshots_size = pos - start;
	if (qcow2_ranges_overlap(start, pos - start, q->h.l1_table_offset,
				 (uint64_t)q->h.l1_size * 8) ||
	    qcow2_ranges_overlap(start, pos - start, q->h.refcount_table_offset,
				 (uint64_t)q->h.refcount_table_clusters << q->cluster_bits))
		return blk_fail(EINVAL, q->blk.filename,
				"the snapshot table overlaps the L1 or refcount table");
	return 0;
}
