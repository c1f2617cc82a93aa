/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * gen.h - the fuzzer's random number generator and guest code generator.
 *
 * The generator writes random x86 instruction streams for one processor
 * mode: either random bytes, or a sequence of plausible instructions (those
 * that make a hypervisor work: control and debug register moves, MSR
 * accesses, port I/O, software interrupts, IRET, HLT, CPUID, XSETBV,
 * descriptor table loads from junk, far transfers, faulting instructions,
 * MMIO accesses, SVM and VMX instructions), each optionally with prefixes
 * and interleaved with random bytes. It records where each instruction
 * starts, so the fuzzer can estimate how many of them a guest got through.
 */
#ifndef FUZZ_GEN_H
#define FUZZ_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xoshiro-style state, seeded through splitmix64 from --seed. */
struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);

/* A uniform value in [0, n); n > 0. */
static inline uint64_t rnd(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* True with probability 1/n. */
static inline int one_in(struct rng *r, uint64_t n)
{
	return rnd(r, n) == 0;
}

/*
 * A value that is often on a boundary: 0, all ones, one bit, the sign bit,
 * a small number, a page-aligned address, or fully random.
 */
uint64_t rnd_interesting(struct rng *r);

void rnd_fill(struct rng *r, void *buf, size_t len);

/* Guest physical layout of a fuzzer VM's first memory slot (fuzz.c). */
#define G_IVT		0x0000ULL	/* real-mode vectors -> G_STUB16 */
#define G_GDT		0x1000ULL	/* 64 descriptors, see fuzz.c */
#define G_IDT64		0x2000ULL	/* 256 gates -> G_STUB64 + 16 * n */
#define G_IDT32		0x3000ULL	/* 256 gates -> G_STUB32 + 16 * n */
#define G_TSS		0x3800ULL	/* 64-bit TSS */
#define G_TSS32		0x3c00ULL	/* 32-bit TSS */
#define G_PML4		0x4000ULL
#define G_PDPT		0x5000ULL
#define G_PD32		0x6000ULL	/* 32-bit paging, 4 MiB pages */
#define G_STUB16	0x7000ULL
#define G_STUB64	0x8000ULL	/* 4 KiB of stubs */
#define G_STUB32	0x9000ULL	/* 4 KiB of stubs */
#define G_JUNK		0xa000ULL	/* operands of LGDT, LIDT, far jumps */
#define G_JUNK_SIZE	0x2000ULL
#define G_CODE		0x10000ULL	/* G_CODE_SIZE per vCPU id */
#define G_CODE_SIZE	0x2000ULL
#define G_STACK		0x20000ULL	/* G_STACK_SIZE per vCPU id */
#define G_STACK_SIZE	0x1000ULL
#define G_PD64		0x40000ULL	/* 4 page directories: 0 - 4 GiB */
#define G_DATA		0x50000ULL	/* scratch up to the end of the slot */
#define G_MEM_SIZE	0x200000ULL
#define G_MAX_VCPU_ID	8

/* Selectors of the GDT fuzz.c writes. */
#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define SEL_CODE16	0x20
#define SEL_DATA16	0x28
#define SEL_TSS		0x30	/* 16 bytes: 64-bit TSS */
#define SEL_CODE64_U	0x43
#define SEL_DATA_U	0x4b
#define SEL_CODE32_U	0x53
#define SEL_TSS32	0x58

#define GEN_MAX_INSNS	2048

/* Features --no can leave out, to tell which one a finding needs. */
#define GEN_NO_DR	1	/* debug registers: MOV DR, KVM_SET_DEBUGREGS, guest debug */
#define GEN_NO_AC	2	/* CR0.AM, so no alignment checks */
#define GEN_NO_CR8	4	/* MOV to CR8 (the TPR) */
#define GEN_NO_MEM	8	/* slot changes, MADV_DONTNEED, unmap, mprotect (fuzz.c) */

struct gen {
	struct rng *rng;
	uint8_t *buf;
	size_t len, cap;
	int bits;		/* 16, 32 or 64: the code segment's size */
	uint64_t code_gpa;	/* where buf lands, for far jumps back */
	unsigned int no;	/* GEN_NO_* features left out */
	bool long_mode;		/* the stream starts with EFER.LMA set */
	bool svm_bed;		/* avoid what hangs QEMU's nested SVM (fuzz.c) */
	/* Where each instruction starts; not kept for random bytes. */
	uint16_t starts[GEN_MAX_INSNS];
	int ninsns;
};

/* Fill g->buf with up to g->cap bytes of code; returns the bytes written. */
size_t gen_code(struct gen *g);

#endif /* FUZZ_GEN_H */
