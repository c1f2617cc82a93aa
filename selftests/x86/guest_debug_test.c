// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_debug_test.c - KVM_SET_GUEST_DEBUG: a debugger in user space stops
 * the guest at INT3 (KVM_GUESTDBG_USE_SW_BP), at its own hardware
 * breakpoints (KVM_GUESTDBG_USE_HW_BP) and after each instruction
 * (KVM_GUESTDBG_SINGLESTEP, with TF hidden from KVM_GET_REGS, also after
 * an instruction the hypervisor emulates and one whose I/O exit the VMM
 * completes), and hands #DB and #BP to the guest (KVM_GUESTDBG_INJECT_DB
 * and INJECT_BP); the guest's own debug registers stay its own meanwhile,
 * and its DR7.GD works as on hardware. Bad input gets KVM 6.1's answers:
 * EBUSY for an injection while an exception is queued, EFAULT for a bad
 * pointer, and unknown flags accepted and ignored (KVM 6.1 does not check
 * them).
 */
#include <string.h>

#include "kselftest_harness.h"
#include "kvm_vm.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define DB_VEC		1
#define BP_VEC		3
#define DR6_CLEAR	0xffff0ff0UL
#define DR6_BD		(1UL << 13)
#define DR6_BS		(1UL << 14)
#define DR7_FIXED	0x400UL
#define DR7_G0		(1UL << 1)
#define DR7_GD		(1UL << 13)
#define TF		(1UL << 8)
#define STEP_PORT	0x80

#define VALID_FLAGS	(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
			 KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP | \
			 KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP | \
			 KVM_GUESTDBG_BLOCKIRQ)

static volatile uint64_t bp_count, bp_rip, db_count, db_rip, db_dr6, db_dr7;

static void guest_bp_handler(struct ex_regs *regs)
{
	bp_count++;
	bp_rip = regs->rip;
}

static void guest_db_handler(struct ex_regs *regs)
{
	uint64_t dr6, dr7;

	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	db_count++;
	db_rip = regs->rip;
	db_dr6 = dr6;
	db_dr7 = dr7;
	asm volatile("mov %0, %%dr6" :: "r"(DR6_CLEAR));
}

static void set_debug(struct kvm_vcpu *vcpu, uint32_t control,
		      uint64_t dr0, uint64_t dr7)
{
	struct kvm_guest_debug dbg = { .control = control };

	dbg.arch.debugreg[0] = dr0;
	dbg.arch.debugreg[7] = dr7;
	kvm_ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &dbg);
}

static void assert_debug_exit(struct __test_metadata *_metadata,
			      struct kvm_vcpu *vcpu, uint32_t vector,
			      uint64_t pc)
{
	ASSERT_EXIT(vcpu, KVM_EXIT_DEBUG);
	ASSERT_EQ(vector, vcpu->run->debug.arch.exception);
	ASSERT_EQ(pc, vcpu->run->debug.arch.pc);
}

/*
 * QEMU 7.2's TCG, the SVM bed, takes INT3 for a software interrupt and
 * never checks the #BP intercept for it, and arms no breakpoint for the
 * DR7 VMRUN loads: kvm-amd's software and hardware breakpoints cannot
 * stop there (okvm works around both: svm/debug.c); nor does the guest's
 * DR7.GD raise #DB once kvm-amd stopped intercepting MOV DR (okvm
 * emulates it: x86/guest_debug.c). Those tests skip on in-tree KVM in
 * that bed only.
 */
/*
 * In-tree KVM serves the device: its module is loaded and okvm's is not
 * (OKVM_HV says "both" in a run that switches between them).
 */
static bool on_in_tree_kvm(void)
{
	return !access("/sys/module/kvm", F_OK) &&
	       access("/sys/module/okvm", F_OK);
}

static bool bed_breaks_kvm_breakpoints(void)
{
	const char *bed = getenv("VMTEST_BED");

	return on_in_tree_kvm() && bed && !strcmp(bed, "qemu") &&
	       !okvm_host_is_intel();
}

/*
 * Bochs, the VMX bed, leaves a single-step trap pending after an
 * intercepted instruction executed under TF, and kvm-intel delivers it at
 * the next entry: a second stop at the same RIP (okvm drops it once it
 * moved RIP on: vmx/entry.c). The single-step test skips on in-tree KVM
 * in that bed only.
 */
static bool bed_breaks_kvm_single_step(void)
{
	const char *bed = getenv("VMTEST_BED");

	return on_in_tree_kvm() && bed && !strcmp(bed, "bochs");
}

