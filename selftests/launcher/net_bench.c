// SPDX-License-Identifier: GPL-2.0-only
/*
 * net_bench - the network half of scripts/vhost-bench: TCP throughput
 * from the launcher's test guest to L1 over its virtio-net card.
 *
 *   net_bench sink PORT            (in L1) accept connections one after
 *                                  the other, read each to its end (or
 *                                  20 s of silence), close
 *   net_bench send HOST PORT SECS  (in the guest) send 64 KiB writes for
 *                                  SECS, shut the connection down and wait
 *                                  until the sink has read everything
 *                                  (its close), then print
 *                                  okvm-bench: net tcp-tx mbitps=N.N
 *
 * Timing the sender up to the sink's close counts every byte delivered,
 * none still queued in a socket buffer. Static: it goes into the guest's
 * initramfs (mkguest.sh) and next to okvm in L1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	65536

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_sink(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	struct timeval idle = { .tv_sec = 20 };
	static char buf[CHUNK];
	int one = 1, s, c;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4)) {
		perror("net_bench: sink");
		return 1;
	}
	for (;;) {
		c = accept(s, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("net_bench: accept");
			return 1;
		}
		/* a sender that died mid-transfer must not block the next */
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
}

static int send_for(const char *host, int port, double secs)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	static char buf[CHUNK];
	unsigned long long bytes = 0;
	double t0, end, t;
	ssize_t n;
	int s;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		printf("okvm-bench: net failed: %s is not an IPv4 address\n", host);
		return 1;
	}
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
		printf("okvm-bench: net failed: connect: %s\n", strerror(errno));
		return 1;
	}
	memset(buf, 0x5a, sizeof(buf));
	t0 = now();
	end = t0 + secs;
	while (now() < end) {
		n = write(s, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			printf("okvm-bench: net failed: write: %s\n", strerror(errno));
			return 1;
		}
		bytes += n;
	}
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof(buf)) > 0)
		;
	t = now() - t0;
	printf("okvm-bench: net tcp-tx mbitps=%.1f bytes=%llu secs=%.2f\n",
	       bytes * 8 / t / 1e6, bytes, t);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "sink"))
		return run_sink(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "send") && atof(argv[4]) > 0)
		return send_for(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: net_bench sink PORT | send HOST PORT SECONDS\n");
	return 2;
}
