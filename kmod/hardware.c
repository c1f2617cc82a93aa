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
 * hypervisor registered, which okvm does while it holds the hardware, and
 * after while no KVM module is loaded (okvm_emergency_put()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/reboot.h>
#include <linux/smp.h>
#include <asm/reboot.h>

#include "okvm.h"
#include "x86/ops.h"
#include "x86/x86.h"

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
 * Giving the emergency callback back costs an RCU grace period (6.12's
 * cpu_emergency_unregister_virt_callback() calls synchronize_rcu()), tens
 * of milliseconds: done with every last VM, a VMM that creates and closes
 * VMs in turn waited for one per VM (vm_lifecycle_test: 10,000 VMs took
 * 291 s on 6.12, 35 s without). The kernel keeps one callback, and
 * only KVM may want the place: so okvm gives it back with its last VM
 * only while KVM's module is loaded (KVM registers its own with its first
 * VM), and otherwise keeps it, doing nothing where the extension is off,
 * until a KVM module is about to load or okvm unloads.
 *
 * okvm_emergency_registered and okvm_kvm_loaded are guarded by
 * okvm_hardware_lock.
 */
static bool okvm_emergency_registered;
static bool okvm_kvm_loaded;	/* KVM's core module, kvm.ko, is loaded */

static void okvm_emergency_get(void)
{
	if (OKVM_EMERGENCY_CALLBACK && !okvm_emergency_registered) {
		cpu_emergency_register_virt_callback(okvm_emergency_disable);
		okvm_emergency_registered = true;
	}
}

static void okvm_emergency_release(void)
{
	if (okvm_emergency_registered && !okvm_hardware_users) {
		cpu_emergency_unregister_virt_callback(okvm_emergency_disable);
		okvm_emergency_registered = false;
	}
}

/*
 * Follow kvm.ko's loads and unloads; give the callback's place up before
 * any KVM module's init runs.
 */
static int okvm_module_event(struct notifier_block *nb, unsigned long state,
			     void *data)
{
	struct module *mod = data;

	if (strncmp(mod->name, "kvm", 3))
		return NOTIFY_DONE;
	mutex_lock(&okvm_hardware_lock);
	if (state == MODULE_STATE_COMING) {
		okvm_emergency_release();
		okvm_kvm_loaded |= !strcmp(mod->name, "kvm");
	} else if (state == MODULE_STATE_GOING && !strcmp(mod->name, "kvm")) {
		okvm_kvm_loaded = false;
	}
	mutex_unlock(&okvm_hardware_lock);
	return NOTIFY_DONE;
}

static struct notifier_block okvm_module_nb = {
	.notifier_call = okvm_module_event,
};

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
		okvm_emergency_get();
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
		cpuhp_remove_state(okvm_hardware_state);
		if (okvm_kvm_loaded)
			okvm_emergency_release();
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
	static const char *const kvm[] = { "kvm", NULL };
	int ret = register_reboot_notifier(&okvm_reboot_nb);

	if (ret || !OKVM_EMERGENCY_CALLBACK)
		return ret;
	ret = register_module_notifier(&okvm_module_nb);
	if (ret) {
		unregister_reboot_notifier(&okvm_reboot_nb);
		return ret;
	}
	/* After the notifier is in place, so that no load goes unseen. */
	mutex_lock(&okvm_hardware_lock);
	if (okvm_x86_hypervisor_owner(kvm))
		okvm_kvm_loaded = true;
	mutex_unlock(&okvm_hardware_lock);
	return 0;
}

void okvm_hardware_exit(void)
{
	if (OKVM_EMERGENCY_CALLBACK)
		unregister_module_notifier(&okvm_module_nb);
	unregister_reboot_notifier(&okvm_reboot_nb);
	/* Every VM held a module reference, so none is left. */
	WARN_ON(okvm_hardware_users);
	mutex_lock(&okvm_hardware_lock);
	okvm_emergency_release();
	mutex_unlock(&okvm_hardware_lock);
}
