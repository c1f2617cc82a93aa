// SPDX-License-Identifier: GPL-2.0-only
/*
 * bad_guest_test - hostile guests, invalid vCPU state and VMM mistakes end
 * in an exit or an errno exactly as in-tree kvm-amd's, and leave the VM
 * closable and the host's memory where it was:
 *
 * - state KVM_SET_SREGS takes but VMRUN refuses (APM vol. 2, 15.5.1,
 *   "Canonicalization and Consistency Checks": EFER reserved bits set, or
 *   EFER.LME, CR0.PG, CR4.PAE, CS.L and CS.D all set; QEMU's emulated SVM
 *   checks both in helper_vmrun()) is KVM_EXIT_FAIL_ENTRY, and
 *   KVM_SET_REGS/SREGS with valid state make the vCPU run again; what
 *   KVM_SET_SREGS / KVM_SET_DEBUGREGS check themselves is EINVAL;
 * - page tables at an unbacked GPA, or full of garbage, a triple fault,
 *   code fetched from an unbacked GPA, an MMIO access KVM's emulator does
 *   not know (x87 FSTP);
 * - thousands of unbacked pages scattered over 64 GiB, 100,000 MMIO exits,
 *   200 VMs with two vCPUs each: no memory left behind;
 * - KVM_RUN with kvm_run unmapped, with the VM fd closed, from a forked
 *   child, and in a VM without any memory slot.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

/* Mapped by the library's page tables, in no slot. */
#define MMIO_GPA	0xc0000000ULL
#define UNBACKED_CODE_GPA 0xd0000000ULL
#define UNBACKED_PT_GPA	0x80000000ULL

#define CR0_CD		(1ULL << 30)
#define CR0_NW		(1ULL << 29)
#define CR0_PG		(1ULL << 31)

/* kvm-amd's SVM_EXIT_ERR (-1), in the VMCB's 32-bit EXITCODE field. */
#define SVM_EXIT_ERR_REASON	0xffffffffULL
/*
 * kvm-intel's: the full exit reason, "VM-entry failure" (bit 31) with
 * "invalid guest state" (33), Intel SDM Appendix C.
 */
#define VMX_EXIT_ERR_REASON	0x80000021ULL

/*
 * KVM_INTERNAL_ERROR_EMULATION's data: the flags word, then the five
 * words of the vendor's exit information (kvm_x86_ops.get_exit_info).
 */
#define EMULATION_NDATA		6
/* ... and two more words of instruction bytes, when the flag says so. */
#define EMULATION_NDATA_INSN	8

/* A fixture only for a longer timeout than the harness' 30 s. */
FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

#define SLOW_TEST_SECONDS	300

/*
 * okvm_used_memory_kb() less the pages on the per-CPU free lists
 * (/proc/zoneinfo "count:"), which MemFree does not count: freeing a VM's
 * memory may park megabytes there.
 */
static long used_memory_kb(void)
{
	long used = okvm_used_memory_kb(), pages = 0, n;
	char line[256];
	FILE *f;

	if (used < 0)
		return used;
	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &n) == 1)
			pages += n;
	fclose(f);
	return used - pages * (GUEST_PAGE_SIZE / 1024);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void guest_sync_done(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

static void on_alarm(int sig)
{
}

/*
 * KVM_RUN with SIGALRM due after ms milliseconds, for a vCPU that may never
 * exit on its own: 0 or -errno.
 */
static int run_with_alarm(struct kvm_vcpu *vcpu, long ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_value = {
			.tv_sec = ms / 1000,
			.tv_usec = ms % 1000 * 1000,
		},
	};
	struct itimerval off = { 0 };
	int r;

	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
	setitimer(ITIMER_REAL, &it, NULL);
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	r = r < 0 ? -errno : 0;
	setitimer(ITIMER_REAL, &off, NULL);
	return r;
}

static void expect_fail_entry(struct __test_metadata *_metadata,
			      struct kvm_vcpu *vcpu)
{
	ASSERT_EQ(0, _vcpu_run(vcpu));
	ASSERT_EXIT(vcpu, KVM_EXIT_FAIL_ENTRY);
	EXPECT_EQ(okvm_host_is_intel() ? VMX_EXIT_ERR_REASON :
					 SVM_EXIT_ERR_REASON,
		  vcpu->run->fail_entry.hardware_entry_failure_reason);
	EXPECT_GT(sysconf(_SC_NPROCESSORS_CONF), vcpu->run->fail_entry.cpu);
}

