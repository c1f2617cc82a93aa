// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpuid_test - KVM_GET_SUPPORTED_CPUID, KVM_GET_EMULATED_CPUID,
 * KVM_SET_CPUID2 / KVM_GET_CPUID2 and KVM_SET_CPUID (api.rst sections of
 * those names): the E2BIG protocol, what the supported table says of a
 * virtual CPU on AMD, the table's checks, and what the guest's CPUID
 * returns, including the bits KVM keeps in step with the vCPU's state.
 *
 * Bits: AMD APM vol. 3, appendix E (CPUID); KVM's own leaves in
 * Documentation/virt/kvm/x86/cpuid.rst.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioctl_checks.h"
#include "kselftest_harness.h"
#include "okvm_fixture.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define MAX_CPUID_ENTRIES	256	/* KVM_MAX_CPUID_ENTRIES */

#define LEAF1_ECX_VMX		(1U << 5)
#define LEAF1_ECX_XSAVE		(1U << 26)
#define LEAF1_ECX_OSXSAVE	(1U << 27)
#define LEAF1_ECX_HYPERVISOR	(1U << 31)
#define LEAF1_EDX_APIC		(1U << 9)
#define EXT1_ECX_SVM		(1U << 2)
#define CR4_OSXSAVE		(1ULL << 18)

static struct kvm_cpuid2 *cpuid_alloc(int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
				      nent * sizeof(struct kvm_cpuid_entry2));

	if (c)
		c->nent = nent;
	return c;
}

/* The entry for (function, index) or NULL. */
static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn,
				     uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     c->entries[i].index == idx))
			return &c->entries[i];
	return NULL;
}

/* How many entries the table of 'req' on the device fd has. */
static int table_size(int fd, unsigned long req)
{
	struct kvm_cpuid2 *c = cpuid_alloc(MAX_CPUID_ENTRIES);
	int n;

	KVM_ASSERT(c, "out of memory");
	kvm_ioctl(fd, req, c);
	n = c->nent;
	free(c);
	return n;
}

/* kvm_amd's "nested" parameter: 1, 0, or -1 when there is none. */
OKVM_DEV_FIXTURE;

/*
 * api.rst "KVM_GET_SUPPORTED_CPUID": too small an nent is E2BIG and
 * leaves nent as it was (KVM's answer: no size hint, unlike the MSR
 * lists); more room than needed is cut to what is used; NULL EFAULT.
 *
 * KVM_GET_EMULATED_CPUID differs in two ways (KVM's answers): it wants
 * one entry more than it fills ('spare'), and it first reads the padding
 * of every entry it may write (to refuse non-zero padding), so entries
 * it cannot read are EINVAL rather than EFAULT.
 */
static void check_e2big_protocol(struct __test_metadata *_metadata, int fd,
				 unsigned long req, int spare,
				 int unreadable_errno)
{
	int n = table_size(fd, req);
	struct kvm_cpuid2 *c = cpuid_alloc(MAX_CPUID_ENTRIES);
	struct kvm_cpuid2 *edge;

	TH_LOG("%d entries", n);
	ASSERT_NE(NULL, c);
	ASSERT_LT(0, n);
	c->nent = 0;
	EXPECT_EQ(-E2BIG, okvm_ioctl(fd, req, (uintptr_t)c));
	EXPECT_EQ(0, c->nent);
	c->nent = n - 1 + spare;
	EXPECT_EQ(-E2BIG, okvm_ioctl(fd, req, (uintptr_t)c));
	EXPECT_EQ(n - 1 + spare, c->nent);
	c->nent = n + spare;
	EXPECT_EQ(0, okvm_ioctl(fd, req, (uintptr_t)c));
	EXPECT_EQ(n, c->nent);
	/* KVM clamps nent to KVM_MAX_CPUID_ENTRIES before it writes. */
	c->nent = 100000;
	EXPECT_EQ(0, okvm_ioctl(fd, req, (uintptr_t)c));
	EXPECT_EQ(n, c->nent);

	EXPECT_EQ(-EFAULT, okvm_ioctl(fd, req, 0));
	/* Header readable, entries not. */
	edge = straddling_buffer(sizeof(*edge), 0);
	ASSERT_NE(NULL, edge);
	edge->nent = n + spare;
	EXPECT_EQ(-unreadable_errno, okvm_ioctl(fd, req, (uintptr_t)edge));
	free(c);
}

TEST_F(dev, supported_cpuid_e2big)
{
	check_e2big_protocol(_metadata, self->fd, KVM_GET_SUPPORTED_CPUID,
			     0, EFAULT);
}

