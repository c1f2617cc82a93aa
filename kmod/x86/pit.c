// SPDX-License-Identifier: GPL-2.0-only
/*
 * pit.c - the 8254 programmable interval timer as KVM's i8254 models it:
 * three 16-bit counters at ports 0x40-0x43 and, with KVM_PIT_SPEAKER_DUMMY,
 * the channel 2 gate and output at port 0x61. Channel 0 ticks on an
 * hrtimer and raises GSI 0 (x86/irq.h).
 *
 * Counts are not stepped: a counter's value is computed from the time its
 * count was loaded (channels 1 and 2) or from the hrtimer (channel 0), at
 * KVM's 1193181 Hz. As in KVM, the BCD bit is stored and read back in the
 * status byte but counting is binary, and a gate only restarts modes 1, 2,
 * 3 and 5 on its rising edge (8254 data sheet, "Gate").
 *
 * Missed ticks: with reinjection on (the default, KVM_REINJECT_CONTROL),
 * the timer counts expirations the guest has not acknowledged yet and
 * raises GSI 0 again for each one when the guest EOIs the previous
 * (an ack notifier), so a guest that counts ticks does not lose time while
 * its vCPU is descheduled. With it off, a tick that finds the previous one
 * unacknowledged is simply raised again (coalesced by the controllers).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/kvm.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "irq.h"
#include "x86.h"

#define OKVM_PIT_BASE		0x40
#define OKVM_PIT_PORTS		4
#define OKVM_SPEAKER_PORT	0x61
#define OKVM_SPEAKER_PORTS	4	/* KVM's device covers 0x61-0x64 */
#define OKVM_PIT_FREQ		1193181	/* Hz, as KVM and the PC */

/*
 * The shortest period a guest may program (KVM's min_timer_period_us):
 * hrtimers are not throttled by the scheduler, so a period of a few
 * nanoseconds would keep a host CPU in the timer interrupt.
 */
#define OKVM_PIT_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

/* read_state / write_state / rw_mode (control word bits 5:4). */
#define OKVM_RW_LSB		1
#define OKVM_RW_MSB		2
#define OKVM_RW_WORD0		3	/* LSB next, then MSB */
#define OKVM_RW_WORD1		4	/* MSB next */

/*
 * struct okvm_pit - one VM's 8254.
 *
 * Locking: @lock (a mutex: port accesses come from vCPU threads in process
 * context) guards @state, @period and @periodic, and serializes arming and
 * cancelling @timer. The hrtimer callback, the work and the ack notifier
 * take no lock: they use only the atomics and the values @lock's holder
 * set before arming the timer (the holder cancels the timer and flushes
 * the work before changing them).
 *
 * @state is KVM_GET_PIT2's struct: channels[] as the 8254 holds them, with
 * count_load_time in ktime nanoseconds, and the KVM_PIT_FLAGS_* @flags.
 */
struct okvm_pit {
	struct okvm_vm *vm;
	bool speaker;			/* KVM_PIT_SPEAKER_DUMMY: port 0x61 */

	struct mutex lock;		/* see above */
	struct kvm_pit_state2 state;
	s64 period;			/* ns; 0: channel 0 is not counting */
	bool periodic;			/* modes 2 and 3 */
	struct hrtimer timer;		/* channel 0 */

	struct work_struct expired;	/* raises GSI 0 */
	atomic_t reinject;		/* KVM_REINJECT_CONTROL */
	atomic_t pending;		/* expirations not yet acknowledged */
	atomic_t irq_ack;		/* the last one raised was acknowledged */
	struct okvm_irq_ack_notifier ack;
};

static u32 okvm_mod(u64 a, u32 b)
{
	u32 rem;

	div_u64_rem(a, b, &rem);
	return rem;
}

/* Nanoseconds channel @ch has been counting since its count was loaded. */
static s64 okvm_pit_elapsed(struct okvm_pit *pit, int ch)
{
	if (ch == 0) {
		/*
		 * Channel 0's count starts with the timer: the time since is
		 * the period minus what is left of it. A one-shot timer that
		 * expired has a negative remainder, and the counter wraps on.
		 */
		if (!pit->period)
			return 0;
		return pit->period - ktime_to_ns(hrtimer_get_remaining(&pit->timer));
	}
	return ktime_get_ns() - pit->state.channels[ch].count_load_time;
}

