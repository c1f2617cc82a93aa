// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu_fpu_test - the guest's x87/SSE/AVX state through KVM_GET_FPU /
 * KVM_SET_FPU, KVM_GET_XSAVE / KVM_SET_XSAVE (and KVM_GET_XSAVE2) and
 * KVM_GET_XCRS / KVM_SET_XCRS (api.rst sections of those names): reset
 * values, guest-written registers seen by the host at an exit and kept
 * across several exits, host-written registers seen by the guest, and
 * what KVM refuses.
 *
 * The guest side is assembly: compiled C code in the guest may use XMM
 * registers at any time (the library builds it with SSE), so registers
 * under test are loaded and stored in asm around a bare OUT, which exits
 * to the host as KVM_EXIT_IO on port 0x80.
 *
 * Layouts: the FXSAVE image (APM vol. 2, 11.4.4; Intel SDM vol. 1,
 * 10.5.1) and the standard-format XSAVE area with its header at byte 512
 * (SDM vol. 1, 13.4), YMM_Hi128 where CPUID 0xd.2 EBX says.
 */
#include <stdlib.h>
#include <string.h>

#include "ioctl_checks.h"
#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#ifndef KVM_CAP_XSAVE2
#define KVM_CAP_XSAVE2		208
#endif
#ifndef KVM_GET_XSAVE2
#define KVM_GET_XSAVE2		_IOR(KVMIO, 0xcf, struct kvm_xsave)
#endif

#define TEST_PORT		0x80
#define XFEATURE_FP		(1ULL << 0)
#define XFEATURE_SSE		(1ULL << 1)
#define XFEATURE_YMM		(1ULL << 2)
#define CR4_OSXSAVE		(1ULL << 18)

/* Byte offsets in the XSAVE area (SDM vol. 1, 10.5.1 and 13.4.2). */
#define XS_FCW			0
#define XS_FSW			2
#define XS_FTW			4
#define XS_MXCSR		24
#define XS_ST0			32
#define XS_XMM0			160
#define XS_XSTATE_BV		512
#define XS_XCOMP_BV		520
#define XS_HDR_RESERVED		528

#define FCW_RESET		0x37f
#define MXCSR_RESET		0x1f80
/* Round down (RC = 01, SDM vol. 1, 8.1.5), all exceptions masked. */
#define FCW_TEST		0x077f
/* Round toward zero (RC = 11), flush to zero (SDM vol. 1, 10.2.3). */
#define MXCSR_TEST		0xff80

/* 80-bit extended values, as FXSAVE stores them: mantissa, exponent. */
static const uint8_t x87_pi[10] = {
	0x35, 0xc2, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x00, 0x40,
};
static const uint8_t x87_one[10] = {
	0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f,
};
static const uint8_t x87_two[10] = {
	0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0x40,
};

/* Guest-visible data: the host fills the inputs after loading the ELF. */
uint8_t xmm_in[16][16] __attribute__((aligned(16)));
uint8_t xmm_out[16][16] __attribute__((aligned(16)));
uint8_t ymm_in[16][32] __attribute__((aligned(32)));
uint8_t ymm_out[16][32] __attribute__((aligned(32)));
uint16_t fcw_in = FCW_TEST;
uint32_t mxcsr_in = MXCSR_TEST;
struct {
	uint16_t fcw, fsw;
	uint32_t mxcsr;
	uint8_t st0[10];
} x87_out;

#define XMM_OP(op, mem, n)						\
	"	" op " " mem "+" #n "*16(%rip), %xmm" #n "\n"
#define XMM_ALL(op, mem)						\
	XMM_OP(op, mem, 0) XMM_OP(op, mem, 1) XMM_OP(op, mem, 2)	\
	XMM_OP(op, mem, 3) XMM_OP(op, mem, 4) XMM_OP(op, mem, 5)	\
	XMM_OP(op, mem, 6) XMM_OP(op, mem, 7) XMM_OP(op, mem, 8)	\
	XMM_OP(op, mem, 9) XMM_OP(op, mem, 10) XMM_OP(op, mem, 11)	\
	XMM_OP(op, mem, 12) XMM_OP(op, mem, 13) XMM_OP(op, mem, 14)	\
	XMM_OP(op, mem, 15)
#define XMM_ST(mem, n)							\
	"	movdqu %xmm" #n ", " mem "+" #n "*16(%rip)\n"
