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
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
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

static long enable_cap(int fd, __u32 cap, __u32 flags, __u64 arg0)
{
	struct kvm_enable_cap c = { .cap = cap, .flags = flags };

	c.args[0] = arg0;
	return okvm_ioctl(fd, KVM_ENABLE_CAP, (unsigned long)&c);
}

/*
 * KVM_CAP_ENABLE_CAP_VM: the VM fd takes KVM_ENABLE_CAP; KVM_CAP_MAX_VCPU_ID
 * is one every x86 KVM has, and an unknown capability is EINVAL.
 */
static const char *check_enable_cap_vm(int dev, long answer)
{
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0), fd;
	const char *why = NULL;

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	if (enable_cap(vm, 0x7fffffff, 0, 0) != -EINVAL)
		why = "an unknown capability is not EINVAL";
	else if (enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, 1))
		why = "KVM_CAP_MAX_VCPU_ID = 1 refused";
	else if (okvm_ioctl(vm, KVM_CREATE_VCPU, 1) != -EINVAL)
		why = "vCPU id 1 accepted after KVM_CAP_MAX_VCPU_ID = 1";
	fd = why ? -1 : okvm_ioctl(vm, KVM_CREATE_VCPU, 0);
	if (!why && fd < 0)
		why = "vCPU id 0 refused after KVM_CAP_MAX_VCPU_ID = 1";
	if (fd >= 0)
		close(fd);
	close(vm);
	return why;
}

/*
 * KVM_CAP_ENABLE_CAP: the vCPU fd takes KVM_ENABLE_CAP, reads its argument
 * and refuses an unknown capability with EINVAL.
 */
static const char *check_enable_cap(int dev, long answer)
{
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0), fd;
	const char *why = NULL;

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	fd = okvm_ioctl(vm, KVM_CREATE_VCPU, 0);
	if (fd < 0)
		why = "KVM_CREATE_VCPU failed";
	else if (okvm_ioctl(fd, KVM_ENABLE_CAP, 0) != -EFAULT)
		why = "a NULL argument is not EFAULT";
	else if (enable_cap(fd, 0x7fffffff, 0, 0) != -EINVAL)
		why = "an unknown capability is not EINVAL";
	if (fd >= 0)
		close(fd);
	close(vm);
	return why;
}

/*
 * KVM_CAP_MMU_SHADOW_CACHE_CONTROL: KVM_SET_NR_MMU_PAGES takes 64 and no
 * less, and KVM_GET_NR_MMU_PAGES reads the number back (KVM 6.1 and okvm;
 * later KVM dropped the get, ENOTTY, which in-tree KVM may answer).
 */
static const char *check_mmu_shadow_cache_control(int dev, long answer)
{
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	const char *why = NULL;

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	if (okvm_ioctl(vm, KVM_SET_NR_MMU_PAGES, 63) != -EINVAL)
		why = "63 pages accepted";
	else if (okvm_ioctl(vm, KVM_SET_NR_MMU_PAGES, 200))
		why = "200 pages refused";
	else if (okvm_ioctl(vm, KVM_GET_NR_MMU_PAGES, 0) != 200 &&
		 (okvm_dev_is_okvm() ||
		  okvm_ioctl(vm, KVM_GET_NR_MMU_PAGES, 0) != -ENOTTY))
		why = "KVM_GET_NR_MMU_PAGES does not read 200 back";
	close(vm);
	return why;
}

/* A VM with vCPU 0 and that vCPU's kvm_run mapped. */
struct test_vcpu {
	int vm;
	int fd;
	struct kvm_run *run;
	long run_size;
};

/* Fill @v; on failure the parts made so far are left for vcpu_close(). */
static const char *vcpu_open(int dev, struct test_vcpu *v)
{
	v->fd = -1;
	v->run = MAP_FAILED;
	v->vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return "KVM_CREATE_VM failed";
	v->fd = okvm_ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->fd < 0)
		return "KVM_CREATE_VCPU failed";
	v->run_size = okvm_ioctl(dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v->run_size < (long)sizeof(*v->run))
		return "KVM_GET_VCPU_MMAP_SIZE is smaller than struct kvm_run";
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED)
		return "mmap of the vCPU's kvm_run failed";
	return NULL;
}

static void vcpu_close(struct test_vcpu *v)
{
	if (v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	if (v->vm >= 0)
		close(v->vm);
}

/*
 * The smallest guest that shows what its memory holds: real mode, one slot
 * of anonymous memory at GPA 0, and a loop that OUTs the byte at
 * GUEST_DATA to GUEST_PORT. Raw bytes, since this test has no guest library.
 */
#define GUEST_MEM_SIZE	0x3000
#define GUEST_CODE	0x1000
#define GUEST_DATA	0x2000
#define GUEST_PORT	0x10
#define PAGE		4096

static const unsigned char guest_code[] = {
	0xa0, GUEST_DATA & 0xff, GUEST_DATA >> 8,	/* mov al, [GUEST_DATA] */
	0xe6, GUEST_PORT,				/* out GUEST_PORT, al */
	0xeb, 0x100 - 7,				/* jmp GUEST_CODE */
};

struct test_guest {
	struct test_vcpu v;
	unsigned char *mem;
};

static const char *guest_open(int dev, struct test_guest *g)
{
	struct kvm_userspace_memory_region r = {
		.memory_size = GUEST_MEM_SIZE,
	};
	struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 2 };
	struct kvm_sregs sregs;
	const char *why;

	g->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	why = vcpu_open(dev, &g->v);
	if (why)
		return why;
	if (g->mem == MAP_FAILED)
		return "mmap of guest memory failed";
	memcpy(g->mem + GUEST_CODE, guest_code, sizeof(guest_code));
	r.userspace_addr = (unsigned long)g->mem;
	if (okvm_ioctl(g->v.vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r))
		return "KVM_SET_USER_MEMORY_REGION failed";
	/* Out of reset CS is F000:FFF0 with base FFFF0000: move it to 0. */
	if (okvm_ioctl(g->v.fd, KVM_GET_SREGS, (unsigned long)&sregs))
		return "KVM_GET_SREGS failed";
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (okvm_ioctl(g->v.fd, KVM_SET_SREGS, (unsigned long)&sregs))
		return "KVM_SET_SREGS failed";
	if (okvm_ioctl(g->v.fd, KVM_SET_REGS, (unsigned long)&regs))
		return "KVM_SET_REGS failed";
	return NULL;
}

static void guest_close(struct test_guest *g)
{
	vcpu_close(&g->v);
	if (g->mem != MAP_FAILED)
		munmap(g->mem, GUEST_MEM_SIZE);
}

static const char wrong_byte[] =
	"the guest read another byte than its memory holds";

/* Run the guest to its next OUT, which must carry @want. */
static const char *guest_expect_byte(struct test_guest *g, unsigned char want)
{
	struct kvm_run *run = g->v.run;

	if (okvm_ioctl(g->v.fd, KVM_RUN, 0))
		return "KVM_RUN failed";
	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != GUEST_PORT || run->io.size != 1 ||
	    run->io.count != 1)
		return "the guest did not exit with its OUT";
	if (((unsigned char *)run)[run->io.data_offset] != want)
		return wrong_byte;
	return NULL;
}

/* Copy @code to GUEST_CODE and run it to its first exit. */
static const char *guest_run_code(struct test_guest *g, const void *code,
				  size_t len)
{
	memcpy(g->mem + GUEST_CODE, code, len);
	return okvm_ioctl(g->v.fd, KVM_RUN, 0) ? "KVM_RUN failed" : NULL;
}

/*
 * KVM_CAP_READONLY_MEM: a KVM_MEM_READONLY slot reads as its memory, and a
 * write there exits as KVM_EXIT_MMIO with the data, memory unchanged.
 */
static const char *check_readonly_mem(int dev, long answer)
{
	static const unsigned char code[] = {
		0xa0, 0x00, 0x30,			/* mov al, [0x3000] */
		0xe6, GUEST_PORT,			/* out GUEST_PORT, al */
		0xc6, 0x06, 0x00, 0x30, 0x55,		/* mov byte [0x3000], 0x55 */
		0xf4,					/* hlt */
	};
	struct kvm_userspace_memory_region r = {
		.slot = 1, .flags = KVM_MEM_READONLY,
		.guest_phys_addr = 0x3000, .memory_size = PAGE,
	};
	unsigned char *rom = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_run *run;
	struct test_guest g;
	const char *why;

	why = guest_open(dev, &g);
	if (why || rom == MAP_FAILED)
		goto out;
	run = g.v.run;
	rom[0] = 0x77;
	r.userspace_addr = (unsigned long)rom;
	why = "KVM_SET_USER_MEMORY_REGION with KVM_MEM_READONLY failed";
	if (okvm_ioctl(g.v.vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r))
		goto out;
	memcpy(g.mem + GUEST_CODE, code, sizeof(code));
	why = guest_expect_byte(&g, 0x77);
	if (why)
		goto out;
	why = "the write to the read-only slot did not exit as MMIO";
	if (okvm_ioctl(g.v.fd, KVM_RUN, 0) ||
	    run->exit_reason != KVM_EXIT_MMIO || !run->mmio.is_write ||
	    run->mmio.phys_addr != 0x3000 || run->mmio.len != 1 ||
	    run->mmio.data[0] != 0x55)
		goto out;
	why = "the write changed the read-only slot's memory";
	if (rom[0] != 0x77)
		goto out;
	why = "the guest did not go on to its HLT";
	if (okvm_ioctl(g.v.fd, KVM_RUN, 0) || run->exit_reason != KVM_EXIT_HLT)
		goto out;
	why = NULL;
out:
	guest_close(&g);
	if (rom != MAP_FAILED)
		munmap(rom, PAGE);
	return why ? why : (rom == MAP_FAILED ? "mmap failed" : NULL);
}

static long dirty_log_word(struct test_guest *g, unsigned long *word)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = word };

	*word = ~0UL;
	return okvm_ioctl(g->v.vm, KVM_GET_DIRTY_LOG, (unsigned long)&log);
}

