// SPDX-License-Identifier: GPL-2.0-only
/*
 * ucall.c - both halves of the guest-to-host call channel (see ucall.h).
 *
 * The first half runs in the guest: it may call nothing but itself, so it
 * formats text with its own small vsnprintf and copies bytes with plain
 * loops (built with -fno-tree-loop-distribute-patterns, which keeps GCC
 * from turning those loops into memset/memcpy calls into libc). The second
 * half runs in the test process and reads the struct back on KVM_EXIT_IO.
 */
#include <stdio.h>
#include <string.h>

#include "ucall.h"

/* --- guest side ------------------------------------------------------- */

struct guest_out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_char(struct guest_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct guest_out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

static void out_str(struct guest_out *o, const char *s, int width, bool left)
{
	int n = 0;

	if (!s)
		s = "(null)";
	while (s[n])
		n++;
	if (!left)
		out_pad(o, ' ', width - n);
	while (*s)
		out_char(o, *s++);
	if (left)
		out_pad(o, ' ', width - n);
}

static void out_num(struct guest_out *o, uint64_t v, bool neg, int base,
		    bool upper, int width, bool zero, bool left,
		    const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	while (prefix && prefix[plen])
		plen++;
	len = n + plen + neg;
	if (!left && !zero)
		out_pad(o, ' ', width - len);
	if (neg)
		out_char(o, '-');
	while (prefix && *prefix)
		out_char(o, *prefix++);
	if (!left && zero)
		out_pad(o, '0', width - len);
	while (n)
		out_char(o, tmp[--n]);
	if (left)
		out_pad(o, ' ', width - len);
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct guest_out o = { .buf = buf, .size = size };

	for (; *fmt; fmt++) {
		bool left = false, zero = false, upper = false, neg = false;
		int width = 0, lng = 0;
		uint64_t v;

		if (*fmt != '%') {
			out_char(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + *fmt++ - '0';
		for (;; fmt++) {
			if (*fmt == 'l' || *fmt == 'z' || *fmt == 'j' ||
			    *fmt == 't')
				lng++;
			else if (*fmt != 'h')
				break;
		}

		switch (*fmt) {
		case 'd':
		case 'i':
			if (lng) {
				int64_t s = va_arg(ap, int64_t);

				neg = s < 0;
				v = neg ? -(uint64_t)s : (uint64_t)s;
			} else {
				int s = va_arg(ap, int);

				neg = s < 0;
				v = neg ? -(uint64_t)(int64_t)s : (uint64_t)s;
			}
			out_num(&o, v, neg, 10, false, width, zero, left,
				NULL);
			break;
		case 'u':
		case 'x':
		case 'X':
			v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			upper = *fmt == 'X';
			out_num(&o, v, false, *fmt == 'u' ? 10 : 16, upper,
				width, zero, left, NULL);
			break;
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			out_num(&o, v, false, 16, false, width, zero, left,
				"0x");
			break;
		case 's':
			out_str(&o, va_arg(ap, const char *), width, left);
			break;
		case 'c':
			if (!left)
				out_pad(&o, ' ', width - 1);
			out_char(&o, (char)va_arg(ap, int));
			if (left)
				out_pad(&o, ' ', width - 1);
			break;
		case '%':
			out_char(&o, '%');
			break;
		case '\0':
			fmt--;	/* a lone '%' at the end */
			break;
		default:	/* unknown: show it as written */
			out_char(&o, '%');
			out_char(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len < size ? o.len : (size ? size - 1 : 0);
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* The exit itself: KVM_EXIT_IO, out, port UCALL_PIO_PORT, RDI = uc. */
static void ucall_out(struct ucall *uc)
{
	asm volatile("outb %%al, %%dx"
		     : : "a"(0), "d"((uint16_t)UCALL_PIO_PORT), "D"(uc)
		     : "memory");
}

static void ucall_init(struct ucall *uc, uint64_t cmd)
{
	int i;

	uc->cmd = cmd;
	uc->nargs = 0;
	for (i = 0; i < UCALL_MAX_ARGS; i++)
		uc->args[i] = 0;
	uc->buffer[0] = '\0';
}

void ucall(uint64_t cmd, int nargs, ...)
{
	struct ucall uc;
	va_list ap;
	int i;

	ucall_init(&uc, cmd);
	if (nargs > UCALL_MAX_ARGS)
		nargs = UCALL_MAX_ARGS;
	va_start(ap, nargs);
	for (i = 0; i < nargs; i++)
		uc.args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	uc.nargs = nargs;
	ucall_out(&uc);
}

void ucall_fmt(uint64_t cmd, const char *fmt, ...)
{
	struct ucall uc;
	va_list ap;

	ucall_init(&uc, cmd);
	va_start(ap, fmt);
	guest_vsnprintf(uc.buffer, sizeof(uc.buffer), fmt, ap);
	va_end(ap);
	ucall_out(&uc);
}

void __guest_assert_failed(const char *file, int line, const char *expr,
			   const char *fmt, ...)
{
	struct ucall uc;
	va_list ap;
	int n;

	ucall_init(&uc, UCALL_ASSERT_FAILED);
	uc.nargs = 1;
	uc.args[0] = line;
	n = guest_snprintf(uc.buffer, sizeof(uc.buffer), "%s:%d: %s", file,
			   line, expr);
	if (fmt) {
		n += guest_snprintf(uc.buffer + n, sizeof(uc.buffer) - n,
				    ": ");
		va_start(ap, fmt);
		guest_vsnprintf(uc.buffer + n, sizeof(uc.buffer) - n, fmt, ap);
		va_end(ap);
	}
	/* A host that runs the vCPU again hears the same failure again. */
	for (;;)
		ucall_out(&uc);
}

void __guest_fail(const char *fmt, ...)
{
	struct ucall uc;
	va_list ap;

	ucall_init(&uc, UCALL_ASSERT_FAILED);
	uc.nargs = 1;
	va_start(ap, fmt);
	guest_vsnprintf(uc.buffer, sizeof(uc.buffer), fmt, ap);
	va_end(ap);
	for (;;)
		ucall_out(&uc);
}

/* --- host side -------------------------------------------------------- */

uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	char *start, *end;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.port != UCALL_PIO_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT)
		return UCALL_NONE;

	vcpu_regs_get(vcpu, &regs);
	/* Guest virtual == guest physical: x86_guest.c maps 1:1. */
	start = addr_gpa2hva(vcpu->vm, regs.rdi);
	end = addr_gpa2hva(vcpu->vm, regs.rdi + sizeof(*uc) - 1);
	KVM_ASSERT(end == start + sizeof(*uc) - 1,
		   "struct ucall at 0x%llx crosses memory slots", regs.rdi);
	memcpy(uc, start, sizeof(*uc));
	uc->buffer[UCALL_BUFFER_LEN - 1] = '\0';
	KVM_ASSERT(uc->cmd > UCALL_NONE && uc->cmd <= UCALL_ASSERT_FAILED &&
		   uc->nargs <= UCALL_MAX_ARGS,
		   "garbage ucall at 0x%llx: cmd %llu nargs %llu", regs.rdi,
		   (unsigned long long)uc->cmd,
		   (unsigned long long)uc->nargs);
	return uc->cmd;
}

uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	uint64_t cmd;

	vcpu_run(vcpu);
	cmd = get_ucall(vcpu, uc);
	if (cmd == UCALL_NONE) {
		errno = 0;
		kvm_die("vCPU %u: expected a ucall (out to port 0x%x), got %s",
			vcpu->id, UCALL_PIO_PORT, vcpu_exit_str(vcpu));
	}
	return cmd;
}

const char *ucall_cmd_str(uint64_t cmd)
{
	switch (cmd) {
	case UCALL_NONE:
		return "NONE";
	case UCALL_SYNC:
		return "SYNC";
	case UCALL_DONE:
		return "DONE";
	case UCALL_PRINTF:
		return "PRINTF";
	case UCALL_ASSERT_FAILED:
		return "ASSERT_FAILED";
	}
	return "(unknown ucall)";
}

const char *ucall_str(const struct ucall *uc)
{
	static char buf[UCALL_BUFFER_LEN + 128];
	int n, i;

	n = snprintf(buf, sizeof(buf), "%s", ucall_cmd_str(uc->cmd));
	switch (uc->cmd) {
	case UCALL_SYNC:
		for (i = 0; i < uc->nargs; i++)
			n += snprintf(buf + n, sizeof(buf) - n, "%s0x%llx",
				      i ? ", " : "(",
				      (unsigned long long)uc->args[i]);
		if (uc->nargs)
			snprintf(buf + n, sizeof(buf) - n, ")");
		break;
	case UCALL_PRINTF:
	case UCALL_ASSERT_FAILED:
		snprintf(buf + n, sizeof(buf) - n, ": %s", uc->buffer);
		break;
	}
	return buf;
}
