// SPDX-License-Identifier: GPL-2.0-only
/*
 * hypercall_test - KVM's paravirtual interface as a guest sees it: the
 * hypercall instruction and its results, the other vendor's instruction
 * patched (KVM_X86_QUIRK_FIX_HYPERCALL_INSN) or #UD without the quirk,
 * MONITOR/MWAIT as NOPs or #UD (KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS),
 * IA32_MISC_ENABLE's MWAIT bit in CPUID (KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT),
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID, and the ioctls' bad input.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define KVM_HC_VAPIC_POLL_IRQ	1
#define KVM_HC_SEND_IPI		10
#define KVM_HC_SCHED_YIELD	11
#define KVM_ENOSYS		1000
#define KVM_EPERM		1
#define KVM_EINVAL		22
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MISC_ENABLE_MWAIT	(1ULL << 18)

#define QUIRK_MISC_ENABLE_NO_MWAIT	(1 << 4)
#define QUIRK_FIX_HYPERCALL_INSN	(1 << 5)
#define QUIRK_MWAIT_NEVER_UD_FAULTS	(1 << 6)

static volatile uint64_t ud_count, gp_count;

/* The hypercall site; its three bytes are written before each call. */
extern uint8_t hc_insn[3];

static __attribute__((noinline)) uint64_t guest_hypercall(uint64_t nr, uint64_t a0, uint64_t a1,
				uint64_t a2, uint64_t a3)
{
	uint64_t ret;

	asm volatile("hc_insn: .byte 0x90, 0x90, 0x90"
		     : "=a"(ret)
		     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
		     : "memory");
	return ret;
}

/* #UD at the hypercall site: RAX = -1, past the three bytes. */
static void ud_handler(struct ex_regs *regs)
{
	ud_count++;
	regs->rax = -1ULL;
	regs->rip += 3;
}

static void gp_handler(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;		/* rdmsr, wrmsr */
}

static bool host_is_intel(void)
{
	return okvm_host_is_intel();
}

static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 };
static const uint8_t vmmcall[3] = { 0x0f, 0x01, 0xd9 };

/* Guest code: no calls into libc. */
static void set_site(const uint8_t *insn)
{
	int i;

	for (i = 0; i < 3; i++)
		((volatile uint8_t *)hc_insn)[i] = insn[i];
}

static bool site_holds(const uint8_t *insn)
{
	int i;

	for (i = 0; i < 3; i++)
		if (((volatile uint8_t *)hc_insn)[i] != insn[i])
			return false;
	return true;
}

/* arg: the instruction to call with (1: the native one, 0: the other). */
static void guest_calls(uint64_t intel, uint64_t native)
{
	const uint8_t *mine = intel ? vmcall : vmmcall;
	const uint8_t *other = intel ? vmmcall : vmcall;
	uint64_t r;

	set_site(native ? mine : other);
	r = guest_hypercall(KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0);
	GUEST_SYNC_ARGS(1, r, ud_count, site_holds(mine));
	r = guest_hypercall(0xdead, 0, 0, 0, 0);
	GUEST_SYNC_ARGS(2, r, ud_count);
	r = guest_hypercall(KVM_HC_SCHED_YIELD, 0, 0, 0, 0);
	GUEST_SYNC_ARGS(3, r, ud_count);
	GUEST_DONE();
}

static struct kvm_vcpu *call_guest(struct kvm_vm **vm, bool native)
{
	struct kvm_vcpu *vcpu;

	*vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(*vm, 0, guest_calls);
	vm_install_exception_handler(*vm, UD_VECTOR, ud_handler);
	vm_install_exception_handler(*vm, GP_VECTOR, gp_handler);
	vcpu_args_set(vcpu, 2, (uint64_t)host_is_intel(), (uint64_t)native);
	return vcpu;
}

static int disable_quirks(struct kvm_vm *vm, uint64_t quirks)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_DISABLE_QUIRKS2, .args = { quirks },
	};

	return ioctl(vm->fd, KVM_ENABLE_CAP, &cap) ? -errno : 0;
}

