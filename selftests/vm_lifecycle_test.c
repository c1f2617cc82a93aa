// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm_lifecycle_test - VMs come and go without leaking, one at a time, many
 * at once, and from two threads racing each other.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_fixture.h"

/* Fewer on a slow test bed (okvm_test_rounds(), $OKVM_TEST_SCALE). */
#define CREATE_CLOSE_ROUNDS	okvm_test_rounds(10000)
#define WARMUP_ROUNDS		okvm_test_rounds(500)
#define THREAD_ROUNDS		okvm_test_rounds(1000)
#define OPEN_AT_ONCE		200
#define VCPU_ROUNDS		okvm_test_rounds(1000)
#define VCPUS_PER_VM		4

/*
 * A VM costs the kernel at least a few hundred bytes, so a leak of one per
 * round would grow kernel memory by megabytes over 10,000 rounds; allocator
 * noise (per-CPU slab caches, lazily freed vmalloc areas) stays well below.
 */
#define LEAK_BUDGET_KB		1024
#define USED_BUDGET_KB		(6 * 1024)

/* Under emulation a round can take a millisecond or more. */
#define SLOW_TEST_SECONDS	600

OKVM_DEV_FIXTURE;

static int create_close(int dev, int rounds)
{
	long vm;
	int i;

	for (i = 0; i < rounds; i++) {
		vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
		if (vm < 0)
			return vm;
		close(vm);
	}
	return 0;
}

TEST_F_TIMEOUT(dev, create_close_10000_without_leak, SLOW_TEST_SECONDS)
{
	int dev = self->fd, fds;
	long before, after;

	/* Let slab caches and the fd table reach their steady size first. */
	ASSERT_EQ(0, create_close(dev, WARMUP_ROUNDS));
	fds = okvm_count_open_fds();
	before = okvm_kernel_memory_kb();
	ASSERT_LE(0, before);

	ASSERT_EQ(0, create_close(dev, CREATE_CLOSE_ROUNDS));

	after = okvm_kernel_memory_kb();
	TH_LOG("kernel memory %ld KiB before, %ld KiB after %d VMs",
	       before, after, CREATE_CLOSE_ROUNDS);
	EXPECT_GT(LEAK_BUDGET_KB, after - before);
	EXPECT_EQ(fds, okvm_count_open_fds());
}

TEST_F_TIMEOUT(dev, many_vms_open_at_once, SLOW_TEST_SECONDS)
{
	int dev = self->fd, fds;
	long vms[OPEN_AT_ONCE];
	int i;

	fds = okvm_count_open_fds();
	for (i = 0; i < OPEN_AT_ONCE; i++) {
		vms[i] = okvm_ioctl(dev, KVM_CREATE_VM, 0);
		ASSERT_LE(0, vms[i]) TH_LOG("VM %d: %s", i, strerror(-vms[i]));
	}
	/* Every one of them is alive and distinct. */
	for (i = 0; i < OPEN_AT_ONCE; i++)
		EXPECT_EQ(1, okvm_ioctl(vms[i], KVM_CHECK_EXTENSION,
					KVM_CAP_CHECK_EXTENSION_VM));
	/* Close in an order unlike creation's. */
	for (i = 0; i < OPEN_AT_ONCE; i += 2)
		close(vms[i]);
	for (i = 1; i < OPEN_AT_ONCE; i += 2)
		close(vms[i]);
	EXPECT_EQ(fds, okvm_count_open_fds());
}

struct racer {
	int dev;
	int result;
};

static void *create_close_thread(void *arg)
{
	struct racer *r = arg;

	r->result = create_close(r->dev, THREAD_ROUNDS);
	return NULL;
}

/* Two threads of one process create and close VMs at the same time. */
TEST_F_TIMEOUT(dev, two_threads_create_and_close, SLOW_TEST_SECONDS)
{
	struct racer racers[2];
	pthread_t threads[2];
	long before, after;
	int dev = self->fd, i;

	ASSERT_EQ(0, create_close(dev, WARMUP_ROUNDS));
	before = okvm_kernel_memory_kb();
	for (i = 0; i < 2; i++) {
		racers[i] = (struct racer){ .dev = dev };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL,
					    create_close_thread, &racers[i]));
	}
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
		EXPECT_EQ(0, racers[i].result) TH_LOG("thread %d: %s", i,
						      strerror(-racers[i].result));
	}
	after = okvm_kernel_memory_kb();
	TH_LOG("kernel memory %ld KiB before, %ld KiB after", before, after);
	EXPECT_GT(LEAK_BUDGET_KB, after - before);
}

struct handoff {
	int dev;
	int pipe[2];
	int result;
};

