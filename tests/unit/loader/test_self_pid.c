// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_self_pid.c - kspan's pid as its probes see it (self_pid.h): the NSpid
 * line of /proc/PID/status, and the answer of each way of finding it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader/self_pid.h"

static void test_nspid_outermost(void **state)
{
	uint32_t pid = 0;

	(void)state;
	/* A process two namespaces deep: host pid first, its own last. */
	assert_int_equal(nspid_outermost("Name:\tkspan\nTgid:\t1\nNSpid:\t48213\t907\t1\n"
					 "NSsid:\t1\n",
					 &pid),
			 0);
	assert_int_equal(pid, 48213);
	assert_int_equal(nspid_outermost("NSpid:\t77\n", &pid), 0);
	assert_int_equal(pid, 77);
	/* Kernels before 4.1 have no NSpid line. */
	assert_int_equal(nspid_outermost("Name:\tkspan\nPid:\t1\n", &pid), -1);
	assert_int_equal(nspid_outermost("NSpid:\t\n", &pid), -1);
	assert_int_equal(nspid_outermost("NSpid:\t0\n", &pid), -1);
	assert_int_equal(nspid_outermost("", &pid), -1);
	/* Only at the start of a line. */
	assert_int_equal(nspid_outermost("XNSpid:\t5\n", &pid), -1);
}

/* This test runs in the initial pid namespace: every way must agree with
 * getpid(), the first one through /proc/self/ns/pid. */
static void test_in_the_initial_namespace(void **state)
{
	const char *how = NULL;

	(void)state;
	if (access("/proc/self/ns/pid", F_OK) != 0)
		skip();
	assert_int_equal(self_pid_in_kernel("/proc", &how), (uint32_t)getpid());
	assert_non_null(how);
}

/* With a /proc that says nothing, the kernel is asked (as root: a BPF
 * program run in this thread), else getpid() is the last resort. */
static void test_without_proc_the_kernel_answers(void **state)
{
	char root[] = "/tmp/kspan-self-pid-XXXXXX";
	const char *how = NULL;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(self_pid_in_kernel(root, &how), (uint32_t)getpid());
	if (geteuid() == 0)
		assert_non_null(strstr(how, "kernel"));
	assert_int_equal(rmdir(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nspid_outermost),
	    cmocka_unit_test(test_in_the_initial_namespace),
	    cmocka_unit_test(test_without_proc_the_kernel_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
