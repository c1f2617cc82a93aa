// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmu.c - second-level page tables, built on demand and kept in step with
 * the VMM's address space.
 *
 * A guest-physical page is mapped the first time the guest touches it: the
 * access faults (AMD #NPF, Intel EPT violation), the vendor's exit handler
 * calls okvm_mmu_page_fault(), which finds the memslot, asks the kernel for
 * the page behind the slot's host virtual address (get_user_pages_fast(),
 * the same path a user-space access takes, so it allocates, swaps in and
 * breaks copy-on-write as needed) and writes a leaf entry.
 *
 * okvm keeps no reference on the pages it maps. Instead it registers an MMU
 * notifier on the VMM's mm: before the kernel unmaps, migrates, swaps out,
 * merges (KSM) or collapses (THP) any page of the process, the notifier
 * removes the matching entries and makes sure no vCPU can still use them.
 * The race between a fault that looked a page up and an invalidation that
 * removes it is settled with a sequence count checked under the MMU lock,
 * as in KVM (design.rst, "Guest memory").
 *
 * Only 4 KiB leaves are built, so tables are never freed before the VM is.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "okvm.h"
#include "mmu.h"
#include "x86/ops.h"

#define OKVM_SPTE_PER_TABLE	512
#define OKVM_SPTE_INDEX_BITS	9

static const struct okvm_spte_format *okvm_spte(void)
{
	return okvm_x86->spte;
}

/* Guest frames one entry at @level covers (level 1 is the leaf). */
static u64 okvm_spte_span(int level)
{
	return 1ULL << (OKVM_SPTE_INDEX_BITS * (level - 1));
}

static unsigned int okvm_spte_index(u64 gfn, int level)
{
	return (gfn >> (OKVM_SPTE_INDEX_BITS * (level - 1))) &
	       (OKVM_SPTE_PER_TABLE - 1);
}

static u64 *okvm_spte_table(u64 spte)
{
	return __va(spte & OKVM_SPTE_ADDR_MASK);
}

u64 okvm_mmu_root_pa(struct okvm_vm *vm)
{
	return __pa(vm->mmu.root);
}

/*
 * Remove the leaves for guest frames [start, end) below @table, which maps
 * the frames from @table_gfn on at @level. Returns whether any was present.
 */
static bool okvm_mmu_zap_table(u64 *table, int level, u64 table_gfn,
			       u64 start, u64 end)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	u64 span = okvm_spte_span(level);
	bool zapped = false;
	unsigned int i;

	for (i = 0; i < OKVM_SPTE_PER_TABLE; i++) {
		u64 gfn = table_gfn + i * span;
		u64 spte = table[i];

		if (gfn >= end)
			break;
		if (gfn + span <= start || !(spte & fmt->present))
			continue;
		if (level == 1) {
			WRITE_ONCE(table[i], 0);
			zapped = true;
		} else {
			zapped |= okvm_mmu_zap_table(okvm_spte_table(spte),
						     level - 1, gfn, start, end);
		}
	}
	return zapped;
}

static void okvm_mmu_kick_ipi(void *unused)
{
}

/*
 * Make every vCPU of @vm that may be in guest mode leave it. The caller
 * bumped tlb_gen first; a vCPU entering after that flushes its TLB
 * (okvm_mmu_need_tlb_flush()), and one already inside takes this IPI as an
 * external-interrupt exit. The IPI waits until the interrupt is handled,
 * which the vCPU's CPU does only after the exit, so on return no vCPU
 * can still reach a removed translation.
 */
static void okvm_mmu_kick_vcpus(struct okvm_vm *vm)
{
	unsigned int i, n;

	/* vCPUs are published after their slot (vcpu.c): acquire the count. */
	n = smp_load_acquire(&vm->nr_vcpus);
	/* Orders the tlb_gen bump before reading modes; pairs with run.c. */
	smp_mb();
	for (i = 0; i < n; i++) {
		struct okvm_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);

		if (vcpu && READ_ONCE(vcpu->mode) == OKVM_IN_GUEST)
			smp_call_function_single(READ_ONCE(vcpu->cpu),
						 okvm_mmu_kick_ipi, NULL, 1);
	}
}

/*
 * Called by a vCPU about to enter, with interrupts off and its mode set to
 * OKVM_IN_GUEST: true if entries were removed since it last flushed.
 */
bool okvm_mmu_need_tlb_flush(struct okvm_vcpu *vcpu)
{
	s64 gen = atomic64_read(&vcpu->vm->mmu.tlb_gen);

	if (gen == vcpu->tlb_gen)
		return false;
	vcpu->tlb_gen = gen;
	return true;
}

