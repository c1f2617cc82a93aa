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

#include "lapic.h"
#include "ops.h"
#include "paging.h"
#include "irq.h"
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

/* General registers as an instruction of @size bytes reads and writes them. */
u64 okvm_read_gpr(struct okvm_vcpu *vcpu, unsigned int reg, unsigned int size)
{
	return okvm_read_reg_sized(vcpu, reg, false, size);
}

void okvm_write_gpr(struct okvm_vcpu *vcpu, unsigned int reg, u64 val,
		    unsigned int size)
{
	okvm_write_reg_sized(vcpu, reg, false, val, size);
}

/*
 * Fetch and decode the instruction at RIP. Returns 0; 1 when the fetch
 * raised a #PF in the guest instead; -EINVAL when it cannot be decoded.
 */
static int okvm_decode_at_rip(struct okvm_vcpu *vcpu, struct okvm_insn *insn,
			      u8 *buf, unsigned int *n)
{
	struct okvm_page_fault pf;
	enum okvm_decode_result res;
	int ret = okvm_fetch_insn(vcpu, buf, &pf);

	*n = 0;
	if (ret < 0) {
		/*
		 * The guest's page tables do not let it fetch its code (not
		 * mapped, NX, SMEP, a supervisor page at CPL 3; they may even
		 * lie outside RAM): the #PF the CPU raises, as KVM's emulator
		 * does. The tables changed after the exit, or the guest jumped
		 * there and this is the fetch that faults (SDM Vol. 3 4.7).
		 */
		okvm_inject_page_fault(vcpu, pf.addr, pf.error_code);
		return 1;
	}
	*n = ret;
	res = okvm_decode_insn(buf, *n, okvm_vcpu_cpu_mode(vcpu), insn);
	if (res == OKVM_DECODE_NEED_MORE && pf.valid) {
		/* The instruction goes on to a page it may not be fetched from. */
		okvm_inject_page_fault(vcpu, pf.addr, pf.error_code);
		return 1;
	}
	if (res != OKVM_DECODE_OK) {
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
	bool in_kernel;
	int ret;

	/*
	 * The I/O intercept comes before OUTS reads memory (APM 15.10.2, SDM
	 * Vol. 3 26.1.1): nothing has checked the source yet. A #PF there
	 * happens before the port sees anything.
	 */
	ret = okvm_read_guest_virt(vcpu, src, vcpu->pio_data, size);
	if (ret > 0)
		return 1;
	if (ret) {
		okvm_vm_warn(vcpu->vm, "vcpu%u: OUTS source %#llx is not guest RAM\n",
			     vcpu->id, src);
		return okvm_emulation_failure(vcpu, NULL, 0);
	}
	/* An ioeventfd or coalesced zone takes the element in the kernel. */
	in_kernel = okvm_eventfd_write(vcpu->vm, true, port, size,
				       vcpu->pio_data);
	if (!in_kernel)
		okvm_pio_exit(vcpu, port, size, false, 1);
	okvm_addr_reg_add(vcpu, OKVM_RSI, insn->addr_size,
			  okvm_string_step(vcpu, size));
	if (insn->rep)
		okvm_addr_reg_add(vcpu, OKVM_RCX, insn->addr_size, -1);
	/* The last element completes the instruction. */
	if (!insn->rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size))
		okvm_skip_insn(vcpu, next_rip - vcpu->rip);
	vcpu->pending_io = OKVM_IO_NONE;
	return in_kernel;
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
	vcpu->pio.dst = okvm_seg_linear(vcpu, OKVM_SEG_ES, rdi);
	vcpu->pio.next_rip = next_rip;
	vcpu->pending_io = OKVM_IO_PIO;
	return 0;
}

/*
 * Devices of the in-kernel irqchip answer their ports without an exit to
 * user space, as in KVM. Returns 0 when one took the access.
 */
static int okvm_kernel_pio(struct okvm_vcpu *vcpu, u16 port, u8 size,
			   bool in, void *data)
{
	if (!vcpu->vm->irqchip_in_kernel)
		return -ENOENT;
	if (okvm_pit_pio(vcpu->vm, port, size, in, data))
		return 0;
	return okvm_pic_pio(vcpu->vm, port, size, in, data);
}

