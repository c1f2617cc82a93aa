// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit.c - what okvm does for each #VMEXIT code (AMD APM Vol. 2,
 * Appendix C lists them).
 *
 * Most handlers turn the exit into a generic action (x86/run.c, io.c,
 * msr.c, cpuid.c). Instruction lengths: with NRIP save (APM 15.7.1) the
 * exit stores the next RIP in the VMCB; TCG's SVM and older AMD CPUs have
 * none, so okvm, like KVM without NRIPS, decodes the instruction at RIP
 * (svm_insn_len()), since prefixes the CPU ignores still count in the
 * length; IOIO exits give the next RIP themselves (EXITINFO2, APM 15.10.2).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <asm/msr-index.h>

#include "svm.h"
#include "../lapic.h"
#include "../x86.h"

/* Opcode bytes of the intercepted instructions (AMD APM Vol. 3). */
struct svm_opcode {
	u8 len;
	u8 bytes[3];
};

static const struct svm_opcode svm_op_cpuid = { 2, { 0x0f, 0xa2 } };
static const struct svm_opcode svm_op_rdmsr = { 2, { 0x0f, 0x32 } };
static const struct svm_opcode svm_op_wrmsr = { 2, { 0x0f, 0x30 } };
static const struct svm_opcode svm_op_hlt = { 1, { 0xf4 } };
static const struct svm_opcode svm_op_vmmcall = { 3, { 0x0f, 0x01, 0xd9 } };
static const struct svm_opcode svm_op_monitor = { 3, { 0x0f, 0x01, 0xc8 } };
static const struct svm_opcode svm_op_mwait = { 3, { 0x0f, 0x01, 0xc9 } };
static const struct svm_opcode svm_op_xsetbv = { 3, { 0x0f, 0x01, 0xd1 } };
static const struct svm_opcode svm_op_invd = { 2, { 0x0f, 0x08 } };
static const struct svm_opcode svm_op_wbinvd = { 2, { 0x0f, 0x09 } };

/*
 * The length of the instruction that exited, whose opcode is @op (or
 * @alt, when not NULL): from NRIP save
 * where the CPU has it, else decoded from the bytes at RIP, fetched
 * through the guest's page tables. Returns false after filling kvm_run
 * with an emulation failure (the code is not in RAM any more, or another
 * vCPU rewrote it since the exit): the caller returns 0.
 */
static bool svm_insn_len(struct okvm_vcpu *vcpu, const struct svm_opcode *op,
			 const struct svm_opcode *alt, unsigned int *len)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	enum okvm_cpu_mode mode = okvm_vcpu_cpu_mode(vcpu);
	u8 buf[OKVM_INSN_MAX_LEN];
	struct okvm_page_fault pf;
	int n;

	if (svm_has_nrips && c->next_rip) {
		*len = c->next_rip - vcpu->rip;
		return true;
	}
	n = okvm_fetch_insn(vcpu, buf, &pf);
	if (n <= 0) {
		okvm_emulation_failure(vcpu, NULL, 0);
		return false;
	}
	if (okvm_decode_known(buf, n, mode, op->bytes, op->len, len) ==
	    OKVM_DECODE_OK ||
	    (alt && okvm_decode_known(buf, n, mode, alt->bytes, alt->len, len) ==
	     OKVM_DECODE_OK))
		return true;
	okvm_vm_warn(vcpu->vm, "vcpu%u: intercepted instruction at rip %#lx is not %*ph\n",
		     vcpu->id, vcpu->rip, op->len, op->bytes);
	okvm_emulation_failure(vcpu, buf, n);
	return false;
}

static int svm_exit_cpuid(struct okvm_vcpu *vcpu)
{
	unsigned int len;

	if (!svm_insn_len(vcpu, &svm_op_cpuid, NULL, &len))
		return 0;
	okvm_emulate_cpuid(vcpu);
	okvm_skip_insn(vcpu, len);
	return 1;
}