/* Remove guest frames [start, end) and wait until no vCPU can use them. */
void okvm_mmu_zap_gfn_range(struct okvm_vm *vm, u64 start, u64 end)
{
	struct okvm_mmu *mmu = &vm->mmu;
	bool zapped;

	spin_lock(&mmu->lock);
	/* A fault that looked a page up before this must not map it. */
	mmu->invalidate_seq++;
	zapped = okvm_mmu_zap_table(mmu->root, OKVM_SPTE_LEVELS, 0, start, end);
	if (zapped)
		atomic64_inc(&mmu->tlb_gen);
	spin_unlock(&mmu->lock);
	if (zapped)
		okvm_mmu_kick_vcpus(vm);
}

static struct okvm_vm *okvm_mmu_notifier_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct okvm_vm, mmu.notifier);
}

/*
 * The kernel is about to change the VMM's page tables for [start, end):
 * remove every entry whose slot maps part of it. Faults that race with the
 * change see invalidate_count raised, or invalidate_seq moved, and retry.
 */
static int okvm_mmu_invalidate_range_start(struct mmu_notifier *mn,
					   const struct mmu_notifier_range *range)
{
	struct okvm_vm *vm = okvm_mmu_notifier_vm(mn);
	struct okvm_mmu *mmu = &vm->mmu;
	const struct okvm_memslots *slots;
	bool zapped = false;
	unsigned int i;

	spin_lock(&mmu->lock);
	mmu->invalidate_count++;
	mmu->invalidate_seq++;
	rcu_read_lock();
	slots = rcu_dereference(vm->memslots);
	for (i = 0; i < slots->nr; i++) {
		const struct okvm_memslot *slot = &slots->slots[i];
		unsigned long first = slot->userspace_addr;
		unsigned long last = first + (slot->npages << PAGE_SHIFT);
		unsigned long from = max(first, range->start);
		unsigned long to = min(last, range->end);

		if (from >= to)
			continue;
		zapped |= okvm_mmu_zap_table(mmu->root, OKVM_SPTE_LEVELS, 0,
					     slot->base_gfn +
					     ((from - first) >> PAGE_SHIFT),
					     slot->base_gfn +
					     DIV_ROUND_UP(to - first, PAGE_SIZE));
	}
	rcu_read_unlock();
	if (zapped)
		atomic64_inc(&mmu->tlb_gen);
	spin_unlock(&mmu->lock);
	if (zapped)
		okvm_mmu_kick_vcpus(vm);
	return 0;
}

static void okvm_mmu_invalidate_range_end(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *range)
{
	struct okvm_mmu *mmu = &okvm_mmu_notifier_vm(mn)->mmu;

	spin_lock(&mmu->lock);
	mmu->invalidate_seq++;
	mmu->invalidate_count--;
	spin_unlock(&mmu->lock);
}

/* The VMM's mm is going away (exit or exec): nothing may stay mapped. */
static void okvm_mmu_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	okvm_mmu_zap_gfn_range(okvm_mmu_notifier_vm(mn), 0, U64_MAX);
}

static const struct mmu_notifier_ops okvm_mmu_notifier_ops = {
	.invalidate_range_start = okvm_mmu_invalidate_range_start,
	.invalidate_range_end = okvm_mmu_invalidate_range_end,
	.release = okvm_mmu_release,
};

/*
 * Make sure @vcpu holds a spare table for each level a fault may need, so
 * that the fault can build the path under the MMU spinlock without
 * allocating there.
 */
static int okvm_mmu_topup(struct okvm_vcpu *vcpu)
{
	while (vcpu->nr_spare_tables < ARRAY_SIZE(vcpu->spare_tables)) {
		void *page = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!page)
			return -ENOMEM;
		vcpu->spare_tables[vcpu->nr_spare_tables++] = page;
	}
	return 0;
}

void okvm_mmu_vcpu_free(struct okvm_vcpu *vcpu)
{
	while (vcpu->nr_spare_tables)
		free_page((unsigned long)vcpu->spare_tables[--vcpu->nr_spare_tables]);
}

