// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmclock_test - the guest-visible kvmclock (KVM's
 * Documentation/virt/kvm/x86/msr.rst): a guest enables its
 * pvclock_vcpu_time_info page with MSR_KVM_SYSTEM_TIME_NEW and reads the
 * VM's clock from it and RDTSC with the pvclock formula; the clock runs
 * forward at the host's rate, agrees with KVM_GET_CLOCK and follows
 * KVM_SET_CLOCK; the wall-clock MSR writes the host's boot time;
 * KVM_KVMCLOCK_CTRL sets PVCLOCK_GUEST_STOPPED (EINVAL before the page is
 * enabled); the four MSRs round-trip through KVM_GET/SET_MSRS and are in
 * KVM_GET_MSR_INDEX_LIST.
 *
 * On the Bochs bed (Intel hosts here) time is emulated and runs unevenly
 * against the nested host's clock: the rate check is looser there.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "okvm_fixture.h"
#include "ucall.h"
#include "x86_guest.h"

#define MSR_KVM_WALL_CLOCK	0x11
#define MSR_KVM_SYSTEM_TIME	0x12
#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01
#define PVCLOCK_GUEST_STOPPED	(1 << 1)
#define NSEC			1000000000ULL

/* struct pvclock_vcpu_time_info and pvclock_wall_clock (pvclock-abi.h). */
struct pvti {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

struct wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

/* The guest's pages: identity mapped, so a global's address is its GPA. */
static struct pvti pvti_page __attribute__((aligned(4096)));
static uint8_t cross_page[2 * 4096] __attribute__((aligned(4096)));
static struct wall_clock wc __attribute__((aligned(64)));

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | (uint64_t)hi << 32;
}

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo | (uint64_t)hi << 32;
}

/*
 * The pvclock formula: system_time + scaled TSC delta, retried while the
 * version is odd or changed under the read. *version says which fill of
 * the page the value came from.
 */
static uint64_t pvclock_read(uint32_t *version, uint8_t *flags)
{
	volatile struct pvti *p = &pvti_page;
	uint64_t delta, ns;
	uint32_t v;

	do {
		v = p->version;
		asm volatile("" ::: "memory");
		delta = rdtsc_ordered() - p->tsc_timestamp;
		if (p->shift < 0)
			delta >>= -p->shift;
		else
			delta <<= p->shift;
		ns = p->system_time +
		     (uint64_t)(((unsigned __int128)delta * p->mul) >> 32);
		if (flags)
			*flags = p->flags;
		asm volatile("" ::: "memory");
	} while ((v & 1) || v != p->version);
	if (version)
		*version = v;
	return ns;
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static uint64_t vm_get_clock(struct kvm_vm *vm)
{
	struct kvm_clock_data d = {};

	kvm_ioctl(vm->fd, KVM_GET_CLOCK, &d);
	return d.clock;
}

/* Rate checks: a few percent, more where time is emulated (Bochs). */
static double rate_slack(void)
{
	return okvm_host_is_intel() ? 0.25 : 0.05;
}

/* --- the clock runs, forward, at the host's rate ---------------------- */

/* Backward steps allowed across two fills of the page (no stable bit). */
#define REFILL_SLACK_NS	1000000ULL

static void guest_tracks_host(void)
{
	uint64_t t0, t1, t, prev, reads = 0, refills = 0;
	uint32_t v, prev_v;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&pvti_page | 1);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_SYSTEM_TIME_NEW),
			(uintptr_t)&pvti_page | 1);
	/* Filled before this entry: an even, non-zero version. */
	GUEST_ASSERT(pvti_page.version && !(pvti_page.version & 1));
	GUEST_ASSERT(pvti_page.mul);
	t0 = pvclock_read(NULL, NULL);
	GUEST_SYNC_ARGS(1, t0);
	t1 = pvclock_read(NULL, NULL);
	GUEST_SYNC_ARGS(2, t1);

	/* ~100 ms of reads: never backward while the page stays the same. */
	prev = pvclock_read(&prev_v, NULL);
	do {
		t = pvclock_read(&v, NULL);
		if (v == prev_v)
			GUEST_ASSERT(t >= prev);
		else
			GUEST_ASSERT(t + REFILL_SLACK_NS >= prev);
		refills += v != prev_v;
		prev = t;
		prev_v = v;
		reads++;
	} while (t - t1 < 100000000ULL);
	GUEST_SYNC_ARGS(3, reads, refills);
	GUEST_DONE();
}

