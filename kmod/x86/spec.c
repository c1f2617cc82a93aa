// SPDX-License-Identifier: GPL-2.0-only
/*
 * spec.c - speculative-execution hygiene shared by both world switches:
 * the L1D flush for L1TF, the VMSCAPE flag, and the one dmesg line that
 * says at load which mitigations the entry path applies.
 *
 * Every decision here follows a flag the host kernel set at boot from the
 * CPU's bugs and the command line (X86_FEATURE_* synthetic flags,
 * X86_BUG_*, l1tf_mitigation), the same flags the kernel's own KVM reads,
 * so "mitigations=off" or "l1tf=off" turn okvm's off too. The assembly
 * parts (RSB fill, VERW, untraining) live in svm/vmenter.S and
 * vmx/vmenter.S as kernel alternatives on those flags.
 * Documentation/design.rst has the table.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>

#include "spec.h"

/* Bigger than any L1D so far, as KVM assumes (PAGE_SIZE << 4 = 64 KiB). */
#define OKVM_L1D_FLUSH_ORDER	4
#define OKVM_L1D_FLUSH_SIZE	(PAGE_SIZE << OKVM_L1D_FLUSH_ORDER)

static enum okvm_l1d_need okvm_l1d_need;
static u8 *okvm_l1d_flush_buf;

int okvm_l1d_flush_init(void)
{
	u64 caps = 0;
	struct page *page;

	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
		rdmsrl_safe(MSR_IA32_ARCH_CAPABILITIES, &caps);
	okvm_l1d_need = okvm_l1d_decide(boot_cpu_has_bug(X86_BUG_L1TF),
					caps & ARCH_CAP_SKIP_VMENTRY_L1DFLUSH,
					l1tf_mitigation == L1TF_MITIGATION_OFF,
					boot_cpu_has(X86_FEATURE_FLUSH_L1D));
	if (okvm_l1d_need != OKVM_L1D_FLUSH_SW)
		return 0;
	page = alloc_pages(GFP_KERNEL, OKVM_L1D_FLUSH_ORDER);
	if (!page)
		return -ENOMEM;
	okvm_l1d_flush_buf = page_address(page);
	/* Distinct contents, so that no page is merged or left unbacked. */
	memset(okvm_l1d_flush_buf, 0x90, OKVM_L1D_FLUSH_SIZE);
	return 0;
}

void okvm_l1d_flush_exit(void)
{
	if (okvm_l1d_flush_buf)
		free_pages((unsigned long)okvm_l1d_flush_buf,
			   OKVM_L1D_FLUSH_ORDER);
	okvm_l1d_flush_buf = NULL;
}

unsigned int okvm_l1d_flush_mode(void)
{
	switch (okvm_l1d_need) {
	case OKVM_L1D_FLUSH_MSR:
		return OKVM_SPEC_L1D_MSR;
	case OKVM_L1D_FLUSH_SW:
		return OKVM_SPEC_L1D_SW;
	default:
		return 0;
	}
}

/*
 * Before a VMX entry, interrupts off. KVM's default ("cond") skips the
 * flush after exits it handled without touching other data; okvm flushes
 * before every entry where the mitigation applies, KVM's "always".
 */
void okvm_l1d_flush(void)
{
	unsigned int off;

	if (okvm_l1d_need == OKVM_L1D_NOT_NEEDED)
		return;
	if (okvm_l1d_need == OKVM_L1D_FLUSH_MSR) {
		native_wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
		return;
	}
	/* Touch every page first, so that TLB misses do not slow the fill. */
	for (off = 0; off < OKVM_L1D_FLUSH_SIZE; off += PAGE_SIZE)
		(void)READ_ONCE(okvm_l1d_flush_buf[off]);
	/* CPUID serializes: the fill starts with the TLB warm. */
	native_cpuid_eax(0);
	for (off = 0; off < OKVM_L1D_FLUSH_SIZE; off += L1_CACHE_BYTES)
		(void)READ_ONCE(okvm_l1d_flush_buf[off]);
	barrier_nospec();
}

/* What both vendors apply the same way. */
unsigned int okvm_spec_common(void)
{
	unsigned int active = 0;

	if (boot_cpu_has(X86_FEATURE_USE_IBPB))
		active |= OKVM_SPEC_IBPB_SWITCH;
#ifdef X86_FEATURE_IBPB_EXIT_TO_USER
	if (boot_cpu_has(X86_FEATURE_IBPB_EXIT_TO_USER))
		active |= OKVM_SPEC_IBPB_USER;
#endif
	return active;
}

/*
 * After every exit, interrupts still off (so on the CPU that ran the
 * guest): VMSCAPE (CVE-2025-40300) lets a guest poison branch predictions
 * that the VMM's user space then follows. Where the kernel mitigates it,
 * it issues an IBPB before this CPU next returns to user space if this
 * flag is set, which the kernel's KVM sets after each exit.
 */
void okvm_spec_after_exit(void)
{
#ifdef X86_FEATURE_IBPB_EXIT_TO_USER
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);
#endif
}

static const char *const okvm_spec_names[] = {
	"rsb-fill", "rsb-fill-lite", "ibpb-on-vcpu-switch", "verw",
	"l1d-flush-msr", "l1d-flush-sw", "ibrs-after-exit", "untrain-ret",
	"ibpb-after-exit", "bhb-clear", "ibpb-before-user",
};

/* One line at load, for the administrator and for module_test.sh. */
void okvm_spec_report(const char *vendor, unsigned int active)
{
	char buf[256];
	int i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(okvm_spec_names); i++)
		if (active & BIT(i))
			n += scnprintf(buf + n, sizeof(buf) - n, " %s",
				       okvm_spec_names[i]);
	pr_info("%s speculation mitigations:%s\n", vendor, n ? buf : " none");
}
