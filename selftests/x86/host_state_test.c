// SPDX-License-Identifier: GPL-2.0-only
/*
 * host_state_test - a guest can do nothing to the state of the host thread
 * that runs it, and the guest's own state survives whatever happens to
 * that thread between its exits.
 *
 * - hostile_guest_*: at every exit, the guest has just written hostile
 *   values to every MSR it may own (FS/GS bases, KERNEL_GS_BASE, the
 *   SYSCALL and SYSENTER MSRs, TSC_AUX when its CPUID offers RDTSCP, PAT,
 *   EFER.SCE/NXE), loaded odd FS/GS selectors, pointed DR0-3 at words
 *   the host writes (DR7 left at 0x400: see hostile_values()), and
 *   filled XMM/YMM with garbage; SIGALRMs interrupt
 *   KVM_RUN meanwhile. The host thread, which kept its own XMM/YMM,
 *   x87 and MXCSR values in registers across the KVM_RUN syscall, finds
 *   them intact, and its TLS, FS/GS, XCR0, TSC_AUX, syscalls and signals
 *   working; the guest finds its values still in place.
 * - guest_regs_survive_preemption_and_migration: the guest holds patterns
 *   in its GPRs, x87, MXCSR and XMM/YMM registers across thousands of
 *   exits while another thread flips the vCPU thread between CPU 0 and 1
 *   and a third burns both CPUs (checking its own AVX registers).
 * - two_vms_share_a_cpu: two VMs' vCPU threads on one CPU, yielding to
 *   each other at every exit, with different patterns.
 *
 * No case gives the guest an XCR0 other than the host's, nor lets it
 * XSETBV: QEMU 7.2's TCG (the test bed) does not make XSETBV exit to the
 * hypervisor, and a vCPU whose XCR0 differs from L1's (x87|SSE against
 * x87|SSE|AVX, set with KVM_SET_XCRS, no XSETBV in the guest at all)
 * crashes QEMU itself (SIGSEGV), under kvm-amd and okvm alike.
 */
#include <asm/prctl.h>
#include <cpuid.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_guest.h"

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_CR_PAT		0x277
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

#define EFER_SCE		(1ULL << 0)
#define EFER_NXE		(1ULL << 11)
#define CR4_OSXSAVE		(1ULL << 18)
#define XFEATURE_FP		(1ULL << 0)
#define XFEATURE_SSE		(1ULL << 1)
#define XFEATURE_YMM		(1ULL << 2)

/* CPUID 0x80000001 EDX (APM vol. 3, E.4.2). */
#define EXT1_EDX_SYSCALL	(1U << 11)
#define EXT1_EDX_NX		(1U << 20)
#define EXT1_EDX_RDTSCP		(1U << 27)
/* CPUID 1 ECX. */
#define LEAF1_ECX_XSAVE		(1U << 26)
#define LEAF1_ECX_OSXSAVE	(1U << 27)
#define LEAF1_ECX_AVX		(1U << 28)

#ifndef __stringify
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)
#endif

/* How the guest leaves its vector registers at an exit. */
enum vec_mode {
	VEC_XMM,	/* garbage in XMM0-15 */
	VEC_YMM,	/* garbage in YMM0-15 (XCR0 x87|SSE|AVX) */
};

#define HOSTILE_LOOPS		1500
#define REGS_LOOPS		2500
#define SHARE_LOOPS		1200

/*
 * The words the guest's DR0-3 point at. The guest never touches them; the
 * host writes them at every exit and counts SIGTRAPs (none).
 */
volatile uint64_t dr_target[4] __attribute__((aligned(64)));

/* A GUEST_SYNC issued from assembly: RDI points here at the OUT. */
struct ucall g_sync = { .cmd = UCALL_SYNC, .nargs = 1 };

/* --- guest helpers ---------------------------------------------------- */

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | (uint64_t)hi << 32;
}

static inline void guest_cpuid(uint32_t leaf, uint32_t *ecx, uint32_t *edx)
{
	uint32_t a = leaf, b, c = 0, d;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	*ecx = c;
	*edx = d;
}

static inline uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | (uint64_t)hi << 32;
}

/* splitmix64: the patterns, the same in the guest and on the host. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* --- hostile guest ---------------------------------------------------- */

uint64_t g_vec_in[16][4] __attribute__((aligned(32)));
uint64_t g_vec_out[16][4] __attribute__((aligned(32)));

#define GV_LD(op, r, n)							\
	"	" op " g_vec_in+" #n "*32(%rip), %" r #n "\n"
#define GV_ST(op, r, n)							\
	"	" op " %" r #n ", g_vec_out+" #n "*32(%rip)\n"
#define GV_ALL(m, op, r)						\
	m(op, r, 0) m(op, r, 1) m(op, r, 2) m(op, r, 3)			\
	m(op, r, 4) m(op, r, 5) m(op, r, 6) m(op, r, 7)			\
	m(op, r, 8) m(op, r, 9) m(op, r, 10) m(op, r, 11)		\
	m(op, r, 12) m(op, r, 13) m(op, r, 14) m(op, r, 15)
#define G_SYNC_OUT							\
	"	lea g_sync(%rip), %rdi\n"				\
	"	mov $" __stringify(UCALL_PIO_PORT) ", %edx\n"		\
	"	out %al, (%dx)\n"

