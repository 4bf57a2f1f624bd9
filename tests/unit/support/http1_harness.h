/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_harness.h - the fixture of the HTTP/1 assembler tests: ring-buffer
 * records in, finished spans out.
 *
 * Every test builds the records the kernel would send (include/kspan_abi.h)
 * and hands them to event_reader_handle(), so that the reader's validation
 * runs too, into an HTTP/1 assembler whose pipeline ends in a capturing
 * exporter. Resources come from a fake /proc written in a temporary
 * directory, so every attribute is known in advance.
 *
 * Timing rules under test (HTTP semantic conventions, span duration):
 *   SERVER  start = exit of the read that brought the request's first byte,
 *           end   = exit of the write that sent the response's last byte;
 *   CLIENT  start = entry of the write that sent the request,
 *           end   = exit of the read that brought the response's last byte.
 *
 * Include after <cmocka.h>; every test runs between setup() and teardown().
 */
#ifndef KSPAN_TEST_HTTP1_HARNESS_H
#define KSPAN_TEST_HTTP1_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "assembly/event_router.h"
#include "ingest/event_reader.h"
#include "http1_detect.h"
#include "assembly/http1_assembler.h"
#include "support/fake_proc.h"
#include "support/span_capture.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* unix = mono + CLOCK_OFFSET_NS (struct mono_to_unix). */
#define CLOCK_OFFSET_NS 1700000000000000000ll
#define T0		7000000000ull
#define UNIX_NS(mono)	((uint64_t)((int64_t)(mono) + CLOCK_OFFSET_NS))
/* Every syscall in these tests takes this long from entry to exit. */
#define SYSCALL_NS	40ull
#define IDLE_TIMEOUT_NS 2000000000ull

/* Trace context values. */
#define K_TRACE	   "4bf92f3577b34da6a3ce929d0e0e4736"
#define K_SPAN	   "00f067aa0ba902b7"
#define K_SPAN2	   "1a2b3c4d5e6f7081"
#define K_SPAN3	   "2233445566778899"
#define K_PARENT   "b7ad6b7169203331"
#define H_TRACE	   "0af7651916cd43dd8448eb211c80319c"
#define H_PARENT   "53995c3f42cd8ad8"
#define NO_PARENT  "0000000000000000"
#define ZERO_TRACE "00000000000000000000000000000000"

/* --- fixture --------------------------------------------------------------------- */

struct harness {
	char proc_root[64];
	struct agent_stats stats;
	struct mono_to_unix clock;
	struct process_table procs;
	struct capture cap;
	struct pipeline pipeline;
	struct sampler sampler;
	struct http1_assembler assembler;
	struct event_router router;
	struct event_reader reader;
};

static inline void start_assembler(struct harness *h, bool capture_query)
{
	struct http1_assembler_config cfg = {
	    .capture_query = capture_query,
	    .sampler = &h->sampler,
	    .idle_timeout_ns = IDLE_TIMEOUT_NS,
	};

	assert_int_equal(http1_assembler_init(&h->assembler, &cfg, &h->procs, &h->pipeline.sink,
					      &h->stats, &h->clock),
			 0);
	h->router = (struct event_router){.http1 = &h->assembler, .procs = &h->procs};
	h->reader = (struct event_reader){
	    .handlers = event_router_handlers(&h->router),
	    .stats = &h->stats,
	};
}

static inline int setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	snprintf(h->proc_root, sizeof(h->proc_root), "/tmp/kspan-test-proc-XXXXXX");
	if (!mkdtemp(h->proc_root)) {
		free(h);
		return -1;
	}
	make_fake_proc(h->proc_root);
	h->clock.offset_ns = CLOCK_OFFSET_NS;
	assert_int_equal(process_table_init(&h->procs, h->proc_root), 0);
	capture_init(&h->cap);
	pipeline_init(&h->pipeline, &h->stats);
	assert_int_equal(pipeline_add_exporter(&h->pipeline, &h->cap.exporter), 0);
	/* The agent's default sampler: parentbased_always_on. */
	h->sampler = (struct sampler){
	    .root = SAMPLER_ALWAYS_ON,
	    .parent_based = true,
	    .ratio = 1.0,
	};
	start_assembler(h, false);
	*state = h;
	return 0;
}

