/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmx.h - what the files of kmod/x86/vmx/ share.
 */
#ifndef OKVM_VMX_H
#define OKVM_VMX_H

#include <linux/list.h>

#include "../../okvm.h"
#include "vmcs.h"

struct okvm_spte_format;

/*
 * struct vmx_config - the VMX controls okvm runs every guest with, settled
 * once at load from the capability MSRs (SDM Vol. 3D Appendix A): a control
 * the CPU forces to 1 is 1, a control okvm wants is 1 only if the CPU
 * allows it, and probing refuses the CPU when one okvm needs is missing.
 */
struct vmx_config {
	u32 revision;		/* IA32_VMX_BASIC[30:0], the VMCS revision id */
	u32 pin;
	u32 proc;
	u32 proc2;
	u32 exit;
	u32 entry;
	u64 cr0_fixed0, cr0_fixed1;
	u64 cr4_fixed0, cr4_fixed1;
	u64 ept_cap;		/* IA32_VMX_EPT_VPID_CAP */
	bool ept_ad;		/* EPT accessed and dirty flags in use */
	bool invept_single;	/* INVEPT single-context, else all-context */
};

extern struct vmx_config vmx_config;

/*
 * struct vmx_vcpu - okvm's vCPU plus its VMCS.
 *
 * @vmcs, @vmcs_pa: the 4 KiB VMCS region (SDM 25.2).
 * @vmcs_cpu: the CPU on which the VMCS is active (loaded by VMPTRLD and not
 *	cleared since), or -1. A VMCS may be active on one CPU at a time, and
 *	its data may sit in that CPU until VMCLEAR writes it back (SDM 25.1,
 *	25.11.1), so moving to another CPU means VMCLEAR there first.
 * @launched: VMLAUNCH succeeded since the last VMCLEAR, so the next entry
 *	is VMRESUME (SDM 25.1, "launch state").
 * @active_node: on the per-CPU list of VMCSs active on @vmcs_cpu, which
 *	that CPU clears before it leaves VMX operation.
 * @vpid: the virtual-processor id tagging the guest's TLB entries, or 0.
 * @host_cr3, @host_cr4: what HOST_CR3/HOST_CR4 hold, rewritten when the
 *	host's change (new PCID, CR4.PCE per mm).
 * @cr2, @dr6: guest registers VM entry and exit do not switch.
 * @tpr: the guest's CR8, emulated (CR8 load/store exiting).
 * @star ... @kernel_gs_base: syscall MSRs the VMCS does not hold; loaded
 *	around each entry (entry.c).
 * @exit_*: the exit information fields, read once right after the exit
 *	(exit.c works from these, in preemptible context).
 * @reinject, @reinject_error, @reinject_len: an event whose delivery the
 *	exit interrupted (IDT-vectoring information, SDM 28.2.4), injected
 *	again at the next entry.
 * @pdpte: the four PAE page-directory-pointer entries for the next entry
 *	(SDM 27.3.2.4), read from guest memory when the VMM set CR0/CR3/CR4
 *	or EFER; @pdpte_load says whether the next entry must write them.
 */
struct vmx_vcpu {
	struct okvm_vcpu vcpu;
	void *vmcs;
	u64 vmcs_pa;
	int vmcs_cpu;
	bool launched;
	bool msr_intercept_all;	/* VMCS_MSR_BITMAP is the intercept-all one */
	struct list_head active_node;
	u16 vpid;

	unsigned long host_cr3;
	unsigned long host_cr4;
	unsigned long cr2;
	unsigned long dr6;
	u8 tpr;
	u64 star, lstar, cstar, sfmask, kernel_gs_base;

	u32 exit_reason;
	u32 exit_intr_info;
	u32 exit_intr_error;
	u32 exit_idt_info;
	u32 exit_idt_error;
	u32 exit_insn_len;
	unsigned long exit_qual;
	u64 exit_gpa;

	u32 reinject;
	u32 reinject_error;
	u32 reinject_len;

