// SPDX-License-Identifier: GPL-2.0-only
/*
 * clock.c - the VM's kvmclock: nanoseconds since the VM was created (or
 * since what KVM_SET_CLOCK said), which KVM_GET_CLOCK reads.
 *
 * KVM counts it from a base clock plus a per-VM offset; when its "master
 * clock" is in use (a stable host TSC and matched vCPU TSCs) it reads the
 * base through the TSC and reports KVM_CLOCK_TSC_STABLE, and, where the
 * host's clocksource is the TSC, REALTIME and HOST_TSC too. okvm has no
 * master clock: it always takes KVM's other path, the host's
 * CLOCK_BOOTTIME plus the offset, so it never reports TSC_STABLE; it
 * reports REALTIME and HOST_TSC where KVM does, when the host's
 * clocksource is the TSC (okvm_get_clock()).
 */
#include <linux/kvm.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/pvclock-abi.h>
#include <asm/tsc.h>

#include "ops.h"
#include "x86.h"

/* Bit 0 of MSR_KVM_SYSTEM_TIME(_NEW) enables the per-vCPU page. */
#define OKVM_KVMCLOCK_ENABLE	BIT_ULL(0)
/* vcpu->kvmclock_requests: refill the page before the next entry. */
#define OKVM_KVMCLOCK_REQ_UPDATE	0

/* The flags KVM_CAP_ADJUST_CLOCK reports and KVM_SET_CLOCK accepts. */
#define OKVM_CLOCK_VALID_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | \
				 KVM_CLOCK_HOST_TSC)

u32 okvm_clock_valid_flags(void)
{
	return OKVM_CLOCK_VALID_FLAGS;
}

/* The clock starts at 0 when the VM is created. */
void okvm_clock_init(struct okvm_vm *vm)
{
	vm->kvmclock_offset = -ktime_get_boottime_ns();
}

/* The VM's clock now, in ns. */
u64 okvm_clock_read(struct okvm_vm *vm)
{
	return ktime_get_boottime_ns() + READ_ONCE(vm->kvmclock_offset);
}

/*
 * KVM_GET_CLOCK. The clock, and, when the host's timekeeping reads the
 * TSC, the host's wall time (KVM_CLOCK_REALTIME) and TSC
 * (KVM_CLOCK_HOST_TSC) of the same moment, which a VMM passes to the
 * destination's KVM_SET_CLOCK to count the time a migration took. The
 * timekeeper's snapshot gives the wall time with the clocksource reading
 * it was computed from; that reading is the TSC exactly when it lies
 * between two RDTSCs around the snapshot (with HPET or ACPI PM it is a
 * 32- or 24-bit counter, nowhere near). The clock is read within the same
 * window: off by the few hundred ns between the two, where KVM's master
 * clock derives all three from one TSC reading.
 */
static void okvm_clock_sample(struct okvm_vm *vm, struct kvm_clock_data *data)
{
	struct system_time_snapshot snap;
	u64 before, after;

	preempt_disable();	/* both RDTSCs and the snapshot on one CPU */
	before = rdtsc_ordered();
	ktime_get_snapshot(&snap);
	data->clock = okvm_clock_read(vm);
	after = rdtsc_ordered();
	preempt_enable();
	if (snap.cycles < before || snap.cycles > after)
		return;
	data->flags = KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	data->realtime = ktime_to_ns(snap.real);
	data->host_tsc = snap.cycles;
}

static int okvm_get_clock(struct okvm_vm *vm, void __user *argp)
{
	struct kvm_clock_data data = {};

	okvm_clock_sample(vm, &data);
	return copy_to_user(argp, &data, sizeof(data)) ? -EFAULT : 0;
}

/*
 * KVM_SET_CLOCK: the clock reads data.clock now. With KVM_CLOCK_REALTIME,
 * data.clock was the clock at host wall time data.realtime, and the time
 * since is added (never subtracted, as KVM: a realtime in the future is
 * taken as now). The other valid flags are accepted so that KVM_GET_CLOCK's
 * answer can be passed back; KVM checks neither pad[] nor realtime/host_tsc
 * without their flags.
 */
static int okvm_set_clock(struct okvm_vm *vm, void __user *argp)
{
	struct kvm_clock_data data;
	u64 now;

	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	if (data.flags & ~OKVM_CLOCK_VALID_FLAGS)
		return -EINVAL;
	if (data.flags & KVM_CLOCK_REALTIME) {
		now = ktime_get_real_ns();
		if (now > data.realtime)
			data.clock += now - data.realtime;
	}
	mutex_lock(&vm->lock);
	WRITE_ONCE(vm->kvmclock_offset, data.clock - ktime_get_boottime_ns());
	mutex_unlock(&vm->lock);
	okvm_kvmclock_request_all(vm);
	return 0;
}

