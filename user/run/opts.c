// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm run's command line. Option names follow kvmtool's lkvm run where
 * it has one (-k/--kernel, -i/--initrd, -p/--params, -m/--mem, -c/--cpus,
 * -d/--disk, -n/--network, --rng, --dev); the grammar is in
 * Documentation/launcher.rst.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

void run_usage(void *file)
{
	fputs("usage: okvm run -k KERNEL [-i INITRD] [-p PARAMS] [-m SIZE] [-c CPUS]\n"
	      "                [-d FILE[,ro][,cache=none][,key-file=PATH][,vhost[=PATH][,queues=N]]]...\n"
	      "                [--rng] [-n tap[=NAME][,bridge=BR][,guest_mac=MAC][,vhost[=PATH]]]...\n"
	      "                [--dev PATH] [--boot-timer]\n"
	      "\n"
	      "Boot a Linux bzImage with COM1 (ttyS0) on this terminal.\n"
	      "\n"
	      "  -k, --kernel KERNEL   the bzImage (a vmlinuz file) to boot\n"
	      "  -i, --initrd INITRD   initramfs or initrd image\n"
	      "  -p, --params PARAMS   kernel command line, after okvm's console=ttyS0\n"
	      "  -m, --mem SIZE        guest RAM: MiB, or with a K, M, G suffix (default 512M)\n"
	      "  -c, --cpus CPUS       vCPUs, one thread each (default 1)\n"
	      "  -d, --disk FILE[,ro][,cache=none][,key-file=PATH][,vhost[=PATH][,queues=N]]\n"
	      "                        a virtio-blk disk (/dev/vda, vdb, ... in order): a\n"
	      "                        raw or qcow2 image or a block device; ro: read-only,\n"
	      "                        cache=none: O_DIRECT, key-file: the passphrase (the\n"
	      "                        file's bytes) of the encrypted images of its backing\n"
	      "                        chain (up to 8 disks); vhost: served in the kernel\n"
	      "                        by " RUN_VHOST_BLK " (or PATH), raw images and\n"
	      "                        block devices only, with queues=N request queues\n"
	      "                        (1-4; default one per vCPU)\n"
	      "  -n, --network tap[=NAME][,bridge=BR][,guest_mac=MAC][,vhost[=PATH]]\n"
	      "                        a virtio-net card on a new tap device (named NAME),\n"
	      "                        attached to the existing bridge BR (up to 4); vhost:\n"
	      "                        served in the kernel by " RUN_VHOST_NET ",\n"
	      "                        vhost=/dev/vhost-net: by Linux's vhost_net\n"
	      "      --rng             a virtio-rng device fed by getrandom()\n"
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
	      "SIGUSR2 prints each vCPU's registers, events and local APIC state\n"
	      "on stderr; the guest runs on.\n"
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

/* "vhost" (the default node @dflt) or "vhost=PATH" into @out; 1 if it is one */
static int parse_vhost(const char *w, const char *dflt, char *out,
		       const char *opt, char *err, size_t errlen)
{
	if (!strcmp(w, "vhost")) {
		snprintf(out, RUN_VHOST_MAX, "%s", dflt);
		return 1;
	}
	if (strncmp(w, "vhost=", 6))
		return 0;
	if (w[6] != '/' || strlen(w + 6) >= RUN_VHOST_MAX) {
		snprintf(err, errlen, "%s vhost=PATH: '%s' is not a device path",
			 opt, w + 6);
		return -1;
	}
	strcpy(out, w + 6);
	return 1;
}

/* the next comma-separated word of @s into @w; the rest after it */
static const char *word(const char *s, char *w, size_t wlen, bool *toolong)
{
	size_t n = strcspn(s, ",");

	*toolong = n >= wlen;
	snprintf(w, wlen, "%.*s", (int)(n < wlen ? n : wlen - 1), s);
	return s[n] ? s + n + 1 : NULL;
}

int run_parse_disk(const char *s, struct disk_opt *d, char *err,
		   size_t errlen)
{
	char w[RUN_PATH_MAX];
	const char *rest;
	bool toolong;
	int r;

	memset(d, 0, sizeof(*d));
	rest = word(s, d->path, sizeof(d->path), &toolong);
	if (!d->path[0] || toolong) {
		snprintf(err, errlen, "-d takes FILE[,ro][,cache=none][,key-file=PATH][,vhost[=PATH][,queues=N]], not '%s'",
			 s);
		return -1;
	}
	while (rest) {
		rest = word(rest, w, sizeof(w), &toolong);
		r = toolong ? 0 : parse_vhost(w, RUN_VHOST_BLK, d->vhost, "-d", err,
					      errlen);
		if (r < 0)
			return -1;
		if (r)
			continue;
		if (!strcmp(w, "ro")) {
			d->ro = 1;
		} else if (!strcmp(w, "cache=none")) {
			d->nocache = 1;
		} else if (!strncmp(w, "key-file=", 9) && w[9] && !toolong) {
			snprintf(d->key_file, sizeof(d->key_file), "%s", w + 9);
		} else if (!strncmp(w, "queues=", 7)) {
			if (w[7] < '1' || w[7] > '0' + RUN_BLK_QUEUES_MAX || w[8]) {
				snprintf(err, errlen, "-d %s: '%s': queues takes 1 to %d",
					 d->path, w, RUN_BLK_QUEUES_MAX);
				return -1;
			}
			d->queues = w[7] - '0';
		} else {
			snprintf(err, errlen, "-d %s: unknown disk option '%s' (ro, cache=none, key-file=PATH, vhost, queues=1..%d)",
				 d->path, w, RUN_BLK_QUEUES_MAX);
			return -1;
		}
	}
	if (d->queues && !d->vhost[0]) {
		snprintf(err, errlen, "-d %s: queues= is for vhost disks: add ,vhost", d->path);
		return -1;
	}
	return 0;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned int b[6], i;
	char end;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	/* a unicast address: the group bit of the first octet clear */
	return mac[0] & 1 ? -1 : 0;
}

int run_parse_net(const char *s, struct net_opt *n, char *err,
		  size_t errlen)
{
	char w[RUN_VHOST_MAX + 8];
	const char *rest;
	bool toolong;
	int r;

	memset(n, 0, sizeof(*n));
	rest = word(s, w, sizeof(w), &toolong);
	if (!strncmp(w, "tap=", 4) && !toolong) {
		if (!w[4] || strlen(w + 4) >= sizeof(n->ifname) ||
		    strchr(w + 4, '/') || strchr(w + 4, ' ')) {
			snprintf(err, errlen, "-n tap=NAME: '%s' is not an interface name (1-15 characters)",
				 w + 4);
			return -1;
		}
		strcpy(n->ifname, w + 4);
	} else if (strcmp(w, "tap")) {
		snprintf(err, errlen, "-n takes tap[=NAME][,bridge=BR][,guest_mac=MAC][,vhost[=PATH]], not '%s'",
			 s);
		return -1;
	}
	while (rest) {
		rest = word(rest, w, sizeof(w), &toolong);
		r = toolong ? 0 : parse_vhost(w, RUN_VHOST_NET, n->vhost, "-n", err,
					      errlen);
		if (r < 0)
			return -1;
		if (r)
			continue;
		if (!strncmp(w, "bridge=", 7) && !toolong) {
			if (!w[7] || strlen(w + 7) >= sizeof(n->bridge)) {
				snprintf(err, errlen, "-n bridge=BR: '%s' is not an interface name",
					 w + 7);
				return -1;
			}
			strcpy(n->bridge, w + 7);
		} else if (!strncmp(w, "guest_mac=", 10) && !toolong) {
			if (parse_mac(w + 10, n->mac)) {
				snprintf(err, errlen, "-n guest_mac=%s: not a unicast MAC (xx:xx:xx:xx:xx:xx)",
					 w + 10);
				return -1;
			}
			n->has_mac = 1;
		} else {
			snprintf(err, errlen, "-n: unknown network option '%s' (bridge=, guest_mac=, vhost)",
				 w);
			return -1;
		}
	}
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
		{ "disk", required_argument, NULL, 'd' },
		{ "network", required_argument, NULL, 'n' },
		{ "rng", no_argument, NULL, 'R' },
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
	while ((c = getopt_long(argc, argv, ":k:i:p:m:c:d:n:h", longopts,
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
		case 'd':
			if (o->nr_disks == RUN_MAX_DISKS) {
				snprintf(err, errlen, "at most %d disks (-d)", RUN_MAX_DISKS);
				return -1;
			}
			if (run_parse_disk(optarg, &o->disk[o->nr_disks], err, errlen))
				return -1;
			o->nr_disks++;
			break;
		case 'n':
			if (o->nr_nets == RUN_MAX_NETS) {
				snprintf(err, errlen, "at most %d networks (-n)", RUN_MAX_NETS);
				return -1;
			}
			if (run_parse_net(optarg, &o->net[o->nr_nets], err, errlen))
				return -1;
			o->nr_nets++;
			break;
		case 'R':
			o->rng = 1;
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
