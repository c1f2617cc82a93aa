// SPDX-License-Identifier: GPL-2.0-only
/*
 * smm.c - system-management mode, as KVM offers it to its guests.
 *
 * An SMI (KVM_SMI, KVM_SET_VCPU_EVENTS' smi.pending, or a local APIC
 * message with delivery mode SMI) is taken at the next instruction
 * boundary where no other event is being delivered. Taking it saves the
 * vCPU's state in the state-save area at SMBASE + 0xFE00 and enters SMM:
 * a real-mode-like state at CS = SMBASE, IP = 0x8000, with 4 GiB segment
 * limits, paging off, NMIs blocked (SDM Vol. 3 34.5, 34.8; APM Vol. 2
 * 10.3). RSM reads the area back and returns (SDM 34.12, APM 10.3.4).
 *
 * The save area's layout is KVM's, so that a VMM or firmware written for
 * KVM (SeaBIOS, OVMF) finds what it expects: the AMD64 layout (APM Vol. 2
 * Table 10-2, revision 0x20064) when the guest's CPUID offers long mode,
 * else KVM's 32-bit layout (revision 0x20000), whose general registers,
 * CR0/CR3, EFLAGS, EIP, DR6/DR7 and selectors sit where the SDM's Table
 * 34-1 puts them and whose descriptor caches are KVM's own.
 *
 * While in SMM the vCPU sees guest memory through address space 1
 * (memslots the VMM gives with bit 16 of the slot number set, SMRAM among
 * them), so that SMRAM is reachable only from SMM: okvm_vcpu_as_id() picks
 * the memslots and the second-level root (mmu.c), and each switch asks
 * for a TLB flush. INIT is latched while in SMM and taken after RSM.
 */
#include <linux/string.h>
#include <asm/processor-flags.h>

#include "irq.h"
#include "lapic.h"
#include "ops.h"
#include "x86.h"

/* The SMBASE after RESET (SDM Vol. 3 34.11, APM Vol. 2 10.2.1). */
#define OKVM_SMBASE_RESET	0x30000
/* The handler's entry point, SMBASE + 0x8000 (SDM 34.5). */
#define OKVM_SMM_ENTRY_IP	0x8000
/* The 512-byte state-save area, SMBASE + [0xFE00, 0x10000) (SDM 34.4.1). */
#define OKVM_SMM_SAVE_AREA	0xfe00
#define OKVM_SMM_SAVE_SIZE	512
/* Save-area offsets are given from SMBASE + 0x8000, as in the manuals. */
#define OKVM_SMM_SAVE_FIRST	0x7e00
/* DR7 after SMM entry: its reset value, bit 10 set (SDM Vol. 3 18.2.4). */
#define OKVM_SMM_DR7		0x400
/* The revision identifiers KVM writes (SDM 34.4.1.1, APM 10.2.3). */
#define OKVM_SMM_REV_32		0x00020000
#define OKVM_SMM_REV_64		0x00020064

static void smm_put(u8 *area, unsigned int off, const void *val,
		    unsigned int len)
{
	memcpy(area + off - OKVM_SMM_SAVE_FIRST, val, len);
}

static void smm_put16(u8 *area, unsigned int off, u16 val)
{
	smm_put(area, off, &val, sizeof(val));
}

static void smm_put32(u8 *area, unsigned int off, u32 val)
{
	smm_put(area, off, &val, sizeof(val));
}

static void smm_put64(u8 *area, unsigned int off, u64 val)
{
	smm_put(area, off, &val, sizeof(val));
}

static u64 smm_get(const u8 *area, unsigned int off, unsigned int len)
{
	u64 val = 0;

	memcpy(&val, area + off - OKVM_SMM_SAVE_FIRST, len);
	return val;
}

#define smm_get16(a, off)	((u16)smm_get(a, off, 2))
#define smm_get32(a, off)	((u32)smm_get(a, off, 4))
#define smm_get64(a, off)	smm_get(a, off, 8)

