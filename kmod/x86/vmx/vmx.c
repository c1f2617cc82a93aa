// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmx.c - Intel VT-x (Virtual Machine Extensions) support.
 *
 * References are to the Intel 64 and IA-32 Architectures Software
 * Developer's Manual (SDM), Volume 3C, chapters 24-31 "VMX", numbered as
 * in the 2023 editions (older ones number them 23-30).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/smp.h>
#include <linux/topology.h>
#include <asm/asm.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "../ops.h"
#include "../spec.h"
#include "../x86.h"
#include "vmx.h"

/*
 * The VMCSs active on each CPU (SDM 25.1: VMPTRLD made them active there,
 * no VMCLEAR since) and the one that is current. Only the CPU itself
 * changes its list, with interrupts off: in vmx_vmcs_load(), in the
 * VMCLEAR IPI, and when it leaves VMX operation.
 */
static DEFINE_PER_CPU(struct list_head, vmx_active_vmcss);
static DEFINE_PER_CPU(struct vmx_vcpu *, vmx_current_vmcs);

/* SDM 24.6 "Discovering support for VMX": CPUID.1:ECX.VMX[bit 5]. */
#define VMX_CPUID_ECX_VMX	BIT(5)

static bool vmx_cpu_has_vmx(void)
{
	return cpuid_ecx(1) & VMX_CPUID_ECX_VMX;
}

/*
 * SDM 24.7 "Enabling and entering VMX operation": VMXON outside SMX needs
 * IA32_FEATURE_CONTROL locked (bit 0) with bit 2 set, or it raises #GP.
 * Firmware locks the MSR; Linux locks it at boot if firmware did not.
 */
static bool vmx_disabled_by_firmware(void)
{
	u64 ctl;

	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &ctl))
		return true;
	return !(ctl & FEAT_CTL_LOCKED) ||
	       !(ctl & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
}

/*
 * SDM 24.7: software sets CR4.VMXE before VMXON, so another hypervisor in
 * VMX operation leaves it set. KVM sets it through the kernel's CR4 shadow,
 * which is what we read.
 */
static bool vmx_enabled_by_someone(void)
{
	return cr4_read_shadow() & X86_CR4_VMXE;
}

/* SDM Vol. 3D, Appendix A.1: IA32_VMX_BASIC bits 30:0, the VMCS revision. */
#define VMX_BASIC_REVISION_MASK	0x7fffffffull

struct vmx_config vmx_config;

/*
 * SDM Vol. 3D A.3-A.5: a control MSR reports in bits 31:0 the controls
 * that must be 1 ("allowed 0-settings") and in bits 63:32 those that may be
 * 1 ("allowed 1-settings"). The controls okvm runs with are what it wants,
 * plus what the CPU forces on, minus what it cannot do. Returns false when
 * a control in @need is not allowed.
 */
static bool vmx_adjust_controls(u32 msr, u32 want, u32 need, u32 *ctl)
{
	u64 caps;

	if (rdmsrl_safe(msr, &caps))
		return false;
	*ctl = (want | (u32)caps) & (u32)(caps >> 32);
	return (*ctl & need) == need;
}

/* The same test for a control okvm turns on and off while running. */
static bool vmx_control_allowed(u32 msr, u32 bits)
{
	u64 caps;

	return !rdmsrl_safe(msr, &caps) && ((caps >> 32) & bits) == bits;
}