/* The same for MMIO (the IOAPIC's page). */
static int okvm_kernel_mmio(struct okvm_vcpu *vcpu, u64 gpa, unsigned int len,
			    bool write, void *data)
{
	if (!vcpu->vm->irqchip_in_kernel)
		return -ENOENT;
	return okvm_ioapic_mmio(vcpu->vm, gpa, len, write, data);
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
	int ret;

	/* KVM's io_exits: every port I/O exit, answered in the kernel or not. */
	vcpu->stat.io_exits++;
	if (size != 1 && size != 2 && size != 4)
		return okvm_internal_error(vcpu,
					   KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
					   size);
	if (!string) {
		u64 val = vcpu->regs[OKVM_RAX];

		/*
		 * An OUT an ioeventfd or a coalesced zone takes completes
		 * here, without an exit (eventfd.c), and so does any access
		 * to the in-kernel chips' ports.
		 */
		if ((!in && okvm_eventfd_write(vcpu->vm, true, port, size,
					       &vcpu->regs[OKVM_RAX])) ||
		    !okvm_kernel_pio(vcpu, port, size, in, &val)) {
			if (in)
				okvm_write_reg_sized(vcpu, OKVM_RAX, false, val,
						     size);
			okvm_skip_insn(vcpu, next_rip - vcpu->rip);
			return 1;
		}
		if (!in)
			memcpy(vcpu->pio_data, &vcpu->regs[OKVM_RAX], size);
		okvm_pio_exit(vcpu, port, size, in, 1);
		vcpu->pio.string = false;
		/*
		 * KVM_X86_QUIRK_OUT_7E_INC_RIP, on by default in KVM: an OUT
		 * to port 0x7e has already moved RIP on during its exit.
		 */
		if (!in && port == 0x7e) {
			okvm_skip_insn(vcpu, next_rip - vcpu->rip);
			vcpu->pending_io = OKVM_IO_NONE;
			return 0;
		}
		vcpu->pio.rip = vcpu->rip;
		vcpu->pio.next_rip = next_rip;
		vcpu->pending_io = OKVM_IO_PIO;
		return 0;
	}

	/* The segment override and address size are in the encoding. */
	ret = okvm_decode_at_rip(vcpu, &insn, buf, &n);
	if (ret)
		return ret > 0 ? 1 : okvm_emulation_failure(vcpu, buf, n);
	if (insn.rep && !okvm_addr_reg(vcpu, OKVM_RCX, insn.addr_size)) {
		okvm_skip_insn(vcpu, next_rip - vcpu->rip);
		return 1;
	}
	if (in)
		return okvm_emulate_ins(vcpu, port, size, &insn, next_rip);
	return okvm_emulate_outs(vcpu, port, size, &insn, next_rip);
}

static void okvm_mmio_exit(struct okvm_vcpu *vcpu, u64 gpa, unsigned int len,
			   bool write, u64 data)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	vcpu->stat.mmio_exits++;
	run->mmio.phys_addr = gpa;
	run->mmio.len = len;
	run->mmio.is_write = write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (write)
		memcpy(run->mmio.data, &data, len);
}

/*
 * One INS element whose destination is not guest RAM (the I/O intercept
 * comes before the memory access, so nothing checked it yet). As KVM's
 * emulator does, the store becomes an MMIO write, to an in-kernel device
 * or a KVM_EXIT_MMIO; one element per exit (KVM writes a batch as 8-byte
 * pieces). Returns 1 when the kernel took
 * it, 0 with the exit set up, or an emulation failure for an element that
 * straddles a page, which okvm does not split.
 */
