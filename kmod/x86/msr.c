// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr.c - the guest's model-specific registers: RDMSR/WRMSR exits, and
 * KVM_GET_MSRS / KVM_SET_MSRS / KVM_GET_MSR_INDEX_LIST for the VMM.
 *
 * Every MSR access exits except those the vendor switches in hardware
 * (svm.c's pass-through list), so each MSR below is either held by the
 * vendor (get_msr/set_msr: the VMCB/VMCS has it) or kept here. An MSR
 * okvm does not know raises #GP in the guest and fails the ioctl, as in
 * KVM with its default ignore_msrs=0, unless the VMM asked for such
 * accesses (KVM_CAP_X86_USER_SPACE_MSR, msr_filter.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/processor.h>

#include "lapic.h"
#include "ops.h"
#include "x86.h"

/* KVM's cap on entries per KVM_GET/SET_MSRS call (MAX_IO_MSRS). */
#define OKVM_MAX_IO_MSRS	256

/* IA32_APIC_BASE (SDM Vol. 3 10.4.4): BSP flag, enable, base address. */
#define APIC_BASE_BSP		BIT_ULL(8)
#define APIC_BASE_ENABLE	BIT_ULL(11)
#define APIC_BASE_DEFAULT	0xfee00000ULL

/*
 * The MSRs KVM_GET_MSR_INDEX_LIST names: what a VMM saves and restores
 * besides what KVM_GET_SREGS carries (EFER and APIC_BASE travel there, so,
 * as in KVM, they are not listed).
 */
static const u32 okvm_msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_KERNEL_GS_BASE, MSR_FS_BASE, MSR_GS_BASE,
	MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_IA32_CR_PAT,
	MSR_IA32_MISC_ENABLE, MSR_IA32_POWER_CTL,
	/* KVM's paravirtual MSRs (clock.c), first of its emulated list. */
	MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK,
	MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW,
	MSR_PLATFORM_INFO,
	MSR_IA32_SMBASE,	/* the VMM's only (smm.c) */
	MSR_TSC_AUX,	/* last: listed only where the host has it */
};

/* Feature MSRs (KVM_GET_MSR_FEATURE_INDEX_LIST): read on the system fd. */
static const u32 okvm_feature_msrs[] = {
	MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_UCODE_REV, MSR_IA32_PERF_CAPABILITIES,
};

/*
 * IA32_ARCH_CAPABILITIES as a feature MSR: the "not affected" bits the
 * host kernel knows to be true (SDM Vol. 4 Table 2-2), which a VMM may
 * offer its guests. AMD CPUs have no such MSR; like KVM, okvm still
 * answers from the kernel's list of CPU bugs.
 */
static u64 okvm_arch_capabilities(void)
{
	u64 caps = ARCH_CAP_PSCHANGE_MC_NO;

	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
		rdmsrl(MSR_IA32_ARCH_CAPABILITIES, caps);
	if (!boot_cpu_has_bug(X86_BUG_CPU_MELTDOWN))
		caps |= ARCH_CAP_RDCL_NO;
	if (!boot_cpu_has_bug(X86_BUG_SPEC_STORE_BYPASS))
		caps |= ARCH_CAP_SSB_NO;
	if (!boot_cpu_has_bug(X86_BUG_MDS))
		caps |= ARCH_CAP_MDS_NO;
	if (!boot_cpu_has_bug(X86_BUG_TAA))
		caps |= ARCH_CAP_TAA_NO;
	return caps;
}

static int okvm_get_feature_msr(u32 index, u64 *data)
{
	switch (index) {
	case MSR_IA32_ARCH_CAPABILITIES:
		*data = okvm_arch_capabilities();
		return 0;
	case MSR_IA32_UCODE_REV:
		*data = 0;
		return 0;
	case MSR_IA32_PERF_CAPABILITIES:
		/*
		 * The PMU features a VMM may offer (SDM Vol. 4 Table 2-2):
		 * none, since okvm offers no PMU (KVM answers 0 on AMD too).
		 */
		*data = 0;
		return 0;
	default:
		return 1;
	}
}

void okvm_msr_reset(struct okvm_vcpu *vcpu)
{
	vcpu->apic_base = APIC_BASE_DEFAULT | APIC_BASE_ENABLE |
			  (okvm_vcpu_is_reset_bsp(vcpu) ? APIC_BASE_BSP : 0);
	/* What KVM starts with: no PEBS, no BTS (SDM Vol. 4 Table 2-2). */
	vcpu->misc_enable = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
			    MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
	vcpu->hwcr = 0;
	vcpu->tsc_aux = 0;
	vcpu->tsc_adjust = 0;
	vcpu->kvmclock_msr = 0;
	vcpu->kvmclock_cpu = -1;
}

/*
 * IA32_TSC_AUX exists where the CPU has RDTSCP or RDPID, the instructions
 * that read it (SDM Vol. 4 Table 2-2; APM Vol. 3 RDTSCP, RDPID). KVM lists
 * it and lets the VMM set it where the host has it; the guest may access
 * it only when its CPUID offers one of the two.
 */
bool okvm_host_has_tsc_aux(void)
{
	return boot_cpu_has(X86_FEATURE_RDTSCP) ||
	       boot_cpu_has(X86_FEATURE_RDPID);
}

static bool okvm_guest_has_tsc_aux(struct okvm_vcpu *vcpu)
{
	return okvm_guest_has(vcpu, 0x80000001, CPUID_EDX, 27) ||	/* RDTSCP */
	       okvm_guest_has(vcpu, 7, CPUID_ECX, 22);		/* RDPID */
}

static int okvm_set_tsc_aux(struct okvm_vcpu *vcpu, u64 data, bool host)
{
	if (!okvm_host_has_tsc_aux())
		return 1;
	if (!host && !okvm_guest_has_tsc_aux(vcpu))
		return 1;
	/*
	 * Bits 63:32 are reserved on Intel CPUs and ignored on AMD's, which
	 * read them as 0: as KVM does, refuse them for a guest whose CPUID
	 * says Intel, drop them for any other.
	 */
	if (okvm_guest_is_intel(vcpu) && (data >> 32))
		return 1;
	vcpu->tsc_aux = (u32)data;
	return 0;
}

/* PAT entries must be a valid memory type: 0, 1, 4, 5, 6 or 7 (SDM 11.12.2). */
static bool okvm_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (i * 8);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

/*
 * EFER: SCE, LME, NXE as the guest's CPUID allows; LMA follows CR0.PG and
 * LME and cannot be written differently; LME cannot change while paging
 * is on (SDM Vol. 3 9.8.5, APM Vol. 2 3.1.7).
 */
static int okvm_set_efer(struct okvm_vcpu *vcpu, u64 efer, bool host)
{
	u64 allowed = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;
	u64 old = okvm_x86->get_efer(vcpu);

	if (efer & ~allowed)
		return 1;
	if (!host) {
		if (!okvm_guest_has(vcpu, 0x80000001, CPUID_EDX, 11) && (efer & EFER_SCE))
			return 1;
		if (!okvm_guest_has(vcpu, 0x80000001, CPUID_EDX, 29) && (efer & EFER_LME))
			return 1;
		if (!okvm_guest_has(vcpu, 0x80000001, CPUID_EDX, 20) && (efer & EFER_NX))
			return 1;
		if ((okvm_x86->get_cr(vcpu, 0) & X86_CR0_PG) &&
		    ((efer ^ old) & EFER_LME))
			return 1;
		/* LMA is read-only to the guest. */
		efer = (efer & ~EFER_LMA) | (old & EFER_LMA);
	}
	okvm_x86->set_efer(vcpu, efer);
	return 0;
}

/*
 * IA32_TSC_ADJUST (SDM Vol. 3 17.17.3): a guest write moves its TSC by
 * the change, and a guest write to IA32_TSC adds its change to
 * IA32_TSC_ADJUST. As in KVM 6.1, writes from the VMM (restoring state)
 * move neither, and without CPUID.7.0:EBX[1] writes are dropped.
 */
static void okvm_set_tsc_adjust(struct okvm_vcpu *vcpu, u64 data, bool host)
{
	if (!okvm_guest_has(vcpu, 7, CPUID_EBX, 1))
		return;
	if (!host) {
		okvm_x86->adjust_tsc_offset(vcpu, data - vcpu->tsc_adjust);
		okvm_kvmclock_request(vcpu);
	}
	vcpu->tsc_adjust = data;
}

static void okvm_guest_set_tsc(struct okvm_vcpu *vcpu, u64 data)
{
	u64 now;

	okvm_x86->get_msr(vcpu, MSR_IA32_TSC, &now);
	okvm_x86->adjust_tsc_offset(vcpu, data - now);
	vcpu->tsc_adjust += data - now;
}

/*
 * Returns 0, 1 when the guest may not read the MSR (KVM's "invalid"), or
 * OKVM_MSR_UNKNOWN when okvm has no such MSR.
 */
static int okvm_get_msr(struct okvm_vcpu *vcpu, u32 index, u64 *data)
{
	int ret = okvm_x86->get_msr(vcpu, index, data);

	if (ret <= 0)
		return ret;
	switch (index) {
	case MSR_EFER:
		*data = okvm_x86->get_efer(vcpu);
		return 0;
	case MSR_IA32_APICBASE:
		*data = vcpu->apic_base;
		return 0;
	case APIC_BASE_MSR ... APIC_BASE_MSR + 0xff:
		return okvm_lapic_x2apic_rdmsr(vcpu, index, data);
	case MSR_IA32_TSC_DEADLINE:
		/* Only with the in-kernel local APIC's timer (lapic.c). */
		if (!vcpu->lapic)
			return 1;
		*data = okvm_lapic_get_tsc_deadline(vcpu);
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->misc_enable;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		/* Readable whatever the CPUID says, as in KVM. */
		*data = vcpu->tsc_adjust;
		return 0;
	case MSR_IA32_UCODE_REV:
	case MSR_IA32_PLATFORM_ID:
	case MSR_AMD64_SYSCFG:
	case MSR_VM_CR:
	case MSR_AMD64_NB_CFG:
		/*
		 * No microcode, no platform, no SYSCFG features, SVM not
		 * offered, no northbridge (Linux reads NB_CFG on AMD
		 * families 10h-16h to set its extended config bit; KVM reads
		 * 0 and drops the write).
		 */
		*data = 0;
		return 0;
	case MSR_K7_HWCR:
		*data = vcpu->hwcr;
		return 0;
	case MSR_IA32_POWER_CTL:
		*data = vcpu->power_ctl;
		return 0;
	default:
		return OKVM_MSR_UNKNOWN;
	}
}

/*
 * With KVM_CAP_ENFORCE_PV_FEATURE_CPUID, the kvmclock MSRs exist only when
 * the vCPU's CPUID offers them: the old pair with KVM_FEATURE_CLOCKSOURCE,
 * the _NEW pair with KVM_FEATURE_CLOCKSOURCE2. As in KVM 6.1 this holds
 * for the VMM's KVM_GET/SET_MSRS too (KVM 6.12 lets the VMM through).
 */
static bool okvm_pv_msr_allowed(struct okvm_vcpu *vcpu, u32 index)
{
	if (index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_SYSTEM_TIME)
		return okvm_guest_pv_has(vcpu, KVM_FEATURE_CLOCKSOURCE);
	return okvm_guest_pv_has(vcpu, KVM_FEATURE_CLOCKSOURCE2);
}

/*
 * MWAIT in IA32_MISC_ENABLE (bit 18): with KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT
 * disabled, a change shows in the guest's CPUID.1:ECX[3], and needs SSE3
 * there (KVM's rule); with the quirk, the bit is only kept.
 */
static int okvm_set_misc_enable(struct okvm_vcpu *vcpu, u64 data)
{
	bool mwait = data & MSR_IA32_MISC_ENABLE_MWAIT;

	if (!okvm_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT) &&
	    ((vcpu->misc_enable ^ data) & MSR_IA32_MISC_ENABLE_MWAIT)) {
		if (!okvm_guest_has(vcpu, 1, CPUID_ECX, X86_FEATURE_XMM3 & 31))
			return 1;
		okvm_guest_cpuid_set(vcpu, 1, CPUID_ECX,
				     X86_FEATURE_MWAIT & 31, mwait);
	}
	vcpu->misc_enable = data;
	return 0;
}