/*
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: the answer is the KVM_DIRTY_LOG_*
 * flags KVM_ENABLE_CAP takes (protect-enable at least). Enabled with all
 * of them, a slot that starts logging has every bit set if
 * INITIALLY_SET is among them; KVM_CLEAR_DIRTY_LOG clears them, the
 * guest's next write logs its page again, and KVM_GET_DIRTY_LOG keeps
 * the bits.
 */
static const char *check_manual_dirty_log(int dev, long answer)
{
	static const unsigned char code[] = {
		0xc6, 0x06, 0x00, 0x20, 0x55,	/* mov byte [GUEST_DATA], 0x55 */
		0xf4,				/* hlt */
	};
	const unsigned long all = (1UL << (GUEST_MEM_SIZE / PAGE)) - 1;
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args[0] = answer,
	};
	struct kvm_userspace_memory_region r = {
		.flags = KVM_MEM_LOG_DIRTY_PAGES, .memory_size = GUEST_MEM_SIZE,
	};
	struct kvm_clear_dirty_log clear = {
		.num_pages = GUEST_MEM_SIZE / PAGE,
	};
	unsigned long word, mask = all;
	struct test_guest g;
	const char *why;

	clear.dirty_bitmap = &mask;
	if (!(answer & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) ||
	    answer & ~(long)(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
			     KVM_DIRTY_LOG_INITIALLY_SET))
		return "the answer is not a set of KVM_DIRTY_LOG_* flags";
	why = guest_open(dev, &g);
	if (why)
		goto out;
	why = "KVM_ENABLE_CAP with the answer failed";
	if (okvm_ioctl(g.v.vm, KVM_ENABLE_CAP, (unsigned long)&cap))
		goto out;
	r.userspace_addr = (unsigned long)g.mem;
	why = "turning KVM_MEM_LOG_DIRTY_PAGES on failed";
	if (okvm_ioctl(g.v.vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r))
		goto out;
	why = "the first KVM_GET_DIRTY_LOG is not as INITIALLY_SET says";
	if (dirty_log_word(&g, &word) ||
	    word != (answer & KVM_DIRTY_LOG_INITIALLY_SET ? all : 0))
		goto out;
	why = "KVM_CLEAR_DIRTY_LOG failed";
	if (okvm_ioctl(g.v.vm, KVM_CLEAR_DIRTY_LOG, (unsigned long)&clear))
		goto out;
	why = "KVM_GET_DIRTY_LOG after KVM_CLEAR_DIRTY_LOG is not empty";
	if (dirty_log_word(&g, &word) || word)
		goto out;
	why = guest_run_code(&g, code, sizeof(code));
	if (why)
		goto out;
	why = "the guest did not reach its HLT";
	if (g.v.run->exit_reason != KVM_EXIT_HLT)
		goto out;
	/*
	 * KVM also logs a page the guest only read when the VMM's mapping
	 * of it was writable already (here the code page): it maps such a
	 * page writable at once. So the written page must be there, and
	 * the rest may be.
	 */
	why = "the log lacks the page the guest wrote";
	if (dirty_log_word(&g, &word) || !(word & 1UL << (GUEST_DATA / PAGE)))
		goto out;
	mask = word;
	why = "KVM_GET_DIRTY_LOG cleared the log under manual protection";
	if (dirty_log_word(&g, &word) || word != mask)
		goto out;
	why = NULL;
out:
	guest_close(&g);
	return why;
}

/*
 * KVM_CAP_SYNC_MMU: changes to the VMM's mappings reach the guest without
 * a new KVM_SET_USER_MEMORY_REGION. Writing through the same mapping would
 * show nothing (it is the same page); dropping the page and mapping a new
 * one in its place is what only an MMU notifier gets right.
 */
static const char *check_sync_mmu(int dev, long answer)
{
	struct test_guest g;
	unsigned char *data;
	const char *why;

	why = guest_open(dev, &g);
	if (why)
		goto out;
	data = g.mem + GUEST_DATA;
	*data = 0xa5;
	why = guest_expect_byte(&g, 0xa5);
	if (why)
		goto out;

	/* A private anonymous page reads as zeroes once dropped. */
	if (madvise(data, PAGE, MADV_DONTNEED)) {
		why = "madvise(MADV_DONTNEED) failed";
		goto out;
	}
	why = guest_expect_byte(&g, 0);
	if (why == wrong_byte)
		why = "after MADV_DONTNEED: the guest still sees the old page";
	if (why)
		goto out;

	if (mmap(data, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != data) {
		why = "mmap(MAP_FIXED) over the data page failed";
		goto out;
	}
	*data = 0x3c;
	why = guest_expect_byte(&g, 0x3c);
	if (why == wrong_byte)
		why = "after mmap(MAP_FIXED): the guest does not see the new page";
out:
	guest_close(&g);
	return why;
}

/*
 * KVM_CAP_EXT_CPUID: KVM_GET_SUPPORTED_CPUID fills in what it supports,
 * leaf 0 (the highest basic leaf and the vendor) among it, and says E2BIG
 * when the array is too small for that.
 */
static const char *check_ext_cpuid(int dev, long answer)
{
	const unsigned int nent = 256;	/* KVM_MAX_CPUID_ENTRIES */
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 entry;
	} small = { .c.nent = 1 };
	const char *why = "leaf 0 is missing";
	struct kvm_cpuid2 *c;
	unsigned int i;
	long ret;

	ret = okvm_ioctl(dev, KVM_GET_SUPPORTED_CPUID, (unsigned long)&small);
	if (ret != -E2BIG)
		return "nent = 1 is not E2BIG";
	c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (!c)
		return "out of memory";
	c->nent = nent;
	ret = okvm_ioctl(dev, KVM_GET_SUPPORTED_CPUID, (unsigned long)c);
	if (ret)
		why = "KVM_GET_SUPPORTED_CPUID failed";
	else if (!c->nent || c->nent > nent)
		why = "nent is 0 or beyond the array";
	else
		for (i = 0; i < c->nent; i++)
			if (c->entries[i].function == 0 && c->entries[i].eax)
				why = NULL;
	free(c);
	return why;
}

/* KVM_CAP_SET_TSS_ADDR: a fresh VM takes the address QEMU gives it. */
static const char *check_set_tss_addr(int dev, long answer)
{
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0), ret;

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	ret = okvm_ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000);
	close(vm);
	return ret ? "KVM_SET_TSS_ADDR failed" : NULL;
}

/*
 * KVM_CAP_SET_IDENTITY_MAP_ADDR: accepted before the first vCPU, refused
 * once one exists (api.rst: "Fails if any VCPU has already been created"),
 * since VMX places the page when it creates a vCPU.
 */
static const char *check_set_identity_map_addr(int dev, long answer)
{
	__u64 addr = 0xfffbc000;
	struct test_vcpu v;
	const char *why = NULL;
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	if (okvm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&addr))
		why = "refused on a fresh VM";
	close(vm);
	if (why)
		return why;

	why = vcpu_open(dev, &v);
	if (!why && okvm_ioctl(v.vm, KVM_SET_IDENTITY_MAP_ADDR,
			       (unsigned long)&addr) >= 0)
		why = "accepted after a vCPU was created";
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_MP_STATE: without an in-kernel irqchip there is no INIT/SIPI
 * protocol, so a new vCPU is runnable, and runnable can be set.
 */
