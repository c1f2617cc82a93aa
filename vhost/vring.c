// SPDX-License-Identifier: GPL-2.0-only
/*
 * vring.c - split virtqueues (virtio 1.1, section 2.6): the per-ring
 * ioctls of <linux/vhost.h>, taking descriptor chains from the avail ring,
 * returning them on the used ring, and the notifications both ways
 * (VIRTIO_RING_F_EVENT_IDX, section 2.6.7/2.6.10, and the older flags).
 *
 * The rings live in the owner's memory at the user addresses of
 * VHOST_SET_VRING_ADDR and are read with get_user()/copy_from_user() from
 * the worker, which runs in the owner's mm. Everything the guest writes is
 * untrusted: an index out of range, a loop, a chain longer than the ring,
 * an avail index more than a ring ahead, a buffer outside the memory table
 * makes okvm_vq_error() stop the ring and signal its err eventfd.
 * Virtio 1 rings are little-endian, as are legacy ones on x86.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>

#include "vhost.h"

static size_t okvm_vq_desc_size(unsigned int num)
{
	return sizeof(struct vring_desc) * num;
}

/* flags, idx, ring[num], used_event */
static size_t okvm_vq_avail_size(unsigned int num)
{
	return sizeof(struct vring_avail) + sizeof(__virtio16) * (num + 1);
}

/* flags, idx, ring[num], avail_event */
static size_t okvm_vq_used_size(unsigned int num)
{
	return sizeof(struct vring_used) + sizeof(struct vring_used_elem) * num +
	       sizeof(__virtio16);
}

/* A ring's state as after open: no addresses, no files, nothing pending. */
void okvm_vq_reset(struct okvm_vq *vq)
{
	vq->num = 1;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->log_addr = 0;
	vq->log_used = false;
	vq->last_avail_idx = 0;
	vq->avail_idx = 0;
	vq->last_used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
	vq->kick = NULL;
	vq->call = NULL;
	vq->err = NULL;
	vq->backend = NULL;
	vq->features = 0;
	vq->mem = NULL;
	vq->log_base = NULL;
	vq->log_ctx = NULL;
	vq->nlog = 0;
}

static bool okvm_vq_rings_ok(struct okvm_vq *vq, unsigned int num, u64 desc,
			     u64 avail, u64 used)
{
	return access_ok((void __user *)(unsigned long)desc, okvm_vq_desc_size(num)) &&
	       access_ok((void __user *)(unsigned long)avail, okvm_vq_avail_size(num)) &&
	       access_ok((void __user *)(unsigned long)used, okvm_vq_used_size(num));
}

/* Can the ring start (in-tree's vhost_vq_access_ok())? Under vq->mutex. */
bool okvm_vq_access_ok(struct okvm_vq *vq)
{
	bool log = okvm_vq_has(vq, VHOST_F_LOG_ALL);

	if (!okvm_vhost_mem_access_ok(vq->mem, vq->log_base, log))
		return false;
	if (vq->log_used && !okvm_vhost_log_access_ok(vq->log_base, vq->log_addr,
						      okvm_vq_used_size(vq->num)))
		return false;
	return okvm_vq_rings_ok(vq, vq->num, (unsigned long)vq->desc,
				(unsigned long)vq->avail, (unsigned long)vq->used);
}

static void okvm_vq_log_used(struct okvm_vq *vq, size_t off, size_t len)
{
	if (vq->log_used)
		okvm_vhost_log_write(vq, vq->log_addr + off, len);
}

/*
 * A backend was attached: read used->idx once to learn where the device
 * left off (in-tree's vhost_vq_init_access()), and forget the last call.
 */
int okvm_vq_start(struct okvm_vq *vq)
{
	__virtio16 idx;

	vq->broken = false;
	vq->signalled_used_valid = false;
	vq->nlog = 0;
	if (get_user(idx, &vq->used->idx))
		return -EFAULT;
	vq->last_used_idx = le16_to_cpu((__force __le16)idx);
	return 0;
}