TEST_F(dev, emulated_cpuid_e2big)
{
	/* The ioctl exists only with its capability (okvm emulates none). */
	if (okvm_ioctl(self->fd, KVM_CHECK_EXTENSION,
		       KVM_CAP_EXT_EMUL_CPUID) <= 0)
		SKIP(return, "no KVM_CAP_EXT_EMUL_CPUID");
	check_e2big_protocol(_metadata, self->fd, KVM_GET_EMULATED_CPUID,
			     1, EINVAL);
}

TEST_F(dev, supported_cpuid_wrong_fd)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	struct kvm_cpuid2 *c = cpuid_alloc(MAX_CPUID_ENTRIES);

	ASSERT_NE(NULL, c);
	EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, KVM_GET_SUPPORTED_CPUID,
				      (uintptr_t)c));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_GET_SUPPORTED_CPUID,
				      (uintptr_t)c));
	free(c);
	kvm_vm_free(vm);
}

/*
 * What KVM offers: the host's vendor; the other vendor's extension never,
 * its own (SVM in leaf 0x80000001 ECX 2, VMX in leaf 1 ECX 5) exactly when
 * nested virtualization is on; KVM's signature leaf 0x40000000
 * (cpuid.rst). KVM's answer: not the hypervisor bit (leaf 1 ECX 31, APM
 * vol. 3 E.3.2): userspace sets it.
 */
TEST_F(dev, supported_cpuid_contents)
{
	struct kvm_cpuid2 *c = cpuid_alloc(MAX_CPUID_ENTRIES);
	struct kvm_cpuid_entry2 *e;
	char sig[13];
	int nested;

	ASSERT_NE(NULL, c);
	kvm_ioctl(self->fd, KVM_GET_SUPPORTED_CPUID, c);

	e = find(c, 0, 0);
	ASSERT_NE(NULL, e);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->edx, 4);
	memcpy(sig + 8, &e->ecx, 4);
	sig[12] = '\0';
	EXPECT_STREQ(okvm_host_is_intel() ? "GenuineIntel" : "AuthenticAMD",
		     sig);
	nested = okvm_kvm_nested();

	e = find(c, 1, 0);
	ASSERT_NE(NULL, e);
	/*
	 * KVM leaves the hypervisor bit to the VMM; okvm sets it, which is
	 * one of its documented differences (Documentation/api.rst).
	 */
	EXPECT_EQ(okvm_dev_is_okvm(), !!(e->ecx & LEAF1_ECX_HYPERVISOR));
	if (!okvm_host_is_intel() || nested < 0) {
		EXPECT_FALSE(e->ecx & LEAF1_ECX_VMX);
	} else {
		EXPECT_EQ(nested, !!(e->ecx & LEAF1_ECX_VMX));
	}
	/* OSXSAVE is the guest's CR4: not a capability to offer. */
	EXPECT_FALSE(e->ecx & LEAF1_ECX_OSXSAVE);

	e = find(c, 0x80000001, 0);
	ASSERT_NE(NULL, e);
	/*
	 * KVM's answer: kvm-amd offers SVM (nested virtualization) exactly
	 * when its "nested" parameter is on (the default), kvm-intel VMX
	 * likewise; a hypervisor without that parameter (okvm) offers
	 * neither.
	 */
	TH_LOG("SVM %s, VMX %s, nested %d",
	       e->ecx & EXT1_ECX_SVM ? "offered" : "not offered",
	       find(c, 1, 0)->ecx & LEAF1_ECX_VMX ? "offered" : "not offered",
	       nested);
	if (okvm_host_is_intel() || nested < 0) {
		EXPECT_FALSE(e->ecx & EXT1_ECX_SVM);
	} else {
		EXPECT_EQ(nested, !!(e->ecx & EXT1_ECX_SVM));
	}

	e = find(c, 0x40000000, 0);
	ASSERT_NE(NULL, e);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	sig[12] = '\0';
	EXPECT_EQ(0, memcmp("KVMKVMKVM\0\0\0", sig, 12));
	EXPECT_LE(0x40000001, e->eax);
	e = find(c, 0x40000001, 0);
	ASSERT_NE(NULL, e);
	/* kvmclock, both MSR pairs (bits 0 and 3, kvm_para.h). */
	EXPECT_EQ(0x9, e->eax & 0x9);
	/*
	 * The stable bit (24): KVM always offers it; okvm, which has no
	 * master clock, does not (api.rst).
	 */
	EXPECT_EQ(!okvm_dev_is_okvm(), !!(e->eax & (1u << 24)));
	free(c);
}

/* --- KVM_SET_CPUID2 / KVM_GET_CPUID2 ------------------------------------ */

