// SPDX-License-Identifier: GPL-2.0-only
/*
 * memory_test - the guest always sees the bytes the VMM process sees at a
 * slot's host addresses (api.rst "KVM_SET_USER_MEMORY_REGION": "the memory
 * ... is reflected into the guest", and KVM follows the host's mm through
 * MMU notifiers): writes from either side after the other touched the
 * page; new memory mapped over the range (MAP_FIXED); MADV_DONTNEED;
 * the range moved away with mremap (KVM_RUN fails with EFAULT) and back;
 * pages copied by THP collapse; fork() with the child writing its
 * copy-on-write copy; KSM merging; and the slot itself deleted while a
 * vCPU runs, or moved to another GPA.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_guest.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
/* api.rst "KVM_CAP_MEMORY_FAULT_INFO", newer than Debian 12's headers. */
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif

#define TEST_SLOT	1
#define TEST_GPA	(1ULL << 30)
#define TEST_SIZE	(2ULL << 20)
#define PAGE		4096ULL

/* --- the guest: a loop of reads and writes the host asks for ---------- */

enum mem_op { OP_READ = 1, OP_WRITE, OP_SUM, OP_FILL };

struct mbox {
	uint64_t op, addr, val, len;
};

static struct mbox mbox;

static void guest_mem_loop(void)
{
	volatile struct mbox *m = &mbox;

	for (;;) {
		uint64_t r = 0, i;

		switch (m->op) {
		case OP_READ:
			r = *(volatile uint64_t *)m->addr;
			break;
		case OP_WRITE:
			*(volatile uint64_t *)m->addr = m->val;
			break;
		case OP_SUM:	/* the first qword of each page */
			for (i = 0; i < m->len; i += PAGE)
				r += *(volatile uint64_t *)(m->addr + i);
			break;
		case OP_FILL:
			for (i = 0; i < m->len; i += PAGE)
				*(volatile uint64_t *)(m->addr + i) =
					m->val + i;
			break;
		}
		GUEST_SYNC_ARGS(1, r);
	}
}

/* Post an op and run the guest until it has done it. */
static uint64_t guest_op(struct kvm_vcpu *vcpu, enum mem_op op,
			 uint64_t addr, uint64_t val, uint64_t len)
{
	struct mbox *m = addr_gva2hva(vcpu->vm, &mbox);
	struct ucall uc;

	m->op = op;
	m->addr = addr;
	m->val = val;
	m->len = len;
	if (vcpu_run_ucall(vcpu, &uc) != UCALL_SYNC) {
		errno = 0;
		kvm_die("guest: %s", ucall_str(&uc));
	}
	return uc.args[1];
}

static uint64_t guest_read(struct kvm_vcpu *vcpu, uint64_t gpa)
{
	return guest_op(vcpu, OP_READ, gpa, 0, 0);
}

static void guest_write(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t val)
{
	guest_op(vcpu, OP_WRITE, gpa, val, 0);
}

/* --- slots with memory the test maps itself -------------------------- */

/* Register [hva, hva + size) as slot at gpa, in the library's books too. */
static void slot_set(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		     uint64_t size, void *hva)
{
	struct kvm_mem_slot *s = &vm->slots[slot];

	s->region = (struct kvm_userspace_memory_region){
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
	kvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &s->region);
	s->hva = size ? hva : NULL;
}

/* Anonymous private memory aligned to 2 MiB (THP-able), size bytes. */
static void *map_aligned(uint64_t size)
{
	uint8_t *p = mmap(NULL, size + TEST_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + TEST_SIZE - 1) & ~(TEST_SIZE - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + size, p + size + TEST_SIZE - (a + size));
	return a;
}

FIXTURE(mem) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint8_t *hva;		/* slot TEST_SLOT: TEST_GPA, TEST_SIZE */
};

