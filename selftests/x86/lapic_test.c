// SPDX-License-Identifier: GPL-2.0-only
/*
 * lapic_test - the in-kernel local APIC (KVM_CREATE_IRQCHIP): its errnos,
 * KVM_GET/SET_LAPIC, the APIC timer in one-shot, periodic and TSC-deadline
 * modes, HLT sleeping until the timer fires, self-IPIs, IPIs between
 * vCPUs, APs started with INIT/SIPI in real mode, guests storming
 * interrupts while the VMM stops them with a signal, an NMI and an
 * interrupt pending at once, and the TPR kept in step with a word of
 * guest memory (KVM_SET_VAPIC_ADDR).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define APIC_BASE	0xfee00000UL
#define APIC_ID		0x20
#define APIC_LVR	0x30
#define APIC_TASKPRI	0x80
#define APIC_EOI	0xb0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SPIV	0xf0
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVT0	0x350
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0

#define LVT_MASKED	(1U << 16)
#define TIMER_PERIODIC	(1U << 17)
#define TIMER_TSCDL	(2U << 17)
#define MSR_TSC_DEADLINE 0x6e0

#define TIMER_VEC	0x40
#define IPI_VEC		0x50

/* Interrupts taken, per APIC ID (all vCPUs share guest memory). */
static volatile uint64_t irq_counts[8];
#define irq_count irq_counts[apic_read(APIC_ID) >> 24]

static inline uint32_t apic_read(uint32_t off)
{
	return *(volatile uint32_t *)(APIC_BASE + off);
}

static inline void apic_write(uint32_t off, uint32_t val)
{
	*(volatile uint32_t *)(APIC_BASE + off) = val;
}

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void guest_wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)));
}

static void irq_handler(struct ex_regs *regs)
{
	irq_counts[apic_read(APIC_ID) >> 24]++;
	apic_write(APIC_EOI, 0);
}

/* Wait in HLT, interrupts on, until n interrupts arrived. */
static void guest_wait_irqs(uint64_t n)
{
	while (irq_count < n)
		asm volatile("sti; hlt; cli");
}

static void guest_apic_enable(void)
{
	apic_write(APIC_SPIV, 0x1ff);
}

static void guest_timer_oneshot(void)
{
	guest_apic_enable();
	apic_write(APIC_TDCR, 0xb);		/* divide by 1 */
	apic_write(APIC_LVTT, TIMER_VEC);
	apic_write(APIC_TMICT, 100000000);	/* 100 ms at KVM's 1 GHz */
	GUEST_ASSERT(apic_read(APIC_TMCCT) > 0);
	guest_wait_irqs(1);
	GUEST_ASSERT_EQ(apic_read(APIC_TMCCT), 0);
	GUEST_SYNC(irq_count);
	GUEST_DONE();
}

static void guest_timer_periodic(void)
{
	guest_apic_enable();
	apic_write(APIC_TDCR, 0xb);
	apic_write(APIC_LVTT, TIMER_VEC | TIMER_PERIODIC);
	apic_write(APIC_TMICT, 1000000);	/* 1 ms */
	guest_wait_irqs(5);
	apic_write(APIC_LVTT, TIMER_VEC | TIMER_PERIODIC | LVT_MASKED);
	GUEST_SYNC(irq_count >= 5);
	GUEST_DONE();
}

static void guest_timer_tsc_deadline(void)
{
	guest_apic_enable();
	apic_write(APIC_LVTT, TIMER_VEC | TIMER_TSCDL);
	guest_wrmsr(MSR_TSC_DEADLINE, guest_rdtsc() + 1000000);
	guest_wait_irqs(1);
	/* A deadline in the past fires at once. */
	guest_wrmsr(MSR_TSC_DEADLINE, 1);
	guest_wait_irqs(2);
	GUEST_SYNC(irq_count);
	GUEST_DONE();
}

