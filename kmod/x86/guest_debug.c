// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_debug.c - a debugger in user space (QEMU's gdbstub, say) on top
 * of the guest's own debugging: KVM_SET_GUEST_DEBUG, the KVM_EXIT_DEBUG
 * exits it asks for, and the guest's MOV to and from debug registers,
 * which both vendors hand here once intercepted.
 *
 * KVM's rules, which okvm keeps (KVM's api.rst, KVM_SET_GUEST_DEBUG):
 * - KVM_GUESTDBG_USE_SW_BP: #BP is intercepted; the exit reports vector
 *   3 and the linear address of the INT3.
 * - KVM_GUESTDBG_USE_HW_BP: debugreg[0..3] and [7] are what the hardware's
 *   DR0-3 and DR7 hold while the guest runs; the guest still reads and
 *   writes its own (the vendor intercepts DR6/DR7 too) and its own
 *   breakpoints are off meanwhile.
 * - KVM_GUESTDBG_SINGLESTEP: RFLAGS.TF is set behind the VMM's back
 *   (KVM_GET_REGS does not show it, KVM_SET_REGS keeps it only at the RIP
 *   where stepping began), the CPU's trap after each instruction exits,
 *   and an instruction okvm completes itself exits the same way.
 * - With USE_HW_BP or SINGLESTEP every #DB is the debugger's, and the
 *   hardware's DR6 is cleared before each entry (the vendor keeps the
 *   guest's aside), so that the exit's dr6 says what this stop was.
 * - KVM_GUESTDBG_BLOCKIRQ: no interrupt or NMI is injected meanwhile.
 * - KVM_GUESTDBG_INJECT_DB/INJECT_BP queue a #DB/#BP for the guest,
 *   whatever KVM_GUESTDBG_ENABLE says, or fail with EBUSY when an
 *   exception is queued already. Without KVM_GUESTDBG_ENABLE the other
 *   flags are dropped. KVM 6.1 does not check for unknown flags; they
 *   are kept without effect here too.
 */
#include <linux/kvm.h>
#include <linux/uaccess.h>
#include <uapi/asm/debugreg.h>
#include <asm/processor-flags.h>

#include "ops.h"
#include "x86.h"

/* Opcodes (SDM Vol. 2: INT n/INTO/INT3/INT1, STI). */
#define OKVM_OP_INT3	0xcc
#define OKVM_OP_INTN	0xcd
#define OKVM_OP_STI	0xfb

/* The breakpoints DR7 enables, locally or globally (SDM Vol. 3 18.2.4). */
#define OKVM_DR7_BP_ENABLED	0xffUL

bool okvm_guest_debug_owns_dr6(struct okvm_vcpu *vcpu)
{
	return vcpu->guest_debug.control &
	       (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP);
}

/* The DR7 the hardware holds while the guest runs. */
unsigned long okvm_guest_debug_dr7(struct okvm_vcpu *vcpu)
{
	if (vcpu->guest_debug.control & KVM_GUESTDBG_USE_HW_BP)
		return vcpu->guest_debug.dr7;
	return okvm_x86->get_dr(vcpu, 7);
}

/*
 * The DR0-3 the hardware holds while the guest runs, or NULL when that
 * DR7 arms none of them (run.c then leaves the registers alone).
 */
const unsigned long *okvm_guest_debug_dr0_3(struct okvm_vcpu *vcpu)
{
	if (!(okvm_guest_debug_dr7(vcpu) & OKVM_DR7_BP_ENABLED))
		return NULL;
	if (vcpu->guest_debug.control & KVM_GUESTDBG_USE_HW_BP)
		return vcpu->guest_debug.dr;
	return vcpu->dr;
}

static unsigned long okvm_linear_rip(struct okvm_vcpu *vcpu)
{
	return okvm_seg_linear(vcpu, OKVM_SEG_CS, vcpu->rip);
}

/* RFLAGS as the VMM sees them: without the debugger's TF. */
unsigned long okvm_get_rflags(struct okvm_vcpu *vcpu)
{
	if (vcpu->guest_debug.control & KVM_GUESTDBG_SINGLESTEP)
		return vcpu->rflags & ~X86_EFLAGS_TF;
	return vcpu->rflags;
}

/*
 * RFLAGS from the VMM (KVM_SET_REGS, sync regs): the debugger's TF is
 * added while the vCPU is still at the RIP where single-stepping began,
 * as KVM does (after KVM_SET_REGS moved RIP elsewhere, stepping stops
 * until the next KVM_SET_GUEST_DEBUG).
 */
void okvm_set_rflags(struct okvm_vcpu *vcpu, unsigned long rflags)
{
	if ((vcpu->guest_debug.control & KVM_GUESTDBG_SINGLESTEP) &&
	    okvm_linear_rip(vcpu) == vcpu->guest_debug.singlestep_rip)
		rflags |= X86_EFLAGS_TF;
	vcpu->rflags = rflags;
}

