// SPDX-License-Identifier: GPL-2.0-only
/*
 * io.c - port I/O and MMIO exits to user space, and finishing them.
 *
 * Both follow KVM's ABI (api.rst, KVM_EXIT_IO and KVM_EXIT_MMIO) down to
 * when registers change, which a VMM can observe with KVM_GET_REGS during
 * the exit:
 *   - IN/OUT: RIP still points at the instruction during the exit and
 *     moves on when the next KVM_RUN completes it (RAX gets IN's data then).
 *   - OUTS: each element is one exit; RSI/RCX (and RIP, after the last
 *     element) are updated before the exit.
 *   - INS: up to 1024 bytes of elements per exit (KVM's batch); RDI/RCX/RIP
 *     move when the data arrives.
 *   - MMIO writes complete before the exit; MMIO reads when the data
 *     arrives with the next KVM_RUN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>

#include "ops.h"
#include "x86.h"

/* KVM batches at most this many bytes of INS data per exit. */
#define OKVM_PIO_BATCH_BYTES	1024

/* Write @val to register @reg as an operation of @size bytes would. */
static void okvm_write_reg_sized(struct okvm_vcpu *vcpu, unsigned int reg,
				 bool high8, u64 val, unsigned int size)
{
	unsigned long *r = &vcpu->regs[reg];

	switch (size) {
	case 1:
		if (high8)
			*r = (*r & ~0xff00UL) | (val & 0xff) << 8;
		else
			*r = (*r & ~0xffUL) | (val & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffUL) | (val & 0xffff);
		break;
	case 4:
		/* 32-bit results zero the upper half (SDM Vol. 1 3.4.1.1). */
		*r = (u32)val;
		break;
	default:
		*r = val;
		break;
	}
}

static u64 okvm_read_reg_sized(struct okvm_vcpu *vcpu, unsigned int reg,
			       bool high8, unsigned int size)
{
	u64 v = vcpu->regs[reg];

	if (high8)
		v >>= 8;
	return size == 8 ? v : v & ((1ULL << (size * 8)) - 1);
}

/* rSI/rDI/rCX as wide as the address size (SDM Vol. 1 7.3.9.1). */
static u64 okvm_addr_reg(struct okvm_vcpu *vcpu, unsigned int reg,
			 unsigned int addr_size)
{
	return okvm_read_reg_sized(vcpu, reg, false, addr_size);
}

static void okvm_addr_reg_add(struct okvm_vcpu *vcpu, unsigned int reg,
			      unsigned int addr_size, s64 delta)
{
	okvm_write_reg_sized(vcpu, reg, false,
			     okvm_addr_reg(vcpu, reg, addr_size) + delta,
			     addr_size);
}

/* The element step of a string instruction: RFLAGS.DF picks the way. */
static s64 okvm_string_step(struct okvm_vcpu *vcpu, unsigned int size)
{
	return vcpu->rflags & X86_EFLAGS_DF ? -(s64)size : size;
}

/* Fetch and decode the instruction at RIP; 0, or an exit already set up. */
static int okvm_decode_at_rip(struct okvm_vcpu *vcpu, struct okvm_insn *insn,
			      u8 *buf, unsigned int *n)
{
	*n = okvm_fetch_insn(vcpu, buf);
	if (okvm_decode_insn(buf, *n, okvm_vcpu_cpu_mode(vcpu), insn) !=
	    OKVM_DECODE_OK) {
		okvm_vm_warn(vcpu->vm, "vcpu%u: cannot emulate the instruction at rip %#lx (%*ph)\n",
			     vcpu->id, vcpu->rip, *n, buf);
		return -EINVAL;
	}
	return 0;
}

static void okvm_pio_exit(struct okvm_vcpu *vcpu, u16 port, u8 size, bool in,
			  u32 count)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	vcpu->pio.size = size;
	vcpu->pio.in = in;
	vcpu->pio.count = count;
}

