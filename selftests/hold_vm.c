// SPDX-License-Identifier: GPL-2.0-only
/*
 * hold_vm DEVICE READY_FILE - create a VM on DEVICE, create READY_FILE, and
 * keep the VM until killed. The module tests use it to keep a hypervisor's
 * hardware enabled (in-tree KVM turns SVM on while a VM exists) or to keep
 * okvm.ko busy.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

int main(int argc, char **argv)
{
	int dev, vm, ready;

	if (argc != 3) {
		fprintf(stderr, "usage: hold_vm DEVICE READY_FILE\n");
		return 2;
	}
	dev = open(argv[1], O_RDWR);
	if (dev < 0) {
		perror(argv[1]);
		return 1;
	}
	vm = ioctl(dev, KVM_CREATE_VM, 0);
	if (vm < 0) {
		perror("KVM_CREATE_VM");
		return 1;
	}
	ready = open(argv[2], O_WRONLY | O_CREAT, 0644);
	if (ready < 0) {
		perror(argv[2]);
		return 1;
	}
	close(ready);
	for (;;)
		pause();
}
