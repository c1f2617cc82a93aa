/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The block layer: one interface for every image format. A struct blk is
 * an open image; its ops are synchronous and safe to call from several
 * threads at once (each format locks what it must). queue.h runs them on
 * I/O threads with several requests in flight.
 */
#ifndef OKVM_BLOCK_BLOCK_H
#define OKVM_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct blk;

/* What blk_status() says about a range of the virtual disk. */
enum blk_state {
	BLK_DATA,	/* allocated in this image, reads its data */
	BLK_ZERO,	/* reads as zeroes, known without reading */
	BLK_UNALLOC,	/* not in this image: the backing file's (or zero) */
};

struct blk_ops {
	const char *format;
	int (*pread)(struct blk *b, void *buf, size_t len, uint64_t off);
	int (*pwrite)(struct blk *b, const void *buf, size_t len,
		      uint64_t off);
	int (*flush)(struct blk *b);
	int (*discard)(struct blk *b, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct blk *b, uint64_t off, uint64_t len);
	/* the state of [off, off + *len); *len is shortened to its extent */
	int (*status)(struct blk *b, uint64_t off, uint64_t *len,
		      enum blk_state *state);
	int (*resize)(struct blk *b, uint64_t size);
	void (*close)(struct blk *b);
};

/* blk_open() flags */
#define BLK_RDONLY	(1u << 0)
#define BLK_NOCACHE	(1u << 1)	/* cache=none: O_DIRECT */
#define BLK_NO_BACKING	(1u << 2)	/* do not open the backing chain */
#define BLK_NO_KEY	(1u << 3)	/* metadata only: encrypted data stays
					 * locked (info, check)
					 */

struct blk {
	const struct blk_ops *ops;
	char *filename;
	uint64_t size;
	bool read_only;
	unsigned int flags;
	/* the backing image (qcow2), opened read-only; NULL if none */
	struct blk *backing;
	struct bfile *file;
};

/* The chain being opened, to detect loops: one link per image. */
struct blk_chain {
	const struct blk_chain *next;
	dev_t dev;
	ino_t ino;
	unsigned int depth;
};

/*
 * Open FILE as FMT ("raw", "qcow2", or NULL to probe: a file that starts
 * with the qcow2 magic is qcow2, anything else raw).
 */
int blk_open(struct blk **out, const char *filename, const char *fmt,
	     unsigned int flags);
int blk_open_chained(struct blk **out, const char *filename, const char *fmt,
		     unsigned int flags, const struct blk_chain *chain);
void blk_close(struct blk *b);

/* The format name a probe gives ("raw" or "qcow2"), or NULL on error. */
const char *blk_probe(const char *filename);
bool blk_format_known(const char *fmt);

/* Bounds-checked calls through the ops. */
int blk_pread(struct blk *b, void *buf, size_t len, uint64_t off);
int blk_pwrite(struct blk *b, const void *buf, size_t len, uint64_t off);
int blk_flush(struct blk *b);
int blk_discard(struct blk *b, uint64_t off, uint64_t len);
int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len);
int blk_status(struct blk *b, uint64_t off, uint64_t *len,
	       enum blk_state *state);
int blk_resize(struct blk *b, uint64_t size);

/*
 * The passphrase of encrypted images (LUKS in qcow2, secret.c): the bytes
 * as they are, never a C string; one for the process, used by every open
 * until cleared. If none was set when an encrypted image is opened, the
 * provider (if any) is asked for it, e.g. a prompt. The hint is how the
 * user gives one, for the error that says one is missing ("--key-file").
 */
void blk_set_secret(const void *key, size_t len);
void blk_clear_secret(void);
void blk_set_secret_provider(int (*get)(const char *filename, void **key,
					size_t *len));
void blk_set_secret_hint(const char *how);
const char *blk_secret_hint(void);
/* the passphrase (asking the provider if there is none yet); false: none */
bool blk_secret(const char *filename, const void **key, size_t *len);
/*
 * A key file's bytes into KEY (SIZE bytes, one more than the longest
 * passphrase taken); *LEN their number. On error a one-line message
 * naming PATH (blk_last_error()).
 */
int blk_read_key_file(const char *path, void *key, size_t size, size_t *len);

/* the formats */
extern const struct blk_ops raw_ops;
int raw_open(struct blk **out, const char *filename, unsigned int flags);
int raw_create(const char *filename, uint64_t size);

#endif