static int okvm_emulate_outs(struct okvm_vcpu *vcpu, u16 port, u8 size,
			     const struct okvm_insn *insn,
			     unsigned long next_rip)
{
	u64 src = okvm_seg_linear(vcpu, insn->seg,
				  okvm_addr_reg(vcpu, OKVM_RSI, insn->addr_size));

	if (okvm_read_guest_virt(vcpu, src, vcpu->pio_data, size)) {
		okvm_vm_warn(vcpu->vm, "vcpu%u: OUTS source %#llx is not guest RAM\n",
			     vcpu->id, src);
		return okvm_emulation_failure(vcpu, NULL, 0);
	}
	okvm_pio_exit(vcpu, port, size, false, 1);
	okvm_addr_reg_add(vcpu, OKVM_RSI, insn->addr_size,
			  okvm_string_step(vcpu, size));
	if (insn->rep)
		okvm_addr_reg_add(vcpu, OKVM_RCX, insn->addr_size, -1);
	/* The last element completes the instruction. */
	if (!insn->rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size))
		okvm_skip_insn(vcpu, next_rip - vcpu->rip);
	vcpu->pending_io = OKVM_IO_NONE;
	return 0;
}

static int okvm_emulate_ins(struct okvm_vcpu *vcpu, u16 port, u8 size,
			    const struct okvm_insn *insn,
			    unsigned long next_rip)
{
	u64 rdi = okvm_addr_reg(vcpu, OKVM_RDI, insn->addr_size);
	u64 count = insn->rep ? okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size) : 1;
	u64 in_page;

	/*
	 * KVM's batch: no more elements than bytes left in the page rDI
	 * points into, than fit in its 1024-byte buffer, or than rCX asks for.
	 */
	if (vcpu->rflags & X86_EFLAGS_DF)
		in_page = offset_in_page(rdi);
	else
		in_page = PAGE_SIZE - offset_in_page(rdi);
	count = min3(count, in_page, (u64)(OKVM_PIO_BATCH_BYTES / size));
	if (!count)
		count = 1;

	okvm_pio_exit(vcpu, port, size, true, count);
	vcpu->pio.string = true;
	vcpu->pio.insn = *insn;
	vcpu->pio.next_rip = next_rip;
	vcpu->pending_io = OKVM_IO_PIO;
	return 0;
}

/*
 * An IN, OUT, INS or OUTS the vendor intercepted. @next_rip is the address
 * after the instruction. Returns 0 with a KVM_EXIT_IO set up.
 */
int okvm_emulate_pio(struct okvm_vcpu *vcpu, u16 port, u8 size, bool in,
		     bool string, unsigned long next_rip)
{
	u8 buf[OKVM_INSN_MAX_LEN];
	struct okvm_insn insn;
	unsigned int n;

	if (size != 1 && size != 2 && size != 4)
		return okvm_internal_error(vcpu,
					   KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
					   size);
	if (!string) {
		if (!in)
			memcpy(vcpu->pio_data, &vcpu->regs[OKVM_RAX], size);
		okvm_pio_exit(vcpu, port, size, in, 1);
		vcpu->pio.string = false;
		vcpu->pio.rip = vcpu->rip;
		vcpu->pio.next_rip = next_rip;
		vcpu->pending_io = OKVM_IO_PIO;
		return 0;
	}

	/* The segment override and address size are in the encoding. */
	if (okvm_decode_at_rip(vcpu, &insn, buf, &n))
		return okvm_emulation_failure(vcpu, buf, n);
	if (insn.rep && !okvm_addr_reg(vcpu, OKVM_RCX, insn.addr_size)) {
		okvm_skip_insn(vcpu, next_rip - vcpu->rip);
		return 1;
	}
	if (in)
		return okvm_emulate_ins(vcpu, port, size, &insn, next_rip);
	return okvm_emulate_outs(vcpu, port, size, &insn, next_rip);
}

/* The next KVM_RUN after a KVM_EXIT_IO: take IN data, move RIP on. */
static int okvm_complete_pio(struct okvm_vcpu *vcpu)
{
	struct okvm_pio *pio = &vcpu->pio;
	struct okvm_insn *insn = &pio->insn;
	unsigned int i;

	if (!pio->string) {
		/*
		 * The VMM moved RIP during the exit (KVM_SET_REGS): the guest
		 * goes on from there, and the IN/OUT is dropped, as in KVM.
		 */
		if (vcpu->rip != pio->rip)
			return 1;
		if (pio->in) {
			u64 val = 0;

			memcpy(&val, vcpu->pio_data, pio->size);
			okvm_write_reg_sized(vcpu, OKVM_RAX, false, val,
					     pio->size);
		}
		okvm_skip_insn(vcpu, pio->next_rip - vcpu->rip);
		return 1;
	}

	/* INS: store each element at ES:rDI, one step at a time. */
	for (i = 0; i < pio->count; i++) {
		u64 dst = okvm_seg_linear(vcpu, OKVM_SEG_ES,
					  okvm_addr_reg(vcpu, OKVM_RDI,
							insn->addr_size));

		if (okvm_write_guest_virt(vcpu, dst,
					  vcpu->pio_data + i * pio->size,
					  pio->size)) {
			okvm_vm_warn(vcpu->vm, "vcpu%u: INS destination %#llx is not guest RAM\n",
				     vcpu->id, dst);
			return okvm_emulation_failure(vcpu, NULL, 0);
		}
		okvm_addr_reg_add(vcpu, OKVM_RDI, insn->addr_size,
				  okvm_string_step(vcpu, pio->size));
		if (insn->rep)
			okvm_addr_reg_add(vcpu, OKVM_RCX, insn->addr_size, -1);
	}
	/* Elements left: the guest executes INS again and exits again. */
	if (!insn->rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size))
		okvm_skip_insn(vcpu, pio->next_rip - vcpu->rip);
	return 1;
}

