// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_grpc_semconv.c - gRPC naming and status rules (grpc_semconv.h): the
 * content types that make a request gRPC, ":path" into service and method,
 * status names, and which codes are errors for servers and clients
 * (OpenTelemetry gRPC semantic conventions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assembly/grpc_semconv.h"

#define CT(s) grpc_is_content_type(s, strlen(s))

static void test_content_type(void **state)
{
	(void)state;
	assert_true(CT("application/grpc"));
	assert_true(CT("application/grpc+proto"));
	assert_true(CT("application/grpc+json"));
	assert_true(CT("application/grpc;charset=utf-8"));
	assert_true(CT("Application/GRPC"));
	assert_false(CT("application/grpc-web"));
	assert_false(CT("application/grpcx"));
	assert_false(CT("application/json"));
	assert_false(CT("application/grp"));
	assert_false(CT(""));
}

static void expect_split(const char *path, const char *svc, const char *method)
{
	const char *s, *m;
	size_t sl, ml;

	assert_int_equal(grpc_split_path(path, strlen(path), &s, &sl, &m, &ml), 0);
	assert_int_equal(sl, strlen(svc));
	assert_memory_equal(s, svc, sl);
	assert_int_equal(ml, strlen(method));
	assert_memory_equal(m, method, ml);
}

static void test_split_path(void **state)
{
	const char *s, *m;
	size_t sl, ml;
	const char *bad[] = {"",	 "/",	   "//",	 "/Svc",	   "/Svc/",
			     "//Method", "/a/b/c", "Svc/Method", "/Svc/Method?x=1"};

	(void)state;
	expect_split("/kspan.test.Echo/Unary", "kspan.test.Echo", "Unary");
	expect_split("/grpc.health.v1.Health/Check", "grpc.health.v1.Health", "Check");
	expect_split("/S/M", "S", "M");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(grpc_split_path(bad[i], strlen(bad[i]), &s, &sl, &m, &ml), -1);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(grpc_status_name(0), "OK");
	assert_string_equal(grpc_status_name(4), "DEADLINE_EXCEEDED");
	assert_string_equal(grpc_status_name(5), "NOT_FOUND");
	assert_string_equal(grpc_status_name(13), "INTERNAL");
	assert_string_equal(grpc_status_name(16), "UNAUTHENTICATED");
	assert_null(grpc_status_name(17));
	assert_null(grpc_status_name(-1));
}

static void test_error_rules(void **state)
{
	static const int server_errors[] = {2, 4, 12, 13, 14, 15};

	(void)state;
	for (int code = 0; code <= 16; code++) {
		bool server_error = false;
		for (size_t i = 0; i < sizeof(server_errors) / sizeof(server_errors[0]); i++)
			server_error |= server_errors[i] == code;
		assert_int_equal(grpc_status_is_error(code, true), server_error);
		assert_int_equal(grpc_status_is_error(code, false), code != 0);
	}
}

static void test_parse_status(void **state)
{
	(void)state;
	assert_int_equal(grpc_parse_status("0", 1), 0);
	assert_int_equal(grpc_parse_status("13", 2), 13);
	assert_int_equal(grpc_parse_status("", 0), -1);
	assert_int_equal(grpc_parse_status("1x", 2), -1);
	assert_int_equal(grpc_parse_status("-1", 2), -1);
	assert_int_equal(grpc_parse_status("99999", 5), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_content_type), cmocka_unit_test(test_split_path),
	    cmocka_unit_test(test_status_names), cmocka_unit_test(test_error_rules),
	    cmocka_unit_test(test_parse_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
