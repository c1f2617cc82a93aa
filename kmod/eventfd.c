// SPDX-License-Identifier: GPL-2.0-only
/*
 * eventfd.c - eventfds between a VM and the rest of the host: ioeventfds
 * (a guest write to a port or an MMIO address signals an eventfd instead
 * of exiting to user space), irqfds (a write to an eventfd raises a GSI or
 * an MSI in the guest) and the coalesced MMIO/PIO ring (writes to
 * registered zones are appended to a page user space drains later).
 *
 * This file is vendor-neutral and knows nothing of the interrupt
 * controllers: it reaches them only through x86/irq.h (okvm_set_irq(),
 * okvm_route_msi(), okvm_deliver_msi() and the ack notifiers). The exit
 * paths (x86/io.c) call okvm_eventfd_write() before they exit to user
 * space. design.rst, "Eventfds", tells the whole story.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "okvm.h"
#include "x86/irq.h"

/*
 * KVM's I/O buses hold at most 1000 devices each (NR_IOBUS_DEVS); beyond
 * that registering an ioeventfd or a coalesced zone fails with -ENOSPC.
 * okvm keeps the same limit per address space, counting both kinds.
 */
#define OKVM_IO_DEVS_MAX	1000

/* The flags KVM_IOEVENTFD knows, all of them (KVM_IOEVENTFD_VALID_FLAG_MASK). */
#define OKVM_IOEVENTFD_FLAGS	(KVM_IOEVENTFD_FLAG_DATAMATCH |		\
				 KVM_IOEVENTFD_FLAG_PIO |		\
				 KVM_IOEVENTFD_FLAG_DEASSIGN |		\
				 KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)

/*
 * struct okvm_ioeventfd - one KVM_IOEVENTFD: a write of @len bytes (any
 * length when @len is 0) to @addr in the port (@pio) or MMIO space, with
 * data @datamatch unless @wildcard, signals @eventfd.
 *
 * Immutable once published on okvm_eventfds.ioeventfds; freed after an
 * RCU grace period, so the exit path looks them up under rcu_read_lock().
 */
struct okvm_ioeventfd {
	struct list_head link;
	u64 addr;
	u64 datamatch;
	struct eventfd_ctx *eventfd;
	u8 len;
	bool pio;
	bool wildcard;
};

/*
 * struct okvm_coalesced_zone - one KVM_REGISTER_COALESCED_MMIO zone.
 * Immutable once published; freed after an RCU grace period.
 */
struct okvm_coalesced_zone {
	struct list_head link;
	struct kvm_coalesced_mmio_zone zone;
	struct rcu_head rcu;
};

/*
 * struct okvm_resampler - the irqfds with KVM_IRQFD_FLAG_RESAMPLE on one
 * GSI. They share one irq source (OKVM_IRQ_SOURCE_RESAMPLE), so the line is
 * lowered once when the guest EOIs it, and every resamplefd is signalled
 * then. @irqfds is changed under okvm_eventfds.resampler_lock and walked
 * under RCU by the ack notifier.
 */
struct okvm_resampler {
	struct list_head link;		/* in okvm_eventfds.resamplers */
	struct list_head irqfds;
	struct okvm_vm *vm;
	struct okvm_irq_ack_notifier notifier;
	struct rcu_head rcu;
};

/*
 * struct okvm_irqfd - one KVM_IRQFD: a signal on @eventfd raises @gsi.
 *
 * Lifetime: active while on okvm_eventfds.irqfds (under irqfds_lock).
 * Deactivation (deassign, EPOLLHUP, VM release) takes it off that list
 * and queues @shutdown on okvm_irqfd_wq, which unhooks @wait from the
 * eventfd, waits for @inject, leaves the resampler and frees it after an
 * RCU grace period (the ack notifier may still be signalling
 * @resamplefd). The VM waits for that queue before it is freed, so an
 * irqfd's work never outlives its VM; the RCU callback touches only the
 * irqfd and its eventfds, and module unload waits for it (rcu_barrier()).
 */
