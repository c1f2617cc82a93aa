// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu_regs_test - KVM_GET_REGS / KVM_SET_REGS (api.rst "KVM_GET_REGS",
 * "KVM_SET_REGS"): the reset values, a round trip, what the guest sees of
 * registers the host set and what the host sees of registers the guest
 * set, RFLAGS bit 1, and the error paths (EFAULT, a wrong size, a closed
 * fd, the wrong fd level).
 */
#include <stdlib.h>
#include <string.h>

#include "ioctl_checks.h"
#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

/* RFLAGS bits (APM vol. 2, 3.1.6): bit 1 reads as one. */
#define RFLAGS_FIXED	(1ULL << 1)
#define RFLAGS_ARITH	0x8d5ULL	/* CF PF AF ZF SF OF */
#define RFLAGS_DF	(1ULL << 10)

#define TEST_PORT	0x80

/* What the guest's entry stubs store: the order of struct kvm_regs. */
struct gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rflags;
};

struct gprs regs_seen;

/* The guest's report after its stub: RIP of its own stub is not needed. */
void guest_report(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

/*
 * Store every general register and RFLAGS into regs_seen, as they were at
 * the stub's first instruction, then continue in C (CLD first: the psABI
 * wants DF clear in C code).
 */
#define CAPTURE_REGS							\
	"	mov %rax, regs_seen+0(%rip)\n"				\
	"	mov %rbx, regs_seen+8(%rip)\n"				\
	"	mov %rcx, regs_seen+16(%rip)\n"				\
	"	mov %rdx, regs_seen+24(%rip)\n"				\
	"	mov %rsi, regs_seen+32(%rip)\n"				\
	"	mov %rdi, regs_seen+40(%rip)\n"				\
	"	mov %rsp, regs_seen+48(%rip)\n"				\
	"	mov %rbp, regs_seen+56(%rip)\n"				\
	"	mov %r8, regs_seen+64(%rip)\n"				\
	"	mov %r9, regs_seen+72(%rip)\n"				\
	"	mov %r10, regs_seen+80(%rip)\n"				\
	"	mov %r11, regs_seen+88(%rip)\n"				\
	"	mov %r12, regs_seen+96(%rip)\n"				\
	"	mov %r13, regs_seen+104(%rip)\n"			\
	"	mov %r14, regs_seen+112(%rip)\n"			\
	"	mov %r15, regs_seen+120(%rip)\n"			\
	"	pushfq\n"						\
	"	popq regs_seen+128(%rip)\n"				\
	"	cld\n"							\
	"	jmp guest_report\n"

void guest_capture_regs(void);
asm(".pushsection .text\n"
	".globl guest_capture_regs\n"
	"guest_capture_regs:\n"
	CAPTURE_REGS
	".popsection\n");

/*
 * Load every general register but RSP with a pattern, set arithmetic flags
 * and DF, exit with an OUT the host sees as KVM_EXIT_IO, then capture.
 */
void guest_set_regs_then_capture(void);
extern char guest_out_insn[], guest_after_out[];
asm(".pushsection .text\n"
	".globl guest_set_regs_then_capture\n"
	"guest_set_regs_then_capture:\n"
	"	pushq $0x8d7\n"			/* arith flags, bit 1 */
	"	orq $0x400, (%rsp)\n"		/* DF */
	"	popfq\n"
	"	movabs $0xa0a0a0a0a0a0a000, %rax\n"
	"	movabs $0xb1b1b1b1b1b1b101, %rbx\n"
	"	movabs $0xc2c2c2c2c2c2c202, %rcx\n"
	"	movabs $0xd3d3d3d3d3d3d303, %rdx\n"
	"	movabs $0xe4e4e4e4e4e4e404, %rsi\n"
	"	movabs $0xf5f5f5f5f5f5f505, %rdi\n"
	"	movabs $0x0606060606060606, %rbp\n"
	"	movabs $0x1717171717171708, %r8\n"
	"	movabs $0x2828282828282809, %r9\n"
	"	movabs $0x393939393939390a, %r10\n"
	"	movabs $0x4a4a4a4a4a4a4a0b, %r11\n"
	"	movabs $0x5b5b5b5b5b5b5b0c, %r12\n"
	"	movabs $0x6c6c6c6c6c6c6c0d, %r13\n"
	"	movabs $0x7d7d7d7d7d7d7d0e, %r14\n"
	"	movabs $0x8e8e8e8e8e8e8e0f, %r15\n"
	".globl guest_out_insn\n"
	"guest_out_insn:\n"
	"	out %al, $0x80\n"
	".globl guest_after_out\n"
	"guest_after_out:\n"
	CAPTURE_REGS
	".popsection\n");

static const uint64_t guest_pattern[16] = {
	0xa0a0a0a0a0a0a000, 0xb1b1b1b1b1b1b101, 0xc2c2c2c2c2c2c202,
	0xd3d3d3d3d3d3d303, 0xe4e4e4e4e4e4e404, 0xf5f5f5f5f5f5f505,
	0 /* rsp */, 0x0606060606060606, 0x1717171717171708,
	0x2828282828282809, 0x393939393939390a, 0x4a4a4a4a4a4a4a0b,
	0x5b5b5b5b5b5b5b0c, 0x6c6c6c6c6c6c6c0d, 0x7d7d7d7d7d7d7d0e,
	0x8e8e8e8e8e8e8e0f,
};

/* struct kvm_regs as 18 u64: rax..r15 (16), rip, rflags. */
static uint64_t *regs_u64(struct kvm_regs *regs)
{
	return (uint64_t *)regs;
}

/* A distinct value for register i, set by the host. */
static uint64_t host_pattern(int i)
{
	return 0x0123456789abcdefULL ^ ((uint64_t)i * 0x1111111111111111ULL);
}

static struct kvm_vcpu *bare_vcpu(struct kvm_vm **vm)
{
	*vm = vm_create_bare();
	return vm_vcpu_add_bare(*vm, 0);
}

/*
 * APM vol. 2, 14.1.3 (processor state after RESET): RIP 0xfff0, RFLAGS 2,
 * EDX the processor signature. Before KVM_SET_CPUID2 there is none: KVM
 * puts 0x600 (family 6) in RDX, all else is zero.
 */
TEST(reset_values)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_regs regs;

	memset(&regs, 0xaa, sizeof(regs));
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(0xfff0, regs.rip);
	EXPECT_EQ(RFLAGS_FIXED, regs.rflags);
	EXPECT_EQ(0x600, regs.rdx);
	EXPECT_EQ(0, regs.rax);
	EXPECT_EQ(0, regs.rbx);
	EXPECT_EQ(0, regs.rcx);
	EXPECT_EQ(0, regs.rsi);
	EXPECT_EQ(0, regs.rdi);
	EXPECT_EQ(0, regs.rsp);
	EXPECT_EQ(0, regs.rbp);
	EXPECT_EQ(0, regs.r8);
	EXPECT_EQ(0, regs.r15);
	kvm_vm_free(vm);
}

