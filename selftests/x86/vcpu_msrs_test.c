// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu_msrs_test - MSRs through KVM_GET_MSRS / KVM_SET_MSRS on a vCPU,
 * KVM_GET_MSR_INDEX_LIST and, with KVM_CAP_GET_MSR_FEATURES,
 * KVM_GET_MSR_FEATURE_INDEX_LIST and KVM_GET_MSRS on the system fd
 * (api.rst sections of those names): the lists and their E2BIG protocol,
 * the "number of MSRs processed" answer, the MSRs a 64-bit Linux guest
 * uses written by the guest and read by the host and the reverse, and
 * #GP for the guest's access to an MSR KVM does not know.
 *
 * MSR numbers and formats: AMD APM vol. 2, appendix A (MSR cross
 * reference), 6.1.1 (STAR/LSTAR/CSTAR/SFMASK), 7.8.1 (PAT).
 */
#include <stdlib.h>
#include <string.h>

#include "ioctl_checks.h"
#include "kselftest_harness.h"
#include "okvm_util.h"
#include "okvm_fixture.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define MSR_IA32_TSC			0x10
#define MSR_IA32_APICBASE		0x1b
#define MSR_IA32_UCODE_REV		0x8b
#define MSR_IA32_ARCH_CAPABILITIES	0x10a
#define MSR_IA32_PERF_CAPABILITIES	0x345
#define MSR_IA32_SYSENTER_CS		0x174
#define MSR_IA32_SYSENTER_ESP		0x175
#define MSR_IA32_SYSENTER_EIP		0x176
#define MSR_IA32_MISC_ENABLE		0x1a0
#define MSR_IA32_CR_PAT			0x277
#define MSR_EFER			0xc0000080
#define MSR_STAR			0xc0000081
#define MSR_LSTAR			0xc0000082
#define MSR_CSTAR			0xc0000083
#define MSR_SYSCALL_MASK		0xc0000084
#define MSR_FS_BASE			0xc0000100
#define MSR_GS_BASE			0xc0000101
#define MSR_KERNEL_GS_BASE		0xc0000102
/* In no manual: nothing answers it. */
#define MSR_BOGUS			0xdeadbeef

#define EFER_SCE			(1ULL << 0)
#define EFER_NXE			(1ULL << 11)
#define PAT_RESET			0x0007040600070406ULL
#define MAX_IO_MSRS			256

/* struct kvm_msrs with room for n entries, zeroed. */
static struct kvm_msrs *msrs_alloc(int n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) +
				    n * sizeof(struct kvm_msr_entry));

	if (m)
		m->nmsrs = n;
	return m;
}

static long get_msrs(int fd, struct kvm_msrs *m)
{
	return okvm_ioctl(fd, KVM_GET_MSRS, (uintptr_t)m);
}

static long set_msrs(int fd, struct kvm_msrs *m)
{
	return okvm_ioctl(fd, KVM_SET_MSRS, (uintptr_t)m);
}

/* The whole list of a KVM_GET_MSR(_FEATURE)_INDEX_LIST, malloc'ed. */
static struct kvm_msr_list *get_msr_list(int fd, unsigned long req)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	struct kvm_msr_list *list;

	if (ioctl(fd, req, &probe) == 0 || errno != E2BIG)
		kvm_die("MSR index list with nmsrs 0: not E2BIG");
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	KVM_ASSERT(list, "out of memory");
	list->nmsrs = probe.nmsrs;
	kvm_ioctl(fd, req, list);
	return list;
}

static bool list_has(const struct kvm_msr_list *list, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < list->nmsrs; i++)
		if (list->indices[i] == index)
			return true;
	return false;
}

OKVM_DEV_FIXTURE;

/*
 * api.rst "KVM_GET_MSR_INDEX_LIST": too small an nmsrs is E2BIG, and
 * KVM writes the count it needs into nmsrs; NULL is EFAULT.
 */
