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
 * Only 4 KiB leaves are built, so tables are never freed before the VM is,
 * and dirty logging never has a huge mapping to split.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched.h>
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

/*
 * The root of the tables @vcpu uses now: address space 1's while it is in
 * SMM (x86/smm.c), 0's otherwise. The vendors load it at each entry.
 */
u64 okvm_mmu_root_pa(struct okvm_vcpu *vcpu)
{
	return __pa(vcpu->vm->mmu.root[okvm_vcpu_as_id(vcpu)]);
}

/*
 * Guest frames the four-level tables can map: a GFN at or above this has
 * no entry (its index bits would wrap around the root table).
 */
#define OKVM_MMU_GFN_LIMIT	(1ULL << (OKVM_SPTE_INDEX_BITS * OKVM_SPTE_LEVELS))

/*
 * The last-level table that maps @*gfn; or, when an entry on the way down
 * is absent, NULL with @*gfn moved past that entry's whole span (nothing
 * is mapped there). @mmu->lock held. The walk of okvm_mmu_zap_some() and
 * okvm_mmu_wrprot_range(): one step per table, so a sparse range costs
 * what it has mapped.
 */
static u64 *okvm_mmu_leaf_table(struct okvm_mmu *mmu, int as_id, u64 *gfn)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	u64 *table = mmu->root[as_id];
	u64 span;
	int level;

	for (level = OKVM_SPTE_LEVELS; level > 1; level--) {
		u64 spte = table[okvm_spte_index(*gfn, level)];

		if (!(spte & fmt->present)) {
			span = okvm_spte_span(level);
			*gfn = round_down(*gfn, span) + span;
			return NULL;
		}
		table = okvm_spte_table(spte);
	}
	return table;
}

/* Where the last-level table holding @gfn ends, or @limit before that. */
static u64 okvm_mmu_table_end(u64 gfn, u64 limit)
{
	return min(limit, round_down(gfn, OKVM_SPTE_PER_TABLE) +
			  OKVM_SPTE_PER_TABLE);
}

/*
 * Remove the leaves for guest frames [start, end), one last-level table (or
 * one absent higher-level entry) per step, so that each step is bounded:
 * at most 512 leaves and a four-level descent. Tables stay, empty.
 *
 * With @can_yield, stop after a step when this CPU should reschedule or
 * another CPU spins on the lock, and return the first frame not done, for
 * the caller to drop the lock, reschedule and call again from there;
 * otherwise (and when done) return @end. Sets *@zapped when a leaf was
 * present. The caller raised invalidate_count, which keeps faults from
 * installing anything in the range while the lock is dropped.
 */
static u64 okvm_mmu_zap_some(struct okvm_mmu *mmu, int as_id, u64 start,
			     u64 end, bool can_yield, bool *zapped)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	u64 limit = min(end, OKVM_MMU_GFN_LIMIT);
	u64 gfn = start;

	lockdep_assert_held(&mmu->lock);
	while (gfn < limit) {
		u64 *table = okvm_mmu_leaf_table(mmu, as_id, &gfn);
		u64 next;

		if (table) {
			next = okvm_mmu_table_end(gfn, limit);
			for (; gfn < next; gfn++) {
				u64 *spte = &table[okvm_spte_index(gfn, 1)];

				if (*spte & fmt->present) {
					WRITE_ONCE(*spte, 0);
					*zapped = true;
				}
			}
		}
		if (can_yield && gfn < limit &&
		    (need_resched() || spin_needbreak(&mmu->lock)))
			return gfn;
	}
	return end;
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
 *
 * One IPI round for all of them: the CPUs of the vCPUs in guest mode are
 * collected in a mask and interrupted together with
 * smp_call_function_many(), which waits for all at once instead of one
 * round trip per vCPU. kick_lock guards the mask and disables preemption,
 * which smp_call_function_many() needs. This CPU needs no kick: no vCPU
 * can be in guest mode on it while it runs this code without being
 * preempted (a vCPU enters and leaves guest mode with interrupts off), and
 * smp_call_function_many() skips it anyway. CPUs
 * waiting for kick_lock or for the MMU lock spin with interrupts on, so
 * they answer the IPI.
 */
