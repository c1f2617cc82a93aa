// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqchip_test - the in-kernel PIC pair, IOAPIC and GSI routing:
 * KVM_CREATE_IRQCHIP, KVM_IRQ_LINE(_STATUS), KVM_GET/SET_IRQCHIP,
 * KVM_SET_GSI_ROUTING and KVM_SIGNAL_MSI with their errors, and a guest
 * that programs the PICs through their ports and the IOAPIC through its
 * MMIO page, checked from both sides.
 *
 * The tests named deliver_* need a local APIC to take the interrupt; they
 * run where KVM_CAP_IRQCHIP is reported (in-tree KVM, okvm once lapic.c
 * is in) and are skipped elsewhere.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "okvm_util.h"
#include "ucall.h"
#include "x86_exception.h"
#include "x86_guest.h"

#define IOAPIC_GPA		0xfec00000ULL
#define RTE_MASKED		0x10000ULL
#define RTE_LEVEL		0x8000ULL
#define RTE_REMOTE_IRR		0x4000ULL

/* --- helpers ----------------------------------------------------------- */

static int vm_with_irqchip(void)
{
	int vm = okvm_create_vm();

	if (vm >= 0 && okvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		kvm_die("KVM_CREATE_IRQCHIP");
	return vm;
}

static struct kvm_irqchip get_chip(int vm, __u32 id)
{
	struct kvm_irqchip chip;

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = id;
	if (okvm_ioctl(vm, KVM_GET_IRQCHIP, (unsigned long)&chip))
		kvm_die("KVM_GET_IRQCHIP %u", id);
	return chip;
}

static void set_chip(int vm, const struct kvm_irqchip *chip)
{
	if (okvm_ioctl(vm, KVM_SET_IRQCHIP, (unsigned long)chip))
		kvm_die("KVM_SET_IRQCHIP %u", chip->chip_id);
}

/* KVM_IRQ_LINE_STATUS: the status, or kvm_die(). */
static int line_status(int vm, __u32 gsi, __u32 level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	if (okvm_ioctl(vm, KVM_IRQ_LINE_STATUS, (unsigned long)&l))
		kvm_die("KVM_IRQ_LINE_STATUS gsi %u", gsi);
	return l.status;
}

/* KVM_SET_GSI_ROUTING of nr entries; the ioctl's result (or -errno). */
static long set_routing(int vm, const struct kvm_irq_routing_entry *e,
			__u32 nr, __u32 flags)
{
	struct kvm_irq_routing *r;
	long ret;

	r = calloc(1, sizeof(*r) + (nr ? nr : 1) * sizeof(*e));
	if (!r)
		kvm_die("calloc");
	r->nr = nr;
	r->flags = flags;
	if (nr)
		memcpy(r->entries, e, nr * sizeof(*e));
	ret = okvm_ioctl(vm, KVM_SET_GSI_ROUTING, (unsigned long)r);
	free(r);
	return ret;
}

static struct kvm_irq_routing_entry chip_route(__u32 gsi, __u32 chip,
					       __u32 pin)
{
	struct kvm_irq_routing_entry e = {
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};

	return e;
}

static struct kvm_irq_routing_entry msi_route(__u32 gsi, __u32 addr,
					      __u32 data)
{
	struct kvm_irq_routing_entry e = {
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = addr, .data = data },
	};

	return e;
}

/* --- without an irqchip ------------------------------------------------- */

TEST(no_irqchip_errors)
{
	struct kvm_irq_level l = { .irq = 4, .level = 1 };
	struct kvm_irq_routing r = { 0 };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x30 };
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	int vm = okvm_create_vm();

	ASSERT_LE(0, vm);
	EXPECT_EQ(-ENXIO, okvm_ioctl(vm, KVM_IRQ_LINE, (unsigned long)&l));
	EXPECT_EQ(-ENXIO, okvm_ioctl(vm, KVM_IRQ_LINE_STATUS,
				     (unsigned long)&l));
	EXPECT_EQ(-ENXIO, okvm_ioctl(vm, KVM_GET_IRQCHIP, (unsigned long)&chip));
	EXPECT_EQ(-ENXIO, okvm_ioctl(vm, KVM_SET_IRQCHIP, (unsigned long)&chip));
	/* Bad chip ids are not even looked at without an irqchip. */
	chip.chip_id = 7;
	EXPECT_EQ(-ENXIO, okvm_ioctl(vm, KVM_GET_IRQCHIP, (unsigned long)&chip));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SET_GSI_ROUTING,
				      (unsigned long)&r));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SIGNAL_MSI, (unsigned long)&msi));
	/* The argument is read before anything else is checked. */
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_IRQ_LINE, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_GET_IRQCHIP, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_SET_IRQCHIP, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_SET_GSI_ROUTING, 0));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_SIGNAL_MSI, 0));
	close(vm);
}

TEST(create_irqchip_rules)
{
	int vm = okvm_create_vm(), vcpu;

	ASSERT_LE(0, vm);
	EXPECT_EQ(0, okvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0));
	EXPECT_EQ(-EEXIST, okvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0));
	close(vm);

	vm = okvm_create_vm();
	ASSERT_LE(0, vm);
	vcpu = okvm_ioctl(vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, vcpu);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0));
	close(vcpu);
	close(vm);
}

