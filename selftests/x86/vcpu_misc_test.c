// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu_misc_test - the remaining vCPU state and run-control ioctls
 * without an in-kernel irqchip (api.rst sections of each name):
 * KVM_GET/SET_MP_STATE, KVM_GET/SET_VCPU_EVENTS, KVM_SET_SIGNAL_MASK and
 * signals during KVM_RUN, kvm_run->immediate_exit, KVM_SET_TSS_ADDR,
 * KVM_SET_IDENTITY_MAP_ADDR, KVM_GET_TSC_KHZ, and KVM_RUN with no memory
 * at all; each with its error paths.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ioctl_checks.h"
#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define NMI_VECTOR	2
#define SHADOW_BOTH	(KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI)

static struct kvm_vcpu *bare_vcpu(struct kvm_vm **vm)
{
	*vm = vm_create_bare();
	return vm_vcpu_add_bare(*vm, 0);
}

static uint64_t vcpu_rip(struct kvm_vcpu *vcpu)
{
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	return regs.rip;
}

/* --- KVM_GET/SET_MP_STATE ----------------------------------------------- */

static long set_mp_state(struct kvm_vcpu *vcpu, uint32_t state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	return okvm_ioctl(vcpu->fd, KVM_SET_MP_STATE, (uintptr_t)&mp);
}

/*
 * Without an in-kernel LAPIC every vCPU is RUNNABLE and only RUNNABLE
 * may be set: the other states belong to the LAPIC's INIT/SIPI and HLT
 * handling (api.rst "KVM_SET_MP_STATE").
 */
TEST(mp_state_without_irqchip)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_mp_state mp = { .mp_state = 0xff };
	uint32_t s;

	kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);
	EXPECT_EQ(0, set_mp_state(vcpu, KVM_MP_STATE_RUNNABLE));
	for (s = KVM_MP_STATE_UNINITIALIZED; s <= KVM_MP_STATE_AP_RESET_HOLD;
	     s++)
		EXPECT_EQ(-EINVAL, set_mp_state(vcpu, s)) TH_LOG("state %u", s);
	EXPECT_EQ(-EINVAL, set_mp_state(vcpu, 100));
	kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);

	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_MP_STATE, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd,
				      ioc_resize(KVM_GET_MP_STATE, 8),
				      (uintptr_t)&mp));
	kvm_vm_free(vm);
}

static void guest_hlt(void)
{
	asm volatile("hlt");
	GUEST_DONE();
}

/* HLT exits to userspace (KVM_EXIT_HLT); the vCPU stays RUNNABLE. */
TEST(mp_state_after_hlt)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_hlt);
	struct kvm_mp_state mp;
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* --- KVM_GET/SET_VCPU_EVENTS -------------------------------------------- */

/*
 * Reset: nothing pending, nothing injected; flags say which optional
 * parts are valid (KVM's answer: NMI_PENDING, SHADOW and SMM).
 */
TEST(vcpu_events_reset)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_vcpu_events ev;

	memset(&ev, 0xaa, sizeof(ev));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		  KVM_VCPUEVENT_VALID_SMM, ev.flags);
	EXPECT_EQ(0, ev.exception.injected);
	EXPECT_EQ(0, ev.exception.nr);
	EXPECT_EQ(0, ev.interrupt.injected);
	EXPECT_EQ(0, ev.interrupt.shadow);
	EXPECT_EQ(0, ev.nmi.injected);
	EXPECT_EQ(0, ev.nmi.pending);
	EXPECT_EQ(0, ev.nmi.masked);
	EXPECT_EQ(0, ev.sipi_vector);
	EXPECT_EQ(0, ev.smi.smm);
	kvm_vm_free(vm);
}

static long set_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	return okvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, (uintptr_t)ev);
}

/* The interrupt shadow KVM_GET_VCPU_EVENTS reports after setting @set. */
static uint8_t shadow_as_read(uint8_t set)
{
	return okvm_host_is_intel() ? set : SHADOW_BOTH;
}

