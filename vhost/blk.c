// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk.c - /dev/okvm-vhost-blk: a virtio-blk device's request queue
 * (virtio 1.1, section 5.2) served from a backing regular file or block
 * device. Linux has no vhost-blk; its ioctls beyond <linux/vhost.h>'s
 * generic ones are in <okvm/vhost_blk.h> (Documentation/vhost.rst).
 *
 * A request is one chain: a readable struct virtio_blk_outhdr, the data
 * (readable for OUT, DISCARD and WRITE_ZEROES, writable for IN and
 * GET_ID), and a writable status byte last (5.2.6). With ANY_LAYOUT the
 * pieces may share descriptors: they are cut out of the chain by byte
 * offsets, not by descriptor.
 *
 * Each request queue (VIRTIO_BLK_F_MQ: up to OKVM_VHOST_BLK_VQ_MAX) has
 * its own worker, started when the queue gets its backend. Reads and
 * writes on a backing fd opened O_DIRECT are asynchronous: the worker
 * submits ->read_iter/->write_iter with a kiocb of the request's own
 * (struct okvm_blk_req, which also keeps the iovecs and the iov_iter the
 * file may still look at) and goes on to the next chain while the file
 * has it queued (-EIOCBQUEUED). The completion may run in interrupt
 * context, where the guest's memory (the owner's address space) cannot be
 * reached: it only puts the request on the queue's lock-free done list
 * and wakes the worker, which writes the status byte and the used entry
 * under the ring mutex and signals the call eventfd, as for a synchronous
 * request. A completion shorter than the request (a file that stops a
 * direct transfer early, as a block device's single-bio path may) is
 * finished synchronously by the worker. Without O_DIRECT (the page cache:
 * nothing to wait for asynchronously) and for FLUSH, GET_ID, DISCARD and
 * WRITE_ZEROES the worker does the request itself, one after the other.
 *
 * Detaching a queue's backend (SET_BACKEND, RESET_OWNER, release) first
 * waits until its requests in flight completed, then returns them to the
 * guest when the caller is in the owner's address space (the ioctls), or
 * drops them (release when the owner exited: the guest is gone). So the
 * worker is never stopped, nor the device freed, with a kiocb out.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/llist.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/virtio_blk.h>
#include <okvm/vhost_blk.h>

#include "vhost.h"

#define OKVM_BLK_FEATURES	(OKVM_VHOST_FEATURES |			\
				 (1ULL << VIRTIO_BLK_F_SEG_MAX) |	\
				 (1ULL << VIRTIO_BLK_F_BLK_SIZE) |	\
				 (1ULL << VIRTIO_BLK_F_FLUSH) |		\
				 (1ULL << VIRTIO_BLK_F_RO) |		\
				 (1ULL << VIRTIO_BLK_F_DISCARD) |	\
				 (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) |	\
				 (1ULL << VIRTIO_BLK_F_MQ))

#define OKVM_BLK_SECTOR		512
/* the header and the status take one iovec each at least */
#define OKVM_BLK_SEG_MAX	(OKVM_VHOST_IOV_MAX - 2)
/* DISCARD / WRITE_ZEROES ranges per request */
#define OKVM_BLK_RANGES_MAX	64

struct okvm_blk;

/* One request queue: its ring, backend and requests in flight. */
struct okvm_blk_queue {
	struct okvm_vq vq;
	struct okvm_blk *b;
	/* under vq.mutex */
	struct file *file;	/* also vq.backend */
	u64 sectors;
	bool ro;
	char id[OKVM_VHOST_BLK_ID_BYTES];
	/* @lock guards @inflight, the wake-up of @idle and the worker's wake-up */
	spinlock_t lock;
	unsigned int inflight;
	wait_queue_head_t idle;
	struct llist_head done;	/* completed requests, for the worker */
};

struct okvm_blk {
	struct okvm_vhost_dev dev;
	struct okvm_vq *vq_ptrs[OKVM_VHOST_BLK_VQ_MAX];
	struct okvm_blk_queue q[OKVM_VHOST_BLK_VQ_MAX];
};

