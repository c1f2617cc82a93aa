// SPDX-License-Identifier: GPL-2.0-only
/*
 * emulate.c - a table-driven decoder for the x86 instructions that reach
 * MMIO and I/O ports.
 *
 * An instruction is, in order (Intel SDM Vol. 2 2.1, Figure 2-1; AMD APM
 * Vol. 3 1.1, Figure 1-1):
 *
 *   legacy prefixes  REX  opcode (1 or 2 bytes)  ModRM  SIB  disp  imm
 *   0-14 bytes       0-1  1-2                    0-1    0-1  0-8   0-4
 *
 * and is at most 15 bytes long (SDM Vol. 2 2.3.11). The decoder walks these
 * fields in that order. What each opcode carries (a ModRM byte, an
 * immediate, which operand is memory) comes from one table row per opcode,
 * so adding an instruction is adding a row.
 *
 * No kernel API is used: the same file is compiled into okvm.ko and on the
 * host for selftests/unit/emulate_test.c.
 */
#include "emulate.h"

/* Bits of struct opdesc.flags: what follows the opcode and what it means. */
#define OP_MODRM	BIT(0)	/* a ModRM byte (and maybe SIB, disp) */
#define OP_BYTE		BIT(1)	/* operand size is 1 byte */
#define OP_MEM_R	BIT(2)	/* the memory operand is read */
#define OP_MEM_W	BIT(3)	/* the memory operand is written */
#define OP_RM_DST	BIT(4)	/* ModRM.rm/memory is operand one */
#define OP_REG		BIT(5)	/* ModRM.reg is a general register */
#define OP_ACC		BIT(6)	/* AL/rAX is the register operand */
#define OP_IMM8		BIT(7)	/* imm8, sign-extended */
#define OP_IMMZ		BIT(8)	/* imm16 or imm32 (Iz), sign-extended */
#define OP_MOFFS	BIT(9)	/* an address-sized absolute offset */
#define OP_STR_SRC	BIT(10)	/* string source seg:rSI */
#define OP_STR_DST	BIT(11)	/* string destination ES:rDI */
#define OP_IO		BIT(12)	/* port I/O: operand size at most 4 */
#define OP_PORT_IMM8	BIT(13)	/* port number in an imm8 */
#define OP_LOCKABLE	BIT(14)	/* LOCK is valid with a memory operand */
#define OP_SRC8		BIT(15)	/* MOVZX/MOVSX from a byte */
#define OP_SRC16	BIT(16)	/* MOVZX/MOVSX from a word */
#define OP_SRC32	BIT(17)	/* MOVSXD from a doubleword */
#define OP_REXW		BIT(18)	/* only valid in 64-bit mode with REX.W */
#define OP_SSE		BIT(19)	/* an SSE move: see sse_moves[] */
#define OP_DR		BIT(20)	/* ModRM.reg a DR, .rm a GPR, mod ignored */

/*
 * Opcodes whose ModRM.reg field is an opcode extension ("/digit" in the
 * SDM, a "group" in the opcode maps of SDM Vol. 2 Appendix A.4).
 */
enum opgroup {
	GRP_NONE,
	GRP1,		/* 80/81/83: ADD OR ADC SBB AND SUB XOR CMP r/m, imm */
	GRP3,		/* f6/f7: only /0, TEST r/m, imm */
	GRP11,		/* c6/c7: only /0, MOV r/m, imm */
};

struct opdesc {
	u8 kind;	/* enum okvm_insn_kind, or NONE for a group */
	u8 group;	/* enum opgroup */
	u32 flags;
};

/*
 * The classic ALU block: for each operation the opcodes base+0..base+3 are
 * "op Eb,Gb", "op Ev,Gv", "op Gb,Eb", "op Gv,Ev" (SDM Vol. 2 Table A-2):
 * E is ModRM.rm (memory for us), G is ModRM.reg, b a byte, v the operand
 * size. CMP only reads: it is not lockable and never writes memory.
 */
#define ALU_RMW		(OP_MODRM | OP_REG | OP_MEM_R | OP_MEM_W | OP_RM_DST | \
			 OP_LOCKABLE)
#define ALU_LOAD	(OP_MODRM | OP_REG | OP_MEM_R)
#define ALU_EB_GB(k)	{ k, GRP_NONE, ALU_RMW | OP_BYTE }
#define ALU_EV_GV(k)	{ k, GRP_NONE, ALU_RMW }
#define ALU_GB_EB(k)	{ k, GRP_NONE, ALU_LOAD | OP_BYTE }
#define ALU_GV_EV(k)	{ k, GRP_NONE, ALU_LOAD }
#define CMP_EB_GB	{ OKVM_INSN_CMP, GRP_NONE, ALU_LOAD | OP_RM_DST | OP_BYTE }
#define CMP_EV_GV	{ OKVM_INSN_CMP, GRP_NONE, ALU_LOAD | OP_RM_DST }

