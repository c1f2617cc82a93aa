// SPDX-License-Identifier: GPL-2.0-only
/*
 * exits_mmio_test - MMIO exits in detail (api.rst "KVM_RUN", struct
 * kvm_run, "KVM_EXIT_MMIO"): a guest access to a guest physical address no
 * memory slot backs reaches userspace with phys_addr, len and is_write
 * exact; a write carries its bytes in mmio.data, a read loads what the
 * host left there when KVM_RUN is called again. Covered here: MOV of an
 * immediate, MOVZX/MOVSX, REP STOS and REP MOVS on MMIO, 16-byte SSE
 * moves and accesses across a page boundary (split into several exits),
 * and a guest touching hundreds of unbacked addresses scattered up to
 * 64 GiB.
 *
 * Instruction semantics: AMD APM vol. 3 ("MOV", "MOVSX", "MOVZX",
 * "MOVSXD", "STOS", "MOVS", "REP"), vol. 4 ("MOVDQU").
 */
#include <string.h>

#include "kselftest_harness.h"
#include "mmio_checks.h"
#include "ucall.h"
#include "x86_guest.h"

/* 3 GiB: mapped by the library's page tables, in no slot. */
#define MMIO_GPA	0xc0000000ULL

static uint64_t mmio_data(struct kvm_vcpu *vcpu)
{
	uint64_t v = 0;

	memcpy(&v, vcpu->run->mmio.data, vcpu->run->mmio.len);
	return v;
}

/* MOV of an immediate to memory, each size; MOVQ's imm32 sign-extends. */
static void guest_mov_imm(void)
{
	asm volatile("movb $0x12, (%0)" : : "r"(MMIO_GPA + 0x10) : "memory");
	asm volatile("movw $0x3456, (%0)" : : "r"(MMIO_GPA + 0x20) : "memory");
	asm volatile("movl $0x789abcde, (%0)" : : "r"(MMIO_GPA + 0x30)
		     : "memory");
	asm volatile("movq $-2, (%0)" : : "r"(MMIO_GPA + 0x40) : "memory");
	asm volatile("movq $0x7fffffff, (%0)" : : "r"(MMIO_GPA + 0x48)
		     : "memory");
	GUEST_DONE();
}

TEST(mov_immediate_to_mmio)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_mov_imm);
	struct ucall uc;

	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x10, 1);
	EXPECT_EQ(0x12, mmio_data(vcpu));
	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x20, 2);
	EXPECT_EQ(0x3456, mmio_data(vcpu));
	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x30, 4);
	EXPECT_EQ(0x789abcde, mmio_data(vcpu));
	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x40, 8);
	EXPECT_EQ(0xfffffffffffffffeULL, mmio_data(vcpu));
	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x48, 8);
	EXPECT_EQ(0x7fffffffULL, mmio_data(vcpu));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * Zero- and sign-extending loads: the exit's len is the memory operand's
 * size, and the extension is done on what the host supplied.
 */
static void guest_movx(void)
{
	uint64_t r[6];

	asm volatile("movzbl (%1), %k0" : "=r"(r[0]) : "r"(MMIO_GPA + 1));
	asm volatile("movzwq (%1), %0" : "=r"(r[1]) : "r"(MMIO_GPA + 2));
	asm volatile("movsbq (%1), %0" : "=r"(r[2]) : "r"(MMIO_GPA + 3));
	asm volatile("movswq (%1), %0" : "=r"(r[3]) : "r"(MMIO_GPA + 4));
	asm volatile("movslq (%1), %0" : "=r"(r[4]) : "r"(MMIO_GPA + 8));
	asm volatile("movsbw (%1), %w0" : "=r"(r[5]) : "r"(MMIO_GPA + 0xc),
		     "0"(0x1111111111111111ULL));
	GUEST_SYNC_ARGS(1, r[0], r[1], r[2], r[3], r[4]);
	GUEST_SYNC_ARGS(2, r[5]);
	GUEST_DONE();
}