FIXTURE_SETUP(mem)
{
	self->vm = vm_create_guest(0);
	self->vcpu = vm_vcpu_add_guest(self->vm, 0, guest_mem_loop);
	self->hva = map_aligned(TEST_SIZE);
	ASSERT_NE(NULL, self->hva);
	slot_set(self->vm, TEST_SLOT, TEST_GPA, TEST_SIZE, self->hva);
}

FIXTURE_TEARDOWN(mem)
{
	kvm_vm_free(self->vm);
}

static uint64_t host_q(FIXTURE_DATA(mem) *self, uint64_t off)
{
	return *(volatile uint64_t *)(self->hva + off);
}

static void host_set_q(FIXTURE_DATA(mem) *self, uint64_t off, uint64_t v)
{
	*(volatile uint64_t *)(self->hva + off) = v;
}

TEST_F(mem, writes_seen_both_ways)
{
	uint64_t i, sum = 0;

	guest_op(self->vcpu, OP_FILL, TEST_GPA, 0x1000000, TEST_SIZE);
	for (i = 0; i < TEST_SIZE; i += PAGE)
		ASSERT_EQ(0x1000000 + i, host_q(self, i)) TH_LOG("page %llu",
			(unsigned long long)(i / PAGE));
	/* The guest has every page mapped now; the host rewrites them. */
	for (i = 0; i < TEST_SIZE; i += PAGE) {
		host_set_q(self, i, i * 3 + 1);
		sum += i * 3 + 1;
	}
	EXPECT_EQ(sum, guest_op(self->vcpu, OP_SUM, TEST_GPA, 0, TEST_SIZE));
	host_set_q(self, 0x1238, 0xabcdef);
	EXPECT_EQ(0xabcdef, guest_read(self->vcpu, TEST_GPA + 0x1238));
	guest_write(self->vcpu, TEST_GPA + 0x1238, 0x123456);
	EXPECT_EQ(0x123456, host_q(self, 0x1238));
}

