// SPDX-License-Identifier: GPL-2.0-only
/*
 * caps.c - KVM_CHECK_EXTENSION's answers, for the system fd (main.c) and a
 * VM fd (vm.c). Kept apart from both so that the device, the VM and the
 * vCPU files call downwards only: main.c creates VMs, a VM creates vCPUs,
 * and both ask this table.
 */
#include <linux/cpumask.h>
#include <linux/kvm.h>
#include <linux/minmax.h>
#include <asm/cpufeature.h>

#include "okvm.h"
#include "x86/irq.h"
#include "x86/ops.h"
#include "x86/x86.h"

/*
 * KVM_CHECK_EXTENSION, on the system fd (@vm NULL) and on a VM fd. A
 * capability appears here only once the feature it names works; the
 * selftests check each answer against behaviour.
 */
long okvm_check_extension(struct okvm_vm *vm, long cap)
{
	switch (cap) {
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_ENABLE_CAP_VM:	/* KVM_CAP_MAX_VCPU_ID (vm.c) */
	case KVM_CAP_MMU_SHADOW_CACHE_CONTROL:	/* mmu_pages.c */
		return 1;
	case KVM_CAP_NR_MEMSLOTS:
		return OKVM_USER_MEM_SLOTS;
	case KVM_CAP_NR_VCPUS:
		/* The recommended count: one vCPU per host CPU. */
		return min_t(long, num_online_cpus(), OKVM_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
		return OKVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return OKVM_MAX_VCPU_ID;
	case KVM_CAP_SYNC_MMU:		/* guest memory follows the VMM's (mmu.c) */
	case KVM_CAP_EXT_CPUID:		/* KVM_GET_SUPPORTED_CPUID */
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_TSC_DEADLINE_TIMER:	/* with KVM_CREATE_IRQCHIP (lapic.c) */
	/* What KVM's generic code has always done, and okvm does too. */
	case KVM_CAP_HLT:		/* HLT exits with KVM_EXIT_HLT */
	case KVM_CAP_USER_NMI:		/* KVM_NMI */
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_INTERNAL_ERROR_DATA:	/* internal.ndata/data[] */
	/* LAPICs, IOAPIC and PICs (x86/irqchip.c and the chips' files). */
	case KVM_CAP_IRQCHIP:
	/* The in-kernel 8254 (x86/pit.c). */
	case KVM_CAP_PIT:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
	case KVM_CAP_KVMCLOCK_CTRL:	/* x86/clock.c */
	case KVM_CAP_READONLY_MEM:	/* writes exit as MMIO (mmu.c) */
	case KVM_CAP_MSR_PLATFORM_INFO:	/* x86/msr.c, vm.c */
	case KVM_CAP_SET_BOOT_CPU_ID:	/* vm.c, okvm_vcpu_is_reset_bsp() */
	case KVM_CAP_VCPU_ATTRIBUTES:	/* KVM_VCPU_TSC_CTRL (x86/tsc_ctrl.c) */
	case KVM_CAP_BINARY_STATS_FD:	/* KVM_GET_STATS_FD (stats.c) */
	case KVM_CAP_SET_GUEST_DEBUG:	/* x86/guest_debug.c */
		return 1;
	case KVM_CAP_MULTI_ADDRESS_SPACE:	/* SMRAM's view (x86/smm.c) */
		return OKVM_ADDRESS_SPACES;
	case KVM_CAP_X86_SMM:		/* x86/smm.c, on the vendors that can */
		return okvm_x86->smm;
	case KVM_CAP_SET_GUEST_DEBUG2:	/* the flags it acts on, as KVM */
		return OKVM_GUESTDBG_VALID;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:	/* dirty_log.c */
		return okvm_dirty_log_manual_caps();
	/* The in-kernel irqchip's routing and injection (x86/routing.c). */
	case KVM_CAP_IRQ_INJECT_STATUS:	/* KVM_IRQ_LINE_STATUS */
	case KVM_CAP_SIGNAL_MSI:
		return 1;
	case KVM_CAP_X2APIC_API:	/* the flags KVM_ENABLE_CAP takes (vm.c) */
		return OKVM_X2APIC_API_FLAGS;
	case KVM_CAP_MCE:		/* banks a vCPU may have (x86/mce.c) */
		return OKVM_MAX_MCE_BANKS;
	case KVM_CAP_IRQ_ROUTING:	/* the most entries of a table */
		return OKVM_MAX_IRQ_ROUTES;
	case KVM_CAP_IOEVENTFD:			/* eventfd.c */
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	case KVM_CAP_COALESCED_PIO:		/* 1, as KVM answers */
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:		/* resampler on the EOI */
		return 1;
	case KVM_CAP_COALESCED_MMIO:		/* where the ring is mapped */
		return KVM_COALESCED_MMIO_PAGE_OFFSET;
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:	/* no XCR0 without XSAVE (Bochs' L1 has none) */
		return boot_cpu_has(X86_FEATURE_XSAVE);
	case KVM_CAP_XSAVE2:
		return boot_cpu_has(X86_FEATURE_XSAVE) ? okvm_xsave2_size() : 0;
	case KVM_CAP_DISABLE_QUIRKS2:	/* the quirks okvm has (hypercall.c) */
		return OKVM_QUIRKS;
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:	/* x86/hypercall.c */
	case KVM_CAP_X86_USER_SPACE_MSR:	/* x86/msr.c, msr_filter.c */
	case KVM_CAP_X86_MSR_FILTER:
		return 1;
	case KVM_CAP_SYNC_REGS:		/* the parts x86/sync_regs.c moves */
		return KVM_SYNC_X86_VALID_FIELDS;
	case KVM_CAP_ADJUST_CLOCK:	/* KVM_GET/SET_CLOCK (x86/clock.c) */
		return okvm_clock_valid_flags();
	default:
		return 0;
	}
}
