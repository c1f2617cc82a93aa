// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr_filter_test - KVM_X86_SET_MSR_FILTER and KVM_CAP_X86_USER_SPACE_MSR:
 * the filter's checks, guest RDMSR/WRMSR that the filter denies, that no
 * one implements or whose value is refused, each going to the VMM as
 * KVM_EXIT_X86_RDMSR/WRMSR when it asked for that reason and raising #GP
 * otherwise; the VMM's answer (data, or error for #GP); MSRs the guest
 * otherwise reaches without an exit (MSR_STAR, MSR_GS_BASE) filtered too;
 * the VMM's own KVM_GET_MSRS not filtered; a filter replaced while the
 * vCPU runs.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define MSR_STAR		0xc0000081
#define MSR_GS_BASE		0xc0000101
#define MSR_IA32_CR_PAT		0x00000277
#define MSR_NOBODY		0x474f4f00	/* no CPU or hypervisor has it */
#define PAT_BAD			0x0606060606060602ULL	/* type 2 is reserved */

#define REASONS_ALL	(KVM_MSR_EXIT_REASON_INVAL | \
			 KVM_MSR_EXIT_REASON_UNKNOWN | \
			 KVM_MSR_EXIT_REASON_FILTER)

static volatile uint64_t gp_count;

static uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo = 0, hi = 0;

	asm volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	return lo | (uint64_t)hi << 32;
}

static void guest_wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

static void skip_msr_insn(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;		/* rdmsr 0f 32, wrmsr 0f 30 */
}

static struct kvm_vcpu *msr_guest(struct kvm_vm **vm, void (*code)(void))
{
	struct kvm_vcpu *vcpu;

	*vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(*vm, 0, code);
	vm_install_exception_handler(*vm, GP_VECTOR, skip_msr_insn);
	return vcpu;
}

static int set_filter(struct kvm_vm *vm, struct kvm_msr_filter *f)
{
	return ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, f) ? -errno : 0;
}

static int enable_user_msr(struct kvm_vm *vm, uint64_t reasons)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args = { reasons },
	};

	return ioctl(vm->fd, KVM_ENABLE_CAP, &cap) ? -errno : 0;
}

/* One range over @msr, for @flags, with its bit clear: denied. */
static uint8_t deny_bits[8];

static struct kvm_msr_filter deny_one(uint32_t msr, uint32_t flags)
{
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };

	f.ranges[0] = (struct kvm_msr_filter_range) {
		.flags = flags, .nmsrs = 1, .base = msr, .bitmap = deny_bits,
	};
	return f;
}

/* Run to the next exit, which must be an MSR exit of @reason for @msr. */
static void expect_msr_exit(struct __test_metadata *_metadata,
			    struct kvm_vcpu *vcpu, uint32_t exit_reason,
			    uint32_t reason, uint32_t msr)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	ASSERT_EQ(exit_reason, run->exit_reason)
		TH_LOG("exit %s", vcpu_exit_str(vcpu));
	EXPECT_EQ(reason, run->msr.reason);
	EXPECT_EQ(msr, run->msr.index);
	EXPECT_EQ(0, run->msr.error);
}

TEST(caps)
{
	struct kvm_vm *vm = vm_create_bare();

	EXPECT_LT(0, ioctl(vm->fd, KVM_CHECK_EXTENSION,
			   KVM_CAP_X86_USER_SPACE_MSR));
	EXPECT_LT(0, ioctl(vm->fd, KVM_CHECK_EXTENSION,
			   KVM_CAP_X86_MSR_FILTER));
	kvm_vm_free(vm);
}

