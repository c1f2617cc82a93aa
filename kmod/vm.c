// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm.c - KVM_CREATE_VM and the VM file descriptor.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kvm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

#include "okvm.h"
#include "x86/irq.h"
#include "x86/x86.h"

/* Names for VMs in dmesg; a closed VM's number is reused. */
static DEFINE_IDA(okvm_vm_ida);

static struct kmem_cache *okvm_vm_cache;

static void okvm_vm_free(struct okvm_vm *vm)
{
	unsigned int i;

	/* irqfds first: their shutdown may still raise lines (eventfd.c). */
	okvm_eventfd_free(vm);
	/* The PIT's timer and work raise IRQs: stop them next. */
	okvm_pit_free(vm);
	/* Then the notifier, which may still kick vCPUs; then the vCPUs. */
	okvm_mmu_destroy(vm);
	/*
	 * The chips before the vCPUs: the IOAPIC's delayed redelivery may
	 * still be queued and would deliver to their local APICs.
	 */
	okvm_irqchip_free(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		okvm_vcpu_free(vm->vcpus[i]);
	okvm_msr_filter_free(vm);
	okvm_memslots_free(vm);
	mmdrop(vm->mm);
	ida_free(&okvm_vm_ida, vm->id);
	kmem_cache_free(okvm_vm_cache, vm);
	okvm_hardware_put();
}

static void okvm_vm_last_ref(struct kref *kref)
{
	okvm_vm_free(container_of(kref, struct okvm_vm, refs));
}

/* Drop a reference; the last one (no VM or vCPU fd left) frees the VM. */
void okvm_vm_put(struct okvm_vm *vm)
{
	kref_put(&vm->refs, okvm_vm_last_ref);
}

static int okvm_vm_release(struct inode *inode, struct file *filp)
{
	okvm_vm_put(filp->private_data);
	return 0;
}

/*
 * KVM_CAP_MAX_VCPU_ID: a VMM may lower the highest vCPU id + 1, once,
 * before the first vCPU; KVM_CREATE_VCPU fixes the default otherwise
 * (okvm_create_vcpu()). Asking again for the value in force is fine.
 */
static int okvm_enable_max_vcpu_id(struct okvm_vm *vm, u64 max)
{
	int ret = -EINVAL;

	if (max > OKVM_MAX_VCPU_ID)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (vm->max_vcpu_ids == max) {
		ret = 0;
	} else if (!vm->max_vcpu_ids) {
		vm->max_vcpu_ids = max;
		ret = 0;
	}
	mutex_unlock(&vm->lock);
	return ret;
}

/*
 * KVM_ENABLE_CAP on the VM fd (KVM_CAP_ENABLE_CAP_VM): one case per
 * capability a VMM may turn on. Like KVM, flags must be 0 and an unknown
 * capability is EINVAL.
 */
static int okvm_vm_enable_cap(struct okvm_vm *vm, void __user *argp)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_MAX_VCPU_ID:
		return okvm_enable_max_vcpu_id(vm, cap.args[0]);
	case KVM_CAP_X2APIC_API:
		/* flags only turn on, as in KVM (api.rst) */
		if (cap.args[0] & ~OKVM_X2APIC_API_FLAGS)
			return -EINVAL;
		if (cap.args[0] & KVM_X2APIC_API_USE_32BIT_IDS)
			WRITE_ONCE(vm->x2apic_format, true);
		if (cap.args[0] & KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK)
			WRITE_ONCE(vm->x2apic_broadcast_quirk_disabled, true);
		return 0;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return okvm_vm_enable_cap_dirty_log(vm, &cap);
	case KVM_CAP_MSR_PLATFORM_INFO:
		/* args[0] nonzero: the guest may read it (the default). */
		WRITE_ONCE(vm->platform_info_hidden, !cap.args[0]);
		return 0;
	case KVM_CAP_DISABLE_QUIRKS2:
		/* any time; the set replaces the last one, as in KVM */
		if (cap.args[0] & ~OKVM_QUIRKS)
			return -EINVAL;
		WRITE_ONCE(vm->disabled_quirks, cap.args[0]);
		return 0;
	case KVM_CAP_X86_USER_SPACE_MSR:
		/* any time, replacing the mask, as in KVM */
		if (cap.args[0] & ~OKVM_MSR_EXIT_REASONS)
			return -EINVAL;
		WRITE_ONCE(vm->user_space_msr_mask, cap.args[0]);
		return 0;
	default:
		return -EINVAL;
	}
}