static struct kvm_vcpu *bare_vcpu(struct kvm_vm **vm)
{
	*vm = vm_create_bare();
	return vm_vcpu_add_bare(*vm, 0);
}

/*
 * KVM_GET_CPUID2 answers with the vCPU's table but, on 6.1, does not
 * write nent back (6.12 does): a test can only count on nent when it
 * passes the exact size. The kernels agree on the rest.
 */
static bool nent_ok(uint32_t got, uint32_t passed, uint32_t want)
{
	return got == want || got == passed;
}

/* A vCPU has no table until one is set: KVM_GET_CPUID2 gives 0 entries. */
TEST(get_cpuid2_before_set)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_cpuid2 *c = cpuid_alloc(4);

	ASSERT_NE(NULL, c);
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (uintptr_t)c));
	EXPECT_TRUE(nent_ok(c->nent, 4, 0)) TH_LOG("nent %u", c->nent);
	c->nent = 0;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (uintptr_t)c));
	EXPECT_EQ(0, c->nent);
	free(c);
	kvm_vm_free(vm);
}

/*
 * The table reads back as set; too small an nent is E2BIG (KVM's answer:
 * nent unchanged here too).
 */
TEST(set_then_get_cpuid2)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_cpuid2 *set = kvm_get_supported_cpuid(vm);
	struct kvm_cpuid2 *got = cpuid_alloc(MAX_CPUID_ENTRIES);
	struct kvm_cpuid_entry2 *a, *b;
	uint32_t n = set->nent;

	ASSERT_NE(NULL, got);
	vcpu_set_cpuid(vcpu, set);
	got->nent = n - 1;
	EXPECT_EQ(-E2BIG, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2,
				     (uintptr_t)got));
	EXPECT_EQ(n - 1, got->nent);
	got->nent = MAX_CPUID_ENTRIES;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (uintptr_t)got));
	EXPECT_TRUE(nent_ok(got->nent, MAX_CPUID_ENTRIES, n));
	got->nent = n;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (uintptr_t)got));
	EXPECT_EQ(n, got->nent);
	a = find(set, 0, 0);
	b = find(got, 0, 0);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, memcmp(a, b, sizeof(*a)));
	a = find(set, 0x80000001, 0);
	b = find(got, 0x80000001, 0);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, memcmp(a, b, sizeof(*a)));
	free(got);
	free(set);
	kvm_vm_free(vm);
}

/* The refusals of KVM_SET_CPUID2 before the vCPU runs. */
TEST(set_cpuid2_refusals)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid(vm);
	struct kvm_cpuid2 *big = cpuid_alloc(MAX_CPUID_ENTRIES + 1);
	struct kvm_cpuid2 *edge, *got = cpuid_alloc(MAX_CPUID_ENTRIES);
	struct kvm_cpuid_entry2 *e;
	uint32_t saved;
	int fd;

	ASSERT_NE(NULL, big);
	ASSERT_NE(NULL, got);
	/* More than KVM_MAX_CPUID_ENTRIES: E2BIG. */
	EXPECT_EQ(-E2BIG, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2,
				     (uintptr_t)big));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2, 0));
	edge = straddling_buffer(sizeof(*edge), 0);
	ASSERT_NE(NULL, edge);
	edge->nent = 2;
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2,
				      (uintptr_t)edge));

	/*
	 * 0x80000008 EAX[15:8], linear address bits: KVM accepts only 48,
	 * 57, or 0 (unspecified).
	 */
	e = find(c, 0x80000008, 0);
	ASSERT_NE(NULL, e);
	saved = e->eax;
	e->eax = (e->eax & ~0xff00U) | (40 << 8);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2,
				      (uintptr_t)c));
	/* A refused table leaves the vCPU without one. */
	got->nent = 0;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (uintptr_t)got));
	e->eax = saved;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2, (uintptr_t)c));

	got->nent = 0;
	EXPECT_EQ(-E2BIG, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2,
				     (uintptr_t)got));

	/* An empty table is accepted, and replaces the one before. */
	got->nent = 0;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2, (uintptr_t)got));
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (uintptr_t)got));

	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd,
				      ioc_resize(KVM_SET_CPUID2, 4),
				      (uintptr_t)c));
	EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, KVM_SET_CPUID2, (uintptr_t)c));
	fd = dup(vcpu->fd);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_SET_CPUID2, (uintptr_t)c));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_GET_CPUID2, (uintptr_t)got));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_SET_CPUID, (uintptr_t)c));
	free(got);
	free(big);
	free(c);
	kvm_vm_free(vm);
}

