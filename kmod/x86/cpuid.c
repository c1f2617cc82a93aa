// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpuid.c - what the guest sees when it executes CPUID.
 *
 * KVM_GET_SUPPORTED_CPUID offers the host's CPUID filtered down to what
 * okvm really virtualizes: a feature bit survives only if the guest can
 * use the feature under okvm without the host's state leaking or breaking.
 * The VMM picks from that list with KVM_SET_CPUID2, and the guest's CPUID
 * instruction is answered from the vCPU's list, with the few bits that
 * depend on guest state (CR4.OSXSAVE, the XSAVE area size) filled in live.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/fpu/types.h>
#include <asm/kvm_para.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "ops.h"
#include "x86.h"

/* KVM's limit on entries (KVM_MAX_CPUID_ENTRIES). */
#define OKVM_MAX_CPUID_ENTRIES	256

/*
 * The feature bits okvm passes through when the host has them (Intel SDM
 * Vol. 2A CPUID; AMD APM Vol. 3 Appendix E). Left out on purpose:
 * VMX/SVM (no nested virtualization yet); x2APIC and TSC-deadline here
 * (added below: the in-kernel local APIC has them whatever the host has);
 * MTRR, MCE, MCA (their MSRs are there, mtrr.c and mce.c, because VMMs
 * write them whatever CPUID says, but no guest is offered them yet);
 * MONITOR/MWAIT (intercepted, NOPs: hypercall.c); RDTSCP and RDPID
 * (TSC_AUX is not switched, so they would show the host's value); PKU
 * (PKRU is not switched); the speculation-control MSRs (not switched);
 * XSAVES (no IA32_XSS).
 */
#define LEAF1_ECX	(BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) | \
			 BIT(17) | BIT(19) | BIT(20) | BIT(22) | BIT(23) | \
			 BIT(25) | BIT(26) | BIT(28) | BIT(29) | BIT(30))
#define LEAF1_ECX_HYPERVISOR	BIT(31)
/*
 * TSC-deadline: the in-kernel local APIC's timer has the mode whatever the
 * host's APIC has (lapic.c); as KVM, KVM_GET_SUPPORTED_CPUID passes the
 * host's bit on, and KVM_CAP_TSC_DEADLINE_TIMER tells the VMM it may set
 * it in any guest's CPUID.
 */
#define LEAF1_ECX_TSC_DEADLINE	BIT(24)
/*
 * x2APIC: the in-kernel local APIC has the mode whatever the host has
 * (lapic.c), and KVM offers it the same way, irqchip or not.
 */
#define LEAF1_ECX_X2APIC	BIT(21)
#define LEAF1_ECX_OSXSAVE	BIT(27)
#define LEAF1_EDX	(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | \
			 BIT(5) | BIT(6) | BIT(8) | BIT(9) | BIT(11) | BIT(13) | \
			 BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(23) | \
			 BIT(24) | BIT(25) | BIT(26))
/*
 * Leaf 7.0 EBX: FSGSBASE BMI1 AVX2 SMEP BMI2 ERMS INVPCID RDSEED ADX SMAP
 * CLFLUSHOPT CLWB SHA; the AVX-512 bits only with their XSAVE state.
 */
#define LEAF7_EBX	(BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) | \
			 BIT(9) | BIT(10) | BIT(18) | BIT(19) | BIT(20) | \
			 BIT(23) | BIT(24) | BIT(29))
#define LEAF7_EBX_TSC_ADJUST	BIT(1)
#define LEAF7_EBX_AVX512 (BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | \
			  BIT(28) | BIT(30) | BIT(31))
/*
 * Leaf 7.0 ECX: UMIP GFNI VAES VPCLMULQDQ; AVX-512 VBMI VBMI2 VNNI BITALG
 * VPOPCNTDQ with AVX-512.
 */
#define LEAF7_ECX	(BIT(2) | BIT(8) | BIT(9) | BIT(10))
#define LEAF7_ECX_AVX512 (BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14))
/* Leaf 7.0 EDX: FSRM, SERIALIZE. */
#define LEAF7_EDX	(BIT(4) | BIT(14))
/* 0x80000001 ECX: LAHF/SAHF LZCNT SSE4A MisAlignSSE PREFETCHW XOP FMA4 TBM. */
#define EXT1_ECX	(BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | \
			 BIT(11) | BIT(16) | BIT(21))
