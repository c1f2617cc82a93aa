// SPDX-License-Identifier: GPL-2.0-only
/*
 * dirty_log_test - KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG and, with
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_CLEAR_DIRTY_LOG (api.rst):
 *
 * - the log holds exactly the pages the guest wrote since the last
 *   collection, and a collection starts it over; on okvm reads do not
 *   count (KVM may map a page writable on a read, and log it then);
 * - pages the hypervisor writes for the guest (kvmclock's) are logged;
 * - logging turned on for a slot the guest has written already still
 *   sees the next write to each page (the pages were write-protected);
 * - manual protection: GET leaves the bits, CLEAR removes the ones named
 *   and re-arms their pages; KVM_DIRTY_LOG_INITIALLY_SET starts all set;
 * - a vCPU writing in a loop while the test collects (GET, or GET and
 *   CLEAR) loses no write: copying the pages each round reports dirty,
 *   as a migration would, ends with a copy equal to guest memory;
 * - bad input: KVM's errnos for slots without the flag, bad slot ids,
 *   faulting bitmaps, misaligned CLEAR ranges, bad KVM_ENABLE_CAP
 *   arguments; a slot deleted while another thread collects its log.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define TEST_SLOT	1
#define TEST_GPA	0xc0000000ULL	/* 3 GiB: in the guest's 1:1 map */
#define TEST_PAGES	320		/* five words of bits */
#define PAGE		4096ULL
#define BITMAP_LONGS	((TEST_PAGES + 63) / 64)

/* --- the guest: does what the host posts in the mailbox --------------- */

/* OP_NONE: only the GUEST_SYNC, which touches slot 0 alone. */
enum mem_op { OP_NONE, OP_READ_ALL, OP_WRITE_EVERY, OP_SPIN };

struct mbox {
	uint64_t op, val, stride;
	uint64_t stop;		/* OP_SPIN runs until the host sets it */
};

static struct mbox mbox;

static void guest_loop(void)
{
	volatile struct mbox *m = &mbox;
	volatile uint64_t *mem = (void *)TEST_GPA;

	for (;;) {
		uint64_t r = 0, i, n;

		switch (m->op) {
		case OP_READ_ALL:
			for (i = 0; i < TEST_PAGES; i++)
				r += mem[i * PAGE / 8];
			break;
		case OP_WRITE_EVERY:	/* pages i with i % stride == 0 */
			for (i = 0; i < TEST_PAGES; i += m->stride)
				mem[i * PAGE / 8] = m->val + i;
			break;
		case OP_SPIN:
			/*
			 * Write n to page (n * 7) % TEST_PAGES, n counting
			 * up: each write leaves a value no other write left.
			 * IF set first: the flush that collecting the log
			 * needs must be able to make this loop exit on Bochs
			 * (x86_guest.h).
			 */
			guest_open_interrupts();
			for (n = 1; !m->stop; n++)
				mem[(n * 7) % TEST_PAGES * PAGE / 8] = n;
			r = n;
			break;
		}
		GUEST_SYNC_ARGS(1, r);
	}
}

static uint64_t guest_op(struct kvm_vcpu *vcpu, enum mem_op op, uint64_t val,
			 uint64_t stride)
{
	struct mbox *m = addr_gva2hva(vcpu->vm, &mbox);
	struct ucall uc;

	m->op = op;
	m->val = val;
	m->stride = stride;
	m->stop = 0;
	if (vcpu_run_ucall(vcpu, &uc) != UCALL_SYNC) {
		errno = 0;
		kvm_die("guest: %s", ucall_str(&uc));
	}
	return uc.args[1];
}

/* --- host helpers ----------------------------------------------------- */

/*
 * @n rounds of a loop, fewer on a slow bed: okvm_test_rounds() divides by
 * $OKVM_TEST_SCALE; without it, the Bochs bed (VMTEST_BED=bochs) runs a
 * tenth.
 */
static int bed_rounds(int n)
{
	const char *bed = getenv("VMTEST_BED");

	if (!getenv("OKVM_TEST_SCALE") && bed && !strcmp(bed, "bochs"))
		n = n / 10 ? n / 10 : 1;
	return okvm_test_rounds(n);
}

/*
 * The Bochs bed (VMTEST_BED=bochs) is two orders of magnitude slower than
 * QEMU's: there the slot churn and the leak check, hundreds of slot
 * updates each, skip; the VMX bed runs the others, which reach the EPT
 * side of write-protection and logging.
 */
