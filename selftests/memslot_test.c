// SPDX-License-Identifier: GPL-2.0-only
/*
 * memslot_test - KVM_SET_USER_MEMORY_REGION: creating, moving and deleting
 * slots, and every way of getting it wrong, with KVM's errnos.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"

#define MiB (1ul << 20)

FIXTURE(vm) {
	int dev;
	int vm;
	long page;
	void *mem;		/* 4 MiB of anonymous memory to hand out */
};

FIXTURE_SETUP(vm)
{
	self->dev = okvm_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", okvm_dev_path(),
				       strerror(-self->dev));
	self->vm = okvm_ioctl(self->dev, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);
	self->page = sysconf(_SC_PAGESIZE);
	self->mem = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(vm)
{
	munmap(self->mem, 4 * MiB);
	close(self->vm);
	close(self->dev);
}

static long set_region(int vm, __u32 slot, __u32 flags, __u64 gpa, __u64 size,
		       const void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (unsigned long)hva,
	};

	return okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r);
}

TEST_F(vm, create_resubmit_and_delete)
{
	EXPECT_EQ(0, set_region(self->vm, 0, 0, 0, 2 * MiB, self->mem));
	/* The same region again changes nothing and succeeds. */
	EXPECT_EQ(0, set_region(self->vm, 0, 0, 0, 2 * MiB, self->mem));
	EXPECT_EQ(0, set_region(self->vm, 0, 0, 0, 0, self->mem));
	/* Deleting a slot that does not exist. */
	EXPECT_EQ(-EINVAL, set_region(self->vm, 0, 0, 0, 0, self->mem));
	EXPECT_EQ(-EINVAL, set_region(self->vm, 7, 0, 0, 0, NULL));
	/* The id is free again. */
	EXPECT_EQ(0, set_region(self->vm, 0, 0, 4 * MiB, MiB, self->mem));
}

TEST_F(vm, misaligned_or_wrapping_regions)
{
	char *m = self->mem;
	long p = self->page;

	EXPECT_EQ(-EINVAL, set_region(self->vm, 0, 0, p / 2, p, m));
	EXPECT_EQ(-EINVAL, set_region(self->vm, 0, 0, 0, p + 1, m));
	EXPECT_EQ(-EINVAL, set_region(self->vm, 0, 0, 0, p, m + 8));
	EXPECT_EQ(-EINVAL, set_region(self->vm, 0, 0, -(__u64)p, 2 * p, m));
	/* Far beyond any CPU's physical address width. */
	EXPECT_EQ(-EINVAL, set_region(self->vm, 0, 0, 1ull << 60, p, m));
	/* A kernel address is no user memory. */
	EXPECT_EQ(-EINVAL, set_region(self->vm, 0, 0, 0, p,
				      (void *)0xffff888000000000ul));
	/* Memory of 2^31 pages or more in one slot. */
	EXPECT_EQ(-EINVAL, set_region(self->vm, 0, 0, 0, (__u64)p << 31, m));
}

