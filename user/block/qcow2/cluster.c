// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest data, one guest cluster at a time. Reads follow the L2 entry:
 * unallocated (the backing file's data, or zeroes), zero (spec: bit 0 of a
 * standard L2 entry, version 3), compressed, or a host cluster. A write
 * goes in place only into a cluster this image alone owns (COPIED);
 * anything else is copied first: the new cluster is written whole (old
 * data, backing data or zeroes around the new bytes) before the L2 entry
 * points to it, and the old cluster is freed only after that entry is on
 * disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

static bool is_zero_entry(struct qcow2 *q, uint64_t entry)
{
	return q->h.version >= 3 && !(entry & QCOW2_OFLAG_COMPRESSED) &&
	       (entry & QCOW2_OFLAG_ZERO);
}

/* What the guest cluster at OFF (cluster-aligned) holds now: len bytes. */
static int old_contents(struct qcow2 *q, uint64_t entry, uint64_t off,
			void *buf)
{
	uint64_t host = entry & QCOW2_L2E_OFFSET_MASK;
	uint64_t len = q->cluster_size;
	int ret;

	if (entry & QCOW2_OFLAG_COMPRESSED)
		return qcow2_compressed_read(q, entry, buf);
	if (is_zero_entry(q, entry)) {
		memset(buf, 0, len);
		return 0;
	}
	if (host) {
		ret = qcow2_check_data_offset(q, entry, off);
		if (!ret)
			ret = bfile_pread(q->blk.file, buf, len, host);
		if (!ret && q->crypto)
			ret = qcow2_crypt(q, buf, len, host, false);
		return ret;
	}
	/* the last cluster may extend past the virtual size */
	if (off + len > q->blk.size) {
		memset(buf, 0, len);
		len = q->blk.size - off;
	}
	return qcow2_backing_read(q, buf, len, off);
}

int qcow2_read_cluster(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
	uint64_t in = off & (q->cluster_size - 1), entry, host;
	void *c;
	int ret;

	ret = qcow2_l2_get(q, off, &entry);
	if (ret)
		return ret;
	host = entry & QCOW2_L2E_OFFSET_MASK;
	if (entry & QCOW2_OFLAG_COMPRESSED) {
		c = malloc(q->cluster_size);
		if (!c)
			return blk_fail(ENOMEM, q->blk.filename, "out of memory");
		ret = qcow2_compressed_read(q, entry, c);
		if (!ret)
			memcpy(buf, (char *)c + in, len);
		free(c);
		return ret;
	}
	if (is_zero_entry(q, entry)) {
		memset(buf, 0, len);
		return 0;
	}
	if (host) {
		ret = qcow2_check_data_offset(q, entry, off);
		if (!ret)
			ret = bfile_pread(q->blk.file, buf, len, host + in);
		if (!ret && q->crypto)
			ret = qcow2_crypt(q, buf, len, host + in, false);
		return ret;
	}
	return qcow2_backing_read(q, buf, len, off);
}

/* Free what ENTRY pointed to, once the new entry is on disk. */
static int release(struct qcow2 *q, uint64_t entry)
{
	uint64_t off, len;

	if (entry & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_extent(q, entry, &off, &len);
		return qcow2_free_deferred(q, off, len);
	}
	off = entry & QCOW2_L2E_OFFSET_MASK;
	return off ? qcow2_free_deferred(q, off, q->cluster_size) : 0;
}

/*
 * Write LEN bytes at guest offset OFF, inside one cluster. When the
 * cluster can be written in place, only say where (*in_place, *host): the
 * caller writes it without holding the image lock.
 */