static bool slow_bed(void)
{
	const char *bed = getenv("VMTEST_BED");

	return bed && !strcmp(bed, "bochs");
}

static long get_log(struct kvm_vm *vm, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG, (unsigned long)&log);
}

static long clear_log(struct kvm_vm *vm, uint32_t slot, uint64_t first,
		      uint32_t num, void *bitmap)
{
	struct kvm_clear_dirty_log log = {
		.slot = slot, .first_page = first, .num_pages = num,
		.dirty_bitmap = bitmap,
	};

	return okvm_ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, (unsigned long)&log);
}

static long enable_manual(struct kvm_vm *vm, uint64_t args0, uint32_t flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.flags = flags,
		.args[0] = args0,
	};

	return okvm_ioctl(vm->fd, KVM_ENABLE_CAP, (unsigned long)&cap);
}

static bool test_bit64(const uint64_t *map, unsigned int bit)
{
	return map[bit / 64] >> (bit % 64) & 1;
}

/*
 * "" when the pages set in @map are exactly those i with i % @stride == 0
 * (none for @stride 0), else the first page that differs.
 */
static const char *first_mismatch(const uint64_t *map, unsigned int stride)
{
	static char why[64];
	unsigned int i;

	for (i = 0; i < TEST_PAGES; i++)
		if (test_bit64(map, i) != (stride && i % stride == 0)) {
			snprintf(why, sizeof(why), "page %u is %s", i,
				 test_bit64(map, i) ? "dirty" : "clean");
			return why;
		}
	return "";
}

/* A guest whose slot TEST_SLOT has @flags; its vCPU runs guest_loop(). */
static struct kvm_vcpu *setup(struct kvm_vm **vmp, uint32_t flags,
			      uint64_t manual)
{
	struct kvm_vm *vm = vm_create_guest(0);

	if (manual && enable_manual(vm, manual, 0))
		kvm_die("KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)");
	vm_add_mem_slot(vm, TEST_SLOT, TEST_GPA, TEST_PAGES * PAGE, flags);
	*vmp = vm;
	return vm_vcpu_add_guest(vm, 0, guest_loop);
}

static void set_flags(struct kvm_vm *vm, uint32_t flags)
{
	struct kvm_userspace_memory_region r = vm->slots[TEST_SLOT].region;

	r.flags = flags;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r))
		kvm_die("KVM_SET_USER_MEMORY_REGION flags %#x", flags);
	vm->slots[TEST_SLOT].region = r;
}

/* --- the log holds what was written ----------------------------------- */

TEST(writes_are_logged_reads_are_not)
{
	uint64_t map[BITMAP_LONGS];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *hva;

	vcpu = setup(&vm, KVM_MEM_LOG_DIRTY_PAGES, 0);
	hva = addr_gpa2hva(vm, TEST_GPA);
	guest_op(vcpu, OP_READ_ALL, 0, 0);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	/*
	 * okvm maps a page a read faulted in read-only in a logging slot.
	 * KVM may map it writable and log it at once (in the bed it now and
	 * then does so for a page the VMM never wrote), which over-reports
	 * but loses nothing: only okvm must have an empty log here.
	 */
	if (okvm_dev_is_okvm())
		EXPECT_STREQ("", first_mismatch(map, 0)) TH_LOG("after reads");

	guest_op(vcpu, OP_WRITE_EVERY, 1000, 3);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 3)) TH_LOG("first writes");
	EXPECT_EQ(1000 + 9, hva[9 * PAGE / 8]);
	/* Collected: the log starts over. */
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 0)) TH_LOG("second GET");

	/* Pages written before are write-protected again: logged again. */
	guest_op(vcpu, OP_WRITE_EVERY, 2000, 5);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 5)) TH_LOG("rewrites");
	EXPECT_EQ(2000 + 15, hva[15 * PAGE / 8]);
	kvm_vm_free(vm);
}

