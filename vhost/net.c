// SPDX-License-Identifier: GPL-2.0-only
/*
 * net.c - /dev/okvm-vhost-net: a virtio-net device's data path (virtio
 * 1.1, section 5.1) between its two rings and a tap device, behind
 * in-tree vhost-net's ABI (VHOST_NET_SET_BACKEND, <linux/vhost.h>).
 *
 * Ring 0 receives (tap -> guest), ring 1 transmits (guest -> tap). Each
 * packet carries a virtio-net header. Either the tap adds and strips it
 * (IFF_VNET_HDR, the usual set-up: the offloads negotiated with
 * TUNSETOFFLOAD then pass through untouched in its flags and GSO fields),
 * or, when the VMM acks VHOST_NET_F_VIRTIO_NET_HDR, this device does and
 * the tap sees bare frames. With VIRTIO_NET_F_MRG_RXBUF one received
 * packet may span several chains, counted in the header's num_buffers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/if_tun.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uaccess.h>
#include <linux/virtio_net.h>

#include "vhost.h"

enum {
	OKVM_NET_RX = 0,
	OKVM_NET_TX = 1,
	OKVM_NET_VQS = 2,
};

#define OKVM_NET_FEATURES	(OKVM_VHOST_FEATURES |			\
				 (1ULL << VHOST_NET_F_VIRTIO_NET_HDR) |	\
				 (1ULL << VIRTIO_NET_F_MRG_RXBUF))

struct okvm_net_vq {
	struct okvm_vq vq;
	size_t vhost_hlen;	/* header this device adds / strips */
	size_t sock_hlen;	/* header the tap adds / strips */
	struct file *file;	/* the tap's file; vq.backend is its socket */
	struct okvm_vhost_poll sock_poll;
	struct vring_used_elem heads[OKVM_VHOST_IOV_MAX];
};

struct okvm_net {
	struct okvm_vhost_dev dev;
	struct okvm_net_vq vqs[OKVM_NET_VQS];
	struct okvm_vq *vq_ptrs[OKVM_NET_VQS];
};

static struct okvm_net_vq *to_net_vq(struct okvm_vq *vq)
{
	return container_of(vq, struct okvm_net_vq, vq);
}

/* Guest -> tap: one chain of readable buffers is one frame. */
/* One TX chain: the frame behind the virtio-net header to the tap. */
static long okvm_net_tx_one(struct okvm_vq *vq, const struct okvm_vhost_chain *c)
{
	struct okvm_net_vq *nvq = to_net_vq(vq);
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
	struct socket *sock = vq->backend;

	if (c->in || c->out_len < nvq->vhost_hlen) {
		okvm_vq_error(vq, "TX chain with writable buffers or no header");
		return -EINVAL;
	}
	iov_iter_init(&msg.msg_iter, ITER_SOURCE, vq->iov, c->out, c->out_len);
	iov_iter_advance(&msg.msg_iter, nvq->vhost_hlen);
	/* A frame the tap refuses is dropped, as a NIC drops it. */
	sock->ops->sendmsg(sock, &msg, iov_iter_count(&msg.msg_iter));
	return 0;
}

static void okvm_net_handle_tx(struct okvm_vq *vq)
{
	okvm_vq_serve(vq, okvm_net_tx_one);
}

/*
 * Take chains until their writable bytes hold @len (one chain unless
 * MRG_RXBUF). Returns the chain count, 0 when the ring ran out first
 * (nothing taken), -EMSGSIZE when one chain is all it may take and the
 * frame does not fit (nothing taken), another negative errno when the
 * ring broke. @niov gets the iovecs.
 */
