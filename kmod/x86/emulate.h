/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * emulate.h - decode the x86 instruction that touched MMIO or did port I/O.
 *
 * When a guest access traps on a second-level fault (AMD #NPF, Intel EPT
 * violation) the fault gives the guest-physical address but not what the
 * instruction wanted to do with it. okvm reads the instruction bytes at
 * guest RIP and decodes them here: direction, size, the register or
 * immediate involved, zero/sign extension, and the length, so the vCPU can
 * skip the instruction. The length matters on its own too: TCG's SVM has no
 * NRIP save and no decode assists, so, like KVM without NRIPS, okvm finds
 * the next RIP of IN/OUT/INS/OUTS and MMIO instructions by decoding.
 *
 * The decoder is a pure function with no kernel dependency, so it is built
 * into okvm.ko and also on the host for the unit tests in selftests/unit/.
 * It decodes a small, fixed set of instructions (the ones Linux guests use
 * on MMIO and I/O ports) and says "unsupported" for anything else: it never
 * guesses.
 *
 * OKVM_INSN_MOV_SSE is the memory forms of the SSE/SSE2 moves, chosen by
 * their mandatory prefix (none, 66, f3, f2):
 *
 *   0f 10/11   MOVUPS, MOVUPD (16 bytes), MOVSS (4), MOVSD (8)
 *   0f 28/29   MOVAPS, MOVAPD (16, aligned); no f3/f2 form
 *   0f 6f/7f   66: MOVDQA (16, aligned), f3: MOVDQU (16); none: MMX
 *   66 0f d6   MOVQ m64, xmm
 *   f3 0f 7e   MOVQ xmm, m64
 *   66 0f 6e   MOVD xmm, m32 (MOVQ xmm, m64 with REX.W)
 *   66 0f 7e   MOVD m32, xmm (MOVQ m64, xmm with REX.W)
 *
 * 0f 11, 29, 7f, d6 and 66 0f 7e store; the others load. Only memory
 * forms decode: the register forms never touch memory. The MMX forms (no
 * prefix) and the VEX-encoded ones (c4/c5) are not decoded either.
 */
#ifndef OKVM_X86_EMULATE_H
#define OKVM_X86_EMULATE_H

#ifdef __KERNEL__
#include <linux/bits.h>
#include <linux/kernel.h>
#include <linux/types.h>
#else
/*
 * On the host (selftests/unit/), the same names over the compiler's own
 * fixed-width types, which are what <stdint.h> uses too, NULL and
 * ARRAY_SIZE().
 */
#include <stdbool.h>
#include <stddef.h>
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT8_TYPE__ s8;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;
#define BIT(nr) (1UL << (nr))
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#endif

/* Architectural limit on an instruction's length (Intel SDM Vol. 2 2.3.11). */
#define OKVM_INSN_MAX_LEN	15

/*
 * The code-segment mode the bytes are decoded in (Intel SDM Vol. 3 5.2.1,
 * AMD APM Vol. 2 4.8.1). Real mode and virtual-8086 mode decode as 16-bit.
 */
enum okvm_cpu_mode {
	OKVM_CPU_MODE_16,	/* real mode, or protected mode with CS.D=0 */
	OKVM_CPU_MODE_32,	/* protected/compatibility mode with CS.D=1 */
	OKVM_CPU_MODE_64,	/* long mode with CS.L=1 */
};

/* What okvm_decode_insn() returns. */
enum okvm_decode_result {
	OKVM_DECODE_OK = 0,
	OKVM_DECODE_UNSUPPORTED,	/* not an instruction this decoder knows */
	OKVM_DECODE_NEED_MORE,		/* the buffer ends inside the insn */
	OKVM_DECODE_TOO_LONG,		/* longer than 15 bytes: #GP on HW */
};

enum okvm_insn_kind {
	OKVM_INSN_NONE,
	OKVM_INSN_MOV,		/* 88/89/8a/8b, c6/c7 /0, a0-a3 */
	OKVM_INSN_MOVZX,	/* 0f b6/b7 */
	OKVM_INSN_MOVSX,	/* 0f be/bf, and REX.W 63 (MOVSXD) */
	OKVM_INSN_ADD,		/* the ALU group: 00-03, 80/81/83 /0 ... */
	OKVM_INSN_OR,
	OKVM_INSN_ADC,
	OKVM_INSN_SBB,
	OKVM_INSN_AND,
	OKVM_INSN_SUB,
	OKVM_INSN_XOR,
	OKVM_INSN_CMP,
	OKVM_INSN_TEST,		/* 84/85, f6/f7 /0 */
	OKVM_INSN_XCHG,		/* 86/87 */
	OKVM_INSN_MOVS,		/* a4/a5 */
	OKVM_INSN_STOS,		/* aa/ab */
	OKVM_INSN_LODS,		/* ac/ad */
	OKVM_INSN_IN,		/* e4/e5, ec/ed */
	OKVM_INSN_OUT,		/* e6/e7, ee/ef */
	OKVM_INSN_INS,		/* 6c/6d */
	OKVM_INSN_OUTS,		/* 6e/6f */
	OKVM_INSN_MOV_SSE,	/* SSE/SSE2 xmm <-> memory moves, see below */
	OKVM_INSN_MOV_DR,	/* 0f 21/23: MOV from/to a debug register */
	OKVM_INSN_MOV_CR,	/* 0f 20/22: MOV from/to a control register */
	OKVM_INSN_NR_KINDS
};