static int okvm_ins_mmio(struct okvm_vcpu *vcpu, u64 dst, void *data,
			 unsigned int size)
{
	u32 error_code;
	u64 gpa, val = 0;

	if (offset_in_page(dst) + size > PAGE_SIZE ||
	    okvm_gva_to_gpa(vcpu, dst, OKVM_ACC_WRITE, &gpa, &error_code)) {
		okvm_vm_warn(vcpu->vm, "vcpu%u: INS destination %#llx is not guest RAM\n",
			     vcpu->id, dst);
		return okvm_emulation_failure(vcpu, NULL, 0);
	}
	if (okvm_lapic_mmio(vcpu, gpa, size, true, data) ||
	    okvm_eventfd_write(vcpu->vm, false, gpa, size, data) ||
	    !okvm_kernel_mmio(vcpu, gpa, size, true, data))
		return 1;
	memcpy(&val, data, size);
	okvm_mmio_exit(vcpu, gpa, size, true, val);
	return 0;
}

/*
 * INS completes as KVM 6.1's emulator completes it, which runs the
 * decoded instruction again after the exit with the registers as they are
 * now, since the VMM may have changed rCX or rDI meanwhile: the elements
 * go where rDI pointed when the instruction exited (the destination was
 * decoded then), and their number is what the instruction would fetch
 * now (rCX, the room left in the page of the current rDI, the 1024-byte
 * batch; at least one), by which rDI and rCX then move. Elements past the
 * exit's count are whatever the I/O page holds there, as KVM stores what
 * its read-ahead buffer holds; never more than the batch, so never past
 * the page. A REP INS whose rCX is now 0 ends without a store (KVM 6.1
 * instead reports the same exit again at every KVM_RUN until rCX is not
 * 0). The port was read first, as on the CPU; a #PF on an element ends
 * the instruction there, with rDI and rCX counting the elements stored
 * (the CPU's REP INS is restartable the same way, SDM Vol. 1 7.3.9.2).
 */
static int okvm_complete_ins(struct okvm_vcpu *vcpu)
{
	struct okvm_pio *pio = &vcpu->pio;
	struct okvm_insn *insn = &pio->insn;
	u64 count = 1, rdi, in_page, n, i;
	int ret = 1;

	if (insn->rep) {
		count = okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size);
		if (!count) {
			okvm_skip_insn(vcpu, pio->next_rip - vcpu->rip);
			return 1;
		}
	}
	rdi = okvm_addr_reg(vcpu, OKVM_RDI, insn->addr_size);
	if (vcpu->rflags & X86_EFLAGS_DF)
		in_page = offset_in_page(rdi);
	else
		in_page = PAGE_SIZE - offset_in_page(rdi);
	n = min3(count, in_page, (u64)(OKVM_PIO_BATCH_BYTES / pio->size));
	if (!n)
		n = 1;

	for (i = 0; i < n && ret > 0; i++) {
		void *data = vcpu->pio_data + i * pio->size;
		u64 dst = pio->dst + i * okvm_string_step(vcpu, pio->size);

		ret = okvm_write_guest_virt(vcpu, dst, data, pio->size);
		if (ret > 0)
			return 1;
		if (ret) {
			ret = okvm_ins_mmio(vcpu, dst, data, pio->size);
			if (ret < 0)
				return ret;
		} else {
			ret = 1;
		}
		okvm_addr_reg_add(vcpu, OKVM_RDI, insn->addr_size,
				  okvm_string_step(vcpu, pio->size));
		if (insn->rep)
			okvm_addr_reg_add(vcpu, OKVM_RCX, insn->addr_size, -1);
	}
	/* Elements left: the guest executes INS again and exits again. */
	if (!insn->rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size))
		okvm_skip_insn(vcpu, pio->next_rip - vcpu->rip);
	return ret;
}

/* The next KVM_RUN after a KVM_EXIT_IO: take IN data, move RIP on. */
static int okvm_complete_pio(struct okvm_vcpu *vcpu)
{
	struct okvm_pio *pio = &vcpu->pio;

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
	return okvm_complete_ins(vcpu);
}

/*
 * Which page an access of @len bytes at @linear, made with @access
 * (OKVM_ACC_*), lands on, checked as the CPU would check it (paging.c).
 * Returns 0 when one of its pages is the page of @gpa (*@first_gpa: where
 * byte 0 is), 1 when a page of it faults (the #PF is queued for the
 * guest), -ENOENT when it does not touch that page.
 */
