// SPDX-License-Identifier: GPL-2.0-only
/*
 * paging_test.c - host unit tests of the guest page-table walk with access
 * checks in kmod/x86/paging.c.
 *
 * Each test builds guest page tables in a small fake guest-physical memory
 * and asks for one translation. The expected answers come from the Intel
 * SDM Vol. 3 (2023) 4.3-4.5 (formats and reserved bits), 4.6.1 (access
 * rights: U/S, R/W, CR0.WP, NX, SMEP, SMAP with EFLAGS.AC and implicit
 * supervisor accesses) and 4.7 (the #PF error code: P, W/R, U/S, RSVD,
 * I/D), and the AMD APM Vol. 2 5.3-5.6 and 8.4.2.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "paging.h"

#define MEM_SIZE	(256 * 4096)

#define P	BIT_ULL(0)
#define RW	BIT_ULL(1)
#define US	BIT_ULL(2)
#define PS	BIT_ULL(7)
#define XD	BIT_ULL(63)
#define ALL	(P | RW | US)

#define CR0_WP	BIT_ULL(16)
#define CR0_PG	BIT_ULL(31)
#define CR4_PSE	BIT_ULL(4)
#define CR4_PAE	BIT_ULL(5)
#define CR4_LA57 BIT_ULL(12)
#define CR4_SMEP BIT_ULL(20)
#define CR4_SMAP BIT_ULL(21)
#define EFER_LMA BIT_ULL(10)
#define EFER_NXE BIT_ULL(11)
#define RFLAGS_AC BIT_ULL(18)

/* Error codes, spelled out. */
#define E_P	OKVM_PFERR_PRESENT
#define E_W	OKVM_PFERR_WRITE
#define E_U	OKVM_PFERR_USER
#define E_R	OKVM_PFERR_RSVD
#define E_I	OKVM_PFERR_FETCH

#define WR	OKVM_ACC_WRITE
#define FETCH	OKVM_ACC_FETCH
#define IMPL	OKVM_ACC_IMPLICIT

static unsigned char mem[MEM_SIZE];

static int read_gpa(void *ctx, u64 gpa, void *val, unsigned int len)
{
	if (gpa + len > MEM_SIZE)
		return -1;
	memcpy(val, mem + gpa, len);
	return 0;
}

static void put64(u64 gpa, u64 v)
{
	memcpy(mem + gpa, &v, 8);
}

static void put32(u64 gpa, u32 v)
{
	memcpy(mem + gpa, &v, 4);
}

/*
 * The test linear address, 0x40405123: in 4-level paging PML4 index 0,
 * PDPT index 1, PD index 2, PT index 5. Tables: PML5 0x6000 (for LA57),
 * PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000; the page at 0x10000.
 */
#define LA		0x40405123ULL
#define PAGE_GPA	0x10000ULL

struct tables {
	u64 pml5e, pml4e, pdpte, pde, pte;
};

/* Every level P|RW|US, the leaf as given. */
static struct tables rights(u64 leaf)
{
	return (struct tables){ ALL, ALL, ALL, ALL, leaf };
}

static void build4(const struct tables *t)
{
	memset(mem, 0, sizeof(mem));
	put64(0x6000, 0x1000 | t->pml5e);
	put64(0x1000, 0x2000 | t->pml4e);
	put64(0x2000 + 1 * 8, 0x3000 | t->pdpte);
	put64(0x3000 + 2 * 8, 0x4000 | t->pde);
	put64(0x4000 + 5 * 8, PAGE_GPA | t->pte);
}

static struct okvm_paging_state long_mode(void)
{
	return (struct okvm_paging_state){
		.cr0 = CR0_PG | CR0_WP,
		.cr3 = 0x1000,
		.cr4 = CR4_PAE,
		.efer = EFER_LMA | EFER_NXE,
		.maxphyaddr = 48,
		.gbpages = true,
	};
}

/* Walk LA; return the error code, or -1 when it translated (to *gpa). */
static long walk(const struct okvm_paging_state *s, u64 la,
		 unsigned int access, u64 *gpa)
{
	u32 ec = 0xdead;
	u64 g = 0;
	int ret = okvm_paging_walk(s, la, access, read_gpa, NULL, &g, &ec);

	if (gpa)
		*gpa = g;
	if (ret == OKVM_WALK_OK)
		return -1;
	return ec;
}

