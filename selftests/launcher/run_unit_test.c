// SPDX-License-Identifier: GPL-2.0-only
/*
 * run_unit_test.c - host-run tests of okvm run's pure parts: option
 * parsing, the bzImage setup-header checks, the zero page, initrd
 * placement, the e820 map and the ACPI tables' checksums and contents.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "run/layout.h"

static int parse(struct run_opts *o, char *err, ...)
{
	char *argv[32] = { "run" };
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return run_parse_opts(argc, argv, o, err, 256);
}

TEST(opts_defaults)
{
	struct run_opts o;
	char err[256];

	ASSERT_EQ(0, parse(&o, err, "-k", "bz", NULL));
	EXPECT_STREQ("bz", o.kernel);
	EXPECT_EQ(512 * MIB, o.mem);
	EXPECT_EQ(1, o.cpus);
	EXPECT_EQ(NULL, o.initrd);
	EXPECT_EQ(NULL, o.dev);
}

TEST(opts_long_and_sizes)
{
	struct run_opts o;
	char err[256];

	ASSERT_EQ(0, parse(&o, err, "--kernel", "bz", "--initrd", "ir",
			   "--params", "quiet", "--mem", "2G", "--cpus", "4",
			   "--dev", "/dev/kvm", "--boot-timer", NULL));
	EXPECT_EQ(2 * GIB, o.mem);
	EXPECT_EQ(4, o.cpus);
	EXPECT_STREQ("ir", o.initrd);
	EXPECT_STREQ("quiet", o.params);
	EXPECT_STREQ("/dev/kvm", o.dev);
	EXPECT_EQ(1, o.boot_timer);
	ASSERT_EQ(0, parse(&o, err, "-k", "bz", "-m", "256", NULL));
	EXPECT_EQ(256 * MIB, o.mem);	/* kvmtool: plain numbers are MiB */
	ASSERT_EQ(0, parse(&o, err, "-k", "bz", "-m", "65536K", NULL));
	EXPECT_EQ(64 * MIB, o.mem);
	ASSERT_EQ(1, parse(&o, err, "--help", NULL));
	ASSERT_EQ(1, parse(&o, err, "-h", NULL));
}

TEST(opts_bad)
{
	struct run_opts o;
	char err[256];

	EXPECT_EQ(-1, parse(&o, err, NULL));
	EXPECT_NE(NULL, strstr(err, "-k KERNEL"));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-c", "0", NULL));
	EXPECT_NE(NULL, strstr(err, "-c"));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-c", "241", NULL));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-c", "2x", NULL));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-c", "-1", NULL));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-m", "1T", NULL));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-m", "16M", NULL));
	EXPECT_NE(NULL, strstr(err, "too small"));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-m", "1000K", NULL));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-m", "", NULL));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "-m", "99999999999999G", NULL));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "--bogus", NULL));
	EXPECT_NE(NULL, strstr(err, "--bogus"));
	EXPECT_EQ(-1, parse(&o, err, "-k", NULL));
	EXPECT_NE(NULL, strstr(err, "needs a value"));
	EXPECT_EQ(-1, parse(&o, err, "-k", "bz", "extra", NULL));
	EXPECT_NE(NULL, strstr(err, "extra"));
}