long okvm_vm_ioctl_clock(struct okvm_vm *vm, unsigned int ioctl,
			 void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_CLOCK:
		return okvm_get_clock(vm, argp);
	case KVM_SET_CLOCK:
		return okvm_set_clock(vm, argp);
	default:
		return -ENOTTY;
	}
}

/*
 * The guest-visible kvmclock (KVM's Documentation/virt/kvm/x86/msr.rst):
 * a per-vCPU struct pvclock_vcpu_time_info at the GPA the guest writes to
 * MSR_KVM_SYSTEM_TIME(_NEW) with bit 0 set, and a struct
 * pvclock_wall_clock written once at each write of MSR_KVM_WALL_CLOCK(_NEW).
 *
 * The guest computes the VM's clock as
 *	system_time + ((rdtsc() - tsc_timestamp) scaled by shift) * mul >> 32
 * so the page holds one (clock, guest TSC) pair taken together and the TSC
 * rate. It must be refilled whenever that pair stops describing the guest's
 * TSC: when the TSC offset changes (an IA32_TSC write), when the VM's clock
 * is set (KVM_SET_CLOCK), and, since okvm has no master clock and so does
 * not assume the host CPUs' TSCs agree, when the vCPU moves to another host
 * CPU. Without a master clock KVM leaves PVCLOCK_TSC_STABLE_BIT clear, and
 * so does okvm: each vCPU's page is computed separately and the guest must
 * not assume they agree either.
 */

bool okvm_is_kvmclock_msr(u32 index)
{
	return index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_SYSTEM_TIME ||
	       index == MSR_KVM_WALL_CLOCK_NEW ||
	       index == MSR_KVM_SYSTEM_TIME_NEW;
}

/* The refill happens in the run loop (run.c), before the next entry. */
void okvm_kvmclock_request(struct okvm_vcpu *vcpu)
{
	set_bit(OKVM_KVMCLOCK_REQ_UPDATE, &vcpu->kvmclock_requests);
}

void okvm_kvmclock_request_all(struct okvm_vm *vm)
{
	/* Pairs with the release that publishes vcpus[] (vcpu.c). */
	unsigned int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++)
		okvm_kvmclock_request(READ_ONCE(vm->vcpus[i]));
}

/*
 * mul and shift such that ns = (delta << shift) * mul >> 32 (a negative
 * shift shifts right) for a TSC running at @hz: mul / 2^32 * 2^shift =
 * NSEC_PER_SEC / hz, with mul in [2^31, 2^32) for precision, so shift is
 * the smallest with hz * 2^shift > NSEC_PER_SEC.
 */
static u64 okvm_tsc_shifted(u64 hz, int shift)
{
	return shift >= 0 ? hz << shift : hz >> -shift;
}

static void okvm_tsc_scale(u64 hz, s8 *shift, u32 *mul)
{
	int s = 0;

	while (okvm_tsc_shifted(hz, s) <= NSEC_PER_SEC)
		s++;
	while (okvm_tsc_shifted(hz, s - 1) > NSEC_PER_SEC)
		s--;
	*shift = s;
	*mul = div64_u64((u64)NSEC_PER_SEC << 32, okvm_tsc_shifted(hz, s));
}

/*
 * Fill the vCPU's pvclock page. The version is odd while the contents
 * change and even once they are consistent, counted on from what the page
 * holds (another vCPU may read it, as KVM notes); PVCLOCK_GUEST_STOPPED,
 * once set, stays until the guest clears it. A GPA outside guest memory or
 * a structure crossing a page is left alone, as KVM's cache refuses it.
 */
