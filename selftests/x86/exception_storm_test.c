// SPDX-License-Identifier: GPL-2.0-only
/*
 * exception_storm_test.c - a guest whose exception delivery raises the
 * same exception again must not take the host's CPU with it.
 *
 * Two known ways (CVE-2015-8104, CVE-2015-5307): a data breakpoint on the
 * stack slot where the #DB frame is pushed, so that delivering #DB hits
 * it and raises #DB again; and a CPL-3 #AC handler on a misaligned stack
 * with alignment checking on, so that pushing the #AC frame raises #AC
 * again. Neither reaches an instruction boundary, so on a CPU that loops
 * on them internally no host interrupt is taken while the guest runs: the
 * hypervisor must intercept both exceptions (KVM does on both vendors)
 * and so get an exit on each round. Here, the vCPU thread must then still
 * come back from KVM_RUN with EINTR when a timer signal arrives.
 *
 * guest_data_breakpoint_fires checks the other half: the guest's own
 * breakpoints work, with DR0-DR3 loaded while it runs.
 *
 * Emulated CPUs differ in what they implement: QEMU's TCG checks no
 * alignment, and not every CPU model sees a data breakpoint in an
 * exception frame push. Where the guest gets past the trigger instead of
 * storming, the case is skipped, saying what the CPU did; where it hangs,
 * the test's timeout reports the host's lost CPU.
 */
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "kvm_vm.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

/*
 * QEMU 7.2's TCG (the SVM test bed) aborts, taking L1 with it, as soon as
 * a nested guest arms a data breakpoint (a failed assertion in its
 * watchpoint code, on kvm-amd as on okvm). It names itself in the
 * hypervisor leaf; the data-breakpoint cases skip there and run under
 * Bochs.
 */
static bool host_is_qemu_tcg(void)
{
	unsigned int eax, sig[3];

	__cpuid(0x40000000, eax, sig[0], sig[1], sig[2]);
	return !memcmp(sig, "TCGTCGTCGTCG", 12);
}

/* KVM_RUN rounds that must each end with EINTR, 200 ms apart. */
#define STORM_ROUNDS	3

static void on_alarm(int sig)
{
}

/*
 * Run the vCPU with a 200 ms interval timer. Returns 0 when every round
 * of KVM_RUN ended in EINTR (the storm held, the host kept its CPU), or
 * 1 with the vCPU stopped at an exit (the guest got past the trigger).
 */
static int run_until_signals(struct kvm_vcpu *vcpu)
{
	struct itimerval tv = {
		.it_interval = { .tv_usec = 200000 },
		.it_value = { .tv_usec = 200000 },
	};
	struct itimerval off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	int round, ret = 0;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &tv, NULL);
	for (round = 0; round < STORM_ROUNDS; round++) {
		int r = _vcpu_run(vcpu);

		if (r == -EINTR)
			continue;
		KVM_ASSERT(r == 0, "KVM_RUN: %s", strerror(-r));
		ret = 1;
		break;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	return ret;
}

/*
 * Arm DR0 as an 8-byte write breakpoint on the slot where a #DB taken
 * here pushes SS (64-bit mode aligns RSP down to 16 first; SDM Vol. 3
 * 6.14.2), then single-step one instruction. If delivery re-raises #DB
 * forever, the host sees only exits; otherwise the guest's #DB handler
 * (the library's: a failed assertion naming #DB) reports to the host.
 */
static void guest_db_storm(void)
{
	asm volatile("mov %%rsp, %%rax\n\t"
		     "and $-16, %%rax\n\t"
		     "sub $8, %%rax\n\t"
		     "mov %%rax, %%dr0\n\t"
		     /* L0, R/W0 = 01 (writes), LEN0 = 11 (8 bytes) */
		     "mov $0xd0401, %%rax\n\t"
		     "mov %%rax, %%dr7\n\t"
		     "pushf\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popf\n\t"
		     "nop\n\t"
		     ::: "rax", "memory");
	GUEST_DONE();
}

