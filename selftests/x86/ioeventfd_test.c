// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioeventfd_test - KVM_IOEVENTFD and the coalesced MMIO/PIO ring.
 *
 * A guest write that an ioeventfd matches (port or MMIO address, length,
 * datamatch) signals its eventfd and completes in the kernel: the test
 * sees the eventfd's count and no KVM_EXIT_IO/KVM_EXIT_MMIO for it, while
 * every write that does not match still exits. Writes inside a coalesced
 * zone land in the ring page of the vCPU mmap instead of exiting. Every
 * errno of both ioctls is checked against KVM's.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mmio_checks.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

/* 3 GiB: mapped by the guest's page tables, in no slot. */
#define MMIO_GPA	0xc0000000ULL
#define PORT		0x510

static long ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, int fd,
		      uint32_t flags, uint64_t datamatch)
{
	struct kvm_ioeventfd a = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd,
		.flags = flags,
	};

	return okvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&a);
}

/* The eventfd's count, and reset it: 0 when it was never signalled. */
static uint64_t efd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static int new_efd(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

TEST(ioeventfd_errnos)
{
	struct kvm_vm *vm = vm_create_bare();
	int e = new_efd(), e2 = new_efd(), nul = open("/dev/null", O_RDWR);
	const uint32_t dm = KVM_IOEVENTFD_FLAG_DATAMATCH;
	const uint32_t pio = KVM_IOEVENTFD_FLAG_PIO;
	const uint32_t de = KVM_IOEVENTFD_FLAG_DEASSIGN;

	ASSERT_LE(0, e);
	ASSERT_LE(0, nul);
	/* Lengths, flags, overflow, datamatch without a length. */
	EXPECT_EQ(-EINVAL, ioeventfd(vm, 0x1000, 3, e, 0, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, 0x1000, 16, e, 0, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, 0x1000, 4, e, 1U << 5, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, ~0ULL - 1, 4, e, 0, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, 0x1000, 0, e, dm, 0));
	/* Not an fd, not an eventfd. */
	EXPECT_EQ(-EBADF, ioeventfd(vm, 0x1000, 4, -1, 0, 0));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, 0x1000, 4, nul, 0, 0));
	/* s390's virtio-ccw: x86 KVM takes it and never fires, okvm refuses. */
	EXPECT_EQ(okvm_dev_is_okvm() ? -EINVAL : 0,
		  ioeventfd(vm, 0x9000, 4, e, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0));

	/* Collisions: same space and address, one write matching both. */
	EXPECT_EQ(0, ioeventfd(vm, 0x1000, 4, e, dm, 1));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, 0x1000, 4, e2, dm, 1));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, 0x1000, 4, e2, 0, 0));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, 0x1000, 0, e2, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, 0x1000, 4, e2, dm, 2));
	EXPECT_EQ(0, ioeventfd(vm, 0x1000, 2, e2, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, 0x1000, 4, e, pio | dm, 1));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, 0x1000, 0, e, pio, 0));
	EXPECT_EQ(0, ioeventfd(vm, 0x2000, 0, e, 0, 0));
	EXPECT_EQ(-EEXIST, ioeventfd(vm, 0x2000, 8, e2, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, 0x2008, 8, e2, 0, 0));

	/* Deassign: exactly what was assigned, else ENOENT. */
	EXPECT_EQ(-EBADF, ioeventfd(vm, 0x1000, 4, -1, de | dm, 1));
	EXPECT_EQ(-EINVAL, ioeventfd(vm, 0x1000, 4, nul, de | dm, 1));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, 0x1000, 4, e, de | dm, 3));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, 0x1000, 4, e, de, 0));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, 0x1000, 4, e2, de | dm, 1));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, 0x1000, 2, e, de | dm, 1));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, 0x3000, 4, e, de, 0));
	EXPECT_EQ(0, ioeventfd(vm, 0x1000, 4, e, de | dm, 1));
	EXPECT_EQ(-ENOENT, ioeventfd(vm, 0x1000, 4, e, de | dm, 1));
	EXPECT_EQ(0, ioeventfd(vm, 0x1000, 4, e, de | dm | pio, 1));
	/* The slot is free again. */
	EXPECT_EQ(0, ioeventfd(vm, 0x1000, 4, e, dm, 1));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm->fd, KVM_IOEVENTFD, 8));

	close(nul);
	close(e2);
	close(e);
	kvm_vm_free(vm);
}

