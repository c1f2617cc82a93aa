// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_mmio_test - a guest access to a guest physical address that no
 * memory slot backs (and no in-kernel device claims) reaches userspace as
 * KVM_EXIT_MMIO: phys_addr, len, is_write and, for a write, the data. For
 * a read, what userspace leaves in run->mmio.data is what the guest loads
 * once KVM_RUN is called again.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "mmio_checks.h"
#include "ucall.h"
#include "x86_guest.h"

/* 3 GiB: mapped by the guest's page tables, in no slot. */
#define MMIO_GPA	0xc0000000ULL

static void guest_mmio(void)
{
	volatile uint8_t *b = (void *)(MMIO_GPA + 0x1);
	volatile uint16_t *w = (void *)(MMIO_GPA + 0x12);
	volatile uint32_t *l = (void *)(MMIO_GPA + 0x124);
	volatile uint64_t *q = (void *)(MMIO_GPA + 0x1238);
	uint64_t rq;
	uint32_t rl;
	uint16_t rw;
	uint8_t rb;

	*b = 0x11;
	*w = 0x2233;
	*l = 0x44556677;
	*q = 0x8899aabbccddeeffULL;
	rb = *b;
	rw = *w;
	rl = *l;
	rq = *q;
	GUEST_SYNC_ARGS(1, rb, rw, rl, rq);
	GUEST_DONE();
}

TEST(write_and_read_each_size)
{
	static const uint64_t written[] = {
		0x11, 0x2233, 0x44556677, 0x8899aabbccddeeffULL,
	};
	static const uint64_t read[] = {
		0xa1, 0xb2c3, 0xd4e5f607, 0x0123456789abcdefULL,
	};
	static const uint64_t offset[] = { 0x1, 0x12, 0x124, 0x1238 };
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_mmio);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	uint64_t v;
	int i;

	for (i = 0; i < 4; i++) {
		expect_mmio(_metadata, vcpu, true, MMIO_GPA + offset[i],
			    1 << i);
		v = 0;
		memcpy(&v, run->mmio.data, 1 << i);
		EXPECT_EQ(written[i], v) TH_LOG("write of %d bytes", 1 << i);
	}
	for (i = 0; i < 4; i++) {
		expect_mmio(_metadata, vcpu, false, MMIO_GPA + offset[i],
			    1 << i);
		memcpy(run->mmio.data, &read[i], 1 << i);
	}
	ASSERT_SYNC(vcpu, &uc, 1);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(read[i], uc.args[1 + i])
			TH_LOG("read of %d bytes", 1 << i);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* Memory in a slot is memory: no exit, and the host sees the bytes. */
static void guest_ram(uint64_t *p)
{
	*p = 0x5a5a5a5a5a5a5a5aULL;
	GUEST_SYNC(*p);
	GUEST_DONE();
}

TEST(slot_memory_does_not_exit)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_ram);
	uint64_t gpa = vm_alloc(vm, 8, 8);
	struct ucall uc;

	vcpu_args_set(vcpu, 1, gpa);
	ASSERT_SYNC(vcpu, &uc, 0x5a5a5a5a5a5a5a5aULL);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, *(uint64_t *)addr_gpa2hva(vm, gpa));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* A second slot turns part of the MMIO hole into memory. */
TEST(second_slot_is_memory)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_ram);
	uint64_t *hva = vm_add_mem_slot(vm, 1, MMIO_GPA, 0x10000, 0);
	struct ucall uc;

	vcpu_args_set(vcpu, 1, MMIO_GPA + 0x1008);
	ASSERT_SYNC(vcpu, &uc, 0x5a5a5a5a5a5a5a5aULL);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, hva[0x1008 / 8]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
