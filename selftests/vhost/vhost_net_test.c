// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost_net_test - a vhost-net device (VHOST_NET_DEV: /dev/okvm-vhost-net
 * by default, /dev/vhost-net for in-tree vhost_net) driven by a user-space
 * virtio-net driver (vring_driver.c) over a tap whose other side is a
 * packet socket: frames sent by the "guest" reach the socket, frames sent
 * on the socket reach the "guest". Also every generic <linux/vhost.h>
 * ioctl's errnos and hostile rings. The expectations are the same for
 * both devices: that is what shows okvm answers as in-tree vhost does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "kselftest_harness.h"
#include "vring_driver.h"

#define ETH_TEST	0x88b5		/* IEEE 802 local experimental */
#define HDR		12		/* struct virtio_net_hdr_mrg_rxbuf */
#define RX		0
#define TX		1
#define FEATURES	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF))

static const char *dev_path(void)
{
	const char *p = getenv("VHOST_NET_DEV");

	return p ? p : "/dev/okvm-vhost-net";
}

static int open_dev(void)
{
	return open(dev_path(), O_RDWR);
}

/*
 * A tap, with a 12-byte vnet header unless the device adds it
 * (VHOST_NET_F_VIRTIO_NET_HDR), up, IPv6 off (no chatter), and a packet
 * socket on it.
 */
static char tap_name[IFNAMSIZ];	/* the last tap made */

static int make_tap_hdr(int *psock, bool vnet_hdr)
{
	struct ifreq ifr = {
		.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0),
	};
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int fd, s, hlen = HDR;
	char path[128];
	FILE *f;

	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "vht%d");
	if (ioctl(fd, TUNSETIFF, &ifr) ||
	    (vnet_hdr && ioctl(fd, TUNSETVNETHDRSZ, &hlen)))
		return -1;
	strcpy(tap_name, ifr.ifr_name);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifr.ifr_name);
	f = fopen(path, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ifr.ifr_flags = IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		return -1;
	close(s);
	s = socket(AF_PACKET, SOCK_RAW, htons(ETH_TEST));
	if (s < 0)
		return -1;
	sll.sll_protocol = htons(ETH_TEST);
	sll.sll_ifindex = if_nametoindex(ifr.ifr_name);
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)))
		return -1;
	*psock = s;
	return fd;
}

static int make_tap(int *psock)
{
	return make_tap_hdr(psock, true);
}