/* User memory need not be mapped when the slot is made, as on KVM. */
TEST_F(vm, unmapped_user_memory_is_accepted)
{
	void *hole = mmap(NULL, MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	ASSERT_NE(MAP_FAILED, hole);
	munmap(hole, MiB);
	EXPECT_EQ(0, set_region(self->vm, 0, 0, 0, MiB, hole));
}

/* Flags no kernel defines fail; so do the ones okvm lacks, unless KVM has them. */
TEST_F(vm, unknown_flags)
{
	static const __u32 flags[] = { 1u << 3, 1u << 15, 1u << 31 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++)
		EXPECT_EQ(-EINVAL, set_region(self->vm, 0, flags[i], 0, MiB,
					      self->mem))
			TH_LOG("flags %#x", flags[i]);
	if (okvm_ioctl(self->dev, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		EXPECT_EQ(-EINVAL, set_region(self->vm, 0, KVM_MEM_READONLY, 0,
					      MiB, self->mem));
}

TEST_F(vm, overlapping_slots_are_refused)
{
	char *m = self->mem;

	ASSERT_EQ(0, set_region(self->vm, 0, 0, 2 * MiB, MiB, m));
	EXPECT_EQ(-EEXIST, set_region(self->vm, 1, 0, 2 * MiB, MiB, m + MiB));
	EXPECT_EQ(-EEXIST, set_region(self->vm, 1, 0, 1 * MiB + self->page,
				      MiB, m + MiB));
	EXPECT_EQ(-EEXIST, set_region(self->vm, 1, 0, 3 * MiB - self->page,
				      2 * self->page, m + MiB));
	EXPECT_EQ(-EEXIST, set_region(self->vm, 1, 0, 0, 4 * MiB, m));
	/* Touching is not overlapping; two slots may share user memory. */
	EXPECT_EQ(0, set_region(self->vm, 1, 0, 1 * MiB, MiB, m + MiB));
	EXPECT_EQ(0, set_region(self->vm, 2, 0, 3 * MiB, MiB, m + MiB));
}

/* A slot may move; its size and user address are fixed. */
TEST_F(vm, move_but_not_resize)
{
	char *m = self->mem;

	ASSERT_EQ(0, set_region(self->vm, 3, 0, 0, MiB, m));
	ASSERT_EQ(0, set_region(self->vm, 4, 0, 2 * MiB, MiB, m + MiB));
	EXPECT_EQ(-EINVAL, set_region(self->vm, 3, 0, 0, 2 * MiB, m));
	EXPECT_EQ(-EINVAL, set_region(self->vm, 3, 0, 0, MiB, m + MiB));
	EXPECT_EQ(0, set_region(self->vm, 3, 0, 8 * MiB, MiB, m));
	/* Moving onto another slot, or partly onto it. */
	EXPECT_EQ(-EEXIST, set_region(self->vm, 3, 0, 2 * MiB, MiB, m));
	EXPECT_EQ(-EEXIST, set_region(self->vm, 3, 0, 3 * MiB - self->page,
				      MiB, m));
	/* Back to where it was, now free. */
	EXPECT_EQ(0, set_region(self->vm, 3, 0, 0, MiB, m));
}

TEST_F(vm, slot_ids_up_to_nr_memslots)
{
	long nr = okvm_ioctl(self->dev, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	long spaces = okvm_ioctl(self->dev, KVM_CHECK_EXTENSION,
				 KVM_CAP_MULTI_ADDRESS_SPACE);
	long p = self->page;

	ASSERT_LT(0, nr);
	EXPECT_EQ(0, set_region(self->vm, nr - 1, 0, 0, p, self->mem));
	EXPECT_EQ(-EINVAL, set_region(self->vm, nr, 0, p, p, self->mem));
	EXPECT_EQ(-EINVAL, set_region(self->vm, 0xffff, 0, p, p, self->mem));
	/* Address-space ids live in the slot's upper half. */
	if (spaces < 1)
		spaces = 1;
	EXPECT_EQ(-EINVAL, set_region(self->vm, spaces << 16, 0, p, p,
				      self->mem));
}

/* Fill many slots, then empty them, in an order unlike creation's. */
TEST_F(vm, many_slots)
{
	long nr = okvm_ioctl(self->dev, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	long p = self->page, i, n = nr < 256 ? nr : 256;

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, set_region(self->vm, i, 0, (n - i) * 2 * p, p,
					self->mem))
			TH_LOG("slot %ld", i);
	for (i = 0; i < n; i += 2)
		EXPECT_EQ(0, set_region(self->vm, i, 0, 0, 0, self->mem));
	for (i = 1; i < n; i += 2)
		EXPECT_EQ(0, set_region(self->vm, i, 0, 0, 0, self->mem));
}

TEST_F(vm, bad_pointer)
{
	char *hole = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, hole);
	/* The struct would straddle into a page that is not mapped. */
	munmap(hole + self->page, self->page);
	EXPECT_EQ(-EFAULT, okvm_ioctl(self->vm, KVM_SET_USER_MEMORY_REGION, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(self->vm, KVM_SET_USER_MEMORY_REGION,
				      (unsigned long)hole + self->page - 8));
	munmap(hole, self->page);
}

TEST_HARNESS_MAIN
