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
#include <linux/kref.h>
#include <linux/kvm.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

/*
 * Memory slots a VM may have (KVM_CAP_NR_MEMSLOTS). KVM allows 32764; okvm
 * copies the whole slot array on each change, so it keeps the count that
 * KVM had for years, which is plenty for any VMM.
 */
#define OKVM_USER_MEM_SLOTS	509

/*
 * vCPU limits (KVM_CAP_MAX_VCPUS, KVM_CAP_MAX_VCPU_ID): an xAPIC names at
 * most 255 CPUs, and x2APIC arrives later.
 */
#define OKVM_MAX_VCPUS		64
#define OKVM_MAX_VCPU_ID	256

/*
 * struct okvm_memslot - guest-physical pages [base_gfn, base_gfn + npages)
 * are the VM process's memory at userspace_addr. Immutable once published.
 */
struct okvm_memslot {
	u64 base_gfn;
	u64 npages;
	u64 userspace_addr;
	u32 flags;
	u16 id;
};

/*
 * struct okvm_memslots - all slots of a VM, sorted by base_gfn: a snapshot
 * published with RCU and never modified afterwards (memslot.c).
 */
struct okvm_memslots {
	unsigned int nr;
	struct okvm_memslot slots[];
};

/*
 * struct okvm_vm - one virtual machine.
 *
 * Lifetime: created by KVM_CREATE_VM. Its file and each vCPU file hold a
 * reference (@refs); the last one gone frees the VM and its vCPUs, so
 * closing every fd returns every byte, and a vCPU never outlives its VM.
 *
 * Locking: @id, @mm and @creator never change after creation and need no
 * lock. @lock guards @vcpus and @nr_vcpus. @memslots is replaced under
 * @slots_lock and read under RCU.
 */
struct okvm_vm {
	struct kref refs;
	unsigned int id;	/* small number naming the VM in dmesg */
	struct mm_struct *mm;	/* the creator's mm: only it may issue ioctls */
	pid_t creator;		/* tgid of the creator, for dmesg */

	struct mutex lock;	/* guards vcpus[] and nr_vcpus */
	struct okvm_vcpu *vcpus[OKVM_MAX_VCPUS];	/* in creation order */
	unsigned int nr_vcpus;

	struct mutex slots_lock;	/* serializes memslot changes */
	struct okvm_memslots __rcu *memslots;
};

/*
 * struct okvm_vcpu - one virtual CPU, run by whichever thread calls KVM_RUN.
 *
 * Lifetime: created by KVM_CREATE_VCPU and freed with its VM (like KVM's),
 * so the VM can walk its vCPUs without references.
 *
 * @run is page 0 of the vCPU fd's mmap (struct kvm_run), @pio_data page
 * KVM_PIO_PAGE_OFFSET; both are shared with user space for the vCPU's life.
 */
struct okvm_vcpu {
	struct okvm_vm *vm;
	unsigned int id;
	struct kvm_run *run;
	void *pio_data;
};

/* One rate-limited dmesg line naming the VM, for bad guest or ioctl input. */
#define okvm_vm_warn(vm, fmt, ...)					\
	do {								\
		const struct okvm_vm *__vm = (vm);			\
									\
		pr_warn_ratelimited("vm%u (pid %d): " fmt, __vm->id,	\
				    __vm->creator, ##__VA_ARGS__);	\
	} while (0)

/* memslot.c */
int okvm_set_user_memory_region(struct okvm_vm *vm,
				const struct kvm_userspace_memory_region *mem);
int okvm_memslots_init(struct okvm_vm *vm);
void okvm_memslots_free(struct okvm_vm *vm);

/* vcpu.c */
int okvm_create_vcpu(struct okvm_vm *vm, unsigned long id);
void okvm_vcpu_free(struct okvm_vcpu *vcpu);

/* vm.c */
int okvm_create_vm(unsigned long type);
void okvm_vm_put(struct okvm_vm *vm);
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
