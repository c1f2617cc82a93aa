// SPDX-License-Identifier: GPL-2.0-only
/*
 * crash_test.c - a writer killed with SIGKILL at a random moment, many
 * times: qemu-img check must find no corruption (leaks are allowed) and
 * every write completed before the writer's last successful flush must
 * read back.
 *
 * The writer (a child process) runs a plan of random writes fixed by the
 * round's seed, flushing every few writes and appending the index of the
 * last write each flush covered to a journal. After the kill, the parent
 * replays the plan: a byte whose last write in the whole plan is covered
 * by the journal must hold that write's pattern; a byte no write of the
 * plan touches must hold what it held before; bytes a later, unflushed
 * write may have touched are not checked.
 *
 * Rounds: 100 per variant, divided by OKVM_IMAGE_SCALE (CI: 10).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "block/block.h"
#include "block/error.h"
#include "block/qcow2/qcow2.h"

#define DISK	(16u << 20)
#define WRITES	600
#define FLUSH_EVERY 8

struct plan_write {
	uint64_t off;
	uint64_t len;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* write I's byte at disk offset X */
static uint8_t pattern(uint64_t seed, unsigned int i, uint64_t x)
{
	return mix(seed ^ ((uint64_t)i << 40) ^ (x >> 3)) >> (8 * (x & 7));
}

static void make_plan(uint64_t seed, struct plan_write *p)
{
	uint64_t r = seed;
	unsigned int i;

	for (i = 0; i < WRITES; i++) {
		r = mix(r + i);
		p[i].len = 512 + (r % 4 ? r % 16384 : r % (512 << 10));
		p[i].off = mix(r) % (DISK - p[i].len);
	}
}

static int rounds(void)
{
	const char *s = getenv("OKVM_IMAGE_SCALE");
	int scale = s ? atoi(s) : 1;

	return 100 / (scale > 0 ? scale : 1);
}

