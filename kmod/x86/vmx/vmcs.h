/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmcs.h - the virtual-machine control structure: the field encodings okvm
 * uses, the bits of the control fields, the exit reasons, and VMREAD and
 * VMWRITE.
 *
 * Unlike AMD's VMCB, the VMCS has no architectural memory layout: software
 * names a field by its 32-bit encoding (Intel SDM Vol. 3C 25.11.2, Appendix
 * B) and reaches it only through VMREAD/VMWRITE on the current VMCS. An
 * encoding says what kind of field it is:
 *   bits 14:13	width: 0 16-bit, 1 64-bit, 2 32-bit, 3 natural (64 here)
 *   bits 11:10	type: 0 control, 1 VM-exit information, 2 guest state,
 *		3 host state
 *   bits 9:1	index; bit 0 "high" access to the upper half of a 64-bit field
 */
#ifndef OKVM_VMX_VMCS_H
#define OKVM_VMX_VMCS_H

#include <linux/bits.h>
#include <linux/types.h>
#include <asm/asm.h>

/* 16-bit fields (SDM Appendix B.1). */
#define VMCS_VPID			0x0000
#define VMCS_GUEST_ES_SELECTOR		0x0800	/* ES, CS, SS, DS, FS, GS, LDTR, TR: +2 each */
#define VMCS_HOST_ES_SELECTOR		0x0c00
#define VMCS_HOST_CS_SELECTOR		0x0c02
#define VMCS_HOST_SS_SELECTOR		0x0c04
#define VMCS_HOST_DS_SELECTOR		0x0c06
#define VMCS_HOST_FS_SELECTOR		0x0c08
#define VMCS_HOST_GS_SELECTOR		0x0c0a
#define VMCS_HOST_TR_SELECTOR		0x0c0c

/* 64-bit fields (B.2). */
#define VMCS_MSR_BITMAP			0x2004
#define VMCS_TSC_OFFSET			0x2010
#define VMCS_EPT_POINTER		0x201a
#define VMCS_GUEST_PHYSICAL_ADDRESS	0x2400
#define VMCS_LINK_POINTER		0x2800
#define VMCS_GUEST_IA32_DEBUGCTL	0x2802
#define VMCS_GUEST_IA32_PAT		0x2804
#define VMCS_GUEST_IA32_EFER		0x2806
#define VMCS_GUEST_PDPTE0		0x280a	/* PDPTE0-3: +2 each */
#define VMCS_HOST_IA32_PAT		0x2c00
#define VMCS_HOST_IA32_EFER		0x2c02

/* 32-bit fields (B.3). */
#define VMCS_PIN_CONTROLS		0x4000
#define VMCS_PROC_CONTROLS		0x4002
#define VMCS_EXCEPTION_BITMAP		0x4004
#define VMCS_CR3_TARGET_COUNT		0x400a
#define VMCS_EXIT_CONTROLS		0x400c
#define VMCS_EXIT_MSR_STORE_COUNT	0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT	0x4010
#define VMCS_ENTRY_CONTROLS		0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT	0x4014
#define VMCS_ENTRY_INTR_INFO		0x4016
#define VMCS_ENTRY_EXCEPTION_ERROR_CODE	0x4018
#define VMCS_ENTRY_INSTRUCTION_LEN	0x401a
#define VMCS_PROC_CONTROLS2		0x401e
#define VMCS_INSTRUCTION_ERROR		0x4400
#define VMCS_EXIT_REASON		0x4402
#define VMCS_EXIT_INTR_INFO		0x4404
#define VMCS_EXIT_INTR_ERROR_CODE	0x4406
#define VMCS_IDT_VECTORING_INFO		0x4408
#define VMCS_IDT_VECTORING_ERROR_CODE	0x440a
#define VMCS_EXIT_INSTRUCTION_LEN	0x440c
#define VMCS_EXIT_INSTRUCTION_INFO	0x440e
#define VMCS_GUEST_ES_LIMIT		0x4800	/* then CS ... TR, GDTR, IDTR */
#define VMCS_GUEST_GDTR_LIMIT		0x4810
#define VMCS_GUEST_IDTR_LIMIT		0x4812
#define VMCS_GUEST_ES_AR		0x4814	/* then CS ... TR */
#define VMCS_GUEST_INTERRUPTIBILITY	0x4824
#define VMCS_GUEST_ACTIVITY_STATE	0x4826
#define VMCS_GUEST_SYSENTER_CS		0x482a
#define VMCS_HOST_SYSENTER_CS		0x4c00