static size_t make_frame(unsigned char *f, size_t len, unsigned char mark)
{
	memset(f, 0xff, 6);			/* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = mark + i;
	return len;
}

static int set_backend(int fd, unsigned int index, int backend)
{
	struct vhost_vring_file b = { .index = index, .fd = backend };

	return ioctl(fd, VHOST_NET_SET_BACKEND, &b) ? -errno : 0;
}

FIXTURE(net) {
	struct vd d;
	int tap, psock;
};

/* Who adds the virtio-net header: the tap, or the device itself. */
FIXTURE_VARIANT(net) {
	bool device_hdr;
};

FIXTURE_VARIANT_ADD(net, tap_hdr) { .device_hdr = false };
FIXTURE_VARIANT_ADD(net, device_hdr) { .device_hdr = true };

FIXTURE_SETUP(net)
{
	uint64_t f = FEATURES;
	int fd = open_dev();

	self->tap = -1;
	if (fd < 0)
		SKIP(return, "no %s", dev_path());
	self->tap = make_tap_hdr(&self->psock, !variant->device_hdr);
	ASSERT_LE(0, self->tap);
	if (variant->device_hdr)
		f |= 1ULL << VHOST_NET_F_VIRTIO_NET_HDR;
	ASSERT_EQ(0, vd_init(&self->d, fd, 2));
	ASSERT_EQ(0, vd_setup(&self->d, f, 64));
	ASSERT_EQ(0, set_backend(fd, RX, self->tap));
	ASSERT_EQ(0, set_backend(fd, TX, self->tap));
}

FIXTURE_TEARDOWN(net)
{
	if (self->tap < 0)
		return;
	vd_fini(&self->d);
	close(self->tap);
	close(self->psock);
}

TEST_F(net, tx)
{
	unsigned char *hdr = vd_alloc(&self->d, HDR), *frame = vd_alloc(&self->d, 100);
	struct vd_buf b[2] = { { hdr, HDR, false }, { frame, 100, false } };
	struct pollfd p = { .fd = self->psock, .events = POLLIN };
	unsigned char got[200];
	struct vring_used_elem e;
	int head;

	make_frame(frame, 100, 0x30);
	head = vd_add(&self->d, TX, b, 2);
	vd_kick(&self->d, TX);
	ASSERT_TRUE(vd_get_used(&self->d, TX, &e, VD_TIMEOUT_MS));
	EXPECT_EQ(head, e.id);
	EXPECT_EQ(0, e.len);
	ASSERT_EQ(1, poll(&p, 1, VD_TIMEOUT_MS));
	ASSERT_EQ(100, recv(self->psock, got, sizeof(got), 0));
	EXPECT_EQ(0, memcmp(got, frame, 100));
}

/* Send a frame out of the tap: the "guest" receives it. */
static void send_frame(int psock, const unsigned char *f, size_t len)
{
	send(psock, f, len, 0);
}

TEST_F(net, rx)
{
	unsigned char *buf = vd_alloc(&self->d, 2048), frame[90];
	struct vd_buf b = { buf, 2048, true };
	struct virtio_net_hdr_mrg_rxbuf *h = (void *)buf;
	struct vring_used_elem e;
	int head;

	head = vd_add(&self->d, RX, &b, 1);
	vd_kick(&self->d, RX);
	send_frame(self->psock, frame, make_frame(frame, sizeof(frame), 0x50));
	ASSERT_TRUE(vd_get_used(&self->d, RX, &e, VD_TIMEOUT_MS));
	EXPECT_EQ(head, e.id);
	EXPECT_EQ(HDR + sizeof(frame), e.len);
	EXPECT_EQ(1, h->num_buffers);
	EXPECT_EQ(0, memcmp(buf + HDR, frame, sizeof(frame)));
}

TEST_F(net, rx_mergeable)
{
	unsigned char frame[100], *buf[4];
	struct vring_used_elem e;
	unsigned int want[4] = { 32, 32, 32, 16 }, off = 0;
	int head[4];

	/* the frame and its header need 112 bytes: four 32-byte buffers */
	for (int i = 0; i < 4; i++) {
		buf[i] = vd_alloc(&self->d, 32);
		head[i] = vd_add(&self->d, RX, &(struct vd_buf){ buf[i], 32, true }, 1);
	}
	vd_kick(&self->d, RX);
	send_frame(self->psock, frame, make_frame(frame, sizeof(frame), 0x70));
	for (int i = 0; i < 4; i++) {
		ASSERT_TRUE(vd_get_used(&self->d, RX, &e, VD_TIMEOUT_MS));
		EXPECT_EQ(head[i], e.id);
		EXPECT_EQ(want[i], e.len);
	}
	EXPECT_EQ(4, ((struct virtio_net_hdr_mrg_rxbuf *)buf[0])->num_buffers);
	for (int i = 0; i < 4; i++) {
		unsigned int from = i ? 0 : HDR;

		for (unsigned int j = from; j < want[i]; j++, off++)
			ASSERT_EQ(frame[off], buf[i][j]);
	}
	EXPECT_EQ(sizeof(frame), off);
}

TEST_F(net, detach)
{
	unsigned char *pkt = vd_alloc(&self->d, HDR + 64);
	struct vhost_vring_state s = { .index = TX };
	struct vring_used_elem e;

	ASSERT_EQ(0, set_backend(self->d.fd, TX, -1));
	make_frame(pkt + HDR, 64, 0x10);
	vd_add(&self->d, TX, &(struct vd_buf){ pkt, HDR + 64, false }, 1);
	vd_kick(&self->d, TX);
	EXPECT_FALSE(vd_get_used(&self->d, TX, &e, 300));
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0, s.num);
	/* attached again, the waiting chain goes out */
	ASSERT_EQ(0, set_backend(self->d.fd, TX, self->tap));
	vd_kick(&self->d, TX);
	ASSERT_TRUE(vd_get_used(&self->d, TX, &e, VD_TIMEOUT_MS));
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(1, s.num);
}

