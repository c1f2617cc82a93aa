// SPDX-License-Identifier: GPL-2.0-only
/*
 * pvhboot - start an uncompressed x86-64 vmlinux through its PVH entry point
 *
 * Bochs spends 60-80 s of wall time running the XZ decompressor of a
 * bzImage. This loader skips it: scripts/vmtest extracts vmlinux on the
 * host and boots it the way QEMU's "-kernel vmlinux" does, through the
 * 32-bit PVH entry point that kernels built with CONFIG_PVH=y advertise in
 * an ELF note (arch/x86/platform/pvh/head.S).
 *
 * Boot chain: isolinux -> mboot.c32 -> pvhboot.elf, configured as
 *
 *	APPEND /pvhboot.elf <kernel command line> --- /vmlinux --- /initrd
 *
 * so that we are entered as a Multiboot (v1) kernel with module 0 = vmlinux
 * (an ELF64 image) and module 1 = the initramfs (optional).
 *
 * The work: copy the modules out of the way, copy the PT_LOAD segments of
 * vmlinux to their physical addresses, describe command line, initramfs,
 * ACPI RSDP and memory map in a struct hvm_start_info and jump to the entry
 * point with %ebx pointing at it (still in 32-bit protected mode, paging
 * off, as the PVH ABI wants).
 *
 * References: Multiboot Specification 0.6.96, section 3 (boot information);
 * Xen's public/arch-x86/hvm/start_info.h and public/elfnote.h (PVH ABI).
 * Messages go to COM1, which is the kernel's console too.
 */
#include "pvhboot.h"

/* Multiboot (v1) boot information, as far as we use it. */
#define MULTIBOOT_LOADER_MAGIC	0x2badb002
#define MB_INFO_CMDLINE		BIT(2)
#define MB_INFO_MODS		BIT(3)
#define MB_INFO_MEM_MAP		BIT(6)

struct mb_info {
	u32 flags;
	u32 mem_lower;
	u32 mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count;
	u32 mods_addr;
	u32 syms[4];
	u32 mmap_length;
	u32 mmap_addr;
};

struct mb_module {
	u32 start;
	u32 end;
	u32 string;
	u32 reserved;
};

/* One entry of the memory map; "size" does not count itself. */
struct mb_mmap_entry {
	u32 size;
	u64 addr;
	u64 len;
	u32 type;
} __packed;

#define MB_MEMORY_AVAILABLE	1

/* PVH start of day information (Xen public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC_VALUE	0x336ec578

struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;		/* version 1 */
	u32 memmap_entries;	/* version 1 */
	u32 reserved;
};

struct hvm_modlist_entry {
	u64 paddr;
	u64 size;
	u64 cmdline_paddr;
	u64 reserved;
};

struct hvm_memmap_table_entry {
	u64 addr;
	u64 size;
	u32 type;		/* E820 types, the same numbers as Multiboot's */
	u32 reserved;
};

/* ELF64, only what a statically linked vmlinux needs. */
#define EM_X86_64		62
#define ELFCLASS64		2
#define PT_LOAD			1
#define PT_NOTE			4
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct elf64_hdr {
	unsigned char e_ident[16];
	u16 e_type;
	u16 e_machine;
	u32 e_version;
	u64 e_entry;
	u64 e_phoff;
	u64 e_shoff;
	u32 e_flags;
	u16 e_ehsize;
	u16 e_phentsize;
	u16 e_phnum;
	u16 e_shentsize;
	u16 e_shnum;
	u16 e_shstrndx;
};

struct elf64_phdr {
	u32 p_type;
	u32 p_flags;
	u64 p_offset;
	u64 p_vaddr;
	u64 p_paddr;
	u64 p_filesz;
	u64 p_memsz;
	u64 p_align;
};

struct elf_note {
	u32 n_namesz;
	u32 n_descsz;
	u32 n_type;
};

#define MAX_MEMMAP_ENTRIES	64
#define SZ_4K			0x1000
#define SZ_2M			0x200000

static struct hvm_start_info start_info;
static struct hvm_modlist_entry initrd_entry;
static struct hvm_memmap_table_entry memmap[MAX_MEMMAP_ENTRIES];
static char cmdline[2048];

static inline u64 align_up(u64 x, u64 align)
{
	return (x + align - 1) & ~(align - 1);
}

/* ---- port I/O and the COM1 console (8250 UART) ---- */

#define COM1			0x3f8
#define UART_TX			0
#define UART_DLL		0
#define UART_IER		1
#define UART_DLM		1
#define UART_FCR		2
#define UART_LCR		3
#define UART_MCR		4
#define UART_LSR		5
#define UART_LSR_THRE		0x20
#define BOCHS_SHUTDOWN_PORT	0x8900

