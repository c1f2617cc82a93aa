// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmu_pages.c - KVM_SET_NR_MMU_PAGES and KVM_GET_NR_MMU_PAGES.
 *
 * In KVM the number caps the pages of its shadow MMU, the page tables it
 * builds when it walks the guest's own; the TDP MMU (second-level tables,
 * the only kind okvm has) is not counted against it. okvm builds no
 * shadow pages, so the number limits nothing here, as it limits nothing
 * for a KVM guest on the TDP MMU: okvm keeps it with KVM's rules so that a
 * VMM setting, reading and migrating it sees what it would see on KVM.
 */
#include <linux/kvm.h>
#include <linux/minmax.h>

#include "okvm.h"

/* KVM's floor (KVM_MIN_ALLOC_MMU_PAGES) and default ratio (one per 50). */
#define OKVM_MIN_MMU_PAGES		64UL
#define OKVM_SLOT_PAGES_PER_MMU_PAGE	50

/*
 * A slot was created or deleted (memslot.c, under slots_lock): unless the
 * VMM chose a number, it follows the memory, as KVM's default does.
 */
void okvm_mmu_pages_slots_changed(struct okvm_vm *vm)
{
	const struct okvm_memslots *slots;
	unsigned long pages = 0;
	unsigned int i;
	int as_id;

	if (vm->mmu_pages_requested)
		return;
	/* Both address spaces count, as in KVM. */
	for (as_id = 0; as_id < OKVM_ADDRESS_SPACES; as_id++) {
		slots = rcu_dereference_protected(vm->memslots[as_id],
						  lockdep_is_held(&vm->slots_lock));
		for (i = 0; i < slots->nr; i++)
			pages += slots->slots[i].npages;
	}
	WRITE_ONCE(vm->nr_mmu_pages,
		   max(pages / OKVM_SLOT_PAGES_PER_MMU_PAGE, OKVM_MIN_MMU_PAGES));
}

long okvm_vm_ioctl_mmu_pages(struct okvm_vm *vm, unsigned int ioctl,
			     unsigned long arg)
{
	if (ioctl == KVM_GET_NR_MMU_PAGES)
		/* 0 until the first slot change; an int, as in KVM. */
		return (int)READ_ONCE(vm->nr_mmu_pages);
	if (arg < OKVM_MIN_MMU_PAGES)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	WRITE_ONCE(vm->nr_mmu_pages, arg);
	vm->mmu_pages_requested = true;
	mutex_unlock(&vm->slots_lock);
	return 0;
}