/*
 * KVM_RUN again after KVM_EXIT_SHUTDOWN, with the reset vector in no slot.
 * kvm-amd INITs the vCPU at a shutdown (the VMCB is undefined after one),
 * so the vCPU cannot fetch at FFFFFFF0: an emulation failure without
 * instruction bytes. kvm-intel keeps the state of the fault: a second
 * shutdown.
 */
static void expect_after_shutdown(struct __test_metadata *_metadata,
				  struct kvm_vcpu *vcpu)
{
	vcpu_run(vcpu);
	if (okvm_host_is_intel()) {
		ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
		return;
	}
	ASSERT_EXIT(vcpu, KVM_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(KVM_INTERNAL_ERROR_EMULATION,
		  vcpu->run->emulation_failure.suberror);
	EXPECT_EQ(0, vcpu->run->emulation_failure.flags);
}

/* The guest got nowhere: still at its first instruction. */
static void expect_rip(struct __test_metadata *_metadata,
		       struct kvm_vcpu *vcpu, uint64_t rip)
{
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(rip, regs.rip);
}

/*
 * 64-bit mode with CS.D set too: KVM_SET_SREGS checks no segment, VMRUN
 * refuses it (VMEXIT_INVALID), every time, until the VMM fixes CS. What
 * the VMCB holds after VMEXIT_INVALID is the CPU's business (QEMU's SVM
 * leaves RIP changed), so the VMM sets the registers again too.
 */
TEST(cs_l_and_d_is_fail_entry)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_done);
	struct kvm_sregs good, s;
	struct kvm_regs regs;
	struct ucall uc;

	vcpu_regs_get(vcpu, &regs);
	vcpu_sregs_get(vcpu, &good);
	s = good;
	s.cs.db = 1;
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&s));
	expect_fail_entry(_metadata, vcpu);
	expect_fail_entry(_metadata, vcpu);

	vcpu_regs_set(vcpu, &regs);
	vcpu_sregs_set(vcpu, &good);
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * An EFER reserved bit. KVM's answer depends on whether the kernel has
 * commit 184bd464bdb6 ("KVM: x86: Check EFER validity on KVM_SET_SREGS*",
 * in 6.12.117, not in 6.1's): EINVAL with nothing changed; without it,
 * KVM_SET_SREGS takes the bit and VMRUN refuses it. Either way valid state
 * runs afterwards.
 */
TEST(efer_reserved_bit)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_done);
	struct kvm_sregs good, s;
	struct kvm_regs regs;
	struct ucall uc;
	long r;

	vcpu_regs_get(vcpu, &regs);
	vcpu_sregs_get(vcpu, &good);
	s = good;
	s.efer |= 1ULL << 63;
	r = okvm_ioctl(vcpu->fd, KVM_SET_SREGS, (uintptr_t)&s);
	if (r) {
		EXPECT_EQ(-EINVAL, r);
		vcpu_sregs_get(vcpu, &s);
		EXPECT_EQ(good.efer, s.efer);
	} else {
		TH_LOG("KVM_SET_SREGS took EFER bit 63: VMRUN must refuse it");
		expect_fail_entry(_metadata, vcpu);
	}

	vcpu_regs_set(vcpu, &regs);
	vcpu_sregs_set(vcpu, &good);
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * What VMRUN would refuse and KVM checks up front (APM vol. 2, 15.5.1):
 * EINVAL, nothing changes, and the vCPU runs as before.
 */
