// SPDX-License-Identifier: GPL-2.0-only
/*
 * smm_test - system-management mode (KVM_CAP_X86_SMM) and the second
 * address space (KVM_CAP_MULTI_ADDRESS_SPACE) it sees memory through.
 *
 * An SMI from KVM_SMI or from a self-IPI through the local APIC's ICR
 * (delivery mode SMI) enters SMM: the state is saved at SMBASE + 0xFE00 in
 * the AMD64 layout KVM uses for a guest with long mode (APM Vol. 2 Table
 * 10-2), the vCPU runs the handler at SMBASE + 0x8000 in big real mode
 * with NMIs blocked, and sees address space 1, where SMRAM is; RSM brings
 * the saved state back and address space 0 with it. Also: RSM outside SMM
 * and the guest's RDMSR of SMBASE fault; RSM of a bad save area shuts
 * down; the smi fields of struct
 * kvm_vcpu_events round-trip; slots, dirty logs and KVM_SMI with bad
 * input get KVM's errnos.
 */
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define MSR_IA32_SMBASE	0x9e
#define SMBASE_RESET	0x30000ULL	/* SDM Vol. 3 34.11 */

/* SMRAM: 64 KiB at SMBASE, in address space 1 only (slot 1 there). */
#define SMRAM_GPA	0x3000000ULL	/* 48 MiB: RAM in address space 0 */
#define SMRAM_SIZE	0x10000ULL
#define SMRAM_SLOT	((1U << 16) | 1)
#define PROBE_OFF	0x100		/* a byte that differs between views */
#define SAVE_AREA	0xfe00		/* SMBASE + 0xFE00 (SDM 34.4.1) */

#define SMM_PORT	0xee

/* A save-area field at offset @off from SMBASE + 0x8000 (APM Table 10-2). */
#define SAVED(smram, type, off) \
	(*(type *)((uint8_t *)(smram) + SAVE_AREA + (off) - 0x7e00))

/*
 * The handler, 16-bit code at SMBASE + 0x8000: read the probe byte (a
 * 32-bit address: DS has base 0 and a 4 GiB limit in SMM), report it on
 * SMM_PORT, RSM.
 */
static const uint8_t smi_handler[] = {
	0x67, 0xa0,			/* addr32 mov moffs32, %al */
	(uint8_t)(SMRAM_GPA + PROBE_OFF), (uint8_t)((SMRAM_GPA + PROBE_OFF) >> 8),
	(uint8_t)((SMRAM_GPA + PROBE_OFF) >> 16),
	(uint8_t)((SMRAM_GPA + PROBE_OFF) >> 24),
	0xe6, SMM_PORT,			/* out %al, $SMM_PORT */
	0x0f, 0xaa,			/* rsm */
};

static long set_region(int vm, uint32_t slot, uint64_t gpa, uint64_t size,
		       void *mem, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)mem,
	};

	return okvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, (uintptr_t)&r);
}

static bool has_smm(void)
{
	int dev = okvm_open_dev();
	bool smm = okvm_ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM) > 0;

	close(dev);
	return smm;
}

/* SMRAM with the handler and its probe byte, as slot SMRAM_SLOT. */
static uint8_t *add_smram(struct __test_metadata *_metadata,
			  struct kvm_vm *vm, uint32_t flags)
{
	uint8_t *smram = mmap(NULL, SMRAM_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	EXPECT_NE(MAP_FAILED, smram);
	memcpy(smram + 0x8000, smi_handler, sizeof(smi_handler));
	smram[PROBE_OFF] = 0x5a;
	*(uint8_t *)addr_gpa2hva(vm, SMRAM_GPA + PROBE_OFF) = 0xa5;
	EXPECT_EQ(0, set_region(vm->fd, SMRAM_SLOT, SMRAM_GPA, SMRAM_SIZE,
				smram, flags));
	return smram;
}

static void get_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, ev);
}

static long set_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	return okvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, (uintptr_t)ev);
}

/* Run into the handler's OUT and check the value: the view it saw. */
static void expect_handler_out(struct __test_metadata *_metadata,
			       struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(SMM_PORT, run->io.port);
	EXPECT_EQ(KVM_EXIT_IO_OUT, run->io.direction);
	EXPECT_EQ(0x5a, *((uint8_t *)run + run->io.data_offset))
		TH_LOG("the handler did not see SMRAM at its GPA");
}

static void guest_smi(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC_ARGS(2, *(volatile uint8_t *)(SMRAM_GPA + PROBE_OFF));
	GUEST_DONE();
}

/*
 * KVM_SMI: entry state, the save area, the SMRAM view, RSM back to the
 * interrupted code, and the save area's write logged in address space
 * 1's dirty log.
 */