static void guest_self_ipi(void)
{
	int i;

	guest_apic_enable();
	for (i = 0; i < 10; i++) {
		/* Fixed, shorthand "self" (ICR bits 19:18 = 01b). */
		apic_write(APIC_ICR, (1U << 18) | IPI_VEC);
		asm volatile("sti; nop; cli");
	}
	GUEST_SYNC(irq_count);
	GUEST_DONE();
}

/*
 * Logical destinations (SDM Vol. 3 10.6.2.2): flat model, then cluster
 * model, each naming this APIC by its LDR; an MDA that names no APIC
 * delivers nothing.
 */
static void guest_logical_ipi(void)
{
	guest_apic_enable();
	apic_write(APIC_LDR, 0x02000000);		/* flat: bit 1 */
	apic_write(APIC_ICR2, 0x02000000);
	apic_write(APIC_ICR, (1U << 11) | IPI_VEC);	/* logical */
	asm volatile("sti; nop; cli");
	apic_write(APIC_ICR2, 0x04000000);		/* nobody */
	apic_write(APIC_ICR, (1U << 11) | IPI_VEC);
	asm volatile("sti; nop; cli");
	GUEST_SYNC(irq_count);
	apic_write(APIC_DFR, 0x0fffffff);		/* cluster model */
	apic_write(APIC_LDR, 0x31000000);		/* cluster 3, bit 0 */
	apic_write(APIC_ICR2, 0x33000000);
	apic_write(APIC_ICR, (1U << 11) | IPI_VEC);
	asm volatile("sti; nop; cli");
	apic_write(APIC_ICR2, 0x21000000);		/* cluster 2: nobody */
	apic_write(APIC_ICR, (1U << 11) | IPI_VEC);
	asm volatile("sti; nop; cli");
	GUEST_SYNC(irq_count);
	GUEST_DONE();
}

static volatile uint64_t nmi_count;

static void nmi_handler(struct ex_regs *regs)
{
	nmi_count++;
}

/* An NMI IPI to self (delivery mode 100b) reaches vector 2, IF or not. */
static void guest_nmi_ipi(void)
{
	guest_apic_enable();
	apic_write(APIC_ICR, (1U << 18) | (4U << 8));
	asm volatile("nop");
	GUEST_SYNC(nmi_count);
	GUEST_DONE();
}

static inline uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static volatile uint64_t x2_irqs, gp_count;

static void x2apic_irq_handler(struct ex_regs *regs)
{
	x2_irqs++;
	guest_wrmsr(0x80b, 0);			/* EOI */
}

static void skip_gp(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;				/* rdmsr, wrmsr */
}

/* x2APIC mode (SDM Vol. 3 10.12): MSR access, fixed ID/LDR, self-IPIs. */
static void guest_x2apic(void)
{
	uint64_t base = guest_rdmsr(0x1b);

	guest_wrmsr(0x1b, base | (1U << 10));
	GUEST_ASSERT_EQ(guest_rdmsr(0x802), 0);		/* ID */
	GUEST_ASSERT_EQ(guest_rdmsr(0x80d), 1);		/* LDR */
	guest_wrmsr(0x80f, 0x1ff);			/* SVR */
	guest_wrmsr(0x83f, IPI_VEC);			/* SELF IPI */
	asm volatile("sti; nop; cli");
	guest_wrmsr(0x830, IPI_VEC);			/* ICR, dest 0 */
	asm volatile("sti; nop; cli");
	guest_wrmsr(0x83e, 0xb);			/* TDCR */
	guest_wrmsr(0x832, TIMER_VEC);			/* LVTT */
	guest_wrmsr(0x838, 1000000);			/* TMICT */
	while (x2_irqs < 3)
		asm volatile("sti; hlt; cli");
	GUEST_SYNC(x2_irqs);
	guest_rdmsr(0x80b);		/* EOI is write-only: #GP */
	guest_wrmsr(0x802, 5);		/* ID is read-only: #GP */
	guest_wrmsr(0x1b, base);	/* x2APIC to xAPIC: #GP */
	GUEST_SYNC(gp_count);
	GUEST_DONE();
}