/* Every kind of doorbell the host sets up below, then one that is not. */
static void guest_pio(void)
{
	asm volatile("outb %0, %1" : : "a"((uint8_t)0x11), "d"((uint16_t)PORT));
	asm volatile("outw %0, %1" : : "a"((uint16_t)0x2222), "d"((uint16_t)(PORT + 2)));
	asm volatile("outl %0, %1" : : "a"(0x33333333U), "d"((uint16_t)(PORT + 4)));
	/* datamatch: the right value, then a wrong one (it exits) */
	asm volatile("outw %0, %1" : : "a"((uint16_t)0xbeef), "d"((uint16_t)(PORT + 8)));
	asm volatile("outw %0, %1" : : "a"((uint16_t)0xdead), "d"((uint16_t)(PORT + 8)));
	/* any length: a byte and a dword */
	asm volatile("outb %0, %1" : : "a"((uint8_t)1), "d"((uint16_t)(PORT + 12)));
	asm volatile("outl %0, %1" : : "a"(2U), "d"((uint16_t)(PORT + 12)));
	/* a length the ioeventfd does not have: exits */
	asm volatile("outb %0, %1" : : "a"((uint8_t)0x44), "d"((uint16_t)(PORT + 4)));
	/* OUTS: each element is a write */
	asm volatile("rep outsw" : : "S"((uint16_t[]){ 0x2222, 0x2222 }),
		     "c"(2UL), "d"((uint16_t)(PORT + 2)) : "memory");
	GUEST_DONE();
}

TEST(pio_doorbells)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_pio);
	const uint32_t pio = KVM_IOEVENTFD_FLAG_PIO;
	int b = new_efd(), w = new_efd(), l = new_efd(), m = new_efd();
	int any = new_efd();
	struct ucall uc;
	uint16_t v;

	ASSERT_EQ(0, ioeventfd(vm, PORT, 1, b, pio, 0));
	ASSERT_EQ(0, ioeventfd(vm, PORT + 2, 2, w, pio, 0));
	ASSERT_EQ(0, ioeventfd(vm, PORT + 4, 4, l, pio, 0));
	ASSERT_EQ(0, ioeventfd(vm, PORT + 8, 2, m,
			       pio | KVM_IOEVENTFD_FLAG_DATAMATCH, 0xbeef));
	ASSERT_EQ(0, ioeventfd(vm, PORT + 12, 0, any, pio, 0));

	/* The first exit is the write datamatch refused. */
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(PORT + 8, vcpu->run->io.port);
	EXPECT_EQ(2, vcpu->run->io.size);
	memcpy(&v, (char *)vcpu->run + vcpu->run->io.data_offset, 2);
	EXPECT_EQ(0xdead, v);
	EXPECT_EQ(1, efd_count(b));
	EXPECT_EQ(1, efd_count(w));
	EXPECT_EQ(1, efd_count(l));
	EXPECT_EQ(1, efd_count(m));
	EXPECT_EQ(0, efd_count(any));

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(PORT + 4, vcpu->run->io.port);
	EXPECT_EQ(1, vcpu->run->io.size);
	EXPECT_EQ(2, efd_count(any));
	EXPECT_EQ(0, efd_count(l));

	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	EXPECT_EQ(2, efd_count(w));
	kvm_vm_free(vm);
	close(b);
	close(w);
	close(l);
	close(m);
	close(any);
}

static void guest_mmio(void)
{
	volatile uint8_t *p = (void *)MMIO_GPA;

	*(volatile uint8_t *)(p + 0x00) = 0x11;
	*(volatile uint16_t *)(p + 0x10) = 0x2222;
	*(volatile uint32_t *)(p + 0x20) = 0x33333333;
	*(volatile uint64_t *)(p + 0x30) = 0x4444444444444444ULL;
	*(volatile uint32_t *)(p + 0x40) = 0xcafe;	/* datamatch */
	*(volatile uint16_t *)(p + 0x50) = 1;		/* any length */
	*(volatile uint64_t *)(p + 0x50) = 2;
	*(volatile uint32_t *)(p + 0x40) = 0xbad;	/* exits */
	(void)*(volatile uint32_t *)(p + 0x20);		/* a read exits */
	GUEST_DONE();
}

