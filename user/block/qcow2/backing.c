// SPDX-License-Identifier: GPL-2.0-only
/*
 * Backing files (spec "Header", backing_file_offset; extension
 * 0xe2792aca, the backing format). A relative name is relative to the
 * directory of the image naming it, as QEMU resolves it. Backing files are
 * opened read-only; blk_open_chained() refuses a file already in the chain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

char *qcow2_backing_path(const char *image, const char *backing)
{
	const char *slash = strrchr(image, '/');
	char *path;
	size_t dir;

	if (backing[0] == '/' || !slash)
		return strdup(backing);
	dir = slash - image + 1;
	path = malloc(dir + strlen(backing) + 1);
	if (!path)
		return NULL;
	memcpy(path, image, dir);
	strcpy(path + dir, backing);
	return path;
}

int qcow2_backing_open(struct qcow2 *q, const struct blk_chain *chain)
{
	unsigned int flags = BLK_RDONLY |
			     (q->blk.flags & (BLK_NOCACHE | BLK_NO_KEY));
	const char *fmt = q->backing_format;
	char *path;
	int ret;

	if (!q->backing_name || (q->blk.flags & BLK_NO_BACKING))
		return 0;
	if (fmt && !blk_format_known(fmt))
		return blk_fail(ENOTSUP, q->blk.filename,
				"backing file format '%s' is not supported", fmt);
	path = qcow2_backing_path(q->blk.filename, q->backing_name);
	if (!path)
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	if (access(path, F_OK)) {
		ret = blk_fail(errno, q->blk.filename, "backing file %s: %s",
			       path, strerror(errno));
		free(path);
		return ret;
	}
	ret = blk_open_chained(&q->blk.backing, path, fmt, flags, chain);
	/*
	 * A backing file that changed under the overlay (replaced by another
	 * format, truncated, now encrypted) fails in its own open, which
	 * names only it: say whose backing file it is.
	 */
	if (ret)
		blk_error_prefix("%s: backing file ", q->blk.filename);
	free(path);
	return ret;
}

int qcow2_backing_read(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
	struct blk *b = q->blk.backing;
	size_t n;
	int ret;

	if (!b || off >= b->size) {
		memset(buf, 0, len);
		return 0;
	}
	n = b->size - off < len ? b->size - off : len;
	ret = blk_pread(b, buf, n, off);
	if (!ret && n < len)
		memset((char *)buf + n, 0, len - n);
	return ret;
}

/*
 * Name another backing file (NULL: none) in the header. The header
 * cluster is rewritten in one write of one cluster; the chain opened with
 * the image is not changed (the caller reopens if it needs the new one).
 */
int qcow2_set_backing(struct qcow2 *q, const char *name, const char *fmt)
{
	char *n = NULL, *f = NULL;
	char *old_n = q->backing_name, *old_f = q->backing_format;
	int ret;

	if (name && strlen(name) > QCOW2_MAX_BACKING_NAME)
		return blk_fail(ENAMETOOLONG, q->blk.filename,
				"backing file name too long");
	n = name ? strdup(name) : NULL;
	f = fmt ? strdup(fmt) : NULL;
	if ((name && !n) || (fmt && !f)) {
		free(n);
		free(f);
		return blk_fail(ENOMEM, q->blk.filename, "out of memory");
	}
	q->backing_name = n;
	q->backing_format = f;
	ret = qcow2_header_rewrite(q);
	if (!ret)
		ret = bfile_flush(q->blk.file);
	if (ret) {
		q->backing_name = old_n;
		q->backing_format = old_f;
		free(n);
		free(f);
		return ret;
	}
	free(old_n);
	free(old_f);
	return 0;
}
