// SPDX-License-Identifier: GPL-2.0-only
/*
 * pio_string_regs_test - a VMM that changes rCX or rDI while a REP INS
 * exit is pending. KVM 6.1's emulator runs the decoded instruction again
 * at the next KVM_RUN: the data goes where rDI pointed at the exit, and
 * as many elements as the current rCX, the room left in the current rDI's
 * page and the 1024-byte batch allow are stored, rDI and rCX moving by
 * that many. rCX 0 stores nothing (okvm ends the instruction; KVM 6.1
 * reports the same exit again). An INS whose destination is not RAM
 * stores through an MMIO write. Never an internal error, never more than
 * the batch.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define PORT		0x2000
#define MMIO_GPA	0xd0000000UL

/* Where INS stores, in the guest (the test's copy is not the guest's). */
static uint8_t guest_buf[2][4096] __attribute__((aligned(4096)));

/* REP INSB of rcx bytes to rdi, then report rCX and rDI. */
static void guest_rep_insb(uint64_t rcx, uint64_t rdi)
{
	asm volatile("cld; rep insb"
		     : "+c"(rcx), "+D"(rdi) : "d"(PORT) : "memory");
	GUEST_SYNC_ARGS(1, rcx, rdi);
	GUEST_DONE();
}

struct ins_guest {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint8_t *buf;		/* the guest's guest_buf, in the test */
};

/* A guest stopped in the exit of its REP INSB of @len bytes at @rdi. */
static void start(struct __test_metadata *_metadata, struct ins_guest *g,
		  uint64_t len, uint64_t rdi, uint32_t count)
{
	uint8_t *data;
	uint32_t i;

	g->vm = vm_create_guest(0);
	g->vcpu = vm_vcpu_add_guest(g->vm, 0, guest_rep_insb);
	g->buf = addr_gva2hva(g->vm, guest_buf);
	memset(g->buf, 0xee, sizeof(guest_buf));
	vcpu_args_set(g->vcpu, 2, len, rdi);
	vcpu_run(g->vcpu);
	ASSERT_EQ(KVM_EXIT_IO, g->vcpu->run->exit_reason)
		TH_LOG("%s", vcpu_exit_str(g->vcpu));
	ASSERT_EQ(KVM_EXIT_IO_IN, g->vcpu->run->io.direction);
	ASSERT_EQ(PORT, g->vcpu->run->io.port);
	ASSERT_EQ(1, g->vcpu->run->io.size);
	ASSERT_EQ(count, g->vcpu->run->io.count);
	data = (uint8_t *)g->vcpu->run + g->vcpu->run->io.data_offset;
	for (i = 0; i < count; i++)
		data[i] = 0x10 + i;
}

static void set_rcx_rdi(struct ins_guest *g, uint64_t rcx, uint64_t rdi)
{
	struct kvm_regs regs;

	vcpu_regs_get(g->vcpu, &regs);
	regs.rcx = rcx;
	regs.rdi = rdi;
	vcpu_regs_set(g->vcpu, &regs);
}

/* The guest's report: the INS ended with rCX = @rcx and rDI = @rdi. */
#define EXPECT_DONE(g, rcx, rdi) do {					\
	struct ucall _uc;						\
	ASSERT_SYNC((g)->vcpu, &_uc, 1);				\
	EXPECT_EQ((uint64_t)(rcx), _uc.args[1]);			\
	EXPECT_EQ((uint64_t)(rdi), _uc.args[2]);			\
} while (0)

static bool stored(const uint8_t *p, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (p[i] != 0x10 + i)
			return false;
	return true;
}

/* Unchanged registers: the 16 bytes land, the instruction ends. */
TEST(unchanged)
{
	uint64_t b = (uintptr_t)guest_buf[0];
	struct ins_guest g;

	start(_metadata, &g, 16, b, 16);
	EXPECT_DONE(&g, 0, b + 16);
	EXPECT_TRUE(stored(g.buf, 16));
	EXPECT_EQ(0xee, g.buf[16]);
	kvm_vm_free(g.vm);
}

/* rCX lowered: only that many are stored, and rCX ends at 0. */
TEST(rcx_lowered)
{
	uint64_t b = (uintptr_t)guest_buf[0];
	struct ins_guest g;

	start(_metadata, &g, 16, b, 16);
	set_rcx_rdi(&g, 4, b);
	EXPECT_DONE(&g, 0, b + 4);
	EXPECT_TRUE(stored(g.buf, 4));
	EXPECT_EQ(0xee, g.buf[4]);
	kvm_vm_free(g.vm);
}