/* Input clock pulses since the count was loaded. */
static u64 okvm_pit_ticks(struct okvm_pit *pit, int ch)
{
	s64 ns = okvm_pit_elapsed(pit, ch);

	return ns > 0 ? mul_u64_u32_div(ns, OKVM_PIT_FREQ, NSEC_PER_SEC) : 0;
}

/* The counting element (8254 data sheet, "Operation" of each mode). */
static u16 okvm_pit_count(struct okvm_pit *pit, int ch)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];
	u64 d = okvm_pit_ticks(pit, ch);

	switch (c->mode) {
	case 0:
	case 1:
	case 4:
	case 5:
		/* Counts down through 0 and wraps to 0xffff. */
		return (c->count - d) & 0xffff;
	case 3:
		/* Square wave: the counter moves by two per clock. */
		return c->count - okvm_mod(2 * d, c->count);
	default:
		/* Mode 2, and the reset state 0xff: reload at 1. */
		return c->count - okvm_mod(d, c->count);
	}
}

/* The OUT pin of channel @ch. */
static int okvm_pit_out(struct okvm_pit *pit, int ch)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];
	u64 d = okvm_pit_ticks(pit, ch);

	switch (c->mode) {
	default:
	case 0:		/* interrupt on terminal count: high from 0 on */
		return d >= c->count;
	case 1:		/* one-shot: low while counting */
		return d < c->count;
	case 2:		/* rate generator: one clock low at each reload */
		return okvm_mod(d, c->count) == 0 && d;
	case 3:		/* square wave: high the first half */
		return okvm_mod(d, c->count) < (c->count + 1) >> 1;
	case 4:
	case 5:		/* strobes: one clock at terminal count */
		return d == c->count;
	}
}

/* Control word counter latch (access 00) and read-back's count bit. */
static void okvm_pit_latch_count(struct okvm_pit *pit, int ch)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];

	/* A second latch before the first is read is ignored (8254). */
	if (!c->count_latched) {
		c->latched_count = okvm_pit_count(pit, ch);
		c->count_latched = c->rw_mode;
	}
}

/* Read-back's status bit: OUT, access, mode and BCD (8254, "Status Byte"). */
static void okvm_pit_latch_status(struct okvm_pit *pit, int ch)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];

	/* Null count (bit 6) reads 0, as in KVM. */
	if (!c->status_latched) {
		c->status = okvm_pit_out(pit, ch) << 7 | c->rw_mode << 4 |
			    c->mode << 1 | c->bcd;
		c->status_latched = 1;
	}
}

static void okvm_pit_reset_reinject(struct okvm_pit *pit)
{
	atomic_set(&pit->pending, 0);
	atomic_set(&pit->irq_ack, 1);
}

static void okvm_pit_stop_timer(struct okvm_pit *pit)
{
	hrtimer_cancel(&pit->timer);
	flush_work(&pit->expired);
}

/*
 * Arm channel 0 for @count clocks: the first expiry is @count clocks away,
 * the following ones (modes 2 and 3) one period apart, where the period is
 * at least OKVM_PIT_MIN_PERIOD_NS.
 */
static void okvm_pit_start_timer(struct okvm_pit *pit, u32 count, bool periodic)
{
	s64 interval = mul_u64_u32_div(count, NSEC_PER_SEC, OKVM_PIT_FREQ);

	/* With the HPET in legacy mode the HPET drives IRQ 0, not the PIT. */
	if (pit->state.flags & KVM_PIT_FLAGS_HPET_LEGACY)
		return;

	okvm_pit_stop_timer(pit);
	pit->period = interval;
	pit->periodic = periodic;
	okvm_pit_reset_reinject(pit);
	if (periodic && pit->period < OKVM_PIT_MIN_PERIOD_NS) {
		okvm_vm_warn(pit->vm, "PIT period %lld ns raised to %lu ns\n",
			     pit->period, OKVM_PIT_MIN_PERIOD_NS);
		pit->period = OKVM_PIT_MIN_PERIOD_NS;
	}
	hrtimer_start(&pit->timer, ktime_add_ns(ktime_get(), interval),
		      HRTIMER_MODE_ABS);
}