/*
 * g_vec_in into the vector registers, a GUEST_SYNC, the registers into
 * g_vec_out: no compiled code runs in between. RDI, RDX, RAX and the
 * vector registers are the caller's (all call-clobbered).
 */
void guest_vec_exit_xmm(void);
void guest_vec_exit_ymm(void);
asm(".pushsection .text\n"
	"guest_vec_exit_xmm:\n"
	GV_ALL(GV_LD, "movdqu", "xmm")
	G_SYNC_OUT
	GV_ALL(GV_ST, "movdqu", "xmm")
	"	ret\n"
	"guest_vec_exit_ymm:\n"
	GV_ALL(GV_LD, "vmovdqu", "ymm")
	G_SYNC_OUT
	GV_ALL(GV_ST, "vmovdqu", "ymm")
	"	vzeroupper\n"
	"	ret\n"
	".popsection\n");

struct hostile {
	uint16_t fs_sel, gs_sel;
	uint64_t fs_base, gs_base, kgs_base;
	uint64_t star, lstar, cstar, sfmask;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t tsc_aux, pat, efer;
	uint64_t dr[4], dr7;
};

static void hostile_values(struct hostile *h, uint64_t i, uint64_t efer0,
			   uint64_t efer_bits)
{
	int odd = i & 1;

	/* A null selector with RPL 3, and the data segment. */
	h->fs_sel = odd ? GDT_DATA_SEL : 3;
	h->gs_sel = odd ? 3 : GDT_DATA_SEL;
	/* Kernel addresses the host would crash on, all canonical. */
	h->fs_base = 0xffff888000000000ULL + (i << 12);
	h->gs_base = 0xffffffff81000000ULL + (i << 4);
	h->kgs_base = 0x00007ffff7000000ULL + i * 8;
	h->star = 0x0013000800000000ULL | (uint32_t)(0xdead0000 + i);
	h->lstar = 0xffffffff80000000ULL + i;
	h->cstar = 0xffff800000001000ULL + i;
	h->sfmask = odd ? 0 : 0x00257fd5;
	h->sysenter_cs = 0x1000 + (i & 0xfff);
	/* 32-bit: on an AMD guest KVM keeps only bits 31:0 of these. */
	h->sysenter_esp = 0xdead0000 + (i & 0xffff);
	h->sysenter_eip = 0xbeef0000 + (i & 0xffff);
	h->tsc_aux = 0x5a000000 + (i & 0xffffff);
	h->pat = odd ? 0x0001050407010406ULL : 0x0606060606060606ULL;
	h->efer = odd ? efer0 & ~efer_bits : efer0 | efer_bits;
	h->dr[0] = (uintptr_t)&dr_target[0];
	h->dr[1] = (uintptr_t)&dr_target[1];
	h->dr[2] = (uintptr_t)&dr_target[2];
	h->dr[3] = (uintptr_t)&dr_target[3];
	/*
	 * DR7 stays at its reset value: any RW/LEN or enable bits made QEMU
	 * 7.2's TCG, the test bed, crash (SIGSEGV) now and then, under okvm
	 * and under kvm-amd alike (with enables: one run in two; without:
	 * two runs in a full make check).
	 */
	h->dr7 = 0x400;
}

#define GUEST_EXPECT(what, got, want)					\
	GUEST_ASSERT_MSG((got) == (want), "%s at exit %lu: 0x%lx, not 0x%lx", \
			 what, i, (uint64_t)(got), (uint64_t)(want))

