// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk (virtio 1.2 section 5.2) on the block layer of user/block/,
 * the one `okvm img` uses: raw files, block devices and qcow2 images.
 *
 * A request is a chain: a 16-byte header the device reads (type,
 * reserved, sector), the data, and a status byte the device writes last.
 * Since virtio 1.0 the layout is free (2.6.4), so the header and the
 * status are found by byte offset, not by descriptor. The transport's
 * thread pops chains (notify(), device lock held) and hands each data
 * segment to the block queue's I/O threads as one blk_req; the request's
 * last segment to finish writes the status and completes the chain from
 * that I/O thread. Several chains are in flight at once; a flush waits
 * for those completed before it (queue.h).
 *
 * stop() (reset, failure, exit) waits until nothing is in flight, so no
 * chain is touched after it. A completion that sees a newer device
 * generation drops its used entry.
 */
#include <errno.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../block/block.h"
#include "../block/error.h"
#include "../block/queue.h"
#include "run.h"
#include "virtio_pci.h"

#define SECTOR			512
#define BLK_IO_THREADS		4
#define BLK_SEG_MAX		(VIRTQ_MAX_SIZE - 2)
#define BLK_FEATURES		(1ULL << VIRTIO_BLK_F_SEG_MAX | \
				 1ULL << VIRTIO_BLK_F_BLK_SIZE | \
				 1ULL << VIRTIO_BLK_F_FLUSH)

struct blk_dev {
	struct blk *blk;
	struct blk_queue *queue;
	bool ro;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtq_chain chain;	/* notify()'s scratch, device lock */
	pthread_mutex_t lock;		/* guards @inflight */
	pthread_cond_t idle;
	unsigned int inflight;
};

struct blk_io {
	struct blk_dev *bd;
	struct virtio_dev *d;
	uint32_t gen;
	uint16_t head;
	uint8_t *status;
	uint32_t used_len;
	unsigned int pending;		/* atomic: segments not done */
	int failed;			/* atomic: some segment failed */
	unsigned int nr;
	struct blk_req req[];
};

/* @iov's bytes [skip, skip + len) as segments into @out; how many */
static unsigned int iov_slice(const struct iovec *iov, unsigned int n,
			      uint64_t skip, uint64_t len, struct iovec *out)
{
	unsigned int i, k = 0;
	uint64_t take;

	for (i = 0; i < n && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - skip;
		if (take > len)
			take = len;
		if (take) {
			out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
			out[k].iov_len = take;
			k++;
		}
		len -= take;
		skip = 0;
	}
	return k;
}

/* the status byte and the chain back to the driver */
static void io_finish(struct blk_io *io, uint8_t status)
{
	struct blk_dev *bd = io->bd;

	*io->status = status;
	if (virtio_dev_live(io->d, io->gen))
		virtio_complete(io->d, 0, io->head, io->used_len);
	free(io);
	pthread_mutex_lock(&bd->lock);
	if (!--bd->inflight)
		pthread_cond_broadcast(&bd->idle);
	pthread_mutex_unlock(&bd->lock);
}

