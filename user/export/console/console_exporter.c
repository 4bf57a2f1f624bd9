// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * console_exporter.c - holds spans per trace, prints each quiet trace as a tree.
 *
 * Holding: a chained hash table keyed by trace id finds a span's trace. The
 * same traces form an activity list ordered by the arrival of their latest
 * span, so the traces due for printing, and the one to print early when too
 * many spans are held, are always at its head.
 *
 * Time: export_span() gets no clock, so a trace that received a span since
 * the last tick is stamped with the *next* tick's time. A trace is thus
 * printed after at least trace_idle_ms of quiet (at most one tick interval
 * more), and tests drive time through tick() alone.
 *
 * Printing: console_view.c lays out each trace; here it is flushed, and a
 * write error counted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/agent_stats.h"
#include "export/console/console_exporter.h"
#include "export/console/console_view.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/u64_map.h"

/* Stamp of a trace that received a span since the last tick. */
#define STAMP_PENDING		    UINT64_MAX
#define TRACE_TABLE_INITIAL_BUCKETS 64

struct held_trace {
	uint8_t trace_id[16];
	struct held_trace *hash_next;
	struct held_trace *prev_active, *next_active; /* activity list, oldest first */
	uint64_t last_active_ns; /* tick time (CLOCK_MONOTONIC), or STAMP_PENDING */
	struct span **spans;	 /* counted references, in arrival order */
	size_t count, cap;
};

struct trace_table {
	struct held_trace **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

struct console_exporter {
	struct exporter base;
	struct console_view view; /* where and how traces are printed */
	struct agent_stats *stats;
	uint64_t idle_ns;
	size_t max_held_spans;
	struct trace_table table;
	struct held_trace *oldest, *newest; /* the activity list */
	size_t held_spans;
	bool write_error_reported;
};

/* ---- trace table ----------------------------------------------------------------------------- */

static size_t trace_id_hash(const uint8_t id[16])
{
	uint64_t lo, hi;

	memcpy(&lo, id, sizeof(lo));
	memcpy(&hi, id + 8, sizeof(hi));
	/* Real ids are random, but hand-made ones ("...0001") are not: mix every bit. */
	return (size_t)u64_mix(lo ^ u64_mix(hi));
}

static int trace_table_init(struct trace_table *t)
{
	t->buckets = calloc(TRACE_TABLE_INITIAL_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = TRACE_TABLE_INITIAL_BUCKETS;
	t->count = 0;
	return 0;
}

static struct held_trace *trace_table_find(const struct trace_table *t, const uint8_t id[16])
{
	struct held_trace *tr = t->buckets[trace_id_hash(id) & (t->nbuckets - 1)];

	while (tr && memcmp(tr->trace_id, id, sizeof(tr->trace_id)) != 0)
		tr = tr->hash_next;
	return tr;
}

/* Doubles the bucket array; on allocation failure chains just get longer. */
static void trace_table_grow(struct trace_table *t)
{
	size_t nbuckets = t->nbuckets * 2;
	struct held_trace **buckets = calloc(nbuckets, sizeof(*buckets));

	if (!buckets)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct held_trace *tr = t->buckets[i];

		while (tr) {
			struct held_trace *next = tr->hash_next;
			size_t b = trace_id_hash(tr->trace_id) & (nbuckets - 1);

			tr->hash_next = buckets[b];
			buckets[b] = tr;
			tr = next;
		}
	}
	free(t->buckets);
	t->buckets = buckets;
	t->nbuckets = nbuckets;
}

static void trace_table_insert(struct trace_table *t, struct held_trace *tr)
{
	if (t->count >= t->nbuckets)
		trace_table_grow(t);
	size_t b = trace_id_hash(tr->trace_id) & (t->nbuckets - 1);

	tr->hash_next = t->buckets[b];
	t->buckets[b] = tr;
	t->count++;
}

static void trace_table_remove(struct trace_table *t, struct held_trace *tr)
{
	struct held_trace **link = &t->buckets[trace_id_hash(tr->trace_id) & (t->nbuckets - 1)];

	while (*link && *link != tr)
		link = &(*link)->hash_next;
	if (*link) {
		*link = tr->hash_next;
		t->count--;
	}
}

/* ---- held traces and the activity list ------------------------------------------------------- */

static struct held_trace *held_trace_new(const uint8_t trace_id[16])
{
	struct held_trace *tr = calloc(1, sizeof(*tr));