/* The one-byte opcode map (SDM Vol. 2 Table A-2, APM Vol. 3 Table A-1). */
static const struct opdesc one_byte_map[256] = {
	[0x00] = ALU_EB_GB(OKVM_INSN_ADD),
	[0x01] = ALU_EV_GV(OKVM_INSN_ADD),
	[0x02] = ALU_GB_EB(OKVM_INSN_ADD),
	[0x03] = ALU_GV_EV(OKVM_INSN_ADD),
	[0x08] = ALU_EB_GB(OKVM_INSN_OR),
	[0x09] = ALU_EV_GV(OKVM_INSN_OR),
	[0x0a] = ALU_GB_EB(OKVM_INSN_OR),
	[0x0b] = ALU_GV_EV(OKVM_INSN_OR),
	[0x10] = ALU_EB_GB(OKVM_INSN_ADC),
	[0x11] = ALU_EV_GV(OKVM_INSN_ADC),
	[0x12] = ALU_GB_EB(OKVM_INSN_ADC),
	[0x13] = ALU_GV_EV(OKVM_INSN_ADC),
	[0x18] = ALU_EB_GB(OKVM_INSN_SBB),
	[0x19] = ALU_EV_GV(OKVM_INSN_SBB),
	[0x1a] = ALU_GB_EB(OKVM_INSN_SBB),
	[0x1b] = ALU_GV_EV(OKVM_INSN_SBB),
	[0x20] = ALU_EB_GB(OKVM_INSN_AND),
	[0x21] = ALU_EV_GV(OKVM_INSN_AND),
	[0x22] = ALU_GB_EB(OKVM_INSN_AND),
	[0x23] = ALU_GV_EV(OKVM_INSN_AND),
	[0x28] = ALU_EB_GB(OKVM_INSN_SUB),
	[0x29] = ALU_EV_GV(OKVM_INSN_SUB),
	[0x2a] = ALU_GB_EB(OKVM_INSN_SUB),
	[0x2b] = ALU_GV_EV(OKVM_INSN_SUB),
	[0x30] = ALU_EB_GB(OKVM_INSN_XOR),
	[0x31] = ALU_EV_GV(OKVM_INSN_XOR),
	[0x32] = ALU_GB_EB(OKVM_INSN_XOR),
	[0x33] = ALU_GV_EV(OKVM_INSN_XOR),
	[0x38] = CMP_EB_GB,
	[0x39] = CMP_EV_GV,
	[0x3a] = ALU_GB_EB(OKVM_INSN_CMP),
	[0x3b] = ALU_GV_EV(OKVM_INSN_CMP),
	/* MOVSXD Gv, Ed: ARPL outside 64-bit mode; a plain MOV without W. */
	[0x63] = { OKVM_INSN_MOVSX, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_R | OP_SRC32 | OP_REXW },
	[0x6c] = { OKVM_INSN_INS, GRP_NONE,
		   OP_IO | OP_STR_DST | OP_MEM_W | OP_RM_DST | OP_BYTE },
	[0x6d] = { OKVM_INSN_INS, GRP_NONE,
		   OP_IO | OP_STR_DST | OP_MEM_W | OP_RM_DST },
	[0x6e] = { OKVM_INSN_OUTS, GRP_NONE,
		   OP_IO | OP_STR_SRC | OP_MEM_R | OP_BYTE },
	[0x6f] = { OKVM_INSN_OUTS, GRP_NONE, OP_IO | OP_STR_SRC | OP_MEM_R },
	[0x80] = { OKVM_INSN_NONE, GRP1, OP_MODRM | OP_IMM8 | OP_BYTE },
	[0x81] = { OKVM_INSN_NONE, GRP1, OP_MODRM | OP_IMMZ },
	/* 82 is 80 again outside 64-bit mode; unused by compilers. */
	[0x83] = { OKVM_INSN_NONE, GRP1, OP_MODRM | OP_IMM8 },
	[0x84] = { OKVM_INSN_TEST, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_R | OP_RM_DST | OP_BYTE },
	[0x85] = { OKVM_INSN_TEST, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_R | OP_RM_DST },
	[0x86] = { OKVM_INSN_XCHG, GRP_NONE, ALU_RMW | OP_BYTE },
	[0x87] = { OKVM_INSN_XCHG, GRP_NONE, ALU_RMW },
	[0x88] = { OKVM_INSN_MOV, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_W | OP_RM_DST | OP_BYTE },
	[0x89] = { OKVM_INSN_MOV, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_W | OP_RM_DST },
	[0x8a] = { OKVM_INSN_MOV, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_R | OP_BYTE },
	[0x8b] = { OKVM_INSN_MOV, GRP_NONE, OP_MODRM | OP_REG | OP_MEM_R },
	[0xa0] = { OKVM_INSN_MOV, GRP_NONE,
		   OP_MOFFS | OP_ACC | OP_MEM_R | OP_BYTE },
	[0xa1] = { OKVM_INSN_MOV, GRP_NONE, OP_MOFFS | OP_ACC | OP_MEM_R },
	[0xa2] = { OKVM_INSN_MOV, GRP_NONE,
		   OP_MOFFS | OP_ACC | OP_MEM_W | OP_RM_DST | OP_BYTE },
	[0xa3] = { OKVM_INSN_MOV, GRP_NONE,
		   OP_MOFFS | OP_ACC | OP_MEM_W | OP_RM_DST },
	[0xa4] = { OKVM_INSN_MOVS, GRP_NONE, OP_STR_SRC | OP_STR_DST |
		   OP_MEM_R | OP_MEM_W | OP_RM_DST | OP_BYTE },
	[0xa5] = { OKVM_INSN_MOVS, GRP_NONE, OP_STR_SRC | OP_STR_DST |
		   OP_MEM_R | OP_MEM_W | OP_RM_DST },
	[0xaa] = { OKVM_INSN_STOS, GRP_NONE,
		   OP_STR_DST | OP_ACC | OP_MEM_W | OP_RM_DST | OP_BYTE },
	[0xab] = { OKVM_INSN_STOS, GRP_NONE,
		   OP_STR_DST | OP_ACC | OP_MEM_W | OP_RM_DST },
	[0xac] = { OKVM_INSN_LODS, GRP_NONE,
		   OP_STR_SRC | OP_ACC | OP_MEM_R | OP_BYTE },
	[0xad] = { OKVM_INSN_LODS, GRP_NONE, OP_STR_SRC | OP_ACC | OP_MEM_R },
	[0xc6] = { OKVM_INSN_NONE, GRP11,
		   OP_MODRM | OP_MEM_W | OP_RM_DST | OP_IMM8 | OP_BYTE },
	[0xc7] = { OKVM_INSN_NONE, GRP11,
		   OP_MODRM | OP_MEM_W | OP_RM_DST | OP_IMMZ },
	[0xe4] = { OKVM_INSN_IN, GRP_NONE,
		   OP_IO | OP_ACC | OP_PORT_IMM8 | OP_BYTE },
	[0xe5] = { OKVM_INSN_IN, GRP_NONE, OP_IO | OP_ACC | OP_PORT_IMM8 },
	[0xe6] = { OKVM_INSN_OUT, GRP_NONE,
		   OP_IO | OP_ACC | OP_PORT_IMM8 | OP_BYTE },
	[0xe7] = { OKVM_INSN_OUT, GRP_NONE, OP_IO | OP_ACC | OP_PORT_IMM8 },
	[0xec] = { OKVM_INSN_IN, GRP_NONE, OP_IO | OP_ACC | OP_BYTE },
	[0xed] = { OKVM_INSN_IN, GRP_NONE, OP_IO | OP_ACC },
	[0xee] = { OKVM_INSN_OUT, GRP_NONE, OP_IO | OP_ACC | OP_BYTE },
	[0xef] = { OKVM_INSN_OUT, GRP_NONE, OP_IO | OP_ACC },
	[0xf6] = { OKVM_INSN_NONE, GRP3,
		   OP_MODRM | OP_MEM_R | OP_RM_DST | OP_IMM8 | OP_BYTE },
	[0xf7] = { OKVM_INSN_NONE, GRP3,
		   OP_MODRM | OP_MEM_R | OP_RM_DST | OP_IMMZ },
};

