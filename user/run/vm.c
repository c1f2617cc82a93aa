// SPDX-License-Identifier: GPL-2.0-only
/*
 * okvm run: create the VM through KVM's ioctl ABI, load the kernel with
 * the Linux x86 boot protocol, run one thread per vCPU, and end with an
 * exit status scripts can trust (okvm run --help).
 *
 * Threads: main (setup, then waits for a stop or a signal, then tears
 * down), one per vCPU (KVM_RUN and port I/O), one for console input.
 * A stop is requested once (vm_request_stop, first reason wins); main
 * then kicks every vCPU out of KVM_RUN with SIGUSR1 (immediate_exit
 * closes the race with a signal arriving before KVM_RUN), joins them all
 * and closes every descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../block/block.h"
#include "run.h"
#include "run_main.h"
#include "virtio_pci.h"

#define KICK_SIGNAL	SIGUSR1
#define DUMP_SIGNAL	SIGUSR2
#define CTRL_A		0x01

struct kvm_run_vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	volatile sig_atomic_t dump;	/* SIGUSR2 asked for a state dump */
};

static char errbuf[512];

static int fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* one line on stderr; setup errors exit 2 */
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "okvm run: %s\n", errbuf);
	return RUN_EXIT_SETUP;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void vm_request_stop(struct vm *vm, int code, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->exit_code = code;
		va_start(ap, fmt);
		vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
		va_end(ap);
		if (write(vm->stop_efd, &one, sizeof(one)) < 0)
			abort();
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

bool vm_stopping(struct vm *vm)
{
	bool s;

	pthread_mutex_lock(&vm->stop_lock);
	s = vm->stopping;
	pthread_mutex_unlock(&vm->stop_lock);
	return s;
}

void vm_irq_line(struct vm *vm, int irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l))
		vm_request_stop(vm, RUN_EXIT_CRASH, "KVM_IRQ_LINE %d: %s",
				irq, strerror(errno));
}

static void dump_regs(struct kvm_run_vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	const char *nl = term_nl();

	if (ioctl(v->fd, KVM_GET_REGS, &r) || ioctl(v->fd, KVM_GET_SREGS, &s))
		return;
	fprintf(stderr, "okvm run: vCPU %u: rip %016llx rsp %016llx rflags %08llx%s",
		v->id, r.rip, r.rsp, r.rflags, nl);
	fprintf(stderr, "  rax %016llx rbx %016llx rcx %016llx rdx %016llx%s",
		r.rax, r.rbx, r.rcx, r.rdx, nl);
	fprintf(stderr, "  rsi %016llx rdi %016llx rbp %016llx%s",
		r.rsi, r.rdi, r.rbp, nl);
	fprintf(stderr, "  cr0 %08llx cr2 %016llx cr3 %016llx cr4 %08llx efer %llx%s",
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer, nl);
	fprintf(stderr, "  cs %04x base %llx l %u db %u%s",
		s.cs.selector, s.cs.base, s.cs.l, s.cs.db, nl);
}

/* a 32-bit local APIC register out of KVM_GET_LAPIC's page */
static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned int off)
{
	uint32_t v;

	memcpy(&v, &l->regs[off], sizeof(v));
	return v;
}

/*
 * A guest virtual address to physical through 4-level paging (SDM Vol. 3
 * 4.5), for the dump only: 0 on success, -1 where nothing maps it.
 */
static int guest_virt_to_phys(struct vm *vm, uint64_t cr3, uint64_t va,
			      uint64_t *pa)
{
	const uint64_t addr_mask = 0x000ffffffffff000ULL;
	uint64_t table = cr3 & addr_mask, e = 0, *entry;
	int level, shift;

	for (level = 4; level >= 1; level--) {
		shift = 12 + 9 * (level - 1);
		entry = gmem_at(&vm->mem, table + ((va >> shift) & 511) * 8, 8);
		if (!entry)
			return -1;
		e = *entry;
		if (!(e & 1))
			return -1;
		/* A 1 GiB or 2 MiB page (PS, bit 7) ends the walk. */
		if ((level == 3 || level == 2) && (e & 0x80)) {
			*pa = (e & addr_mask & ~((1ULL << shift) - 1)) |
			      (va & ((1ULL << shift) - 1));
			return 0;
		}
		table = e & addr_mask;
	}
	*pa = table | (va & 0xfff);
	return 0;
}