static void okvm_mmio_exit(struct okvm_vcpu *vcpu, u64 gpa, unsigned int len,
			   bool write, u64 data)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = len;
	run->mmio.is_write = write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (write)
		memcpy(run->mmio.data, &data, len);
}

/*
 * MOVS with one side MMIO: the other side is guest RAM, read or written
 * through the guest's page tables. One element per exit, like KVM.
 */
static int okvm_emulate_movs(struct okvm_vcpu *vcpu, u64 gpa,
			     struct okvm_insn *insn, const u8 *buf,
			     unsigned int n)
{
	unsigned int size = insn->op_size;
	u64 dst = okvm_seg_linear(vcpu, OKVM_SEG_ES,
				  okvm_addr_reg(vcpu, OKVM_RDI, insn->addr_size));
	u64 src = okvm_seg_linear(vcpu, insn->seg,
				  okvm_addr_reg(vcpu, OKVM_RSI, insn->addr_size));
	u64 dst_gpa, val = 0;
	unsigned long hva;

	/* Which side faulted: the destination if it is not RAM. */
	if (!okvm_gva_to_gpa(vcpu, dst, &dst_gpa) &&
	    (dst_gpa >> PAGE_SHIFT) == (gpa >> PAGE_SHIFT) &&
	    okvm_gpa_to_hva(vcpu->vm, dst_gpa, &hva)) {
		if (okvm_read_guest_virt(vcpu, src, &val, size))
			return okvm_emulation_failure(vcpu, buf, n);
		okvm_mmio_exit(vcpu, dst_gpa, size, true, val);
		okvm_addr_reg_add(vcpu, OKVM_RSI, insn->addr_size,
				  okvm_string_step(vcpu, size));
		okvm_addr_reg_add(vcpu, OKVM_RDI, insn->addr_size,
				  okvm_string_step(vcpu, size));
		if (insn->rep)
			okvm_addr_reg_add(vcpu, OKVM_RCX, insn->addr_size, -1);
		if (!insn->rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size))
			okvm_skip_insn(vcpu, insn->len);
		vcpu->pending_io = OKVM_IO_NONE;
		return 0;
	}
	/* The source is MMIO; the data goes to ES:rDI when it arrives. */
	okvm_mmio_exit(vcpu, gpa, size, false, 0);
	vcpu->mmio_insn = *insn;
	vcpu->pending_io = OKVM_IO_MMIO;
	return 0;
}

/*
 * A guest access to @gpa, which no memslot holds: decode the instruction
 * and hand the access to user space as KVM_EXIT_MMIO. Returns 0 with the
 * exit set up (an emulation failure when the instruction is not one this
 * decoder supports).
 */
