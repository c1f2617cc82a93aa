// SPDX-License-Identifier: GPL-2.0-only
/*
 * enable_cap_test - KVM_ENABLE_CAP on the VM fd and the vCPU fd: flags,
 * unknown capabilities, bad pointers, and KVM_CAP_MAX_VCPU_ID's rules
 * (lower the id limit once, before the first vCPU).
 */
#include <errno.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"

FIXTURE(vm) {
	int dev;
	int vm;
	long max_id;	/* KVM_CAP_MAX_VCPU_ID on the system fd */
};

FIXTURE_SETUP(vm)
{
	self->dev = okvm_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", okvm_dev_path(),
				       strerror(-self->dev));
	self->vm = okvm_ioctl(self->dev, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);
	self->max_id = okvm_ioctl(self->dev, KVM_CHECK_EXTENSION,
				  KVM_CAP_MAX_VCPU_ID);
	ASSERT_LT(2, self->max_id);
}

FIXTURE_TEARDOWN(vm)
{
	close(self->vm);
	close(self->dev);
}

static long enable_cap(int fd, __u32 cap, __u32 flags, __u64 arg0)
{
	struct kvm_enable_cap c = { .cap = cap, .flags = flags };

	c.args[0] = arg0;
	return okvm_ioctl(fd, KVM_ENABLE_CAP, (unsigned long)&c);
}

TEST_F(vm, vm_fd_reports_enable_cap_vm)
{
	EXPECT_EQ(1, okvm_ioctl(self->dev, KVM_CHECK_EXTENSION,
				KVM_CAP_ENABLE_CAP_VM));
	EXPECT_EQ(1, okvm_ioctl(self->vm, KVM_CHECK_EXTENSION,
				KVM_CAP_ENABLE_CAP_VM));
}

TEST_F(vm, vm_fd_bad_input)
{
	/* flags must be 0, whatever the capability */
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 1, 2));
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID,
				      1u << 31, 2));
	/* capabilities that exist but cannot be enabled, and nonsense */
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_USER_MEMORY, 0, 1));
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_NR_MEMSLOTS, 0, 1));
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, 0x7fffffff, 0, 0));
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, 0xffffffff, 0, 0));
	/* the argument is read before anything else */
	EXPECT_EQ(-EFAULT, okvm_ioctl(self->vm, KVM_ENABLE_CAP, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(self->vm, KVM_ENABLE_CAP, 8));
	/* none of that fixed the limit: the VMM may still lower it */
	EXPECT_EQ(0, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0, 2));
}

TEST_F(vm, max_vcpu_id_lowered_once)
{
	long fd;

	/* above the system-wide limit */
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0,
				      self->max_id + 1));
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0,
				      1ull << 32));
	EXPECT_EQ(0, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0, 2));
	/* the same value again is fine, another is not */
	EXPECT_EQ(0, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0, 2));
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0, 3));
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0,
				      self->max_id));
	/* ids below the new limit work, the limit itself does not */
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->vm, KVM_CREATE_VCPU, 2));
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->vm, KVM_CREATE_VCPU,
				      self->max_id - 1));
	fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 1);
	ASSERT_LE(0, fd);
	close(fd);
	fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, fd);
	close(fd);
}

/* A limit of 0 before any vCPU leaves the default in force (KVM). */
TEST_F(vm, max_vcpu_id_zero_is_no_change)
{
	long fd;

	EXPECT_EQ(0, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0, 0));
	fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, self->max_id - 1);
	ASSERT_LE(0, fd);
	close(fd);
}

/* The first KVM_CREATE_VCPU fixes the limit at the system-wide one. */
TEST_F(vm, max_vcpu_id_fixed_by_first_vcpu)
{
	long fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0, 2));
	EXPECT_EQ(-EINVAL, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0, 0));
	EXPECT_EQ(0, enable_cap(self->vm, KVM_CAP_MAX_VCPU_ID, 0,
				self->max_id));
	close(fd);
	fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, self->max_id - 1);
	ASSERT_LE(0, fd);
	close(fd);
}

TEST_F(vm, vcpu_fd_bad_input)
{
	long fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);

	ASSERT_LE(0, fd);
	/* VM-wide capabilities are not the vCPU's */
	EXPECT_EQ(-EINVAL, enable_cap(fd, KVM_CAP_MAX_VCPU_ID, 0, 2));
	EXPECT_EQ(-EINVAL, enable_cap(fd, 0x7fffffff, 0, 0));
	EXPECT_EQ(-EINVAL, enable_cap(fd, KVM_CAP_USER_MEMORY, 1, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(fd, KVM_ENABLE_CAP, 0));
	close(fd);
}

TEST_HARNESS_MAIN
