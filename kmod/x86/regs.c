// SPDX-License-Identifier: GPL-2.0-only
/*
 * regs.c - the vCPU state ioctls: general registers, segment and control
 * registers, the FPU and XSAVE state, XCR0, the multiprocessing state and
 * pending events, each with KVM's structures and KVM's checks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/processor-flags.h>

#include "lapic.h"
#include "ops.h"
#include "x86.h"
#include "xcr0.h"

/*
 * CR8 without a local APIC, as KVM has it: KVM_SET_SREGS sets the value
 * the VMM reads back but not the TPR the guest reads (the VMCB's V_TPR),
 * while a guest write of CR8 does become the VMM's value. okvm does not
 * intercept CR8 writes, so it notices them as a change of the hardware
 * TPR since the last look.
 */
unsigned long okvm_sync_cr8(struct okvm_vcpu *vcpu)
{
	unsigned long tpr;

	/* With a local APIC, CR8 is its TPR's bits 7:4 (lapic.c). */
	if (vcpu->lapic)
		return okvm_lapic_get_cr8(vcpu);
	tpr = okvm_x86->get_cr(vcpu, 8);
	if (tpr != vcpu->seen_tpr) {
		vcpu->seen_tpr = tpr;
		vcpu->cr8 = tpr;
	}
	return vcpu->cr8;
}

/*
 * KVM_CAP_XSAVE2's answer and KVM_GET_XSAVE2's size: the XSAVE image of
 * every component okvm supports, and never less than struct kvm_xsave.
 */
unsigned int okvm_xsave2_size(void)
{
	return max_t(unsigned int, sizeof(struct kvm_xsave),
		     okvm_xsave_size(okvm_supported_xcr0));
}

/* The current privilege level: SS.DPL, where KVM's ABI reports it. */
unsigned int okvm_vcpu_cpl(struct okvm_vcpu *vcpu)
{
	struct kvm_segment ss;

	okvm_x86->get_segment(vcpu, &ss, OKVM_SEG_SS);
	return ss.dpl;
}

enum okvm_cpu_mode okvm_vcpu_cpu_mode(struct okvm_vcpu *vcpu)
{
	struct kvm_segment cs;

	okvm_x86->get_segment(vcpu, &cs, OKVM_SEG_CS);
	return okvm_cpu_mode(okvm_x86->get_cr(vcpu, 0) & X86_CR0_PE,
			     vcpu->rflags & X86_EFLAGS_VM,
			     okvm_x86->get_efer(vcpu) & EFER_LMA, cs.l, cs.db);
}

void okvm_get_regs(struct okvm_vcpu *vcpu, struct kvm_regs *r)
{
	const unsigned long *g = vcpu->regs;

	*r = (struct kvm_regs) {
		.rax = g[OKVM_RAX], .rbx = g[OKVM_RBX], .rcx = g[OKVM_RCX],
		.rdx = g[OKVM_RDX], .rsi = g[OKVM_RSI], .rdi = g[OKVM_RDI],
		.rsp = g[OKVM_RSP], .rbp = g[OKVM_RBP],
		.r8 = g[OKVM_R8], .r9 = g[OKVM_R9], .r10 = g[OKVM_R10],
		.r11 = g[OKVM_R11], .r12 = g[OKVM_R12], .r13 = g[OKVM_R13],
		.r14 = g[OKVM_R14], .r15 = g[OKVM_R15],
		.rip = vcpu->rip, .rflags = okvm_get_rflags(vcpu),
	};
}