/* --- KVM_GET/SET_IRQCHIP ------------------------------------------------- */

TEST(irqchip_reset_state)
{
	int vm = vm_with_irqchip(), i;
	struct kvm_irqchip c;

	ASSERT_LE(0, vm);
	c = get_chip(vm, KVM_IRQCHIP_PIC_MASTER);
	EXPECT_EQ(0xf8, c.chip.pic.elcr_mask);
	EXPECT_EQ(0, c.chip.pic.imr);
	EXPECT_EQ(0, c.chip.pic.irr);
	EXPECT_EQ(0, c.chip.pic.init_state);
	c = get_chip(vm, KVM_IRQCHIP_PIC_SLAVE);
	EXPECT_EQ(0xde, c.chip.pic.elcr_mask);
	EXPECT_EQ(0, c.chip.pic.elcr);
	c = get_chip(vm, KVM_IRQCHIP_IOAPIC);
	EXPECT_EQ(IOAPIC_GPA, c.chip.ioapic.base_address);
	EXPECT_EQ(0, c.chip.ioapic.id);
	EXPECT_EQ(0, c.chip.ioapic.irr);
	EXPECT_EQ(0, c.chip.ioapic.ioregsel);
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		EXPECT_EQ(RTE_MASKED, c.chip.ioapic.redirtbl[i].bits);
	close(vm);
}

TEST(irqchip_bad_chip_id)
{
	struct kvm_irqchip c = { .chip_id = 3 };
	int vm = vm_with_irqchip();

	ASSERT_LE(0, vm);
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_GET_IRQCHIP, (unsigned long)&c));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SET_IRQCHIP, (unsigned long)&c));
	c.chip_id = ~0u;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_GET_IRQCHIP, (unsigned long)&c));
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SET_IRQCHIP, (unsigned long)&c));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_GET_IRQCHIP, 0));
	close(vm);
}

/* GET hands back the struct as it was passed, the chip's state in it. */
TEST(irqchip_get_keeps_padding)
{
	struct kvm_irqchip c;
	unsigned char *p = (unsigned char *)&c.chip;
	int vm = vm_with_irqchip();
	size_t i;

	ASSERT_LE(0, vm);
	memset(&c, 0x5a, sizeof(c));
	c.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	ASSERT_EQ(0, okvm_ioctl(vm, KVM_GET_IRQCHIP, (unsigned long)&c));
	EXPECT_EQ(0xde, c.chip.pic.elcr_mask);
	for (i = sizeof(struct kvm_pic_state); i < sizeof(c.chip); i++)
		if (p[i] != 0x5a)
			break;
	EXPECT_EQ(sizeof(c.chip), i);
	EXPECT_EQ(0x5a5a5a5a, c.pad);
	close(vm);
}

TEST(pic_state_round_trip)
{
	struct kvm_irqchip in, out;
	struct kvm_pic_state s = {
		.last_irr = 0x10, .irr = 0x31, .imr = 0x4e, .isr = 0x20,
		.priority_add = 3, .irq_base = 0x68, .read_reg_select = 1,
		.poll = 0, .special_mask = 1, .init_state = 0, .auto_eoi = 1,
		.rotate_on_auto_eoi = 1, .special_fully_nested_mode = 1,
		.init4 = 1, .elcr = 0x08, .elcr_mask = 0xf8,
	};
	int vm = vm_with_irqchip(), chip;

	ASSERT_LE(0, vm);
	for (chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_PIC_SLAVE;
	     chip++) {
		memset(&in, 0, sizeof(in));
		in.chip_id = chip;
		in.chip.pic = s;
		/* The slave's output drives master input 2: nothing pending. */
		if (chip == KVM_IRQCHIP_PIC_SLAVE)
			in.chip.pic.imr = 0xff;
		set_chip(vm, &in);
		out = get_chip(vm, chip);
		EXPECT_EQ(0, memcmp(&in.chip.pic, &out.chip.pic,
				    sizeof(s)));
	}
	close(vm);
}

TEST(ioapic_state_round_trip)
{
	struct kvm_irqchip in, out;
	int vm = vm_with_irqchip(), i;

	ASSERT_LE(0, vm);
	memset(&in, 0, sizeof(in));
	in.chip_id = KVM_IRQCHIP_IOAPIC;
	in.chip.ioapic.base_address = IOAPIC_GPA;
	in.chip.ioapic.ioregsel = 0x13;
	in.chip.ioapic.id = 5;
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		in.chip.ioapic.redirtbl[i].bits = RTE_MASKED |
			((__u64)i << 56) | (0x20 + i) |
			((i & 1) ? RTE_LEVEL : 0);
	/* Pin 3 asserted while masked: irr keeps it and GET shows it. */
	in.chip.ioapic.irr = 1u << 3;
	set_chip(vm, &in);
	out = get_chip(vm, KVM_IRQCHIP_IOAPIC);
	EXPECT_EQ(0, memcmp(&in.chip.ioapic, &out.chip.ioapic,
			    sizeof(in.chip.ioapic)));
	close(vm);
}

