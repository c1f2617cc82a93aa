/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pure parts of okvm run, free of KVM so that host unit tests can
 * reach them: the guest-physical layout, option parsing, the bzImage
 * setup header and zero page, the e820 map and the ACPI tables.
 */
#ifndef OKVM_RUN_LAYOUT_H
#define OKVM_RUN_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Guest-physical layout below 1 MiB (Documentation/launcher.rst). The
 * kernel decompresses itself to its own pref_address; low memory up to
 * the EBDA is RAM for the kernel (its SMP trampoline lives there).
 */
#define GDT_ADDR		0x500ULL
#define ZERO_PAGE_ADDR		0x7000ULL
#define PML4_ADDR		0x9000ULL
#define PDPT_ADDR		0xa000ULL
#define PD_ADDR			0xb000ULL
#define BOOT_STACK		0x8ff0ULL
#define CMDLINE_ADDR		0x20000ULL
#define CMDLINE_MAX		0x10000ULL
#define EBDA_START		0x9fc00ULL
#define BIOS_START		0xe0000ULL	/* ACPI tables, reserved */
#define ACPI_RSDP_ADDR		BIOS_START
#define KERNEL_ADDR		0x100000ULL	/* code32_start */
#define PCI_HOLE_START		0xc0000000ULL	/* 3 GiB: MMIO below 4 GiB */
#define HIGH_RAM_START		0x100000000ULL
/* the PCI host bridge's MMIO window (the DSDT's _CRS): the BARs */
#define PCI_MMIO_START		0xc0000000U
#define PCI_MMIO_END		0xfebfffffU	/* below the I/O APIC */

#define IOAPIC_ADDR		0xfec00000ULL
#define LAPIC_ADDR		0xfee00000ULL

/* ACPI fixed hardware, in I/O space (FADT) */
#define ACPI_PM1A_EVT		0x600
#define ACPI_PM1A_CNT		0x604
#define ACPI_PM_TMR		0x608
#define ACPI_SCI_IRQ		9
#define ACPI_SLP_EN		(1u << 13)
#define ACPI_SLP_TYP_SHIFT	10
#define ACPI_S5_TYP		5

#define MIB			(1ULL << 20)
#define GIB			(1ULL << 30)
#define RUN_MAX_CPUS		240	/* MADT at most a page of entries */

#define RUN_MAX_DISKS		8
#define RUN_MAX_NETS		4
#define RUN_PATH_MAX		4096

#define RUN_VHOST_MAX		256
#define RUN_VHOST_BLK		"/dev/okvm-vhost-blk"
#define RUN_VHOST_NET		"/dev/okvm-vhost-net"

/* -d FILE[,ro][,cache=none][,vhost[=PATH]] */
struct disk_opt {
	char path[RUN_PATH_MAX];
	int ro;
	int nocache;
	/* the passphrase of the encrypted images of its chain; "" if none */
	char key_file[RUN_PATH_MAX];
	char vhost[RUN_VHOST_MAX];	/* the vhost-blk node; empty: none */
	unsigned int queues;	/* vhost-blk request queues; 0: one per vCPU */
#define RUN_BLK_QUEUES_MAX	4	/* virtio.h's VIRTIO_MAX_QUEUES */
};

/* -n tap[=NAME][,bridge=BR][,guest_mac=MAC][,vhost[=PATH]] */
struct net_opt {
	char ifname[16];	/* empty: the kernel names it */
	char bridge[16];	/* empty: no bridge */
	uint8_t mac[6];
	int has_mac;
	char vhost[RUN_VHOST_MAX];	/* the vhost-net node; empty: none */
};

struct run_opts {
	const char *kernel;
	const char *initrd;
	const char *params;
	const char *dev;
	uint64_t mem;		/* bytes */
	unsigned int cpus;
	int boot_timer;
	int rng;
	unsigned int nr_disks, nr_nets;
	struct disk_opt disk[RUN_MAX_DISKS];
	struct net_opt net[RUN_MAX_NETS];
};

/* one -d or -n value; -1 with err set when it does not parse */
int run_parse_disk(const char *s, struct disk_opt *d, char *err,
		   size_t errlen);
int run_parse_net(const char *s, struct net_opt *n, char *err,
		  size_t errlen);

/* 0: run; 1: help printed to stdout; -1: err holds a one-line reason */
int run_parse_opts(int argc, char **argv, struct run_opts *o,
		   char *err, size_t errlen);
void run_usage(void *file);

/* Guest RAM: [0, low) and, past the PCI hole, [4 GiB, 4 GiB + high) */
static inline uint64_t ram_low(uint64_t mem)
{
	return mem < PCI_HOLE_START ? mem : PCI_HOLE_START;
}

static inline uint64_t ram_high(uint64_t mem)
{
	return mem - ram_low(mem);
}

#define E820_RAM		1
#define E820_RESERVED		2
#define E820_MAX		128

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

int e820_build(uint64_t mem, struct e820_entry *tab, int max);

/* The bzImage's setup header, checked (Documentation/arch/x86/boot.rst) */
struct bzimage {
	const uint8_t *file;
	size_t file_size;
	size_t setup_size;	/* real-mode part: (setup_sects + 1) * 512 */
	size_t kernel_size;	/* protected-mode part, loaded at 1 MiB */
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint32_t cmdline_size;
	uint32_t init_size;
	uint64_t pref_address;
};

int bzimage_parse(const void *file, size_t size, struct bzimage *bz,
		  char *err, size_t errlen);

/*
 * Where the initrd goes for this kernel and memory size: the highest
 * page-aligned address the kernel accepts that leaves the decompressed
 * kernel alone. 0 and err set when it does not fit.
 */
uint64_t bzimage_initrd_addr(const struct bzimage *bz, uint64_t mem,
			     uint64_t initrd_size, char *err, size_t errlen);
/* The memory the kernel needs below ram_low() before it reads e820. */
uint64_t bzimage_min_mem(const struct bzimage *bz);

struct boot_setup {
	uint64_t cmdline_addr;
	uint32_t cmdline_len;	/* without the NUL */
	uint64_t initrd_addr;
	uint64_t initrd_size;
	uint64_t rsdp_addr;
	const struct e820_entry *e820;
	int e820_entries;
};

/* Fill the 4 KiB zero page (struct boot_params). */
void bzimage_zero_page(const struct bzimage *bz, const struct boot_setup *s,
		       uint8_t *zp);

/*
 * ACPI tables for @cpus processors into @buf, which the guest sees at
 * @base (RSDP first). Returns the bytes used, or 0 when @len is short.
 */
size_t acpi_build(uint8_t *buf, size_t len, uint64_t base, unsigned int cpus);
uint8_t acpi_checksum(const void *p, size_t len);

#endif