/*
 * Settle the controls every guest runs with, from the capability MSRs.
 * Returns NULL, or the name of what the CPU lacks. What each control is for:
 *
 * Pin-based (SDM 25.6.1): external interrupts and NMIs belong to the host,
 * so both exit; "virtual NMIs" makes the CPU track the guest's NMI blocking
 * for okvm (SDM 25.6.1, and "Virtual NMIs" in chapter 26).
 *
 * Primary processor-based (25.6.2): HLT, MWAIT/MONITOR, RDPMC, MOV DR, all
 * port I/O (unconditional I/O exiting, like SVM's all-ones IOPM) and CR8
 * exit; MSRs exit unless the MSR bitmap lets them through; the TSC is
 * offset; the secondary controls are used.
 *
 * Secondary (25.6.2): EPT and unrestricted guest (the guest runs real mode
 * and unpaged protected mode natively, as under SVM), VPID when offered
 * (tagged TLB entries survive exits), WBINVD exiting when offered, and
 * INVPCID when offered: without that control INVPCID raises #UD in the
 * guest (SDM 26.3), and okvm's CPUID offers it wherever the host has it.
 *
 * Exit (25.7.1): the host is 64-bit; EFER and PAT are saved for the guest
 * and loaded for the host, and the guest's DR7/DEBUGCTL saved.
 * Entry (25.8.1): EFER, PAT, DR7 and DEBUGCTL loaded for the guest.
 */
static const char *vmx_read_config(void)
{
	struct vmx_config *c = &vmx_config;
	u32 pin_msr, proc_msr, exit_msr, entry_msr;
	u32 pin_need, proc_need, proc2_need, exit_need, entry_need;
	u64 basic;

	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic))
		return "IA32_VMX_BASIC";
	c->revision = basic & VMX_BASIC_REVISION_MASK;
	/* A.1: bit 55 says the TRUE_* MSRs exist and let more controls be 0. */
	if (basic & BIT_ULL(55)) {
		pin_msr = MSR_IA32_VMX_TRUE_PINBASED_CTLS;
		proc_msr = MSR_IA32_VMX_TRUE_PROCBASED_CTLS;
		exit_msr = MSR_IA32_VMX_TRUE_EXIT_CTLS;
		entry_msr = MSR_IA32_VMX_TRUE_ENTRY_CTLS;
	} else {
		pin_msr = MSR_IA32_VMX_PINBASED_CTLS;
		proc_msr = MSR_IA32_VMX_PROCBASED_CTLS;
		exit_msr = MSR_IA32_VMX_EXIT_CTLS;
		entry_msr = MSR_IA32_VMX_ENTRY_CTLS;
	}

	pin_need = PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING |
		   PIN_VIRTUAL_NMIS;
	if (!vmx_adjust_controls(pin_msr, pin_need, pin_need, &c->pin))
		return "external-interrupt and NMI exiting with virtual NMIs";

	proc_need = PROC_HLT_EXITING | PROC_USE_TSC_OFFSETTING |
		    PROC_MWAIT_EXITING | PROC_MONITOR_EXITING |
		    PROC_RDPMC_EXITING | PROC_CR8_LOAD_EXITING |
		    PROC_CR8_STORE_EXITING | PROC_MOV_DR_EXITING |
		    PROC_UNCONDITIONAL_IO_EXITING | PROC_USE_MSR_BITMAPS |
		    PROC_ACTIVATE_SECONDARY;
	if (!vmx_adjust_controls(proc_msr, proc_need, proc_need, &c->proc))
		return "secondary processor-based controls";
	if (c->proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING |
		       PROC_INVLPG_EXITING | PROC_RDTSC_EXITING))
		return "CR3, INVLPG and RDTSC without exits";
	if (!vmx_control_allowed(proc_msr, PROC_INTERRUPT_WINDOW_EXITING |
					   PROC_NMI_WINDOW_EXITING))
		return "interrupt-window and NMI-window exiting";

	proc2_need = PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST;
	if (!vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS2,
				 proc2_need | PROC2_ENABLE_VPID |
				 PROC2_WBINVD_EXITING | PROC2_ENABLE_INVPCID,
				 PROC2_ENABLE_EPT, &c->proc2))
		return "EPT";
	if (!(c->proc2 & PROC2_UNRESTRICTED_GUEST))
		return "unrestricted guest";

	exit_need = EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_IA32_PAT |
		    EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER |
		    EXIT_LOAD_IA32_EFER;
	if (!vmx_adjust_controls(exit_msr, exit_need | EXIT_SAVE_DEBUG_CONTROLS,
				 exit_need, &c->exit))
		return "VM-exit controls saving and loading EFER and PAT";
	entry_need = ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER;
	if (!vmx_adjust_controls(entry_msr,
				 entry_need | ENTRY_LOAD_DEBUG_CONTROLS,
				 entry_need, &c->entry))
		return "VM-entry controls loading EFER and PAT";
	/* Set per entry from the guest's EFER.LMA (vmcs.c). */
	c->entry &= ~ENTRY_IA32E_MODE_GUEST;
	if (!vmx_control_allowed(entry_msr, ENTRY_IA32E_MODE_GUEST))
		return "IA-32e mode guests";

	/*
	 * A.10: a 4-level walk (bit 6), write-back paging structures (bit 14),
	 * INVEPT (bit 20) in its single-context (bit 25) or all-context (bit
	 * 26) form; accessed and dirty flags (bit 21) are used when offered.
	 */
	if (rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP, &c->ept_cap) ||
	    !(c->ept_cap & BIT_ULL(6)) || !(c->ept_cap & BIT_ULL(14)))
		return "a 4-level, write-back EPT";
	if (!(c->ept_cap & BIT_ULL(20)) ||
	    !(c->ept_cap & (BIT_ULL(25) | BIT_ULL(26))))
		return "INVEPT";
	c->invept_single = c->ept_cap & BIT_ULL(25);
	c->ept_ad = c->ept_cap & BIT_ULL(21);

	/* A.7, A.8: CR0 and CR4 bits fixed in VMX operation. */
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	return NULL;
}

