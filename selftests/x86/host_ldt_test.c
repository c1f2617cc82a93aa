// SPDX-License-Identifier: GPL-2.0-only
/*
 * host_ldt_test - a VMM thread whose process has an LDT (modify_ldt(2))
 * keeps it across KVM_RUN. A VMX exit loads LDTR with the null selector
 * (SDM 28.5.2) and Linux reloads LDTR only when it switches mm, so the
 * hypervisor must put the host's back; SVM's VMLOAD does (APM 15.5.2).
 *
 * The thread holds an LDT data segment in GS through KVM_RUN (the kernel
 * leaves user selectors loaded, so the hypervisor sees it in its own GS
 * and must reload it after the exit), reads through it after each return,
 * and loads the selector again, which faults if LDTR is null.
 */
#include <asm/ldt.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_guest.h"

/* Entry 0 of the LDT (TI = 1), RPL 3. */
#define LDT_SEL		((0 << 3) | 4 | 3)
#define LDT_MAGIC	0x4c445430u	/* "LDT0" */

static uint32_t ldt_target = LDT_MAGIC;
static sigjmp_buf segv_jmp;

static void on_segv(int sig)
{
	siglongjmp(segv_jmp, 1);
}

static int install_ldt(void)
{
	struct user_desc d = {
		.entry_number = 0,
		.base_addr = (unsigned int)(uintptr_t)&ldt_target,
		.limit = 0xfffff,
		.seg_32bit = 1,
		.contents = 0,		/* data, expand-up */
		.read_exec_only = 0,
		.limit_in_pages = 1,
		.seg_not_present = 0,
		.useable = 1,
	};

	return syscall(SYS_modify_ldt, 1, &d, sizeof(d));
}

static uint16_t read_gs(void)
{
	uint16_t sel;

	asm volatile("mov %%gs, %0" : "=r"(sel));
	return sel;
}

/* Load GS from the LDT and read through it; 0 if the load faulted. */
static uint32_t load_gs_and_read(void)
{
	uint32_t val;

	if (sigsetjmp(segv_jmp, 1))
		return 0;
	asm volatile("mov %0, %%gs" : : "r"((uint16_t)LDT_SEL));
	asm volatile("movl %%gs:0, %0" : "=r"(val));
	return val;
}

static uint32_t read_through_gs(void)
{
	uint32_t val;

	asm volatile("movl %%gs:0, %0" : "=r"(val));
	return val;
}

static void guest_syncs(void)
{
	int i;

	for (i = 1; i <= 3; i++)
		GUEST_SYNC(i);
	GUEST_DONE();
}

TEST(ldt_survives_kvm_run)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_syncs);
	struct sigaction sa = { .sa_handler = on_segv };
	uint32_t before, after, reloaded;
	uint16_t sel_after;
	struct ucall uc;
	int i;

	ASSERT_EQ(0, install_ldt()) TH_LOG("modify_ldt: %m");
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	before = load_gs_and_read();
	ASSERT_EQ(LDT_MAGIC, before);

	for (i = 1; i <= 3; i++) {
		ASSERT_SYNC(vcpu, &uc, i);
		sel_after = read_gs();
		after = sel_after == LDT_SEL ? read_through_gs() : 0;
		reloaded = load_gs_and_read();
		asm volatile("mov %0, %%gs" : : "r"((uint16_t)0));
		EXPECT_EQ(LDT_SEL, sel_after)
			TH_LOG("KVM_RUN %d: GS %#x on return", i, sel_after);
		EXPECT_EQ(LDT_MAGIC, after);
		EXPECT_EQ(LDT_MAGIC, reloaded)
			TH_LOG("KVM_RUN %d: the LDT selector no longer loads", i);
		if (i < 3)
			ASSERT_EQ(LDT_MAGIC, load_gs_and_read());
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGSEGV, &sa, NULL);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