static inline int teardown(void **state)
{
	struct harness *h = *state;

	http1_assembler_free(&h->assembler);
	process_table_free(&h->procs);
	pipeline_shutdown(&h->pipeline, 0);
	remove_fake_proc(h->proc_root);
	free(h);
	return 0;
}

/* --- records ------------------------------------------------------------------------ */

struct test_conn {
	uint64_t id;
	uint32_t tgid, tid;
	uint8_t role; /* enum kspan_role */
	struct kspan_conn_tuple tuple;
	uint16_t seq[2]; /* of the next DATA event, per direction (egress: 1) */
	bool seen;
};

static inline struct kspan_conn_tuple tuple_of(int family, const char *local, uint16_t local_port,
					       const char *remote, uint16_t remote_port)
{
	struct kspan_conn_tuple t = {0};

	assert_int_equal(inet_pton(family, local, t.local_addr), 1);
	assert_int_equal(inet_pton(family, remote, t.remote_addr), 1);
	t.local_port = local_port;
	t.remote_port = remote_port;
	t.family = (uint16_t)family;
	t.netns_ino = 4026531840u;
	return t;
}

/* A server on 127.0.0.1:8080 and a client at 127.0.0.1:54321. */
static inline struct test_conn server_conn(uint64_t id)
{
	return (struct test_conn){
	    .id = id,
	    .tgid = SERVER_PID,
	    .tid = SERVER_PID + 1,
	    .role = KSPAN_ROLE_SERVER,
	    .tuple = tuple_of(AF_INET, "127.0.0.1", 8080, "127.0.0.1", 54321),
	};
}

static inline struct test_conn client_conn(uint64_t id)
{
	return (struct test_conn){
	    .id = id,
	    .tgid = CLIENT_PID,
	    .tid = CLIENT_PID,
	    .role = KSPAN_ROLE_CLIENT,
	    .tuple = tuple_of(AF_INET, "127.0.0.1", 54321, "127.0.0.1", 8080),
	};
}

/* One syscall's worth of bytes. */
struct piece {
	uint8_t dir;	  /* enum kspan_direction */
	uint64_t exit_ns; /* hdr.ts_ns; entry is SYSCALL_NS earlier */
	const char *text; /* the captured bytes */
	size_t len;	  /* of text; 0: strlen(text) */
	size_t total;	  /* bytes the syscall moved; 0: all captured */
	const struct kspan_trace_ctx *ctx;
};

/* Header plus payload, as the kernel lays it out; flags as the kernel sets
 * them (message starts detected with the same code the BPF programs run). */
static inline struct kspan_data_event *data_event_new(struct test_conn *c, const struct piece *p,
						      size_t *size)
{
	size_t captured = p->len ? p->len : strlen(p->text);
	struct kspan_data_event *ev = calloc(1, sizeof(*ev) + captured);
	const __u8 *payload = (const __u8 *)p->text;

	assert_non_null(ev);
	ev->hdr.type = KSPAN_EVENT_DATA;
	ev->hdr.tgid = c->tgid;
	ev->hdr.tid = c->tid;
	ev->hdr.ts_ns = p->exit_ns;
	ev->conn_id = c->id;
	ev->ts_enter_ns = p->exit_ns - SYSCALL_NS;
	ev->tuple = c->tuple;
	ev->bytes_total = (__u32)(p->total ? p->total : captured);
	ev->captured_len = (__u32)captured;
	if (http1_request_method_len(payload, 0, (__u32)captured))
		ev->flags |= KSPAN_DATA_F_MSG_START_REQUEST;
	if (http1_is_response_start(payload, 0, (__u32)captured))
		ev->flags |= KSPAN_DATA_F_MSG_START_RESPONSE;
	if (captured < ev->bytes_total)
		ev->flags |= KSPAN_DATA_F_TRUNCATED;
	if (!c->seen)
		ev->flags |= KSPAN_DATA_F_NEW_CONN;
	ev->direction = p->dir;
	ev->role = c->role;
	ev->protocol = KSPAN_PROTO_HTTP1;
	ev->syscall = p->dir == KSPAN_DIR_INGRESS ? KSPAN_SYS_READ : KSPAN_SYS_WRITE;
	ev->seq = c->seq[p->dir == KSPAN_DIR_EGRESS]++;
	if (p->ctx)
		ev->ctx = *p->ctx;
	memcpy(ev + 1, p->text, captured);
	c->seen = true;
	*size = sizeof(*ev) + captured;
	return ev;
}