/* SDM "VMXON Region": a 4 KiB region per CPU, owned by it in VMX operation. */
static DEFINE_PER_CPU(struct page *, vmx_vmxon_region);

/*
 * SDM Appendix A.7 and A.8: in VMX operation, CR0 and CR4 bits set in
 * IA32_VMX_CRn_FIXED0 must be 1 and bits clear in IA32_VMX_CRn_FIXED1 must
 * be 0, or VMXON fails.
 */
static bool vmx_cr_allowed(unsigned long cr, u32 fixed0_msr, u32 fixed1_msr)
{
	u64 fixed0, fixed1;

	rdmsrl(fixed0_msr, fixed0);
	rdmsrl(fixed1_msr, fixed1);
	return (cr & fixed0) == fixed0 && !(cr & ~fixed1);
}

/*
 * VMXON and VMXOFF. The preconditions that would make them fault (#UD
 * without CR4.VMXE, #GP with IA32_FEATURE_CONTROL or CR0/CR4 wrong) are
 * checked before, so only VMfailInvalid (CF=1: a bad VMXON region) or
 * VMfailValid (ZF=1) remain, and "setna" catches both.
 */
static int vmx_vmxon(u64 region_pa)
{
	bool failed;

	asm volatile("vmxon %[pa]\n\tsetna %[failed]"
		     : [failed] "=qm"(failed)
		     : [pa] "m"(region_pa)
		     : "cc", "memory");
	return failed ? -EIO : 0;
}

static void vmx_vmxoff(void)
{
	asm volatile("vmxoff" : : : "cc", "memory");
}

static int vmx_hardware_enable(void)
{
	int cpu = smp_processor_id();
	struct page *region;
	int ret;

	if (vmx_enabled_by_someone()) {
		pr_warn_ratelimited("VMX was turned on for CPU %d by another hypervisor after okvm loaded\n",
				    cpu);
		return -EBUSY;
	}
	if (!vmx_cr_allowed(read_cr0(), MSR_IA32_VMX_CR0_FIXED0,
			    MSR_IA32_VMX_CR0_FIXED1) ||
	    !vmx_cr_allowed(__read_cr4() | X86_CR4_VMXE,
			    MSR_IA32_VMX_CR4_FIXED0, MSR_IA32_VMX_CR4_FIXED1)) {
		pr_warn_ratelimited("CPU %d: CR0/CR4 do not meet IA32_VMX_CR*_FIXED* (SDM Appendix A.7, A.8)\n",
				    cpu);
		return -EIO;
	}

	region = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
	if (!region)
		return -ENOMEM;
	*(u32 *)page_address(region) = vmx_config.revision;

	/*
	 * Through the kernel's CR4 shadow, so that in-tree KVM (and the crash
	 * path, which VMXOFFs a CPU with CR4.VMXE set) see this CPU is in VMX
	 * operation.
	 */
	cr4_set_bits(X86_CR4_VMXE);
	ret = vmx_vmxon(page_to_phys(region));
	if (ret) {
		cr4_clear_bits(X86_CR4_VMXE);
		__free_page(region);
		pr_warn_ratelimited("CPU %d: VMXON failed\n", cpu);
		return ret;
	}
	per_cpu(vmx_vmxon_region, cpu) = region;
	return 0;
}

