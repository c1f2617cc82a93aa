/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * okvm_util.h - what every okvm selftest needs besides the kselftest harness.
 *
 * The selftests speak KVM's ABI and run unchanged against okvm and against
 * the in-tree KVM module: the device comes from $OKVM_DEV (set by
 * scripts/vmtest), else /dev/okvm, else /dev/kvm.
 */
#ifndef OKVM_UTIL_H
#define OKVM_UTIL_H

#include <stdbool.h>
#include <linux/kvm.h>

/* Capabilities newer than Debian 12's <linux/kvm.h>. */
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif

/* The device under test and whether it is okvm (as opposed to KVM). */
const char *okvm_dev_path(void);
bool okvm_dev_is_okvm(void);

/*
 * The host CPU is Intel's, so the hypervisor under test uses VMX (okvm's
 * vmx/ or kvm-intel) rather than SVM: for the few answers that differ by
 * vendor in KVM itself (failed-entry reasons, what follows a triple fault).
 */
bool okvm_host_is_intel(void);

/*
 * The host kernel uses XSAVE (CPUID.1:ECX.OSXSAVE): without it KVM offers
 * no XCRs, no XSAVE2 and no AVX, and keeps the guest's FPU in FXSAVE form
 * (Bochs' L1 has none).
 */
bool okvm_host_has_xsave(void);

/*
 * In-tree KVM's "nested" parameter of the vendor module (kvm_amd or
 * kvm_intel): 1 when it offers nested virtualization (the guest then sees
 * SVM or VMX in CPUID and may set CR4.VMXE), 0 when not, -1 when that
 * module is not loaded (okvm, which has no nesting).
 */
int okvm_kvm_nested(void);

/*
 * @rounds of a stress or leak loop, divided by $OKVM_TEST_SCALE when set:
 * the slower test bed (Bochs) runs fewer, at least one.
 */
int okvm_test_rounds(int rounds);

/* open() the device O_RDWR|O_CLOEXEC: an fd, or -errno. */
int okvm_open_dev(void);

/* KVM_CREATE_VM of type 0 on a fresh device fd: a VM fd, or -errno. */
int okvm_create_vm(void);

/* ioctl() returning the result or -errno, so tests can compare in one line. */
long okvm_ioctl(int fd, unsigned long request, unsigned long arg);

/*
 * Kernel memory in KiB that a leak on VM create/destroy would grow: slab,
 * vmalloc, per-CPU, kernel stacks and page tables, from /proc/meminfo,
 * after asking the kernel to drop its caches. -1 when unreadable.
 */
long okvm_kernel_memory_kb(void);

/*
 * All memory in use, in KiB (MemTotal - MemFree, after dropping caches):
 * catches leaked whole pages, which the counters above do not see, at the
 * price of more noise (per-CPU free page lists).
 */
long okvm_used_memory_kb(void);

/* Open file descriptors of this process, from /proc/self/fd. */
int okvm_count_open_fds(void);

#endif /* OKVM_UTIL_H */