static inline void feed(struct harness *h, struct test_conn *c, const struct piece *p)
{
	size_t size;
	struct kspan_data_event *ev = data_event_new(c, p, &size);
	int rc = event_reader_handle(&h->reader, ev, size);

	free(ev);
	assert_int_equal(rc, 0);
}

/* The traced process read (ingress) or wrote (egress) `text`. */
static inline void ingress_ctx(struct harness *h, struct test_conn *c, uint64_t exit_ns,
			       const char *text, const struct kspan_trace_ctx *ctx)
{
	feed(h, c,
	     &(struct piece){
		 .dir = KSPAN_DIR_INGRESS, .exit_ns = exit_ns, .text = text, .ctx = ctx});
}

static inline void egress_ctx(struct harness *h, struct test_conn *c, uint64_t exit_ns,
			      const char *text, const struct kspan_trace_ctx *ctx)
{
	feed(
	    h, c,
	    &(struct piece){.dir = KSPAN_DIR_EGRESS, .exit_ns = exit_ns, .text = text, .ctx = ctx});
}

static inline void ingress(struct harness *h, struct test_conn *c, uint64_t exit_ns,
			   const char *text)
{
	ingress_ctx(h, c, exit_ns, text, NULL);
}

static inline void egress(struct harness *h, struct test_conn *c, uint64_t exit_ns,
			  const char *text)
{
	egress_ctx(h, c, exit_ns, text, NULL);
}

static inline void send_close(struct harness *h, const struct test_conn *c, uint64_t ts)
{
	struct kspan_conn_event ev = {
	    .hdr = {.type = KSPAN_EVENT_CONN_CLOSE, .tgid = c->tgid, .tid = c->tid, .ts_ns = ts},
	    .conn_id = c->id,
	    .tuple = c->tuple,
	    .role = c->role,
	    .protocol = KSPAN_PROTO_HTTP1,
	    .seq_ingress = c->seq[0],
	    .seq_egress = c->seq[1],
	};

	assert_int_equal(event_reader_handle(&h->reader, &ev, sizeof(ev)), 0);
}

static inline void send_proc_info(struct harness *h, uint32_t pid, const char *comm,
				  const char *exe, const char *cmdline, size_t cmdline_len)
{
	struct kspan_proc_event ev = {
	    .hdr = {.type = KSPAN_EVENT_PROC_INFO, .tgid = pid, .tid = pid, .ts_ns = T0},
	    .start_time_ns = 123456789,
	    .cmdline_len = (__u32)cmdline_len,
	};

	snprintf(ev.comm, sizeof(ev.comm), "%s", comm);
	snprintf(ev.exe_name, sizeof(ev.exe_name), "%s", exe);
	memcpy(ev.cmdline, cmdline, cmdline_len);
	assert_int_equal(event_reader_handle(&h->reader, &ev, sizeof(ev)), 0);
}

static inline void send_proc_exit(struct harness *h, uint32_t pid, uint64_t ts)
{
	struct kspan_proc_exit_event ev = {
	    .hdr = {.type = KSPAN_EVENT_PROC_EXIT, .tgid = pid, .tid = pid, .ts_ns = ts},
	    .start_time_ns = 123456789,
	};

	assert_int_equal(event_reader_handle(&h->reader, &ev, sizeof(ev)), 0);
}