/* Hostile rings on the TX ring: the err eventfd fires, nothing is used. */
static void hostile_done(struct __test_metadata *_metadata, struct vd *d)
{
	struct vhost_vring_state s = { .index = TX };

	vd_kick(d, TX);
	EXPECT_TRUE(vd_wait_err(d, TX, VD_TIMEOUT_MS));
	EXPECT_EQ(0, vd_used_idx(d, TX));
	EXPECT_EQ(0, ioctl(d->fd, VHOST_GET_VRING_BASE, &s));
}

TEST_F(net, hostile_loop)
{
	struct vring_desc *desc = self->d.q[TX].desc;
	unsigned char *buf = vd_alloc(&self->d, 64);

	desc[0] = (struct vring_desc){ vd_gpa(&self->d, buf), 64, VRING_DESC_F_NEXT, 1 };
	desc[1] = (struct vring_desc){ vd_gpa(&self->d, buf), 64, VRING_DESC_F_NEXT, 0 };
	vd_publish(&self->d, TX, 0);
	hostile_done(_metadata, &self->d);
}

TEST_F(net, hostile_outside_table)
{
	struct vring_desc *desc = self->d.q[TX].desc;

	desc[0] = (struct vring_desc){ VD_GPA_BASE + VD_MEM_SIZE - 8, 64, 0, 0 };
	vd_publish(&self->d, TX, 0);
	hostile_done(_metadata, &self->d);
}

TEST_F(net, hostile_length_wraps)
{
	struct vring_desc *desc = self->d.q[TX].desc;

	desc[0] = (struct vring_desc){ ~0ULL - 16, 64, 0, 0 };
	vd_publish(&self->d, TX, 0);
	hostile_done(_metadata, &self->d);
}

TEST_F(net, hostile_avail_jump)
{
	self->d.q[TX].avail->idx = 64 + 5;
	hostile_done(_metadata, &self->d);
}

TEST_F(net, hostile_head_out_of_ring)
{
	vd_publish(&self->d, TX, 64 + 1);
	hostile_done(_metadata, &self->d);
}

TEST_F(net, hostile_nested_indirect)
{
	struct vring_desc *desc = self->d.q[TX].desc;
	struct vring_desc *tab = vd_alloc(&self->d, 32);

	tab[0] = (struct vring_desc){ vd_gpa(&self->d, tab), 32, VRING_DESC_F_INDIRECT, 0 };
	desc[0] = (struct vring_desc){ vd_gpa(&self->d, tab), 32, VRING_DESC_F_INDIRECT, 0 };
	vd_publish(&self->d, TX, 0);
	hostile_done(_metadata, &self->d);
}