/* The old KVM_SET_CPUID (struct kvm_cpuid_entry, no index) still works. */
TEST(set_cpuid_v1)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct {
		struct kvm_cpuid hdr;
		struct kvm_cpuid_entry e[1];
	} v1;
	struct kvm_cpuid2 *got = cpuid_alloc(MAX_CPUID_ENTRIES);
	struct kvm_cpuid *big = calloc(1, sizeof(*big) +
				       (MAX_CPUID_ENTRIES + 1) *
				       sizeof(struct kvm_cpuid_entry));

	ASSERT_NE(NULL, got);
	ASSERT_NE(NULL, big);
	memset(&v1, 0, sizeof(v1));
	v1.hdr.nent = 1;
	v1.e[0].function = 0;
	v1.e[0].eax = 1;
	v1.e[0].ebx = 0x12345678;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_CPUID, (uintptr_t)&v1));
	got->nent = 0;
	EXPECT_EQ(-E2BIG, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2,
				     (uintptr_t)got));
	got->nent = 1;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (uintptr_t)got));
	EXPECT_EQ(0, got->entries[0].function);
	EXPECT_EQ(1, got->entries[0].eax);
	EXPECT_EQ(0x12345678, got->entries[0].ebx);

	big->nent = MAX_CPUID_ENTRIES + 1;
	EXPECT_EQ(-E2BIG, okvm_ioctl(vcpu->fd, KVM_SET_CPUID,
				     (uintptr_t)big));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_CPUID, 0));
	free(big);
	free(got);
	kvm_vm_free(vm);
}

/* --- the guest's CPUID ------------------------------------------------ */

static void guest_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	asm volatile("cpuid"
		     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(subleaf));
}

/* Report (leaf, subleaf) as SYNC(stage, eax, ebx, ecx, edx), repeatedly. */
static void guest_report_leaf(uint32_t leaf, uint32_t subleaf)
{
	uint32_t r[4];
	int stage;

	for (stage = 1;; stage++) {
		guest_cpuid(leaf, subleaf, r);
		GUEST_SYNC_ARGS(stage, r[0], r[1], r[2], r[3]);
	}
}

TEST(guest_sees_hypervisor_bit_and_signature)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_report_leaf);
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid(vm);
	struct ucall uc;
	char sig[12];

	/*
	 * As the supported table has it (see above): okvm sets the bit; VMX
	 * only from kvm-intel with nesting on.
	 */
	vcpu_args_set(vcpu, 2, 1, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(okvm_dev_is_okvm(), !!(uc.args[3] & LEAF1_ECX_HYPERVISOR));
	EXPECT_EQ(okvm_host_is_intel() && okvm_kvm_nested() == 1,
		  !!(uc.args[3] & LEAF1_ECX_VMX));
	kvm_vm_free(vm);

	/* Set by userspace, as a VMM does. */
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_report_leaf);
	kvm_cpuid_entry(c, 1, 0)->ecx |= LEAF1_ECX_HYPERVISOR;
	vcpu_set_cpuid(vcpu, c);
	vcpu_args_set(vcpu, 2, 1, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_TRUE(uc.args[3] & LEAF1_ECX_HYPERVISOR);
	kvm_vm_free(vm);

	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_report_leaf);
	vcpu_args_set(vcpu, 2, 0x40000000, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	memcpy(sig, &uc.args[2], 4);
	memcpy(sig + 4, &uc.args[3], 4);
	memcpy(sig + 8, &uc.args[4], 4);
	EXPECT_EQ(0, memcmp("KVMKVMKVM\0\0\0", sig, 12));
	free(c);
	kvm_vm_free(vm);
}

/* Leaf 0's vendor strings, EBX EDX ECX. */
static void set_vendor(struct kvm_cpuid_entry2 *e, const char *v)
{
	memcpy(&e->ebx, v, 4);
	memcpy(&e->edx, v + 4, 4);
	memcpy(&e->ecx, v + 8, 4);
}

/*
 * A leaf past the highest basic leaf: on an AMD guest KVM answers zeros
 * (what AMD CPUs do; Intel's repeat the highest leaf, SDM vol. 2 CPUID).
 */
TEST(guest_leaf_out_of_range_is_zero)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_report_leaf);
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid(vm);
	uint32_t max = kvm_cpuid_entry(c, 0, 0)->eax;
	struct ucall uc;

	/* The VMX bed's table names Intel: make the guest an AMD one. */
	set_vendor(kvm_cpuid_entry(c, 0, 0), "AuthenticAMD");
	vcpu_set_cpuid(vcpu, c);
	vcpu_args_set(vcpu, 2, max + 1, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
	EXPECT_EQ(0, uc.args[3]);
	EXPECT_EQ(0, uc.args[4]);
	free(c);
	kvm_vm_free(vm);
}

