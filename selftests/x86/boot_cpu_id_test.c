// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot_cpu_id_test - KVM_SET_BOOT_CPU_ID (api.rst): which vCPU comes out
 * of RESET as the bootstrap processor. Its IA32_APIC_BASE has the BSP
 * flag (SDM Vol. 3 10.4.4); with the in-kernel irqchip it runs at once
 * while the others wait for INIT-SIPI (SDM Vol. 3 8.4), and its LINT0 is
 * in ExtINT mode as KVM leaves it. The id may be set only before the
 * first vCPU exists (EBUSY after, as KVM).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_guest.h"

#define APIC_BASE_BSP	(1ULL << 8)
#define APIC_MMIO	0xfee00000UL
#define APIC_SPIV	0xf0
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVT0	0x350
#define LVT_MASKED	(1U << 16)
#define DM_EXTINT	(7U << 8)
#define MSR_IA32_APICBASE 0x1b

static long set_boot_cpu(int vm_fd, unsigned long id)
{
	return okvm_ioctl(vm_fd, KVM_SET_BOOT_CPU_ID, id);
}

static uint64_t apic_base(struct kvm_vcpu *vcpu)
{
	struct kvm_sregs s;

	vcpu_sregs_get(vcpu, &s);
	return s.apic_base;
}

static uint32_t lapic_reg(struct kvm_vcpu *vcpu, uint32_t off)
{
	struct kvm_lapic_state s;
	uint32_t v;

	kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &s);
	memcpy(&v, s.regs + off, sizeof(v));
	return v;
}

static uint32_t mp_state(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp;

	kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

TEST(cap_and_ebusy)
{
	static const unsigned long wild[] = { 0xffffffff, 1UL << 40 };
	struct kvm_vm *vm = vm_create_bare();
	int i;

	EXPECT_EQ(1, okvm_ioctl(vm->dev_fd, KVM_CHECK_EXTENSION,
				KVM_CAP_SET_BOOT_CPU_ID));
	EXPECT_EQ(1, okvm_ioctl(vm->fd, KVM_CHECK_EXTENSION,
				KVM_CAP_SET_BOOT_CPU_ID));
	/*
	 * Ids beyond the limit: 6.1 takes them (truncated to 32 bits),
	 * later KVM and okvm refuse them.
	 */
	for (i = 0; i < 2; i++) {
		long r = set_boot_cpu(vm->fd, wild[i]);

		if (okvm_dev_is_okvm()) {
			EXPECT_EQ(-EINVAL, r);
		} else {
			EXPECT_TRUE(r == 0 || r == -EINVAL);
		}
	}
	/* any id below it, again and again */
	EXPECT_EQ(0, set_boot_cpu(vm->fd, 7));
	EXPECT_EQ(0, set_boot_cpu(vm->fd, 1));
	/* a vCPU that could not be created does not count */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_CREATE_VCPU, 1UL << 31));
	EXPECT_EQ(0, set_boot_cpu(vm->fd, 0));
	vm_vcpu_add_bare(vm, 1);
	EXPECT_EQ(-EBUSY, set_boot_cpu(vm->fd, 0));
	EXPECT_EQ(-EBUSY, set_boot_cpu(vm->fd, 1));
	kvm_vm_free(vm);
}

/* The BSP flag at RESET, for boot id 1, and for an id no vCPU has. */
TEST(bsp_flag_follows_the_id)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *v0, *v1;

	ASSERT_EQ(0, set_boot_cpu(vm->fd, 1));
	v0 = vm_vcpu_add_bare(vm, 0);
	v1 = vm_vcpu_add_bare(vm, 1);
	EXPECT_EQ(0, apic_base(v0) & APIC_BASE_BSP);
	EXPECT_EQ(APIC_BASE_BSP, apic_base(v1) & APIC_BASE_BSP);
	kvm_vm_free(vm);

	vm = vm_create_bare();
	ASSERT_EQ(0, set_boot_cpu(vm->fd, 5));
	v0 = vm_vcpu_add_bare(vm, 0);
	v1 = vm_vcpu_add_bare(vm, 1);
	EXPECT_EQ(0, apic_base(v0) & APIC_BASE_BSP);
	EXPECT_EQ(0, apic_base(v1) & APIC_BASE_BSP);
	kvm_vm_free(vm);
}

