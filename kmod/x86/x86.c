// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86.c - choose the virtualization extension and say why when there is none.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/printk.h>
#include <linux/smp.h>
#include <asm/cpufeature.h>
#include <asm/fpu/xcr.h>
#include <asm/mce.h>
#include <asm/processor.h>
#include <asm/ptrace.h>

#include "ops.h"
#include "x86.h"

const struct okvm_x86_ops *okvm_x86;

/* The host's XCR0, fixed at boot; run.c switches to the guest's and back. */
u64 okvm_host_xcr0;

/*
 * Each vendor's probe answers -ENODEV when its CPUID bit is clear, so a CPU
 * implements at most one of them and the first non--ENODEV answer is final.
 */
static const struct okvm_x86_ops *const okvm_x86_vendors[] = {
	&okvm_svm_ops,
	&okvm_vmx_ops,
};

int okvm_x86_init(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(okvm_x86_vendors); i++) {
		ret = okvm_x86_vendors[i]->probe();
		if (ret == -ENODEV)
			continue;
		if (ret)
			return ret;
		okvm_x86 = okvm_x86_vendors[i];
		if (boot_cpu_has(X86_FEATURE_XSAVE))
			okvm_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
		ret = okvm_cpuid_init();
		if (ret)
			okvm_x86_exit();
		return ret;
	}
	pr_err("this CPU has neither AMD SVM (CPUID 0x80000001 ECX bit 2) nor Intel VMX (CPUID 1 ECX bit 5); cannot load\n");
	return -ENODEV;
}

/* Undo okvm_x86_init(). */
void okvm_x86_exit(void)
{
	okvm_cpuid_exit();
	if (okvm_x86->unload)
		okvm_x86->unload();
}

/*
 * Name the module that most likely holds the extension we found in use, so
 * the refusal message tells the user what to unload. A module shows up in
 * sysfs as /sys/module/<name> while it is loaded; nothing else exported lets
 * a module ask "is module X loaded?".
 */
const char *okvm_x86_hypervisor_owner(const char *const *candidates)
{
	char dir[64];
	struct path path;

	for (; *candidates; candidates++) {
		snprintf(dir, sizeof(dir), "/sys/module/%s", *candidates);
		if (!kern_path(dir, LOOKUP_DIRECTORY, &path)) {
			path_put(&path);
			return *candidates;
		}
	}
	return NULL;
}

struct okvm_cpu_question {
	bool (*test)(void);
	bool answer;
};

static void okvm_x86_ask_cpu(void *arg)
{
	struct okvm_cpu_question *q = arg;

	q->answer = q->test();
}

/*
 * Return the first online CPU on which @test() is true, or -1. State such as
 * EFER.SVME or CR4.VMXE is per CPU, and another hypervisor may have set it on
 * some CPUs only, so every CPU is asked on itself.
 */
int okvm_x86_first_cpu_where(bool (*test)(void))
{
	struct okvm_cpu_question q = { .test = test };
	int cpu, found = -1;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		smp_call_function_single(cpu, okvm_x86_ask_cpu, &q, 1);
		if (q.answer) {
			found = cpu;
			break;
		}
	}
	cpus_read_unlock();
	return found;
}

/*
 * The first guest-physical address the second-level page tables cannot map:
 * 2^MAXPHYADDR, from CPUID 0x80000008 EAX[7:0] (Intel SDM Vol. 2A CPUID;
 * AMD APM Vol. 3 E.4.7). Read raw rather than from boot_cpu_data, which
 * memory encryption may have reduced for the host's own page tables.
 */
u64 okvm_x86_max_gpa(void)
{
	unsigned int bits = 36;	/* the architectural minimum */

	if (boot_cpu_data.extended_cpuid_level >= 0x80000008)
		bits = cpuid_eax(0x80000008) & 0xff;
	/* Four-level second-level tables stop at 48 bits (mmu.h). */
	return 1ull << min(bits, 48U);
}

/*
 * A machine check that arrived while a guest ran exited to okvm instead of
 * reaching the host (SVM's #MC intercept; on VMX an exception exit with
 * vector 18, or exit reason 41, "VM-entry failure due to machine-check
 * event", SDM 27.8). The host's handler must still see it, on this CPU,
 * before interrupts are enabled. Like KVM (kvm_machine_check()), okvm
 * calls do_machine_check(), exported to modules on 6.1 and 6.12, with a
 * frame that says user mode: the error is the guest's, i.e. the VMM
 * process's, so the handler may kill or signal it rather than panic as
 * for a kernel-mode #MC. Raising the vector with INT 18 instead would
 * present it as a kernel-mode machine check.
 */
void okvm_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3,		/* ring 3: the guest, not the host kernel */
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}