/* The top of the guest's stack, for what was interrupted where. */
static void dump_stack(struct kvm_run_vcpu *v, uint64_t rsp, uint64_t cr3,
		       unsigned int words)
{
	const char *nl = term_nl();
	uint64_t pa, *w;
	unsigned int i;

	for (i = 0; i < words; i++) {
		if (guest_virt_to_phys(v->vm, cr3, rsp + i * 8, &pa))
			break;
		w = gmem_at(&v->vm->mem, pa, 8);
		if (!w)
			break;
		fprintf(stderr, "%s%016llx%s", i % 4 ? " " : "  stack:",
			(unsigned long long)*w, i % 4 == 3 ? nl : "");
	}
	if (i % 4)
		fprintf(stderr, "%s", nl);
}

/*
 * SIGUSR2: what a vCPU is doing, for a guest that seems stuck: its
 * registers, the top of its stack (in long mode), the event state KVM
 * would migrate, and the local APIC's timer and interrupt registers (ISR,
 * IRR: SDM vol 3 11.8.4). Printed from the vCPU's own thread between two
 * KVM_RUNs; the guest goes on.
 */
static void dump_state(struct kvm_run_vcpu *v)
{
	struct kvm_vcpu_events e;
	struct kvm_mp_state mp;
	struct kvm_lapic_state *l;
	const char *nl = term_nl();
	struct kvm_regs r;
	struct kvm_sregs sr;
	unsigned int i;

	dump_regs(v);
	if (!ioctl(v->fd, KVM_GET_REGS, &r) && !ioctl(v->fd, KVM_GET_SREGS, &sr) &&
	    (sr.efer & 0x400))		/* EFER.LMA: 4-level paging */
		dump_stack(v, r.rsp, sr.cr3, 32);
	if (!ioctl(v->fd, KVM_GET_VCPU_EVENTS, &e))
		fprintf(stderr, "  events: irq inj %u nr %u soft %u shadow %u, nmi inj %u pend %u masked %u, exc inj %u nr %u%s",
			e.interrupt.injected, e.interrupt.nr, e.interrupt.soft,
			e.interrupt.shadow, e.nmi.injected, e.nmi.pending,
			e.nmi.masked, e.exception.injected, e.exception.nr, nl);
	if (!ioctl(v->fd, KVM_GET_MP_STATE, &mp))
		fprintf(stderr, "  mp_state %u, immediate_exit %u, ready_for_irq %u, if %u%s",
			mp.mp_state, v->run->immediate_exit,
			v->run->ready_for_interrupt_injection, v->run->if_flag, nl);
	l = calloc(1, sizeof(*l));
	if (!l || ioctl(v->fd, KVM_GET_LAPIC, l)) {
		free(l);
		return;
	}
	fprintf(stderr, "  lapic: tpr %02x svr %03x lvtt %08x tmict %08x tmcct %08x tdcr %x lint0 %08x%s",
		lapic_reg(l, 0x80), lapic_reg(l, 0xf0), lapic_reg(l, 0x320),
		lapic_reg(l, 0x380), lapic_reg(l, 0x390), lapic_reg(l, 0x3e0),
		lapic_reg(l, 0x350), nl);
	fprintf(stderr, "  isr");
	for (i = 8; i-- > 0;)
		fprintf(stderr, " %08x", lapic_reg(l, 0x100 + i * 16));
	fprintf(stderr, "%s  irr", nl);
	for (i = 8; i-- > 0;)
		fprintf(stderr, " %08x", lapic_reg(l, 0x200 + i * 16));
	fprintf(stderr, "%s", nl);
	free(l);
}

