// SPDX-License-Identifier: GPL-2.0-only
/*
 * clock_test - the VM's kvmclock through KVM_GET_CLOCK / KVM_SET_CLOCK:
 * it starts near 0 with the VM, runs at the host's rate, and jumps where
 * KVM_SET_CLOCK puts it (plus the wall time since data.realtime with
 * KVM_CLOCK_REALTIME). KVM_GET_CLOCK's KVM_CLOCK_REALTIME and
 * KVM_CLOCK_HOST_TSC, set, with the host's wall time and TSC, exactly
 * when the host's clocksource is the TSC. Errnos for bad pointers and
 * unknown flags.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
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

static bool host_clocksource_is_tsc(void)
{
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource",
			"r");
	char name[32] = "";

	if (!f)
		return false;
	if (!fgets(name, sizeof(name), f))
		name[0] = 0;
	fclose(f);
	return !strcmp(name, "tsc\n");
}

static inline uint64_t host_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/*
 * KVM reports REALTIME and HOST_TSC when its master clock is in use and
 * the host's clocksource is the TSC, the clock, wall time and TSC of one
 * moment. The master clock needs the vCPUs' TSCs matched (one vCPU is)
 * and is set up by KVM_SET_CLOCK, so the VM gets both first. With the
 * 6.1 L1's hpet neither flag is reported, by KVM nor okvm.
 */
TEST_F(dev, realtime_and_host_tsc_with_a_tsc_clocksource)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	struct kvm_clock_data d = { .clock = 0 };
	const __u32 both = KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	uint64_t r0, r1, t0, t1;
	long vcpu;

	ASSERT_LE(0, vm);
	vcpu = okvm_ioctl(vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, vcpu);
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	r0 = now_ns(CLOCK_REALTIME);
	t0 = host_rdtsc();
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_GET_CLOCK, (unsigned long)&d));
	t1 = host_rdtsc();
	r1 = now_ns(CLOCK_REALTIME);
	if (!host_clocksource_is_tsc()) {
		EXPECT_EQ(0, d.flags & both);
		goto out;
	}
	EXPECT_EQ(both, d.flags & both);
	EXPECT_LE(r0, d.realtime);
	EXPECT_GE(r1, d.realtime);
	EXPECT_LE(t0, d.host_tsc);
	EXPECT_GE(t1, d.host_tsc);
	EXPECT_GT(NSEC, d.clock);
	/* passed back with its realtime: the clock moves on by the time since */
	usleep(200 * 1000);
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d));
	EXPECT_LE(d.clock + 200 * 1000 * 1000, get_clock(_metadata, vm));
out:
	close(vcpu);
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
