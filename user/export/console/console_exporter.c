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
 * Printing: names come from the network (URL paths), so every byte that a
 * terminal could interpret (C0/C1 controls, invalid UTF-8) is printed as '?'.
 * Column widths count one cell per code point; wide (CJK) characters are rare
 * in HTTP routes and are not measured.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/agent_stats.h"
#include "export/console/console_exporter.h"
#include "lib/log.h"

/* Stamp of a trace that received a span since the last tick. */
#define STAMP_PENDING		    UINT64_MAX
#define NSEC_PER_MSEC		    1000000ULL
#define NSEC_PER_SEC		    1000000000ULL
#define TRACE_TABLE_INITIAL_BUCKETS 64

/* Line layout, in terminal cells. The tree column holds the indentation,
 * the kind and the span name, so deeper spans get shorter names and the
 * columns to the right stay aligned. */
#define TREE_WIDTH	40
#define KIND_WIDTH	6
#define MAX_SHOWN_DEPTH 8 /* deeper spans are indented like this depth */
#define SERVICE_WIDTH	12
#define DURATION_WIDTH	11
#define BAR_WIDTH	30

#define ANSI_BOLD     "\033[1m"
#define ANSI_RED      "\033[31m"
#define ANSI_BOLD_RED "\033[1;31m"
#define ANSI_YELLOW   "\033[33m"
#define ANSI_RESET    "\033[0m"

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
	FILE *out;
	struct agent_stats *stats;
	uint64_t idle_ns;
	size_t max_held_spans;
	bool use_color;
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
	uint64_t h = lo ^ (hi * 0x9e3779b97f4a7c15ULL);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return (size_t)h;
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

/* ---- text that fits a column ----------------------------------------------------------------- */

/* Length of the printable UTF-8 sequence at s, or 0 when the bytes must not
 * reach a terminal as they are (controls, invalid or overlong UTF-8). */
