// SPDX-License-Identifier: GPL-2.0-only
/*
 * mtrr_test - the guest's memory type range registers (Intel SDM Vol. 3
 * 11.11) through KVM_GET/SET_MSRS and the guest's RDMSR/WRMSR: eight
 * variable pairs and the fixed ranges, what each write may hold, and #GP
 * for what it may not. VMMs write all of them at every reset, so a refused
 * valid value or an accepted invalid one breaks QEMU or the guest.
 */
#include <stdint.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define MSR_MTRRCAP		0x0fe
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_MTRR_FIX64K		0x250
#define MSR_MTRR_FIX16K_A0000	0x259
#define MSR_MTRR_FIX4K_F8000	0x26f
#define MSR_MTRR_BASE(n)	(0x200 + 2 * (n))
#define MSR_MTRR_MASK(n)	(0x201 + 2 * (n))

#define GP_VECTOR		13

static uint64_t get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	KVM_ASSERT(ioctl(vcpu->fd, KVM_GET_MSRS, &m) == 1,
		   "KVM_GET_MSRS of MSR 0x%x", index);
	return m.e.data;
}

static int set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = data };

	return ioctl(vcpu->fd, KVM_SET_MSRS, &m);
}

TEST(vmm_writes)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	int i;

	/* VCNT 8, fixed ranges, write-combining (KVM's value) */
	EXPECT_EQ(0x508, get_msr(vcpu, MSR_MTRRCAP));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MTRRCAP, 0x508));

	EXPECT_EQ(1, set_msr(vcpu, MSR_MTRR_DEF_TYPE, 0xc06));
	EXPECT_EQ(0xc06, get_msr(vcpu, MSR_MTRR_DEF_TYPE));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MTRR_DEF_TYPE, 0x1006));	/* reserved */
	EXPECT_EQ(0, set_msr(vcpu, MSR_MTRR_DEF_TYPE, 0xc02));	/* type 2 */
	EXPECT_EQ(0xc06, get_msr(vcpu, MSR_MTRR_DEF_TYPE));

	EXPECT_EQ(1, set_msr(vcpu, MSR_MTRR_FIX64K, 0x0606060606060606));
	EXPECT_EQ(1, set_msr(vcpu, MSR_MTRR_FIX16K_A0000, 0x0000000001010101));
	EXPECT_EQ(1, set_msr(vcpu, MSR_MTRR_FIX4K_F8000, 0x0504050405040504));
	EXPECT_EQ(0x0504050405040504, get_msr(vcpu, MSR_MTRR_FIX4K_F8000));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MTRR_FIX64K, 0x0606060606060603));

	for (i = 0; i < 8; i++) {
		EXPECT_EQ(1, set_msr(vcpu, MSR_MTRR_BASE(i),
				     0x80000000 + i * 0x1000000 + 6));
		EXPECT_EQ(1, set_msr(vcpu, MSR_MTRR_MASK(i),
				     0xfff000800));
	}
	EXPECT_EQ(0x87000006, get_msr(vcpu, MSR_MTRR_BASE(7)));
	EXPECT_EQ(0xfff000800, get_msr(vcpu, MSR_MTRR_MASK(7)));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MTRR_BASE(0), 0x80000106));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MTRR_BASE(0), 0x80000007));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MTRR_MASK(0), 0xfff000801));
	/* above any MAXPHYADDR a CPU has (52) */
	EXPECT_EQ(0, set_msr(vcpu, MSR_MTRR_MASK(0), 1ULL << 62));
	EXPECT_EQ(0x80000006, get_msr(vcpu, MSR_MTRR_BASE(0)));
	kvm_vm_free(vm);
}

static volatile uint64_t gp_count;

static void skip_wrmsr(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;
}

static void guest_mtrrs(void)
{
	uint32_t lo, hi;

	asm volatile("wrmsr" : : "c"(MSR_MTRR_DEF_TYPE), "a"(0x806), "d"(0));
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_MTRR_DEF_TYPE));
	GUEST_SYNC(lo | (uint64_t)hi << 32);
	/* reserved bit 12, then a base of type 3: both #GP */
	asm volatile("wrmsr" : : "c"(MSR_MTRR_DEF_TYPE), "a"(0x1806), "d"(0));
	asm volatile("wrmsr" : : "c"(MSR_MTRR_BASE(3)), "a"(0x3), "d"(0));
	GUEST_SYNC(gp_count);
	GUEST_DONE();
}

TEST(guest_writes)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_mtrrs);
	struct ucall uc;

	vm_install_exception_handler(vm, GP_VECTOR, skip_wrmsr);
	ASSERT_SYNC(vcpu, &uc, 0x806);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	EXPECT_EQ(0x806, get_msr(vcpu, MSR_MTRR_DEF_TYPE));
	EXPECT_EQ(0, get_msr(vcpu, MSR_MTRR_BASE(3)));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
