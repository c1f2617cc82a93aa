// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio_unit_test.c - host-run tests of okvm run's split virtqueue and
 * virtio device core (user/run/virtio.c), built with ASan and UBSan:
 * well-formed chains, direct and indirect, and a hostile driver's rings
 * (loops, chains longer than the queue, indexes jumping past the ring,
 * buffers outside guest memory, overflowing lengths), which must end in
 * an error and DEVICE_NEEDS_RESET, never in an access outside guest
 * memory; then random rings. And the PCI bus (user/run/pci.c) as the
 * guest drives it through ports 0xcf8/0xcfc and BARs.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "run/layout.h"
#include "run/pci.h"
#include "run/virtio.h"

#define GBASE		0x100000ULL	/* the fake guest's RAM starts at 1 MiB */
#define GSIZE		0x20000ULL
#define DESC		(GBASE + 0x0000)
#define AVAIL		(GBASE + 0x1000)
#define USED		(GBASE + 0x2000)
#define BUFS		(GBASE + 0x4000)
#define QSIZE		8

struct ring {
	struct guest_mem mem;
	uint8_t *ram;
	struct virtq vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

static void *hva(struct ring *r, uint64_t gpa)
{
	return r->ram + (gpa - GBASE);
}

static void ring_init(struct ring *r, bool event_idx, bool indirect)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->ram = calloc(1, GSIZE);
	r->mem.nr = 1;
	r->mem.r[0].gpa = GBASE;
	r->mem.r[0].size = GSIZE;
	r->mem.r[0].hva = r->ram;
	r->desc = hva(r, DESC);
	r->avail = hva(r, AVAIL);
	r->used = hva(r, USED);
	pthread_mutex_init(&r->vq.used_lock, NULL);
	r->vq.size = QSIZE;
	r->vq.desc_gpa = DESC;
	r->vq.avail_gpa = AVAIL;
	r->vq.used_gpa = USED;
	if (virtq_start(&r->vq, &r->mem, event_idx, indirect, err, sizeof(err)))
		abort();
}

static void set_desc(struct vring_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void offer(struct ring *r, uint16_t head)
{
	r->avail->ring[r->avail->idx % QSIZE] = head;
	r->avail->idx++;
}

/* pop must fail with @text in its message */
#define EXPECT_HOSTILE(r, text) do {					\
	struct virtq_chain *c_ = malloc(sizeof(*c_));			\
	char e_[256] = "";						\
	EXPECT_EQ(-1, virtq_pop(&(r)->vq, &(r)->mem, c_, e_, sizeof(e_))); \
	EXPECT_NE(NULL, strstr(e_, text)) TH_LOG("error: %s", e_);	\
	free(c_);							\
} while (0)

TEST(ring_placement)
{
	struct ring r;
	char err[256];

	ring_init(&r, false, false);
	r.vq.size = 6;
	EXPECT_EQ(-1, virtq_start(&r.vq, &r.mem, false, false, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "power of two"));
	r.vq.size = 512;
	EXPECT_EQ(-1, virtq_start(&r.vq, &r.mem, false, false, err, sizeof(err)));
	r.vq.size = QSIZE;
	r.vq.desc_gpa = DESC + 8;
	EXPECT_EQ(-1, virtq_start(&r.vq, &r.mem, false, false, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "misaligned"));
	r.vq.desc_gpa = GBASE + GSIZE - 16 * QSIZE + 16;	/* one too far */
	EXPECT_EQ(-1, virtq_start(&r.vq, &r.mem, false, false, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "outside guest memory"));
	EXPECT_EQ(NULL, r.vq.desc);
	r.vq.desc_gpa = GBASE + GSIZE - 16 * QSIZE;		/* just fits */
	EXPECT_EQ(0, virtq_start(&r.vq, &r.mem, false, false, err, sizeof(err)));
	r.vq.used_gpa = 0xfffffffffffffff0ULL;
	EXPECT_EQ(-1, virtq_start(&r.vq, &r.mem, false, false, err, sizeof(err)));
	r.vq.used_gpa = GBASE - 4;
	EXPECT_EQ(-1, virtq_start(&r.vq, &r.mem, false, false, err, sizeof(err)));
	/* the event index word after the used ring must fit too */
	r.vq.used_gpa = GBASE + GSIZE - (4 + 8 * QSIZE);
	EXPECT_EQ(0, virtq_start(&r.vq, &r.mem, false, false, err, sizeof(err)));
	EXPECT_EQ(-1, virtq_start(&r.vq, &r.mem, true, false, err, sizeof(err)));
	free(r.ram);
}