static struct kvm_vm *irqchip_guest(void *code, struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create_guest(0);

	vm_create_irqchip(vm);
	*vcpu = vm_vcpu_add_guest(vm, 0, code);
	vcpu_enable_interrupt_vectors(*vcpu);
	vm_install_exception_handler(vm, TIMER_VEC, irq_handler);
	vm_install_exception_handler(vm, IPI_VEC, irq_handler);
	return vm;
}

TEST(create_irqchip_errnos)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_lapic_state st;
	struct kvm_interrupt irq = { .irq = 0x20 };
	struct kvm_vcpu *vcpu;

	vcpu = vm_vcpu_add_bare(vm, 0);
	/* No local APIC without KVM_CREATE_IRQCHIP: EINVAL, as KVM. */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)&st));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_LAPIC, (unsigned long)&st));
	/* Too late once a vCPU exists. */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	kvm_vm_free(vm);

	vm = vm_create_bare();
	vm_create_irqchip(vm);
	EXPECT_EQ(-EEXIST, okvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vcpu = vm_vcpu_add_bare(vm, 0);
	/* The in-kernel PIC owns ExtINTs: KVM_INTERRUPT is refused. */
	EXPECT_EQ(-ENXIO, okvm_ioctl(vcpu->fd, KVM_INTERRUPT, (unsigned long)&irq));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)NULL));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_LAPIC, (unsigned long)NULL));
	kvm_vm_free(vm);
}

static uint32_t lapic_reg(const struct kvm_lapic_state *s, uint32_t off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, 4);
	return v;
}

static void lapic_reg_set(struct kvm_lapic_state *s, uint32_t off,
			  uint32_t v)
{
	memcpy(s->regs + off, &v, 4);
}

TEST(lapic_state_round_trip)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu0, *vcpu1;
	struct kvm_lapic_state st, back;
	struct kvm_mp_state mp;
	struct kvm_sregs sregs;
	int i;

	vm_create_irqchip(vm);
	vcpu0 = vm_vcpu_add_bare(vm, 0);
	vcpu1 = vm_vcpu_add_bare(vm, 1);

	/* Power-on state (SDM Vol. 3 10.4.7.1). */
	kvm_ioctl(vcpu1->fd, KVM_GET_LAPIC, &st);
	EXPECT_EQ(1U << 24, lapic_reg(&st, APIC_ID));
	EXPECT_EQ(0x14, lapic_reg(&st, APIC_LVR) & 0xff);
	EXPECT_EQ(0xff, lapic_reg(&st, APIC_SPIV));
	EXPECT_EQ(0xffffffff, lapic_reg(&st, APIC_DFR));
	EXPECT_EQ(LVT_MASKED, lapic_reg(&st, APIC_LVTT));
	EXPECT_EQ(LVT_MASKED, lapic_reg(&st, APIC_LVT0));

	/* The BSP runs, an AP waits for INIT/SIPI. */
	kvm_ioctl(vcpu0->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);
	kvm_ioctl(vcpu1->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_UNINITIALIZED, mp.mp_state);
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	kvm_ioctl(vcpu1->fd, KVM_SET_MP_STATE, &mp);
	kvm_ioctl(vcpu1->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);

	kvm_ioctl(vcpu0->fd, KVM_GET_LAPIC, &st);
	lapic_reg_set(&st, APIC_TASKPRI, 0x20);
	lapic_reg_set(&st, APIC_LDR, 0x01000000);
	lapic_reg_set(&st, APIC_SPIV, 0x1ff);
	lapic_reg_set(&st, APIC_LVT0, 0x700);
	kvm_ioctl(vcpu0->fd, KVM_SET_LAPIC, &st);
	kvm_ioctl(vcpu0->fd, KVM_GET_LAPIC, &back);
	EXPECT_EQ(0x20, lapic_reg(&back, APIC_TASKPRI));
	EXPECT_EQ(0x01000000, lapic_reg(&back, APIC_LDR));
	EXPECT_EQ(0x1ff, lapic_reg(&back, APIC_SPIV));
	EXPECT_EQ(0x700, lapic_reg(&back, APIC_LVT0));
	/* CR8 is the TPR's bits 7:4. */
	vcpu_sregs_get(vcpu0, &sregs);
	EXPECT_EQ(2, sregs.cr8);
	sregs.cr8 = 5;
	vcpu_sregs_set(vcpu0, &sregs);
	kvm_ioctl(vcpu0->fd, KVM_GET_LAPIC, &back);
	EXPECT_EQ(0x50, lapic_reg(&back, APIC_TASKPRI));

	/* Garbage is taken as KVM takes it: no error, no splat. */
	srand(1);
	for (i = 0; i < (int)sizeof(st.regs); i++)
		st.regs[i] = rand();
	EXPECT_EQ(0, okvm_ioctl(vcpu0->fd, KVM_SET_LAPIC, (unsigned long)&st));
	EXPECT_EQ(0, okvm_ioctl(vcpu0->fd, KVM_GET_LAPIC, (unsigned long)&back));
	vcpu_sregs_get(vcpu0, &sregs);
	kvm_vm_free(vm);
}