/* The generic ioctls' errnos, in the order a careless VMM would hit them. */
TEST(ioctl_order_and_errnos)
{
	struct {
		struct vhost_memory hdr;
		struct vhost_memory_region r[65];
	} m = { .hdr.nregions = 1 };
	struct vhost_vring_state s = { .index = 0, .num = 64 };
	struct vhost_vring_addr a = { .index = 0 };
	struct vhost_vring_file f = { .index = 0, .fd = -1 };
	uint64_t features;
	int fd = open_dev(), efd = eventfd(0, 0);
	struct vd d;
	pid_t pid;
	int st;

	if (fd < 0)
		SKIP(return, "no %s", dev_path());
	ASSERT_EQ(0, vd_init(&d, fd, 2));
	/* before VHOST_SET_OWNER: features yes, the rest EPERM */
	ASSERT_EQ(0, ioctl(fd, VHOST_GET_FEATURES, &features));
	EXPECT_TRUE(features & (1ULL << VIRTIO_F_VERSION_1));
	EXPECT_TRUE(features & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
	EXPECT_TRUE(features & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	EXPECT_TRUE(features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	EXPECT_TRUE(features & (1ULL << VHOST_F_LOG_ALL));
	EXPECT_EQ(-EPERM, vd_set_mem(&d));
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-EPERM, set_backend(fd, 0, -1));
	EXPECT_EQ(-1, ioctl(fd, VHOST_RESET_OWNER));
	EXPECT_EQ(EPERM, errno);
	/* a feature neither device has */
	features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_CSUM);
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_FEATURES, &features));
	EXPECT_EQ(EOPNOTSUPP, errno);

	ASSERT_EQ(0, ioctl(fd, VHOST_SET_OWNER));
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_OWNER));
	EXPECT_EQ(EBUSY, errno);
	/* another process is not the owner */
	pid = fork();
	if (!pid) {
		int r1 = ioctl(fd, VHOST_SET_VRING_NUM, &s) == -1 && errno == EPERM;
		int r2 = ioctl(fd, VHOST_SET_OWNER) == -1 && errno == EBUSY;

		_exit(r1 && r2 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st);

	/* no memory table yet: no backend, not even -1 */
	EXPECT_EQ(-EFAULT, set_backend(fd, 0, -1));
	EXPECT_EQ(-ENOBUFS, set_backend(fd, 2, -1));

	m.hdr.padding = 1;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_MEM_TABLE, &m));
	EXPECT_EQ(EOPNOTSUPP, errno);
	m.hdr.padding = 0;
	m.hdr.nregions = 65;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_MEM_TABLE, &m));
	EXPECT_EQ(E2BIG, errno);
	m.hdr.nregions = 1;
	m.r[0] = (struct vhost_memory_region){ 0x1000, 0, (uintptr_t)d.mem, 0 };
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_MEM_TABLE, &m));
	EXPECT_EQ(EFAULT, errno);
	m.r[0] = (struct vhost_memory_region){ ~0ULL - 0xfff, 0x2000, (uintptr_t)d.mem, 0 };
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_MEM_TABLE, &m));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_MEM_TABLE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, vd_set_mem(&d));

	/* ring sizes: powers of two up to 32768 */
	s.num = 3;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(EINVAL, errno);
	s.num = 0;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(EINVAL, errno);
	s.num = 65536;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(EINVAL, errno);
	s.index = 2;
	s.num = 64;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(ENOBUFS, errno);
	s.index = 0;
	s.num = 0x10000;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_BASE, &s));
	EXPECT_EQ(EINVAL, errno);
	a.avail_user_addr = (uintptr_t)d.mem + 1;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_ADDR, &a));
	EXPECT_EQ(EINVAL, errno);
	a.avail_user_addr = 0;
	a.used_user_addr = (uintptr_t)d.mem + 2;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_ADDR, &a));
	EXPECT_EQ(EINVAL, errno);
	a.used_user_addr = 0;
	a.flags = 2;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_ADDR, &a));
	EXPECT_EQ(EOPNOTSUPP, errno);
	f.fd = 999;
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_CALL, &f));
	EXPECT_EQ(EBADF, errno);
	f.fd = fd;	/* not an eventfd */
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_VRING_KICK, &f));
	EXPECT_EQ(EINVAL, errno);
	f.fd = efd;
	EXPECT_EQ(0, ioctl(fd, VHOST_SET_VRING_ERR, &f));
	/* an unknown ioctl reads a ring index first, as the ring ioctls do */
	EXPECT_EQ(-1, ioctl(fd, _IO(VHOST_VIRTIO, 0x7f), NULL));
	EXPECT_EQ(EFAULT, errno);
	s.index = 2;
	EXPECT_EQ(-1, ioctl(fd, _IO(VHOST_VIRTIO, 0x7f), &s));
	EXPECT_EQ(ENOBUFS, errno);
	s.index = 0;
	EXPECT_EQ(-1, ioctl(fd, _IO(VHOST_VIRTIO, 0x7f), &s));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_LOG_FD, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_LOG_FD, &fd));	/* not an eventfd */
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, VHOST_SET_LOG_BASE, (void *)8));
	EXPECT_EQ(EFAULT, errno);

	/* the rest of the bring-up, then the backend: not a tap is ENOTSOCK */
	vd_fini(&d);
	ASSERT_EQ(0, vd_init(&d, open_dev(), 2));
	ASSERT_EQ(0, vd_setup(&d, FEATURES, 64));
	EXPECT_EQ(-ENOTSOCK, set_backend(d.fd, TX, efd));
	EXPECT_EQ(-ENOTSOCK, set_backend(d.fd, TX, 999));
	EXPECT_EQ(0, set_backend(d.fd, TX, -1));
	/* RESET_OWNER: someone else may own it now */
	ASSERT_EQ(0, ioctl(d.fd, VHOST_RESET_OWNER));
	EXPECT_EQ(-1, ioctl(d.fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(0, ioctl(d.fd, VHOST_SET_OWNER));
	/* reset leaves an empty memory table, not none: -1 is taken */
	EXPECT_EQ(0, set_backend(d.fd, TX, -1));
	vd_fini(&d);
	close(efd);
}

/* A ring with a backend cannot be resized or rebased. */
TEST_F(net, busy_ring)
{
	struct vhost_vring_state s = { .index = RX, .num = 32 };

	EXPECT_EQ(-1, ioctl(self->d.fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, ioctl(self->d.fd, VHOST_SET_VRING_BASE, &s));
	EXPECT_EQ(EBUSY, errno);
}

/* The owner dies with chains pending: the fds close, nothing hangs. */
TEST(owner_exits_busy)
{
	int psock, tap = make_tap(&psock), st;
	pid_t pid;

	if (access(dev_path(), F_OK))
		SKIP(return, "no %s", dev_path());
	ASSERT_LE(0, tap);
	pid = fork();
	if (!pid) {
		struct vd d;
		unsigned char *buf;

		if (vd_init(&d, open_dev(), 2) || vd_setup(&d, FEATURES, 64) ||
		    set_backend(d.fd, RX, tap) || set_backend(d.fd, TX, tap))
			_exit(1);
		buf = vd_alloc(&d, 1500);
		for (int i = 0; i < 64; i++) {
			make_frame(buf, 60, i);
			vd_add(&d, TX, &(struct vd_buf){ buf, 60 + HDR, false }, 1);
			vd_add(&d, RX, &(struct vd_buf){ buf, 1500, true }, 1);
		}
		vd_kick(&d, TX);
		vd_kick(&d, RX);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st);
	close(tap);
	close(psock);
}

/* Send one TX frame; true when the call eventfd fired for it. */
static bool tx_one(struct vd *d, int timeout_ms)
{
	unsigned char *pkt = vd_alloc(d, HDR + 60);
	struct vring_used_elem e;
	bool called;

	make_frame(pkt + HDR, 60, 0x20);
	vd_add(d, TX, &(struct vd_buf){ pkt, HDR + 60, false }, 1);
	vd_kick(d, TX);
	called = vd_wait_call(d, TX, timeout_ms);
	/* the used entry comes either way */
	if (!vd_get_used(d, TX, &e, VD_TIMEOUT_MS))
		return false;
	return called;
}

/* VIRTIO_RING_F_EVENT_IDX (virtio 1.1, 2.6.7.2): calls only past used_event. */
TEST(event_idx)
{
	int psock, tap = make_tap(&psock);
	uint64_t f = FEATURES | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	struct vd d;
	uint16_t *used_event;

	if (access(dev_path(), F_OK))
		SKIP(return, "no %s", dev_path());
	ASSERT_LE(0, tap);
	ASSERT_EQ(0, vd_init(&d, open_dev(), 2));
	ASSERT_EQ(0, vd_setup(&d, f, 64));
	ASSERT_EQ(0, set_backend(d.fd, TX, tap));
	used_event = &d.q[TX].avail->ring[64];
	*used_event = 0;
	EXPECT_TRUE(tx_one(&d, VD_TIMEOUT_MS));		/* used 0 -> 1 */
	*used_event = 10;
	EXPECT_FALSE(tx_one(&d, 300));			/* 1 -> 2: not yet */
	*used_event = 2;
	EXPECT_TRUE(tx_one(&d, VD_TIMEOUT_MS));		/* 2 -> 3 passes 2 */
	vd_fini(&d);
	close(tap);
	close(psock);
}

/* Without EVENT_IDX, VRING_AVAIL_F_NO_INTERRUPT suppresses the call. */
TEST(no_interrupt)
{
	int psock, tap = make_tap(&psock);
	struct vd d;

	if (access(dev_path(), F_OK))
		SKIP(return, "no %s", dev_path());
	ASSERT_LE(0, tap);
	ASSERT_EQ(0, vd_init(&d, open_dev(), 2));
	ASSERT_EQ(0, vd_setup(&d, FEATURES, 64));
	ASSERT_EQ(0, set_backend(d.fd, TX, tap));
	d.q[TX].avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	EXPECT_FALSE(tx_one(&d, 300));
	d.q[TX].avail->flags = 0;
	EXPECT_TRUE(tx_one(&d, VD_TIMEOUT_MS));
	vd_fini(&d);
	close(tap);
	close(psock);
}

/* Without MRG_RXBUF a frame too big for one buffer is dropped; the buffer stays. */
TEST(rx_too_big_dropped)
{
	int psock, tap = make_tap(&psock);
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1;
	unsigned char big[100], small[18], *buf;
	struct vring_used_elem e;
	struct vd d;
	int head;

	if (access(dev_path(), F_OK))
		SKIP(return, "no %s", dev_path());
	ASSERT_LE(0, tap);
	ASSERT_EQ(0, vd_init(&d, open_dev(), 2));
	ASSERT_EQ(0, vd_setup(&d, f, 64));
	ASSERT_EQ(0, set_backend(d.fd, RX, tap));
	buf = vd_alloc(&d, 32);
	head = vd_add(&d, RX, &(struct vd_buf){ buf, 32, true }, 1);
	vd_kick(&d, RX);
	send_frame(psock, big, make_frame(big, sizeof(big), 1));
	EXPECT_FALSE(vd_get_used(&d, RX, &e, 300));
	send_frame(psock, small, make_frame(small, sizeof(small), 2));
	ASSERT_TRUE(vd_get_used(&d, RX, &e, VD_TIMEOUT_MS));
	EXPECT_EQ(head, e.id);
	EXPECT_EQ(HDR + sizeof(small), e.len);
	EXPECT_EQ(0, memcmp(buf + HDR, small, sizeof(small)));
	vd_fini(&d);
	close(tap);
	close(psock);
}

/* A new memory table while the rings run: new addresses work, old ones fault. */
TEST_F(net, mem_table_replaced)
{
	struct {
		struct vhost_memory hdr;
		struct vhost_memory_region r;
	} m = {
		.hdr.nregions = 1,
		.r.guest_phys_addr = 2 * VD_GPA_BASE,
		.r.memory_size = VD_MEM_SIZE,
		.r.userspace_addr = (uintptr_t)self->d.mem,
	};
	unsigned char *pkt = vd_alloc(&self->d, HDR + 60);
	struct vring_desc *desc = self->d.q[TX].desc;
	struct vring_used_elem e;
	uint64_t off = pkt - self->d.mem;

	make_frame(pkt + HDR, 60, 0x40);
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_MEM_TABLE, &m));
	desc[0] = (struct vring_desc){ 2 * VD_GPA_BASE + off, HDR + 60, 0, 0 };
	vd_publish(&self->d, TX, 0);
	vd_kick(&self->d, TX);
	ASSERT_TRUE(vd_get_used(&self->d, TX, &e, VD_TIMEOUT_MS));
	EXPECT_EQ(0, e.id);
	/* the old guest-physical address is outside the table now */
	desc[1] = (struct vring_desc){ VD_GPA_BASE + off, HDR + 60, 0, 0 };
	vd_publish(&self->d, TX, 1);
	vd_kick(&self->d, TX);
	EXPECT_TRUE(vd_wait_err(&self->d, TX, VD_TIMEOUT_MS));
	EXPECT_EQ(1, vd_used_idx(&self->d, TX));
}

