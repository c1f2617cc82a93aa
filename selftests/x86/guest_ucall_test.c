// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_ucall_test - guest code runs in 64-bit mode and talks back: stages
 * with GUEST_SYNC, text with GUEST_PRINTF, failures with GUEST_ASSERT (with
 * file and line), the end with GUEST_DONE. The tests of the library itself,
 * on which every other guest-code test stands.
 */
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "ucall.h"
#include "x86_guest.h"

static void guest_sync_three(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_SYNC(3);
	GUEST_DONE();
}

TEST(sync_stages_then_done)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_sync_three);
	struct ucall uc;
	int stage;

	for (stage = 1; stage <= 3; stage++)
		ASSERT_SYNC(vcpu, &uc, stage);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_args(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
		       uint64_t e, uint64_t f)
{
	GUEST_SYNC_ARGS(a, b, c, d, e, f);
	GUEST_SYNC_ARGS(a + b, -1);
	GUEST_DONE();
}

TEST(six_arguments_in_and_out)
{
	static const uint64_t in[6] = {
		1, 0xffffffffffffffffULL, 0x123456789abcdef0ULL, 4, 5, 6,
	};
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_args);
	struct ucall uc;
	int i;

	vcpu_args_set(vcpu, 6, in[0], in[1], in[2], in[3], in[4], in[5]);
	ASSERT_SYNC(vcpu, &uc, in[0]);
	ASSERT_EQ(6, uc.nargs);
	for (i = 0; i < 6; i++)
		EXPECT_EQ(in[i], uc.args[i]) TH_LOG("argument %d", i);
	ASSERT_SYNC(vcpu, &uc, in[0] + in[1]);
	ASSERT_EQ(2, uc.nargs);
	/* An int -1 reaches the host sign-extended, as (uint64_t)-1. */
	EXPECT_EQ(~0ULL, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_assert_fails(uint64_t x)
{
	GUEST_SYNC(__LINE__ + 1);
	GUEST_ASSERT(x == 2);
	GUEST_DONE();
}

TEST(failed_assert_reports_file_and_line)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_assert_fails);
	char want[128];
	struct ucall uc;
	uint64_t line;

	vcpu_args_set(vcpu, 1, 1);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	line = uc.args[0];

	ASSERT_EQ(UCALL_ASSERT_FAILED, vcpu_run_ucall(vcpu, &uc));
	snprintf(want, sizeof(want), "%s:%llu: x == 2", __FILE__,
		 (unsigned long long)line);
	EXPECT_STREQ(want, uc.buffer);
	EXPECT_EQ(line, uc.args[0]);
	TH_LOG("the guest said: %s", ucall_str(&uc));

	/* Running it again repeats the failure; it never goes on. */
	ASSERT_EQ(UCALL_ASSERT_FAILED, vcpu_run_ucall(vcpu, &uc));
	EXPECT_STREQ(want, uc.buffer);
	kvm_vm_free(vm);
}

static void guest_assert_eq_fails(uint64_t x)
{
	GUEST_ASSERT_EQ(x, 0x2a);
	GUEST_DONE();
}

TEST(failed_assert_eq_shows_both_values)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_assert_eq_fails);
	struct ucall uc;

	vcpu_args_set(vcpu, 1, 0x29);
	ASSERT_EQ(UCALL_ASSERT_FAILED, vcpu_run_ucall(vcpu, &uc));
	EXPECT_NE(NULL, strstr(uc.buffer, "x == 0x2a: 0x29 != 0x2a"))
		TH_LOG("%s", uc.buffer);
	EXPECT_NE(NULL, strstr(uc.buffer, __FILE__ ":"))
		TH_LOG("%s", uc.buffer);
	kvm_vm_free(vm);
}

#define PRINTF_FMT "%d %i %u %x %X %lx %llu %s %c|%5d|%-5d|%05d|%-4s|%3s| %p %% %ld %zu"
#define PRINTF_ARGS -42, 0, 42u, 0xbeefu, 0xbeefu, 0x123456789abcdefUL, \
	18446744073709551615ULL, "str", 'c', 7, -7, -7, "ab", "abcd", \
	(void *)0x1000, -9223372036854775807L - 1, (size_t)12