static void okvm_mmu_kick_vcpus(struct okvm_vm *vm)
{
	struct okvm_mmu *mmu = &vm->mmu;
	unsigned int i, n;

	/* vCPUs are published after their slot (vcpu.c): acquire the count. */
	n = smp_load_acquire(&vm->nr_vcpus);
	/* Orders the tlb_gen bump before reading modes; pairs with run.c. */
	smp_mb();
	spin_lock(&mmu->kick_lock);
	cpumask_clear(mmu->kick_mask);
	for (i = 0; i < n; i++) {
		struct okvm_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);
		int cpu;

		if (!vcpu || READ_ONCE(vcpu->mode) != OKVM_IN_GUEST)
			continue;
		/* run.c writes cpu, then mode: the cpu of that entry. */
		smp_rmb();
		cpu = READ_ONCE(vcpu->cpu);
		if (cpu >= 0 && cpu < nr_cpu_ids)
			__cpumask_set_cpu(cpu, mmu->kick_mask);
	}
	if (!cpumask_empty(mmu->kick_mask))
		smp_call_function_many(mmu->kick_mask, okvm_mmu_kick_ipi, NULL,
				       true);
	/* KVM counts every remote flush, whether or not a vCPU was in. */
	vm->stat.remote_tlb_flush++;
	spin_unlock(&mmu->kick_lock);
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

/*
 * Start and end an invalidation, under the MMU lock: from begin to end no
 * fault installs anything (invalidate_count raised), and a fault that read
 * invalidate_seq before begin installs nothing afterwards either.
 */
static void okvm_mmu_invalidate_begin(struct okvm_mmu *mmu)
{
	lockdep_assert_held(&mmu->lock);
	mmu->invalidate_count++;
	mmu->invalidate_seq++;
}

static void okvm_mmu_invalidate_end(struct okvm_mmu *mmu)
{
	lockdep_assert_held(&mmu->lock);
	mmu->invalidate_seq++;
	mmu->invalidate_count--;
}

/*
 * Remove guest frames [start, end) of address space @as_id and wait until
 * no vCPU can use them.
 * Called by slot updates (memslot.c) and when the mm goes away; it may
 * sleep. The walk reschedules between bounded steps, so deleting a slot of
 * many gigabytes cannot stall the CPU or RCU; invalidate_count stays raised
 * meanwhile. The TLB generation is bumped and the vCPUs are kicked once, at
 * the end, before returning: until then the frames' pages stay the VMM's
 * (the caller has not let them go yet), so a vCPU still reaching one
 * through its TLB reads memory that is still the slot's.
 */
void okvm_mmu_zap_gfn_range(struct okvm_vm *vm, int as_id, u64 start,
			    u64 end)
{
	struct okvm_mmu *mmu = &vm->mmu;
	bool zapped = false;

	might_sleep();
	spin_lock(&mmu->lock);
	okvm_mmu_invalidate_begin(mmu);
	while (start < end) {
		start = okvm_mmu_zap_some(mmu, as_id, start, end, true,
					  &zapped);
		if (start < end)
			cond_resched_lock(&mmu->lock);
	}
	if (zapped)
		atomic64_inc(&mmu->tlb_gen);
	okvm_mmu_invalidate_end(mmu);
	spin_unlock(&mmu->lock);
	if (zapped)
		okvm_mmu_kick_vcpus(vm);
}

static struct okvm_vm *okvm_mmu_notifier_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct okvm_vm, mmu.notifier);
}

/*
 * The first GFN range, at or above @cursor, of a slot of address space
 * @as_id that maps part of the host range [start, end), in the slots
 * published now: true and
 * [*@from, *@to), or false when there is none. Slots are sorted by GFN and
 * do not overlap, so walking them in order with a rising cursor visits
 * each mapped frame once. Slots marked invalid count: a deletion or move
 * relies on the notifier to zap them while it runs.
 */
static bool okvm_mmu_hva_to_gfns(struct okvm_vm *vm, int as_id,
				 unsigned long start, unsigned long end,
				 u64 cursor, u64 *from, u64 *to)
{
	const struct okvm_memslots *slots;
	bool found = false;
	unsigned int i;

	rcu_read_lock();
	slots = rcu_dereference(vm->memslots[as_id]);
	for (i = 0; i < slots->nr && !found; i++) {
		const struct okvm_memslot *slot = &slots->slots[i];
		unsigned long first = slot->userspace_addr;
		unsigned long last = first + (slot->npages << PAGE_SHIFT);
		unsigned long lo = max(first, start);
		unsigned long hi = min(last, end);

		if (lo >= hi)
			continue;
		*from = max(cursor,
			    slot->base_gfn + ((lo - first) >> PAGE_SHIFT));
		*to = slot->base_gfn + DIV_ROUND_UP(hi - first, PAGE_SIZE);
		found = *from < *to;
	}
	rcu_read_unlock();
	return found;
}