static void handle_io(struct kvm_run_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t i;

	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (pci_io(&v->vm->pci, run->io.port, run->io.size, write, data))
			continue;
		/* nothing at this port: reads float high, writes vanish */
		if (!legacy_io(v->vm, run->io.port, run->io.size, write, data) &&
		    !write)
			memset(data, 0xff, run->io.size);
	}
}

static void *vcpu_thread(void *arg)
{
	struct kvm_run_vcpu *v = arg;
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!vm_stopping(vm)) {
		if (ioctl(v->fd, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				if (v->dump) {
					v->dump = 0;
					dump_state(v);
				}
				continue;
			}
			vm_request_stop(vm, RUN_EXIT_CRASH, "vCPU %u: KVM_RUN: %s",
					v->id, strerror(errno));
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			/* the PCI BARs; nothing else: reads float high */
			if (run->mmio.len > sizeof(run->mmio.data) ||
			    !pci_mmio(&vm->pci, run->mmio.phys_addr, run->mmio.len,
				      run->mmio.is_write, run->mmio.data)) {
				if (!run->mmio.is_write)
					memset(run->mmio.data, 0xff,
					       sizeof(run->mmio.data));
			}
			break;
		case KVM_EXIT_SHUTDOWN:
			dump_regs(v);
			vm_request_stop(vm, RUN_EXIT_CRASH,
					"vCPU %u: triple fault (KVM_EXIT_SHUTDOWN)", v->id);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vm_request_stop(vm, RUN_EXIT_OK,
					"the guest asked for a system event (%u)",
					run->system_event.type);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			dump_regs(v);
			vm_request_stop(vm, RUN_EXIT_CRASH,
					"vCPU %u: KVM internal error, suberror %u",
					v->id, run->internal.suberror);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			dump_regs(v);
			vm_request_stop(vm, RUN_EXIT_CRASH,
					"vCPU %u: VM entry failed, reason %#llx",
					v->id, (unsigned long long)
					run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTR:
			break;
		default:
			dump_regs(v);
			vm_request_stop(vm, RUN_EXIT_CRASH,
					"vCPU %u: unexpected exit reason %u",
					v->id, run->exit_reason);
		}
	}
	return NULL;
}

/*
 * Console input: stdin to the UART. On a terminal, Ctrl-A x quits and
 * Ctrl-A Ctrl-A sends Ctrl-A; other input passes as it is. EOF ends
 * input, not the guest.
 */
struct input {
	struct vm *vm;
	int stop_fd;		/* readable once main wants the thread gone */
	bool escapes;
	pthread_t thread;
};

static void *input_thread(void *arg)
{
	struct input *in = arg;
	struct vm *vm = in->vm;
	struct pollfd pfd[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = in->stop_fd, .events = POLLIN },
	};
	uint8_t buf[64], out[64];
	bool escape = false;
	unsigned int n, i, done;
	ssize_t r;

	for (;;) {
		uart_wait_room(&vm->uart);
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		r = read(STDIN_FILENO, buf, sizeof(buf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		n = 0;
		for (i = 0; i < (unsigned int)r; i++) {
			if (in->escapes && escape) {
				escape = false;
				if (buf[i] == 'x' || buf[i] == 'X') {
					vm_request_stop(vm, RUN_EXIT_ESCAPE,
							"quit from the console (Ctrl-A x)");
					return NULL;
				}
				if (buf[i] != CTRL_A)
					continue;
			} else if (in->escapes && buf[i] == CTRL_A) {
				escape = true;
				continue;
			}
			out[n++] = buf[i];
		}
		/* the FIFO may fill: hand over the rest as it drains */
		for (done = 0; done < n && !vm_stopping(vm);) {
			done += uart_rx(&vm->uart, out + done, n - done);
			if (done < n)
				uart_wait_room(&vm->uart);
		}
	}
	return NULL;
}

static int read_file(const char *what, const char *path, uint8_t **buf,
		     size_t *size)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("cannot open the %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail("the %s %s is not a regular file", what, path);
	}
	*size = st.st_size;
	*buf = malloc(*size ? *size : 1);
	if (!*buf) {
		close(fd);
		return fail("out of memory reading %s", path);
	}
	while (got < *size) {
		n = read(fd, *buf + got, *size - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			close(fd);
			free(*buf);
			return fail("cannot read the %s %s: %s", what, path,
				    n ? strerror(errno) : "file shrank");
		}
		got += n;
	}
	close(fd);
	return 0;
}

