/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qcow2, as QEMU's docs/interop/qcow2.txt specifies it (cited as "spec").
 * The format's parts each have a file: header.c (header and extensions),
 * cache.c (the table cache), l2.c (L1/L2 mapping), refcount.c, cluster.c
 * (reading and writing guest data, copy-on-write), compress.c, snapshot.c,
 * backing.c, check.c, create.c; qcow2.c ties them to the block interface.
 *
 * Every offset and table entry is big-endian on disk and host-endian in
 * memory; a struct qcow2 is protected by its lock.
 */
#ifndef OKVM_BLOCK_QCOW2_H
#define OKVM_BLOCK_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../block.h"

#define QCOW2_MAGIC		0x514649fbu	/* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS	9
#define QCOW2_MAX_CLUSTER_BITS	21
#define QCOW2_V2_HEADER_LEN	72
#define QCOW2_V3_HEADER_LEN	104
/* QEMU's limits (QCOW_MAX_L1_SIZE, QCOW_MAX_REFTABLE_SIZE), so that what
 * one opens the other opens too
 */
#define QCOW2_MAX_L1_BYTES	(32u << 20)
#define QCOW2_MAX_RT_BYTES	(8u << 20)
#define QCOW2_MAX_SNAPSHOTS	65536
#define QCOW2_MAX_BACKING_NAME	1023

/* Header field offsets (spec "Header"), for in-place updates. */
#define QH_BACKING_OFFSET	8
#define QH_BACKING_SIZE		16
#define QH_SIZE			24
#define QH_L1_SIZE		36
#define QH_L1_OFFSET		40
#define QH_RT_OFFSET		48
#define QH_RT_CLUSTERS		56
#define QH_NB_SNAPSHOTS		60
#define QH_SNAPSHOTS_OFFSET	64
#define QH_INCOMPAT		72

/* incompatible_features bits (spec "Header", bytes 72-79) */
#define QCOW2_INCOMPAT_DIRTY		(1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT		(1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE	(1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION	(1ull << 3)
#define QCOW2_INCOMPAT_EXTL2		(1ull << 4)

/* header extension types (spec "Header extensions") */
#define QCOW2_EXT_END			0x00000000u
#define QCOW2_EXT_BACKING_FORMAT	0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE		0x6803f857u
#define QCOW2_EXT_BITMAPS		0x23852875u
#define QCOW2_EXT_CRYPTO		0x0537be77u
#define QCOW2_EXT_DATA_FILE		0x44415441u

/* L1 and L2 entries (spec "Cluster mapping") */
#define QCOW2_OFLAG_COPIED	(1ull << 63)
#define QCOW2_OFLAG_COMPRESSED	(1ull << 62)
#define QCOW2_OFLAG_ZERO	(1ull << 0)
#define QCOW2_L1E_OFFSET_MASK	0x00fffffffffffe00ull
#define QCOW2_L2E_OFFSET_MASK	0x00fffffffffffe00ull
#define QCOW2_L1E_RESERVED	0x7f000000000001ffull

struct qcow2_header {
	uint32_t version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_table_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompatible_features;
	uint64_t compatible_features;
	uint64_t autoclear_features;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;
};

/* A header extension okvm does not interpret, kept to be written back. */
struct qcow2_ext {
	uint32_t type;
	uint32_t len;
	void *data;
};

struct qcow2_snapshot {
	uint64_t l1_table_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	/* extra data beyond the two fields okvm knows, kept as is */
	uint32_t extra_size;
	void *extra;
};

struct qcow2_cache_entry {
	uint64_t offset;	/* 0: unused */
	void *data;
	bool dirty;
	uint64_t used;		/* LRU tick */
};

struct qcow2;

struct qcow2_cache {
	struct qcow2_cache_entry *entries;
	unsigned int count;
	uint64_t tick;
	/* what must be on disk before a dirty entry of this cache is */
	int (*before_write)(struct qcow2 *q);
};

/* A refcount decrement that waits until no table on disk still points to
 * the cluster (see refcount.c).
 */
