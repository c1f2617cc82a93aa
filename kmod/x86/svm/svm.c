// SPDX-License-Identifier: GPL-2.0-only
/*
 * svm.c - AMD-V (Secure Virtual Machine) support.
 *
 * References are to the AMD64 Architecture Programmer's Manual, Volume 2:
 * System Programming (AMD pub. 24593), chapter 15 "Secure Virtual Machine".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/topology.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include "../ops.h"
#include "../x86.h"

/* APM 15.4: CPUID Fn8000_0001_ECX[2] says the CPU implements SVM. */
#define SVM_CPUID_EXT_FEATURES	0x80000001
#define SVM_CPUID_ECX_SVM	BIT(2)
/* APM 15.4, E.4.17: Fn8000_000A_EDX lists the SVM features. */
#define SVM_CPUID_FEATURES	0x8000000a
#define SVM_CPUID_EDX_NPT	BIT(0)	/* nested paging, APM 15.25 */
#define SVM_CPUID_EDX_SVML	BIT(2)	/* VM_CR.SVMDIS is firmware-locked */
/* APM 15.30.1: VM_CR MSR (C001_0114h) bit 4, SVMDIS. */
#define SVM_VM_CR_SVMDIS	BIT(4)

static bool svm_cpu_has_svm(void)
{
	if (boot_cpu_data.extended_cpuid_level < SVM_CPUID_EXT_FEATURES)
		return false;
	return cpuid_ecx(SVM_CPUID_EXT_FEATURES) & SVM_CPUID_ECX_SVM;
}

/*
 * APM 15.30.1: VM_CR.SVMDIS forbids setting EFER.SVME. Firmware sets it (and
 * VM_CR.LOCK) when the user turned "SVM mode" off in the setup screen.
 */
static bool svm_disabled_by_firmware(void)
{
	u64 vm_cr;

	if (rdmsrl_safe(MSR_VM_CR, &vm_cr))
		return false;
	return vm_cr & SVM_VM_CR_SVMDIS;
}

/* APM 15.4: EFER.SVME set means some hypervisor turned SVM on already. */
static bool svm_enabled_by_someone(void)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	return efer & EFER_SVME;
}

static int svm_probe(void)
{
	static const char *const owners[] = {
		"kvm_amd", "vboxdrv", "vmmon", NULL
	};
	const char *owner;
	int cpu;

	if (!svm_cpu_has_svm())
		return -ENODEV;

	cpu = okvm_x86_first_cpu_where(svm_disabled_by_firmware);
	if (cpu >= 0) {
		if (cpuid_edx(SVM_CPUID_FEATURES) & SVM_CPUID_EDX_SVML)
			pr_err("SVM is disabled by firmware on CPU %d (VM_CR.SVMDIS, AMD APM 15.30.1); enable SVM in the BIOS setup\n",
			       cpu);
		else
			pr_err("SVM is disabled on CPU %d (VM_CR.SVMDIS) and locked with an SVM key (AMD APM 15.31); cannot load\n",
			       cpu);
		return -EPERM;
	}

	/*
	 * okvm is built on nested paging alone: no shadow page tables. Fn8000_000A
	 * exists whenever SVM does (APM 15.4), so no level check is needed.
	 */
	if (!(cpuid_edx(SVM_CPUID_FEATURES) & SVM_CPUID_EDX_NPT)) {
		pr_err("SVM without nested paging (CPUID Fn8000_000A_EDX[NP], AMD APM 15.25); okvm needs NPT\n");
		return -EOPNOTSUPP;
	}

	cpu = okvm_x86_first_cpu_where(svm_enabled_by_someone);
	if (cpu >= 0) {
		owner = okvm_x86_hypervisor_owner(owners);
		pr_err("SVM is already in use on CPU %d (EFER.SVME set): %s%s; unload it first\n",
		       cpu, owner ? owner : "another hypervisor (kvm_amd, VirtualBox, VMware?)",
		       owner ? " is loaded" : " owns it");
		return -EBUSY;
	}
	return 0;
}

/*
 * APM 15.30.4: VMRUN saves host state in the host save area whose physical
 * address is in VM_HSAVE_PA; one 4 KiB page per CPU, owned by this CPU
 * while SVM is on.
 */
static DEFINE_PER_CPU(struct page *, svm_host_save_area);

static int svm_hardware_enable(void)
{
	int cpu = smp_processor_id();
	struct page *hsave;
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_warn_ratelimited("SVM was turned on for CPU %d by another hypervisor after okvm loaded\n",
				    cpu);
		return -EBUSY;
	}
	hsave = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
	if (!hsave)
		return -ENOMEM;
	per_cpu(svm_host_save_area, cpu) = hsave;

	/* APM 15.4: EFER.SVME enables the SVM instructions on this CPU. */
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(hsave));
	return 0;
}

static void svm_hardware_disable(void)
{
	int cpu = smp_processor_id();
	struct page *hsave = per_cpu(svm_host_save_area, cpu);
	u64 efer;

	if (!hsave)
		return;
	/* APM 15.30.4: clear VM_HSAVE_PA before the page is reused. */
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	per_cpu(svm_host_save_area, cpu) = NULL;
	__free_page(hsave);
}

const struct okvm_x86_ops okvm_svm_ops = {
	.name = "svm",
	.probe = svm_probe,
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
};