TEST(logging_turned_on_and_off)
{
	uint64_t map[BITMAP_LONGS];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vcpu = setup(&vm, 0, 0);
	EXPECT_EQ(-ENOENT, get_log(vm, TEST_SLOT, map));
	/* Every page writable in the second-level tables... */
	guest_op(vcpu, OP_WRITE_EVERY, 1, 1);
	/* ...until logging starts: the next writes must fault and log. */
	set_flags(vm, KVM_MEM_LOG_DIRTY_PAGES);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 0)) TH_LOG("just enabled");
	guest_op(vcpu, OP_WRITE_EVERY, 2, 4);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 4)) TH_LOG("after enabling");

	/* Off: no log, and writes still work. */
	set_flags(vm, 0);
	EXPECT_EQ(-ENOENT, get_log(vm, TEST_SLOT, map));
	guest_op(vcpu, OP_WRITE_EVERY, 3, 2);
	EXPECT_EQ(3 + 6, ((uint64_t *)addr_gpa2hva(vm, TEST_GPA))[6 * PAGE / 8]);
	/* On again: a fresh, empty log. */
	set_flags(vm, KVM_MEM_LOG_DIRTY_PAGES);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 0)) TH_LOG("enabled again");
	guest_op(vcpu, OP_WRITE_EVERY, 4, 7);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 7)) TH_LOG("writes after");
	kvm_vm_free(vm);
}

/*
 * Pages the hypervisor writes for the guest are logged too: kvmclock's
 * pvclock page, which KVM and okvm fill before the guest runs once the
 * VMM set MSR_KVM_SYSTEM_TIME_NEW (the guest itself touches nothing in
 * the slot here).
 */
TEST(hypervisor_writes_are_logged)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {
		.hdr.nmsrs = 1, .e.index = 0x4b564d01,	/* SYSTEM_TIME_NEW */
		.e.data = (TEST_GPA + 5 * PAGE) | 1,
	};
	uint64_t map[BITMAP_LONGS];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vcpu = setup(&vm, KVM_MEM_LOG_DIRTY_PAGES, 0);
	guest_op(vcpu, OP_NONE, 0, 0);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 0)) TH_LOG("before kvmclock");
	ASSERT_EQ(1, okvm_ioctl(vcpu->fd, KVM_SET_MSRS, (unsigned long)&m));
	guest_op(vcpu, OP_NONE, 0, 0);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_EQ(1ULL << 5, map[0]);
	/* The version field is odd only while the page is being written. */
	EXPECT_EQ(0, *(uint32_t *)addr_gpa2hva(vm, TEST_GPA + 5 * PAGE) & 1);
	EXPECT_NE(0, *(uint32_t *)addr_gpa2hva(vm, TEST_GPA + 5 * PAGE));
	kvm_vm_free(vm);
}

/* --- manual protection ------------------------------------------------ */

TEST(manual_protect_get_keeps_clear_rearms)
{
	uint64_t map[BITMAP_LONGS], mask[BITMAP_LONGS] = { ~0ULL };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vcpu = setup(&vm, KVM_MEM_LOG_DIRTY_PAGES,
		     KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
	guest_op(vcpu, OP_WRITE_EVERY, 10, 2);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 2)) TH_LOG("first GET");
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 2)) TH_LOG("GET keeps the bits");

	/* Clear pages 0-63 only. */
	ASSERT_EQ(0, clear_log(vm, TEST_SLOT, 0, 64, mask));
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_EQ(0, map[0]);
	EXPECT_EQ(0x5555555555555555ULL, map[1]);
	/* Cleared pages are armed again; the others stay writable and set. */
	guest_op(vcpu, OP_WRITE_EVERY, 20, 2);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 2)) TH_LOG("after rewrites");
	/* Clearing everything (the tail of a slot need not be aligned). */
	memset(mask, 0xff, sizeof(mask));
	ASSERT_EQ(0, clear_log(vm, TEST_SLOT, 0, TEST_PAGES, mask));
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 0)) TH_LOG("all cleared");
	guest_op(vcpu, OP_WRITE_EVERY, 30, 9);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 9)) TH_LOG("writes after");
	kvm_vm_free(vm);
}

TEST(initially_set)
{
	uint64_t map[BITMAP_LONGS], mask[BITMAP_LONGS];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int dev = okvm_open_dev();

	ASSERT_LE(0, dev);
	ASSERT_EQ(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		  KVM_DIRTY_LOG_INITIALLY_SET,
		  okvm_ioctl(dev, KVM_CHECK_EXTENSION,
			     KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2));
	close(dev);
	vcpu = setup(&vm, KVM_MEM_LOG_DIRTY_PAGES,
		     KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		     KVM_DIRTY_LOG_INITIALLY_SET);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 1)) TH_LOG("initially");
	/* The guest writes before the first CLEAR: nothing to see yet. */
	guest_op(vcpu, OP_WRITE_EVERY, 1, 1);
	memset(mask, 0xff, sizeof(mask));
	ASSERT_EQ(0, clear_log(vm, TEST_SLOT, 0, TEST_PAGES, mask));
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 0)) TH_LOG("cleared");
	/* CLEAR write-protected the pages the guest had made writable. */
	guest_op(vcpu, OP_WRITE_EVERY, 2, 6);
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 6)) TH_LOG("writes after");
	kvm_vm_free(vm);
}

