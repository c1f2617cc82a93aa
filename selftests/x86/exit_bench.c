// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit_bench - what a guest exit costs: round trips per second through the
 * hypervisor, measured the same way on okvm and on in-tree KVM so that
 * scripts/bench can print their ratio. A benchmark, never a pass/fail test:
 * its numbers mean something only next to the other hypervisor's from the
 * same boot (Documentation/testing.rst, "Benchmarks").
 *
 *   out_roundtrip   guest OUT to a port nobody claims -> KVM_EXIT_IO ->
 *                   KVM_RUN again; one op is one exit to userspace
 *   cpuid_inkernel  guest CPUID, answered inside the kernel; one op is one
 *                   CPUID (the guest syncs with the host every CPUID_CHUNK)
 *   mmio_roundtrip  guest write to a GPA no slot backs -> KVM_EXIT_MMIO ->
 *                   KVM_RUN again
 *   first_touch     guest writes one byte to each 4 KiB page of a fresh
 *                   slot; one op is one page seen for the first time
 *                   (a nested page fault and a host page allocation)
 *   hlt_roundtrip   guest HLT without an in-kernel irqchip -> KVM_EXIT_HLT
 *                   -> KVM_RUN again
 *   ioeventfd_pio   the OUT of out_roundtrip with an ioeventfd on its port:
 *                   signalled in the kernel, no exit; one op is one OUT
 *                   (the guest syncs with the host every CPUID_CHUNK)
 *   ioeventfd_mmio  the write of mmio_roundtrip with an ioeventfd on it
 *
 * The interrupt paths, with KVM's in-kernel irqchip (issue 10, item 10):
 *
 *   ipi_roundtrip   vCPU 0 sends a fixed IPI to vCPU 1 and halts; vCPU 1's
 *                   handler answers with an IPI back; one op is one
 *                   round trip (two IPIs, two HLT wake-ups)
 *   irqfd_to_handler  a host thread writes an eventfd that KVM_IRQFD
 *                   routes as an MSI to the halted guest and spins until
 *                   the guest's handler has counted it; one op is one
 *                   write to handler
 *   hlt_timer_wakeup  the guest arms a TSC-deadline timer 20 us ahead and
 *                   halts; ns_per_op is the mean time from the deadline to
 *                   the handler's RDTSC (the wake-up latency alone,
 *                   converted with KVM_GET_TSC_KHZ), mean_ns_per_op the
 *                   whole op with the 20 us in it
 *
 * Each case runs in a child process of its own, so that a hypervisor that
 * cannot run it (a failed ioctl ends the child through kvm_die()) costs that
 * case only; the parent prints one line per case on stdout:
 *
 *   bench: <case> ns_per_op=<n> mean_ns_per_op=<n> ops=<n> ops_per_sec=<n> secs=<s.sss>
 *   bench: <case> failed: <reason>
 *
 * and exits 1 if any case failed. Time is taken on the host with
 * CLOCK_MONOTONIC around the KVM_RUN loops, after a warm-up that makes the
 * guest touch its code, stack and data pages (and the hypervisor fill its
 * caches) before the clock starts. ns_per_op (and ops_per_sec) are those of
 * the fastest tenth of the run (struct bench_clock), mean_ns_per_op that of
 * the whole run, ops and secs the whole run's.
 *
 * usage: exit_bench [-t MS] [-m MIB] [CASE...]
 *   -t MS    time each case for about MS milliseconds (default 2000)
 *   -m MIB   size of the first_touch slot (default 256); the case ends
 *            early when every page of it has been touched
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

/* A port nobody emulates in the kernel (no irqchip, no PIT created). */
#define BENCH_PORT		0x80
/* 3 GiB: inside the guest's 1:1 map, outside every slot. */
#define MMIO_GPA		0xc0000000ULL
/* 1 GiB: above slot 0 (DEFAULT_GUEST_MEM_SIZE), inside the 1:1 map. */
#define TOUCH_GPA		0x40000000ULL
#define TOUCH_SLOT		1

/* Exits per clock reading: reading the clock must not be what we time. */
#define EXIT_BATCH		64
/* Exit round trips before the clock starts. */
#define EXIT_WARMUP		256
/*
 * CPUIDs between two syncs with the host: the sync is one exit, so it
 * adds well under 1% to the time of a chunk of in-kernel exits.
 */
