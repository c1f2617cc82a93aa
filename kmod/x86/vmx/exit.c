// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit.c - what okvm does for each VM-exit reason (Intel SDM Vol. 3C
 * Appendix C lists them; chapter 26 says which instructions and events
 * cause them).
 *
 * Most handlers turn the exit into the same generic action as the SVM
 * handler of the same event (x86/run.c, io.c, msr.c, cpuid.c). Unlike
 * SVM without NRIP save, VMX always reports the length of the instruction
 * that exited (SDM 28.2.5), and for CR, DR and I/O exits the exit
 * qualification names the register or port, so nothing is decoded here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hw_breakpoint.h>
#include <asm/debugreg.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "vmx.h"
#include "../lapic.h"
#include "../x86.h"

static void vmx_skip(struct okvm_vcpu *vcpu)
{
	okvm_skip_insn(vcpu, to_vmx(vcpu)->exit_insn_len);
}

static int vmx_exit_cpuid(struct okvm_vcpu *vcpu)
{
	okvm_emulate_cpuid(vcpu);
	vmx_skip(vcpu);
	return 1;
}

/* HLT: step over it; okvm_exit_hlt() (exit_common.c) does the rest. */
static int vmx_exit_hlt(struct okvm_vcpu *vcpu)
{
	vmx_skip(vcpu);
	return okvm_exit_hlt(vcpu);
}

/* SDM 28.2.1, Table 28-5: size, direction, string, port. */
static int vmx_exit_io(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long q = vmx->exit_qual;

	return okvm_emulate_pio(vcpu, q >> IO_QUAL_PORT_SHIFT,
				(q & IO_QUAL_SIZE_MASK) + 1, q & IO_QUAL_IN,
				q & IO_QUAL_STRING,
				vcpu->rip + vmx->exit_insn_len);
}

static int vmx_exit_msr(struct okvm_vcpu *vcpu, bool write)
{
	unsigned int len = to_vmx(vcpu)->exit_insn_len;

	return write ? okvm_handle_wrmsr(vcpu, len) :
		       okvm_handle_rdmsr(vcpu, len);
}

/*
 * KVM_EXIT_INTERNAL_ERROR with suberror KVM_INTERNAL_ERROR_DELIVERY_EV, laid
 * out as kvm-intel does: the event, the exit reason and qualification, the
 * GPA, the CPU.
 */
static int vmx_delivery_error(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct kvm_run *run = vcpu->run;

	okvm_vm_warn(vcpu->vm, "vcpu%u: delivering event %#x touched unbacked GPA %#llx\n",
		     vcpu->id, vmx->exit_idt_info, vmx->exit_gpa);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
	run->internal.ndata = 5;
	run->internal.data[0] = vmx->exit_idt_info;
	run->internal.data[1] = vmx->exit_reason;
	run->internal.data[2] = vmx->exit_qual;
	run->internal.data[3] = vmx->exit_gpa;
	run->internal.data[4] = vcpu->cpu;
	return 0;
}

/*
 * An EPT violation (SDM 29.3.3.2): map the page if a memslot has it;
 * otherwise the access is MMIO, emulated from the instruction's bytes.
 */
static int vmx_exit_ept_violation(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long q = vmx->exit_qual;
	int ret;

	/*
	 * SDM 28.2.3: a violation inside an IRET that unblocked NMIs must
	 * leave them blocked again when the IRET is restarted.
	 */
	if ((q & INTR_INFO_NMI_UNBLOCKED_BY_IRET) &&
	    !(vmx->exit_idt_info & INTR_INFO_VALID))
		vcpu->nmi_masked = true;

	ret = okvm_mmu_page_fault(vcpu, vmx->exit_gpa, q & EPT_QUAL_WRITE);
	if (ret)
		return ret;	/* mapped (1), or an error */
	/*
	 * Delivering an event (IDT-vectoring information valid) touched a
	 * GPA no memslot backs: the IDT, a stack or a page table in MMIO.
	 * Nothing can emulate that; kvm-intel reports it as here.
	 */
	if (vmx->exit_idt_info & INTR_INFO_VALID)
		return vmx_delivery_error(vcpu);
	if (q & EPT_QUAL_FETCH) {
		/* Code outside RAM: KVM cannot emulate it either. */
		okvm_vm_warn(vcpu->vm, "vcpu%u: instruction fetch from MMIO at %#llx\n",
			     vcpu->id, vmx->exit_gpa);
		return okvm_emulation_failure(vcpu, NULL, 0);
	}
	return okvm_emulate_mmio(vcpu, vmx->exit_gpa, q & EPT_QUAL_WRITE);
}