static void okvm_kvmclock_update(struct okvm_vcpu *vcpu)
{
	struct okvm_vm *vm = vcpu->vm;
	u64 gpa = vcpu->kvmclock_msr & ~OKVM_KVMCLOCK_ENABLE;
	struct pvclock_vcpu_time_info pv = {};
	u64 guest_tsc, tsc_offset, host_tsc, now;
	unsigned long irqflags;
	u32 version;
	u8 flags;

	if (offset_in_page(gpa) + sizeof(pv) > PAGE_SIZE || !tsc_khz)
		return;
	if (okvm_read_guest(vm, gpa + offsetof(typeof(pv), version), &version,
			    sizeof(version)) ||
	    okvm_read_guest(vm, gpa + offsetof(typeof(pv), flags), &flags,
			    sizeof(flags)))
		return;

	/* The guest's TSC is the host's plus the vendor's offset. */
	if (okvm_x86->get_msr(vcpu, MSR_IA32_TSC, &guest_tsc))
		return;
	tsc_offset = guest_tsc - rdtsc();

	/* One clock reading and one TSC reading, as close as they can be. */
	local_irq_save(irqflags);
	now = ktime_get_boottime_ns();
	host_tsc = rdtsc();
	local_irq_restore(irqflags);

	pv.tsc_timestamp = host_tsc + tsc_offset;
	pv.system_time = now + READ_ONCE(vm->kvmclock_offset);
	okvm_tsc_scale((u64)tsc_khz * 1000, &pv.tsc_shift,
		       &pv.tsc_to_system_mul);
	pv.flags = flags & PVCLOCK_GUEST_STOPPED;
	if (vcpu->kvmclock_stop_request) {
		pv.flags |= PVCLOCK_GUEST_STOPPED;
		vcpu->kvmclock_stop_request = false;
	}

	/*
	 * Odd version first, then the data, then the even version: each
	 * write is a copy to user memory, which x86 keeps in program order.
	 */
	pv.version = (version + 1) | 1;
	if (okvm_write_guest(vm, gpa, &pv.version, sizeof(pv.version)))
		return;
	if (okvm_write_guest(vm, gpa, &pv, sizeof(pv)))
		return;
	pv.version++;
	okvm_write_guest(vm, gpa, &pv.version, sizeof(pv.version));
}

/*
 * Before each entry (run.c): refill the page when something asked for it
 * or the vCPU is about to run on another host CPU than at the last fill.
 */
void okvm_kvmclock_before_entry(struct okvm_vcpu *vcpu)
{
	int cpu = raw_smp_processor_id();
	bool asked;

	/* Test before the locked clear: most entries have nothing to do. */
	asked = test_bit(OKVM_KVMCLOCK_REQ_UPDATE, &vcpu->kvmclock_requests) &&
		test_and_clear_bit(OKVM_KVMCLOCK_REQ_UPDATE,
				   &vcpu->kvmclock_requests);
	if (!asked && cpu == vcpu->kvmclock_cpu)
		return;
	vcpu->kvmclock_cpu = cpu;
	if (vcpu->kvmclock_msr & OKVM_KVMCLOCK_ENABLE)
		okvm_kvmclock_update(vcpu);
}

/*
 * The wall clock: the host's real time at which the VM's clock read 0,
 * so that the guest adds its kvmclock to get the time of day. The version
 * protocol is the per-vCPU page's; KVM makes a first, odd version from
 * whatever the memory held.
 */
static void okvm_write_wall_clock(struct okvm_vm *vm, u64 gpa)
{
	struct pvclock_wall_clock wc;
	u64 boot_ns;
	u32 version;

	if (okvm_read_guest(vm, gpa, &version, sizeof(version)))
		return;
	version = (version + 1) | 1;
	if (okvm_write_guest(vm, gpa, &version, sizeof(version)))
		return;
	boot_ns = ktime_get_real_ns() - okvm_clock_read(vm);
	wc.version = version;
	/* 32-bit seconds, as KVM: they wrap in 2106. */
	wc.sec = (u32)div_u64_rem(boot_ns, NSEC_PER_SEC, &wc.nsec);
	if (okvm_write_guest(vm, gpa, &wc, sizeof(wc)))
		return;
	version++;
	okvm_write_guest(vm, gpa, &version, sizeof(version));
}

int okvm_kvmclock_get_msr(struct okvm_vcpu *vcpu, u32 index, u64 *data)
{
	if (index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_WALL_CLOCK_NEW)
		*data = READ_ONCE(vcpu->vm->wall_clock_msr);
	else
		*data = vcpu->kvmclock_msr;
	return 0;
}

/*
 * KVM accepts any value from the guest and the VMM alike and keeps it for
 * reads back; a bad GPA only means that nothing is written there. The old
 * and new MSRs share their values, as in KVM.
 */
int okvm_kvmclock_set_msr(struct okvm_vcpu *vcpu, u32 index, u64 data)
{
	if (index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_WALL_CLOCK_NEW) {
		WRITE_ONCE(vcpu->vm->wall_clock_msr, data);
		okvm_write_wall_clock(vcpu->vm, data);
		return 0;
	}
	vcpu->kvmclock_msr = data;
	okvm_kvmclock_request(vcpu);
	return 0;
}

/*
 * KVM_KVMCLOCK_CTRL: the VMM paused the guest; the next fill of the page
 * sets PVCLOCK_GUEST_STOPPED so that the guest's watchdogs do not take the
 * pause for a lockup. EINVAL while the page is not enabled, as KVM.
 */
long okvm_vcpu_kvmclock_ctrl(struct okvm_vcpu *vcpu)
{
	if (!(vcpu->kvmclock_msr & OKVM_KVMCLOCK_ENABLE))
		return -EINVAL;
	vcpu->kvmclock_stop_request = true;
	okvm_kvmclock_request(vcpu);
	return 0;
}
