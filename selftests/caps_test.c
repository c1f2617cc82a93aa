// SPDX-License-Identifier: GPL-2.0-only
/*
 * caps_test - KVM_CHECK_EXTENSION tells the truth.
 *
 * Every capability this test knows has a check of the behaviour it promises;
 * a reported capability must pass its check. okvm promises that it reports
 * nothing it has not verified here, so on okvm an answer this test cannot
 * check is itself a failure; KVM reports far more than okvm implements and
 * its unchecked answers are only listed.
 */
#include <errno.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_fixture.h"

/* The highest capability number asked about; KVM's list ends near 240. */
#define CAP_SCAN_MAX	512

/* A check returns NULL when the behaviour matches, else what went wrong. */
typedef const char *(*cap_check_fn)(int dev, long answer);

/*
 * KVM_CAP_CHECK_EXTENSION_VM: the VM fd answers KVM_CHECK_EXTENSION too,
 * with 0 for what it does not know.
 */
static const char *check_extension_vm(int dev, long answer)
{
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	const char *why = NULL;

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	if (okvm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM) != 1)
		why = "the VM fd does not report KVM_CAP_CHECK_EXTENSION_VM";
	else if (okvm_ioctl(vm, KVM_CHECK_EXTENSION, 0x7fffffff) != 0)
		why = "the VM fd reports an unknown capability";
	close(vm);
	return why;
}

/* KVM_CAP_VM_TYPES: a bit mask that includes the default type. */
static const char *check_vm_types(int dev, long answer)
{
	return answer & 1 ? NULL : "type 0 (KVM_X86_DEFAULT_VM) missing";
}

/*
 * Set one one-page slot in a fresh VM: returns the ioctl's result for
 * (slot, gpa, size), after first creating (first_slot, 0, 4096) when
 * first_slot >= 0; -ENOMEM-like negative values for setup failures.
 */
static long one_page_slot(int dev, long first_slot, __u32 slot, __u64 gpa,
			  __u64 size, long *first_result)
{
	static char page[4096] __attribute__((aligned(4096)));
	struct kvm_userspace_memory_region r = {
		.userspace_addr = (unsigned long)page,
	};
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0), ret;

	if (vm < 0)
		return vm;
	*first_result = 0;
	if (first_slot >= 0) {
		r.slot = first_slot;
		r.memory_size = 4096;
		*first_result = okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION,
					   (unsigned long)&r);
	}
	r.slot = slot;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	ret = okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r);
	close(vm);
	return ret;
}

/* KVM_CAP_USER_MEMORY: a slot can be made and deleted. */
static const char *check_user_memory(int dev, long answer)
{
	long created, deleted = one_page_slot(dev, 0, 0, 0, 0, &created);

	if (created)
		return "creating a slot failed";
	return deleted ? "deleting a slot failed" : NULL;
}

/* KVM_CAP_NR_MEMSLOTS: ids below the answer work, the answer does not. */
static const char *check_nr_memslots(int dev, long answer)
{
	long last, beyond = one_page_slot(dev, answer - 1, answer, 4096, 4096,
					  &last);

	if (last)
		return "the last slot id is refused";
	return beyond != -EINVAL ? "a slot id beyond the count is not EINVAL" : NULL;
}

/*
 * Create vCPUs with ids @first..@last in a fresh VM; return NULL if they
 * all succeed and @beyond (when >= 0) then fails with EINVAL.
 */
static const char *create_vcpus(int dev, long first, long last, long beyond)
{
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0), i, fd;
	const char *why = NULL;

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	for (i = first; i <= last && !why; i++) {
		fd = okvm_ioctl(vm, KVM_CREATE_VCPU, i);
		if (fd < 0)
			why = "a vCPU within the limit was refused";
		else
			close(fd);
	}
	if (!why && beyond >= 0 &&
	    okvm_ioctl(vm, KVM_CREATE_VCPU, beyond) != -EINVAL)
		why = "a vCPU beyond the limit was not EINVAL";
	close(vm);
	return why;
}

/* KVM_CAP_NR_VCPUS: that many vCPUs can be created. */
static const char *check_nr_vcpus(int dev, long answer)
{
	return create_vcpus(dev, 0, answer - 1, -1);
}

/* KVM_CAP_MAX_VCPUS: that many, and not one more (ids permitting). */
static const char *check_max_vcpus(int dev, long answer)
{
	long max_id = okvm_ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);

	return create_vcpus(dev, 0, answer - 1, max_id > answer ? answer : -1);
}

