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
 * The worker does the I/O synchronously, one request after the other,
 * through the file's ->read_iter/->write_iter with a kiocb of its own (the
 * step before asynchronous completion, which is not done yet).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
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
				 (1ULL << VIRTIO_BLK_F_WRITE_ZEROES))

#define OKVM_BLK_SECTOR		512
/* the header and the status take one iovec each at least */
#define OKVM_BLK_SEG_MAX	(OKVM_VHOST_IOV_MAX - 2)
/* DISCARD / WRITE_ZEROES ranges per request */
#define OKVM_BLK_RANGES_MAX	64

struct okvm_blk {
	struct okvm_vhost_dev dev;
	struct okvm_vq vq;
	struct okvm_vq *vq_ptr;
	struct file *file;	/* also vq.backend */
	u64 sectors;
	bool ro;
	char id[OKVM_VHOST_BLK_ID_BYTES];
};

static struct okvm_blk *to_blk(struct okvm_vq *vq)
{
	return container_of(vq, struct okvm_blk, vq);
}

/* [sector, sector + bytes / 512) is inside the disk and whole sectors */
static bool okvm_blk_range_ok(struct okvm_blk *b, u64 sector, u64 bytes)
{
	return !(bytes % OKVM_BLK_SECTOR) && sector <= b->sectors &&
	       bytes / OKVM_BLK_SECTOR <= b->sectors - sector;
}

static ssize_t okvm_blk_rw(struct file *file, bool write, struct iov_iter *it,
			   u64 sector)
{
	struct kiocb kiocb;
	ssize_t r;

	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = sector * OKVM_BLK_SECTOR;
	if (!write)
		return file->f_op->read_iter(&kiocb, it);
	file_start_write(file);
	r = file->f_op->write_iter(&kiocb, it);
	file_end_write(file);
	return r;
}

