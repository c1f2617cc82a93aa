// SPDX-License-Identifier: GPL-2.0-only
/*
 * clock.c - the VM's kvmclock: nanoseconds since the VM was created (or
 * since what KVM_SET_CLOCK said), which KVM_GET_CLOCK reads.
 *
 * KVM counts it from a base clock plus a per-VM offset; when its "master
 * clock" is in use (a stable host TSC and matched vCPU TSCs) it reads the
 * base through the TSC and reports KVM_CLOCK_TSC_STABLE, REALTIME and
 * HOST_TSC. okvm has no master clock: it always takes KVM's other path,
 * the host's CLOCK_BOOTTIME plus the offset, and reports no flag, exactly
 * as KVM does on a host without a stable TSC.
 */
#include <linux/kvm.h>
#include <linux/ktime.h>
#include <linux/uaccess.h>

#include "x86.h"

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

static int okvm_get_clock(struct okvm_vm *vm, void __user *argp)
{
	struct kvm_clock_data data = {};

	data.clock = okvm_clock_read(vm);
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