/*
 * Load @val into channel @ch: 0 means 0x10000 (binary; KVM counts BCD in
 * binary too). Channel 0 starts its timer in modes 0-4 and stops it in
 * mode 5 (its gate is tied high on a PC, so mode 5 never triggers) and in
 * the reset state.
 */
static void okvm_pit_load_count(struct okvm_pit *pit, int ch, u32 val)
{
	if (!val)
		val = 0x10000;
	pit->state.channels[ch].count = val;
	if (ch) {
		pit->state.channels[ch].count_load_time = ktime_get_ns();
		return;
	}
	switch (pit->state.channels[0].mode) {
	case 0:
	case 1:
	case 4:
		okvm_pit_start_timer(pit, val, false);
		break;
	case 2:
	case 3:
		okvm_pit_start_timer(pit, val, true);
		break;
	default:
		okvm_pit_stop_timer(pit);
		break;
	}
}

/* Gate input of channel @ch (only channel 2's is wired, to port 0x61). */
static void okvm_pit_set_gate(struct okvm_pit *pit, int ch, u8 val)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];

	switch (c->mode) {
	case 1:
	case 2:
	case 3:
	case 5:
		/* A rising edge (re)starts the count. */
		if (c->gate < val)
			c->count_load_time = ktime_get_ns();
		break;
	default:
		break;
	}
	c->gate = val;
}

static void okvm_pit_write(struct okvm_pit *pit, unsigned int reg, u8 val)
{
	struct kvm_pit_channel_state *c;
	int ch;

	if (reg == 3) {
		ch = val >> 6;
		if (ch == 3) {
			/* Read-back: bits 3:1 pick channels, 5/4 are active low. */
			for (ch = 0; ch < 3; ch++) {
				if (!(val & (2 << ch)))
					continue;
				if (!(val & 0x20))
					okvm_pit_latch_count(pit, ch);
				if (!(val & 0x10))
					okvm_pit_latch_status(pit, ch);
			}
			return;
		}
		c = &pit->state.channels[ch];
		if (!((val >> 4) & 3)) {
			okvm_pit_latch_count(pit, ch);
			return;
		}
		c->rw_mode = (val >> 4) & 3;
		c->read_state = c->rw_mode;
		c->write_state = c->rw_mode;
		/* Modes 6 and 7 are 2 and 3 (8254, "Control Word Format"). */
		c->mode = (val >> 1) & 7;
		if (c->mode > 5)
			c->mode -= 4;
		c->bcd = val & 1;
		return;
	}

	c = &pit->state.channels[reg];
	switch (c->write_state) {
	default:
	case OKVM_RW_LSB:
		okvm_pit_load_count(pit, reg, val);
		break;
	case OKVM_RW_MSB:
		okvm_pit_load_count(pit, reg, val << 8);
		break;
	case OKVM_RW_WORD0:
		c->write_latch = val;
		c->write_state = OKVM_RW_WORD1;
		break;
	case OKVM_RW_WORD1:
		okvm_pit_load_count(pit, reg, c->write_latch | val << 8);
		c->write_state = OKVM_RW_WORD0;
		break;
	}
}

static u8 okvm_pit_read(struct okvm_pit *pit, unsigned int reg)
{
	struct kvm_pit_channel_state *c;
	u16 count;

	/* The control word register cannot be read. */
	if (reg == 3)
		return 0;
	c = &pit->state.channels[reg];
	/* A latched status comes first, then a latched count. */
	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	switch (c->count_latched) {
	case 0:
		break;
	case OKVM_RW_MSB:
		c->count_latched = 0;
		return c->latched_count >> 8;
	case OKVM_RW_WORD0:
		c->count_latched = OKVM_RW_MSB;
		return c->latched_count;
	default:
		c->count_latched = 0;
		return c->latched_count;
	}
	count = okvm_pit_count(pit, reg);
	switch (c->read_state) {
	case OKVM_RW_MSB:
		return count >> 8;
	case OKVM_RW_WORD0:
		c->read_state = OKVM_RW_WORD1;
		return count;
	case OKVM_RW_WORD1:
		c->read_state = OKVM_RW_WORD0;
		return count >> 8;
	default:
		return count;
	}
}

