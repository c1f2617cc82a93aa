// SPDX-License-Identifier: GPL-2.0-only
/*
 * Modern virtio over PCI (virtio 1.2 section 4.1): a PCI function with
 * vendor 0x1af4, device 0x1040 + the virtio device ID, and one memory
 * BAR holding the common configuration, the ISR, the device's own config,
 * the queue notify registers and the MSI-X table, each located by a
 * vendor capability (4.1.4). Debian's kernel has the driver as a module
 * (virtio_pci) and no virtio-mmio command line, hence PCI.
 *
 * Fast paths through KVM: a queue's notify register is a KVM_IOEVENTFD
 * (the guest's write signals an eventfd in the kernel, no exit), and each
 * MSI-X vector is an irqfd on a GSI routed to the vector's message with
 * KVM_SET_GSI_ROUTING. A notify write that reaches user space anyway (a
 * width the ioeventfd does not match) signals the same eventfd.
 *
 * A vhost backend (vhost_dev.c) takes both eventfds into the kernel: its
 * worker waits on the kick eventfd and signals the vector's irqfd itself.
 * Such a vector is "direct": its GSI follows every change of its message
 * at once, since no msix_send() runs before the interrupt. The kernel
 * worker does not see its mask bit, so the irqfd does: while the vector
 * is masked (its own bit, the function mask, or MSI-X off) the irqfd is
 * deassigned and the worker's signals stay in the eventfd's count, which
 * is the vector's pending bit (PBA); unmasking assigns it again, and
 * KVM_IRQFD injects at once when the eventfd is already readable (KVM's
 * irqfd_assign(), okvm's alike), delivering what waited. QEMU gets the
 * same with a masked notifier it swaps in for the call fd. Linux masks a
 * vector while it rewrites its message (an affinity change) and while no
 * handler is requested.
 *
 * BAR 0 layout (VP_*): common 0x0000, ISR 0x1000, device 0x2000,
 * notify 0x3000 (4 bytes per queue), MSI-X table 0x4000, PBA 0x5000.
 *
 * Locking: the PCI bus lock around every config and BAR access; the
 * device's dev->lock for the common and device config (taken under the
 * bus lock); msix_lock for the vectors (taken under either, and by
 * completing threads); the VM's route lock innermost.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/virtio_pci.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "run.h"
#include "virtio_pci.h"

#define VP_COMMON		0x0000
#define VP_COMMON_LEN		0x38	/* struct virtio_pci_common_cfg */
#define VP_ISR			0x1000
#define VP_DEVICE		0x2000
#define VP_DEVICE_MAX		0x1000
#define VP_NOTIFY		0x3000
#define VP_NOTIFY_MULT		4
#define VP_MSIX_TABLE		0x4000
#define VP_MSIX_PBA		0x5000
#define VP_BAR_SIZE		0x8000

#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_MASKALL	0x4000
#define NO_VECTOR		0xffff
#define NR_VECTORS		(VIRTIO_MAX_QUEUES + 1)

struct msix_vec {
	uint32_t addr_lo, addr_hi, data, ctrl;
	int gsi, efd;
	bool pending;
	bool routed;
	bool direct;			/* a vhost worker signals @efd */
	bool irqfd_off;			/* direct and masked: irqfd deassigned */
	uint32_t r_lo, r_hi, r_data;	/* what the GSI routes to now */
};

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev dev;
	struct vm *vm;
	unsigned int nr_vec;
	unsigned int msix_cap;
	/* common config registers, dev.lock */
	uint32_t dfselect, gfselect;
	uint16_t queue_select, msix_config;
	uint8_t isr;			/* atomic */
	/* msix_lock */
	pthread_mutex_t msix_lock;
	bool msix_enabled, msix_masked;
	struct msix_vec vec[NR_VECTORS];
	/* queue kicks: one eventfd per queue, KVM_IOEVENTFD on its notify */
	int kick_fd[VIRTIO_MAX_QUEUES];
	uint64_t ioev_base;		/* BAR 0 they are registered at, or 0 */
	int stop_fd;
	pthread_t worker;
	bool worker_started;
};

