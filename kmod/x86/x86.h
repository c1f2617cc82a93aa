/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86.h - the generic x86 code the vendors call: choosing the extension at
 * load, and emulating what an exit asks for (CPUID, MSRs, port I/O, MMIO,
 * XSETBV) the same way for SVM and VMX.
 */
#ifndef OKVM_X86_H
#define OKVM_X86_H

#include <linux/types.h>

#include "../okvm.h"

/* Exception vectors (SDM Vol. 3 Table 6-1). */
#define OKVM_DE_VECTOR	0
#define OKVM_DB_VECTOR	1
#define OKVM_BP_VECTOR	3
#define OKVM_UD_VECTOR	6
#define OKVM_GP_VECTOR	13
#define OKVM_MC_VECTOR	18
#define OKVM_PF_VECTOR	14
#define OKVM_AC_VECTOR	17

/* A #PF an emulated access would raise (paging.c computes it). */
struct okvm_page_fault {
	bool valid;
	u32 error_code;
	u64 addr;		/* the linear address: CR2 */
};

/* x86.c */
int okvm_x86_init(void);
void okvm_x86_exit(void);
int okvm_x86_first_cpu_where(bool (*test)(void));
const char *okvm_x86_hypervisor_owner(const char *const *candidates);
u64 okvm_x86_max_gpa(void);
void okvm_machine_check(void);
extern u64 okvm_host_xcr0;
extern u64 okvm_supported_xcr0;

/* run.c */
int okvm_vcpu_ioctl_run(struct okvm_vcpu *vcpu);

/* irqchip.c */
long okvm_vm_ioctl_irqchip(struct okvm_vm *vm, unsigned int ioctl,
			   void __user *argp);
void okvm_irqchip_free(struct okvm_vm *vm);

/* exit_common.c */
int okvm_exit_hlt(struct okvm_vcpu *vcpu);
void okvm_queue_exception(struct okvm_vcpu *vcpu, u8 vector,
			  bool has_error_code, u32 error_code);
void okvm_skip_insn(struct okvm_vcpu *vcpu, unsigned int len);
void okvm_request_immediate_exit(void);
int okvm_internal_error(struct okvm_vcpu *vcpu, u32 suberror, u64 data);
int okvm_emulation_failure(struct okvm_vcpu *vcpu, const u8 *insn,
			   unsigned int len);
int okvm_emulate_xsetbv(struct okvm_vcpu *vcpu, unsigned int cpl);

/* guest_debug.c */
long okvm_vcpu_set_guest_debug(struct okvm_vcpu *vcpu, void __user *argp);
bool okvm_guest_debug_owns_dr6(struct okvm_vcpu *vcpu);
unsigned long okvm_guest_debug_dr7(struct okvm_vcpu *vcpu);
const unsigned long *okvm_guest_debug_dr0_3(struct okvm_vcpu *vcpu);
unsigned long okvm_get_rflags(struct okvm_vcpu *vcpu);
void okvm_set_rflags(struct okvm_vcpu *vcpu, unsigned long rflags);
int okvm_debug_exit(struct okvm_vcpu *vcpu, u8 vector, unsigned long dr6,
		    unsigned long dr7);
int okvm_guest_debug_step_exit(struct okvm_vcpu *vcpu, int ret);
int okvm_guest_debug_step_sti(struct okvm_vcpu *vcpu);
int okvm_emulate_mov_dr(struct okvm_vcpu *vcpu, unsigned int dr,
			unsigned int reg, unsigned int size, bool write,
			unsigned int len);

/* KVM_GUESTDBG_BLOCKIRQ: no interrupt or NMI is injected (guest_debug.c). */
static inline bool okvm_guest_debug_blocks_irqs(struct okvm_vcpu *vcpu)
{
	return vcpu->guest_debug.control & KVM_GUESTDBG_BLOCKIRQ;
}

/*
 * Under KVM_GUESTDBG_BLOCKIRQ an interrupt window the APIC opened earlier
 * is closed before the entry, unless the VMM asked for one or waits to
 * inject its own: it would only make the guest exit for nothing, and
 * QEMU's TCG takes that exit right after STI, dropping the single-step
 * trap due there (the debugger would stop one instruction late).
 */
static inline bool okvm_guest_debug_closes_irq_window(struct okvm_vcpu *vcpu)
{
	return okvm_guest_debug_blocks_irqs(vcpu) &&
	       !READ_ONCE(vcpu->run->request_interrupt_window) &&
	       !vcpu->interrupt.injected;
}

/* clock.c */
long okvm_vm_ioctl_clock(struct okvm_vm *vm, unsigned int ioctl,
			 void __user *argp);