int okvm_emulate_mmio(struct okvm_vcpu *vcpu, u64 gpa)
{
	u8 buf[OKVM_INSN_MAX_LEN];
	struct okvm_insn insn;
	unsigned int n;
	u64 val;

	if (okvm_decode_at_rip(vcpu, &insn, buf, &n))
		return okvm_emulation_failure(vcpu, buf, n);

	switch (insn.kind) {
	case OKVM_INSN_MOV:
	case OKVM_INSN_MOVZX:
	case OKVM_INSN_MOVSX:
		if (insn.mem & OKVM_MEM_WRITE) {
			val = insn.has_imm ? (u64)insn.imm :
			      okvm_read_reg_sized(vcpu, insn.reg,
						  insn.reg_high8, insn.op_size);
			okvm_mmio_exit(vcpu, gpa, insn.op_size, true, val);
			okvm_skip_insn(vcpu, insn.len);
			vcpu->pending_io = OKVM_IO_NONE;
			return 0;
		}
		okvm_mmio_exit(vcpu, gpa, insn.op_size, false, 0);
		vcpu->mmio_insn = insn;
		vcpu->pending_io = OKVM_IO_MMIO;
		return 0;
	case OKVM_INSN_STOS:
		val = okvm_read_reg_sized(vcpu, OKVM_RAX, false, insn.op_size);
		okvm_mmio_exit(vcpu, gpa, insn.op_size, true, val);
		okvm_addr_reg_add(vcpu, OKVM_RDI, insn.addr_size,
				  okvm_string_step(vcpu, insn.op_size));
		if (insn.rep)
			okvm_addr_reg_add(vcpu, OKVM_RCX, insn.addr_size, -1);
		if (!insn.rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn.addr_size))
			okvm_skip_insn(vcpu, insn.len);
		vcpu->pending_io = OKVM_IO_NONE;
		return 0;
	case OKVM_INSN_LODS:
		okvm_mmio_exit(vcpu, gpa, insn.op_size, false, 0);
		vcpu->mmio_insn = insn;
		vcpu->pending_io = OKVM_IO_MMIO;
		return 0;
	case OKVM_INSN_MOVS:
		return okvm_emulate_movs(vcpu, gpa, &insn, buf, n);
	default:
		okvm_vm_warn(vcpu->vm, "vcpu%u: %s on MMIO at %#llx is not emulated\n",
			     vcpu->id, okvm_insn_kind_name(insn.kind), gpa);
		return okvm_emulation_failure(vcpu, buf, n);
	}
}

/* The next KVM_RUN after an MMIO read: the data is in run->mmio.data. */
static int okvm_complete_mmio(struct okvm_vcpu *vcpu)
{
	struct okvm_insn *insn = &vcpu->mmio_insn;
	u64 val = 0, dst;
	s64 step;

	memcpy(&val, vcpu->run->mmio.data, insn->op_size);
	switch (insn->kind) {
	case OKVM_INSN_MOVSX:
		if (insn->op_size == 1)
			val = (s64)(s8)val;
		else if (insn->op_size == 2)
			val = (s64)(s16)val;
		else
			val = (s64)(s32)val;
		fallthrough;
	case OKVM_INSN_MOV:
	case OKVM_INSN_MOVZX:
		okvm_write_reg_sized(vcpu, insn->reg, insn->reg_high8, val,
				     insn->dst_size);
		okvm_skip_insn(vcpu, insn->len);
		return 1;
	case OKVM_INSN_LODS:
		okvm_write_reg_sized(vcpu, OKVM_RAX, false, val, insn->op_size);
		step = okvm_string_step(vcpu, insn->op_size);
		okvm_addr_reg_add(vcpu, OKVM_RSI, insn->addr_size, step);
		break;
	default:	/* MOVS from MMIO to RAM */
		dst = okvm_seg_linear(vcpu, OKVM_SEG_ES,
				      okvm_addr_reg(vcpu, OKVM_RDI,
						    insn->addr_size));
		if (okvm_write_guest_virt(vcpu, dst, &val, insn->op_size))
			return okvm_emulation_failure(vcpu, NULL, 0);
		step = okvm_string_step(vcpu, insn->op_size);
		okvm_addr_reg_add(vcpu, OKVM_RSI, insn->addr_size, step);
		okvm_addr_reg_add(vcpu, OKVM_RDI, insn->addr_size, step);
		break;
	}
	if (insn->rep)
		okvm_addr_reg_add(vcpu, OKVM_RCX, insn->addr_size, -1);
	if (!insn->rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size))
		okvm_skip_insn(vcpu, insn->len);
	return 1;
}

/*
 * Called first by KVM_RUN: finish what the last exit left to user space.
 * Returns 1 to go on running, or 0 with a new exit set up.
 */
int okvm_complete_io(struct okvm_vcpu *vcpu)
{
	enum okvm_pending_io pending = vcpu->pending_io;

	vcpu->pending_io = OKVM_IO_NONE;
	switch (pending) {
	case OKVM_IO_PIO:
		return okvm_complete_pio(vcpu);
	case OKVM_IO_MMIO:
		return okvm_complete_mmio(vcpu);
	default:
		return 1;
	}
}