/* KVM_CAP_MAX_VCPU_ID: the highest id is answer - 1. */
static const char *check_max_vcpu_id(int dev, long answer)
{
	return create_vcpus(dev, answer - 1, answer - 1, answer);
}

static const struct {
	long cap;
	const char *name;
	cap_check_fn check;
} checked_caps[] = {
	{ KVM_CAP_CHECK_EXTENSION_VM, "KVM_CAP_CHECK_EXTENSION_VM",
	  check_extension_vm },
	{ KVM_CAP_VM_TYPES, "KVM_CAP_VM_TYPES", check_vm_types },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", check_user_memory },
	{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS", check_nr_memslots },
	{ KVM_CAP_NR_VCPUS, "KVM_CAP_NR_VCPUS", check_nr_vcpus },
	{ KVM_CAP_MAX_VCPUS, "KVM_CAP_MAX_VCPUS", check_max_vcpus },
	{ KVM_CAP_MAX_VCPU_ID, "KVM_CAP_MAX_VCPU_ID", check_max_vcpu_id },
};

static int find_check(long cap)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(checked_caps); i++)
		if (checked_caps[i].cap == cap)
			return i;
	return -1;
}

OKVM_DEV_FIXTURE;

/* No capability number, however wild, is an error: unknown ones are 0. */
TEST_F(dev, every_answer_is_a_count)
{
	static const long wild[] = { -1, -4096, 0x7fffffff, 1l << 40 };
	unsigned int i;
	long cap;

	for (cap = 0; cap < CAP_SCAN_MAX; cap++)
		ASSERT_LE(0, okvm_ioctl(self->fd, KVM_CHECK_EXTENSION, cap))
			TH_LOG("capability %ld", cap);
	for (i = 0; i < ARRAY_SIZE(wild); i++)
		EXPECT_EQ(0, okvm_ioctl(self->fd, KVM_CHECK_EXTENSION, wild[i]))
			TH_LOG("capability %ld", wild[i]);
}

TEST_F(dev, reported_caps_work)
{
	const char *why;
	unsigned int i;
	long answer;

	for (i = 0; i < ARRAY_SIZE(checked_caps); i++) {
		answer = okvm_ioctl(self->fd, KVM_CHECK_EXTENSION,
				    checked_caps[i].cap);
		if (answer <= 0)
			continue;
		why = checked_caps[i].check(self->fd, answer);
		EXPECT_EQ(NULL, why) TH_LOG("%s = %ld: %s", checked_caps[i].name,
					    answer, why);
	}
}

TEST_F(dev, no_unverified_caps)
{
	int unverified = 0;
	long cap, answer;

	for (cap = 0; cap < CAP_SCAN_MAX; cap++) {
		answer = okvm_ioctl(self->fd, KVM_CHECK_EXTENSION, cap);
		if (answer <= 0 || find_check(cap) >= 0)
			continue;
		unverified++;
		if (okvm_dev_is_okvm())
			TH_LOG("okvm reports capability %ld = %ld, which no check covers",
			       cap, answer);
	}
	if (!okvm_dev_is_okvm()) {
		TH_LOG("KVM reports %d capabilities this test does not check",
		       unverified);
		unverified = 0;
	}
	EXPECT_EQ(0, unverified);
}

/* The VM fd answers for the same capabilities, no more generously. */
TEST_F(dev, vm_fd_answers_are_consistent)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	unsigned int i;
	long sys_answer;

	ASSERT_LE(0, vm);
	if (okvm_ioctl(self->fd, KVM_CHECK_EXTENSION,
		       KVM_CAP_CHECK_EXTENSION_VM) <= 0) {
		EXPECT_EQ(-ENOTTY, okvm_ioctl(vm, KVM_CHECK_EXTENSION, 0));
		close(vm);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(checked_caps); i++) {
		sys_answer = okvm_ioctl(self->fd, KVM_CHECK_EXTENSION,
					checked_caps[i].cap);
		EXPECT_EQ(sys_answer != 0,
			  okvm_ioctl(vm, KVM_CHECK_EXTENSION,
				     checked_caps[i].cap) != 0)
			TH_LOG("%s", checked_caps[i].name);
	}
	close(vm);
}

TEST_HARNESS_MAIN
