// SPDX-License-Identifier: GPL-2.0-only
/*
 * memslot.c - KVM_SET_USER_MEMORY_REGION: which guest-physical ranges are
 * backed by which ranges of the VM process's address space.
 *
 * The slots of a VM form an immutable, sorted snapshot (struct
 * okvm_memslots). A change builds a new snapshot, publishes it with RCU and
 * frees the old one after a grace period, so that readers (the second-level
 * page fault handler, the MMU notifier, the emulator) look slots up without
 * a lock and never see a slot half changed. Deleting or moving a slot
 * publishes an intermediate snapshot first (okvm_set_user_memory_region()).
 * This is KVM's scheme, with one array instead of two trees.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>

#include "okvm.h"
#include "x86/x86.h"

/* The same limit KVM has on the size of one slot. */
#define OKVM_MEMSLOT_MAX_PAGES	((1ull << 31) - 1)

static struct okvm_memslots *okvm_memslots_alloc(unsigned int nr)
{
	struct okvm_memslots *slots;

	return kvzalloc(struct_size(slots, slots, nr), GFP_KERNEL_ACCOUNT);
}

static int okvm_memslot_cmp_gfn(const void *a, const void *b)
{
	const struct okvm_memslot *x = a, *y = b;

	if (x->base_gfn < y->base_gfn)
		return -1;
	return x->base_gfn > y->base_gfn;
}

/* The slot with this id in a snapshot, or NULL. */
const struct okvm_memslot *okvm_memslot_by_id(const struct okvm_memslots *slots,
					      u16 id)
{
	unsigned int i;

	for (i = 0; i < slots->nr; i++)
		if (slots->slots[i].id == id)
			return &slots->slots[i];
	return NULL;
}

/* Does [gfn, gfn + npages) overlap any slot other than @id? */
static bool okvm_memslot_overlaps(const struct okvm_memslots *slots, u16 id,
				  u64 gfn, u64 npages)
{
	const struct okvm_memslot *s;
	unsigned int i;

	for (i = 0; i < slots->nr; i++) {
		s = &slots->slots[i];
		if (s->id != id && gfn < s->base_gfn + s->npages &&
		    s->base_gfn < gfn + npages)
			return true;
	}
	return false;
}

/*
 * The checks KVM makes before it looks at existing slots, with its errnos.
 * Returns 0 or -EINVAL.
 */
static int okvm_memslot_check_region(struct okvm_vm *vm,
				     const struct kvm_userspace_memory_region *mem)
{
	u16 as_id = mem->slot >> 16, id = mem->slot & 0xffff;
	u64 gpa = mem->guest_phys_addr, size = mem->memory_size;

	if (mem->flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))
		return -EINVAL;
	/* Address space 1 is SMRAM's view (KVM_CAP_MULTI_ADDRESS_SPACE). */
	if (as_id >= OKVM_ADDRESS_SPACES || id >= OKVM_USER_MEM_SLOTS)
		return -EINVAL;
	if (!PAGE_ALIGNED(gpa) || !PAGE_ALIGNED(size) ||
	    !PAGE_ALIGNED(mem->userspace_addr))
		return -EINVAL;
	if (gpa + size < gpa || size >> PAGE_SHIFT > OKVM_MEMSLOT_MAX_PAGES)
		return -EINVAL;
	/* The HVA range must be user memory; it need not be mapped yet. */
	if (mem->userspace_addr != untagged_addr(mem->userspace_addr) ||
	    !access_ok((void __user *)(unsigned long)mem->userspace_addr, size))
		return -EINVAL;
	/* Nested paging maps guest-physical addresses below MAXPHYADDR. */
	if (size && gpa + size > okvm_x86_max_gpa())
		return -EINVAL;
	return 0;
}

/*
 * Build the snapshot that results from applying @mem to @old: the slot
 * removed (size 0), added, or moved/kept. Returns it, NULL when nothing
 * changes, or an ERR_PTR with KVM's errno.
 */