void okvm_set_regs(struct okvm_vcpu *vcpu, const struct kvm_regs *r)
{
	unsigned long *g = vcpu->regs;

	g[OKVM_RAX] = r->rax;
	g[OKVM_RBX] = r->rbx;
	g[OKVM_RCX] = r->rcx;
	g[OKVM_RDX] = r->rdx;
	g[OKVM_RSI] = r->rsi;
	g[OKVM_RDI] = r->rdi;
	g[OKVM_RSP] = r->rsp;
	g[OKVM_RBP] = r->rbp;
	g[OKVM_R8] = r->r8;
	g[OKVM_R9] = r->r9;
	g[OKVM_R10] = r->r10;
	g[OKVM_R11] = r->r11;
	g[OKVM_R12] = r->r12;
	g[OKVM_R13] = r->r13;
	g[OKVM_R14] = r->r14;
	g[OKVM_R15] = r->r15;
	vcpu->rip = r->rip;
	/*
	 * Bit 1 always reads as 1 (SDM Vol. 1 3.4.3), as KVM forces it; a
	 * debugger's TF stays while RIP does (guest_debug.c).
	 */
	okvm_set_rflags(vcpu, r->rflags | X86_EFLAGS_FIXED);
}

void okvm_get_sregs(struct okvm_vcpu *vcpu, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	okvm_x86->get_segment(vcpu, &s->cs, OKVM_SEG_CS);
	okvm_x86->get_segment(vcpu, &s->ds, OKVM_SEG_DS);
	okvm_x86->get_segment(vcpu, &s->es, OKVM_SEG_ES);
	okvm_x86->get_segment(vcpu, &s->fs, OKVM_SEG_FS);
	okvm_x86->get_segment(vcpu, &s->gs, OKVM_SEG_GS);
	okvm_x86->get_segment(vcpu, &s->ss, OKVM_SEG_SS);
	okvm_x86->get_segment(vcpu, &s->tr, OKVM_SEG_TR);
	okvm_x86->get_segment(vcpu, &s->ldt, OKVM_SEG_LDTR);
	okvm_x86->get_dtable(vcpu, &s->gdt, false);
	okvm_x86->get_dtable(vcpu, &s->idt, true);
	s->cr0 = okvm_x86->get_cr(vcpu, 0);
	s->cr2 = okvm_x86->get_cr(vcpu, 2);
	s->cr3 = okvm_x86->get_cr(vcpu, 3);
	s->cr4 = okvm_x86->get_cr(vcpu, 4);
	s->cr8 = okvm_sync_cr8(vcpu);
	if (vcpu->interrupt.injected)
		__set_bit(vcpu->interrupt.vector,
			  (unsigned long *)s->interrupt_bitmap);
	s->efer = okvm_x86->get_efer(vcpu);
	s->apic_base = vcpu->apic_base;
}

/*
 * A feature-gated CR4 bit: the host has the feature and the guest's CPUID
 * offers it. Before the VMM gave any CPUID, KVM 6.1 checks the host side
 * only (its vCPU's CPUID-based reserved bits start out empty), so a VMM
 * may restore CR4 before CPUID; okvm does the same.
 */
static bool okvm_cr4_feature(struct okvm_vcpu *vcpu, u32 function, int reg,
			     int bit, unsigned int host_feature)
{
	if (!boot_cpu_has(host_feature))
		return false;
	return !vcpu->cpuid_set || okvm_guest_has(vcpu, function, reg, bit);
}

/*
 * CR4 bits the guest may have (KVM's reserved-bit rules): the ones every
 * x86-64 CPU implements, and each feature-gated bit only when the guest's
 * CPUID offers the feature and the host CPU implements it (SDM Vol. 3
 * 2.5; VMRUN and VM entry refuse, or worse let through, a bit the CPU
 * lacks). CR4.MCE is always allowed, as KVM allows it. VMXE and SMXE
 * never: okvm offers neither VMX nor SMX. Both KVM_SET_SREGS and the
 * guest's MOV to CR4 (intercepted on both vendors) pass through here, so
 * KVM_GET_SREGS can never return a CR4 that KVM_SET_SREGS refuses.
 */
