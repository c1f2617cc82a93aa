// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk_test.c - the block layer against a model: random reads, writes,
 * write-zeroes and discards through user/block on raw and qcow2 images of
 * every cluster size class and refcount width, compared with an in-memory
 * copy of the disk after every step, after reopening, and through Debian's
 * qemu-img (check must pass, convert -O raw must give the same bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "block/block.h"
#include "block/error.h"
#include "block/queue.h"
#include "block/qcow2/qcow2.h"

#define DISK_SIZE	(6u << 20)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
	if (tmpdir[0])
		return;
	strcpy(tmpdir, "/tmp/okvm-blk-XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

/* TMPDIR/NAME, allocated: the tests keep several at once */
static char *path(const char *name)
{
	char *p;

	make_tmpdir();
	if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
		abort();
	return p;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int write_file(const char *name, const void *buf, size_t len)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* qemu-img check passes and qemu-img convert -O raw gives MODEL. */
static int qemu_agrees(const char *image, const char *fmt, const char *model,
		       size_t len)
{
	char *ref = path("model.raw"), *out = path("qemu.raw");

	if (write_file(ref, model, len))
		return -1;
	if (!strcmp(fmt, "qcow2") &&
	    sh("qemu-img check -q %s >&2", image))
		return -2;
	if (sh("qemu-img convert -f %s -O raw %s %s", fmt, image, out))
		return -3;
	if (sh("cmp %s %s >&2", ref, out))
		return -4;
	return 0;
}

static void fill(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = rnd();
}

/*
 * N random operations on B, mirrored into MODEL; every read compared.
 * Sizes from one byte to a few clusters, offsets anywhere: requests
 * straddle clusters and L2 tables.
 */
static int random_ops(struct blk *b, char *model, unsigned int n,
		      uint64_t unit)
{
	char *buf = malloc(8 * unit + 4096), *got = malloc(8 * unit + 4096);
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		uint64_t max = 8 * unit < b->size / 4 ? 8 * unit : b->size / 4;
		uint64_t len = 1 + rnd() % (rnd() % 2 ? max : 4096);
		uint64_t off = rnd() % (b->size - len);
		unsigned int op = rnd() % 10;

		if (op < 5) {
			fill(buf, len);
			ret = blk_pwrite(b, buf, len, off);
			memcpy(model + off, buf, len);
		} else if (op < 8) {
			ret = blk_pread(b, got, len, off);
			if (!ret && memcmp(got, model + off, len)) {
				fprintf(stderr, "# mismatch at [%llu, +%llu) after %u ops\n",
					(unsigned long long)off,
					(unsigned long long)len, i);
				ret = -EIO;
			}
		} else if (op == 8) {
			ret = blk_write_zeroes(b, off, len);
			memset(model + off, 0, len);
		} else {
			/* discard: only whole clusters may change; make the
			 * model agree by zeroing through write-zeroes first
			 */
			ret = blk_write_zeroes(b, off, len);
			if (!ret)
				ret = blk_discard(b, off, len);
			memset(model + off, 0, len);
		}
		if (!ret && rnd() % 16 == 0)
			ret = blk_flush(b);
	}
	if (ret)
		fprintf(stderr, "# %s\n", blk_last_error());
	free(buf);
	free(got);
	return ret;
}

static int whole_equal(struct blk *b, const char *model)
{
	char *got = malloc(b->size);
	int ret;

	ret = blk_pread(b, got, b->size, 0);
	if (!ret && memcmp(got, model, b->size))
		ret = -EIO;
	if (ret)
		fprintf(stderr, "# %s\n", blk_last_error());
	free(got);
	return ret;
}

FIXTURE(qcow2_rw) {
	char *model;
};

FIXTURE_VARIANT(qcow2_rw) {
	unsigned int cluster_bits;
	unsigned int refcount_order;
	unsigned int version;
};

#define RW_VARIANT(cb, ro, v) \
	FIXTURE_VARIANT_ADD(qcow2_rw, c##cb##_r##ro##_v##v) { \
		.cluster_bits = cb, .refcount_order = ro, .version = v }

RW_VARIANT(9, 0, 3);
RW_VARIANT(9, 4, 3);
RW_VARIANT(9, 6, 3);
RW_VARIANT(10, 1, 3);
RW_VARIANT(12, 2, 3);
RW_VARIANT(12, 3, 3);
RW_VARIANT(16, 4, 3);
RW_VARIANT(16, 4, 2);
RW_VARIANT(16, 5, 3);
RW_VARIANT(16, 0, 3);
RW_VARIANT(17, 6, 3);
RW_VARIANT(21, 4, 3);
RW_VARIANT(21, 0, 3);

FIXTURE_SETUP(qcow2_rw)
{
	self->model = calloc(1, DISK_SIZE);
	ASSERT_NE(NULL, self->model);
	rng_state = 0x9e3779b97f4a7c15ull ^ variant->cluster_bits ^
		    (variant->refcount_order << 8);
}

FIXTURE_TEARDOWN(qcow2_rw)
{
	free(self->model);
}

TEST_F(qcow2_rw, model)
{
	struct qcow2_create_opts o = {
		.size = DISK_SIZE,
		.cluster_bits = variant->cluster_bits,
		.refcount_order = variant->refcount_order,
		.version = variant->version,
	};
	char *img = path("rw.qcow2");
	struct blk *b;

	ASSERT_EQ(0, qcow2_create(img, &o));
	ASSERT_EQ(0, blk_open(&b, img, "qcow2", 0));
	ASSERT_EQ(0, random_ops(b, self->model, 600, 1ull << o.cluster_bits));
	ASSERT_EQ(0, whole_equal(b, self->model));
	blk_close(b);
	ASSERT_EQ(0, blk_open(&b, img, NULL, 0));
	ASSERT_EQ(0, whole_equal(b, self->model));
	ASSERT_EQ(0, random_ops(b, self->model, 200, 1ull << o.cluster_bits));
	blk_close(b);
	ASSERT_EQ(0, qemu_agrees(img, "qcow2", self->model, DISK_SIZE));
}

/* 512-byte clusters and 64-bit refcounts: a refcount block covers 64
 * clusters and a table cluster 2 MiB, so filling 6 MiB grows the table
 * several times.
 */
TEST(refcount_table_growth)
{
	struct qcow2_create_opts o = {
		.size = DISK_SIZE, .cluster_bits = 9, .refcount_order = 6,
		.version = 3,
	};
	char *img = path("grow.qcow2"), *model = malloc(DISK_SIZE);
	struct blk *b;

	rng_state = 42;
	fill(model, DISK_SIZE);
	ASSERT_EQ(0, qcow2_create(img, &o));
	ASSERT_EQ(0, blk_open(&b, img, "qcow2", 0));
	ASSERT_EQ(0, blk_pwrite(b, model, DISK_SIZE, 0));
	ASSERT_EQ(0, blk_flush(b));
	ASSERT_EQ(0, whole_equal(b, model));
	ASSERT_LT(1, to_qcow2(b)->h.refcount_table_clusters);
	blk_close(b);
	ASSERT_EQ(0, qemu_agrees(img, "qcow2", model, DISK_SIZE));
	free(model);
}

/* raw behind the same interface: the model and qemu-img agree. */
TEST(raw_rw)
{
	char *img = path("rw.raw"), *model = calloc(1, DISK_SIZE);
	struct blk *b;

	rng_state = 7;
	ASSERT_EQ(0, raw_create(img, DISK_SIZE));
	ASSERT_EQ(0, blk_open(&b, img, NULL, 0));
	ASSERT_STREQ("raw", b->ops->format);
	ASSERT_EQ(0, random_ops(b, model, 400, 4096));
	blk_close(b);
	ASSERT_EQ(0, qemu_agrees(img, "raw", model, DISK_SIZE));
	free(model);
}

/* cache=none: O_DIRECT with unaligned requests through bounce buffers. */
TEST(cache_none)
{
	struct qcow2_create_opts o = {
		.size = DISK_SIZE, .cluster_bits = 12, .refcount_order = 4,
		.version = 3,
	};
	char *img = path("direct.qcow2"), *model = calloc(1, DISK_SIZE);
	struct blk *b;
	int ret;

	rng_state = 11;
	ASSERT_EQ(0, qcow2_create(img, &o));
	ret = blk_open(&b, img, "qcow2", BLK_NOCACHE);
	if (ret == -EINVAL && strstr(blk_last_error(), "O_DIRECT"))
		SKIP(return, "no O_DIRECT on %s", tmpdir);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, random_ops(b, model, 300, 4096));
	blk_close(b);
	ASSERT_EQ(0, qemu_agrees(img, "qcow2", model, DISK_SIZE));
	free(model);
}

/*
 * A chain raw <- qcow2 <- qcow2 ... (depth 6), each overlay written
 * partially: copy-on-write must pull the rest of each cluster from below.
 */
TEST(backing_chain)
{
	struct qcow2_create_opts o = {
		.size = DISK_SIZE, .cluster_bits = 16, .refcount_order = 4,
		.version = 3,
	};
	char *model = malloc(DISK_SIZE), name[32], below[32];
	struct blk *b;
	int i;

	rng_state = 99;
	fill(model, DISK_SIZE);
	ASSERT_EQ(0, write_file(path("base.raw"), model, DISK_SIZE));
	strcpy(below, "base.raw");
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "layer%d.qcow2", i);
		o.backing_file = below;
		o.backing_format = i ? "qcow2" : "raw";
		o.cluster_bits = 12 + i;
		ASSERT_EQ(0, qcow2_create(path(name), &o));
		ASSERT_EQ(0, blk_open(&b, path(name), NULL, 0));
		ASSERT_EQ(0, whole_equal(b, model));
		ASSERT_EQ(0, random_ops(b, model, 100, 1ull << o.cluster_bits));
		blk_close(b);
		strcpy(below, name);
	}
	ASSERT_EQ(0, qemu_agrees(path(name), "qcow2", model, DISK_SIZE));
	free(model);
}

