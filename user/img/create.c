// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img create [-f FMT] [-o OPTIONS] [-b BACKING [-F FMT]] FILE [SIZE]
 *
 * Prints qemu-img's "Formatting ..." line. With a backing file and no
 * size, the size is the backing file's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../block/error.h"
#include "../block/qcow2/qcow2.h"
#include "img.h"

struct create_opts {
	const char *fmt;
	struct qcow2_create_opts q;
	uint64_t cluster_size;
	const char *backing_file;
	const char *backing_fmt;
	bool encrypt;
};

static int log2_exact(uint64_t v, unsigned int *bits)
{
	unsigned int b = 0;

	if (!v || (v & (v - 1)))
		return -1;
	while ((1ull << b) != v)
		b++;
	*bits = b;
	return 0;
}

static int create_opt(void *ctx, const char *key, const char *val)
{
	struct create_opts *o = ctx;
	uint64_t v;

	if (!strcmp(key, "cluster_size")) {
		if (img_parse_size(val, &v, false, NULL) ||
		    log2_exact(v, &o->q.cluster_bits) || v < 512 ||
		    v > (2u << 20))
			return img_err("cluster_size=%s: must be a power of two between 512 and 2M",
				       val);
		o->cluster_size = v;
	} else if (!strcmp(key, "refcount_bits")) {
		if (img_parse_size(val, &v, false, NULL) ||
		    log2_exact(v, &o->q.refcount_order) || v > 64)
			return img_err("refcount_bits=%s: must be a power of two up to 64",
				       val);
	} else if (!strcmp(key, "compat")) {
		if (!strcmp(val, "1.1") || !strcmp(val, "v3"))
			o->q.version = 3;
		else if (!strcmp(val, "0.10") || !strcmp(val, "v2"))
			o->q.version = 2;
		else
			return img_err("compat=%s: must be 0.10 or 1.1", val);
	} else if (!strcmp(key, "backing_file")) {
		o->backing_file = val;
	} else if (!strcmp(key, "backing_fmt")) {
		o->backing_fmt = val;
	} else if (!strcmp(key, "encrypt.format")) {
		if (strcmp(val, "luks"))
			return img_err("encrypt.format=%s: only luks is supported",
				       val);
		o->encrypt = true;
	} else if (!strcmp(key, "encrypt.iter-time")) {
		if (img_parse_size(val, &v, false, NULL) || !v || v > 100000)
			return img_err("encrypt.iter-time=%s: milliseconds, 1 to 100000",
				       val);
		o->q.iter_ms = v;
	} else if (!strcmp(key, "encrypt.cipher-alg") &&
		   !strcmp(val, "aes-256")) {
	} else if (!strcmp(key, "encrypt.cipher-mode") && !strcmp(val, "xts")) {
	} else if (!strcmp(key, "encrypt.ivgen-alg") && !strcmp(val, "plain64")) {
	} else if (!strcmp(key, "encrypt.hash-alg") && !strcmp(val, "sha256")) {
	} else if ((!strcmp(key, "lazy_refcounts") ||
		    !strcmp(key, "extended_l2")) && !strcmp(val, "off")) {
		/* the default, and all okvm writes */
	} else if (!strcmp(key, "preallocation") && !strcmp(val, "off")) {
	} else if (!strcmp(key, "compression_type") && !strcmp(val, "zlib")) {
	} else {
		return img_err("option %s=%s is not supported", key, val);
	}
	return 0;
}

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int img_create(int argc, char **argv)
{
	struct create_opts o = {
		.fmt = "raw",
		.q = { .cluster_bits = 16, .refcount_order = 4, .version = 3 },
	};
	char *bpath = NULL;
	uint64_t size = 0;
	bool have_size;
	struct blk *b;
	int c, ret;

	while ((c = getopt_long(argc, argv, "f:o:b:F:qu", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.fmt = optarg;
			break;
		case 'o':
			ret = img_parse_opts(optarg, create_opt, &o);
			if (ret)
				return ret;
			break;
		case 'b':
			o.backing_file = optarg;
			break;
		case 'F':
			o.backing_fmt = optarg;
			break;
		case 'q':
		case 'u':
			break;
		default:
			return img_err("create: usage: create [-f FMT] [-o OPTIONS] [-b BACKING [-F FMT]] FILE [SIZE]");
		}
	}
	if (optind >= argc || argc - optind > 2)
		return img_err("create: expecting a file name and a size");
	have_size = argc - optind == 2;
	if (have_size && img_parse_size(argv[optind + 1], &size, false, NULL))
		return img_err("%s: invalid size '%s'", argv[optind],
			       argv[optind + 1]);
	if (o.encrypt && strcmp(o.fmt, "qcow2"))
		return img_err("%s: encryption needs -f qcow2", argv[optind]);
	if (strcmp(o.fmt, "raw") && strcmp(o.fmt, "qcow2"))
		return img_err("%s: unknown format '%s' (raw or qcow2)",
			       argv[optind], o.fmt);
	if (o.backing_file && strcmp(o.fmt, "qcow2"))
		return img_err("%s: format %s has no backing files",
			       argv[optind], o.fmt);
	if (o.backing_fmt && !blk_format_known(o.backing_fmt))
		return img_err("%s: unknown backing format '%s'", argv[optind],
			       o.backing_fmt);
	if (o.backing_file) {
		/* the backing file must open, and gives the default size */
		bpath = qcow2_backing_path(argv[optind], o.backing_file);
		if (!bpath)
			return img_err("out of memory");
		if (blk_open(&b, bpath, o.backing_fmt, BLK_RDONLY)) {
			free(bpath);
			return img_blk_err();
		}
		if (!have_size)
			size = b->size;
		if (!o.backing_fmt)
			o.backing_fmt = b->ops->format;
		blk_close(b);
		free(bpath);
	} else if (!have_size) {
		return img_err("%s: missing size", argv[optind]);
	}
	if (!strcmp(o.fmt, "raw")) {
		printf("Formatting '%s', fmt=raw size=%llu\n", argv[optind],
		       (unsigned long long)size);
		return raw_create(argv[optind], size) ? img_blk_err() : 0;
	}
	o.q.size = size;
	o.q.encrypt = o.encrypt;
	o.q.backing_file = o.backing_file;
	o.q.backing_format = o.backing_fmt;
	printf("Formatting '%s', fmt=qcow2%s cluster_size=%llu extended_l2=off compression_type=zlib size=%llu",
	       argv[optind], o.encrypt ? " encrypt.format=luks" : "",
	       1ull << o.q.cluster_bits, (unsigned long long)size);
	if (o.backing_file)
		printf(" backing_file=%s backing_fmt=%s", o.backing_file,
		       o.backing_fmt);
	printf(" lazy_refcounts=off refcount_bits=%u\n",
	       1u << o.q.refcount_order);
	return qcow2_create(argv[optind], &o.q) ? img_blk_err() : 0;
}