/*
 * The kernel is about to change the VMM's page tables for [start, end):
 * remove every entry whose slot maps part of it. Faults that race with the
 * change see invalidate_count raised, or invalidate_seq moved, and retry.
 *
 * When the caller may block, the walk reschedules between bounded steps
 * (okvm_mmu_zap_some()), so that a munmap of tens of gigabytes cannot cause
 * a soft lockup or an RCU stall. The lock is dropped for that, and RCU too,
 * so the slots are looked up again after each pause, from a GFN cursor.
 * That is correct even if the slots changed meanwhile: a slot that went
 * away or moved was zapped by its update (memslot.c) before the snapshot
 * without it was published, and a slot that appeared cannot have entries
 * for this range, because no fault installs anything while
 * invalidate_count is raised.
 *
 * When it may not block (the OOM reaper), the walk does not pause, as
 * KVM's does not then either: it is bounded by the tables the VM has, and
 * refusing with -EAGAIN would only keep the reaper from freeing memory.
 * Either way the TLB generation is bumped and every vCPU in guest mode is
 * kicked (which spins, never sleeps) before this returns.
 */
static int okvm_mmu_invalidate_range_start(struct mmu_notifier *mn,
					   const struct mmu_notifier_range *range)
{
	bool can_yield = mmu_notifier_range_blockable(range);
	struct okvm_vm *vm = okvm_mmu_notifier_vm(mn);
	struct okvm_mmu *mmu = &vm->mmu;
	bool zapped = false;
	u64 cursor, from, to;
	int as_id;

	spin_lock(&mmu->lock);
	okvm_mmu_invalidate_begin(mmu);
	/* SMRAM's slots (address space 1) may map the same host pages. */
	for (as_id = 0; as_id < OKVM_ADDRESS_SPACES; as_id++) {
		cursor = 0;
		while (okvm_mmu_hva_to_gfns(vm, as_id, range->start,
					    range->end, cursor, &from, &to)) {
			cursor = okvm_mmu_zap_some(mmu, as_id, from, to,
						   can_yield, &zapped);
			if (cursor < to)
				cond_resched_lock(&mmu->lock);
		}
	}
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
	okvm_mmu_invalidate_end(mmu);
	spin_unlock(&mmu->lock);
}

/* The VMM's mm is going away (exit or exec): nothing may stay mapped. */
static void okvm_mmu_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	int as_id;

	for (as_id = 0; as_id < OKVM_ADDRESS_SPACES; as_id++)
		okvm_mmu_zap_gfn_range(okvm_mmu_notifier_vm(mn), as_id, 0,
				       U64_MAX);
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

/*
 * The leaf entry for @gfn in the tables of address space @as_id, building
 * missing tables from the spares.
 */
static u64 *okvm_mmu_leaf(struct okvm_vcpu *vcpu, int as_id, u64 gfn)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	struct okvm_mmu *mmu = &vcpu->vm->mmu;
	u64 *table = mmu->root[as_id];
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
 * memslot holds @gpa or the access writes a KVM_MEM_READONLY slot (the
 * access is MMIO, as KVM makes it), -EFAULT when the VMM's memory behind
 * the slot cannot be had (unmapped, or written while read-only: KVM
 * answers these with -EFAULT from KVM_RUN too), or -ENOMEM.
 *
 * A slot that logs dirty pages gets a writable leaf only for a write
 * fault, which sets the page's bit in the same critical section
 * (okvm_dirty_log_fault()); a read maps the page read-only so that the
 * first write faults again (design.rst, "Dirty logging").
 */
