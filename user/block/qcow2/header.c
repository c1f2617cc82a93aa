// SPDX-License-Identifier: GPL-2.0-only
/*
 * The qcow2 header and its extensions (spec "Header", "Header
 * extensions"). Everything read here is checked before any other part
 * trusts it: a hostile image must fail with a message that says which field
 * is wrong, not crash a reader further down.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

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

int qcow2_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

bool qcow2_probe(const unsigned char *magic4)
{
	return get32(magic4) == QCOW2_MAGIC;
}

static void decode(struct qcow2_header *h, const unsigned char *p)
{
	memset(h, 0, sizeof(*h));
	h->version = get32(p + 4);
	h->backing_file_offset = get64(p + QH_BACKING_OFFSET);
	h->backing_file_size = get32(p + QH_BACKING_SIZE);
	h->cluster_bits = get32(p + 20);
	h->size = get64(p + QH_SIZE);
	h->crypt_method = get32(p + 32);
	h->l1_size = get32(p + QH_L1_SIZE);
	h->l1_table_offset = get64(p + QH_L1_OFFSET);
	h->refcount_table_offset = get64(p + QH_RT_OFFSET);
	h->refcount_table_clusters = get32(p + QH_RT_CLUSTERS);
	h->nb_snapshots = get32(p + QH_NB_SNAPSHOTS);
	h->snapshots_offset = get64(p + QH_SNAPSHOTS_OFFSET);
	if (h->version < 3) {
		/* spec: version 2 has 16-bit refcounts and no feature bits */
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HEADER_LEN;
		return;
	}
	h->incompatible_features = get64(p + 72);
	h->compatible_features = get64(p + 80);
	h->autoclear_features = get64(p + 88);
	h->refcount_order = get32(p + 96);
	h->header_length = get32(p + 100);
	if (h->header_length > QCOW2_V3_HEADER_LEN)
		h->compression_type = p[104];
}

void qcow2_header_encode(const struct qcow2_header *h, unsigned char *p)
{
	put32(p, QCOW2_MAGIC);
	put32(p + 4, h->version);
	put64(p + QH_BACKING_OFFSET, h->backing_file_offset);
	put32(p + QH_BACKING_SIZE, h->backing_file_size);
	put32(p + 20, h->cluster_bits);
	put64(p + QH_SIZE, h->size);
	put32(p + 32, h->crypt_method);
	put32(p + QH_L1_SIZE, h->l1_size);
	put64(p + QH_L1_OFFSET, h->l1_table_offset);
	put64(p + QH_RT_OFFSET, h->refcount_table_offset);
	put32(p + QH_RT_CLUSTERS, h->refcount_table_clusters);
	put32(p + QH_NB_SNAPSHOTS, h->nb_snapshots);
	put64(p + QH_SNAPSHOTS_OFFSET, h->snapshots_offset);
	if (h->version < 3)
		return;
	put64(p + 72, h->incompatible_features);
	put64(p + 80, h->compatible_features);
	put64(p + 88, h->autoclear_features);
	put32(p + 96, h->refcount_order);
	put32(p + 100, h->header_length);
	if (h->header_length > QCOW2_V3_HEADER_LEN)
		memset(p + 104, 0, h->header_length - QCOW2_V3_HEADER_LEN);
	if (h->header_length > QCOW2_V3_HEADER_LEN)
		p[104] = h->compression_type;
}

static int bad(struct qcow2 *q, const char *fmt, const char *what,
	       unsigned long long v)
{
	return blk_fail(EINVAL, q->blk.filename, fmt, what, v);
}

