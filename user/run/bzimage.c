// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Linux x86 boot protocol from the loader's side: the bzImage's setup
 * header checked, the zero page (struct boot_params) filled, the initrd
 * placed. Offsets and rules: Documentation/arch/x86/boot.rst and
 * zero-page.rst in the kernel tree.
 */
#include <stdio.h>
#include <string.h>

#include "layout.h"

/* setup header fields, as offsets into the file and the zero page */
#define HDR_SETUP_SECTS		0x1f1
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_HEAP_END_PTR	0x224
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_END_MAX		0x280

#define ZP_ACPI_RSDP_ADDR	0x070
#define ZP_EXT_RAMDISK_IMAGE	0x0c0
#define ZP_EXT_RAMDISK_SIZE	0x0c4
#define ZP_EXT_CMD_LINE_PTR	0x0c8
#define ZP_E820_ENTRIES		0x1e8
#define ZP_E820_TABLE		0x2d0

#define LOADED_HIGH		0x01
#define CAN_USE_HEAP		0x80
#define XLF_KERNEL_64		0x01

/* 2.12 brought xloadflags, which says whether the 64-bit entry exists */
#define MIN_PROTOCOL		0x020c

static uint16_t get16(const uint8_t *p, size_t off)
{
	return p[off] | p[off + 1] << 8;
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return get32(p, off) | (uint64_t)get32(p, off + 4) << 32;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = v;
	p[off + 1] = v >> 8;
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, v);
	put16(p, off + 2, v >> 16);
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, v);
	put32(p, off + 4, v >> 32);
}