/*
 * The SSE moves: ModRM.reg is an XMM register, and the mandatory prefix
 * found in find_sse_move() says the rest.
 */
#define SSE_MOVE	{ OKVM_INSN_MOV_SSE, GRP_NONE, OP_MODRM | OP_REG | OP_SSE }
/*
 * MOV from/to DRn (SDM Vol. 2B MOV-Move to/from Debug Registers): the
 * mod field is ignored, it is always register to register, so there is
 * never an SIB byte or a displacement.
 */
#define MOV_DR		{ OKVM_INSN_MOV_DR, GRP_NONE, OP_MODRM | OP_DR }
/*
 * MOV from/to CRn (SDM Vol. 2B MOV-Move to/from Control Registers): the
 * same form, with ModRM.reg naming the control register.
 */
#define MOV_CR		{ OKVM_INSN_MOV_CR, GRP_NONE, OP_MODRM | OP_DR }

/*
 * The two-byte map, 0f xx (SDM Vol. 2 Table A-3): the SSE moves, MOV
 * CRn and DRn, MOVZX and MOVSX.
 */
static const struct opdesc two_byte_map[256] = {
	[0x10] = SSE_MOVE,
	[0x11] = SSE_MOVE,
	[0x20] = MOV_CR,
	[0x21] = MOV_DR,
	[0x22] = MOV_CR,
	[0x23] = MOV_DR,
	[0x28] = SSE_MOVE,
	[0x29] = SSE_MOVE,
	[0x6e] = SSE_MOVE,
	[0x6f] = SSE_MOVE,
	[0x7e] = SSE_MOVE,
	[0x7f] = SSE_MOVE,
	[0xb6] = { OKVM_INSN_MOVZX, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_R | OP_SRC8 },
	[0xb7] = { OKVM_INSN_MOVZX, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_R | OP_SRC16 },
	[0xbe] = { OKVM_INSN_MOVSX, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_R | OP_SRC8 },
	[0xbf] = { OKVM_INSN_MOVSX, GRP_NONE,
		   OP_MODRM | OP_REG | OP_MEM_R | OP_SRC16 },
	[0xd6] = SSE_MOVE,
};

/*
 * The mandatory prefix of an SSE instruction (SDM Vol. 2 2.1.2, and the
 * rows by prefix of the two-byte opcode map, Table A-3): 66, f3 or f2
 * before the 0f picks one of up to four instructions, and is not an
 * operand-size or repeat prefix there.
 */