/* The MSRs whose reads are allowed to the VMM only (@host) or also the guest. */
static int okvm_get_msr_checked(struct okvm_vcpu *vcpu, u32 index, u64 *data,
				bool host)
{
	if (index == MSR_TSC_AUX) {
		if (!okvm_host_has_tsc_aux() ||
		    (!host && !okvm_guest_has_tsc_aux(vcpu)))
			return 1;
		*data = vcpu->tsc_aux;
		return 0;
	}
	if (index == MSR_IA32_SMBASE) {
		/*
		 * The guest cannot read SMBASE with RDMSR (SDM Vol. 4 Table
		 * 2-2, 9EH: it exists for VMX's SMM monitor); the VMM saves
		 * and restores it, as in KVM (smm.c).
		 */
		if (!host)
			return 1;
		*data = vcpu->smbase;
		return 0;
	}
	if (index == MSR_PLATFORM_INFO) {
		/* KVM_CAP_MSR_PLATFORM_INFO turns the guest's reads off (vm.c). */
		if (!host && READ_ONCE(vcpu->vm->platform_info_hidden))
			return 1;
		*data = vcpu->platform_info;
		return 0;
	}
	if (okvm_is_kvmclock_msr(index)) {
		if (!okvm_pv_msr_allowed(vcpu, index))
			return 1;
		return okvm_kvmclock_get_msr(vcpu, index, data);
	}
	if (okvm_is_mtrr_msr(index))
		return okvm_mtrr_get_msr(vcpu, index, data);
	if (okvm_is_mce_msr(index))
		return okvm_mce_get_msr(vcpu, index, data, host);
	return okvm_get_msr(vcpu, index, data);
}