/*
 * 0x80000001 EDX: leaf 1's bits 0-17 and 23-24 as AMD mirrors them, plus
 * SYSCALL NX MMXEXT FFXSR 1GB-pages LM 3DNowExt 3DNow.
 */
#define EXT1_EDX	((LEAF1_EDX & (GENMASK(17, 0) | BIT(23) | BIT(24))) | \
			 BIT(11) | BIT(20) | BIT(22) | BIT(25) | BIT(26) | \
			 BIT(29) | BIT(30) | BIT(31))
/* 0x80000007 EDX: invariant TSC (the guest's TSC is the host's plus an offset). */
#define EXT7_EDX	BIT(8)

/* XSAVE components okvm's guests may enable (x87 SSE AVX, AVX-512). */
#define OKVM_XCR0_AVX512 (XFEATURE_MASK_OPMASK | XFEATURE_MASK_ZMM_Hi256 | \
			  XFEATURE_MASK_Hi16_ZMM)
#define OKVM_XCR0_MAX	(XFEATURE_MASK_FP | XFEATURE_MASK_SSE | \
			 XFEATURE_MASK_YMM | OKVM_XCR0_AVX512)

u64 okvm_supported_xcr0;

static struct kvm_cpuid_entry2 *okvm_supported_cpuid;
static unsigned int okvm_supported_nent;

static struct kvm_cpuid_entry2 *okvm_cpuid_add(u32 function, u32 index,
					       bool indexed)
{
	struct kvm_cpuid_entry2 *e;

	if (okvm_supported_nent >= OKVM_MAX_CPUID_ENTRIES)
		return NULL;
	e = &okvm_supported_cpuid[okvm_supported_nent++];
	e->function = function;
	e->index = index;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	cpuid_count(function, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	return e;
}

/* Bytes of an XSAVE area holding the components in @xcr0 (SDM 13.4.3). */
u32 okvm_xsave_size(u64 xcr0)
{
	u32 size = 512 + 64, eax, ebx, ecx, edx;
	int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		size = max(size, eax + ebx);
	}
	return size;
}

