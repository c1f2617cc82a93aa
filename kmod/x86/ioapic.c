// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioapic.c - the I/O APIC of the 82093AA data sheet (Intel 290566), as
 * KVM models it: 24 pins, version 0x11, registers reached through IOREGSEL
 * (offset 0x00) and IOWIN (offset 0x10) of a page at 0xfec00000. A pin's
 * redirection entry turns it into an APIC message (irq.h, struct
 * okvm_apic_irq); a level-triggered pin then waits, with Remote IRR set,
 * for the EOI of its vector on a local APIC (okvm_ioapic_eoi()).
 */
#include <linux/bitfield.h>
#include <linux/kvm.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "irq.h"
#include "x86.h"

#define OKVM_IOAPIC_PINS	KVM_IOAPIC_NUM_PINS
#define OKVM_IOAPIC_BASE	0xfec00000ULL
#define OKVM_IOAPIC_SIZE	0x100
#define OKVM_IOAPIC_VERSION	0x11

/* Direct registers (offsets in the page) and indirect ones (IOREGSEL). */
#define OKVM_IOREGSEL		0x00
#define OKVM_IOWIN		0x10
#define OKVM_IOAPICID		0x00
#define OKVM_IOAPICVER		0x01
#define OKVM_IOAPICARB		0x02
#define OKVM_IOREDTBL		0x10

/* Redirection entry fields (82093AA 3.2.4). */
#define OKVM_RTE_VECTOR		GENMASK_ULL(7, 0)
#define OKVM_RTE_DELMODE	GENMASK_ULL(10, 8)
#define OKVM_RTE_DESTMODE	BIT_ULL(11)
#define OKVM_RTE_DELIVS		BIT_ULL(12)
#define OKVM_RTE_REMOTE_IRR	BIT_ULL(14)
#define OKVM_RTE_LEVEL		BIT_ULL(15)
#define OKVM_RTE_MASK		BIT_ULL(16)
#define OKVM_RTE_DEST		GENMASK_ULL(63, 56)

/*
 * EOIs in a row that find their level pin still asserted and deliver it
 * again at once. A guest whose device never lowers its line would
 * otherwise keep a vCPU in an EOI-interrupt loop; after this many, KVM
 * (and okvm) wait 10 ms before the next delivery, as a real bus would
 * take time (KVM's IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT).
 */
#define OKVM_IOAPIC_SUCCESSIVE_IRQ_MAX	10000

/*
 * struct okvm_ioapic - a VM's I/O APIC.
 *
 * @s is the state in the layout KVM_GET/SET_IRQCHIP move. Its irr has a
 * bit per asserted pin; @irr_delivered marks edge pins whose request went
 * out (KVM_GET_IRQCHIP reports irr without them). @irq_states holds one
 * bit per irq source and pin: a pin is asserted while any source drives
 * it. @irq_eoi counts, per pin, the EOIs in a row that redelivered it.
 *
 * Locking: @lock guards everything but @vm and @eoi_inject. It is taken
 * with interrupts off (a GSI may be raised from an irqfd wake-up or a
 * timer) and is held while a message is handed to okvm_apic_deliver(), so
 * the LAPIC's locks nest inside it: the LAPIC must not call
 * okvm_ioapic_eoi() with its own lock held. Ack notifiers run with @lock
 * dropped, as they may raise a GSI again.
 */
struct okvm_ioapic {
	spinlock_t lock;	/* guards the state below */
	struct kvm_ioapic_state s;
	u32 irr_delivered;
	unsigned long irq_states[OKVM_IOAPIC_PINS];
	u32 irq_eoi[OKVM_IOAPIC_PINS];
	struct delayed_work eoi_inject;
	struct okvm_vm *vm;
};

/*
 * Send pin @pin's message if its entry lets it go. Returns as
 * KVM_IRQ_LINE_STATUS counts: -1 masked (or still waiting for an EOI),
 * else what okvm_apic_deliver() says.
 */
