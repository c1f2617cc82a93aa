// SPDX-License-Identifier: GPL-2.0-only
/*
 * readonly_mem_test - KVM_MEM_READONLY slots (KVM_CAP_READONLY_MEM): the
 * guest reads the slot's memory, and its writes there exit to user space
 * as KVM_EXIT_MMIO with the written data, leaving memory as it was (as a
 * ROM behind a VMM's device model); the VMM's own later writes show
 * through, even to pages the guest read before the VMM ever touched them
 * (the zero page). The flag is fixed for a slot's life; it combines with
 * dirty logging, which then logs nothing.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "mmio_checks.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define RO_SLOT		1
#define RO_GPA		0xc0000000ULL	/* 3 GiB: in the guest's 1:1 map */
#define RO_SIZE		0x4000ULL
#define PAGE		4096ULL

static const uint64_t offset[] = { 0x1, 0x12, 0x124, 0x1238 };

/* Read, write each size, read again, at RO_GPA + offset[i]. */
static void guest_rom(void)
{
	volatile uint8_t *b = (void *)(RO_GPA + 0x1);
	volatile uint16_t *w = (void *)(RO_GPA + 0x12);
	volatile uint32_t *l = (void *)(RO_GPA + 0x124);
	volatile uint64_t *q = (void *)(RO_GPA + 0x1238);

	GUEST_SYNC_ARGS(1, *b, *w, *l, *q);
	*b = 0x11;
	*w = 0x2233;
	*l = 0x44556677;
	*q = 0x8899aabbccddeeffULL;
	GUEST_SYNC_ARGS(2, *b, *w, *l, *q);
	GUEST_DONE();
}

static uint64_t pattern(int i)
{
	static const uint64_t v[] = {
		0xa1, 0xb2c3, 0xd4e5f607, 0x0123456789abcdefULL,
	};

	return v[i];
}

static void fill_rom(uint8_t *rom)
{
	int i;

	for (i = 0; i < 4; i++)
		memcpy(rom + offset[i], &(uint64_t){ pattern(i) }, 1 << i);
}

static void rom_test(struct __test_metadata *_metadata, uint32_t flags)
{
	static const uint64_t written[] = {
		0x11, 0x2233, 0x44556677, 0x8899aabbccddeeffULL,
	};
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_rom);
	uint8_t *rom = vm_add_mem_slot(vm, RO_SLOT, RO_GPA, RO_SIZE,
				       KVM_MEM_READONLY | flags);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	uint64_t v;
	int i;

	fill_rom(rom);
	ASSERT_SYNC(vcpu, &uc, 1);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(pattern(i), uc.args[1 + i]) TH_LOG("read %d", i);
	}
	for (i = 0; i < 4; i++) {
		expect_mmio(_metadata, vcpu, true, RO_GPA + offset[i], 1 << i);
		v = 0;
		memcpy(&v, run->mmio.data, 1 << i);
		EXPECT_EQ(written[i], v) TH_LOG("write of %d bytes", 1 << i);
	}
	/* The writes went to user space only: memory is unchanged. */
	ASSERT_SYNC(vcpu, &uc, 2);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(pattern(i), uc.args[1 + i]) TH_LOG("reread %d", i);
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	if (flags & KVM_MEM_LOG_DIRTY_PAGES) {
		uint64_t map[1] = { ~0ULL };
		struct kvm_dirty_log log = {
			.slot = RO_SLOT, .dirty_bitmap = map,
		};

		ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG,
					(unsigned long)&log));
		EXPECT_EQ(0, map[0]) TH_LOG("a read-only page was logged");
	}
	kvm_vm_free(vm);
}

TEST(reads_see_memory_writes_exit)
{
	rom_test(_metadata, 0);
}

TEST(with_dirty_logging)
{
	rom_test(_metadata, KVM_MEM_LOG_DIRTY_PAGES);
}

/* Read the first qword of a page, forever. */
static void guest_peek(volatile uint64_t *p)
{
	for (;;)
		GUEST_SYNC(*p);
}

/*
 * The guest reads a page the VMM never touched (the kernel's zero page
 * backs it), then the VMM writes it: the guest sees the new bytes.
 */
TEST(vmm_writes_show_through)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_peek);
	uint64_t *rom = vm_add_mem_slot(vm, RO_SLOT, RO_GPA, RO_SIZE,
					KVM_MEM_READONLY);
	struct ucall uc;

	vcpu_args_set(vcpu, 1, RO_GPA + PAGE);
	ASSERT_SYNC(vcpu, &uc, 0);
	rom[PAGE / 8] = 0x1234;
	ASSERT_SYNC(vcpu, &uc, 0x1234);
	rom[PAGE / 8] = 0x5678;
	ASSERT_SYNC(vcpu, &uc, 0x5678);
	kvm_vm_free(vm);
}

/* KVM_MEM_READONLY cannot be turned on or off; logging can, beside it. */
TEST(flag_is_fixed)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_userspace_memory_region r;

	vm_add_mem_slot(vm, RO_SLOT, RO_GPA, RO_SIZE, KVM_MEM_READONLY);
	r = vm->slots[RO_SLOT].region;
	r.flags = 0;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION,
				      (unsigned long)&r));
	r.flags = KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES;
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION,
				(unsigned long)&r));
	/* Slot 0 is read-write: it cannot become read-only either. */
	r = vm->slots[0].region;
	r.flags = KVM_MEM_READONLY;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION,
				      (unsigned long)&r));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
