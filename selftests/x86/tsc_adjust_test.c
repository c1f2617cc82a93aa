// SPDX-License-Identifier: GPL-2.0-only
/*
 * tsc_adjust_test - IA32_TSC_ADJUST (SDM Vol. 3 17.17.3) and its interplay
 * with IA32_TSC, as KVM has it: a guest write of TSC_ADJUST moves the
 * guest's TSC by the change, a guest write of the TSC adds its change to
 * TSC_ADJUST, and the VMM's writes (KVM_SET_MSRS, restoring state) move
 * neither. Without CPUID.7.0:EBX[1] writes to TSC_ADJUST are dropped, yet
 * it still reads and still follows the guest's TSC writes. Also: every MSR
 * KVM_GET_MSR_INDEX_LIST names reads and writes back through
 * KVM_GET/SET_MSRS.
 *
 * TSC values move while the test runs, so they are compared in units of
 * 2^34 cycles (seconds, at any plausible TSC rate) around steps of 2^40.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "okvm_fixture.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define MSR_IA32_TSC		0x10
#define MSR_IA32_TSC_ADJUST	0x3b
#define LEAF7_EBX_TSC_ADJUST	(1U << 1)

#define UNIT	(1ULL << 34)
#define STEP	(1ULL << 40)

/* |a - b| within a unit. */
static bool near(uint64_t a, uint64_t b)
{
	return a - b < UNIT || b - a < UNIT;
}

static uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return (uint64_t)hi << 32 | lo;
}

static void guest_wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

static long get_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };
	long ret = okvm_ioctl(vcpu->fd, KVM_GET_MSRS, (uintptr_t)&m);

	*data = m.e.data;
	return ret;
}

static long set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = data };

	return okvm_ioctl(vcpu->fd, KVM_SET_MSRS, (uintptr_t)&m);
}

/* Report TSC_ADJUST and the TSC after each of the guest's writes. */
static void guest_code(void)
{
	GUEST_SYNC_ARGS(1, guest_rdmsr(MSR_IA32_TSC_ADJUST),
			guest_rdmsr(MSR_IA32_TSC));
	guest_wrmsr(MSR_IA32_TSC_ADJUST,
		    guest_rdmsr(MSR_IA32_TSC_ADJUST) + STEP);
	GUEST_SYNC_ARGS(2, guest_rdmsr(MSR_IA32_TSC_ADJUST),
			guest_rdmsr(MSR_IA32_TSC));
	guest_wrmsr(MSR_IA32_TSC, guest_rdmsr(MSR_IA32_TSC) + STEP);
	GUEST_SYNC_ARGS(3, guest_rdmsr(MSR_IA32_TSC_ADJUST),
			guest_rdmsr(MSR_IA32_TSC));
	/* The VMM's writes come in here. */
	GUEST_SYNC_ARGS(4, guest_rdmsr(MSR_IA32_TSC_ADJUST),
			guest_rdmsr(MSR_IA32_TSC));
	GUEST_DONE();
}

static struct kvm_vcpu *vcpu_with_tsc_adjust(struct kvm_vm **vm, bool has,
					     bool irqchip)
{
	struct kvm_cpuid2 *c;
	struct kvm_vcpu *vcpu;

	*vm = vm_create_guest(0);
	if (irqchip)
		vm_create_irqchip(*vm);
	vcpu = vm_vcpu_add_guest(*vm, 0, guest_code);
	c = kvm_get_supported_cpuid(*vm);
	if (has)
		kvm_cpuid_entry(c, 7, 0)->ebx |= LEAF7_EBX_TSC_ADJUST;
	else
		kvm_cpuid_entry(c, 7, 0)->ebx &= ~LEAF7_EBX_TSC_ADJUST;
	vcpu_set_cpuid(vcpu, c);
	free(c);
	return vcpu;
}

OKVM_DEV_FIXTURE;

/* KVM emulates it whatever the host has: listed and offered. */
TEST_F(dev, listed_and_offered)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid(vm);
	bool found = false;
	uint32_t i;

	EXPECT_TRUE(kvm_cpuid_entry(c, 7, 0)->ebx & LEAF7_EBX_TSC_ADJUST);
	EXPECT_EQ(-E2BIG, okvm_ioctl(self->fd, KVM_GET_MSR_INDEX_LIST,
				     (uintptr_t)&probe));
	list = calloc(1, sizeof(*list) + probe.nmsrs * 4);
	ASSERT_NE(NULL, list);
	list->nmsrs = probe.nmsrs;
	ASSERT_EQ(0, okvm_ioctl(self->fd, KVM_GET_MSR_INDEX_LIST,
				(uintptr_t)list));
	for (i = 0; i < list->nmsrs; i++)
		found |= list->indices[i] == MSR_IA32_TSC_ADJUST;
	EXPECT_TRUE(found);
	free(list);
	free(c);
	kvm_vm_free(vm);
}

