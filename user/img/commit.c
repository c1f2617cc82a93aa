// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img commit [-f FMT] [-p] [-d] FILE
 *
 * Writes what the overlay FILE holds (data and zero clusters) into its
 * backing file, syncs it, then empties the overlay (unless -d), as
 * qemu-img commit does. The backing file is written first: a crash in the
 * middle leaves the overlay still holding everything, so the virtual disk
 * reads the same throughout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "../block/qcow2/qcow2.h"
#include "img.h"

#define COMMIT_CHUNK (2u << 20)

static int copy_down(struct blk *top, struct blk *base, bool progress)
{
	uint64_t off = 0, len;
	enum blk_state state;
	char *buf;
	int ret = 0;

	buf = malloc(COMMIT_CHUNK);
	if (!buf)
		return -1;
	while (off < top->size && !ret) {
		len = top->size - off < COMMIT_CHUNK ? top->size - off :
						       COMMIT_CHUNK;
		ret = blk_status(top, off, &len, &state);
		if (ret)
			break;
		if (state == BLK_DATA) {
			ret = blk_pread(top, buf, len, off);
			if (!ret)
				ret = blk_pwrite(base, buf, len, off);
		} else if (state == BLK_ZERO) {
			ret = blk_write_zeroes(base, off, len);
		}
		off += len;
		img_progress(progress, off, top->size);
	}
	free(buf);
	if (!ret)
		ret = blk_flush(base);
	return ret;
}

int img_commit(int argc, char **argv)
{
	const char *fmt = NULL;
	bool progress = false, keep = false;
	struct blk *top, *base;
	struct qcow2 *q;
	char *path;
	int c, ret;

	while ((c = getopt(argc, argv, "f:pdqt:")) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'p':
			progress = true;
			break;
		case 'd':
			keep = true;
			break;
		case 'q':
		case 't':
			break;
		default:
			return img_err("commit: usage: commit [-f FMT] [-p] [-d] FILE");
		}
	}
	if (optind != argc - 1)
		return img_err("commit: expecting one file name");
	if (blk_open(&top, argv[optind], fmt, 0))
		return img_blk_err();
	if (!img_is_qcow2(top) || !top->backing) {
		img_err("%s: the image has no backing file to commit into",
			argv[optind]);
		blk_close(top);
		return IMG_EXIT_ERROR;
	}
	q = to_qcow2(top);
	path = qcow2_backing_path(top->filename, q->backing_name);
	if (!path || blk_open(&base, path, q->backing_format, 0)) {
		free(path);
		blk_close(top);
		return path ? img_blk_err() : img_err("out of memory");
	}
	free(path);
	ret = 0;
	if (base->size < top->size)
		ret = blk_resize(base, top->size);
	if (!ret)
		ret = copy_down(top, base, progress);
	blk_close(base);
	if (!ret && !keep) {
		pthread_mutex_lock(&q->lock);
		ret = qcow2_make_empty(q);
		pthread_mutex_unlock(&q->lock);
	}
	blk_close(top);
	if (ret)
		return img_blk_err();
	printf("Image committed.\n");
	return IMG_EXIT_OK;
}
