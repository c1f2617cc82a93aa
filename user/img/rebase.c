// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img rebase [-f FMT] [-u] [-p] -b BACKING [-F FMT] FILE
 *
 * Points FILE at another backing file. Without -u the virtual disk stays
 * the same: wherever FILE reads through to its backing file and the old
 * and new backing files differ, the old contents are first copied into
 * FILE; then the header names the new backing file. -b "" removes the
 * backing file (everything it provided is copied in).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../block/qcow2/qcow2.h"
#include "img.h"

#define REBASE_CHUNK (1u << 20)

/* the LEN bytes at OFF of B, zeroes where B is shorter or absent */
static int read_or_zero(struct blk *b, char *buf, uint64_t len, uint64_t off)
{
	uint64_t n;

	memset(buf, 0, len);
	if (!b || off >= b->size)
		return 0;
	n = b->size - off < len ? b->size - off : len;
	return blk_pread(b, buf, n, off);
}

static int copy_differences(struct blk *top, struct blk *new_base,
			    bool progress)
{
	uint64_t off = 0, len;
	enum blk_state state;
	char *old_buf, *new_buf;
	int ret = 0;

	old_buf = malloc(REBASE_CHUNK);
	new_buf = malloc(REBASE_CHUNK);
	if (!old_buf || !new_buf) {
		free(old_buf);
		free(new_buf);
		return img_err("out of memory");
	}
	while (off < top->size && !ret) {
		len = top->size - off < REBASE_CHUNK ? top->size - off :
						       REBASE_CHUNK;
		ret = blk_status(top, off, &len, &state);
		if (!ret && state == BLK_UNALLOC) {
			ret = read_or_zero(top->backing, old_buf, len, off);
			if (!ret)
				ret = read_or_zero(new_base, new_buf, len, off);
			if (!ret && memcmp(old_buf, new_buf, len))
				ret = blk_pwrite(top, old_buf, len, off);
		}
		off += len;
		img_progress(progress, off, top->size);
	}
	free(old_buf);
	free(new_buf);
	if (!ret)
		ret = blk_flush(top);
	return ret ? img_blk_err() : 0;
}

int img_rebase(int argc, char **argv)
{
	const char *fmt = NULL, *backing = NULL, *backing_fmt = NULL;
	bool unsafe = false, progress = false;
	struct blk *top, *new_base = NULL;
	char *path = NULL;
	int c, ret;

	while ((c = getopt(argc, argv, "f:b:F:upqt:T:")) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'b':
			backing = optarg;
			break;
		case 'F':
			backing_fmt = optarg;
			break;
		case 'u':
			unsafe = true;
			break;
		case 'p':
			progress = true;
			break;
		case 'q':
		case 't':
		case 'T':
			break;
		default:
			return img_err("rebase: usage: rebase [-f FMT] [-u] -b BACKING [-F FMT] FILE");
		}
	}
	if (optind != argc - 1 || !backing)
		return img_err("rebase: expecting -b BACKING and one file name");
	if (!*backing)
		backing = NULL;
	if (backing_fmt && !blk_format_known(backing_fmt))
		return img_err("%s: unknown backing format '%s'", argv[optind],
			       backing_fmt);
	if (blk_open(&top, argv[optind], fmt, unsafe ? BLK_NO_BACKING : 0))
		return img_blk_err();
	if (!img_is_qcow2(top)) {
		img_err("%s: format %s has no backing file", argv[optind],
			top->ops->format);
		blk_close(top);
		return IMG_EXIT_ERROR;
	}
	ret = 0;
	if (backing) {
		path = qcow2_backing_path(top->filename, backing);
		if (!path || blk_open(&new_base, path, backing_fmt, BLK_RDONLY))
			ret = path ? img_blk_err() : img_err("out of memory");
		if (!ret && !backing_fmt)
			backing_fmt = new_base->ops->format;
	}
	if (!ret && !unsafe)
		ret = copy_differences(top, new_base, progress);
	if (!ret && qcow2_set_backing(to_qcow2(top), backing,
				      backing ? backing_fmt : NULL))
		ret = img_blk_err();
	blk_close(new_base);
	blk_close(top);
	free(path);
	return ret;
}