TEST(timer_oneshot)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_timer_oneshot, &vcpu);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(timer_periodic)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_timer_periodic, &vcpu);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(timer_tsc_deadline)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_timer_tsc_deadline, &vcpu);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct ucall uc;

	/*
	 * KVM has the mode with its local APIC whatever the host has, and
	 * says so with KVM_CAP_TSC_DEADLINE_TIMER; the VMM sets the bit.
	 */
	ASSERT_EQ(1, okvm_ioctl(vm->dev_fd, KVM_CHECK_EXTENSION,
				KVM_CAP_TSC_DEADLINE_TIMER));
	kvm_cpuid_entry(cpuid, 1, 0)->ecx |= 1U << 24;
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(self_ipi)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_self_ipi, &vcpu);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 10);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(logical_destinations)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_logical_ipi, &vcpu);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(nmi_ipi)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_nmi_ipi, &vcpu);
	struct ucall uc;

	vm_install_exception_handler(vm, 2, nmi_handler);
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(x2apic)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_x2apic, &vcpu);
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid(vm);
	struct kvm_sregs sregs;
	struct ucall uc;

	/* Offered in CPUID by KVM and okvm, host or not. */
	ASSERT_NE(0, kvm_cpuid_entry(cpuid, 1, 0)->ecx & (1U << 21));
	free(cpuid);
	vm_install_exception_handler(vm, TIMER_VEC, x2apic_irq_handler);
	vm_install_exception_handler(vm, IPI_VEC, x2apic_irq_handler);
	vm_install_exception_handler(vm, GP_VECTOR, skip_gp);
	ASSERT_SYNC(vcpu, &uc, 3);
	/* KVM_GET/SET_SREGS carry IA32_APIC_BASE with EXTD. */
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_NE(0, sregs.apic_base & (1U << 10));
	vcpu_sregs_set(vcpu, &sregs);
	ASSERT_SYNC(vcpu, &uc, 3);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* IPIs between vCPUs: each AP waits for one from the BSP and answers. */
#define NR_IPI_VCPUS	4

static volatile uint32_t ap_ready[NR_IPI_VCPUS];

static void guest_ap(uint64_t id)
{
	guest_apic_enable();
	ap_ready[id] = 1;
	guest_wait_irqs(1);
	/* Answer the BSP: physical destination APIC ID 0. */
	apic_write(APIC_ICR2, 0);
	apic_write(APIC_ICR, IPI_VEC);
	GUEST_DONE();
}