enum simd_prefix {
	SIMD_NONE,
	SIMD_66,
	SIMD_F3,
	SIMD_F2,
	SIMD_NR_PREFIXES,
};

/* What an SSE move does, for one opcode and mandatory prefix. */
#define SSE_STORE	BIT(0)	/* XMM to memory; else memory to XMM */
#define SSE_ZERO_UPPER	BIT(1)	/* a load clearing the XMM above it */
#define SSE_ALIGNED16	BIT(2)	/* #GP unless the address is 16-aligned */
#define SSE_REXW8	BIT(3)	/* MOVD (4 bytes), MOVQ (8) with REX.W */

struct sse_move {
	u8 size;	/* bytes moved; 0: no such move */
	u8 flags;	/* SSE_* */
};

struct sse_row {
	u8 opcode;	/* after 0f */
	struct sse_move by_prefix[SIMD_NR_PREFIXES];
};

#define SSE_LD(n)	{ n, 0 }
#define SSE_ST(n)	{ n, SSE_STORE }
#define SSE_LDZ(n)	{ n, SSE_ZERO_UPPER }
#define SSE_LDA		{ 16, SSE_ALIGNED16 }
#define SSE_STA		{ 16, SSE_STORE | SSE_ALIGNED16 }
#define SSE_NONE	{ 0, 0 }

/*
 * The SSE/SSE2 moves with a memory form (SDM Vol. 2B MOVUPS, MOVUPD,
 * MOVSS, MOVSD, MOVAPS, MOVAPD, MOVDQA, MOVDQU, MOVQ, MOVD/MOVQ), in
 * the order none, 66, f3, f2. Without a prefix 6e/6f/7e/7f are the MMX
 * moves; f3 0f d6 and f2 0f d6 (MOVQ2DQ, MOVDQ2Q) have no memory form.
 */
static const struct sse_row sse_moves[] = {
	/* MOVUPS MOVUPD MOVSS MOVSD xmm, m */
	{ 0x10, { SSE_LD(16), SSE_LD(16), SSE_LDZ(4), SSE_LDZ(8) } },
	{ 0x11, { SSE_ST(16), SSE_ST(16), SSE_ST(4), SSE_ST(8) } },
	/* MOVAPS MOVAPD */
	{ 0x28, { SSE_LDA, SSE_LDA, SSE_NONE, SSE_NONE } },
	{ 0x29, { SSE_STA, SSE_STA, SSE_NONE, SSE_NONE } },
	/* 66: MOVD xmm, r/m32 or MOVQ xmm, r/m64 */
	{ 0x6e, { SSE_NONE, { 4, SSE_ZERO_UPPER | SSE_REXW8 },
		  SSE_NONE, SSE_NONE } },
	/* MOVDQA MOVDQU */
	{ 0x6f, { SSE_NONE, SSE_LDA, SSE_LD(16), SSE_NONE } },
	/* 66: MOVD/MOVQ r/m, xmm; f3: MOVQ xmm, m64 */
	{ 0x7e, { SSE_NONE, { 4, SSE_STORE | SSE_REXW8 }, SSE_LDZ(8),
		  SSE_NONE } },
	{ 0x7f, { SSE_NONE, SSE_STA, SSE_ST(16), SSE_NONE } },
	/* 66: MOVQ m64, xmm */
	{ 0xd6, { SSE_NONE, SSE_ST(8), SSE_NONE, SSE_NONE } },
};

/* Group 1 (80/81/83) by ModRM.reg (SDM Vol. 2 Table A-6). */
static const u8 group1_kinds[8] = {
	OKVM_INSN_ADD, OKVM_INSN_OR, OKVM_INSN_ADC, OKVM_INSN_SBB,
	OKVM_INSN_AND, OKVM_INSN_SUB, OKVM_INSN_XOR, OKVM_INSN_CMP,
};

static const char *const kind_names[OKVM_INSN_NR_KINDS] = {
	[OKVM_INSN_NONE] = "none",	[OKVM_INSN_MOV] = "mov",
	[OKVM_INSN_MOVZX] = "movzx",	[OKVM_INSN_MOVSX] = "movsx",
	[OKVM_INSN_ADD] = "add",	[OKVM_INSN_OR] = "or",
	[OKVM_INSN_ADC] = "adc",	[OKVM_INSN_SBB] = "sbb",
	[OKVM_INSN_AND] = "and",	[OKVM_INSN_SUB] = "sub",
	[OKVM_INSN_XOR] = "xor",	[OKVM_INSN_CMP] = "cmp",
	[OKVM_INSN_TEST] = "test",	[OKVM_INSN_XCHG] = "xchg",
	[OKVM_INSN_MOVS] = "movs",	[OKVM_INSN_STOS] = "stos",
	[OKVM_INSN_LODS] = "lods",	[OKVM_INSN_IN] = "in",
	[OKVM_INSN_OUT] = "out",	[OKVM_INSN_INS] = "ins",
	[OKVM_INSN_OUTS] = "outs",	[OKVM_INSN_MOV_SSE] = "mov_sse",
	[OKVM_INSN_MOV_DR] = "mov_dr",
	[OKVM_INSN_MOV_CR] = "mov_cr",
};