static const char *check_mp_state(int dev, long answer)
{
	struct kvm_mp_state mp = { .mp_state = ~0u };
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	if (okvm_ioctl(v.fd, KVM_GET_MP_STATE, (unsigned long)&mp))
		why = "KVM_GET_MP_STATE failed";
	else if (mp.mp_state != KVM_MP_STATE_RUNNABLE)
		why = "a new vCPU is not KVM_MP_STATE_RUNNABLE";
	else if (okvm_ioctl(v.fd, KVM_SET_MP_STATE, (unsigned long)&mp))
		why = "KVM_SET_MP_STATE(RUNNABLE) failed";
out:
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_VCPU_EVENTS: what KVM_GET_VCPU_EVENTS returns is accepted by
 * KVM_SET_VCPU_EVENTS (a migration does exactly that), and a field that
 * needs no flag, nmi.masked, makes the round trip.
 */
static const char *check_vcpu_events(int dev, long answer)
{
	struct kvm_vcpu_events ev;
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	if (okvm_ioctl(v.fd, KVM_GET_VCPU_EVENTS, (unsigned long)&ev)) {
		why = "KVM_GET_VCPU_EVENTS failed";
		goto out;
	}
	if (okvm_ioctl(v.fd, KVM_SET_VCPU_EVENTS, (unsigned long)&ev)) {
		why = "KVM_SET_VCPU_EVENTS of what GET returned failed";
		goto out;
	}
	ev.nmi.masked = 1;
	if (okvm_ioctl(v.fd, KVM_SET_VCPU_EVENTS, (unsigned long)&ev) ||
	    okvm_ioctl(v.fd, KVM_GET_VCPU_EVENTS, (unsigned long)&ev))
		why = "KVM_SET/GET_VCPU_EVENTS with NMIs masked failed";
	else if (ev.nmi.masked != 1)
		why = "nmi.masked did not make the round trip";
out:
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_XCRS: XCR0 reads back with its x87 bit, which the SDM (13.3)
 * says can never be clear; the value read is accepted back, and a value
 * XSETBV would refuse (x87 clear) is refused.
 */
static const char *check_xcrs(int dev, long answer)
{
	struct kvm_xcrs x;
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);
	int i, xcr0 = -1;

	if (why)
		goto out;
	if (okvm_ioctl(v.fd, KVM_GET_XCRS, (unsigned long)&x)) {
		why = "KVM_GET_XCRS failed";
		goto out;
	}
	for (i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0)
			xcr0 = i;
	if (xcr0 < 0 || !(x.xcrs[xcr0].value & 1)) {
		why = "XCR0 is missing or has x87 (bit 0) clear";
		goto out;
	}
	if (okvm_ioctl(v.fd, KVM_SET_XCRS, (unsigned long)&x)) {
		why = "KVM_SET_XCRS of what GET returned failed";
		goto out;
	}
	x.xcrs[xcr0].value = 0;
	if (okvm_ioctl(v.fd, KVM_SET_XCRS, (unsigned long)&x) != -EINVAL)
		why = "XCR0 = 0 is not EINVAL";
out:
	vcpu_close(&v);
	return why;
}

/* The legacy area's MXCSR and the header's XSTATE_BV (SDM Vol. 1 13.4). */
#define XSAVE_MXCSR		24
#define XSAVE_XSTATE_BV		512
#define XFEATURE_FP_SSE		3ull
#define MXCSR_DEFAULT		0x1f80u
#define MXCSR_RC_ZERO		0x6000u	/* round toward zero */

/*
 * KVM_CAP_XSAVE: KVM_GET_XSAVE returns the guest's XSAVE image and
 * KVM_SET_XSAVE loads one: the image read is accepted back, and an MXCSR
 * put in the image (with SSE marked present in XSTATE_BV, or XRSTOR
 * semantics would reset it) is what the next read shows.
 */
static const char *check_xsave(int dev, long answer)
{
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	unsigned char *img;
	__u32 mxcsr = MXCSR_DEFAULT | MXCSR_RC_ZERO;
	struct test_vcpu v;
	const char *why;
	__u64 bv;

	if (!xs)
		return "out of memory";
	img = (unsigned char *)xs->region;
	why = vcpu_open(dev, &v);
	if (why)
		goto out;
	if (okvm_ioctl(v.fd, KVM_GET_XSAVE, (unsigned long)xs)) {
		why = "KVM_GET_XSAVE failed";
		goto out;
	}
	if (okvm_ioctl(v.fd, KVM_SET_XSAVE, (unsigned long)xs)) {
		why = "KVM_SET_XSAVE of what GET returned failed";
		goto out;
	}
	memcpy(img + XSAVE_MXCSR, &mxcsr, sizeof(mxcsr));
	memcpy(&bv, img + XSAVE_XSTATE_BV, sizeof(bv));
	bv |= XFEATURE_FP_SSE;
	memcpy(img + XSAVE_XSTATE_BV, &bv, sizeof(bv));
	if (okvm_ioctl(v.fd, KVM_SET_XSAVE, (unsigned long)xs)) {
		why = "KVM_SET_XSAVE with a new MXCSR failed";
		goto out;
	}
	memset(xs, 0, sizeof(*xs));
	if (okvm_ioctl(v.fd, KVM_GET_XSAVE, (unsigned long)xs)) {
		why = "KVM_GET_XSAVE after SET failed";
		goto out;
	}
	memcpy(&mxcsr, img + XSAVE_MXCSR, sizeof(mxcsr));
	if (mxcsr != (MXCSR_DEFAULT | MXCSR_RC_ZERO))
		why = "the MXCSR set did not read back";
out:
	vcpu_close(&v);
	free(xs);
	return why;
}

/*
 * KVM_CAP_XSAVE2: the answer is the size of the buffer KVM_GET_XSAVE2
 * fills, never less than struct kvm_xsave. KVM_GET_XSAVE2 writes within
 * that size, and its first part is the image KVM_GET_XSAVE returns.
 */
static const char *check_xsave2(int dev, long answer)
{
	const size_t guard = PAGE;
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	unsigned char *buf = malloc(answer + guard);
	struct test_vcpu v = { .vm = -1, .fd = -1, .run = MAP_FAILED };
	const char *why = NULL;
	size_t i;

	if (answer < (long)sizeof(*xs)) {
		why = "the size is below sizeof(struct kvm_xsave)";
		goto out;
	}
	if (!xs || !buf) {
		why = "out of memory";
		goto out;
	}
	/* Bytes past the answer must survive: the size is a promise. */
	memset(buf, 0, answer);
	memset(buf + answer, 0xcc, guard);
	why = vcpu_open(dev, &v);
	if (why)
		goto out;
	if (okvm_ioctl(v.fd, KVM_GET_XSAVE2, (unsigned long)buf) ||
	    okvm_ioctl(v.fd, KVM_GET_XSAVE, (unsigned long)xs)) {
		why = "KVM_GET_XSAVE2 or KVM_GET_XSAVE failed";
		goto out;
	}
	for (i = answer; i < answer + guard; i++)
		if (buf[i] != 0xcc)
			why = "KVM_GET_XSAVE2 wrote beyond the size it reports";
	if (!why && memcmp(buf, xs->region, sizeof(xs->region)))
		why = "KVM_GET_XSAVE2 and KVM_GET_XSAVE disagree";
out:
	vcpu_close(&v);
	free(buf);
	free(xs);
	return why;
}

/*
 * KVM_CAP_DEBUGREGS: KVM_GET/SET_DEBUGREGS round-trip DR0-3, DR6 and DR7;
 * a new vCPU has DR6 and DR7 at their reset values (SDM Vol. 3 18.2.4-5);
 * a flag, or a DR7 with bits 63:32, is refused.
 */
static const char *check_debugregs(int dev, long answer)
{
	struct kvm_debugregs d, got;
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	why = "KVM_GET_DEBUGREGS failed";
	if (okvm_ioctl(v.fd, KVM_GET_DEBUGREGS, (unsigned long)&d))
		goto out;
	why = "reset DR6/DR7 are not 0xffff0ff0/0x400";
	if (d.dr6 != 0xffff0ff0 || d.dr7 != 0x400)
		goto out;
	d.db[0] = 0x1000;
	d.db[3] = 0xdead0000;
	d.dr7 = 0x401;
	why = "KVM_SET_DEBUGREGS failed";
	if (okvm_ioctl(v.fd, KVM_SET_DEBUGREGS, (unsigned long)&d))
		goto out;
	why = "the debug registers did not make the round trip";
	if (okvm_ioctl(v.fd, KVM_GET_DEBUGREGS, (unsigned long)&got) ||
	    got.db[0] != 0x1000 || got.db[3] != 0xdead0000 || got.dr7 != 0x401)
		goto out;
	why = "a flag or DR7[63:32] was accepted";
	d.flags = 1;
	if (okvm_ioctl(v.fd, KVM_SET_DEBUGREGS, (unsigned long)&d) != -EINVAL)
		goto out;
	d.flags = 0;
	d.dr7 = 1ULL << 32;
	if (okvm_ioctl(v.fd, KVM_SET_DEBUGREGS, (unsigned long)&d) != -EINVAL)
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_SET_GUEST_DEBUG: KVM_SET_GUEST_DEBUG takes single-stepping
 * without showing TF in KVM_GET_REGS, and a second injected #DB while the
 * first waits is EBUSY (x86/guest_debug_test has the exits).
 */
static const char *check_set_guest_debug(int dev, long answer)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};
	struct kvm_regs regs;
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	why = "KVM_SET_GUEST_DEBUG with SINGLESTEP failed";
	if (okvm_ioctl(v.fd, KVM_SET_GUEST_DEBUG, (unsigned long)&dbg))
		goto out;
	why = "KVM_GET_REGS shows the debugger's TF";
	if (okvm_ioctl(v.fd, KVM_GET_REGS, (unsigned long)&regs) ||
	    (regs.rflags & 0x100))
		goto out;
	why = "a second KVM_GUESTDBG_INJECT_DB was not EBUSY";
	dbg.control = KVM_GUESTDBG_INJECT_DB;
	if (okvm_ioctl(v.fd, KVM_SET_GUEST_DEBUG, (unsigned long)&dbg) ||
	    okvm_ioctl(v.fd, KVM_SET_GUEST_DEBUG, (unsigned long)&dbg) !=
	    -EBUSY)
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

/* KVM_CAP_SET_GUEST_DEBUG2: the flags KVM 6.1 acts on, all of them. */
static const char *check_set_guest_debug2(int dev, long answer)
{
	long all = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP |
		   KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP |
		   KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP |
		   KVM_GUESTDBG_BLOCKIRQ;

	return answer == all ? NULL : "not KVM 6.1's seven KVM_GUESTDBG_* flags";
}

/* KVM_CAP_GET_TSC_KHZ: the vCPU's TSC frequency, a positive count of kHz. */
static const char *check_get_tsc_khz(int dev, long answer)
{
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (!why && okvm_ioctl(v.fd, KVM_GET_TSC_KHZ, 0) <= 0)
		why = "KVM_GET_TSC_KHZ is not a positive frequency";
	vcpu_close(&v);
	return why;
}

/*
 * A real-mode RDMSR of @msr by the test guest: KVM_RUN's result, the exit
 * in g->v.run.
 */
static const char *guest_rdmsr(struct test_guest *g, __u32 msr)
{
	static const unsigned char rdmsr[] = { 0x0f, 0x32, 0xf4 };
	struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 2, .rcx = msr };

	if (okvm_ioctl(g->v.fd, KVM_SET_REGS, (unsigned long)&regs))
		return "KVM_SET_REGS failed";
	return guest_run_code(g, rdmsr, sizeof(rdmsr));
}

static int enable_user_space_msr(struct test_guest *g, __u64 reasons)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR, .args = { reasons },
	};

	return okvm_ioctl(g->v.vm, KVM_ENABLE_CAP, (unsigned long)&cap);
}

/*
 * KVM_CAP_X86_USER_SPACE_MSR: KVM_ENABLE_CAP takes the three
 * KVM_MSR_EXIT_REASON_* and refuses more; with UNKNOWN enabled, the
 * guest's RDMSR of an MSR nobody has exits to the VMM, naming it
 * (msr_filter_test has the rest).
 */
static const char *check_user_space_msr(int dev, long answer)
{
	struct test_guest g;
	const char *why = guest_open(dev, &g);
	struct kvm_run *run = g.v.run;

	if (why)
		goto out;
	why = "a reason beyond KVM_MSR_EXIT_REASON_FILTER was not EINVAL";
	if (enable_user_space_msr(&g, KVM_MSR_EXIT_REASON_FILTER << 1) !=
	    -EINVAL)
		goto out;
	why = "KVM_ENABLE_CAP with KVM_MSR_EXIT_REASON_UNKNOWN failed";
	if (enable_user_space_msr(&g, KVM_MSR_EXIT_REASON_UNKNOWN))
		goto out;
	why = guest_rdmsr(&g, 0x474f4f00);
	if (why)
		goto out;
	why = "RDMSR of an unknown MSR did not exit as KVM_EXIT_X86_RDMSR";
	if (run->exit_reason != KVM_EXIT_X86_RDMSR ||
	    run->msr.index != 0x474f4f00 ||
	    run->msr.reason != KVM_MSR_EXIT_REASON_UNKNOWN)
		goto out;
	why = NULL;
out:
	guest_close(&g);
	return why;
}

