// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmcb.c - a vCPU's VMCB: building it, resetting the guest to its power-on
 * state, and reading and writing guest state kept in it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "svm.h"
#include "../x86.h"

int svm_vcpu_create(struct okvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!page)
		return -ENOMEM;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	svm->asid_cpu = -1;
	return 0;
}

void svm_vcpu_free(struct okvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (svm->vmcb) {
		svm_forget_vmcb(svm->vmcb);
		free_page((unsigned long)svm->vmcb);
	}
}

/*
 * Intercepts KVM always has, whatever else the guest may do:
 * - #MC (exception vector 18, APM 15.12): a machine check in guest mode is
 *   the host's, handed to its handler by svm_vcpu_run();
 * - #UD: Intel's VMCALL in a guest built for Intel is turned into VMMCALL
 *   (hypercall.c); any other #UD is given back;
 * - RDPMC: no PMU is offered, and the host's counters are the host's;
 * - WBINVD: a guest-wide cache write-back would stall this CPU and its
 *   neighbours; exit.c says why skipping it is right.
 */
static void svm_init_host_intercepts(struct vmcb_control *c)
{
	c->intercept_exceptions |= BIT(OKVM_MC_VECTOR) | BIT(OKVM_UD_VECTOR);
	c->intercept_misc1 |= SVM_INTERCEPT1_RDPMC;
	c->intercept_misc2 |= SVM_INTERCEPT2_WBINVD;
}

/*
 * The control area: what okvm intercepts. Everything that could let the
 * guest reach host state is intercepted: all ports and MSRs but the
 * VMLOAD-switched ones (svm.c), the SVM instructions themselves (VMRUN must
 * be, APM 15.5.1), XSETBV (XCR0 is not switched by VMRUN), DR0-3 (not in the
 * VMCB), and external interrupts, NMIs, SMIs and INIT, which belong to the
 * host (APM 15.13); and the exceptions that could keep the CPU from ever
 * returning to the host (below).
 */
static void svm_init_control(struct svm_vcpu *svm, struct okvm_vm *vm)
{
	struct vmcb_control *c = &svm->vmcb->control;

	c->intercept_dr = SVM_INTERCEPT_DR0_3;	/* reads and writes */
	/*
	 * CR4 writes: the CPU would accept any bit it implements, whatever
	 * the guest's CPUID says (PKE, for one, would hand the guest a PKRU
	 * the host never switches), so okvm checks every write (regs.c).
	 * CR8 writes, as KVM without an in-kernel APIC intercepts them: a
	 * lowered TPR is the VMM's business (KVM_EXIT_SET_TPR), and QEMU's
	 * TCG aborts when a guest writes V_TPR unintercepted while a virtual
	 * interrupt is pending (the interrupt window).
	 */
	c->intercept_cr = SVM_INTERCEPT_CR_WRITE(4) | SVM_INTERCEPT_CR_WRITE(8);
	/*
	 * #DB and #AC, only to bound them: a guest can make delivering
	 * either raise it again (a data breakpoint on the stack the #DB
	 * frame is pushed to; #AC pushed to a misaligned CPL-3 stack), and
	 * without the intercept the CPU would loop in microcode, never
	 * reaching an instruction boundary where the host could interrupt
	 * it (CVE-2015-8104, CVE-2015-5307). Each is reflected back (exit.c).
	 */
	c->intercept_exceptions |= BIT(OKVM_DB_VECTOR) | BIT(OKVM_AC_VECTOR);
	c->intercept_misc1 = SVM_INTERCEPT1_INTR | SVM_INTERCEPT1_NMI |
			     SVM_INTERCEPT1_SMI | SVM_INTERCEPT1_INIT |
			     SVM_INTERCEPT1_CPUID | SVM_INTERCEPT1_RSM |
			     SVM_INTERCEPT1_INVD | SVM_INTERCEPT1_HLT |
			     SVM_INTERCEPT1_INVLPGA | SVM_INTERCEPT1_IOIO_PROT |
			     SVM_INTERCEPT1_MSR_PROT |
			     SVM_INTERCEPT1_TASK_SWITCH |
			     SVM_INTERCEPT1_SHUTDOWN;
	c->intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL |
			     SVM_INTERCEPT2_VMLOAD | SVM_INTERCEPT2_VMSAVE |
			     SVM_INTERCEPT2_STGI | SVM_INTERCEPT2_CLGI |
			     SVM_INTERCEPT2_SKINIT | SVM_INTERCEPT2_RDTSCP |
			     SVM_INTERCEPT2_MONITOR | SVM_INTERCEPT2_MWAIT |
			     SVM_INTERCEPT2_XSETBV;
	c->iopm_base_pa = svm_iopm_pa;
	c->msrpm_base_pa = svm_msrpm_pa;
	/*
	 * V_INTR_MASKING: the guest's RFLAGS.IF masks only virtual interrupts,
	 * so physical ones always reach the host (APM 15.21.1).
	 */
	c->int_ctl = SVM_INT_CTL_V_INTR_MASKING;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = okvm_mmu_root_pa(&svm->vcpu);
	/* The guest's TSC counts from 0 at vCPU reset (msr.c may move it). */
	c->tsc_offset = -rdtsc();
	/* No ASID yet: svm_prepare_cpu() assigns one at the first VMRUN. */
	c->asid = 0;
	c->clean = 0;
	svm_init_host_intercepts(c);
}

