// SPDX-License-Identifier: GPL-2.0-only
/*
 * mce.c - the guest's machine-check architecture (Intel SDM Vol. 3
 * chapter 15; AMD APM Vol. 2 chapter 9): IA32_MCG_CAP/STATUS/CTL and the
 * banks' CTL/STATUS/ADDR/MISC registers, KVM_X86_SETUP_MCE, and machine
 * checks injected by the VMM with KVM_X86_SET_MCE (a VMM forwarding a
 * host memory error to the guest that owns the page).
 *
 * okvm never raises a machine check of its own: the banks hold what the
 * guest and the VMM wrote. VMMs write them at every reset whatever the
 * guest's CPUID says (QEMU aborts when one write is refused), so, as in
 * KVM, a vCPU starts with KVM_MAX_MCE_BANKS banks and the VMM narrows
 * that with KVM_X86_SETUP_MCE. The state is the vCPU's: its ioctls and
 * its thread hold vcpu->mutex.
 */
#include <linux/kvm.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>
#include <asm/mce.h>
#include <asm/msr-index.h>

#include "ops.h"
#include "x86.h"

/*
 * What KVM_X86_SETUP_MCE accepts besides the bank count: MCG_CTL_P and
 * MCG_SER_P (software error recovery), as KVM offers on both vendors.
 */
#define OKVM_MCE_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)
#define MCG_BANKS(cap)		((cap) & 0xff)

void okvm_mce_vcpu_init(struct okvm_vcpu *vcpu)
{
	vcpu->mce.mcg_cap = OKVM_MAX_MCE_BANKS;
}

bool okvm_is_mce_msr(u32 msr)
{
	return msr == MSR_IA32_MCG_CAP || msr == MSR_IA32_MCG_STATUS ||
	       msr == MSR_IA32_MCG_CTL ||
	       (msr >= MSR_IA32_MC0_CTL &&
		msr < MSR_IA32_MC0_CTL + 4 * OKVM_MAX_MCE_BANKS);
}

/* The bank registers' index in mce.banks[], or -1 past the vCPU's banks. */
static int mce_bank_index(struct okvm_vcpu *vcpu, u32 msr)
{
	u32 n = 4 * MCG_BANKS(vcpu->mce.mcg_cap);

	if (msr - MSR_IA32_MC0_CTL >= n)
		return -1;
	return array_index_nospec(msr - MSR_IA32_MC0_CTL, n);
}

int okvm_mce_get_msr(struct okvm_vcpu *vcpu, u32 msr, u64 *data, bool host)
{
	struct okvm_mce *m = &vcpu->mce;
	int i;

	switch (msr) {
	case MSR_IA32_MCG_CAP:
		*data = m->mcg_cap;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = m->mcg_status;
		return 0;
	case MSR_IA32_MCG_CTL:
		/* present only with MCG_CTL_P (SDM 15.3.1.3); the VMM reads 0 */
		if (!(m->mcg_cap & MCG_CTL_P) && !host)
			return 1;
		*data = m->mcg_ctl;
		return 0;
	}
	i = mce_bank_index(vcpu, msr);
	if (i < 0)
		return 1;
	*data = m->banks[i];
	return 0;
}

int okvm_mce_set_msr(struct okvm_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct okvm_mce *m = &vcpu->mce;
	int i;

	switch (msr) {
	case MSR_IA32_MCG_CAP:
		return 1;	/* read-only; KVM_X86_SETUP_MCE sets it */
	case MSR_IA32_MCG_STATUS:
		m->mcg_status = data;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(m->mcg_cap & MCG_CTL_P) && (data || !host))
			return 1;
		/* all ones or all zeroes (SDM 15.3.1.3) */
		if (data && data != ~0ULL)
			return 1;
		m->mcg_ctl = data;
		return 0;
	}
	i = mce_bank_index(vcpu, msr);
	if (i < 0)
		return 1;
	switch (i % 4) {
	case 0:
		/*
		 * MCi_CTL: 0 or all ones. Linux clears bit 10 of bank 4 on
		 * AMD K8 (a GART erratum) and UnixWare bit 0 of bank 1; KVM
		 * lets both through, and so does okvm.
		 */
		if (data && (data | BIT_ULL(10) | BIT_ULL(0)) != ~0ULL)
			return 1;
		break;
	case 1:
		/*
		 * MCi_STATUS: the guest may only clear it, unless AMD's
		 * HWCR.McStatusWrEn (bit 18, APM Vol. 2 9.3.1) allows more.
		 */
		if (data && !host && !(vcpu->hwcr & BIT_ULL(18)))
			return 1;
		break;
	}
	m->banks[i] = data;
	return 0;
}

