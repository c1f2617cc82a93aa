// SPDX-License-Identifier: GPL-2.0-only
/*
 * paging.c - the guest page-table walk with the CPU's access-rights and
 * reserved-bit checks (paging.h says why okvm needs them).
 *
 * References: Intel SDM Vol. 3 (the 2023 editions) 4.3 (32-bit paging),
 * 4.4 (PAE paging), 4.5 (4- and 5-level paging), 4.6 (access rights),
 * 4.7 (page-fault exceptions); AMD APM Vol. 2 5.2-5.3 (the table
 * formats), 5.6 (page protection, NX included), 8.4.2 (#PF error code).
 */
#include "paging.h"

/* Bits of the control registers, EFER and RFLAGS the walk reads. */
#define PG_CR0_WP	BIT(16)
#define PG_CR0_PG	BIT(31)
#define PG_CR4_PSE	BIT(4)
#define PG_CR4_PAE	BIT(5)
#define PG_CR4_LA57	BIT(12)
#define PG_CR4_SMEP	BIT(20)
#define PG_CR4_SMAP	BIT(21)
#define PG_EFER_LMA	BIT(10)
#define PG_EFER_NXE	BIT(11)
#define PG_RFLAGS_AC	BIT(18)

/* Paging-structure entry bits (SDM 4.3-4.5, APM 5.3). */
#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_US		BIT_ULL(2)
#define PTE_PS		BIT_ULL(7)
#define PTE_XD		BIT_ULL(63)

/* Bits @hi down to @lo, inclusive; empty when @hi < @lo. */
static u64 pg_bits(unsigned int hi, unsigned int lo)
{
	if (hi < lo)
		return 0;
	return (~0ULL >> (63 - hi)) & ~((1ULL << lo) - 1);
}

/* What a walk accumulates over the levels (SDM 4.6: the access rights). */
struct pg_walk {
	const struct okvm_paging_state *s;
	okvm_read_gpa_fn read;
	void *ctx;
	u32 base_error;		/* the W, U and I/D bits of any #PF here */
	bool user_page;		/* U/S = 1 at every level */
	bool writable;		/* R/W = 1 at every level */
	bool no_exec;		/* XD = 1 at some level (with EFER.NXE) */
};

/*
 * Read one entry. Returns 0 with *@pte present and free of reserved bits
 * in @rsvd; otherwise the walk ends with *@error_code: a not-present
 * fault (P = 0, or an entry outside guest RAM) or a reserved-bit one.
 */
static int pg_read_entry(struct pg_walk *w, u64 gpa, unsigned int len,
			 u64 rsvd, u64 *pte, u32 *error_code)
{
	u32 v32;

	*pte = 0;
	if (len == 4) {
		if (w->read(w->ctx, gpa, &v32, 4))
			goto not_present;
		*pte = v32;
	} else if (w->read(w->ctx, gpa, pte, 8)) {
		goto not_present;
	}
	if (!(*pte & PTE_P))
		goto not_present;
	if (*pte & rsvd) {
		/* SDM 4.7: P = 1 and RSVD = 1; the rights are not looked at. */
		*error_code = w->base_error | OKVM_PFERR_PRESENT |
			      OKVM_PFERR_RSVD;
		return OKVM_WALK_FAULT;
	}
	return 0;

not_present:
	*error_code = w->base_error;
	return OKVM_WALK_FAULT;
}

/* Fold an entry's R/W, U/S and XD into the rights of the walk. */
static void pg_account(struct pg_walk *w, u64 pte, bool has_xd)
{
	w->writable &= !!(pte & PTE_RW);
	w->user_page &= !!(pte & PTE_US);
	if (has_xd && (w->s->efer & PG_EFER_NXE))
		w->no_exec |= !!(pte & PTE_XD);
}

/*
 * SDM 4.6.1 (APM 5.6): may an access of kind @access at the state's CPL
 * use a page with the accumulated rights?
 */