/* Garbage state is taken as KVM takes it; the VM keeps working. */
TEST(irqchip_garbage_state)
{
	struct kvm_irqchip c;
	int vm = vm_with_irqchip(), chip, round;
	unsigned char *p = (unsigned char *)&c.chip;
	size_t i;

	ASSERT_LE(0, vm);
	srand(42);
	for (round = 0; round < 50; round++) {
		for (chip = 0; chip < 3; chip++) {
			for (i = 0; i < sizeof(c.chip); i++)
				p[i] = rand();
			c.chip_id = chip;
			c.pad = 0;
			EXPECT_EQ(0, okvm_ioctl(vm, KVM_SET_IRQCHIP,
						(unsigned long)&c));
		}
		for (i = 0; i < 24; i++)
			line_status(vm, rand() % 26, rand() & 1);
	}
	c = get_chip(vm, KVM_IRQCHIP_PIC_MASTER);
	close(vm);
}

/* --- KVM_SET_GSI_ROUTING ------------------------------------------------- */

TEST(routing_errors)
{
	struct kvm_irq_routing_entry e[3];
	struct kvm_irq_routing *big;
	int vm = vm_with_irqchip();
	__u32 i;

	ASSERT_LE(0, vm);
	e[0] = chip_route(0, KVM_IRQCHIP_IOAPIC, 0);
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 1));	/* flags */
	e[0].gsi = 4096;				/* KVM_MAX_IRQ_ROUTES */
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0].gsi = ~0u;
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0] = chip_route(1, 3, 0);			/* no such irqchip */
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0] = chip_route(1, KVM_IRQCHIP_PIC_MASTER, 8);
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0] = chip_route(1, KVM_IRQCHIP_PIC_SLAVE, 8);
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0] = chip_route(1, KVM_IRQCHIP_IOAPIC, 24);
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0] = chip_route(1, KVM_IRQCHIP_IOAPIC, 2);
	e[0].flags = 1;					/* irqchip: no flags */
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0] = msi_route(1, 0xfee00000, 0x30);
	e[0].flags = 2;					/* MSI: only VALID_DEVID */
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0].flags = KVM_MSI_VALID_DEVID;
	EXPECT_EQ(0, set_routing(vm, e, 1, 0));
	e[0] = chip_route(1, KVM_IRQCHIP_IOAPIC, 2);
	e[0].type = 99;					/* unknown type */
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	e[0].type = 3;		/* KVM_IRQ_ROUTING_S390_ADAPTER: not on x86 */
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 1, 0));
	/* A GSI goes to each irqchip once; an MSI is alone on its GSI. */
	e[0] = chip_route(5, KVM_IRQCHIP_IOAPIC, 2);
	e[1] = chip_route(5, KVM_IRQCHIP_IOAPIC, 3);
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 2, 0));
	e[1] = msi_route(5, 0xfee00000, 0x30);
	EXPECT_EQ(-EINVAL, set_routing(vm, e, 2, 0));
	e[1] = chip_route(5, KVM_IRQCHIP_PIC_SLAVE, 7);
	e[2] = chip_route(5, KVM_IRQCHIP_PIC_MASTER, 7);
	EXPECT_EQ(0, set_routing(vm, e, 3, 0));
	EXPECT_EQ(0, set_routing(vm, e, 0, 0));		/* empty is fine */

	/* Too many entries, then exactly the limit. */
	big = calloc(1, sizeof(*big) + 4097 * sizeof(big->entries[0]));
	ASSERT_NE(NULL, big);
	for (i = 0; i < 4097; i++)
		big->entries[i] = msi_route(i % 4096, 0xfee00000, 0x30);
	big->nr = 4097;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SET_GSI_ROUTING,
				      (unsigned long)big));
	big->nr = 4096;
	EXPECT_EQ(0, okvm_ioctl(vm, KVM_SET_GSI_ROUTING, (unsigned long)big));
	/* Entries the header promises but memory does not hold. */
	big->nr = 1u << 30;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SET_GSI_ROUTING,
				      (unsigned long)big));
	free(big);
	close(vm);
}

/* What a GSI does follows the table: unrouted GSIs are masked (-1). */
TEST(routing_changes_delivery)
{
	struct kvm_irq_routing_entry e[2];
	int vm = vm_with_irqchip();

	ASSERT_LE(0, vm);
	/* Default: GSI 4 goes to the PIC (unmasked) and the IOAPIC. */
	EXPECT_EQ(1, line_status(vm, 4, 1));
	EXPECT_EQ(2, line_status(vm, 4, 0));
	EXPECT_EQ(-1, line_status(vm, 24, 1));		/* not routed */

	/* GSI 100 to PIC master input 6 only. */
	e[0] = chip_route(100, KVM_IRQCHIP_PIC_MASTER, 6);
	ASSERT_EQ(0, set_routing(vm, e, 1, 0));
	EXPECT_EQ(-1, line_status(vm, 4, 1));		/* gone */
	EXPECT_EQ(1, line_status(vm, 100, 1));
	/* Input 4's edge was never acknowledged: still requested. */
	EXPECT_EQ(0x50, get_chip(vm, KVM_IRQCHIP_PIC_MASTER).chip.pic.irr);
	EXPECT_EQ(-1, line_status(vm, 4096, 1));

	/* An MSI route: no APIC to name (-1); lowering it sends nothing. */
	e[0] = msi_route(50, 0xfee00000, 0x30);
	ASSERT_EQ(0, set_routing(vm, e, 1, 0));
	EXPECT_EQ(-1, line_status(vm, 50, 1));
	EXPECT_EQ(-1, line_status(vm, 50, 0));
	close(vm);
}