/*
 * Leaves with a significant index: each subleaf answers its own entry.
 * Leaf 0xd (XSAVE) has them wherever XSAVE is; there is no such leaf
 * without it.
 */
TEST(guest_sees_subleaves)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_cpuid2 *c;
	struct kvm_cpuid_entry2 *e1, *e2;
	struct ucall uc;

	if (!okvm_host_has_xsave())
		SKIP(return, "the host has no XSAVE, so no leaf 0xd");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_report_leaf);
	c = kvm_get_supported_cpuid(vm);
	e1 = kvm_cpuid_entry(c, 0xd, 1);
	e2 = kvm_cpuid_entry(c, 0xd, 2);
	ASSERT_NE(e1, e2);
	e2->ecx = 0x5a5a0000;	/* reserved bits: KVM passes them on */
	vcpu_set_cpuid(vcpu, c);
	vcpu_args_set(vcpu, 2, 0xd, 2);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(e2->eax, uc.args[1]);
	EXPECT_EQ(e2->ebx, uc.args[2]);
	EXPECT_EQ(0x5a5a0000, uc.args[3]);
	free(c);
	kvm_vm_free(vm);
}

/*
 * Bits that follow the vCPU's state, not the table (APM vol. 3 E.3.2):
 * OSXSAVE is CR4.OSXSAVE (where there is XSAVE), APIC is the APIC base
 * MSR's enable bit.
 */
TEST(guest_osxsave_and_apic_bits_follow_state)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_report_leaf);
	bool xsave = okvm_host_has_xsave();
	struct kvm_sregs sregs;
	struct ucall uc;

	vcpu_args_set(vcpu, 2, 1, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_FALSE(uc.args[3] & LEAF1_ECX_OSXSAVE);
	EXPECT_EQ(xsave, !!(uc.args[3] & LEAF1_ECX_XSAVE));
	EXPECT_TRUE(uc.args[4] & LEAF1_EDX_APIC);

	vcpu_sregs_get(vcpu, &sregs);
	if (xsave)
		sregs.cr4 |= CR4_OSXSAVE;
	sregs.apic_base &= ~(1ULL << 11);	/* APIC global enable */
	vcpu_sregs_set(vcpu, &sregs);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(xsave, !!(uc.args[3] & LEAF1_ECX_OSXSAVE));
	EXPECT_FALSE(uc.args[4] & LEAF1_EDX_APIC);
	kvm_vm_free(vm);
}

/* --- a table of the VMM's own, whatever the host has --------------- */

/* The leaf and subleaf the guest asks next; the host writes it. */
static uint32_t query[2];

static void guest_cpuid_query(void)
{
	volatile uint32_t *q = query;
	uint32_t r[4];
	int stage;

	for (stage = 1;; stage++) {
		guest_cpuid(q[0], q[1], r);
		GUEST_SYNC_ARGS(stage, r[0], r[1], r[2], r[3]);
	}
}

struct guest_cpuid {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int stage;
};

static void guest_cpuid_start(struct guest_cpuid *g, struct kvm_cpuid2 *c)
{
	g->vm = vm_create_guest(0);
	g->vcpu = vm_vcpu_add_guest(g->vm, 0, guest_cpuid_query);
	vcpu_set_cpuid(g->vcpu, c);
	g->stage = 0;
}

/* CPUID(fn, idx) in the guest, EAX EBX ECX EDX into r. */
static bool guest_ask(struct guest_cpuid *g, uint32_t fn, uint32_t idx,
		      uint32_t r[4])
{
	struct ucall uc;
	int i;

	query[0] = fn;
	query[1] = idx;
	vm_sync_global_to_guest(g->vm, query);
	if (vcpu_run_ucall(g->vcpu, &uc) != UCALL_SYNC ||
	    uc.args[0] != ++g->stage)
		return false;
	for (i = 0; i < 4; i++)
		r[i] = uc.args[i + 1];
	return true;
}

#define EXPECT_LEAF(g, fn, idx, a, b, c, d) do {			\
	uint32_t _r[4];							\
	ASSERT_TRUE(guest_ask(g, fn, idx, _r));				\
	EXPECT_EQ((uint32_t)(a), _r[0]) TH_LOG("%#x.%u eax", fn, idx);	\
	EXPECT_EQ((uint32_t)(b), _r[1]) TH_LOG("%#x.%u ebx", fn, idx);	\
	EXPECT_EQ((uint32_t)(c), _r[2]) TH_LOG("%#x.%u ecx", fn, idx);	\
	EXPECT_EQ((uint32_t)(d), _r[3]) TH_LOG("%#x.%u edx", fn, idx);	\
} while (0)

