// SPDX-License-Identifier: GPL-2.0-only
/*
 * memslot_stress_test - deleting, re-adding and moving a memslot never
 * leaves the guest a mapping of a page the VMM process no longer has
 * (issue 9, item 2; design.rst "Slot updates and the MMU notifier").
 *
 * One host thread deletes and re-adds a one-page data slot, and moves it
 * between two GPAs. Another drops the slot's page with MADV_DONTNEED (an
 * MMU-notifier invalidation), writes a new sequence value through the host
 * address (a fresh page), then publishes the same value in a control word
 * of the stable slot 0. A vCPU keeps reading the control word, then the
 * data at the GPA where the slot was put last. Reading the control word
 * first means the data it reads next is that value or a newer one, or zero
 * (a fresh page, or no slot there: the MMIO read is answered with zeros),
 * never an older value: an older one comes from a page MADV_DONTNEED freed,
 * reached through a second-level entry that an invalidation racing with
 * the slot update failed to remove. The guest reports that with a ucall.
 *
 * Then big sparse slots (issue 9, item 9; design.rst "Zapping in bounded
 * steps"): 16 GiB of MAP_NORESERVE memory, one page touched per 2 MiB so
 * that every last-level table exists, then munmap()ed, the slot deleted,
 * or the whole process exiting, while other vCPUs run in guest mode. The
 * zaps walk tens of thousands of tables; they must reschedule as they go
 * and kick the running vCPUs, and the kernel log must show no soft lockup,
 * RCU stall or warning (checked when /dev/kmsg can be read, as root).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define DATA_SLOT	1
#define DATA_GPA	(1ULL << 30)
#define MOVED_GPA	(3ULL << 30)
#define PAGE		4096ULL

/* Data values carry a tag, so that garbage from a reused page shows. */
#define TAG		0xda7aULL
#define VAL(seq)	(TAG << 48 | (seq))
#define SEQ(val)	((val) & ((1ULL << 48) - 1))

/* Slot-0 words shared by the guest and the host threads. */
struct shared {
	uint64_t control;	/* the last value written to the data page */
	uint64_t gpa;		/* where the data slot is, or was last */
	uint64_t stop;		/* the host asks the guest to finish */
	uint64_t seen;		/* the guest's count of data reads so far */
};

static void guest_reader(struct shared *sh)
{
	volatile struct shared *s = sh;
	uint64_t loops = 0, seen = 0;

	/* Kicks must reach it under Bochs too (testing.rst). */
	guest_open_interrupts();
	while (!s->stop) {
		uint64_t gpa = s->gpa;
		uint64_t c = s->control;
		uint64_t d = *(volatile uint64_t *)gpa;

		/* Loads are not reordered with loads (SDM Vol. 3 9.2.2). */
		GUEST_ASSERT_MSG(!d || (d >> 48 == TAG && SEQ(d) >= SEQ(c)),
				 "read 0x%lx at 0x%lx after control 0x%lx",
				 d, gpa, c);
		seen += !!d;
		s->seen = seen;
		loops++;
	}
	GUEST_SYNC_ARGS(1, loops, seen);
	GUEST_DONE();
}

struct stress {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct shared *sh;		/* host view of the slot-0 words */
	volatile uint64_t *data;	/* the data slot's host page */
	volatile uint64_t *decoy;	/* a page in no slot (writer_thread()) */
	struct timespec deadline;
	volatile int stop_writer;
	int rounds;			/* slot updates to make at most */
	/* results */
	int updates;
	uint64_t writes, mmio, loops, seen;
	char err[512];
};

static bool bed_is(const char *name)
{
	const char *bed = getenv("VMTEST_BED");

	return bed && !strcmp(bed, name);
}

static bool past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec ||
	       (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/*
 * Create, move or delete the data slot. The guest reads where the slot
 * was last put, so that it reads RAM but for the update windows.
 */
static int set_slot(struct stress *st, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = DATA_SLOT, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)st->data,
	};

	if (ioctl(st->vm->fd, KVM_SET_USER_MEMORY_REGION, &r))
		return -errno;
	if (size)
		__atomic_store_n(&st->sh->gpa, gpa, __ATOMIC_RELEASE);
	return 0;
}

/*
 * The race ran: the guest read both the data and the hole where no slot
 * was. The slot thread goes on past its rounds until it did, so that a
 * one-CPU bed, where the vCPU runs only when the other threads let it, is
 * not failed by the scheduler.
 */