static uint8_t *gpa(struct vm *vm, uint64_t addr)
{
	return vm->ram_low + addr;
}

/* a device that speaks KVM's API and has the in-kernel chips */
static int open_dev(const char *path, bool quiet, int *fd_out)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (!quiet)
			fail("cannot open %s: %s%s", path, strerror(errno),
			     errno == ENOENT ? " (load okvm.ko or kvm, or name one with --dev)" :
			     errno == EACCES ? " (join the kvm group)" : "");
		return -1;
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		if (!quiet)
			fail("%s does not speak KVM API version %d", path,
			     KVM_API_VERSION);
		close(fd);
		return -1;
	}
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
	    ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) <= 0) {
		if (!quiet)
			fail("%s has no in-kernel irqchip and PIT (KVM_CAP_IRQCHIP, KVM_CAP_PIT2), which okvm run needs; try --dev /dev/kvm",
			     path);
		close(fd);
		return -2;
	}
	*fd_out = fd;
	return 0;
}

static int choose_dev(struct vm *vm, const char *dev)
{
	int r;

	if (dev) {
		vm->dev = dev;
		return open_dev(dev, false, &vm->dev_fd) ? RUN_EXIT_SETUP : 0;
	}
	r = open_dev("/dev/okvm", true, &vm->dev_fd);
	if (!r) {
		vm->dev = "/dev/okvm";
		return 0;
	}
	if (open_dev("/dev/kvm", true, &vm->dev_fd) == 0) {
		vm->dev = "/dev/kvm";
		if (r == -2)
			fprintf(stderr, "okvm run: /dev/okvm has no in-kernel irqchip yet; using /dev/kvm\n");
		return 0;
	}
	if (r == -2)
		return fail("/dev/okvm has no in-kernel irqchip yet and there is no usable /dev/kvm; load kvm-amd or kvm-intel");
	return fail("neither /dev/okvm nor /dev/kvm can be opened; load okvm.ko (or kvm), or name a device with --dev");
}

static int set_memory(struct vm *vm)
{
	uint64_t low = ram_low(vm->mem_size), high = ram_high(vm->mem_size);
	struct kvm_userspace_memory_region r = { 0 };

	vm->ram_low = mmap(NULL, low, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram_low == MAP_FAILED) {
		vm->ram_low = NULL;
		return fail("cannot map %llu MiB of guest memory: %s; use a smaller -m",
			    (unsigned long long)(vm->mem_size >> 20), strerror(errno));
	}
	r.slot = 0;
	r.memory_size = low;
	r.userspace_addr = (uintptr_t)vm->ram_low;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return fail("KVM_SET_USER_MEMORY_REGION (%llu MiB): %s; use a smaller -m",
			    (unsigned long long)(low >> 20), strerror(errno));
	vm->mem.r[0].gpa = 0;
	vm->mem.r[0].size = low;
	vm->mem.r[0].hva = vm->ram_low;
	vm->mem.nr = 1;
	if (!high)
		return 0;
	vm->ram_high = mmap(NULL, high, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram_high == MAP_FAILED) {
		vm->ram_high = NULL;
		return fail("cannot map %llu MiB of guest memory: %s; use a smaller -m",
			    (unsigned long long)(vm->mem_size >> 20), strerror(errno));
	}
	r.slot = 1;
	r.guest_phys_addr = HIGH_RAM_START;
	r.memory_size = high;
	r.userspace_addr = (uintptr_t)vm->ram_high;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return fail("KVM_SET_USER_MEMORY_REGION (%llu MiB above 4 GiB): %s; use a smaller -m",
			    (unsigned long long)(high >> 20), strerror(errno));
	vm->mem.r[1].gpa = HIGH_RAM_START;
	vm->mem.r[1].size = high;
	vm->mem.r[1].hva = vm->ram_high;
	vm->mem.nr = 2;
	return 0;
}

