// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost.c - the device half of okvm's vhost core: the owner (the process
 * that called VHOST_SET_OWNER, whose address space holds the rings and
 * the guest's memory), the worker threads that run the rings' handlers
 * in that address space (one for all rings, or one per ring), the polls
 * that wake them, and the ioctls
 * of <linux/vhost.h> that concern the whole device.
 *
 * Errnos follow in-tree vhost (its core in drivers/vhost): every ioctl but
 * VHOST_SET_OWNER (and the device's VHOST_GET_FEATURES) wants the owner,
 * EPERM otherwise; a second VHOST_SET_OWNER is EBUSY.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vhost.h"

void okvm_vhost_signal(struct eventfd_ctx *ctx)
{
	if (!ctx)
		return;
#ifdef OKVM_EVENTFD_SIGNAL_HAS_COUNT
	eventfd_signal(ctx, 1);
#else
	eventfd_signal(ctx);
#endif
}

/*
 * Queue ring @bit's handler on its worker; any context (a wait-queue
 * callback, a kiocb completion in interrupt context). A ring whose worker
 * is not started yet keeps the bit until the worker's first look.
 */
void okvm_vhost_queue_work(struct okvm_vhost_dev *dev, unsigned int bit)
{
	struct okvm_vhost_worker *w = dev->vqs[bit]->worker;
	struct task_struct *task;

	/* Set the bit before the wake-up: the worker tests it after it sets its state. */
	set_bit(bit, &w->pending);
	task = READ_ONCE(w->task);
	if (task)
		wake_up_process(task);
}

static int okvm_vhost_poll_wake(wait_queue_entry_t *wait, unsigned int mode,
				int sync, void *key)
{
	struct okvm_vhost_poll *p = container_of(wait, struct okvm_vhost_poll, wait);

	if (!(key_to_poll(key) & p->mask))
		return 0;
	okvm_vhost_queue_work(p->dev, p->bit);
	return 0;
}

static void okvm_vhost_poll_queue(struct file *file, wait_queue_head_t *wqh,
				  poll_table *pt)
{
	struct okvm_vhost_poll *p = container_of(pt, struct okvm_vhost_poll, table);

	p->wqh = wqh;
	add_wait_queue(wqh, &p->wait);
}

void okvm_vhost_poll_init(struct okvm_vhost_poll *p, struct okvm_vhost_dev *dev,
			  unsigned int bit, __poll_t mask)
{
	init_waitqueue_func_entry(&p->wait, okvm_vhost_poll_wake);
	init_poll_funcptr(&p->table, okvm_vhost_poll_queue);
	p->wqh = NULL;
	p->dev = dev;
	p->bit = bit;
	p->mask = mask;
}

/* The caller holds a reference on @file until okvm_vhost_poll_stop(). */
void okvm_vhost_poll_start(struct okvm_vhost_poll *p, struct file *file)
{
	__poll_t mask;

	if (p->wqh)
		return;
	mask = vfs_poll(file, &p->table);
	/* Ready already (a kick before the fd was bound): serve it now. */
	if (mask & p->mask)
		okvm_vhost_queue_work(p->dev, p->bit);
}

void okvm_vhost_poll_stop(struct okvm_vhost_poll *p)
{
	if (p->wqh) {
		remove_wait_queue(p->wqh, &p->wait);
		p->wqh = NULL;
	}
}

/*
 * The loop of a handler that serves one chain at a time (vhost-blk's
 * requests, vhost-net's transmit ring): under the ring mutex, with a
 * backend and a sound ring, take chains with the guest's kicks off; when
 * the ring is empty turn them on and look once more, so that a chain
 * added in between is not left waiting for a kick that will not come
 * (virtio 1.1 2.6.7.2, 2.6.10). Each chain goes to @serve and then to the
 * used ring. After OKVM_VHOST_BUDGET chains the ring is queued again and
 * the worker moves on; one interrupt covers the whole batch.
 */
void okvm_vq_serve(struct okvm_vq *vq, okvm_vq_chain_fn serve)
{
	struct okvm_vhost_chain c;
	unsigned int done = 0;
	long len;
	int r;

	mutex_lock(&vq->mutex);
	if (!vq->backend || vq->broken)
		goto out;
	okvm_vq_disable_notify(vq);
	for (;;) {
		r = okvm_vq_get_chain(vq, vq->iov, OKVM_VHOST_IOV_MAX, &c);
		if (r < 0)
			break;
		if (!r) {
			if (okvm_vq_enable_notify(vq)) {
				okvm_vq_disable_notify(vq);
				continue;
			}
			break;
		}
		len = serve(vq, &c);
		/* -EIOCBQUEUED: the device adds it to the used ring later */
		if (len != -EIOCBQUEUED &&
		    (len < 0 || okvm_vq_add_used(vq, c.head, len)))
			break;
		if (++done >= OKVM_VHOST_BUDGET) {
			okvm_vhost_queue_work(vq->dev, vq->index);
			break;
		}
	}
	if (done)
		okvm_vq_notify(vq);
out:
	mutex_unlock(&vq->mutex);
}

/*
 * A worker: sleeps until some bit of its ->pending is set, then runs the
 * handler of each ring whose bit it took. A handler serves at most
 * OKVM_VHOST_BUDGET chains and queues itself again when more are waiting,
 * so one busy ring cannot starve the others, and cond_resched() keeps the
 * thread from hogging its CPU.
 */
static int okvm_vhost_worker(void *data)
{
	struct okvm_vhost_worker *w = data;
	struct okvm_vhost_dev *dev = w->dev;
	unsigned long pending;
	unsigned int bit;

	kthread_use_mm(dev->mm);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		pending = xchg(&w->pending, 0);
		if (!pending) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		for_each_set_bit(bit, &pending, dev->nvqs) {
			struct okvm_vq *vq = dev->vqs[bit];

			if (vq->handle)
				vq->handle(vq);
		}
		cond_resched();
	}
	kthread_unuse_mm(dev->mm);
	return 0;
}

