// SPDX-License-Identifier: GPL-2.0-only
/*
 * vring_driver.c - the selftests' user-space virtio driver (vring_driver.h).
 * Ring layout and barriers follow virtio 1.1, section 2.6.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vring_driver.h"

uint64_t vd_gpa(struct vd *d, const void *p)
{
	return (const unsigned char *)p - d->mem + VD_GPA_BASE;
}

void *vd_alloc(struct vd *d, size_t len)
{
	void *p;

	d->heap = (d->heap + 15) & ~15UL;
	if (d->heap + len > VD_MEM_SIZE)
		return NULL;
	p = d->mem + d->heap;
	d->heap += len;
	memset(p, 0, len);
	return p;
}

int vd_init(struct vd *d, int fd, unsigned int nq)
{
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->nq = nq;
	d->mem = mmap(NULL, VD_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (d->mem == MAP_FAILED)
		return -errno;
	for (unsigned int i = 0; i < VD_QUEUES; i++)
		d->q[i].kick = d->q[i].call = d->q[i].err = -1;
	return 0;
}

void vd_fini(struct vd *d)
{
	for (unsigned int i = 0; i < VD_QUEUES; i++) {
		if (d->q[i].kick >= 0)
			close(d->q[i].kick);
		if (d->q[i].call >= 0)
			close(d->q[i].call);
		if (d->q[i].err >= 0)
			close(d->q[i].err);
	}
	if (d->fd >= 0)
		close(d->fd);
	munmap(d->mem, VD_MEM_SIZE);
}

int vd_set_mem(struct vd *d)
{
	struct {
		struct vhost_memory hdr;
		struct vhost_memory_region r;
	} m = {
		.hdr.nregions = 1,
		.r.guest_phys_addr = VD_GPA_BASE,
		.r.memory_size = VD_MEM_SIZE,
		.r.userspace_addr = (uintptr_t)d->mem,
	};

	return ioctl(d->fd, VHOST_SET_MEM_TABLE, &m) ? -errno : 0;
}

#define TRY(x) do { if ((x) < 0) return -errno; } while (0)

int vd_setup(struct vd *d, uint64_t features, unsigned int num)
{
	TRY(ioctl(d->fd, VHOST_SET_OWNER));
	TRY(ioctl(d->fd, VHOST_SET_FEATURES, &features));
	TRY(vd_set_mem(d));
	for (unsigned int i = 0; i < d->nq; i++) {
		struct vd_queue *q = &d->q[i];
		struct vhost_vring_state s = { .index = i, .num = num };
		struct vhost_vring_addr a = { .index = i };
		struct vhost_vring_file f = { .index = i };

		q->num = num;
		q->desc = vd_alloc(d, 16 * num);
		q->avail = vd_alloc(d, 6 + 2 * num);
		q->used = vd_alloc(d, 6 + 8 * num);
		if (!q->desc || !q->avail || !q->used)
			return -ENOMEM;
		a.desc_user_addr = (uintptr_t)q->desc;
		a.avail_user_addr = (uintptr_t)q->avail;
		a.used_user_addr = (uintptr_t)q->used;
		TRY(ioctl(d->fd, VHOST_SET_VRING_NUM, &s));
		TRY(ioctl(d->fd, VHOST_SET_VRING_ADDR, &a));
		s.num = 0;
		TRY(ioctl(d->fd, VHOST_SET_VRING_BASE, &s));
		TRY(q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		TRY(q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		TRY(q->err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		f.fd = q->kick;
		TRY(ioctl(d->fd, VHOST_SET_VRING_KICK, &f));
		f.fd = q->call;
		TRY(ioctl(d->fd, VHOST_SET_VRING_CALL, &f));
		f.fd = q->err;
		TRY(ioctl(d->fd, VHOST_SET_VRING_ERR, &f));
	}
	return 0;
}

void vd_publish(struct vd *d, unsigned int qi, uint16_t head)
{
	struct vd_queue *q = &d->q[qi];

	q->avail->ring[q->avail_idx % q->num] = head;
	/* the entry before the index (virtio 1.1, 2.6.13.2) */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

static uint16_t vd_fill(struct vd_queue *q, struct vring_desc *tab,
			unsigned int first, unsigned int size, struct vd *d,
			const struct vd_buf *bufs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		unsigned int at = (first + i) % size;
		struct vring_desc *desc = &tab[at];

		desc->addr = vd_gpa(d, bufs[i].addr);
		desc->len = bufs[i].len;
		desc->flags = bufs[i].write ? VRING_DESC_F_WRITE : 0;
		if (i + 1 < n) {
			desc->flags |= VRING_DESC_F_NEXT;
			desc->next = (first + i + 1) % size;
		}
	}
	(void)q;
	return first % size;
}

int vd_add(struct vd *d, unsigned int qi, const struct vd_buf *bufs, unsigned int n)
{
	struct vd_queue *q = &d->q[qi];
	uint16_t head = vd_fill(q, q->desc, q->next_desc, q->num, d, bufs, n);

	q->next_desc = (q->next_desc + n) % q->num;
	vd_publish(d, qi, head);
	return head;
}

int vd_add_indirect(struct vd *d, unsigned int qi, const struct vd_buf *bufs,
		    unsigned int n)
{
	struct vd_queue *q = &d->q[qi];
	struct vring_desc *tab = vd_alloc(d, 16 * n);
	uint16_t head = q->next_desc;

	if (!tab)
		return -ENOMEM;
	vd_fill(q, tab, 0, n, d, bufs, n);
	q->desc[head].addr = vd_gpa(d, tab);
	q->desc[head].len = 16 * n;
	q->desc[head].flags = VRING_DESC_F_INDIRECT;
	q->next_desc = (q->next_desc + 1) % q->num;
	vd_publish(d, qi, head);
	return head;
}

void vd_kick(struct vd *d, unsigned int q)
{
	uint64_t one = 1;

	if (write(d->q[q].kick, &one, sizeof(one)) != sizeof(one))
		return;
}

static bool vd_wait_fd(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v);
}

bool vd_wait_call(struct vd *d, unsigned int q, int timeout_ms)
{
	return vd_wait_fd(d->q[q].call, timeout_ms);
}

bool vd_wait_err(struct vd *d, unsigned int q, int timeout_ms)
{
	return vd_wait_fd(d->q[q].err, timeout_ms);
}

uint16_t vd_used_idx(struct vd *d, unsigned int q)
{
	return __atomic_load_n(&d->q[q].used->idx, __ATOMIC_ACQUIRE);
}

bool vd_get_used(struct vd *d, unsigned int qi, struct vring_used_elem *e,
		 int timeout_ms)
{
	struct vd_queue *q = &d->q[qi];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (vd_used_idx(d, qi) != q->used_seen) {
			*e = q->used->ring[q->used_seen % q->num];
			q->used_seen++;
			return true;
		}
		vd_wait_call(d, qi, 100);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    timeout_ms)
			return false;
	}
}