#define XMM_STORE_ALL(mem)						\
	XMM_ST(mem, 0) XMM_ST(mem, 1) XMM_ST(mem, 2) XMM_ST(mem, 3)	\
	XMM_ST(mem, 4) XMM_ST(mem, 5) XMM_ST(mem, 6) XMM_ST(mem, 7)	\
	XMM_ST(mem, 8) XMM_ST(mem, 9) XMM_ST(mem, 10) XMM_ST(mem, 11)	\
	XMM_ST(mem, 12) XMM_ST(mem, 13) XMM_ST(mem, 14) XMM_ST(mem, 15)
#define YMM_LD(mem, n)							\
	"	vmovdqu " mem "+" #n "*32(%rip), %ymm" #n "\n"
#define YMM_LOAD_ALL(mem)						\
	YMM_LD(mem, 0) YMM_LD(mem, 1) YMM_LD(mem, 2) YMM_LD(mem, 3)	\
	YMM_LD(mem, 4) YMM_LD(mem, 5) YMM_LD(mem, 6) YMM_LD(mem, 7)	\
	YMM_LD(mem, 8) YMM_LD(mem, 9) YMM_LD(mem, 10) YMM_LD(mem, 11)	\
	YMM_LD(mem, 12) YMM_LD(mem, 13) YMM_LD(mem, 14) YMM_LD(mem, 15)
#define YMM_ST(mem, n)							\
	"	vmovdqu %ymm" #n ", " mem "+" #n "*32(%rip)\n"
#define YMM_STORE_ALL(mem)						\
	YMM_ST(mem, 0) YMM_ST(mem, 1) YMM_ST(mem, 2) YMM_ST(mem, 3)	\
	YMM_ST(mem, 4) YMM_ST(mem, 5) YMM_ST(mem, 6) YMM_ST(mem, 7)	\
	YMM_ST(mem, 8) YMM_ST(mem, 9) YMM_ST(mem, 10) YMM_ST(mem, 11)	\
	YMM_ST(mem, 12) YMM_ST(mem, 13) YMM_ST(mem, 14) YMM_ST(mem, 15)

#define STORE_X87							\
	"	fnstcw x87_out(%rip)\n"					\
	"	fnstsw x87_out+2(%rip)\n"				\
	"	stmxcsr x87_out+4(%rip)\n"				\
	"	fstpt x87_out+8(%rip)\n"

