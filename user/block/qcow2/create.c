// SPDX-License-Identifier: GPL-2.0-only
/*
 * A new, empty qcow2 image, laid out as qemu-img lays one out: the header
 * cluster, the refcount table, the refcount blocks counting the metadata
 * clusters, then the L1 table, all zero but the counts.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

static int check_opts(const char *f, const struct qcow2_create_opts *o)
{
	if (o->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    o->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return blk_fail(EINVAL, f,
				"cluster size must be a power of two between 512 and 2097152");
	if (o->refcount_order > 6)
		return blk_fail(EINVAL, f,
				"refcount_bits must be a power of two up to 64");
	if (o->version == 2 && o->refcount_order != 4)
		return blk_fail(EINVAL, f,
				"refcount_bits other than 16 needs compat=1.1");
	if (o->size % 512)
		return blk_fail(EINVAL, f,
				"image size must be a multiple of 512 bytes");
	if (o->size > (1ull << 62) - (1ull << o->cluster_bits) ||
	    qcow2_l1_entries_for(o->size, o->cluster_bits) * 8 >
	    QCOW2_MAX_L1_BYTES)
		return blk_fail(EFBIG, f, "image size %llu too large",
				(unsigned long long)o->size);
	if (o->backing_file && strlen(o->backing_file) > QCOW2_MAX_BACKING_NAME)
		return blk_fail(ENAMETOOLONG, f, "backing file name too long");
	return 0;
}

int qcow2_create(const char *filename, const struct qcow2_create_opts *o)
{
	struct qcow2 q = { 0 };
	uint64_t cs = 1ull << o->cluster_bits;
	uint64_t rb_entries = cs * 8 / (1u << o->refcount_order);
	uint64_t l1_entries = qcow2_l1_entries_for(o->size, o->cluster_bits);
	uint64_t l1c = qcow2_div_up(l1_entries * 8, cs);
	uint64_t cryptc = o->encrypt ? qcow2_div_up(QCOW2_LUKS_AREA, cs) : 0;
	uint64_t rtc = 1, rbc = 1, total, i;
	uint64_t *rt = NULL;
	void *rb = NULL;
	int ret;

	ret = check_opts(filename, o);
	if (ret)
		return ret;
	/* header + table + blocks + L1 (+ LUKS area), the blocks counting
	 * all of them
	 */
	for (;;) {
		total = 1 + rtc + rbc + l1c + cryptc;
		if (qcow2_div_up(total, rb_entries) == rbc &&
		    qcow2_div_up(rbc * 8, cs) == rtc)
			break;
		rbc = qcow2_div_up(total, rb_entries);
		rtc = qcow2_div_up(rbc * 8, cs);
	}
	q.blk.filename = (char *)filename;
	q.cluster_size = cs;
	q.cluster_bits = o->cluster_bits;
	q.refcount_bits = 1u << o->refcount_order;
	q.h.version = o->version;
	q.h.cluster_bits = o->cluster_bits;
	q.h.size = o->size;
	q.h.l1_size = l1_entries;
	q.h.l1_table_offset = (1 + rtc + rbc) * cs;
	q.h.refcount_table_offset = cs;
	q.h.refcount_table_clusters = rtc;
	q.h.refcount_order = o->refcount_order;
	/* qemu-img writes a 112-byte header (compression type, padding) */
	q.h.header_length = o->version >= 3 ? 112 : QCOW2_V2_HEADER_LEN;
	if (o->encrypt) {
		q.h.crypt_method = 2;
		q.crypto_offset = (1 + rtc + rbc + l1c) * cs;
		q.crypto_length = QCOW2_LUKS_AREA;
	}
	q.backing_name = (char *)o->backing_file;
	q.backing_format = (char *)o->backing_format;
	ret = bfile_open(&q.blk.file, filename, false, false, true);
	if (ret)
		return ret;
	rt = calloc(rtc * cs / 8, 8);
	rb = calloc(rbc, cs);
	if (!rt || !rb) {
		ret = blk_fail(ENOMEM, filename, "out of memory");
		goto out;
	}
	for (i = 0; i < rbc; i++)
		rt[i] = htobe64((1 + rtc + i) * cs);
	for (i = 0; i < total; i++)
		qcow2_rb_set(&q, (char *)rb + (i / rb_entries) * cs,
			     i % rb_entries, 1);
	ret = 0;
	if (o->encrypt)
		ret = qcow2_luks_format(q.blk.file, q.crypto_offset, o->iter_ms);
	if (!ret)
		ret = qcow2_header_rewrite(&q);
	if (!ret)
		ret = bfile_pwrite(q.blk.file, rt, rtc * cs, cs);
	if (!ret)
		ret = bfile_pwrite(q.blk.file, rb, rbc * cs, (1 + rtc) * cs);
	if (!ret)
		ret = bfile_truncate(q.blk.file, total * cs);
	if (!ret)
		ret = bfile_flush(q.blk.file);
out:
	free(rt);
	free(rb);
	bfile_close(q.blk.file);
	return ret;
}
