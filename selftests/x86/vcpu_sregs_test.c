// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu_sregs_test - KVM_GET_SREGS / KVM_SET_SREGS (api.rst "KVM_GET_SREGS",
 * "KVM_SET_SREGS"): the reset state, what the guest sees of control
 * registers, descriptor tables and EFER the host set, what the host sees
 * of what the guest changed, the interrupt_bitmap (an external interrupt
 * to inject, without an in-kernel irqchip), the combinations KVM refuses
 * with EINVAL, and EFAULT / a wrong size.
 */
#include <stdlib.h>
#include <string.h>

#include "ioctl_checks.h"
#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

/* APM vol. 2, 3.1.1 (CR0), 3.7.1 (CR4), 3.1.7 (EFER). */
#define CR0_PE		(1ULL << 0)
#define CR0_TS		(1ULL << 3)
#define CR0_ET		(1ULL << 4)
#define CR0_NW		(1ULL << 29)
#define CR0_CD		(1ULL << 30)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define CR4_PGE		(1ULL << 7)
#define CR4_VMXE	(1ULL << 13)
#define EFER_SCE	(1ULL << 0)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define EFER_NXE	(1ULL << 11)

#define MSR_EFER	0xc0000080

#define TEST_PORT	0x80

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* What the guest reads of its own state. */
struct guest_view {
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	struct desc_ptr gdt, idt;
	uint16_t cs, ds, ss, tr;
};

struct guest_view view;

static uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static void guest_read_state(void)
{
	asm volatile("mov %%cr0, %0" : "=r"(view.cr0));
	asm volatile("mov %%cr2, %0" : "=r"(view.cr2));
	asm volatile("mov %%cr3, %0" : "=r"(view.cr3));
	asm volatile("mov %%cr4, %0" : "=r"(view.cr4));
	asm volatile("mov %%cr8, %0" : "=r"(view.cr8));
	view.efer = guest_rdmsr(MSR_EFER);
	asm volatile("sgdt %0" : "=m"(view.gdt));
	asm volatile("sidt %0" : "=m"(view.idt));
	asm volatile("mov %%cs, %0" : "=r"(view.cs));
	asm volatile("mov %%ds, %0" : "=r"(view.ds));
	asm volatile("mov %%ss, %0" : "=r"(view.ss));
	asm volatile("str %0" : "=r"(view.tr));
}

static void guest_report_state(void)
{
	guest_read_state();
	GUEST_SYNC(1);
	GUEST_DONE();
}

static struct kvm_vcpu *bare_vcpu(struct kvm_vm **vm)
{
	*vm = vm_create_bare();
	return vm_vcpu_add_bare(*vm, 0);
}

/*
 * APM vol. 2, 14.1.3: CR0 0x60000010 (CD, NW, ET), CS selector 0xf000
 * with base 0xffff0000, every limit 0xffff, the rest zero.
 */
TEST(reset_values)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_sregs s;
	int i;

	memset(&s, 0xaa, sizeof(s));
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(CR0_CD | CR0_NW | CR0_ET, s.cr0);
	EXPECT_EQ(0, s.cr2);
	EXPECT_EQ(0, s.cr3);
	EXPECT_EQ(0, s.cr4);
	EXPECT_EQ(0, s.cr8);
	EXPECT_EQ(0, s.efer);
	EXPECT_EQ(0xf000, s.cs.selector);
	EXPECT_EQ(0xffff0000, s.cs.base);
	EXPECT_EQ(0xffff, s.cs.limit);
	EXPECT_EQ(1, s.cs.present);
	EXPECT_EQ(1, s.cs.s);
	EXPECT_EQ(0, s.ds.selector);
	EXPECT_EQ(0, s.ds.base);
	EXPECT_EQ(0xffff, s.ds.limit);
	EXPECT_EQ(0, s.gdt.base);
	EXPECT_EQ(0xffff, s.gdt.limit);
	EXPECT_EQ(0, s.idt.base);
	EXPECT_EQ(0xffff, s.idt.limit);
	EXPECT_EQ(0xffff, s.tr.limit);
	EXPECT_EQ(0xffff, s.ldt.limit);
	/*
	 * APM 16.3.1: APIC base 0xfee00000, EN (bit 11), BSP (bit 8). KVM
	 * reports it even without an in-kernel LAPIC.
	 */
	EXPECT_EQ(0xfee00900, s.apic_base);
	for (i = 0; i < (int)(sizeof(s.interrupt_bitmap) / 8); i++)
		EXPECT_EQ(0, s.interrupt_bitmap[i]);
	kvm_vm_free(vm);
}

