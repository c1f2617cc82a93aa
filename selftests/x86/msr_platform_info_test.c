// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr_platform_info_test - MSR_PLATFORM_INFO (0xce, SDM Vol. 4 Table
 * 2-12) and KVM_CAP_MSR_PLATFORM_INFO (api.rst): the VMM sets what the
 * guest reads, the guest cannot write it, and enabling the capability with
 * 0 turns the guest's reads into #GP until it is enabled again. The
 * default value differs (KVM offers CPUID faulting in bit 31, okvm has
 * none), so only what the VMM wrote is compared.
 */
#include <errno.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define MSR_PLATFORM_INFO	0xce
/* An arbitrary pattern in the ratio fields (bits 15:8 and 47:40). */
#define PATTERN			0x0000550000003300ULL

static long enable_cap(int fd, __u32 flags, __u64 arg0)
{
	struct kvm_enable_cap c = { .cap = KVM_CAP_MSR_PLATFORM_INFO,
				    .flags = flags };

	c.args[0] = arg0;
	return okvm_ioctl(fd, KVM_ENABLE_CAP, (unsigned long)&c);
}

/* KVM_GET_MSRS / KVM_SET_MSRS of one MSR: the number processed or -errno. */
static long msr_ioctl(struct kvm_vcpu *vcpu, unsigned long req, uint64_t *val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = MSR_PLATFORM_INFO, .e.data = *val };
	long r = okvm_ioctl(vcpu->fd, req, (unsigned long)&m);

	*val = m.e.data;
	return r;
}

static volatile uint64_t gp_count;

static void skip_msr_insn(struct ex_regs *regs)
{
	if (regs->vector == GP_VECTOR)
		gp_count++;
	regs->rip += 2;		/* rdmsr 0f 32, wrmsr 0f 30 */
}

/* Each round: read it, then try to write it; report value and #GPs. */
static void guest_code(void)
{
	uint32_t lo, hi;

	for (;;) {
		lo = hi = 0;
		asm volatile("rdmsr" : "=a"(lo), "=d"(hi)
			     : "c"(MSR_PLATFORM_INFO) : "memory");
		GUEST_SYNC_ARGS(1, (uint64_t)hi << 32 | lo, gp_count);
		asm volatile("wrmsr" : : "c"(MSR_PLATFORM_INFO), "a"(0),
			     "d"(0) : "memory");
		GUEST_SYNC_ARGS(2, gp_count);
	}
}

TEST(cap_reported)
{
	int dev = okvm_open_dev();
	int vm;

	ASSERT_LE(0, dev);
	vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	EXPECT_EQ(1, okvm_ioctl(dev, KVM_CHECK_EXTENSION,
				KVM_CAP_MSR_PLATFORM_INFO));
	EXPECT_EQ(1, okvm_ioctl(vm, KVM_CHECK_EXTENSION,
				KVM_CAP_MSR_PLATFORM_INFO));
	/* flags must be 0; the argument is read first */
	EXPECT_EQ(-EINVAL, enable_cap(vm, 1, 1));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_ENABLE_CAP, 0));
	/* any nonzero argument enables, 0 disables, at any time */
	EXPECT_EQ(0, enable_cap(vm, 0, 0));
	EXPECT_EQ(0, enable_cap(vm, 0, 2));
	EXPECT_EQ(0, enable_cap(vm, 0, ~0ULL));
	close(vm);
	close(dev);
}

TEST(host_reads_back_what_it_wrote)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	uint64_t v = 0, old;

	ASSERT_EQ(1, msr_ioctl(vcpu, KVM_GET_MSRS, &v));
	old = v;
	v = old | PATTERN;
	EXPECT_EQ(1, msr_ioctl(vcpu, KVM_SET_MSRS, &v));
	v = 0;
	EXPECT_EQ(1, msr_ioctl(vcpu, KVM_GET_MSRS, &v));
	EXPECT_EQ(old | PATTERN, v);
	/* the host may read and write it with the guest's reads off too */
	EXPECT_EQ(0, enable_cap(vm->fd, 0, 0));
	v = old;
	EXPECT_EQ(1, msr_ioctl(vcpu, KVM_SET_MSRS, &v));
	v = 0;
	EXPECT_EQ(1, msr_ioctl(vcpu, KVM_GET_MSRS, &v));
	EXPECT_EQ(old, v);
	kvm_vm_free(vm);
}

TEST(listed_for_save_and_restore)
{
	int dev = okvm_open_dev();
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + 1024 * 4);
	uint32_t i;
	bool found = false;

	ASSERT_LE(0, dev);
	ASSERT_NE(NULL, list);
	list->nmsrs = 1024;
	ASSERT_EQ(0, okvm_ioctl(dev, KVM_GET_MSR_INDEX_LIST,
				(unsigned long)list));
	for (i = 0; i < list->nmsrs; i++)
		found |= list->indices[i] == MSR_PLATFORM_INFO;
	EXPECT_TRUE(found);
	free(list);
	close(dev);
}

TEST(guest_reads_unless_disabled_never_writes)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_code);
	struct ucall uc;
	uint64_t v = 0, old;

	vm_install_exception_handler(vm, GP_VECTOR, skip_msr_insn);
	ASSERT_EQ(1, msr_ioctl(vcpu, KVM_GET_MSRS, &v));
	old = v;
	v |= PATTERN;
	ASSERT_EQ(1, msr_ioctl(vcpu, KVM_SET_MSRS, &v));

	/* readable by default */
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(old | PATTERN, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(1, uc.args[1]);	/* the write: #GP */

	/* disabled: the read is #GP too */
	ASSERT_EQ(0, enable_cap(vm->fd, 0, 0));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(2, uc.args[2]);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(3, uc.args[1]);

	/* enabled again */
	ASSERT_EQ(0, enable_cap(vm->fd, 0, 1));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(old | PATTERN, uc.args[1]);
	EXPECT_EQ(3, uc.args[2]);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(4, uc.args[1]);

	/* the guest's write changed nothing */
	v = 0;
	EXPECT_EQ(1, msr_ioctl(vcpu, KVM_GET_MSRS, &v));
	EXPECT_EQ(old | PATTERN, v);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
