// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_test - the system ioctls of KVM's ABI: KVM_GET_API_VERSION,
 * KVM_GET_VCPU_MMAP_SIZE, KVM_CREATE_VM and the VM fd it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_fixture.h"

OKVM_DEV_FIXTURE;

TEST_F(dev, api_version_is_12)
{
	EXPECT_EQ(KVM_API_VERSION, okvm_ioctl(self->fd, KVM_GET_API_VERSION, 0));
	EXPECT_EQ(12, okvm_ioctl(self->fd, KVM_GET_API_VERSION, 0));
}

TEST_F(dev, api_version_rejects_an_argument)
{
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->fd, KVM_GET_API_VERSION, 1));
}

/*
 * The vCPU mmap holds struct kvm_run in page 0 and, on x86, the data of
 * port I/O exits at page KVM_PIO_PAGE_OFFSET; a coalesced MMIO ring, when
 * reported, at page KVM_COALESCED_MMIO_PAGE_OFFSET.
 */
TEST_F(dev, vcpu_mmap_size_covers_the_layout)
{
	long page = sysconf(_SC_PAGESIZE);
	long size = okvm_ioctl(self->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	long pages = KVM_PIO_PAGE_OFFSET + 1;

	ASSERT_LT(0, size);
	EXPECT_EQ(0, size % page);
	if (okvm_ioctl(self->fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO) > 0)
		pages = KVM_COALESCED_MMIO_PAGE_OFFSET + 1;
	EXPECT_LE(pages * page, size);
}

TEST_F(dev, vcpu_mmap_size_rejects_an_argument)
{
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->fd, KVM_GET_VCPU_MMAP_SIZE, 1));
}

TEST_F(dev, create_vm_default_type)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);

	ASSERT_LE(0, vm);
	EXPECT_NE(self->fd, vm);
	EXPECT_EQ(0, close(vm));
}

/*
 * Type 0 is the only VM type unless KVM_CAP_VM_TYPES lists more; every
 * other type is EINVAL.
 */
TEST_F(dev, create_vm_rejects_unknown_types)
{
	static const unsigned long types[] = {
		1, 2, 3, 4, 5, 31, 32, 63, 0x80000000ul, ~0ul,
	};
	long mask = okvm_ioctl(self->fd, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
	unsigned int i;
	long vm;

	ASSERT_LE(0, mask);
	if (mask)
		EXPECT_TRUE(mask & 1) TH_LOG("KVM_CAP_VM_TYPES lacks type 0");
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		bool listed = types[i] < 64 && (mask & (1ul << types[i]));

		vm = okvm_ioctl(self->fd, KVM_CREATE_VM, types[i]);
		if (listed) {
			EXPECT_LE(0, vm) TH_LOG("listed type %lu", types[i]);
			if (vm >= 0)
				close(vm);
		} else {
			EXPECT_EQ(-EINVAL, vm) TH_LOG("type %#lx", types[i]);
		}
	}
}

TEST_F(dev, vm_fd_is_close_on_exec)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);

	ASSERT_LE(0, vm);
	EXPECT_TRUE(fcntl(vm, F_GETFD) & FD_CLOEXEC);
	close(vm);
}

/* A VM serves the process that created it; a forked child gets EIO. */
TEST_F(dev, vm_fd_refuses_another_process)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	int status;
	pid_t pid;

	ASSERT_LE(0, vm);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long r = okvm_ioctl(vm, KVM_CHECK_EXTENSION,
				    KVM_CAP_CHECK_EXTENSION_VM);

		_exit(r == -EIO ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the child's VM ioctl did not fail with EIO");
	/* The parent still may. */
	EXPECT_LE(0, okvm_ioctl(vm, KVM_CHECK_EXTENSION,
				KVM_CAP_CHECK_EXTENSION_VM));
	close(vm);
}

/* A VM does not need the device fd it came from. */
TEST_F(dev, vm_outlives_the_device_fd)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);

	ASSERT_LE(0, vm);
	close(self->fd);
	self->fd = okvm_open_dev();
	EXPECT_EQ(1, okvm_ioctl(vm, KVM_CHECK_EXTENSION,
				KVM_CAP_CHECK_EXTENSION_VM));
	close(vm);
}

/* The VM lives while any fd refers to it. */
TEST_F(dev, vm_lives_while_a_dup_is_open)
{
	long vm = okvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	int copy;

	ASSERT_LE(0, vm);
	copy = dup(vm);
	ASSERT_LE(0, copy);
	close(vm);
	EXPECT_EQ(1, okvm_ioctl(copy, KVM_CHECK_EXTENSION,
				KVM_CAP_CHECK_EXTENSION_VM));
	close(copy);
}

TEST_HARNESS_MAIN