static void guest_bsp(uint64_t nr)
{
	uint64_t i;

	guest_apic_enable();
	/*
	 * One AP at a time: answers of the same vector arriving together
	 * would merge into one IRR bit, as on hardware.
	 */
	for (i = 1; i < nr; i++) {
		while (!ap_ready[i])
			asm volatile("pause");
		apic_write(APIC_ICR2, i << 24);
		apic_write(APIC_ICR, IPI_VEC);
		guest_wait_irqs(i);
	}
	GUEST_SYNC(irq_count);
	GUEST_DONE();
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	return (void *)vcpu_run_ucall(vcpu, &uc);
}

TEST(ipi_between_vcpus)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpus[NR_IPI_VCPUS];
	pthread_t threads[NR_IPI_VCPUS];
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct ucall uc;
	void *ret;
	int i;

	vm_create_irqchip(vm);
	for (i = 0; i < NR_IPI_VCPUS; i++) {
		vcpus[i] = vm_vcpu_add_guest(vm, i, i ? (void *)guest_ap :
						    (void *)guest_bsp);
		vcpu_args_set(vcpus[i], 1, i ? (uint64_t)i :
				    (uint64_t)NR_IPI_VCPUS);
		vcpu_enable_interrupt_vectors(vcpus[i]);
		/* Set up in long mode by the VMM: no INIT/SIPI needed. */
		kvm_ioctl(vcpus[i]->fd, KVM_SET_MP_STATE, &mp);
	}
	vm_install_exception_handler(vm, IPI_VEC, irq_handler);
	for (i = 1; i < NR_IPI_VCPUS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, vcpu_thread,
					    vcpus[i]));
	ASSERT_SYNC(vcpus[0], &uc, NR_IPI_VCPUS - 1);
	ASSERT_UCALL(vcpus[0], &uc, UCALL_DONE);
	for (i = 1; i < NR_IPI_VCPUS; i++) {
		pthread_join(threads[i], &ret);
		EXPECT_EQ(UCALL_DONE, (uint64_t)ret);
	}
	kvm_vm_free(vm);
}

/*
 * INIT, then SIPI with vector 1: the AP starts in real mode at 0100:0000,
 * i.e. at REAL_MODE_CODE_GPA, and reports with an OUT.
 */
static void guest_start_ap(void)
{
	guest_apic_enable();
	apic_write(APIC_ICR2, 1 << 24);
	apic_write(APIC_ICR, 0x4500);		/* INIT, level assert */
	GUEST_SYNC(1);
	apic_write(APIC_ICR2, 1 << 24);
	apic_write(APIC_ICR, 0x4600 | 0x01);	/* SIPI, vector 1 */
	GUEST_DONE();
}

TEST(init_sipi_real_mode)
{
	/* mov $0x1234, %ax; out %ax, $0x80; hlt; jmp .-1 */
	static const uint8_t ap_code[] = {
		0xb8, 0x34, 0x12, 0xe7, 0x80, 0xf4, 0xeb, 0xfd,
	};
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *bsp, *ap;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct ucall uc;
	int r, tries = 0;

	vm_create_irqchip(vm);
	bsp = vm_vcpu_add_guest(vm, 0, guest_start_ap);
	ap = vm_vcpu_add_bare(vm, 1);
	memcpy(addr_gpa2hva(vm, REAL_MODE_CODE_GPA), ap_code,
	       sizeof(ap_code));

	ASSERT_SYNC(bsp, &uc, 1);
	kvm_ioctl(ap->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_INIT_RECEIVED, mp.mp_state);
	ASSERT_UCALL(bsp, &uc, UCALL_DONE);
	/* KVM returns EAGAIN from KVM_RUN while it takes the events. */
	do {
		r = _vcpu_run(ap);
	} while (r == -EAGAIN && ++tries < 10);
	ASSERT_EQ(0, r);
	ASSERT_EXIT(ap, KVM_EXIT_IO);
	EXPECT_EQ(0x80, ap->run->io.port);
	vcpu_regs_get(ap, &regs);
	EXPECT_EQ(0x1234, regs.rax & 0xffff);
	kvm_ioctl(ap->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);
	kvm_vm_free(vm);
}

