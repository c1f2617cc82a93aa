// SPDX-License-Identifier: GPL-2.0-only
/*
 * hypercall.c - KVM's paravirtual interface as a guest calls it: the
 * hypercall instruction (VMMCALL on AMD, VMCALL on Intel), the patching of
 * the other vendor's instruction, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, and
 * MONITOR/MWAIT, whose handling KVM's quirks decide.
 *
 * A hypercall passes its number in RAX and up to four arguments in RBX,
 * RCX, RDX, RSI, and gets its result in RAX (Linux's
 * Documentation/virt/kvm/x86/hypercalls.rst); outside 64-bit mode all are
 * 32 bits. Only CPL 0 may call (-KVM_EPERM otherwise).
 *
 * A guest kernel built for one vendor that runs on the other executes the
 * wrong instruction, which raises #UD. okvm intercepts #UD, as KVM does,
 * and with KVM_X86_QUIRK_FIX_HYPERCALL_INSN (on unless the VMM disabled
 * it) writes the native instruction over it, so that the guest's retry
 * makes the hypercall; any other #UD goes back to the guest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/sched.h>
#include <asm/apicdef.h>
#include <asm/kvm_para.h>

#include "irq.h"
#include "ops.h"
#include "x86.h"

#define OKVM_HYPERCALL_LEN	3

bool okvm_has_quirk(struct okvm_vm *vm, u64 quirk)
{
	return !(READ_ONCE(vm->disabled_quirks) & quirk);
}

/*
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID: with it, a paravirtual feature works
 * only when the vCPU's CPUID 0x40000001 EAX offers it; without it, always.
 */
bool okvm_guest_pv_has(struct okvm_vcpu *vcpu, unsigned int feature)
{
	return !vcpu->pv_enforce ||
	       okvm_guest_has(vcpu, KVM_CPUID_FEATURES, CPUID_EAX, feature);
}

/*
 * KVM_HC_SEND_IPI: fixed IPIs to the APIC IDs @min + i for each bit i of
 * the 128-bit (64 in 32-bit mode) bitmap @lo:@hi, with the vector and
 * delivery mode of @icr. Physical destinations only, as in KVM. Returns
 * how many local APICs took the interrupt, or -KVM_EINVAL.
 */
static long okvm_pv_send_ipi(struct okvm_vcpu *vcpu, unsigned long lo,
			     unsigned long hi, u32 min, u32 icr, bool op64)
{
	struct okvm_apic_irq irq = {
		.vector = icr & APIC_VECTOR_MASK,
		.delivery_mode = (icr & APIC_MODE_MASK) >> 8,
		.level_trigger = icr & APIC_INT_LEVELTRIG,
		.assert = icr & APIC_INT_ASSERT,
	};
	unsigned int width = op64 ? 64 : 32, i;
	long count = 0;
	int ret;

	if (icr & (APIC_DEST_LOGICAL | APIC_DEST_ALLBUT))	/* ICR 11, 19:18 */
		return -KVM_EINVAL;
	for (i = 0; i < 2 * width; i++) {
		unsigned long word = i < width ? lo : hi;

		if (!(word & BIT(i % width)))
			continue;
		irq.dest = min + i;
		ret = okvm_apic_deliver(vcpu->vm, vcpu, &irq);
		if (ret > 0)
			count += ret;
	}
	return count;
}

/*
 * The native hypercall instruction, @len bytes (the vendor decoded it):
 * run the call and go past it. Returns 1 (enter the guest again).
 */
