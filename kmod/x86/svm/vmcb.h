/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmcb.h - the Virtual Machine Control Block (AMD APM Vol. 2, Appendix B).
 *
 * One 4 KiB page per vCPU: the control area (offsets 0x000-0x3ff) says what
 * to intercept and reports why the guest exited; the state save area (from
 * 0x400) holds the guest's segment, control and system registers. VMRUN
 * loads the guest from it, #VMEXIT writes the guest back into it.
 */
#ifndef OKVM_SVM_VMCB_H
#define OKVM_SVM_VMCB_H

#include <linux/build_bug.h>
#include <linux/types.h>

/* Table B-1: the control area. */
/* intercept_cr: bit 16 + n intercepts writes of CRn (APM Vol. 2 15.9). */
#define SVM_INTERCEPT_CR_WRITE(n)	BIT(16 + (n))

struct vmcb_control {
	u32 intercept_cr;		/* 0x000: 15:0 reads, 31:16 writes */
	u32 intercept_dr;		/* 0x004: 15:0 reads, 31:16 writes */
	u32 intercept_exceptions;	/* 0x008: one bit per vector */
	u32 intercept_misc1;		/* 0x00c: SVM_INTERCEPT1_* */
	u32 intercept_misc2;		/* 0x010: SVM_INTERCEPT2_* */
	u32 intercept_misc3;		/* 0x014 */
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_threshold;	/* 0x03c */
	u16 pause_filter_count;		/* 0x03e */
	u64 iopm_base_pa;		/* 0x040 */
	u64 msrpm_base_pa;		/* 0x048 */
	u64 tsc_offset;			/* 0x050 */
	u32 asid;			/* 0x058 */
	u8 tlb_control;			/* 0x05c: SVM_TLB_* */
	u8 reserved_05d[3];
	u32 int_ctl;			/* 0x060: V_TPR, V_IRQ, V_INTR_MASKING */
	u32 int_vector;			/* 0x064 */
	u64 int_state;			/* 0x068: bit 0 interrupt shadow */
	u64 exit_code;			/* 0x070 */
	u64 exit_info_1;		/* 0x078 */
	u64 exit_info_2;		/* 0x080 */
	u64 exit_int_info;		/* 0x088: SVM_EVTINJ_* layout */
	u64 nested_ctl;			/* 0x090: bit 0 NP_ENABLE */
	u64 avic_apic_bar;		/* 0x098 */
	u64 ghcb_pa;			/* 0x0a0 */
	u64 event_inj;			/* 0x0a8: SVM_EVTINJ_* */
	u64 nested_cr3;			/* 0x0b0: nCR3, the NPT root */
	u64 virt_ext;			/* 0x0b8: LBR virtualization, VMSAVE/VMLOAD virt */
	u32 clean;			/* 0x0c0: VMCB clean bits (APM 15.15.3) */
	u32 reserved_0c4;
	u64 next_rip;			/* 0x0c8: with NRIP save */
	u8 insn_len;			/* 0x0d0: with decode assists */
	u8 insn_bytes[15];		/* 0x0d1 */
	u8 reserved_0e0[0x400 - 0x0e0];
} __packed;

/* One segment register in the save area: selector, attributes, limit, base. */
struct vmcb_seg {
	u16 selector;
	u16 attrib;	/* type 3:0, S 4, DPL 6:5, P 7, AVL 8, L 9, D/B 10, G 11 */
	u32 limit;
	u64 base;
} __packed;

