// SPDX-License-Identifier: GPL-2.0-only
/*
 * run.c - KVM_RUN: the loop that enters the guest until something needs
 * the VMM (the services exit handlers share are in exit_common.c).
 *
 * One KVM_RUN, start to end (Documentation/design.rst walks through it):
 *   1. finish the I/O or MSR access the last exit left for user space
 *      (io.c, msr.c);
 *   2. swap the thread's FPU registers for the guest's;
 *   3. loop: with preemption and interrupts off, enter the guest through
 *      the vendor's vcpu_run hook; on exit, with interrupts back on (the
 *      host takes the interrupt that caused an INTR exit right there), let
 *      the vendor's handle_exit decide: run again, or return to user space;
 *      between entries, honour signals and the scheduler;
 *   4. swap the FPU back.
 * The vCPU is the calling thread: nothing pins it to a CPU, and the vendor
 * notices when it entered on another CPU than last time.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched/signal.h>
#include <linux/rcupdate.h>
#include <linux/preempt.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/pkru.h>
#include <asm/processor-flags.h>
#include <asm/smp.h>

#include "irq.h"
#include "lapic.h"
#include "ops.h"
#include "x86.h"
#include "xcr0.h"

/*
 * Since 6.10 the kernel's view of struct kvm_run renames the field user
 * space writes at any time (HINT_UNSAFE_IN_KVM), so that it is read once,
 * as here; user space still sees immediate_exit.
 */
#ifdef HINT_UNSAFE_IN_KVM
#define okvm_run_immediate_exit(run) \
	READ_ONCE((run)->HINT_UNSAFE_IN_KVM(immediate_exit))
#else
#define okvm_run_immediate_exit(run) READ_ONCE((run)->immediate_exit)
#endif

/*
 * Have the guest exit at its first instruction boundary after the entry
 * about to happen, once the event injected with it is delivered, because
 * another event waits behind it (KVM's "immediate exit"). An interrupt to
 * this CPU, which the host keeps pending while interrupts are off, does
 * it: the reschedule IPI, sent through smp_ops since 6.12's
 * smp_send_reschedule() is a traced macro. Call with interrupts off.
 */
void okvm_request_immediate_exit(void)
{
	void (*send_resched)(int cpu) = smp_ops.smp_send_reschedule;

	send_resched(smp_processor_id());
}

/*
 * Make @vcpu look at its events (irq.h). The poster made its event
 * visible first; the full barrier orders that against the read of @mode,
 * and pairs with the smp_mb() between publishing OKVM_IN_GUEST and
 * reading the events in okvm_vcpu_enter_exit(): either the vCPU sees the
 * event before it enters, or this sees it in guest mode and interrupts its
 * CPU, which makes it exit at once (the IPI waits while interrupts are off
 * on that CPU, and VMRUN/VM entry take it as an exit). A sleeper is woken.
 */
void okvm_vcpu_kick(struct okvm_vcpu *vcpu)
{
	void (*send_resched)(int cpu) = smp_ops.smp_send_reschedule;
	int cpu, me;

	/* The event before @mode: pairs with okvm_vcpu_enter_exit()'s. */
	smp_mb();
	okvm_lapic_wake(vcpu);
	me = get_cpu();
	cpu = READ_ONCE(vcpu->cpu);
	if (READ_ONCE(vcpu->mode) == OKVM_IN_GUEST && cpu != me &&
	    cpu >= 0 && cpu_online(cpu))
		send_resched(cpu);
	put_cpu();
}

/* The guest would take an external interrupt now (SDM Vol. 3 6.8.1). */
static bool okvm_interrupt_allowed(struct okvm_vcpu *vcpu)
{
	return (vcpu->rflags & X86_EFLAGS_IF) &&
	       !okvm_x86->get_interrupt_shadow(vcpu);
}

/*
 * kvm_run's ready_for_interrupt_injection: KVM_INTERRUPT would be taken by
 * the guest at once, and nothing is queued ahead of it.
 */
static bool okvm_ready_for_interrupt(struct okvm_vcpu *vcpu)
{
	return okvm_interrupt_allowed(vcpu) && !vcpu->interrupt.injected &&
	       !vcpu->exception.pending;
}