TEST(round_trip)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_regs set, got;
	int i;

	for (i = 0; i < 18; i++)
		regs_u64(&set)[i] = host_pattern(i);
	/* RFLAGS: only architectural bits (APM 3.1.6), bit 1 set. */
	set.rflags = RFLAGS_FIXED | RFLAGS_ARITH | RFLAGS_DF;
	vcpu_regs_set(vcpu, &set);
	vcpu_regs_get(vcpu, &got);
	for (i = 0; i < 18; i++)
		EXPECT_EQ(regs_u64(&set)[i], regs_u64(&got)[i])
			TH_LOG("kvm_regs word %d", i);
	kvm_vm_free(vm);
}

/* KVM forces RFLAGS bit 1 on KVM_SET_REGS: it reads back set. */
TEST(rflags_bit1_is_forced)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	regs.rflags = RFLAGS_ARITH;
	vcpu_regs_set(vcpu, &regs);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(RFLAGS_ARITH | RFLAGS_FIXED, regs.rflags);
	kvm_vm_free(vm);
}

/* The guest starts with exactly the registers KVM_SET_REGS gave it. */
TEST(guest_sees_host_values)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_capture_regs);
	struct kvm_regs regs;
	struct ucall uc;
	int i;

	vcpu_regs_get(vcpu, &regs);
	for (i = 0; i < 16; i++)
		if (i != 6)	/* RSP: the library's stack */
			regs_u64(&regs)[i] = host_pattern(i);
	regs.rflags = RFLAGS_FIXED | RFLAGS_ARITH | RFLAGS_DF;
	vcpu_regs_set(vcpu, &regs);

	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, regs_seen);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(regs_u64(&regs)[i], ((uint64_t *)&regs_seen)[i])
			TH_LOG("register %d", i);
	EXPECT_EQ(regs.rflags, regs_seen.rflags);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * At the KVM_EXIT_IO of an OUT, KVM_GET_REGS shows what the guest loaded;
 * what the host then sets is what the guest has when it resumes after the
 * OUT. RIP at the exit is the OUT's own address: KVM completes the
 * instruction (skips it) only on the next KVM_RUN (api.rst, KVM_RUN: the
 * operation is complete only once userspace re-enters).
 */