void guest_report(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

/*
 * Load x87 (1.0 then pi, then a new control word), MXCSR and XMM0-15,
 * exit three times, then store what is left in the registers.
 */
void guest_fpu_write(void);
asm(".pushsection .text\n"
	".globl guest_fpu_write\n"
	"guest_fpu_write:\n"
	"	fninit\n"
	"	fld1\n"
	"	fldpi\n"
	"	fldcw fcw_in(%rip)\n"
	"	ldmxcsr mxcsr_in(%rip)\n"
	XMM_ALL("movdqu", "xmm_in")
	"	out %al, $0x80\n"
	"	out %al, $0x80\n"
	"	out %al, $0x80\n"
	XMM_STORE_ALL("xmm_out")
	STORE_X87
	"	fninit\n"
	"	ldmxcsr mxcsr_reset(%rip)\n"
	"	jmp guest_report\n"
	".popsection\n");

uint32_t mxcsr_reset = MXCSR_RESET;

/* Store, first thing, what the host put in the registers. */
void guest_fpu_read(void);
asm(".pushsection .text\n"
	".globl guest_fpu_read\n"
	"guest_fpu_read:\n"
	XMM_STORE_ALL("xmm_out")
	STORE_X87
	"	fninit\n"
	"	ldmxcsr mxcsr_reset(%rip)\n"
	"	jmp guest_report\n"
	".popsection\n");

/*
 * With AVX state on (the host sets CR4.OSXSAVE and XCR0: the guest does
 * not XSETBV itself, since QEMU's TCG, under which these tests run L1,
 * does not make XSETBV exit to KVM as SVM requires), load YMM0-15.
 */
void guest_ymm_write(void);
asm(".pushsection .text\n"
	".globl guest_ymm_write\n"
	"guest_ymm_write:\n"
	YMM_LOAD_ALL("ymm_in")
	"	out %al, $0x80\n"
	"	out %al, $0x80\n"
	YMM_STORE_ALL("ymm_out")
	"	vzeroupper\n"
	"	jmp guest_report\n"
	".popsection\n");

/* With AVX state on already (set by the host): store YMM0-15 and XCR0. */
uint64_t xcr0_seen;
void guest_ymm_read(void);
asm(".pushsection .text\n"
	".globl guest_ymm_read\n"
	"guest_ymm_read:\n"
	YMM_STORE_ALL("ymm_out")
	"	xor %ecx, %ecx\n"
	"	xgetbv\n"
	"	mov %eax, xcr0_seen(%rip)\n"
	"	mov %edx, xcr0_seen+4(%rip)\n"
	"	vzeroupper\n"
	"	jmp guest_report\n"
	".popsection\n");

static void fill_patterns(struct kvm_vm *vm, uint8_t seed)
{
	int i, j;

	for (i = 0; i < 16; i++)
		for (j = 0; j < 16; j++)
			xmm_in[i][j] = seed + i * 16 + j;
	for (i = 0; i < 16; i++)
		for (j = 0; j < 32; j++)
			ymm_in[i][j] = seed ^ (i * 32 + j) ^ 0xa5;
	vm_sync_global_to_guest(vm, xmm_in);
	vm_sync_global_to_guest(vm, ymm_in);
}

static struct kvm_vcpu *bare_vcpu(struct kvm_vm **vm)
{
	*vm = vm_create_bare();
	return vm_vcpu_add_bare(*vm, 0);
}

static uint64_t xs_u64(const struct kvm_xsave *xs, int off)
{
	uint64_t v;

	memcpy(&v, (const char *)xs->region + off, 8);
	return v;
}

static void xs_set_u64(struct kvm_xsave *xs, int off, uint64_t v)
{
	memcpy((char *)xs->region + off, &v, 8);
}

static uint32_t xs_mxcsr(const struct kvm_xsave *xs)
{
	uint32_t v;

	memcpy(&v, (const char *)xs->region + XS_MXCSR, 4);
	return v;
}

static uint16_t xs_fcw(const struct kvm_xsave *xs)
{
	uint16_t v;

	memcpy(&v, (const char *)xs->region + XS_FCW, 2);
	return v;
}

/* Check the guest_fpu_write state in a kvm_fpu. */
static void expect_guest_fpu(struct __test_metadata *_metadata,
			     const struct kvm_fpu *fpu)
{
	int i;

	EXPECT_EQ(FCW_TEST, fpu->fcw);
	/* KVM's answer: KVM_GET_FPU never fills in mxcsr. */
	EXPECT_EQ(0, fpu->mxcsr);
	/* Two pushes: TOP = 6 (FSW bits 13:11); tags of registers 6, 7. */
	EXPECT_EQ(6 << 11, fpu->fsw);
	EXPECT_EQ(0xc0, fpu->ftwx);
	/* fpr[] is in stack order: ST0 = pi, ST1 = 1.0. */
	EXPECT_EQ(0, memcmp(fpu->fpr[0], x87_pi, 10));
	EXPECT_EQ(0, memcmp(fpu->fpr[1], x87_one, 10));
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, memcmp(fpu->xmm[i], xmm_in[i], 16))
			TH_LOG("xmm%d", i);
}

/* The same state in the legacy area of KVM_GET_XSAVE, MXCSR included. */
static void expect_guest_xsave(struct __test_metadata *_metadata,
			       const struct kvm_xsave *xs)
{
	const char *r = (const char *)xs->region;

	EXPECT_EQ(FCW_TEST, xs_fcw(xs));
	EXPECT_EQ(MXCSR_TEST, xs_mxcsr(xs));
	EXPECT_EQ(XFEATURE_FP | XFEATURE_SSE,
		  xs_u64(xs, XS_XSTATE_BV) & (XFEATURE_FP | XFEATURE_SSE));
	EXPECT_EQ(0, memcmp(r + XS_ST0, x87_pi, 10));
	EXPECT_EQ(0, memcmp(r + XS_XMM0, xmm_in, sizeof(xmm_in)));
}

/*
 * Reset (SDM vol. 1, 8.1.5 / 10.2.3 and the FNINIT state): FCW 0x37f,
 * MXCSR 0x1f80. KVM_GET_FPU leaves mxcsr zero: KVM's answer, it does not
 * copy that field; KVM_GET_XSAVE has the real one.
 */
TEST(fpu_reset_values)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	static const uint8_t zero[16];
	struct kvm_fpu fpu;
	int i;

	memset(&fpu, 0xaa, sizeof(fpu));
	kvm_ioctl(vcpu->fd, KVM_GET_FPU, &fpu);
	EXPECT_EQ(FCW_RESET, fpu.fcw);
	EXPECT_EQ(0, fpu.fsw);
	EXPECT_EQ(0, fpu.ftwx);
	EXPECT_EQ(0, fpu.mxcsr);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, memcmp(fpu.xmm[i], zero, 16));
	kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, xs);
	EXPECT_EQ(FCW_RESET, xs_fcw(xs));
	EXPECT_EQ(MXCSR_RESET, xs_mxcsr(xs));
	/* The standard format (SDM 13.4.2): no compaction. */
	EXPECT_EQ(0, xs_u64(xs, XS_XCOMP_BV));
	free(xs);
	kvm_vm_free(vm);
}