/*
 * Tables replaced while other threads raise GSIs and rewrite the chips:
 * every ioctl succeeds and the last table is the one in force.
 */
struct racer_arg {
	int vm;
	volatile int *stop;
	long errors;
};

static void *line_racer(void *p)
{
	struct racer_arg *a = p;
	struct kvm_irq_level l;
	unsigned int i = 0;

	while (!*a->stop) {
		l.irq = i % 40;
		l.level = (i / 40) & 1;
		if (okvm_ioctl(a->vm, KVM_IRQ_LINE_STATUS, (unsigned long)&l))
			a->errors++;
		i++;
	}
	return NULL;
}

static void *chip_racer(void *p)
{
	struct racer_arg *a = p;
	struct kvm_irqchip c;
	unsigned int i = 0;

	while (!*a->stop) {
		memset(&c, 0, sizeof(c));
		c.chip_id = i++ % 3;
		if (okvm_ioctl(a->vm, KVM_GET_IRQCHIP, (unsigned long)&c) ||
		    okvm_ioctl(a->vm, KVM_SET_IRQCHIP, (unsigned long)&c))
			a->errors++;
	}
	return NULL;
}

TEST(routing_races)
{
	struct kvm_irq_routing_entry e[64];
	struct racer_arg args[2];
	volatile int stop = 0;
	pthread_t threads[2];
	int vm = vm_with_irqchip(), i, round;

	ASSERT_LE(0, vm);
	for (i = 0; i < 2; i++) {
		args[i] = (struct racer_arg){ .vm = vm, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL,
					    i ? chip_racer : line_racer,
					    &args[i]));
	}
	for (round = 0; round < 100; round++) {
		int n = 1 + round % 64;

		for (i = 0; i < n; i++)
			e[i] = (i + round) & 1 ?
			       chip_route(i, KVM_IRQCHIP_IOAPIC, i % 24) :
			       msi_route(i, 0xfee00000, 0x30 + i);
		EXPECT_EQ(0, set_routing(vm, e, n, 0));
	}
	stop = 1;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
		EXPECT_EQ(0, args[i].errors);
	}
	/* Last table: 99 % 64 + 1 = 36 GSIs; GSI 36 is unrouted. */
	EXPECT_EQ(-1, line_status(vm, 36, 1));
	close(vm);
}

/* VMs with chips and a full table give all their memory back. */
#define LEAK_ROUNDS	50
#define LEAK_BUDGET_KB	2048

TEST(no_leak)
{
	struct kvm_irq_routing_entry *e = calloc(4096, sizeof(*e));
	long before, after;
	int i, vm;

	ASSERT_NE(NULL, e);
	for (i = 0; i < 4096; i++)
		e[i] = msi_route(i, 0xfee00000, 0x30);
	before = okvm_kernel_memory_kb();
	ASSERT_LE(0, before);
	for (i = 0; i < LEAK_ROUNDS; i++) {
		vm = vm_with_irqchip();
		ASSERT_LE(0, vm);
		ASSERT_EQ(0, set_routing(vm, e, 4096, 0));
		line_status(vm, 7, 1);
		close(vm);
	}
	after = okvm_kernel_memory_kb();
	TH_LOG("kernel memory %ld KiB before, %ld KiB after %d VMs",
	       before, after, LEAK_ROUNDS);
	EXPECT_GT(LEAK_BUDGET_KB, after - before);
	free(e);
}

/* --- KVM_IRQ_LINE(_STATUS) ----------------------------------------------- */

