// SPDX-License-Identifier: GPL-2.0-only
/*
 * shutdown_test - a triple fault (an exception the guest cannot deliver,
 * then #DF that it cannot deliver either: APM vol. 2, "#DF-Double-Fault
 * Exception" and "Shutdown") ends KVM_RUN with KVM_EXIT_SHUTDOWN (api.rst "KVM_RUN",
 * "KVM_EXIT_SHUTDOWN"), in long mode and in real mode; and what running
 * the vCPU again does afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define CR0_ET		(1ULL << 4)
#define CR0_NW		(1ULL << 29)
#define CR0_CD		(1ULL << 30)

/* $OKVM_VENDOR, set by scripts/vmtest; AMD when unset. */
static bool is_svm(void)
{
	return !okvm_host_is_intel();
}

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/*
 * An IDT whose limit covers no gate: the #UD cannot be delivered (#GP),
 * nor that #GP (#DF), nor the #DF: shutdown.
 */
static void guest_empty_idt(void)
{
	struct desc_ptr idt = { .limit = 0, .base = 0 };

	GUEST_SYNC(1);
	asm volatile("lidt %0; ud2" : : "m"(idt));
	GUEST_DONE();
}

/* The page of raw real-mode code at 0xfff0 of the reset-vector slot. */
static const uint8_t reset_code[] = {
	0xb0, 0x5a,		/* mov al, 0x5a */
	0xe6, 0x80,		/* out 0x80, al */
	0xf4,			/* hlt */
};

static uint8_t *add_reset_vector_code(struct kvm_vm *vm)
{
	/* The last 64 KiB below 4 GiB: CS base 0xffff0000 + IP 0xfff0. */
	uint8_t *rom = vm_add_mem_slot(vm, 1, 0xffff0000, 0x10000, 0);

	memcpy(rom + 0xfff0, reset_code, sizeof(reset_code));
	return rom;
}

TEST(long_mode_empty_idt)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_empty_idt);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	kvm_vm_free(vm);
}

/*
 * Real mode: an IVT limit of 0 makes INT3 (whose vector needs bytes
 * 12..15) a #GP, then #DF, then shutdown (APM vol. 2, "Real-Mode
 * Interrupt Control Transfers": the IDTR limit is checked there too).
 */
TEST(real_mode_ivt_limit_zero)
{
	static const uint8_t code[] = {
		0x2e, 0x0f, 0x01, 0x1e, 0x10, 0x00, /* lidt cs:[0x10] */
		0xcc,				/* int3 */
		0xf4,				/* hlt */
		0, 0, 0, 0, 0, 0, 0, 0,		/* pad to 0x10 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* limit 0, base 0 */
	};
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu;

	vm_add_mem_slot(vm, 0, 0, 1 << 20, 0);
	vcpu = vm_vcpu_add_real_mode(vm, 0, code, sizeof(code));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	if (is_svm()) {
		struct kvm_sregs sregs;

		/* kvm-amd's INIT (below) kept reset's CD and NW. */
		vcpu_sregs_get(vcpu, &sregs);
		EXPECT_EQ(CR0_CD | CR0_NW | CR0_ET, sregs.cr0);
		EXPECT_EQ(0xffff0000, sregs.cs.base);
	}
	kvm_vm_free(vm);
}

/*
 * The same code with a usable IVT (limit 0x3ff, vector 3 pointing at a
 * HLT): no shutdown, the handler runs. Shows it was the limit.
 */
TEST(real_mode_ivt_usable)
{
	static const uint8_t code[] = {
		0x2e, 0x0f, 0x01, 0x1e, 0x10, 0x00, /* lidt cs:[0x10] */
		0xcc,				/* int3 */
		0xf4,				/* hlt */
		0, 0, 0, 0, 0, 0, 0, 0,		/* pad to 0x10 */
		0xff, 0x03, 0x00, 0x00, 0x00, 0x00, /* limit 0x3ff, base 0 */
		0xf4,				/* 0x16: the handler */
	};
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu;
	uint16_t *ivt;
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	ivt = vm_add_mem_slot(vm, 0, 0, 1 << 20, 0);
	ivt[3 * 2] = 0x16;				/* IP */
	ivt[3 * 2 + 1] = REAL_MODE_CODE_GPA >> 4;	/* CS */
	vcpu = vm_vcpu_add_real_mode(vm, 0, code, sizeof(code));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(0x17, regs.rip);
	EXPECT_EQ(REAL_MODE_CODE_GPA, sregs.cs.base);
	kvm_vm_free(vm);
}