/* New memory mapped over the slot's HVA: the guest sees it, not the old. */
TEST_F(mem, mmap_fixed_over_the_slot)
{
	void *p;
	int fd;
	uint64_t i;

	guest_op(self->vcpu, OP_FILL, TEST_GPA, 0x77000000, TEST_SIZE);
	p = mmap(self->hva, TEST_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(self->hva, p);
	/* Fresh anonymous memory reads as zeros. */
	EXPECT_EQ(0, guest_op(self->vcpu, OP_SUM, TEST_GPA, 0, TEST_SIZE));
	host_set_q(self, 2 * PAGE, 0x5555);
	EXPECT_EQ(0x5555, guest_read(self->vcpu, TEST_GPA + 2 * PAGE));
	guest_write(self->vcpu, TEST_GPA + 3 * PAGE, 0x6666);
	EXPECT_EQ(0x6666, host_q(self, 3 * PAGE));

	/* A shared file mapping (memfd) with contents of its own. */
	fd = memfd_create("memory_test", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, TEST_SIZE));
	for (i = 0; i < TEST_SIZE / PAGE; i++) {
		uint64_t v = 0xf11e000000ULL + i;

		ASSERT_EQ(8, pwrite(fd, &v, 8, i * PAGE));
	}
	p = mmap(self->hva, TEST_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	ASSERT_EQ(self->hva, p);
	EXPECT_EQ(0xf11e000000ULL + 5, guest_read(self->vcpu,
						   TEST_GPA + 5 * PAGE));
	guest_write(self->vcpu, TEST_GPA + 7 * PAGE, 0xd00d);
	{
		uint64_t v = 0;

		ASSERT_EQ(8, pread(fd, &v, 8, 7 * PAGE));
		EXPECT_EQ(0xd00d, v);
	}
	/* The file changed behind the mapping: the guest sees it. */
	{
		uint64_t v = 0xbeef;

		ASSERT_EQ(8, pwrite(fd, &v, 8, 9 * PAGE));
		EXPECT_EQ(0xbeef, guest_read(self->vcpu, TEST_GPA + 9 * PAGE));
	}
	close(fd);
}

TEST_F(mem, madv_dontneed_gives_zeros)
{
	guest_op(self->vcpu, OP_FILL, TEST_GPA, 0x42, TEST_SIZE);
	ASSERT_EQ(0, madvise(self->hva + 4 * PAGE, 4 * PAGE, MADV_DONTNEED));
	EXPECT_EQ(0x42 + 3 * PAGE, guest_read(self->vcpu, TEST_GPA + 3 * PAGE));
	EXPECT_EQ(0, guest_read(self->vcpu, TEST_GPA + 4 * PAGE));
	EXPECT_EQ(0, guest_read(self->vcpu, TEST_GPA + 7 * PAGE));
	EXPECT_EQ(0x42 + 8 * PAGE, guest_read(self->vcpu, TEST_GPA + 8 * PAGE));
	/* And the whole range. */
	ASSERT_EQ(0, madvise(self->hva, TEST_SIZE, MADV_DONTNEED));
	EXPECT_EQ(0, guest_op(self->vcpu, OP_SUM, TEST_GPA, 0, TEST_SIZE));
}

/*
 * mremap() the pages away: the slot's HVA range is unmapped, so a guest
 * access fails KVM_RUN with EFAULT. mremap() them back: the
 * guest sees the same bytes and runs on.
 */
TEST_F(mem, mremap_away_and_back)
{
	struct kvm_run *run = self->vcpu->run;
	struct ucall uc;
	uint8_t *tmp;
	void *p;
	int r;

	guest_op(self->vcpu, OP_FILL, TEST_GPA, 0x3300, TEST_SIZE);
	tmp = map_aligned(TEST_SIZE);
	ASSERT_NE(NULL, tmp);
	p = mremap(self->hva, TEST_SIZE, TEST_SIZE,
		   MREMAP_MAYMOVE | MREMAP_FIXED, tmp);
	ASSERT_EQ(tmp, p);
	EXPECT_EQ(0x3300 + 6 * PAGE, *(uint64_t *)(tmp + 6 * PAGE));

	((struct mbox *)addr_gva2hva(self->vm, &mbox))->op = OP_READ;
	((struct mbox *)addr_gva2hva(self->vm, &mbox))->addr =
		TEST_GPA + 6 * PAGE;
	r = _vcpu_run(self->vcpu);
	EXPECT_EQ(-EFAULT, r) TH_LOG("exit %s", vcpu_exit_str(self->vcpu));
	/*
	 * KVM's answer: even where KVM_CAP_MEMORY_FAULT_INFO is reported
	 * (6.12), an HVA with no mapping is a bare EFAULT, not
	 * KVM_EXIT_MEMORY_FAULT: exit_reason reads KVM_EXIT_UNKNOWN.
	 * Without the capability it is stale (api.rst), so not checked.
	 */
	if (ioctl(self->vm->dev_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_MEMORY_FAULT_INFO) > 0)
		EXPECT_EQ(KVM_EXIT_UNKNOWN, run->exit_reason);
	/* Nothing changed: the same again. */
	EXPECT_EQ(-EFAULT, _vcpu_run(self->vcpu));

	p = mremap(tmp, TEST_SIZE, TEST_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		   self->hva);
	ASSERT_EQ(self->hva, p);
	ASSERT_SYNC(self->vcpu, &uc, 1);
	EXPECT_EQ(0x3300 + 6 * PAGE, uc.args[1]);
	EXPECT_EQ(0x3300 + 12 * PAGE,
		  guest_op(self->vcpu, OP_READ, TEST_GPA + 12 * PAGE, 0, 0));
}

/* PFN of a host page from /proc/self/pagemap (root sees PFNs); 0 if not. */
static uint64_t host_pfn(void *va)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)va / PAGE * 8) != 8)
		e = 0;
	close(fd);
	return (e >> 63) ? e & ((1ULL << 55) - 1) : 0;
}

