/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmenter.S - the world switch for AMD-V: from the host to the guest with
 * VMRUN and back at #VMEXIT (AMD APM Vol. 2, 15.5 and 15.6).
 *
 * VMRUN saves and restores only part of the host (RSP, RIP, RFLAGS, RAX,
 * the control registers, EFER, GDTR/IDTR and the ES/CS/SS/DS selectors, in
 * the page at VM_HSAVE_PA) and none of the general registers but RAX and
 * RSP. So this code saves the callee-saved registers on the stack, loads the
 * guest's general registers from vcpu->regs[] and stores them back after
 * the exit. FS, GS, TR, LDTR and the syscall/sysenter MSRs are switched with
 * VMSAVE/VMLOAD (APM 15.5.2): the host's into a per-CPU page, the guest's
 * into its VMCB, whose state save area has the same layout.
 */
#include <linux/linkage.h>
#include <linux/version.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

/*
 * The flag the running kernel's KVM fills the RSB on after #VMEXIT: 6.1's
 * keys it on retpolines, later kernels on the flag bugs.c sets for VM
 * exits (design.rst, "Speculative execution").
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define OKVM_SVM_RSB_FLAG	X86_FEATURE_RETPOLINE
#else
#define OKVM_SVM_RSB_FLAG	X86_FEATURE_RSB_VMEXIT
#endif

/* The IBPB that the untraining macro itself issues: 6.1's on entry IBPB. */
#ifdef UNTRAIN_RET_VM
#define OKVM_SVM_UNTRAIN_IBPB_FLAG	X86_FEATURE_IBPB_ON_VMEXIT
#else
#define OKVM_SVM_UNTRAIN_IBPB_FLAG	X86_FEATURE_ENTRY_IBPB
#endif

/* For svm.c's load-time line: the flags this file keys on. */
	.section .rodata, "a"
	.balign 4
SYM_DATA(okvm_svm_rsb_flag, .long OKVM_SVM_RSB_FLAG)
SYM_DATA(okvm_svm_untrain_ibpb_flag, .long OKVM_SVM_UNTRAIN_IBPB_FLAG)

/* Offsets of the general registers in vcpu->regs[] (enum okvm_gpr). */
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

	.section .noinstr.text, "ax"

/*
 * void okvm_svm_vmrun(u64 vmcb_pa, unsigned long *regs, u64 host_save_pa)
 *
 * Called with interrupts off and GIF clear (CLGI), so nothing can run on
 * this CPU between loading the guest's GS base and VMRUN, nor between the
 * exit and reloading the host's. RAX and RSP of the guest travel in the
 * VMCB.
 */
SYM_FUNC_START(okvm_svm_vmrun)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	/* Kept for after the exit: regs (rsi) and the two VMCB addresses. */
	push %rsi
	push %rdx
	push %rdi

	/* The host's FS/GS/TR/LDTR and MSRs into the per-CPU page. */
	mov  %rdx, %rax
	vmsave %rax
	/* The guest's from its VMCB. */
	mov  %rdi, %rax
	vmload %rax

	mov  REG_RCX(%rsi), %rcx
	mov  REG_RDX(%rsi), %rdx
	mov  REG_RBX(%rsi), %rbx
	mov  REG_RBP(%rsi), %rbp
	mov  REG_RDI(%rsi), %rdi
	mov  REG_R8(%rsi), %r8
	mov  REG_R9(%rsi), %r9
	mov  REG_R10(%rsi), %r10
	mov  REG_R11(%rsi), %r11
	mov  REG_R12(%rsi), %r12
	mov  REG_R13(%rsi), %r13
	mov  REG_R14(%rsi), %r14
	mov  REG_R15(%rsi), %r15
	mov  REG_RSI(%rsi), %rsi

	/*
	 * With GIF clear, STI lets no interrupt in before VMRUN; VMRUN sets
	 * GIF, and with the host's IF set, a physical interrupt then causes
	 * an INTR intercept (#VMEXIT) instead of waiting for the next exit
	 * (APM 15.17, 15.21.1). #VMEXIT clears GIF again, so CLI runs first.
	 */
	/*
	 * TSA (CVE-2024-36350/36357): clear the CPU buffers where the kernel
	 * asks for it before a guest runs. Clobbers ZF only.
	 */
	VM_CLEAR_CPU_BUFFERS
	sti
	vmrun %rax
	cli

	/* RAX holds the VMCB address again (restored from the host save). */
	push %rsi
	mov  8 * 3(%rsp), %rsi		/* regs */
	mov  %rcx, REG_RCX(%rsi)
	mov  %rdx, REG_RDX(%rsi)
	mov  %rbx, REG_RBX(%rsi)
	mov  %rbp, REG_RBP(%rsi)
	mov  %rdi, REG_RDI(%rsi)
	mov  %r8, REG_R8(%rsi)
	mov  %r9, REG_R9(%rsi)
	mov  %r10, REG_R10(%rsi)
	mov  %r11, REG_R11(%rsi)
	mov  %r12, REG_R12(%rsi)
	mov  %r13, REG_R13(%rsi)
	mov  %r14, REG_R14(%rsi)
	mov  %r15, REG_R15(%rsi)
	pop  %rdi
	mov  %rdi, REG_RSI(%rsi)

	/* Guest FS/GS/... back into its VMCB, the host's back into the CPU. */
	pop  %rax			/* vmcb_pa */
	vmsave %rax
	pop  %rax			/* host_save_pa */
	vmload %rax
	pop  %rsi

	/*
	 * GS base is the host's again. Before the first RET: stuff the RSB
	 * (Spectre v2, CVE-2017-5715), untrain return predictions (Retbleed,
	 * CVE-2022-29900; SRSO, CVE-2023-20569) and issue the IBPB the kernel
	 * asks for on VM exit; kernel alternatives, off unless the kernel's
	 * mitigation for this CPU turned them on.
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, OKVM_SVM_RSB_FLAG
#ifdef UNTRAIN_RET_VM
	UNTRAIN_RET_VM
#else
	UNTRAIN_RET
	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT
#endif

	/* Leave no guest value in a register the host might speculate on. */
	xor  %ecx, %ecx
	xor  %edx, %edx
	xor  %esi, %esi
	xor  %edi, %edi
	xor  %r8d, %r8d
	xor  %r9d, %r9d
	xor  %r10d, %r10d
	xor  %r11d, %r11d

	pop  %rbx
	pop  %r12
	pop  %r13
	pop  %r14
	pop  %r15
	pop  %rbp
	RET
SYM_FUNC_END(okvm_svm_vmrun)
