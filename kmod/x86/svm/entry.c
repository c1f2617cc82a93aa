// SPDX-License-Identifier: GPL-2.0-only
/*
 * entry.c - one trip into the guest: VMCB up to date, VMRUN, and the state
 * the exit left behind collected (AMD APM Vol. 2 15.5-15.7).
 */
#include <linux/hw_breakpoint.h>
#include <asm/debugreg.h>

#include "svm.h"
#include "../spec.h"
#include "../x86.h"

/*
 * An event whose delivery the exit interrupted (EXITINTINFO, APM 15.7.2)
 * must be delivered again, or the guest loses it: typically an exception
 * whose IDT entry or stack page was not yet mapped in the nested tables.
 * Software interrupts and the INT3/INTO exceptions are the exception: the
 * guest's RIP still points at the instruction, which raises them again.
 */
static void svm_save_interrupted_event(struct svm_vcpu *svm)
{
	u64 info = svm->vmcb->control.exit_int_info;
	u32 type = info & SVM_EVTINJ_TYPE_MASK;
	u8 vector = info & SVM_EVTINJ_VECTOR_MASK;

	svm->reinject = 0;
	if (!(info & SVM_EVTINJ_VALID))
		return;
	if (type == SVM_EVTINJ_TYPE_SOFT)
		return;
	if (type == SVM_EVTINJ_TYPE_EXEPT && (vector == 3 || vector == 4))
		return;
	svm->reinject = info;
}

/* An NMI may be delivered now: not blocked, and not still at the IRET. */
static bool svm_nmi_deliverable(struct okvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (svm->awaiting_iret && vcpu->rip != svm->iret_rip)
		svm->awaiting_iret = false;
	return vcpu->nmi_pending && !vcpu->nmi_masked && !svm->awaiting_iret;
}

/* An event svm_event_to_inject() puts ahead of an external interrupt. */
bool svm_event_queued(struct okvm_vcpu *vcpu)
{
	return to_svm(vcpu)->reinject || svm_nmi_deliverable(vcpu);
}

/*
 * What goes into EVENTINJ for this entry (APM 15.20), in the order the CPU
 * would deliver them: an interrupted delivery first, then an exception, an
 * NMI, an external interrupt. One event per VMRUN.
 */
static u64 svm_event_to_inject(struct okvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct okvm_exception *e = &vcpu->exception;
	u64 inj;

	if (svm->reinject) {
		inj = svm->reinject;
		svm->reinject = 0;
		return inj;
	}
	if (e->pending) {
		e->pending = false;
		inj = e->vector | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID;
		if (e->has_error_code)
			inj |= SVM_EVTINJ_VALID_ERR | (u64)e->error_code << 32;
		return inj;
	}
	if (svm_nmi_deliverable(vcpu)) {
		vcpu->nmi_pending = false;
		vcpu->nmi_masked = true;
		return 2 | SVM_EVTINJ_TYPE_NMI | SVM_EVTINJ_VALID;
	}
	if (vcpu->interrupt.injected) {
		vcpu->interrupt.injected = false;
		return vcpu->interrupt.vector | SVM_EVTINJ_TYPE_INTR |
		       SVM_EVTINJ_VALID;
	}
	return 0;
}

int svm_vcpu_run(struct okvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	int ret;

	ret = svm_prepare_cpu(svm);
	if (ret)
		return ret;

	vmcb->save.rax = vcpu->regs[OKVM_RAX];
	vmcb->save.rsp = vcpu->regs[OKVM_RSP];
	vmcb->save.rip = vcpu->rip;
	vmcb->save.rflags = vcpu->rflags;
	vmcb->control.event_inj = svm_event_to_inject(vcpu);
	/* While NMIs are blocked, the handler's IRET unblocks them. */
	if (vcpu->nmi_masked)
		vmcb->control.intercept_misc1 |= SVM_INTERCEPT1_IRET;
	else
		vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT1_IRET;
	/* Another event waits behind this one: exit right after delivery. */
	if (vmcb->control.event_inj &&
	    (vcpu->exception.pending || vcpu->interrupt.injected ||
	     svm_nmi_deliverable(vcpu)))
		okvm_request_immediate_exit();
	svm_load_guest_tsc_aux(vcpu->tsc_aux);
	/* An MSR filter denies something: every MSR access exits. */
	vmcb->control.msrpm_base_pa = READ_ONCE(vcpu->vm->msr_intercept_all) ?
				      svm_msrpm_all_pa : svm_msrpm_pa;
	/* No clean bits: VMRUN reloads everything (APM 15.15.3). */
	vmcb->control.clean = 0;

	/*
	 * GIF off: from loading the guest's segment state to VMRUN, and from
	 * the exit to restoring the host's, nothing may interrupt this CPU,
	 * not even an NMI (APM 15.17).
	 */
	asm volatile("clgi" ::: "memory");
	okvm_svm_vmrun(svm->vmcb_pa, vcpu->regs, svm_host_vmsave_pa());
	asm volatile("stgi" ::: "memory");
	okvm_spec_after_exit();
	/* Interrupts still off, so on the CPU that took it (x86.c). */
	if (vmcb->control.exit_code == SVM_EXIT_EXCP_BASE + OKVM_MC_VECTOR)
		okvm_machine_check();

	/* #VMEXIT disabled the host's breakpoints (DR7 = 0x400, APM 15.7). */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	vmcb->control.tlb_control = SVM_TLB_NOTHING;
	vcpu->regs[OKVM_RAX] = vmcb->save.rax;
	vcpu->regs[OKVM_RSP] = vmcb->save.rsp;
	vcpu->rip = vmcb->save.rip;
	vcpu->rflags = vmcb->save.rflags;
	svm_save_interrupted_event(svm);
	return 0;
}