static void svm_set_seg(struct vmcb_seg *s, u16 sel, u64 base, u32 limit,
			u16 attrib)
{
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->attrib = attrib;
}

/*
 * The state after RESET or INIT (APM Vol. 2 14.1.3, Table 14-1; Intel SDM
 * Vol. 3 9.1.1, Table 9-1): real mode, CS = F000 with base FFFF0000 and RIP
 * FFF0, so the first fetch is at FFFFFFF0; caches disabled (CD, NW) after
 * RESET, unchanged by INIT; EDX holds the processor signature.
 */
void svm_vcpu_reset(struct okvm_vcpu *vcpu, bool init)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 cd_nw = X86_CR0_CD | X86_CR0_NW;
	u64 tsc_offset = svm->vmcb->control.tsc_offset;
	struct vmcb_save *s;

	if (init)
		cd_nw &= svm->vmcb->save.cr0;
	memset(svm->vmcb, 0, sizeof(*svm->vmcb));
	svm_init_control(svm, vcpu->vm);
	if (init)
		svm->vmcb->control.tsc_offset = tsc_offset;
	svm->asid_cpu = -1;
	svm->reinject = 0;
	s = &svm->vmcb->save;

	/* Code: present, readable, accessed; data: present, writable, accessed. */
	svm_set_seg(&s->cs, 0xf000, 0xffff0000, 0xffff,
		    SVM_SEG_P | SVM_SEG_S | 0xb);
	svm_set_seg(&s->ds, 0, 0, 0xffff, SVM_SEG_P | SVM_SEG_S | 0x3);
	s->es = s->ds;
	s->ss = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	svm_set_seg(&s->gdtr, 0, 0, 0xffff, 0);
	svm_set_seg(&s->idtr, 0, 0, 0xffff, 0);
	svm_set_seg(&s->ldtr, 0, 0, 0xffff, SVM_SEG_P | 0x2);	/* LDT */
	svm_set_seg(&s->tr, 0, 0, 0xffff, SVM_SEG_P | 0x3);	/* busy 16-bit TSS */
	s->cpl = 0;
	s->cr0 = cd_nw | X86_CR0_ET;
	s->efer = EFER_SVME;	/* required by VMRUN (APM 15.5.1) */
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	/* PAT after reset: WB, WT, UC-, UC, repeated (SDM 13.12.4). */
	s->g_pat = 0x0007040600070406ULL;

	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs[OKVM_RDX] = okvm_reset_rdx(vcpu);
	vcpu->rip = 0xfff0;
	vcpu->rflags = X86_EFLAGS_FIXED;
	memset(vcpu->dr, 0, sizeof(vcpu->dr));
	/* A debugger's setup outlives the reset, as in KVM (debug.c). */
	svm->dbg_owned = false;
	svm_update_guest_debug(vcpu);
}

static struct vmcb_seg *svm_seg(struct svm_vcpu *svm, enum okvm_seg seg)
{
	struct vmcb_save *s = &svm->vmcb->save;

	switch (seg) {
	case OKVM_SEG_ES:
		return &s->es;
	case OKVM_SEG_CS:
		return &s->cs;
	case OKVM_SEG_SS:
		return &s->ss;
	case OKVM_SEG_DS:
		return &s->ds;
	case OKVM_SEG_FS:
		return &s->fs;
	case OKVM_SEG_GS:
		return &s->gs;
	case OKVM_SEG_TR:
		return &s->tr;
	default:
		return &s->ldtr;
	}
}