void okvm_clock_init(struct okvm_vm *vm);
u64 okvm_clock_read(struct okvm_vm *vm);
u32 okvm_clock_valid_flags(void);
bool okvm_is_kvmclock_msr(u32 index);
int okvm_kvmclock_get_msr(struct okvm_vcpu *vcpu, u32 index, u64 *data);
int okvm_kvmclock_set_msr(struct okvm_vcpu *vcpu, u32 index, u64 data);
void okvm_kvmclock_request(struct okvm_vcpu *vcpu);
void okvm_kvmclock_request_all(struct okvm_vm *vm);
void okvm_kvmclock_before_entry(struct okvm_vcpu *vcpu);
long okvm_vcpu_kvmclock_ctrl(struct okvm_vcpu *vcpu);

/* tsc_ctrl.c */
long okvm_vcpu_ioctl_device_attr(struct okvm_vcpu *vcpu, unsigned int ioctl,
				 void __user *argp);

/* pit.c */
long okvm_vm_ioctl_pit(struct okvm_vm *vm, unsigned int ioctl,
		       void __user *argp);
bool okvm_pit_pio(struct okvm_vm *vm, u16 port, u8 size, bool in, void *data);
void okvm_pit_free(struct okvm_vm *vm);

/* regs.c */
int okvm_vcpu_ioctl_regs(struct okvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp);
void okvm_get_regs(struct okvm_vcpu *vcpu, struct kvm_regs *regs);
void okvm_set_regs(struct okvm_vcpu *vcpu, const struct kvm_regs *regs);
void okvm_get_sregs(struct okvm_vcpu *vcpu, struct kvm_sregs *sregs);
int okvm_set_sregs(struct okvm_vcpu *vcpu, const struct kvm_sregs *sregs);
bool okvm_sregs_valid(struct okvm_vcpu *vcpu, const struct kvm_sregs *s);
void okvm_load_sregs(struct okvm_vcpu *vcpu, const struct kvm_sregs *s);
void okvm_get_vcpu_events(struct okvm_vcpu *vcpu,
			  struct kvm_vcpu_events *events);
int okvm_set_vcpu_events(struct okvm_vcpu *vcpu,
			 const struct kvm_vcpu_events *events);
enum okvm_cpu_mode okvm_vcpu_cpu_mode(struct okvm_vcpu *vcpu);
unsigned int okvm_vcpu_cpl(struct okvm_vcpu *vcpu);
unsigned int okvm_xsave2_size(void);
unsigned long okvm_sync_cr8(struct okvm_vcpu *vcpu);
bool okvm_cr4_valid(struct okvm_vcpu *vcpu, unsigned long cr4);
int okvm_emulate_mov_to_cr4(struct okvm_vcpu *vcpu, unsigned long val);
int okvm_emulate_mov_to_cr8(struct okvm_vcpu *vcpu, u64 val);

/* smm.c */
int okvm_emulate_rsm(struct okvm_vcpu *vcpu);
void okvm_smm_post(struct okvm_vcpu *vcpu);
bool okvm_smm_posted(struct okvm_vcpu *vcpu);
bool okvm_smm_has_event(struct okvm_vcpu *vcpu);
void okvm_smm_before_entry(struct okvm_vcpu *vcpu);
bool okvm_smm_waits(struct okvm_vcpu *vcpu);
int okvm_vcpu_ioctl_smi(struct okvm_vcpu *vcpu);
void okvm_smm_reset(struct okvm_vcpu *vcpu, bool init);
void okvm_smm_get_events(struct okvm_vcpu *vcpu, struct kvm_vcpu_events *ev);
int okvm_smm_check_events(struct okvm_vcpu *vcpu,
			  const struct kvm_vcpu_events *ev);
void okvm_smm_set_events(struct okvm_vcpu *vcpu,
			 const struct kvm_vcpu_events *ev);

/* sync_regs.c */
int okvm_sync_regs_from_run(struct okvm_vcpu *vcpu);
void okvm_sync_regs_to_run(struct okvm_vcpu *vcpu);

/* cpuid.c */
int okvm_cpuid_init(void);
void okvm_cpuid_exit(void);
u32 okvm_xsave_size(u64 xcr0);
int okvm_dev_get_supported_cpuid(void __user *argp);
int okvm_vcpu_set_cpuid2(struct okvm_vcpu *vcpu, void __user *argp);
int okvm_vcpu_set_cpuid1(struct okvm_vcpu *vcpu, void __user *argp);
int okvm_vcpu_get_cpuid2(struct okvm_vcpu *vcpu, void __user *argp);
void okvm_emulate_cpuid(struct okvm_vcpu *vcpu);
unsigned long okvm_reset_rdx(struct okvm_vcpu *vcpu);
bool okvm_guest_has(struct okvm_vcpu *vcpu, u32 function, int reg, int bit);
void okvm_guest_cpuid_set(struct okvm_vcpu *vcpu, u32 function, int reg,
			  int bit, bool on);
