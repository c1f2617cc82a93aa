// SPDX-License-Identifier: GPL-2.0-only
/*
 * hardware.c - keep the virtualization extension enabled on every CPU while
 * any VM exists, and disable it again with the last one.
 *
 * Why per VM and not at load: Documentation/design.rst, "When the hardware
 * is turned on". The per-CPU work is a CPU hotplug state, so a CPU that
 * comes online while VMs exist is turned on before it runs anything, and
 * one that goes offline is turned off first.
 *
 * A reboot runs our notifier, which turns the extension off everywhere.
 * The crash (kdump) and emergency-restart paths run no notifier: they stop
 * every CPU with an NMI and call cpu_emergency_disable_virtualization() on
 * each. What that does depends on the kernel (Documentation/design.rst,
 * "Emergency paths"): 6.1 (and every kernel that still has
 * <asm/virtext.h>) turns VMX and SVM off by itself, whoever enabled them,
 * testing CR4.VMXE and EFER.SVME; later kernels only call the callback a
 * hypervisor registered, which okvm does for as long as it holds the
 * hardware.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/mutex.h>
#include <linux/reboot.h>
#include <linux/smp.h>
#include <asm/reboot.h>

#include "okvm.h"
#include "x86/ops.h"

/*
 * Locking: okvm_hardware_lock guards okvm_hardware_users and
 * okvm_hardware_state. The per-CPU hooks run under the hotplug lock.
 */
static DEFINE_MUTEX(okvm_hardware_lock);
static unsigned int okvm_hardware_users;
static int okvm_hardware_state;	/* the dynamic cpuhp state, while users */
static bool okvm_rebooting;

static int okvm_cpu_online(unsigned int cpu)
{
	/* A reboot turned everything off; do not turn a CPU back on. */
	if (READ_ONCE(okvm_rebooting))
		return -EBUSY;
	return okvm_x86->hardware_enable();
}

static int okvm_cpu_offline(unsigned int cpu)
{
	okvm_x86->hardware_disable();
	return 0;
}

/*
 * Whether the kernel's emergency path needs okvm's callback: not where it
 * turns VMX and SVM off itself (Kbuild defines OKVM_KERNEL_STOPS_VIRT_ITSELF
 * for the kernels that have <asm/virtext.h>), where registering would also
 * collide with kvm-intel's, which 6.1 registers at load and keeps (the
 * kernel takes one callback and warns on a second).
 */
#ifdef OKVM_KERNEL_STOPS_VIRT_ITSELF
#define OKVM_EMERGENCY_CALLBACK	0
#else
#define OKVM_EMERGENCY_CALLBACK	1
#endif

/* Called in NMI context on every CPU by the crash and emergency paths. */
static void okvm_emergency_disable(void)
{
	okvm_x86->emergency_disable();
}

/*
 * Take a reference on the hardware for a new VM. The first reference turns
 * the extension on everywhere; if any CPU refuses (another hypervisor took
 * it since we loaded), the ones already on are turned off again and the
 * caller gets the CPU's errno.
 */
int okvm_hardware_get(void)
{
	int ret = 0;

	mutex_lock(&okvm_hardware_lock);
	if (okvm_hardware_users == 0) {
		ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "okvm:online",
					okvm_cpu_online, okvm_cpu_offline);
		if (ret < 0)
			goto out;
		okvm_hardware_state = ret;
		ret = 0;
		if (OKVM_EMERGENCY_CALLBACK)
			cpu_emergency_register_virt_callback(okvm_emergency_disable);
	}
	okvm_hardware_users++;
out:
	mutex_unlock(&okvm_hardware_lock);
	return ret;
}

void okvm_hardware_put(void)
{
	mutex_lock(&okvm_hardware_lock);
	if (!WARN_ON(okvm_hardware_users == 0) && --okvm_hardware_users == 0) {
		if (OKVM_EMERGENCY_CALLBACK)
			cpu_emergency_unregister_virt_callback(okvm_emergency_disable);
		cpuhp_remove_state(okvm_hardware_state);
	}
	mutex_unlock(&okvm_hardware_lock);
}

static void okvm_cpu_disable_ipi(void *unused)
{
	okvm_x86->hardware_disable();
}

/*
 * Firmware and the next kernel expect the CPU without SVM/VMX enabled, and
 * an INIT with VMX on is blocked (SDM 24.8), so leave no CPU on. VMs may
 * still exist; their vCPUs cannot run again since nothing turns the CPUs
 * back on.
 */
static int okvm_reboot(struct notifier_block *nb, unsigned long code,
		       void *unused)
{
	WRITE_ONCE(okvm_rebooting, true);
	mutex_lock(&okvm_hardware_lock);
	if (okvm_hardware_users)
		on_each_cpu(okvm_cpu_disable_ipi, NULL, 1);
	mutex_unlock(&okvm_hardware_lock);
	return NOTIFY_OK;
}

static struct notifier_block okvm_reboot_nb = {
	.notifier_call = okvm_reboot,
};

int __init okvm_hardware_init(void)
{
	return register_reboot_notifier(&okvm_reboot_nb);
}

void okvm_hardware_exit(void)
{
	unregister_reboot_notifier(&okvm_reboot_nb);
	/* Every VM held a module reference, so none is left. */
	WARN_ON(okvm_hardware_users);
}