TEST_F(net, hostile_indirect_loop)
{
	struct vring_desc *desc = self->d.q[TX].desc;
	struct vring_desc *tab = vd_alloc(&self->d, 32);
	unsigned char *buf = vd_alloc(&self->d, 64);

	tab[0] = (struct vring_desc){ vd_gpa(&self->d, buf), 64, VRING_DESC_F_NEXT, 1 };
	tab[1] = (struct vring_desc){ vd_gpa(&self->d, buf), 64, VRING_DESC_F_NEXT, 0 };
	desc[0] = (struct vring_desc){ vd_gpa(&self->d, tab), 32, VRING_DESC_F_INDIRECT, 0 };
	vd_publish(&self->d, TX, 0);
	hostile_done(_metadata, &self->d);
}

TEST_F(net, hostile_rx_readable_buffer)
{
	unsigned char *buf = vd_alloc(&self->d, 2048), frame[60];
	struct vd_buf b = { buf, 2048, false };

	vd_add(&self->d, RX, &b, 1);
	vd_kick(&self->d, RX);
	send_frame(self->psock, frame, make_frame(frame, sizeof(frame), 3));
	EXPECT_TRUE(vd_wait_err(&self->d, RX, VD_TIMEOUT_MS));
	EXPECT_EQ(0, vd_used_idx(&self->d, RX));
}