static long okvm_vm_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	struct okvm_vm *vm = filp->private_data;

	/*
	 * Like KVM, a VM serves only the process that created it: a child
	 * that inherited the fd across fork() has another address space, and
	 * guest memory is addresses in the creator's.
	 */
	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_CHECK_EXTENSION:
		return okvm_check_extension(vm, arg);
	case KVM_CREATE_VCPU:
		return okvm_create_vcpu(vm, arg);
	case KVM_ENABLE_CAP:
		return okvm_vm_enable_cap(vm, (void __user *)arg);
	case KVM_GET_STATS_FD:
		return okvm_vm_get_stats_fd(vm);
	case KVM_SET_NR_MMU_PAGES:
	case KVM_GET_NR_MMU_PAGES:
		return okvm_vm_ioctl_mmu_pages(vm, ioctl, arg);
	case KVM_SET_USER_MEMORY_REGION: {
		struct kvm_userspace_memory_region mem;

		if (copy_from_user(&mem, (void __user *)arg, sizeof(mem)))
			return -EFAULT;
		return okvm_set_user_memory_region(vm, &mem);
	}
	case KVM_GET_DIRTY_LOG:
	case KVM_CLEAR_DIRTY_LOG:
		return okvm_vm_ioctl_dirty_log(vm, ioctl, (void __user *)arg);
	case KVM_GET_CLOCK:
	case KVM_SET_CLOCK:
		return okvm_vm_ioctl_clock(vm, ioctl, (void __user *)arg);
	case KVM_GET_TSC_KHZ:
		/* The VM's default rate, as KVM answers here: the host's. */
		return tsc_khz ? tsc_khz : -EIO;
	case KVM_SET_TSS_ADDR:
		/*
		 * The real-mode TSS VMX without unrestricted guest needs.
		 * okvm requires unrestricted guest, so neither vendor uses
		 * it; it is kept only to answer as KVM does, which checks
		 * first that its three pages lie below 4 GiB.
		 */
		if (arg > (unsigned int)(-3 * PAGE_SIZE))
			return -EINVAL;
		mutex_lock(&vm->lock);
		vm->tss_addr = arg;
		mutex_unlock(&vm->lock);
		return 0;
	case KVM_SET_BOOT_CPU_ID: {
		int ret = -EBUSY;

		/*
		 * As KVM: only before the first vCPU, which takes its reset
		 * state from it. 6.1 took any id, truncated to 32 bits;
		 * later KVM refuses one above the id limit, and so does
		 * okvm (a VM whose BSP is never created has no BSP).
		 */
		mutex_lock(&vm->lock);
		if (!vm->nr_vcpus) {
			ret = -EINVAL;
			if (arg <= OKVM_MAX_VCPU_ID &&
			    (!vm->max_vcpu_ids || arg <= vm->max_vcpu_ids)) {
				vm->bsp_vcpu_id = arg;
				ret = 0;
			}
		}
		mutex_unlock(&vm->lock);
		return ret;
	}
	case KVM_SET_IDENTITY_MAP_ADDR: {
		u64 addr;
		int ret = -EINVAL;

		/* KVM refuses it once vCPUs exist, before reading the address. */
		mutex_lock(&vm->lock);
		if (!vm->nr_vcpus) {
			ret = -EFAULT;
			if (!copy_from_user(&addr, (void __user *)arg, sizeof(addr))) {
				vm->identity_map_addr_set = true;
				ret = 0;
			}
		}
		mutex_unlock(&vm->lock);
		return ret;
	}
	case KVM_X86_SET_MSR_FILTER:
		return okvm_vm_set_msr_filter(vm, (void __user *)arg);
	case KVM_IOEVENTFD:
	case KVM_IRQFD:
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO:
		return okvm_vm_ioctl_eventfd(vm, ioctl, (void __user *)arg);
	default:
		/* KVM's VM fd answers ENOTTY for what it does not know. */
		return okvm_vm_ioctl_irqchip(vm, ioctl, (void __user *)arg);
	}
}

static const struct file_operations okvm_vm_fops = {
	.owner = THIS_MODULE,
	.release = okvm_vm_release,
	.unlocked_ioctl = okvm_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* KVM_CREATE_VM: returns the new VM's fd or an errno. */
int okvm_create_vm(unsigned long type)
{
	struct okvm_vm *vm;
	int ret, fd;

	/* x86 KVM knows type 0 (KVM_X86_DEFAULT_VM) and no other here. */
	if (type)
		return -EINVAL;

	ret = okvm_hardware_get();
	if (ret)
		return ret;
	vm = kmem_cache_zalloc(okvm_vm_cache, GFP_KERNEL_ACCOUNT);
	if (!vm) {
		ret = -ENOMEM;
		goto put_hardware;
	}
	ret = ida_alloc(&okvm_vm_ida, GFP_KERNEL);
	if (ret < 0)
		goto free_vm;
	vm->id = ret;
	vm->creator = task_tgid_nr(current);
	kref_init(&vm->refs);
	mutex_init(&vm->lock);
	okvm_irq_routing_vm_init(vm);
	okvm_clock_init(vm);
	ret = okvm_memslots_init(vm);
	if (ret) {
		okvm_memslots_free(vm);
		goto free_id;
	}
	ret = okvm_mmu_init(vm);
	if (ret) {
		okvm_mmu_destroy(vm);
		okvm_memslots_free(vm);
		goto free_id;
	}
	ret = okvm_eventfd_init(vm);
	if (ret) {
		okvm_mmu_destroy(vm);
		okvm_memslots_free(vm);
		goto free_id;
	}
	vm->mm = current->mm;
	mmgrab(vm->mm);

	fd = anon_inode_getfd("okvm-vm", &okvm_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto drop_mm;
	}
	return fd;

drop_mm:
	mmdrop(vm->mm);
	okvm_eventfd_free(vm);
	okvm_mmu_destroy(vm);
	okvm_memslots_free(vm);
free_id:
	ida_free(&okvm_vm_ida, vm->id);
free_vm:
	kmem_cache_free(okvm_vm_cache, vm);
put_hardware:
	okvm_hardware_put();
	return ret;
}

int __init okvm_vm_init(void)
{
	okvm_vm_cache = KMEM_CACHE(okvm_vm, SLAB_ACCOUNT);
	return okvm_vm_cache ? 0 : -ENOMEM;
}

void okvm_vm_exit(void)
{
	kmem_cache_destroy(okvm_vm_cache);
	ida_destroy(&okvm_vm_ida);
}