static int okvm_access_hits(struct okvm_vcpu *vcpu, u64 linear,
			    unsigned int len, unsigned int access, u64 gpa,
			    u64 *first_gpa)
{
	bool hit = false;
	u64 page_gpa;
	u32 error_code;

	while (len) {
		unsigned int chunk = min_t(unsigned int, len,
					   PAGE_SIZE - offset_in_page(linear));

		if (okvm_gva_to_gpa(vcpu, linear, access, &page_gpa,
				    &error_code)) {
			okvm_inject_page_fault(vcpu, linear, error_code);
			return 1;
		}
		if (first_gpa) {
			*first_gpa = page_gpa;
			first_gpa = NULL;
		}
		hit |= (page_gpa >> PAGE_SHIFT) == (gpa >> PAGE_SHIFT);
		linear += chunk;
		len -= chunk;
	}
	return hit ? 0 : -ENOENT;
}

/*
 * Retries in a row of the same RIP and GPA before okvm gives up. KVM's
 * retry_instruction() allows one; a guest whose other vCPU keeps rewriting
 * the code can lose the race twice in a row, which is no loop, so okvm
 * allows a few (each costs one exit).
 */
#define OKVM_EMUL_MAX_RETRIES	8

/*
 * The instruction now at RIP does not make the access the exit reported:
 * not to that GPA, or a read where the CPU wrote (or the reverse). Another
 * vCPU rewrote the code or the page tables since the access trapped, or
 * the fault was on the guest's page tables themselves, which are not in
 * RAM. Emulating it would make the VMM see an access the guest never made
 * (a read turned into a write elsewhere), so okvm does not: the guest
 * re-executes the instruction, and the CPU does what the new bytes say.
 * When the same RIP keeps trapping on the same GPA without one emulation
 * succeeding in between, it is an emulation failure, so a guest cannot
 * make okvm loop (KVM guards its retries with last_retry_eip/addr alike).
 */
static int okvm_mmio_mismatch(struct okvm_vcpu *vcpu, u64 gpa, const u8 *buf,
			      unsigned int n)
{
	if (vcpu->emul_retries && vcpu->emul_retry_rip == vcpu->rip &&
	    vcpu->emul_retry_gpa == gpa) {
		if (vcpu->emul_retries >= OKVM_EMUL_MAX_RETRIES) {
			vcpu->emul_retries = 0;
			okvm_vm_warn(vcpu->vm, "vcpu%u: the instruction at rip %#lx does not access the MMIO gpa %#llx\n",
				     vcpu->id, vcpu->rip, gpa);
			return okvm_emulation_failure(vcpu, buf, n);
		}
		vcpu->emul_retries++;
		return 1;
	}
	vcpu->emul_retries = 1;
	vcpu->emul_retry_rip = vcpu->rip;
	vcpu->emul_retry_gpa = gpa;
	return 1;
}

/* okvm_access_hits()' answer as the result of an MMIO exit's emulation. */
static int okvm_mmio_check(struct okvm_vcpu *vcpu, int hits, u64 gpa,
			   const u8 *buf, unsigned int n)
{
	if (hits > 0)
		return 1;
	if (hits < 0)
		return okvm_mmio_mismatch(vcpu, gpa, buf, n);
	vcpu->emul_retries = 0;
	return 0;
}

/*
 * MOVS with one side MMIO: the other side is guest RAM, read or written
 * through the guest's page tables. One element per exit, like KVM. The CPU
 * reads the source first: a write exit means it read the source and
 * trapped on the destination, a read exit that it trapped on the source.
 */
