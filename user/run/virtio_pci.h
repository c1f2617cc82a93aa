/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Modern virtio-pci (virtio 1.2 section 4.1): a virtio device as a PCI
 * function on okvm run's bus, MSI-X through irqfds and queue kicks
 * through ioeventfds.
 */
#ifndef OKVM_RUN_VIRTIO_PCI_H
#define OKVM_RUN_VIRTIO_PCI_H

#include <stddef.h>

#include "virtio.h"

struct vm;
struct virtio_pci;

/*
 * A device with @ops and the backend's @priv, which it owns from now on
 * (ops->destroy frees it, also when this fails). -1 and err on failure.
 */
int virtio_pci_add(struct vm *vm, const struct virtio_dev_ops *ops,
		   void *priv, char *err, size_t errlen);
/* the device core of @vp, for a backend with threads of its own */
struct virtio_dev *virtio_pci_dev(struct virtio_pci *vp);
/* every vCPU stopped: stop the device, its threads, and free it */
void virtio_pci_destroy(struct virtio_pci *vp);

#endif
