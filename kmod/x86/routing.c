// SPDX-License-Identifier: GPL-2.0-only
/*
 * routing.c - where a GSI goes: the routing table of KVM_SET_GSI_ROUTING
 * (pins of the PIC pair and of the IOAPIC, or an MSI), the MSI message
 * format, and the ack notifiers that tell a GSI's source its interrupt
 * was acknowledged (irq.h).
 */
#include <linux/kvm.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "irq.h"
#include "x86.h"

#define OKVM_NR_IRQCHIPS	3	/* PIC master, PIC slave, IOAPIC */
#define OKVM_IRQCHIP_PINS	KVM_IOAPIC_NUM_PINS

/* At most one route per irqchip, or one MSI, per GSI. */
#define OKVM_MAX_ROUTES_PER_GSI	OKVM_NR_IRQCHIPS

/* One entry of a table; @pin of the slave PIC counts from 8, as in KVM. */
struct okvm_irq_route {
	struct hlist_node link;
	u32 gsi;
	u32 type;		/* KVM_IRQ_ROUTING_IRQCHIP or _MSI */
	union {
		struct {
			u32 irqchip;
			u32 pin;
		} irqchip;
		struct kvm_msi msi;
	};
};

/*
 * struct okvm_irq_routing - one routing table, immutable once published
 * in vm->irq_routing (read under RCU; replaced under vm->irq_lock, the
 * old one freed after a grace period).
 *
 * @chip maps each irqchip pin back to its GSI (-1: none), for the ack
 * notifiers. @map[gsi] lists the routes of each GSI below @nr_gsis.
 */
struct okvm_irq_routing {
	int chip[OKVM_NR_IRQCHIPS][OKVM_IRQCHIP_PINS];
	struct okvm_irq_route *routes;
	u32 nr_gsis;
	struct hlist_head map[];
};

/* The default table KVM_CREATE_IRQCHIP installs, as KVM's. */
static int okvm_default_routes(struct kvm_irq_routing_entry *ue)
{
	unsigned int gsi, n = 0;

	for (gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		ue[n++] = (struct kvm_irq_routing_entry) {
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { KVM_IRQCHIP_IOAPIC, gsi },
		};
		if (gsi >= 16)
			continue;
		ue[n++] = (struct kvm_irq_routing_entry) {
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
					       KVM_IRQCHIP_PIC_SLAVE, gsi % 8 },
		};
	}
	return n;
}

/*
 * With KVM_CAP_X2APIC_API's 32-bit IDs, address_hi bits 7:0 must be 0:
 * KVM refuses such a route when it is set and when it fires.
 */
static bool okvm_msi_invalid(struct okvm_vm *vm, const struct kvm_msi *msi)
{
	return READ_ONCE(vm->x2apic_format) && (msi->address_hi & 0xff);
}