TEST(db_delivery_storm)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct ucall uc;

	if (host_is_qemu_tcg())
		SKIP(return, "QEMU's TCG aborts on a nested guest's data breakpoint");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_db_storm);
	if (run_until_signals(vcpu)) {
		get_ucall(vcpu, &uc);
		kvm_vm_free(vm);
		SKIP(return, "this CPU delivered #DB without re-raising it: %s",
		     ucall_str(&uc));
	}
	/* The vCPU is still usable: its state reads back. */
	{
		struct kvm_regs regs;

		vcpu_regs_get(vcpu, &regs);
	}
	kvm_vm_free(vm);
}

/*
 * The guest's own breakpoints: okvm loads DR0-DR3 while the guest runs
 * with DR7 arming one, so a data breakpoint on a guest variable fires,
 * with DR6.B0 set, exactly once, and the host's DR0 value never matters.
 */
static volatile uint64_t watched;
static volatile uint64_t db_count, db_dr6;

static void guest_db_handler(struct ex_regs *regs)
{
	uint64_t dr6;

	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	db_dr6 = dr6;
	db_count++;
	/* Disarm, so that the handler's own accesses cannot trigger it. */
	asm volatile("mov %0, %%dr7" :: "r"(0x400UL));
}

static void guest_data_breakpoint(void)
{
	asm volatile("mov %0, %%dr6" :: "r"(0xffff0ff0UL));
	asm volatile("mov %0, %%dr0" :: "r"(&watched));
	/* L0, R/W0 = 01 (writes), LEN0 = 11 (8 bytes) */
	asm volatile("mov %0, %%dr7" :: "r"(0xd0401UL));
	GUEST_ASSERT_EQ(0, db_count);
	watched = 42;
	GUEST_ASSERT_EQ(1, db_count);
	GUEST_ASSERT_EQ(1, db_dr6 & 0xf);
	/* Disarmed: no second #DB. */
	watched = 43;
	GUEST_ASSERT_EQ(1, db_count);
	GUEST_DONE();
}

TEST(guest_data_breakpoint_fires)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct ucall uc;

	if (host_is_qemu_tcg())
		SKIP(return, "QEMU's TCG aborts on a nested guest's data breakpoint");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_data_breakpoint);
	vm_install_exception_handler(vm, DB_VECTOR, guest_db_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc)) {
		TH_LOG("%s", ucall_str(&uc));
	}
	kvm_vm_free(vm);
}

/*
 * #AC: 32-bit protected mode, paging off, everything at CPL 3 (CS, SS
 * and the #AC gate's target all DPL 3, so delivery pushes on the current,
 * misaligned stack), CR0.AM and EFLAGS.AC set. The code loads a dword
 * from an odd address, which raises #AC on a CPU that checks alignment;
 * if it does not, OUT 0x10 reports that. The handler, should delivery
 * ever succeed, reports with OUT 0x11.
 */
#define AC_CODE_GPA	0x6000
#define AC_HANDLER_GPA	0x6100
#define AC_GDT_GPA	0x7000
#define AC_IDT_GPA	0x7800
#define AC_STACK_TOP	0x9001		/* misaligned on purpose */
#define AC_DATA_GPA	0x5001		/* misaligned on purpose */
#define AC_PORT_NO_AC	0x10
#define AC_PORT_HANDLER	0x11

