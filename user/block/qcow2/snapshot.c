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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void put16(unsigned char *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static size_t entry_size(const struct qcow2_snapshot *s)
{
	return qcow2_align_up(40 + s->extra_size + strlen(s->id) +
			      strlen(s->name), 8);
}

/*
 * A new snapshot table with the N entries of SNAPS, in clusters of its
 * own, then the header switched to it in one 12-byte write (nb_snapshots
 * and snapshots_offset are adjacent), then the old table freed. A crash
 * leaves the old table or the new one, and at worst leaked clusters.
 */
static int write_table(struct qcow2 *q, struct qcow2_snapshot *snaps,
		       uint32_t n)
{
	uint64_t old_off = q->h.snapshots_offset, old_size = q->snapshots_size;
	uint64_t size = 0, off = 0, pos;
	unsigned char *t, hdr[12];
	uint32_t i;
	int ret;

	for (i = 0; i < n; i++)
		size += entry_size(&snaps[i]);
	t = calloc(1, size ? size : 1);
	if (!t)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	for (pos = 0, i = 0; i < n; i++) {
		const struct qcow2_snapshot *s = &snaps[i];
		size_t id_len = strlen(s->id), name_len = strlen(s->name);

		put64(t + pos, s->l1_table_offset);
		put32(t + pos + 8, s->l1_size);
		put16(t + pos + 12, id_len);
		put16(t + pos + 14, name_len);
		put32(t + pos + 16, s->date_sec);
		put32(t + pos + 20, s->date_nsec);
		put64(t + pos + 24, s->vm_clock_nsec);
		put32(t + pos + 32, s->vm_state_size > UINT32_MAX ? 0 :
				    s->vm_state_size);
		put32(t + pos + 36, s->extra_size);
		memcpy(t + pos + 40, s->extra, s->extra_size);
		memcpy(t + pos + 40 + s->extra_size, s->id, id_len);
		memcpy(t + pos + 40 + s->extra_size + id_len, s->name, name_len);
		pos += entry_size(s);
	}
	ret = 0;
	if (size)
		ret = qcow2_alloc_clusters(q, qcow2_div_up(size, q->cluster_size),
					   &off);
	if (!ret)
		ret = qcow2_refcounts_persist(q);
	if (!ret && size)
		ret = bfile_pwrite(q->blk.file, t, size, off);
	if (!ret)
		ret = bfile_flush(q->blk.file);
	free(t);
	if (ret)
		return ret;
	put32(hdr, n);
	put64(hdr + 4, off);
	ret = bfile_pwrite(q->blk.file, hdr, 12, QH_NB_SNAPSHOTS);
	if (!ret)
		ret = bfile_flush(q->blk.file);
	if (ret)
		return ret;
	q->h.nb_snapshots = n;
	q->h.snapshots_offset = off;
	q->snapshots_size = size;
	if (old_size)
		for (pos = 0; pos < qcow2_div_up(old_size, q->cluster_size) && !ret;
		     pos++)
			ret = qcow2_refcount_add(q, (old_off >> q->cluster_bits) + pos,
						 -1);
	return ret;
}

/* DELTA on every cluster the tree under L1 (L1_SIZE entries) uses: its L2
 * tables, data clusters and compressed extents (not the L1 itself).
 */
static int tree_refcounts(struct qcow2 *q, const uint64_t *l1,
			  uint32_t l1_size, int delta)
{
	uint64_t *l2, l2_off, e, off, len, c;
	uint32_t i, j;
	int ret = 0;

	l2 = malloc(q->cluster_size);
	if (!l2)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	for (i = 0; i < l1_size && !ret; i++) {
		l2_off = l1[i] & QCOW2_L1E_OFFSET_MASK;
		if (!l2_off)
			continue;
		ret = qcow2_check_l2_offset(q, l2_off, i);
		if (!ret)
			ret = bfile_pread(q->blk.file, l2, q->cluster_size, l2_off);
		for (j = 0; j < q->l2_entries && !ret; j++) {
			e = be64toh(l2[j]);
			if (e & QCOW2_OFLAG_COMPRESSED) {
				qcow2_compressed_extent(q, e, &off, &len);
			} else {
				off = e & QCOW2_L2E_OFFSET_MASK;
				len = q->cluster_size;
			}
			if (!off)
				continue;
			for (c = off >> q->cluster_bits;
			     c < qcow2_div_up(off + len, q->cluster_size) && !ret;
			     c++)
				ret = qcow2_refcount_add(q, c, delta);
		}
		if (!ret)
			ret = qcow2_refcount_add(q, l2_off >> q->cluster_bits,
						 delta);
	}
	free(l2);
	return ret;
}

/* COPIED (spec: refcount exactly one) right again in the active tables. */
static int fix_copied(struct qcow2 *q)
{
	uint64_t *l2, l2_off, e, host, rc;
	bool dirty;
	uint32_t i, j;
	int ret = 0;

	l2 = malloc(q->cluster_size);
	if (!l2)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	for (i = 0; i < q->l1_size && !ret; i++) {
		l2_off = q->l1[i] & QCOW2_L1E_OFFSET_MASK;
		if (!l2_off)
			continue;
		ret = qcow2_refcount_get(q, l2_off >> q->cluster_bits, &rc);
		if (ret)
			break;
		e = rc == 1 ? q->l1[i] | QCOW2_OFLAG_COPIED :
			      q->l1[i] & ~QCOW2_OFLAG_COPIED;
		if (e != q->l1[i]) {
			q->l1[i] = e;
			q->l1_dirty = true;
		}
		ret = bfile_pread(q->blk.file, l2, q->cluster_size, l2_off);
		dirty = false;
		for (j = 0; j < q->l2_entries && !ret; j++) {
			e = be64toh(l2[j]);
			host = e & QCOW2_L2E_OFFSET_MASK;
			if ((e & QCOW2_OFLAG_COMPRESSED) || !host)
				continue;
			ret = qcow2_refcount_get(q, host >> q->cluster_bits, &rc);
			if (ret)
				break;
			rc = rc == 1 ? e | QCOW2_OFLAG_COPIED :
				       e & ~QCOW2_OFLAG_COPIED;
			if (rc != e) {
				l2[j] = htobe64(rc);
				dirty = true;
			}
		}
		if (!ret && dirty)
			ret = bfile_pwrite(q->blk.file, l2, q->cluster_size, l2_off);
	}
	free(l2);
	return ret;
}

/* Everything on disk and the L2 cache empty: the operations below read
 * and write tables directly.
 */
static int quiesce(struct qcow2 *q)
{
	unsigned int i;
	int ret;

	ret = qcow2_flush_metadata(q);
	if (ret)
		return ret;
	for (i = 0; i < q->l2_cache.count; i++)
		q->l2_cache.entries[i].offset = 0;
	return 0;
}

static int find(struct qcow2 *q, const char *name)
{
	uint32_t i;

	for (i = 0; i < q->nr_snapshots; i++)
		if (!strcmp(q->snapshots[i].id, name))
			return i;
	for (i = 0; i < q->nr_snapshots; i++)
		if (!strcmp(q->snapshots[i].name, name))
			return i;
	return -1;
}

static int write_l1_copy(struct qcow2 *q, const uint64_t *l1, uint32_t n,
			 uint64_t off)
{
	uint64_t *be = calloc(n ? n : 1, 8);
	uint32_t i;
	int ret;

	if (!be)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	for (i = 0; i < n; i++)
		be[i] = htobe64(l1[i]);
	ret = bfile_pwrite(q->blk.file, be, (uint64_t)n * 8, off);
	free(be);
	return ret;
}

/*
 * Create: a copy of the active L1, every cluster under it counted once
 * more (refcounts synced), the new table entry, then COPIED cleared where
 * clusters are now shared. As in QEMU, a crash before the table is
 * switched leaves leaks; between the switch and the flag update, COPIED
 * flags that check -r all corrects.
 */
int qcow2_snapshot_create(struct qcow2 *q, const char *name)
{
	struct qcow2_snapshot *snaps, *s;
	uint64_t l1_off = 0, max_id = 0;
	struct timespec now;
	uint32_t i;
	char id[24];
	int ret;

	if (!*name || strlen(name) > UINT16_MAX)
		return blk_fail(EINVAL, q->blk.filename, "invalid snapshot name");
	if (find(q, name) >= 0)
		return blk_fail(EEXIST, q->blk.filename,
				"a snapshot named '%s' exists", name);
	if (q->nr_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return blk_fail(ENOSPC, q->blk.filename, "too many snapshots");
	ret = quiesce(q);
	if (ret)
		return ret;
	for (i = 0; i < q->nr_snapshots; i++)
		if (strtoull(q->snapshots[i].id, NULL, 10) > max_id)
			max_id = strtoull(q->snapshots[i].id, NULL, 10);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)max_id + 1);
	if (q->l1_size)
		ret = qcow2_alloc_clusters(q, qcow2_div_up((uint64_t)q->l1_size * 8,
							  q->cluster_size), &l1_off);
	if (!ret)
		ret = write_l1_copy(q, q->l1, q->l1_size, l1_off);
	if (!ret)
		ret = tree_refcounts(q, q->l1, q->l1_size, 1);
	if (!ret)
		ret = qcow2_refcounts_persist(q);
	if (ret)
		return ret;
	snaps = realloc(q->snapshots, (q->nr_snapshots + 1) * sizeof(*snaps));
	if (!snaps)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	q->snapshots = snaps;
	s = &snaps[q->nr_snapshots];
	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &now);
	s->l1_table_offset = l1_off;
	s->l1_size = q->l1_size;
	s->date_sec = now.tv_sec;
	s->date_nsec = now.tv_nsec;
	s->disk_size = q->h.size;
	/* spec: version 3 needs at least the VM state size and disk size;
	 * QEMU writes the instruction count too
	 */
	s->extra_size = 24;
	s->extra = calloc(1, 24);
	s->id = strdup(id);
	s->name = strdup(name);
	if (!s->extra || !s->id || !s->name) {
		free(s->extra);
		free(s->id);
		free(s->name);
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	}
	put64((unsigned char *)s->extra + 8, q->h.size);
	q->nr_snapshots++;
	ret = write_table(q, q->snapshots, q->nr_snapshots);
	if (!ret)
		ret = fix_copied(q);
	if (!ret)
		ret = qcow2_flush_metadata(q);
	return ret;
}

