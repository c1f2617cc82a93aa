// SPDX-License-Identifier: GPL-2.0-only
/*
 * single_step_test.c - single-stepping (RFLAGS.TF) over instructions the
 * hypervisor emulates: CPUID and a port write exit, the hypervisor
 * completes them, and the single-step trap must still come right after
 * each, with DR6.BS set (SDM Vol. 3 18.3.1.4), as it would on bare metal,
 * not one instruction late.
 */
#include "kselftest_harness.h"
#include "kvm_vm.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define TF		(1UL << 8)
#define DR6_BS		(1UL << 14)

static volatile uint64_t db_rip, db_dr6, db_count;

/* Record where the trap came from and stop stepping. */
static void guest_db_handler(struct ex_regs *regs)
{
	uint64_t dr6;

	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	db_rip = regs->rip;
	db_dr6 = dr6;
	db_count++;
	regs->rflags &= ~TF;
	asm volatile("mov %0, %%dr6" :: "r"(0xffff0ff0UL));
}

extern char after_cpuid[], after_out[];

static void guest_single_step(void)
{
	asm volatile("mov %0, %%dr6" :: "r"(0xffff0ff0UL));
	/* POPF sets TF: the trap follows the next instruction, CPUID. */
	asm volatile("pushf\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popf\n\t"
		     "cpuid\n\t"
		     "after_cpuid:\n\t"
		     "nop\n\t"
		     : : "a"(0), "c"(0) : "rbx", "rdx", "memory");
	GUEST_ASSERT_EQ(1, db_count);
	GUEST_ASSERT_EQ((uint64_t)after_cpuid, db_rip);
	GUEST_ASSERT(db_dr6 & DR6_BS);

	asm volatile("pushf\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popf\n\t"
		     "out %%al, $0x80\n\t"
		     "after_out:\n\t"
		     "nop\n\t"
		     : : "a"(0) : "memory");
	GUEST_ASSERT_EQ(2, db_count);
	GUEST_ASSERT_EQ((uint64_t)after_out, db_rip);
	GUEST_ASSERT(db_dr6 & DR6_BS);
	GUEST_DONE();
}

TEST(trap_right_after_emulated_instructions)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_single_step);
	struct ucall uc;

	vm_install_exception_handler(vm, DB_VECTOR, guest_db_handler);
	/* The OUT exits to user space, which just runs the vCPU again. */
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(0x80, vcpu->run->io.port);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc)) {
		TH_LOG("%s", ucall_str(&uc));
	}
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
