// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmtest-exit - end the L1 test VM from inside, handing the host a status
 *
 * Runs as the last step of the guest's /init (scripts/vmtest.d/init), after
 * the "VMTEST-EXIT: <rc>" marker line has been written to the console:
 *
 *	vmtest-exit qemu RC	writes RC to QEMU's isa-debug-exit device
 *				(-device isa-debug-exit,iobase=0xf4,iosize=4);
 *				QEMU exits at once with status (RC << 1) | 1.
 *	vmtest-exit bochs RC	writes "Shutdown" to Bochs' port 0x8900, which
 *				makes Bochs quit; the status travels only in
 *				the marker line.
 *
 * Both emulators send serial output at the emulated baud rate, so the
 * console is drained first (tcdrain); quitting earlier loses the last lines,
 * the marker among them. Statically linked: the initramfs has no libc.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#define QEMU_DEBUG_EXIT_PORT	0xf4
#define BOCHS_SHUTDOWN_PORT	0x8900

static void drain_console(void)
{
	int fd;

	fflush(stdout);
	tcdrain(STDOUT_FILENO);
	fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (fd >= 0) {
		tcdrain(fd);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	const char *p;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: vmtest-exit qemu|bochs RC\n");
		return 2;
	}
	rc = atoi(argv[2]);
	drain_console();
	/* Port 0x8900 is above the 0x3ff that ioperm() can open. */
	if (iopl(3)) {
		perror("vmtest-exit: iopl");
		return 1;
	}
	if (!strcmp(argv[1], "qemu")) {
		outb(rc & 0xff, QEMU_DEBUG_EXIT_PORT);
	} else if (!strcmp(argv[1], "bochs")) {
		for (p = "Shutdown"; *p; p++)
			outb(*p, BOCHS_SHUTDOWN_PORT);
	} else {
		fprintf(stderr, "vmtest-exit: unknown test bed %s\n", argv[1]);
		return 2;
	}
	fprintf(stderr, "vmtest-exit: still running after the exit request\n");
	return 1;
}