static int okvm_set_msr(struct okvm_vcpu *vcpu, u32 index, u64 data,
			bool host)
{
	if (okvm_is_mtrr_msr(index))
		return okvm_mtrr_set_msr(vcpu, index, data);
	if (okvm_is_mce_msr(index))
		return okvm_mce_set_msr(vcpu, index, data, host);
	switch (index) {
	case MSR_EFER:
		return okvm_set_efer(vcpu, data, host);
	case MSR_IA32_SMBASE:
		/* The VMM's, any value, as in KVM; the guest relocates it by RSM. */
		if (!host)
			return 1;
		vcpu->smbase = data;
		return 0;
	case MSR_IA32_CR_PAT:
		if (!okvm_pat_valid(data))
			return 1;
		break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		/* Addresses must be canonical (SDM Vol. 4, WRMSR #GP). */
		if ((s64)(data << 16) >> 16 != (s64)data)
			return 1;
		break;
	case APIC_BASE_MSR ... APIC_BASE_MSR + 0xff:
		return okvm_lapic_x2apic_wrmsr(vcpu, index, data);
	case MSR_IA32_TSC_DEADLINE:
		if (!vcpu->lapic)
			return 1;
		okvm_lapic_set_tsc_deadline(vcpu, data);
		return 0;
	case MSR_IA32_APICBASE:
		if (vcpu->lapic)
			return okvm_lapic_set_base(vcpu, data, host);
		/* Without a local APIC: kept, as KVM keeps it without one. */
		if (data & ~(APIC_BASE_BSP | APIC_BASE_ENABLE | GENMASK_ULL(51, 12)))
			return 1;
		vcpu->apic_base = data;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		return okvm_set_misc_enable(vcpu, data);
	case MSR_TSC_AUX:
		return okvm_set_tsc_aux(vcpu, data, host);
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK_NEW:
	case MSR_KVM_SYSTEM_TIME_NEW:
		if (!okvm_pv_msr_allowed(vcpu, index))
			return 1;
		return okvm_kvmclock_set_msr(vcpu, index, data);
	case MSR_IA32_TSC:
		/* A new TSC offset: the kvmclock page's TSC reading is stale. */
		okvm_kvmclock_request(vcpu);
		if (host)
			break;
		okvm_guest_set_tsc(vcpu, data);
		return 0;
	case MSR_IA32_TSC_ADJUST:
		okvm_set_tsc_adjust(vcpu, data, host);
		return 0;
	case MSR_PLATFORM_INFO:
		/*
		 * Read-only to the guest (SDM Vol. 4 Table 2-12, 0CEH); the
		 * VMM sets what the guest reads, any value, as in KVM. KVM
		 * starts it with CPUID faulting (bit 31) offered; okvm has
		 * no CPUID faulting, so it starts at 0 (api.rst).
		 */
		if (!host)
			return 1;
		vcpu->platform_info = data;
		return 0;
	case MSR_IA32_UCODE_REV:
	case MSR_AMD64_SYSCFG:
	case MSR_AMD64_NB_CFG:
		/* Writes are ignored, as on CPUs where they are ignored. */
		return 0;
	case MSR_K7_HWCR:
		/* Only the "McStatusWrEn" bit 18 and TSC-frequency bit 24 stick. */
		if (data & ~(BIT_ULL(18) | BIT_ULL(24)))
			return 1;
		vcpu->hwcr = data;
		return 0;
	case MSR_IA32_POWER_CTL:
		/*
		 * Intel's power-management knobs (SDM Vol. 4 2.17): nothing
		 * to control in a guest, so the value is only kept, as KVM
		 * keeps it, for guests that read back what they wrote.
		 */
		vcpu->power_ctl = data;
		return 0;
	default:
		break;
	}
	/* The vendor holds the rest (ops.h). */
	return okvm_x86->set_msr(vcpu, index, data);
}

