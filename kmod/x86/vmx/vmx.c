// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmx.c - Intel VT-x (Virtual Machine Extensions) support.
 *
 * References are to the Intel 64 and IA-32 Architectures Software
 * Developer's Manual (SDM), Volume 3C, chapters 23-30 "VMX".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/printk.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "../ops.h"
#include "../x86.h"

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

static int vmx_probe(void)
{
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

const struct okvm_x86_ops okvm_vmx_ops = {
	.name = "vmx",
	.probe = vmx_probe,
};