static bool both_seen(struct stress *st)
{
	return __atomic_load_n(&st->sh->seen, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&st->mmio, __ATOMIC_RELAXED);
}

/* Delete and re-add, move away, move back (one ioctl each), delete, ... */
static void *slot_thread(void *arg)
{
	struct stress *st = arg;
	int i, ret = 0;

	for (i = 0; (i < st->rounds || !both_seen(st)) && !ret &&
		    !past(&st->deadline); i++) {
		switch (i % 4) {
		case 0:
			ret = set_slot(st, DATA_GPA, 0);
			if (!ret)
				ret = set_slot(st, DATA_GPA, PAGE);
			break;
		case 1:
			ret = set_slot(st, MOVED_GPA, PAGE);
			break;
		case 2:
			ret = set_slot(st, DATA_GPA, PAGE);
			break;
		case 3:
			ret = set_slot(st, DATA_GPA, 0);
			/*
			 * Let the vCPU read where no slot is, until it has:
			 * with one CPU it would otherwise hardly ever run in
			 * this window.
			 */
			if (!__atomic_load_n(&st->mmio, __ATOMIC_RELAXED))
				usleep(100);
			if (!ret)
				ret = set_slot(st, MOVED_GPA, PAGE);
			if (!ret)
				ret = set_slot(st, MOVED_GPA, 0);
			if (!ret)
				ret = set_slot(st, DATA_GPA, PAGE);
			break;
		}
	}
	if (ret)
		snprintf(st->err, sizeof(st->err),
			 "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
	st->updates = i;
	return NULL;
}

/*
 * The page allocator hands a page just freed on this CPU to the next
 * allocation here, so the data page MADV_DONTNEED frees would come straight
 * back as the new data page, and a stale mapping of it would read new
 * values. A decoy page freed first and faulted in first takes it instead,
 * and marks it with VAL(0), which the guest knows to be stale.
 */
static void *writer_thread(void *arg)
{
	struct stress *st = arg;
	uint64_t seq;

	for (seq = 1; !st->stop_writer; seq++) {
		if (madvise((void *)st->decoy, PAGE, MADV_DONTNEED) ||
		    madvise((void *)st->data, PAGE, MADV_DONTNEED)) {
			snprintf(st->err, sizeof(st->err), "madvise: %s",
				 strerror(errno));
			break;
		}
		*st->decoy = VAL(0);
		*st->data = VAL(seq);
		__atomic_store_n(&st->sh->control, VAL(seq), __ATOMIC_RELEASE);
	}
	st->writes = seq - 1;
	return NULL;
}

static void *vcpu_thread(void *arg)
{
	struct stress *st = arg;
	struct kvm_run *run = st->vcpu->run;
	struct ucall uc;

	for (;;) {
		int ret = _vcpu_run(st->vcpu);

		if (ret) {
			snprintf(st->err, sizeof(st->err), "KVM_RUN: %s",
				 strerror(-ret));
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write) {
			/* The data slot is not there now: no memory, zeros. */
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
			__atomic_fetch_add(&st->mmio, 1, __ATOMIC_RELAXED);
			continue;
		}
		switch (get_ucall(st->vcpu, &uc)) {
		case UCALL_SYNC:
			st->loops = uc.args[1];
			st->seen = uc.args[2];
			break;
		case UCALL_DONE:
			return NULL;
		default:
			snprintf(st->err, sizeof(st->err), "%s / %s",
				 vcpu_exit_str(st->vcpu), ucall_str(&uc));
			return NULL;
		}
	}
}

TEST(delete_move_vs_invalidate)
{
	pthread_t slots, writer, vcpu;
	struct stress st = {
		/* A few seconds; under Bochs a tenth of the updates. */
		.rounds = okvm_test_rounds(20000),
	};
	uint64_t sh_gpa;

	st.vm = vm_create_guest(0);
	st.vcpu = vm_vcpu_add_guest(st.vm, 0, guest_reader);
	sh_gpa = vm_alloc(st.vm, sizeof(struct shared), 64);
	st.sh = addr_gpa2hva(st.vm, sh_gpa);
	vcpu_args_set(st.vcpu, 1, sh_gpa);
	st.data = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st.data);
	st.decoy = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st.decoy);
	*st.data = VAL(0);
	ASSERT_EQ(0, set_slot(&st, DATA_GPA, PAGE));

	/* Ten seconds: five caught the bug only on a lightly loaded host. */
	clock_gettime(CLOCK_MONOTONIC, &st.deadline);
	st.deadline.tv_sec += 10;
	ASSERT_EQ(0, pthread_create(&vcpu, NULL, vcpu_thread, &st));
	ASSERT_EQ(0, pthread_create(&writer, NULL, writer_thread, &st));
	ASSERT_EQ(0, pthread_create(&slots, NULL, slot_thread, &st));
	ASSERT_EQ(0, pthread_join(slots, NULL));
	st.stop_writer = 1;
	ASSERT_EQ(0, pthread_join(writer, NULL));
	__atomic_store_n(&st.sh->stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(vcpu, NULL));

	TH_LOG("%d slot updates, %llu host writes, %llu guest reads (%llu of data, %llu MMIO)",
	       st.updates, (unsigned long long)st.writes,
	       (unsigned long long)st.loops, (unsigned long long)st.seen,
	       (unsigned long long)st.mmio);
	EXPECT_STREQ("", st.err);
	/* The race was run: all three sides made progress. */
	EXPECT_LT(3, st.updates);
	EXPECT_LT(0, st.writes);
	EXPECT_LT(0, st.mmio);
	/*
	 * In-tree kvm-intel under Bochs answers every read of the data GPA
	 * with an MMIO exit once one read found no slot there, even after
	 * the slot is back (testing.rst, "Bed facts"); the guest reads no
	 * data, so nothing could be stale. okvm must read both.
	 */
	if (okvm_dev_is_okvm() || !bed_is("bochs"))
		EXPECT_LT(0, st.seen);
	munmap((void *)st.data, PAGE);
	munmap((void *)st.decoy, PAGE);
	kvm_vm_free(st.vm);
}

