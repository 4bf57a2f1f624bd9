// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_event_reader_wait.c - how long the ring's reader may sleep
 * (event_reader_wait_bound_ms): the time the ring takes to fill a quarter
 * at the rate records arrived, between 1 ms and the poll timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/event_reader.h"

#define MIB (1024ull * 1024)
#define MS  1000000ull

static void test_idle_waits_the_timeout(void **state)
{
	(void)state;
	assert_int_equal(event_reader_wait_bound_ms(8 * MIB, 0, 50 * MS, 100), 100);
	/* No ring size known (not mapped): the timeout, as before. */
	assert_int_equal(event_reader_wait_bound_ms(0, 4096, 1 * MS, 100), 100);
	/* Nothing measured yet. */
	assert_int_equal(event_reader_wait_bound_ms(8 * MIB, 4096, 0, 100), 100);
}

static void test_fast_records_shorten_the_wait(void **state)
{
	(void)state;
	/* 512 KiB in 4 ms (128 MiB/s): a quarter of 8 MiB takes 16 ms. */
	assert_int_equal(event_reader_wait_bound_ms(8 * MIB, 512 * 1024, 4 * MS, 100), 16);
	/* A ring four times larger may wait four times longer. */
	assert_int_equal(event_reader_wait_bound_ms(32 * MIB, 512 * 1024, 4 * MS, 100), 64);
}

static void test_slow_records_keep_the_timeout(void **state)
{
	(void)state;
	/* 4 KiB in 50 ms: the ring would take minutes to fill. */
	assert_int_equal(event_reader_wait_bound_ms(8 * MIB, 4096, 50 * MS, 100), 100);
	/* An hour since the last drain, a 1 GiB ring: no overflow in the product. */
	assert_int_equal(event_reader_wait_bound_ms(1024 * MIB, 1, 3600000 * MS, 100), 100);
}

static void test_never_below_one_ms(void **state)
{
	(void)state;
	/* 8 MiB in 1 ms: the ring fills faster than a millisecond. */
	assert_int_equal(event_reader_wait_bound_ms(8 * MIB, 8 * MIB, 1 * MS, 100), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_waits_the_timeout),
	    cmocka_unit_test(test_fast_records_shorten_the_wait),
	    cmocka_unit_test(test_slow_records_keep_the_timeout),
	    cmocka_unit_test(test_never_below_one_ms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