static struct kvm_cpuid_entry2 *add_leaf(struct kvm_cpuid2 *c, uint32_t fn,
					 uint32_t idx, bool indexed,
					 uint32_t eax, uint32_t ebx,
					 uint32_t ecx, uint32_t edx)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
	return e;
}

/*
 * The guest's CPUID returns exactly what KVM_SET_CPUID2 set, for leaves
 * the host has and leaves it does not, for each subleaf of an indexed leaf
 * and for any subleaf of one that is not. The table keeps the bits that
 * follow the vCPU's state (leaf 1's APIC and OSXSAVE) as the state has
 * them, and has no leaf 0xd.
 */
TEST(guest_gets_exactly_what_was_set)
{
	struct kvm_cpuid2 *c = cpuid_alloc(MAX_CPUID_ENTRIES), *got;
	struct kvm_cpuid2 *sup;
	struct guest_cpuid g;
	uint32_t i, j, leaf1_ecx;
	struct kvm_vm *vm;

	ASSERT_NE(NULL, c);
	vm = vm_create_bare();
	sup = kvm_get_supported_cpuid(vm);
	kvm_vm_free(vm);
	/* The host's features (SSE and long mode) with bits of our own. */
	leaf1_ecx = (kvm_cpuid_entry(sup, 1, 0)->ecx & ~LEAF1_ECX_OSXSAVE) |
		    LEAF1_ECX_HYPERVISOR | (1U << 16);
	c->nent = 0;
	set_vendor(add_leaf(c, 0, 0, false, 0x14, 0, 0, 0), "AuthenticAMD");
	add_leaf(c, 1, 0, false, 0x00b40f41, 0x5a020800, leaf1_ecx,
		 kvm_cpuid_entry(sup, 1, 0)->edx | LEAF1_EDX_APIC);
	add_leaf(c, 2, 0, false, 0x76035a01, 0x00f0b2ff, 0, 0x00ca0000);
	for (i = 0; i < 3; i++)
		add_leaf(c, 4, i, true, 0x100 * i + 0x21, 0x01c0003f + i,
			 0x3f + i, i);
	add_leaf(c, 0x14, 0, true, 1, 0x5f, 7, 0);
	add_leaf(c, 0x14, 1, true, 0x02490002, 0x003f3fff, 0, 0);
	set_vendor(add_leaf(c, 0x40000000, 0, false, 0x40000003, 0, 0, 0),
		   "okvmtestokvm");
	add_leaf(c, 0x40000003, 0, false, 0xdead, 0xbeef, 0xcafe, 0xf00d);
	add_leaf(c, 0x80000000, 0, false, 0x80000021, 0x11, 0x22, 0x33);
	add_leaf(c, 0x80000001, 0, false, 0x00a00f11,
		 0x40000000, kvm_cpuid_entry(sup, 0x80000001, 0)->ecx,
		 kvm_cpuid_entry(sup, 0x80000001, 0)->edx);
	add_leaf(c, 0x8000001f, 0, false, 0x1000f, 0x16f, 0x1fd, 1);
	add_leaf(c, 0x80000021, 0, false, 0x62fcf, 0, 0, 0);
	add_leaf(c, 0xc0000000, 0, false, 0xc0000001, 1, 2, 3);
	add_leaf(c, 0xc0000001, 0, false, 4, 5, 6, 7);
	add_leaf(c, 0x8fffffff, 0, false, 0x11111111, 0x22222222,
		 0x33333333, 0x44444444);

	guest_cpuid_start(&g, c);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		EXPECT_LEAF(&g, e->function, e->index, e->eax, e->ebx,
			    e->ecx, e->edx);
	}
	/* Any subleaf of a leaf without them is that leaf. */
	for (j = 1; j < 0x100000; j <<= 4) {
		struct kvm_cpuid_entry2 *e = find(c, 0x8000001f, 0);

		EXPECT_LEAF(&g, 0x8000001f, j, e->eax, e->ebx, e->ecx, e->edx);
	}
	/* A subleaf the VMM did not give, on an AMD guest: zeros. */
	EXPECT_LEAF(&g, 4, 3, 0, 0, 0, 0);
	EXPECT_LEAF(&g, 0x14, 2, 0, 0, 0, 0);
	EXPECT_LEAF(&g, 3, 0, 0, 0, 0, 0);

	/* KVM_GET_CPUID2 gives the table back as set, entry for entry. */
	got = cpuid_alloc(c->nent);
	ASSERT_NE(NULL, got);
	EXPECT_EQ(0, okvm_ioctl(g.vcpu->fd, KVM_GET_CPUID2, (uintptr_t)got));
	EXPECT_EQ(0, memcmp(c->entries, got->entries,
			    c->nent * sizeof(c->entries[0])));
	/* After KVM_RUN: the same table again is fine, a changed one not. */
	EXPECT_EQ(0, okvm_ioctl(g.vcpu->fd, KVM_SET_CPUID2, (uintptr_t)c));
	/* KVM compares the fields, not the padding. */
	c->entries[3].padding[1] = 0x77;
	EXPECT_EQ(0, okvm_ioctl(g.vcpu->fd, KVM_SET_CPUID2, (uintptr_t)c));
	c->entries[3].padding[1] = 0;
	c->entries[3].edx ^= 1;
	EXPECT_EQ(-EINVAL, okvm_ioctl(g.vcpu->fd, KVM_SET_CPUID2,
				      (uintptr_t)c));
	c->entries[3].edx ^= 1;
	c->entries[3].flags ^= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	EXPECT_EQ(-EINVAL, okvm_ioctl(g.vcpu->fd, KVM_SET_CPUID2,
				      (uintptr_t)c));
	c->entries[3].flags ^= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	c->nent--;
	EXPECT_EQ(-EINVAL, okvm_ioctl(g.vcpu->fd, KVM_SET_CPUID2,
				      (uintptr_t)c));
	c->nent++;
	/*
	 * The bits that follow the vCPU's state compare as the state has
	 * them: a table with another APIC bit is the same table.
	 */
	find(c, 1, 0)->edx &= ~LEAF1_EDX_APIC;
	EXPECT_EQ(0, okvm_ioctl(g.vcpu->fd, KVM_SET_CPUID2, (uintptr_t)c));
	EXPECT_LEAF(&g, 1, 0, find(c, 1, 0)->eax, find(c, 1, 0)->ebx,
		    leaf1_ecx, find(c, 1, 0)->edx | LEAF1_EDX_APIC);
	free(got);
	free(sup);
	free(c);
	kvm_vm_free(g.vm);
}

