/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * okvm.h - the objects every part of okvm.ko shares.
 *
 * The object tree follows KVM's: the system device (/dev/okvm) creates VMs,
 * each VM is an anonymous-inode file whose release frees it.
 */
#ifndef OKVM_H
#define OKVM_H

#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/printk.h>
#include <linux/types.h>

/*
 * struct okvm_vm - one virtual machine.
 *
 * Lifetime: created by KVM_CREATE_VM, owned by its file; freed when the last
 * reference to that file goes (okvm_vm_release()). Everything hanging off a
 * VM is freed there, so closing the fd returns every byte.
 *
 * Locking: @id and @mm never change after creation and need no lock.
 */
struct okvm_vm {
	unsigned int id;	/* small number naming the VM in dmesg */
	struct mm_struct *mm;	/* the creator's mm: only it may issue ioctls */
	pid_t creator;		/* tgid of the creator, for dmesg */
};

/* One rate-limited dmesg line naming the VM, for bad guest or ioctl input. */
#define okvm_vm_warn(vm, fmt, ...)					\
	do {								\
		const struct okvm_vm *__vm = (vm);			\
									\
		pr_warn_ratelimited("vm%u (pid %d): " fmt, __vm->id,	\
				    __vm->creator, ##__VA_ARGS__);	\
	} while (0)

/* vm.c */
int okvm_create_vm(unsigned long type);
int okvm_vm_init(void);
void okvm_vm_exit(void);

/* hardware.c */
int okvm_hardware_get(void);
void okvm_hardware_put(void);
int okvm_hardware_init(void);
void okvm_hardware_exit(void);

/* main.c */
long okvm_check_extension(struct okvm_vm *vm, long cap);

#endif /* OKVM_H */