/* How a narrower memory value widens into the destination register. */
enum okvm_insn_ext {
	OKVM_EXT_NONE,
	OKVM_EXT_ZERO,		/* MOVZX */
	OKVM_EXT_SIGN,		/* MOVSX, MOVSXD */
};

/* The repeat prefix present, if any (the last of f2/f3 wins). */
enum okvm_rep {
	OKVM_REP_NONE,
	OKVM_REP_REP,		/* f3: REP, or REPE/REPZ for CMPS/SCAS */
	OKVM_REP_REPNE,		/* f2: REPNE/REPNZ */
};

/* Segment registers, numbered as in the ModRM sreg field (SDM 3.4.2). */
enum okvm_seg {
	OKVM_SEG_ES,
	OKVM_SEG_CS,
	OKVM_SEG_SS,
	OKVM_SEG_DS,
	OKVM_SEG_FS,
	OKVM_SEG_GS,
	/* Not encodable in an instruction; the vCPU state has them too. */
	OKVM_SEG_TR,
	OKVM_SEG_LDTR,
};

/* Bits of okvm_insn.mem. */
#define OKVM_MEM_READ	0x1
#define OKVM_MEM_WRITE	0x2

/*
 * struct okvm_insn - one decoded instruction.
 *
 * @len:	length in bytes, prefixes included: next RIP = RIP + @len.
 * @kind:	what it does.
 * @op_size:	bytes moved to or from memory (or the I/O port): 1, 2, 4, 8,
 *		or 16 for OKVM_INSN_MOV_SSE, where the 66 prefix is part of
 *		the opcode and does not change it.
 *		For MOVZX/MOVSX(D) this is the source (memory) size.
 *		For OKVM_INSN_MOV_DR, the general register's width: 8 in
 *		64-bit mode, else 4 (66 and REX.W are ignored).
 * @dst_size:	bytes written to the destination register for MOVZX and
 *		MOVSX(D); equal to @op_size for everything else.
 * @addr_size:	address size in bytes (2, 4, 8): the width of the ModRM
 *		address, of moffs, and of rSI/rDI/rCX for string instructions.
 * @ext:	zero or sign extension from @op_size to @dst_size.
 * @mem:	OKVM_MEM_READ and/or OKVM_MEM_WRITE: what the instruction does
 *		to its memory operand; 0 when it has none (a ModRM register
 *		form, IN/OUT, MOV_DR). Both bits for read-modify-write (the
 *		ALU ops but CMP/TEST, XCHG) and for MOVS (reads one, writes
 *		the other).
 * @mem_is_dst:	the memory operand is the first (destination) operand in
 *		Intel syntax, e.g. true for "cmp [m], r" (38/39), false for
 *		"cmp r, [m]" (3a/3b): operand order matters for SUB/CMP.
 * @has_reg:	a general register is the other operand: @reg. For
 *		OKVM_INSN_MOV_SSE it is an XMM register instead.
 * @reg:	its number, 0 (rAX) to 15 (r15), REX.R applied. When
 *		@reg_high8 is set it is 0-3 and names AH, CH, DH, BH. For
 *		OKVM_INSN_MOV_SSE, the XMM register 0-15 (ModRM.reg, REX.R
 *		applied). For OKVM_INSN_MOV_DR, the general register from
 *		ModRM.rm with REX.B applied, @op_size wide: 0f 21 (see
 *		@opcode) copies debug register @dr into it, 0f 23 copies it
 *		into @dr.
 * @reg_high8:	the register is bits 15:8 of @reg: a byte operand encoded
 *		4-7 without any REX prefix (SDM Vol. 2 3.1.1.1, Table 3-1).
 * @has_imm:	there is an immediate operand: @imm.
 * @imm:	its value, sign-extended to 64 bits from its encoded width
 *		(imm8, imm16 or imm32); truncate it to @op_size to use it.
 * @port_imm:	IN/OUT with the port number in the instruction (@port);
 *		otherwise (ec-ef, INS, OUTS) the port is in DX.
 * @port:	the port number when @port_imm.
 * @rep:	the f2/f3 prefix present. Not for OKVM_INSN_MOV_SSE, where
 *		f2/f3 are mandatory prefixes, part of the opcode: always
 *		OKVM_REP_NONE there.
 * @seg:	the segment of the memory operand after any override. For
 *		MOVS, LODS and OUTS it is the source segment (DS:rSI by
 *		default); the ES:rDI destination of MOVS, STOS and INS cannot
 *		be overridden.
 * @seg_override: @seg comes from a segment-override prefix.
 * @lock:	f0 LOCK prefix present (XCHG with memory locks anyway).
 * @rip_relative: 64-bit mode RIP-relative address (mod=00, rm=101).
 * @disp:	the ModRM displacement, sign-extended; 0 when there is none.
 * @moffs:	the absolute offset of MOV a0-a3, zero-extended.
 * @str_src:	string instruction reading memory at seg:rSI.
 * @str_dst:	string instruction writing memory at ES:rDI.
 *		After each element rSI/rDI move by @op_size, up or down
 *		following RFLAGS.DF; with @rep, rCX (@addr_size wide) counts.
 * @xmm_zero_upper: OKVM_INSN_MOV_SSE load that clears the rest of the
 *		XMM register above the @op_size bytes it loads: MOVSS and
 *		MOVSD from memory (bits 127:32, 127:64; SDM Vol. 2B MOVSS,
 *		MOVSD, "Operation"), MOVQ xmm, m64 (127:64, SDM Vol. 2B
 *		MOVQ) and MOVD/MOVQ xmm, r/m (127:32 or 127:64, SDM Vol. 2B
 *		MOVD/MOVQ). Always false for stores, which write only
 *		@op_size bytes of memory, and for the 16-byte loads, which
 *		write all of bits 127:0. Like every legacy-SSE form, none of
 *		these changes bits above 127 (of YMM/ZMM) in any case.
 * @aligned16:	OKVM_INSN_MOV_SSE that requires a 16-byte aligned memory
 *		operand: MOVAPS, MOVAPD and MOVDQA (SDM Vol. 2B MOVAPS,
 *		MOVAPD, MOVDQA: a memory operand not aligned on a 16-byte
 *		boundary raises #GP(0), before any access is made; KVM
 *		checks the linear address). Always false for MOVUPS,
 *		MOVUPD, MOVDQU and the smaller moves.
 * @dr:		OKVM_INSN_MOV_DR: the debug register, ModRM.reg with REX.R
 *		applied, 0-15 (SDM Vol. 2B MOV-Move to/from Debug
 *		Registers). DR8-DR15 do not exist (#UD) and DR4/DR5 alias
 *		DR6/DR7 or #UD by CR4.DE: the caller decides. For
 *		OKVM_INSN_MOV_CR the control register, the same way (CR8
 *		with REX.R; which exist is the caller's business). 0
 *		otherwise.
 * @rex:	the REX prefix in effect (0x40-0x4f), 0 when none.
 * @opcode:	the opcode byte (after 0f when @opcode_0f).
 * @opcode_0f:	the instruction is in the two-byte (0f xx) opcode map.
 * @has_modrm:	the instruction has a ModRM byte: @modrm.
 * @has_sib:	it has an SIB byte too: @sib.
 */