/* The 64-bit state the library sets reads back as it was set. */
TEST(round_trip_long_mode)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_report_state);
	struct kvm_sregs s, got;

	vcpu_sregs_get(vcpu, &s);
	s.cr2 = 0x123456789000ULL;
	s.cr8 = 7;
	s.efer |= EFER_SCE | EFER_NXE;
	s.cr4 |= CR4_PGE;
	vcpu_sregs_set(vcpu, &s);
	vcpu_sregs_get(vcpu, &got);
	EXPECT_EQ(s.cr0, got.cr0);
	EXPECT_EQ(s.cr2, got.cr2);
	EXPECT_EQ(s.cr3, got.cr3);
	EXPECT_EQ(s.cr4, got.cr4);
	EXPECT_EQ(s.cr8, got.cr8);
	EXPECT_EQ(s.efer, got.efer);
	EXPECT_EQ(s.gdt.base, got.gdt.base);
	EXPECT_EQ(s.gdt.limit, got.gdt.limit);
	EXPECT_EQ(s.idt.base, got.idt.base);
	EXPECT_EQ(s.idt.limit, got.idt.limit);
	EXPECT_EQ(s.cs.selector, got.cs.selector);
	EXPECT_EQ(s.cs.base, got.cs.base);
	EXPECT_EQ(s.cs.limit, got.cs.limit);
	EXPECT_EQ(s.cs.type, got.cs.type);
	EXPECT_EQ(s.cs.l, got.cs.l);
	EXPECT_EQ(s.cs.present, got.cs.present);
	EXPECT_EQ(s.tr.base, got.tr.base);
	EXPECT_EQ(s.tr.selector, got.tr.selector);
	EXPECT_EQ(s.fs.base, got.fs.base);
	kvm_vm_free(vm);
}

/* The guest reads what KVM_SET_SREGS put in its registers. */
TEST(guest_sees_host_values)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_report_state);
	struct kvm_sregs s;
	struct ucall uc;

	vcpu_sregs_get(vcpu, &s);
	s.cr2 = 0xfeedf000;
	s.cr8 = 3;
	s.cr4 |= CR4_PGE;
	s.efer |= EFER_SCE | EFER_NXE;
	s.gdt.limit = 0x7ff;
	s.idt.base = IDT_GPA;
	vcpu_sregs_set(vcpu, &s);

	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, view);
	EXPECT_EQ(s.cr0, view.cr0);
	EXPECT_EQ(0xfeedf000, view.cr2);
	EXPECT_EQ(s.cr3, view.cr3);
	EXPECT_EQ(s.cr4, view.cr4);
	/*
	 * KVM's answer: without an in-kernel LAPIC the guest's CR8 reads
	 * the VMCB's V_TPR, which KVM_SET_SREGS does not write (KVM syncs
	 * it only with a LAPIC); guest writes do reach cr8 (below).
	 */
	EXPECT_EQ(0, view.cr8);
	EXPECT_EQ(s.efer, view.efer);
	EXPECT_EQ(s.gdt.base, view.gdt.base);
	EXPECT_EQ(0x7ff, view.gdt.limit);
	EXPECT_EQ(s.idt.base, view.idt.base);
	EXPECT_EQ(s.idt.limit, view.idt.limit);
	EXPECT_EQ(GDT_CODE_SEL, view.cs);
	EXPECT_EQ(GDT_DATA_SEL, view.ds);
	EXPECT_EQ(GDT_DATA_SEL, view.ss);
	EXPECT_EQ(GDT_TSS_SEL, view.tr);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * Without an in-kernel LAPIC, kvm_run->cr8 is an input too: KVM_RUN takes
 * the VMM's CR8 from it before anything else, and refuses a value above
 * 15 with EINVAL before the guest runs (KVM's kvm_set_cr8()).
 */
TEST(run_cr8_is_input)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_report_state);
	struct kvm_regs before, after;
	struct kvm_sregs s;
	struct ucall uc;

	vcpu_regs_get(vcpu, &before);
	vcpu->run->cr8 = 16;
	EXPECT_EQ(-EINVAL, _vcpu_run(vcpu));
	vcpu_regs_get(vcpu, &after);
	EXPECT_EQ(before.rip, after.rip);

	vcpu->run->cr8 = 5;
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(5, vcpu->run->cr8);
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(5, s.cr8);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static volatile uint64_t cr8_gp_count;