static struct kvm_vcpu *guest_vcpu(struct kvm_vm **vm, void (*code)(void))
{
	struct kvm_vcpu *vcpu;

	*vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(*vm, 0, code);
	vm_install_exception_handler(*vm, BP_VEC, guest_bp_handler);
	vm_install_exception_handler(*vm, DB_VEC, guest_db_handler);
	return vcpu;
}

TEST(capabilities)
{
	int fd = okvm_open_dev();

	ASSERT_EQ(1, okvm_ioctl(fd, KVM_CHECK_EXTENSION,
				KVM_CAP_SET_GUEST_DEBUG));
	/* KVM 6.1 on x86 reports exactly the flags it acts on. */
	ASSERT_EQ(VALID_FLAGS, okvm_ioctl(fd, KVM_CHECK_EXTENSION,
					  KVM_CAP_SET_GUEST_DEBUG2));
	close(fd);
}

extern char sw_bp[], hw_bp[];

/* INT3 under USE_SW_BP stops; handed back with INJECT_BP, then not. */
static void guest_sw_bp(void)
{
	asm volatile("sw_bp: int3" ::: "memory");
	GUEST_ASSERT_EQ(1, bp_count);
	GUEST_ASSERT_EQ((uint64_t)sw_bp + 1, bp_rip);
	GUEST_SYNC(1);
	asm volatile("int3" ::: "memory");
	GUEST_ASSERT_EQ(2, bp_count);
	GUEST_DONE();
}

TEST(sw_bp_and_inject_bp)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct ucall uc;

	if (bed_breaks_kvm_breakpoints())
		SKIP(return, "QEMU's SVM never intercepts INT3 as #BP");
	vcpu = guest_vcpu(&vm, guest_sw_bp);

	set_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, 0, 0);
	vcpu_run(vcpu);
	assert_debug_exit(_metadata, vcpu, BP_VEC, (uint64_t)sw_bp);
	/* The debugger gives the guest its own #BP, as after its INT3. */
	set_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP |
		  KVM_GUESTDBG_INJECT_BP, 0, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	set_debug(vcpu, 0, 0, 0);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * A debugger's instruction breakpoint, while the guest's own DR7 and DR0
 * stay what the guest wrote and read back.
 */
static void guest_hw_bp(void)
{
	uint64_t dr0 = 0x1234000, dr7;

	asm volatile("mov %0, %%dr0" :: "r"(dr0));
	asm volatile("hw_bp: nop" ::: "memory");
	asm volatile("mov %%dr0, %0" : "=r"(dr0));
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	GUEST_ASSERT_EQ(0x1234000, dr0);
	GUEST_ASSERT_EQ(DR7_FIXED, dr7);
	GUEST_ASSERT_EQ(0, db_count);
	GUEST_DONE();
}

TEST(hw_bp_and_guest_drs)
{
	struct kvm_vm *vm;
	struct kvm_debugregs dregs;
	struct kvm_vcpu *vcpu;
	struct ucall uc;

	if (bed_breaks_kvm_breakpoints())
		SKIP(return, "QEMU's VMRUN arms no breakpoint of the VMCB's DR7");
	vcpu = guest_vcpu(&vm, guest_hw_bp);

	set_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
		  (uint64_t)hw_bp, DR7_FIXED | DR7_G0);
	vcpu_run(vcpu);
	assert_debug_exit(_metadata, vcpu, DB_VEC, (uint64_t)hw_bp);
	ASSERT_EQ(DR6_CLEAR | 1, vcpu->run->debug.arch.dr6);
	ASSERT_EQ(DR7_FIXED | DR7_G0, vcpu->run->debug.arch.dr7);
	/* The guest's own registers are not the debugger's. */
	kvm_ioctl(vcpu->fd, KVM_GET_DEBUGREGS, &dregs);
	ASSERT_EQ(DR7_FIXED, dregs.dr7);
	ASSERT_EQ(0x1234000, dregs.db[0]);
	/* The breakpoint is a fault: off, and the NOP runs. */
	set_debug(vcpu, 0, 0, 0);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

extern char ss_start[], ss_cpuid[], ss_out[], ss_end[];

static void guest_single_step(void)
{
	uint64_t flags;

	asm volatile("hlt\n\t"
		     "ss_start: nop\n\t"
		     "ss_cpuid: cpuid\n\t"
		     "ss_out: out %%al, %1\n\t"
		     "ss_end: nop\n\t"
		     : : "a"(0), "i"(STEP_PORT), "c"(0) : "rbx", "rdx", "memory");
	asm volatile("pushf; pop %0" : "=r"(flags));
	GUEST_ASSERT_EQ(0, flags & TF);
	GUEST_ASSERT_EQ(0, db_count);
	GUEST_DONE();
}