/*
 * The dirty log must be reachable for every region once VHOST_F_LOG_ALL is
 * on: a kernel address as log base is taken while logging is off, then
 * refuses the feature, and is refused itself once logging is on.
 */
TEST_F(net, log_base_errnos)
{
	uint64_t kernel = 0xffff888000000000ULL, f;
	uint64_t *log = calloc(VD_MEM_SIZE / 4096 / 8 + 8, 1);
	uint64_t base = (uintptr_t)log - VD_GPA_BASE / 4096 / 8;

	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_GET_FEATURES, &f));
	f &= FEATURES | (1ULL << VHOST_NET_F_VIRTIO_NET_HDR);
	if (!variant->device_hdr)
		f &= ~(1ULL << VHOST_NET_F_VIRTIO_NET_HDR);
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_LOG_BASE, &kernel));
	f |= 1ULL << VHOST_F_LOG_ALL;
	EXPECT_EQ(-1, ioctl(self->d.fd, VHOST_SET_FEATURES, &f));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_LOG_BASE, &base));
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_FEATURES, &f));
	EXPECT_EQ(-1, ioctl(self->d.fd, VHOST_SET_LOG_BASE, &kernel));
	EXPECT_EQ(EFAULT, errno);
	free(log);
}

/* An Ethernet + IPv4 + UDP frame of 62 bytes, UDP checksum left to offload. */
static size_t make_udp(unsigned char *f)
{
	static const unsigned char head[34] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 48, 0, 0, 0, 0, 64, 17, 0, 0,
		10, 99, 0, 1, 10, 99, 0, 2,
	};
	uint32_t sum = 0;

	memset(f, 0, 62);
	memcpy(f, head, sizeof(head));
	for (int i = 14; i < 34; i += 2)
		sum += f[i] << 8 | f[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~((sum & 0xffff) + (sum >> 16)) & 0xffff;
	f[24] = sum >> 8;
	f[25] = sum & 0xff;
	f[35] = 0xe8;		/* ports 1000 -> 2000, length 28 */
	f[34] = 0x03;
	f[36] = 0x07;
	f[37] = 0xd0;
	f[39] = 28;
	memset(f + 42, 0x77, 20);
	return 62;
}

