/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * okvm run's virtio core, free of KVM and of the transport: guest memory
 * as the devices see it, the split virtqueue (virtio 1.2 section 2.7),
 * and the small interface a device implements (struct virtio_dev_ops).
 * The PCI transport (virtio_pci.c) owns the registers; a device backend
 * (virtio_blk.c, virtio_rng.c, later vhost or qcow2-specific ones) only
 * sees queues, chains and its own config space.
 *
 * Everything the driver puts in a ring is untrusted: every address and
 * length is checked against guest memory before use, chains are bounded
 * by the queue size, and a driver that breaks a rule gets the device's
 * DEVICE_NEEDS_RESET status (section 2.1.2) and one log line, never an
 * access outside guest memory.
 */
#ifndef OKVM_RUN_VIRTIO_H
#define OKVM_RUN_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Guest RAM: at most two regions (below the PCI hole and above 4 GiB) */
struct guest_mem {
	struct {
		uint64_t gpa, size;
		uint8_t *hva;
	} r[2];
	unsigned int nr;
};

/* The host address of [gpa, gpa + len), or NULL if not all in one region */
void *gmem_at(const struct guest_mem *m, uint64_t gpa, uint64_t len);

#define VIRTQ_MAX_SIZE		256	/* the largest queue okvm offers */

/* One split virtqueue, as the driver configured it (section 2.7) */
struct virtq {
	uint16_t size;		/* a power of two, <= VIRTQ_MAX_SIZE */
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* set by virtq_start(): the rings, checked to lie in guest memory */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool event_idx, indirect;
	uint16_t last_avail;	/* the next avail entry to take */
	uint16_t used_idx;	/* the next used entry to fill */
	uint16_t signalled;	/* used_idx at the last interrupt */
	bool signalled_valid;
	pthread_mutex_t used_lock;	/* several completers may push */
};

/* One descriptor chain: the driver's buffers, readable ones first */
struct virtq_chain {
	uint16_t head;
	unsigned int nr_out;	/* readable (device reads) segments */
	unsigned int nr_in;	/* writable segments, after the readable */
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* fills vq->desc/avail/used; -1 with err set if the rings do not fit */
int virtq_start(struct virtq *vq, const struct guest_mem *m, bool event_idx,
		bool indirect, char *err, size_t errlen);
/*
 * Take the next available chain: 1 and *c filled, 0 when the ring is
 * empty, -1 when the driver broke a rule (err says which).
 */
int virtq_pop(struct virtq *vq, const struct guest_mem *m,
	      struct virtq_chain *c, char *err, size_t errlen);
/* Return a chain with @len bytes written; true if the driver wants an
 * interrupt for it (flags or used_event, section 2.7.10).
 */
bool virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* Copy between a chain's segments and a flat buffer */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip,
		  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip,
		    const void *buf, size_t len);

/* device status bits (section 2.1) */
#define VIRTIO_ACKNOWLEDGE	1
#define VIRTIO_DRIVER		2
#define VIRTIO_DRIVER_OK	4
#define VIRTIO_FEATURES_OK	8
#define VIRTIO_NEEDS_RESET	64
#define VIRTIO_FAILED		128

#define VIRTIO_MAX_QUEUES	4

struct virtio_dev;

/*
 * What a device backend implements. Locking: every callback but the
 * backend's own threads runs with dev->lock held.
 */
struct virtio_dev_ops {
	const char *name;		/* "virtio-blk": log lines */
	uint16_t device_id;		/* section 5: 1 net, 2 blk, 4 rng */
	uint32_t pci_class;		/* class, subclass, prog-if */
	unsigned int nr_queues;
	uint64_t features;		/* besides VERSION_1, ring features */
	/*
	 * @features is the whole offer, ring features included: a vhost
	 * backend offers only what its kernel device acks (vhost_dev.c)
	 */
	bool features_exact;
	size_t config_size;
	/* device config read (@off + @len <= config_size) */
	void (*config_read)(struct virtio_dev *d, unsigned int off,
			    void *data, unsigned int len);
	/* the driver set DRIVER_OK: start (0) or refuse (-1, with a log) */
	int (*start)(struct virtio_dev *d);
	/*
	 * the driver wrote queue @q's notify register; NULL: the kicks are
	 * the backend's own (a vhost worker waits on the transport's
	 * kick_fd()) and the transport's thread leaves them alone
	 */
	void (*notify)(struct virtio_dev *d, unsigned int q);
	/* reset or stop: no chain may be touched after it returns */
	void (*stop)(struct virtio_dev *d);
	void (*destroy)(struct virtio_dev *d);
};

/* What the transport offers the core and the backend */
struct virtio_transport_ops {
	void (*queue_irq)(struct virtio_dev *d, unsigned int q);
	void (*config_irq)(struct virtio_dev *d);
	/* the eventfd the driver's kicks of queue @q signal (an ioeventfd) */
	int (*kick_fd)(struct virtio_dev *d, unsigned int q);
	/*
	 * an eventfd that interrupts the driver for queue @q from the
	 * kernel (an irqfd on the queue's vector, routed to its message
	 * now and on every later change), or -1 when it has no vector
	 */
	int (*call_fd)(struct virtio_dev *d, unsigned int q);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct virtio_transport_ops *tops;
	void *priv;			/* the backend's */
	void *transport;		/* the transport's */
	const struct guest_mem *mem;
	pthread_mutex_t lock;		/* status, features, queue setup */
	uint8_t status;
	uint8_t config_generation;
	uint64_t driver_features;
	uint32_t generation;		/* bumped on every reset */
	bool failed_logged;
	struct virtq vq[VIRTIO_MAX_QUEUES];
};

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     void *priv, const struct guest_mem *mem);
uint64_t virtio_dev_features(const struct virtio_dev *d);
/* the driver's status write, dev->lock held */
void virtio_set_status(struct virtio_dev *d, uint8_t status);
/* a hostile or broken driver: DEVICE_NEEDS_RESET, a log line, an irq */
void virtio_dev_fail(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* dev->lock not held: fail from a backend thread */
void virtio_dev_fail_unlocked(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* push a chain and interrupt the driver if it wants one */
void virtio_complete(struct virtio_dev *d, unsigned int q, uint16_t head,
		     uint32_t len);
/* is the device running (DRIVER_OK, not NEEDS_RESET) in generation @gen */
bool virtio_dev_live(struct virtio_dev *d, uint32_t gen);

/* log sink: stderr, one line; tests replace it */
extern void (*virtio_log)(const char *line);

#endif
