// SPDX-License-Identifier: GPL-2.0-only
/*
 * modes_test - the guest changes its own operating mode, and the host
 * follows it with KVM_GET_SREGS at each step: from real mode (KVM's
 * reset state, api.rst "KVM_CREATE_VCPU") to 32-bit protected mode, to
 * compatibility mode once paging turns long mode on, to 64-bit mode with
 * 4-level paging (AMD APM vol. 2, 14.4 "Enabling Protected Mode", 14.6
 * "Enabling and Activating Long Mode"). And protected mode entered
 * directly with KVM_SET_SREGS (api.rst "KVM_SET_SREGS"), 32- and 16-bit.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define CR0_PE		(1ULL << 0)
#define CR0_ET		(1ULL << 4)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define CR4_LA57	(1ULL << 12)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

#define STAGE_PORT	0x80

/* Selectors of modes_gdt; 0x08 is what the library's IDT gates name. */
#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x20

/*
 * The walk from real mode to 64-bit mode. The 16-bit part is copied to
 * REAL_MODE_CODE_GPA by vm_vcpu_add_real_mode() (CS base 0x1000, IP 0),
 * so it addresses its data relative to rm_start; from the far jump on,
 * the code runs where the test's ELF image has it (guest virtual ==
 * guest physical). Each step reports with OUT STAGE_PORT, AL = step.
 */
asm(".pushsection .text\n"
	".code16\n"
	".globl rm_start\n"
	"rm_start:\n"
	"	mov $1, %al\n"
	"	out %al, $0x80\n"
	"	cli\n"
	"	lgdtl %cs:(rm_gdt_desc - rm_start)\n"
	"	mov %cr0, %eax\n"
	"	or $1, %eax\n"			/* CR0.PE */
	"	mov %eax, %cr0\n"
	"	ljmpl $0x20, $pm32_entry\n"
	"rm_gdt_desc:\n"
	"	.word modes_gdt_end - modes_gdt - 1\n"
	"	.long modes_gdt\n"
	".globl rm_end\n"
	"rm_end:\n"
	".code32\n"
	"pm32_entry:\n"
	"	mov $0x10, %ax\n"
	"	mov %ax, %ds\n"
	"	mov %ax, %es\n"
	"	mov %ax, %ss\n"
	"	mov $2, %al\n"
	"pm32_out:\n"
	"	out %al, $0x80\n"
	"	mov %cr4, %eax\n"
	"	or $0x620, %eax\n"		/* PAE, OSFXSR, OSXMMEXCPT */
	"	mov %eax, %cr4\n"
	"	mov $0x4000, %eax\n"		/* the library's PML4 */
	"	mov %eax, %cr3\n"
	"	mov $0xc0000080, %ecx\n"	/* EFER */
	"	rdmsr\n"
	"	or $0x100, %eax\n"		/* LME */
	"	wrmsr\n"
	"	mov %cr0, %eax\n"
	"	or $0x80000000, %eax\n"		/* PG: LMA, compatibility mode */
	"	mov %eax, %cr0\n"
	"	mov $3, %al\n"
	"compat_out:\n"
	"	out %al, $0x80\n"
	"	ljmp $0x08, $lm64_entry\n"
	".code64\n"
	"lm64_entry:\n"
	"	lidt modes_idt_desc(%rip)\n"
	"	lea modes_stack_top(%rip), %rsp\n"
	"	call guest_long_mode\n"
	"	ud2\n"
	".popsection\n"
	".pushsection .data\n"
	".balign 16\n"
	"modes_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00af9b000000ffff\n"	/* 0x08: 64-bit code */
	"	.quad 0x00cf93000000ffff\n"	/* 0x10: flat data */
	"	.quad 0\n"
	"	.quad 0x00cf9b000000ffff\n"	/* 0x20: 32-bit flat code */
	"modes_gdt_end:\n"
	"modes_idt_desc:\n"
	"	.word 32 * 16 - 1\n"
	"	.quad 0xa000\n"			/* IDT_GPA */
	".popsection\n"
	".pushsection .bss\n"
	".balign 16\n"
	"modes_stack:\n"
	"	.skip 16384\n"
	"modes_stack_top:\n"
	".popsection\n");

extern char rm_start[], rm_end[], pm32_out[], compat_out[];

struct guest_view {
	uint64_t cr0, cr3, cr4, efer;
	uint16_t cs;
};

static struct guest_view view;

static uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