	u64 pdpte[4];
	bool pdpte_load;
};

static inline struct vmx_vcpu *to_vmx(struct okvm_vcpu *vcpu)
{
	return container_of(vcpu, struct vmx_vcpu, vcpu);
}

/* vmx.c */
void vmx_vmcs_load(struct vmx_vcpu *vmx);
void vmx_vmcs_clear(struct vmx_vcpu *vmx);
void vmx_vmclear(u64 pa);
bool vmx_vmcs_is_current(struct vmx_vcpu *vmx);
void vmx_vcpu_load(struct okvm_vcpu *vcpu);
bool vmx_cpu_on(void);
u64 vmx_msr_bitmap_pa(bool intercept_all);
int vmx_vpid_alloc(void);
void vmx_vpid_free(int vpid);
void vmx_invept(u64 eptp);

/*
 * VMCS access from preemptible context (the ioctls, the exit handlers):
 * make the vCPU's VMCS current on this CPU and keep the thread there.
 */
static inline void vmx_get(struct vmx_vcpu *vmx)
{
	preempt_disable();
	vmx_vmcs_load(vmx);
}

static inline void vmx_put(void)
{
	preempt_enable();
}

/* vmcs.c */
int vmx_vcpu_create(struct okvm_vcpu *vcpu);
void vmx_vcpu_free(struct okvm_vcpu *vcpu);
void vmx_vcpu_reset(struct okvm_vcpu *vcpu, bool init);
void vmx_set_host_state_per_cpu(struct vmx_vcpu *vmx, int cpu);
u64 vmx_eptp(struct okvm_vm *vm);
void vmx_get_segment(struct okvm_vcpu *vcpu, struct kvm_segment *var,
		     enum okvm_seg seg);
void vmx_set_segment(struct okvm_vcpu *vcpu, const struct kvm_segment *var,
		     enum okvm_seg seg);
void vmx_get_dtable(struct okvm_vcpu *vcpu, struct kvm_dtable *dt, bool idt);
void vmx_set_dtable(struct okvm_vcpu *vcpu, const struct kvm_dtable *dt,
		    bool idt);
unsigned long vmx_get_cr(struct okvm_vcpu *vcpu, int cr);
void vmx_set_cr(struct okvm_vcpu *vcpu, int cr, unsigned long val);
u64 vmx_get_efer(struct okvm_vcpu *vcpu);
void vmx_set_efer(struct okvm_vcpu *vcpu, u64 efer);
int vmx_get_msr(struct okvm_vcpu *vcpu, u32 index, u64 *data);
int vmx_set_msr(struct okvm_vcpu *vcpu, u32 index, u64 data);
u64 vmx_adjust_tsc_offset(struct okvm_vcpu *vcpu, s64 delta);
void vmx_enable_irq_window(struct okvm_vcpu *vcpu);
bool vmx_event_queued(struct okvm_vcpu *vcpu);
u64 vmx_get_interrupt_shadow(struct okvm_vcpu *vcpu);
void vmx_set_interrupt_shadow(struct okvm_vcpu *vcpu, u64 shadow);
void vmx_dump_vmcs(struct okvm_vcpu *vcpu);
void vmx_get_exit_info(struct okvm_vcpu *vcpu, u64 info[5]);
unsigned long vmx_get_dr(struct okvm_vcpu *vcpu, int dr);
void vmx_set_dr(struct okvm_vcpu *vcpu, int dr, unsigned long val);

/* entry.c */
void vmx_read_host_syscall_msrs(void);
int vmx_vcpu_run(struct okvm_vcpu *vcpu);

/* exit.c */
int vmx_handle_exit(struct okvm_vcpu *vcpu);

/* ept.c */
extern const struct okvm_spte_format vmx_ept_format;

/* vmenter.S */
int okvm_vmx_vmenter(unsigned long *regs, bool launched);
void okvm_vmx_call_host_nmi(void);

#endif /* OKVM_VMX_H */