bool okvm_cr4_valid(struct okvm_vcpu *vcpu, unsigned long cr4)
{
	unsigned long ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD |
			   X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE |
			   X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE |
			   X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

	if (okvm_cr4_feature(vcpu, 1, CPUID_ECX, 26, X86_FEATURE_XSAVE))
		ok |= X86_CR4_OSXSAVE;
	if (okvm_cr4_feature(vcpu, 1, CPUID_ECX, 17, X86_FEATURE_PCID))
		ok |= X86_CR4_PCIDE;
	if (okvm_cr4_feature(vcpu, 7, CPUID_EBX, 0, X86_FEATURE_FSGSBASE))
		ok |= X86_CR4_FSGSBASE;
	if (okvm_cr4_feature(vcpu, 7, CPUID_EBX, 7, X86_FEATURE_SMEP))
		ok |= X86_CR4_SMEP;
	if (okvm_cr4_feature(vcpu, 7, CPUID_EBX, 20, X86_FEATURE_SMAP))
		ok |= X86_CR4_SMAP;
	if (okvm_cr4_feature(vcpu, 7, CPUID_ECX, 2, X86_FEATURE_UMIP))
		ok |= X86_CR4_UMIP;
	if (okvm_cr4_feature(vcpu, 7, CPUID_ECX, 3, X86_FEATURE_PKU))
		ok |= X86_CR4_PKE;
	if (okvm_cr4_feature(vcpu, 7, CPUID_ECX, 16, X86_FEATURE_LA57))
		ok |= X86_CR4_LA57;
	return !(cr4 & ~ok);
}

/*
 * The guest's MOV to CR4, which both vendors intercept (SVM: every write;
 * VMX: writes that change a bit the guest does not own). #GP(0), as the
 * instruction's reference page lists (SDM Vol. 2B MOV-Move to/from
 * Control Registers; Vol. 3A 4.10.1 for PCIDE): a reserved or unoffered
 * bit, PAE cleared or LA57 changed in IA-32e mode, PCIDE set outside
 * IA-32e mode or with CR3[11:0] nonzero. Otherwise the write is made and
 * the guest's TLB flushed (changing PGE, PSE, PAE, PCIDE, SMEP or LA57
 * invalidates translations, SDM Vol. 3A 4.10.4.1). Returns 0 when the
 * write was made, -EINVAL when the caller must raise #GP(0) instead.
 */
int okvm_emulate_mov_to_cr4(struct okvm_vcpu *vcpu, unsigned long val)
{
	unsigned long old = okvm_x86->get_cr(vcpu, 4);
	bool lma = okvm_x86->get_efer(vcpu) & EFER_LMA;

	if (!okvm_cr4_valid(vcpu, val) ||
	    (lma && !(val & X86_CR4_PAE)) ||
	    (lma && ((val ^ old) & X86_CR4_LA57)) ||
	    ((val & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
	     (!lma || (okvm_x86->get_cr(vcpu, 3) & 0xfff))))
		return -EINVAL;
	okvm_x86->set_cr(vcpu, 4, val);
	vcpu->tlb_flush = true;
	return 0;
}

/*
 * The guest's MOV to CR8, which both vendors intercept (SVM: the CR8
 * write intercept; VMX: "CR8-load exiting"). CR8 bits 63:4 are reserved:
 * #GP(0) (SDM Vol. 3A 2.5, "CR8"). Without a local APIC, as KVM does,
 * lowering the TPR ends KVM_RUN with KVM_EXIT_SET_TPR once the
 * instruction completed, so that the VMM can deliver what the old
 * priority held back; raising it, or keeping it, does not exit.
 * Returns 1 to run on, 0 for that exit (the caller skips the instruction
 * in both cases), or -EINVAL when the caller must raise #GP(0).
 */
int okvm_emulate_mov_to_cr8(struct okvm_vcpu *vcpu, u64 val)
{
	unsigned long old = okvm_sync_cr8(vcpu);

	if (val & ~0xfULL)
		return -EINVAL;
	/* The local APIC re-evaluates what it holds back at the next entry. */
	if (vcpu->lapic) {
		okvm_lapic_set_cr8(vcpu, val);
		return 1;
	}
	okvm_x86->set_cr(vcpu, 8, val);
	okvm_sync_cr8(vcpu);
	if (val >= old)
		return 1;
	vcpu->run->exit_reason = KVM_EXIT_SET_TPR;
	return 0;
}

/* SDM Vol. 3 2.5: CR0[63:32] are reserved, NW needs CD, PG needs PE. */
static bool okvm_cr0_valid(unsigned long cr0)
{
	if (cr0 >> 32)
		return false;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return false;
	return !((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE));
}

/*
 * With a local APIC, IA32_APIC_BASE may also have EXTD (x2APIC mode) when
 * the guest's CPUID offers x2APIC, together with EN (lapic.c).
 */
static bool okvm_apic_base_x2apic_valid(struct okvm_vcpu *vcpu, u64 base)
{
	u64 en_extd = BIT_ULL(10) | BIT_ULL(11);

	return vcpu->lapic && okvm_guest_has(vcpu, 1, CPUID_ECX, 21) &&
	       (base & en_extd) == en_extd &&
	       !(base & ~(BIT_ULL(8) | en_extd | GENMASK_ULL(51, 12)));
}

/*
 * The checks KVM_SET_SREGS makes before touching anything; RSM makes
 * them on the state it restores (smm.c).
 */
bool okvm_sregs_valid(struct okvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		if (s->cr3 >> 52)
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	/* Reserved EFER bits: EINVAL, as KVM since 6.11 (6.1 left it to VMRUN). */
	if (s->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX))
		return false;
	if (s->apic_base & ~(BIT_ULL(8) | BIT_ULL(11) | GENMASK_ULL(51, 12)) &&
	    !okvm_apic_base_x2apic_valid(vcpu, s->apic_base))
		return false;
	return okvm_cr0_valid(s->cr0) && okvm_cr4_valid(vcpu, s->cr4);
}