TEST(irq_line_status)
{
	struct kvm_irq_level l = { .irq = 5, .level = 1 };
	struct kvm_irqchip c;
	int vm = vm_with_irqchip();

	ASSERT_LE(0, vm);
	/* Edge input 3: PIC unmasked counts 1, the masked IOAPIC pin -1. */
	EXPECT_EQ(1, line_status(vm, 3, 1));
	EXPECT_EQ(1, line_status(vm, 3, 1));		/* still high */
	EXPECT_EQ(2, line_status(vm, 3, 0));		/* both lower */
	EXPECT_EQ(0, line_status(vm, 3, 1));		/* IRR still set */
	c = get_chip(vm, KVM_IRQCHIP_PIC_MASTER);
	EXPECT_EQ(0x08, c.chip.pic.irr);
	EXPECT_EQ(0x08, c.chip.pic.last_irr);
	/* IOAPIC-only GSIs: masked pins. */
	EXPECT_EQ(-1, line_status(vm, 20, 1));
	EXPECT_EQ(1, line_status(vm, 20, 0));
	/* Slave input: GSI 9 is slave input 1 and the master's input 2. */
	EXPECT_EQ(1, line_status(vm, 9, 1));
	EXPECT_EQ(0x02, get_chip(vm, KVM_IRQCHIP_PIC_SLAVE).chip.pic.irr);
	EXPECT_EQ(0x0c, get_chip(vm, KVM_IRQCHIP_PIC_MASTER).chip.pic.irr);

	/* Masked in the PIC too. */
	c = get_chip(vm, KVM_IRQCHIP_PIC_MASTER);
	c.chip.pic.imr = 0xff;
	set_chip(vm, &c);
	EXPECT_EQ(-1, line_status(vm, 6, 1));
	EXPECT_EQ(0x48, get_chip(vm, KVM_IRQCHIP_PIC_MASTER).chip.pic.irr &
			0x48);

	/* Level-triggered PIC input (ELCR): IRR follows the line. */
	c = get_chip(vm, KVM_IRQCHIP_PIC_SLAVE);
	c.chip.pic.elcr = 0x08;				/* GSI 11 */
	set_chip(vm, &c);
	EXPECT_EQ(1, line_status(vm, 11, 1));
	EXPECT_EQ(0, line_status(vm, 11, 1));		/* coalesced */
	EXPECT_EQ(0x0a, get_chip(vm, KVM_IRQCHIP_PIC_SLAVE).chip.pic.irr);
	EXPECT_EQ(2, line_status(vm, 11, 0));
	EXPECT_EQ(0x02, get_chip(vm, KVM_IRQCHIP_PIC_SLAVE).chip.pic.irr);

	/* An unmasked edge IOAPIC pin with no vCPU: no APIC named (-1). */
	c = get_chip(vm, KVM_IRQCHIP_IOAPIC);
	c.chip.ioapic.redirtbl[21].bits = 0x31;
	c.chip.ioapic.redirtbl[22].bits = 0x32 | RTE_LEVEL;
	set_chip(vm, &c);
	EXPECT_EQ(-1, line_status(vm, 21, 1));
	/* Delivered edges leave irr in KVM_GET_IRQCHIP; masked ones stay. */
	EXPECT_EQ((1u << 3) | (1u << 6) | (1u << 9),
		  get_chip(vm, KVM_IRQCHIP_IOAPIC).chip.ioapic.irr);
	/* A level pin waits for an EOI even so (Remote IRR set). */
	EXPECT_EQ(-1, line_status(vm, 22, 1));
	c = get_chip(vm, KVM_IRQCHIP_IOAPIC);
	EXPECT_EQ(1u << 22, c.chip.ioapic.irr & (1u << 22));
	EXPECT_EQ(RTE_REMOTE_IRR, c.chip.ioapic.redirtbl[22].bits &
				  RTE_REMOTE_IRR);
	EXPECT_EQ(-1, line_status(vm, 22, 1));		/* still waiting */

	/* KVM_IRQ_LINE returns 0 and writes nothing back. */
	EXPECT_EQ(0, okvm_ioctl(vm, KVM_IRQ_LINE, (unsigned long)&l));
	EXPECT_EQ(1, l.level);
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_IRQ_LINE_STATUS, 0));
	close(vm);
}

/* --- KVM_SIGNAL_MSI ------------------------------------------------------ */

TEST(signal_msi_errors)
{
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x30 };
	int vm = vm_with_irqchip();

	ASSERT_LE(0, vm);
	/* No local APIC is named: the ioctl returns -1 (EPERM), as KVM. */
	EXPECT_EQ(-EPERM, okvm_ioctl(vm, KVM_SIGNAL_MSI, (unsigned long)&msi));
	msi.flags = KVM_MSI_VALID_DEVID;
	EXPECT_EQ(-EPERM, okvm_ioctl(vm, KVM_SIGNAL_MSI, (unsigned long)&msi));
	msi.flags = 2;
	EXPECT_EQ(-EINVAL, okvm_ioctl(vm, KVM_SIGNAL_MSI, (unsigned long)&msi));
	EXPECT_EQ(-EFAULT, okvm_ioctl(vm, KVM_SIGNAL_MSI, 0));
	close(vm);
}

/* --- the guest programs the chips ---------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void guest_pic_init(uint8_t base0, uint8_t base1)
{
	outb(0x20, 0x11);	/* ICW1: edge, cascade, ICW4 follows */
	outb(0x21, base0);	/* ICW2 */
	outb(0x21, 0x04);	/* ICW3: slave on input 2 */
	outb(0x21, 0x01);	/* ICW4: 8086 mode */
	outb(0xa0, 0x11);
	outb(0xa1, base1);
	outb(0xa1, 0x02);
	outb(0xa1, 0x01);
}