int qcow2_write_cluster(struct qcow2 *q, const void *buf, size_t len,
			uint64_t off, bool *in_place, uint64_t *host)
{
	uint64_t in = off & (q->cluster_size - 1), start = off - in;
	uint64_t entry, target, old_host;
	bool reuse;
	void *c;
	int ret;

	*in_place = false;
	ret = qcow2_l2_get(q, off, &entry);
	if (ret)
		return ret;
	old_host = entry & QCOW2_L2E_OFFSET_MASK;
	if (!(entry & QCOW2_OFLAG_COMPRESSED) && old_host &&
	    (entry & QCOW2_OFLAG_COPIED) && !is_zero_entry(q, entry)) {
		ret = qcow2_check_data_offset(q, entry, off);
		if (ret)
			return ret;
		*in_place = true;
		*host = old_host + in;
		return 0;
	}
	/* a preallocated zero cluster of our own is reused */
	reuse = is_zero_entry(q, entry) && old_host &&
		(entry & QCOW2_OFLAG_COPIED);
	if (reuse) {
		ret = qcow2_check_data_offset(q, entry, off);
		if (ret)
			return ret;
	}
	c = malloc(q->cluster_size);
	if (!c)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	ret = 0;
	if (len != q->cluster_size)
		ret = reuse ? (memset(c, 0, q->cluster_size), 0) :
			      old_contents(q, entry, start, c);
	if (ret)
		goto out;
	memcpy((char *)c + in, buf, len);
	if (reuse)
		target = old_host;
	else
		ret = qcow2_alloc_clusters(q, 1, &target);
	if (!ret && q->crypto)
		ret = qcow2_crypt(q, c, q->cluster_size, target, true);
	if (!ret)
		ret = bfile_pwrite(q->blk.file, c, q->cluster_size, target);
	if (!ret)
		ret = qcow2_l2_set(q, off, target | QCOW2_OFLAG_COPIED);
	if (!ret && !reuse)
		ret = release(q, entry);
out:
	free(c);
	return ret;
}

/*
 * The whole cluster at OFF reads as zeroes from now on (write-zeroes), or
 * may (discard). Version 3 has zero clusters; version 2 writes zeroes, or
 * for a discard over a backing file keeps the data, since an unallocated
 * cluster would show the backing file's.
 */
int qcow2_zero_cluster(struct qcow2 *q, uint64_t off, bool discard)
{
	uint64_t entry, new;
	bool in_place;
	uint64_t host;
	void *z;
	int ret;

	ret = qcow2_l2_get(q, off, &entry);
	if (ret)
		return ret;
	if (q->h.version < 3) {
		if (discard && q->blk.backing)
			return 0;
		if (discard) {
			new = 0;
		} else {
			z = calloc(1, q->cluster_size);
			if (!z)
				return blk_fail(ENOMEM, q->blk.filename,
						"out of memory");
			ret = qcow2_write_cluster(q, z, q->cluster_size, off,
						  &in_place, &host);
			if (!ret && in_place && q->crypto)
				ret = qcow2_crypt(q, z, q->cluster_size, host,
						  true);
			if (!ret && in_place)
				ret = bfile_pwrite(q->blk.file, z,
						   q->cluster_size, host);
			free(z);
			return ret;
		}
	} else {
		new = discard && !q->blk.backing ? 0 : QCOW2_OFLAG_ZERO;
	}
	if (entry == new)
		return 0;
	ret = qcow2_l2_set(q, off, new);
	if (!ret)
		ret = release(q, entry);
	return ret;
}

/*
 * Every cluster unallocated again, reading through to the backing file
 * (what qemu-img commit leaves in the overlay). The L2 tables stay.
 */
int qcow2_make_empty(struct qcow2 *q)
{
	uint64_t off, entry;
	int ret = 0;

	for (off = 0; off < q->blk.size && !ret; off += q->cluster_size) {
		ret = qcow2_l2_get(q, off, &entry);
		if (ret || !entry)
			continue;
		ret = qcow2_l2_set(q, off, 0);
		if (!ret)
			ret = release(q, entry);
	}
	if (!ret)
		ret = qcow2_flush_metadata(q);
	return ret;
}
