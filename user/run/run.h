/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * okvm run's VM: the KVM file descriptors, the vCPU threads and the
 * user-space devices they call into on port I/O exits.
 */
#ifndef OKVM_RUN_RUN_H
#define OKVM_RUN_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "layout.h"
#include "pci.h"
#include "virtio.h"

/* exit statuses, okvm run --help */
#define RUN_EXIT_OK		0
#define RUN_EXIT_CRASH		1
#define RUN_EXIT_SETUP		2
#define RUN_EXIT_ESCAPE		3

#define BOOT_TIMER_PORT		0x3f0
#define RUN_MAX_VIRTIO		(RUN_MAX_DISKS + RUN_MAX_NETS + 1)
#define RUN_MAX_MSI		(RUN_MAX_VIRTIO * (VIRTIO_MAX_QUEUES + 1))

struct vm;

/*
 * 8250/16550A UART on COM1. Locking: @lock guards every field below it;
 * vCPU threads take it on port I/O, the input thread to queue bytes.
 */
struct uart {
	struct vm *vm;
	int out_fd;
	int irq;
	pthread_mutex_t lock;
	pthread_cond_t room;	/* the guest read from a full RX FIFO */
	uint8_t ier, lcr, mcr, lsr_extra, scr, dll, dlm, fcr;
	bool thr_ipending;
	bool irq_level;
	uint8_t rx[256];
	unsigned int rx_head, rx_len;
};

/* MC146818 CMOS RTC. Locking: @lock guards the registers and @offset. */
struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
	int64_t offset;		/* guest time - host time, seconds */
};

struct virtio_pci;

struct vm {
	int dev_fd, vm_fd;
	const char *dev;
	unsigned int nr_vcpus;
	uint64_t mem_size;
	uint8_t *ram_low, *ram_high;
	struct guest_mem mem;
	struct pci_bus pci;
	struct virtio_pci *virtio[RUN_MAX_VIRTIO];
	unsigned int nr_virtio;
	/* Locking: @route_lock guards @msi and @nr_msi (irq_route.c). */
	pthread_mutex_t route_lock;
	struct {
		int gsi;
		uint64_t addr;
		uint32_t data;
	} msi[RUN_MAX_MSI];
	unsigned int nr_msi;
	struct kvm_run_vcpu *vcpus;
	struct uart uart;
	struct rtc rtc;
	uint64_t start_ns;
	uint16_t pm1_en;	/* ACPI PM1a enable; its bits never fire */
	bool boot_timer;
	bool boot_timer_done;
	/* Locking: @stop_lock guards @stopping, @exit_code, @reason. */
	pthread_mutex_t stop_lock;
	bool stopping;
	int exit_code;
	char reason[256];
	int stop_efd;		/* eventfd: the main thread wakes on a stop */
};

void vm_request_stop(struct vm *vm, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_stopping(struct vm *vm);
void vm_irq_line(struct vm *vm, int irq, int level);
uint64_t now_ns(void);

void uart_init(struct uart *u, struct vm *vm, int out_fd, int irq);
void uart_io(struct uart *u, unsigned int off, bool write, uint8_t *val);
/* queue input bytes; returns how many fitted */
unsigned int uart_rx(struct uart *u, const uint8_t *buf, unsigned int len);
void uart_wait_room(struct uart *u);
void uart_wake(struct uart *u);

void rtc_init(struct rtc *r);
void rtc_io(struct rtc *r, unsigned int port, bool write, uint8_t *val);

/* every other legacy port: ACPI PM, i8042, port 0x80, the boot timer */
bool legacy_io(struct vm *vm, uint16_t port, unsigned int size, bool write,
	       uint8_t *data);

/* GSI routing (irq_route.c): a GSI for an MSI, and where it goes */
int vm_gsi_alloc(struct vm *vm);
int vm_msi_route(struct vm *vm, int gsi, uint64_t addr, uint32_t data);

/* the virtio devices; -1 with err set when they cannot be added */
int virtio_rng_add(struct vm *vm, char *err, size_t errlen);
struct blk;
/* a disk's image, opened before the VM exists (the user's files first) */
int virtio_blk_open(const struct disk_opt *o, struct blk **b, char *err,
		    size_t errlen);
/* owns @b from now on */
int virtio_blk_add(struct vm *vm, struct blk *b, const struct disk_opt *o,
		   char *err, size_t errlen);

/* the same served by a vhost device in the kernel, o->vhost (vhost_dev.c) */
int vhost_blk_add(struct vm *vm, struct blk *b, const struct disk_opt *o,
		  char *err, size_t errlen);
int vhost_net_add(struct vm *vm, const struct net_opt *o, unsigned int i,
		  char *err, size_t errlen);

/* virtio-net card @i on a tap (virtio_net.c); the tap's link (net_tap.c) */
int virtio_net_add(struct vm *vm, const struct net_opt *o, unsigned int i,
		   char *err, size_t errlen);
/* a new tap for -n @o; its fd, its name in @ifname (IFNAMSIZ bytes) */
int net_tap_open(const struct net_opt *o, char *ifname, char *err,
		 size_t errlen);
int net_tap_up(const char *ifname, const char *bridge, char *err,
	       size_t errlen);

/* the host terminal */
void term_raw(void);
void term_restore(void);
const char *term_nl(void);

#endif