static int okvm_ioapic_service(struct okvm_ioapic *ioapic, unsigned int pin)
{
	u64 e = ioapic->s.redirtbl[pin].bits;
	struct okvm_apic_irq irq = {
		.vector = FIELD_GET(OKVM_RTE_VECTOR, e),
		.delivery_mode = FIELD_GET(OKVM_RTE_DELMODE, e),
		.shorthand = OKVM_APIC_DEST_NONE,
		.dest_logical = !!(e & OKVM_RTE_DESTMODE),
		.level_trigger = !!(e & OKVM_RTE_LEVEL),
		.assert = true,
		.dest = FIELD_GET(OKVM_RTE_DEST, e),
	};
	int ret;

	if ((e & OKVM_RTE_MASK) ||
	    ((e & OKVM_RTE_LEVEL) && (e & OKVM_RTE_REMOTE_IRR)))
		return -1;
	if (!irq.level_trigger)
		ioapic->irr_delivered |= BIT(pin);
	ret = okvm_apic_deliver(ioapic->vm, NULL, &irq);
	/*
	 * As KVM: a level pin waits for an EOI even when no APIC was named
	 * (ret -1), so a guest that points it nowhere is not flooded.
	 */
	if (ret && irq.level_trigger)
		ioapic->s.redirtbl[pin].bits |= OKVM_RTE_REMOTE_IRR;
	return ret;
}

/* Pin @pin's input is now @level. */
static int okvm_ioapic_assert(struct okvm_ioapic *ioapic, unsigned int pin,
			      bool level)
{
	u32 mask = BIT(pin), old = ioapic->s.irr;

	if (!level) {
		ioapic->s.irr &= ~mask;
		return 1;
	}
	ioapic->s.irr |= mask;
	if (!(ioapic->s.redirtbl[pin].bits & OKVM_RTE_LEVEL)) {
		ioapic->irr_delivered &= ~mask;
		/* An edge needs a low first: this one is coalesced. */
		if (old == ioapic->s.irr)
			return 0;
	}
	return okvm_ioapic_service(ioapic, pin);
}

int okvm_ioapic_set_irq(struct okvm_vm *vm, unsigned int pin, int source_id,
			int level)
{
	struct okvm_ioapic *ioapic = vm->ioapic;
	unsigned long flags;
	int ret;

	if (!ioapic || pin >= OKVM_IOAPIC_PINS)
		return -1;
	spin_lock_irqsave(&ioapic->lock, flags);
	if (level)
		__set_bit(source_id, &ioapic->irq_states[pin]);
	else
		__clear_bit(source_id, &ioapic->irq_states[pin]);
	ret = okvm_ioapic_assert(ioapic, pin, !!ioapic->irq_states[pin]);
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return ret;
}

static u32 okvm_ioapic_read_indirect(struct okvm_ioapic *ioapic)
{
	u32 sel = ioapic->s.ioregsel, index;
	u64 rte = ~0ULL;

	switch (sel) {
	case OKVM_IOAPICVER:
		return ((OKVM_IOAPIC_PINS - 1) << 16) | OKVM_IOAPIC_VERSION;
	case OKVM_IOAPICID:
	case OKVM_IOAPICARB:
		return (ioapic->s.id & 0xf) << 24;
	default:
		/* Registers 3-0xf and past the table read all ones, as KVM. */
		index = (sel - OKVM_IOREDTBL) >> 1;
		if (index < OKVM_IOAPIC_PINS) {
			index = array_index_nospec(index, OKVM_IOAPIC_PINS);
			rte = ioapic->s.redirtbl[index].bits;
		}
		return (sel & 1) ? rte >> 32 : (u32)rte;
	}
}

