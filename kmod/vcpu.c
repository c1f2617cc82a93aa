// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu.c - KVM_CREATE_VCPU and the vCPU file descriptor: its shared
 * struct kvm_run page and the mmap that exposes it.
 *
 * The ioctls themselves live in x86/: KVM_RUN in run.c, the register state
 * in regs.c, CPUID and MSRs in cpuid.c and msr.c. Every vCPU ioctl holds
 * the vCPU's mutex, so they never overlap, as in KVM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <asm/tsc.h>

#include "okvm.h"
#include "x86/irq.h"
#include "x86/lapic.h"
#include "x86/ops.h"
#include "x86/x86.h"

/* The mmap layout KVM_GET_VCPU_MMAP_SIZE announces (main.c). */
static vm_fault_t okvm_vcpu_fault(struct vm_fault *vmf)
{
	struct okvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	void *page;

	switch (vmf->pgoff) {
	case 0:
		page = vcpu->run;
		break;
	case KVM_PIO_PAGE_OFFSET:
		page = vcpu->pio_data;
		break;
	case KVM_COALESCED_MMIO_PAGE_OFFSET:
		vmf->page = okvm_coalesced_ring_page(vcpu->vm);
		get_page(vmf->page);
		return 0;
	default:
		return VM_FAULT_SIGBUS;
	}
	vmf->page = virt_to_page(page);
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct okvm_vcpu_vm_ops = {
	.fault = okvm_vcpu_fault,
};

static int okvm_vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	vma->vm_ops = &okvm_vcpu_vm_ops;
	return 0;
}

static int okvm_vcpu_release(struct inode *inode, struct file *filp)
{
	struct okvm_vcpu *vcpu = filp->private_data;

	okvm_vm_put(vcpu->vm);
	return 0;
}

/*
 * KVM_SET_TSC_KHZ without TSC scaling: the host's rate (within KVM's
 * tolerance of 250 ppm) or 0 for "the default" is fine; any other rate is
 * EINVAL. KVM accepts a faster rate and catches the guest's TSC up in
 * software; okvm does not (Documentation/api.rst).
 */
static long okvm_set_tsc_khz(unsigned long khz)
{
	unsigned long slack = tsc_khz / 4000;

	if (!khz || (khz >= tsc_khz - slack && khz <= tsc_khz + slack))
		return 0;
	return -EINVAL;
}

/* KVM_SET_SIGNAL_MASK: len must be the kernel's sigset size (8 on x86). */
static int okvm_vcpu_set_signal_mask(struct okvm_vcpu *vcpu,
				     void __user *argp)
{
	struct kvm_signal_mask __user *umask = argp;
	struct kvm_signal_mask mask;
	sigset_t set;

	if (!argp) {
		vcpu->sigset_active = false;
		return 0;
	}
	if (copy_from_user(&mask, umask, sizeof(mask)))
		return -EFAULT;
	if (mask.len != sizeof(set))
		return -EINVAL;
	if (copy_from_user(&set, umask->sigset, sizeof(set)))
		return -EFAULT;
	/* SIGKILL and SIGSTOP cannot be blocked (sigprocmask(2)). */
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigset = set;
	vcpu->sigset_active = true;
	return 0;
}

