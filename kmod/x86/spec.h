/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * spec.h - speculative-execution hygiene around guest entry and exit: what
 * the host kernel's KVM does on the same kernel, keyed on the same kernel
 * flags (Documentation/design.rst, "Speculative execution", lists each).
 */
#ifndef OKVM_X86_SPEC_H
#define OKVM_X86_SPEC_H

#ifdef __KERNEL__
#include <linux/bits.h>
#include <linux/types.h>
#else
#include <stdbool.h>	/* selftests/unit/spec_test.c */
#endif

/* Bits of the load-time report, one per mitigation an entry path applies. */
#define OKVM_SPEC_RSB_FILL	BIT(0)	/* RSB stuffed after every exit */
#define OKVM_SPEC_RSB_LITE	BIT(1)	/* one CALL retired before a RET (PBRSB) */
#define OKVM_SPEC_IBPB_SWITCH	BIT(2)	/* IBPB when a CPU runs another vCPU */
#define OKVM_SPEC_VERW		BIT(3)	/* CPU buffers cleared before entry */
#define OKVM_SPEC_L1D_MSR	BIT(4)	/* L1D flushed by IA32_FLUSH_CMD */
#define OKVM_SPEC_L1D_SW	BIT(5)	/* L1D flushed by reading 64 KiB */
#define OKVM_SPEC_IBRS		BIT(6)	/* SPEC_CTRL.IBRS rewritten after exit */
#define OKVM_SPEC_UNTRAIN_RET	BIT(7)	/* return predictions untrained */
#define OKVM_SPEC_IBPB_EXIT	BIT(8)	/* IBPB after every exit */
#define OKVM_SPEC_BHB_CLEAR	BIT(9)	/* branch history cleared after exit */
#define OKVM_SPEC_IBPB_USER	BIT(10)	/* IBPB before the VMM's user space runs */

#ifdef __KERNEL__
unsigned int okvm_spec_common(void);
void okvm_spec_report(const char *vendor, unsigned int active);
void okvm_spec_after_exit(void);

/* L1TF (VMX only: AMD CPUs are not affected). */
int okvm_l1d_flush_init(void);
void okvm_l1d_flush_exit(void);
unsigned int okvm_l1d_flush_mode(void);
void okvm_l1d_flush(void);
#endif

/* The L1D flush decision, as pure logic (selftests/unit tests it). */
enum okvm_l1d_need {
	OKVM_L1D_NOT_NEEDED,
	OKVM_L1D_FLUSH_MSR,
	OKVM_L1D_FLUSH_SW,
};

/*
 * L1TF (CVE-2018-3646, Intel-SA-00161): a guest's page-table entry that is
 * not present can make the CPU read host data from the L1D speculatively.
 * A flush before entry is needed only where the CPU has the bug, the
 * microcode does not say it is unnecessary (ARCH_CAPABILITIES bit 3,
 * SKIP_L1DFL_VMENTRY) and the administrator did not turn the mitigation
 * off (l1tf=off, or mitigations=off). The flush is the IA32_FLUSH_CMD MSR
 * where the microcode has it, else reading a buffer larger than the L1D.
 */
static inline enum okvm_l1d_need okvm_l1d_decide(bool bug_l1tf,
						 bool skip_vmentry_flush,
						 bool mitigation_off,
						 bool has_flush_cmd)
{
	if (!bug_l1tf || skip_vmentry_flush || mitigation_off)
		return OKVM_L1D_NOT_NEEDED;
	return has_flush_cmd ? OKVM_L1D_FLUSH_MSR : OKVM_L1D_FLUSH_SW;
}

#endif /* OKVM_X86_SPEC_H */
