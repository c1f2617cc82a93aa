// SPDX-License-Identifier: GPL-2.0-only
/*
 * debug.c - KVM_SET_GUEST_DEBUG under VMX: the intercepts a debugger in
 * user space needs, and its exits (x86/guest_debug.c has the rules).
 *
 * #DB is always in the exception bitmap (vmcs.c); while the debugger
 * single-steps or uses the hardware breakpoints, each #DB is its stop.
 * #BP joins the bitmap under KVM_GUESTDBG_USE_SW_BP (SDM 25.6.3; INT3 is a
 * software exception the bitmap applies to, SDM 26.2). MOV DR always
 * exits (vmx.c), so the guest's DR6/DR7 are the vCPU's to keep while the
 * debugger owns the hardware's: the VMCS's DR7 is then the debugger's,
 * and DR6 is cleared for each entry (entry.c), so that a stop reports its
 * own bits alone. A #DB that exits leaves DR6 alone anyway; its exit
 * qualification says what DR6 would have got (SDM 28.2.1).
 */
#include <uapi/asm/debugreg.h>

#include "vmx.h"
#include "../x86.h"

void vmx_update_guest_debug(struct okvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	bool own = okvm_guest_debug_owns_dr6(vcpu);
	unsigned long dr7;

	vmx_get(vmx);
	if (vcpu->guest_debug.control & KVM_GUESTDBG_USE_SW_BP)
		vmcs_set_bits(VMCS_EXCEPTION_BITMAP, BIT(OKVM_BP_VECTOR));
	else
		vmcs_clear_bits(VMCS_EXCEPTION_BITMAP, BIT(OKVM_BP_VECTOR));
	if (own && !vmx->dbg_owned)
		vmx->dr7 = vmcs_read(VMCS_GUEST_DR7);
	else if (!own && vmx->dbg_owned)
		vmcs_write(VMCS_GUEST_DR7, vmx->dr7);
	vmx->dbg_owned = own;
	vmx_put();
	if (own) {
		dr7 = okvm_guest_debug_dr7(vcpu);
		vmx_get(vmx);
		vmcs_write(VMCS_GUEST_DR7, dr7);
		vmx_put();
	}
}

/*
 * #BP under KVM_GUESTDBG_USE_SW_BP (RIP is the INT3's: a software
 * exception exits before it is delivered), or #DB while the debugger owns
 * DR6: its stop.
 */
int vmx_exit_db_bp(struct okvm_vcpu *vcpu, u8 vector)
{
	unsigned long dr6 = to_vmx(vcpu)->exit_qual & VMX_DB_QUAL_DR6_BITS;

	return okvm_debug_exit(vcpu, vector, dr6 | DR6_RESERVED,
			       okvm_guest_debug_dr7(vcpu));
}