static void okvm_ioapic_write_indirect(struct okvm_ioapic *ioapic, u32 val)
{
	u32 sel = ioapic->s.ioregsel, index;
	u64 *rte, keep, was_masked;

	switch (sel) {
	case OKVM_IOAPICVER:
	case OKVM_IOAPICARB:
		return;		/* read-only */
	case OKVM_IOAPICID:
		ioapic->s.id = (val >> 24) & 0xf;
		return;
	}
	index = (sel - OKVM_IOREDTBL) >> 1;
	if (index >= OKVM_IOAPIC_PINS)
		return;
	index = array_index_nospec(index, OKVM_IOAPIC_PINS);
	rte = &ioapic->s.redirtbl[index].bits;
	was_masked = *rte & OKVM_RTE_MASK;
	/* Delivery status and Remote IRR are read-only. */
	keep = *rte & (OKVM_RTE_DELIVS | OKVM_RTE_REMOTE_IRR);
	if (sel & 1)
		*rte = (*rte & 0xffffffffULL) | ((u64)val << 32);
	else
		*rte = (*rte & ~0xffffffffULL) | val;
	*rte = (*rte & ~(OKVM_RTE_DELIVS | OKVM_RTE_REMOTE_IRR)) | keep;
	/*
	 * Linux and Xen reprogram a pin as edge to clear a stuck Remote IRR
	 * on IOAPICs without an EOI register; KVM clears it then, and so
	 * does okvm.
	 */
	if (!(*rte & OKVM_RTE_LEVEL))
		*rte &= ~OKVM_RTE_REMOTE_IRR;
	if (was_masked && !(*rte & OKVM_RTE_MASK))
		okvm_notify_unmasked_pin(ioapic->vm, KVM_IRQCHIP_IOAPIC, index);
	/* A level pin still asserted that the guest unmasks is delivered. */
	if ((*rte & OKVM_RTE_LEVEL) && (ioapic->s.irr & BIT(index)) &&
	    !(*rte & (OKVM_RTE_MASK | OKVM_RTE_REMOTE_IRR)))
		okvm_ioapic_service(ioapic, index);
}

/*
 * An access of @len bytes at @gpa: the IOAPIC's when it lies inside the
 * page KVM registers at 0xfec00000 and inside base_address's page (which
 * KVM_SET_IRQCHIP may move away: then the access goes to user space, as
 * in KVM).
 */