int okvm_mmu_page_fault(struct okvm_vcpu *vcpu, u64 gpa, bool write)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	struct okvm_mmu *mmu = &vcpu->vm->mmu;
	int as_id = okvm_vcpu_as_id(vcpu);
	u64 gfn = gpa >> PAGE_SHIFT;
	unsigned long hva, seq;
	bool writable = true;
	struct page *page;
	u64 *spte, new;
	u32 flags;
	int ret;

	ret = okvm_mmu_topup(vcpu);
	if (ret)
		return ret;

	seq = READ_ONCE(mmu->invalidate_seq);
	/*
	 * The sequence is read before the slot and the page are looked up.
	 * Pairs with the MMU lock of okvm_mmu_invalidate_range_start() (the
	 * kernel changes the VMM's page tables after it returns) and with the
	 * smp_wmb() between publishing an invalid slot and zapping it in
	 * okvm_set_user_memory_region(): a fault that sees the bumped
	 * sequence sees the invalid slot.
	 */
	smp_rmb();

	/*
	 * No slot: MMIO. A slot being deleted or moved (marked invalid):
	 * neither RAM nor MMIO yet; the guest faults again, and finds the
	 * final snapshot once the update published it (memslot.c).
	 */
	ret = __okvm_gpa_to_hva(vcpu->vm, as_id, gpa & PAGE_MASK, &hva,
				&flags);
	if (ret)
		return ret == -EAGAIN ? 1 : 0;

	if (flags & KVM_MEM_READONLY) {
		/* A write there is MMIO; the page is never mapped writable. */
		if (write)
			return 0;
		writable = false;
		ret = get_user_pages_fast(hva, 1, 0, &page);
	} else {
		/*
		 * Ask for a writable page whatever the access, as a write
		 * fault would otherwise follow at once; a mapping the VMM made
		 * read-only is mapped read-only for reads.
		 */
		ret = get_user_pages_fast(hva, 1, FOLL_WRITE, &page);
		if (ret != 1 && !write) {
			writable = false;
			ret = get_user_pages_fast(hva, 1, 0, &page);
		}
	}
	if (ret != 1)
		return -EFAULT;

	spin_lock(&mmu->lock);
	if (!mmu->invalidate_count && mmu->invalidate_seq == seq) {
		/*
		 * The slot's flags as published now, not as looked up above:
		 * dirty logging may have been turned on meanwhile, and its
		 * write-protection pass (under this lock) may already be over.
		 */
		if (writable)
			writable = okvm_dirty_log_fault(vcpu->vm, as_id, gfn,
							write);
		spte = okvm_mmu_leaf(vcpu, as_id, gfn);
		new = page_to_phys(page) | fmt->leaf | fmt->leaf_exec |
		      (writable ? fmt->leaf_write : 0);
		/*
		 * Another vCPU may have mapped the page already. Entries change
		 * pages only after a zap, so the rights only grow here: a
		 * read fault keeps the write right another vCPU's write fault
		 * gave meanwhile (narrowing would need a flush). Wider rights
		 * need no TLB flush (APM 15.25.10).
		 */
		if ((*spte & fmt->present) &&
		    (*spte & OKVM_SPTE_ADDR_MASK) == page_to_phys(page))
			new |= *spte & fmt->leaf_write;
		WRITE_ONCE(*spte, new);
		vcpu->stat.pf_fixed++;
	}
	spin_unlock(&mmu->lock);
	put_page(page);
	return 1;
}

/*
 * Write-protection for dirty logging (dirty_log.c). okvm_mmu_lock() and
 * okvm_mmu_unlock_flush() bracket one or more okvm_mmu_wrprot_mask()
 * calls, so that clearing bits in a dirty bitmap and taking the write
 * right from their pages is atomic with respect to the fault path, which
 * sets a bit and gives the right under the same lock.
 */
void okvm_mmu_lock(struct okvm_vm *vm)
{
	spin_lock(&vm->mmu.lock);
}

/*
 * With @flush (a write right was taken), make every vCPU drop the stale
 * translations before returning: bump the TLB generation under the lock,
 * then kick the vCPUs in guest mode (okvm_mmu_kick_vcpus()). A vCPU that
 * kept a writable TLB entry could otherwise write the page without a
 * fault after its bit was reported clean, and the write would be lost.
 */
void okvm_mmu_unlock_flush(struct okvm_vm *vm, bool flush)
{
	if (flush)
		atomic64_inc(&vm->mmu.tlb_gen);
	spin_unlock(&vm->mmu.lock);
	if (flush)
		okvm_mmu_kick_vcpus(vm);
}

/* The leaf for @gfn if every table above it exists, else NULL. */
static u64 *okvm_mmu_find_leaf(struct okvm_mmu *mmu, int as_id, u64 gfn)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	u64 *table = mmu->root[as_id];
	int level;

	if (gfn >= OKVM_MMU_GFN_LIMIT)
		return NULL;
	for (level = OKVM_SPTE_LEVELS; level > 1; level--) {
		u64 spte = table[okvm_spte_index(gfn, level)];

		if (!(spte & fmt->present))
			return NULL;
		table = okvm_spte_table(spte);
	}
	return &table[okvm_spte_index(gfn, 1)];
}