/*
 * The local APIC's events, taken at each entry with interrupts off and
 * after OKVM_IN_GUEST is published (okvm_vcpu_kick()): an NMI (LINT1, an
 * NMI IPI) joins nmi_pending, which the vendor delivers when NMIs are not
 * blocked; the highest interrupt above the PPR, or the PIC's through LINT0
 * in ExtINT mode, is acknowledged and becomes the external interrupt of
 * this entry when the guest can take it now (SDM Vol. 3 6.8.1, 10.8.4),
 * and otherwise opens the interrupt window, whose exit brings the vCPU
 * back here. Acknowledging only what is delivered at once keeps the
 * vendors' injection the same as for KVM_INTERRUPT.
 *
 * "At once" means nothing else is injected with this entry: an exception,
 * a delivery the last exit interrupted, an NMI. Each of those enters its
 * handler through an interrupt gate with RFLAGS.IF clear, so an interrupt
 * acknowledged now and injected at the entry after would land in that
 * handler with interrupts disabled (SVM's event injection does not check
 * IF: APM Vol. 2 15.20), where a Linux guest may spin forever on a lock
 * the handler holds (lapic_test's nmi_and_irq_at_once shows the wrong
 * delivery). The interrupt window instead opens once that handler allows
 * interrupts.
 */
static void okvm_inject_apic_events(struct okvm_vcpu *vcpu)
{
	struct okvm_vm *vm = vcpu->vm;
	bool pic = false;
	int vec;

	if (okvm_lapic_take_nmi(vcpu))
		vcpu->nmi_pending = true;
	if (vcpu->interrupt.injected)
		return;
	vec = okvm_lapic_pending_vector(vcpu);
	if (vec < 0)
		pic = okvm_lapic_accepts_pic(vcpu) && okvm_pic_output(vm);
	if (vec < 0 && !pic)
		return;
	if (!okvm_interrupt_allowed(vcpu) || vcpu->exception.pending ||
	    okvm_x86->event_queued(vcpu)) {
		okvm_x86->enable_irq_window(vcpu);
		return;
	}
	if (pic) {
		vec = okvm_pic_ack(vm);
		if (vec < 0)
			return;
	} else {
		okvm_lapic_ack(vcpu, vec);
	}
	vcpu->interrupt.injected = true;
	vcpu->interrupt.vector = vec;
}

/* What every return from KVM_RUN tells the VMM besides the exit. */
static void okvm_post_run_state(struct okvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(vcpu->rflags & X86_EFLAGS_IF);
	run->cr8 = okvm_sync_cr8(vcpu);
	run->apic_base = vcpu->apic_base;
	run->ready_for_interrupt_injection = okvm_ready_for_interrupt(vcpu);
}

/*
 * The guest's DR0-DR3 go into the real registers for as long as it runs,
 * whenever its DR7 enables a breakpoint (L0-L3, G0-G3; SDM Vol. 3 18.2.4).
 * VM entry loads the guest's DR7 (from the VMCB, APM Vol. 2 15.5.1; from
 * the VMCS with "load debug controls", SDM Vol. 3 27.3.2.1) but never
 * DR0-DR3: without this, the guest's DR7 would arm whatever addresses the
 * host left there, and its own breakpoints would never fire. The host's
 * breakpoints are switched off first, so that none fires on a guest
 * address in the few host instructions before entry. The exit leaves DR7
 * disabled (SDM 28.5.1, APM 15.7.2), and the vendor's exit path restores
 * the host's registers when the host uses them (hw_breakpoint_restore()).
 * Under KVM_GUESTDBG_USE_HW_BP the debugger's DR0-3 and DR7 take the
 * guest's place (guest_debug.c). Call with interrupts off.
 */
static void okvm_load_guest_debugregs(struct okvm_vcpu *vcpu)
{
	const unsigned long *dr = okvm_guest_debug_dr0_3(vcpu);

	if (!dr)
		return;
	if (hw_breakpoint_active())
		set_debugreg(0, 7);
	set_debugreg(dr[0], 0);
	set_debugreg(dr[1], 1);
	set_debugreg(dr[2], 2);
	set_debugreg(dr[3], 3);
}

/*
 * PKRU is not part of the state the kernel's guest-FPU swap exchanges
 * (fpu_swap_kvm_fpstate() leaves it out of the XRSTOR mask), and neither
 * VMRUN nor VM entry switches it: once the guest can reach PKRU (CR4.PKE
 * for RDPKRU/WRPKRU, or XCR0.PKRU for XRSTOR), okvm loads the guest's
 * before entry and puts the host's back after the exit, or the VMM thread
 * would return to user space with the guest's protection keys. The
 * guest's may only reach CR4.PKE when its CPUID offers PKU and the host
 * has it (regs.c). Call with interrupts off; returns the host's PKRU.
 */
static u32 okvm_load_guest_pkru(struct okvm_vcpu *vcpu)
{
	u32 host = read_pkru();

	vcpu->pkru_live = (vcpu->xcr0 & XFEATURE_MASK_PKRU) ||
			  (okvm_x86->get_cr(vcpu, 4) & X86_CR4_PKE);
	if (vcpu->pkru_live && vcpu->pkru != host)
		write_pkru(vcpu->pkru);
	return host;
}

