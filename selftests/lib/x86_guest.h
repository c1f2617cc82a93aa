/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86_guest.h - make a vCPU run a C function of the test, in 64-bit mode.
 *
 * The test binary is static and not PIE, linked at 0x400000. vm_create_guest()
 * copies its PT_LOAD segments (read from /proc/self/exe) to the same
 * addresses in guest memory and maps the low 4 GiB 1:1 (guest virtual ==
 * guest physical), so a function of the test runs in the guest at the
 * address it has in the test, and the guest can pass pointers to the host.
 *
 * Guest physical memory (slot 0, [0, mem_size), fresh anonymous memory):
 *
 *   0x0000  -         unused (a stack-protector canary read via %fs:0x28
 *                     would land here; the tests are built without one)
 *   0x1000  REAL_MODE_CODE_GPA: vm_vcpu_add_real_mode()'s code, one page
 *   0x2000  GDT_GPA: null, 64-bit code (0x08), data (0x10), TSS (0x18)
 *   0x3000  TSS_GPA: a zeroed 64-bit TSS (VMX wants a usable TR)
 *   0x4000  PML4, then one PDPT and four page directories of 2 MiB pages:
 *           0 - 4 GiB mapped present + writable, executable, supervisor;
 *           what no slot backs is MMIO to KVM
 *   0xa000  IDT_GPA: interrupt gates for the 32 exception vectors
 *           (x86_exception.h)
 *   0x400000  the test's ELF image
 *   after it  vm_alloc(): vCPU stacks (GUEST_STACK_SIZE each), test data
 *
 * The vCPU starts with CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT,
 * EFER = LME|LMA, CS.L = 1, interrupts off, and an IDT whose exception
 * handlers report to the host (x86_exception.h). SSE is on because GCC
 * uses SSE registers in ordinary code (struct copies, varargs prologues);
 * the guest has no XSAVE state set up, so AVX is not.
 *
 * Rules for guest code: no libc (not even implicitly: no large struct
 * initialisers, no __builtin_memcpy of unknown size), no TLS (errno), no
 * globals written by the host after vm_create_guest() unless synced with
 * vm_sync_global_to_guest(). Build it as selftests/x86/Makefile does:
 * -static -no-pie -fno-stack-protector -fno-tree-loop-distribute-patterns
 * -mno-red-zone.
 */
#ifndef SELFTESTS_X86_GUEST_H
#define SELFTESTS_X86_GUEST_H

#include <string.h>

#include "kvm_vm.h"

#define REAL_MODE_CODE_GPA	0x1000ULL
#define GDT_GPA			0x2000ULL
#define TSS_GPA			0x3000ULL
#define PAGE_TABLES_GPA		0x4000ULL
#define IDT_GPA			0xa000ULL
#define IDENTITY_MAP_SIZE	(4ULL << 30)

#define DEFAULT_GUEST_MEM_SIZE	(64ULL << 20)
#define GUEST_STACK_SIZE	(64ULL << 10)

#define GDT_CODE_SEL		0x08
#define GDT_DATA_SEL		0x10
#define GDT_TSS_SEL		0x18

/*
 * A VM with slot 0 of mem_size bytes at GPA 0 (0: DEFAULT_GUEST_MEM_SIZE),
 * the test's ELF image, page tables and GDT in it.
 */
struct kvm_vm *vm_create_guest(uint64_t mem_size);

/*
 * Extend the 1:1 map from IDENTITY_MAP_SIZE up to end (a multiple of 1 GiB,
 * at most 512 GiB) with 2 MiB pages, in page directories taken from
 * vm_alloc() (4 KiB per GiB). What no slot backs there is MMIO to KVM.
 */
void vm_identity_map_above_4g(struct kvm_vm *vm, uint64_t end);

/* Page-table entry bits (SDM Vol. 3 4.5, APM vol. 2 5.3.3) for vm_map_page(). */
#define X86_PTE_P	(1ULL << 0)
#define X86_PTE_RW	(1ULL << 1)
#define X86_PTE_US	(1ULL << 2)
#define X86_PTE_PS	(1ULL << 7)
#define X86_PTE_XD	(1ULL << 63)

