// SPDX-License-Identifier: GPL-2.0-only
/*
 * cr4_test.c - the guest's MOV to CR4 is checked against its CPUID, as
 * KVM checks it (SDM Vol. 2B MOV-Move to/from Control Registers: #GP(0)
 * for a reserved bit; KVM counts a feature the guest's CPUID does not
 * offer as reserved), so that KVM_GET_SREGS never returns a CR4 that
 * KVM_SET_SREGS refuses.
 *
 * The guest's CPUID hides FSGSBASE, PKU and VMX (kvm-intel offers nested
 * VMX, and with it CR4.VMXE). A CPU that implements them
 * would let a guest set CR4.FSGSBASE or CR4.PKE without an intercept; KVM
 * intercepts CR4 writes on both vendors, and so must okvm. The writes go
 * through RAX and through R9 (a REX-prefixed MOV), since without decode
 * assists the hypervisor decodes the instruction to find the register.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "kvm_vm.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define CR4_PAE		(1UL << 5)
#define CR4_MCE		(1UL << 6)
#define CR4_VMXE	(1UL << 13)
#define CR4_FSGSBASE	(1UL << 16)
#define CR4_PKE		(1UL << 22)

static volatile uint64_t gp_count, skip_len;

/* #GP: count it and step over the MOV that raised it. */
static void guest_gp_handler(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += skip_len;
}

static uint64_t guest_read_cr4(void)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	return cr4;
}

/* mov %rax, %cr4: 0f 22 e0, three bytes. */
static void guest_write_cr4_rax(uint64_t val)
{
	skip_len = 3;
	asm volatile("mov %0, %%cr4" :: "a"(val) : "memory");
}

/* mov %r9, %cr4: 41 0f 22 e1, four bytes. */
static void guest_write_cr4_r9(uint64_t val)
{
	skip_len = 4;
	asm volatile("mov %0, %%r9\n\t"
		     ".byte 0x41, 0x0f, 0x22, 0xe1"
		     :: "r"(val) : "r9", "memory");
}

static void guest_cr4(void)
{
	uint64_t cr4 = guest_read_cr4();

	guest_write_cr4_rax(cr4 | CR4_FSGSBASE);
	GUEST_ASSERT_EQ(1, gp_count);
	GUEST_ASSERT_EQ(cr4, guest_read_cr4());
	guest_write_cr4_r9(cr4 | CR4_FSGSBASE);
	GUEST_ASSERT_EQ(2, gp_count);
	guest_write_cr4_r9(cr4 | CR4_PKE);
	GUEST_ASSERT_EQ(3, gp_count);
	guest_write_cr4_rax(cr4 | CR4_VMXE);
	GUEST_ASSERT_EQ(4, gp_count);
	/* Clearing PAE in IA-32e mode. */
	guest_write_cr4_rax(cr4 & ~CR4_PAE);
	GUEST_ASSERT_EQ(5, gp_count);
	GUEST_ASSERT_EQ(cr4, guest_read_cr4());

	/* MCE is always allowed, whatever CPUID says (as KVM). */
	guest_write_cr4_r9(cr4 | CR4_MCE);
	GUEST_ASSERT_EQ(5, gp_count);
	GUEST_ASSERT_EQ(cr4 | CR4_MCE, guest_read_cr4());
	GUEST_SYNC(1);
	guest_write_cr4_rax(cr4);
	GUEST_ASSERT_EQ(5, gp_count);
	GUEST_ASSERT_EQ(cr4, guest_read_cr4());
	GUEST_DONE();
}

/* Hide a CPUID leaf-7 feature bit from the guest. */
static void hide_leaf7(struct kvm_cpuid2 *cpuid, bool ecx, unsigned int bit)
{
	struct kvm_cpuid_entry2 *e = kvm_cpuid_entry(cpuid, 7, 0);

	if (ecx)
		e->ecx &= ~(1U << bit);
	else
		e->ebx &= ~(1U << bit);
}

TEST(guest_cr4_checked_against_cpuid)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cr4);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct kvm_sregs sregs;
	struct ucall uc;

	hide_leaf7(cpuid, false, 0);	/* FSGSBASE */
	hide_leaf7(cpuid, true, 3);	/* PKU */
	kvm_cpuid_entry(cpuid, 1, 0)->ecx &= ~(1U << 5);	/* VMX */
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
	vm_install_exception_handler(vm, GP_VECTOR, guest_gp_handler);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) {
		TH_LOG("%s", ucall_str(&uc));
	}
	/* What the guest could set, the VMM can read back and restore. */
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(CR4_MCE, sregs.cr4 & (CR4_MCE | CR4_FSGSBASE | CR4_PKE));
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&sregs));
	/* And KVM_SET_SREGS refuses what the guest was refused. */
	sregs.cr4 |= CR4_FSGSBASE;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS,
				      (uintptr_t)&sregs));
	sregs.cr4 &= ~CR4_FSGSBASE;
	sregs.cr4 |= CR4_PKE;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS,
				      (uintptr_t)&sregs));

	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc)) {
		TH_LOG("%s", ucall_str(&uc));
	}
	kvm_vm_free(vm);
}