static struct virtio_pci *to_vp(struct virtio_dev *d)
{
	return d->transport;
}

/* msix_lock held: the vector's GSI to its message, if it changed */
static int msix_route(struct virtio_pci *vp, struct msix_vec *v)
{
	if (v->routed && v->r_lo == v->addr_lo && v->r_hi == v->addr_hi &&
	    v->r_data == v->data)
		return 0;
	if (vm_msi_route(vp->vm, v->gsi, (uint64_t)v->addr_hi << 32 |
			 v->addr_lo, v->data))
		return -1;
	v->routed = true;
	v->r_lo = v->addr_lo;
	v->r_hi = v->addr_hi;
	v->r_data = v->data;
	return 0;
}

static bool msix_vec_masked(struct virtio_pci *vp, struct msix_vec *v)
{
	return !vp->msix_enabled || vp->msix_masked || (v->ctrl & 1);
}

/*
 * msix_lock held: a direct vector's irqfd follows its mask (PCI 3.0
 * 6.8.3.5: a masked vector's message is not sent but its pending bit
 * set, and sent on unmask); the route is brought up to date first, so
 * what waited goes to the message the guest has now.
 */
static void msix_sync_direct(struct virtio_pci *vp, struct msix_vec *v)
{
	struct kvm_irqfd irqfd = { .fd = v->efd, .gsi = v->gsi };
	bool masked = msix_vec_masked(vp, v);

	if (!v->direct || masked == v->irqfd_off)
		return;
	if (!masked && msix_route(vp, v))
		return;
	if (masked)
		irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	if (ioctl(vp->vm->vm_fd, KVM_IRQFD, &irqfd)) {
		vm_request_stop(vp->vm, RUN_EXIT_CRASH, "%s: KVM_IRQFD (%s): %s",
				vp->dev.ops->name, masked ? "mask" : "unmask",
				strerror(errno));
		return;
	}
	v->irqfd_off = masked;
}

