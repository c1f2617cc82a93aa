// SPDX-License-Identifier: GPL-2.0-only
/*
 * bad_ioctl_test - requests the ABI does not define, requests sent to the
 * wrong fd, wild arguments and file operations the fds do not have: each
 * fails with KVM's errno and leaves the host unharmed.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"

/* KVMIO numbers no version of <linux/kvm.h> assigns. */
static const unsigned long unassigned[] = {
	_IO(KVMIO, 0x0f), _IO(KVMIO, 0xfe), _IO(KVMIO, 0xff),
	_IOR(KVMIO, 0xfe, __u64), _IOW(KVMIO, 0xfe, __u64),
	_IOWR(KVMIO, 0xff, struct kvm_regs),
};

/* Assigned numbers with the size or direction bits changed. */
static const unsigned long mangled[] = {
	_IOW(KVMIO, 0x00, int),		/* KVM_GET_API_VERSION with a size */
	_IOR(KVMIO, 0x01, int),		/* KVM_CREATE_VM read instead of none */
	_IOW(KVMIO, 0x03, __u64),	/* KVM_CHECK_EXTENSION with a size */
	_IOR(KVMIO, 0x04, int),		/* KVM_GET_VCPU_MMAP_SIZE with a size */
};

FIXTURE(fds) {
	int dev;
	int vm;
};

FIXTURE_SETUP(fds)
{
	self->dev = okvm_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", okvm_dev_path(),
				       strerror(-self->dev));
	self->vm = okvm_ioctl(self->dev, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);
}

FIXTURE_TEARDOWN(fds)
{
	close(self->vm);
	close(self->dev);
}

/* KVM's x86 system fd answers EINVAL for anything it does not know. */
TEST_F(fds, system_fd_unknown_requests)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(unassigned); i++)
		EXPECT_EQ(-EINVAL, okvm_ioctl(self->dev, unassigned[i], 0))
			TH_LOG("request %#lx", unassigned[i]);
	for (i = 0; i < ARRAY_SIZE(mangled); i++)
		EXPECT_EQ(-EINVAL, okvm_ioctl(self->dev, mangled[i], 0))
			TH_LOG("request %#lx", mangled[i]);
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->dev, TCGETS, 0));
}

TEST_F(fds, system_fd_refuses_vm_and_vcpu_requests)
{
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->dev, KVM_CREATE_VCPU, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->dev, KVM_SET_USER_MEMORY_REGION, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->dev, KVM_RUN, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->dev, KVM_GET_REGS, 0));
}

/* The VM fd answers ENOTTY for what it does not know. */
TEST_F(fds, vm_fd_unknown_requests)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(unassigned); i++)
		EXPECT_EQ(-ENOTTY, okvm_ioctl(self->vm, unassigned[i], 0))
			TH_LOG("request %#lx", unassigned[i]);
	for (i = 0; i < ARRAY_SIZE(mangled); i++)
		EXPECT_EQ(-ENOTTY, okvm_ioctl(self->vm, mangled[i], 0))
			TH_LOG("request %#lx", mangled[i]);
	EXPECT_EQ(-ENOTTY, okvm_ioctl(self->vm, TCGETS, 0));
}

TEST_F(fds, vm_fd_refuses_system_and_vcpu_requests)
{
	EXPECT_EQ(-ENOTTY, okvm_ioctl(self->vm, KVM_GET_API_VERSION, 0));
	EXPECT_EQ(-ENOTTY, okvm_ioctl(self->vm, KVM_CREATE_VM, 0));
	EXPECT_EQ(-ENOTTY, okvm_ioctl(self->vm, KVM_GET_VCPU_MMAP_SIZE, 0));
	EXPECT_EQ(-ENOTTY, okvm_ioctl(self->vm, KVM_RUN, 0));
}

/* Neither fd can be read, written or mapped. */
TEST_F(fds, no_read_write_or_mmap)
{
	long page = sysconf(_SC_PAGESIZE);
	int fds[2] = { self->dev, self->vm };
	char buf[16];
	void *map;
	int i;

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(-1, read(fds[i], buf, sizeof(buf)));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, write(fds[i], buf, sizeof(buf)));
		EXPECT_EQ(EINVAL, errno);
		map = mmap(NULL, page, PROT_READ, MAP_SHARED, fds[i], 0);
		EXPECT_EQ(MAP_FAILED, map);
		EXPECT_EQ(ENODEV, errno);
	}
}

/*
 * Every KVMIO request number, in every direction with a few sizes, with a
 * NULL and an unmapped pointer, on both fds. Real requests may succeed (and
 * change this throwaway VM) or fail; none may hang or crash, and every
 * failure is one of the errnos KVM's ABI uses.
 */
static bool plausible_errno(long r)
{
	switch (-r) {
	case EINVAL: case ENOTTY: case EFAULT: case EEXIST: case ENOENT:
	case ENXIO: case EBUSY: case ENOMEM: case E2BIG: case ENOSPC:
	case EPERM: case EOPNOTSUPP: case ENODEV: case EIO: case EAGAIN:
	case EBADF: case ERANGE: case EACCES:
		return true;
	default:
		return false;
	}
}

TEST_F(fds, sweep_every_request_number)
{
	static const unsigned int sizes[] = { 0, 4, 8, 64, 4096 };
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE
	};
	long page = sysconf(_SC_PAGESIZE);
	unsigned long args[2] = { 0 };
	unsigned int nr, d, s, a, f;
	void *hole;
	long r;

	/* An address that is certainly not mapped. */
	hole = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	munmap(hole, page);
	args[1] = (unsigned long)hole;

	for (nr = 0; nr < 256; nr++)
		for (d = 0; d < ARRAY_SIZE(dirs); d++)
			for (s = 0; s < ARRAY_SIZE(sizes); s++)
				for (a = 0; a < ARRAY_SIZE(args); a++)
					for (f = 0; f < 2; f++) {
						int fd = f ? self->vm : self->dev;
						unsigned long req;

						req = _IOC(dirs[d], KVMIO, nr, sizes[s]);
						/* Do not leave the VM fd unusable. */
						if (fd == self->vm && req == KVM_RUN)
							continue;
						r = okvm_ioctl(fd, req, args[a]);
						if (r >= 0 && (req == KVM_CREATE_VM ||
							       req == KVM_CREATE_VCPU))
							close(r);
						EXPECT_TRUE(r >= 0 || plausible_errno(r))
							TH_LOG("request %#lx arg %#lx: %s",
							       req, args[a], strerror(-r));
					}
	/* Both fds still work. */
	EXPECT_EQ(12, okvm_ioctl(self->dev, KVM_GET_API_VERSION, 0));
	EXPECT_EQ(1, okvm_ioctl(self->vm, KVM_CHECK_EXTENSION,
				KVM_CAP_CHECK_EXTENSION_VM));
}

TEST_HARNESS_MAIN