#define CPUID_CHUNK		1000
/* Pages touched between syncs; the first chunk is the warm-up. */
#define TOUCH_CHUNK		512

static unsigned int target_ms = 2000;
static unsigned int touch_mib = 256;

/*
 * The clock of one case: the whole run, and the best of its windows of a
 * WINDOWS-th of the time each. The build machines are shared: another
 * process taking the emulator's core slows some windows down but never
 * speeds one up, so the best window is the steadier figure of the two.
 */
#define WINDOWS			10

struct bench_clock {
	uint64_t start, deadline, now;
	uint64_t ops;
	uint64_t window_start, window_ns, window_ops;
	uint64_t best_ns, best_ops;	/* the best full window, if any */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void clock_start(struct bench_clock *c)
{
	memset(c, 0, sizeof(*c));
	c->start = now_ns();
	c->now = c->start;
	c->window_start = c->start;
	c->deadline = c->start + target_ms * 1000000ULL;
	c->window_ns = target_ms * 1000000ULL / WINDOWS;
}

/* ops more done; false once the time is up. */
static bool clock_tick(struct bench_clock *c, uint64_t ops)
{
	uint64_t ns;

	c->now = now_ns();
	c->ops += ops;
	c->window_ops += ops;
	ns = c->now - c->window_start;
	if (ns >= c->window_ns) {
		/* ns / ops < best_ns / best_ops, without the division */
		if (!c->best_ops || ns * c->best_ops < c->best_ns * c->window_ops) {
			c->best_ns = ns;
			c->best_ops = c->window_ops;
		}
		c->window_start = c->now;
		c->window_ops = 0;
	}
	return c->now < c->deadline;
}

/* --- guest code ------------------------------------------------------- */

static void guest_out_loop(void)
{
	for (;;)
		asm volatile("outb %%al, %0" : : "i"(BENCH_PORT), "a"(0));
}

static void guest_mmio_loop(void)
{
	volatile uint32_t *p = (volatile uint32_t *)MMIO_GPA;

	for (;;)
		*p = 0;
}

static void guest_hlt_loop(void)
{
	for (;;)
		asm volatile("hlt");
}

static void guest_cpuid_loop(void)
{
	uint32_t a, b, c, d;
	int i;

	for (;;) {
		for (i = 0; i < CPUID_CHUNK; i++)
			asm volatile("cpuid"
				     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				     : "a"(0), "c"(0));
		GUEST_SYNC(CPUID_CHUNK);
	}
}

/* The doorbell writes of the ioeventfd cases, a sync every chunk. */
static void guest_doorbell_loop(uint64_t mmio)
{
	volatile uint32_t *p = (volatile uint32_t *)MMIO_GPA;
	int i;

	for (;;) {
		if (mmio)
			for (i = 0; i < CPUID_CHUNK; i++)
				*p = 0;
		else
			for (i = 0; i < CPUID_CHUNK; i++)
				asm volatile("outb %%al, %0"
					     : : "i"(BENCH_PORT), "a"(0));
		GUEST_SYNC(CPUID_CHUNK);
	}
}

/* One byte per page of [base, base + pages * 4 KiB), a sync every chunk. */
static void guest_touch(uint64_t base, uint64_t pages)
{
	uint64_t p = 0, end;

	while (p < pages) {
		end = p + TOUCH_CHUNK < pages ? p + TOUCH_CHUNK : pages;
		for (; p < end; p++)
			*(volatile uint8_t *)(base + p * GUEST_PAGE_SIZE) = 1;
		GUEST_SYNC(p);
	}
	GUEST_DONE();
}

/* --- guest code: the interrupt paths ---------------------------------- */

#define APIC_BASE		0xfee00000UL
#define APIC_ID			0x20
#define APIC_EOI		0xb0
#define APIC_SPIV		0xf0
#define APIC_ICR		0x300
#define APIC_ICR2		0x310
#define APIC_LVTT		0x320
#define TIMER_TSC_DEADLINE	(2U << 17)
#define MSR_TSC_DEADLINE	0x6e0
#define PING_VEC		0x40
#define PONG_VEC		0x41
#define IRQFD_VEC		0x42
#define TIMER_VEC		0x43
#define IRQ_CHUNK		100
#define IRQFD_GSI		24
#define WAKEUP_DELAY_US		20

/*
 * Shared between the guest and the host, which reaches them through
 * addr_gpa2hva(): the guest image is loaded at its link address.
 */
static volatile uint64_t pongs, irqfd_irqs, timer_fired, wake_tsc;
static volatile uint64_t stop_guest, stop_ponger, ponger_ready;

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

static void send_ipi(uint32_t apic_id, uint32_t vec)
{
	apic_write(APIC_ICR2, apic_id << 24);
	apic_write(APIC_ICR, vec);
}

static void ping_handler(struct ex_regs *regs)
{
	apic_write(APIC_EOI, 0);
	send_ipi(0, PONG_VEC);
}

static void pong_handler(struct ex_regs *regs)
{
	pongs++;
	apic_write(APIC_EOI, 0);
}

static void irqfd_handler(struct ex_regs *regs)
{
	irqfd_irqs++;
	apic_write(APIC_EOI, 0);
}

static void timer_handler(struct ex_regs *regs)
{
	wake_tsc = guest_rdtsc();
	timer_fired = 1;
	apic_write(APIC_EOI, 0);
}

/* vCPU 1: halt; the handler answers each ping. */
static void guest_ponger(void)
{
	apic_write(APIC_SPIV, 0x1ff);
	ponger_ready = 1;
	while (!stop_ponger)
		asm volatile("sti; hlt; cli");
	GUEST_DONE();
}

/* vCPU 0: ping, halt until the pong, a sync every IRQ_CHUNK. */
static void guest_pinger(void)
{
	uint64_t n = 0, last;

	apic_write(APIC_SPIV, 0x1ff);
	/* a software-disabled APIC drops fixed IPIs (SDM Vol. 3 10.4.7.2) */
	while (!ponger_ready)
		asm volatile("pause");
	for (;;) {
		if (stop_guest)
			stop_ponger = 1;
		last = pongs;
		send_ipi(1, PING_VEC);
		while (pongs == last)
			asm volatile("sti; hlt; cli");
		if (stop_ponger)
			break;
		if (++n % IRQ_CHUNK == 0)
			GUEST_SYNC(IRQ_CHUNK);
	}
	GUEST_DONE();
}

/* Halt until the host says stop; irqfd_handler counts the interrupts. */
static void guest_halt_for_irqs(void)
{
	apic_write(APIC_SPIV, 0x1ff);
	GUEST_SYNC(0);
	while (!stop_guest)
		asm volatile("sti; hlt; cli");
	GUEST_DONE();
}

/* Arm the deadline, halt until the handler ran; sums the latency. */
static void guest_timer_wakeups(uint64_t delay_tsc)
{
	uint64_t deadline, late = 0;
	int i;

	apic_write(APIC_SPIV, 0x1ff);
	apic_write(APIC_LVTT, TIMER_VEC | TIMER_TSC_DEADLINE);
	for (;;) {
		for (i = 0; i < IRQ_CHUNK; i++) {
			timer_fired = 0;
			deadline = guest_rdtsc() + delay_tsc;
			asm volatile("wrmsr" : : "c"(MSR_TSC_DEADLINE),
				     "a"((uint32_t)deadline),
				     "d"((uint32_t)(deadline >> 32)));
			while (!timer_fired)
				asm volatile("sti; hlt; cli");
			late += wake_tsc - deadline;
		}
		GUEST_SYNC_ARGS(IRQ_CHUNK, late);
	}
}

/* --- host side -------------------------------------------------------- */

/* KVM_RUN once; the exit must be the one each op of the case makes. */
static void run_expect(struct kvm_vcpu *vcpu, uint32_t reason)
{
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	vcpu_run(vcpu);
	if (run->exit_reason == reason)
		return;
	if (get_ucall(vcpu, &uc) != UCALL_NONE)
		kvm_die("expected %s, got %s", exit_reason_str(reason),
			ucall_str(&uc));
	errno = 0;
	kvm_die("expected %s, got %s", exit_reason_str(reason),
		vcpu_exit_str(vcpu));
}

/* The guest's next ucall must be a SYNC; returns its argument. */
static uint64_t run_to_sync(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	if (vcpu_run_ucall(vcpu, &uc) != UCALL_SYNC) {
		errno = 0;
		kvm_die("guest: %s", ucall_str(&uc));
	}
	return uc.args[0];
}

/*
 * The exit cases: the guest loops on one exiting instruction forever; the
 * host counts exits until the time is up, checking each one (cheaply: the
 * reason only, the details once).
 */
static void bench_exit_loop(struct bench_clock *c, void *guest_code,
			    uint32_t reason)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_code);
	int i;

	for (i = 0; i < EXIT_WARMUP; i++)
		run_expect(vcpu, reason);
	/* The first exit showed the right kind; now check where it went. */
	errno = 0;
	if (reason == KVM_EXIT_IO)
		KVM_ASSERT(vcpu->run->io.port == BENCH_PORT &&
			   vcpu->run->io.direction == KVM_EXIT_IO_OUT,
			   "%s", vcpu_exit_str(vcpu));
	if (reason == KVM_EXIT_MMIO)
		KVM_ASSERT(vcpu->run->mmio.phys_addr == MMIO_GPA &&
			   vcpu->run->mmio.is_write,
			   "%s", vcpu_exit_str(vcpu));

	clock_start(c);
	do {
		for (i = 0; i < EXIT_BATCH; i++)
			run_expect(vcpu, reason);
	} while (clock_tick(c, EXIT_BATCH));
	kvm_vm_free(vm);
}