/* With the in-kernel irqchip: who runs at once, and LINT0. */
TEST(bsp_runs_aps_wait)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *v0, *v1;

	vm_create_irqchip(vm);
	ASSERT_EQ(0, set_boot_cpu(vm->fd, 1));
	v0 = vm_vcpu_add_bare(vm, 0);
	v1 = vm_vcpu_add_bare(vm, 1);
	EXPECT_EQ(KVM_MP_STATE_UNINITIALIZED, mp_state(v0));
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp_state(v1));
	EXPECT_EQ(LVT_MASKED, lapic_reg(v0, APIC_LVT0) & (LVT_MASKED | DM_EXTINT));
	EXPECT_EQ(DM_EXTINT, lapic_reg(v1, APIC_LVT0) & (LVT_MASKED | DM_EXTINT));
	kvm_vm_free(vm);
}

static inline void apic_write(uint32_t off, uint32_t val)
{
	*(volatile uint32_t *)(APIC_MMIO + off) = val;
}

/* The BSP (vCPU 1) reads its flag, then starts vCPU 0 as an AP. */
static void guest_bsp(void)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_IA32_APICBASE));
	GUEST_SYNC_ARGS(1, lo & APIC_BASE_BSP);
	apic_write(APIC_SPIV, 0x1ff);
	apic_write(APIC_ICR2, 0);
	apic_write(APIC_ICR, 0x4500);		/* INIT, level assert */
	GUEST_SYNC(2);
	apic_write(APIC_ICR2, 0);
	apic_write(APIC_ICR, 0x4600 | 0x01);	/* SIPI, vector 1 */
	GUEST_DONE();
}

TEST(bsp_starts_vcpu0_with_init_sipi)
{
	/* mov $0x1234, %ax; out %ax, $0x80; hlt; jmp .-1 */
	static const uint8_t ap_code[] = {
		0xb8, 0x34, 0x12, 0xe7, 0x80, 0xf4, 0xeb, 0xfd,
	};
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *ap, *bsp;
	struct kvm_regs regs;
	struct ucall uc;
	int r, tries = 0;

	vm_create_irqchip(vm);
	ASSERT_EQ(0, set_boot_cpu(vm->fd, 1));
	ap = vm_vcpu_add_bare(vm, 0);
	bsp = vm_vcpu_add_guest(vm, 1, guest_bsp);
	memcpy(addr_gpa2hva(vm, REAL_MODE_CODE_GPA), ap_code,
	       sizeof(ap_code));

	ASSERT_SYNC(bsp, &uc, 1);
	EXPECT_EQ(APIC_BASE_BSP, uc.args[1]);
	ASSERT_SYNC(bsp, &uc, 2);
	EXPECT_EQ(KVM_MP_STATE_INIT_RECEIVED, mp_state(ap));
	ASSERT_UCALL(bsp, &uc, UCALL_DONE);
	/* KVM returns EAGAIN from KVM_RUN while it takes the events. */
	do {
		r = _vcpu_run(ap);
	} while (r == -EAGAIN && ++tries < 10);
	ASSERT_EQ(0, r);
	ASSERT_EXIT(ap, KVM_EXIT_IO);
	vcpu_regs_get(ap, &regs);
	EXPECT_EQ(0x1234, regs.rax & 0xffff);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp_state(ap));
	EXPECT_EQ(0, apic_base(ap) & APIC_BASE_BSP);
	EXPECT_EQ(-EBUSY, set_boot_cpu(vm->fd, 0));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