/* --- concurrent writes ------------------------------------------------ */

struct spin {
	struct kvm_vcpu *vcpu;
	uint64_t writes;
	char err[256];
};

static void *spin_vcpu(void *arg)
{
	struct spin *s = arg;
	struct ucall uc;

	if (vcpu_run_ucall(s->vcpu, &uc) != UCALL_SYNC)
		snprintf(s->err, sizeof(s->err), "guest: %s", ucall_str(&uc));
	else
		s->writes = uc.args[1];
	return NULL;
}

/*
 * Collect @rounds times while the guest writes, copying each round's
 * dirty pages to @copy (a migration's destination); stop the guest, then
 * a last round. Every page of @copy must equal guest memory: a write that
 * raced with a collection and went unreported would leave a page stale.
 */
static void collect_while_writing(struct __test_metadata *_metadata,
				  bool manual)
{
	static uint64_t copy[TEST_PAGES];
	uint64_t map[BITMAP_LONGS], dirty = 0;
	int rounds = bed_rounds(30), r;
	struct spin s = { 0 };
	struct kvm_vm *vm;
	struct mbox *m;
	pthread_t t;
	uint64_t *hva;
	unsigned int i;

	s.vcpu = setup(&vm, KVM_MEM_LOG_DIRTY_PAGES,
		       manual ? KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE : 0);
	hva = addr_gpa2hva(vm, TEST_GPA);
	memset(copy, 0, sizeof(copy));
	m = addr_gva2hva(vm, &mbox);
	m->op = OP_SPIN;
	m->stop = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, spin_vcpu, &s));
	for (r = 0; r <= rounds; r++) {
		if (r == rounds) {
			/* The last round sees the guest stopped. */
			__atomic_store_n(&m->stop, 1, __ATOMIC_RELEASE);
			pthread_join(t, NULL);
		} else {
			usleep(5000);
		}
		ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
		if (manual)
			ASSERT_EQ(0, clear_log(vm, TEST_SLOT, 0, TEST_PAGES,
					       map));
		for (i = 0; i < TEST_PAGES; i++)
			if (test_bit64(map, i)) {
				copy[i] = __atomic_load_n(&hva[i * PAGE / 8],
							  __ATOMIC_RELAXED);
				dirty++;
			}
	}
	ASSERT_STREQ("", s.err);
	for (i = 0; i < TEST_PAGES; i++) {
		/* Braces: the harness runs TH_LOG after EXPECT's statement. */
		EXPECT_EQ(hva[i * PAGE / 8], copy[i])
			TH_LOG("page %u: a write was not logged", i);
	}
	/* The guest did write meanwhile, and the log saw it. */
	EXPECT_LT(0, s.writes);
	EXPECT_LT(0, dirty);
	TH_LOG("%d rounds, %llu guest writes, %llu dirty pages copied",
	       rounds, (unsigned long long)s.writes,
	       (unsigned long long)dirty);
	kvm_vm_free(vm);
}

TEST(no_write_lost_get)
{
	collect_while_writing(_metadata, false);
}

TEST(no_write_lost_get_and_clear)
{
	collect_while_writing(_metadata, true);
}

/* --- bad input -------------------------------------------------------- */

