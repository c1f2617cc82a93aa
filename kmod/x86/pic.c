// SPDX-License-Identifier: GPL-2.0-only
/*
 * pic.c - the PC's pair of 8259A programmable interrupt controllers, as
 * KVM models them: a master at ports 0x20/0x21 whose input 2 is the
 * slave's output, a slave at 0xa0/0xa1, and the PIIX edge/level control
 * registers (ELCR) at 0x4d0/0x4d1.
 *
 * The programming model is the 8259A data sheet's (Intel 231468):
 * initialization command words ICW1-ICW4, operation command words OCW1
 * (the mask), OCW2 (EOIs and rotation) and OCW3 (register read select,
 * poll, special mask). The master's output is INTR, wired to LINT0 of
 * every local APIC (irq.h); a vCPU reads the vector with okvm_pic_ack(),
 * which stands for the two INTA cycles.
 */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "irq.h"
#include "x86.h"

#define OKVM_PIC_PINS	16

/*
 * struct okvm_pic - both 8259As of a VM.
 *
 * @chip[0] is the master, @chip[1] the slave, each in the layout of
 * struct kvm_pic_state, which is what KVM_GET/SET_IRQCHIP move.
 * @irq_states holds, for each of the 16 inputs, one bit per irq source
 * (OKVM_IRQ_SOURCE_*): an input is high while any source drives it.
 *
 * Locking: @lock guards everything below it. It is taken with interrupts
 * off, since a GSI may be raised from an irqfd wake-up or a timer. Ack
 * notifiers and vCPU kicks run after it is dropped (@acked, @wakeup say
 * what to do), so that a notifier may raise a line again.
 */
struct okvm_pic {
	spinlock_t lock;	/* guards the rest */
	struct kvm_pic_state chip[2];
	unsigned long irq_states[OKVM_PIC_PINS];
	bool output;		/* INTR */
	bool wakeup;		/* INTR rose: kick the vCPUs that take it */
	u16 acked;		/* inputs whose ISR bit was cleared */
	u16 unmasked;		/* inputs whose IMR bit was cleared */
	struct okvm_vm *vm;
};

static void okvm_pic_lock(struct okvm_pic *pic, unsigned long *flags)
	__acquires(&pic->lock)
{
	spin_lock_irqsave(&pic->lock, *flags);
}

static void okvm_pic_kick(struct okvm_vm *vm)
{
	/* Pairs with the release that publishes a new vCPU (vcpu.c). */
	unsigned int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		struct okvm_vcpu *vcpu = vm->vcpus[i];

		if (okvm_lapic_accepts_pic(vcpu))
			okvm_vcpu_kick(vcpu);
	}
}

/* Drop the lock, then tell whoever waits on what happened under it. */
static void okvm_pic_unlock(struct okvm_pic *pic, unsigned long flags)
	__releases(&pic->lock)
{
	bool wakeup = pic->wakeup;
	u16 acked = pic->acked, unmasked = pic->unmasked;
	unsigned int irq, chip;

	pic->wakeup = false;
	pic->acked = 0;
	pic->unmasked = 0;
	spin_unlock_irqrestore(&pic->lock, flags);

	for (irq = 0; irq < OKVM_PIC_PINS; irq++) {
		chip = irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		if (acked & BIT(irq))
			okvm_notify_acked_pin(pic->vm, chip, irq);
		if (unmasked & BIT(irq))
			okvm_notify_unmasked_pin(pic->vm, chip, irq);
	}
	if (wakeup)
		okvm_pic_kick(pic->vm);
}

static bool okvm_pic_is_slave(struct okvm_pic *pic, struct kvm_pic_state *s)
{
	return s == &pic->chip[1];
}

/*
 * Latch a change of input @irq (0-7) of one chip into its IRR. Returns
 * as KVM_IRQ_LINE_STATUS counts: -1 if the input is masked, 0 if a
 * request was already latched (coalesced), 1 otherwise.
 */
static int okvm_pic_latch(struct kvm_pic_state *s, unsigned int irq, int level)
{
	u8 mask = BIT(irq);
	int ret = 1;

	if (s->elcr & mask) {
		/* Level-triggered: IRR follows the input. */
		if (level) {
			ret = !(s->irr & mask);
			s->irr |= mask;
			s->last_irr |= mask;
		} else {
			s->irr &= ~mask;
			s->last_irr &= ~mask;
		}
	} else if (level) {
		/* Edge-triggered: only a rising edge requests. */
		if (!(s->last_irr & mask)) {
			ret = !(s->irr & mask);
			s->irr |= mask;
		}
		s->last_irr |= mask;
	} else {
		s->last_irr &= ~mask;
	}
	return (s->imr & mask) ? -1 : ret;
}

