// SPDX-License-Identifier: GPL-2.0-only
/*
 * ept.c - the entry format of Intel's extended page tables (SDM Vol. 3
 * 29.3.2, Tables 29-1 to 29-6).
 *
 * An EPT entry maps something when any of its read, write and execute bits
 * is set. A leaf also carries the memory type in bits 5:3, which okvm sets
 * to write-back (6), the type of ordinary RAM (SDM 29.3.7).
 */
#include <linux/bits.h>

#include "../../mmu.h"
#include "vmx.h"

#define EPT_R		BIT_ULL(0)
#define EPT_W		BIT_ULL(1)
#define EPT_X		BIT_ULL(2)
#define EPT_MT_WB	(6ULL << 3)

const struct okvm_spte_format vmx_ept_format = {
	.table = EPT_R | EPT_W | EPT_X,
	.leaf = EPT_R | EPT_MT_WB,
	.leaf_write = EPT_W,
	.leaf_exec = EPT_X,
	.leaf_noexec = 0,
	.present = EPT_R | EPT_W | EPT_X,
};
