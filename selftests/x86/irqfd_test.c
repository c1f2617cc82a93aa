// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqfd_test - KVM_IRQFD: KVM's errnos (no in-kernel irqchip, bad fds,
 * bad flags, an eventfd already in use), its lifecycle (deassign, the
 * eventfd closed under an active irqfd, the VM closed with irqfds
 * attached); an interrupt from an eventfd write reaching a guest handler,
 * and a level-triggered line resampled on the guest's EOI.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

static long irqfd(struct kvm_vm *vm, int fd, uint32_t gsi, uint32_t flags,
		  int resamplefd)
{
	struct kvm_irqfd a = {
		.fd = fd, .gsi = gsi, .flags = flags, .resamplefd = resamplefd,
	};

	return okvm_ioctl(vm->fd, KVM_IRQFD, (unsigned long)&a);
}

static int new_efd(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

static struct kvm_vm *vm_with_irqchip(void)
{
	struct kvm_vm *vm = vm_create_bare();

	kvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
	return vm;
}

TEST(no_irqchip)
{
	struct kvm_vm *vm = vm_create_bare();
	int e = new_efd(), r = new_efd();

	/* KVM wants an in-kernel irqchip, and checks that before the fds. */
	EXPECT_EQ(-EINVAL, irqfd(vm, e, 5, 0, 0));
	EXPECT_EQ(-EINVAL, irqfd(vm, -1, 5, 0, 0));
	EXPECT_EQ(-EINVAL, irqfd(vm, e, 5, KVM_IRQFD_FLAG_RESAMPLE, r));
	/* Deassign looks only for the eventfd; nothing found is fine. */
	EXPECT_EQ(0, irqfd(vm, e, 5, KVM_IRQFD_FLAG_DEASSIGN, 0));
	EXPECT_EQ(-EBADF, irqfd(vm, -1, 5, KVM_IRQFD_FLAG_DEASSIGN, 0));
	EXPECT_EQ(-EINVAL, irqfd(vm, e, 5, 1U << 2, 0));
	close(r);
	close(e);
	kvm_vm_free(vm);
}

TEST(errnos)
{
	struct kvm_vm *vm = vm_with_irqchip();
	int e = new_efd(), e2 = new_efd(), r = new_efd();
	int nul = open("/dev/null", O_RDWR);
	const uint32_t de = KVM_IRQFD_FLAG_DEASSIGN;
	const uint32_t rs = KVM_IRQFD_FLAG_RESAMPLE;

	ASSERT_LE(0, nul);
	EXPECT_EQ(-EINVAL, irqfd(vm, e, 5, 1U << 2, 0));
	EXPECT_EQ(-EINVAL, irqfd(vm, e, 5, de | (1U << 7), 0));
	EXPECT_EQ(-EBADF, irqfd(vm, -1, 5, 0, 0));
	EXPECT_EQ(-EBADF, irqfd(vm, 1000, 5, 0, 0));
	EXPECT_EQ(-EINVAL, irqfd(vm, nul, 5, 0, 0));
	EXPECT_EQ(-EBADF, irqfd(vm, e, 5, rs, -1));
	EXPECT_EQ(-EINVAL, irqfd(vm, e, 5, rs, nul));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm->fd, KVM_IRQFD, 8));

	EXPECT_EQ(0, irqfd(vm, e, 5, 0, 0));
	/* One eventfd drives one GSI. */
	EXPECT_EQ(-EBUSY, irqfd(vm, e, 5, 0, 0));
	EXPECT_EQ(-EBUSY, irqfd(vm, e, 6, 0, 0));
	EXPECT_EQ(-EBUSY, irqfd(vm, e, 6, rs, r));
	/* Another eventfd on the same GSI is fine. */
	EXPECT_EQ(0, irqfd(vm, e2, 5, 0, 0));
	/* Deassign: the wrong GSI finds nothing and still succeeds. */
	EXPECT_EQ(0, irqfd(vm, e, 6, de, 0));
	EXPECT_EQ(-EBUSY, irqfd(vm, e, 6, 0, 0));
	EXPECT_EQ(0, irqfd(vm, e, 5, de, 0));
	EXPECT_EQ(0, irqfd(vm, e, 6, 0, 0));
	EXPECT_EQ(-EINVAL, irqfd(vm, nul, 5, de, 0));
	EXPECT_EQ(-EBADF, irqfd(vm, -1, 5, de, 0));

	/* Resampling irqfds share a GSI's resampler. */
	EXPECT_EQ(0, irqfd(vm, e, 6, de, 0));
	EXPECT_EQ(0, irqfd(vm, e, 10, rs, r));
	EXPECT_EQ(0, irqfd(vm, e2, 5, de, 0));
	EXPECT_EQ(0, irqfd(vm, e2, 10, rs, r));
	EXPECT_EQ(0, irqfd(vm, e, 10, de, 0));
	EXPECT_EQ(0, irqfd(vm, e2, 10, de, 0));
	EXPECT_EQ(0, irqfd(vm, e, 10, rs, r));

	close(nul);
	close(r);
	close(e2);
	close(e);
	kvm_vm_free(vm);
}