/* --- big sparse slots ------------------------------------------------ */

#define BIG_SLOT	2
#define BIG_GPA		(4ULL << 30)
#define BIG_STEP	(2ULL << 20)	/* one page per last-level table */
#define NR_SPINNERS	2

static void guest_touch(uint64_t start, uint64_t size)
{
	uint64_t a;

	for (a = start; a < start + size; a += BIG_STEP)
		*(volatile uint64_t *)a = a;
	GUEST_DONE();
}

static void guest_spin(uint64_t *stop, uint64_t *count)
{
	guest_open_interrupts();
	while (!*(volatile uint64_t *)stop)
		(*(volatile uint64_t *)count)++;
	GUEST_DONE();
}

struct spinner {
	struct kvm_vcpu *vcpu;
	volatile uint64_t *count;	/* host view of the guest's counter */
	char err[256];
};

static void *spinner_thread(void *arg)
{
	struct spinner *sp = arg;
	struct ucall uc;

	if (vcpu_run_ucall(sp->vcpu, &uc) != UCALL_DONE)
		snprintf(sp->err, sizeof(sp->err), "%s / %s",
			 vcpu_exit_str(sp->vcpu), ucall_str(&uc));
	return NULL;
}

struct big {
	struct kvm_vm *vm;
	uint64_t size;
	void *hva;
	volatile uint64_t *stop;
	struct spinner sp[NR_SPINNERS];
	pthread_t t[NR_SPINNERS];
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * A VM with a big slot whose every 2 MiB has one page mapped, and
 * NR_SPINNERS vCPUs spinning in guest mode in their threads. 0 or an
 * error text.
 */
static const char *big_setup(struct big *b)
{
	static char err[300];
	struct kvm_userspace_memory_region r;
	struct kvm_vcpu *toucher;
	uint64_t stop_gpa;
	struct timespec t0;
	struct ucall uc;
	int i, tries;

	memset(b, 0, sizeof(*b));
	/* 16 GiB; under Bochs (OKVM_TEST_SCALE=10) 1 GiB. */
	b->size = (uint64_t)okvm_test_rounds(16) << 30;
	b->vm = vm_create_guest(0);
	vm_identity_map_above_4g(b->vm, BIG_GPA + b->size);
	b->hva = mmap(NULL, b->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b->hva == MAP_FAILED)
		return "mmap of the big slot failed";
	/* 4 KiB pages: a huge page would need no last-level table. */
	madvise(b->hva, b->size, MADV_NOHUGEPAGE);
	r = (struct kvm_userspace_memory_region){
		.slot = BIG_SLOT, .guest_phys_addr = BIG_GPA,
		.memory_size = b->size, .userspace_addr = (uintptr_t)b->hva,
	};
	if (ioctl(b->vm->fd, KVM_SET_USER_MEMORY_REGION, &r))
		return "KVM_SET_USER_MEMORY_REGION of the big slot failed";

	clock_gettime(CLOCK_MONOTONIC, &t0);
	toucher = vm_vcpu_add_guest(b->vm, 0, guest_touch);
	vcpu_args_set(toucher, 2, BIG_GPA, b->size);
	if (vcpu_run_ucall(toucher, &uc) != UCALL_DONE) {
		snprintf(err, sizeof(err), "toucher: %s / %s",
			 vcpu_exit_str(toucher), ucall_str(&uc));
		return err;
	}
	printf("# %llu pages touched in %.2f s\n",
	       (unsigned long long)(b->size / BIG_STEP), since(&t0));

	stop_gpa = vm_alloc(b->vm, 8, 8);
	b->stop = addr_gpa2hva(b->vm, stop_gpa);
	for (i = 0; i < NR_SPINNERS; i++) {
		struct spinner *sp = &b->sp[i];
		uint64_t count = vm_alloc(b->vm, 8, 8);

		sp->vcpu = vm_vcpu_add_guest(b->vm, 1 + i, guest_spin);
		sp->count = addr_gpa2hva(b->vm, count);
		vcpu_args_set(sp->vcpu, 2, stop_gpa, count);
		if (pthread_create(&b->t[i], NULL, spinner_thread, sp))
			return "pthread_create";
	}
	for (tries = 0; tries < 10000; tries++) {
		for (i = 0; i < NR_SPINNERS && *b->sp[i].count; i++)
			;
		if (i == NR_SPINNERS)
			return NULL;
		usleep(1000);
	}
	return "the spinning vCPUs did not start";
}

/* Stop the spinners: each must have finished cleanly. */
static const char *big_stop(struct big *b)
{
	int i;

	*b->stop = 1;
	for (i = 0; i < NR_SPINNERS; i++) {
		pthread_join(b->t[i], NULL);
		if (b->sp[i].err[0])
			return b->sp[i].err;
	}
	return NULL;
}

/* /dev/kmsg from its end, or -1 where it cannot be read (not root). */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* The first kernel log record since kmsg_open() that names a hang. */
static const char *kmsg_bad(int fd)
{
	static const char *const bad[] = {
		"soft lockup", "self-detected stall", "rcu_sched detected",
		"rcu_preempt detected", "hung_task", "blocked for more than",
		"WARNING:", "BUG:",
	};
	static char rec[1024];
	unsigned int i;
	ssize_t n;

	if (fd < 0)
		return NULL;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: read on */
		if (n <= 0)
			return NULL;
		rec[n] = 0;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(rec, bad[i]))
				return rec;
	}
}