/* Stop the ring and tell the VMM through the err eventfd. */
void okvm_vq_error(struct okvm_vq *vq, const char *why)
{
	pr_debug("ring %u stopped: %s\n", vq->index, why);
	vq->broken = true;
	okvm_vhost_signal(vq->err);
}

static int okvm_vq_read_desc(struct okvm_vq *vq, struct vring_desc __user *table,
			     unsigned int i, struct vring_desc *d)
{
	if (copy_from_user(d, table + i, sizeof(*d)))
		return -EFAULT;
	return 0;
}

/* Add one buffer to the chain being built: readable before writable. */
static int okvm_vq_add_buf(struct okvm_vq *vq, const struct vring_desc *d,
			   struct iovec *iov, unsigned int iov_max,
			   struct okvm_vhost_chain *c)
{
	u64 addr = le64_to_cpu((__force __le64)d->addr);
	u32 len = le32_to_cpu((__force __le32)d->len);
	bool write = le16_to_cpu((__force __le16)d->flags) & VRING_DESC_F_WRITE;
	unsigned int used = c->out + c->in;
	int n;

	if (!write && c->in) {
		okvm_vq_error(vq, "readable descriptor after a writable one");
		return -EINVAL;
	}
	n = okvm_vhost_translate(vq->mem, addr, len, iov + used, iov_max - used);
	if (n < 0) {
		okvm_vq_error(vq, n == -ENOBUFS ? "chain has too many segments" :
			      "buffer outside the memory table");
		return n;
	}
	if (write) {
		c->in += n;
		c->in_len += len;
		if (vq->nlog < OKVM_VHOST_IOV_MAX && len) {
			vq->log[vq->nlog].gpa = addr;
			vq->log[vq->nlog].len = len;
			vq->nlog++;
		}
	} else {
		c->out += n;
		c->out_len += len;
	}
	return 0;
}

/*
 * An indirect table (virtio 1.1, 2.6.5.3): a guest buffer of descriptors,
 * read one by one through the memory table. It may not nest, its length
 * must be whole descriptors, and its chain is bounded by its own size.
 */
static int okvm_vq_indirect(struct okvm_vq *vq, const struct vring_desc *ind,
			    struct iovec *iov, unsigned int iov_max,
			    struct okvm_vhost_chain *c)
{
	u64 base = le64_to_cpu((__force __le64)ind->addr);
	u32 len = le32_to_cpu((__force __le32)ind->len);
	unsigned int count = len / sizeof(struct vring_desc);
	unsigned int i = 0, seen = 0;
	struct vring_desc d;
	struct iovec tab;
	int r;

	if (!len || len % sizeof(struct vring_desc) || count > 0x10000) {
		okvm_vq_error(vq, "bad indirect table length");
		return -EINVAL;
	}
	for (;;) {
		if (++seen > count) {
			okvm_vq_error(vq, "indirect chain loops");
			return -EINVAL;
		}
		/* one descriptor; a table straddling regions works too */
		r = okvm_vhost_translate(vq->mem, base + (u64)i * sizeof(d),
					 sizeof(d), &tab, 1);
		if (r < 0 || copy_from_user(&d, tab.iov_base, sizeof(d))) {
			okvm_vq_error(vq, "indirect table outside the memory table");
			return -EFAULT;
		}
		if (le16_to_cpu((__force __le16)d.flags) & VRING_DESC_F_INDIRECT) {
			okvm_vq_error(vq, "nested indirect table");
			return -EINVAL;
		}
		r = okvm_vq_add_buf(vq, &d, iov, iov_max, c);
		if (r)
			return r;
		if (!(le16_to_cpu((__force __le16)d.flags) & VRING_DESC_F_NEXT))
			return 0;
		i = le16_to_cpu((__force __le16)d.next);
		if (i >= count) {
			okvm_vq_error(vq, "indirect next out of the table");
			return -EINVAL;
		}
	}
}

/*
 * Take the next chain from the avail ring into @iov. Returns 1 with
 * @chain filled, 0 when the ring is empty, a negative errno when the ring
 * is (or just became) broken. Under vq->mutex, from the worker.
 */
