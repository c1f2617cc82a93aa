// SPDX-License-Identifier: GPL-2.0-only
/*
 * intercept_test - the intercepts KVM always has, seen from the guest:
 *
 * - an intercepted instruction with prefixes the CPU ignores (66 0f a2 is
 *   a 3-byte CPUID) is skipped whole: SVM without NRIP save (QEMU's TCG,
 *   the test bed) gives no length, so the hypervisor must decode it; VMX
 *   gives the length in the exit. CPUID, RDMSR, WRMSR, INVD, WBINVD and
 *   HLT, each followed by code that faults if RIP lands a byte off;
 * - RDPMC raises #GP(0) for a counter that does not exist (in-tree KVM,
 *   with or without a vPMU) and, on okvm, which offers no PMU, for any;
 * - IA32_TSC_AUX: the VMM's KVM_SET_MSRS value (bits 63:32 dropped for a
 *   non-Intel guest, refused for an Intel one) is what the guest's RDMSR
 *   and RDTSCP read when its CPUID offers them, #GP and #UD otherwise; and
 *   the host's own TSC_AUX (its CPU number) is back when KVM_RUN returns.
 * - the SYSCALL MSRs and KERNEL_GS_BASE, which the hypervisor loads into
 *   the CPU, refuse non-canonical addresses from the guest and the VMM.
 *   RDPID, which SVM cannot intercept, reads the same MSR: neither bed's
 *   CPU has it, but QEMU's TCG lets RDTSCP run despite the intercept,
 *   which shows the same leak.
 */
#include <cpuid.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

#define NONCANONICAL		0x0000800000000000ull

/*
 * After each prefixed instruction: a 2-byte JMP over a UD2. Landing one
 * byte short executes the instruction's last opcode byte as the start of
 * another; one byte long lands inside the JMP's displacement or the UD2.
 */
#define LANDING	"jmp 1f\n\tud2\n1:\n\t"

static void guest_prefixed(void)
{
	uint32_t a, b, c, d, b0;
	uint32_t lo, hi;

	asm volatile("cpuid" : "=a"(a), "=b"(b0), "=c"(c), "=d"(d)
		     : "a"(0), "c"(0));
	/* CPUID with an operand-size, a REP, a segment and a REX.W prefix. */
	asm volatile(".byte 0x66, 0x0f, 0xa2\n\t" LANDING
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	GUEST_ASSERT_EQ(b, b0);
	asm volatile(".byte 0xf3, 0x0f, 0xa2\n\t" LANDING
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	GUEST_ASSERT_EQ(b, b0);
	asm volatile(".byte 0x2e, 0x3e, 0x66, 0x48, 0x0f, 0xa2\n\t" LANDING
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	GUEST_ASSERT_EQ(b, b0);
	GUEST_SYNC(1);

	/* WRMSR and RDMSR with segment prefixes. */
	asm volatile(".byte 0x3e, 0x0f, 0x30\n\t" LANDING
		     : : "c"(MSR_IA32_SYSENTER_CS), "a"(0x10), "d"(0));
	asm volatile(".byte 0x2e, 0x66, 0x0f, 0x32\n\t" LANDING
		     : "=a"(lo), "=d"(hi) : "c"(MSR_IA32_SYSENTER_CS));
	GUEST_ASSERT_EQ(lo, 0x10);
	GUEST_ASSERT_EQ(hi, 0);
	GUEST_SYNC(2);

	/* INVD and WBINVD: nothing to do, and back on the next instruction. */
	asm volatile(".byte 0x66, 0x0f, 0x08\n\t" LANDING ::: "memory");
	asm volatile(".byte 0x2e, 0x0f, 0x09\n\t" LANDING ::: "memory");
	asm volatile("wbinvd" ::: "memory");
	GUEST_SYNC(3);

	/* A prefixed HLT: the host checks RIP at the exit. */
	asm volatile(".byte 0x2e, 0x3e, 0xf4\n\t"
		     ".globl intercept_test_after_hlt\n"
		     "intercept_test_after_hlt:\n\t" LANDING);
	GUEST_DONE();
}

extern char intercept_test_after_hlt[];

TEST(prefixed_instructions_are_skipped_whole)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_prefixed);
	struct kvm_regs regs;
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_SYNC(vcpu, &uc, 3);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uint64_t)intercept_test_after_hlt, regs.rip);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static volatile uint64_t gp_seen, gp_error;

static void skip_rdpmc(struct ex_regs *regs)
{
	gp_seen = regs->vector;
	gp_error = regs->error_code;
	regs->rip += 2;		/* 0f 33 */
}

static void guest_rdpmc(uint64_t ecx)
{
	uint32_t lo, hi;

	gp_seen = 0xff;
	gp_error = 0xff;
	asm volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(ecx));
	GUEST_SYNC_ARGS(1, gp_seen, gp_error);
	GUEST_DONE();
}

