// SPDX-License-Identifier: GPL-2.0-only
/*
 * debug.c - KVM_SET_GUEST_DEBUG under SVM: the intercepts a debugger in
 * user space needs, and its exits (x86/guest_debug.c has the rules).
 *
 * #DB is always intercepted (vmcb.c); while the debugger single-steps or
 * uses the hardware breakpoints, each #DB is its stop. #BP is intercepted
 * under KVM_GUESTDBG_USE_SW_BP (exception intercepts, APM Vol. 2 15.12).
 * While the debugger owns DR6 and perhaps DR7 (okvm_guest_debug_owns_dr6()),
 * the guest's are kept in the svm_vcpu and MOV to or from any of DR0-DR7
 * exits (DR read/write intercepts, APM 15.12.2, "Debug Register Access
 * Intercepts"): the VMCB's DR7 is the debugger's, and its DR6 is cleared
 * before each VMRUN, so that a stop's DR6 has that stop's bits alone.
 */
#include <linux/hw_breakpoint.h>
#include <asm/debugreg.h>
#include <asm/processor.h>

#include "svm.h"
#include "../x86.h"

/* The opcodes an INTn intercept can stop at (below). */
#define SVM_OP_INT3	0xcc
#define SVM_OP_INTN	0xcd
#define SVM_OP_INTO	0xce

void svm_update_guest_debug(struct okvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control *c = &vmcb->control;
	bool own = okvm_guest_debug_owns_dr6(vcpu);

	/* INTn too: QEMU's TCG takes INT3 for one (svm_exit_swint()). */
	if (vcpu->guest_debug.control & KVM_GUESTDBG_USE_SW_BP) {
		c->intercept_exceptions |= BIT(OKVM_BP_VECTOR);
		c->intercept_misc1 |= SVM_INTERCEPT1_INTN;
	} else {
		c->intercept_exceptions &= ~BIT(OKVM_BP_VECTOR);
		c->intercept_misc1 &= ~SVM_INTERCEPT1_INTN;
	}
	if (own && !svm->dbg_owned) {
		svm->dr6 = vmcb->save.dr6;
		svm->dr7 = vmcb->save.dr7;
		c->intercept_dr = SVM_INTERCEPT_DR0_7;
	} else if (!own && svm->dbg_owned) {
		vmcb->save.dr6 = svm->dr6;
		vmcb->save.dr7 = svm->dr7;
		c->intercept_dr = SVM_INTERCEPT_DR0_3;
	}
	svm->dbg_owned = own;
	if (own)
		vmcb->save.dr7 = okvm_guest_debug_dr7(vcpu);
}

/* A #DB while the debugger owns DR6: its stop, as the CPU recorded it. */
int svm_exit_db(struct okvm_vcpu *vcpu)
{
	const struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;

	return okvm_debug_exit(vcpu, OKVM_DB_VECTOR, s->dr6, s->dr7);
}

/* INT3 under KVM_GUESTDBG_USE_SW_BP: RIP is the INT3's (a fault, 15.12). */
int svm_exit_bp(struct okvm_vcpu *vcpu)
{
	return okvm_debug_exit(vcpu, OKVM_BP_VECTOR, 0, 0);
}

/*
 * INT n, INT3 or INTO under KVM_GUESTDBG_USE_SW_BP. On AMD hardware INT3
 * raises #BP, which the exception intercept catches; QEMU's TCG (the test
 * bed) delivers INT3 and INTO as software interrupts and checks the INTn
 * intercept instead, never the #BP one, so an INT3 would reach the guest.
 * An INT3 here is the debugger's stop; INT n and INTO go on to the guest
 * as the software interrupts they are, injected with RIP past them (APM
 * 15.20, EVENTINJ type 4; NRIP for CPUs that push it).
 */
int svm_exit_swint(struct okvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u8 buf[OKVM_INSN_MAX_LEN];
	struct okvm_page_fault pf;
	unsigned int len = 1;
	u8 vector;
	int n;

	n = okvm_fetch_insn(vcpu, buf, &pf);
	if (n < 1)
		return okvm_emulation_failure(vcpu, NULL, 0);
	switch (buf[0]) {
	case SVM_OP_INT3:
		return svm_exit_bp(vcpu);
	case SVM_OP_INTO:
		vector = 4;
		break;
	case SVM_OP_INTN:
		if (n < 2)
			return okvm_emulation_failure(vcpu, buf, n);
		vector = buf[1];
		len = 2;
		break;
	default:
		return okvm_emulation_failure(vcpu, buf, n);
	}
	vcpu->rip += len;
	svm->vmcb->control.next_rip = vcpu->rip;
	svm->reinject = vector | SVM_EVTINJ_TYPE_SOFT | SVM_EVTINJ_VALID;
	return 1;
}

/*
 * Write the DR7 the VMCB holds into the real DR7 too, right before VMRUN.
 * VMRUN loads DR7 from the VMCB (APM 15.5.1), so on AMD hardware this
 * changes nothing; QEMU's TCG up to at least 7.2, the test bed, assigns
 * the VMCB's DR7 at VMRUN without arming its breakpoints, which only a
 * MOV to DR7 does, so neither the guest's breakpoints nor a debugger's
 * would ever fire there. Between this write and VMRUN the host runs with
 * the guest's breakpoints armed: a data breakpoint is a trap, which the
 * host's #DB handler ignores when no perf event owns it, but an execute
 * breakpoint on the host's own code would fault again and again; so the
 * write is skipped when an execute breakpoint is enabled at a kernel-half
 * address (the guest's kernel code, which then stops only on hardware).
 * TCG keeps what a MOV to DR7 armed until the next MOV to DR7, across the
 * #VMEXIT, and fires an armed execute breakpoint whatever DR7 says then:
 * the guest would take #DBs after its debugger let go, and the VMM's
 * process at the same address too. So svm_vcpu_run() writes DR7 again
 * after the exit when this returns true. A DR7 with bits 63:32 set (a
 * debugger's debugreg[7] is taken unchecked, as KVM does) would make the
 * MOV fault in the host (SDM Vol. 2, MOV DRn: #GP): it is left to VMRUN,
 * which refuses it (APM 15.5.1). Call with interrupts off, after run.c
 * loaded DR0-3.
 */
bool svm_preload_dr7(struct okvm_vcpu *vcpu)
{
	const unsigned long *dr = okvm_guest_debug_dr0_3(vcpu);
	unsigned long dr7 = to_svm(vcpu)->vmcb->save.dr7;
	unsigned int i;

	if (!dr || dr7 >> 32)
		return false;
	for (i = 0; i < 4; i++) {
		bool enabled = (dr7 >> (i * DR_ENABLE_SIZE)) & 3;
		unsigned int rw = (dr7 >> (DR_CONTROL_SHIFT +
					   i * DR_CONTROL_SIZE)) & 3;

		if (enabled && rw == DR_RW_EXECUTE && dr[i] >= TASK_SIZE_MAX)
			return false;
	}
	set_debugreg(dr7, 7);
	return true;
}
