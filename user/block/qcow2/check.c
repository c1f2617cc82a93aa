// SPDX-License-Identifier: GPL-2.0-only
/*
 * Consistency check, as qemu-img check does it: count the references to
 * every host cluster (header, L1 tables of the image and of its snapshots,
 * L2 tables, data and compressed clusters, the snapshot table, the
 * refcount table and blocks, the encryption header) and compare with the
 * stored refcounts. A refcount below its references is corruption (a write
 * could free a cluster still in use), above is a leak (wasted space). The
 * COPIED flags of the active tables must say "refcount is 1" exactly.
 *
 * Messages for single clusters go to stderr, worded as QEMU words them.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

/* 2^28 clusters is 128 GiB of 512-byte clusters: bounded memory. */
#define CHECK_MAX_CLUSTERS (1ull << 28)

struct walk {
	struct qcow2 *q;
	struct qcow2_check_result *r;
	uint32_t *refs;
	uint64_t nclusters;
	uint64_t last_host;
};

static void ref_range(struct walk *w, uint64_t off, uint64_t len,
		      const char *what)
{
	uint64_t c, end;

	if (!len)
		return;
	end = qcow2_div_up(off + len, w->q->cluster_size);
	for (c = off >> w->q->cluster_bits; c < end; c++) {
		if (c >= w->nclusters) {
			fprintf(stderr,
				"ERROR %s at offset 0x%llx is past the end of the image file\n",
				what, (unsigned long long)(c << w->q->cluster_bits));
			w->r->corruptions++;
			return;
		}
		if (w->refs[c] != UINT32_MAX)
			w->refs[c]++;
	}
}

static int walk_l2(struct walk *w, uint64_t l2_offset, bool active,
		   uint64_t *l2)
{
	struct qcow2 *q = w->q;
	uint64_t i, e, host, len;
	int ret;

	ret = bfile_pread(q->blk.file, l2, q->cluster_size, l2_offset);
	if (ret)
		return ret;
	for (i = 0; i < q->l2_entries; i++) {
		e = be64toh(l2[i]);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			qcow2_compressed_extent(q, e, &host, &len);
			ref_range(w, host, len, "compressed cluster");
			if (active) {
				w->r->allocated++;
				w->r->compressed++;
			}
			continue;
		}
		host = e & QCOW2_L2E_OFFSET_MASK;
		if (!host)
			continue;
		if (host % q->cluster_size) {
			fprintf(stderr,
				"ERROR data cluster at offset 0x%llx is not cluster-aligned; L2 entry corrupted\n",
				(unsigned long long)host);
			w->r->corruptions++;
			continue;
		}
		ref_range(w, host, q->cluster_size, "data cluster");
		if (active && !(q->h.version >= 3 && (e & QCOW2_OFLAG_ZERO))) {
			w->r->allocated++;
			if (w->last_host && host != w->last_host + q->cluster_size)
				w->r->fragmented++;
			w->last_host = host;
		}
	}
	return 0;
}

static int walk_l1(struct walk *w, uint64_t l1_offset, uint32_t l1_size,
		   bool active)
{
	struct qcow2 *q = w->q;
	uint64_t *l1, *l2, l2_offset;
	uint32_t i;
	int ret = 0;

	ref_range(w, l1_offset, (uint64_t)l1_size * 8, "L1 table");
	l1 = calloc(l1_size ? l1_size : 1, 8);
	l2 = malloc(q->cluster_size);
	if (!l1 || !l2) {
		ret = blk_fail(ENOMEM, q->blk.filename, "out of memory");
		goto out;
	}
	if (active) {
		memcpy(l1, q->l1, (uint64_t)l1_size * 8);
	} else {
		ret = bfile_pread(q->blk.file, l1, (uint64_t)l1_size * 8,
				  l1_offset);
		if (ret)
			goto out;
		for (i = 0; i < l1_size; i++)
			l1[i] = be64toh(l1[i]);
	}
	for (i = 0; i < l1_size && !ret; i++) {
		if (l1[i] & QCOW2_L1E_RESERVED) {
			fprintf(stderr,
				"ERROR L1 entry %u has reserved bits set (0x%llx)\n",
				i, (unsigned long long)l1[i]);
			w->r->corruptions++;
		}
		l2_offset = l1[i] & QCOW2_L1E_OFFSET_MASK;
		if (!l2_offset)
			continue;
		if (l2_offset % q->cluster_size ||
		    l2_offset >= w->nclusters << q->cluster_bits) {
			fprintf(stderr,
				"ERROR L2 table %u at offset 0x%llx is unaligned or past the end of the file\n",
				i, (unsigned long long)l2_offset);
			w->r->corruptions++;
			continue;
		}
		ref_range(w, l2_offset, q->cluster_size, "L2 table");
		ret = walk_l2(w, l2_offset, active, l2);
	}
out:
	free(l1);
	free(l2);
	return ret;
}