int bzimage_parse(const void *file, size_t size, struct bzimage *bz,
		  char *err, size_t errlen)
{
	const uint8_t *p = file;
	unsigned int sects;

	memset(bz, 0, sizeof(*bz));
	if (size < HDR_END_MAX || get16(p, HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(p + HDR_MAGIC, "HdrS", 4)) {
		snprintf(err, errlen, "not a bzImage (no boot-protocol setup header); -k takes a vmlinuz file");
		return -1;
	}
	bz->version = get16(p, HDR_VERSION);
	if (bz->version < MIN_PROTOCOL) {
		snprintf(err, errlen, "boot protocol %u.%02u is too old (2.12 or later needed for the 64-bit entry)",
			 bz->version >> 8, bz->version & 0xff);
		return -1;
	}
	sects = p[HDR_SETUP_SECTS];
	if (!sects)
		sects = 4;
	bz->setup_size = (size_t)(sects + 1) * 512;
	if (bz->setup_size >= size) {
		snprintf(err, errlen, "truncated bzImage: %zu bytes, the setup part alone is %zu",
			 size, bz->setup_size);
		return -1;
	}
	bz->file = p;
	bz->file_size = size;
	bz->kernel_size = size - bz->setup_size;
	bz->loadflags = p[HDR_LOADFLAGS];
	bz->xloadflags = get16(p, HDR_XLOADFLAGS);
	bz->relocatable = p[HDR_RELOCATABLE];
	bz->initrd_addr_max = get32(p, HDR_INITRD_ADDR_MAX);
	bz->kernel_alignment = get32(p, HDR_KERNEL_ALIGNMENT);
	bz->cmdline_size = get32(p, HDR_CMDLINE_SIZE);
	bz->pref_address = get64(p, HDR_PREF_ADDRESS);
	bz->init_size = get32(p, HDR_INIT_SIZE);
	if (!(bz->loadflags & LOADED_HIGH)) {
		snprintf(err, errlen, "a zImage (loaded low), not a bzImage; only bzImages boot");
		return -1;
	}
	if (!(bz->xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "the kernel has no 64-bit entry point (xloadflags bit 0); build it for x86_64");
		return -1;
	}
	if (!bz->relocatable) {
		snprintf(err, errlen, "the kernel is not relocatable (CONFIG_RELOCATABLE=n); okvm run needs one");
		return -1;
	}
	/* a power of two of at least 4 KiB, so aligning up is meaningful */
	if (bz->kernel_alignment < 4096 ||
	    (bz->kernel_alignment & (bz->kernel_alignment - 1))) {
		snprintf(err, errlen, "bad kernel_alignment %#x in the setup header",
			 bz->kernel_alignment);
		return -1;
	}
	if (!bz->init_size || bz->cmdline_size < 255) {
		snprintf(err, errlen, "bad setup header (init_size %#x, cmdline_size %u)",
			 bz->init_size, bz->cmdline_size);
		return -1;
	}
	return 0;
}

/*
 * The 64-bit entry (startup_64 of the decompressor) aligns the load
 * address up to kernel_alignment and never goes below its compiled-in
 * LOAD_PHYSICAL_ADDR, which is pref_address; it decompresses there and
 * needs init_size bytes from that point.
 */
uint64_t bzimage_min_mem(const struct bzimage *bz)
{
	uint64_t run = KERNEL_ADDR + bz->kernel_alignment - 1;
	uint64_t end;

	run &= ~(uint64_t)(bz->kernel_alignment - 1);
	if (run < bz->pref_address)
		run = bz->pref_address;
	end = run + bz->init_size;
	if (end < KERNEL_ADDR + bz->kernel_size)
		end = KERNEL_ADDR + bz->kernel_size;
	return end;
}

uint64_t bzimage_initrd_addr(const struct bzimage *bz, uint64_t mem,
			     uint64_t initrd_size, char *err, size_t errlen)
{
	uint64_t top = ram_low(mem), lowest = bzimage_min_mem(bz), addr;

	/* initrd_addr_max is the highest address of the last byte */
	if (top > (uint64_t)bz->initrd_addr_max + 1)
		top = (uint64_t)bz->initrd_addr_max + 1;
	if (initrd_size > top || top - initrd_size < lowest) {
		snprintf(err, errlen, "the initrd (%llu MiB) does not fit below %llu MiB beside the kernel; raise -m",
			 (unsigned long long)(initrd_size >> 20),
			 (unsigned long long)(top >> 20));
		return 0;
	}
	addr = (top - initrd_size) & ~0xfffULL;
	return addr;
}

void bzimage_zero_page(const struct bzimage *bz, const struct boot_setup *s,
		       uint8_t *zp)
{
	size_t end = HDR_JUMP + 2 + bz->file[HDR_JUMP + 1];
	int i;

	memset(zp, 0, 4096);
	/* the setup header as the kernel wrote it (its length: the jump) */
	if (end > HDR_END_MAX)
		end = HDR_END_MAX;
	memcpy(zp + HDR_SETUP_SECTS, bz->file + HDR_SETUP_SECTS,
	       end - HDR_SETUP_SECTS);

	zp[HDR_TYPE_OF_LOADER] = 0xff;	/* undefined loader */
	zp[HDR_LOADFLAGS] = bz->loadflags | CAN_USE_HEAP;
	put16(zp, HDR_HEAP_END_PTR, 0xfe00);
	put32(zp, HDR_CMD_LINE_PTR, (uint32_t)s->cmdline_addr);
	put32(zp, ZP_EXT_CMD_LINE_PTR, (uint32_t)(s->cmdline_addr >> 32));
	put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)s->initrd_addr);
	put32(zp, HDR_RAMDISK_SIZE, (uint32_t)s->initrd_size);
	put32(zp, ZP_EXT_RAMDISK_IMAGE, (uint32_t)(s->initrd_addr >> 32));
	put32(zp, ZP_EXT_RAMDISK_SIZE, (uint32_t)(s->initrd_size >> 32));
	/* protocol 2.14's acpi_rsdp_addr; older kernels scan 0xe0000 */
	if (bz->version >= 0x020e)
		put64(zp, ZP_ACPI_RSDP_ADDR, s->rsdp_addr);
	zp[ZP_E820_ENTRIES] = s->e820_entries;
	for (i = 0; i < s->e820_entries; i++)
		memcpy(zp + ZP_E820_TABLE + i * sizeof(struct e820_entry),
		       &s->e820[i], sizeof(struct e820_entry));
}

/*
 * The guest's memory map: RAM below the EBDA, the EBDA and the BIOS area
 * (where the ACPI tables are) reserved, the VGA hole and option ROM space
 * absent, RAM from 1 MiB to the PCI hole at 3 GiB, the rest above 4 GiB.
 */
int e820_build(uint64_t mem, struct e820_entry *tab, int max)
{
	uint64_t low = ram_low(mem), high = ram_high(mem);
	int n = 0;

	if (max < 5 || low <= KERNEL_ADDR)
		return -1;
	tab[n++] = (struct e820_entry){ 0, EBDA_START, E820_RAM };
	tab[n++] = (struct e820_entry){ EBDA_START, 0xa0000 - EBDA_START,
					E820_RESERVED };
	tab[n++] = (struct e820_entry){ BIOS_START, KERNEL_ADDR - BIOS_START,
					E820_RESERVED };
	tab[n++] = (struct e820_entry){ KERNEL_ADDR, low - KERNEL_ADDR,
					E820_RAM };
	if (high)
		tab[n++] = (struct e820_entry){ HIGH_RAM_START, high,
						E820_RAM };
	return n;
}
