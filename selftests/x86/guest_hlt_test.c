// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_hlt_test - without an in-kernel irqchip (no KVM_CREATE_IRQCHIP),
 * HLT is not waited out in the kernel: KVM_RUN returns KVM_EXIT_HLT with
 * RIP already past the instruction, and the next KVM_RUN goes on there.
 */
#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_guest.h"

static void guest_hlt(void)
{
	GUEST_SYNC(1);
	asm volatile("hlt");
	GUEST_SYNC(2);
	asm volatile("hlt");
	asm volatile("hlt");
	GUEST_DONE();
}

static void expect_hlt(struct __test_metadata *_metadata,
		       struct kvm_vcpu *vcpu)
{
	struct kvm_regs regs;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	/* RIP is after the one-byte HLT (0xf4). */
	EXPECT_EQ(0xf4, *(uint8_t *)addr_gpa2hva(vcpu->vm, regs.rip - 1))
		TH_LOG("rip 0x%llx", regs.rip);
}

TEST(hlt_exits_to_userspace)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_hlt);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	expect_hlt(_metadata, vcpu);
	ASSERT_SYNC(vcpu, &uc, 2);
	expect_hlt(_metadata, vcpu);
	expect_hlt(_metadata, vcpu);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* A HLT with interrupts enabled exits the same way. */
static void guest_sti_hlt(void)
{
	asm volatile("sti; hlt; cli");
	GUEST_DONE();
}

TEST(sti_hlt_exits_to_userspace)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sti_hlt);
	struct ucall uc;

	expect_hlt(_metadata, vcpu);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