static int okvm_emulate_movs(struct okvm_vcpu *vcpu, u64 gpa, bool write,
			     struct okvm_insn *insn, const u8 *buf,
			     unsigned int n)
{
	unsigned int size = insn->op_size;
	u64 dst = okvm_seg_linear(vcpu, OKVM_SEG_ES,
				  okvm_addr_reg(vcpu, OKVM_RDI, insn->addr_size));
	u64 src = okvm_seg_linear(vcpu, insn->seg,
				  okvm_addr_reg(vcpu, OKVM_RSI, insn->addr_size));
	u64 mmio_gpa, val = 0;
	int ret;

	if (write) {
		ret = okvm_access_hits(vcpu, dst, size, OKVM_ACC_WRITE, gpa,
				       &mmio_gpa);
		ret = okvm_mmio_check(vcpu, ret, gpa, buf, n);
		if (ret)
			return ret;
		ret = okvm_read_guest_virt(vcpu, src, &val, size);
		if (ret > 0)
			return 1;
		if (ret)	/* MMIO to MMIO: not emulated, as in KVM */
			return okvm_emulation_failure(vcpu, buf, n);
		ret = okvm_eventfd_write(vcpu->vm, false, mmio_gpa, size, &val);
		if (!ret)
			okvm_mmio_exit(vcpu, mmio_gpa, size, true, val);
		okvm_addr_reg_add(vcpu, OKVM_RSI, insn->addr_size,
				  okvm_string_step(vcpu, size));
		okvm_addr_reg_add(vcpu, OKVM_RDI, insn->addr_size,
				  okvm_string_step(vcpu, size));
		if (insn->rep)
			okvm_addr_reg_add(vcpu, OKVM_RCX, insn->addr_size, -1);
		if (!insn->rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn->addr_size))
			okvm_skip_insn(vcpu, insn->len);
		vcpu->pending_io = OKVM_IO_NONE;
		return ret;	/* 1: taken in the kernel (eventfd.c) */
	}
	/*
	 * The source is MMIO; the data goes to ES:rDI when it arrives, and
	 * the destination is checked then, as the CPU checks it after the
	 * read.
	 */
	ret = okvm_access_hits(vcpu, src, size, 0, gpa, &mmio_gpa);
	ret = okvm_mmio_check(vcpu, ret, gpa, buf, n);
	if (ret)
		return ret;
	okvm_mmio_exit(vcpu, mmio_gpa, size, false, 0);
	vcpu->mmio_insn = *insn;
	vcpu->pending_io = OKVM_IO_MMIO;
	return 0;
}

static int okvm_mmio_op_start(struct okvm_vcpu *vcpu, struct okvm_insn *insn,
			      u64 gpa, bool write, const u8 *buf,
			      unsigned int n);

/*
 * A guest access to @gpa, which no memslot holds (@write: the CPU's access
 * was a write): decode the instruction and hand the access to user space
 * as KVM_EXIT_MMIO. Every access okvm makes for the instruction is checked
 * against the guest's paging (paging.c), and the instruction must access
 * the page of @gpa the way the exit says (okvm_mmio_mismatch()). Returns 0
 * with an exit set up, or 1 to re-enter the guest (the instruction
 * completed, or a #PF is queued, or it is retried).
 */
