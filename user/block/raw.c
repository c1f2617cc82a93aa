// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw: the virtual disk is the file, byte for byte. Holes read as zeroes,
 * so discard punches one and status reports them (SEEK_DATA/SEEK_HOLE),
 * which lets convert skip them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "error.h"
#include "file.h"

static int raw_pread(struct blk *b, void *buf, size_t len, uint64_t off)
{
	return bfile_pread(b->file, buf, len, off);
}

static int raw_pwrite(struct blk *b, const void *buf, size_t len,
		      uint64_t off)
{
	return bfile_pwrite(b->file, buf, len, off);
}

static int raw_flush(struct blk *b)
{
	return bfile_flush(b->file);
}

static int raw_discard(struct blk *b, uint64_t off, uint64_t len)
{
	return bfile_punch(b->file, off, len);
}

static int raw_write_zeroes(struct blk *b, uint64_t off, uint64_t len)
{
	return bfile_zero(b->file, off, len);
}

static int raw_status(struct blk *b, uint64_t off, uint64_t *len,
		      enum blk_state *state)
{
	off_t data, hole;

	data = lseek(b->file->fd, off, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		/* a hole up to the end of the file */
		*state = BLK_ZERO;
		return 0;
	}
	if (data < 0) {
		/* no SEEK_DATA here: call it all data */
		*state = BLK_DATA;
		return 0;
	}
	if ((uint64_t)data > off) {
		*state = BLK_ZERO;
		if ((uint64_t)data - off < *len)
			*len = data - off;
		return 0;
	}
	hole = lseek(b->file->fd, off, SEEK_HOLE);
	*state = BLK_DATA;
	if (hole > 0 && (uint64_t)hole > off && (uint64_t)hole - off < *len)
		*len = hole - off;
	return 0;
}

static int raw_resize(struct blk *b, uint64_t size)
{
	int ret = bfile_truncate(b->file, size);

	if (!ret)
		b->size = size;
	return ret;
}

static void raw_close(struct blk *b)
{
	bfile_close(b->file);
	free(b->filename);
	free(b);
}

const struct blk_ops raw_ops = {
	.format = "raw",
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.status = raw_status,
	.resize = raw_resize,
	.close = raw_close,
};

int raw_open(struct blk **out, const char *filename, unsigned int flags)
{
	struct blk *b;
	int ret;

	b = calloc(1, sizeof(*b));
	if (b)
		b->filename = strdup(filename);
	if (!b || !b->filename) {
		free(b);
		return blk_fail(ENOMEM, filename, "out of memory");
	}
	b->ops = &raw_ops;
	b->flags = flags;
	b->read_only = flags & BLK_RDONLY;
	ret = bfile_open(&b->file, filename, b->read_only,
			 flags & BLK_NOCACHE, false);
	if (!ret)
		ret = bfile_size(b->file, &b->size);
	if (ret) {
		bfile_close(b->file);
		free(b->filename);
		free(b);
		return ret;
	}
	*out = b;
	return 0;
}

int raw_create(const char *filename, uint64_t size)
{
	struct bfile *f;
	int ret;

	ret = bfile_open(&f, filename, false, false, true);
	if (ret)
		return ret;
	ret = bfile_truncate(f, size);
	bfile_close(f);
	return ret;
}