/* msix_lock held: a direct vector masked with a signal waiting in its eventfd */
static bool msix_direct_pending(struct msix_vec *v)
{
	struct pollfd pfd = { .fd = v->efd, .events = POLLIN };

	return v->irqfd_off && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* msix_lock held: the vector's route, then its irqfd */
static void msix_send(struct virtio_pci *vp, struct msix_vec *v)
{
	uint64_t one = 1;

	if (msix_route(vp, v))
		return;
	if (write(v->efd, &one, sizeof(one)) < 0)
		vm_request_stop(vp->vm, RUN_EXIT_CRASH, "%s: irqfd: %s",
				vp->dev.ops->name, strerror(errno));
}

/* deliver vector @n, or leave it pending while masked (PCI 3.0 6.8.3.5) */
static void msix_fire(struct virtio_pci *vp, unsigned int n)
{
	struct msix_vec *v;

	if (n >= vp->nr_vec)
		return;		/* NO_VECTOR: okvm offers no INTx */
	v = &vp->vec[n];
	pthread_mutex_lock(&vp->msix_lock);
	if (msix_vec_masked(vp, v))
		v->pending = true;
	else
		msix_send(vp, v);
	pthread_mutex_unlock(&vp->msix_lock);
}

/* msix_lock held: a mask went away, send what waited */
static void msix_flush(struct virtio_pci *vp)
{
	unsigned int i;

	if (!vp->msix_enabled || vp->msix_masked)
		return;
	for (i = 0; i < vp->nr_vec; i++) {
		if (vp->vec[i].pending && !(vp->vec[i].ctrl & 1)) {
			vp->vec[i].pending = false;
			msix_send(vp, &vp->vec[i]);
		}
	}
}

static void vp_queue_irq(struct virtio_dev *d, unsigned int q)
{
	struct virtio_pci *vp = to_vp(d);

	__atomic_or_fetch(&vp->isr, 1, __ATOMIC_RELAXED);
	msix_fire(vp, __atomic_load_n(&d->vq[q].msix_vector, __ATOMIC_RELAXED));
}

static void vp_config_irq(struct virtio_dev *d)
{
	struct virtio_pci *vp = to_vp(d);

	__atomic_or_fetch(&vp->isr, 2, __ATOMIC_RELAXED);
	msix_fire(vp, __atomic_load_n(&vp->msix_config, __ATOMIC_RELAXED));
}

static int vp_kick_fd(struct virtio_dev *d, unsigned int q)
{
	return q < d->ops->nr_queues ? to_vp(d)->kick_fd[q] : -1;
}

static int vp_call_fd(struct virtio_dev *d, unsigned int q)
{
	struct virtio_pci *vp = to_vp(d);
	unsigned int n = __atomic_load_n(&d->vq[q].msix_vector, __ATOMIC_RELAXED);
	struct msix_vec *v;
	int fd;

	if (q >= d->ops->nr_queues || n >= vp->nr_vec)
		return -1;
	v = &vp->vec[n];
	pthread_mutex_lock(&vp->msix_lock);
	v->direct = true;
	fd = msix_route(vp, v) ? -1 : v->efd;
	msix_sync_direct(vp, v);
	pthread_mutex_unlock(&vp->msix_lock);
	return fd;
}

static const struct virtio_transport_ops vp_tops = {
	.queue_irq = vp_queue_irq,
	.config_irq = vp_config_irq,
	.kick_fd = vp_kick_fd,
	.call_fd = vp_call_fd,
};

/* the notify registers follow BAR 0; bus lock held */
static void update_ioeventfds(struct virtio_pci *vp)
{
	uint64_t base = pci_bar0(&vp->pci);
	struct kvm_ioeventfd io = { .len = 2 };
	unsigned int q;

	if (base == vp->ioev_base)
		return;
	for (q = 0; q < vp->dev.ops->nr_queues; q++) {
		io.fd = vp->kick_fd[q];
		if (vp->ioev_base) {
			io.addr = vp->ioev_base + VP_NOTIFY + q * VP_NOTIFY_MULT;
			io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
			ioctl(vp->vm->vm_fd, KVM_IOEVENTFD, &io);
		}
		if (base) {
			io.addr = base + VP_NOTIFY + q * VP_NOTIFY_MULT;
			io.flags = 0;
			/* without it, notify writes exit and kick the same fd */
			ioctl(vp->vm->vm_fd, KVM_IOEVENTFD, &io);
		}
	}
	vp->ioev_base = base;
}

static void vp_cfg_written(struct pci_dev *p, unsigned int off,
			   unsigned int len)
{
	struct virtio_pci *vp = p->opaque;
	unsigned int i;
	uint16_t ctl;

	if (off < 0x14 && off + len > 0x04)	/* command or BAR 0 */
		update_ioeventfds(vp);
	if (off < vp->msix_cap + 4 && off + len > vp->msix_cap + 2) {
		ctl = p->cfg[vp->msix_cap + 2] | p->cfg[vp->msix_cap + 3] << 8;
		pthread_mutex_lock(&vp->msix_lock);
		vp->msix_enabled = ctl & MSIX_CTRL_ENABLE;
		vp->msix_masked = ctl & MSIX_CTRL_MASKALL;
		for (i = 0; i < vp->nr_vec; i++)
			msix_sync_direct(vp, &vp->vec[i]);
		msix_flush(vp);
		pthread_mutex_unlock(&vp->msix_lock);
	}
}

static struct virtq *selected_vq(struct virtio_pci *vp)
{
	if (vp->queue_select >= vp->dev.ops->nr_queues)
		return NULL;
	return &vp->dev.vq[vp->queue_select];
}

/* 4.1.4.3 common configuration; dev.lock held */
static uint64_t common_read(struct virtio_pci *vp, unsigned int off)
{
	struct virtio_dev *d = &vp->dev;
	struct virtq *vq = selected_vq(vp);
	uint64_t f;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		f = virtio_dev_features(d);
		return vp->dfselect < 2 ? (uint32_t)(f >> (32 * vp->dfselect)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return vp->gfselect < 2 ?
		       (uint32_t)(d->driver_features >> (32 * vp->gfselect)) : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return vp->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ:
		return d->ops->nr_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return d->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return d->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vp->queue_select;
	}
	if (!vq)
		return off == VIRTIO_PCI_COMMON_Q_MSIX ? NO_VECTOR : 0;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return vq->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return vq->msix_vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return vq->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return (uint32_t)vq->desc_gpa;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return vq->desc_gpa >> 32;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return (uint32_t)vq->avail_gpa;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return vq->avail_gpa >> 32;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return (uint32_t)vq->used_gpa;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return vq->used_gpa >> 32;
	}
	return 0;
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

/* dev.lock held */
static void common_write(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	struct virtio_dev *d = &vp->dev;
	struct virtq *vq = selected_vq(vp);
	uint64_t *gpa = NULL;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = v;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = v;
		return;
	case VIRTIO_PCI_COMMON_GF:
		if (d->status & VIRTIO_FEATURES_OK) {
			virtio_dev_fail(d, "driver features written after FEATURES_OK");
			return;
		}
		if (vp->gfselect < 2)
			set_half(&d->driver_features, vp->gfselect, v);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		__atomic_store_n(&vp->msix_config,
				 v < vp->nr_vec ? v : NO_VECTOR, __ATOMIC_RELAXED);
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_set_status(d, v);
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = v;
		return;
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		virtio_dev_fail(d, "write to the read-only common config field at %#x",
				off);
		return;
	}
	/* queue registers: fixed once the queue is enabled (4.1.4.3.2) */
	if (!vq || vq->enabled) {
		if (vq && off != VIRTIO_PCI_COMMON_Q_MSIX)
			return;
		if (!vq)
			return;
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		vq->size = v;
		return;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		__atomic_store_n(&vq->msix_vector, v < vp->nr_vec ? v : NO_VECTOR,
				 __ATOMIC_RELAXED);
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (v == 1)
			vq->enabled = true;
		return;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		gpa = &vq->desc_gpa;
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		gpa = &vq->avail_gpa;
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		gpa = &vq->used_gpa;
		break;
	}
	if (gpa)
		set_half(gpa, off & 4, v);
}