/* Table B-2: the state save area, at offset 0x400 of the VMCB. */
struct vmcb_save {
	struct vmcb_seg es;		/* 0x000 */
	struct vmcb_seg cs;		/* 0x010 */
	struct vmcb_seg ss;		/* 0x020 */
	struct vmcb_seg ds;		/* 0x030 */
	struct vmcb_seg fs;		/* 0x040 */
	struct vmcb_seg gs;		/* 0x050 */
	struct vmcb_seg gdtr;		/* 0x060: only limit and base */
	struct vmcb_seg ldtr;		/* 0x070 */
	struct vmcb_seg idtr;		/* 0x080: only limit and base */
	struct vmcb_seg tr;		/* 0x090 */
	u8 reserved_0a0[0x0cb - 0x0a0];
	u8 cpl;				/* 0x0cb */
	u32 reserved_0cc;
	u64 efer;			/* 0x0d0 */
	u8 reserved_0d8[0x148 - 0x0d8];
	u64 cr4;			/* 0x148 */
	u64 cr3;			/* 0x150 */
	u64 cr0;			/* 0x158 */
	u64 dr7;			/* 0x160 */
	u64 dr6;			/* 0x168 */
	u64 rflags;			/* 0x170 */
	u64 rip;			/* 0x178 */
	u8 reserved_180[0x1d8 - 0x180];
	u64 rsp;			/* 0x1d8 */
	u8 reserved_1e0[0x1f8 - 0x1e0];
	u64 rax;			/* 0x1f8 */
	u64 star;			/* 0x200 */
	u64 lstar;			/* 0x208 */
	u64 cstar;			/* 0x210 */
	u64 sfmask;			/* 0x218 */
	u64 kernel_gs_base;		/* 0x220 */
	u64 sysenter_cs;		/* 0x228 */
	u64 sysenter_esp;		/* 0x230 */
	u64 sysenter_eip;		/* 0x238 */
	u64 cr2;			/* 0x240 */
	u8 reserved_248[0x268 - 0x248];
	u64 g_pat;			/* 0x268: guest PAT, with nested paging */
	u64 dbgctl;			/* 0x270 */
	u64 br_from;			/* 0x278 */
	u64 br_to;			/* 0x280 */
	u64 last_excp_from;		/* 0x288 */
	u64 last_excp_to;		/* 0x290 */
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

static_assert(sizeof(struct vmcb_control) == 0x400);
static_assert(offsetof(struct vmcb_save, efer) == 0x0d0);
static_assert(offsetof(struct vmcb_save, cr4) == 0x148);
static_assert(offsetof(struct vmcb_save, rsp) == 0x1d8);
static_assert(offsetof(struct vmcb_save, cr2) == 0x240);
static_assert(offsetof(struct vmcb_save, g_pat) == 0x268);
static_assert(sizeof(struct vmcb) <= 4096);

/* Segment attribute bits (APM 15.5.1, "Segment State in the VMCB"). */
#define SVM_SEG_TYPE_MASK	0x000f
#define SVM_SEG_S		BIT(4)
#define SVM_SEG_DPL_SHIFT	5
#define SVM_SEG_P		BIT(7)
#define SVM_SEG_AVL		BIT(8)
#define SVM_SEG_L		BIT(9)
#define SVM_SEG_DB		BIT(10)
#define SVM_SEG_G		BIT(11)

/* intercept_dr: reads of DRn are bit n, writes bit 16 + n (APM 15.12.2). */
#define SVM_INTERCEPT_DR0_3		0x000f000f
#define SVM_INTERCEPT_DR0_7		0x00ff00ff

/* intercept_misc1 (vector 3, offset 0x00c). */
#define SVM_INTERCEPT1_INTR		BIT(0)
#define SVM_INTERCEPT1_NMI		BIT(1)
#define SVM_INTERCEPT1_SMI		BIT(2)
#define SVM_INTERCEPT1_INIT		BIT(3)
#define SVM_INTERCEPT1_VINTR		BIT(4)
#define SVM_INTERCEPT1_RDPMC		BIT(15)
#define SVM_INTERCEPT1_CPUID		BIT(18)
#define SVM_INTERCEPT1_RSM		BIT(19)
#define SVM_INTERCEPT1_IRET		BIT(20)
#define SVM_INTERCEPT1_INTN		BIT(21)
#define SVM_INTERCEPT1_INVD		BIT(22)
#define SVM_INTERCEPT1_HLT		BIT(24)
#define SVM_INTERCEPT1_INVLPGA		BIT(26)
#define SVM_INTERCEPT1_IOIO_PROT	BIT(27)
#define SVM_INTERCEPT1_MSR_PROT		BIT(28)
#define SVM_INTERCEPT1_TASK_SWITCH	BIT(29)
#define SVM_INTERCEPT1_SHUTDOWN		BIT(31)

/* intercept_misc2 (vector 4, offset 0x010). */
#define SVM_INTERCEPT2_VMRUN		BIT(0)
#define SVM_INTERCEPT2_VMMCALL		BIT(1)
#define SVM_INTERCEPT2_VMLOAD		BIT(2)
#define SVM_INTERCEPT2_VMSAVE		BIT(3)
#define SVM_INTERCEPT2_STGI		BIT(4)
#define SVM_INTERCEPT2_CLGI		BIT(5)
#define SVM_INTERCEPT2_SKINIT		BIT(6)
#define SVM_INTERCEPT2_RDTSCP		BIT(7)
#define SVM_INTERCEPT2_WBINVD		BIT(9)
#define SVM_INTERCEPT2_MONITOR		BIT(10)
#define SVM_INTERCEPT2_MWAIT		BIT(11)
#define SVM_INTERCEPT2_XSETBV		BIT(13)

/* int_ctl (APM 15.21). */
#define SVM_INT_CTL_V_TPR_MASK		0xf
#define SVM_INT_CTL_V_IRQ		BIT(8)
#define SVM_INT_CTL_V_INTR_PRIO_MASK	(0xf << 16)
#define SVM_INT_CTL_V_IGN_TPR		BIT(20)
#define SVM_INT_CTL_V_INTR_MASKING	BIT(24)

/* int_state: the guest is in an interrupt shadow (STI, MOV SS). */
#define SVM_INT_STATE_SHADOW		BIT(0)

/* tlb_control (APM 15.16.1). */
#define SVM_TLB_NOTHING			0
#define SVM_TLB_FLUSH_ALL		1
#define SVM_TLB_FLUSH_ASID		3

/* nested_ctl. */
#define SVM_NESTED_CTL_NP_ENABLE	BIT(0)

/* event_inj and exit_int_info (APM 15.20). */
#define SVM_EVTINJ_VECTOR_MASK		0xff
#define SVM_EVTINJ_TYPE_SHIFT		8
#define SVM_EVTINJ_TYPE_MASK		(7 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_INTR		(0 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_NMI		(2 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_EXEPT		(3 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_SOFT		(4 << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_VALID_ERR		BIT(11)
#define SVM_EVTINJ_VALID		BIT(31)

/* Exit codes (Appendix C). */
#define SVM_EXIT_WRITE_CR0		0x010
#define SVM_EXIT_READ_DR0		0x020
#define SVM_EXIT_WRITE_DR0		0x030
#define SVM_EXIT_EXCP_BASE		0x040
#define SVM_EXIT_INTR			0x060
#define SVM_EXIT_NMI			0x061
#define SVM_EXIT_SMI			0x062
#define SVM_EXIT_INIT			0x063
#define SVM_EXIT_VINTR			0x064
#define SVM_EXIT_RDPMC			0x06f
#define SVM_EXIT_CPUID			0x072
#define SVM_EXIT_RSM			0x073
#define SVM_EXIT_IRET			0x074
#define SVM_EXIT_SWINT			0x075
#define SVM_EXIT_INVD			0x076
#define SVM_EXIT_HLT			0x078
#define SVM_EXIT_INVLPGA		0x07a
#define SVM_EXIT_IOIO			0x07b
#define SVM_EXIT_MSR			0x07c
#define SVM_EXIT_TASK_SWITCH		0x07d
#define SVM_EXIT_SHUTDOWN		0x07f
#define SVM_EXIT_VMRUN			0x080
#define SVM_EXIT_VMMCALL		0x081
#define SVM_EXIT_VMLOAD			0x082
#define SVM_EXIT_VMSAVE			0x083
#define SVM_EXIT_STGI			0x084
#define SVM_EXIT_CLGI			0x085
#define SVM_EXIT_SKINIT			0x086
#define SVM_EXIT_RDTSCP			0x087
#define SVM_EXIT_WBINVD			0x089
#define SVM_EXIT_MONITOR		0x08a
#define SVM_EXIT_MWAIT			0x08b
#define SVM_EXIT_XSETBV			0x08d
#define SVM_EXIT_NPF			0x400
#define SVM_EXIT_INVALID		((u64)-1)

/* EXITINFO1 of an IOIO intercept (APM 15.10.2, Figure 15-2). */
#define SVM_IOIO_TYPE_IN		BIT(0)
#define SVM_IOIO_STR			BIT(2)
#define SVM_IOIO_REP			BIT(3)
#define SVM_IOIO_SZ_SHIFT		4	/* bits 6:4: 1, 2, 4 bytes */
#define SVM_IOIO_SZ_MASK		(7 << SVM_IOIO_SZ_SHIFT)
#define SVM_IOIO_A_SHIFT		7	/* bits 9:7: 16, 32, 64-bit address */
#define SVM_IOIO_A_MASK			(7 << SVM_IOIO_A_SHIFT)
#define SVM_IOIO_PORT_SHIFT		16

/* EXITINFO1 of a nested page fault (APM 15.25.6): a #PF error code. */
#define SVM_NPF_WRITE			BIT_ULL(1)
#define SVM_NPF_FETCH			BIT_ULL(4)

#endif /* OKVM_SVM_VMCB_H */
