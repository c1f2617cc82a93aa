// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmcs.c - a vCPU's VMCS: building it from the controls vmx.c settled,
 * resetting the guest to its power-on state, and reading and writing guest
 * state kept in it (Intel SDM Vol. 3C chapter 25, "Virtual Machine Control
 * Structures").
 *
 * Every access goes through vmx_get()/vmx_put(), which make the VMCS
 * current on this CPU first: VMREAD and VMWRITE reach only the current
 * VMCS.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/segment.h>
#include <asm/debugreg.h>

#include "vmx.h"
#include "../x86.h"

/* The label VM exits land on (vmenter.S). */
extern const char okvm_vmx_vmexit[];

int vmx_vcpu_create(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!page)
		return -ENOMEM;
	vmx->vmcs = page_address(page);
	vmx->vmcs_pa = page_to_phys(page);
	/* SDM 25.2: the revision id first; bit 31 clear (not a shadow VMCS). */
	*(u32 *)vmx->vmcs = vmx_config.revision;
	vmx->vmcs_cpu = -1;
	INIT_LIST_HEAD(&vmx->active_node);
	vmx->vpid = vmx_vpid_alloc();
	return 0;
}

void vmx_vcpu_free(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (!vmx->vmcs)
		return;
	/* The CPU may still hold VMCS data it would write back later. */
	vmx_vmcs_clear(vmx);
	WARN_ON_ONCE(READ_ONCE(vmx->vmcs_cpu) >= 0);
	free_page((unsigned long)vmx->vmcs);
	vmx_vpid_free(vmx->vpid);
}

/*
 * The EPT pointer (SDM 25.6.11): write-back paging structures (bits 2:0 =
 * 6), a 4-level walk (bits 5:3 = 3, "length minus one"), accessed/dirty
 * flags (bit 6) when the CPU has them, and the root table.
 */
u64 vmx_eptp(struct okvm_vcpu *vcpu)
{
	u64 eptp = 6 | (3 << 3) | okvm_mmu_root_pa(vcpu);

	if (vmx_config.ept_ad)
		eptp |= BIT_ULL(6);
	return eptp;
}

/*
 * Host state that differs between CPUs (SDM 25.5): the TSS, the read-only
 * GDT mapping and the entry stack are per CPU in Linux, and so is the GS
 * base. Written when the VMCS comes to a CPU (vmx_vmcs_load()).
 */
