// SPDX-License-Identifier: GPL-2.0-only
/*
 * mtrr.c - the guest's memory type range registers (Intel SDM Vol. 3
 * 11.11; AMD APM Vol. 2 7.7): IA32_MTRRCAP, IA32_MTRR_DEF_TYPE, the eleven
 * fixed-range registers and eight variable pairs, kept per vCPU.
 *
 * okvm always maps guest memory write-back in NPT/EPT, as KVM does without
 * non-coherent DMA, so the guest's memory types change nothing in the
 * mapping; the registers are still there because firmware and VMMs write
 * them whatever CPUID says (QEMU sets all of them at every reset, and a
 * refused write aborts it), and a guest must read back what it wrote.
 * Like KVM, okvm accepts them whether or not the guest's CPUID offers MTRRs.
 */
#include "x86.h"

/*
 * The MSR numbers (SDM Vol. 4 Table 2-2), spelled here rather than taken
 * from <asm/msr-index.h>, whose mixed-case names the style check refuses.
 */
#define MTRR_CAP_MSR		0x0fe
#define MTRR_DEF_TYPE_MSR	0x2ff
#define MTRR_FIX64K_00000_MSR	0x250
#define MTRR_FIX16K_80000_MSR	0x258
#define MTRR_FIX16K_A0000_MSR	0x259
#define MTRR_FIX4K_C0000_MSR	0x268
#define MTRR_FIX4K_F8000_MSR	0x26f
#define MTRR_PHYS_BASE_MSR(n)	(0x200 + 2 * (n))
#define MTRR_PHYS_MASK_MSR(n)	(0x201 + 2 * (n))

/* IA32_MTRRCAP (SDM 11.11.1): VCNT = 8, FIX (bit 8), WC (bit 10). */
#define MTRR_CAP		(BIT_ULL(10) | BIT_ULL(8) | OKVM_NR_VAR_MTRR)
/* IA32_MTRR_DEF_TYPE: type (7:0), FE (10), E (11); the rest reserved. */
#define MTRR_DEF_TYPE_VALID	(GENMASK_ULL(7, 0) | BIT_ULL(10) | BIT_ULL(11))

/* Memory types (SDM Table 11-8): UC 0, WC 1, WT 4, WP 5, WB 6. */
static bool mtrr_type_valid(u64 t)
{
	return t < 8 && ((1u << t) & 0x73);
}

/* The index of a fixed-range MSR in okvm_mtrr.fixed[], or -1. */
static int mtrr_fixed_index(u32 msr)
{
	switch (msr) {
	case MTRR_FIX64K_00000_MSR:
		return 0;
	case MTRR_FIX16K_80000_MSR:
	case MTRR_FIX16K_A0000_MSR:
		return 1 + msr - MTRR_FIX16K_80000_MSR;
	case MTRR_FIX4K_C0000_MSR ... MTRR_FIX4K_F8000_MSR:
		return 3 + msr - MTRR_FIX4K_C0000_MSR;
	default:
		return -1;
	}
}

bool okvm_is_mtrr_msr(u32 msr)
{
	return msr == MTRR_CAP_MSR || msr == MTRR_DEF_TYPE_MSR ||
	       mtrr_fixed_index(msr) >= 0 ||
	       (msr >= MTRR_PHYS_BASE_MSR(0) &&
		msr <= MTRR_PHYS_MASK_MSR(OKVM_NR_VAR_MTRR - 1));
}

int okvm_mtrr_get_msr(struct okvm_vcpu *vcpu, u32 msr, u64 *data)
{
	struct okvm_mtrr *m = &vcpu->mtrr;
	int i;

	if (msr == MTRR_CAP_MSR) {
		*data = MTRR_CAP;
		return 0;
	}
	if (msr == MTRR_DEF_TYPE_MSR) {
		*data = m->def_type;
		return 0;
	}
	i = mtrr_fixed_index(msr);
	if (i >= 0) {
		*data = m->fixed[i];
		return 0;
	}
	i = msr - MTRR_PHYS_BASE_MSR(0);
	*data = i & 1 ? m->var[i / 2].mask : m->var[i / 2].base;
	return 0;
}

/*
 * Writes that set reserved bits, name an undefined memory type, or set
 * bits above the guest's MAXPHYADDR raise #GP (SDM 11.11.2) and fail the
 * ioctl; IA32_MTRRCAP is read-only.
 */
int okvm_mtrr_set_msr(struct okvm_vcpu *vcpu, u32 msr, u64 data)
{
	u64 above_phys = ~GENMASK_ULL(okvm_guest_maxphyaddr(vcpu) - 1, 0);
	struct okvm_mtrr *m = &vcpu->mtrr;
	int i, b;

	if (msr == MTRR_CAP_MSR)
		return 1;
	if (msr == MTRR_DEF_TYPE_MSR) {
		if ((data & ~MTRR_DEF_TYPE_VALID) || !mtrr_type_valid(data & 0xff))
			return 1;
		m->def_type = data;
		return 0;
	}
	i = mtrr_fixed_index(msr);
	if (i >= 0) {
		/* eight ranges, one type per byte */
		for (b = 0; b < 64; b += 8)
			if (!mtrr_type_valid((data >> b) & 0xff))
				return 1;
		m->fixed[i] = data;
		return 0;
	}
	i = msr - MTRR_PHYS_BASE_MSR(0);
	if (i & 1) {
		/* PHYSMASK: bits 10:0 reserved */
		if (data & (above_phys | GENMASK_ULL(10, 0)))
			return 1;
		m->var[i / 2].mask = data;
	} else {
		/* PHYSBASE: type in 7:0, bits 11:8 reserved */
		if ((data & (above_phys | GENMASK_ULL(11, 8))) ||
		    !mtrr_type_valid(data & 0xff))
			return 1;
		m->var[i / 2].base = data;
	}
	return 0;
}
