// SPDX-License-Identifier: GPL-2.0-only
/*
 * The legacy devices Debian's kernel looks for, in user space: the CMOS
 * RTC (MC146818), the ACPI fixed hardware the FADT describes (PM1a event
 * and control blocks, the PM timer), the i8042's reset line, the POST
 * port 0x80 and the --boot-timer port. The PIT, PICs, I/O APIC and local
 * APICs are KVM's in-kernel ones (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "run.h"

#define RTC_SEC		0x00
#define RTC_MIN		0x02
#define RTC_HOUR	0x04
#define RTC_WDAY	0x06
#define RTC_MDAY	0x07
#define RTC_MON		0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32	/* the FADT's CENTURY field */
#define RTC_B_SET	0x80
#define RTC_B_BIN	0x04
#define RTC_B_24H	0x02

void rtc_init(struct rtc *r)
{
	pthread_mutex_init(&r->lock, NULL);
	r->ram[RTC_REG_A] = 0x26;	/* 32.768 kHz base, 1024 Hz rate */
	r->ram[RTC_REG_B] = RTC_B_24H;	/* BCD, 24-hour: what PCs do */
	r->ram[RTC_REG_D] = 0x80;	/* VRT: the battery is good */
}

static uint8_t to_reg(struct rtc *r, int v)
{
	return r->ram[RTC_REG_B] & RTC_B_BIN ? v : (v / 10) << 4 | v % 10;
}

static int from_reg(struct rtc *r, uint8_t v)
{
	return r->ram[RTC_REG_B] & RTC_B_BIN ? v : (v >> 4) * 10 + (v & 15);
}

/* called with r->lock held: the clock registers from host time (UTC) */
static void rtc_latch(struct rtc *r)
{
	time_t t = time(NULL) + r->offset;
	struct tm tm;
	int hour;

	gmtime_r(&t, &tm);
	hour = tm.tm_hour;
	r->ram[RTC_SEC] = to_reg(r, tm.tm_sec);
	r->ram[RTC_MIN] = to_reg(r, tm.tm_min);
	if (r->ram[RTC_REG_B] & RTC_B_24H) {
		r->ram[RTC_HOUR] = to_reg(r, hour);
	} else {
		r->ram[RTC_HOUR] = to_reg(r, hour % 12 ? hour % 12 : 12) |
				   (hour >= 12 ? 0x80 : 0);
	}
	r->ram[RTC_WDAY] = to_reg(r, tm.tm_wday + 1);
	r->ram[RTC_MDAY] = to_reg(r, tm.tm_mday);
	r->ram[RTC_MON] = to_reg(r, tm.tm_mon + 1);
	r->ram[RTC_YEAR] = to_reg(r, tm.tm_year % 100);
	r->ram[RTC_CENTURY] = to_reg(r, (tm.tm_year + 1900) / 100);
}

/* called with r->lock held: the guest set the clock (SET cleared) */
static void rtc_commit(struct rtc *r)
{
	struct tm tm = { 0 };
	int hour = from_reg(r, r->ram[RTC_HOUR] & 0x7f);

	if (!(r->ram[RTC_REG_B] & RTC_B_24H)) {
		hour %= 12;
		if (r->ram[RTC_HOUR] & 0x80)
			hour += 12;
	}
	tm.tm_sec = from_reg(r, r->ram[RTC_SEC]);
	tm.tm_min = from_reg(r, r->ram[RTC_MIN]);
	tm.tm_hour = hour;
	tm.tm_mday = from_reg(r, r->ram[RTC_MDAY]);
	tm.tm_mon = from_reg(r, r->ram[RTC_MON]) - 1;
	tm.tm_year = from_reg(r, r->ram[RTC_CENTURY]) * 100 +
		     from_reg(r, r->ram[RTC_YEAR]) - 1900;
	r->offset = (int64_t)timegm(&tm) - time(NULL);
}