static void guest_cr8_gp_handler(struct ex_regs *regs)
{
	cr8_gp_count++;
	regs->rip += 4;		/* mov %rax, %cr8: 44 0f 22 c0 */
}

/*
 * The guest's MOV to CR8 without an in-kernel LAPIC, as KVM has it on
 * both vendors: raising the TPR runs on, lowering it ends KVM_RUN with
 * KVM_EXIT_SET_TPR (kvm_run->cr8 the new value, RIP past the MOV), and
 * bits 63:4 are reserved (#GP).
 */
static void guest_write_cr8(void)
{
	asm volatile(".byte 0x44, 0x0f, 0x22, 0xc0" :: "a"(9ULL));
	asm volatile(".byte 0x44, 0x0f, 0x22, 0xc0" :: "a"(12ULL));
	asm volatile(".byte 0x44, 0x0f, 0x22, 0xc0" :: "a"(3ULL));
	GUEST_SYNC(1);
	asm volatile(".byte 0x44, 0x0f, 0x22, 0xc0" :: "a"(0x13ULL));
	GUEST_ASSERT_EQ(1, cr8_gp_count);
	GUEST_DONE();
}

TEST(guest_cr8_writes)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_write_cr8);
	struct kvm_sregs s;
	struct ucall uc;

	vm_install_exception_handler(vm, GP_VECTOR, guest_cr8_gp_handler);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SET_TPR);
	EXPECT_EQ(3, vcpu->run->cr8);
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(3, s.cr8);
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static struct desc_ptr new_gdt;

/* Change CR0.TS, CR2, CR4.PGE, CR8 (raised) and the GDTR, then exit. */
static void guest_change_state(void)
{
	uint64_t cr0, cr4;

	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	asm volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_TS));
	asm volatile("mov %0, %%cr2" : : "r"(0xabcde000ULL));
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_PGE));
	asm volatile("mov %0, %%cr8" : : "r"(9ULL));
	new_gdt.limit = 0x3f;
	new_gdt.base = GDT_GPA;
	asm volatile("lgdt %0" : : "m"(new_gdt));
	asm volatile("out %%al, $0x80" : : "a"(0));
	/* CR0.TS set: the SSE in ucall() would #NM, so clear it first. */
	asm volatile("clts");
	guest_report_state();
}

TEST(host_sees_guest_changes)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_change_state);
	struct kvm_sregs before, s;
	struct ucall uc;

	vcpu_sregs_get(vcpu, &before);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(TEST_PORT, vcpu->run->io.port);
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(before.cr0 | CR0_TS, s.cr0);
	EXPECT_EQ(0xabcde000, s.cr2);
	EXPECT_EQ(before.cr4 | CR4_PGE, s.cr4);
	EXPECT_EQ(9, s.cr8);
	EXPECT_EQ(0x3f, s.gdt.limit);
	EXPECT_EQ(GDT_GPA, s.gdt.base);
	EXPECT_EQ(before.efer, s.efer);
	EXPECT_EQ(before.cr3, s.cr3);

	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, view);
	EXPECT_EQ(before.cr0, view.cr0);	/* after the guest's clts */
	EXPECT_EQ(9, view.cr8);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * interrupt_bitmap (api.rst "KVM_SET_SREGS"): without an in-kernel
 * irqchip, the first set bit is an external interrupt KVM injects on the
 * next entry; until then KVM_GET_SREGS reports it, and only the lowest.
 * An all-zero bitmap does not take it back.
 */