bool vmx_cpu_on(void)
{
	return this_cpu_read(vmx_vmxon_region);
}

/* VMCLEAR (SDM 31.3): write the VMCS back to memory and make it inactive. */
void vmx_vmclear(u64 pa)
{
	asm volatile("1: vmclear %[pa]\n"
		     "2:\n"
		     _ASM_EXTABLE(1b, 2b)
		     : : [pa] "m"(pa) : "cc", "memory");
}

/* VMPTRLD (SDM 31.3): make the VMCS active and current on this CPU. */
static void vmx_vmptrld(u64 pa)
{
	asm volatile("1: vmptrld %[pa]\n"
		     "2:\n"
		     _ASM_EXTABLE(1b, 2b)
		     : : [pa] "m"(pa) : "cc", "memory");
}

/* On the CPU where @arg's VMCS is active, with interrupts off. */
static void vmx_clear_here(void *arg)
{
	struct vmx_vcpu *vmx = arg;
	int cpu = smp_processor_id();

	if (vmx->vmcs_cpu != cpu)
		return;		/* cleared meanwhile (the CPU went offline) */
	vmx_vmclear(vmx->vmcs_pa);
	if (this_cpu_read(vmx_current_vmcs) == vmx)
		this_cpu_write(vmx_current_vmcs, NULL);
	list_del(&vmx->active_node);
	/* The list update is done before another CPU may take the VMCS. */
	smp_wmb();
	WRITE_ONCE(vmx->vmcs_cpu, -1);
	vmx->launched = false;
}

/*
 * Make @vmx's VMCS inactive wherever it is active. Process context with
 * interrupts on (it may wait for another CPU).
 */
void vmx_vmcs_clear(struct vmx_vcpu *vmx)
{
	int cpu = READ_ONCE(vmx->vmcs_cpu);

	/* An offline CPU cleared its VMCSs before it went (hardware_disable). */
	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_clear_here, vmx, 1);
}

/*
 * Make @vmx's VMCS current on this CPU, with preemption off. A VMCS moving
 * from another CPU is cleared there first (SDM 25.11.1 forbids one VMCS
 * active on two CPUs), and its host state that depends on the CPU (the
 * per-CPU TSS, GDT and stacks) rewritten. Linear and guest-physical TLB
 * entries this CPU may still hold for the VM from an earlier visit are
 * flushed before the next entry (vmx_vcpu_run()).
 *
 * KVM does this from preempt notifiers when the vCPU thread is scheduled
 * in; okvm does it when the VMCS is next needed, which is every entry and
 * every register ioctl, so a thread that moved finds its VMCS cleared on
 * the old CPU and loaded on the new one before it touches it.
 */