static long okvm_vcpu_ioctl_locked(struct okvm_vcpu *vcpu, unsigned int ioctl,
				   void __user *argp)
{
	switch (ioctl) {
	case KVM_RUN:
		if (argp)
			return -EINVAL;
		vcpu->has_run = true;
		return okvm_vcpu_ioctl_run(vcpu);
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
		return okvm_vcpu_ioctl_msrs(vcpu, ioctl, argp);
	case KVM_SET_CPUID2:
		return okvm_vcpu_set_cpuid2(vcpu, argp);
	case KVM_SET_CPUID:
		return okvm_vcpu_set_cpuid1(vcpu, argp);
	case KVM_GET_CPUID2:
		return okvm_vcpu_get_cpuid2(vcpu, argp);
	case KVM_SET_SIGNAL_MASK:
		return okvm_vcpu_set_signal_mask(vcpu, argp);
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
	case KVM_SET_VAPIC_ADDR:
		/* KVM: EINVAL without an in-kernel local APIC. */
		if (!vcpu->lapic)
			return -EINVAL;
		return okvm_lapic_vcpu_ioctl(vcpu, ioctl, argp);
	case KVM_GET_MP_STATE:
	case KVM_SET_MP_STATE:
		if (vcpu->lapic)
			return okvm_lapic_vcpu_ioctl(vcpu, ioctl, argp);
		break;
	case KVM_INTERRUPT: {
		struct kvm_interrupt irq;

		/* The in-kernel PIC is the source of ExtINTs then (KVM). */
		if (vcpu->vm->irqchip_in_kernel)
			return -ENXIO;

		/* Without an in-kernel irqchip: queue it, one at a time. */
		if (copy_from_user(&irq, argp, sizeof(irq)))
			return -EFAULT;
		if (irq.irq >= KVM_NR_INTERRUPTS)
			return -EINVAL;
		if (vcpu->interrupt.injected)
			return -EEXIST;
		vcpu->interrupt.injected = true;
		vcpu->interrupt.vector = irq.irq;
		return 0;
	}
	case KVM_NMI:
		/*
		 * Without an in-kernel irqchip, as KVM: the NMI is pending
		 * until the guest can take it (delivered at the next entry
		 * that NMI blocking allows). KVM queues at most two; a
		 * pending one already stands for both here. KVM ignores
		 * the argument.
		 */
		vcpu->nmi_pending = true;
		return 0;
	case KVM_SMI:
		return okvm_vcpu_ioctl_smi(vcpu);
	case KVM_GET_TSC_KHZ:
		/* The guest's TSC is the host's plus an offset. */
		return tsc_khz ? tsc_khz : -EIO;
	case KVM_SET_TSC_KHZ:
		return okvm_set_tsc_khz((unsigned long)argp);
	case KVM_KVMCLOCK_CTRL:
		return okvm_vcpu_kvmclock_ctrl(vcpu);
	case KVM_GET_STATS_FD:
		return okvm_vcpu_get_stats_fd(vcpu);
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR:
		return okvm_vcpu_ioctl_device_attr(vcpu, ioctl, argp);
	case KVM_SET_GUEST_DEBUG:
		return okvm_vcpu_set_guest_debug(vcpu, argp);
	case KVM_X86_SETUP_MCE:
	case KVM_X86_SET_MCE:
		return okvm_mce_vcpu_ioctl(vcpu, ioctl, argp);
	case KVM_ENABLE_CAP: {
		struct kvm_enable_cap cap;

		/*
		 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID is the one per-vCPU
		 * capability okvm has (KVM's others are Hyper-V's); flags,
		 * and the rest, are EINVAL after reading the argument.
		 */
		if (copy_from_user(&cap, argp, sizeof(cap)))
			return -EFAULT;
		if (cap.flags || cap.cap != KVM_CAP_ENFORCE_PV_FEATURE_CPUID)
			return -EINVAL;
		/* any non-zero args[0] turns it on, as in KVM */
		vcpu->pv_enforce = cap.args[0];
		return 0;
	}
	default:
		break;
	}
	return okvm_vcpu_ioctl_regs(vcpu, ioctl, argp);
}

static long okvm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct okvm_vcpu *vcpu = filp->private_data;
	long ret;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	ret = okvm_vcpu_ioctl_locked(vcpu, ioctl, (void __user *)arg);
	mutex_unlock(&vcpu->mutex);
	/* KVM's x86 vCPU fd answers EINVAL for what it does not know. */
	return ret == -ENOTTY ? -EINVAL : ret;
}

static const struct file_operations okvm_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = okvm_vcpu_release,
	.unlocked_ioctl = okvm_vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = okvm_vcpu_mmap,
	.llseek = noop_llseek,
};

void okvm_vcpu_free(struct okvm_vcpu *vcpu)
{
	okvm_lapic_free(vcpu);
	okvm_x86->vcpu_free(vcpu);
	if (vcpu->fpu.fpstate)
		fpu_free_guest_fpstate(&vcpu->fpu);
	okvm_mmu_vcpu_free(vcpu);
	kvfree(vcpu->cpuid);
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}