int okvm_ioapic_mmio(struct okvm_vm *vm, u64 gpa, unsigned int len,
		     bool write, void *data)
{
	struct okvm_ioapic *ioapic = vm->ioapic;
	unsigned long flags;
	u32 val = 0;
	u64 result;

	if (!ioapic || gpa < OKVM_IOAPIC_BASE ||
	    gpa + len > OKVM_IOAPIC_BASE + OKVM_IOAPIC_SIZE)
		return -ENOENT;

	spin_lock_irqsave(&ioapic->lock, flags);
	if (gpa < ioapic->s.base_address ||
	    gpa >= ioapic->s.base_address + OKVM_IOAPIC_SIZE) {
		spin_unlock_irqrestore(&ioapic->lock, flags);
		return -ENOENT;
	}
	if (!write) {
		switch (gpa & 0xff) {
		case OKVM_IOREGSEL:
			result = ioapic->s.ioregsel;
			break;
		case OKVM_IOWIN:
			result = okvm_ioapic_read_indirect(ioapic);
			break;
		default:
			result = 0;
			break;
		}
		spin_unlock_irqrestore(&ioapic->lock, flags);
		memset(data, 0, len);
		if (len == 1 || len == 2 || len == 4 || len == 8)
			memcpy(data, &result, len);
		return 0;
	}

	/* Writes of 8 bytes store the low 4, as in KVM; odd sizes nothing. */
	if (len == 1 || len == 2 || len == 4 || len == 8) {
		memcpy(&val, data, min(len, 4U));
		switch (gpa & 0xff) {
		case OKVM_IOREGSEL:
			ioapic->s.ioregsel = val & 0xff;
			break;
		case OKVM_IOWIN:
			okvm_ioapic_write_indirect(ioapic, val);
			break;
		}
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return 0;
}

/*
 * A local APIC EOIed level-triggered @vector: every pin that sends it is
 * acknowledged (ack notifiers first, so that a resampling irqfd lowers
 * its line before the pin is looked at), its Remote IRR cleared, and a
 * pin still asserted is delivered again.
 */
void okvm_ioapic_eoi(struct okvm_vm *vm, u8 vector)
{
	struct okvm_ioapic *ioapic = vm->ioapic;
	unsigned long flags;
	unsigned int pin;
	u64 *rte;

	if (!ioapic)
		return;
	spin_lock_irqsave(&ioapic->lock, flags);
	for (pin = 0; pin < OKVM_IOAPIC_PINS; pin++) {
		rte = &ioapic->s.redirtbl[pin].bits;
		if (FIELD_GET(OKVM_RTE_VECTOR, *rte) != vector)
			continue;

		spin_unlock_irqrestore(&ioapic->lock, flags);
		okvm_notify_acked_pin(vm, KVM_IRQCHIP_IOAPIC, pin);
		spin_lock_irqsave(&ioapic->lock, flags);

		if (!(*rte & OKVM_RTE_LEVEL))
			continue;
		*rte &= ~OKVM_RTE_REMOTE_IRR;
		if ((*rte & OKVM_RTE_MASK) || !(ioapic->s.irr & BIT(pin))) {
			ioapic->irq_eoi[pin] = 0;
			continue;
		}
		if (++ioapic->irq_eoi[pin] == OKVM_IOAPIC_SUCCESSIVE_IRQ_MAX) {
			ioapic->irq_eoi[pin] = 0;
			schedule_delayed_work(&ioapic->eoi_inject, HZ / 100);
		} else {
			okvm_ioapic_service(ioapic, pin);
		}
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

/* The delayed delivery of level pins after an EOI storm. */
static void okvm_ioapic_eoi_inject(struct work_struct *work)
{
	struct okvm_ioapic *ioapic = container_of(to_delayed_work(work),
						  struct okvm_ioapic,
						  eoi_inject);
	unsigned long flags;
	unsigned int pin;

	spin_lock_irqsave(&ioapic->lock, flags);
	for (pin = 0; pin < OKVM_IOAPIC_PINS; pin++) {
		u64 e = ioapic->s.redirtbl[pin].bits;

		if ((e & OKVM_RTE_LEVEL) && !(e & OKVM_RTE_REMOTE_IRR) &&
		    (ioapic->s.irr & BIT(pin)))
			okvm_ioapic_service(ioapic, pin);
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

void okvm_ioapic_get_state(struct okvm_vm *vm, struct kvm_ioapic_state *state)
{
	struct okvm_ioapic *ioapic = vm->ioapic;
	unsigned long flags;

	spin_lock_irqsave(&ioapic->lock, flags);
	*state = ioapic->s;
	state->irr &= ~ioapic->irr_delivered;
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

/*
 * KVM_SET_IRQCHIP: KVM takes the state as given, then raises each pin
 * whose irr bit is set, as if its line had just gone high (the sources'
 * lines are not touched). Pins past 23 do not exist and are ignored.
 */
void okvm_ioapic_set_state(struct okvm_vm *vm,
			   const struct kvm_ioapic_state *state)
{
	struct okvm_ioapic *ioapic = vm->ioapic;
	unsigned long flags;
	unsigned int pin;

	spin_lock_irqsave(&ioapic->lock, flags);
	ioapic->s = *state;
	ioapic->s.irr = 0;
	ioapic->irr_delivered = 0;
	for (pin = 0; pin < OKVM_IOAPIC_PINS; pin++)
		if (state->irr & BIT(pin))
			okvm_ioapic_assert(ioapic, pin, true);
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

int okvm_ioapic_create(struct okvm_vm *vm)
{
	struct okvm_ioapic *ioapic = kzalloc(sizeof(*ioapic),
					     GFP_KERNEL_ACCOUNT);
	unsigned int pin;

	if (!ioapic)
		return -ENOMEM;
	spin_lock_init(&ioapic->lock);
	INIT_DELAYED_WORK(&ioapic->eoi_inject, okvm_ioapic_eoi_inject);
	ioapic->vm = vm;
	/* Reset (82093AA 3.0): every pin masked, ID 0. */
	ioapic->s.base_address = OKVM_IOAPIC_BASE;
	for (pin = 0; pin < OKVM_IOAPIC_PINS; pin++)
		ioapic->s.redirtbl[pin].bits = OKVM_RTE_MASK;
	vm->ioapic = ioapic;
	return 0;
}

void okvm_ioapic_free(struct okvm_vm *vm)
{
	struct okvm_ioapic *ioapic = vm->ioapic;

	if (!ioapic)
		return;
	cancel_delayed_work_sync(&ioapic->eoi_inject);
	kfree(ioapic);
	vm->ioapic = NULL;
}