TEST(mmio_doorbells)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_mmio);
	int e[6];
	struct ucall uc;
	uint32_t v;
	int i;

	for (i = 0; i < 6; i++)
		e[i] = new_efd();
	ASSERT_EQ(0, ioeventfd(vm, MMIO_GPA, 1, e[0], 0, 0));
	ASSERT_EQ(0, ioeventfd(vm, MMIO_GPA + 0x10, 2, e[1], 0, 0));
	ASSERT_EQ(0, ioeventfd(vm, MMIO_GPA + 0x20, 4, e[2], 0, 0));
	ASSERT_EQ(0, ioeventfd(vm, MMIO_GPA + 0x30, 8, e[3], 0, 0));
	ASSERT_EQ(0, ioeventfd(vm, MMIO_GPA + 0x40, 4, e[4],
			       KVM_IOEVENTFD_FLAG_DATAMATCH, 0xcafe));
	ASSERT_EQ(0, ioeventfd(vm, MMIO_GPA + 0x50, 0, e[5], 0, 0));

	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x40, 4);
	memcpy(&v, vcpu->run->mmio.data, 4);
	EXPECT_EQ(0xbad, v);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(1, efd_count(e[i])) TH_LOG("doorbell %d", i);
	EXPECT_EQ(2, efd_count(e[5]));
	expect_mmio(_metadata, vcpu, false, MMIO_GPA + 0x20, 4);
	EXPECT_EQ(0, efd_count(e[2]));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
	for (i = 0; i < 6; i++)
		close(e[i]);
}

/* Ring the doorbell until it exits, which only a deassign makes it do. */
static void guest_ring_forever(void)
{
	for (;;)
		asm volatile("outw %0, %1" : : "a"((uint16_t)7),
			     "d"((uint16_t)PORT));
}

static void *run_vcpu(void *arg)
{
	vcpu_run(arg);
	return NULL;
}

TEST(deassign_under_running_vcpu)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_ring_forever);
	const uint32_t pio = KVM_IOEVENTFD_FLAG_PIO;
	int e = new_efd(), i;
	pthread_t t;

	ASSERT_EQ(0, ioeventfd(vm, PORT, 2, e, pio, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, run_vcpu, vcpu));
	/* Wait (up to 10 s) until the guest rings in the kernel. */
	for (i = 0; i < 10000 && !efd_count(e); i++)
		usleep(1000);
	ASSERT_GT(10000, i) TH_LOG("the doorbell never rang");
	ASSERT_EQ(0, ioeventfd(vm, PORT, 2, e, pio | KVM_IOEVENTFD_FLAG_DEASSIGN, 0));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(PORT, vcpu->run->io.port);
	/* Once deassigned, nothing signals the eventfd. */
	efd_count(e);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(0, efd_count(e));
	kvm_vm_free(vm);
	close(e);
}

/* Closing the VM releases what it holds; the eventfds live on. */
TEST(close_vm_with_fds_attached)
{
	struct kvm_coalesced_mmio_zone z = { .addr = 0x10000, .size = 0x1000 };
	int e = new_efd(), i;
	uint64_t one = 1;

	for (i = 0; i < 3; i++) {
		struct kvm_vm *vm = vm_create_bare();

		ASSERT_EQ(0, ioeventfd(vm, 0x1000, 4, e, 0, 0));
		ASSERT_EQ(0, ioeventfd(vm, 0x70, 1, e, KVM_IOEVENTFD_FLAG_PIO, 0));
		ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO,
					(unsigned long)&z));
		kvm_vm_free(vm);
	}
	ASSERT_EQ(8, write(e, &one, 8));
	EXPECT_EQ(1, efd_count(e));
	close(e);
}

static struct kvm_coalesced_mmio_ring *ring_of(struct kvm_vcpu *vcpu)
{
	return (void *)((char *)vcpu->run +
			KVM_COALESCED_MMIO_PAGE_OFFSET * getpagesize());
}