/*
 * Segments, descriptor tables, CR0-CR4 and EFER from @s, which the caller
 * checked (okvm_sregs_valid()): KVM_SET_SREGS, SMM entry and RSM (smm.c).
 */
void okvm_load_sregs(struct okvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	okvm_x86->set_segment(vcpu, &s->cs, OKVM_SEG_CS);
	okvm_x86->set_segment(vcpu, &s->ds, OKVM_SEG_DS);
	okvm_x86->set_segment(vcpu, &s->es, OKVM_SEG_ES);
	okvm_x86->set_segment(vcpu, &s->fs, OKVM_SEG_FS);
	okvm_x86->set_segment(vcpu, &s->gs, OKVM_SEG_GS);
	okvm_x86->set_segment(vcpu, &s->ss, OKVM_SEG_SS);
	okvm_x86->set_segment(vcpu, &s->tr, OKVM_SEG_TR);
	okvm_x86->set_segment(vcpu, &s->ldt, OKVM_SEG_LDTR);
	okvm_x86->set_dtable(vcpu, &s->gdt, false);
	okvm_x86->set_dtable(vcpu, &s->idt, true);
	okvm_x86->set_cr(vcpu, 0, s->cr0);
	okvm_x86->set_cr(vcpu, 2, s->cr2);
	okvm_x86->set_cr(vcpu, 3, s->cr3);
	okvm_x86->set_cr(vcpu, 4, s->cr4);
	okvm_x86->set_efer(vcpu, s->efer);
}

int okvm_set_sregs(struct okvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	unsigned long vec;

	if (!okvm_sregs_valid(vcpu, s))
		return -EINVAL;

	okvm_load_sregs(vcpu, s);
	if (vcpu->lapic) {
		okvm_lapic_set_base(vcpu, s->apic_base, true);
		okvm_lapic_set_cr8(vcpu, s->cr8);
	} else {
		okvm_sync_cr8(vcpu);
		vcpu->cr8 = s->cr8 & 0xf;
		vcpu->apic_base = s->apic_base;
	}

	/* KVM queues the first pending interrupt of the bitmap, if any. */
	vec = find_first_bit((const unsigned long *)s->interrupt_bitmap,
			     KVM_NR_INTERRUPTS);
	if (vec < KVM_NR_INTERRUPTS) {
		vcpu->interrupt.injected = true;
		vcpu->interrupt.vector = vec;
	}
	return 0;
}