TEST(bad_slots)
{
	uint64_t map[BITMAP_LONGS], mask[BITMAP_LONGS] = { 0 };
	struct kvm_vm *vm = vm_create_guest(0);

	vm_add_mem_slot(vm, TEST_SLOT, TEST_GPA, TEST_PAGES * PAGE, 0);
	/* Slot 0 and TEST_SLOT exist without the flag; slot 5 does not. */
	EXPECT_EQ(-ENOENT, get_log(vm, 0, map));
	EXPECT_EQ(-ENOENT, get_log(vm, TEST_SLOT, map));
	EXPECT_EQ(-ENOENT, get_log(vm, 5, map));
	EXPECT_EQ(-ENOENT, clear_log(vm, TEST_SLOT, 0, 64, mask));
	/* Ids KVM never has, and other address spaces. */
	EXPECT_EQ(-EINVAL, get_log(vm, 32764, map));
	EXPECT_EQ(-EINVAL, get_log(vm, 0xffff, map));
	EXPECT_EQ(-EINVAL, get_log(vm, 2u << 16 | TEST_SLOT, map));
	EXPECT_EQ(-EINVAL, clear_log(vm, 32764, 0, 64, mask));
	EXPECT_EQ(-EINVAL, clear_log(vm, 2u << 16 | TEST_SLOT, 0, 64, mask));
	/* The ioctls' own argument unreadable. */
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, 8));
	kvm_vm_free(vm);
}

TEST(bad_bitmaps_and_ranges)
{
	uint64_t map[BITMAP_LONGS], mask[BITMAP_LONGS] = { 0 };
	void *none = mmap(NULL, PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	ASSERT_NE(MAP_FAILED, none);
	vcpu = setup(&vm, KVM_MEM_LOG_DIRTY_PAGES,
		     KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
	guest_op(vcpu, OP_WRITE_EVERY, 1, 8);
	EXPECT_EQ(-EFAULT, get_log(vm, TEST_SLOT, NULL));
	EXPECT_EQ(-EFAULT, get_log(vm, TEST_SLOT, none));
	EXPECT_EQ(-EFAULT, get_log(vm, TEST_SLOT, (void *)-4096L));
	EXPECT_EQ(-EFAULT, clear_log(vm, TEST_SLOT, 0, 64, none));
	EXPECT_EQ(-EFAULT, clear_log(vm, TEST_SLOT, 0, 64, NULL));
	/* Nothing was cleared by the failures. */
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 8));

	/* CLEAR: first_page a multiple of 64, inside the slot... */
	EXPECT_EQ(-EINVAL, clear_log(vm, TEST_SLOT, 1, 64, mask));
	EXPECT_EQ(-EINVAL, clear_log(vm, TEST_SLOT, 32, 64, mask));
	EXPECT_EQ(-EINVAL, clear_log(vm, TEST_SLOT, TEST_PAGES + 64, 0, mask));
	/* ...num_pages inside it, a multiple of 64 unless it ends there. */
	EXPECT_EQ(-EINVAL, clear_log(vm, TEST_SLOT, 0, TEST_PAGES + 1, mask));
	EXPECT_EQ(-EINVAL, clear_log(vm, TEST_SLOT, 256, 128, mask));
	EXPECT_EQ(-EINVAL, clear_log(vm, TEST_SLOT, 0, 63, mask));
	EXPECT_EQ(-EINVAL, clear_log(vm, TEST_SLOT, 64, 1, mask));
	EXPECT_EQ(0, clear_log(vm, TEST_SLOT, 256, 64, mask));
	EXPECT_EQ(0, clear_log(vm, TEST_SLOT, 0, 0, mask));
	EXPECT_EQ(0, clear_log(vm, TEST_SLOT, TEST_PAGES, 0, mask));
	/* The failed CLEARs and the empty masks cleared nothing. */
	ASSERT_EQ(0, get_log(vm, TEST_SLOT, map));
	EXPECT_STREQ("", first_mismatch(map, 8));
	kvm_vm_free(vm);
	munmap(none, PAGE);
}

TEST(bad_enable_cap)
{
	struct kvm_vm *vm = vm_create_bare();

	/* INITIALLY_SET needs PROTECT_ENABLE; unknown bits; flags. */
	EXPECT_EQ(-EINVAL, enable_manual(vm, KVM_DIRTY_LOG_INITIALLY_SET, 0));
	EXPECT_EQ(-EINVAL, enable_manual(vm, 4, 0));
	EXPECT_EQ(-EINVAL, enable_manual(vm, 1ULL << 63 | 1, 0));
	EXPECT_EQ(-EINVAL, enable_manual(vm, 1, 1));
	EXPECT_EQ(0, enable_manual(vm, 3, 0));
	EXPECT_EQ(0, enable_manual(vm, 1, 0));
	EXPECT_EQ(0, enable_manual(vm, 0, 0));
	kvm_vm_free(vm);
}