/*
 * KVM_CAP_X86_MSR_FILTER: a filter denying reads of MSR_STAR (which the
 * guest otherwise reads without an exit) makes the guest's RDMSR exit with
 * KVM_MSR_EXIT_REASON_FILTER; a filter denying by default with no range
 * is EINVAL.
 */
static const char *check_msr_filter(int dev, long answer)
{
	static __u8 deny;
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_DENY };
	struct test_guest g;
	const char *why = guest_open(dev, &g);
	struct kvm_run *run = g.v.run;

	if (why)
		goto out;
	why = "a default-deny filter with no range was not EINVAL";
	if (okvm_ioctl(g.v.vm, KVM_X86_SET_MSR_FILTER, (unsigned long)&f) !=
	    -EINVAL)
		goto out;
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	f.ranges[0] = (struct kvm_msr_filter_range) {
		.flags = KVM_MSR_FILTER_READ, .nmsrs = 1,
		.base = 0xc0000081, .bitmap = &deny,	/* MSR_STAR */
	};
	why = "KVM_X86_SET_MSR_FILTER failed";
	if (okvm_ioctl(g.v.vm, KVM_X86_SET_MSR_FILTER, (unsigned long)&f))
		goto out;
	why = "KVM_ENABLE_CAP with KVM_MSR_EXIT_REASON_FILTER failed";
	if (enable_user_space_msr(&g, KVM_MSR_EXIT_REASON_FILTER))
		goto out;
	why = guest_rdmsr(&g, 0xc0000081);
	if (why)
		goto out;
	why = "RDMSR of a denied MSR did not exit as KVM_EXIT_X86_RDMSR";
	if (run->exit_reason != KVM_EXIT_X86_RDMSR ||
	    run->msr.index != 0xc0000081 ||
	    run->msr.reason != KVM_MSR_EXIT_REASON_FILTER)
		goto out;
	why = NULL;
out:
	guest_close(&g);
	return why;
}

/*
 * KVM_CAP_DISABLE_QUIRKS2: the answer is the quirks KVM_ENABLE_CAP may turn
 * off, among them KVM_X86_QUIRK_FIX_HYPERCALL_INSN; all of them at once
 * are accepted, one bit beyond them is EINVAL (hypercall_test has the
 * quirks' effects).
 */
static const char *check_disable_quirks2(int dev, long answer)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_DISABLE_QUIRKS2 };
	int vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	const char *why = "KVM_CREATE_VM failed";
	long beyond = 1;

	if (vm < 0)
		return why;
	why = "the answer lacks KVM_X86_QUIRK_FIX_HYPERCALL_INSN";
	if (!(answer & KVM_X86_QUIRK_FIX_HYPERCALL_INSN))
		goto out;
	while (answer & beyond)
		beyond <<= 1;
	why = "a quirk beyond the answer was not EINVAL";
	cap.args[0] = beyond;
	if (okvm_ioctl(vm, KVM_ENABLE_CAP, (unsigned long)&cap) != -EINVAL)
		goto out;
	why = "KVM_ENABLE_CAP with the answer failed";
	cap.args[0] = answer;
	if (okvm_ioctl(vm, KVM_ENABLE_CAP, (unsigned long)&cap))
		goto out;
	why = NULL;
out:
	close(vm);
	return why;
}

/*
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID: a vCPU capability; KVM_ENABLE_CAP on
 * the vCPU takes it, and refuses flags (hypercall_test has the effects).
 */
static const char *check_enforce_pv(int dev, long answer)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = { 1 },
		.flags = 1,
	};
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	why = "KVM_ENABLE_CAP with flags was not EINVAL";
	if (okvm_ioctl(v.fd, KVM_ENABLE_CAP, (unsigned long)&cap) != -EINVAL)
		goto out;
	why = "KVM_ENABLE_CAP on the vCPU failed";
	cap.flags = 0;
	if (okvm_ioctl(v.fd, KVM_ENABLE_CAP, (unsigned long)&cap))
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_SYNC_REGS: the answer is the parts KVM_RUN moves through
 * kvm_run->s.regs (registers, special registers, events). General
 * registers named in kvm_dirty_regs are loaded: the guest, started past
 * its load, sends the AL it was given; those named in kvm_valid_regs come
 * back as KVM_GET_REGS has them. A part beyond the answer is EINVAL
 * (sync_regs_test has the rest).
 */
static const char *check_sync_regs(int dev, long answer)
{
	struct kvm_regs regs;
	struct test_guest g;
	const char *why = guest_open(dev, &g);
	struct kvm_run *run = g.v.run;

	if (why)
		goto out;
	why = "the answer is not KVM_SYNC_X86_REGS|SREGS|EVENTS";
	if (answer != (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS |
		       KVM_SYNC_X86_EVENTS))
		goto out;
	why = "a part beyond the answer was not EINVAL";
	run->kvm_dirty_regs = answer + 1;
	if (okvm_ioctl(g.v.fd, KVM_RUN, 0) != -EINVAL)
		goto out;
	why = "KVM_GET_REGS failed";
	if (okvm_ioctl(g.v.fd, KVM_GET_REGS, (unsigned long)&regs))
		goto out;
	run->s.regs.regs = regs;
	run->s.regs.regs.rip = GUEST_CODE + 3;	/* the OUT */
	run->s.regs.regs.rax = 0x77;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	g.mem[GUEST_DATA] = 0x5a;
	why = guest_expect_byte(&g, 0x77);
	if (why)
		goto out;
	why = "kvm_dirty_regs was not cleared";
	if (run->kvm_dirty_regs)
		goto out;
	why = "KVM_GET_REGS failed";
	if (okvm_ioctl(g.v.fd, KVM_GET_REGS, (unsigned long)&regs))
		goto out;
	why = "kvm_run->s.regs.regs differs from KVM_GET_REGS";
	if (memcmp(&regs, &run->s.regs.regs, sizeof(regs)))
		goto out;
	why = NULL;
out:
	guest_close(&g);
	return why;
}

/*
 * KVM_CAP_IMMEDIATE_EXIT: with kvm_run->immediate_exit set KVM_RUN returns
 * EINTR before entering the guest, so the guest has not moved; cleared, the
 * same vCPU runs (the flag alone held it back).
 */
static const char *check_immediate_exit(int dev, long answer)
{
	struct kvm_regs regs;
	struct test_guest g;
	const char *why = guest_open(dev, &g);

	if (why)
		goto out;
	g.v.run->immediate_exit = 1;
	if (okvm_ioctl(g.v.fd, KVM_RUN, 0) != -EINTR) {
		why = "KVM_RUN with immediate_exit set is not EINTR";
		goto out;
	}
	if (okvm_ioctl(g.v.fd, KVM_GET_REGS, (unsigned long)&regs)) {
		why = "KVM_GET_REGS failed";
		goto out;
	}
	if (regs.rip != GUEST_CODE) {
		why = "the guest ran although immediate_exit was set";
		goto out;
	}
	g.v.run->immediate_exit = 0;
	g.mem[GUEST_DATA] = 0x5a;
	why = guest_expect_byte(&g, 0x5a);
out:
	guest_close(&g);
	return why;
}

/*
 * KVM_CAP_HLT: without an in-kernel irqchip, HLT leaves KVM_RUN with
 * KVM_EXIT_HLT, RIP past the instruction.
 */
static const char *check_hlt(int dev, long answer)
{
	struct kvm_regs regs;
	struct test_guest g;
	const char *why = guest_open(dev, &g);

	if (why)
		goto out;
	g.mem[GUEST_CODE] = 0xf4;	/* hlt */
	why = "KVM_RUN failed";
	if (okvm_ioctl(g.v.fd, KVM_RUN, 0))
		goto out;
	why = "HLT did not exit with KVM_EXIT_HLT";
	if (g.v.run->exit_reason != KVM_EXIT_HLT)
		goto out;
	why = "RIP is not past the HLT";
	if (okvm_ioctl(g.v.fd, KVM_GET_REGS, (unsigned long)&regs) ||
	    regs.rip != GUEST_CODE + 1)
		goto out;
	why = NULL;
out:
	guest_close(&g);
	return why;
}

/* KVM_CAP_USER_NMI: KVM_NMI queues an NMI that KVM_GET_VCPU_EVENTS sees. */
static const char *check_user_nmi(int dev, long answer)
{
	struct kvm_vcpu_events ev;
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	why = "KVM_NMI failed";
	if (okvm_ioctl(v.fd, KVM_NMI, 0))
		goto out;
	why = "KVM_GET_VCPU_EVENTS failed";
	if (okvm_ioctl(v.fd, KVM_GET_VCPU_EVENTS, (unsigned long)&ev))
		goto out;
	why = "the NMI is not pending";
	if (!ev.nmi.pending)
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_MULTI_ADDRESS_SPACE: slot numbers with the last address space's
 * id in bits 31:16 work, the next id is EINVAL.
 */
static const char *check_multi_address_space(int dev, long answer)
{
	long first, last = one_page_slot(dev, -1, (answer - 1) << 16, 0, 4096,
					 &first);
	long beyond = one_page_slot(dev, -1, answer << 16, 0, 4096, &first);

	if (last)
		return "a slot in the last address space was refused";
	return beyond != -EINVAL ?
	       "a slot in the address space after the last is not EINVAL" : NULL;
}

/*
 * KVM_CAP_X86_SMM: KVM_SMI makes an SMI pending (smi.pending), SMBASE
 * starts at its reset value 0x30000 (SDM Vol. 3 34.11) and the VMM may
 * set it. smm_test enters SMM and leaves it.
 */
static const char *check_x86_smm(int dev, long answer)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = 0x9e };	/* MSR_IA32_SMBASE */
	struct kvm_vcpu_events ev;
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	why = "KVM_GET_MSRS of SMBASE failed";
	if (okvm_ioctl(v.fd, KVM_GET_MSRS, (unsigned long)&m) != 1)
		goto out;
	why = "SMBASE is not 0x30000 after RESET";
	if (m.e.data != 0x30000)
		goto out;
	why = "KVM_SMI failed";
	if (okvm_ioctl(v.fd, KVM_SMI, 0))
		goto out;
	why = "KVM_GET_VCPU_EVENTS failed";
	if (okvm_ioctl(v.fd, KVM_GET_VCPU_EVENTS, (unsigned long)&ev))
		goto out;
	why = "the SMI is not pending, or the vCPU is in SMM already";
	if (!(ev.flags & KVM_VCPUEVENT_VALID_SMM) || !ev.smi.pending ||
	    ev.smi.smm)
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