/*
 * Port 0x61 (PC/AT "port B"): bit 0 gates channel 2, bit 1 enables the
 * speaker; reads add channel 2's OUT (bit 5) and the refresh toggle
 * (bit 4), which KVM approximates with a 2^14 ns period.
 */
static u8 okvm_speaker_read(struct okvm_pit *pit)
{
	u8 refresh = (ktime_get_ns() >> 14) & 1;

	return !!(pit->state.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) << 1 |
	       pit->state.channels[2].gate | okvm_pit_out(pit, 2) << 5 |
	       refresh << 4;
}

static void okvm_speaker_write(struct okvm_pit *pit, u8 val)
{
	if (val & 2)
		pit->state.flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	else
		pit->state.flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	okvm_pit_set_gate(pit, 2, val & 1);
}

/*
 * A non-string IN or OUT of @size bytes at @port: true when the PIT took
 * it (the access lies wholly inside its ports, as KVM's I/O bus requires),
 * with @data holding IN's result (zero-extended) or OUT's value.
 */
bool okvm_pit_pio(struct okvm_vm *vm, u16 port, u8 size, bool in, void *data)
{
	/* Pairs with smp_store_release() in okvm_create_pit(). */
	struct okvm_pit *pit = smp_load_acquire(&vm->pit);
	u32 val = 0;
	bool pit_port;

	if (!pit)
		return false;
	pit_port = port >= OKVM_PIT_BASE &&
		   port + size <= OKVM_PIT_BASE + OKVM_PIT_PORTS;
	if (!pit_port && !(pit->speaker && port >= OKVM_SPEAKER_PORT &&
			   port + size <= OKVM_SPEAKER_PORT + OKVM_SPEAKER_PORTS))
		return false;

	if (!in)
		memcpy(&val, data, size);
	mutex_lock(&pit->lock);
	if (pit_port && in)
		val = okvm_pit_read(pit, port - OKVM_PIT_BASE);
	else if (pit_port)
		okvm_pit_write(pit, port - OKVM_PIT_BASE, val);
	else if (in)
		val = okvm_speaker_read(pit);
	else
		okvm_speaker_write(pit, val);
	mutex_unlock(&pit->lock);
	if (in)
		memcpy(data, &val, size);
	return true;
}

/* Raise GSI 0 for one tick: an edge, as the PIT's OUT reaches IRQ 0. */
static void okvm_pit_expired(struct work_struct *work)
{
	struct okvm_pit *pit = container_of(work, struct okvm_pit, expired);

	/* Reinjecting: wait for the guest to acknowledge the last tick. */
	if (atomic_read(&pit->reinject) && !atomic_xchg(&pit->irq_ack, 0))
		return;
	okvm_set_irq(pit->vm, OKVM_IRQ_SOURCE_PIT, 0, 1);
	okvm_set_irq(pit->vm, OKVM_IRQ_SOURCE_PIT, 0, 0);
}

static enum hrtimer_restart okvm_pit_timer_fn(struct hrtimer *timer)
{
	struct okvm_pit *pit = container_of(timer, struct okvm_pit, timer);

	if (atomic_read(&pit->reinject))
		atomic_inc(&pit->pending);
	/* The irqchips take locks that are not safe in hard-IRQ context. */
	queue_work(system_highpri_wq, &pit->expired);
	if (!pit->periodic)
		return HRTIMER_NORESTART;
	hrtimer_add_expires_ns(timer, pit->period);
	return HRTIMER_RESTART;
}

/* The guest EOIed IRQ 0: the next pending tick may be raised. */
static void okvm_pit_acked(struct okvm_irq_ack_notifier *ian)
{
	struct okvm_pit *pit = container_of(ian, struct okvm_pit, ack);

	atomic_set(&pit->irq_ack, 1);
	/*
	 * Set irq_ack before reading pending; pairs with the increment in
	 * the timer and the exchange in okvm_pit_expired().
	 */
	smp_mb__after_atomic();
	if (atomic_dec_if_positive(&pit->pending) > 0)
		queue_work(system_highpri_wq, &pit->expired);
}

/*
 * The guest unmasked IRQ 0: forget the ticks it could not take, and the
 * ack of a tick raised into the masked line, which will never come (KVM's
 * PIT does the same from its mask notifier). Linux masks IRQ 0 and resets
 * the PIC while it sets up the IOAPIC; without this its check of the
 * timer's IOAPIC path saw no tick and the boot panicked.
 */
