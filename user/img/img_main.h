/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef OKVM_IMG_MAIN_H
#define OKVM_IMG_MAIN_H

/* okvm img ARGS...: argv[0] is "img" */
int img_main(int argc, char **argv);

#endif
