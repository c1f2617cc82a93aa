/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * okvm img: qemu-img's verbs, options and output over the block layer.
 * Each verb has a file; this header has what they share.
 */
#ifndef OKVM_IMG_H
#define OKVM_IMG_H

#include <stdbool.h>
#include <stdint.h>

#include "../block/block.h"

/* qemu-img's exit codes (qemu-img.texi, "check") */
#define IMG_EXIT_OK		0
#define IMG_EXIT_ERROR		1
#define IMG_EXIT_CORRUPT	2
#define IMG_EXIT_LEAKS		3
#define IMG_EXIT_NOCHECK	63

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_check(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_rebase(int argc, char **argv);

/* "okvm img: MSG" on stderr; returns IMG_EXIT_ERROR */
int img_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* the block layer's last error, "okvm img: FILE: problem" */
int img_blk_err(void);

/* "1G", "512k", "+10M" (plus only if ALLOW_PLUS; *relative set) */
int img_parse_size(const char *s, uint64_t *size, bool allow_plus,
		   bool *relative);
/* qemu's size_to_str(): "196 KiB", "1 GiB" */
void img_size_str(uint64_t v, char *buf, size_t len);

/* -o a=b,c=d: calls fn for each pair; a nonzero return stops */
int img_parse_opts(const char *opts,
		   int (*fn)(void *ctx, const char *key, const char *val),
		   void *ctx);

bool img_is_qcow2(const struct blk *b);

struct qcow2;
/* qemu-img's "Snapshot list:" table */
void img_snapshot_list(struct qcow2 *q);

/* progress (-p): "    (12.34/100%)" rewritten in place on stdout */
void img_progress(bool on, uint64_t done, uint64_t total);

#endif