/* a -> b -> a: refused with a message naming the loop, not a hang. */
TEST(backing_loop)
{
	struct qcow2_create_opts o = {
		.size = 1 << 20, .cluster_bits = 16, .refcount_order = 4,
		.version = 3, .backing_format = "qcow2",
	};
	struct blk *b;

	o.backing_file = "loop-b.qcow2";
	ASSERT_EQ(0, qcow2_create(path("loop-a.qcow2"), &o));
	o.backing_file = "loop-a.qcow2";
	ASSERT_EQ(0, qcow2_create(path("loop-b.qcow2"), &o));
	blk_clear_error();
	ASSERT_EQ(-ELOOP, blk_open(&b, path("loop-a.qcow2"), NULL, BLK_RDONLY));
	ASSERT_NE(NULL, strstr(blk_last_error(), "loop"));
	blk_clear_error();
}

/* Several requests in flight through the I/O threads. */
struct qreq {
	struct blk_req r;
	int ret;
	int *pending;
	pthread_mutex_t *lock;
};

static void qreq_done(struct blk_req *r, int ret)
{
	struct qreq *q = (struct qreq *)r;

	pthread_mutex_lock(q->lock);
	q->ret = ret;
	(*q->pending)--;
	pthread_mutex_unlock(q->lock);
}

