// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit.c - what okvm does for each #VMEXIT code (AMD APM Vol. 2,
 * Appendix C lists them).
 *
 * Most handlers turn the exit into a generic action (x86/run.c, io.c,
 * msr.c, cpuid.c). Instruction lengths: TCG's SVM and older AMD CPUs have
 * no NRIP save (APM 15.7.1), so okvm, like KVM without NRIPS, knows the
 * length of the intercepted instruction from its encoding: fixed for
 * CPUID, RDMSR/WRMSR, HLT, XSETBV and INVD, and given by the IOIO exit
 * itself (EXITINFO2 holds the next RIP, APM 15.10.2).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <asm/msr-index.h>

#include "svm.h"
#include "../x86.h"

/* Encoded lengths (AMD APM Vol. 3, the instructions' reference pages). */
#define SVM_LEN_CPUID	2	/* 0f a2 */
#define SVM_LEN_MSR	2	/* 0f 32, 0f 30 */
#define SVM_LEN_HLT	1	/* f4 */
#define SVM_LEN_XSETBV	3	/* 0f 01 d1 */
#define SVM_LEN_INVD	2	/* 0f 08 */

static int svm_exit_cpuid(struct okvm_vcpu *vcpu)
{
	okvm_emulate_cpuid(vcpu);
	okvm_skip_insn(vcpu, SVM_LEN_CPUID);
	return 1;
}

