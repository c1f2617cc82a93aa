/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmenter.S - the world switch for VMX: VMLAUNCH or VMRESUME into the
 * guest, and the host entry point VM exits land on (Intel SDM Vol. 3C
 * chapters 27 and 28).
 *
 * VM entry loads the guest's RSP, RIP and RFLAGS from the VMCS, VM exit
 * the host's RSP and RIP from its host-state area (SDM 28.5.3); no other
 * general register is switched. So this code saves the callee-saved
 * registers, writes the stack pointer into HOST_RSP, loads the guest's
 * registers from vcpu->regs[] and enters; the exit arrives at
 * okvm_vmx_vmexit with the stack exactly as it was at the VMLAUNCH, and
 * stores the guest's registers back.
 */
#include <linux/linkage.h>
#include <linux/version.h>
#include <asm/asm.h>
#include <asm/ibt.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

/* Offsets of the general registers in vcpu->regs[] (enum okvm_gpr). */
#define REG_RAX		(0 * 8)
#define REG_RCX		(1 * 8)
#define REG_RDX		(2 * 8)
#define REG_RBX		(3 * 8)
#define REG_RBP		(5 * 8)
#define REG_RSI		(6 * 8)
#define REG_RDI		(7 * 8)
#define REG_R8		(8 * 8)
#define REG_R9		(9 * 8)
#define REG_R10		(10 * 8)
#define REG_R11		(11 * 8)
#define REG_R12		(12 * 8)
#define REG_R13		(13 * 8)
#define REG_R14		(14 * 8)
#define REG_R15		(15 * 8)

/* VMCS field encoding of HOST_RSP (SDM Appendix B.4). */
#define VMCS_HOST_RSP	0x6c14

	.section .noinstr.text, "ax"

/*
 * int okvm_vmx_vmenter(unsigned long *regs, bool launched)
 *
 * Called with interrupts off and the vCPU's VMCS current. Returns 0 after
 * a VM exit (which may report a failed entry in its exit reason), or 1
 * when VMLAUNCH/VMRESUME itself failed (VMfailValid or VMfailInvalid, SDM
 * 31.2): no guest ran, and the VM-instruction error field says why.
 */
SYM_FUNC_START(okvm_vmx_vmenter)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	/* regs, for the exit; HOST_RSP points here. */
	push %rdi

	mov  $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax
	jna  .Lfailed_early

	/*
	 * MDS, TAA, MMIO stale data, RFDS: clear the CPU buffers before the
	 * guest runs where the kernel does (design.rst, "Speculative
	 * execution"). 6.1's KVM keys this on CLEAR_CPU_BUF, later ones on
	 * CLEAR_CPU_BUF_VM; either asks for it. Only vcpu->regs, the guest's
	 * own values, is read between here and the entry. Clobbers ZF, so it
	 * comes before the test below.
	 */
	ALTERNATIVE_2 "jmp .Lno_verw", "", X86_FEATURE_CLEAR_CPU_BUF, \
		      "", X86_FEATURE_CLEAR_CPU_BUF_VM
	verw x86_verw_sel(%rip)
.Lno_verw:

	/* ZF from "launched" survives the MOVs below (they set no flags). */
	test %sil, %sil
	mov  %rdi, %rax
	mov  REG_RCX(%rax), %rcx
	mov  REG_RDX(%rax), %rdx
	mov  REG_RBX(%rax), %rbx
	mov  REG_RBP(%rax), %rbp
	mov  REG_RSI(%rax), %rsi
	mov  REG_RDI(%rax), %rdi
	mov  REG_R8(%rax), %r8
	mov  REG_R9(%rax), %r9
	mov  REG_R10(%rax), %r10
	mov  REG_R11(%rax), %r11
	mov  REG_R12(%rax), %r12
	mov  REG_R13(%rax), %r13
	mov  REG_R14(%rax), %r14
	mov  REG_R15(%rax), %r15
	mov  REG_RAX(%rax), %rax

	/* Objtool: the state here is the state at okvm_vmx_vmexit. */
	UNWIND_HINT_SAVE
	jnz  .Lresume
	vmlaunch
	jmp  .Lfailed
