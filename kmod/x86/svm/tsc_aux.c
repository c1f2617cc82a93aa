// SPDX-License-Identifier: GPL-2.0-only
/*
 * tsc_aux.c - the guest's IA32_TSC_AUX in the CPU while it runs, the
 * host's back before user space does.
 *
 * Linux keeps the CPU (and node) number in TSC_AUX for user space's
 * getcpu() (RDTSCP or RDPID in the vDSO). okvm intercepts RDTSCP, but
 * RDPID has no SVM intercept (APM 15.9 lists none), so a guest on a CPU
 * with RDPID reads whatever TSC_AUX holds: without this, the host's CPU
 * number. (VMX needs none of this: without "enable RDTSCP", which okvm
 * leaves clear, both instructions raise #UD in the guest, SDM 26.3.)
 *
 * Decision: load the guest's value before VMRUN when it differs from what
 * the MSR holds, and put the host's back only when this CPU next returns
 * to user space, from a user-return notifier, as KVM does with its
 * "user-return MSRs". The kernel itself no longer reads TSC_AUX (since
 * 5.9 its paranoid entry takes the CPU number from the GDT, not RDPID),
 * so a guest value may stay in the MSR while the kernel runs; a vCPU that
 * exits and enters again in the kernel costs no MSR write at all, and one
 * whose value equals the host's (CPU 0, TSC_AUX 0) never writes it.
 */
#include <linux/irqflags.h>
#include <linux/percpu.h>
#include <linux/user-return-notifier.h>
#include <asm/msr.h>

#include "svm.h"
#include "../x86.h"

struct svm_tsc_aux {
	struct user_return_notifier urn;
	bool registered;	/* the notifier is armed: the MSR may be a guest's */
	u64 host;		/* the host's value, read when arming */
	u64 curr;		/* what the MSR holds while armed */
};

static DEFINE_PER_CPU(struct svm_tsc_aux, svm_tsc_aux);

/* Put the host's value back and disarm; interrupts off, on this CPU. */
static void svm_tsc_aux_restore(struct svm_tsc_aux *t)
{
	if (!t->registered)
		return;
	if (t->curr != t->host)
		wrmsrl(MSR_TSC_AUX, t->host);
	user_return_notifier_unregister(&t->urn);
	t->registered = false;
}

static void svm_tsc_aux_on_user_return(struct user_return_notifier *urn)
{
	unsigned long flags;

	local_irq_save(flags);
	svm_tsc_aux_restore(container_of(urn, struct svm_tsc_aux, urn));
	local_irq_restore(flags);
}

/* Before VMRUN, with interrupts off. */
void svm_load_guest_tsc_aux(u64 val)
{
	struct svm_tsc_aux *t = this_cpu_ptr(&svm_tsc_aux);

	if (!okvm_host_has_tsc_aux())
		return;
	if (!t->registered) {
		/* Disarmed, the MSR holds the host's value. */
		rdmsrl(MSR_TSC_AUX, t->host);
		t->curr = t->host;
		t->urn.on_user_return = svm_tsc_aux_on_user_return;
		user_return_notifier_register(&t->urn);
		t->registered = true;
	}
	if (t->curr != val) {
		/* @val is 32 bits (msr.c): the write cannot fault. */
		wrmsrl(MSR_TSC_AUX, val);
		t->curr = val;
	}
}

/*
 * SVM turned off on this CPU (the last VM gone, the CPU going offline, a
 * reboot): the host's value back and the notifier disarmed now, so that
 * none outlives the module. Interrupts may be on or off.
 */
void svm_put_host_tsc_aux(void)
{
	unsigned long flags;

	local_irq_save(flags);
	svm_tsc_aux_restore(this_cpu_ptr(&svm_tsc_aux));
	local_irq_restore(flags);
}