static bool pg_allowed(const struct pg_walk *w, unsigned int access)
{
	const struct okvm_paging_state *s = w->s;
	bool write = access & OKVM_ACC_WRITE;
	bool fetch = access & OKVM_ACC_FETCH;
	bool implicit = access & OKVM_ACC_IMPLICIT;

	if (s->cpl == 3 && !implicit) {
		/* User-mode access: user pages only, R/W for writes. */
		if (!w->user_page)
			return false;
		if (fetch)
			return !w->no_exec;
		return !write || w->writable;
	}

	/* Supervisor-mode access. */
	if (fetch) {
		if (w->no_exec)
			return false;
		/* SMEP: no supervisor fetch from a user-mode address. */
		return !(w->user_page && (s->cr4 & PG_CR4_SMEP));
	}
	/* CR0.WP = 1: supervisor writes need R/W = 1 at every level too. */
	if (write && !w->writable && (s->cr0 & PG_CR0_WP))
		return false;
	/*
	 * SMAP: no supervisor data access to a user-mode address, unless it
	 * is explicit and EFLAGS.AC = 1 (which only CPL < 3 can make).
	 */
	if (w->user_page && (s->cr4 & PG_CR4_SMAP) &&
	    (implicit || !(s->rflags & PG_RFLAGS_AC)))
		return false;
	return true;
}

/* 32-bit paging (SDM 4.3): two levels of 4-byte entries, 4-MiB pages. */
static int pg_walk32(struct pg_walk *w, u32 la, u64 *gpa, u32 *error_code)
{
	const struct okvm_paging_state *s = w->s;
	unsigned int m = s->maxphyaddr < 40 ? s->maxphyaddr : 40;
	u64 pde, pte;
	int ret;

	ret = pg_read_entry(w, (s->cr3 & 0xfffff000) + (la >> 22) * 4, 4, 0,
			    &pde, error_code);
	if (ret)
		return ret;
	if ((pde & PTE_PS) && (s->cr4 & PG_CR4_PSE)) {
		/*
		 * A 4-MiB page (SDM 4.3): bits 20:13 are address bits 39:32
		 * (PSE-36); those at or above MAXPHYADDR, and bit 21, are
		 * reserved.
		 */
		if (pde & (pg_bits(20, m - 19) | (1ULL << 21))) {
			*error_code = w->base_error | OKVM_PFERR_PRESENT |
				      OKVM_PFERR_RSVD;
			return OKVM_WALK_FAULT;
		}
		pg_account(w, pde, false);
		*gpa = (pde & 0xffc00000) | ((pde >> 13) & 0xff) << 32 |
		       (la & 0x3fffff);
		return OKVM_WALK_OK;
	}
	pg_account(w, pde, false);
	ret = pg_read_entry(w, (pde & 0xfffff000) + ((la >> 12) & 0x3ff) * 4,
			    4, 0, &pte, error_code);
	if (ret)
		return ret;
	pg_account(w, pte, false);
	*gpa = (pte & 0xfffff000) | (la & 0xfff);
	return OKVM_WALK_OK;
}

/*
 * PAE paging (SDM 4.4) and 4-/5-level paging (SDM 4.5): 8-byte entries,
 * 9 bits of the address per level.
 */