static int okvm_net_rx_bufs(struct okvm_net_vq *nvq, size_t len, bool mrg,
			    unsigned int *niov, size_t *total)
{
	struct okvm_vq *vq = &nvq->vq;
	struct okvm_vhost_chain c;
	unsigned int n = 0;
	int r;

	*niov = 0;
	*total = 0;
	while (*total < len && (mrg || !n)) {
		if (n == OKVM_VHOST_IOV_MAX || *niov == OKVM_VHOST_IOV_MAX) {
			okvm_vq_error(vq, "RX buffers too small for a frame");
			return -EINVAL;
		}
		r = okvm_vq_get_chain(vq, vq->iov + *niov,
				      OKVM_VHOST_IOV_MAX - *niov, &c);
		if (r < 0)
			return r;
		if (!r) {
			okvm_vq_unget(vq, n);
			return 0;
		}
		if (c.out) {
			okvm_vq_error(vq, "RX chain with readable buffers");
			return -EINVAL;
		}
		nvq->heads[n].id = c.head;
		nvq->heads[n].len = min_t(size_t, c.in_len, len - *total);
		*niov += c.in;
		*total += c.in_len;
		n++;
	}
	if (*total < len) {
		/* one buffer without MRG_RXBUF, and the frame does not fit */
		okvm_vq_unget(vq, n);
		return -EMSGSIZE;
	}
	return n;
}

/* Drop the tap's next frame, as in-tree does one too big for the buffers. */
static void okvm_net_rx_drop(struct socket *sock)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_TRUNC };
	struct kvec kv;
	u8 byte;

	kv.iov_base = &byte;
	kv.iov_len = 1;
	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &kv, 1, 1);
	sock->ops->recvmsg(sock, &msg, 1, MSG_DONTWAIT | MSG_TRUNC);
}

/* Tap -> guest: one frame per round, while both a frame and buffers wait. */
static void okvm_net_handle_rx(struct okvm_vq *vq)
{
	struct okvm_net_vq *nvq = to_net_vq(vq);
	bool mrg = okvm_vq_has(vq, VIRTIO_NET_F_MRG_RXBUF);
	unsigned int done = 0, niov, i;
	struct socket *sock;
	size_t total;
	int len, n, r;

	mutex_lock(&vq->mutex);
	sock = vq->backend;
	if (!sock || vq->broken)
		goto out;
	okvm_vq_disable_notify(vq);
	for (;;) {
		struct virtio_net_hdr_mrg_rxbuf hdr = {
			.hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		};
		struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_TRUNC };
		struct iov_iter fix;
		size_t sock_len, vhost_len;

		len = sock->ops->peek_len ? sock->ops->peek_len(sock) : 0;
		if (len <= 0)
			break;
		sock_len = len + nvq->sock_hlen;
		vhost_len = sock_len + nvq->vhost_hlen;
		n = okvm_net_rx_bufs(nvq, vhost_len, mrg, &niov, &total);
		if (n == -EMSGSIZE) {
			okvm_net_rx_drop(sock);
			if (++done >= OKVM_VHOST_BUDGET) {
				okvm_vhost_queue_work(vq->dev, vq->index);
				break;
			}
			continue;
		}
		if (n < 0)
			break;
		if (!n) {
			/* No buffers: wait for the guest's kick, unless it came already. */
			if (okvm_vq_enable_notify(vq)) {
				okvm_vq_disable_notify(vq);
				continue;
			}
			break;
		}
		iov_iter_init(&msg.msg_iter, ITER_DEST, vq->iov, niov, total);
		fix = msg.msg_iter;
		iov_iter_advance(&msg.msg_iter, nvq->vhost_hlen);
		r = sock->ops->recvmsg(sock, &msg, sock_len, MSG_DONTWAIT | MSG_TRUNC);
		if (r != sock_len) {
			/*
			 * Gone meanwhile (EAGAIN), or dropped by the tap (the
			 * guest's buffer not writable). The buffers stay for
			 * the next frame.
			 */
			okvm_vq_unget(vq, n);
			if (r == -EAGAIN)
				break;
			if (++done >= OKVM_VHOST_BUDGET) {
				okvm_vhost_queue_work(vq->dev, vq->index);
				break;
			}
			continue;
		}
		if (mrg)
			hdr.num_buffers = (__force __virtio16)cpu_to_le16(n);
		if (nvq->vhost_hlen) {
			if (copy_to_iter(&hdr, nvq->vhost_hlen, &fix) != nvq->vhost_hlen) {
				okvm_vq_error(vq, "cannot write the RX header");
				break;
			}
		} else if (mrg) {
			/* The tap wrote the header; only num_buffers is ours. */
			iov_iter_advance(&fix, offsetof(typeof(hdr), num_buffers));
			if (copy_to_iter(&hdr.num_buffers, sizeof(hdr.num_buffers),
					 &fix) != sizeof(hdr.num_buffers)) {
				okvm_vq_error(vq, "cannot write num_buffers");
				break;
			}
		}
		for (i = 0; i < n; i++)
			if (okvm_vq_add_used(vq, nvq->heads[i].id, nvq->heads[i].len))
				goto notify;
		if (++done >= OKVM_VHOST_BUDGET) {
			okvm_vhost_queue_work(vq->dev, vq->index);
			break;
		}
	}