void vmx_vmcs_load(struct vmx_vcpu *vmx)
{
	int cpu = smp_processor_id();
	unsigned long flags;
	bool moved;

	if (this_cpu_read(vmx_current_vmcs) == vmx)
		return;
	if (!vmx_cpu_on())
		return;		/* reboot: vmx_vcpu_run() says -EIO */
	moved = vmx->vmcs_cpu != cpu;
	if (moved) {
		vmx_vmcs_clear(vmx);
		/*
		 * Clear here too: a VMCS never used before must be (SDM
		 * 25.11.3), and launch state starts over on a new CPU anyway.
		 */
		vmx_vmclear(vmx->vmcs_pa);
		vmx->launched = false;
		/* Pairs with the smp_wmb() in vmx_clear_here(). */
		smp_rmb();
		local_irq_save(flags);
		list_add(&vmx->active_node, this_cpu_ptr(&vmx_active_vmcss));
		WRITE_ONCE(vmx->vmcs_cpu, cpu);
		local_irq_restore(flags);
	}
	vmx_vmptrld(vmx->vmcs_pa);
	this_cpu_write(vmx_current_vmcs, vmx);
	/*
	 * Another vCPU's VMCS, or this one's after it was cleared here: as
	 * KVM does when it loads a new VMCS, an IBPB, so that one guest's
	 * branch predictions cannot steer another's (Spectre v2,
	 * CVE-2017-5715). A kernel alternative on X86_FEATURE_USE_IBPB.
	 */
	indirect_branch_prediction_barrier();
	if (moved) {
		vmx_set_host_state_per_cpu(vmx, cpu);
		vmx->vcpu.tlb_flush = true;
	}
}

bool vmx_vmcs_is_current(struct vmx_vcpu *vmx)
{
	return this_cpu_read(vmx_current_vmcs) == vmx;
}

/* okvm_x86_ops.vcpu_load: before each entry, with preemption off. */
void vmx_vcpu_load(struct okvm_vcpu *vcpu)
{
	vmx_vmcs_load(to_vmx(vcpu));
}

/*
 * INVEPT (SDM 31.3, 29.4.3.1): drop the guest-physical and combined
 * mappings tagged with this EPTP, for every VPID, on this CPU; all EPTPs'
 * when the CPU has no single-context form.
 */
void vmx_invept(u64 eptp)
{
	struct {
		u64 eptp;
		u64 reserved;
	} desc = { eptp, 0 };
	unsigned long type = vmx_config.invept_single ? 1 : 2;

	asm volatile("1: invept %[desc], %[type]\n"
		     "2:\n"
		     _ASM_EXTABLE(1b, 2b)
		     : : [desc] "m"(desc), [type] "r"(type) : "cc", "memory");
}

/*
 * VPIDs (SDM 29.1): 16-bit tags, 0 being the host's. With EPT the TLB
 * entries a guest makes are tagged with its VPID and EPTP, so one vCPU's
 * never serve another's and VM exits need not flush them.
 */
static DEFINE_IDA(vmx_vpids);

int vmx_vpid_alloc(void)
{
	int vpid;

	if (!(vmx_config.proc2 & PROC2_ENABLE_VPID))
		return 0;
	vpid = ida_alloc_range(&vmx_vpids, 1, 0xffff, GFP_KERNEL);
	return vpid < 0 ? 0 : vpid;	/* none left: run untagged */
}

void vmx_vpid_free(int vpid)
{
	if (vpid)
		ida_free(&vmx_vpids, vpid);
}

/*
 * The MSR bitmap (SDM 25.6.9): 1 KiB each for reads of MSRs 0-1FFFh, reads
 * of C0000000h-C0001FFFh, and the same for writes; a set bit makes the
 * access exit. One page for every vCPU, as they all let the same MSRs
 * through: those the VMCS switches on entry and exit (FS/GS base, the
 * SYSENTER MSRs) and KERNEL_GS_BASE, which entry.c switches; the guest's
 * SYSCALL MSRs are loaded around each entry too, so their reads need no
 * exit, while their writes exit so that okvm knows the values without
 * reading them back.
 */
/*
 * Two MSR bitmaps (SDM 25.6.9) for all vCPUs: the usual one, and one that
 * intercepts everything, for VMs with an MSR filter (msr_filter.c).
 */
static struct page *vmx_msr_bitmap, *vmx_msr_bitmap_all;

u64 vmx_msr_bitmap_pa(bool intercept_all)
{
	return page_to_phys(intercept_all ? vmx_msr_bitmap_all : vmx_msr_bitmap);
}

