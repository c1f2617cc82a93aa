// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PCI host bridge and configuration mechanism 1: a dword written to
 * 0xcf8 selects bus, device, function and register (bit 31 enables it),
 * and 0xcfc-0xcff read or write that dword's bytes (PCI Local Bus 3.0
 * 3.2.2.3.2). Only bus 0, function 0 exists; everything else reads
 * all-ones, which is how the guest learns a slot is empty. Each device's
 * config space is 256 bytes with a write mask, so read-only registers
 * stay what the device says and BAR sizing (write all-ones, read back)
 * works without special cases (PCI 3.0 6.2.5.1).
 */
#include <string.h>

#include "layout.h"
#include "pci.h"

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34
#define PCI_CAP_START		0x40

static void header(struct pci_dev *p, uint16_t vendor, uint16_t device,
		   uint32_t class, uint16_t subsys)
{
	pci_put16(p->cfg + 0x00, vendor);
	pci_put16(p->cfg + 0x02, device);
	p->cfg[0x08] = 1;			/* revision: virtio 1.x */
	p->cfg[0x09] = class;
	pci_put16(p->cfg + 0x0a, class >> 8);
	pci_put16(p->cfg + 0x2c, vendor);	/* subsystem vendor, id */
	pci_put16(p->cfg + 0x2e, subsys);
}

void pci_bus_init(struct pci_bus *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	/* 00:00.0: a host bridge, which Linux's conf1 sanity check wants */
	header(&b->host, 0x1b36, 0x0008, 0x060000, 0);
	b->host.cfg[0x08] = 0;
	b->dev[0] = &b->host;
	b->next_slot = 1;
	b->next_bar = PCI_MMIO_START;
}

int pci_dev_add(struct pci_bus *b, struct pci_dev *p, uint16_t vendor,
		uint16_t device, uint32_t class, uint16_t subsys,
		uint32_t bar_size)
{
	uint32_t bar;

	if (b->next_slot >= PCI_MAX_SLOTS || bar_size < 16 ||
	    (bar_size & (bar_size - 1)))
		return -1;
	/* naturally aligned, as the guest's sizing expects */
	bar = (b->next_bar + bar_size - 1) & ~(bar_size - 1);
	if ((uint64_t)bar + bar_size - 1 > PCI_MMIO_END)
		return -1;
	memset(p->cfg, 0, sizeof(p->cfg));
	memset(p->wmask, 0, sizeof(p->wmask));
	p->cap_free = 0;
	p->cap_link = 0;
	header(p, vendor, device, class, subsys);
	/* command: I/O, memory, bus master, INTx disable */
	pci_put16(p->wmask + PCI_COMMAND, 0x0407);
	p->bar_size = bar_size;
	pci_put32(p->cfg + PCI_BAR0, bar);	/* 32-bit, non-prefetchable */
	pci_put32(p->wmask + PCI_BAR0, ~(bar_size - 1));
	p->wmask[0x3c] = 0xff;			/* interrupt line */
	b->next_bar = bar + bar_size;
	b->dev[b->next_slot++] = p;
	return 0;
}

unsigned int pci_cap_add(struct pci_dev *p, uint8_t id, unsigned int len)
{
	unsigned int off = p->cap_free ? p->cap_free : PCI_CAP_START;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return 0;
	/* link it after the last one (or the header's pointer) */
	p->cfg[p->cap_link ? p->cap_link : PCI_CAP_PTR] = off;
	p->cfg[off] = id;
	p->cfg[off + 1] = 0;
	p->cap_link = off + 1;
	p->cap_free = (off + len + 3) & ~3u;
	p->cfg[0x06] |= PCI_STATUS_CAP_LIST;
	return off;
}

uint64_t pci_bar0(const struct pci_dev *p)
{
	if (!(p->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY))
		return 0;
	return pci_get32(p->cfg + PCI_BAR0) & ~0xfu;
}

/* the selected device and register, or NULL: lock held */
static struct pci_dev *selected(struct pci_bus *b, unsigned int *reg)
{
	uint32_t a = b->addr;

	if (!(a & 0x80000000u) || (a >> 16 & 0xff) || (a >> 8 & 7))
		return NULL;
	*reg = a & 0xfc;
	return b->dev[a >> 11 & 0x1f];
}

bool pci_io(struct pci_bus *b, uint16_t port, unsigned int size, bool write,
	    uint8_t *data)
{
	struct pci_dev *p;
	unsigned int reg, off, i;
	bool changed = false;

	if (port < PCI_CONFIG_ADDR || port > PCI_CONFIG_DATA + 3)
		return false;
	pthread_mutex_lock(&b->lock);
	if (port < PCI_CONFIG_DATA) {
		/* only whole-dword accesses reach the address register */
		if (port == PCI_CONFIG_ADDR && size == 4) {
			if (write)
				b->addr = pci_get32(data) & 0x80fffffcu;
			else
				pci_put32(data, b->addr);
		} else if (!write) {
			memset(data, 0xff, size);
		}
		pthread_mutex_unlock(&b->lock);
		return true;
	}
	p = selected(b, &reg);
	off = reg + (port - PCI_CONFIG_DATA);
	if (!p || off + size > reg + 4) {
		if (!write)
			memset(data, 0xff, size);
		pthread_mutex_unlock(&b->lock);
		return true;
	}
	for (i = 0; i < size; i++) {
		if (!write) {
			data[i] = p->cfg[off + i];
			continue;
		}
		if ((p->cfg[off + i] ^ data[i]) & p->wmask[off + i])
			changed = true;
		p->cfg[off + i] = (p->cfg[off + i] & ~p->wmask[off + i]) |
				  (data[i] & p->wmask[off + i]);
	}
	if (write && changed && p->cfg_written)
		p->cfg_written(p, off, size);
	pthread_mutex_unlock(&b->lock);
	return true;
}

bool pci_mmio(struct pci_bus *b, uint64_t addr, unsigned int len, bool write,
	      uint8_t *data)
{
	struct pci_dev *p;
	uint64_t bar;
	unsigned int i;

	pthread_mutex_lock(&b->lock);
	for (i = 1; i < PCI_MAX_SLOTS; i++) {
		p = b->dev[i];
		if (!p || !p->mmio)
			continue;
		bar = pci_bar0(p);
		if (!bar || addr < bar || addr - bar >= p->bar_size ||
		    len > p->bar_size - (addr - bar))
			continue;
		p->mmio(p, addr - bar, write, data, len);
		pthread_mutex_unlock(&b->lock);
		return true;
	}
	pthread_mutex_unlock(&b->lock);
	return false;
}