/* The VMM's writes: kept, and neither MSR moves the other. */
TEST(host_writes)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = vcpu_with_tsc_adjust(&vm, true, false);
	uint64_t adj, tsc, tsc2;

	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC_ADJUST, &adj));
	EXPECT_EQ(0, adj);
	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC, &tsc));
	EXPECT_EQ(1, set_msr(vcpu, MSR_IA32_TSC_ADJUST, 3 * STEP));
	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC_ADJUST, &adj));
	EXPECT_EQ(3 * STEP, adj);
	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC, &tsc2));
	EXPECT_TRUE(near(tsc, tsc2)) TH_LOG("TSC %#lx, then %#lx", tsc, tsc2);
	/* Any 64-bit value, negative ones too. */
	EXPECT_EQ(1, set_msr(vcpu, MSR_IA32_TSC_ADJUST, -STEP));
	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC_ADJUST, &adj));
	EXPECT_EQ(-STEP, adj);

	EXPECT_EQ(1, set_msr(vcpu, MSR_IA32_TSC, tsc + 5 * STEP));
	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC, &tsc2));
	EXPECT_TRUE(near(tsc + 5 * STEP, tsc2));
	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC_ADJUST, &adj));
	EXPECT_EQ(-STEP, adj);
	kvm_vm_free(vm);
}

/* The guest's writes move each other; the VMM's are seen by the guest. */
TEST(guest_writes)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = vcpu_with_tsc_adjust(&vm, true, false);
	uint64_t tsc1, tsc2, tsc3, adj;
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);
	tsc1 = uc.args[2];
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(STEP, uc.args[1]);
	tsc2 = uc.args[2];
	EXPECT_TRUE(near(tsc2, tsc1 + STEP))
		TH_LOG("TSC %#lx, then %#lx", tsc1, tsc2);
	ASSERT_SYNC(vcpu, &uc, 3);
	adj = uc.args[1];
	tsc3 = uc.args[2];
	EXPECT_TRUE(near(adj, 2 * STEP)) TH_LOG("TSC_ADJUST %#lx", adj);
	EXPECT_TRUE(adj <= 2 * STEP) TH_LOG("TSC_ADJUST %#lx", adj);
	EXPECT_TRUE(near(tsc3, tsc2 + STEP));

	/* The VMM restores other values: the guest reads them. */
	EXPECT_EQ(1, set_msr(vcpu, MSR_IA32_TSC_ADJUST, 7));
	EXPECT_EQ(1, set_msr(vcpu, MSR_IA32_TSC, tsc3 + 8 * STEP));
	ASSERT_SYNC(vcpu, &uc, 4);
	EXPECT_EQ(7, uc.args[1]);
	EXPECT_TRUE(near(uc.args[2], tsc3 + 8 * STEP));
	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC_ADJUST, &adj));
	EXPECT_EQ(7, adj);
	kvm_vm_free(vm);
}

/*
 * Without CPUID.7.0:EBX[1] (KVM's answer): writes to TSC_ADJUST are
 * dropped without #GP, from the VMM and the guest, but the MSR reads and
 * a guest's TSC write still adds to it.
 */
TEST(without_cpuid_bit)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = vcpu_with_tsc_adjust(&vm, false, false);
	uint64_t tsc1, adj;
	struct ucall uc;

	EXPECT_EQ(1, set_msr(vcpu, MSR_IA32_TSC_ADJUST, STEP));
	ASSERT_EQ(1, get_msr(vcpu, MSR_IA32_TSC_ADJUST, &adj));
	EXPECT_EQ(0, adj);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);
	tsc1 = uc.args[2];
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_TRUE(near(uc.args[2], tsc1));
	ASSERT_SYNC(vcpu, &uc, 3);
	EXPECT_TRUE(near(uc.args[1], STEP)) TH_LOG("TSC_ADJUST %#lx",
						   uc.args[1]);
	kvm_vm_free(vm);
}

/*
 * Every MSR the index list names is readable through KVM_GET_MSRS on a
 * vCPU with the supported CPUID and an in-kernel irqchip (as QEMU has;
 * KVM's MSR_KVM_ASYNC_PF_INT needs the local APIC), and takes its own
 * value back through KVM_SET_MSRS: what a VMM saving and restoring a vCPU
 * does with the list.
 */
TEST_F(dev, every_listed_msr_round_trips)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = vcpu_with_tsc_adjust(&vm, true, true);
	uint64_t data;
	uint32_t i;

	EXPECT_EQ(-E2BIG, okvm_ioctl(self->fd, KVM_GET_MSR_INDEX_LIST,
				     (uintptr_t)&probe));
	list = calloc(1, sizeof(*list) + probe.nmsrs * 4);
	ASSERT_NE(NULL, list);
	list->nmsrs = probe.nmsrs;
	ASSERT_EQ(0, okvm_ioctl(self->fd, KVM_GET_MSR_INDEX_LIST,
				(uintptr_t)list));
	TH_LOG("%u MSRs listed", list->nmsrs);
	for (i = 0; i < list->nmsrs; i++) {
		uint32_t msr = list->indices[i];

		EXPECT_EQ(1, get_msr(vcpu, msr, &data))
			TH_LOG("KVM_GET_MSRS of MSR %#x", msr);
		EXPECT_EQ(1, set_msr(vcpu, msr, data))
			TH_LOG("KVM_SET_MSRS of MSR %#x = %#lx", msr, data);
	}
	free(list);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