/* An eventfd signalled before and after the irqfd exists, then closed. */
TEST(close_eventfd_under_active_irqfd)
{
	struct kvm_vm *vm = vm_with_irqchip();
	uint64_t one = 1;
	int i;

	for (i = 0; i < 50; i++) {
		int e = new_efd(), r = new_efd();

		ASSERT_EQ(8, write(e, &one, 8));
		ASSERT_EQ(0, irqfd(vm, e, 3 + i % 8,
				   i & 1 ? KVM_IRQFD_FLAG_RESAMPLE : 0, r));
		ASSERT_EQ(8, write(e, &one, 8));
		close(e);	/* EPOLLHUP tears the irqfd down */
		close(r);
	}
	/* The GSIs are free: a new eventfd takes one without trouble. */
	i = new_efd();
	EXPECT_EQ(0, irqfd(vm, i, 3, 0, 0));
	EXPECT_EQ(8, write(i, &one, 8));
	close(i);
	kvm_vm_free(vm);
}

TEST(close_vm_with_irqfds_attached)
{
	int e = new_efd(), e2 = new_efd(), r = new_efd(), i;
	uint64_t one = 1, v;

	for (i = 0; i < 3; i++) {
		struct kvm_vm *vm = vm_with_irqchip();

		ASSERT_EQ(0, irqfd(vm, e, 4, 0, 0));
		ASSERT_EQ(0, irqfd(vm, e2, 9, KVM_IRQFD_FLAG_RESAMPLE, r));
		ASSERT_EQ(8, write(e, &one, 8));
		kvm_vm_free(vm);
	}
	/* The eventfds outlive the VMs and no longer have a reader. */
	ASSERT_EQ(8, write(e, &one, 8));
	ASSERT_EQ(8, read(e, &v, 8));
	EXPECT_EQ(1, v);
	close(r);
	close(e2);
	close(e);
}

/*
 * End to end: an irqfd on GSI 10 with the IOAPIC pin routed to vector
 * 24 of the boot CPU.
 */
#define IOAPIC_GPA	0xfec00000ULL
#define LAPIC_GPA	0xfee00000ULL
/*
 * The selftest IDT has the 32 exception vectors only; 24 is reserved,
 * pushes no error code, and a local APIC accepts any vector from 16 up
 * (SDM Vol. 3 10.5.2).
 */
#define IRQ_VECTOR	24
#define IRQ_GSI		10

static volatile uint32_t irqs_taken;

static void guest_irq_handler(struct ex_regs *regs)
{
	irqs_taken++;
	*(volatile uint32_t *)(LAPIC_GPA + 0xb0) = 0;	/* EOI */
}

static void ioapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)IOAPIC_GPA = reg;
	*(volatile uint32_t *)(IOAPIC_GPA + 0x10) = val;
}

static void guest_irqfd(void)
{
	/*
	 * Mask both PICs (OCW1): a GSI below 16 also reaches the PIC, which
	 * would deliver it as ExtINT through LINT0 with vector base 0.
	 */
	asm volatile("outb %0, $0x21; outb %0, $0xa1" : : "a"((uint8_t)0xff));
	/* Software-enable the local APIC (SVR bit 8). */
	*(volatile uint32_t *)(LAPIC_GPA + 0xf0) = 0x1ff;
	/* Redirection entry of the pin: fixed, physical, edge, to APIC 0. */
	ioapic_write(0x10 + 2 * IRQ_GSI + 1, 0);
	ioapic_write(0x10 + 2 * IRQ_GSI, IRQ_VECTOR);
	GUEST_SYNC(1);
	asm volatile("sti; hlt; cli");
	GUEST_ASSERT_EQ(1, irqs_taken);
	GUEST_DONE();
}