/*
 * Storms: a 1 ns periodic timer (KVM floors the period) and a self-IPI
 * loop, each with interrupts on; the VMM's signal ends KVM_RUN.
 */
static void guest_storm(void)
{
	guest_apic_enable();
	apic_write(APIC_TDCR, 0xb);
	apic_write(APIC_LVTT, TIMER_VEC | TIMER_PERIODIC);
	apic_write(APIC_TMICT, 1);
	asm volatile("sti");
	for (;;)
		apic_write(APIC_ICR, (1U << 18) | IPI_VEC);
}

static void sigusr1(int sig)
{
}

/*
 * An NMI and an interrupt pending at the same entry, the guest able to
 * take both: the NMI goes first (SDM Vol. 3 6.9), and the interrupt must
 * then wait until the guest can take it again (RFLAGS.IF set, 6.8.1), not
 * land in the NMI handler, which runs with IF clear. Each round the guest
 * stops at an OUT to EVENT_PORT with interrupts enabled, and the VMM makes
 * both pending (KVM_NMI, KVM_SIGNAL_MSI) before it runs on. The interrupt
 * handler counts interrupts that interrupted code with IF clear. (A
 * delivery an exit cut short and delivered again goes ahead of an
 * interrupt in the same way; run.c, okvm_inject_apic_events().)
 */
#define EVENT_PORT	0x510
#define EVENT_ROUNDS	16
#define RFLAGS_IF	(1ULL << 9)

static volatile uint64_t irqs_taken, irqs_with_if_clear, nmis_taken;

static void if_check_irq_handler(struct ex_regs *regs)
{
	if (!(regs->rflags & RFLAGS_IF))
		irqs_with_if_clear++;
	irqs_taken++;
	apic_write(APIC_EOI, 0);
}

static void if_check_nmi_handler(struct ex_regs *regs)
{
	nmis_taken++;
}

static void guest_nmi_and_irq(void)
{
	uint64_t i;

	guest_apic_enable();
	for (i = 0; i < EVENT_ROUNDS; i++) {
		asm volatile("sti; outb %%al, %%dx; cli"
			     : : "a"(0), "d"(EVENT_PORT) : "memory");
		/* Whatever is still pending arrives here. */
		while (irqs_taken < i + 1 || nmis_taken < i + 1)
			asm volatile("sti; hlt; cli");
	}
	GUEST_SYNC(irqs_with_if_clear);
	GUEST_SYNC(irqs_taken);
	GUEST_SYNC(nmis_taken);
	GUEST_DONE();
}

TEST(nmi_and_irq_at_once)
{
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = IPI_VEC };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_nmi_and_irq, &vcpu);
	struct ucall uc;
	int i;

	vm_install_exception_handler(vm, IPI_VEC, if_check_irq_handler);
	vm_install_exception_handler(vm, 2, if_check_nmi_handler);
	for (i = 0; i < EVENT_ROUNDS; i++) {
		vcpu_run(vcpu);
		ASSERT_EQ(KVM_EXIT_IO, vcpu->run->exit_reason);
		ASSERT_EQ(EVENT_PORT, vcpu->run->io.port);
		ASSERT_EQ(0, ioctl(vcpu->fd, KVM_NMI, 0));
		ASSERT_EQ(1, ioctl(vm->fd, KVM_SIGNAL_MSI, &msi));
	}
	ASSERT_SYNC(vcpu, &uc, 0);		/* none with IF clear */
	ASSERT_SYNC(vcpu, &uc, EVENT_ROUNDS);
	ASSERT_SYNC(vcpu, &uc, EVENT_ROUNDS);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static volatile int run_returned;

/*
 * Kick after 300 ms, then again every 50 ms until KVM_RUN has returned: a
 * signal that lands while the vCPU thread is still on its way into
 * KVM_RUN (a loaded nested bed can stall it that long) runs the handler in
 * user space and would otherwise be lost, leaving the harness to time out.
 */