TEST(fpu_round_trip)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_fpu set, got;

	memset(&set, 0, sizeof(set));
	set.fcw = FCW_TEST;
	set.fsw = 7 << 11;
	set.ftwx = 0x80;
	set.mxcsr = MXCSR_TEST;
	memcpy(set.fpr[0], x87_two, 10);
	memset(set.xmm, 0x3c, sizeof(set.xmm));
	kvm_ioctl(vcpu->fd, KVM_SET_FPU, &set);
	kvm_ioctl(vcpu->fd, KVM_GET_FPU, &got);
	EXPECT_EQ(set.fcw, got.fcw);
	EXPECT_EQ(set.fsw, got.fsw);
	EXPECT_EQ(set.ftwx, got.ftwx);
	EXPECT_EQ(0, got.mxcsr);	/* KVM's answer, as above */
	EXPECT_EQ(0, memcmp(set.fpr, got.fpr, sizeof(set.fpr)));
	EXPECT_EQ(0, memcmp(set.xmm, got.xmm, sizeof(set.xmm)));
	kvm_vm_free(vm);
}

/*
 * What the guest loads is in KVM_GET_FPU and KVM_GET_XSAVE at each of
 * three exits, though the host uses its own vector registers in between,
 * and still in the guest's registers at the end.
 */
TEST(guest_state_seen_and_kept_across_exits)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_fpu_write);
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	static char scratch[2][1 << 16];
	struct kvm_fpu fpu;
	struct ucall uc;
	int n, i;

	fill_patterns(vm, 0x11);
	for (n = 0; n < 3; n++) {
		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, KVM_EXIT_IO);
		ASSERT_EQ(TEST_PORT, vcpu->run->io.port);
		kvm_ioctl(vcpu->fd, KVM_GET_FPU, &fpu);
		expect_guest_fpu(_metadata, &fpu);
		kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, xs);
		expect_guest_xsave(_metadata, xs);
		/* libc's memcpy/memset use the host's vector registers. */
		memset(scratch[0], n + 1, sizeof(scratch[0]));
		memcpy(scratch[1], scratch[0], sizeof(scratch[1]));
	}
	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, xmm_out);
	vm_sync_global_from_guest(vm, x87_out);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, memcmp(xmm_out[i], xmm_in[i], 16))
			TH_LOG("xmm%d", i);
	EXPECT_EQ(FCW_TEST, x87_out.fcw);
	EXPECT_EQ(MXCSR_TEST, x87_out.mxcsr);
	EXPECT_EQ(6 << 11, x87_out.fsw);
	EXPECT_EQ(0, memcmp(x87_out.st0, x87_pi, 10));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	free(xs);
	kvm_vm_free(vm);
}

/*
 * KVM_SET_FPU at an exit of a guest that uses x87 and SSE: the guest
 * continues with the host's registers, but for MXCSR: KVM's answer,
 * KVM_SET_FPU ignores that field as KVM_GET_FPU leaves it out.
 */
TEST(host_set_fpu_seen_by_guest)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_fpu_write);
	struct kvm_fpu fpu;
	struct ucall uc;
	int n, i;

	fill_patterns(vm, 0x42);
	for (n = 0; n < 3; n++) {
		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	}
	kvm_ioctl(vcpu->fd, KVM_GET_FPU, &fpu);
	fpu.fcw = FCW_RESET;
	memcpy(fpu.fpr[0], x87_two, 10);
	fpu.mxcsr = MXCSR_RESET | (1 << 13);	/* RC = round down */
	for (i = 0; i < 16; i++)
		memset(fpu.xmm[i], 0xc0 + i, 16);
	kvm_ioctl(vcpu->fd, KVM_SET_FPU, &fpu);

	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, xmm_out);
	vm_sync_global_from_guest(vm, x87_out);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, memcmp(xmm_out[i], fpu.xmm[i], 16))
			TH_LOG("xmm%d", i);
	EXPECT_EQ(FCW_RESET, x87_out.fcw);
	EXPECT_EQ(6 << 11, x87_out.fsw);
	EXPECT_EQ(MXCSR_TEST, x87_out.mxcsr);
	EXPECT_EQ(0, memcmp(x87_out.st0, x87_two, 10));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * KVM's answer: KVM_SET_FPU writes the legacy area but not XSTATE_BV,
 * so before the guest has used x87/SSE (both still in their initial
 * state, XSTATE_BV bits 0 and 1 clear) what it sets is not what XRSTOR
 * loads (SDM 13.8.1): the guest, and KVM_GET_XSAVE, see the init state.
 * KVM_GET_FPU reads the legacy area back as written. KVM_SET_XSAVE is
 * the way to set that state (host_ymm_seen_by_guest). A host without
 * XSAVE keeps the guest's FPU in FXSAVE form, which has no XSTATE_BV:
 * there the guest sees what was set.
 */