TEST(kvm_smi_enter_and_rsm)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_sregs before, in, after;
	struct kvm_vcpu_events ev;
	uint64_t bitmap[1] = { 0 };
	struct kvm_dirty_log log = {
		.slot = SMRAM_SLOT, .dirty_bitmap = bitmap,
	};
	struct kvm_regs regs;
	struct ucall uc;
	uint8_t *smram;

	if (!has_smm())
		SKIP(return, "no KVM_CAP_X86_SMM");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_smi);
	smram = add_smram(_metadata, vm, KVM_MEM_LOG_DIRTY_PAGES);
	EXPECT_EQ(SMBASE_RESET, vcpu_get_msr(vcpu, MSR_IA32_SMBASE));
	ASSERT_EQ(1, vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMRAM_GPA));
	EXPECT_EQ(SMRAM_GPA, vcpu_get_msr(vcpu, MSR_IA32_SMBASE));
	ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG, (uintptr_t)&log));

	ASSERT_SYNC(vcpu, &uc, 1);
	vcpu_sregs_get(vcpu, &before);
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SMI, 0));
	get_events(vcpu, &ev);
	EXPECT_TRUE(ev.flags & KVM_VCPUEVENT_VALID_SMM);
	EXPECT_EQ(1, ev.smi.pending);
	EXPECT_EQ(0, ev.smi.smm);

	expect_handler_out(_metadata, vcpu);
	get_events(vcpu, &ev);
	EXPECT_EQ(1, ev.smi.smm);
	EXPECT_EQ(0, ev.smi.pending);
	EXPECT_EQ(0, ev.smi.smm_inside_nmi);
	EXPECT_EQ(1, ev.nmi.masked) TH_LOG("NMIs are not blocked in SMM");
	vcpu_sregs_get(vcpu, &in);
	EXPECT_EQ(SMRAM_GPA, in.cs.base);
	EXPECT_EQ((SMRAM_GPA >> 4) & 0xffff, in.cs.selector);
	EXPECT_EQ(0xffffffff, in.ds.limit);
	EXPECT_EQ(0, in.cr0 & 0x80000001) TH_LOG("PE or PG set in SMM");
	EXPECT_EQ(0, in.cr4);
	EXPECT_EQ(0, in.efer);
	EXPECT_EQ(0, in.idt.limit);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_LE(0x8000, regs.rip);
	EXPECT_GE(0x8000 + sizeof(smi_handler), regs.rip);

	/* The AMD64 layout, revision 0x20064 (KVM's for a long-mode guest). */
	EXPECT_EQ(0x20064, SAVED(smram, uint32_t, 0x7efc));
	EXPECT_EQ(SMRAM_GPA, SAVED(smram, uint32_t, 0x7f00));
	EXPECT_EQ(before.cr0, SAVED(smram, uint64_t, 0x7f58));
	EXPECT_EQ(before.cr3, SAVED(smram, uint64_t, 0x7f50));
	EXPECT_EQ(before.cr4, SAVED(smram, uint64_t, 0x7f48));
	EXPECT_EQ(before.efer, SAVED(smram, uint64_t, 0x7ed0));
	EXPECT_EQ(before.cs.selector, SAVED(smram, uint16_t, 0x7e10));
	EXPECT_EQ(before.gdt.base, SAVED(smram, uint64_t, 0x7e68));
	/*
	 * The save area's page (15 of the slot) is dirty in address space
	 * 1's log. KVM may also log the pages the handler only read (0, the
	 * probe, and 8, its code: api.rst, KVM_GET_DIRTY_LOG); no other.
	 */
	ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG, (uintptr_t)&log));
	EXPECT_EQ(1ULL << 15, bitmap[0] & (1ULL << 15));
	EXPECT_EQ(0, bitmap[0] & ~(1ULL | 1ULL << 8 | 1ULL << 15));

	/* RSM: back where the guest was, seeing address space 0 again. */
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(0xa5, uc.args[1]) TH_LOG("SMRAM still seen after RSM");
	get_events(vcpu, &ev);
	EXPECT_EQ(0, ev.smi.smm);
	EXPECT_EQ(0, ev.nmi.masked);
	vcpu_sregs_get(vcpu, &after);
	EXPECT_EQ(before.cr0, after.cr0);
	EXPECT_EQ(before.cr3, after.cr3);
	EXPECT_EQ(before.cr4, after.cr4);
	EXPECT_EQ(before.efer, after.efer);
	EXPECT_EQ(before.cs.selector, after.cs.selector);
	EXPECT_EQ(before.cs.l, after.cs.l);
	EXPECT_EQ(before.tr.base, after.tr.base);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
	munmap(smram, SMRAM_SIZE);
}

/* xAPIC ICR (SDM Vol. 3 10.6.1): self shorthand, assert, delivery mode SMI. */
#define XAPIC_ICR	0xfee00300ULL
#define ICR_SELF_SMI	(0x40000 | 0x4000 | 0x200)