/*
 * A triple fault (SDM 26.2 "Other Causes of VM Exits"). Unlike a VMCB after
 * a shutdown intercept, the VMCS then holds the guest state of the fault,
 * so okvm, like kvm-intel, only tells the VMM: a KVM_RUN without a
 * KVM_SET_SREGS in between faults the same way again.
 */
static int vmx_exit_triple_fault(struct okvm_vcpu *vcpu)
{
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

static int vmx_exit_xsetbv(struct okvm_vcpu *vcpu)
{
	if (okvm_emulate_xsetbv(vcpu, okvm_vcpu_cpl(vcpu)) == 0)
		vmx_skip(vcpu);
	return 1;
}

/* Nothing to flush: the guest's memory is the host's, kept coherent. */
static int vmx_exit_skip(struct okvm_vcpu *vcpu)
{
	vmx_skip(vcpu);
	return 1;
}

/*
 * The VMX instructions (no nested virtualization), GETSEC and RSM: #UD,
 * as on a CPU without them, and as okvm's SVM side does.
 */
static int vmx_exit_ud(struct okvm_vcpu *vcpu)
{
	okvm_queue_exception(vcpu, OKVM_UD_VECTOR, false, 0);
	return 1;
}

/* RDPMC: the guest has no PMU in its CPUID, and host counters stay private. */
static int vmx_exit_gp(struct okvm_vcpu *vcpu)
{
	okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
	return 1;
}

/* The width of MOV CR/DR's register operand: 64 bits in 64-bit mode. */
static unsigned int vmx_mov_size(struct okvm_vcpu *vcpu)
{
	return okvm_vcpu_cpu_mode(vcpu) == OKVM_CPU_MODE_64 ? 8 : 4;
}

/*
 * MOV to CR0 that changes a bit the host owns (CR0.NE, vmcs.c): the CPU
 * did nothing, so okvm performs the whole write, with the checks and the
 * side effects MOV to CR0 has (SDM Vol. 2 MOV-Move to/from Control
 * Registers; Vol. 3A 10.8.5 for entering and leaving IA-32e mode).
 */
static int vmx_mov_to_cr0(struct okvm_vcpu *vcpu, unsigned long val)
{
	unsigned long old = vmx_get_cr(vcpu, 0);
	u64 efer = vmx_get_efer(vcpu);

	if ((val >> 32) || ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
	    ((val & X86_CR0_PG) && !(val & X86_CR0_PE)))
		return -EINVAL;
	if ((val & X86_CR0_PG) && !(old & X86_CR0_PG) && (efer & EFER_LME)) {
		if (!(vmx_get_cr(vcpu, 4) & X86_CR4_PAE))
			return -EINVAL;
		vmx_set_efer(vcpu, efer | EFER_LMA);
	} else if (!(val & X86_CR0_PG) && (efer & EFER_LMA)) {
		vmx_set_efer(vcpu, efer & ~EFER_LMA);
	}
	vmx_set_cr(vcpu, 0, val);
	return 0;
}

/*
 * MOV to CR4 touching a host-owned bit (vmcs.c): the generic checks
 * against the guest's CPUID (regs.c), after the bits VMX operation does
 * not allow at all. Returns 0, or -EINVAL when the caller must raise #GP.
 */
static int vmx_mov_to_cr4(struct okvm_vcpu *vcpu, unsigned long val)
{
	if (val & ~vmx_config.cr4_fixed1)
		return -EINVAL;
	return okvm_emulate_mov_to_cr4(vcpu, val);
}

/* MOV to CR8 ("CR8-load exiting"): the generic rules (regs.c). */
static int vmx_mov_to_cr8(struct okvm_vcpu *vcpu, u64 val)
{
	int ret = okvm_emulate_mov_to_cr8(vcpu, val);

	if (ret < 0) {
		okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
		return 1;
	}
	vmx_skip(vcpu);
	return ret;
}

/* SDM 28.2.1, Table 28-3: which CR, which direction, which register. */
static int vmx_exit_cr(struct okvm_vcpu *vcpu)
{
	unsigned long q = to_vmx(vcpu)->exit_qual;
	unsigned int cr = q & CR_QUAL_CR_MASK;
	unsigned int reg = (q & CR_QUAL_REG_MASK) >> CR_QUAL_REG_SHIFT;
	unsigned int size = vmx_mov_size(vcpu);
	unsigned long val;
	int ret = 0;

	switch (q & CR_QUAL_TYPE_MASK) {
	case CR_QUAL_TYPE_MOV_TO_CR:
		val = okvm_read_gpr(vcpu, reg, size);
		if (cr == 0)
			ret = vmx_mov_to_cr0(vcpu, val);
		else if (cr == 4)
			ret = vmx_mov_to_cr4(vcpu, val);
		else if (cr == 8)
			return vmx_mov_to_cr8(vcpu, val);
		else
			return okvm_internal_error(vcpu,
						   KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
						   q);
		break;
	case CR_QUAL_TYPE_MOV_FROM_CR:
		if (cr != 8)
			return okvm_internal_error(vcpu,
						   KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
						   q);
		okvm_write_gpr(vcpu, reg, vmx_get_cr(vcpu, 8), size);
		break;
	default:
		/* CLTS and LMSW touch no host-owned bit, so they never exit. */
		return okvm_internal_error(vcpu,
					   KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, q);
	}
	if (ret) {
		okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
		return 1;
	}
	vmx_skip(vcpu);
	return 1;
}

/*
 * MOV to or from a debug register (SDM 28.2.1, Table 28-4). The exit
 * comes before the checks the instruction makes itself: #GP at CPL > 0
 * and #UD for DR4/DR5 with CR4.DE (SDM 25.1.3), and DR7.GD's #DB, which
 * guest_debug.c makes for both vendors. As under SVM, DR0-3 are kept in
 * the vCPU and loaded only while the guest runs with a breakpoint armed
 * (run.c); DR6 and DR7 are the guest's, DR4/DR5 alias them.
 */
static int vmx_exit_dr(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long q = vmx->exit_qual;

	return okvm_emulate_mov_dr(vcpu, q & DR_QUAL_DR_MASK,
				   (q >> DR_QUAL_REG_SHIFT) & 0xf,
				   vmx_mov_size(vcpu), !(q & DR_QUAL_FROM_DR),
				   vmx->exit_insn_len);
}

/*
 * VM entry failed: VMfail (the VM-instruction error in the qualification
 * slot, entry.c), or an exit with bit 31 set: invalid guest state, MSR
 * loading, machine check (SDM 27.8). Reported as KVM does, with the
 * instruction error or the full exit reason, and the VMCS in dmesg once
 * per VM.
 */
static int vmx_exit_failed_entry(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason =
		vmx->exit_reason == EXIT_REASON_FAILED_ENTRY ?
		vmx->exit_qual : vmx->exit_reason;
	run->fail_entry.cpu = vcpu->cpu;
	if (!vcpu->vm->failed_entry_dumped) {
		vcpu->vm->failed_entry_dumped = true;
		vmx_dump_vmcs(vcpu);
	}
	return 0;
}

/* The interrupt or NMI window opened (entry.c asked for it). */
static int vmx_exit_window(struct okvm_vcpu *vcpu, u32 control)
{
	vmx_get(to_vmx(vcpu));
	vmcs_clear_bits(VMCS_PROC_CONTROLS, control);
	vmx_put();
	return 1;
}

/*
 * #DB or #AC, intercepted only so that their delivery cannot loop inside
 * the CPU (vmcs.c), given back to the guest. A #DB that exits does not
 * update DR6; the exit qualification has the bits it would have set (SDM
 * 28.2.1), which go into the guest's DR6 as the CPU would put them: B0-B3
 * replaced, BD and BS added (SDM Vol. 3 18.2.3). #AC's error code is 0.
 *
 * Raised while another event was being delivered (IDT-vectoring valid):
 * both are benign exceptions, delivered after abandoning a prior
 * exception (SDM Vol. 3 Table 6-5, "handled serially"), so that one is
 * dropped; an interrupted external interrupt or NMI is kept and delivered
 * again instead, re-raising the exception, with an exit, if it persists.
 */
static int vmx_exit_reflect(struct okvm_vcpu *vcpu, u8 vector)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long dr6;

	if (vmx->reinject) {
		if ((vmx->reinject & INTR_INFO_TYPE_MASK) !=
		    INTR_TYPE_HARD_EXCEPTION)
			return 1;
		vmx->reinject = 0;
	}
	if (vector == OKVM_DB_VECTOR) {
		dr6 = vmx_get_dr(vcpu, 6) & ~DR_TRAP_BITS;
		vmx_set_dr(vcpu, 6, dr6 | (vmx->exit_qual & VMX_DB_QUAL_DR6_BITS));
		okvm_queue_exception(vcpu, vector, false, 0);
	} else {
		okvm_queue_exception(vcpu, vector, true, 0);
	}
	return 1;
}

