// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqchip.c - the VM ioctls of the in-kernel interrupt controllers
 * (x86/irq.h): creating them, and handing each ioctl to the chip it is
 * about.
 */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "irq.h"
#include "x86.h"

/*
 * KVM_CREATE_IRQCHIP: the PIC pair, the IOAPIC and the default GSI
 * routing, and a local APIC in every vCPU created from now on. As KVM
 * does, it is refused with -EEXIST the second time and with -EINVAL once
 * a vCPU exists (a vCPU without a local APIC cannot be given one later).
 * @irqchip_in_kernel is set last, with release order, so whoever sees it
 * finds the chips and the table in place.
 */
static int okvm_create_irqchip(struct okvm_vm *vm)
{
	int ret = 0;

	mutex_lock(&vm->lock);
	if (vm->irqchip_in_kernel) {
		ret = -EEXIST;
		goto out;
	}
	if (vm->nr_vcpus) {
		ret = -EINVAL;
		goto out;
	}
	ret = okvm_pic_create(vm);
	if (ret)
		goto out;
	ret = okvm_ioapic_create(vm);
	if (ret)
		goto free_pic;
	ret = okvm_irq_routing_set_default(vm);
	if (ret)
		goto free_ioapic;
	/* Pairs with okvm_has_irqchip(): the chips are ready first. */
	smp_store_release(&vm->irqchip_in_kernel, true);
	goto out;

free_ioapic:
	okvm_ioapic_free(vm);
free_pic:
	okvm_pic_free(vm);
out:
	mutex_unlock(&vm->lock);
	return ret;
}

/* With the VM, once no vCPU runs and no ioctl is left (vm.c). */
void okvm_irqchip_free(struct okvm_vm *vm)
{
	okvm_irq_routing_free(vm);
	okvm_ioapic_free(vm);
	okvm_pic_free(vm);
}

static bool okvm_has_irqchip(struct okvm_vm *vm)
{
	/* Pairs with the release in okvm_create_irqchip(). */
	return smp_load_acquire(&vm->irqchip_in_kernel);
}

/* KVM_IRQ_LINE and KVM_IRQ_LINE_STATUS (the latter writes status back). */
static int okvm_irq_line(struct okvm_vm *vm, void __user *argp, bool status)
{
	struct kvm_irq_level event;

	if (copy_from_user(&event, argp, sizeof(event)))
		return -EFAULT;
	if (!okvm_has_irqchip(vm))
		return -ENXIO;
	event.status = okvm_set_irq(vm, OKVM_IRQ_SOURCE_USER, event.irq,
				    event.level);
	if (status && copy_to_user(argp, &event, sizeof(event)))
		return -EFAULT;
	return 0;
}

/*
 * KVM_GET_IRQCHIP / KVM_SET_IRQCHIP. As KVM: the whole struct is read
 * first (EFAULT), then the irqchip checked (ENXIO), then the chip id
 * (EINVAL); GET writes back the struct as read with the chip's state in
 * it.
 */
static int okvm_irqchip_state(struct okvm_vm *vm, void __user *argp, bool set)
{
	struct kvm_irqchip *chip;
	int ret = 0;

	chip = memdup_user(argp, sizeof(*chip));
	if (IS_ERR(chip))
		return PTR_ERR(chip);
	if (!okvm_has_irqchip(vm)) {
		ret = -ENXIO;
		goto out;
	}
	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		if (set)
			okvm_pic_set_state(vm, chip->chip_id, &chip->chip.pic);
		else
			okvm_pic_get_state(vm, chip->chip_id, &chip->chip.pic);
		break;
	case KVM_IRQCHIP_IOAPIC:
		if (set)
			okvm_ioapic_set_state(vm, &chip->chip.ioapic);
		else
			okvm_ioapic_get_state(vm, &chip->chip.ioapic);
		break;
	default:
		ret = -EINVAL;
		goto out;
	}
	if (!set && copy_to_user(argp, chip, sizeof(*chip)))
		ret = -EFAULT;
out:
	kfree(chip);
	return ret;
}

/*
 * KVM_SIGNAL_MSI: returns what the delivery returns, as KVM does: >0 the
 * number of APICs that took it, 0 none accepted it, -1 (EPERM to user
 * space) no APIC was named.
 */
static int okvm_signal_msi(struct okvm_vm *vm, void __user *argp)
{
	struct kvm_msi msi;

	if (copy_from_user(&msi, argp, sizeof(msi)))
		return -EFAULT;
	if (!okvm_has_irqchip(vm) || (msi.flags & ~KVM_MSI_VALID_DEVID))
		return -EINVAL;
	return okvm_deliver_msi(vm, &msi);
}

/* The irqchip ioctls of a VM fd; -ENOTTY for any other. */
long okvm_vm_ioctl_irqchip(struct okvm_vm *vm, unsigned int ioctl,
			   void __user *argp)
{
	switch (ioctl) {
	case KVM_CREATE_IRQCHIP:
		return okvm_create_irqchip(vm);
	case KVM_IRQ_LINE:
		return okvm_irq_line(vm, argp, false);
	case KVM_IRQ_LINE_STATUS:
		return okvm_irq_line(vm, argp, true);
	case KVM_GET_IRQCHIP:
		return okvm_irqchip_state(vm, argp, false);
	case KVM_SET_IRQCHIP:
		return okvm_irqchip_state(vm, argp, true);
	case KVM_SET_GSI_ROUTING:
		return okvm_irq_routing_ioctl(vm, argp);
	case KVM_SIGNAL_MSI:
		return okvm_signal_msi(vm, argp);
	default:
		return okvm_vm_ioctl_pit(vm, ioctl, argp);
	}
}