TEST(guest_clock_tracks_the_host)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_tracks_host);
	uint64_t h0, h1, c, t0, t1;
	struct ucall uc;
	double ratio;

	ASSERT_SYNC(vcpu, &uc, 1);
	h0 = now_ns(CLOCK_MONOTONIC);
	t0 = uc.args[1];
	/* The VM's clock as KVM_GET_CLOCK reads it, a moment after. */
	c = vm_get_clock(vm);
	EXPECT_LE(t0, c + 1000000) TH_LOG("guest %llu, KVM_GET_CLOCK %llu",
					  (unsigned long long)t0,
					  (unsigned long long)c);
	EXPECT_GT(t0 + NSEC, c) TH_LOG("guest %llu, KVM_GET_CLOCK %llu",
				       (unsigned long long)t0,
				       (unsigned long long)c);
	usleep(1500 * 1000);
	h1 = now_ns(CLOCK_MONOTONIC);
	ASSERT_SYNC(vcpu, &uc, 2);
	t1 = uc.args[1];
	ASSERT_LT(t0, t1);
	ratio = (double)(t1 - t0) / (h1 - h0);
	TH_LOG("guest %llu ns for host %llu ns: ratio %f",
	       (unsigned long long)(t1 - t0), (unsigned long long)(h1 - h0),
	       ratio);
	EXPECT_TRUE(ratio > 1 - rate_slack() && ratio < 1 + rate_slack());

	ASSERT_SYNC(vcpu, &uc, 3);
	TH_LOG("%llu reads, %llu refills", (unsigned long long)uc.args[1],
	       (unsigned long long)uc.args[2]);
	EXPECT_LT(0, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* --- KVM_SET_CLOCK moves what the guest reads ------------------------- */

static void guest_reads_twice(void)
{
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&pvti_page | 1);
	GUEST_SYNC_ARGS(1, pvclock_read(NULL, NULL));
	GUEST_SYNC_ARGS(2, pvclock_read(NULL, NULL));
	GUEST_DONE();
}

TEST(set_clock_moves_the_guest_clock)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_reads_twice);
	struct kvm_clock_data d = {};
	uint64_t t0, t1, c;
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	t0 = uc.args[1];
	d.clock = vm_get_clock(vm) + 1000 * NSEC;
	ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_CLOCK, (uintptr_t)&d));
	c = vm_get_clock(vm);
	ASSERT_SYNC(vcpu, &uc, 2);
	t1 = uc.args[1];
	/* 1000 s later, give or take the time the test itself took. */
	EXPECT_LT(t0 + 1000 * NSEC, t1);
	EXPECT_GT(t0 + 1005 * NSEC, t1);
	/* And in step with KVM_GET_CLOCK from the moment it was set. */
	EXPECT_LE(c, t1 + 1000000);
	EXPECT_GT(c + 5 * NSEC, t1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* --- a move to another host CPU --------------------------------------- */

static void guest_reads_forever(void)
{
	uint32_t v;
	uint64_t t;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&pvti_page | 1);
	for (;;) {
		t = pvclock_read(&v, NULL);
		GUEST_SYNC_ARGS(1, t, v);
	}
}

static void run_on(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
		   int cpu, uint64_t *t, uint32_t *v)
{
	struct ucall uc;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	ASSERT_SYNC(vcpu, &uc, 1);
	*t = uc.args[1];
	*v = uc.args[2];
}

/*
 * The page is refilled when the vCPU runs on another host CPU (okvm has no
 * master clock; KVM refills too without one, not with one), and the clock
 * goes on from where it was.
 */
TEST(cpu_move_keeps_the_clock)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint64_t t0, t1, t2;
	uint32_t v0, v1, v2;
	cpu_set_t all;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	if (!CPU_ISSET(0, &all) || !CPU_ISSET(1, &all))
		SKIP(return, "needs host CPUs 0 and 1");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_reads_forever);
	run_on(_metadata, vcpu, 0, &t0, &v0);
	run_on(_metadata, vcpu, 1, &t1, &v1);
	run_on(_metadata, vcpu, 0, &t2, &v2);
	TH_LOG("versions %u %u %u", v0, v1, v2);
	EXPECT_LE(t0, t1);
	EXPECT_LE(t1, t2);
	EXPECT_GT(t0 + NSEC, t2);
	if (okvm_dev_is_okvm()) {
		EXPECT_NE(v0, v1);
		EXPECT_NE(v1, v2);
	}
	sched_setaffinity(0, sizeof(all), &all);
	kvm_vm_free(vm);
}

/* --- the wall clock --------------------------------------------------- */

static void guest_wall_clock(uint64_t msr)
{
	uint32_t v1;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&pvti_page | 1);
	wc.version = 0;
	wrmsr(msr, (uintptr_t)&wc);
	GUEST_ASSERT_EQ(rdmsr(msr), (uintptr_t)&wc);
	/* Written at once, consistent: even version. */
	v1 = wc.version;
	GUEST_ASSERT(v1 && !(v1 & 1));
	GUEST_SYNC_ARGS(1, wc.sec, wc.nsec, pvclock_read(NULL, NULL));
	/* Each write counts the version on, by 2. */
	wrmsr(msr, (uintptr_t)&wc);
	GUEST_ASSERT_EQ(wc.version, v1 + 2);
	GUEST_DONE();
}

