// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk and virtio-net served by a vhost device in the kernel:
 * okvm's /dev/okvm-vhost-blk and /dev/okvm-vhost-net, or Linux's
 * /dev/vhost-net (Documentation/vhost.rst). okvm run keeps the PCI
 * transport and the device config; the vhost worker walks the rings in
 * okvm run's address space and does the I/O, woken by the queue's
 * ioeventfd and interrupting the guest through the vector's irqfd, so no
 * request passes through okvm run.
 *
 * The vhost device is opened and owned (VHOST_SET_OWNER) when okvm run
 * starts, and given guest RAM as its memory table (GPA -> okvm run's
 * mapping). The guest sees only the features both the device model and
 * the vhost device have. When the driver sets DRIVER_OK, the features
 * it acked (less those only okvm run implements: MAC, STATUS) go to
 * VHOST_SET_FEATURES, each enabled queue's size, base and ring addresses
 * to the ring ioctls, the transport's kick and call eventfds to
 * VHOST_SET_VRING_KICK/CALL, and last the backend (the tap, the image's
 * fd). A reset detaches the backend and unbinds the eventfds, so no
 * interrupt follows it; the next DRIVER_OK sets everything again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <okvm/vhost_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../block/block.h"
#include "../block/file.h"
#include "run.h"
#include "virtio_pci.h"

#define SECTOR			512
#define VHOST_BLK_SEG_MAX	(VIRTQ_MAX_SIZE - 2)
/* what virtio 1.x's transport needs from the ring: the vhost device's */
#define RING_FEATURES		(1ULL << VIRTIO_F_VERSION_1 |		\
				 1ULL << VIRTIO_RING_F_INDIRECT_DESC |	\
				 1ULL << VIRTIO_RING_F_EVENT_IDX)

struct vhost_dev {
	struct virtio_dev_ops ops;	/* the features are this device's */
	const char *opt;		/* "-d" or "-n": log lines */
	char node[RUN_VHOST_MAX];
	int fd;				/* the vhost device */
	uint64_t vhost_features;	/* what it acks */
	unsigned long set_backend;	/* its backend ioctl */
	int backend_fd;			/* the tap or the image */
	bool running;
	unsigned int started;		/* bit q: queue q has rings and backend */
	/* virtio-blk */
	struct blk *blk;
	bool ro;
	unsigned int blk_queues;	/* > 1: VIRTIO_BLK_F_MQ */
	/* virtio-net */
	char ifname[IFNAMSIZ];
	uint8_t mac[6];
};

static void vlog(struct vhost_dev *v, const char *what, int q)
{
	char line[RUN_VHOST_MAX + 160];

	snprintf(line, sizeof(line), "%s: %s (queue %d) on %s: %s",
		 v->ops.name, what, q, v->node, strerror(errno));
	virtio_log(line);
}

/* the vring ioctls of queue @q, in the order vhost wants them */
static int ring_setup(struct vhost_dev *v, struct virtio_dev *d,
		      unsigned int q)
{
	const struct virtq *vq = &d->vq[q];
	struct vhost_vring_state num = { .index = q, .num = vq->size };
	struct vhost_vring_state base = { .index = q, .num = vq->last_avail };
	struct vhost_vring_addr addr = {
		.index = q,
		.desc_user_addr = (uintptr_t)vq->desc,
		.avail_user_addr = (uintptr_t)vq->avail,
		.used_user_addr = (uintptr_t)vq->used,
		.log_guest_addr = vq->used_gpa,
	};
	struct vhost_vring_file kick = { .index = q };
	struct vhost_vring_file call = { .index = q };

	kick.fd = d->tops->kick_fd(d, q);
	call.fd = d->tops->call_fd(d, q);
	if (ioctl(v->fd, VHOST_SET_VRING_NUM, &num)) {
		vlog(v, "VHOST_SET_VRING_NUM", q);
		return -1;
	}
	if (ioctl(v->fd, VHOST_SET_VRING_BASE, &base)) {
		vlog(v, "VHOST_SET_VRING_BASE", q);
		return -1;
	}
	if (ioctl(v->fd, VHOST_SET_VRING_ADDR, &addr)) {
		vlog(v, "VHOST_SET_VRING_ADDR", q);
		return -1;
	}
	if (ioctl(v->fd, VHOST_SET_VRING_KICK, &kick)) {
		vlog(v, "VHOST_SET_VRING_KICK", q);
		return -1;
	}
	if (ioctl(v->fd, VHOST_SET_VRING_CALL, &call)) {
		vlog(v, "VHOST_SET_VRING_CALL", q);
		return -1;
	}
	return 0;
}

