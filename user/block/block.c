// SPDX-License-Identifier: GPL-2.0-only
/*
 * Opening images: probing, the backing chain's loop and depth checks, and
 * the range checks every request passes before it reaches a format.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "error.h"
#include "file.h"
#include "qcow2/qcow2.h"

/* Far deeper than any real chain; bounds the recursion, not the user. */
#define BLK_MAX_CHAIN_DEPTH 1000

bool blk_format_known(const char *fmt)
{
	return !strcmp(fmt, "raw") || !strcmp(fmt, "qcow2");
}

const char *blk_probe(const char *filename)
{
	unsigned char magic[4];
	ssize_t n;
	int fd;

	fd = open(filename, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		blk_fail(errno, filename, "%s", strerror(errno));
		return NULL;
	}
	n = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	if (n < 0) {
		blk_fail(errno, filename, "%s", strerror(errno));
		return NULL;
	}
	if (n == sizeof(magic) && qcow2_probe(magic))
		return "qcow2";
	return "raw";
}

int blk_open_chained(struct blk **out, const char *filename, const char *fmt,
		     unsigned int flags, const struct blk_chain *chain)
{
	struct blk_chain link = { .next = chain };
	const struct blk_chain *c;
	struct stat st;

	if (stat(filename, &st))
		return blk_fail(errno, filename, "%s", strerror(errno));
	link.dev = st.st_dev;
	link.ino = st.st_ino;
	link.depth = chain ? chain->depth + 1 : 0;
	for (c = chain; c; c = c->next)
		if (c->dev == st.st_dev && c->ino == st.st_ino)
			return blk_fail(ELOOP, filename,
					"backing chain loop: the file is its own backing file");
	if (link.depth > BLK_MAX_CHAIN_DEPTH)
		return blk_fail(ELOOP, filename,
				"backing chain deeper than %d images",
				BLK_MAX_CHAIN_DEPTH);
	if (!fmt) {
		fmt = blk_probe(filename);
		if (!fmt)
			return -EIO;
	}
	if (!strcmp(fmt, "raw"))
		return raw_open(out, filename, flags);
	if (!strcmp(fmt, "qcow2"))
		return qcow2_open(out, filename, flags, &link);
	return blk_fail(EINVAL, filename, "unknown format '%s'", fmt);
}

int blk_open(struct blk **out, const char *filename, const char *fmt,
	     unsigned int flags)
{
	return blk_open_chained(out, filename, fmt, flags, NULL);
}

void blk_close(struct blk *b)
{
	if (b)
		b->ops->close(b);
}

static int check_range(struct blk *b, uint64_t off, uint64_t len)
{
	if (off > b->size || len > b->size - off)
		return blk_fail(EINVAL, b->filename,
				"request [%llu, +%llu) beyond the virtual size %llu",
				(unsigned long long)off, (unsigned long long)len,
				(unsigned long long)b->size);
	return 0;
}

static int check_write(struct blk *b, uint64_t off, uint64_t len)
{
	if (b->read_only)
		return blk_fail(EROFS, b->filename, "opened read-only");
	return check_range(b, off, len);
}

int blk_pread(struct blk *b, void *buf, size_t len, uint64_t off)
{
	int ret = check_range(b, off, len);

	return ret ? ret : b->ops->pread(b, buf, len, off);
}

int blk_pwrite(struct blk *b, const void *buf, size_t len, uint64_t off)
{
	int ret = check_write(b, off, len);

	return ret ? ret : b->ops->pwrite(b, buf, len, off);
}

int blk_flush(struct blk *b)
{
	return b->read_only ? 0 : b->ops->flush(b);
}

int blk_discard(struct blk *b, uint64_t off, uint64_t len)
{
	int ret = check_write(b, off, len);

	return ret ? ret : b->ops->discard(b, off, len);
}

int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len)
{
	int ret = check_write(b, off, len);

	return ret ? ret : b->ops->write_zeroes(b, off, len);
}

int blk_status(struct blk *b, uint64_t off, uint64_t *len,
	       enum blk_state *state)
{
	int ret = check_range(b, off, *len);

	return ret ? ret : b->ops->status(b, off, len, state);
}

int blk_resize(struct blk *b, uint64_t size)
{
	if (b->read_only)
		return blk_fail(EROFS, b->filename, "opened read-only");
	return b->ops->resize(b, size);
}