/*
 * The power-on state (SDM Vol. 3 9.1.1): the vendor resets what the VMCB
 * or VMCS holds; x87 state is fresh from fpu_alloc_guest_fpstate(); XCR0
 * starts with x87 only (SDM Vol. 1 13.3).
 */
static void okvm_vcpu_reset(struct okvm_vcpu *vcpu)
{
	okvm_x86->vcpu_reset(vcpu, false);
	okvm_msr_reset(vcpu);
	okvm_mce_vcpu_init(vcpu);
	okvm_smm_reset(vcpu, false);
	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->guest_xcr0_mask = XFEATURE_MASK_FP;
	vcpu->cpu = -1;
	vcpu->tlb_gen = -1;
}

static struct okvm_vcpu *okvm_vcpu_alloc(struct okvm_vm *vm, unsigned int id)
{
	struct okvm_vcpu *vcpu = kzalloc(okvm_x86->vcpu_size,
					 GFP_KERNEL_ACCOUNT);

	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	mutex_init(&vcpu->mutex);
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data ||
	    !fpu_alloc_guest_fpstate(&vcpu->fpu) ||
	    okvm_x86->vcpu_create(vcpu) ||
	    (vm->irqchip_in_kernel && okvm_lapic_create(vcpu))) {
		okvm_vcpu_free(vcpu);
		return NULL;
	}
	okvm_vcpu_reset(vcpu);
	return vcpu;
}

/*
 * KVM_CREATE_VCPU: returns the new vCPU's fd or an errno, as KVM's does.
 *
 * The vCPU must be published in vm->vcpus[] before any ioctl can reach it:
 * okvm_mmu_kick_vcpus() walks that array to force vCPUs out of guest mode
 * after an invalidation, so a vCPU running before it is listed could keep
 * using a translation the MMU notifier removed. Installing the fd first
 * (anon_inode_getfd()) would let another thread guess the fd number and
 * call KVM_RUN in between. So the file is created without an fd
 * (anon_inode_getfile()) on an fd number reserved beforehand
 * (get_unused_fd_flags()), the vCPU is published, and only then is the fd
 * installed (fd_install()), when nothing can fail any more. KVM instead
 * holds the vCPU's mutex from fd installation to publication; with no fd
 * at all before publication, no other syscall on it (close, dup, mmap) can
 * see a half-created vCPU either.
 */
int okvm_create_vcpu(struct okvm_vm *vm, unsigned long id)
{
	struct okvm_vcpu *vcpu;
	struct file *file;
	unsigned int i;
	int fd, ret;

	if (id >= OKVM_MAX_VCPU_ID)
		return -EINVAL;

	mutex_lock(&vm->lock);
	ret = -EINVAL;
	if (vm->nr_vcpus >= OKVM_MAX_VCPUS)
		goto unlock;
	/*
	 * As KVM (kvm_arch_vcpu_precreate()): the first attempt fixes the
	 * id limit, so KVM_CAP_MAX_VCPU_ID can no longer change it.
	 */
	if (!vm->max_vcpu_ids)
		vm->max_vcpu_ids = OKVM_MAX_VCPU_ID;
	if (id >= vm->max_vcpu_ids)
		goto unlock;
	ret = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			goto unlock;
	ret = -ENOMEM;
	vcpu = okvm_vcpu_alloc(vm, id);
	if (!vcpu)
		goto unlock;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto free_vcpu;
	}
	file = anon_inode_getfile("okvm-vcpu", &okvm_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto put_fd;
	}
	/* The vCPU file's reference on the VM, dropped by its release. */
	kref_get(&vm->refs);
	WRITE_ONCE(vm->vcpus[vm->nr_vcpus], vcpu);
	/* Lock-free readers (mmu.c) load nr_vcpus, then the slots below it. */
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	fd_install(fd, file);
	mutex_unlock(&vm->lock);
	return fd;

put_fd:
	put_unused_fd(fd);
free_vcpu:
	okvm_vcpu_free(vcpu);
unlock:
	mutex_unlock(&vm->lock);
	return ret;
}