/* device lock held: the backend off, the eventfds unbound */
static void vhost_dev_stop(struct virtio_dev *d)
{
	struct vhost_dev *v = d->priv;
	struct vhost_vring_file f;
	unsigned int q;

	if (!v->running)
		return;
	for (q = 0; q < d->ops->nr_queues; q++) {
		if (!(v->started & 1U << q))
			continue;
		f.index = q;
		f.fd = -1;
		if (ioctl(v->fd, v->set_backend, &f))
			vlog(v, "detaching the backend", q);
		ioctl(v->fd, VHOST_SET_VRING_KICK, &f);
		ioctl(v->fd, VHOST_SET_VRING_CALL, &f);
	}
	v->started = 0;
	v->running = false;
}

/* device lock held, DRIVER_OK: the rings and the backend to the kernel */
static int vhost_dev_start(struct virtio_dev *d)
{
	struct vhost_dev *v = d->priv;
	uint64_t features = d->driver_features & v->vhost_features;
	struct vhost_vring_file f;
	unsigned int q;

	if (ioctl(v->fd, VHOST_SET_FEATURES, &features)) {
		vlog(v, "VHOST_SET_FEATURES", -1);
		return -1;
	}
	/*
	 * A multi-queue driver may use fewer queues than offered (Linux: no
	 * more than its CPUs); the others get no ring and no backend.
	 */
	if (!d->vq[0].enabled) {
		errno = EINVAL;
		vlog(v, "the driver did not enable the first queue", 0);
		return -1;
	}
	v->started = 0;
	for (q = 0; q < d->ops->nr_queues; q++) {
		if (!d->vq[q].enabled)
			continue;
		if (ring_setup(v, d, q))
			return -1;
		v->started |= 1U << q;
	}
	v->running = true;
	for (q = 0; q < d->ops->nr_queues; q++) {
		if (!d->vq[q].enabled)
			continue;
		f.index = q;
		f.fd = v->backend_fd;
		if (ioctl(v->fd, v->set_backend, &f)) {
			vlog(v, "setting the backend", q);
			vhost_dev_stop(d);
			return -1;
		}
	}
	return 0;
}

static void vhost_dev_destroy(struct virtio_dev *d)
{
	struct vhost_dev *v = d->priv;

	/* closing the vhost device stops its worker first */
	if (v->fd >= 0)
		close(v->fd);
	if (v->blk)
		blk_close(v->blk);
	else if (v->backend_fd >= 0)
		close(v->backend_fd);
	free(v);
}

static void vhost_blk_config(struct virtio_dev *d, unsigned int off,
			     void *data, unsigned int len)
{
	struct vhost_dev *v = d->priv;
	struct virtio_blk_config c;

	memset(&c, 0, sizeof(c));
	c.capacity = v->blk->size / SECTOR;
	c.seg_max = VHOST_BLK_SEG_MAX;
	c.blk_size = SECTOR;
	c.num_queues = v->blk_queues;
	memcpy(data, (uint8_t *)&c + off, len);
}

static void vhost_net_config(struct virtio_dev *d, unsigned int off,
			     void *data, unsigned int len)
{
	struct vhost_dev *v = d->priv;
	struct virtio_net_config c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, v->mac, 6);
	c.status = VIRTIO_NET_S_LINK_UP;
	memcpy(data, (uint8_t *)&c + off, len);
}