/* The leaf entry for @gfn, building missing tables from the spares. */
static u64 *okvm_mmu_leaf(struct okvm_vcpu *vcpu, u64 gfn)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	struct okvm_mmu *mmu = &vcpu->vm->mmu;
	u64 *table = mmu->root;
	int level;

	lockdep_assert_held(&mmu->lock);
	for (level = OKVM_SPTE_LEVELS; level > 1; level--) {
		u64 *spte = &table[okvm_spte_index(gfn, level)];

		if (!(*spte & fmt->present)) {
			void *next = vcpu->spare_tables[--vcpu->nr_spare_tables];

			WRITE_ONCE(*spte, __pa(next) | fmt->table);
			mmu->nr_tables++;
		}
		table = okvm_spte_table(*spte);
	}
	return &table[okvm_spte_index(gfn, 1)];
}

/*
 * Map the guest page at @gpa after a second-level fault. Returns 1 when the
 * guest should simply run again (mapped, or a race to retry), 0 when no
 * memslot holds @gpa (the access is MMIO), -EFAULT when the VMM's memory
 * behind the slot cannot be had (unmapped, or written while read-only:
 * KVM answers these with -EFAULT from KVM_RUN too), or -ENOMEM.
 */
int okvm_mmu_page_fault(struct okvm_vcpu *vcpu, u64 gpa, bool write)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	struct okvm_mmu *mmu = &vcpu->vm->mmu;
	unsigned long hva, seq;
	bool writable = true;
	struct page *page;
	u64 *spte, new;
	int ret;

	ret = okvm_mmu_topup(vcpu);
	if (ret)
		return ret;

	seq = READ_ONCE(mmu->invalidate_seq);
	/*
	 * The sequence is read before the slot and the page are looked up;
	 * pairs with the lock in okvm_mmu_invalidate_range_start().
	 */
	smp_rmb();

	if (okvm_gpa_to_hva(vcpu->vm, gpa & PAGE_MASK, &hva))
		return 0;

	/*
	 * Ask for a writable page whatever the access, as a write fault would
	 * otherwise follow at once; a mapping the VMM made read-only is mapped
	 * read-only for reads.
	 */
	ret = get_user_pages_fast(hva, 1, FOLL_WRITE, &page);
	if (ret != 1 && !write) {
		writable = false;
		ret = get_user_pages_fast(hva, 1, 0, &page);
	}
	if (ret != 1)
		return -EFAULT;

	spin_lock(&mmu->lock);
	if (!mmu->invalidate_count && mmu->invalidate_seq == seq) {
		spte = okvm_mmu_leaf(vcpu, gpa >> PAGE_SHIFT);
		new = page_to_phys(page) | fmt->leaf | fmt->leaf_exec |
		      (writable ? fmt->leaf_write : 0);
		/*
		 * Another vCPU may have mapped the page already. Entries change
		 * pages only after a zap, so at most the rights grow here, and
		 * wider rights need no TLB flush (APM 15.25.10).
		 */
		WRITE_ONCE(*spte, new);
	}
	spin_unlock(&mmu->lock);
	put_page(page);
	return 1;
}

/*
 * Start watching the VMM's address space. Done when the first memslot is
 * created rather than with the VM, because unregistering a notifier waits
 * for an SRCU grace period: VMs that never get memory stay cheap to close.
 */
int okvm_mmu_watch_mm(struct okvm_vm *vm)
{
	int ret;

	if (vm->mmu.notifier.ops)
		return 0;
	vm->mmu.notifier.ops = &okvm_mmu_notifier_ops;
	ret = mmu_notifier_register(&vm->mmu.notifier, vm->mm);
	if (ret)
		vm->mmu.notifier.ops = NULL;
	return ret;
}

int okvm_mmu_init(struct okvm_vm *vm)
{
	struct okvm_mmu *mmu = &vm->mmu;

	spin_lock_init(&mmu->lock);
	atomic64_set(&mmu->tlb_gen, 0);
	mmu->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return mmu->root ? 0 : -ENOMEM;
}

static void okvm_mmu_free_table(u64 *table, int level)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	unsigned int i;

	if (level > 1)
		for (i = 0; i < OKVM_SPTE_PER_TABLE; i++)
			if (table[i] & fmt->present)
				okvm_mmu_free_table(okvm_spte_table(table[i]),
						    level - 1);
	free_page((unsigned long)table);
}

/* The VM is unreachable and no vCPU runs: free every table. */
void okvm_mmu_destroy(struct okvm_vm *vm)
{
	if (vm->mmu.notifier.ops)
		mmu_notifier_unregister(&vm->mmu.notifier, vm->mm);
	if (vm->mmu.root)
		okvm_mmu_free_table(vm->mmu.root, OKVM_SPTE_LEVELS);
}