TEST_F(dev, msr_index_list)
{
	static const uint32_t want[] = {
		MSR_IA32_TSC, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE, MSR_IA32_MISC_ENABLE,
		MSR_IA32_CR_PAT,
	};
	struct kvm_msr_list *list = get_msr_list(self->fd,
						 KVM_GET_MSR_INDEX_LIST);
	struct kvm_msr_list *small, *edge;
	uint32_t i, n = list->nmsrs;

	TH_LOG("%u MSRs to save", n);
	/* KVM's answer: EFER and APIC base travel in KVM_SET_SREGS only. */
	EXPECT_FALSE(list_has(list, MSR_EFER));
	EXPECT_FALSE(list_has(list, MSR_IA32_APICBASE));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		EXPECT_TRUE(list_has(list, want[i]))
			TH_LOG("MSR 0x%x not in the list", want[i]);

	small = calloc(1, sizeof(*small) + n * sizeof(uint32_t));
	ASSERT_NE(NULL, small);
	small->nmsrs = n - 1;
	EXPECT_EQ(-E2BIG, okvm_ioctl(self->fd, KVM_GET_MSR_INDEX_LIST,
				     (uintptr_t)small));
	EXPECT_EQ(n, small->nmsrs);
	/* More room than needed is fine; nmsrs says how much was used. */
	free(small);
	small = calloc(1, sizeof(*small) + (n + 1) * sizeof(uint32_t));
	ASSERT_NE(NULL, small);
	small->nmsrs = n + 1;
	EXPECT_EQ(0, okvm_ioctl(self->fd, KVM_GET_MSR_INDEX_LIST,
				(uintptr_t)small));
	EXPECT_EQ(n, small->nmsrs);
	EXPECT_EQ(0, memcmp(small->indices, list->indices, n * 4));

	EXPECT_EQ(-EFAULT, okvm_ioctl(self->fd, KVM_GET_MSR_INDEX_LIST, 0));
	/* Header readable, indices not: EFAULT once it writes them. */
	edge = straddling_buffer(sizeof(*edge), 0);
	ASSERT_NE(NULL, edge);
	edge->nmsrs = n;
	EXPECT_EQ(-EFAULT, okvm_ioctl(self->fd, KVM_GET_MSR_INDEX_LIST,
				      (uintptr_t)edge));
	free(small);
	free(list);
}

/* A system ioctl: unknown to VM fds (ENOTTY) and vCPU fds (EINVAL). */
TEST_F(dev, msr_index_list_wrong_fd)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	struct kvm_msr_list list = { .nmsrs = 0 };

	EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, KVM_GET_MSR_INDEX_LIST,
				      (uintptr_t)&list));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_GET_MSR_INDEX_LIST,
				      (uintptr_t)&list));
	kvm_vm_free(vm);
}

/*
 * api.rst "KVM_GET_MSR_FEATURE_INDEX_LIST" and "KVM_GET_MSRS" on the
 * system fd: the feature MSRs KVM emulates for every guest include
 * ARCH_CAPABILITIES and PERF_CAPABILITIES; each reads; an MSR outside the
 * list stops the read (the answer is how many were read).
 */
TEST_F(dev, feature_msrs)
{
	struct kvm_msr_list *list;
	struct kvm_msrs *m;
	uint32_t i;

	if (okvm_ioctl(self->fd, KVM_CHECK_EXTENSION,
		       KVM_CAP_GET_MSR_FEATURES) <= 0)
		SKIP(return, "no KVM_CAP_GET_MSR_FEATURES");
	list = get_msr_list(self->fd, KVM_GET_MSR_FEATURE_INDEX_LIST);
	TH_LOG("%u feature MSRs", list->nmsrs);
	EXPECT_TRUE(list_has(list, MSR_IA32_ARCH_CAPABILITIES));
	EXPECT_TRUE(list_has(list, MSR_IA32_PERF_CAPABILITIES));

	m = msrs_alloc(list->nmsrs);
	ASSERT_NE(NULL, m);
	for (i = 0; i < list->nmsrs; i++)
		m->entries[i].index = list->indices[i];
	EXPECT_EQ(list->nmsrs, get_msrs(self->fd, m));
	free(m);

	m = msrs_alloc(3);
	ASSERT_NE(NULL, m);
	m->entries[0].index = MSR_IA32_ARCH_CAPABILITIES;
	m->entries[1].index = MSR_EFER;	/* a vCPU MSR, no feature */
	m->entries[2].index = MSR_IA32_ARCH_CAPABILITIES;
	EXPECT_EQ(1, get_msrs(self->fd, m));
	/* KVM_SET_MSRS is a vCPU ioctl only: unknown to the system fd. */
	EXPECT_EQ(-EINVAL, set_msrs(self->fd, m));
	EXPECT_EQ(-EFAULT, okvm_ioctl(self->fd,
				      KVM_GET_MSR_FEATURE_INDEX_LIST, 0));
	EXPECT_EQ(-EFAULT, get_msrs(self->fd, NULL));
	free(m);
	free(list);
}

static uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	/* "memory": an exception handler may change globals meanwhile. */
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return (uint64_t)hi << 32 | lo;
}

static void guest_wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

/* --- vCPU MSRs ---------------------------------------------------------- */

static struct kvm_vcpu *bare_vcpu(struct kvm_vm **vm)
{
	*vm = vm_create_bare();
	return vm_vcpu_add_bare(*vm, 0);
}

/*
 * api.rst "KVM_GET_MSRS": the answer is the number of MSRs processed;
 * the first one KVM cannot do stops the batch. nmsrs 0 is 0.
 */
TEST(get_set_stop_at_the_first_failure)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_msrs *m = msrs_alloc(3);

	ASSERT_NE(NULL, m);
	m->nmsrs = 0;
	EXPECT_EQ(0, get_msrs(vcpu->fd, m));
	EXPECT_EQ(0, set_msrs(vcpu->fd, m));

	m->nmsrs = 3;
	m->entries[0].index = MSR_STAR;
	m->entries[0].data = 0x0023001000000000ULL;
	m->entries[1].index = MSR_BOGUS;
	m->entries[1].data = 1;
	m->entries[2].index = MSR_LSTAR;
	m->entries[2].data = 0xffffffff81000000ULL;
	EXPECT_EQ(1, set_msrs(vcpu->fd, m));
	EXPECT_EQ(0x0023001000000000ULL, vcpu_get_msr(vcpu, MSR_STAR));
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_LSTAR));
	EXPECT_EQ(1, get_msrs(vcpu->fd, m));

	/* All known: all processed. */
	m->entries[1].index = MSR_CSTAR;
	m->entries[1].data = 0xffffffff82000000ULL;
	EXPECT_EQ(3, set_msrs(vcpu->fd, m));
	memset(&m->entries[0].data, 0, 8);
	m->entries[1].data = 0;
	m->entries[2].data = 0;
	EXPECT_EQ(3, get_msrs(vcpu->fd, m));
	EXPECT_EQ(0x0023001000000000ULL, m->entries[0].data);
	EXPECT_EQ(0xffffffff82000000ULL, m->entries[1].data);
	EXPECT_EQ(0xffffffff81000000ULL, m->entries[2].data);
	free(m);
	kvm_vm_free(vm);
}

/* KVM's answer: nmsrs must stay below MAX_IO_MSRS (256): 256 is E2BIG. */
TEST(nmsrs_limit)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_msrs *m = msrs_alloc(MAX_IO_MSRS);
	int i;

	ASSERT_NE(NULL, m);
	for (i = 0; i < MAX_IO_MSRS; i++)
		m->entries[i].index = MSR_STAR;
	m->nmsrs = MAX_IO_MSRS - 1;
	EXPECT_EQ(MAX_IO_MSRS - 1, get_msrs(vcpu->fd, m));
	EXPECT_EQ(MAX_IO_MSRS - 1, set_msrs(vcpu->fd, m));
	m->nmsrs = MAX_IO_MSRS;
	EXPECT_EQ(-E2BIG, get_msrs(vcpu->fd, m));
	EXPECT_EQ(-E2BIG, set_msrs(vcpu->fd, m));
	m->nmsrs = 0xffffffff;
	EXPECT_EQ(-E2BIG, get_msrs(vcpu->fd, m));
	free(m);
	kvm_vm_free(vm);
}

TEST(bad_pointers_wrong_size_closed_fd)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_msrs *edge = straddling_buffer(sizeof(struct kvm_msrs),
						  0);
	struct kvm_msrs m = { .nmsrs = 0 };
	int fd;

	ASSERT_NE(NULL, edge);
	EXPECT_EQ(-EFAULT, get_msrs(vcpu->fd, NULL));
	EXPECT_EQ(-EFAULT, set_msrs(vcpu->fd, NULL));
	/* The header is readable, the entries are not. */
	edge->nmsrs = 2;
	EXPECT_EQ(-EFAULT, get_msrs(vcpu->fd, edge));
	EXPECT_EQ(-EFAULT, set_msrs(vcpu->fd, edge));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, ioc_resize(KVM_GET_MSRS, 16),
				      (uintptr_t)&m));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, ioc_resize(KVM_SET_MSRS, 4),
				      (uintptr_t)&m));
	EXPECT_EQ(-ENOTTY, get_msrs(vm->fd, &m));
	EXPECT_EQ(-ENOTTY, set_msrs(vm->fd, &m));
	fd = dup(vcpu->fd);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-EBADF, get_msrs(fd, &m));
	EXPECT_EQ(-EBADF, set_msrs(fd, &m));
	kvm_vm_free(vm);
}