/* Without an in-kernel irqchip HLT is the VMM's business, as in KVM. */
static int svm_exit_hlt(struct okvm_vcpu *vcpu)
{
	okvm_skip_insn(vcpu, SVM_LEN_HLT);
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

static int svm_exit_ioio(struct okvm_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	u64 info = c->exit_info_1;
	u8 size = (info & SVM_IOIO_SZ_MASK) >> SVM_IOIO_SZ_SHIFT;

	return okvm_emulate_pio(vcpu, info >> SVM_IOIO_PORT_SHIFT, size,
				info & SVM_IOIO_TYPE_IN, info & SVM_IOIO_STR,
				c->exit_info_2);
}

static int svm_exit_msr(struct okvm_vcpu *vcpu)
{
	int ret;

	/* EXITINFO1: 0 for RDMSR, 1 for WRMSR (APM 15.11). */
	if (to_svm(vcpu)->vmcb->control.exit_info_1)
		ret = okvm_emulate_wrmsr(vcpu);
	else
		ret = okvm_emulate_rdmsr(vcpu);
	if (ret == 0)
		okvm_skip_insn(vcpu, SVM_LEN_MSR);
	return 1;
}

/*
 * A nested page fault: map the page if a memslot has it; otherwise the
 * access is MMIO, emulated from the instruction's bytes.
 */
static int svm_exit_npf(struct okvm_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	u64 gpa = c->exit_info_2;
	int ret;

	ret = okvm_mmu_page_fault(vcpu, gpa, c->exit_info_1 & SVM_NPF_WRITE);
	if (ret)
		return ret;
	if (c->exit_info_1 & SVM_NPF_FETCH) {
		/* Code outside RAM: KVM cannot emulate it either. */
		okvm_vm_warn(vcpu->vm, "vcpu%u: instruction fetch from MMIO at %#llx\n",
			     vcpu->id, gpa);
		return okvm_emulation_failure(vcpu, NULL, 0);
	}
	return okvm_emulate_mmio(vcpu, gpa, c->exit_info_1 & SVM_NPF_WRITE);
}

/*
 * APM 15.7.2: a triple fault; the VMCB is undefined afterwards. Like KVM,
 * okvm puts the vCPU through INIT before telling the VMM, so KVM_RUN after
 * KVM_EXIT_SHUTDOWN starts at the reset vector with memory intact.
 */
static int svm_exit_shutdown(struct okvm_vcpu *vcpu)
{
	vcpu->exception.pending = false;
	vcpu->interrupt.injected = false;
	vcpu->nmi_pending = false;
	vcpu->nmi_masked = false;
	svm_vcpu_reset(vcpu, true);
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

static int svm_exit_xsetbv(struct okvm_vcpu *vcpu)
{
	if (okvm_emulate_xsetbv(vcpu, to_svm(vcpu)->vmcb->save.cpl) == 0)
		okvm_skip_insn(vcpu, SVM_LEN_XSETBV);
	return 1;
}

static int svm_exit_invd(struct okvm_vcpu *vcpu)
{
	/* Nothing to drop: the guest's memory is the host's, kept coherent. */
	okvm_skip_insn(vcpu, SVM_LEN_INVD);
	return 1;
}

/* No nested virtualization, no MONITOR/MWAIT, no RDTSCP: #UD, as on a CPU without them. */
static int svm_exit_ud(struct okvm_vcpu *vcpu)
{
	okvm_queue_exception(vcpu, OKVM_UD_VECTOR, false, 0);
	return 1;
}

/*
 * MOV to or from DR0-DR3. okvm keeps these four in the vCPU rather than in
 * the hardware, so the host's breakpoints stay intact; the guest's
 * breakpoints therefore do not fire (Documentation/design.rst). Without
 * decode assists the exit does not name the general register, so the
 * instruction is decoded (0f 21 reads, 0f 23 writes; SDM Vol. 2 MOV-Move
 * to/from Debug Registers).
 */
static int svm_exit_dr(struct okvm_vcpu *vcpu, unsigned int dr, bool write)
{
	u8 buf[OKVM_INSN_MAX_LEN];
	struct okvm_page_fault pf;
	struct okvm_insn insn;
	bool is_write;
	int n;

	if (to_svm(vcpu)->vmcb->save.cpl) {
		okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
		return 1;
	}
	n = okvm_fetch_insn(vcpu, buf, &pf);
	if (n < 0)
		return okvm_emulation_failure(vcpu, NULL, 0);
	if (okvm_decode_insn(buf, n, okvm_vcpu_cpu_mode(vcpu), &insn) !=
	    OKVM_DECODE_OK)
		return okvm_emulation_failure(vcpu, buf, n);
	is_write = insn.opcode == 0x23;
	if (insn.kind != OKVM_INSN_MOV_DR || insn.dr != dr || is_write != write)
		return okvm_emulation_failure(vcpu, buf, n);
	if (write)
		vcpu->dr[dr] = okvm_read_gpr(vcpu, insn.reg, insn.op_size);
	else
		okvm_write_gpr(vcpu, insn.reg, vcpu->dr[dr], insn.op_size);
	okvm_skip_insn(vcpu, insn.len);
	return 1;
}

static int svm_exit_failed_entry(struct okvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason =
		to_svm(vcpu)->vmcb->control.exit_code;
	run->fail_entry.cpu = vcpu->cpu;
	if (!vcpu->vm->failed_entry_dumped) {
		vcpu->vm->failed_entry_dumped = true;
		svm_dump_vmcb(vcpu);
	}
	return 0;
}

/*
 * IRET while NMIs are blocked: the guest leaves its NMI handler, so NMIs
 * are unblocked from here on (svm_nmi_deliverable() waits until it is past
 * this IRET before injecting another).
 */
static int svm_exit_iret(struct okvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	vcpu->nmi_masked = false;
	svm->awaiting_iret = true;
	svm->iret_rip = vcpu->rip;
	return 1;
}

/* The interrupt window opened (svm_enable_irq_window()). */
static int svm_exit_vintr(struct okvm_vcpu *vcpu)
{
	svm_disable_irq_window(vcpu);
	return 1;
}

int svm_handle_exit(struct okvm_vcpu *vcpu)
{
	u64 code = to_svm(vcpu)->vmcb->control.exit_code;

	/*
	 * VMEXIT_INVALID is -1 (APM Appendix C); QEMU's TCG stores only its
	 * low 32 bits. No real exit code reaches bit 31.
	 */
	if ((u32)code == (u32)SVM_EXIT_INVALID)
		code = SVM_EXIT_INVALID;

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		/* The host took its interrupt when the run loop enabled IRQs. */
		return 1;
	case SVM_EXIT_VINTR:
		return svm_exit_vintr(vcpu);
	case SVM_EXIT_IRET:
		return svm_exit_iret(vcpu);
	case SVM_EXIT_CPUID:
		return svm_exit_cpuid(vcpu);
	case SVM_EXIT_HLT:
		return svm_exit_hlt(vcpu);
	case SVM_EXIT_IOIO:
		return svm_exit_ioio(vcpu);
	case SVM_EXIT_MSR:
		return svm_exit_msr(vcpu);
	case SVM_EXIT_NPF:
		return svm_exit_npf(vcpu);
	case SVM_EXIT_SHUTDOWN:
		return svm_exit_shutdown(vcpu);
	case SVM_EXIT_XSETBV:
		return svm_exit_xsetbv(vcpu);
	case SVM_EXIT_INVD:
		return svm_exit_invd(vcpu);
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR0 + 3:
		return svm_exit_dr(vcpu, code - SVM_EXIT_READ_DR0, false);
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR0 + 3:
		return svm_exit_dr(vcpu, code - SVM_EXIT_WRITE_DR0, true);
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_RDTSCP:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_RSM:
		return svm_exit_ud(vcpu);
	case SVM_EXIT_INVALID:
		return svm_exit_failed_entry(vcpu);
	default:
		/* TASK_SWITCH and anything okvm did not ask for. */
		okvm_vm_warn(vcpu->vm, "vcpu%u: unhandled SVM exit %#llx at rip %#lx\n",
			     vcpu->id, code, vcpu->rip);
		return okvm_internal_error(vcpu,
					   KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
					   code);
	}
}