/*
 * The end of a guest RDMSR or WRMSR, now or after the VMM answered: #GP
 * for an error, else the data (RDMSR) and RIP past the instruction.
 */
static void okvm_msr_finish(struct okvm_vcpu *vcpu, bool rdmsr, int err,
			    u64 data, unsigned int len)
{
	if (err) {
		okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
		return;
	}
	if (rdmsr) {
		vcpu->regs[OKVM_RAX] = (u32)data;
		vcpu->regs[OKVM_RDX] = data >> 32;
	}
	okvm_skip_insn(vcpu, len);
}

/*
 * KVM_CAP_X86_USER_SPACE_MSR: a failed access goes to the VMM when it
 * asked for failures of this kind (KVM's reasons: the filter denied it,
 * okvm has no such MSR, or refused the access). Returns true when
 * kvm_run is set up for that exit.
 */
static bool okvm_msr_to_user(struct okvm_vcpu *vcpu, bool rdmsr, u32 index,
			     u64 data, int err, unsigned int len)
{
	struct kvm_run *run = vcpu->run;
	u32 reason;

	if (err == OKVM_MSR_FILTERED)
		reason = KVM_MSR_EXIT_REASON_FILTER;
	else if (err == OKVM_MSR_UNKNOWN)
		reason = KVM_MSR_EXIT_REASON_UNKNOWN;
	else
		reason = KVM_MSR_EXIT_REASON_INVAL;
	if (!(READ_ONCE(vcpu->vm->user_space_msr_mask) & reason))
		return false;
	run->exit_reason = rdmsr ? KVM_EXIT_X86_RDMSR : KVM_EXIT_X86_WRMSR;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = index;
	run->msr.data = data;
	vcpu->msr_user.pending = true;
	vcpu->msr_user.rdmsr = rdmsr;
	vcpu->msr_user.len = len;
	return true;
}