TEST(vcpu_events_round_trip)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_vcpu_events ev, got;

	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	ev.nmi.pending = 1;
	ev.nmi.masked = 1;
	ev.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &got);
	EXPECT_EQ(1, got.nmi.pending);
	EXPECT_EQ(1, got.nmi.masked);
	/*
	 * KVM's answer: SVM has one interrupt-shadow bit (VMCB
	 * INTERRUPT_SHADOW, APM 15.21.5), which kvm-amd reports as both
	 * kinds of shadow at once, whichever was set; VMX keeps STI and
	 * MOV SS blocking apart (SDM 25.4.2), and so does kvm-intel.
	 */
	EXPECT_EQ(shadow_as_read(KVM_X86_SHADOW_INT_MOV_SS),
		  got.interrupt.shadow);
	ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &got);
	EXPECT_EQ(shadow_as_read(KVM_X86_SHADOW_INT_STI), got.interrupt.shadow);

	/* Without their VALID flag, nmi.pending and the shadow are kept. */
	memset(&ev, 0, sizeof(ev));
	ev.nmi.masked = 0;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &got);
	EXPECT_EQ(1, got.nmi.pending);
	EXPECT_EQ(0, got.nmi.masked);
	EXPECT_EQ(shadow_as_read(KVM_X86_SHADOW_INT_STI), got.interrupt.shadow);

	/* With the flag and 0: no shadow. */
	ev.flags = KVM_VCPUEVENT_VALID_SHADOW;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &got);
	EXPECT_EQ(0, got.interrupt.shadow);

	/* An injected exception with its error code reads back. */
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = 13;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0x18;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &got);
	EXPECT_EQ(1, got.exception.injected);
	EXPECT_EQ(13, got.exception.nr);
	EXPECT_EQ(1, got.exception.has_error_code);
	EXPECT_EQ(0x18, got.exception.error_code);
	kvm_vm_free(vm);
}

TEST(vcpu_events_refusals)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_vcpu_events ev;

	/* An unknown flag. */
	memset(&ev, 0, sizeof(ev));
	ev.flags = 1U << 30;
	EXPECT_EQ(-EINVAL, set_events(vcpu, &ev));
	/* Payloads and triple faults need their capability enabled first. */
	ev.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	EXPECT_EQ(-EINVAL, set_events(vcpu, &ev));
#ifdef KVM_VCPUEVENT_VALID_TRIPLE_FAULT
	ev.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	EXPECT_EQ(-EINVAL, set_events(vcpu, &ev));
#endif
	/* Exceptions are vectors 0-31, and NMI is not one of them. */
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = 32;
	EXPECT_EQ(-EINVAL, set_events(vcpu, &ev));
	ev.exception.nr = NMI_VECTOR;
	EXPECT_EQ(-EINVAL, set_events(vcpu, &ev));

	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, 0));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd,
				      ioc_resize(KVM_GET_VCPU_EVENTS, 16),
				      (uintptr_t)&ev));
	EXPECT_EQ(-ENOTTY, okvm_ioctl(vm->fd, KVM_GET_VCPU_EVENTS,
				      (uintptr_t)&ev));
	kvm_vm_free(vm);
}

static uint64_t vectors_seen[32];

static void count_vector(struct ex_regs *regs)
{
	vectors_seen[regs->vector]++;
}

static void guest_report_vectors(void)
{
	GUEST_SYNC_ARGS(1, vectors_seen[UD_VECTOR], vectors_seen[NMI_VECTOR],
			vectors_seen[GP_VECTOR]);
	GUEST_DONE();
}

/*
 * What KVM_SET_VCPU_EVENTS injects is delivered through the guest's IDT
 * before its first instruction: an exception, then a pending NMI.
 */
/* The count of vector 31 deliveries, reported with a sync. */
static void guest_report_vector31(void)
{
	GUEST_SYNC_ARGS(1, vectors_seen[31], 0, 0);
	GUEST_DONE();
}

/*
 * api.rst "KVM_INTERRUPT" without an in-kernel irqchip: the vector is
 * queued and delivered through the guest's IDT at the next entry (here
 * vector 31, whose IDT entry the library fills and which, unlike 30,
 * pushes no error code); a vector above 255 is EINVAL. A second one while
 * the first is queued: 6.1's KVM accepts it, okvm says EEXIST (api.rst);
 * either way one interrupt is delivered. On VMX the guest starts with
 * RFLAGS.IF set: VM entry refuses to inject an interrupt the guest blocks
 * (SDM 27.3.1.5), which SVM does not check.
 */