static void guest_coalesced(void)
{
	volatile uint8_t *p = (void *)(MMIO_GPA + 0x2000);

	*(volatile uint32_t *)(p + 0x10) = 0x12345678;
	*(volatile uint8_t *)(p + 0xff) = 0x9a;
	asm volatile("outb %0, $0x70" : : "a"((uint8_t)0x8f));
	asm volatile("outb %0, $0x71" : : "a"((uint8_t)0x55));
	*(volatile uint64_t *)(p + 0x40) = 0x1122334455667788ULL;
	*(volatile uint16_t *)(p + 0xff) = 0x1;		/* crosses the end: exits */
	(void)*(volatile uint32_t *)(p + 0x10);		/* a read: exits */
	GUEST_SYNC(1);
	*(volatile uint32_t *)(p + 0xf0) = 0x1;		/* still a zone */
	GUEST_SYNC(2);
	*(volatile uint32_t *)(p + 0x10) = 0x1;		/* unregistered: exits */
	GUEST_DONE();
}

TEST(coalesced_ring)
{
	struct kvm_coalesced_mmio_zone z = { .addr = MMIO_GPA + 0x2000, .size = 0x100 };
	struct kvm_coalesced_mmio_zone zp = { .addr = 0x70, .size = 2, .pio = 1 };
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_coalesced);
	struct kvm_coalesced_mmio_ring *ring;
	struct kvm_coalesced_mmio *c;
	struct ucall uc;
	uint64_t v;

	ASSERT_EQ(KVM_COALESCED_MMIO_PAGE_OFFSET,
		  okvm_ioctl(vm->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO));
	ASSERT_EQ(1, okvm_ioctl(vm->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO));
	ASSERT_LE((KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * getpagesize(),
		  vcpu->run_size);
	ring = ring_of(vcpu);
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, (unsigned long)&z));
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, (unsigned long)&zp));

	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x20ff, 2);
	ASSERT_EQ(0, ring->first);
	ASSERT_EQ(5, ring->last);
	c = ring->coalesced_mmio;
	EXPECT_EQ(MMIO_GPA + 0x2010, c[0].phys_addr);
	EXPECT_EQ(4, c[0].len);
	EXPECT_EQ(0, c[0].pio);
	EXPECT_EQ(0x12345678, *(uint32_t *)c[0].data);
	EXPECT_EQ(MMIO_GPA + 0x20ff, c[1].phys_addr);
	EXPECT_EQ(1, c[1].len);
	EXPECT_EQ(0x9a, c[1].data[0]);
	EXPECT_EQ(0x70, c[2].phys_addr);
	EXPECT_EQ(1, c[2].pio);
	EXPECT_EQ(0x8f, c[2].data[0]);
	EXPECT_EQ(0x71, c[3].phys_addr);
	EXPECT_EQ(0x55, c[3].data[0]);
	EXPECT_EQ(8, c[4].len);
	memcpy(&v, c[4].data, 8);
	EXPECT_EQ(0x1122334455667788ULL, v);
	ring->first = ring->last;	/* drained, as a VMM does */

	expect_mmio(_metadata, vcpu, false, MMIO_GPA + 0x2010, 4);
	ASSERT_SYNC(vcpu, &uc, 1);
	/*
	 * Unregister, as KVM: each zone that holds the range given goes (a
	 * larger range removes nothing); pio must be 0 or 1.
	 */
	z.pio = 2;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, (unsigned long)&z));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_UNREGISTER_COALESCED_MMIO, (unsigned long)&z));
	z.pio = 0;
	z.addr = MMIO_GPA;
	z.size = 0x10000;
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_UNREGISTER_COALESCED_MMIO, (unsigned long)&z));
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(6, ring->last);
	EXPECT_EQ(MMIO_GPA + 0x20f0, ring->coalesced_mmio[5].phys_addr);
	z.addr = MMIO_GPA + 0x2010;
	z.size = 4;
	z.pio = 1;	/* the other space: nothing */
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_UNREGISTER_COALESCED_MMIO, (unsigned long)&z));
	z.pio = 0;
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_UNREGISTER_COALESCED_MMIO, (unsigned long)&z));
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_UNREGISTER_COALESCED_MMIO, (unsigned long)&z));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, 8));
	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x2010, 4);
	EXPECT_EQ(6, ring->last);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