static void *kick_later(void *arg)
{
	usleep(300 * 1000);
	while (!run_returned) {
		pthread_kill(*(pthread_t *)arg, SIGUSR1);
		usleep(50 * 1000);
	}
	return NULL;
}

static void guest_halt_forever(void)
{
	asm volatile("cli; hlt");
	GUEST_DONE();
}

static void run_until_signal(struct __test_metadata *_metadata,
			     struct kvm_vcpu *vcpu)
{
	struct sigaction sa = { .sa_handler = sigusr1 };
	pthread_t self = pthread_self(), t;
	struct timespec a, b;
	int ret, err;

	sigaction(SIGUSR1, &sa, NULL);
	run_returned = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_EQ(0, pthread_create(&t, NULL, kick_later, &self));
	/* Not _vcpu_run(): it retries after a signal. */
	ret = ioctl(vcpu->fd, KVM_RUN, 0);
	err = errno;
	run_returned = 1;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINTR, err);
	EXPECT_EQ(KVM_EXIT_INTR, vcpu->run->exit_reason);
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* Stopped by the signal, not by anything else. */
	EXPECT_GE((b.tv_sec - a.tv_sec) * 1000 +
		  (b.tv_nsec - a.tv_nsec) / 1000000, 250);
}

TEST(storm_stopped_by_signal)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_storm, &vcpu);

	run_until_signal(_metadata, vcpu);
	kvm_vm_free(vm);
}

/* HLT with interrupts off never wakes by itself; a signal ends it. */
TEST(halt_stopped_by_signal)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_halt_forever, &vcpu);
	struct kvm_mp_state mp;

	run_until_signal(_metadata, vcpu);
	kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_HALTED, mp.mp_state);
	kvm_vm_free(vm);
}

/*
 * KVM_SET_VAPIC_ADDR: the word at the address holds the TPR before every
 * entry, and the TPR the guest stores in its byte 0 is the APIC's after
 * the next exit (QEMU's kvmvapic ROM works this way).
 */
static volatile uint32_t vapic_word;

static void guest_vapic(void)
{
	GUEST_SYNC(vapic_word & 0xff);
	*(volatile uint8_t *)&vapic_word = 0x50;
	GUEST_SYNC(0);
	GUEST_DONE();
}

TEST(vapic_tpr_sync)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_guest(guest_vapic, &vcpu);
	struct kvm_vapic_addr va = { .vapic_addr = (uintptr_t)&vapic_word };
	struct kvm_lapic_state st;
	struct ucall uc;

	kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &st);
	lapic_reg_set(&st, APIC_TASKPRI, 0x30);
	/* KVM writes the word only while the APIC is software-enabled */
	lapic_reg_set(&st, APIC_SPIV, 0x1ff);
	kvm_ioctl(vcpu->fd, KVM_SET_LAPIC, &st);
	kvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR, &va);
	ASSERT_SYNC(vcpu, &uc, 0x30);
	ASSERT_SYNC(vcpu, &uc, 0);
	kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &st);
	EXPECT_EQ(0x50, lapic_reg(&st, APIC_TASKPRI));
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST(vapic_addr_errnos)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, 0);
	struct kvm_vapic_addr va = { .vapic_addr = 0x1000 };

	/* no in-kernel local APIC */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR,
				      (unsigned long)&va));
	kvm_vm_free(vm);

	vm = irqchip_guest(guest_vapic, &vcpu);
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR, 8));
	va.vapic_addr = 1ULL << 40;	/* no slot there */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR,
				      (unsigned long)&va));
	va.vapic_addr = 0;		/* off */
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR,
				(unsigned long)&va));
	kvm_vm_free(vm);
}

/*
 * KVM_CAP_X2APIC_API: 32-bit x2APIC IDs in struct kvm_lapic_state and MSI
 * address_hi, and the xAPIC broadcast quirk for x2APIC targets turned off.
 */
