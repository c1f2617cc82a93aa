// SPDX-License-Identifier: GPL-2.0-only
/*
 * tsc_offset_attr_test - KVM_HAS/GET/SET_DEVICE_ATTR on the vCPU fd with
 * the group KVM_VCPU_TSC_CTRL and its attribute KVM_VCPU_TSC_OFFSET
 * (api.rst, KVM_CAP_VCPU_ATTRIBUTES): the offset reads back as set, the
 * guest's RDTSC is the host's TSC plus it, a write of IA32_TSC by the VMM
 * moves it, and every errno (unknown group or attribute, bad pointers) is
 * KVM's.
 *
 * Read back "as set" within SLACK: where the host's TSC is unstable (the
 * TCG-run L1 here), KVM recomputes the offset at each vcpu_load so that
 * the guest's TSC resumes where it stopped, and the offset drifts by the
 * time between ioctls; okvm gives it back exactly. SLACK is far below the
 * steps between the offsets used, so a wrong or ignored offset fails.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define MSR_IA32_TSC	0x10
/* Three minutes of a 1 GHz TSC either way, as KVM's own test uses. */
#define OFFSET_AHEAD	(180ULL * 1000000000ULL)
#define SLACK		(1ULL << 33)

/* |a - b| < SLACK, in the TSC's modulo-2^64 arithmetic. */
#define EXPECT_NEAR(a, b) do {						\
	uint64_t __d = (uint64_t)(a) - (uint64_t)(b);			\
	EXPECT_TRUE(__d < SLACK || -__d < SLACK)			\
		TH_LOG("%#llx is not near %#llx", (unsigned long long)(a), \
		       (unsigned long long)(b));			\
} while (0)

static inline uint64_t host_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static long attr_ioctl(int fd, unsigned long req, uint32_t group,
		       uint64_t attr, void *addr)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uintptr_t)addr,
	};

	return okvm_ioctl(fd, req, (unsigned long)&a);
}

static uint64_t get_offset(struct kvm_vcpu *vcpu)
{
	uint64_t v = 0xdead;

	KVM_ASSERT(!attr_ioctl(vcpu->fd, KVM_GET_DEVICE_ATTR, KVM_VCPU_TSC_CTRL,
			       KVM_VCPU_TSC_OFFSET, &v), "GET_DEVICE_ATTR");
	return v;
}

static long set_offset(struct kvm_vcpu *vcpu, uint64_t v)
{
	return attr_ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR, KVM_VCPU_TSC_CTRL,
			  KVM_VCPU_TSC_OFFSET, &v);
}

static void guest_code(void)
{
	uint32_t lo, hi;

	for (;;) {
		asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
		GUEST_SYNC_ARGS(1, (uint64_t)hi << 32 | lo);
	}
}

TEST(cap_and_errnos)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	void *gone = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	uint64_t v = 0;

	ASSERT_NE(MAP_FAILED, gone);
	EXPECT_EQ(1, okvm_ioctl(vm->dev_fd, KVM_CHECK_EXTENSION,
				KVM_CAP_VCPU_ATTRIBUTES));
	EXPECT_EQ(1, okvm_ioctl(vm->fd, KVM_CHECK_EXTENSION,
				KVM_CAP_VCPU_ATTRIBUTES));
	/* KVM_HAS_DEVICE_ATTR never touches addr */
	EXPECT_EQ(0, attr_ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR,
				KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, NULL));
	EXPECT_EQ(-ENXIO, attr_ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR,
				     KVM_VCPU_TSC_CTRL, 1, &v));
	EXPECT_EQ(-ENXIO, attr_ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, 1,
				     KVM_VCPU_TSC_OFFSET, &v));
	EXPECT_EQ(-ENXIO, attr_ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR,
				     0xffffffff, ~0ULL, &v));
	/* GET and SET: unknown group or attribute first, then addr */
	EXPECT_EQ(-ENXIO, attr_ioctl(vcpu->fd, KVM_GET_DEVICE_ATTR,
				     KVM_VCPU_TSC_CTRL, 1, &v));
	EXPECT_EQ(-ENXIO, attr_ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR, 2,
				     KVM_VCPU_TSC_OFFSET, &v));
	EXPECT_EQ(-EFAULT, attr_ioctl(vcpu->fd, KVM_GET_DEVICE_ATTR,
				      KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET,
				      NULL));
	EXPECT_EQ(-EFAULT, attr_ioctl(vcpu->fd, KVM_GET_DEVICE_ATTR,
				      KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET,
				      gone));
	EXPECT_EQ(-EFAULT, attr_ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR,
				      KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET,
				      gone));
	/* the struct itself unreadable */
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR,
				      (unsigned long)gone));
	munmap(gone, 4096);
	kvm_vm_free(vm);
}

TEST(offset_reads_back_and_follows_tsc_writes)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = MSR_IA32_TSC };
	uint64_t now;

	/* a new vCPU's TSC starts near 0: the offset is about -TSC */
	EXPECT_NEAR(-host_rdtsc(), get_offset(vcpu));
	EXPECT_EQ(0, set_offset(vcpu, 12345));
	EXPECT_NEAR(12345, get_offset(vcpu));
	EXPECT_EQ(0, set_offset(vcpu, -OFFSET_AHEAD));
	EXPECT_NEAR(-OFFSET_AHEAD, get_offset(vcpu));

	/* IA32_TSC reads as the host's TSC plus the offset */
	EXPECT_EQ(0, set_offset(vcpu, OFFSET_AHEAD));
	ASSERT_EQ(1, okvm_ioctl(vcpu->fd, KVM_GET_MSRS, (unsigned long)&m));
	EXPECT_NEAR(host_rdtsc() + OFFSET_AHEAD, m.e.data);

	/* the VMM's write of IA32_TSC sets the offset to TSC - host TSC */
	m.e.data = 1ULL << 50;
	ASSERT_EQ(1, okvm_ioctl(vcpu->fd, KVM_SET_MSRS, (unsigned long)&m));
	now = host_rdtsc();
	EXPECT_NEAR((1ULL << 50) - now, get_offset(vcpu));
	kvm_vm_free(vm);
}

TEST(guest_tsc_is_host_plus_offset)
{
	static const uint64_t offsets[] = { 0, OFFSET_AHEAD, -OFFSET_AHEAD };
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_code);
	uint64_t before, after;
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, set_offset(vcpu, offsets[i]));
		before = host_rdtsc() + offsets[i];
		ASSERT_SYNC(vcpu, &uc, 1);
		after = host_rdtsc() + offsets[i];
		EXPECT_LE(before, uc.args[1]) TH_LOG("offset %d", i);
		EXPECT_GE(after, uc.args[1]) TH_LOG("offset %d", i);
	}
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
