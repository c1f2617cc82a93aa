// SPDX-License-Identifier: GPL-2.0-only
/*
 * concurrency_test - vCPUs in threads: several VMs with several vCPUs
 * each running at once; a vCPU thread moved between CPUs by another
 * thread while its guest runs; and signals: a signal arriving while the
 * guest spins makes KVM_RUN return -EINTR with KVM_EXIT_INTR (api.rst
 * "KVM_RUN", "KVM_EXIT_INTR"), KVM_SET_SIGNAL_MASK chooses which signals
 * do that (api.rst "KVM_SET_SIGNAL_MASK"), and immediate_exit makes
 * KVM_RUN return -EINTR at once (api.rst, struct kvm_run). And
 * KVM_CREATE_VCPU while other threads call KVM_RUN and KVM_GET_REGS on the
 * fd numbers it is about to return.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define NR_VMS		3
#define NR_VCPUS	2
#define LOOPS		200

/*
 * Each vCPU counts in its own slot-0 word and keeps a private page
 * consistent: it writes i at every 512th qword, reads them back, and
 * syncs every 20 rounds so the host sees progress.
 */
static void guest_count(uint64_t *counter, uint64_t *page, uint64_t loops)
{
	uint64_t i, j;

	for (i = 1; i <= loops; i++) {
		for (j = 0; j < 4096; j += 512)
			((volatile uint64_t *)page)[j] = i + j;
		for (j = 0; j < 4096; j += 512)
			GUEST_ASSERT_EQ(((volatile uint64_t *)page)[j], i + j);
		*(volatile uint64_t *)counter = i;
		if (!(i % 20))
			GUEST_SYNC_ARGS(1, i);
	}
	GUEST_DONE();
}

struct runner {
	struct kvm_vcpu *vcpu;
	uint64_t counter;	/* GPA */
	uint64_t loops;
	uint64_t syncs;
	int done;
	char err[256];
	pid_t tid;
	volatile int started;
};

static void *run_counter(void *arg)
{
	struct runner *r = arg;
	struct ucall uc;

	r->tid = syscall(SYS_gettid);
	r->started = 1;
	for (;;) {
		int ret = _vcpu_run(r->vcpu);

		if (ret) {
			snprintf(r->err, sizeof(r->err), "KVM_RUN: %s",
				 strerror(-ret));
			return NULL;
		}
		switch (get_ucall(r->vcpu, &uc)) {
		case UCALL_SYNC:
			if (uc.args[1] != (r->syncs + 1) * 20) {
				snprintf(r->err, sizeof(r->err),
					 "sync at %llu after %llu syncs",
					 (unsigned long long)uc.args[1],
					 (unsigned long long)r->syncs);
				return NULL;
			}
			r->syncs++;
			break;
		case UCALL_DONE:
			r->done = 1;
			return NULL;
		default:
			snprintf(r->err, sizeof(r->err), "%s / %s",
				 vcpu_exit_str(r->vcpu), ucall_str(&uc));
			return NULL;
		}
	}
}

static void runner_init(struct runner *r, struct kvm_vm *vm, uint32_t id,
			uint64_t loops)
{
	uint64_t page = vm_alloc(vm, 4096 * 8, 4096);

	memset(r, 0, sizeof(*r));
	r->vcpu = vm_vcpu_add_guest(vm, id, guest_count);
	r->counter = vm_alloc(vm, 8, 8);
	r->loops = loops;
	vcpu_args_set(r->vcpu, 3, r->counter, page, loops);
}

TEST(vms_and_vcpus_at_once)
{
	struct kvm_vm *vm[NR_VMS];
	struct runner r[NR_VMS][NR_VCPUS];
	pthread_t t[NR_VMS][NR_VCPUS];
	int i, j;

	for (i = 0; i < NR_VMS; i++) {
		vm[i] = vm_create_guest(0);
		for (j = 0; j < NR_VCPUS; j++)
			runner_init(&r[i][j], vm[i], j, LOOPS);
	}
	for (i = 0; i < NR_VMS; i++)
		for (j = 0; j < NR_VCPUS; j++)
			ASSERT_EQ(0, pthread_create(&t[i][j], NULL,
						    run_counter, &r[i][j]));
	for (i = 0; i < NR_VMS; i++)
		for (j = 0; j < NR_VCPUS; j++)
			ASSERT_EQ(0, pthread_join(t[i][j], NULL));
	for (i = 0; i < NR_VMS; i++) {
		for (j = 0; j < NR_VCPUS; j++) {
			EXPECT_STREQ("", r[i][j].err);
			EXPECT_EQ(1, r[i][j].done);
			EXPECT_EQ(LOOPS / 20, r[i][j].syncs);
			EXPECT_EQ(LOOPS, *(uint64_t *)addr_gpa2hva(vm[i],
							r[i][j].counter));
		}
		kvm_vm_free(vm[i]);
	}
}

