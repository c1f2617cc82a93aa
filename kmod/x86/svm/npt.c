// SPDX-License-Identifier: GPL-2.0-only
/*
 * npt.c - the entry format of AMD's nested page tables (APM 15.25).
 *
 * Nested page-table entries have the layout of ordinary long-mode page-table
 * entries (APM Vol. 2, 5.4), and every nested access counts as a user
 * access (APM 15.25.5), so U/S must be set at every level.
 */
#include <linux/bits.h>

#include "svm.h"

#define NPT_P		BIT_ULL(0)	/* present */
#define NPT_RW		BIT_ULL(1)	/* writable */
#define NPT_US		BIT_ULL(2)	/* user: required for nested walks */
#define NPT_A		BIT_ULL(5)	/* accessed */
#define NPT_D		BIT_ULL(6)	/* dirty (leaves only) */
#define NPT_NX		BIT_ULL(63)	/* no execute */

const struct okvm_spte_format svm_npt_format = {
	.table = NPT_P | NPT_RW | NPT_US | NPT_A,
	/*
	 * Set A and D up front: okvm does not use them, and the walker would
	 * otherwise write them back to the table on the first access. The
	 * PAT/PCD/PWT bits stay 0, write-back, combined with the guest's own
	 * memory type (APM 15.25.8).
	 */
	.leaf = NPT_P | NPT_US | NPT_A | NPT_D,
	.leaf_write = NPT_RW,
	.leaf_exec = 0,
	.leaf_noexec = NPT_NX,
	.present = NPT_P,
};
