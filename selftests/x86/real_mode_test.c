// SPDX-License-Identifier: GPL-2.0-only
/*
 * real_mode_test - a vCPU runs raw 16-bit code in real mode: from the
 * library's CS:IP 0x0100:0000 (vm_vcpu_add_real_mode()), and from the
 * reset vector itself, with no register touched after KVM_CREATE_VCPU
 * (APM 14.1.3: CS selector 0xf000, base 0xffff0000, IP 0xfff0).
 */
#include <string.h>

#include "kselftest_harness.h"
#include "x86_guest.h"

#define X86_CR0_PE	1ULL

static void expect_out(struct __test_metadata *_metadata,
		       struct kvm_vcpu *vcpu, uint16_t port, uint8_t size,
		       uint32_t value)
{
	struct kvm_run *run = vcpu->run;
	uint32_t v = 0;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(KVM_EXIT_IO_OUT, run->io.direction);
	EXPECT_EQ(port, run->io.port);
	EXPECT_EQ(size, run->io.size);
	EXPECT_EQ(1, run->io.count);
	memcpy(&v, (char *)run + run->io.data_offset, size);
	EXPECT_EQ(value, v);
}

TEST(raw_code_at_0x1000)
{
	static const uint8_t code[] = {
		0xb8, 0x34, 0x12,	/* mov ax, 0x1234 */
		0xe7, 0x80,		/* out 0x80, ax */
		0xb0, 0x56,		/* mov al, 0x56 */
		0xe6, 0x81,		/* out 0x81, al */
		0xe4, 0x80,		/* in al, 0x80 */
		0xe6, 0x82,		/* out 0x82, al */
		0xf4,			/* hlt */
	};
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;

	vm_add_mem_slot(vm, 0, 0, 1 << 20, 0);
	vcpu = vm_vcpu_add_real_mode(vm, 0, code, sizeof(code));
	run = vcpu->run;

	expect_out(_metadata, vcpu, 0x80, 2, 0x1234);
	expect_out(_metadata, vcpu, 0x81, 1, 0x56);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(KVM_EXIT_IO_IN, run->io.direction);
	EXPECT_EQ(0x80, run->io.port);
	EXPECT_EQ(1, run->io.size);
	*((uint8_t *)run + run->io.data_offset) = 0x5a;
	expect_out(_metadata, vcpu, 0x82, 1, 0x5a);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(sizeof(code), regs.rip);
	EXPECT_EQ(0x125a, regs.rax & 0xffff);	/* AH from the mov ax */
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(REAL_MODE_CODE_GPA, sregs.cs.base);
	EXPECT_EQ(REAL_MODE_CODE_GPA >> 4, sregs.cs.selector);
	EXPECT_EQ(0, sregs.cr0 & X86_CR0_PE);
	kvm_vm_free(vm);
}

TEST(from_the_reset_vector)
{
	static const uint8_t code[] = {
		0xb8, 0xef, 0xbe,	/* mov ax, 0xbeef */
		0xe7, 0x80,		/* out 0x80, ax */
		0xf4,			/* hlt */
	};
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint8_t *rom;

	/* The last 64 KiB below 4 GiB, where CS base + IP point at reset. */
	rom = vm_add_mem_slot(vm, 0, 0xffff0000, 0x10000, 0);
	memcpy(rom + 0xfff0, code, sizeof(code));
	vcpu = vm_vcpu_add_bare(vm, 0);

	vcpu_sregs_get(vcpu, &sregs);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(0xf000, sregs.cs.selector);
	EXPECT_EQ(0xffff0000, sregs.cs.base);
	EXPECT_EQ(0xfff0, regs.rip);
	EXPECT_EQ(0, sregs.cr0 & X86_CR0_PE);

	expect_out(_metadata, vcpu, 0x80, 2, 0xbeef);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(0xfff0 + sizeof(code), regs.rip);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