struct okvm_irqfd {
	struct okvm_vm *vm;
	struct list_head link;		/* okvm_eventfds.irqfds, or empty */
	struct eventfd_ctx *eventfd;
	u32 gsi;
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;		/* the eventfd's, once hooked */
	poll_table pt;
	struct work_struct inject;
	struct work_struct shutdown;
	/* KVM_IRQFD_FLAG_RESAMPLE */
	struct eventfd_ctx *resamplefd;
	struct okvm_resampler *resampler;
	struct list_head resampler_link;
	struct rcu_head rcu;
};

/*
 * struct okvm_eventfds - a VM's eventfds and coalesced ring.
 *
 * Locking: @lock (a mutex) serializes changes to @ioeventfds, @zones and
 * @nr_devs; the exit path reads both lists under RCU, so it never waits
 * for an ioctl. @ring_lock guards appending to @ring (vCPUs on several
 * CPUs may append at once; user space only moves ring->first). @irqfds_lock
 * (a spinlock, taken with interrupts off because the EPOLLHUP wake-up runs
 * with them off) guards @irqfds and each irqfd's link. @resampler_lock
 * (a mutex) guards @resamplers and the irqfd lists inside them.
 * Order: @resampler_lock, then @irqfds_lock; @lock is never held with
 * either.
 */
struct okvm_eventfds {
	struct mutex lock;		/* changes to the three below */
	struct list_head ioeventfds;
	struct list_head zones;
	unsigned int nr_devs[2];	/* [0] MMIO, [1] PIO */

	spinlock_t ring_lock;		/* appends to the ring */
	struct kvm_coalesced_mmio_ring *ring;

	spinlock_t irqfds_lock;		/* irqfds and their links */
	struct list_head irqfds;
	struct mutex resampler_lock;	/* resamplers and their lists */
	struct list_head resamplers;
};

/* Shutdowns of irqfds from every VM; each VM flushes it before it is freed. */
static struct workqueue_struct *okvm_irqfd_wq;

/* eventfd_signal() lost its count argument in 6.8 (Kbuild tells which). */
static void okvm_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef OKVM_EVENTFD_SIGNAL_HAS_COUNT
	eventfd_signal(ctx, 1);
#else
	eventfd_signal(ctx);
#endif
}

/* ---- ioeventfds and coalesced zones: the exit path ---- */

static bool okvm_ioeventfd_hit(const struct okvm_ioeventfd *p, bool pio,
			       u64 addr, unsigned int len, const void *data)
{
	u64 val = 0;

	if (p->pio != pio || p->addr != addr)
		return false;
	if (!p->len)
		return true;
	if (p->len != len)
		return false;
	if (p->wildcard)
		return true;
	memcpy(&val, data, len);	/* x86 is little-endian */
	return val == p->datamatch;
}

/*
 * Append one write to the ring when there is room: the ring is full when
 * one more entry would make last catch up with first, which user space
 * moves as it drains the ring. Returns false (the write then exits as
 * usual) when it is full or user space put garbage in last.
 */
static bool okvm_coalesce(struct okvm_eventfds *efd, bool pio, u64 addr,
			  unsigned int len, const void *data)
{
	struct kvm_coalesced_mmio_ring *ring = efd->ring;
	struct kvm_coalesced_mmio *e;
	bool done = false;
	u32 last, first;

	spin_lock(&efd->ring_lock);
	last = READ_ONCE(ring->last);
	first = READ_ONCE(ring->first);
	if (last < KVM_COALESCED_MMIO_MAX &&
	    (last + 1) % KVM_COALESCED_MMIO_MAX != first) {
		e = &ring->coalesced_mmio[last];
		e->phys_addr = addr;
		e->len = len;
		e->pio = pio;
		memset(e->data, 0, sizeof(e->data));
		memcpy(e->data, data, len);
		/* The entry is complete before user space can see it. */
		smp_store_release(&ring->last,
				  (last + 1) % KVM_COALESCED_MMIO_MAX);
		done = true;
	}
	spin_unlock(&efd->ring_lock);
	return done;
}

static bool okvm_zone_holds(const struct kvm_coalesced_mmio_zone *z, u64 addr,
			    u64 len)
{
	return addr + len >= addr && addr >= z->addr &&
	       addr + len <= z->addr + z->size;
}

/*
 * A guest write of @len bytes (1 to 8) of @data to port or MMIO address
 * @addr, about to exit to user space: returns true when an ioeventfd took
 * it (its eventfd is signalled) or a coalesced zone did (it is in the
 * ring), and the write is then complete. Called by the vCPU thread, with
 * preemption on, for writes only (KVM's ioeventfds and zones have no read
 * side).
 */