/*
 * sched_setaffinity() on the vCPU thread from another thread, flipping
 * between CPU 0 and CPU 1 while the guest runs (KVM reloads the vCPU on
 * the new CPU: the guest must not notice).
 */
TEST(vcpu_thread_migrates_between_cpus)
{
	struct timespec ts = { .tv_nsec = 200 * 1000 };
	struct kvm_vm *vm;
	struct runner r;
	pthread_t t;
	int flips = 0, round;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one CPU: nothing to migrate between");
	/*
	 * How many flips fit in one guest run depends on the load of the
	 * machine running the test VM, so guests run until 20 flips have
	 * happened while one ran (each run checked on its own).
	 */
	for (round = 0; flips < 20 && round < 100; round++) {
		vm = vm_create_guest(0);
		runner_init(&r, vm, 0, 20000);
		ASSERT_EQ(0, pthread_create(&t, NULL, run_counter, &r));
		while (!r.started)
			sched_yield();
		while (!r.done && !r.err[0]) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(flips & 1, &set);
			if (sched_setaffinity(r.tid, sizeof(set), &set))
				break;
			flips++;
			nanosleep(&ts, NULL);
		}
		ASSERT_EQ(0, pthread_join(t, NULL));
		EXPECT_STREQ("", r.err);
		EXPECT_EQ(1, r.done);
		EXPECT_EQ(20000 / 20, r.syncs);
		EXPECT_EQ(20000, *(uint64_t *)addr_gpa2hva(vm, r.counter));
		kvm_vm_free(vm);
	}
	TH_LOG("%d affinity flips while %d guests ran", flips, round);
	EXPECT_LE(20, flips);
}

/* --- signals --------------------------------------------------------- */

static void guest_spin(uint64_t *counter)
{
	guest_open_interrupts();
	for (;;)
		(*(volatile uint64_t *)counter)++;
}

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	signals_seen++;
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A timer signal with a plain handler (no SA_RESTART) while the guest
 * spins: KVM_RUN returns -1/EINTR, exit_reason KVM_EXIT_INTR, and the
 * guest has run meanwhile; KVM_RUN again resumes it.
 */
TEST(timer_signal_interrupts_kvm_run)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct itimerval it = { .it_value = { .tv_usec = 100 * 1000 } };
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_spin);
	uint64_t counter = vm_alloc(vm, 8, 8), before;
	volatile uint64_t *cnt = addr_gpa2hva(vm, counter);
	struct timespec t0;
	int r, i;

	vcpu_args_set(vcpu, 1, counter);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	signals_seen = 0;
	for (i = 0; i < 2; i++) {
		before = *cnt;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
		r = ioctl(vcpu->fd, KVM_RUN, 0);
		EXPECT_EQ(-1, r);
		EXPECT_EQ(EINTR, errno);
		ASSERT_EXIT(vcpu, KVM_EXIT_INTR);
		EXPECT_EQ(i + 1, signals_seen);
		/* Promptly: 100 ms asked, a generous bound under emulation. */
		EXPECT_GT(3000, ms_since(&t0));
		EXPECT_LT(before, *cnt);
	}
	signal(SIGALRM, SIG_DFL);
	kvm_vm_free(vm);
}

/* struct kvm_signal_mask with the kernel's 8-byte sigset right after len. */
struct kvm_sigmask8 {
	uint32_t len;
	uint64_t set;
} __attribute__((packed));

static void set_signal_mask(struct __test_metadata *_metadata,
			    struct kvm_vcpu *vcpu, uint64_t set)
{
	struct kvm_sigmask8 m = { .len = 8, .set = set };