static void bench_out(struct bench_clock *c)
{
	bench_exit_loop(c, guest_out_loop, KVM_EXIT_IO);
}

static void bench_mmio(struct bench_clock *c)
{
	bench_exit_loop(c, guest_mmio_loop, KVM_EXIT_MMIO);
}

static void bench_hlt(struct bench_clock *c)
{
	bench_exit_loop(c, guest_hlt_loop, KVM_EXIT_HLT);
}

static void bench_cpuid(struct bench_clock *c)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_cpuid_loop);

	/*
	 * One chunk untimed: it brings the guest's loop, stack and ucall
	 * code into the nested page tables and the emulator's code cache.
	 */
	run_to_sync(vcpu);
	clock_start(c);
	while (clock_tick(c, run_to_sync(vcpu)))
		;
	kvm_vm_free(vm);
}

/*
 * The writes of out_roundtrip and mmio_roundtrip, each taken by an
 * ioeventfd in the kernel: their cost next to those cases' is what an
 * ioeventfd saves a device model.
 */
static void bench_doorbell(struct bench_clock *c, bool mmio)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_doorbell_loop);
	struct kvm_ioeventfd io = {
		.addr = mmio ? MMIO_GPA : BENCH_PORT,
		.len = mmio ? 4 : 1,
		.flags = mmio ? 0 : KVM_IOEVENTFD_FLAG_PIO,
		.fd = eventfd(0, EFD_NONBLOCK),
	};
	uint64_t count = 0;

	kvm_ioctl(vm->fd, KVM_IOEVENTFD, &io);
	vcpu_args_set(vcpu, 1, (uint64_t)mmio);
	run_to_sync(vcpu);
	clock_start(c);
	while (clock_tick(c, run_to_sync(vcpu)))
		;
	/* Every doorbell reached the eventfd, none exited. */
	errno = 0;
	KVM_ASSERT(read(io.fd, &count, 8) == 8 && count == c->ops + CPUID_CHUNK,
		   "eventfd count %llu for %llu writes",
		   (unsigned long long)count,
		   (unsigned long long)(c->ops + CPUID_CHUNK));
	close(io.fd);
	kvm_vm_free(vm);
}

