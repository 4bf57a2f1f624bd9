// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_tls_detect.c - TLS record headers (tls_detect.h), which mark the
 * connections whose plaintext the kernel never saw (RFC 8446 section 5.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tls_detect.h"

static void test_records(void **state)
{
	const __u8 tls13[] = {0x17, 0x03, 0x03, 0x00, 0x45, 0xaa};
	const __u8 tls10[] = {0x17, 0x03, 0x01, 0x40, 0x00};
	const __u8 biggest[] = {0x17, 0x03, 0x03, 0x48, 0x00};
	const __u8 hello[] = {0x16, 0x03, 0x01, 0x02, 0x00}; /* ClientHello */
	const __u8 alert[] = {0x15, 0x03, 0x03, 0x00, 0x1a}; /* close_notify, encrypted */
	const __u8 ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01};

	(void)state;
	assert_true(tls_is_record(tls13, sizeof(tls13)));
	assert_true(tls_is_record(tls10, sizeof(tls10)));
	assert_true(tls_is_record(biggest, sizeof(biggest)));
	assert_true(tls_is_record(hello, sizeof(hello)));
	assert_true(tls_is_record(alert, sizeof(alert)));
	assert_true(tls_is_record(ccs, sizeof(ccs)));
}

static void test_not_records(void **state)
{
	const __u8 heartbeat[] = {0x18, 0x03, 0x03, 0x00, 0x10};
	const __u8 ssl3[] = {0x17, 0x03, 0x00, 0x00, 0x10};	/* SSL 3.0 */
	const __u8 empty[] = {0x17, 0x03, 0x03, 0x00, 0x00};	/* no length */
	const __u8 too_long[] = {0x17, 0x03, 0x03, 0x48, 0x01}; /* past 2^14 + 2048 */
	const __u8 http[] = "GET / HTTP/1.1\r\n";
	const __u8 cut[] = {0x17, 0x03, 0x03, 0x00};

	(void)state;
	assert_false(tls_is_record(heartbeat, sizeof(heartbeat)));
	assert_false(tls_is_record(ssl3, sizeof(ssl3)));
	assert_false(tls_is_record(empty, sizeof(empty)));
	assert_false(tls_is_record(too_long, sizeof(too_long)));
	assert_false(tls_is_record(http, sizeof(http) - 1));
	assert_false(tls_is_record(cut, sizeof(cut)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records),
	    cmocka_unit_test(test_not_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