/*
 * Apply: the snapshot's tree counted once more, the active L1 replaced by
 * the snapshot's (in place), then the old active tree released.
 */
int qcow2_snapshot_apply(struct qcow2 *q, const char *name)
{
	const struct qcow2_snapshot *s;
	uint64_t *old, *l1;
	int i, ret;

	i = find(q, name);
	if (i < 0)
		return blk_fail(ENOENT, q->blk.filename,
				"no snapshot named '%s'", name);
	s = &q->snapshots[i];
	if (s->disk_size != q->h.size || s->l1_size > q->l1_size)
		return blk_fail(ENOTSUP, q->blk.filename,
				"snapshot '%s' has another disk size", name);
	ret = quiesce(q);
	if (ret)
		return ret;
	l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
	old = malloc((q->l1_size ? q->l1_size : 1) * 8ull);
	if (!l1 || !old) {
		free(l1);
		free(old);
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	}
	ret = bfile_pread(q->blk.file, l1, (uint64_t)s->l1_size * 8,
			  s->l1_table_offset);
	for (i = 0; i < (int)s->l1_size; i++)
		l1[i] = be64toh(l1[i]);
	if (!ret)
		ret = tree_refcounts(q, l1, s->l1_size, 1);
	if (!ret)
		ret = qcow2_refcounts_persist(q);
	if (!ret) {
		memcpy(old, q->l1, (uint64_t)q->l1_size * 8);
		memcpy(q->l1, l1, (uint64_t)q->l1_size * 8);
		ret = qcow2_l1_write(q);
	}
	if (!ret)
		ret = bfile_flush(q->blk.file);
	if (!ret)
		ret = tree_refcounts(q, old, q->l1_size, -1);
	if (!ret)
		ret = fix_copied(q);
	if (!ret)
		ret = qcow2_flush_metadata(q);
	free(l1);
	free(old);
	return ret;
}

