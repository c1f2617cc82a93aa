// SPDX-License-Identifier: GPL-2.0-only
/*
 * mem.c - the memory table (VHOST_SET_MEM_TABLE), the only way the worker
 * reaches guest memory, and the dirty log of VHOST_F_LOG_ALL.
 *
 * A descriptor's guest-physical range is turned into user addresses of the
 * owner here, region by region; a range any byte of which no region covers,
 * or whose end wraps, is refused, so the worker never touches an address
 * the VMM did not hand it. The user addresses are then accessed with the
 * uaccess helpers in the owner's mm, which check them once more.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vhost.h"

static bool okvm_vhost_overflow(u64 uaddr, u64 size)
{
	return uaddr > ULONG_MAX || size > ULONG_MAX ||
	       (size && uaddr > ULONG_MAX - size + 1);
}

/* The bitmap bytes covering [gpa, gpa + len) lie in user memory. */
bool okvm_vhost_log_access_ok(void __user *log_base, u64 gpa, u64 len)
{
	u64 first = gpa / OKVM_VHOST_LOG_PAGE / 8;
	u64 bytes = (len + OKVM_VHOST_LOG_PAGE * 8 - 1) / OKVM_VHOST_LOG_PAGE / 8;

	if (first > ULONG_MAX - (unsigned long)log_base)
		return false;
	return access_ok(log_base + first, bytes);
}

/*
 * Every region is user memory and, when writes are logged, has its
 * bitmap in user memory too (in-tree's vq_memory_access_ok()).
 */
bool okvm_vhost_mem_access_ok(const struct okvm_vhost_mem *mem,
			      void __user *log_base, bool log_all)
{
	u32 i;

	if (!mem)
		return false;
	for (i = 0; i < mem->nregions; i++) {
		const struct vhost_memory_region *r = &mem->regions[i];

		if (okvm_vhost_overflow(r->userspace_addr, r->memory_size))
			return false;
		if (!access_ok((void __user *)(unsigned long)r->userspace_addr,
			       r->memory_size))
			return false;
		if (log_all && !okvm_vhost_log_access_ok(log_base,
							 r->guest_phys_addr,
							 r->memory_size))
			return false;
	}
	return true;
}

/*
 * VHOST_SET_MEM_TABLE. In-tree's errnos: EOPNOTSUPP for a non-zero
 * padding, E2BIG past 64 regions, EFAULT for an unreadable table, a region
 * that is empty or whose guest range wraps, or one a running ring could
 * not reach. The new table is published to each ring under its mutex, so
 * a handler sees the old table or the new one, never a mix.
 */
long okvm_vhost_set_mem_table(struct okvm_vhost_dev *dev,
			      struct vhost_memory __user *m)
{
	struct okvm_vhost_mem *mem, *old;
	struct vhost_memory hdr;
	unsigned int i;
	u32 n;

	if (copy_from_user(&hdr, m, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding)
		return -EOPNOTSUPP;
	if (hdr.nregions > OKVM_VHOST_MEM_REGIONS)
		return -E2BIG;
	mem = kvzalloc(struct_size(mem, regions, hdr.nregions), GFP_KERNEL);
	if (!mem)
		return -ENOMEM;
	mem->nregions = hdr.nregions;
	if (copy_from_user(mem->regions, m->regions,
			   flex_array_size(mem, regions, hdr.nregions)))
		goto fault;
	for (n = 0; n < mem->nregions; n++) {
		const struct vhost_memory_region *r = &mem->regions[n];

		if (!r->memory_size ||
		    r->guest_phys_addr + r->memory_size - 1 < r->guest_phys_addr)
			goto fault;
	}
	for (i = 0; i < dev->nvqs; i++) {
		struct okvm_vq *vq = dev->vqs[i];
		bool ok;

		mutex_lock(&vq->mutex);
		ok = !vq->backend ||
		     okvm_vhost_mem_access_ok(mem, vq->log_base,
					      okvm_vq_has(vq, VHOST_F_LOG_ALL));
		mutex_unlock(&vq->mutex);
		if (!ok)
			goto fault;
	}
	old = dev->mem;
	dev->mem = mem;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->mem = mem;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	kvfree(old);
	return 0;

fault:
	kvfree(mem);
	return -EFAULT;
}

static const struct vhost_memory_region *
okvm_vhost_region(const struct okvm_vhost_mem *mem, u64 gpa)
{
	u32 i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vhost_memory_region *r = &mem->regions[i];

		if (gpa >= r->guest_phys_addr &&
		    gpa - r->guest_phys_addr < r->memory_size)
			return r;
	}
	return NULL;
}

/*
 * Guest range [gpa, gpa + len) as user iovecs, one per region it crosses.
 * Returns the number of iovecs, -EFAULT when a byte is outside the table
 * or the range wraps, -ENOBUFS when @iov_max iovecs do not suffice.
 */
int okvm_vhost_translate(const struct okvm_vhost_mem *mem, u64 gpa, u64 len,
			 struct iovec *iov, unsigned int iov_max)
{
	unsigned int n = 0;

	if (!mem)
		return -EFAULT;
	if (len && gpa + len - 1 < gpa)
		return -EFAULT;
	while (len) {
		const struct vhost_memory_region *r = okvm_vhost_region(mem, gpa);
		u64 off, chunk;

		/* a region whose user range wraps was never checked (no ring ran) */
		if (!r || okvm_vhost_overflow(r->userspace_addr, r->memory_size))
			return -EFAULT;
		if (n == iov_max)
			return -ENOBUFS;
		off = gpa - r->guest_phys_addr;
		chunk = min(len, r->memory_size - off);
		iov[n].iov_base = (void __user *)(unsigned long)(r->userspace_addr + off);
		iov[n].iov_len = chunk;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return n;
}

/* Set bit @nr of the user bitmap at @addr, atomically against the VMM's clears. */
static int okvm_vhost_set_log_bit(unsigned long addr, unsigned int nr)
{
	struct page *page;
	void *base;
	int r;

	addr += nr / 8;
	r = pin_user_pages_fast(addr & PAGE_MASK, 1, FOLL_WRITE, &page);
	if (r < 0)
		return r;
	if (r != 1)
		return -EFAULT;
	base = kmap_local_page(page);
	set_bit((addr & ~PAGE_MASK) * 8 + nr % 8, base);
	kunmap_local(base);
	unpin_user_pages_dirty_lock(&page, 1, true);
	return 0;
}

/*
 * Record a device write to [gpa, gpa + len) in the dirty log: one bit per
 * 4 KiB page at log_base, as in-tree vhost (and QEMU's migration) expect.
 */
int okvm_vhost_log_write(struct okvm_vq *vq, u64 gpa, u64 len)
{
	u64 page, last;
	int r;

	if (!len || !okvm_vq_has(vq, VHOST_F_LOG_ALL) || !vq->log_base)
		return 0;
	last = (gpa + len - 1) / OKVM_VHOST_LOG_PAGE;
	for (page = gpa / OKVM_VHOST_LOG_PAGE; page <= last; page++) {
		r = okvm_vhost_set_log_bit((unsigned long)vq->log_base +
					   page / 64 * 8, page % 64);
		if (r)
			return r;
	}
	okvm_vhost_signal(vq->log_ctx);
	return 0;
}