TEST(state_kvm_checks_is_einval)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_done);
	struct kvm_sregs good, s, now;
	struct ucall uc;
	const struct {
		const char *what;
		uint64_t cr0_set, cr0_clear, cr3_set, cr4_set;
	} bad[] = {
		{ "CR0.NW without CD", CR0_NW, CR0_CD, 0, 0 },
		{ "CR0 bit 32", 1ULL << 32, 0, 0, 0 },
		{ "CR0.PG clear with EFER.LMA", 0, CR0_PG, 0, 0 },
		{ "CR3 bit 52 in long mode", 0, 0, 1ULL << 52, 0 },
		{ "CR4 bit 32", 0, 0, 0, 1ULL << 32 },
	};
	unsigned int i;

	vcpu_sregs_get(vcpu, &good);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = good;
		s.cr0 = (s.cr0 | bad[i].cr0_set) & ~bad[i].cr0_clear;
		s.cr3 |= bad[i].cr3_set;
		s.cr4 |= bad[i].cr4_set;
		EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_SREGS,
					      (uintptr_t)&s))
			TH_LOG("%s", bad[i].what);
		vcpu_sregs_get(vcpu, &now);
		EXPECT_EQ(0, memcmp(&good, &now, sizeof(now)))
			TH_LOG("%s changed the state", bad[i].what);
	}

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * DR6 and DR7 bits 63:32 (APM vol. 2, 13.1.1), which VMRUN refuses too:
 * KVM_SET_DEBUGREGS says EINVAL and keeps what it had.
 */
TEST(debugregs_high_bits_are_einval)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_done);
	struct kvm_debugregs dbg, bad, now;
	struct ucall uc;

	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_DEBUGREGS, (uintptr_t)&dbg));
	/* Valid values go through (DR7.GD and G0 would trap: L0 only). */
	dbg.db[0] = 0x1000;
	dbg.dr7 = 0x401;
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_DEBUGREGS, (uintptr_t)&dbg));

	bad = dbg;
	bad.dr7 |= 1ULL << 32;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_DEBUGREGS,
				      (uintptr_t)&bad));
	bad = dbg;
	bad.dr6 |= 1ULL << 32;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_DEBUGREGS,
				      (uintptr_t)&bad));
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_GET_DEBUGREGS, (uintptr_t)&now));
	EXPECT_EQ(dbg.db[0], now.db[0]);
	EXPECT_EQ(dbg.dr6, now.dr6);
	EXPECT_EQ(dbg.dr7, now.dr7);

	/* The breakpoint at 0x1000 is never hit: the guest runs as before. */
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * CR3 at a GPA no slot backs: every guest page walk is an NPF on MMIO, so
 * KVM emulates; its emulator cannot walk the tables either and injects
 * #PF, whose delivery walks them again.
 * kvm-amd's answer: an endless loop inside KVM_RUN, ended only by a signal
 * (EINTR, KVM_EXIT_INTR). kvm-intel sees that delivering the #PF touched
 * MMIO and gives up: KVM_INTERNAL_ERROR_DELIVERY_EV. Either way the VM's
 * other vCPUs run, and it closes.
 */