/* Build @t in 4-level form and walk LA with @access at @cpl. */
static long walk4(struct tables t, struct okvm_paging_state s,
		  unsigned int cpl, unsigned int access)
{
	build4(&t);
	s.cpl = cpl;
	return walk(&s, LA, access, NULL);
}

TEST(four_level_translates)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL);
	u64 gpa;

	build4(&t);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(PAGE_GPA | 0x123, gpa);
	s.cpl = 3;
	EXPECT_EQ(-1, walk(&s, LA, WR, &gpa));
	EXPECT_EQ(-1, walk(&s, LA, FETCH, &gpa));
	EXPECT_EQ(PAGE_GPA | 0x123, gpa);
}

TEST(not_present)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL & ~P);

	/* SDM 4.7: P = 0; W/R and U/S say what the access was. */
	EXPECT_EQ(0, walk4(t, s, 0, 0));
	EXPECT_EQ(E_W, walk4(t, s, 0, WR));
	EXPECT_EQ(E_U | E_W, walk4(t, s, 3, WR));
	EXPECT_EQ(E_U | E_I, walk4(t, s, 3, FETCH));
	/* At an upper level, reserved bits below it are not looked at. */
	t = rights(ALL | BIT_ULL(51));
	t.pdpte = RW;
	EXPECT_EQ(E_U, walk4(t, s, 3, 0));
	/* An implicit supervisor access at CPL 3 has U/S = 0. */
	t = rights(ALL & ~P);
	EXPECT_EQ(0, walk4(t, s, 3, IMPL));
}

TEST(entry_outside_ram_is_not_present)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL);

	build4(&t);
	put64(0x2000 + 1 * 8, 0x7fff0000 | ALL);	/* PD beyond the memory */
	EXPECT_EQ(E_W, walk(&s, LA, WR, NULL));
}

TEST(user_supervisor)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL);

	/* U/S = 0 at any one level makes a supervisor page. */
	t.pde = P | RW;
	EXPECT_EQ(E_P | E_U, walk4(t, s, 3, 0));
	EXPECT_EQ(E_P | E_U | E_W, walk4(t, s, 3, WR));
	EXPECT_EQ(E_P | E_U | E_I, walk4(t, s, 3, FETCH));
	EXPECT_EQ(-1, walk4(t, s, 0, 0));
	EXPECT_EQ(-1, walk4(t, s, 1, WR));
	EXPECT_EQ(-1, walk4(t, s, 2, FETCH));
	/* Implicit supervisor accesses at CPL 3 may use it. */
	EXPECT_EQ(-1, walk4(t, s, 3, IMPL));
	EXPECT_EQ(-1, walk4(t, s, 3, IMPL | WR));
	t = rights(P | RW);
	EXPECT_EQ(E_P | E_U, walk4(t, s, 3, 0));
}

TEST(read_write_and_cr0_wp)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(P | US);

	/* User writes need R/W = 1 at every level, whatever CR0.WP. */
	EXPECT_EQ(-1, walk4(t, s, 3, 0));
	EXPECT_EQ(E_P | E_W | E_U, walk4(t, s, 3, WR));
	s.cr0 &= ~CR0_WP;
	EXPECT_EQ(E_P | E_W | E_U, walk4(t, s, 3, WR));
	/* Supervisor writes: only with CR0.WP = 1 (user page or not). */
	EXPECT_EQ(-1, walk4(t, s, 0, WR));
	s.cr0 |= CR0_WP;
	EXPECT_EQ(E_P | E_W, walk4(t, s, 0, WR));
	t = rights(ALL);
	t.pml4e = P | US;
	EXPECT_EQ(E_P | E_W, walk4(t, s, 0, WR));
	EXPECT_EQ(E_P | E_W | E_U, walk4(t, s, 3, WR));
	t.pml4e = P;
	t.pte = P | RW;
	EXPECT_EQ(E_P | E_W, walk4(t, s, 0, WR));
	EXPECT_EQ(-1, walk4(t, s, 0, 0));
	s.cr0 &= ~CR0_WP;
	EXPECT_EQ(-1, walk4(t, s, 0, WR));
}