void vmx_set_host_state_per_cpu(struct vmx_vcpu *vmx, int cpu)
{
	u64 val;

	vmcs_write(VMCS_HOST_TR_BASE,
		   (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(VMCS_HOST_GDTR_BASE, (unsigned long)get_cpu_gdt_ro(cpu));
	rdmsrl(MSR_IA32_SYSENTER_ESP, val);
	vmcs_write(VMCS_HOST_SYSENTER_ESP, val);
	rdmsrl(MSR_GS_BASE, val);
	vmcs_write(VMCS_HOST_GS_BASE, val);
}

/*
 * Host state that is the same everywhere (SDM 25.5, checked by 27.2.2-3):
 * where the exit lands, the kernel's segments and descriptor tables, its
 * EFER and PAT. Selectors other than CS, SS and TR are 0: VM exit loads
 * them and requires RPL 0 (SDM 27.2.3), and entry.c puts the thread's own
 * back. CR3 and CR4 are refreshed before each entry; CR0 never changes.
 */
static void vmx_set_host_state(void)
{
	struct desc_ptr idt;
	u64 val;

	vmcs_write(VMCS_HOST_CR0, read_cr0());
	vmcs_write(VMCS_HOST_RIP, (unsigned long)okvm_vmx_vmexit);
	vmcs_write(VMCS_HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(VMCS_HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(VMCS_HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(VMCS_HOST_DS_SELECTOR, 0);
	vmcs_write(VMCS_HOST_ES_SELECTOR, 0);
	vmcs_write(VMCS_HOST_FS_SELECTOR, 0);
	vmcs_write(VMCS_HOST_GS_SELECTOR, 0);
	store_idt(&idt);
	vmcs_write(VMCS_HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_IA32_SYSENTER_CS, val);
	vmcs_write(VMCS_HOST_SYSENTER_CS, val);
	rdmsrl(MSR_IA32_SYSENTER_EIP, val);
	vmcs_write(VMCS_HOST_SYSENTER_EIP, val);
	rdmsrl(MSR_EFER, val);
	vmcs_write(VMCS_HOST_IA32_EFER, val);
	rdmsrl(MSR_IA32_CR_PAT, val);
	vmcs_write(VMCS_HOST_IA32_PAT, val);
}

/*
 * CR0 and CR4 bits the guest may not hold as it wishes (SDM 25.6.6): those
 * VMX operation fixes (CR0.NE and CR4.VMXE on every CPU so far; CR0.PE and
 * PG are free with unrestricted guest, SDM 27.3.1.1). They are "owned by
 * the host" in the guest/host masks: the guest reads them from the read
 * shadow, which holds its own value, and a MOV that would change them
 * exits (exit.c).
 */
static unsigned long vmx_cr0_host_owned(void)
{
	return (vmx_config.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG)) |
	       (u32)~vmx_config.cr0_fixed1;
}

/*
 * CR4 bits the guest may change without an exit: those every guest may
 * have whatever its CPUID says (regs.c, okvm_cr4_valid()). Every other
 * bit is owned by okvm, so that MOV to CR4 changing it exits and is
 * checked against the guest's CPUID (exit.c).
 */
#define VMX_CR4_GUEST_OWNED	(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | \
				 X86_CR4_DE | X86_CR4_PGE | X86_CR4_PCE | \
				 X86_CR4_MCE | X86_CR4_OSFXSR | \
				 X86_CR4_OSXMMEXCPT)

static unsigned long vmx_cr4_host_owned(void)
{
	return vmx_config.cr4_fixed0 | ~vmx_config.cr4_fixed1 |
	       ~VMX_CR4_GUEST_OWNED;
}

/* The execution controls every guest starts with (vmx.c settled them). */
static void vmx_set_controls(struct vmx_vcpu *vmx)
{
	u32 proc2 = vmx_config.proc2;

	if (!vmx->vpid)
		proc2 &= ~PROC2_ENABLE_VPID;
	vmcs_write(VMCS_PIN_CONTROLS, vmx_config.pin);
	vmcs_write(VMCS_PROC_CONTROLS, vmx_config.proc);
	vmcs_write(VMCS_PROC_CONTROLS2, proc2);
	vmcs_write(VMCS_EXIT_CONTROLS, vmx_config.exit);
	vmcs_write(VMCS_ENTRY_CONTROLS, vmx_config.entry);
	vmcs_write(VMCS_VPID, vmx->vpid);
	/*
	 * Machine checks belong to the host (exit.c). #DB and #AC are
	 * intercepted only so that a guest cannot make their delivery raise
	 * them again forever inside the CPU, where the host never gets it
	 * back (CVE-2015-8104, CVE-2015-5307); exit.c reflects them. #UD
	 * is intercepted to turn AMD's VMMCALL into VMCALL (hypercall.c).
	 */
	vmcs_write(VMCS_EXCEPTION_BITMAP, BIT(18) | BIT(OKVM_DB_VECTOR) |
					  BIT(OKVM_AC_VECTOR) |
					  BIT(OKVM_UD_VECTOR));
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write(VMCS_MSR_BITMAP, vmx_msr_bitmap_pa(false));
	vmx->eptp = vmx_eptp(&vmx->vcpu);
	vmcs_write(VMCS_EPT_POINTER, vmx->eptp);
	/* SDM 27.3.1.5: all ones when there is no shadow VMCS. */
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	vmcs_write(VMCS_CR0_GUEST_HOST_MASK, vmx_cr0_host_owned());
	vmcs_write(VMCS_CR4_GUEST_HOST_MASK, vmx_cr4_host_owned());
}

static void vmx_write_seg(enum okvm_seg seg, u16 sel, u64 base, u32 limit,
			  u32 ar);

/*
 * The state after RESET or INIT (SDM Vol. 3A 10.1.1, Table 10-1, the same
 * as svm/vmcb.c): real mode at F000:FFF0 with CS base FFFF0000, caches
 * disabled after RESET and kept by INIT, EDX the processor signature.
 */
void vmx_vcpu_reset(struct okvm_vcpu *vcpu, bool init)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET;
	enum okvm_seg seg;

	if (init)
		cr0 = (vmx_get_cr(vcpu, 0) & (X86_CR0_CD | X86_CR0_NW)) |
		      X86_CR0_ET;

	vmx_get(vmx);
	vmx_set_controls(vmx);
	vmx_set_host_state();
	if (!init)
		vmcs_write(VMCS_TSC_OFFSET, -rdtsc());

	/* Code: present, readable, accessed; data: present, writable, accessed. */
	vmx_write_seg(OKVM_SEG_CS, 0xf000, 0xffff0000, 0xffff,
		      VMX_AR_P | VMX_AR_S | 0xb);
	for (seg = OKVM_SEG_ES; seg <= OKVM_SEG_GS; seg++)
		if (seg != OKVM_SEG_CS)
			vmx_write_seg(seg, 0, 0, 0xffff, VMX_AR_P | VMX_AR_S | 0x3);
	vmx_write_seg(OKVM_SEG_LDTR, 0, 0, 0xffff, VMX_AR_P | 0x2);
	/* A busy 32-bit TSS: the type VM entry accepts (SDM 27.3.1.2). */
	vmx_write_seg(OKVM_SEG_TR, 0, 0, 0xffff, VMX_AR_P | 0xb);
	vmcs_write(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0xffff);

	vmcs_write(VMCS_GUEST_DR7, 0x400);
	vmcs_write(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	/* PAT after reset: WB, WT, UC-, UC, repeated (SDM 13.12.4). */
	vmcs_write(VMCS_GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, 0);
	vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
	vmx_put();

	vmx_set_cr(vcpu, 0, cr0);
	vmx_set_cr(vcpu, 3, 0);
	vmx_set_cr(vcpu, 4, 0);
	vmx_set_efer(vcpu, 0);
	vmx->cr2 = 0;
	vmx->dr6 = DR6_RESERVED;
	vmx->tpr = 0;
	vmx->star = 0;
	vmx->lstar = 0;
	vmx->cstar = 0;
	vmx->sfmask = 0;
	vmx->kernel_gs_base = 0;
	vmx->reinject = 0;

	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs[OKVM_RDX] = okvm_reset_rdx(vcpu);
	vcpu->rip = 0xfff0;
	vcpu->rflags = X86_EFLAGS_FIXED;
	memset(vcpu->dr, 0, sizeof(vcpu->dr));
	/* A debugger's setup outlives the reset, as in KVM (debug.c). */
	vmx->dbg_owned = false;
	vmx_update_guest_debug(vcpu);
}

/*
 * Segment fields are laid out ES, CS, SS, DS, FS, GS, LDTR, TR, two
 * encodings apart (SDM Appendix B); okvm's enum has TR before LDTR.
 */
static unsigned int vmx_seg_index(enum okvm_seg seg)
{
	if (seg == OKVM_SEG_TR)
		return 7;
	if (seg == OKVM_SEG_LDTR)
		return 6;
	return seg;
}

static void vmx_write_seg(enum okvm_seg seg, u16 sel, u64 base, u32 limit,
			  u32 ar)
{
	unsigned int i = vmx_seg_index(seg) * 2;

	vmcs_write(VMCS_GUEST_ES_SELECTOR + i, sel);
	vmcs_write(VMCS_GUEST_ES_BASE + i, base);
	vmcs_write(VMCS_GUEST_ES_LIMIT + i, limit);
	vmcs_write(VMCS_GUEST_ES_AR + i, ar);
}

void vmx_get_segment(struct okvm_vcpu *vcpu, struct kvm_segment *var,
		     enum okvm_seg seg)
{
	unsigned int i = vmx_seg_index(seg) * 2;
	u32 ar;

	vmx_get(to_vmx(vcpu));
	memset(var, 0, sizeof(*var));
	var->selector = vmcs_read(VMCS_GUEST_ES_SELECTOR + i);
	var->base = vmcs_read(VMCS_GUEST_ES_BASE + i);
	var->limit = vmcs_read(VMCS_GUEST_ES_LIMIT + i);
	ar = vmcs_read(VMCS_GUEST_ES_AR + i);
	vmx_put();

	/*
	 * SDM 25.4.1: bit 16 marks an unusable segment (a null selector
	 * loaded in protected mode); the other bits of an unusable one mean
	 * nothing, so it reads as not present, as in KVM.
	 */
	var->unusable = !!(ar & VMX_AR_UNUSABLE);
	var->type = ar & VMX_AR_TYPE_MASK;
	var->s = !!(ar & VMX_AR_S);
	var->dpl = (ar >> VMX_AR_DPL_SHIFT) & 3;
	var->present = !var->unusable;
	var->avl = !!(ar & VMX_AR_AVL);
	var->l = !!(ar & VMX_AR_L);
	var->db = !!(ar & VMX_AR_DB);
	var->g = !!(ar & VMX_AR_G);
}

void vmx_set_segment(struct okvm_vcpu *vcpu, const struct kvm_segment *var,
		     enum okvm_seg seg)
{
	u32 ar = VMX_AR_UNUSABLE;
	u8 type = var->type;

	/*
	 * VM entry wants the accessed bit of every usable code and data
	 * segment (SDM 27.3.1.2) and the CPU sets it on every load anyway;
	 * KVM sets it here too, so the VMM reads back what KVM would give.
	 */
	if (seg != OKVM_SEG_LDTR)
		type |= 1;
	if (!var->unusable && var->present)
		ar = type | (var->s ? VMX_AR_S : 0) |
		     ((var->dpl & 3) << VMX_AR_DPL_SHIFT) | VMX_AR_P |
		     (var->avl ? VMX_AR_AVL : 0) | (var->l ? VMX_AR_L : 0) |
		     (var->db ? VMX_AR_DB : 0) | (var->g ? VMX_AR_G : 0);
	vmx_get(to_vmx(vcpu));
	vmx_write_seg(seg, var->selector, var->base, var->limit, ar);
	vmx_put();
}

void vmx_get_dtable(struct okvm_vcpu *vcpu, struct kvm_dtable *dt, bool idt)
{
	vmx_get(to_vmx(vcpu));
	memset(dt, 0, sizeof(*dt));
	dt->base = vmcs_read(idt ? VMCS_GUEST_IDTR_BASE : VMCS_GUEST_GDTR_BASE);
	dt->limit = vmcs_read(idt ? VMCS_GUEST_IDTR_LIMIT :
				    VMCS_GUEST_GDTR_LIMIT);
	vmx_put();
}

void vmx_set_dtable(struct okvm_vcpu *vcpu, const struct kvm_dtable *dt,
		    bool idt)
{
	vmx_get(to_vmx(vcpu));
	vmcs_write(idt ? VMCS_GUEST_IDTR_BASE : VMCS_GUEST_GDTR_BASE, dt->base);
	vmcs_write(idt ? VMCS_GUEST_IDTR_LIMIT : VMCS_GUEST_GDTR_LIMIT,
		   dt->limit);
	vmx_put();
}

/*
 * What the guest believes CR0 or CR4 holds: the hardware value for the
 * bits it owns, the read shadow for the host-owned ones (SDM 25.6.6).
 */
static unsigned long vmx_read_cr_shadowed(unsigned long cr_field,
					  unsigned long mask_field,
					  unsigned long shadow_field)
{
	unsigned long mask = vmcs_read(mask_field);

	return (vmcs_read(cr_field) & ~mask) | (vmcs_read(shadow_field) & mask);
}

unsigned long vmx_get_cr(struct okvm_vcpu *vcpu, int cr)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long val;

	switch (cr) {
	case 2:
		return vmx->cr2;
	case 8:
		return vmx->tpr;
	}
	vmx_get(vmx);
	if (cr == 0)
		val = vmx_read_cr_shadowed(VMCS_GUEST_CR0,
					   VMCS_CR0_GUEST_HOST_MASK,
					   VMCS_CR0_READ_SHADOW);
	else if (cr == 3)
		val = vmcs_read(VMCS_GUEST_CR3);
	else
		val = vmx_read_cr_shadowed(VMCS_GUEST_CR4,
					   VMCS_CR4_GUEST_HOST_MASK,
					   VMCS_CR4_READ_SHADOW);
	vmx_put();
	return val;
}

/*
 * PAE paging without long mode keeps the four PDPTEs in registers loaded at
 * MOV CR3 (SDM Vol. 3A 4.4.1); with EPT, VM entry loads them from the VMCS
 * (SDM 27.3.2.4) and VM exit saves them. So when the VMM changes the paging
 * state, okvm reads them from guest memory as the CPU would have, and the
 * next entry writes them (entry.c). An unreadable table gives zeros, which
 * make the guest's next access fault.
 */
static void vmx_refresh_pdptes(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long cr0 = vmx_get_cr(vcpu, 0);
	unsigned long cr4 = vmx_get_cr(vcpu, 4);

	vmx->pdpte_load = false;
	if (!(cr0 & X86_CR0_PG) || !(cr4 & X86_CR4_PAE) ||
	    (vmx_get_efer(vcpu) & EFER_LMA))
		return;
	if (okvm_vcpu_read_guest(vcpu, vmx_get_cr(vcpu, 3) & 0xffffffe0,
				 vmx->pdpte, sizeof(vmx->pdpte)))
		memset(vmx->pdpte, 0, sizeof(vmx->pdpte));
	vmx->pdpte_load = true;
}

void vmx_set_cr(struct okvm_vcpu *vcpu, int cr, unsigned long val)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long owned;

	switch (cr) {
	case 2:
		vmx->cr2 = val;
		return;
	case 8:
		vmx->tpr = val & 0xf;
		return;
	}
	vmx_get(vmx);
	switch (cr) {
	case 0:
		/* The host-owned bits: what VMX needs in hardware. */
		owned = vmx_cr0_host_owned();
		vmcs_write(VMCS_CR0_READ_SHADOW, val);
		vmcs_write(VMCS_GUEST_CR0,
			   ((val & ~owned) | (vmx_config.cr0_fixed0 & owned)) &
			   (vmx_config.cr0_fixed1 | X86_CR0_PE | X86_CR0_PG));
		break;
	case 3:
		vmcs_write(VMCS_GUEST_CR3, val);
		break;
	default:
		/*
		 * The guest's value with the bits VMX operation fixes forced
		 * (VMXE); which bits exit when changed is the guest/host
		 * mask's business, not this value's.
		 */
		vmcs_write(VMCS_CR4_READ_SHADOW, val);
		vmcs_write(VMCS_GUEST_CR4, (val | vmx_config.cr4_fixed0) &
			   vmx_config.cr4_fixed1);
		break;
	}
	vmx_put();
	/* Guest translations may have changed: flush its TLB entries. */
	vcpu->tlb_flush = true;
	vmx_refresh_pdptes(vcpu);
}

u64 vmx_get_efer(struct okvm_vcpu *vcpu)
{
	u64 efer;

	vmx_get(to_vmx(vcpu));
	efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	vmx_put();
	return efer;
}

/*
 * EFER is loaded on entry and saved on exit (vmx.c's controls); the
 * "IA-32e mode guest" entry control must match EFER.LMA (SDM 27.3.1.1),
 * which entry.c sees to before each entry.
 */
void vmx_set_efer(struct okvm_vcpu *vcpu, u64 efer)
{
	vmx_get(to_vmx(vcpu));
	vmcs_write(VMCS_GUEST_IA32_EFER, efer);
	vmx_put();
	vmx_refresh_pdptes(vcpu);
}

/* The MSRs okvm keeps in the vCPU because the VMCS does not hold them. */
static u64 *vmx_msr_slot(struct vmx_vcpu *vmx, u32 index)
{
	switch (index) {
	case MSR_STAR:
		return &vmx->star;
	case MSR_LSTAR:
		return &vmx->lstar;
	case MSR_CSTAR:
		return &vmx->cstar;
	case MSR_SYSCALL_MASK:
		return &vmx->sfmask;
	case MSR_KERNEL_GS_BASE:
		return &vmx->kernel_gs_base;
	default:
		return NULL;
	}
}

/* ... and those it does (SDM 25.4.1, Appendix B). */
static unsigned long vmx_msr_field(u32 index)
{
	switch (index) {
	case MSR_IA32_SYSENTER_CS:
		return VMCS_GUEST_SYSENTER_CS;
	case MSR_IA32_SYSENTER_ESP:
		return VMCS_GUEST_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP:
		return VMCS_GUEST_SYSENTER_EIP;
	case MSR_FS_BASE:
		return VMCS_GUEST_ES_BASE + OKVM_SEG_FS * 2;
	case MSR_GS_BASE:
		return VMCS_GUEST_ES_BASE + OKVM_SEG_GS * 2;
	case MSR_IA32_CR_PAT:
		return VMCS_GUEST_IA32_PAT;
	case MSR_IA32_TSC:
		return VMCS_TSC_OFFSET;
	default:
		return 0;
	}
}

/*
 * The MSRs okvm writes into the CPU itself around each entry (entry.c)
 * must hold values WRMSR accepts there. msr.c has refused non-canonical
 * LSTAR, CSTAR and KERNEL_GS_BASE already, as KVM does for every vendor;
 * on Intel CPUs IA32_FMASK's bits 63:32 are reserved too (SDM Vol. 4
 * Table 2-2), which kvm-intel finds when its WRMSR of the guest's value
 * fails: #GP for the guest, an error for the VMM, here as well.
 */
static bool vmx_msr_value_loadable(u32 index, u64 data)
{
	return index != MSR_SYSCALL_MASK || !(data >> 32);
}

int vmx_get_msr(struct okvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long field;
	u64 *slot = vmx_msr_slot(vmx, index);

	if (slot) {
		*data = *slot;
		return 0;
	}
	field = vmx_msr_field(index);
	if (!field)
		return 1;
	vmx_get(vmx);
	*data = vmcs_read(field);
	vmx_put();
	if (index == MSR_IA32_TSC)
		*data += rdtsc();
	return 0;
}

/* The guest's TSC is the host's plus the VMCS's TSC offset (SDM 26.3). */
u64 vmx_adjust_tsc_offset(struct okvm_vcpu *vcpu, s64 delta)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 offset;

	vmx_get(vmx);
	offset = vmcs_read(VMCS_TSC_OFFSET) + delta;
	vmcs_write(VMCS_TSC_OFFSET, offset);
	vmx_put();
	return offset;
}