/*
 * The 64-bit boot protocol's machine state (boot.rst, "64-bit Boot
 * Protocol"): long mode with paging, the kernel, zero page and command
 * line identity-mapped (the first GiB, 2 MiB pages), __BOOT_CS 0x10 and
 * __BOOT_DS 0x18 as flat segments, interrupts off, RSI at the zero page.
 */
static void write_boot_tables(struct vm *vm)
{
	uint64_t *gdt = (uint64_t *)gpa(vm, GDT_ADDR);
	uint64_t *pml4 = (uint64_t *)gpa(vm, PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)gpa(vm, PDPT_ADDR);
	uint64_t *pd = (uint64_t *)gpa(vm, PD_ADDR);
	int i;

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffULL;	/* 0x10: code, L=1 */
	gdt[3] = 0x00cf93000000ffffULL;	/* 0x18: data */
	pml4[0] = PDPT_ADDR | 0x3;		/* present, writable */
	pdpt[0] = PD_ADDR | 0x3;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* 2 MiB page */
}

static int setup_bsp(struct kvm_run_vcpu *v, uint64_t entry)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb,
		.present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 0x18, .type = 0x3,
		.present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs))
		return fail("KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs = code;
	sregs.ds = data;
	sregs.es = data;
	sregs.fs = data;
	sregs.gs = data;
	sregs.ss = data;
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = 0x20;			/* PAE */
	sregs.cr0 = 0x80000011;			/* PG, ET, PE */
	sregs.efer = 0x500;			/* LMA, LME */
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs))
		return fail("KVM_SET_SREGS: %s", strerror(errno));
	regs.rflags = 2;
	regs.rip = entry;
	regs.rsi = ZERO_PAGE_ADDR;
	regs.rsp = BOOT_STACK;
	if (ioctl(v->fd, KVM_SET_REGS, &regs))
		return fail("KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

static struct kvm_cpuid2 *supported_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *c;
	int n = 64;

	for (;;) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = n;
		if (!ioctl(vm->dev_fd, KVM_GET_SUPPORTED_CPUID, c))
			return c;
		free(c);
		if (errno != E2BIG || n > 4096)
			return NULL;
		n *= 2;
	}
}

/* each vCPU's APIC ID in CPUID, matching the MADT */
static int set_cpuid(struct kvm_run_vcpu *v, const struct kvm_cpuid2 *sup)
{
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	unsigned int i;
	int r;

	if (!c)
		return fail("out of memory");
	memcpy(c, sup, sz);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		/*
		 * Leaf 1 EBX[31:24] is the initial APIC ID. The CPUID is
		 * otherwise the device's as it reports it, the hypervisor
		 * bit included (Documentation/launcher.rst).
		 */
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | v->id << 24;
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = v->id;
	}
	r = ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	if (r)
		return fail("KVM_SET_CPUID2 on vCPU %u: %s", v->id, strerror(errno));
	return 0;
}

static int create_vcpus(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid;
	unsigned int i;
	int mmap_size, max;

	max = ioctl(vm->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && vm->nr_vcpus > (unsigned int)max)
		return fail("-c %u: %s allows at most %d vCPUs", vm->nr_vcpus,
			    vm->dev, max);
	mmap_size = ioctl(vm->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	cpuid = supported_cpuid(vm);
	if (!cpuid)
		return fail("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		free(cpuid);
		return fail("out of memory");
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct kvm_run_vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0) {
			free(cpuid);
			return fail("KVM_CREATE_VCPU %u: %s", i, strerror(errno));
		}
		v->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			free(cpuid);
			return fail("cannot map vCPU %u's kvm_run: %s", i,
				    strerror(errno));
		}
		v->run_size = mmap_size;
		if (set_cpuid(v, cpuid)) {
			free(cpuid);
			return RUN_EXIT_SETUP;
		}
	}
	free(cpuid);
	return 0;
}