static int pg_walk64(struct pg_walk *w, u64 la, u64 *gpa, u32 *error_code)
{
	const struct okvm_paging_state *s = w->s;
	unsigned int m = s->maxphyaddr;
	bool lma = s->efer & PG_EFER_LMA;
	u64 addr_mask = pg_bits(m - 1, 12);
	u64 rsvd, table, pte;
	int level, shift, ret;

	/*
	 * Reserved in every entry: address bits at or above MAXPHYADDR (up
	 * to bit 51 in long mode, where 62:52 are ignored; up to bit 62 in
	 * PAE paging, SDM 4.4.2), and XD when EFER.NXE = 0.
	 */
	rsvd = pg_bits(lma ? 51 : 62, m);
	if (!(s->efer & PG_EFER_NXE))
		rsvd |= PTE_XD;

	if (lma) {
		level = s->cr4 & PG_CR4_LA57 ? 5 : 4;
		table = s->cr3 & addr_mask;
	} else {
		/*
		 * SDM 4.4.1: the PDPTE has no R/W, U/S or XD; bits 2:1 and
		 * 8:5 are reserved, and so is 63 (there is no XD there).
		 */
		la = (u32)la;
		ret = pg_read_entry(w, (s->cr3 & 0xffffffe0) + (la >> 30) * 8,
				    8, rsvd | PTE_XD | pg_bits(2, 1) |
				    pg_bits(8, 5), &pte, error_code);
		if (ret)
			return ret;
		level = 2;
		table = pte & addr_mask;
	}

	for (; level > 0; level--) {
		u64 lvl_rsvd = rsvd;
		bool large;

		shift = 12 + 9 * (level - 1);
		/*
		 * PS is reserved in a PML5E and a PML4E (SDM 4.5.4),
		 * and in a PDPTE without 1-GiB pages (APM 5.3.4: MBZ). PAE
		 * paging starts at level 2, where PS maps 2 MiB.
		 */
		if (level >= 4 || (level == 3 && !s->gbpages))
			lvl_rsvd |= PTE_PS;
		ret = pg_read_entry(w, table + ((la >> shift) & 511) * 8, 8,
				    lvl_rsvd, &pte, error_code);
		if (ret)
			return ret;
		pg_account(w, pte, true);
		large = level > 1 && (pte & PTE_PS);
		if (level == 1 || large) {
			u64 mask = (1ULL << shift) - 1;

			/* A large page's address bits below its size, but PAT. */
			if (large && (pte & pg_bits(shift - 1, 13))) {
				*error_code = w->base_error |
					      OKVM_PFERR_PRESENT |
					      OKVM_PFERR_RSVD;
				return OKVM_WALK_FAULT;
			}
			*gpa = (pte & addr_mask & ~mask) | (la & mask);
			return OKVM_WALK_OK;
		}
		table = pte & addr_mask;
	}
	/* Not reached: level 1 always ends the loop. */
	*error_code = w->base_error;
	return OKVM_WALK_FAULT;
}

int okvm_paging_walk(const struct okvm_paging_state *s, u64 la,
		     unsigned int access, okvm_read_gpa_fn read, void *ctx,
		     u64 *gpa, u32 *error_code)
{
	struct pg_walk w = {
		.s = s,
		.read = read,
		.ctx = ctx,
		.user_page = true,
		.writable = true,
	};
	struct okvm_paging_state clamped;
	int ret;

	*error_code = 0;
	if (!(s->cr0 & PG_CR0_PG)) {
		/* No paging: linear is physical, and there are no rights. */
		*gpa = s->efer & PG_EFER_LMA ? la : (u32)la;
		return OKVM_WALK_OK;
	}

	/* MAXPHYADDR is at least 32 and at most 52 (SDM 4.1.4). */
	clamped = *s;
	if (clamped.maxphyaddr < 32)
		clamped.maxphyaddr = 32;
	if (clamped.maxphyaddr > 52)
		clamped.maxphyaddr = 52;
	w.s = &clamped;

	/*
	 * SDM 4.7: W and U/S describe the access (U/S: a user-mode access,
	 * never an implicit supervisor one); I/D is set for a fetch only
	 * when the paging mode can forbid fetches: CR4.SMEP = 1, or PAE or
	 * 4-/5-level paging with EFER.NXE = 1.
	 */
	if (access & OKVM_ACC_WRITE)
		w.base_error |= OKVM_PFERR_WRITE;
	if (s->cpl == 3 && !(access & OKVM_ACC_IMPLICIT))
		w.base_error |= OKVM_PFERR_USER;
	if ((access & OKVM_ACC_FETCH) &&
	    ((s->cr4 & PG_CR4_SMEP) ||
	     ((s->cr4 & PG_CR4_PAE) && (s->efer & PG_EFER_NXE))))
		w.base_error |= OKVM_PFERR_FETCH;

	if (s->cr4 & PG_CR4_PAE)
		ret = pg_walk64(&w, la, gpa, error_code);
	else
		ret = pg_walk32(&w, (u32)la, gpa, error_code);
	if (ret)
		return ret;
	if (!pg_allowed(&w, access)) {
		*error_code = w.base_error | OKVM_PFERR_PRESENT;
		return OKVM_WALK_FAULT;
	}
	return OKVM_WALK_OK;
}