bool okvm_eventfd_write(struct okvm_vm *vm, bool pio, u64 addr,
			unsigned int len, const void *data)
{
	struct okvm_eventfds *efd = vm->eventfds;
	struct okvm_coalesced_zone *z;
	struct okvm_ioeventfd *p;
	bool done = false;

	rcu_read_lock();
	list_for_each_entry_rcu(p, &efd->ioeventfds, link) {
		if (okvm_ioeventfd_hit(p, pio, addr, len, data)) {
			okvm_eventfd_signal(p->eventfd);
			done = true;
			goto out;
		}
	}
	list_for_each_entry_rcu(z, &efd->zones, link) {
		if (z->zone.pio == pio && okvm_zone_holds(&z->zone, addr, len)) {
			done = okvm_coalesce(efd, pio, addr, len, data);
			goto out;
		}
	}
out:
	rcu_read_unlock();
	return done;
}

/* ---- KVM_IOEVENTFD ---- */

/* Would @p and @q both claim one write? KVM refuses that with -EEXIST. */
static bool okvm_ioeventfd_clash(const struct okvm_ioeventfd *p,
				 const struct okvm_ioeventfd *q)
{
	if (p->pio != q->pio || p->addr != q->addr)
		return false;
	if (!p->len || !q->len)
		return true;
	return p->len == q->len &&
	       (p->wildcard || q->wildcard || p->datamatch == q->datamatch);
}