/*
 * An IN or OUT request in flight: its kiocb, the iov_iter and the data
 * iovecs the file may use until it completes, the status byte's address
 * and the chain's dirty-log ranges.
 */
struct okvm_blk_req {
	struct kiocb iocb;
	struct iov_iter iter;
	struct okvm_blk_queue *q;
	struct llist_node node;
	long ret;		/* the completion's bytes or -errno */
	size_t skip;		/* bytes before the data (OUT: the header) */
	size_t len;		/* the data's bytes */
	u8 __user *status;
	loff_t pos;		/* where the data starts in the file */
	u16 head;
	bool write;
	bool write_held;	/* okvm_blk_finish() ends the write */
	unsigned int nr_iov;
	unsigned int nlog;
	struct okvm_vhost_log *log;
	struct iovec iov[];	/* then the log ranges */
};

static struct okvm_blk_queue *to_q(struct okvm_vq *vq)
{
	return container_of(vq, struct okvm_blk_queue, vq);
}

/* [sector, sector + bytes / 512) is inside the disk and whole sectors */
static bool okvm_blk_range_ok(struct okvm_blk_queue *q, u64 sector, u64 bytes)
{
	return !(bytes % OKVM_BLK_SECTOR) && sector <= q->sectors &&
	       bytes / OKVM_BLK_SECTOR <= q->sectors - sector;
}

static ssize_t okvm_blk_rw(struct file *file, bool write, struct iov_iter *it,
			   loff_t pos)
{
	struct kiocb kiocb;
	ssize_t r;

	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = pos;
	if (!write)
		return file->f_op->read_iter(&kiocb, it);
	file_start_write(file);
	r = file->f_op->write_iter(&kiocb, it);
	file_end_write(file);
	return r;
}

