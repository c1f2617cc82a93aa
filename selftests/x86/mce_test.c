// SPDX-License-Identifier: GPL-2.0-only
/*
 * mce_test - the guest's machine-check architecture as a VMM sees it:
 * KVM_X86_GET_MCE_CAP_SUPPORTED and KVM_CAP_MCE on the system fd,
 * KVM_X86_SETUP_MCE's rules, the MCG and bank MSRs it shapes, and errors
 * injected with KVM_X86_SET_MCE: a corrected one only fills its bank, an
 * uncorrected one raises #MC in a guest with CR4.MCE, and shuts down a
 * guest without it (Intel SDM Vol. 3 15.10.1; AMD APM Vol. 2 9.3).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define MSR_MCG_CAP		0x179
#define MSR_MCG_STATUS		0x17a
#define MSR_MCG_CTL		0x17b
#define MSR_MC_CTL(b)		(0x400 + 4 * (b))
#define MSR_MC_STATUS(b)	(0x401 + 4 * (b))
#define MSR_MC_ADDR(b)		(0x402 + 4 * (b))

#define MCG_CTL_P		(1ULL << 8)
#define MCG_STATUS_RIPV		(1ULL << 0)
#define MCG_STATUS_MCIP		(1ULL << 2)
#define MCI_STATUS_VAL		(1ULL << 63)
#define MCI_STATUS_OVER		(1ULL << 62)
#define MCI_STATUS_UC		(1ULL << 61)
#define MCI_STATUS_EN		(1ULL << 60)

#define MC_VECTOR		18
#define X86_CR4_MCE		(1ULL << 6)
/* KVM_MAX_MCE_BANKS in arch/x86/include/asm/kvm_host.h */
#define MAX_BANKS		32

static uint64_t cap_supported(void)
{
	int dev = okvm_open_dev();
	uint64_t cap;

	kvm_ioctl(dev, KVM_X86_GET_MCE_CAP_SUPPORTED, &cap);
	close(dev);
	return cap;
}

static uint64_t get_msr(struct kvm_vcpu *vcpu, uint32_t index, int *n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	*n = ioctl(vcpu->fd, KVM_GET_MSRS, &m);
	return m.e.data;
}

static uint64_t msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	int n;
	uint64_t v = get_msr(vcpu, index, &n);

	KVM_ASSERT(n == 1, "KVM_GET_MSRS of MSR 0x%x gave %d", index, n);
	return v;
}

static int set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = data };

	return ioctl(vcpu->fd, KVM_SET_MSRS, &m);
}

/* KVM_X86_SETUP_MCE's answer: 0 or the errno. */
static int setup_mce(struct kvm_vcpu *vcpu, uint64_t cap)
{
	return ioctl(vcpu->fd, KVM_X86_SETUP_MCE, &cap) ? errno : 0;
}

static int set_mce(struct kvm_vcpu *vcpu, struct kvm_x86_mce *mce)
{
	return ioctl(vcpu->fd, KVM_X86_SET_MCE, mce) ? errno : 0;
}

/*
 * The system fd: the flags a VMM may ask for (MCG_CTL_P at least, which
 * QEMU always asks for; never a bank count, which is KVM_CAP_MCE's answer).
 */