.Lresume:
	vmresume
.Lfailed:
	/* Still the host, with guest values in the registers. */
	mov  $1, %eax
	jmp  .Lout

SYM_INNER_LABEL(okvm_vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	push %rax
	mov  8(%rsp), %rax		/* regs */
	mov  %rcx, REG_RCX(%rax)
	mov  %rdx, REG_RDX(%rax)
	mov  %rbx, REG_RBX(%rax)
	mov  %rbp, REG_RBP(%rax)
	mov  %rsi, REG_RSI(%rax)
	mov  %rdi, REG_RDI(%rax)
	mov  %r8, REG_R8(%rax)
	mov  %r9, REG_R9(%rax)
	mov  %r10, REG_R10(%rax)
	mov  %r11, REG_R11(%rax)
	mov  %r12, REG_R12(%rax)
	mov  %r13, REG_R13(%rax)
	mov  %r14, REG_R14(%rax)
	mov  %r15, REG_R15(%rax)
	popq REG_RAX(%rax)

	/*
	 * Before the first RET after the exit (design.rst, "Speculative
	 * execution"): stuff the return stack buffer so that no RET follows
	 * a prediction the guest left (Spectre v2 RSB, CVE-2017-5715), or with
	 * eIBRS retire one CALL first (PBRSB, CVE-2022-26373); with legacy
	 * IBRS rewrite SPEC_CTRL, since the exit from a less privileged
	 * predictor mode undid its effect; then clear the branch history
	 * (BHI, CVE-2022-0001). Each is a kernel alternative on the flag the
	 * kernel's KVM uses.
	 */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE
	ALTERNATIVE "jmp .Lno_ibrs", "", X86_FEATURE_KERNEL_IBRS
	mov  $MSR_IA32_SPEC_CTRL, %ecx
	mov  PER_CPU_VAR(x86_spec_ctrl_current), %eax
	mov  PER_CPU_VAR(x86_spec_ctrl_current + 4), %edx
	wrmsr
	lfence
.Lno_ibrs:
	CLEAR_BRANCH_HISTORY_VMEXIT
	xor  %eax, %eax

.Lout:
	/* Leave no guest value in a register the host might speculate on. */
	xor  %ecx, %ecx
	xor  %edx, %edx
	xor  %esi, %esi
	xor  %edi, %edi
	xor  %r8d, %r8d
	xor  %r9d, %r9d
	xor  %r10d, %r10d
	xor  %r11d, %r11d

	add  $8, %rsp			/* regs */
	pop  %rbx
	pop  %r12
	pop  %r13
	pop  %r14
	pop  %r15
	pop  %rbp
	RET

.Lfailed_early:
	mov  $1, %eax
	jmp  .Lout
SYM_FUNC_END(okvm_vmx_vmenter)

	.text

/*
 * The kernel's NMI entry point for NMIs that exited a guest. 6.2 gave it
 * its own name; before, the "noist" variant was the one for this job.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define OKVM_HOST_NMI_ENTRY	asm_exc_nmi_kvm_vmx
#else
#define OKVM_HOST_NMI_ENTRY	asm_exc_nmi_noist
#endif

/*
 * void okvm_vmx_call_host_nmi(void)
 *
 * Run the host's NMI handler as if the NMI had arrived here: push the
 * frame the CPU pushes for an interrupt in 64-bit mode (SS, RSP, RFLAGS,
 * CS, then RIP by the CALL, on a 16-byte aligned stack, SDM Vol. 3A
 * 7.14.2), so that the handler's IRET returns here and ends the NMI
 * blocking the VM exit left in place.
 */
SYM_FUNC_START(okvm_vmx_call_host_nmi)
	push %rbp
	mov  %rsp, %rbp
	and  $-16, %rsp
	push $__KERNEL_DS
	push %rbp
	pushf
	push $__KERNEL_CS
	call OKVM_HOST_NMI_ENTRY
	/* IRET restored RSP already; say so to objtool, which cannot know. */
	mov  %rbp, %rsp
	pop  %rbp
	RET
SYM_FUNC_END(okvm_vmx_call_host_nmi)
