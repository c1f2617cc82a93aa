// SPDX-License-Identifier: GPL-2.0-only
/*
 * The split virtqueue (virtio 1.2 section 2.7) from the device's side,
 * and the device core: status, features, DEVICE_NEEDS_RESET.
 *
 * The rings live in guest memory that the driver may change at any time,
 * from another vCPU: every index and descriptor is read once into a local
 * copy, then checked, then used. The ordering rules of section 2.7.13
 * are the fences below: acquire after reading avail->idx (the entries it
 * covers are visible), release before publishing used->idx (the buffers
 * and entries are written first), and a full fence between publishing
 * used->idx and reading the driver's interrupt suppression (2.7.10).
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtio.h"

static void log_stderr(const char *line)
{
	fprintf(stderr, "okvm run: %s\n", line);
}

void (*virtio_log)(const char *line) = log_stderr;

void *gmem_at(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++) {
		/* written so that no sum can wrap */
		if (gpa >= m->r[i].gpa && len <= m->r[i].size &&
		    gpa - m->r[i].gpa <= m->r[i].size - len)
			return m->r[i].hva + (gpa - m->r[i].gpa);
	}
	return NULL;
}

static uint16_t load16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static void store16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

int virtq_start(struct virtq *vq, const struct guest_mem *m, bool event_idx,
		bool indirect, char *err, size_t errlen)
{
	uint64_t n = vq->size, extra = event_idx ? 2 : 0;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1))) {
		snprintf(err, errlen, "queue size %llu is not a power of two up to %d",
			 (unsigned long long)n, VIRTQ_MAX_SIZE);
		return -1;
	}
	/* alignments of section 2.7 (table "Virtqueue Part Alignment") */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3)) {
		snprintf(err, errlen, "misaligned ring (desc %#llx avail %#llx used %#llx)",
			 (unsigned long long)vq->desc_gpa,
			 (unsigned long long)vq->avail_gpa,
			 (unsigned long long)vq->used_gpa);
		return -1;
	}
	vq->desc = gmem_at(m, vq->desc_gpa, 16 * n);
	vq->avail = gmem_at(m, vq->avail_gpa, 4 + 2 * n + extra);
	vq->used = gmem_at(m, vq->used_gpa, 4 + 8 * n + extra);
	if (!vq->desc || !vq->avail || !vq->used) {
		snprintf(err, errlen, "ring outside guest memory (desc %#llx avail %#llx used %#llx, size %llu)",
			 (unsigned long long)vq->desc_gpa,
			 (unsigned long long)vq->avail_gpa,
			 (unsigned long long)vq->used_gpa,
			 (unsigned long long)n);
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -1;
	}
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->last_avail = 0;
	vq->used_idx = load16(&vq->used->idx);
	vq->signalled_valid = false;
	return 0;
}

/* one descriptor into the chain, its buffer checked */
static int add_seg(struct virtq_chain *c, const struct guest_mem *m,
		   const struct vring_desc *d, unsigned int max,
		   char *err, size_t errlen)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	void *p;

	if (c->nr_out + c->nr_in >= max) {
		snprintf(err, errlen, "descriptor chain longer than %u", max);
		return -1;
	}
	if (!write && c->nr_in) {
		/* 2.7.4.2: device-readable descriptors come first */
		snprintf(err, errlen, "readable descriptor after a writable one");
		return -1;
	}
	p = gmem_at(m, d->addr, d->len);
	if (!p) {
		snprintf(err, errlen, "descriptor buffer %#llx+%#x outside guest memory",
			 (unsigned long long)d->addr, d->len);
		return -1;
	}
	c->iov[c->nr_out + c->nr_in].iov_base = p;
	c->iov[c->nr_out + c->nr_in].iov_len = d->len;
	if (write) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return 0;
}