static void guest_self_smi(void)
{
	*(volatile uint32_t *)XAPIC_ICR = ICR_SELF_SMI;
	GUEST_SYNC(1);
	GUEST_DONE();
}

/*
 * An SMI IPI to self through the local APIC; a second SMI while in SMM
 * waits for RSM (SDM 34.3) and is taken right after it.
 */
TEST(apic_smi_and_smi_in_smm)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_vcpu_events ev;
	struct ucall uc;
	uint8_t *smram;

	if (!has_smm())
		SKIP(return, "no KVM_CAP_X86_SMM");
	vm = vm_create_guest(0);
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_self_smi);
	smram = add_smram(_metadata, vm, 0);
	ASSERT_EQ(1, vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMRAM_GPA));

	expect_handler_out(_metadata, vcpu);
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SMI, 0));
	get_events(vcpu, &ev);
	EXPECT_EQ(1, ev.smi.smm);
	EXPECT_EQ(1, ev.smi.pending) TH_LOG("an SMI in SMM was not held");
	/* RSM, then the held SMI: the handler runs again. */
	expect_handler_out(_metadata, vcpu);
	get_events(vcpu, &ev);
	EXPECT_EQ(1, ev.smi.smm);
	EXPECT_EQ(0, ev.smi.pending);
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
	munmap(smram, SMRAM_SIZE);
}

static volatile int ud_count, gp_count;

static void guest_ud_handler(struct ex_regs *regs)
{
	ud_count++;
	regs->rip += 2;		/* RSM: 0f aa */
}

static void guest_gp_handler(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;		/* RDMSR: 0f 32 */
}

static void guest_faults(void)
{
	asm volatile("rsm" ::: "memory");
	asm volatile("rdmsr" :: "c"(MSR_IA32_SMBASE) : "rax", "rdx");
	GUEST_SYNC_ARGS(1, ud_count, gp_count);
	GUEST_DONE();
}

/* RSM outside SMM is #UD; SMBASE is not the guest's to read (#GP). */
TEST(rsm_outside_smm_and_smbase_rdmsr_fault)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_faults);
	struct ucall uc;

	vm_install_exception_handler(vm, UD_VECTOR, guest_ud_handler);
	vm_install_exception_handler(vm, GP_VECTOR, guest_gp_handler);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(1, uc.args[1]) TH_LOG("RSM outside SMM did not raise #UD");
	EXPECT_EQ(1, uc.args[2]) TH_LOG("RDMSR of SMBASE did not raise #GP");
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/*
 * A save area RSM cannot load (here a reserved CR4 bit, SDM Vol. 3 2.5)
 * shuts the vCPU down (SDM 34.13: RSM with an invalid state "enters the
 * shutdown state"), as KVM does: KVM_EXIT_SHUTDOWN, nothing loaded. The
 * save area is SMRAM, which the guest's SMM handler may write at will.
 */
TEST(rsm_of_a_bad_save_area_shuts_down)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	uint8_t *smram;

	if (!has_smm())
		SKIP(return, "no KVM_CAP_X86_SMM");
	vm = vm_create_guest(0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_smi);
	smram = add_smram(_metadata, vm, 0);
	ASSERT_EQ(1, vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMRAM_GPA));
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SMI, 0));
	expect_handler_out(_metadata, vcpu);
	SAVED(smram, uint64_t, 0x7f48) |= 1ULL << 31;
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	kvm_vm_free(vm);
	munmap(smram, SMRAM_SIZE);
}

