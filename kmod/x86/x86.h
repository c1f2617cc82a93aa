/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86.h - helpers the vendor code shares: choosing the extension at load and
 * looking at every CPU.
 */
#ifndef OKVM_X86_H
#define OKVM_X86_H

#include <linux/types.h>

int okvm_x86_init(void);
int okvm_x86_first_cpu_where(bool (*test)(void));
const char *okvm_x86_hypervisor_owner(const char *const *candidates);
u64 okvm_x86_max_gpa(void);

#endif /* OKVM_X86_H */