/* CPUID bits of the CR4 features (SDM Vol. 2A CPUID; Vol. 3A 2.5). */
static const struct {
	uint64_t cr4;
	uint32_t function;
	int reg;		/* 2: ECX, 1: EBX */
	int bit;
	const char *name;
} cr4_features[] = {
	{ 1ULL << 11, 7, 2, 2, "UMIP" },
	{ 1ULL << 12, 7, 2, 16, "LA57" },
	{ 1ULL << 13, 1, 2, 5, "VMXE" },
	{ 1ULL << 14, 1, 2, 6, "SMXE" },
	{ 1ULL << 16, 7, 1, 0, "FSGSBASE" },
	{ 1ULL << 17, 1, 2, 17, "PCIDE" },
	{ 1ULL << 18, 1, 2, 26, "OSXSAVE" },
	{ 1ULL << 20, 7, 1, 7, "SMEP" },
	{ 1ULL << 21, 7, 1, 20, "SMAP" },
	{ 1ULL << 22, 7, 2, 3, "PKE" },
};

/* The features of the table in c: their CR4 bits. */
static uint64_t cr4_offered(struct kvm_cpuid2 *c)
{
	uint64_t cr4 = 0;
	unsigned int i;
	uint32_t j;

	for (i = 0; i < ARRAY_SIZE(cr4_features); i++)
		for (j = 0; j < c->nent; j++) {
			struct kvm_cpuid_entry2 *e = &c->entries[j];
			uint32_t r = cr4_features[i].reg == 2 ? e->ecx : e->ebx;

			if (e->function == cr4_features[i].function &&
			    e->index == 0 && (r >> cr4_features[i].bit & 1))
				cr4 |= cr4_features[i].cr4;
		}
	return cr4;
}

/* The bits every x86-64 CPU has: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT. */
#define CR4_ALWAYS	0x7ffULL

/*
 * Before the VMM gave a CPUID, KVM_SET_SREGS takes every CR4 bit of what
 * KVM_GET_SUPPORTED_CPUID offers (a VMM may restore CR4 before CPUID),
 * and still refuses the others and reserved bits, changing nothing.
 * Afterwards, the vCPU's CPUID decides; an empty one leaves the bits
 * every CPU has, MCE among them.
 */
TEST(sregs_cr4_before_and_after_cpuid)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	struct kvm_cpuid2 *sup = kvm_get_supported_cpuid(vm);
	struct kvm_cpuid2 empty = { .nent = 0 };
	uint64_t offered = cr4_offered(sup);
	struct kvm_sregs s, orig, got;
	unsigned int i;

	vcpu_sregs_get(vcpu, &orig);
	s = orig;
	s.cr4 |= CR4_ALWAYS | offered;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&s))
		TH_LOG("CR4 %#llx", s.cr4);
	vcpu_sregs_get(vcpu, &got);
	EXPECT_EQ(s.cr4, got.cr4);
	orig = got;
	for (i = 0; i < ARRAY_SIZE(cr4_features); i++) {
		if (offered & cr4_features[i].cr4)
			continue;
		s = orig;
		s.cr4 |= cr4_features[i].cr4;
		EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS,
					      (uintptr_t)&s))
			TH_LOG("CR4.%s, not offered", cr4_features[i].name);
		vcpu_sregs_get(vcpu, &got);
		EXPECT_EQ(0, memcmp(&got, &orig, sizeof(got)));
	}
	s = orig;
	s.cr4 |= 1ULL << 15;	/* reserved */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&s));

	/* An empty CPUID offers no feature. */
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_CPUID2, (uintptr_t)&empty));
	s = orig;
	s.cr4 = CR4_ALWAYS;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&s));
	for (i = 0; i < ARRAY_SIZE(cr4_features); i++) {
		s.cr4 = CR4_ALWAYS | cr4_features[i].cr4;
		EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS,
					      (uintptr_t)&s))
			TH_LOG("CR4.%s with an empty CPUID",
			       cr4_features[i].name);
	}
	/* The supported CPUID again: its bits come back. */
	vcpu_set_cpuid(vcpu, sup);
	s.cr4 = CR4_ALWAYS | offered;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&s));
	free(sup);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