/*
 * KVM_EXIT_DEBUG for @vector at the current RIP. KVM fills dr6 and dr7
 * for #DB only, and leaves what was there for #BP.
 */
int okvm_debug_exit(struct okvm_vcpu *vcpu, u8 vector, unsigned long dr6,
		    unsigned long dr7)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_DEBUG;
	run->debug.arch.exception = vector;
	run->debug.arch.pc = okvm_linear_rip(vcpu);
	if (vector == OKVM_DB_VECTOR) {
		run->debug.arch.dr6 = dr6;
		run->debug.arch.dr7 = dr7;
	}
	return 0;
}

/*
 * After okvm completed an instruction itself (okvm_skip_insn()) while
 * single-stepping for the debugger: the exit the CPU's single-step trap
 * would have caused, DR6 with BS alone. Returns 0 for KVM_RUN to return
 * with it, or @ret when no such exit is due.
 */
int okvm_guest_debug_step_exit(struct okvm_vcpu *vcpu, int ret)
{
	if (!vcpu->guest_debug.step_exit)
		return ret;
	vcpu->guest_debug.step_exit = false;
	if (ret != 1)
		return ret;	/* the instruction's own exit wins (KVM: HLT) */
	return okvm_debug_exit(vcpu, OKVM_DB_VECTOR, DR6_RESERVED | DR_STEP,
			       okvm_guest_debug_dr7(vcpu));
}

/*
 * STI, stepped for the debugger, is executed here rather than by the
 * CPU: QEMU's TCG and Bochs, the test beds, raise no single-step trap
 * after STI (the trap comes one instruction later), where hardware traps
 * right after it, which is what KVM's debug_regs test holds KVM to. STI
 * sets IF and starts an interrupt shadow (SDM Vol. 2 STI); it faults
 * with CPL > IOPL in protected mode and in virtual-8086 mode without IOPL
 * 3, which is left to the CPU, as is an STI an event queued for this
 * entry would come before. Returns 0 with KVM_EXIT_DEBUG when STI was
 * stepped, 1 to enter the guest.
 */
int okvm_guest_debug_step_sti(struct okvm_vcpu *vcpu)
{
	struct okvm_page_fault pf;
	u8 buf[OKVM_INSN_MAX_LEN];
	unsigned int iopl;

	if (!(vcpu->guest_debug.control & KVM_GUESTDBG_SINGLESTEP) ||
	    !(vcpu->rflags & X86_EFLAGS_TF) || vcpu->exception.pending ||
	    vcpu->interrupt.injected || vcpu->nmi_pending)
		return 1;
	if (okvm_fetch_insn(vcpu, buf, &pf) < 1 || buf[0] != OKVM_OP_STI)
		return 1;
	iopl = (vcpu->rflags & X86_EFLAGS_IOPL) >> X86_EFLAGS_IOPL_BIT;
	if ((okvm_x86->get_cr(vcpu, 0) & X86_CR0_PE) &&
	    ((vcpu->rflags & X86_EFLAGS_VM) ? iopl != 3 :
	     okvm_vcpu_cpl(vcpu) > iopl))
		return 1;
	vcpu->rflags |= X86_EFLAGS_IF;
	okvm_skip_insn(vcpu, 1);
	okvm_x86->set_interrupt_shadow(vcpu, KVM_X86_SHADOW_INT_STI);
	return okvm_guest_debug_step_exit(vcpu, 1);
}

/*
 * KVM_GUESTDBG_INJECT_BP: #BP as if the INT3 at RIP raised it, so the
 * guest's handler returns after it. KVM's SVM decodes whatever is at RIP
 * and KVM's VMX uses the length of the last #BP exit's instruction; both
 * step over the INT3 the debugger stopped at, and so does okvm, which
 * steps over an INT3 or INT 3 at RIP and over nothing else.
 */
static void okvm_queue_bp(struct okvm_vcpu *vcpu)
{
	struct okvm_page_fault pf;
	u8 buf[OKVM_INSN_MAX_LEN];
	int n = okvm_fetch_insn(vcpu, buf, &pf);

	if (n >= 1 && buf[0] == OKVM_OP_INT3)
		vcpu->rip += 1;
	else if (n >= 2 && buf[0] == OKVM_OP_INTN && buf[1] == OKVM_BP_VECTOR)
		vcpu->rip += 2;
	okvm_queue_exception(vcpu, OKVM_BP_VECTOR, false, 0);
}

