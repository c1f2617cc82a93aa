// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk_bench DEV SECONDS - the disk half of scripts/vhost-bench, run in
 * the launcher's test guest on its virtio-blk disk: O_DIRECT reads only,
 * so every read is a request to the device, never the guest's page cache.
 *
 *   randread4k   4 KiB reads at random 4 KiB-aligned offsets, one at a
 *                time (queue depth 1), and with 4 threads (depth 4)
 *   seqread128k  128 KiB reads from offset 0 on, wrapping at the end
 *
 * Each runs for SECONDS and prints one line,
 *   okvm-bench: blk randread4k qd=1 iops=N
 *   okvm-bench: blk seqread128k qd=1 mibps=N.N
 * or "okvm-bench: blk failed: ..." when a read fails. Static, no libc
 * beyond pthreads: it goes into the guest's initramfs (mkguest.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	8

struct job {
	int fd;
	uint64_t size;		/* bytes of the disk */
	size_t bs;
	int random;
	double seconds;
	uint64_t seed;
	uint64_t ops;
	int err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64: offsets, not cryptography */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *run(void *arg)
{
	struct job *j = arg;
	uint64_t blocks = j->size / j->bs, off = 0;
	double end = now() + j->seconds;
	void *buf;

	if (posix_memalign(&buf, 4096, j->bs)) {
		j->err = ENOMEM;
		return NULL;
	}
	while (!j->err) {
		if (j->random)
			off = next_rand(&j->seed) % blocks * j->bs;
		if (pread(j->fd, buf, j->bs, off) != (ssize_t)j->bs) {
			j->err = errno ? errno : EIO;
			break;
		}
		j->ops++;
		off += j->bs;
		if (off + j->bs > j->size)
			off = 0;
		/* the clock every 16 reads: cheap next to a request */
		if (!(j->ops & 15) && now() >= end)
			break;
	}
	free(buf);
	return NULL;
}

/* @nthreads jobs at once; the total operations per second, -1 on error */
static double measure(int fd, uint64_t size, size_t bs, int random,
		    int nthreads, double seconds)
{
	struct job jobs[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	uint64_t ops = 0;
	double t0, t;
	int i;

	memset(jobs, 0, sizeof(jobs));
	t0 = now();
	for (i = 0; i < nthreads; i++) {
		jobs[i].fd = fd;
		jobs[i].size = size;
		jobs[i].bs = bs;
		jobs[i].random = random;
		jobs[i].seconds = seconds;
		jobs[i].seed = 0x9e3779b97f4a7c15ULL * (i + 1);
		if (pthread_create(&tid[i], NULL, run, &jobs[i]))
			return -1;
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		if (jobs[i].err) {
			printf("okvm-bench: blk failed: %s\n", strerror(jobs[i].err));
			return -1;
		}
		ops += jobs[i].ops;
	}
	t = now() - t0;
	return ops / t;
}

int main(int argc, char **argv)
{
	uint64_t size;
	double secs, r;
	int fd;

	secs = argc == 3 ? atof(argv[2]) : 0;
	if (secs <= 0) {
		fprintf(stderr, "usage: blk_bench DEV SECONDS\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || size < (1 << 20)) {
		printf("okvm-bench: blk failed: %s: %s\n", argv[1],
		       fd < 0 ? strerror(errno) : "not a disk of 1 MiB or more");
		return 1;
	}
	r = measure(fd, size, 4096, 1, 1, secs);
	if (r < 0)
		return 1;
	printf("okvm-bench: blk randread4k qd=1 iops=%.0f\n", r);
	r = measure(fd, size, 4096, 1, 4, secs);
	if (r < 0)
		return 1;
	printf("okvm-bench: blk randread4k qd=4 iops=%.0f\n", r);
	r = measure(fd, size, 128 << 10, 0, 1, secs);
	if (r < 0)
		return 1;
	printf("okvm-bench: blk seqread128k qd=1 mibps=%.1f\n", r * 128 / 1024);
	return 0;
}