/* Check one entry of the ioctl and fill @e, as KVM's checks go. */
static int okvm_route_setup(struct okvm_vm *vm, struct okvm_irq_routing *rt,
			    struct okvm_irq_route *e,
			    const struct kvm_irq_routing_entry *ue)
{
	u32 gsi = array_index_nospec(ue->gsi, OKVM_MAX_IRQ_ROUTES);
	struct okvm_irq_route *other;
	u32 chip, pin;

	if (ue->type == KVM_IRQ_ROUTING_MSI ?
	    (ue->flags & ~KVM_MSI_VALID_DEVID) : ue->flags)
		return -EINVAL;
	/*
	 * A GSI may go to each irqchip once; an MSI (or any non-irqchip
	 * entry) must be its only route.
	 */
	hlist_for_each_entry(other, &rt->map[gsi], link)
		if (other->type != KVM_IRQ_ROUTING_IRQCHIP ||
		    ue->type != KVM_IRQ_ROUTING_IRQCHIP ||
		    other->irqchip.irqchip == ue->u.irqchip.irqchip)
			return -EINVAL;

	e->gsi = gsi;
	e->type = ue->type;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		chip = ue->u.irqchip.irqchip;
		pin = ue->u.irqchip.pin;
		switch (chip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			if (pin >= 8)
				return -EINVAL;
			if (chip == KVM_IRQCHIP_PIC_SLAVE)
				pin += 8;
			break;
		case KVM_IRQCHIP_IOAPIC:
			if (pin >= KVM_IOAPIC_NUM_PINS)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
		e->irqchip.irqchip = chip;
		e->irqchip.pin = pin;
		rt->chip[chip][pin] = gsi;
		break;
	case KVM_IRQ_ROUTING_MSI:
		e->msi = (struct kvm_msi) {
			.address_lo = ue->u.msi.address_lo,
			.address_hi = ue->u.msi.address_hi,
			.data = ue->u.msi.data,
			.flags = ue->flags,
			.devid = ue->u.msi.devid,
		};
		if (okvm_msi_invalid(vm, &e->msi))
			return -EINVAL;
		break;
	default:
		/* Hyper-V SynIC, Xen event channels, ...: not in okvm. */
		return -EINVAL;
	}
	hlist_add_head(&e->link, &rt->map[gsi]);
	return 0;
}

static void okvm_routing_free_table(struct okvm_irq_routing *rt)
{
	if (!rt)
		return;
	kvfree(rt->routes);
	kvfree(rt);
}

/* Build a table of @nr entries and publish it in place of the old one. */
static int okvm_set_routing(struct okvm_vm *vm,
			    const struct kvm_irq_routing_entry *ue, u32 nr)
{
	struct okvm_irq_routing *rt, *old;
	u32 i, nr_gsis = 0;
	int ret;

	for (i = 0; i < nr; i++) {
		if (ue[i].gsi >= OKVM_MAX_IRQ_ROUTES)
			return -EINVAL;
		nr_gsis = max(nr_gsis, ue[i].gsi);
	}
	nr_gsis++;

	rt = kvzalloc(struct_size(rt, map, nr_gsis), GFP_KERNEL_ACCOUNT);
	if (!rt)
		return -ENOMEM;
	rt->nr_gsis = nr_gsis;
	memset(rt->chip, 0xff, sizeof(rt->chip));	/* all -1 */
	if (nr) {
		rt->routes = kvcalloc(nr, sizeof(*rt->routes),
				      GFP_KERNEL_ACCOUNT);
		if (!rt->routes) {
			okvm_routing_free_table(rt);
			return -ENOMEM;
		}
	}
	for (i = 0; i < nr; i++) {
		ret = okvm_route_setup(vm, rt, &rt->routes[i], &ue[i]);
		if (ret) {
			okvm_routing_free_table(rt);
			return ret;
		}
	}

	mutex_lock(&vm->irq_lock);
	old = rcu_dereference_protected(vm->irq_routing,
					lockdep_is_held(&vm->irq_lock));
	rcu_assign_pointer(vm->irq_routing, rt);
	mutex_unlock(&vm->irq_lock);
	/* VMMs reroute MSIs often; KVM waits the same expedited way. */
	synchronize_rcu_expedited();
	okvm_routing_free_table(old);
	return 0;
}

int okvm_irq_routing_set_default(struct okvm_vm *vm)
{
	struct kvm_irq_routing_entry *ue;
	int n, ret;

	ue = kcalloc(KVM_IOAPIC_NUM_PINS + 16, sizeof(*ue), GFP_KERNEL);
	if (!ue)
		return -ENOMEM;
	n = okvm_default_routes(ue);
	ret = okvm_set_routing(vm, ue, n);
	kfree(ue);
	return ret;
}

