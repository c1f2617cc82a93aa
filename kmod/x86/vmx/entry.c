// SPDX-License-Identifier: GPL-2.0-only
/*
 * entry.c - one trip into the guest: the VMCS brought up to date, the
 * state VM entry and exit do not switch switched by hand, VMLAUNCH or
 * VMRESUME, and what the exit left behind collected (Intel SDM Vol. 3C
 * chapters 27 "VM Entries" and 28 "VM Exits").
 *
 * Compared with SVM: VMRUN/#VMEXIT switch FS, GS, TR, LDTR and the SYSCALL
 * MSRs only with VMSAVE/VMLOAD, and leave CR2 and DR6 in the VMCB. VM entry
 * and exit switch FS/GS bases, the SYSENTER MSRs, EFER and PAT through the
 * VMCS, but not KERNEL_GS_BASE, the SYSCALL MSRs, CR2 or DR6, and they
 * leave the host's segment selectors zero, its GDT and TR limits at their
 * minimum, and its DEBUGCTL and DR7 cleared (SDM 28.5). This file puts
 * all of that right.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hw_breakpoint.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "vmx.h"
#include "../spec.h"
#include "../x86.h"

struct vmx_syscall_msrs {
	u64 star, lstar, cstar, sfmask;
};

/*
 * The host's SYSCALL MSRs: the kernel sets them at boot, the same on every
 * CPU (syscall_init()), and never changes them; read once at load.
 */
static struct vmx_syscall_msrs vmx_host_syscall;

void vmx_read_host_syscall_msrs(void)
{
	rdmsrl(MSR_STAR, vmx_host_syscall.star);
	rdmsrl(MSR_LSTAR, vmx_host_syscall.lstar);
	rdmsrl(MSR_CSTAR, vmx_host_syscall.cstar);
	rdmsrl(MSR_SYSCALL_MASK, vmx_host_syscall.sfmask);
}

/* What the host had before the entry and gets back after the exit. */
struct vmx_host_state {
	u16 ldt;
	u16 ds, es, fs, gs;
	unsigned long fs_base;
	unsigned long kernel_gs_base;
	unsigned long debugctl;
};

/*
 * The host's LDTR: a VM exit loads it with the null selector (SDM 28.5.2),
 * and the kernel reloads it only when it switches to another mm. A VMM
 * thread whose process installed an LDT (modify_ldt(2), e.g. Wine or
 * DOSEMU) would otherwise return from KVM_RUN with no LDT, and its LDT
 * selectors would fault. Like KVM (vmx_prepare_switch_to_host()), okvm
 * reads the selector before the entry and reloads it after the exit when
 * it was not null; the descriptor it names is in this CPU's GDT, which
 * the exit left in place.
 */
static u16 vmx_save_host_ldt(void)
{
	u16 sel;

	asm volatile("sldt %0" : "=g"(sel));
	return sel;
}

static void vmx_restore_host_ldt(u16 sel)
{
	if (sel)
		asm volatile("lldt %0" : : "rm"(sel) : "memory");
}

/*
 * WRMSR of the SYSCALL MSRs and KERNEL_GS_BASE, whose guest values a guest
 * or the VMM chose. msr.c and vmcs.c validated those, so this never
 * faults; if it did anyway, the fault is caught (the exception-table
 * variant) and the MSR keeps the value it had, which on the way in is the
 * host's own: harmless to the host.
 */
static void vmx_wrmsr_safe(u32 msr, u64 val)
{
	if (wrmsrl_safe(msr, val))
		pr_warn_once("WRMSR %#x of %#llx failed\n", msr, val);
}

/* Write @to where it differs from @from. */
static void vmx_switch_syscall_msrs(const struct vmx_syscall_msrs *from,
				    const struct vmx_syscall_msrs *to)
{
	if (from->star != to->star)
		vmx_wrmsr_safe(MSR_STAR, to->star);
	if (from->lstar != to->lstar)
		vmx_wrmsr_safe(MSR_LSTAR, to->lstar);
	if (from->cstar != to->cstar)
		vmx_wrmsr_safe(MSR_CSTAR, to->cstar);
	if (from->sfmask != to->sfmask)
		vmx_wrmsr_safe(MSR_SYSCALL_MASK, to->sfmask);
}

/*
 * Before the entry, with interrupts off: the guest's SYSCALL MSRs,
 * KERNEL_GS_BASE, CR2 and DR6 into the CPU, the host's FS base into the
 * VMCS, and the host's selectors remembered. The SYSCALL MSRs are switched
 * only where the guest's differ: they matter only to SYSCALL, which the
 * host kernel does not execute before the switch back.
 */
