/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ioctl_checks.h - the error paths every state ioctl shares: an argument
 * pointer KVM cannot read or write (EFAULT), a request number whose size
 * field does not match the structure (KVM matches whole request numbers,
 * so that is an unknown ioctl), and an fd that is already closed.
 *
 * Header only, so that tests in selftests/ and selftests/x86/ can both use
 * it without a change to the library's build.
 */
#ifndef SELFTESTS_IOCTL_CHECKS_H
#define SELFTESTS_IOCTL_CHECKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* The same request with another size in its _IOC_SIZE field. */
static inline unsigned long ioc_resize(unsigned long req, unsigned long size)
{
	return (req & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
	       ((size & _IOC_SIZEMASK) << _IOC_SIZESHIFT);
}

/*
 * Two pages, the second one PROT_NONE; returns an address 'size' bytes
 * minus 'short_by' before the boundary: an object of 'size' bytes there
 * ends 'short_by' bytes inside the inaccessible page. With short_by ==
 * size the whole object is inaccessible. NULL when mmap fails.
 */
static inline void *straddling_buffer(size_t size, size_t short_by)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + page, page, PROT_NONE)) {
		munmap(p, 2 * page);
		return NULL;
	}
	return p + page - size + short_by;
}

#endif /* SELFTESTS_IOCTL_CHECKS_H */
