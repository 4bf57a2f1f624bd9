// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_process_runtime.c - the runtime label of a process, from its
 * executable's name (and whether it is a Go program).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "model/process_runtime.h"

static void test_names_with_versions(void **state)
{
	(void)state;
	assert_int_equal(process_runtime_of("node", false), PROCESS_RUNTIME_NODE);
	assert_int_equal(process_runtime_of("nodejs", false), PROCESS_RUNTIME_NODE);
	assert_int_equal(process_runtime_of("python3", false), PROCESS_RUNTIME_PYTHON);
	assert_int_equal(process_runtime_of("python3.11", false), PROCESS_RUNTIME_PYTHON);
	assert_int_equal(process_runtime_of("nginx", false), PROCESS_RUNTIME_NGINX);
	assert_int_equal(process_runtime_of("haproxy", false), PROCESS_RUNTIME_HAPROXY);
	assert_int_equal(process_runtime_of("envoy", false), PROCESS_RUNTIME_ENVOY);
}

/* A name that only begins like a runtime's is another program. */
static void test_other_programs(void **state)
{
	(void)state;
	assert_int_equal(process_runtime_of("nodemon", false), PROCESS_RUNTIME_OTHER);
	assert_int_equal(process_runtime_of("python3-config", false), PROCESS_RUNTIME_OTHER);
	assert_int_equal(process_runtime_of("curl", false), PROCESS_RUNTIME_OTHER);
	assert_int_equal(process_runtime_of("", false), PROCESS_RUNTIME_OTHER);
	assert_int_equal(process_runtime_of(NULL, false), PROCESS_RUNTIME_OTHER);
}

/* Go by its build info, whatever the executable is called. */
static void test_go_by_buildinfo(void **state)
{
	(void)state;
	assert_int_equal(process_runtime_of("server", true), PROCESS_RUNTIME_GO);
	assert_int_equal(process_runtime_of("node", true), PROCESS_RUNTIME_GO);
}

static void test_label_names(void **state)
{
	(void)state;
	assert_string_equal(process_runtime_name(PROCESS_RUNTIME_GO), "go");
	assert_string_equal(process_runtime_name(PROCESS_RUNTIME_OTHER), "other");
	assert_string_equal(process_runtime_name(PROCESS_RUNTIME_ENVOY), "envoy");
	assert_string_equal(process_runtime_name(PROCESS_RUNTIME_COUNT), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_with_versions),
	    cmocka_unit_test(test_other_programs),
	    cmocka_unit_test(test_go_by_buildinfo),
	    cmocka_unit_test(test_label_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