TEST(kvm_interrupt_is_delivered)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_report_vector31);
	struct kvm_interrupt irq = { .irq = 256 };
	struct ucall uc;
	long ret;

	vm_install_exception_handler(vm, 31, count_vector);
	if (okvm_host_is_intel())
		vcpu_set_rflags_if(vcpu);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_INTERRUPT,
				      (uintptr_t)&irq));
	irq.irq = 31;
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_INTERRUPT, (uintptr_t)&irq));
	ret = okvm_ioctl(vcpu->fd, KVM_INTERRUPT, (uintptr_t)&irq);
	EXPECT_EQ(okvm_dev_is_okvm() ? -EEXIST : 0, ret);
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_INTERRUPT, 0));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(1, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	/* Delivered: the next one is accepted again. */
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_INTERRUPT, (uintptr_t)&irq));
	kvm_vm_free(vm);
}

TEST(vcpu_events_are_delivered)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_report_vectors);
	struct kvm_vcpu_events ev;
	struct ucall uc;

	vm_install_exception_handler(vm, UD_VECTOR, count_vector);
	vm_install_exception_handler(vm, NMI_VECTOR, count_vector);
	vm_install_exception_handler(vm, GP_VECTOR, count_vector);
	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	ev.exception.injected = 1;
	ev.exception.nr = UD_VECTOR;
	ev.nmi.pending = 1;
	ASSERT_EQ(0, set_events(vcpu, &ev));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(1, uc.args[1]);	/* #UD */
	EXPECT_EQ(1, uc.args[2]);	/* NMI */
	EXPECT_EQ(0, uc.args[3]);
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(0, ev.exception.injected);
	EXPECT_EQ(0, ev.nmi.pending);
	/* IRETQ from the NMI handler unmasked NMIs (APM 8.2.3). */
	EXPECT_EQ(0, ev.nmi.masked);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* --- KVM_SET_SIGNAL_MASK and signals during KVM_RUN ---------------------- */

/* The kernel's sigset_t: 64 bits on x86-64, one per signal (bit sig-1). */
struct kvm_sigmask8 {
	uint32_t len;
	uint64_t set;
} __attribute__((packed));

static long set_kvm_sigmask(struct kvm_vcpu *vcpu, uint32_t len,
			    uint64_t set)
{
	struct kvm_sigmask8 m = { .len = len, .set = set };

	return okvm_ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, (uintptr_t)&m);
}

/* api.rst "KVM_SET_SIGNAL_MASK": len must be the kernel's sigset size. */
TEST(signal_mask_arguments)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_signal_mask *edge;

	EXPECT_EQ(0, set_kvm_sigmask(vcpu, 8, 0));
	EXPECT_EQ(-EINVAL, set_kvm_sigmask(vcpu, 4, 0));
	EXPECT_EQ(-EINVAL, set_kvm_sigmask(vcpu, 16, 0));
	/* glibc's sigset_t is 128 bytes: not the kernel's. */
	EXPECT_EQ(-EINVAL, set_kvm_sigmask(vcpu, sizeof(sigset_t), 0));
	EXPECT_EQ(-EINVAL, set_kvm_sigmask(vcpu, 0, 0));
	/* NULL: no mask of KVM's own, the thread's mask applies. */
	EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, 0));
	/* The header readable, the set not. */
	edge = straddling_buffer(sizeof(*edge), 0);
	ASSERT_NE(NULL, edge);
	edge->len = 8;
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK,
				      (uintptr_t)edge));
	edge = straddling_buffer(sizeof(*edge), sizeof(*edge));
	ASSERT_NE(NULL, edge);
	EXPECT_EQ(-EFAULT, okvm_ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK,
				      (uintptr_t)edge));
	kvm_vm_free(vm);
}

static void guest_spin(void)
{
	GUEST_SYNC(1);
	guest_open_interrupts();
	for (;;)
		asm volatile("pause");
}

static void block_signal(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Consume a pending sig without delivering it: 0 if it was pending. */
static int take_pending(int sig)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return sigtimedwait(&set, NULL, &zero) == sig ? 0 : -1;
}

static void no_op(int sig)
{
}

/*
 * A signal the thread blocks but KVM's mask lets through, pending when
 * KVM_RUN starts: KVM_RUN returns EINTR with KVM_EXIT_INTR before the
 * guest runs, and the signal is still pending once the thread's mask is
 * back. With KVM's mask blocking it too, the guest runs.
 */
