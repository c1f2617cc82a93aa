// SPDX-License-Identifier: GPL-2.0-only
/*
 * sync_regs.c - KVM_CAP_SYNC_REGS: register state passed through the
 * kvm_run page instead of separate ioctls.
 *
 * The VMM names in kvm_run.kvm_dirty_regs the parts of kvm_run.s.regs it
 * changed; KVM_RUN loads them into the vCPU before entering, as
 * KVM_SET_REGS, KVM_SET_SREGS and KVM_SET_VCPU_EVENTS would, and clears
 * each bit it took. It names in kvm_valid_regs the parts it wants back;
 * every return from KVM_RUN stores them, as the matching GET ioctls would.
 * A VMM that exits often for port I/O saves three system calls an exit.
 *
 * The page is shared with user space, which may write it while this
 * reads: each part is copied out once and checked in the copy, so what is
 * validated is what is loaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>

#include "x86.h"

union okvm_sync_copy {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
};

/*
 * Before an entry: load the parts kvm_dirty_regs names. A part the SET
 * ioctl would refuse stops KVM_RUN with -EINVAL, its bit left set and the
 * parts before it loaded, as KVM does. The copy is on the stack (the
 * largest part, kvm_sregs, is 312 bytes) so that this path cannot fail
 * for want of memory.
 */
int okvm_sync_regs_from_run(struct okvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	union okvm_sync_copy c;

	if (READ_ONCE(run->kvm_dirty_regs) & KVM_SYNC_X86_REGS) {
		memcpy(&c.regs, &run->s.regs.regs, sizeof(c.regs));
		okvm_set_regs(vcpu, &c.regs);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (READ_ONCE(run->kvm_dirty_regs) & KVM_SYNC_X86_SREGS) {
		memcpy(&c.sregs, &run->s.regs.sregs, sizeof(c.sregs));
		if (okvm_set_sregs(vcpu, &c.sregs))
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
	}
	if (READ_ONCE(run->kvm_dirty_regs) & KVM_SYNC_X86_EVENTS) {
		memcpy(&c.events, &run->s.regs.events, sizeof(c.events));
		if (okvm_set_vcpu_events(vcpu, &c.events))
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_EVENTS;
	}
	return 0;
}

/*
 * On every return from KVM_RUN: store the parts kvm_valid_regs names,
 * straight into the page, as KVM does (a VMM reading it while KVM_RUN is
 * still returning gets what it asked for: a torn read of its own making).
 */
void okvm_sync_regs_to_run(struct okvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u64 valid = READ_ONCE(run->kvm_valid_regs);

	if (valid & KVM_SYNC_X86_REGS)
		okvm_get_regs(vcpu, &run->s.regs.regs);
	if (valid & KVM_SYNC_X86_SREGS)
		okvm_get_sregs(vcpu, &run->s.regs.sregs);
	if (valid & KVM_SYNC_X86_EVENTS)
		okvm_get_vcpu_events(vcpu, &run->s.regs.events);
}