static int ip_socket(void)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = if_nametoindex(tap_name),
	};
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP)), one = 1;

	if (s < 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)))
		return -1;
	return s;
}

/*
 * Checksum offload from the guest: a frame whose header says NEEDS_CSUM
 * reaches the host stack with its checksum still partial, so the tap got
 * the header's fields (packet(7)'s TP_STATUS_CSUMNOTREADY).
 */
TEST_F(net, offload_csum_tx)
{
	unsigned char *pkt = vd_alloc(&self->d, HDR + 62), got[128];
	struct virtio_net_hdr *h = (void *)pkt;
	char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	struct iovec iov = { got, sizeof(got) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { .events = POLLIN };
	struct tpacket_auxdata *aux = NULL;
	struct vring_used_elem e;
	struct cmsghdr *c;

	if (variant->device_hdr)
		SKIP(return, "the device's own header carries no offloads");
	p.fd = ip_socket();
	ASSERT_LE(0, p.fd);
	make_udp(pkt + HDR);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = 34;
	h->csum_offset = 6;
	vd_add(&self->d, TX, &(struct vd_buf){ pkt, HDR + 62, false }, 1);
	vd_kick(&self->d, TX);
	ASSERT_TRUE(vd_get_used(&self->d, TX, &e, VD_TIMEOUT_MS));
	ASSERT_EQ(1, poll(&p, 1, VD_TIMEOUT_MS));
	ASSERT_EQ(62, recvmsg(p.fd, &msg, 0));
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA)
			aux = (void *)CMSG_DATA(c);
	ASSERT_NE(NULL, aux);
	EXPECT_TRUE(aux->tp_status & TP_STATUS_CSUMNOTREADY);
	close(p.fd);
}