const char *okvm_insn_kind_name(enum okvm_insn_kind kind)
{
	if ((unsigned int)kind >= OKVM_INSN_NR_KINDS)
		return "?";
	return kind_names[kind];
}

/* REX is 0100WRXB (SDM Vol. 2 2.2.1.2, Table 2-4). */
#define REX_W(rex)	(((rex) >> 3) & 1)
#define REX_R(rex)	(((rex) >> 2) & 1)
#define REX_X(rex)	(((rex) >> 1) & 1)
#define REX_B(rex)	((rex) & 1)

/* ModRM is mod(7:6) reg(5:3) rm(2:0); SIB is scale(7:6) index(5:3) base(2:0) */
#define MODRM_MOD(b)	((b) >> 6)
#define MODRM_REG(b)	(((b) >> 3) & 7)
#define MODRM_RM(b)	((b) & 7)

/* The bytes being decoded and how far we are. */
struct cursor {
	const u8 *buf;
	unsigned int avail;
	unsigned int pos;
	enum okvm_decode_result err;	/* why the last fetch failed */
};

/*
 * Take the next byte. Reading a 16th byte is the architectural #GP for
 * "instruction too long", whatever the buffer holds; running off the end
 * of a shorter buffer means the caller must fetch more (e.g. from the next
 * page) and try again.
 */
static bool fetch_byte(struct cursor *c, u8 *byte)
{
	if (c->pos >= OKVM_INSN_MAX_LEN) {
		c->err = OKVM_DECODE_TOO_LONG;
		return false;
	}
	if (c->pos >= c->avail) {
		c->err = OKVM_DECODE_NEED_MORE;
		return false;
	}
	*byte = c->buf[c->pos++];
	return true;
}

/* Take an n-byte little-endian value. */
static bool fetch_le(struct cursor *c, unsigned int n, u64 *val)
{
	unsigned int i;
	u8 byte;

	*val = 0;
	for (i = 0; i < n; i++) {
		if (!fetch_byte(c, &byte))
			return false;
		*val |= (u64)byte << (8 * i);
	}
	return true;
}

/* Sign-extend the low n bytes of val to 64 bits. */
static s64 sign_extend(u64 val, unsigned int n)
{
	unsigned int shift = 64 - 8 * n;

	return (s64)(val << shift) >> shift;
}

/*
 * The ModRM memory forms with 16-bit addressing (SDM Vol. 2 Table 2-1):
 * rm picks a base/index pair, mod picks the displacement. mod=00 rm=110 is
 * a bare disp16 instead of [BP]. Forms based on BP use SS by default
 * (SDM Vol. 1 3.7.5, Table 3-5).
 */
static bool decode_modrm16(struct cursor *c, struct okvm_insn *insn)
{
	unsigned int mod = MODRM_MOD(insn->modrm);
	unsigned int rm = MODRM_RM(insn->modrm);
	unsigned int disp_len;
	u64 disp;

	if (mod == 1)
		disp_len = 1;
	else if (mod == 2 || (mod == 0 && rm == 6))
		disp_len = 2;
	else
		disp_len = 0;

	/* [BP+SI], [BP+DI], and [BP] when it is not the bare disp16. */
	if (rm == 2 || rm == 3 || (rm == 6 && mod != 0))
		insn->seg = OKVM_SEG_SS;

	if (!fetch_le(c, disp_len, &disp))
		return false;
	insn->disp = disp_len ? sign_extend(disp, disp_len) : 0;
	return true;
}

/*
 * The ModRM memory forms with 32- and 64-bit addressing (SDM Vol. 2
 * 2.1.5 Tables 2-2 and 2-3, 2.2.1 for REX): rm=100 means an SIB byte
 * follows; mod=00 rm=101 is a bare disp32, which 64-bit mode turns into
 * RIP+disp32 (2.2.1.6); in an SIB, mod=00 base=101 means no base and a
 * disp32. These two special cases look at the encoded bits only: REX.B
 * does not change them (Table 2-5), so [r13] still needs a disp8 of 0.
 */
static bool decode_modrm32(struct cursor *c, struct okvm_insn *insn,
			   enum okvm_cpu_mode mode)
{
	unsigned int mod = MODRM_MOD(insn->modrm);
	unsigned int rm = MODRM_RM(insn->modrm);
	unsigned int disp_len = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	unsigned int base = rm;
	bool has_base = true;
	u64 disp;

	if (rm == 4) {
		insn->has_sib = true;
		if (!fetch_byte(c, &insn->sib))
			return false;
		base = MODRM_RM(insn->sib);
		if (mod == 0 && base == 5) {
			has_base = false;
			disp_len = 4;
		}
	} else if (mod == 0 && rm == 5) {
		has_base = false;
		disp_len = 4;
		insn->rip_relative = mode == OKVM_CPU_MODE_64;
	}

	/* rSP and rBP as base default to SS; r12 and r13 do not. */
	if (has_base && (base == 4 || base == 5) && !REX_B(insn->rex))
		insn->seg = OKVM_SEG_SS;