static void bench_ioeventfd_pio(struct bench_clock *c)
{
	bench_doorbell(c, false);
}

static void bench_ioeventfd_mmio(struct bench_clock *c)
{
	bench_doorbell(c, true);
}

static void bench_first_touch(struct bench_clock *c)
{
	uint64_t size = (uint64_t)touch_mib << 20;
	uint64_t pages = size / GUEST_PAGE_SIZE;
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_touch);
	uint64_t done;
	struct ucall uc;
	void *hva;

	errno = 0;
	KVM_ASSERT(pages > TOUCH_CHUNK, "-m %u: too small for a warm-up",
		   touch_mib);
	KVM_ASSERT(TOUCH_GPA + size <= MMIO_GPA,
		   "-m %u: the slot would reach the MMIO page", touch_mib);
	hva = vm_add_mem_slot(vm, TOUCH_SLOT, TOUCH_GPA, size, 0);
	/*
	 * 4 KiB pages in the host too: with transparent huge pages one
	 * fault would map 512 pages, and this would time the allocator's
	 * huge page zeroing rather than the hypervisor's fault path.
	 */
	if (madvise(hva, size, MADV_NOHUGEPAGE))
		kvm_die("madvise(MADV_NOHUGEPAGE) of the first_touch slot");
	vcpu_args_set(vcpu, 2, TOUCH_GPA, pages);

	/* The first chunk warms up the guest code and the fault path. */
	done = run_to_sync(vcpu);
	clock_start(c);
	for (;;) {
		if (vcpu_run_ucall(vcpu, &uc) == UCALL_DONE) {
			/* Every page touched before the time was up. */
			clock_tick(c, 0);
			break;
		}
		if (uc.cmd != UCALL_SYNC) {
			errno = 0;
			kvm_die("guest: %s", ucall_str(&uc));
		}
		if (!clock_tick(c, uc.args[0] - done)) {
			done = uc.args[0];
			break;
		}
		done = uc.args[0];
	}

	/* The host's side of the slot shows what the guest wrote. */
	errno = 0;
	KVM_ASSERT(((uint8_t *)hva)[(done - 1) * GUEST_PAGE_SIZE] == 1,
		   "page %llu: the guest's write is not in the slot",
		   (unsigned long long)(done - 1));
	kvm_vm_free(vm);
}

