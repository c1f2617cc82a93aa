// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu_test - KVM_CREATE_VCPU and the vCPU fd: id limits, duplicates, the
 * count limit, the mmap of struct kvm_run, and lifetimes (a vCPU fd keeps
 * its VM alive).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"

FIXTURE(vm) {
	int dev;
	int vm;
	long mmap_size;
};

FIXTURE_SETUP(vm)
{
	self->dev = okvm_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", okvm_dev_path(),
				       strerror(-self->dev));
	self->vm = okvm_ioctl(self->dev, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);
	self->mmap_size = okvm_ioctl(self->dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, self->mmap_size);
}

FIXTURE_TEARDOWN(vm)
{
	close(self->vm);
	close(self->dev);
}

static long cap(int dev, long which)
{
	return okvm_ioctl(dev, KVM_CHECK_EXTENSION, which);
}

TEST_F(vm, create_and_refuse_duplicates)
{
	long a = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);
	long b = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 1);

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_NE(a, b);
	EXPECT_TRUE(fcntl(a, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-EEXIST, okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0));
	EXPECT_EQ(-EEXIST, okvm_ioctl(self->vm, KVM_CREATE_VCPU, 1));
	/* Closing a vCPU fd does not destroy the vCPU: the id stays taken. */
	close(a);
	EXPECT_EQ(-EEXIST, okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0));
	close(b);
}

/* ids below KVM_CAP_MAX_VCPU_ID (else KVM_CAP_MAX_VCPUS) are valid. */
TEST_F(vm, id_limit)
{
	long max_id = cap(self->dev, KVM_CAP_MAX_VCPU_ID);
	long fd;

	if (max_id <= 0)
		max_id = cap(self->dev, KVM_CAP_MAX_VCPUS);
	ASSERT_LT(0, max_id);
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->vm, KVM_CREATE_VCPU, max_id));
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->vm, KVM_CREATE_VCPU, -1ul));
	/*
	 * Not asked: an id of 2^32 or more. Linux 6.1's KVM truncates it to
	 * 32 bits (so 1 << 32 is vCPU 0); later KVM and okvm refuse it.
	 */
	fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, max_id - 1);
	EXPECT_LE(0, fd);
	close(fd);
}

/* No more than KVM_CAP_MAX_VCPUS vCPUs, whatever their ids. */
TEST_F(vm, count_limit)
{
	long max = cap(self->dev, KVM_CAP_MAX_VCPUS);
	long max_id = cap(self->dev, KVM_CAP_MAX_VCPU_ID);
	long i, fd;

	ASSERT_LT(0, max);
	if (max_id <= max)
		SKIP(return, "MAX_VCPU_ID %ld leaves no id beyond %ld vCPUs",
		     max_id, max);
	for (i = 0; i < max; i++) {
		fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, i);
		ASSERT_LE(0, fd) TH_LOG("vCPU %ld: %s", i, strerror(-fd));
		close(fd);
	}
	EXPECT_EQ(-EINVAL, okvm_ioctl(self->vm, KVM_CREATE_VCPU, max));
}

TEST_F(vm, run_page_is_mapped_and_shared)
{
	long page = sysconf(_SC_PAGESIZE);
	long fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);
	struct kvm_run *a, *b;
	char *pio;

	ASSERT_LE(0, fd);
	a = mmap(NULL, self->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, b);
	/* Two mappings, one page: what one writes, the other reads. */
	a->immediate_exit = 1;
	EXPECT_EQ(1, b->immediate_exit);
	a->immediate_exit = 0;
	/* The port I/O data page is there too, and distinct. */
	pio = (char *)a + KVM_PIO_PAGE_OFFSET * page;
	pio[0] = 0x5a;
	EXPECT_EQ(0x5a, pio[0]);
	EXPECT_EQ(0, b->immediate_exit);
	munmap(a, self->mmap_size);
	munmap(b, page);
	close(fd);
}

/* Beyond the announced size the mapping faults with SIGBUS. */
TEST_F(vm, touching_beyond_the_mmap_size_is_sigbus)
{
	long page = sysconf(_SC_PAGESIZE);
	long fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);
	volatile char *map;
	int status;
	pid_t pid;

	ASSERT_LE(0, fd);
	map = mmap(NULL, self->mmap_size + 16 * page, PROT_READ, MAP_SHARED,
		   fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		(void)map[self->mmap_size + 15 * page];
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	munmap((void *)map, self->mmap_size + 16 * page);
	close(fd);
}

/* A vCPU fd keeps its VM, and the VM's memory, alive. */
TEST_F(vm, vcpu_fd_outlives_the_vm_fd)
{
	long fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);
	struct kvm_run *run;

	ASSERT_LE(0, fd);
	run = mmap(NULL, self->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	ASSERT_NE(MAP_FAILED, run);
	close(self->vm);
	self->vm = okvm_ioctl(self->dev, KVM_CREATE_VM, 0);
	run->immediate_exit = 1;
	EXPECT_EQ(1, run->immediate_exit);
	close(fd);
	/* The mapping holds the page itself, after the fd and the VM. */
	EXPECT_EQ(1, run->immediate_exit);
	munmap(run, self->mmap_size);
}

/* The vCPU fd, like the VM fd, serves only the VM's creator. */
TEST_F(vm, vcpu_fd_refuses_another_process)
{
	long fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);
	int status;
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(okvm_ioctl(fd, KVM_RUN, 0) == -EIO ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
}

/*
 * With no free file descriptor KVM_CREATE_VCPU fails with EMFILE and the
 * vCPU it had built is gone: its id can be used afterwards.
 */
TEST_F(vm, create_without_a_free_fd)
{
	struct rlimit saved, tight;
	long fd;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
	tight = saved;
	tight.rlim_cur = okvm_count_open_fds();
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &tight));
	fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 3);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &saved));
	EXPECT_EQ(-EMFILE, fd);
	fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 3);
	EXPECT_LE(0, fd);
	close(fd);
}

TEST_F(vm, vcpu_fd_unknown_requests)
{
	long fd = okvm_ioctl(self->vm, KVM_CREATE_VCPU, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, okvm_ioctl(fd, _IO(KVMIO, 0xfe), 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(fd, KVM_CREATE_VM, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(fd, KVM_CREATE_VCPU, 1));
	close(fd);
}

TEST_HARNESS_MAIN