/* KVM_GET_FPU: the legacy x87/SSE view of the guest's FXSAVE image. */
static void okvm_get_fpu(struct okvm_vcpu *vcpu, struct kvm_fpu *f)
{
	const struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;

	memset(f, 0, sizeof(*f));
	memcpy(f->fpr, fx->st_space, sizeof(f->fpr));
	f->fcw = fx->cwd;
	f->fsw = fx->swd;
	f->ftwx = fx->twd;
	f->last_opcode = fx->fop;
	f->last_ip = fx->rip;
	f->last_dp = fx->rdp;
	memcpy(f->xmm, fx->xmm_space, sizeof(f->xmm));
	/*
	 * KVM's KVM_GET_FPU leaves mxcsr 0 and its KVM_SET_FPU ignores it;
	 * VMMs use KVM_GET/SET_XSAVE for MXCSR, so okvm answers the same.
	 */
}

/*
 * KVM_SET_FPU writes the legacy area only, as KVM's does: MXCSR is left
 * alone (see okvm_get_fpu()), and the XSAVE header is not touched, so a
 * component still in its initial state before the guest first used it
 * (XSTATE_BV bit clear) is restored as initial state, ignoring the new
 * values (SDM Vol. 1 13.8.1). Documentation/api.rst says so too.
 */
static int okvm_set_fpu(struct okvm_vcpu *vcpu, const struct kvm_fpu *f)
{
	struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;

	memcpy(fx->st_space, f->fpr, sizeof(f->fpr));
	fx->cwd = f->fcw;
	fx->swd = f->fsw;
	fx->twd = f->ftwx;
	fx->fop = f->last_opcode;
	fx->rip = f->last_ip;
	fx->rdp = f->last_dp;
	memcpy(fx->xmm_space, f->xmm, sizeof(f->xmm));
	return 0;
}

static void okvm_get_xcrs(struct okvm_vcpu *vcpu, struct kvm_xcrs *x)
{
	memset(x, 0, sizeof(*x));
	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return;
	x->nr_xcrs = 1;
	x->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
	x->xcrs[0].value = vcpu->xcr0;
}

/* KVM_SET_XCRS: XCR0 under the rules of XSETBV (run.c), else EINVAL. */
static int okvm_set_xcrs(struct okvm_vcpu *vcpu, const struct kvm_xcrs *x)
{
	unsigned int i;
	u64 val;

	if (!boot_cpu_has(X86_FEATURE_XSAVE) || x->nr_xcrs > KVM_MAX_XCRS ||
	    x->flags)
		return -EINVAL;
	for (i = 0; i < x->nr_xcrs; i++) {
		if (x->xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		val = x->xcrs[i].value;
		if (!okvm_xcr0_valid(val, vcpu->guest_xcr0_mask))
			return -EINVAL;
		vcpu->xcr0 = val;
		break;
	}
	return 0;
}

static void okvm_get_debugregs(struct okvm_vcpu *vcpu, struct kvm_debugregs *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->db, vcpu->dr, sizeof(d->db));
	d->dr6 = okvm_x86->get_dr(vcpu, 6);
	d->dr7 = okvm_x86->get_dr(vcpu, 7);
}

/* DR6/DR7 bits 63:32 are reserved (SDM Vol. 3 18.2.4-5): EINVAL, as KVM. */
static int okvm_set_debugregs(struct okvm_vcpu *vcpu,
			      const struct kvm_debugregs *d)
{
	if (d->flags || d->dr6 >> 32 || d->dr7 >> 32)
		return -EINVAL;
	memcpy(vcpu->dr, d->db, sizeof(vcpu->dr));
	okvm_x86->set_dr(vcpu, 6, d->dr6);
	okvm_x86->set_dr(vcpu, 7, d->dr7);
	return 0;
}

