// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost_blk_test - /dev/okvm-vhost-blk driven by a user-space virtio-blk
 * driver (vring_driver.c) over a regular file and over a loop device:
 * IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES, indirect chains,
 * EVENT_IDX, the dirty log, and its own ioctls' errnos; and many requests
 * in flight at once from O_DIRECT loop and null_blk devices (asynchronous
 * completion), on two queues (VIRTIO_BLK_F_MQ), with the owner resetting
 * or killed meanwhile. okvm only: Linux has no vhost-blk to compare with.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/loop.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <okvm/vhost_blk.h>

#include "kselftest_harness.h"
#include "vring_driver.h"

#define DISK_SECTORS	2048		/* 1 MiB */
#define BLK_DEV		"/dev/okvm-vhost-blk"

static unsigned char pattern(uint64_t off)
{
	return (unsigned char)(off * 7 + (off >> 9));
}

/* A 1 MiB file filled with pattern(), or a loop device over one. */
static int make_disk(bool loop, char *path, int *loopfd)
{
	static unsigned char buf[DISK_SECTORS * 512];
	int fd, ctl, n;

	strcpy(path, "/tmp/vhost-blk.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	if (write(fd, buf, sizeof(buf)) != sizeof(buf))
		return -1;
	*loopfd = -1;
	if (!loop)
		return fd;
	ctl = open("/dev/loop-control", O_RDWR);
	if (ctl < 0)
		return -2;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0)
		return -2;
	snprintf(path, 64, "/dev/loop%d", n);
	*loopfd = open(path, O_RDWR);
	if (*loopfd < 0)
		return -2;
	if (ioctl(*loopfd, LOOP_SET_FD, fd) < 0)
		return -2;
	close(fd);
	return *loopfd;
}

FIXTURE(blk) {
	struct vd d;
	int disk;
	int loopfd;
	char path[64];
	struct virtio_blk_outhdr *hdr;
	unsigned char *data;
	unsigned char *status;
};

FIXTURE_VARIANT(blk) {
	bool loop;
};

FIXTURE_VARIANT_ADD(blk, file) { .loop = false };
FIXTURE_VARIANT_ADD(blk, loop) { .loop = true };

static int attach(struct vd *d, int fd)
{
	struct vhost_vring_file b = { .index = 0, .fd = fd };

	return ioctl(d->fd, OKVM_VHOST_BLK_SET_BACKEND, &b) ? -errno : 0;
}

FIXTURE_SETUP(blk)
{
	int fd = open(BLK_DEV, O_RDWR);
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	if (fd < 0)
		SKIP(return, "no " BLK_DEV " (okvm-vhost.ko not loaded)");
	self->disk = make_disk(variant->loop, self->path, &self->loopfd);
	if (self->disk == -2)
		SKIP(return, "no loop device");
	ASSERT_GE(self->disk, 0);
	ASSERT_EQ(0, vd_init(&self->d, fd, 1));
	ASSERT_EQ(0, vd_setup(&self->d, f, 64));
	ASSERT_EQ(0, attach(&self->d, self->disk));
	self->hdr = vd_alloc(&self->d, sizeof(*self->hdr));
	self->data = vd_alloc(&self->d, 64 * 1024);
	self->status = vd_alloc(&self->d, 1);
}

FIXTURE_TEARDOWN(blk)
{
	if (!self->d.mem)
		return;
	vd_fini(&self->d);
	if (self->loopfd >= 0) {
		ioctl(self->loopfd, LOOP_CLR_FD);
		close(self->loopfd);
	} else if (self->disk >= 0) {
		close(self->disk);
		unlink(self->path);
	}
}

/* One request; returns the used length, or -1 when none came. */
static int request(struct vd *d, struct virtio_blk_outhdr *hdr, uint32_t type,
		   uint64_t sector, void *data, uint32_t len, bool write_data,
		   unsigned char *status, bool indirect)
{
	struct vd_buf b[3] = {
		{ hdr, sizeof(*hdr), false },
		{ data, len, write_data },
		{ status, 1, true },
	};
	struct vring_used_elem e;
	int head;

	hdr->type = type;
	hdr->ioprio = 0;
	hdr->sector = sector;
	*status = 0xff;
	if (len)
		head = indirect ? vd_add_indirect(d, 0, b, 3) : vd_add(d, 0, b, 3);
	else
		head = vd_add(d, 0, (struct vd_buf[]){ b[0], b[2] }, 2);
	vd_kick(d, 0);
	if (!vd_get_used(d, 0, &e, VD_TIMEOUT_MS) || e.id != (uint32_t)head)
		return -1;
	return e.len;
}