/*
 * The next KVM_RUN after a KVM_EXIT_X86_RDMSR/WRMSR: the VMM's answer
 * completes the instruction (msr.error non-zero: #GP).
 */
void okvm_msr_complete_user(struct okvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (!vcpu->msr_user.pending)
		return;
	vcpu->msr_user.pending = false;
	okvm_msr_finish(vcpu, vcpu->msr_user.rdmsr, READ_ONCE(run->msr.error),
			READ_ONCE(run->msr.data), vcpu->msr_user.len);
}

/*
 * A RDMSR exit, the instruction @len bytes long: returns 1 to enter the
 * guest again, 0 to return to the VMM (msr_filter.c says which accesses
 * go there).
 */
int okvm_handle_rdmsr(struct okvm_vcpu *vcpu, unsigned int len)
{
	u32 index = vcpu->regs[OKVM_RCX];
	u64 data = 0;
	int err;

	if (!okvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_READ))
		err = OKVM_MSR_FILTERED;
	else
		err = okvm_get_msr_checked(vcpu, index, &data, false);
	if (err && okvm_msr_to_user(vcpu, true, index, 0, err, len))
		return 0;
	okvm_msr_finish(vcpu, true, err, data, len);
	return 1;
}

int okvm_handle_wrmsr(struct okvm_vcpu *vcpu, unsigned int len)
{
	u32 index = vcpu->regs[OKVM_RCX];
	u64 data = (u32)vcpu->regs[OKVM_RAX] |
		   (u64)(u32)vcpu->regs[OKVM_RDX] << 32;
	int err;

	if (!okvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_WRITE))
		err = OKVM_MSR_FILTERED;
	else
		err = okvm_set_msr(vcpu, index, data, false);
	if (err && okvm_msr_to_user(vcpu, false, index, data, err, len))
		return 0;
	okvm_msr_finish(vcpu, false, err, 0, len);
	return 1;
}