notify:
	if (done)
		okvm_vq_notify(vq);
out:
	mutex_unlock(&vq->mutex);
}

static int okvm_net_open(struct inode *inode, struct file *f)
{
	okvm_vq_handler_t handlers[OKVM_NET_VQS] = {
		[OKVM_NET_RX] = okvm_net_handle_rx,
		[OKVM_NET_TX] = okvm_net_handle_tx,
	};
	struct okvm_net *n;
	int i;

	n = kvzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -ENOMEM;
	for (i = 0; i < OKVM_NET_VQS; i++)
		n->vq_ptrs[i] = &n->vqs[i].vq;
	okvm_vhost_dev_init(&n->dev, n->vq_ptrs, OKVM_NET_VQS, handlers, false);
	okvm_vhost_poll_init(&n->vqs[OKVM_NET_RX].sock_poll, &n->dev,
			     OKVM_NET_RX, EPOLLIN);
	f->private_data = n;
	return 0;
}

/* Detach ring @i's tap (ring mutex held); the caller fputs *@file. */
static void okvm_net_detach(struct okvm_net_vq *nvq, struct file **file)
{
	okvm_vhost_poll_stop(&nvq->sock_poll);
	*file = nvq->file;
	nvq->file = NULL;
	nvq->vq.backend = NULL;
}

static void okvm_net_stop(struct okvm_net *n)
{
	struct file *file;
	int i;

	for (i = 0; i < OKVM_NET_VQS; i++) {
		mutex_lock(&n->vqs[i].vq.mutex);
		okvm_net_detach(&n->vqs[i], &file);
		mutex_unlock(&n->vqs[i].vq.mutex);
		if (file)
			fput(file);
	}
}

static int okvm_net_release(struct inode *inode, struct file *f)
{
	struct okvm_net *n = f->private_data;

	okvm_net_stop(n);
	okvm_vhost_dev_cleanup(&n->dev);
	kvfree(n);
	return 0;
}

/*
 * The tap's socket, or -1 for none. As in-tree, any fd that is not a tap
 * (a bad one included) is ENOTSOCK. Only tun/tap is taken: in-tree's raw
 * packet sockets and macvtap are not supported.
 */
static struct file *okvm_net_get_tap(int fd, struct socket **sock)
{
	struct file *file;

	*sock = NULL;
	if (fd == -1)
		return NULL;
	file = fget(fd);
	if (!file)
		return ERR_PTR(-ENOTSOCK);
	*sock = tun_get_socket(file);
	if (IS_ERR(*sock)) {
		fput(file);
		*sock = NULL;
		return ERR_PTR(-ENOTSOCK);
	}
	return file;
}

/*
 * VHOST_NET_SET_BACKEND: in-tree's order of checks (owner EPERM, index
 * ENOBUFS, rings and memory table reachable EFAULT, fd ENOTSOCK).
 */
