// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86_guest.c - guest memory layout, page tables, GDT, 64-bit mode and the
 * test's own ELF image in the guest (the layout is drawn in x86_guest.h).
 *
 * Bits and formats cite the AMD APM vol. 2 (AMD64 Architecture Programmer's
 * Manual, System Programming): 4.8 (segment descriptors in long mode),
 * 5.3 (long-mode page translation), 14.1.3 (processor state at reset).
 */
#include <elf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_CR4_OSFXSR	(1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

/* APM 5.3.3: page-table entry bits. */
#define PTE_PRESENT	(1ULL << 0)
#define PTE_WRITE	(1ULL << 1)
#define PTE_LARGE	(1ULL << 7)	/* PS: a 2 MiB page in a PD entry */

#define PD_COUNT	(IDENTITY_MAP_SIZE >> 30)
#define PML4_GPA	PAGE_TABLES_GPA
#define PDPT_GPA	(PAGE_TABLES_GPA + GUEST_PAGE_SIZE)
#define PD_GPA(i)	(PAGE_TABLES_GPA + (2 + (i)) * GUEST_PAGE_SIZE)
#define LOW_MEM_END	(IDT_GPA + GUEST_PAGE_SIZE)

/* APM 4.8: the 64-bit TSS (type 9 available, 11 busy) and its limit. */
#define TSS_TYPE_BUSY	11
#define TSS_LIMIT	0x67

/* 1:1 map of [0, IDENTITY_MAP_SIZE) with 2 MiB pages (APM 5.3.4). */
static void vm_setup_page_tables(struct kvm_vm *vm)
{
	uint64_t *pml4 = addr_gpa2hva(vm, PML4_GPA);
	uint64_t *pdpt = addr_gpa2hva(vm, PDPT_GPA);
	uint64_t i, j;

	pml4[0] = PDPT_GPA | PTE_PRESENT | PTE_WRITE;
	for (i = 0; i < PD_COUNT; i++) {
		uint64_t *pd = addr_gpa2hva(vm, PD_GPA(i));

		pdpt[i] = PD_GPA(i) | PTE_PRESENT | PTE_WRITE;
		for (j = 0; j < 512; j++)
			pd[j] = (i << 30 | j << 21) | PTE_PRESENT |
				PTE_WRITE | PTE_LARGE;
	}
}

void vm_identity_map_above_4g(struct kvm_vm *vm, uint64_t end)
{
	uint64_t *pdpt = addr_gpa2hva(vm, PDPT_GPA);
	uint64_t i, j;

	errno = 0;
	KVM_ASSERT(!(end & ((1ULL << 30) - 1)) && end <= (512ULL << 30),
		   "end 0x%llx: a multiple of 1 GiB up to 512 GiB",
		   (unsigned long long)end);
	for (i = PD_COUNT; i < end >> 30; i++) {
		uint64_t pd_gpa = vm_alloc(vm, GUEST_PAGE_SIZE,
					   GUEST_PAGE_SIZE);
		uint64_t *pd = addr_gpa2hva(vm, pd_gpa);

		for (j = 0; j < 512; j++)
			pd[j] = (i << 30 | j << 21) | PTE_PRESENT |
				PTE_WRITE | PTE_LARGE;
		pdpt[i] = pd_gpa | PTE_PRESENT | PTE_WRITE;
	}
}

