// SPDX-License-Identifier: GPL-2.0-only
/*
 * The passphrase of encrypted images. It is held for the process, not per
 * image: okvm img takes one --key-file for every image a command opens,
 * and okvm run sets each disk's key-file= around that disk's open (the
 * master key derived from it then lives in the open image, so the
 * passphrase is not needed afterwards). Bytes as they are, never a C
 * string: a key file's trailing newline is part of the passphrase, as QEMU's
 * secret object reads a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "error.h"

static const void *secret;
static size_t secret_len;
static bool have_secret;
static int (*provider)(const char *filename, void **key, size_t *len);
static const char *hint = "--key-file";

void blk_set_secret(const void *key, size_t len)
{
	secret = key;
	secret_len = len;
	have_secret = true;
}

void blk_clear_secret(void)
{
	secret = NULL;
	secret_len = 0;
	have_secret = false;
}

void blk_set_secret_provider(int (*get)(const char *filename, void **key,
					size_t *len))
{
	provider = get;
}

void blk_set_secret_hint(const char *how)
{
	hint = how;
}

const char *blk_secret_hint(void)
{
	return hint;
}

bool blk_secret(const char *filename, const void **key, size_t *len)
{
	if (!have_secret && provider) {
		void *k;
		size_t n;

		if (!provider(filename, &k, &n))
			blk_set_secret(k, n);
	}
	*key = secret;
	*len = secret_len;
	return have_secret;
}

int blk_read_key_file(const char *path, void *key, size_t size, size_t *len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return blk_fail(errno, path, "%s", strerror(errno));
	n = read(fd, key, size);
	close(fd);
	if (n < 0)
		return blk_fail(errno, path, "%s", strerror(errno));
	/* one byte more than it can hold: the file did not fit */
	if ((size_t)n == size)
		return blk_fail(EINVAL, path, "a passphrase longer than %zu bytes",
				size - 1);
	*len = n;
	return 0;
}