static void guest_nothing(void)
{
	GUEST_DONE();
}

/* vCPU @id in x2APIC mode, software-enabled, by the VMM. */
static struct kvm_vcpu *x2apic_vcpu(struct kvm_vm *vm, uint32_t id)
{
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, id, guest_nothing);
	struct kvm_lapic_state st;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = 0x1b };

	kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &st);
	lapic_reg_set(&st, APIC_SPIV, 0x1ff);
	kvm_ioctl(vcpu->fd, KVM_SET_LAPIC, &st);
	kvm_ioctl(vcpu->fd, KVM_GET_MSRS, &m);
	m.e.data |= 1ULL << 10;				/* EXTD */
	KVM_ASSERT(ioctl(vcpu->fd, KVM_SET_MSRS, &m) == 1, "x2APIC mode");
	return vcpu;
}

static int enable_x2apic_api(struct kvm_vm *vm, uint64_t flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X2APIC_API, .args[0] = flags,
	};

	return ioctl(vm->fd, KVM_ENABLE_CAP, &cap) ? errno : 0;
}

static int signal_msi(struct kvm_vm *vm, uint32_t dest, uint32_t hi)
{
	struct kvm_msi msi = {
		.address_lo = 0xfee00000 | dest << 12,
		.address_hi = hi,
		.data = IPI_VEC,
	};
	int r = ioctl(vm->fd, KVM_SIGNAL_MSI, &msi);

	return r < 0 ? -errno : r;
}

TEST(x2apic_api_state_and_msi)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu;
	struct kvm_lapic_state st;
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e;
	} rt = {
		.hdr.nr = 1,
		.e = { .gsi = 30, .type = KVM_IRQ_ROUTING_MSI,
		       .u.msi = { .address_lo = 0xfee00000,
				  .address_hi = 1, .data = IPI_VEC } },
	};

	vm_create_irqchip(vm);
	EXPECT_EQ(KVM_X2APIC_API_USE_32BIT_IDS |
		  KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
		  ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_X2APIC_API));
	EXPECT_EQ(EINVAL, enable_x2apic_api(vm, 4));
	vcpu = x2apic_vcpu(vm, 1);

	/* the old format: the ID in 31:24; address_hi ignored */
	kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &st);
	EXPECT_EQ(1U << 24, lapic_reg(&st, APIC_ID));
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_GSI_ROUTING,
				(unsigned long)&rt));

	EXPECT_EQ(0, enable_x2apic_api(vm, KVM_X2APIC_API_USE_32BIT_IDS));
	kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &st);
	EXPECT_EQ(1, lapic_reg(&st, APIC_ID));
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_LAPIC, (unsigned long)&st));
	lapic_reg_set(&st, APIC_ID, 1U << 24);		/* not the vCPU id */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_LAPIC,
				      (unsigned long)&st));
	/* address_hi 7:0 must be 0, for a route and for KVM_SIGNAL_MSI */
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_SET_GSI_ROUTING,
				      (unsigned long)&rt));
	EXPECT_EQ(-EINVAL, signal_msi(vm, 1, 1));
	/* address_hi 31:8 are destination bits 31:8: 0x101 is nobody */
	EXPECT_EQ(0, signal_msi(vm, 1, 1 << 8));
	EXPECT_EQ(1, signal_msi(vm, 1, 0));
	kvm_vm_free(vm);
}

TEST(x2apic_api_broadcast_quirk)
{
	struct kvm_vm *vm = vm_create_guest(0);

	vm_create_irqchip(vm);
	x2apic_vcpu(vm, 0);
	/* an 8-bit 0xff from an MSI is a broadcast for x2APIC targets too */
	EXPECT_EQ(1, signal_msi(vm, 0xff, 0));
	EXPECT_EQ(0, enable_x2apic_api(vm,
				       KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK));
	EXPECT_EQ(0, signal_msi(vm, 0xff, 0));		/* APIC ID 255 */
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
