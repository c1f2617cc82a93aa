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
#include <asm/asm.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>

#include "../ops.h"
#include "../spec.h"
#include "../x86.h"
#include "svm.h"

/* APM 15.4: CPUID Fn8000_0001_ECX[2] says the CPU implements SVM. */
#define SVM_CPUID_EXT_FEATURES	0x80000001
#define SVM_CPUID_ECX_SVM	BIT(2)
/* APM 15.4, E.4.17: Fn8000_000A_EDX lists the SVM features. */
#define SVM_CPUID_FEATURES	0x8000000a
#define SVM_CPUID_EDX_NPT	BIT(0)	/* nested paging, APM 15.25 */
#define SVM_CPUID_EDX_SVML	BIT(2)	/* VM_CR.SVMDIS is firmware-locked */
#define SVM_CPUID_EDX_NRIPS	BIT(3)	/* NRIP save, APM 15.7.1 */
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

/*
 * Per-CPU SVM state, owned by the CPU while SVM is on.
 *
 * @hsave: APM 15.30.4: VMRUN saves part of the host state in the host save
 * area whose physical address is in VM_HSAVE_PA; one 4 KiB page per CPU.
 * @host_vmsave: the page VMSAVE/VMLOAD keep the host's FS/GS/TR/LDTR and
 * syscall MSRs in around VMRUN (vmenter.S).
 * @next_asid, @asid_gen: ASIDs are handed out per CPU, counting up; when
 * they run out the CPU flushes every ASID's TLB entries and starts a new
 * generation, so a vCPU whose ASID belongs to an older generation (or to
 * another CPU) takes a fresh one (APM 15.16).
 */
struct svm_cpu {
	struct page *hsave;
	struct page *host_vmsave;
	u32 next_asid;
	u64 asid_gen;
	/* The VMCB that last ran here, for the IBPB on a switch. */
	struct vmcb *last_vmcb;
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);

/* The exit stores the next RIP in the VMCB (exit.c uses it). */
bool svm_has_nrips;

/* CPUID Fn8000_000A_EBX: the number of ASIDs; ASID 0 is the host's. */
static u32 svm_nr_asids;

/*
 * The I/O and MSR permission maps (APM 15.10.1, 15.11): one for all vCPUs,
 * as every vCPU intercepts the same ports and MSRs. Physically contiguous:
 * 12 KiB and 8 KiB.
 */
#define SVM_IOPM_ORDER	2
#define SVM_MSRPM_ORDER	1
static struct page *svm_iopm, *svm_msrpm, *svm_msrpm_all;
u64 svm_iopm_pa, svm_msrpm_pa, svm_msrpm_all_pa;

/*
 * MSRs the guest reads and writes without an exit: VMLOAD/VMSAVE switch
 * them with the rest of the guest's state, so the hardware value is always
 * the guest's while it runs, and the VMCB's copy is what KVM_GET_MSRS sees.
 */
static const u32 svm_passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/*
 * APM 15.11: two bits per MSR (read, write) in three 2 KiB ranges, for MSRs
 * 0000_0000-0000_1FFF, C000_0000-C000_1FFF and C001_0000-C001_1FFF.
 */
static void svm_msrpm_allow(u8 *msrpm, u32 msr)
{
	u32 offset, bit;

	if (msr < 0x2000)
		offset = 0;
	else if (msr >= 0xc0000000 && msr < 0xc0002000)
		offset = 0x800 * 8;
	else
		offset = 0x1000 * 8;
	bit = offset + (msr & 0x1fff) * 2;
	msrpm[bit / 8] &= ~(3 << (bit % 8));
}

static int svm_alloc_permission_maps(void)
{
	unsigned int i;

	svm_iopm = alloc_pages(GFP_KERNEL, SVM_IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL, SVM_MSRPM_ORDER);
	svm_msrpm_all = alloc_pages(GFP_KERNEL, SVM_MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm || !svm_msrpm_all) {
		if (svm_iopm)
			__free_pages(svm_iopm, SVM_IOPM_ORDER);
		if (svm_msrpm)
			__free_pages(svm_msrpm, SVM_MSRPM_ORDER);
	__free_pages(svm_msrpm_all, SVM_MSRPM_ORDER);
		if (svm_msrpm_all)
			__free_pages(svm_msrpm_all, SVM_MSRPM_ORDER);
		return -ENOMEM;
	}
	/* Intercept every port and every MSR, then open the few above. */
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << SVM_IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << SVM_MSRPM_ORDER);
	for (i = 0; i < ARRAY_SIZE(svm_passthrough_msrs); i++)
		svm_msrpm_allow(page_address(svm_msrpm), svm_passthrough_msrs[i]);
	/* For VMs with an MSR filter (msr_filter.c): nothing open. */
	memset(page_address(svm_msrpm_all), 0xff, PAGE_SIZE << SVM_MSRPM_ORDER);
	svm_iopm_pa = page_to_phys(svm_iopm);
	svm_msrpm_pa = page_to_phys(svm_msrpm);
	svm_msrpm_all_pa = page_to_phys(svm_msrpm_all);
	return 0;
}