void svm_get_segment(struct okvm_vcpu *vcpu, struct kvm_segment *var,
		     enum okvm_seg seg)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_seg *s = svm_seg(svm, seg);

	memset(var, 0, sizeof(*var));
	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->type = s->attrib & SVM_SEG_TYPE_MASK;
	var->s = !!(s->attrib & SVM_SEG_S);
	var->dpl = (s->attrib >> SVM_SEG_DPL_SHIFT) & 3;
	var->present = !!(s->attrib & SVM_SEG_P);
	var->avl = !!(s->attrib & SVM_SEG_AVL);
	var->l = !!(s->attrib & SVM_SEG_L);
	var->db = !!(s->attrib & SVM_SEG_DB);
	var->g = !!(s->attrib & SVM_SEG_G);
	/* The VMCB has no "unusable" bit: a null segment is not present. */
	var->unusable = !var->present;
	/*
	 * APM 15.5.1: the CPL lives in the VMCB, not in SS.DPL; report it
	 * where KVM's ABI has it.
	 */
	if (seg == OKVM_SEG_SS)
		var->dpl = svm->vmcb->save.cpl;
}

void svm_set_segment(struct okvm_vcpu *vcpu, const struct kvm_segment *var,
		     enum okvm_seg seg)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_seg *s = svm_seg(svm, seg);
	u16 attrib = 0;

	if (!var->unusable)
		attrib = (var->type & SVM_SEG_TYPE_MASK) |
			 (var->s ? SVM_SEG_S : 0) |
			 ((var->dpl & 3) << SVM_SEG_DPL_SHIFT) |
			 (var->present ? SVM_SEG_P : 0) |
			 (var->avl ? SVM_SEG_AVL : 0) |
			 (var->l ? SVM_SEG_L : 0) |
			 (var->db ? SVM_SEG_DB : 0) |
			 (var->g ? SVM_SEG_G : 0);
	svm_set_seg(s, var->selector, var->base, var->limit, attrib);
	if (seg == OKVM_SEG_SS)
		svm->vmcb->save.cpl = var->dpl & 3;
}

void svm_get_dtable(struct okvm_vcpu *vcpu, struct kvm_dtable *dt, bool idt)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;
	const struct vmcb_seg *d = idt ? &s->idtr : &s->gdtr;

	memset(dt, 0, sizeof(*dt));
	dt->base = d->base;
	dt->limit = d->limit;
}

void svm_set_dtable(struct okvm_vcpu *vcpu, const struct kvm_dtable *dt,
		    bool idt)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;
	struct vmcb_seg *d = idt ? &s->idtr : &s->gdtr;

	d->base = dt->base;
	d->limit = dt->limit;
}

unsigned long svm_get_cr(struct okvm_vcpu *vcpu, int cr)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;

	switch (cr) {
	case 0:
		return s->cr0;
	case 8:
		/* With V_INTR_MASKING, CR8 is V_TPR (APM 15.21.1). */
		return to_svm(vcpu)->vmcb->control.int_ctl & SVM_INT_CTL_V_TPR_MASK;
	case 2:
		return s->cr2;
	case 3:
		return s->cr3;
	default:
		return s->cr4;
	}
}

void svm_set_cr(struct okvm_vcpu *vcpu, int cr, unsigned long val)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save *s = &svm->vmcb->save;

	switch (cr) {
	case 0:
		s->cr0 = val;
		break;
	case 8:
		svm->vmcb->control.int_ctl &= ~SVM_INT_CTL_V_TPR_MASK;
		svm->vmcb->control.int_ctl |= val & SVM_INT_CTL_V_TPR_MASK;
		return;
	case 2:
		s->cr2 = val;
		break;
	case 3:
		s->cr3 = val;
		break;
	default:
		s->cr4 = val;
		break;
	}
	/* Guest translations may have changed: flush its ASID. */
	vcpu->tlb_gen = -1;
}

u64 svm_get_efer(struct okvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.efer & ~EFER_SVME;
}

void svm_set_efer(struct okvm_vcpu *vcpu, u64 efer)
{
	to_svm(vcpu)->vmcb->save.efer = efer | EFER_SVME;
}