/*
 * A segment's attributes as bits 23:8 of a descriptor's high doubleword
 * (G, D/B, L, AVL, P, DPL, S, type: SDM Vol. 3 3.4.5), which is how both
 * layouts store them (the 64-bit one shifted down by 8).
 */
static u32 smm_seg_flags(const struct kvm_segment *s)
{
	return (u32)s->g << 23 | (u32)s->db << 22 | (u32)s->l << 21 |
	       (u32)s->avl << 20 | (u32)s->present << 15 |
	       (u32)s->dpl << 13 | (u32)s->s << 12 | (u32)(s->type & 0xf) << 8;
}

/*
 * The inverse, with the limit as a descriptor holds it: 20 bits, in pages
 * when G is set (what RSM reloads is what a descriptor could say).
 */
static void smm_seg_load(struct kvm_segment *s, u16 selector, u32 flags,
			 u32 limit, u64 base)
{
	memset(s, 0, sizeof(*s));
	s->selector = selector;
	s->base = base;
	s->g = flags >> 23 & 1;
	s->db = flags >> 22 & 1;
	s->l = flags >> 21 & 1;
	s->avl = flags >> 20 & 1;
	s->present = flags >> 15 & 1;
	s->dpl = flags >> 13 & 3;
	s->s = flags >> 12 & 1;
	s->type = flags >> 8 & 0xf;
	s->unusable = !s->present;
	limit &= 0xfffff;
	s->limit = s->g ? limit << 12 | 0xfff : limit;
}

/* The six data and code segments in the order both layouts use. */
static struct kvm_segment *smm_seg(struct kvm_sregs *s, int n)
{
	struct kvm_segment *segs[] = { &s->es, &s->cs, &s->ss,
				       &s->ds, &s->fs, &s->gs };

	return segs[n];
}

/*
 * KVM's 32-bit layout: SDM Table 34-1 for what it names; the descriptor
 * caches of ES, CS, SS at 0x7F84 + 12n and of DS, FS, GS at 0x7F2C +
 * 12(n - 3), each flags, limit, base; TR's at 0x7F5C, LDTR's at 0x7F78.
 */
static unsigned int smm_seg32_cache(int n)
{
	return n < 3 ? 0x7f84 + n * 12 : 0x7f2c + (n - 3) * 12;
}

static void smm_save_32(struct okvm_vcpu *vcpu, const struct kvm_sregs *s,
			u8 *area)
{
	int i;

	smm_put32(area, 0x7ffc, s->cr0);
	smm_put32(area, 0x7ff8, s->cr3);
	smm_put32(area, 0x7ff4, vcpu->rflags);
	smm_put32(area, 0x7ff0, vcpu->rip);
	for (i = 0; i < 8; i++)
		smm_put32(area, 0x7fd0 + i * 4, vcpu->regs[i]);
	smm_put32(area, 0x7fcc, okvm_x86->get_dr(vcpu, 6));
	smm_put32(area, 0x7fc8, okvm_x86->get_dr(vcpu, 7));
	smm_put32(area, 0x7fc4, s->tr.selector);
	smm_put32(area, 0x7f64, s->tr.base);
	smm_put32(area, 0x7f60, s->tr.limit);
	smm_put32(area, 0x7f5c, smm_seg_flags(&s->tr));
	smm_put32(area, 0x7fc0, s->ldt.selector);
	smm_put32(area, 0x7f80, s->ldt.base);
	smm_put32(area, 0x7f7c, s->ldt.limit);
	smm_put32(area, 0x7f78, smm_seg_flags(&s->ldt));
	smm_put32(area, 0x7f74, s->gdt.base);
	smm_put32(area, 0x7f70, s->gdt.limit);
	smm_put32(area, 0x7f58, s->idt.base);
	smm_put32(area, 0x7f54, s->idt.limit);
	for (i = 0; i < 6; i++) {
		const struct kvm_segment *seg = smm_seg((struct kvm_sregs *)s, i);
		unsigned int c = smm_seg32_cache(i);

		smm_put32(area, 0x7fa8 + i * 4, seg->selector);
		smm_put32(area, c, smm_seg_flags(seg));
		smm_put32(area, c + 4, seg->limit);
		smm_put32(area, c + 8, seg->base);
	}
	smm_put32(area, 0x7f14, s->cr4);
	smm_put32(area, 0x7efc, OKVM_SMM_REV_32);
	smm_put32(area, 0x7ef8, vcpu->smbase);
}