TEST(host_sees_guest_values_and_changes_them)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_set_regs_then_capture);
	struct kvm_regs regs;
	struct ucall uc;
	int i;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(TEST_PORT, vcpu->run->io.port);
	vcpu_regs_get(vcpu, &regs);
	for (i = 0; i < 16; i++)
		if (i != 6)
			EXPECT_EQ(guest_pattern[i], regs_u64(&regs)[i])
				TH_LOG("register %d", i);
	EXPECT_EQ(RFLAGS_FIXED | RFLAGS_ARITH | RFLAGS_DF, regs.rflags);
	TH_LOG("rip at the exit 0x%llx, out at %p, next insn at %p",
	       regs.rip, guest_out_insn, guest_after_out);
	/* KVM's answer: RIP still points at the OUT. */
	EXPECT_EQ((uintptr_t)guest_out_insn, regs.rip);

	for (i = 0; i < 16; i++)
		if (i != 6)
			regs_u64(&regs)[i] = host_pattern(i);
	regs.rflags = RFLAGS_FIXED | 0x1;	/* CF only */
	vcpu_regs_set(vcpu, &regs);

	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, regs_seen);
	for (i = 0; i < 16; i++)
		if (i != 6)
			EXPECT_EQ(host_pattern(i), ((uint64_t *)&regs_seen)[i])
				TH_LOG("register %d", i);
	EXPECT_EQ(RFLAGS_FIXED | 0x1, regs_seen.rflags);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * Registers survive several exits untouched: the guest's values are still
 * there after three KVM_RUNs during which the host only read them.
 */
void guest_out_three_times(void);
asm(".pushsection .text\n"
	".globl guest_out_three_times\n"
	"guest_out_three_times:\n"
	"	movabs $0xa0a0a0a0a0a0a000, %rax\n"
	"	movabs $0xb1b1b1b1b1b1b101, %rbx\n"
	"	movabs $0xc2c2c2c2c2c2c202, %rcx\n"
	"	movabs $0xd3d3d3d3d3d3d303, %rdx\n"
	"	movabs $0xe4e4e4e4e4e4e404, %rsi\n"
	"	movabs $0xf5f5f5f5f5f5f505, %rdi\n"
	"	movabs $0x0606060606060606, %rbp\n"
	"	movabs $0x1717171717171708, %r8\n"
	"	movabs $0x2828282828282809, %r9\n"
	"	movabs $0x393939393939390a, %r10\n"
	"	movabs $0x4a4a4a4a4a4a4a0b, %r11\n"
	"	movabs $0x5b5b5b5b5b5b5b0c, %r12\n"
	"	movabs $0x6c6c6c6c6c6c6c0d, %r13\n"
	"	movabs $0x7d7d7d7d7d7d7d0e, %r14\n"
	"	movabs $0x8e8e8e8e8e8e8e0f, %r15\n"
	"	out %al, $0x80\n"
	"	out %al, $0x80\n"
	"	out %al, $0x80\n"
	CAPTURE_REGS
	".popsection\n");

TEST(preserved_across_exits)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_out_three_times);
	struct kvm_regs regs;
	struct ucall uc;
	int i, n;

	for (n = 0; n < 3; n++) {
		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, KVM_EXIT_IO);
		vcpu_regs_get(vcpu, &regs);
		EXPECT_EQ(guest_pattern[15], regs.r15);
	}
	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, regs_seen);
	for (i = 0; i < 16; i++)
		if (i != 6)
			EXPECT_EQ(guest_pattern[i], ((uint64_t *)&regs_seen)[i])
				TH_LOG("register %d", i);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* RIP set by the host is where the guest continues. */
void guest_other_entry(void)
{
	GUEST_SYNC(2);
	GUEST_DONE();
}

TEST(rip_moves_the_guest)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_capture_regs);
	struct kvm_regs regs;
	struct ucall uc;

	vcpu_regs_get(vcpu, &regs);
	regs.rip = (uintptr_t)guest_other_entry;
	vcpu_regs_set(vcpu, &regs);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * KVM_SET_REGS at the exit of an OUT with a new RIP: KVM finishes the
 * OUT (skips it) on the next KVM_RUN only if RIP is still the OUT's, so
 * the guest starts exactly at the new RIP.
 */