/* Build the supported list once, at module load. */
int okvm_cpuid_init(void)
{
	u32 max_basic = min_t(u32, cpuid_eax(0), 0xd);
	u32 max_ext = min_t(u32, cpuid_eax(0x80000000), 0x80000008);
	bool avx512;
	struct kvm_cpuid_entry2 *e;
	u32 f, i;

	okvm_supported_cpuid = kcalloc(OKVM_MAX_CPUID_ENTRIES, sizeof(*e),
				       GFP_KERNEL);
	if (!okvm_supported_cpuid)
		return -ENOMEM;

	okvm_supported_xcr0 = 0;
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		okvm_supported_xcr0 = okvm_host_xcr0 & OKVM_XCR0_MAX;
	if ((okvm_supported_xcr0 & OKVM_XCR0_AVX512) != OKVM_XCR0_AVX512)
		okvm_supported_xcr0 &= ~OKVM_XCR0_AVX512;
	avx512 = okvm_supported_xcr0 & OKVM_XCR0_AVX512;

	for (f = 0; f <= max_basic; f++) {
		switch (f) {
		case 0:
			e = okvm_cpuid_add(f, 0, false);
			e->eax = max_basic;
			break;
		case 1:
			e = okvm_cpuid_add(f, 0, false);
			/* No APIC to name, no topology to describe. */
			e->ebx &= 0xffff;
			e->ecx = (e->ecx & (LEAF1_ECX | LEAF1_ECX_TSC_DEADLINE)) |
				 LEAF1_ECX_HYPERVISOR | LEAF1_ECX_X2APIC;
			if (!okvm_supported_xcr0)
				e->ecx &= ~BIT(26);
			e->edx &= LEAF1_EDX;
			break;
		case 2:
			okvm_cpuid_add(f, 0, false);
			break;
		case 4:
			/* Deterministic cache parameters, until type 0. */
			for (i = 0; i < 16; i++) {
				e = okvm_cpuid_add(f, i, true);
				if (!(e->eax & 0x1f)) {
					okvm_supported_nent--;
					break;
				}
				/* Cores and threads sharing: none known. */
				e->eax &= 0x3ff;
			}
			break;
		case 7:
			e = okvm_cpuid_add(f, 0, true);
			e->eax = 0;
			e->ebx &= LEAF7_EBX | (avx512 ? LEAF7_EBX_AVX512 : 0);
			/* IA32_TSC_ADJUST is msr.c's, host or not (as KVM). */
			e->ebx |= LEAF7_EBX_TSC_ADJUST;
			e->ecx &= LEAF7_ECX | (avx512 ? LEAF7_ECX_AVX512 : 0);
			e->edx &= LEAF7_EDX;
			break;
		case 0xd:
			if (!okvm_supported_xcr0)
				break;
			e = okvm_cpuid_add(f, 0, true);
			e->eax = (u32)okvm_supported_xcr0;
			e->edx = okvm_supported_xcr0 >> 32;
			e->ebx = okvm_xsave_size(okvm_supported_xcr0);
			e->ecx = e->ebx;
			e = okvm_cpuid_add(f, 1, true);
			/* XSAVEOPT, XSAVEC, XGETBV with ECX=1; no XSAVES. */
			e->eax &= BIT(0) | BIT(1) | BIT(2);
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
			for (i = 2; i < 64; i++)
				if (okvm_supported_xcr0 & BIT_ULL(i))
					okvm_cpuid_add(f, i, true);
			break;
		default:
			break;
		}
	}

	for (f = 0x80000000; f <= max_ext; f++) {
		e = okvm_cpuid_add(f, 0, false);
		switch (f) {
		case 0x80000000:
			e->eax = max_ext;
			break;
		case 0x80000001:
			e->ecx &= EXT1_ECX;
			e->edx &= EXT1_EDX;
			break;
		case 0x80000007:
			e->eax = 0;
			e->ebx = 0;
			e->ecx = 0;
			e->edx &= EXT7_EDX;
			break;
		case 0x80000008:
			/* Address sizes only: no IBPB & co, no core count. */
			e->eax &= 0xffff;
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
			break;
		default:	/* brand string, cache and TLB descriptions */
			break;
		}
	}

	/*
	 * KVM's paravirtual leaves (KVM's Documentation/virt/kvm/x86/cpuid.rst):
	 * the "KVMKVMKVM" signature with the last leaf, then the features:
	 * both kvmclock MSR pairs (clock.c). Not the kvmclock stable bit:
	 * without a master clock the vCPUs' pages need not agree.
	 */
	e = okvm_cpuid_add(KVM_CPUID_SIGNATURE, 0, false);
	if (e) {
		e->eax = KVM_CPUID_FEATURES;
		memcpy(&e->ebx, "KVMK", 4);
		memcpy(&e->ecx, "VMKV", 4);
		memcpy(&e->edx, "M\0\0\0", 4);
	}
	e = okvm_cpuid_add(KVM_CPUID_FEATURES, 0, false);
	if (e) {
		e->eax = BIT(KVM_FEATURE_CLOCKSOURCE) |
			 BIT(KVM_FEATURE_CLOCKSOURCE2);
		e->ebx = 0;
		e->ecx = 0;
		e->edx = 0;
	}
	return 0;
}

void okvm_cpuid_exit(void)
{
	kfree(okvm_supported_cpuid);
}