static void okvm_put_host_pkru(struct okvm_vcpu *vcpu, u32 host)
{
	if (!vcpu->pkru_live)
		return;
	vcpu->pkru = rdpkru();
	if (vcpu->pkru != host)
		write_pkru(host);
}

/*
 * One entry into the guest and its exit. Returns what handle_exit returns:
 * 1 to go on, 0 to return to user space, or a negative errno.
 */
static int okvm_vcpu_enter_exit(struct okvm_vcpu *vcpu)
{
	bool xsave = static_cpu_has(X86_FEATURE_XSAVE);
	bool pku = cpu_feature_enabled(X86_FEATURE_OSPKE);
	u32 host_pkru = 0;
	u64 xcr0;
	int ret;

	preempt_disable();
	if (okvm_x86->vcpu_load)
		okvm_x86->vcpu_load(vcpu);
	local_irq_disable();

	/*
	 * Publish "in guest" before reading tlb_gen: an invalidation either
	 * sees this and kicks the CPU, or bumped tlb_gen before and the read
	 * below sees it (mmu.c, okvm_mmu_kick_vcpus()).
	 */
	WRITE_ONCE(vcpu->cpu, smp_processor_id());
	WRITE_ONCE(vcpu->mode, OKVM_IN_GUEST);
	/* Pairs with the smp_mb() in okvm_mmu_kick_vcpus(). */
	smp_mb();
	if (okvm_mmu_need_tlb_flush(vcpu))
		vcpu->tlb_flush = true;

	/* An SMI posted since okvm_smm_before_entry(): take it first. */
	if (signal_pending(current) || need_resched() ||
	    okvm_smm_posted(vcpu)) {
		WRITE_ONCE(vcpu->mode, OKVM_OUTSIDE_GUEST);
		local_irq_enable();
		preempt_enable();
		return 1;
	}

	/* A context switch since the last entry saved the guest's FPU. */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	/* KVM_GUESTDBG_BLOCKIRQ: the APIC's events wait (guest_debug.c). */
	if (vcpu->lapic && !okvm_guest_debug_blocks_irqs(vcpu))
		okvm_inject_apic_events(vcpu);
	/* KVM_RUN with request_interrupt_window: exit when it opens. */
	if (READ_ONCE(vcpu->run->request_interrupt_window) &&
	    !vcpu->interrupt.injected)
		okvm_x86->enable_irq_window(vcpu);
	/* An SMI waits behind this entry's event: exit once it is in. */
	if (okvm_smm_waits(vcpu))
		okvm_request_immediate_exit();
	xcr0 = vcpu->xcr0;
	if (xsave && xcr0 != okvm_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, xcr0);

	/*
	 * Running the guest is a quiescent state for RCU, like running user
	 * space: this keeps a guest that never exits from stalling grace
	 * periods (KVM does the same on each entry).
	 */
	rcu_note_context_switch(false);

	okvm_load_guest_debugregs(vcpu);
	if (pku)
		host_pkru = okvm_load_guest_pkru(vcpu);
	ret = okvm_x86->vcpu_run(vcpu);
	if (pku)
		okvm_put_host_pkru(vcpu, host_pkru);

	/*
	 * XCR0 is not part of the state VMRUN/VM exit switch, and okvm
	 * intercepts XSETBV, so it is still the guest's. Read it back all
	 * the same: QEMU's TCG, okvm's test bed, does not implement the
	 * XSETBV intercept and lets the guest write it directly. What the
	 * guest wrote is its XCR0 from now on, and the host's goes back.
	 */
	if (xsave) {
		u64 now = xgetbv(XCR_XFEATURE_ENABLED_MASK);

		if (now != xcr0)
			vcpu->xcr0 = now;
		if (now != okvm_host_xcr0)
			xsetbv(XCR_XFEATURE_ENABLED_MASK, okvm_host_xcr0);
	}
	WRITE_ONCE(vcpu->mode, OKVM_OUTSIDE_GUEST);
	local_irq_enable();
	preempt_enable();

	if (ret)
		return ret;
	vcpu->stat.exits++;
	return okvm_x86->handle_exit(vcpu);
}