static void read_desc(struct vring_desc *out, const struct vring_desc *table,
		      unsigned int i)
{
	/* one copy: the driver may change the entry while we look at it */
	memcpy(out, &table[i], sizeof(*out));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* an indirect table (2.7.5.3): its own bounded, non-nested chain */
static int walk_indirect(struct virtq *vq, const struct guest_mem *m,
			 const struct vring_desc *ind, struct virtq_chain *c,
			 char *err, size_t errlen)
{
	const struct vring_desc *table;
	struct vring_desc d;
	unsigned int n, i, seen;

	if (!vq->indirect) {
		snprintf(err, errlen, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
		return -1;
	}
	if (ind->flags & VRING_DESC_F_NEXT) {
		/* 2.7.5.3.1: INDIRECT and NEXT together are not allowed */
		snprintf(err, errlen, "indirect descriptor with NEXT set");
		return -1;
	}
	if (!ind->len || ind->len % 16 || ind->len / 16 > vq->size) {
		snprintf(err, errlen, "indirect table of %u bytes (queue size %u)",
			 ind->len, vq->size);
		return -1;
	}
	n = ind->len / 16;
	if (ind->addr & 15) {
		snprintf(err, errlen, "misaligned indirect table %#llx",
			 (unsigned long long)ind->addr);
		return -1;
	}
	table = gmem_at(m, ind->addr, ind->len);
	if (!table) {
		snprintf(err, errlen, "indirect table %#llx+%#x outside guest memory",
			 (unsigned long long)ind->addr, ind->len);
		return -1;
	}
	for (i = 0, seen = 0;; seen++) {
		if (seen >= n) {
			snprintf(err, errlen, "loop in an indirect table");
			return -1;
		}
		read_desc(&d, table, i);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			snprintf(err, errlen, "nested indirect descriptor");
			return -1;
		}
		if (add_seg(c, m, &d, vq->size, err, errlen))
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n) {
			snprintf(err, errlen, "indirect next %u past the table's %u entries",
				 d.next, n);
			return -1;
		}
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, const struct guest_mem *m,
	      struct virtq_chain *c, char *err, size_t errlen)
{
	uint16_t avail_idx, head, i;
	struct vring_desc d;
	unsigned int seen;

	if (!vq->avail)
		return 0;
	avail_idx = load16(&vq->avail->idx);
	if (avail_idx == vq->last_avail) {
		if (!vq->event_idx)
			return 0;
		/*
		 * Ask for a notification at the next entry, then look
		 * again: the driver may have added one in between (2.7.10).
		 */
		store16(&vq->used->ring[vq->size], vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = load16(&vq->avail->idx);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		snprintf(err, errlen, "avail index jumped from %u to %u (queue size %u)",
			 vq->last_avail, avail_idx, vq->size);
		return -1;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	if (head >= vq->size) {
		snprintf(err, errlen, "head descriptor %u past the queue size %u",
			 head, vq->size);
		return -1;
	}
	c->head = head;
	c->nr_out = 0;
	c->nr_in = 0;
	c->out_len = 0;
	c->in_len = 0;
	for (i = head, seen = 0;; seen++) {
		/* 2.7.5.3.1: no chain is longer than the queue */
		if (seen >= vq->size) {
			snprintf(err, errlen, "descriptor loop or chain longer than %u",
				 vq->size);
			return -1;
		}
		read_desc(&d, vq->desc, i);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (c->nr_out + c->nr_in) {
				/* the only descriptor of its chain */
				snprintf(err, errlen, "indirect descriptor inside a chain");
				return -1;
			}
			if (walk_indirect(vq, m, &d, c, err, errlen))
				return -1;
			break;
		}
		if (add_seg(c, m, &d, vq->size, err, errlen))
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= vq->size) {
			snprintf(err, errlen, "next descriptor %u past the queue size %u",
				 d.next, vq->size);
			return -1;
		}
		i = d.next;
	}
	if (c->out_len > UINT32_MAX || c->in_len > UINT32_MAX) {
		snprintf(err, errlen, "chain of more than 4 GiB");
		return -1;
	}
	vq->last_avail++;
	return 1;
}

bool virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;
	uint16_t old, event;
	bool notify;

	pthread_mutex_lock(&vq->used_lock);
	if (!vq->used) {
		pthread_mutex_unlock(&vq->used_lock);
		return false;
	}
	e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	old = vq->used_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store16(&vq->used->idx, vq->used_idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		/* vring_need_event(): used_event in (old, new] */
		event = load16(&vq->avail->ring[vq->size]);
		if (vq->signalled_valid)
			old = vq->signalled;
		notify = (uint16_t)(vq->used_idx - event - 1) <
			 (uint16_t)(vq->used_idx - old);
	} else {
		notify = !(load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	}
	if (notify) {
		vq->signalled = vq->used_idx;
		vq->signalled_valid = true;
	}
	pthread_mutex_unlock(&vq->used_lock);
	return notify;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip,
		  void *buf, size_t len)
{
	size_t done = 0, k;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - skip;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip, k);
		done += k;
		skip = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip,
		    const void *buf, size_t len)
{
	size_t done = 0, k;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - skip;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, k);
		done += k;
		skip = 0;
	}
	return done;
}

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     void *priv, const struct guest_mem *mem)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->priv = priv;
	d->mem = mem;
	pthread_mutex_init(&d->lock, NULL);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		pthread_mutex_init(&d->vq[i].used_lock, NULL);
		d->vq[i].size = VIRTQ_MAX_SIZE;
		d->vq[i].msix_vector = 0xffff;	/* VIRTIO_MSI_NO_VECTOR */
	}
}

uint64_t virtio_dev_features(const struct virtio_dev *d)
{
	if (d->ops->features_exact)
		return d->ops->features;
	return d->ops->features | 1ULL << VIRTIO_F_VERSION_1 |
	       1ULL << VIRTIO_RING_F_INDIRECT_DESC |
	       1ULL << VIRTIO_RING_F_EVENT_IDX;
}

bool virtio_dev_live(struct virtio_dev *d, uint32_t gen)
{
	uint8_t s = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);

	return (s & VIRTIO_DRIVER_OK) && !(s & VIRTIO_NEEDS_RESET) &&
	       __atomic_load_n(&d->generation, __ATOMIC_ACQUIRE) == gen;
}

