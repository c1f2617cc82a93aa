// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu.c - KVM_CREATE_VCPU and the vCPU file descriptor: its shared
 * struct kvm_run page and the mmap that exposes it.
 *
 * Running a vCPU (KVM_RUN and the register ioctls) arrives with the AMD-V
 * core; until then the vCPU fd knows no ioctl.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "okvm.h"

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

static long okvm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct okvm_vcpu *vcpu = filp->private_data;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	/* KVM's x86 vCPU fd answers EINVAL for what it does not know. */
	return -EINVAL;
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
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}

static struct okvm_vcpu *okvm_vcpu_alloc(struct okvm_vm *vm, unsigned int id)
{
	struct okvm_vcpu *vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);

	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data) {
		okvm_vcpu_free(vcpu);
		return NULL;
	}
	return vcpu;
}

/* KVM_CREATE_VCPU: returns the new vCPU's fd or an errno, as KVM's does. */
int okvm_create_vcpu(struct okvm_vm *vm, unsigned long id)
{
	struct okvm_vcpu *vcpu;
	unsigned int i;
	int fd, ret;

	if (id >= OKVM_MAX_VCPU_ID)
		return -EINVAL;

	mutex_lock(&vm->lock);
	ret = -EINVAL;
	if (vm->nr_vcpus >= OKVM_MAX_VCPUS)
		goto unlock;
	ret = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			goto unlock;
	ret = -ENOMEM;
	vcpu = okvm_vcpu_alloc(vm, id);
	if (!vcpu)
		goto unlock;

	/* The vCPU file's reference on the VM, dropped by its release. */
	kref_get(&vm->refs);
	fd = anon_inode_getfd("okvm-vcpu", &okvm_vcpu_fops, vcpu,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		okvm_vm_put(vm);	/* not the last: the VM fd holds one */
		okvm_vcpu_free(vcpu);
		ret = fd;
		goto unlock;
	}
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	ret = fd;
unlock:
	mutex_unlock(&vm->lock);
	return ret;
}