TEST(set_fpu_before_first_use_is_not_loaded)
{
	bool xsave = okvm_host_has_xsave();
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_fpu_read);
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	static const uint8_t zero[16][16];
	struct kvm_fpu fpu;
	struct ucall uc;

	fill_patterns(vm, 0x42);
	kvm_ioctl(vcpu->fd, KVM_GET_FPU, &fpu);
	fpu.fcw = FCW_TEST;
	fpu.fsw = 7 << 11;
	fpu.ftwx = 0x80;
	memcpy(fpu.fpr[0], x87_two, 10);
	fpu.mxcsr = MXCSR_TEST;
	memcpy(fpu.xmm, xmm_in, sizeof(fpu.xmm));
	kvm_ioctl(vcpu->fd, KVM_SET_FPU, &fpu);
	kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, xs);
	EXPECT_EQ(xsave ? FCW_RESET : FCW_TEST, xs_fcw(xs));
	kvm_ioctl(vcpu->fd, KVM_GET_FPU, &fpu);
	EXPECT_EQ(FCW_TEST, fpu.fcw);

	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, xmm_out);
	vm_sync_global_from_guest(vm, x87_out);
	if (xsave) {
		EXPECT_EQ(0, memcmp(xmm_out, zero, sizeof(zero)));
		EXPECT_EQ(FCW_RESET, x87_out.fcw);
		EXPECT_EQ(0, x87_out.fsw);
	} else {
		EXPECT_EQ(0, memcmp(xmm_out, xmm_in, sizeof(xmm_in)));
		EXPECT_EQ(FCW_TEST, x87_out.fcw);
		EXPECT_EQ(7 << 11, x87_out.fsw);
	}
	/* Both ways, as in KVM (kvm-intel without XSAVE too): MXCSR is not. */
	EXPECT_EQ(MXCSR_RESET, x87_out.mxcsr);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	free(xs);
	kvm_vm_free(vm);
}

/* --- XCRs ------------------------------------------------------------- */

/* One XCR, XCR0, and at reset only x87 state is enabled (SDM 13.3). */
TEST(xcrs_reset_values)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_xcrs xcrs;

	memset(&xcrs, 0xaa, sizeof(xcrs));
	kvm_ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs);
	if (!okvm_host_has_xsave()) {
		/* KVM's answer without XSAVE: no XCR at all. */
		EXPECT_EQ(0, xcrs.nr_xcrs);
		kvm_vm_free(vm);
		return;
	}
	EXPECT_EQ(1, xcrs.nr_xcrs);
	EXPECT_EQ(0, xcrs.flags);
	EXPECT_EQ(0, xcrs.xcrs[0].xcr);
	EXPECT_EQ(XFEATURE_FP, xcrs.xcrs[0].value);
	kvm_vm_free(vm);
}

static long set_xcr0(struct kvm_vcpu *vcpu, uint64_t value)
{
	struct kvm_xcrs xcrs;

	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = value;
	return okvm_ioctl(vcpu->fd, KVM_SET_XCRS, (uintptr_t)&xcrs);
}

static uint64_t get_xcr0(struct kvm_vcpu *vcpu)
{
	struct kvm_xcrs xcrs;

	kvm_ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs);
	return xcrs.xcrs[0].value;
}

/*
 * XSETBV's rules (SDM vol. 2, XSETBV; 13.3): x87 always on, AVX only
 * with SSE, nothing the guest's CPUID does not offer. Before
 * KVM_SET_CPUID2 the guest offers only x87.
 */