TEST(movzx_movsx_from_mmio)
{
	static const struct {
		uint64_t off;
		uint32_t len;
		uint64_t val;
	} rd[] = {
		{ 1, 1, 0x80 }, { 2, 2, 0x8001 }, { 3, 1, 0x81 },
		{ 4, 2, 0x8002 }, { 8, 4, 0x80000003 }, { 0xc, 1, 0xfe },
	};
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_movx);
	struct ucall uc;
	int i;

	for (i = 0; i < 6; i++) {
		expect_mmio(_metadata, vcpu, false, MMIO_GPA + rd[i].off,
			    rd[i].len);
		/* Junk past len must not reach the guest. */
		memset(vcpu->run->mmio.data, 0x77, 8);
		memcpy(vcpu->run->mmio.data, &rd[i].val, rd[i].len);
	}
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0x80, uc.args[1]);
	EXPECT_EQ(0x8001, uc.args[2]);
	EXPECT_EQ(0xffffffffffffff81ULL, uc.args[3]);
	EXPECT_EQ(0xffffffffffff8002ULL, uc.args[4]);
	EXPECT_EQ(0xffffffff80000003ULL, uc.args[5]);
	ASSERT_SYNC(vcpu, &uc, 2);
	/* A 16-bit destination: bits 63:16 of the register are kept. */
	EXPECT_EQ(0x111111111111fffeULL, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * REP STOS to MMIO: one exit per element with the element's size, at
 * ascending (DF = 0) or descending (DF = 1) addresses; RCX ends 0 and RDI
 * moves by count * size.
 */
static void guest_rep_stos(void)
{
	uint64_t rdi = MMIO_GPA + 0x100, rcx = 5;

	asm volatile("rep stosq" : "+D"(rdi), "+c"(rcx)
		     : "a"(0x0123456789abcdefULL) : "memory");
	GUEST_SYNC_ARGS(1, rcx, rdi);
	rdi = MMIO_GPA + 0x200;
	rcx = 3;
	asm volatile("std; rep stosw; cld" : "+D"(rdi), "+c"(rcx)
		     : "a"(0xbeef) : "memory", "cc");
	GUEST_SYNC_ARGS(2, rcx, rdi);
	GUEST_DONE();
}

TEST(rep_stos_to_mmio)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_rep_stos);
	struct ucall uc;
	int i;

	for (i = 0; i < 5; i++) {
		expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x100 + i * 8, 8);
		EXPECT_EQ(0x0123456789abcdefULL, mmio_data(vcpu));
	}
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(MMIO_GPA + 0x100 + 40, uc.args[2]);
	for (i = 0; i < 3; i++) {
		expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x200 - i * 2, 2);
		EXPECT_EQ(0xbeef, mmio_data(vcpu));
	}
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(MMIO_GPA + 0x200 - 6, uc.args[2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* REP MOVS from MMIO to RAM and from RAM to MMIO. */
static void guest_rep_movs(uint64_t *ram)
{
	uint64_t rsi = MMIO_GPA + 0x300, rdi = (uintptr_t)ram, rcx = 4;

	asm volatile("rep movsl" : "+S"(rsi), "+D"(rdi), "+c"(rcx)
		     : : "memory");
	GUEST_SYNC_ARGS(1, rcx, rsi, rdi, ram[0], ram[1]);
	rsi = (uintptr_t)ram;
	rdi = MMIO_GPA + 0x400;
	rcx = 3;
	asm volatile("rep movsb" : "+S"(rsi), "+D"(rdi), "+c"(rcx)
		     : : "memory");
	GUEST_SYNC_ARGS(2, rcx, rsi, rdi);
	GUEST_DONE();
}

TEST(rep_movs_mmio_and_ram)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_rep_movs);
	uint64_t ram = vm_alloc(vm, 64, 64);
	struct ucall uc;
	uint32_t v;
	int i;

	vcpu_args_set(vcpu, 1, ram);
	for (i = 0; i < 4; i++) {
		expect_mmio(_metadata, vcpu, false, MMIO_GPA + 0x300 + i * 4, 4);
		v = 0xa0b0c0d0 + i;
		memcpy(vcpu->run->mmio.data, &v, 4);
	}
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(MMIO_GPA + 0x300 + 16, uc.args[2]);
	EXPECT_EQ(ram + 16, uc.args[3]);
	EXPECT_EQ(0xa0b0c0d1a0b0c0d0ULL, uc.args[4]);
	EXPECT_EQ(0xa0b0c0d3a0b0c0d2ULL, uc.args[5]);
	for (i = 0; i < 3; i++) {
		expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x400 + i, 1);
		EXPECT_EQ(((0xa0b0c0d0ULL >> (8 * i)) & 0xff),
			  mmio_data(vcpu)) TH_LOG("byte %d", i);
	}
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(ram + 3, uc.args[2]);
	EXPECT_EQ(MMIO_GPA + 0x400 + 3, uc.args[3]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * Accesses KVM splits: an 8-byte MOV straddling two unbacked pages is two
 * exits of 4 bytes, one per page; a 16-byte MOVDQU is two exits of 8
 * (struct kvm_run's mmio.data holds 8 bytes).
 */
static void guest_split(void)
{
	uint64_t lo, hi, r;

	*(volatile uint64_t *)(MMIO_GPA + 0xffc) = 0x1122334455667788ULL;
	r = *(volatile uint64_t *)(MMIO_GPA + 0x1ffa);
	GUEST_SYNC_ARGS(1, r);
	asm volatile("movq %2, %%xmm0\n\t"
		     "pinsrq $1, %3, %%xmm0\n\t"
		     "movdqu %%xmm0, (%4)\n\t"
		     "pxor %%xmm0, %%xmm0\n\t"
		     "movdqu (%5), %%xmm0\n\t"
		     "movq %%xmm0, %0\n\t"
		     "pextrq $1, %%xmm0, %1"
		     : "=r"(lo), "=r"(hi)
		     : "r"(0x0706050403020100ULL), "r"(0x0f0e0d0c0b0a0908ULL),
		       "r"(MMIO_GPA + 0x2000), "r"(MMIO_GPA + 0x2100)
		     : "xmm0", "memory");
	GUEST_SYNC_ARGS(2, lo, hi);
	GUEST_DONE();
}

TEST(split_accesses)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_split);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	uint64_t v;

	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0xffc, 4);
	EXPECT_EQ(0x55667788, mmio_data(vcpu));
	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x1000, 4);
	EXPECT_EQ(0x11223344, mmio_data(vcpu));

	expect_mmio(_metadata, vcpu, false, MMIO_GPA + 0x1ffa, 6);
	v = 0x665544332211ULL;
	memcpy(run->mmio.data, &v, 6);
	expect_mmio(_metadata, vcpu, false, MMIO_GPA + 0x2000, 2);
	v = 0xbbaa;
	memcpy(run->mmio.data, &v, 2);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0xbbaa665544332211ULL, uc.args[1]);

	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x2000, 8);
	EXPECT_EQ(0x0706050403020100ULL, mmio_data(vcpu));
	expect_mmio(_metadata, vcpu, true, MMIO_GPA + 0x2008, 8);
	EXPECT_EQ(0x0f0e0d0c0b0a0908ULL, mmio_data(vcpu));
	expect_mmio(_metadata, vcpu, false, MMIO_GPA + 0x2100, 8);
	v = 0x1716151413121110ULL;
	memcpy(run->mmio.data, &v, 8);
	expect_mmio(_metadata, vcpu, false, MMIO_GPA + 0x2108, 8);
	v = 0x1f1e1d1c1b1a1918ULL;
	memcpy(run->mmio.data, &v, 8);
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(0x1716151413121110ULL, uc.args[1]);
	EXPECT_EQ(0x1f1e1d1c1b1a1918ULL, uc.args[2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * Up to 64 GiB: the library maps 4 GiB; map [4 GiB, 64 GiB) 1:1 too, with
 * 2 MiB pages (APM vol. 2, 5.3.4) in page directories taken from guest
 * memory, hooked into the library's PDPT (the page after the PML4).
 */
#define SCATTER_END	(64ULL << 30)
#define SCATTER_N	300
#define HIGH_RAM_GPA	(48ULL << 30)
#define PDPT_GPA	(PAGE_TABLES_GPA + GUEST_PAGE_SIZE)
#define PTE_PW		0x3ULL		/* present, writable */
#define PTE_PS		(1ULL << 7)	/* a 2 MiB page */

static void map_up_to(struct kvm_vm *vm, uint64_t end)
{
	uint64_t *pdpt = addr_gpa2hva(vm, PDPT_GPA);
	uint64_t i, j;

	for (i = IDENTITY_MAP_SIZE >> 30; i < end >> 30; i++) {
		uint64_t pd_gpa = vm_alloc(vm, GUEST_PAGE_SIZE,
					   GUEST_PAGE_SIZE);
		uint64_t *pd = addr_gpa2hva(vm, pd_gpa);

		for (j = 0; j < 512; j++)
			pd[j] = (i << 30 | j << 21) | PTE_PW | PTE_PS;
		pdpt[i] = pd_gpa | PTE_PW;
	}
}

/* The i-th address: spread over [64 MiB, 64 GiB), 8-byte aligned. */
static uint64_t scatter_addr(uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return (64ULL << 20) + (x % (SCATTER_END - (64ULL << 20) - 8) & ~7ULL);
}

static uint64_t scatter_val(uint64_t i)
{
	return 0x5ca7000000000000ULL | i << 16 | (i ^ 0xffff);
}

static bool in_high_ram(uint64_t gpa)
{
	return gpa >= HIGH_RAM_GPA && gpa < HIGH_RAM_GPA + (2ULL << 20);
}

static void guest_scatter(uint64_t *high_ram)
{
	uint64_t i, n = 0;

	for (i = 0; i < SCATTER_N; i++) {
		volatile uint64_t *p = (void *)scatter_addr(i);

		if (in_high_ram((uintptr_t)p))
			continue;
		*p = scatter_val(i);
		GUEST_ASSERT_EQ(*p, ~scatter_val(i));
		n++;
	}
	/* Memory still works, low and high. */
	high_ram[0] = n;
	high_ram[1] = 0x4869676852616d21ULL;
	GUEST_SYNC_ARGS(1, n, high_ram[0]);
	GUEST_DONE();
}

TEST(scattered_unbacked_gpas_up_to_64g)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_scatter);
	struct kvm_run *run = vcpu->run;
	uint64_t *high, i, n = 0, below_4g = 0;
	struct ucall uc;

	map_up_to(vm, SCATTER_END);
	high = vm_add_mem_slot(vm, 1, HIGH_RAM_GPA, 2ULL << 20, 0);
	vcpu_args_set(vcpu, 1, HIGH_RAM_GPA);

	for (i = 0; i < SCATTER_N; i++) {
		uint64_t a = scatter_addr(i), v;

		if (in_high_ram(a))
			continue;
		below_4g += a < IDENTITY_MAP_SIZE;
		expect_mmio(_metadata, vcpu, true, a, 8);
		ASSERT_EQ(scatter_val(i), mmio_data(vcpu))
			TH_LOG("access %llu at 0x%llx", (unsigned long long)i,
			       (unsigned long long)a);
		expect_mmio(_metadata, vcpu, false, a, 8);
		ASSERT_EQ(false, run->mmio.is_write);
		v = ~scatter_val(i);
		memcpy(run->mmio.data, &v, 8);
		n++;
	}
	TH_LOG("%llu unbacked addresses, %llu of them below 4 GiB",
	       (unsigned long long)n, (unsigned long long)below_4g);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(n, uc.args[1]);
	EXPECT_EQ(n, uc.args[2]);
	EXPECT_EQ(n, high[0]);
	EXPECT_EQ(0x4869676852616d21ULL, high[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