/*
 * Delete: the table without the entry first, then the snapshot's tree and
 * L1 released, then COPIED set where clusters are no longer shared.
 */
int qcow2_snapshot_delete(struct qcow2 *q, const char *name)
{
	struct qcow2_snapshot gone;
	uint64_t *l1 = NULL;
	uint32_t j;
	int i, ret;

	i = find(q, name);
	if (i < 0)
		return blk_fail(ENOENT, q->blk.filename,
				"no snapshot named '%s'", name);
	ret = quiesce(q);
	if (ret)
		return ret;
	gone = q->snapshots[i];
	memmove(&q->snapshots[i], &q->snapshots[i + 1],
		(q->nr_snapshots - i - 1) * sizeof(gone));
	q->nr_snapshots--;
	ret = write_table(q, q->snapshots, q->nr_snapshots);
	if (!ret) {
		l1 = calloc(gone.l1_size ? gone.l1_size : 1, 8);
		if (!l1)
			ret = blk_fail(ENOMEM, q->blk.filename, "out of memory");
	}
	if (!ret)
		ret = bfile_pread(q->blk.file, l1, (uint64_t)gone.l1_size * 8,
				  gone.l1_table_offset);
	for (j = 0; !ret && j < gone.l1_size; j++)
		l1[j] = be64toh(l1[j]);
	if (!ret)
		ret = tree_refcounts(q, l1, gone.l1_size, -1);
	for (j = 0; !ret && gone.l1_size &&
	     j < qcow2_div_up((uint64_t)gone.l1_size * 8, q->cluster_size); j++)
		ret = qcow2_refcount_add(q, (gone.l1_table_offset >>
					     q->cluster_bits) + j, -1);
	if (!ret)
		ret = qcow2_refcounts_persist(q);
	if (!ret)
		ret = fix_copied(q);
	if (!ret)
		ret = qcow2_flush_metadata(q);
	free(l1);
	free(gone.id);
	free(gone.name);
	free(gone.extra);
	return ret;
}