/* KVM_SET_GSI_ROUTING, with KVM's checks in KVM's order. */
int okvm_irq_routing_ioctl(struct okvm_vm *vm, void __user *argp)
{
	struct kvm_irq_routing __user *urouting = argp;
	struct kvm_irq_routing_entry *entries = NULL;
	struct kvm_irq_routing routing;
	int ret;

	if (copy_from_user(&routing, argp, sizeof(routing)))
		return -EFAULT;
	if (!READ_ONCE(vm->irqchip_in_kernel) ||
	    routing.nr > OKVM_MAX_IRQ_ROUTES || routing.flags)
		return -EINVAL;
	if (routing.nr) {
		entries = vmemdup_user(urouting->entries,
				       array_size(sizeof(*entries),
						  routing.nr));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}
	ret = okvm_set_routing(vm, entries, routing.nr);
	kvfree(entries);
	return ret;
}

/*
 * An MSI as an APIC message (SDM Vol. 3 10.11.1, 10.11.2): destination in
 * address bits 19:12, logical in bit 2; vector, delivery mode and trigger
 * in the data. The upper 24 bits of a 32-bit x2APIC destination ride in
 * address_hi bits 31:8 only when the VMM opted in with KVM_CAP_X2APIC_API;
 * otherwise address_hi is ignored, as in KVM.
 */
static void okvm_msi_to_irq(struct okvm_vm *vm, const struct kvm_msi *msi,
			    struct okvm_apic_irq *irq)
{
	*irq = (struct okvm_apic_irq) {
		.vector = msi->data & 0xff,
		.delivery_mode = (msi->data >> 8) & 7,
		.shorthand = OKVM_APIC_DEST_NONE,
		.dest_logical = !!(msi->address_lo & BIT(2)),
		.level_trigger = !!(msi->data & BIT(15)),
		.assert = true,
		.dest = (msi->address_lo >> 12) & 0xff,
	};
	if (READ_ONCE(vm->x2apic_format))
		irq->dest |= msi->address_hi & 0xffffff00;
}

int okvm_deliver_msi(struct okvm_vm *vm, const struct kvm_msi *msi)
{
	struct okvm_apic_irq irq;

	if (okvm_msi_invalid(vm, msi))
		return -EINVAL;
	okvm_msi_to_irq(vm, msi, &irq);
	return okvm_apic_deliver(vm, NULL, &irq);
}

/*
 * An irqfd's wake-up delivers an MSI in place, without a work item, when
 * its GSI routes to an MSI and nothing else (eventfd.c). rcu_read_lock()
 * nests in any context, hard interrupts included.
 */
bool okvm_route_msi(struct okvm_vm *vm, u32 gsi, struct kvm_msi *msi)
{
	const struct okvm_irq_route *e;
	struct okvm_irq_routing *rt;
	bool found = false;

	rcu_read_lock();
	rt = rcu_dereference(vm->irq_routing);
	if (rt && gsi < rt->nr_gsis) {
		gsi = array_index_nospec(gsi, rt->nr_gsis);
		hlist_for_each_entry_rcu(e, &rt->map[gsi], link) {
			if (e->type != KVM_IRQ_ROUTING_MSI) {
				found = false;
				break;
			}
			*msi = e->msi;
			found = true;
		}
	}
	rcu_read_unlock();
	return found;
}

/* Pass @level to one route of a GSI. */
static int okvm_route_set(struct okvm_vm *vm, const struct okvm_irq_route *e,
			  int source_id, int level)
{
	if (e->type == KVM_IRQ_ROUTING_MSI)
		return level ? okvm_deliver_msi(vm, &e->msi) : -1;
	if (e->irqchip.irqchip == KVM_IRQCHIP_IOAPIC)
		return okvm_ioapic_set_irq(vm, e->irqchip.pin, source_id,
					   level);
	return okvm_pic_set_irq(vm, e->irqchip.pin, source_id, level);
}

