// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net (virtio 1.2 section 5.1) on a tap device: queue 0 receives,
 * queue 1 transmits, no control queue and no offloads, so every frame is
 * a plain Ethernet frame behind the 12-byte virtio_net_hdr (with
 * num_buffers, as VERSION_1 has it). The tap is opened with IFF_VNET_HDR
 * and a 12-byte header size, so that header is exactly what the tap
 * reads and writes: transmit is one writev() of the guest's buffers.
 *
 * Transmit runs on the transport's thread (notify(), device lock held).
 * Receive has its own thread: it reads a frame from the tap into a
 * bounce buffer, then takes the device lock, pops a chain and copies the
 * frame in; with no buffer posted it keeps the frame and stops polling
 * the tap until the driver kicks the receive queue. Every ring access is
 * under the device lock, so a reset never races a copy.
 *
 * The tap is opened, brought up and attached to an existing bridge in
 * net_tap.c (rtnetlink with libnl-route-3, never by running ip or brctl).
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "run.h"
#include "virtio_pci.h"

#define NET_RXQ			0
#define NET_TXQ			1
#define NET_HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define NET_FRAME_MAX		(NET_HDR_LEN + 65536)

struct net_dev {
	int tap_fd;
	char ifname[IFNAMSIZ];
	uint8_t mac[6];
	int kick_fd;			/* the driver posted receive buffers */
	int stop_fd;
	pthread_t rx_thread;
	bool rx_started;
	struct virtio_dev *d;
	struct virtq_chain rx_chain;	/* device lock */
	struct virtq_chain tx_chain;	/* device lock */
	uint8_t *frame;			/* the receive thread's bounce buffer */
	size_t frame_len;		/* a frame waits there for a buffer */
};

static void net_tx(struct net_dev *nd, struct virtio_dev *d)
{
	struct virtq_chain *c = &nd->tx_chain;
	char err[160];
	ssize_t n;
	int r;

	while ((r = virtq_pop(&d->vq[NET_TXQ], d->mem, c, err,
			      sizeof(err))) > 0) {
		if (c->nr_in || c->out_len < NET_HDR_LEN ||
		    c->out_len > NET_FRAME_MAX) {
			virtio_dev_fail(d, "queue 1: a transmit chain of %llu readable and %llu writable bytes",
					(unsigned long long)c->out_len,
					(unsigned long long)c->in_len);
			return;
		}
		/* a full or gone tap drops the frame, as a wire would */
		do {
			n = writev(nd->tap_fd, c->iov, c->nr_out);
		} while (n < 0 && errno == EINTR);
		virtio_complete(d, NET_TXQ, c->head, 0);
	}
	if (r < 0)
		virtio_dev_fail(d, "queue 1: %s", err);
}

static void net_notify(struct virtio_dev *d, unsigned int q)
{
	struct net_dev *nd = d->priv;
	uint64_t one = 1;

	if (q == NET_TXQ) {
		net_tx(nd, d);
		return;
	}
	/* a failed write means a full counter, which wakes the thread too */
	if (write(nd->kick_fd, &one, sizeof(one)) < 0)
		return;
}

/*
 * Device lock held: the waiting frame into the next receive chain.
 * 1 delivered (or dropped), 0 no buffer posted, -1 the device failed.
 */
static int rx_deliver(struct net_dev *nd, struct virtio_dev *d)
{
	struct virtio_net_hdr_mrg_rxbuf *h = (void *)nd->frame;
	struct virtq_chain *c = &nd->rx_chain;
	char err[160];
	int r;

	r = virtq_pop(&d->vq[NET_RXQ], d->mem, c, err, sizeof(err));
	if (r < 0) {
		virtio_dev_fail(d, "queue 0: %s", err);
		return -1;
	}
	if (!r)
		return 0;
	if (c->nr_out) {
		virtio_dev_fail(d, "queue 0: a readable receive buffer");
		return -1;
	}
	/* no MRG_RXBUF: one chain per frame (5.1.6.3.1) */
	h->num_buffers = 1;
	if (c->in_len < nd->frame_len) {
		/* too small for this frame: drop it, return the buffer */
		virtio_complete(d, NET_RXQ, c->head, 0);
		return 1;
	}
	iov_from_buf(c->iov, c->nr_in, 0, nd->frame, nd->frame_len);
	virtio_complete(d, NET_RXQ, c->head, nd->frame_len);
	return 1;
}