/*
 * A VM with an in-kernel irqchip and a PIT made by @create (KVM_CREATE_PIT
 * or KVM_CREATE_PIT2): its fd, or -1 with *why set.
 */
static long pit_vm(int dev, unsigned long create, const char **why)
{
	struct kvm_pit_config cfg = { .flags = KVM_PIT_SPEAKER_DUMMY };
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);

	*why = "KVM_CREATE_VM failed";
	if (vm < 0)
		return -1;
	*why = "KVM_CREATE_IRQCHIP failed";
	if (okvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		goto fail;
	*why = "creating the PIT failed";
	if (okvm_ioctl(vm, create, (unsigned long)&cfg))
		goto fail;
	*why = NULL;
	return vm;
fail:
	close(vm);
	return -1;
}

/*
 * KVM_CAP_ADJUST_CLOCK: the KVM_CLOCK_* flags KVM_SET_CLOCK accepts (KVM's
 * three); KVM_SET_CLOCK sets what KVM_GET_CLOCK reads.
 */
static const char *check_adjust_clock(int dev, long answer)
{
	struct kvm_clock_data d = { .clock = 1000000000000ULL };
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	const char *why = "KVM_SET_CLOCK failed";

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	if (answer & ~(long)(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
			     KVM_CLOCK_HOST_TSC)) {
		why = "unknown flags";
		goto out;
	}
	if (okvm_ioctl(vm, KVM_SET_CLOCK, (unsigned long)&d))
		goto out;
	why = "KVM_GET_CLOCK failed";
	if (okvm_ioctl(vm, KVM_GET_CLOCK, (unsigned long)&d))
		goto out;
	why = "KVM_GET_CLOCK does not read what KVM_SET_CLOCK set";
	if (d.clock >= 1000000000000ULL && d.clock < 1001000000000ULL)
		why = NULL;
out:
	close(vm);
	return why;
}

/* KVM_CAP_PIT: KVM_CREATE_PIT makes a PIT that KVM_GET_PIT reads. */
static const char *check_pit(int dev, long answer)
{
	struct kvm_pit_state ps;
	const char *why;
	long vm = pit_vm(dev, KVM_CREATE_PIT, &why);

	if (vm < 0)
		return why;
	if (okvm_ioctl(vm, KVM_GET_PIT, (unsigned long)&ps))
		why = "KVM_GET_PIT failed";
	else if (ps.channels[0].mode != 0xff || ps.channels[0].count != 0x10000)
		why = "KVM_GET_PIT: not the reset state";
	close(vm);
	return why;
}

/* KVM_CAP_PIT2: KVM_CREATE_PIT2, once. */
static const char *check_pit2(int dev, long answer)
{
	struct kvm_pit_config cfg = {};
	const char *why;
	long vm = pit_vm(dev, KVM_CREATE_PIT2, &why);

	if (vm < 0)
		return why;
	if (okvm_ioctl(vm, KVM_CREATE_PIT2, (unsigned long)&cfg) != -EEXIST)
		why = "a second KVM_CREATE_PIT2 is not EEXIST";
	close(vm);
	return why;
}

/* KVM_CAP_PIT_STATE2: KVM_SET_PIT2's flags come back from KVM_GET_PIT2. */
static const char *check_pit_state2(int dev, long answer)
{
	struct kvm_pit_state2 ps = {};
	const char *why;
	long vm = pit_vm(dev, KVM_CREATE_PIT2, &why);

	if (vm < 0)
		return why;
	why = "KVM_GET_PIT2 failed";
	if (okvm_ioctl(vm, KVM_GET_PIT2, (unsigned long)&ps))
		goto out;
	ps.flags = KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	ps.channels[1].count = 1234;
	why = "KVM_SET_PIT2 failed";
	if (okvm_ioctl(vm, KVM_SET_PIT2, (unsigned long)&ps))
		goto out;
	memset(&ps, 0, sizeof(ps));
	why = "KVM_GET_PIT2 failed";
	if (okvm_ioctl(vm, KVM_GET_PIT2, (unsigned long)&ps))
		goto out;
	why = "KVM_GET_PIT2 does not return what KVM_SET_PIT2 set";
	if (ps.flags == KVM_PIT_FLAGS_SPEAKER_DATA_ON &&
	    ps.channels[1].count == 1234)
		why = NULL;
out:
	close(vm);
	return why;
}

/* KVM_CAP_REINJECT_CONTROL: KVM_REINJECT_CONTROL works on a PIT. */
static const char *check_reinject_control(int dev, long answer)
{
	struct kvm_reinject_control rc = {};
	const char *why;
	long vm = pit_vm(dev, KVM_CREATE_PIT2, &why);

	if (vm < 0)
		return why;
	if (okvm_ioctl(vm, KVM_REINJECT_CONTROL, (unsigned long)&rc))
		why = "KVM_REINJECT_CONTROL off failed";
	rc.pit_reinject = 1;
	if (!why && okvm_ioctl(vm, KVM_REINJECT_CONTROL, (unsigned long)&rc))
		why = "KVM_REINJECT_CONTROL on failed";
	close(vm);
	return why;
}

/*
 * KVM_CAP_TSC_DEADLINE_TIMER: with an in-kernel local APIC and the CPUID
 * bit (1:ECX[24]) set by the VMM, a timer in TSC-deadline mode keeps the
 * deadline written to IA32_TSC_DEADLINE (SDM Vol. 3 10.5.4.1).
 */
static const char *check_tsc_deadline_timer(int dev, long answer)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[1];
	} cpuid = { .c.nent = 1, .e[0] = { .function = 1, .ecx = 1U << 24 } };
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[1];
	} msrs = { .m.nmsrs = 1, .e[0] = { .index = 0x6e0 } };
	const uint64_t deadline = 1ULL << 62;
	struct kvm_lapic_state *st = calloc(1, sizeof(*st));
	int vm = -1, vcpu = -1;
	const char *why;
	uint32_t lvtt = 0x40 | (2U << 17);	/* TSC-deadline, vector 0x40 */

	why = "KVM_CREATE_VM or KVM_CREATE_IRQCHIP failed";
	vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	if (!st || vm < 0 || okvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		goto out;
	why = "KVM_CREATE_VCPU or KVM_SET_CPUID2 failed";
	vcpu = okvm_ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0 ||
	    okvm_ioctl(vcpu, KVM_SET_CPUID2, (unsigned long)&cpuid))
		goto out;
	why = "KVM_GET/SET_LAPIC failed";
	if (okvm_ioctl(vcpu, KVM_GET_LAPIC, (unsigned long)st))
		goto out;
	memcpy(st->regs + 0x320, &lvtt, 4);
	if (okvm_ioctl(vcpu, KVM_SET_LAPIC, (unsigned long)st))
		goto out;
	why = "KVM_SET_MSRS of IA32_TSC_DEADLINE failed";
	msrs.e[0].data = deadline;
	if (okvm_ioctl(vcpu, KVM_SET_MSRS, (unsigned long)&msrs) != 1)
		goto out;
	why = "IA32_TSC_DEADLINE does not keep the deadline";
	msrs.e[0].data = 0;
	if (okvm_ioctl(vcpu, KVM_GET_MSRS, (unsigned long)&msrs) != 1 ||
	    msrs.e[0].data != deadline)
		goto out;
	why = NULL;
out:
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	free(st);
	return why;
}

/*
 * KVM_CAP_DESTROY_MEMORY_REGION_WORKS: a deleted slot is gone, so its id
 * takes a new size (an existing slot cannot change size: EINVAL).
 */
static const char *check_destroy_memory_region(int dev, long answer)
{
	static char pages[2 * 4096] __attribute__((aligned(4096)));
	struct kvm_userspace_memory_region r = {
		.memory_size = 4096,
		.userspace_addr = (unsigned long)pages,
	};
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	const char *why = "KVM_CREATE_VM failed";

	if (vm < 0)
		return why;
	why = "creating the slot failed";
	if (okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r))
		goto out;
	r.memory_size = 2 * 4096;
	why = "a live slot changed size";
	if (okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r) !=
	    -EINVAL)
		goto out;
	r.memory_size = 0;
	why = "deleting the slot failed";
	if (okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r))
		goto out;
	r.memory_size = 2 * 4096;
	why = "the deleted slot's id did not take a new size";
	if (okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r))
		goto out;
	why = NULL;
out:
	close(vm);
	return why;
}

/*
 * KVM_CAP_JOIN_MEMORY_REGIONS_WORKS: slots may touch, GPA- and HVA-wise,
 * and a guest runs across the boundary: its code in one slot reads its
 * data from the next.
 */
static const char *check_join_memory_regions(int dev, long answer)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1,
		.guest_phys_addr = GUEST_MEM_SIZE,
		.memory_size = PAGE,
	};
	struct test_guest g;
	const char *why = guest_open(dev, &g);
	static unsigned char next[PAGE] __attribute__((aligned(PAGE)));

	if (why)
		goto out;
	r.userspace_addr = (unsigned long)next;
	why = "a slot right after another was refused";
	if (okvm_ioctl(g.v.vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r))
		goto out;
	/* mov al, [GUEST_MEM_SIZE]: the first byte of the second slot. */
	g.mem[GUEST_CODE + 1] = GUEST_MEM_SIZE & 0xff;
	g.mem[GUEST_CODE + 2] = GUEST_MEM_SIZE >> 8;
	next[0] = 0xa5;
	why = guest_expect_byte(&g, 0xa5);
out:
	guest_close(&g);
	return why;
}