TEST(rip_changed_at_io_exit)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_out_three_times);
	struct kvm_regs regs;
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	vcpu_regs_get(vcpu, &regs);
	regs.rip = (uintptr_t)guest_other_entry;
	vcpu_regs_set(vcpu, &regs);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* IN of one byte into AL, whose other bits the host sets at the exit. */
void guest_in_byte(void);
asm(".pushsection .text\n"
	".globl guest_in_byte\n"
	"guest_in_byte:\n"
	"	movabs $0x1111111111111111, %rax\n"
	"	inb $0x80, %al\n"
	CAPTURE_REGS
	".popsection\n");

/*
 * KVM_SET_REGS at the exit of an IN: KVM writes the data from the
 * kvm_run page into AL on the next KVM_RUN, over the RAX the host set
 * (APM vol. 3, IN: the other bits of RAX are kept).
 */
TEST(in_data_lands_in_host_set_rax)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_in_byte);
	struct kvm_regs regs;
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(KVM_EXIT_IO_IN, vcpu->run->io.direction);
	ASSERT_EQ(1, vcpu->run->io.size);
	*((uint8_t *)vcpu->run + vcpu->run->io.data_offset) = 0x42;
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(0x1111111111111111ULL, regs.rax);
	regs.rax = 0xaaaaaaaaaaaaaaaaULL;
	vcpu_regs_set(vcpu, &regs);
	ASSERT_SYNC(vcpu, &uc, 1);
	vm_sync_global_from_guest(vm, regs_seen);
	EXPECT_EQ(0xaaaaaaaaaaaaaa42ULL, regs_seen.rax);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* copy_to_user / copy_from_user of the whole struct: EFAULT. */
TEST(bad_pointers_are_efault)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	void *none = straddling_buffer(sizeof(struct kvm_regs),
				       sizeof(struct kvm_regs));
	void *half = straddling_buffer(sizeof(struct kvm_regs), 8);
	struct kvm_regs before, after;

	ASSERT_NE(NULL, none);
	ASSERT_NE(NULL, half);
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_REGS, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_REGS, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_REGS,
				      (uintptr_t)none));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_REGS,
				      (uintptr_t)none));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_REGS,
				      (uintptr_t)half));
	/* A SET that cannot read all of its struct changes nothing. */
	vcpu_regs_get(vcpu, &before);
	memset(half, 0x5a, sizeof(struct kvm_regs) - 8);
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_REGS,
				      (uintptr_t)half));
	vcpu_regs_get(vcpu, &after);
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
	kvm_vm_free(vm);
}

/*
 * KVM matches the whole request number: another size is an unknown vCPU
 * ioctl, which kvm_arch_vcpu_ioctl() answers with EINVAL.
 */
TEST(wrong_size_is_einval)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	char buf[2 * sizeof(struct kvm_regs)];
	size_t sz = sizeof(struct kvm_regs);

	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, ioc_resize(KVM_GET_REGS,
							   sz - 8),
				      (uintptr_t)buf));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, ioc_resize(KVM_GET_REGS,
							   sz + 8),
				      (uintptr_t)buf));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, ioc_resize(KVM_SET_REGS,
							   sz - 8),
				      (uintptr_t)buf));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, ioc_resize(KVM_SET_REGS,
							   sz + 8),
				      (uintptr_t)buf));
	kvm_vm_free(vm);
}

/*
 * vCPU ioctls on the VM fd are unknown VM ioctls (ENOTTY from
 * kvm_arch_vm_ioctl()); on the device fd unknown system ioctls (EINVAL
 * from kvm_arch_dev_ioctl()). A closed vCPU fd is EBADF.
 */
TEST(wrong_fd)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_regs regs;
	int fd;

	EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, KVM_GET_REGS, (uintptr_t)&regs));
	EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, KVM_SET_REGS, (uintptr_t)&regs));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->dev_fd, KVM_GET_REGS,
				      (uintptr_t)&regs));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->dev_fd, KVM_SET_REGS,
				      (uintptr_t)&regs));

	fd = dup(vcpu->fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_GET_REGS, (uintptr_t)&regs));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_SET_REGS, (uintptr_t)&regs));
	/* The vCPU itself is still there through its first fd. */
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_REGS, (uintptr_t)&regs));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
