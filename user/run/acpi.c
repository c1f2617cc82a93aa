// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ACPI tables okvm run gives the guest (ACPI 6.4 chapter 5): RSDP ->
 * XSDT -> FADT (-> FACS, DSDT) and MADT. The MADT describes the CPUs and
 * the I/O APIC; the FADT's PM1a blocks and the DSDT's \_S5 give Linux its
 * power-off path (it writes SLP_TYP=5 | SLP_EN to PM1a_CNT, 7.4.2.5).
 * Why ACPI and not an MP table: Documentation/design.rst.
 */
#include <string.h>

#include "layout.h"

#define RSDP_OFF	0x000
#define XSDT_OFF	0x040
#define FADT_OFF	0x100
#define FACS_OFF	0x200	/* 64-byte aligned (5.2.10) */
#define DSDT_OFF	0x300
#define MADT_OFF	0x500	/* after a DSDT of up to 0x200 bytes */

#define HDR_LEN		36
#define FADT_LEN	244	/* revision 3 (ACPI 2.0+) layout */
#define FACS_LEN	64

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

/* 5.2.6: the common header; the checksum is set once the table is whole */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "OKVM  ", 6);
	memcpy(t + 16, "OKVMRUN ", 8);
	put32(t + 24, 1);
	memcpy(t + 28, "OKVM", 4);
	put32(t + 32, 1);
}