/* Checks that need only the header fields. */
static int check_fields(struct qcow2 *q, uint64_t file_size)
{
	const struct qcow2_header *h = &q->h;
	const char *f = q->blk.filename;
	uint64_t cs, l1_bytes, rt_bytes, unknown;

	if (h->version != 2 && h->version != 3)
		return blk_fail(ENOTSUP, f, "unsupported qcow2 version %u",
				h->version);
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return bad(q, "%s %llu out of range (9-21)", "cluster_bits",
			   h->cluster_bits);
	cs = 1ull << h->cluster_bits;
	if (h->version >= 3 &&
	    (h->header_length < QCOW2_V3_HEADER_LEN || h->header_length > cs ||
	     h->header_length % 8))
		return bad(q, "%s %llu invalid", "header_length",
			   h->header_length);
	unknown = h->incompatible_features &
		  ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
	if (unknown)
		return blk_fail(ENOTSUP, f,
				"unsupported qcow2 incompatible features 0x%llx%s",
				(unsigned long long)unknown,
				unknown & QCOW2_INCOMPAT_DATA_FILE ? " (external data file)" :
				unknown & QCOW2_INCOMPAT_COMPRESSION ? " (zstd compression)" :
				unknown & QCOW2_INCOMPAT_EXTL2 ? " (extended L2 entries)" : "");
	if (h->refcount_order > 6)
		return bad(q, "%s %llu out of range (0-6)", "refcount_order",
			   h->refcount_order);
	if (h->crypt_method == 1)
		return blk_fail(ENOTSUP, f,
				"legacy AES encryption (crypt_method 1) is not supported");
	if (h->crypt_method > 2)
		return bad(q, "%s %llu unknown", "crypt_method",
			   h->crypt_method);
	if (h->size > (1ull << 62) - cs)
		return bad(q, "%s %llu too large", "virtual size", h->size);
	if (h->l1_size < qcow2_l1_entries_for(h->size, h->cluster_bits))
		return bad(q, "%s %llu too small for the virtual size",
			   "l1_size", h->l1_size);
	l1_bytes = (uint64_t)h->l1_size * 8;
	if (l1_bytes > QCOW2_MAX_L1_BYTES)
		return bad(q, "%s %llu too large", "l1_size", h->l1_size);
	if (h->l1_size && (h->l1_table_offset % cs || h->l1_table_offset < cs))
		return bad(q, "%s 0x%llx invalid (unaligned or in the header)",
			   "L1 table offset", h->l1_table_offset);
	if (h->l1_size && h->l1_table_offset + l1_bytes > file_size)
		return bad(q, "%s 0x%llx past the end of the file",
			   "L1 table offset", h->l1_table_offset);
	rt_bytes = (uint64_t)h->refcount_table_clusters << h->cluster_bits;
	if (!h->refcount_table_clusters || rt_bytes > QCOW2_MAX_RT_BYTES)
		return bad(q, "%s %llu invalid", "refcount_table_clusters",
			   h->refcount_table_clusters);
	if (h->refcount_table_offset % cs || h->refcount_table_offset < cs)
		return bad(q, "%s 0x%llx invalid (unaligned or in the header)",
			   "refcount table offset", h->refcount_table_offset);
	if (h->refcount_table_offset + rt_bytes > file_size)
		return bad(q, "%s 0x%llx past the end of the file",
			   "refcount table offset", h->refcount_table_offset);
	if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return bad(q, "%s %llu too large", "nb_snapshots",
			   h->nb_snapshots);
	if (h->nb_snapshots &&
	    (h->snapshots_offset % cs || h->snapshots_offset < cs ||
	     h->snapshots_offset >= file_size))
		return bad(q, "%s 0x%llx invalid (unaligned, in the header or past the end of the file)",
			   "snapshot table offset", h->snapshots_offset);
	if (qcow2_ranges_overlap(h->l1_table_offset, l1_bytes,
				 h->refcount_table_offset, rt_bytes))
		return blk_fail(EINVAL, f,
				"the L1 table and the refcount table overlap");
	if (h->nb_snapshots &&
	    (qcow2_ranges_overlap(h->snapshots_offset, 1, h->l1_table_offset,
				  l1_bytes) ||
	     qcow2_ranges_overlap(h->snapshots_offset, 1,
				  h->refcount_table_offset, rt_bytes)))
		return blk_fail(EINVAL, f,
				"the snapshot table overlaps the L1 or refcount table");
	if (h->backing_file_offset) {
		if (h->backing_file_size > QCOW2_MAX_BACKING_NAME ||
		    !h->backing_file_size)
			return bad(q, "%s %llu invalid", "backing file name length",
				   h->backing_file_size);
		if (h->backing_file_offset >= cs ||
		    h->backing_file_offset + h->backing_file_size > cs)
			return bad(q, "%s 0x%llx outside the header cluster",
				   "backing file name offset",
				   h->backing_file_offset);
	}
	return 0;
}

static int keep_ext(struct qcow2 *q, uint32_t type, uint32_t len,
		    const unsigned char *data)
{
	struct qcow2_ext *e;

	e = realloc(q->exts, (q->nr_exts + 1) * sizeof(*e));
	if (!e)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	q->exts = e;
	e = &q->exts[q->nr_exts];
	e->type = type;
	e->len = len;
	e->data = malloc(len ? len : 1);
	if (!e->data)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	memcpy(e->data, data, len);
	q->nr_exts++;
	return 0;
}

/* spec "Header extensions": type, length, data padded to 8 bytes; they end
 * with type 0 or at the end of the header cluster.
 */
static int parse_extensions(struct qcow2 *q, const unsigned char *c,
			    uint64_t cs)
{
	const char *f = q->blk.filename;
	uint64_t pos = q->h.header_length;
	uint64_t end = cs;
	int ret;

	if (q->h.backing_file_offset && q->h.backing_file_offset < end &&
	    q->h.backing_file_offset >= pos)
		end = q->h.backing_file_offset;
	while (pos + 8 <= end) {
		uint32_t type = get32(c + pos), len = get32(c + pos + 4);

		if (type == QCOW2_EXT_END)
			return 0;
		pos += 8;
		if (len > end - pos)
			return blk_fail(EINVAL, f,
					"header extension 0x%08x of %u bytes runs past the header",
					type, len);
		switch (type) {
		case QCOW2_EXT_BACKING_FORMAT:
			free(q->backing_format);
			q->backing_format = strndup((const char *)c + pos, len);
			if (!q->backing_format)
				return blk_fail(ENOMEM, f, "out of memory");
			break;
		case QCOW2_EXT_CRYPTO:
			if (len != 16)
				return blk_fail(EINVAL, f,
						"encryption header extension of %u bytes (16 expected)",
						len);
			q->crypto_offset = get64(c + pos);
			q->crypto_length = get64(c + pos + 8);
			break;
		case QCOW2_EXT_FEATURE_TABLE:
			/* names for feature bits: okvm's messages have their own */
			break;
		default:
			/* bitmaps and anything newer: kept, written back */
			ret = keep_ext(q, type, len, c + pos);
			if (ret)
				return ret;
		}
		pos += qcow2_align_up(len, 8);
	}
	return 0;
}

