// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_io_test - port I/O that no in-kernel device claims reaches
 * userspace as KVM_EXIT_IO: direction, size, port and count in run->io,
 * the bytes in the kvm_run page at run->io.data_offset. Data written there
 * on an IN is what the guest reads once KVM_RUN is called again.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_guest.h"

#define TEST_PORT	0x80
#define TEST_PORT_DX	0x3f8

static void guest_out_in(void)
{
	uint32_t l;
	uint16_t w;
	uint8_t b;

	asm volatile("outb %0, $0x80" : : "a"((uint8_t)0x12));
	asm volatile("outw %0, $0x80" : : "a"((uint16_t)0x3456));
	asm volatile("outl %0, $0x80" : : "a"((uint32_t)0x789abcde));
	asm volatile("outb %0, %1" : : "a"((uint8_t)0x55),
		     "d"((uint16_t)TEST_PORT_DX));
	asm volatile("inb $0x80, %0" : "=a"(b));
	asm volatile("inw $0x80, %0" : "=a"(w));
	asm volatile("inl $0x80, %0" : "=a"(l));
	GUEST_SYNC_ARGS(1, b, w, l);
	GUEST_DONE();
}

static void *io_data(struct kvm_vcpu *vcpu)
{
	return (char *)vcpu->run + vcpu->run->io.data_offset;
}

/* Run to the next exit and check that it is the port I/O expected. */
static void expect_io(struct __test_metadata *_metadata,
		      struct kvm_vcpu *vcpu, uint8_t direction,
		      uint16_t port, uint8_t size)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(direction, run->io.direction);
	EXPECT_EQ(port, run->io.port);
	EXPECT_EQ(size, run->io.size);
	EXPECT_EQ(1, run->io.count);
	/* The data lies inside the mmap'ed area, after struct kvm_run. */
	ASSERT_LE(sizeof(struct kvm_run), run->io.data_offset);
	ASSERT_GE(vcpu->run_size, run->io.data_offset + size);
}

TEST(out_and_in_of_each_size)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_out_in);
	struct ucall uc;
	uint32_t l = 0;
	uint16_t w = 0;
	uint8_t b = 0;

	expect_io(_metadata, vcpu, KVM_EXIT_IO_OUT, TEST_PORT, 1);
	memcpy(&b, io_data(vcpu), 1);
	EXPECT_EQ(0x12, b);

	expect_io(_metadata, vcpu, KVM_EXIT_IO_OUT, TEST_PORT, 2);
	memcpy(&w, io_data(vcpu), 2);
	EXPECT_EQ(0x3456, w);

	expect_io(_metadata, vcpu, KVM_EXIT_IO_OUT, TEST_PORT, 4);
	memcpy(&l, io_data(vcpu), 4);
	EXPECT_EQ(0x789abcde, l);

	expect_io(_metadata, vcpu, KVM_EXIT_IO_OUT, TEST_PORT_DX, 1);
	memcpy(&b, io_data(vcpu), 1);
	EXPECT_EQ(0x55, b);

	expect_io(_metadata, vcpu, KVM_EXIT_IO_IN, TEST_PORT, 1);
	b = 0xa1;
	memcpy(io_data(vcpu), &b, 1);
	expect_io(_metadata, vcpu, KVM_EXIT_IO_IN, TEST_PORT, 2);
	w = 0xb2c3;
	memcpy(io_data(vcpu), &w, 2);
	expect_io(_metadata, vcpu, KVM_EXIT_IO_IN, TEST_PORT, 4);
	l = 0xd4e5f607;
	memcpy(io_data(vcpu), &l, 4);

	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0xa1, uc.args[1]);
	EXPECT_EQ(0xb2c3, uc.args[2]);
	EXPECT_EQ(0xd4e5f607, uc.args[3]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* The ucall channel is port I/O too: its exit carries the usual fields. */
static void guest_ucall_only(void)
{
	GUEST_DONE();
}

TEST(ucall_is_an_out_to_its_port)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_ucall_only);
	struct ucall uc;

	expect_io(_metadata, vcpu, KVM_EXIT_IO_OUT, UCALL_PIO_PORT, 1);
	EXPECT_EQ(UCALL_DONE, get_ucall(vcpu, &uc));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