static void vmx_msr_pass(u8 *bitmap, u32 msr, bool write)
{
	unsigned int base = write ? 0x800 : 0;

	if (msr >= 0xc0000000) {
		base += 0x400;
		msr -= 0xc0000000;
	}
	bitmap[base + msr / 8] &= ~(1 << (msr % 8));
}

static int vmx_alloc_msr_bitmap(void)
{
	static const u32 both[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP,
	};
	static const u32 read_only[] = {
		MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	};
	unsigned int i;
	u8 *bitmap;

	vmx_msr_bitmap = alloc_page(GFP_KERNEL);
	vmx_msr_bitmap_all = alloc_page(GFP_KERNEL);
	if (!vmx_msr_bitmap || !vmx_msr_bitmap_all) {
		if (vmx_msr_bitmap)
			__free_page(vmx_msr_bitmap);
		if (vmx_msr_bitmap_all)
			__free_page(vmx_msr_bitmap_all);
		return -ENOMEM;
	}
	memset(page_address(vmx_msr_bitmap_all), 0xff, PAGE_SIZE);
	bitmap = page_address(vmx_msr_bitmap);
	memset(bitmap, 0xff, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(both); i++) {
		vmx_msr_pass(bitmap, both[i], false);
		vmx_msr_pass(bitmap, both[i], true);
	}
	for (i = 0; i < ARRAY_SIZE(read_only); i++)
		vmx_msr_pass(bitmap, read_only[i], false);
	return 0;
}

/* The load-time line: what vmx/vmenter.S and entry.c apply here. */
static void vmx_spec_report(void)
{
	unsigned int active = okvm_spec_common() | okvm_l1d_flush_mode();

	if (boot_cpu_has(X86_FEATURE_RSB_VMEXIT))
		active |= OKVM_SPEC_RSB_FILL;
	else if (boot_cpu_has(X86_FEATURE_RSB_VMEXIT_LITE))
		active |= OKVM_SPEC_RSB_LITE;
	if (boot_cpu_has(X86_FEATURE_CLEAR_CPU_BUF) ||
	    boot_cpu_has(X86_FEATURE_CLEAR_CPU_BUF_VM))
		active |= OKVM_SPEC_VERW;
	if (boot_cpu_has(X86_FEATURE_KERNEL_IBRS))
		active |= OKVM_SPEC_IBRS;
	if (boot_cpu_has(X86_FEATURE_CLEAR_BHB_LOOP_ON_VMEXIT))
		active |= OKVM_SPEC_BHB_CLEAR;
	okvm_spec_report("vmx", active);
}

static int vmx_probe(void)
{
	const char *missing;
	static const char *const owners[] = {
		"kvm_intel", "vboxdrv", "vmmon", NULL
	};
	const char *owner;
	int cpu, ret;

	if (!vmx_cpu_has_vmx())
		return -ENODEV;

	cpu = okvm_x86_first_cpu_where(vmx_disabled_by_firmware);
	if (cpu >= 0) {
		pr_err("VMX is disabled by firmware on CPU %d (IA32_FEATURE_CONTROL lock or bit 2 clear, Intel SDM 24.7); enable VT-x in the BIOS setup\n",
		       cpu);
		return -EPERM;
	}

	missing = vmx_read_config();
	if (missing) {
		pr_err("VMX without %s (Intel SDM Vol. 3D Appendix A); okvm needs EPT and unrestricted guest\n",
		       missing);
		return -EOPNOTSUPP;
	}

	cpu = okvm_x86_first_cpu_where(vmx_enabled_by_someone);
	if (cpu >= 0) {
		owner = okvm_x86_hypervisor_owner(owners);
		pr_err("VMX is already in use on CPU %d (CR4.VMXE set): %s%s; unload it first\n",
		       cpu, owner ? owner : "another hypervisor (kvm_intel, VirtualBox, VMware?)",
		       owner ? " is loaded" : " owns it");
		return -EBUSY;
	}

	for_each_possible_cpu(cpu)
		INIT_LIST_HEAD(per_cpu_ptr(&vmx_active_vmcss, cpu));
	vmx_read_host_syscall_msrs();
	ret = okvm_l1d_flush_init();
	if (!ret)
		ret = vmx_alloc_msr_bitmap();
	if (ret) {
		okvm_l1d_flush_exit();
		return ret;
	}
	vmx_spec_report();
	return 0;
}

