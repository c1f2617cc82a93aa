// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit_common.c - what the exit handlers of both vendors and the
 * emulator share: queueing an exception for the next entry, stepping
 * over an emulated instruction, the internal-error and emulation-failure
 * exits to user space, and XSETBV.
 */
#include <linux/kvm.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <uapi/asm/debugreg.h>
#include <asm/processor-flags.h>

#include "lapic.h"
#include "ops.h"
#include "x86.h"
#include "xcr0.h"

/*
 * HLT, once the vendor stepped over it: without an in-kernel irqchip it is
 * the VMM's business (KVM_EXIT_HLT), as in KVM; with one, the vCPU sleeps
 * in the run loop until an event (lapic.c). Counted either way, as KVM's
 * halt_exits (stats.c).
 */
int okvm_exit_hlt(struct okvm_vcpu *vcpu)
{
	vcpu->stat.halt_exits++;
	if (vcpu->lapic)
		return okvm_lapic_halt(vcpu);
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/* Raise @vector in the guest at the next entry (the vendor injects it). */
void okvm_queue_exception(struct okvm_vcpu *vcpu, u8 vector,
			  bool has_error_code, u32 error_code)
{
	vcpu->exception = (struct okvm_exception) {
		.pending = true,
		.vector = vector,
		.has_error_code = has_error_code,
		.error_code = error_code,
	};
}

/*
 * Step over an instruction okvm emulated. Completing an instruction ends
 * any STI/MOV SS interrupt shadow it was in (SDM Vol. 3 6.8.3), and under
 * single-stepping (RFLAGS.TF) raises the single-step trap the CPU would
 * have raised had it executed the instruction itself, with DR6.BS set
 * (SDM Vol. 3 18.3.1.4); without it the guest's debugger would stop one
 * instruction late, after the next one. When the TF is the VMM's debugger's
 * (KVM_GUESTDBG_SINGLESTEP), the stop is the debugger's: KVM_RUN returns
 * KVM_EXIT_DEBUG (guest_debug.c, okvm_guest_debug_step_exit()).
 */
void okvm_skip_insn(struct okvm_vcpu *vcpu, unsigned int len)
{
	vcpu->rip += len;
	/* Outside 64-bit mode EIP wraps at 4 GiB; only then ask the mode. */
	if (unlikely(vcpu->rip > U32_MAX) &&
	    okvm_vcpu_cpu_mode(vcpu) != OKVM_CPU_MODE_64)
		vcpu->rip = (u32)vcpu->rip;
	okvm_x86->set_interrupt_shadow(vcpu, 0);
	if (unlikely(vcpu->rflags & X86_EFLAGS_TF)) {
		if (vcpu->guest_debug.control & KVM_GUESTDBG_SINGLESTEP) {
			vcpu->guest_debug.step_exit = true;
			return;
		}
		okvm_x86->set_dr(vcpu, 6, okvm_x86->get_dr(vcpu, 6) | DR_STEP);
		okvm_queue_exception(vcpu, OKVM_DB_VECTOR, false, 0);
	}
}

int okvm_internal_error(struct okvm_vcpu *vcpu, u32 suberror, u64 data)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = data;
	run->internal.data[1] = vcpu->cpu;
	return 0;
}

/*
 * An instruction okvm cannot emulate: KVM_EXIT_INTERNAL_ERROR with suberror
 * KVM_INTERNAL_ERROR_EMULATION, laid out as KVM lays it out: data[0] is
 * the flags; then, when known, the instruction's size and bytes (padded
 * with NOPs) in two words; then five words describing the exit (the
 * vendor's exit reason, two exit qualifications, the interrupted event and
 * its error code), so that the VMM can say what the guest tried.
 *
 * As in KVM, the guest also gets a #UD for the instruction, delivered when
 * it runs again; at CPL 3 that is all: user code that okvm cannot emulate
 * is the guest kernel's business, and the VMM is not told (returns 1).
 */
int okvm_emulation_failure(struct okvm_vcpu *vcpu, const u8 *insn,
			   unsigned int len)
{
	struct kvm_run *run = vcpu->run;
	unsigned int first = 1;
	u64 info[5];

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	memset(&run->emulation_failure, 0, sizeof(run->emulation_failure));
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	if (insn && len) {
		len = min_t(unsigned int, len,
			    sizeof(run->emulation_failure.insn_bytes));
		run->emulation_failure.flags =
			KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
		run->emulation_failure.insn_size = len;
		memset(run->emulation_failure.insn_bytes, 0x90,
		       sizeof(run->emulation_failure.insn_bytes));
		memcpy(run->emulation_failure.insn_bytes, insn, len);
		first += 2;
	}
	okvm_x86->get_exit_info(vcpu, info);
	memcpy(&run->internal.data[first], info, sizeof(info));
	run->emulation_failure.ndata = first + ARRAY_SIZE(info);
	okvm_queue_exception(vcpu, OKVM_UD_VECTOR, false, 0);
	return okvm_vcpu_cpl(vcpu) == 0 ? 0 : 1;
}

/*
 * XSETBV (SDM Vol. 2): only XCR0 exists (ECX = 0); #GP unless CPL 0 and
 * the value passes every architectural rule for the components the
 * guest's CPUID offers (xcr0.h). Returns 0 when the instruction completed.
 */
int okvm_emulate_xsetbv(struct okvm_vcpu *vcpu, unsigned int cpl)
{
	u32 index = vcpu->regs[OKVM_RCX];
	u64 val = (u32)vcpu->regs[OKVM_RAX] |
		  (u64)(u32)vcpu->regs[OKVM_RDX] << 32;

	if (cpl || index != 0 ||
	    !okvm_xcr0_valid(val, vcpu->guest_xcr0_mask)) {
		okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
		return 1;
	}
	vcpu->xcr0 = val;
	return 0;
}
