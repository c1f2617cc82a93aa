// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm_util.c - device discovery and small measurements for the selftests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "okvm_util.h"

const char *okvm_dev_path(void)
{
	const char *path = getenv("OKVM_DEV");

	if (path && *path)
		return path;
	if (!access("/dev/okvm", F_OK))
		return "/dev/okvm";
	return "/dev/kvm";
}

/*
 * scripts/vmtest says which hypervisor it loaded in $OKVM_HV; without it,
 * okvm is the one under test when its module is loaded and KVM's is not.
 */
bool okvm_dev_is_okvm(void)
{
	const char *hv = getenv("OKVM_HV");

	if (hv && *hv)
		return !strcmp(hv, "okvm");
	return !access("/sys/module/okvm", F_OK) &&
	       access("/sys/module/kvm", F_OK);
}

bool okvm_host_is_intel(void)
{
	unsigned int a, b, c, d;

	/* CPUID leaf 0: the vendor string in EBX, EDX, ECX. */
	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;
}

bool okvm_host_has_xsave(void)
{
	unsigned int a, b, c, d;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	return c & (1u << 27);
}

int okvm_kvm_nested(void)
{
	FILE *f = fopen(okvm_host_is_intel() ?
			"/sys/module/kvm_intel/parameters/nested" :
			"/sys/module/kvm_amd/parameters/nested", "r");
	int c;

	if (!f)
		return -1;
	c = fgetc(f);
	fclose(f);
	return c == '1' || c == 'Y' || c == 'y';
}

int okvm_test_rounds(int rounds)
{
	const char *env = getenv("OKVM_TEST_SCALE");
	int scale = env ? atoi(env) : 1;

	if (scale > 1)
		rounds /= scale;
	return rounds > 0 ? rounds : 1;
}

int okvm_open_dev(void)
{
	int fd = open(okvm_dev_path(), O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int okvm_create_vm(void)
{
	int dev = okvm_open_dev(), vm;

	if (dev < 0)
		return dev;
	vm = ioctl(dev, KVM_CREATE_VM, 0);
	vm = vm < 0 ? -errno : vm;
	close(dev);
	return vm;
}

long okvm_ioctl(int fd, unsigned long request, unsigned long arg)
{
	long ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

static void okvm_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd < 0)
		return;
	if (write(fd, "3", 1) != 1)
		perror("drop_caches");
	close(fd);
}

/* Sum the /proc/meminfo fields named, each with a sign (+1 or -1). */
static long okvm_meminfo_sum(const char *const *fields, const int *signs)
{
	char line[256];
	long total = 0, kb;
	FILE *f;
	int i;

	okvm_drop_caches();
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; fields[i]; i++) {
			size_t n = strlen(fields[i]);

			if (!strncmp(line, fields[i], n) &&
			    sscanf(line + n, "%ld", &kb) == 1)
				total += signs[i] * kb;
		}
	}
	fclose(f);
	return total;
}

long okvm_kernel_memory_kb(void)
{
	static const char *const fields[] = {
		"Slab:", "VmallocUsed:", "Percpu:", "KernelStack:",
		"PageTables:", NULL
	};
	static const int signs[] = { 1, 1, 1, 1, 1 };

	return okvm_meminfo_sum(fields, signs);
}

long okvm_used_memory_kb(void)
{
	static const char *const fields[] = { "MemTotal:", "MemFree:", NULL };
	static const int signs[] = { 1, -1 };

	return okvm_meminfo_sum(fields, signs);
}

int okvm_count_open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;	/* the directory stream's own fd */
}