TEST(set_xcrs_checks_xcr0)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_cpuid2 *cpuid;
	struct kvm_xcrs xcrs;

	if (!okvm_host_has_xsave()) {
		/* KVM's answer without XSAVE: every KVM_SET_XCRS is EINVAL. */
		EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XFEATURE_FP));
		kvm_vm_free(vm);
		return;
	}
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XFEATURE_FP | XFEATURE_SSE));
	EXPECT_EQ(XFEATURE_FP, get_xcr0(vcpu));

	cpuid = kvm_get_supported_cpuid(vm);
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, 0));
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XFEATURE_SSE));
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XFEATURE_FP | XFEATURE_YMM));
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XFEATURE_FP | (1ULL << 63)));
	EXPECT_EQ(XFEATURE_FP, get_xcr0(vcpu));
	EXPECT_EQ(0, set_xcr0(vcpu, XFEATURE_FP | XFEATURE_SSE |
				    XFEATURE_YMM));
	EXPECT_EQ(XFEATURE_FP | XFEATURE_SSE | XFEATURE_YMM, get_xcr0(vcpu));

	/* flags must be zero; nr_xcrs at most KVM_MAX_XCRS (16). */
	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].value = XFEATURE_FP;
	xcrs.flags = 1;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_XCRS,
				      (uintptr_t)&xcrs));
	xcrs.flags = 0;
	xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_XCRS,
				      (uintptr_t)&xcrs));
	/* KVM's answer: an XCR other than XCR0 is skipped, not refused. */
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 1;
	xcrs.xcrs[0].value = 0x12345;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_XCRS, (uintptr_t)&xcrs));
	/* nr_xcrs 0: nothing to do. */
	xcrs.nr_xcrs = 0;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_XCRS, (uintptr_t)&xcrs));
	EXPECT_EQ(XFEATURE_FP | XFEATURE_SSE | XFEATURE_YMM, get_xcr0(vcpu));
	kvm_vm_free(vm);
}

/*
 * The pairing rules of SDM 13.3, which a VMM's CPUID cannot lift: MPX's
 * two components, AVX-512's three (and only with AVX), AMX's two, each
 * all set or all clear. The guest's leaf 0xd here offers every component
 * one at a time, so a hypervisor that checked only "offered" would take
 * a partial group and fault in its own XSETBV at the next entry on a host
 * that has the group (on one that lacks it, "not offered" refuses first).
 */
TEST(set_xcrs_partial_groups)
{
	static const uint64_t partial[] = {
		1ULL << 3, 1ULL << 4,			/* BNDREGS, BNDCSR */
		1ULL << 5, 1ULL << 6, 1ULL << 7,	/* AVX-512 alone */
		(1ULL << 5) | (1ULL << 6),
		(1ULL << 5) | (1ULL << 7),
		(1ULL << 6) | (1ULL << 7),
		1ULL << 17, 1ULL << 18,			/* AMX */
	};
	uint64_t base = XFEATURE_FP | XFEATURE_SSE | XFEATURE_YMM;
	struct kvm_cpuid_entry2 *leaf_d;
	struct kvm_cpuid2 *cpuid;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	unsigned int i;

	if (!okvm_host_has_xsave()) {
		kvm_vm_free(vm);
		SKIP(return, "no XSAVE on this host");
	}
	cpuid = kvm_get_supported_cpuid(vm);
	leaf_d = kvm_cpuid_entry(cpuid, 0xd, 0);
	ASSERT_NE(NULL, leaf_d);
	/*
	 * Offer the components of the table, whatever the host has, but
	 * XTILEDATA: KVM refuses a CPUID offering that dynamic component
	 * unless the process asked for it (arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM)).
	 */
	leaf_d->eax |= (1U << 3) | (1U << 4) | (1U << 5) | (1U << 6) |
		       (1U << 7) | (1U << 17);
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);

	for (i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		EXPECT_EQ(-EINVAL, set_xcr0(vcpu, base | partial[i])) {
			TH_LOG("XCR0 %#llx accepted",
			       (unsigned long long)(base | partial[i]));
		}
	}
	/* AVX-512 complete but without AVX. */
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XFEATURE_FP | XFEATURE_SSE |
					  (7ULL << 5)));
	EXPECT_EQ(XFEATURE_FP, get_xcr0(vcpu));
	kvm_vm_free(vm);
}

/* --- XSAVE ------------------------------------------------------------ */

/* Where YMM_Hi128 goes in the standard format: CPUID 0xd.2 EBX. */
static uint32_t ymm_offset(struct kvm_vm *vm)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	uint32_t off = kvm_cpuid_entry(cpuid, 0xd, 2)->ebx;

	free(cpuid);
	return off;
}

/* Turn AVX state on from the host: CR4.OSXSAVE and XCR0 = 7. */
static void vcpu_enable_avx(struct __test_metadata *_metadata,
			    struct kvm_vcpu *vcpu)
{
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr4 |= CR4_OSXSAVE;
	vcpu_sregs_set(vcpu, &sregs);
	ASSERT_EQ(0, set_xcr0(vcpu, XFEATURE_FP | XFEATURE_SSE |
				    XFEATURE_YMM));
}

/*
 * KVM_GET_XSAVE holds the upper halves of the guest's YMM0-15 with
 * XSTATE_BV bit 2 set, at both exits; the guest still has them
 * afterwards.
 */
