/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pvhboot entry: the Multiboot (v1) header, the 32-bit entry stub that
 * calls pvhboot_main(magic, info), and pvh_jump(), which enters the kernel
 * with the register state the PVH boot ABI asks for: 32-bit protected mode,
 * paging off, %ebx = physical address of struct hvm_start_info.
 */
#define MULTIBOOT_HEADER_MAGIC	0x1badb002
#define MULTIBOOT_PAGE_ALIGN	(1 << 0)	/* modules on page boundaries */
#define MULTIBOOT_MEMORY_INFO	(1 << 1)	/* we want the memory map */
#define MULTIBOOT_FLAGS		(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)

	.section .multiboot, "a"
	.align 4
	.long MULTIBOOT_HEADER_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	cld
	movl	$stack_top, %esp
	pushl	%ebx			/* Multiboot information */
	pushl	%eax			/* Multiboot loader magic */
	call	pvhboot_main
1:	hlt
	jmp	1b

	/* void pvh_jump(uint32_t entry, uint32_t start_info) */
	.globl pvh_jump
pvh_jump:
	movl	4(%esp), %eax
	movl	8(%esp), %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	jmp	*%eax

	.bss
	.align 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