/* HLT: step over it; okvm_exit_hlt() (exit_common.c) does the rest. */
static int svm_exit_hlt(struct okvm_vcpu *vcpu)
{
	unsigned int len;

	if (!svm_insn_len(vcpu, &svm_op_hlt, NULL, &len))
		return 0;
	okvm_skip_insn(vcpu, len);
	return okvm_exit_hlt(vcpu);
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
	bool write = to_svm(vcpu)->vmcb->control.exit_info_1;
	unsigned int len;

	/* EXITINFO1: 0 for RDMSR, 1 for WRMSR (APM 15.11). */
	if (write ? !svm_insn_len(vcpu, &svm_op_wrmsr, NULL, &len) :
		    !svm_insn_len(vcpu, &svm_op_rdmsr, NULL, &len))
		return 0;
	return write ? okvm_handle_wrmsr(vcpu, len) :
		       okvm_handle_rdmsr(vcpu, len);
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
	unsigned int len;

	if (!svm_insn_len(vcpu, &svm_op_xsetbv, NULL, &len))
		return 0;
	if (okvm_emulate_xsetbv(vcpu, to_svm(vcpu)->vmcb->save.cpl) == 0)
		okvm_skip_insn(vcpu, len);
	return 1;
}

/*
 * INVD and WBINVD: nothing to write back or drop. The guest's memory is
 * the host's own, cached write-back and kept coherent by the hardware, and
 * no device of the guest's does DMA around the caches; so, like KVM
 * without assigned devices, okvm skips them. Letting the guest run WBINVD
 * itself would stall the physical CPU, and its cache-sharing neighbours,
 * for a full write-back; INVD would throw away the host's dirty lines.
 */
static int svm_exit_invd(struct okvm_vcpu *vcpu)
{
	unsigned int len;

	/*
	 * Either opcode for either exit: QEMU's TCG (the test bed) reports
	 * INVD as a WBINVD intercept, and both are skipped alike.
	 */
	if (!svm_insn_len(vcpu, &svm_op_invd, &svm_op_wbinvd, &len))
		return 0;
	okvm_skip_insn(vcpu, len);
	return 1;
}

/*
 * RDPMC: okvm's CPUID offers no PMU (leaf 0xa is not offered), and the
 * host's counters are not the guest's to read. KVM without a vPMU finds no
 * counter for any ECX and injects #GP(0); so does okvm.
 */
static int svm_exit_rdpmc(struct okvm_vcpu *vcpu)
{
	okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
	return 1;
}

/* KVM's hypercall (hypercall.c). */
static int svm_exit_vmmcall(struct okvm_vcpu *vcpu)
{
	unsigned int len;

	if (!svm_insn_len(vcpu, &svm_op_vmmcall, NULL, &len))
		return 0;
	return okvm_emulate_hypercall(vcpu, len);
}

/* MONITOR and MWAIT: NOPs, or #UD, as hypercall.c decides. */
static int svm_exit_monitor_mwait(struct okvm_vcpu *vcpu, bool mwait)
{
	unsigned int len;

	if (!svm_insn_len(vcpu, mwait ? &svm_op_mwait : &svm_op_monitor, NULL,
			  &len))
		return 0;
	return okvm_emulate_monitor_mwait(vcpu, len);
}

/* No nested virtualization, no RDTSCP: #UD, as on a CPU without them. */
static int svm_exit_ud(struct okvm_vcpu *vcpu)
{
	okvm_queue_exception(vcpu, OKVM_UD_VECTOR, false, 0);
	return 1;
}

/*
 * #DB or #AC, intercepted only so that a guest cannot make their delivery
 * loop in the CPU (vmcb.c), is given back to the guest. The VMCB's DR6
 * already holds the #DB's cause: the CPU updates DR6 before it checks the
 * intercept (APM Vol. 2 15.12, "Exception Intercepts"; KVM reads it from
 * there too). #AC always pushes an error code of 0 (APM Vol. 2 8.2.17).
 *
 * Raised while another event was being delivered (EXITINTINFO valid):
 * both are benign exceptions, which the CPU delivers after abandoning a
 * prior exception (SDM Vol. 3 Table 6-5, "handled serially"), so that
 * exception is dropped. An interrupted external interrupt or NMI is kept
 * and delivered again instead; if the condition persists its delivery
 * raises the exception once more, with another exit each time.
 */
static int svm_exit_reflect(struct okvm_vcpu *vcpu, u8 vector,
			    bool has_error_code)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (svm->reinject) {
		if ((svm->reinject & SVM_EVTINJ_TYPE_MASK) != SVM_EVTINJ_TYPE_EXEPT)
			return 1;
		svm->reinject = 0;
	}
	okvm_queue_exception(vcpu, vector, has_error_code, 0);
	return 1;
}

