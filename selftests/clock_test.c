// SPDX-License-Identifier: GPL-2.0-only
/*
 * clock_test - the VM's kvmclock through KVM_GET_CLOCK / KVM_SET_CLOCK:
 * it starts near 0 with the VM, runs at the host's rate, and jumps where
 * KVM_SET_CLOCK puts it (plus the wall time since data.realtime with
 * KVM_CLOCK_REALTIME). Errnos for bad pointers and unknown flags.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_fixture.h"

#define BAD_PTR		8UL
#define NSEC		1000000000ULL
#define VALID_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | \
			 KVM_CLOCK_HOST_TSC)

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static uint64_t get_clock(struct __test_metadata *_metadata, long vm)
{
	struct kvm_clock_data d;

	memset(&d, 0xff, sizeof(d));
	EXPECT_EQ(0, okvm_ioctl(vm, KVM_GET_CLOCK, (unsigned long)&d));
	EXPECT_EQ(0, d.flags & ~VALID_FLAGS);
	return d.clock;
}

OKVM_DEV_FIXTURE;

TEST_F(dev, starts_near_zero_and_tracks_the_host)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	uint64_t c0, c1, h0, h1;
	double ratio;

	ASSERT_LE(0, vm);
	h0 = now_ns(CLOCK_MONOTONIC);
	c0 = get_clock(_metadata, vm);
	EXPECT_GT(10 * NSEC, c0);
	usleep(1500 * 1000);
	c1 = get_clock(_metadata, vm);
	h1 = now_ns(CLOCK_MONOTONIC);
	ASSERT_LT(c0, c1);
	/* The reads bracket nothing else: within 2% of the host's time. */
	ratio = (double)(c1 - c0) / (h1 - h0);
	EXPECT_TRUE(ratio > 0.98 && ratio < 1.02) TH_LOG("ratio %f", ratio);
	close(vm);
}

TEST_F(dev, set_clock_moves_it)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	struct kvm_clock_data d = { .clock = 1000 * NSEC };
	uint64_t c;

	ASSERT_LE(0, vm);
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	c = get_clock(_metadata, vm);
	EXPECT_LE(1000 * NSEC, c);
	EXPECT_GT(1001 * NSEC, c);

	/* Backwards is allowed too. */
	d.clock = 5 * NSEC;
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	c = get_clock(_metadata, vm);
	EXPECT_LE(5 * NSEC, c);
	EXPECT_GT(6 * NSEC, c);

	/* KVM_CLOCK_REALTIME: the wall time since realtime is added. */
	d.flags = KVM_CLOCK_REALTIME;
	d.clock = 50 * NSEC;
	d.realtime = now_ns(CLOCK_REALTIME) - 3 * NSEC;
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	c = get_clock(_metadata, vm);
	EXPECT_LE(53 * NSEC, c);
	EXPECT_GT(54 * NSEC, c);

	/* A realtime in the future adds nothing. */
	d.clock = 70 * NSEC;
	d.realtime = now_ns(CLOCK_REALTIME) + 100 * NSEC;
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	c = get_clock(_metadata, vm);
	EXPECT_LE(70 * NSEC, c);
	EXPECT_GT(71 * NSEC, c);

	/* What KVM_GET_CLOCK returns is accepted back. */
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_GET_CLOCK, (unsigned long)&d));
	EXPECT_EQ(0, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	close(vm);
}

TEST_F(dev, errors)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	struct kvm_clock_data d = { .clock = 1 };
	unsigned int bit;

	ASSERT_LE(0, vm);
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_GET_CLOCK, BAD_PTR));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_SET_CLOCK, BAD_PTR));
	for (bit = 0; bit < 32; bit++) {
		d.flags = 1u << bit;
		if (d.flags & VALID_FLAGS)
			continue;
		EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SET_CLOCK,
					      (unsigned long)&d))
			TH_LOG("flag bit %u", bit);
	}
	/* A refused set leaves the clock alone (it is not near 1 ns + 0). */
	d.flags = 0;
	d.clock = 500 * NSEC;
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	d.flags = 1;
	d.clock = 0;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	EXPECT_LE(500 * NSEC, get_clock(_metadata, vm));
	close(vm);
}

TEST_HARNESS_MAIN
