// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz - random ioctl sequences and random guest code against the device
 * named by $OKVM_DEV (okvm or in-tree KVM), for a bounded time.
 *
 *   fuzz [--seed N] [--seconds N] [--threads N] [--ops N] [--verbose]
 *        [--no dr|ac|cr8|mem|run] [--modes real,prot16,prot32,paged32,long,compat]
 *
 * Worker threads share one table of open file descriptors (device, VM and
 * vCPU fds, some of them dup()s of others) and each repeatedly picks an
 * operation and a random table entry:
 *  - system, VM and vCPU ioctls with valid-shaped but random arguments,
 *    and unknown ioctl numbers;
 *  - close() of any entry, while other threads may be in KVM_RUN or any
 *    other ioctl on it (they then act on whatever fd reuses the number);
 *  - memory slot adds, deletes, moves and flag changes, MADV_DONTNEED,
 *    unmapping (replacing with PROT_NONE) and mprotect of guest memory,
 *    all while vCPUs of that VM run;
 *  - loading a vCPU with a random instruction stream (gen.c) in real
 *    mode, 16-bit or 32-bit protected mode (with or without paging), long
 *    mode or compatibility mode, at CPL 0 or 3, with working or junk
 *    descriptor tables, then KVM_RUN.
 * A watchdog thread interrupts vCPUs with a signal every few milliseconds
 * (a guest may loop forever) and reports a thread that stops making
 * progress: KVM_RUN or another ioctl that does not return to a signal.
 *
 * --seed makes a run reproducible as far as threads allow: each thread
 * draws from its own generator seeded from it, so with --threads 1 and
 * --ops N the same sequence of operations is issued (what the guest did
 * between two signals still depends on timing).
 *
 * What it counts (the "fuzz:" summary line): ioctls issued by fd kind
 * and in total; KVM_RUN calls and their exits by reason; bytes of guest
 * code written; and, as an estimate of guest instructions executed, for
 * each loaded instruction stream the bytes and instruction groups (a
 * template of 1-5 instructions, e.g. "mov ecx, MSR; rdmsr") before the
 * furthest RIP seen at an exit within it. That is a lower bound: loops and
 * exception handlers are not counted, streams of random bytes only add
 * bytes.
 *
 * Verdicts (TAP): no thread hung, every I/O exit's data lay inside the
 * kvm_run mapping, and the hypervisor still ran a known guest afterwards.
 * Kernel splats, leaks and rmmod are fuzz_check.sh's business.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kselftest.h"
#include "okvm_util.h"
#include "gen.h"

#define MAX_OBJS	48
#define MAX_VMS		6
#define MAX_REGIONS	4
#define MAX_THREADS	32
#define REGION_GUARD	(1UL << 20)
#define HANG_SECONDS	30
#define BIG_BUF		(64 << 10)

enum kind { K_SYS = 1, K_VM = 2, K_VCPU = 4 };

/* Every ioctl the fuzzer issues, with its fd kind, for the counters. */
#define IOCTLS(X)							\
	X(SYS, GET_API_VERSION) X(SYS, CHECK_EXTENSION)			\
	X(SYS, GET_VCPU_MMAP_SIZE) X(SYS, GET_SUPPORTED_CPUID)		\
	X(SYS, GET_EMULATED_CPUID) X(SYS, GET_MSR_INDEX_LIST)		\
	X(SYS, GET_MSR_FEATURE_INDEX_LIST) X(SYS, SYS_GET_MSRS)		\
	X(SYS, CREATE_VM) X(SYS, SYS_UNKNOWN)				\
	X(VM, CREATE_VCPU) X(VM, SET_USER_MEMORY_REGION)		\
	X(VM, GET_DIRTY_LOG) X(VM, CLEAR_DIRTY_LOG) X(VM, SET_TSS_ADDR)	\
	X(VM, SET_IDENTITY_MAP_ADDR) X(VM, VM_CHECK_EXTENSION)		\
	X(VM, VM_ENABLE_CAP) X(VM, CREATE_IRQCHIP) X(VM, IRQ_LINE)	\
	X(VM, GET_CLOCK) X(VM, SET_CLOCK) X(VM, IOEVENTFD) X(VM, IRQFD)	\
	X(VM, REGISTER_COALESCED_MMIO) X(VM, SET_NR_MMU_PAGES)		\
	X(VM, GET_STATS_FD) X(VM, VM_UNKNOWN)				\
	X(VCPU, RUN) X(VCPU, GET_REGS) X(VCPU, SET_REGS)		\
	X(VCPU, GET_SREGS) X(VCPU, SET_SREGS) X(VCPU, GET_FPU)		\
	X(VCPU, SET_FPU) X(VCPU, GET_MSRS) X(VCPU, SET_MSRS)		\
	X(VCPU, SET_CPUID2) X(VCPU, GET_CPUID2) X(VCPU, GET_XSAVE)	\
	X(VCPU, SET_XSAVE) X(VCPU, GET_XCRS) X(VCPU, SET_XCRS)		\
	X(VCPU, GET_DEBUGREGS) X(VCPU, SET_DEBUGREGS)			\
	X(VCPU, GET_VCPU_EVENTS) X(VCPU, SET_VCPU_EVENTS)		\
	X(VCPU, GET_MP_STATE) X(VCPU, SET_MP_STATE)			\
	X(VCPU, SET_GUEST_DEBUG) X(VCPU, INTERRUPT) X(VCPU, NMI)	\
	X(VCPU, SET_SIGNAL_MASK) X(VCPU, TRANSLATE) X(VCPU, GET_TSC_KHZ)\
	X(VCPU, SET_TSC_KHZ) X(VCPU, GET_LAPIC) X(VCPU, SET_LAPIC)	\
	X(VCPU, VCPU_ENABLE_CAP) X(VCPU, SMI) X(VCPU, VCPU_UNKNOWN)

#define X_ENUM(k, name) I_##name,
enum { IOCTLS(X_ENUM) NR_IOCTLS };
#define X_NAME(k, name) #name,
static const char *const ioctl_names[] = { IOCTLS(X_NAME) };
#define X_KIND(k, name) K_##k,
static const int ioctl_kinds[] = { IOCTLS(X_KIND) };

#define NR_ERRNO	134
#define NR_EXITS	64

static struct {
	uint64_t ioctls[NR_IOCTLS];
	uint64_t errs[NR_IOCTLS][NR_ERRNO + 1];
	uint64_t exits[NR_EXITS + 1];
	uint64_t runs, run_errors, closes, dups, opens, madvises, unmaps,
		 remaps, mprotects, loads, code_bytes, bytes_reached,
		 groups_reached, vms, vcpus, bad_io_exits;
} st;

#define count(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)

/* One backing of guest memory: anonymous, followed by a PROT_NONE guard. */
struct region {
	uint8_t *hva;
	size_t size;
	uint64_t gpa;
	bool mapped;		/* the whole region RW (not "unmapped") */
};

/* The instruction stream last loaded for a vCPU id (for the estimates). */
struct stream {
	uint64_t origin;	/* RIP of its first byte */
	size_t len;
	size_t reached;
	int ninsns;
	uint16_t starts[GEN_MAX_INSNS];
};

/* What the fuzzer knows about a VM; shared by its VM and vCPU fds. */
struct vmst {
	int refs;
	pthread_mutex_t lock;		/* streams */
	pthread_rwlock_t mem;		/* readers write guest memory */
	struct region reg[MAX_REGIONS];
	struct stream streams[G_MAX_VCPU_ID];
};

struct obj {
	int kind;
	int fd;
	int refs;
	struct vmst *vm;
	struct kvm_run *run;
	size_t run_size;
	uint32_t vcpu_id;
	bool closed;		/* op_close() closed fd; the number may be reused */
};

static struct obj *objs[MAX_OBJS];
static pthread_mutex_t tbl_lock = PTHREAD_MUTEX_INITIALIZER;
static int nr_vms;

static struct kvm_cpuid2 *supported_cpuid;
static uint32_t *msr_list;
static int nr_msr_list;
static size_t vcpu_mmap_size;
static const char *dev_path;

static struct {
	uint64_t seed;
	int seconds, threads;
	long ops;
	bool verbose;
	unsigned int no;	/* GEN_NO_* */
	unsigned int modes;	/* bit per enum mode a stream may start in */
} opt = { .seconds = 60, .threads = 4, .modes = (1u << 6) - 1 };

static volatile int stop;

struct worker {
	pthread_t tid;
	int idx;
	struct rng rng;
	uint64_t progress;	/* operations done */
	const char *doing;	/* ioctl or operation in progress */
	uint8_t *big;		/* BIG_BUF for variable-sized ioctls */
	uint8_t *code;
};

static struct worker workers[MAX_THREADS];
static __thread int my_idx = -1;	/* the worker this thread is, or -1 */

/* An ioctl, counted by kind and errno: the result, or -errno. */
static long fz_ioctl(struct worker *w, int id, int fd, unsigned long req,
		     unsigned long arg)
{
	long r;
	int e;

	w->doing = ioctl_names[id];
	r = ioctl(fd, req, arg);
	e = r < 0 ? errno : 0;
	w->doing = NULL;
	count(st.ioctls[id], 1);
	count(st.errs[id][e > NR_ERRNO ? NR_ERRNO : e], 1);
	return r < 0 ? -e : r;
}

/*
 * A random ioctl number that names an ioctl creating an fd (about one
 * VM_UNKNOWN in 4096 is KVM_CREATE_VCPU): close what it made, or the
 * object it holds - a vCPU keeps its VM and that VM's memory slots - lives
 * on untracked until exit.
 */
static void unknown_done(unsigned long cmd, long r, void *arg)
{
	if (cmd == KVM_CREATE_VCPU || cmd == KVM_GET_STATS_FD ||
	    cmd == KVM_CREATE_VM) {
		if (r >= 0)
			close(r);
	} else if (cmd == KVM_CREATE_DEVICE && r == 0) {
		struct kvm_create_device *cd = arg;

		if (!(cd->flags & KVM_CREATE_DEVICE_TEST))
			close(cd->fd);
	}
}