/*
 * rCX 0: nothing is stored. okvm ends the instruction there; KVM 6.1
 * reports the same exit again, at each KVM_RUN while rCX stays 0
 * (api.rst, KVM_RUN).
 */
TEST(rcx_zeroed)
{
	uint64_t b = (uintptr_t)guest_buf[0];
	struct ins_guest g;

	start(_metadata, &g, 16, b, 16);
	set_rcx_rdi(&g, 0, b);
	if (okvm_dev_is_okvm()) {
		EXPECT_DONE(&g, 0, b);
	} else {
		vcpu_run(g.vcpu);
		EXPECT_EQ(KVM_EXIT_IO, g.vcpu->run->exit_reason);
		EXPECT_EQ(PORT, g.vcpu->run->io.port);
	}
	EXPECT_EQ(0xee, g.buf[0]);
	kvm_vm_free(g.vm);
}

/*
 * rCX raised: as many as the batch allows are stored (the ones past the
 * exit's count are whatever the buffer holds) and rCX counts them.
 */
TEST(rcx_raised)
{
	uint64_t b = (uintptr_t)guest_buf[0];
	struct ins_guest g;

	start(_metadata, &g, 16, b, 16);
	set_rcx_rdi(&g, 100, b);
	EXPECT_DONE(&g, 0, b + 100);
	EXPECT_TRUE(stored(g.buf, 16));
	EXPECT_EQ(0xee, g.buf[100]);
	kvm_vm_free(g.vm);
}

/* rDI moved: the bytes land where rDI pointed; rDI moves on from the new. */
TEST(rdi_moved)
{
	uint64_t b = (uintptr_t)guest_buf[1];
	struct ins_guest g;

	start(_metadata, &g, 16, (uintptr_t)guest_buf[0], 16);
	set_rcx_rdi(&g, 16, b + 8);
	EXPECT_DONE(&g, 0, b + 24);
	EXPECT_TRUE(stored(g.buf, 16));
	EXPECT_EQ(0xee, g.buf[4096 + 8]);
	kvm_vm_free(g.vm);
}

/*
 * rDI moved to 6 bytes before a page's end: 6 are stored, and the guest
 * runs INS again for the other 10, with a new exit.
 */
TEST(rdi_near_page_end)
{
	uint64_t b = (uintptr_t)guest_buf[1] + 4096 - 6;
	struct kvm_run *run;
	struct ins_guest g;

	start(_metadata, &g, 16, (uintptr_t)guest_buf[0], 16);
	set_rcx_rdi(&g, 16, b);
	vcpu_run(g.vcpu);
	run = g.vcpu->run;
	ASSERT_EQ(KVM_EXIT_IO, run->exit_reason)
		TH_LOG("%s", vcpu_exit_str(g.vcpu));
	EXPECT_EQ(KVM_EXIT_IO_IN, run->io.direction);
	EXPECT_EQ(10, run->io.count);
	EXPECT_TRUE(stored(g.buf, 6));
	EXPECT_EQ(0xee, g.buf[6]);
	memset((uint8_t *)run + run->io.data_offset, 0x77, 10);
	EXPECT_DONE(&g, 0, b + 16);
	kvm_vm_free(g.vm);
}

/* rDI moved outside RAM: the data still goes where rDI pointed. */
TEST(rdi_to_mmio)
{
	struct ins_guest g;

	start(_metadata, &g, 16, (uintptr_t)guest_buf[0], 16);
	set_rcx_rdi(&g, 1, MMIO_GPA);
	EXPECT_DONE(&g, 0, MMIO_GPA + 1);
	EXPECT_TRUE(stored(g.buf, 1));
	EXPECT_EQ(0xee, g.buf[1]);
	kvm_vm_free(g.vm);
}

/*
 * An INS whose destination is not RAM (the port is read first): the
 * store is an MMIO write; with rCX lowered to 1, of that one byte.
 */
TEST(ins_into_mmio)
{
	struct kvm_run *run;
	struct ins_guest g;

	start(_metadata, &g, 16, MMIO_GPA, 16);
	set_rcx_rdi(&g, 1, MMIO_GPA);
	vcpu_run(g.vcpu);
	run = g.vcpu->run;
	ASSERT_EQ(KVM_EXIT_MMIO, run->exit_reason)
		TH_LOG("%s", vcpu_exit_str(g.vcpu));
	EXPECT_EQ(MMIO_GPA, run->mmio.phys_addr);
	EXPECT_EQ(1, run->mmio.len);
	EXPECT_TRUE(run->mmio.is_write);
	EXPECT_EQ(0x10, run->mmio.data[0]);
	EXPECT_DONE(&g, 0, MMIO_GPA + 1);
	kvm_vm_free(g.vm);
}

TEST_HARNESS_MAIN