static bool have_lapic(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state s;

	return okvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)&s) == 0;
}

TEST(interrupt_reaches_guest_handler)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	uint64_t one = 1;
	int e;

	kvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_irqfd);
	ASSERT_TRUE(have_lapic(vcpu));
	vm_install_exception_handler(vm, IRQ_VECTOR, guest_irq_handler);
	e = new_efd();
	ASSERT_EQ(0, irqfd(vm, e, IRQ_GSI, 0, 0));
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_EQ(8, write(e, &one, 8));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	close(e);
	kvm_vm_free(vm);
}

/*
 * A level-triggered line behind a resampling irqfd: the write asserts
 * GSI 11, the IOAPIC delivers it once and sets Remote IRR (IOAPIC
 * datasheet, 3.2.4), the line stays asserted while the guest handles it,
 * and the guest's EOI both de-asserts it and signals the resample eventfd,
 * so that a device model can look again. Without the resampler the EOI
 * would find the line still high and deliver it a second time.
 */
#define LEVEL_GSI	11
#define LEVEL_VECTOR	25

static volatile uint32_t level_irqs;

static void guest_level_handler(struct ex_regs *regs)
{
	level_irqs++;
	/* no EOI here: the guest sends it later, when the host has looked */
}

static void guest_level(void)
{
	asm volatile("outb %0, $0x21; outb %0, $0xa1" : : "a"((uint8_t)0xff));
	*(volatile uint32_t *)(LAPIC_GPA + 0xf0) = 0x1ff;
	/* fixed, physical, level (bit 15), active high, to APIC 0 */
	ioapic_write(0x10 + 2 * LEVEL_GSI + 1, 0);
	ioapic_write(0x10 + 2 * LEVEL_GSI, LEVEL_VECTOR | (1u << 15));
	GUEST_SYNC(1);
	asm volatile("sti; hlt; cli");
	GUEST_ASSERT_EQ(1, level_irqs);
	GUEST_SYNC(2);			/* in service, not yet EOIed */
	*(volatile uint32_t *)(LAPIC_GPA + 0xb0) = 0;
	/* an open window: a line left high would be delivered again here */
	asm volatile("sti; nop; nop; nop; nop; cli");
	GUEST_ASSERT_EQ(1, level_irqs);
	GUEST_SYNC(3);
	asm volatile("sti; hlt; cli");
	GUEST_ASSERT_EQ(2, level_irqs);
	*(volatile uint32_t *)(LAPIC_GPA + 0xb0) = 0;
	GUEST_DONE();
}

static int remote_irr(struct kvm_vm *vm, unsigned int pin)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	if (okvm_ioctl(vm->fd, KVM_GET_IRQCHIP, (unsigned long)&chip))
		return -1;
	return chip.chip.ioapic.redirtbl[pin].fields.remote_irr;
}

/* the resample eventfd's count, 0 when it was not signalled */
static uint64_t resampled(int r)
{
	uint64_t v = 0;

	if (read(r, &v, 8) != 8)
		return 0;
	return v;
}

TEST(level_interrupt_resampled_on_eoi)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	uint64_t one = 1;
	int e, r;

	kvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
	vcpu = vm_vcpu_add_guest(vm, 0, guest_level);
	vm_install_exception_handler(vm, LEVEL_VECTOR, guest_level_handler);
	e = new_efd();
	r = new_efd();
	ASSERT_EQ(0, irqfd(vm, e, LEVEL_GSI, KVM_IRQFD_FLAG_RESAMPLE, r));
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_EQ(8, write(e, &one, 8));
	ASSERT_SYNC(vcpu, &uc, 2);
	EXPECT_EQ(1, remote_irr(vm, LEVEL_GSI));
	EXPECT_EQ(0, resampled(r));
	ASSERT_SYNC(vcpu, &uc, 3);
	EXPECT_EQ(0, remote_irr(vm, LEVEL_GSI));
	EXPECT_EQ(1, resampled(r));
	/* the device model asserts the line again */
	ASSERT_EQ(8, write(e, &one, 8));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	EXPECT_EQ(1, resampled(r));
	EXPECT_EQ(0, remote_irr(vm, LEVEL_GSI));
	close(r);
	close(e);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