/* The object table: refcounted, so a closed entry's memory outlives users. */
static struct obj *obj_get(struct worker *w, int kinds)
{
	struct obj *o;
	int i, tries;

	pthread_mutex_lock(&tbl_lock);
	for (tries = 0; tries < 8; tries++) {
		i = rnd(&w->rng, MAX_OBJS);
		o = objs[i];
		if (o && (o->kind & kinds)) {
			o->refs++;
			pthread_mutex_unlock(&tbl_lock);
			return o;
		}
	}
	/* Take the first of the right kind rather than do nothing. */
	for (i = 0; i < MAX_OBJS; i++) {
		o = objs[i];
		if (o && (o->kind & kinds)) {
			o->refs++;
			pthread_mutex_unlock(&tbl_lock);
			return o;
		}
	}
	pthread_mutex_unlock(&tbl_lock);
	return NULL;
}

/*
 * Address space that once held guest memory only ever holds guest memory
 * again: a dropped VM's reservations (region plus guard) go to this pool,
 * with their pages dropped, and new VMs take theirs from it. A memory slot
 * can outlive the fuzzer's record of its VM - a VM kept alive by an fd that
 * a random ioctl number created, or a slot set through a closed fd number
 * that another thread still used and that now names another VM - and the
 * hypervisor writes through it; that must never land in the fuzzer's heap.
 * At most MAX_VMS VMs of MAX_REGIONS regions exist at once, so the pool
 * stays small. Protected by tbl_lock.
 */
#define POOL_SIZE	(4 * MAX_VMS * MAX_REGIONS)
static struct {
	uint8_t *p;
	size_t len;
} pool[POOL_SIZE];
static int pool_n;

static uint8_t *region_reserve(size_t len)
{
	uint8_t *p;
	int i;

	pthread_mutex_lock(&tbl_lock);
	for (i = 0; i < pool_n; i++) {
		if (pool[i].len == len) {
			p = pool[i].p;
			pool[i] = pool[--pool_n];
			pthread_mutex_unlock(&tbl_lock);
			return p;
		}
	}
	pthread_mutex_unlock(&tbl_lock);
	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void region_release(uint8_t *p, size_t len)
{
	mmap(p, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	     -1, 0);
	pthread_mutex_lock(&tbl_lock);
	if (pool_n < POOL_SIZE) {
		pool[pool_n].p = p;
		pool[pool_n++].len = len;
		p = NULL;
	}
	pthread_mutex_unlock(&tbl_lock);
	/* Unreachable while the bound above holds. */
	if (p)
		munmap(p, len);
}

static void vm_put(struct vmst *vm)
{
	int i;

	pthread_mutex_lock(&tbl_lock);
	i = --vm->refs;
	if (!i)
		nr_vms--;
	pthread_mutex_unlock(&tbl_lock);
	if (i)
		return;
	for (i = 0; i < MAX_REGIONS; i++)
		if (vm->reg[i].hva)
			region_release(vm->reg[i].hva, vm->reg[i].size + REGION_GUARD);
	pthread_rwlock_destroy(&vm->mem);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static void obj_put(struct obj *o)
{
	int refs;

	pthread_mutex_lock(&tbl_lock);
	refs = --o->refs;
	pthread_mutex_unlock(&tbl_lock);
	if (refs)
		return;
	if (o->run)
		munmap(o->run, o->run_size);
	if (o->vm)
		vm_put(o->vm);
	free(o);
}

/* Publish o in the table (which holds one reference), or drop it. */
static void obj_add(struct obj *o)
{
	int i;

	o->refs = 1;
	pthread_mutex_lock(&tbl_lock);
	for (i = 0; i < MAX_OBJS; i++) {
		if (!objs[i]) {
			objs[i] = o;
			pthread_mutex_unlock(&tbl_lock);
			return;
		}
	}
	pthread_mutex_unlock(&tbl_lock);
	close(o->fd);
	obj_put(o);
}

static struct obj *obj_new(int kind, int fd, struct vmst *vm)
{
	struct obj *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->kind = kind;
	o->fd = fd;
	o->vm = vm;
	if (vm) {
		pthread_mutex_lock(&tbl_lock);
		vm->refs++;
		pthread_mutex_unlock(&tbl_lock);
	}
	return o;
}

/* Close a random entry: whoever still uses it races with this. */
static void op_close(struct worker *w)
{
	struct obj *o;
	int i;

	pthread_mutex_lock(&tbl_lock);
	i = rnd(&w->rng, MAX_OBJS);
	o = objs[i];
	objs[i] = NULL;
	pthread_mutex_unlock(&tbl_lock);
	if (!o)
		return;
	__atomic_store_n(&o->closed, true, __ATOMIC_RELAXED);
	w->doing = "close";
	close(o->fd);
	w->doing = NULL;
	count(st.closes, 1);
	obj_put(o);
}

static void map_run(struct obj *o)
{
	void *p = mmap(NULL, vcpu_mmap_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, o->fd, 0);

	if (p == MAP_FAILED)
		return;
	o->run = p;
	o->run_size = vcpu_mmap_size;
	/*
	 * --no run sets immediate_exit before every KVM_RUN, but in the
	 * kvm_run of the vCPU the thread's object knew: when another thread
	 * closed that fd and the number now names a new vCPU, it is the new
	 * one that runs. Set it here too, before the vCPU is published.
	 */
	if (opt.no & GEN_NO_RUN)
		o->run->immediate_exit = 1;
}

static void op_dup(struct worker *w)
{
	struct obj *o = obj_get(w, K_SYS | K_VM | K_VCPU), *n;
	int fd;

	if (!o)
		return;
	fd = dup(o->fd);
	if (fd >= 0) {
		n = obj_new(o->kind, fd, o->vm);
		if (n) {
			n->vcpu_id = o->vcpu_id;
			if (n->kind == K_VCPU)
				map_run(n);
			obj_add(n);
			count(st.dups, 1);
		} else {
			close(fd);
		}
	}
	obj_put(o);
}

static void op_open(struct worker *w)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);
	struct obj *o;

	if (fd < 0)
		return;
	o = obj_new(K_SYS, fd, NULL);
	if (!o) {
		close(fd);
		return;
	}
	count(st.opens, 1);
	obj_add(o);
}

/* --- Guest memory and the state a guest starts in --- */

static uint64_t gdt_entry(uint32_t base, uint32_t limit, int access, int flags)
{
	return (limit & 0xffffULL) | (base & 0xffffffULL) << 16 |
	       (uint64_t)access << 40 | ((limit >> 16) & 0xfULL) << 48 |
	       (uint64_t)flags << 52 | ((uint64_t)base >> 24) << 56;
}

/*
 * Descriptor tables, page tables and exception stubs in region 0 (gen.h
 * has the layout). Every exception handler steps the faulting RIP on by
 * one byte and returns, so random code makes progress through faults: the
 * 64-bit and 32-bit stubs drop the error code of the vectors that push
 * one (SDM vol. 3 6.13), the real-mode stub has none to drop.
 */