/*
 * From the HLT's exit on, one stop per instruction: after the NOP (the
 * CPU's trap), after CPUID (emulated), after OUT (completed by the VMM's
 * next KVM_RUN). TF never shows in KVM_GET_REGS, and is gone once
 * stepping is off.
 */
TEST(single_step_hidden_tf)
{
	uint64_t stops[] = { (uint64_t)ss_cpuid, (uint64_t)ss_out };
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	struct ucall uc;
	unsigned int i;

	if (bed_breaks_kvm_single_step())
		SKIP(return, "Bochs leaves a stale single-step trap to kvm-intel");
	vcpu = guest_vcpu(&vm, guest_single_step);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	ASSERT_EQ((uint64_t)ss_start, regs.rip);
	set_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0, 0);
	for (i = 0; i < 2; i++) {
		vcpu_run(vcpu);
		assert_debug_exit(_metadata, vcpu, DB_VEC, stops[i]);
		ASSERT_EQ(DR6_CLEAR | DR6_BS, vcpu->run->debug.arch.dr6);
		vcpu_regs_get(vcpu, &regs);
		ASSERT_EQ(stops[i], regs.rip);
		ASSERT_EQ(0, regs.rflags & TF);
	}
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(STEP_PORT, vcpu->run->io.port);
	vcpu_run(vcpu);
	assert_debug_exit(_metadata, vcpu, DB_VEC, (uint64_t)ss_end);
	ASSERT_EQ(DR6_CLEAR | DR6_BS, vcpu->run->debug.arch.dr6);
	set_debug(vcpu, 0, 0, 0);
	vcpu_regs_get(vcpu, &regs);
	ASSERT_EQ(0, regs.rflags & TF);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_inject_db(void)
{
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(1, db_count);
	GUEST_DONE();
}

/* INJECT_DB without ENABLE: the guest's #DB handler runs; a second is EBUSY. */
TEST(inject_db_and_ebusy)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_INJECT_DB };
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = guest_vcpu(&vm, guest_inject_db);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG,
				(unsigned long)&dbg));
	ASSERT_EQ(-EBUSY, okvm_ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG,
				     (unsigned long)&dbg));
	dbg.control = KVM_GUESTDBG_INJECT_BP;
	ASSERT_EQ(-EBUSY, okvm_ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG,
				     (unsigned long)&dbg));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_nothing(void)
{
	asm volatile("int3" ::: "memory");
	GUEST_ASSERT_EQ(1, bp_count);
	GUEST_DONE();
}

/*
 * EFAULT for a bad pointer; flags KVM does not know are taken without
 * effect (KVM 6.1 does not check them), as are flags without ENABLE: INT3
 * then goes to the guest.
 */
TEST(bad_input)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_USE_SW_BP | 0x40000000,
	};
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = guest_vcpu(&vm, guest_nothing);
	struct ucall uc;

	ASSERT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, 8));
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG,
				(unsigned long)&dbg));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * A debugger's DR7 is taken unchecked (KVM 6.1 does not check it); one
 * with bits 63:32 set, which no DR7 can hold, makes the entry fail, and
 * must not reach the host's own DR7 on the way (a #GP in the kernel).
 */
TEST(reserved_dr7_fails_entry)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = guest_vcpu(&vm, guest_nothing);

	set_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
		  0x1000, (1ULL << 32) | DR7_FIXED | DR7_G0);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_FAIL_ENTRY);
	kvm_vm_free(vm);
}

extern char gd_insn[];

/* The guest's own DR7.GD, no debugger: #DB at the MOV DR, BD, GD cleared. */
static void guest_gd(void)
{
	uint64_t dr7 = DR7_FIXED | DR7_GD, dr0;

	asm volatile("mov %0, %%dr7" :: "r"(dr7));
	asm volatile("gd_insn: mov %%dr0, %0" : "=r"(dr0));
	GUEST_ASSERT_EQ(1, db_count);
	GUEST_ASSERT_EQ((uint64_t)gd_insn, db_rip);
	GUEST_ASSERT(db_dr6 & DR6_BD);
	GUEST_ASSERT_EQ(0, db_dr7 & DR7_GD);
	GUEST_DONE();
}

TEST(guest_general_detect)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	if (bed_breaks_kvm_breakpoints())
		SKIP(return, "QEMU's TCG raises no #DB for DR7.GD");
	vcpu = guest_vcpu(&vm, guest_gd);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