/*
 * Clear the write right (NPT's R/W bit, APM 15.25.5; EPT's bit 1, SDM
 * 29.3.2) of the leaves for @gfn + each set bit of @mask. Only 4 KiB
 * leaves exist (see the top of this file), so there is no huge mapping
 * to split first. Returns true when a right was taken: the caller must
 * flush (okvm_mmu_unlock_flush()).
 */
bool okvm_mmu_wrprot_mask(struct okvm_vm *vm, int as_id, u64 gfn,
			  unsigned long mask)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	struct okvm_mmu *mmu = &vm->mmu;
	bool taken = false;
	unsigned int bit;

	lockdep_assert_held(&mmu->lock);
	for_each_set_bit(bit, &mask, BITS_PER_LONG) {
		u64 *spte = okvm_mmu_find_leaf(mmu, as_id, gfn + bit);

		if (spte && (*spte & fmt->leaf_write)) {
			WRITE_ONCE(*spte, *spte & ~fmt->leaf_write);
			taken = true;
		}
	}
	return taken;
}

/*
 * Take the write right from every leaf of guest frames [start, end), when
 * a slot starts logging dirty pages; it may sleep. One last-level table
 * (or one absent higher-level entry, whose whole span is skipped) per
 * step, as okvm_mmu_zap_some() walks, so a big sparse slot costs what it
 * has mapped; rescheduling between steps; then one flush.
 */
void okvm_mmu_wrprot_range(struct okvm_vm *vm, int as_id, u64 start, u64 end)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	u64 limit = min(end, OKVM_MMU_GFN_LIMIT);
	struct okvm_mmu *mmu = &vm->mmu;
	bool taken = false;
	u64 gfn = start;

	might_sleep();
	spin_lock(&mmu->lock);
	while (gfn < limit) {
		u64 *table = okvm_mmu_leaf_table(mmu, as_id, &gfn);
		u64 next;

		if (table) {
			next = okvm_mmu_table_end(gfn, limit);
			for (; gfn < next; gfn++) {
				u64 *spte = &table[okvm_spte_index(gfn, 1)];

				if (*spte & fmt->leaf_write) {
					WRITE_ONCE(*spte, *spte & ~fmt->leaf_write);
					taken = true;
				}
			}
		}
		cond_resched_lock(&mmu->lock);
	}
	okvm_mmu_unlock_flush(vm, taken);
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

/* One root per address space; on failure, okvm_mmu_destroy(). */
int okvm_mmu_init(struct okvm_vm *vm)
{
	struct okvm_mmu *mmu = &vm->mmu;
	int as_id;

	spin_lock_init(&mmu->lock);
	spin_lock_init(&mmu->kick_lock);
	atomic64_set(&mmu->tlb_gen, 0);
	if (!zalloc_cpumask_var(&mmu->kick_mask, GFP_KERNEL_ACCOUNT))
		return -ENOMEM;
	for (as_id = 0; as_id < OKVM_ADDRESS_SPACES; as_id++) {
		mmu->root[as_id] = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!mmu->root[as_id])
			return -ENOMEM;
	}
	return 0;
}

/*
 * Free a table and everything below it. Called when the VM is freed, from
 * the last close (a process exit among them), which may sleep: a VM with
 * tens of thousands of tables reschedules between last-level tables.
 */
static void okvm_mmu_free_table(u64 *table, int level)
{
	const struct okvm_spte_format *fmt = okvm_spte();
	unsigned int i;

	if (level > 1) {
		for (i = 0; i < OKVM_SPTE_PER_TABLE; i++)
			if (table[i] & fmt->present)
				okvm_mmu_free_table(okvm_spte_table(table[i]),
						    level - 1);
		cond_resched();
	}
	free_page((unsigned long)table);
}

/* The VM is unreachable and no vCPU runs: free every table. */
void okvm_mmu_destroy(struct okvm_vm *vm)
{
	int as_id;

	if (vm->mmu.notifier.ops)
		mmu_notifier_unregister(&vm->mmu.notifier, vm->mm);
	for (as_id = 0; as_id < OKVM_ADDRESS_SPACES; as_id++)
		if (vm->mmu.root[as_id])
			okvm_mmu_free_table(vm->mmu.root[as_id],
					    OKVM_SPTE_LEVELS);
	free_cpumask_var(vm->mmu.kick_mask);
}
