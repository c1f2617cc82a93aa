// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img check [-f FMT] [-r leaks|all] [--output=human|json] FILE
 *
 * Exit codes as qemu-img check's: 0 consistent, 1 the check could not
 * run, 2 corruptions, 3 leaks only, 63 the format has no checks (raw).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../block/qcow2/qcow2.h"
#include "img.h"

static void report(const char *file, const struct qcow2_check_result *r,
		   bool json)
{
	if (json) {
		printf("{\n    \"image-end-offset\": %llu,\n"
		       "    \"total-clusters\": %llu,\n"
		       "    \"check-errors\": 0,\n",
		       (unsigned long long)r->image_end,
		       (unsigned long long)r->total);
		if (r->leaks)
			printf("    \"leaks\": %llu,\n",
			       (unsigned long long)r->leaks);
		if (r->corruptions)
			printf("    \"corruptions\": %llu,\n",
			       (unsigned long long)r->corruptions);
		printf("    \"filename\": \"%s\",\n    \"format\": \"qcow2\",\n"
		       "    \"allocated-clusters\": %llu,\n"
		       "    \"fragmented-clusters\": %llu,\n"
		       "    \"compressed-clusters\": %llu\n}\n", file,
		       (unsigned long long)r->allocated,
		       (unsigned long long)r->fragmented,
		       (unsigned long long)r->compressed);
		return;
	}
	if (!r->corruptions && !r->leaks)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%llu errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image may corrupt it.\n",
		       (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("\n%llu leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n",
		       (unsigned long long)r->leaks);
	if (r->total && r->allocated)
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated,
		       (unsigned long long)r->total,
		       100.0 * r->allocated / r->total,
		       100.0 * r->fragmented / r->allocated,
		       100.0 * r->compressed / r->allocated);
	printf("Image end offset: %llu\n", (unsigned long long)r->image_end);
}

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'O' },
	{ "force-share", no_argument, NULL, 'U' },
	{ NULL, 0, NULL, 0 },
};

int img_check(int argc, char **argv)
{
	struct qcow2_check_result r, again;
	const char *fmt = NULL;
	bool json = false;
	int repair = 0, c;
	struct blk *b;

	while ((c = getopt_long(argc, argv, "f:r:qU", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'r':
			if (!strcmp(optarg, "leaks"))
				repair = QCOW2_REPAIR_LEAKS;
			else if (!strcmp(optarg, "all"))
				repair = QCOW2_REPAIR_ALL;
			else
				return img_err("-r %s: leaks or all", optarg);
			break;
		case 'O':
			if (!strcmp(optarg, "json"))
				json = true;
			else if (strcmp(optarg, "human"))
				return img_err("--output=%s: human or json",
					       optarg);
			break;
		case 'q':
		case 'U':
			break;
		default:
			return img_err("check: usage: check [-f FMT] [-r leaks|all] FILE");
		}
	}
	if (optind != argc - 1)
		return img_err("check: expecting one file name");
	if (blk_open(&b, argv[optind], fmt,
		     (repair ? 0 : BLK_RDONLY) | BLK_NO_KEY))
		return img_blk_err();
	if (!img_is_qcow2(b)) {
		blk_close(b);
		img_err("%s: this image format does not support checks",
			argv[optind]);
		return IMG_EXIT_NOCHECK;
	}
	if (qcow2_check(to_qcow2(b), repair, &r)) {
		blk_close(b);
		return img_blk_err();
	}
	if (repair && (r.leaks_fixed || r.corruptions_fixed)) {
		printf("The following inconsistencies were found and repaired:\n\n"
		       "    %llu leaked clusters\n    %llu corruptions\n\n"
		       "Double checking the fixed image now...\n",
		       (unsigned long long)r.leaks_fixed,
		       (unsigned long long)r.corruptions_fixed);
		if (qcow2_check(to_qcow2(b), 0, &again)) {
			blk_close(b);
			return img_blk_err();
		}
		r = again;
	}
	report(argv[optind], &r, json);
	blk_close(b);
	if (r.corruptions)
		return IMG_EXIT_CORRUPT;
	return r.leaks ? IMG_EXIT_LEAKS : IMG_EXIT_OK;
}