uint64_t *vm_map_page(struct kvm_vm *vm, uint64_t gva, uint64_t gpa,
		      uint64_t flags)
{
	uint64_t *pml4 = addr_gpa2hva(vm, PML4_GPA);
	uint64_t *pdpt = addr_gpa2hva(vm, PDPT_GPA);
	uint64_t *pd, *pt, pde, i;

	errno = 0;
	KVM_ASSERT(gva < IDENTITY_MAP_SIZE, "gva 0x%llx: below 4 GiB",
		   (unsigned long long)gva);
	pd = addr_gpa2hva(vm, PD_GPA(gva >> 30));
	pde = pd[(gva >> 21) & 511];
	if (pde & PTE_LARGE) {
		uint64_t pt_gpa = vm_alloc(vm, GUEST_PAGE_SIZE,
					   GUEST_PAGE_SIZE);

		pt = addr_gpa2hva(vm, pt_gpa);
		for (i = 0; i < 512; i++)
			pt[i] = (pde & ~PTE_LARGE) + i * GUEST_PAGE_SIZE;
		pde = pt_gpa | (pde & 0xfff & ~PTE_LARGE);
		pd[(gva >> 21) & 511] = pde;
	}
	if (flags & X86_PTE_US) {
		pml4[0] |= X86_PTE_US;
		pdpt[gva >> 30] |= X86_PTE_US;
		pd[(gva >> 21) & 511] |= X86_PTE_US;
	}
	pt = addr_gpa2hva(vm, pd[(gva >> 21) & 511] & ~0xfffULL);
	pt[(gva >> 12) & 511] = (gpa & ~0xfffULL) | flags;
	return &pt[(gva >> 12) & 511];
}

void vm_identity_map_user(struct kvm_vm *vm)
{
	uint64_t *pml4 = addr_gpa2hva(vm, PML4_GPA);
	uint64_t *pdpt = addr_gpa2hva(vm, PDPT_GPA);
	uint64_t i, j;

	pml4[0] |= X86_PTE_US;
	for (i = 0; i < PD_COUNT; i++) {
		uint64_t *pd = addr_gpa2hva(vm, PD_GPA(i));

		pdpt[i] |= X86_PTE_US;
		for (j = 0; j < 512; j++)
			pd[j] |= X86_PTE_US;
	}
}

/*
 * The GDT in memory, so that the guest can reload what KVM_SET_SREGS put
 * in the hidden segment registers (a far return, an iret). APM 4.8.
 */
static void vm_setup_gdt(struct kvm_vm *vm)
{
	uint64_t *gdt = addr_gpa2hva(vm, GDT_GPA);

	gdt[0] = 0;
	gdt[GDT_CODE_SEL / 8] = 0x00af9b000000ffffULL;	/* P, S, L, G, code RX, A */
	gdt[GDT_DATA_SEL / 8] = 0x00cf93000000ffffULL;	/* P, S, D, G, data RW, A */
	/* 16-byte system descriptor: base 63..0, limit, P, type busy TSS */
	gdt[GDT_TSS_SEL / 8] = TSS_LIMIT | (TSS_GPA & 0xffffff) << 16 |
			       (uint64_t)TSS_TYPE_BUSY << 40 | 1ULL << 47 |
			       ((TSS_GPA >> 24) & 0xff) << 56;
	gdt[GDT_TSS_SEL / 8 + 1] = TSS_GPA >> 32;
}

uint64_t vm_load_elf(struct kvm_vm *vm, const char *path)
{
	uint64_t end = 0;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		kvm_die("open %s", path);
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh))
		kvm_die("read the ELF header of %s", path);
	errno = 0;
	KVM_ASSERT(!memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
		   eh.e_ident[EI_CLASS] == ELFCLASS64 &&
		   eh.e_machine == EM_X86_64,
		   "%s is not an x86-64 ELF file", path);
	KVM_ASSERT(eh.e_type == ET_EXEC,
		   "%s is position independent: link guest tests with -static -no-pie, the guest runs the image at its link address",
		   path);

	for (i = 0; i < eh.e_phnum; i++) {
		char *hva;

		if (pread(fd, &ph, sizeof(ph),
			  eh.e_phoff + i * eh.e_phentsize) != sizeof(ph))
			kvm_die("read program header %d of %s", i, path);
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		errno = 0;
		KVM_ASSERT(ph.p_vaddr >= LOW_MEM_END &&
			   _addr_gpa2hva(vm, ph.p_vaddr + ph.p_memsz - 1),
			   "segment 0x%llx..0x%llx of %s: not in guest memory above the page tables",
			   (unsigned long long)ph.p_vaddr,
			   (unsigned long long)(ph.p_vaddr + ph.p_memsz),
			   path);
		hva = addr_gpa2hva(vm, ph.p_vaddr);
		if (pread(fd, hva, ph.p_filesz, ph.p_offset) !=
		    (ssize_t)ph.p_filesz)
			kvm_die("read segment %d of %s", i, path);
		memset(hva + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_vaddr + ph.p_memsz > end)
			end = ph.p_vaddr + ph.p_memsz;
	}
	close(fd);
	return end;
}