static void check_wall_clock(struct __test_metadata *_metadata, uint64_t msr)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_wall_clock);
	uint64_t boot, real, kvmclock, c;
	int64_t diff;
	struct ucall uc;

	vcpu_args_set(vcpu, 1, msr);
	ASSERT_SYNC(vcpu, &uc, 1);
	real = now_ns(CLOCK_REALTIME);
	c = vm_get_clock(vm);
	boot = uc.args[1] * NSEC + uc.args[2];
	kvmclock = uc.args[3];
	EXPECT_GT(NSEC, uc.args[2]);
	/* Boot time + kvmclock is the time of day, to the test's latency. */
	diff = (int64_t)(boot + kvmclock - real);
	TH_LOG("boot %llu.%09llu, guest's time of day off by %lld ns",
	       (unsigned long long)uc.args[1], (unsigned long long)uc.args[2],
	       (long long)diff);
	EXPECT_GT(diff, -(int64_t)NSEC);
	EXPECT_LT(diff, (int64_t)NSEC);
	/* And the host's boot time of the VM's clock. */
	diff = (int64_t)(real - c - boot);
	EXPECT_GT(diff, -(int64_t)(NSEC / 10));
	EXPECT_LT(diff, (int64_t)(NSEC / 10));
	EXPECT_EQ((uintptr_t)&wc, vcpu_get_msr(vcpu, msr));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(wall_clock_new)
{
	check_wall_clock(_metadata, MSR_KVM_WALL_CLOCK_NEW);
}

TEST(wall_clock_old)
{
	check_wall_clock(_metadata, MSR_KVM_WALL_CLOCK);
}

/* --- KVM_KVMCLOCK_CTRL ------------------------------------------------ */

static void guest_stopped_flag(void)
{
	uint8_t flags;

	GUEST_SYNC(1);
	wrmsr(MSR_KVM_SYSTEM_TIME, (uintptr_t)&pvti_page | 1);
	pvclock_read(NULL, &flags);
	GUEST_SYNC_ARGS(2, flags);
	pvclock_read(NULL, &flags);
	GUEST_SYNC_ARGS(3, flags);
	GUEST_DONE();
}

TEST(kvmclock_ctrl_sets_guest_stopped)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_stopped_flag);
	struct ucall uc;

	EXPECT_EQ(1, ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_KVMCLOCK_CTRL));
	/* Before the guest enables its page: EINVAL, as KVM. */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_KVMCLOCK_CTRL, 0));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_KVMCLOCK_CTRL, 0));
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(0, uc.args[1] & PVCLOCK_GUEST_STOPPED);
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_KVMCLOCK_CTRL, 0));
	ASSERT_SYNC(vcpu, &uc, 3);
	EXPECT_EQ(PVCLOCK_GUEST_STOPPED, uc.args[1] & PVCLOCK_GUEST_STOPPED);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	/* Disabled again by the VMM: EINVAL again. */
	EXPECT_EQ(1, vcpu_set_msr(vcpu, MSR_KVM_SYSTEM_TIME, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_KVMCLOCK_CTRL, 0));
	kvm_vm_free(vm);
}

/* --- MSRs ------------------------------------------------------------- */

TEST(msrs_round_trip_and_are_listed)
{
	static const uint32_t msrs[] = {
		MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME,
		MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW,
	};
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_reads_twice);
	struct kvm_msr_list *list;
	uint32_t i, j, n = 0;

	/* 0 at creation. */
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, vcpu_get_msr(vcpu, msrs[i]));
	for (i = 0; i < 4; i++) {
		uint64_t val = 0x1234567000ULL + 0x100 * i + (i & 1);

		/* Any value from the VMM, even one far outside guest memory. */
		EXPECT_EQ(1, vcpu_set_msr(vcpu, msrs[i], val));
		EXPECT_EQ(val, vcpu_get_msr(vcpu, msrs[i]));
		/* The old and the new MSR of a pair hold one value. */
		EXPECT_EQ(val, vcpu_get_msr(vcpu, msrs[i ^ 2]));
	}

	list = calloc(1, sizeof(*list) + 1024 * sizeof(uint32_t));
	ASSERT_NE(NULL, list);
	list->nmsrs = 1024;
	ASSERT_EQ(0, okvm_ioctl(vm->dev_fd, KVM_GET_MSR_INDEX_LIST,
				(uintptr_t)list));
	for (i = 0; i < 4; i++)
		for (j = 0; j < list->nmsrs; j++)
			n += list->indices[j] == msrs[i];
	EXPECT_EQ(4, n);
	free(list);
	kvm_vm_free(vm);
}

/* A page that would cross into the next page is not written (KVM). */
static void guest_cross_page(void)
{
	uint64_t gpa = (uintptr_t)cross_page + 4096 - 16;

	cross_page[4096 - 16] = 0xa5;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, gpa | 1);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_SYSTEM_TIME_NEW), gpa | 1);
	GUEST_ASSERT_EQ(cross_page[4096 - 16], 0xa5);
	GUEST_ASSERT_EQ(cross_page[4096], 0);
	/* Beyond guest memory: accepted, nothing to write. */
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (1ULL << 39) | 1);
	wrmsr(MSR_KVM_WALL_CLOCK_NEW, 1ULL << 39);
	GUEST_SYNC(1);
	GUEST_DONE();
}

TEST(bad_gpa_is_accepted_and_not_written)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cross_page);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ((1ULL << 39) | 1,
		  vcpu_get_msr(vcpu, MSR_KVM_SYSTEM_TIME_NEW));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
