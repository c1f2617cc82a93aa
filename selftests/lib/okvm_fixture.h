/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * okvm_fixture.h - the kselftest fixture most tests start from: an open fd
 * of the device under test, in self->fd. Include after kselftest_harness.h
 * and write OKVM_DEV_FIXTURE; once per test file.
 */
#ifndef OKVM_FIXTURE_H
#define OKVM_FIXTURE_H

#include <string.h>
#include <unistd.h>

#include "okvm_util.h"

#define OKVM_DEV_FIXTURE						\
	FIXTURE(dev) {							\
		int fd;							\
	};								\
									\
	FIXTURE_SETUP(dev)						\
	{								\
		self->fd = okvm_open_dev();				\
		ASSERT_LE(0, self->fd)					\
			TH_LOG("open %s: %s", okvm_dev_path(),		\
			       strerror(-self->fd));			\
	}								\
									\
	FIXTURE_TEARDOWN(dev)						\
	{								\
		close(self->fd);					\
	}

#endif /* OKVM_FIXTURE_H */