/*
 * The priority level (0 highest) of the highest-priority bit of @mask,
 * counting from the input after the last rotation; 8 for none.
 */
static unsigned int okvm_pic_priority(const struct kvm_pic_state *s, u8 mask)
{
	unsigned int prio = 0;

	if (!mask)
		return 8;
	while (!(mask & BIT((prio + s->priority_add) & 7)))
		prio++;
	return prio;
}

/* The input this chip would present now, or -1. */
static int okvm_pic_pending(struct okvm_pic *pic, struct kvm_pic_state *s)
{
	unsigned int prio, cur;
	u8 in_service = s->isr;

	prio = okvm_pic_priority(s, s->irr & ~s->imr);
	if (prio == 8)
		return -1;
	/*
	 * Special fully nested mode (ICW4 bit 4): the master lets the slave
	 * interrupt a slave request in service. Special mask mode (OCW3):
	 * a masked input in service inhibits nothing (8259A data sheet).
	 */
	if (s->special_fully_nested_mode && !okvm_pic_is_slave(pic, s))
		in_service &= ~BIT(2);
	if (s->special_mask)
		in_service &= ~s->imr;
	cur = okvm_pic_priority(s, in_service);
	if (prio < cur)
		return (prio + s->priority_add) & 7;
	return -1;
}

/* Recompute the cascade and INTR. */
static void okvm_pic_update(struct okvm_pic *pic)
{
	bool level;

	okvm_pic_latch(&pic->chip[0], 2,
		       okvm_pic_pending(pic, &pic->chip[1]) >= 0);
	level = okvm_pic_pending(pic, &pic->chip[0]) >= 0;
	if (level && !pic->output)
		pic->wakeup = true;
	pic->output = level;
}

static void okvm_pic_clear_isr(struct okvm_pic *pic, struct kvm_pic_state *s,
			       unsigned int irq)
{
	s->isr &= ~BIT(irq);
	pic->acked |= BIT(irq + (okvm_pic_is_slave(pic, s) ? 8 : 0));
}

/* The chip accepts input @irq: the first INTA cycle. */
static void okvm_pic_intack(struct okvm_pic *pic, struct kvm_pic_state *s,
			    unsigned int irq)
{
	s->isr |= BIT(irq);
	/* A level request stays in IRR while its input is high. */
	if (!(s->elcr & BIT(irq)))
		s->irr &= ~BIT(irq);
	if (s->auto_eoi) {
		if (s->rotate_on_auto_eoi)
			s->priority_add = (irq + 1) & 7;
		okvm_pic_clear_isr(pic, s, irq);
	}
}

bool okvm_pic_output(struct okvm_vm *vm)
{
	struct okvm_pic *pic = vm->pic;

	return pic && READ_ONCE(pic->output);
}

/*
 * INTA: the vector of the highest request, which goes in service; as on
 * the 8259A, IR7's vector (a spurious interrupt) when nothing is pending
 * any more.
 */
int okvm_pic_ack(struct okvm_vm *vm)
{
	struct okvm_pic *pic = vm->pic;
	unsigned long flags;
	int irq, irq2, vector;

	if (!pic)
		return -1;
	okvm_pic_lock(pic, &flags);
	irq = okvm_pic_pending(pic, &pic->chip[0]);
	if (irq >= 0) {
		okvm_pic_intack(pic, &pic->chip[0], irq);
		if (irq == 2) {
			irq2 = okvm_pic_pending(pic, &pic->chip[1]);
			if (irq2 >= 0)
				okvm_pic_intack(pic, &pic->chip[1], irq2);
			else
				irq2 = 7;
			vector = pic->chip[1].irq_base + irq2;
		} else {
			vector = pic->chip[0].irq_base + irq;
		}
	} else {
		vector = pic->chip[0].irq_base + 7;
	}
	okvm_pic_update(pic);
	okvm_pic_unlock(pic, flags);
	return vector & 0xff;
}

