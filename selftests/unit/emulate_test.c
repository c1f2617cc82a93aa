// SPDX-License-Identifier: GPL-2.0-only
/*
 * emulate_test.c - host unit tests of the instruction decoder in
 * kmod/x86/emulate.c.
 *
 * One table of instruction bytes and the decode they must give, derived by
 * hand from the Intel SDM Vol. 2 and AMD APM Vol. 3 (the lengths were
 * cross-checked with objdump). Then properties every supported row must
 * have: each shorter fetch asks for more bytes, and bytes after the
 * instruction change nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "emulate.h"

struct tcase {
	const char *asm_;		/* what objdump calls it */
	enum okvm_cpu_mode mode;
	const char *hex;		/* "48 89 07" */
	enum okvm_decode_result res;
	/* the rest only for OKVM_DECODE_OK */
	u8 len;
	enum okvm_insn_kind kind;
	u8 size;		/* op_size */
	u8 dsize;		/* dst_size; 0: same as size */
	u8 asize;		/* addr_size; 0: the mode's default */
	enum okvm_insn_ext ext;
	u8 mem;
	bool dst;		/* mem_is_dst */
	u8 reg;			/* register number + 1; 0: none */
	bool high8;
	bool has_imm;
	s64 imm;
	bool pimm;
	u16 port;
	enum okvm_rep rep;
	u8 seg;			/* enum okvm_seg + 1; 0: DS */
	bool segov;
	bool lock;
	bool rip;
	s64 disp;
	u64 moffs;
	bool str_src, str_dst;
	bool zup;		/* xmm_zero_upper */
	bool a16;		/* aligned16 */
	u8 dr;
};

#define T(m, h, a)	.mode = OKVM_CPU_MODE_##m, .hex = h, .asm_ = a
#define OK(l, k, sz)	.len = l, .kind = OKVM_INSN_##k, .size = sz
#define BAD(r)		.res = OKVM_DECODE_##r
#define MR		.mem = OKVM_MEM_READ
#define MW		.mem = OKVM_MEM_WRITE
#define MRW		.mem = OKVM_MEM_READ | OKVM_MEM_WRITE
#define DST		.dst = true
#define REG(n)		.reg = (n) + 1
#define HREG(n)		.reg = (n) + 1, .high8 = true
#define IMM(v)		.has_imm = true, .imm = (v)
#define PORT(n)		.pimm = true, .port = (n)
#define SEG(s)		.seg = OKVM_SEG_##s + 1
#define SEGOV(s)	SEG(s), .segov = true
#define DISP(d)		.disp = (d)
#define RIP		.rip = true
#define LOCK		.lock = true
#define REP		.rep = OKVM_REP_REP
#define REPNE		.rep = OKVM_REP_REPNE
#define ASZ(n)		.asize = (n)
#define ZX(d)		.ext = OKVM_EXT_ZERO, .dsize = (d)
#define SX(d)		.ext = OKVM_EXT_SIGN, .dsize = (d)
#define MOFFS(v)	.moffs = (v)
#define STR_S		.str_src = true
#define STR_D		.str_dst = true
#define ZUP		.zup = true
#define A16		.a16 = true
#define DR(n)		.dr = (n)

