/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * conn_registry.h - the connections an assembler follows, by the kernel's
 * connection id, and how each one ends: with its close, with its process
 * (exit() closes sockets without a close() the kernel would report), or,
 * silent for CONN_FORGET_NS with no request open, forgotten (its close was
 * lost, e.g. to a full ring buffer).
 *
 * Each assembler's connection begins with a struct conn_entry; the registry
 * calls back (struct conn_registry_ops) for what only the assembler knows:
 * what ending a connection finishes, whether requests are still open, what
 * time does to it, how it is freed. Used by the HTTP/1 and HTTP/2 assemblers.
 */
#ifndef KSPAN_CONN_REGISTRY_H
#define KSPAN_CONN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kspan_abi.h"
#include "lib/u64_map.h"

/* A connection silent this long, with no request open, is forgotten: a live
 * keep-alive connection is rarely idle that long (servers close theirs after
 * seconds to minutes), and a forgotten one that speaks again is simply
 * followed anew. The same for both protocols: the only question is whether
 * its close was lost. */
#define CONN_FORGET_NS (15ull * 60 * 1000000000ull)

/* ops->end's end_mono when the agent shuts down. */
#define CONN_SHUTDOWN UINT64_MAX

/* What every followed connection has, first in the assembler's struct. */
struct conn_entry {
	uint64_t conn_id;
	uint32_t tgid;
	uint8_t role; /* enum kspan_role */
	struct kspan_conn_tuple tuple;
	uint64_t last_event_mono; /* exit time of its latest event */
};

struct conn_registry_ops {
	/* A new connection's own state (its entry is set, the rest zeroed):
	 * 0, or a negative errno (it is destroyed). */
	int (*init)(void *owner, struct conn_entry *c);
	/* The connection ended at end_mono (its close, or its process's exit)
	 * or, with end_mono CONN_SHUTDOWN, the agent stops: finish what can be
	 * finished (at shutdown, requests still waiting are counted, not
	 * failed: they did not end). It is freed right after. */
	void (*end)(void *owner, struct conn_entry *c, uint64_t end_mono);
	/* What time does to a connection (waits that expire). Returns whether
	 * requests or streams are still open: the connection is then kept
	 * however long it is silent (long polls, streaming calls). */
	bool (*tick)(void *owner, struct conn_entry *c, uint64_t now_mono);
	void (*destroy)(struct conn_entry *c);
};

struct conn_registry {
	struct u64_map conns; /* conn_id -> the assembler's connection */
	size_t conn_size;     /* of the assembler's struct, conn_entry first */
	const struct conn_registry_ops *ops;
	void *owner; /* the assembler, passed back to ops */
};

int conn_registry_init(struct conn_registry *r, size_t buckets, size_t conn_size,
		       const struct conn_registry_ops *ops, void *owner);
/* Frees every connection (ops->destroy) without ending it. */
void conn_registry_free(struct conn_registry *r);

/* A new connection, from its first event, initialised (ops->init) and
 * added. NULL when out of memory. */
struct conn_entry *conn_registry_open(struct conn_registry *r, const struct kspan_data_event *ev);
struct conn_entry *conn_registry_get(const struct conn_registry *r, uint64_t conn_id);
/* Removes the connection from the registry and returns it (NULL: unknown). */
struct conn_entry *conn_registry_take(struct conn_registry *r, uint64_t conn_id);
size_t conn_registry_count(const struct conn_registry *r);

/* The process exited at ts_ns: its connections end there. */
void conn_registry_end_process(struct conn_registry *r, uint32_t tgid, uint64_t ts_ns);
/* ops->tick on every connection, then forgets the silent ones. */
void conn_registry_tick(struct conn_registry *r, uint64_t now_mono);
/* Shutdown: ops->end(CONN_SHUTDOWN) on every connection, then frees it. */
void conn_registry_shutdown(struct conn_registry *r);

#endif /* KSPAN_CONN_REGISTRY_H */
