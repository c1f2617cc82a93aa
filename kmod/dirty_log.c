// SPDX-License-Identifier: GPL-2.0-only
/*
 * dirty_log.c - which guest pages were written: KVM_MEM_LOG_DIRTY_PAGES,
 * KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG and
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, with KVM's ABI and errnos.
 *
 * A slot that logs has a bitmap, one bit per page. The second-level page
 * tables give its pages the write right only after a write fault, which
 * sets the page's bit and the right together under the MMU lock
 * (okvm_dirty_log_fault()). Collecting the log clears bits and takes the
 * write right of their pages away, again under the MMU lock, and flushes
 * every vCPU's TLB before the bits reach user space; so a write that
 * races with the collection either happened before the collection
 * returned (its page is in this round's bits and user space reads the
 * page afterwards) or faults and sets the bit again for the next round.
 * Writes the kernel makes for the guest (the emulator, kvmclock) set the
 * bit after the copy (okvm_mark_page_dirty()), with the same argument.
 * design.rst, "Dirty logging", says more.
 *
 * Locking: the bitmap pointer of a slot is set when the slot is published
 * and freed after the snapshots holding it are gone (memslot.c). The
 * fault path and okvm_mark_page_dirty() reach it under RCU; the ioctls
 * under slots_lock, which also orders them against slot changes, so a slot
 * deleted by another thread is either still there for the whole ioctl or
 * already gone (ENOENT).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "okvm.h"

/* What KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 reports and accepts (KVM's). */
#define OKVM_DIRTY_LOG_MANUAL_CAPS \
	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)

/*
 * KVM's slot id limit (KVM_USER_MEM_SLOTS): ids below it that okvm cannot
 * have (OKVM_USER_MEM_SLOTS and up) name no slot, hence ENOENT as in KVM.
 */
#define OKVM_KVM_USER_MEM_SLOTS	32764

/* Words of the log handled per MMU lock hold (4096 pages each). */
#define OKVM_DIRTY_LOG_BATCH	64

/* Bytes of one bitmap: whole longs, as KVM copies them to user space. */
static unsigned long okvm_dirty_bitmap_bytes(const struct okvm_memslot *slot)
{
	return ALIGN(slot->npages, BITS_PER_LONG) / 8;
}

/* The second bitmap after the log: the ioctls' buffer. */
static unsigned long *okvm_dirty_buffer(const struct okvm_memslot *slot)
{
	return slot->dirty_bitmap + okvm_dirty_bitmap_bytes(slot) /
				    sizeof(unsigned long);
}

/*
 * A slot update is about to publish @new, the new state of slot @old (NULL
 * when the slot is created): give @new its bitmap. It keeps @old's when
 * both log (a move or another flag change keeps the bits, as in KVM), gets
 * a fresh one when logging starts (all ones with KVM_DIRTY_LOG_INITIALLY_SET)
 * and none without the flag. Returns 0 or -ENOMEM; okvm_dirty_log_free()
 * undoes it if the update fails.
 */
int okvm_dirty_log_prepare(struct okvm_vm *vm, const struct okvm_memslot *old,
			   struct okvm_memslot *new)
{
	unsigned long *bitmap;

	lockdep_assert_held(&vm->slots_lock);
	new->dirty_bitmap = NULL;
	if (!(new->flags & KVM_MEM_LOG_DIRTY_PAGES))
		return 0;
	if (old && old->dirty_bitmap) {
		new->dirty_bitmap = old->dirty_bitmap;
		return 0;
	}
	bitmap = kvzalloc(2 * okvm_dirty_bitmap_bytes(new), GFP_KERNEL_ACCOUNT);
	if (!bitmap)
		return -ENOMEM;
	if (vm->dirty_log_manual & KVM_DIRTY_LOG_INITIALLY_SET)
		bitmap_set(bitmap, 0, new->npages);
	new->dirty_bitmap = bitmap;
	return 0;
}

/*
 * @new is published. When logging has just started on a slot that was
 * there before at the same place, its pages may have writable leaves:
 * take the right away, so that the next write to each faults and logs.
 * With KVM_DIRTY_LOG_INITIALLY_SET every bit is set already and, as in
 * KVM, the first KVM_CLEAR_DIRTY_LOG write-protects instead. A created or
 * moved slot has no leaves at its GFNs.
 */
void okvm_dirty_log_commit(struct okvm_vm *vm, const struct okvm_memslot *old,
			   const struct okvm_memslot *new)
{
	lockdep_assert_held(&vm->slots_lock);
	if (!new->dirty_bitmap || !old || old->dirty_bitmap ||
	    old->base_gfn != new->base_gfn ||
	    (vm->dirty_log_manual & KVM_DIRTY_LOG_INITIALLY_SET))
		return;
	okvm_mmu_wrprot_range(vm, new->as_id, new->base_gfn,
			      new->base_gfn + new->npages);
}

