/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ops.h - the one place where okvm splits by CPU vendor.
 *
 * Generic code never asks "is this Intel or AMD?": it calls the hooks of the
 * struct okvm_x86_ops that x86.c chose at load time. kmod/x86/svm/ and
 * kmod/x86/vmx/ each fill one table.
 */
#ifndef OKVM_X86_OPS_H
#define OKVM_X86_OPS_H

#include <linux/kvm.h>

#include "../okvm.h"
#include "emulate.h"

struct okvm_spte_format;

/*
 * struct okvm_x86_ops - a hardware virtualization extension.
 *
 * Every hook but @unload and @vcpu_load is mandatory: an extension that
 * cannot do one of these things cannot run a guest. Hooks taking a vCPU
 * are called with its mutex held.
 *
 * @name:	"svm" or "vmx", for messages and /sys/module/okvm/parameters.
 * @hypercall_insn: the vendor's hypercall instruction (VMMCALL, VMCALL),
 *		which hypercall.c writes over the other vendor's.
 * @probe:	decide whether this CPU can run okvm on this extension. Called
 *		once at module load, in process context. Returns 0 when every
 *		online CPU is usable; -ENODEV when the CPU does not implement
 *		the extension at all (the next vendor is then tried, silently);
 *		any other errno is final and the hook has already printed one
 *		line saying why:
 *		  -EPERM	firmware disabled the extension
 *		  -EBUSY	another hypervisor is using it
 *		  -EOPNOTSUPP	a feature okvm requires is missing
 *		  -ENOMEM
 * @unload:	optional: free what a successful @probe allocated, at
 *		module unload.
 * @hardware_enable:	turn the extension on for the calling CPU (hotplug
 *		thread bound to it: may sleep). Returns 0, or -EBUSY if another
 *		hypervisor holds this CPU (after printing a rate-limited line),
 *		or -ENOMEM.
 * @hardware_disable:	turn it off again on the calling CPU; also called
 *		from IPI context at reboot, and on CPUs where it is already off.
 * @emergency_disable:	turn it off on the calling CPU from the kernel's
 *		crash and emergency-restart path (NMI context, any CPU, any
 *		moment, possibly inside a VM entry): no lock, no sleep, no
 *		freeing, no printing; a CPU where it is off is left alone.
 *
 * @spte:	how a second-level entry encodes a page and its rights.
 * @vcpu_size:	bytes of the vendor's vCPU struct, which begins with a
 *		struct okvm_vcpu; okvm allocates it zeroed.
 * @vcpu_create: allocate the VMCB/VMCS; -ENOMEM on failure.
 * @vcpu_free:	free what @vcpu_create allocated.
 * @vcpu_reset:	put the vCPU in its power-on state (SDM 9.1.1, APM 14.1.3):
 *		real mode at F000:FFF0, no paging; with @init, the state after
 *		INIT instead, which keeps CR0.CD/NW and the TSC.
 * @vcpu_load:	optional: called before each entry with preemption off and
 *		interrupts on, so that the vendor can make the vCPU's state
 *		ready on this CPU, waiting for another CPU if needed (VMX
 *		clears a VMCS on the CPU it leaves).
 * @vcpu_run:	enter the guest once and return when it exits. Called with
 *		interrupts and preemption disabled, the guest FPU loaded and
 *		@regs/@rip/@rflags current. @tlb_flush set asks to drop the
 *		guest's TLB entries first (and is cleared by the hook).
 *		Returns 0, or -EIO if this CPU's extension is off (reboot in
 *		progress).
 * @handle_exit: act on the exit @vcpu_run saw. Preemptible. Returns 1 to
 *		enter again, 0 to return to user space with kvm_run filled in,
 *		or a negative errno for KVM_RUN to return.
 * @get_segment/@set_segment: a segment register in KVM's terms.
 * @get_dtable/@set_dtable: the GDTR (@idt false) or IDTR.
 * @get_cr/@set_cr: CR0, CR2, CR3, CR4 or CR8 (the TPR); set_cr does not
 *		validate (the caller has) and never fails.
 * @get_efer/@set_efer: the guest's EFER as the guest sees it.
 * @get_msr/@set_msr: the MSRs the VMCB/VMCS holds; @get_msr returns 1 for
 *		an MSR the vendor does not hold, so generic code (msr.c) tries
 *		its own; @set_msr is called last, returns 1 for a value the
 *		MSR cannot take and OKVM_MSR_UNKNOWN for an MSR it does not
 *		hold.
 * @adjust_tsc_offset: add @delta to the guest's TSC offset, exactly (the
 *		guest's TSC moves by @delta; msr.c, IA32_TSC_ADJUST), and
 *		return the offset now in force (delta 0 reads it: tsc_ctrl.c).
 * @enable_irq_window: make the guest exit as soon as it can take an
 *		external interrupt (RFLAGS.IF set, no interrupt shadow); that
 *		exit's handle_exit returns 1.
 * @event_queued: the next entry injects an event that goes ahead of any
 *		external interrupt: a delivery the last exit interrupted, or
 *		an NMI the guest can take now. Called with interrupts off,
 *		after vcpu_load.
 * @get_interrupt_shadow/@set_interrupt_shadow: KVM_X86_SHADOW_INT_* bits.
 * @dump_state:	print the guest state for a failed entry (once per VM).
 * @get_exit_info: the last exit as KVM reports it in emulation failures:
 *		reason, two qualifications, interrupted event, its error code.
 * @get_dr/@set_dr: DR6 or DR7, which the VMCB/VMCS holds.
 */