void guest_hostile(uint64_t loops, uint64_t mode)
{
	uint32_t ecx, edx;
	uint64_t efer0 = rdmsr(MSR_EFER), efer_bits = 0, i, j;
	int tsc_aux;
	struct hostile h;

	guest_cpuid(0x80000001, &ecx, &edx);
	tsc_aux = !!(edx & EXT1_EDX_RDTSCP);
	if (edx & EXT1_EDX_SYSCALL)
		efer_bits |= EFER_SCE;
	if (edx & EXT1_EDX_NX)
		efer_bits |= EFER_NXE;
	GUEST_SYNC_ARGS(0, tsc_aux, efer_bits);

	for (i = 1; i <= loops; i++) {
		uint16_t fs, gs;
		uint64_t v;

		hostile_values(&h, i, efer0, efer_bits);
		asm volatile("mov %0, %%fs\n\tmov %1, %%gs"
			     : : "r"(h.fs_sel), "r"(h.gs_sel));
		wrmsr(MSR_FS_BASE, h.fs_base);
		wrmsr(MSR_GS_BASE, h.gs_base);
		wrmsr(MSR_KERNEL_GS_BASE, h.kgs_base);
		wrmsr(MSR_STAR, h.star);
		wrmsr(MSR_LSTAR, h.lstar);
		wrmsr(MSR_CSTAR, h.cstar);
		wrmsr(MSR_SYSCALL_MASK, h.sfmask);
		wrmsr(MSR_IA32_SYSENTER_CS, h.sysenter_cs);
		wrmsr(MSR_IA32_SYSENTER_ESP, h.sysenter_esp);
		wrmsr(MSR_IA32_SYSENTER_EIP, h.sysenter_eip);
		if (tsc_aux)
			wrmsr(MSR_TSC_AUX, h.tsc_aux);
		wrmsr(MSR_IA32_CR_PAT, h.pat);
		wrmsr(MSR_EFER, h.efer);
		asm volatile("mov %0, %%dr0\n\tmov %1, %%dr1\n\t"
			     "mov %2, %%dr2\n\tmov %3, %%dr3\n\tmov %4, %%dr7"
			     : : "r"(h.dr[0]), "r"(h.dr[1]), "r"(h.dr[2]),
				 "r"(h.dr[3]), "r"(h.dr7));
		for (j = 0; j < 16 * 4; j++)
			g_vec_in[j / 4][j % 4] = mix(i * 64 + j);

		g_sync.args[0] = i;
		if (mode == VEC_YMM)
			guest_vec_exit_ymm();
		else
			guest_vec_exit_xmm();

		asm volatile("mov %%fs, %0\n\tmov %%gs, %1"
			     : "=r"(fs), "=r"(gs));
		GUEST_EXPECT("FS", fs, h.fs_sel);
		GUEST_EXPECT("GS", gs, h.gs_sel);
		GUEST_EXPECT("FS_BASE", rdmsr(MSR_FS_BASE), h.fs_base);
		GUEST_EXPECT("GS_BASE", rdmsr(MSR_GS_BASE), h.gs_base);
		GUEST_EXPECT("KERNEL_GS_BASE", rdmsr(MSR_KERNEL_GS_BASE),
			     h.kgs_base);
		GUEST_EXPECT("STAR", rdmsr(MSR_STAR), h.star);
		GUEST_EXPECT("LSTAR", rdmsr(MSR_LSTAR), h.lstar);
		GUEST_EXPECT("CSTAR", rdmsr(MSR_CSTAR), h.cstar);
		GUEST_EXPECT("SFMASK", rdmsr(MSR_SYSCALL_MASK), h.sfmask);
		GUEST_EXPECT("SYSENTER_CS", rdmsr(MSR_IA32_SYSENTER_CS),
			     h.sysenter_cs);
		GUEST_EXPECT("SYSENTER_ESP", rdmsr(MSR_IA32_SYSENTER_ESP),
			     h.sysenter_esp);
		GUEST_EXPECT("SYSENTER_EIP", rdmsr(MSR_IA32_SYSENTER_EIP),
			     h.sysenter_eip);
		if (tsc_aux) {
			uint32_t aux;

			GUEST_EXPECT("TSC_AUX", rdmsr(MSR_TSC_AUX), h.tsc_aux);
			asm volatile("rdtscp" : "=c"(aux) : : "rax", "rdx");
			GUEST_EXPECT("RDTSCP's TSC_AUX", aux, h.tsc_aux);
		}
		GUEST_EXPECT("PAT", rdmsr(MSR_IA32_CR_PAT), h.pat);
		GUEST_EXPECT("EFER", rdmsr(MSR_EFER), h.efer);
		asm volatile("mov %%dr0, %0" : "=r"(v));
		GUEST_EXPECT("DR0", v, h.dr[0]);
		asm volatile("mov %%dr1, %0" : "=r"(v));
		GUEST_EXPECT("DR1", v, h.dr[1]);
		asm volatile("mov %%dr2, %0" : "=r"(v));
		GUEST_EXPECT("DR2", v, h.dr[2]);
		asm volatile("mov %%dr3, %0" : "=r"(v));
		GUEST_EXPECT("DR3", v, h.dr[3]);
		asm volatile("mov %%dr7, %0" : "=r"(v));
		GUEST_EXPECT("DR7", v, h.dr7);
		for (j = 0; j < 16; j++) {
			int w = mode == VEC_YMM ? 4 : 2, k;

			for (k = 0; k < w; k++)
				GUEST_ASSERT_MSG(g_vec_out[j][k] ==
						 g_vec_in[j][k],
						 "%cmm%lu qword %d at exit %lu: 0x%lx, not 0x%lx",
						 w == 4 ? 'y' : 'x', j, k, i,
						 g_vec_out[j][k],
						 g_vec_in[j][k]);
		}
	}
	/* Leave DR7 quiet: the library's own code runs on. */
	asm volatile("mov %0, %%dr7" : : "r"(0x400ULL));
	GUEST_DONE();
}

/* --- host side: the thread's own registers across KVM_RUN ---------------- */

/*
 * Layout known to the assembly below: YMM0-15 (XMM in the low halves),
 * two x87 values, MXCSR, the x87 control word.
 */
struct host_fp {
	uint64_t vec[16][4];
	uint64_t x87[2];
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t pad;
} __attribute__((aligned(32)));

_Static_assert(offsetof(struct host_fp, x87) == 512, "host_fp layout");
_Static_assert(offsetof(struct host_fp, mxcsr) == 528, "host_fp layout");
_Static_assert(offsetof(struct host_fp, fcw) == 532, "host_fp layout");

static bool host_avx;		/* the host thread uses YMM */
static bool host_xsave;		/* OSXSAVE: XGETBV works */
static bool host_rdtscp;

static void host_caps(void)
{
	unsigned int a, b, c, d;

	__cpuid(1, a, b, c, d);
	host_xsave = c & LEAF1_ECX_OSXSAVE;
	host_avx = host_xsave && (c & LEAF1_ECX_AVX) &&
		   (xgetbv0() & (XFEATURE_SSE | XFEATURE_YMM)) ==
		   (XFEATURE_SSE | XFEATURE_YMM);
	__cpuid(0x80000001, a, b, c, d);
	host_rdtscp = d & EXT1_EDX_RDTSCP;
}