TEST(queue_in_flight)
{
	struct qcow2_create_opts o = {
		.size = DISK_SIZE, .cluster_bits = 16, .refcount_order = 4,
		.version = 3,
	};
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	char *model = malloc(DISK_SIZE), *img = path("queue.qcow2");
	static struct qreq reqs[96];
	struct blk_queue *queue;
	int pending = 0, i;
	struct blk *b;

	rng_state = 5;
	fill(model, DISK_SIZE);
	ASSERT_EQ(0, qcow2_create(img, &o));
	ASSERT_EQ(0, blk_open(&b, img, NULL, 0));
	ASSERT_EQ(0, blk_queue_create(&queue, b, 4));
	/* disjoint 64 KiB writes, all submitted before any completes */
	for (i = 0; i < 96; i++) {
		reqs[i].r.op = BLK_REQ_WRITE;
		reqs[i].r.buf = model + i * 65536;
		reqs[i].r.len = 65536;
		reqs[i].r.off = i * 65536ull;
		reqs[i].r.done = qreq_done;
		reqs[i].pending = &pending;
		reqs[i].lock = &lock;
		reqs[i].ret = 1;
		pending++;
	}
	for (i = 0; i < 96; i++)
		blk_queue_submit(queue, &reqs[i].r);
	blk_queue_destroy(queue);
	ASSERT_EQ(0, pending);
	for (i = 0; i < 96; i++)
		ASSERT_EQ(0, reqs[i].ret);
	ASSERT_EQ(0, blk_flush(b));
	blk_close(b);
	ASSERT_EQ(0, qemu_agrees(img, "qcow2", model, DISK_SIZE));
	free(model);
}