TEST(page_tables_at_unbacked_gpa)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_done);
	struct kvm_vcpu *other = vm_vcpu_add_guest(vm, 1, guest_sync_done);
	struct kvm_sregs s;
	struct ucall uc;

	vcpu_sregs_get(vcpu, &s);
	s.cr3 = UNBACKED_PT_GPA;
	vcpu_sregs_set(vcpu, &s);
	if (okvm_host_is_intel()) {
		EXPECT_EQ(0, run_with_alarm(vcpu, 300));
		ASSERT_EXIT(vcpu, KVM_EXIT_INTERNAL_ERROR);
		EXPECT_EQ(KVM_INTERNAL_ERROR_DELIVERY_EV,
			  vcpu->run->internal.suberror);
	} else {
		EXPECT_EQ(-EINTR, run_with_alarm(vcpu, 300));
		ASSERT_EXIT(vcpu, KVM_EXIT_INTR);
		EXPECT_EQ(-EINTR, run_with_alarm(vcpu, 100));
		ASSERT_EXIT(vcpu, KVM_EXIT_INTR);
	}

	ASSERT_SYNC(other, &uc, 1);
	ASSERT_UCALL(other, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * CR3 at a page of 0xff (reserved bits in every entry: #PF with RSVD) or of
 * zeros (nothing present: #PF): the #PF cannot be delivered either (the IDT
 * is reached through the same tables), nor the #DF: shutdown. kvm-amd then
 * INITs the vCPU (see shutdown_test); its reset vector is in no slot here,
 * so the next KVM_RUN cannot fetch an instruction: an emulation failure.
 * kvm-intel keeps the state, so the next KVM_RUN shuts down again.
 */
TEST(page_tables_of_garbage)
{
	struct kvm_vm *vm = vm_create_guest(0);
	int fill[] = { 0xff, 0 };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, i,
							  guest_sync_done);
		uint64_t pml4 = vm_alloc(vm, GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
		struct kvm_sregs s;

		memset(addr_gpa2hva(vm, pml4), fill[i], GUEST_PAGE_SIZE);
		vcpu_sregs_get(vcpu, &s);
		s.cr3 = pml4;
		vcpu_sregs_set(vcpu, &s);
		vcpu_run(vcpu);
		ASSERT_EQ(KVM_EXIT_SHUTDOWN, vcpu->run->exit_reason)
			TH_LOG("fill 0x%x: %s", fill[i], vcpu_exit_str(vcpu));
		expect_after_shutdown(_metadata, vcpu);
	}
	kvm_vm_free(vm);
}

/* An IDT limit that covers no gate: #UD, #GP, #DF undeliverable. */
static void guest_triple_fault(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idt = { 0, 0 };

	GUEST_SYNC(1);
	asm volatile("lidt %0; ud2" : : "m"(idt));
	GUEST_DONE();
}

/*
 * Triple fault: KVM_EXIT_SHUTDOWN; on SVM the next KVM_RUN starts the
 * INIT'ed vCPU at the reset vector, in no slot: an emulation failure, not a
 * second shutdown; on VMX it faults again. The VM's other vCPU is
 * unaffected.
 */
TEST(triple_fault_then_run_again)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_triple_fault);
	struct kvm_vcpu *other = vm_vcpu_add_guest(vm, 1, guest_sync_done);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	expect_after_shutdown(_metadata, vcpu);
	ASSERT_SYNC(other, &uc, 1);
	ASSERT_UCALL(other, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_jump_unbacked(void)
{
	asm volatile("jmp *%0" : : "r"(UNBACKED_CODE_GPA));
}

/*
 * Code at a GPA no slot backs (identity-mapped, so the page walk works):
 * KVM's emulator cannot fetch a byte of it. At CPL 0 that is
 * KVM_INTERNAL_ERROR_EMULATION without instruction bytes; KVM has also
 * queued #UD, which the guest gets at that RIP on the next KVM_RUN.
 */
TEST(code_at_unbacked_gpa)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_jump_unbacked);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	char want[80];

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(KVM_INTERNAL_ERROR_EMULATION,
		  run->emulation_failure.suberror);
	EXPECT_EQ(0, run->emulation_failure.flags);
	EXPECT_EQ(EMULATION_NDATA, run->emulation_failure.ndata);
	expect_rip(_metadata, vcpu, UNBACKED_CODE_GPA);

	ASSERT_UCALL(vcpu, &uc, UCALL_ASSERT_FAILED);
	snprintf(want, sizeof(want), "unexpected #UD (vector 6) at rip 0x%llx,",
		 UNBACKED_CODE_GPA);
	EXPECT_NE(NULL, strstr(uc.buffer, want))
		TH_LOG("guest: %s; want \"%s\"", uc.buffer, want);
	kvm_vm_free(vm);
}

extern char fstp_to_mmio[];

static void guest_x87_store_to_mmio(void)
{
	asm volatile("fldz\n"
		     ".globl fstp_to_mmio\n"
		     "fstp_to_mmio: fstpl (%%rax)"
		     : : "a"(MMIO_GPA) : "memory");
	GUEST_DONE();
}

/*
 * An x87 FSTP m64 to MMIO: KVM's emulator has no x87 stores, so the
 * access cannot be completed. KVM_INTERNAL_ERROR_EMULATION, this time with
 * the instruction bytes it fetched (DD 18: fstpl (%rax)), and the queued
 * #UD at that instruction on the next KVM_RUN. No MMIO exit at all.
 */
