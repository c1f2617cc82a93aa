// SPDX-License-Identifier: GPL-2.0-only
/*
 * xmm.c - reading and writing the guest's XMM registers, for the SSE
 * moves okvm emulates on MMIO (io.c).
 *
 * During KVM_RUN the thread's FPU registers are the guest's (run.c swaps
 * them in). They are live in the CPU unless a context switch saved them to
 * the guest's fpstate and marked the thread TIF_NEED_FPU_LOAD; with the FPU
 * locked against preemption, one or the other is the truth.
 */
#include <linux/string.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xstate.h>

#include "x86.h"

struct okvm_xmm {
	u8 b[16];
};

/*
 * One save and one load function per register: the register number is part
 * of the instruction's encoding, so it cannot be a run-time operand.
 */
#define OKVM_XMM_ACCESSORS(n)						\
static void okvm_xmm##n##_save(struct okvm_xmm *v)			\
{									\
	asm volatile("movdqu %%xmm" #n ", %0" : "=m" (*v));		\
}									\
static void okvm_xmm##n##_load(const struct okvm_xmm *v)		\
{									\
	asm volatile("movdqu %0, %%xmm" #n : : "m" (*v));		\
}

OKVM_XMM_ACCESSORS(0)
OKVM_XMM_ACCESSORS(1)
OKVM_XMM_ACCESSORS(2)
OKVM_XMM_ACCESSORS(3)
OKVM_XMM_ACCESSORS(4)
OKVM_XMM_ACCESSORS(5)
OKVM_XMM_ACCESSORS(6)
OKVM_XMM_ACCESSORS(7)
OKVM_XMM_ACCESSORS(8)
OKVM_XMM_ACCESSORS(9)
OKVM_XMM_ACCESSORS(10)
OKVM_XMM_ACCESSORS(11)
OKVM_XMM_ACCESSORS(12)
OKVM_XMM_ACCESSORS(13)
OKVM_XMM_ACCESSORS(14)
OKVM_XMM_ACCESSORS(15)

static void (*const okvm_xmm_save[16])(struct okvm_xmm *v) = {
	okvm_xmm0_save, okvm_xmm1_save, okvm_xmm2_save, okvm_xmm3_save,
	okvm_xmm4_save, okvm_xmm5_save, okvm_xmm6_save, okvm_xmm7_save,
	okvm_xmm8_save, okvm_xmm9_save, okvm_xmm10_save, okvm_xmm11_save,
	okvm_xmm12_save, okvm_xmm13_save, okvm_xmm14_save, okvm_xmm15_save,
};

static void (*const okvm_xmm_load[16])(const struct okvm_xmm *v) = {
	okvm_xmm0_load, okvm_xmm1_load, okvm_xmm2_load, okvm_xmm3_load,
	okvm_xmm4_load, okvm_xmm5_load, okvm_xmm6_load, okvm_xmm7_load,
	okvm_xmm8_load, okvm_xmm9_load, okvm_xmm10_load, okvm_xmm11_load,
	okvm_xmm12_load, okvm_xmm13_load, okvm_xmm14_load, okvm_xmm15_load,
};

/* The guest's XMM<reg> (0-15) into @val. */
void okvm_read_xmm(struct okvm_vcpu *vcpu, unsigned int reg, u8 val[16])
{
	struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;
	struct okvm_xmm v;

	fpregs_lock();
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		memcpy(&v, (u8 *)fx->xmm_space + (reg & 15) * 16, 16);
	else
		okvm_xmm_save[reg & 15](&v);
	fpregs_unlock();
	memcpy(val, &v, 16);
}

/* Set the guest's XMM<reg> to @val (the upper YMM/ZMM bits are kept). */
void okvm_write_xmm(struct okvm_vcpu *vcpu, unsigned int reg, const u8 val[16])
{
	union fpregs_state *regs = &vcpu->fpu.fpstate->regs;
	struct okvm_xmm v;

	memcpy(&v, val, 16);
	fpregs_lock();
	if (test_thread_flag(TIF_NEED_FPU_LOAD)) {
		memcpy((u8 *)regs->fxsave.xmm_space + (reg & 15) * 16, &v, 16);
		/*
		 * In the XSAVE image the SSE component must be marked
		 * present, or XRSTOR loads its initial state instead.
		 */
		if (boot_cpu_has(X86_FEATURE_XSAVE))
			regs->xsave.header.xfeatures |= XFEATURE_MASK_SSE;
	} else {
		okvm_xmm_load[reg & 15](&v);
	}
	fpregs_unlock();
}
