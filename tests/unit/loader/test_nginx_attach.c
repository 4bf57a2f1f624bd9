// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/loader/nginx_attach.c: which executables are nginx by
 * their name (the uprobes then need the exported functions too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loader/nginx_attach.h"

static void test_nginx_names(void **state)
{
	(void)state;
	assert_true(nginx_executable_name("/usr/sbin/nginx"));
	assert_true(nginx_executable_name("/usr/sbin/nginx-debug"));
	assert_true(nginx_executable_name("nginx"));
	assert_true(nginx_executable_name("/tmp/copy/nginx (deleted)"));
}

static void test_other_names(void **state)
{
	(void)state;
	assert_false(nginx_executable_name("/usr/bin/python3.11"));
	assert_false(nginx_executable_name("/usr/bin/curl"));
	assert_false(nginx_executable_name("/opt/nginx/sbin/openresty"));
	assert_false(nginx_executable_name("/usr/sbin/"));
	assert_false(nginx_executable_name("/usr/sbin/my-nginx"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nginx_names),
	    cmocka_unit_test(test_other_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