void rtc_io(struct rtc *r, unsigned int port, bool write, uint8_t *val)
{
	uint8_t idx;

	pthread_mutex_lock(&r->lock);
	if (port == 0x70) {
		/* bit 7 masks NMIs on a PC; the index is the low 7 bits */
		if (write)
			r->index = *val & 0x7f;
		else
			*val = 0xff;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	idx = r->index;
	if (write) {
		switch (idx) {
		case RTC_REG_B:
			if ((r->ram[idx] & RTC_B_SET) && !(*val & RTC_B_SET)) {
				r->ram[idx] = *val;
				rtc_commit(r);
			}
			r->ram[idx] = *val;
			break;
		case RTC_REG_A:		/* UIP is read-only */
			r->ram[idx] = (*val & 0x7f);
			break;
		case RTC_REG_C:
		case RTC_REG_D:		/* read-only */
			break;
		default:
			r->ram[idx] = *val;
		}
	} else {
		/* no update cycle is ever in progress: UIP stays clear */
		if (idx <= RTC_YEAR || idx == RTC_CENTURY) {
			if (!(r->ram[RTC_REG_B] & RTC_B_SET))
				rtc_latch(r);
		}
		*val = r->ram[idx];
		if (idx == RTC_REG_C)
			r->ram[idx] = 0;	/* flags clear on read */
	}
	pthread_mutex_unlock(&r->lock);
}

/* the ACPI PM timer: 3.579545 MHz, 24 bits (ACPI 6.4 4.8.3.3) */
static uint32_t pm_timer(struct vm *vm)
{
	uint64_t ns = now_ns() - vm->start_ns;

	return (uint32_t)((__uint128_t)ns * 3579545 / 1000000000) & 0xffffff;
}

static void put_le(uint8_t *data, unsigned int size, uint32_t v)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		data[i] = v >> (8 * i);
}

static uint32_t get_le(const uint8_t *data, unsigned int size)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < size; i++)
		v |= (uint32_t)data[i] << (8 * i);
	return v;
}

bool legacy_io(struct vm *vm, uint16_t port, unsigned int size, bool write,
	       uint8_t *data)
{
	uint32_t v;

	switch (port) {
	case 0x3f8 ... 0x3ff:
		uart_io(&vm->uart, port - 0x3f8, write, data);
		return true;
	case 0x70 ... 0x71:
		rtc_io(&vm->rtc, port, write, data);
		return true;
	case 0x64:
		/*
		 * The i8042 command port: 0xfe pulses the reset line, Linux's
		 * reboot=k path (and its fallback after ACPI). Status reads 0:
		 * both buffers empty, so kb_wait() returns at once.
		 */
		if (write && data[0] == 0xfe)
			vm_request_stop(vm, RUN_EXIT_OK, "the guest rebooted");
		else if (!write)
			data[0] = 0;
		return true;
	case ACPI_PM1A_EVT ... ACPI_PM1A_EVT + 1:
		/* status: no fixed event ever fires; write-1-to-clear */
		if (!write)
			memset(data, 0, size);
		return true;
	case ACPI_PM1A_EVT + 2 ... ACPI_PM1A_EVT + 3:
		/* enable: ACPICA reads back what it enabled (4.8.4.1.2) */
		if (port == ACPI_PM1A_EVT + 2 && write)
			__atomic_store_n(&vm->pm1_en, get_le(data, size),
					 __ATOMIC_RELAXED);
		else if (port == ACPI_PM1A_EVT + 2)
			put_le(data, size, __atomic_load_n(&vm->pm1_en,
							   __ATOMIC_RELAXED));
		else if (!write)
			memset(data, 0, size);
		return true;
	case ACPI_PM1A_CNT ... ACPI_PM1A_CNT + 1:
		if (!write) {
			/* SCI_EN: always in ACPI mode (FADT SMI_CMD is 0) */
			put_le(data, size, port == ACPI_PM1A_CNT ? 1 : 0);
			return true;
		}
		v = get_le(data, size);
		if (port == ACPI_PM1A_CNT && size == 2 && (v & ACPI_SLP_EN) &&
		    ((v >> ACPI_SLP_TYP_SHIFT) & 7) == ACPI_S5_TYP)
			vm_request_stop(vm, RUN_EXIT_OK, "the guest powered off");
		return true;
	case ACPI_PM_TMR ... ACPI_PM_TMR + 3:
		if (!write)
			put_le(data, size,
			       pm_timer(vm) >> (8 * (port - ACPI_PM_TMR)));
		return true;
	case 0x80:	/* POST codes and I/O delays */
		if (!write)
			data[0] = 0xff;
		return true;
	case BOOT_TIMER_PORT:
		if (write && vm->boot_timer &&
		    !__atomic_exchange_n(&vm->boot_timer_done, true,
					 __ATOMIC_RELAXED)) {
			fprintf(stderr, "okvm run: boot timer: %.3f s from start to the guest's write to port %#x%s",
				(now_ns() - vm->start_ns) / 1e9, BOOT_TIMER_PORT,
				term_nl());
		} else if (!write) {
			data[0] = 0xff;
		}
		return true;
	}
	return false;
}