static int sh(const char *cmd, const char *arg)
{
	char buf[1024];
	int st;

	snprintf(buf, sizeof(buf), cmd, arg);
	st = system(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* the child: the plan, flushes, the journal; runs until killed */
static void writer(const char *img, uint64_t seed, const char *journal)
{
	struct plan_write plan[WRITES];
	unsigned int i;
	struct blk *b;
	uint8_t *buf;
	uint64_t x;
	int jfd;

	make_plan(seed, plan);
	buf = malloc(1 << 20);	/* the longest write is 512 KiB + 511 */
	jfd = open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (!buf || jfd < 0 || blk_open(&b, img, NULL, 0))
		_exit(2);
	for (i = 0; i < WRITES; i++) {
		for (x = 0; x < plan[i].len; x++)
			buf[x] = pattern(seed, i, plan[i].off + x);
		if (blk_pwrite(b, buf, plan[i].len, plan[i].off))
			_exit(3);
		if (i % FLUSH_EVERY == FLUSH_EVERY - 1) {
			if (blk_flush(b))
				_exit(4);
			/* the page cache keeps this through SIGKILL */
			if (write(jfd, &i, sizeof(i)) != sizeof(i))
				_exit(5);
		}
	}
	blk_close(b);
	_exit(0);
}

/* the last flushed write, or -1 */
static int last_flushed(const char *journal)
{
	unsigned int i, last;
	int fd = open(journal, O_RDONLY), n = -1;

	if (fd < 0)
		return -1;
	while (read(fd, &i, sizeof(i)) == sizeof(i)) {
		last = i;
		n = last;
	}
	close(fd);
	return n;
}

static int verify(const char *img, uint64_t seed, int flushed,
		  const uint8_t *before)
{
	static struct plan_write plan[WRITES];
	static int16_t last[DISK];
	struct blk *b;
	uint8_t *got;
	uint64_t x;
	int i, bad = 0;

	make_plan(seed, plan);
	memset(last, 0xff, sizeof(last));	/* -1: never written */
	for (i = 0; i < WRITES; i++)
		for (x = plan[i].off; x < plan[i].off + plan[i].len; x++)
			last[x] = i;
	got = malloc(DISK);
	if (!got || blk_open(&b, img, NULL, BLK_RDONLY)) {
		fprintf(stderr, "# %s\n", blk_last_error());
		free(got);
		return -1;
	}
	if (blk_pread(b, got, DISK, 0))
		bad = -1;
	blk_close(b);
	for (x = 0; x < DISK && !bad; x++) {
		uint8_t want;

		if (last[x] > flushed)
			continue;
		want = last[x] < 0 ? before[x] : pattern(seed, last[x], x);
		if (got[x] != want) {
			fprintf(stderr, "# byte %llu: 0x%02x, want 0x%02x (write %d, flushed %d)\n",
				(unsigned long long)x, got[x], want, last[x],
				flushed);
			bad = -1;
		}
	}
	free(got);
	return bad;
}

FIXTURE(crash) {
	char dir[64];
	uint8_t *before;
};

FIXTURE_VARIANT(crash) {
	unsigned int cluster_bits;
	bool backing;
	bool snapshot;
};

FIXTURE_VARIANT_ADD(crash, plain_64k) { .cluster_bits = 16 };
FIXTURE_VARIANT_ADD(crash, overlay_4k) { .cluster_bits = 12, .backing = true };
FIXTURE_VARIANT_ADD(crash, snapshot_64k) { .cluster_bits = 16, .snapshot = true };

FIXTURE_SETUP(crash)
{
	strcpy(self->dir, "/tmp/okvm-crash-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	self->before = calloc(1, DISK);
	ASSERT_NE(NULL, self->before);
}

FIXTURE_TEARDOWN(crash)
{
	sh("rm -rf %s", self->dir);
	free(self->before);
}

TEST_F_TIMEOUT(crash, sigkill_rounds, 1200)
{
	struct qcow2_create_opts o = {
		.size = DISK, .cluster_bits = variant->cluster_bits,
		.refcount_order = 4, .version = 3,
	};
	char img[128], base[128], journal[128], cmd[400];
	int n = rounds(), r, flushed, st, check;
	int killed = 0, some_flushed = 0, leaked = 0;
	/* the kill's latest moment: shrinks to fit a fast machine (below) */
	long max_ms = 600;
	struct timespec delay, t0, t1;
	uint64_t seed;
	pid_t pid;

	snprintf(img, sizeof(img), "%s/crash.qcow2", self->dir);
	snprintf(base, sizeof(base), "%s/base.raw", self->dir);
	snprintf(journal, sizeof(journal), "%s/journal", self->dir);
	srandom(time(NULL) ^ getpid());
	/*
	 * n rounds; up to n more while no writer was killed before it was
	 * done, so that an idle, fast machine still tests a kill mid-plan.
	 */
	for (r = 0; r < n || (!killed && r < 2 * n); r++) {
		seed = ((uint64_t)random() << 31) ^ random();
		memset(self->before, 0, DISK);
		if (variant->backing) {
			int fd = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			uint64_t x;

			for (x = 0; x < DISK; x++)
				self->before[x] = mix(seed ^ x) >> 7;
			ASSERT_EQ(DISK, write(fd, self->before, DISK));
			close(fd);
			o.backing_file = "base.raw";
			o.backing_format = "raw";
		}
		ASSERT_EQ(0, qcow2_create(img, &o));
		if (variant->snapshot) {
			/* data shared with a snapshot: every write copies */
			snprintf(cmd, sizeof(cmd),
				 "qemu-io -f qcow2 -c 'write -P 0x3c 0 %u' %s >/dev/null && qemu-img snapshot -c s %s",
				 DISK, img, img);
			ASSERT_EQ(0, sh("%s", cmd));
			memset(self->before, 0x3c, DISK);
		}
		/* a writer killed before it opens the journal must not find
		 * the last round's there */
		unlink(journal);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			writer(img, seed, journal);
		/*
		 * 2 to max_ms ms in: before, during and after the first
		 * flushes. A writer that finished its plan before its kill
		 * took less than that delay: later kills come within 90% of
		 * it, so the range closes in on the plan's length here.
		 */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		delay.tv_sec = 0;
		delay.tv_nsec = (2 + random() % max_ms) * 1000000l;
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		if (WIFEXITED(st)) {
			long ms;

			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			     (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (ms * 9 / 10 < max_ms)
				max_ms = ms * 9 / 10 > 1 ? ms * 9 / 10 : 1;
		}
		/* a writer that failed on its own is a failure */
		if (WIFEXITED(st))
			ASSERT_EQ(0, WEXITSTATUS(st));
		killed += WIFSIGNALED(st);
		flushed = last_flushed(journal);
		some_flushed += flushed >= 0;
		snprintf(cmd, sizeof(cmd), "qemu-img check %s >/dev/null 2>&1", img);
		check = sh("%s", cmd);
		leaked += check == 3;
		if (check != 0 && check != 3) {
			sh("qemu-img check %s >&2", img);
			ASSERT_EQ(0, check);
		}
		ASSERT_EQ(0, verify(img, seed, flushed, self->before));
	}
	TH_LOG("%d rounds (kills within %ld ms): %d killed mid-plan, %d after a flush, %d with leaks",
	       r, max_ms, killed, some_flushed, leaked);
	/* a loop that never kills a writer with flushed data tests nothing */
	ASSERT_LT(0, killed);
	ASSERT_LT(0, some_flushed);
}

TEST_HARNESS_MAIN