static const struct tcase cases[] = {
	/* ---- 64-bit mode: MOV 88/89/8a/8b, REX, byte registers ---- */
	{ T(64, "89 07", "mov %eax,(%rdi)"), OK(2, MOV, 4), MW, DST, REG(0) },
	{ T(64, "48 89 07", "mov %rax,(%rdi)"), OK(3, MOV, 8), MW, DST, REG(0) },
	{ T(64, "4c 89 07", "mov %r8,(%rdi)"), OK(3, MOV, 8), MW, DST, REG(8) },
	{ T(64, "8b 07", "mov (%rdi),%eax"), OK(2, MOV, 4), MR, REG(0) },
	{ T(64, "45 8b 0f", "mov (%r15),%r9d"), OK(3, MOV, 4), MR, REG(9) },
	{ T(64, "66 89 07", "mov %ax,(%rdi)"), OK(3, MOV, 2), MW, DST, REG(0) },
	{ T(64, "66 48 89 07", "mov %rax,(%rdi) (REX.W beats 66)"),
	  OK(4, MOV, 8), MW, DST, REG(0) },
	{ T(64, "4c 66 89 07", "REX before 66 is ignored: mov %ax,(%rdi)"),
	  OK(4, MOV, 2), MW, DST, REG(0) },
	{ T(64, "44 48 89 07", "two REX: the last (48) counts"),
	  OK(4, MOV, 8), MW, DST, REG(0) },
	{ T(64, "48 44 89 07", "two REX: the last (44) counts"),
	  OK(4, MOV, 4), MW, DST, REG(8) },
	{ T(64, "88 07", "mov %al,(%rdi)"), OK(2, MOV, 1), MW, DST, REG(0) },
	{ T(64, "88 27", "mov %ah,(%rdi)"), OK(2, MOV, 1), MW, DST, HREG(0) },
	{ T(64, "88 38", "mov %bh,(%rax)"), OK(2, MOV, 1), MW, DST, HREG(3) },
	{ T(64, "40 88 27", "mov %spl,(%rdi)"), OK(3, MOV, 1), MW, DST, REG(4) },
	{ T(64, "8a 37", "mov (%rdi),%dh"), OK(2, MOV, 1), MR, HREG(2) },
	{ T(64, "40 8a 37", "mov (%rdi),%sil"), OK(3, MOV, 1), MR, REG(6) },
	{ T(64, "44 88 17", "mov %r10b,(%rdi)"), OK(3, MOV, 1), MW, DST,
	  REG(10) },
	{ T(64, "89 c3", "mov %eax,%ebx (register form)"), OK(2, MOV, 4),
	  REG(0) },
	{ T(64, "f3 89 07", "xrelease mov %eax,(%rdi)"), OK(3, MOV, 4), MW,
	  DST, REG(0), REP },

	/* ---- 64-bit ModRM / SIB / displacement forms ---- */
	{ T(64, "89 47 10", "mov %eax,0x10(%rdi)"), OK(3, MOV, 4), MW, DST,
	  REG(0), DISP(0x10) },
	{ T(64, "89 47 f0", "mov %eax,-0x10(%rdi)"), OK(3, MOV, 4), MW, DST,
	  REG(0), DISP(-0x10) },
	{ T(64, "89 87 78 56 34 12", "mov %eax,0x12345678(%rdi)"),
	  OK(6, MOV, 4), MW, DST, REG(0), DISP(0x12345678) },
	{ T(64, "8b 8f 00 00 00 80", "mov -0x80000000(%rdi),%ecx"),
	  OK(6, MOV, 4), MR, REG(1), DISP(-0x80000000LL) },
	{ T(64, "89 04 24", "mov %eax,(%rsp)"), OK(3, MOV, 4), MW, DST,
	  REG(0), SEG(SS) },
	{ T(64, "89 44 24 08", "mov %eax,0x8(%rsp)"), OK(4, MOV, 4), MW, DST,
	  REG(0), SEG(SS), DISP(8) },
	{ T(64, "89 45 00", "mov %eax,0x0(%rbp)"), OK(3, MOV, 4), MW, DST,
	  REG(0), SEG(SS) },
	{ T(64, "41 89 45 00", "mov %eax,0x0(%r13)"), OK(4, MOV, 4), MW, DST,
	  REG(0) },
	{ T(64, "41 89 04 24", "mov %eax,(%r12)"), OK(4, MOV, 4), MW, DST,
	  REG(0) },
	{ T(64, "89 05 78 56 34 12", "mov %eax,0x12345678(%rip)"),
	  OK(6, MOV, 4), MW, DST, REG(0), RIP, DISP(0x12345678) },
	{ T(64, "41 89 05 00 00 00 00", "mov %eax,0x0(%rip) (REX.B kept)"),
	  OK(7, MOV, 4), MW, DST, REG(0), RIP },
	{ T(64, "c7 05 10 00 00 00 01 00 00 00", "movl $0x1,0x10(%rip)"),
	  OK(10, MOV, 4), MW, DST, RIP, DISP(0x10), IMM(1) },
	{ T(64, "67 89 05 00 00 00 00", "mov %eax,0x0(%eip)"),
	  OK(7, MOV, 4), MW, DST, REG(0), RIP, ASZ(4) },
	{ T(64, "89 04 98", "mov %eax,(%rax,%rbx,4)"), OK(3, MOV, 4), MW, DST,
	  REG(0) },
	{ T(64, "42 89 04 48", "mov %eax,(%rax,%r9,2)"), OK(4, MOV, 4), MW,
	  DST, REG(0) },
	{ T(64, "89 04 9d 78 56 34 12", "mov %eax,0x12345678(,%rbx,4)"),
	  OK(7, MOV, 4), MW, DST, REG(0), DISP(0x12345678) },
	{ T(64, "89 04 25 78 56 34 12", "mov %eax,0x12345678 (SIB, no base)"),
	  OK(7, MOV, 4), MW, DST, REG(0), DISP(0x12345678) },
	{ T(64, "41 89 04 25 78 56 34 12", "mov %eax,0x12345678 (REX.B)"),
	  OK(8, MOV, 4), MW, DST, REG(0), DISP(0x12345678) },
	{ T(64, "89 84 cd 00 01 00 00", "mov %eax,0x100(%rbp,%rcx,8)"),
	  OK(7, MOV, 4), MW, DST, REG(0), SEG(SS), DISP(0x100) },
	{ T(64, "67 89 07", "mov %eax,(%edi)"), OK(3, MOV, 4), MW, DST, REG(0),
	  ASZ(4) },
	{ T(64, "65 48 8b 04 25 28 00 00 00", "mov %gs:0x28,%rax"),
	  OK(9, MOV, 8), MR, REG(0), SEGOV(GS), DISP(0x28) },
	{ T(64, "2e 64 89 07", "two overrides: the last (fs) counts"),
	  OK(4, MOV, 4), MW, DST, REG(0), SEGOV(FS) },
	{ T(64, "26 89 45 00", "mov %eax,%es:0x0(%rbp) (beats SS)"),
	  OK(4, MOV, 4), MW, DST, REG(0), SEGOV(ES) },

	/* ---- MOV imm (c6/c7 /0) ---- */
	{ T(64, "c7 07 78 56 34 12", "movl $0x12345678,(%rdi)"),
	  OK(6, MOV, 4), MW, DST, IMM(0x12345678) },
	{ T(64, "48 c7 07 ff ff ff ff", "movq $-1,(%rdi)"), OK(7, MOV, 8), MW,
	  DST, IMM(-1) },
	{ T(64, "48 c7 07 00 00 00 80", "movq $-0x80000000,(%rdi)"),
	  OK(7, MOV, 8), MW, DST, IMM(-0x80000000LL) },
	{ T(64, "c6 07 80", "movb $0x80,(%rdi)"), OK(3, MOV, 1), MW, DST,
	  IMM(-128) },
	{ T(64, "66 c7 07 34 12", "movw $0x1234,(%rdi)"), OK(5, MOV, 2), MW,
	  DST, IMM(0x1234) },
	{ T(64, "41 c6 44 24 08 01", "movb $0x1,0x8(%r12)"), OK(6, MOV, 1), MW,
	  DST, DISP(8), IMM(1) },
	{ T(64, "c7 0f 00 00 00 00", "c7 /1 (undefined)"), BAD(UNSUPPORTED) },
	{ T(64, "c6 f8 00", "xabort $0x0"), BAD(UNSUPPORTED) },

	/* ---- MOV moffs (a0-a3) ---- */
	{ T(64, "a1 88 77 66 55 44 33 22 11", "movabs 0x1122334455667788,%eax"),
	  OK(9, MOV, 4), MR, REG(0), MOFFS(0x1122334455667788ULL) },
	{ T(64, "48 a3 00 10 00 00 00 00 00 00", "movabs %rax,0x1000"),
	  OK(10, MOV, 8), MW, DST, REG(0), MOFFS(0x1000) },
	{ T(64, "67 a0 00 00 00 f0", "addr32 mov 0xf0000000,%al"),
	  OK(6, MOV, 1), MR, REG(0), ASZ(4), MOFFS(0xf0000000) },
	{ T(32, "a2 44 33 22 11", "mov %al,0x11223344"), OK(5, MOV, 1), MW,
	  DST, REG(0), MOFFS(0x11223344) },
	{ T(32, "64 a1 00 00 00 00", "mov %fs:0x0,%eax"), OK(6, MOV, 4), MR,
	  REG(0), SEGOV(FS) },
	{ T(16, "a3 34 12", "mov %ax,0x1234"), OK(3, MOV, 2), MW, DST, REG(0),
	  MOFFS(0x1234) },

	/* ---- MOVZX / MOVSX / MOVSXD ---- */
	{ T(64, "0f b6 07", "movzbl (%rdi),%eax"), OK(3, MOVZX, 1), MR, REG(0),
	  ZX(4) },
	{ T(64, "0f b7 07", "movzwl (%rdi),%eax"), OK(3, MOVZX, 2), MR, REG(0),
	  ZX(4) },
	{ T(64, "48 0f b6 07", "movzbq (%rdi),%rax"), OK(4, MOVZX, 1), MR,
	  REG(0), ZX(8) },
	{ T(64, "66 0f b6 07", "movzbw (%rdi),%ax"), OK(4, MOVZX, 1), MR,
	  REG(0), ZX(2) },
	{ T(64, "0f b6 27", "movzbl (%rdi),%esp (no AH)"), OK(3, MOVZX, 1), MR,
	  REG(4), ZX(4) },
	{ T(64, "44 0f b6 1f", "movzbl (%rdi),%r11d"), OK(4, MOVZX, 1), MR,
	  REG(11), ZX(4) },
	{ T(64, "0f be 07", "movsbl (%rdi),%eax"), OK(3, MOVSX, 1), MR, REG(0),
	  SX(4) },
	{ T(64, "48 0f bf 47 02", "movswq 0x2(%rdi),%rax"), OK(5, MOVSX, 2),
	  MR, REG(0), SX(8), DISP(2) },
	{ T(64, "48 63 07", "movslq (%rdi),%rax"), OK(3, MOVSX, 4), MR, REG(0),
	  SX(8) },
	{ T(64, "4c 63 4f 04", "movslq 0x4(%rdi),%r9"), OK(4, MOVSX, 4), MR,
	  REG(9), SX(8), DISP(4) },
	{ T(64, "63 07", "movsxd without REX.W"), BAD(UNSUPPORTED) },
	{ T(32, "63 07", "arpl %ax,(%edi)"), BAD(UNSUPPORTED) },
	{ T(64, "f3 0f b6 07", "f3 0f b6 (mandatory-prefix map)"),
	  BAD(UNSUPPORTED) },
	{ T(32, "0f b6 07", "movzbl (%edi),%eax"), OK(3, MOVZX, 1), MR, REG(0),
	  ZX(4) },
	{ T(32, "66 0f b7 07", "movzww (%edi),%ax"), OK(4, MOVZX, 2), MR,
	  REG(0), ZX(2) },
	{ T(16, "0f b6 07", "movzbw (%bx),%ax"), OK(3, MOVZX, 1), MR, REG(0),
	  ZX(2) },
	{ T(16, "66 0f bf 07", "movswl (%bx),%eax"), OK(4, MOVSX, 2), MR,
	  REG(0), SX(4) },

	/* ---- string instructions ---- */
	{ T(64, "aa", "stos %al,%es:(%rdi)"), OK(1, STOS, 1), MW, DST, REG(0),
	  SEG(ES), STR_D },
	{ T(64, "ab", "stos %eax,%es:(%rdi)"), OK(1, STOS, 4), MW, DST, REG(0),
	  SEG(ES), STR_D },
	{ T(64, "f3 48 ab", "rep stos %rax,%es:(%rdi)"), OK(3, STOS, 8), MW,
	  DST, REG(0), SEG(ES), STR_D, REP },
	{ T(64, "f3 67 ab", "rep stos %eax,%es:(%edi)"), OK(3, STOS, 4), MW,
	  DST, REG(0), SEG(ES), STR_D, REP, ASZ(4) },
	{ T(64, "2e aa", "cs stos: ES cannot be overridden"), OK(2, STOS, 1),
	  MW, DST, REG(0), SEG(ES), STR_D },
	{ T(64, "a4", "movsb"), OK(1, MOVS, 1), MRW, DST, STR_S, STR_D },
	{ T(64, "f3 48 a5", "rep movsq"), OK(3, MOVS, 8), MRW, DST, STR_S,
	  STR_D, REP },
	{ T(64, "64 a4", "movsb %fs:(%rsi),%es:(%rdi)"), OK(2, MOVS, 1), MRW,
	  DST, STR_S, STR_D, SEGOV(FS) },
	{ T(64, "ac", "lods %ds:(%rsi),%al"), OK(1, LODS, 1), MR, REG(0),
	  STR_S },
	{ T(64, "66 ad", "lods %ds:(%rsi),%ax"), OK(2, LODS, 2), MR, REG(0),
	  STR_S },
	{ T(64, "48 ad", "lods %ds:(%rsi),%rax"), OK(2, LODS, 8), MR, REG(0),
	  STR_S },
	{ T(32, "f3 a5", "rep movsl"), OK(2, MOVS, 4), MRW, DST, STR_S, STR_D,
	  REP },
	{ T(32, "f2 ab", "repnz stos %eax,%es:(%edi)"), OK(2, STOS, 4), MW,
	  DST, REG(0), SEG(ES), STR_D, REPNE },
	{ T(16, "f3 a4", "rep movsb (16-bit)"), OK(2, MOVS, 1), MRW, DST,
	  STR_S, STR_D, REP },
	{ T(16, "67 66 ab", "stosl %eax,%es:(%edi) (16-bit)"), OK(3, STOS, 4),
	  MW, DST, REG(0), SEG(ES), STR_D, ASZ(4) },

	/* ---- ALU with memory: 00-3b ---- */
	{ T(64, "01 07", "add %eax,(%rdi)"), OK(2, ADD, 4), MRW, DST, REG(0) },
	{ T(64, "03 07", "add (%rdi),%eax"), OK(2, ADD, 4), MR, REG(0) },
	{ T(64, "00 27", "add %ah,(%rdi)"), OK(2, ADD, 1), MRW, DST, HREG(0) },
	{ T(64, "f0 01 07", "lock add %eax,(%rdi)"), OK(3, ADD, 4), MRW, DST,
	  REG(0), LOCK },
	{ T(64, "f0 01 c3", "lock add %eax,%ebx"), BAD(UNSUPPORTED) },
	{ T(64, "f0 89 07", "lock mov"), BAD(UNSUPPORTED) },
	{ T(64, "08 07", "or %al,(%rdi)"), OK(2, OR, 1), MRW, DST, REG(0) },
	{ T(64, "0b 0f", "or (%rdi),%ecx"), OK(2, OR, 4), MR, REG(1) },
	{ T(64, "11 07", "adc %eax,(%rdi)"), OK(2, ADC, 4), MRW, DST, REG(0) },
	{ T(64, "1a 07", "sbb (%rdi),%al"), OK(2, SBB, 1), MR, REG(0) },
	{ T(64, "48 21 07", "and %rax,(%rdi)"), OK(3, AND, 8), MRW, DST,
	  REG(0) },
	{ T(64, "23 57 04", "and 0x4(%rdi),%edx"), OK(3, AND, 4), MR, REG(2),
	  DISP(4) },
	{ T(64, "29 07", "sub %eax,(%rdi)"), OK(2, SUB, 4), MRW, DST, REG(0) },
	{ T(64, "2a 07", "sub (%rdi),%al"), OK(2, SUB, 1), MR, REG(0) },
	{ T(64, "30 07", "xor %al,(%rdi)"), OK(2, XOR, 1), MRW, DST, REG(0) },
	{ T(64, "66 33 07", "xor (%rdi),%ax"), OK(3, XOR, 2), MR, REG(0) },
	{ T(64, "39 07", "cmp %eax,(%rdi)"), OK(2, CMP, 4), MR, DST, REG(0) },
	{ T(64, "3b 07", "cmp (%rdi),%eax"), OK(2, CMP, 4), MR, REG(0) },
	{ T(64, "38 3f", "cmp %bh,(%rdi)"), OK(2, CMP, 1), MR, DST, HREG(3) },
	{ T(64, "f0 39 07", "lock cmp"), BAD(UNSUPPORTED) },

	/* ---- group 1: 80/81/83 ---- */
	{ T(64, "83 0f 01", "orl $0x1,(%rdi)"), OK(3, OR, 4), MRW, DST,
	  IMM(1) },
	{ T(64, "83 27 fe", "andl $0xfffffffe,(%rdi)"), OK(3, AND, 4), MRW,
	  DST, IMM(-2) },
	{ T(64, "48 81 27 00 ff ff ff", "andq $-0x100,(%rdi)"),
	  OK(7, AND, 8), MRW, DST, IMM(-0x100) },
	{ T(64, "80 0f 80", "orb $0x80,(%rdi)"), OK(3, OR, 1), MRW, DST,
	  IMM(-128) },
	{ T(64, "83 7f 20 10", "cmpl $0x10,0x20(%rdi)"), OK(4, CMP, 4), MR,
	  DST, DISP(0x20), IMM(0x10) },
	{ T(64, "f0 83 0f 01", "lock orl $0x1,(%rdi)"), OK(4, OR, 4), MRW,
	  DST, IMM(1), LOCK },
	{ T(64, "f0 83 3f 01", "lock cmpl"), BAD(UNSUPPORTED) },
	{ T(64, "83 c0 01", "add $0x1,%eax (register form)"), OK(3, ADD, 4),
	  IMM(1) },
	{ T(64, "66 81 07 34 12", "addw $0x1234,(%rdi)"), OK(5, ADD, 2), MRW,
	  DST, IMM(0x1234) },
	{ T(64, "81 57 04 00 01 00 00", "adcl $0x100,0x4(%rdi)"),
	  OK(7, ADC, 4), MRW, DST, DISP(4), IMM(0x100) },
	{ T(64, "83 1f ff", "sbbl $-1,(%rdi)"), OK(3, SBB, 4), MRW, DST,
	  IMM(-1) },
	{ T(64, "80 2f 01", "subb $0x1,(%rdi)"), OK(3, SUB, 1), MRW, DST,
	  IMM(1) },
	{ T(64, "81 35 00 00 00 00 00 00 00 80", "xorl $0x80000000,0x0(%rip)"),
	  OK(10, XOR, 4), MRW, DST, RIP, IMM(-0x80000000LL) },
	{ T(32, "82 07 01", "82 (80 alias)"), BAD(UNSUPPORTED) },
	{ T(64, "82 07 01", "82 (invalid in 64-bit)"), BAD(UNSUPPORTED) },

	/* ---- TEST, XCHG ---- */
	{ T(64, "85 07", "test %eax,(%rdi)"), OK(2, TEST, 4), MR, DST, REG(0) },
	{ T(64, "84 1f", "test %bl,(%rdi)"), OK(2, TEST, 1), MR, DST, REG(3) },
	{ T(64, "f6 07 01", "testb $0x1,(%rdi)"), OK(3, TEST, 1), MR, DST,
	  IMM(1) },
	{ T(64, "f7 07 00 00 00 80", "testl $0x80000000,(%rdi)"),
	  OK(6, TEST, 4), MR, DST, IMM(-0x80000000LL) },
	{ T(64, "48 f7 47 08 ff 00 00 00", "testq $0xff,0x8(%rdi)"),
	  OK(8, TEST, 8), MR, DST, DISP(8), IMM(0xff) },
	{ T(64, "f7 17", "notl (%rdi)"), BAD(UNSUPPORTED) },
	{ T(64, "f6 0f 00", "f6 /1 (undocumented test)"), BAD(UNSUPPORTED) },
	{ T(64, "87 07", "xchg %eax,(%rdi)"), OK(2, XCHG, 4), MRW, DST,
	  REG(0) },
	{ T(64, "86 0f", "xchg %cl,(%rdi)"), OK(2, XCHG, 1), MRW, DST, REG(1) },
	{ T(64, "f0 48 87 07", "lock xchg %rax,(%rdi)"), OK(4, XCHG, 8), MRW,
	  DST, REG(0), LOCK },

	/* ---- port I/O ---- */
	{ T(64, "e4 60", "in $0x60,%al"), OK(2, IN, 1), REG(0), PORT(0x60) },
	{ T(64, "e5 71", "in $0x71,%eax"), OK(2, IN, 4), REG(0), PORT(0x71) },
	{ T(64, "66 e5 71", "in $0x71,%ax"), OK(3, IN, 2), REG(0), PORT(0x71) },
	{ T(64, "48 e5 71", "rex.W in $0x71,%eax (W ignored)"), OK(3, IN, 4),
	  REG(0), PORT(0x71) },
	{ T(64, "e6 80", "out %al,$0x80"), OK(2, OUT, 1), REG(0), PORT(0x80) },
	{ T(64, "e7 f0", "out %eax,$0xf0"), OK(2, OUT, 4), REG(0), PORT(0xf0) },
	{ T(64, "ec", "in (%dx),%al"), OK(1, IN, 1), REG(0) },
	{ T(64, "ed", "in (%dx),%eax"), OK(1, IN, 4), REG(0) },
	{ T(64, "ee", "out %al,(%dx)"), OK(1, OUT, 1), REG(0) },
	{ T(64, "66 ef", "out %ax,(%dx)"), OK(2, OUT, 2), REG(0) },
	{ T(64, "6c", "insb (%dx),%es:(%rdi)"), OK(1, INS, 1), MW, DST,
	  SEG(ES), STR_D },
	{ T(64, "f3 66 6d", "rep insw (%dx),%es:(%rdi)"), OK(3, INS, 2), MW,
	  DST, SEG(ES), STR_D, REP },
	{ T(64, "6e", "outsb %ds:(%rsi),(%dx)"), OK(1, OUTS, 1), MR, STR_S },
	{ T(64, "f3 6f", "rep outsl %ds:(%rsi),(%dx)"), OK(2, OUTS, 4), MR,
	  STR_S, REP },
	{ T(64, "48 6f", "rex.W outsl (W ignored)"), OK(2, OUTS, 4), MR,
	  STR_S },
	{ T(64, "64 6e", "outsb %fs:(%rsi),(%dx)"), OK(2, OUTS, 1), MR, STR_S,
	  SEGOV(FS) },
	{ T(32, "e5 71", "in $0x71,%eax"), OK(2, IN, 4), REG(0), PORT(0x71) },
	{ T(32, "f3 6d", "rep insl (%dx),%es:(%edi)"), OK(2, INS, 4), MW, DST,
	  SEG(ES), STR_D, REP },
	{ T(16, "ed", "in (%dx),%ax"), OK(1, IN, 2), REG(0) },
	{ T(16, "66 ed", "in (%dx),%eax"), OK(2, IN, 4), REG(0) },
	{ T(16, "f3 6e", "rep outsb (16-bit)"), OK(2, OUTS, 1), MR, STR_S,
	  REP },

	/* ---- 32-bit mode ---- */
	{ T(32, "89 07", "mov %eax,(%edi)"), OK(2, MOV, 4), MW, DST, REG(0) },
	{ T(32, "40", "inc %eax"), BAD(UNSUPPORTED) },
	{ T(32, "48 89 07", "dec %eax; mov (no REX in 32-bit)"),
	  BAD(UNSUPPORTED) },
	{ T(32, "89 05 78 56 34 12", "mov %eax,0x12345678 (not RIP-rel)"),
	  OK(6, MOV, 4), MW, DST, REG(0), DISP(0x12345678) },
	{ T(32, "66 89 07", "mov %ax,(%edi)"), OK(3, MOV, 2), MW, DST,
	  REG(0) },
	{ T(32, "67 89 07", "mov %eax,(%bx)"), OK(3, MOV, 4), MW, DST, REG(0),
	  ASZ(2) },
	{ T(32, "67 89 06 34 12", "mov %eax,0x1234 (addr16)"), OK(5, MOV, 4),
	  MW, DST, REG(0), ASZ(2), DISP(0x1234) },
	{ T(32, "89 04 24", "mov %eax,(%esp)"), OK(3, MOV, 4), MW, DST, REG(0),
	  SEG(SS) },
	{ T(32, "3e 89 07", "mov %eax,%ds:(%edi)"), OK(3, MOV, 4), MW, DST,
	  REG(0), SEGOV(DS) },
	{ T(32, "88 26", "mov %ah,(%esi)"), OK(2, MOV, 1), MW, DST, HREG(0) },
	{ T(32, "c7 05 00 00 f0 fe 01 00 00 00", "movl $0x1,0xfef00000"),
	  OK(10, MOV, 4), MW, DST, IMM(1), DISP(-0x01100000) },
	{ T(32, "36 8b 44 8e fc", "mov %ss:-0x4(%esi,%ecx,4),%eax"),
	  OK(5, MOV, 4), MR, REG(0), SEGOV(SS), DISP(-4) },

	/* ---- 16-bit mode (real mode, or CS.D=0) ---- */
	{ T(16, "89 07", "mov %ax,(%bx)"), OK(2, MOV, 2), MW, DST, REG(0) },
	{ T(16, "89 02", "mov %ax,(%bp,%si)"), OK(2, MOV, 2), MW, DST, REG(0),
	  SEG(SS) },
	{ T(16, "89 46 00", "mov %ax,0x0(%bp)"), OK(3, MOV, 2), MW, DST, REG(0),
	  SEG(SS) },
	{ T(16, "89 06 34 12", "mov %ax,0x1234"), OK(4, MOV, 2), MW, DST,
	  REG(0), DISP(0x1234) },
	{ T(16, "89 86 34 12", "mov %ax,0x1234(%bp)"), OK(4, MOV, 2), MW, DST,
	  REG(0), SEG(SS), DISP(0x1234) },
	{ T(16, "89 80 00 80", "mov %ax,-0x8000(%bx,%si)"), OK(4, MOV, 2), MW,
	  DST, REG(0), DISP(-0x8000) },
	{ T(16, "8b 5c 02", "mov 0x2(%si),%bx"), OK(3, MOV, 2), MR, REG(3),
	  DISP(2) },
	{ T(16, "66 89 07", "mov %eax,(%bx)"), OK(3, MOV, 4), MW, DST, REG(0) },
	{ T(16, "67 89 04 24", "mov %ax,(%esp)"), OK(4, MOV, 2), MW, DST,
	  REG(0), SEG(SS), ASZ(4) },
	{ T(16, "c7 07 34 12", "movw $0x1234,(%bx)"), OK(4, MOV, 2), MW, DST,
	  IMM(0x1234) },
	{ T(16, "66 c7 07 78 56 34 12", "movl $0x12345678,(%bx)"),
	  OK(7, MOV, 4), MW, DST, IMM(0x12345678) },
	{ T(16, "83 3f 01", "cmpw $0x1,(%bx)"), OK(3, CMP, 2), MR, DST,
	  IMM(1) },
	{ T(16, "26 f6 06 00 10 80", "testb $0x80,%es:0x1000"),
	  OK(6, TEST, 1), MR, DST, SEGOV(ES), DISP(0x1000), IMM(-128) },
	{ T(16, "40", "inc %ax"), BAD(UNSUPPORTED) },

	/* ---- SSE moves: 0f 10/11 MOVUPS MOVUPD MOVSS MOVSD ---- */
	{ T(64, "0f 10 07", "movups (%rdi),%xmm0"), OK(3, MOV_SSE, 16), MR,
	  REG(0) },
	{ T(64, "0f 11 07", "movups %xmm0,(%rdi)"), OK(3, MOV_SSE, 16), MW,
	  DST, REG(0) },
	{ T(64, "66 0f 10 0f", "movupd (%rdi),%xmm1"), OK(4, MOV_SSE, 16), MR,
	  REG(1) },
	{ T(64, "66 0f 11 0f", "movupd %xmm1,(%rdi)"), OK(4, MOV_SSE, 16), MW,
	  DST, REG(1) },
	{ T(64, "f3 0f 10 07", "movss (%rdi),%xmm0"), OK(4, MOV_SSE, 4), MR,
	  REG(0), ZUP },
	{ T(64, "f3 0f 11 07", "movss %xmm0,(%rdi)"), OK(4, MOV_SSE, 4), MW,
	  DST, REG(0) },
	{ T(64, "f2 0f 10 07", "movsd (%rdi),%xmm0"), OK(4, MOV_SSE, 8), MR,
	  REG(0), ZUP },
	{ T(64, "f2 0f 11 47 08", "movsd %xmm0,0x8(%rdi)"), OK(5, MOV_SSE, 8),
	  MW, DST, REG(0), DISP(8) },
	{ T(64, "f3 44 0f 10 3f", "movss (%rdi),%xmm15 (REX.R)"),
	  OK(5, MOV_SSE, 4), MR, REG(15), ZUP },
	{ T(64, "f2 41 0f 11 00", "movsd %xmm0,(%r8) (REX.B)"),
	  OK(5, MOV_SSE, 8), MW, DST, REG(0) },
	{ T(64, "66 48 0f 10 07", "rex.W movupd (%rdi),%xmm0 (W ignored)"),
	  OK(5, MOV_SSE, 16), MR, REG(0) },
	{ T(64, "f3 48 0f 11 07", "rex.W movss %xmm0,(%rdi) (W ignored)"),
	  OK(5, MOV_SSE, 4), MW, DST, REG(0) },
	{ T(64, "f2 f3 0f 10 07", "f2 f3: the last (movss) counts"),
	  OK(5, MOV_SSE, 4), MR, REG(0), ZUP },
	{ T(64, "0f 10 c1", "movups %xmm1,%xmm0 (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "f3 0f 10 c1", "movss %xmm1,%xmm0 (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "f2 0f 11 c8", "movsd %xmm1,%xmm0 (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "66 f3 0f 10 07", "66 with f3: refused"), BAD(UNSUPPORTED) },
	{ T(64, "f2 66 0f 11 07", "f2 with 66: refused"), BAD(UNSUPPORTED) },
	{ T(64, "f0 0f 11 07", "lock movups"), BAD(UNSUPPORTED) },

	/* ---- SSE moves: 0f 28/29 MOVAPS MOVAPD ---- */
	{ T(64, "0f 28 07", "movaps (%rdi),%xmm0"), OK(3, MOV_SSE, 16), MR,
	  REG(0), A16 },
	{ T(64, "0f 29 07", "movaps %xmm0,(%rdi)"), OK(3, MOV_SSE, 16), MW,
	  DST, REG(0), A16 },
	{ T(64, "66 0f 28 17", "movapd (%rdi),%xmm2"), OK(4, MOV_SSE, 16), MR,
	  REG(2), A16 },
	{ T(64, "66 44 0f 29 4c 24 10", "movapd %xmm9,0x10(%rsp)"),
	  OK(7, MOV_SSE, 16), MW, DST, REG(9), SEG(SS), DISP(0x10), A16 },
	{ T(64, "0f 28 05 00 10 00 00", "movaps 0x1000(%rip),%xmm0"),
	  OK(7, MOV_SSE, 16), MR, REG(0), RIP, DISP(0x1000), A16 },
	{ T(64, "45 0f 29 3c 24", "movaps %xmm15,(%r12) (REX.R REX.B)"),
	  OK(5, MOV_SSE, 16), MW, DST, REG(15), A16 },
	{ T(64, "f3 0f 28 07", "f3 0f 28 (undefined)"), BAD(UNSUPPORTED) },
	{ T(64, "f2 0f 29 07", "f2 0f 29 (undefined)"), BAD(UNSUPPORTED) },
	{ T(64, "0f 28 c8", "movaps %xmm0,%xmm1 (register form)"),
	  BAD(UNSUPPORTED) },

	/* ---- SSE moves: 0f 6f/7f MOVDQA MOVDQU ---- */
	{ T(64, "66 0f 6f 07", "movdqa (%rdi),%xmm0"), OK(4, MOV_SSE, 16), MR,
	  REG(0), A16 },
	{ T(64, "66 0f 7f 07", "movdqa %xmm0,(%rdi)"), OK(4, MOV_SSE, 16), MW,
	  DST, REG(0), A16 },
	{ T(64, "f3 0f 6f 07", "movdqu (%rdi),%xmm0"), OK(4, MOV_SSE, 16), MR,
	  REG(0) },
	{ T(64, "f3 0f 7f 07", "movdqu %xmm0,(%rdi)"), OK(4, MOV_SSE, 16), MW,
	  DST, REG(0) },
	{ T(64, "f3 45 0f 6f 03", "movdqu (%r11),%xmm8 (REX.R REX.B)"),
	  OK(5, MOV_SSE, 16), MR, REG(8) },
	{ T(64, "66 42 0f 7f 04 c8", "movdqa %xmm0,(%rax,%r9,8) (REX.X)"),
	  OK(6, MOV_SSE, 16), MW, DST, REG(0), A16 },
	{ T(64, "65 f3 0f 6f 04 25 00 01 00 00", "movdqu %gs:0x100,%xmm0"),
	  OK(10, MOV_SSE, 16), MR, REG(0), SEGOV(GS), DISP(0x100) },
	{ T(64, "f3 64 0f 7f 07", "movdqu %xmm0,%fs:(%rdi)"),
	  OK(5, MOV_SSE, 16), MW, DST, REG(0), SEGOV(FS) },
	{ T(64, "0f 6f 07", "movq (%rdi),%mm0 (MMX)"), BAD(UNSUPPORTED) },
	{ T(64, "0f 7f 07", "movq %mm0,(%rdi) (MMX)"), BAD(UNSUPPORTED) },
	{ T(64, "f2 0f 6f 07", "f2 0f 6f (undefined)"), BAD(UNSUPPORTED) },
	{ T(64, "66 0f 6f c1", "movdqa %xmm1,%xmm0 (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "f3 0f 7f c1", "movdqu %xmm0,%xmm1 (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "f0 66 0f 7f 07", "lock movdqa"), BAD(UNSUPPORTED) },

	/* ---- SSE moves: MOVQ 66 0f d6, f3 0f 7e ---- */
	{ T(64, "66 0f d6 07", "movq %xmm0,(%rdi)"), OK(4, MOV_SSE, 8), MW,
	  DST, REG(0) },
	{ T(64, "66 0f d6 0d f0 ff ff ff", "movq %xmm1,-0x10(%rip)"),
	  OK(8, MOV_SSE, 8), MW, DST, REG(1), RIP, DISP(-0x10) },
	{ T(64, "66 44 0f d6 17", "movq %xmm10,(%rdi) (REX.R)"),
	  OK(5, MOV_SSE, 8), MW, DST, REG(10) },
	{ T(64, "f3 0f 7e 07", "movq (%rdi),%xmm0"), OK(4, MOV_SSE, 8), MR,
	  REG(0), ZUP },
	{ T(64, "f3 48 0f 7e 07", "rex.W movq (%rdi),%xmm0 (W ignored)"),
	  OK(5, MOV_SSE, 8), MR, REG(0), ZUP },
	{ T(64, "67 f3 0f 7e 07", "movq (%edi),%xmm0"), OK(5, MOV_SSE, 8), MR,
	  REG(0), ZUP, ASZ(4) },
	{ T(64, "66 0f d6 c0", "movq %xmm0,%xmm0 (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "f3 0f 7e c1", "movq %xmm1,%xmm0 (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "0f d6 07", "0f d6 (undefined)"), BAD(UNSUPPORTED) },
	{ T(64, "f3 0f d6 c1", "movq2dq %mm1,%xmm0"), BAD(UNSUPPORTED) },
	{ T(64, "f2 0f d6 c1", "movdq2q %xmm1,%mm0"), BAD(UNSUPPORTED) },

	/* ---- SSE moves: MOVD/MOVQ 66 0f 6e/7e ---- */
	{ T(64, "66 0f 6e 07", "movd (%rdi),%xmm0"), OK(4, MOV_SSE, 4), MR,
	  REG(0), ZUP },
	{ T(64, "66 48 0f 6e 07", "movq (%rdi),%xmm0 (REX.W)"),
	  OK(5, MOV_SSE, 8), MR, REG(0), ZUP },
	{ T(64, "66 4c 0f 6e 5f 04", "movq 0x4(%rdi),%xmm11 (REX.W REX.R)"),
	  OK(6, MOV_SSE, 8), MR, REG(11), ZUP, DISP(4) },
	{ T(64, "66 0f 7e 07", "movd %xmm0,(%rdi)"), OK(4, MOV_SSE, 4), MW,
	  DST, REG(0) },
	{ T(64, "66 4c 0f 7e 0f", "movq %xmm9,(%rdi) (REX.W REX.R)"),
	  OK(5, MOV_SSE, 8), MW, DST, REG(9) },
	{ T(64, "66 49 0f 7e 06", "movq %xmm0,(%r14) (REX.W REX.B)"),
	  OK(5, MOV_SSE, 8), MW, DST, REG(0) },
	{ T(64, "48 66 0f 7e 07", "REX before 66 is ignored: movd"),
	  OK(5, MOV_SSE, 4), MW, DST, REG(0) },
	{ T(64, "66 0f 6e c0", "movd %eax,%xmm0 (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "66 48 0f 7e c0", "movq %xmm0,%rax (register form)"),
	  BAD(UNSUPPORTED) },
	{ T(64, "0f 6e 07", "movd (%rdi),%mm0 (MMX)"), BAD(UNSUPPORTED) },
	{ T(64, "0f 7e 07", "movd %mm0,(%rdi) (MMX)"), BAD(UNSUPPORTED) },
	{ T(64, "f3 0f 6e 07", "f3 0f 6e (undefined)"), BAD(UNSUPPORTED) },
	{ T(64, "f2 0f 7e 07", "f2 0f 7e (undefined)"), BAD(UNSUPPORTED) },

	/* ---- SSE moves: VEX forms, other modes, truncation ---- */
	{ T(64, "c5 f9 6f 07", "vmovdqa (%rdi),%xmm0"), BAD(UNSUPPORTED) },
	{ T(64, "c5 fa 10 07", "vmovss (%rdi),%xmm0"), BAD(UNSUPPORTED) },
	{ T(64, "c5 f8 29 07", "vmovaps %xmm0,(%rdi)"), BAD(UNSUPPORTED) },
	{ T(64, "c4 c1 78 11 00", "vmovups %xmm0,(%r8)"), BAD(UNSUPPORTED) },
	{ T(64, "c4 e1 f9 7e 07", "vmovq %xmm0,(%rdi)"), BAD(UNSUPPORTED) },
	{ T(32, "c5 f9 d6 07", "vmovq %xmm0,(%edi)"), BAD(UNSUPPORTED) },
	{ T(32, "f3 0f 6f 07", "movdqu (%edi),%xmm0"), OK(4, MOV_SSE, 16), MR,
	  REG(0) },
	{ T(32, "66 0f 7e 07", "movd %xmm0,(%edi)"), OK(4, MOV_SSE, 4), MW,
	  DST, REG(0) },
	{ T(32, "0f 29 44 24 10", "movaps %xmm0,0x10(%esp)"),
	  OK(5, MOV_SSE, 16), MW, DST, REG(0), SEG(SS), DISP(0x10), A16 },
	{ T(32, "f2 0f 10 05 00 00 f0 fe", "movsd 0xfef00000,%xmm0"),
	  OK(8, MOV_SSE, 8), MR, REG(0), ZUP, DISP(-0x01100000) },
	{ T(16, "66 0f 28 07", "movapd (%bx),%xmm0 (66 is no opsize)"),
	  OK(4, MOV_SSE, 16), MR, REG(0), A16 },
	{ T(16, "f3 0f 10 46 02", "movss 0x2(%bp),%xmm0"), OK(5, MOV_SSE, 4),
	  MR, REG(0), SEG(SS), DISP(2), ZUP },
	{ T(16, "66 0f 6e 07", "movd (%bx),%xmm0"), OK(4, MOV_SSE, 4), MR,
	  REG(0), ZUP },
	{ T(64, "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e f3 0f 6f 47 10",
	    "10 prefixes + movdqu: 15 bytes"), OK(15, MOV_SSE, 16), MR,
	  REG(0), SEGOV(CS), DISP(0x10) },
	{ T(64, "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e f3 0f 6f 47 10",
	    "11 prefixes + movdqu: 16 bytes"), BAD(TOO_LONG) },
	{ T(64, "f3", "f3 only"), BAD(NEED_MORE) },
	{ T(64, "66 0f", "66 0f only"), BAD(NEED_MORE) },
	{ T(64, "f3 0f 6f", "movdqu without ModRM"), BAD(NEED_MORE) },
	{ T(64, "0f 28 04", "movaps without SIB"), BAD(NEED_MORE) },
	{ T(64, "66 0f d6 05 00 00", "movq rip-relative, half a disp32"),
	  BAD(NEED_MORE) },

	/* ---- MOV from/to debug registers: 0f 21/23, mod ignored ---- */
	{ T(64, "0f 21 c0", "mov %db0,%rax"), OK(3, MOV_DR, 8), REG(0),
	  DR(0) },
	{ T(64, "0f 21 f8", "mov %db7,%rax"), OK(3, MOV_DR, 8), REG(0),
	  DR(7) },
	{ T(64, "0f 23 f8", "mov %rax,%db7"), OK(3, MOV_DR, 8), REG(0),
	  DR(7) },
	{ T(64, "0f 23 d1", "mov %rcx,%db2"), OK(3, MOV_DR, 8), REG(1),
	  DR(2) },
	{ T(64, "41 0f 23 c7", "mov %r15,%db0 (REX.B)"), OK(4, MOV_DR, 8),
	  REG(15), DR(0) },
	{ T(64, "44 0f 21 c0", "mov %db8,%rax (REX.R)"), OK(4, MOV_DR, 8),
	  REG(0), DR(8) },
	{ T(64, "45 0f 21 ff", "mov %db15,%r15"), OK(4, MOV_DR, 8), REG(15),
	  DR(15) },
	{ T(64, "48 0f 21 f0", "mov %db6,%rax (REX.W ignored)"),
	  OK(4, MOV_DR, 8), REG(0), DR(6) },
	{ T(64, "66 0f 21 f0", "mov %db6,%rax (66 ignored)"), OK(4, MOV_DR, 8),
	  REG(0), DR(6) },
	{ T(64, "0f 21 07", "mov %db0,%rdi (mod=0: still a register)"),
	  OK(3, MOV_DR, 8), REG(7), DR(0) },
	{ T(64, "0f 23 44", "mov %rsp,%db0 (mod=1 rm=4: no SIB, no disp)"),
	  OK(3, MOV_DR, 8), REG(4), DR(0) },
	{ T(64, "0f 21 0d", "mov %db1,%rbp (mod=0 rm=5: not RIP-relative)"),
	  OK(3, MOV_DR, 8), REG(5), DR(1) },
	{ T(64, "0f 23 b3", "mov %rbx,%db6 (mod=2: no disp32)"),
	  OK(3, MOV_DR, 8), REG(3), DR(6) },
	{ T(32, "0f 21 f8", "mov %db7,%eax"), OK(3, MOV_DR, 4), REG(0),
	  DR(7) },
	{ T(32, "0f 23 f9", "mov %ecx,%db7"), OK(3, MOV_DR, 4), REG(1),
	  DR(7) },
	{ T(32, "66 0f 23 c0", "mov %eax,%db0 (66 ignored)"), OK(4, MOV_DR, 4),
	  REG(0), DR(0) },
	{ T(16, "0f 23 c0", "mov %eax,%db0 (real mode)"), OK(3, MOV_DR, 4),
	  REG(0), DR(0) },
	{ T(16, "0f 21 f3", "mov %db6,%ebx (real mode)"), OK(3, MOV_DR, 4),
	  REG(3), DR(6) },
	{ T(64, "0f 22 e0", "mov %rax,%cr4"), OK(3, MOV_CR, 8), REG(0),
	  DR(4) },
	{ T(64, "0f 20 e1", "mov %cr4,%rcx"), OK(3, MOV_CR, 8), REG(1),
	  DR(4) },
	{ T(64, "44 0f 22 c7", "mov %rdi,%cr8 (REX.R)"), OK(4, MOV_CR, 8),
	  REG(7), DR(8) },
	{ T(64, "66 0f 22 e0", "mov %rax,%cr4 (66 ignored)"),
	  OK(4, MOV_CR, 8), REG(0), DR(4) },
	{ T(32, "0f 22 e3", "mov %ebx,%cr4"), OK(3, MOV_CR, 4), REG(3),
	  DR(4) },
	{ T(64, "f0 0f 21 c0", "lock mov %db0,%rax"), BAD(UNSUPPORTED) },
	{ T(64, "f3 0f 21 c0", "f3 0f 21"), BAD(UNSUPPORTED) },
	{ T(64, "0f 20 c0", "mov %cr0,%rax"), OK(3, MOV_CR, 8), REG(0),
	  DR(0) },
	{ T(64, "0f 22 c0", "mov %rax,%cr0"), OK(3, MOV_CR, 8), REG(0),
	  DR(0) },
	{ T(64, "0f 21", "mov %dbN without ModRM"), BAD(NEED_MORE) },
	{ T(64, "44 0f 23", "REX mov to %dbN without ModRM"), BAD(NEED_MORE) },

	/* ---- not decoded: never guess ---- */
	{ T(64, "90", "nop"), BAD(UNSUPPORTED) },
	{ T(64, "8d 07", "lea (%rdi),%eax"), BAD(UNSUPPORTED) },
	{ T(64, "ff 07", "incl (%rdi)"), BAD(UNSUPPORTED) },
	{ T(64, "0f 05", "syscall"), BAD(UNSUPPORTED) },
	{ T(64, "a6", "cmpsb"), BAD(UNSUPPORTED) },
	{ T(64, "0f 0b", "ud2"), BAD(UNSUPPORTED) },

	/* ---- length limit: 15 bytes ---- */
	{ T(64, "66 66 66 66 66 66 66 66 66 66 66 66 66 89 07",
	    "13 prefixes + mov: 15 bytes"), OK(15, MOV, 2), MW, DST, REG(0) },
	{ T(64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 89 07",
	    "14 prefixes + mov: 16 bytes"), BAD(TOO_LONG) },
	{ T(64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 66",
	    "16 prefixes"), BAD(TOO_LONG) },
	{ T(64, "2e 2e 2e 2e 2e 2e 2e 2e 2e c7 07 01 00 00 00",
	    "9 prefixes + movl imm: 15 bytes"), OK(15, MOV, 4), MW, DST,
	  IMM(1), SEGOV(CS) },
	{ T(64, "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e c7 07 01 00 00 00",
	    "10 prefixes + movl imm: 16 bytes"), BAD(TOO_LONG) },

	/* ---- truncated fetches ---- */
	{ T(64, "", "nothing"), BAD(NEED_MORE) },
	{ T(64, "89", "opcode only"), BAD(NEED_MORE) },
	{ T(64, "48", "REX only"), BAD(NEED_MORE) },
	{ T(64, "0f", "escape only"), BAD(NEED_MORE) },
	{ T(64, "89 04", "SIB missing"), BAD(NEED_MORE) },
	{ T(64, "89 05 00 00", "half a disp32"), BAD(NEED_MORE) },
	{ T(64, "c7 07 78 56", "half an imm32"), BAD(NEED_MORE) },
	{ T(64, "a1 00 00 00 00", "moffs64 cut after 4 bytes"),
	  BAD(NEED_MORE) },
	{ T(16, "89 06 34", "half a disp16"), BAD(NEED_MORE) },
	{ T(64, "e4", "in without its port"), BAD(NEED_MORE) },
};

/* Parse "48 89 07" into buf; returns the byte count. */
static unsigned int parse_hex(const char *hex, u8 *buf, unsigned int size)
{
	unsigned int n = 0;
	char *end;

	while (*hex && n < size) {
		buf[n++] = (u8)strtoul(hex, &end, 16);
		if (end == hex)
			abort();
		hex = end;
		while (*hex == ' ')
			hex++;
	}
	return n;
}

static const char *const result_names[] = {
	"OK", "UNSUPPORTED", "NEED_MORE", "TOO_LONG",
};

/* Compare one decode with its row; log every mismatch; return their count. */
static int check_case(struct __test_metadata *_metadata,
		      const struct tcase *t, const struct okvm_insn *in,
		      enum okvm_decode_result res)
{
	static const u8 default_asize[] = { 2, 4, 8 };
	int bad = 0;

#define CHECK(field, want) do {						\
		long long w_ = (long long)(want), g_ = (long long)(field); \
		if (w_ != g_) {						\
			TH_LOG("[%s] \"%s\": %s = %#llx, want %#llx",	\
			       t->hex, t->asm_, #field, g_, w_);	\
			bad++;						\
		}							\
	} while (0)

	if (res != t->res) {
		TH_LOG("[%s] \"%s\": result %s, want %s", t->hex, t->asm_,
		       result_names[res], result_names[t->res]);
		return 1;
	}
	if (res != OKVM_DECODE_OK)
		return 0;
	CHECK(in->len, t->len);
	CHECK(in->kind, t->kind);
	CHECK(in->op_size, t->size);
	CHECK(in->dst_size, t->dsize ? t->dsize : t->size);
	CHECK(in->addr_size, t->asize ? t->asize : default_asize[t->mode]);
	CHECK(in->ext, t->ext);
	CHECK(in->mem, t->mem);
	CHECK(in->mem_is_dst, t->dst);
	CHECK(in->has_reg, t->reg != 0);
	if (t->reg)
		CHECK(in->reg, t->reg - 1);
	CHECK(in->reg_high8, t->high8);
	CHECK(in->has_imm, t->has_imm);
	CHECK(in->imm, t->imm);
	CHECK(in->port_imm, t->pimm);
	CHECK(in->port, t->port);
	CHECK(in->rep, t->rep);
	CHECK(in->seg, t->seg ? t->seg - 1 : OKVM_SEG_DS);
	CHECK(in->seg_override, t->segov);
	CHECK(in->lock, t->lock);
	CHECK(in->rip_relative, t->rip);
	CHECK(in->disp, t->disp);
	CHECK(in->moffs, t->moffs);
	CHECK(in->str_src, t->str_src);
	CHECK(in->str_dst, t->str_dst);
	CHECK(in->xmm_zero_upper, t->zup);
	CHECK(in->aligned16, t->a16);
	CHECK(in->dr, t->dr);
#undef CHECK
	return bad;
}

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Every row, decoded from exactly its bytes. */
TEST(decode_table)
{
	int failed = 0;
	unsigned int i;

	for (i = 0; i < NCASES; i++) {
		struct okvm_insn in;
		u8 buf[32];
		unsigned int n = parse_hex(cases[i].hex, buf, sizeof(buf));

		failed += check_case(_metadata, &cases[i], &in,
				     okvm_decode_insn(buf, n, cases[i].mode,
						      &in));
	}
	TH_LOG("%zu table entries", NCASES);
	EXPECT_EQ(0, failed);
}

/*
 * Every decodable row: each strict prefix of its bytes says NEED_MORE, and
 * bytes after the instruction (a full 15-byte fetch) change nothing.
 */
TEST(truncated_and_padded)
{
	int failed = 0;
	unsigned int i, cut;

	for (i = 0; i < NCASES; i++) {
		const struct tcase *t = &cases[i];
		struct okvm_insn in;
		enum okvm_decode_result res;
		u8 buf[32];
		unsigned int n;

		if (t->res != OKVM_DECODE_OK)
			continue;
		memset(buf, 0x90, sizeof(buf));
		n = parse_hex(t->hex, buf, sizeof(buf));
		for (cut = 0; cut < n; cut++) {
			res = okvm_decode_insn(buf, cut, t->mode, &in);
			if (res != OKVM_DECODE_NEED_MORE) {
				TH_LOG("[%s] \"%s\" cut to %u bytes: %s",
				       t->hex, t->asm_, cut, result_names[res]);
				failed++;
			}
		}
		res = okvm_decode_insn(buf, sizeof(buf), t->mode, &in);
		failed += check_case(_metadata, t, &in, res);
	}
	EXPECT_EQ(0, failed);
}

/*
 * Every two-byte start, in every mode, followed by pseudo-random bytes:
 * the decoder never claims more than it was given or more than 15 bytes,
 * and an OK decode is reproduced from exactly its own bytes.
 */
TEST(sweep_first_two_bytes)
{
	static const unsigned int avails[] = { 15, 7, 3 };
	unsigned int seed = 1, mode, b, i, a, ok = 0;
	int failed = 0;

	for (mode = OKVM_CPU_MODE_16; mode <= OKVM_CPU_MODE_64; mode++) {
		for (b = 0; b < 0x10000; b++) {
			struct okvm_insn in, again;
			u8 buf[16];

			buf[0] = b >> 8;
			buf[1] = b & 0xff;
			for (i = 2; i < sizeof(buf); i++) {
				seed = seed * 1103515245 + 12345;
				buf[i] = seed >> 16;
			}
			for (a = 0; a < 3; a++) {
				if (okvm_decode_insn(buf, avails[a], mode, &in) !=
				    OKVM_DECODE_OK)
					continue;
				ok++;
				if (in.len < 1 || in.len > avails[a] ||
				    okvm_decode_insn(buf, in.len, mode, &again) !=
				    OKVM_DECODE_OK || again.len != in.len) {
					TH_LOG("mode %u, %02x %02x: len %u",
					       mode, buf[0], buf[1], in.len);
					failed++;
				}
			}
		}
	}
	TH_LOG("%u decodes checked", ok);
	EXPECT_EQ(0, failed);
}

/* The mode helper follows CR0.PE, RFLAGS.VM, EFER.LMA, CS.L and CS.D. */
TEST(cpu_mode)
{
	EXPECT_EQ(OKVM_CPU_MODE_16, okvm_cpu_mode(false, false, false, 0, 0));
	EXPECT_EQ(OKVM_CPU_MODE_16, okvm_cpu_mode(true, true, false, 0, 1));
	EXPECT_EQ(OKVM_CPU_MODE_16, okvm_cpu_mode(true, false, false, 0, 0));
	EXPECT_EQ(OKVM_CPU_MODE_32, okvm_cpu_mode(true, false, false, 0, 1));
	EXPECT_EQ(OKVM_CPU_MODE_32, okvm_cpu_mode(true, false, true, 0, 1));
	EXPECT_EQ(OKVM_CPU_MODE_16, okvm_cpu_mode(true, false, true, 0, 0));
	EXPECT_EQ(OKVM_CPU_MODE_64, okvm_cpu_mode(true, false, true, 1, 0));
}

TEST(kind_names)
{
	EXPECT_STREQ("mov", okvm_insn_kind_name(OKVM_INSN_MOV));
	EXPECT_STREQ("outs", okvm_insn_kind_name(OKVM_INSN_OUTS));
	EXPECT_STREQ("mov_sse", okvm_insn_kind_name(OKVM_INSN_MOV_SSE));
	EXPECT_STREQ("mov_dr", okvm_insn_kind_name(OKVM_INSN_MOV_DR));
	EXPECT_STREQ("mov_cr", okvm_insn_kind_name(OKVM_INSN_MOV_CR));
	EXPECT_STREQ("?", okvm_insn_kind_name(OKVM_INSN_NR_KINDS));
}

/*
 * okvm_decode_known(): the length of an intercepted instruction whose
 * opcode the exit gives (SVM without NRIP save), prefixes included.
 */
struct known_case {
	enum okvm_cpu_mode mode;
	const char *hex;
	const char *op;
	enum okvm_decode_result res;
	unsigned int len;
};

static const struct known_case known_cases[] = {
	{ OKVM_CPU_MODE_64, "0f a2", "0f a2", OKVM_DECODE_OK, 2 },
	{ OKVM_CPU_MODE_64, "66 0f a2", "0f a2", OKVM_DECODE_OK, 3 },
	{ OKVM_CPU_MODE_64, "f3 0f a2", "0f a2", OKVM_DECODE_OK, 3 },
	{ OKVM_CPU_MODE_64, "2e 3e 66 48 0f a2", "0f a2", OKVM_DECODE_OK, 6 },
	/* A REX byte voided by a later prefix still counts. */
	{ OKVM_CPU_MODE_64, "48 66 0f a2", "0f a2", OKVM_DECODE_OK, 4 },
	/* Outside 64-bit mode 48 is DEC EAX, not a prefix. */
	{ OKVM_CPU_MODE_32, "48 0f a2", "0f a2", OKVM_DECODE_UNSUPPORTED, 0 },
	{ OKVM_CPU_MODE_16, "66 0f a2", "0f a2", OKVM_DECODE_OK, 3 },
	{ OKVM_CPU_MODE_64, "2e 0f 30", "0f 30", OKVM_DECODE_OK, 3 },
	{ OKVM_CPU_MODE_64, "0f 32", "0f 30", OKVM_DECODE_UNSUPPORTED, 0 },
	{ OKVM_CPU_MODE_64, "2e 3e f4", "f4", OKVM_DECODE_OK, 3 },
	{ OKVM_CPU_MODE_32, "0f 01 d1", "0f 01 d1", OKVM_DECODE_OK, 3 },
	{ OKVM_CPU_MODE_64, "2e 0f 01 d1", "0f 01 d1", OKVM_DECODE_OK, 4 },
	/* XGETBV where XSETBV exited: the code changed since the exit. */
	{ OKVM_CPU_MODE_64, "0f 01 d0", "0f 01 d1", OKVM_DECODE_UNSUPPORTED, 0 },
	{ OKVM_CPU_MODE_64, "66 0f 08", "0f 08", OKVM_DECODE_OK, 3 },
	{ OKVM_CPU_MODE_64, "66 0f", "0f 08", OKVM_DECODE_NEED_MORE, 0 },
	{ OKVM_CPU_MODE_64, "66", "0f 08", OKVM_DECODE_NEED_MORE, 0 },
	/* 14 prefixes and a 2-byte opcode: 16 bytes, over the limit. */
	{ OKVM_CPU_MODE_64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 0f a2",
	  "0f a2", OKVM_DECODE_TOO_LONG, 0 },
	{ OKVM_CPU_MODE_64, "66 66 66 66 66 66 66 66 66 66 66 66 66 0f a2",
	  "0f a2", OKVM_DECODE_OK, 15 },
};

TEST(known_lengths)
{
	unsigned int i, n, oplen, len;
	u8 buf[32], op[4];

	for (i = 0; i < ARRAY_SIZE(known_cases); i++) {
		const struct known_case *k = &known_cases[i];

		memset(buf, 0x90, sizeof(buf));
		n = parse_hex(k->hex, buf, sizeof(buf));
		oplen = parse_hex(k->op, op, sizeof(op));
		len = 0;
		EXPECT_EQ(k->res, okvm_decode_known(buf, n, k->mode, op, oplen,
						    &len))
			TH_LOG("%s", k->hex);
		if (k->res == OKVM_DECODE_OK)
			EXPECT_EQ(k->len, len) TH_LOG("%s", k->hex);
	}
}

TEST_HARNESS_MAIN
