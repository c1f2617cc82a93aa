/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ops.h - the one place where okvm splits by CPU vendor.
 *
 * Generic code never asks "is this Intel or AMD?": it calls the hooks of the
 * struct okvm_x86_ops that x86.c chose at load time. kmod/x86/svm/ and
 * kmod/x86/vmx/ each fill one table.
 */
#ifndef OKVM_X86_OPS_H
#define OKVM_X86_OPS_H

/*
 * struct okvm_x86_ops - a hardware virtualization extension.
 *
 * Every hook is mandatory unless its comment says otherwise.
 *
 * @name:	"svm" or "vmx", for messages and /sys/module/okvm/parameters.
 * @probe:	decide whether this CPU can run okvm on this extension. Called
 *		once at module load, in process context. Returns 0 when every
 *		online CPU is usable; -ENODEV when the CPU does not implement
 *		the extension at all (the next vendor is then tried, silently);
 *		any other errno is final and the hook has already printed one
 *		line saying why:
 *		  -EPERM	firmware disabled the extension
 *		  -EBUSY	another hypervisor is using it
 *		  -EOPNOTSUPP	a feature okvm requires is missing
 * @hardware_enable:	turn the extension on for the calling CPU (hotplug
 *		thread bound to it: may sleep). Returns 0, or -EBUSY if another
 *		hypervisor holds this CPU (after printing a rate-limited line),
 *		or -ENOMEM.
 * @hardware_disable:	turn it off again on the calling CPU; also called
 *		from IPI context at reboot, and on CPUs where it is already off.
 */
struct okvm_x86_ops {
	const char *name;
	int (*probe)(void);
	int (*hardware_enable)(void);
	void (*hardware_disable)(void);
};

extern const struct okvm_x86_ops okvm_svm_ops;
extern const struct okvm_x86_ops okvm_vmx_ops;

/* The extension in use, chosen by okvm_x86_init(). */
extern const struct okvm_x86_ops *okvm_x86;

#endif /* OKVM_X86_OPS_H */