static int count_refs(struct walk *w)
{
	struct qcow2 *q = w->q;
	uint64_t i;
	uint32_t s;
	int ret;

	ref_range(w, 0, q->cluster_size, "header");
	ret = walk_l1(w, q->h.l1_table_offset, q->l1_size, true);
	for (s = 0; s < q->nr_snapshots && !ret; s++)
		ret = walk_l1(w, q->snapshots[s].l1_table_offset,
			      q->snapshots[s].l1_size, false);
	if (ret)
		return ret;
	if (q->nr_snapshots)
		ref_range(w, q->h.snapshots_offset, q->snapshots_size,
			  "snapshot table");
	ref_range(w, q->h.refcount_table_offset, q->rt_entries * 8,
		  "refcount table");
	for (i = 0; i < q->rt_entries; i++) {
		if (!q->rt[i])
			continue;
		if (q->rt[i] % q->cluster_size) {
			fprintf(stderr,
				"ERROR refcount block %llu is not cluster aligned; refcount table entry corrupted\n",
				(unsigned long long)i);
			w->r->corruptions++;
			continue;
		}
		ref_range(w, q->rt[i], q->cluster_size, "refcount block");
	}
	ref_range(w, q->crypto_offset, q->crypto_length, "encryption header");
	return 0;
}

static int compare_refcounts(struct walk *w, int repair)
{
	struct qcow2 *q = w->q;
	uint64_t c, rc, ref;
	int ret;

	for (c = 0; c < w->nclusters; c++) {
		ret = qcow2_refcount_get(q, c, &rc);
		if (ret) {
			/* one message for the whole unreadable block */
			fprintf(stderr, "ERROR %s\n", blk_last_error());
			blk_clear_error();
			w->r->corruptions++;
			c = (c / q->rb_entries + 1) * q->rb_entries - 1;
			continue;
		}
		ref = w->refs[c];
		if (ref)
			w->r->image_end = (c + 1) << q->cluster_bits;
		if (rc == ref)
			continue;
		if (rc > ref) {
			fprintf(stderr, "%s cluster %llu refcount=%llu reference=%llu\n",
				repair ? "Repairing" : "Leaked",
				(unsigned long long)c, (unsigned long long)rc,
				(unsigned long long)ref);
			w->r->leaks++;
		} else {
			fprintf(stderr, "%s cluster %llu refcount=%llu reference=%llu\n",
				repair >= QCOW2_REPAIR_ALL ? "Repairing" : "ERROR",
				(unsigned long long)c, (unsigned long long)rc,
				(unsigned long long)ref);
			w->r->corruptions++;
		}
		if ((rc > ref && repair) ||
		    (rc < ref && repair >= QCOW2_REPAIR_ALL)) {
			if (ref > q->refcount_max)
				continue;
			ret = qcow2_refcount_set(q, c, ref);
			if (ret)
				return ret;
			if (rc > ref)
				w->r->leaks_fixed++;
			else
				w->r->corruptions_fixed++;
		}
	}
	return 0;
}