static int okvm_copy_index_list(void __user *argp, const u32 *list,
				unsigned int n)
{
	struct kvm_msr_list __user *ulist = argp;
	struct kvm_msr_list msr_list;

	if (copy_from_user(&msr_list, ulist, sizeof(msr_list)))
		return -EFAULT;
	/* KVM tells how many there are even when they do not fit. */
	if (put_user(n, &ulist->nmsrs))
		return -EFAULT;
	if (msr_list.nmsrs < n)
		return -E2BIG;
	if (copy_to_user(ulist->indices, list, n * sizeof(*list)))
		return -EFAULT;
	return 0;
}

/*
 * KVM_GET_MSRS / KVM_SET_MSRS: process entries in order and stop at the
 * first that fails; the return value is how many succeeded (KVM's ABI).
 * @vcpu is NULL for feature MSRs on the system fd.
 */
static int okvm_do_msrs(struct okvm_vcpu *vcpu, void __user *argp, bool set)
{
	struct kvm_msrs __user *umsrs = argp;
	struct kvm_msr_entry *entries;
	struct kvm_msrs msrs;
	unsigned int i;
	int ret;

	if (copy_from_user(&msrs, umsrs, sizeof(msrs)))
		return -EFAULT;
	if (msrs.nmsrs >= OKVM_MAX_IO_MSRS)
		return -E2BIG;
	entries = memdup_user(umsrs->entries,
			      array_size(sizeof(*entries), msrs.nmsrs));
	if (IS_ERR(entries))
		return PTR_ERR(entries);

	for (i = 0; i < msrs.nmsrs; i++) {
		struct kvm_msr_entry *e = &entries[i];

		if (!vcpu) {
			if (okvm_get_feature_msr(e->index, &e->data))
				break;
		} else if (set) {
			if (okvm_set_msr(vcpu, e->index, e->data, true))
				break;
		} else if (okvm_get_msr_checked(vcpu, e->index, &e->data,
						true)) {
			break;
		}
	}
	ret = i;
	if (!set && copy_to_user(umsrs->entries, entries,
				 i * sizeof(*entries)))
		ret = -EFAULT;
	kfree(entries);
	return ret;
}

int okvm_vcpu_ioctl_msrs(struct okvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp)
{
	return okvm_do_msrs(vcpu, argp, ioctl == KVM_SET_MSRS);
}

/* System fd: KVM_GET_MSR_INDEX_LIST, the feature list, feature MSRs. */
int okvm_dev_ioctl_msrs(unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_MSR_INDEX_LIST:
		return okvm_copy_index_list(argp, okvm_msrs_to_save,
					    ARRAY_SIZE(okvm_msrs_to_save) -
					    !okvm_host_has_tsc_aux());
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return okvm_copy_index_list(argp, okvm_feature_msrs,
					    ARRAY_SIZE(okvm_feature_msrs));
	default:	/* KVM_GET_MSRS */
		return okvm_do_msrs(NULL, argp, false);
	}
}