static void guest_printf(void)
{
	char big[UCALL_BUFFER_LEN + 100];
	int i;

	GUEST_PRINTF(PRINTF_FMT, PRINTF_ARGS);
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = 'a' + i % 26;
	big[i] = '\0';
	GUEST_PRINTF("%s", big);
	GUEST_DONE();
}

TEST(printf_formats_like_libc)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_printf);
	char want[UCALL_BUFFER_LEN];
	struct ucall uc;

	snprintf(want, sizeof(want), PRINTF_FMT, PRINTF_ARGS);
	ASSERT_UCALL(vcpu, &uc, UCALL_PRINTF);
	EXPECT_STREQ(want, uc.buffer);

	/* Too long: cut at the buffer's end, still a string. */
	ASSERT_UCALL(vcpu, &uc, UCALL_PRINTF);
	EXPECT_EQ(UCALL_BUFFER_LEN - 1, strlen(uc.buffer));
	EXPECT_EQ('a', uc.buffer[0]);
	EXPECT_EQ('a' + (UCALL_BUFFER_LEN - 2) % 26,
		  uc.buffer[UCALL_BUFFER_LEN - 2]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_returns(void)
{
	GUEST_SYNC(1);
}

TEST(returning_guest_function_is_a_failure)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_returns);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_ASSERT_FAILED);
	EXPECT_NE(NULL, strstr(uc.buffer, "GUEST_DONE"))
		TH_LOG("%s", uc.buffer);
	kvm_vm_free(vm);
}

static uint64_t shared_value = 1;

static void guest_global(void)
{
	GUEST_SYNC(shared_value);
	shared_value = 7;
	GUEST_DONE();
}

TEST(globals_sync_both_ways)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0, guest_global);
	struct ucall uc;

	shared_value = 42;
	vm_sync_global_to_guest(vm, shared_value);
	ASSERT_SYNC(vcpu, &uc, 42);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_sync_global_from_guest(vm, shared_value);
	EXPECT_EQ(7, shared_value);
	kvm_vm_free(vm);
}

static void guest_count(uint64_t id)
{
	int i;

	for (i = 0; i < 3; i++)
		GUEST_SYNC_ARGS(i, id);
	GUEST_DONE();
}

/* Each vCPU runs on its own stack; their ucalls do not mix. */
TEST(two_vcpus_interleaved)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu[2];
	struct ucall uc;
	int i, v;

	for (v = 0; v < 2; v++) {
		vcpu[v] = vm_vcpu_add_guest(vm, v, guest_count);
		vcpu_args_set(vcpu[v], 1, 100 + v);
	}
	for (i = 0; i < 3; i++) {
		for (v = 1; v >= 0; v--) {
			ASSERT_SYNC(vcpu[v], &uc, i);
			EXPECT_EQ(100 + v, uc.args[1]);
		}
	}
	for (v = 0; v < 2; v++)
		ASSERT_UCALL(vcpu[v], &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

/* The long-mode state the library promises is what the guest runs in. */
static void guest_long_mode_state(void)
{
	uint64_t cr0, cr4, cr3;
	uint16_t cs, ss;
	double d = 1.5;

	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	asm volatile("mov %%cr3, %0" : "=r"(cr3));
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	asm volatile("mov %%ss, %0" : "=r"(ss));
	/* SSE works: a double through an XMM register. */
	asm volatile("addsd %1, %0" : "+x"(d) : "x"(d));
	GUEST_SYNC_ARGS(cr0, cr3, cr4, cs, ss, (uint64_t)(d * 2));
	GUEST_DONE();
}

TEST(long_mode_state)
{
	struct kvm_vm *vm = vm_create_guest(0);
	struct kvm_vcpu *vcpu = vm_vcpu_add_guest(vm, 0,
						  guest_long_mode_state);
	struct ucall uc;

	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	EXPECT_EQ(0x80010033, uc.args[0] & 0xffffffff);	/* PG WP NE ET MP PE */
	EXPECT_EQ(PAGE_TABLES_GPA, uc.args[1]);
	EXPECT_EQ(0x620, uc.args[2]);	/* OSXMMEXCPT OSFXSR PAE */
	EXPECT_EQ(GDT_CODE_SEL, uc.args[3]);
	EXPECT_EQ(GDT_DATA_SEL, uc.args[4]);
	EXPECT_EQ(6, uc.args[5]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