	if (!fetch_le(c, disp_len, &disp))
		return false;
	insn->disp = disp_len ? sign_extend(disp, disp_len) : 0;
	return true;
}

/*
 * Operand size (SDM Vol. 1 3.6 and Vol. 2 2.2.1.2, APM Vol. 3 1.2.2): the
 * default is 16 bits in a 16-bit code segment and 32 otherwise; 66 flips
 * 16 <-> 32, and in 64-bit mode REX.W selects 64 and wins over 66. Port
 * I/O has no 64-bit form: REX.W is ignored there.
 */
static u8 operand_size(enum okvm_cpu_mode mode, u32 flags, bool opsize_prefix,
		       u8 rex)
{
	if (flags & OP_BYTE)
		return 1;
	/* MOV DRn: 64-bit registers in 64-bit mode, else 32; no prefix */
	if (flags & OP_DR)
		return mode == OKVM_CPU_MODE_64 ? 8 : 4;
	if (mode == OKVM_CPU_MODE_64 && REX_W(rex) && !(flags & OP_IO))
		return 8;
	if (mode == OKVM_CPU_MODE_16)
		return opsize_prefix ? 4 : 2;
	return opsize_prefix ? 2 : 4;
}

/*
 * Address size (SDM Vol. 1 3.6.1, Table 3-4): 16 or 32 by the code
 * segment, 64 in 64-bit mode; 67 selects the other one (32 in 64-bit mode).
 */
static u8 address_size(enum okvm_cpu_mode mode, bool addrsize_prefix)
{
	switch (mode) {
	case OKVM_CPU_MODE_16:
		return addrsize_prefix ? 4 : 2;
	case OKVM_CPU_MODE_32:
		return addrsize_prefix ? 2 : 4;
	default:
		return addrsize_prefix ? 4 : 8;
	}
}

/*
 * Resolve a group opcode by its ModRM.reg extension into a kind and the
 * memory behaviour; false when that extension is not one we decode.
 */
static bool resolve_group(const struct opdesc *desc, u8 modrm, u8 *kind,
			  u32 *flags)
{
	unsigned int ext = MODRM_REG(modrm);

	switch (desc->group) {
	case GRP1:
		*kind = group1_kinds[ext];
		*flags |= OP_MEM_R | OP_RM_DST;
		if (*kind != OKVM_INSN_CMP)
			*flags |= OP_MEM_W | OP_LOCKABLE;
		return true;
	case GRP3:
		/* /1 is an undocumented TEST alias, /2-/7 NOT NEG MUL DIV */
		*kind = OKVM_INSN_TEST;
		return ext == 0;
	case GRP11:
		/* c6 f8 / c7 f8 (reg=7) are XABORT / XBEGIN */
		*kind = OKVM_INSN_MOV;
		return ext == 0;
	default:
		return true;
	}
}

/*
 * The SSE move of 0f @opcode with the prefixes seen, or NULL when there is
 * none. f2/f3 are mandatory prefixes here (of two, the last counts, as
 * for REP); 66 together with one of them is refused, as KVM's emulator
 * does, rather than guessing which one the processor takes.
 */
static const struct sse_move *find_sse_move(u8 opcode, enum okvm_rep rep,
					    bool opsize_prefix)
{
	enum simd_prefix pfx;
	unsigned int i;

	if (rep != OKVM_REP_NONE && opsize_prefix)
		return NULL;
	if (rep == OKVM_REP_REP)
		pfx = SIMD_F3;
	else if (rep == OKVM_REP_REPNE)
		pfx = SIMD_F2;
	else
		pfx = opsize_prefix ? SIMD_66 : SIMD_NONE;

	for (i = 0; i < ARRAY_SIZE(sse_moves); i++) {
		if (sse_moves[i].opcode != opcode)
			continue;
		if (!sse_moves[i].by_prefix[pfx].size)
			return NULL;
		return &sse_moves[i].by_prefix[pfx];
	}
	return NULL;
}

/**
 * okvm_decode_insn() - decode one instruction.
 * @buf:	the instruction bytes, starting at RIP.
 * @avail:	how many bytes of @buf are valid (may exceed 15).
 * @mode:	the code-segment mode (see okvm_cpu_mode()).
 * @insn:	filled in on OKVM_DECODE_OK; partly filled otherwise.
 *
 * Return: OKVM_DECODE_OK, or why not: UNSUPPORTED for an instruction
 * outside the set listed in emulate.h (or an encoding that raises #UD,
 * such as LOCK on a register or on MOV); NEED_MORE when @avail ends inside
 * the instruction; TOO_LONG when it would be over 15 bytes.
 */
enum okvm_decode_result okvm_decode_insn(const u8 *buf, unsigned int avail,
					 enum okvm_cpu_mode mode,
					 struct okvm_insn *insn)
{
	struct cursor c = { .buf = buf, .avail = avail };
	bool opsize_prefix = false, addrsize_prefix = false;
	const struct sse_move *sse = NULL;
	bool seg_prefix = false;
	enum okvm_seg seg = OKVM_SEG_DS;
	const struct opdesc *desc;
	bool mem_form = true;
	u8 byte, kind;
	u32 flags;
	u64 val;

