// SPDX-License-Identifier: GPL-2.0-only
/*
 * pkru_test.c - the guest's PKRU is the guest's, the VMM thread's is its.
 *
 * PKRU (protection keys for user pages, SDM Vol. 3A 4.6.2) is not part of
 * what VMRUN or VM entry switch, nor of the FPU state the kernel swaps for
 * a hypervisor, so a hypervisor that lets its guest set CR4.PKE must load
 * the guest's PKRU before each entry and put the thread's back after each
 * exit, or the VMM returns to user space with the guest's protection keys
 * (and the guest sees the VMM's). The guest here enables PKE, writes its
 * PKRU, and exits; the thread's PKRU must be untouched, and the guest's
 * must still be there when it runs again, after the thread changed its
 * own.
 *
 * Needs a host with protection keys enabled (OSPKE): the QEMU bed's
 * default EPYC model has none, so `make check` runs this test in a boot
 * of its own with -cpu EPYC,+svm,+npt,+pku (scripts/check).
 */
#include <cpuid.h>

#include "kselftest_harness.h"
#include "kvm_vm.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define CR4_PKE		(1UL << 22)
/* Key 0 (every page here) fully allowed, every other key denied. */
#define GUEST_PKRU	0xfffffffcU

static inline uint32_t rdpkru(void)
{
	uint32_t eax, edx;

	asm volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static inline void wrpkru(uint32_t val)
{
	asm volatile(".byte 0x0f, 0x01, 0xef" :: "a"(val), "c"(0), "d"(0));
}

static bool host_has_ospke(void)
{
	unsigned int eax, ebx, ecx, edx;

	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	return ecx & (1U << 4);
}

static void guest_pkru(void)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" :: "r"(cr4 | CR4_PKE));
	wrpkru(GUEST_PKRU);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(GUEST_PKRU, rdpkru());
	GUEST_SYNC(2);
	GUEST_DONE();
}

TEST(guest_and_host_pkru_are_kept_apart)
{
	struct kvm_cpuid_entry2 *leaf7;
	struct kvm_cpuid2 *cpuid;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint32_t host;

	if (!host_has_ospke())
		SKIP(return, "no protection keys on this host (OSPKE)");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_pkru);
	cpuid = kvm_get_supported_cpuid(vm);
	leaf7 = kvm_cpuid_entry(cpuid, 7, 0);
	leaf7->ecx |= 1U << 3;		/* PKU */
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);

	host = rdpkru();
	ASSERT_NE(GUEST_PKRU, host);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(host, rdpkru());

	/* The thread changes its own: the guest must not see it. */
	wrpkru(host & ~0xcU);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(host & ~0xcU, rdpkru());
	wrpkru(host);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
