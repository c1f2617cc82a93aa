// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmu_pages_test - KVM_SET_NR_MMU_PAGES and KVM_GET_NR_MMU_PAGES: KVM's
 * floor of 64, the default (one page per 50 pages of memory slots, at
 * least 64, recomputed when a slot is created or deleted, 0 before) and a
 * number the VMM chose, which slot changes leave alone.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"

#define MiB	(1UL << 20)

FIXTURE(vm) {
	int dev;
	int vm;
	void *mem;
};

FIXTURE_SETUP(vm)
{
	self->dev = okvm_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", okvm_dev_path(),
				       strerror(-self->dev));
	self->vm = okvm_ioctl(self->dev, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);
	self->mem = mmap(NULL, 128 * MiB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(vm)
{
	munmap(self->mem, 128 * MiB);
	close(self->vm);
	close(self->dev);
}

static long slot(int vm, void *mem, __u32 id, __u64 gpa, __u64 size)
{
	struct kvm_userspace_memory_region r = {
		.slot = id,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (unsigned long)mem,
	};

	return okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r);
}

static long get(int vm)
{
	return okvm_ioctl(vm, KVM_GET_NR_MMU_PAGES, 0);
}

TEST_F(vm, reported)
{
	EXPECT_EQ(1, okvm_ioctl(self->dev, KVM_CHECK_EXTENSION,
				KVM_CAP_MMU_SHADOW_CACHE_CONTROL));
}

TEST_F(vm, default_follows_slots)
{
	EXPECT_EQ(0, get(self->vm));
	/* 64 MiB: 16384 pages, 327 MMU pages. */
	ASSERT_EQ(0, slot(self->vm, self->mem, 0, 0, 64 * MiB));
	EXPECT_EQ(16384 / 50, get(self->vm));
	/* 1 MiB more: 16640 pages. */
	ASSERT_EQ(0, slot(self->vm, (char *)self->mem + 64 * MiB, 1,
			  1UL << 32, MiB));
	EXPECT_EQ(16640 / 50, get(self->vm));
	/* A move changes nothing. */
	ASSERT_EQ(0, slot(self->vm, (char *)self->mem + 64 * MiB, 1,
			  2UL << 32, MiB));
	EXPECT_EQ(16640 / 50, get(self->vm));
	ASSERT_EQ(0, slot(self->vm, self->mem, 0, 0, 0));
	/* 256 pages: the floor. */
	EXPECT_EQ(64, get(self->vm));
	ASSERT_EQ(0, slot(self->vm, self->mem, 1, 2UL << 32, 0));
	EXPECT_EQ(64, get(self->vm));
}

TEST_F(vm, set_and_get)
{
	/* Below KVM's floor of 64: EINVAL, nothing changes. */
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->vm, KVM_SET_NR_MMU_PAGES, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->vm, KVM_SET_NR_MMU_PAGES, 63));
	EXPECT_EQ(0, get(self->vm));
	ASSERT_EQ(0, slot(self->vm, self->mem, 0, 0, 64 * MiB));
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->vm, KVM_SET_NR_MMU_PAGES, 1));
	EXPECT_EQ(16384 / 50, get(self->vm));

	EXPECT_EQ(0, okvm_ioctl(self->vm, KVM_SET_NR_MMU_PAGES, 64));
	EXPECT_EQ(64, get(self->vm));
	EXPECT_EQ(0, okvm_ioctl(self->vm, KVM_SET_NR_MMU_PAGES, 100000));
	EXPECT_EQ(100000, get(self->vm));
	/* The VMM's number stays through slot changes. */
	ASSERT_EQ(0, slot(self->vm, (char *)self->mem + 64 * MiB, 1,
			  1UL << 32, 64 * MiB));
	EXPECT_EQ(100000, get(self->vm));
	ASSERT_EQ(0, slot(self->vm, self->mem, 0, 0, 0));
	EXPECT_EQ(100000, get(self->vm));
}

/* VM ioctls: the vCPU fd does not know them, the system fd neither. */
TEST_F(vm, wrong_fd)
{
	long vcpu = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);

	ASSERT_LE(0, vcpu);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu, KVM_SET_NR_MMU_PAGES, 64));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu, KVM_GET_NR_MMU_PAGES, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->dev, KVM_SET_NR_MMU_PAGES, 64));
	close(vcpu);
}

TEST_HARNESS_MAIN