static int okvm_mce_setup(struct okvm_vcpu *vcpu, u64 __user *argp)
{
	struct okvm_mce *m = &vcpu->mce;
	unsigned int b;
	u64 cap;

	if (get_user(cap, argp))
		return -EFAULT;
	/* bits 23:16 are the count of extended state registers; KVM lets them be */
	if (!MCG_BANKS(cap) || MCG_BANKS(cap) > OKVM_MAX_MCE_BANKS ||
	    (cap & ~(OKVM_MCE_CAP_SUPPORTED | 0xffULL | 0xff0000ULL)))
		return -EINVAL;
	m->mcg_cap = cap;
	if (cap & MCG_CTL_P)
		m->mcg_ctl = ~0ULL;
	for (b = 0; b < MCG_BANKS(cap); b++)
		m->banks[4 * b] = ~0ULL;
	return 0;
}

/* STATUS, ADDR and MISC of @bank take the error; OVER if one was there. */
static void mce_fill_bank(u64 *bank, const struct kvm_x86_mce *mce)
{
	u64 over = bank[1] & MCI_STATUS_VAL ? MCI_STATUS_OVER : 0;

	bank[1] = mce->status | over;
	bank[2] = mce->addr;
	bank[3] = mce->misc;
}

/*
 * KVM_X86_SET_MCE: record an error in a bank as the hardware would (SDM
 * 15.3.2.2: an older valid error sets OVER) and, for an uncorrected one,
 * raise #MC. A second #MC while MCIP is set, or with CR4.MCE clear, shuts
 * the processor down (SDM 15.10.1).
 */
static int okvm_mce_inject(struct okvm_vcpu *vcpu, void __user *argp)
{
	struct okvm_mce *m = &vcpu->mce;
	struct kvm_x86_mce mce;
	unsigned int n = MCG_BANKS(m->mcg_cap);
	u64 *bank;

	if (copy_from_user(&mce, argp, sizeof(mce)))
		return -EFAULT;
	if (mce.bank >= n || !(mce.status & MCI_STATUS_VAL))
		return -EINVAL;
	bank = &m->banks[4 * array_index_nospec(mce.bank, n)];

	if (mce.status & MCI_STATUS_UC) {
		/* reporting disabled by MCG_CTL or the bank's CTL */
		if ((m->mcg_cap & MCG_CTL_P) && m->mcg_ctl != ~0ULL)
			return 0;
		if (bank[0] != ~0ULL)
			return 0;
		if ((m->mcg_status & MCG_STATUS_MCIP) ||
		    !(okvm_x86->get_cr(vcpu, 4) & X86_CR4_MCE)) {
			vcpu->shutdown_pending = true;
			return 0;
		}
		mce_fill_bank(bank, &mce);
		m->mcg_status = mce.mcg_status;
		okvm_queue_exception(vcpu, OKVM_MC_VECTOR, false, 0);
		return 0;
	}
	/* corrected: never overwrites an uncorrected error */
	if ((bank[1] & MCI_STATUS_VAL) && (bank[1] & MCI_STATUS_UC)) {
		bank[1] |= MCI_STATUS_OVER;
		return 0;
	}
	mce_fill_bank(bank, &mce);
	return 0;
}

long okvm_mce_vcpu_ioctl(struct okvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp)
{
	if (ioctl == KVM_X86_SETUP_MCE)
		return okvm_mce_setup(vcpu, argp);
	return okvm_mce_inject(vcpu, argp);
}

/*
 * KVM_X86_GET_MCE_CAP_SUPPORTED, on the system fd: the MCG_CAP flags only,
 * as KVM answers; the bank count is KVM_CHECK_EXTENSION(KVM_CAP_MCE)'s.
 */
long okvm_mce_get_cap_supported(u64 __user *argp)
{
	u64 cap = OKVM_MCE_CAP_SUPPORTED;

	return put_user(cap, argp) ? -EFAULT : 0;
}