int okvm_emulate_hypercall(struct okvm_vcpu *vcpu, unsigned int len)
{
	unsigned long *r = vcpu->regs;
	unsigned long nr = r[OKVM_RAX], a0 = r[OKVM_RBX], a1 = r[OKVM_RCX];
	unsigned long a2 = r[OKVM_RDX], a3 = r[OKVM_RSI];
	bool op64 = okvm_vcpu_cpu_mode(vcpu) == OKVM_CPU_MODE_64;
	long ret = -KVM_ENOSYS;

	if (!op64) {
		nr = (u32)nr;
		a0 = (u32)a0;
		a1 = (u32)a1;
		a2 = (u32)a2;
		a3 = (u32)a3;
	}
	if (okvm_vcpu_cpl(vcpu)) {
		ret = -KVM_EPERM;
		goto out;
	}
	switch (nr) {
	case KVM_HC_VAPIC_POLL_IRQ:
		/* Pending interrupts are looked at on entry anyway. */
		ret = 0;
		break;
	case KVM_HC_SEND_IPI:
		if (!vcpu->lapic || !okvm_guest_pv_has(vcpu, KVM_FEATURE_PV_SEND_IPI))
			break;
		ret = okvm_pv_send_ipi(vcpu, a0, a1, a2, a3, op64);
		break;
	case KVM_HC_SCHED_YIELD:
		/*
		 * "The vCPU with APIC ID @a0 holds a lock I wait for": a
		 * hint. okvm gives up its CPU if anything else wants it,
		 * rather than KVM's directed yield to that vCPU's thread.
		 */
		if (!okvm_guest_pv_has(vcpu, KVM_FEATURE_PV_SCHED_YIELD))
			break;
		cond_resched();
		ret = 0;
		break;
	default:
		/* KICK_CPU, CLOCK_PAIRING, MAP_GPA_RANGE, ...: not offered */
		break;
	}
out:
	r[OKVM_RAX] = op64 ? (unsigned long)ret : (u32)ret;
	okvm_skip_insn(vcpu, len);
	return 1;
}

/*
 * An intercepted #UD. RSM in SMM is emulated (smm.c): in VMX non-root
 * operation the CPU is never in SMM, so the guest's RSM raises #UD there
 * (SDM Vol. 2B RSM). The other vendor's hypercall instruction is
 * replaced by this one's while KVM_X86_QUIRK_FIX_HYPERCALL_INSN is on,
 * and the guest retries it; everything else gets its #UD. Returns 1, or
 * what okvm_emulate_rsm() returns.
 */
int okvm_handle_ud(struct okvm_vcpu *vcpu)
{
	static const u8 vmcall[] = { 0x0f, 0x01, 0xc1 };
	static const u8 vmmcall[] = { 0x0f, 0x01, 0xd9 };
	static const u8 rsm[] = { 0x0f, 0xaa };
	const u8 *native = okvm_x86->hypercall_insn;
	struct okvm_page_fault fault;
	u8 insn[OKVM_INSN_MAX_LEN];
	u64 ip;

	if (vcpu->in_smm && okvm_fetch_insn(vcpu, insn, &fault) >=
	    (int)sizeof(rsm) && !memcmp(insn, rsm, sizeof(rsm)))
		return okvm_emulate_rsm(vcpu);
	if (!okvm_has_quirk(vcpu->vm, KVM_X86_QUIRK_FIX_HYPERCALL_INSN) ||
	    okvm_fetch_insn(vcpu, insn, &fault) < OKVM_HYPERCALL_LEN ||
	    (memcmp(insn, vmcall, OKVM_HYPERCALL_LEN) &&
	     memcmp(insn, vmmcall, OKVM_HYPERCALL_LEN)) ||
	    !memcmp(insn, native, OKVM_HYPERCALL_LEN))
		goto ud;
	/*
	 * Written as the guest would write it, so a read-only code page
	 * raises the #PF the write would (KVM's emulator does the same).
	 * Patched, or the #PF queued: the guest retries the instruction.
	 */
	ip = okvm_seg_linear(vcpu, OKVM_SEG_CS, vcpu->rip);
	if (okvm_write_guest_virt(vcpu, ip, native, OKVM_HYPERCALL_LEN) >= 0)
		return 1;
ud:
	okvm_queue_exception(vcpu, OKVM_UD_VECTOR, false, 0);
	return 1;
}

/*
 * MONITOR and MWAIT are NOPs, as in KVM: okvm does not let a guest stop a
 * host CPU. With KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS disabled, a guest
 * whose CPUID lacks MONITOR/MWAIT (leaf 1 ECX[3]) gets #UD instead, as on
 * such a CPU. Returns 1.
 */
int okvm_emulate_monitor_mwait(struct okvm_vcpu *vcpu, unsigned int len)
{
	if (!okvm_has_quirk(vcpu->vm, KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) &&
	    !okvm_guest_has(vcpu, 1, CPUID_ECX, X86_FEATURE_MWAIT & 31))
		okvm_queue_exception(vcpu, OKVM_UD_VECTOR, false, 0);
	else
		okvm_skip_insn(vcpu, len);
	return 1;
}
