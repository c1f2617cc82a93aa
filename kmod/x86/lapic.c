// SPDX-License-Identifier: GPL-2.0-only
/*
 * lapic.c - the local APIC of a vCPU of a VM with an in-kernel irqchip
 * (SDM Vol. 3 chapter 10 "Advanced Programmable Interrupt Controller").
 *
 * The register page is kept as the xAPIC lays it out (one 32-bit register
 * per 16 bytes, offsets as in <asm/apicdef.h>), which is also the layout of
 * struct kvm_lapic_state, so KVM_GET/SET_LAPIC copy it. The guest reaches
 * it through MMIO at IA32_APIC_BASE (io.c hands every access inside that
 * page here before any exit to user space) in xAPIC mode, and through
 * MSRs 0x800-0x8ff in x2APIC mode (10.12), where the same page holds the
 * 32-bit ID, the fixed LDR and the ICR's destination in ICR2. Other CPUs
 * only ever set bits in IRR/TMR and post INIT, SIPI and NMI events;
 * everything else is written by the vCPU's own thread.
 *
 * The APIC timer runs on an hrtimer: one-shot and periodic count the
 * initial count down at KVM's APIC bus rate of 1 GHz divided by TDCR, and
 * TSC-deadline mode (10.5.4.1) fires when the guest's TSC reaches
 * IA32_TSC_DEADLINE. A periodic timer never fires more often than every
 * okvm_lapic_min_period_ns, KVM's floor (200 us), so that a guest cannot
 * make the host spin in hrtimer interrupts.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/kvm.h>
#include <linux/math64.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "irq.h"
#include "lapic.h"
#include "ops.h"
#include "x86.h"

#define LAPIC_REGS_SIZE		KVM_APIC_REG_SIZE	/* 0x400 */
/* Version 0x14 (integrated APIC), six LVT entries (10.4.8). */
#define LAPIC_VERSION		(0x14 | (5 << 16))
#define LAPIC_LVT_MASKED	BIT(16)
#define LAPIC_TIMER_MODE_MASK	(3 << 17)
#define LAPIC_TIMER_PERIODIC	BIT(17)
#define LAPIC_TIMER_TSCDEADLINE	(2 << 17)
#define LAPIC_ICR_BUSY		BIT(12)

/* KVM's floor on the periodic timer's period (min_timer_period_us). */
static const u64 okvm_lapic_min_period_ns = 200 * NSEC_PER_USEC;

enum {
	OKVM_LAPIC_EV_INIT,
	OKVM_LAPIC_EV_SIPI,
};

/*
 * struct okvm_lapic - one vCPU's local APIC.
 *
 * Locking: @lock (taken with interrupts off: the hrtimer callback and
 * irqfd wake-ups deliver interrupts from hard-IRQ context) guards @regs,
 * @period_ns and @tsc_deadline. @events (INIT/SIPI) and @nmi_pending are
 * atomics posted by any CPU and consumed by the vCPU thread; @sipi_vector
 * is written before the SIPI bit is set and read after it is cleared.
 * @mp_state belongs to the vCPU thread (the vCPU's mutex). The timer is
 * started and cancelled only by the vCPU thread, never under @lock (its
 * callback takes @lock).
 */
struct okvm_lapic {
	struct okvm_vcpu *vcpu;
	spinlock_t lock;		/* guards regs, period, deadline */
	u8 regs[LAPIC_REGS_SIZE];
	struct hrtimer timer;
	u64 period_ns;			/* periodic mode: the period */
	u64 tsc_deadline;		/* TSC-deadline mode: armed value */
	unsigned long events;
	atomic_t nmi_pending;
	u8 sipi_vector;
	u32 mp_state;
	wait_queue_head_t wq;		/* the vCPU sleeps here (HLT, INIT) */
	u64 vapic_addr;			/* KVM_SET_VAPIC_ADDR; vCPU thread */
};

static u32 lapic_get(struct okvm_lapic *l, unsigned int off)
{
	return *(u32 *)(l->regs + off);
}

static void lapic_set(struct okvm_lapic *l, unsigned int off, u32 val)
{
	*(u32 *)(l->regs + off) = val;
}

/* IRR, ISR and TMR: 256 bits in eight registers 16 bytes apart (10.8.4). */
static void lapic_vec_set(struct okvm_lapic *l, unsigned int base, u8 vec)
{
	u32 *r = (u32 *)(l->regs + base + (vec >> 5) * 0x10);

	*r |= BIT(vec & 31);
}

static void lapic_vec_clear(struct okvm_lapic *l, unsigned int base, u8 vec)
{
	u32 *r = (u32 *)(l->regs + base + (vec >> 5) * 0x10);

	*r &= ~BIT(vec & 31);
}

static int lapic_highest(struct okvm_lapic *l, unsigned int base)
{
	int i;
	u32 v;

	for (i = 7; i >= 0; i--) {
		v = lapic_get(l, base + i * 0x10);
		if (v)
			return i * 32 + fls(v) - 1;
	}
	return -1;
}

/* PPR from TPR and the highest in-service vector (10.8.3.1). */
static void lapic_update_ppr(struct okvm_lapic *l)
{
	u32 tpr = lapic_get(l, APIC_TASKPRI) & 0xff;
	int isrv = lapic_highest(l, APIC_ISR);
	u32 isr_class = isrv < 0 ? 0 : isrv & 0xf0;

	lapic_set(l, APIC_PROCPRI, (tpr & 0xf0) >= isr_class ? tpr : isr_class);
}

static bool lapic_hw_enabled(struct okvm_lapic *l)
{
	return READ_ONCE(l->vcpu->apic_base) & MSR_IA32_APICBASE_ENABLE;
}

