// SPDX-License-Identifier: GPL-2.0-only
/*
 * The I/O thread pool. Why threads and not io_uring: qcow2 requests are
 * not one host I/O each (an allocating write is a refcount update, a data
 * write, an L2 update, sometimes a copy-on-write read and a metadata
 * flush), so a ring would only carry the plain reads and writes and the
 * rest would need threads anyway; and the figures in
 * Documentation/images.rst show the pool at the file's speed for 4 KiB
 * random I/O on this machine.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "error.h"
#include "queue.h"

struct blk_queue {
	struct blk *b;
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	struct blk_req *head, *tail;
	unsigned int busy;
	bool stop;
	unsigned int nr_threads;
	pthread_t threads[];
};

static int run(struct blk *b, struct blk_req *r)
{
	switch (r->op) {
	case BLK_REQ_READ:
		return blk_pread(b, r->buf, r->len, r->off);
	case BLK_REQ_WRITE:
		return blk_pwrite(b, r->buf, r->len, r->off);
	case BLK_REQ_FLUSH:
		return blk_flush(b);
	case BLK_REQ_DISCARD:
		return blk_discard(b, r->off, r->len);
	case BLK_REQ_WRITE_ZEROES:
		return blk_write_zeroes(b, r->off, r->len);
	}
	return -EINVAL;
}

static void *worker(void *arg)
{
	struct blk_queue *q = arg;
	struct blk_req *r;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->head && !q->stop)
			pthread_cond_wait(&q->work, &q->lock);
		if (!q->head)
			break;
		r = q->head;
		q->head = r->next;
		if (!q->head)
			q->tail = NULL;
		q->busy++;
		pthread_mutex_unlock(&q->lock);
		r->done(r, run(q->b, r));
		pthread_mutex_lock(&q->lock);
		q->busy--;
		if (!q->head && !q->busy)
			pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int blk_queue_create(struct blk_queue **out, struct blk *b,
		     unsigned int threads)
{
	struct blk_queue *q;
	unsigned int i;

	q = calloc(1, sizeof(*q) + threads * sizeof(pthread_t));
	if (!q)
		return blk_fail(ENOMEM, b->filename, "out of memory");
	q->b = b;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->idle, NULL);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&q->threads[i], NULL, worker, q))
			break;
		q->nr_threads++;
	}
	if (!q->nr_threads) {
		free(q);
		return blk_fail(EAGAIN, b->filename, "no I/O thread");
	}
	*out = q;
	return 0;
}

void blk_queue_submit(struct blk_queue *q, struct blk_req *r)
{
	r->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
}

void blk_queue_destroy(struct blk_queue *q)
{
	unsigned int i;

	pthread_mutex_lock(&q->lock);
	while (q->head || q->busy)
		pthread_cond_wait(&q->idle, &q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < q->nr_threads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->idle);
	free(q);
}