TEST(bad_filters_and_reasons)
{
	static uint8_t bitmap[KVM_MSR_FILTER_MAX_BITMAP_SIZE + 8];
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_msr_filter f;

	EXPECT_EQ(-EINVAL, enable_user_msr(vm, REASONS_ALL + 1));
	EXPECT_EQ(-EINVAL, enable_user_msr(vm, 1ULL << 32));
	EXPECT_EQ(0, enable_user_msr(vm, REASONS_ALL));
	EXPECT_EQ(0, enable_user_msr(vm, 0));

	/* Unknown filter flags. */
	memset(&f, 0, sizeof(f));
	f.flags = 2;
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	/* Deny with no range would deny everything. */
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	/* A range without read or write, or with another flag. */
	f = deny_one(MSR_STAR, 0);
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	f = deny_one(MSR_STAR, KVM_MSR_FILTER_READ | 4);
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	/* A bitmap over KVM_MSR_FILTER_MAX_BITMAP_SIZE bytes. */
	f = deny_one(0, KVM_MSR_FILTER_READ);
	f.ranges[0].bitmap = bitmap;
	f.ranges[0].nmsrs = KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8 + 1;
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	f.ranges[0].nmsrs = KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8;
	EXPECT_EQ(0, set_filter(vm, &f));
	/* A bitmap the VMM cannot read. */
	f.ranges[0].bitmap = (uint8_t *)8;
	EXPECT_EQ(-EFAULT, set_filter(vm, &f));
	f.ranges[0].bitmap = NULL;
	EXPECT_EQ(-EFAULT, set_filter(vm, &f));
	/* A range of no MSRs is skipped, whatever else it says. */
	memset(&f, 0, sizeof(f));
	f.ranges[3].flags = 0xff;
	f.ranges[3].bitmap = (uint8_t *)8;
	EXPECT_EQ(0, set_filter(vm, &f));
	/* The whole struct must be readable. */
	EXPECT_EQ(-EFAULT, set_filter(vm, (struct kvm_msr_filter *)8));
	/* Filters may be set and replaced with vCPUs, too. */
	vm_vcpu_add_bare(vm, 0);
	f = deny_one(MSR_STAR, KVM_MSR_FILTER_READ);
	EXPECT_EQ(0, set_filter(vm, &f));
	kvm_vm_free(vm);
}

static void guest_denied(void)
{
	uint64_t v;

	/* denied, answered by the VMM */
	v = guest_rdmsr(MSR_STAR);
	GUEST_SYNC_ARGS(1, v, gp_count);
	/* denied, the VMM answers with an error: #GP */
	v = guest_rdmsr(MSR_STAR);
	GUEST_SYNC_ARGS(2, v, gp_count);
	/* writes are not filtered by a read-only range */
	guest_wrmsr(MSR_STAR, 0x0023001000000000ULL);
	GUEST_SYNC_ARGS(3, guest_rdmsr(MSR_GS_BASE), gp_count);
	/* after the VMM dropped FILTER from its reasons: #GP */
	v = guest_rdmsr(MSR_STAR);
	GUEST_SYNC_ARGS(4, v, gp_count);
	GUEST_DONE();
}

