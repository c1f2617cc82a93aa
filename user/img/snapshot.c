// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm img snapshot [-f FMT] [-l | -c NAME | -a NAME | -d NAME] FILE
 *
 * Internal snapshots of a qcow2 image (-l lists them as qemu-img does).
 * A snapshot is found by its ID first, then by its name.
 */
#include <endian.h>
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "../block/qcow2/qcow2.h"
#include "img.h"

void img_snapshot_list(struct qcow2 *q)
{
	char date[32], clock[32], size[32], icount[24];
	struct tm tm;
	time_t t;
	uint64_t ms;
	uint32_t i;

	printf("Snapshot list:\n");
	printf("%-9s %-16s %8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
	       "VM CLOCK", "ICOUNT");
	for (i = 0; i < q->nr_snapshots; i++) {
		const struct qcow2_snapshot *s = &q->snapshots[i];

		t = s->date_sec;
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		ms = s->vm_clock_nsec / 1000000;
		snprintf(clock, sizeof(clock), "%02llu:%02llu:%02llu.%03llu",
			 (unsigned long long)(ms / 3600000),
			 (unsigned long long)(ms / 60000 % 60),
			 (unsigned long long)(ms / 1000 % 60),
			 (unsigned long long)(ms % 1000));
		img_size_str(s->vm_state_size, size, sizeof(size));
		icount[0] = '\0';
		if (s->extra_size >= 24)
			snprintf(icount, sizeof(icount), "%llu",
				 (unsigned long long)be64toh(*(uint64_t *)((char *)s->extra + 16)));
		printf("%-9s %-16s %8s%20s%13s%11s\n", s->id, s->name, size,
		       date, clock, icount);
	}
}

int img_snapshot(int argc, char **argv)
{
	const char *fmt = NULL, *name = NULL;
	struct qcow2 *q;
	struct blk *b;
	int c, op = 0, ret;

	while ((c = getopt(argc, argv, "f:lc:a:d:qU")) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'l':
		case 'c':
		case 'a':
		case 'd':
			if (op)
				return img_err("snapshot: one of -l, -c, -a, -d");
			op = c;
			name = optarg;
			break;
		case 'q':
		case 'U':
			break;
		default:
			return img_err("snapshot: usage: snapshot [-f FMT] [-l | -c NAME | -a NAME | -d NAME] FILE");
		}
	}
	if (optind != argc - 1)
		return img_err("snapshot: expecting one file name");
	if (!op)
		op = 'l';
	if (blk_open(&b, argv[optind], fmt, op == 'l' ? BLK_RDONLY : 0))
		return img_blk_err();
	if (!img_is_qcow2(b)) {
		img_err("%s: format %s has no internal snapshots",
			argv[optind], b->ops->format);
		blk_close(b);
		return IMG_EXIT_ERROR;
	}
	q = to_qcow2(b);
	ret = 0;
	pthread_mutex_lock(&q->lock);
	switch (op) {
	case 'l':
		img_snapshot_list(q);
		break;
	case 'c':
		ret = qcow2_snapshot_create(q, name);
		break;
	case 'a':
		ret = qcow2_snapshot_apply(q, name);
		break;
	case 'd':
		ret = qcow2_snapshot_delete(q, name);
		break;
	}
	pthread_mutex_unlock(&q->lock);
	blk_close(b);
	return ret ? img_blk_err() : IMG_EXIT_OK;
}