TEST(no_execute)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL | XD);

	EXPECT_EQ(E_P | E_I, walk4(t, s, 0, FETCH));
	EXPECT_EQ(E_P | E_I | E_U, walk4(t, s, 3, FETCH));
	/* XD does not stop data accesses. */
	EXPECT_EQ(-1, walk4(t, s, 3, WR));
	/* XD at any level counts. */
	t = rights(ALL);
	t.pml4e |= XD;
	EXPECT_EQ(E_P | E_I, walk4(t, s, 1, FETCH));
	/* EFER.NXE = 0: bit 63 is reserved; I/D only with SMEP. */
	s.efer &= ~EFER_NXE;
	EXPECT_EQ(E_P | E_R, walk4(t, s, 0, FETCH));
	EXPECT_EQ(E_P | E_R | E_W, walk4(t, s, 0, WR));
	t = rights(ALL & ~P);
	EXPECT_EQ(0, walk4(t, s, 0, FETCH));
	s.cr4 |= CR4_SMEP;
	EXPECT_EQ(E_I, walk4(t, s, 0, FETCH));
}

TEST(smep)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL);

	s.cr4 |= CR4_SMEP;
	/* No supervisor fetch from a user-mode page. */
	EXPECT_EQ(E_P | E_I, walk4(t, s, 0, FETCH));
	EXPECT_EQ(-1, walk4(t, s, 3, FETCH));
	/* Data accesses are not SMEP's business. */
	EXPECT_EQ(-1, walk4(t, s, 0, WR));
	/* A supervisor page at one level is not a user-mode page. */
	t.pdpte = P | RW;
	EXPECT_EQ(-1, walk4(t, s, 0, FETCH));
	s.cr4 &= ~CR4_SMEP;
	t = rights(ALL);
	EXPECT_EQ(-1, walk4(t, s, 0, FETCH));
}

TEST(smap)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL);

	s.cr4 |= CR4_SMAP;
	/* Supervisor data accesses to user pages, EFLAGS.AC = 0. */
	EXPECT_EQ(E_P, walk4(t, s, 0, 0));
	EXPECT_EQ(E_P | E_W, walk4(t, s, 2, WR));
	/* EFLAGS.AC = 1 lifts it for explicit accesses... */
	s.rflags = RFLAGS_AC;
	EXPECT_EQ(-1, walk4(t, s, 0, 0));
	EXPECT_EQ(-1, walk4(t, s, 0, WR));
	/* ...not for implicit ones, at any CPL. */
	EXPECT_EQ(E_P, walk4(t, s, 0, IMPL));
	EXPECT_EQ(E_P | E_W, walk4(t, s, 3, IMPL | WR));
	/* CR0.WP still applies under AC. */
	t.pte = P | US;
	EXPECT_EQ(E_P | E_W, walk4(t, s, 0, WR));
	/* User-mode accesses and fetches are not SMAP's business. */
	s.rflags = 0;
	t = rights(ALL);
	EXPECT_EQ(-1, walk4(t, s, 3, WR));
	EXPECT_EQ(-1, walk4(t, s, 0, FETCH));
	/* Supervisor pages are fine. */
	t.pde = P | RW;
	EXPECT_EQ(-1, walk4(t, s, 0, WR));
	s.cr4 &= ~CR4_SMAP;
	t = rights(ALL);
	EXPECT_EQ(-1, walk4(t, s, 0, WR));
}

