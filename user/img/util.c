// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the okvm img verbs share: messages, sizes as qemu-img reads and
 * prints them, -o option lists, progress.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../block/error.h"
#include "img.h"

int img_err(const char *fmt, ...)
{
	va_list ap;

	fputs("okvm img: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return IMG_EXIT_ERROR;
}

int img_blk_err(void)
{
	const char *msg = blk_last_error();

	return img_err("%s", msg[0] ? msg : "unknown error");
}

int img_parse_size(const char *s, uint64_t *size, bool allow_plus,
		   bool *relative)
{
	unsigned int shift = 0;
	unsigned long long v;
	char *end;

	if (relative)
		*relative = false;
	if (*s == '+' && allow_plus) {
		*relative = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case '\0':
		break;
	case 'b': case 'B':
		end++;
		break;
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	case 't': case 'T':
		shift = 40;
		end++;
		break;
	case 'p': case 'P':
		shift = 50;
		end++;
		break;
	case 'e': case 'E':
		shift = 60;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	/* qemu-img's limit: sizes must fit an int64_t */
	if ((v << shift) > (uint64_t)INT64_MAX)
		return -ERANGE;
	*size = v << shift;
	return 0;
}

void img_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi",
					     "Ei" };
	int e;
	int i;

	/* switch to the next unit once the integer part reaches 1000 */
	frexp(v / (1000.0 / 1024.0), &e);
	i = (e - 1) / 10;
	if (i < 0)
		i = 0;
	if (i > 6)
		i = 6;
	snprintf(buf, len, "%0.3g %sB", (double)v / (double)(1ull << (i * 10)),
		 units[i]);
}

int img_parse_opts(const char *opts,
		   int (*fn)(void *ctx, const char *key, const char *val),
		   void *ctx)
{
	char *copy = strdup(opts), *item, *save = NULL, *eq;
	int ret = 0;

	if (!copy)
		return img_err("out of memory");
	for (item = strtok_r(copy, ",", &save); item && !ret;
	     item = strtok_r(NULL, ",", &save)) {
		eq = strchr(item, '=');
		if (!eq) {
			ret = img_err("option '%s' needs a value (key=value)",
				      item);
			break;
		}
		*eq = '\0';
		ret = fn(ctx, item, eq + 1);
	}
	free(copy);
	return ret;
}

bool img_is_qcow2(const struct blk *b)
{
	return !strcmp(b->ops->format, "qcow2");
}

void img_progress(bool on, uint64_t done, uint64_t total)
{
	if (!on)
		return;
	printf("    (%.2f/100%%)\r", total ? 100.0 * done / total : 100.0);
	if (done >= total)
		putchar('\n');
	fflush(stdout);
}
