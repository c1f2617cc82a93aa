/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86_exception.h - guest exceptions become ucalls, or go to a handler.
 *
 * vm_create_guest() gives the guest an IDT for the 32 exception vectors.
 * Without a handler installed, an exception is reported to the host as a
 * failed assertion naming it: "unexpected #UD (vector 6) at rip 0x401a2b,
 * error code 0x0" instead of a triple fault (KVM_EXIT_SHUTDOWN) that says
 * nothing. A handler installed with vm_install_exception_handler() gets
 * the interrupted registers and may change them (e.g. skip the faulting
 * instruction) before the guest resumes with IRETQ.
 *
 * The IDT has gates for all 256 vectors (one page at IDT_GPA), so that
 * tests can install handlers for interrupts too; the guest's IDTR limit
 * covers the 32 exception vectors unless a test widens it
 * (vcpu_enable_interrupt_vectors()); beyond the limit an interrupt is a #GP
 * with error code vector * 8 + 2 (APM 8.4.2). Handlers run on the stack
 * of the interrupted code (no IST, no privilege change), which is why
 * guest code is built with -mno-red-zone.
 */
#ifndef SELFTESTS_X86_EXCEPTION_H
#define SELFTESTS_X86_EXCEPTION_H

#include <stdint.h>

#include "kvm_vm.h"

#define X86_EXCEPTION_VECTORS	32
#define X86_IDT_VECTORS		256

#define DE_VECTOR	0
#define DB_VECTOR	1
#define BP_VECTOR	3
#define UD_VECTOR	6
#define NM_VECTOR	7
#define DF_VECTOR	8
#define GP_VECTOR	13
#define PF_VECTOR	14

/* What the exception stubs save, from the lowest address up. */
struct ex_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector;
	uint64_t error_code;	/* 0 for vectors without one */
	/* The interrupt frame (APM 8.9.3). */
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_exception_handler_t)(struct ex_regs *regs);

/* Write the IDT to IDT_GPA (called by vm_create_guest()). */
void vm_setup_idt(struct kvm_vm *vm);

/* handler NULL: back to reporting the exception as a failure. */
void vm_install_exception_handler(struct kvm_vm *vm, int vector,
				  guest_exception_handler_t handler);

/* Widen the vCPU's IDTR limit to all 256 vectors. */
void vcpu_enable_interrupt_vectors(struct kvm_vcpu *vcpu);

/* "#UD" for 6, "#(vector 22)" for a reserved one. */
const char *x86_exception_name(uint64_t vector);

#endif /* SELFTESTS_X86_EXCEPTION_H */