/* the field sizes of struct virtio_pci_common_cfg, by offset */
static unsigned int common_width(unsigned int off)
{
	if (off < VIRTIO_PCI_COMMON_MSIX)
		return off % 4 ? 0 : 4;
	if (off == VIRTIO_PCI_COMMON_STATUS ||
	    off == VIRTIO_PCI_COMMON_CFGGENERATION)
		return 1;
	if (off < VIRTIO_PCI_COMMON_Q_DESCLO)
		return off % 2 ? 0 : 2;
	return off % 4 ? 0 : 4;
}

static uint64_t get_le(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, unsigned int len, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		p[i] = v >> (8 * i);
}

static void kick(struct virtio_pci *vp, unsigned int q)
{
	uint64_t one = 1;

	if (q < vp->dev.ops->nr_queues &&
	    write(vp->kick_fd[q], &one, sizeof(one)) < 0)
		vm_request_stop(vp->vm, RUN_EXIT_CRASH, "%s: kick: %s",
				vp->dev.ops->name, strerror(errno));
}

/* MSI-X table and PBA (PCI 3.0 6.8.2.8): dword accesses */
static void msix_mmio(struct virtio_pci *vp, uint64_t off, bool write,
		      uint8_t *data, unsigned int len)
{
	struct msix_vec *v;
	uint32_t *reg;
	unsigned int i;

	if (len != 4 || (off & 3)) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&vp->msix_lock);
	if (off >= VP_MSIX_PBA) {
		if (!write) {
			uint32_t bits = 0;

			for (i = 0; i < vp->nr_vec && off == VP_MSIX_PBA; i++)
				bits |= (uint32_t)(vp->vec[i].pending ||
						   msix_direct_pending(&vp->vec[i])) << i;
			put_le(data, 4, bits);
		}
		pthread_mutex_unlock(&vp->msix_lock);
		return;
	}
	off -= VP_MSIX_TABLE;
	if (off / 16 >= vp->nr_vec) {
		if (!write)
			memset(data, 0, 4);
		pthread_mutex_unlock(&vp->msix_lock);
		return;
	}
	v = &vp->vec[off / 16];
	reg = off % 16 == 0 ? &v->addr_lo : off % 16 == 4 ? &v->addr_hi :
	      off % 16 == 8 ? &v->data : &v->ctrl;
	if (!write) {
		put_le(data, 4, *reg);
	} else {
		*reg = get_le(data, 4);
		if (reg == &v->ctrl) {
			v->ctrl &= 1;	/* only the mask bit is defined */
			msix_sync_direct(vp, v);
			msix_flush(vp);
		} else if (v->direct) {
			msix_route(vp, v);
		}
	}
	pthread_mutex_unlock(&vp->msix_lock);
}