/*
 * MADV_COLLAPSE copies 512 small pages into a new huge page (a migration
 * the process asks for): the guest must follow to the new pages.
 */
TEST_F(mem, thp_collapse_moves_the_pages)
{
	uint64_t i, sum = 0, pfn_before, pfn_after;

	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK))
		SKIP(return, "no transparent huge pages in this kernel");
	/* Small pages first: no THP for the range while it is populated. */
	ASSERT_EQ(0, madvise(self->hva, TEST_SIZE, MADV_NOHUGEPAGE));
	for (i = 0; i < TEST_SIZE; i += PAGE) {
		host_set_q(self, i, 0x7700 + i);
		sum += 0x7700 + i;
	}
	EXPECT_EQ(sum, guest_op(self->vcpu, OP_SUM, TEST_GPA, 0, TEST_SIZE));
	pfn_before = host_pfn(self->hva + 5 * PAGE);

	ASSERT_EQ(0, madvise(self->hva, TEST_SIZE, MADV_HUGEPAGE));
	if (madvise(self->hva, TEST_SIZE, MADV_COLLAPSE))
		SKIP(return, "MADV_COLLAPSE: %s", strerror(errno));
	pfn_after = host_pfn(self->hva + 5 * PAGE);
	TH_LOG("pfn of page 5: 0x%llx -> 0x%llx",
	       (unsigned long long)pfn_before, (unsigned long long)pfn_after);
	EXPECT_NE(pfn_before, pfn_after);

	EXPECT_EQ(sum, guest_op(self->vcpu, OP_SUM, TEST_GPA, 0, TEST_SIZE));
	guest_write(self->vcpu, TEST_GPA + 5 * PAGE, 0xc011a95e);
	EXPECT_EQ(0xc011a95e, host_q(self, 5 * PAGE));
	host_set_q(self, 6 * PAGE, 0x600d);
	EXPECT_EQ(0x600d, guest_read(self->vcpu, TEST_GPA + 6 * PAGE));
}

/*
 * fork() makes the slot's pages copy-on-write in both processes. What the
 * child writes to its copy must not reach the guest; what the guest
 * writes must reach the parent (the VMM) and not the child.
 */