static int okvm_ioeventfd_assign(struct okvm_vm *vm,
				 const struct kvm_ioeventfd *args)
{
	struct okvm_eventfds *efd = vm->eventfds;
	struct okvm_ioeventfd *p, *q;
	int ret;

	switch (args->len) {
	case 0: case 1: case 2: case 4: case 8:
		break;
	default:
		return -EINVAL;
	}
	if (args->addr + args->len < args->addr)
		return -EINVAL;
	if (args->flags & ~OKVM_IOEVENTFD_FLAGS)
		return -EINVAL;
	/*
	 * A virtio-ccw notification is an s390 hypercall; x86 KVM accepts
	 * one and never signals it, okvm refuses it (api.rst).
	 */
	if (args->flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return -EINVAL;
	/* Any length cannot match data of some length. */
	if (!args->len && (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	p->eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(p->eventfd)) {
		ret = PTR_ERR(p->eventfd);
		kfree(p);
		return ret;
	}
	p->addr = args->addr;
	p->len = args->len;
	p->pio = args->flags & KVM_IOEVENTFD_FLAG_PIO;
	p->wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	if (!p->wildcard)
		p->datamatch = args->datamatch;

	mutex_lock(&efd->lock);
	ret = -EEXIST;
	list_for_each_entry(q, &efd->ioeventfds, link)
		if (okvm_ioeventfd_clash(p, q))
			goto fail;
	ret = -ENOSPC;
	if (efd->nr_devs[p->pio] >= OKVM_IO_DEVS_MAX)
		goto fail;
	efd->nr_devs[p->pio]++;
	list_add_tail_rcu(&p->link, &efd->ioeventfds);
	mutex_unlock(&efd->lock);
	return 0;

fail:
	mutex_unlock(&efd->lock);
	eventfd_ctx_put(p->eventfd);
	kfree(p);
	return ret;
}

/*
 * KVM_IOEVENTFD_FLAG_DEASSIGN: the one with the same eventfd, space,
 * address, length and datamatch, or -ENOENT. The exit path may still be
 * signalling it: it is freed after a grace period.
 */
static int okvm_ioeventfd_deassign(struct okvm_vm *vm,
				   const struct kvm_ioeventfd *args)
{
	struct okvm_eventfds *efd = vm->eventfds;
	bool pio = args->flags & KVM_IOEVENTFD_FLAG_PIO;
	bool wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	struct okvm_ioeventfd *p, *found = NULL;
	struct eventfd_ctx *eventfd;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	mutex_lock(&efd->lock);
	list_for_each_entry(p, &efd->ioeventfds, link) {
		if (p->eventfd != eventfd || p->pio != pio ||
		    p->addr != args->addr || p->len != args->len ||
		    p->wildcard != wildcard ||
		    (!wildcard && p->datamatch != args->datamatch))
			continue;
		list_del_rcu(&p->link);
		efd->nr_devs[p->pio]--;
		found = p;
		break;
	}
	mutex_unlock(&efd->lock);
	eventfd_ctx_put(eventfd);
	if (!found)
		return -ENOENT;

	synchronize_rcu();
	eventfd_ctx_put(found->eventfd);
	kfree(found);
	return 0;
}

/* ---- KVM_(UN)REGISTER_COALESCED_MMIO ---- */

static int okvm_coalesced_register(struct okvm_vm *vm,
				   const struct kvm_coalesced_mmio_zone *zone)
{
	struct okvm_eventfds *efd = vm->eventfds;
	struct okvm_coalesced_zone *z;
	int ret = 0;

	if (zone->pio > 1)
		return -EINVAL;
	z = kzalloc(sizeof(*z), GFP_KERNEL_ACCOUNT);
	if (!z)
		return -ENOMEM;
	z->zone = *zone;

	mutex_lock(&efd->lock);
	if (efd->nr_devs[zone->pio] >= OKVM_IO_DEVS_MAX) {
		ret = -ENOSPC;
		kfree(z);
	} else {
		efd->nr_devs[zone->pio]++;
		list_add_tail_rcu(&z->link, &efd->zones);
	}
	mutex_unlock(&efd->lock);
	return ret;
}

/*
 * As KVM: every zone of that space that holds the whole range given goes
 * (so a range larger than a zone removes nothing), and the answer is 0
 * even when none did.
 */
static int okvm_coalesced_unregister(struct okvm_vm *vm,
				     const struct kvm_coalesced_mmio_zone *zone)
{
	struct okvm_eventfds *efd = vm->eventfds;
	struct okvm_coalesced_zone *z, *tmp;

	if (zone->pio > 1)
		return -EINVAL;
	mutex_lock(&efd->lock);
	list_for_each_entry_safe(z, tmp, &efd->zones, link) {
		if (z->zone.pio != zone->pio ||
		    !okvm_zone_holds(&z->zone, zone->addr, zone->size))
			continue;
		list_del_rcu(&z->link);
		efd->nr_devs[z->zone.pio]--;
		kfree_rcu(z, rcu);
	}
	mutex_unlock(&efd->lock);
	return 0;
}

/* The ring page, mapped at KVM_COALESCED_MMIO_PAGE_OFFSET of each vCPU fd. */
struct page *okvm_coalesced_ring_page(struct okvm_vm *vm)
{
	return virt_to_page(vm->eventfds->ring);
}

/* ---- KVM_IRQFD ---- */

/*
 * The deferred injection: a GSI goes through routing to the IOAPIC and
 * PIC, whose locks are not safe to take from the wake-up (it may run in a
 * hard interrupt handler that signals an eventfd). An edge for a plain
 * irqfd; a level held until the guest's EOI for a resampling one.
 */
static void okvm_irqfd_inject(struct work_struct *work)
{
	struct okvm_irqfd *irqfd = container_of(work, struct okvm_irqfd,
						inject);

	if (irqfd->resampler) {
		okvm_set_irq(irqfd->vm, OKVM_IRQ_SOURCE_RESAMPLE, irqfd->gsi, 1);
	} else {
		okvm_set_irq(irqfd->vm, OKVM_IRQ_SOURCE_USER, irqfd->gsi, 1);
		okvm_set_irq(irqfd->vm, OKVM_IRQ_SOURCE_USER, irqfd->gsi, 0);
	}
}

/*
 * The guest EOIed the GSI of a resampler: lower the line once, then tell
 * each resamplefd so that its device model re-asserts if it still needs
 * service.
 */
static void okvm_resampler_acked(struct okvm_irq_ack_notifier *ian)
{
	struct okvm_resampler *r = container_of(ian, struct okvm_resampler,
						notifier);
	struct okvm_irqfd *irqfd;

	okvm_set_irq(r->vm, OKVM_IRQ_SOURCE_RESAMPLE, ian->gsi, 0);
	rcu_read_lock();
	list_for_each_entry_rcu(irqfd, &r->irqfds, resampler_link)
		okvm_eventfd_signal(irqfd->resamplefd);
	rcu_read_unlock();
}

static void okvm_resampler_detach(struct okvm_irqfd *irqfd)
{
	struct okvm_eventfds *efd = irqfd->vm->eventfds;
	struct okvm_resampler *r = irqfd->resampler;

	/*
	 * The ack notifier may be walking the list this irqfd was on: the
	 * irqfd and the resampler are freed after a grace period.
	 */
	mutex_lock(&efd->resampler_lock);
	list_del_rcu(&irqfd->resampler_link);
	if (list_empty(&r->irqfds)) {
		list_del(&r->link);
		okvm_unregister_irq_ack_notifier(r->vm, &r->notifier);
		okvm_set_irq(r->vm, OKVM_IRQ_SOURCE_RESAMPLE, r->notifier.gsi, 0);
		kfree_rcu(r, rcu);
	}
	mutex_unlock(&efd->resampler_lock);
}

static void okvm_irqfd_free_rcu(struct rcu_head *rcu)
{
	struct okvm_irqfd *irqfd = container_of(rcu, struct okvm_irqfd, rcu);

	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

/* Take @irqfd off the VM's list and have it freed. Under irqfds_lock. */
static void okvm_irqfd_deactivate(struct okvm_irqfd *irqfd)
{
	list_del_init(&irqfd->link);
	queue_work(okvm_irqfd_wq, &irqfd->shutdown);
}

static void okvm_irqfd_shutdown(struct work_struct *work)
{
	struct okvm_irqfd *irqfd = container_of(work, struct okvm_irqfd,
						shutdown);
	u64 cnt;

	/*
	 * Unhook from the eventfd first (this takes its wait-queue lock, so
	 * no wake-up still runs for us), then wait for an injection the
	 * last wake-up queued.
	 */
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	flush_work(&irqfd->inject);
	if (irqfd->resampler)
		okvm_resampler_detach(irqfd);
	call_rcu(&irqfd->rcu, okvm_irqfd_free_rcu);
}

/*
 * The eventfd's wake-up, with its wait-queue lock held and interrupts
 * off. A signal consumes the count (so the eventfd is not left readable)
 * and injects: in place when the GSI routes to an MSI, which goes straight
 * to the local APICs, as KVM does; through the work item otherwise. A
 * close (EPOLLHUP) deactivates the irqfd unless a deassign got there
 * first.
 */
static int okvm_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			     int sync, void *key)
{
	struct okvm_irqfd *irqfd = container_of(wait, struct okvm_irqfd, wait);
	struct okvm_eventfds *efd = irqfd->vm->eventfds;
	__poll_t flags = key_to_poll(key);
	unsigned long iflags;
	struct kvm_msi msi;
	int ret = 0;
	u64 cnt;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		if (!irqfd->resampler &&
		    okvm_route_msi(irqfd->vm, irqfd->gsi, &msi))
			okvm_deliver_msi(irqfd->vm, &msi);
		else
			schedule_work(&irqfd->inject);
		ret = 1;
	}
	if (flags & EPOLLHUP) {
		spin_lock_irqsave(&efd->irqfds_lock, iflags);
		if (!list_empty(&irqfd->link))
			okvm_irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&efd->irqfds_lock, iflags);
	}
	return ret;
}

