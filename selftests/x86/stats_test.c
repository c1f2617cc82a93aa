// SPDX-License-Identifier: GPL-2.0-only
/*
 * stats_test - KVM_GET_STATS_FD on the VM and vCPU fds
 * (KVM_CAP_BINARY_STATS_FD, api.rst): the fd (read-only, close-on-exec,
 * keeping its VM readable after the VM's own fds close), the layout of
 * KVM's binary format (header, id "kvm-PID" and "kvm-PID/vcpu-ID",
 * descriptors with 48-byte names, then the values), reads at any offset
 * and size, and counters that follow what the guest did: port I/O, MMIO
 * and HLT exits counted exactly, exits and second-level faults at least.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "x86_guest.h"

#define NAME_SIZE	48	/* KVM_STATS_NAME_SIZE */
#define MMIO_GPA	0xc0000000ULL
#define PORT		0x3f0
#define NR_OUTS		5

struct stats_file {
	char buf[16384];
	ssize_t len;
	struct kvm_stats_header *hdr;
};

static void stats_read(int fd, struct stats_file *f)
{
	f->len = pread(fd, f->buf, sizeof(f->buf), 0);
	f->hdr = (struct kvm_stats_header *)f->buf;
}

static struct kvm_stats_desc *stats_desc(struct stats_file *f, unsigned int i)
{
	return (void *)(f->buf + f->hdr->desc_offset +
			i * (sizeof(struct kvm_stats_desc) + NAME_SIZE));
}

/* The value of the counter @name, or -1 when the file has none. */
static int64_t stat_value(struct stats_file *f, const char *name)
{
	unsigned int i;

	for (i = 0; i < f->hdr->num_desc; i++) {
		struct kvm_stats_desc *d = stats_desc(f, i);

		if (!strcmp(d->name, name))
			return *(uint64_t *)(f->buf + f->hdr->data_offset +
					     d->offset);
	}
	return -1;
}

/* The checks every stats file passes, on okvm and KVM alike. */
static void check_layout(struct __test_metadata *_metadata, int fd,
			 const char *id, bool fresh)
{
	static struct stats_file f;
	static char pieces[sizeof(f.buf)];
	size_t data_size = 0;
	unsigned int i;
	ssize_t n, got = 0;

	stats_read(fd, &f);
	ASSERT_LT(sizeof(*f.hdr), f.len);
	ASSERT_GT(sizeof(f.buf), f.len);
	EXPECT_EQ(0, f.hdr->flags);
	EXPECT_EQ(NAME_SIZE, f.hdr->name_size);
	EXPECT_EQ(sizeof(*f.hdr), f.hdr->id_offset);
	EXPECT_EQ(f.hdr->id_offset + NAME_SIZE, f.hdr->desc_offset);
	EXPECT_EQ(f.hdr->desc_offset + f.hdr->num_desc *
		  (sizeof(struct kvm_stats_desc) + NAME_SIZE),
		  f.hdr->data_offset);
	EXPECT_STREQ(id, f.buf + f.hdr->id_offset);
	ASSERT_LT(0, f.hdr->num_desc);
	for (i = 0; i < f.hdr->num_desc; i++) {
		struct kvm_stats_desc *d = stats_desc(&f, i);

		EXPECT_GT(NAME_SIZE, strnlen(d->name, NAME_SIZE));
		EXPECT_LE(1, d->size);
		if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_LINEAR_HIST)
			EXPECT_EQ(0, d->bucket_size);
		data_size += d->size * sizeof(uint64_t);
	}
	for (i = 0; i < f.hdr->num_desc; i++)
		EXPECT_GT(data_size, stats_desc(&f, i)->offset);
	EXPECT_EQ(f.hdr->data_offset + data_size, f.len);

	/*
	 * read() in odd pieces from the start gives the same bytes (lseek
	 * does nothing on these files, as on KVM's: only a fresh fd starts
	 * at 0).
	 */
	if (!fresh)
		goto pread_checks;
	do {
		n = read(fd, pieces + got, 7);
		ASSERT_LE(0, n);
		got += n;
	} while (n > 0 && got < f.len);
	EXPECT_EQ(f.len, got);
	/* an idle VM's counters stand still: the bytes before the values */
	EXPECT_EQ(0, memcmp(pieces, f.buf, f.hdr->data_offset));
	EXPECT_EQ(0, read(fd, pieces, 8));