static void finish(uint8_t *t)
{
	uint32_t len = t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24;

	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

/* 5.2.3.2 Generic Address Structure, system I/O space */
static void gas_io(uint8_t *g, uint8_t bits, uint16_t port)
{
	g[0] = 1;
	g[1] = bits;
	g[2] = 0;
	g[3] = bits == 32 ? 3 : 2;	/* access size: dword / word */
	put64(g + 4, port);
}

/*
 * The DSDT's first object: Name (\_S5, Package () { 5, 5, 0, 0 }), the
 * SLP_TYP values for soft-off (7.4.2). AML: NameOp, NameString, PackageOp,
 * PkgLength, NumElements, BytePrefix 5, BytePrefix 5, ZeroOp, ZeroOp.
 */
static const uint8_t s5_aml[] = {
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
	0x0a, ACPI_S5_TYP, 0x0a, ACPI_S5_TYP, 0x00, 0x00,
};

/*
 * The PCI host bridge's current resources (6.4 "Resource Data Types"):
 * bus numbers 0-255, the config ports 0xcf8-0xcff, the rest of I/O space
 * as a window, and the MMIO window below the I/O APIC where the BARs
 * live. Address space descriptors are producers (general flags 0x0c:
 * fixed minimum and maximum, positive decode).
 */
static const uint8_t pci_crs[] = {
	/* 6.4.3.5.3 Word Address Space: bus numbers 0-0xff */
	0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* 6.4.2.5 I/O Port: 0xcf8, 8 ports, 16-bit decode */
	0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
	/* Word I/O windows 0-0xcf7 and 0xd00-0xffff */
	0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00,
	0x00, 0x00, 0xf7, 0x0c, 0x00, 0x00, 0xf8, 0x0c,
	0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00,
	0x00, 0x0d, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf3,
	/* 6.4.3.5.2 DWord Memory: PCI_MMIO_START-PCI_MMIO_END, read-write */
	0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,
	0x00, 0x00, 0x00, 0x00,
	PCI_MMIO_START & 0xff, PCI_MMIO_START >> 8 & 0xff,
	PCI_MMIO_START >> 16 & 0xff, PCI_MMIO_START >> 24,
	PCI_MMIO_END & 0xff, PCI_MMIO_END >> 8 & 0xff,
	PCI_MMIO_END >> 16 & 0xff, PCI_MMIO_END >> 24,
	0x00, 0x00, 0x00, 0x00,
	(PCI_MMIO_END - PCI_MMIO_START + 1) & 0xff,
	(PCI_MMIO_END - PCI_MMIO_START + 1) >> 8 & 0xff,
	(PCI_MMIO_END - PCI_MMIO_START + 1) >> 16 & 0xff,
	(PCI_MMIO_END - PCI_MMIO_START + 1) >> 24,
	/* 6.4.2.9 End Tag */
	0x79, 0x00,
};

/*
 * AML 20.2.4 PkgLength: the length of what follows the opcode, counting
 * its own one to three bytes. Returns the bytes written at @p.
 */
static size_t pkg_length(uint8_t *p, size_t body)
{
	size_t v;

	if (body + 1 < 0x40) {
		p[0] = body + 1;
		return 1;
	}
	if (body + 2 < 0x1000) {
		v = body + 2;
		p[0] = 0x40 | (v & 0xf);
		p[1] = v >> 4;
		return 2;
	}
	v = body + 3;
	p[0] = 0x80 | (v & 0xf);
	p[1] = v >> 4;
	p[2] = v >> 12;
	return 3;
}

/*
 * Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId ("PNP0A03"))
 * Name (_UID, 0) Name (_CRS, ResourceTemplate () { pci_crs }) } }:
 * the root bridge Linux's ACPI PCI driver scans (config mechanism 1).
 */
static size_t pci0_aml(uint8_t *out)
{
	static const uint8_t ids[] = {
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03,
		0x08, '_', 'U', 'I', 'D', 0x00,
		0x08, '_', 'C', 'R', 'S', 0x11,
	};
	uint8_t dev[256], buf[160];
	size_t n = 0, d = 0, b = 0;

	/* Buffer: PkgLength, BufferSize (ByteConst), the descriptors */
	buf[b++] = 0x0a;
	buf[b++] = sizeof(pci_crs);
	memcpy(buf + b, pci_crs, sizeof(pci_crs));
	b += sizeof(pci_crs);

	memcpy(dev + d, "PCI0", 4);
	d += 4;
	memcpy(dev + d, ids, sizeof(ids));
	d += sizeof(ids);
	d += pkg_length(dev + d, b);
	memcpy(dev + d, buf, b);
	d += b;

	/* ScopeOp, PkgLength, \_SB_, DeviceOp, PkgLength, device body */
	out[n++] = 0x10;
	n += pkg_length(out + n, 5 + 2 + (d + 1 < 0x40 ? 1 : 2) + d);
	memcpy(out + n, "\\_SB_", 5);
	n += 5;
	out[n++] = 0x5b;
	out[n++] = 0x82;
	n += pkg_length(out + n, d);
	memcpy(out + n, dev, d);
	return n + d;
}

static size_t madt(uint8_t *t, unsigned int cpus)
{
	size_t len = HDR_LEN + 8;
	unsigned int i;
	uint8_t *e;

	put32(t + HDR_LEN, LAPIC_ADDR);
	put32(t + HDR_LEN + 4, 1);	/* PCAT_COMPAT: 8259s present */
	for (i = 0; i < cpus; i++) {	/* 5.2.12.2 Processor Local APIC */
		e = t + len;
		e[0] = 0;
		e[1] = 8;
		e[2] = i;		/* ACPI processor UID */
		e[3] = i;		/* APIC ID, as CPUID says */
		put32(e + 4, 1);	/* enabled */
		len += 8;
	}
	e = t + len;			/* 5.2.12.3 I/O APIC */
	e[0] = 1;
	e[1] = 12;
	e[2] = cpus;			/* an ID no local APIC has */
	e[3] = 0;
	put32(e + 4, IOAPIC_ADDR);
	put32(e + 8, 0);		/* GSI base */
	len += 12;
	e = t + len;			/* 5.2.12.5 override: SCI level, high */
	e[0] = 2;
	e[1] = 10;
	e[2] = 0;
	e[3] = ACPI_SCI_IRQ;
	put32(e + 4, ACPI_SCI_IRQ);
	put16(e + 8, 0x000d);
	len += 10;
	e = t + len;			/* 5.2.12.7 LINT1 is NMI on all CPUs */
	e[0] = 4;
	e[1] = 6;
	e[2] = 0xff;
	put16(e + 3, 0);
	e[5] = 1;
	len += 6;
	header(t, "APIC", len, 4);
	finish(t);
	return len;
}

size_t acpi_build(uint8_t *buf, size_t len, uint64_t base, unsigned int cpus)
{
	uint8_t *rsdp = buf + RSDP_OFF, *xsdt = buf + XSDT_OFF;
	uint8_t *fadt = buf + FADT_OFF, *facs = buf + FACS_OFF;
	uint8_t *dsdt = buf + DSDT_OFF;
	size_t madt_len, dsdt_len;

	if (!cpus || cpus > RUN_MAX_CPUS ||
	    len < MADT_OFF + HDR_LEN + 8 + 8 * cpus + 28)
		return 0;
	memset(buf, 0, len);

	/* 5.2.5.3 RSDP, revision 2 (XSDT) */
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "OKVM  ", 6);
	rsdp[15] = 2;
	put32(rsdp + 20, 36);
	put64(rsdp + 24, base + XSDT_OFF);
	rsdp[8] = acpi_checksum(rsdp, 20);
	rsdp[32] = acpi_checksum(rsdp, 36);

	/* 5.2.9 FADT */
	put32(fadt + 36, base + FACS_OFF);
	put32(fadt + 40, base + DSDT_OFF);
	put16(fadt + 46, ACPI_SCI_IRQ);
	/* SMI_CMD 0: already in ACPI mode, nothing to switch */
	put32(fadt + 56, ACPI_PM1A_EVT);
	put32(fadt + 64, ACPI_PM1A_CNT);
	put32(fadt + 76, ACPI_PM_TMR);
	fadt[88] = 4;			/* PM1_EVT_LEN */
	fadt[89] = 2;			/* PM1_CNT_LEN */
	fadt[91] = 4;			/* PM_TMR_LEN */
	put16(fadt + 96, 101);		/* C2 and C3 not supported */
	put16(fadt + 98, 1001);
	fadt[108] = 0x32;		/* CMOS century register */
	put16(fadt + 109, 1 << 2);	/* IAPC_BOOT_ARCH: no VGA */
	/* WBINVD, PROC_C1, power and sleep buttons not fixed features */
	put32(fadt + 112, 1 << 0 | 1 << 2 | 1 << 4 | 1 << 5);
	put64(fadt + 132, base + FACS_OFF);
	put64(fadt + 140, base + DSDT_OFF);
	gas_io(fadt + 148, 32, ACPI_PM1A_EVT);
	gas_io(fadt + 172, 16, ACPI_PM1A_CNT);
	gas_io(fadt + 208, 32, ACPI_PM_TMR);
	header(fadt, "FACP", FADT_LEN, 3);
	finish(fadt);

	/* 5.2.10 FACS: no checksum */
	memcpy(facs, "FACS", 4);
	put32(facs + 4, FACS_LEN);
	facs[32] = 2;			/* version */

	memcpy(dsdt + HDR_LEN, s5_aml, sizeof(s5_aml));
	dsdt_len = HDR_LEN + sizeof(s5_aml);
	dsdt_len += pci0_aml(dsdt + dsdt_len);
	header(dsdt, "DSDT", dsdt_len, 2);
	finish(dsdt);

	madt_len = madt(buf + MADT_OFF, cpus);

	header(xsdt, "XSDT", HDR_LEN + 16, 1);
	put64(xsdt + HDR_LEN, base + FADT_OFF);
	put64(xsdt + HDR_LEN + 8, base + MADT_OFF);
	finish(xsdt);
	return MADT_OFF + madt_len;
}