/*
 * KVM_CAP_INTERNAL_ERROR_DATA: an internal error carries its data, here
 * an emulation failure (the guest fetches from a GPA no slot backs, which
 * neither KVM nor okvm can emulate): ndata between 1 and 16.
 */
static const char *check_internal_error_data(int dev, long answer)
{
	struct kvm_regs regs = { .rip = 0x8000, .rflags = 2 };
	struct test_guest g;
	const char *why = guest_open(dev, &g);

	if (why)
		goto out;
	why = "KVM_SET_REGS failed";
	if (okvm_ioctl(g.v.fd, KVM_SET_REGS, (unsigned long)&regs))
		goto out;
	why = "KVM_RUN failed";
	if (okvm_ioctl(g.v.fd, KVM_RUN, 0))
		goto out;
	why = "a fetch outside memory is not KVM_EXIT_INTERNAL_ERROR";
	if (g.v.run->exit_reason != KVM_EXIT_INTERNAL_ERROR)
		goto out;
	why = "the internal error carries no data, or more than 16 words";
	if (g.v.run->internal.ndata < 1 || g.v.run->internal.ndata > 16)
		goto out;
	why = NULL;
out:
	guest_close(&g);
	return why;
}

/*
 * KVM_CAP_GET_MSR_FEATURES: the system fd lists the feature MSRs and
 * KVM_GET_MSRS on the system fd reads every one it lists (the return is
 * the count read). The list is sized the KVM way: nmsrs = 0 is E2BIG and
 * writes back the count.
 */
static const char *check_get_msr_features(int dev, long answer)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list = NULL;
	struct kvm_msrs *msrs = NULL;
	const char *why = NULL;
	unsigned int i, n;
	long ret;

	ret = okvm_ioctl(dev, KVM_GET_MSR_FEATURE_INDEX_LIST,
			 (unsigned long)&probe);
	if (ret != -E2BIG || !probe.nmsrs)
		return "nmsrs = 0 is not E2BIG with a count of at least 1";
	n = probe.nmsrs;
	list = calloc(1, sizeof(*list) + n * sizeof(list->indices[0]));
	msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
	if (!list || !msrs) {
		why = "out of memory";
		goto out;
	}
	list->nmsrs = n;
	if (okvm_ioctl(dev, KVM_GET_MSR_FEATURE_INDEX_LIST,
		       (unsigned long)list) || list->nmsrs != n) {
		why = "KVM_GET_MSR_FEATURE_INDEX_LIST failed at its own count";
		goto out;
	}
	msrs->nmsrs = n;
	for (i = 0; i < n; i++)
		msrs->entries[i].index = list->indices[i];
	if (okvm_ioctl(dev, KVM_GET_MSRS, (unsigned long)msrs) != n)
		why = "KVM_GET_MSRS on the system fd did not read every feature MSR";
out:
	free(msrs);
	free(list);
	return why;
}

/* A fresh VM with an in-kernel irqchip, or -1. */
static long vm_with_irqchip(int dev)
{
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);

	if (vm >= 0 && okvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0)) {
		close(vm);
		return -1;
	}
	return vm;
}

/*
 * KVM_CAP_IRQ_ROUTING: the answer is the most entries (and GSIs) a
 * routing table may have: that many are taken, one more is refused.
 */
static const char *check_irq_routing(int dev, long answer)
{
	struct kvm_irq_routing *r;
	const char *why = NULL;
	long vm, i;

	if (answer < 24)
		return "fewer routes than the default table has";
	vm = vm_with_irqchip(dev);
	if (vm < 0)
		return "KVM_CREATE_IRQCHIP failed";
	r = calloc(1, sizeof(*r) + (answer + 1) * sizeof(r->entries[0]));
	if (!r) {
		close(vm);
		return "out of memory";
	}
	for (i = 0; i <= answer; i++) {
		r->entries[i].gsi = i % answer;
		r->entries[i].type = KVM_IRQ_ROUTING_MSI;
		r->entries[i].u.msi.address_lo = 0xfee00000;
		r->entries[i].u.msi.data = 0x30;
	}
	r->nr = answer;
	if (okvm_ioctl(vm, KVM_SET_GSI_ROUTING, (unsigned long)r))
		why = "a table of that many entries is refused";
	r->nr = answer + 1;
	if (!why && okvm_ioctl(vm, KVM_SET_GSI_ROUTING, (unsigned long)r) !=
		    -EINVAL)
		why = "a table of one more entry is not refused with EINVAL";
	r->nr = 1;
	r->entries[0].gsi = answer;
	if (!why && okvm_ioctl(vm, KVM_SET_GSI_ROUTING, (unsigned long)r) !=
		    -EINVAL)
		why = "GSI number answer is not refused with EINVAL";
	free(r);
	close(vm);
	return why;
}

/*
 * KVM_CAP_IRQ_INJECT_STATUS: KVM_IRQ_LINE_STATUS writes back what the
 * line did: GSI 4 reaches the unmasked PIC input (1) and the masked
 * IOAPIC pin (-1), so raising it counts 1 and lowering it 2.
 */
static const char *check_irq_inject_status(int dev, long answer)
{
	struct kvm_irq_level l = { .irq = 4, .level = 1 };
	const char *why = NULL;
	long vm = vm_with_irqchip(dev);

	if (vm < 0)
		return "KVM_CREATE_IRQCHIP failed";
	/* status shares its place with irq: it is written over the GSI. */
	if (okvm_ioctl(vm, KVM_IRQ_LINE_STATUS, (unsigned long)&l) ||
	    l.status != 1)
		why = "raising GSI 4 did not report 1";
	l.irq = 4;
	l.level = 0;
	if (!why && (okvm_ioctl(vm, KVM_IRQ_LINE_STATUS, (unsigned long)&l) ||
		     l.status != 2))
		why = "lowering GSI 4 did not report 2";
	close(vm);
	return why;
}

/*
 * KVM_CAP_SIGNAL_MSI: KVM_SIGNAL_MSI takes an MSI; with no local APIC to
 * name it returns -1 (EPERM), and unknown flags are EINVAL. Delivery into
 * a guest is checked by x86/irqchip_test (deliver_pic_ioapic_msi).
 */
static const char *check_signal_msi(int dev, long answer)
{
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x30 };
	const char *why = NULL;
	long vm = vm_with_irqchip(dev);

	if (vm < 0)
		return "KVM_CREATE_IRQCHIP failed";
	if (okvm_ioctl(vm, KVM_SIGNAL_MSI, (unsigned long)&msi) != -EPERM)
		why = "an MSI to no APIC did not return -1 (EPERM)";
	msi.flags = 2;
	if (!why &&
	    okvm_ioctl(vm, KVM_SIGNAL_MSI, (unsigned long)&msi) != -EINVAL)
		why = "unknown flags were not refused with EINVAL";
	close(vm);
	return why;
}

/*
 * KVM_CAP_IRQCHIP: KVM_CREATE_IRQCHIP works once, and a vCPU created after
 * it has a local APIC (KVM_GET_LAPIC) whose ID is the vCPU's.
 */
static const char *check_irqchip(int dev, long answer)
{
	struct kvm_lapic_state lapic;
	const char *why = NULL;
	long vm = vm_with_irqchip(dev), vcpu;

	if (vm < 0)
		return "KVM_CREATE_IRQCHIP failed";
	if (okvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0) != -EEXIST)
		why = "a second KVM_CREATE_IRQCHIP was not refused with EEXIST";
	vcpu = okvm_ioctl(vm, KVM_CREATE_VCPU, 3);
	if (!why && vcpu < 0)
		why = "KVM_CREATE_VCPU failed";
	if (!why && okvm_ioctl(vcpu, KVM_GET_LAPIC, (unsigned long)&lapic))
		why = "the vCPU has no local APIC (KVM_GET_LAPIC failed)";
	/* The xAPIC ID register (offset 0x20) holds the ID in bits 31:24. */
	if (!why && *(uint32_t *)&lapic.regs[0x20] >> 24 != 3)
		why = "the local APIC's ID is not the vCPU's";
	if (vcpu >= 0)
		close(vcpu);
	close(vm);
	return why;
}

/* The master 8259A's request register, from KVM_GET_IRQCHIP. */
static int pic_master_irr(long vm)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };

	if (okvm_ioctl(vm, KVM_GET_IRQCHIP, (unsigned long)&chip))
		return -1;
	return chip.chip.pic.irr;
}

/*
 * KVM_CAP_IRQFD and KVM_CAP_IRQFD_RESAMPLE: an irqfd on GSI 4 (with a
 * resample eventfd when @resample) takes a write to its eventfd to the
 * line, which the master PIC latches in IRR bit 4 (masked or not); the
 * injection may run after the write returns, so the check waits a while.
 * irqfd_test follows a level interrupt through a guest's EOI.
 */
static const char *check_irqfd_flags(int dev, bool resample)
{
	struct kvm_irqfd a = { .gsi = 4 };
	const char *why = "eventfd() failed";
	long vm = vm_with_irqchip(dev);
	uint64_t one = 1;
	int e, r = -1, i;

	if (vm < 0)
		return "KVM_CREATE_IRQCHIP failed";
	e = eventfd(0, EFD_CLOEXEC);
	if (resample)
		r = eventfd(0, EFD_CLOEXEC);
	if (e < 0 || (resample && r < 0))
		goto out;
	a.fd = e;
	if (resample) {
		a.flags = KVM_IRQFD_FLAG_RESAMPLE;
		a.resamplefd = r;
	}
	why = "KVM_IRQFD failed";
	if (okvm_ioctl(vm, KVM_IRQFD, (unsigned long)&a))
		goto out;
	why = "the eventfd write did not reach the PIC";
	if (write(e, &one, 8) != 8)
		goto out;
	for (i = 0; i < 1000 && !(pic_master_irr(vm) & (1 << 4)); i++)
		usleep(1000);
	if (!(pic_master_irr(vm) & (1 << 4)))
		goto out;
	why = "KVM_IRQFD_FLAG_DEASSIGN failed";
	a.flags |= KVM_IRQFD_FLAG_DEASSIGN;
	if (okvm_ioctl(vm, KVM_IRQFD, (unsigned long)&a))
		goto out;
	why = NULL;
out:
	if (r >= 0)
		close(r);
	if (e >= 0)
		close(e);
	close(vm);
	return why;
}