static void write_tables(struct worker *w, uint8_t *mem, bool junk)
{
	static const uint8_t errcode[32] = {
		[8] = 1, [10] = 1, [11] = 1, [12] = 1, [13] = 1, [14] = 1,
		[17] = 1, [21] = 1, [29] = 1, [30] = 1,
	};
	uint64_t *gdt = (uint64_t *)(mem + G_GDT);
	uint64_t *idt64 = (uint64_t *)(mem + G_IDT64);
	uint64_t *idt32 = (uint64_t *)(mem + G_IDT32);
	uint64_t *pml4 = (uint64_t *)(mem + G_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + G_PDPT);
	uint32_t *pd32 = (uint32_t *)(mem + G_PD32);
	uint64_t *pd64 = (uint64_t *)(mem + G_PD64);
	uint32_t *ivt = (uint32_t *)(mem + G_IVT);
	uint8_t *s;
	uint64_t h;
	int i;

	memset(gdt, 0, 0x1000);
	gdt[SEL_CODE64 >> 3] = gdt_entry(0, 0xfffff, 0x9b, 0xa);
	gdt[SEL_DATA >> 3] = gdt_entry(0, 0xfffff, 0x93, 0xc);
	gdt[SEL_CODE32 >> 3] = gdt_entry(0, 0xfffff, 0x9b, 0xc);
	gdt[SEL_CODE16 >> 3] = gdt_entry(0, 0xffff, 0x9b, 0);
	gdt[SEL_DATA16 >> 3] = gdt_entry(0, 0xffff, 0x93, 0);
	gdt[SEL_TSS >> 3] = gdt_entry(G_TSS, 0x67, 0x89, 0);
	gdt[SEL_CODE64_U >> 3] = gdt_entry(0, 0xfffff, 0xfb, 0xa);
	gdt[SEL_DATA_U >> 3] = gdt_entry(0, 0xfffff, 0xf3, 0xc);
	gdt[SEL_CODE32_U >> 3] = gdt_entry(0, 0xfffff, 0xfb, 0xc);

	gdt[SEL_TSS32 >> 3] = gdt_entry(G_TSS32, 0x67, 0x89, 0);

	/*
	 * The stack for interrupts from CPL 3 (SDM vol. 3 7.7 and 8.2.1):
	 * RSP0 of the 64-bit TSS, ESP0 and SS0 of the 32-bit one. All vCPUs
	 * share it; what they do to each other there is their business.
	 */
	memset(mem + G_TSS, 0, 0x800);
	*(uint64_t *)(mem + G_TSS + 4) = G_STACK + G_MAX_VCPU_ID * G_STACK_SIZE - 16;
	*(uint32_t *)(mem + G_TSS32 + 4) = G_STACK + G_MAX_VCPU_ID * G_STACK_SIZE - 16;
	*(uint32_t *)(mem + G_TSS32 + 8) = SEL_DATA;

	for (i = 0; i < 256; i++) {
		h = G_STUB64 + 16 * i;
		idt64[2 * i] = (h & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
			       0xeeULL << 40 | ((h >> 16) & 0xffff) << 48;
		idt64[2 * i + 1] = h >> 32;
		h = G_STUB32 + 16 * i;
		idt32[i] = (h & 0xffff) | (uint64_t)SEL_CODE32 << 16 |
			   0xeeULL << 40 | ((h >> 16) & 0xffff) << 48;
		ivt[i] = (G_STUB16 >> 4) << 16;

		s = mem + G_STUB64 + 16 * i;
		memset(s, 0x90, 16);
		if (i < 32 && errcode[i])
			memcpy(s, "\x48\x83\xc4\x08", 4);	/* add rsp, 8 */
		memcpy(s + 4, "\x48\xff\x04\x24\x48\xcf", 6);	/* inc [rsp]; iretq */
		s = mem + G_STUB32 + 16 * i;
		memset(s, 0x90, 16);
		if (i < 32 && errcode[i])
			memcpy(s, "\x83\xc4\x04", 3);		/* add esp, 4 */
		memcpy(s + 4, "\xff\x04\x24\xcf", 4);		/* inc [esp]; iret */
	}
	/* push bp; mov bp, sp; inc word [bp+2]; pop bp; iret */
	memcpy(mem + G_STUB16, "\x55\x89\xe5\xff\x46\x02\x5d\xcf", 8);

	/* 4-level paging: 0 - 4 GiB with 2 MiB pages, user-accessible. */
	memset(pml4, 0, 0x2000);
	pml4[0] = G_PDPT | 7;
	for (i = 0; i < 4; i++)
		pdpt[i] = (G_PD64 + 0x1000 * i) | 7;
	for (i = 0; i < 2048; i++)
		pd64[i] = ((uint64_t)i << 21) | 0x87;
	/* 32-bit paging: 0 - 4 GiB with 4 MiB pages. */
	for (i = 0; i < 1024; i++)
		pd32[i] = ((uint32_t)i << 22) | 0x87;

	rnd_fill(&w->rng, mem + G_JUNK, G_JUNK_SIZE);

	if (!junk)
		return;
	/* Junk where the guest will look: descriptors, gates, PTEs. */
	for (i = rnd(&w->rng, 16); i >= 0; i--) {
		switch (rnd(&w->rng, 4)) {
		case 0:
			gdt[rnd(&w->rng, 16)] = rnd_interesting(&w->rng);
			break;
		case 1:
			idt64[rnd(&w->rng, 512)] = rnd_interesting(&w->rng);
			break;
		case 2:
			pd64[rnd(&w->rng, 2048)] = rnd_interesting(&w->rng);
			break;
		default:
			idt32[rnd(&w->rng, 256)] = rnd_interesting(&w->rng);
		}
	}
}

static struct kvm_segment seg(uint16_t sel, uint64_t base, uint32_t limit,
			      int type, int db, int l, int g)
{
	return (struct kvm_segment){
		.selector = sel, .base = base, .limit = limit, .type = type,
		.present = 1, .s = 1, .dpl = sel & 3, .db = db, .l = l, .g = g,
	};
}

static bool host_is_intel;

/*
 * Two bugs of QEMU's TCG (7.2, the SVM bed) end the whole L1 VM, whichever
 * hypervisor runs in it, so on AMD the fuzzer keeps every state it sets
 * (and the code it generates, gen.c) clear of them; VMX is not affected.
 *
 * - QEMU aborts ("invalid tss", "invalid tss type") when a 32-bit interrupt
 *   from CPL 3 finds TR not present or of a busy type, although busy is
 *   what TR holds on hardware (SDM vol. 3 7.2.2); in 64-bit mode when TR is
 *   not present. SVM does not check TR on VMRUN: TR is made present and of
 *   the available 32-bit type.
 * - An exit from a guest with EFER.LME set while CR0.PG and CR4.PAE are
 *   clear (legal: it is how long mode is entered) leaves the L1 CPU with
 *   the guest's CR0 and paging off, and it hangs: #VMEXIT reloads the host
 *   CR0 while the guest's EFER and CR4 are still in place, and QEMU ignores
 *   a CR0 write that turns paging on with LME set and PAE clear. Seen on
 *   okvm and on kvm-amd alike (Documentation/testing.rst). LME is cleared
 *   whenever LMA is.
 */
static void bed_safe_sregs(struct kvm_sregs *s)
{
	if (host_is_intel)
		return;
	s->tr.present = 1;
	s->tr.unusable = 0;
	if ((s->tr.type & 7) != 1)
		s->tr.type = 9;
	if (!(s->efer & 0x400))
		s->efer &= ~0x100ULL;
}

enum mode { M_REAL, M_PROT16, M_PROT32, M_PAGED32, M_LONG, M_COMPAT, NR_MODES };
static const char *const mode_names[] = {
	"real", "prot16", "prot32", "paged32", "long", "compat",
};

static const int mode_bits[] = { 16, 16, 32, 32, 64, 32 };
static uint64_t mode_loads[NR_MODES];

/*
 * Registers for mode m, with the code at code_gpa and the stack below
 * stack_top. Returns the RIP of the code's first byte.
 */
static uint64_t mode_sregs(struct worker *w, enum mode m, struct kvm_sregs *s,
			   uint64_t code_gpa, uint64_t stack_top, bool user,
			   uint64_t *rsp)
{
	struct rng *r = &w->rng;
	uint64_t rip = code_gpa;

	s->gdt.base = G_GDT;
	s->gdt.limit = 0x1000 - 1;
	s->tr = (struct kvm_segment){ .selector = SEL_TSS, .base = G_TSS,
				      .limit = 0x67, .type = 11, .present = 1 };
	s->ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
	*rsp = stack_top;
	switch (m) {
	case M_REAL:
		s->cr0 = one_in(r, 2) ? 0x60000010 : 0x10;
		s->cs = seg(code_gpa >> 4, code_gpa, 0xffff, 11, 0, 0, 0);
		s->cs.selector = code_gpa >> 4;
		s->ds = seg(0, 0, 0xffff, 3, 0, 0, 0);
		s->ss = seg((stack_top - G_STACK_SIZE) >> 4,
			    stack_top - G_STACK_SIZE, 0xffff, 3, 0, 0, 0);
		*rsp = G_STACK_SIZE - 16;
		s->idt.base = G_IVT;
		s->idt.limit = 0x3ff;
		rip = 0;
		break;
	case M_PROT16:
		s->cr0 = 0x11 | (1 << 5);
		s->cs = seg(SEL_CODE16, code_gpa, 0xffff, 11, 0, 0, 0);
		s->ds = seg(SEL_DATA16, 0, 0xffff, 3, 0, 0, 0);
		s->ss = seg(SEL_DATA16, stack_top - G_STACK_SIZE, 0xffff, 3, 0, 0, 0);
		*rsp = G_STACK_SIZE - 16;
		s->idt.base = G_IDT32;
		s->idt.limit = 256 * 8 - 1;
		rip = 0;
		break;
	case M_PROT32:
	case M_PAGED32:
		s->cr0 = 0x31;
		if (m == M_PAGED32) {
			s->cr0 |= 0x80010000;	/* PG, WP */
			s->cr4 = 0x10;		/* PSE */
			s->cr3 = G_PD32;
		}
		s->cs = seg(user ? SEL_CODE32_U : SEL_CODE32, 0, 0xfffff, 11, 1, 0, 1);
		s->tr.selector = SEL_TSS32;
		s->tr.base = G_TSS32;
		s->ds = seg(user ? SEL_DATA_U : SEL_DATA, 0, 0xfffff, 3, 1, 0, 1);
		s->ss = s->ds;
		s->idt.base = G_IDT32;
		s->idt.limit = 256 * 8 - 1;
		break;
	case M_LONG:
	case M_COMPAT:
		s->cr0 = 0x80050033;	/* PG, AM, WP, NE, ET, MP, PE */
		s->cr4 = 0x620;		/* OSXMMEXCPT, OSFXSR, PAE */
		s->cr3 = G_PML4;
		s->efer = 0x500 | (one_in(r, 2) ? 0x801 : 0);	/* LMA, LME, NXE, SCE */
		if (m == M_LONG)
			s->cs = seg(user ? SEL_CODE64_U : SEL_CODE64, 0, 0xfffff,
				    11, 0, 1, 1);
		else
			s->cs = seg(user ? SEL_CODE32_U : SEL_CODE32, 0, 0xfffff,
				    11, 1, 0, 1);
		s->ds = seg(user ? SEL_DATA_U : SEL_DATA, 0, 0xfffff, 3, 1, 0, 1);
		s->ss = s->ds;
		s->idt.base = G_IDT64;
		s->idt.limit = 256 * 16 - 1;
		break;
	default:
		break;
	}
	s->cs.dpl = s->cs.selector & 3;
	s->es = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	s->ss.dpl = s->cs.dpl;
	if (opt.no & GEN_NO_AC)
		s->cr0 &= ~(1ULL << 18);
	/* Sometimes the IDT is empty: the first exception shuts down. */
	if (one_in(r, 16))
		s->idt.limit = 0;
	/* Sometimes a random control bit more. */
	if (one_in(r, 8))
		s->cr4 ^= 1ULL << rnd(r, 25);
	if (one_in(r, 16))
		s->cr0 ^= 1ULL << rnd(r, 32);
	if (one_in(r, 16))
		s->efer ^= 1ULL << rnd(r, 16);
	bed_safe_sregs(s);
	return rip;
}

/* Write a new instruction stream for vCPU o and point its registers at it. */
static void op_load(struct worker *w, struct obj *o)
{
	struct vmst *vm = o->vm;
	uint32_t id = o->vcpu_id % G_MAX_VCPU_ID;
	uint64_t code_gpa = G_CODE + id * G_CODE_SIZE;
	uint64_t stack_top = G_STACK + (id + 1) * G_STACK_SIZE - 16;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct stream *sm;
	struct gen g;
	enum mode m;
	bool user;
	uint64_t rip, rsp;

	do
		m = rnd(&w->rng, NR_MODES);
	while (!(opt.modes & (1u << m)));
	user = m >= M_PROT32 && one_in(&w->rng, 5);
	memset(&g, 0, sizeof(g));
	g.rng = &w->rng;
	g.buf = w->code;
	g.cap = G_CODE_SIZE;
	g.bits = mode_bits[m];
	g.code_gpa = code_gpa;
	g.no = opt.no;
	g.long_mode = m == M_LONG || m == M_COMPAT;
	g.svm_bed = !host_is_intel;
	gen_code(&g);

	pthread_rwlock_rdlock(&vm->mem);
	if (!vm->reg[0].mapped) {
		pthread_rwlock_unlock(&vm->mem);
		return;
	}
	write_tables(w, vm->reg[0].hva, one_in(&w->rng, 8));
	memset(vm->reg[0].hva + code_gpa, 0xf4, G_CODE_SIZE);
	memcpy(vm->reg[0].hva + code_gpa, g.buf, g.len);
	pthread_rwlock_unlock(&vm->mem);

	/* Keep what the mode does not set: APIC base, pending interrupts. */
	if (fz_ioctl(w, I_GET_SREGS, o->fd, KVM_GET_SREGS, (unsigned long)&sregs))
		memset(&sregs, 0, sizeof(sregs));
	rip = mode_sregs(w, m, &sregs, code_gpa, stack_top, user, &rsp);
	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rsp = rsp;
	regs.rflags = 2 | (one_in(&w->rng, 4) ? 0x200 : 0) |
		      (one_in(&w->rng, 32) ? 0x100 : 0);
	regs.rax = rnd_interesting(&w->rng);
	regs.rcx = rnd_interesting(&w->rng);

	pthread_mutex_lock(&vm->lock);
	sm = &vm->streams[id];
	sm->origin = rip;
	sm->len = g.len;
	sm->reached = 0;
	sm->ninsns = g.ninsns;
	memcpy(sm->starts, g.starts, g.ninsns * sizeof(g.starts[0]));
	pthread_mutex_unlock(&vm->lock);

	fz_ioctl(w, I_SET_SREGS, o->fd, KVM_SET_SREGS, (unsigned long)&sregs);
	fz_ioctl(w, I_SET_REGS, o->fd, KVM_SET_REGS, (unsigned long)&regs);
	count(st.loads, 1);
	count(st.code_bytes, g.len);
	count(mode_loads[m], 1);
}

/* Credit the stream of vCPU o with the code before RIP (see the top). */
static void account_rip(struct obj *o, uint64_t rip)
{
	struct stream *sm = &o->vm->streams[o->vcpu_id % G_MAX_VCPU_ID];
	uint64_t off;
	int i, n = 0;

	pthread_mutex_lock(&o->vm->lock);
	off = rip - sm->origin;
	if (off < sm->len && off > sm->reached) {
		for (i = 0; i < sm->ninsns; i++)
			if (sm->starts[i] > sm->reached && sm->starts[i] <= off)
				n++;
		count(st.bytes_reached, off - sm->reached);
		count(st.groups_reached, n);
		sm->reached = off;
	}
	pthread_mutex_unlock(&o->vm->lock);
}

static void op_run(struct worker *w, struct obj *o)
{
	struct kvm_run *run = o->run;
	struct kvm_regs regs;
	uint64_t end;
	long r;

	if (!run)
		return;
	/*
	 * --no run: KVM_RUN still runs its entry path (signal mask, the
	 * completion of a pending exit, kvm_run's inputs) but returns before
	 * the guest would run. Not through a closed fd: its number may name
	 * a vCPU created a moment ago, whose kvm_run map_run() has not set
	 * yet (seen once in about 40,000 runs: a fresh vCPU's reset state
	 * ran). The race of close() with KVM_RUN stays.
	 */
	if ((opt.no & GEN_NO_RUN) && __atomic_load_n(&o->closed, __ATOMIC_RELAXED))
		return;
	run->immediate_exit = (opt.no & GEN_NO_RUN) || one_in(&w->rng, 32);
	if (one_in(&w->rng, 64))
		run->cr8 = rnd(&w->rng, 32);
	if (one_in(&w->rng, 64))
		run->request_interrupt_window = 1;
	r = fz_ioctl(w, I_RUN, o->fd, KVM_RUN, 0);
	count(st.runs, 1);
	if (r < 0) {
		count(st.run_errors, 1);
		if (r == -EINTR)
			count(st.exits[KVM_EXIT_INTR], 1);
		return;
	}
	count(st.exits[run->exit_reason < NR_EXITS ? run->exit_reason : NR_EXITS], 1);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		/* The data must lie inside the mapping (api.rst, KVM_EXIT_IO). */
		end = run->io.data_offset + (uint64_t)run->io.size * run->io.count;
		if (run->io.data_offset < sizeof(*run) || end > o->run_size ||
		    !run->io.size || run->io.size > 4) {
			count(st.bad_io_exits, 1);
			ksft_print_msg("bad KVM_EXIT_IO: port %#x size %u count %u data_offset %#llx, mapping %zu bytes\n",
				       run->io.port, run->io.size, run->io.count,
				       (unsigned long long)run->io.data_offset,
				       o->run_size);
			break;
		}
		if (run->io.direction == KVM_EXIT_IO_IN)
			rnd_fill(&w->rng, (uint8_t *)run + run->io.data_offset,
				 end - run->io.data_offset);
		break;
	case KVM_EXIT_MMIO:
		if (!run->mmio.is_write)
			rnd_fill(&w->rng, run->mmio.data, sizeof(run->mmio.data));
		break;
	default:
		break;
	}
	if (fz_ioctl(w, I_GET_REGS, o->fd, KVM_GET_REGS, (unsigned long)&regs) == 0)
		account_rip(o, regs.rip);
}