struct okvm_x86_ops {
	const char *name;
	const u8 *hypercall_insn;	/* the native one, 3 bytes */
	int (*probe)(void);
	void (*unload)(void);
	int (*hardware_enable)(void);
	void (*hardware_disable)(void);
	void (*emergency_disable)(void);

	/* The second-level page-table entry format (mmu.c). */
	const struct okvm_spte_format *spte;

	/* vCPUs */
	size_t vcpu_size;
	int (*vcpu_create)(struct okvm_vcpu *vcpu);
	void (*vcpu_free)(struct okvm_vcpu *vcpu);
	void (*vcpu_reset)(struct okvm_vcpu *vcpu, bool init);
	void (*vcpu_load)(struct okvm_vcpu *vcpu);
	int (*vcpu_run)(struct okvm_vcpu *vcpu);
	int (*handle_exit)(struct okvm_vcpu *vcpu);

	/* Guest state that lives in the VMCB/VMCS. */
	void (*get_segment)(struct okvm_vcpu *vcpu, struct kvm_segment *var,
			    enum okvm_seg seg);
	void (*set_segment)(struct okvm_vcpu *vcpu,
			    const struct kvm_segment *var, enum okvm_seg seg);
	void (*get_dtable)(struct okvm_vcpu *vcpu, struct kvm_dtable *dt,
			   bool idt);
	void (*set_dtable)(struct okvm_vcpu *vcpu, const struct kvm_dtable *dt,
			   bool idt);
	unsigned long (*get_cr)(struct okvm_vcpu *vcpu, int cr);
	void (*set_cr)(struct okvm_vcpu *vcpu, int cr, unsigned long val);
	u64 (*get_efer)(struct okvm_vcpu *vcpu);
	void (*set_efer)(struct okvm_vcpu *vcpu, u64 efer);
	int (*get_msr)(struct okvm_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct okvm_vcpu *vcpu, u32 index, u64 data);
	u64 (*adjust_tsc_offset)(struct okvm_vcpu *vcpu, s64 delta);
	void (*enable_irq_window)(struct okvm_vcpu *vcpu);
	bool (*event_queued)(struct okvm_vcpu *vcpu);
	u64 (*get_interrupt_shadow)(struct okvm_vcpu *vcpu);
	void (*set_interrupt_shadow)(struct okvm_vcpu *vcpu, u64 shadow);
	void (*dump_state)(struct okvm_vcpu *vcpu);
	void (*get_exit_info)(struct okvm_vcpu *vcpu, u64 info[5]);
	unsigned long (*get_dr)(struct okvm_vcpu *vcpu, int dr);
	void (*set_dr)(struct okvm_vcpu *vcpu, int dr, unsigned long val);
};

extern const struct okvm_x86_ops okvm_svm_ops;
extern const struct okvm_x86_ops okvm_vmx_ops;

/* The extension in use, chosen by okvm_x86_init(). */
extern const struct okvm_x86_ops *okvm_x86;

#endif /* OKVM_X86_OPS_H */