/* Natural-width fields (B.4). */
#define VMCS_CR0_GUEST_HOST_MASK	0x6000
#define VMCS_CR4_GUEST_HOST_MASK	0x6002
#define VMCS_CR0_READ_SHADOW		0x6004
#define VMCS_CR4_READ_SHADOW		0x6006
#define VMCS_EXIT_QUALIFICATION		0x6400
#define VMCS_GUEST_LINEAR_ADDRESS	0x640a
#define VMCS_GUEST_CR0			0x6800
#define VMCS_GUEST_CR3			0x6802
#define VMCS_GUEST_CR4			0x6804
#define VMCS_GUEST_ES_BASE		0x6806	/* then CS ... TR */
#define VMCS_GUEST_GDTR_BASE		0x6816
#define VMCS_GUEST_IDTR_BASE		0x6818
#define VMCS_GUEST_DR7			0x681a
#define VMCS_GUEST_RSP			0x681c
#define VMCS_GUEST_RIP			0x681e
#define VMCS_GUEST_RFLAGS		0x6820
#define VMCS_GUEST_PENDING_DBG		0x6822
#define VMCS_GUEST_SYSENTER_ESP		0x6824
#define VMCS_GUEST_SYSENTER_EIP		0x6826
#define VMCS_HOST_CR0			0x6c00
#define VMCS_HOST_CR3			0x6c02
#define VMCS_HOST_CR4			0x6c04
#define VMCS_HOST_FS_BASE		0x6c06
#define VMCS_HOST_GS_BASE		0x6c08
#define VMCS_HOST_TR_BASE		0x6c0a
#define VMCS_HOST_GDTR_BASE		0x6c0c
#define VMCS_HOST_IDTR_BASE		0x6c0e
#define VMCS_HOST_SYSENTER_ESP		0x6c10
#define VMCS_HOST_SYSENTER_EIP		0x6c12
#define VMCS_HOST_RSP			0x6c14
#define VMCS_HOST_RIP			0x6c16

/* Pin-based controls (SDM 25.6.1, Table 25-5). */
#define PIN_EXTERNAL_INTERRUPT_EXITING	BIT(0)
#define PIN_NMI_EXITING			BIT(3)
#define PIN_VIRTUAL_NMIS		BIT(5)

/* Primary processor-based controls (25.6.2, Table 25-6). */
#define PROC_INTERRUPT_WINDOW_EXITING	BIT(2)
#define PROC_USE_TSC_OFFSETTING		BIT(3)
#define PROC_HLT_EXITING		BIT(7)
#define PROC_INVLPG_EXITING		BIT(9)
#define PROC_MWAIT_EXITING		BIT(10)
#define PROC_RDPMC_EXITING		BIT(11)
#define PROC_RDTSC_EXITING		BIT(12)
#define PROC_CR3_LOAD_EXITING		BIT(15)
#define PROC_CR3_STORE_EXITING		BIT(16)
#define PROC_CR8_LOAD_EXITING		BIT(19)
#define PROC_CR8_STORE_EXITING		BIT(20)
#define PROC_NMI_WINDOW_EXITING		BIT(22)
#define PROC_MOV_DR_EXITING		BIT(23)
#define PROC_UNCONDITIONAL_IO_EXITING	BIT(24)
#define PROC_USE_MSR_BITMAPS		BIT(28)
#define PROC_MONITOR_EXITING		BIT(29)
#define PROC_ACTIVATE_SECONDARY		BIT(31)