TEST(pending_signal_interrupts_run)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_spin);
	uint64_t rip = vcpu_rip(vcpu);
	struct ucall uc;

	signal(SIGUSR1, no_op);
	block_signal(SIGUSR1);
	ASSERT_EQ(0, set_kvm_sigmask(vcpu, 8, 1ULL << (SIGUSR2 - 1)));
	pthread_kill(pthread_self(), SIGUSR1);
	vcpu->run->exit_reason = KVM_EXIT_UNKNOWN;
	EXPECT_EQ(-EINTR, okvm_ioctl(vcpu->fd, KVM_RUN, 0));
	EXPECT_EQ(KVM_EXIT_INTR, vcpu->run->exit_reason);
	EXPECT_EQ(rip, vcpu_rip(vcpu));
	EXPECT_EQ(0, take_pending(SIGUSR1));

	ASSERT_EQ(0, set_kvm_sigmask(vcpu, 8, 1ULL << (SIGUSR1 - 1)));
	pthread_kill(pthread_self(), SIGUSR1);
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ(0, take_pending(SIGUSR1));
	kvm_vm_free(vm);
}

/*
 * A signal that arrives while the guest spins: KVM_RUN leaves the guest
 * with EINTR and KVM_EXIT_INTR (api.rst "KVM_RUN", KVM_EXIT_INTR).
 */
TEST(timer_signal_interrupts_spinning_guest)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_spin);
	struct itimerval it = { .it_value.tv_usec = 50000 };
	struct ucall uc;

	signal(SIGALRM, no_op);
	block_signal(SIGALRM);
	ASSERT_EQ(0, set_kvm_sigmask(vcpu, 8, 0));
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(-EINTR, okvm_ioctl(vcpu->fd, KVM_RUN, 0));
	EXPECT_EQ(KVM_EXIT_INTR, vcpu->run->exit_reason);
	EXPECT_EQ(0, take_pending(SIGALRM));
	kvm_vm_free(vm);
}

/* --- immediate_exit, KVM_RUN's argument --------------------------------- */

/*
 * api.rst "immediate_exit": KVM_RUN returns EINTR at once, the guest
 * does not run. KVM's answer: exit_reason is left as it was.
 */
TEST(immediate_exit)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_spin);
	uint64_t rip = vcpu_rip(vcpu);
	struct ucall uc;

	vcpu->run->immediate_exit = 1;
	vcpu->run->exit_reason = 0x5a5a;
	EXPECT_EQ(-EINTR, okvm_ioctl(vcpu->fd, KVM_RUN, 0));
	EXPECT_EQ(0x5a5a, vcpu->run->exit_reason);
	EXPECT_EQ(rip, vcpu_rip(vcpu));
	EXPECT_EQ(-EINTR, okvm_ioctl(vcpu->fd, KVM_RUN, 0));
	vcpu->run->immediate_exit = 0;
	ASSERT_SYNC(vcpu, &uc, 1);
	kvm_vm_free(vm);
}

/* KVM_RUN takes no argument: a non-zero one is EINVAL. */
TEST(run_argument_must_be_zero)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_spin);

	EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_RUN, 1));
	kvm_vm_free(vm);
}

/*
 * A vCPU in a VM that never had a memory slot. KVM's answer depends on
 * the kernel: 6.1 fails KVM_RUN with ENOSPC before the guest runs (it
 * sizes its page-table page budget from the memory slots, and with none
 * has no page for the vCPU's root table; exit_reason is left as it was);
 * 6.12 runs it, faults on the fetch at 0xfffffff0 and, unable to emulate
 * an instruction it cannot read, exits with KVM_EXIT_INTERNAL_ERROR,
 * suberror KVM_INTERNAL_ERROR_EMULATION. Either is accepted, nothing
 * else; a second KVM_RUN answers the same.
 */
TEST(run_without_memory)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	long r, r2;

	vcpu->run->exit_reason = 0x5a5a;
	r = okvm_ioctl(vcpu->fd, KVM_RUN, 0);
	TH_LOG("KVM_RUN: %ld, %s, suberror %u", r,
	       exit_reason_str(vcpu->run->exit_reason),
	       vcpu->run->internal.suberror);
	if (r == -ENOSPC) {
		EXPECT_EQ(0x5a5a, vcpu->run->exit_reason);
	} else {
		EXPECT_EQ(0, r);
		ASSERT_EXIT(vcpu, KVM_EXIT_INTERNAL_ERROR);
		EXPECT_EQ(KVM_INTERNAL_ERROR_EMULATION,
			  vcpu->run->internal.suberror);
	}
	r2 = okvm_ioctl(vcpu->fd, KVM_RUN, 0);
	EXPECT_EQ(r, r2);
	kvm_vm_free(vm);
}