TEST(opts_devices)
{
	struct run_opts *o = malloc(sizeof(*o));
	char err[256];

	ASSERT_EQ(0, parse(o, err, "-k", "bz", "-d", "a.img", "--disk",
			   "b.qcow2,ro,key-file=/k/b.key,cache=none", "--rng", "-n", "tap",
			   "--network", "tap=tap7,bridge=br0,guest_mac=52:54:00:12:34:56",
			   NULL));
	EXPECT_EQ(2, o->nr_disks);
	EXPECT_STREQ("a.img", o->disk[0].path);
	EXPECT_EQ(0, o->disk[0].ro);
	EXPECT_EQ(0, o->disk[0].nocache);
	EXPECT_STREQ("b.qcow2", o->disk[1].path);
	EXPECT_EQ(1, o->disk[1].ro);
	EXPECT_EQ(1, o->disk[1].nocache);
	EXPECT_STREQ("", o->disk[0].key_file);
	EXPECT_STREQ("/k/b.key", o->disk[1].key_file);
	EXPECT_EQ(1, o->rng);
	EXPECT_EQ(2, o->nr_nets);
	EXPECT_STREQ("", o->net[0].ifname);
	EXPECT_STREQ("", o->net[0].bridge);
	EXPECT_EQ(0, o->net[0].has_mac);
	EXPECT_STREQ("tap7", o->net[1].ifname);
	EXPECT_STREQ("br0", o->net[1].bridge);
	EXPECT_EQ(1, o->net[1].has_mac);
	EXPECT_EQ(0x52, o->net[1].mac[0]);
	EXPECT_EQ(0x56, o->net[1].mac[5]);

	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", ",ro", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "a,rw", NULL));
	EXPECT_NE(NULL, strstr(err, "unknown disk option 'rw'"));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "a,ro,", NULL));
	ASSERT_EQ(0, parse(o, err, "-k", "bz", "-d", "a,vhost,queues=2", NULL));
	EXPECT_EQ(2, o->disk[0].queues);
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "a,queues=2", NULL));
	EXPECT_NE(NULL, strstr(err, "queues= is for vhost disks"));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "a,vhost,queues=0", NULL));
	EXPECT_NE(NULL, strstr(err, "queues takes 1 to 4"));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "a,vhost,queues=5", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "a,vhost,queues=12", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "a,key-file=", NULL));
	EXPECT_NE(NULL, strstr(err, "unknown disk option 'key-file='"));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-d", "a", "-d", "a", "-d", "a",
			    "-d", "a", "-d", "a", "-d", "a", "-d", "a", "-d", "a",
			    "-d", "a", NULL));
	EXPECT_NE(NULL, strstr(err, "at most 8 disks"));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-n", "user", NULL));
	EXPECT_NE(NULL, strstr(err, "-n takes"));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-n", "tap=", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-n", "tap=0123456789abcdef", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-n", "tap,bridge=", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-n", "tap,guest_mac=01:00:00:00:00:01", NULL));
	EXPECT_NE(NULL, strstr(err, "unicast"));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-n", "tap,guest_mac=52:54:00:12:34", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-n", "tap,guest_mac=52:54:00:12:34:567", NULL));
	EXPECT_EQ(-1, parse(o, err, "-k", "bz", "-n", "tap,vhost=on", NULL));
	free(o);
}

/* a minimal valid setup header, as Debian's kernels have it */
static uint8_t *fake_bzimage(size_t size)
{
	uint8_t *p = calloc(1, size);

	p[0x1f1] = 27;				/* setup_sects */
	p[0x1fe] = 0x55;
	p[0x1ff] = 0xaa;
	p[0x200] = 0xeb;
	p[0x201] = 0x6a;			/* header to 0x26c */
	memcpy(p + 0x202, "HdrS", 4);
	p[0x206] = 0x0f;
	p[0x207] = 0x02;			/* 2.15 */
	p[0x211] = 0x01;			/* LOADED_HIGH */
	memcpy(p + 0x22c, "\xff\xff\xff\x7f", 4);	/* initrd_addr_max */
	memcpy(p + 0x230, "\x00\x00\x20\x00", 4);	/* 2 MiB alignment */
	p[0x234] = 1;				/* relocatable */
	p[0x236] = 0x03;			/* XLF_KERNEL_64 | above 4G */
	memcpy(p + 0x238, "\xff\x07\x00\x00", 4);	/* cmdline_size */
	memcpy(p + 0x258, "\x00\x00\x00\x01\x00\x00\x00\x00", 8);
	memcpy(p + 0x260, "\x00\x00\x00\x02", 4);	/* init_size 32 MiB */
	return p;
}

