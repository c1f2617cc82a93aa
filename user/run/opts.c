// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm run's command line. Option names follow kvmtool's lkvm run where
 * it has one (-k/--kernel, -i/--initrd, -p/--params, -m/--mem, -c/--cpus,
 * --dev); the grammar is in Documentation/launcher.rst.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

void run_usage(void *file)
{
	fputs("usage: okvm run -k KERNEL [-i INITRD] [-p PARAMS] [-m SIZE] [-c CPUS]\n"
	      "                [--dev PATH] [--boot-timer]\n"
	      "\n"
	      "Boot a Linux bzImage with COM1 (ttyS0) on this terminal.\n"
	      "\n"
	      "  -k, --kernel KERNEL   the bzImage (a vmlinuz file) to boot\n"
	      "  -i, --initrd INITRD   initramfs or initrd image\n"
	      "  -p, --params PARAMS   kernel command line, after okvm's console=ttyS0\n"
	      "  -m, --mem SIZE        guest RAM: MiB, or with a K, M, G suffix (default 512M)\n"
	      "  -c, --cpus CPUS       vCPUs, one thread each (default 1)\n"
	      "      --dev PATH        the KVM device (default: /dev/okvm if it has the\n"
	      "                        in-kernel irqchip, else /dev/kvm)\n"
	      "      --boot-timer      print the time from start to the guest's first\n"
	      "                        write to I/O port 0x3f0\n"
	      "  -h, --help            this text\n"
	      "\n"
	      "Console: the terminal is in raw mode while the guest runs; Ctrl-A x\n"
	      "quits, Ctrl-A Ctrl-A sends one Ctrl-A. With stdin not a terminal, input\n"
	      "is passed through as it is and no escape is recognised.\n"
	      "\n"
	      "Exit status:\n"
	      "  0    the guest powered off or rebooted\n"
	      "  1    the guest crashed the VM (triple fault, internal error; a\n"
	      "       register dump is printed) or a device failed\n"
	      "  2    bad options or the VM could not be set up (the message says why)\n"
	      "  3    quit from the console (Ctrl-A x)\n"
	      "  130, 143  stopped by SIGINT, SIGTERM\n"
	      "\n"
	      "See Documentation/launcher.rst.\n", file);
}

/* kvmtool's -m is MiB; a K, M or G suffix says otherwise */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 20;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || v > (1ULL << (63 - shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int run_parse_opts(int argc, char **argv, struct run_opts *o,
		   char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "params", required_argument, NULL, 'p' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "dev", required_argument, NULL, 'D' },
		{ "boot-timer", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	unsigned long n;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = 512 * MIB;
	o->cpus = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:p:m:c:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'p':
			o->params = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &o->mem) || o->mem % MIB) {
				snprintf(err, errlen, "-m takes a size in whole MiB (512, 512M, 2G), not '%s'",
					 optarg);
				return -1;
			}
			break;
		case 'c':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' ||
			    !n || n > RUN_MAX_CPUS) {
				snprintf(err, errlen, "-c takes a number of vCPUs from 1 to %d, not '%s'",
					 RUN_MAX_CPUS, optarg);
				return -1;
			}
			o->cpus = n;
			break;
		case 'D':
			o->dev = optarg;
			break;
		case 'T':
			o->boot_timer = 1;
			break;
		case 'h':
			return 1;
		case ':':
			snprintf(err, errlen, "%s needs a value (okvm run --help)",
				 argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen, "unknown option '%s' (okvm run --help)",
				 argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (okvm run --help)",
			 argv[optind]);
		return -1;
	}
	if (!o->kernel) {
		snprintf(err, errlen, "no kernel: give one with -k KERNEL (okvm run --help)");
		return -1;
	}
	if (o->mem < 32 * MIB) {
		snprintf(err, errlen, "-m %llu MiB is too small; a Linux guest needs at least 32M",
			 (unsigned long long)(o->mem >> 20));
		return -1;
	}
	return 0;
}