int okvm_vq_get_chain(struct okvm_vq *vq, struct iovec *iov,
		      unsigned int iov_max, struct okvm_vhost_chain *chain)
{
	unsigned int i, head, seen = 0;
	bool indirect = false;
	__virtio16 idx, ring_head;
	struct vring_desc d;
	u16 flags;
	int r;

	if (vq->broken)
		return -EIO;
	/*
	 * vq->log keeps growing until okvm_vq_add_used() logs it: a merged
	 * RX frame takes several chains before the first is used.
	 */
	memset(chain, 0, sizeof(*chain));
	if (vq->last_avail_idx == vq->avail_idx) {
		if (get_user(idx, &vq->avail->idx)) {
			okvm_vq_error(vq, "cannot read avail->idx");
			return -EFAULT;
		}
		vq->avail_idx = le16_to_cpu((__force __le16)idx);
		if ((u16)(vq->avail_idx - vq->last_avail_idx) > vq->num) {
			okvm_vq_error(vq, "avail index moved by more than the ring");
			return -EINVAL;
		}
		if (vq->last_avail_idx == vq->avail_idx)
			return 0;
		/* Read the ring entries only after the index that covers them. */
		smp_rmb();
	}
	if (get_user(ring_head, &vq->avail->ring[vq->last_avail_idx & (vq->num - 1)])) {
		okvm_vq_error(vq, "cannot read the avail ring");
		return -EFAULT;
	}
	head = le16_to_cpu((__force __le16)ring_head);
	if (head >= vq->num) {
		okvm_vq_error(vq, "avail entry out of the ring");
		return -EINVAL;
	}
	i = head;
	for (;;) {
		if (++seen > vq->num) {
			okvm_vq_error(vq, "descriptor chain loops or outgrows the ring");
			return -EINVAL;
		}
		i = array_index_nospec(i, vq->num);
		if (okvm_vq_read_desc(vq, vq->desc, i, &d)) {
			okvm_vq_error(vq, "cannot read the descriptor table");
			return -EFAULT;
		}
		flags = le16_to_cpu((__force __le16)d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			/*
			 * One table per chain (2.6.5.3.1: INDIRECT and NEXT
			 * exclude each other); more would let a chain of
			 * num tables of 64K empty entries each keep the
			 * worker busy for billions of reads.
			 */
			if (indirect) {
				okvm_vq_error(vq, "second indirect table in a chain");
				return -EINVAL;
			}
			indirect = true;
			r = okvm_vq_indirect(vq, &d, iov, iov_max, chain);
		} else {
			r = okvm_vq_add_buf(vq, &d, iov, iov_max, chain);
		}
		if (r)
			return r;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16_to_cpu((__force __le16)d.next);
		if (i >= vq->num) {
			okvm_vq_error(vq, "next descriptor out of the ring");
			return -EINVAL;
		}
	}
	chain->head = head;
	vq->last_avail_idx++;
	return 1;
}

/* Give back the last @n chains taken (the backend could not use them yet). */
void okvm_vq_unget(struct okvm_vq *vq, unsigned int n)
{
	vq->last_avail_idx -= n;
	vq->nlog = 0;
}

/*
 * Put one used element (virtio 1.1, 2.6.8) and publish it: the element
 * before the index, as the driver reads them in that order. The chain's
 * writable ranges and the used entry go to the dirty log.
 */
int okvm_vq_add_used(struct okvm_vq *vq, u16 head, u32 len)
{
	unsigned int slot = vq->last_used_idx & (vq->num - 1);
	struct vring_used_elem e = {
		.id = (__force __u32)cpu_to_le32(head),
		.len = (__force __u32)cpu_to_le32(len),
	};
	unsigned int i;

	if (copy_to_user(&vq->used->ring[slot], &e, sizeof(e))) {
		okvm_vq_error(vq, "cannot write the used ring");
		return -EFAULT;
	}
	/* The element must be visible before the index that covers it. */
	smp_wmb();
	vq->last_used_idx++;
	if (put_user((__force __virtio16)cpu_to_le16(vq->last_used_idx),
		     &vq->used->idx)) {
		okvm_vq_error(vq, "cannot write used->idx");
		return -EFAULT;
	}
	if (okvm_vq_has(vq, VHOST_F_LOG_ALL)) {
		for (i = 0; i < vq->nlog; i++)
			okvm_vhost_log_write(vq, vq->log[i].gpa, vq->log[i].len);
		vq->nlog = 0;
		okvm_vq_log_used(vq, offsetof(struct vring_used, ring[slot]),
				 sizeof(e));
		okvm_vq_log_used(vq, offsetof(struct vring_used, idx),
				 sizeof(vq->used->idx));
	}
	return 0;
}