static void okvm_irqfd_queue_proc(struct file *file, wait_queue_head_t *wqh,
				  poll_table *pt)
{
	struct okvm_irqfd *irqfd = container_of(pt, struct okvm_irqfd, pt);

	irqfd->wqh = wqh;
	add_wait_queue(wqh, &irqfd->wait);
}

/* Put @irqfd with its resamplefd on the resampler of its GSI. */
static int okvm_resampler_attach(struct okvm_vm *vm, struct okvm_irqfd *irqfd)
{
	struct okvm_eventfds *efd = vm->eventfds;
	struct okvm_resampler *r;

	mutex_lock(&efd->resampler_lock);
	list_for_each_entry(r, &efd->resamplers, link)
		if (r->notifier.gsi == irqfd->gsi)
			goto found;
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		mutex_unlock(&efd->resampler_lock);
		return -ENOMEM;
	}
	r->vm = vm;
	INIT_LIST_HEAD(&r->irqfds);
	r->notifier.gsi = irqfd->gsi;
	r->notifier.acked = okvm_resampler_acked;
	list_add(&r->link, &efd->resamplers);
	okvm_register_irq_ack_notifier(vm, &r->notifier);
found:
	irqfd->resampler = r;
	list_add_rcu(&irqfd->resampler_link, &r->irqfds);
	mutex_unlock(&efd->resampler_lock);
	return 0;
}

