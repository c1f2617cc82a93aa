// SPDX-License-Identifier: GPL-2.0-only
/*
 * spec_test.c - host unit test of the L1D-flush decision in
 * kmod/x86/spec.h: every combination of the four inputs, against the rule
 * written out here once more (flush only where the CPU has L1TF, the
 * microcode does not waive the flush and the mitigation is on; by MSR
 * where the CPU has IA32_FLUSH_CMD).
 */
#include "kselftest_harness.h"
#include "spec.h"

TEST(l1d_decision_table)
{
	int i;

	for (i = 0; i < 16; i++) {
		bool bug = i & 1, skip = i & 2, off = i & 4, msr = i & 8;
		enum okvm_l1d_need want = OKVM_L1D_NOT_NEEDED;

		if (bug && !skip && !off)
			want = msr ? OKVM_L1D_FLUSH_MSR : OKVM_L1D_FLUSH_SW;
		EXPECT_EQ(want, okvm_l1d_decide(bug, skip, off, msr))
			TH_LOG("bug %d skip %d off %d msr %d", bug, skip, off,
			       msr);
	}
}

/* The cases that matter on real machines, by name. */
TEST(l1d_named_cases)
{
	/* AMD, or Intel without L1TF: never. */
	EXPECT_EQ(OKVM_L1D_NOT_NEEDED, okvm_l1d_decide(false, false, false, true));
	/* Skylake with current microcode: the MSR. */
	EXPECT_EQ(OKVM_L1D_FLUSH_MSR, okvm_l1d_decide(true, false, false, true));
	/* Old microcode (and Bochs' Skylake): the software flush. */
	EXPECT_EQ(OKVM_L1D_FLUSH_SW, okvm_l1d_decide(true, false, false, false));
	/* l1tf=off or mitigations=off. */
	EXPECT_EQ(OKVM_L1D_NOT_NEEDED, okvm_l1d_decide(true, false, true, true));
	/* Nested under a hypervisor that flushes itself. */
	EXPECT_EQ(OKVM_L1D_NOT_NEEDED, okvm_l1d_decide(true, true, false, true));
}

TEST_HARNESS_MAIN