/* @nvqs is at most OKVM_VHOST_VQS_MAX. */
void okvm_vhost_dev_init(struct okvm_vhost_dev *dev, struct okvm_vq **vqs,
			 unsigned int nvqs, okvm_vq_handler_t *handlers,
			 bool worker_per_vq)
{
	unsigned int i;

	mutex_init(&dev->mutex);
	dev->vqs = vqs;
	dev->nvqs = nvqs;
	dev->worker_per_vq = worker_per_vq;
	for (i = 0; i < OKVM_VHOST_VQS_MAX; i++)
		dev->workers[i].dev = dev;
	for (i = 0; i < nvqs; i++) {
		struct okvm_vq *vq = vqs[i];

		vq->dev = dev;
		vq->index = i;
		vq->handle = handlers[i];
		vq->worker = &dev->workers[worker_per_vq ? i : 0];
		mutex_init(&vq->mutex);
		okvm_vhost_poll_init(&vq->kick_poll, dev, i, EPOLLIN);
		okvm_vq_reset(vq);
	}
}

int okvm_vhost_check_owner(struct okvm_vhost_dev *dev)
{
	/* As in-tree: an unowned device has no owner to match, so EPERM too. */
	return dev->mm == current->mm ? 0 : -EPERM;
}

/*
 * Start worker @w in the owner's mm, charged to the owner's cgroups as
 * in-tree vhost's (the caller is the owner).
 */
static int okvm_vhost_worker_create(struct okvm_vhost_worker *w)
{
	struct task_struct *task;
	int r;

	task = kthread_create(okvm_vhost_worker, w, "okvm-vhost-%d", current->pid);
	if (IS_ERR(task))
		return PTR_ERR(task);
	r = cgroup_attach_task_all(current, task);
	if (r) {
		kthread_stop(task);
		return r;
	}
	WRITE_ONCE(w->task, task);
	wake_up_process(task);
	return 0;
}

/*
 * The worker of a ring that has one of its own, when it gets a backend
 * (dev->mutex held, the owner checked); no-op when it runs already or the
 * ring shares workers[0].
 */
int okvm_vhost_vq_worker_start(struct okvm_vq *vq)
{
	if (vq->worker->task)
		return 0;
	return okvm_vhost_worker_create(vq->worker);
}

static long okvm_vhost_set_owner(struct okvm_vhost_dev *dev)
{
	int r;

	if (dev->mm)
		return -EBUSY;
	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;
	r = okvm_vhost_worker_create(&dev->workers[0]);
	if (r) {
		mmput(dev->mm);
		dev->mm = NULL;
	}
	return r;
}

/* Stop the kick polls: no new work after this (the backends stop theirs). */
void okvm_vhost_dev_stop(struct okvm_vhost_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nvqs; i++)
		okvm_vhost_poll_stop(&dev->vqs[i]->kick_poll);
}

/*
 * Back to the state of a fresh open (VHOST_RESET_OWNER, release): the
 * backends are detached (nothing in flight) and the polls stopped by the
 * caller; this stops the workers (kthread_stop() waits for the handler
 * one may be in) and
 * drops every reference the device holds.
 */
void okvm_vhost_dev_cleanup(struct okvm_vhost_dev *dev)
{
	unsigned int i;

	okvm_vhost_dev_stop(dev);
	for (i = 0; i < OKVM_VHOST_VQS_MAX; i++) {
		struct okvm_vhost_worker *w = &dev->workers[i];

		if (w->task) {
			kthread_stop(w->task);
			WRITE_ONCE(w->task, NULL);
		}
		w->pending = 0;
	}
	for (i = 0; i < dev->nvqs; i++) {
		struct okvm_vq *vq = dev->vqs[i];

		if (vq->kick)
			fput(vq->kick);
		if (vq->call)
			eventfd_ctx_put(vq->call);
		if (vq->err)
			eventfd_ctx_put(vq->err);
		okvm_vq_reset(vq);
	}
	if (dev->log_ctx)
		eventfd_ctx_put(dev->log_ctx);
	dev->log_ctx = NULL;
	dev->log_base = NULL;
	kvfree(dev->mem);
	dev->mem = NULL;
	dev->features = 0;
	if (dev->mm)
		mmput(dev->mm);
	dev->mm = NULL;
}