static int okvm_irqfd_assign(struct okvm_vm *vm, const struct kvm_irqfd *args)
{
	struct okvm_eventfds *efd = vm->eventfds;
	struct okvm_irqfd *irqfd, *other;
	struct file *file;
	__poll_t events;
	int ret;

	/*
	 * KVM wants its in-kernel irqchip for an irqfd (and the full one,
	 * not the split one, for resampling), and says so before it looks
	 * at the fds.
	 */
	if (!READ_ONCE(vm->irqchip_in_kernel))
		return -EINVAL;

	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return -ENOMEM;
	irqfd->vm = vm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->link);
	INIT_LIST_HEAD(&irqfd->resampler_link);
	INIT_WORK(&irqfd->inject, okvm_irqfd_inject);
	INIT_WORK(&irqfd->shutdown, okvm_irqfd_shutdown);

	file = fget(args->fd);
	if (!file) {
		ret = -EBADF;
		goto free;
	}
	irqfd->eventfd = eventfd_ctx_fileget(file);
	if (IS_ERR(irqfd->eventfd)) {
		ret = PTR_ERR(irqfd->eventfd);
		irqfd->eventfd = NULL;
		goto put_file;
	}
	if (args->flags & KVM_IRQFD_FLAG_RESAMPLE) {
		irqfd->resamplefd = eventfd_ctx_fdget(args->resamplefd);
		if (IS_ERR(irqfd->resamplefd)) {
			ret = PTR_ERR(irqfd->resamplefd);
			irqfd->resamplefd = NULL;
			goto put_eventfd;
		}
		ret = okvm_resampler_attach(vm, irqfd);
		if (ret)
			goto put_resamplefd;
	}

	/*
	 * Hook into the eventfd's wait queue before the irqfd is listed, so
	 * that a deassign or VM release, which find it on the list, always
	 * find it hooked. Until it is listed a wake-up may inject but not
	 * tear it down, and no EPOLLHUP can come: the file reference taken
	 * above keeps the eventfd open until the end.
	 */
	init_waitqueue_func_entry(&irqfd->wait, okvm_irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, okvm_irqfd_queue_proc);
	events = vfs_poll(file, &irqfd->pt);

	spin_lock_irq(&efd->irqfds_lock);
	list_for_each_entry(other, &efd->irqfds, link) {
		if (other->eventfd == irqfd->eventfd) {
			/* One eventfd drives one GSI: KVM says -EBUSY. */
			spin_unlock_irq(&efd->irqfds_lock);
			ret = -EBUSY;
			goto unhook;
		}
	}
	list_add_tail(&irqfd->link, &efd->irqfds);
	spin_unlock_irq(&efd->irqfds_lock);

	/* A signal that came before is injected now, as if it came after. */
	if (events & EPOLLIN)
		schedule_work(&irqfd->inject);
	fput(file);
	return 0;

unhook:
	/* Not eventfd_ctx_remove_wait_queue(): the other irqfd owns the count. */
	remove_wait_queue(irqfd->wqh, &irqfd->wait);
	cancel_work_sync(&irqfd->inject);
	if (irqfd->resampler) {
		okvm_resampler_detach(irqfd);
		synchronize_rcu();
	}
put_resamplefd:
	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
put_eventfd:
	eventfd_ctx_put(irqfd->eventfd);
put_file:
	fput(file);
free:
	kfree(irqfd);
	return ret;
}

/*
 * KVM_IRQFD_FLAG_DEASSIGN: the irqfds of that eventfd and GSI go; 0 even
 * when there were none, as in KVM. When it returns, no injection from
 * them is left.
 */
static int okvm_irqfd_deassign(struct okvm_vm *vm, const struct kvm_irqfd *args)
{
	struct okvm_eventfds *efd = vm->eventfds;
	struct okvm_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	spin_lock_irq(&efd->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &efd->irqfds, link)
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
			okvm_irqfd_deactivate(irqfd);
	spin_unlock_irq(&efd->irqfds_lock);
	eventfd_ctx_put(eventfd);
	flush_workqueue(okvm_irqfd_wq);
	return 0;
}