static void vmx_switch_to_guest(struct vmx_vcpu *vmx, struct vmx_host_state *h)
{
	struct vmx_syscall_msrs guest = {
		vmx->star, vmx->lstar, vmx->cstar, vmx->sfmask
	};

	h->ldt = vmx_save_host_ldt();
	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	rdmsrl(MSR_FS_BASE, h->fs_base);
	vmcs_write(VMCS_HOST_FS_BASE, h->fs_base);
	rdmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	vmx_wrmsr_safe(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	vmx_switch_syscall_msrs(&vmx_host_syscall, &guest);
	h->debugctl = get_debugctlmsr();

	if (native_read_cr2() != vmx->cr2)
		native_write_cr2(vmx->cr2);
	if (vmx->dr6 != DR6_RESERVED)
		set_debugreg(vmx->dr6, 6);
}

/* After the exit, interrupts still off: the reverse. */
static void vmx_switch_to_host(struct vmx_vcpu *vmx, struct vmx_host_state *h)
{
	struct vmx_syscall_msrs guest = {
		vmx->star, vmx->lstar, vmx->cstar, vmx->sfmask
	};
	unsigned long dr6;

	vmx->cr2 = native_read_cr2();
	/* The guest's #DBs set DR6 bits; keep them, give the host a clean DR6. */
	get_debugreg(dr6, 6);
	if (dr6 != DR6_RESERVED || vmx->dr6 != DR6_RESERVED) {
		vmx->dr6 = dr6;
		set_debugreg(DR6_RESERVED, 6);
	}

	/* SWAPGS in the guest changes KERNEL_GS_BASE without an exit. */
	rdmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	vmx_switch_syscall_msrs(&guest, &vmx_host_syscall);

	/* First, so that selectors below that name the LDT find it. */
	vmx_restore_host_ldt(h->ldt);
	/* SDM 28.5.2: the exit loaded null DS/ES/FS/GS (host fields are 0). */
	if (h->ds)
		loadsegment(ds, h->ds);
	if (h->es)
		loadsegment(es, h->es);
	if (h->fs) {
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, h->fs_base);
	}
	if (h->gs)
		load_gs_index(h->gs);
	wrmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);

	/*
	 * SDM 28.5.2: the exit set the GDTR limit to FFFFh and the TR limit to
	 * 67h. Reload the GDT; have the kernel reload TR before a task with
	 * an I/O bitmap, which lies beyond 67h, returns to user space.
	 */
	load_fixmap_gdt(smp_processor_id());
	invalidate_tss_limit();
	/* SDM 28.5.1: DEBUGCTL cleared and DR7 set to 400h. */
	if (h->debugctl)
		update_debugctlmsr(h->debugctl);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
}

/*
 * Host state that can change between entries of the same thread: CR3 with
 * PCID (a new ASID for the same mm) and CR4 (per-mm bits like PCE).
 */
static void vmx_refresh_host_state(struct vmx_vcpu *vmx)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow();

	if (cr3 != vmx->host_cr3) {
		vmcs_write(VMCS_HOST_CR3, cr3);
		vmx->host_cr3 = cr3;
	}
	if (cr4 != vmx->host_cr4) {
		vmcs_write(VMCS_HOST_CR4, cr4);
		vmx->host_cr4 = cr4;
	}
}

/*
 * SDM 28.2.4: an event whose delivery the exit interrupted (IDT-vectoring
 * information) must be delivered again, or the guest loses it, typically an
 * exception whose IDT entry or stack page was not yet in the EPT. Software
 * interrupts and software exceptions are left out as under SVM: RIP still
 * points at the INT/INT3/INTO/INT1 instruction, which raises them again. An
 * NMI being delivered had not yet blocked NMIs.
 */
static void vmx_save_interrupted_event(struct vmx_vcpu *vmx)
{
	u32 info = vmx->exit_idt_info;
	u32 type = info & INTR_INFO_TYPE_MASK;

	vmx->reinject = 0;
	if (!(info & INTR_INFO_VALID))
		return;
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SOFT_EXCEPTION)
		return;
	if (type == INTR_TYPE_NMI)
		vmx->vcpu.nmi_masked = false;
	vmx->reinject = info & ~INTR_INFO_NMI_UNBLOCKED_BY_IRET;
	vmx->reinject_error = vmx->exit_idt_error;
}