long okvm_vcpu_set_guest_debug(struct okvm_vcpu *vcpu, void __user *argp)
{
	struct okvm_guest_debug *gd = &vcpu->guest_debug;
	struct kvm_guest_debug dbg;
	unsigned long rflags;
	unsigned int i;

	if (copy_from_user(&dbg, argp, sizeof(dbg)))
		return -EFAULT;
	if (dbg.control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		if (vcpu->exception.pending)
			return -EBUSY;
		if (dbg.control & KVM_GUESTDBG_INJECT_DB)
			okvm_queue_exception(vcpu, OKVM_DB_VECTOR, false, 0);
		else
			okvm_queue_bp(vcpu);
	}

	/* RFLAGS without the old flags' TF, to set again under the new. */
	rflags = okvm_get_rflags(vcpu);
	gd->control = dbg.control & KVM_GUESTDBG_ENABLE ? dbg.control : 0;
	if (gd->control & KVM_GUESTDBG_USE_HW_BP) {
		for (i = 0; i < ARRAY_SIZE(gd->dr); i++)
			gd->dr[i] = dbg.arch.debugreg[i];
		gd->dr7 = dbg.arch.debugreg[7];
	}
	gd->singlestep_rip = okvm_linear_rip(vcpu);
	gd->step_exit = false;
	okvm_set_rflags(vcpu, rflags);
	okvm_x86->update_guest_debug(vcpu);
	return 0;
}

/* DR6 and DR7 bits software can change (SDM Vol. 3 18.2.3, 18.2.4). */
#define OKVM_DR6_WRITABLE	0x0000e00fUL	/* B0-B3, BD, BS, BT */
#define OKVM_DR7_WRITABLE	0xffff2bffUL
#define OKVM_DR7_FIXED_1	0x00000400UL
#define OKVM_DR6_BD		BIT(13)
#define OKVM_DR7_GD		BIT(13)

/*
 * MOV to or from debug register @dr, general register @reg of @size
 * bytes, intercepted (the vendors intercept DR0-3 always, and DR6/DR7
 * while the debugger owns the hardware's). Intercepts of MOV DR take
 * priority over the checks the instruction makes itself (SDM Vol. 3
 * 26.1.1, 25.1.3; QEMU's TCG does the same with SVM), so they are made
 * here, in the CPU's order: #GP at CPL > 0, #UD for DR4/DR5 with CR4.DE
 * (else they alias DR6/DR7), then the general-detect #DB of DR7.GD,
 * which clears GD and sets DR6.BD before the handler runs (SDM Vol. 3
 * 18.2.4); a GD the debugger set in its DR7 stops in the debugger
 * instead, as in KVM. Returns 1 to re-enter, 0 for KVM_EXIT_DEBUG.
 */
int okvm_emulate_mov_dr(struct okvm_vcpu *vcpu, unsigned int dr,
			unsigned int reg, unsigned int size, bool write,
			unsigned int len)
{
	unsigned long dr7 = okvm_guest_debug_dr7(vcpu);
	unsigned long val;

	if (okvm_vcpu_cpl(vcpu)) {
		okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
		return 1;
	}
	if (dr == 4 || dr == 5) {
		if (okvm_x86->get_cr(vcpu, 4) & X86_CR4_DE) {
			okvm_queue_exception(vcpu, OKVM_UD_VECTOR, false, 0);
			return 1;
		}
		dr += 2;
	}
	if (dr7 & OKVM_DR7_GD) {
		if (vcpu->guest_debug.control & KVM_GUESTDBG_USE_HW_BP)
			return okvm_debug_exit(vcpu, OKVM_DB_VECTOR,
					       DR6_RESERVED | OKVM_DR6_BD, dr7);
		okvm_x86->set_dr(vcpu, 7, dr7 & ~OKVM_DR7_GD);
		val = okvm_x86->get_dr(vcpu, 6) & ~DR_TRAP_BITS;
		okvm_x86->set_dr(vcpu, 6, val | OKVM_DR6_BD);
		okvm_queue_exception(vcpu, OKVM_DB_VECTOR, false, 0);
		return 1;
	}
	if (!write) {
		val = dr < 4 ? vcpu->dr[dr] : okvm_x86->get_dr(vcpu, dr);
		okvm_write_gpr(vcpu, reg, val, size);
	} else {
		val = okvm_read_gpr(vcpu, reg, size);
		if (dr < 4) {
			vcpu->dr[dr] = val;
		} else if (val >> 32) {
			/* DR6/DR7 bits 63:32 are reserved: #GP (SDM 18.2). */
			okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
			return 1;
		} else if (dr == 6) {
			okvm_x86->set_dr(vcpu, 6,
					 (val & OKVM_DR6_WRITABLE) | DR6_RESERVED);
		} else {
			okvm_x86->set_dr(vcpu, 7, (val & OKVM_DR7_WRITABLE) |
					 OKVM_DR7_FIXED_1);
		}
	}
	okvm_skip_insn(vcpu, len);
	return 1;
}