static void okvm_pit_unmasked(struct okvm_irq_ack_notifier *ian)
{
	struct okvm_pit *pit = container_of(ian, struct okvm_pit, ack);

	atomic_set(&pit->pending, 0);
	atomic_set(&pit->irq_ack, 1);
}

/* Called with pit->lock held. */
static void okvm_pit_set_reinject(struct okvm_pit *pit, bool reinject)
{
	if (atomic_read(&pit->reinject) == reinject)
		return;
	if (reinject) {
		okvm_pit_reset_reinject(pit);
		okvm_register_irq_ack_notifier(pit->vm, &pit->ack);
	} else {
		okvm_unregister_irq_ack_notifier(pit->vm, &pit->ack);
	}
	atomic_set(&pit->reinject, reinject);
}

/* Power-on state, as KVM's: no mode programmed, gates 0 and 1 high. */
static void okvm_pit_reset(struct okvm_pit *pit)
{
	int i;

	pit->state.flags = 0;
	for (i = 0; i < 3; i++) {
		pit->state.channels[i].mode = 0xff;
		pit->state.channels[i].gate = i != 2;
		okvm_pit_load_count(pit, i, 0);
	}
	okvm_pit_reset_reinject(pit);
}

/*
 * KVM_CREATE_PIT2 (and the old KVM_CREATE_PIT, which always has the
 * speaker port). The PIT raises GSI 0, so it needs the in-kernel irqchip
 * first: -ENOENT without one, as current KVM answers (KVM 6.1 still
 * created a PIT whose timer never started). -EEXIST the second time.
 *
 * The ack notifier is registered before vm->lock is taken, so that
 * routing.c's locks never nest inside it; a PIT that loses the race to
 * another creator is unregistered and freed. Neither the irqchip flag nor
 * vm->pit is ever cleared while the VM lives, so the unlocked irqchip check
 * cannot be outdated by the time the PIT is published.
 */
static int okvm_create_pit(struct okvm_vm *vm, u32 flags)
{
	struct okvm_pit *pit;
	int ret = 0;

	if (!READ_ONCE(vm->irqchip_in_kernel))
		return -ENOENT;
	pit = kzalloc(sizeof(*pit), GFP_KERNEL_ACCOUNT);
	if (!pit)
		return -ENOMEM;
	pit->vm = vm;
	pit->speaker = flags & KVM_PIT_SPEAKER_DUMMY;
	mutex_init(&pit->lock);
	INIT_WORK(&pit->expired, okvm_pit_expired);
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	pit->timer.function = okvm_pit_timer_fn;
	pit->ack.gsi = 0;
	pit->ack.acked = okvm_pit_acked;
	pit->ack.unmasked = okvm_pit_unmasked;

	/* The reset state arms no timer: nothing runs before it is public. */
	mutex_lock(&pit->lock);
	okvm_pit_reset(pit);
	okvm_pit_set_reinject(pit, true);
	mutex_unlock(&pit->lock);

	mutex_lock(&vm->lock);
	if (vm->pit)
		ret = -EEXIST;
	else
		/*
		 * Port accesses of running vCPUs read it without vm->lock:
		 * publish it initialized (pairs with smp_load_acquire() in
		 * the readers).
		 */
		smp_store_release(&vm->pit, pit);
	mutex_unlock(&vm->lock);
	if (ret) {
		mutex_lock(&pit->lock);
		okvm_pit_set_reinject(pit, false);
		mutex_unlock(&pit->lock);
		kfree(pit);
	}
	return ret;
}

/* Freed with the VM, before the irqchips its work and notifier use. */
void okvm_pit_free(struct okvm_vm *vm)
{
	struct okvm_pit *pit = vm->pit;

	if (!pit)
		return;
	mutex_lock(&pit->lock);
	okvm_pit_set_reinject(pit, false);
	mutex_unlock(&pit->lock);
	hrtimer_cancel(&pit->timer);
	cancel_work_sync(&pit->expired);
	kfree(pit);
	vm->pit = NULL;
}

