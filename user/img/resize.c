// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img resize [-f FMT] FILE [+]SIZE: grows the virtual disk (qcow2:
 * a larger L1 table if needed, then the size in the header). Shrinking is
 * refused: it would drop data.
 */
#include <getopt.h>
#include <stdio.h>

#include "img.h"

int img_resize(int argc, char **argv)
{
	const char *fmt = NULL;
	uint64_t size;
	bool relative;
	struct blk *b;
	int c, ret;

	/* "-1G" is a size, not an option: stop at the first non-option */
	while ((c = getopt(argc, argv, "+f:q")) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'q':
			break;
		default:
			return img_err("resize: usage: resize [-f FMT] FILE [+]SIZE");
		}
	}
	if (argc - optind != 2)
		return img_err("resize: expecting a file name and a size");
	if (argv[optind + 1][0] == '-')
		return img_err("%s: shrinking is not supported", argv[optind]);
	if (img_parse_size(argv[optind + 1], &size, true, &relative))
		return img_err("%s: invalid size '%s'", argv[optind],
			       argv[optind + 1]);
	if (blk_open(&b, argv[optind], fmt, BLK_NO_BACKING))
		return img_blk_err();
	if (relative) {
		if (size > UINT64_MAX / 2 - b->size) {
			blk_close(b);
			return img_err("%s: size overflows", argv[optind]);
		}
		size += b->size;
	}
	if (size < b->size) {
		blk_close(b);
		return img_err("%s: shrinking is not supported", argv[optind]);
	}
	ret = blk_resize(b, size);
	blk_close(b);
	if (ret)
		return img_blk_err();
	printf("Image resized.\n");
	return IMG_EXIT_OK;
}