TEST(interrupt_bitmap_round_trip)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_sregs s;
	int i;

	vcpu_sregs_get(vcpu, &s);
	s.interrupt_bitmap[0x30 / 64] |= 1ULL << (0x30 % 64);
	s.interrupt_bitmap[0xe1 / 64] |= 1ULL << (0xe1 % 64);
	vcpu_sregs_set(vcpu, &s);
	vcpu_sregs_get(vcpu, &s);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(i == 0 ? 1ULL << 0x30 : 0, s.interrupt_bitmap[i])
			TH_LOG("interrupt_bitmap[%d]", i);

	/* KVM's answer: zeroes queue nothing and cancel nothing. */
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	vcpu_sregs_set(vcpu, &s);
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(1ULL << 0x30, s.interrupt_bitmap[0]);
	kvm_vm_free(vm);
}

static uint64_t vector_seen, vector_count;

static void count_vector(struct ex_regs *regs)
{
	vector_seen = regs->vector;
	vector_count++;
}

static void guest_report_vectors(void)
{
	GUEST_SYNC_ARGS(1, vector_count, vector_seen);
	GUEST_DONE();
}

/*
 * The injected interrupt reaches the guest's IDT before its first
 * instruction. On SVM even with interrupts disabled (RFLAGS.IF clear):
 * injection does not ask. VM entry refuses to inject an interrupt the
 * guest blocks (SDM 27.3.1.5; kvm-intel does not deliver it, okvm waits for
 * the window), so on VMX the guest starts with IF set. Vector 5 has a
 * gate in the library's IDT.
 */
TEST(interrupt_bitmap_is_injected)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_report_vectors);
	struct kvm_sregs s;
	struct ucall uc;

	vm_install_exception_handler(vm, 5, count_vector);
	if (okvm_host_is_intel())
		vcpu_set_rflags_if(vcpu);
	vcpu_sregs_get(vcpu, &s);
	s.interrupt_bitmap[0] = 1ULL << 5;
	vcpu_sregs_set(vcpu, &s);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(1, uc.args[1]);
	EXPECT_EQ(5, uc.args[2]);
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(0, s.interrupt_bitmap[0]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* EINVAL for each state KVM considers inconsistent; none of it sticks. */
static void expect_sregs_einval(struct __test_metadata *_metadata,
				struct kvm_vcpu *vcpu,
				const struct kvm_sregs *bad, const char *what)
{
	struct kvm_sregs before, after;

	vcpu_sregs_get(vcpu, &before);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS,
				      (uintptr_t)bad))
		TH_LOG("%s", what);
	vcpu_sregs_get(vcpu, &after);
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)))
		TH_LOG("%s changed the state", what);
}