int okvm_emulate_mmio(struct okvm_vcpu *vcpu, u64 gpa, bool write)
{
	u8 buf[OKVM_INSN_MAX_LEN];
	struct okvm_insn insn;
	unsigned int n;
	u64 addr, mmio_gpa;
	int ret;
	u64 val;

	ret = okvm_decode_at_rip(vcpu, &insn, buf, &n);
	if (ret)
		return ret > 0 ? 1 : okvm_emulation_failure(vcpu, buf, n);

	switch (insn.kind) {
	case OKVM_INSN_MOV:
	case OKVM_INSN_MOVZX:
	case OKVM_INSN_MOVSX:
	case OKVM_INSN_MOV_SSE:
		return okvm_mmio_op_start(vcpu, &insn, gpa, write, buf, n);
	case OKVM_INSN_STOS:
		addr = okvm_seg_linear(vcpu, OKVM_SEG_ES,
				       okvm_addr_reg(vcpu, OKVM_RDI,
						     insn.addr_size));
		ret = write ? okvm_access_hits(vcpu, addr, insn.op_size,
					       OKVM_ACC_WRITE, gpa, &mmio_gpa) :
			      -ENOENT;
		ret = okvm_mmio_check(vcpu, ret, gpa, buf, n);
		if (ret)
			return ret;
		val = okvm_read_reg_sized(vcpu, OKVM_RAX, false, insn.op_size);
		ret = okvm_eventfd_write(vcpu->vm, false, mmio_gpa,
					 insn.op_size, &val);
		if (!ret)
			okvm_mmio_exit(vcpu, mmio_gpa, insn.op_size, true, val);
		okvm_addr_reg_add(vcpu, OKVM_RDI, insn.addr_size,
				  okvm_string_step(vcpu, insn.op_size));
		if (insn.rep)
			okvm_addr_reg_add(vcpu, OKVM_RCX, insn.addr_size, -1);
		if (!insn.rep || !okvm_addr_reg(vcpu, OKVM_RCX, insn.addr_size))
			okvm_skip_insn(vcpu, insn.len);
		vcpu->pending_io = OKVM_IO_NONE;
		return ret;	/* 1: taken in the kernel (eventfd.c) */
	case OKVM_INSN_LODS:
		addr = okvm_seg_linear(vcpu, insn.seg,
				       okvm_addr_reg(vcpu, OKVM_RSI,
						     insn.addr_size));
		ret = !write ? okvm_access_hits(vcpu, addr, insn.op_size, 0,
						gpa, &mmio_gpa) :
			       -ENOENT;
		ret = okvm_mmio_check(vcpu, ret, gpa, buf, n);
		if (ret)
			return ret;
		okvm_mmio_exit(vcpu, mmio_gpa, insn.op_size, false, 0);
		vcpu->mmio_insn = insn;
		vcpu->pending_io = OKVM_IO_MMIO;
		return 0;
	case OKVM_INSN_MOVS:
		return okvm_emulate_movs(vcpu, gpa, write, &insn, buf, n);
	case OKVM_INSN_IN:
	case OKVM_INSN_OUT:
	case OKVM_INSN_INS:
	case OKVM_INSN_OUTS:
	case OKVM_INSN_MOV_DR:
		/* No memory operand that could have made this exit. */
		return okvm_mmio_mismatch(vcpu, gpa, buf, n);
	default:
		okvm_vm_warn(vcpu->vm, "vcpu%u: %s on MMIO at %#llx is not emulated\n",
			     vcpu->id, okvm_insn_kind_name(insn.kind), gpa);
		return okvm_emulation_failure(vcpu, buf, n);
	}
}

/*
 * The guest-linear address of a ModRM or moffs memory operand (SDM Vol. 2
 * 2.1.5, Tables 2-1 to 2-3; 16-bit forms Table 2-1's upper half).
 */
static u64 okvm_insn_linear(struct okvm_vcpu *vcpu, const struct okvm_insn *insn)
{
	/* 16-bit ModRM: base and index registers by rm. */
	static const s8 base16[8] = { OKVM_RBX, OKVM_RBX, OKVM_RBP, OKVM_RBP,
				      -1, -1, OKVM_RBP, OKVM_RBX };
	static const s8 index16[8] = { OKVM_RSI, OKVM_RDI, OKVM_RSI, OKVM_RDI,
				       OKVM_RSI, OKVM_RDI, -1, -1 };
	u8 mod = insn->modrm >> 6, rm = insn->modrm & 7;
	u64 ea = insn->disp;

	if (!insn->has_modrm) {
		ea = insn->moffs;
	} else if (insn->addr_size == 2) {
		if (!(mod == 0 && rm == 6)) {
			ea += (u16)vcpu->regs[base16[rm] < 0 ? index16[rm] :
					      base16[rm]];
			if (base16[rm] >= 0 && index16[rm] >= 0)
				ea += (u16)vcpu->regs[index16[rm]];
		}
	} else if (insn->rip_relative) {
		ea += vcpu->rip + insn->len;
	} else if (insn->has_sib) {
		u8 scale = insn->sib >> 6;
		u8 index = ((insn->sib >> 3) & 7) | ((insn->rex >> 1) & 1) << 3;
		u8 base = (insn->sib & 7) | (insn->rex & 1) << 3;

		if (index != 4)
			ea += vcpu->regs[index] << scale;
		if (!(mod == 0 && (insn->sib & 7) == 5))
			ea += vcpu->regs[base];
	} else if (!(mod == 0 && rm == 5)) {
		ea += vcpu->regs[rm | (insn->rex & 1) << 3];
	}
	if (insn->addr_size == 2)
		ea = (u16)ea;
	else if (insn->addr_size == 4)
		ea = (u32)ea;
	return okvm_seg_linear(vcpu, insn->seg, ea);
}