static pid_t fork_child(int *to_child, int *from_child, uint8_t *hva,
			uint64_t off, uint64_t child_val)
{
	int a[2], b[2];
	pid_t pid;

	if (pipe(a) || pipe(b))
		return -1;
	pid = fork();
	if (!pid) {
		uint64_t v;
		char c;

		close(a[1]);
		close(b[0]);
		/* Wait for the go, write (if asked), report the copy. */
		if (read(a[0], &c, 1) != 1)
			_exit(1);
		if (child_val)
			*(volatile uint64_t *)(hva + off) = child_val;
		v = *(volatile uint64_t *)(hva + off);
		if (write(b[1], &v, 8) != 8)
			_exit(1);
		/* Once more on request, to see the copy after the guest ran. */
		if (read(a[0], &c, 1) != 1)
			_exit(1);
		v = *(volatile uint64_t *)(hva + off);
		if (write(b[1], &v, 8) != 8)
			_exit(1);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	*to_child = a[1];
	*from_child = b[0];
	return pid;
}

static uint64_t ask_child(int to, int from)
{
	uint64_t v = 0;

	if (write(to, "x", 1) != 1 || read(from, &v, 8) != 8)
		return ~0ULL;
	return v;
}

TEST_F(mem, fork_child_writes_its_copy)
{
	int to, from, status;
	pid_t pid;

	guest_write(self->vcpu, TEST_GPA + PAGE, 0xaaaa);
	pid = fork_child(&to, &from, self->hva, PAGE, 0xc41d);
	ASSERT_LT(0, pid);
	EXPECT_EQ(0xc41d, ask_child(to, from));
	/* The child's write went to its copy. */
	EXPECT_EQ(0xaaaa, host_q(self, PAGE));
	EXPECT_EQ(0xaaaa, guest_read(self->vcpu, TEST_GPA + PAGE));
	guest_write(self->vcpu, TEST_GPA + PAGE, 0xbbbb);
	EXPECT_EQ(0xbbbb, host_q(self, PAGE));
	EXPECT_EQ(0xc41d, ask_child(to, from));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(to);
	close(from);
}

TEST_F(mem, fork_guest_writes_first)
{
	int to, from, status;
	pid_t pid;

	guest_write(self->vcpu, TEST_GPA + PAGE, 0xaaaa);
	pid = fork_child(&to, &from, self->hva, PAGE, 0);
	ASSERT_LT(0, pid);
	/* The page is shared with the child now: the guest writes it. */
	guest_write(self->vcpu, TEST_GPA + PAGE, 0xbbbb);
	EXPECT_EQ(0xbbbb, host_q(self, PAGE));
	EXPECT_EQ(0xaaaa, ask_child(to, from));
	host_set_q(self, PAGE, 0xcccc);
	EXPECT_EQ(0xcccc, guest_read(self->vcpu, TEST_GPA + PAGE));
	EXPECT_EQ(0xaaaa, ask_child(to, from));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(to);
	close(from);
}

/* KSM: pages merged into one shared copy, then written by the guest. */
static long ksm_read(const char *name)
{
	char path[128], buf[32] = "";
	long v = -1;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtol(buf, NULL, 10);
	close(fd);
	return v;
}

static bool ksm_write(const char *name, const char *val)
{
	char path[128];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

#define KSM_PAGES	64

TEST_F(mem, ksm_merged_pages)
{
	struct timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	long sharing = 0, scans;
	uint64_t i;
	int tries;

	if (access("/sys/kernel/mm/ksm/run", W_OK))
		SKIP(return, "no KSM in this kernel");
	/* KSM pages: identical, non-zero. */
	for (i = 0; i < KSM_PAGES * PAGE; i += 8)
		host_set_q(self, i, 0x6b736d6b736d0000ULL | (i % PAGE));
	EXPECT_EQ(KSM_PAGES * 0x6b736d6b736d0000ULL,
		  guest_op(self->vcpu, OP_SUM, TEST_GPA, 0, KSM_PAGES * PAGE));
	ASSERT_EQ(0, madvise(self->hva, KSM_PAGES * PAGE, MADV_MERGEABLE));
	ASSERT_TRUE(ksm_write("sleep_millisecs", "0"));
	ASSERT_TRUE(ksm_write("pages_to_scan", "10000"));
	ASSERT_TRUE(ksm_write("run", "1"));
	scans = ksm_read("full_scans");
	for (tries = 0; tries < 250; tries++) {
		sharing = ksm_read("pages_sharing");
		if (sharing >= KSM_PAGES - 1 &&
		    ksm_read("full_scans") >= scans + 2)
			break;
		nanosleep(&ts, NULL);
	}
	TH_LOG("pages_sharing %ld after %d polls", sharing, tries);
	EXPECT_LE(KSM_PAGES - 1, sharing);

	/* The guest reads the merged pages, then writes one. */
	EXPECT_EQ(KSM_PAGES * 0x6b736d6b736d0000ULL,
		  guest_op(self->vcpu, OP_SUM, TEST_GPA, 0, KSM_PAGES * PAGE));
	guest_write(self->vcpu, TEST_GPA + 3 * PAGE, 0x1111);
	EXPECT_EQ(0x1111, host_q(self, 3 * PAGE));
	EXPECT_EQ(0x6b736d6b736d0000ULL, host_q(self, 4 * PAGE));
	EXPECT_EQ(0x6b736d6b736d0000ULL,
		  guest_read(self->vcpu, TEST_GPA + 4 * PAGE));
	/* And the host writes one: the guest sees it, the others stay. */
	host_set_q(self, 5 * PAGE, 0x2222);
	EXPECT_EQ(0x2222, guest_read(self->vcpu, TEST_GPA + 5 * PAGE));
	EXPECT_EQ(0x6b736d6b736d0000ULL,
		  guest_read(self->vcpu, TEST_GPA + 6 * PAGE));
	ksm_write("run", "2");	/* unmerge everything, stop */
}

/* Moving a slot: delete it, add it again at another GPA, same memory. */
#define MOVED_GPA	(3ULL << 30)

TEST_F(mem, move_slot)
{
	struct kvm_run *run = self->vcpu->run;
	struct mbox *m = addr_gva2hva(self->vm, &mbox);

	guest_write(self->vcpu, TEST_GPA + 8 * PAGE, 0x0123);
	slot_set(self->vm, TEST_SLOT, TEST_GPA, 0, self->hva);
	slot_set(self->vm, TEST_SLOT, MOVED_GPA, TEST_SIZE, self->hva);
	EXPECT_EQ(0x0123, guest_read(self->vcpu, MOVED_GPA + 8 * PAGE));
	guest_write(self->vcpu, MOVED_GPA + 9 * PAGE, 0x4567);
	EXPECT_EQ(0x4567, host_q(self, 9 * PAGE));

	/* The old GPA is in no slot now: MMIO. */
	m->op = OP_READ;
	m->addr = TEST_GPA + 8 * PAGE;
	vcpu_run(self->vcpu);
	ASSERT_EXIT(self->vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(TEST_GPA + 8 * PAGE, run->mmio.phys_addr);
	EXPECT_EQ(8, run->mmio.len);
	EXPECT_EQ(0, run->mmio.is_write);
	memset(run->mmio.data, 0x11, 8);
	{
		struct ucall uc;

		ASSERT_SYNC(self->vcpu, &uc, 1);
		EXPECT_EQ(0x1111111111111111ULL, uc.args[1]);
	}
}

/*
 * Deleting a slot while a vCPU thread runs a guest loop reading it: KVM
 * kicks the vCPU out of the guest, and its next read is MMIO.
 */
static void guest_spin_read(uint64_t addr, uint64_t *counter)
{
	guest_open_interrupts();
	for (;;) {
		(void)*(volatile uint64_t *)addr;
		(*(volatile uint64_t *)counter)++;
	}
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	return (void *)(intptr_t)_vcpu_run(vcpu);
}

TEST(delete_slot_while_running)
{
	struct timespec ts = { .tv_nsec = 5 * 1000 * 1000 };
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_spin_read);
	uint64_t counter = vm_alloc(vm, 8, 8);
	volatile uint64_t *cnt = addr_gpa2hva(vm, counter);
	struct kvm_userspace_memory_region del;
	void *ret;
	pthread_t t;
	int i;

	vm_add_mem_slot(vm, TEST_SLOT, TEST_GPA, TEST_SIZE, 0);
	vcpu_args_set(vcpu, 2, TEST_GPA + 0x2340, counter);
	ASSERT_EQ(0, pthread_create(&t, NULL, vcpu_thread, vcpu));
	for (i = 0; i < 1000 && *cnt < 1000; i++)
		nanosleep(&ts, NULL);
	ASSERT_LE(1000, *cnt) TH_LOG("the guest loop did not run");

	del = vm->slots[TEST_SLOT].region;
	del.memory_size = 0;
	ASSERT_EQ(0, ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &del));
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(0, (intptr_t)ret);
	ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(TEST_GPA + 0x2340, vcpu->run->mmio.phys_addr);
	EXPECT_EQ(8, vcpu->run->mmio.len);
	EXPECT_EQ(0, vcpu->run->mmio.is_write);
	TH_LOG("%llu guest loops before the delete",
	       (unsigned long long)*cnt);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
