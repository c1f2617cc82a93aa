/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lapic.h - the local APIC's services to the rest of the vCPU: register
 * accesses from MMIO and MSRs, the events the run loop injects, HLT and
 * INIT/SIPI (lapic.c). The interrupt controllers reach it through irq.h.
 */
#ifndef OKVM_X86_LAPIC_H
#define OKVM_X86_LAPIC_H

#include <linux/types.h>

struct okvm_vcpu;

/* MMIO inside the xAPIC page: handled (true) or not the APIC's (false). */
bool okvm_lapic_mmio(struct okvm_vcpu *vcpu, u64 gpa, unsigned int len,
		     bool write, void *data);
/* IA32_APIC_BASE writes; 1 for #GP (or a refused KVM_SET_MSRS). */
int okvm_lapic_set_base(struct okvm_vcpu *vcpu, u64 data, bool host);
/* x2APIC MSRs 0x800-0x8ff; 1 for #GP. */
int okvm_lapic_x2apic_rdmsr(struct okvm_vcpu *vcpu, u32 msr, u64 *data);
int okvm_lapic_x2apic_wrmsr(struct okvm_vcpu *vcpu, u32 msr, u64 data);
/* IA32_TSC_DEADLINE. */
u64 okvm_lapic_get_tsc_deadline(struct okvm_vcpu *vcpu);
void okvm_lapic_set_tsc_deadline(struct okvm_vcpu *vcpu, u64 data);
/* CR8 is the TPR's bits 7:4 (SDM Vol. 3 10.8.6.1). */
unsigned long okvm_lapic_get_cr8(struct okvm_vcpu *vcpu);
void okvm_lapic_set_cr8(struct okvm_vcpu *vcpu, unsigned long cr8);

/* The run loop (run.c). */
int okvm_lapic_pending_vector(struct okvm_vcpu *vcpu);
void okvm_lapic_ack(struct okvm_vcpu *vcpu, u8 vector);
bool okvm_lapic_take_nmi(struct okvm_vcpu *vcpu);
bool okvm_lapic_has_events(struct okvm_vcpu *vcpu);
void okvm_lapic_accept_events(struct okvm_vcpu *vcpu);
u32 okvm_lapic_mp_state(struct okvm_vcpu *vcpu);
void okvm_lapic_set_runnable(struct okvm_vcpu *vcpu);
int okvm_lapic_halt(struct okvm_vcpu *vcpu);
int okvm_lapic_block(struct okvm_vcpu *vcpu);
void okvm_lapic_wake(struct okvm_vcpu *vcpu);
/* An INIT that SMM latched (smm.c, KVM_GET/SET_VCPU_EVENTS). */
bool okvm_lapic_init_latched(struct okvm_vcpu *vcpu);
void okvm_lapic_set_init_latched(struct okvm_vcpu *vcpu, bool on);
/* KVM_SET_VAPIC_ADDR's TPR word, around each entry. */
void okvm_lapic_sync_to_vapic(struct okvm_vcpu *vcpu);
void okvm_lapic_sync_from_vapic(struct okvm_vcpu *vcpu);

/*
 * KVM_GET/SET_LAPIC, KVM_GET/SET_MP_STATE, KVM_SET_VAPIC_ADDR with an
 * in-kernel irqchip.
 */
long okvm_lapic_vcpu_ioctl(struct okvm_vcpu *vcpu, unsigned int ioctl,
			   void __user *argp);

#endif /* OKVM_X86_LAPIC_H */
