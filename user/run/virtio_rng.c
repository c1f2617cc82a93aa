// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-rng (virtio 1.2 section 5.4): one queue of device-writable
 * buffers, filled from the host's getrandom(). No config space, no
 * features. The kicks arrive on the transport's thread (virtio_pci.c),
 * which calls notify() with the device lock held; filling a page of
 * randomness is quick enough to do there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "run.h"
#include "virtio_pci.h"

#define RNG_MAX_PER_CHAIN	4096	/* a driver asking more gets less */

static void fill(struct iovec *iov, unsigned int n, uint32_t *done)
{
	uint8_t buf[256];
	size_t want, got;
	ssize_t r;

	*done = 0;
	while (*done < RNG_MAX_PER_CHAIN) {
		want = RNG_MAX_PER_CHAIN - *done;
		if (want > sizeof(buf))
			want = sizeof(buf);
		r = getrandom(buf, want, GRND_NONBLOCK);
		if (r <= 0)
			break;
		got = iov_from_buf(iov, n, *done, buf, r);
		*done += got;
		if (got < (size_t)r)
			break;
	}
}

static void rng_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtq_chain *c = d->priv;
	char err[160];
	uint32_t len;
	int r;

	while ((r = virtq_pop(&d->vq[q], d->mem, c, err, sizeof(err))) > 0) {
		if (c->nr_out) {
			virtio_dev_fail(d, "queue 0: a readable buffer");
			return;
		}
		fill(c->iov, c->nr_in, &len);
		virtio_complete(d, q, c->head, len);
	}
	if (r < 0)
		virtio_dev_fail(d, "queue %u: %s", q, err);
}

static int rng_start(struct virtio_dev *d)
{
	return 0;
}

static void rng_stop(struct virtio_dev *d)
{
}

static void rng_destroy(struct virtio_dev *d)
{
	free(d->priv);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = 4,
	.pci_class = 0xff0000,
	.nr_queues = 1,
	.start = rng_start,
	.notify = rng_notify,
	.stop = rng_stop,
	.destroy = rng_destroy,
};

int virtio_rng_add(struct vm *vm, char *err, size_t errlen)
{
	/* the chain scratch space, used under the device lock only */
	struct virtq_chain *c = malloc(sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return virtio_pci_add(vm, &rng_ops, c, err, errlen);
}