static void *net_rx_thread(void *arg)
{
	struct net_dev *nd = arg;
	struct virtio_dev *d = nd->d;
	struct pollfd pfd[3] = {
		{ .fd = nd->tap_fd },
		{ .fd = nd->kick_fd, .events = POLLIN },
		{ .fd = nd->stop_fd, .events = POLLIN },
	};
	bool want = true;	/* poll the tap: there is room for a frame */
	uint64_t cnt;
	ssize_t n;
	int r;

	for (;;) {
		pfd[0].events = want ? POLLIN : 0;
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[2].revents)
			break;
		if (pfd[1].revents &&
		    read(nd->kick_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
			want = true;
		for (;;) {
			if (!nd->frame_len) {
				n = read(nd->tap_fd, nd->frame, NET_FRAME_MAX);
				if (n < (ssize_t)NET_HDR_LEN)
					break;	/* EAGAIN, or a runt */
				nd->frame_len = n;
			}
			pthread_mutex_lock(&d->lock);
			if (!virtio_dev_live(d, d->generation) ||
			    !d->vq[NET_RXQ].avail) {
				/* no driver: the frame is lost, as on a wire */
				nd->frame_len = 0;
				pthread_mutex_unlock(&d->lock);
				continue;
			}
			r = rx_deliver(nd, d);
			pthread_mutex_unlock(&d->lock);
			if (r <= 0) {
				/* keep the frame; wait for buffers */
				want = false;
				if (r < 0)
					nd->frame_len = 0;
				break;
			}
			nd->frame_len = 0;
		}
	}
	return NULL;
}

static void net_config(struct virtio_dev *d, unsigned int off, void *data,
		       unsigned int len)
{
	struct net_dev *nd = d->priv;
	struct virtio_net_config c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, nd->mac, 6);
	c.status = VIRTIO_NET_S_LINK_UP;
	memcpy(data, (uint8_t *)&c + off, len);
}

static int net_start(struct virtio_dev *d)
{
	struct net_dev *nd = d->priv;
	uint64_t one = 1;

	/* look for frames that waited for the driver */
	if (write(nd->kick_fd, &one, sizeof(one)) < 0)
		return -1;
	return 0;
}

static void net_stop(struct virtio_dev *d)
{
	/* every ring access is under the device lock, held here */
}

static void net_destroy(struct virtio_dev *d)
{
	struct net_dev *nd = d->priv;
	uint64_t one = 1;

	if (nd->rx_started) {
		if (write(nd->stop_fd, &one, sizeof(one)) < 0)
			abort();
		pthread_join(nd->rx_thread, NULL);
	}
	if (nd->tap_fd >= 0)
		close(nd->tap_fd);
	if (nd->kick_fd >= 0)
		close(nd->kick_fd);
	if (nd->stop_fd >= 0)
		close(nd->stop_fd);
	free(nd->frame);
	free(nd);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = 1,
	.pci_class = 0x020000,		/* network, Ethernet */
	.nr_queues = 2,
	.features = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS,
	.config_size = offsetof(struct virtio_net_config, max_virtqueue_pairs),
	.config_read = net_config,
	.start = net_start,
	.notify = net_notify,
	.stop = net_stop,
	.destroy = net_destroy,
};

int virtio_net_add(struct vm *vm, const struct net_opt *o, unsigned int i,
		   char *err, size_t errlen)
{
	struct virtio_pci *vp;
	struct net_dev *nd;

	if (o->vhost[0])
		return vhost_net_add(vm, o, i, err, errlen);
	nd = calloc(1, sizeof(*nd));
	if (!nd) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nd->tap_fd = -1;
	nd->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	nd->stop_fd = eventfd(0, EFD_CLOEXEC);
	nd->frame = malloc(NET_FRAME_MAX);
	if (nd->kick_fd < 0 || nd->stop_fd < 0 || !nd->frame) {
		snprintf(err, errlen, "-n: %s", strerror(errno));
		net_destroy(&(struct virtio_dev){ .priv = nd });
		return -1;
	}
	if (o->has_mac) {
		memcpy(nd->mac, o->mac, 6);
	} else {
		/* QEMU's locally administered prefix, one address per card */
		memcpy(nd->mac, "\x52\x54\x00\x12\x34\x56", 6);
		nd->mac[5] += i;
	}
	nd->tap_fd = net_tap_open(o, nd->ifname, err, errlen);
	if (nd->tap_fd < 0 ||
	    net_tap_up(nd->ifname, o->bridge, err, errlen)) {
		net_destroy(&(struct virtio_dev){ .priv = nd });
		return -1;
	}
	if (virtio_pci_add(vm, &net_ops, nd, err, errlen))
		return -1;
	vp = vm->virtio[vm->nr_virtio - 1];
	nd->d = virtio_pci_dev(vp);
	if (pthread_create(&nd->rx_thread, NULL, net_rx_thread, nd)) {
		snprintf(err, errlen, "-n: cannot start the receive thread");
		return -1;
	}
	nd->rx_started = true;
	fprintf(stderr, "okvm run: virtio-net on tap %s%s%s, guest MAC %02x:%02x:%02x:%02x:%02x:%02x\n",
		nd->ifname, o->bridge[0] ? " in bridge " : "", o->bridge,
		nd->mac[0], nd->mac[1], nd->mac[2], nd->mac[3], nd->mac[4],
		nd->mac[5]);
	return 0;
}