	if (tr)
		memcpy(tr->trace_id, trace_id, sizeof(tr->trace_id));
	return tr;
}

static int held_trace_push(struct held_trace *tr, struct span *s)
{
	if (tr->count == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 4;
		struct span **spans = realloc(tr->spans, cap * sizeof(*spans));

		if (!spans)
			return -ENOMEM;
		tr->spans = spans;
		tr->cap = cap;
	}
	tr->spans[tr->count++] = span_ref(s);
	return 0;
}

static void activity_unlink(struct console_exporter *ce, struct held_trace *tr)
{
	if (tr->prev_active)
		tr->prev_active->next_active = tr->next_active;
	else
		ce->oldest = tr->next_active;
	if (tr->next_active)
		tr->next_active->prev_active = tr->prev_active;
	else
		ce->newest = tr->prev_active;
	tr->prev_active = tr->next_active = NULL;
}

static void activity_append(struct console_exporter *ce, struct held_trace *tr)
{
	tr->prev_active = ce->newest;
	tr->next_active = NULL;
	if (ce->newest)
		ce->newest->next_active = tr;
	else
		ce->oldest = tr;
	ce->newest = tr;
}

/* Forgets a trace: out of the table and the list, its span references dropped. */
static void release_trace(struct console_exporter *ce, struct held_trace *tr)
{
	trace_table_remove(&ce->table, tr);
	activity_unlink(ce, tr);
	for (size_t i = 0; i < tr->count; i++)
		span_unref(tr->spans[i]);
	ce->held_spans -= tr->count;
	free(tr->spans);
	free(tr);
}

/* ---- printing ---------------------------------------------------------------------------- */

static void print_trace(struct console_exporter *ce, struct span *const *spans, size_t n)
{
	console_view_print_trace(&ce->view, spans, n);
	/* Flushed per trace so that a pipe (kspan | grep) sees traces as they complete. */
	if (fflush(ce->view.out) == 0 && !ferror(ce->view.out))
		return;
	if (ce->stats)
		STAT_ADD(ce->stats, spans_export_failed, n);
	if (!ce->write_error_reported)
		log_warn("console exporter: cannot write spans (%s); they are counted in "
			 "spans_export_failed",
			 strerror(errno));
	ce->write_error_reported = true;
	clearerr(ce->view.out);
}

static void print_and_release(struct console_exporter *ce, struct held_trace *tr)
{
	print_trace(ce, tr->spans, tr->count);
	release_trace(ce, tr);
}

/* ---- the exporter interface ------------------------------------------------------------------ */

static int console_export_span(struct exporter *e, struct span *s)
{
	struct console_exporter *ce = e->state;
	struct held_trace *tr = trace_table_find(&ce->table, s->trace_id);

	if (!tr) {
		tr = held_trace_new(s->trace_id);
		if (!tr) {
			/* Out of memory: show the span now rather than lose it. */
			print_trace(ce, &s, 1);
			return 0;
		}
		trace_table_insert(&ce->table, tr);
	} else {
		activity_unlink(ce, tr);
	}
	activity_append(ce, tr);
	tr->last_active_ns = STAMP_PENDING;
	if (held_trace_push(tr, s) < 0) {
		print_trace(ce, &s, 1);
		if (tr->count == 0)
			release_trace(ce, tr);
		return 0;
	}
	ce->held_spans++;
	/* The bound on what is held (spans, and the traces they belong to):
	 * the longest-quiet trace is printed early, never dropped. */
	while (ce->held_spans > ce->max_held_spans) {
		if (ce->stats)
			STAT_INC(ce->stats, console_traces_flushed_early);
		print_and_release(ce, ce->oldest);
	}
	return 0;
}

static void console_tick(struct exporter *e, uint64_t now_mono_ns)
{
	struct console_exporter *ce = e->state;
	struct held_trace *tr;

	/* Traces touched since the last tick are at the newest end of the list. */
	for (tr = ce->newest; tr && tr->last_active_ns == STAMP_PENDING; tr = tr->prev_active)
		tr->last_active_ns = now_mono_ns;
	while ((tr = ce->oldest) && now_mono_ns > tr->last_active_ns &&
	       now_mono_ns - tr->last_active_ns > ce->idle_ns)
		print_and_release(ce, tr);
}

static void print_all_held(struct console_exporter *ce)
{
	while (ce->oldest)
		print_and_release(ce, ce->oldest);
}

/* Printing is synchronous and quick: there is nothing to wait for. */
static void console_shutdown(struct exporter *e, uint64_t deadline_mono_ns)
{
	(void)deadline_mono_ns;
	print_all_held(e->state);
}

static void console_destroy(struct exporter *e)
{
	struct console_exporter *ce = e->state;

	/* An error path that skipped shutdown still shows what was held. */
	print_all_held(ce);
	free(ce->table.buckets);
	free(ce);
}

void console_exporter_config_init(struct console_exporter_config *cfg, FILE *out)
{
	const char *no_color = getenv("NO_COLOR");

	cfg->trace_idle_ms = CONSOLE_TRACE_IDLE_MS_DEFAULT;
	cfg->max_held_spans = CONSOLE_MAX_HELD_SPANS_DEFAULT;
	cfg->use_color = isatty(fileno(out ? out : stdout)) && !(no_color && no_color[0]);
}

struct exporter *console_exporter_new(FILE *out, struct agent_stats *stats,
				      const struct console_exporter_config *cfg)
{
	struct console_exporter_config defaults;
	struct console_exporter *ce = calloc(1, sizeof(*ce));

	if (!out)
		out = stdout;
	if (!cfg) {
		console_exporter_config_init(&defaults, out);
		cfg = &defaults;
	}
	if (!ce || trace_table_init(&ce->table) < 0) {
		log_warn("console exporter: out of memory");
		free(ce);
		return NULL;
	}
	ce->view.out = out;
	ce->stats = stats;
	ce->idle_ns =
	    (uint64_t)(cfg->trace_idle_ms ? cfg->trace_idle_ms : CONSOLE_TRACE_IDLE_MS_DEFAULT) *
	    NS_PER_MS;
	ce->max_held_spans =
	    cfg->max_held_spans ? cfg->max_held_spans : CONSOLE_MAX_HELD_SPANS_DEFAULT;
	ce->view.use_color = cfg->use_color;
	ce->base = (struct exporter){
	    .name = "console",
	    .export_span = console_export_span,
	    .tick = console_tick,
	    .shutdown = console_shutdown,
	    .destroy = console_destroy,
	    .state = ce,
	};
	return &ce->base;
}
