/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xcr0.h - which values of XCR0 the architecture accepts.
 *
 * XSETBV raises #GP for more than an unsupported bit: SDM Vol. 1 13.3
 * ("Enabling the XSAVE Feature Set and XSAVE-Enabled Features") and the
 * XSETBV reference page in Vol. 2 list combinations that are invalid even
 * when every bit is supported. okvm loads the guest's XCR0 into the real
 * register with XSETBV before each entry (run.c), in the host kernel,
 * where a #GP is an oops: so a value reaches that XSETBV only after
 * okvm_xcr0_valid() said yes, whether the guest (XSETBV exit) or the VMM
 * (KVM_SET_XCRS) proposed it.
 *
 * A pure function with no kernel dependency, so that selftests/unit/
 * checks every rule on the host.
 */
#ifndef OKVM_X86_XCR0_H
#define OKVM_X86_XCR0_H

#ifdef __KERNEL__
#include <linux/bits.h>
#include <linux/types.h>
#else
#include <stdbool.h>
typedef __UINT64_TYPE__ u64;
#define BIT_ULL(nr) (1ULL << (nr))
#endif

/* State components (SDM Vol. 1 13.1, Table 13-1). */
#define OKVM_XCR0_X87		BIT_ULL(0)
#define OKVM_XCR0_SSE		BIT_ULL(1)
#define OKVM_XCR0_AVX		BIT_ULL(2)
#define OKVM_XCR0_BNDREGS	BIT_ULL(3)	/* MPX */
#define OKVM_XCR0_BNDCSR	BIT_ULL(4)	/* MPX */
#define OKVM_XCR0_OPMASK	BIT_ULL(5)	/* AVX-512 */
#define OKVM_XCR0_ZMM_HI256	BIT_ULL(6)	/* AVX-512 */
#define OKVM_XCR0_HI16_ZMM	BIT_ULL(7)	/* AVX-512 */
#define OKVM_XCR0_PKRU		BIT_ULL(9)
#define OKVM_XCR0_XTILECFG	BIT_ULL(17)	/* AMX */
#define OKVM_XCR0_XTILEDATA	BIT_ULL(18)	/* AMX */

#define OKVM_XCR0_MPX		(OKVM_XCR0_BNDREGS | OKVM_XCR0_BNDCSR)
#define OKVM_XCR0_AVX512	(OKVM_XCR0_OPMASK | OKVM_XCR0_ZMM_HI256 | \
				 OKVM_XCR0_HI16_ZMM)
#define OKVM_XCR0_AMX		(OKVM_XCR0_XTILECFG | OKVM_XCR0_XTILEDATA)

/* Are the bits of @group in @xcr0 all set or all clear? */
static inline bool okvm_xcr0_all_or_none(u64 xcr0, u64 group)
{
	return (xcr0 & group) == 0 || (xcr0 & group) == group;
}

/*
 * May XCR0 hold @xcr0, on a vCPU allowed the components in @allowed (its
 * CPUID leaf 0xd, cut down to what the host enables)? The rules, each a
 * #GP(0) of XSETBV (SDM Vol. 2 XSETBV, Vol. 1 13.3):
 *  - bit 0 (x87) is always set;
 *  - no component outside @allowed (the host's own XCR0 bounds it too);
 *  - AVX only with SSE;
 *  - MPX's BNDREGS and BNDCSR together;
 *  - AVX-512's opmask, ZMM_Hi256 and Hi16_ZMM together, and only with AVX;
 *  - AMX's XTILECFG and XTILEDATA together.
 */
static inline bool okvm_xcr0_valid(u64 xcr0, u64 allowed)
{
	if (!(xcr0 & OKVM_XCR0_X87))
		return false;
	if (xcr0 & ~(allowed | OKVM_XCR0_X87))
		return false;
	if ((xcr0 & OKVM_XCR0_AVX) && !(xcr0 & OKVM_XCR0_SSE))
		return false;
	if (!okvm_xcr0_all_or_none(xcr0, OKVM_XCR0_MPX))
		return false;
	if (!okvm_xcr0_all_or_none(xcr0, OKVM_XCR0_AVX512))
		return false;
	if ((xcr0 & OKVM_XCR0_AVX512) && !(xcr0 & OKVM_XCR0_AVX))
		return false;
	return okvm_xcr0_all_or_none(xcr0, OKVM_XCR0_AMX);
}

#endif /* OKVM_X86_XCR0_H */