/* DISCARD or WRITE_ZEROES: the payload is a list of ranges (5.2.6). */
static u8 okvm_blk_ranges(struct okvm_blk *b, struct iov_iter *out, u32 type)
{
	struct virtio_blk_discard_write_zeroes seg;
	size_t left = iov_iter_count(out);
	u64 sector;
	u32 n;
	int r;

	if (b->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!left || left % sizeof(seg) || left / sizeof(seg) > OKVM_BLK_RANGES_MAX)
		return VIRTIO_BLK_S_UNSUPP;
	while (iov_iter_count(out)) {
		if (copy_from_iter(&seg, sizeof(seg), out) != sizeof(seg))
			return VIRTIO_BLK_S_IOERR;
		sector = le64_to_cpu(seg.sector);
		n = le32_to_cpu(seg.num_sectors);
		if (!okvm_blk_range_ok(b, sector, (u64)n * OKVM_BLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (!n)
			continue;
		/*
		 * A hole reads back as zeros, so it serves both; block
		 * devices zero or discard the range (blkdev_fallocate()).
		 */
		r = -EOPNOTSUPP;
		if (type == VIRTIO_BLK_T_WRITE_ZEROES)
			r = vfs_fallocate(b->file, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					  sector * OKVM_BLK_SECTOR,
					  (u64)n * OKVM_BLK_SECTOR);
		if (r == -EOPNOTSUPP)
			r = vfs_fallocate(b->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
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
static u8 okvm_blk_request(struct okvm_blk *b, u32 type, u64 sector,
			   struct iov_iter *out, struct iov_iter *in, u32 *written)
{
	size_t len;
	ssize_t r;

	*written = 0;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		len = iov_iter_count(in);
		if (!okvm_blk_range_ok(b, sector, len))
			return VIRTIO_BLK_S_IOERR;
		r = okvm_blk_rw(b->file, false, in, sector);
		if (r > 0)
			*written = r;
		return r == len ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_OUT:
		len = iov_iter_count(out);
		if (b->ro || !okvm_blk_range_ok(b, sector, len))
			return VIRTIO_BLK_S_IOERR;
		r = okvm_blk_rw(b->file, true, out, sector);
		return r == len ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_FLUSH:
		return vfs_fsync(b->file, 0) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		len = min_t(size_t, iov_iter_count(in), sizeof(b->id));
		if (copy_to_iter(b->id, len, in) != len)
			return VIRTIO_BLK_S_IOERR;
		*written = len;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return okvm_blk_ranges(b, out, type);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * One request: the header out of the chain, the I/O, the status byte in;
 * the used length is what was written before the status, plus the status.
 */
static long okvm_blk_serve(struct okvm_vq *vq, const struct okvm_vhost_chain *c)
{
	struct okvm_blk *b = to_blk(vq);
	struct virtio_blk_outhdr hdr;
	struct iov_iter out, in, st;
	u32 written;
	u8 status;

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
	status = okvm_blk_request(b, le32_to_cpu((__force __le32)hdr.type),
				  le64_to_cpu((__force __le64)hdr.sector),
				  &out, &in, &written);
	if (copy_to_iter(&status, 1, &st) != 1) {
		okvm_vq_error(vq, "cannot write the status byte");
		return -EFAULT;
	}
	return written + 1;
}

static void okvm_blk_handle(struct okvm_vq *vq)
{
	okvm_vq_serve(vq, okvm_blk_serve);
}

static int okvm_blk_open(struct inode *inode, struct file *f)
{
	okvm_vq_handler_t handler = okvm_blk_handle;
	struct okvm_blk *b;

	b = kvzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->vq_ptr = &b->vq;
	okvm_vhost_dev_init(&b->dev, &b->vq_ptr, OKVM_VHOST_BLK_VQ_MAX, &handler);
	strscpy(b->id, "okvm-vhost-blk", sizeof(b->id));
	f->private_data = b;
	return 0;
}

/* Detach the backing file (ring mutex held); returns it for fput(). */
static struct file *okvm_blk_detach(struct okvm_blk *b)
{
	struct file *file = b->file;

	b->file = NULL;
	b->vq.backend = NULL;
	return file;
}

static void okvm_blk_stop(struct okvm_blk *b)
{
	struct file *file;

	mutex_lock(&b->vq.mutex);
	file = okvm_blk_detach(b);
	mutex_unlock(&b->vq.mutex);
	if (file)
		fput(file);
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
 * neither a regular file nor a block device.
 */
static long okvm_blk_set_backend(struct okvm_blk *b, unsigned int index, int fd)
{
	struct file *file = NULL, *old = NULL;
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
	mutex_lock(&b->vq.mutex);
	if (!okvm_vq_access_ok(&b->vq)) {
		r = -EFAULT;
		goto out_vq;
	}
	file = okvm_blk_get_file(fd);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		file = NULL;
		goto out_vq;
	}
	old = okvm_blk_detach(b);
	if (file) {
		r = okvm_vq_start(&b->vq);
		if (r)
			goto out_vq;
		inode = file->f_mapping->host;
		b->sectors = i_size_read(inode) / OKVM_BLK_SECTOR;
		b->ro = !(file->f_mode & FMODE_WRITE);
		b->file = file;
		b->vq.backend = file;
		file = NULL;
		okvm_vhost_queue_work(&b->dev, OKVM_VHOST_BLK_VQ_REQ);
	}
out_vq:
	mutex_unlock(&b->vq.mutex);
out:
	mutex_unlock(&b->dev.mutex);
	if (file)
		fput(file);
	if (old)
		fput(old);
	return r;
}

static long okvm_blk_get_config(struct okvm_blk *b,
				struct okvm_vhost_blk_config __user *argp)
{
	struct okvm_vhost_blk_config cfg = { .seg_max = OKVM_BLK_SEG_MAX };
	struct inode *inode;
	long r;

	mutex_lock(&b->dev.mutex);
	r = okvm_vhost_check_owner(&b->dev);
	if (r)
		goto out;
	mutex_lock(&b->vq.mutex);
	if (!b->file) {
		r = -EINVAL;
	} else {
		inode = b->file->f_mapping->host;
		cfg.capacity = b->sectors;
		cfg.blk_size = S_ISBLK(file_inode(b->file)->i_mode) ?
			       bdev_logical_block_size(I_BDEV(inode)) :
			       OKVM_BLK_SECTOR;
		cfg.flags = b->ro ? OKVM_VHOST_BLK_F_RO : 0;
	}
	mutex_unlock(&b->vq.mutex);
	if (!r && copy_to_user(argp, &cfg, sizeof(cfg)))
		r = -EFAULT;
out:
	mutex_unlock(&b->dev.mutex);
	return r;
}

static long okvm_blk_set_id(struct okvm_blk *b, char __user *argp)
{
	char id[OKVM_VHOST_BLK_ID_BYTES];
	long r;

	if (copy_from_user(id, argp, sizeof(id)))
		return -EFAULT;
	mutex_lock(&b->dev.mutex);
	r = okvm_vhost_check_owner(&b->dev);
	if (!r) {
		mutex_lock(&b->vq.mutex);
		memcpy(b->id, id, sizeof(id));
		mutex_unlock(&b->vq.mutex);
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
