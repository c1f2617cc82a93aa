// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host file I/O. With O_DIRECT the kernel wants the buffer, the offset and
 * the length aligned to the device's logical block size; metadata and
 * guest requests are often not (a 12-byte header field, a 512-byte guest
 * write on a 4 KiB device), so those go through an aligned bounce buffer,
 * read-modify-write for partial blocks, under a lock so that two partial
 * writes to one block do not undo each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "error.h"
#include "file.h"

/* Larger than any logical block size in use; cheap to assume. */
#define BFILE_DIRECT_ALIGN 4096

int bfile_open(struct bfile **out, const char *name, bool read_only,
	       bool direct, bool create)
{
	struct bfile *f;
	int flags = read_only ? O_RDONLY : O_RDWR;
	int fd;

	if (create)
		flags |= O_CREAT | O_TRUNC;
	if (direct)
		flags |= O_DIRECT;
	fd = open(name, flags | O_CLOEXEC, 0644);
	if (fd < 0 && direct && errno == EINVAL)
		return blk_fail(EINVAL, name,
				"cache=none: the file system does not support O_DIRECT");
	if (fd < 0)
		return blk_fail(errno, name, "%s", strerror(errno));
	f = calloc(1, sizeof(*f));
	if (f)
		f->name = strdup(name);
	if (!f || !f->name) {
		free(f);
		close(fd);
		return blk_fail(ENOMEM, name, "out of memory");
	}
	f->fd = fd;
	f->read_only = read_only;
	f->direct = direct;
	f->align = direct ? BFILE_DIRECT_ALIGN : 1;
	pthread_mutex_init(&f->rmw_lock, NULL);
	*out = f;
	return 0;
}

void bfile_close(struct bfile *f)
{
	if (!f)
		return;
	close(f->fd);
	pthread_mutex_destroy(&f->rmw_lock);
	free(f->name);
	free(f);
}

static int full_pread(struct bfile *f, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(f->fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return blk_fail(errno, f->name, "read at offset %llu: %s",
					(unsigned long long)off, strerror(errno));
		if (n == 0) {
			/* past the end of the file: zeroes */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int full_pwrite(struct bfile *f, const void *buf, size_t len,
		       uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(f->fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return blk_fail(errno, f->name, "write at offset %llu: %s",
					(unsigned long long)off, strerror(errno));
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static bool aligned(struct bfile *f, const void *buf, size_t len, uint64_t off)
{
	return !(((uintptr_t)buf | len | off) & (f->align - 1));
}

/* The aligned window [*start, *start + *span) that covers [off, off+len). */
static void window(struct bfile *f, size_t len, uint64_t off,
		   uint64_t *start, size_t *span)
{
	*start = off & ~(uint64_t)(f->align - 1);
	*span = ((off + len + f->align - 1) & ~(uint64_t)(f->align - 1)) - *start;
}

int bfile_pread(struct bfile *f, void *buf, size_t len, uint64_t off)
{
	uint64_t start;
	size_t span;
	void *bounce;
	int ret;

	if (!len)
		return 0;
	if (aligned(f, buf, len, off))
		return full_pread(f, buf, len, off);
	window(f, len, off, &start, &span);
	if (posix_memalign(&bounce, f->align, span))
		return blk_fail(ENOMEM, f->name, "out of memory");
	ret = full_pread(f, bounce, span, start);
	if (!ret)
		memcpy(buf, (char *)bounce + (off - start), len);
	free(bounce);
	return ret;
}

int bfile_pwrite(struct bfile *f, const void *buf, size_t len, uint64_t off)
{
	uint64_t start;
	size_t span;
	void *bounce;
	int ret;

	if (f->read_only)
		return blk_fail(EROFS, f->name, "opened read-only");
	if (!len)
		return 0;
	if (aligned(f, buf, len, off))
		return full_pwrite(f, buf, len, off);
	window(f, len, off, &start, &span);
	if (posix_memalign(&bounce, f->align, span))
		return blk_fail(ENOMEM, f->name, "out of memory");
	pthread_mutex_lock(&f->rmw_lock);
	ret = 0;
	if (start != off || span != len)
		ret = full_pread(f, bounce, span, start);
	if (!ret) {
		memcpy((char *)bounce + (off - start), buf, len);
		ret = full_pwrite(f, bounce, span, start);
	}
	pthread_mutex_unlock(&f->rmw_lock);
	free(bounce);
	return ret;
}

int bfile_flush(struct bfile *f)
{
	if (f->read_only)
		return 0;
	if (fdatasync(f->fd))
		return blk_fail(errno, f->name, "flush: %s", strerror(errno));
	return 0;
}

int bfile_size(struct bfile *f, uint64_t *size)
{
	struct stat st;

	if (fstat(f->fd, &st))
		return blk_fail(errno, f->name, "%s", strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(f->fd, 0, SEEK_END);

		if (end < 0)
			return blk_fail(errno, f->name, "%s", strerror(errno));
		*size = end;
		return 0;
	}
	*size = st.st_size;
	return 0;
}

uint64_t bfile_allocated(struct bfile *f)
{
	struct stat st;

	if (fstat(f->fd, &st))
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

int bfile_truncate(struct bfile *f, uint64_t size)
{
	if (f->read_only)
		return blk_fail(EROFS, f->name, "opened read-only");
	if (ftruncate(f->fd, size))
		return blk_fail(errno, f->name, "resize to %llu bytes: %s",
				(unsigned long long)size, strerror(errno));
	return 0;
}

int bfile_punch(struct bfile *f, uint64_t off, uint64_t len)
{
	if (f->read_only)
		return blk_fail(EROFS, f->name, "opened read-only");
	if (!fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		       off, len))
		return 0;
	if (errno == EOPNOTSUPP || errno == ENOSYS)
		return bfile_zero(f, off, len);
	return blk_fail(errno, f->name, "discard: %s", strerror(errno));
}

int bfile_zero(struct bfile *f, uint64_t off, uint64_t len)
{
	static const size_t chunk = 1 << 20;
	void *zero;
	int ret = 0;

	if (f->read_only)
		return blk_fail(EROFS, f->name, "opened read-only");
	if (!fallocate(f->fd, FALLOC_FL_ZERO_RANGE, off, len))
		return 0;
	/* file systems without ZERO_RANGE (tmpfs before 6.x): write zeroes */
	if (posix_memalign(&zero, BFILE_DIRECT_ALIGN, chunk))
		return blk_fail(ENOMEM, f->name, "out of memory");
	memset(zero, 0, chunk);
	while (len && !ret) {
		size_t n = len < chunk ? len : chunk;

		ret = bfile_pwrite(f, zero, n, off);
		off += n;
		len -= n;
	}
	free(zero);
	return ret;
}
