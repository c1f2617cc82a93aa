/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef OKVM_RUN_MAIN_H
#define OKVM_RUN_MAIN_H

int run_main(int argc, char **argv);

#endif