/* Plain C again, in 64-bit mode, on modes_stack. */
void guest_long_mode(uint64_t *magic);
void guest_long_mode(uint64_t *magic)
{
	asm volatile("mov %%cr0, %0" : "=r"(view.cr0));
	asm volatile("mov %%cr3, %0" : "=r"(view.cr3));
	asm volatile("mov %%cr4, %0" : "=r"(view.cr4));
	asm volatile("mov %%cs, %0" : "=r"(view.cs));
	view.efer = guest_rdmsr(0xc0000080);
	/* A 64-bit register survives, and memory far above 1 MiB is reachable. */
	GUEST_SYNC_ARGS(4, 0x0123456789abcdefULL, *magic);
	/* The library's exception reporting works with this IDT. */
	asm volatile("ud2");
	GUEST_DONE();
}

static void expect_stage(struct __test_metadata *_metadata,
			 struct kvm_vcpu *vcpu, uint8_t stage,
			 struct kvm_sregs *sregs)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(STAGE_PORT, run->io.port);
	ASSERT_EQ(1, run->io.size);
	ASSERT_EQ(stage, *((uint8_t *)run + run->io.data_offset));
	vcpu_sregs_get(vcpu, sregs);
}

#define MAGIC_GPA	(48ULL << 20)

TEST(real_to_protected_to_long)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu;
	struct kvm_sregs s;
	struct kvm_regs regs;
	struct ucall uc;

	ASSERT_GE(GUEST_PAGE_SIZE, (uint64_t)(rm_end - rm_start));
	vcpu = vm_vcpu_add_real_mode(vm, 0, rm_start, rm_end - rm_start);
	/* RDI for guest_long_mode(): the far register survives the walk. */
	vcpu_regs_get(vcpu, &regs);
	regs.rdi = MAGIC_GPA;
	vcpu_regs_set(vcpu, &regs);
	*(uint64_t *)addr_gpa2hva(vm, MAGIC_GPA) = 0x4d6f646573212121ULL;

	expect_stage(_metadata, vcpu, 1, &s);
	EXPECT_EQ(0, s.cr0 & CR0_PE);
	EXPECT_EQ(REAL_MODE_CODE_GPA, s.cs.base);
	EXPECT_EQ(0, s.efer & EFER_LMA);

	expect_stage(_metadata, vcpu, 2, &s);
	EXPECT_EQ(CR0_PE, s.cr0 & (CR0_PE | CR0_PG));
	EXPECT_EQ(SEL_CODE32, s.cs.selector);
	EXPECT_EQ(0, s.cs.base);
	EXPECT_EQ(0xffffffff, s.cs.limit);
	EXPECT_EQ(1, s.cs.db);
	EXPECT_EQ(0, s.cs.l);
	EXPECT_EQ(SEL_DATA, s.ds.selector);
	EXPECT_EQ(SEL_DATA, s.ss.selector);
	EXPECT_EQ(0, s.efer & (EFER_LME | EFER_LMA));
	/*
	 * KVM's answer: at an OUT's exit RIP still points at the OUT; KVM
	 * moves past it when the next KVM_RUN completes the I/O.
	 */
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uintptr_t)pm32_out, regs.rip);

	/* Paging on with EFER.LME: LMA, still the 32-bit code segment. */
	expect_stage(_metadata, vcpu, 3, &s);
	EXPECT_EQ(CR0_PE | CR0_PG, s.cr0 & (CR0_PE | CR0_PG));
	EXPECT_EQ(CR4_PAE, s.cr4 & (CR4_PAE | CR4_LA57));
	EXPECT_EQ(PAGE_TABLES_GPA, s.cr3);
	EXPECT_EQ(EFER_LME | EFER_LMA, s.efer & (EFER_LME | EFER_LMA));
	EXPECT_EQ(SEL_CODE32, s.cs.selector);
	EXPECT_EQ(0, s.cs.l);
	EXPECT_EQ(1, s.cs.db);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uintptr_t)compat_out, regs.rip);

	ASSERT_SYNC(vcpu, &uc, 4);
	EXPECT_EQ(0x0123456789abcdefULL, uc.args[1]);
	EXPECT_EQ(0x4d6f646573212121ULL, uc.args[2]);
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(SEL_CODE64, s.cs.selector);
	EXPECT_EQ(1, s.cs.l);
	EXPECT_EQ(0, s.cs.db);
	EXPECT_EQ(EFER_LME | EFER_LMA, s.efer & (EFER_LME | EFER_LMA));
	vm_sync_global_from_guest(vm, view);
	EXPECT_EQ(s.cr0, view.cr0);
	EXPECT_EQ(s.cr3, view.cr3);
	EXPECT_EQ(s.cr4, view.cr4);
	EXPECT_EQ(s.efer, view.efer);
	EXPECT_EQ(SEL_CODE64, view.cs);

	ASSERT_UCALL(vcpu, &uc, UCALL_ASSERT_FAILED);
	EXPECT_NE(NULL, strstr(uc.buffer, "unexpected #UD (vector 6)"))
		TH_LOG("guest: %s", uc.buffer);
	kvm_vm_free(vm);
}

