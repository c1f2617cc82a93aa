// SPDX-License-Identifier: GPL-2.0-only
/*
 * stats.c - KVM_GET_STATS_FD on the VM and vCPU fds (KVM_CAP_BINARY_STATS_FD):
 * a read-only file in KVM's binary statistics format, whose counters the
 * rest of okvm keeps in struct okvm_vm_stats and struct okvm_vcpu_stats.
 *
 * The file, as KVM lays it out (Linux's Documentation/virt/kvm/api.rst,
 * "KVM_GET_STATS_FD"): struct kvm_stats_header; the id string, in a field
 * of KVM_STATS_NAME_SIZE bytes ("kvm-PID" or "kvm-PID/vcpu-ID", as KVM
 * names them); one struct kvm_stats_desc per counter, each followed by its
 * name in KVM_STATS_NAME_SIZE bytes; then the counters' values, u64 each.
 * The header and descriptors never change; a read builds the whole file
 * from the current values and copies the part asked for, so any offset
 * and size work, and pread() too.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stddef.h>

#include "okvm.h"

/*
 * The size of the id and name fields: 48 in KVM's ABI, which 6.1 defines
 * in kvm_host.h and later kernels in <linux/kvm.h>.
 */
#ifndef KVM_STATS_NAME_SIZE
#define KVM_STATS_NAME_SIZE	48
#endif

/* One counter: its descriptor fields and where it lives. */
struct okvm_stat {
	const char *name;
	u32 flags;		/* KVM_STATS_TYPE_* | KVM_STATS_UNIT_* | BASE */
	size_t offset;		/* in struct okvm_vm_stats / okvm_vcpu_stats */
};

#define OKVM_STAT(type, name)						\
	{ #name, KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE |	\
		 KVM_STATS_BASE_POW10, offsetof(type, name) }

/* KVM's names for the same events, so that tools reading KVM's work. */
static const struct okvm_stat okvm_vm_stats[] = {
	OKVM_STAT(struct okvm_vm_stats, remote_tlb_flush),
};

static const struct okvm_stat okvm_vcpu_stats[] = {
	OKVM_STAT(struct okvm_vcpu_stats, exits),
	OKVM_STAT(struct okvm_vcpu_stats, io_exits),
	OKVM_STAT(struct okvm_vcpu_stats, mmio_exits),
	OKVM_STAT(struct okvm_vcpu_stats, signal_exits),
	OKVM_STAT(struct okvm_vcpu_stats, halt_exits),
	OKVM_STAT(struct okvm_vcpu_stats, pf_fixed),
};

/*
 * A descriptor as the file holds it: struct kvm_stats_desc, then the name's
 * field. Spelled out because the kernel's own view of that struct differs
 * by version (6.1's ends in a flexible name[], later ones, inside the
 * kernel, in name[KVM_STATS_NAME_SIZE]); the file's layout does not.
 */
struct okvm_stats_desc {
	u32 flags;
	s16 exponent;
	u16 size;
	u32 offset;
	u32 bucket_size;
	char name[KVM_STATS_NAME_SIZE];
};

static_assert(sizeof(struct okvm_stats_desc) == 16 + KVM_STATS_NAME_SIZE);

/* What one stats fd shows. */
struct okvm_stats_src {
	const struct okvm_stat *stats;
	unsigned int nr;
	const void *values;	/* the struct the offsets point into */
	char id[KVM_STATS_NAME_SIZE];
	struct okvm_vm *vm;	/* the reference the file holds */
};

/*
 * Builds the file's bytes in a buffer of okvm_stats_size(). Counters are
 * read without a lock, as KVM reads them: each is one aligned u64 that
 * only its owner writes.
 */
static size_t okvm_stats_size(unsigned int nr)
{
	return sizeof(struct kvm_stats_header) + KVM_STATS_NAME_SIZE +
	       nr * (sizeof(struct okvm_stats_desc) + sizeof(u64));
}