/*
 * The MSRs whose guest values live in the VMCB. Returns 1 for any other,
 * which generic code (msr.c) then handles.
 */
static u64 *svm_msr_slot(struct svm_vcpu *svm, u32 index)
{
	struct vmcb_save *s = &svm->vmcb->save;

	switch (index) {
	case MSR_STAR:
		return &s->star;
	case MSR_LSTAR:
		return &s->lstar;
	case MSR_CSTAR:
		return &s->cstar;
	case MSR_SYSCALL_MASK:
		return &s->sfmask;
	case MSR_KERNEL_GS_BASE:
		return &s->kernel_gs_base;
	case MSR_IA32_SYSENTER_CS:
		return &s->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:
		return &s->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:
		return &s->sysenter_eip;
	case MSR_FS_BASE:
		return &s->fs.base;
	case MSR_GS_BASE:
		return &s->gs.base;
	case MSR_IA32_CR_PAT:
		return &s->g_pat;
	default:
		return NULL;
	}
}

int svm_get_msr(struct okvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 *slot;

	if (index == MSR_IA32_TSC) {
		*data = rdtsc() + svm->vmcb->control.tsc_offset;
		return 0;
	}
	slot = svm_msr_slot(svm, index);
	if (!slot)
		return 1;
	*data = *slot;
	return 0;
}

/* The guest's TSC is the host's plus the VMCB's TSC offset (APM 15.30.5). */
u64 svm_adjust_tsc_offset(struct okvm_vcpu *vcpu, s64 delta)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	c->tsc_offset += delta;
	return c->tsc_offset;
}

int svm_set_msr(struct okvm_vcpu *vcpu, u32 index, u64 data)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 *slot;

	if (index == MSR_IA32_TSC) {
		svm->vmcb->control.tsc_offset = data - rdtsc();
		return 0;
	}
	slot = svm_msr_slot(svm, index);
	if (!slot)
		return OKVM_MSR_UNKNOWN;
	/* The 32-bit SYSENTER MSRs keep 64 bits on AMD; KVM does too. */
	*slot = data;
	return 0;
}

/*
 * Ask for an exit when the guest can take an interrupt: a virtual
 * interrupt (V_IRQ) of the highest priority, ignoring the TPR, with its
 * delivery intercepted (VINTR, APM 15.21.4). The guest takes it only with
 * RFLAGS.IF set and outside an interrupt shadow, and the intercept fires
 * before it is delivered; svm_exit_vintr() then withdraws it.
 */
void svm_enable_irq_window(struct okvm_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	c->int_ctl |= SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_INTR_PRIO_MASK |
		      SVM_INT_CTL_V_IGN_TPR;
	c->intercept_misc1 |= SVM_INTERCEPT1_VINTR;
}

void svm_disable_irq_window(struct okvm_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	c->int_ctl &= ~(SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_INTR_PRIO_MASK |
			SVM_INT_CTL_V_IGN_TPR);
	c->intercept_misc1 &= ~SVM_INTERCEPT1_VINTR;
}

u64 svm_get_interrupt_shadow(struct okvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->control.int_state & SVM_INT_STATE_SHADOW ?
	       KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI : 0;
}

void svm_set_interrupt_shadow(struct okvm_vcpu *vcpu, u64 shadow)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	if (shadow)
		c->int_state |= SVM_INT_STATE_SHADOW;
	else
		c->int_state &= ~SVM_INT_STATE_SHADOW;
}

/*
 * Which of VMRUN's consistency checks (APM 15.5.1, "Canonicalization and
 * Consistency Checks") the guest state fails, or NULL if okvm sees none.
 */