/* A VM with the in-kernel irqchip and vCPU 0 running @code. */
static struct kvm_vm *irqchip_vm(void *code, struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create_guest(0);

	vm_create_irqchip(vm);
	*vcpu = vm_vcpu_add_guest(vm, 0, code);
	vcpu_enable_interrupt_vectors(*vcpu);
	return vm;
}

static volatile uint64_t *guest_var(struct kvm_vm *vm, volatile uint64_t *v)
{
	return addr_gpa2hva(vm, (uintptr_t)v);
}

static void *run_to_done(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	return (void *)vcpu_run_ucall(vcpu, &uc);
}

static void join_done(pthread_t t, const char *what)
{
	void *ret;

	pthread_join(t, &ret);
	errno = 0;
	KVM_ASSERT((uint64_t)ret == UCALL_DONE, "%s did not finish", what);
}

static void bench_ipi(struct bench_clock *c)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct kvm_vcpu *pinger, *ponger;
	struct kvm_vm *vm = irqchip_vm(guest_pinger, &pinger);
	struct ucall uc;
	pthread_t t;

	ponger = vm_vcpu_add_guest(vm, 1, guest_ponger);
	vcpu_enable_interrupt_vectors(ponger);
	/* in long mode from the VMM: no INIT/SIPI */
	kvm_ioctl(ponger->fd, KVM_SET_MP_STATE, &mp);
	vm_install_exception_handler(vm, PING_VEC, ping_handler);
	vm_install_exception_handler(vm, PONG_VEC, pong_handler);
	if (pthread_create(&t, NULL, run_to_done, ponger))
		kvm_die("pthread_create");

	run_to_sync(pinger);
	clock_start(c);
	while (clock_tick(c, run_to_sync(pinger)))
		;
	*guest_var(vm, &stop_guest) = 1;
	while (vcpu_run_ucall(pinger, &uc) == UCALL_SYNC)
		;
	errno = 0;
	KVM_ASSERT(uc.cmd == UCALL_DONE, "pinger: %s", ucall_str(&uc));
	join_done(t, "the ponger");
	kvm_vm_free(vm);
}

