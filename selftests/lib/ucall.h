/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ucall.h - the channel from guest code back to the test: "user calls".
 *
 * The guest fills a struct ucall on its own stack and executes
 * "out %al, $UCALL_PIO_PORT" with RDI pointing at it. KVM cannot handle
 * that port in the kernel, so KVM_RUN returns KVM_EXIT_IO; the host reads
 * RDI with KVM_GET_REGS and copies the struct out of guest memory (guest
 * virtual == guest physical: x86_guest.c maps memory 1:1). The guest
 * resumes after the OUT on the next KVM_RUN.
 *
 * Guest side: GUEST_SYNC(), GUEST_PRINTF(), GUEST_ASSERT*(), GUEST_DONE().
 * Host side: vcpu_run_ucall() and, in a kselftest harness test,
 * ASSERT_UCALL() / ASSERT_SYNC().
 *
 * The guest half must not call libc (the guest has none: only the test's
 * own ELF image is loaded, and libc's ifunc-resolved entries point to code
 * chosen for the host). So the guest has its own vsnprintf here, and the
 * guest functions are written so that GCC emits no memset/memcpy calls.
 */
#ifndef SELFTESTS_UCALL_H
#define SELFTESTS_UCALL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm_vm.h"

/* Where KVM's selftests put theirs, too; nothing else in the VM uses it. */
#define UCALL_PIO_PORT		0x1000

#define UCALL_MAX_ARGS		6
#define UCALL_BUFFER_LEN	512

enum ucall_cmd {
	UCALL_NONE,		/* host side: the exit was not a ucall */
	UCALL_SYNC,		/* args[0..nargs): GUEST_SYNC(stage, ...) */
	UCALL_DONE,		/* the guest function finished */
	UCALL_PRINTF,		/* buffer: the formatted text */
	UCALL_ASSERT_FAILED,	/* buffer: "file:line: expression[: msg]" */
				/* args[0]: the line */
};

struct ucall {
	uint64_t cmd;
	uint64_t nargs;
	uint64_t args[UCALL_MAX_ARGS];
	char buffer[UCALL_BUFFER_LEN];
};

/* --- guest side ------------------------------------------------------- */

void ucall(uint64_t cmd, int nargs, ...);
void ucall_fmt(uint64_t cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void __guest_assert_failed(const char *file, int line, const char *expr,
			   const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));
/* UCALL_ASSERT_FAILED with just this text (line 0), forever. */
void __guest_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/*
 * %d %i %u %x %X %p %s %c %%, with '-', '0', a width and the length
 * modifiers hh h l ll z j t. Always NUL-terminates (when size > 0) and
 * returns the length of the text it wrote (not what would have fit).
 */
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define __UCALL_NARGS(_1, _2, _3, _4, _5, _6, n, ...) n
#define UCALL_NARGS(...) __UCALL_NARGS(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)

/* Each argument cast to uint64_t, as ucall() reads them. */
#define __UCALL_U64_1(a)	(uint64_t)(a)
#define __UCALL_U64_2(a, ...)	(uint64_t)(a), __UCALL_U64_1(__VA_ARGS__)
#define __UCALL_U64_3(a, ...)	(uint64_t)(a), __UCALL_U64_2(__VA_ARGS__)
#define __UCALL_U64_4(a, ...)	(uint64_t)(a), __UCALL_U64_3(__VA_ARGS__)
#define __UCALL_U64_5(a, ...)	(uint64_t)(a), __UCALL_U64_4(__VA_ARGS__)
#define __UCALL_U64_6(a, ...)	(uint64_t)(a), __UCALL_U64_5(__VA_ARGS__)
#define __UCALL_CAT(a, b)	a##b
#define __UCALL_U64(n, ...)	__UCALL_CAT(__UCALL_U64_, n)(__VA_ARGS__)

/* Stop at a point the host checks: args[0] = stage, then up to 5 more. */
#define GUEST_SYNC_ARGS(...)						\
	ucall(UCALL_SYNC, UCALL_NARGS(__VA_ARGS__),			\
	      __UCALL_U64(UCALL_NARGS(__VA_ARGS__), __VA_ARGS__))
#define GUEST_SYNC(stage)	ucall(UCALL_SYNC, 1, (uint64_t)(stage))

#define GUEST_PRINTF(fmt, ...)	ucall_fmt(UCALL_PRINTF, fmt, ##__VA_ARGS__)
#define GUEST_DONE()		ucall(UCALL_DONE, 0)

#define GUEST_ASSERT(cond) do {						\
	if (!(cond))							\
		__guest_assert_failed(__FILE__, __LINE__, #cond, NULL);	\
} while (0)

#define GUEST_ASSERT_MSG(cond, fmt, ...) do {				\
	if (!(cond))							\
		__guest_assert_failed(__FILE__, __LINE__, #cond,	\
				      fmt, ##__VA_ARGS__);		\
} while (0)

#define GUEST_ASSERT_EQ(a, b) do {					\
	uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);		\
	if (__a != __b)							\
		__guest_assert_failed(__FILE__, __LINE__, #a " == " #b,	\
				      "0x%lx != 0x%lx", __a, __b);	\
} while (0)

/* --- host side -------------------------------------------------------- */

/*
 * If the vCPU's last exit is a ucall, copy it to *uc and return its cmd;
 * otherwise UCALL_NONE (and *uc says UCALL_NONE too).
 */
uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);

/*
 * KVM_RUN once and return the ucall it stopped at (SYNC, DONE, PRINTF or
 * ASSERT_FAILED); any other exit is a failure, reported with the exit's
 * name and details (vcpu_exit_str()).
 */
uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);

/* "SYNC", "DONE", ... */
const char *ucall_cmd_str(uint64_t cmd);

/*
 * One line for a log: "SYNC(1, 0x2)", "DONE", "PRINTF: text",
 * "ASSERT_FAILED: file.c:12: x == 1". Points to a static buffer.
 */
const char *ucall_str(const struct ucall *uc);

/*
 * For the kselftest harness: run the vCPU to its next ucall and fail the
 * test unless it is 'cmd'; a failed GUEST_ASSERT is logged with its file,
 * line and message.
 */
#define ASSERT_UCALL(vcpu, uc, cmd)					\
	ASSERT_STREQ(ucall_cmd_str(cmd),				\
		     ucall_cmd_str(vcpu_run_ucall(vcpu, uc)))		\
		TH_LOG("guest: %s", ucall_str(uc))

/* ASSERT_UCALL(UCALL_SYNC) at the given stage (args[0]). */
#define ASSERT_SYNC(vcpu, uc, stage) do {				\
	ASSERT_UCALL(vcpu, uc, UCALL_SYNC);				\
	ASSERT_EQ((uint64_t)(stage), (uc)->args[0])			\
		TH_LOG("guest: %s", ucall_str(uc));			\
} while (0)

#endif /* SELFTESTS_UCALL_H */