static int okvm_irqfd(struct okvm_vm *vm, const struct kvm_irqfd *args)
{
	if (args->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	if (args->flags & KVM_IRQFD_FLAG_DEASSIGN)
		return okvm_irqfd_deassign(vm, args);
	return okvm_irqfd_assign(vm, args);
}

/* ---- the VM ioctls, and a VM's life ---- */

/* The eventfd and coalesced-MMIO ioctls of a VM fd; -ENOTTY for others. */
long okvm_vm_ioctl_eventfd(struct okvm_vm *vm, unsigned int ioctl,
			   void __user *argp)
{
	switch (ioctl) {
	case KVM_IOEVENTFD: {
		struct kvm_ioeventfd args;

		if (copy_from_user(&args, argp, sizeof(args)))
			return -EFAULT;
		if (args.flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
			return okvm_ioeventfd_deassign(vm, &args);
		return okvm_ioeventfd_assign(vm, &args);
	}
	case KVM_IRQFD: {
		struct kvm_irqfd args;

		if (copy_from_user(&args, argp, sizeof(args)))
			return -EFAULT;
		return okvm_irqfd(vm, &args);
	}
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO: {
		struct kvm_coalesced_mmio_zone zone;

		if (copy_from_user(&zone, argp, sizeof(zone)))
			return -EFAULT;
		if (ioctl == KVM_REGISTER_COALESCED_MMIO)
			return okvm_coalesced_register(vm, &zone);
		return okvm_coalesced_unregister(vm, &zone);
	}
	default:
		return -ENOTTY;
	}
}

int okvm_eventfd_init(struct okvm_vm *vm)
{
	struct okvm_eventfds *efd = kzalloc(sizeof(*efd), GFP_KERNEL_ACCOUNT);

	if (!efd)
		return -ENOMEM;
	efd->ring = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!efd->ring) {
		kfree(efd);
		return -ENOMEM;
	}
	mutex_init(&efd->lock);
	INIT_LIST_HEAD(&efd->ioeventfds);
	INIT_LIST_HEAD(&efd->zones);
	spin_lock_init(&efd->ring_lock);
	spin_lock_init(&efd->irqfds_lock);
	INIT_LIST_HEAD(&efd->irqfds);
	mutex_init(&efd->resampler_lock);
	INIT_LIST_HEAD(&efd->resamplers);
	vm->eventfds = efd;
	return 0;
}

/*
 * The VM's last reference is gone: no vCPU runs and no ioctl is in
 * flight, but an eventfd may still wake its irqfd. Every irqfd is
 * deactivated and the shutdown queue flushed before anything else of the
 * VM is freed.
 */
void okvm_eventfd_free(struct okvm_vm *vm)
{
	struct okvm_eventfds *efd = vm->eventfds;
	struct okvm_irqfd *irqfd, *itmp;
	struct okvm_ioeventfd *p, *ptmp;
	struct okvm_coalesced_zone *z, *ztmp;

	if (!efd)
		return;
	spin_lock_irq(&efd->irqfds_lock);
	list_for_each_entry_safe(irqfd, itmp, &efd->irqfds, link)
		okvm_irqfd_deactivate(irqfd);
	spin_unlock_irq(&efd->irqfds_lock);
	flush_workqueue(okvm_irqfd_wq);

	/* Nothing reads these lists any more: no vCPU is left running. */
	list_for_each_entry_safe(p, ptmp, &efd->ioeventfds, link) {
		eventfd_ctx_put(p->eventfd);
		kfree(p);
	}
	list_for_each_entry_safe(z, ztmp, &efd->zones, link)
		kfree(z);
	free_page((unsigned long)efd->ring);
	kfree(efd);
	vm->eventfds = NULL;
}

int __init okvm_eventfd_module_init(void)
{
	okvm_irqfd_wq = alloc_workqueue("okvm-irqfd", 0, 0);
	return okvm_irqfd_wq ? 0 : -ENOMEM;
}

void okvm_eventfd_module_exit(void)
{
	/* Every VM is gone; wait for the irqfds' RCU callbacks too. */
	rcu_barrier();
	destroy_workqueue(okvm_irqfd_wq);
}