/* Secondary processor-based controls (25.6.2, Table 25-7). */
#define PROC2_ENABLE_EPT		BIT(1)
#define PROC2_ENABLE_VPID		BIT(5)
#define PROC2_WBINVD_EXITING		BIT(6)
#define PROC2_UNRESTRICTED_GUEST	BIT(7)
#define PROC2_ENABLE_INVPCID		BIT(12)

/* VM-exit controls (25.7.1, Table 25-13). */
#define EXIT_SAVE_DEBUG_CONTROLS	BIT(2)
#define EXIT_HOST_ADDRESS_SPACE_SIZE	BIT(9)
#define EXIT_SAVE_IA32_PAT		BIT(18)
#define EXIT_LOAD_IA32_PAT		BIT(19)
#define EXIT_SAVE_IA32_EFER		BIT(20)
#define EXIT_LOAD_IA32_EFER		BIT(21)

/* VM-entry controls (25.8.1, Table 25-15). */
#define ENTRY_LOAD_DEBUG_CONTROLS	BIT(2)
#define ENTRY_IA32E_MODE_GUEST		BIT(9)
#define ENTRY_LOAD_IA32_PAT		BIT(14)
#define ENTRY_LOAD_IA32_EFER		BIT(15)

/*
 * Event injection and IDT vectoring (25.8.3 Table 25-17, 28.2.4): the
 * vector, the type, "deliver an error code" and "valid".
 */
#define INTR_INFO_VECTOR_MASK		0xff
#define INTR_INFO_TYPE_SHIFT		8
#define INTR_INFO_TYPE_MASK		(7u << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_EXTERNAL		(0u << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_NMI			(2u << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_HARD_EXCEPTION	(3u << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_SOFT_INTR		(4u << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_PRIV_SOFT_EXCEPTION	(5u << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_SOFT_EXCEPTION	(6u << INTR_INFO_TYPE_SHIFT)
#define INTR_INFO_DELIVER_ERROR_CODE	BIT(11)
#define INTR_INFO_NMI_UNBLOCKED_BY_IRET	BIT(12)
#define INTR_INFO_VALID			BIT(31)

/* Guest interruptibility state (25.4.2, Table 25-3). */
#define GUEST_INTR_STI_BLOCKING		BIT(0)
#define GUEST_INTR_MOV_SS_BLOCKING	BIT(1)
#define GUEST_INTR_NMI_BLOCKING		BIT(3)

/* Segment access rights (25.4.1, Table 25-2): the descriptor's bits plus "unusable". */
#define VMX_AR_TYPE_MASK		0x0f
#define VMX_AR_S			BIT(4)
#define VMX_AR_DPL_SHIFT		5
#define VMX_AR_P			BIT(7)
#define VMX_AR_AVL			BIT(12)
#define VMX_AR_L			BIT(13)
#define VMX_AR_DB			BIT(14)
#define VMX_AR_G			BIT(15)
#define VMX_AR_UNUSABLE			BIT(16)

