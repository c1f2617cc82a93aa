// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img VERB ...: the verb table and the help text.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "../block/error.h"
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

/*
 * --key-file FILE anywhere on the line: the passphrase of encrypted images
 * is the file's bytes as they are (a trailing newline included), as QEMU's
 * secret object reads a file. Never from the command line itself.
 */
static int take_key_file(int *argc, char **argv)
{
	static char key[4096];
	const char *file = NULL;
	size_t n;
	int i, j;

	for (i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--key-file") && i + 1 < *argc) {
			file = argv[i + 1];
			j = 2;
		} else if (!strncmp(argv[i], "--key-file=", 11)) {
			file = argv[i] + 11;
			j = 1;
		} else {
			continue;
		}
		memmove(&argv[i], &argv[i + j], (*argc - i - j + 1) * sizeof(*argv));
		*argc -= j;
		break;
	}
	if (!file)
		return 0;
	blk_clear_error();
	if (blk_read_key_file(file, key, sizeof(key), &n))
		return img_err("%s", blk_last_error());
	blk_set_secret(key, n);
	return 0;
}

/* No --key-file: ask on the terminal, without echo. */
static int prompt(const char *filename, void **key, size_t *len)
{
	static char pass[1024];
	struct termios t, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	bool echo_off;

	if (!tty)
		return -1;
	fprintf(tty, "Passphrase for %s: ", filename);
	fflush(tty);
	echo_off = !tcgetattr(fileno(tty), &t);
	if (echo_off) {
		quiet = t;
		quiet.c_lflag &= ~ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	if (!fgets(pass, sizeof(pass), tty))
		pass[0] = '\0';
	if (echo_off)
		tcsetattr(fileno(tty), TCSAFLUSH, &t);
	fputc('\n', tty);
	fclose(tty);
	pass[strcspn(pass, "\n")] = '\0';
	*key = pass;
	*len = strlen(pass);
	return 0;
}

int img_main(int argc, char **argv)
{
	unsigned int i;

	if (take_key_file(&argc, argv))
		return IMG_EXIT_ERROR;
	blk_set_secret_provider(prompt);

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