/*
 * MOV to or from DR0-DR3, and DR4-DR7 while a debugger owns the hardware's
 * (debug.c). okvm keeps DR0-3 in the vCPU and loads them only while the
 * guest runs with a breakpoint armed (run.c), so the host's breakpoints
 * stay intact and the guest's fire. Without decode assists the exit does
 * not name the general register, so the instruction is decoded (0f 21
 * reads, 0f 23 writes; SDM Vol. 2 MOV-Move to/from Debug Registers);
 * guest_debug.c does the rest for both vendors.
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
	return okvm_emulate_mov_dr(vcpu, dr, insn.reg, insn.op_size, write,
				   insn.len);
}

/*
 * MOV to CR4 or CR8, intercepted so that okvm checks it (vmcb.c). Without
 * decode assists (TCG has none) the exit does not name the source
 * register, so the instruction is decoded, as for MOV DRn; CPL > 0
 * raised #GP before the intercept (APM Vol. 2 15.9.1). AMD's other
 * encoding of CR8 outside 64-bit mode, LOCK MOV CR0 (APM Vol. 3 MOV
 * CRn), is not decoded: an emulation failure.
 */
static int svm_exit_write_cr(struct okvm_vcpu *vcpu, unsigned int cr)
{
	u8 buf[OKVM_INSN_MAX_LEN];
	struct okvm_page_fault pf;
	struct okvm_insn insn;
	u64 val;
	int n, ret;

	n = okvm_fetch_insn(vcpu, buf, &pf);
	if (n < 0) {
		/* Its code page went away since it ran: the CPU's #PF. */
		okvm_inject_page_fault(vcpu, pf.addr, pf.error_code);
		return 1;
	}
	if (okvm_decode_insn(buf, n, okvm_vcpu_cpu_mode(vcpu), &insn) !=
	    OKVM_DECODE_OK)
		return okvm_emulation_failure(vcpu, buf, n);
	if (insn.kind != OKVM_INSN_MOV_CR || insn.opcode != 0x22 ||
	    insn.dr != cr)
		return okvm_emulation_failure(vcpu, buf, n);
	val = okvm_read_gpr(vcpu, insn.reg, insn.op_size);
	if (cr == 4)
		ret = okvm_emulate_mov_to_cr4(vcpu, val) ?: 1;
	else
		ret = okvm_emulate_mov_to_cr8(vcpu, val);
	if (ret < 0) {
		okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
		return 1;
	}
	okvm_skip_insn(vcpu, insn.len);
	return ret;
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
	case SVM_EXIT_WBINVD:
		return svm_exit_invd(vcpu);
	case SVM_EXIT_WRITE_CR0 + 4:
		return svm_exit_write_cr(vcpu, 4);
	case SVM_EXIT_WRITE_CR0 + 8:
		return svm_exit_write_cr(vcpu, 8);
	case SVM_EXIT_EXCP_BASE + OKVM_DB_VECTOR:
		if (okvm_guest_debug_owns_dr6(vcpu))
			return svm_exit_db(vcpu);
		return svm_exit_reflect(vcpu, OKVM_DB_VECTOR, false);
	case SVM_EXIT_EXCP_BASE + OKVM_BP_VECTOR:
		return svm_exit_bp(vcpu);
	case SVM_EXIT_SWINT:
		return svm_exit_swint(vcpu);
	case SVM_EXIT_EXCP_BASE + OKVM_AC_VECTOR:
		return svm_exit_reflect(vcpu, OKVM_AC_VECTOR, true);
	case SVM_EXIT_RDPMC:
		return svm_exit_rdpmc(vcpu);
	case SVM_EXIT_EXCP_BASE + OKVM_MC_VECTOR:
		/* The host's handler ran already (svm_vcpu_run()). */
		return 1;
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR0 + 7:
		return svm_exit_dr(vcpu, code - SVM_EXIT_READ_DR0, false);
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR0 + 7:
		return svm_exit_dr(vcpu, code - SVM_EXIT_WRITE_DR0, true);
	case SVM_EXIT_EXCP_BASE + OKVM_UD_VECTOR:
		return okvm_handle_ud(vcpu);
	case SVM_EXIT_VMMCALL:
		return svm_exit_vmmcall(vcpu);
	case SVM_EXIT_MONITOR:
		return svm_exit_monitor_mwait(vcpu, false);
	case SVM_EXIT_MWAIT:
		return svm_exit_monitor_mwait(vcpu, true);
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_RDTSCP:
		return svm_exit_ud(vcpu);
	case SVM_EXIT_RSM:
		/* APM Vol. 2 15.9: RSM intercepted, emulated from SMRAM. */
		return okvm_emulate_rsm(vcpu);
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
