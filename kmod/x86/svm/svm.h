/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * svm.h - what the files of kmod/x86/svm/ share.
 */
#ifndef OKVM_SVM_H
#define OKVM_SVM_H

#include "../../okvm.h"
#include "../../mmu.h"
#include "vmcb.h"

/*
 * struct svm_vcpu - okvm's vCPU plus its VMCB.
 *
 * @asid, @asid_cpu and @asid_gen: the address-space id the vCPU's guest
 * TLB entries are tagged with on @asid_cpu, valid while that CPU's ASID
 * generation is still @asid_gen (svm.c, svm_assign_asid()).
 * @reinject: an event whose delivery a #VMEXIT interrupted (EXITINTINFO),
 * to be delivered again at the next VMRUN (APM 15.7.2).
 * @iret_rip, @awaiting_iret: SVM keeps no "NMIs blocked" state okvm can
 * read, so while the guest blocks NMIs okvm intercepts IRET; at that exit
 * NMIs count as unblocked, but none is injected before the guest has left
 * the IRET at @iret_rip.
 */
struct svm_vcpu {
	struct okvm_vcpu vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 asid;
	int asid_cpu;
	u64 asid_gen;
	u64 reinject;
	unsigned long iret_rip;
	bool awaiting_iret;
};

static inline struct svm_vcpu *to_svm(struct okvm_vcpu *vcpu)
{
	return container_of(vcpu, struct svm_vcpu, vcpu);
}

/* svm.c */
extern u64 svm_iopm_pa, svm_msrpm_pa, svm_msrpm_all_pa;
extern bool svm_has_nrips;
/* vmenter.S: the X86_FEATURE_* flags its RSB fill and untraining key on. */
extern const u32 okvm_svm_rsb_flag, okvm_svm_untrain_ibpb_flag;
void svm_forget_vmcb(struct vmcb *vmcb);

/* tsc_aux.c */
void svm_load_guest_tsc_aux(u64 val);
void svm_put_host_tsc_aux(void);
int svm_prepare_cpu(struct svm_vcpu *svm);
u64 svm_host_vmsave_pa(void);

/* vmcb.c */
int svm_vcpu_create(struct okvm_vcpu *vcpu);
void svm_vcpu_free(struct okvm_vcpu *vcpu);
void svm_vcpu_reset(struct okvm_vcpu *vcpu, bool init);
void svm_get_segment(struct okvm_vcpu *vcpu, struct kvm_segment *var,
		     enum okvm_seg seg);
void svm_set_segment(struct okvm_vcpu *vcpu, const struct kvm_segment *var,
		     enum okvm_seg seg);
void svm_get_dtable(struct okvm_vcpu *vcpu, struct kvm_dtable *dt, bool idt);
void svm_set_dtable(struct okvm_vcpu *vcpu, const struct kvm_dtable *dt,
		    bool idt);
unsigned long svm_get_cr(struct okvm_vcpu *vcpu, int cr);
void svm_set_cr(struct okvm_vcpu *vcpu, int cr, unsigned long val);
u64 svm_get_efer(struct okvm_vcpu *vcpu);
void svm_set_efer(struct okvm_vcpu *vcpu, u64 efer);
int svm_get_msr(struct okvm_vcpu *vcpu, u32 index, u64 *data);
int svm_set_msr(struct okvm_vcpu *vcpu, u32 index, u64 data);
u64 svm_adjust_tsc_offset(struct okvm_vcpu *vcpu, s64 delta);
void svm_enable_irq_window(struct okvm_vcpu *vcpu);
bool svm_event_queued(struct okvm_vcpu *vcpu);
void svm_disable_irq_window(struct okvm_vcpu *vcpu);
u64 svm_get_interrupt_shadow(struct okvm_vcpu *vcpu);
void svm_set_interrupt_shadow(struct okvm_vcpu *vcpu, u64 shadow);
void svm_dump_vmcb(struct okvm_vcpu *vcpu);
void svm_get_exit_info(struct okvm_vcpu *vcpu, u64 info[5]);
unsigned long svm_get_dr(struct okvm_vcpu *vcpu, int dr);
void svm_set_dr(struct okvm_vcpu *vcpu, int dr, unsigned long val);

/* entry.c */
int svm_vcpu_run(struct okvm_vcpu *vcpu);

/* exit.c */
int svm_handle_exit(struct okvm_vcpu *vcpu);

/* npt.c */
extern const struct okvm_spte_format svm_npt_format;

/* vmenter.S */
void okvm_svm_vmrun(u64 vmcb_pa, unsigned long *regs, u64 host_save_pa);

#endif /* OKVM_SVM_H */
