/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmx.h - what the files of kmod/x86/vmx/ share.
 */
#ifndef OKVM_VMX_H
#define OKVM_VMX_H

struct okvm_spte_format;

/* ept.c */
extern const struct okvm_spte_format vmx_ept_format;

#endif /* OKVM_VMX_H */