static void bench_irqfd(struct bench_clock *c)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_vm(guest_halt_for_irqs, &vcpu);
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e;
	} rt = {
		.hdr.nr = 1,
		.e = {
			.gsi = IRQFD_GSI,
			.type = KVM_IRQ_ROUTING_MSI,
			/* fixed, edge, physical destination APIC ID 0 */
			.u.msi = { .address_lo = APIC_BASE,
				   .data = IRQFD_VEC },
		},
	};
	struct kvm_irqfd irqfd = { .gsi = IRQFD_GSI };
	volatile uint64_t *irqs;
	uint64_t one = 1, last;
	pthread_t t;

	vm_install_exception_handler(vm, IRQFD_VEC, irqfd_handler);
	kvm_ioctl(vm->fd, KVM_SET_GSI_ROUTING, &rt);
	irqfd.fd = eventfd(0, 0);
	kvm_ioctl(vm->fd, KVM_IRQFD, &irqfd);
	irqs = guest_var(vm, &irqfd_irqs);
	run_to_sync(vcpu);
	if (pthread_create(&t, NULL, run_to_done, vcpu))
		kvm_die("pthread_create");

	/* each write waits for the handler: no two merge in the eventfd */
	clock_start(c);
	do {
		last = *irqs;
		if (write(irqfd.fd, &one, 8) != 8)
			kvm_die("write to the irqfd");
		while (*irqs == last)
			sched_yield();
	} while (clock_tick(c, 1));
	*guest_var(vm, &stop_guest) = 1;
	if (write(irqfd.fd, &one, 8) != 8)
		kvm_die("write to the irqfd");
	join_done(t, "the guest");
	close(irqfd.fd);
	kvm_vm_free(vm);
}

static void bench_timer_wakeup(struct bench_clock *c)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = irqchip_vm(guest_timer_wakeups, &vcpu);
	uint64_t khz, late_ns = 0, late_ops = 0;
	struct kvm_cpuid2 *cpuid;
	struct ucall uc;

	vm_install_exception_handler(vm, TIMER_VEC, timer_handler);
	/* the in-kernel APIC has TSC-deadline mode; the VMM offers it */
	cpuid = kvm_get_supported_cpuid(vm);
	kvm_cpuid_entry(cpuid, 1, 0)->ecx |= 1U << 24;
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
	khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	errno = 0;
	KVM_ASSERT((int64_t)khz > 0, "KVM_GET_TSC_KHZ");
	vcpu_args_set(vcpu, 1, khz * WAKEUP_DELAY_US / 1000);
	run_to_sync(vcpu);
	clock_start(c);
	do {
		if (vcpu_run_ucall(vcpu, &uc) != UCALL_SYNC) {
			errno = 0;
			kvm_die("guest: %s", ucall_str(&uc));
		}
		late_ns = uc.args[1] * 1000000 / khz;
		late_ops += uc.args[0];
	} while (clock_tick(c, uc.args[0]));
	/* the latency, not the loop: see the top of the file */
	c->best_ns = late_ns;
	c->best_ops = late_ops + IRQ_CHUNK;	/* the warm-up chunk's too */
	kvm_vm_free(vm);
}

static const struct bench_case {
	const char *name;
	void (*run)(struct bench_clock *c);
} cases[] = {
	{ "out_roundtrip", bench_out },
	{ "cpuid_inkernel", bench_cpuid },
	{ "mmio_roundtrip", bench_mmio },
	{ "first_touch", bench_first_touch },
	{ "hlt_roundtrip", bench_hlt },
	{ "ioeventfd_pio", bench_ioeventfd_pio },
	{ "ioeventfd_mmio", bench_ioeventfd_mmio },
	{ "ipi_roundtrip", bench_ipi },
	{ "irqfd_to_handler", bench_irqfd },
	{ "hlt_timer_wakeup", bench_timer_wakeup },
};

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#define NR_CASES	ARRAY_SIZE(cases)

/* Ten times the planned time: only a hung case gets near it. */
static unsigned int case_timeout_s(void)
{
	return target_ms / 1000 * 10 + 60;
}

/*
 * The child: stderr goes to the parent (which keeps the last line as the
 * reason of a failure), the result line to stdout. An alarm bounds a case
 * whose guest stops exiting: a hung case must not hang the whole run.
 */