static void host_fp_fill(struct host_fp *fp, uint64_t seed)
{
	int i;

	for (i = 0; i < 64; i++)
		fp->vec[i / 4][i % 4] = mix(seed * 128 + i);
	for (i = 0; i < 2; i++) {
		double dv = (double)(int64_t)(mix(seed + i) >> 12) / 1024;

		memcpy(&fp->x87[i], &dv, 8);
	}
	/* Rounding control and flush-to-zero vary; exceptions masked. */
	fp->mxcsr = 0x1f80 | (seed & 3) << 13 | (seed & 4 ? 0x8000 : 0);
	fp->fcw = 0x037f | (seed & 3) << 10;
}

#define HV_LD(op, r, n)	"	" op " " #n "*32(%[in]), %%" r #n "\n"
#define HV_ST(op, r, n)	"	" op " %%" r #n ", " #n "*32(%[out])\n"
#define HV_ALL(m, op, r)						\
	m(op, r, 0) m(op, r, 1) m(op, r, 2) m(op, r, 3)			\
	m(op, r, 4) m(op, r, 5) m(op, r, 6) m(op, r, 7)			\
	m(op, r, 8) m(op, r, 9) m(op, r, 10) m(op, r, 11)		\
	m(op, r, 12) m(op, r, 13) m(op, r, 14) m(op, r, 15)
#define HV_X87_LD							\
	"	fldcw 532(%[in])\n"					\
	"	ldmxcsr 528(%[in])\n"					\
	"	fldl 512(%[in])\n"					\
	"	fldl 520(%[in])\n"
#define HV_X87_ST							\
	"	fstpl 520(%[out])\n"					\
	"	fstpl 512(%[out])\n"					\
	"	stmxcsr 528(%[out])\n"					\
	"	fnstcw 532(%[out])\n"
#define HV_CLOBBERS							\
	"rcx", "r11", "memory", "cc", "st", "st(1)",			\
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",	\
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

/*
 * ioctl(fd, KVM_RUN) as a bare SYSCALL with *in in the registers around
 * it; what the registers hold after it goes to *out. No libc code runs in
 * between to save or clobber them.
 */
static long kvm_run_fp(int fd, const struct host_fp *in, struct host_fp *out)
{
	long ret = SYS_ioctl;
	uint32_t mxcsr;
	uint16_t fcw;

	asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fcw));
	if (host_avx)
		asm volatile(HV_X87_LD
			     HV_ALL(HV_LD, "vmovdqu", "ymm")
			     "	syscall\n"
			     HV_ALL(HV_ST, "vmovdqu", "ymm")
			     HV_X87_ST
			     "	vzeroupper\n"
			     : "+a"(ret)
			     : "D"((long)fd), "S"((long)KVM_RUN), "d"(0L),
			       [in] "r"(in), [out] "r"(out)
			     : HV_CLOBBERS);
	else
		asm volatile(HV_X87_LD
			     HV_ALL(HV_LD, "movdqu", "xmm")
			     "	syscall\n"
			     HV_ALL(HV_ST, "movdqu", "xmm")
			     HV_X87_ST
			     : "+a"(ret)
			     : "D"((long)fd), "S"((long)KVM_RUN), "d"(0L),
			       [in] "r"(in), [out] "r"(out)
			     : HV_CLOBBERS);
	asm volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(mxcsr), "m"(fcw));
	return ret;
}

/* First error of a thread, kept. */
static void set_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/*
 * KVM_RUN with a pattern from seed in the host thread's FPU registers;
 * on return they still hold it, and XCR0 is what it was. Returns
 * KVM_RUN's 0 or -errno; a difference goes to err.
 */
static long run_checked(struct kvm_vcpu *vcpu, uint64_t seed, char *err,
			size_t len)
{
	struct host_fp in, out;
	uint64_t xcr0 = host_xsave ? xgetbv0() : 0;
	int w = host_avx ? 4 : 2, i, k;
	long ret;

	host_fp_fill(&in, seed);
	memset(&out, 0, sizeof(out));
	ret = kvm_run_fp(vcpu->fd, &in, &out);
	for (i = 0; i < 16; i++)
		for (k = 0; k < w; k++)
			if (out.vec[i][k] != in.vec[i][k])
				set_err(err, len,
					"host %cmm%d qword %d after KVM_RUN: 0x%lx, not 0x%lx",
					w == 4 ? 'y' : 'x', i, k,
					out.vec[i][k], in.vec[i][k]);
	for (i = 0; i < 2; i++)
		if (out.x87[i] != in.x87[i])
			set_err(err, len,
				"host x87 value %d after KVM_RUN: 0x%lx, not 0x%lx",
				i, out.x87[i], in.x87[i]);
	if (out.mxcsr != in.mxcsr || out.fcw != in.fcw)
		set_err(err, len,
			"host MXCSR/FCW after KVM_RUN: 0x%x/0x%x, not 0x%x/0x%x",
			out.mxcsr, out.fcw, in.mxcsr, in.fcw);
	if (host_xsave && xgetbv0() != xcr0)
		set_err(err, len, "host XCR0 after KVM_RUN: 0x%lx, not 0x%lx",
			xgetbv0(), xcr0);
	return ret;
}

/* --- hostile_guest_*: the host thread's checks at every exit ------------- */