static const char *check_irqfd(int dev, long answer)
{
	return check_irqfd_flags(dev, false);
}

static const char *check_irqfd_resample(int dev, long answer)
{
	return check_irqfd_flags(dev, true);
}

/* Real-mode code: mov $0x5a, %al; out %al, $0x80; hlt. */
static const unsigned char out_then_hlt[] = { 0xb0, 0x5a, 0xe6, 0x80, 0xf4 };

/*
 * An ioeventfd of length @len on port 0x80 takes the guest's OUT: the
 * eventfd counts it and the next exit is the HLT after it.
 */
static const char *check_pio_doorbell(int dev, unsigned int len)
{
	struct kvm_ioeventfd io = {
		.addr = 0x80, .len = len, .flags = KVM_IOEVENTFD_FLAG_PIO,
	};
	struct test_guest g;
	const char *why = guest_open(dev, &g);
	uint64_t count = 0;

	io.fd = eventfd(0, EFD_NONBLOCK);
	if (why)
		goto out;
	memcpy(g.mem + GUEST_CODE, out_then_hlt, sizeof(out_then_hlt));
	why = "KVM_IOEVENTFD failed";
	if (okvm_ioctl(g.v.vm, KVM_IOEVENTFD, (unsigned long)&io))
		goto out;
	why = "the OUT to the ioeventfd's port exited";
	if (okvm_ioctl(g.v.fd, KVM_RUN, 0) ||
	    g.v.run->exit_reason != KVM_EXIT_HLT)
		goto out;
	why = "the eventfd was not signalled";
	if (read(io.fd, &count, 8) != 8 || count != 1)
		goto out;
	why = NULL;
out:
	guest_close(&g);
	close(io.fd);
	return why;
}

/* KVM_CAP_IOEVENTFD: KVM_IOEVENTFD with a length. */
static const char *check_ioeventfd(int dev, long answer)
{
	return check_pio_doorbell(dev, 1);
}

/* KVM_CAP_IOEVENTFD_NO_LENGTH, _ANY_LENGTH: length 0 takes any write. */
static const char *check_ioeventfd_any_length(int dev, long answer)
{
	return check_pio_doorbell(dev, 0);
}

/*
 * KVM_CAP_COALESCED_MMIO / _PIO: the ring is mapped at the page the
 * capability names (always KVM_COALESCED_MMIO_PAGE_OFFSET on x86) and a
 * write to a port zone lands in it instead of exiting.
 */
static const char *check_coalesced(int dev, long answer)
{
	struct kvm_coalesced_mmio_zone z = { .addr = 0x80, .size = 1, .pio = 1 };
	struct kvm_coalesced_mmio_zone zm = { .addr = 0xd0000, .size = 0x1000 };
	struct kvm_coalesced_mmio_ring *ring;
	struct test_guest g;
	const char *why = guest_open(dev, &g);

	if (why)
		goto out;
	why = "the ring is not inside the vCPU mmap";
	if (g.v.run_size < (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * 4096)
		goto out;
	ring = (void *)((char *)g.v.run + KVM_COALESCED_MMIO_PAGE_OFFSET * 4096);
	memcpy(g.mem + GUEST_CODE, out_then_hlt, sizeof(out_then_hlt));
	why = "KVM_REGISTER_COALESCED_MMIO failed";
	if (okvm_ioctl(g.v.vm, KVM_REGISTER_COALESCED_MMIO, (unsigned long)&z) ||
	    okvm_ioctl(g.v.vm, KVM_REGISTER_COALESCED_MMIO, (unsigned long)&zm))
		goto out;
	why = "the OUT to a coalesced port exited";
	if (okvm_ioctl(g.v.fd, KVM_RUN, 0) ||
	    g.v.run->exit_reason != KVM_EXIT_HLT)
		goto out;
	why = "the OUT is not in the ring";
	if (ring->first != 0 || ring->last != 1 ||
	    ring->coalesced_mmio[0].phys_addr != 0x80 ||
	    ring->coalesced_mmio[0].data[0] != 0x5a ||
	    !ring->coalesced_mmio[0].pio)
		goto out;
	why = NULL;
out:
	guest_close(&g);
	return why;
}

static const char *check_coalesced_mmio(int dev, long answer)
{
	if (answer != KVM_COALESCED_MMIO_PAGE_OFFSET)
		return "not KVM_COALESCED_MMIO_PAGE_OFFSET";
	return check_coalesced(dev, answer);
}

/*
 * KVM_CAP_KVMCLOCK_CTRL: EINVAL until the vCPU's pvclock page is enabled
 * (MSR_KVM_SYSTEM_TIME_NEW bit 0, here set by the VMM), then 0.
 */
static const char *check_kvmclock_ctrl(int dev, long answer)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = 0x4b564d01, .e.data = 1 };
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	why = "KVM_KVMCLOCK_CTRL before enable is not EINVAL";
	if (okvm_ioctl(v.fd, KVM_KVMCLOCK_CTRL, 0) != -EINVAL)
		goto out;
	why = "KVM_SET_MSRS of MSR_KVM_SYSTEM_TIME_NEW failed";
	if (okvm_ioctl(v.fd, KVM_SET_MSRS, (unsigned long)&m) != 1)
		goto out;
	why = "KVM_KVMCLOCK_CTRL after enable failed";
	if (okvm_ioctl(v.fd, KVM_KVMCLOCK_CTRL, 0))
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_MSR_PLATFORM_INFO: MSR_PLATFORM_INFO (0xce) is the VMM's to set
 * and read back, and KVM_ENABLE_CAP takes 0 and 1 (msr_platform_info_test
 * has the guest's side).
 */
static const char *check_msr_platform_info(int dev, long answer)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MSR_PLATFORM_INFO };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = 0xce, .e.data = 0xff00 };
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	why = "KVM_SET_MSRS of MSR_PLATFORM_INFO failed";
	if (okvm_ioctl(v.fd, KVM_SET_MSRS, (unsigned long)&m) != 1)
		goto out;
	why = "MSR_PLATFORM_INFO did not read back";
	m.e.data = 0;
	if (okvm_ioctl(v.fd, KVM_GET_MSRS, (unsigned long)&m) != 1 ||
	    m.e.data != 0xff00)
		goto out;
	why = "KVM_ENABLE_CAP with 0 or 1 failed";
	if (okvm_ioctl(v.vm, KVM_ENABLE_CAP, (unsigned long)&cap))
		goto out;
	cap.args[0] = 1;
	if (okvm_ioctl(v.vm, KVM_ENABLE_CAP, (unsigned long)&cap))
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_SET_BOOT_CPU_ID: KVM_SET_BOOT_CPU_ID names the vCPU whose APIC
 * base has the BSP flag, and is EBUSY once a vCPU exists
 * (boot_cpu_id_test has the rest).
 */
static const char *check_set_boot_cpu_id(int dev, long answer)
{
	struct kvm_sregs sregs;
	long vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
	long v0 = -1, v1 = -1;
	const char *why = "KVM_SET_BOOT_CPU_ID 1 failed";

	if (vm < 0)
		return "KVM_CREATE_VM failed";
	if (okvm_ioctl(vm, KVM_SET_BOOT_CPU_ID, 1))
		goto out;
	why = "KVM_CREATE_VCPU failed";
	v0 = okvm_ioctl(vm, KVM_CREATE_VCPU, 0);
	v1 = okvm_ioctl(vm, KVM_CREATE_VCPU, 1);
	if (v0 < 0 || v1 < 0)
		goto out;
	why = "vCPU 0 has the BSP flag";
	if (okvm_ioctl(v0, KVM_GET_SREGS, (unsigned long)&sregs) ||
	    (sregs.apic_base & (1 << 8)))
		goto out;
	why = "vCPU 1 lacks the BSP flag";
	if (okvm_ioctl(v1, KVM_GET_SREGS, (unsigned long)&sregs) ||
	    !(sregs.apic_base & (1 << 8)))
		goto out;
	why = "KVM_SET_BOOT_CPU_ID after KVM_CREATE_VCPU is not EBUSY";
	if (okvm_ioctl(vm, KVM_SET_BOOT_CPU_ID, 0) != -EBUSY)
		goto out;
	why = NULL;
out:
	if (v1 >= 0)
		close(v1);
	if (v0 >= 0)
		close(v0);
	close(vm);
	return why;
}

/*
 * KVM_CAP_VCPU_ATTRIBUTES: the vCPU fd has KVM_VCPU_TSC_CTRL's
 * KVM_VCPU_TSC_OFFSET, which reads back as set, within 2^33 cycles: KVM
 * moves it at each vcpu_load where the host's TSC is unstable
 * (tsc_offset_attr_test has the rest).
 */
static const char *check_vcpu_attributes(int dev, long answer)
{
	__u64 offset = 1ULL << 40;
	struct kvm_device_attr a = {
		.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
		.addr = (unsigned long)&offset,
	};
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (why)
		goto out;
	why = "KVM_HAS_DEVICE_ATTR of KVM_VCPU_TSC_OFFSET failed";
	if (okvm_ioctl(v.fd, KVM_HAS_DEVICE_ATTR, (unsigned long)&a))
		goto out;
	why = "KVM_SET_DEVICE_ATTR of KVM_VCPU_TSC_OFFSET failed";
	if (okvm_ioctl(v.fd, KVM_SET_DEVICE_ATTR, (unsigned long)&a))
		goto out;
	why = "KVM_VCPU_TSC_OFFSET did not read back";
	offset = 0;
	if (okvm_ioctl(v.fd, KVM_GET_DEVICE_ATTR, (unsigned long)&a) ||
	    offset - (1ULL << 40) + (1ULL << 33) >= 1ULL << 34)
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_BINARY_STATS_FD: KVM_GET_STATS_FD on a VM and a vCPU gives a
 * file that starts with KVM's header, 48-byte names and an id "kvm-..."
 * (stats_test has the rest).
 */
static const char *check_stats_one(int fd)
{
	struct {
		struct kvm_stats_header hdr;
		char id[48];
	} f;
	const char *why = "KVM_GET_STATS_FD failed";

	if (fd < 0)
		return why;
	why = "the header or id is not KVM's";
	if (pread(fd, &f, sizeof(f), 0) == sizeof(f) &&
	    f.hdr.name_size == 48 && f.hdr.id_offset == sizeof(f.hdr) &&
	    f.hdr.num_desc && !strncmp(f.id, "kvm-", 4))
		why = NULL;
	close(fd);
	return why;
}

static const char *check_binary_stats_fd(int dev, long answer)
{
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);

	if (!why)
		why = check_stats_one(okvm_ioctl(v.vm, KVM_GET_STATS_FD, 0));
	if (!why)
		why = check_stats_one(okvm_ioctl(v.fd, KVM_GET_STATS_FD, 0));
	vcpu_close(&v);
	return why;
}