static void run_child(const struct bench_case *c, int err_fd)
{
	struct bench_clock clk;
	uint64_t ns, best_ns, best_ops;

	dup2(err_fd, STDERR_FILENO);
	close(err_fd);
	alarm(case_timeout_s());
	c->run(&clk);
	ns = clk.now - clk.start;
	errno = 0;
	KVM_ASSERT(clk.ops && ns, "nothing measured (%llu ops in %llu ns)",
		   (unsigned long long)clk.ops, (unsigned long long)ns);
	/* A case that ended before one full window: the whole run. */
	best_ns = clk.best_ops ? clk.best_ns : ns;
	best_ops = clk.best_ops ? clk.best_ops : clk.ops;
	printf("bench: %s ns_per_op=%llu mean_ns_per_op=%llu ops=%llu ops_per_sec=%llu secs=%llu.%03llu\n",
	       c->name, (unsigned long long)(best_ns / best_ops),
	       (unsigned long long)(ns / clk.ops),
	       (unsigned long long)clk.ops,
	       (unsigned long long)(best_ops * 1000000000ULL / best_ns),
	       (unsigned long long)(ns / 1000000000ULL),
	       (unsigned long long)(ns / 1000000 % 1000));
	fflush(stdout);
	exit(0);
}

/* Run one case in a child; 0 if it printed its result. */
static int run_case(const struct bench_case *c)
{
	char buf[4096], line[512], last[512] = "";
	const char *reason, *prefix = "# ==== selftest library: ";
	int pipefd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd)) {
		perror("exit_bench: pipe");
		exit(2);
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("exit_bench: fork");
		exit(2);
	}
	if (!pid) {
		close(pipefd[0]);
		run_child(c, pipefd[1]);
	}
	close(pipefd[1]);

	/* Pass the child's messages on, keeping its last line. */
	while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) {
		ssize_t i;

		fwrite(buf, 1, n, stderr);
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			if (!len)
				continue;
			line[len] = '\0';
			memcpy(last, line, len + 1);
			len = 0;
		}
	}
	if (len) {
		line[len] = '\0';
		memcpy(last, line, len + 1);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("exit_bench: waitpid");
			exit(2);
		}
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;

	reason = last;
	if (!strncmp(reason, prefix, strlen(prefix)))
		reason += strlen(prefix);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		printf("bench: %s failed: timed out after %u s\n", c->name,
		       case_timeout_s());
	else if (WIFSIGNALED(status))
		printf("bench: %s failed: killed by signal %d (%s)\n", c->name,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (*reason)
		printf("bench: %s failed: %s\n", c->name, reason);
	else
		printf("bench: %s failed: exit status %d\n", c->name,
		       WEXITSTATUS(status));
	fflush(stdout);
	return 1;
}

static void usage(void)
{
	size_t i;

	fprintf(stderr, "usage: exit_bench [-t MS] [-m MIB] [CASE...]\ncases:");
	for (i = 0; i < NR_CASES; i++)
		fprintf(stderr, " %s", cases[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

int main(int argc, char **argv)
{
	bool selected[NR_CASES] = { false };
	int opt, failed = 0, i;
	bool any = false;
	size_t j;

	while ((opt = getopt(argc, argv, "t:m:h")) != -1) {
		switch (opt) {
		case 't':
			target_ms = strtoul(optarg, NULL, 0);
			if (!target_ms)
				usage();
			break;
		case 'm':
			touch_mib = strtoul(optarg, NULL, 0);
			if (!touch_mib)
				usage();
			break;
		default:
			usage();
		}
	}
	for (i = optind; i < argc; i++) {
		for (j = 0; j < NR_CASES; j++)
			if (!strcmp(argv[i], cases[j].name))
				break;
		if (j == NR_CASES)
			usage();
		selected[j] = true;
		any = true;
	}

	printf("bench: device %s (%s), %u ms per case, first_touch slot %u MiB\n",
	       okvm_dev_path(), okvm_dev_is_okvm() ? "okvm" : "kvm", target_ms,
	       touch_mib);
	for (j = 0; j < NR_CASES; j++)
		if (!any || selected[j])
			failed |= run_case(&cases[j]);
	return failed;
}
