/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paging.h - the guest page-table walk with the hardware's access checks,
 * for the accesses okvm emulates.
 *
 * When okvm emulates an instruction (an MMIO access, INS/OUTS, MOVS with
 * one side in RAM, the fetch of the instruction itself) it makes guest
 * accesses the CPU never checked: the CPU stopped at the first page that
 * faulted in the second-level tables, or at the I/O intercept, before the
 * other accesses of the instruction. So every such access goes through
 * okvm_paging_walk(), which applies the rules of Intel SDM Vol. 3 4.6
 * ("Access Rights") and AMD APM Vol. 2 5.6 ("Page-Protection Checks") and
 * the reserved-bit checks of SDM 4.3-4.5 (the entry formats), and returns
 * the #PF the CPU would raise, with the error code of SDM 4.7.
 *
 * Like the decoder (emulate.h), it is pure code: the caller passes the
 * control-register state and a function that reads guest-physical
 * memory, so the same file is built into okvm.ko and into the host unit
 * tests in selftests/unit/.
 *
 * Not modelled: protection keys (CR4.PKE/PKS; okvm offers neither to the
 * guest), and the accessed/dirty bits, which okvm does not set on the
 * walks it makes (design.rst, "The emulator and guest paging").
 */
#ifndef OKVM_X86_PAGING_H
#define OKVM_X86_PAGING_H

#include "emulate.h"	/* u8-u64, BIT(), for the kernel and the host */

#ifndef __KERNEL__
#define BIT_ULL(nr) (1ULL << (nr))
#endif

/* #PF error code bits (SDM Vol. 3 4.7, Figure 4-12; APM Vol. 2 8.4.2). */
#define OKVM_PFERR_PRESENT	BIT(0)	/* a protection violation, not P=0 */
#define OKVM_PFERR_WRITE	BIT(1)
#define OKVM_PFERR_USER		BIT(2)	/* a user-mode access */
#define OKVM_PFERR_RSVD		BIT(3)	/* a reserved bit set in an entry */
#define OKVM_PFERR_FETCH	BIT(4)	/* an instruction fetch (see below) */

/* The kind of access (okvm_paging_walk()'s @access). */
#define OKVM_ACC_WRITE		BIT(0)	/* a data write */
#define OKVM_ACC_FETCH		BIT(1)	/* an instruction fetch */
/*
 * An implicit supervisor-mode access (SDM 4.6: to the GDT, LDT, IDT, TSS
 * or a shadow stack, whatever the CPL): a supervisor access even at CPL 3,
 * and SMAP applies to it whatever EFLAGS.AC says.
 */
#define OKVM_ACC_IMPLICIT	BIT(2)

/* The paging-relevant vCPU state, read once per walk. */
struct okvm_paging_state {
	u64 cr0;
	u64 cr3;
	u64 cr4;
	u64 efer;
	u64 rflags;		/* only AC matters */
	unsigned int cpl;
	/* The guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0], 36 without it). */
	unsigned int maxphyaddr;
	/* The guest's CPUID offers 1-GiB pages (0x80000001 EDX[26]). */
	bool gbpages;
};

/*
 * Read @len (4 or 8) bytes of guest-physical memory at @gpa into @val.
 * Returns 0, or nonzero when no RAM is there.
 */
typedef int (*okvm_read_gpa_fn)(void *ctx, u64 gpa, void *val,
				unsigned int len);

/* okvm_paging_walk() results. */
#define OKVM_WALK_OK		0
#define OKVM_WALK_FAULT		1	/* *@error_code: inject #PF, CR2 = @la */

/*
 * okvm_paging_walk() - translate @la for an access of kind @access
 * (OKVM_ACC_*) as the CPU would in the state @s.
 *
 * Returns OKVM_WALK_OK with *@gpa set, or OKVM_WALK_FAULT with the #PF
 * error code in *@error_code. A paging-structure entry that @read cannot
 * read (not in guest RAM) ends the walk as a not-present entry, as in
 * KVM's walker.
 */
int okvm_paging_walk(const struct okvm_paging_state *s, u64 la,
		     unsigned int access, okvm_read_gpa_fn read, void *ctx,
		     u64 *gpa, u32 *error_code);

#endif /* OKVM_X86_PAGING_H */