static __thread uint64_t tls_word = 0x7715deadbeef7715ULL;
static volatile sig_atomic_t usr1_seen, usr1_bad, alrm_seen, trap_seen;

static void on_usr1(int sig)
{
	volatile double d = 1.5;

	/* The handler's own TLS and FPU work as well. */
	d *= 3;
	if (tls_word != 0x7715deadbeef7715ULL || d != 4.5)
		usr1_bad++;
	usr1_seen++;
}

static void on_alrm(int sig)
{
	alrm_seen++;
}

static void on_trap(int sig)
{
	trap_seen++;
}

static uint32_t rdtscp_aux(void)
{
	uint32_t aux;

	asm volatile("rdtscp" : "=c"(aux) : : "rax", "rdx");
	return aux;
}

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * CR4.OSXSAVE and XCR0 = x87|SSE|AVX, the host's XCR0 on the test bed:
 * set by the host, as the guest's XSETBV would not exit under TCG.
 */
static void vcpu_enable_avx(struct kvm_vcpu *vcpu)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr4 |= CR4_OSXSAVE;
	vcpu_sregs_set(vcpu, &sregs);
	xcrs.xcrs[0].value = XFEATURE_FP | XFEATURE_SSE | XFEATURE_YMM;
	kvm_ioctl(vcpu->fd, KVM_SET_XCRS, &xcrs);
}

struct host_snapshot {
	unsigned long fs_base, gs_base;
	uint16_t fs, gs;
	pid_t pid, tid;
	uint64_t xcr0;
	uint32_t aux[2];	/* TSC_AUX of CPU 0 and CPU 1 */
};

static void host_snapshot(struct host_snapshot *s)
{
	syscall(SYS_arch_prctl, ARCH_GET_FS, &s->fs_base);
	syscall(SYS_arch_prctl, ARCH_GET_GS, &s->gs_base);
	asm volatile("mov %%fs, %0\n\tmov %%gs, %1" : "=r"(s->fs), "=r"(s->gs));
	s->pid = getpid();
	s->tid = syscall(SYS_gettid);
	s->xcr0 = host_xsave ? xgetbv0() : 0;
}

static void host_check(struct __test_metadata *_metadata,
		       const struct host_snapshot *s, int cpu, uint64_t exit)
{
	unsigned long fs_base = 0, gs_base = 0;
	uint16_t fs, gs;
	int i, usr1 = usr1_seen;

	ASSERT_EQ(0x7715deadbeef7715ULL, tls_word) TH_LOG("exit %lu", exit);
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_base));
	ASSERT_EQ(s->fs_base, fs_base) TH_LOG("exit %lu", exit);
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_GS, &gs_base));
	ASSERT_EQ(s->gs_base, gs_base) TH_LOG("exit %lu", exit);
	asm volatile("mov %%fs, %0\n\tmov %%gs, %1" : "=r"(fs), "=r"(gs));
	ASSERT_EQ(s->fs, fs) TH_LOG("exit %lu", exit);
	ASSERT_EQ(s->gs, gs) TH_LOG("exit %lu", exit);
	/* SYSCALL through the host's LSTAR/STAR/SFMASK, EFER.SCE still on. */
	ASSERT_EQ(s->pid, syscall(SYS_getpid));
	ASSERT_EQ(s->tid, syscall(SYS_gettid));
	if (host_xsave)
		ASSERT_EQ(s->xcr0, xgetbv0()) TH_LOG("exit %lu", exit);
	if (host_rdtscp)
		ASSERT_EQ(s->aux[cpu], rdtscp_aux())
			TH_LOG("host TSC_AUX on CPU %d at exit %lu", cpu, exit);
	/* The guest's DR0-3/DR7 watch these: no SIGTRAP in the host. */
	for (i = 0; i < 4; i++)
		dr_target[i] = exit + i;
	ASSERT_EQ(0, trap_seen) TH_LOG("exit %lu", exit);
	/* A signal is delivered, with its frame's FPU state. */
	ASSERT_EQ(0, syscall(SYS_tgkill, s->pid, s->tid, SIGUSR1));
	ASSERT_EQ(usr1 + 1, usr1_seen) TH_LOG("exit %lu", exit);
	ASSERT_EQ(0, usr1_bad) TH_LOG("exit %lu", exit);
}

static void hostile_case(struct __test_metadata *_metadata,
			 enum vec_mode mode)
{
	struct itimerval it = { .it_interval = { .tv_usec = 5000 },
				.it_value = { .tv_usec = 5000 } };
	struct sigaction sa = { 0 };
	int ncpus = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
	struct host_snapshot snap;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t exits = 0, intr = 0, seed = 0;
	char err[256] = "";
	int cpu = 0, i;

	host_caps();
	if (mode == VEC_YMM && !host_avx) {
		TH_LOG("no AVX on the host: XMM only");
		mode = VEC_XMM;
	}

	for (i = 0; i < ncpus; i++) {
		ASSERT_EQ(0, pin_to(i));
		if (host_rdtscp)
			snap.aux[i] = rdtscp_aux();
	}
	ASSERT_EQ(0, pin_to(0));
	host_snapshot(&snap);

