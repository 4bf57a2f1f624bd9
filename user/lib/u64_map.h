/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* u64_map.h - a small chained hash map from 64-bit keys to pointers, for the
 * agent's tables (connections by id, processes by pid). Single-threaded. */
#ifndef KSPAN_U64_MAP_H
#define KSPAN_U64_MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64_map_entry {
	uint64_t key;
	void *value;
	struct u64_map_entry *next;
};

struct u64_map {
	struct u64_map_entry **buckets;
	size_t bucket_count; /* a power of two */
	size_t count;
};

/* Every bit of key spread over every bit of the result (the splitmix64
 * finaliser): for tables whose keys are not random (pids, hand-made ids). */
static inline uint64_t u64_mix(uint64_t key)
{
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebull;
	key ^= key >> 31;
	return key;
}

int u64_map_init(struct u64_map *m, size_t initial_buckets);
void u64_map_free(struct u64_map *m); /* frees entries, not values */
void *u64_map_get(const struct u64_map *m, uint64_t key);
int u64_map_put(struct u64_map *m, uint64_t key, void *value); /* replaces */
void *u64_map_remove(struct u64_map *m, uint64_t key);

/* Visit every entry; the callback may return 1 to remove the entry being
 * visited (the value is not freed by the map). */
void u64_map_visit(struct u64_map *m, int (*fn)(uint64_t key, void *value, void *arg), void *arg);

#endif /* KSPAN_U64_MAP_H */
