// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_vm.c - VMs, memory slots, vCPUs and KVM_RUN for guest-code selftests.
 *
 * Everything here is architecture-neutral KVM ABI; the x86 state that makes
 * a vCPU run a C function (page tables, GDT, long mode, the test's own ELF
 * image in guest memory) is in x86_guest.c, the guest-to-host call channel
 * in ucall.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_vm.h"
#include "okvm_util.h"

void __kvm_die(const char *file, int line, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "# ==== selftest library: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, " (errno %d: %s)", err, strerror(err));
	fprintf(stderr, "\n");
	exit(1);	/* the harness: failed; 255 would mean skipped */
}

struct kvm_vm *vm_create_bare(void)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));

	KVM_ASSERT(vm, "out of memory");
	errno = 0;
	vm->dev_fd = okvm_open_dev();
	if (vm->dev_fd < 0) {
		errno = -vm->dev_fd;
		kvm_die("open %s", okvm_dev_path());
	}
	vm->fd = kvm_ioctl(vm->dev_fd, KVM_CREATE_VM, 0);
	return vm;
}

void vm_create_irqchip(struct kvm_vm *vm)
{
	kvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
}

void kvm_vm_free(struct kvm_vm *vm)
{
	struct kvm_mem_slot *s;
	int i;

	if (!vm)
		return;
	for (i = 0; i < KVM_VM_MAX_VCPUS; i++) {
		struct kvm_vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		munmap(vcpu->run, vcpu->run_size);
		close(vcpu->fd);
		free(vcpu);
	}
	close(vm->fd);
	for (i = 0; i < KVM_VM_MAX_SLOTS; i++) {
		s = &vm->slots[i];
		if (s->hva)
			munmap(s->hva, s->region.memory_size);
	}
	close(vm->dev_fd);
	free(vm);
}

void *vm_add_mem_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		      uint64_t size, uint32_t flags)
{
	struct kvm_mem_slot *s;
	void *hva;

	KVM_ASSERT(slot < KVM_VM_MAX_SLOTS, "slot %u: the library keeps %d",
		   slot, KVM_VM_MAX_SLOTS);
	s = &vm->slots[slot];
	KVM_ASSERT(!s->hva, "slot %u is in use", slot);
	KVM_ASSERT(!(gpa % GUEST_PAGE_SIZE) && size &&
		   !(size % GUEST_PAGE_SIZE),
		   "gpa 0x%llx size 0x%llx: not page aligned",
		   (unsigned long long)gpa, (unsigned long long)size);

	hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hva == MAP_FAILED)
		kvm_die("mmap of %llu bytes of guest memory",
			(unsigned long long)size);

	s->region = (struct kvm_userspace_memory_region) {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &s->region) < 0)
		kvm_die("KVM_SET_USER_MEMORY_REGION slot %u gpa 0x%llx size 0x%llx",
			slot, (unsigned long long)gpa,
			(unsigned long long)size);
	s->hva = hva;
	return hva;
}

void *_addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < KVM_VM_MAX_SLOTS; i++) {
		struct kvm_mem_slot *s = &vm->slots[i];
		uint64_t start = s->region.guest_phys_addr;

		if (s->hva && gpa >= start &&
		    gpa - start < s->region.memory_size)
			return (char *)s->hva + (gpa - start);
	}
	return NULL;
}

void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa)
{
	void *hva = _addr_gpa2hva(vm, gpa);

	errno = 0;
	if (!hva)
		kvm_die("guest physical address 0x%llx is in no memory slot",
			(unsigned long long)gpa);
	return hva;
}

void vm_alloc_init(struct kvm_vm *vm, uint64_t start, uint64_t end)
{
	vm->alloc_next = start;
	vm->alloc_end = end;
}

uint64_t vm_alloc(struct kvm_vm *vm, uint64_t size, uint64_t align)
{
	uint64_t gpa;

	errno = 0;
	if (!align)
		align = 1;
	gpa = (vm->alloc_next + align - 1) & ~(align - 1);
	if (gpa + size > vm->alloc_end || gpa + size < gpa)
		kvm_die("guest memory exhausted: 0x%llx bytes wanted, 0x%llx..0x%llx left",
			(unsigned long long)size,
			(unsigned long long)gpa,
			(unsigned long long)vm->alloc_end);
	vm->alloc_next = gpa + size;
	/* Every byte must be backed, or the guest would exit on MMIO. */
	addr_gpa2hva(vm, gpa);
	addr_gpa2hva(vm, gpa + size - 1);
	return gpa;
}

struct kvm_vcpu *vm_vcpu_add_bare(struct kvm_vm *vm, uint32_t id)
{
	struct kvm_vcpu *vcpu;
	long size;

	errno = 0;
	KVM_ASSERT(id < KVM_VM_MAX_VCPUS && !vm->vcpus[id],
		   "vCPU id %u: in use or above the library's %d", id,
		   KVM_VM_MAX_VCPUS);
	vcpu = calloc(1, sizeof(*vcpu));
	KVM_ASSERT(vcpu, "out of memory");
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = kvm_ioctl(vm->fd, KVM_CREATE_VCPU, id);