	sa.sa_handler = on_usr1;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	sa.sa_handler = on_trap;
	ASSERT_EQ(0, sigaction(SIGTRAP, &sa, NULL));
	sa.sa_handler = on_alrm;
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));

	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_hostile);
	vcpu_args_set(vcpu, 2, (uint64_t)HOSTILE_LOOPS, (uint64_t)mode);
	if (mode == VEC_YMM)
		vcpu_enable_avx(vcpu);

	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(0, uc.args[0]);
	TH_LOG("guest: TSC_AUX %s, EFER bits 0x%lx; host: %s, RDTSCP %s",
	       uc.args[1] ? "offered" : "not offered", uc.args[2],
	       host_avx ? "AVX" : "SSE", host_rdtscp ? "yes" : "no");

	/* Signals land while KVM_RUN runs the hostile guest, too. */
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	for (;;) {
		long ret = run_checked(vcpu, ++seed, err, sizeof(err));

		ASSERT_STREQ("", err);
		if (ret == -EINTR) {
			ASSERT_EQ(KVM_EXIT_INTR, vcpu->run->exit_reason);
			intr++;
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("KVM_RUN: %s", strerror(-ret));
		if (get_ucall(vcpu, &uc) == UCALL_DONE)
			break;
		ASSERT_EQ(UCALL_SYNC, uc.cmd)
			TH_LOG("%s / %s", vcpu_exit_str(vcpu), ucall_str(&uc));
		ASSERT_EQ(++exits, uc.args[0]);
		host_check(_metadata, &snap, cpu, exits);
		/* Between CPUs now and then (TSC_AUX is per CPU). */
		if (ncpus > 1 && !(exits % 64)) {
			cpu ^= 1;
			ASSERT_EQ(0, pin_to(cpu));
		}
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	TH_LOG("%lu exits, %lu KVM_RUNs interrupted by SIGALRM", exits, intr);
	EXPECT_EQ(HOSTILE_LOOPS, exits);
	EXPECT_EQ(exits, usr1_seen);
	EXPECT_EQ(0, trap_seen);
	kvm_vm_free(vm);
}

TEST(hostile_guest)
{
	hostile_case(_metadata, VEC_YMM);
}

/* --- guest registers held across exits ---------------------------------- */

/*
 * Layout known to guest_regs_exit: RAX RBX RCX RSI RBP R8-R15 (RDX and
 * RDI carry the OUT), YMM0-15, x87 ST0-7 (as doubles), MXCSR, FCW.
 */
#define NR_GPRS	13
struct gstate {
	uint64_t gpr[16];
	uint64_t vec[16][4];
	uint64_t x87[8];
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t pad;
} __attribute__((aligned(32)));

_Static_assert(offsetof(struct gstate, vec) == 128, "gstate layout");
_Static_assert(offsetof(struct gstate, x87) == 640, "gstate layout");
_Static_assert(offsetof(struct gstate, mxcsr) == 704, "gstate layout");
_Static_assert(offsetof(struct gstate, fcw) == 708, "gstate layout");

struct gstate g_in, g_out;
uint32_t g_mxcsr_default = 0x1f80;
uint16_t g_fcw_default = 0x037f;

#define GR_GPRS(m)							\
	m("rax", 0) m("rbx", 1) m("rcx", 2) m("rsi", 3) m("rbp", 4)	\
	m("r8", 5) m("r9", 6) m("r10", 7) m("r11", 8) m("r12", 9)	\
	m("r13", 10) m("r14", 11) m("r15", 12)
#define GR_LD(r, n)	"	mov g_in+" #n "*8(%rip), %" r "\n"
#define GR_ST(r, n)	"	mov %" r ", g_out+" #n "*8(%rip)\n"
#define GR_VLD(op, r, n)						\
	"	" op " g_in+128+" #n "*32(%rip), %" r #n "\n"
#define GR_VST(op, r, n)						\
	"	" op " %" r #n ", g_out+128+" #n "*32(%rip)\n"
#define GR_X87(m)							\
	m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7)
/* ST7 ends up holding x87[0], ST0 x87[7]; popped back in reverse. */
#define GR_FLD(n)	"	fldl g_in+640+" #n "*8(%rip)\n"
#define GR_FST(n)	"	fstpl g_out+640+(7-" #n ")*8(%rip)\n"

#define GUEST_REGS_EXIT(name, op, r, tail)				\
	"" #name ":\n"							\
	"	push %rbx\n	push %rbp\n	push %r12\n"		\
	"	push %r13\n	push %r14\n	push %r15\n"		\
	"	fldcw g_in+708(%rip)\n"					\
	"	ldmxcsr g_in+704(%rip)\n"				\
	GR_X87(GR_FLD)							\
	GV_ALL(GR_VLD, op, r)						\
	GR_GPRS(GR_LD)							\
	G_SYNC_OUT							\
	GR_GPRS(GR_ST)							\
	GV_ALL(GR_VST, op, r)						\
	GR_X87(GR_FST)							\
	"	stmxcsr g_out+704(%rip)\n"				\
	"	fnstcw g_out+708(%rip)\n"				\
	"	ldmxcsr g_mxcsr_default(%rip)\n"			\
	"	fldcw g_fcw_default(%rip)\n"				\
	tail								\
	"	pop %r15\n	pop %r14\n	pop %r13\n"		\
	"	pop %r12\n	pop %rbp\n	pop %rbx\n"		\
	"	ret\n"