/*
 * Reset values: PAT 0x0007040600070406 (APM 7.8.2), EFER 0, APIC base
 * 0xfee00900 (BSP, enabled; APM 16.3.1), MISC_ENABLE 0x1800. What the
 * host sets reads back, but for values the architecture refuses, which
 * stop the batch.
 */
TEST(host_values_and_refusals)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);

	EXPECT_EQ(PAT_RESET, vcpu_get_msr(vcpu, MSR_IA32_CR_PAT));
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_EFER));
	EXPECT_EQ(0xfee00900, vcpu_get_msr(vcpu, MSR_IA32_APICBASE));
	/* BTS and PEBS unavailable (bits 11, 12; SDM vol. 4, table 2-2). */
	EXPECT_EQ(0x1800, vcpu_get_msr(vcpu, MSR_IA32_MISC_ENABLE));

	EXPECT_EQ(1, vcpu_set_msr(vcpu, MSR_IA32_CR_PAT, 0x0606060606060606));
	EXPECT_EQ(0x0606060606060606, vcpu_get_msr(vcpu, MSR_IA32_CR_PAT));
	/* PAT type 2 is reserved (APM 7.8.1). */
	EXPECT_EQ(0, vcpu_set_msr(vcpu, MSR_IA32_CR_PAT, 0x0606060606060602));
	EXPECT_EQ(0x0606060606060606, vcpu_get_msr(vcpu, MSR_IA32_CR_PAT));

	/* A non-canonical system-call target. */
	EXPECT_EQ(0, vcpu_set_msr(vcpu, MSR_LSTAR, 0x8000000000000000ULL));
	EXPECT_EQ(0, vcpu_set_msr(vcpu, MSR_KERNEL_GS_BASE,
				  0x0000800000000000ULL));

	/* EFER: reserved bit 63. */
	EXPECT_EQ(0, vcpu_set_msr(vcpu, MSR_EFER, 1ULL << 63));
	EXPECT_EQ(1, vcpu_set_msr(vcpu, MSR_EFER, EFER_SCE));
	EXPECT_EQ(EFER_SCE, vcpu_get_msr(vcpu, MSR_EFER));

	/*
	 * SYSENTER_EIP of a vCPU without CPUID: KVM keeps the low 32 bits
	 * (what an AMD CPU keeps, APM 6.1.1); the high half differs between
	 * kernels (6.1 drops it, 6.12 keeps it), so it is not checked.
	 */
	EXPECT_EQ(1, vcpu_set_msr(vcpu, MSR_IA32_SYSENTER_EIP,
				  0xffff8000deadbeefULL));
	EXPECT_EQ(0xdeadbeef, (uint32_t)vcpu_get_msr(vcpu,
						     MSR_IA32_SYSENTER_EIP));
	kvm_vm_free(vm);
}

/* --- the guest's view ------------------------------------------------- */

/* MSRs both sides write and read: index, a value to write. */
struct msr_val {
	uint32_t index;
	uint64_t val;
};

static const struct msr_val linux_msrs[] = {
	{ MSR_STAR,		 0x0023001000000000ULL },
	{ MSR_LSTAR,		 0xffffffff81a00000ULL },
	{ MSR_CSTAR,		 0xffffffff81a00100ULL },
	{ MSR_SYSCALL_MASK,	 0x47700 },
	{ MSR_KERNEL_GS_BASE,	 0xffff888007a00000ULL },
	{ MSR_IA32_SYSENTER_CS,	 0x10 },
	{ MSR_IA32_SYSENTER_ESP, 0x7e00 },
	{ MSR_IA32_SYSENTER_EIP, 0x81a00200 },
	{ MSR_IA32_CR_PAT,	 0x0407050600070106ULL },
	{ MSR_FS_BASE,		 0x00007f0012340000ULL },
	{ MSR_GS_BASE,		 0xffff888007b00000ULL },
};
#define NR_LINUX_MSRS	(sizeof(linux_msrs) / sizeof(linux_msrs[0]))