static struct okvm_memslots *
okvm_memslots_apply(const struct okvm_memslots *old,
		    const struct kvm_userspace_memory_region *mem)
{
	u16 id = mem->slot & 0xffff;
	u64 gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	u64 npages = mem->memory_size >> PAGE_SHIFT;
	const struct okvm_memslot *cur = okvm_memslot_by_id(old, id);
	struct okvm_memslots *new;
	unsigned int i, n = 0;

	if (!npages) {
		if (!cur)
			return ERR_PTR(-EINVAL);	/* deleting no slot */
	} else if (cur) {
		/*
		 * An existing slot may move or change KVM_MEM_LOG_DIRTY_PAGES;
		 * its size, HVA and KVM_MEM_READONLY are fixed, as in KVM.
		 */
		if (cur->userspace_addr != mem->userspace_addr ||
		    cur->npages != npages ||
		    (cur->flags ^ mem->flags) & KVM_MEM_READONLY)
			return ERR_PTR(-EINVAL);
		if (cur->base_gfn == gfn && cur->flags == mem->flags)
			return NULL;
	}
	if (npages && okvm_memslot_overlaps(old, id, gfn, npages))
		return ERR_PTR(-EEXIST);

	new = okvm_memslots_alloc(old->nr + 1);
	if (!new)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < old->nr; i++)
		if (old->slots[i].id != id)
			new->slots[n++] = old->slots[i];
	if (npages) {
		new->slots[n++] = (struct okvm_memslot) {
			.id = id,
			.as_id = mem->slot >> 16,
			.base_gfn = gfn,
			.npages = npages,
			.userspace_addr = mem->userspace_addr,
			.flags = mem->flags,
		};
	}
	new->nr = n;
	sort(new->slots, n, sizeof(new->slots[0]), okvm_memslot_cmp_gfn, NULL);
	return new;
}

/*
 * The slot holding @gfn, or NULL; it may be marked OKVM_MEMSLOT_INVALID
 * (a slot update is zapping it). Call under rcu_read_lock() (or
 * slots_lock) and use the result only inside it.
 */