/* APM Vol. 2 Table 10-2: a segment is selector, attributes, limit, base. */
static void smm_put_seg64(u8 *area, unsigned int off,
			  const struct kvm_segment *seg)
{
	smm_put16(area, off, seg->selector);
	smm_put16(area, off + 2, smm_seg_flags(seg) >> 8);
	smm_put32(area, off + 4, seg->limit);
	smm_put64(area, off + 8, seg->base);
}

static void smm_save_64(struct okvm_vcpu *vcpu, const struct kvm_sregs *s,
			u8 *area)
{
	int i;

	/* RAX at 0x7FF8 down to R15 at 0x7F80. */
	for (i = 0; i < OKVM_NR_GPRS; i++)
		smm_put64(area, 0x7ff8 - i * 8, vcpu->regs[i]);
	smm_put64(area, 0x7f78, vcpu->rip);
	smm_put32(area, 0x7f70, vcpu->rflags);
	smm_put64(area, 0x7f68, okvm_x86->get_dr(vcpu, 6));
	smm_put64(area, 0x7f60, okvm_x86->get_dr(vcpu, 7));
	smm_put64(area, 0x7f58, s->cr0);
	smm_put64(area, 0x7f50, s->cr3);
	smm_put64(area, 0x7f48, s->cr4);
	smm_put32(area, 0x7f00, vcpu->smbase);
	smm_put32(area, 0x7efc, OKVM_SMM_REV_64);
	smm_put64(area, 0x7ed0, s->efer);
	smm_put_seg64(area, 0x7e90, &s->tr);
	smm_put32(area, 0x7e84, s->idt.limit);
	smm_put64(area, 0x7e88, s->idt.base);
	smm_put_seg64(area, 0x7e70, &s->ldt);
	smm_put32(area, 0x7e64, s->gdt.limit);
	smm_put64(area, 0x7e68, s->gdt.base);
	for (i = 0; i < 6; i++)
		smm_put_seg64(area, 0x7e00 + i * 16,
			      smm_seg((struct kvm_sregs *)s, i));
}

/* The layout KVM picks: the 64-bit one if the guest may use long mode. */
static bool smm_long_mode(struct okvm_vcpu *vcpu)
{
	return okvm_guest_has(vcpu, 0x80000001, CPUID_EDX, 29);
}

/*
 * Enter or leave SMM: the address space the vCPU sees changes, and its
 * TLB must not keep translations of the other one (mmu.c). Leaving ends
 * the latching of INIT (okvm_lapic_accept_events()).
 */
static void smm_set_active(struct okvm_vcpu *vcpu, bool on)
{
	vcpu->in_smm = on;
	if (!on)
		vcpu->smm_inside_nmi = false;
	vcpu->tlb_flush = true;
}