static void vmx_unload(void)
{
	okvm_l1d_flush_exit();
	__free_page(vmx_msr_bitmap);
	__free_page(vmx_msr_bitmap_all);
	vmx_msr_bitmap = NULL;
	vmx_msr_bitmap_all = NULL;
}

static void vmx_hardware_disable(void)
{
	int cpu = smp_processor_id();
	struct page *region = per_cpu(vmx_vmxon_region, cpu);
	struct vmx_vcpu *vmx, *next;
	unsigned long flags;

	if (!region)
		return;
	/*
	 * VMXOFF leaves VMCS data cached in the CPU unwritten (SDM 25.11.1):
	 * clear what is still active here. Only a CPU going offline, or a
	 * reboot, finds VMCSs here; vCPUs clear their own when freed.
	 */
	local_irq_save(flags);
	list_for_each_entry_safe(vmx, next, this_cpu_ptr(&vmx_active_vmcss),
				 active_node)
		vmx_clear_here(vmx);
	this_cpu_write(vmx_current_vmcs, NULL);
	local_irq_restore(flags);

	vmx_vmxoff();
	cr4_clear_bits(X86_CR4_VMXE);
	per_cpu(vmx_vmxon_region, cpu) = NULL;
	__free_page(region);
}

/*
 * The crash or emergency-restart path (hardware.c): write back every VMCS
 * this CPU caches, so that a crash dump holds the guests' state, then
 * leave VMX operation, since INIT is blocked in it (SDM 24.8) and the
 * next kernel or the firmware expects it off. The VMXON region is left
 * allocated: freeing is not allowed here, and nothing runs after this.
 */
static void vmx_emergency_disable(void)
{
	struct vmx_vcpu *vmx;

	if (!this_cpu_read(vmx_vmxon_region))
		return;
	list_for_each_entry(vmx, this_cpu_ptr(&vmx_active_vmcss), active_node)
		vmx_vmclear(vmx->vmcs_pa);
	this_cpu_write(vmx_vmxon_region, NULL);
	vmx_vmxoff();
	cr4_clear_bits(X86_CR4_VMXE);
}

const struct okvm_x86_ops okvm_vmx_ops = {
	.name = "vmx",
	.hypercall_insn = (const u8 []){ 0x0f, 0x01, 0xc1 },	/* VMCALL */
	.probe = vmx_probe,
	.unload = vmx_unload,
	.hardware_enable = vmx_hardware_enable,
	.hardware_disable = vmx_hardware_disable,
	.emergency_disable = vmx_emergency_disable,
	.spte = &vmx_ept_format,
	.vcpu_size = sizeof(struct vmx_vcpu),
	.vcpu_create = vmx_vcpu_create,
	.vcpu_free = vmx_vcpu_free,
	.vcpu_reset = vmx_vcpu_reset,
	.vcpu_load = vmx_vcpu_load,
	.vcpu_run = vmx_vcpu_run,
	.handle_exit = vmx_handle_exit,
	.get_segment = vmx_get_segment,
	.set_segment = vmx_set_segment,
	.get_dtable = vmx_get_dtable,
	.set_dtable = vmx_set_dtable,
	.get_cr = vmx_get_cr,
	.set_cr = vmx_set_cr,
	.get_efer = vmx_get_efer,
	.set_efer = vmx_set_efer,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.adjust_tsc_offset = vmx_adjust_tsc_offset,
	.enable_irq_window = vmx_enable_irq_window,
	.event_queued = vmx_event_queued,
	.get_interrupt_shadow = vmx_get_interrupt_shadow,
	.set_interrupt_shadow = vmx_set_interrupt_shadow,
	.dump_state = vmx_dump_vmcs,
	.get_exit_info = vmx_get_exit_info,
	.get_dr = vmx_get_dr,
	.set_dr = vmx_set_dr,
};