void okvm_get_vcpu_events(struct okvm_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	/* Without KVM_CAP_EXCEPTION_PAYLOAD a queued exception is "injected". */
	ev->exception.injected = vcpu->exception.pending;
	ev->exception.nr = vcpu->exception.vector;
	ev->exception.has_error_code = vcpu->exception.has_error_code;
	ev->exception.error_code = vcpu->exception.error_code;
	ev->interrupt.injected = vcpu->interrupt.injected;
	ev->interrupt.nr = vcpu->interrupt.vector;
	ev->interrupt.shadow = okvm_x86->get_interrupt_shadow(vcpu);
	ev->nmi.pending = vcpu->nmi_pending;
	ev->nmi.masked = vcpu->nmi_masked;
	ev->sipi_vector = vcpu->sipi_vector;
	okvm_smm_get_events(vcpu, ev);
	ev->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		    KVM_VCPUEVENT_VALID_SMM;
}

int okvm_set_vcpu_events(struct okvm_vcpu *vcpu,
			 const struct kvm_vcpu_events *ev)
{
	/*
	 * Exception payloads and triple-fault events need capabilities okvm
	 * does not offer (KVM refuses the flags until they are enabled).
	 */
	if (ev->flags & ~(KVM_VCPUEVENT_VALID_NMI_PENDING |
			  KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			  KVM_VCPUEVENT_VALID_SHADOW |
			  KVM_VCPUEVENT_VALID_SMM))
		return -EINVAL;
	/* Vector 2 is NMI, not an exception; vectors above 31 are not ones. */
	if ((ev->exception.injected || ev->exception.pending) &&
	    (ev->exception.nr > 31 || ev->exception.nr == 2))
		return -EINVAL;
	if ((ev->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    okvm_smm_check_events(vcpu, ev))
		return -EINVAL;

	vcpu->exception.pending = ev->exception.injected || ev->exception.pending;
	vcpu->exception.vector = ev->exception.nr;
	vcpu->exception.has_error_code = ev->exception.has_error_code;
	vcpu->exception.error_code = ev->exception.error_code;
	vcpu->nmi_masked = ev->nmi.masked;
	/* An NMI in delivery is delivered again: the same as pending here. */
	if (ev->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		vcpu->nmi_pending = ev->nmi.pending;
	if (ev->nmi.injected)
		vcpu->nmi_pending = true;
	if (ev->flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR)
		vcpu->sipi_vector = ev->sipi_vector;
	vcpu->interrupt.injected = ev->interrupt.injected;
	vcpu->interrupt.vector = ev->interrupt.nr;
	if (ev->flags & KVM_VCPUEVENT_VALID_SHADOW)
		okvm_x86->set_interrupt_shadow(vcpu, ev->interrupt.shadow);
	if (ev->flags & KVM_VCPUEVENT_VALID_SMM)
		okvm_smm_set_events(vcpu, ev);
	return 0;
}

/*
 * The register-state ioctls of a vCPU fd. Returns -ENOTTY for a request
 * that is not one of them.
 */
int okvm_vcpu_ioctl_regs(struct okvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp)
{
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_fpu fpu;
		struct kvm_xcrs xcrs;
		struct kvm_mp_state mp;
		struct kvm_vcpu_events ev;
		struct kvm_debugregs dbg;
	} *u;
	struct kvm_xsave *xsave;
	u32 pkru;
	int ret = 0;

	if (ioctl == KVM_GET_XSAVE2) {
		unsigned int size = okvm_xsave2_size();
		void *buf = kzalloc(size, GFP_KERNEL_ACCOUNT);

		if (!buf)
			return -ENOMEM;
		fpu_copy_guest_fpstate_to_uabi(&vcpu->fpu, buf, size,
					       okvm_supported_xcr0, 0);
		if (copy_to_user(argp, buf, size))
			ret = -EFAULT;
		kfree(buf);
		return ret;
	}
	if (ioctl == KVM_GET_XSAVE || ioctl == KVM_SET_XSAVE) {
		if (ioctl == KVM_SET_XSAVE) {
			xsave = memdup_user(argp, sizeof(*xsave));
			if (IS_ERR(xsave))
				return PTR_ERR(xsave);
			ret = fpu_copy_uabi_to_guest_fpstate(&vcpu->fpu,
							     xsave->region,
							     okvm_supported_xcr0,
							     &pkru);
		} else {
			xsave = kzalloc(sizeof(*xsave), GFP_KERNEL_ACCOUNT);
			if (!xsave)
				return -ENOMEM;
			fpu_copy_guest_fpstate_to_uabi(&vcpu->fpu, xsave->region,
						       sizeof(xsave->region),
						       okvm_supported_xcr0, 0);
			if (copy_to_user(argp, xsave, sizeof(*xsave)))
				ret = -EFAULT;
		}
		kfree(xsave);
		return ret;
	}

	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u)
		return -ENOMEM;
	switch (ioctl) {
	case KVM_GET_REGS:
		okvm_get_regs(vcpu, &u->regs);
		if (copy_to_user(argp, &u->regs, sizeof(u->regs)))
			ret = -EFAULT;
		break;
	case KVM_SET_REGS:
		if (copy_from_user(&u->regs, argp, sizeof(u->regs)))
			ret = -EFAULT;
		else
			okvm_set_regs(vcpu, &u->regs);
		break;
	case KVM_GET_SREGS:
		okvm_get_sregs(vcpu, &u->sregs);
		if (copy_to_user(argp, &u->sregs, sizeof(u->sregs)))
			ret = -EFAULT;
		break;
	case KVM_SET_SREGS:
		if (copy_from_user(&u->sregs, argp, sizeof(u->sregs)))
			ret = -EFAULT;
		else
			ret = okvm_set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_FPU:
		okvm_get_fpu(vcpu, &u->fpu);
		if (copy_to_user(argp, &u->fpu, sizeof(u->fpu)))
			ret = -EFAULT;
		break;
	case KVM_SET_FPU:
		if (copy_from_user(&u->fpu, argp, sizeof(u->fpu)))
			ret = -EFAULT;
		else
			ret = okvm_set_fpu(vcpu, &u->fpu);
		break;
	case KVM_GET_XCRS:
		okvm_get_xcrs(vcpu, &u->xcrs);
		if (copy_to_user(argp, &u->xcrs, sizeof(u->xcrs)))
			ret = -EFAULT;
		break;
	case KVM_SET_XCRS:
		if (copy_from_user(&u->xcrs, argp, sizeof(u->xcrs)))
			ret = -EFAULT;
		else
			ret = okvm_set_xcrs(vcpu, &u->xcrs);
		break;
	case KVM_GET_MP_STATE:
		/* No in-kernel irqchip: HLT exits, so a vCPU is never halted. */
		u->mp.mp_state = KVM_MP_STATE_RUNNABLE;
		if (copy_to_user(argp, &u->mp, sizeof(u->mp)))
			ret = -EFAULT;
		break;
	case KVM_SET_MP_STATE:
		if (copy_from_user(&u->mp, argp, sizeof(u->mp)))
			ret = -EFAULT;
		else if (u->mp.mp_state != KVM_MP_STATE_RUNNABLE)
			ret = -EINVAL;	/* as KVM without a local APIC */
		break;
	case KVM_GET_DEBUGREGS:
		okvm_get_debugregs(vcpu, &u->dbg);
		if (copy_to_user(argp, &u->dbg, sizeof(u->dbg)))
			ret = -EFAULT;
		break;
	case KVM_SET_DEBUGREGS:
		if (copy_from_user(&u->dbg, argp, sizeof(u->dbg)))
			ret = -EFAULT;
		else
			ret = okvm_set_debugregs(vcpu, &u->dbg);
		break;
	case KVM_GET_VCPU_EVENTS:
		okvm_get_vcpu_events(vcpu, &u->ev);
		if (copy_to_user(argp, &u->ev, sizeof(u->ev)))
			ret = -EFAULT;
		break;
	case KVM_SET_VCPU_EVENTS:
		if (copy_from_user(&u->ev, argp, sizeof(u->ev)))
			ret = -EFAULT;
		else
			ret = okvm_set_vcpu_events(vcpu, &u->ev);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	kfree(u);
	return ret;
}