/* Input @pin (0-15) of the pair, driven by @source_id. */
int okvm_pic_set_irq(struct okvm_vm *vm, unsigned int pin, int source_id,
		     int level)
{
	struct okvm_pic *pic = vm->pic;
	unsigned long flags;
	int ret;

	if (!pic || pin >= OKVM_PIC_PINS)
		return -1;
	okvm_pic_lock(pic, &flags);
	if (level)
		__set_bit(source_id, &pic->irq_states[pin]);
	else
		__clear_bit(source_id, &pic->irq_states[pin]);
	ret = okvm_pic_latch(&pic->chip[pin >> 3], pin & 7,
			     !!pic->irq_states[pin]);
	okvm_pic_update(pic);
	okvm_pic_unlock(pic, flags);
	return ret;
}

/*
 * ICW1: start initialization. As in KVM, the chip forgets its edges, its
 * mask, its rotation and special mask, and drops edge requests; ICW4's
 * modes are cleared when ICW4 will not follow.
 */
static void okvm_pic_init(struct okvm_pic *pic, struct kvm_pic_state *s,
			  u8 val)
{
	u8 edge_irr = s->irr & ~s->elcr;
	unsigned int i, n, irq;
	bool to_cpu = false;

	s->init4 = val & 1;
	s->last_irr = 0;
	s->irr &= s->elcr;
	s->imr = 0;
	s->priority_add = 0;
	s->special_mask = 0;
	s->read_reg_select = 0;
	if (!s->init4) {
		s->special_fully_nested_mode = 0;
		s->auto_eoi = 0;
	}
	s->init_state = 1;

	/*
	 * Edge requests that were in service when the guest reset the chip
	 * are acknowledged, so that the PIT's reinjection does not wait for
	 * an EOI that will never come (KVM does the same, when some vCPU
	 * takes PIC interrupts at all).
	 */
	n = smp_load_acquire(&pic->vm->nr_vcpus);
	for (i = 0; i < n && !to_cpu; i++)
		to_cpu = okvm_lapic_accepts_pic(pic->vm->vcpus[i]);
	if (!to_cpu)
		return;
	for (irq = 0; irq < 8; irq++)
		if (edge_irr & BIT(irq))
			okvm_pic_clear_isr(pic, s, irq);
}

