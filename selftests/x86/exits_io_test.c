// SPDX-License-Identifier: GPL-2.0-only
/*
 * exits_io_test - port I/O exits in detail (api.rst "KVM_RUN", struct
 * kvm_run, "KVM_EXIT_IO"): IN and OUT of 1, 2 and 4 bytes with the port in
 * DX and as an immediate, what IN leaves in the rest of RAX, and the string
 * forms INS/OUTS with and without REP, DF clear and set: how many elements
 * one exit carries (io.count, the data at io.data_offset in the vCPU's
 * mmap), where the guest's buffer gets them, and RCX/RSI/RDI afterwards.
 *
 * Instruction semantics: AMD APM vol. 3, "IN", "INS", "OUT", "OUTS", "REP".
 */
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_guest.h"

#define TEST_PORT	0x3f8
#define TEST_PORT_IMM	0x80

/* Guest side: one I/O instruction per op, the registers reported back. */
enum sio_op {
	OP_INSB, OP_INSW, OP_INSL, OP_OUTSB, OP_OUTSW, OP_OUTSL,
	OP_REP_INSB, OP_REP_INSW, OP_REP_INSL,
	OP_REP_OUTSB, OP_REP_OUTSW, OP_REP_OUTSL,
};

/* DF set only around the instruction: the ucall code wants it clear. */
#define STRING_IO(insn)							\
	asm volatile("test %[df], %[df]\n\t"				\
		     "jz 1f\n\t"					\
		     "std\n"						\
		     "1:\t" insn "\n\t"					\
		     "cld"						\
		     : "+D"(rdi), "+S"(rsi), "+c"(rcx)			\
		     : "d"((uint16_t)TEST_PORT), [df] "r"(df)		\
		     : "memory", "cc")

static void guest_string_io(uint64_t op, uint64_t buf, uint64_t count,
			    uint64_t df)
{
	uint64_t rdi = buf, rsi = buf, rcx = count;

	switch (op) {
	case OP_INSB:
		STRING_IO("insb");
		break;
	case OP_INSW:
		STRING_IO("insw");
		break;
	case OP_INSL:
		STRING_IO("insl");
		break;
	case OP_OUTSB:
		STRING_IO("outsb");
		break;
	case OP_OUTSW:
		STRING_IO("outsw");
		break;
	case OP_OUTSL:
		STRING_IO("outsl");
		break;
	case OP_REP_INSB:
		STRING_IO("rep insb");
		break;
	case OP_REP_INSW:
		STRING_IO("rep insw");
		break;
	case OP_REP_INSL:
		STRING_IO("rep insl");
		break;
	case OP_REP_OUTSB:
		STRING_IO("rep outsb");
		break;
	case OP_REP_OUTSW:
		STRING_IO("rep outsw");
		break;
	case OP_REP_OUTSL:
		STRING_IO("rep outsl");
		break;
	}
	GUEST_SYNC_ARGS(1, rcx, rsi, rdi);
	GUEST_DONE();
}

/* What the host saw of the I/O exits before the guest's next ucall. */
#define MAX_EXITS	64

struct io_log {
	int n;
	uint32_t count[MAX_EXITS];
	uint8_t size[MAX_EXITS];
	uint8_t dir[MAX_EXITS];
	/* OUT: every byte the exits carried, in exit order. */
	uint8_t out[8192];
	uint32_t out_len;
	/* IN: how many bytes the host supplied (IN_BYTE(i) each). */
	uint32_t in_len;
};

/* The i-th byte the host hands to the guest's INs. */
#define IN_BYTE(i)	((uint8_t)(0x40 + (i) * 7))

/*
 * Run until a ucall, logging every exit to TEST_PORT; on IN, fill the
 * count * size bytes at io.data_offset with the next IN_BYTE()s. Returns
 * false (and logs why) on any other exit.
 */