TEST(inconsistent_states_are_einval)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_report_state);
	struct kvm_sregs good, s;

	vcpu_sregs_get(vcpu, &good);

	/* APM 14.6: long mode with paging needs PAE. */
	s = good;
	s.cr4 &= ~CR4_PAE;
	expect_sregs_einval(_metadata, vcpu, &s, "LME+PG without PAE");

	/* EFER.LMA is the CPU's: set with paging on, it must be there. */
	s = good;
	s.efer &= ~EFER_LMA;
	expect_sregs_einval(_metadata, vcpu, &s, "LME+PG without LMA");

	/* LMA without paging, and a 64-bit CS outside long mode. */
	s = good;
	s.cr0 &= ~CR0_PG;
	expect_sregs_einval(_metadata, vcpu, &s, "LMA without PG");
	s = good;
	s.efer &= ~(EFER_LME | EFER_LMA);
	s.cr4 &= ~CR4_PAE;
	expect_sregs_einval(_metadata, vcpu, &s, "CS.L outside long mode");

	/* CR3 beyond MAXPHYADDR (at most 52 bits, APM 5.3.3). */
	s = good;
	s.cr3 |= 1ULL << 52;
	expect_sregs_einval(_metadata, vcpu, &s, "CR3 above MAXPHYADDR");

	/*
	 * CR0 (APM 3.1.1): bits 63:32 reserved, NW without CD, PG without
	 * PE (all #GP for MOV CR0).
	 */
	s = good;
	s.cr0 |= 1ULL << 32;
	expect_sregs_einval(_metadata, vcpu, &s, "CR0 bit 32");
	s = good;
	s.cr0 = (s.cr0 | CR0_NW) & ~CR0_CD;
	expect_sregs_einval(_metadata, vcpu, &s, "CR0.NW without CD");
	s = good;
	s.cr0 &= ~CR0_PE;
	expect_sregs_einval(_metadata, vcpu, &s, "CR0.PG without PE");

	/* CR4: a reserved bit, and VMXE, which an AMD host reserves. */
	s = good;
	s.cr4 |= 1ULL << 32;
	expect_sregs_einval(_metadata, vcpu, &s, "CR4 bit 32");
	/* Without nested virtualization; kvm-intel with it takes VMXE. */
	if (!(okvm_host_is_intel() && okvm_kvm_nested() == 1)) {
		s = good;
		s.cr4 |= CR4_VMXE;
		expect_sregs_einval(_metadata, vcpu, &s, "CR4.VMXE");
	}

	/* APIC base (APM 16.3.1): reserved bits 0-7, x2APIC without EN. */
	s = good;
	s.apic_base = 0xfee00000 | (1 << 11) | 1;
	expect_sregs_einval(_metadata, vcpu, &s, "APIC base bit 0");
	s = good;
	s.apic_base = 0xfee00000 | (1 << 10);
	expect_sregs_einval(_metadata, vcpu, &s, "APIC base x2APIC w/o EN");
	kvm_vm_free(vm);
}

/* The CR4 bits a guest may set follow its CPUID: OSXSAVE needs XSAVE. */
TEST(cr4_follows_guest_cpuid)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs s;

	if (!okvm_host_has_xsave())
		SKIP(return, "the host has no XSAVE to offer");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_report_state);
	cpuid = kvm_get_supported_cpuid(vm);

	vcpu_sregs_get(vcpu, &s);
	s.cr4 |= 1ULL << 18;	/* OSXSAVE */
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&s));
	s.cr4 &= ~(1ULL << 18);
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&s));

	/* Leaf 1 ECX bit 26: XSAVE (APM vol. 3, appendix E.3.2). */
	kvm_cpuid_entry(cpuid, 1, 0)->ecx &= ~(1U << 26);
	vcpu_set_cpuid(vcpu, cpuid);
	s.cr4 |= 1ULL << 18;
	expect_sregs_einval(_metadata, vcpu, &s, "OSXSAVE without XSAVE");
	free(cpuid);
	kvm_vm_free(vm);
}

#define PDPT_GPA	0x100000ULL

/* A vCPU in 32-bit PAE paging: CR0.PE|PG, CR4.PAE, no LME (APM 5.2). */
static void pae_state(struct kvm_sregs2 *s)
{
	s->efer = 0;
	s->cr4 = CR4_PAE | (1ULL << 9);	/* and OSFXSR */
	s->cr0 = CR0_PE | CR0_PG | CR0_ET | (1ULL << 5);
	s->cr3 = PDPT_GPA;
	s->cs.l = 0;
	s->cs.db = 1;
}

/*
 * api.rst "KVM_GET_SREGS2": KVM_GET_SREGS without interrupt_bitmap, with
 * the four PAE PDPTRs, valid (flags bit 0) only in PAE paging mode.
 */
