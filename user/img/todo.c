// SPDX-License-Identifier: GPL-2.0-only
/*
 * Verbs whose implementation has not landed yet: a clear refusal, never
 * a silent success.
 */
#include "img.h"

int img_commit(int argc, char **argv)
{
	return img_err("commit: not implemented yet");
}

int img_rebase(int argc, char **argv)
{
	return img_err("rebase: not implemented yet");
}