static struct vhost_dev *vhost_dev_new(const char *opt, const char *node)
{
	struct vhost_dev *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->opt = opt;
	snprintf(v->node, sizeof(v->node), "%s", node);
	v->fd = -1;
	v->backend_fd = -1;
	v->ops.features_exact = true;
	v->ops.start = vhost_dev_start;
	v->ops.stop = vhost_dev_stop;
	v->ops.destroy = vhost_dev_destroy;
	return v;
}

/* open, own, the memory table: what the device needs before the guest */
static int vhost_open(struct vhost_dev *v, struct vm *vm, const char *what,
		      const char *module, char *err, size_t errlen)
{
	struct vhost_memory *mt;
	unsigned int i;

	v->fd = open(v->node, O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		snprintf(err, errlen, "%s %s,vhost: cannot open %s: %s%s%s%s", v->opt,
			 what, v->node, strerror(errno), errno == ENOENT ?
			 " (load " : "", errno == ENOENT ? module : "",
			 errno == ENOENT ? ")" : "");
		return -1;
	}
	if (ioctl(v->fd, VHOST_SET_OWNER, NULL) ||
	    ioctl(v->fd, VHOST_GET_FEATURES, &v->vhost_features)) {
		snprintf(err, errlen, "%s %s,vhost: %s is not a vhost device: %s",
			 v->opt, what, v->node, strerror(errno));
		return -1;
	}
	mt = calloc(1, sizeof(*mt) + vm->mem.nr * sizeof(mt->regions[0]));
	if (!mt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mt->nregions = vm->mem.nr;
	for (i = 0; i < vm->mem.nr; i++) {
		mt->regions[i].guest_phys_addr = vm->mem.r[i].gpa;
		mt->regions[i].memory_size = vm->mem.r[i].size;
		mt->regions[i].userspace_addr = (uintptr_t)vm->mem.r[i].hva;
	}
	i = ioctl(v->fd, VHOST_SET_MEM_TABLE, mt);
	free(mt);
	if (i) {
		snprintf(err, errlen, "%s %s,vhost: VHOST_SET_MEM_TABLE on %s: %s",
			 v->opt, what, v->node, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Is @v the kind of vhost device @req belongs to? The backend ioctl of
 * the other kind is ENOTTY; of the right kind, with no ring set up yet,
 * it fails otherwise (EFAULT, the rings unreachable) or detaches nothing.
 */
static bool vhost_kind(struct vhost_dev *v, unsigned long req)
{
	struct vhost_vring_file f = { .index = 0, .fd = -1 };

	return !ioctl(v->fd, req, &f) || errno != ENOTTY;
}

int vhost_blk_add(struct vm *vm, struct blk *b, const struct disk_opt *o,
		  char *err, size_t errlen)
{
	struct vhost_dev *v = vhost_dev_new("-d", o->vhost);
	char id[OKVM_VHOST_BLK_ID_BYTES] = { 0 };
	const char *base;
	uint64_t want;

	if (!v) {
		blk_close(b);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v->blk = b;
	v->ro = o->ro;
	v->backend_fd = b->file->fd;
	v->set_backend = OKVM_VHOST_BLK_SET_BACKEND;
	if (vhost_open(v, vm, o->path, "okvm-vhost.ko", err, errlen))
		goto fail;
	if (!vhost_kind(v, OKVM_VHOST_BLK_SET_BACKEND)) {
		snprintf(err, errlen, "-d %s,vhost: %s is not a vhost-blk device (okvm's is %s)",
			 o->path, o->vhost, RUN_VHOST_BLK);
		goto fail;
	}
	/* GET_ID: the file's name, as much as fits, as virtio_blk.c says */
	base = strrchr(o->path, '/');
	base = base ? base + 1 : o->path;
	memcpy(id, base, strnlen(base, sizeof(id)));
	if (ioctl(v->fd, OKVM_VHOST_BLK_SET_ID, id)) {
		snprintf(err, errlen, "-d %s,vhost: OKVM_VHOST_BLK_SET_ID on %s: %s",
			 o->path, o->vhost, strerror(errno));
		goto fail;
	}
	/*
	 * One request queue per vCPU (as many as the transport and the device
	 * have), or queues=N, when the device does VIRTIO_BLK_F_MQ: each has
	 * a worker of its own, and the guest submits on the queue of the CPU
	 * it runs on.
	 */
	v->blk_queues = 1;
	if ((v->vhost_features & 1ULL << VIRTIO_BLK_F_MQ) && vm->nr_vcpus > 1) {
		v->blk_queues = vm->nr_vcpus;
		if (v->blk_queues > VIRTIO_MAX_QUEUES)
			v->blk_queues = VIRTIO_MAX_QUEUES;
		if (v->blk_queues > OKVM_VHOST_BLK_VQ_MAX)
			v->blk_queues = OKVM_VHOST_BLK_VQ_MAX;
	}
	/* queues=N: as many as the user says, if the device does MQ */
	if (o->queues && (v->vhost_features & 1ULL << VIRTIO_BLK_F_MQ))
		v->blk_queues = o->queues;
	want = RING_FEATURES | 1ULL << VIRTIO_BLK_F_SEG_MAX |
	       1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
	       (o->ro ? 1ULL << VIRTIO_BLK_F_RO : 0) |
	       (v->blk_queues > 1 ? 1ULL << VIRTIO_BLK_F_MQ : 0);
	v->ops.name = "vhost-blk";
	v->ops.device_id = 2;
	v->ops.pci_class = 0x018000;		/* mass storage, other */
	v->ops.nr_queues = v->blk_queues;
	v->ops.features = want & v->vhost_features;
	v->ops.config_size = sizeof(struct virtio_blk_config);
	v->ops.config_read = vhost_blk_config;
	if (o->ro && !(v->ops.features & 1ULL << VIRTIO_BLK_F_RO)) {
		snprintf(err, errlen, "-d %s,ro,vhost: %s offers no read-only disks",
			 o->path, o->vhost);
		goto fail;
	}
	return virtio_pci_add(vm, &v->ops, v, err, errlen);
fail:
	vhost_dev_destroy(&(struct virtio_dev){ .priv = v });
	return -1;
}

int vhost_net_add(struct vm *vm, const struct net_opt *o, unsigned int i,
		  char *err, size_t errlen)
{
	struct vhost_dev *v = vhost_dev_new("-n", o->vhost);
	uint64_t want;

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v->set_backend = VHOST_NET_SET_BACKEND;
	if (vhost_open(v, vm, "tap", strcmp(o->vhost, RUN_VHOST_NET) ?
		       "vhost_net" : "okvm-vhost.ko", err, errlen))
		goto fail;
	if (!vhost_kind(v, VHOST_NET_SET_BACKEND)) {
		snprintf(err, errlen, "-n tap,vhost: %s is not a vhost-net device",
			 o->vhost);
		goto fail;
	}
	v->backend_fd = net_tap_open(o, v->ifname, err, errlen);
	if (v->backend_fd < 0 || net_tap_up(v->ifname, o->bridge, err, errlen))
		goto fail;
	if (o->has_mac) {
		memcpy(v->mac, o->mac, 6);
	} else {
		/* as virtio_net.c: QEMU's local prefix, one per card */
		memcpy(v->mac, "\x52\x54\x00\x12\x34\x56", 6);
		v->mac[5] += i;
	}
	want = RING_FEATURES | 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	v->ops.name = "vhost-net";
	v->ops.device_id = 1;
	v->ops.pci_class = 0x020000;		/* network, Ethernet */
	v->ops.nr_queues = 2;
	/* MAC and STATUS are okvm run's config space, not the worker's */
	v->ops.features = (want & v->vhost_features) |
			  1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS;
	v->ops.config_size = offsetof(struct virtio_net_config,
				      max_virtqueue_pairs);
	v->ops.config_read = vhost_net_config;
	if (virtio_pci_add(vm, &v->ops, v, err, errlen))
		return -1;
	fprintf(stderr, "okvm run: virtio-net on tap %s%s%s through %s, guest MAC %02x:%02x:%02x:%02x:%02x:%02x\n",
		v->ifname, o->bridge[0] ? " in bridge " : "", o->bridge, o->vhost,
		v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5]);
	return 0;
fail:
	vhost_dev_destroy(&(struct virtio_dev){ .priv = v });
	return -1;
}
