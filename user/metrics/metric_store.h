/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metric_store.h - kspan's metric streams: one histogram (or counter) per
 * (resource, metric, attribute set), the cardinality limit, and collection
 * in either temporality.
 *
 * Recording happens on the agent's main thread; collection for OTLP on the
 * main thread and for Prometheus on the metrics server's thread, hence one
 * lock. The store keeps cumulative values only; a delta collection reports
 * the difference from the previous delta collection, so the Prometheus
 * endpoint (always cumulative) and a delta OTLP exporter can both read it.
 *
 * Cardinality (metrics/sdk.md, "Cardinality limits"): per metric and per
 * resource (one process is one SDK's worth of metrics), at most limit - 1
 * attribute sets; measurements with any further set are recorded into one
 * overflow set whose only attribute is otel.metric.overflow=true, and
 * counted in agent_stats.metric_measurements_overflowed. The limit bounds the
 * streams of one process; a stream without measurements for
 * METRIC_STREAM_IDLE_NS is removed (metric_store_remove_idle), so processes
 * that come and go (every curl is one) do not pile up: a stream that comes
 * back starts anew (a new start time, as the data model allows).
 */
#ifndef KSPAN_METRIC_STORE_H
#define KSPAN_METRIC_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/u64_map.h"
#include "metrics/histogram.h"
#include "model/agent_stats.h"
#include "model/span.h"

/* metrics/sdk.md: "The default value is 2000". */
#define METRIC_DEFAULT_CARDINALITY_LIMIT 2000
#define METRIC_STREAM_IDLE_NS		 (15ull * 60 * 1000000000)

enum metric_id {
	METRIC_HTTP_SERVER_DURATION,
	METRIC_HTTP_CLIENT_DURATION,
	METRIC_RPC_SERVER_DURATION,
	METRIC_RPC_CLIENT_DURATION,
	METRIC_SERVICE_GRAPH_REQUESTS,
	METRIC_SERVICE_GRAPH_FAILED,
	METRIC_SERVICE_GRAPH_SERVER_SECONDS,
	METRIC_SERVICE_GRAPH_CLIENT_SECONDS,
	METRIC_COUNT,
};

struct metric_desc {
	const char *name; /* OTLP */
	const char *unit; /* UCUM */
	const char *description;
	const char *prometheus_name; /* without _bucket/_sum/_count */
	bool counter;		     /* a monotonic Sum of int; else a histogram */
	const double *bounds;
	size_t n_bounds;
};

extern const struct metric_desc metric_descs[METRIC_COUNT];

#define METRIC_ATTRS_MAX 10

struct metric_attr {
	const char *key; /* a string literal */
	const char *str; /* NULL: an int; a stream's copy is NUL-terminated */
	size_t len;	 /* of str */
	int64_t i;
};

/* An attribute set, in the order the keys were added (always the same order
 * for one metric, so equal sets compare equal field by field). */
struct metric_attrs {
	size_t n;
	struct metric_attr a[METRIC_ATTRS_MAX];
};

/* Borrow str (copied only when a new stream is made); a NULL str or a full
 * set adds nothing. _strn: str[0..len), no NUL in it, none needed after. */
void metric_attrs_add_str(struct metric_attrs *s, const char *key, const char *str);
void metric_attrs_add_strn(struct metric_attrs *s, const char *key, const char *str, size_t len);
void metric_attrs_add_int(struct metric_attrs *s, const char *key, int64_t i);

struct metric_stream {
	struct metric_stream *hash_next;
	uint64_t hash;
	uint64_t seq;		   /* creation order */
	struct resource *resource; /* counted reference, or NULL */
	enum metric_id id;
	bool overflow;		   /* the otel.metric.overflow=true set */
	struct metric_attrs attrs; /* strings owned by the stream */
	uint64_t start_unix_ns;
	uint64_t last_unix_ns; /* the latest measurement */
	struct histogram cumulative;
	struct histogram at_last_delta; /* cumulative at the previous delta collection */
};

struct metric_store {
	pthread_mutex_t lock;
	struct metric_stream **buckets;
	size_t n_buckets, count;
	struct u64_map sets; /* (resource, metric) -> number of non-overflow sets */
	uint32_t cardinality_limit;
	uint64_t last_delta_unix_ns; /* start of the current delta interval */
	bool delta_reader;	     /* a delta collection happened: keep what it has not seen */
	unsigned snapshots;	     /* alive (they point at streams): nothing is removed */
	uint64_t next_seq;
	struct agent_stats *stats;
};

int metric_store_init(struct metric_store *s, uint32_t cardinality_limit, uint64_t now_unix_ns,
		      struct agent_stats *stats);
void metric_store_free(struct metric_store *s);

/* Count one measurement (for counters, value is ignored and 1 is added);
 * ex: the exemplar to keep, or NULL. Returns 0 or -ENOMEM (counted). */
int metric_store_record(struct metric_store *s, struct resource *res, enum metric_id id,
			const struct metric_attrs *attrs, double value, const struct exemplar *ex,
			uint64_t now_unix_ns);

/* One exported point: values are a copy, stream only names resource,
 * metric and attributes (streams are never freed while the store lives). */
struct metric_point {
	const struct metric_stream *stream;
	struct histogram h;
	uint64_t start_unix_ns, time_unix_ns;
};

struct metric_snapshot {
	struct metric_point *points; /* grouped by resource, then metric */
	size_t n;
	bool delta;
	struct metric_store *store;
};

/* Every stream's cumulative value, or (delta) what changed since the last
 * delta collection, streams without new measurements left out. 0 or -ENOMEM. */
int metric_store_collect(struct metric_store *s, bool delta, uint64_t now_unix_ns,
			 struct metric_snapshot *out);
void metric_snapshot_free(struct metric_snapshot *snap);

/* Remove the streams without a measurement since now - idle_ns (and, when a
 * delta reader exists, none it has not exported yet); nothing while a
 * snapshot is alive. Counted in metric_sets_idle_removed. */
void metric_store_remove_idle(struct metric_store *s, uint64_t now_unix_ns, uint64_t idle_ns);

#endif /* KSPAN_METRIC_STORE_H */