TEST(chain_out_in)
{
	struct virtq_chain *c = malloc(sizeof(*c));
	struct ring r;
	char err[256];

	ring_init(&r, false, false);
	EXPECT_EQ(0, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	set_desc(&r.desc[3], BUFS, 16, VRING_DESC_F_NEXT, 5);
	set_desc(&r.desc[5], BUFS + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0);
	set_desc(&r.desc[0], BUFS + 0x400, 1, VRING_DESC_F_WRITE, 0);
	offer(&r, 3);
	ASSERT_EQ(1, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	EXPECT_EQ(3, c->head);
	EXPECT_EQ(1, c->nr_out);
	EXPECT_EQ(2, c->nr_in);
	EXPECT_EQ(16, c->out_len);
	EXPECT_EQ(513, c->in_len);
	EXPECT_EQ(hva(&r, BUFS), c->iov[0].iov_base);
	EXPECT_EQ(hva(&r, BUFS + 0x400), c->iov[2].iov_base);
	EXPECT_EQ(0, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	/* no suppression: every completion interrupts */
	EXPECT_TRUE(virtq_push(&r.vq, 3, 513));
	EXPECT_EQ(1, r.used->idx);
	EXPECT_EQ(3, r.used->ring[0].id);
	EXPECT_EQ(513, r.used->ring[0].len);
	r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	EXPECT_FALSE(virtq_push(&r.vq, 3, 0));
	/* a zero-length buffer at the very end of memory is fine */
	set_desc(&r.desc[1], GBASE + GSIZE, 0, 0, 0);
	offer(&r, 1);
	EXPECT_EQ(1, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	free(c);
	free(r.ram);
}

TEST(full_length_chain)
{
	struct virtq_chain *c = malloc(sizeof(*c));
	struct ring r;
	char err[256];
	int i;

	ring_init(&r, false, false);
	for (i = 0; i < QSIZE - 1; i++)
		set_desc(&r.desc[i], BUFS + i, 1, VRING_DESC_F_NEXT, i + 1);
	set_desc(&r.desc[QSIZE - 1], BUFS, 1, 0, 0);
	offer(&r, 0);
	EXPECT_EQ(1, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	EXPECT_EQ(QSIZE, c->nr_out);
	free(c);
	free(r.ram);
}

TEST(hostile_loops_and_indexes)
{
	struct ring r;

	ring_init(&r, false, false);
	set_desc(&r.desc[0], BUFS, 1, VRING_DESC_F_NEXT, 1);
	set_desc(&r.desc[1], BUFS, 1, VRING_DESC_F_NEXT, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "loop");

	ring_init(&r, false, false);
	set_desc(&r.desc[0], BUFS, 1, VRING_DESC_F_NEXT, 0);	/* self */
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "loop");

	ring_init(&r, false, false);
	set_desc(&r.desc[0], BUFS, 1, VRING_DESC_F_NEXT, QSIZE);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "past the queue size");

	ring_init(&r, false, false);
	offer(&r, QSIZE + 3);
	EXPECT_HOSTILE(&r, "head descriptor");

	ring_init(&r, false, false);
	r.avail->idx = QSIZE + 1;
	EXPECT_HOSTILE(&r, "jumped");

	ring_init(&r, false, false);
	r.avail->idx = 0xffff;		/* backwards is a jump too */
	EXPECT_HOSTILE(&r, "jumped");

	ring_init(&r, false, false);
	set_desc(&r.desc[0], BUFS, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(&r.desc[1], BUFS, 4, 0, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "readable descriptor after");
	free(r.ram);
}

TEST(hostile_buffers)
{
	static const struct { uint64_t addr; uint32_t len; } bad[] = {
		{ 0, 1 },				/* below RAM */
		{ GBASE - 1, 2 },			/* straddles the start */
		{ GBASE + GSIZE - 1, 2 },		/* straddles the end */
		{ GBASE + GSIZE, 1 },
		{ 0xffffffffffffff00ULL, 0x200 },	/* wraps */
		{ GBASE, 0xffffffff },			/* overflowing length */
		{ 0xffffffffffffffffULL, 1 },
	};
	struct ring r;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ring_init(&r, false, false);
		set_desc(&r.desc[0], bad[i].addr, bad[i].len, 0, 0);
		offer(&r, 0);
		EXPECT_HOSTILE(&r, "outside guest memory");
		free(r.ram);
	}
}

TEST(indirect)
{
	struct virtq_chain *c = malloc(sizeof(*c));
	struct vring_desc *t;
	struct ring r;
	char err[256];

	ring_init(&r, false, true);
	t = hva(&r, BUFS + 0x1000);
	set_desc(&t[0], BUFS, 16, VRING_DESC_F_NEXT, 2);
	set_desc(&t[2], BUFS + 0x200, 100, VRING_DESC_F_WRITE, 0);
	set_desc(&r.desc[4], BUFS + 0x1000, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&r, 4);
	ASSERT_EQ(1, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	EXPECT_EQ(4, c->head);
	EXPECT_EQ(1, c->nr_out);
	EXPECT_EQ(1, c->nr_in);
	EXPECT_EQ(100, c->in_len);

	/* the same ring without the feature negotiated */
	ring_init(&r, false, false);
	t = hva(&r, BUFS + 0x1000);
	set_desc(&t[0], BUFS, 16, 0, 0);
	set_desc(&r.desc[4], BUFS + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	offer(&r, 4);
	EXPECT_HOSTILE(&r, "without VIRTIO_F_INDIRECT_DESC");

	ring_init(&r, false, true);
	t = hva(&r, BUFS + 0x1000);
	set_desc(&t[0], BUFS, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], BUFS, 16, VRING_DESC_F_NEXT, 0);
	set_desc(&r.desc[0], BUFS + 0x1000, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "loop in an indirect table");

	ring_init(&r, false, true);
	t = hva(&r, BUFS + 0x1000);
	set_desc(&t[0], BUFS + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(&r.desc[0], BUFS + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "nested");

	ring_init(&r, false, true);
	t = hva(&r, BUFS + 0x1000);
	set_desc(&t[0], BUFS, 16, VRING_DESC_F_NEXT, 5);
	set_desc(&r.desc[0], BUFS + 0x1000, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "past the table");

	ring_init(&r, false, true);
	set_desc(&r.desc[0], BUFS + 0x1000, 24, VRING_DESC_F_INDIRECT, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "indirect table of 24 bytes");

	ring_init(&r, false, true);
	set_desc(&r.desc[0], BUFS + 0x1000, 16 * (QSIZE + 1), VRING_DESC_F_INDIRECT, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "indirect table of");

	ring_init(&r, false, true);
	set_desc(&r.desc[0], BUFS + 0x1000, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "with NEXT");

	ring_init(&r, false, true);
	set_desc(&r.desc[0], 0xfffffffffffffff0ULL, 32, VRING_DESC_F_INDIRECT, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "outside guest memory");

	ring_init(&r, false, true);
	set_desc(&r.desc[0], BUFS, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&r.desc[1], BUFS + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	offer(&r, 0);
	EXPECT_HOSTILE(&r, "inside a chain");
	free(c);
	free(r.ram);
}

TEST(event_idx)
{
	struct virtq_chain *c = malloc(sizeof(*c));
	struct ring r;
	char err[256];

	ring_init(&r, true, false);
	/* an empty ring asks for a kick at the next entry (avail_event) */
	EXPECT_EQ(0, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	EXPECT_EQ(0, r.used->ring[QSIZE].id & 0xffff);
	set_desc(&r.desc[0], BUFS, 8, VRING_DESC_F_WRITE, 0);
	offer(&r, 0);
	offer(&r, 0);
	offer(&r, 0);
	EXPECT_EQ(1, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	EXPECT_EQ(1, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	EXPECT_EQ(1, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	EXPECT_EQ(0, virtq_pop(&r.vq, &r.mem, c, err, sizeof(err)));
	EXPECT_EQ(3, *(uint16_t *)&r.used->ring[QSIZE]);
	/* used_event = 1: interrupt when the used index passes 1 */
	r.avail->ring[QSIZE] = 1;
	EXPECT_FALSE(virtq_push(&r.vq, 0, 8));		/* idx 0 -> 1 */
	EXPECT_TRUE(virtq_push(&r.vq, 0, 8));		/* 1 -> 2 */
	EXPECT_FALSE(virtq_push(&r.vq, 0, 8));		/* 2 -> 3 */
	free(c);
	free(r.ram);
}

static int log_lines;
static char last_line[512];

static void count_log(const char *line)
{
	log_lines++;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

static int started, stopped, config_irqs;

static int t_start(struct virtio_dev *d)
{
	started++;
	return 0;
}

static void t_stop(struct virtio_dev *d)
{
	stopped++;
}

static void t_config_irq(struct virtio_dev *d)
{
	config_irqs++;
}

static const struct virtio_dev_ops test_ops = {
	.name = "virtio-test",
	.device_id = 4,
	.nr_queues = 1,
	.start = t_start,
	.stop = t_stop,
};

static const struct virtio_transport_ops test_tops = {
	.config_irq = t_config_irq,
};

TEST(device_status)
{
	struct virtio_dev *d = malloc(sizeof(*d));
	struct ring r;
	char err[256];
	uint8_t ok = VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FEATURES_OK;

	ring_init(&r, false, false);
	virtio_log = count_log;
	virtio_dev_init(d, &test_ops, NULL, &r.mem);
	d->tops = &test_tops;
	/* features not offered, or no VERSION_1: FEATURES_OK does not stick */
	d->driver_features = 1ULL << 40 | 1ULL << VIRTIO_F_VERSION_1;
	virtio_set_status(d, ok);
	EXPECT_FALSE(d->status & VIRTIO_FEATURES_OK);
	d->driver_features = 1ULL << VIRTIO_RING_F_EVENT_IDX;
	virtio_set_status(d, ok);
	EXPECT_FALSE(d->status & VIRTIO_FEATURES_OK);
	d->driver_features = 1ULL << VIRTIO_F_VERSION_1;
	virtio_set_status(d, ok);
	EXPECT_TRUE(d->status & VIRTIO_FEATURES_OK);

	/* a ring outside memory at DRIVER_OK: NEEDS_RESET, one line */
	d->vq[0].size = QSIZE;
	d->vq[0].enabled = true;
	d->vq[0].desc_gpa = GBASE + GSIZE;
	d->vq[0].avail_gpa = AVAIL;
	d->vq[0].used_gpa = USED;
	virtio_set_status(d, ok | VIRTIO_DRIVER_OK);
	EXPECT_TRUE(d->status & VIRTIO_NEEDS_RESET);
	EXPECT_FALSE(d->status & VIRTIO_DRIVER_OK);
	EXPECT_EQ(0, started);
	EXPECT_EQ(1, log_lines);
	EXPECT_NE(NULL, strstr(last_line, "virtio-test: queue 0: ring outside"));
	EXPECT_EQ(1, config_irqs);
	/* nothing but a reset brings it back; no second line */
	virtio_dev_fail(d, "again");
	virtio_set_status(d, ok | VIRTIO_DRIVER_OK);
	EXPECT_TRUE(d->status & VIRTIO_NEEDS_RESET);
	EXPECT_EQ(1, log_lines);
	virtio_set_status(d, 0);
	EXPECT_EQ(0, d->status);
	EXPECT_FALSE(d->vq[0].enabled);

	/* a good start, then a hostile ring: the backend is stopped */
	d->driver_features = 1ULL << VIRTIO_F_VERSION_1;
	virtio_set_status(d, ok);
	d->vq[0].size = QSIZE;
	d->vq[0].enabled = true;
	d->vq[0].desc_gpa = DESC;
	d->vq[0].avail_gpa = AVAIL;
	d->vq[0].used_gpa = USED;
	virtio_set_status(d, ok | VIRTIO_DRIVER_OK);
	EXPECT_EQ(1, started);
	EXPECT_TRUE(virtio_dev_live(d, d->generation));
	virtio_dev_fail(d, "test %d", 1);
	EXPECT_EQ(1, stopped);
	EXPECT_FALSE(virtio_dev_live(d, d->generation));
	EXPECT_EQ(2, log_lines);
	virtio_set_status(d, 0);
	EXPECT_EQ(1, stopped);
	EXPECT_TRUE(virtq_start(&d->vq[0], &r.mem, false, false, err, sizeof(err)));
	virtio_log = NULL;
	free(d);
	free(r.ram);
}

/*
 * Random rings: whatever the driver writes, pop either fails or hands
 * out segments inside guest memory, and never more than the queue size.
 */
TEST(random_rings)
{
	struct virtq_chain *c = malloc(sizeof(*c));
	unsigned int iter, i, k, good = 0, bad = 0;
	struct ring r;
	char err[256];
	int ret;

	srandom(12);
	ring_init(&r, false, true);
	for (iter = 0; iter < 20000; iter++) {
		uint8_t *p = (uint8_t *)r.desc;

		for (i = 0; i < 16 * QSIZE; i++)
			p[i] = random();
		for (i = 0; i < QSIZE; i++) {
			/* mostly plausible addresses, so walks get deep */
			if (random() % 4)
				r.desc[i].addr = GBASE + random() % GSIZE;
			if (random() % 4)
				r.desc[i].len = random() % 0x2000;
			if (random() % 2)
				r.desc[i].next = random() % (QSIZE + 1);
			if (random() % 8 == 0) {
				r.desc[i].addr = BUFS + 0x1000;
				r.desc[i].len = 16 * (random() % (QSIZE + 2));
			}
		}
		for (i = 0; i < 0x200; i++)
			((uint8_t *)hva(&r, BUFS + 0x1000))[i] = random();
		r.vq.last_avail = random() % 4;
		r.avail->idx = r.vq.last_avail + random() % (QSIZE + 3);
		for (i = 0; i < QSIZE; i++)
			r.avail->ring[i] = random() % (QSIZE + 2);
		err[0] = 0;
		ret = virtq_pop(&r.vq, &r.mem, c, err, sizeof(err));
		ASSERT_EQ(0, ret == -1 && !err[0]);
		bad += ret == -1;
		if (ret != 1)
			continue;
		good++;
		ASSERT_LE(c->nr_out + c->nr_in, QSIZE);
		for (k = 0; k < c->nr_out + c->nr_in; k++) {
			uint8_t *b = c->iov[k].iov_base;

			ASSERT_TRUE(b >= r.ram && b + c->iov[k].iov_len <= r.ram + GSIZE);
		}
	}
	/* both outcomes happen, or the rings were not random enough */
	EXPECT_LT(100, good);
	EXPECT_LT(100, bad);
	free(c);
	free(r.ram);
}

TEST(iov_copy)
{
	uint8_t a[3], b[5], out[8];
	struct iovec iov[2] = { { a, 3 }, { b, 5 } };

	EXPECT_EQ(6, iov_from_buf(iov, 2, 2, "abcdef", 6));
	EXPECT_EQ('a', a[2]);
	EXPECT_EQ('f', b[4]);
	EXPECT_EQ(4, iov_to_buf(iov, 2, 4, out, 8));
	EXPECT_EQ(0, memcmp(out, "cdef", 4));
	EXPECT_EQ(0, iov_to_buf(iov, 2, 9, out, 8));
}

static uint32_t cfg_read(struct pci_bus *b, unsigned int slot,
			 unsigned int reg, unsigned int size)
{
	uint8_t d[4] = { 0 };

	pci_put32(d, 0x80000000u | slot << 11 | (reg & 0xfc));
	pci_io(b, PCI_CONFIG_ADDR, 4, true, d);
	memset(d, 0, 4);
	pci_io(b, PCI_CONFIG_DATA + (reg & 3), size, false, d);
	return pci_get32(d);
}

static void cfg_write(struct pci_bus *b, unsigned int slot,
		      unsigned int reg, unsigned int size, uint32_t v)
{
	uint8_t d[4];

	pci_put32(d, 0x80000000u | slot << 11 | (reg & 0xfc));
	pci_io(b, PCI_CONFIG_ADDR, 4, true, d);
	pci_put32(d, v);
	pci_io(b, PCI_CONFIG_DATA + (reg & 3), size, true, d);
}

static int mmio_calls, cfg_calls;
static uint64_t mmio_off;

static void t_mmio(struct pci_dev *p, uint64_t off, bool write,
		   uint8_t *data, unsigned int len)
{
	mmio_calls++;
	mmio_off = off;
}

static void t_cfg(struct pci_dev *p, unsigned int off, unsigned int len)
{
	cfg_calls++;
}

TEST(pci_config)
{
	struct pci_bus *b = malloc(sizeof(*b));
	struct pci_dev *p = malloc(sizeof(*p)), *q = malloc(sizeof(*q));
	uint8_t d[8];
	unsigned int c1, c2;

	pci_bus_init(b);
	/* Linux's conf1 probe: the address register reads back */
	pci_put32(d, 0x80000000u);
	EXPECT_TRUE(pci_io(b, PCI_CONFIG_ADDR, 4, true, d));
	memset(d, 0, 4);
	EXPECT_TRUE(pci_io(b, PCI_CONFIG_ADDR, 4, false, d));
	EXPECT_EQ(0x80000000u, pci_get32(d));
	EXPECT_FALSE(pci_io(b, 0xcf7, 1, false, d));
	EXPECT_FALSE(pci_io(b, 0xd00, 1, false, d));
	/* the host bridge, and nothing else yet */
	EXPECT_EQ(0x00081b36u, cfg_read(b, 0, 0, 4));
	EXPECT_EQ(0x0600, cfg_read(b, 0, 0x0a, 2) & 0xffff);
	EXPECT_EQ(0xffffffffu, cfg_read(b, 1, 0, 4));
	EXPECT_EQ(0xffffffffu, cfg_read(b, 31, 0, 4));

	ASSERT_EQ(0, pci_dev_add(b, p, 0x1af4, 0x1042, 0x018000, 2, 0x8000));
	p->mmio = t_mmio;
	p->cfg_written = t_cfg;
	c1 = pci_cap_add(p, 0x09, 16);
	c2 = pci_cap_add(p, 0x11, 12);
	EXPECT_EQ(0x40, c1);
	EXPECT_EQ(0x50, c2);
	EXPECT_EQ(0x10421af4u, cfg_read(b, 1, 0, 4));
	EXPECT_EQ(0x10, cfg_read(b, 1, 0x06, 2) & 0x10);	/* cap list */
	EXPECT_EQ(0x40, cfg_read(b, 1, 0x34, 1) & 0xff);
	EXPECT_EQ(0x5009, cfg_read(b, 1, 0x40, 2) & 0xffff);
	EXPECT_EQ(0x0011, cfg_read(b, 1, 0x50, 2) & 0xffff);
	/* another function or bus: nothing */
	pci_put32(d, 0x80000000u | 1 << 11 | 1 << 8);
	pci_io(b, PCI_CONFIG_ADDR, 4, true, d);
	pci_io(b, PCI_CONFIG_DATA, 4, false, d);
	EXPECT_EQ(0xffffffffu, pci_get32(d));
	pci_put32(d, 0x80000000u | 1 << 16 | 1 << 11);
	pci_io(b, PCI_CONFIG_ADDR, 4, true, d);
	pci_io(b, PCI_CONFIG_DATA, 4, false, d);
	EXPECT_EQ(0xffffffffu, pci_get32(d));
	/* disabled config cycles (bit 31 clear) reach nobody */
	pci_put32(d, 1 << 11);
	pci_io(b, PCI_CONFIG_ADDR, 4, true, d);
	pci_io(b, PCI_CONFIG_DATA, 4, false, d);
	EXPECT_EQ(0xffffffffu, pci_get32(d));

	/* read-only: IDs; writable: command, BAR, interrupt line */
	cfg_write(b, 1, 0, 4, 0);
	EXPECT_EQ(0x10421af4u, cfg_read(b, 1, 0, 4));
	EXPECT_EQ(0, cfg_calls);
	/* BAR sizing: all-ones reads back the size mask */
	EXPECT_EQ(PCI_MMIO_START, cfg_read(b, 1, 0x10, 4));
	cfg_write(b, 1, 0x10, 4, 0xffffffff);
	EXPECT_EQ(0xffff8000u, cfg_read(b, 1, 0x10, 4));
	EXPECT_EQ(1, cfg_calls);
	cfg_write(b, 1, 0x10, 4, 0xd0000000);
	/* memory decoding off: the BAR answers nothing */
	EXPECT_FALSE(pci_mmio(b, 0xd0000000, 4, false, d));
	cfg_write(b, 1, 0x04, 2, 0xffff);
	EXPECT_EQ(0x0407, cfg_read(b, 1, 0x04, 2) & 0xffff);
	EXPECT_TRUE(pci_mmio(b, 0xd0000010, 4, false, d));
	EXPECT_EQ(1, mmio_calls);
	EXPECT_EQ(0x10, mmio_off);
	EXPECT_TRUE(pci_mmio(b, 0xd0007ffc, 4, false, d));
	EXPECT_FALSE(pci_mmio(b, 0xd0007ffe, 4, false, d));	/* straddles */
	EXPECT_FALSE(pci_mmio(b, 0xd0008000, 4, false, d));
	EXPECT_FALSE(pci_mmio(b, 0xcffffffc, 8, false, d));
	/* an access across the dword at 0xcfc reads all-ones */
	EXPECT_EQ(0xffff, cfg_read(b, 1, 0x03, 2) & 0xffff);

	/* the next device's BAR is naturally aligned after the first */
	ASSERT_EQ(0, pci_dev_add(b, q, 0x1af4, 0x1044, 0xff0000, 4, 0x8000));
	EXPECT_EQ(PCI_MMIO_START + 0x8000, cfg_read(b, 2, 0x10, 4));
	EXPECT_EQ(-1, pci_dev_add(b, q, 0x1af4, 0x1044, 0xff0000, 4, 0x3000));
	free(q);
	free(p);
	free(b);
}

/* random config cycles: never outside the 256 bytes, never a crash */
TEST(pci_random)
{
	struct pci_bus *b = malloc(sizeof(*b));
	struct pci_dev *p = malloc(sizeof(*p));
	static const unsigned int sizes[] = { 1, 2, 4 };
	unsigned int i, size;
	uint8_t d[8];

	pci_bus_init(b);
	ASSERT_EQ(0, pci_dev_add(b, p, 0x1af4, 0x1042, 0x018000, 2, 0x8000));
	srandom(7);
	for (i = 0; i < 200000; i++) {
		size = sizes[random() % 3];
		pci_put32(d, random());
		pci_io(b, 0xcf8 + random() % 8, size, random() % 2, d);
	}
	/* the IDs survive */
	EXPECT_EQ(0x10421af4u, cfg_read(b, 1, 0, 4));
	free(p);
	free(b);
}

TEST_HARNESS_MAIN
