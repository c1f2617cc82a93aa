// SPDX-License-Identifier: GPL-2.0-only
/*
 * Errors are recorded where they are detected, by the code that knows which
 * file and which field is wrong, and printed once by the command: deeper
 * layers never print. The first failure in a call chain wins, so that an
 * outer "read failed" does not hide the inner "L2 table past end of file".
 */
#include <stdio.h>
#include <string.h>

#include "error.h"

static __thread char last_error[512];

int blk_fail(int err, const char *file, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (last_error[0])
		return -err;
	n = snprintf(last_error, sizeof(last_error), "%s: ", file);
	if (n < 0 || (size_t)n >= sizeof(last_error))
		return -err;
	va_start(ap, fmt);
	vsnprintf(last_error + n, sizeof(last_error) - n, fmt, ap);
	va_end(ap);
	return -err;
}

void blk_error_prefix(const char *fmt, ...)
{
	char prefix[sizeof(last_error)], old[sizeof(last_error)];
	va_list ap;
	size_t n;

	if (!last_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, last_error, sizeof(old));
	n = strlen(prefix);
	memcpy(last_error, prefix, n);
	/* cut at the buffer's end, as blk_fail() cuts a long message */
	snprintf(last_error + n, sizeof(last_error) - n, "%s", old);
}

const char *blk_last_error(void)
{
	return last_error;
}

void blk_clear_error(void)
{
	last_error[0] = '\0';
}