static bool run_io(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
		   struct io_log *log, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;

	memset(log, 0, sizeof(*log));
	for (;;) {
		uint8_t *data;
		uint32_t bytes, i;

		vcpu_run(vcpu);
		if (get_ucall(vcpu, uc) != UCALL_NONE)
			return true;
		if (run->exit_reason != KVM_EXIT_IO ||
		    run->io.port != TEST_PORT || log->n == MAX_EXITS) {
			TH_LOG("unexpected exit %s after %d I/O exits",
			       vcpu_exit_str(vcpu), log->n);
			return false;
		}
		bytes = run->io.size * run->io.count;
		/* The data is in the vCPU's mmap, after struct kvm_run. */
		if (run->io.data_offset < sizeof(*run) ||
		    run->io.data_offset + bytes > vcpu->run_size) {
			TH_LOG("io data 0x%llx+%u outside the %zu-byte mmap",
			       (unsigned long long)run->io.data_offset, bytes,
			       vcpu->run_size);
			return false;
		}
		data = (uint8_t *)run + run->io.data_offset;
		log->count[log->n] = run->io.count;
		log->size[log->n] = run->io.size;
		log->dir[log->n] = run->io.direction;
		log->n++;
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			if (log->out_len + bytes > sizeof(log->out))
				return false;
			memcpy(log->out + log->out_len, data, bytes);
			log->out_len += bytes;
		} else {
			for (i = 0; i < bytes; i++)
				data[i] = IN_BYTE(log->in_len + i);
			log->in_len += bytes;
		}
	}
}

FIXTURE(sio) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint64_t page;		/* two zeroed guest pages */
	uint8_t *hva;
	struct io_log log;
	struct ucall uc;
};