struct qcow2_deferred {
	uint64_t offset;
	uint64_t count;		/* clusters */
};

struct qcow2 {
	struct blk blk;
	pthread_mutex_t lock;
	/* held for reading by data I/O done without the lock, for writing
	 * while freed clusters are released for reuse
	 */
	pthread_rwlock_t free_lock;
	struct qcow2_header h;
	char *backing_name;	/* as stored in the image, or NULL */
	char *backing_format;	/* from the extension, or NULL */
	struct qcow2_ext *exts;
	unsigned int nr_exts;
	uint64_t crypto_offset, crypto_length;	/* the LUKS header, if any */

	uint64_t cluster_size;
	unsigned int cluster_bits;
	unsigned int l2_bits;
	uint64_t l2_entries;
	uint64_t *l1;
	uint32_t l1_size;
	bool l1_dirty;

	uint64_t *rt;		/* refcount table */
	uint64_t rt_entries;
	unsigned int refcount_bits;
	uint64_t refcount_max;
	uint64_t rb_entries;	/* refcounts per refcount block */

	struct qcow2_cache l2_cache;
	struct qcow2_cache rb_cache;
	uint64_t free_hint;	/* lowest cluster index that may be free */
	uint64_t file_end;	/* end of the host file as okvm knows it */

	struct qcow2_deferred *deferred;
	unsigned int nr_deferred, max_deferred;

	struct qcow2_snapshot *snapshots;
	uint32_t nr_snapshots;
	uint64_t snapshots_size;	/* bytes the snapshot table takes */

	/* compressed-cluster bookkeeping for writes (compress.c) */
	uint64_t compress_cursor;

	/* the LUKS master key's cipher, if encrypted (crypto.c) */
	struct qcow2_crypto *crypto;
};

static inline struct qcow2 *to_qcow2(struct blk *b)
{
	return (struct qcow2 *)b;
}

static inline uint64_t qcow2_align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline uint64_t qcow2_div_up(uint64_t x, uint64_t d)
{
	return (x + d - 1) / d;
}

bool qcow2_probe(const unsigned char *magic4);
int qcow2_open(struct blk **out, const char *filename, unsigned int flags,
	       const struct blk_chain *chain);
/* The number of L1 entries a virtual disk of SIZE needs. */
uint64_t qcow2_l1_entries_for(uint64_t size, unsigned int cluster_bits);

/* header.c */
int qcow2_header_read(struct qcow2 *q);
void qcow2_header_encode(const struct qcow2_header *h, unsigned char *buf);
int qcow2_header_write_u32(struct qcow2 *q, unsigned int field, uint32_t v);
int qcow2_header_write_u64(struct qcow2 *q, unsigned int field, uint64_t v);
/* Rewrite the header cluster: header, extensions and backing name. */
int qcow2_header_rewrite(struct qcow2 *q);
int qcow2_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);

/* cache.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned int count,
		     uint64_t cluster_size, int (*before_write)(struct qcow2 *));
void qcow2_cache_free(struct qcow2_cache *c);
/* The table at OFFSET, read from disk or (FRESH) zero-filled. */
int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset,
		    bool fresh, void **table);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, void *table);
int qcow2_cache_write(struct qcow2 *q, struct qcow2_cache *c, bool *wrote);
void qcow2_cache_forget(struct qcow2_cache *c, uint64_t offset);

/* refcount.c */
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
int qcow2_refcount_add(struct qcow2 *q, uint64_t cluster, int64_t delta);
int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t rc);
/* N contiguous clusters with refcount 1; their offset in *offset. */
int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset);
/* A -1 on each of the clusters covering [offset, offset + len), applied by
 * the next metadata flush once no table on disk points there.
 */
int qcow2_free_deferred(struct qcow2 *q, uint64_t offset, uint64_t len);
int qcow2_refcounts_persist(struct qcow2 *q);
int qcow2_refcount_read_table(struct qcow2 *q);
uint64_t qcow2_rb_get(const struct qcow2 *q, const void *rb, uint64_t i);
void qcow2_rb_set(const struct qcow2 *q, void *rb, uint64_t i, uint64_t v);

