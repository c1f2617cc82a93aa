// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img info [-f FMT] [--output=human|json] [--backing-chain] FILE
 *
 * The layouts and JSON field names are qemu-img's (7.2). The chain is
 * always opened whole, so that a missing backing file or a loop is an
 * error here too.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../block/file.h"
#include "../block/qcow2/qcow2.h"
#include "img.h"

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_snapshots(struct qcow2 *q)
{
	uint32_t i;

	printf(",\n        \"snapshots\": [");
	for (i = 0; i < q->nr_snapshots; i++) {
		const struct qcow2_snapshot *s = &q->snapshots[i];

		printf("%s\n            {\n                \"icount\": 0,\n"
		       "                \"vm-clock-nsec\": %llu,\n"
		       "                \"name\": ", i ? "," : "",
		       (unsigned long long)(s->vm_clock_nsec % 1000000000));
		json_str(s->name);
		printf(",\n                \"date-sec\": %u,\n"
		       "                \"date-nsec\": %u,\n"
		       "                \"vm-clock-sec\": %llu,\n"
		       "                \"id\": ", s->date_sec, s->date_nsec,
		       (unsigned long long)(s->vm_clock_nsec / 1000000000));
		json_str(s->id);
		printf(",\n                \"vm-state-size\": %llu\n            }",
		       (unsigned long long)s->vm_state_size);
	}
	printf("\n        ]");
}

static void info_one(struct blk *b, bool json, bool first)
{
	struct qcow2 *q = img_is_qcow2(b) ? to_qcow2(b) : NULL;
	uint64_t actual = bfile_allocated(b->file);
	const char *compat = q && q->h.version >= 3 ? "1.1" : "0.10";
	char vs[32], ds[32], *full = NULL;

	if (q && q->backing_name)
		full = qcow2_backing_path(b->filename, q->backing_name);
	if (!json) {
		img_size_str(b->size, vs, sizeof(vs));
		img_size_str(actual, ds, sizeof(ds));
		if (!first)
			printf("\n");
		printf("image: %s\nfile format: %s\n", b->filename,
		       b->ops->format);
		printf("virtual size: %s (%llu bytes)\n", vs,
		       (unsigned long long)b->size);
		printf("disk size: %s\n", ds);
		if (q && q->h.crypt_method)
			printf("encrypted: yes\n");
		if (q) {
			printf("cluster_size: %llu\n",
			       (unsigned long long)q->cluster_size);
			if (q->backing_name) {
				printf("backing file: %s", q->backing_name);
				if (strcmp(full, q->backing_name))
					printf(" (actual path: %s)", full);
				printf("\n");
			}
			if (q->backing_format)
				printf("backing file format: %s\n",
				       q->backing_format);
			if (q->nr_snapshots)
				img_snapshot_list(q);
			printf("Format specific information:\n    compat: %s\n",
			       compat);
			printf("    compression type: zlib\n");
			if (q->h.version >= 3)
				printf("    lazy refcounts: %s\n",
				       q->h.compatible_features & 1 ? "true" : "false");
			printf("    refcount bits: %u\n", q->refcount_bits);
			if (q->h.version >= 3)
				printf("    corrupt: %s\n    extended l2: false\n",
				       q->h.incompatible_features &
				       QCOW2_INCOMPAT_CORRUPT ? "true" : "false");
		}
		free(full);
		return;
	}
	printf("%s{\n", first ? "" : ",\n");
	if (q && q->backing_format) {
		printf("        \"backing-filename-format\": ");
		json_str(q->backing_format);
		printf(",\n");
	}
	printf("        \"virtual-size\": %llu,\n        \"filename\": ",
	       (unsigned long long)b->size);
	json_str(b->filename);
	if (q)
		printf(",\n        \"cluster-size\": %llu",
		       (unsigned long long)q->cluster_size);
	printf(",\n        \"format\": \"%s\",\n        \"actual-size\": %llu",
	       b->ops->format, (unsigned long long)actual);
	if (q && q->h.crypt_method)
		printf(",\n        \"encrypted\": true");
	if (q && q->nr_snapshots)
		json_snapshots(q);
	if (q) {
		printf(",\n        \"format-specific\": {\n"
		       "            \"type\": \"qcow2\",\n"
		       "            \"data\": {\n"
		       "                \"compat\": \"%s\",\n", compat);
		printf("                \"compression-type\": \"zlib\",\n");
		if (q->h.version >= 3)
			printf("                \"lazy-refcounts\": %s,\n",
			       q->h.compatible_features & 1 ? "true" : "false");
		printf("                \"refcount-bits\": %u", q->refcount_bits);
		if (q->h.version >= 3)
			printf(",\n                \"corrupt\": %s,\n"
			       "                \"extended-l2\": false",
			       q->h.incompatible_features &
			       QCOW2_INCOMPAT_CORRUPT ? "true" : "false");
		printf("\n            }\n        }");
	}
	if (full) {
		printf(",\n        \"full-backing-filename\": ");
		json_str(full);
		printf(",\n        \"backing-filename\": ");
		json_str(q->backing_name);
	}
	printf(",\n        \"dirty-flag\": %s\n    }",
	       q && (q->h.incompatible_features & QCOW2_INCOMPAT_DIRTY) ?
	       "true" : "false");
	free(full);
}

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'O' },
	{ "backing-chain", no_argument, NULL, 'B' },
	{ "force-share", no_argument, NULL, 'U' },
	{ NULL, 0, NULL, 0 },
};

int img_info(int argc, char **argv)
{
	const char *fmt = NULL;
	bool json = false, chain = false;
	struct blk *b, *i;
	int c;

	while ((c = getopt_long(argc, argv, "f:U", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			if (!strcmp(optarg, "json"))
				json = true;
			else if (strcmp(optarg, "human"))
				return img_err("--output=%s: human or json",
					       optarg);
			break;
		case 'B':
			chain = true;
			break;
		case 'U':
			break;
		default:
			return img_err("info: usage: info [-f FMT] [--output=human|json] [--backing-chain] FILE");
		}
	}
	if (optind != argc - 1)
		return img_err("info: expecting one file name");
	if (blk_open(&b, argv[optind], fmt, BLK_RDONLY | BLK_NO_KEY))
		return img_blk_err();
	if (json && chain)
		printf("[\n    ");
	for (i = b; i; i = chain ? i->backing : NULL) {
		if (json && !chain) {
			/* a lone object is not indented like array items */
			info_one(i, true, true);
			break;
		}
		info_one(i, json, i == b);
	}
	if (json)
		printf(chain ? "\n]\n" : "\n");
	blk_close(b);
	return IMG_EXIT_OK;
}