TEST(cap_supported_on_the_system_fd)
{
	int dev = okvm_open_dev();
	uint64_t cap = cap_supported();

	EXPECT_EQ(MAX_BANKS, ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_MCE));
	EXPECT_EQ(0, cap & 0xff);
	EXPECT_TRUE(cap & MCG_CTL_P);
	EXPECT_EQ(-1, ioctl(dev, KVM_X86_GET_MCE_CAP_SUPPORTED, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	close(dev);
}

TEST(setup_errnos)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	uint64_t cap = cap_supported();
	int bit;

	EXPECT_EQ(EINVAL, setup_mce(vcpu, cap));		/* no banks */
	EXPECT_EQ(EINVAL, setup_mce(vcpu, cap | (MAX_BANKS + 1)));
	for (bit = 63; bit > 24; bit--)
		if (!(cap & (1ULL << bit)))
			break;
	EXPECT_EQ(EINVAL, setup_mce(vcpu, (1ULL << bit) | 4));
	EXPECT_EQ(-1, ioctl(vcpu->fd, KVM_X86_SETUP_MCE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* bits 23:16 (MCG_EXT_CNT) pass, as KVM lets them */
	EXPECT_EQ(0, setup_mce(vcpu, 0x30000 | 4));
	EXPECT_EQ(0, setup_mce(vcpu, cap | MAX_BANKS));
	kvm_vm_free(vm);
}

/* What KVM_X86_SETUP_MCE sets, and what the VMM may then write. */
TEST(msrs_follow_setup)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	int n;

	/* a new vCPU has every bank, like KVM's */
	EXPECT_EQ(MAX_BANKS, msr(vcpu, MSR_MCG_CAP) & 0xff);

	ASSERT_EQ(0, setup_mce(vcpu, MCG_CTL_P | 4));
	EXPECT_EQ(MCG_CTL_P | 4, msr(vcpu, MSR_MCG_CAP));
	EXPECT_EQ(~0ULL, msr(vcpu, MSR_MCG_CTL));
	EXPECT_EQ(~0ULL, msr(vcpu, MSR_MC_CTL(0)));
	EXPECT_EQ(~0ULL, msr(vcpu, MSR_MC_CTL(3)));
	get_msr(vcpu, MSR_MC_CTL(4), &n);
	EXPECT_EQ(0, n);			/* past the banks */
	EXPECT_EQ(0, set_msr(vcpu, MSR_MC_CTL(4), 0));

	EXPECT_EQ(0, set_msr(vcpu, MSR_MCG_CAP, MCG_CTL_P | 8));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MCG_CTL, 5));	/* 0 or all ones */
	EXPECT_EQ(1, set_msr(vcpu, MSR_MCG_CTL, 0));
	EXPECT_EQ(0, msr(vcpu, MSR_MCG_CTL));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MC_CTL(1), 0x1234));
	EXPECT_EQ(1, set_msr(vcpu, MSR_MC_CTL(1), 0));
	EXPECT_EQ(0, msr(vcpu, MSR_MC_CTL(1)));
	/* the VMM may write any status (migration) */
	EXPECT_EQ(1, set_msr(vcpu, MSR_MC_STATUS(2), 0xabc));
	EXPECT_EQ(0xabc, msr(vcpu, MSR_MC_STATUS(2)));
	EXPECT_EQ(1, set_msr(vcpu, MSR_MCG_STATUS, MCG_STATUS_RIPV));
	EXPECT_EQ(MCG_STATUS_RIPV, msr(vcpu, MSR_MCG_STATUS));

	/* without MCG_CTL_P, MCG_CTL only takes 0 from the VMM */
	ASSERT_EQ(0, setup_mce(vcpu, 2));
	EXPECT_EQ(0, set_msr(vcpu, MSR_MCG_CTL, ~0ULL));
	EXPECT_EQ(1, set_msr(vcpu, MSR_MCG_CTL, 0));
	kvm_vm_free(vm);
}

TEST(set_mce_errnos)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	struct kvm_x86_mce mce = {
		.status = MCI_STATUS_VAL | MCI_STATUS_EN | 0x17,
		.bank = 4,
	};

	ASSERT_EQ(0, setup_mce(vcpu, MCG_CTL_P | 4));
	EXPECT_EQ(EINVAL, set_mce(vcpu, &mce));		/* bank 4 of 4 */
	mce.bank = 0;
	mce.status &= ~MCI_STATUS_VAL;
	EXPECT_EQ(EINVAL, set_mce(vcpu, &mce));
	EXPECT_EQ(-1, ioctl(vcpu->fd, KVM_X86_SET_MCE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	kvm_vm_free(vm);
}

/* A corrected error fills its bank, sets OVER on the second, and no #MC. */
TEST(corrected_error_fills_the_bank)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	struct kvm_x86_mce mce = {
		.status = MCI_STATUS_VAL | MCI_STATUS_EN | 0x17,
		.addr = 0x1234000,
		.mcg_status = MCG_STATUS_RIPV,
		.bank = 1,
	};
	struct kvm_vcpu_events ev;

	ASSERT_EQ(0, setup_mce(vcpu, MCG_CTL_P | 4));
	EXPECT_EQ(0, set_mce(vcpu, &mce));
	EXPECT_EQ(mce.status, msr(vcpu, MSR_MC_STATUS(1)));
	EXPECT_EQ(0x1234000, msr(vcpu, MSR_MC_ADDR(1)));
	EXPECT_EQ(0, msr(vcpu, MSR_MCG_STATUS));
	EXPECT_EQ(0, set_mce(vcpu, &mce));
	EXPECT_EQ(mce.status | MCI_STATUS_OVER, msr(vcpu, MSR_MC_STATUS(1)));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_FALSE(ev.exception.injected || ev.exception.pending);
	kvm_vm_free(vm);
}