static void guest_pic(void)
{
	guest_pic_init(0x30, 0x38);
	outb(0x21, 0xf3);
	outb(0xa1, 0xfd);
	GUEST_ASSERT_EQ(0xf3, inb(0x21));
	GUEST_ASSERT_EQ(0xfd, inb(0xa1));
	/* ELCR keeps what the PIIX lets be level. */
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	GUEST_ASSERT_EQ(0xf8, inb(0x4d0));
	GUEST_ASSERT_EQ(0xde, inb(0x4d1));
	outb(0x4d0, 0x00);
	outb(0x4d1, 0x00);
	GUEST_ASSERT_EQ(0, inb(0x4d0));
	/* Only byte accesses reach the PIC; wider ones read 0. */
	GUEST_ASSERT_EQ(0, inw(0x20));
	GUEST_SYNC(1);		/* host raises GSI 3 and GSI 9 */

	outb(0x20, 0x0a);	/* OCW3: read IRR */
	GUEST_ASSERT_EQ(0x0c, inb(0x20));
	outb(0xa0, 0x0a);
	GUEST_ASSERT_EQ(0x02, inb(0xa0));
	outb(0x20, 0x0b);	/* OCW3: read ISR */
	GUEST_ASSERT_EQ(0, inb(0x20));
	GUEST_ASSERT_EQ(0, inb(0x20));	/* the selection sticks */
	/*
	 * Poll: the highest request, taken as by an INTA. The 8259A's bit 7
	 * ("there was one") is left out: KVM 6.1 (and okvm) do not set it,
	 * KVM 6.12 does.
	 */
	outb(0x20, 0x0c);
	GUEST_ASSERT_EQ(0x02, inb(0x20) & 0x7f);
	outb(0xa0, 0x0c);
	GUEST_ASSERT_EQ(0x01, inb(0xa0) & 0x7f);
	outb(0x20, 0x0c);
	GUEST_ASSERT_EQ(0x03, inb(0x20) & 0x7f);
	outb(0x20, 0x0c);
	GUEST_ASSERT_EQ(0x07, inb(0x20) & 0x7f);	/* nothing left */
	outb(0x20, 0x0a);
	GUEST_ASSERT_EQ(0, inb(0x20));
	GUEST_SYNC(2);		/* host puts bits 3 and 5 in service */

	outb(0x20, 0x0b);
	GUEST_ASSERT_EQ(0x28, inb(0x20));
	outb(0x20, 0x20);	/* OCW2: non-specific EOI: clears 3 */
	GUEST_ASSERT_EQ(0x20, inb(0x20));
	outb(0x20, 0xa0);	/* rotate on non-specific EOI: 5, lowest */
	GUEST_ASSERT_EQ(0x00, inb(0x20));
	outb(0x20, 0x68);	/* OCW3: set special mask */
	GUEST_SYNC(3);		/* host checks rotation, special mask */

	outb(0x20, 0xc1);	/* set priority: input 1 lowest */
	outb(0x20, 0x48);	/* clear special mask */
	outb(0x20, 0x80);	/* rotate in automatic EOI mode: set */
	GUEST_SYNC(4);
	outb(0x20, 0x66);	/* specific EOI of input 6 (host set it) */
	outb(0x20, 0x0b);
	GUEST_ASSERT_EQ(0x00, inb(0x20));
	/* ICW1 without ICW4 clears the mask and ICW4's modes. */
	outb(0xa0, 0x10);
	outb(0xa1, 0x50);
	outb(0xa1, 0x02);
	GUEST_ASSERT_EQ(0x00, inb(0xa1));
	GUEST_DONE();
}

TEST(guest_programs_pic)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu;
	struct kvm_irqchip c;
	struct ucall uc;

	ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vcpu = vm_vcpu_add_guest(vm, 0, guest_pic);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	c = get_chip(vm->fd, KVM_IRQCHIP_PIC_MASTER);
	EXPECT_EQ(0x30, c.chip.pic.irq_base);
	EXPECT_EQ(0xf3, c.chip.pic.imr);
	EXPECT_EQ(1, c.chip.pic.init4);
	EXPECT_EQ(0, c.chip.pic.init_state);
	EXPECT_EQ(0, c.chip.pic.auto_eoi);
	EXPECT_EQ(0, c.chip.pic.elcr);
	EXPECT_EQ(0x38, get_chip(vm->fd, KVM_IRQCHIP_PIC_SLAVE).chip.pic.irq_base);
	line_status(vm->fd, 3, 1);
	line_status(vm->fd, 9, 1);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(2, uc.args[0]);
	c = get_chip(vm->fd, KVM_IRQCHIP_PIC_MASTER);
	EXPECT_EQ(0, c.chip.pic.poll);
	EXPECT_EQ(0, c.chip.pic.read_reg_select);
	c.chip.pic.isr = 0x28;
	set_chip(vm->fd, &c);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(3, uc.args[0]);
	c = get_chip(vm->fd, KVM_IRQCHIP_PIC_MASTER);
	EXPECT_EQ(6, c.chip.pic.priority_add);
	EXPECT_EQ(1, c.chip.pic.special_mask);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(4, uc.args[0]);
	c = get_chip(vm->fd, KVM_IRQCHIP_PIC_MASTER);
	EXPECT_EQ(2, c.chip.pic.priority_add);
	EXPECT_EQ(0, c.chip.pic.special_mask);
	EXPECT_EQ(1, c.chip.pic.rotate_on_auto_eoi);
	c.chip.pic.isr = 0x40;
	set_chip(vm->fd, &c);

	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	c = get_chip(vm->fd, KVM_IRQCHIP_PIC_SLAVE);
	EXPECT_EQ(0x50, c.chip.pic.irq_base);
	EXPECT_EQ(0, c.chip.pic.init4);
	EXPECT_EQ(0, c.chip.pic.init_state);
	kvm_vm_free(vm);
}

static uint32_t ioapic_read(uint32_t reg)
{
	volatile uint32_t *base = (void *)IOAPIC_GPA;

	base[0] = reg;
	return base[4];
}