/*
 * Does the driver want an interrupt for what was just used? With
 * EVENT_IDX, when used->idx passed its used_event (2.6.10); else unless it
 * set VRING_AVAIL_F_NO_INTERRUPT; NOTIFY_ON_EMPTY wants one whenever the
 * avail ring ran dry.
 */
static bool okvm_vq_should_notify(struct okvm_vq *vq)
{
	__virtio16 flags, event;
	u16 old, new;
	bool valid;

	/* The used index must be visible before we read the driver's wishes. */
	smp_mb();
	if (okvm_vq_has(vq, VIRTIO_F_NOTIFY_ON_EMPTY) &&
	    vq->avail_idx == vq->last_avail_idx)
		return true;
	if (!okvm_vq_has(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (get_user(flags, &vq->avail->flags))
			return true;
		return !(le16_to_cpu((__force __le16)flags) & VRING_AVAIL_F_NO_INTERRUPT);
	}
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->last_used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	if (get_user(event, &vq->avail->ring[vq->num]))
		return true;
	return vring_need_event(le16_to_cpu((__force __le16)event), new, old);
}

void okvm_vq_notify(struct okvm_vq *vq)
{
	if (vq->call && okvm_vq_should_notify(vq))
		okvm_vhost_signal(vq->call);
}

/* The device stops being kicked while it works through the ring. */
void okvm_vq_disable_notify(struct okvm_vq *vq)
{
	if (okvm_vq_has(vq, VIRTIO_RING_F_EVENT_IDX))
		return;	/* avail_event is only moved forward when re-enabling */
	put_user((__force __virtio16)cpu_to_le16(VRING_USED_F_NO_NOTIFY),
		 &vq->used->flags);
}

/*
 * Ask for kicks again. Returns true when the driver added chains
 * meanwhile: the caller must go on, since their kick may have been
 * suppressed.
 */
bool okvm_vq_enable_notify(struct okvm_vq *vq)
{
	__virtio16 idx;
	int r;

	if (okvm_vq_has(vq, VIRTIO_RING_F_EVENT_IDX))
		r = put_user((__force __virtio16)cpu_to_le16(vq->avail_idx),
			     (__virtio16 __user *)&vq->used->ring[vq->num]) ?
			-EFAULT : 0;
	else
		r = put_user((__force __virtio16)0, &vq->used->flags);
	if (r)
		return false;
	/* Our write must be visible before we look at the avail index again. */
	smp_mb();
	if (get_user(idx, &vq->avail->idx))
		return false;
	return le16_to_cpu((__force __le16)idx) != vq->avail_idx;
}

static long okvm_vq_set_num(struct okvm_vq *vq, struct vhost_vring_state __user *argp)
{
	struct vhost_vring_state s;

	if (vq->backend)
		return -EBUSY;
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (!s.num || s.num > 0xffff || (s.num & (s.num - 1)))
		return -EINVAL;
	vq->num = s.num;
	return 0;
}

static long okvm_vq_set_addr(struct okvm_vq *vq, struct vhost_vring_addr __user *argp)
{
	struct vhost_vring_addr a;
	bool log;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~(1U << VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	if ((u64)(unsigned long)a.desc_user_addr != a.desc_user_addr ||
	    (u64)(unsigned long)a.avail_user_addr != a.avail_user_addr ||
	    (u64)(unsigned long)a.used_user_addr != a.used_user_addr)
		return -EFAULT;
	/* virtio 1.1, 2.6: avail 2-byte, used 4-byte aligned */
	if ((a.avail_user_addr & 1) || (a.used_user_addr & 3) ||
	    (a.log_guest_addr & 3))
		return -EINVAL;
	log = a.flags & (1U << VHOST_VRING_F_LOG);
	/* A running ring must stay reachable (rings and used log). */
	if (vq->backend) {
		if (!okvm_vq_rings_ok(vq, vq->num, a.desc_user_addr,
				      a.avail_user_addr, a.used_user_addr))
			return -EINVAL;
		if (log && !okvm_vhost_log_access_ok(vq->log_base, a.log_guest_addr,
						     okvm_vq_used_size(vq->num)))
			return -EINVAL;
	}
	vq->log_used = log;
	vq->desc = (void __user *)(unsigned long)a.desc_user_addr;
	vq->avail = (void __user *)(unsigned long)a.avail_user_addr;
	vq->used = (void __user *)(unsigned long)a.used_user_addr;
	vq->log_addr = a.log_guest_addr;
	return 0;
}

static long okvm_vq_set_kick(struct okvm_vq *vq, struct vhost_vring_file __user *argp)
{
	struct vhost_vring_file f;
	struct file *file;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	file = f.fd == VHOST_FILE_UNBIND ? NULL : eventfd_fget(f.fd);
	if (IS_ERR(file))
		return PTR_ERR(file);
	if (file == vq->kick) {
		if (file)
			fput(file);
		return 0;
	}
	okvm_vhost_poll_stop(&vq->kick_poll);
	if (vq->kick)
		fput(vq->kick);
	vq->kick = file;
	if (file)
		okvm_vhost_poll_start(&vq->kick_poll, file);
	return 0;
}

static long okvm_vq_set_eventfd(struct eventfd_ctx **slot,
				struct vhost_vring_file __user *argp)
{
	struct vhost_vring_file f;
	struct eventfd_ctx *ctx;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	ctx = f.fd == VHOST_FILE_UNBIND ? NULL : eventfd_ctx_fdget(f.fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	swap(ctx, *slot);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

/*
 * The per-ring ioctls (owner checked by the caller). As in-tree: ENOBUFS
 * for an index past the device's rings, EBUSY for resizing or moving the
 * base of a ring with a backend, EINVAL for a size that is not a power of
 * two up to 32768 or a base past 0xffff. Like in-tree, any ioctl the
 * device does not know lands here and reads a ring index first: EFAULT
 * or ENOBUFS before ENOTTY.
 */
long okvm_vhost_vring_ioctl(struct okvm_vhost_dev *dev, unsigned int ioctl,
			    void __user *argp)
{
	struct vhost_vring_state s;
	struct okvm_vq *vq;
	u32 idx;
	long r = 0;

	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= dev->nvqs)
		return -ENOBUFS;
	vq = dev->vqs[array_index_nospec(idx, dev->nvqs)];

	mutex_lock(&vq->mutex);
	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
		r = okvm_vq_set_num(vq, argp);
		break;
	case VHOST_SET_VRING_ADDR:
		r = okvm_vq_set_addr(vq, argp);
		break;
	case VHOST_SET_VRING_BASE:
		if (vq->backend) {
			r = -EBUSY;
			break;
		}
		if (copy_from_user(&s, argp, sizeof(s))) {
			r = -EFAULT;
			break;
		}
		if (s.num > 0xffff) {
			r = -EINVAL;
			break;
		}
		vq->last_avail_idx = s.num;
		vq->avail_idx = s.num;
		break;
	case VHOST_GET_VRING_BASE:
		s.index = idx;
		s.num = vq->last_avail_idx;
		if (copy_to_user(argp, &s, sizeof(s)))
			r = -EFAULT;
		break;
	case VHOST_SET_VRING_KICK:
		r = okvm_vq_set_kick(vq, argp);
		break;
	case VHOST_SET_VRING_CALL:
		r = okvm_vq_set_eventfd(&vq->call, argp);
		break;
	case VHOST_SET_VRING_ERR:
		r = okvm_vq_set_eventfd(&vq->err, argp);
		break;
	default:
		r = -ENOIOCTLCMD;
	}
	mutex_unlock(&vq->mutex);
	return r;
}