TEST(mmio_access_kvm_cannot_emulate)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_x87_store_to_mmio);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	char want[80];

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(KVM_INTERNAL_ERROR_EMULATION,
		  run->emulation_failure.suberror);
	EXPECT_EQ(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES,
		  run->emulation_failure.flags);
	EXPECT_EQ(EMULATION_NDATA_INSN, run->emulation_failure.ndata);
	EXPECT_LE(2, run->emulation_failure.insn_size);
	EXPECT_GE(15, run->emulation_failure.insn_size);
	EXPECT_EQ(0xdd, run->emulation_failure.insn_bytes[0]);
	EXPECT_EQ(0x18, run->emulation_failure.insn_bytes[1]);
	expect_rip(_metadata, vcpu, (uintptr_t)fstp_to_mmio);

	ASSERT_UCALL(vcpu, &uc, UCALL_ASSERT_FAILED);
	snprintf(want, sizeof(want), "unexpected #UD (vector 6) at rip %p,",
		 fstp_to_mmio);
	EXPECT_NE(NULL, strstr(uc.buffer, want))
		TH_LOG("guest: %s; want \"%s\"", uc.buffer, want);
	kvm_vm_free(vm);
}

/*
 * Thousands of unbacked pages scattered over [4 GiB, 64 GiB): each write
 * is one MMIO exit at its address. What the hypervisor builds for them
 * (MMIO entries in its nested page tables) is bounded and goes with the
 * VM: no guest page is ever backed by host memory.
 */
#define SCATTER_END		(64ULL << 30)
#define SCATTER_PAGES		4096
/* Page tables for an MMIO entry each, at worst, and some slack. */
#define SCATTER_LIVE_BUDGET_KB	(SCATTER_PAGES * 8 + 4096)
/*
 * Used memory less the per-CPU free lists moves by some 250 KiB between
 * two reads; a page left behind per vCPU of the 200-VM test is 1600 KiB.
 */
#define USED_BUDGET_KB		1536
#define KERNEL_BUDGET_KB	1024

/*
 * The i-th page: one in each 15 MiB of [4 GiB, 64 GiB), at a pseudo-random
 * page of it, so every one needs page tables of its own.
 */
#define SCATTER_STRIDE	((SCATTER_END - IDENTITY_MAP_SIZE) / SCATTER_PAGES)

static uint64_t scatter_gpa(uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 31;
	return IDENTITY_MAP_SIZE + i * SCATTER_STRIDE +
	       (x % (SCATTER_STRIDE / GUEST_PAGE_SIZE)) * GUEST_PAGE_SIZE +
	       (i % 512) * 8;
}

static void guest_scatter(void)
{
	uint64_t i;

	for (i = 0; i < SCATTER_PAGES; i++)
		*(volatile uint64_t *)scatter_gpa(i) = i;
	GUEST_DONE();
}

TEST_F_TIMEOUT(slow, scattered_unbacked_pages_up_to_64g, SLOW_TEST_SECONDS)
{
	long used_before, used_live, used_after, kernel_before, kernel_after;
	double t;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	uint64_t i;

	used_before = used_memory_kb();
	kernel_before = okvm_kernel_memory_kb();
	ASSERT_LE(0, used_before);

	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_scatter);
	vm_identity_map_above_4g(vm, SCATTER_END);
	t = now_s();
	for (i = 0; i < SCATTER_PAGES; i++) {
		vcpu_run(vcpu);
		ASSERT_EQ(KVM_EXIT_MMIO, vcpu->run->exit_reason)
			TH_LOG("page %llu: %s", (unsigned long long)i,
			       vcpu_exit_str(vcpu));
		ASSERT_EQ(scatter_gpa(i), vcpu->run->mmio.phys_addr);
		ASSERT_EQ(1, vcpu->run->mmio.is_write);
		ASSERT_EQ(8, vcpu->run->mmio.len);
		ASSERT_EQ(0, memcmp(&i, vcpu->run->mmio.data, 8));
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	t = now_s() - t;
	used_live = used_memory_kb();
	kvm_vm_free(vm);
	used_after = used_memory_kb();
	kernel_after = okvm_kernel_memory_kb();

	TH_LOG("%d MMIO exits in %.1f s", SCATTER_PAGES, t);
	TH_LOG("used memory (KiB): %ld before, %ld with the VM, %ld after",
	       used_before, used_live, used_after);
	TH_LOG("kernel memory %ld KiB before, %ld KiB after", kernel_before,
	       kernel_after);
	EXPECT_GT(SCATTER_LIVE_BUDGET_KB, used_live - used_before);
	EXPECT_GT(USED_BUDGET_KB, used_after - used_before);
	EXPECT_GT(KERNEL_BUDGET_KB, kernel_after - kernel_before);
}

