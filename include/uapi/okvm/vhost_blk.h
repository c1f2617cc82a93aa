/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * okvm/vhost_blk.h - the ioctls of /dev/okvm-vhost-blk that <linux/vhost.h>
 * has no number for. Everything else on that device is <linux/vhost.h>'s
 * generic vhost ABI (Documentation/vhost.rst).
 *
 * The numbers live in vhost's own ioctl type (VHOST_VIRTIO, 0xAF) far above
 * the ones Linux has handed out there (0x00-0x8x), so a vhost-blk fd given
 * an in-tree vhost ioctl, or the reverse, gets ENOTTY, not a wrong meaning.
 */
#ifndef _UAPI_OKVM_VHOST_BLK_H
#define _UAPI_OKVM_VHOST_BLK_H

#include <linux/types.h>
#include <linux/vhost.h>

/*
 * The request queues: index 0, and with VIRTIO_BLK_F_MQ up to
 * OKVM_VHOST_BLK_VQ_MAX of them, each served by a worker of its own.
 */
#define OKVM_VHOST_BLK_VQ_REQ		0
#define OKVM_VHOST_BLK_VQ_MAX		16

/*
 * OKVM_VHOST_BLK_SET_BACKEND: struct vhost_vring_file, as
 * VHOST_NET_SET_BACKEND: @index is the queue, @fd the backing regular file
 * or block device (opened O_RDONLY for a read-only disk, O_RDWR otherwise;
 * O_DIRECT is kept), or -1 to detach. The rings must be set up first.
 */
#define OKVM_VHOST_BLK_SET_BACKEND	_IOW(VHOST_VIRTIO, 0xe0, struct vhost_vring_file)

/*
 * OKVM_VHOST_BLK_GET_CONFIG: what the VMM puts in the device's
 * struct virtio_blk_config, as the backend sees the attached file.
 * EINVAL while no backend is attached.
 */
struct okvm_vhost_blk_config {
	__u64 capacity;		/* in 512-byte sectors, rounded down */
	__u32 blk_size;		/* the backing file's logical block size */
	__u32 seg_max;		/* data segments one request may carry */
	__u32 flags;		/* OKVM_VHOST_BLK_F_* */
	__u32 num_queues;	/* request queues it serves (OKVM_VHOST_BLK_VQ_MAX) */
};

#define OKVM_VHOST_BLK_F_RO		(1U << 0)	/* the fd is not writable */

#define OKVM_VHOST_BLK_GET_CONFIG	_IOR(VHOST_VIRTIO, 0xe1, struct okvm_vhost_blk_config)

/*
 * OKVM_VHOST_BLK_SET_ID: the string VIRTIO_BLK_T_GET_ID answers
 * (VIRTIO_BLK_ID_BYTES, not NUL-terminated when it fills them all).
 */
#define OKVM_VHOST_BLK_ID_BYTES		20
#define OKVM_VHOST_BLK_SET_ID		_IOW(VHOST_VIRTIO, 0xe2, char[OKVM_VHOST_BLK_ID_BYTES])

#endif /* _UAPI_OKVM_VHOST_BLK_H */
