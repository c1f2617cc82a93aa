// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2 behind the block interface: open, the request loops (split at
 * cluster boundaries), flush and close.
 *
 * Write order, so that a crash at any point leaves at most leaked
 * clusters (refcount higher than the references), never a table pointing
 * to a cluster whose refcount is too low:
 *
 *   1. a new cluster's refcount goes up in the refcount cache;
 *   2. its data is written (a copy-on-write writes the whole cluster);
 *   3. the L2 entry goes into the L2 cache (a new L2 table into the L1 in
 *      memory);
 *   4. a metadata flush writes the refcount blocks and syncs, then the L2
 *      tables and syncs, then the L1 table and syncs (an L2 table evicted
 *      earlier also writes the refcount blocks and syncs first);
 *   5. only then are the clusters the old entries pointed to released
 *      (deferred frees), and their refcounts written.
 *
 * A flush of the virtual disk is a metadata flush plus a data sync: every
 * write completed before it survives a crash after it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

/* L2 tables cached: enough to map several GiB at 64 KiB clusters, few
 * enough that the linear lookup stays cheap.
 */
#define L2_CACHE_BYTES	(8u << 20)
#define L2_CACHE_MIN	16
#define L2_CACHE_MAX	128
#define RB_CACHE_COUNT	16

static int apply_deferred(struct qcow2 *q)
{
	unsigned int i;
	uint64_t c;
	int ret = 0;

	pthread_rwlock_wrlock(&q->free_lock);
	for (i = 0; i < q->nr_deferred && !ret; i++)
		for (c = 0; c < q->deferred[i].count && !ret; c++)
			ret = qcow2_refcount_add(q, q->deferred[i].offset + c, -1);
	q->nr_deferred = 0;
	pthread_rwlock_unlock(&q->free_lock);
	return ret;
}

int qcow2_flush_metadata(struct qcow2 *q)
{
	bool wrote = false;
	int ret;

	if (q->blk.read_only)
		return 0;
	ret = qcow2_refcounts_persist(q);
	if (!ret)
		ret = qcow2_cache_write(q, &q->l2_cache, &wrote);
	if (!ret && wrote)
		ret = bfile_flush(q->blk.file);
	if (!ret && q->l1_dirty) {
		ret = qcow2_l1_write(q);
		if (!ret)
			ret = bfile_flush(q->blk.file);
	}
	if (!ret && q->nr_deferred) {
		ret = apply_deferred(q);
		if (!ret)
			ret = qcow2_refcounts_persist(q);
	}
	return ret;
}

static uint64_t cluster_span(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t room = q->cluster_size - (off & (q->cluster_size - 1));

	return len < room ? len : room;
}

/* Plain data into a cluster of our own; encrypted through a copy. */
static int write_data(struct qcow2 *q, const void *buf, size_t n,
		      uint64_t host)
{
	void *copy;
	int ret;

	if (!q->crypto)
		return bfile_pwrite(q->blk.file, buf, n, host);
	copy = malloc(n);
	if (!copy)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	memcpy(copy, buf, n);
	ret = qcow2_crypt(q, copy, n, host, true);
	if (!ret)
		ret = bfile_pwrite(q->blk.file, copy, n, host);
	free(copy);
	return ret;
}

static int qcow2_pread_sectors(struct blk *b, void *buf, size_t len,
			       uint64_t off);
static int qcow2_pwrite_sectors(struct blk *b, const void *buf, size_t len,
				uint64_t off);

/*
 * Encrypted data goes by whole 512-byte sectors (the cipher's unit): an
 * unaligned request is widened, reading around it first for a write.
 */
static int unaligned(struct blk *b, void *rbuf, const void *wbuf, size_t len,
		     uint64_t off)
{
	uint64_t start = off & ~511ull;
	uint64_t end = qcow2_align_up(off + len, 512);
	char *span;
	int ret;

	if (end > b->size)
		end = b->size;
	span = malloc(end - start);
	if (!span)
		return blk_fail(ENOMEM, b->filename, "out of memory");
	ret = qcow2_pread_sectors(b, span, end - start, start);
	if (!ret && rbuf)
		memcpy(rbuf, span + (off - start), len);
	if (!ret && wbuf) {
		memcpy(span + (off - start), wbuf, len);
		ret = qcow2_pwrite_sectors(b, span, end - start, start);
	}
	free(span);
	return ret;
}