	*insn = (struct okvm_insn){ .seg = OKVM_SEG_DS };

	/*
	 * Legacy prefixes, in any order and number (SDM Vol. 2 2.1.1; with
	 * two from one group the last one counts here, as on hardware), then
	 * in 64-bit mode an optional REX. REX counts only right before the
	 * opcode or 0f: "other placements are ignored" (SDM 2.2.1), so a
	 * legacy prefix after a REX voids it, and of two REX bytes in a row
	 * the last one counts (as on hardware, and in KVM's emulator). The
	 * ignored bytes still count in the length. Outside 64-bit mode 40-4f
	 * are INC/DEC, opcodes we do not decode.
	 */
	for (;;) {
		if (!fetch_byte(&c, &byte))
			return c.err;
		switch (byte) {
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			/* ES CS SS DS are 001ss110, ss the sreg number */
			seg_prefix = true;
			seg = (enum okvm_seg)((byte >> 3) & 3);
			break;
		case 0x64: case 0x65:
			seg_prefix = true;
			seg = byte == 0x64 ? OKVM_SEG_FS : OKVM_SEG_GS;
			break;
		case 0x66:
			opsize_prefix = true;
			break;
		case 0x67:
			addrsize_prefix = true;
			break;
		case 0xf0:
			insn->lock = true;
			break;
		case 0xf2:
			insn->rep = OKVM_REP_REPNE;
			break;
		case 0xf3:
			insn->rep = OKVM_REP_REP;
			break;
		case 0x40 ... 0x4f:
			if (mode != OKVM_CPU_MODE_64)
				goto opcode;
			insn->rex = byte;
			continue;
		default:
			goto opcode;
		}
		insn->rex = 0;
	}

opcode:
	if (byte == 0x0f) {
		insn->opcode_0f = true;
		if (!fetch_byte(&c, &byte))
			return c.err;
		desc = &two_byte_map[byte];
		/*
		 * In the 0f map, 66/f2/f3 can be "mandatory prefixes" that
		 * select another instruction (f3 0f b8 is POPCNT). They are
		 * known for the SSE moves, which then report no REP; else
		 * refuse f2/f3 rather than guess.
		 */
		if (desc->flags & OP_SSE) {
			sse = find_sse_move(byte, insn->rep, opsize_prefix);
			if (!sse)
				return OKVM_DECODE_UNSUPPORTED;
			insn->rep = OKVM_REP_NONE;
		} else if (insn->rep != OKVM_REP_NONE) {
			return OKVM_DECODE_UNSUPPORTED;
		}
	} else {
		desc = &one_byte_map[byte];
	}
	insn->opcode = byte;
	if (desc->kind == OKVM_INSN_NONE && desc->group == GRP_NONE)
		return OKVM_DECODE_UNSUPPORTED;
	kind = desc->kind;
	flags = desc->flags;
	if ((flags & OP_REXW) &&
	    (mode != OKVM_CPU_MODE_64 || !REX_W(insn->rex)))
		return OKVM_DECODE_UNSUPPORTED;

	insn->op_size = operand_size(mode, flags, opsize_prefix, insn->rex);
	insn->addr_size = address_size(mode, addrsize_prefix);
	if (sse) {
		/* 66 is part of the opcode; REX.W only makes MOVD a MOVQ */
		insn->op_size = sse->size;
		if ((sse->flags & SSE_REXW8) && mode == OKVM_CPU_MODE_64 &&
		    REX_W(insn->rex))
			insn->op_size = 8;
		flags |= sse->flags & SSE_STORE ? OP_MEM_W | OP_RM_DST :
						  OP_MEM_R;
		insn->xmm_zero_upper = sse->flags & SSE_ZERO_UPPER;
		insn->aligned16 = sse->flags & SSE_ALIGNED16;
	}

	/* ModRM, with SIB and displacement (SDM Vol. 2 2.1.3-2.1.5). */
	if (flags & OP_MODRM) {
		insn->has_modrm = true;
		if (!fetch_byte(&c, &insn->modrm))
			return c.err;
		if (!resolve_group(desc, insn->modrm, &kind, &flags))
			return OKVM_DECODE_UNSUPPORTED;
		if (MODRM_MOD(insn->modrm) == 3 || (flags & OP_DR)) {
			mem_form = false;	/* a register, not memory */
		} else if (insn->addr_size == 2) {
			if (!decode_modrm16(&c, insn))
				return c.err;
		} else {
			if (!decode_modrm32(&c, insn, mode))
				return c.err;
		}
	}
	/* The SSE register-register moves never touch memory. */
	if (sse && !mem_form)
		return OKVM_DECODE_UNSUPPORTED;
	insn->kind = kind;

	/* moffs: a bare address as wide as the address size (SDM MOV). */
	if (flags & OP_MOFFS) {
		if (!fetch_le(&c, insn->addr_size, &insn->moffs))
			return c.err;
	}

	/* Immediates: imm8, or Iz = 16 bits with 16-bit operands, else 32. */
	if (flags & (OP_IMM8 | OP_IMMZ)) {
		unsigned int n = flags & OP_IMM8 ? 1 :
				 insn->op_size == 2 ? 2 : 4;

		if (!fetch_le(&c, n, &val))
			return c.err;
		insn->has_imm = true;
		insn->imm = sign_extend(val, n);
	}
	if (flags & OP_PORT_IMM8) {
		if (!fetch_le(&c, 1, &val))
			return c.err;
		insn->port_imm = true;
		insn->port = (u16)val;
	}