TEST(out_of_range_and_read_only)
{
	struct qcow2_create_opts o = {
		.size = 1 << 20, .cluster_bits = 16, .refcount_order = 4,
		.version = 3,
	};
	char buf[512] = { 0 };
	struct blk *b;

	ASSERT_EQ(0, qcow2_create(path("ro.qcow2"), &o));
	ASSERT_EQ(0, blk_open(&b, path("ro.qcow2"), NULL, BLK_RDONLY));
	blk_clear_error();
	ASSERT_EQ(-EROFS, blk_pwrite(b, buf, 512, 0));
	blk_clear_error();
	ASSERT_EQ(-EINVAL, blk_pread(b, buf, 512, (1 << 20) - 256));
	blk_clear_error();
	blk_close(b);
}

/* snapshot create/apply/delete through the API, with writes between:
 * shared clusters and shared L2 tables must be copied, never changed.
 */
FIXTURE(snapshots) {
	char *model[3];
};

FIXTURE_VARIANT(snapshots) {
	unsigned int cluster_bits;
	unsigned int refcount_order;
};

FIXTURE_VARIANT_ADD(snapshots, c16_r4) { .cluster_bits = 16, .refcount_order = 4 };
FIXTURE_VARIANT_ADD(snapshots, c9_r2) { .cluster_bits = 9, .refcount_order = 2 };
FIXTURE_VARIANT_ADD(snapshots, c12_r6) { .cluster_bits = 12, .refcount_order = 6 };

FIXTURE_SETUP(snapshots)
{
	int i;

	for (i = 0; i < 3; i++) {
		self->model[i] = calloc(1, DISK_SIZE);
		ASSERT_NE(NULL, self->model[i]);
	}
	rng_state = 1234 + variant->cluster_bits;
}

FIXTURE_TEARDOWN(snapshots)
{
	int i;

	for (i = 0; i < 3; i++)
		free(self->model[i]);
}

static int snap(struct blk *b, int op, const char *name)
{
	struct qcow2 *q = to_qcow2(b);
	int ret;

	pthread_mutex_lock(&q->lock);
	ret = op == 'c' ? qcow2_snapshot_create(q, name) :
	      op == 'a' ? qcow2_snapshot_apply(q, name) :
			  qcow2_snapshot_delete(q, name);
	pthread_mutex_unlock(&q->lock);
	if (ret)
		fprintf(stderr, "# %s\n", blk_last_error());
	return ret;
}