static inline void hex_decode(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* The context the kernel decided: valid, with a parent when parent != NULL. */
static inline struct kspan_trace_ctx kernel_ctx(const char *trace, const char *span,
						const char *parent)
{
	struct kspan_trace_ctx k = {.trace_flags = 1, .flags = KSPAN_CTX_F_VALID};

	hex_decode(trace, k.trace_id, 16);
	hex_decode(span, k.span_id, 8);
	if (parent) {
		hex_decode(parent, k.parent_span_id, 8);
		k.flags |= KSPAN_CTX_F_HAS_PARENT;
	}
	return k;
}

/* --- span assertions ------------------------------------------------------------------ */

static inline void assert_span_count(const struct harness *h, size_t n)
{
	if (h->cap.count == n)
		return;
	for (size_t i = 0; i < h->cap.count; i++)
		print_message("  span %zu: %s\n", i, h->cap.spans[i]->name);
	fail_msg("%zu spans exported, expected %zu", h->cap.count, n);
}

static inline const struct span *span_at(const struct harness *h, size_t i)
{
	if (i >= h->cap.count)
		fail_msg("no span %zu: only %zu exported", i, h->cap.count);
	return h->cap.spans[i];
}

static inline const struct span *span_named(const struct harness *h, const char *name)
{
	for (size_t i = 0; i < h->cap.count; i++) {
		if (strcmp(h->cap.spans[i]->name, name) == 0)
			return h->cap.spans[i];
	}
	fail_msg("no span named \"%s\"", name);
	return NULL;
}

static inline void assert_hex(const uint8_t *b, size_t n, const char *want, const char *what)
{
	char got[33];

	hex_encode(b, n, got);
	if (strcmp(got, want) != 0)
		fail_msg("%s is %s, expected %s", what, got, want);
}

static inline void assert_ids(const struct span *s, const char *trace, const char *span,
			      const char *parent)
{
	assert_hex(s->trace_id, 16, trace, "trace id");
	assert_hex(s->span_id, 8, span, "span id");
	assert_hex(s->parent_span_id, 8, parent, "parent span id");
}

/* Ids decided in userspace: random, so only "not zero and not `other`". */
static inline void assert_fresh_ids(const struct span *s, const char *other_trace,
				    const char *other_span)
{
	uint8_t trace[16], span[8];

	hex_decode(other_trace, trace, 16);
	hex_decode(other_span, span, 8);
	assert_false(bytes_all_zero(s->trace_id, 16));
	assert_false(bytes_all_zero(s->span_id, 8));
	assert_memory_not_equal(s->trace_id, trace, 16);
	assert_memory_not_equal(s->span_id, span, 8);
}

static inline void assert_times(const struct span *s, uint64_t start_mono, uint64_t end_mono)
{
	if (s->start_unix_ns != UNIX_NS(start_mono) || s->end_unix_ns != UNIX_NS(end_mono))
		fail_msg("span \"%s\" runs T0%+lld..T0%+lld, expected T0%+lld..T0%+lld", s->name,
			 (long long)(s->start_unix_ns - UNIX_NS(T0)),
			 (long long)(s->end_unix_ns - UNIX_NS(T0)), (long long)(start_mono - T0),
			 (long long)(end_mono - T0));
}

static inline const struct attribute *attr(const struct attribute_list *l, const char *key)
{
	const struct attribute *a = attribute_list_find(l, key);

	if (!a)
		fail_msg("no attribute %s", key);
	return a;
}

static inline void assert_str_attr(const struct attribute_list *l, const char *key,
				   const char *want)
{
	const struct attribute *a = attr(l, key);

	assert_int_equal(a->type, ATTR_STRING);
	if (strcmp(a->str, want) != 0)
		fail_msg("%s is \"%s\", expected \"%s\"", key, a->str, want);
}

static inline void assert_int_attr(const struct attribute_list *l, const char *key, int64_t want)
{
	const struct attribute *a = attr(l, key);

	assert_int_equal(a->type, ATTR_INT);
	if (a->i != want)
		fail_msg("%s is %lld, expected %lld", key, (long long)a->i, (long long)want);
}

static inline void assert_no_attr(const struct attribute_list *l, const char *key)
{
	if (attribute_list_find(l, key))
		fail_msg("unexpected attribute %s", key);
}

/* The list holds exactly these keys, each once. */
static inline void assert_keys(const struct attribute_list *l, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		attr(l, keys[i]);
	for (size_t i = 0; i < l->count; i++) {
		bool expected = false;
		for (size_t k = 0; k < n && !expected; k++)
			expected = strcmp(l->items[i].key, keys[k]) == 0;
		if (!expected)
			fail_msg("unexpected attribute %s", l->items[i].key);
	}
	assert_int_equal(l->count, n);
}

static inline bool contains(const char *s, size_t len, const char *needle)
{
	return s && memmem(s, len, needle, strlen(needle)) != NULL;
}

/* `needle` appears in no attribute key or value, name or status. */
static inline void assert_absent_from_list(const struct attribute_list *l, const char *needle)
{
	for (size_t i = 0; i < l->count; i++) {
		const struct attribute *a = &l->items[i];
		if (contains(a->key, strlen(a->key), needle))
			fail_msg("\"%s\" appears in key %s", needle, a->key);
		if ((a->type == ATTR_STRING || a->type == ATTR_STRING_ARRAY) &&
		    contains(a->str, a->str_len, needle))
			fail_msg("\"%s\" appears in the value of %s", needle, a->key);
	}
}

static inline void assert_absent_from_span(const struct span *s, const char *needle)
{
	assert_absent_from_list(&s->attrs, needle);
	assert_absent_from_list(&s->resource->attrs, needle);
	assert_false(contains(s->name, strlen(s->name), needle));
	if (s->status_message)
		assert_false(contains(s->status_message, strlen(s->status_message), needle));
	if (s->trace_state)
		assert_false(contains(s->trace_state, strlen(s->trace_state), needle));
	assert_false(
	    contains(s->resource->service_name, strlen(s->resource->service_name), needle));
}

#define STAT(h, field) STAT_GET(&(h)->stats, field)

/* --- requests and responses used throughout --------------------------------------------- */

#define GET_USER                                                                                   \
	"GET /users/42?a=1&b=2 HTTP/1.1\r\nHost: shop.example:8080\r\nUser-Agent: curl/8.5.0\r\n"  \
	"Accept: */*\r\n\r\n"
#define OK_HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
#define OK_EMPTY "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

#define PIPELINED_REQUESTS                                                                         \
	"GET /a/1 HTTP/1.1\r\nHost: h\r\n\r\n"                                                     \
	"GET /b/2 HTTP/1.1\r\nHost: h\r\n\r\n"                                                     \
	"GET /c/3 HTTP/1.1\r\nHost: h\r\n\r\n"

/* The response head was cut by the capture: its end cannot be known. */
#define CUT_RESPONSE_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Le"

static inline void send_response_of_unknown_length(struct harness *h, struct test_conn *c)
{
	ingress(h, c, T0 + 100, "GET /page HTTP/1.1\r\nHost: h\r\n\r\n");
	feed(h, c,
	     &(struct piece){.dir = KSPAN_DIR_EGRESS,
			     .exit_ns = T0 + 200,
			     .text = CUT_RESPONSE_HEAD,
			     .total = 3000});
	feed(h, c,
	     &(struct piece){
		 .dir = KSPAN_DIR_EGRESS, .exit_ns = T0 + 300, .text = "", .total = 2000});
}

/* The attributes every HTTP/1 span has about its connection. */
#define CONNECTION_KEYS                                                                            \
	"server.address", "server.port", "network.peer.address", "network.peer.port",              \
	    "network.protocol.name", "network.protocol.version", "network.transport",              \
	    "network.type"

/* The n-th span exported, after checking that n were. */
static inline const struct span *nth_span(const struct harness *h, size_t n)
{
	assert_span_count(h, n);
	return span_at(h, n - 1);
}

/* A SERVER exchange on c: `request` read at t (with the kernel's context k,
 * or none), OK_EMPTY written 100 ns later. */
static inline void serve(struct harness *h, struct test_conn *c, uint64_t t, const char *request,
			 const struct kspan_trace_ctx *k)
{
	ingress_ctx(h, c, t, request, k);
	egress(h, c, t + 100, OK_EMPTY);
}

/* One exchange on each end, one after the other from T0 + 100: two spans,
 * the SERVER's first. */
static inline void server_then_client(struct harness *h, struct test_conn *server,
				      struct test_conn *client, const char *server_request,
				      const char *server_response, const char *client_request,
				      const char *client_response)
{
	ingress(h, server, T0 + 100, server_request);
	egress(h, server, T0 + 200, server_response);
	egress(h, client, T0 + 300, client_request);
	ingress(h, client, T0 + 400, client_response);
	assert_span_count(h, 2);
}

/* The address attributes of a span. */
static inline void assert_addresses(const struct span *s, const char *server, int64_t server_port,
				    const char *peer, int64_t peer_port, const char *type)
{
	assert_str_attr(&s->attrs, "server.address", server);
	assert_int_attr(&s->attrs, "server.port", server_port);
	assert_str_attr(&s->attrs, "network.peer.address", peer);
	assert_int_attr(&s->attrs, "network.peer.port", peer_port);
	assert_str_attr(&s->attrs, "network.type", type);
}

#endif /* KSPAN_TEST_HTTP1_HARNESS_H */