TEST(denied_reads_go_to_the_vmm)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = msr_guest(&vm, guest_denied);
	struct kvm_msr_filter f = deny_one(MSR_STAR, KVM_MSR_FILTER_READ);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	ASSERT_EQ(0, enable_user_msr(vm, KVM_MSR_EXIT_REASON_FILTER));
	ASSERT_EQ(0, set_filter(vm, &f));
	expect_msr_exit(_metadata, vcpu, KVM_EXIT_X86_RDMSR,
			KVM_MSR_EXIT_REASON_FILTER, MSR_STAR);
	run->msr.data = 0x1122334455667788ULL;
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0x1122334455667788ULL, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);

	expect_msr_exit(_metadata, vcpu, KVM_EXIT_X86_RDMSR,
			KVM_MSR_EXIT_REASON_FILTER, MSR_STAR);
	run->msr.data = 0x99;
	run->msr.error = 1;
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(0, uc.args[1]);	/* the #GP handler's RDX:RAX */
	EXPECT_EQ(1, uc.args[2]);

	/* The write and the read of GS_BASE stay in the kernel. */
	ASSERT_SYNC(vcpu, &uc, 3);
	EXPECT_EQ(1, uc.args[2]);
	/* The VMM's KVM_GET_MSRS is not filtered. */
	EXPECT_EQ(0x0023001000000000ULL, vcpu_get_msr(vcpu, MSR_STAR));

	ASSERT_EQ(0, enable_user_msr(vm, KVM_MSR_EXIT_REASON_UNKNOWN));
	ASSERT_SYNC(vcpu, &uc, 4);
	EXPECT_EQ(2, uc.args[2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_unknown_and_invalid(void)
{
	uint64_t v;

	guest_wrmsr(MSR_NOBODY, 0xabcdef);
	v = guest_rdmsr(MSR_NOBODY);
	GUEST_SYNC_ARGS(1, v, gp_count);
	guest_wrmsr(MSR_IA32_CR_PAT, PAT_BAD);
	GUEST_SYNC_ARGS(2, guest_rdmsr(MSR_IA32_CR_PAT), gp_count);
	/* Without the reasons: #GP, as without the capability. */
	guest_wrmsr(MSR_NOBODY, 1);
	guest_wrmsr(MSR_IA32_CR_PAT, PAT_BAD);
	GUEST_SYNC_ARGS(3, gp_count);
	GUEST_DONE();
}

TEST(unknown_and_invalid_go_to_the_vmm)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = msr_guest(&vm, guest_unknown_and_invalid);
	struct kvm_run *run = vcpu->run;
	uint64_t pat = vcpu_get_msr(vcpu, MSR_IA32_CR_PAT);
	struct ucall uc;

	ASSERT_EQ(0, enable_user_msr(vm, KVM_MSR_EXIT_REASON_UNKNOWN |
				     KVM_MSR_EXIT_REASON_INVAL));
	expect_msr_exit(_metadata, vcpu, KVM_EXIT_X86_WRMSR,
			KVM_MSR_EXIT_REASON_UNKNOWN, MSR_NOBODY);
	EXPECT_EQ(0xabcdef, run->msr.data);
	expect_msr_exit(_metadata, vcpu, KVM_EXIT_X86_RDMSR,
			KVM_MSR_EXIT_REASON_UNKNOWN, MSR_NOBODY);
	run->msr.data = 0xabcdef;
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0xabcdef, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);

	/* A value PAT cannot take: INVAL; the VMM refuses it too. */
	expect_msr_exit(_metadata, vcpu, KVM_EXIT_X86_WRMSR,
			KVM_MSR_EXIT_REASON_INVAL, MSR_IA32_CR_PAT);
	EXPECT_EQ(PAT_BAD, run->msr.data);
	run->msr.error = 1;
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(pat, uc.args[1]);
	EXPECT_EQ(1, uc.args[2]);

	ASSERT_EQ(0, enable_user_msr(vm, 0));
	ASSERT_SYNC(vcpu, &uc, 3);
	EXPECT_EQ(3, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * Default deny, with a range allowing MSR_GS_BASE only: the guest's read
 * of it (which needs no exit without a filter) stays in the kernel, its
 * read of MSR_STAR is denied; and without FILTER among the reasons a
 * denied access is #GP.
 */
static void guest_default_deny(void)
{
	uint64_t gs = guest_rdmsr(MSR_GS_BASE);

	guest_rdmsr(MSR_STAR);
	GUEST_SYNC_ARGS(1, gs, gp_count);
	GUEST_DONE();
}

TEST(default_deny)
{
	static uint8_t allow_bits[8] = { 1 };
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = msr_guest(&vm, guest_default_deny);
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_DENY };
	struct ucall uc;

	f.ranges[0] = (struct kvm_msr_filter_range) {
		.flags = KVM_MSR_FILTER_READ, .nmsrs = 1,
		.base = MSR_GS_BASE, .bitmap = allow_bits,
	};
	ASSERT_EQ(0, set_filter(vm, &f));
	vcpu_set_msr(vcpu, MSR_GS_BASE, 0x5000);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0x5000, uc.args[1]);
	EXPECT_EQ(1, uc.args[2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

struct swapper {
	struct kvm_vm *vm;
	atomic_bool stop;
	int sets, errors;
};

static void *swap_filters(void *arg)
{
	struct swapper *s = arg;
	struct kvm_msr_filter deny = deny_one(MSR_STAR, KVM_MSR_FILTER_READ);
	struct kvm_msr_filter allow = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };

	while (!atomic_load(&s->stop)) {
		if (set_filter(s->vm, s->sets & 1 ? &allow : &deny))
			s->errors++;
		s->sets++;
	}
	return NULL;
}

static void guest_read_star_forever(void)
{
	for (;;)
		GUEST_SYNC_ARGS(1, guest_rdmsr(MSR_STAR));
}

/*
 * Filters replaced while the guest reads MSR_STAR in a loop: each read
 * either exits as denied or returns the register; nothing else happens.
 */
TEST(filter_replaced_while_running)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = msr_guest(&vm, guest_read_star_forever);
	struct swapper s = { .vm = vm };
	int i, denied = 0, read = 0;
	pthread_t t;
	struct ucall uc;

	ASSERT_EQ(0, enable_user_msr(vm, KVM_MSR_EXIT_REASON_FILTER));
	vcpu_set_msr(vcpu, MSR_STAR, 0x0023001000000000ULL);
	ASSERT_EQ(0, pthread_create(&t, NULL, swap_filters, &s));
	for (i = 0; i < 3000; i++) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_X86_RDMSR) {
			ASSERT_EQ(MSR_STAR, vcpu->run->msr.index);
			ASSERT_EQ(KVM_MSR_EXIT_REASON_FILTER,
				  vcpu->run->msr.reason);
			vcpu->run->msr.data = 0x0023001000000000ULL;
			denied++;
			continue;
		}
		ASSERT_EQ(UCALL_SYNC, get_ucall(vcpu, &uc))
			TH_LOG("exit %s", vcpu_exit_str(vcpu));
		ASSERT_EQ(0x0023001000000000ULL, uc.args[1]);
		read++;
	}
	atomic_store(&s.stop, true);
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.errors);
	EXPECT_LT(0, read);
	TH_LOG("%d filters set; %d reads denied, %d done", s.sets, denied,
	       read);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
