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
#include <linux/cpumask.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <asm/cpufeature.h>

#include "okvm.h"
#include "x86/irq.h"
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

/*
 * KVM_CHECK_EXTENSION, on the system fd (@vm NULL) and on a VM fd. A
 * capability appears here only once the feature it names works; the
 * selftests check each answer against behaviour.
 */
long okvm_check_extension(struct okvm_vm *vm, long cap)
{
	switch (cap) {
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_ENABLE_CAP_VM:	/* KVM_CAP_MAX_VCPU_ID (vm.c) */
		return 1;
	case KVM_CAP_NR_MEMSLOTS:
		return OKVM_USER_MEM_SLOTS;
	case KVM_CAP_NR_VCPUS:
		/* The recommended count: one vCPU per host CPU. */
		return min_t(long, num_online_cpus(), OKVM_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
		return OKVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return OKVM_MAX_VCPU_ID;
	case KVM_CAP_SYNC_MMU:		/* guest memory follows the VMM's (mmu.c) */
	case KVM_CAP_EXT_CPUID:		/* KVM_GET_SUPPORTED_CPUID */
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_TSC_DEADLINE_TIMER:	/* with KVM_CREATE_IRQCHIP (lapic.c) */
	/* What KVM's generic code has always done, and okvm does too. */
	case KVM_CAP_HLT:		/* HLT exits with KVM_EXIT_HLT */
	case KVM_CAP_USER_NMI:		/* KVM_NMI */
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_INTERNAL_ERROR_DATA:	/* internal.ndata/data[] */
	/* LAPICs, IOAPIC and PICs (x86/irqchip.c and the chips' files). */
	case KVM_CAP_IRQCHIP:
	/* The in-kernel 8254 (x86/pit.c). */
	case KVM_CAP_PIT:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
	case KVM_CAP_KVMCLOCK_CTRL:	/* x86/clock.c */
	case KVM_CAP_READONLY_MEM:	/* writes exit as MMIO (mmu.c) */
		return 1;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:	/* dirty_log.c */
		return okvm_dirty_log_manual_caps();
	/* The in-kernel irqchip's routing and injection (x86/routing.c). */
	case KVM_CAP_IRQ_INJECT_STATUS:	/* KVM_IRQ_LINE_STATUS */
	case KVM_CAP_SIGNAL_MSI:
		return 1;
	case KVM_CAP_MCE:		/* banks a vCPU may have (x86/mce.c) */
		return OKVM_MAX_MCE_BANKS;
	case KVM_CAP_IRQ_ROUTING:	/* the most entries of a table */
		return OKVM_MAX_IRQ_ROUTES;
	case KVM_CAP_IOEVENTFD:			/* eventfd.c */
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	case KVM_CAP_COALESCED_PIO:		/* 1, as KVM answers */
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:		/* resampler on the EOI */
		return 1;
	case KVM_CAP_COALESCED_MMIO:		/* where the ring is mapped */
		return KVM_COALESCED_MMIO_PAGE_OFFSET;
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:	/* no XCR0 without XSAVE (Bochs' L1 has none) */
		return boot_cpu_has(X86_FEATURE_XSAVE);
	case KVM_CAP_XSAVE2:
		return boot_cpu_has(X86_FEATURE_XSAVE) ? okvm_xsave2_size() : 0;
	case KVM_CAP_ADJUST_CLOCK:	/* KVM_GET/SET_CLOCK (x86/clock.c) */
		return okvm_clock_valid_flags();
	default:
		return 0;
	}
}

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