void guest_regs_exit_xmm(void);
void guest_regs_exit_ymm(void);
asm(".pushsection .text\n"
	GUEST_REGS_EXIT(guest_regs_exit_xmm, "movdqu", "xmm", "")
	GUEST_REGS_EXIT(guest_regs_exit_ymm, "vmovdqu", "ymm",
			"	vzeroupper\n")
	".popsection\n");

/* The patterns of exit i; the host computes the same. */
static void gstate_fill(struct gstate *s, uint64_t seed, uint64_t i)
{
	uint64_t base = seed << 40 ^ i << 8;
	int j;

	for (j = 0; j < 16; j++)
		s->gpr[j] = mix(base + j);
	for (j = 0; j < 64; j++)
		s->vec[j / 4][j % 4] = mix(base + 16 + j);
	for (j = 0; j < 8; j++) {
		union { double d; uint64_t u; } v;

		/* Integers below 2^52: exact in every rounding mode. */
		v.d = (double)(int64_t)(mix(base + 80 + j) >> 12);
		if (j & 1)
			v.d = -v.d;
		s->x87[j] = v.u;
	}
	s->mxcsr = 0x1f80 | (i & 3) << 13 | (i & 4 ? 0x8000 : 0);
	s->fcw = 0x037f | (seed + i) % 4 << 10;
}

/* Every register's value at every exit, folded together. */
static uint64_t gstate_sum(uint64_t sum, const struct gstate *s, int w)
{
	int j, k;

	for (j = 0; j < NR_GPRS; j++)
		sum = mix(sum ^ s->gpr[j]);
	for (j = 0; j < 16; j++)
		for (k = 0; k < w; k++)
			sum = mix(sum ^ s->vec[j][k]);
	for (j = 0; j < 8; j++)
		sum = mix(sum ^ s->x87[j]);
	return mix(sum ^ s->mxcsr ^ (uint64_t)s->fcw << 32);
}

#define GUEST_REG_EQ(what, n, got, want)				\
	GUEST_ASSERT_MSG((got) == (want),				\
			 "%s %d at exit %lu: 0x%lx, not 0x%lx", what, n, i, \
			 (uint64_t)(got), (uint64_t)(want))

void guest_regs(uint64_t loops, uint64_t seed, uint64_t ymm)
{
	int w = ymm ? 4 : 2, j, k;
	uint64_t i, sum = seed;

	for (i = 1; i <= loops; i++) {
		gstate_fill(&g_in, seed, i);
		g_sync.args[0] = i;
		if (ymm)
			guest_regs_exit_ymm();
		else
			guest_regs_exit_xmm();
		for (j = 0; j < NR_GPRS; j++)
			GUEST_REG_EQ("GPR", j, g_out.gpr[j], g_in.gpr[j]);
		for (j = 0; j < 16; j++)
			for (k = 0; k < w; k++)
				GUEST_REG_EQ(ymm ? "YMM qword" : "XMM qword",
					     j * 4 + k, g_out.vec[j][k],
					     g_in.vec[j][k]);
		for (j = 0; j < 8; j++)
			GUEST_REG_EQ("x87 value", j, g_out.x87[j],
				     g_in.x87[j]);
		GUEST_REG_EQ("MXCSR", 0, g_out.mxcsr, g_in.mxcsr);
		GUEST_REG_EQ("FCW", 0, g_out.fcw, g_in.fcw);
		sum = gstate_sum(sum, &g_out, w);
	}
	GUEST_SYNC_ARGS(loops + 1, sum);
	GUEST_DONE();
}

static uint64_t expected_sum(uint64_t loops, uint64_t seed, int w)
{
	struct gstate s;
	uint64_t i, sum = seed;

	for (i = 1; i <= loops; i++) {
		gstate_fill(&s, seed, i);
		sum = gstate_sum(sum, &s, w);
	}
	return sum;
}

struct vrunner {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint64_t loops, seed, sum;
	int cpu;		/* pinned there, or -1 */
	bool yield;		/* sched_yield() after each exit */
	uint64_t exits;
	pid_t tid;
	volatile int started, done;
	char err[256];
};

static void *vcpu_thread(void *arg)
{
	struct vrunner *r = arg;
	struct ucall uc;
	uint64_t seed = r->seed << 32;

	r->tid = syscall(SYS_gettid);
	if (r->cpu >= 0 && pin_to(r->cpu))
		set_err(r->err, sizeof(r->err), "pinning to CPU %d", r->cpu);
	r->started = 1;
	while (!r->err[0]) {
		long ret = run_checked(r->vcpu, ++seed, r->err,
				       sizeof(r->err));

		if (ret == -EINTR)
			continue;
		if (ret) {
			set_err(r->err, sizeof(r->err), "KVM_RUN: %s",
				strerror(-ret));
			break;
		}
		switch (get_ucall(r->vcpu, &uc)) {
		case UCALL_SYNC:
			if (uc.args[0] == r->loops + 1) {
				r->sum = uc.args[1];
				break;
			}
			if (uc.args[0] != ++r->exits)
				set_err(r->err, sizeof(r->err),
					"exit %lu after %lu", uc.args[0],
					r->exits - 1);
			break;
		case UCALL_DONE:
			r->done = 1;
			return NULL;
		default:
			set_err(r->err, sizeof(r->err), "%s / %s",
				vcpu_exit_str(r->vcpu), ucall_str(&uc));
			return NULL;
		}
		if (r->yield)
			sched_yield();
	}
	r->done = 1;
	return NULL;
}

