// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86_exception.c - the guest's IDT, its exception stubs and their C
 * dispatcher (see x86_exception.h). The stubs and the dispatcher run in
 * the guest; vm_setup_idt() and vm_install_exception_handler() in the test.
 *
 * APM vol. 2: 8.2 (vectors, which push an error code), 4.8.4 (64-bit
 * interrupt-gate descriptors), 8.9.3 (the 64-bit interrupt stack frame).
 */
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

/* Vectors for which the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30. */
#define ERROR_CODE_VECTORS	0x60227d00

#define STR(x)	#x
#define XSTR(x)	STR(x)

/*
 * One 16-byte stub per vector, at guest_exception_stubs + vector * 16: push
 * a zero error code where the CPU does not, push the vector, go to the
 * common part. That saves the general registers (struct ex_regs), calls
 * guest_exception_dispatch() on a 16-byte aligned stack and returns to the
 * interrupted code with whatever the handler left in struct ex_regs.
 */
asm(".pushsection .text\n"
	".align 16\n"
	".globl guest_exception_stubs\n"
	"guest_exception_stubs:\n"
	".set vec, 0\n"
	".rept " XSTR(X86_IDT_VECTORS) "\n"
	"	.align 16\n"
	/* vectors 32 and up have no error code; gas refuses a shift by 32+ */
	"	.if vec < 32\n"
	"	.if ((" XSTR(ERROR_CODE_VECTORS) " >> vec) & 1) == 0\n"
	"	push $0\n"
	"	.endif\n"
	"	.else\n"
	"	push $0\n"
	"	.endif\n"
	"	push $vec\n"
	"	jmp guest_exception_common\n"
	"	.set vec, vec + 1\n"
	".endr\n"
	"guest_exception_common:\n"
	"	push %r15\n"
	"	push %r14\n"
	"	push %r13\n"
	"	push %r12\n"
	"	push %r11\n"
	"	push %r10\n"
	"	push %r9\n"
	"	push %r8\n"
	"	push %rbp\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	push %rdx\n"
	"	push %rcx\n"
	"	push %rbx\n"
	"	push %rax\n"
	"	mov %rsp, %rdi\n"
	"	mov %rsp, %rbx\n"
	"	and $-16, %rsp\n"
	"	cld\n"
	"	call guest_exception_dispatch\n"
	"	mov %rbx, %rsp\n"
	"	pop %rax\n"
	"	pop %rbx\n"
	"	pop %rcx\n"
	"	pop %rdx\n"
	"	pop %rsi\n"
	"	pop %rdi\n"
	"	pop %rbp\n"
	"	pop %r8\n"
	"	pop %r9\n"
	"	pop %r10\n"
	"	pop %r11\n"
	"	pop %r12\n"
	"	pop %r13\n"
	"	pop %r14\n"
	"	pop %r15\n"
	"	add $16, %rsp\n"	/* vector, error code */
	"	iretq\n"
	".popsection\n");
extern char guest_exception_stubs[];

/* Guest memory's copy of this table is the one that counts. */
guest_exception_handler_t guest_exception_handlers[X86_IDT_VECTORS];

static const char *const exception_names[X86_EXCEPTION_VECTORS] = {
	[0] = "#DE", [1] = "#DB", [2] = "NMI", [3] = "#BP", [4] = "#OF",
	[5] = "#BR", [6] = "#UD", [7] = "#NM", [8] = "#DF", [10] = "#TS",
	[11] = "#NP", [12] = "#SS", [13] = "#GP", [14] = "#PF", [16] = "#MF",
	[17] = "#AC", [18] = "#MC", [19] = "#XF", [21] = "#CP", [28] = "#HV",
	[29] = "#VC", [30] = "#SX",
};

/* Guest and host: no libc here. */
const char *x86_exception_name(uint64_t vector)
{
	if (vector < X86_EXCEPTION_VECTORS && exception_names[vector])
		return exception_names[vector];
	return "#(reserved vector)";
}

void guest_exception_dispatch(struct ex_regs *regs);
void guest_exception_dispatch(struct ex_regs *regs)
{
	guest_exception_handler_t handler = NULL;
	uint64_t cr2 = 0;

	if (regs->vector < X86_IDT_VECTORS)
		handler = guest_exception_handlers[regs->vector];
	if (handler) {
		handler(regs);
		return;
	}
	if (regs->vector == PF_VECTOR)
		asm volatile("mov %%cr2, %0" : "=r"(cr2));
	__guest_fail("unexpected %s (vector %lu) at rip 0x%lx, error code 0x%lx, cr2 0x%lx",
		     x86_exception_name(regs->vector), regs->vector,
		     regs->rip, regs->error_code, cr2);
}

void vm_setup_idt(struct kvm_vm *vm)
{
	uint64_t *idt = addr_gpa2hva(vm, IDT_GPA);
	int v;

	for (v = 0; v < X86_IDT_VECTORS; v++) {
		uint64_t addr = (uintptr_t)guest_exception_stubs + v * 16;

		/* 64-bit interrupt gate (type 0xe), present, DPL 0, no IST */
		idt[2 * v] = (addr & 0xffff) | (uint64_t)GDT_CODE_SEL << 16 |
			     0xeULL << 40 | 1ULL << 47 |
			     ((addr >> 16) & 0xffff) << 48;
		idt[2 * v + 1] = addr >> 32;
	}
}

void vm_install_exception_handler(struct kvm_vm *vm, int vector,
				  guest_exception_handler_t handler)
{
	errno = 0;
	KVM_ASSERT(vector >= 0 && vector < X86_IDT_VECTORS,
		   "vector %d: the IDT has %d", vector, X86_IDT_VECTORS);
	*(guest_exception_handler_t *)addr_gva2hva(vm,
		&guest_exception_handlers[vector]) = handler;
}

void vcpu_enable_interrupt_vectors(struct kvm_vcpu *vcpu)
{
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.idt.limit = X86_IDT_VECTORS * 16 - 1;
	vcpu_sregs_set(vcpu, &sregs);
}
