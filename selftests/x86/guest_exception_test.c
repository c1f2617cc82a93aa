// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_exception_test - exceptions in guest code: the library's IDT turns
 * an unexpected one into a failure that names it, an installed handler
 * sees the vector, error code and registers and can resume the guest, and
 * an exception that cannot be delivered at all is a triple fault, which
 * KVM reports as KVM_EXIT_SHUTDOWN.
 */
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

/* The address of the ud2, for the host to compare with. */
extern char ud2_insn[];

static __attribute__((noinline)) void guest_ud2(void)
{
	asm volatile(".globl ud2_insn\n"
		     "ud2_insn: ud2");
	GUEST_DONE();
}

TEST(unexpected_exception_is_reported)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_ud2);
	struct ucall uc;
	char want[64];

	ASSERT_UCALL(vcpu, &uc, UCALL_ASSERT_FAILED);
	TH_LOG("guest: %s", uc.buffer);
	snprintf(want, sizeof(want), "unexpected #UD (vector 6) at rip %p,",
		 ud2_insn);
	EXPECT_NE(NULL, strstr(uc.buffer, want)) TH_LOG("want \"%s\"", want);
	kvm_vm_free(vm);
}

static uint64_t exceptions_seen;
static uint64_t last_error_code;

static void skip_ud2(struct ex_regs *regs)
{
	exceptions_seen++;
	regs->rip += 2;
}

static void guest_three_ud2(void)
{
	asm volatile("ud2; ud2; ud2");
	GUEST_SYNC(exceptions_seen);
	GUEST_DONE();
}

TEST(handler_resumes_the_guest)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_three_ud2);
	struct ucall uc;

	vm_install_exception_handler(vm, UD_VECTOR, skip_ud2);
	ASSERT_SYNC(vcpu, &uc, 3);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void skip_mov_ds(struct ex_regs *regs)
{
	exceptions_seen++;
	last_error_code = regs->error_code;
	regs->rip += 2;		/* mov %ax, %ds: 8e d8 */
}

static void guest_bad_selector(uint64_t rbx)
{
	/* Selector 0x28 is past the GDT's limit: #GP(0x28). */
	asm volatile("mov $0x28, %%eax; mov %%ax, %%ds" : : : "rax");
	GUEST_SYNC_ARGS(1, exceptions_seen, last_error_code);
	GUEST_DONE();
}

TEST(gp_error_code_reaches_the_handler)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_bad_selector);
	struct ucall uc;

	vm_install_exception_handler(vm, GP_VECTOR, skip_mov_ds);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(1, uc.args[1]);
	EXPECT_EQ(0x28, uc.args[2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* Above 4 GiB nothing is mapped: a write is a not-present #PF. */
static void guest_write_above_4g(void)
{
	*(volatile uint64_t *)(IDENTITY_MAP_SIZE + 0x10) = 1;
	GUEST_DONE();
}

TEST(page_fault_names_its_address)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_write_above_4g);
	struct ucall uc;

	ASSERT_UCALL(vcpu, &uc, UCALL_ASSERT_FAILED);
	TH_LOG("guest: %s", uc.buffer);
	EXPECT_NE(NULL, strstr(uc.buffer, "unexpected #PF (vector 14)"));
	/* Error code: W/R (bit 1) of a not-present (bit 0 clear) page. */
	EXPECT_NE(NULL, strstr(uc.buffer, "error code 0x2, cr2 0x100000010"));
	kvm_vm_free(vm);
}

/* With no stack to push the frame on, #UD becomes #PF, #DF, shutdown. */
static void guest_no_stack(void)
{
	asm volatile("mov %0, %%rsp; ud2" : : "r"(IDENTITY_MAP_SIZE * 2));
	GUEST_DONE();
}

TEST(undeliverable_exception_is_shutdown)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_no_stack);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