/* OCW2: EOIs and priority rotation. */
static void okvm_pic_ocw2(struct okvm_pic *pic, struct kvm_pic_state *s,
			  u8 val)
{
	unsigned int cmd = val >> 5, prio, irq;

	switch (cmd) {
	case 0:		/* rotate in automatic EOI mode: clear */
	case 4:		/* set */
		s->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		prio = okvm_pic_priority(s, s->isr);
		if (prio == 8)
			break;
		irq = (prio + s->priority_add) & 7;
		if (cmd == 5)
			s->priority_add = (irq + 1) & 7;
		okvm_pic_clear_isr(pic, s, irq);
		okvm_pic_update(pic);
		break;
	case 3:		/* specific EOI */
		okvm_pic_clear_isr(pic, s, val & 7);
		okvm_pic_update(pic);
		break;
	case 6:		/* set priority */
		s->priority_add = (val + 1) & 7;
		okvm_pic_update(pic);
		break;
	case 7:		/* rotate on specific EOI */
		irq = val & 7;
		s->priority_add = (irq + 1) & 7;
		okvm_pic_clear_isr(pic, s, irq);
		okvm_pic_update(pic);
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void okvm_pic_write(struct okvm_pic *pic, struct kvm_pic_state *s,
			   bool a0, u8 val)
{
	if (!a0) {
		if (val & 0x10) {		/* ICW1 */
			okvm_pic_init(pic, s, val);
		} else if (val & 0x08) {	/* OCW3 */
			if (val & 0x04)
				s->poll = 1;
			if (val & 0x02)
				s->read_reg_select = val & 1;
			if (val & 0x40)
				s->special_mask = (val >> 5) & 1;
		} else {			/* OCW2 */
			okvm_pic_ocw2(pic, s, val);
		}
		return;
	}
	switch (s->init_state) {
	case 0:		/* OCW1: the mask */
		pic->unmasked |= (u16)(s->imr & ~val) <<
				 (okvm_pic_is_slave(pic, s) ? 8 : 0);
		s->imr = val;
		okvm_pic_update(pic);
		break;
	case 1:		/* ICW2: the vector base */
		s->irq_base = val & 0xf8;
		s->init_state = 2;
		break;
	case 2:		/* ICW3: the cascade is wired, nothing to learn */
		s->init_state = s->init4 ? 3 : 0;
		break;
	case 3:		/* ICW4 */
		s->special_fully_nested_mode = (val >> 4) & 1;
		s->auto_eoi = (val >> 1) & 1;
		s->init_state = 0;
		break;
	default:	/* a state KVM_SET_IRQCHIP made up: ignored, as KVM */
		break;
	}
}

/*
 * Poll command (OCW3 bit 2): the next read returns the highest request,
 * which is acknowledged as by an INTA and EOIed, or 0x07 if there is
 * none. The 8259A would also set bit 7 with a request; KVM does not, and
 * okvm answers as KVM.
 */
static u8 okvm_pic_poll(struct okvm_pic *pic, struct kvm_pic_state *s)
{
	int irq = okvm_pic_pending(pic, s);

	if (irq < 0) {
		okvm_pic_update(pic);
		return 0x07;
	}
	if (okvm_pic_is_slave(pic, s)) {
		pic->chip[0].isr &= ~BIT(2);
		pic->chip[0].irr &= ~BIT(2);
	}
	s->irr &= ~BIT(irq);
	okvm_pic_clear_isr(pic, s, irq);
	/* As KVM: the master's poll of the cascade leaves the rest alone. */
	if (okvm_pic_is_slave(pic, s) || irq != 2)
		okvm_pic_update(pic);
	return irq;
}

static u8 okvm_pic_read(struct okvm_pic *pic, struct kvm_pic_state *s,
			bool a0)
{
	if (s->poll) {
		s->poll = 0;
		return okvm_pic_poll(pic, s);
	}
	if (a0)
		return s->imr;
	return s->read_reg_select ? s->isr : s->irr;
}

/*
 * The ports, as KVM registers them: two bytes each at 0x20, 0xa0 and
 * 0x4d0. An access must lie inside one range to be the PIC's; one that is
 * not a byte wide is ignored and reads 0, as in KVM.
 */
int okvm_pic_pio(struct okvm_vm *vm, u16 port, unsigned int size, bool in,
		 void *data)
{
	struct okvm_pic *pic = vm->pic;
	struct kvm_pic_state *s;
	unsigned long flags;
	u8 *val = data;
	u16 base = port & ~1;

	if (!pic || (base != 0x20 && base != 0xa0 && base != 0x4d0) ||
	    port + size > base + 2)
		return -ENOENT;
	if (size != 1) {
		if (in)
			memset(data, 0, size);
		return 0;
	}

	okvm_pic_lock(pic, &flags);
	if (base == 0x4d0) {
		/* ELCR: one bit per input, 1 = level (PIIX datasheet 2.2.12). */
		s = &pic->chip[port & 1];
		if (in)
			*val = s->elcr;
		else
			s->elcr = *val & s->elcr_mask;
	} else {
		s = &pic->chip[base == 0xa0];
		if (in)
			*val = okvm_pic_read(pic, s, port & 1);
		else
			okvm_pic_write(pic, s, port & 1, *val);
	}
	okvm_pic_unlock(pic, flags);
	return 0;
}

void okvm_pic_get_state(struct okvm_vm *vm, unsigned int chip,
			struct kvm_pic_state *state)
{
	struct okvm_pic *pic = vm->pic;
	unsigned long flags;

	okvm_pic_lock(pic, &flags);
	*state = pic->chip[chip];
	okvm_pic_unlock(pic, flags);
}

/*
 * KVM_SET_IRQCHIP: KVM takes the state as given (any byte is a state the
 * code above copes with: rotation and vector arithmetic are masked, an
 * unknown init_state ignores writes) and recomputes INTR.
 */
void okvm_pic_set_state(struct okvm_vm *vm, unsigned int chip,
			const struct kvm_pic_state *state)
{
	struct okvm_pic *pic = vm->pic;
	unsigned long flags;

	okvm_pic_lock(pic, &flags);
	pic->chip[chip] = *state;
	okvm_pic_update(pic);
	okvm_pic_unlock(pic, flags);
}

int okvm_pic_create(struct okvm_vm *vm)
{
	struct okvm_pic *pic = kzalloc(sizeof(*pic), GFP_KERNEL_ACCOUNT);

	if (!pic)
		return -ENOMEM;
	spin_lock_init(&pic->lock);
	pic->vm = vm;
	/*
	 * Inputs that may be level-triggered on a PIIX: not 0, 1 and 2 of
	 * the master (timer, keyboard, cascade), not 8 and 13 (RTC, FPU).
	 */
	pic->chip[0].elcr_mask = 0xf8;
	pic->chip[1].elcr_mask = 0xde;
	vm->pic = pic;
	return 0;
}

void okvm_pic_free(struct okvm_vm *vm)
{
	kfree(vm->pic);
	vm->pic = NULL;
}