struct okvm_insn {
	u8 len;
	enum okvm_insn_kind kind;
	u8 op_size;
	u8 dst_size;
	u8 addr_size;
	enum okvm_insn_ext ext;
	u8 mem;
	bool mem_is_dst;
	bool has_reg;
	u8 reg;
	bool reg_high8;
	bool has_imm;
	s64 imm;
	bool port_imm;
	u16 port;
	enum okvm_rep rep;
	enum okvm_seg seg;
	bool seg_override;
	bool lock;
	bool rip_relative;
	s64 disp;
	u64 moffs;
	bool str_src;
	bool str_dst;
	bool xmm_zero_upper;
	bool aligned16;
	u8 dr;
	u8 rex;
	u8 opcode;
	bool opcode_0f;
	bool has_modrm;
	u8 modrm;
	bool has_sib;
	u8 sib;
};

/*
 * okvm_cpu_mode() - the decode mode from the state the vCPU is in.
 * @pe:		CR0.PE.
 * @vm86:	RFLAGS.VM.
 * @lma:	EFER.LMA.
 * @cs_l:	CS.L (the 64-bit code segment bit).
 * @cs_d:	CS.D (the default operation size bit).
 */
static inline enum okvm_cpu_mode okvm_cpu_mode(bool pe, bool vm86, bool lma,
					       bool cs_l, bool cs_d)
{
	if (!pe || vm86)
		return OKVM_CPU_MODE_16;
	if (lma && cs_l)
		return OKVM_CPU_MODE_64;
	return cs_d ? OKVM_CPU_MODE_32 : OKVM_CPU_MODE_16;
}

enum okvm_decode_result okvm_decode_insn(const u8 *buf, unsigned int avail,
					 enum okvm_cpu_mode mode,
					 struct okvm_insn *insn);

const char *okvm_insn_kind_name(enum okvm_insn_kind kind);

enum okvm_decode_result okvm_decode_known(const u8 *buf, unsigned int avail,
					  enum okvm_cpu_mode mode,
					  const u8 *opcode, unsigned int oplen,
					  unsigned int *len);

#endif /* OKVM_X86_EMULATE_H */
