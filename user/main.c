// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm: the launcher, one binary with subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "img/img_main.h"
#include "run/run_main.h"

static void usage(FILE *out)
{
	fputs("usage: okvm COMMAND [ARGS]\n"
	      "\n"
	      "  img     create, inspect, check and convert disk images (okvm img --help)\n"
	      "  run     boot a Linux guest (okvm run --help)\n", out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "img"))
		return img_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return run_main(argc - 1, argv + 1);
	fprintf(stderr, "okvm: unknown command '%s' (okvm --help lists them)\n",
		argv[1]);
	return 2;
}