/* Free @slot's bitmap unless @keep (the slot's other state) shares it. */
void okvm_dirty_log_free(const struct okvm_memslot *slot,
			 const struct okvm_memslot *keep)
{
	if (slot->dirty_bitmap &&
	    (!keep || keep->dirty_bitmap != slot->dirty_bitmap))
		kvfree(slot->dirty_bitmap);
}

/*
 * The second-level fault path (mmu.c), under the MMU lock, about to map
 * @gfn: may the leaf be writable? Not in a KVM_MEM_READONLY slot; in a
 * logging slot only for a write, whose bit is set here, before the leaf
 * that lets the write through exists. Atomic, as okvm_mark_page_dirty()
 * sets bits without the MMU lock.
 */
bool okvm_dirty_log_fault(struct okvm_vm *vm, int as_id, u64 gfn, bool write)
{
	const struct okvm_memslot *slot;
	bool writable = false;

	lockdep_assert_held(&vm->mmu.lock);
	rcu_read_lock();
	slot = okvm_memslot_find(rcu_dereference(vm->memslots[as_id]), gfn);
	if (!slot || (slot->flags & (KVM_MEM_READONLY | OKVM_MEMSLOT_INVALID))) {
		/* Read-only, or going away: read-only is always safe. */
	} else if (!slot->dirty_bitmap) {
		writable = true;
	} else if (write) {
		set_bit_le(gfn - slot->base_gfn, slot->dirty_bitmap);
		writable = true;
	}
	rcu_read_unlock();
	return writable;
}

/*
 * The kernel wrote guest page @gpa for the guest (x86/guest_mem.c): log
 * it. Called after the write, so that a collection between the two finds
 * the bit set for the next round rather than reporting the page clean
 * before the data is there.
 */
void okvm_mark_page_dirty(struct okvm_vm *vm, int as_id, u64 gpa)
{
	const struct okvm_memslot *slot;
	u64 gfn = gpa >> PAGE_SHIFT;

	rcu_read_lock();
	slot = okvm_memslot_find(rcu_dereference(vm->memslots[as_id]), gfn);
	if (slot && slot->dirty_bitmap)
		set_bit_le(gfn - slot->base_gfn, slot->dirty_bitmap);
	rcu_read_unlock();
}

/*
 * The logging slot named by a dirty-log ioctl, under slots_lock: -EINVAL
 * for an address space other than 0 or an id KVM never has, -ENOENT for
 * no such slot or one without KVM_MEM_LOG_DIRTY_PAGES (KVM's order).
 */
static const struct okvm_memslot *okvm_dirty_log_slot(struct okvm_vm *vm,
						      u32 slot_id)
{
	const struct okvm_memslots *slots;
	const struct okvm_memslot *slot;

	lockdep_assert_held(&vm->slots_lock);
	if (slot_id >> 16 >= OKVM_ADDRESS_SPACES ||
	    (slot_id & 0xffff) >= OKVM_KVM_USER_MEM_SLOTS)
		return ERR_PTR(-EINVAL);
	slots = rcu_dereference_protected(vm->memslots[slot_id >> 16],
					  lockdep_is_held(&vm->slots_lock));
	slot = okvm_memslot_by_id(slots, slot_id & 0xffff);
	if (!slot || !slot->dirty_bitmap)
		return ERR_PTR(-ENOENT);
	return slot;
}

/*
 * Clear, in the log of @slot, the bits of @mask[0 .. @words) that are set
 * in it, starting at word @first, and write-protect their pages. With
 * @collect, every bit is taken and @mask receives them (KVM_GET_DIRTY_LOG);
 * otherwise @mask says which bits to clear (KVM_CLEAR_DIRTY_LOG). Batches
 * of words under the MMU lock, rescheduling in between: a batch is atomic
 * with respect to the fault path, and across batches nothing is lost,
 * since a page written after its batch either has its bit set again by
 * the fault or was written before the ioctl returns. One TLB flush at the
 * end, before the bits reach user space.
 */
static void okvm_dirty_log_protect(struct okvm_vm *vm,
				   const struct okvm_memslot *slot,
				   unsigned long *mask, unsigned long first,
				   unsigned long words, bool collect)
{
	unsigned long i, done = 0;
	bool flush = false;

	while (done < words) {
		unsigned long end = min(words, done + OKVM_DIRTY_LOG_BATCH);

		okvm_mmu_lock(vm);
		for (i = done; i < end; i++) {
			atomic_long_t *word =
				(atomic_long_t *)&slot->dirty_bitmap[first + i];
			unsigned long bits;

			if (collect) {
				bits = atomic_long_read(word) ?
				       atomic_long_xchg(word, 0) : 0;
				mask[i] = bits;
			} else {
				bits = mask[i] ?
				       mask[i] & atomic_long_fetch_andnot(mask[i],
									  word) :
				       0;
			}
			if (bits)
				flush |= okvm_mmu_wrprot_mask(vm, slot->as_id,
					slot->base_gfn + (first + i) * BITS_PER_LONG,
					bits);
		}
		okvm_mmu_unlock_flush(vm, false);
		done = end;
		cond_resched();
	}
	if (flush) {
		okvm_mmu_lock(vm);
		okvm_mmu_unlock_flush(vm, true);
	}
}

