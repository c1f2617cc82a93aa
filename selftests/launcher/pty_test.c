// SPDX-License-Identifier: GPL-2.0-only
/*
 * pty_test OKVM ARGS... - okvm run on a terminal (boot.sh, inside L1):
 * runs the command on a new pseudo-terminal, waits for the test guest's
 * "okvm-guest: up", checks that the terminal is raw while the guest runs,
 * types Ctrl-A x, and checks exit status 3 and the terminal's modes
 * restored. Prints "ok"/"not ok" lines for boot.sh's TAP; exits 0 when
 * all held.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int failed;

static void check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "PTY-OK" : "PTY-NOT-OK", what);
	failed |= !cond;
}

int main(int argc, char **argv)
{
	struct termios before, during, after;
	char buf[4096], seen[65536];
	size_t len = 0;
	int master, slave, status, up = 0;
	time_t end = time(NULL) + 240;
	pid_t pid;
	ssize_t n;

	if (argc < 2) {
		fprintf(stderr, "usage: pty_test OKVM ARGS...\n");
		return 2;
	}
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0) {
		perror("forkpty");
		return 2;
	}
	if (!pid) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	/* our own handle on the terminal, to read its modes */
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	if (slave < 0 || tcgetattr(slave, &before)) {
		perror("pty");
		return 2;
	}
	while (!up && time(NULL) < end) {
		struct pollfd p = { .fd = master, .events = POLLIN };

		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = read(master, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (len + n < sizeof(seen)) {
			memcpy(seen + len, buf, n);
			len += n;
			seen[len] = 0;
		}
		up = !!strstr(seen, "okvm-guest: up");
	}
	check(up, "the guest came up on the terminal");
	tcgetattr(slave, &during);
	check(!(during.c_lflag & (ICANON | ECHO | ISIG)),
	      "the terminal is raw while the guest runs");
	sleep(1);
	if (write(master, "\001x", 2) != 2)
		perror("write");
	/* drain until the child exits */
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (time(NULL) > end + 30) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		if (poll(&p, 1, 200) > 0 && read(master, buf, sizeof(buf)) < 0 &&
		    errno != EINTR && errno != EAGAIN)
			usleep(100000);
	}
	check(WIFEXITED(status) && WEXITSTATUS(status) == 3,
	      "Ctrl-A x quits with status 3");
	tcgetattr(slave, &after);
	check(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag &&
	      after.c_oflag == before.c_oflag,
	      "the terminal's modes are restored");
	return failed;
}
