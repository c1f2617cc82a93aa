/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * irq.h - how the in-kernel interrupt controllers talk to each other.
 *
 * An interrupt travels as on a PC (design.rst, "Interrupts"): a device
 * model raises a GSI (KVM_IRQ_LINE, an irqfd, the PIT) or writes an MSI
 * (KVM_SIGNAL_MSI, an irqfd routed to MSI); the routing table (routing.c)
 * sends a GSI to IOAPIC pins and PIC inputs; the IOAPIC (ioapic.c) and MSIs
 * become APIC messages (struct okvm_apic_irq) delivered to local APICs
 * (lapic.c); the PIC pair (pic.c) is wired to LINT0 of every local APIC and
 * read with an interrupt acknowledge (ExtINT). The run loop (run.c) takes
 * the highest event a vCPU may take at each entry and injects it through
 * the vendor's hooks.
 *
 * Each file owns its state and its lock; these calls are the only way in.
 */
#ifndef OKVM_X86_IRQ_H
#define OKVM_X86_IRQ_H

#include <linux/kvm.h>
#include <linux/types.h>

struct okvm_vm;
struct okvm_vcpu;

/* Delivery modes of an APIC message (SDM Vol. 3 10.6.1, ICR bits 10:8). */
enum okvm_apic_dm {
	OKVM_APIC_DM_FIXED = 0,
	OKVM_APIC_DM_LOWEST = 1,
	OKVM_APIC_DM_SMI = 2,
	OKVM_APIC_DM_NMI = 4,
	OKVM_APIC_DM_INIT = 5,
	OKVM_APIC_DM_SIPI = 6,
	OKVM_APIC_DM_EXTINT = 7,
};

/* Destination shorthands (ICR bits 19:18). */
enum okvm_apic_shorthand {
	OKVM_APIC_DEST_NONE = 0,
	OKVM_APIC_DEST_SELF = 1,
	OKVM_APIC_DEST_ALL = 2,		/* all including self */
	OKVM_APIC_DEST_OTHERS = 3,	/* all excluding self */
};

/*
 * struct okvm_apic_irq - one APIC message: an IPI, an IOAPIC redirection
 * or an MSI, in the terms of the ICR (SDM Vol. 3 10.6.1) so that all three
 * share one delivery path (okvm_apic_deliver()).
 *
 * @dest is an APIC ID (physical) or an MDA (logical) in the width of the
 * mode the targets are in: 8 bits for xAPIC, 32 for x2APIC.
 */
struct okvm_apic_irq {
	u8 vector;
	u8 delivery_mode;	/* enum okvm_apic_dm */
	u8 shorthand;		/* enum okvm_apic_shorthand */
	bool dest_logical;
	bool level_trigger;	/* level-triggered: the EOI is broadcast */
	bool assert;		/* level IPIs: assert or de-assert */
	u32 dest;
};

/* lapic.c */
int okvm_lapic_create(struct okvm_vcpu *vcpu);
void okvm_lapic_free(struct okvm_vcpu *vcpu);
/*
 * Deliver @irq to every local APIC it names (lowest priority: to one of
 * them); @src is the sender for shorthands and may be NULL for the IOAPIC
 * and MSIs. Returns how many APICs accepted it, or -1 if none was named.
 * Any context that may take spinlocks (irqfd wake-ups run with a
 * wait-queue lock held and interrupts off).
 */
int okvm_apic_deliver(struct okvm_vm *vm, struct okvm_vcpu *src,
		      const struct okvm_apic_irq *irq);
/* The PIC's output reaches this vCPU (LINT0 in ExtINT mode, SDM 10.5.1). */
bool okvm_lapic_accepts_pic(struct okvm_vcpu *vcpu);

/*
 * ioapic.c: @vector was EOIed on a local APIC (any trigger mode: edge
 * pins' ack notifiers hear of it too).
 */
void okvm_ioapic_eoi(struct okvm_vm *vm, u8 vector);

/* pic.c */
bool okvm_pic_output(struct okvm_vm *vm);	/* INTR asserted */
int okvm_pic_ack(struct okvm_vm *vm);		/* INTA: the vector */
int okvm_pic_create(struct okvm_vm *vm);
void okvm_pic_free(struct okvm_vm *vm);
int okvm_pic_set_irq(struct okvm_vm *vm, unsigned int pin, int source_id,
		     int level);
/* Port I/O at the PIC's ports: 0 when it took the access, else -ENOENT. */
int okvm_pic_pio(struct okvm_vm *vm, u16 port, unsigned int size, bool in,
		 void *data);