/* --- KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR, KVM_GET_TSC_KHZ -------- */

/*
 * api.rst "KVM_SET_TSS_ADDR": the address (the argument itself) of three
 * pages below 4 GiB that VMX's real-mode emulation uses; AMD has no use
 * for them. KVM checks the range before asking the vendor code: above
 * 4 GiB - 3 pages is EINVAL. KVM's answer on AMD: any time, repeatedly.
 */
TEST(set_tss_addr)
{
	struct kvm_vm *vm = vm_create_bare();

	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000));
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000));
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffff000 - 0x2000));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_SET_TSS_ADDR,
				      0xfffff000 - 0x1000));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_SET_TSS_ADDR,
				      0x100000000ULL));
	vm_vcpu_add_bare(vm, 0);
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000));
	kvm_vm_free(vm);
}

/*
 * api.rst "KVM_SET_IDENTITY_MAP_ADDR": a pointer to the u64 address;
 * only before the first vCPU (after: EINVAL, checked before the pointer
 * is read, so even NULL is EINVAL then).
 */
TEST(set_identity_map_addr)
{
	struct kvm_vm *vm = vm_create_bare();
	uint64_t addr = 0xfeffc000;

	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR,
				(uintptr_t)&addr));
	addr = 0xfffbc000;
	EXPECT_EQ(0, okvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR,
				(uintptr_t)&addr));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, 0));
	vm_vcpu_add_bare(vm, 0);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR,
				      (uintptr_t)&addr));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, 0));
	kvm_vm_free(vm);
}

/*
 * api.rst "KVM_GET_TSC_KHZ": the vCPU's TSC rate, as the return value.
 * KVM's answer: the VM fd answers it too (the VM's default rate,
 * KVM_CAP_VM_TSC_CONTROL), with the same value for a new vCPU.
 */
TEST(get_tsc_khz)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	long khz = okvm_ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	long ctl = okvm_ioctl(vm->dev_fd, KVM_CHECK_EXTENSION,
			      KVM_CAP_TSC_CONTROL);

	TH_LOG("TSC %ld kHz, KVM_CAP_TSC_CONTROL %ld", khz, ctl);
	EXPECT_LT(0, khz);
	EXPECT_EQ(khz, okvm_ioctl(vm->fd, KVM_GET_TSC_KHZ, 0));

	/*
	 * api.rst "KVM_SET_TSC_KHZ" without TSC scaling (no
	 * KVM_CAP_TSC_CONTROL, as under QEMU's SVM): the host's rate and 0
	 * (the default) are fine, a slower one is EINVAL. KVM's answer:
	 * a faster one is accepted and reported (KVM then catches the
	 * guest's TSC up in software).
	 */
	if (ctl <= 0) {
		EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_TSC_KHZ, khz));
		EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_TSC_KHZ, 0));
		EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd, KVM_SET_TSC_KHZ,
					      khz / 2));
		/*
		 * okvm has no software catch-up, so it refuses a rate it
		 * cannot give (a documented difference, api.rst).
		 */
		if (okvm_dev_is_okvm()) {
			EXPECT_EQ(-EINVAL, okvm_ioctl(vcpu->fd,
						      KVM_SET_TSC_KHZ,
						      khz * 2));
			EXPECT_EQ(khz, okvm_ioctl(vcpu->fd,
						  KVM_GET_TSC_KHZ, 0));
		} else {
			EXPECT_EQ(0, okvm_ioctl(vcpu->fd, KVM_SET_TSC_KHZ,
						khz * 2));
			EXPECT_EQ(khz * 2, okvm_ioctl(vcpu->fd,
						      KVM_GET_TSC_KHZ, 0));
		}
	}
	kvm_vm_free(vm);
}

/* --- closed fds ----------------------------------------------------------- */

TEST(closed_vcpu_fd)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu = bare_vcpu(&vm);
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	int fd = dup(vcpu->fd);

	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_GET_MP_STATE, (uintptr_t)&mp));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_SET_MP_STATE, (uintptr_t)&mp));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_GET_VCPU_EVENTS,
				     (uintptr_t)&ev));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_SET_VCPU_EVENTS,
				     (uintptr_t)&ev));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_SET_SIGNAL_MASK, 0));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_GET_TSC_KHZ, 0));
	EXPECT_EQ(-EBADF, okvm_ioctl(fd, KVM_RUN, 0));
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