TEST(guest_ymm_seen_by_host)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_ymm_write);
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	struct kvm_sregs sregs;
	struct ucall uc;
	uint32_t hi;
	int n, i;

	if (!okvm_host_has_xsave()) {
		free(xs);
		kvm_vm_free(vm);
		SKIP(return, "the host has no XSAVE");
	}
	hi = ymm_offset(vm);

	ASSERT_EQ(576, hi);	/* the architectural offset (SDM 13.4.3) */
	fill_patterns(vm, 0x5e);
	vcpu_enable_avx(_metadata, vcpu);
	for (n = 0; n < 2; n++) {
		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, KVM_EXIT_IO);
		EXPECT_EQ(XFEATURE_FP | XFEATURE_SSE | XFEATURE_YMM,
			  get_xcr0(vcpu));
		vcpu_sregs_get(vcpu, &sregs);
		EXPECT_TRUE(sregs.cr4 & CR4_OSXSAVE);
		kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, xs);
		EXPECT_TRUE(xs_u64(xs, XS_XSTATE_BV) & XFEATURE_YMM);
		for (i = 0; i < 16; i++) {
			const char *r = (const char *)xs->region;

			EXPECT_EQ(0, memcmp(r + XS_XMM0 + 16 * i,
					    ymm_in[i], 16))
				TH_LOG("xmm%d", i);
			EXPECT_EQ(0, memcmp(r + hi + 16 * i,
					    ymm_in[i] + 16, 16))
				TH_LOG("ymm%d upper half", i);
		}
	}
	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, ymm_out);
	EXPECT_EQ(0, memcmp(ymm_out, ymm_in, sizeof(ymm_in)));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	free(xs);
	kvm_vm_free(vm);
}

/* The reverse: the host sets XCR0, CR4.OSXSAVE and the YMM registers. */
TEST(host_ymm_seen_by_guest)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_ymm_read);
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	struct ucall uc;
	char *r = (char *)xs->region;
	uint64_t xcr0;
	uint32_t hi;
	int i;

	if (!okvm_host_has_xsave()) {
		free(xs);
		kvm_vm_free(vm);
		SKIP(return, "the host has no XSAVE");
	}
	hi = ymm_offset(vm);

	fill_patterns(vm, 0x99);
	vcpu_enable_avx(_metadata, vcpu);

	kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, xs);
	for (i = 0; i < 16; i++) {
		memcpy(r + XS_XMM0 + 16 * i, ymm_in[i], 16);
		memcpy(r + hi + 16 * i, ymm_in[i] + 16, 16);
	}
	xs_set_u64(xs, XS_XSTATE_BV, XFEATURE_FP | XFEATURE_SSE |
				     XFEATURE_YMM);
	kvm_ioctl(vcpu->fd, KVM_SET_XSAVE, xs);

	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, ymm_out);
	vm_sync_global_from_guest(vm, xcr0_seen);
	xcr0 = XFEATURE_FP | XFEATURE_SSE | XFEATURE_YMM;
	EXPECT_EQ(xcr0, xcr0_seen);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, memcmp(ymm_out[i], ymm_in[i], 32))
			TH_LOG("ymm%d", i);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	free(xs);
	kvm_vm_free(vm);
}

/*
 * XSTATE_BV clear for a component means its initial state (SDM 13.8.1),
 * whatever bytes the area holds for it.
 */
TEST(xstate_bv_clear_means_init)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	char *r = (char *)xs->region;
	static const uint8_t zero[16 * 16];
	struct kvm_fpu fpu;
	uint16_t fcw = FCW_TEST;

	if (!okvm_host_has_xsave()) {
		free(xs);
		kvm_vm_free(vm);
		SKIP(return, "the host has no XSAVE");
	}

	kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, xs);
	memcpy(r + XS_FCW, &fcw, 2);
	memset(r + XS_XMM0, 0x6b, 16 * 16);
	xs_set_u64(xs, XS_XSTATE_BV, 0);
	kvm_ioctl(vcpu->fd, KVM_SET_XSAVE, xs);
	kvm_ioctl(vcpu->fd, KVM_GET_FPU, &fpu);
	EXPECT_EQ(FCW_RESET, fpu.fcw);
	EXPECT_EQ(0, memcmp(fpu.xmm, zero, sizeof(zero)));
	free(xs);
	kvm_vm_free(vm);
}