/* Take the SMI: save the state and enter SMM (SDM Vol. 3 34.5). */
static void smm_enter(struct okvm_vcpu *vcpu)
{
	u8 area[OKVM_SMM_SAVE_SIZE] = { 0 };
	struct kvm_segment *seg;
	struct kvm_sregs s;
	int i;

	okvm_get_sregs(vcpu, &s);
	if (smm_long_mode(vcpu))
		smm_save_64(vcpu, &s, area);
	else
		smm_save_32(vcpu, &s, area);

	smm_set_active(vcpu, true);
	/*
	 * Into SMRAM's view. KVM ignores a failure (no RAM there): so does
	 * okvm, and RSM will then read what is there.
	 */
	okvm_vcpu_write_guest(vcpu, vcpu->smbase + OKVM_SMM_SAVE_AREA, area,
			      sizeof(area));

	/* NMIs are blocked in SMM; RSM unblocks them unless they were. */
	vcpu->smm_inside_nmi = vcpu->nmi_masked;
	vcpu->nmi_masked = true;

	vcpu->rflags = X86_EFLAGS_FIXED;
	vcpu->rip = OKVM_SMM_ENTRY_IP;
	s.cr0 &= ~(X86_CR0_PE | X86_CR0_EM | X86_CR0_TS | X86_CR0_PG);
	s.cr4 = 0;
	/* KVM's (and hardware's, undocumented) IDT limit of 0. */
	s.idt.base = 0;
	s.idt.limit = 0;
	/* Big real mode: CS based at SMBASE, all limits 4 GiB (SDM 34.5.1). */
	for (i = 0; i < 6; i++) {
		seg = smm_seg(&s, i);
		memset(seg, 0, sizeof(*seg));
		seg->limit = 0xffffffff;
		seg->type = 3;		/* read/write data, accessed */
		seg->s = 1;
		seg->g = 1;
		seg->present = 1;
	}
	s.cs.selector = (vcpu->smbase >> 4) & 0xffff;
	s.cs.base = vcpu->smbase;
	if (smm_long_mode(vcpu))
		s.efer = 0;
	okvm_load_sregs(vcpu, &s);
	okvm_x86->set_dr(vcpu, 7, OKVM_SMM_DR7);
}

/* RSM's state from KVM's 32-bit layout; EFER is not in it and stays. */
static void smm_load_32(struct okvm_vcpu *vcpu, const u8 *area,
			struct kvm_sregs *s, u64 dr[2])
{
	int i;

	s->cr0 = smm_get32(area, 0x7ffc);
	s->cr3 = smm_get32(area, 0x7ff8);
	vcpu->rflags = smm_get32(area, 0x7ff4) | X86_EFLAGS_FIXED;
	vcpu->rip = smm_get32(area, 0x7ff0);
	for (i = 0; i < 8; i++)
		vcpu->regs[i] = smm_get32(area, 0x7fd0 + i * 4);
	dr[0] = smm_get32(area, 0x7fcc);
	dr[1] = smm_get32(area, 0x7fc8);
	smm_seg_load(&s->tr, smm_get32(area, 0x7fc4), smm_get32(area, 0x7f5c),
		     smm_get32(area, 0x7f60), smm_get32(area, 0x7f64));
	smm_seg_load(&s->ldt, smm_get32(area, 0x7fc0), smm_get32(area, 0x7f78),
		     smm_get32(area, 0x7f7c), smm_get32(area, 0x7f80));
	s->gdt.base = smm_get32(area, 0x7f74);
	s->gdt.limit = smm_get32(area, 0x7f70);
	s->idt.base = smm_get32(area, 0x7f58);
	s->idt.limit = smm_get32(area, 0x7f54);
	for (i = 0; i < 6; i++) {
		unsigned int c = smm_seg32_cache(i);

		smm_seg_load(smm_seg(s, i), smm_get32(area, 0x7fa8 + i * 4),
			     smm_get32(area, c), smm_get32(area, c + 4),
			     smm_get32(area, c + 8));
	}
	s->cr4 = smm_get32(area, 0x7f14);
	vcpu->smbase = smm_get32(area, 0x7ef8);
}

static void smm_get_seg64(const u8 *area, unsigned int off,
			  struct kvm_segment *seg)
{
	smm_seg_load(seg, smm_get16(area, off),
		     (u32)smm_get16(area, off + 2) << 8,
		     smm_get32(area, off + 4), smm_get64(area, off + 8));
}

/* RSM's state from the AMD64 layout (APM Vol. 2 Table 10-2). */
static void smm_load_64(struct okvm_vcpu *vcpu, const u8 *area,
			struct kvm_sregs *s, u64 dr[2])
{
	int i;