/*
 * Map the 4 KiB page at gva (below IDENTITY_MAP_SIZE) to gpa, with the
 * leaf entry's flags (X86_PTE_*) as given: the 2 MiB page around it is
 * split, the first time, into a page table from vm_alloc() that keeps
 * the rest of it as it was. With X86_PTE_US the levels above get U/S too,
 * so that the page is a user-mode page. Returns the entry, in the test's
 * view, for changing it later. A guest that already ran must flush its
 * TLB (INVLPG) after a change.
 */
uint64_t *vm_map_page(struct kvm_vm *vm, uint64_t gva, uint64_t gpa,
		      uint64_t flags);

/* U/S = 1 in every entry of the 1:1 map: all of it user-mode pages. */
void vm_identity_map_user(struct kvm_vm *vm);

/* GDT entries for CPL 3 (APM 4.8): after the library's TSS at 0x18. */
#define GDT_USER_DATA_SEL	0x28
#define GDT_USER_CODE_SEL	0x30
#define RFLAGS_IOPL3		(3ULL << 12)

/*
 * Run the vCPU at CPL 3 from its start: user segments in the GDT (for the
 * IRETQ back from an exception handler), a ring-0 stack in the TSS for
 * the handlers, IOPL 3 for the ucalls' OUT, and every page a user page.
 */
void vcpu_set_user_mode(struct kvm_vm *vm, struct kvm_vcpu *vcpu);

/* Copy the PT_LOAD segments of the (static, non-PIE) ELF at path. */
uint64_t vm_load_elf(struct kvm_vm *vm, const char *path);

/*
 * A vCPU in 64-bit mode about to run guest_code(args...) on its own stack,
 * with KVM_GET_SUPPORTED_CPUID as its CPUID. Should guest_code return,
 * the host sees a failed GUEST_ASSERT saying so: end it with GUEST_DONE().
 */
struct kvm_vcpu *vm_vcpu_add_guest(struct kvm_vm *vm, uint32_t id,
				   void *guest_code);

/* Registers and segments of 64-bit mode as above, RIP and RSP aside. */
void vcpu_setup_long_mode(struct kvm_vcpu *vcpu);

/* Up to 6 integer arguments of guest_code: RDI, RSI, RDX, RCX, R8, R9. */
void vcpu_args_set(struct kvm_vcpu *vcpu, int n, ...);

/*
 * A vCPU in real mode at CS:IP = 0x0100:0000 (CS base REAL_MODE_CODE_GPA),
 * the rest as KVM's reset state, about to run the len raw bytes of code
 * copied to REAL_MODE_CODE_GPA. Needs memory at that GPA (any slot).
 */
struct kvm_vcpu *vm_vcpu_add_real_mode(struct kvm_vm *vm, uint32_t id,
				       const void *code, size_t len);

/* KVM_GET_SUPPORTED_CPUID, malloc'ed; the caller frees it. */
struct kvm_cpuid2 *kvm_get_supported_cpuid(struct kvm_vm *vm);
/* The entry for (function, index); kvm_die() if absent. */
struct kvm_cpuid_entry2 *kvm_cpuid_entry(struct kvm_cpuid2 *cpuid,
					 uint32_t function, uint32_t index);
void vcpu_set_cpuid(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *cpuid);

/* Copy a global of the test into the guest's copy of it, or back. */
#define vm_sync_global_to_guest(vm, g)					\
	memcpy(addr_gpa2hva(vm, (uintptr_t)&(g)), &(g), sizeof(g))
#define vm_sync_global_from_guest(vm, g)				\
	memcpy(&(g), addr_gpa2hva(vm, (uintptr_t)&(g)), sizeof(g))

/* What the guest's pointer p points at, in the test process. */
#define addr_gva2hva(vm, p)	addr_gpa2hva(vm, (uintptr_t)(p))

/* Set RFLAGS.IF in the vCPU's registers, as a guest's STI would. */
void vcpu_set_rflags_if(struct kvm_vcpu *vcpu);

/*
 * Guest code: set RFLAGS.IF before a loop that only the host's interrupts
 * end. Neither VMX nor SVM lets the guest's IF hold off the host's
 * interrupts, so on hardware this changes nothing; but Bochs 2.7 loads
 * the guest's RFLAGS before it switches to guest mode on VM entry and then
 * keeps interrupts masked for a guest entered with IF clear, so without it
 * such a loop never exits there (Documentation/testing.rst). The guests
 * have no handlers for external interrupts: none is ever injected.
 */
static inline void guest_open_interrupts(void)
{
	asm volatile("sti" ::: "memory");
}

#endif /* SELFTESTS_X86_GUEST_H */
