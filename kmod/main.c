// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - the okvm module: its character device and the system ioctls.
 *
 * /dev/okvm speaks the first level of KVM's ABI (Documentation/virt/kvm/
 * api.rst, "System ioctls"): the same numbers, structures and errnos, so an
 * unmodified KVM client can use it. With devname=kvm the device is /dev/kvm
 * on KVM's own misc minor, for clients that hard-code that path.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/string.h>

#include "okvm.h"
#include "x86/ops.h"
#include "x86/x86.h"

static char *devname = "okvm";
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname,
		 "device name: okvm (default, dynamic minor) or kvm (/dev/kvm, misc minor 232)");

/*
 * The mmap of a vCPU fd, as KVM lays it out on x86: page 0 is struct kvm_run,
 * page KVM_PIO_PAGE_OFFSET holds the data of port I/O exits, page
 * KVM_COALESCED_MMIO_PAGE_OFFSET the VM's coalesced MMIO ring (eventfd.c).
 */
#define OKVM_VCPU_MMAP_PAGES	(KVM_COALESCED_MMIO_PAGE_OFFSET + 1)

static long okvm_dev_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	case KVM_CREATE_VM:
		return okvm_create_vm(arg);
	case KVM_CHECK_EXTENSION:
		return okvm_check_extension(NULL, arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return OKVM_VCPU_MMAP_PAGES * PAGE_SIZE;
	case KVM_GET_SUPPORTED_CPUID:
		return okvm_dev_get_supported_cpuid((void __user *)arg);
	case KVM_X86_GET_MCE_CAP_SUPPORTED:
		return okvm_mce_get_cap_supported((u64 __user *)arg);
	case KVM_GET_MSR_INDEX_LIST:
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
	case KVM_GET_MSRS:
		return okvm_dev_ioctl_msrs(ioctl, (void __user *)arg);
	default:
		/* KVM's x86 system fd answers EINVAL, not ENOTTY. */
		return -EINVAL;
	}
}

static const struct file_operations okvm_dev_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = okvm_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice okvm_dev = {
	.fops = &okvm_dev_fops,
	/* udev adds group kvm (scripts/udev/65-okvm.rules) */
	.mode = 0660,
};

static int __init okvm_register_device(void)
{
	int ret;

	if (!strcmp(devname, "okvm")) {
		okvm_dev.minor = MISC_DYNAMIC_MINOR;
	} else if (!strcmp(devname, "kvm")) {
		okvm_dev.minor = KVM_MINOR;
	} else {
		pr_err("devname=%s: must be okvm or kvm\n", devname);
		return -EINVAL;
	}
	okvm_dev.name = devname;

	ret = misc_register(&okvm_dev);
	if (ret == -EBUSY && okvm_dev.minor == KVM_MINOR)
		pr_err("misc minor %d (/dev/kvm) is taken, most likely by the in-tree kvm module; unload kvm or load okvm without devname=kvm\n",
		       KVM_MINOR);
	else if (ret)
		pr_err("cannot register /dev/%s: error %d\n", devname, ret);
	return ret;
}

static int __init okvm_init(void)
{
	int ret;

	ret = okvm_x86_init();
	if (ret)
		return ret;
	ret = okvm_hardware_init();
	if (ret)
		goto x86_exit;
	ret = okvm_vm_init();
	if (ret)
		goto hardware_exit;
	ret = okvm_eventfd_module_init();
	if (ret)
		goto vm_exit;
	ret = okvm_register_device();
	if (ret)
		goto eventfd_exit;
	pr_info("ready on %s: /dev/%s (misc minor %d)\n", okvm_x86->name,
		devname, okvm_dev.minor);
	return 0;

eventfd_exit:
	okvm_eventfd_module_exit();
vm_exit:
	okvm_vm_exit();
hardware_exit:
	okvm_hardware_exit();
x86_exit:
	okvm_x86_exit();
	return ret;
}

static void __exit okvm_exit(void)
{
	misc_deregister(&okvm_dev);
	okvm_eventfd_module_exit();
	okvm_vm_exit();
	okvm_hardware_exit();
	okvm_x86_exit();
}

module_init(okvm_init);
module_exit(okvm_exit);
MODULE_DESCRIPTION("okvm: KVM's ABI on AMD-V and Intel VT-x, out of tree");
MODULE_LICENSE("GPL");
