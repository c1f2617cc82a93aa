/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmio_checks.h - a kselftest check shared by the MMIO tests: run a vCPU
 * to its next exit and expect exactly this KVM_EXIT_MMIO. Include it after
 * kselftest_harness.h, whose EXPECT/ASSERT macros it uses.
 */
#ifndef SELFTESTS_MMIO_CHECKS_H
#define SELFTESTS_MMIO_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm_vm.h"

static inline void expect_mmio(struct __test_metadata *_metadata,
			       struct kvm_vcpu *vcpu, bool is_write,
			       uint64_t gpa, uint32_t len)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(is_write, run->mmio.is_write);
	EXPECT_EQ(gpa, run->mmio.phys_addr);
	EXPECT_EQ(len, run->mmio.len);
}

#endif /* SELFTESTS_MMIO_CHECKS_H */