TEST(reserved_bits_long_mode)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL | BIT_ULL(47));

	/* Address bits below MAXPHYADDR are address bits. */
	EXPECT_EQ(-1, walk4(t, s, 0, 0));
	t = rights(ALL | BIT_ULL(48));
	EXPECT_EQ(E_P | E_R, walk4(t, s, 0, 0));
	EXPECT_EQ(E_P | E_R | E_W | E_U, walk4(t, s, 3, WR));
	EXPECT_EQ(E_P | E_R | E_I, walk4(t, s, 0, FETCH));
	t = rights(ALL);
	t.pml4e |= BIT_ULL(51);
	EXPECT_EQ(E_P | E_R, walk4(t, s, 0, 0));
	/* With MAXPHYADDR 52 bit 51 is an address bit (of the leaf here). */
	t = rights(ALL | BIT_ULL(51));
	EXPECT_EQ(E_P | E_R, walk4(t, s, 0, 0));
	s.maxphyaddr = 52;
	EXPECT_EQ(-1, walk4(t, s, 0, 0));
	/* Bits 62:52 are ignored in 4-level paging. */
	t = rights(ALL | BIT_ULL(52) | BIT_ULL(62));
	EXPECT_EQ(-1, walk4(t, s, 0, 0));
	/* PS is reserved in a PML4E. */
	t = rights(ALL);
	t.pml4e |= PS;
	EXPECT_EQ(E_P | E_R, walk4(t, s, 0, 0));
	/* RSVD wins over a permission fault of the same walk. */
	t = rights(P | BIT_ULL(51));
	s.maxphyaddr = 40;
	EXPECT_EQ(E_P | E_R | E_U | E_W, walk4(t, s, 3, WR));
}

TEST(large_pages)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL);
	u64 gpa;

	/* A 2-MiB page at 0x200000: PD entry 2 with PS. */
	build4(&t);
	put64(0x3000 + 2 * 8, 0x200000 | ALL | PS);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(0x200000 | (LA & 0x1fffff), gpa);
	/* PAT (bit 12) is fine; bits 20:13 are reserved. */
	put64(0x3000 + 2 * 8, 0x200000 | BIT_ULL(12) | ALL | PS);
	EXPECT_EQ(-1, walk(&s, LA, 0, NULL));
	put64(0x3000 + 2 * 8, 0x200000 | BIT_ULL(13) | ALL | PS);
	EXPECT_EQ(E_P | E_R, walk(&s, LA, 0, NULL));

	/* A 1-GiB page at 1 GiB: PDPT entry 1 with PS. */
	put64(0x2000 + 8, 0x40000000 | ALL | PS);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(LA, gpa);
	put64(0x2000 + 8, 0x40000000 | BIT_ULL(20) | ALL | PS);
	EXPECT_EQ(E_P | E_R, walk(&s, LA, 0, NULL));
	/* Without 1-GiB pages in the guest's CPUID, PS is reserved there. */
	put64(0x2000 + 8, 0x40000000 | ALL | PS);
	s.gbpages = false;
	EXPECT_EQ(E_P | E_R, walk(&s, LA, 0, NULL));
	/* Rights of a large page are its entry's and the levels above. */
	s.gbpages = true;
	put64(0x2000 + 8, 0x40000000 | P | US | PS);
	s.cpl = 3;
	EXPECT_EQ(E_P | E_U | E_W, walk(&s, LA, WR, NULL));
}

TEST(five_level)
{
	struct okvm_paging_state s = long_mode();
	struct tables t = rights(ALL);
	u64 gpa;

	s.cr4 |= CR4_LA57;
	s.cr3 = 0x6000;
	build4(&t);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(PAGE_GPA | 0x123, gpa);
	t.pml5e = P | RW;
	EXPECT_EQ(E_P | E_U, walk4(t, s, 3, 0));
	t.pml5e = ALL | PS;
	EXPECT_EQ(E_P | E_R, walk4(t, s, 0, 0));
}

/* PAE paging: PDPTEs at CR3 0x1000; LA = 0x40405123: PDPTE 1, PDE 2, PTE 5. */
static void build_pae(u64 pdpte, u64 pde, u64 pte)
{
	memset(mem, 0, sizeof(mem));
	put64(0x1000 + 1 * 8, 0x3000 | pdpte);
	put64(0x3000 + 2 * 8, 0x4000 | pde);
	put64(0x4000 + 5 * 8, PAGE_GPA | pte);
}

