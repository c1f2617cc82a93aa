// SPDX-License-Identifier: GPL-2.0-only
/*
 * gen.c - random numbers and random guest instruction streams for the fuzzer.
 *
 * Instruction encodings are from the Intel SDM vol. 2 and the AMD APM
 * vol. 3; the generator only has to get lengths and operands right for the
 * mode it writes for (g->bits), because what the guest then does with them
 * (faults, mode switches, exits) is the point.
 */
#include <string.h>

#include "gen.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t rnd_interesting(struct rng *r)
{
	switch (rnd(r, 10)) {
	case 0:
		return 0;
	case 1:
		return ~0ULL;
	case 2:
		return 1ULL << rnd(r, 64);
	case 3:
		return 1ULL << rnd(r, 32);
	case 4:
		return rnd(r, 256);
	case 5:
		return 0x80000000ULL;
	case 6:
		return rnd(r, 1ULL << 32) & ~0xfffULL;
	case 7:
		return (uint32_t)rng_next(r);
	case 8:
		return ~(1ULL << rnd(r, 64));
	default:
		return rng_next(r);
	}
}

void rnd_fill(struct rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t v;
	size_t n;

	while (len) {
		v = rng_next(r);
		n = len < 8 ? len : 8;
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

/* Emitters: they never write past g->cap (the caller checks room first). */
static void b(struct gen *g, uint8_t v)
{
	if (g->len < g->cap)
		g->buf[g->len++] = v;
}

static void w(struct gen *g, uint16_t v)
{
	b(g, v);
	b(g, v >> 8);
}

static void d(struct gen *g, uint32_t v)
{
	w(g, v);
	w(g, v >> 16);
}

static void q(struct gen *g, uint64_t v)
{
	d(g, v);
	d(g, v >> 32);
}

static void bytes(struct gen *g, const uint8_t *p, size_t n)
{
	while (n--)
		b(g, *p++);
}

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

/* mov r32, imm32 (B8+r); 16-bit code needs the operand-size prefix. */
static void mov32(struct gen *g, int reg, uint32_t v)
{
	if (g->bits == 16)
		b(g, 0x66);
	b(g, 0xb8 + reg);
	d(g, v);
}

/* An ALU op of eax with imm32: xor (35), and (25), or (0d). */
static void alu_eax(struct gen *g, uint8_t op, uint32_t v)
{
	if (g->bits == 16)
		b(g, 0x66);
	b(g, op);
	d(g, v);
}

/*
 * Opcode bytes, then a ModRM addressing [eax] (or [rax]) with reg in the
 * reg field; in 16-bit code the address-size prefix makes it 32-bit.
 */
static void op_mem_eax(struct gen *g, const uint8_t *op, size_t n, int reg)
{
	if (g->bits == 16)
		b(g, 0x67);
	bytes(g, op, n);
	b(g, (reg & 7) << 3);
}

static const uint32_t msrs[] = {
	0x10,		/* TSC */
	0x1b,		/* APIC_BASE */
	0x3a,		/* FEATURE_CONTROL */
	0x48, 0x49,	/* SPEC_CTRL, PRED_CMD */
	0x8b,		/* microcode revision */
	0xe7, 0xe8,	/* MPERF, APERF */
	0xfe,		/* MTRRcap */
	0x174, 0x175, 0x176,	/* SYSENTER */
	0x179, 0x17a,	/* MCG */
	0x1d9,		/* DEBUGCTL */
	0x200, 0x2ff,	/* MTRRs */
	0x277,		/* PAT */
	0x400, 0x401, 0x402,	/* MC0 */
	0x480,		/* VMX_BASIC */
	0x6e0,		/* TSC_DEADLINE */
	0x800, 0x80b, 0x830,	/* x2APIC */
	0xda0,		/* XSS */
	0xc0000080,	/* EFER */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,	/* STAR.. FMASK */
	0xc0000100, 0xc0000101, 0xc0000102,	/* FS, GS, KERNEL_GS base */
	0xc0000103,	/* TSC_AUX */
	0xc0010000, 0xc0010004,	/* PERF_CTL0, PERF_CTR0 */
	0xc0010010,	/* SYSCFG */
	0xc0010015,	/* HWCR */
	0xc0010114,	/* VM_CR */
	0xc0010117,	/* VM_HSAVE_PA */
	0xc0011029,	/* DE_CFG */
	0x4b564d00, 0x4b564d01,	/* KVM wall clock, system time */
	0x40000000,	/* Hyper-V guest OS id */
};

static uint32_t rnd_msr(struct gen *g)
{
	if (one_in(g->rng, 8))
		return rnd_interesting(g->rng);
	return msrs[rnd(g->rng, sizeof(msrs) / sizeof(msrs[0]))];
}

#define MSR_EFER	0xc0000080
#define EFER_LME	0x100

/*
 * On the SVM bed a stream must not leave EFER.LME set with paging off
 * (fuzz.c, bed_safe_sregs()): outside long mode it never sets LME, in long
 * mode it never clears CR0.PG.
 */
static uint32_t bed_efer(struct gen *g, uint32_t msr, uint32_t v)
{
	if (g->svm_bed && !g->long_mode && msr == MSR_EFER)
		v &= ~EFER_LME;
	return v;
}

static uint32_t bed_cr0(struct gen *g, int cr, uint8_t *op, uint32_t v)
{
	if (!g->svm_bed || !g->long_mode || cr != 0)
		return v;
	*op = 0x0d;	/* or: PG cannot go */
	return v & ~0x80000000u;
}

static const uint16_t ports[] = {
	0x20, 0x21, 0x40, 0x43, 0x60, 0x61, 0x64, 0x70, 0x71, 0x80, 0x92,
	0xa0, 0xcf8, 0xcfc, 0x3f8, 0x3fd, 0x402, 0x510, 0x511, 0xe9, 0xffff,
};

static uint16_t rnd_port(struct gen *g)
{
	if (one_in(g->rng, 3))
		return rng_next(g->rng);
	return ports[rnd(g->rng, sizeof(ports) / sizeof(ports[0]))];
}

static const uint16_t selectors[] = {
	SEL_CODE64, SEL_DATA, SEL_CODE32, SEL_CODE16, SEL_DATA16, SEL_TSS,
	SEL_CODE64_U, SEL_DATA_U, SEL_CODE32_U, 0, 3, 0x38, 0x1ff8,
};

static uint16_t rnd_sel(struct gen *g)
{
	if (one_in(g->rng, 6))
		return rng_next(g->rng);
	return selectors[rnd(g->rng, sizeof(selectors) / sizeof(selectors[0]))];
}

/*
 * A guest physical address for a memory operand: RAM of the first slot,
 * the fuzzer's descriptor tables and code (self-modifying code), the
 * other slots (fuzz.c puts them at 256 MiB and up), the local and I/O
 * APIC pages, and unbacked space, which is MMIO to the VMM.
 */
static uint32_t rnd_addr(struct gen *g)
{
	switch (rnd(g->rng, 9)) {
	case 0:
		return G_DATA + rnd(g->rng, G_MEM_SIZE - G_DATA - 64);
	case 1:
		return rnd(g->rng, G_DATA);
	case 2:
		return 0x10000000 + rnd(g->rng, 0x400000);
	case 3:
		return 0xfee00000 + (rnd(g->rng, 0x100) << 4);
	case 4:
		return 0xfec00000 + (rnd(g->rng, 0x10) << 4);
	case 5:
		return 0xd0000000 + rnd(g->rng, 0x10000);
	case 6:
		return g->code_gpa + rnd(g->rng, G_CODE_SIZE);
	case 7:
		return G_JUNK + rnd(g->rng, G_JUNK_SIZE - 16);
	default:
		return rng_next(g->rng);
	}
}

static const uint8_t prefixes[] = {
	0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36,
};

/* Instructions without operands worth a hypervisor's attention. */
static const struct {
	uint8_t len, op[5];
} plain[] = {
	{ 2, { 0x0f, 0x31 } },			/* rdtsc */
	{ 3, { 0x0f, 0x01, 0xf9 } },		/* rdtscp */
	{ 2, { 0x0f, 0x33 } },			/* rdpmc */
	{ 3, { 0x0f, 0xc7, 0xf0 } },		/* rdrand */
	{ 3, { 0x0f, 0xc7, 0xf8 } },		/* rdseed */
	{ 4, { 0xf3, 0x0f, 0xc7, 0xf8 } },	/* rdpid */
	{ 2, { 0x0f, 0x09 } },			/* wbinvd */
	{ 2, { 0x0f, 0x08 } },			/* invd */
	{ 2, { 0x0f, 0x06 } },			/* clts */
	{ 3, { 0x0f, 0x01, 0xf0 } },		/* lmsw ax */
	{ 3, { 0x0f, 0x01, 0xe0 } },		/* smsw ax */
	{ 3, { 0x0f, 0x00, 0xe0 } },		/* verr ax */
	{ 3, { 0x0f, 0x00, 0xc8 } },		/* str ax */
	{ 3, { 0x0f, 0x00, 0xc0 } },		/* sldt ax */
	{ 3, { 0x0f, 0x00, 0xd8 } },		/* ltr ax */
	{ 3, { 0x0f, 0x00, 0xd0 } },		/* lldt ax */
	{ 3, { 0x0f, 0x02, 0xc0 } },		/* lar eax, eax */
	{ 3, { 0x0f, 0x03, 0xc0 } },		/* lsl eax, eax */
	{ 3, { 0x0f, 0x01, 0xc8 } },		/* monitor */
	{ 3, { 0x0f, 0x01, 0xc9 } },		/* mwait */
	{ 2, { 0xf3, 0x90 } },			/* pause */
	{ 2, { 0x0f, 0x05 } },			/* syscall */
	{ 2, { 0x0f, 0x07 } },			/* sysret */
	{ 2, { 0x0f, 0x34 } },			/* sysenter */
	{ 2, { 0x0f, 0x35 } },			/* sysexit */
	{ 3, { 0x0f, 0x01, 0xf8 } },		/* swapgs */
	{ 2, { 0x0f, 0xaa } },			/* rsm */
	{ 3, { 0x0f, 0xb9, 0xc0 } },		/* ud1 */
	{ 2, { 0x0f, 0x0b } },			/* ud2 */
	{ 3, { 0x0f, 0x01, 0xd8 } },		/* vmrun */
	{ 3, { 0x0f, 0x01, 0xd9 } },		/* vmmcall */
	{ 3, { 0x0f, 0x01, 0xda } },		/* vmload */
	{ 3, { 0x0f, 0x01, 0xdb } },		/* vmsave */
	{ 3, { 0x0f, 0x01, 0xdc } },		/* stgi */
	{ 3, { 0x0f, 0x01, 0xdd } },		/* clgi */
	{ 3, { 0x0f, 0x01, 0xde } },		/* skinit */
	{ 3, { 0x0f, 0x01, 0xdf } },		/* invlpga */
	{ 3, { 0x0f, 0x01, 0xc1 } },		/* vmcall */
	{ 3, { 0x0f, 0x01, 0xc2 } },		/* vmlaunch */
	{ 3, { 0x0f, 0x01, 0xc3 } },		/* vmresume */
	{ 3, { 0x0f, 0x01, 0xc4 } },		/* vmxoff */
	{ 3, { 0x0f, 0x01, 0xd4 } },		/* vmfunc */
	{ 2, { 0x0f, 0x37 } },			/* getsec */
	{ 3, { 0x0f, 0x01, 0xcf } },		/* encls */
	{ 3, { 0x0f, 0x01, 0xd7 } },		/* enclu */
	{ 3, { 0x0f, 0x01, 0xca } },		/* clac */
	{ 3, { 0x0f, 0x01, 0xcb } },		/* stac */
	{ 3, { 0x0f, 0x01, 0xee } },		/* rdpkru */
	{ 3, { 0x0f, 0x01, 0xef } },		/* wrpkru */
	{ 3, { 0x0f, 0x01, 0xd6 } },		/* xtest */
	{ 3, { 0x0f, 0x01, 0xd5 } },		/* xend */
	{ 3, { 0xc5, 0xf8, 0x77 } },		/* vzeroupper */
	{ 2, { 0x0f, 0x77 } },			/* emms */
	{ 2, { 0xdb, 0xe3 } },			/* fninit */
	{ 2, { 0xd9, 0xee } },			/* fldz */
	{ 3, { 0x0f, 0xae, 0xf0 } },		/* mfence */
	{ 1, { 0xfa } },			/* cli */
	{ 1, { 0xfb } },			/* sti */
	{ 1, { 0xf4 } },			/* hlt */
	{ 1, { 0xcc } },			/* int3 */
	{ 1, { 0xf1 } },			/* int1 */
	{ 1, { 0xce } },			/* into */
	{ 1, { 0xcb } },			/* retf */
	{ 1, { 0xc3 } },			/* ret */
	{ 1, { 0x9c } },			/* pushf */
	{ 1, { 0x9d } },			/* popf */
	{ 1, { 0x17 } },			/* pop ss */
	{ 1, { 0x1f } },			/* pop ds */
	{ 2, { 0x8e, 0xd0 } },			/* mov ss, ax */
	{ 2, { 0x8e, 0xd8 } },			/* mov ds, ax */
	{ 2, { 0x8e, 0xe0 } },			/* mov fs, ax */
	{ 2, { 0x63, 0xc0 } },			/* arpl / movsxd */
	{ 5, { 0xf3, 0x48, 0x0f, 0xae, 0xd0 } },	/* wrfsbase rax */
};

/* Memory-operand instructions: opcode bytes and the ModRM reg field. */
static const struct {
	uint8_t len, op[4], reg;
} memops[] = {
	{ 1, { 0x89 }, ECX },			/* mov [eax], ecx */
	{ 1, { 0x8b }, ECX },			/* mov ecx, [eax] */
	{ 1, { 0x88 }, ECX },			/* mov [eax], cl */
	{ 1, { 0x8a }, EDX },			/* mov dl, [eax] */
	{ 2, { 0xf0, 0x01 }, ECX },		/* lock add [eax], ecx */
	{ 3, { 0xf0, 0x0f, 0xb1 }, ECX },	/* lock cmpxchg [eax], ecx */
	{ 1, { 0x87 }, EDX },			/* xchg [eax], edx */
	{ 1, { 0xff }, 0 },			/* inc dword [eax] */
	{ 2, { 0x0f, 0x28 }, 1 },		/* movaps xmm1, [eax] */
	{ 2, { 0x0f, 0x29 }, 1 },		/* movaps [eax], xmm1 */
	{ 3, { 0x66, 0x0f, 0xe7 }, 1 },		/* movntdq [eax], xmm1 */
	{ 2, { 0x0f, 0x01 }, 2 },		/* lgdt [eax] */
	{ 2, { 0x0f, 0x01 }, 3 },		/* lidt [eax] */
	{ 2, { 0x0f, 0x01 }, 0 },		/* sgdt [eax] */
	{ 2, { 0x0f, 0x01 }, 1 },		/* sidt [eax] */
	{ 2, { 0x0f, 0x01 }, 7 },		/* invlpg [eax] */
	{ 1, { 0xff }, 5 },			/* jmp far [eax] */
	{ 1, { 0xff }, 3 },			/* call far [eax] */
	{ 2, { 0x0f, 0xae }, 0 },		/* fxsave [eax] */
	{ 2, { 0x0f, 0xae }, 1 },		/* fxrstor [eax] */
	{ 2, { 0x0f, 0xae }, 4 },		/* xsave [eax] */
	{ 2, { 0x0f, 0xae }, 5 },		/* xrstor [eax] */
	{ 2, { 0x0f, 0xae }, 7 },		/* clflush [eax] */
	{ 2, { 0x0f, 0xc7 }, 5 },		/* xsaves [eax] */
	{ 2, { 0x0f, 0xc7 }, 3 },		/* xrstors [eax] */
	{ 2, { 0x0f, 0xc7 }, 1 },		/* cmpxchg8b [eax] */
	{ 2, { 0x0f, 0xc7 }, 6 },		/* vmptrld / vmxon [eax] */
	{ 1, { 0x8e }, 2 },			/* mov ss, [eax] */
	{ 1, { 0x62 }, ECX },			/* bound ecx, [eax] */
	{ 2, { 0x0f, 0x00 }, 3 },		/* ltr [eax] */
	{ 4, { 0x66, 0x0f, 0x38, 0x82 }, 0 },	/* invpcid eax, [eax] */
};

static void gen_one(struct gen *g)
{
	struct rng *r = g->rng;
	int i, n, cr, reg;
	uint32_t v, msr;
	uint8_t op;

	if (one_in(r, 8))
		b(g, prefixes[rnd(r, sizeof(prefixes))]);
	if (g->bits == 64 && one_in(r, 10))
		b(g, 0x40 + rnd(r, 16));

	switch (rnd(r, 20)) {
	case 0:		/* read-modify-write a control register */
		cr = one_in(r, 8) ? (int)rnd(r, 16) : (int[]){ 0, 0, 3, 4, 4, 8, 2 }[rnd(r, 7)];
		if (cr == 0 && (g->no & GEN_NO_AC))
			cr = 4;
		if (cr == 8 && (g->no & GEN_NO_CR8))
			cr = 3;
		if (cr >= 8 && g->bits == 64)
			b(g, 0x44);
		bytes(g, (uint8_t[]){ 0x0f, 0x20, 0xc0 | (cr & 7) << 3 }, 3);
		op = (uint8_t[]){ 0x35, 0x25, 0x0d }[rnd(r, 3)];
		v = one_in(r, 2) ? 1u << rnd(r, 32) : ~(1u << rnd(r, 32));
		v = bed_cr0(g, cr, &op, v);
		alu_eax(g, op, v);
		if (cr >= 8 && g->bits == 64)
			b(g, 0x44);
		bytes(g, (uint8_t[]){ 0x0f, 0x22, 0xc0 | (cr & 7) << 3 }, 3);
		break;
	case 1:		/* a control register from an immediate */
		cr = (int[]){ 0, 3, 4, 8, 2 }[rnd(r, 5)];
		if ((cr == 0 && (g->no & GEN_NO_AC)) ||
		    (cr == 8 && (g->no & GEN_NO_CR8)))
			cr = 3;
		v = rnd_interesting(r);
		if (g->svm_bed && g->long_mode && cr == 0)
			v |= 0x80000001;
		mov32(g, EAX, v);
		if (cr >= 8 && g->bits == 64)
			b(g, 0x44);
		bytes(g, (uint8_t[]){ 0x0f, 0x22, 0xc0 | (cr & 7) << 3 }, 3);
		break;
	case 2:		/* debug registers */
		if (g->no & GEN_NO_DR) {
			bytes(g, (uint8_t[]){ 0x0f, 0x31 }, 2);
			break;
		}
		reg = rnd(r, 8);
		if (one_in(r, 2)) {
			mov32(g, EAX, rnd_interesting(r));
			bytes(g, (uint8_t[]){ 0x0f, 0x23, 0xc0 | reg << 3 }, 3);
		} else {
			bytes(g, (uint8_t[]){ 0x0f, 0x21, 0xc0 | reg << 3 }, 3);
		}
		break;
	case 3:		/* MSRs: read, write, or flip one bit */
		msr = rnd_msr(g);
		mov32(g, ECX, msr);
		switch (rnd(r, 3)) {
		case 0:
			bytes(g, (uint8_t[]){ 0x0f, 0x32 }, 2);
			break;
		case 1:
			mov32(g, EAX, bed_efer(g, msr, rnd_interesting(r)));
			mov32(g, EDX, one_in(r, 2) ? 0 : rnd_interesting(r));
			bytes(g, (uint8_t[]){ 0x0f, 0x30 }, 2);
			break;
		default:
			bytes(g, (uint8_t[]){ 0x0f, 0x32 }, 2);
			v = bed_efer(g, msr, 1u << rnd(r, 32));
			alu_eax(g, 0x35, v);
			bytes(g, (uint8_t[]){ 0x0f, 0x30 }, 2);
		}
		break;
	case 4:		/* port I/O, single and string */
		switch (rnd(r, 3)) {
		case 0:
			b(g, 0xe4 + rnd(r, 4));
			b(g, rnd_port(g));
			break;
		case 1:
			mov32(g, EDX, rnd_port(g));
			mov32(g, EAX, rnd_interesting(r));
			b(g, 0xec + rnd(r, 4));
			break;
		default:
			mov32(g, EDX, rnd_port(g));
			mov32(g, ECX, one_in(r, 4) ? rnd_interesting(r) : rnd(r, 64));
			mov32(g, ESI, rnd_addr(g));
			mov32(g, EDI, rnd_addr(g));
			if (g->bits == 16)
				b(g, 0x67);
			b(g, 0xf3);
			b(g, 0x6c + rnd(r, 4));
		}
		break;
	case 5:		/* software interrupts */
		if (one_in(r, 2)) {
			b(g, 0xcd);
			b(g, rng_next(r));
		} else {
			b(g, (uint8_t[]){ 0xcc, 0xf1, 0xce }[rnd(r, 3)]);
		}
		break;
	case 6:		/* IRET, after pushing a frame of junk or not */
		n = rnd(r, 6);
		for (i = 0; i < n; i++) {
			b(g, 0x68);
			if (g->bits == 16)
				w(g, rnd_interesting(r));
			else
				d(g, one_in(r, 2) ? rnd_sel(g) : rnd_interesting(r));
		}
		if (g->bits == 64 && one_in(r, 2))
			b(g, 0x48);
		b(g, 0xcf);
		break;
	case 7:
		b(g, 0xf4);
		break;
	case 8:		/* CPUID */
		v = one_in(r, 4) ? rnd_interesting(r) :
		    (uint32_t[]){ 0, 1, 4, 6, 7, 0xa, 0xb, 0xd, 0xf, 0x12, 0x14,
				  0x1f, 0x40000000, 0x40000001, 0x80000000,
				  0x80000001, 0x80000008, 0x8000000a,
				  0x8000001f, 0x80000022 }[rnd(r, 20)];
		mov32(g, EAX, v);
		mov32(g, ECX, rnd(r, 4));
		bytes(g, (uint8_t[]){ 0x0f, 0xa2 }, 2);
		break;
	case 9:		/* XSETBV / XGETBV */
		mov32(g, ECX, one_in(r, 8) ? rnd_interesting(r) : rnd(r, 2));
		if (one_in(r, 4)) {
			bytes(g, (uint8_t[]){ 0x0f, 0x01, 0xd0 }, 3);
			break;
		}
		mov32(g, EAX, one_in(r, 3) ? rnd_interesting(r) :
			  (uint32_t[]){ 1, 3, 7, 5, 0x7, 0xe7, 0xe3, 0x1f,
					0x207, 0x60007, 0x2e7, 2 }[rnd(r, 12)]);
		mov32(g, EDX, one_in(r, 4) ? rnd_interesting(r) : 0);
		bytes(g, (uint8_t[]){ 0x0f, 0x01, 0xd1 }, 3);
		break;
	case 10:	/* a far jump or call to some selector */
		if (g->bits == 64) {
			mov32(g, EAX, G_JUNK + rnd(r, G_JUNK_SIZE - 16));
			op_mem_eax(g, (uint8_t[]){ 0xff }, 1, one_in(r, 2) ? 5 : 3);
			break;
		}
		/* ptr16:16 in 16-bit code unless the operand-size prefix */
		reg = g->bits == 16 && one_in(r, 2);
		if (reg)
			b(g, 0x66);
		b(g, one_in(r, 3) ? 0x9a : 0xea);
		v = one_in(r, 2) ? g->code_gpa : rnd_interesting(r);
		if (g->bits == 16 && !reg)
			w(g, v);
		else
			d(g, v);
		w(g, rnd_sel(g));
		break;
	case 11:	/* a fault: #UD, #DE, non-canonical, segment loads */
		switch (rnd(r, 5)) {
		case 0:
			bytes(g, (uint8_t[]){ 0x0f, 0x0b }, 2);
			break;
		case 1:
			bytes(g, (uint8_t[]){ 0x31, 0xc9, 0xf7, 0xf1 }, 4);
			break;
		case 2:
			if (g->bits == 64) {
				b(g, 0x48);
				b(g, 0xb8);
				q(g, 0x8000000000000000ULL | rng_next(r));
				bytes(g, (uint8_t[]){ 0x89, 0x08 }, 2);
			} else {
				mov32(g, EAX, rnd_interesting(r));
				op_mem_eax(g, (uint8_t[]){ 0x8b }, 1, ECX);
			}
			break;
		default:
			mov32(g, EAX, rnd_sel(g));
			bytes(g, (uint8_t[]){ 0x8e, (uint8_t[]){ 0xd0, 0xd8, 0xc0,
						 0xe0, 0xe8 }[rnd(r, 5)] }, 2);
		}
		break;
	case 12:	/* MMIO and RAM accesses */
	case 13:
		i = rnd(r, sizeof(memops) / sizeof(memops[0]));
		mov32(g, EAX, rnd_addr(g));
		mov32(g, ECX, rnd_interesting(r));
		op_mem_eax(g, memops[i].op, memops[i].len, memops[i].reg);
		break;
	case 14:	/* a string move between two addresses */
		mov32(g, ESI, rnd_addr(g));
		mov32(g, EDI, rnd_addr(g));
		mov32(g, ECX, rnd(r, 32));
		if (g->bits == 16)
			b(g, 0x67);
		b(g, 0xf3);
		b(g, 0xa4 + rnd(r, 2));
		break;
	case 15:	/* RFLAGS from an immediate: TF, AC, NT, IOPL, IF, RF, VM */
		b(g, 0x68);
		v = (uint32_t[]){ 0x100, 0x40000, 0x4000, 0x3000, 0x200, 0x10000,
				  0x20000, 0x400, 0x40302, 0x2 }[rnd(r, 10)];
		if (one_in(r, 4))
			v = rnd_interesting(r);
		if (g->bits == 16)
			w(g, v);
		else
			d(g, v);
		b(g, 0x9d);
		break;
	case 16:	/* a short jump: forward, or back into a loop */
		b(g, 0xeb);
		b(g, one_in(r, 4) ? -(int)rnd(r, 32) - 2 : rnd(r, 16));
		break;
	case 17:	/* a mode change: paging or protection off, or LME on */
		switch (rnd(r, 3)) {
		case 0:
			bytes(g, (uint8_t[]){ 0x0f, 0x20, 0xc0 }, 3);
			alu_eax(g, 0x25, one_in(r, 2) && !(g->svm_bed && g->long_mode) ?
				0x7fffffff : 0xfffffffe);
			bytes(g, (uint8_t[]){ 0x0f, 0x22, 0xc0 }, 3);
			break;
		case 1:
			mov32(g, ECX, 0xc0000080);
			bytes(g, (uint8_t[]){ 0x0f, 0x32 }, 2);
			alu_eax(g, 0x0d, bed_efer(g, MSR_EFER,
				(uint32_t[]){ 0x100, 0x800, 0x1000, 0x2000, 0x1 }[rnd(r, 5)]));
			bytes(g, (uint8_t[]){ 0x0f, 0x30 }, 2);
			break;
		default:
			bytes(g, (uint8_t[]){ 0x0f, 0x20, 0xe0 }, 3);
			alu_eax(g, 0x0d, 1u << rnd(r, 24));
			bytes(g, (uint8_t[]){ 0x0f, 0x22, 0xe0 }, 3);
		}
		break;
	case 18:	/* plain instructions */
		i = rnd(r, sizeof(plain) / sizeof(plain[0]));
		if (one_in(r, 2))
			mov32(g, EAX, one_in(r, 2) ? rnd_sel(g) : rnd_addr(g));
		if (one_in(r, 3))
			mov32(g, ECX, rnd_interesting(r));
		bytes(g, plain[i].op, plain[i].len);
		break;
	default:	/* random bytes */
		n = 1 + rnd(r, 8);
		for (i = 0; i < n; i++)
			b(g, rng_next(r));
	}
}

size_t gen_code(struct gen *g)
{
	size_t limit;
	int n;

	g->len = 0;
	g->ninsns = 0;
	if (one_in(g->rng, 5)) {
		/* Random bytes all the way. */
		g->len = 16 + rnd(g->rng, g->cap - 16);
		rnd_fill(g->rng, g->buf, g->len);
		return g->len;
	}
	/* Room for the longest template (about 40 bytes) stays free. */
	limit = g->cap - 64;
	n = 1 + rnd(g->rng, 200);
	while (n-- && g->len < limit && g->ninsns < GEN_MAX_INSNS) {
		g->starts[g->ninsns++] = g->len;
		gen_one(g);
	}
	return g->len;
}
