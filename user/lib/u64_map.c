// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* u64_map.c - chained hash map with 64-bit keys. */
#include <errno.h>
#include <stdlib.h>

#include "lib/u64_map.h"

/* Connection ids are random, pids are not: mixed, sequential pids spread
 * over the buckets. */
static size_t bucket_of(const struct u64_map *m, uint64_t key)
{
	return (size_t)u64_mix(key) & (m->bucket_count - 1);
}

int u64_map_init(struct u64_map *m, size_t initial_buckets)
{
	size_t n = 16;

	while (n < initial_buckets)
		n <<= 1;
	m->buckets = calloc(n, sizeof(*m->buckets));
	if (!m->buckets)
		return -ENOMEM;
	m->bucket_count = n;
	m->count = 0;
	return 0;
}

void u64_map_free(struct u64_map *m)
{
	for (size_t i = 0; i < m->bucket_count; i++) {
		struct u64_map_entry *e = m->buckets[i];
		while (e) {
			struct u64_map_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->bucket_count = m->count = 0;
}

void *u64_map_get(const struct u64_map *m, uint64_t key)
{
	for (struct u64_map_entry *e = m->buckets[bucket_of(m, key)]; e; e = e->next)
		if (e->key == key)
			return e->value;
	return NULL;
}

static void grow(struct u64_map *m)
{
	size_t n = m->bucket_count * 2;
	struct u64_map_entry **b = calloc(n, sizeof(*b));
	struct u64_map old = *m;

	if (!b)
		return; /* keep working with longer chains */
	m->buckets = b;
	m->bucket_count = n;
	for (size_t i = 0; i < old.bucket_count; i++) {
		struct u64_map_entry *e = old.buckets[i];
		while (e) {
			struct u64_map_entry *next = e->next;
			size_t k = bucket_of(m, e->key);
			e->next = b[k];
			b[k] = e;
			e = next;
		}
	}
	free(old.buckets);
}

int u64_map_put(struct u64_map *m, uint64_t key, void *value)
{
	size_t k = bucket_of(m, key);
	struct u64_map_entry *e;

	for (e = m->buckets[k]; e; e = e->next) {
		if (e->key == key) {
			e->value = value;
			return 0;
		}
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->value = value;
	e->next = m->buckets[k];
	m->buckets[k] = e;
	if (++m->count > m->bucket_count)
		grow(m);
	return 0;
}

void *u64_map_remove(struct u64_map *m, uint64_t key)
{
	struct u64_map_entry **pp = &m->buckets[bucket_of(m, key)];

	for (; *pp; pp = &(*pp)->next) {
		struct u64_map_entry *e = *pp;
		if (e->key == key) {
			void *v = e->value;
			*pp = e->next;
			free(e);
			m->count--;
			return v;
		}
	}
	return NULL;
}

void u64_map_visit(struct u64_map *m, int (*fn)(uint64_t key, void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->bucket_count; i++) {
		struct u64_map_entry **pp = &m->buckets[i];
		while (*pp) {
			struct u64_map_entry *e = *pp;
			if (fn(e->key, e->value, arg) == 1) {
				*pp = e->next;
				free(e);
				m->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}