struct kvm_vm *vm_create_guest(uint64_t mem_size)
{
	struct kvm_vm *vm = vm_create_bare();
	uint64_t elf_end;

	if (!mem_size)
		mem_size = DEFAULT_GUEST_MEM_SIZE;
	vm_add_mem_slot(vm, 0, 0, mem_size, 0);
	vm_setup_page_tables(vm);
	vm_setup_gdt(vm);
	vm_setup_idt(vm);
	elf_end = vm_load_elf(vm, "/proc/self/exe");
	vm_alloc_init(vm, elf_end, mem_size);
	return vm;
}

void vcpu_setup_long_mode(struct kvm_vcpu *vcpu)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_CODE_SEL,
		.type = 11, .present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_DATA_SEL,
		.type = 3, .present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_segment tr = {
		.base = TSS_GPA, .limit = TSS_LIMIT, .selector = GDT_TSS_SEL,
		.type = TSS_TYPE_BUSY, .present = 1,
	};
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cs = code;
	sregs.ds = data;
	sregs.es = data;
	sregs.fs = data;
	sregs.gs = data;
	sregs.ss = data;
	sregs.tr = tr;
	sregs.ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
	sregs.gdt.base = GDT_GPA;
	sregs.gdt.limit = GDT_TSS_SEL + 16 - 1;
	sregs.idt.base = IDT_GPA;
	sregs.idt.limit = X86_EXCEPTION_VECTORS * 16 - 1;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		    X86_CR0_WP | X86_CR0_PG;
	sregs.cr3 = PML4_GPA;
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	vcpu_sregs_set(vcpu, &sregs);
}

/* Where a guest function that returns lands: on a failed assertion. */
void guest_code_returned(void);
asm(".pushsection .text\n"
	".globl guest_return_trampoline\n"
	"guest_return_trampoline:\n"
	"	and $-16, %rsp\n"
	"	call guest_code_returned\n"
	"	ud2\n"
	".popsection\n");
extern char guest_return_trampoline[];

void guest_code_returned(void)
{
	GUEST_ASSERT_MSG(0, "the guest function returned; end it with GUEST_DONE()");
}

static void vcpu_init_cpuid(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vcpu->vm);

	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
}

struct kvm_vcpu *vm_vcpu_add_guest(struct kvm_vm *vm, uint32_t id,
				   void *guest_code)
{
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, id);
	uint64_t stack = vm_alloc(vm, GUEST_STACK_SIZE, GUEST_PAGE_SIZE);
	uint64_t top = stack + GUEST_STACK_SIZE - 16;
	struct kvm_regs regs;

	/* CPUID first: KVM checks CR4 and EFER against it (e.g. LM). */
	vcpu_init_cpuid(vcpu);
	vcpu_setup_long_mode(vcpu);

	/* As if called: RSP + 8 is 16-byte aligned (x86-64 psABI 3.2.2). */
	*(uint64_t *)addr_gpa2hva(vm, top - 8) =
		(uintptr_t)guest_return_trampoline;
	memset(&regs, 0, sizeof(regs));
	regs.rip = (uintptr_t)guest_code;
	regs.rsp = top - 8;
	regs.rflags = 0x2;	/* bit 1 is reserved, always 1; IF = 0 */
	vcpu_regs_set(vcpu, &regs);
	return vcpu;
}

void vcpu_set_rflags_if(struct kvm_vcpu *vcpu)
{
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	regs.rflags |= 0x200;	/* IF */
	vcpu_regs_set(vcpu, &regs);
}

void vcpu_args_set(struct kvm_vcpu *vcpu, int n, ...)
{
	struct kvm_regs regs;
	va_list ap;
	int i;

	errno = 0;
	KVM_ASSERT(n >= 0 && n <= 6, "%d arguments: registers take 6", n);
	vcpu_regs_get(vcpu, &regs);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		uint64_t v = va_arg(ap, uint64_t);

		switch (i) {
		case 0:
			regs.rdi = v;
			break;
		case 1:
			regs.rsi = v;
			break;
		case 2:
			regs.rdx = v;
			break;
		case 3:
			regs.rcx = v;
			break;
		case 4:
			regs.r8 = v;
			break;
		case 5:
			regs.r9 = v;
			break;
		}
	}
	va_end(ap);
	vcpu_regs_set(vcpu, &regs);
}

