// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * console_view.c - one trace as text: a header line, then the spans as a tree
 * (children under their parent, in start order), one aligned line each.
 *
 * Names come from the network (URL paths), so every byte that a terminal
 * could interpret (C0/C1 controls, invalid UTF-8) is printed as '?'. Column
 * widths count one cell per code point; wide (CJK) characters are rare in
 * HTTP routes and are not measured.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/console/console_view.h"
#include "lib/clock.h"

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
static void put_fitted(const struct console_view *v, const char *text, size_t width)
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
			fwrite(s, 1, n, v->out);
		else
			fputc('?', v->out);
		s += n;
		used++;
	}
	if (cut) {
		fputs(v->use_color ? "\u2026" : "~", v->out);
		used++;
	}
	for (; used < width; used++)
		fputc(' ', v->out);
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
	if (ns < 10 * NS_PER_SEC)
		snprintf(buf, len, "%*.3f ms", width, (double)ns / NS_PER_MS);
	else
		snprintf(buf, len, "%*.3f s", width, (double)ns / NS_PER_SEC);
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
static void put_http_status(const struct console_view *v, const struct span *s)
{
	int code = http_status_of(s);
	const char *color = NULL;

	if (code < 0) {
		fputs(s->status_code == SPAN_STATUS_ERROR ? "ERR" : "  -", v->out);
		return;
	}
	if (v->use_color && code >= 500)
		color = ANSI_RED;
	else if (v->use_color && code >= 400)
		color = ANSI_YELLOW;
	fprintf(v->out, "%s%3d%s", color ? color : "", code, color ? ANSI_RESET : "");
}

/* Six cells: " ERROR" when the span's OTLP status is Error. */
static void put_error_marker(const struct console_view *v, const struct span *s)
{
	if (s->status_code != SPAN_STATUS_ERROR)
		fputs("      ", v->out);
	else if (v->use_color)
		fputs(" " ANSI_BOLD_RED "ERROR" ANSI_RESET, v->out);
	else
		fputs(" ERROR", v->out);
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

static void put_bar(const struct console_view *v, const struct span *s, const struct time_range *r)
{
	const char *full = v->use_color ? "\u2588" : "#";
	size_t first, last;

	bar_cells(s, r, &first, &last);
	fputc('|', v->out);
	for (size_t i = 0; i < BAR_WIDTH; i++)
		fputs(i >= first && i < last ? full : " ", v->out);
	fputc('|', v->out);
}

static void print_span_line(const struct console_view *v, const struct span *s, size_t depth,
			    const struct time_range *r)
{
	size_t indent = 2 * (depth < MAX_SHOWN_DEPTH ? depth : MAX_SHOWN_DEPTH);
	const char *kind = kind_label(s->kind);
	size_t kind_cells = strlen(kind) > KIND_WIDTH ? strlen(kind) : KIND_WIDTH;
	const char *service =
	    s->resource && s->resource->service_name ? s->resource->service_name : "-";
	char duration[32];

	fprintf(v->out, "  %*s%-*s  ", (int)indent, "", KIND_WIDTH, kind);
	put_fitted(v, s->name ? s->name : "-", TREE_WIDTH - indent - kind_cells - 2);
	fputs("  ", v->out);
	put_fitted(v, service, SERVICE_WIDTH);
	fputs("  ", v->out);
	put_http_status(v, s);
	put_error_marker(v, s);
	format_duration(duration, sizeof(duration), span_end_ns(s) - s->start_unix_ns,
			DURATION_WIDTH - 3);
	fprintf(v->out, "  %-*s  ", DURATION_WIDTH, duration);
	put_bar(v, s, r);
	fputc('\n', v->out);
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
static void print_subtree(const struct console_view *v, struct tree_node *nodes,
			  struct tree_walk_step *stack, size_t root, const struct time_range *r)
{
	size_t top = 0;

	nodes[root].printed = true;
	print_span_line(v, nodes[root].span, 0, r);
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
		print_span_line(v, nodes[node].span, depth, r);
		stack[top++] = (struct tree_walk_step){nodes[node].first_child, depth + 1};
	}
}

/* Returns -ENOMEM, having printed nothing, when the tree cannot be built. */
static int print_span_tree(const struct console_view *v, struct span *const *spans, size_t n,
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
			print_subtree(v, nodes, stack, i, r);
	/* What is left hangs in a parent cycle: show it from its earliest span. */
	for (size_t i = 0; i < n; i++)
		if (!nodes[i].printed)
			print_subtree(v, nodes, stack, i, r);
	err = 0;
out:
	free(stack);
	free(by_id);
	free(nodes);
	return err;
}

static void print_trace_header(const struct console_view *v, const uint8_t trace_id[16],
			       size_t count, uint64_t duration_ns)
{
	char hex[33], duration[32];

	hex_encode(trace_id, 16, hex);
	format_duration(duration, sizeof(duration), duration_ns, 0);
	fprintf(v->out, "%strace %s  %zu span%s  %s%s\n", v->use_color ? ANSI_BOLD : "", hex, count,
		count == 1 ? "" : "s", duration, v->use_color ? ANSI_RESET : "");
}

void console_view_print_trace(const struct console_view *v, struct span *const *spans, size_t n)
{
	struct time_range r = trace_time_range(spans, n);

	print_trace_header(v, spans[0]->trace_id, n, r.end_ns - r.start_ns);
	if (print_span_tree(v, spans, n, &r) < 0) {
		/* No memory for the tree: still show every span, flat, as they came. */
		for (size_t i = 0; i < n; i++)
			print_span_line(v, spans[i], 0, &r);
	}
	fputc('\n', v->out);
}