/*
 * KVM_SET_PIT and KVM_SET_PIT2: take the channels as given and reload each
 * count, which restarts channel 0's timer from now in its mode. Setting
 * KVM_PIT_FLAGS_HPET_LEGACY stops channel 0 from ticking (the HPET took
 * IRQ 0); clearing it starts it again.
 */
static void okvm_pit_set_state(struct okvm_pit *pit,
			       const struct kvm_pit_channel_state *channels,
			       const u32 *flags)
{
	bool start_legacy = false;
	int i;

	mutex_lock(&pit->lock);
	if (flags) {
		start_legacy = !(pit->state.flags & KVM_PIT_FLAGS_HPET_LEGACY) &&
			       (*flags & KVM_PIT_FLAGS_HPET_LEGACY);
		pit->state.flags = *flags;
	}
	memcpy(pit->state.channels, channels, sizeof(pit->state.channels));
	for (i = 0; i < 3; i++) {
		u8 mode = pit->state.channels[i].mode;

		/* Entering HPET legacy mode: load channel 0 without a timer. */
		if (i == 0 && start_legacy)
			pit->state.channels[0].mode = 0xff;
		okvm_pit_load_count(pit, i, pit->state.channels[i].count);
		pit->state.channels[i].mode = mode;
	}
	mutex_unlock(&pit->lock);
}

/* The PIT's VM ioctls; -ENOTTY for any other. Errnos in KVM's order. */
long okvm_vm_ioctl_pit(struct okvm_vm *vm, unsigned int ioctl,
		       void __user *argp)
{
	/* Pairs with smp_store_release() in okvm_create_pit(). */
	struct okvm_pit *pit = smp_load_acquire(&vm->pit);
	union {
		struct kvm_pit_config config;
		struct kvm_pit_state ps;
		struct kvm_pit_state2 ps2;
		struct kvm_reinject_control reinject;
	} u;

	switch (ioctl) {
	case KVM_CREATE_PIT:
		return okvm_create_pit(vm, KVM_PIT_SPEAKER_DUMMY);
	case KVM_CREATE_PIT2:
		/* KVM takes any flags and uses only KVM_PIT_SPEAKER_DUMMY. */
		if (copy_from_user(&u.config, argp, sizeof(u.config)))
			return -EFAULT;
		return okvm_create_pit(vm, u.config.flags);
	case KVM_GET_PIT:
		if (copy_from_user(&u.ps, argp, sizeof(u.ps)))
			return -EFAULT;
		if (!pit)
			return -ENXIO;
		mutex_lock(&pit->lock);
		memcpy(u.ps.channels, pit->state.channels, sizeof(u.ps.channels));
		mutex_unlock(&pit->lock);
		return copy_to_user(argp, &u.ps, sizeof(u.ps)) ? -EFAULT : 0;
	case KVM_SET_PIT:
		if (copy_from_user(&u.ps, argp, sizeof(u.ps)))
			return -EFAULT;
		if (!pit)
			return -ENXIO;
		okvm_pit_set_state(pit, u.ps.channels, NULL);
		return 0;
	case KVM_GET_PIT2:
		if (!pit)
			return -ENXIO;
		memset(&u.ps2, 0, sizeof(u.ps2));
		mutex_lock(&pit->lock);
		memcpy(u.ps2.channels, pit->state.channels,
		       sizeof(u.ps2.channels));
		u.ps2.flags = pit->state.flags;
		mutex_unlock(&pit->lock);
		return copy_to_user(argp, &u.ps2, sizeof(u.ps2)) ? -EFAULT : 0;
	case KVM_SET_PIT2:
		/* KVM ignores reserved[] and takes any flags. */
		if (copy_from_user(&u.ps2, argp, sizeof(u.ps2)))
			return -EFAULT;
		if (!pit)
			return -ENXIO;
		okvm_pit_set_state(pit, u.ps2.channels, &u.ps2.flags);
		return 0;
	case KVM_REINJECT_CONTROL:
		if (copy_from_user(&u.reinject, argp, sizeof(u.reinject)))
			return -EFAULT;
		if (!pit)
			return -ENXIO;
		mutex_lock(&pit->lock);
		okvm_pit_set_reinject(pit, u.reinject.pit_reinject);
		mutex_unlock(&pit->lock);
		return 0;
	default:
		return -ENOTTY;
	}
}