static void *closer_thread(void *arg)
{
	struct handoff *h = arg;
	int vm;

	while (read(h->pipe[0], &vm, sizeof(vm)) == sizeof(vm)) {
		if (okvm_ioctl(vm, KVM_CHECK_EXTENSION,
			       KVM_CAP_CHECK_EXTENSION_VM) != 1)
			h->result = -EBADF;
		close(vm);
	}
	return NULL;
}

/* One thread creates VMs, another uses and closes them. */
TEST_F_TIMEOUT(dev, create_in_one_thread_close_in_another, SLOW_TEST_SECONDS)
{
	struct handoff h = { .dev = self->fd };
	pthread_t closer;
	long vm;
	int i;

	ASSERT_EQ(0, pipe(h.pipe));
	ASSERT_EQ(0, pthread_create(&closer, NULL, closer_thread, &h));
	for (i = 0; i < THREAD_ROUNDS; i++) {
		int fd;

		vm = okvm_ioctl(h.dev, KVM_CREATE_VM, 0);
		ASSERT_LE(0, vm);
		fd = vm;
		ASSERT_EQ((ssize_t)sizeof(fd), write(h.pipe[1], &fd, sizeof(fd)));
	}
	close(h.pipe[1]);
	ASSERT_EQ(0, pthread_join(closer, NULL));
	EXPECT_EQ(0, h.result);
	close(h.pipe[0]);
}

/*
 * A VM with vCPUs, their kvm_run pages mapped, torn down in the order a VMM
 * exits in (VM fd first, vCPU fds and mappings after): nothing may stay.
 */
static int vm_with_vcpus_round(int dev, long mmap_size)
{
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0), vcpu[VCPUS_PER_VM];
	void *run[VCPUS_PER_VM];
	int i;

	if (vm < 0)
		return vm;
	for (i = 0; i < VCPUS_PER_VM; i++) {
		vcpu[i] = okvm_ioctl(vm, KVM_CREATE_VCPU, i);
		if (vcpu[i] < 0)
			return vcpu[i];
		run[i] = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, vcpu[i], 0);
		if (run[i] == MAP_FAILED)
			return -ENOMEM;
		((struct kvm_run *)run[i])->immediate_exit = 1;
	}
	close(vm);
	for (i = 0; i < VCPUS_PER_VM; i++) {
		close(vcpu[i]);
		munmap(run[i], mmap_size);
	}
	return 0;
}

TEST_F_TIMEOUT(dev, vms_with_vcpus_without_leak, SLOW_TEST_SECONDS)
{
	long mmap_size = okvm_ioctl(self->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	long before, after, used_before, used_after;
	int i, fds;

	ASSERT_LT(0, mmap_size);
	for (i = 0; i < VCPU_ROUNDS / 10; i++)
		ASSERT_EQ(0, vm_with_vcpus_round(self->fd, mmap_size));
	fds = okvm_count_open_fds();
	used_before = okvm_used_memory_kb();
	before = okvm_kernel_memory_kb();
	for (i = 0; i < VCPU_ROUNDS; i++)
		ASSERT_EQ(0, vm_with_vcpus_round(self->fd, mmap_size))
			TH_LOG("round %d", i);
	after = okvm_kernel_memory_kb();
	used_after = okvm_used_memory_kb();
	TH_LOG("kernel memory %ld KiB before, %ld KiB after %d VMs with %d vCPUs",
	       before, after, VCPU_ROUNDS, VCPUS_PER_VM);
	TH_LOG("used memory %ld KiB before, %ld KiB after", used_before,
	       used_after);
	EXPECT_GT(LEAK_BUDGET_KB, after - before);
	/* A leaked page per vCPU would be 16 MiB here. */
	EXPECT_GT(USED_BUDGET_KB, used_after - used_before);
	EXPECT_EQ(fds, okvm_count_open_fds());
}

/*
 * With no free file descriptor KVM_CREATE_VM fails with EMFILE, and the VM
 * it had begun to build is freed again: repeat it and compare memory.
 */
TEST_F_TIMEOUT(dev, create_without_a_free_fd, SLOW_TEST_SECONDS)
{
	struct rlimit saved, tight;
	long before, after, vm;
	int i;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
	tight = saved;
	tight.rlim_cur = okvm_count_open_fds();
	before = okvm_kernel_memory_kb();
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &tight));
	for (i = 0; i < WARMUP_ROUNDS * 4; i++) {
		vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
		if (vm != -EMFILE)
			break;
	}
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &saved));
	EXPECT_EQ(-EMFILE, vm) TH_LOG("round %d", i);
	after = okvm_kernel_memory_kb();
	TH_LOG("kernel memory %ld KiB before, %ld KiB after", before, after);
	EXPECT_GT(LEAK_BUDGET_KB, after - before);
	/* And the device still works. */
	vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	EXPECT_LE(0, vm);
	close(vm);
}

TEST_HARNESS_MAIN