static inline void outb(u8 value, u16 port)
{
	asm volatile("out %0, %1" : : "a"(value), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 value;

	asm volatile("in %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static void serial_init(void)
{
	outb(0x00, COM1 + UART_IER);	/* no interrupts */
	outb(0x80, COM1 + UART_LCR);	/* DLAB on: divisor 1 = 115200 baud */
	outb(0x01, COM1 + UART_DLL);
	outb(0x00, COM1 + UART_DLM);
	outb(0x03, COM1 + UART_LCR);	/* DLAB off, 8N1 */
	outb(0xc7, COM1 + UART_FCR);	/* FIFO on and cleared */
	outb(0x03, COM1 + UART_MCR);	/* DTR, RTS */
}

static void serial_putc(char c)
{
	int spin;

	if (c == '\n')
		serial_putc('\r');
	for (spin = 0; spin < 100000; spin++)
		if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
			break;
	outb(c, COM1 + UART_TX);
}

static void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void serial_puthex(u64 value)
{
	int shift;

	serial_puts("0x");
	for (shift = 60; shift >= 0; shift -= 4)
		serial_putc("0123456789abcdef"[(value >> shift) & 0xf]);
}

/* Report and end the simulation: Bochs quits on "Shutdown" at port 0x8900. */
static void __noreturn die(const char *msg)
{
	const char *p;

	serial_puts("pvhboot: FATAL: ");
	serial_puts(msg);
	serial_puts("\n");
	for (p = "Shutdown"; *p; p++)
		outb(*p, BOCHS_SHUTDOWN_PORT);
	for (;;)
		asm volatile("cli; hlt");
}

/* ---- memory helpers (identity-mapped, 32-bit physical addresses) ---- */

/* Forward copy: callers make sure a forward copy cannot clobber its source. */
static void copy_phys(u32 dst, u32 src, u32 len)
{
	u32 words = len / 4, bytes = len % 4;

	asm volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
	asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(bytes) : : "memory");
}

static void zero_phys(u32 dst, u32 len)
{
	asm volatile("rep stosb" : "+D"(dst), "+c"(len) : "a"(0) : "memory");
}

static int mem_equal(const void *a, const void *b, u32 len)
{
	const u8 *x = a, *y = b;

	while (len--)
		if (*x++ != *y++)
			return 0;
	return 1;
}

/* ---- the kernel image ---- */

static struct elf64_phdr *elf_phdrs(u32 image)
{
	struct elf64_hdr *eh = (struct elf64_hdr *)image;

	return (struct elf64_phdr *)(image + (u32)eh->e_phoff);
}

static void check_vmlinux(u32 image)
{
	struct elf64_hdr *eh = (struct elf64_hdr *)image;

	if (!mem_equal(eh->e_ident, "\177ELF", 4) ||
	    eh->e_ident[4] != ELFCLASS64 || eh->e_machine != EM_X86_64)
		die("module 0 is not an x86-64 ELF vmlinux");
}

/* The PVH entry point: the "Xen" note of type XEN_ELFNOTE_PHYS32_ENTRY. */
static u32 find_pvh_entry(u32 image)
{
	struct elf64_hdr *eh = (struct elf64_hdr *)image;
	struct elf64_phdr *ph = elf_phdrs(image);
	int i;

	for (i = 0; i < eh->e_phnum; i++) {
		u32 note = image + (u32)ph[i].p_offset;
		u32 end = note + (u32)ph[i].p_filesz;

		if (ph[i].p_type != PT_NOTE)
			continue;
		while (note + sizeof(struct elf_note) <= end) {
			struct elf_note *n = (struct elf_note *)note;
			const char *name = (const char *)(n + 1);
			u32 desc = note + sizeof(*n) + align_up(n->n_namesz, 4);

			if (n->n_namesz == 4 && mem_equal(name, "Xen", 4) &&
			    n->n_type == XEN_ELFNOTE_PHYS32_ENTRY)
				return *(u32 *)desc;
			note = desc + align_up(n->n_descsz, 4);
		}
	}
	die("vmlinux has no PVH entry note (needs CONFIG_PVH=y)");
}

/* Physical range [*lo, *hi) covered by the PT_LOAD segments. */
static void kernel_extent(u32 image, u64 *lo, u64 *hi)
{
	struct elf64_hdr *eh = (struct elf64_hdr *)image;
	struct elf64_phdr *ph = elf_phdrs(image);
	int i;

	*lo = ~0ull;
	*hi = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_paddr < *lo)
			*lo = ph[i].p_paddr;
		if (ph[i].p_paddr + ph[i].p_memsz > *hi)
			*hi = ph[i].p_paddr + ph[i].p_memsz;
	}
}

static void load_segments(u32 image)
{
	struct elf64_hdr *eh = (struct elf64_hdr *)image;
	struct elf64_phdr *ph = elf_phdrs(image);
	int i;

	for (i = 0; i < eh->e_phnum; i++) {
		u32 paddr = (u32)ph[i].p_paddr;
		u32 filesz = (u32)ph[i].p_filesz;

		if (ph[i].p_type != PT_LOAD)
			continue;
		copy_phys(paddr, image + (u32)ph[i].p_offset, filesz);
		if (ph[i].p_memsz > filesz)
			zero_phys(paddr + filesz, (u32)ph[i].p_memsz - filesz);
	}
}

/* ---- Multiboot information ---- */

