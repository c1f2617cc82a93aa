/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * okvm run's PCI bus: one host bridge and the devices on bus 0, reached
 * through configuration mechanism 1 (ports 0xcf8/0xcfc, PCI Local Bus
 * 3.0 section 3.2.2.3.2) and through their memory BARs. Free of KVM, so
 * that host unit tests drive it as the guest would.
 */
#ifndef OKVM_RUN_PCI_H
#define OKVM_RUN_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define PCI_CONFIG_ADDR		0xcf8
#define PCI_CONFIG_DATA		0xcfc
#define PCI_MAX_SLOTS		32
#define PCI_CFG_SIZE		256

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may change */
	uint32_t bar_size;		/* BAR 0 only: 32-bit memory */
	unsigned int cap_free, cap_link;	/* pci_cap_add()'s */
	void *opaque;
	/* after a config write: BAR, command or MSI-X control changed */
	void (*cfg_written)(struct pci_dev *p, unsigned int off,
			    unsigned int len);
	/* an access inside BAR 0 */
	void (*mmio)(struct pci_dev *p, uint64_t off, bool write,
		     uint8_t *data, unsigned int len);
};

/* Locking: @lock guards @addr and every device's config space. */
struct pci_bus {
	pthread_mutex_t lock;
	uint32_t addr;
	struct pci_dev *dev[PCI_MAX_SLOTS];
	struct pci_dev host;
	unsigned int next_slot;
	uint32_t next_bar;
};

void pci_bus_init(struct pci_bus *b);
/* a type-0 header at the next free slot, BAR 0 of @bar_size placed */
int pci_dev_add(struct pci_bus *b, struct pci_dev *p, uint16_t vendor,
		uint16_t device, uint32_t class, uint16_t subsys,
		uint32_t bar_size);
/* the next capability: @len bytes at the returned offset, linked in */
unsigned int pci_cap_add(struct pci_dev *p, uint8_t id, unsigned int len);

/* ports 0xcf8-0xcff; false if @port is not one of them */
bool pci_io(struct pci_bus *b, uint16_t port, unsigned int size, bool write,
	    uint8_t *data);
/* a BAR access; false if no enabled BAR holds [addr, addr + len) */
bool pci_mmio(struct pci_bus *b, uint64_t addr, unsigned int len, bool write,
	      uint8_t *data);
/* BAR 0's guest address, 0 when memory decoding is off; lock held */
uint64_t pci_bar0(const struct pci_dev *p);

static inline uint32_t pci_get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void pci_put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void pci_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

#endif