static int locked(struct blk *b)
{
	return blk_fail(ENOKEY, b->filename,
			"encrypted data, and the image was opened without its key");
}

static int qcow2_pread(struct blk *b, void *buf, size_t len, uint64_t off)
{
	if (to_qcow2(b)->h.crypt_method && !to_qcow2(b)->crypto)
		return locked(b);
	if (to_qcow2(b)->crypto && ((off | len) & 511))
		return unaligned(b, buf, NULL, len, off);
	return qcow2_pread_sectors(b, buf, len, off);
}

static int qcow2_pwrite(struct blk *b, const void *buf, size_t len,
			uint64_t off)
{
	if (to_qcow2(b)->h.crypt_method && !to_qcow2(b)->crypto)
		return locked(b);
	if (to_qcow2(b)->crypto && ((off | len) & 511))
		return unaligned(b, NULL, buf, len, off);
	return qcow2_pwrite_sectors(b, buf, len, off);
}

static bool plain(uint64_t entry)
{
	return (entry & QCOW2_L2E_OFFSET_MASK) &&
	       !(entry & (QCOW2_OFLAG_COMPRESSED | QCOW2_OFLAG_ZERO));
}

static int qcow2_pread_sectors(struct blk *b, void *buf, size_t len,
			       uint64_t off)
{
	struct qcow2 *q = to_qcow2(b);
	uint64_t n, more, entry, next, host;
	int ret = 0;

	while (len && !ret) {
		n = cluster_span(q, off, len);
		pthread_mutex_lock(&q->lock);
		ret = qcow2_l2_get(q, off, &entry);
		host = entry & QCOW2_L2E_OFFSET_MASK;
		if (!ret && plain(entry)) {
			ret = qcow2_check_data_offset(q, entry, off);
			/* and the clusters after it, while contiguous on disk:
			 * one host read for a large request */
			while (!ret && n < len) {
				more = cluster_span(q, off + n, len - n);
				if (qcow2_l2_get(q, off + n, &next) ||
				    !plain(next) ||
				    (next & QCOW2_L2E_OFFSET_MASK) !=
				    host + (off & (q->cluster_size - 1)) + n -
				    ((off + n) & (q->cluster_size - 1)) ||
				    qcow2_check_data_offset(q, next, off + n)) {
					blk_clear_error();
					break;
				}
				n += more;
			}
			/* plain data: read it without the lock */
			pthread_rwlock_rdlock(&q->free_lock);
			pthread_mutex_unlock(&q->lock);
			host += off & (q->cluster_size - 1);
			if (!ret)
				ret = bfile_pread(b->file, buf, n, host);
			pthread_rwlock_unlock(&q->free_lock);
			if (!ret && q->crypto)
				ret = qcow2_crypt(q, buf, n, host, false);
		} else if (!ret && !entry && b->backing) {
			/* and the unallocated clusters after it */
			while (n < len) {
				more = cluster_span(q, off + n, len - n);
				if (qcow2_l2_get(q, off + n, &next) || next) {
					blk_clear_error();
					break;
				}
				n += more;
			}
			/* the backing file is read-only: no lock needed */
			pthread_mutex_unlock(&q->lock);
			ret = qcow2_backing_read(q, buf, n, off);
		} else {
			if (!ret)
				ret = qcow2_read_cluster(q, buf, n, off);
			pthread_mutex_unlock(&q->lock);
		}
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return ret;
}

static int qcow2_pwrite_sectors(struct blk *b, const void *buf, size_t len,
				uint64_t off)
{
	struct qcow2 *q = to_qcow2(b);
	bool in_place;
	uint64_t n, host;
	int ret = 0;

	while (len && !ret) {
		n = cluster_span(q, off, len);
		pthread_mutex_lock(&q->lock);
		ret = qcow2_write_cluster(q, buf, n, off, &in_place, &host);
		/* whole clusters of our own that follow on disk: one write */
		while (!ret && in_place && n < len) {
			uint64_t more = cluster_span(q, off + n, len - n), next;

			if (more != q->cluster_size ||
			    qcow2_l2_get(q, off + n, &next) ||
			    !plain(next) || !(next & QCOW2_OFLAG_COPIED) ||
			    (next & QCOW2_L2E_OFFSET_MASK) != host + n ||
			    qcow2_check_data_offset(q, next, off + n)) {
				blk_clear_error();
				break;
			}
			n += more;
		}
		if (!ret && in_place) {
			pthread_rwlock_rdlock(&q->free_lock);
			pthread_mutex_unlock(&q->lock);
			ret = write_data(q, buf, n, host);
			pthread_rwlock_unlock(&q->free_lock);
		} else {
			pthread_mutex_unlock(&q->lock);
		}
		buf = (const char *)buf + n;
		off += n;
		len -= n;
	}
	return ret;
}

static int qcow2_flush(struct blk *b)
{
	struct qcow2 *q = to_qcow2(b);
	int ret;

	pthread_mutex_lock(&q->lock);
	ret = qcow2_flush_metadata(q);
	if (!ret)
		ret = bfile_flush(b->file);
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* Whole clusters become zero (or discarded); partial ones get zeroes
 * written (write-zeroes) or are left alone (discard).
 */
static int zero_range(struct blk *b, uint64_t off, uint64_t len, bool discard)
{
	struct qcow2 *q = to_qcow2(b);
	uint64_t n;
	void *z = NULL;
	int ret = 0;

	while (len && !ret) {
		n = cluster_span(q, off, len);
		if (n == q->cluster_size) {
			pthread_mutex_lock(&q->lock);
			ret = qcow2_zero_cluster(q, off, discard);
			pthread_mutex_unlock(&q->lock);
		} else if (!discard) {
			if (!z)
				z = calloc(1, q->cluster_size);
			ret = z ? qcow2_pwrite(b, z, n, off) :
				  blk_fail(ENOMEM, b->filename, "out of memory");
		}
		off += n;
		len -= n;
	}
	free(z);
	return ret;
}

static int qcow2_discard(struct blk *b, uint64_t off, uint64_t len)
{
	return zero_range(b, off, len, true);
}

static int qcow2_write_zeroes(struct blk *b, uint64_t off, uint64_t len)
{
	return zero_range(b, off, len, false);
}

static enum blk_state entry_state(struct qcow2 *q, uint64_t entry)
{
	if (entry & QCOW2_OFLAG_COMPRESSED)
		return BLK_DATA;
	if (q->h.version >= 3 && (entry & QCOW2_OFLAG_ZERO))
		return BLK_ZERO;
	if (entry & QCOW2_L2E_OFFSET_MASK)
		return BLK_DATA;
	return q->blk.backing ? BLK_UNALLOC : BLK_ZERO;
}

static int qcow2_status(struct blk *b, uint64_t off, uint64_t *len,
			enum blk_state *state)
{
	struct qcow2 *q = to_qcow2(b);
	uint64_t done = 0, n, entry;
	enum blk_state s;
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (done < *len) {
		n = cluster_span(q, off + done, *len - done);
		ret = qcow2_l2_get(q, off + done, &entry);
		if (ret)
			break;
		s = entry_state(q, entry);
		if (!done)
			*state = s;
		else if (s != *state)
			break;
		done += n;
	}
	pthread_mutex_unlock(&q->lock);
	if (!ret)
		*len = done;
	return ret;
}

static int qcow2_resize(struct blk *b, uint64_t size)
{
	struct qcow2 *q = to_qcow2(b);
	int ret;

	if (size < b->size)
		return blk_fail(ENOTSUP, b->filename,
				"shrinking a qcow2 image is not supported");
	if (size > (1ull << 62) - q->cluster_size)
		return blk_fail(EFBIG, b->filename, "size %llu too large",
				(unsigned long long)size);
	if (q->nr_snapshots)
		return blk_fail(ENOTSUP, b->filename,
				"cannot resize an image with internal snapshots");
	pthread_mutex_lock(&q->lock);
	ret = qcow2_l1_grow(q, size);
	if (!ret)
		ret = qcow2_flush_metadata(q);
	if (!ret)
		ret = qcow2_header_write_u64(q, QH_SIZE, size);
	if (!ret)
		ret = bfile_flush(b->file);
	if (!ret) {
		q->h.size = size;
		b->size = size;
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

static void qcow2_free(struct qcow2 *q)
{
	unsigned int i;

	blk_close(q->blk.backing);
	qcow2_crypto_close(q);
	qcow2_cache_free(&q->l2_cache);
	qcow2_cache_free(&q->rb_cache);
	qcow2_snapshots_free(q);
	for (i = 0; i < q->nr_exts; i++)
		free(q->exts[i].data);
	free(q->exts);
	free(q->deferred);
	free(q->l1);
	free(q->rt);
	free(q->backing_name);
	free(q->backing_format);
	bfile_close(q->blk.file);
	pthread_mutex_destroy(&q->lock);
	pthread_rwlock_destroy(&q->free_lock);
	free(q->blk.filename);
	free(q);
}

static void qcow2_close(struct blk *b)
{
	struct qcow2 *q = to_qcow2(b);

	if (!b->read_only) {
		pthread_mutex_lock(&q->lock);
		if (!qcow2_flush_metadata(q))
			bfile_flush(b->file);
		pthread_mutex_unlock(&q->lock);
	}
	qcow2_free(q);
}

static const struct blk_ops qcow2_ops = {
	.format = "qcow2",
	.pread = qcow2_pread,
	.pwrite = qcow2_pwrite,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.status = qcow2_status,
	.resize = qcow2_resize,
	.close = qcow2_close,
};

static int setup(struct qcow2 *q, const struct blk_chain *chain)
{
	const char *f = q->blk.filename;
	unsigned int n;
	int ret;

	ret = qcow2_header_read(q);
	if (ret)
		return ret;
	q->cluster_bits = q->h.cluster_bits;
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->l2_entries = 1ull << q->l2_bits;
	q->refcount_bits = 1u << q->h.refcount_order;
	q->refcount_max = q->refcount_bits == 64 ? UINT64_MAX :
			  (1ull << q->refcount_bits) - 1;
	q->rb_entries = q->cluster_size * 8 / q->refcount_bits;
	if (!q->blk.read_only &&
	    (q->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT))
		return blk_fail(EINVAL, f,
				"image is marked corrupt; open it read-only or repair it (check -r all)");
	if (!q->blk.read_only &&
	    (q->h.incompatible_features & QCOW2_INCOMPAT_DIRTY))
		return blk_fail(EINVAL, f,
				"image is dirty (lazy refcounts); repair it first (check -r all)");
	ret = 0;
	if (q->h.crypt_method == 2 && !(q->blk.flags & BLK_NO_KEY))
		ret = qcow2_crypto_open(q);
	if (!ret)
		ret = qcow2_l1_read(q);
	if (!ret)
		ret = qcow2_refcount_read_table(q);
	if (!ret)
		ret = qcow2_snapshots_read(q);
	if (ret)
		return ret;
	n = L2_CACHE_BYTES >> q->cluster_bits;
	n = n < L2_CACHE_MIN ? L2_CACHE_MIN : n > L2_CACHE_MAX ? L2_CACHE_MAX : n;
	if (qcow2_cache_init(&q->l2_cache, n, q->cluster_size,
			     qcow2_refcounts_persist) ||
	    qcow2_cache_init(&q->rb_cache, RB_CACHE_COUNT, q->cluster_size,
			     NULL))
		return blk_fail(ENOMEM, f, "out of memory");
	return qcow2_backing_open(q, chain);
}

int qcow2_open(struct blk **out, const char *filename, unsigned int flags,
	       const struct blk_chain *chain)
{
	struct qcow2 *q;
	int ret;

	q = calloc(1, sizeof(*q));
	if (q)
		q->blk.filename = strdup(filename);
	if (!q || !q->blk.filename) {
		free(q);
		return blk_fail(ENOMEM, filename, "out of memory");
	}
	q->blk.ops = &qcow2_ops;
	q->blk.flags = flags;
	q->blk.read_only = flags & BLK_RDONLY;
	pthread_mutex_init(&q->lock, NULL);
	pthread_rwlock_init(&q->free_lock, NULL);
	ret = bfile_open(&q->blk.file, filename, q->blk.read_only,
			 flags & BLK_NOCACHE, false);
	if (!ret)
		ret = setup(q, chain);
	if (ret) {
		/* nothing was written: do not flush on the way out */
		q->blk.read_only = true;
		qcow2_free(q);
		return ret;
	}
	*out = &q->blk;
	return 0;
}