/*
 * VHOST_RESET_OWNER's core, once the device detached its backends: the
 * device as after open(), but with an empty memory table rather than
 * none, as in-tree leaves it (so a ring may then get a backend before
 * any VHOST_SET_MEM_TABLE, as there). The table is allocated first: ENOMEM
 * leaves everything as it was.
 */
struct okvm_vhost_mem *okvm_vhost_reset_prepare(void)
{
	return kvzalloc(sizeof(struct okvm_vhost_mem), GFP_KERNEL_ACCOUNT);
}

void okvm_vhost_dev_reset_owner(struct okvm_vhost_dev *dev,
				struct okvm_vhost_mem *empty)
{
	unsigned int i;

	okvm_vhost_dev_cleanup(dev);
	dev->mem = empty;
	for (i = 0; i < dev->nvqs; i++)
		dev->vqs[i]->mem = empty;
}

/*
 * VHOST_SET_FEATURES after the device checked the bits it knows: with
 * VHOST_F_LOG_ALL every region must be loggable (EFAULT otherwise, as
 * in-tree's vhost_log_access_ok()).
 */
int okvm_vhost_set_features(struct okvm_vhost_dev *dev, u64 features)
{
	unsigned int i;

	mutex_lock(&dev->mutex);
	if ((features & (1ULL << VHOST_F_LOG_ALL)) && dev->mem) {
		for (i = 0; i < dev->nvqs; i++) {
			struct okvm_vq *vq = dev->vqs[i];
			bool ok;

			mutex_lock(&vq->mutex);
			ok = !vq->backend ||
			     okvm_vhost_mem_access_ok(dev->mem, vq->log_base, true);
			mutex_unlock(&vq->mutex);
			if (!ok) {
				mutex_unlock(&dev->mutex);
				return -EFAULT;
			}
		}
	}
	dev->features = features;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->features = features;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	mutex_unlock(&dev->mutex);
	return 0;
}

static long okvm_vhost_set_log_base(struct okvm_vhost_dev *dev, u64 __user *argp)
{
	void __user *base;
	unsigned int i;
	long r = 0;
	u64 p;

	if (copy_from_user(&p, argp, sizeof(p)))
		return -EFAULT;
	if ((u64)(unsigned long)p != p)
		return -EFAULT;
	base = (void __user *)(unsigned long)p;
	for (i = 0; i < dev->nvqs; i++) {
		struct okvm_vq *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		/* A ring without a backend is checked when it gets one. */
		if (vq->backend && okvm_vq_has(vq, VHOST_F_LOG_ALL) &&
		    !okvm_vhost_mem_access_ok(vq->mem, base, true))
			r = -EFAULT;
		else
			vq->log_base = base;
		mutex_unlock(&vq->mutex);
	}
	if (!r)
		dev->log_base = base;
	return r;
}

static long okvm_vhost_set_log_fd(struct okvm_vhost_dev *dev, int __user *argp)
{
	struct eventfd_ctx *ctx;
	unsigned int i;
	int fd;

	if (get_user(fd, argp))
		return -EFAULT;
	ctx = fd == VHOST_FILE_UNBIND ? NULL : eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	swap(ctx, dev->log_ctx);
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->log_ctx = dev->log_ctx;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

/*
 * The generic ioctls, with dev->mutex held by the caller. VHOST_SET_OWNER,
 * then the owner check, then the device-wide ones and the ring ones;
 * -ENOIOCTLCMD for the rest (the device answers ENOTTY).
 */
long okvm_vhost_dev_ioctl(struct okvm_vhost_dev *dev, unsigned int ioctl,
			  void __user *argp)
{
	long r;

	if (ioctl == VHOST_SET_OWNER)
		return okvm_vhost_set_owner(dev);
	r = okvm_vhost_check_owner(dev);
	if (r)
		return r;
	switch (ioctl) {
	case VHOST_SET_MEM_TABLE:
		return okvm_vhost_set_mem_table(dev, argp);
	case VHOST_SET_LOG_BASE:
		return okvm_vhost_set_log_base(dev, argp);
	case VHOST_SET_LOG_FD:
		return okvm_vhost_set_log_fd(dev, argp);
	default:
		return okvm_vhost_vring_ioctl(dev, ioctl, argp);
	}
}

static int __init okvm_vhost_init(void)
{
	int r;

	r = okvm_vhost_net_init();
	if (r)
		return r;
	r = okvm_vhost_blk_init();
	if (r)
		okvm_vhost_net_exit();
	return r;
}

static void __exit okvm_vhost_exit(void)
{
	okvm_vhost_blk_exit();
	okvm_vhost_net_exit();
}

module_init(okvm_vhost_init);
module_exit(okvm_vhost_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("okvm's in-kernel virtio backends: vhost-net and vhost-blk");