int qcow2_header_read(struct qcow2 *q)
{
	const char *f = q->blk.filename;
	unsigned char hdr[QCOW2_V3_HEADER_LEN + 8];
	unsigned char *c;
	uint64_t file_size, cs;
	int ret;

	ret = bfile_size(q->blk.file, &file_size);
	if (ret)
		return ret;
	if (file_size < QCOW2_V2_HEADER_LEN)
		return blk_fail(EINVAL, f, "file too short for a qcow2 header");
	ret = bfile_pread(q->blk.file, hdr, sizeof(hdr), 0);
	if (ret)
		return ret;
	if (get32(hdr) != QCOW2_MAGIC)
		return blk_fail(EINVAL, f, "not a qcow2 image (bad magic)");
	decode(&q->h, hdr);
	ret = check_fields(q, file_size);
	if (ret)
		return ret;
	cs = 1ull << q->h.cluster_bits;
	c = malloc(cs);
	if (!c)
		return blk_fail(ENOMEM, f, "out of memory");
	ret = bfile_pread(q->blk.file, c, cs, 0);
	if (!ret)
		ret = parse_extensions(q, c, cs);
	if (!ret && q->h.backing_file_offset) {
		q->backing_name = strndup((const char *)c + q->h.backing_file_offset,
					  q->h.backing_file_size);
		if (!q->backing_name)
			ret = blk_fail(ENOMEM, f, "out of memory");
		else if (strlen(q->backing_name) != q->h.backing_file_size)
			ret = blk_fail(EINVAL, f,
				       "backing file name contains a NUL byte");
	}
	free(c);
	q->blk.size = q->h.size;
	q->file_end = file_size;
	return ret;
}

int qcow2_header_write_u32(struct qcow2 *q, unsigned int field, uint32_t v)
{
	unsigned char b[4];

	put32(b, v);
	return bfile_pwrite(q->blk.file, b, 4, field);
}

int qcow2_header_write_u64(struct qcow2 *q, unsigned int field, uint64_t v)
{
	unsigned char b[8];

	put64(b, v);
	return bfile_pwrite(q->blk.file, b, 8, field);
}

static unsigned char *put_ext(unsigned char *p, uint32_t type, uint32_t len,
			      const void *data)
{
	put32(p, type);
	put32(p + 4, len);
	memcpy(p + 8, data, len);
	memset(p + 8 + len, 0, qcow2_align_up(len, 8) - len);
	return p + 8 + qcow2_align_up(len, 8);
}

/*
 * The whole header cluster at once: one write of at most one cluster,
 * which is how QEMU updates it too (a backing file change, a snapshot
 * table move). Fails rather than truncating what does not fit.
 */
int qcow2_header_rewrite(struct qcow2 *q)
{
	uint64_t cs = q->cluster_size;
	unsigned char *c, *p, crypto[16];
	size_t need, name_len;
	unsigned int i;
	int ret;

	name_len = q->backing_name ? strlen(q->backing_name) : 0;
	need = q->h.header_length + 8 + name_len;
	if (q->backing_format)
		need += 8 + qcow2_align_up(strlen(q->backing_format), 8);
	if (q->crypto_offset)
		need += 8 + 16;
	for (i = 0; i < q->nr_exts; i++)
		need += 8 + qcow2_align_up(q->exts[i].len, 8);
	if (need > cs)
		return blk_fail(ENOSPC, q->blk.filename,
				"header, extensions and backing file name do not fit in one cluster");
	c = calloc(1, cs);
	if (!c)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	p = c + q->h.header_length;
	if (q->backing_format)
		p = put_ext(p, QCOW2_EXT_BACKING_FORMAT,
			    strlen(q->backing_format), q->backing_format);
	if (q->crypto_offset) {
		put64(crypto, q->crypto_offset);
		put64(crypto + 8, q->crypto_length);
		p = put_ext(p, QCOW2_EXT_CRYPTO, 16, crypto);
	}
	for (i = 0; i < q->nr_exts; i++)
		p = put_ext(p, q->exts[i].type, q->exts[i].len,
			    q->exts[i].data);
	p = put_ext(p, QCOW2_EXT_END, 0, "");
	if (name_len) {
		q->h.backing_file_offset = p - c;
		q->h.backing_file_size = name_len;
		memcpy(p, q->backing_name, name_len);
	} else {
		q->h.backing_file_offset = 0;
		q->h.backing_file_size = 0;
	}
	qcow2_header_encode(&q->h, c);
	ret = bfile_pwrite(q->blk.file, c, cs, 0);
	free(c);
	return ret;
}