/* The load-time line: what svm/vmenter.S and this file apply here. */
static void svm_spec_report(void)
{
	unsigned int active = okvm_spec_common();

	if (boot_cpu_has(okvm_svm_rsb_flag))
		active |= OKVM_SPEC_RSB_FILL;
	if (boot_cpu_has(X86_FEATURE_CLEAR_CPU_BUF_VM))
		active |= OKVM_SPEC_VERW;
	if (boot_cpu_has(X86_FEATURE_UNRET) ||
	    boot_cpu_has(X86_FEATURE_SRSO_ALIAS))
		active |= OKVM_SPEC_UNTRAIN_RET;
	if (boot_cpu_has(X86_FEATURE_IBPB_ON_VMEXIT)) {
		active |= OKVM_SPEC_IBPB_EXIT;
		active &= ~OKVM_SPEC_IBPB_SWITCH;
	}
	if (boot_cpu_has(okvm_svm_untrain_ibpb_flag))
		active |= OKVM_SPEC_IBPB_EXIT;
	okvm_spec_report("svm", active);
}

static int svm_probe(void)
{
	static const char *const owners[] = {
		"kvm_amd", "vboxdrv", "vmmon", NULL
	};
	const char *owner;
	int cpu, ret;

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

	svm_nr_asids = cpuid_ebx(SVM_CPUID_FEATURES);
	if (svm_nr_asids < 2) {
		pr_err("SVM reports %u ASIDs (CPUID Fn8000_000A_EBX); okvm needs at least one for guests\n",
		       svm_nr_asids);
		return -EOPNOTSUPP;
	}
	svm_has_nrips = cpuid_edx(SVM_CPUID_FEATURES) & SVM_CPUID_EDX_NRIPS;
	ret = svm_alloc_permission_maps();
	if (!ret)
		svm_spec_report();
	return ret;
}

static void svm_unload(void)
{
	__free_pages(svm_iopm, SVM_IOPM_ORDER);
	__free_pages(svm_msrpm, SVM_MSRPM_ORDER);
}

static int svm_hardware_enable(void)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	int cpu = smp_processor_id();
	struct page *hsave, *host_vmsave;
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_warn_ratelimited("SVM was turned on for CPU %d by another hypervisor after okvm loaded\n",
				    cpu);
		return -EBUSY;
	}
	hsave = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
	host_vmsave = alloc_pages_node(cpu_to_node(cpu),
				       GFP_KERNEL | __GFP_ZERO, 0);
	if (!hsave || !host_vmsave) {
		if (hsave)
			__free_page(hsave);
		if (host_vmsave)
			__free_page(host_vmsave);
		return -ENOMEM;
	}

	/*
	 * Start with the ASIDs used up, so that the first vCPU to run here
	 * flushes every ASID: another hypervisor may have used this CPU
	 * before, and its TLB entries are tagged with the same numbers.
	 */
	sc->next_asid = svm_nr_asids;
	sc->asid_gen++;

	/* APM 15.4: EFER.SVME enables the SVM instructions on this CPU. */
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(hsave));
	sc->host_vmsave = host_vmsave;
	/* Published last: a vCPU runs on this CPU only when it is set. */
	WRITE_ONCE(sc->hsave, hsave);
	return 0;
}

static void svm_hardware_disable(void)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	struct page *hsave = sc->hsave;
	u64 efer;

	svm_put_host_tsc_aux();
	if (!hsave)
		return;
	WRITE_ONCE(sc->hsave, NULL);
	/* APM 15.30.4: clear VM_HSAVE_PA before the page is reused. */
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	__free_page(hsave);
	__free_page(sc->host_vmsave);
	sc->host_vmsave = NULL;
}

/*
 * The crash or emergency-restart path (hardware.c), on a CPU that may have
 * been stopped anywhere, even between CLGI and STGI around a VMRUN: set
 * GIF first, or INIT and NMI stay blocked for the next kernel (APM 15.17),
 * then turn SVM off. STGI raises #UD if SVM went off meanwhile; GIF is
 * then already set, so the fault is skipped. The save pages stay
 * allocated: nothing may be freed here, and nothing runs after this.
 */
static void svm_emergency_disable(void)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	u64 efer;

	if (!READ_ONCE(sc->hsave))
		return;
	WRITE_ONCE(sc->hsave, NULL);
	asm volatile("1: stgi\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     ::: "memory");
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
}