bool okvm_guest_is_intel(struct okvm_vcpu *vcpu);
unsigned int okvm_guest_maxphyaddr(struct okvm_vcpu *vcpu);

/* mce.c */
void okvm_mce_vcpu_init(struct okvm_vcpu *vcpu);
bool okvm_is_mce_msr(u32 msr);
int okvm_mce_get_msr(struct okvm_vcpu *vcpu, u32 msr, u64 *data, bool host);
int okvm_mce_set_msr(struct okvm_vcpu *vcpu, u32 msr, u64 data, bool host);
long okvm_mce_vcpu_ioctl(struct okvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp);
long okvm_mce_get_cap_supported(u64 __user *argp);

/* mtrr.c */
bool okvm_is_mtrr_msr(u32 msr);
int okvm_mtrr_get_msr(struct okvm_vcpu *vcpu, u32 msr, u64 *data);
int okvm_mtrr_set_msr(struct okvm_vcpu *vcpu, u32 msr, u64 data);

/* msr.c */
/*
 * What the MSR accessors return besides 0 and 1 (1: the access is refused,
 * KVM's "invalid"): no such MSR, or the VMM's filter denied the access.
 */
#define OKVM_MSR_UNKNOWN	2
#define OKVM_MSR_FILTERED	3
int okvm_handle_rdmsr(struct okvm_vcpu *vcpu, unsigned int len);
int okvm_handle_wrmsr(struct okvm_vcpu *vcpu, unsigned int len);
void okvm_msr_complete_user(struct okvm_vcpu *vcpu);

/* hypercall.c */
bool okvm_has_quirk(struct okvm_vm *vm, u64 quirk);
bool okvm_guest_pv_has(struct okvm_vcpu *vcpu, unsigned int feature);
int okvm_emulate_hypercall(struct okvm_vcpu *vcpu, unsigned int len);
int okvm_handle_ud(struct okvm_vcpu *vcpu);
int okvm_emulate_monitor_mwait(struct okvm_vcpu *vcpu, unsigned int len);

/* msr_filter.c */
long okvm_vm_set_msr_filter(struct okvm_vm *vm, void __user *argp);
bool okvm_msr_allowed(struct okvm_vcpu *vcpu, u32 index, u32 type);
void okvm_msr_filter_free(struct okvm_vm *vm);
int okvm_vcpu_ioctl_msrs(struct okvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp);
int okvm_dev_ioctl_msrs(unsigned int ioctl, void __user *argp);
void okvm_msr_reset(struct okvm_vcpu *vcpu);
bool okvm_host_has_tsc_aux(void);

/* io.c */
int okvm_emulate_pio(struct okvm_vcpu *vcpu, u16 port, u8 size, bool in,
		     bool string, unsigned long next_rip);
int okvm_emulate_mmio(struct okvm_vcpu *vcpu, u64 gpa, bool write);
int okvm_complete_io(struct okvm_vcpu *vcpu);
u64 okvm_read_gpr(struct okvm_vcpu *vcpu, unsigned int reg, unsigned int size);
void okvm_write_gpr(struct okvm_vcpu *vcpu, unsigned int reg, u64 val,
		    unsigned int size);

/* xmm.c */
void okvm_read_xmm(struct okvm_vcpu *vcpu, unsigned int reg, u8 val[16]);
void okvm_write_xmm(struct okvm_vcpu *vcpu, unsigned int reg, const u8 val[16]);

/* guest_mem.c */
int okvm_read_guest(struct okvm_vm *vm, u64 gpa, void *buf, unsigned int len);
int okvm_write_guest(struct okvm_vm *vm, u64 gpa, const void *buf,
		     unsigned int len);
int okvm_vcpu_read_guest(struct okvm_vcpu *vcpu, u64 gpa, void *buf,
			 unsigned int len);
int okvm_vcpu_write_guest(struct okvm_vcpu *vcpu, u64 gpa, const void *buf,
			  unsigned int len);
int okvm_gva_to_gpa(struct okvm_vcpu *vcpu, u64 gva, unsigned int access,
		    u64 *gpa, u32 *error_code);
void okvm_inject_page_fault(struct okvm_vcpu *vcpu, u64 addr, u32 error_code);
int okvm_read_guest_virt(struct okvm_vcpu *vcpu, u64 gva, void *buf,
			 unsigned int len);
int okvm_write_guest_virt(struct okvm_vcpu *vcpu, u64 gva, const void *buf,
			  unsigned int len);
int okvm_fetch_insn(struct okvm_vcpu *vcpu, u8 *buf,
		    struct okvm_page_fault *tail_fault);
u64 okvm_seg_linear(struct okvm_vcpu *vcpu, enum okvm_seg seg, u64 offset);

#endif /* OKVM_X86_H */