/*
 * Exception or NMI: NMIs and machine checks went to the host already
 * (entry.c); #BP and, while a debugger single-steps or sets hardware
 * breakpoints, #DB stop in the debugger; #DB and #AC go back to the guest.
 */
static int vmx_exit_exception(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 info = vmx->exit_intr_info;
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI || vector == 18)
		return 1;
	/* A debugger's stop (debug.c), or the guest's #DB. */
	if (vector == OKVM_BP_VECTOR ||
	    (vector == OKVM_DB_VECTOR && okvm_guest_debug_owns_dr6(vcpu)))
		return vmx_exit_db_bp(vcpu, vector);
	if (vector == OKVM_DB_VECTOR || vector == OKVM_AC_VECTOR)
		return vmx_exit_reflect(vcpu, vector);
	if (vector == OKVM_UD_VECTOR)
		return okvm_handle_ud(vcpu);
	return okvm_internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
				   info);
}

int vmx_handle_exit(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 reason = vmx->exit_reason;

	if (reason & EXIT_REASON_FAILED_ENTRY)
		return vmx_exit_failed_entry(vcpu);

	switch (reason & 0xffff) {
	case EXIT_REASON_EXCEPTION_NMI:
		return vmx_exit_exception(vcpu);
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_INIT_SIGNAL:
	case EXIT_REASON_SIPI:
	case EXIT_REASON_IO_SMI:
	case EXIT_REASON_OTHER_SMI:
		/* The host took its interrupt when the run loop enabled IRQs. */
		return 1;
	case EXIT_REASON_INTERRUPT_WINDOW:
		return vmx_exit_window(vcpu, PROC_INTERRUPT_WINDOW_EXITING);
	case EXIT_REASON_NMI_WINDOW:
		return vmx_exit_window(vcpu, PROC_NMI_WINDOW_EXITING);
	case EXIT_REASON_TRIPLE_FAULT:
		return vmx_exit_triple_fault(vcpu);
	case EXIT_REASON_CPUID:
		return vmx_exit_cpuid(vcpu);
	case EXIT_REASON_HLT:
		return vmx_exit_hlt(vcpu);
	case EXIT_REASON_IO_INSTRUCTION:
		return vmx_exit_io(vcpu);
	case EXIT_REASON_MSR_READ:
		return vmx_exit_msr(vcpu, false);
	case EXIT_REASON_MSR_WRITE:
		return vmx_exit_msr(vcpu, true);
	case EXIT_REASON_EPT_VIOLATION:
		return vmx_exit_ept_violation(vcpu);
	case EXIT_REASON_CR_ACCESS:
		return vmx_exit_cr(vcpu);
	case EXIT_REASON_DR_ACCESS:
		return vmx_exit_dr(vcpu);
	case EXIT_REASON_XSETBV:
		return vmx_exit_xsetbv(vcpu);
	case EXIT_REASON_INVD:
	case EXIT_REASON_WBINVD:
		return vmx_exit_skip(vcpu);
	case EXIT_REASON_RDPMC:
		return vmx_exit_gp(vcpu);
	case EXIT_REASON_VMCALL:
		return okvm_emulate_hypercall(vcpu, vmx->exit_insn_len);
	case EXIT_REASON_MWAIT:
	case EXIT_REASON_MONITOR:
		return okvm_emulate_monitor_mwait(vcpu, vmx->exit_insn_len);
	case EXIT_REASON_GETSEC:
	case EXIT_REASON_RSM:
	case EXIT_REASON_VMCLEAR ... EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
		return vmx_exit_ud(vcpu);
	default:
		/* TASK_SWITCH, EPT misconfiguration, and anything unasked for. */
		okvm_vm_warn(vcpu->vm, "vcpu%u: unhandled VMX exit %u at rip %#lx\n",
			     vcpu->id, reason, vcpu->rip);
		return okvm_internal_error(vcpu,
					   KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
					   reason);
	}
}