/*
 * Choose what VM entry injects (SDM 27.6), in the order the CPU would
 * deliver events: an interrupted delivery first, then an exception, an
 * NMI, an external interrupt; one per entry. VM entry fails if an NMI is
 * injected while MOV SS or STI blocking is in effect, or an external
 * interrupt while the guest cannot take one (SDM 27.3.1.5): those wait,
 * and the NMI-window or interrupt-window exit says when they can go.
 * (Under SVM okvm injects a KVM_INTERRUPT at once, as KVM does; VMX does
 * not allow it, so here it waits for RFLAGS.IF, as on real hardware.)
 * Returns the interruption information, 0 for none.
 */
static u32 vmx_event_to_inject(struct okvm_vcpu *vcpu, u32 blocking,
			       u32 *error, u32 *proc)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct okvm_exception *e = &vcpu->exception;
	bool shadow = blocking & (GUEST_INTR_STI_BLOCKING |
				  GUEST_INTR_MOV_SS_BLOCKING);
	u32 info;

	if (vmx->reinject) {
		info = vmx->reinject;
		*error = vmx->reinject_error;
		vmx->reinject = 0;
		return info;
	}
	if (e->pending) {
		e->pending = false;
		info = e->vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID;
		/*
		 * Real mode pushes no error code, and VM entry refuses one
		 * there (SDM 27.2.1.3); SVM simply drops it.
		 */
		if (e->has_error_code &&
		    (vmcs_read(VMCS_GUEST_CR0) & X86_CR0_PE)) {
			info |= INTR_INFO_DELIVER_ERROR_CODE;
			*error = e->error_code;
		}
		return info;
	}
	if (vcpu->nmi_pending) {
		if (!vcpu->nmi_masked && !shadow) {
			vcpu->nmi_pending = false;
			vcpu->nmi_masked = true;
			return 2 | INTR_TYPE_NMI | INTR_INFO_VALID;
		}
		*proc |= PROC_NMI_WINDOW_EXITING;
	}
	if (vcpu->interrupt.injected) {
		if ((vcpu->rflags & X86_EFLAGS_IF) && !shadow) {
			vcpu->interrupt.injected = false;
			return vcpu->interrupt.vector | INTR_TYPE_EXTERNAL |
			       INTR_INFO_VALID;
		}
		*proc |= PROC_INTERRUPT_WINDOW_EXITING;
	}
	return 0;
}

/* An event vmx_event_to_inject() puts ahead of an external interrupt. */
bool vmx_event_queued(struct okvm_vcpu *vcpu)
{
	u32 blocking = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

	return to_vmx(vcpu)->reinject ||
	       (vcpu->nmi_pending && !vcpu->nmi_masked &&
		!(blocking & (GUEST_INTR_STI_BLOCKING |
			      GUEST_INTR_MOV_SS_BLOCKING)));
}

/* The events part of the entry: injection, windows, NMI blocking. */
static void vmx_prepare_events(struct okvm_vcpu *vcpu)
{
	u32 blocking = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	u32 proc = vmcs_read32(VMCS_PROC_CONTROLS);
	u32 new_proc = proc & ~PROC_NMI_WINDOW_EXITING;
	u32 error = 0, info;

	info = vmx_event_to_inject(vcpu, blocking, &error, &new_proc);
	/* NMI blocking (with virtual NMIs, SDM 25.4.2) is okvm's to track. */
	if (vcpu->nmi_masked && !(info && (info & INTR_INFO_TYPE_MASK) ==
				  INTR_TYPE_NMI))
		blocking |= GUEST_INTR_NMI_BLOCKING;
	else
		blocking &= ~GUEST_INTR_NMI_BLOCKING;
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, blocking);
	vmcs_write(VMCS_ENTRY_INTR_INFO, info);
	if (info & INTR_INFO_DELIVER_ERROR_CODE)
		vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR_CODE, error);
	if (new_proc != proc)
		vmcs_write(VMCS_PROC_CONTROLS, new_proc);

	/* Another event waits behind this one: exit right after delivery. */
	if (info && (vcpu->exception.pending || vcpu->interrupt.injected ||
		     vcpu->nmi_pending))
		okvm_request_immediate_exit();
}

/* The exit information okvm uses, read while the VMCS is current. */
static void vmx_read_exit_info(struct vmx_vcpu *vmx)
{
	vmx->exit_reason = vmcs_read32(VMCS_EXIT_REASON);
	vmx->exit_qual = vmcs_read(VMCS_EXIT_QUALIFICATION);
	vmx->exit_intr_info = vmcs_read32(VMCS_EXIT_INTR_INFO);
	vmx->exit_intr_error = vmcs_read32(VMCS_EXIT_INTR_ERROR_CODE);
	vmx->exit_idt_info = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	vmx->exit_idt_error = vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE);
	vmx->exit_insn_len = vmcs_read32(VMCS_EXIT_INSTRUCTION_LEN);
	vmx->exit_gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
}