/* the kernel, initrd and disks, read and checked before any VM exists */
struct guest_image {
	uint8_t *kernel, *initrd;
	size_t ksize, isize;
	struct bzimage bz;
	uint64_t initrd_addr;
	struct blk *disk[RUN_MAX_DISKS];
};

static void free_image(struct guest_image *img)
{
	unsigned int i;

	free(img->kernel);
	free(img->initrd);
	for (i = 0; i < RUN_MAX_DISKS; i++)
		if (img->disk[i])
			blk_close(img->disk[i]);
}

static int read_image(struct guest_image *img, const struct run_opts *o)
{
	char err[512];
	unsigned int i;

	if (read_file("kernel", o->kernel, &img->kernel, &img->ksize)) {
		img->kernel = NULL;
		return RUN_EXIT_SETUP;
	}
	if (bzimage_parse(img->kernel, img->ksize, &img->bz, err, sizeof(err)))
		return fail("%s: %s", o->kernel, err);
	if (bzimage_min_mem(&img->bz) > ram_low(o->mem))
		return fail("%s needs %llu MiB of RAM to start; raise -m", o->kernel,
			    (unsigned long long)((bzimage_min_mem(&img->bz) + MIB - 1) >> 20));
	for (i = 0; i < o->nr_disks; i++)
		if (virtio_blk_open(&o->disk[i], &img->disk[i], err, sizeof(err)))
			return fail("%s", err);
	if (!o->initrd)
		return 0;
	if (read_file("initrd", o->initrd, &img->initrd, &img->isize)) {
		img->initrd = NULL;
		return RUN_EXIT_SETUP;
	}
	img->initrd_addr = bzimage_initrd_addr(&img->bz, o->mem, img->isize,
					       err, sizeof(err));
	if (!img->initrd_addr)
		return fail("%s: %s", o->initrd, err);
	return 0;
}

static int load_guest(struct vm *vm, const struct run_opts *o,
		      const struct guest_image *img)
{
	struct e820_entry e820[E820_MAX];
	struct boot_setup bs = { 0 };
	size_t clen;
	int n;

	if (img->initrd) {
		bs.initrd_addr = img->initrd_addr;
		bs.initrd_size = img->isize;
		memcpy(gpa(vm, bs.initrd_addr), img->initrd, img->isize);
	}

	/* okvm's console first: a console= in -p comes later and wins */
	snprintf((char *)gpa(vm, CMDLINE_ADDR), CMDLINE_MAX, "console=ttyS0%s%s",
		 o->params ? " " : "", o->params ? o->params : "");
	clen = strlen((char *)gpa(vm, CMDLINE_ADDR));
	if (clen >= img->bz.cmdline_size || clen >= CMDLINE_MAX - 1)
		return fail("the kernel command line is %zu bytes; this kernel takes at most %u",
			    clen, img->bz.cmdline_size);
	bs.cmdline_addr = CMDLINE_ADDR;
	bs.cmdline_len = clen;

	n = e820_build(vm->mem_size, e820, E820_MAX);
	if (n < 0)
		return fail("no e820 map for %llu MiB",
			    (unsigned long long)(vm->mem_size >> 20));
	bs.e820 = e820;
	bs.e820_entries = n;
	bs.rsdp_addr = ACPI_RSDP_ADDR;
	if (!acpi_build(gpa(vm, BIOS_START), KERNEL_ADDR - BIOS_START, BIOS_START,
			vm->nr_vcpus))
		return fail("no room for the ACPI tables of %u vCPUs", vm->nr_vcpus);
	memcpy(gpa(vm, KERNEL_ADDR), img->kernel + img->bz.setup_size,
	       img->bz.kernel_size);
	bzimage_zero_page(&img->bz, &bs, gpa(vm, ZERO_PAGE_ADDR));
	write_boot_tables(vm);
	/* the 64-bit entry is 0x200 past the protected-mode start */
	return setup_bsp(&vm->vcpus[0], KERNEL_ADDR + 0x200);
}