struct kvm_vcpu *vm_vcpu_add_real_mode(struct kvm_vm *vm, uint32_t id,
				       const void *code, size_t len)
{
	struct kvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	errno = 0;
	KVM_ASSERT(len <= GUEST_PAGE_SIZE,
		   "%zu bytes of real-mode code: one page at 0x%llx", len,
		   REAL_MODE_CODE_GPA);
	memcpy(addr_gpa2hva(vm, REAL_MODE_CODE_GPA), code, len);

	vcpu = vm_vcpu_add_bare(vm, id);
	vcpu_init_cpuid(vcpu);
	/* APM 14.1.3: CS 0xf000 base 0xffff0000; move it to our page. */
	vcpu_sregs_get(vcpu, &sregs);
	sregs.cs.selector = REAL_MODE_CODE_GPA >> 4;
	sregs.cs.base = REAL_MODE_CODE_GPA;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_regs_get(vcpu, &regs);
	regs.rip = 0;
	regs.rsp = REAL_MODE_CODE_GPA;	/* SS:SP 0:0x1000, below the code */
	vcpu_regs_set(vcpu, &regs);
	return vcpu;
}

struct kvm_cpuid2 *kvm_get_supported_cpuid(struct kvm_vm *vm)
{
	int nent = 64;

	for (;;) {
		struct kvm_cpuid2 *cpuid;

		cpuid = calloc(1, sizeof(*cpuid) +
			       nent * sizeof(struct kvm_cpuid_entry2));
		KVM_ASSERT(cpuid, "out of memory");
		cpuid->nent = nent;
		if (!ioctl(vm->dev_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			return cpuid;
		free(cpuid);
		if (errno != E2BIG || nent >= 4096)
			kvm_die("KVM_GET_SUPPORTED_CPUID with %d entries", nent);
		nent *= 2;
	}
}

struct kvm_cpuid_entry2 *kvm_cpuid_entry(struct kvm_cpuid2 *cpuid,
					 uint32_t function, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	}
	errno = 0;
	kvm_die("no CPUID entry for function 0x%x index %u", function, index);
}

void vcpu_set_cpuid(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *cpuid)
{
	kvm_ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
}

void vcpu_set_user_mode(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	uint64_t *gdt = addr_gpa2hva(vm, GDT_GPA);
	uint64_t stack = vm_alloc(vm, GUEST_STACK_SIZE, GUEST_PAGE_SIZE);
	uint64_t rsp0 = stack + GUEST_STACK_SIZE;
	struct kvm_segment code = {
		.limit = 0xffffffff, .selector = GDT_USER_CODE_SEL | 3,
		.type = 11, .present = 1, .s = 1, .l = 1, .g = 1, .dpl = 3,
	};
	struct kvm_segment data = {
		.limit = 0xffffffff, .selector = GDT_USER_DATA_SEL | 3,
		.type = 3, .present = 1, .s = 1, .db = 1, .g = 1, .dpl = 3,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	gdt[GDT_USER_DATA_SEL / 8] = 0x00cff3000000ffffULL; /* DPL 3, RW */
	gdt[GDT_USER_CODE_SEL / 8] = 0x00affb000000ffffULL; /* DPL 3, L */
	/* 64-bit TSS: RSP0 at offset 4 (APM 12.2.5). */
	memcpy((uint8_t *)addr_gpa2hva(vm, TSS_GPA) + 4, &rsp0, 8);
	vm_identity_map_user(vm);

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cs = code;
	sregs.ss = data;
	sregs.ds = data;
	sregs.es = data;
	sregs.gdt.limit = GDT_USER_CODE_SEL + 8 - 1;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_regs_get(vcpu, &regs);
	regs.rflags |= RFLAGS_IOPL3;
	vcpu_regs_set(vcpu, &regs);
}