/* --- ioctls with random arguments --- */

static void op_sys(struct worker *w, struct obj *o)
{
	struct rng *r = &w->rng;
	struct kvm_cpuid2 *cpuid = (void *)w->big;
	struct kvm_msr_list *list = (void *)w->big;
	struct kvm_msrs *msrs = (void *)w->big;
	struct obj *n;
	struct vmst *vm;
	unsigned long cmd;
	long fd;
	int i;

	switch (rnd(r, 10)) {
	case 0:
		fz_ioctl(w, I_GET_API_VERSION, o->fd, KVM_GET_API_VERSION, 0);
		break;
	case 1:
		fz_ioctl(w, I_CHECK_EXTENSION, o->fd, KVM_CHECK_EXTENSION,
			 one_in(r, 8) ? rnd_interesting(r) : rnd(r, 260));
		break;
	case 2:
		fz_ioctl(w, I_GET_VCPU_MMAP_SIZE, o->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
		break;
	case 3:
	case 4:
		/* nent in bounds of BIG_BUF (40 bytes an entry) */
		cpuid->nent = one_in(r, 2) ? rnd(r, 1600) : rnd_interesting(r) % 1600;
		fz_ioctl(w, one_in(r, 2) ? I_GET_SUPPORTED_CPUID : I_GET_EMULATED_CPUID,
			 o->fd, one_in(r, 2) ? KVM_GET_SUPPORTED_CPUID : KVM_GET_EMULATED_CPUID,
			 (unsigned long)cpuid);
		break;
	case 5:
		list->nmsrs = rnd(r, 4096);
		if (one_in(r, 2))
			fz_ioctl(w, I_GET_MSR_INDEX_LIST, o->fd,
				 KVM_GET_MSR_INDEX_LIST, (unsigned long)list);
		else
			fz_ioctl(w, I_GET_MSR_FEATURE_INDEX_LIST, o->fd,
				 KVM_GET_MSR_FEATURE_INDEX_LIST, (unsigned long)list);
		break;
	case 6:
		msrs->nmsrs = rnd(r, 8);
		msrs->pad = one_in(r, 8);
		for (i = 0; i < 8; i++)
			msrs->entries[i].index = one_in(r, 2) ? 0x10a + rnd(r, 2) :
						 rnd_interesting(r);
		fz_ioctl(w, I_SYS_GET_MSRS, o->fd, KVM_GET_MSRS, (unsigned long)msrs);
		break;
	case 7:
	case 8:
		pthread_mutex_lock(&tbl_lock);
		if (nr_vms >= MAX_VMS) {
			pthread_mutex_unlock(&tbl_lock);
			return;
		}
		nr_vms++;
		pthread_mutex_unlock(&tbl_lock);
		fd = fz_ioctl(w, I_CREATE_VM, o->fd, KVM_CREATE_VM,
			      one_in(r, 8) ? rnd_interesting(r) : 0);
		vm = fd >= 0 ? calloc(1, sizeof(*vm)) : NULL;
		if (!vm) {
			if (fd >= 0)
				close(fd);
			pthread_mutex_lock(&tbl_lock);
			nr_vms--;
			pthread_mutex_unlock(&tbl_lock);
			return;
		}
		count(st.vms, 1);
		pthread_mutex_init(&vm->lock, NULL);
		pthread_rwlock_init(&vm->mem, NULL);
		for (i = 0; i < MAX_REGIONS; i++) {
			struct region *rg = &vm->reg[i];

			rg->size = i ? (64 << 10) << rnd(r, 5) : G_MEM_SIZE;
			rg->gpa = i ? 0x10000000 + (i - 1) * 0x400000ULL : 0;
			rg->hva = region_reserve(rg->size + REGION_GUARD);
			if (!rg->hva)
				continue;
			if (mmap(rg->hva, rg->size, PROT_READ | PROT_WRITE,
				 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
				rg->mapped = true;
			if (i == 0 && rg->mapped)
				write_tables(w, rg->hva, false);
			if (i == 0 || one_in(r, 2)) {
				struct kvm_userspace_memory_region m = {
					.slot = i, .guest_phys_addr = rg->gpa,
					.memory_size = rg->size,
					.userspace_addr = (uintptr_t)rg->hva,
				};
				fz_ioctl(w, I_SET_USER_MEMORY_REGION, fd,
					 KVM_SET_USER_MEMORY_REGION, (unsigned long)&m);
			}
		}
		n = obj_new(K_VM, fd, vm);
		if (n)
			obj_add(n);
		else
			close(fd);
		break;
	default:
		/*
		 * An unknown or random ioctl number, but never one that could
		 * block SIGUSR1 or point a slot at memory the fuzzer uses.
		 */
		cmd = _IOC(rnd(r, 4), KVMIO, rnd(r, 256), rnd(r, 1024));
		if (_IOC_NR(cmd) == _IOC_NR(KVM_SET_SIGNAL_MASK) ||
		    _IOC_NR(cmd) == _IOC_NR(KVM_SET_USER_MEMORY_REGION) ||
		    _IOC_NR(cmd) == _IOC_NR(KVM_CREATE_VM))
			return;
		rnd_fill(r, w->big, 4096);
		unknown_done(cmd, fz_ioctl(w, I_SYS_UNKNOWN, o->fd, cmd,
					   (unsigned long)w->big), w->big);
	}
}

/* A memory slot change: valid ones on the fuzzer's regions, and junk. */
static void op_memslot(struct worker *w, struct obj *o)
{
	struct rng *r = &w->rng;
	struct vmst *vm = o->vm;
	int i = rnd(r, MAX_REGIONS);
	struct region *rg = &vm->reg[i];
	struct kvm_userspace_memory_region m = {
		.slot = i, .guest_phys_addr = rg->gpa,
		.memory_size = rg->size, .userspace_addr = (uintptr_t)rg->hva,
	};

	if (!rg->hva)
		return;
	switch (rnd(r, 8)) {
	case 0:		/* delete */
		m.memory_size = 0;
		break;
	case 1:		/* move */
		m.guest_phys_addr = one_in(r, 2) ? rg->gpa + 0x1000 * rnd(r, 512) :
				    (rnd(r, 1ULL << 32) & ~0xfffULL);
		break;
	case 2:		/* log dirty pages or stop */
		m.flags = KVM_MEM_LOG_DIRTY_PAGES * rnd(r, 2);
		break;
	case 3:		/* read-only */
		m.flags = KVM_MEM_READONLY;
		break;
	case 4:		/* part of the region, into its guard */
		m.userspace_addr += 0x1000 * rnd(r, rg->size >> 12);
		m.memory_size = 0x1000 * (1 + rnd(r, (rg->size + REGION_GUARD) >> 12));
		if (m.userspace_addr + m.memory_size > (uintptr_t)rg->hva + rg->size + REGION_GUARD)
			m.memory_size = (uintptr_t)rg->hva + rg->size + REGION_GUARD -
					m.userspace_addr;
		m.guest_phys_addr += 0x1000 * rnd(r, 64);
		break;
	case 5:		/* junk: slot id, flags, alignment, address space */
		switch (rnd(r, 6)) {
		case 0:
			m.slot = rnd_interesting(r);
			break;
		case 1:
			m.slot |= 1 << 16;
			break;
		case 2:
			m.flags = rnd_interesting(r);
			break;
		case 3:
			m.guest_phys_addr |= rnd(r, 0x1000);
			break;
		case 4:
			m.userspace_addr = (uint64_t[]){ 0, 1, 0x8000000000000000ULL,
				0xffff888000000000ULL, 0x7ffffffff000ULL,
				(uintptr_t)rg->hva + 0x800 }[rnd(r, 6)];
			break;
		default:
			m.guest_phys_addr = rnd_interesting(r) & ~0xfffULL;
		}
		break;
	default:	/* put it back where it was */
		break;
	}
	fz_ioctl(w, I_SET_USER_MEMORY_REGION, o->fd, KVM_SET_USER_MEMORY_REGION,
		 (unsigned long)&m);
}

/* Host-side changes to guest memory under running vCPUs. */
static void op_hostmem(struct worker *w, struct obj *o)
{
	struct rng *r = &w->rng;
	struct vmst *vm = o->vm;
	struct region *rg = &vm->reg[rnd(r, MAX_REGIONS)];
	size_t off, len;
	int op = rnd(r, 6);

	if (!rg->hva)
		return;
	/*
	 * The host writes only below G_DATA in region 0 (op_load), under the
	 * read lock and only while the region is mapped; any other range may
	 * go away at any time.
	 */
	off = rnd(r, rg->size >> 12) << 12;
	if (rg == &vm->reg[0] && off < G_DATA)
		off = G_DATA + (off % (rg->size - G_DATA));
	len = (1 + rnd(r, 64)) << 12;
	if (off + len > rg->size)
		len = rg->size - off;
	switch (op) {
	case 0:
	case 1:
		/*
		 * The whole region or [off, off + len), one draw for both:
		 * with two, "from off, the region's size" could zero memory
		 * past the guard (it zeroed the worker's malloc arena).
		 */
		if (one_in(r, 4)) {
			off = 0;
			len = rg->size;
		}
		w->doing = "madvise";
		madvise(rg->hva + off, len, MADV_DONTNEED);
		count(st.madvises, 1);
		break;
	case 2:		/* "munmap": a PROT_NONE mapping replaces it */
		w->doing = "unmap";
		if (one_in(r, 3)) {
			pthread_rwlock_wrlock(&vm->mem);
			mmap(rg->hva, rg->size, PROT_NONE,
			     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			rg->mapped = false;
			pthread_rwlock_unlock(&vm->mem);
		} else {
			mmap(rg->hva + off, len, PROT_NONE,
			     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		}
		count(st.unmaps, 1);
		break;
	case 3:
	case 4:		/* fresh memory back */
		w->doing = "remap";
		pthread_rwlock_wrlock(&vm->mem);
		if (mmap(rg->hva, rg->size, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
			rg->mapped = true;
		if (rg == &vm->reg[0] && rg->mapped)
			write_tables(w, rg->hva, false);
		pthread_rwlock_unlock(&vm->mem);
		count(st.remaps, 1);
		break;
	default:
		w->doing = "mprotect";
		mprotect(rg->hva + off, len, one_in(r, 2) ? PROT_READ : PROT_READ | PROT_WRITE);
		count(st.mprotects, 1);
	}
	w->doing = NULL;
}

static void op_vm(struct worker *w, struct obj *o)
{
	struct rng *r = &w->rng;
	struct kvm_dirty_log *log = (void *)w->big;
	struct obj *n;
	unsigned long cmd;
	long fd;

	switch (rnd(r, 20)) {
	case 0:
	case 1:
	case 2: {
		uint32_t id = one_in(r, 8) ? rnd_interesting(r) : rnd(r, G_MAX_VCPU_ID);

		fd = fz_ioctl(w, I_CREATE_VCPU, o->fd, KVM_CREATE_VCPU, id);
		if (fd < 0)
			break;
		count(st.vcpus, 1);
		n = obj_new(K_VCPU, fd, o->vm);
		if (!n) {
			close(fd);
			break;
		}
		n->vcpu_id = id;
		map_run(n);
		if (supported_cpuid && !one_in(r, 8))
			fz_ioctl(w, I_SET_CPUID2, fd, KVM_SET_CPUID2,
				 (unsigned long)supported_cpuid);
		obj_add(n);
		break;
	}
	case 3:
	case 4:
	case 5:
		if (!(opt.no & GEN_NO_MEM))
			op_memslot(w, o);
		break;
	case 6:
	case 7:
		if (!(opt.no & GEN_NO_MEM))
			op_hostmem(w, o);
		break;
	case 8:
		/*
		 * The bitmap (in BIG_BUF after the header) fits any slot the
		 * fuzzer makes: 3 MiB is 96 bytes of bits.
		 */
		memset(log, 0, sizeof(*log));
		log->slot = one_in(r, 8) ? rnd_interesting(r) : rnd(r, MAX_REGIONS);
		log->dirty_bitmap = w->big + 4096;
		fz_ioctl(w, I_GET_DIRTY_LOG, o->fd, KVM_GET_DIRTY_LOG, (unsigned long)log);
		break;
	case 9: {
		struct kvm_clear_dirty_log c = {
			.slot = rnd(r, MAX_REGIONS), .first_page = rnd(r, 128),
			.num_pages = 64 * rnd(r, 4), .dirty_bitmap = w->big + 4096,
		};

		fz_ioctl(w, I_CLEAR_DIRTY_LOG, o->fd, KVM_CLEAR_DIRTY_LOG, (unsigned long)&c);
		break;
	}
	case 10:
		if (one_in(r, 2))
			fz_ioctl(w, I_SET_TSS_ADDR, o->fd, KVM_SET_TSS_ADDR,
				 one_in(r, 2) ? 0xfffbd000 : rnd_interesting(r));
		else
			fz_ioctl(w, I_SET_IDENTITY_MAP_ADDR, o->fd, KVM_SET_IDENTITY_MAP_ADDR,
				 (unsigned long)&(uint64_t){ rnd_interesting(r) & ~0xfffULL });
		break;
	case 11:
		fz_ioctl(w, I_VM_CHECK_EXTENSION, o->fd, KVM_CHECK_EXTENSION, rnd(r, 260));
		break;
	case 12: {
		struct kvm_enable_cap cap = {
			.cap = rnd(r, 260), .args = { rnd_interesting(r), rnd_interesting(r) },
		};

		/*
		 * Any capability with random arguments, among them
		 * KVM_CAP_X86_DISABLE_EXITS, which lets HLT run in the guest:
		 * then only the watchdog's signal ends KVM_RUN.
		 */
		fz_ioctl(w, I_VM_ENABLE_CAP, o->fd, KVM_ENABLE_CAP, (unsigned long)&cap);
		break;
	}
	case 13:
		if (one_in(r, 4))
			fz_ioctl(w, I_CREATE_IRQCHIP, o->fd, KVM_CREATE_IRQCHIP, 0);
		else
			fz_ioctl(w, I_IRQ_LINE, o->fd, KVM_IRQ_LINE,
				 (unsigned long)&(struct kvm_irq_level){
					.irq = rnd(r, 32), .level = rnd(r, 2) });
		break;
	case 14: {
		struct kvm_clock_data c = {
			.clock = rnd_interesting(r),
			.flags = rnd(r, 2) ? 0 : rnd_interesting(r),
		};

		if (one_in(r, 2))
			fz_ioctl(w, I_GET_CLOCK, o->fd, KVM_GET_CLOCK, (unsigned long)&c);
		else
			fz_ioctl(w, I_SET_CLOCK, o->fd, KVM_SET_CLOCK, (unsigned long)&c);
		break;
	}
	case 15: {
		/*
		 * An ioeventfd or irqfd on stdin, not an eventfd: refused
		 * (KVM wants an eventfd).
		 */
		struct kvm_ioeventfd io = {
			.addr = rnd(r, 2) ? 0x3f8 : 0xd0000000, .len = 1 << rnd(r, 4),
			.fd = 0, .flags = rnd(r, 32),
		};
		struct kvm_irqfd irq = { .fd = 0, .gsi = rnd(r, 32), .flags = rnd(r, 4) };

		if (one_in(r, 2))
			fz_ioctl(w, I_IOEVENTFD, o->fd, KVM_IOEVENTFD, (unsigned long)&io);
		else
			fz_ioctl(w, I_IRQFD, o->fd, KVM_IRQFD, (unsigned long)&irq);
		break;
	}
	case 16: {
		struct kvm_coalesced_mmio_zone z = {
			.addr = 0xd0000000 + 0x1000 * rnd(r, 4), .size = 0x1000,
		};

		if (one_in(r, 2))
			fz_ioctl(w, I_REGISTER_COALESCED_MMIO, o->fd,
				 KVM_REGISTER_COALESCED_MMIO, (unsigned long)&z);
		else
			fz_ioctl(w, I_SET_NR_MMU_PAGES, o->fd, KVM_SET_NR_MMU_PAGES,
				 rnd_interesting(r) % 100000);
		break;
	}
	case 17:
		fd = fz_ioctl(w, I_GET_STATS_FD, o->fd, KVM_GET_STATS_FD, 0);
		if (fd >= 0)
			close(fd);
		break;
	default:
		cmd = _IOC(rnd(r, 4), KVMIO, rnd(r, 256), rnd(r, 1024));
		if (_IOC_NR(cmd) == _IOC_NR(KVM_SET_SIGNAL_MASK) ||
		    _IOC_NR(cmd) == _IOC_NR(KVM_SET_USER_MEMORY_REGION) ||
		    _IOC_NR(cmd) == 0x49 ||	/* KVM_SET_USER_MEMORY_REGION2 */
		    _IOC_NR(cmd) == _IOC_NR(KVM_CREATE_VM) ||
		    _IOC_NR(cmd) == _IOC_NR(KVM_GET_DIRTY_LOG) ||
		    _IOC_NR(cmd) == _IOC_NR(KVM_CLEAR_DIRTY_LOG))
			return;
		rnd_fill(r, w->big, 4096);
		fd = fz_ioctl(w, I_VM_UNKNOWN, o->fd, cmd, (unsigned long)w->big);
		unknown_done(cmd, fd, w->big);
	}
}

static void op_vcpu(struct worker *w, struct obj *o)
{
	struct rng *r = &w->rng;
	void *big = w->big;
	struct kvm_msrs *msrs = big;
	unsigned long cmd;
	int i, fd = o->fd;

	switch (rnd(r, 40)) {
	case 0 ... 9:
		op_run(w, o);
		break;
	case 10 ... 13:
		op_load(w, o);
		break;
	case 14:
		fz_ioctl(w, I_GET_REGS, fd, KVM_GET_REGS, (unsigned long)big);
		if (one_in(r, 2)) {
			struct kvm_regs *regs = big;

			((uint64_t *)regs)[rnd(r, sizeof(*regs) / 8)] = rnd_interesting(r);
			fz_ioctl(w, I_SET_REGS, fd, KVM_SET_REGS, (unsigned long)big);
		}
		break;
	case 15:
	case 16:
		/*
		 * A valid state with one field changed: a bit of a control
		 * register, EFER, a segment's attributes or limits.
		 */
		if (fz_ioctl(w, I_GET_SREGS, fd, KVM_GET_SREGS, (unsigned long)big))
			break;
		if (one_in(r, 3)) {
			struct kvm_sregs *s = big;

			switch (rnd(r, 5)) {
			case 0:
				s->cr0 ^= 1ULL << rnd(r, 64);
				break;
			case 1:
				s->cr4 ^= 1ULL << rnd(r, 64);
				break;
			case 2:
				s->efer ^= 1ULL << rnd(r, 64);
				break;
			case 3:
				s->cr3 = rnd_interesting(r);
				break;
			default:
				((uint8_t *)&s->cs)[rnd(r, sizeof(struct kvm_segment) * 8)] ^=
					1 << rnd(r, 8);
			}
		} else {
			((uint8_t *)big)[rnd(r, sizeof(struct kvm_sregs))] = rng_next(r);
		}
		bed_safe_sregs(big);
		if (opt.no & GEN_NO_AC)
			((struct kvm_sregs *)big)->cr0 &= ~(1ULL << 18);
		fz_ioctl(w, I_SET_SREGS, fd, KVM_SET_SREGS, (unsigned long)big);
		break;
	case 17:
		fz_ioctl(w, I_GET_FPU, fd, KVM_GET_FPU, (unsigned long)big);
		if (one_in(r, 2)) {
			((uint8_t *)big)[rnd(r, sizeof(struct kvm_fpu))] = rng_next(r);
			fz_ioctl(w, I_SET_FPU, fd, KVM_SET_FPU, (unsigned long)big);
		}
		break;
	case 18:
	case 19:
		msrs->nmsrs = 1 + rnd(r, 8);
		msrs->pad = 0;
		for (i = 0; i < 8; i++) {
			msrs->entries[i].index = one_in(r, 4) || !nr_msr_list ?
				(uint32_t)rnd_interesting(r) :
				msr_list[rnd(r, nr_msr_list)];
			msrs->entries[i].reserved = 0;
			msrs->entries[i].data = rnd_interesting(r);
			/* EFER.LME without LMA hangs the SVM bed (bed_safe_sregs) */
			if (!host_is_intel && msrs->entries[i].index == 0xc0000080)
				msrs->entries[i].data &= ~0x100ULL;
		}
		if (one_in(r, 2))
			fz_ioctl(w, I_GET_MSRS, fd, KVM_GET_MSRS, (unsigned long)msrs);
		else
			fz_ioctl(w, I_SET_MSRS, fd, KVM_SET_MSRS, (unsigned long)msrs);
		break;
	case 20:
		if (!supported_cpuid)
			break;
		if (one_in(r, 2)) {
			struct kvm_cpuid2 *c = big;

			memcpy(c, supported_cpuid, sizeof(*c) +
			       supported_cpuid->nent * sizeof(c->entries[0]));
			if (c->nent) {
				struct kvm_cpuid_entry2 *e = &c->entries[rnd(r, c->nent)];

				(&e->eax)[rnd(r, 4)] ^= 1u << rnd(r, 32);
			}
			fz_ioctl(w, I_SET_CPUID2, fd, KVM_SET_CPUID2, (unsigned long)c);
		} else {
			((struct kvm_cpuid2 *)big)->nent = rnd(r, 300);
			fz_ioctl(w, I_GET_CPUID2, fd, KVM_GET_CPUID2, (unsigned long)big);
		}
		break;
	case 21:
		/* KVM_GET_XSAVE fills 4 KiB; the buffer is BIG_BUF. */
		fz_ioctl(w, I_GET_XSAVE, fd, KVM_GET_XSAVE, (unsigned long)big);
		if (one_in(r, 2)) {
			((uint8_t *)big)[rnd(r, 4096)] ^= 1 << rnd(r, 8);
			fz_ioctl(w, I_SET_XSAVE, fd, KVM_SET_XSAVE, (unsigned long)big);
		}
		break;
	case 22: {
		struct kvm_xcrs *x = big;

		fz_ioctl(w, I_GET_XCRS, fd, KVM_GET_XCRS, (unsigned long)x);
		if (one_in(r, 2)) {
			x->nr_xcrs = one_in(r, 8) ? rnd(r, 20) : 1;
			x->flags = one_in(r, 8);
			x->xcrs[0].xcr = one_in(r, 8) ? rnd(r, 3) : 0;
			x->xcrs[0].value = one_in(r, 2) ? x->xcrs[0].value ^ (1ULL << rnd(r, 20)) :
					   rnd_interesting(r);
			fz_ioctl(w, I_SET_XCRS, fd, KVM_SET_XCRS, (unsigned long)x);
		}
		break;
	}
	case 23: {
		struct kvm_debugregs *dr = big;

		if (opt.no & GEN_NO_DR)
			break;

		fz_ioctl(w, I_GET_DEBUGREGS, fd, KVM_GET_DEBUGREGS, (unsigned long)dr);
		if (one_in(r, 2)) {
			if (one_in(r, 2))
				dr->db[rnd(r, 4)] = G_CODE + rnd(r, 0x10000);
			else
				dr->db[rnd(r, 4)] = rnd_interesting(r);
			dr->dr7 = one_in(r, 2) ? rnd_interesting(r) : 0x400 | rnd(r, 0x100) |
				  (uint64_t)rng_next(r) << 16;
			dr->dr6 = one_in(r, 2) ? 0xffff0ff0 : rnd_interesting(r);
			dr->flags = one_in(r, 8);
			fz_ioctl(w, I_SET_DEBUGREGS, fd, KVM_SET_DEBUGREGS, (unsigned long)dr);
		}
		break;
	}
	case 24:
	case 25: {
		struct kvm_vcpu_events *ev = big;

		fz_ioctl(w, I_GET_VCPU_EVENTS, fd, KVM_GET_VCPU_EVENTS, (unsigned long)ev);
		if (one_in(r, 2)) {
			switch (rnd(r, 5)) {
			case 0:
				ev->exception.injected = 1;
				ev->exception.nr = rnd(r, 32);
				ev->exception.has_error_code = rnd(r, 2);
				ev->exception.error_code = rnd_interesting(r);
				break;
			case 1:
				ev->interrupt.injected = 1;
				ev->interrupt.nr = rng_next(r);
				ev->interrupt.soft = rnd(r, 2);
				break;
			case 2:
				ev->nmi.injected = rnd(r, 2);
				ev->nmi.pending = rnd(r, 2);
				ev->nmi.masked = rnd(r, 2);
				break;
			case 3:
				ev->flags = rnd_interesting(r);
				break;
			default:
				((uint8_t *)ev)[rnd(r, sizeof(*ev))] = rng_next(r);
			}
			fz_ioctl(w, I_SET_VCPU_EVENTS, fd, KVM_SET_VCPU_EVENTS, (unsigned long)ev);
		}
		break;
	}
	case 26: {
		struct kvm_mp_state mp = { .mp_state = rnd(r, 10) };

		if (one_in(r, 2))
			fz_ioctl(w, I_GET_MP_STATE, fd, KVM_GET_MP_STATE, (unsigned long)&mp);
		else
			fz_ioctl(w, I_SET_MP_STATE, fd, KVM_SET_MP_STATE, (unsigned long)&mp);
		break;
	}
	case 27: {
		struct kvm_guest_debug dbg = { 0 };

		if (opt.no & GEN_NO_DR)
			break;

		dbg.control = one_in(r, 4) ? rnd_interesting(r) :
			      KVM_GUESTDBG_ENABLE | (rnd(r, 2) ? KVM_GUESTDBG_SINGLESTEP : 0) |
			      (rnd(r, 2) ? KVM_GUESTDBG_USE_SW_BP : 0) |
			      (rnd(r, 2) ? KVM_GUESTDBG_USE_HW_BP : 0);
		if (one_in(r, 3))
			dbg.control = 0;
		dbg.arch.debugreg[0] = G_CODE + rnd(r, 0x10000);
		dbg.arch.debugreg[7] = rnd_interesting(r);
		fz_ioctl(w, I_SET_GUEST_DEBUG, fd, KVM_SET_GUEST_DEBUG, (unsigned long)&dbg);
		break;
	}
	case 28:
		switch (rnd(r, 3)) {
		case 0:
			fz_ioctl(w, I_INTERRUPT, fd, KVM_INTERRUPT,
				 (unsigned long)&(struct kvm_interrupt){ .irq = rnd(r, 300) });
			break;
		case 1:
			fz_ioctl(w, I_NMI, fd, KVM_NMI, 0);
			break;
		default:
			fz_ioctl(w, I_SMI, fd, KVM_SMI, 0);
		}
		break;
	case 29: {
		/* Never SIGUSR1, which the watchdog kicks vCPUs with. */
		struct kvm_signal_mask *sm = big;
		uint64_t set = rng_next(r) & ~(1ULL << (SIGUSR1 - 1));

		sm->len = one_in(r, 4) ? rnd(r, 16) : 8;
		memcpy(sm->sigset, &set, 8);
		fz_ioctl(w, I_SET_SIGNAL_MASK, fd, KVM_SET_SIGNAL_MASK,
			 one_in(r, 4) ? 0 : (unsigned long)sm);
		break;
	}
	case 30: {
		struct kvm_translation t = { .linear_address = one_in(r, 2) ?
					     G_CODE + rnd(r, 0x10000) : rnd_interesting(r) };

		fz_ioctl(w, I_TRANSLATE, fd, KVM_TRANSLATE, (unsigned long)&t);
		break;
	}
	case 31:
		if (one_in(r, 2))
			fz_ioctl(w, I_GET_TSC_KHZ, fd, KVM_GET_TSC_KHZ, 0);
		else
			fz_ioctl(w, I_SET_TSC_KHZ, fd, KVM_SET_TSC_KHZ,
				 one_in(r, 2) ? 1000000 + rnd(r, 3000000) : rnd_interesting(r));
		break;
	case 32:
		fz_ioctl(w, I_GET_LAPIC, fd, KVM_GET_LAPIC, (unsigned long)big);
		if (one_in(r, 2)) {
			((uint32_t *)big)[rnd(r, 256)] = rnd_interesting(r);
			fz_ioctl(w, I_SET_LAPIC, fd, KVM_SET_LAPIC, (unsigned long)big);
		}
		break;
	case 33: {
		struct kvm_enable_cap cap = {
			.cap = rnd(r, 260), .args = { rnd_interesting(r) },
		};

		fz_ioctl(w, I_VCPU_ENABLE_CAP, fd, KVM_ENABLE_CAP, (unsigned long)&cap);
		break;
	}
	case 34:
	case 35:
		op_dup(w);
		break;
	default:
		cmd = _IOC(rnd(r, 4), KVMIO, rnd(r, 256), rnd(r, 1024));
		if (_IOC_NR(cmd) == _IOC_NR(KVM_SET_SIGNAL_MASK))
			return;
		rnd_fill(r, big, 4096);
		unknown_done(cmd, fz_ioctl(w, I_VCPU_UNKNOWN, fd, cmd,
					   (unsigned long)big), big);
	}
}

static void step(struct worker *w)
{
	struct obj *o;
	int op = rnd(&w->rng, 100);

	if (op < 3) {
		op_close(w);
	} else if (op < 5) {
		op_open(w);
	} else if (op < 7) {
		op_dup(w);
	} else if (op < 17) {
		o = obj_get(w, K_SYS);
		if (o) {
			op_sys(w, o);
			obj_put(o);
		} else {
			op_open(w);
		}
	} else if (op < 40) {
		o = obj_get(w, K_VM);
		if (o) {
			op_vm(w, o);
			obj_put(o);
		}
	} else {
		o = obj_get(w, K_VCPU);
		if (o) {
			op_vcpu(w, o);
			obj_put(o);
		}
	}
	__atomic_add_fetch(&w->progress, 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	long n = 0;

	my_idx = w->idx;
	while (!stop && (!opt.ops || n++ < opt.ops))
		step(w);
	return NULL;
}

static void on_sigusr1(int sig)
{
}

/*
 * A crash of the fuzzer itself is a finding too (a hypervisor writing into
 * the wrong user memory): say where, and what the thread was doing.
 */
static void on_crash(int sig, siginfo_t *si, void *uc)
{
	char buf[160];
	int n;

	ucontext_t *u = uc;

	n = snprintf(buf, sizeof(buf), "# fuzz: signal %d at address %p, rip %#llx, in thread %d (%s)\n",
		     sig, si->si_addr, (unsigned long long)u->uc_mcontext.gregs[REG_RIP],
		     my_idx,
		     my_idx >= 0 && workers[my_idx].doing ? workers[my_idx].doing : "?");
	if (write(1, buf, n) < 0)
		_exit(128 + sig);
	_exit(128 + sig);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void setup_globals(void)
{
	struct kvm_msr_list *list;
	int dev, n;

	dev = open(dev_path, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		ksft_exit_fail_msg("open %s: %s\n", dev_path, strerror(errno));
	vcpu_mmap_size = ioctl(dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	supported_cpuid = calloc(1, sizeof(*supported_cpuid) +
				    256 * sizeof(supported_cpuid->entries[0]));
	supported_cpuid->nent = 256;
	if (ioctl(dev, KVM_GET_SUPPORTED_CPUID, supported_cpuid)) {
		free(supported_cpuid);
		supported_cpuid = NULL;
	}
	list = calloc(1, sizeof(*list) + 1024 * sizeof(uint32_t));
	list->nmsrs = 1024;
	n = ioctl(dev, KVM_GET_MSR_INDEX_LIST, list) ? 0 : list->nmsrs;
	msr_list = list->indices;
	nr_msr_list = n;
	/* The first entry of the table: the device (op_close may close it). */
	objs[0] = obj_new(K_SYS, dev, NULL);
	objs[0]->refs = 1;
}

/* A known guest still runs: out 0x10, al; hlt in real mode. */
static bool hypervisor_still_works(void)
{
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x10, 0xf4 };
	struct kvm_userspace_memory_region m = { .memory_size = 0x10000 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	struct kvm_run *run;
	int dev, vm, vcpu;
	uint8_t *mem;
	bool ok;

	dev = open(dev_path, O_RDWR | O_CLOEXEC);
	vm = ioctl(dev, KVM_CREATE_VM, 0);
	mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dev < 0 || vm < 0 || mem == MAP_FAILED)
		return false;
	memcpy(mem + 0x1000, code, sizeof(code));
	m.userspace_addr = (uintptr_t)mem;
	vcpu = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &m) ? -1 :
	       ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return false;
	run = mmap(NULL, vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return false;
	sregs.cs.selector = 0x100;
	sregs.cs.base = 0x1000;
	ok = !ioctl(vcpu, KVM_SET_SREGS, &sregs) && !ioctl(vcpu, KVM_SET_REGS, &regs) &&
	     !ioctl(vcpu, KVM_RUN, 0) && run->exit_reason == KVM_EXIT_IO &&
	     run->io.port == 0x10 && ((uint8_t *)run)[run->io.data_offset] == 0x42 &&
	     !ioctl(vcpu, KVM_RUN, 0) && run->exit_reason == KVM_EXIT_HLT;
	munmap(run, vcpu_mmap_size);
	close(vcpu);
	close(vm);
	close(dev);
	munmap(mem, 0x10000);
	return ok;
}

static uint64_t total_ioctls(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < NR_IOCTLS; i++)
		n += __atomic_load_n(&st.ioctls[i], __ATOMIC_RELAXED);
	return n;
}

static void print_summary(double secs)
{
	uint64_t sys = 0, vm = 0, vcpu = 0;
	char line[1024];
	int i, j, n;

	for (i = 0; i < NR_IOCTLS; i++) {
		if (ioctl_kinds[i] == K_SYS)
			sys += st.ioctls[i];
		else if (ioctl_kinds[i] == K_VM)
			vm += st.ioctls[i];
		else
			vcpu += st.ioctls[i];
		if (!opt.verbose && !st.ioctls[i])
			continue;
		n = snprintf(line, sizeof(line), "%s %" PRIu64 ":", ioctl_names[i],
			     st.ioctls[i]);
		for (j = 0; j <= NR_ERRNO && n < (int)sizeof(line) - 32; j++)
			if (st.errs[i][j])
				n += snprintf(line + n, sizeof(line) - n, " %s=%" PRIu64,
					      j ? strerrorname_np(j) ?: "E?" : "ok",
					      st.errs[i][j]);
		ksft_print_msg("%s\n", line);
	}
	n = snprintf(line, sizeof(line), "exits:");
	for (i = 0; i <= NR_EXITS; i++)
		if (st.exits[i])
			n += snprintf(line + n, sizeof(line) - n, " %d=%" PRIu64, i, st.exits[i]);
	ksft_print_msg("%s (KVM_EXIT_* numbers; %d=EINTR, %d=above %d)\n", line,
		       KVM_EXIT_INTR, NR_EXITS, NR_EXITS - 1);
	n = snprintf(line, sizeof(line), "streams by mode:");
	for (i = 0; i < NR_MODES; i++)
		n += snprintf(line + n, sizeof(line) - n, " %s=%" PRIu64, mode_names[i],
			      mode_loads[i]);
	ksft_print_msg("%s\n", line);
	printf("fuzz: %s: seed=%" PRIu64 " threads=%d seconds=%.0f ioctls=%" PRIu64
	       " (sys=%" PRIu64 " vm=%" PRIu64 " vcpu=%" PRIu64 ") vms=%" PRIu64
	       " vcpus=%" PRIu64 " runs=%" PRIu64 " exits=%" PRIu64
	       " closes=%" PRIu64 " dups=%" PRIu64 " madvise=%" PRIu64 " unmaps=%" PRIu64
	       " remaps=%" PRIu64 " mprotects=%" PRIu64 " streams=%" PRIu64
	       " code_bytes=%" PRIu64 " bytes_reached=%" PRIu64
	       " insn_groups_reached=%" PRIu64 "\n",
	       okvm_dev_is_okvm() ? "okvm" : "kvm", opt.seed, opt.threads, secs,
	       sys + vm + vcpu, sys, vm, vcpu, st.vms, st.vcpus, st.runs,
	       st.runs - st.run_errors, st.closes, st.dups, st.madvises, st.unmaps,
	       st.remaps, st.mprotects, st.loads, st.code_bytes, st.bytes_reached,
	       st.groups_reached);
}

/* "real,long": the modes by name, as a bit mask; 0 if one is unknown. */
static unsigned int parse_modes(char *list)
{
	unsigned int mask = 0;
	char *name;
	int m;

	for (name = strtok(list, ","); name; name = strtok(NULL, ",")) {
		for (m = 0; m < NR_MODES; m++)
			if (!strcmp(name, mode_names[m]))
				break;
		if (m == NR_MODES)
			return 0;
		mask |= 1u << m;
	}
	return mask;
}

static void usage(void)
{
	fprintf(stderr, "usage: fuzz [--seed N] [--seconds N] [--threads N] [--ops N] [--verbose]\n"
			"            [--no dr|ac|cr8|mem|run] [--modes real,prot16,prot32,paged32,long,compat]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'j' },
		{ "ops", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no", required_argument, NULL, 'x' },
		{ "modes", required_argument, NULL, 'm' },
		{ }
	};
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	uint64_t last[MAX_THREADS] = { 0 };
	double t0, tlast[MAX_THREADS], t, deadline, tbeat;
	bool seeded = false, hung = false;
	int c, i, running;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 't':
			opt.seconds = atoi(optarg);
			break;
		case 'j':
			opt.threads = atoi(optarg);
			break;
		case 'n':
			opt.ops = atol(optarg);
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'm':
			opt.modes = parse_modes(optarg);
			break;
		case 'x':
			if (!strcmp(optarg, "dr"))
				opt.no |= GEN_NO_DR;
			else if (!strcmp(optarg, "ac"))
				opt.no |= GEN_NO_AC;
			else if (!strcmp(optarg, "cr8"))
				opt.no |= GEN_NO_CR8;
			else if (!strcmp(optarg, "mem"))
				opt.no |= GEN_NO_MEM;
			else if (!strcmp(optarg, "run"))
				opt.no |= GEN_NO_RUN;
			else
				usage();
			break;
		default:
			usage();
		}
	}
	if (opt.threads < 1 || opt.threads > MAX_THREADS || opt.seconds < 1 ||
	    !opt.modes)
		usage();
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		opt.seed = ts.tv_sec * 1000003ULL ^ ts.tv_nsec ^ getpid();
	}
	dev_path = okvm_dev_path();
	host_is_intel = okvm_host_is_intel();
	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	ksft_set_plan(3);
	ksft_print_msg("fuzz: %s on %s: --seed %" PRIu64 " --seconds %d --threads %d%s%s%s%s%s%s (modes %#x)\n",
		       okvm_dev_is_okvm() ? "okvm" : "kvm", dev_path, opt.seed,
		       opt.seconds, opt.threads, opt.ops ? " (with --ops)" : "",
		       opt.no & GEN_NO_DR ? " --no dr" : "",
		       opt.no & GEN_NO_AC ? " --no ac" : "",
		       opt.no & GEN_NO_CR8 ? " --no cr8" : "",
		       opt.no & GEN_NO_MEM ? " --no mem" : "",
		       opt.no & GEN_NO_RUN ? " --no run" : "", opt.modes);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns */
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	setup_globals();

	t0 = now();
	tbeat = t0;
	deadline = t0 + opt.seconds;
	for (i = 0; i < opt.threads; i++) {
		struct worker *w = &workers[i];

		w->idx = i;
		rng_seed(&w->rng, opt.seed + i);
		w->big = aligned_alloc(4096, BIG_BUF);
		w->code = malloc(G_CODE_SIZE);
		memset(w->big, 0, BIG_BUF);
		tlast[i] = t0;
		if (pthread_create(&w->tid, NULL, worker_main, w))
			ksft_exit_fail_msg("pthread_create: %s\n", strerror(errno));
	}

	/*
	 * Kick every worker out of KVM_RUN every few milliseconds, stop them
	 * at the deadline, and call a worker hung that makes no progress for
	 * HANG_SECONDS although kicked (a signal ends every ioctl that may
	 * sleep long in KVM; HLT without an in-kernel APIC exits).
	 */
	for (;;) {
		usleep(5000);
		t = now();
		if (t >= deadline)
			stop = 1;
		/* A heartbeat, so a stuck run shows where it stopped. */
		if (t - tbeat >= 10) {
			tbeat = t;
			ksft_print_msg("fuzz: %.0f s: ioctls %" PRIu64 ", runs %" PRIu64 "%s\n",
				       t - t0, total_ioctls(), st.runs,
				       stop ? ", stopping" : "");
			for (i = 0; stop && i < opt.threads; i++)
				if (workers[i].tid)
					ksft_print_msg("fuzz: thread %d: %" PRIu64 " ops, in %s\n",
						       i, workers[i].progress,
						       workers[i].doing ?: "(user space)");
		}
		running = 0;
		for (i = 0; i < opt.threads; i++) {
			struct worker *w = &workers[i];
			uint64_t p = __atomic_load_n(&w->progress, __ATOMIC_RELAXED);

			if (!w->tid)
				continue;
			if (pthread_tryjoin_np(w->tid, NULL) == 0) {
				w->tid = 0;
				continue;
			}
			running++;
			pthread_kill(w->tid, SIGUSR1);
			if (p != last[i]) {
				last[i] = p;
				tlast[i] = t;
			} else if (t - tlast[i] > HANG_SECONDS && !hung) {
				ksft_print_msg("HANG: thread %d made no progress for %d s, in %s\n",
					       i, HANG_SECONDS, w->doing ?: "(user space)");
				hung = true;
			}
		}
		if (!running || hung)
			break;
	}
	t = now() - t0;
	print_summary(t);
	ksft_test_result(!hung, "no_thread_hung\n");
	if (hung) {
		/* The stuck thread may never return: do not wait for it. */
		ksft_test_result_skip("kvm_run_io_data_in_bounds\n");
		ksft_test_result_skip("hypervisor_still_runs_a_guest\n");
		fflush(stdout);
		_exit(1);
	}
	ksft_test_result(!st.bad_io_exits, "kvm_run_io_data_in_bounds\n");
	/* Everything the fuzzer opened goes; then a fresh VM must run. */
	for (i = 0; i < MAX_OBJS; i++) {
		if (objs[i]) {
			close(objs[i]->fd);
			obj_put(objs[i]);
			objs[i] = NULL;
		}
	}
	ksft_test_result(hypervisor_still_works(), "hypervisor_still_runs_a_guest\n");
	ksft_finished();
}