/*
 * 100,000 MMIO exits in a loop (fewer on a slow bed, okvm_test_rounds()),
 * then the VM is closed: nothing grows.
 */
#define STORM_EXITS		okvm_test_rounds(100000)

static void guest_mmio_storm(uint32_t exits)
{
	uint32_t i;

	for (i = 0; i < exits; i++)
		*(volatile uint32_t *)(MMIO_GPA + (i & 0xff) * 4) = i;
	GUEST_DONE();
}

TEST_F_TIMEOUT(slow, mmio_storm, SLOW_TEST_SECONDS)
{
	long used_before, used_after, kernel_before, kernel_after;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	double t;
	struct ucall uc;
	uint32_t i;

	used_before = used_memory_kb();
	kernel_before = okvm_kernel_memory_kb();
	ASSERT_LE(0, used_before);

	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_mmio_storm);
	vcpu_args_set(vcpu, 1, (uint64_t)STORM_EXITS);
	run = vcpu->run;
	t = now_s();
	for (i = 0; i < (uint32_t)STORM_EXITS; i++) {
		vcpu_run(vcpu);
		if (run->exit_reason != KVM_EXIT_MMIO ||
		    run->mmio.phys_addr != MMIO_GPA + (i & 0xff) * 4 ||
		    !run->mmio.is_write || run->mmio.len != 4 ||
		    memcmp(&i, run->mmio.data, 4)) {
			ASSERT_EQ(KVM_EXIT_MMIO, run->exit_reason)
				TH_LOG("exit %u: %s", i, vcpu_exit_str(vcpu));
			ASSERT_EQ(MMIO_GPA + (i & 0xff) * 4,
				  run->mmio.phys_addr);
			ASSERT_EQ(1, run->mmio.is_write);
			ASSERT_EQ(4, run->mmio.len);
			ASSERT_EQ(0, memcmp(&i, run->mmio.data, 4));
		}
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	t = now_s() - t;
	kvm_vm_free(vm);
	used_after = used_memory_kb();
	kernel_after = okvm_kernel_memory_kb();
	TH_LOG("%d MMIO exits in %.1f s", STORM_EXITS, t);
	TH_LOG("used memory %ld KiB before, %ld KiB after", used_before,
	       used_after);
	TH_LOG("kernel memory %ld KiB before, %ld KiB after", kernel_before,
	       kernel_after);
	EXPECT_GT(USED_BUDGET_KB, used_after - used_before);
	EXPECT_GT(KERNEL_BUDGET_KB, kernel_after - kernel_before);
}

/*
 * The VMM unmapped kvm_run: KVM_RUN does not care (the page is the
 * kernel's), and a new mapping shows the exit it wrote.
 */
TEST(run_with_kvm_run_unmapped)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_done);
	struct ucall uc;

	ASSERT_EQ(0, munmap(vcpu->run, vcpu->run_size));
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_RUN, 0));
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	ASSERT_NE(MAP_FAILED, vcpu->run);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(UCALL_SYNC, get_ucall(vcpu, &uc));
	EXPECT_EQ(1, uc.args[0]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* The VM fd closed: the vCPU fd keeps the VM alive, and it runs. */
TEST(run_after_vm_fd_closed)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_done);
	struct ucall uc;

	ASSERT_EQ(0, close(vm->fd));
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	/* Something for kvm_vm_free() to close. */
	vm->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	kvm_vm_free(vm);
}

