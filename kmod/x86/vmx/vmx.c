// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmx.c - Intel VT-x (Virtual Machine Extensions) support.
 *
 * References are to the Intel 64 and IA-32 Architectures Software
 * Developer's Manual (SDM), Volume 3C, chapters 23-30 "VMX".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/topology.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "../ops.h"
#include "../x86.h"
#include "vmx.h"

/* SDM 23.6 "Discovering support for VMX": CPUID.1:ECX.VMX[bit 5]. */
#define VMX_CPUID_ECX_VMX	BIT(5)

static bool vmx_cpu_has_vmx(void)
{
	return cpuid_ecx(1) & VMX_CPUID_ECX_VMX;
}

/*
 * SDM 23.7 "Enabling and entering VMX operation": VMXON outside SMX needs
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
 * SDM 23.7: software sets CR4.VMXE before VMXON, so another hypervisor in
 * VMX operation leaves it set. KVM sets it through the kernel's CR4 shadow,
 * which is what we read.
 */
static bool vmx_enabled_by_someone(void)
{
	return cr4_read_shadow() & X86_CR4_VMXE;
}

/*
 * What okvm needs of VMX, read from the capability MSRs (SDM Vol. 3D,
 * Appendix A): the allowed-1 half (bits 63:32) of a control MSR says which
 * controls may be set. okvm builds on EPT alone (no shadow paging) and lets
 * the guest run real mode natively, so it requires:
 *  - "activate secondary controls" (primary processor-based bit 31, A.3.2),
 *    read from the TRUE MSR when IA32_VMX_BASIC bit 55 says it exists;
 *  - "enable EPT" (bit 1) and "unrestricted guest" (bit 7) among the
 *    secondary controls (A.3.3);
 *  - a 4-level EPT walk (bit 6) and write-back EPT memory (bit 14) in
 *    IA32_VMX_EPT_VPID_CAP (A.10).
 * Returns NULL, or what is missing.
 */
static const char *vmx_missing_feature(void)
{
	u64 basic, procbased, secondary, ept;
	u32 primary_msr;

	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic))
		return "IA32_VMX_BASIC cannot be read";
	primary_msr = basic & BIT_ULL(55) ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
					    MSR_IA32_VMX_PROCBASED_CTLS;
	if (rdmsrl_safe(primary_msr, &procbased) ||
	    !(procbased & BIT_ULL(32 + 31)))
		return "secondary processor-based controls";
	if (rdmsrl_safe(MSR_IA32_VMX_PROCBASED_CTLS2, &secondary) ||
	    !(secondary & BIT_ULL(32 + 1)))
		return "EPT";
	if (!(secondary & BIT_ULL(32 + 7)))
		return "unrestricted guest";
	if (rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP, &ept) ||
	    !(ept & BIT_ULL(6)) || !(ept & BIT_ULL(14)))
		return "a 4-level, write-back EPT";
	return NULL;
}

static int vmx_probe(void)
{
	const char *missing;
	static const char *const owners[] = {
		"kvm_intel", "vboxdrv", "vmmon", NULL
	};
	const char *owner;
	int cpu;

	if (!vmx_cpu_has_vmx())
		return -ENODEV;

	cpu = okvm_x86_first_cpu_where(vmx_disabled_by_firmware);
	if (cpu >= 0) {
		pr_err("VMX is disabled by firmware on CPU %d (IA32_FEATURE_CONTROL lock or bit 2 clear, Intel SDM 23.7); enable VT-x in the BIOS setup\n",
		       cpu);
		return -EPERM;
	}

	missing = vmx_missing_feature();
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
	return 0;
}

/* SDM Vol. 3D, Appendix A.1: IA32_VMX_BASIC bits 30:0, the VMCS revision. */
#define VMX_BASIC_REVISION_MASK	0x7fffffffull

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
	u64 basic;
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
	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	*(u32 *)page_address(region) = basic & VMX_BASIC_REVISION_MASK;

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

static void vmx_hardware_disable(void)
{
	int cpu = smp_processor_id();
	struct page *region = per_cpu(vmx_vmxon_region, cpu);

	if (!region)
		return;
	vmx_vmxoff();
	cr4_clear_bits(X86_CR4_VMXE);
	per_cpu(vmx_vmxon_region, cpu) = NULL;
	__free_page(region);
}

const struct okvm_x86_ops okvm_vmx_ops = {
	.name = "vmx",
	.probe = vmx_probe,
	.hardware_enable = vmx_hardware_enable,
	.hardware_disable = vmx_hardware_disable,
	.spte = &vmx_ept_format,
	/* No VMCS yet (issue 4): KVM_CREATE_VCPU fails with EOPNOTSUPP. */
};