/*
 * Spectre v2 between guests (CVE-2017-5715): a CPU about to run another
 * vCPU than the last one it ran issues an IBPB, so that one guest's
 * branch predictions cannot steer another's, as KVM does when it loads
 * another VMCB. Not needed where the kernel issues one after every exit
 * (IBPB_ON_VMEXIT). indirect_branch_prediction_barrier() is a kernel
 * alternative: nothing unless the kernel enabled IBPB (X86_FEATURE_USE_IBPB).
 */
static void svm_switch_vmcb(struct svm_cpu *sc, struct vmcb *vmcb)
{
	if (sc->last_vmcb == vmcb)
		return;
	sc->last_vmcb = vmcb;
	if (!cpu_feature_enabled(X86_FEATURE_IBPB_ON_VMEXIT))
		indirect_branch_prediction_barrier();
}

/*
 * A VMCB being freed is forgotten by every CPU, so that a new one at the
 * same address still counts as another vCPU.
 */
void svm_forget_vmcb(struct vmcb *vmcb)
{
	int cpu;

	for_each_possible_cpu(cpu)
		cmpxchg(&per_cpu(svm_cpu, cpu).last_vmcb, vmcb, NULL);
}

/*
 * Called with interrupts off right before VMRUN: give the vCPU an ASID
 * valid on this CPU and ask for the TLB flush the run loop wants. Returns
 * -EIO if SVM is off on this CPU (a reboot turned it off; the vCPU must not
 * enter).
 */
int svm_prepare_cpu(struct svm_vcpu *svm)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	struct vmcb *vmcb = svm->vmcb;
	int cpu = smp_processor_id();

	if (!sc->hsave)
		return -EIO;
	if (svm->asid_cpu != cpu || svm->asid_gen != sc->asid_gen) {
		if (sc->next_asid >= svm_nr_asids) {
			sc->asid_gen++;
			sc->next_asid = 1;
			vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;
		}
		svm->asid = sc->next_asid++;
		svm->asid_cpu = cpu;
		svm->asid_gen = sc->asid_gen;
		vmcb->control.asid = svm->asid;
		/* A fresh ASID has no entries: no flush needed for it. */
		svm->vcpu.tlb_flush = false;
	}
	svm_switch_vmcb(sc, vmcb);
	/*
	 * Flushing one ASID (TLB_CONTROL 3) needs FlushByAsid (CPUID
	 * 0x8000000A EDX[6]); without it the value is reserved (APM Vol. 2
	 * 15.16.1), and QEMU's TCG, which does not offer it, ignores it, so
	 * the MMU notifier's zaps never reached the guest's translations
	 * there (found by the fuzzer: a guest kept writing to pages the VMM
	 * had freed). Without it, flush everything on this CPU.
	 */
	if (svm->vcpu.tlb_flush && vmcb->control.tlb_control == SVM_TLB_NOTHING)
		vmcb->control.tlb_control =
			boot_cpu_has(X86_FEATURE_FLUSHBYASID) ?
			SVM_TLB_FLUSH_ASID : SVM_TLB_FLUSH_ALL;
	svm->vcpu.tlb_flush = false;
	return 0;
}

/* Host physical address of this CPU's VMSAVE area; call with IRQs off. */
u64 svm_host_vmsave_pa(void)
{
	return page_to_phys(this_cpu_read(svm_cpu.host_vmsave));
}

const struct okvm_x86_ops okvm_svm_ops = {
	.name = "svm",
	.hypercall_insn = (const u8 []){ 0x0f, 0x01, 0xd9 },	/* VMMCALL */
	.probe = svm_probe,
	.unload = svm_unload,
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.emergency_disable = svm_emergency_disable,
	.spte = &svm_npt_format,
	.vcpu_size = sizeof(struct svm_vcpu),
	.vcpu_create = svm_vcpu_create,
	.vcpu_free = svm_vcpu_free,
	.vcpu_reset = svm_vcpu_reset,
	.vcpu_run = svm_vcpu_run,
	.handle_exit = svm_handle_exit,
	.get_segment = svm_get_segment,
	.set_segment = svm_set_segment,
	.get_dtable = svm_get_dtable,
	.set_dtable = svm_set_dtable,
	.get_cr = svm_get_cr,
	.set_cr = svm_set_cr,
	.get_efer = svm_get_efer,
	.set_efer = svm_set_efer,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.adjust_tsc_offset = svm_adjust_tsc_offset,
	.enable_irq_window = svm_enable_irq_window,
	.event_queued = svm_event_queued,
	.get_interrupt_shadow = svm_get_interrupt_shadow,
	.set_interrupt_shadow = svm_set_interrupt_shadow,
	.dump_state = svm_dump_vmcb,
	.get_exit_info = svm_get_exit_info,
	.get_dr = svm_get_dr,
	.set_dr = svm_set_dr,
};