int vmx_set_msr(struct okvm_vcpu *vcpu, u32 index, u64 data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long field;
	u64 *slot = vmx_msr_slot(vmx, index);

	if (slot) {
		if (!vmx_msr_value_loadable(index, data))
			return 1;
		*slot = data;
		return 0;
	}
	field = vmx_msr_field(index);
	if (!field)
		return OKVM_MSR_UNKNOWN;
	if (index == MSR_IA32_TSC)
		data -= rdtsc();
	/* SYSENTER_CS is a 32-bit field; the other two keep 64 bits, as in KVM. */
	vmx_get(vmx);
	vmcs_write(field, data);
	vmx_put();
	return 0;
}

/*
 * Exit as soon as the guest can take an external interrupt: RFLAGS.IF set
 * and no STI or MOV SS blocking (interrupt-window exiting, SDM 25.6.2 and chapter 26).
 * The exit clears the control again (exit.c).
 */
void vmx_enable_irq_window(struct okvm_vcpu *vcpu)
{
	vmx_get(to_vmx(vcpu));
	vmcs_set_bits(VMCS_PROC_CONTROLS, PROC_INTERRUPT_WINDOW_EXITING);
	vmx_put();
}

u64 vmx_get_interrupt_shadow(struct okvm_vcpu *vcpu)
{
	u32 state;
	u64 shadow = 0;

	vmx_get(to_vmx(vcpu));
	state = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	vmx_put();
	if (state & GUEST_INTR_STI_BLOCKING)
		shadow |= KVM_X86_SHADOW_INT_STI;
	if (state & GUEST_INTR_MOV_SS_BLOCKING)
		shadow |= KVM_X86_SHADOW_INT_MOV_SS;
	return shadow;
}

