// SPDX-License-Identifier: GPL-2.0-only
/*
 * intercept_test - the intercepts KVM always has, seen from the guest:
 *
 * - an intercepted instruction with prefixes the CPU ignores (66 0f a2 is
 *   a 3-byte CPUID) is skipped whole: SVM without NRIP save (QEMU's TCG,
 *   the test bed) gives no length, so the hypervisor must decode it; VMX
 *   gives the length in the exit. CPUID, RDMSR, WRMSR, INVD, WBINVD and
 *   HLT, each followed by code that faults if RIP lands a byte off;
 * - RDPMC raises #GP(0) for a counter that does not exist (in-tree KVM,
 *   with or without a vPMU) and, on okvm, which offers no PMU, for any;
 * - the guest's TSC_AUX, not the host's (the host CPU's number), is what
 *   RDPID reads where RDPID cannot be intercepted (SVM), and the host's is
 *   back when KVM_RUN returns.
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_TSC_AUX		0xc0000103

/*
 * After each prefixed instruction: a 2-byte JMP over a UD2. Landing one
 * byte short executes the instruction's last opcode byte as the start of
 * another; one byte long lands inside the JMP's displacement or the UD2.
 */
#define LANDING	"jmp 1f\n\tud2\n1:\n\t"

static void guest_prefixed(void)
{
	uint32_t a, b, c, d, b0;
	uint32_t lo, hi;

	asm volatile("cpuid" : "=a"(a), "=b"(b0), "=c"(c), "=d"(d)
		     : "a"(0), "c"(0));
	/* CPUID with an operand-size, a REP, a segment and a REX.W prefix. */
	asm volatile(".byte 0x66, 0x0f, 0xa2\n\t" LANDING
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	GUEST_ASSERT_EQ(b, b0);
	asm volatile(".byte 0xf3, 0x0f, 0xa2\n\t" LANDING
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	GUEST_ASSERT_EQ(b, b0);
	asm volatile(".byte 0x2e, 0x3e, 0x66, 0x48, 0x0f, 0xa2\n\t" LANDING
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	GUEST_ASSERT_EQ(b, b0);
	GUEST_SYNC(1);

	/* WRMSR and RDMSR with segment prefixes. */
	asm volatile(".byte 0x3e, 0x0f, 0x30\n\t" LANDING
		     : : "c"(MSR_IA32_SYSENTER_CS), "a"(0x10), "d"(0));
	asm volatile(".byte 0x2e, 0x66, 0x0f, 0x32\n\t" LANDING
		     : "=a"(lo), "=d"(hi) : "c"(MSR_IA32_SYSENTER_CS));
	GUEST_ASSERT_EQ(lo, 0x10);
	GUEST_ASSERT_EQ(hi, 0);
	GUEST_SYNC(2);

	/* INVD and WBINVD: nothing to do, and back on the next instruction. */
	asm volatile(".byte 0x66, 0x0f, 0x08\n\t" LANDING ::: "memory");
	asm volatile(".byte 0x2e, 0x0f, 0x09\n\t" LANDING ::: "memory");
	asm volatile("wbinvd" ::: "memory");
	GUEST_SYNC(3);

	/* A prefixed HLT: the host checks RIP at the exit. */
	asm volatile(".byte 0x2e, 0x3e, 0xf4\n\t"
		     ".globl intercept_test_after_hlt\n"
		     "intercept_test_after_hlt:\n\t" LANDING);
	GUEST_DONE();
}

extern char intercept_test_after_hlt[];

TEST(prefixed_instructions_are_skipped_whole)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_prefixed);
	struct kvm_regs regs;
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_SYNC(vcpu, &uc, 3);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uint64_t)intercept_test_after_hlt, regs.rip);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static volatile uint64_t gp_seen, gp_error;

static void skip_rdpmc(struct ex_regs *regs)
{
	gp_seen = regs->vector;
	gp_error = regs->error_code;
	regs->rip += 2;		/* 0f 33 */
}

static void guest_rdpmc(uint64_t ecx)
{
	uint32_t lo, hi;

	gp_seen = 0xff;
	gp_error = 0xff;
	asm volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(ecx));
	GUEST_SYNC_ARGS(1, gp_seen, gp_error);
	GUEST_DONE();
}

static void expect_rdpmc_gp(struct __test_metadata *_metadata, uint64_t ecx)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_rdpmc);
	struct ucall uc;

	vcpu_args_set(vcpu, 1, (uint64_t)ecx);
	vm_install_exception_handler(vm, GP_VECTOR, skip_rdpmc);
	vm_install_exception_handler(vm, UD_VECTOR, skip_rdpmc);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(GP_VECTOR, uc.args[1])
		TH_LOG("RDPMC(%#lx): vector %lu (255: none)", ecx, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* A counter no PMU has: #GP(0) from KVM, with or without a vPMU. */
TEST(rdpmc_of_no_counter_raises_gp)
{
	expect_rdpmc_gp(_metadata, 0x1000);
}

/*
 * Counter 0: okvm offers no PMU at all, so #GP(0) (api.rst); in-tree KVM
 * reads its virtual counter where it has a vPMU (kvm-amd in the QEMU bed
 * does).
 */
TEST(rdpmc_without_pmu_raises_gp)
{
	if (!okvm_dev_is_okvm())
		SKIP(return, "in-tree KVM may offer a vPMU");
	expect_rdpmc_gp(_metadata, 0);
}

TEST_HARNESS_MAIN
