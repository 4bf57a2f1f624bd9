// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_u64_map.c - the agent's hash map from 64-bit keys to pointers
 * (u64_map.h): connections by their random id, processes by pid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lib/u64_map.h"

/* Values are never dereferenced by the map: encode the key in the pointer. */
static void *value_of(uint64_t key)
{
	return (void *)(uintptr_t)(key * 2 + 1);
}

/* Keys shaped like the real ones: random connection ids (a 64-bit LCG
 * stands in for getrandom) and small sequential pids. */
static uint64_t conn_id_at(uint64_t i)
{
	return (i + 1) * 6364136223846793005ull + 1442695040888963407ull;
}

static void test_init_rounds_buckets_up(void **state)
{
	struct u64_map m;

	(void)state;
	assert_int_equal(u64_map_init(&m, 0), 0);
	assert_int_equal(m.bucket_count, 16);
	assert_int_equal(m.count, 0);
	u64_map_free(&m);

	assert_int_equal(u64_map_init(&m, 100), 0);
	assert_int_equal(m.bucket_count, 128);
	u64_map_free(&m);
	assert_null(m.buckets);
	assert_int_equal(m.bucket_count, 0);
	assert_int_equal(m.count, 0);
}

static void test_put_get(void **state)
{
	struct u64_map m;

	(void)state;
	assert_int_equal(u64_map_init(&m, 16), 0);
	assert_null(u64_map_get(&m, 42));
	assert_int_equal(u64_map_put(&m, 42, value_of(42)), 0);
	assert_int_equal(u64_map_put(&m, 0, value_of(0)), 0);
	assert_int_equal(u64_map_put(&m, UINT64_MAX, value_of(7)), 0);
	assert_int_equal(m.count, 3);
	assert_ptr_equal(u64_map_get(&m, 42), value_of(42));
	assert_ptr_equal(u64_map_get(&m, 0), value_of(0));
	assert_ptr_equal(u64_map_get(&m, UINT64_MAX), value_of(7));
	assert_null(u64_map_get(&m, 43));
	assert_null(u64_map_get(&m, UINT64_MAX - 1));
	u64_map_free(&m);
}

static void test_put_replaces(void **state)
{
	struct u64_map m;
	int a, b;

	(void)state;
	assert_int_equal(u64_map_init(&m, 16), 0);
	assert_int_equal(u64_map_put(&m, 1234, &a), 0);
	assert_int_equal(u64_map_put(&m, 1234, &b), 0);
	assert_int_equal(m.count, 1);
	assert_ptr_equal(u64_map_get(&m, 1234), &b);
	assert_ptr_equal(u64_map_remove(&m, 1234), &b);
	assert_null(u64_map_get(&m, 1234));
	assert_int_equal(m.count, 0);
	u64_map_free(&m);
}

static void test_remove(void **state)
{
	struct u64_map m;

	(void)state;
	assert_int_equal(u64_map_init(&m, 16), 0);
	assert_null(u64_map_remove(&m, 5));
	for (uint64_t k = 1; k <= 40; k++)
		assert_int_equal(u64_map_put(&m, k, value_of(k)), 0);
	assert_int_equal(m.count, 40);

	/* Removing from the middle of a chain keeps the rest reachable. */
	for (uint64_t k = 1; k <= 40; k += 3)
		assert_ptr_equal(u64_map_remove(&m, k), value_of(k));
	assert_int_equal(m.count, 26);
	for (uint64_t k = 1; k <= 40; k++) {
		if (k % 3 == 1)
			assert_null(u64_map_get(&m, k));
		else
			assert_ptr_equal(u64_map_get(&m, k), value_of(k));
	}
	assert_null(u64_map_remove(&m, 1));
	assert_int_equal(m.count, 26);

	/* A removed key can come back. */
	assert_int_equal(u64_map_put(&m, 1, value_of(1)), 0);
	assert_ptr_equal(u64_map_get(&m, 1), value_of(1));
	assert_int_equal(m.count, 27);
	u64_map_free(&m);
}