	/*
	 * LOCK is only valid on a read-modify-write of memory; anywhere else
	 * it raises #UD (SDM Vol. 2 LOCK), so the access never happened.
	 */
	if (insn->lock && (!(flags & OP_LOCKABLE) || !mem_form))
		return OKVM_DECODE_UNSUPPORTED;

	/*
	 * The register operand; AH CH DH BH need a byte op and no REX. For
	 * MOV DRn it is ModRM.rm, and ModRM.reg the debug register.
	 */
	if (flags & OP_DR) {
		insn->has_reg = true;
		insn->reg = MODRM_RM(insn->modrm) | REX_B(insn->rex) << 3;
		insn->dr = MODRM_REG(insn->modrm) | REX_R(insn->rex) << 3;
	} else if (flags & OP_REG) {
		insn->has_reg = true;
		insn->reg = MODRM_REG(insn->modrm) | REX_R(insn->rex) << 3;
		if ((flags & OP_BYTE) && !insn->rex && insn->reg >= 4) {
			insn->reg -= 4;
			insn->reg_high8 = true;
		}
	} else if (flags & OP_ACC) {
		insn->has_reg = true;
		insn->reg = 0;
	}

	/* MOVZX/MOVSX(D): memory is the narrow source. */
	insn->dst_size = insn->op_size;
	if (flags & (OP_SRC8 | OP_SRC16 | OP_SRC32)) {
		insn->op_size = flags & OP_SRC8 ? 1 : flags & OP_SRC16 ? 2 : 4;
		insn->ext = kind == OKVM_INSN_MOVZX ? OKVM_EXT_ZERO :
						      OKVM_EXT_SIGN;
	}

	if (mem_form) {
		if (flags & OP_MEM_R)
			insn->mem |= OKVM_MEM_READ;
		if (flags & OP_MEM_W)
			insn->mem |= OKVM_MEM_WRITE;
		insn->mem_is_dst = flags & OP_RM_DST;
	}

	/*
	 * The segment: DS, or SS for rBP/rSP-based forms (set by the ModRM
	 * decoding above), unless overridden. String instructions (SDM Vol. 1
	 * 7.3.9.1) read seg:rSI with DS overridable, and write ES:rDI, which
	 * no prefix overrides. In 64-bit mode only FS and GS have a base
	 * (SDM Vol. 1 3.7.4.1), but the prefix is reported as written.
	 */
	insn->str_src = flags & OP_STR_SRC;
	insn->str_dst = flags & OP_STR_DST;
	if (!insn->mem) {
		insn->seg = OKVM_SEG_DS;
	} else if (insn->str_dst && !insn->str_src) {
		insn->seg = OKVM_SEG_ES;
	} else if (seg_prefix) {
		insn->seg = seg;
		insn->seg_override = true;
	}

	insn->len = c.pos;
	return OKVM_DECODE_OK;
}

/**
 * okvm_decode_known() - the length of an instruction whose identity the
 * exit already gives (an intercept: CPUID, RDMSR, HLT, ...).
 * @buf:	the instruction bytes, starting at RIP.
 * @avail:	how many bytes of @buf are valid.
 * @mode:	the code-segment mode.
 * @opcode:	the opcode bytes the intercepted instruction has, after any
 *		prefixes (0f a2 for CPUID).
 * @oplen:	how many.
 * @len:	on OKVM_DECODE_OK, the length, prefixes included.
 *
 * An SVM intercept without NRIP save gives no length, and prefixes the CPU
 * ignores still make the instruction longer (66 0f a2 is a 3-byte CPUID),
 * so the bytes at RIP are decoded: legacy prefixes and, in 64-bit mode,
 * REX bytes, then @opcode must follow. Anything else (another vCPU
 * rewrote the code since the exit) is UNSUPPORTED, never a guess.
 */
enum okvm_decode_result okvm_decode_known(const u8 *buf, unsigned int avail,
					  enum okvm_cpu_mode mode,
					  const u8 *opcode, unsigned int oplen,
					  unsigned int *len)
{
	struct cursor c = { .buf = buf, .avail = avail };
	unsigned int i;
	u8 byte;

	for (;;) {
		if (!fetch_byte(&c, &byte))
			return c.err;
		switch (byte) {
		case 0x26: case 0x2e: case 0x36: case 0x3e:
		case 0x64: case 0x65: case 0x66: case 0x67:
		case 0xf0: case 0xf2: case 0xf3:
			continue;
		case 0x40 ... 0x4f:
			if (mode == OKVM_CPU_MODE_64)
				continue;
			break;
		default:
			break;
		}
		break;
	}
	for (i = 0; i < oplen; i++) {
		if (i && !fetch_byte(&c, &byte))
			return c.err;
		if (byte != opcode[i])
			return OKVM_DECODE_UNSUPPORTED;
	}
	*len = c.pos;
	return OKVM_DECODE_OK;
}