/* KVM_GET_SUPPORTED_CPUID on the system fd. */
int okvm_dev_get_supported_cpuid(void __user *argp)
{
	struct kvm_cpuid2 __user *ucpuid = argp;
	struct kvm_cpuid2 cpuid;

	if (copy_from_user(&cpuid, ucpuid, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent < okvm_supported_nent)
		return -E2BIG;
	if (copy_to_user(ucpuid->entries, okvm_supported_cpuid,
			 okvm_supported_nent * sizeof(*okvm_supported_cpuid)))
		return -EFAULT;
	cpuid.nent = okvm_supported_nent;
	if (copy_to_user(ucpuid, &cpuid, sizeof(cpuid)))
		return -EFAULT;
	return 0;
}

static struct kvm_cpuid_entry2 *okvm_cpuid_find(struct kvm_cpuid_entry2 *ents,
						unsigned int nent,
						u32 function, u32 index)
{
	unsigned int i;

	for (i = 0; i < nent; i++) {
		struct kvm_cpuid_entry2 *e = &ents[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	}
	return NULL;
}

/*
 * The first entry of @function whatever its index: what KVM consults for
 * leaves that have no subleaves (leaf 0's vendor, a class's top leaf).
 */
static struct kvm_cpuid_entry2 *okvm_cpuid_first(struct kvm_cpuid_entry2 *ents,
						 unsigned int nent,
						 u32 function)
{
	unsigned int i;

	for (i = 0; i < nent; i++)
		if (ents[i].function == function)
			return &ents[i];
	return NULL;
}

/* Bytes of a compacted XSAVE area (XSAVEC) for @xcr0 (SDM Vol. 1 13.4.3). */
static u32 okvm_xsave_compacted_size(u64 xcr0)
{
	u32 size = 512 + 64, eax, ebx, ecx, edx;
	int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		/* ECX[1]: the component starts 64-byte aligned. */
		if (ecx & BIT(1))
			size = ALIGN(size, 64);
		size += eax;
	}
	return size;
}

/*
 * @e, one of @ents, as the guest sees it now: the few bits KVM keeps in
 * step with the vCPU's state (kvm_update_cpuid_runtime() in KVM 6.1),
 * applied to the same entries KVM applies them to, and nothing else.
 * KVM_GET_CPUID2 returns this view too, as KVM's stored table is it.
 */
static void okvm_cpuid_live(struct okvm_vcpu *vcpu,
			    struct kvm_cpuid_entry2 *ents, unsigned int nent,
			    const struct kvm_cpuid_entry2 *e,
			    struct kvm_cpuid_entry2 *out)
{
	unsigned long cr4 = okvm_x86->get_cr(vcpu, 4);

	*out = *e;
	if (e == okvm_cpuid_first(ents, nent, 1)) {
		/* OSXSAVE mirrors CR4.OSXSAVE (SDM Vol. 2A CPUID). */
		if (boot_cpu_has(X86_FEATURE_XSAVE)) {
			out->ecx &= ~LEAF1_ECX_OSXSAVE;
			if (cr4 & X86_CR4_OSXSAVE)
				out->ecx |= LEAF1_ECX_OSXSAVE;
		}
		/*
		 * APIC reads as clear while IA32_APIC_BASE's global enable
		 * is off (SDM Vol. 3 10.4.3), and as set while it is on.
		 */
		out->edx &= ~BIT(9);
		if (vcpu->apic_base & BIT_ULL(11))
			out->edx |= BIT(9);
	}
	if (e == okvm_cpuid_find(ents, nent, 7, 0) &&
	    boot_cpu_has(X86_FEATURE_PKU)) {
		/* OSPKE (7.0:ECX[4]) mirrors CR4.PKE. */
		out->ecx &= ~BIT(4);
		if (cr4 & X86_CR4_PKE)
			out->ecx |= BIT(4);
	}
	/* 0xd.0 EBX: the size the current XCR0 needs. */
	if (e == okvm_cpuid_find(ents, nent, 0xd, 0))
		out->ebx = okvm_xsave_size(vcpu->xcr0);
	/* 0xd.1 EBX: the compacted size, with XSAVEC (EAX[1]) or XSAVES. */
	if (e == okvm_cpuid_find(ents, nent, 0xd, 1) &&
	    (e->eax & (BIT(1) | BIT(3))))
		out->ebx = okvm_xsave_compacted_size(vcpu->xcr0);
}

/*
 * EDX after RESET/INIT: the processor signature, CPUID.1:EAX (SDM Vol. 3
 * 9.1.4), of the guest's CPUID; before it has one, family 6 (0x600), as
 * KVM uses.
 */
unsigned long okvm_reset_rdx(struct okvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = okvm_cpuid_find(vcpu->cpuid,
						     vcpu->cpuid_nent, 1, 0);

	return e ? e->eax : 0x600;
}

/* Whether the guest's CPUID has (@function, index 0) @reg bit @bit. */
/* Set or clear one bit of the vCPU's CPUID leaf @function (index 0). */
void okvm_guest_cpuid_set(struct okvm_vcpu *vcpu, u32 function, int reg,
			  int bit, bool on)
{
	struct kvm_cpuid_entry2 *e = okvm_cpuid_find(vcpu->cpuid,
						     vcpu->cpuid_nent,
						     function, 0);
	u32 *val;

	if (!e)
		return;
	val = reg == CPUID_EAX ? &e->eax : reg == CPUID_EBX ? &e->ebx :
	      reg == CPUID_ECX ? &e->ecx : &e->edx;
	if (on)
		*val |= BIT(bit);
	else
		*val &= ~BIT(bit);
}

bool okvm_guest_has(struct okvm_vcpu *vcpu, u32 function, int reg, int bit)
{
	struct kvm_cpuid_entry2 *e = okvm_cpuid_find(vcpu->cpuid,
						     vcpu->cpuid_nent,
						     function, 0);
	u32 val;

	if (!e)
		return false;
	val = reg == CPUID_EAX ? e->eax : reg == CPUID_EBX ? e->ebx :
	      reg == CPUID_ECX ? e->ecx : e->edx;
	return val & BIT(bit);
}

/*
 * The guest's MAXPHYADDR: CPUID 0x80000008 EAX[7:0], or 36 without that
 * leaf (SDM Vol. 3 4.1.4).
 */
unsigned int okvm_guest_maxphyaddr(struct okvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = okvm_cpuid_find(vcpu->cpuid,
						     vcpu->cpuid_nent,
						     0x80000008, 0);

	return e && (e->eax & 0xff) ? e->eax & 0xff : 36;
}

/*
 * Whether @ents is the vCPU's table: entry by entry, the fields (not the
 * padding) of both as the guest sees them now, as KVM compares after it
 * brought the new table's state-dependent bits up to date.
 */
static bool okvm_cpuid_same(struct okvm_vcpu *vcpu,
			    struct kvm_cpuid_entry2 *ents, unsigned int nent)
{
	struct kvm_cpuid_entry2 a, b;
	unsigned int i;

	if (nent != vcpu->cpuid_nent)
		return false;
	for (i = 0; i < nent; i++) {
		okvm_cpuid_live(vcpu, ents, nent, &ents[i], &a);
		okvm_cpuid_live(vcpu, vcpu->cpuid, nent, &vcpu->cpuid[i], &b);
		if (a.function != b.function || a.index != b.index ||
		    a.flags != b.flags || a.eax != b.eax || a.ebx != b.ebx ||
		    a.ecx != b.ecx || a.edx != b.edx)
			return false;
	}
	return true;
}

/*
 * Install @ents (@nent entries, which this takes over) as the vCPU's CPUID,
 * with KVM's checks.
 */
static int okvm_vcpu_set_cpuid(struct okvm_vcpu *vcpu,
			       struct kvm_cpuid_entry2 *ents, unsigned int nent)
{
	struct kvm_cpuid_entry2 *e;

	/*
	 * Linear-address bits (0x80000008 EAX[15:8]) other than 48 or 57
	 * (or 0, unspecified) describe no x86-64 CPU: refused, as KVM does.
	 */
	e = okvm_cpuid_find(ents, nent, 0x80000008, 0);
	if (e) {
		u32 vaddr_bits = (e->eax >> 8) & 0xff;

		if (vaddr_bits && vaddr_bits != 48 && vaddr_bits != 57) {
			kvfree(ents);
			return -EINVAL;
		}
	}
	/*
	 * Once the vCPU ran, its CPUID may no longer change (KVM since 5.16:
	 * the guest may have cached it); the same list again is accepted.
	 */
	if (vcpu->has_run && !okvm_cpuid_same(vcpu, ents, nent)) {
		kvfree(ents);
		return -EINVAL;
	}
	kvfree(vcpu->cpuid);
	vcpu->cpuid = ents;
	vcpu->cpuid_nent = nent;
	vcpu->cpuid_set = true;

	/* XCR0 bits the guest may set: what its leaf 0xd offers and okvm has. */
	e = okvm_cpuid_find(ents, nent, 0xd, 0);
	vcpu->guest_xcr0_mask = XFEATURE_MASK_FP;
	if (e && okvm_guest_has(vcpu, 1, CPUID_ECX, 26))
		vcpu->guest_xcr0_mask |= ((u64)e->edx << 32 | e->eax) &
					 okvm_supported_xcr0;
	return 0;
}

/* KVM_SET_CPUID2: the guest's CPUID, taken as given (as KVM does). */
int okvm_vcpu_set_cpuid2(struct okvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_cpuid2 __user *ucpuid = argp;
	struct kvm_cpuid_entry2 *ents = NULL;
	struct kvm_cpuid2 cpuid;

	if (copy_from_user(&cpuid, ucpuid, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent > OKVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (cpuid.nent) {
		ents = vmemdup_user(ucpuid->entries,
				    array_size(sizeof(*ents), cpuid.nent));
		if (IS_ERR(ents))
			return PTR_ERR(ents);
	}
	return okvm_vcpu_set_cpuid(vcpu, ents, cpuid.nent);
}

/*
 * KVM_SET_CPUID, the first version: entries without an index or flags,
 * taken as index 0 (KVM converts them the same way).
 */
int okvm_vcpu_set_cpuid1(struct okvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_cpuid __user *ucpuid = argp;
	struct kvm_cpuid_entry *old;
	struct kvm_cpuid_entry2 *ents = NULL;
	struct kvm_cpuid cpuid;
	unsigned int i;

	if (copy_from_user(&cpuid, ucpuid, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent > OKVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (cpuid.nent) {
		old = vmemdup_user(ucpuid->entries,
				   array_size(sizeof(*old), cpuid.nent));
		if (IS_ERR(old))
			return PTR_ERR(old);
		ents = kvcalloc(cpuid.nent, sizeof(*ents), GFP_KERNEL_ACCOUNT);
		if (!ents) {
			kvfree(old);
			return -ENOMEM;
		}
		for (i = 0; i < cpuid.nent; i++) {
			ents[i].function = old[i].function;
			ents[i].eax = old[i].eax;
			ents[i].ebx = old[i].ebx;
			ents[i].ecx = old[i].ecx;
			ents[i].edx = old[i].edx;
		}
		kvfree(old);
	}
	return okvm_vcpu_set_cpuid(vcpu, ents, cpuid.nent);
}

/*
 * KVM_GET_CPUID2: the list KVM_SET_CPUID2 gave, with the bits that follow
 * the vCPU's state as they are now (okvm_cpuid_live()).
 */
int okvm_vcpu_get_cpuid2(struct okvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_cpuid2 __user *ucpuid = argp;
	struct kvm_cpuid_entry2 e;
	struct kvm_cpuid2 cpuid;
	unsigned int i;

	if (copy_from_user(&cpuid, ucpuid, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent < vcpu->cpuid_nent)
		return -E2BIG;
	for (i = 0; i < vcpu->cpuid_nent; i++) {
		okvm_cpuid_live(vcpu, vcpu->cpuid, vcpu->cpuid_nent,
				&vcpu->cpuid[i], &e);
		if (copy_to_user(&ucpuid->entries[i], &e, sizeof(e)))
			return -EFAULT;
	}
	cpuid.nent = vcpu->cpuid_nent;
	if (copy_to_user(ucpuid, &cpuid, sizeof(cpuid)))
		return -EFAULT;
	return 0;
}

/* Leaf 0's vendor is AMD's or Hygon's ("AuthenticAMD", "AMDisbetter!"). */
static bool okvm_vendor_is_amd(const struct kvm_cpuid_entry2 *e)
{
	return (e->ebx == 0x68747541 && e->ecx == 0x444d4163 &&
		e->edx == 0x69746e65) ||
	       (e->ebx == 0x69444d41 && e->ecx == 0x21726574 &&
		e->edx == 0x74656273) ||
	       (e->ebx == 0x6f677948 && e->ecx == 0x656e6975 &&
		e->edx == 0x6e65476e);
}

/*
 * A leaf the table does not have, as KVM 6.1 answers it (kvm_cpuid()):
 * Intel CPUs answer a leaf above the top of its range (basic, extended,
 * each 256-leaf hypervisor block, Centaur's; the top is the range's first
 * leaf's EAX, and a range without that leaf has none) with the highest
 * basic leaf, same subleaf (SDM Vol. 2A CPUID, "If a value entered for
 * CPUID.EAX is higher than the maximum input value..."); AMD's answer
 * zeros (APM Vol. 3 E.2), and so does KVM when leaf 0 names AMD or Hygon,
 * or is missing. Returns the entry and sets *@function to the leaf
 * answered, or NULL.
 */
static struct kvm_cpuid_entry2 *okvm_cpuid_out_of_range(struct okvm_vcpu *vcpu,
							u32 *function,
							u32 index)
{
	struct kvm_cpuid_entry2 *ents = vcpu->cpuid, *basic, *range;
	unsigned int nent = vcpu->cpuid_nent;
	u32 f = *function;

	basic = okvm_cpuid_first(ents, nent, 0);
	if (!basic || okvm_vendor_is_amd(basic))
		return NULL;
	if (f >= 0x40000000 && f <= 0x4fffffff)
		range = okvm_cpuid_first(ents, nent, f & 0xffffff00);
	else if (f >= 0xc0000000)
		range = okvm_cpuid_first(ents, nent, 0xc0000000);
	else
		range = okvm_cpuid_first(ents, nent, f & 0x80000000);
	if (range && f <= range->eax)
		return NULL;
	*function = basic->eax;
	return okvm_cpuid_find(ents, nent, basic->eax, index);
}

/*
 * The guest executed CPUID with EAX/ECX: the entry the VMM gave for that
 * leaf and subleaf, exactly, but for the state-dependent bits
 * (okvm_cpuid_live()); else KVM's answer for a missing leaf.
 */
void okvm_emulate_cpuid(struct okvm_vcpu *vcpu)
{
	u32 function = vcpu->regs[OKVM_RAX], index = vcpu->regs[OKVM_RCX];
	struct kvm_cpuid_entry2 *e = okvm_cpuid_find(vcpu->cpuid,
						     vcpu->cpuid_nent,
						     function, index);
	struct kvm_cpuid_entry2 out = {};

	if (!e)
		e = okvm_cpuid_out_of_range(vcpu, &function, index);
	if (e) {
		okvm_cpuid_live(vcpu, vcpu->cpuid, vcpu->cpuid_nent, e, &out);
	} else if (function == 0xb || function == 0x1f) {
		/*
		 * A missing subleaf of the topology leaves (SDM Vol. 2A
		 * CPUID leaf 0xb): level type 0, ECX[7:0] the subleaf asked
		 * and EDX the x2APIC ID, whenever subleaf 1 exists.
		 */
		e = okvm_cpuid_find(vcpu->cpuid, vcpu->cpuid_nent, function, 1);
		if (e) {
			out.ecx = index & 0xff;
			out.edx = e->edx;
		}
	}
	vcpu->regs[OKVM_RAX] = out.eax;
	vcpu->regs[OKVM_RBX] = out.ebx;
	vcpu->regs[OKVM_RCX] = out.ecx;
	vcpu->regs[OKVM_RDX] = out.edx;
}

/*
 * Whether the guest's CPUID leaf 0 names GenuineIntel: where KVM's
 * behaviour follows the vendor the guest is shown (msr.c, TSC_AUX).
 */
bool okvm_guest_is_intel(struct okvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = okvm_cpuid_find(vcpu->cpuid,
						     vcpu->cpuid_nent, 0, 0);

	/* "GenuineIntel" in EBX, EDX, ECX. */
	return e && e->ebx == 0x756e6547 && e->edx == 0x49656e69 &&
	       e->ecx == 0x6c65746e;
}
