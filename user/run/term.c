// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host terminal: raw while the guest runs, so that its keys (Ctrl-C
 * included) reach the guest's console, and restored on every way out.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "run.h"

static struct termios saved;
static bool is_raw;

void term_restore(void)
{
	if (!is_raw)
		return;
	tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	is_raw = false;
}

/* a raw terminal needs "\r\n"; a file or pipe wants plain "\n" */
const char *term_nl(void)
{
	return is_raw ? "\r\n" : "\n";
}

void term_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved))
		return;
	t = saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t))
		return;
	is_raw = true;
	atexit(term_restore);
}