void vmx_set_interrupt_shadow(struct okvm_vcpu *vcpu, u64 shadow)
{
	u32 state;

	vmx_get(to_vmx(vcpu));
	state = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
		~(GUEST_INTR_STI_BLOCKING | GUEST_INTR_MOV_SS_BLOCKING);
	if (shadow & KVM_X86_SHADOW_INT_STI)
		state |= GUEST_INTR_STI_BLOCKING;
	else if (shadow & KVM_X86_SHADOW_INT_MOV_SS)
		state |= GUEST_INTR_MOV_SS_BLOCKING;
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, state);
	vmx_put();
}

/* DR7 is the VMCS's, or the guest's own while a debugger has it (debug.c). */
unsigned long vmx_get_dr(struct okvm_vcpu *vcpu, int dr)
{
	unsigned long val;

	if (dr == 6)
		return to_vmx(vcpu)->dr6;
	if (to_vmx(vcpu)->dbg_owned)
		return to_vmx(vcpu)->dr7;
	vmx_get(to_vmx(vcpu));
	val = vmcs_read(VMCS_GUEST_DR7);
	vmx_put();
	return val;
}

void vmx_set_dr(struct okvm_vcpu *vcpu, int dr, unsigned long val)
{
	if (dr == 6) {
		to_vmx(vcpu)->dr6 = val;
		return;
	}
	if (to_vmx(vcpu)->dbg_owned) {
		to_vmx(vcpu)->dr7 = val;
		val = okvm_guest_debug_dr7(vcpu);
	}
	vmx_get(to_vmx(vcpu));
	vmcs_write(VMCS_GUEST_DR7, val);
	vmx_put();
}

