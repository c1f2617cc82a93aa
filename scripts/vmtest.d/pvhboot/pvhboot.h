/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pvhboot: what start.S, pvhboot.ld and pvhboot.c share, plus the kernel's
 * spelling of fixed-size types, BIT() and two compiler attributes.
 */
#ifndef PVHBOOT_H
#define PVHBOOT_H

/* as include/uapi/asm-generic/int-ll64.h, for the i386 target */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define BIT(nr)		(1u << (nr))
#define __packed	__attribute__((__packed__))
#define __noreturn	__attribute__((__noreturn__))

/* start.S: enter the kernel at @entry with %ebx = @start_info. */
void __noreturn pvh_jump(u32 entry, u32 start_info);

/* pvhboot.ld: end of this loader's image, .bss included. */
extern char _end[];

#endif /* PVHBOOT_H */