static void ioapic_write(uint32_t reg, uint32_t val)
{
	volatile uint32_t *base = (void *)IOAPIC_GPA;

	base[0] = reg;
	base[4] = val;
}

static void guest_ioapic(void)
{
	volatile uint64_t *win64 = (void *)(IOAPIC_GPA + 0x10);
	volatile uint32_t *sel = (void *)IOAPIC_GPA;
	volatile uint8_t *b = (void *)IOAPIC_GPA;

	GUEST_ASSERT_EQ(0x00170011, ioapic_read(1));	/* version, 23 */
	GUEST_ASSERT_EQ(0, ioapic_read(0));
	ioapic_write(0, 0xff000000);
	GUEST_ASSERT_EQ(0x0f000000, ioapic_read(0));
	GUEST_ASSERT_EQ(0x0f000000, ioapic_read(2));	/* arbitration */
	ioapic_write(1, 0);				/* read-only */
	GUEST_ASSERT_EQ(0x00170011, ioapic_read(1));

	GUEST_ASSERT_EQ(RTE_MASKED, ioapic_read(0x10 + 2 * 5));
	/* Remote IRR and delivery status are not the guest's to set. */
	ioapic_write(0x10 + 2 * 5, 0x1f000 | 0x45);
	ioapic_write(0x11 + 2 * 5, 0xa5000000);
	GUEST_ASSERT_EQ(0x1a045, ioapic_read(0x10 + 2 * 5));
	GUEST_ASSERT_EQ(0xa5000000, ioapic_read(0x11 + 2 * 5));
	/* Past the 24 entries, and registers 3-0xf: all ones. */
	GUEST_ASSERT_EQ(0xffffffff, ioapic_read(0x10 + 2 * 24));
	GUEST_ASSERT_EQ(0xffffffff, ioapic_read(0x3));
	/* IOREGSEL is 8 bits; other offsets read 0. */
	*sel = 0x1ff;
	GUEST_ASSERT_EQ(0xff, *sel);
	GUEST_ASSERT_EQ(0, *(volatile uint32_t *)(IOAPIC_GPA + 0x20));
	/* Byte access to IOREGSEL, 8-byte read of IOWIN. */
	b[0] = 0x01;
	GUEST_ASSERT_EQ(0x00170011, *win64);
	ioapic_write(0x10 + 2 * 7, 0x18037);
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	/* KVM_SET_IRQCHIP moved the IOAPIC away: this is user space's. */
	*sel = 1;
	GUEST_DONE();
}

TEST(guest_programs_ioapic)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu;
	struct kvm_irqchip c;
	struct ucall uc;

	ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vcpu = vm_vcpu_add_guest(vm, 0, guest_ioapic);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	c = get_chip(vm->fd, KVM_IRQCHIP_IOAPIC);
	EXPECT_EQ(0xf, c.chip.ioapic.id);
	EXPECT_EQ(0xa50000000001a045ULL, c.chip.ioapic.redirtbl[5].bits);
	EXPECT_EQ(0x18037, c.chip.ioapic.redirtbl[7].bits);
	EXPECT_EQ(0x10 + 2 * 7, c.chip.ioapic.ioregsel);
	/* Level pin 7 masked: no Remote IRR (the PIC, unmasked, counts 1). */
	EXPECT_EQ(1, line_status(vm->fd, 7, 1));
	EXPECT_EQ(0, get_chip(vm->fd, KVM_IRQCHIP_IOAPIC)
			.chip.ioapic.redirtbl[7].bits & RTE_REMOTE_IRR);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	c.chip.ioapic.base_address = 0xfec10000;
	set_chip(vm->fd, &c);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(IOAPIC_GPA, vcpu->run->mmio.phys_addr);
	EXPECT_EQ(1, vcpu->run->mmio.is_write);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	kvm_vm_free(vm);
}

/* --- delivery into a guest: needs a local APIC ------------------------ */

#define APIC_GPA	0xfee00000ULL
#define PIC_VECTOR	0x1b	/* base 0x18, IRQ3 */
#define IOAPIC_VECTOR	0x1c
#define MSI_VECTOR	0x1f

static volatile int irq_count[32];

static void guest_irq_handler(struct ex_regs *regs)
{
	irq_count[regs->vector]++;
	/* The host looks at the pin before the EOI and lowers the line. */
	if (regs->vector == IOAPIC_VECTOR)
		GUEST_SYNC(10);
	if (regs->vector == PIC_VECTOR)
		outb(0x20, 0x20);		/* EOI to the master */
	else
		*(volatile uint32_t *)(APIC_GPA + 0xb0) = 0;	/* LAPIC EOI */
}

static void guest_wait_for(int vector, int count)
{
	while (irq_count[vector] < count)
		asm volatile("sti; hlt; cli" ::: "memory");
}

static void guest_deliver(void)
{
	/* LAPIC software enable, spurious vector 0xff. */
	*(volatile uint32_t *)(APIC_GPA + 0xf0) = 0x1ff;
	guest_pic_init(0x18, 0x20);
	outb(0x21, 0xf7);		/* only IRQ3 */
	outb(0xa1, 0xff);
	ioapic_write(0x10 + 2 * 10, RTE_LEVEL | IOAPIC_VECTOR);
	ioapic_write(0x11 + 2 * 10, 0);
	GUEST_SYNC(1);
	guest_wait_for(PIC_VECTOR, 1);
	GUEST_SYNC(2);
	guest_wait_for(IOAPIC_VECTOR, 1);
	GUEST_SYNC(3);
	guest_wait_for(MSI_VECTOR, 1);
	GUEST_SYNC(4);
	GUEST_DONE();
}