static size_t printable_utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;

	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* A NUL fails this test too, so a cut sequence never reads past the string. */
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* U+0080..U+009F are C1 controls (0xc2 0x9b is CSI to some terminals);
	 * the others are overlong forms, UTF-16 surrogates, or beyond U+10FFFF. */
	if ((c == 0xc2 && s[1] < 0xa0) || (c == 0xe0 && s[1] < 0xa0) ||
	    (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) ||
	    (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* Bytes taken by the next cell at s: a printable sequence, or one byte shown as '?'. */
static size_t next_cell_len(const unsigned char *s, bool *printable)
{
	size_t n = printable_utf8_len(s);

	*printable = n != 0;
	return n ? n : 1;
}

static size_t count_cells(const unsigned char *s, size_t limit)
{
	size_t cells = 0;
	bool printable;

	while (*s && cells < limit) {
		s += next_cell_len(s, &printable);
		cells++;
	}
	return cells;
}

/* Writes `text` in exactly `width` cells: cut with an ellipsis when longer,
 * padded with spaces when shorter. */
static void put_fitted(struct console_exporter *ce, const char *text, size_t width)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t used = 0;

	if (width == 0)
		return;
	bool cut = count_cells(s, width + 1) > width;
	size_t room = cut ? width - 1 : width;

	while (*s && used < room) {
		bool printable;
		size_t n = next_cell_len(s, &printable);

		if (printable)
			fwrite(s, 1, n, ce->out);
		else
			fputc('?', ce->out);
		s += n;
		used++;
	}
	if (cut) {
		fputs(ce->use_color ? "\u2026" : "~", ce->out);
		used++;
	}
	for (; used < width; used++)
		fputc(' ', ce->out);
}

/* ---- one span line --------------------------------------------------------------------------- */

struct time_range {
	uint64_t start_ns, end_ns; /* unix time */
};

/* A span that claims to end before it starts is shown as instantaneous. */
static uint64_t span_end_ns(const struct span *s)
{
	return s->end_unix_ns > s->start_unix_ns ? s->end_unix_ns : s->start_unix_ns;
}

static struct time_range trace_time_range(struct span *const *spans, size_t n)
{
	struct time_range r = {spans[0]->start_unix_ns, span_end_ns(spans[0])};

	for (size_t i = 1; i < n; i++) {
		if (spans[i]->start_unix_ns < r.start_ns)
			r.start_ns = spans[i]->start_unix_ns;
		if (span_end_ns(spans[i]) > r.end_ns)
			r.end_ns = span_end_ns(spans[i]);
	}
	return r;
}

/* "12.400 ms" right-aligned in `width` cells. Microsecond resolution, since
 * requests over loopback take tens of microseconds; seconds from 10 s on so
 * that the column stays narrow. */
static void format_duration(char *buf, size_t len, uint64_t ns, int width)
{
	if (ns < 10 * NSEC_PER_SEC)
		snprintf(buf, len, "%*.3f ms", width, (double)ns / NSEC_PER_MSEC);
	else
		snprintf(buf, len, "%*.3f s", width, (double)ns / NSEC_PER_SEC);
}

static const char *kind_label(enum span_kind kind)
{
	switch (kind) {
	case SPAN_KIND_SERVER:
		return "SERVER";
	case SPAN_KIND_CLIENT:
		return "CLIENT";
	case SPAN_KIND_INTERNAL:
		return "INTERNAL";
	default:
		return "SPAN";
	}
}

/* http.response.status_code (semantic conventions), or -1 when absent or not a status. */
static int http_status_of(const struct span *s)
{
	const struct attribute *a = attribute_list_find(&s->attrs, "http.response.status_code");
	long long code = -1;

	if (a && a->type == ATTR_INT)
		code = a->i;
	else if (a && a->type == ATTR_STRING)
		code = strtoll(a->str, NULL, 10);
	return code >= 100 && code <= 999 ? (int)code : -1;
}

/* Three cells: the HTTP status, "ERR" for a failed span without one, else "-". */
static void put_http_status(struct console_exporter *ce, const struct span *s)
{
	int code = http_status_of(s);
	const char *color = NULL;

	if (code < 0) {
		fputs(s->status_code == SPAN_STATUS_ERROR ? "ERR" : "  -", ce->out);
		return;
	}
	if (ce->use_color && code >= 500)
		color = ANSI_RED;
	else if (ce->use_color && code >= 400)
		color = ANSI_YELLOW;
	fprintf(ce->out, "%s%3d%s", color ? color : "", code, color ? ANSI_RESET : "");
}

/* Six cells: " ERROR" when the span's OTLP status is Error. */
static void put_error_marker(struct console_exporter *ce, const struct span *s)
{
	if (s->status_code != SPAN_STATUS_ERROR)
		fputs("      ", ce->out);
	else if (ce->use_color)
		fputs(" " ANSI_BOLD_RED "ERROR" ANSI_RESET, ce->out);
	else
		fputs(" ERROR", ce->out);
}

/* The span's place on the trace's time line: cells [first, last), at least one. */
static void bar_cells(const struct span *s, const struct time_range *r, size_t *first, size_t *last)
{
	uint64_t range = r->end_ns - r->start_ns;

	if (range == 0) {
		/* Every span of the trace is the same instant: each covers all of it. */
		*first = 0;
		*last = BAR_WIDTH;
		return;
	}
	unsigned __int128 from = s->start_unix_ns - r->start_ns;
	unsigned __int128 to = span_end_ns(s) - r->start_ns;

	*first = (size_t)(from * BAR_WIDTH / range);
	*last = (size_t)((to * BAR_WIDTH + range - 1) / range);
	if (*first >= BAR_WIDTH)
		*first = BAR_WIDTH - 1;
	if (*last > BAR_WIDTH)
		*last = BAR_WIDTH;
	if (*last <= *first)
		*last = *first + 1;
}

static void put_bar(struct console_exporter *ce, const struct span *s, const struct time_range *r)
{
	const char *full = ce->use_color ? "\u2588" : "#";
	size_t first, last;

	bar_cells(s, r, &first, &last);
	fputc('|', ce->out);
	for (size_t i = 0; i < BAR_WIDTH; i++)
		fputs(i >= first && i < last ? full : " ", ce->out);
	fputc('|', ce->out);
}

static void print_span_line(struct console_exporter *ce, const struct span *s, size_t depth,
			    const struct time_range *r)
{
	size_t indent = 2 * (depth < MAX_SHOWN_DEPTH ? depth : MAX_SHOWN_DEPTH);
	const char *kind = kind_label(s->kind);
	size_t kind_cells = strlen(kind) > KIND_WIDTH ? strlen(kind) : KIND_WIDTH;
	const char *service =
	    s->resource && s->resource->service_name ? s->resource->service_name : "-";
	char duration[32];

	fprintf(ce->out, "  %*s%-*s  ", (int)indent, "", KIND_WIDTH, kind);
	put_fitted(ce, s->name ? s->name : "-", TREE_WIDTH - indent - kind_cells - 2);
	fputs("  ", ce->out);
	put_fitted(ce, service, SERVICE_WIDTH);
	fputs("  ", ce->out);
	put_http_status(ce, s);
	put_error_marker(ce, s);
	format_duration(duration, sizeof(duration), span_end_ns(s) - s->start_unix_ns,
			DURATION_WIDTH - 3);
	fprintf(ce->out, "  %-*s  ", DURATION_WIDTH, duration);
	put_bar(ce, s, r);
	fputc('\n', ce->out);
}

/* ---- the tree of one trace ------------------------------------------------------------------- */

#define NO_NODE SIZE_MAX

struct tree_node {
	struct span *span;
	size_t arrival; /* equal start times keep arrival order */
	size_t parent, first_child, next_sibling;
	bool printed;
};

struct tree_walk_step {
	size_t next; /* the next sibling to visit at this level, or NO_NODE */
	size_t depth;
};

static int compare_by_start(const void *a, const void *b)
{
	const struct tree_node *x = a, *y = b;

	if (x->span->start_unix_ns != y->span->start_unix_ns)
		return x->span->start_unix_ns < y->span->start_unix_ns ? -1 : 1;
	return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

static int compare_by_span_id(const void *a, const void *b, void *nodes_arg)
{
	const struct tree_node *nodes = nodes_arg;

	return memcmp(nodes[*(const size_t *)a].span->span_id,
		      nodes[*(const size_t *)b].span->span_id, sizeof(nodes->span->span_id));
}

/* Index of a node whose span id is `id`, by binary search over `by_id`. */
static size_t find_node_by_span_id(const struct tree_node *nodes, const size_t *by_id, size_t n,
				   const uint8_t id[8])
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(nodes[by_id[mid]].span->span_id, id, 8);

		if (c == 0)
			return by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NO_NODE;
}

/* Links every node to its parent in the trace; the rest become roots. */
static void link_tree(struct tree_node *nodes, size_t *by_id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		by_id[i] = i;
	qsort_r(by_id, n, sizeof(*by_id), compare_by_span_id, nodes);
	for (size_t i = 0; i < n; i++) {
		const struct span *s = nodes[i].span;

		nodes[i].parent = NO_NODE;
		nodes[i].first_child = NO_NODE;
		nodes[i].next_sibling = NO_NODE;
		if (span_has_parent(s))
			nodes[i].parent = find_node_by_span_id(nodes, by_id, n, s->parent_span_id);
		if (nodes[i].parent == i)
			nodes[i].parent = NO_NODE;
	}
	/* Backwards, so that each child list ends up in start order. */
	for (size_t i = n; i-- > 0;) {
		size_t p = nodes[i].parent;

		if (p != NO_NODE) {
			nodes[i].next_sibling = nodes[p].first_child;
			nodes[p].first_child = i;
		}
	}
}

/* Prints `root` and everything under it, depth first, each span once. */
static void print_subtree(struct console_exporter *ce, struct tree_node *nodes,
			  struct tree_walk_step *stack, size_t root, const struct time_range *r)
{
	size_t top = 0;

	nodes[root].printed = true;
	print_span_line(ce, nodes[root].span, 0, r);
	stack[top++] = (struct tree_walk_step){nodes[root].first_child, 1};
	while (top > 0) {
		struct tree_walk_step *step = &stack[top - 1];
		size_t node = step->next, depth = step->depth;

		if (node == NO_NODE) {
			top--;
			continue;
		}
		step->next = nodes[node].next_sibling;
		/* A parent cycle (a span that is its own ancestor) would loop forever. */
		if (nodes[node].printed)
			continue;
		nodes[node].printed = true;
		print_span_line(ce, nodes[node].span, depth, r);
		stack[top++] = (struct tree_walk_step){nodes[node].first_child, depth + 1};
	}
}

/* Returns -ENOMEM, having printed nothing, when the tree cannot be built. */
static int print_span_tree(struct console_exporter *ce, struct span *const *spans, size_t n,
			   const struct time_range *r)
{
	struct tree_node *nodes = calloc(n, sizeof(*nodes));
	size_t *by_id = calloc(n, sizeof(*by_id));
	/* Each printed span pushes one step: n + 1 bounds the depth. */
	struct tree_walk_step *stack = calloc(n + 1, sizeof(*stack));
	int err = -ENOMEM;

	if (!nodes || !by_id || !stack)
		goto out;
	for (size_t i = 0; i < n; i++) {
		nodes[i].span = spans[i];
		nodes[i].arrival = i;
	}
	qsort(nodes, n, sizeof(*nodes), compare_by_start);
	link_tree(nodes, by_id, n);
	for (size_t i = 0; i < n; i++)
		if (nodes[i].parent == NO_NODE)
			print_subtree(ce, nodes, stack, i, r);
	/* What is left hangs in a parent cycle: show it from its earliest span. */
	for (size_t i = 0; i < n; i++)
		if (!nodes[i].printed)
			print_subtree(ce, nodes, stack, i, r);
	err = 0;
out:
	free(stack);
	free(by_id);
	free(nodes);
	return err;
}

static void print_trace_header(struct console_exporter *ce, const uint8_t trace_id[16],
			       size_t count, uint64_t duration_ns)
{
	char hex[33], duration[32];

	hex_encode(trace_id, 16, hex);
	format_duration(duration, sizeof(duration), duration_ns, 0);
	fprintf(ce->out, "%strace %s  %zu span%s  %s%s\n", ce->use_color ? ANSI_BOLD : "", hex,
		count, count == 1 ? "" : "s", duration, ce->use_color ? ANSI_RESET : "");
}

static void print_trace(struct console_exporter *ce, struct span *const *spans, size_t n)
{
	struct time_range r = trace_time_range(spans, n);

	print_trace_header(ce, spans[0]->trace_id, n, r.end_ns - r.start_ns);
	if (print_span_tree(ce, spans, n, &r) < 0) {
		/* No memory for the tree: still show every span, flat, as they came. */
		for (size_t i = 0; i < n; i++)
			print_span_line(ce, spans[i], 0, &r);
	}
	fputc('\n', ce->out);
	/* Flushed per trace so that a pipe (kspan | grep) sees traces as they complete. */
	if (fflush(ce->out) == 0 && !ferror(ce->out))
		return;
	if (ce->stats)
		STAT_ADD(ce->stats, spans_export_failed, n);
	if (!ce->write_error_reported)
		log_warn("console exporter: cannot write spans (%s); they are counted in "
			 "spans_export_failed",
			 strerror(errno));
	ce->write_error_reported = true;
	clearerr(ce->out);
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
	while (ce->held_spans > ce->max_held_spans)
		print_and_release(ce, ce->oldest);
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
	ce->out = out;
	ce->stats = stats;
	ce->idle_ns =
	    (uint64_t)(cfg->trace_idle_ms ? cfg->trace_idle_ms : CONSOLE_TRACE_IDLE_MS_DEFAULT) *
	    NSEC_PER_MSEC;
	ce->max_held_spans =
	    cfg->max_held_spans ? cfg->max_held_spans : CONSOLE_MAX_HELD_SPANS_DEFAULT;
	ce->use_color = cfg->use_color;
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