TEST(bzimage_header_checks)
{
	size_t size = 1 << 20;
	uint8_t *p = fake_bzimage(size);
	struct bzimage bz;
	char err[256];

	ASSERT_EQ(0, bzimage_parse(p, size, &bz, err, sizeof(err)));
	EXPECT_EQ(28 * 512, bz.setup_size);
	EXPECT_EQ(size - 28 * 512, bz.kernel_size);
	EXPECT_EQ(0x020f, bz.version);
	EXPECT_EQ(0x7fffffff, bz.initrd_addr_max);
	EXPECT_EQ(2047, bz.cmdline_size);
	EXPECT_EQ(0x1000000, bz.pref_address);
	/* runs at pref_address (16 MiB) + init_size */
	EXPECT_EQ(0x1000000 + 0x2000000, bzimage_min_mem(&bz));

	EXPECT_EQ(-1, bzimage_parse(p, 0x200, &bz, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a bzImage"));
	EXPECT_EQ(-1, bzimage_parse(p, 28 * 512, &bz, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "truncated"));

	p[0x202] = 'X';
	EXPECT_EQ(-1, bzimage_parse(p, size, &bz, err, sizeof(err)));
	p[0x202] = 'H';
	p[0x1fe] = 0;
	EXPECT_EQ(-1, bzimage_parse(p, size, &bz, err, sizeof(err)));
	p[0x1fe] = 0x55;
	p[0x206] = 0x0b;
	EXPECT_EQ(-1, bzimage_parse(p, size, &bz, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "too old"));
	p[0x206] = 0x0f;
	p[0x236] = 0x02;
	EXPECT_EQ(-1, bzimage_parse(p, size, &bz, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "64-bit"));
	p[0x236] = 0x03;
	p[0x234] = 0;
	EXPECT_EQ(-1, bzimage_parse(p, size, &bz, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "relocatable"));
	p[0x234] = 1;
	p[0x211] = 0;
	EXPECT_EQ(-1, bzimage_parse(p, size, &bz, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "zImage"));
	p[0x211] = 1;
	p[0x230] = 1;	/* alignment not a power of two */
	EXPECT_EQ(-1, bzimage_parse(p, size, &bz, err, sizeof(err)));
	p[0x230] = 0;
	p[0x1f1] = 0;	/* 0 means 4 sectors */
	ASSERT_EQ(0, bzimage_parse(p, size, &bz, err, sizeof(err)));
	EXPECT_EQ(5 * 512, bz.setup_size);
	free(p);
}

/* Debian's own kernels, where the build host has them */
TEST(bzimage_debian)
{
	struct dirent *d;
	int n = 0;
	DIR *dir = opendir("/boot");

	if (!dir)
		SKIP(return, "no /boot");
	while ((d = readdir(dir))) {
		char path[512], err[256];
		struct bzimage bz;
		struct stat st;
		uint8_t *buf;
		int fd;

		if (strncmp(d->d_name, "vmlinuz-", 8))
			continue;
		snprintf(path, sizeof(path), "/boot/%s", d->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0 || fstat(fd, &st)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		buf = malloc(st.st_size);
		ASSERT_EQ(st.st_size, read(fd, buf, st.st_size));
		close(fd);
		EXPECT_EQ(0, bzimage_parse(buf, st.st_size, &bz, err, sizeof(err)))
			TH_LOG("%s: %s", path, err);
		EXPECT_GE(bz.version, 0x020f);
		EXPECT_LT(bzimage_min_mem(&bz), 128 * MIB);
		free(buf);
		n++;
	}
	closedir(dir);
	if (!n)
		SKIP(return, "no /boot/vmlinuz-*");
}

TEST(initrd_placement)
{
	uint8_t *p = fake_bzimage(1 << 20);
	struct bzimage bz;
	char err[256];
	uint64_t a;

	ASSERT_EQ(0, bzimage_parse(p, 1 << 20, &bz, err, sizeof(err)));
	/* at the top of RAM, page aligned */
	a = bzimage_initrd_addr(&bz, 512 * MIB, 10 * MIB + 1, err, sizeof(err));
	EXPECT_EQ(0, a & 0xfff);
	EXPECT_LE(a + 10 * MIB + 1, 512 * MIB);
	EXPECT_GE(a, bzimage_min_mem(&bz));
	/* below initrd_addr_max (2 GiB - 1) and the PCI hole with 6 GiB */
	a = bzimage_initrd_addr(&bz, 6 * GIB, MIB, err, sizeof(err));
	EXPECT_LE(a + MIB, 2 * GIB);
	EXPECT_NE(0, a);
	/* too big: not beside the kernel */
	EXPECT_EQ(0, bzimage_initrd_addr(&bz, 64 * MIB, 32 * MIB, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "raise -m"));
	EXPECT_EQ(0, bzimage_initrd_addr(&bz, 64 * MIB, 1ULL << 40, err, sizeof(err)));
	free(p);
}

TEST(zero_page)
{
	uint8_t *p = fake_bzimage(1 << 20), zp[4096];
	struct e820_entry e820[E820_MAX];
	struct boot_setup s = { 0 };
	struct bzimage bz;
	char err[256];
	uint64_t rsdp;
	uint32_t v;

	ASSERT_EQ(0, bzimage_parse(p, 1 << 20, &bz, err, sizeof(err)));
	s.cmdline_addr = CMDLINE_ADDR;
	s.initrd_addr = 0x1f000000;
	s.initrd_size = 0x123456;
	s.rsdp_addr = ACPI_RSDP_ADDR;
	s.e820 = e820;
	s.e820_entries = e820_build(512 * MIB, e820, E820_MAX);
	bzimage_zero_page(&bz, &s, zp);
	EXPECT_EQ(0, memcmp(zp + 0x202, "HdrS", 4));
	EXPECT_EQ(0xff, zp[0x210]);		/* type_of_loader */
	EXPECT_EQ(0x81, zp[0x211]);		/* LOADED_HIGH | CAN_USE_HEAP */
	memcpy(&v, zp + 0x228, 4);
	EXPECT_EQ(CMDLINE_ADDR, v);
	memcpy(&v, zp + 0x218, 4);
	EXPECT_EQ(0x1f000000, v);
	memcpy(&v, zp + 0x21c, 4);
	EXPECT_EQ(0x123456, v);
	memcpy(&rsdp, zp + 0x70, 8);
	EXPECT_EQ(ACPI_RSDP_ADDR, rsdp);
	EXPECT_EQ(s.e820_entries, zp[0x1e8]);
	EXPECT_EQ(0, memcmp(zp + 0x2d0, e820, s.e820_entries * 20));
	/* nothing of the file past the header leaks in */
	EXPECT_EQ(0, zp[0x26c]);
	free(p);
}

static uint64_t ram_in(const struct e820_entry *e, int n)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		if (e[i].type == E820_RAM)
			sum += e[i].size;
	return sum;
}

TEST(e820_layout)
{
	static const uint64_t sizes[] = { 64 * MIB, 512 * MIB, 3 * GIB,
					  3 * GIB + MIB, 8 * GIB };
	struct e820_entry e[E820_MAX];
	unsigned int k;
	int n, i;

	for (k = 0; k < ARRAY_SIZE(sizes); k++) {
		n = e820_build(sizes[k], e, E820_MAX);
		ASSERT_GT(n, 3);
		for (i = 1; i < n; i++)		/* sorted, disjoint */
			EXPECT_LE(e[i - 1].addr + e[i - 1].size, e[i].addr);
		for (i = 0; i < n; i++) {
			/* no RAM in the VGA/ROM hole or the PCI hole */
			if (e[i].type != E820_RAM)
				continue;
			EXPECT_FALSE(e[i].addr < 0x100000 &&
				     e[i].addr + e[i].size > 0xa0000);
			EXPECT_FALSE(e[i].addr < HIGH_RAM_START &&
				     e[i].addr + e[i].size > PCI_HOLE_START);
		}
		/* all of -m is RAM but the 640 KiB-1 MiB gap */
		EXPECT_EQ(sizes[k] - (KERNEL_ADDR - EBDA_START), ram_in(e, n));
		/* the ACPI tables' home is reserved */
		EXPECT_EQ(BIOS_START, e[2].addr);
		EXPECT_EQ(E820_RESERVED, e[2].type);
	}
	EXPECT_EQ(5, e820_build(8 * GIB, e, E820_MAX));
	EXPECT_EQ(HIGH_RAM_START, e[4].addr);
	EXPECT_EQ(5 * GIB, e[4].size);
	EXPECT_EQ(-1, e820_build(512 * MIB, e, 2));
}

static const uint8_t *table(const uint8_t *buf, uint64_t addr)
{
	return buf + (addr - BIOS_START);
}

static uint32_t len32(const uint8_t *t)
{
	uint32_t v;

	memcpy(&v, t + 4, 4);
	return v;
}

TEST(acpi_tables)
{
	static uint8_t buf[KERNEL_ADDR - BIOS_START];
	unsigned int cpus, lapics;
	const uint8_t *xsdt, *fadt, *madt, *dsdt, *e;
	uint64_t a;
	uint32_t a32;

	for (cpus = 1; cpus <= RUN_MAX_CPUS; cpus += 47) {
		ASSERT_LT(0, acpi_build(buf, sizeof(buf), BIOS_START, cpus));
		EXPECT_EQ(0, memcmp(buf, "RSD PTR ", 8));
		EXPECT_EQ(0, acpi_checksum(buf, 20));
		EXPECT_EQ(0, acpi_checksum(buf, 36));
		memcpy(&a, buf + 24, 8);
		xsdt = table(buf, a);
		EXPECT_EQ(0, memcmp(xsdt, "XSDT", 4));
		EXPECT_EQ(0, acpi_checksum(xsdt, len32(xsdt)));
		memcpy(&a, xsdt + 36, 8);
		fadt = table(buf, a);
		memcpy(&a, xsdt + 44, 8);
		madt = table(buf, a);
		EXPECT_EQ(0, memcmp(fadt, "FACP", 4));
		EXPECT_EQ(0, acpi_checksum(fadt, len32(fadt)));
		EXPECT_EQ(0, memcmp(madt, "APIC", 4));
		EXPECT_EQ(0, acpi_checksum(madt, len32(madt)));
		memcpy(&a32, fadt + 40, 4);
		dsdt = table(buf, a32);
		EXPECT_EQ(0, memcmp(dsdt, "DSDT", 4));
		EXPECT_EQ(0, acpi_checksum(dsdt, len32(dsdt)));
		EXPECT_NE(NULL, memmem(dsdt, len32(dsdt), "_S5_", 4));
		EXPECT_NE(NULL, memmem(dsdt, len32(dsdt), "PCI0", 4));
		EXPECT_NE(NULL, memmem(dsdt, len32(dsdt), "\x41\xd0\x0a\x03", 4));
		EXPECT_GE(madt, dsdt + len32(dsdt));
		/* \_SB's Scope: its PkgLength reaches exactly the table's end */
		e = dsdt + 36 + 14;
		ASSERT_EQ(0x10, e[0]);
		ASSERT_EQ(0x40, e[1] & 0xc0);
		EXPECT_EQ(len32(dsdt), 36 + 14 + 1 + ((e[1] & 0xf) | e[2] << 4));
		memcpy(&a32, fadt + 36, 4);
		EXPECT_EQ(0, memcmp(table(buf, a32), "FACS", 4));
		EXPECT_EQ(0, a32 % 64);
		memcpy(&a32, fadt + 64, 4);
		EXPECT_EQ(ACPI_PM1A_CNT, a32);
		/* one enabled local APIC per vCPU, IDs 0..cpus-1 */
		lapics = 0;
		for (e = madt + 44; e < madt + len32(madt); e += e[1]) {
			ASSERT_GT(e[1], 0);
			if (e[0] == 0) {
				EXPECT_EQ(lapics, e[3]);
				EXPECT_EQ(1, e[4] & 1);
				lapics++;
			}
		}
		EXPECT_EQ(cpus, lapics);
	}
	EXPECT_EQ(0, acpi_build(buf, sizeof(buf), BIOS_START, 0));
	EXPECT_EQ(0, acpi_build(buf, sizeof(buf), BIOS_START, RUN_MAX_CPUS + 1));
	EXPECT_EQ(0, acpi_build(buf, 1024, BIOS_START, 8));
}

TEST_HARNESS_MAIN