/*
 * An NMI or machine check that arrived in guest mode exited instead of
 * reaching the host (NMI exiting; #MC in the exception bitmap), and NMIs
 * stay blocked until the next IRET (SDM chapter 28, "VM Exits"). Hand it to
 * the kernel's handler now: an NMI through an interrupt frame so that its
 * IRET unblocks NMIs, a machine check through okvm_machine_check() (x86.c),
 * as KVM does.
 */
static void vmx_handle_host_event(struct vmx_vcpu *vmx)
{
	u32 info = vmx->exit_intr_info;

	if ((vmx->exit_reason & 0xffff) != EXIT_REASON_EXCEPTION_NMI ||
	    !(info & INTR_INFO_VALID))
		return;
	if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI)
		okvm_vmx_call_host_nmi();
	else if ((info & INTR_INFO_VECTOR_MASK) == OKVM_MC_VECTOR)
		okvm_machine_check();
}

int vmx_vcpu_run(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_host_state host;
	u64 efer;
	u32 entry;
	int failed;
	int i;

	/* VMX off here (reboot), or the VMCS could not be loaded. */
	if (!vmx_cpu_on() || !vmx_vmcs_is_current(vmx))
		return -EIO;

	if (vcpu->tlb_flush) {
		vmx_invept(vmx_eptp(vcpu->vm));
		vcpu->tlb_flush = false;
	}
	vmx_refresh_host_state(vmx);
	/* An MSR filter denies something: every MSR access exits. */
	if (unlikely(vmx->msr_intercept_all !=
		     READ_ONCE(vcpu->vm->msr_intercept_all))) {
		vmx->msr_intercept_all = !vmx->msr_intercept_all;
		vmcs_write(VMCS_MSR_BITMAP,
			   vmx_msr_bitmap_pa(vmx->msr_intercept_all));
	}
	vmcs_write(VMCS_GUEST_RSP, vcpu->regs[OKVM_RSP]);
	vmcs_write(VMCS_GUEST_RIP, vcpu->rip);
	vmcs_write(VMCS_GUEST_RFLAGS, vcpu->rflags);

	/* SDM 27.3.1.1: "IA-32e mode guest" must equal EFER.LMA. */
	efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	entry = vmcs_read32(VMCS_ENTRY_CONTROLS);
	if (!!(entry & ENTRY_IA32E_MODE_GUEST) != !!(efer & EFER_LMA))
		vmcs_write(VMCS_ENTRY_CONTROLS, entry ^ ENTRY_IA32E_MODE_GUEST);
	if (vmx->pdpte_load) {
		for (i = 0; i < 4; i++)
			vmcs_write(VMCS_GUEST_PDPTE0 + i * 2, vmx->pdpte[i]);
		vmx->pdpte_load = false;
	}
	vmx_prepare_events(vcpu);

	vmx_switch_to_guest(vmx, &host);
	okvm_l1d_flush();
	failed = okvm_vmx_vmenter(vcpu->regs, vmx->launched);
	vmx_switch_to_host(vmx, &host);
	okvm_spec_after_exit();

	if (failed) {
		/*
		 * VMfail (SDM 31.2): the entry never started, and the VM-
		 * instruction error field says why (bad controls or host
		 * state: an okvm bug). exit.c reports it as a failed entry.
		 */
		vmx->exit_reason = EXIT_REASON_FAILED_ENTRY;
		vmx->exit_qual = vmcs_read32(VMCS_INSTRUCTION_ERROR);
		vmx->exit_idt_info = 0;
		return 0;
	}
	vmx_read_exit_info(vmx);
	/* SDM 27.8: a machine check during the entry is the host's. */
	if ((vmx->exit_reason & 0xffff) == EXIT_REASON_MCE_DURING_ENTRY)
		okvm_machine_check();
	/* A failed entry (exit reason bit 31) leaves the launch state as it was. */
	if (vmx->exit_reason & EXIT_REASON_FAILED_ENTRY)
		return 0;
	vmx->launched = true;
	vmx_handle_host_event(vmx);

	vcpu->regs[OKVM_RSP] = vmcs_read(VMCS_GUEST_RSP);
	vcpu->rip = vmcs_read(VMCS_GUEST_RIP);
	vcpu->rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	vcpu->nmi_masked = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
			   GUEST_INTR_NMI_BLOCKING;
	vmx_save_interrupted_event(vmx);
	return 0;
}
