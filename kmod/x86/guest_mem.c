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
 *
 * Guest-virtual accesses go through the guest's page tables with the
 * checks the CPU makes (paging.c).
 */
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>

#include "ops.h"
#include "paging.h"
#include "x86.h"

/*
 * Copy to or from guest-physical memory of address space @as_id, page by
 * page (slots may end).
 */
static int okvm_copy_guest(struct okvm_vm *vm, int as_id, u64 gpa, void *buf,
			   unsigned int len, bool write)
{
	while (len) {
		unsigned int chunk = min_t(unsigned int, len,
					   PAGE_SIZE - offset_in_page(gpa));
		unsigned long hva;
		unsigned long left;
		int idx;

		/* The slot's address stays the slot's until the copy ends. */
		idx = okvm_hva_read_lock();
		/* A KVM_MEM_READONLY slot is not RAM for a write. */
		if (okvm_gpa_to_hva_prot(vm, as_id, gpa, write, &hva)) {
			okvm_hva_read_unlock(idx);
			return -EFAULT;
		}
		if (write)
			left = copy_to_user((void __user *)hva, buf, chunk);
		else
			left = copy_from_user(buf, (void __user *)hva, chunk);
		/* Logged after the bytes are there (dirty_log.c). */
		if (write && left < chunk)
			okvm_mark_page_dirty(vm, as_id, gpa);
		okvm_hva_read_unlock(idx);
		if (left)
			return -EFAULT;
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * What the VM as a whole reaches (kvmclock pages, the vAPIC page): address
 * space 0, as KVM's kvm_read_guest() and kvm_write_guest() do.
 */
int okvm_read_guest(struct okvm_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	return okvm_copy_guest(vm, 0, gpa, buf, len, false);
}

int okvm_write_guest(struct okvm_vm *vm, u64 gpa, const void *buf,
		     unsigned int len)
{
	return okvm_copy_guest(vm, 0, gpa, (void *)buf, len, true);
}

/*
 * What one vCPU's accesses reach: SMRAM's view while it is in SMM
 * (okvm_vcpu_as_id()), like KVM's kvm_vcpu_read_guest().
 */
int okvm_vcpu_read_guest(struct okvm_vcpu *vcpu, u64 gpa, void *buf,
			 unsigned int len)
{
	return okvm_copy_guest(vcpu->vm, okvm_vcpu_as_id(vcpu), gpa, buf, len,
			       false);
}

int okvm_vcpu_write_guest(struct okvm_vcpu *vcpu, u64 gpa, const void *buf,
			  unsigned int len)
{
	return okvm_copy_guest(vcpu->vm, okvm_vcpu_as_id(vcpu), gpa,
			       (void *)buf, len, true);
}

static int okvm_read_gpa_cb(void *ctx, u64 gpa, void *val, unsigned int len)
{
	return okvm_vcpu_read_guest(ctx, gpa, val, len);
}

/*
 * Translate @gva for an access of kind @access (OKVM_ACC_*, paging.h) at
 * the vCPU's CPL, with every check the CPU makes (paging.c). Returns 0
 * with *@gpa set, or OKVM_WALK_FAULT with the #PF error code in *@error_code.
 *
 * The CPU checked the access that trapped; the others of the same
 * instruction it never made, and the guest's tables may have changed
 * since (another vCPU), so every emulated access is checked here.
 */
int okvm_gva_to_gpa(struct okvm_vcpu *vcpu, u64 gva, unsigned int access,
		    u64 *gpa, u32 *error_code)
{
	struct okvm_paging_state s = {
		.cr0 = okvm_x86->get_cr(vcpu, 0),
		.cr3 = okvm_x86->get_cr(vcpu, 3),
		.cr4 = okvm_x86->get_cr(vcpu, 4),
		.efer = okvm_x86->get_efer(vcpu),
		.rflags = vcpu->rflags,
		.cpl = okvm_vcpu_cpl(vcpu),
		.maxphyaddr = okvm_guest_maxphyaddr(vcpu),
		.gbpages = okvm_guest_has(vcpu, 0x80000001, CPUID_EDX, 26),
	};

	return okvm_paging_walk(&s, gva, access, okvm_read_gpa_cb, vcpu,
				gpa, error_code);
}

/* Raise the #PF a walk found: CR2 is the faulting linear address. */
void okvm_inject_page_fault(struct okvm_vcpu *vcpu, u64 addr, u32 error_code)
{
	okvm_x86->set_cr(vcpu, 2, addr);
	okvm_queue_exception(vcpu, OKVM_PF_VECTOR, true, error_code);
}

/*
 * Translate, with @access, each page of [@gva, @gva + @len) in turn; on
 * the first #PF, queue it and return 1. With @copy, also copy that page's
 * bytes to or from @buf (-EFAULT: not guest RAM).
 */
static int okvm_walk_guest_virt(struct okvm_vcpu *vcpu, u64 gva, void *buf,
				unsigned int len, unsigned int access,
				bool copy)
{
	while (len) {
		unsigned int chunk = min_t(unsigned int, len,
					   PAGE_SIZE - offset_in_page(gva));
		u32 error_code;
		u64 gpa;

		if (okvm_gva_to_gpa(vcpu, gva, access, &gpa, &error_code)) {
			okvm_inject_page_fault(vcpu, gva, error_code);
			return 1;
		}
		if (copy && okvm_copy_guest(vcpu->vm, okvm_vcpu_as_id(vcpu), gpa,
					    buf, chunk, access & OKVM_ACC_WRITE))
			return -EFAULT;
		gva += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * Copy to or from guest-virtual memory as the guest's own access would:
 * every page is checked first, so a #PF on the second page of an
 * unaligned access leaves the first untouched. Returns 0; 1 when a #PF
 * was queued for the guest instead (nothing copied); -EFAULT when a page
 * is not guest RAM.
 */
static int okvm_copy_guest_virt(struct okvm_vcpu *vcpu, u64 gva, void *buf,
				unsigned int len, unsigned int access)
{
	int ret = okvm_walk_guest_virt(vcpu, gva, buf, len, access, false);

	return ret ? ret : okvm_walk_guest_virt(vcpu, gva, buf, len, access,
						true);
}

int okvm_read_guest_virt(struct okvm_vcpu *vcpu, u64 gva, void *buf,
			 unsigned int len)
{
	return okvm_copy_guest_virt(vcpu, gva, buf, len, 0);
}

int okvm_write_guest_virt(struct okvm_vcpu *vcpu, u64 gva, const void *buf,
			  unsigned int len)
{
	return okvm_copy_guest_virt(vcpu, gva, (void *)buf, len,
				    OKVM_ACC_WRITE);
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
 * Read up to 15 bytes of the instruction at CS:RIP into @buf, checking
 * the fetch as the CPU would (NX, SMEP, U/S at CPL 3: paging.c). Returns
 * how many bytes could be read: fewer when the instruction's tail is on a
 * page the fetch may not use (then @tail_fault holds the #PF the CPU
 * would raise if the instruction needs those bytes) or that is not in
 * RAM, 0 when the code is not in guest RAM, or -EFAULT when fetching the
 * first byte faults (@tail_fault holds that #PF).
 */
int okvm_fetch_insn(struct okvm_vcpu *vcpu, u8 *buf,
		    struct okvm_page_fault *tail_fault)
{
	u64 ip = okvm_seg_linear(vcpu, OKVM_SEG_CS, vcpu->rip);
	unsigned int first = min_t(unsigned int, OKVM_INSN_MAX_LEN,
				   PAGE_SIZE - offset_in_page(ip));
	u64 gpa;

	tail_fault->valid = false;
	if (okvm_gva_to_gpa(vcpu, ip, OKVM_ACC_FETCH, &gpa,
			    &tail_fault->error_code)) {
		tail_fault->valid = true;
		tail_fault->addr = ip;
		return -EFAULT;
	}
	if (okvm_vcpu_read_guest(vcpu, gpa, buf, first))
		return 0;
	if (first == OKVM_INSN_MAX_LEN)
		return first;
	ip += first;
	if (okvm_vcpu_cpu_mode(vcpu) != OKVM_CPU_MODE_64)
		ip = (u32)ip;
	if (okvm_gva_to_gpa(vcpu, ip, OKVM_ACC_FETCH, &gpa,
			    &tail_fault->error_code)) {
		tail_fault->valid = true;
		tail_fault->addr = ip;
		return first;
	}
	if (okvm_vcpu_read_guest(vcpu, gpa, buf + first,
				 OKVM_INSN_MAX_LEN - first))
		return first;
	return OKVM_INSN_MAX_LEN;
}