/*
 * 32-bit protected mode without paging, straight from KVM_SET_SREGS: a
 * flat 32-bit code segment (D = 1, so "out %eax" is 4 bytes), flat data,
 * memory reached by linear == physical address.
 */
asm(".pushsection .text\n"
	".code32\n"
	".globl pm32_direct\n"
	"pm32_direct:\n"
	"	mov $0x11223344, %eax\n"
	"	out %eax, $0x80\n"
	"	mov (%ebx), %eax\n"		/* EBX: a GPA from the host */
	"	out %eax, $0x80\n"
	"	movl $0x600df00d, 4(%ebx)\n"
	"	mov %cr0, %eax\n"
	"	out %eax, $0x80\n"
	"	hlt\n"
	".code64\n"
	".popsection\n");
extern char pm32_direct[];

static struct kvm_segment flat(uint16_t sel, uint8_t type, bool db)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .s = 1, .db = db, .g = 1,
	};
}

static uint32_t expect_out(struct __test_metadata *_metadata,
			   struct kvm_vcpu *vcpu, uint8_t size)
{
	struct kvm_run *run = vcpu->run;
	uint32_t v = 0;

	vcpu_run(vcpu);
	EXPECT_EQ(KVM_EXIT_IO, run->exit_reason)
		TH_LOG("%s", vcpu_exit_str(vcpu));
	EXPECT_EQ(KVM_EXIT_IO_OUT, run->io.direction);
	EXPECT_EQ(STAGE_PORT, run->io.port);
	EXPECT_EQ(size, run->io.size);
	memcpy(&v, (uint8_t *)run + run->io.data_offset, size);
	return v;
}

TEST(protected_mode_via_set_sregs)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	uint32_t *mem = addr_gpa2hva(vm, MAGIC_GPA);
	struct kvm_sregs s;
	struct kvm_regs regs;

	vcpu_sregs_get(vcpu, &s);
	s.cs = flat(SEL_CODE32, 11, true);
	s.ds = s.es = s.ss = s.fs = s.gs = flat(SEL_DATA, 3, true);
	s.cr0 = CR0_PE | CR0_ET;
	s.cr4 = 0;
	s.efer = 0;
	vcpu_sregs_set(vcpu, &s);
	memset(&regs, 0, sizeof(regs));
	regs.rip = (uintptr_t)pm32_direct;
	regs.rflags = 2;
	regs.rbx = MAGIC_GPA;
	vcpu_regs_set(vcpu, &regs);
	mem[0] = 0xfeedface;

	EXPECT_EQ(0x11223344, expect_out(_metadata, vcpu, 4));
	EXPECT_EQ(0xfeedface, expect_out(_metadata, vcpu, 4));
	EXPECT_EQ(CR0_PE | CR0_ET, expect_out(_metadata, vcpu, 4));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(0x600df00d, mem[1]);
	vcpu_sregs_get(vcpu, &s);
	EXPECT_EQ(CR0_PE | CR0_ET, s.cr0);
	EXPECT_EQ(1, s.cs.db);
	EXPECT_EQ(0, s.efer);
	kvm_vm_free(vm);
}

/*
 * A 16-bit protected-mode code segment (D = 0) with a base: the default
 * operand size is 16 bits, so the same "out" opcode moves 2 bytes.
 */
TEST(protected_mode_16bit_segment)
{
	static const uint8_t code[] = {
		0xb8, 0x34, 0x12,	/* mov ax, 0x1234 */
		0xe7, 0x80,		/* out 0x80, ax */
		0x66, 0xb8, 0x78, 0x56, 0x34, 0x12, /* mov eax, 0x12345678 */
		0x66, 0xe7, 0x80,	/* out 0x80, eax */
		0xf4,			/* hlt */
	};
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	uint64_t code_gpa = vm_alloc(vm, GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
	struct kvm_sregs s;
	struct kvm_regs regs;

	memcpy(addr_gpa2hva(vm, code_gpa), code, sizeof(code));
	vcpu_sregs_get(vcpu, &s);
	s.cs = flat(SEL_CODE32, 11, false);
	s.cs.base = code_gpa;
	s.cs.limit = 0xffff;
	s.cs.g = 0;
	s.ds = s.es = s.ss = flat(SEL_DATA, 3, false);
	s.cr0 = CR0_PE | CR0_ET;
	s.efer = 0;
	vcpu_sregs_set(vcpu, &s);
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rflags = 2;
	vcpu_regs_set(vcpu, &regs);

	EXPECT_EQ(0x1234, expect_out(_metadata, vcpu, 2));
	EXPECT_EQ(0x12345678, expect_out(_metadata, vcpu, 4));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(sizeof(code), regs.rip);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