/* DISCARD or WRITE_ZEROES: the payload is a list of ranges (5.2.6). */
static u8 okvm_blk_ranges(struct okvm_blk_queue *q, struct iov_iter *out, u32 type)
{
	struct virtio_blk_discard_write_zeroes seg;
	size_t left = iov_iter_count(out);
	u64 sector;
	u32 n;
	int r;

	if (q->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!left || left % sizeof(seg) || left / sizeof(seg) > OKVM_BLK_RANGES_MAX)
		return VIRTIO_BLK_S_UNSUPP;
	while (iov_iter_count(out)) {
		if (copy_from_iter(&seg, sizeof(seg), out) != sizeof(seg))
			return VIRTIO_BLK_S_IOERR;
		sector = le64_to_cpu(seg.sector);
		n = le32_to_cpu(seg.num_sectors);
		if (!okvm_blk_range_ok(q, sector, (u64)n * OKVM_BLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (!n)
			continue;
		/*
		 * A hole reads back as zeros, so it serves both; block
		 * devices zero or discard the range (blkdev_fallocate()).
		 */
		r = -EOPNOTSUPP;
		if (type == VIRTIO_BLK_T_WRITE_ZEROES)
			r = vfs_fallocate(q->file, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					  sector * OKVM_BLK_SECTOR,
					  (u64)n * OKVM_BLK_SECTOR);
		if (r == -EOPNOTSUPP)
			r = vfs_fallocate(q->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					  sector * OKVM_BLK_SECTOR,
					  (u64)n * OKVM_BLK_SECTOR);
		if (r == -EOPNOTSUPP)
			return VIRTIO_BLK_S_UNSUPP;
		if (r)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Serve one request; returns its status and sets *@written to the bytes
 * put in the writable buffers before the status.
 */
static u8 okvm_blk_request(struct okvm_blk_queue *q, u32 type, u64 sector,
			   struct iov_iter *out, struct iov_iter *in, u32 *written)
{
	size_t len;
	ssize_t r;

	*written = 0;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		len = iov_iter_count(in);
		if (!okvm_blk_range_ok(q, sector, len))
			return VIRTIO_BLK_S_IOERR;
		r = okvm_blk_rw(q->file, false, in, sector * OKVM_BLK_SECTOR);
		if (r > 0)
			*written = r;
		return r == len ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_OUT:
		len = iov_iter_count(out);
		if (q->ro || !okvm_blk_range_ok(q, sector, len))
			return VIRTIO_BLK_S_IOERR;
		r = okvm_blk_rw(q->file, true, out, sector * OKVM_BLK_SECTOR);
		return r == len ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_FLUSH:
		return vfs_fsync(q->file, 0) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		len = min_t(size_t, iov_iter_count(in), sizeof(q->id));
		if (copy_to_iter(q->id, len, in) != len)
			return VIRTIO_BLK_S_IOERR;
		*written = len;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return okvm_blk_ranges(q, out, type);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * Freeze protection of an asynchronous write to a regular file (as aio
 * does): taken by the worker before the submission, handed over to the
 * request while it is in flight (lockdep's view only), dropped when the
 * request is returned, maybe by another task.
 */
static void okvm_blk_write_handoff(struct file *file)
{
	if (S_ISREG(file_inode(file)->i_mode))
		__sb_writers_release(file_inode(file)->i_sb, SB_FREEZE_WRITE);
}

static void okvm_blk_write_end(struct file *file)
{
	if (S_ISREG(file_inode(file)->i_mode))
		__sb_writers_acquired(file_inode(file)->i_sb, SB_FREEZE_WRITE);
	file_end_write(file);
}

/*
 * The kiocb's completion, in any context: hand the request to the worker.
 * Under the lock, so that a detach waiting for the last request cannot
 * stop the worker or free the queue before this returns.
 */
static void okvm_blk_complete(struct kiocb *iocb, long ret)
{
	struct okvm_blk_req *req = container_of(iocb, struct okvm_blk_req, iocb);
	struct okvm_blk_queue *q = req->q;
	unsigned long flags;

	req->ret = ret;
	spin_lock_irqsave(&q->lock, flags);
	llist_add(&req->node, &q->done);
	okvm_vhost_queue_work(&q->b->dev, q->vq.index);
	if (!--q->inflight)
		wake_up(&q->idle);
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * A request is back from the file (ring mutex held): the rest of a short
 * transfer done synchronously, then its status byte and its used entry
 * (the bytes read before the status, plus the status), with the chain's
 * dirty-log ranges. Returns true when it added a used entry. With
 * @to_guest false, or on a stopped ring, it is only freed.
 */
static bool okvm_blk_finish(struct okvm_blk_queue *q, struct okvm_blk_req *req,
			    bool to_guest)
{
	struct okvm_vq *vq = &q->vq;
	long done = req->ret;
	struct iov_iter it;
	bool used = false;
	ssize_t r;
	u8 status;

	if (req->write_held)
		okvm_blk_write_end(q->file);
	if (!to_guest || vq->broken)
		goto out;
	if (done >= 0 && done < req->len) {
		iov_iter_init(&it, req->write ? ITER_SOURCE : ITER_DEST, req->iov,
			      req->nr_iov, req->skip + req->len);
		iov_iter_advance(&it, req->skip + done);
		r = okvm_blk_rw(q->file, req->write, &it, req->pos + done);
		if (r > 0)
			done += r;
	}
	status = done == req->len ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	if (put_user(status, req->status)) {
		okvm_vq_error(vq, "cannot write the status byte");
		goto out;
	}
	memcpy(vq->log, req->log, req->nlog * sizeof(*req->log));
	vq->nlog = req->nlog;
	used = !okvm_vq_add_used(vq, req->head,
				 (!req->write && done > 0 ? done : 0) + 1);
out:
	kfree(req);
	return used;
}

/* Return the completed requests (ring mutex held); one interrupt for all. */
static void okvm_blk_reap(struct okvm_blk_queue *q, bool to_guest)
{
	struct llist_node *list = llist_reverse_order(llist_del_all(&q->done));
	struct okvm_blk_req *req, *tmp;
	bool used = false;

	llist_for_each_entry_safe(req, tmp, list, node)
		used |= okvm_blk_finish(q, req, to_guest);
	if (used)
		okvm_vq_notify(&q->vq);
}

/*
 * Wait until the queue has nothing in flight (ring mutex held), then
 * return what completed to the guest when the caller is in the owner's
 * address space (the ioctls), else drop it (release at the owner's exit).
 */
static void okvm_blk_drain(struct okvm_blk_queue *q)
{
	struct mm_struct *mm = q->b->dev.mm;

	wait_event(q->idle, !READ_ONCE(q->inflight));
	/* the last completion has left its critical section */
	spin_lock_irq(&q->lock);
	spin_unlock_irq(&q->lock);
	okvm_blk_reap(q, mm && current->mm == mm);
}

/*
 * An IN or OUT request (range checked) on an O_DIRECT backing fd, with a
 * kiocb of its own. Returns -EIOCBQUEUED when the file completes it later
 * (okvm_blk_complete()) or completed it at once and it is on the used
 * ring already; -ENOMEM when it could not be set up (the caller serves it
 * synchronously); -EFAULT when it stopped the ring.
 */
static long okvm_blk_submit(struct okvm_blk_queue *q, const struct okvm_vhost_chain *c,
			    bool write, u64 sector)
{
	unsigned int first = write ? 0 : c->out, n = write ? c->out : c->in, i;
	struct okvm_vq *vq = &q->vq;
	const struct iovec *last = NULL;
	struct okvm_blk_req *req;
	ssize_t r;

	/* the status is the last byte of the last writable iovec that has any */
	for (i = c->out + c->in; i-- > c->out && !last;)
		if (vq->iov[i].iov_len)
			last = &vq->iov[i];
	if (!last)
		return -ENOMEM;
	req = kmalloc(struct_size(req, iov, n) + vq->nlog * sizeof(*req->log),
		      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!req)
		return -ENOMEM;
	memcpy(req->iov, vq->iov + first, n * sizeof(req->iov[0]));
	req->nr_iov = n;
	req->log = (struct okvm_vhost_log *)(req->iov + n);
	memcpy(req->log, vq->log, vq->nlog * sizeof(*req->log));
	req->nlog = vq->nlog;
	vq->nlog = 0;
	req->q = q;
	req->head = c->head;
	req->write = write;
	req->status = (u8 __user *)last->iov_base + last->iov_len - 1;
	if (write) {
		req->skip = sizeof(struct virtio_blk_outhdr);
		iov_iter_init(&req->iter, ITER_SOURCE, req->iov, n, c->out_len);
		iov_iter_advance(&req->iter, req->skip);
	} else {
		req->skip = 0;
		iov_iter_init(&req->iter, ITER_DEST, req->iov, n, c->in_len);
		iov_iter_truncate(&req->iter, c->in_len - 1);
	}
	req->len = iov_iter_count(&req->iter);
	req->pos = sector * OKVM_BLK_SECTOR;
	req->write_held = false;
	init_sync_kiocb(&req->iocb, q->file);
	req->iocb.ki_complete = okvm_blk_complete;
	req->iocb.ki_pos = req->pos;
	spin_lock_irq(&q->lock);
	q->inflight++;
	spin_unlock_irq(&q->lock);
	if (write) {
		file_start_write(q->file);
		r = q->file->f_op->write_iter(&req->iocb, &req->iter);
		if (r == -EIOCBQUEUED) {
			okvm_blk_write_handoff(q->file);
			req->write_held = true;
		} else {
			file_end_write(q->file);
		}
	} else {
		r = q->file->f_op->read_iter(&req->iocb, &req->iter);
	}
	if (r == -EIOCBQUEUED)
		return r;
	/* done at once: no completion will come */
	spin_lock_irq(&q->lock);
	q->inflight--;
	spin_unlock_irq(&q->lock);
	req->ret = r;
	if (!okvm_blk_finish(q, req, true))
		return -EFAULT;
	/* the used entry is in: nothing more for okvm_vq_serve() to add */
	return -EIOCBQUEUED;
}

/*
 * One request: the header out of the chain, the I/O, the status byte in;
 * the used length is what was written before the status, plus the status.
 * -EIOCBQUEUED: the request is in flight or already on the used ring.
 */
static long okvm_blk_serve(struct okvm_vq *vq, const struct okvm_vhost_chain *c)
{
	struct okvm_blk_queue *q = to_q(vq);
	struct virtio_blk_outhdr hdr;
	struct iov_iter out, in, st;
	u32 written, type;
	u64 sector;
	u8 status;
	long r;

	if (c->out_len < sizeof(hdr) || !c->in_len) {
		okvm_vq_error(vq, "request without header or status byte");
		return -EINVAL;
	}
	iov_iter_init(&out, ITER_SOURCE, vq->iov, c->out, c->out_len);
	if (copy_from_iter(&hdr, sizeof(hdr), &out) != sizeof(hdr)) {
		okvm_vq_error(vq, "cannot read the request header");
		return -EFAULT;
	}
	/* the status is the chain's last writable byte */
	iov_iter_init(&in, ITER_DEST, vq->iov + c->out, c->in, c->in_len);
	st = in;
	iov_iter_advance(&st, c->in_len - 1);
	iov_iter_truncate(&in, c->in_len - 1);
	type = le32_to_cpu((__force __le32)hdr.type);
	sector = le64_to_cpu((__force __le64)hdr.sector);
	/* O_DIRECT: the transfer can be left in flight */
	if ((q->file->f_flags & O_DIRECT) &&
	    ((type == VIRTIO_BLK_T_IN &&
	      okvm_blk_range_ok(q, sector, iov_iter_count(&in))) ||
	     (type == VIRTIO_BLK_T_OUT && !q->ro &&
	      okvm_blk_range_ok(q, sector, iov_iter_count(&out))))) {
		r = okvm_blk_submit(q, c, type == VIRTIO_BLK_T_OUT, sector);
		if (r != -ENOMEM)
			return r;
	}
	status = okvm_blk_request(q, type, sector, &out, &in, &written);
	if (copy_to_iter(&status, 1, &st) != 1) {
		okvm_vq_error(vq, "cannot write the status byte");
		return -EFAULT;
	}
	return written + 1;
}

/* The queue's worker: first what completed, then new requests. */
static void okvm_blk_handle(struct okvm_vq *vq)
{
	mutex_lock(&vq->mutex);
	okvm_blk_reap(to_q(vq), true);
	mutex_unlock(&vq->mutex);
	okvm_vq_serve(vq, okvm_blk_serve);
}

static int okvm_blk_open(struct inode *inode, struct file *f)
{
	okvm_vq_handler_t handlers[OKVM_VHOST_BLK_VQ_MAX];
	struct okvm_blk *b;
	unsigned int i;

	b = kvzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	for (i = 0; i < OKVM_VHOST_BLK_VQ_MAX; i++) {
		struct okvm_blk_queue *q = &b->q[i];

		q->b = b;
		spin_lock_init(&q->lock);
		init_waitqueue_head(&q->idle);
		init_llist_head(&q->done);
		strscpy(q->id, "okvm-vhost-blk", sizeof(q->id));
		b->vq_ptrs[i] = &q->vq;
		handlers[i] = okvm_blk_handle;
	}
	okvm_vhost_dev_init(&b->dev, b->vq_ptrs, OKVM_VHOST_BLK_VQ_MAX, handlers,
			    true);
	f->private_data = b;
	return 0;
}

/*
 * Detach the queue's backing file (ring mutex held), once nothing is in
 * flight on it; returns it for fput().
 */
static struct file *okvm_blk_detach(struct okvm_blk_queue *q)
{
	struct file *file = q->file;

	okvm_blk_drain(q);
	q->file = NULL;
	q->vq.backend = NULL;
	return file;
}

static void okvm_blk_stop(struct okvm_blk *b)
{
	struct file *file;
	unsigned int i;

	for (i = 0; i < OKVM_VHOST_BLK_VQ_MAX; i++) {
		struct okvm_blk_queue *q = &b->q[i];

		mutex_lock(&q->vq.mutex);
		file = okvm_blk_detach(q);
		mutex_unlock(&q->vq.mutex);
		if (file)
			fput(file);
	}
}

static int okvm_blk_release(struct inode *inode, struct file *f)
{
	struct okvm_blk *b = f->private_data;

	okvm_blk_stop(b);
	okvm_vhost_dev_cleanup(&b->dev);
	kvfree(b);
	return 0;
}

/* A readable regular file or block device with read_iter (and write_iter). */
static struct file *okvm_blk_get_file(int fd)
{
	struct file *file;
	umode_t mode;

	if (fd == -1)
		return NULL;
	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	mode = file_inode(file)->i_mode;
	if (!S_ISREG(mode) && !S_ISBLK(mode)) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	if (!(file->f_mode & FMODE_READ) || !file->f_op->read_iter ||
	    ((file->f_mode & FMODE_WRITE) && !file->f_op->write_iter)) {
		fput(file);
		return ERR_PTR(-EBADF);
	}
	return file;
}

/*
 * OKVM_VHOST_BLK_SET_BACKEND, checked in VHOST_NET_SET_BACKEND's order:
 * owner (EPERM), index (ENOBUFS), rings and memory table (EFAULT), then
 * the fd: EBADF when it is not open for reading, EINVAL when it is
 * neither a regular file nor a block device. The queue's worker starts
 * with its first backend.
 */
static long okvm_blk_set_backend(struct okvm_blk *b, unsigned int index, int fd)
{
	struct file *file = NULL, *old = NULL;
	struct okvm_blk_queue *q;
	struct inode *inode;
	long r;

	mutex_lock(&b->dev.mutex);
	r = okvm_vhost_check_owner(&b->dev);
	if (r)
		goto out;
	if (index >= OKVM_VHOST_BLK_VQ_MAX) {
		r = -ENOBUFS;
		goto out;
	}
	q = &b->q[array_index_nospec(index, OKVM_VHOST_BLK_VQ_MAX)];
	mutex_lock(&q->vq.mutex);
	if (!okvm_vq_access_ok(&q->vq)) {
		r = -EFAULT;
		goto out_vq;
	}
	file = okvm_blk_get_file(fd);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		file = NULL;
		goto out_vq;
	}
	old = okvm_blk_detach(q);
	if (file) {
		r = okvm_vhost_vq_worker_start(&q->vq);
		if (r)
			goto out_vq;
		r = okvm_vq_start(&q->vq);
		if (r)
			goto out_vq;
		inode = file->f_mapping->host;
		q->sectors = i_size_read(inode) / OKVM_BLK_SECTOR;
		q->ro = !(file->f_mode & FMODE_WRITE);
		q->file = file;
		q->vq.backend = file;
		file = NULL;
		okvm_vhost_queue_work(&b->dev, q->vq.index);
	}
out_vq:
	mutex_unlock(&q->vq.mutex);
out:
	mutex_unlock(&b->dev.mutex);
	if (file)
		fput(file);
	if (old)
		fput(old);
	return r;
}

/* The disk as the first queue with a backend sees it. */
static long okvm_blk_get_config(struct okvm_blk *b,
				struct okvm_vhost_blk_config __user *argp)
{
	struct okvm_vhost_blk_config cfg = {
		.seg_max = OKVM_BLK_SEG_MAX,
		.num_queues = OKVM_VHOST_BLK_VQ_MAX,
	};
	struct inode *inode;
	unsigned int i;
	long r;

	mutex_lock(&b->dev.mutex);
	r = okvm_vhost_check_owner(&b->dev);
	if (r)
		goto out;
	r = -EINVAL;
	for (i = 0; i < OKVM_VHOST_BLK_VQ_MAX && r; i++) {
		struct okvm_blk_queue *q = &b->q[i];

		mutex_lock(&q->vq.mutex);
		if (q->file) {
			inode = q->file->f_mapping->host;
			cfg.capacity = q->sectors;
			cfg.blk_size = S_ISBLK(file_inode(q->file)->i_mode) ?
				       bdev_logical_block_size(I_BDEV(inode)) :
				       OKVM_BLK_SECTOR;
			cfg.flags = q->ro ? OKVM_VHOST_BLK_F_RO : 0;
			r = 0;
		}
		mutex_unlock(&q->vq.mutex);
	}
	if (!r && copy_to_user(argp, &cfg, sizeof(cfg)))
		r = -EFAULT;
out:
	mutex_unlock(&b->dev.mutex);
	return r;
}

static long okvm_blk_set_id(struct okvm_blk *b, char __user *argp)
{
	char id[OKVM_VHOST_BLK_ID_BYTES];
	unsigned int i;
	long r;

	if (copy_from_user(id, argp, sizeof(id)))
		return -EFAULT;
	mutex_lock(&b->dev.mutex);
	r = okvm_vhost_check_owner(&b->dev);
	for (i = 0; !r && i < OKVM_VHOST_BLK_VQ_MAX; i++) {
		mutex_lock(&b->q[i].vq.mutex);
		memcpy(b->q[i].id, id, sizeof(id));
		mutex_unlock(&b->q[i].vq.mutex);
	}
	mutex_unlock(&b->dev.mutex);
	return r;
}

static long okvm_blk_reset_owner(struct okvm_blk *b)
{
	struct okvm_vhost_mem *empty = NULL;
	long r;

	mutex_lock(&b->dev.mutex);
	r = okvm_vhost_check_owner(&b->dev);
	if (!r) {
		empty = okvm_vhost_reset_prepare();
		r = empty ? 0 : -ENOMEM;
	}
	if (!r) {
		okvm_blk_stop(b);
		okvm_vhost_dev_reset_owner(&b->dev, empty);
	}
	mutex_unlock(&b->dev.mutex);
	return r;
}

static long okvm_blk_ioctl(struct file *f, unsigned int ioctl, unsigned long arg)
{
	struct okvm_blk *b = f->private_data;
	void __user *argp = (void __user *)arg;
	struct vhost_vring_file backend;
	u64 features;
	long r;

	switch (ioctl) {
	case OKVM_VHOST_BLK_SET_BACKEND:
		if (copy_from_user(&backend, argp, sizeof(backend)))
			return -EFAULT;
		return okvm_blk_set_backend(b, backend.index, backend.fd);
	case OKVM_VHOST_BLK_GET_CONFIG:
		return okvm_blk_get_config(b, argp);
	case OKVM_VHOST_BLK_SET_ID:
		return okvm_blk_set_id(b, argp);
	case VHOST_GET_FEATURES:
		features = OKVM_BLK_FEATURES;
		return copy_to_user(argp, &features, sizeof(features)) ? -EFAULT : 0;
	case VHOST_SET_FEATURES:
		if (copy_from_user(&features, argp, sizeof(features)))
			return -EFAULT;
		if (features & ~OKVM_BLK_FEATURES)
			return -EOPNOTSUPP;
		return okvm_vhost_set_features(&b->dev, features);
	case VHOST_RESET_OWNER:
		return okvm_blk_reset_owner(b);
	default:
		mutex_lock(&b->dev.mutex);
		r = okvm_vhost_dev_ioctl(&b->dev, ioctl, argp);
		mutex_unlock(&b->dev.mutex);
		return r;
	}
}

static const struct file_operations okvm_blk_fops = {
	.owner = THIS_MODULE,
	.open = okvm_blk_open,
	.release = okvm_blk_release,
	.unlocked_ioctl = okvm_blk_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice okvm_blk_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "okvm-vhost-blk",
	.fops = &okvm_blk_fops,
};

int okvm_vhost_blk_init(void)
{
	return misc_register(&okvm_blk_misc);
}

void okvm_vhost_blk_exit(void)
{
	misc_deregister(&okvm_blk_misc);
}