/*
 * After KVM_EXIT_SHUTDOWN, kvm-amd has already put the vCPU through INIT
 * (the VMCB is undefined after a SHUTDOWN intercept, APM vol. 2, chapter
 * 15, "Miscellaneous Intercepts"):
 * KVM_GET_SREGS/REGS read the INIT state (APM 14.1.3), not the faulting
 * context, and the next KVM_RUN starts at the reset vector with memory
 * untouched.
 */
/*
 * On VMX the triple-fault exit leaves the VMCS holding the state of the
 * fault (SDM 26.2), and kvm-intel reports it as it is: RIP at the UD2, the
 * empty IDT the guest loaded; the next KVM_RUN faults the same way again.
 * A VMM that wants the reset state sets it, and the vCPU runs from there.
 */
TEST(state_kept_after_shutdown_on_vmx)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct ucall uc;
	uint64_t rip;

	if (is_svm())
		SKIP(return, "SVM: see run_again_after_shutdown");

	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_empty_idt);
	ASSERT_SYNC(vcpu, &uc, 1);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	vcpu_regs_get(vcpu, &regs);
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(0, sregs.idt.limit);
	EXPECT_NE(0xfff0, regs.rip);
	rip = regs.rip;
	/* ud2 (0f 0b) at RIP: the instruction that faulted. */
	EXPECT_EQ(0x0b0f, *(uint16_t *)addr_gva2hva(vm, rip));

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(rip, regs.rip);

	/* A usable IDT again, past the UD2: the guest finishes. */
	sregs.idt.limit = X86_EXCEPTION_VECTORS * 16 - 1;
	sregs.idt.base = IDT_GPA;
	vcpu_sregs_set(vcpu, &sregs);
	regs.rip += 2;
	vcpu_regs_set(vcpu, &regs);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(run_again_after_shutdown)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct ucall uc;
	uint32_t signature;
	uint8_t *data;

	if (!is_svm())
		SKIP(return, "VMX: see state_kept_after_shutdown_on_vmx");

	vm = vm_create_guest(0);
	add_reset_vector_code(vm);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_empty_idt);
	cpuid = kvm_get_supported_cpuid(vm);
	signature = kvm_cpuid_entry(cpuid, 1, 0)->eax;
	free(cpuid);

	ASSERT_SYNC(vcpu, &uc, 1);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);

	vcpu_sregs_get(vcpu, &sregs);
	vcpu_regs_get(vcpu, &regs);
	/* KVM's answer: the registers at the exit are already INIT's. */
	EXPECT_EQ(0xfff0, regs.rip);
	EXPECT_EQ(0x2, regs.rflags);
	/* INIT puts the processor signature (CPUID 1 EAX) in EDX. */
	EXPECT_EQ(signature, regs.rdx);
	EXPECT_EQ(0, regs.rsp);
	EXPECT_EQ(0xf000, sregs.cs.selector);
	EXPECT_EQ(0xffff0000, sregs.cs.base);
	/*
	 * Not reset's 0x60000010: INIT keeps CR0.CD and NW as they were
	 * (APM 14.1.3), and the library's long mode had them clear.
	 */
	EXPECT_EQ(CR0_ET, sregs.cr0);
	EXPECT_EQ(0, sregs.cr4);
	EXPECT_EQ(0, sregs.cr3);
	EXPECT_EQ(0, sregs.efer);
	EXPECT_EQ(0, sregs.idt.base);
	EXPECT_EQ(0xffff, sregs.idt.limit);

	/* Runs again: from the reset vector, in real mode. */
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(KVM_EXIT_IO_OUT, vcpu->run->io.direction);
	EXPECT_EQ(0x80, vcpu->run->io.port);
	data = (uint8_t *)vcpu->run + vcpu->run->io.data_offset;
	EXPECT_EQ(0x5a, data[0]);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(0xfff0 + sizeof(reset_code), regs.rip);

	/* Memory survived: the page tables are still where they were. */
	EXPECT_NE(0, *(uint64_t *)addr_gpa2hva(vm, PAGE_TABLES_GPA));
	kvm_vm_free(vm);
}

/* A second vCPU of the same VM is not affected by the first one's. */
static void guest_sync_twice(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_DONE();
}

TEST(shutdown_is_per_vcpu)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *a = vm_vcpu_add_guest(vm, 0, guest_empty_idt);
	struct kvm_vcpu *b = vm_vcpu_add_guest(vm, 1, guest_sync_twice);
	struct ucall uc;

	ASSERT_SYNC(b, &uc, 1);
	ASSERT_SYNC(a, &uc, 1);
	vcpu_run(a);
	ASSERT_EXIT(a, KVM_EXIT_SHUTDOWN);
	ASSERT_SYNC(b, &uc, 2);
	ASSERT_UCALL(b, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
