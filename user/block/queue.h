/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Several requests in flight on one image: a pool of I/O threads that run
 * the synchronous block ops and call each request's done() from the
 * thread that ran it. A flush covers every request completed before it
 * was submitted, which is what virtio-blk's VIRTIO_BLK_T_FLUSH asks.
 */
#ifndef OKVM_BLOCK_QUEUE_H
#define OKVM_BLOCK_QUEUE_H

#include <stdint.h>

#include "block.h"

enum blk_req_op {
	BLK_REQ_READ,
	BLK_REQ_WRITE,
	BLK_REQ_FLUSH,
	BLK_REQ_DISCARD,
	BLK_REQ_WRITE_ZEROES,
};

struct blk_req {
	enum blk_req_op op;
	void *buf;
	uint64_t len;
	uint64_t off;
	void (*done)(struct blk_req *r, int ret);
	void *opaque;
	struct blk_req *next;	/* the queue's */
};

struct blk_queue;

int blk_queue_create(struct blk_queue **out, struct blk *b,
		     unsigned int threads);
void blk_queue_submit(struct blk_queue *q, struct blk_req *r);
/* Waits for every submitted request, then stops the threads. */
void blk_queue_destroy(struct blk_queue *q);

#endif