uint64_t guest_vals[NR_LINUX_MSRS];
uint64_t guest_tsc;

static void guest_write_msrs(void)
{
	uint64_t efer = guest_rdmsr(MSR_EFER);
	unsigned int i;

	for (i = 0; i < NR_LINUX_MSRS; i++)
		guest_wrmsr(linux_msrs[i].index, linux_msrs[i].val);
	guest_wrmsr(MSR_EFER, efer | EFER_SCE | EFER_NXE);
	guest_wrmsr(MSR_IA32_TSC, 1ULL << 40);
	GUEST_SYNC(1);
	GUEST_DONE();
}

static void guest_read_msrs(void)
{
	unsigned int i;

	for (i = 0; i < NR_LINUX_MSRS; i++)
		guest_vals[i] = guest_rdmsr(linux_msrs[i].index);
	guest_tsc = guest_rdmsr(MSR_IA32_TSC);
	GUEST_SYNC_ARGS(1, guest_rdmsr(MSR_EFER),
			guest_rdmsr(MSR_IA32_APICBASE),
			guest_rdmsr(MSR_IA32_MISC_ENABLE));
	GUEST_DONE();
}

/*
 * The guest's WRMSRs, as a 64-bit Linux kernel does them at boot, are
 * what KVM_GET_MSRS reads (and, for EFER and FS/GS base, KVM_GET_SREGS).
 */
TEST(guest_writes_host_reads)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_write_msrs);
	struct kvm_sregs sregs;
	struct ucall uc;
	uint64_t efer, tsc;
	unsigned int i;

	vcpu_sregs_get(vcpu, &sregs);
	efer = sregs.efer;
	ASSERT_SYNC(vcpu, &uc, 1);
	for (i = 0; i < NR_LINUX_MSRS; i++) {
		uint32_t index = linux_msrs[i].index;

		EXPECT_EQ(linux_msrs[i].val, vcpu_get_msr(vcpu, index))
			TH_LOG("MSR 0x%x", index);
	}
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(0x00007f0012340000ULL, sregs.fs.base);
	EXPECT_EQ(0xffff888007b00000ULL, sregs.gs.base);
	EXPECT_EQ(efer | EFER_SCE | EFER_NXE, sregs.efer);
	EXPECT_EQ(efer | EFER_SCE | EFER_NXE, vcpu_get_msr(vcpu, MSR_EFER));
	tsc = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	EXPECT_LE(1ULL << 40, tsc);
	EXPECT_GT((1ULL << 40) + (1ULL << 36), tsc);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * FS and GS base are MSRs too (APM 4.5.3): KVM_SET_MSRS of them is the
 * segment base KVM_GET_SREGS reports, and the reverse.
 */
TEST(fs_gs_base_msrs_are_segment_bases)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_read_msrs);
	struct kvm_sregs sregs;

	ASSERT_EQ(1, vcpu_set_msr(vcpu, MSR_FS_BASE, 0x7f0000001000ULL));
	ASSERT_EQ(1, vcpu_set_msr(vcpu, MSR_GS_BASE, 0xffff888000002000ULL));
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(0x7f0000001000ULL, sregs.fs.base);
	EXPECT_EQ(0xffff888000002000ULL, sregs.gs.base);
	sregs.fs.base = 0x3000;
	sregs.gs.base = 0x4000;
	vcpu_sregs_set(vcpu, &sregs);
	EXPECT_EQ(0x3000, vcpu_get_msr(vcpu, MSR_FS_BASE));
	EXPECT_EQ(0x4000, vcpu_get_msr(vcpu, MSR_GS_BASE));
	kvm_vm_free(vm);
}