/* KVM_RUN from another process (a fork shares the fd, not the mm): EIO. */
TEST(run_from_forked_child)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_done);
	struct ucall uc;
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(-okvm_ioctl(vcpu->fd, KVM_RUN, 0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EIO, WEXITSTATUS(status));

	/* The parent's vCPU did not move. */
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * No memory slot at all: the reset vector is MMIO. KVM's answer differs by
 * version: 6.1 fails KVM_RUN with ENOSPC (the nested page-table pages a VM
 * may have scale with its memory, 0 without slots: no MMU root); 6.12 runs
 * and cannot fetch an instruction, an emulation failure that queues #UD.
 * Then, with RAM at 0 (the IVT) and a ROM at the reset vector, the same
 * vCPU runs: a HLT at the reset vector, or first the #UD's handler, a HLT.
 */
#define RESET_HLT	0xfff0
#define UD_HANDLER_HLT	0xfff8

TEST(run_without_memory_slot)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	uint16_t *ivt;
	uint8_t *rom;
	int r;

	r = _vcpu_run(vcpu);
	if (r) {
		EXPECT_EQ(-ENOSPC, r);
		EXPECT_EQ(-ENOSPC, _vcpu_run(vcpu));
	} else {
		ASSERT_EXIT(vcpu, KVM_EXIT_INTERNAL_ERROR);
		EXPECT_EQ(KVM_INTERNAL_ERROR_EMULATION,
			  vcpu->run->emulation_failure.suberror);
		EXPECT_EQ(0, vcpu->run->emulation_failure.flags);
		EXPECT_EQ(EMULATION_NDATA, vcpu->run->emulation_failure.ndata);
	}

	ivt = vm_add_mem_slot(vm, 0, 0, 1 << 20, 0);
	ivt[UD_VECTOR * 2] = UD_HANDLER_HLT;
	ivt[UD_VECTOR * 2 + 1] = 0xf000;
	/* CS base 0xffff0000, IP 0xfff0 (APM vol. 2, 14.1.3). */
	rom = vm_add_mem_slot(vm, 1, 0xffff0000, 0x10000, 0);
	rom[RESET_HLT] = 0xf4;
	/* Real-mode CS 0xf000 is base 0xf0000: the handler is in RAM. */
	((uint8_t *)ivt)[0xf0000 + UD_HANDLER_HLT] = 0xf4;
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	expect_rip(_metadata, vcpu, (r ? RESET_HLT : UD_HANDLER_HLT) + 1);
	kvm_vm_free(vm);
}

/*
 * 200 VMs, each with two vCPUs that write every page of 512 KiB of guest
 * memory each, closed again: kernel and used memory back where they were.
 */
#define LEAK_VMS		okvm_test_rounds(200)
#define LEAK_WARMUP_VMS		10
#define LEAK_MEM_SIZE		(8ULL << 20)
#define LEAK_TOUCH_SIZE		(1ULL << 20)

static void guest_touch(uint8_t *p, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i += GUEST_PAGE_SIZE)
		p[i] = 1;
	GUEST_DONE();
}

static void one_touching_vm(struct __test_metadata *_metadata)
{
	struct kvm_vm *vm = vm_create_guest(LEAK_MEM_SIZE);
	uint64_t mem = vm_alloc(vm, LEAK_TOUCH_SIZE, GUEST_PAGE_SIZE);
	struct ucall uc;
	int i;

	for (i = 0; i < 2; i++) {
		struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, i, guest_touch);

		vcpu_args_set(vcpu, 2, mem + i * LEAK_TOUCH_SIZE / 2,
			      LEAK_TOUCH_SIZE / 2);
		ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	}
	kvm_vm_free(vm);
}

TEST_F_TIMEOUT(slow, vms_running_guests_leak_nothing, SLOW_TEST_SECONDS)
{
	long used_before, used_after, kernel_before, kernel_after;
	double t;
	int i, fds;

	for (i = 0; i < LEAK_WARMUP_VMS; i++)
		one_touching_vm(_metadata);
	fds = okvm_count_open_fds();
	used_before = used_memory_kb();
	kernel_before = okvm_kernel_memory_kb();
	ASSERT_LE(0, kernel_before);
	t = now_s();
	for (i = 0; i < LEAK_VMS; i++)
		one_touching_vm(_metadata);
	t = now_s() - t;
	used_after = used_memory_kb();
	kernel_after = okvm_kernel_memory_kb();
	TH_LOG("%d VMs in %.1f s; kernel memory %ld KiB before, %ld KiB after",
	       LEAK_VMS, t, kernel_before, kernel_after);
	TH_LOG("used memory %ld KiB before, %ld KiB after", used_before,
	       used_after);
	EXPECT_GT(KERNEL_BUDGET_KB, kernel_after - kernel_before);
	EXPECT_GT(USED_BUDGET_KB, used_after - used_before);
	EXPECT_EQ(fds, okvm_count_open_fds());
}

TEST_HARNESS_MAIN