int okvm_set_irq(struct okvm_vm *vm, int source_id, u32 gsi, int level)
{
	struct okvm_irq_route routes[OKVM_MAX_ROUTES_PER_GSI];
	const struct okvm_irq_route *e;
	struct okvm_irq_routing *rt;
	unsigned int n = 0;
	int ret = -1, r;

	rcu_read_lock();
	rt = rcu_dereference(vm->irq_routing);
	if (rt && gsi < rt->nr_gsis) {
		gsi = array_index_nospec(gsi, rt->nr_gsis);
		hlist_for_each_entry_rcu(e, &rt->map[gsi], link)
			if (n < ARRAY_SIZE(routes))
				routes[n++] = *e;
	}
	rcu_read_unlock();

	/* The sum of what the routes delivered, -1 if every one refused. */
	while (n--) {
		r = okvm_route_set(vm, &routes[n], source_id, level);
		if (r >= 0)
			ret = r + max(ret, 0);
	}
	return ret;
}

void okvm_register_irq_ack_notifier(struct okvm_vm *vm,
				    struct okvm_irq_ack_notifier *ian)
{
	spin_lock(&vm->irq_ack_lock);
	hlist_add_head_rcu(&ian->link, &vm->irq_ack_notifiers);
	spin_unlock(&vm->irq_ack_lock);
}

/* Sleeps: a notifier may be running until the grace period ends. */
void okvm_unregister_irq_ack_notifier(struct okvm_vm *vm,
				      struct okvm_irq_ack_notifier *ian)
{
	spin_lock(&vm->irq_ack_lock);
	hlist_del_init_rcu(&ian->link);
	spin_unlock(&vm->irq_ack_lock);
	synchronize_rcu();
}

void okvm_notify_acked(struct okvm_vm *vm, u32 gsi)
{
	struct okvm_irq_ack_notifier *ian;

	rcu_read_lock();
	hlist_for_each_entry_rcu(ian, &vm->irq_ack_notifiers, link)
		if (ian->gsi == gsi)
			ian->acked(ian);
	rcu_read_unlock();
}

/* The GSI an irqchip pin is routed from, or -1. */
static int okvm_pin_gsi(struct okvm_vm *vm, unsigned int irqchip,
			unsigned int pin)
{
	struct okvm_irq_routing *rt;
	int gsi = -1;

	if (irqchip >= OKVM_NR_IRQCHIPS || pin >= OKVM_IRQCHIP_PINS)
		return -1;
	rcu_read_lock();
	rt = rcu_dereference(vm->irq_routing);
	if (rt)
		gsi = rt->chip[irqchip][pin];
	rcu_read_unlock();
	return gsi;
}

void okvm_notify_acked_pin(struct okvm_vm *vm, unsigned int irqchip,
			   unsigned int pin)
{
	int gsi = okvm_pin_gsi(vm, irqchip, pin);

	if (gsi >= 0)
		okvm_notify_acked(vm, gsi);
}

void okvm_notify_unmasked_pin(struct okvm_vm *vm, unsigned int irqchip,
			      unsigned int pin)
{
	struct okvm_irq_ack_notifier *ian;
	int gsi = okvm_pin_gsi(vm, irqchip, pin);

	if (gsi < 0)
		return;
	rcu_read_lock();
	hlist_for_each_entry_rcu(ian, &vm->irq_ack_notifiers, link)
		if (ian->gsi == gsi && ian->unmasked)
			ian->unmasked(ian);
	rcu_read_unlock();
}

/* At KVM_CREATE_VM: no table (no irqchip) and no notifiers. */
void okvm_irq_routing_vm_init(struct okvm_vm *vm)
{
	mutex_init(&vm->irq_lock);
	spin_lock_init(&vm->irq_ack_lock);
	INIT_HLIST_HEAD(&vm->irq_ack_notifiers);
	RCU_INIT_POINTER(vm->irq_routing, NULL);
}

/* With the VM: no reader is left. */
void okvm_irq_routing_free(struct okvm_vm *vm)
{
	okvm_routing_free_table(rcu_dereference_protected(vm->irq_routing, 1));
	RCU_INIT_POINTER(vm->irq_routing, NULL);
}