/* Finish a MOV-type access whose bytes are all in mmio_op.data. */
static void okvm_mmio_op_finish(struct okvm_vcpu *vcpu)
{
	struct okvm_mmio_op *op = &vcpu->mmio_op;
	struct okvm_insn *insn = &vcpu->mmio_insn;
	u64 val = 0;
	u8 xmm[16];

	if (!op->write && insn->kind == OKVM_INSN_MOV_SSE) {
		/* Loads shorter than 16 bytes either zero the rest or keep it. */
		if (insn->xmm_zero_upper)
			memset(xmm, 0, sizeof(xmm));
		else
			okvm_read_xmm(vcpu, insn->reg, xmm);
		memcpy(xmm, op->data, op->len);
		okvm_write_xmm(vcpu, insn->reg, xmm);
		okvm_skip_insn(vcpu, insn->len);
	} else if (!op->write) {
		memcpy(&val, op->data, min_t(unsigned int, op->len, 8));
		if (insn->kind == OKVM_INSN_MOVSX) {
			if (insn->op_size == 1)
				val = (s64)(s8)val;
			else if (insn->op_size == 2)
				val = (s64)(s16)val;
			else
				val = (s64)(s32)val;
		}
		okvm_write_reg_sized(vcpu, insn->reg, insn->reg_high8, val,
				     insn->dst_size);
		okvm_skip_insn(vcpu, insn->len);
	}
}

/*
 * Move the bytes of the access, piece by piece: at most 8 bytes per exit
 * (the size of kvm_run's mmio.data) and never across a page, since each
 * page may be RAM or MMIO on its own (KVM splits the same way). RAM pieces
 * are copied here. Returns 0 with a KVM_EXIT_MMIO set up, or 1 when the
 * instruction is complete.
 */
static int okvm_mmio_op_step(struct okvm_vcpu *vcpu)
{
	struct okvm_mmio_op *op = &vcpu->mmio_op;
	u64 linear, gpa, val = 0;
	unsigned long hva;
	u32 error_code;

	while (op->done < op->len) {
		linear = op->linear + op->done;
		op->chunk = min3(op->len - op->done, 8,
				 (int)(PAGE_SIZE - offset_in_page(linear)));
		if (okvm_gva_to_gpa(vcpu, linear,
				    op->write ? OKVM_ACC_WRITE : 0, &gpa,
				    &error_code)) {
			/*
			 * okvm_mmio_op_start() checked every page; the guest's
			 * tables changed during an exit. A read has not moved
			 * RIP yet and takes the #PF; a write has completed as
			 * far as the guest is concerned, and cannot.
			 */
			if (op->write)
				return okvm_emulation_failure(vcpu, NULL, 0);
			okvm_inject_page_fault(vcpu, linear, error_code);
			return 1;
		}
		if (okvm_gpa_to_hva_prot(vcpu->vm, okvm_vcpu_as_id(vcpu), gpa,
					 op->write, &hva)) {
			/*
			 * Not RAM (a write to a KVM_MEM_READONLY slot is MMIO,
			 * as in KVM). The xAPIC page (lapic.c), an ioeventfd
			 * or coalesced zone (eventfd.c), or an in-kernel
			 * chip's page: no exit.
			 */
			if (okvm_lapic_mmio(vcpu, gpa, op->chunk, op->write,
					    op->data + op->done) ||
			    (op->write &&
			     okvm_eventfd_write(vcpu->vm, false, gpa, op->chunk,
						op->data + op->done)) ||
			    !okvm_kernel_mmio(vcpu, gpa, op->chunk, op->write,
					      op->data + op->done)) {
				op->done += op->chunk;
				continue;
			}
			if (op->write)
				memcpy(&val, op->data + op->done, op->chunk);
			okvm_mmio_exit(vcpu, gpa, op->chunk, op->write, val);
			vcpu->pending_io = OKVM_IO_MMIO_OP;
			return 0;
		}
		if (op->write ?
		    okvm_vcpu_write_guest(vcpu, gpa, op->data + op->done,
					  op->chunk) :
		    okvm_vcpu_read_guest(vcpu, gpa, op->data + op->done,
					 op->chunk))
			return okvm_emulation_failure(vcpu, NULL, 0);
		op->done += op->chunk;
	}
	okvm_mmio_op_finish(vcpu);
	return 1;
}