TEST(native_hypercalls)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = call_guest(&vm, true);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(-KVM_ENOSYS, (int64_t)uc.args[1]);
	ASSERT_SYNC(vcpu, &uc, 3);
	EXPECT_EQ(0, uc.args[1]);	/* no enforcement: yield works */
	EXPECT_EQ(0, uc.args[2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(other_vendors_hypercall_is_patched)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = call_guest(&vm, false);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);	/* no #UD reached the guest */
	EXPECT_EQ(1, uc.args[3]);	/* the site holds the native one */
	kvm_vm_free(vm);
}

TEST(without_the_quirk_it_is_ud)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = call_guest(&vm, false);
	struct ucall uc;

	ASSERT_EQ(0, disable_quirks(vm, QUIRK_FIX_HYPERCALL_INSN));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(-1ULL, uc.args[1]);
	EXPECT_EQ(1, uc.args[2]);
	EXPECT_EQ(0, uc.args[3]);	/* left as it was */
	kvm_vm_free(vm);
}

TEST(enforced_pv_features)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = call_guest(&vm, true);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = { 1 },
	};
	struct kvm_cpuid_entry2 *e;
	struct ucall uc;

	/* No paravirtual feature offered, and enforced. */
	e = kvm_cpuid_entry(cpuid, 0x40000001, 0);
	if (e)
		e->eax = 0;
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
	cap.flags = 1;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_ENABLE_CAP,
				      (uintptr_t)&cap));
	cap.flags = 0;
	cap.cap = KVM_CAP_SYNC_REGS;	/* not a vCPU capability */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_ENABLE_CAP,
				      (uintptr_t)&cap));
	cap.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID;
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_ENABLE_CAP, (uintptr_t)&cap));

	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);	/* VAPIC_POLL_IRQ needs nothing */
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_SYNC(vcpu, &uc, 3);
	EXPECT_EQ(-KVM_ENOSYS, (int64_t)uc.args[1]);	/* no PV_SCHED_YIELD */
	/*
	 * The VMM's own access to a kvmclock MSR: refused too on okvm, as in
	 * KVM 6.1; later KVM (6.12 here) lets the VMM through.
	 */
	if (okvm_dev_is_okvm())
		EXPECT_EQ(0, vcpu_set_msr(vcpu, MSR_KVM_SYSTEM_TIME_NEW, 0));
	kvm_vm_free(vm);
}

static void guest_kvmclock_msr(void)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi)
		     : "c"(MSR_KVM_SYSTEM_TIME_NEW) : "memory");
	asm volatile("wrmsr" : : "c"(MSR_KVM_SYSTEM_TIME_NEW), "a"(0), "d"(0)
		     : "memory");
	GUEST_SYNC_ARGS(1, gp_count);
	GUEST_DONE();
}

TEST(enforced_kvmclock_msrs_gp)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_kvmclock_msr);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = { 1 },
	};
	struct kvm_cpuid_entry2 *e;
	struct ucall uc;

	vm_install_exception_handler(vm, GP_VECTOR, gp_handler);
	e = kvm_cpuid_entry(cpuid, 0x40000001, 0);
	if (e)
		e->eax = 0;
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_ENABLE_CAP, (uintptr_t)&cap));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(2, uc.args[1]);
	kvm_vm_free(vm);
}

/* At CPL 3 a hypercall is refused with -KVM_EPERM. */
static void guest_user_call(uint64_t intel)
{
	set_site(intel ? vmcall : vmmcall);
	GUEST_SYNC_ARGS(1, guest_hypercall(KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0));
	GUEST_DONE();
}

TEST(user_mode_is_eperm)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_user_call);
	struct ucall uc;

	vcpu_args_set(vcpu, 1, (uint64_t)host_is_intel());
	vcpu_set_user_mode(vm, vcpu);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(-KVM_EPERM, (int64_t)uc.args[1]);
	kvm_vm_free(vm);
}