/* l2.c */
int qcow2_l1_read(struct qcow2 *q);
int qcow2_l1_write(struct qcow2 *q);
/* The L2 entry of the cluster at guest offset OFF (0 if no L2 table). */
int qcow2_l2_get(struct qcow2 *q, uint64_t off, uint64_t *entry);
/* Set it, allocating or copying (shared) the L2 table as needed. */
int qcow2_l2_set(struct qcow2 *q, uint64_t off, uint64_t entry);
int qcow2_check_l2_offset(struct qcow2 *q, uint64_t l2_offset, uint64_t l1i);
int qcow2_check_data_offset(struct qcow2 *q, uint64_t entry, uint64_t off);
int qcow2_l1_grow(struct qcow2 *q, uint64_t size);

/* cluster.c: data I/O within one guest cluster */
int qcow2_read_cluster(struct qcow2 *q, void *buf, size_t len, uint64_t off);
int qcow2_write_cluster(struct qcow2 *q, const void *buf, size_t len,
			uint64_t off, bool *in_place, uint64_t *host);
int qcow2_zero_cluster(struct qcow2 *q, uint64_t off, bool discard);
int qcow2_make_empty(struct qcow2 *q);

/* compress.c */
int qcow2_compressed_read(struct qcow2 *q, uint64_t entry, void *cluster);
int qcow2_compressed_write(struct qcow2 *q, const void *cluster, uint64_t off,
			   bool *written);
void qcow2_compressed_extent(const struct qcow2 *q, uint64_t entry,
			     uint64_t *offset, uint64_t *len);

/* crypto.c: the LUKS area QEMU reserves (header, 8 key slots) */
#define QCOW2_LUKS_AREA		2068480u
struct bfile;
int qcow2_luks_format(struct bfile *f, uint64_t offset, unsigned int iter_ms);
int qcow2_crypto_open(struct qcow2 *q);
void qcow2_crypto_close(struct qcow2 *q);
/* LEN bytes (whole 512-byte sectors) of data at host offset HOST */
int qcow2_crypt(struct qcow2 *q, void *buf, size_t len, uint64_t host,
		bool encrypt);

/* backing.c */
int qcow2_backing_open(struct qcow2 *q, const struct blk_chain *chain);
int qcow2_backing_read(struct qcow2 *q, void *buf, size_t len, uint64_t off);
/* The backing file name resolved against the image's directory. */
char *qcow2_backing_path(const char *image, const char *backing);
int qcow2_set_backing(struct qcow2 *q, const char *name, const char *fmt);

/* snapshot.c */
int qcow2_snapshots_read(struct qcow2 *q);
void qcow2_snapshots_free(struct qcow2 *q);
int qcow2_snapshot_create(struct qcow2 *q, const char *name);
int qcow2_snapshot_apply(struct qcow2 *q, const char *name);
int qcow2_snapshot_delete(struct qcow2 *q, const char *name);

/* metadata flush (qcow2.c) */
int qcow2_flush_metadata(struct qcow2 *q);

/* check.c */
struct qcow2_check_result {
	uint64_t corruptions, leaks;
	uint64_t corruptions_fixed, leaks_fixed;
	uint64_t allocated, fragmented, compressed, total;
	uint64_t image_end;
};
int qcow2_check(struct qcow2 *q, int repair, struct qcow2_check_result *r);
#define QCOW2_REPAIR_LEAKS	1
#define QCOW2_REPAIR_ALL	2

/* create.c */
struct qcow2_create_opts {
	uint64_t size;
	unsigned int cluster_bits;
	unsigned int refcount_order;
	unsigned int version;
	const char *backing_file;
	const char *backing_format;
	bool encrypt;			/* encrypt.format=luks */
	unsigned int iter_ms;		/* encrypt.iter-time */
};
int qcow2_create(const char *filename, const struct qcow2_create_opts *o);

#endif
