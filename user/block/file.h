/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host file under every image format: whole-length pread/pwrite,
 * O_DIRECT (cache=none) with aligned bounce buffers for callers whose
 * buffers, offsets or lengths are not aligned, and the space operations
 * (flush, hole punching, zeroing, growing).
 */
#ifndef OKVM_BLOCK_FILE_H
#define OKVM_BLOCK_FILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bfile {
	int fd;
	char *name;
	bool read_only;
	bool direct;
	/* the alignment O_DIRECT asks for: offsets, lengths and buffers */
	size_t align;
	/* serializes read-modify-write of partial O_DIRECT blocks */
	pthread_mutex_t rmw_lock;
};

int bfile_open(struct bfile **out, const char *name, bool read_only,
	       bool direct, bool create);
void bfile_close(struct bfile *f);

/* Whole-length I/O; a read past the end of the file reads zeroes. */
int bfile_pread(struct bfile *f, void *buf, size_t len, uint64_t off);
int bfile_pwrite(struct bfile *f, const void *buf, size_t len, uint64_t off);
int bfile_flush(struct bfile *f);
int bfile_size(struct bfile *f, uint64_t *size);
int bfile_truncate(struct bfile *f, uint64_t size);
int bfile_punch(struct bfile *f, uint64_t off, uint64_t len);
int bfile_zero(struct bfile *f, uint64_t off, uint64_t len);
/* Space the file takes on disk, in bytes (st_blocks). */
uint64_t bfile_allocated(struct bfile *f);

#endif