static bool lapic_x2apic(struct okvm_lapic *l)
{
	return READ_ONCE(l->vcpu->apic_base) & X2APIC_ENABLE;
}

/* The fixed LDR of x2APIC mode: cluster and bit from the ID (10.12.10.2). */
static u32 lapic_x2apic_ldr(u32 id)
{
	return (id >> 4) << 16 | BIT(id & 0xf);
}

static bool lapic_sw_enabled(struct okvm_lapic *l)
{
	return lapic_get(l, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

/* The timer's divide configuration (10.5.4, Figure 10-10). */
static u32 lapic_divide(struct okvm_lapic *l)
{
	u32 tdcr = lapic_get(l, APIC_TDCR);
	u32 v = (tdcr & 3) | ((tdcr & 8) >> 1);

	return 1U << ((v + 1) & 7);
}

static u32 lapic_timer_mode(struct okvm_lapic *l)
{
	return lapic_get(l, APIC_LVTT) & LAPIC_TIMER_MODE_MASK;
}

/* Raise the timer's LVT interrupt; @lock held. */
static void lapic_timer_raise(struct okvm_lapic *l)
{
	u32 lvtt = lapic_get(l, APIC_LVTT);

	if (!(lvtt & LAPIC_LVT_MASKED) && lapic_hw_enabled(l)) {
		lapic_vec_set(l, APIC_IRR, lvtt & 0xff);
		lapic_vec_clear(l, APIC_TMR, lvtt & 0xff);
	}
}

static enum hrtimer_restart lapic_timer_fn(struct hrtimer *t)
{
	struct okvm_lapic *l = container_of(t, struct okvm_lapic, timer);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	lapic_timer_raise(l);
	if (lapic_timer_mode(l) == LAPIC_TIMER_PERIODIC && l->period_ns) {
		hrtimer_forward_now(t, ns_to_ktime(l->period_ns));
		ret = HRTIMER_RESTART;
	} else if (lapic_timer_mode(l) == LAPIC_TIMER_TSCDEADLINE) {
		l->tsc_deadline = 0;
	}
	spin_unlock_irqrestore(&l->lock, flags);
	okvm_vcpu_kick(l->vcpu);
	return ret;
}

/* Stop the timer; the vCPU thread, without @lock. */
static void lapic_timer_stop(struct okvm_lapic *l)
{
	hrtimer_cancel(&l->timer);
}

/* One-shot or periodic: start counting TMICT down (10.5.4). */
static void lapic_timer_start_count(struct okvm_lapic *l)
{
	u32 tmict = lapic_get(l, APIC_TMICT);
	u64 ns;

	lapic_timer_stop(l);
	if (!tmict || lapic_timer_mode(l) == LAPIC_TIMER_TSCDEADLINE)
		return;
	/* A 1 GHz bus: one tick per nanosecond before the divider. */
	ns = (u64)tmict * lapic_divide(l);
	spin_lock_irq(&l->lock);
	l->period_ns = 0;
	if (lapic_timer_mode(l) == LAPIC_TIMER_PERIODIC) {
		if (ns < okvm_lapic_min_period_ns)
			ns = okvm_lapic_min_period_ns;
		l->period_ns = ns;
	}
	spin_unlock_irq(&l->lock);
	hrtimer_start(&l->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS_HARD);
}

/* TMCCT: what is left of the count (10.5.4). */
static u32 lapic_timer_current(struct okvm_lapic *l)
{
	u32 tmict = lapic_get(l, APIC_TMICT);
	ktime_t rem;
	u64 ns;

	if (!tmict || lapic_timer_mode(l) == LAPIC_TIMER_TSCDEADLINE ||
	    !hrtimer_active(&l->timer))
		return 0;
	rem = hrtimer_get_remaining(&l->timer);
	if (ktime_to_ns(rem) <= 0)
		return 0;
	ns = ktime_to_ns(rem);
	return min_t(u64, div_u64(ns, lapic_divide(l)), tmict);
}

static u64 lapic_guest_tsc(struct okvm_vcpu *vcpu)
{
	u64 tsc = 0;

	okvm_x86->get_msr(vcpu, MSR_IA32_TSC, &tsc);
	return tsc;
}

u64 okvm_lapic_get_tsc_deadline(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;
	u64 val;

	if (lapic_timer_mode(l) != LAPIC_TIMER_TSCDEADLINE)
		return 0;
	spin_lock_irq(&l->lock);
	val = l->tsc_deadline;
	spin_unlock_irq(&l->lock);
	return val;
}

/*
 * IA32_TSC_DEADLINE (10.5.4.1): writes outside TSC-deadline mode are
 * ignored; zero disarms; a deadline already passed fires at once.
 */
void okvm_lapic_set_tsc_deadline(struct okvm_vcpu *vcpu, u64 data)
{
	struct okvm_lapic *l = vcpu->lapic;
	u64 now, ns;

	if (lapic_timer_mode(l) != LAPIC_TIMER_TSCDEADLINE)
		return;
	lapic_timer_stop(l);
	spin_lock_irq(&l->lock);
	l->tsc_deadline = data;
	spin_unlock_irq(&l->lock);
	if (!data)
		return;
	now = lapic_guest_tsc(vcpu);
	if (data <= now || !tsc_khz) {
		spin_lock_irq(&l->lock);
		lapic_timer_raise(l);
		l->tsc_deadline = 0;
		spin_unlock_irq(&l->lock);
		return;
	}
	ns = mul_u64_u32_div(data - now, NSEC_PER_MSEC, tsc_khz);
	/* A deadline centuries away must not wrap the hrtimer's ktime. */
	ns = min_t(u64, ns, KTIME_MAX / 2);
	hrtimer_start(&l->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS_HARD);
}

/*
 * Writable bits of each LVT entry (10.5.1, Figure 10-8). The timer's
 * TSC-deadline mode exists when the guest's CPUID.1:ECX[24] says so
 * (10.5.4.1); without it bit 18 is reserved, as in KVM.
 */
static u32 lapic_lvt_mask(struct okvm_lapic *l, unsigned int off)
{
	switch (off) {
	case APIC_LVTT:
		if (!okvm_guest_has(l->vcpu, 1, CPUID_ECX, 24))
			return 0xff | LAPIC_LVT_MASKED | LAPIC_TIMER_PERIODIC;
		return 0xff | LAPIC_LVT_MASKED | LAPIC_TIMER_MODE_MASK;
	case APIC_LVT0:
	case APIC_LVT1:
		/* vector, delivery mode, polarity, trigger mode, mask */
		return 0xff | 0x700 | BIT(13) | BIT(15) | LAPIC_LVT_MASKED;
	case APIC_LVTERR:
		return 0xff | LAPIC_LVT_MASKED;
	default:	/* thermal, performance counters */
		return 0xff | 0x700 | LAPIC_LVT_MASKED;
	}
}

static const unsigned int okvm_lapic_lvts[] = {
	APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1, APIC_LVTERR,
};

/*
 * Power-on or INIT state (10.4.7.1, 10.4.7.3): everything cleared, LVTs
 * masked (but the BSP's LINT0, below), DFR all ones, SVR 0xff (software
 * disabled). INIT keeps the ID.
 */
static void lapic_reset(struct okvm_lapic *l, bool init)
{
	u32 id = init ? lapic_get(l, APIC_ID) : l->vcpu->id << 24;
	unsigned int i;

	lapic_timer_stop(l);
	spin_lock_irq(&l->lock);
	memset(l->regs, 0, sizeof(l->regs));
	lapic_set(l, APIC_ID, id);
	lapic_set(l, APIC_LVR, LAPIC_VERSION);
	lapic_set(l, APIC_DFR, 0xffffffff);
	lapic_set(l, APIC_SPIV, 0xff);
	for (i = 0; i < ARRAY_SIZE(okvm_lapic_lvts); i++)
		lapic_set(l, okvm_lapic_lvts[i], LAPIC_LVT_MASKED);
	/*
	 * KVM leaves the BSP's LINT0 in ExtINT mode, unmasked, as a BIOS
	 * sets up virtual-wire mode (MP spec 3.6.2.2), so that the PIC
	 * reaches the boot CPU before the guest touches its APIC.
	 */
	if (okvm_vcpu_is_reset_bsp(l->vcpu))
		lapic_set(l, APIC_LVT0, OKVM_APIC_DM_EXTINT << 8);
	l->period_ns = 0;
	l->tsc_deadline = 0;
	spin_unlock_irq(&l->lock);
	atomic_set(&l->nmi_pending, 0);
}

/* TPR and CR8 in step (10.8.6.1); the vCPU thread. */
static void lapic_set_tpr(struct okvm_lapic *l, u32 tpr)
{
	spin_lock_irq(&l->lock);
	lapic_set(l, APIC_TASKPRI, tpr & 0xff);
	lapic_update_ppr(l);
	spin_unlock_irq(&l->lock);
	okvm_x86->set_cr(l->vcpu, 8, (tpr & 0xff) >> 4);
}

unsigned long okvm_lapic_get_cr8(struct okvm_vcpu *vcpu)
{
	return (lapic_get(vcpu->lapic, APIC_TASKPRI) >> 4) & 0xf;
}

void okvm_lapic_set_cr8(struct okvm_vcpu *vcpu, unsigned long cr8)
{
	lapic_set_tpr(vcpu->lapic, (cr8 & 0xf) << 4);
}

/*
 * KVM_SET_VAPIC_ADDR: QEMU's TPR-patching option ROM (kvmvapic) rewrites
 * a guest's TPR accesses into accesses to a word of guest memory, which
 * KVM keeps in step with the local APIC around every entry: before it,
 * the TPR, the highest in-service class (bits 15:12) and the highest
 * requested vector (31:24); after the exit, the TPR the guest wrote back
 * in byte 0. QEMU sets the address to 0 at every APIC reset, and okvm's
 * answers follow KVM's: EINVAL for an address outside guest memory.
 */
static int lapic_set_vapic_addr(struct okvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_vapic_addr va;
	u32 word;

	if (copy_from_user(&va, argp, sizeof(va)))
		return -EFAULT;
	if (va.vapic_addr &&
	    okvm_read_guest(vcpu->vm, va.vapic_addr, &word, sizeof(word)))
		return -EINVAL;
	vcpu->lapic->vapic_addr = va.vapic_addr;
	return 0;
}

void okvm_lapic_sync_to_vapic(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;
	int irr, isr;
	u32 word;

	if (!l || !l->vapic_addr)
		return;
	spin_lock_irq(&l->lock);
	irr = max(lapic_highest(l, APIC_IRR), 0);
	isr = max(lapic_highest(l, APIC_ISR), 0);
	word = (lapic_get(l, APIC_TASKPRI) & 0xff) | ((isr & 0xf0) << 8) |
	       (irr << 24);
	spin_unlock_irq(&l->lock);
	/* a slot removed under it: nothing to keep in step until it is back */
	okvm_write_guest(vcpu->vm, l->vapic_addr, &word, sizeof(word));
}

void okvm_lapic_sync_from_vapic(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;
	u32 word;

	if (!l || !l->vapic_addr ||
	    okvm_read_guest(vcpu->vm, l->vapic_addr, &word, sizeof(word)))
		return;
	lapic_set_tpr(l, word & 0xff);
}

/* Whether @l is a destination of @irq from @src (10.6.2). */
static bool lapic_match(struct okvm_lapic *l, struct okvm_vcpu *src,
			const struct okvm_apic_irq *irq)
{
	bool self = src && src->lapic == l;
	u32 id, ldr, dest;

	if (!lapic_hw_enabled(l))
		return false;
	switch (irq->shorthand) {
	case OKVM_APIC_DEST_SELF:
		return self;
	case OKVM_APIC_DEST_ALL:
		return true;
	case OKVM_APIC_DEST_OTHERS:
		return !self;
	default:
		break;
	}
	if (lapic_x2apic(l)) {
		/* 32-bit IDs; logical: cluster 31:16, bitmap 15:0 (10.12.9). */
		id = lapic_get(l, APIC_ID);
		ldr = lapic_get(l, APIC_LDR);
		dest = irq->dest;
		if (dest == 0xffffffff)
			return true;
		/*
		 * KVM's broadcast quirk: an IOAPIC or MSI message, which
		 * carries an 8-bit xAPIC destination, to 0xff is a broadcast
		 * for x2APIC targets too, unless the VMM turned the quirk off
		 * with KVM_CAP_X2APIC_API (0xff is then cluster 0, CPUs 0-7,
		 * or ID 255). IPIs from x2APIC mode are 32-bit already.
		 */
		if (!src && dest == 0xff &&
		    !READ_ONCE(l->vcpu->vm->x2apic_broadcast_quirk_disabled))
			return true;
		if (!irq->dest_logical)
			return dest == id;
		return (ldr >> 16) == (dest >> 16) && (ldr & dest & 0xffff);
	}
	id = lapic_get(l, APIC_ID) >> 24;
	ldr = lapic_get(l, APIC_LDR) >> 24;
	dest = irq->dest & 0xff;
	if (!irq->dest_logical)
		return dest == 0xff || dest == id;
	if (dest == 0xff)
		return true;
	/* DFR model: 1111b flat, 0000b cluster (10.6.2.2). */
	if ((lapic_get(l, APIC_DFR) >> 28) == 0xf)
		return ldr & dest;
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);
}

/* @l takes @irq (10.6.1, delivery modes). */
static bool lapic_accept(struct okvm_lapic *l, const struct okvm_apic_irq *irq)
{
	unsigned long flags;

	switch (irq->delivery_mode) {
	case OKVM_APIC_DM_FIXED:
	case OKVM_APIC_DM_LOWEST:
		spin_lock_irqsave(&l->lock, flags);
		if (!lapic_sw_enabled(l)) {
			spin_unlock_irqrestore(&l->lock, flags);
			return false;
		}
		lapic_vec_set(l, APIC_IRR, irq->vector);
		if (irq->level_trigger)
			lapic_vec_set(l, APIC_TMR, irq->vector);
		else
			lapic_vec_clear(l, APIC_TMR, irq->vector);
		spin_unlock_irqrestore(&l->lock, flags);
		break;
	case OKVM_APIC_DM_NMI:
		atomic_set(&l->nmi_pending, 1);
		break;
	case OKVM_APIC_DM_INIT:
		/* An INIT level de-assert only synchronizes arbitration IDs. */
		if (irq->level_trigger && !irq->assert)
			return false;
		set_bit(OKVM_LAPIC_EV_INIT, &l->events);
		break;
	case OKVM_APIC_DM_SIPI:
		WRITE_ONCE(l->sipi_vector, irq->vector);
		/* The vector before the bit: okvm_lapic_accept_events(). */
		smp_mb__before_atomic();
		set_bit(OKVM_LAPIC_EV_SIPI, &l->events);
		break;
	case OKVM_APIC_DM_SMI:
		/* Taken at the vCPU's next entry (smm.c); it kicks. */
		okvm_smm_post(l->vcpu);
		return true;
	default:
		/* ExtINT messages are not delivered by okvm. */
		return false;
	}
	okvm_vcpu_kick(l->vcpu);
	return true;
}

int okvm_apic_deliver(struct okvm_vm *vm, struct okvm_vcpu *src,
		      const struct okvm_apic_irq *irq)
{
	/* Pairs with the release in okvm_create_vcpu(): vcpus[] below n. */
	unsigned int n = smp_load_acquire(&vm->nr_vcpus), i;
	struct okvm_lapic *lowest = NULL;
	bool named = false, any = false;
	int count = 0;

	for (i = 0; i < n; i++) {
		struct okvm_lapic *l = READ_ONCE(vm->vcpus[i])->lapic;

		any |= !!l;
		if (!l || !lapic_match(l, src, irq))
			continue;
		named = true;
		if (irq->delivery_mode == OKVM_APIC_DM_LOWEST) {
			/* The lowest processor priority wins (10.6.2.4). */
			if (lapic_sw_enabled(l) &&
			    (!lowest || lapic_get(l, APIC_PROCPRI) <
					lapic_get(lowest, APIC_PROCPRI)))
				lowest = l;
			continue;
		}
		count += lapic_accept(l, irq);
	}
	if (lowest)
		count += lapic_accept(lowest, irq);
	/*
	 * Nobody named: once a vCPU exists KVM looks a physical destination
	 * up in its map of APIC IDs and finds no one there (0); before, or
	 * for other destinations, it walks every vCPU and finds none (-1).
	 * The IOAPIC sets Remote IRR only for a nonzero answer.
	 */
	if (!named)
		return any && !irq->dest_logical &&
		       irq->shorthand == OKVM_APIC_DEST_NONE ? 0 : -1;
	return count;
}

bool okvm_lapic_accepts_pic(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;
	u32 lvt0;

	if (!l)
		return false;
	/* A disabled APIC passes INTR straight through (10.4.3). */
	if (!lapic_hw_enabled(l))
		return true;
	lvt0 = lapic_get(l, APIC_LVT0);
	return !(lvt0 & LAPIC_LVT_MASKED) &&
	       ((lvt0 >> 8) & 7) == OKVM_APIC_DM_EXTINT;
}

/* A write to the ICR's low half sends the IPI (10.6.1). */
static void lapic_send_ipi(struct okvm_lapic *l, u32 low, u32 dest)
{
	struct okvm_apic_irq irq = {
		.vector = low & 0xff,
		.delivery_mode = (low >> 8) & 7,
		.dest_logical = low & BIT(11),
		.assert = low & BIT(14),
		.level_trigger = low & BIT(15),
		.shorthand = (low >> 18) & 3,
		.dest = dest,
	};

	okvm_apic_deliver(l->vcpu->vm, l->vcpu, &irq);
}

/*
 * EOI: retire the highest in-service vector (10.8.5). The IOAPIC hears of
 * every EOI, not only of level-triggered vectors, whose EOI the SDM
 * broadcasts: the PIT's reinjection and resampling irqfds wait for the
 * guest to acknowledge edge-triggered pins too (KVM reports the EOIs of
 * the vectors of pins with ack notifiers). Without it the PIT sent one
 * tick, and Linux's boot-time check of the IOAPIC timer path failed.
 */
static void lapic_eoi(struct okvm_lapic *l)
{
	int vec;

	spin_lock_irq(&l->lock);
	vec = lapic_highest(l, APIC_ISR);
	if (vec >= 0) {
		lapic_vec_clear(l, APIC_ISR, vec);
		lapic_update_ppr(l);
	}
	spin_unlock_irq(&l->lock);
	if (vec >= 0)
		okvm_ioapic_eoi(l->vcpu->vm, vec);
}

static u32 lapic_read(struct okvm_lapic *l, unsigned int off)
{
	switch (off) {
	case APIC_TMCCT:
		return lapic_timer_current(l);
	case APIC_ICR:
		return lapic_get(l, off) & ~LAPIC_ICR_BUSY;
	case APIC_EOI:
	case APIC_RRR:
		return 0;
	default:
		return off < LAPIC_REGS_SIZE ? lapic_get(l, off) : 0;
	}
}

static void lapic_write_lvt(struct okvm_lapic *l, unsigned int off, u32 val)
{
	u32 old = lapic_get(l, off);

	val &= lapic_lvt_mask(l, off);
	if (!lapic_sw_enabled(l))
		val |= LAPIC_LVT_MASKED;
	if (off == APIC_LVTT && (val & LAPIC_TIMER_MODE_MASK) ==
				LAPIC_TIMER_MODE_MASK)
		val &= ~LAPIC_TIMER_MODE_MASK;	/* reserved mode */
	spin_lock_irq(&l->lock);
	lapic_set(l, off, val);
	spin_unlock_irq(&l->lock);
	/* A new timer mode stops the timer and clears the count (KVM). */
	if (off == APIC_LVTT && ((old ^ val) & LAPIC_TIMER_MODE_MASK)) {
		lapic_timer_stop(l);
		spin_lock_irq(&l->lock);
		lapic_set(l, APIC_TMICT, 0);
		l->period_ns = 0;
		l->tsc_deadline = 0;
		spin_unlock_irq(&l->lock);
	}
}

/* A 32-bit register write by the guest (the vCPU thread). */
static void lapic_write(struct okvm_lapic *l, unsigned int off, u32 val)
{
	unsigned int i;

	switch (off) {
	case APIC_ID:
		lapic_set(l, APIC_ID, val & 0xff000000);
		break;
	case APIC_TASKPRI:
		lapic_set_tpr(l, val);
		break;
	case APIC_EOI:
		lapic_eoi(l);
		break;
	case APIC_LDR:
		lapic_set(l, APIC_LDR, val & 0xff000000);
		break;
	case APIC_DFR:
		lapic_set(l, APIC_DFR, val | 0x0fffffff);
		break;
	case APIC_SPIV:
		lapic_set(l, APIC_SPIV, val & 0x3ff);
		/* Software disable masks every LVT entry (10.4.7.2). */
		if (!(val & APIC_SPIV_APIC_ENABLED))
			for (i = 0; i < ARRAY_SIZE(okvm_lapic_lvts); i++)
				lapic_set(l, okvm_lapic_lvts[i],
					  lapic_get(l, okvm_lapic_lvts[i]) |
					  LAPIC_LVT_MASKED);
		break;
	case APIC_ESR:
		/* A write re-arms error latching; okvm latches none. */
		lapic_set(l, APIC_ESR, 0);
		break;
	case APIC_ICR:
		lapic_set(l, APIC_ICR, val & ~LAPIC_ICR_BUSY);
		lapic_send_ipi(l, val, lapic_get(l, APIC_ICR2) >> 24);
		break;
	case APIC_ICR2:
		lapic_set(l, APIC_ICR2, val & 0xff000000);
		break;
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
		lapic_write_lvt(l, off, val);
		break;
	case APIC_TMICT:
		if (lapic_timer_mode(l) == LAPIC_TIMER_TSCDEADLINE)
			break;
		lapic_set(l, APIC_TMICT, val);
		lapic_timer_start_count(l);
		break;
	case APIC_TDCR:
		lapic_set(l, APIC_TDCR, val & 0xb);
		break;
	default:
		/* Read-only and reserved registers ignore writes. */
		break;
	}
}

bool okvm_lapic_mmio(struct okvm_vcpu *vcpu, u64 gpa, unsigned int len,
		     bool write, void *data)
{
	struct okvm_lapic *l = vcpu->lapic;
	u64 base = READ_ONCE(vcpu->apic_base);
	unsigned int off = gpa & 0xfff;
	u32 val;

	if (!l || !(base & MSR_IA32_APICBASE_ENABLE) ||
	    (gpa & PAGE_MASK) != (base & MSR_IA32_APICBASE_BASE))
		return false;
	/* In x2APIC mode the page reads as all ones and ignores writes (KVM). */
	if (base & X2APIC_ENABLE) {
		if (!write)
			memset(data, 0xff, len);
		return true;
	}
	if (write) {
		/* Only aligned 32-bit stores reach a register (10.4.1). */
		if (len == 4 && !(off & 0xf)) {
			memcpy(&val, data, 4);
			lapic_write(l, off, val);
		}
		return true;
	}
	val = lapic_read(l, off & ~0xfu);
	val >>= (off & 3) * 8;
	memset(data, 0, len);
	memcpy(data, &val, min_t(unsigned int, len, 4 - (off & 3)));
	return true;
}

/*
 * IA32_APIC_BASE (10.4.4): a guest write can move the page and turn the
 * APIC off or on; turning it off resets it (10.4.3). EXTD (x2APIC mode)
 * needs the guest's CPUID.1:ECX[21] and EN; the guest may not go from
 * x2APIC to xAPIC mode, nor from disabled to x2APIC (10.12.5, Figure
 * 10-27); KVM_SET_MSRS may, as in KVM.
 */
int okvm_lapic_set_base(struct okvm_vcpu *vcpu, u64 data, bool host)
{
	const u64 en = MSR_IA32_APICBASE_ENABLE, extd = X2APIC_ENABLE;
	struct okvm_lapic *l = vcpu->lapic;
	u64 old = vcpu->apic_base;
	u64 allowed = MSR_IA32_APICBASE_BSP | en | GENMASK_ULL(51, 12);

	if (okvm_guest_has(vcpu, 1, CPUID_ECX, 21))
		allowed |= extd;
	if (data & ~allowed)
		return 1;
	if (data & ~(MSR_IA32_APICBASE_BSP | en | extd |
		     GENMASK_ULL(okvm_guest_maxphyaddr(vcpu) - 1, 12)) && !host)
		return 1;
	if ((data & (en | extd)) == extd)
		return 1;
	if (!host && (old & (en | extd)) == (en | extd) &&
	    (data & (en | extd)) == en)
		return 1;
	if (!host && !(old & en) && (data & (en | extd)) == (en | extd))
		return 1;
	WRITE_ONCE(vcpu->apic_base, data);
	if ((old & en) && !(data & en)) {
		lapic_reset(l, false);
	} else if (!(old & extd) && (data & extd)) {
		/* Entering x2APIC mode: the ID and LDR follow (10.12.5.1). */
		spin_lock_irq(&l->lock);
		lapic_set(l, APIC_ID, vcpu->id);
		lapic_set(l, APIC_LDR, lapic_x2apic_ldr(vcpu->id));
		spin_unlock_irq(&l->lock);
	} else if ((old & extd) && !(data & extd)) {
		spin_lock_irq(&l->lock);
		lapic_set(l, APIC_ID, vcpu->id << 24);
		lapic_set(l, APIC_LDR, 0);
		spin_unlock_irq(&l->lock);
	}
	return 0;
}

/*
 * x2APIC MSRs 0x800-0x8ff (10.12.1.2, Table 10-6): register at offset
 * (msr - 0x800) << 4; #GP outside x2APIC mode, on registers x2APIC does
 * not have, on reads of write-only and writes of read-only ones, and on
 * reserved bits 63:32 (all but the ICR). Returns 1 for #GP.
 */
int okvm_lapic_x2apic_rdmsr(struct okvm_vcpu *vcpu, u32 msr, u64 *data)
{
	struct okvm_lapic *l = vcpu->lapic;
	unsigned int off = (msr - APIC_BASE_MSR) << 4;

	if (!l || !lapic_x2apic(l))
		return 1;
	switch (off) {
	case APIC_ICR:
		*data = lapic_read(l, APIC_ICR) |
			(u64)lapic_get(l, APIC_ICR2) << 32;
		return 0;
	case APIC_ID:
	case APIC_LVR:
	case APIC_TASKPRI:
	case APIC_PROCPRI:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ISR ... APIC_ISR + 0x70:
	case APIC_TMR ... APIC_TMR + 0x70:
	case APIC_IRR ... APIC_IRR + 0x70:
	case APIC_ESR:
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TMCCT:
	case APIC_TDCR:
		if (off & 0xf)
			return 1;
		*data = lapic_read(l, off);
		return 0;
	default:
		return 1;
	}
}

int okvm_lapic_x2apic_wrmsr(struct okvm_vcpu *vcpu, u32 msr, u64 data)
{
	struct okvm_lapic *l = vcpu->lapic;
	unsigned int off = (msr - APIC_BASE_MSR) << 4;

	if (!l || !lapic_x2apic(l))
		return 1;
	if (off == APIC_ICR) {
		/* One write: destination in bits 63:32 (10.12.9). */
		spin_lock_irq(&l->lock);
		lapic_set(l, APIC_ICR2, data >> 32);
		lapic_set(l, APIC_ICR, (u32)data & ~LAPIC_ICR_BUSY);
		spin_unlock_irq(&l->lock);
		lapic_send_ipi(l, (u32)data, data >> 32);
		return 0;
	}
	if (data >> 32)
		return 1;
	switch (off) {
	case APIC_EOI:
		if (data)
			return 1;
		lapic_eoi(l);
		return 0;
	case APIC_SELF_IPI:
		/* A fixed, edge-triggered IPI to self (10.12.11). */
		lapic_send_ipi(l, (data & 0xff) | (OKVM_APIC_DEST_SELF << 18),
			       0);
		return 0;
	case APIC_ESR:
		if (data)
			return 1;
		fallthrough;
	case APIC_TASKPRI:
	case APIC_SPIV:
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TDCR:
		lapic_write(l, off, data);
		return 0;
	default:
		return 1;
	}
}

int okvm_lapic_pending_vector(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;
	unsigned long flags;
	int vec = -1, irr;

	if (!lapic_hw_enabled(l))
		return -1;
	spin_lock_irqsave(&l->lock, flags);
	irr = lapic_highest(l, APIC_IRR);
	/* Only a class above the PPR's is delivered (10.8.3.1). */
	if (irr >= 0 && (irr & 0xf0) > (lapic_get(l, APIC_PROCPRI) & 0xf0))
		vec = irr;
	spin_unlock_irqrestore(&l->lock, flags);
	return vec;
}

/* The CPU takes @vector: IRR to ISR (10.8.4). */
void okvm_lapic_ack(struct okvm_vcpu *vcpu, u8 vector)
{
	struct okvm_lapic *l = vcpu->lapic;
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	lapic_vec_clear(l, APIC_IRR, vector);
	lapic_vec_set(l, APIC_ISR, vector);
	lapic_update_ppr(l);
	spin_unlock_irqrestore(&l->lock, flags);
}

bool okvm_lapic_take_nmi(struct okvm_vcpu *vcpu)
{
	return atomic_xchg(&vcpu->lapic->nmi_pending, 0);
}

u32 okvm_lapic_mp_state(struct okvm_vcpu *vcpu)
{
	return vcpu->lapic->mp_state;
}

void okvm_lapic_set_runnable(struct okvm_vcpu *vcpu)
{
	vcpu->lapic->mp_state = KVM_MP_STATE_RUNNABLE;
}

/* What ends a wait in HLT or for INIT/SIPI (KVM's kvm_vcpu_has_events()). */
bool okvm_lapic_has_events(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;

	/* In SMM, INIT waits for RSM and SIPI is dropped (accept_events). */
	if (!vcpu->in_smm && (test_bit(OKVM_LAPIC_EV_INIT, &l->events) ||
			      test_bit(OKVM_LAPIC_EV_SIPI, &l->events)))
		return true;
	/* A vCPU waiting for SIPI takes no SMI or NMI until it runs (KVM). */
	if (l->mp_state != KVM_MP_STATE_HALTED &&
	    l->mp_state != KVM_MP_STATE_RUNNABLE)
		return false;
	if (okvm_smm_has_event(vcpu))
		return true;
	if (atomic_read(&l->nmi_pending) || vcpu->nmi_pending)
		return true;
	if (!(vcpu->rflags & X86_EFLAGS_IF))
		return false;
	return vcpu->interrupt.injected || okvm_lapic_pending_vector(vcpu) >= 0 ||
	       (okvm_lapic_accepts_pic(vcpu) && okvm_pic_output(vcpu->vm));
}

/* INIT and SIPI take effect in the vCPU thread (KVM_APIC_INIT/SIPI). */
void okvm_lapic_accept_events(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;
	struct kvm_segment cs;
	u8 vector;

	/*
	 * SMM latches INIT until RSM and ignores SIPI, as KVM does
	 * (latched_init in struct kvm_vcpu_events).
	 */
	if (vcpu->in_smm) {
		clear_bit(OKVM_LAPIC_EV_SIPI, &l->events);
		return;
	}
	if (test_and_clear_bit(OKVM_LAPIC_EV_INIT, &l->events)) {
		/* 9.1.1, "INIT": the reset state but CR0.CD/NW and the TSC. */
		okvm_x86->vcpu_reset(vcpu, true);
		vcpu->exception.pending = false;
		vcpu->interrupt.injected = false;
		vcpu->nmi_pending = false;
		vcpu->nmi_masked = false;
		okvm_smm_reset(vcpu, true);
		lapic_reset(l, true);
		okvm_x86->set_cr(vcpu, 8, 0);
		l->mp_state = (vcpu->apic_base & MSR_IA32_APICBASE_BSP) ?
			      KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
	}
	if (test_and_clear_bit(OKVM_LAPIC_EV_SIPI, &l->events)) {
		/* Pairs with smp_mb__before_atomic() in lapic_accept(). */
		smp_mb__after_atomic();
		vector = READ_ONCE(l->sipi_vector);
		/* A SIPI counts only after an INIT (8.4.4.1). */
		if (l->mp_state != KVM_MP_STATE_INIT_RECEIVED)
			return;
		okvm_x86->get_segment(vcpu, &cs, OKVM_SEG_CS);
		cs.selector = vector << 8;
		cs.base = (u64)vector << 12;
		okvm_x86->set_segment(vcpu, &cs, OKVM_SEG_CS);
		vcpu->rip = 0;
		l->mp_state = KVM_MP_STATE_RUNNABLE;
	}
}

/* HLT with the APIC in the kernel: sleep in the run loop (run.c). */
int okvm_lapic_halt(struct okvm_vcpu *vcpu)
{
	vcpu->lapic->mp_state = KVM_MP_STATE_HALTED;
	return 1;
}

/*
 * Sleep until okvm_lapic_has_events(); every event poster calls
 * okvm_vcpu_kick(), which wakes @wq after making its event visible.
 * Returns -EINTR on a signal.
 */
int okvm_lapic_block(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;

	if (wait_event_interruptible(l->wq, okvm_lapic_has_events(vcpu)))
		return -EINTR;
	return 0;
}

void okvm_lapic_wake(struct okvm_vcpu *vcpu)
{
	if (vcpu->lapic)
		wake_up_interruptible(&vcpu->lapic->wq);
}

bool okvm_lapic_init_latched(struct okvm_vcpu *vcpu)
{
	return test_bit(OKVM_LAPIC_EV_INIT, &vcpu->lapic->events);
}

void okvm_lapic_set_init_latched(struct okvm_vcpu *vcpu, bool on)
{
	if (on)
		set_bit(OKVM_LAPIC_EV_INIT, &vcpu->lapic->events);
	else
		clear_bit(OKVM_LAPIC_EV_INIT, &vcpu->lapic->events);
}

/*
 * KVM_SET_LAPIC: KVM takes the page as given, then recomputes what
 * follows from it: the version, the PPR, the timer from TMICT.
 */
static void lapic_set_state(struct okvm_lapic *l,
			    const struct kvm_lapic_state *s)
{
	lapic_timer_stop(l);
	spin_lock_irq(&l->lock);
	memcpy(l->regs, s->regs, sizeof(l->regs));
	lapic_set(l, APIC_LVR, LAPIC_VERSION);
	lapic_set(l, APIC_ICR, lapic_get(l, APIC_ICR) & ~LAPIC_ICR_BUSY);
	lapic_set(l, APIC_TMCCT, 0);
	lapic_update_ppr(l);
	l->period_ns = 0;
	l->tsc_deadline = 0;
	spin_unlock_irq(&l->lock);
	okvm_x86->set_cr(l->vcpu, 8, (lapic_get(l, APIC_TASKPRI) >> 4) & 0xf);
	lapic_timer_start_count(l);
	okvm_vcpu_kick(l->vcpu);
}

static int lapic_set_mp_state(struct okvm_vcpu *vcpu, u32 state)
{
	struct okvm_lapic *l = vcpu->lapic;

	/* KVM: SMM (entered or pending) latches INIT, so not these. */
	if ((vcpu->in_smm || vcpu->smi_pending) &&
	    (state == KVM_MP_STATE_SIPI_RECEIVED ||
	     state == KVM_MP_STATE_INIT_RECEIVED))
		return -EINVAL;
	switch (state) {
	case KVM_MP_STATE_SIPI_RECEIVED:
		/* KVM: INIT_RECEIVED with the SIPI of sipi_vector pending. */
		l->mp_state = KVM_MP_STATE_INIT_RECEIVED;
		WRITE_ONCE(l->sipi_vector, vcpu->sipi_vector);
		/* The vector before the bit, as in lapic_accept(). */
		smp_mb__before_atomic();
		set_bit(OKVM_LAPIC_EV_SIPI, &l->events);
		return 0;
	case KVM_MP_STATE_RUNNABLE:
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_HALTED:
		l->mp_state = state;
		return 0;
	default:
		return -EINVAL;
	}
}

long okvm_lapic_vcpu_ioctl(struct okvm_vcpu *vcpu, unsigned int ioctl,
			   void __user *argp)
{
	struct okvm_lapic *l = vcpu->lapic;
	struct kvm_lapic_state *s;
	struct kvm_mp_state mp;
	long ret = 0;

	switch (ioctl) {
	case KVM_GET_MP_STATE:
		okvm_lapic_accept_events(vcpu);
		mp.mp_state = l->mp_state;
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	case KVM_SET_MP_STATE:
		if (copy_from_user(&mp, argp, sizeof(mp)))
			return -EFAULT;
		return lapic_set_mp_state(vcpu, mp.mp_state);
	case KVM_GET_LAPIC:
		s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
		if (!s)
			return -ENOMEM;
		spin_lock_irq(&l->lock);
		memcpy(s->regs, l->regs, sizeof(s->regs));
		spin_unlock_irq(&l->lock);
		*(u32 *)(s->regs + APIC_TMCCT) = lapic_timer_current(l);
		/*
		 * x2APIC mode: the 32-bit ID as it is with KVM_CAP_X2APIC_API's
		 * USE_32BIT_IDS, else KVM's old format, the ID in 31:24.
		 */
		if (lapic_x2apic(l) && !READ_ONCE(vcpu->vm->x2apic_format))
			*(u32 *)(s->regs + APIC_ID) <<= 24;
		if (copy_to_user(argp, s, sizeof(*s)))
			ret = -EFAULT;
		kfree(s);
		return ret;
	case KVM_SET_LAPIC:
		s = memdup_user(argp, sizeof(*s));
		if (IS_ERR(s))
			return PTR_ERR(s);
		/*
		 * x2APIC mode: the ID (32-bit, which must be the vCPU id, or
		 * in 31:24) and the LDR it fixes, as KVM takes them.
		 */
		if (lapic_x2apic(l)) {
			u32 *id = (u32 *)(s->regs + APIC_ID);

			if (!READ_ONCE(vcpu->vm->x2apic_format)) {
				*id >>= 24;
			} else if (*id != vcpu->id) {
				kfree(s);
				return -EINVAL;
			}
			*(u32 *)(s->regs + APIC_LDR) = lapic_x2apic_ldr(vcpu->id);
		}
		lapic_set_state(l, s);
		kfree(s);
		return 0;
	case KVM_SET_VAPIC_ADDR:
		return lapic_set_vapic_addr(vcpu, argp);
	default:
		return -ENOTTY;
	}
}

int okvm_lapic_create(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);

	if (!l)
		return -ENOMEM;
	l->vcpu = vcpu;
	spin_lock_init(&l->lock);
	init_waitqueue_head(&l->wq);
	hrtimer_init(&l->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	l->timer.function = lapic_timer_fn;
	vcpu->lapic = l;
	lapic_reset(l, false);
	/* As KVM: the BSP runs, the others wait for INIT and SIPI. */
	l->mp_state = okvm_vcpu_is_reset_bsp(vcpu) ? KVM_MP_STATE_RUNNABLE :
						     KVM_MP_STATE_UNINITIALIZED;
	return 0;
}

void okvm_lapic_free(struct okvm_vcpu *vcpu)
{
	struct okvm_lapic *l = vcpu->lapic;

	if (!l)
		return;
	hrtimer_cancel(&l->timer);
	kfree(l);
	vcpu->lapic = NULL;
}