/*
 * KVM_CAP_X2APIC_API: the answer is the flags KVM_ENABLE_CAP takes; an
 * unknown one is EINVAL, and with 32-bit IDs an MSI whose address_hi has
 * bits 7:0 set is refused (lapic_test covers the rest).
 */
static const char *check_x2apic_api(int dev, long answer)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X2APIC_API, .args[0] = 4 };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .address_hi = 1 };
	long vm = vm_with_irqchip(dev);
	const char *why = "KVM_CREATE_IRQCHIP failed";

	if (vm < 0)
		return why;
	why = "the answer is not USE_32BIT_IDS | DISABLE_BROADCAST_QUIRK";
	if (answer != (KVM_X2APIC_API_USE_32BIT_IDS |
		       KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK))
		goto out;
	why = "an unknown flag was not EINVAL";
	if (okvm_ioctl(vm, KVM_ENABLE_CAP, (unsigned long)&cap) != -EINVAL)
		goto out;
	why = "KVM_ENABLE_CAP with the answer failed";
	cap.args[0] = answer;
	if (okvm_ioctl(vm, KVM_ENABLE_CAP, (unsigned long)&cap))
		goto out;
	why = "an MSI with address_hi bits 7:0 set was not EINVAL";
	if (okvm_ioctl(vm, KVM_SIGNAL_MSI, (unsigned long)&msi) != -EINVAL)
		goto out;
	why = NULL;
out:
	close(vm);
	return why;
}

/*
 * KVM_CAP_MCE: the answer is the bank count KVM_X86_SETUP_MCE accepts at
 * most, with MCG_CTL_P among the flags the system fd offers; the vCPU's
 * IA32_MCG_CAP then reads back what was set (mce_test has the rest).
 */
static const char *check_mce(int dev, long answer)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = 0x179 };	/* IA32_MCG_CAP */
	struct test_vcpu v;
	const char *why = vcpu_open(dev, &v);
	__u64 cap;

	if (why)
		goto out;
	why = "KVM_X86_GET_MCE_CAP_SUPPORTED failed or lacks MCG_CTL_P";
	if (okvm_ioctl(dev, KVM_X86_GET_MCE_CAP_SUPPORTED, (unsigned long)&cap) ||
	    !(cap & (1 << 8)))
		goto out;
	why = "KVM_X86_SETUP_MCE refused the answer's bank count";
	cap = (1 << 8) | answer;
	if (okvm_ioctl(v.fd, KVM_X86_SETUP_MCE, (unsigned long)&cap))
		goto out;
	why = "KVM_X86_SETUP_MCE took one bank more than the answer";
	cap = answer + 1;
	if (okvm_ioctl(v.fd, KVM_X86_SETUP_MCE, (unsigned long)&cap) != -EINVAL)
		goto out;
	why = "IA32_MCG_CAP does not read back what KVM_X86_SETUP_MCE set";
	if (okvm_ioctl(v.fd, KVM_GET_MSRS, (unsigned long)&m) != 1 ||
	    m.e.data != ((1 << 8) | (__u64)answer))
		goto out;
	why = NULL;
out:
	vcpu_close(&v);
	return why;
}

static const struct {
	long cap;
	const char *name;
	cap_check_fn check;
} checked_caps[] = {
	{ KVM_CAP_CHECK_EXTENSION_VM, "KVM_CAP_CHECK_EXTENSION_VM",
	  check_extension_vm },
	{ KVM_CAP_VM_TYPES, "KVM_CAP_VM_TYPES", check_vm_types },
	{ KVM_CAP_ENABLE_CAP_VM, "KVM_CAP_ENABLE_CAP_VM", check_enable_cap_vm },
	{ KVM_CAP_ENABLE_CAP, "KVM_CAP_ENABLE_CAP", check_enable_cap },
	{ KVM_CAP_MMU_SHADOW_CACHE_CONTROL, "KVM_CAP_MMU_SHADOW_CACHE_CONTROL",
	  check_mmu_shadow_cache_control },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", check_user_memory },
	{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS", check_nr_memslots },
	{ KVM_CAP_NR_VCPUS, "KVM_CAP_NR_VCPUS", check_nr_vcpus },
	{ KVM_CAP_MAX_VCPUS, "KVM_CAP_MAX_VCPUS", check_max_vcpus },
	{ KVM_CAP_MAX_VCPU_ID, "KVM_CAP_MAX_VCPU_ID", check_max_vcpu_id },
	{ KVM_CAP_SYNC_MMU, "KVM_CAP_SYNC_MMU", check_sync_mmu },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", check_ext_cpuid },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", check_set_tss_addr },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR",
	  check_set_identity_map_addr },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", check_mp_state },
	{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS", check_vcpu_events },
	{ KVM_CAP_XCRS, "KVM_CAP_XCRS", check_xcrs },
	{ KVM_CAP_XSAVE, "KVM_CAP_XSAVE", check_xsave },
	{ KVM_CAP_XSAVE2, "KVM_CAP_XSAVE2", check_xsave2 },
	{ KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ", check_get_tsc_khz },
	{ KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS", check_debugregs },
	{ KVM_CAP_SET_GUEST_DEBUG, "KVM_CAP_SET_GUEST_DEBUG",
	  check_set_guest_debug },
	{ KVM_CAP_SET_GUEST_DEBUG2, "KVM_CAP_SET_GUEST_DEBUG2",
	  check_set_guest_debug2 },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT",
	  check_immediate_exit },
	{ KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS", check_sync_regs },
	{ KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR",
	  check_user_space_msr },
	{ KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER", check_msr_filter },
	{ KVM_CAP_DISABLE_QUIRKS2, "KVM_CAP_DISABLE_QUIRKS2",
	  check_disable_quirks2 },
	{ KVM_CAP_ENFORCE_PV_FEATURE_CPUID, "KVM_CAP_ENFORCE_PV_FEATURE_CPUID",
	  check_enforce_pv },
	{ KVM_CAP_GET_MSR_FEATURES, "KVM_CAP_GET_MSR_FEATURES",
	  check_get_msr_features },
	{ KVM_CAP_HLT, "KVM_CAP_HLT", check_hlt },
	{ KVM_CAP_USER_NMI, "KVM_CAP_USER_NMI", check_user_nmi },
	{ KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER",
	  check_tsc_deadline_timer },
	{ KVM_CAP_DESTROY_MEMORY_REGION_WORKS,
	  "KVM_CAP_DESTROY_MEMORY_REGION_WORKS", check_destroy_memory_region },
	{ KVM_CAP_JOIN_MEMORY_REGIONS_WORKS,
	  "KVM_CAP_JOIN_MEMORY_REGIONS_WORKS", check_join_memory_regions },
	{ KVM_CAP_INTERNAL_ERROR_DATA, "KVM_CAP_INTERNAL_ERROR_DATA",
	  check_internal_error_data },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", check_irq_routing },
	{ KVM_CAP_IRQ_INJECT_STATUS, "KVM_CAP_IRQ_INJECT_STATUS",
	  check_irq_inject_status },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI", check_signal_msi },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", check_irqchip },
	{ KVM_CAP_KVMCLOCK_CTRL, "KVM_CAP_KVMCLOCK_CTRL", check_kvmclock_ctrl },
	{ KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK", check_adjust_clock },
	{ KVM_CAP_PIT, "KVM_CAP_PIT", check_pit },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", check_pit2 },
	{ KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2", check_pit_state2 },
	{ KVM_CAP_REINJECT_CONTROL, "KVM_CAP_REINJECT_CONTROL",
	  check_reinject_control },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", check_ioeventfd },
	{ KVM_CAP_IOEVENTFD_NO_LENGTH, "KVM_CAP_IOEVENTFD_NO_LENGTH",
	  check_ioeventfd_any_length },
	{ KVM_CAP_IOEVENTFD_ANY_LENGTH, "KVM_CAP_IOEVENTFD_ANY_LENGTH",
	  check_ioeventfd_any_length },
	{ KVM_CAP_COALESCED_MMIO, "KVM_CAP_COALESCED_MMIO",
	  check_coalesced_mmio },
	{ KVM_CAP_COALESCED_PIO, "KVM_CAP_COALESCED_PIO", check_coalesced },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", check_irqfd },
	{ KVM_CAP_IRQFD_RESAMPLE, "KVM_CAP_IRQFD_RESAMPLE",
	  check_irqfd_resample },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM", check_readonly_mem },
	{ KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
	  "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2", check_manual_dirty_log },
	{ KVM_CAP_MCE, "KVM_CAP_MCE", check_mce },
	{ KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API", check_x2apic_api },
	{ KVM_CAP_MSR_PLATFORM_INFO, "KVM_CAP_MSR_PLATFORM_INFO",
	  check_msr_platform_info },
	{ KVM_CAP_SET_BOOT_CPU_ID, "KVM_CAP_SET_BOOT_CPU_ID",
	  check_set_boot_cpu_id },
	{ KVM_CAP_VCPU_ATTRIBUTES, "KVM_CAP_VCPU_ATTRIBUTES",
	  check_vcpu_attributes },
	{ KVM_CAP_BINARY_STATS_FD, "KVM_CAP_BINARY_STATS_FD",
	  check_binary_stats_fd },
	{ KVM_CAP_MULTI_ADDRESS_SPACE, "KVM_CAP_MULTI_ADDRESS_SPACE",
	  check_multi_address_space },
	{ KVM_CAP_X86_SMM, "KVM_CAP_X86_SMM", check_x86_smm },
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