/*
 * Checksum offload to the guest: a partial frame leaves the tap with
 * NEEDS_CSUM in the guest's header when the VMM enabled TUN_F_CSUM, and
 * checksummed, without it, when it did not.
 */
TEST_F(net, offload_csum_rx)
{
	unsigned char frame[HDR + 62] = { 0 }, *buf[2];
	struct virtio_net_hdr *sh = (void *)frame, *gh;
	struct vring_used_elem e;
	int s, one = 1;

	if (variant->device_hdr)
		SKIP(return, "the device's own header carries no offloads");
	s = ip_socket();
	ASSERT_LE(0, s);
	ASSERT_EQ(0, setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)));
	make_udp(frame + sizeof(*sh));
	sh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	sh->csum_start = 34;
	sh->csum_offset = 6;
	for (int i = 0; i < 2; i++) {
		buf[i] = vd_alloc(&self->d, 2048);
		vd_add(&self->d, RX, &(struct vd_buf){ buf[i], 2048, true }, 1);
	}
	vd_kick(&self->d, RX);
	ASSERT_EQ(0, ioctl(self->tap, TUNSETOFFLOAD, TUN_F_CSUM));
	ASSERT_EQ(sizeof(*sh) + 62, send(s, frame, sizeof(*sh) + 62, 0));
	ASSERT_TRUE(vd_get_used(&self->d, RX, &e, VD_TIMEOUT_MS));
	EXPECT_EQ(HDR + 62, e.len);
	gh = (void *)buf[0];
	EXPECT_TRUE(gh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	EXPECT_EQ(34, gh->csum_start);
	EXPECT_EQ(6, gh->csum_offset);
	ASSERT_EQ(0, ioctl(self->tap, TUNSETOFFLOAD, 0));
	ASSERT_EQ(sizeof(*sh) + 62, send(s, frame, sizeof(*sh) + 62, 0));
	ASSERT_TRUE(vd_get_used(&self->d, RX, &e, VD_TIMEOUT_MS));
	gh = (void *)buf[1];
	EXPECT_FALSE(gh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	EXPECT_NE(0, buf[1][HDR + 40] | buf[1][HDR + 41]);	/* filled in */
	close(s);
}

/*
 * The TX ring moved while it has a backend: the device goes on at the same
 * indices in the new place; a place outside user memory is EINVAL.
 */
TEST_F(net, rings_moved)
{
	struct vd_queue *q = &self->d.q[TX];
	struct vhost_vring_addr a = { .index = TX };
	struct vring_used_elem e;
	unsigned char *pkt;

	ASSERT_TRUE(tx_one(&self->d, VD_TIMEOUT_MS) || vd_used_idx(&self->d, TX) == 1);
	a.desc_user_addr = 0xffff888000000000ULL;
	a.avail_user_addr = (uintptr_t)q->avail;
	a.used_user_addr = (uintptr_t)q->used;
	EXPECT_EQ(-1, ioctl(self->d.fd, VHOST_SET_VRING_ADDR, &a));
	EXPECT_EQ(EINVAL, errno);
	q->desc = vd_alloc(&self->d, 16 * 64);
	q->avail = vd_alloc(&self->d, 6 + 2 * 64);
	q->used = vd_alloc(&self->d, 6 + 8 * 64);
	q->avail->idx = q->avail_idx;	/* the driver carries its indices over */
	q->used->idx = q->used_seen;
	a.desc_user_addr = (uintptr_t)q->desc;
	a.avail_user_addr = (uintptr_t)q->avail;
	a.used_user_addr = (uintptr_t)q->used;
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_VRING_ADDR, &a));
	pkt = vd_alloc(&self->d, HDR + 60);
	make_frame(pkt + HDR, 60, 0x60);
	vd_add(&self->d, TX, &(struct vd_buf){ pkt, HDR + 60, false }, 1);
	vd_kick(&self->d, TX);
	ASSERT_TRUE(vd_get_used(&self->d, TX, &e, VD_TIMEOUT_MS));
	EXPECT_EQ(2, vd_used_idx(&self->d, TX));
}

TEST_HARNESS_MAIN