TEST(big_sparse_slot_munmap_and_delete)
{
	struct kvm_userspace_memory_region r = {
		.slot = BIG_SLOT, .guest_phys_addr = BIG_GPA,
	};
	int kmsg = kmsg_open();
	struct timespec t0;
	const char *err;
	struct big b;

	if (kmsg < 0)
		TH_LOG("/dev/kmsg: %s; the kernel log is not checked",
		       strerror(errno));
	err = big_setup(&b);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);

	/* One invalidation over all of it, the vCPUs in guest mode. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, munmap(b.hva, b.size));
	TH_LOG("munmap of %llu GiB: %.2f s",
	       (unsigned long long)(b.size >> 30), since(&t0));

	/* Then the slot update's zap over the same, now empty, tables. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, ioctl(b.vm->fd, KVM_SET_USER_MEMORY_REGION, &r));
	TH_LOG("slot deletion: %.2f s", since(&t0));

	err = big_stop(&b);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	err = kmsg_bad(kmsg);
	EXPECT_EQ(NULL, err) TH_LOG("kernel: %s", err);
	kvm_vm_free(b.vm);
	if (kmsg >= 0)
		close(kmsg);
}

/* The process exits with the slot mapped and vCPUs in guest mode. */
TEST(big_sparse_slot_process_exit)
{
	int kmsg = kmsg_open(), status;
	const char *err;
	pid_t pid;

	if (kmsg < 0)
		TH_LOG("/dev/kmsg: %s; the kernel log is not checked",
		       strerror(errno));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct big b;

		err = big_setup(&b);
		if (err) {
			printf("# child: %s\n", err);
			_exit(1);
		}
		/* Exit with everything in place: the mm goes, then the VM. */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	err = kmsg_bad(kmsg);
	EXPECT_EQ(NULL, err) TH_LOG("kernel: %s", err);
	if (kmsg >= 0)
		close(kmsg);
}

TEST_HARNESS_MAIN