/* the virtio devices on the PCI bus, in the order of the options */
static int create_devices(struct vm *vm, const struct run_opts *o,
			  struct guest_image *img)
{
	char err[512];
	unsigned int i;

	for (i = 0; i < o->nr_disks; i++) {
		struct blk *b = img->disk[i];

		img->disk[i] = NULL;	/* the device owns it now */
		if (virtio_blk_add(vm, b, &o->disk[i], err, sizeof(err)))
			return fail("%s", err);
	}
	for (i = 0; i < o->nr_nets; i++)
		if (virtio_net_add(vm, &o->net[i], i, err, sizeof(err)))
			return fail("%s", err);
	if (o->rng && virtio_rng_add(vm, err, sizeof(err)))
		return fail("%s", err);
	return 0;
}

static int create_vm(struct vm *vm, const struct run_opts *o,
		     struct guest_image *img)
{
	struct kvm_pit_config pit = { .flags = 0 };
	int r;

	r = choose_dev(vm, o->dev);
	if (r)
		return r;
	vm->vm_fd = ioctl(vm->dev_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail("KVM_CREATE_VM on %s: %s", vm->dev, strerror(errno));
	/* VMX needs three pages for its real-mode TSS; harmless elsewhere */
	if (ioctl(vm->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL))
		return fail("KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0))
		return fail("KVM_CREATE_IRQCHIP on %s: %s", vm->dev, strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit))
		return fail("KVM_CREATE_PIT2 on %s: %s", vm->dev, strerror(errno));
	r = set_memory(vm);
	if (r)
		return r;
	r = create_vcpus(vm);
	if (r)
		return r;
	r = create_devices(vm, o, img);
	if (r)
		return r;
	return load_guest(vm, o, img);
}

static void kick_handler(int sig)
{
}

static void destroy_vm(struct vm *vm)
{
	unsigned int i;

	/* the devices first: their threads may still complete requests */
	for (i = 0; i < vm->nr_virtio; i++)
		virtio_pci_destroy(vm->virtio[i]);
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->vcpus[i].run_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	if (vm->ram_low)
		munmap(vm->ram_low, ram_low(vm->mem_size));
	if (vm->ram_high)
		munmap(vm->ram_high, ram_high(vm->mem_size));
	if (vm->vm_fd > 0)
		close(vm->vm_fd);
	if (vm->dev_fd > 0)
		close(vm->dev_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
}

/* every vCPU out of KVM_RUN once to print its state (dump_state) */
static void request_dump(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		vm->vcpus[i].dump = 1;
		vm->vcpus[i].run->immediate_exit = 1;
		pthread_kill(vm->vcpus[i].thread, KICK_SIGNAL);
	}
}

/*
 * wait for a stop or SIGINT/SIGTERM; SIGUSR2 dumps the vCPUs' state.
 * Returns the exit status.
 */
static int wait_for_stop(struct vm *vm, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = vm->stop_efd, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	struct signalfd_siginfo si;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			vm_request_stop(vm, RUN_EXIT_CRASH, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == DUMP_SIGNAL) {
				request_dump(vm);
				continue;
			}
			vm_request_stop(vm, 128 + si.ssi_signo, "stopped by %s",
					strsignal(si.ssi_signo));
			break;
		}
	}
	pthread_mutex_lock(&vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);
	return vm->exit_code;
}

