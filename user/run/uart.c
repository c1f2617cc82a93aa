// SPDX-License-Identifier: GPL-2.0-only
/*
 * An 8250/16550A UART on COM1 (ports 0x3f8-0x3ff, IRQ 4): the guest's
 * console. Transmit is immediate (every byte goes to the host's stdout
 * as it is written), so the transmitter is always empty; receive has a
 * FIFO the input thread fills. Register meanings: the National
 * Semiconductor PC16550D data sheet.
 */
#include <errno.h>
#include <unistd.h>

#include "run.h"

#define UART_RX		0	/* RBR / THR, DLL with DLAB */
#define UART_IER	1	/* DLM with DLAB */
#define UART_IIR	2	/* FCR on write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

void uart_init(struct uart *u, struct vm *vm, int out_fd, int irq)
{
	u->vm = vm;
	u->out_fd = out_fd;
	u->irq = irq;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->room, NULL);
}

/* called with u->lock held */
static uint8_t iir(struct uart *u)
{
	uint8_t fifo = u->fcr & FCR_ENABLE ? IIR_FIFO : 0;

	if ((u->ier & IER_RLSI) && (u->lsr_extra & LSR_OE))
		return fifo | IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_len)
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* called with u->lock held: the line follows the pending interrupts */
static void update_irq(struct uart *u)
{
	bool level = !(iir(u) & IIR_NO_INT);

	if (level != u->irq_level) {
		u->irq_level = level;
		vm_irq_line(u->vm, u->irq, level);
	}
}

static void transmit(struct uart *u, uint8_t c)
{
	ssize_t n;

	if (u->mcr & MCR_LOOP) {
		if (u->rx_len < sizeof(u->rx))
			u->rx[(u->rx_head + u->rx_len++) % sizeof(u->rx)] = c;
		return;
	}
	/* a closed pipe or full disk must not stop the guest: drop */
	do {
		n = write(u->out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
}

static uint8_t msr(struct uart *u)
{
	uint8_t m = u->mcr;

	/* loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
	if (m & MCR_LOOP)
		return (m & 0x01) << 5 | (m & 0x02) << 3 | (m & 0x04) << 4 |
		       (m & 0x08) << 4;
	return 0xb0;		/* DCD, DSR, CTS: a cable is always there */
}

void uart_io(struct uart *u, unsigned int off, bool write, uint8_t *val)
{
	bool dlab;

	pthread_mutex_lock(&u->lock);
	dlab = u->lcr & LCR_DLAB;
	if (write) {
		switch (off) {
		case UART_RX:
			if (dlab) {
				u->dll = *val;
				break;
			}
			transmit(u, *val);
			/* sent at once: the holding register is empty again */
			u->thr_ipending = true;
			break;
		case UART_IER:
			if (dlab) {
				u->dlm = *val;
				break;
			}
			if (!(u->ier & IER_THRI) && (*val & IER_THRI))
				u->thr_ipending = true;
			u->ier = *val & 0x0f;
			break;
		case UART_IIR:
			u->fcr = *val & (FCR_ENABLE | 0xc0);
			if (*val & FCR_CLEAR_RX) {
				u->rx_len = 0;
				pthread_cond_broadcast(&u->room);
			}
			break;
		case UART_LCR:
			u->lcr = *val;
			break;
		case UART_MCR:
			u->mcr = *val & 0x1f;
			break;
		case UART_SCR:
			u->scr = *val;
			break;
		}
	} else {
		switch (off) {
		case UART_RX:
			if (dlab) {
				*val = u->dll;
				break;
			}
			*val = 0;
			if (u->rx_len) {
				*val = u->rx[u->rx_head];
				u->rx_head = (u->rx_head + 1) % sizeof(u->rx);
				if (u->rx_len-- == sizeof(u->rx))
					pthread_cond_broadcast(&u->room);
			}
			break;
		case UART_IER:
			*val = dlab ? u->dlm : u->ier;
			break;
		case UART_IIR:
			*val = iir(u);
			/* reading IIR acknowledges a THRE interrupt (8.6.3) */
			if ((*val & 0x0f) == IIR_THRI)
				u->thr_ipending = false;
			break;
		case UART_LCR:
			*val = u->lcr;
			break;
		case UART_MCR:
			*val = u->mcr;
			break;
		case UART_LSR:
			*val = LSR_THRE | LSR_TEMT | u->lsr_extra |
			       (u->rx_len ? LSR_DR : 0);
			u->lsr_extra = 0;	/* OE clears on read */
			break;
		case UART_MSR:
			*val = msr(u);
			break;
		case UART_SCR:
			*val = u->scr;
			break;
		}
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

unsigned int uart_rx(struct uart *u, const uint8_t *buf, unsigned int len)
{
	unsigned int n = 0;

	pthread_mutex_lock(&u->lock);
	while (n < len && u->rx_len < sizeof(u->rx)) {
		u->rx[(u->rx_head + u->rx_len) % sizeof(u->rx)] = buf[n++];
		u->rx_len++;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

/* the input thread waits here while the FIFO is full */
void uart_wait_room(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	while (u->rx_len == sizeof(u->rx) && !vm_stopping(u->vm))
		pthread_cond_wait(&u->room, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

void uart_wake(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	pthread_cond_broadcast(&u->room);
	pthread_mutex_unlock(&u->lock);
}