void vmx_get_exit_info(struct okvm_vcpu *vcpu, u64 info[5])
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	info[0] = vmx->exit_reason;
	info[1] = vmx->exit_qual;
	info[2] = vmx->exit_gpa;
	info[3] = vmx->exit_idt_info;
	info[4] = vmx->exit_idt_error;
}

/*
 * Which of VM entry's checks on the guest state (SDM 27.3.1) okvm sees
 * failing, for the dmesg line of a failed entry; NULL if none it knows.
 * The common ways a VMM's KVM_SET_SREGS goes wrong are covered; the CPU
 * checks many more.
 */
static const char *vmx_failed_check(void)
{
	unsigned long cr0 = vmcs_read(VMCS_GUEST_CR0);
	unsigned long cr4 = vmcs_read(VMCS_GUEST_CR4);
	u64 efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	u32 entry = vmcs_read32(VMCS_ENTRY_CONTROLS);
	u32 intr = vmcs_read32(VMCS_ENTRY_INTR_INFO);
	u32 cs_ar = vmcs_read32(VMCS_GUEST_ES_AR + 2);
	u32 ss_ar = vmcs_read32(VMCS_GUEST_ES_AR + 4);
	u32 tr_ar = vmcs_read32(VMCS_GUEST_ES_AR + 14);
	unsigned long rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	u32 blocking = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	bool ia32e = entry & ENTRY_IA32E_MODE_GUEST;

	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return "CR0.PG is set and CR0.PE is not (27.3.1.1)";
	if ((cr0 & vmx_cr0_host_owned() & vmx_config.cr0_fixed0) !=
	    (vmx_config.cr0_fixed0 & vmx_cr0_host_owned()))
		return "CR0 lacks a bit IA32_VMX_CR0_FIXED0 requires (27.3.1.1)";
	if (cr0 >> 32)
		return "CR0 bits 63:32 are not zero (27.3.1.1)";
	if ((cr4 & vmx_config.cr4_fixed0) != vmx_config.cr4_fixed0 ||
	    (cr4 & ~vmx_config.cr4_fixed1))
		return "CR4 does not meet IA32_VMX_CR4_FIXED0/1 (27.3.1.1)";
	if (!!(efer & EFER_LMA) != ia32e)
		return "EFER.LMA differs from the IA-32e mode guest control (27.3.1.1)";
	if ((cr0 & X86_CR0_PG) && !!(efer & EFER_LME) != !!(efer & EFER_LMA))
		return "CR0.PG is set and EFER.LME differs from EFER.LMA (27.3.1.1)";
	if (ia32e && (!(cr0 & X86_CR0_PG) || !(cr4 & X86_CR4_PAE)))
		return "an IA-32e mode guest without CR0.PG and CR4.PAE (27.3.1.1)";
	if (ia32e && (cs_ar & VMX_AR_L) && (cs_ar & VMX_AR_DB))
		return "CS.L and CS.D/B are both set in IA-32e mode (27.3.1.2)";
	if (tr_ar & VMX_AR_UNUSABLE)
		return "TR is unusable (27.3.1.2)";
	if ((tr_ar & VMX_AR_TYPE_MASK) != 11 &&
	    (ia32e || (tr_ar & VMX_AR_TYPE_MASK) != 3))
		return "TR is not a busy TSS (27.3.1.2)";
	if (!(cs_ar & VMX_AR_P) || !(cs_ar & VMX_AR_S) || !(cs_ar & 8))
		return "CS is not a present code segment (27.3.1.2)";
	if (!(ss_ar & VMX_AR_UNUSABLE) && (ss_ar & VMX_AR_TYPE_MASK) != 3 &&
	    (ss_ar & VMX_AR_TYPE_MASK) != 7)
		return "SS is not a writable data segment (27.3.1.2)";
	if (!(rflags & X86_EFLAGS_FIXED) || (rflags >> 22))
		return "RFLAGS bit 1 is clear or a reserved bit is set (27.3.1.4)";
	if ((intr & INTR_INFO_VALID) &&
	    (intr & INTR_INFO_TYPE_MASK) == INTR_TYPE_EXTERNAL &&
	    (!(rflags & X86_EFLAGS_IF) ||
	     (blocking & (GUEST_INTR_STI_BLOCKING | GUEST_INTR_MOV_SS_BLOCKING))))
		return "an interrupt injected while the guest blocks them (27.3.1.5)";
	return NULL;
}

