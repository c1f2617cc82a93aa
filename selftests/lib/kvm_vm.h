/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm_vm.h - VMs, memory slots and vCPUs for selftests that run guest code.
 *
 * A thin layer over KVM's three fd levels (device -> KVM_CREATE_VM -> VM fd
 * -> KVM_CREATE_VCPU -> vCPU fd + mmap'ed struct kvm_run), in the spirit of
 * the Linux KVM selftests' lib/kvm_util.c, written from scratch. It talks to
 * the device okvm_dev_path() names, so a test runs unchanged against okvm
 * and against in-tree KVM.
 *
 * Errors are not returned: a failing ioctl ends the test with a message
 * naming the ioctl and errno (kvm_die()). Tests that check an error use the
 * _-prefixed variants or okvm_ioctl(), which return -errno.
 */
#ifndef SELFTESTS_KVM_VM_H
#define SELFTESTS_KVM_VM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#define KVM_VM_MAX_SLOTS	8
#define KVM_VM_MAX_VCPUS	8

#define GUEST_PAGE_SIZE		0x1000ULL

/* One KVM_SET_USER_MEMORY_REGION: GPA range backed by anonymous memory. */
struct kvm_mem_slot {
	struct kvm_userspace_memory_region region;
	void *hva;
};

struct kvm_vcpu {
	struct kvm_vm *vm;
	uint32_t id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
};

struct kvm_vm {
	int dev_fd;
	int fd;
	struct kvm_mem_slot slots[KVM_VM_MAX_SLOTS];
	struct kvm_vcpu *vcpus[KVM_VM_MAX_VCPUS];
	/* Bump allocator of guest physical memory: vm_alloc(). */
	uint64_t alloc_next;
	uint64_t alloc_end;
};

/*
 * Print "==== selftest library: <file>:<line>: <message>" (and the errno
 * string when errno is set) as TAP comments and exit(1): the kselftest
 * harness reports the test case as failed.
 */
void __kvm_die(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define kvm_die(fmt, ...) __kvm_die(__FILE__, __LINE__, fmt, ##__VA_ARGS__)

/* kvm_die() unless cond holds. */
#define KVM_ASSERT(cond, fmt, ...) do {					\
	if (!(cond)) {							\
		errno = 0;						\
		kvm_die("%s: " fmt, #cond, ##__VA_ARGS__);		\
	}								\
} while (0)

/* ioctl() that must succeed: kvm_die() with the ioctl's name otherwise. */
#define kvm_ioctl(fd, req, arg) ({					\
	long __r = ioctl(fd, req, arg);					\
	if (__r < 0)							\
		kvm_die("ioctl(%s) failed", #req);			\
	__r;								\
})

/* A VM with no memory and no vCPU. */
struct kvm_vm *vm_create_bare(void);
void kvm_vm_free(struct kvm_vm *vm);

/*
 * KVM_CREATE_IRQCHIP: the in-kernel PIC, IOAPIC and a local APIC in every
 * vCPU created afterwards (call it before adding vCPUs). vCPU 0 runs; the
 * others wait for INIT and SIPI (KVM_MP_STATE_UNINITIALIZED).
 */
void vm_create_irqchip(struct kvm_vm *vm);

/*
 * Back [gpa, gpa + size) with fresh anonymous memory (zeroed, allocated as
 * the guest touches it) in memory slot 'slot'. Returns the host address.
 */
void *vm_add_mem_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		      uint64_t size, uint32_t flags);

/* Host address of guest physical address gpa; kvm_die() outside slots. */
void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa);
/* The same, NULL outside any slot. */
void *_addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa);

/*
 * Let vm_alloc() hand out [start, end) (guest physical; the range must be
 * inside slots), then reserve 'size' bytes aligned to 'align' from it.
 * Allocations are zeroed (fresh anonymous memory) and never freed.
 */
void vm_alloc_init(struct kvm_vm *vm, uint64_t start, uint64_t end);
uint64_t vm_alloc(struct kvm_vm *vm, uint64_t size, uint64_t align);

/* KVM_CREATE_VCPU and mmap of its struct kvm_run; no register set up. */
struct kvm_vcpu *vm_vcpu_add_bare(struct kvm_vm *vm, uint32_t id);

/* KVM_RUN: 0 or -errno (_vcpu_run), or kvm_die() on error (vcpu_run). */
int _vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_run(struct kvm_vcpu *vcpu);

void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void vcpu_regs_set(struct kvm_vcpu *vcpu, const struct kvm_regs *regs);
void vcpu_sregs_get(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_sregs_set(struct kvm_vcpu *vcpu, const struct kvm_sregs *sregs);

/*
 * One MSR through KVM_GET_MSRS (kvm_die() unless it is read) and
 * KVM_SET_MSRS (returns what the ioctl returns: 1 when it was set, 0 when
 * refused, or -errno).
 */
uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index);
long vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data);

/* "KVM_EXIT_IO" for KVM_EXIT_IO, "KVM_EXIT_(n)" for unknown ones. */
const char *exit_reason_str(uint32_t reason);

/*
 * One line saying what the last exit was, with its details: port, size and
 * direction for IO, address for MMIO, suberror for internal errors, the
 * hardware reason for failed entries. Points to a static buffer.
 */
const char *vcpu_exit_str(struct kvm_vcpu *vcpu);

/* kvm_die() with vcpu_exit_str() unless the last exit was 'reason'. */
#define vcpu_assert_exit(vcpu, reason) do {				\
	uint32_t __reason = (vcpu)->run->exit_reason;			\
	if (__reason != (reason))					\
		kvm_die("expected exit %s, got %s", #reason,		\
			vcpu_exit_str(vcpu));				\
} while (0)

/* For the kselftest harness: ASSERT_EXIT(vcpu, KVM_EXIT_HLT). */
#define ASSERT_EXIT(vcpu, reason)					\
	ASSERT_STREQ(exit_reason_str(reason),				\
		     exit_reason_str((vcpu)->run->exit_reason))		\
		TH_LOG("%s", vcpu_exit_str(vcpu))

#endif /* SELFTESTS_KVM_VM_H */
