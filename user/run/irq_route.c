// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's GSI routing table. KVM_SET_GSI_ROUTING replaces the whole
 * table, so okvm run keeps it: KVM's default entries for the in-kernel
 * chips (GSIs 0-15 to the PICs and I/O APIC pins, 16-23 to the I/O APIC,
 * as after KVM_CREATE_IRQCHIP), then one MSI entry per MSI-X vector of
 * the virtio devices, each the target of an irqfd.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "run.h"

#define IOAPIC_PINS	24
#define PIC_PINS	16

/* route_lock held */
static int set_routes(struct vm *vm)
{
	unsigned int n = IOAPIC_PINS + PIC_PINS + vm->nr_msi, i, e = 0;
	struct kvm_irq_routing *r;
	int ret;

	r = calloc(1, sizeof(*r) + n * sizeof(r->entries[0]));
	if (!r) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < IOAPIC_PINS; i++, e++) {
		r->entries[e].gsi = i;
		r->entries[e].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[e].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r->entries[e].u.irqchip.pin = i;
	}
	for (i = 0; i < PIC_PINS; i++, e++) {
		r->entries[e].gsi = i;
		r->entries[e].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[e].u.irqchip.irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER :
						      KVM_IRQCHIP_PIC_SLAVE;
		r->entries[e].u.irqchip.pin = i % 8;
	}
	for (i = 0; i < vm->nr_msi; i++, e++) {
		r->entries[e].gsi = vm->msi[i].gsi;
		r->entries[e].type = KVM_IRQ_ROUTING_MSI;
		r->entries[e].u.msi.address_lo = (uint32_t)vm->msi[i].addr;
		r->entries[e].u.msi.address_hi = vm->msi[i].addr >> 32;
		r->entries[e].u.msi.data = vm->msi[i].data;
	}
	r->nr = n;
	ret = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r);
	free(r);
	return ret;
}

int vm_gsi_alloc(struct vm *vm)
{
	int gsi = -1;

	pthread_mutex_lock(&vm->route_lock);
	if (vm->nr_msi < RUN_MAX_MSI) {
		/* a harmless message until the guest programs the vector */
		vm->msi[vm->nr_msi].gsi = IOAPIC_PINS + vm->nr_msi;
		vm->msi[vm->nr_msi].addr = LAPIC_ADDR;
		vm->msi[vm->nr_msi].data = 0;
		vm->nr_msi++;
		if (set_routes(vm))
			vm->nr_msi--;
		else
			gsi = IOAPIC_PINS + vm->nr_msi - 1;
	} else {
		errno = ENOSPC;
	}
	pthread_mutex_unlock(&vm->route_lock);
	return gsi;
}

int vm_msi_route(struct vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	unsigned int i = gsi - IOAPIC_PINS;
	int ret;

	pthread_mutex_lock(&vm->route_lock);
	vm->msi[i].addr = addr;
	vm->msi[i].data = data;
	ret = set_routes(vm);
	pthread_mutex_unlock(&vm->route_lock);
	if (ret)
		vm_request_stop(vm, RUN_EXIT_CRASH, "KVM_SET_GSI_ROUTING: %s",
				strerror(errno));
	return ret;
}