/* The header checks of the kernel's XRSTOR-from-user path: EINVAL. */
TEST(set_xsave_bad_header_is_einval)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_xsave *good = calloc(1, sizeof(*good));
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	uint32_t mxcsr = 1U << 31;

	if (!okvm_host_has_xsave()) {
		free(good);
		free(xs);
		kvm_vm_free(vm);
		SKIP(return, "the host has no XSAVE");
	}

	kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, good);
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_XSAVE, (uintptr_t)good));

	/* A component no CPU has (bit 63 is XCR0's reserved top bit). */
	*xs = *good;
	xs_set_u64(xs, XS_XSTATE_BV, XFEATURE_FP | 1ULL << 63);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_XSAVE,
				      (uintptr_t)xs));
	/* XCOMP_BV: the compacted format is not an ABI format. */
	*xs = *good;
	xs_set_u64(xs, XS_XCOMP_BV, 1ULL << 63 | XFEATURE_FP);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_XSAVE,
				      (uintptr_t)xs));
	/* Header bytes 16..63 are reserved, must be zero (SDM 13.4.2). */
	*xs = *good;
	xs_set_u64(xs, XS_HDR_RESERVED + 8, 1);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_XSAVE,
				      (uintptr_t)xs));
	/* MXCSR bits outside MXCSR_MASK would fault XRSTOR (SDM 10.5.1.2). */
	*xs = *good;
	xs_set_u64(xs, XS_XSTATE_BV, XFEATURE_FP | XFEATURE_SSE);
	memcpy((char *)xs->region + XS_MXCSR, &mxcsr, 4);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_XSAVE,
				      (uintptr_t)xs));
	free(xs);
	free(good);
	kvm_vm_free(vm);
}

/*
 * KVM_CAP_XSAVE2 (api.rst "KVM_GET_XSAVE2"): on the VM fd, the size of
 * the buffer KVM_GET_XSAVE2 fills, at least struct kvm_xsave; its first
 * 4 KiB are KVM_GET_XSAVE's.
 */
TEST(xsave2_matches_xsave)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	long size = okvm_ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	char *xs2;

	if (!okvm_host_has_xsave()) {
		free(xs);
		kvm_vm_free(vm);
		SKIP(return, "the host has no XSAVE");
	}

	ASSERT_LE((long)sizeof(struct kvm_xsave), size);
	xs2 = calloc(1, size);
	ASSERT_NE(NULL, xs2);
	kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, xs);
	kvm_ioctl(vcpu->fd, KVM_GET_XSAVE2, xs2);
	EXPECT_EQ(0, memcmp(xs, xs2, sizeof(*xs)));
	free(xs2);
	free(xs);
	kvm_vm_free(vm);
}

/* --- error paths common to the five ioctls ----------------------------- */

struct state_ioctl {
	const char *name;
	unsigned long req;
	size_t size;
};

static const struct state_ioctl fpu_ioctls[] = {
	{ "KVM_GET_FPU", KVM_GET_FPU, sizeof(struct kvm_fpu) },
	{ "KVM_SET_FPU", KVM_SET_FPU, sizeof(struct kvm_fpu) },
	{ "KVM_GET_XSAVE", KVM_GET_XSAVE, sizeof(struct kvm_xsave) },
	{ "KVM_SET_XSAVE", KVM_SET_XSAVE, sizeof(struct kvm_xsave) },
	{ "KVM_GET_XCRS", KVM_GET_XCRS, sizeof(struct kvm_xcrs) },
	{ "KVM_SET_XCRS", KVM_SET_XCRS, sizeof(struct kvm_xcrs) },
};

TEST(bad_pointer_wrong_size_closed_fd)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	char *buf = calloc(1, 2 * sizeof(struct kvm_xsave));
	int fd, i;

	ASSERT_NE(NULL, buf);
	fd = dup(vcpu->fd);
	ASSERT_LE(0, fd);
	close(fd);
	for (i = 0; i < (int)(sizeof(fpu_ioctls) / sizeof(fpu_ioctls[0]));
	     i++) {
		const struct state_ioctl *s = &fpu_ioctls[i];
		void *none = straddling_buffer(s->size, s->size);

		ASSERT_NE(NULL, none);
		EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, s->req, 0))
			TH_LOG("%s NULL", s->name);
		EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, s->req,
					      (uintptr_t)none))
			TH_LOG("%s unmapped", s->name);
		EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd,
					      ioc_resize(s->req, s->size - 8),
					      (uintptr_t)buf))
			TH_LOG("%s size - 8", s->name);
		EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, s->req, (uintptr_t)buf))
			TH_LOG("%s on the VM fd", s->name);
		EXPECT_EQ(-EBADF, okvm_ioctl(fd, s->req, (uintptr_t)buf))
			TH_LOG("%s on a closed fd", s->name);
	}
	free(buf);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