static void expect_rdpmc_gp(struct __test_metadata *_metadata, uint64_t ecx)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_rdpmc);
	struct ucall uc;

	vcpu_args_set(vcpu, 1, (uint64_t)ecx);
	vm_install_exception_handler(vm, GP_VECTOR, skip_rdpmc);
	vm_install_exception_handler(vm, UD_VECTOR, skip_rdpmc);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(GP_VECTOR, uc.args[1])
		TH_LOG("RDPMC(%#lx): vector %lu (255: none)", ecx, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* A counter no PMU has: #GP(0) from KVM, with or without a vPMU. */
TEST(rdpmc_of_no_counter_raises_gp)
{
	expect_rdpmc_gp(_metadata, 0x1000);
}

/*
 * Counter 0: okvm offers no PMU at all, so #GP(0) (api.rst); in-tree KVM
 * reads its virtual counter where it has a vPMU (kvm-amd in the QEMU bed
 * does).
 */
TEST(rdpmc_without_pmu_raises_gp)
{
	if (!okvm_dev_is_okvm())
		SKIP(return, "in-tree KVM may offer a vPMU");
	expect_rdpmc_gp(_metadata, 0);
}

static volatile uint64_t ex_vector, ex_skip;

static void record_and_skip(struct ex_regs *regs)
{
	ex_vector = regs->vector;
	regs->rip += ex_skip;
}

static void guest_tsc_aux(void)
{
	uint32_t lo = 0, hi = 0, aux = 0xffffffff;

	ex_vector = 0xff;
	ex_skip = 2;		/* 0f 32 */
	asm volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(MSR_TSC_AUX));
	GUEST_SYNC_ARGS(1, ex_vector, (uint64_t)hi << 32 | lo);
	ex_vector = 0xff;
	ex_skip = 3;		/* 0f 01 f9 */
	asm volatile("rdtscp" : "+c"(aux) : : "rax", "rdx");
	GUEST_SYNC_ARGS(2, ex_vector, aux);
	GUEST_DONE();
}

static bool cpuid_bit(uint32_t leaf, int reg, int bit)
{
	uint32_t r[4] = { 0 };

	if (__get_cpuid_max(leaf & 0x80000000, NULL) < leaf)
		return false;
	__cpuid_count(leaf, 0, r[0], r[1], r[2], r[3]);
	return r[reg] & (1u << bit);
}

static bool entry_bit(struct kvm_cpuid2 *c, uint32_t leaf, int reg, int bit)
{
	uint32_t i, v;

	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function != leaf || c->entries[i].index)
			continue;
		v = reg == 2 ? c->entries[i].ecx : c->entries[i].edx;
		return v & (1u << bit);
	}
	return false;
}

static long set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = data };

	return ioctl(vcpu->fd, KVM_SET_MSRS, &m);
}

static long set_tsc_aux(struct kvm_vcpu *vcpu, uint64_t data)
{
	return set_msr(vcpu, MSR_TSC_AUX, data);
}

static uint64_t get_tsc_aux(struct kvm_vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = MSR_TSC_AUX };

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1)
		return ~0ull;
	return m.e.data;
}

static uint32_t host_rdtscp_aux(void)
{
	uint32_t aux;

	asm volatile("rdtscp" : "=c"(aux) : : "rax", "rdx");
	return aux;
}

#define CPUID_ECX_REG	2
#define CPUID_EDX_REG	3