/* The smi fields of KVM_GET/SET_VCPU_EVENTS, as KVM keeps them. */
TEST(vcpu_events_smi_fields)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_vcpu_events ev, got;
	struct kvm_mp_state mp = { KVM_MP_STATE_INIT_RECEIVED };

	if (!has_smm())
		SKIP(return, "no KVM_CAP_X86_SMM");
	vm = vm_create_bare();
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add_bare(vm, 0);
	get_events(vcpu, &ev);
	EXPECT_EQ(0, ev.smi.smm);
	EXPECT_EQ(0, ev.smi.pending);
	EXPECT_EQ(0, ev.smi.latched_init);

	ev.flags = KVM_VCPUEVENT_VALID_SMM;
	ev.smi.smm = 1;
	ev.smi.pending = 1;
	ev.smi.smm_inside_nmi = 1;
	ev.smi.latched_init = 1;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	get_events(vcpu, &got);
	EXPECT_EQ(1, got.smi.smm);
	EXPECT_EQ(1, got.smi.pending);
	EXPECT_EQ(1, got.smi.smm_inside_nmi);
	EXPECT_EQ(1, got.smi.latched_init);
	/* SMM latches INIT: no INIT_RECEIVED or SIPI_RECEIVED state now. */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_MP_STATE,
				      (uintptr_t)&mp));
	mp.mp_state = KVM_MP_STATE_SIPI_RECEIVED;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_MP_STATE,
				      (uintptr_t)&mp));

	/* Out of SMM: inside_nmi goes with it; without the flag, nothing. */
	ev.smi.smm = 0;
	ev.smi.pending = 0;
	ev.smi.latched_init = 0;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	get_events(vcpu, &got);
	EXPECT_EQ(0, got.smi.smm);
	EXPECT_EQ(0, got.smi.pending);
	EXPECT_EQ(0, got.smi.smm_inside_nmi);
	EXPECT_EQ(0, got.smi.latched_init);
	ev.flags = 0;
	ev.smi.smm = 1;
	ev.smi.pending = 1;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	get_events(vcpu, &got);
	EXPECT_EQ(0, got.smi.smm);
	EXPECT_EQ(0, got.smi.pending);

	/* A vCPU waiting for SIPI takes no SMM state (KVM's EINVAL). */
	mp.mp_state = KVM_MP_STATE_INIT_RECEIVED;
	ASSERT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_MP_STATE, (uintptr_t)&mp));
	ev.flags = KVM_VCPUEVENT_VALID_SMM;
	ev.smi.smm = 0;
	ev.smi.pending = 1;
	EXPECT_EQ(-EINVAL, set_events(vcpu, &ev));
	ev.smi.pending = 0;
	EXPECT_EQ(0, set_events(vcpu, &ev));
	kvm_vm_free(vm);
}

/*
 * Address space 1's slots: independent of address space 0's (same GPA
 * allowed), EEXIST among themselves, EINVAL beyond address space 1; the
 * dirty-log ioctls take the same ids.
 */
TEST(address_space_slots)
{
	struct kvm_vm *vm;
	uint64_t bitmap[1];
	struct kvm_dirty_log log = { .dirty_bitmap = bitmap };
	struct kvm_clear_dirty_log clear = {
		.num_pages = 16, .dirty_bitmap = bitmap,
	};
	int dev = okvm_open_dev();
	long spaces = okvm_ioctl(dev, KVM_CHECK_EXTENSION,
				 KVM_CAP_MULTI_ADDRESS_SPACE);
	uint8_t *mem;

	close(dev);
	if (spaces < 2)
		SKIP(return, "KVM_CAP_MULTI_ADDRESS_SPACE = %ld", spaces);
	EXPECT_EQ(2, spaces) TH_LOG("x86 has two address spaces");
	vm = vm_create_bare();
	mem = mmap(NULL, 0x20000, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, set_region(vm->fd, 1, 0x100000, 0x10000, mem, 0));
	EXPECT_EQ(0, set_region(vm->fd, (1 << 16) | 1, 0x100000, 0x10000,
				mem + 0x10000, KVM_MEM_LOG_DIRTY_PAGES));
	EXPECT_EQ(-EEXIST, set_region(vm->fd, (1 << 16) | 2, 0x108000,
				      0x10000, mem, 0));
	EXPECT_EQ(-EINVAL, set_region(vm->fd, (2 << 16) | 2, 0x200000,
				      0x10000, mem, 0));
	EXPECT_EQ(-EINVAL, set_region(vm->fd, 0xffffU << 16, 0x200000,
				      0x10000, mem, 0));

	log.slot = (1 << 16) | 1;
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG, (uintptr_t)&log));
	log.slot = 1;		/* address space 0's slot 1 does not log */
	EXPECT_EQ(-ENOENT, okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG,
				      (uintptr_t)&log));
	log.slot = (1 << 16) | 2;
	EXPECT_EQ(-ENOENT, okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG,
				      (uintptr_t)&log));
	log.slot = (2 << 16) | 1;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG,
				      (uintptr_t)&log));
	bitmap[0] = 0;
	clear.slot = (1 << 16) | 1;
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG,
				(uintptr_t)&clear));
	clear.slot = (2 << 16) | 1;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG,
				      (uintptr_t)&clear));

	/* Deleting one space's slot leaves the other's. */
	EXPECT_EQ(0, set_region(vm->fd, (1 << 16) | 1, 0, 0, mem, 0));
	EXPECT_EQ(-EINVAL, set_region(vm->fd, (1 << 16) | 1, 0, 0, mem, 0));
	EXPECT_EQ(0, set_region(vm->fd, 1, 0, 0, mem, 0));
	kvm_vm_free(vm);
	munmap(mem, 0x20000);
}

/* KVM_SMI is a vCPU ioctl: the VM fd does not know it. */
TEST(kvm_smi_on_vm_fd)
{
	struct kvm_vm *vm = vm_create_bare();

	EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, KVM_SMI, 0));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