static void vp_mmio(struct pci_dev *p, uint64_t off, bool write,
		    uint8_t *data, unsigned int len)
{
	struct virtio_pci *vp = p->opaque;
	struct virtio_dev *d = &vp->dev;
	unsigned int w;

	if (off < VP_COMMON + VP_COMMON_LEN) {
		w = common_width(off);
		pthread_mutex_lock(&d->lock);
		if (write && len == w)
			common_write(vp, off, get_le(data, len));
		else if (!write)
			put_le(data, len, len <= w ? common_read(vp, off) : 0);
		pthread_mutex_unlock(&d->lock);
	} else if (off >= VP_ISR && off < VP_ISR + 4) {
		/* 4.1.4.5: reading the ISR clears it */
		if (!write)
			put_le(data, len, off == VP_ISR ?
			       __atomic_exchange_n(&vp->isr, 0, __ATOMIC_RELAXED) : 0);
	} else if (off >= VP_DEVICE && off < VP_DEVICE + d->ops->config_size) {
		pthread_mutex_lock(&d->lock);
		if (write)
			virtio_dev_fail(d, "write to the read-only device config at %#llx",
					(unsigned long long)(off - VP_DEVICE));
		else if (off - VP_DEVICE + len > d->ops->config_size)
			memset(data, 0, len);
		else
			d->ops->config_read(d, off - VP_DEVICE, data, len);
		pthread_mutex_unlock(&d->lock);
	} else if (off >= VP_NOTIFY && off < VP_MSIX_TABLE) {
		if (write)
			kick(vp, (off - VP_NOTIFY) / VP_NOTIFY_MULT);
		else
			memset(data, 0, len);
	} else if (off >= VP_MSIX_TABLE) {
		msix_mmio(vp, off, write, data, len);
	} else if (!write) {
		memset(data, 0, len);
	}
}