	size = kvm_ioctl(vm->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	KVM_ASSERT(size >= (long)sizeof(struct kvm_run),
		   "KVM_GET_VCPU_MMAP_SIZE %ld is smaller than struct kvm_run",
		   size);
	vcpu->run_size = size;
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		kvm_die("mmap of vCPU %u's struct kvm_run (%ld bytes)", id,
			size);
	vm->vcpus[id] = vcpu;
	return vcpu;
}

int _vcpu_run(struct kvm_vcpu *vcpu)
{
	int r;

	do {
		r = ioctl(vcpu->fd, KVM_RUN, 0);
	} while (r < 0 && errno == EINTR &&
		 vcpu->run->exit_reason == KVM_EXIT_INTR);
	return r < 0 ? -errno : 0;
}

void vcpu_run(struct kvm_vcpu *vcpu)
{
	int r = _vcpu_run(vcpu);

	if (r) {
		errno = -r;
		kvm_die("KVM_RUN of vCPU %u: last exit %s", vcpu->id,
			vcpu_exit_str(vcpu));
	}
}

void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	kvm_ioctl(vcpu->fd, KVM_GET_REGS, regs);
}

void vcpu_regs_set(struct kvm_vcpu *vcpu, const struct kvm_regs *regs)
{
	kvm_ioctl(vcpu->fd, KVM_SET_REGS, regs);
}

void vcpu_sregs_get(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	kvm_ioctl(vcpu->fd, KVM_GET_SREGS, sregs);
}

void vcpu_sregs_set(struct kvm_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	kvm_ioctl(vcpu->fd, KVM_SET_SREGS, sregs);
}

#define EXIT_CASE(x) case KVM_EXIT_##x: return "KVM_EXIT_" #x

const char *exit_reason_str(uint32_t reason)
{
	switch (reason) {
	EXIT_CASE(UNKNOWN);
	EXIT_CASE(EXCEPTION);
	EXIT_CASE(IO);
	EXIT_CASE(HYPERCALL);
	EXIT_CASE(DEBUG);
	EXIT_CASE(HLT);
	EXIT_CASE(MMIO);
	EXIT_CASE(IRQ_WINDOW_OPEN);
	EXIT_CASE(SHUTDOWN);
	EXIT_CASE(FAIL_ENTRY);
	EXIT_CASE(INTR);
	EXIT_CASE(SET_TPR);
	EXIT_CASE(TPR_ACCESS);
	EXIT_CASE(S390_SIEIC);
	EXIT_CASE(S390_RESET);
	EXIT_CASE(DCR);
	EXIT_CASE(NMI);
	EXIT_CASE(INTERNAL_ERROR);
	EXIT_CASE(OSI);
	EXIT_CASE(PAPR_HCALL);
	EXIT_CASE(S390_UCONTROL);
	EXIT_CASE(WATCHDOG);
	EXIT_CASE(S390_TSCH);
	EXIT_CASE(EPR);
	EXIT_CASE(SYSTEM_EVENT);
	EXIT_CASE(S390_STSI);
	EXIT_CASE(IOAPIC_EOI);
	EXIT_CASE(HYPERV);
	EXIT_CASE(ARM_NISV);
	EXIT_CASE(X86_RDMSR);
	EXIT_CASE(X86_WRMSR);
	EXIT_CASE(DIRTY_RING_FULL);
	EXIT_CASE(AP_RESET_HOLD);
	EXIT_CASE(X86_BUS_LOCK);
	EXIT_CASE(XEN);
	EXIT_CASE(RISCV_SBI);
	EXIT_CASE(RISCV_CSR);
	EXIT_CASE(NOTIFY);
	}
	return "KVM_EXIT_(unknown to the library)";
}

const char *vcpu_exit_str(struct kvm_vcpu *vcpu)
{
	static char buf[256];
	struct kvm_run *run = vcpu->run;
	int n;

	n = snprintf(buf, sizeof(buf), "%s (%u)",
		     exit_reason_str(run->exit_reason), run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf + n, sizeof(buf) - n,
			 ": %s port 0x%x size %u count %u",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf + n, sizeof(buf) - n,
			 ": %s gpa 0x%llx len %u",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr,
			 run->mmio.len);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf + n, sizeof(buf) - n,
			 ": hardware_entry_failure_reason 0x%llx cpu %u",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf + n, sizeof(buf) - n, ": suberror %u ndata %u",
			 run->internal.suberror, run->internal.ndata);
		break;
	case KVM_EXIT_SHUTDOWN:
		/*
		 * An exception the guest could not deliver. The registers do
		 * not say where: kvm-amd resets the vCPU on a shutdown.
		 */
		snprintf(buf + n, sizeof(buf) - n,
			 ": a triple fault? (an exception the guest's IDT could not deliver)");
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(buf + n, sizeof(buf) - n, ": type %u",
			 run->system_event.type);
		break;
	}
	return buf;
}

uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1)
		kvm_die("KVM_GET_MSRS of MSR 0x%x", index);
	return m.e.data;
}

long vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = data };

	return okvm_ioctl(vcpu->fd, KVM_SET_MSRS, (uintptr_t)&m);
}
