// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr_filter.c - KVM_X86_SET_MSR_FILTER (KVM_CAP_X86_MSR_FILTER) and the
 * exits of KVM_CAP_X86_USER_SPACE_MSR.
 *
 * A filter is up to KVM_MSR_FILTER_MAX_RANGES ranges, each a base index, a
 * count, read and/or write flags and a bitmap with one bit per MSR (1:
 * allowed). A guest RDMSR or WRMSR is checked against the first range that
 * covers the index for that direction; no range covering it means the
 * filter's default (allow or deny). Only the guest's own accesses are
 * filtered: KVM_GET/SET_MSRS are the VMM's, and the x2APIC MSRs
 * (0x800-0x8ff) are never filtered, as in KVM 6.1.
 *
 * A denied access, an MSR okvm does not know, or a value it refuses, goes
 * to the VMM as KVM_EXIT_X86_RDMSR/WRMSR when KVM_ENABLE_CAP(
 * KVM_CAP_X86_USER_SPACE_MSR) asked for that reason; otherwise the guest
 * gets #GP. The VMM answers in kvm_run->msr (data for a read, error for
 * #GP) and the next KVM_RUN completes the instruction (msr.c).
 *
 * The filter is read under RCU by the exit handlers of running vCPUs and
 * replaced whole by the ioctl, any time, as KVM allows. A filter that
 * denies anything makes the vendors intercept every MSR for the VM
 * (@msr_intercept_all), so that MSRs the guest otherwise reaches without
 * an exit (FS/GS_BASE, the SYSCALL MSRs) are filtered too.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>

#include "irq.h"
#include "x86.h"

/* Spelled out: 6.1's <linux/kvm.h> has no *_VALID_MASK for these. */
#define OKVM_MSR_FILTER_RANGE_FLAGS	(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)

struct okvm_msr_range {
	u32 flags;		/* KVM_MSR_FILTER_READ / _WRITE */
	u32 base;
	u32 nmsrs;
	unsigned long *bitmap;	/* nmsrs bits, 1 = allowed */
};

struct okvm_msr_filter {
	bool default_allow;
	unsigned int count;
	struct okvm_msr_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

static void okvm_msr_filter_destroy(struct okvm_msr_filter *f)
{
	unsigned int i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

/*
 * One range of the VMM's filter, with KVM's checks: a range of no MSRs is
 * skipped whatever its other fields; otherwise it needs read and/or write
 * and no other flag, and a bitmap of at most KVM_MSR_FILTER_MAX_BITMAP_SIZE
 * bytes (counted in longs, as KVM copies it).
 */
static int okvm_msr_filter_add(struct okvm_msr_filter *f,
			       const struct kvm_msr_filter_range *r)
{
	size_t size;
	void *bitmap;

	if (!r->nmsrs)
		return 0;
	if (!r->flags || (r->flags & ~OKVM_MSR_FILTER_RANGE_FLAGS))
		return -EINVAL;
	size = BITS_TO_LONGS(r->nmsrs) * sizeof(long);
	if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;
	bitmap = memdup_user(u64_to_user_ptr((u64)(unsigned long)r->bitmap),
			     size);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	f->ranges[f->count++] = (struct okvm_msr_range) {
		.flags = r->flags,
		.base = r->base,
		.nmsrs = r->nmsrs,
		.bitmap = bitmap,
	};
	return 0;
}

/*
 * Whether the filter makes every MSR access exit: any filter but "allow
 * everything". okvm then points the vCPUs at an intercept-everything
 * permission map instead of working out which pass-through MSRs the ranges
 * deny; filtering VMs pay an exit for FS/GS_BASE and the SYSCALL MSRs.
 */
static bool okvm_msr_filter_restricts(const struct okvm_msr_filter *f)
{
	return f && (!f->default_allow || f->count);
}

long okvm_vm_set_msr_filter(struct okvm_vm *vm, void __user *argp)
{
	struct kvm_msr_filter *uf;
	struct okvm_msr_filter *f, *old;
	bool empty = true;
	unsigned int i;
	long ret;

	uf = memdup_user(argp, sizeof(*uf));
	if (IS_ERR(uf))
		return PTR_ERR(uf);
	ret = -EINVAL;
	if (uf->flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		goto out;
	for (i = 0; i < ARRAY_SIZE(uf->ranges); i++)
		empty &= !uf->ranges[i].nmsrs;
	/* Deny with no range would deny everything: KVM refuses it. */
	if (empty && (uf->flags & KVM_MSR_FILTER_DEFAULT_DENY))
		goto out;
	ret = -ENOMEM;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		goto out;
	f->default_allow = !(uf->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < ARRAY_SIZE(uf->ranges); i++) {
		ret = okvm_msr_filter_add(f, &uf->ranges[i]);
		if (ret) {
			okvm_msr_filter_destroy(f);
			goto out;
		}
	}

	mutex_lock(&vm->lock);
	old = rcu_replace_pointer(vm->msr_filter, f,
				  lockdep_is_held(&vm->lock));
	WRITE_ONCE(vm->msr_intercept_all, okvm_msr_filter_restricts(f));
	/* Running vCPUs re-enter with the new permission map. */
	for (i = 0; i < vm->nr_vcpus; i++)
		okvm_vcpu_kick(vm->vcpus[i]);
	mutex_unlock(&vm->lock);
	/*
	 * Wait for readers of the old filter, as KVM does, rather than
	 * call_rcu(): a VMM replacing filters in a loop then holds one, not
	 * thousands waiting for a grace period.
	 */
	synchronize_rcu();
	okvm_msr_filter_destroy(old);
	ret = 0;
out:
	kfree(uf);
	return ret;
}

/* KVM_MSR_FILTER_READ or _WRITE as @type: may the guest access @index? */
bool okvm_msr_allowed(struct okvm_vcpu *vcpu, u32 index, u32 type)
{
	const struct okvm_msr_filter *f;
	bool allowed = true;
	unsigned int i;

	if (index >= APIC_BASE_MSR && index <= APIC_BASE_MSR + 0xff)
		return true;
	rcu_read_lock();
	f = rcu_dereference(vcpu->vm->msr_filter);
	if (f) {
		allowed = f->default_allow;
		for (i = 0; i < f->count; i++) {
			const struct okvm_msr_range *r = &f->ranges[i];

			/* u64: base + nmsrs may pass 2^32 */
			if (index >= r->base &&
			    index < (u64)r->base + r->nmsrs &&
			    (r->flags & type)) {
				allowed = test_bit(index - r->base, r->bitmap);
				break;
			}
		}
	}
	rcu_read_unlock();
	return allowed;
}

/* VM teardown: no vCPU runs any more. */
void okvm_msr_filter_free(struct okvm_vm *vm)
{
	okvm_msr_filter_destroy(rcu_dereference_protected(vm->msr_filter, 1));
	RCU_INIT_POINTER(vm->msr_filter, NULL);
}