/* The reverse: KVM_SET_MSRS before KVM_RUN is what the guest reads. */
TEST(host_writes_guest_reads)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_read_msrs);
	struct kvm_sregs sregs;
	struct ucall uc;
	uint64_t misc;
	unsigned int i;

	for (i = 0; i < NR_LINUX_MSRS; i++) {
		uint32_t index = linux_msrs[i].index;

		ASSERT_EQ(1, vcpu_set_msr(vcpu, index, linux_msrs[i].val))
			TH_LOG("MSR 0x%x", index);
	}
	vcpu_sregs_get(vcpu, &sregs);
	ASSERT_EQ(1, vcpu_set_msr(vcpu, MSR_IA32_TSC, 1ULL << 41));
	misc = vcpu_get_msr(vcpu, MSR_IA32_MISC_ENABLE);

	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, guest_vals);
	vm_sync_global_from_guest(vm, guest_tsc);
	for (i = 0; i < NR_LINUX_MSRS; i++)
		EXPECT_EQ(linux_msrs[i].val, guest_vals[i])
			TH_LOG("MSR 0x%x", linux_msrs[i].index);
	EXPECT_LE(1ULL << 41, guest_tsc);
	EXPECT_GT((1ULL << 41) + (1ULL << 36), guest_tsc);
	EXPECT_EQ(sregs.efer, uc.args[1]);
	EXPECT_EQ(0xfee00900, uc.args[2]);
	EXPECT_EQ(misc, uc.args[3]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* MISC_ENABLE is KVM's to emulate: the host's value is the guest's. */
TEST(misc_enable_round_trip)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_read_msrs);
	uint64_t misc;
	struct ucall uc;

	misc = vcpu_get_msr(vcpu, MSR_IA32_MISC_ENABLE);
	/* Bit 0: fast strings (SDM vol. 4, table 2-2). */
	ASSERT_EQ(1, vcpu_set_msr(vcpu, MSR_IA32_MISC_ENABLE, misc | 1));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(misc | 1, uc.args[3]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * MSR_AMD64_NB_CFG (0xc001001f), which Linux reads on AMD guests: 0, and
 * writes accepted and dropped, as KVM does on both vendors.
 */
TEST(nb_cfg_reads_zero_and_drops_writes)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);

	EXPECT_EQ(0, vcpu_get_msr(vcpu, 0xc001001f));
	EXPECT_EQ(1, vcpu_set_msr(vcpu, 0xc001001f, 1ULL << 46));
	EXPECT_EQ(0, vcpu_get_msr(vcpu, 0xc001001f));
	kvm_vm_free(vm);
}

static volatile uint64_t gp_count;

static void skip_msr_insn(struct ex_regs *regs)
{
	if (regs->vector == GP_VECTOR)
		gp_count++;
	regs->rip += 2;		/* rdmsr 0f 32, wrmsr 0f 30 */
}

/*
 * #GP(0) (APM vol. 3, RDMSR/WRMSR) for an MSR that does not exist, and
 * for values the architecture reserves.
 */
static void guest_bad_msrs(void)
{
	uint64_t efer = guest_rdmsr(MSR_EFER);
	uint64_t n[5];

	guest_rdmsr(MSR_BOGUS);
	n[0] = gp_count;
	guest_wrmsr(MSR_BOGUS, 0);
	n[1] = gp_count;
	guest_wrmsr(MSR_EFER, efer | 1ULL << 63);
	n[2] = gp_count;
	guest_wrmsr(MSR_IA32_CR_PAT, 0x0606060606060602ULL);
	n[3] = gp_count;
	/*
	 * Not a non-canonical LSTAR: KVM lets the guest write LSTAR to the
	 * hardware directly, and QEMU's TCG (L1 here) does not check it.
	 */
	guest_wrmsr(MSR_STAR, 0x0023001000000000ULL);
	n[4] = gp_count;
	GUEST_SYNC_ARGS(1, n[0], n[1], n[2], n[3], n[4]);
	GUEST_SYNC_ARGS(2, guest_rdmsr(MSR_EFER) == efer,
			guest_rdmsr(MSR_IA32_CR_PAT));
	GUEST_DONE();
}

TEST(guest_bad_msr_is_gp)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_bad_msrs);
	struct ucall uc;

	vm_install_exception_handler(vm, GP_VECTOR, skip_msr_insn);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(1, uc.args[1]);	/* RDMSR of no MSR */
	EXPECT_EQ(2, uc.args[2]);	/* WRMSR of no MSR */
	EXPECT_EQ(3, uc.args[3]);	/* EFER bit 63 */
	EXPECT_EQ(4, uc.args[4]);	/* PAT type 2 */
	EXPECT_EQ(4, uc.args[5]);	/* a good WRMSR: no #GP */
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(1, uc.args[1]);	/* EFER unchanged */
	EXPECT_EQ(PAT_RESET, uc.args[2]);	/* PAT unchanged */
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