TEST(sregs2)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_report_state);
	uint64_t *pdpt = addr_gpa2hva(vm, PDPT_GPA);
	struct kvm_sregs2 s2, got;
	struct kvm_sregs s;
	int i;

	if (okvm_ioctl(vm->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_SREGS2) <= 0)
		SKIP(goto out, "no KVM_CAP_SREGS2");
	vcpu_sregs_get(vcpu, &s);
	kvm_ioctl(vcpu->fd, KVM_GET_SREGS2, &s2);
	EXPECT_EQ(0, s2.flags);		/* long mode: no PDPTRs */
	EXPECT_EQ(s.cr0, s2.cr0);
	EXPECT_EQ(s.cr3, s2.cr3);
	EXPECT_EQ(s.cr4, s2.cr4);
	EXPECT_EQ(s.efer, s2.efer);
	EXPECT_EQ(0, memcmp(&s.cs, &s2.cs, sizeof(s.cs)));

	/* Unknown flags; PDPTRs given outside PAE paging. */
	got = s2;
	got.flags = 2;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS2,
				      (uintptr_t)&got));
	got.flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS2,
				      (uintptr_t)&got));

	/* PAE paging, PDPTRs from the host. */
	got = s2;
	pae_state(&got);
	got.flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
	for (i = 0; i < 4; i++)
		got.pdptrs[i] = 0x200001ULL + i * 0x1000;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS2, (uintptr_t)&got));
	memset(&s2, 0, sizeof(s2));
	kvm_ioctl(vcpu->fd, KVM_GET_SREGS2, &s2);
	EXPECT_EQ(KVM_SREGS2_FLAGS_PDPTRS_VALID, s2.flags);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0x200001ULL + i * 0x1000, s2.pdptrs[i]);

	/* PAE paging, PDPTRs not given: KVM reads them at CR3 (APM 5.3.3). */
	for (i = 0; i < 4; i++)
		pdpt[i] = 0x300001ULL + i * 0x1000;
	got.flags = 0;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS2, (uintptr_t)&got));
	kvm_ioctl(vcpu->fd, KVM_GET_SREGS2, &s2);
	EXPECT_EQ(KVM_SREGS2_FLAGS_PDPTRS_VALID, s2.flags);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0x300001ULL + i * 0x1000, s2.pdptrs[i]);

	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_SREGS2, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_SREGS2, 0));
out:
	kvm_vm_free(vm);
}

/* An APIC base without a local APIC is still kept, as any other MSR. */
TEST(apic_base_round_trip)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_sregs s;

	vcpu_sregs_get(vcpu, &s);
	s.apic_base = 0xfec00000 | (1 << 11) | (1 << 8);
	vcpu_sregs_set(vcpu, &s);
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(0xfec00000 | (1 << 11) | (1 << 8), s.apic_base);
	kvm_vm_free(vm);
}

TEST(bad_pointers_are_efault)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	size_t sz = sizeof(struct kvm_sregs);
	void *none = straddling_buffer(sz, sz);
	void *half = straddling_buffer(sz, 8);
	struct kvm_sregs before, after;

	ASSERT_NE(NULL, none);
	ASSERT_NE(NULL, half);
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_SREGS, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_SREGS,
				      (uintptr_t)none));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_SREGS,
				      (uintptr_t)none));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_SREGS,
				      (uintptr_t)half));
	vcpu_sregs_get(vcpu, &before);
	memcpy(half, &before, sz - 8);
	((struct kvm_sregs *)half)->cr2 = 0x1000;
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_SREGS,
				      (uintptr_t)half));
	vcpu_sregs_get(vcpu, &after);
	EXPECT_EQ(0, memcmp(&before, &after, sz));
	kvm_vm_free(vm);
}

TEST(wrong_size_and_closed_fd)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	size_t sz = sizeof(struct kvm_sregs);
	char *buf = calloc(2, sz);
	int fd;

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd,
				      ioc_resize(KVM_GET_SREGS, sz - 8),
				      (uintptr_t)buf));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd,
				      ioc_resize(KVM_SET_SREGS, sz + 8),
				      (uintptr_t)buf));
	EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, KVM_GET_SREGS,
				      (uintptr_t)buf));
	fd = dup(vcpu->fd);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_GET_SREGS, (uintptr_t)buf));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_SET_SREGS, (uintptr_t)buf));
	free(buf);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