int run_main(int argc, char **argv)
{
	struct vm vm = { .dev_fd = -1, .vm_fd = -1, .stop_efd = -1 };
	struct input in = { .vm = &vm };
	struct sigaction sa = { .sa_handler = kick_handler };
	struct guest_image img = { 0 };
	struct run_opts o;
	sigset_t set;
	int r, sfd = -1, stop_pipe[2] = { -1, -1 };
	bool input_started = false;
	unsigned int i;

	r = run_parse_opts(argc, argv, &o, errbuf, sizeof(errbuf));
	if (r > 0) {
		run_usage(stdout);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "okvm run: %s\n", errbuf);
		return RUN_EXIT_SETUP;
	}
	vm.start_ns = now_ns();
	vm.nr_vcpus = o.cpus;
	vm.mem_size = o.mem;
	vm.boot_timer = o.boot_timer;
	pthread_mutex_init(&vm.stop_lock, NULL);
	pthread_mutex_init(&vm.route_lock, NULL);
	pci_bus_init(&vm.pci);
	uart_init(&vm.uart, &vm, STDOUT_FILENO, 4);
	rtc_init(&vm.rtc);

	/*
	 * Signals: SIGINT/SIGTERM/SIGHUP/SIGUSR2 to main through a signalfd, blocked
	 * everywhere else; the kick signal only in vCPU threads; a closed
	 * output pipe is not a reason to die.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigaction(KICK_SIGNAL, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, DUMP_SIGNAL);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, KICK_SIGNAL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	vm.stop_efd = eventfd(0, EFD_CLOEXEC);
	if (sfd < 0 || vm.stop_efd < 0 || pipe2(stop_pipe, O_CLOEXEC)) {
		r = fail("cannot set up signals: %s", strerror(errno));
		goto out;
	}

	/*
	 * Guest RAM is mapped MAP_NORESERVE and only touched as the guest
	 * uses it; a size beyond the host's RAM would end in the OOM killer.
	 */
	if (o.mem > (uint64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE)) {
		r = fail("-m %llu MiB is more than this host's %llu MiB of RAM",
			 (unsigned long long)(o.mem >> 20),
			 (unsigned long long)(((uint64_t)sysconf(_SC_PHYS_PAGES) *
					       sysconf(_SC_PAGESIZE)) >> 20));
		goto out;
	}

	/* the user's files first: their errors before the machine's */
	r = read_image(&img, &o);
	if (!r)
		r = create_vm(&vm, &o, &img);
	free_image(&img);
	if (r)
		goto out;
	fprintf(stderr, "okvm run: %s, %u vCPU%s, %llu MiB\n", vm.dev,
		vm.nr_vcpus, vm.nr_vcpus > 1 ? "s" : "",
		(unsigned long long)(vm.mem_size >> 20));

	in.stop_fd = stop_pipe[0];
	in.escapes = isatty(STDIN_FILENO);
	term_raw();
	if (pthread_create(&in.thread, NULL, input_thread, &in) == 0)
		input_started = true;
	for (i = 0; i < vm.nr_vcpus; i++) {
		if (pthread_create(&vm.vcpus[i].thread, NULL, vcpu_thread,
				   &vm.vcpus[i])) {
			vm_request_stop(&vm, RUN_EXIT_SETUP,
					"cannot start the thread of vCPU %u", i);
			break;
		}
		vm.vcpus[i].started = true;
	}

	r = wait_for_stop(&vm, sfd);

	/* every vCPU out of KVM_RUN, every thread joined */
	for (i = 0; i < vm.nr_vcpus; i++) {
		if (!vm.vcpus[i].started)
			continue;
		vm.vcpus[i].run->immediate_exit = 1;
		pthread_kill(vm.vcpus[i].thread, KICK_SIGNAL);
	}
	for (i = 0; i < vm.nr_vcpus; i++)
		if (vm.vcpus[i].started)
			pthread_join(vm.vcpus[i].thread, NULL);
	if (input_started) {
		if (write(stop_pipe[1], "", 1) < 0)
			abort();
		uart_wake(&vm.uart);
		pthread_join(in.thread, NULL);
	}
	term_restore();
	fprintf(stderr, "%sokvm run: %s\n", isatty(STDOUT_FILENO) ? "\r\n" : "",
		vm.reason);
out:
	destroy_vm(&vm);
	if (sfd >= 0)
		close(sfd);
	if (stop_pipe[0] >= 0) {
		close(stop_pipe[0]);
		close(stop_pipe[1]);
	}
	return r;
}