static void okvm_stats_fill(const struct okvm_stats_src *src, void *buf)
{
	struct kvm_stats_header *hdr = buf;
	struct okvm_stats_desc *desc;
	u64 *data;
	unsigned int i;

	hdr->flags = 0;
	hdr->name_size = KVM_STATS_NAME_SIZE;
	hdr->num_desc = src->nr;
	hdr->id_offset = sizeof(*hdr);
	hdr->desc_offset = hdr->id_offset + KVM_STATS_NAME_SIZE;
	hdr->data_offset = hdr->desc_offset + src->nr * sizeof(*desc);
	memcpy(buf + hdr->id_offset, src->id, KVM_STATS_NAME_SIZE);
	desc = buf + hdr->desc_offset;
	data = buf + hdr->data_offset;
	for (i = 0; i < src->nr; i++) {
		const struct okvm_stat *s = &src->stats[i];

		desc[i].flags = s->flags;
		desc[i].exponent = 0;
		desc[i].size = 1;
		desc[i].offset = i * sizeof(u64);
		desc[i].bucket_size = 0;
		strscpy(desc[i].name, s->name, sizeof(desc[i].name));
		data[i] = READ_ONCE(*(const u64 *)(src->values + s->offset));
	}
}

static ssize_t okvm_stats_read(struct file *filp, char __user *ubuf,
			       size_t size, loff_t *pos)
{
	const struct okvm_stats_src *src = filp->private_data;
	size_t len = okvm_stats_size(src->nr);
	ssize_t ret;
	void *buf;

	/* Past the end reads nothing, before anything is built (as KVM). */
	if (*pos >= len)
		return 0;
	buf = kzalloc(len, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	okvm_stats_fill(src, buf);
	ret = simple_read_from_buffer(ubuf, size, pos, buf, len);
	kfree(buf);
	return ret;
}

static int okvm_stats_release(struct inode *inode, struct file *filp)
{
	struct okvm_stats_src *src = filp->private_data;

	okvm_vm_put(src->vm);
	kfree(src);
	return 0;
}

static const struct file_operations okvm_stats_fops = {
	.owner = THIS_MODULE,
	.read = okvm_stats_read,
	.release = okvm_stats_release,
	.llseek = noop_llseek,
};

/*
 * A new read-only, close-on-exec fd for @src (which it then owns), holding
 * a reference on the VM as KVM's stats files do: the counters stay
 * readable after the VM's and vCPUs' own fds are closed.
 */
static int okvm_stats_fd(struct okvm_stats_src *src, const char *name)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		goto free;
	file = anon_inode_getfile(name, &okvm_stats_fops, src, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto free;
	}
	kref_get(&src->vm->refs);
	file->f_mode |= FMODE_PREAD;
	fd_install(fd, file);
	return fd;
free:
	kfree(src);
	return fd;
}

int okvm_vm_get_stats_fd(struct okvm_vm *vm)
{
	struct okvm_stats_src *src = kzalloc(sizeof(*src), GFP_KERNEL_ACCOUNT);

	if (!src)
		return -ENOMEM;
	src->stats = okvm_vm_stats;
	src->nr = ARRAY_SIZE(okvm_vm_stats);
	src->values = &vm->stat;
	src->vm = vm;
	snprintf(src->id, sizeof(src->id), "kvm-%d", vm->creator);
	return okvm_stats_fd(src, "kvm-vm-stats");
}

int okvm_vcpu_get_stats_fd(struct okvm_vcpu *vcpu)
{
	struct okvm_stats_src *src = kzalloc(sizeof(*src), GFP_KERNEL_ACCOUNT);
	char name[32];

	if (!src)
		return -ENOMEM;
	src->stats = okvm_vcpu_stats;
	src->nr = ARRAY_SIZE(okvm_vcpu_stats);
	src->values = &vcpu->stat;
	src->vm = vcpu->vm;
	snprintf(src->id, sizeof(src->id), "kvm-%d/vcpu-%u", vcpu->vm->creator,
		 vcpu->id);
	snprintf(name, sizeof(name), "kvm-vcpu-stats:%u", vcpu->id);
	return okvm_stats_fd(src, name);
}