/*
 * A MOV, MOVZX, MOVSX or SSE move touching MMIO. A write is complete before its
 * first exit (its data is known; RIP moves on, as in KVM); a read
 * completes when its last piece arrives.
 */
static int okvm_mmio_op_start(struct okvm_vcpu *vcpu, struct okvm_insn *insn,
			      u64 gpa, bool write, const u8 *buf,
			      unsigned int n)
{
	struct okvm_mmio_op *op = &vcpu->mmio_op;
	u8 xmm[16];
	int ret;
	u64 val;

	*op = (struct okvm_mmio_op) {
		.linear = okvm_insn_linear(vcpu, insn),
		.len = insn->op_size,
		.write = insn->mem & OKVM_MEM_WRITE,
	};
	vcpu->mmio_insn = *insn;
	/* MOVAPS & co. fault on a misaligned operand (SDM Vol. 2: #GP(0)). */
	if (insn->kind == OKVM_INSN_MOV_SSE && insn->aligned16 &&
	    (op->linear & 15)) {
		okvm_queue_exception(vcpu, OKVM_GP_VECTOR, true, 0);
		return 1;
	}
	/*
	 * Every page of the operand is checked before any byte moves (and
	 * before a write moves RIP on), and one of them must be the page
	 * that trapped, accessed the way it trapped.
	 */
	ret = op->write == write ?
	      okvm_access_hits(vcpu, op->linear, op->len,
			       op->write ? OKVM_ACC_WRITE : 0, gpa, NULL) :
	      -ENOENT;
	ret = okvm_mmio_check(vcpu, ret, gpa, buf, n);
	if (ret)
		return ret;
	if (op->write && insn->kind == OKVM_INSN_MOV_SSE) {
		okvm_read_xmm(vcpu, insn->reg, xmm);
		memcpy(op->data, xmm, op->len);
		okvm_skip_insn(vcpu, insn->len);
	} else if (op->write) {
		val = insn->has_imm ? (u64)insn->imm :
		      okvm_read_reg_sized(vcpu, insn->reg, insn->reg_high8,
					  insn->op_size);
		memcpy(op->data, &val, op->len);
		okvm_skip_insn(vcpu, insn->len);
	}
	return okvm_mmio_op_step(vcpu);
}

/* The next KVM_RUN after a piece of a MOV-type access. */
static int okvm_complete_mmio_op(struct okvm_vcpu *vcpu)
{
	struct okvm_mmio_op *op = &vcpu->mmio_op;

	if (!op->write)
		memcpy(op->data + op->done, vcpu->run->mmio.data, op->chunk);
	op->done += op->chunk;
	return okvm_mmio_op_step(vcpu);
}

/* The next KVM_RUN after an MMIO read: the data is in run->mmio.data. */
static int okvm_complete_mmio(struct okvm_vcpu *vcpu)
{
	struct okvm_insn *insn = &vcpu->mmio_insn;
	u64 val = 0, dst;
	s64 step;
	int ret;

	memcpy(&val, vcpu->run->mmio.data, insn->op_size);
	switch (insn->kind) {
	case OKVM_INSN_LODS:
		okvm_write_reg_sized(vcpu, OKVM_RAX, false, val, insn->op_size);
		step = okvm_string_step(vcpu, insn->op_size);
		okvm_addr_reg_add(vcpu, OKVM_RSI, insn->addr_size, step);
		break;
	default:	/* MOVS from MMIO to RAM */
		dst = okvm_seg_linear(vcpu, OKVM_SEG_ES,
				      okvm_addr_reg(vcpu, OKVM_RDI,
						    insn->addr_size));
		ret = okvm_write_guest_virt(vcpu, dst, &val, insn->op_size);
		if (ret > 0)	/* a #PF: the element is not done */
			return 1;
		if (ret)
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
	case OKVM_IO_MMIO_OP:
		return okvm_complete_mmio_op(vcpu);
	default:
		return 1;
	}
}
