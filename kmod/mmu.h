/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmu.h - the entry format of the second-level page tables.
 *
 * AMD's nested page tables (APM 15.25) and Intel's extended page tables
 * (SDM 29.3) are both four-level radix trees of 512 eight-byte entries per
 * 4 KiB page, indexed by guest-physical address bits 47:39, 38:30, 29:21
 * and 20:12, with the next table's (or the page's) physical address in bits
 * 51:12. They differ only in which bits say "present", "writable" and
 * "executable". So mmu.c walks one tree and asks the vendor for the bits.
 */
#ifndef OKVM_MMU_H
#define OKVM_MMU_H

#include <linux/types.h>

/*
 * struct okvm_spte_format - how one vendor encodes second-level entries.
 * @table:	bits of an entry pointing to a lower table (all rights: the
 *		leaf decides).
 * @leaf:	bits every leaf has: readable, plus e.g. EPT's memory type.
 * @leaf_write:	added when the page may be written.
 * @leaf_exec:	added when the page may be executed (EPT's X bit).
 * @leaf_noexec: added when it may not (NPT's NX bit).
 * @present:	an entry with any of these bits set maps something.
 */
struct okvm_spte_format {
	u64 table;
	u64 leaf;
	u64 leaf_write;
	u64 leaf_exec;
	u64 leaf_noexec;
	u64 present;
};

/* Physical address bits 51:12 of an entry (APM 15.25.5, SDM Table 29-6). */
#define OKVM_SPTE_ADDR_MASK	GENMASK_ULL(51, 12)
#define OKVM_SPTE_LEVELS	4

#endif /* OKVM_MMU_H */
