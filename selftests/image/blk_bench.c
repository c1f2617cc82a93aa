// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk_bench.c - throughput of the block layer (user/block) through its
 * I/O thread pool: a benchmark, not a test (figures, no verdict).
 *
 *   blk_bench [-t THREADS] [-d DEPTH] [-T SECONDS] [-n] IMAGE
 *
 * runs, each for SECONDS: 4 KiB random reads and writes, 4 KiB and 1 MiB
 * sequential reads and writes (the sequential ones are what qemu-img bench
 * measures), DEPTH requests in flight; -n opens with cache=none (O_DIRECT).
 * One line per case: "bench: CASE iops=N mib_s=N".
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/block.h"
#include "block/error.h"
#include "block/queue.h"

struct run {
	struct blk_queue *q;
	uint64_t size, bs, next, rng;
	bool random, stop;
	uint64_t done;
	int failed;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned int in_flight;
};

struct req {
	struct blk_req r;
	struct run *run;
};

static uint64_t pick(struct run *run)
{
	uint64_t off;

	if (run->random) {
		run->rng ^= run->rng << 13;
		run->rng ^= run->rng >> 7;
		run->rng ^= run->rng << 17;
		return (run->rng % (run->size / run->bs)) * run->bs;
	}
	off = run->next;
	run->next = (run->next + run->bs) % (run->size / run->bs * run->bs);
	return off;
}

static void done(struct blk_req *r, int ret)
{
	struct req *q = (struct req *)r;
	struct run *run = q->run;

	pthread_mutex_lock(&run->lock);
	run->done++;
	if (ret)
		run->failed = ret;
	if (run->stop || run->failed) {
		if (!--run->in_flight)
			pthread_cond_signal(&run->idle);
		pthread_mutex_unlock(&run->lock);
		return;
	}
	r->off = pick(run);
	pthread_mutex_unlock(&run->lock);
	blk_queue_submit(run->q, r);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench(struct blk *b, struct blk_queue *q, const char *name,
		 bool write, bool random, uint64_t bs, unsigned int depth,
		 double seconds)
{
	struct run run = {
		.q = q, .size = b->size, .bs = bs, .random = random,
		.rng = 88172645463325252ull,
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.idle = PTHREAD_COND_INITIALIZER,
	};
	struct req *reqs = calloc(depth, sizeof(*reqs));
	struct timespec tick = { 0, 50 * 1000000 };
	double t0, t;
	unsigned int i;

	if (!reqs)
		return -1;
	run.in_flight = depth;
	t0 = now();
	for (i = 0; i < depth; i++) {
		if (posix_memalign(&reqs[i].r.buf, 4096, bs))
			return -1;
		memset(reqs[i].r.buf, 0x5a + i, bs);
		reqs[i].r.op = write ? BLK_REQ_WRITE : BLK_REQ_READ;
		reqs[i].r.len = bs;
		reqs[i].r.done = done;
		reqs[i].run = &run;
		pthread_mutex_lock(&run.lock);
		reqs[i].r.off = pick(&run);
		pthread_mutex_unlock(&run.lock);
		blk_queue_submit(q, &reqs[i].r);
	}
	while (now() - t0 < seconds)
		nanosleep(&tick, NULL);
	pthread_mutex_lock(&run.lock);
	run.stop = true;
	while (run.in_flight)
		pthread_cond_wait(&run.idle, &run.lock);
	pthread_mutex_unlock(&run.lock);
	t = now() - t0;
	if (write)
		blk_flush(b);
	if (run.failed) {
		printf("bench: %s failed: %s\n", name, blk_last_error());
	} else {
		printf("bench: %-12s iops=%.0f mib_s=%.1f\n", name,
		       run.done / t, run.done * (double)bs / t / (1 << 20));
	}
	for (i = 0; i < depth; i++)
		free(reqs[i].r.buf);
	free(reqs);
	fflush(stdout);
	return run.failed;
}

int main(int argc, char **argv)
{
	unsigned int threads = 4, depth = 16, flags = 0;
	double seconds = 3;
	struct blk_queue *q;
	struct blk *b;
	int c;

	while ((c = getopt(argc, argv, "t:d:T:n")) != -1) {
		switch (c) {
		case 't':
			threads = atoi(optarg);
			break;
		case 'd':
			depth = atoi(optarg);
			break;
		case 'T':
			seconds = atof(optarg);
			break;
		case 'n':
			flags |= BLK_NOCACHE;
			break;
		default:
			fprintf(stderr, "usage: blk_bench [-t THREADS] [-d DEPTH] [-T SECONDS] [-n] IMAGE\n");
			return 2;
		}
	}
	if (optind != argc - 1 || !threads || !depth) {
		fprintf(stderr, "usage: blk_bench [-t THREADS] [-d DEPTH] [-T SECONDS] [-n] IMAGE\n");
		return 2;
	}
	if (blk_open(&b, argv[optind], NULL, flags) ||
	    blk_queue_create(&q, b, threads)) {
		fprintf(stderr, "blk_bench: %s\n", blk_last_error());
		return 1;
	}
	bench(b, q, "rand-read-4k", false, true, 4096, depth, seconds);
	bench(b, q, "rand-write-4k", true, true, 4096, depth, seconds);
	bench(b, q, "seq-read-4k", false, false, 4096, depth, seconds);
	bench(b, q, "seq-write-4k", true, false, 4096, depth, seconds);
	bench(b, q, "seq-read-1m", false, false, 1 << 20, depth, seconds);
	bench(b, q, "seq-write-1m", true, false, 1 << 20, depth, seconds);
	blk_queue_destroy(q);
	blk_close(b);
	return 0;
}
