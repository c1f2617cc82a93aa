/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost.h - the core shared by okvm's vhost-net and vhost-blk: a device
 * with an owner, a memory table, split virtqueues and one worker thread.
 *
 * The ABI is <linux/vhost.h>'s; Documentation/vhost.rst describes the
 * model. Locking: dev->mutex serialises the ioctls; each ring's mutex is
 * held by whoever reads or changes the ring (the worker's handler, or an
 * ioctl), so a handler never sees a ring, memory table or backend change
 * under its feet.
 */
#ifndef OKVM_VHOST_H
#define OKVM_VHOST_H

#include <linux/eventfd.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/vhost.h>
#include <linux/virtio_ring.h>
#include <linux/wait.h>

/* In-tree vhost's limits (drivers/vhost/vhost.c, max_mem_regions; UIO_MAXIOV). */
#define OKVM_VHOST_MEM_REGIONS	64
#define OKVM_VHOST_IOV_MAX	1024
/* One bit of the dirty log covers one 4 KiB page (VHOST_PAGE_SIZE). */
#define OKVM_VHOST_LOG_PAGE	0x1000ULL

/* What every okvm vhost device acks, as in-tree's VHOST_FEATURES. */
#define OKVM_VHOST_FEATURES	((1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) |	\
				 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |	\
				 (1ULL << VIRTIO_RING_F_EVENT_IDX) |	\
				 (1ULL << VHOST_F_LOG_ALL) |		\
				 (1ULL << VIRTIO_F_ANY_LAYOUT) |	\
				 (1ULL << VIRTIO_F_VERSION_1))

struct okvm_vhost_dev;
struct okvm_vq;

/* The memory table of VHOST_SET_MEM_TABLE: immutable once installed. */
struct okvm_vhost_mem {
	u32 nregions;
	struct vhost_memory_region regions[];
};

/*
 * struct okvm_vhost_poll - a file (kick eventfd, tap socket) whose
 * readiness queues work bit @bit for the worker. The wake callback runs
 * in the waker's context, under its wait-queue lock: it only sets a bit
 * and wakes the worker.
 */
struct okvm_vhost_poll {
	wait_queue_entry_t wait;
	poll_table table;
	wait_queue_head_t *wqh;
	struct okvm_vhost_dev *dev;
	unsigned int bit;
	__poll_t mask;
};

/* One dirty-log range: guest memory a chain lets the device write. */
struct okvm_vhost_log {
	u64 gpa;
	u64 len;
};

/*
 * struct okvm_vhost_chain - one descriptor chain taken from the avail
 * ring: @out readable iovecs, then @in writable ones, in the caller's
 * array; @nlog writable guest ranges in vq->log.
 */
struct okvm_vhost_chain {
	u16 head;
	unsigned int out;
	unsigned int in;
	size_t out_len;
	size_t in_len;
};

typedef void (*okvm_vq_handler_t)(struct okvm_vq *vq);

/*
 * struct okvm_vhost_worker - a kthread in the owner's mm that runs the
 * handlers of the rings whose bits are set in @pending. A device has one
 * for all its rings (vhost-net), or one per ring (vhost-blk's queues,
 * started when the ring gets its backend).
 */
struct okvm_vhost_worker {
	struct task_struct *task;
	struct okvm_vhost_dev *dev;
	unsigned long pending;	/* bits: ring indexes */
};

/* Rings (and so workers) a device may have: bits of one unsigned long. */
#define OKVM_VHOST_VQS_MAX	16

struct okvm_vq {
	struct okvm_vhost_dev *dev;
	struct mutex mutex;	/* the ring, its files and backend */
	unsigned int index;

	/* VHOST_SET_VRING_NUM / ADDR / BASE (user addresses of the VMM) */
	unsigned int num;
	struct vring_desc __user *desc;
	struct vring_avail __user *avail;
	struct vring_used __user *used;
	u64 log_addr;
	bool log_used;
	u16 last_avail_idx;
	u16 avail_idx;		/* the guest's avail->idx, last read */
	u16 last_used_idx;
	u16 signalled_used;	/* used->idx at the last call (EVENT_IDX) */
	bool signalled_used_valid;
	/* a hostile or broken ring: no more work until it is set up again */
	bool broken;

	struct file *kick;
	struct eventfd_ctx *call;
	struct eventfd_ctx *err;
	struct okvm_vhost_poll kick_poll;
	okvm_vq_handler_t handle;
	struct okvm_vhost_worker *worker;	/* the one that runs @handle */

	/* copies of the device's state, read by the handler under ->mutex */
	void *backend;
	u64 features;
	const struct okvm_vhost_mem *mem;
	void __user *log_base;
	struct eventfd_ctx *log_ctx;

	struct iovec iov[OKVM_VHOST_IOV_MAX];
	struct okvm_vhost_log log[OKVM_VHOST_IOV_MAX];
	unsigned int nlog;
};

