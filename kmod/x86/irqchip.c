// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqchip.c - the VM ioctls of the in-kernel interrupt controllers
 * (x86/irq.h): creating them, and handing each ioctl to the chip it is
 * about.
 */
#include <linux/kvm.h>
#include <linux/uaccess.h>

#include "irq.h"
#include "x86.h"

/*
 * KVM_CREATE_IRQCHIP: the PIC pair, the IOAPIC and the default GSI
 * routing, and a local APIC in every vCPU created from now on. As KVM
 * does, it is refused with -EEXIST the second time and with -EINVAL once
 * a vCPU exists (a vCPU without a local APIC cannot be given one later).
 */
static int okvm_create_irqchip(struct okvm_vm *vm)
{
	int ret = 0;

	mutex_lock(&vm->lock);
	if (vm->irqchip_in_kernel)
		ret = -EEXIST;
	else if (vm->nr_vcpus)
		ret = -EINVAL;
	else
		vm->irqchip_in_kernel = true;
	mutex_unlock(&vm->lock);
	return ret;
}

/* The irqchip ioctls of a VM fd; -ENOTTY for any other. */
long okvm_vm_ioctl_irqchip(struct okvm_vm *vm, unsigned int ioctl,
			   void __user *argp)
{
	switch (ioctl) {
	case KVM_CREATE_IRQCHIP:
		return okvm_create_irqchip(vm);
	default:
		return okvm_vm_ioctl_pit(vm, ioctl, argp);
	}
}