/* COPIED in the active L1 and L2 tables iff the refcount is one. */
static int check_copied(struct walk *w, int repair)
{
	struct qcow2 *q = w->q;
	uint64_t *l2, l2_offset, rc, e, host, i;
	bool dirty;
	uint32_t l1i;
	int ret = 0;

	l2 = malloc(q->cluster_size);
	if (!l2)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	for (l1i = 0; l1i < q->l1_size && !ret; l1i++) {
		l2_offset = q->l1[l1i] & QCOW2_L1E_OFFSET_MASK;
		if (!l2_offset || l2_offset % q->cluster_size ||
		    l2_offset >= w->nclusters << q->cluster_bits)
			continue;
		/* an unreadable refcount was reported above */
		if (qcow2_refcount_get(q, l2_offset >> q->cluster_bits, &rc)) {
			blk_clear_error();
			continue;
		}
		if ((rc == 1) != !!(q->l1[l1i] & QCOW2_OFLAG_COPIED)) {
			fprintf(stderr,
				"%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%llx refcount=%llu\n",
				repair >= QCOW2_REPAIR_ALL ? "Repairing" : "ERROR",
				l1i, (unsigned long long)q->l1[l1i],
				(unsigned long long)rc);
			w->r->corruptions++;
			if (repair >= QCOW2_REPAIR_ALL) {
				q->l1[l1i] ^= QCOW2_OFLAG_COPIED;
				q->l1_dirty = true;
				w->r->corruptions_fixed++;
			}
		}
		/* the cache may hold a newer copy than the disk */
		qcow2_cache_forget(&q->l2_cache, l2_offset);
		ret = bfile_pread(q->blk.file, l2, q->cluster_size, l2_offset);
		dirty = false;
		for (i = 0; i < q->l2_entries && !ret; i++) {
			e = be64toh(l2[i]);
			host = e & QCOW2_L2E_OFFSET_MASK;
			if ((e & QCOW2_OFLAG_COMPRESSED) || !host ||
			    host % q->cluster_size ||
			    host >= w->nclusters << q->cluster_bits)
				continue;
			if (qcow2_refcount_get(q, host >> q->cluster_bits, &rc)) {
				blk_clear_error();
				continue;
			}
			if ((rc == 1) == !!(e & QCOW2_OFLAG_COPIED))
				continue;
			fprintf(stderr,
				"%s OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu\n",
				repair >= QCOW2_REPAIR_ALL ? "Repairing" : "ERROR",
				(unsigned long long)e, (unsigned long long)rc);
			w->r->corruptions++;
			if (repair >= QCOW2_REPAIR_ALL) {
				l2[i] = htobe64(e ^ QCOW2_OFLAG_COPIED);
				dirty = true;
				w->r->corruptions_fixed++;
			}
		}
		if (!ret && dirty)
			ret = bfile_pwrite(q->blk.file, l2, q->cluster_size,
					   l2_offset);
	}
	free(l2);
	return ret;
}

int qcow2_check(struct qcow2 *q, int repair, struct qcow2_check_result *r)
{
	struct walk w = { .q = q, .r = r };
	int ret;

	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&q->lock);
	ret = qcow2_flush_metadata(q);
	if (ret)
		goto out;
	w.nclusters = qcow2_div_up(q->file_end, q->cluster_size);
	if (w.nclusters > CHECK_MAX_CLUSTERS) {
		ret = blk_fail(EFBIG, q->blk.filename,
			       "image file too large to check (%llu clusters)",
			       (unsigned long long)w.nclusters);
		goto out;
	}
	w.refs = calloc(w.nclusters ? w.nclusters : 1, sizeof(*w.refs));
	if (!w.refs) {
		ret = blk_fail(ENOMEM, q->blk.filename, "out of memory");
		goto out;
	}
	r->total = qcow2_div_up(q->h.size, q->cluster_size);
	ret = count_refs(&w);
	if (!ret)
		ret = compare_refcounts(&w, repair);
	if (!ret)
		ret = check_copied(&w, repair);
	if (!ret && repair)
		ret = qcow2_flush_metadata(q);
	if (!ret && repair)
		ret = bfile_flush(q->blk.file);
	free(w.refs);
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}