static volatile uint64_t mc_seen, mc_status, mcg_status;

static inline uint64_t guest_rdmsr(uint32_t index)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(index));
	return lo | ((uint64_t)hi << 32);
}

static inline void guest_wrmsr(uint32_t index, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(index), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)));
}

static void mc_handler(struct ex_regs *regs)
{
	mc_seen++;
	mc_status = guest_rdmsr(MSR_MC_STATUS(2));
	mcg_status = guest_rdmsr(MSR_MCG_STATUS);
	guest_wrmsr(MSR_MC_STATUS(2), 0);
	guest_wrmsr(MSR_MCG_STATUS, 0);
}

static void guest_cr4_mce(uint64_t on)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 = on ? cr4 | X86_CR4_MCE : cr4 & ~X86_CR4_MCE;
	asm volatile("mov %0, %%cr4" : : "r"(cr4));
	GUEST_SYNC(0);
	GUEST_SYNC(mc_seen);
	GUEST_SYNC(mc_status);
	GUEST_SYNC(mcg_status);
	GUEST_DONE();
}

static const struct kvm_x86_mce uc_error = {
	.status = MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | 0x134,
	.addr = 0x5000,
	.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV,
	.bank = 2,
};

/* CR4.MCE set: the uncorrected error is a #MC the guest's handler sees. */
TEST(uncorrected_error_raises_mc)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cr4_mce);
	struct kvm_x86_mce mce = uc_error;
	struct ucall uc;

	vcpu_args_set(vcpu, 1, 1ULL);
	vm_install_exception_handler(vm, MC_VECTOR, mc_handler);
	ASSERT_EQ(0, setup_mce(vcpu, MCG_CTL_P | 4));
	ASSERT_SYNC(vcpu, &uc, 0);
	EXPECT_EQ(0, set_mce(vcpu, &mce));
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_SYNC(vcpu, &uc, uc_error.status);
	ASSERT_SYNC(vcpu, &uc, uc_error.mcg_status);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* Reporting off in the bank's CTL: the error is dropped, no #MC. */
TEST(uncorrected_error_dropped_when_bank_disabled)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cr4_mce);
	struct kvm_x86_mce mce = uc_error;
	struct ucall uc;

	vcpu_args_set(vcpu, 1, 1ULL);
	vm_install_exception_handler(vm, MC_VECTOR, mc_handler);
	ASSERT_EQ(0, setup_mce(vcpu, MCG_CTL_P | 4));
	ASSERT_EQ(1, set_msr(vcpu, MSR_MC_CTL(2), 0));
	ASSERT_SYNC(vcpu, &uc, 0);
	EXPECT_EQ(0, set_mce(vcpu, &mce));
	ASSERT_SYNC(vcpu, &uc, 0);
	EXPECT_EQ(0, msr(vcpu, MSR_MC_STATUS(2)));
	kvm_vm_free(vm);
}

/* CR4.MCE clear: an uncorrected error shuts the vCPU down. */
TEST(uncorrected_error_without_cr4_mce_shuts_down)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cr4_mce);
	struct kvm_x86_mce mce = uc_error;
	struct ucall uc;

	vcpu_args_set(vcpu, 1, 0ULL);
	ASSERT_EQ(0, setup_mce(vcpu, MCG_CTL_P | 4));
	ASSERT_SYNC(vcpu, &uc, 0);
	EXPECT_EQ(0, set_mce(vcpu, &mce));
	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_SHUTDOWN, vcpu->run->exit_reason)
		TH_LOG("exit: %s", vcpu_exit_str(vcpu));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