/* Highest end of the RAM regions that start at or below @addr. */
static u64 ram_end_above(struct mb_info *mbi, u64 addr)
{
	u64 end = 0;
	u32 off;

	for (off = 0; off < mbi->mmap_length;) {
		struct mb_mmap_entry *m =
			(struct mb_mmap_entry *)(mbi->mmap_addr + off);

		if (m->type == MB_MEMORY_AVAILABLE && m->addr <= addr &&
		    m->addr + m->len > end)
			end = m->addr + m->len;
		off += m->size + sizeof(m->size);
	}
	return end;
}

/* The kernel command line is ours minus its first word (our file name). */
static void copy_cmdline(struct mb_info *mbi)
{
	const char *cl = "";
	u32 n = 0;

	if (mbi->flags & MB_INFO_CMDLINE)
		cl = (const char *)mbi->cmdline;
	while (*cl == ' ')
		cl++;
	while (*cl && *cl != ' ')
		cl++;
	while (*cl == ' ')
		cl++;
	while (cl[n] && n < sizeof(cmdline) - 1) {
		cmdline[n] = cl[n];
		n++;
	}
	cmdline[n] = '\0';
}

static u32 copy_memmap(struct mb_info *mbi)
{
	u32 off, n = 0;

	for (off = 0; off < mbi->mmap_length && n < MAX_MEMMAP_ENTRIES;) {
		struct mb_mmap_entry *m =
			(struct mb_mmap_entry *)(mbi->mmap_addr + off);

		memmap[n].addr = m->addr;
		memmap[n].size = m->len;
		memmap[n].type = m->type;
		n++;
		off += m->size + sizeof(m->size);
	}
	return n;
}

/* ACPI 6.4, 5.2.5.1: the RSDP is on a 16-byte boundary in the BIOS area. */
static u32 find_rsdp(void)
{
	u32 addr;

	for (addr = 0xe0000; addr < 0x100000; addr += 16)
		if (mem_equal((void *)addr, "RSD PTR ", 8))
			return addr;
	return 0;
}

/*
 * mboot.c32 may have put the modules where the kernel's segments go. Move
 * them all above both the kernel and every module, so that no copy (these
 * nor the segment loads after them) overwrites data still to be read.
 */
static void relocate_modules(struct mb_info *mbi, struct mb_module *mods,
			     u32 nmods, u64 kernel_end, u32 *new_start)
{
	u64 top = kernel_end, dest;
	u32 i;

	for (i = 0; i < nmods; i++)
		if (mods[i].end > top)
			top = mods[i].end;
	dest = align_up(top, SZ_2M);
	for (i = 0; i < nmods; i++) {
		new_start[i] = (u32)dest;
		dest = align_up(dest + mods[i].end - mods[i].start, SZ_4K);
	}
	if (dest > ram_end_above(mbi, top)) {
		serial_puts("pvhboot: need RAM up to ");
		serial_puthex(dest);
		serial_puts("\n");
		die("not enough memory for kernel and initramfs");
	}
	for (i = 0; i < nmods; i++)
		copy_phys(new_start[i], mods[i].start,
			  mods[i].end - mods[i].start);
}

void pvhboot_main(u32 magic, struct mb_info *mbi)
{
	struct mb_module *mods;
	u32 nmods, new_start[2], entry;
	u64 kernel_start, kernel_end;

	serial_init();
	serial_puts("pvhboot: Multiboot loader for a PVH vmlinux\n");
	if (magic != MULTIBOOT_LOADER_MAGIC)
		die("not started by a Multiboot loader");
	if (!(mbi->flags & MB_INFO_MODS) || mbi->mods_count < 1)
		die("no modules (need: vmlinux [initrd])");
	if (!(mbi->flags & MB_INFO_MEM_MAP))
		die("no memory map from the boot loader");

	mods = (struct mb_module *)mbi->mods_addr;
	nmods = mbi->mods_count > 2 ? 2 : mbi->mods_count;
	copy_cmdline(mbi);

	check_vmlinux(mods[0].start);
	entry = find_pvh_entry(mods[0].start);
	kernel_extent(mods[0].start, &kernel_start, &kernel_end);
	if ((u32)_end > kernel_start)
		die("loader overlaps kernel");
	serial_puts("pvhboot: kernel ");
	serial_puthex(kernel_start);
	serial_puts("..");
	serial_puthex(kernel_end);
	serial_puts(" PVH entry ");
	serial_puthex(entry);
	serial_puts("\n");

	relocate_modules(mbi, mods, nmods, kernel_end, new_start);
	load_segments(new_start[0]);

	start_info.magic = HVM_START_MAGIC_VALUE;
	start_info.version = 1;
	start_info.cmdline_paddr = (u32)cmdline;
	if (nmods > 1) {
		initrd_entry.paddr = new_start[1];
		initrd_entry.size = mods[1].end - mods[1].start;
		start_info.nr_modules = 1;
		start_info.modlist_paddr = (u32)&initrd_entry;
	}
	start_info.rsdp_paddr = find_rsdp();
	start_info.memmap_entries = copy_memmap(mbi);
	start_info.memmap_paddr = (u32)memmap;

	serial_puts("pvhboot: jumping to kernel\n");
	pvh_jump(entry, (u32)&start_info);
}
