/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One-line errors of the block layer: "FILE: problem". A failing call
 * records its message for the calling thread and returns -errno; the tool
 * on top prints it once, prefixed with its own name.
 */
#ifndef OKVM_BLOCK_ERROR_H
#define OKVM_BLOCK_ERROR_H

#include <stdarg.h>

/* Record "FILE: fmt..." and return -err (err is a positive errno). */
int blk_fail(int err, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Put fmt... before the recorded message, if there is one: the image that
 * opened the failing one says whose backing file it is.
 */
void blk_error_prefix(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* The message of the last failure in this thread ("" if none). */
const char *blk_last_error(void);
void blk_clear_error(void);

#endif
