// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img convert [-f FMT] [-O FMT] [-c] [-p] [-o OPTIONS] SOURCE DEST
 *
 * Copies the virtual disk SOURCE (its whole backing chain flattened) into
 * a new image DEST. Ranges that read as zeroes are not written, so the
 * copy is as sparse as it can be; -c writes qcow2 clusters compressed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../block/qcow2/qcow2.h"
#include "img.h"

/* One request at a time: a whole number of clusters of any size. */
#define CONVERT_CHUNK (2u << 20)

struct convert_opts {
	struct qcow2_create_opts q;
};

static int convert_opt(void *ctx, const char *key, const char *val)
{
	struct convert_opts *o = ctx;
	uint64_t v;
	unsigned int b = 0;

	if (!strcmp(key, "cluster_size")) {
		if (img_parse_size(val, &v, false, NULL) || !v || (v & (v - 1)))
			return img_err("cluster_size=%s: not a power of two", val);
		while ((1ull << b) != v)
			b++;
		o->q.cluster_bits = b;
	} else if (!strcmp(key, "refcount_bits")) {
		if (img_parse_size(val, &v, false, NULL) || !v || (v & (v - 1)) ||
		    v > 64)
			return img_err("refcount_bits=%s: a power of two up to 64",
				       val);
		while ((1ull << b) != v)
			b++;
		o->q.refcount_order = b;
	} else if (!strcmp(key, "compat")) {
		o->q.version = !strcmp(val, "0.10") ? 2 : 3;
	} else if (!strcmp(key, "encrypt.format") && !strcmp(val, "luks")) {
		o->q.encrypt = true;
	} else if (!strcmp(key, "encrypt.iter-time")) {
		if (img_parse_size(val, &v, false, NULL) || !v || v > 100000)
			return img_err("encrypt.iter-time=%s: milliseconds, 1 to 100000",
				       val);
		o->q.iter_ms = v;
	} else {
		return img_err("option %s=%s is not supported by convert", key,
			       val);
	}
	return 0;
}

static bool all_zero(const char *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* Compressed output goes one cluster at a time. */
static int write_compressed(struct blk *dst, const char *buf, size_t len,
			    uint64_t off)
{
	struct qcow2 *q = to_qcow2(dst);
	uint64_t cs = q->cluster_size, n;
	char *pad = NULL;
	bool done;
	int ret = 0;

	for (; len && !ret; off += n, buf += n, len -= n) {
		n = len < cs ? len : cs;
		if (all_zero(buf, n))
			continue;
		if (n < cs) {
			/* the last cluster of the disk: padded with zeroes */
			pad = calloc(1, cs);
			if (!pad)
				return img_err("out of memory");
			memcpy(pad, buf, n);
		}
		pthread_mutex_lock(&q->lock);
		ret = qcow2_compressed_write(q, pad ? pad : buf, off, &done);
		pthread_mutex_unlock(&q->lock);
		if (!ret && !done)
			ret = blk_pwrite(dst, buf, n, off);
		free(pad);
		pad = NULL;
	}
	return ret;
}

static int copy(struct blk *src, struct blk *dst, bool compress,
		bool progress)
{
	uint64_t off = 0, len, n, done;
	enum blk_state state;
	char *buf;
	int ret = 0;

	buf = malloc(CONVERT_CHUNK);
	if (!buf)
		return img_err("out of memory");
	img_progress(progress, 0, src->size);
	while (off < src->size && !ret) {
		len = src->size - off < CONVERT_CHUNK ? src->size - off :
							CONVERT_CHUNK;
		ret = blk_status(src, off, &len, &state);
		if (ret)
			break;
		if (state != BLK_ZERO) {
			for (done = 0; done < len && !ret; done += n) {
				n = len - done;
				ret = blk_pread(src, buf, n, off + done);
				if (ret || all_zero(buf, n))
					continue;
				ret = compress ?
				      write_compressed(dst, buf, n, off + done) :
				      blk_pwrite(dst, buf, n, off + done);
			}
		}
		off += len;
		img_progress(progress, off, src->size);
	}
	if (!ret)
		ret = blk_flush(dst);
	free(buf);
	return ret ? img_blk_err() : 0;
}

int img_convert(int argc, char **argv)
{
	struct convert_opts o = {
		.q = { .cluster_bits = 16, .refcount_order = 4, .version = 3 },
	};
	const char *fmt = NULL, *out_fmt = "raw";
	bool compress = false, progress = false;
	struct blk *src, *dst;
	int c, ret;

	while ((c = getopt(argc, argv, "f:O:co:pqU")) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			out_fmt = optarg;
			break;
		case 'c':
			compress = true;
			break;
		case 'o':
			ret = img_parse_opts(optarg, convert_opt, &o);
			if (ret)
				return ret;
			break;
		case 'p':
			progress = true;
			break;
		case 'q':
		case 'U':
			break;
		default:
			return img_err("convert: usage: convert [-f FMT] [-O FMT] [-c] [-p] SOURCE DEST");
		}
	}
	if (argc - optind != 2)
		return img_err("convert: expecting a source and a destination");
	if (strcmp(out_fmt, "raw") && strcmp(out_fmt, "qcow2"))
		return img_err("%s: unknown format '%s' (raw or qcow2)",
			       argv[optind + 1], out_fmt);
	if (compress && strcmp(out_fmt, "qcow2"))
		return img_err("%s: compression needs -O qcow2",
			       argv[optind + 1]);
	if (compress && o.q.encrypt)
		return img_err("%s: compression and encryption do not mix (as in QEMU)",
			       argv[optind + 1]);
	if (o.q.encrypt && strcmp(out_fmt, "qcow2"))
		return img_err("%s: encryption needs -O qcow2", argv[optind + 1]);
	if (blk_open(&src, argv[optind], fmt, BLK_RDONLY))
		return img_blk_err();
	o.q.size = qcow2_align_up(src->size, 512);
	if (!strcmp(out_fmt, "raw"))
		ret = raw_create(argv[optind + 1], src->size);
	else
		ret = qcow2_create(argv[optind + 1], &o.q);
	if (ret || blk_open(&dst, argv[optind + 1], out_fmt, 0)) {
		blk_close(src);
		return img_blk_err();
	}
	ret = copy(src, dst, compress, progress);
	blk_close(dst);
	blk_close(src);
	return ret;
}