TEST(pae)
{
	struct okvm_paging_state s = long_mode();
	u64 gpa;

	s.efer = EFER_NXE;
	build_pae(P, ALL, ALL);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(PAGE_GPA | 0x123, gpa);
	/* Only the low 32 bits of the address count. */
	EXPECT_EQ(-1, walk(&s, LA | 0xffffffff00000000ULL, 0, &gpa));
	EXPECT_EQ(PAGE_GPA | 0x123, gpa);
	/* The PDPTE has no R/W or U/S: those bits are reserved. */
	build_pae(P | RW, ALL, ALL);
	EXPECT_EQ(E_P | E_R, walk(&s, LA, 0, NULL));
	build_pae(P | XD, ALL, ALL);
	EXPECT_EQ(E_P | E_R, walk(&s, LA, 0, NULL));
	/* In PAE paging bits 62:MAXPHYADDR are reserved. */
	build_pae(P, ALL, ALL | BIT_ULL(62));
	EXPECT_EQ(E_P | E_R, walk(&s, LA, 0, NULL));
	/* XD with NXE; rights as in 4-level paging. */
	build_pae(P, ALL, ALL | XD);
	s.cpl = 3;
	EXPECT_EQ(E_P | E_U | E_I, walk(&s, LA, FETCH, NULL));
	build_pae(P, P | US, ALL);
	EXPECT_EQ(E_P | E_U | E_W, walk(&s, LA, WR, NULL));
	/* A 2-MiB page. */
	s.cpl = 0;
	build_pae(P, ALL, ALL);
	put64(0x3000 + 2 * 8, 0x200000 | ALL | PS);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(0x200000 | (LA & 0x1fffff), gpa);
}

/* 32-bit paging: PD at 0x1000; LA 0x40405123: PDE 0x101, PTE 5. */
static void build32(u32 pde, u32 pte)
{
	memset(mem, 0, sizeof(mem));
	put32(0x1000 + 0x101 * 4, 0x4000 | pde);
	put32(0x4000 + 5 * 4, PAGE_GPA | pte);
}

TEST(thirty_two_bit)
{
	struct okvm_paging_state s = long_mode();
	u64 gpa;

	s.cr4 = 0;
	s.efer = EFER_NXE;
	build32(ALL, ALL);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(PAGE_GPA | 0x123, gpa);
	/* Rights. */
	build32(P | RW, ALL);
	s.cpl = 3;
	EXPECT_EQ(E_P | E_U, walk(&s, LA, 0, NULL));
	build32(ALL, P | US);
	EXPECT_EQ(E_P | E_U | E_W, walk(&s, LA, WR, NULL));
	/* No XD here: no I/D bit without SMEP, even with EFER.NXE. */
	build32(ALL, ALL & ~P);
	EXPECT_EQ(E_U, walk(&s, LA, FETCH, NULL));
	s.cr4 = CR4_SMEP;
	EXPECT_EQ(E_U | E_I, walk(&s, LA, FETCH, NULL));
	s.cpl = 0;
	build32(ALL, ALL);
	EXPECT_EQ(E_P | E_I, walk(&s, LA, FETCH, NULL));

	/* PS without CR4.PSE is ignored: the PDE still points to a table. */
	s.cr4 = 0;
	build32(ALL | PS, ALL);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(PAGE_GPA | 0x123, gpa);
	/* A 4-MiB page with PSE-36: PDE bits 20:13 are address 39:32. */
	s.cr4 = CR4_PSE;
	s.maxphyaddr = 40;
	memset(mem, 0, sizeof(mem));
	put32(0x1000 + 0x101 * 4, 0x40000000 | 0x3 << 13 | ALL | PS);
	EXPECT_EQ(-1, walk(&s, LA, 0, &gpa));
	EXPECT_EQ(0x340000000ULL | (LA & 0x3fffff), gpa);
	/* Above MAXPHYADDR (36 here: bits 20:17), and bit 21, reserved. */
	s.maxphyaddr = 36;
	put32(0x1000 + 0x101 * 4, 0x40000000 | 0x10 << 13 | ALL | PS);
	EXPECT_EQ(E_P | E_R, walk(&s, LA, 0, NULL));
	put32(0x1000 + 0x101 * 4, 0x40000000 | BIT_ULL(21) | ALL | PS);
	EXPECT_EQ(E_P | E_R, walk(&s, LA, 0, NULL));
}

TEST(paging_off)
{
	struct okvm_paging_state s = long_mode();
	u64 gpa;

	memset(mem, 0, sizeof(mem));
	s.cr0 = 0;
	s.efer = 0;
	s.cpl = 3;
	EXPECT_EQ(-1, walk(&s, 0x1234567812345678ULL, WR | FETCH, &gpa));
	EXPECT_EQ(0x12345678, gpa);
}

TEST_HARNESS_MAIN