/*
 * A leaf the table lacks, on an Intel guest (KVM's kvm_cpuid(), SDM vol.
 * 2A CPUID): above the top of its range (basic, extended, each 0x100-leaf
 * hypervisor block, Centaur's; a range whose first leaf is missing has no
 * top) it is the highest basic leaf, with the subleaf asked; inside its
 * range it is zeros.
 */
TEST(guest_missing_leaf_on_intel)
{
	struct kvm_cpuid2 *c = cpuid_alloc(16);
	struct guest_cpuid g;
	uint32_t top0[4] = { 0x40, 0x41, 0x42, 0x43 };
	uint32_t top1[4] = { 0x50, 0x51, 0x52, 0x53 };

	ASSERT_NE(NULL, c);
	c->nent = 0;
	set_vendor(add_leaf(c, 0, 0, false, 4, 0, 0, 0), "GenuineIntel");
	add_leaf(c, 1, 0, false, 0x306a9, 0x800, 0, LEAF1_EDX_APIC);
	add_leaf(c, 4, 0, true, top0[0], top0[1], top0[2], top0[3]);
	add_leaf(c, 4, 1, true, top1[0], top1[1], top1[2], top1[3]);
	add_leaf(c, 0x80000000, 0, false, 0x80000004, 0, 0, 0);
	add_leaf(c, 0x40000000, 0, false, 0x40000001, 1, 2, 3);
	guest_cpuid_start(&g, c);

	EXPECT_LEAF(&g, 5, 0, top0[0], top0[1], top0[2], top0[3]);
	EXPECT_LEAF(&g, 5, 1, top1[0], top1[1], top1[2], top1[3]);
	EXPECT_LEAF(&g, 0x80000005, 1, top1[0], top1[1], top1[2], top1[3]);
	EXPECT_LEAF(&g, 0x40000002, 0, top0[0], top0[1], top0[2], top0[3]);
	EXPECT_LEAF(&g, 0x40000100, 0, top0[0], top0[1], top0[2], top0[3]);
	EXPECT_LEAF(&g, 0xc0000000, 1, top1[0], top1[1], top1[2], top1[3]);
	EXPECT_LEAF(&g, 0x50000000, 0, top0[0], top0[1], top0[2], top0[3]);
	EXPECT_LEAF(&g, 0xffffffff, 0, top0[0], top0[1], top0[2], top0[3]);
	/* Out of range, and the top leaf lacks the subleaf: zeros. */
	EXPECT_LEAF(&g, 5, 2, 0, 0, 0, 0);
	/* Inside a range: zeros. */
	EXPECT_LEAF(&g, 3, 0, 0, 0, 0, 0);
	EXPECT_LEAF(&g, 4, 2, 0, 0, 0, 0);
	EXPECT_LEAF(&g, 0x80000003, 0, 0, 0, 0, 0);
	EXPECT_LEAF(&g, 0x40000001, 0, 0, 0, 0, 0);
	free(c);
	kvm_vm_free(g.vm);
}

