// SPDX-License-Identifier: GPL-2.0-only
/*
 * xcr0_test.c - host unit tests of okvm_xcr0_valid() (kmod/x86/xcr0.h),
 * the check that stands between a guest's XSETBV or a VMM's KVM_SET_XCRS
 * and the host's own XSETBV, where an invalid value would be a #GP in the
 * kernel.
 *
 * Each rule of SDM Vol. 1 13.3 is checked on its own, then every value of
 * the low 19 bits is compared against a second, independent reading of
 * the rules written as a list of forbidden patterns.
 */
#include "kselftest_harness.h"
#include "xcr0.h"

/* A host with every component okvm knows about. */
#define ALL	(OKVM_XCR0_X87 | OKVM_XCR0_SSE | OKVM_XCR0_AVX | \
		 OKVM_XCR0_MPX | OKVM_XCR0_AVX512 | OKVM_XCR0_PKRU | \
		 OKVM_XCR0_AMX)

TEST(x87_always_set)
{
	EXPECT_TRUE(okvm_xcr0_valid(OKVM_XCR0_X87, ALL));
	EXPECT_FALSE(okvm_xcr0_valid(0, ALL));
	EXPECT_FALSE(okvm_xcr0_valid(OKVM_XCR0_SSE, ALL));
	/* x87 is implied even when the allowed mask forgets it. */
	EXPECT_TRUE(okvm_xcr0_valid(OKVM_XCR0_X87, 0));
}

TEST(only_allowed_components)
{
	u64 sse = OKVM_XCR0_X87 | OKVM_XCR0_SSE;

	EXPECT_TRUE(okvm_xcr0_valid(sse, sse));
	EXPECT_FALSE(okvm_xcr0_valid(sse | OKVM_XCR0_AVX, sse));
	EXPECT_FALSE(okvm_xcr0_valid(sse | OKVM_XCR0_PKRU, sse));
	/* Bits no CPU defines, and bit 63 (reserved, SDM 13.3). */
	EXPECT_FALSE(okvm_xcr0_valid(sse | (1ULL << 10), ~0ULL & ~(1ULL << 10)));
	EXPECT_FALSE(okvm_xcr0_valid(sse | (1ULL << 63), sse));
}

TEST(avx_needs_sse)
{
	EXPECT_FALSE(okvm_xcr0_valid(OKVM_XCR0_X87 | OKVM_XCR0_AVX, ALL));
	EXPECT_TRUE(okvm_xcr0_valid(OKVM_XCR0_X87 | OKVM_XCR0_SSE |
				    OKVM_XCR0_AVX, ALL));
}

TEST(mpx_pair)
{
	u64 base = OKVM_XCR0_X87 | OKVM_XCR0_SSE;

	EXPECT_FALSE(okvm_xcr0_valid(base | OKVM_XCR0_BNDREGS, ALL));
	EXPECT_FALSE(okvm_xcr0_valid(base | OKVM_XCR0_BNDCSR, ALL));
	EXPECT_TRUE(okvm_xcr0_valid(base | OKVM_XCR0_MPX, ALL));
}

TEST(avx512_all_three_and_avx)
{
	u64 avx = OKVM_XCR0_X87 | OKVM_XCR0_SSE | OKVM_XCR0_AVX;
	u64 bit;

	EXPECT_TRUE(okvm_xcr0_valid(avx | OKVM_XCR0_AVX512, ALL));
	for (bit = OKVM_XCR0_OPMASK; bit <= OKVM_XCR0_HI16_ZMM; bit <<= 1) {
		EXPECT_FALSE(okvm_xcr0_valid(avx | bit, ALL));
		EXPECT_FALSE(okvm_xcr0_valid(avx | (OKVM_XCR0_AVX512 & ~bit),
					     ALL));
	}
	/* All three without AVX. */
	EXPECT_FALSE(okvm_xcr0_valid(OKVM_XCR0_X87 | OKVM_XCR0_SSE |
				     OKVM_XCR0_AVX512, ALL));
	/*
	 * A VMM's CPUID may offer one AVX-512 bit without the others: the
	 * guest must still not get a partial set into the real XCR0.
	 */
	EXPECT_FALSE(okvm_xcr0_valid(avx | OKVM_XCR0_OPMASK,
				     avx | OKVM_XCR0_OPMASK));
}

TEST(amx_pair)
{
	u64 base = OKVM_XCR0_X87 | OKVM_XCR0_SSE;

	EXPECT_FALSE(okvm_xcr0_valid(base | OKVM_XCR0_XTILECFG, ALL));
	EXPECT_FALSE(okvm_xcr0_valid(base | OKVM_XCR0_XTILEDATA, ALL));
	EXPECT_TRUE(okvm_xcr0_valid(base | OKVM_XCR0_AMX, ALL));
}

/* The rules again, as the patterns SDM 13.3 forbids, for the sweep. */
static bool forbidden(u64 v)
{
	u64 avx512 = v & OKVM_XCR0_AVX512;

	return !(v & 1) ||
	       ((v & OKVM_XCR0_AVX) && !(v & OKVM_XCR0_SSE)) ||
	       (!!(v & OKVM_XCR0_BNDREGS) != !!(v & OKVM_XCR0_BNDCSR)) ||
	       (avx512 && avx512 != OKVM_XCR0_AVX512) ||
	       (avx512 && !(v & OKVM_XCR0_AVX)) ||
	       (!!(v & OKVM_XCR0_XTILECFG) != !!(v & OKVM_XCR0_XTILEDATA));
}

TEST(sweep_low_bits)
{
	unsigned int valid = 0;
	u64 v;

	for (v = 0; v < (1ULL << 19); v++) {
		bool expect = !forbidden(v) && !(v & ~ALL);

		ASSERT_EQ(expect, okvm_xcr0_valid(v, ALL)) {
			TH_LOG("xcr0 %#llx", (unsigned long long)v);
		}
		valid += expect;
	}
	/*
	 * x87 fixed; SSE, AVX, PKRU free except AVX needs SSE (6 choices);
	 * MPX, AVX-512 and AMX each all or none, AVX-512 only with AVX:
	 * 6 * 2 (MPX) * 2 (AMX) = 24 without AVX-512, plus 2 * 2 * 2 with
	 * it (AVX and SSE set, PKRU free). A sanity check on the sweep.
	 */
	EXPECT_EQ(32, valid);
}

TEST_HARNESS_MAIN