TEST_F(blk, read)
{
	ASSERT_EQ(4096 + 1, request(&self->d, self->hdr, VIRTIO_BLK_T_IN, 3,
				    self->data, 4096, true, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *self->status);
	for (int i = 0; i < 4096; i++)
		ASSERT_EQ(pattern(3 * 512 + i), self->data[i]);
}

TEST_F(blk, read_indirect)
{
	ASSERT_EQ(512 + 1, request(&self->d, self->hdr, VIRTIO_BLK_T_IN, 100,
				   self->data, 512, true, self->status, true));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *self->status);
	for (int i = 0; i < 512; i++)
		ASSERT_EQ(pattern(100 * 512 + i), self->data[i]);
}

TEST_F(blk, write_flush)
{
	unsigned char back[1024];

	memset(self->data, 0x5a, 1024);
	ASSERT_EQ(1, request(&self->d, self->hdr, VIRTIO_BLK_T_OUT, 10,
			     self->data, 1024, false, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *self->status);
	ASSERT_EQ(1, request(&self->d, self->hdr, VIRTIO_BLK_T_FLUSH, 0,
			     NULL, 0, false, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *self->status);
	ASSERT_EQ(1024, pread(self->disk, back, 1024, 10 * 512));
	for (int i = 0; i < 1024; i++)
		ASSERT_EQ(0x5a, back[i]);
	/* and the neighbours are untouched */
	ASSERT_EQ(1, pread(self->disk, back, 1, 12 * 512));
	EXPECT_EQ(pattern(12 * 512), back[0]);
}

TEST_F(blk, get_id)
{
	char id[OKVM_VHOST_BLK_ID_BYTES] = "serial-42";

	ASSERT_EQ(20 + 1, request(&self->d, self->hdr, VIRTIO_BLK_T_GET_ID, 0,
				  self->data, 20, true, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *self->status);
	EXPECT_EQ(0, strcmp((char *)self->data, "okvm-vhost-blk"));
	ASSERT_EQ(0, ioctl(self->d.fd, OKVM_VHOST_BLK_SET_ID, id));
	ASSERT_EQ(20 + 1, request(&self->d, self->hdr, VIRTIO_BLK_T_GET_ID, 0,
				  self->data, 20, true, self->status, false));
	EXPECT_EQ(0, memcmp(self->data, id, 20));
}

TEST_F(blk, out_of_range_and_unsupported)
{
	/* the last sector reads, one past it does not */
	ASSERT_EQ(512 + 1, request(&self->d, self->hdr, VIRTIO_BLK_T_IN,
				   DISK_SECTORS - 1, self->data, 512, true,
				   self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *self->status);
	ASSERT_LE(1, request(&self->d, self->hdr, VIRTIO_BLK_T_IN, DISK_SECTORS,
			     self->data, 512, true, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, *self->status);
	ASSERT_EQ(1, request(&self->d, self->hdr, VIRTIO_BLK_T_OUT, ~0ULL,
			     self->data, 512, false, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, *self->status);
	/* not whole sectors */
	ASSERT_LE(1, request(&self->d, self->hdr, VIRTIO_BLK_T_IN, 0,
			     self->data, 100, true, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, *self->status);
	ASSERT_EQ(1, request(&self->d, self->hdr, 0x1234, 0, NULL, 0, false,
			     self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_UNSUPP, *self->status);
}

TEST_F(blk, write_zeroes_discard)
{
	struct virtio_blk_discard_write_zeroes *seg = (void *)self->data;
	unsigned char back[512];

	seg->sector = 20;
	seg->num_sectors = 2;
	seg->flags = 0;
	ASSERT_EQ(1, request(&self->d, self->hdr, VIRTIO_BLK_T_WRITE_ZEROES, 0,
			     seg, sizeof(*seg), false, self->status, false));
	if (*self->status == VIRTIO_BLK_S_UNSUPP)
		SKIP(return, "the backing file cannot zero ranges");
	ASSERT_EQ(VIRTIO_BLK_S_OK, *self->status);
	ASSERT_EQ(512, pread(self->disk, back, 512, 21 * 512));
	for (int i = 0; i < 512; i++)
		ASSERT_EQ(0, back[i]);
	ASSERT_EQ(512, pread(self->disk, back, 512, 22 * 512));
	EXPECT_EQ(pattern(22 * 512), back[0]);
	seg->sector = DISK_SECTORS - 1;
	seg->num_sectors = 2;
	ASSERT_EQ(1, request(&self->d, self->hdr, VIRTIO_BLK_T_DISCARD, 0,
			     seg, sizeof(*seg), false, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, *self->status);
}

TEST_F(blk, config_and_readonly)
{
	struct okvm_vhost_blk_config cfg;
	int ro;

	ASSERT_EQ(0, ioctl(self->d.fd, OKVM_VHOST_BLK_GET_CONFIG, &cfg));
	EXPECT_EQ(DISK_SECTORS, cfg.capacity);
	EXPECT_EQ(512, cfg.blk_size);
	EXPECT_LE(64, cfg.seg_max);
	EXPECT_EQ(0, cfg.flags);
	EXPECT_EQ(OKVM_VHOST_BLK_VQ_MAX, cfg.num_queues);
	ro = open(self->path, O_RDONLY);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, attach(&self->d, ro));
	close(ro);
	ASSERT_EQ(0, ioctl(self->d.fd, OKVM_VHOST_BLK_GET_CONFIG, &cfg));
	EXPECT_EQ(OKVM_VHOST_BLK_F_RO, cfg.flags);
	ASSERT_EQ(1, request(&self->d, self->hdr, VIRTIO_BLK_T_OUT, 0,
			     self->data, 512, false, self->status, false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, *self->status);
	ASSERT_EQ(0, attach(&self->d, -1));
	EXPECT_EQ(-1, ioctl(self->d.fd, OKVM_VHOST_BLK_GET_CONFIG, &cfg));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(blk, backend_errnos)
{
	struct vhost_vring_file b = { .index = OKVM_VHOST_BLK_VQ_MAX, .fd = self->disk };
	int efd = eventfd(0, 0);

	EXPECT_EQ(-1, ioctl(self->d.fd, OKVM_VHOST_BLK_SET_BACKEND, &b));
	EXPECT_EQ(ENOBUFS, errno);
	/* queue 1 (VIRTIO_BLK_F_MQ) exists, but has no rings set up */
	b.index = 1;
	EXPECT_EQ(-1, ioctl(self->d.fd, OKVM_VHOST_BLK_SET_BACKEND, &b));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-EBADF, attach(&self->d, 999));
	EXPECT_EQ(-EINVAL, attach(&self->d, efd));
	close(efd);
}

TEST_F(blk, event_idx_and_dirty_log)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		     (1ULL << VHOST_F_LOG_ALL);
	uint64_t *log = calloc(VD_MEM_SIZE / 4096 / 64 + 1, 8);
	uint64_t base = (uintptr_t)log;
	uint64_t page = vd_gpa(&self->d, self->data) / 4096;
	int logfd = eventfd(0, EFD_NONBLOCK);
	uint64_t v;

	ASSERT_EQ(0, attach(&self->d, -1));
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_FEATURES, &f));
	/* the bitmap is indexed by guest page from guest-physical 0 */
	base -= VD_GPA_BASE / 4096 / 8;
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_LOG_BASE, &base));
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_LOG_FD, &logfd));
	ASSERT_EQ(0, attach(&self->d, self->disk));
	/* used_event 0: the first used entry earns a call */
	ASSERT_EQ(512 + 1, request(&self->d, self->hdr, VIRTIO_BLK_T_IN, 1,
				   self->data, 512, true, self->status, false));
	page -= VD_GPA_BASE / 4096;
	EXPECT_TRUE(log[page / 64] & (1ULL << (page % 64)));
	EXPECT_EQ(8, read(logfd, &v, 8));
	close(logfd);
	free(log);
}

/* A buffer across two regions: contiguous guest-physical, apart in user memory. */
TEST_F(blk, buffer_across_regions)
{
	size_t half = VD_MEM_SIZE / 2;
	unsigned char *other = mmap(NULL, half, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct {
		struct vhost_memory hdr;
		struct vhost_memory_region r[2];
	} m = {
		.hdr.nregions = 2,
		.r[0] = { VD_GPA_BASE, half, (uintptr_t)self->d.mem, 0 },
		.r[1] = { VD_GPA_BASE + half, half, (uintptr_t)other, 0 },
	};
	struct vring_desc *desc = self->d.q[0].desc;
	struct vring_used_elem e;

	ASSERT_NE(MAP_FAILED, other);
	ASSERT_LT(self->d.heap, half - 4096);
	ASSERT_EQ(0, ioctl(self->d.fd, VHOST_SET_MEM_TABLE, &m));
	self->hdr->type = VIRTIO_BLK_T_IN;
	self->hdr->sector = 8;
	desc[0] = (struct vring_desc){ vd_gpa(&self->d, self->hdr), 16, VRING_DESC_F_NEXT, 1 };
	desc[1] = (struct vring_desc){ VD_GPA_BASE + half - 2048, 4096,
				       VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
	desc[2] = (struct vring_desc){ vd_gpa(&self->d, self->status), 1, VRING_DESC_F_WRITE, 0 };
	vd_publish(&self->d, 0, 0);
	vd_kick(&self->d, 0);
	ASSERT_TRUE(vd_get_used(&self->d, 0, &e, VD_TIMEOUT_MS));
	EXPECT_EQ(4096 + 1, e.len);
	EXPECT_EQ(VIRTIO_BLK_S_OK, *self->status);
	for (int i = 0; i < 2048; i++) {
		ASSERT_EQ(pattern(8 * 512 + i), self->d.mem[half - 2048 + i]);
		ASSERT_EQ(pattern(8 * 512 + 2048 + i), other[i]);
	}
	munmap(other, half);
}

/* A request without a status byte breaks the ring: err, nothing used. */
TEST_F(blk, hostile_no_status)
{
	struct vd_buf b[2] = {
		{ self->hdr, sizeof(*self->hdr), false },
		{ self->data, 512, false },
	};
	struct vring_used_elem e;
	int head;

	self->hdr->type = VIRTIO_BLK_T_OUT;
	vd_add(&self->d, 0, b, 2);
	vd_kick(&self->d, 0);
	EXPECT_TRUE(vd_wait_err(&self->d, 0, VD_TIMEOUT_MS));
	EXPECT_EQ(0, vd_used_idx(&self->d, 0));
	/*
	 * The ring stays stopped until its backend is set again; then the
	 * next chain (a flush whose status is the data buffer's last byte)
	 * is served. The bad one was taken and is never used, as in-tree
	 * vhost-net drops a malformed transmit chain.
	 */
	self->hdr->type = VIRTIO_BLK_T_FLUSH;
	b[1].write = true;
	head = vd_add(&self->d, 0, b, 2);
	vd_kick(&self->d, 0);
	EXPECT_FALSE(vd_get_used(&self->d, 0, &e, 300));
	ASSERT_EQ(0, attach(&self->d, self->disk));
	ASSERT_TRUE(vd_get_used(&self->d, 0, &e, VD_TIMEOUT_MS));
	EXPECT_EQ(head, e.id);
	EXPECT_EQ(1, e.len);
	EXPECT_EQ(VIRTIO_BLK_S_OK, self->data[511]);
}

/* The owner exits with requests queued: the worker stops, nothing hangs. */
TEST_F(blk, owner_exits_busy)
{
	pid_t pid = fork();
	int st;

	if (!pid) {
		struct vd d;

		if (vd_init(&d, open(BLK_DEV, O_RDWR), 1) ||
		    vd_setup(&d, 1ULL << VIRTIO_F_VERSION_1, 64) ||
		    attach(&d, self->disk))
			_exit(1);
		for (int i = 0; i < 64; i++) {
			struct virtio_blk_outhdr *h = vd_alloc(&d, 16);
			void *buf = vd_alloc(&d, 4096);
			unsigned char *st = vd_alloc(&d, 1);
			struct vd_buf b[3] = { { h, 16, false }, { buf, 4096, true },
					       { st, 1, true } };

			h->type = VIRTIO_BLK_T_IN;
			h->sector = i * 8;
			vd_add(&d, 0, b, 3);
		}
		vd_kick(&d, 0);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st);
}

/*
 * Two indirect tables in one chain: refused (virtio 1.1, 2.6.5.3.1 lets a
 * chain have one). okvm's rule: in-tree vhost follows the second too.
 */
TEST_F(blk, hostile_two_indirect_tables)
{
	struct vring_desc *desc = self->d.q[0].desc;
	struct vring_desc *t1 = vd_alloc(&self->d, 16), *t2 = vd_alloc(&self->d, 16);

	self->hdr->type = VIRTIO_BLK_T_FLUSH;
	t1[0] = (struct vring_desc){ vd_gpa(&self->d, self->hdr), 16, 0, 0 };
	t2[0] = (struct vring_desc){ vd_gpa(&self->d, self->status), 1, VRING_DESC_F_WRITE, 0 };
	desc[0] = (struct vring_desc){ vd_gpa(&self->d, t1), 16,
				       VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1 };
	desc[1] = (struct vring_desc){ vd_gpa(&self->d, t2), 16, VRING_DESC_F_INDIRECT, 0 };
	vd_publish(&self->d, 0, 0);
	vd_kick(&self->d, 0);
	EXPECT_TRUE(vd_wait_err(&self->d, 0, VD_TIMEOUT_MS));
	EXPECT_EQ(0, vd_used_idx(&self->d, 0));
}

/*
 * Requests in flight at once (asynchronous completion): a backing fd
 * opened O_DIRECT, on a loop device, on null_blk (vhost_tier.sh loads it
 * memory-backed, completing each request 50 ms later from a timer
 * interrupt) and on a regular file (where the file system has no direct
 * I/O, as the test VM's tmpfs on 6.1, the fd is buffered and the worker
 * serves synchronously: the same answers).
 */
#define NR_INFLIGHT	32
#define NULLB_DEV	"/dev/nullb0"

FIXTURE(inflight) {
	struct vd d;
	int fd;		/* the vhost device */
	int disk;	/* the backing fd given to it */
	int loopfd;
	char path[64];
	unsigned char *area;	/* NR_INFLIGHT 4 KiB buffers, 4 KiB aligned */
	struct virtio_blk_outhdr *hdr[NR_INFLIGHT];
	unsigned char *st[NR_INFLIGHT];
};

FIXTURE_VARIANT(inflight) {
	const char *kind;	/* "loop", "nullb" or "file" */
};

FIXTURE_VARIANT_ADD(inflight, loop) { .kind = "loop" };
FIXTURE_VARIANT_ADD(inflight, nullb) { .kind = "nullb" };
FIXTURE_VARIANT_ADD(inflight, file) { .kind = "file" };

/* An O_DIRECT fd on the variant's disk: -2 to skip, -1 on error. */
static int open_direct(const char *kind, char *path, int *loopfd)
{
	int fd, disk;

	*loopfd = -1;
	if (!strcmp(kind, "nullb")) {
		strcpy(path, NULLB_DEV);
		fd = open(path, O_RDWR | O_DIRECT);
		return fd < 0 ? -2 : fd;
	}
	disk = make_disk(!strcmp(kind, "loop"), path, loopfd);
	if (disk < 0)
		return disk;
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0 && errno == EINVAL && !strcmp(kind, "file"))
		fd = open(path, O_RDWR);	/* no direct I/O here */
	if (*loopfd < 0)
		close(disk);
	return fd;
}

FIXTURE_SETUP(inflight)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		     (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_BLK_F_MQ);

	self->disk = -1;
	self->fd = open(BLK_DEV, O_RDWR);
	if (self->fd < 0)
		SKIP(return, "no " BLK_DEV " (okvm-vhost.ko not loaded)");
	self->disk = open_direct(variant->kind, self->path, &self->loopfd);
	if (self->disk == -2)
		SKIP(return, "no %s device", variant->kind);
	ASSERT_GE(self->disk, 0);
	ASSERT_EQ(0, vd_init(&self->d, self->fd, 2));
	ASSERT_EQ(0, vd_setup(&self->d, f, 128));
	ASSERT_EQ(0, attach(&self->d, self->disk));
	self->area = vd_alloc(&self->d, (NR_INFLIGHT + 1) * 4096);
	ASSERT_NE(NULL, self->area);
	self->area = (unsigned char *)(((uintptr_t)self->area + 4095) & ~4095UL);
	for (int i = 0; i < NR_INFLIGHT; i++) {
		self->hdr[i] = vd_alloc(&self->d, sizeof(*self->hdr[i]));
		self->st[i] = vd_alloc(&self->d, 1);
	}
}

FIXTURE_TEARDOWN(inflight)
{
	if (self->d.mem)
		vd_fini(&self->d);
	if (self->disk >= 0)
		close(self->disk);
	if (self->loopfd >= 0) {
		ioctl(self->loopfd, LOOP_CLR_FD);
		close(self->loopfd);
	} else if (self->disk >= 0 && strncmp(self->path, "/dev/", 5)) {
		unlink(self->path);
	}
}

/* Queue NR_INFLIGHT requests of 4 KiB on ring @q (buffer i at sector 8 * (i + 1)), one kick. */
static void queue_all(struct vd *d, unsigned int q, struct virtio_blk_outhdr **hdr,
		      unsigned char **st, unsigned char *area, uint32_t type,
		      int *head)
{
	for (int i = 0; i < NR_INFLIGHT; i++) {
		bool in = type == VIRTIO_BLK_T_IN;
		struct vd_buf b[3] = {
			{ hdr[i], sizeof(*hdr[i]), false },
			{ area + i * 4096, 4096, in },
			{ st[i], 1, true },
		};

		hdr[i]->type = type;
		hdr[i]->sector = 8 * (NR_INFLIGHT - i);	/* out of order on disk */
		*st[i] = 0xff;
		head[i] = vd_add_indirect(d, q, b, 3);
	}
	vd_kick(d, q);
}

/* Every request of queue_all() back once, with @len and status OK; 0 or -1. */
static int reap_all(struct vd *d, unsigned int q, unsigned char **st,
		    const int *head, uint32_t len)
{
	bool seen[NR_INFLIGHT] = { false };
	struct vring_used_elem e;
	int i, j;

	for (j = 0; j < NR_INFLIGHT; j++) {
		if (!vd_get_used(d, q, &e, VD_TIMEOUT_MS))
			return -1;
		for (i = 0; i < NR_INFLIGHT && head[i] != (int)e.id; i++)
			;
		if (i == NR_INFLIGHT || seen[i] || e.len != len ||
		    *st[i] != VIRTIO_BLK_S_OK)
			return -1;
		seen[i] = true;
	}
	return vd_get_used(d, q, &e, 100) ? -1 : 0;
}

/* Writes of a fresh pattern, all in flight, then reads of it, all in flight. */
TEST_F(inflight, writes_then_reads)
{
	int head[NR_INFLIGHT];
	struct timespec t0, t1;

	for (int i = 0; i < NR_INFLIGHT; i++)
		memset(self->area + i * 4096, 0x40 + i, 4096);
	queue_all(&self->d, 0, self->hdr, self->st, self->area, VIRTIO_BLK_T_OUT, head);
	ASSERT_EQ(0, reap_all(&self->d, 0, self->st, head, 1));
	memset(self->area, 0, NR_INFLIGHT * 4096);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	queue_all(&self->d, 0, self->hdr, self->st, self->area, VIRTIO_BLK_T_IN, head);
	ASSERT_EQ(0, reap_all(&self->d, 0, self->st, head, 4096 + 1));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* for the reader, not checked: null_blk's 50 ms each, in flight at once or not */
	TH_LOG("%d reads took %ld ms", NR_INFLIGHT,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	for (int i = 0; i < NR_INFLIGHT; i++)
		for (int k = 0; k < 4096; k++)
			ASSERT_EQ(0x40 + i, self->area[i * 4096 + k]);
}

/* Reads of what is on the disk (pattern() on loop and file), all in flight. */
TEST_F(inflight, reads)
{
	int head[NR_INFLIGHT];

	if (!strcmp(variant->kind, "nullb"))
		SKIP(return, "null_blk holds no pattern");
	queue_all(&self->d, 0, self->hdr, self->st, self->area, VIRTIO_BLK_T_IN, head);
	ASSERT_EQ(0, reap_all(&self->d, 0, self->st, head, 4096 + 1));
	for (int i = 0; i < NR_INFLIGHT; i++)
		for (int k = 0; k < 4096; k++)
			ASSERT_EQ(pattern(self->hdr[i]->sector * 512 + k),
				  self->area[i * 4096 + k]);
}

/*
 * VIRTIO_BLK_F_MQ: the second queue has a worker of its own; both
 * queues' requests in flight at once, each answered on its own ring.
 */
TEST_F(inflight, two_queues)
{
	struct vhost_vring_file b = { .index = 1, .fd = self->disk };
	struct virtio_blk_outhdr *hdr1[NR_INFLIGHT];
	unsigned char *st1[NR_INFLIGHT], *area1;
	int head[NR_INFLIGHT], head1[NR_INFLIGHT];
	uint64_t features;

	ASSERT_EQ(0, ioctl(self->fd, VHOST_GET_FEATURES, &features));
	ASSERT_TRUE(features & (1ULL << VIRTIO_BLK_F_MQ));
	ASSERT_EQ(0, ioctl(self->fd, OKVM_VHOST_BLK_SET_BACKEND, &b));
	area1 = vd_alloc(&self->d, (NR_INFLIGHT + 1) * 4096);
	ASSERT_NE(NULL, area1);
	area1 = (unsigned char *)(((uintptr_t)area1 + 4095) & ~4095UL);
	for (int i = 0; i < NR_INFLIGHT; i++) {
		hdr1[i] = vd_alloc(&self->d, sizeof(*hdr1[i]));
		st1[i] = vd_alloc(&self->d, 1);
	}
	queue_all(&self->d, 0, self->hdr, self->st, self->area, VIRTIO_BLK_T_IN, head);
	queue_all(&self->d, 1, hdr1, st1, area1, VIRTIO_BLK_T_IN, head1);
	ASSERT_EQ(0, reap_all(&self->d, 1, st1, head1, 4096 + 1));
	ASSERT_EQ(0, reap_all(&self->d, 0, self->st, head, 4096 + 1));
	EXPECT_EQ(0, memcmp(self->area, area1, NR_INFLIGHT * 4096));
}

/*
 * VHOST_RESET_OWNER with requests in flight: it returns once they are
 * back, each on the used ring with its status; the device can be owned
 * again.
 */
TEST_F(inflight, reset_owner_in_flight)
{
	bool back[NR_INFLIGHT] = { false };
	int head[NR_INFLIGHT], i, j, n;
	struct vring_used_elem e;

	queue_all(&self->d, 0, self->hdr, self->st, self->area, VIRTIO_BLK_T_IN, head);
	usleep(1000);
	ASSERT_EQ(0, ioctl(self->fd, VHOST_RESET_OWNER, NULL));
	/* what the worker took is back with its status; nothing is written later */
	n = vd_used_idx(&self->d, 0);
	ASSERT_LE(n, NR_INFLIGHT);
	for (j = 0; j < n; j++) {
		ASSERT_TRUE(vd_get_used(&self->d, 0, &e, 0));
		for (i = 0; i < NR_INFLIGHT && head[i] != (int)e.id; i++)
			;
		ASSERT_LT(i, NR_INFLIGHT);
		EXPECT_EQ(4096 + 1, e.len);
		EXPECT_EQ(VIRTIO_BLK_S_OK, *self->st[i]);
		back[i] = true;
	}
	usleep(100 * 1000);
	EXPECT_EQ(n, vd_used_idx(&self->d, 0));
	for (i = 0; i < NR_INFLIGHT; i++)
		if (!back[i])
			EXPECT_EQ(0xff, *self->st[i]);
	EXPECT_EQ(0, ioctl(self->fd, VHOST_SET_OWNER, NULL));
}

/*
 * The owner killed with requests in flight: its exit waits for them (or
 * drops the completed ones), the worker stops, nothing hangs or leaks
 * (vhost_tier.sh unloads the module after the tests).
 */
TEST_F(inflight, owner_killed_in_flight)
{
	int ready[2], st, head[NR_INFLIGHT];
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct vd d;
		int fd = open(BLK_DEV, O_RDWR);
		struct virtio_blk_outhdr *hdr[NR_INFLIGHT];
		unsigned char *stb[NR_INFLIGHT], *area;

		if (vd_init(&d, fd, 1) || vd_setup(&d, 1ULL << VIRTIO_F_VERSION_1 |
						   1ULL << VIRTIO_RING_F_INDIRECT_DESC, 128) ||
		    attach(&d, self->disk))
			_exit(1);
		area = vd_alloc(&d, (NR_INFLIGHT + 1) * 4096);
		area = (unsigned char *)(((uintptr_t)area + 4095) & ~4095UL);
		for (int i = 0; i < NR_INFLIGHT; i++) {
			hdr[i] = vd_alloc(&d, sizeof(*hdr[i]));
			stb[i] = vd_alloc(&d, 1);
		}
		queue_all(&d, 0, hdr, stb, area, VIRTIO_BLK_T_OUT, head);
		queue_all(&d, 0, hdr, stb, area, VIRTIO_BLK_T_IN, head);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	usleep(2000);		/* null_blk's 50 ms: well inside */
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st));
	close(ready[0]);
}

TEST_HARNESS_MAIN