/* The same table on an AMD or Hygon guest, or none: zeros. */
TEST(guest_missing_leaf_on_amd)
{
	static const char *const vendors[] = {
		"AuthenticAMD", "HygonGenuine", NULL,
	};
	struct kvm_cpuid2 *c = cpuid_alloc(16);
	struct guest_cpuid g;
	unsigned int v;

	ASSERT_NE(NULL, c);
	for (v = 0; v < ARRAY_SIZE(vendors); v++) {
		c->nent = 0;
		if (vendors[v])
			set_vendor(add_leaf(c, 0, 0, false, 4, 0, 0, 0),
				   vendors[v]);
		add_leaf(c, 4, 0, true, 0x40, 0x41, 0x42, 0x43);
		add_leaf(c, 0x80000000, 0, false, 0x80000004, 0, 0, 0);
		guest_cpuid_start(&g, c);
		EXPECT_LEAF(&g, 5, 0, 0, 0, 0, 0);
		EXPECT_LEAF(&g, 0x80000005, 0, 0, 0, 0, 0);
		EXPECT_LEAF(&g, 0x40000000, 0, 0, 0, 0, 0);
		kvm_vm_free(g.vm);
	}
	free(c);
}

/*
 * The topology leaves (SDM vol. 2A CPUID leaf 0xb): a subleaf the table
 * lacks has ECX[7:0] = the subleaf and EDX = the x2APIC ID of subleaf 1,
 * when there is a subleaf 1; else zeros.
 */
TEST(guest_topology_leaf_subleaves)
{
	struct kvm_cpuid2 *c = cpuid_alloc(16);
	struct guest_cpuid g;

	ASSERT_NE(NULL, c);
	c->nent = 0;
	set_vendor(add_leaf(c, 0, 0, false, 0x1f, 0, 0, 0), "AuthenticAMD");
	add_leaf(c, 0xb, 0, true, 1, 2, 0x100, 7);
	add_leaf(c, 0xb, 1, true, 4, 8, 0x201, 7);
	add_leaf(c, 0x1f, 0, true, 1, 2, 0x100, 9);
	guest_cpuid_start(&g, c);
	EXPECT_LEAF(&g, 0xb, 1, 4, 8, 0x201, 7);
	EXPECT_LEAF(&g, 0xb, 2, 0, 0, 2, 7);
	EXPECT_LEAF(&g, 0xb, 0x1234, 0, 0, 0x34, 7);
	EXPECT_LEAF(&g, 0x1f, 0, 1, 2, 0x100, 9);
	EXPECT_LEAF(&g, 0x1f, 2, 0, 0, 0, 0);
	free(c);
	kvm_vm_free(g.vm);
}

/*
 * Leaf 0xd: EBX of subleaf 0 is the size XCR0 needs; EBX of subleaf 1 is
 * the compacted size when the table offers XSAVEC (EAX[1]) or XSAVES
 * (EAX[3]), and as set otherwise. XCR0 is x87 alone: 576 bytes both ways.
 */
TEST(guest_xsave_leaf_sizes)
{
	struct kvm_cpuid2 *c = cpuid_alloc(16);
	struct guest_cpuid g;

	if (!okvm_host_has_xsave())
		SKIP(return, "the host has no XSAVE");
	ASSERT_NE(NULL, c);
	c->nent = 0;
	set_vendor(add_leaf(c, 0, 0, false, 0xd, 0, 0, 0), "AuthenticAMD");
	add_leaf(c, 0xd, 0, true, 3, 0x1234, 0x240, 0);
	add_leaf(c, 0xd, 1, true, 1 << 1, 0x4321, 0, 0);
	guest_cpuid_start(&g, c);
	EXPECT_LEAF(&g, 0xd, 0, 3, 576, 0x240, 0);
	EXPECT_LEAF(&g, 0xd, 1, 1 << 1, 576, 0, 0);
	kvm_vm_free(g.vm);

	c->entries[2].eax = 1;	/* XSAVEOPT alone */
	guest_cpuid_start(&g, c);
	EXPECT_LEAF(&g, 0xd, 1, 1, 0x4321, 0, 0);
	free(c);
	kvm_vm_free(g.vm);
}

TEST_HARNESS_MAIN