static bool guest_can_ymm(struct kvm_vm *vm)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	bool ok = kvm_cpuid_entry(cpuid, 1, 0)->ecx & LEAF1_ECX_AVX;

	free(cpuid);
	return ok && host_avx;
}

static void vrunner_init(struct vrunner *r, uint64_t loops, uint64_t seed,
			 int cpu, bool yield)
{
	bool ymm;

	memset(r, 0, sizeof(*r));
	r->vm = vm_create_guest(0);
	r->vcpu = vm_vcpu_add_guest(r->vm, 0, guest_regs);
	r->loops = loops;
	r->seed = seed;
	r->cpu = cpu;
	r->yield = yield;
	ymm = guest_can_ymm(r->vm);
	vcpu_args_set(r->vcpu, 3, loops, seed, (uint64_t)ymm);
	if (ymm)
		vcpu_enable_avx(r->vcpu);
}

static void vrunner_check(struct __test_metadata *_metadata,
			  struct vrunner *r)
{
	int w = guest_can_ymm(r->vm) ? 4 : 2;

	EXPECT_STREQ("", r->err);
	EXPECT_EQ(r->loops, r->exits);
	EXPECT_EQ(expected_sum(r->loops, r->seed, w), r->sum);
	kvm_vm_free(r->vm);
}

/* Burns CPU with its own YMM/XMM pattern, which must survive. */
struct burner {
	volatile int stop;
	uint64_t rounds;
	char err[256];
};

static void *burn_thread(void *arg)
{
	struct burner *b = arg;
	struct host_fp in, out;
	int w = host_avx ? 4 : 2, i, k;

	while (!b->stop && !b->err[0]) {
		host_fp_fill(&in, ++b->rounds ^ 0xb0b0);
		if (host_avx)
			asm volatile(HV_ALL(HV_LD, "vmovdqu", "ymm")
				     "	mov $200000, %%ecx\n"
				     "1:	dec %%ecx\n"
				     "	jnz 1b\n"
				     HV_ALL(HV_ST, "vmovdqu", "ymm")
				     "	vzeroupper\n"
				     : : [in] "r"(&in), [out] "r"(&out)
				     : HV_CLOBBERS);
		else
			asm volatile(HV_ALL(HV_LD, "movdqu", "xmm")
				     "	mov $200000, %%ecx\n"
				     "1:	dec %%ecx\n"
				     "	jnz 1b\n"
				     HV_ALL(HV_ST, "movdqu", "xmm")
				     : : [in] "r"(&in), [out] "r"(&out)
				     : HV_CLOBBERS);
		for (i = 0; i < 16; i++)
			for (k = 0; k < w; k++)
				if (out.vec[i][k] != in.vec[i][k])
					set_err(b->err, sizeof(b->err),
						"burner's %cmm%d qword %d: 0x%lx, not 0x%lx",
						w == 4 ? 'y' : 'x', i, k,
						out.vec[i][k], in.vec[i][k]);
	}
	return NULL;
}

/*
 * The vCPU thread is moved between CPU 0 and 1 every 300 us by this
 * thread, and preempted by a burner that may run on both. How many moves
 * fit in one guest run depends on the emulator and its load (under Bochs
 * a run may end after a few), so guests run until 20 moves have happened,
 * each run checked on its own.
 */
TEST(guest_regs_survive_preemption_and_migration)
{
	struct timespec ts = { .tv_nsec = 300 * 1000 };
	struct burner b = { 0 };
	struct vrunner r;
	pthread_t t, tb;
	int flips = 0, round;

	host_caps();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one CPU: nothing to migrate between");
	ASSERT_EQ(0, pthread_create(&tb, NULL, burn_thread, &b));
	for (round = 0; flips < 20 && round < 50; round++) {
		vrunner_init(&r, REGS_LOOPS, 0x51 + round, -1, false);
		if (!round)
			TH_LOG("guest %s, host %s",
			       guest_can_ymm(r.vm) ? "YMM" : "XMM",
			       host_avx ? "YMM" : "XMM");
		ASSERT_EQ(0, pthread_create(&t, NULL, vcpu_thread, &r));
		while (!r.started)
			sched_yield();
		while (!r.done) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(flips & 1, &set);
			if (sched_setaffinity(r.tid, sizeof(set), &set))
				break;
			flips++;
			nanosleep(&ts, NULL);
		}
		ASSERT_EQ(0, pthread_join(t, NULL));
		vrunner_check(_metadata, &r);
	}
	b.stop = 1;
	ASSERT_EQ(0, pthread_join(tb, NULL));
	TH_LOG("%d affinity flips over %d guest runs, %lu burner rounds",
	       flips, round, b.rounds);
	EXPECT_LE(20, flips);
	EXPECT_STREQ("", b.err);
}

/*
 * Two VMs' vCPU threads on the same CPU, each yielding to the other at
 * every exit: their FPU states alternate on one CPU's registers.
 */
TEST(two_vms_share_a_cpu)
{
	struct vrunner r[2];
	pthread_t t[2];
	int i;

	host_caps();
	vrunner_init(&r[0], SHARE_LOOPS, 0xa1, 0, true);
	vrunner_init(&r[1], SHARE_LOOPS, 0xb2, 0, true);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, vcpu_thread, &r[i]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	for (i = 0; i < 2; i++)
		vrunner_check(_metadata, &r[i]);
}

TEST_HARNESS_MAIN