/*
 * KVM_GET_DIRTY_LOG: copy the slot's log to user space. Without manual
 * protection the bits are taken (the log starts over) and their pages
 * write-protected first. If the copy faults (EFAULT, as in KVM) the taken
 * bits go back into the log, where KVM would drop them: the next call
 * still reports those pages.
 */
static int okvm_get_dirty_log(struct okvm_vm *vm, const struct kvm_dirty_log *log)
{
	void __user *to = (void __user *)(unsigned long)log->padding2;
	const struct okvm_memslot *slot;
	unsigned long n, i, *buf;
	int ret = 0;

	mutex_lock(&vm->slots_lock);
	slot = okvm_dirty_log_slot(vm, log->slot);
	if (IS_ERR(slot)) {
		ret = PTR_ERR(slot);
		goto out;
	}
	n = okvm_dirty_bitmap_bytes(slot);
	if (vm->dirty_log_manual & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) {
		/* The bits stay until KVM_CLEAR_DIRTY_LOG; a snapshot of them. */
		buf = okvm_dirty_buffer(slot);
		for (i = 0; i < n / sizeof(long); i++)
			buf[i] = READ_ONCE(slot->dirty_bitmap[i]);
		if (copy_to_user(to, buf, n))
			ret = -EFAULT;
		goto out;
	}
	buf = okvm_dirty_buffer(slot);
	okvm_dirty_log_protect(vm, slot, buf, 0, n / sizeof(long), true);
	if (copy_to_user(to, buf, n)) {
		for (i = 0; i < n / sizeof(long); i++)
			if (buf[i])
				atomic_long_or(buf[i], (atomic_long_t *)
					       &slot->dirty_bitmap[i]);
		ret = -EFAULT;
	}
out:
	mutex_unlock(&vm->slots_lock);
	return ret;
}

/*
 * KVM_CLEAR_DIRTY_LOG: clear the bits user space names, for pages
 * [first_page, first_page + num_pages) of the slot, and write-protect
 * their pages. KVM's checks and errnos, in KVM's order: first_page a
 * multiple of 64, the range inside the slot, num_pages a multiple of 64
 * unless the range ends with the slot.
 */
static int okvm_clear_dirty_log(struct okvm_vm *vm,
				const struct kvm_clear_dirty_log *log)
{
	void __user *from = (void __user *)(unsigned long)log->padding2;
	const struct okvm_memslot *slot;
	unsigned long n, *buf;
	int ret = 0;

	if (log->slot >> 16 >= OKVM_ADDRESS_SPACES ||
	    (log->slot & 0xffff) >= OKVM_KVM_USER_MEM_SLOTS ||
	    log->first_page & 63)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	slot = okvm_dirty_log_slot(vm, log->slot);
	if (IS_ERR(slot)) {
		ret = PTR_ERR(slot);
		goto out;
	}
	if (log->first_page > slot->npages ||
	    log->num_pages > slot->npages - log->first_page ||
	    (log->num_pages < slot->npages - log->first_page &&
	     log->num_pages & 63)) {
		ret = -EINVAL;
		goto out;
	}
	n = ALIGN(log->num_pages, BITS_PER_LONG) / 8;
	buf = okvm_dirty_buffer(slot);
	if (copy_from_user(buf, from, n)) {
		ret = -EFAULT;
		goto out;
	}
	okvm_dirty_log_protect(vm, slot, buf, log->first_page / BITS_PER_LONG,
			       n / sizeof(long), false);
out:
	mutex_unlock(&vm->slots_lock);
	return ret;
}

long okvm_vm_ioctl_dirty_log(struct okvm_vm *vm, unsigned int ioctl,
			     void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_DIRTY_LOG: {
		struct kvm_dirty_log log;

		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return okvm_get_dirty_log(vm, &log);
	}
	case KVM_CLEAR_DIRTY_LOG: {
		struct kvm_clear_dirty_log log;

		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return okvm_clear_dirty_log(vm, &log);
	}
	default:
		return -ENOTTY;
	}
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) on the VM fd: args[0]
 * is 0 (off) or KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, optionally with
 * KVM_DIRTY_LOG_INITIALLY_SET; anything else, or flags, is EINVAL (KVM's
 * rules). It applies to the ioctls from then on and to bitmaps made from
 * then on, as in KVM.
 */
int okvm_vm_enable_cap_dirty_log(struct okvm_vm *vm,
				 const struct kvm_enable_cap *cap)
{
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;

	if (cap->args[0] & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed = OKVM_DIRTY_LOG_MANUAL_CAPS;
	if (cap->flags || (cap->args[0] & ~allowed))
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	vm->dirty_log_manual = cap->args[0];
	mutex_unlock(&vm->slots_lock);
	return 0;
}

/* KVM_CHECK_EXTENSION(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)'s answer. */
long okvm_dirty_log_manual_caps(void)
{
	return OKVM_DIRTY_LOG_MANUAL_CAPS;
}