	for (i = 0; i < OKVM_NR_GPRS; i++)
		vcpu->regs[i] = smm_get64(area, 0x7ff8 - i * 8);
	vcpu->rip = smm_get64(area, 0x7f78);
	vcpu->rflags = smm_get32(area, 0x7f70) | X86_EFLAGS_FIXED;
	dr[0] = smm_get64(area, 0x7f68);
	dr[1] = smm_get64(area, 0x7f60);
	s->cr0 = smm_get64(area, 0x7f58);
	s->cr3 = smm_get64(area, 0x7f50);
	s->cr4 = smm_get64(area, 0x7f48);
	vcpu->smbase = smm_get32(area, 0x7f00);
	/* LMA is not restored but follows CR0.PG and LME, as on the CPU. */
	s->efer = smm_get64(area, 0x7ed0) & ~EFER_LMA;
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG))
		s->efer |= EFER_LMA;
	smm_get_seg64(area, 0x7e90, &s->tr);
	s->idt.limit = smm_get32(area, 0x7e84);
	s->idt.base = smm_get64(area, 0x7e88);
	smm_get_seg64(area, 0x7e70, &s->ldt);
	s->gdt.limit = smm_get32(area, 0x7e64);
	s->gdt.base = smm_get64(area, 0x7e68);
	for (i = 0; i < 6; i++)
		smm_get_seg64(area, 0x7e00 + i * 16, smm_seg(s, i));
}

/*
 * RSM, intercepted (SVM, APM Vol. 2 15.9) or from its #UD (VMX, where
 * the CPU in VMX non-root operation is not in SMM: SDM Vol. 2B RSM).
 * Outside SMM it is #UD. Inside, the state comes back from the save area
 * in SMRAM's view, then the vCPU leaves SMM. State the CPU could not
 * have saved (a reserved bit, PG without PE, ...) shuts the vCPU down
 * (SDM 34.12: RSM enters shutdown), which KVM reports as
 * KVM_EXIT_SHUTDOWN. Returns 1, or what okvm_emulation_failure() returns
 * when SMBASE + 0xFE00 is not guest RAM (KVM's emulator gives up then).
 */
int okvm_emulate_rsm(struct okvm_vcpu *vcpu)
{
	u8 area[OKVM_SMM_SAVE_SIZE];
	struct kvm_sregs s;
	u64 dr[2];

	if (!vcpu->in_smm) {
		okvm_queue_exception(vcpu, OKVM_UD_VECTOR, false, 0);
		return 1;
	}
	if (okvm_vcpu_read_guest(vcpu, vcpu->smbase + OKVM_SMM_SAVE_AREA,
				 area, sizeof(area)))
		return okvm_emulation_failure(vcpu, NULL, 0);

	if (!vcpu->smm_inside_nmi)
		vcpu->nmi_masked = false;
	smm_set_active(vcpu, false);

	okvm_get_sregs(vcpu, &s);
	if (smm_long_mode(vcpu))
		smm_load_64(vcpu, area, &s, dr);
	else
		smm_load_32(vcpu, area, &s, dr);
	if (!okvm_sregs_valid(vcpu, &s) || dr[0] >> 32 || dr[1] >> 32) {
		vcpu->shutdown_pending = true;
		return 1;
	}
	okvm_load_sregs(vcpu, &s);
	okvm_x86->set_dr(vcpu, 6, dr[0]);
	okvm_x86->set_dr(vcpu, 7, dr[1]);
	okvm_x86->set_interrupt_shadow(vcpu, 0);
	return 1;
}

/*
 * Post an SMI from any context (the local APIC's delivery, KVM_SMI): the
 * vCPU takes it at its next entry (okvm_smm_before_entry()).
 */
void okvm_smm_post(struct okvm_vcpu *vcpu)
{
	set_bit(0, &vcpu->smi_requests);
	okvm_vcpu_kick(vcpu);
}

/* An SMI was posted and not yet looked at by the vCPU thread. */
bool okvm_smm_posted(struct okvm_vcpu *vcpu)
{
	return test_bit(0, &vcpu->smi_requests);
}