static long okvm_net_set_backend(struct okvm_net *n, unsigned int index, int fd)
{
	struct file *file = NULL, *old = NULL;
	struct okvm_net_vq *nvq;
	struct socket *sock;
	long r;

	mutex_lock(&n->dev.mutex);
	r = okvm_vhost_check_owner(&n->dev);
	if (r)
		goto out;
	if (index >= OKVM_NET_VQS) {
		r = -ENOBUFS;
		goto out;
	}
	nvq = &n->vqs[index];
	mutex_lock(&nvq->vq.mutex);
	if (!okvm_vq_access_ok(&nvq->vq)) {
		r = -EFAULT;
		goto out_vq;
	}
	file = okvm_net_get_tap(fd, &sock);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		file = NULL;
		goto out_vq;
	}
	if (sock == nvq->vq.backend)
		goto out_vq;	/* the same tap again: drop the new reference */
	okvm_net_detach(nvq, &old);
	if (sock) {
		r = okvm_vq_start(&nvq->vq);
		if (r)
			goto out_vq;
		nvq->file = file;
		nvq->vq.backend = sock;
		file = NULL;
		if (index == OKVM_NET_RX)
			okvm_vhost_poll_start(&nvq->sock_poll, nvq->file);
		okvm_vhost_queue_work(&n->dev, index);
	}
out_vq:
	mutex_unlock(&nvq->vq.mutex);
out:
	mutex_unlock(&n->dev.mutex);
	if (file)
		fput(file);
	if (old)
		fput(old);
	return r;
}

static long okvm_net_set_features(struct okvm_net *n, u64 features)
{
	size_t hlen;
	int i, r;

	hlen = features & ((1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_F_VERSION_1)) ?
	       sizeof(struct virtio_net_hdr_mrg_rxbuf) : sizeof(struct virtio_net_hdr);
	r = okvm_vhost_set_features(&n->dev, features);
	if (r)
		return r;
	for (i = 0; i < OKVM_NET_VQS; i++) {
		struct okvm_net_vq *nvq = &n->vqs[i];

		mutex_lock(&nvq->vq.mutex);
		if (features & (1ULL << VHOST_NET_F_VIRTIO_NET_HDR)) {
			nvq->vhost_hlen = hlen;
			nvq->sock_hlen = 0;
		} else {
			nvq->vhost_hlen = 0;
			nvq->sock_hlen = hlen;
		}
		mutex_unlock(&nvq->vq.mutex);
	}
	return 0;
}

static long okvm_net_reset_owner(struct okvm_net *n)
{
	struct okvm_vhost_mem *empty = NULL;
	long r;

	mutex_lock(&n->dev.mutex);
	r = okvm_vhost_check_owner(&n->dev);
	if (!r) {
		empty = okvm_vhost_reset_prepare();
		r = empty ? 0 : -ENOMEM;
	}
	if (!r) {
		okvm_net_stop(n);
		okvm_vhost_dev_reset_owner(&n->dev, empty);
	}
	mutex_unlock(&n->dev.mutex);
	return r;
}

static long okvm_net_ioctl(struct file *f, unsigned int ioctl, unsigned long arg)
{
	struct okvm_net *n = f->private_data;
	void __user *argp = (void __user *)arg;
	struct vhost_vring_file backend;
	u64 features;
	long r;

	switch (ioctl) {
	case VHOST_NET_SET_BACKEND:
		if (copy_from_user(&backend, argp, sizeof(backend)))
			return -EFAULT;
		return okvm_net_set_backend(n, backend.index, backend.fd);
	case VHOST_GET_FEATURES:
		features = OKVM_NET_FEATURES;
		return copy_to_user(argp, &features, sizeof(features)) ? -EFAULT : 0;
	case VHOST_SET_FEATURES:
		if (copy_from_user(&features, argp, sizeof(features)))
			return -EFAULT;
		if (features & ~OKVM_NET_FEATURES)
			return -EOPNOTSUPP;
		return okvm_net_set_features(n, features);
	case VHOST_RESET_OWNER:
		return okvm_net_reset_owner(n);
	default:
		mutex_lock(&n->dev.mutex);
		r = okvm_vhost_dev_ioctl(&n->dev, ioctl, argp);
		mutex_unlock(&n->dev.mutex);
		return r;
	}
}

static const struct file_operations okvm_net_fops = {
	.owner = THIS_MODULE,
	.open = okvm_net_open,
	.release = okvm_net_release,
	.unlocked_ioctl = okvm_net_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice okvm_net_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "okvm-vhost-net",
	.fops = &okvm_net_fops,
};

int okvm_vhost_net_init(void)
{
	return misc_register(&okvm_net_misc);
}

void okvm_vhost_net_exit(void)
{
	misc_deregister(&okvm_net_misc);
}
