// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compressed clusters (spec "Compressed Clusters Descriptor"): raw deflate
 * (zlib with a 4 KiB window, no zlib header), at any byte offset. With
 * x = 62 - (cluster_bits - 8), bits 0..x-1 of the L2 entry are the host
 * offset and bits x..61 the number of 512-byte sectors the data takes
 * beyond the one holding its first byte. Several compressed clusters may
 * share a host cluster, whose refcount then counts each of them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

static unsigned int csize_shift(const struct qcow2 *q)
{
	return 62 - (q->cluster_bits - 8);
}

void qcow2_compressed_extent(const struct qcow2 *q, uint64_t entry,
			     uint64_t *offset, uint64_t *len)
{
	unsigned int x = csize_shift(q);
	uint64_t sectors;

	*offset = entry & ((1ull << x) - 1);
	sectors = ((entry >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
	*len = sectors * 512 - (*offset & 511);
}

int qcow2_compressed_read(struct qcow2 *q, uint64_t entry, void *cluster)
{
	uint64_t off, len;
	z_stream z = { 0 };
	void *in;
	int ret, zr;

	if (q->crypto)
		return blk_fail(ENOTSUP, q->blk.filename,
				"compressed cluster in an encrypted image");
	qcow2_compressed_extent(q, entry, &off, &len);
	if (off < q->cluster_size || off >= q->file_end)
		return blk_fail(EINVAL, q->blk.filename,
				"compressed cluster at offset 0x%llx is in the header or past the end of the file",
				(unsigned long long)off);
	/* the stored size may run past the end of the file: those read 0 */
	in = malloc(len);
	if (!in)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	ret = bfile_pread(q->blk.file, in, len, off);
	if (ret)
		goto out;
	if (inflateInit2(&z, -12) != Z_OK) {
		ret = blk_fail(ENOMEM, q->blk.filename, "zlib: out of memory");
		goto out;
	}
	z.next_in = in;
	z.avail_in = len;
	z.next_out = cluster;
	z.avail_out = q->cluster_size;
	zr = inflate(&z, Z_FINISH);
	/* the input may have padding after the end of the stream; what
	 * matters is a whole cluster out
	 */
	if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || z.avail_out)
		ret = blk_fail(EINVAL, q->blk.filename,
			       "compressed cluster at offset 0x%llx does not inflate to %llu bytes",
			       (unsigned long long)off,
			       (unsigned long long)q->cluster_size);
	inflateEnd(&z);
out:
	free(in);
	return ret;
}

/*
 * Compress one whole guest cluster at OFF into the image. *written is
 * false when deflate does not save at least a sector: the caller writes
 * the cluster normally then. Compressed data is packed one after another
 * into clusters allocated for it (compress_cursor is where the next one
 * goes), as qemu-img convert -c does.
 */
int qcow2_compressed_write(struct qcow2 *q, const void *cluster, uint64_t off,
			   bool *written)
{
	uint64_t cs = q->cluster_size, cur = q->compress_cursor;
	uint64_t entry, host, sectors, old;
	z_stream z = { 0 };
	unsigned long clen;
	void *out;
	int ret, zr;

	*written = false;
	if (q->crypto)
		return 0;	/* QEMU does not compress encrypted images */
	out = malloc(cs);
	if (!out)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return blk_fail(ENOMEM, q->blk.filename, "zlib: out of memory");
	}
	z.next_in = (void *)cluster;
	z.avail_in = cs;
	z.next_out = out;
	z.avail_out = cs - 512;
	zr = deflate(&z, Z_FINISH);
	clen = (cs - 512) - z.avail_out;
	deflateEnd(&z);
	ret = 0;
	if (zr != Z_STREAM_END)
		goto out;	/* does not fit: not worth it */
	ret = qcow2_l2_get(q, off, &old);
	if (ret)
		goto out;
	if (cur % cs && cs - cur % cs >= clen) {
		host = cur;
		ret = qcow2_refcount_add(q, cur / cs, 1);
	} else {
		ret = qcow2_alloc_clusters(q, qcow2_div_up(clen, cs), &host);
	}
	if (ret)
		goto out;
	q->compress_cursor = host + clen;
	ret = bfile_pwrite(q->blk.file, out, clen, host);
	if (ret)
		goto out;
	sectors = ((host + clen - 1) >> 9) - (host >> 9) + 1;
	entry = QCOW2_OFLAG_COMPRESSED | ((sectors - 1) << csize_shift(q)) |
		host;
	ret = qcow2_l2_set(q, off, entry);
	if (ret)
		goto out;
	*written = true;
	if (old & QCOW2_OFLAG_COMPRESSED) {
		uint64_t o, l;

		qcow2_compressed_extent(q, old, &o, &l);
		ret = qcow2_free_deferred(q, o, l);
	} else if (old & QCOW2_L2E_OFFSET_MASK) {
		ret = qcow2_free_deferred(q, old & QCOW2_L2E_OFFSET_MASK, cs);
	}
out:
	free(out);
	return ret;
}