static void vmx_dump_seg(const char *name, unsigned int i)
{
	pr_info("  %-4s sel %04lx ar %05lx limit %08lx base %016lx\n", name,
		vmcs_read(VMCS_GUEST_ES_SELECTOR + i * 2),
		vmcs_read(VMCS_GUEST_ES_AR + i * 2),
		vmcs_read(VMCS_GUEST_ES_LIMIT + i * 2),
		vmcs_read(VMCS_GUEST_ES_BASE + i * 2));
}

/* For KVM_EXIT_FAIL_ENTRY: what VM entry refused, once per VM. */
void vmx_dump_vmcs(struct okvm_vcpu *vcpu)
{
	static const char *const segs[] = {
		"es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr"
	};
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	const char *check;
	unsigned int i;

	vmx_get(vmx);
	check = vmx_failed_check();
	okvm_vm_warn(vcpu->vm, "vcpu%u: VM entry failed (exit reason %#x, qualification %#lx, VM-instruction error %lu): %s\n",
		     vcpu->id, vmx->exit_reason, vmx->exit_qual,
		     vmcs_read(VMCS_INSTRUCTION_ERROR),
		     check ? check : "no guest-state check okvm knows fails");
	pr_info("VMCS of vm%u vcpu%u (Intel SDM Vol. 3C 25.4):\n",
		vcpu->vm->id, vcpu->id);
	pr_info("  cr0 %016lx cr3 %016lx cr4 %016lx efer %016lx\n",
		vmcs_read(VMCS_GUEST_CR0), vmcs_read(VMCS_GUEST_CR3),
		vmcs_read(VMCS_GUEST_CR4), vmcs_read(VMCS_GUEST_IA32_EFER));
	pr_info("  rip %016lx rsp %016lx rflags %016lx\n",
		vmcs_read(VMCS_GUEST_RIP), vmcs_read(VMCS_GUEST_RSP),
		vmcs_read(VMCS_GUEST_RFLAGS));
	pr_info("  entry %08lx exit %08lx pin %08lx proc %08lx proc2 %08lx\n",
		vmcs_read(VMCS_ENTRY_CONTROLS), vmcs_read(VMCS_EXIT_CONTROLS),
		vmcs_read(VMCS_PIN_CONTROLS), vmcs_read(VMCS_PROC_CONTROLS),
		vmcs_read(VMCS_PROC_CONTROLS2));
	pr_info("  interruptibility %08lx activity %lu intr_info %08lx dr7 %016lx\n",
		vmcs_read(VMCS_GUEST_INTERRUPTIBILITY),
		vmcs_read(VMCS_GUEST_ACTIVITY_STATE),
		vmcs_read(VMCS_ENTRY_INTR_INFO), vmcs_read(VMCS_GUEST_DR7));
	for (i = 0; i < ARRAY_SIZE(segs); i++)
		vmx_dump_seg(segs[i], i);
	pr_info("  gdtr limit %08lx base %016lx idtr limit %08lx base %016lx\n",
		vmcs_read(VMCS_GUEST_GDTR_LIMIT), vmcs_read(VMCS_GUEST_GDTR_BASE),
		vmcs_read(VMCS_GUEST_IDTR_LIMIT), vmcs_read(VMCS_GUEST_IDTR_BASE));
	vmx_put();
}