static bool have_lapic(void)
{
	int dev = okvm_open_dev();
	bool ret = okvm_ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0;

	close(dev);
	return ret;
}

TEST(deliver_pic_ioapic_msi)
{
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = MSI_VECTOR };
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_irqchip c;
	struct ucall uc;

	if (!have_lapic())
		SKIP(return, "needs a local APIC (KVM_CAP_IRQCHIP)");
	vm = vm_create_guest(0);
	ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vcpu = vm_vcpu_add_guest(vm, 0, guest_deliver);
	vm_install_exception_handler(vm, PIC_VECTOR, guest_irq_handler);
	vm_install_exception_handler(vm, IOAPIC_VECTOR, guest_irq_handler);
	vm_install_exception_handler(vm, MSI_VECTOR, guest_irq_handler);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(1, line_status(vm->fd, 3, 1));
	line_status(vm->fd, 3, 0);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(0, get_chip(vm->fd, KVM_IRQCHIP_PIC_MASTER).chip.pic.isr);

	/* Level pin 10: delivered to the one APIC, then Remote IRR. */
	EXPECT_EQ(1, line_status(vm->fd, 10, 1));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(10, uc.args[0]);
	c = get_chip(vm->fd, KVM_IRQCHIP_IOAPIC);
	EXPECT_EQ(RTE_REMOTE_IRR, c.chip.ioapic.redirtbl[10].bits & RTE_REMOTE_IRR);
	EXPECT_EQ(-1, line_status(vm->fd, 10, 1));	/* waits for the EOI */
	line_status(vm->fd, 10, 0);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(3, uc.args[0]);
	c = get_chip(vm->fd, KVM_IRQCHIP_IOAPIC);
	EXPECT_EQ(0, c.chip.ioapic.redirtbl[10].bits & RTE_REMOTE_IRR);
	EXPECT_EQ(0, c.chip.ioapic.irr);

	EXPECT_EQ(1, okvm_ioctl(vm->fd, KVM_SIGNAL_MSI, (unsigned long)&msi));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(4, uc.args[0]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	kvm_vm_free(vm);
}

/*
 * A level line that never goes low: every EOI redelivers it. The guest
 * EOIs in a loop; the host must still stop the vCPU with a signal, and
 * the interrupts keep coming (the IOAPIC paces them after 10000 in a row
 * instead of dropping them).
 */
#define STORM_VECTOR	0x1a

static volatile unsigned long storm_count;

static void guest_storm_handler(struct ex_regs *regs)
{
	storm_count++;
	*(volatile uint32_t *)(APIC_GPA + 0xb0) = 0;
}

static void guest_storm(void)
{
	*(volatile uint32_t *)(APIC_GPA + 0xf0) = 0x1ff;
	outb(0x21, 0xff);		/* GSI 12 reaches the PIC too */
	outb(0xa1, 0xff);
	ioapic_write(0x11 + 2 * 12, 0);
	ioapic_write(0x10 + 2 * 12, RTE_LEVEL | STORM_VECTOR);
	GUEST_SYNC(1);
	asm volatile("sti" ::: "memory");
	for (;;)
		asm volatile("pause" ::: "memory");
}

static void storm_signal(int sig)
{
}

struct storm_run {
	struct kvm_vcpu *vcpu;
	int ret;
};

static void *storm_thread(void *p)
{
	struct storm_run *r = p;

	/* One KVM_RUN: the library's _vcpu_run() retries after a signal. */
	r->ret = ioctl(r->vcpu->fd, KVM_RUN, 0) < 0 ? -errno : 0;
	return NULL;
}

TEST(deliver_level_storm_stops_on_signal)
{
	struct sigaction sa = { .sa_handler = storm_signal };
	struct storm_run r;
	struct kvm_vm *vm;
	pthread_t thread;
	struct ucall uc;
	unsigned long count;

	if (!have_lapic())
		SKIP(return, "needs a local APIC (KVM_CAP_IRQCHIP)");
	vm = vm_create_guest(0);
	ASSERT_EQ(0, okvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	r.vcpu = vm_vcpu_add_guest(vm, 0, guest_storm);
	vm_install_exception_handler(vm, STORM_VECTOR, guest_storm_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(r.vcpu, &uc)) TH_LOG("%s", ucall_str(&uc));
	EXPECT_EQ(1, line_status(vm->fd, 12, 1));

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&thread, NULL, storm_thread, &r));
	usleep(500 * 1000);
	ASSERT_EQ(0, pthread_kill(thread, SIGUSR1));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(-EINTR, r.ret);
	EXPECT_EQ(KVM_EXIT_INTR, r.vcpu->run->exit_reason);
	count = *(unsigned long *)addr_gva2hva(vm, &storm_count);
	TH_LOG("%lu interrupts in 0.5 s", count);
	EXPECT_LT(1, count);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
