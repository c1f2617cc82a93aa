// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_qcow2.c - a libFuzzer target for the qcow2 parsers: the input is an
 * image file. It is opened read-only without its backing chain (the
 * header, extensions, L1 table, refcount table and snapshot table are
 * parsed and checked), its first clusters are read (L2 tables, compressed
 * clusters) and it is checked (every table walked). Any crash, leak or
 * undefined behaviour is a finding; errors are the expected outcome.
 *
 *   make -C selftests/image fuzz IMAGE_FUZZ_SECONDS=60
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"
#include "block/error.h"
#include "block/qcow2/qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[1 << 16];
	struct qcow2_check_result r;
	char name[64];
	struct blk *b;
	uint64_t off;
	int fd;

	fd = memfd_create("fuzz.qcow2", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	blk_clear_error();
	if (!blk_open(&b, name, "qcow2", BLK_RDONLY | BLK_NO_BACKING)) {
		for (off = 0; off < b->size && off < (4u << 20);
		     off += sizeof(buf) - 512)
			if (blk_pread(b, buf, b->size - off < sizeof(buf) ?
				      b->size - off : sizeof(buf), off))
				break;
		blk_clear_error();
		qcow2_check(to_qcow2(b), 0, &r);
		blk_close(b);
	}
	blk_clear_error();
	close(fd);
	return 0;
}