const struct okvm_memslot *okvm_memslot_find(const struct okvm_memslots *slots,
					     u64 gfn)
{
	unsigned int lo = 0, hi = slots->nr;

	/* Binary search: the snapshot is sorted by base_gfn, with no overlap. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct okvm_memslot *slot = &slots->slots[mid];

		if (gfn < slot->base_gfn)
			hi = mid;
		else if (gfn >= slot->base_gfn + slot->npages)
			lo = mid + 1;
		else
			return slot;
	}
	return NULL;
}

/*
 * The snapshot a slot update publishes while it zaps: @old with slot @id
 * marked OKVM_MEMSLOT_INVALID. Returns it or NULL (out of memory).
 */
static struct okvm_memslots *
okvm_memslots_invalidate(const struct okvm_memslots *old, u16 id)
{
	struct okvm_memslots *inv = okvm_memslots_alloc(old->nr);
	unsigned int i;

	if (!inv)
		return NULL;
	inv->nr = old->nr;
	for (i = 0; i < old->nr; i++) {
		inv->slots[i] = old->slots[i];
		if (inv->slots[i].id == id)
			inv->slots[i].flags |= OKVM_MEMSLOT_INVALID;
	}
	return inv;
}

/*
 * Translate a guest-physical address of address space @as_id (0, or 1 for
 * a vCPU in SMM: okvm_vcpu_as_id()) to the VMM's virtual address, without
 * sleeping. Returns 0 and sets *@hva and *@flags (the slot's KVM_MEM_*
 * flags); -ENOENT when no slot holds @gpa; or -EAGAIN when the slot
 * holding it is being deleted or moved (marked OKVM_MEMSLOT_INVALID): the
 * GPA is neither RAM nor MMIO until the update is done, so the caller must
 * retry rather than decide.
 */
int __okvm_gpa_to_hva(struct okvm_vm *vm, int as_id, u64 gpa,
		      unsigned long *hva, u32 *flags)
{
	const struct okvm_memslot *slot;
	u64 gfn = gpa >> PAGE_SHIFT;
	int ret = -ENOENT;

	rcu_read_lock();
	slot = okvm_memslot_find(rcu_dereference(vm->memslots[as_id]), gfn);
	if (slot && (slot->flags & OKVM_MEMSLOT_INVALID)) {
		ret = -EAGAIN;
	} else if (slot) {
		*hva = slot->userspace_addr +
		       ((gfn - slot->base_gfn) << PAGE_SHIFT) +
		       offset_in_page(gpa);
		*flags = slot->flags;
		ret = 0;
	}
	rcu_read_unlock();
	return ret;
}

/*
 * The same for the emulator (x86/guest_mem.c: guest page-table walks,
 * instruction fetch, the RAM side of a string or split access; x86/io.c:
 * "is this GPA RAM or MMIO"), which may sleep (it copies from user memory
 * anyway) and has no way to retry halfway through an instruction: a slot
 * being deleted or moved is waited for (the update holds slots_lock from
 * the invalid snapshot to the final one, and never waits for a vCPU), then
 * looked up again. Returns 0 and sets *@hva, -ENOENT when no slot holds
 * @gpa, or when @write and the slot is KVM_MEM_READONLY (for a write the
 * GPA is MMIO, as in KVM), or -EINTR when a fatal signal interrupted the
 * wait (the process is dying: whatever the caller makes of it, nobody
 * sees it).
 */
int okvm_gpa_to_hva_prot(struct okvm_vm *vm, int as_id, u64 gpa, bool write,
			 unsigned long *hva)
{
	u32 flags;
	int ret;

	while ((ret = __okvm_gpa_to_hva(vm, as_id, gpa, hva, &flags)) ==
	       -EAGAIN) {
		if (mutex_lock_killable(&vm->slots_lock))
			return -EINTR;
		mutex_unlock(&vm->slots_lock);
	}
	if (!ret && write && (flags & KVM_MEM_READONLY))
		return -ENOENT;
	return ret;
}

/*
 * Readers hold it from looking a slot's host address up to the end of the
 * copy through it (x86/guest_mem.c); a slot update that deleted or moved
 * a slot waits for them before it returns, so that no copy through the
 * old address is still in flight when the VMM reuses that memory. One for
 * all VMs: the copies are short, and a per-VM one costs an SRCU setup and
 * teardown per VM (tens of milliseconds each on 6.12).
 */
DEFINE_STATIC_SRCU(okvm_hva_srcu);

int okvm_hva_read_lock(void)
{
	return srcu_read_lock(&okvm_hva_srcu);
}

void okvm_hva_read_unlock(int idx)
{
	srcu_read_unlock(&okvm_hva_srcu, idx);
}

/*
 * KVM_SET_USER_MEMORY_REGION. Deleting or moving a slot must be atomic for
 * the MMU notifier: the kernel may unmap, migrate or free a page of the
 * slot's host range at any moment (munmap, MADV_DONTNEED, reclaim, KSM), and
 * the notifier finds the second-level entries to remove through the
 * published slots. If the slot left the published snapshot before its
 * entries were zapped, such an invalidation would find nothing to zap, and
 * the guest would keep a mapping of a page the kernel has freed. So, as KVM
 * does (kvm_invalidate_memslot()), the update goes in three steps:
 *
 * 1. publish an intermediate snapshot in which the slot is still present
 *    but marked OKVM_MEMSLOT_INVALID: the notifier still finds its host
 *    range and zaps it; the fault path treats the slot as "retry" and
 *    installs nothing; the emulator waits for step 3;
 * 2. zap the slot's old GFNs (okvm_mmu_zap_gfn_range() raises the MMU's
 *    invalidate_count and bumps invalidate_seq under the MMU lock, so a
 *    fault that looked the slot up in the old, valid snapshot cannot
 *    install its page afterwards; it flushes and kicks every vCPU before it
 *    returns);
 * 3. publish the final snapshot, without the slot or with it moved.
 *
 * Ordering: a fault reads invalidate_seq, then (smp_rmb()) the snapshot.
 * Here the store of the intermediate snapshot is ordered before step 2's
 * bump of invalidate_seq by the smp_wmb() below. So a fault that saw the
 * bumped sequence sees the invalid slot and retries; a fault that saw the
 * old sequence and the valid slot finds the sequence moved when it takes
 * the MMU lock and installs nothing; and an entry installed before step 2
 * took the lock is zapped by it. After step 3 no entry maps the slot's old
 * GFNs, and none can appear: a new fault there finds no slot (MMIO).
 *
 * A notifier may still read the intermediate (or the old) snapshot after
 * step 3: it then zaps the old GFNs once more, which is harmless, and it
 * cannot miss an entry of the final snapshot, because such an entry was
 * installed under the MMU lock by a fault that had read the final snapshot,
 * and the notifier reads the snapshot after taking that lock.
 *
 * Both replaced snapshots are freed after one grace period following step
 * 3, when no RCU reader can hold either.
 */
int okvm_set_user_memory_region(struct okvm_vm *vm,
				const struct kvm_userspace_memory_region *mem)
{
	struct okvm_memslots *old, *new, *inv = NULL;
	const struct okvm_memslot *cur;
	struct okvm_memslot *slot = NULL;
	u16 id = mem->slot & 0xffff, as_id = mem->slot >> 16;
	unsigned int i;
	int ret;

	ret = okvm_memslot_check_region(vm, mem);
	if (ret)
		return ret;

	mutex_lock(&vm->slots_lock);
	old = rcu_dereference_protected(vm->memslots[as_id],
					lockdep_is_held(&vm->slots_lock));
	new = okvm_memslots_apply(old, mem);
	if (IS_ERR_OR_NULL(new)) {
		mutex_unlock(&vm->slots_lock);
		return PTR_ERR_OR_ZERO(new);
	}
	cur = okvm_memslot_by_id(old, id);
	for (i = 0; i < new->nr; i++)
		if (new->slots[i].id == id)
			slot = &new->slots[i];
	/* The dirty bitmap: kept, made or none (dirty_log.c). */
	if (slot) {
		ret = okvm_dirty_log_prepare(vm, cur, slot);
		if (ret)
			goto fail;
	}
	ret = -ENOMEM;
	/* A deleted or moved slot's old GPAs must leave the page tables. */
	if (cur && (!slot || slot->base_gfn != cur->base_gfn)) {
		inv = okvm_memslots_invalidate(old, cur->id);
		if (!inv)
			goto fail;
	}
	if (mem->memory_size) {
		ret = okvm_mmu_watch_mm(vm);
		/*
		 * Registering the notifier gives up on a pending signal
		 * (mm_take_all_locks()). KVM registers it in KVM_CREATE_VM,
		 * which QEMU retries on EINTR; this ioctl has no EINTR in
		 * KVM's ABI, so it restarts itself once the signal is
		 * handled, whatever the handler's SA_RESTART (nothing has
		 * changed yet).
		 */
		if (ret == -EINTR)
			ret = -ERESTARTNOINTR;
		if (ret)
			goto fail;
	}

	if (inv) {
		rcu_assign_pointer(vm->memslots[as_id], inv);
		/*
		 * Pairs with the smp_rmb() in okvm_mmu_page_fault(): the
		 * invalid slot is visible before the sequence bump below.
		 */
		smp_wmb();
		okvm_mmu_zap_gfn_range(vm, as_id, cur->base_gfn,
				       cur->base_gfn + cur->npages);
	}
	rcu_assign_pointer(vm->memslots[as_id], new);
	if (!cur != !mem->memory_size)	/* created or deleted, not moved */
		okvm_mmu_pages_slots_changed(vm);
	/* Logging turned on for a slot with mappings: write-protect them. */
	if (slot)
		okvm_dirty_log_commit(vm, cur, slot);

	/*
	 * Expedited, as KVM's memslot updates are: VMMs change slots in
	 * bursts (a BIOS shadowing ROMs, a VGA window toggling), and a normal
	 * grace period costs milliseconds each, seconds for a few hundred
	 * slots; the expedited one costs an IPI to each CPU instead. Waiting
	 * here rather than with kvfree_rcu() also bounds the memory a VMM
	 * looping on this ioctl can keep waiting for a grace period.
	 */
	synchronize_rcu_expedited();
	/*
	 * No fault can still mark a bitmap the slot no longer has (the fault
	 * path marks it under RCU, dirty_log.c); GET/CLEAR_DIRTY_LOG hold
	 * slots_lock.
	 */
	if (cur)
		okvm_dirty_log_free(cur, slot);
	mutex_unlock(&vm->slots_lock);
	/*
	 * A vCPU emulating an instruction may have looked the old slot's
	 * host address up and still be copying through it (guest_mem.c):
	 * wait for it before the VMM may unmap and reuse that memory, or
	 * the copy would land in whatever the VMM put there (KVM holds its
	 * SRCU across KVM_RUN for the same reason). After the unlock: such
	 * a copy may be waiting for slots_lock (okvm_gpa_to_hva()).
	 */
	if (inv)
		synchronize_srcu_expedited(&okvm_hva_srcu);
	kvfree(inv);
	kvfree(old);
	return 0;

fail:
	mutex_unlock(&vm->slots_lock);
	if (slot)
		okvm_dirty_log_free(slot, cur);
	kvfree(inv);
	kvfree(new);
	return ret;
}

/* Each address space starts empty; on failure, okvm_memslots_free(). */
int okvm_memslots_init(struct okvm_vm *vm)
{
	int as_id;

	mutex_init(&vm->slots_lock);
	for (as_id = 0; as_id < OKVM_ADDRESS_SPACES; as_id++) {
		struct okvm_memslots *none = okvm_memslots_alloc(0);

		if (!none)
			return -ENOMEM;
		RCU_INIT_POINTER(vm->memslots[as_id], none);
	}
	return 0;
}

/* The VM is unreachable: no reader is left, no grace period is needed. */
void okvm_memslots_free(struct okvm_vm *vm)
{
	unsigned int i;
	int as_id;

	for (as_id = 0; as_id < OKVM_ADDRESS_SPACES; as_id++) {
		struct okvm_memslots *slots =
			rcu_dereference_protected(vm->memslots[as_id], true);

		if (!slots)
			continue;
		for (i = 0; i < slots->nr; i++)
			okvm_dirty_log_free(&slots->slots[i], NULL);
		kvfree(slots);
		RCU_INIT_POINTER(vm->memslots[as_id], NULL);
	}
}