pread_checks:
	/* at and past the end: nothing; before the start: EINVAL */
	EXPECT_EQ(0, pread(fd, pieces, 8, f.len));
	EXPECT_EQ(0, pread(fd, pieces, 8, f.len + 4096));
	EXPECT_EQ(-1, pread(fd, pieces, 8, -1));
	EXPECT_EQ(EINVAL, errno);
	/* a part in the middle */
	EXPECT_EQ(10, pread(fd, pieces, 10, f.hdr->desc_offset + 3));
	EXPECT_EQ(0, memcmp(pieces, f.buf + f.hdr->desc_offset + 3, 10));
}

TEST(cap_fds_and_layout)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 3);
	char id[64];
	int vfd, cfd;

	EXPECT_EQ(1, okvm_ioctl(vm->dev_fd, KVM_CHECK_EXTENSION,
				KVM_CAP_BINARY_STATS_FD));
	EXPECT_EQ(1, okvm_ioctl(vm->fd, KVM_CHECK_EXTENSION,
				KVM_CAP_BINARY_STATS_FD));
	vfd = okvm_ioctl(vm->fd, KVM_GET_STATS_FD, 0);
	cfd = okvm_ioctl(vcpu->fd, KVM_GET_STATS_FD, 0);
	ASSERT_LE(0, vfd);
	ASSERT_LE(0, cfd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(vfd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDONLY, fcntl(cfd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(-1, write(vfd, id, 8));
	EXPECT_EQ(EBADF, errno);

	snprintf(id, sizeof(id), "kvm-%d", getpid());
	check_layout(_metadata, vfd, id, true);
	snprintf(id, sizeof(id), "kvm-%d/vcpu-3", getpid());
	check_layout(_metadata, cfd, id, true);

	/* the stats fds keep the VM: readable after its fds are closed */
	kvm_vm_free(vm);
	check_layout(_metadata, cfd, id, false);
	close(vfd);
	close(cfd);
}

/* Port I/O, an MMIO write and HLT, each a known number of times. */
static void guest_code(void)
{
	int i;

	for (i = 0; i < NR_OUTS; i++)
		asm volatile("outb %%al, %%dx" : : "a"(i), "d"(PORT));
	*(volatile uint32_t *)MMIO_GPA = 0x1234;
	asm volatile("hlt");
	for (;;)
		asm volatile("hlt");
}

TEST(counters_follow_the_guest)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_code);
	static struct stats_file before, after;
	int fd = okvm_ioctl(vcpu->fd, KVM_GET_STATS_FD, 0);
	int vfd = okvm_ioctl(vm->fd, KVM_GET_STATS_FD, 0);
	static const char * const names[] = {
		"exits", "io_exits", "mmio_exits", "halt_exits", "pf_fixed",
		"signal_exits",
	};
	unsigned int i, outs = 0;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, vfd);
	stats_read(fd, &before);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		EXPECT_LE(0, stat_value(&before, names[i]))
			TH_LOG("no vCPU counter number %u of the list", i);
	stats_read(vfd, &after);
	EXPECT_LE(0, stat_value(&after, "remote_tlb_flush"));

	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_IO)
			break;
		EXPECT_EQ(PORT, vcpu->run->io.port);
		outs++;
	}
	EXPECT_EQ(NR_OUTS, outs);
	ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(MMIO_GPA, vcpu->run->mmio.phys_addr);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	stats_read(fd, &after);

	EXPECT_EQ(NR_OUTS, stat_value(&after, "io_exits") -
		  stat_value(&before, "io_exits"));
	EXPECT_EQ(1, stat_value(&after, "mmio_exits") -
		  stat_value(&before, "mmio_exits"));
	EXPECT_EQ(1, stat_value(&after, "halt_exits") -
		  stat_value(&before, "halt_exits"));
	EXPECT_LE(NR_OUTS + 2, stat_value(&after, "exits") -
		  stat_value(&before, "exits"));
	EXPECT_LE(1, stat_value(&after, "pf_fixed") -
		  stat_value(&before, "pf_fixed"));
	close(fd);
	close(vfd);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
