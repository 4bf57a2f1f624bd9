/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * conn_registry.h - the connections an assembler follows, by the kernel's
 * connection id, and how each one ends: with its close, with its process
 * (exit() closes sockets without a close() the kernel would report), or
 * forgotten: silent for the budget's forget_ns (its close was lost, e.g. to
 * a full ring buffer), or evicted when the budget is spent.
 *
 * Each assembler's connection begins with a struct conn_entry; the registry
 * calls back (struct conn_registry_ops) for what only the assembler knows:
 * what ending a connection finishes, whether requests are still open, what
 * time does to it, how it is freed. Used by the HTTP/1 and HTTP/2 assemblers,
 * whose registries share one struct conn_budget: one bound on the
 * connections followed, whatever their protocol.
 */
#ifndef KSPAN_CONN_REGISTRY_H
#define KSPAN_CONN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kspan_abi.h"
#include "lib/u64_map.h"
#include "model/agent_stats.h"

/* A connection silent this long is forgotten, requests open or not: a live
 * keep-alive connection is rarely idle that long (servers close theirs after
 * seconds to minutes), long polls answer sooner, and a forgotten one that
 * speaks again is simply followed anew (adopted). The same for both
 * protocols: the only question is whether its close was lost.
 * --conn-forget-ms. */
#define CONN_FORGET_NS_DEFAULT (15ull * 60 * 1000000000ull)
/* Connections followed at most, both protocols together: as many as the
 * kernel's conn_table holds (KSPAN_MAX_CONNS). --max-connections. */
#define CONN_MAX_DEFAULT KSPAN_MAX_CONNS

/* ops->end's end_mono when the agent shuts down. */
#define CONN_SHUTDOWN UINT64_MAX
/* ops->end's end_mono when the connection is forgotten, not ended: silent
 * for forget_ns, or evicted. It may still be open: responses that began
 * end at their last byte seen, requests still waiting for one are dropped
 * and counted (requests_forgotten), never failed (nothing says they did). */
#define CONN_FORGOTTEN (UINT64_MAX - 1)

struct conn_registry;

/* What every followed connection has, first in the assembler's struct. */
struct conn_entry {
	uint64_t conn_id;
	uint32_t tgid;
	uint8_t role; /* enum kspan_role */
	bool tls;     /* its events are TLS plaintext (KSPAN_DATA_F_TLS): https */
	struct kspan_conn_tuple tuple;
	uint64_t last_event_mono; /* exit time of its latest event */
	/* In the budget's activity list, and whose entry it is. */
	struct conn_entry *older, *newer;
	struct conn_registry *registry;
};

/*
 * The bound on followed connections, shared by the registries of both
 * protocols, and the order of their activity. When a new connection would
 * pass `max`, the least recently active one is evicted: a connection silent
 * the longest is the likeliest to be one whose close was lost, or an idle
 * keep-alive whose next request is simply adopted; the active ones carry
 * the spans being made now. (Evicting the oldest by creation would cut the
 * long-lived busy ones: gRPC channels, proxies' upstream pools.)
 */
struct conn_budget {
	size_t max;	    /* connections at most, every registry together */
	uint64_t forget_ns; /* silence after which a connection is forgotten */
	size_t count;
	struct conn_entry *oldest, *newest; /* least recently active first */
	struct agent_stats *stats;	    /* conns_evicted, conns_expired */
};

/* max 0: CONN_MAX_DEFAULT; forget_ns 0: CONN_FORGET_NS_DEFAULT. */
void conn_budget_init(struct conn_budget *b, size_t max, uint64_t forget_ns,
		      struct agent_stats *stats);

struct conn_registry_ops {
	/* A new connection's own state (its entry is set, the rest zeroed):
	 * 0, or a negative errno (it is destroyed). */
	int (*init)(void *owner, struct conn_entry *c);
	/* The connection ended at end_mono (its close, or its process's exit);
	 * with end_mono CONN_FORGOTTEN it is no longer followed (see there);
	 * with CONN_SHUTDOWN the agent stops: finish what can be finished (at
	 * shutdown, requests still waiting are counted, not failed: they did
	 * not end). It is freed right after. */
	void (*end)(void *owner, struct conn_entry *c, uint64_t end_mono);
	/* What time does to a connection (waits that expire). */
	void (*tick)(void *owner, struct conn_entry *c, uint64_t now_mono);
	void (*destroy)(struct conn_entry *c);
};

struct conn_registry {
	struct u64_map conns; /* conn_id -> the assembler's connection */
	size_t conn_size;     /* of the assembler's struct, conn_entry first */
	const struct conn_registry_ops *ops;
	void *owner;		    /* the assembler, passed back to ops */
	struct conn_budget *budget; /* shared with the other protocol's registry */
};

int conn_registry_init(struct conn_registry *r, size_t buckets, size_t conn_size,
		       const struct conn_registry_ops *ops, void *owner,
		       struct conn_budget *budget);
/* Frees every connection (ops->destroy) without ending it. */
void conn_registry_free(struct conn_registry *r);

/* A new connection, from its first event, initialised (ops->init) and
 * added, the least recently active connection of the budget evicted first
 * when it is spent (ops->end(CONN_FORGOTTEN), counted conns_evicted). NULL
 * when out of memory. */
struct conn_entry *conn_registry_open(struct conn_registry *r, const struct kspan_data_event *ev);
struct conn_entry *conn_registry_get(const struct conn_registry *r, uint64_t conn_id);
/* An event of c was seen at ts_ns: it becomes the most recently active. */
void conn_registry_touch(struct conn_registry *r, struct conn_entry *c, uint64_t ts_ns);
/* Removes the connection from the registry and returns it (NULL: unknown). */
struct conn_entry *conn_registry_take(struct conn_registry *r, uint64_t conn_id);
size_t conn_registry_count(const struct conn_registry *r);

/* The process exited at ts_ns: its connections end there. */
void conn_registry_end_process(struct conn_registry *r, uint32_t tgid, uint64_t ts_ns);
/* ops->tick on every connection, then forgets those silent for forget_ns
 * (ops->end(CONN_FORGOTTEN), counted conns_expired). */
void conn_registry_tick(struct conn_registry *r, uint64_t now_mono);
/* Shutdown: ops->end(CONN_SHUTDOWN) on every connection, then frees it. */
void conn_registry_shutdown(struct conn_registry *r);

#endif /* KSPAN_CONN_REGISTRY_H */
