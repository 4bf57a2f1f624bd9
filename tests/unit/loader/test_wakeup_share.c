// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_wakeup_share.c - when the probes wake the ring's reader
 * (loader/probe_loader.h): at a sixteenth of the ring for the ring's fill
 * level, and per CPU, for the DATA records, at that mark over the CPU
 * count, never below 16 KiB unless the mark itself is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loader/probe_loader.h"

#define KIB 1024u
#define MIB (1024u * 1024)

static void test_the_mark_is_a_sixteenth(void **state)
{
	(void)state;
	assert_int_equal(probe_loader_wakeup_bytes(8 * MIB), 512 * KIB);
	assert_int_equal(probe_loader_wakeup_bytes(64 * KIB), 4 * KIB);
}

static void test_cpus_share_the_mark(void **state)
{
	(void)state;
	/* This machine kind: 2 CPUs, the default 8 MiB ring. */
	assert_int_equal(probe_loader_wakeup_cpu_bytes(8 * MIB, 2), 256 * KIB);
	assert_int_equal(probe_loader_wakeup_cpu_bytes(8 * MIB, 32), 16 * KIB);
	/* One CPU, or a count libbpf could not read (negative): the mark. */
	assert_int_equal(probe_loader_wakeup_cpu_bytes(8 * MIB, 1), 512 * KIB);
	assert_int_equal(probe_loader_wakeup_cpu_bytes(8 * MIB, -22), 512 * KIB);
}

static void test_many_cpus_keep_16_kib(void **state)
{
	(void)state;
	/* 128 CPUs: 4 KiB each would wake the reader every dozen records;
	 * 16 KiB each lets 2 MiB wait, a quarter of the ring. */
	assert_int_equal(probe_loader_wakeup_cpu_bytes(8 * MIB, 128), 16 * KIB);
	/* A ring whose mark is below 16 KiB: the mark. */
	assert_int_equal(probe_loader_wakeup_cpu_bytes(64 * KIB, 8), 4 * KIB);
	/* Never zero: the probes would wake the reader at every record. */
	assert_int_equal(probe_loader_wakeup_cpu_bytes(8, 4), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_mark_is_a_sixteenth),
	    cmocka_unit_test(test_cpus_share_the_mark),
	    cmocka_unit_test(test_many_cpus_keep_16_kib),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