	ASSERT_EQ(0, ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, &m));
}

#define SIGBIT(s)	(1ULL << ((s) - 1))

/*
 * SIGUSR1 blocked in the thread and pending. KVM_SET_SIGNAL_MASK is the
 * mask in force during KVM_RUN: with SIGUSR1 unblocked there, KVM_RUN
 * returns -EINTR (KVM_EXIT_INTR) without running the guest, and the
 * handler runs then; with it blocked there too, the guest runs (to its
 * next ucall) and the signal stays pending.
 */
static void guest_sync_loop(void)
{
	for (;;)
		GUEST_SYNC(1);
}

TEST(signal_mask_during_kvm_run)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_loop);
	struct kvm_sigmask8 bad = { .len = 4 };
	sigset_t block, old, pending, now;
	struct ucall uc;
	int r;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &block, &old));
	signals_seen = 0;
	ASSERT_EQ(0, kill(getpid(), SIGUSR1));

	/* Blocked during KVM_RUN too: the guest runs, still pending. */
	set_signal_mask(_metadata, vcpu, SIGBIT(SIGUSR1));
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_SYNC(vcpu, &uc, 1);
	sigpending(&pending);
	EXPECT_TRUE(sigismember(&pending, SIGUSR1));
	EXPECT_EQ(0, signals_seen);

	/*
	 * Unblocked during KVM_RUN: -EINTR at once. KVM's answer: KVM_RUN
	 * puts the thread's mask back before returning, so the handler
	 * does not run and SIGUSR1 stays pending (and blocked).
	 */
	set_signal_mask(_metadata, vcpu, 0);
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(KVM_EXIT_INTR, vcpu->run->exit_reason);
	EXPECT_EQ(0, signals_seen);
	sigpending(&pending);
	EXPECT_TRUE(sigismember(&pending, SIGUSR1));
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	EXPECT_TRUE(sigismember(&now, SIGUSR1));
	/* So again and again, until the mask blocks it again. */
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EINTR, errno);
	set_signal_mask(_metadata, vcpu, SIGBIT(SIGUSR1));
	ASSERT_SYNC(vcpu, &uc, 1);
	/* Unblocked in the thread: the handler runs now. */
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
	EXPECT_EQ(1, signals_seen);

	/* A len other than the kernel's sigset size is EINVAL. */
	EXPECT_EQ(-1, ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, &bad));
	EXPECT_EQ(EINVAL, errno);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);
	kvm_vm_free(vm);
}

/*
 * immediate_exit = 1: KVM_RUN returns -EINTR without entering the guest.
 * KVM's answer: it leaves exit_reason as it was (no KVM_EXIT_INTR).
 */
TEST(immediate_exit)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_loop);
	struct kvm_regs regs;
	struct ucall uc;
	uint64_t rip;
	int r;

	vcpu_regs_get(vcpu, &regs);
	rip = regs.rip;
	vcpu->run->immediate_exit = 1;
	vcpu->run->exit_reason = 0xdead;
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EINTR, errno);
	TH_LOG("exit_reason after immediate_exit: %s",
	       exit_reason_str(vcpu->run->exit_reason));
	EXPECT_EQ(0xdead, vcpu->run->exit_reason);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(rip, regs.rip);
	vcpu->run->immediate_exit = 0;
	ASSERT_SYNC(vcpu, &uc, 1);
	kvm_vm_free(vm);
}

/*
 * KVM_CREATE_VCPU while other threads call KVM_RUN and KVM_GET_REGS on the
 * fd numbers it is about to return (issue 9, item 5; design.rst "vCPU
 * creation"): a guessed fd is either not open yet (EBADF) or a complete
 * vCPU, whose KVM_RUN halts at the reset vector and whose registers read
 * back. Nothing else, no crash, and the vCPUs work afterwards.
 */
#define HAMMER_THREADS	2
#define RESET_CODE_GPA	0xffff0000ULL	/* CS base at reset: F000:FFF0 */
#define RESET_CODE_SIZE	0x10000ULL

struct hammer {
	volatile int *stop;
	int base;		/* the first fd number KVM_CREATE_VCPU returns */
	unsigned long runs, regs, ebadf;
	volatile unsigned long passes;	/* sweeps over the fd range done */
	char err[256];
};