/* A fresh VM whose vCPU is about to run guest_string_io(). */
static void sio_new_vm(FIXTURE_DATA(sio) *self)
{
	if (self->vm)
		kvm_vm_free(self->vm);
	self->vm = vm_create_guest(0);
	self->vcpu = vm_vcpu_add_guest(self->vm, 0, guest_string_io);
	self->page = vm_alloc(self->vm, 2 * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
	self->hva = addr_gpa2hva(self->vm, self->page);
}

FIXTURE_SETUP(sio)
{
	self->vm = NULL;
	sio_new_vm(self);
}

FIXTURE_TEARDOWN(sio)
{
	kvm_vm_free(self->vm);
}

/* Run op on count elements at page + offset; RCX, RSI, RDI back. */
static bool run_sio(struct __test_metadata *_metadata,
		    FIXTURE_DATA(sio) *self, enum sio_op op, uint64_t offset,
		    uint64_t count, bool df, uint64_t *regs)
{
	vcpu_args_set(self->vcpu, 4, (uint64_t)op, self->page + offset,
		      count, (uint64_t)df);
	if (!run_io(_metadata, self->vcpu, &self->log, &self->uc))
		return false;
	if (self->uc.cmd != UCALL_SYNC || self->uc.args[0] != 1) {
		TH_LOG("guest: %s", ucall_str(&self->uc));
		return false;
	}
	if (self->log.n) {
		char buf[256];
		int i, n = 0;

		for (i = 0; i < self->log.n && n < 200; i++)
			n += snprintf(buf + n, sizeof(buf) - n, " %u",
				      self->log.count[i]);
		TH_LOG("%d exits, counts:%s", self->log.n, buf);
	}
	regs[0] = self->uc.args[1];
	regs[1] = self->uc.args[2];
	regs[2] = self->uc.args[3];
	return true;
}

/* Fill guest bytes [off, off + len) with a pattern OUTS sends. */
static uint8_t out_byte(uint32_t i)
{
	return (uint8_t)(0xa0 ^ (i * 13));
}

static void fill_out(FIXTURE_DATA(sio) *self, uint64_t off, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		self->hva[off + i] = out_byte(i);
}

/* INSB, INSW, INSL without REP: one element, one exit, RDI moves. */
TEST_F(sio, ins_without_rep)
{
	static const enum sio_op ops[] = { OP_INSB, OP_INSW, OP_INSL };
	uint64_t r[3];
	int i, j;

	for (i = 0; i < 3; i++) {
		int size = 1 << i;

		for (j = 0; j < 2; j++) {
			bool df = j;
			uint64_t off = 0x100;

			sio_new_vm(self);

			ASSERT_TRUE(run_sio(_metadata, self, ops[i], off, 5,
					    df, r));
			ASSERT_EQ(1, self->log.n);
			EXPECT_EQ(KVM_EXIT_IO_IN, self->log.dir[0]);
			EXPECT_EQ(size, self->log.size[0]);
			EXPECT_EQ(1, self->log.count[0]);
			/* No REP: RCX untouched. */
			EXPECT_EQ(5, r[0]);
			EXPECT_EQ(self->page + off, r[1]);
			EXPECT_EQ(self->page + off + (df ? -size : size), r[2]);
			EXPECT_EQ(IN_BYTE(0), self->hva[off]);
			EXPECT_EQ(IN_BYTE(size - 1), self->hva[off + size - 1]);
			EXPECT_EQ(0, self->hva[off + size]);
		}
	}
}

/* OUTSB, OUTSW, OUTSL without REP: one element, RSI moves. */
TEST_F(sio, outs_without_rep)
{
	static const enum sio_op ops[] = { OP_OUTSB, OP_OUTSW, OP_OUTSL };
	uint64_t r[3];
	int i;

	fill_out(self, 0x200, 16);
	for (i = 0; i < 3; i++) {
		int size = 1 << i;
		bool df = i == 1;

		if (i) {
			sio_new_vm(self);
			fill_out(self, 0x200, 16);
		}
		ASSERT_TRUE(run_sio(_metadata, self, ops[i], 0x200, 9, df,
				    r));
		ASSERT_EQ(1, self->log.n);
		EXPECT_EQ(KVM_EXIT_IO_OUT, self->log.dir[0]);
		EXPECT_EQ(size, self->log.size[0]);
		EXPECT_EQ(1, self->log.count[0]);
		ASSERT_EQ(size, self->log.out_len);
		EXPECT_EQ(0, memcmp(self->log.out, self->hva + 0x200, size));
		EXPECT_EQ(9, r[0]);
		EXPECT_EQ(self->page + 0x200 + (df ? -size : size), r[1]);
		EXPECT_EQ(self->page + 0x200, r[2]);
	}
}

/*
 * REP INSB of 40 bytes inside one page, DF = 0: KVM's emulator reads
 * ahead, so one exit carries all 40 (io.count 40) and the bytes land in
 * order; RCX ends 0, RDI past the buffer.
 */
TEST_F(sio, rep_insb_batches_within_a_page)
{
	uint64_t r[3];
	int i;

	ASSERT_TRUE(run_sio(_metadata, self, OP_REP_INSB, 0x100, 40, false,
			    r));
	ASSERT_EQ(1, self->log.n);
	EXPECT_EQ(KVM_EXIT_IO_IN, self->log.dir[0]);
	EXPECT_EQ(1, self->log.size[0]);
	EXPECT_EQ(40, self->log.count[0]);
	for (i = 0; i < 40; i++)
		ASSERT_EQ(IN_BYTE(i), self->hva[0x100 + i]) TH_LOG("byte %d", i);
	EXPECT_EQ(0, self->hva[0x100 + 40]);
	EXPECT_EQ(0, self->hva[0x100 - 1]);
	EXPECT_EQ(0, r[0]);
	EXPECT_EQ(self->page + 0x100, r[1]);
	EXPECT_EQ(self->page + 0x100 + 40, r[2]);
}

/*
 * REP INSL of 10 dwords, DF = 1, RDI at offset 0x100 of the page: the
 * elements go to RDI, RDI - 4, ... in the order the exit's data has them.
 */
TEST_F(sio, rep_insl_df_set)
{
	uint64_t r[3];
	uint32_t total = 0;
	int i, k;

	ASSERT_TRUE(run_sio(_metadata, self, OP_REP_INSL, 0x100, 10, true,
			    r));
	for (i = 0; i < self->log.n; i++) {
		EXPECT_EQ(KVM_EXIT_IO_IN, self->log.dir[i]);
		EXPECT_EQ(4, self->log.size[i]);
		total += self->log.count[i];
	}
	EXPECT_EQ(10, total);
	/* Batched too: KVM reads ahead min(RCX, bytes below RDI in the page). */
	EXPECT_EQ(1, self->log.n);
	for (k = 0; k < 10; k++)
		for (i = 0; i < 4; i++)
			ASSERT_EQ(IN_BYTE(k * 4 + i),
				  self->hva[0x100 - k * 4 + i])
				TH_LOG("element %d byte %d", k, i);
	EXPECT_EQ(0, self->hva[0x104]);
	EXPECT_EQ(0, r[0]);
	EXPECT_EQ(self->page + 0x100 - 40, r[2]);
}

/*
 * REP INSW of 8 words starting 6 bytes before a page boundary: the data
 * still arrives in order and complete, in as many exits as KVM needs.
 */
TEST_F(sio, rep_insw_across_a_page)
{
	uint64_t off = GUEST_PAGE_SIZE - 6, r[3];
	uint32_t total = 0;
	int i;

	ASSERT_TRUE(run_sio(_metadata, self, OP_REP_INSW, off, 8, false, r));
	for (i = 0; i < self->log.n; i++) {
		EXPECT_EQ(2, self->log.size[i]);
		total += self->log.count[i];
	}
	EXPECT_EQ(8, total);
	/*
	 * KVM's answer: the read-ahead is bounded by the bytes left in the
	 * page (6) taken as an element count: 6 words (12 bytes, 6 of them
	 * past the page boundary), then the last 2.
	 */
	ASSERT_EQ(2, self->log.n);
	EXPECT_EQ(6, self->log.count[0]);
	EXPECT_EQ(2, self->log.count[1]);
	for (i = 0; i < 16; i++)
		ASSERT_EQ(IN_BYTE(i), self->hva[off + i]) TH_LOG("byte %d", i);
	EXPECT_EQ(0, r[0]);
	EXPECT_EQ(self->page + off + 16, r[2]);
}

/*
 * 3000 bytes from a page start: one exit carries at most 1024 bytes
 * (KVM's read-ahead buffer), so 1024, 1024, 952.
 */
TEST_F(sio, rep_insb_large_count)
{
	uint64_t r[3];
	int i;

	ASSERT_TRUE(run_sio(_metadata, self, OP_REP_INSB, 0, 3000, false, r));
	ASSERT_EQ(3, self->log.n);
	EXPECT_EQ(1024, self->log.count[0]);
	EXPECT_EQ(1024, self->log.count[1]);
	EXPECT_EQ(952, self->log.count[2]);
	for (i = 0; i < 3000; i++)
		ASSERT_EQ(IN_BYTE(i), self->hva[i]) TH_LOG("byte %d", i);
	EXPECT_EQ(0, self->hva[3000]);
	EXPECT_EQ(0, r[0]);
	EXPECT_EQ(self->page + 3000, r[2]);
}

/*
 * REP OUTSB / OUTSW of a buffer, DF clear and set: all the bytes reach
 * the host in the guest's order, RCX ends 0, RSI moves by count * size.
 * KVM's answer: OUTS is not batched, each element is its own exit
 * (io.count 1).
 */
TEST_F(sio, rep_outs)
{
	static const struct {
		enum sio_op op;
		int size;
		bool df;
	} c[] = {
		{ OP_REP_OUTSB, 1, false }, { OP_REP_OUTSW, 2, true },
		{ OP_REP_OUTSL, 4, false },
	};
	uint64_t off = 0x800, r[3];
	int i, k;

	for (i = 0; i < 3; i++) {
		int size = c[i].size, n = 12;

		if (i)
			sio_new_vm(self);
		fill_out(self, 0, 2 * GUEST_PAGE_SIZE);
		ASSERT_TRUE(run_sio(_metadata, self, c[i].op, off, n, c[i].df,
				    r));
		ASSERT_EQ(n, self->log.n);
		ASSERT_EQ(n * size, self->log.out_len);
		for (k = 0; k < n; k++) {
			uint64_t src = c[i].df ? off - k * size :
						 off + k * size;

			EXPECT_EQ(1, self->log.count[k]);
			EXPECT_EQ(size, self->log.size[k]);
			EXPECT_EQ(KVM_EXIT_IO_OUT, self->log.dir[k]);
			EXPECT_EQ(0, memcmp(self->log.out + k * size,
					    self->hva + src, size))
				TH_LOG("element %d", k);
		}
		EXPECT_EQ(0, r[0]);
		EXPECT_EQ(self->page + off +
			  (c[i].df ? -(int64_t)n * size : n * size), r[1]);
		EXPECT_EQ(self->page + off, r[2]);
	}
}

/* REP with RCX = 0 does nothing: no exit, registers unchanged. */
TEST_F(sio, rep_with_zero_count)
{
	uint64_t r[3];

	ASSERT_TRUE(run_sio(_metadata, self, OP_REP_INSB, 0x10, 0, false, r));
	EXPECT_EQ(0, self->log.n);
	EXPECT_EQ(0, r[0]);
	EXPECT_EQ(self->page + 0x10, r[2]);
	EXPECT_EQ(0, self->hva[0x10]);
	sio_new_vm(self);
	ASSERT_TRUE(run_sio(_metadata, self, OP_REP_OUTSL, 0x10, 0, true, r));
	EXPECT_EQ(0, self->log.n);
	EXPECT_EQ(self->page + 0x10, r[1]);
}

/*
 * IN and OUT of each size, port in DX and as an immediate. IN to AL and
 * AX leaves the rest of RAX alone; IN to EAX zero-extends into RAX[63:32]
 * like any 32-bit register write in 64-bit mode (APM vol. 1, 3.1.2.3).
 */
static void guest_in_out(void)
{
	uint64_t rax[6];
	const uint64_t junk = 0x1122334455667788ULL;

	asm volatile("outb %%al, %%dx" : : "a"(0x01), "d"(TEST_PORT));
	asm volatile("outw %%ax, %%dx" : : "a"(0x0302), "d"(TEST_PORT));
	asm volatile("outl %%eax, %%dx" : : "a"(0x07060504), "d"(TEST_PORT));
	asm volatile("outb %%al, $0x80" : : "a"(0x08));
	asm volatile("outw %%ax, $0x80" : : "a"(0x0a09));
	asm volatile("outl %%eax, $0x80" : : "a"(0x0e0d0c0b));

	rax[0] = rax[1] = rax[2] = rax[3] = rax[4] = rax[5] = junk;
	asm volatile("inb %%dx, %%al" : "+a"(rax[0]) : "d"(TEST_PORT));
	asm volatile("inw %%dx, %%ax" : "+a"(rax[1]) : "d"(TEST_PORT));
	asm volatile("inl %%dx, %%eax" : "+a"(rax[2]) : "d"(TEST_PORT));
	asm volatile("inb $0x80, %%al" : "+a"(rax[3]));
	asm volatile("inw $0x80, %%ax" : "+a"(rax[4]));
	asm volatile("inl $0x80, %%eax" : "+a"(rax[5]));
	GUEST_SYNC_ARGS(1, rax[0], rax[1], rax[2], rax[3], rax[4]);
	GUEST_SYNC_ARGS(2, rax[5]);
	GUEST_DONE();
}

TEST(in_out_dx_and_immediate)
{
	static const uint16_t port[] = {
		TEST_PORT, TEST_PORT, TEST_PORT,
		TEST_PORT_IMM, TEST_PORT_IMM, TEST_PORT_IMM,
	};
	static const uint32_t in_val[] = {
		0xa1, 0xb2c3, 0xd4e5f607, 0x19, 0x2a3b, 0x4c5d6e7f,
	};
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_in_out);
	struct kvm_run *run = vcpu->run;
	uint8_t expect_out = 1;
	struct ucall uc;
	int i, b;

	for (i = 0; i < 6; i++) {
		uint8_t *data;
		int size = 1 << (i % 3);

		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, KVM_EXIT_IO);
		EXPECT_EQ(KVM_EXIT_IO_OUT, run->io.direction);
		EXPECT_EQ(port[i], run->io.port);
		EXPECT_EQ(size, run->io.size);
		EXPECT_EQ(1, run->io.count);
		data = (uint8_t *)run + run->io.data_offset;
		for (b = 0; b < size; b++)
			EXPECT_EQ(expect_out++, data[b]);
	}
	for (i = 0; i < 6; i++) {
		int size = 1 << (i % 3);

		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, KVM_EXIT_IO);
		EXPECT_EQ(KVM_EXIT_IO_IN, run->io.direction);
		EXPECT_EQ(port[i], run->io.port);
		EXPECT_EQ(size, run->io.size);
		EXPECT_EQ(1, run->io.count);
		memcpy((uint8_t *)run + run->io.data_offset, &in_val[i], size);
	}
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0x11223344556677a1ULL, uc.args[1]);
	EXPECT_EQ(0x112233445566b2c3ULL, uc.args[2]);
	EXPECT_EQ(0x00000000d4e5f607ULL, uc.args[3]);
	EXPECT_EQ(0x1122334455667719ULL, uc.args[4]);
	EXPECT_EQ(0x1122334455662a3bULL, uc.args[5]);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(0x000000004c5d6e7fULL, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * What the host writes to the data area on an OUT exit changes nothing,
 * and an IN the host does not answer reads what the area held: KVM copies
 * whatever is at io.data_offset when KVM_RUN resumes.
 */
static void guest_in_unanswered(void)
{
	uint32_t v = 0;

	asm volatile("inl %%dx, %%eax" : "=a"(v) : "d"(TEST_PORT));
	GUEST_SYNC_ARGS(1, v);
	GUEST_DONE();
}

TEST(in_reads_the_data_area_as_left)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_in_unanswered);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	uint32_t v = 0xcafef00d;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(KVM_EXIT_IO_IN, run->io.direction);
	memcpy((uint8_t *)run + run->io.data_offset, &v, 4);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0xcafef00d, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * Where RIP is at an I/O exit. KVM's answer: still at the IN/OUT; KVM
 * moves past it when the next KVM_RUN completes the I/O. The one
 * exception is OUT to port 0x7e while KVM_X86_QUIRK_OUT_7E_INC_RIP is on
 * (it is by default, api.rst "KVM_CAP_DISABLE_QUIRKS2"): RIP is already
 * past it.
 */
asm(".pushsection .text\n"
	".globl guest_io_rip\n"
	"guest_io_rip:\n"
	"io_rip_out: outb %al, $0x80\n"
	"io_rip_in: inl %dx, %eax\n"
	"io_rip_7e: outb %al, $0x7e\n"
	"io_rip_after_7e: hlt\n"
	".popsection\n");
extern char guest_io_rip[], io_rip_out[], io_rip_in[], io_rip_7e[],
	io_rip_after_7e[];

TEST(rip_at_io_exit)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_io_rip);
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	vcpu_args_set(vcpu, 3, 0, 0, TEST_PORT);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(0x80, run->io.port);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uintptr_t)io_rip_out, regs.rip);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(TEST_PORT, run->io.port);
	EXPECT_EQ(KVM_EXIT_IO_IN, run->io.direction);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uintptr_t)io_rip_in, regs.rip);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(0x7e, run->io.port);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uintptr_t)io_rip_after_7e, regs.rip);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uintptr_t)io_rip_after_7e + 1, regs.rip);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