static void test_grows_past_many_entries(void **state)
{
	const uint64_t n = 20000;
	struct u64_map m;

	(void)state;
	assert_int_equal(u64_map_init(&m, 16), 0);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(u64_map_put(&m, conn_id_at(i), value_of(i)), 0);
		assert_int_equal(u64_map_put(&m, i + 1, value_of(n + i)), 0);
	}
	assert_int_equal(m.count, 2 * n);
	/* Grown so that chains stay short: no more entries than buckets. */
	assert_true(m.bucket_count >= m.count);
	assert_int_equal(m.bucket_count & (m.bucket_count - 1), 0);
	for (uint64_t i = 0; i < n; i++) {
		assert_ptr_equal(u64_map_get(&m, conn_id_at(i)), value_of(i));
		assert_ptr_equal(u64_map_get(&m, i + 1), value_of(n + i));
	}
	assert_null(u64_map_get(&m, n + 1));
	for (uint64_t i = 0; i < n; i++)
		assert_ptr_equal(u64_map_remove(&m, conn_id_at(i)), value_of(i));
	assert_int_equal(m.count, n);
	assert_null(u64_map_get(&m, conn_id_at(0)));
	assert_ptr_equal(u64_map_get(&m, n), value_of(2 * n - 1));
	u64_map_free(&m);
}

struct visit_log {
	uint64_t visits;
	uint64_t key_sum;
	uint64_t removed;
};

static int count_entry(uint64_t key, void *value, void *arg)
{
	struct visit_log *log = arg;

	assert_ptr_equal(value, value_of(key));
	log->visits++;
	log->key_sum += key;
	return 0;
}

/* Removes the entries with even keys. */
static int remove_even(uint64_t key, void *value, void *arg)
{
	struct visit_log *log = arg;

	assert_ptr_equal(value, value_of(key));
	log->visits++;
	if (key % 2)
		return 0;
	log->removed++;
	return 1;
}

static int remove_all(uint64_t key, void *value, void *arg)
{
	(void)key;
	(void)value;
	(void)arg;
	return 1;
}

static void test_visit_with_removal(void **state)
{
	const uint64_t n = 1000;
	struct visit_log log = {0};
	struct u64_map m;

	(void)state;
	assert_int_equal(u64_map_init(&m, 16), 0);
	u64_map_visit(&m, count_entry, &log);
	assert_int_equal(log.visits, 0);

	for (uint64_t k = 1; k <= n; k++)
		assert_int_equal(u64_map_put(&m, k, value_of(k)), 0);
	u64_map_visit(&m, count_entry, &log);
	assert_int_equal(log.visits, n);
	assert_int_equal(log.key_sum, n * (n + 1) / 2);

	/* Every entry is visited exactly once, removed ones included. */
	log = (struct visit_log){0};
	u64_map_visit(&m, remove_even, &log);
	assert_int_equal(log.visits, n);
	assert_int_equal(log.removed, n / 2);
	assert_int_equal(m.count, n / 2);
	for (uint64_t k = 1; k <= n; k++) {
		if (k % 2)
			assert_ptr_equal(u64_map_get(&m, k), value_of(k));
		else
			assert_null(u64_map_get(&m, k));
	}

	log = (struct visit_log){0};
	u64_map_visit(&m, count_entry, &log);
	assert_int_equal(log.visits, n / 2);
	assert_int_equal(log.key_sum, (n / 2) * (n / 2));

	u64_map_visit(&m, remove_all, NULL);
	assert_int_equal(m.count, 0);
	for (size_t i = 0; i < m.bucket_count; i++)
		assert_null(m.buckets[i]);
	assert_int_equal(u64_map_put(&m, 9, value_of(9)), 0);
	assert_ptr_equal(u64_map_get(&m, 9), value_of(9));
	u64_map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_rounds_buckets_up),
	    cmocka_unit_test(test_put_get),
	    cmocka_unit_test(test_put_replaces),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_grows_past_many_entries),
	    cmocka_unit_test(test_visit_with_removal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
