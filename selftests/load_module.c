// SPDX-License-Identifier: GPL-2.0-only
/*
 * load_module FILE [PARAM...] - load a kernel module with exactly one
 * finit_module() call and print why it failed, as strerror() says.
 *
 * busybox insmod falls back to init_module() when finit_module() fails, so
 * a module that refuses to load would run its init twice and print its
 * refusal twice; the module tests count those lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char params[1024] = "";
	size_t used = 0;
	int fd, i;

	if (argc < 2) {
		fprintf(stderr, "usage: load_module FILE [PARAM...]\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		int n = snprintf(params + used, sizeof(params) - used, "%s%s",
				 used ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(params) - used) {
			fprintf(stderr, "load_module: parameters too long\n");
			return 2;
		}
		used += n;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	if (syscall(SYS_finit_module, fd, params, 0)) {
		printf("load_module: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	return 0;
}