static int okvm_vcpu_run_loop(struct okvm_vcpu *vcpu)
{
	int ret;

	for (;;) {
		/*
		 * With the APIC in the kernel, a vCPU that is halted or
		 * waits for INIT/SIPI sleeps here (design.rst, "HLT").
		 */
		if (vcpu->lapic) {
			okvm_lapic_accept_events(vcpu);
			if (okvm_lapic_mp_state(vcpu) == KVM_MP_STATE_HALTED &&
			    okvm_lapic_has_events(vcpu))
				okvm_lapic_set_runnable(vcpu);
			if (okvm_lapic_mp_state(vcpu) != KVM_MP_STATE_RUNNABLE) {
				if (okvm_lapic_block(vcpu)) {
					vcpu->run->exit_reason = KVM_EXIT_INTR;
					vcpu->stat.signal_exits++;
					return -EINTR;
				}
				continue;
			}
		}
		if (vcpu->shutdown_pending) {
			/* KVM_X86_SET_MCE's shutdown (mce.c), as KVM reports it */
			vcpu->shutdown_pending = false;
			vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
			return 0;
		}
		ret = okvm_guest_debug_step_sti(vcpu);
		if (ret <= 0)
			return ret;
		okvm_smm_before_entry(vcpu);
		okvm_kvmclock_before_entry(vcpu);
		okvm_lapic_sync_to_vapic(vcpu);
		ret = okvm_vcpu_enter_exit(vcpu);
		okvm_lapic_sync_from_vapic(vcpu);
		ret = okvm_guest_debug_step_exit(vcpu, ret);
		if (ret <= 0)
			return ret;
		if (READ_ONCE(vcpu->run->request_interrupt_window) &&
		    okvm_ready_for_interrupt(vcpu)) {
			vcpu->run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			return 0;
		}
		if (signal_pending(current)) {
			vcpu->run->exit_reason = KVM_EXIT_INTR;
			vcpu->stat.signal_exits++;
			return -EINTR;
		}
		cond_resched();
	}
}

int okvm_vcpu_ioctl_run(struct okvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u64 cr8 = READ_ONCE(run->cr8);
	sigset_t saved;
	int ret;

	/* KVM_SET_SIGNAL_MASK: the mask in force while the guest runs. */
	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &saved);

	run->flags = 0;
	/*
	 * KVM: an AP that never saw INIT sleeps until an event arrives,
	 * takes it, and returns -EAGAIN for the VMM to call KVM_RUN again.
	 */
	if (vcpu->lapic &&
	    okvm_lapic_mp_state(vcpu) == KVM_MP_STATE_UNINITIALIZED) {
		ret = okvm_lapic_block(vcpu);
		okvm_lapic_accept_events(vcpu);
		if (ret) {
			run->exit_reason = KVM_EXIT_INTR;
			vcpu->stat.signal_exits++;
		} else {
			ret = -EAGAIN;
		}
		goto out_sigmask;
	}
	/* KVM_CAP_SYNC_REGS (sync_regs.c): unknown parts are refused. */
	if ((READ_ONCE(run->kvm_valid_regs) & ~KVM_SYNC_X86_VALID_FIELDS) ||
	    (READ_ONCE(run->kvm_dirty_regs) & ~KVM_SYNC_X86_VALID_FIELDS)) {
		ret = -EINVAL;
		goto out_sigmask;
	}
	if (READ_ONCE(run->kvm_dirty_regs)) {
		ret = okvm_sync_regs_from_run(vcpu);
		if (ret)
			goto out_sigmask;
	}
	/* With a local APIC, CR8 is the TPR's and kvm_run's is ignored. */
	if (vcpu->lapic)
		goto run;
	/*
	 * Without a local APIC, KVM takes CR8 from kvm_run on every KVM_RUN,
	 * before anything else, and refuses TPR values above 15 (the VMM
	 * sees -EINVAL; kvm_set_cr8()). Like KVM_SET_SREGS' cr8, it is the
	 * value the VMM reads back (regs.c, okvm_sync_cr8()).
	 */
	if (cr8 & ~0xfULL) {
		ret = -EINVAL;
		goto out_sigmask;
	}
	okvm_sync_cr8(vcpu);
	vcpu->cr8 = cr8;
run:
	fpu_swap_kvm_fpstate(&vcpu->fpu, true);

	/* Data for the IN or MMIO read of the last exit, as KVM does first. */
	ret = okvm_complete_io(vcpu);
	if (ret <= 0)
		goto out;
	/* The VMM's answer to a KVM_EXIT_X86_RDMSR/WRMSR (msr.c). */
	okvm_msr_complete_user(vcpu);
	/* Either completed an instruction while single-stepping for a debugger. */
	ret = okvm_guest_debug_step_exit(vcpu, ret);
	if (ret <= 0)
		goto out;

	/* Asked to return at once, after completing I/O (KVM api.rst 5). */
	if (okvm_run_immediate_exit(run)) {
		ret = -EINTR;
		goto out;
	}
	ret = okvm_vcpu_run_loop(vcpu);
out:
	fpu_swap_kvm_fpstate(&vcpu->fpu, false);
out_sigmask:
	if (READ_ONCE(run->kvm_valid_regs))
		okvm_sync_regs_to_run(vcpu);
	okvm_post_run_state(vcpu);
	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	return ret;
}