static const char *svm_failed_check(const struct vmcb *vmcb)
{
	const struct vmcb_save *s = &vmcb->save;
	bool lme_pg = (s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG);

	if (!(s->efer & EFER_SVME))
		return "EFER.SVME is zero";
	/* EFER bits 63:16, 9 and 7:1 must be zero (APM Vol. 2 3.1.7). */
	if (s->efer & (GENMASK_ULL(63, 16) | BIT_ULL(9) | GENMASK_ULL(7, 1)))
		return "EFER has reserved bits set";
	if (!(s->cr0 & X86_CR0_CD) && (s->cr0 & X86_CR0_NW))
		return "CR0.CD is zero and CR0.NW is set";
	if (s->cr0 >> 32)
		return "CR0[63:32] are not zero";
	if (s->cr3 >> 52)
		return "CR3 sets bits beyond the physical address width";
	if (s->dr6 >> 32)
		return "DR6[63:32] are not zero";
	if (s->dr7 >> 32)
		return "DR7[63:32] are not zero";
	if (lme_pg && !(s->cr4 & X86_CR4_PAE))
		return "EFER.LME and CR0.PG are set and CR4.PAE is zero";
	if (lme_pg && !(s->cr0 & X86_CR0_PE))
		return "EFER.LME and CR0.PG are set and CR0.PE is zero";
	if (lme_pg && (s->cr4 & X86_CR4_PAE) && (s->cs.attrib & SVM_SEG_L) &&
	    (s->cs.attrib & SVM_SEG_DB))
		return "EFER.LME, CR0.PG, CR4.PAE, CS.L and CS.D are all set";
	if (!(vmcb->control.intercept_misc2 & SVM_INTERCEPT2_VMRUN))
		return "the VMRUN intercept is clear";
	if (!vmcb->control.asid)
		return "the ASID is zero";
	return NULL;
}

static void svm_dump_seg(const char *name, const struct vmcb_seg *s)
{
	pr_info("  %-4s sel %04x attr %03x limit %08x base %016llx\n", name,
		s->selector, s->attrib, s->limit, s->base);
}

void svm_get_exit_info(struct okvm_vcpu *vcpu, u64 info[5])
{
	const struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	info[0] = (u32)c->exit_code;
	info[1] = c->exit_info_1;
	info[2] = c->exit_info_2;
	info[3] = (u32)c->exit_int_info;
	info[4] = c->exit_int_info >> 32;
}

/* The guest's DR6/DR7: the VMCB's, or its own while a debugger has those (debug.c). */
unsigned long svm_get_dr(struct okvm_vcpu *vcpu, int dr)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_save *s = &svm->vmcb->save;

	if (svm->dbg_owned)
		return dr == 6 ? svm->dr6 : svm->dr7;
	return dr == 6 ? s->dr6 : s->dr7;
}

void svm_set_dr(struct okvm_vcpu *vcpu, int dr, unsigned long val)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save *s = &svm->vmcb->save;

	if (!svm->dbg_owned) {
		if (dr == 6)
			s->dr6 = val;
		else
			s->dr7 = val;
		return;
	}
	if (dr == 6) {
		svm->dr6 = val;
	} else {
		svm->dr7 = val;
		s->dr7 = okvm_guest_debug_dr7(vcpu);
	}
}

/* For KVM_EXIT_FAIL_ENTRY: what VMRUN refused, once per VM. */
void svm_dump_vmcb(struct okvm_vcpu *vcpu)
{
	const struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	const struct vmcb_save *s = &vmcb->save;
	const char *check = svm_failed_check(vmcb);

	okvm_vm_warn(vcpu->vm, "vcpu%u: VMRUN failed (exit code %#llx): %s\n",
		     vcpu->id, vmcb->control.exit_code,
		     check ? check : "no consistency check okvm knows fails");
	pr_info("VMCB of vm%u vcpu%u (AMD APM Vol. 2 Appendix B):\n",
		vcpu->vm->id, vcpu->id);
	pr_info("  cr0 %016llx cr3 %016llx cr4 %016llx efer %016llx\n",
		s->cr0, s->cr3, s->cr4, s->efer);
	pr_info("  rip %016llx rsp %016llx rflags %016llx cpl %u\n",
		s->rip, s->rsp, s->rflags, s->cpl);
	pr_info("  dr6 %016llx dr7 %016llx asid %u event_inj %016llx\n",
		s->dr6, s->dr7, vmcb->control.asid, vmcb->control.event_inj);
	svm_dump_seg("cs", &s->cs);
	svm_dump_seg("ss", &s->ss);
	svm_dump_seg("ds", &s->ds);
	svm_dump_seg("es", &s->es);
	svm_dump_seg("fs", &s->fs);
	svm_dump_seg("gs", &s->gs);
	svm_dump_seg("tr", &s->tr);
	svm_dump_seg("ldtr", &s->ldtr);
	svm_dump_seg("gdtr", &s->gdtr);
	svm_dump_seg("idtr", &s->idtr);
}
