/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vring_driver.h - a user-space virtio driver for the vhost selftests: the
 * test's own memory plays the guest's, one region of it is handed to the
 * vhost device with VHOST_SET_MEM_TABLE at guest-physical VD_GPA_BASE (not
 * the user address, so a translation bug shows), and split rings inside
 * it are filled, kicked and reaped as a virtio driver would.
 */
#ifndef VRING_DRIVER_H
#define VRING_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vhost.h>
#include <linux/virtio_ring.h>

#define VD_GPA_BASE	0x40000000ULL
#define VD_MEM_SIZE	(4UL << 20)
#define VD_QUEUES	2
#define VD_TIMEOUT_MS	5000

struct vd_queue {
	unsigned int num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint16_t used_seen;
	uint16_t next_desc;
	int kick, call, err;
};

struct vd {
	int fd;
	unsigned char *mem;
	size_t heap;		/* next free byte for buffers */
	unsigned int nq;
	struct vd_queue q[VD_QUEUES];
};

struct vd_buf {
	void *addr;
	uint32_t len;
	bool write;
};

/* The guest-physical address of a pointer into the test's guest memory. */
uint64_t vd_gpa(struct vd *d, const void *p);
/* Guest memory for buffers and tables, zeroed and 16-byte aligned. */
void *vd_alloc(struct vd *d, size_t len);
/* Map the memory and open nothing yet; 0 or -errno. */
int vd_init(struct vd *d, int fd, unsigned int nq);
void vd_fini(struct vd *d);
/*
 * The usual bring-up: SET_OWNER, SET_FEATURES, SET_MEM_TABLE, and for each
 * ring NUM, ADDR, BASE 0, KICK, CALL, ERR. Returns 0 or -errno of the
 * first failing ioctl.
 */
int vd_setup(struct vd *d, uint64_t features, unsigned int num);
int vd_set_mem(struct vd *d);
/* Put a chain on ring q's avail ring (not kicked); returns its head. */
int vd_add(struct vd *d, unsigned int q, const struct vd_buf *bufs, unsigned int n);
/* Put an indirect table holding the chain; returns its head. */
int vd_add_indirect(struct vd *d, unsigned int q, const struct vd_buf *bufs,
		    unsigned int n);
/* Publish a raw head (hostile tests): avail ring entry + index. */
void vd_publish(struct vd *d, unsigned int q, uint16_t head);
void vd_kick(struct vd *d, unsigned int q);
/* Wait for the call eventfd (or an already written used entry). */
bool vd_wait_call(struct vd *d, unsigned int q, int timeout_ms);
/* Wait for the err eventfd. */
bool vd_wait_err(struct vd *d, unsigned int q, int timeout_ms);
/* The next used element, if the device wrote one; waits up to timeout. */
bool vd_get_used(struct vd *d, unsigned int q, struct vring_used_elem *e,
		 int timeout_ms);
uint16_t vd_used_idx(struct vd *d, unsigned int q);

#endif
