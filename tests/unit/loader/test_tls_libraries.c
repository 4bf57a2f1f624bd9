// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_tls_libraries.c - how the agent finds TLS library files in
 * /proc/PID/maps (loader/tls_libraries.h): the line's device, inode and
 * path, and which file names are OpenSSL's libssl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loader/tls_libraries.h"

static void test_maps_line_of_a_library(void **state)
{
	const char *line = "7f1c2a000000-7f1c2a02a000 r--p 00000000 fd:01 1835342    "
			   "/usr/lib/x86_64-linux-gnu/libssl.so.3";
	uint64_t dev = 0, ino = 0;
	const char *path = NULL;

	(void)state;
	assert_true(tls_maps_line_parse(line, &dev, &ino, &path));
	assert_int_equal(dev, (0xfdull << 32) | 1);
	assert_int_equal(ino, 1835342);
	assert_string_equal(path, "/usr/lib/x86_64-linux-gnu/libssl.so.3");
}

static void test_maps_lines_without_a_file(void **state)
{
	uint64_t dev, ino;
	const char *path;

	(void)state;
	/* anonymous memory, the heap, the vdso: no inode, no path */
	assert_false(
	    tls_maps_line_parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0", &dev, &ino, &path));
	assert_false(tls_maps_line_parse("55d0a000-55d0b000 rw-p 00000000 00:00 0    [heap]", &dev,
					 &ino, &path));
	assert_false(tls_maps_line_parse("7ffd3000-7ffd4000 r-xp 00000000 00:00 0    [vdso]", &dev,
					 &ino, &path));
	assert_false(tls_maps_line_parse("garbage", &dev, &ino, &path));
	assert_false(tls_maps_line_parse("", &dev, &ino, &path));
}

static void test_libssl_names(void **state)
{
	(void)state;
	assert_true(tls_library_is_libssl("libssl.so.3"));
	assert_true(tls_library_is_libssl("libssl.so.1.1"));
	assert_true(tls_library_is_libssl("libssl.so"));
	assert_false(tls_library_is_libssl("libcrypto.so.3"));
	assert_false(tls_library_is_libssl("libssl3.so")); /* NSS's, not OpenSSL's */
	assert_false(tls_library_is_libssl("libssl.something"));
	assert_false(tls_library_is_libssl("libgnutls.so.30"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_maps_line_of_a_library),
	    cmocka_unit_test(test_maps_lines_without_a_file),
	    cmocka_unit_test(test_libssl_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
