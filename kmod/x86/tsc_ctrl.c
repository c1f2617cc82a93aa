// SPDX-License-Identifier: GPL-2.0-only
/*
 * tsc_ctrl.c - KVM_HAS/GET/SET_DEVICE_ATTR on the vCPU fd
 * (KVM_CAP_VCPU_ATTRIBUTES): the group KVM_VCPU_TSC_CTRL, whose one
 * attribute KVM_VCPU_TSC_OFFSET is the guest's TSC offset, the value the
 * hardware adds to the host's TSC (APM Vol. 2 15.30.5, SDM Vol. 3 26.3).
 * A VMM that migrates a VM moves the offset rather than the TSC, so the
 * guest's TSC keeps its distance from the host's across hosts.
 */
#include <linux/kvm.h>
#include <linux/uaccess.h>

#include "ops.h"
#include "x86.h"

/* The user pointer in @attr, EFAULT where it does not fit (KVM's check). */
static u64 __user *tsc_attr_addr(const struct kvm_device_attr *attr)
{
	if ((u64)(unsigned long)attr->addr != attr->addr)
		return NULL;
	return (u64 __user *)(unsigned long)attr->addr;
}

static int tsc_offset_get(struct okvm_vcpu *vcpu, u64 __user *uaddr)
{
	u64 offset = okvm_x86->adjust_tsc_offset(vcpu, 0);

	return put_user(offset, uaddr) ? -EFAULT : 0;
}

/*
 * Sets the offset as given: the guest's TSC jumps to the host's plus it.
 * The kvmclock page's TSC reading is then stale, as after a TSC write.
 * KVM also matches the offset against the one last written to another
 * vCPU to decide whether the VM's TSCs are in step (its master clock);
 * okvm has no master clock and takes each write as given (api.rst).
 */
static int tsc_offset_set(struct okvm_vcpu *vcpu, u64 __user *uaddr)
{
	u64 offset;

	if (get_user(offset, uaddr))
		return -EFAULT;
	okvm_x86->adjust_tsc_offset(vcpu, offset -
				    okvm_x86->adjust_tsc_offset(vcpu, 0));
	okvm_kvmclock_request(vcpu);
	return 0;
}

/* Called with vcpu->mutex held, as every vCPU ioctl. KVM's errnos. */
long okvm_vcpu_ioctl_device_attr(struct okvm_vcpu *vcpu, unsigned int ioctl,
				 void __user *argp)
{
	struct kvm_device_attr attr;
	u64 __user *uaddr;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group != KVM_VCPU_TSC_CTRL || attr.attr != KVM_VCPU_TSC_OFFSET)
		return -ENXIO;
	if (ioctl == KVM_HAS_DEVICE_ATTR)
		return 0;
	uaddr = tsc_attr_addr(&attr);
	if (!uaddr)
		return -EFAULT;
	if (ioctl == KVM_GET_DEVICE_ATTR)
		return tsc_offset_get(vcpu, uaddr);
	return tsc_offset_set(vcpu, uaddr);
}