static void ac_setup(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	static const uint8_t code[] = {
		0xa1, AC_DATA_GPA & 0xff, AC_DATA_GPA >> 8, 0, 0, /* mov eax, [data] */
		0xe6, AC_PORT_NO_AC,			/* out 0x10, al */
		0xeb, 0xfe,				/* jmp . */
	};
	static const uint8_t handler[] = {
		0xe6, AC_PORT_HANDLER,			/* out 0x11, al */
		0xeb, 0xfe,				/* jmp . */
	};
	uint64_t *gdt = addr_gpa2hva(vm, AC_GDT_GPA);
	uint64_t *idt = addr_gpa2hva(vm, AC_IDT_GPA);
	struct kvm_segment code_seg = {
		.base = 0, .limit = 0xffffffff, .selector = 0x0b, .type = 0xb,
		.present = 1, .dpl = 3, .db = 1, .s = 1, .g = 1,
	};
	struct kvm_segment data_seg = code_seg;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	memcpy(addr_gpa2hva(vm, AC_CODE_GPA), code, sizeof(code));
	memcpy(addr_gpa2hva(vm, AC_HANDLER_GPA), handler, sizeof(handler));
	gdt[0] = 0;
	gdt[1] = 0x00cffb000000ffffULL;		/* 0x08: code, DPL 3, 32-bit */
	gdt[2] = 0x00cff3000000ffffULL;		/* 0x10: data, DPL 3 */
	gdt[3] = 0x00008b0000000067ULL |	/* 0x18: busy 32-bit TSS */
		 (TSS_GPA & 0xffffff) << 16;
	/* Vector 17: 32-bit interrupt gate, DPL 3, to 0x0b:handler. */
	idt[17] = (AC_HANDLER_GPA & 0xffff) | 0x0bULL << 16 |
		  0xeeULL << 40 | (uint64_t)(AC_HANDLER_GPA >> 16) << 48;

	vcpu_sregs_get(vcpu, &sregs);
	data_seg.selector = 0x13;
	data_seg.type = 0x3;
	sregs.cs = code_seg;
	sregs.ds = data_seg;
	sregs.es = data_seg;
	sregs.fs = data_seg;
	sregs.gs = data_seg;
	sregs.ss = data_seg;
	sregs.tr = (struct kvm_segment) {
		.base = TSS_GPA, .limit = 0x67, .selector = 0x18, .type = 11,
		.present = 1,
	};
	sregs.gdt.base = AC_GDT_GPA;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = AC_IDT_GPA;
	sregs.idt.limit = 32 * 8 - 1;
	/* PE, ET, NE, AM (bit 18); no paging. */
	sregs.cr0 = 0x1 | 0x10 | 0x20 | (1u << 18);
	sregs.cr4 = 0;
	sregs.efer = 0;
	vcpu_sregs_set(vcpu, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = AC_CODE_GPA;
	regs.rsp = AC_STACK_TOP;
	/* AC (bit 18), IOPL 3 for the OUTs, bit 1 always set. */
	regs.rflags = (1u << 18) | (3u << 12) | 0x2;
	vcpu_regs_set(vcpu, &regs);
}

/*
 * Bochs 2.7 (the VMX test bed) loops inside its own emulation once the
 * injected #AC's delivery faults again, on kvm-intel as on okvm: L1's
 * CPU never comes back (seen: no exit in 800 s), whatever the hypervisor
 * intercepts. So the case runs on CPUs that check alignment elsewhere.
 */
static bool bed_is_bochs(void)
{
	const char *bed = getenv("VMTEST_BED");

	return bed && !strcmp(bed, "bochs");
}

TEST(ac_delivery_storm)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;

	if (bed_is_bochs())
		SKIP(return, "Bochs loops inside its #AC delivery on every hypervisor");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_db_storm);
	run = vcpu->run;
	ac_setup(vm, vcpu);
	if (run_until_signals(vcpu)) {
		ASSERT_EXIT(vcpu, KVM_EXIT_IO);
		EXPECT_EQ(KVM_EXIT_IO_OUT, run->io.direction);
		if (run->io.port == AC_PORT_NO_AC) {
			kvm_vm_free(vm);
			SKIP(return, "this CPU does not check alignment (no #AC)");
		}
		EXPECT_EQ(AC_PORT_HANDLER, run->io.port);
		kvm_vm_free(vm);
		SKIP(return, "this CPU delivered #AC on a misaligned stack without re-raising it");
	}
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
