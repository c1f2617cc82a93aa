// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img VERB ...: the verb table and the help text.
 */
#include <stdio.h>
#include <string.h>

#include "img.h"
#include "img_main.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} verbs[] = {
	{ "create", img_create },
	{ "info", img_info },
	{ "check", img_check },
	{ "convert", img_convert },
	{ "snapshot", img_snapshot },
	{ "resize", img_resize },
	{ "commit", img_commit },
	{ "rebase", img_rebase },
};

static void usage(FILE *out)
{
	fputs("usage: okvm img COMMAND [OPTIONS]\n"
	      "\n"
	      "  create [-f FMT] [-o OPTIONS] [-b BACKING [-F BACKING_FMT]] [--key-file FILE] FILE [SIZE]\n"
	      "  info [-f FMT] [--output=human|json] [--backing-chain] FILE\n"
	      "  check [-f FMT] [-r leaks|all] [--output=human|json] FILE\n"
	      "  convert [-f FMT] [-O FMT] [-c] [-p] [-o OPTIONS] SOURCE DEST\n"
	      "  snapshot [-f FMT] [-l | -c NAME | -a NAME | -d NAME] FILE\n"
	      "  resize [-f FMT] FILE [+]SIZE\n"
	      "  commit [-f FMT] [-p] FILE\n"
	      "  rebase [-f FMT] [-u] -b BACKING [-F BACKING_FMT] [-p] FILE\n"
	      "\n"
	      "FMT is raw or qcow2; without -f a file is probed (qcow2 if it has\n"
	      "qcow2's magic, raw otherwise). SIZE takes k, M, G, T suffixes.\n"
	      "See Documentation/images.rst.\n", out);
}

int img_main(int argc, char **argv)
{
	unsigned int i;

	if (argc < 2) {
		usage(stderr);
		return IMG_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return IMG_EXIT_OK;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	img_err("unknown command '%s' (okvm img --help lists them)", argv[1]);
	return IMG_EXIT_ERROR;
}
