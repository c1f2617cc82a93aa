// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_mem.c - reading and writing guest memory from the vCPU thread:
 * by guest-physical address through the memslots, and by guest-virtual
 * address through the guest's own page tables.
 *
 * Everything here runs in the VMM's process (vCPU ioctls check that), so
 * guest RAM is simply user memory: copy_from_user()/copy_to_user() at the
 * slot's address take care of faults, and a guest page table pointing
 * anywhere at all only yields an error.
 */
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>

#include "ops.h"
#include "x86.h"

/* Copy to or from guest-physical memory, page by page (slots may end). */
static int okvm_copy_guest(struct okvm_vm *vm, u64 gpa, void *buf,
			   unsigned int len, bool write)
{
	while (len) {
		unsigned int chunk = min_t(unsigned int, len,
					   PAGE_SIZE - offset_in_page(gpa));
		unsigned long hva;
		unsigned long left;

		if (okvm_gpa_to_hva(vm, gpa, &hva))
			return -EFAULT;
		if (write)
			left = copy_to_user((void __user *)hva, buf, chunk);
		else
			left = copy_from_user(buf, (void __user *)hva, chunk);
		if (left)
			return -EFAULT;
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int okvm_read_guest(struct okvm_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	return okvm_copy_guest(vm, gpa, buf, len, false);
}

int okvm_write_guest(struct okvm_vm *vm, u64 gpa, const void *buf,
		     unsigned int len)
{
	return okvm_copy_guest(vm, gpa, (void *)buf, len, true);
}

#define PTE_P		BIT_ULL(0)
#define PTE_PS		BIT_ULL(7)
#define PTE_ADDR	GENMASK_ULL(51, 12)

/*
 * Walk the guest's page tables for @gva (SDM Vol. 3 4.3-4.5, APM Vol. 2
 * 5.2-5.3): no paging, 32-bit paging (with 4 MiB pages when CR4.PSE),
 * PAE, and 4- or 5-level paging. Only presence is checked: okvm walks to
 * emulate an access the hardware already made or is making, so rights
 * were checked by the CPU.
 */
int okvm_gva_to_gpa(struct okvm_vcpu *vcpu, u64 gva, u64 *gpa)
{
	unsigned long cr0 = okvm_x86->get_cr(vcpu, 0);
	unsigned long cr3 = okvm_x86->get_cr(vcpu, 3);
	unsigned long cr4 = okvm_x86->get_cr(vcpu, 4);
	u64 efer = okvm_x86->get_efer(vcpu);
	int level, shift;
	u64 table, pte;

	if (!(cr0 & X86_CR0_PG)) {
		*gpa = efer & EFER_LMA ? gva : (u32)gva;
		return 0;
	}

	if (!(cr4 & X86_CR4_PAE)) {
		/* 32-bit paging: 1024 four-byte entries per level. */
		u32 pde, pte32;

		gva = (u32)gva;
		if (okvm_read_guest(vcpu->vm, (cr3 & 0xfffff000) + (gva >> 22) * 4,
				    &pde, 4) || !(pde & PTE_P))
			return -EFAULT;
		if ((pde & PTE_PS) && (cr4 & X86_CR4_PSE)) {
			/* PSE-36: bits 20:13 of the PDE are address bits 39:32. */
			*gpa = (pde & 0xffc00000) | ((u64)(pde >> 13) & 0xff) << 32 |
			       (gva & 0x3fffff);
			return 0;
		}
		if (okvm_read_guest(vcpu->vm, (pde & 0xfffff000) +
				    ((gva >> 12) & 0x3ff) * 4, &pte32, 4) ||
		    !(pte32 & PTE_P))
			return -EFAULT;
		*gpa = (pte32 & 0xfffff000) | (gva & 0xfff);
		return 0;
	}

	if (efer & EFER_LMA) {
		level = cr4 & X86_CR4_LA57 ? 5 : 4;
		table = cr3 & PTE_ADDR;
	} else {
		/* PAE: four PDPTEs at CR3[31:5], indexed by bits 31:30. */
		gva = (u32)gva;
		if (okvm_read_guest(vcpu->vm, (cr3 & 0xffffffe0) + (gva >> 30) * 8,
				    &pte, 8) || !(pte & PTE_P))
			return -EFAULT;
		level = 2;
		table = pte & PTE_ADDR;
	}
	for (; level > 0; level--) {
		shift = 12 + 9 * (level - 1);
		if (okvm_read_guest(vcpu->vm, table + ((gva >> shift) & 511) * 8,
				    &pte, 8) || !(pte & PTE_P))
			return -EFAULT;
		if (level == 1 || (level <= 3 && (pte & PTE_PS))) {
			u64 mask = (1ULL << shift) - 1;

			*gpa = (pte & PTE_ADDR & ~mask) | (gva & mask);
			return 0;
		}
		table = pte & PTE_ADDR;
	}
	return -EFAULT;
}

static int okvm_copy_guest_virt(struct okvm_vcpu *vcpu, u64 gva, void *buf,
				unsigned int len, bool write)
{
	while (len) {
		unsigned int chunk = min_t(unsigned int, len,
					   PAGE_SIZE - offset_in_page(gva));
		u64 gpa;
		int ret;

		ret = okvm_gva_to_gpa(vcpu, gva, &gpa);
		if (!ret)
			ret = okvm_copy_guest(vcpu->vm, gpa, buf, chunk, write);
		if (ret)
			return ret;
		gva += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int okvm_read_guest_virt(struct okvm_vcpu *vcpu, u64 gva, void *buf,
			 unsigned int len)
{
	return okvm_copy_guest_virt(vcpu, gva, buf, len, false);
}

int okvm_write_guest_virt(struct okvm_vcpu *vcpu, u64 gva, const void *buf,
			  unsigned int len)
{
	return okvm_copy_guest_virt(vcpu, gva, (void *)buf, len, true);
}

/*
 * The linear address of @seg:@offset. In 64-bit mode only FS and GS have
 * a base (SDM Vol. 1 3.7.4.1); elsewhere addresses wrap at 4 GiB. Limits
 * are not checked: the CPU did when the access trapped.
 */
u64 okvm_seg_linear(struct okvm_vcpu *vcpu, enum okvm_seg seg, u64 offset)
{
	struct kvm_segment s;

	if (okvm_vcpu_cpu_mode(vcpu) == OKVM_CPU_MODE_64 &&
	    seg != OKVM_SEG_FS && seg != OKVM_SEG_GS)
		return offset;
	okvm_x86->get_segment(vcpu, &s, seg);
	if (okvm_vcpu_cpu_mode(vcpu) == OKVM_CPU_MODE_64)
		return s.base + offset;
	return (u32)(s.base + offset);
}

/*
 * Read up to 15 bytes of the instruction at CS:RIP into @buf. Returns how
 * many could be read: fewer when the instruction's tail is on a page that
 * is not mapped (the decoder then says it needs more), 0 when the code is
 * not in guest RAM, or -EFAULT when the guest's page tables do not map RIP
 * (the CPU would raise #PF; *@fault_addr is the linear address).
 */
int okvm_fetch_insn(struct okvm_vcpu *vcpu, u8 *buf, u64 *fault_addr)
{
	u64 ip = okvm_seg_linear(vcpu, OKVM_SEG_CS, vcpu->rip);
	unsigned int first = min_t(unsigned int, OKVM_INSN_MAX_LEN,
				   PAGE_SIZE - offset_in_page(ip));
	u64 gpa;

	*fault_addr = ip;
	if (okvm_gva_to_gpa(vcpu, ip, &gpa))
		return -EFAULT;
	if (okvm_read_guest_virt(vcpu, ip, buf, first))
		return 0;
	if (first < OKVM_INSN_MAX_LEN &&
	    !okvm_read_guest_virt(vcpu, ip + first, buf + first,
				  OKVM_INSN_MAX_LEN - first))
		return OKVM_INSN_MAX_LEN;
	return first;
}