/* PV IPIs: physical destinations only. */
static void guest_send_ipi(uint64_t intel)
{
	uint64_t r;

	set_site(intel ? vmcall : vmmcall);
	/* x2APIC on, software-enabled (SVR bit 8): it takes fixed IPIs */
	asm volatile("rdmsr; or $0x400, %%eax; wrmsr"
		     : : "c"(0x1b) : "rax", "rdx", "memory");
	asm volatile("wrmsr" : : "c"(0x80f), "a"(0x1ff), "d"(0) : "memory");
	/* logical destination mode: refused */
	r = guest_hypercall(KVM_HC_SEND_IPI, 1, 0, 0, 0x800 | 0x40);
	GUEST_SYNC_ARGS(1, r);
	/* a shorthand: refused */
	r = guest_hypercall(KVM_HC_SEND_IPI, 1, 0, 0, 0x40000 | 0x40);
	GUEST_SYNC_ARGS(2, r);
	/* to APIC IDs 0 and 64: only 0 exists and takes it */
	r = guest_hypercall(KVM_HC_SEND_IPI, 1, 1, 0, 0x40);
	GUEST_SYNC_ARGS(3, r);
	GUEST_DONE();
}

TEST(send_ipi)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu;
	struct ucall uc;

	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_send_ipi);
	vcpu_args_set(vcpu, 1, (uint64_t)host_is_intel());
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(-KVM_EINVAL, (int64_t)uc.args[1]);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(-KVM_EINVAL, (int64_t)uc.args[1]);
	ASSERT_SYNC(vcpu, &uc, 3);
	EXPECT_EQ(1, uc.args[1]);
	kvm_vm_free(vm);
}

/* MONITOR and MWAIT (on a valid address: SVM checks it first). */
static void guest_monitor_mwait(void)
{
	uint64_t before;

	for (;;) {
		before = ud_count;
		asm volatile("lea 1f(%%rip), %%rax; xor %%ecx, %%ecx;"
			     "xor %%edx, %%edx; monitor; 1:"
			     : : : "rax", "rcx", "rdx", "memory");
		GUEST_SYNC_ARGS(1, ud_count - before);
	}
}

static void ud_skip3(struct ex_regs *regs)
{
	ud_count++;
	regs->rip += 3;		/* monitor 0f 01 c8 */
}

TEST(monitor_is_nop_or_ud)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_monitor_mwait);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct kvm_cpuid_entry2 *e = kvm_cpuid_entry(cpuid, 1, 0);
	struct ucall uc;

	vm_install_exception_handler(vm, UD_VECTOR, ud_skip3);
	e->ecx &= ~(1u << 3);	/* no MONITOR/MWAIT */
	vcpu_set_cpuid(vcpu, cpuid);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);	/* the quirk: a NOP */

	ASSERT_EQ(0, disable_quirks(vm, QUIRK_MWAIT_NEVER_UD_FAULTS |
				    QUIRK_MISC_ENABLE_NO_MWAIT));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(1, uc.args[1]);	/* #UD without MWAIT in CPUID */

	/* MISC_ENABLE.MWAIT puts MWAIT into CPUID: a NOP again. */
	ASSERT_EQ(1, vcpu_set_msr(vcpu, MSR_IA32_MISC_ENABLE,
				  vcpu_get_msr(vcpu, MSR_IA32_MISC_ENABLE) |
				  MISC_ENABLE_MWAIT));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);
	free(cpuid);
	kvm_vm_free(vm);
}

TEST(disable_quirks2_bad_bits)
{
	struct kvm_vm *vm = vm_create_bare();
	long have = ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2);

	ASSERT_NE(0, have & QUIRK_FIX_HYPERCALL_INSN);
	EXPECT_EQ(-EINVAL, disable_quirks(vm, 1ULL << 40));
	EXPECT_EQ(0, disable_quirks(vm, have));
	EXPECT_EQ(0, disable_quirks(vm, 0));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