/* Basic exit reasons (SDM Appendix C); bit 31 marks a failed VM entry. */
#define EXIT_REASON_EXCEPTION_NMI	0
#define EXIT_REASON_EXTERNAL_INTERRUPT	1
#define EXIT_REASON_TRIPLE_FAULT	2
#define EXIT_REASON_INIT_SIGNAL		3
#define EXIT_REASON_SIPI		4
#define EXIT_REASON_IO_SMI		5
#define EXIT_REASON_OTHER_SMI		6
#define EXIT_REASON_INTERRUPT_WINDOW	7
#define EXIT_REASON_NMI_WINDOW		8
#define EXIT_REASON_TASK_SWITCH		9
#define EXIT_REASON_CPUID		10
#define EXIT_REASON_GETSEC		11
#define EXIT_REASON_HLT			12
#define EXIT_REASON_INVD		13
#define EXIT_REASON_RDPMC		15
#define EXIT_REASON_RSM			17
#define EXIT_REASON_VMCALL		18
#define EXIT_REASON_VMCLEAR		19
#define EXIT_REASON_VMXON		27
#define EXIT_REASON_CR_ACCESS		28
#define EXIT_REASON_DR_ACCESS		29
#define EXIT_REASON_IO_INSTRUCTION	30
#define EXIT_REASON_MSR_READ		31
#define EXIT_REASON_MSR_WRITE		32
#define EXIT_REASON_INVALID_STATE	33
#define EXIT_REASON_MSR_LOAD_FAIL	34
#define EXIT_REASON_MWAIT		36
#define EXIT_REASON_MONITOR		39
#define EXIT_REASON_MCE_DURING_ENTRY	41
#define EXIT_REASON_EPT_VIOLATION	48
#define EXIT_REASON_EPT_MISCONFIG	49
#define EXIT_REASON_INVEPT		50
#define EXIT_REASON_INVVPID		53
#define EXIT_REASON_WBINVD		54
#define EXIT_REASON_XSETBV		55
#define EXIT_REASON_FAILED_ENTRY	BIT(31)

/* I/O exit qualification (28.2.1, Table 28-5). */
#define IO_QUAL_SIZE_MASK		0x7	/* size - 1 */
#define IO_QUAL_IN			BIT(3)
#define IO_QUAL_STRING			BIT(4)
#define IO_QUAL_PORT_SHIFT		16

/* Control-register access qualification (Table 28-3). */
#define CR_QUAL_CR_MASK			0xf
#define CR_QUAL_TYPE_SHIFT		4
#define CR_QUAL_TYPE_MASK		(3 << CR_QUAL_TYPE_SHIFT)
#define CR_QUAL_TYPE_MOV_TO_CR		(0 << CR_QUAL_TYPE_SHIFT)
#define CR_QUAL_TYPE_MOV_FROM_CR	BIT(CR_QUAL_TYPE_SHIFT)
#define CR_QUAL_REG_SHIFT		8
#define CR_QUAL_REG_MASK		(0xf << CR_QUAL_REG_SHIFT)

/* MOV DR qualification (Table 28-4). */
#define DR_QUAL_DR_MASK			0x7
#define DR_QUAL_FROM_DR			BIT(4)
#define DR_QUAL_REG_SHIFT		8

/* EPT violation qualification (Table 28-7). */
#define EPT_QUAL_WRITE			BIT(1)
#define EPT_QUAL_FETCH			BIT(2)

/*
 * VMREAD and VMWRITE on the current VMCS (SDM Vol. 3C 31.3). They fail only
 * for a field this CPU does not have or with no current VMCS, and fault
 * (#UD) if VMX is off on this CPU, which a reboot can do under a running
 * vCPU: the exception-table entry turns that into a failed access, so that
 * a reboot is never an oops.
 */
static __always_inline unsigned long vmcs_read(unsigned long field)
{
	unsigned long value = 0;

	asm volatile("1: vmread %[field], %[value]\n"
		     "2:\n"
		     _ASM_EXTABLE(1b, 2b)
		     : [value] "+r"(value)
		     : [field] "r"(field)
		     : "cc");
	return value;
}

static __always_inline u32 vmcs_read32(unsigned long field)
{
	return vmcs_read(field);
}

static __always_inline bool vmcs_write(unsigned long field, unsigned long value)
{
	bool failed = true;

	asm volatile("1: vmwrite %[value], %[field]\n"
		     "   setna %[failed]\n"
		     "2:\n"
		     _ASM_EXTABLE(1b, 2b)
		     : [failed] "+qm"(failed)
		     : [field] "r"(field), [value] "rm"(value)
		     : "cc");
	return !failed;
}

static __always_inline void vmcs_set_bits(unsigned long field, u32 bits)
{
	vmcs_write(field, vmcs_read(field) | bits);
}

static __always_inline void vmcs_clear_bits(unsigned long field, u32 bits)
{
	vmcs_write(field, vmcs_read(field) & ~bits);
}

#endif /* OKVM_VMX_VMCS_H */