/* the kicks: the backend's notify, in order, one queue at a time */
static void *vp_worker(void *arg)
{
	struct virtio_pci *vp = arg;
	struct virtio_dev *d = &vp->dev;
	/* a vhost backend's kernel worker takes the kicks itself */
	unsigned int nq = d->ops->notify ? d->ops->nr_queues : 0, q;
	struct pollfd pfd[VIRTIO_MAX_QUEUES + 1];
	uint64_t cnt;

	for (q = 0; q < nq; q++) {
		pfd[q].fd = vp->kick_fd[q];
		pfd[q].events = POLLIN;
	}
	pfd[nq].fd = vp->stop_fd;
	pfd[nq].events = POLLIN;
	for (;;) {
		if (poll(pfd, nq + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[nq].revents)
			break;
		for (q = 0; q < nq; q++) {
			if (!pfd[q].revents ||
			    read(vp->kick_fd[q], &cnt, sizeof(cnt)) != sizeof(cnt))
				continue;
			pthread_mutex_lock(&d->lock);
			if (virtio_dev_live(d, d->generation) && d->vq[q].enabled &&
			    d->vq[q].avail)
				d->ops->notify(d, q);
			pthread_mutex_unlock(&d->lock);
		}
	}
	return NULL;
}

static void add_vcap(struct pci_dev *p, uint8_t type, uint32_t off,
		     uint32_t len, unsigned int caplen)
{
	unsigned int c = pci_cap_add(p, 0x09, caplen);	/* vendor-specific */

	p->cfg[c + 2] = caplen;
	p->cfg[c + 3] = type;
	p->cfg[c + 4] = 0;		/* BAR 0 */
	pci_put32(p->cfg + c + 8, off);
	pci_put32(p->cfg + c + 12, len);
}

static void vp_free(struct virtio_pci *vp)
{
	struct kvm_irqfd irqfd = { .flags = KVM_IRQFD_FLAG_DEASSIGN };
	unsigned int i;

	for (i = 0; i < NR_VECTORS; i++) {
		if (vp->vec[i].efd < 0 || !vp->vec[i].gsi || vp->vec[i].irqfd_off)
			continue;
		irqfd.fd = vp->vec[i].efd;
		irqfd.gsi = vp->vec[i].gsi;
		ioctl(vp->vm->vm_fd, KVM_IRQFD, &irqfd);
	}
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (vp->kick_fd[i] >= 0)
			close(vp->kick_fd[i]);
	for (i = 0; i < NR_VECTORS; i++)
		if (vp->vec[i].efd >= 0)
			close(vp->vec[i].efd);
	if (vp->stop_fd >= 0)
		close(vp->stop_fd);
	free(vp);
}

int virtio_pci_add(struct vm *vm, const struct virtio_dev_ops *ops,
		   void *priv, char *err, size_t errlen)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	struct kvm_irqfd irqfd = { 0 };
	struct pci_dev *p;
	unsigned int i, c;

	if (!vp) {
		snprintf(err, errlen, "out of memory");
		if (ops->destroy) {
			struct virtio_dev d = { .ops = ops, .priv = priv };

			ops->destroy(&d);
		}
		return -1;
	}
	/* from here on virtio_pci_destroy() undoes whatever was done */
	virtio_dev_init(&vp->dev, ops, priv, &vm->mem);
	vp->dev.transport = vp;
	vp->dev.tops = &vp_tops;
	vp->vm = vm;
	vp->stop_fd = -1;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vp->kick_fd[i] = -1;
	for (i = 0; i < NR_VECTORS; i++)
		vp->vec[i].efd = -1;
	vp->nr_vec = ops->nr_queues + 1;
	vp->msix_config = NO_VECTOR;
	pthread_mutex_init(&vp->msix_lock, NULL);
	if (ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    ops->config_size > VP_DEVICE_MAX || vm->nr_virtio >= RUN_MAX_VIRTIO) {
		snprintf(err, errlen, "%s: too many devices, queues or config bytes",
			 ops->name);
		virtio_pci_destroy(vp);
		return -1;
	}

	p = &vp->pci;
	p->opaque = vp;
	pthread_mutex_lock(&vm->pci.lock);
	if (pci_dev_add(&vm->pci, p, 0x1af4, 0x1040 + ops->device_id,
			ops->pci_class, ops->device_id, VP_BAR_SIZE)) {
		pthread_mutex_unlock(&vm->pci.lock);
		snprintf(err, errlen, "%s: no free PCI slot", ops->name);
		virtio_pci_destroy(vp);
		return -1;
	}
	vm->virtio[vm->nr_virtio++] = vp;
	/* 4.1.4: the structures' capabilities, then MSI-X */
	add_vcap(p, VIRTIO_PCI_CAP_COMMON_CFG, VP_COMMON, VP_COMMON_LEN, 16);
	c = p->cap_free;
	add_vcap(p, VIRTIO_PCI_CAP_NOTIFY_CFG, VP_NOTIFY,
		 ops->nr_queues * VP_NOTIFY_MULT, 20);
	pci_put32(p->cfg + c + 16, VP_NOTIFY_MULT);
	add_vcap(p, VIRTIO_PCI_CAP_ISR_CFG, VP_ISR, 4, 16);
	if (ops->config_size)
		add_vcap(p, VIRTIO_PCI_CAP_DEVICE_CFG, VP_DEVICE,
			 ops->config_size, 16);
	c = pci_cap_add(p, 0x11, 12);		/* MSI-X, PCI 3.0 6.8.2 */
	pci_put16(p->cfg + c + 2, vp->nr_vec - 1);
	p->wmask[c + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	pci_put32(p->cfg + c + 4, VP_MSIX_TABLE);	/* BIR 0 */
	pci_put32(p->cfg + c + 8, VP_MSIX_PBA);
	vp->msix_cap = c;
	pthread_mutex_unlock(&vm->pci.lock);

	for (i = 0; i < ops->nr_queues; i++) {
		vp->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->kick_fd[i] < 0)
			goto sys_fail;
	}
	for (i = 0; i < vp->nr_vec; i++) {
		vp->vec[i].ctrl = 1;		/* masked after reset */
		vp->vec[i].efd = eventfd(0, EFD_CLOEXEC);
		if (vp->vec[i].efd < 0)
			goto sys_fail;
		vp->vec[i].gsi = vm_gsi_alloc(vm);
		if (vp->vec[i].gsi < 0) {
			snprintf(err, errlen, "%s: KVM_SET_GSI_ROUTING on %s: %s",
				 ops->name, vm->dev, strerror(errno));
			return -1;
		}
		irqfd.fd = vp->vec[i].efd;
		irqfd.gsi = vp->vec[i].gsi;
		if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd)) {
			snprintf(err, errlen, "%s: KVM_IRQFD on %s: %s", ops->name,
				 vm->dev, strerror(errno));
			return -1;
		}
	}
	vp->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (vp->stop_fd < 0)
		goto sys_fail;
	pthread_mutex_lock(&vm->pci.lock);
	/* the BAR and config hooks go live together */
	p->cfg_written = vp_cfg_written;
	p->mmio = vp_mmio;
	update_ioeventfds(vp);
	pthread_mutex_unlock(&vm->pci.lock);
	if (pthread_create(&vp->worker, NULL, vp_worker, vp)) {
		snprintf(err, errlen, "%s: cannot start its thread", ops->name);
		return -1;
	}
	vp->worker_started = true;
	return 0;
sys_fail:
	snprintf(err, errlen, "%s: %s", ops->name, strerror(errno));
	return -1;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	struct virtio_dev *d = &vp->dev;
	uint64_t one = 1;

	if (vp->worker_started) {
		if (write(vp->stop_fd, &one, sizeof(one)) < 0)
			abort();
		pthread_join(vp->worker, NULL);
	}
	pthread_mutex_lock(&d->lock);
	if ((d->status & VIRTIO_DRIVER_OK) && !(d->status & VIRTIO_NEEDS_RESET))
		d->ops->stop(d);
	pthread_mutex_unlock(&d->lock);
	if (vp->ioev_base) {
		/* every vCPU has stopped: nothing races with the BAR */
		vp->pci.cfg[0x04] = 0;
		update_ioeventfds(vp);
	}
	if (d->ops->destroy)
		d->ops->destroy(d);
	vp_free(vp);
}

struct virtio_dev *virtio_pci_dev(struct virtio_pci *vp)
{
	return &vp->dev;
}