/* an I/O thread finished one segment */
static void seg_done(struct blk_req *r, int ret)
{
	struct blk_io *io = r->opaque;

	if (ret < 0)
		__atomic_store_n(&io->failed, 1, __ATOMIC_RELAXED);
	if (__atomic_sub_fetch(&io->pending, 1, __ATOMIC_ACQ_REL))
		return;
	io_finish(io, __atomic_load_n(&io->failed, __ATOMIC_RELAXED) ?
		  VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

/* the chain's last device-writable byte: the status (5.2.6) */
static uint8_t *status_byte(const struct virtq_chain *c)
{
	unsigned int i = c->nr_out + c->nr_in;

	while (i-- > c->nr_out)
		if (c->iov[i].iov_len)
			return (uint8_t *)c->iov[i].iov_base + c->iov[i].iov_len - 1;
	return NULL;
}

static struct blk_io *io_new(struct blk_dev *bd, struct virtio_dev *d,
			     const struct virtq_chain *c, unsigned int nr)
{
	struct blk_io *io = calloc(1, sizeof(*io) + nr * sizeof(io->req[0]));

	if (!io) {
		/* the chain goes back failed, so the driver is not stuck */
		uint8_t *st = status_byte(c);

		*st = VIRTIO_BLK_S_IOERR;
		virtio_complete(d, 0, c->head, 1);
		return NULL;
	}
	io->bd = bd;
	io->d = d;
	io->gen = d->generation;
	io->head = c->head;
	io->nr = nr;
	io->used_len = 1;
	io->status = status_byte(c);
	pthread_mutex_lock(&bd->lock);
	bd->inflight++;
	pthread_mutex_unlock(&bd->lock);
	return io;
}

/* one chain; false when the driver broke the request format */
static bool handle(struct blk_dev *bd, struct virtio_dev *d,
		   const struct virtq_chain *c)
{
	struct virtio_blk_outhdr hdr;
	struct iovec seg[VIRTQ_MAX_SIZE];
	const struct iovec *data_iov;
	unsigned int nseg = 0, i, ndata;
	uint64_t len, off, skip;
	struct blk_io *io;
	bool read;

	if (c->out_len < sizeof(hdr) || c->in_len < 1 || !status_byte(c))
		return false;
	iov_to_buf(c->iov, c->nr_out, 0, &hdr, sizeof(hdr));
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		read = hdr.type == VIRTIO_BLK_T_IN;
		data_iov = read ? c->iov + c->nr_out : c->iov;
		ndata = read ? c->nr_in : c->nr_out;
		skip = read ? 0 : sizeof(hdr);
		len = read ? c->in_len - 1 : c->out_len - sizeof(hdr);
		nseg = iov_slice(data_iov, ndata, skip, len, seg);
		io = io_new(bd, d, c, nseg);
		if (!io)
			return true;
		off = hdr.sector * SECTOR;
		if (len % SECTOR || hdr.sector > bd->blk->size / SECTOR ||
		    len > bd->blk->size - off || (!read && bd->ro)) {
			io_finish(io, VIRTIO_BLK_S_IOERR);
			return true;
		}
		if (read)
			io->used_len = len + 1;
		if (!nseg) {
			io_finish(io, VIRTIO_BLK_S_OK);
			return true;
		}
		io->pending = nseg;
		for (i = 0; i < nseg; i++) {
			io->req[i].op = read ? BLK_REQ_READ : BLK_REQ_WRITE;
			io->req[i].buf = seg[i].iov_base;
			io->req[i].len = seg[i].iov_len;
			io->req[i].off = off;
			io->req[i].done = seg_done;
			io->req[i].opaque = io;
			off += seg[i].iov_len;
		}
		/* every segment set up before the first can finish */
		for (i = 0; i < nseg; i++)
			blk_queue_submit(bd->queue, &io->req[i]);
		return true;
	case VIRTIO_BLK_T_FLUSH:
		io = io_new(bd, d, c, 1);
		if (!io)
			return true;
		io->pending = 1;
		io->req[0].op = BLK_REQ_FLUSH;
		io->req[0].done = seg_done;
		io->req[0].opaque = io;
		blk_queue_submit(bd->queue, &io->req[0]);
		return true;
	case VIRTIO_BLK_T_GET_ID:
		io = io_new(bd, d, c, 0);
		if (!io)
			return true;
		/* up to 20 bytes, NUL-padded, before the status (5.2.6) */
		io->used_len += iov_from_buf(c->iov + c->nr_out, c->nr_in, 0,
					     bd->serial,
					     c->in_len - 1 < sizeof(bd->serial) ?
					     c->in_len - 1 : sizeof(bd->serial));
		io_finish(io, VIRTIO_BLK_S_OK);
		return true;
	default:
		io = io_new(bd, d, c, 0);
		if (io)
			io_finish(io, VIRTIO_BLK_S_UNSUPP);
		return true;
	}
}

static void blk_notify(struct virtio_dev *d, unsigned int q)
{
	struct blk_dev *bd = d->priv;
	char err[160];
	int r;

	while ((r = virtq_pop(&d->vq[q], d->mem, &bd->chain, err,
			      sizeof(err))) > 0) {
		if (!handle(bd, d, &bd->chain)) {
			virtio_dev_fail(d, "queue 0: a request without header or status");
			return;
		}
	}
	if (r < 0)
		virtio_dev_fail(d, "queue %u: %s", q, err);
}

static void blk_config(struct virtio_dev *d, unsigned int off, void *data,
		       unsigned int len)
{
	struct blk_dev *bd = d->priv;
	struct virtio_blk_config c;

	memset(&c, 0, sizeof(c));
	c.capacity = bd->blk->size / SECTOR;
	c.seg_max = BLK_SEG_MAX;
	c.blk_size = SECTOR;
	memcpy(data, (uint8_t *)&c + off, len);
}

static int blk_start(struct virtio_dev *d)
{
	return 0;
}

/* nothing in flight when it returns */
static void blk_stop(struct virtio_dev *d)
{
	struct blk_dev *bd = d->priv;

	pthread_mutex_lock(&bd->lock);
	while (bd->inflight)
		pthread_cond_wait(&bd->idle, &bd->lock);
	pthread_mutex_unlock(&bd->lock);
}

static void blk_destroy(struct virtio_dev *d)
{
	struct blk_dev *bd = d->priv;

	if (bd->queue)
		blk_queue_destroy(bd->queue);
	blk_close(bd->blk);
	free(bd);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = 2,
	.pci_class = 0x018000,		/* mass storage, other */
	.nr_queues = 1,
	.features = BLK_FEATURES,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config,
	.start = blk_start,
	.notify = blk_notify,
	.stop = blk_stop,
	.destroy = blk_destroy,
};

static const struct virtio_dev_ops blk_ro_ops = {
	.name = "virtio-blk",
	.device_id = 2,
	.pci_class = 0x018000,
	.nr_queues = 1,
	.features = BLK_FEATURES | 1ULL << VIRTIO_BLK_F_RO,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config,
	.start = blk_start,
	.notify = blk_notify,
	.stop = blk_stop,
	.destroy = blk_destroy,
};

int virtio_blk_open(const struct disk_opt *o, struct blk **b, char *err,
		    size_t errlen)
{
	unsigned int flags = (o->ro ? BLK_RDONLY : 0) |
			     (o->nocache ? BLK_NOCACHE : 0);
	static char key[4096];
	size_t key_len;
	int r;

	blk_clear_error();
	blk_set_secret_hint("key-file= on its -d");
	/*
	 * The disk's key file is its chain's passphrase for this open only:
	 * the next disk's chain must not open with it (secret.c).
	 */
	r = 0;
	if (o->key_file[0]) {
		r = blk_read_key_file(o->key_file, key, sizeof(key), &key_len);
		if (!r)
			blk_set_secret(key, key_len);
	}
	if (!r)
		r = blk_open(b, o->path, NULL, flags);
	blk_clear_secret();
	memset(key, 0, sizeof(key));
	if (r) {
		*b = NULL;
		snprintf(err, errlen, "disk %s%s", blk_last_error()[0] ?
			 blk_last_error() : o->path,
			 r == -EACCES || r == -EROFS ? " (add ,ro for read-only use)" : "");
		return -1;
	}
	if (o->vhost[0] && strcmp((*b)->ops->format, "raw")) {
		snprintf(err, errlen, "disk %s: %s image; vhost-blk serves raw files and block devices only",
			 o->path, (*b)->ops->format);
		blk_close(*b);
		*b = NULL;
		return -1;
	}
	if ((*b)->size < SECTOR) {
		snprintf(err, errlen, "disk %s: smaller than one 512-byte sector",
			 o->path);
		blk_close(*b);
		*b = NULL;
		return -1;
	}
	return 0;
}

int virtio_blk_add(struct vm *vm, struct blk *b, const struct disk_opt *o,
		   char *err, size_t errlen)
{
	const char *base = strrchr(o->path, '/');
	struct blk_dev *bd;

	if (o->vhost[0])
		return vhost_blk_add(vm, b, o, err, errlen);
	bd = calloc(1, sizeof(*bd));
	if (!bd) {
		blk_close(b);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	bd->blk = b;
	bd->ro = o->ro;
	pthread_mutex_init(&bd->lock, NULL);
	pthread_cond_init(&bd->idle, NULL);
	/* GET_ID: the file's name, as much as fits in 20 bytes */
	base = base ? base + 1 : o->path;
	memcpy(bd->serial, base, strnlen(base, sizeof(bd->serial)));
	if (blk_queue_create(&bd->queue, b, BLK_IO_THREADS)) {
		snprintf(err, errlen, "disk %s: cannot start its I/O threads",
			 o->path);
		bd->queue = NULL;
		blk_destroy(&(struct virtio_dev){ .priv = bd });
		return -1;
	}
	return virtio_pci_add(vm, o->ro ? &blk_ro_ops : &blk_ops, bd, err,
			      errlen);
}