TEST(tsc_aux_is_the_guests)
{
	bool host_rdtscp = cpuid_bit(0x80000001, CPUID_EDX_REG, 27);
	bool host_rdpid = cpuid_bit(7, CPUID_ECX_REG, 22);
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_tsc_aux);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	bool g_rdtscp = entry_bit(cpuid, 0x80000001, CPUID_EDX_REG, 27);
	bool g_rdpid = entry_bit(cpuid, 7, CPUID_ECX_REG, 22);
	bool intel = okvm_host_is_intel();
	uint32_t host_aux = 0;
	cpu_set_t cpus;
	struct ucall uc;

	free(cpuid);
	if (!host_rdtscp && !host_rdpid) {
		/* No TSC_AUX on this CPU: none for the VMM either. */
		EXPECT_EQ(0, set_tsc_aux(vcpu, 1));
		kvm_vm_free(vm);
		SKIP(return, "the host has neither RDTSCP nor RDPID");
	}

	/* On the last CPU, whose TSC_AUX (its number) is not 0 with two. */
	CPU_ZERO(&cpus);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	if (host_rdtscp)
		host_aux = host_rdtscp_aux();

	/* Bits 63:32: refused for an Intel guest, dropped for an AMD one. */
	if (intel) {
		EXPECT_EQ(0, set_tsc_aux(vcpu, 0xdead00001234ull));
		EXPECT_EQ(1, set_tsc_aux(vcpu, 0x1234));
	} else {
		EXPECT_EQ(1, set_tsc_aux(vcpu, 0xdead00001234ull));
	}
	EXPECT_EQ(0x1234, get_tsc_aux(vcpu));

	vm_install_exception_handler(vm, GP_VECTOR, record_and_skip);
	vm_install_exception_handler(vm, UD_VECTOR, record_and_skip);
	ASSERT_SYNC(vcpu, &uc, 1);
	if (g_rdtscp || g_rdpid) {
		EXPECT_EQ(0xff, uc.args[1]) TH_LOG("RDMSR: vector %lu", uc.args[1]);
		EXPECT_EQ(0x1234, uc.args[2]);
	} else {
		EXPECT_EQ(GP_VECTOR, uc.args[1]);
	}
	if (host_rdtscp)
		EXPECT_EQ(host_aux, host_rdtscp_aux());
	/*
	 * RDTSCP where the guest's CPUID offers it reads the guest's value.
	 * Not offered, it is #UD, as far as the CPU lets the hypervisor make
	 * it one; QEMU's TCG (the SVM bed) checks the RDTSC intercept instead
	 * of RDTSCP's, so there it runs, as RDPID does on AMD hardware. If it
	 * runs, it must read the guest's value, never the host's.
	 */
	ASSERT_SYNC(vcpu, &uc, 2);
	if (g_rdtscp) {
		EXPECT_EQ(0xff, uc.args[1]) TH_LOG("RDTSCP: vector %lu", uc.args[1]);
	} else if (uc.args[1] != 0xff) {
		EXPECT_EQ(UD_VECTOR, uc.args[1]);
	}
	if (uc.args[1] == 0xff) {
		EXPECT_EQ(0x1234, uc.args[2])
			TH_LOG("RDTSCP read TSC_AUX %#lx (the host's is %#x)",
			       uc.args[2], host_aux);
	}
	if (host_rdtscp)
		EXPECT_EQ(host_aux, host_rdtscp_aux())
			TH_LOG("the host's TSC_AUX after KVM_RUN");
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_wrmsr_noncanonical(void)
{
	static const uint32_t msrs[] = { MSR_LSTAR, MSR_CSTAR,
					 MSR_KERNEL_GS_BASE };
	unsigned int i;

	ex_skip = 2;		/* 0f 30 */
	for (i = 0; i < 3; i++) {
		ex_vector = 0xff;
		asm volatile("wrmsr" : : "c"(msrs[i]),
			     "a"((uint32_t)NONCANONICAL),
			     "d"((uint32_t)(NONCANONICAL >> 32)));
		GUEST_SYNC_ARGS(i + 1, ex_vector);
	}
	GUEST_DONE();
}

/*
 * The SYSCALL MSRs and KERNEL_GS_BASE, which a hypervisor loads into the
 * CPU for the guest: non-canonical addresses are #GP for the guest and an
 * error for the VMM, as in KVM for both vendors; STAR takes any value.
 */
TEST(syscall_msrs_are_validated)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_wrmsr_noncanonical);
	struct ucall uc;
	int i;

	EXPECT_EQ(0, set_msr(vcpu, MSR_LSTAR, NONCANONICAL));
	EXPECT_EQ(0, set_msr(vcpu, MSR_CSTAR, NONCANONICAL));
	EXPECT_EQ(0, set_msr(vcpu, MSR_KERNEL_GS_BASE, NONCANONICAL));
	EXPECT_EQ(1, set_msr(vcpu, MSR_LSTAR, 0xffff800000001000ull));
	EXPECT_EQ(1, set_msr(vcpu, MSR_STAR, ~0ull));
	EXPECT_EQ(1, set_msr(vcpu, MSR_SYSCALL_MASK, 0x47700));
	/*
	 * IA32_FMASK bits 63:32: reserved on Intel CPUs, where okvm refuses
	 * them always; kvm-intel only when it loads the MSR (guest in long
	 * mode with EFER.SCE), so only okvm is held to it. AMD ignores them,
	 * and KVM's SVM keeps them.
	 */
	if (okvm_host_is_intel()) {
		if (okvm_dev_is_okvm())
			EXPECT_EQ(0, set_msr(vcpu, MSR_SYSCALL_MASK, 1ull << 32));
	} else {
		EXPECT_EQ(1, set_msr(vcpu, MSR_SYSCALL_MASK, 1ull << 32));
	}

	/*
	 * The guest's own WRMSR: under SVM these MSRs are not intercepted
	 * (VMLOAD/VMSAVE switch them), so the CPU alone decides, and QEMU's
	 * TCG takes non-canonical values where hardware raises #GP. Under VMX
	 * both okvm and KVM intercept them and must raise it.
	 */
	if (!okvm_host_is_intel()) {
		kvm_vm_free(vm);
		return;
	}
	vm_install_exception_handler(vm, GP_VECTOR, record_and_skip);
	for (i = 1; i <= 3; i++) {
		ASSERT_SYNC(vcpu, &uc, i);
		EXPECT_EQ(GP_VECTOR, uc.args[1])
			TH_LOG("WRMSR %d of a non-canonical address: vector %lu",
			       i, uc.args[1]);
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