static void set_status_bits(struct virtio_dev *d, uint8_t s)
{
	__atomic_store_n(&d->status, s, __ATOMIC_RELEASE);
}

/* section 2.4: back to the state after power-on */
static void dev_reset(struct virtio_dev *d)
{
	unsigned int i;

	/* a failed device was stopped when it failed */
	if ((d->status & VIRTIO_DRIVER_OK) && !(d->status & VIRTIO_NEEDS_RESET))
		d->ops->stop(d);
	__atomic_add_fetch(&d->generation, 1, __ATOMIC_RELEASE);
	set_status_bits(d, 0);
	d->driver_features = 0;
	d->failed_logged = false;
	for (i = 0; i < d->ops->nr_queues; i++) {
		struct virtq *vq = &d->vq[i];

		pthread_mutex_lock(&vq->used_lock);
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		vq->enabled = false;
		vq->size = VIRTQ_MAX_SIZE;
		vq->msix_vector = 0xffff;
		vq->desc_gpa = 0;
		vq->avail_gpa = 0;
		vq->used_gpa = 0;
		pthread_mutex_unlock(&vq->used_lock);
	}
}

static void vfail(struct virtio_dev *d, const char *fmt, va_list ap)
{
	char msg[256], line[320];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (d->status & VIRTIO_NEEDS_RESET)
		return;
	if (d->status & VIRTIO_DRIVER_OK)
		d->ops->stop(d);
	set_status_bits(d, d->status | VIRTIO_NEEDS_RESET);
	if (!d->failed_logged) {
		d->failed_logged = true;
		snprintf(line, sizeof(line), "%s: %s; the device needs a reset",
			 d->ops->name, msg);
		virtio_log(line);
	}
	/* 4.1.4.5 / 2.1.2: the driver learns of it by a config interrupt */
	d->config_generation++;
	if (d->tops && d->tops->config_irq)
		d->tops->config_irq(d);
}

void virtio_dev_fail(struct virtio_dev *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(d, fmt, ap);
	va_end(ap);
}

void virtio_dev_fail_unlocked(struct virtio_dev *d, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&d->lock);
	va_start(ap, fmt);
	vfail(d, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&d->lock);
}

void virtio_set_status(struct virtio_dev *d, uint8_t status)
{
	uint64_t offered = virtio_dev_features(d);
	uint8_t old = d->status;
	char err[160];
	unsigned int i;

	if (!status) {
		dev_reset(d);
		return;
	}
	if (old & VIRTIO_NEEDS_RESET) {
		/* only a reset brings the device back */
		return;
	}
	if ((status & VIRTIO_FEATURES_OK) && !(old & VIRTIO_FEATURES_OK)) {
		/* 3.1.1: refuse what was not offered; 1.x needs VERSION_1 */
		if ((d->driver_features & ~offered) ||
		    !(d->driver_features & 1ULL << VIRTIO_F_VERSION_1))
			status &= ~VIRTIO_FEATURES_OK;
	}
	if ((old & VIRTIO_FEATURES_OK) && !(status & VIRTIO_FEATURES_OK) &&
	    (status & VIRTIO_DRIVER_OK)) {
		virtio_dev_fail(d, "DRIVER_OK without FEATURES_OK");
		return;
	}
	if ((status & VIRTIO_DRIVER_OK) && !(old & VIRTIO_DRIVER_OK)) {
		if (!(status & VIRTIO_FEATURES_OK)) {
			virtio_dev_fail(d, "DRIVER_OK without FEATURES_OK");
			return;
		}
		for (i = 0; i < d->ops->nr_queues; i++) {
			struct virtq *vq = &d->vq[i];

			if (!vq->enabled)
				continue;
			pthread_mutex_lock(&vq->used_lock);
			if (virtq_start(vq, d->mem,
					d->driver_features & 1ULL << VIRTIO_RING_F_EVENT_IDX,
					d->driver_features & 1ULL << VIRTIO_RING_F_INDIRECT_DESC,
					err, sizeof(err))) {
				pthread_mutex_unlock(&vq->used_lock);
				virtio_dev_fail(d, "queue %u: %s", i, err);
				return;
			}
			pthread_mutex_unlock(&vq->used_lock);
		}
		set_status_bits(d, status);
		if (d->ops->start(d))
			virtio_dev_fail(d, "the backend could not start");
		return;
	}
	if ((old & VIRTIO_DRIVER_OK) && !(status & VIRTIO_DRIVER_OK)) {
		/* clearing a bit other than by reset is not allowed (2.1.1) */
		virtio_dev_fail(d, "DRIVER_OK cleared without a reset");
		return;
	}
	set_status_bits(d, status);
}

void virtio_complete(struct virtio_dev *d, unsigned int q, uint16_t head,
		     uint32_t len)
{
	if (virtq_push(&d->vq[q], head, len) && d->tops && d->tops->queue_irq)
		d->tops->queue_irq(d, q);
}
