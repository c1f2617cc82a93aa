// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_cpuid_test - CPUID in the guest is answered in the kernel, from
 * the table given with KVM_SET_CPUID2: the library sets what
 * KVM_GET_SUPPORTED_CPUID returns, and a changed table changes what the
 * guest sees. Once the vCPU has run, only an identical table is accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

static void guest_cpuid(uint32_t leaf, uint32_t subleaf)
{
	uint32_t a, b, c, d;

	asm volatile("cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(leaf), "c"(subleaf));
	GUEST_SYNC_ARGS(leaf, a, b, c, d);
	GUEST_DONE();
}

static void vendor_of(char vendor[13], uint32_t ebx, uint32_t ecx,
		      uint32_t edx)
{
	memcpy(vendor, &ebx, 4);
	memcpy(vendor + 4, &edx, 4);
	memcpy(vendor + 8, &ecx, 4);
	vendor[12] = '\0';
}

TEST(leaf0_is_the_supported_vendor)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cpuid);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct kvm_cpuid_entry2 *e = kvm_cpuid_entry(cpuid, 0, 0);
	char want[13], seen[13];
	struct ucall uc;

	vcpu_args_set(vcpu, 2, 0, 0);
	ASSERT_SYNC(vcpu, &uc, 0);
	vendor_of(want, e->ebx, e->ecx, e->edx);
	vendor_of(seen, uc.args[2], uc.args[3], uc.args[4]);
	TH_LOG("guest vendor \"%s\", max basic leaf 0x%llx", seen,
	       (unsigned long long)uc.args[1]);
	EXPECT_STREQ(want, seen);
	EXPECT_EQ(e->eax, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	free(cpuid);
	kvm_vm_free(vm);
}

TEST(set_cpuid2_changes_what_the_guest_sees)
{
	static const char vendor[13] = "okvmSelfTest";
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cpuid);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct kvm_cpuid_entry2 *e = kvm_cpuid_entry(cpuid, 0, 0);
	char seen[13];
	struct ucall uc;

	memcpy(&e->ebx, vendor, 4);
	memcpy(&e->edx, vendor + 4, 4);
	memcpy(&e->ecx, vendor + 8, 4);
	vcpu_set_cpuid(vcpu, cpuid);

	vcpu_args_set(vcpu, 2, 0, 0);
	ASSERT_SYNC(vcpu, &uc, 0);
	vendor_of(seen, uc.args[2], uc.args[3], uc.args[4]);
	EXPECT_STREQ(vendor, seen);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);

	/* After KVM_RUN: the same table is fine, another one is not. */
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2, (uintptr_t)cpuid));
	e->ebx ^= 0x20;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2,
				      (uintptr_t)cpuid));
	free(cpuid);
	kvm_vm_free(vm);
}

TEST(cleared_feature_bit_is_clear_in_the_guest)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cpuid);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct kvm_cpuid_entry2 *e = kvm_cpuid_entry(cpuid, 1, 0);
	struct ucall uc;

	/* Leaf 1 ECX bit 0: SSE3. Set in the table as given, then cleared. */
	e->ecx |= 1;
	vcpu_set_cpuid(vcpu, cpuid);
	vcpu_args_set(vcpu, 2, 1, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(1, uc.args[3] & 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);

	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_cpuid);
	e->ecx &= ~1U;
	vcpu_set_cpuid(vcpu, cpuid);
	vcpu_args_set(vcpu, 2, 1, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[3] & 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	free(cpuid);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