TEST_F(snapshots, create_write_apply_delete)
{
	struct qcow2_create_opts o = {
		.size = DISK_SIZE, .cluster_bits = variant->cluster_bits,
		.refcount_order = variant->refcount_order, .version = 3,
	};
	uint64_t unit = 1ull << o.cluster_bits;
	char *img = path("snap.qcow2");
	struct blk *b;

	ASSERT_EQ(0, qcow2_create(img, &o));
	ASSERT_EQ(0, blk_open(&b, img, NULL, 0));
	ASSERT_EQ(0, random_ops(b, self->model[0], 300, unit));
	ASSERT_EQ(0, snap(b, 'c', "one"));
	memcpy(self->model[1], self->model[0], DISK_SIZE);
	ASSERT_EQ(0, random_ops(b, self->model[1], 300, unit));
	ASSERT_EQ(0, snap(b, 'c', "two"));
	memcpy(self->model[2], self->model[1], DISK_SIZE);
	ASSERT_EQ(0, random_ops(b, self->model[2], 300, unit));
	blk_close(b);
	ASSERT_EQ(0, qemu_agrees(img, "qcow2", self->model[2], DISK_SIZE));
	ASSERT_EQ(0, sh("qemu-img snapshot -l %s | grep -q ' two '", img));

	ASSERT_EQ(0, blk_open(&b, img, NULL, 0));
	ASSERT_EQ(-EEXIST, snap(b, 'c', "one"));
	blk_clear_error();
	ASSERT_EQ(0, snap(b, 'a', "one"));
	ASSERT_EQ(0, whole_equal(b, self->model[0]));
	/* writes after apply must not reach the snapshot's clusters */
	ASSERT_EQ(0, random_ops(b, self->model[0], 200, unit));
	ASSERT_EQ(0, snap(b, 'd', "one"));
	ASSERT_EQ(0, whole_equal(b, self->model[0]));
	blk_close(b);
	ASSERT_EQ(0, qemu_agrees(img, "qcow2", self->model[0], DISK_SIZE));

	ASSERT_EQ(0, blk_open(&b, img, NULL, 0));
	ASSERT_EQ(0, snap(b, 'a', "two"));
	ASSERT_EQ(0, whole_equal(b, self->model[1]));
	ASSERT_EQ(0, snap(b, 'd', "2"));	/* by ID */
	blk_close(b);
	ASSERT_EQ(0, qemu_agrees(img, "qcow2", self->model[1], DISK_SIZE));
	ASSERT_EQ(0, sh("test -z \"$(qemu-img snapshot -l %s)\"", img));
}

/*
 * LUKS (encrypt.format=luks) images made by qemu-img, written through the
 * block layer with unaligned requests (widened to whole sectors) and read
 * back by qemu-img with the same passphrase; the wrong one is refused.
 */
TEST(luks_read_write)
{
	char *img = path("luks.qcow2"), *pass = path("pass"),
	     *model = calloc(1, DISK_SIZE), *out = path("luks.raw");
	static const char key[] = "correct horse\n";
	char cmd[1024];
	struct blk *b;

	rng_state = 77;
	ASSERT_EQ(0, write_file(pass, key, strlen(key)));
	snprintf(cmd, sizeof(cmd),
		 "qemu-img create -q -f qcow2 --object secret,id=s0,file=%s "
		 "-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10,cluster_size=4k %s %u",
		 pass, img, DISK_SIZE);
	ASSERT_EQ(0, sh("%s", cmd));
	blk_set_secret("wrong", 5);
	blk_clear_error();
	ASSERT_EQ(-EKEYREJECTED, blk_open(&b, img, NULL, 0));
	ASSERT_NE(NULL, strstr(blk_last_error(), "wrong passphrase"));
	blk_clear_error();
	blk_set_secret(key, strlen(key));
	ASSERT_EQ(0, blk_open(&b, img, NULL, 0));
	ASSERT_EQ(0, random_ops(b, model, 300, 4096));
	ASSERT_EQ(0, whole_equal(b, model));
	blk_close(b);
	/* qemu-img opens LUKS images only with the key, even to check */
	snprintf(cmd, sizeof(cmd),
		 "qemu-img check -q --object secret,id=s0,file=%s --image-opts "
		 "driver=qcow2,file.filename=%s,encrypt.key-secret=s0",
		 pass, img);
	ASSERT_EQ(0, sh("%s", cmd));
	snprintf(cmd, sizeof(cmd),
		 "qemu-img convert --object secret,id=s0,file=%s --image-opts "
		 "driver=qcow2,file.filename=%s,encrypt.key-secret=s0 -O raw %s",
		 pass, img, out);
	ASSERT_EQ(0, sh("%s", cmd));
	ASSERT_EQ(0, write_file(path("model.raw"), model, DISK_SIZE));
	snprintf(cmd, sizeof(cmd), "cmp %s %s >&2", out, path("model.raw"));
	ASSERT_EQ(0, sh("%s", cmd));
	free(model);
}

static void __attribute__((destructor)) cleanup(void)
{
	if (tmpdir[0] && !getenv("OKVM_KEEP_TMP"))
		sh("rm -rf %s", tmpdir);
}

TEST_HARNESS_MAIN