struct okvm_vhost_dev {
	struct mutex mutex;		/* the ioctls */
	struct mm_struct *mm;		/* the owner's, held while owned */
	/* workers[0] serves every ring unless each ring has its own */
	struct okvm_vhost_worker workers[OKVM_VHOST_VQS_MAX];
	bool worker_per_vq;
	struct okvm_vq **vqs;
	unsigned int nvqs;
	u64 features;
	struct okvm_vhost_mem *mem;
	void __user *log_base;
	struct eventfd_ctx *log_ctx;
};

/* vhost.c: the device, its owner and worker, and the generic ioctls */
void okvm_vhost_dev_init(struct okvm_vhost_dev *dev, struct okvm_vq **vqs,
			 unsigned int nvqs, okvm_vq_handler_t *handlers,
			 bool worker_per_vq);
int okvm_vhost_vq_worker_start(struct okvm_vq *vq);
long okvm_vhost_dev_ioctl(struct okvm_vhost_dev *dev, unsigned int ioctl,
			  void __user *argp);
int okvm_vhost_check_owner(struct okvm_vhost_dev *dev);
int okvm_vhost_set_features(struct okvm_vhost_dev *dev, u64 features);
void okvm_vhost_dev_stop(struct okvm_vhost_dev *dev);
void okvm_vhost_dev_cleanup(struct okvm_vhost_dev *dev);
struct okvm_vhost_mem *okvm_vhost_reset_prepare(void);
void okvm_vhost_dev_reset_owner(struct okvm_vhost_dev *dev,
				struct okvm_vhost_mem *empty);
void okvm_vhost_queue_work(struct okvm_vhost_dev *dev, unsigned int bit);
void okvm_vhost_poll_init(struct okvm_vhost_poll *p, struct okvm_vhost_dev *dev,
			  unsigned int bit, __poll_t mask);
void okvm_vhost_poll_start(struct okvm_vhost_poll *p, struct file *file);
void okvm_vhost_poll_stop(struct okvm_vhost_poll *p);
void okvm_vhost_signal(struct eventfd_ctx *ctx);

/* mem.c: the memory table and the dirty log */
long okvm_vhost_set_mem_table(struct okvm_vhost_dev *dev,
			      struct vhost_memory __user *m);
bool okvm_vhost_mem_access_ok(const struct okvm_vhost_mem *mem,
			      void __user *log_base, bool log_all);
bool okvm_vhost_log_access_ok(void __user *log_base, u64 gpa, u64 len);
int okvm_vhost_translate(const struct okvm_vhost_mem *mem, u64 gpa, u64 len,
			 struct iovec *iov, unsigned int iov_max);
int okvm_vhost_log_write(struct okvm_vq *vq, u64 gpa, u64 len);

/* vring.c: the ring ioctls and the split-virtqueue walk */
long okvm_vhost_vring_ioctl(struct okvm_vhost_dev *dev, unsigned int ioctl,
			    void __user *argp);
void okvm_vq_reset(struct okvm_vq *vq);
bool okvm_vq_access_ok(struct okvm_vq *vq);
int okvm_vq_start(struct okvm_vq *vq);
void okvm_vq_error(struct okvm_vq *vq, const char *why);
int okvm_vq_get_chain(struct okvm_vq *vq, struct iovec *iov,
		      unsigned int iov_max, struct okvm_vhost_chain *chain);
void okvm_vq_unget(struct okvm_vq *vq, unsigned int n);
int okvm_vq_add_used(struct okvm_vq *vq, u16 head, u32 len);
void okvm_vq_notify(struct okvm_vq *vq);
bool okvm_vq_enable_notify(struct okvm_vq *vq);
void okvm_vq_disable_notify(struct okvm_vq *vq);

static inline bool okvm_vq_has(const struct okvm_vq *vq, unsigned int bit)
{
	return vq->features & (1ULL << bit);
}

/* Chains a handler serves before it yields the worker to other rings. */
#define OKVM_VHOST_BUDGET	64

/*
 * A handler's work on one chain (its iovecs in vq->iov, the ring mutex
 * held): the bytes it wrote before the used entry, -EIOCBQUEUED when the
 * device completes the chain later (and adds it to the used ring then),
 * or another negative errno when it stopped the ring (okvm_vq_error())
 * and the chain is not used.
 */
typedef long (*okvm_vq_chain_fn)(struct okvm_vq *vq,
				 const struct okvm_vhost_chain *c);
void okvm_vq_serve(struct okvm_vq *vq, okvm_vq_chain_fn serve);

/* net.c, blk.c: the two devices */
int okvm_vhost_net_init(void);
void okvm_vhost_net_exit(void);
int okvm_vhost_blk_init(void);
void okvm_vhost_blk_exit(void);

#endif /* OKVM_VHOST_H */