/* An SMI that ends HLT or the wait for events (KVM's has_events). */
bool okvm_smm_has_event(struct okvm_vcpu *vcpu)
{
	return okvm_smm_posted(vcpu) || (vcpu->smi_pending && !vcpu->in_smm);
}

static void smm_take_posted(struct okvm_vcpu *vcpu)
{
	if (test_and_clear_bit(0, &vcpu->smi_requests))
		vcpu->smi_pending = true;
}

/*
 * Before an entry, in the vCPU thread (preemptible: the save area is
 * written to guest memory). An SMI is taken when the vCPU is not in SMM
 * already (it stays pending until RSM, SDM 34.3) and no exception or
 * interrupt is being delivered, which goes first; the entry that
 * delivers it then exits right away (okvm_smm_waits()).
 */
void okvm_smm_before_entry(struct okvm_vcpu *vcpu)
{
	smm_take_posted(vcpu);
	if (!vcpu->smi_pending || vcpu->in_smm || vcpu->exception.pending ||
	    vcpu->interrupt.injected || okvm_x86->event_in_flight(vcpu))
		return;
	vcpu->smi_pending = false;
	smm_enter(vcpu);
}

/* An SMI waits for the event this entry delivers: exit right after it. */
bool okvm_smm_waits(struct okvm_vcpu *vcpu)
{
	return (vcpu->smi_pending || okvm_smm_posted(vcpu)) && !vcpu->in_smm;
}

/* KVM_SMI: pending until the guest can take it, as in KVM; no argument. */
int okvm_vcpu_ioctl_smi(struct okvm_vcpu *vcpu)
{
	smm_take_posted(vcpu);
	vcpu->smi_pending = true;
	return 0;
}

/*
 * RESET, or (@init) INIT, which SMM latches, so the vCPU is not in SMM
 * then: no SMI pending; RESET also puts SMBASE back (SDM Vol. 3 34.11).
 */
void okvm_smm_reset(struct okvm_vcpu *vcpu, bool init)
{
	vcpu->smi_pending = false;
	if (vcpu->in_smm)
		smm_set_active(vcpu, false);
	if (!init)
		vcpu->smbase = OKVM_SMBASE_RESET;
}

void okvm_smm_get_events(struct okvm_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	smm_take_posted(vcpu);
	ev->smi.smm = vcpu->in_smm;
	ev->smi.pending = vcpu->smi_pending;
	ev->smi.smm_inside_nmi = vcpu->smm_inside_nmi;
	ev->smi.latched_init = vcpu->lapic && okvm_lapic_init_latched(vcpu);
}

/*
 * KVM_SET_VCPU_EVENTS with KVM_VCPUEVENT_VALID_SMM, checked before the
 * ioctl changes anything: KVM refuses SMM state for a vCPU waiting for
 * SIPI, whose INIT SMM would have latched.
 */
int okvm_smm_check_events(struct okvm_vcpu *vcpu,
			  const struct kvm_vcpu_events *ev)
{
	if ((ev->smi.smm || ev->smi.pending) && vcpu->lapic &&
	    okvm_lapic_mp_state(vcpu) == KVM_MP_STATE_INIT_RECEIVED)
		return -EINVAL;
	return 0;
}

/*
 * ... and applied: only the mode flag changes, not the registers (the
 * VMM restores those with KVM_SET_SREGS and KVM_SET_REGS), as in KVM.
 */
void okvm_smm_set_events(struct okvm_vcpu *vcpu,
			 const struct kvm_vcpu_events *ev)
{
	if (vcpu->in_smm != !!ev->smi.smm)
		smm_set_active(vcpu, ev->smi.smm);
	/* An SMI posted and not yet taken stays posted, as KVM's request. */
	vcpu->smi_pending = ev->smi.pending;
	if (ev->smi.smm)
		vcpu->smm_inside_nmi = ev->smi.smm_inside_nmi;
	if (vcpu->lapic)
		okvm_lapic_set_init_latched(vcpu, ev->smi.latched_init);
}