static void hammer_note(struct hammer *h, const char *what, int fd, long r)
{
	if (!h->err[0])
		snprintf(h->err, sizeof(h->err), "%s on fd %d: %ld (%s)",
			 what, fd, r, r < 0 ? strerror(errno) : "");
}

static void *hammer_fds(void *arg)
{
	struct hammer *h = arg;
	struct kvm_regs regs;
	int fd;
	long r;

	while (!*h->stop) {
		for (fd = h->base; fd < h->base + KVM_VM_MAX_VCPUS; fd++) {
			r = ioctl(fd, KVM_GET_REGS, &regs);
			if (!r)
				h->regs++;
			else if (errno == EBADF)
				h->ebadf++;
			else
				hammer_note(h, "KVM_GET_REGS", fd, r);
			r = ioctl(fd, KVM_RUN, 0);
			if (!r)
				h->runs++;
			else if (errno != EBADF)
				hammer_note(h, "KVM_RUN", fd, r);
		}
		h->passes++;
	}
	return NULL;
}

/*
 * Wait until every hammer has swept the fd range once more: on one CPU
 * (kvm-intel's Bochs tier) the creating thread may otherwise finish
 * before a hammer ever ran.
 */
static void hammers_sweep(struct hammer *h, int n)
{
	unsigned long start[HAMMER_THREADS];
	int i;

	for (i = 0; i < n; i++)
		start[i] = h[i].passes;
	for (i = 0; i < n; i++)
		while (h[i].passes < start[i] + 2)
			sched_yield();
}

TEST(create_vcpu_while_its_fd_is_hammered)
{
	int round, rounds = okvm_test_rounds(30);
	unsigned long runs = 0, regs = 0, ebadf = 0;

	for (round = 0; round < rounds; round++) {
		struct kvm_vm *vm = vm_create_bare();
		struct hammer h[HAMMER_THREADS];
		pthread_t t[HAMMER_THREADS];
		volatile int stop = 0;
		int i, base;
		void *code;

		/* At the reset vector: 1: hlt; jmp 1b. Every KVM_RUN halts. */
		code = vm_add_mem_slot(vm, 0, RESET_CODE_GPA, RESET_CODE_SIZE, 0);
		memcpy((char *)code + 0xfff0, "\xf4\xeb\xfd", 3);
		/* The lowest free fd is the next vCPU's. */
		base = dup(0);
		ASSERT_LE(0, base);
		close(base);
		for (i = 0; i < HAMMER_THREADS; i++) {
			h[i] = (struct hammer){ .stop = &stop, .base = base };
			ASSERT_EQ(0, pthread_create(&t[i], NULL, hammer_fds,
						    &h[i]));
		}
		/* Every hammer at work on the free fd numbers first... */
		hammers_sweep(h, HAMMER_THREADS);
		for (i = 0; i < KVM_VM_MAX_VCPUS; i++) {
			struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, i);

			ASSERT_EQ(base + i, vcpu->fd);
		}
		/* ...and on the vCPUs once they all exist. */
		hammers_sweep(h, HAMMER_THREADS);
		stop = 1;
		for (i = 0; i < HAMMER_THREADS; i++) {
			ASSERT_EQ(0, pthread_join(t[i], NULL));
			EXPECT_STREQ("", h[i].err);
			runs += h[i].runs;
			regs += h[i].regs;
			ebadf += h[i].ebadf;
		}
		/* The VM is intact: every vCPU reads its state and runs. */
		for (i = 0; i < KVM_VM_MAX_VCPUS; i++) {
			struct kvm_vcpu *vcpu = vm->vcpus[i];
			struct kvm_regs r;

			ASSERT_EQ(0, ioctl(vcpu->fd, KVM_GET_REGS, &r));
			ASSERT_EQ(0, ioctl(vcpu->fd, KVM_RUN, 0));
			ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
		}
		kvm_vm_free(vm);
	}
	TH_LOG("%d rounds: %lu KVM_RUN and %lu KVM_GET_REGS answered, %lu EBADF",
	       rounds, runs, regs, ebadf);
	/* The hammers did run against the fds, before and after creation. */
	EXPECT_LT(0, ebadf);
	EXPECT_LT(0, regs);
}

TEST_HARNESS_MAIN