struct churn {
	struct kvm_vm *vm;
	void *mem;
	int rounds;
	volatile int done;
	long bad;	/* an unexpected errno from GET or CLEAR */
};

static void *collect_loop(void *arg)
{
	uint64_t map[BITMAP_LONGS], mask[BITMAP_LONGS];
	struct churn *c = arg;
	long r;

	memset(mask, 0xff, sizeof(mask));
	while (!c->done) {
		r = get_log(c->vm, 2, map);
		if (r && r != -ENOENT)
			c->bad = r;
		r = clear_log(c->vm, 2, 0, TEST_PAGES, mask);
		if (r && r != -ENOENT)
			c->bad = r;
	}
	return NULL;
}

/*
 * One thread collects and clears the log of slot 2 in a loop while this
 * one creates and deletes it: each call either finds the slot (0) or not
 * (ENOENT), never anything else, and the kernel stays up.
 */
TEST(slot_deleted_while_collecting)
{
	struct kvm_userspace_memory_region r = {
		.slot = 2, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = TEST_GPA, .memory_size = TEST_PAGES * PAGE,
	};
	struct churn c = { .rounds = bed_rounds(300) };
	struct kvm_vm *vm = vm_create_bare();
	pthread_t t;
	int i;

	if (slow_bed())
		SKIP({ kvm_vm_free(vm); return; },
		     "too slow under Bochs (see slow_bed())");
	c.vm = vm;
	c.mem = mmap(NULL, TEST_PAGES * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c.mem);
	r.userspace_addr = (unsigned long)c.mem;
	ASSERT_EQ(0, enable_manual(vm, 1, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, collect_loop, &c));
	for (i = 0; i < c.rounds; i++) {
		r.memory_size = TEST_PAGES * PAGE;
		ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION,
					(unsigned long)&r));
		r.memory_size = 0;
		ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION,
					(unsigned long)&r));
	}
	c.done = 1;
	pthread_join(t, NULL);
	EXPECT_EQ(0, c.bad);
	kvm_vm_free(vm);
	munmap(c.mem, TEST_PAGES * PAGE);
}

/*
 * Logs come and go with their slots and flags without leaking: a 4 GiB
 * slot has a 256 KiB log (two bitmaps of 128 KiB), made and freed by
 * each round's flag changes, deletion and VM close, with failed calls
 * in between. A leak of one log per round would be 25 MiB.
 */
TEST(logs_do_not_leak)
{
	struct kvm_userspace_memory_region r = {
		.slot = 3, .guest_phys_addr = 1ULL << 33,
		.memory_size = 4ULL << 30,
	};
	int rounds = bed_rounds(100), i;
	uint64_t *map = malloc((4ULL << 30) / PAGE / 8);
	long before, after;
	struct kvm_vm *vm;
	void *mem;

	if (slow_bed())
		SKIP({ free(map); return; },
		     "too slow under Bochs (see slow_bed())");
	ASSERT_NE(NULL, map);
	mem = mmap(NULL, r.memory_size, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	r.userspace_addr = (unsigned long)mem;
	before = okvm_kernel_memory_kb();
	ASSERT_LE(0, before);
	for (i = 0; i < rounds; i++) {
		vm = vm_create_bare();
		if (i & 1)
			ASSERT_EQ(0, enable_manual(vm, 3, 0));
		r.flags = KVM_MEM_LOG_DIRTY_PAGES;
		ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION,
					(unsigned long)&r));
		ASSERT_EQ(0, get_log(vm, 3, map));
		EXPECT_EQ(-EFAULT, get_log(vm, 3, NULL));
		r.flags = 0;
		ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION,
					(unsigned long)&r));
		r.flags = KVM_MEM_LOG_DIRTY_PAGES;
		ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION,
					(unsigned long)&r));
		if (i % 3 == 0) {	/* deleted, else freed with the VM */
			r.memory_size = 0;
			ASSERT_EQ(0, okvm_ioctl(vm->fd,
						KVM_SET_USER_MEMORY_REGION,
						(unsigned long)&r));
			r.memory_size = 4ULL << 30;
		}
		kvm_vm_free(vm);
	}
	after = okvm_kernel_memory_kb();
	TH_LOG("kernel memory %ld KiB before, %ld KiB after %d rounds",
	       before, after, rounds);
	EXPECT_GT(8 * 1024, after - before);
	munmap(mem, r.memory_size);
	free(map);
}

TEST_HARNESS_MAIN