void okvm_pic_get_state(struct okvm_vm *vm, unsigned int chip,
			struct kvm_pic_state *state);
void okvm_pic_set_state(struct okvm_vm *vm, unsigned int chip,
			const struct kvm_pic_state *state);

/* ioapic.c (and okvm_ioapic_eoi() above) */
int okvm_ioapic_create(struct okvm_vm *vm);
void okvm_ioapic_free(struct okvm_vm *vm);
int okvm_ioapic_set_irq(struct okvm_vm *vm, unsigned int pin, int source_id,
			int level);
/* MMIO to the IOAPIC page: 0 when it took the access, else -ENOENT. */
int okvm_ioapic_mmio(struct okvm_vm *vm, u64 gpa, unsigned int len,
		     bool write, void *data);
void okvm_ioapic_get_state(struct okvm_vm *vm, struct kvm_ioapic_state *state);
void okvm_ioapic_set_state(struct okvm_vm *vm,
			   const struct kvm_ioapic_state *state);

/*
 * routing.c: drive GSI @gsi to @level (1 or 0) on behalf of @source_id
 * (KVM's irq sources: OKVM_IRQ_SOURCE_USER for KVM_IRQ_LINE, others for
 * the PIT and resampling irqfds; a line is the OR of its sources). Returns
 * as KVM_IRQ_LINE_STATUS does: >0 delivered, 0 coalesced, -1 masked.
 * Sleeps not; takes spinlocks.
 */
/* KVM's limit on GSIs and routing entries (KVM_CAP_IRQ_ROUTING). */
#define OKVM_MAX_IRQ_ROUTES		4096

#define OKVM_IRQ_SOURCE_USER		0
#define OKVM_IRQ_SOURCE_PIT		1
#define OKVM_IRQ_SOURCE_RESAMPLE	2
int okvm_set_irq(struct okvm_vm *vm, int source_id, u32 gsi, int level);
int okvm_deliver_msi(struct okvm_vm *vm, const struct kvm_msi *msi);
void okvm_irq_routing_vm_init(struct okvm_vm *vm);
int okvm_irq_routing_set_default(struct okvm_vm *vm);
int okvm_irq_routing_ioctl(struct okvm_vm *vm, void __user *argp);
void okvm_irq_routing_free(struct okvm_vm *vm);
/*
 * routing.c: when @gsi routes to exactly one MSI, fill in @msi and return
 * true, so that an irqfd's wake-up can deliver it in place; false for
 * irqchip routes (and none). Any context that may take spinlocks.
 */
bool okvm_route_msi(struct okvm_vm *vm, u32 gsi, struct kvm_msi *msi);

/*
 * An ack notifier: called (any context that may take spinlocks) when the
 * guest EOIs the interrupt of @gsi, so that the PIT reinjects and a
 * resampling irqfd lowers its line (ioapic.c and pic.c call
 * okvm_notify_acked()).
 */
struct okvm_irq_ack_notifier {
	struct hlist_node link;
	u32 gsi;
	void (*acked)(struct okvm_irq_ack_notifier *ian);
	/*
	 * Optional: the guest unmasked an IOAPIC pin or PIC input of @gsi.
	 * A tick raised while the line was masked is never acknowledged,
	 * and the PIT would wait for that ack forever; KVM's PIT restarts
	 * its reinjection on unmask (its mask notifier), and okvm's here.
	 * Called with a chip's lock held: no sleeping, no chip locks.
	 */
	void (*unmasked)(struct okvm_irq_ack_notifier *ian);
};

void okvm_register_irq_ack_notifier(struct okvm_vm *vm,
				    struct okvm_irq_ack_notifier *ian);
void okvm_unregister_irq_ack_notifier(struct okvm_vm *vm,
				      struct okvm_irq_ack_notifier *ian);
void okvm_notify_acked(struct okvm_vm *vm, u32 gsi);
void okvm_notify_unmasked_pin(struct okvm_vm *vm, unsigned int irqchip,
			      unsigned int pin);
/* The GSIs routed to pin @pin of @irqchip (KVM_IRQCHIP_*) were acked. */
void okvm_notify_acked_pin(struct okvm_vm *vm, unsigned int irqchip,
			   unsigned int pin);

/*
 * run.c: make @vcpu look at its pending events soon: wake it if it sleeps
 * in HLT, or interrupt its physical CPU if it is in guest mode. Any
 * context.
 */
void okvm_vcpu_kick(struct okvm_vcpu *vcpu);

#endif /* OKVM_X86_IRQ_H */
