// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_insertion_claim.c - one traceparent inserter per node
 * (loader/insertion_claim.h): a second taker gets -EBUSY and the holder's
 * pid, the claim goes with its holder (also when the holder is killed), and
 * the connections askers leave are drained.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader/insertion_claim.h"

/* A name of this test process's own (fixed at its first use, so a forked
 * child uses its parent's): tests never meet a running kspan. */
static const char *test_name(void)
{
	static char name[64];

	if (!name[0])
		snprintf(name, sizeof(name), "kspan-unit-test/claim-%d", (int)getpid());
	return name;
}

static void test_second_taker_is_refused_with_holder_pid(void **state)
{
	struct insertion_claim first = {0}, second = {0};
	pid_t holder = -1;

	(void)state;
	assert_int_equal(insertion_claim_take(&first, test_name(), &holder), 0);
	assert_true(first.held);
	assert_int_equal(holder, 0);
	assert_int_equal(insertion_claim_take(&second, test_name(), &holder), -EBUSY);
	assert_false(second.held);
	assert_int_equal(holder, getpid());
	/* Releasing what is not held does nothing. */
	insertion_claim_release(&second);
	insertion_claim_serve(&second);
	insertion_claim_release(&first);
	assert_int_equal(insertion_claim_take(&second, test_name(), &holder), 0);
	insertion_claim_release(&second);
}

static void test_many_askers_are_drained(void **state)
{
	struct insertion_claim held = {0}, asker = {0};
	pid_t holder;

	(void)state;
	assert_int_equal(insertion_claim_take(&held, test_name(), &holder), 0);
	/* More askers than the backlog holds: with serve() between them every
	 * one still learns the pid. */
	for (int i = 0; i < 100; i++) {
		holder = 0;
		assert_int_equal(insertion_claim_take(&asker, test_name(), &holder), -EBUSY);
		assert_int_equal(holder, getpid());
		if (i % 8 == 7)
			insertion_claim_serve(&held);
	}
	insertion_claim_serve(&held);
	insertion_claim_release(&held);
}

/* A claim held by another process: its pid is named, and SIGKILL frees it. */
static void test_claim_of_killed_process_is_free(void **state)
{
	struct insertion_claim c = {0};
	int ready[2];
	pid_t child, holder = 0;
	char byte;

	(void)state;
	test_name();
	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct insertion_claim mine = {0};
		pid_t h;
		int rc = insertion_claim_take(&mine, test_name(), &h);
		(void)!write(ready[1], rc == 0 ? "y" : "n", 1);
		alarm(30); /* never outlive a parent that failed before its kill */
		pause();
		_exit(0);
	}
	assert_int_equal(read(ready[0], &byte, 1), 1);
	assert_int_equal(byte, 'y');
	assert_int_equal(insertion_claim_take(&c, test_name(), &holder), -EBUSY);
	assert_int_equal(holder, child);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_int_equal(insertion_claim_take(&c, test_name(), &holder), 0);
	insertion_claim_release(&c);
	close(ready[0]);
	close(ready[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_second_taker_is_refused_with_holder_pid),
	    cmocka_unit_test(test_many_askers_are_drained),
	    cmocka_unit_test(test_claim_of_killed_process_is_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
