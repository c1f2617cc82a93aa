// SPDX-License-Identifier: GPL-2.0-only
/*
 * dev_perms_test - who may use the device. Like /dev/kvm, the node gives
 * the world no access by default; the udev rule (scripts/udev/65-okvm.rules)
 * makes it root:kvm 0660, and then any member of the group may create VMs
 * without privileges, and nobody else may open it.
 *
 * Needs root to change the node and to become other users; the node is put
 * back as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"

#define NOBODY		65534
#define KVM_GROUP	10000	/* a group made up for the test */

/* What an unprivileged process sees when it tries the device. */
enum outcome { OPEN_DENIED, VM_CREATED, OTHER_FAILURE };

static enum outcome try_as(uid_t uid, gid_t gid, const gid_t *groups,
			   int ngroups)
{
	int status, dev;
	pid_t pid;
	long vm;

	pid = fork();
	if (pid < 0)
		return OTHER_FAILURE;
	if (!pid) {
		if (setgroups(ngroups, groups) || setgid(gid) || setuid(uid))
			_exit(OTHER_FAILURE);
		dev = okvm_open_dev();
		if (dev == -EACCES)
			_exit(OPEN_DENIED);
		if (dev < 0)
			_exit(OTHER_FAILURE);
		if (okvm_ioctl(dev, KVM_GET_API_VERSION, 0) != 12)
			_exit(OTHER_FAILURE);
		vm = okvm_ioctl(dev, KVM_CREATE_VM, 0);
		_exit(vm >= 0 ? VM_CREATED : OTHER_FAILURE);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return OTHER_FAILURE;
	return WEXITSTATUS(status);
}

FIXTURE(node) {
	struct stat saved;
};

FIXTURE_SETUP(node)
{
	if (geteuid())
		SKIP(return, "needs root");
	ASSERT_EQ(0, stat(okvm_dev_path(), &self->saved));
	ASSERT_TRUE(S_ISCHR(self->saved.st_mode));
}

FIXTURE_TEARDOWN(node)
{
	if (geteuid())
		return;
	chown(okvm_dev_path(), self->saved.st_uid, self->saved.st_gid);
	chmod(okvm_dev_path(), self->saved.st_mode & 07777);
}

/* As the kernel creates it, the node is root's and not world-accessible. */
TEST_F(node, default_node_is_not_world_accessible)
{
	EXPECT_EQ(0, self->saved.st_uid);
	EXPECT_EQ(0, self->saved.st_mode & 0007);
	EXPECT_EQ(OPEN_DENIED, try_as(NOBODY, NOBODY, NULL, 0));
}

TEST_F(node, kvm_group_member_creates_vms)
{
	gid_t groups[] = { KVM_GROUP };

	ASSERT_EQ(0, chown(okvm_dev_path(), 0, KVM_GROUP));
	ASSERT_EQ(0, chmod(okvm_dev_path(), 0660));
	EXPECT_EQ(VM_CREATED, try_as(NOBODY, NOBODY, groups, 1));
}

TEST_F(node, non_member_is_refused)
{
	gid_t groups[] = { NOBODY };

	ASSERT_EQ(0, chown(okvm_dev_path(), 0, KVM_GROUP));
	ASSERT_EQ(0, chmod(okvm_dev_path(), 0660));
	EXPECT_EQ(OPEN_DENIED, try_as(NOBODY, NOBODY, groups, 1));
}

TEST_HARNESS_MAIN
