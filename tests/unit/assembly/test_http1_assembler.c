// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_assembler.c - ring-buffer records to finished spans.
 *
 * Every test builds the records the kernel would send (include/kspan_abi.h)
 * and hands them to event_reader_handle(), so that the reader's validation
 * runs too, into a span assembler whose pipeline ends in a capturing
 * exporter. Resources come from a fake /proc written in a temporary
 * directory, so every attribute is known in advance.
 *
 * Timing rules under test (HTTP semantic conventions, span duration):
 *   SERVER  start = exit of the read that brought the request's first byte,
 *           end   = exit of the write that sent the response's last byte;
 *   CLIENT  start = entry of the write that sent the request,
 *           end   = exit of the read that brought the response's last byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipeline/pipeline.h"
#include "assembly/event_router.h"
#include "ingest/event_reader.h"
#include "http1_detect.h"
#include "assembly/http1_assembler.h"
#include "support/span_capture.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* unix = mono + CLOCK_OFFSET_NS (struct mono_to_unix). */
#define CLOCK_OFFSET_NS 1700000000000000000ll
#define T0		7000000000ull
#define UNIX_NS(mono)	((uint64_t)((int64_t)(mono) + CLOCK_OFFSET_NS))
/* Every syscall in these tests takes this long from entry to exit. */
#define SYSCALL_NS	40ull
#define IDLE_TIMEOUT_NS 2000000000ull

/* The fake /proc holds one process: a service in a Kubernetes pod. */
#define SERVER_PID   4242
#define CLIENT_PID   5151 /* a short-lived client: no /proc entry, PROC_INFO only */
#define CONTAINER_ID "9d2f0c6a1b3e4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0e1f2a3b"
#define SECRET	     "sk_live_hunter2"

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
	struct http1_assembler assembler;
	struct event_router router;
	struct event_reader reader;
};

static const char *const fake_files[] = {"comm", "cmdline", "environ", "cgroup", "exe"};

static void write_proc_file(const char *root, const char *name, const void *data, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u/%s", root, SERVER_PID, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void make_fake_proc(const char *root)
{
	static const char cmdline[] = "/usr/bin/checkout-bin\0--port\0"
				      "8080";
	static const char environ[] = "PATH=/usr/bin\0OTEL_SERVICE_NAME=checkout\0"
				      "STRIPE_SECRET_KEY=" SECRET "\0LANG=C.UTF-8";
	static const char cgroup[] =
	    "0::/kubepods.slice/kubepods-burstable.slice/"
	    "kubepods-burstable-pod3c1e4a52_7d0b_4a7e_9f21_5e8c2b6d1f04.slice/"
	    "cri-containerd-" CONTAINER_ID ".scope\n";
	char path[128];

	snprintf(path, sizeof(path), "%s/%u", root, SERVER_PID);
	assert_int_equal(mkdir(path, 0755), 0);
	write_proc_file(root, "comm", "checkout\n", 9);
	/* sizeof: /proc ends cmdline and environ with a NUL. */
	write_proc_file(root, "cmdline", cmdline, sizeof(cmdline));
	write_proc_file(root, "environ", environ, sizeof(environ));
	write_proc_file(root, "cgroup", cgroup, sizeof(cgroup) - 1);
	snprintf(path, sizeof(path), "%s/%u/exe", root, SERVER_PID);
	assert_int_equal(symlink("/usr/bin/checkout-bin", path), 0);
}

static void remove_fake_proc(const char *root)
{
	char path[128];

	for (size_t i = 0; i < ARRAY_SIZE(fake_files); i++) {
		snprintf(path, sizeof(path), "%s/%u/%s", root, SERVER_PID, fake_files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%u", root, SERVER_PID);
	rmdir(path);
	rmdir(root);
}

static void start_assembler(struct harness *h, bool capture_query)
{
	struct http1_assembler_config cfg = {
	    .capture_query = capture_query,
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

static int setup(void **state)
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
	h->pipeline.sampler = (struct sampler){
	    .root = SAMPLER_ALWAYS_ON,
	    .parent_based = true,
	    .ratio = 1.0,
	};
	start_assembler(h, false);
	*state = h;
	return 0;
}

static int teardown(void **state)
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

static struct kspan_conn_tuple tuple_of(int family, const char *local, uint16_t local_port,
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
static struct test_conn server_conn(uint64_t id)
{
	return (struct test_conn){
	    .id = id,
	    .tgid = SERVER_PID,
	    .tid = SERVER_PID + 1,
	    .role = KSPAN_ROLE_SERVER,
	    .tuple = tuple_of(AF_INET, "127.0.0.1", 8080, "127.0.0.1", 54321),
	};
}

static struct test_conn client_conn(uint64_t id)
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
static struct kspan_data_event *data_event_new(struct test_conn *c, const struct piece *p,
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

static void feed(struct harness *h, struct test_conn *c, const struct piece *p)
{
	size_t size;
	struct kspan_data_event *ev = data_event_new(c, p, &size);
	int rc = event_reader_handle(&h->reader, ev, size);

	free(ev);
	assert_int_equal(rc, 0);
}

/* The traced process read (ingress) or wrote (egress) `text`. */
static void ingress_ctx(struct harness *h, struct test_conn *c, uint64_t exit_ns, const char *text,
			const struct kspan_trace_ctx *ctx)
{
	feed(h, c,
	     &(struct piece){
		 .dir = KSPAN_DIR_INGRESS, .exit_ns = exit_ns, .text = text, .ctx = ctx});
}

static void egress_ctx(struct harness *h, struct test_conn *c, uint64_t exit_ns, const char *text,
		       const struct kspan_trace_ctx *ctx)
{
	feed(
	    h, c,
	    &(struct piece){.dir = KSPAN_DIR_EGRESS, .exit_ns = exit_ns, .text = text, .ctx = ctx});
}

static void ingress(struct harness *h, struct test_conn *c, uint64_t exit_ns, const char *text)
{
	ingress_ctx(h, c, exit_ns, text, NULL);
}

static void egress(struct harness *h, struct test_conn *c, uint64_t exit_ns, const char *text)
{
	egress_ctx(h, c, exit_ns, text, NULL);
}

static void send_close(struct harness *h, const struct test_conn *c, uint64_t ts)
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

static void send_proc_info(struct harness *h, uint32_t pid, const char *comm, const char *exe,
			   const char *cmdline, size_t cmdline_len)
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

static void send_proc_exit(struct harness *h, uint32_t pid, uint64_t ts)
{
	struct kspan_proc_exit_event ev = {
	    .hdr = {.type = KSPAN_EVENT_PROC_EXIT, .tgid = pid, .tid = pid, .ts_ns = ts},
	    .start_time_ns = 123456789,
	};

	assert_int_equal(event_reader_handle(&h->reader, &ev, sizeof(ev)), 0);
}

static void hex_decode(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* The context the kernel decided: valid, with a parent when parent != NULL. */
static struct kspan_trace_ctx kernel_ctx(const char *trace, const char *span, const char *parent)
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

static void assert_span_count(const struct harness *h, size_t n)
{
	if (h->cap.count == n)
		return;
	for (size_t i = 0; i < h->cap.count; i++)
		print_message("  span %zu: %s\n", i, h->cap.spans[i]->name);
	fail_msg("%zu spans exported, expected %zu", h->cap.count, n);
}

static const struct span *span_at(const struct harness *h, size_t i)
{
	if (i >= h->cap.count)
		fail_msg("no span %zu: only %zu exported", i, h->cap.count);
	return h->cap.spans[i];
}

static const struct span *span_named(const struct harness *h, const char *name)
{
	for (size_t i = 0; i < h->cap.count; i++) {
		if (strcmp(h->cap.spans[i]->name, name) == 0)
			return h->cap.spans[i];
	}
	fail_msg("no span named \"%s\"", name);
	return NULL;
}

static void assert_hex(const uint8_t *b, size_t n, const char *want, const char *what)
{
	char got[33];

	hex_encode(b, n, got);
	if (strcmp(got, want) != 0)
		fail_msg("%s is %s, expected %s", what, got, want);
}

static void assert_ids(const struct span *s, const char *trace, const char *span,
		       const char *parent)
{
	assert_hex(s->trace_id, 16, trace, "trace id");
	assert_hex(s->span_id, 8, span, "span id");
	assert_hex(s->parent_span_id, 8, parent, "parent span id");
}

/* Ids decided in userspace: random, so only "not zero and not `other`". */
static void assert_fresh_ids(const struct span *s, const char *other_trace, const char *other_span)
{
	uint8_t trace[16], span[8];

	hex_decode(other_trace, trace, 16);
	hex_decode(other_span, span, 8);
	assert_false(bytes_all_zero(s->trace_id, 16));
	assert_false(bytes_all_zero(s->span_id, 8));
	assert_memory_not_equal(s->trace_id, trace, 16);
	assert_memory_not_equal(s->span_id, span, 8);
}

static void assert_times(const struct span *s, uint64_t start_mono, uint64_t end_mono)
{
	if (s->start_unix_ns != UNIX_NS(start_mono) || s->end_unix_ns != UNIX_NS(end_mono))
		fail_msg("span \"%s\" runs T0%+lld..T0%+lld, expected T0%+lld..T0%+lld", s->name,
			 (long long)(s->start_unix_ns - UNIX_NS(T0)),
			 (long long)(s->end_unix_ns - UNIX_NS(T0)), (long long)(start_mono - T0),
			 (long long)(end_mono - T0));
}

static const struct attribute *attr(const struct attribute_list *l, const char *key)
{
	const struct attribute *a = attribute_list_find(l, key);

	if (!a)
		fail_msg("no attribute %s", key);
	return a;
}

static void assert_str_attr(const struct attribute_list *l, const char *key, const char *want)
{
	const struct attribute *a = attr(l, key);

	assert_int_equal(a->type, ATTR_STRING);
	if (strcmp(a->str, want) != 0)
		fail_msg("%s is \"%s\", expected \"%s\"", key, a->str, want);
}

static void assert_int_attr(const struct attribute_list *l, const char *key, int64_t want)
{
	const struct attribute *a = attr(l, key);

	assert_int_equal(a->type, ATTR_INT);
	if (a->i != want)
		fail_msg("%s is %lld, expected %lld", key, (long long)a->i, (long long)want);
}

static void assert_no_attr(const struct attribute_list *l, const char *key)
{
	if (attribute_list_find(l, key))
		fail_msg("unexpected attribute %s", key);
}

/* The list holds exactly these keys, each once. */
static void assert_keys(const struct attribute_list *l, const char *const *keys, size_t n)
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

static bool contains(const char *s, size_t len, const char *needle)
{
	return s && memmem(s, len, needle, strlen(needle)) != NULL;
}

/* `needle` appears in no attribute key or value, name or status. */
static void assert_absent_from_list(const struct attribute_list *l, const char *needle)
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

static void assert_absent_from_span(const struct span *s, const char *needle)
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

static const char *const server_keys[] = {
    "http.request.method",
    "url.scheme",
    "url.path",
    "url.query",
    "server.address",
    "server.port",
    "client.address",
    "network.peer.address",
    "network.peer.port",
    "network.protocol.version",
    "network.transport",
    "network.type",
    "user_agent.original",
    "http.response.status_code",
};

/* --- the two span kinds ------------------------------------------------------------------- */

static void test_server_span(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x1111);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);
	const struct span *s;

	ingress_ctx(h, &c, T0 + 100, GET_USER, &k);
	assert_span_count(h, 0);
	egress(h, &c, T0 + 900, OK_HELLO);
	assert_span_count(h, 1);

	s = span_at(h, 0);
	assert_int_equal(s->kind, SPAN_KIND_SERVER);
	assert_string_equal(s->name, "GET /users/{id}");
	assert_times(s, T0 + 100, T0 + 900);
	assert_ids(s, K_TRACE, K_SPAN, NO_PARENT);
	assert_int_equal(s->trace_flags, 1);
	assert_null(s->trace_state);
	assert_int_equal(s->status_code, SPAN_STATUS_UNSET);
	assert_null(s->status_message);
	assert_int_equal(s->tid, SERVER_PID + 1);
	assert_non_null(s->resource);
	assert_int_equal(s->resource->pid, SERVER_PID);

	assert_keys(&s->attrs, server_keys, ARRAY_SIZE(server_keys));
	assert_str_attr(&s->attrs, "http.request.method", "GET");
	assert_str_attr(&s->attrs, "url.scheme", "http");
	assert_str_attr(&s->attrs, "url.path", "/users/42");
	assert_str_attr(&s->attrs, "url.query", "a=REDACTED&b=REDACTED");
	assert_str_attr(&s->attrs, "server.address", "shop.example");
	assert_int_attr(&s->attrs, "server.port", 8080);
	assert_str_attr(&s->attrs, "client.address", "127.0.0.1");
	assert_str_attr(&s->attrs, "network.peer.address", "127.0.0.1");
	assert_int_attr(&s->attrs, "network.peer.port", 54321);
	assert_str_attr(&s->attrs, "network.protocol.version", "1.1");
	assert_str_attr(&s->attrs, "network.transport", "tcp");
	assert_str_attr(&s->attrs, "network.type", "ipv4");
	assert_str_attr(&s->attrs, "user_agent.original", "curl/8.5.0");
	assert_int_attr(&s->attrs, "http.response.status_code", 200);

	assert_int_equal(STAT(h, events_received), 2);
	assert_int_equal(STAT(h, events_malformed), 0);
	assert_int_equal(STAT(h, spans_created), 1);
	assert_int_equal(STAT(h, invalid_kernel_ids), 0);
}

static void test_client_span(void **state)
{
	static const char *const keys[] = {
	    "http.request.method",
	    "url.scheme",
	    "url.path",
	    "url.query",
	    "url.full",
	    "server.address",
	    "server.port",
	    "network.peer.address",
	    "network.peer.port",
	    "network.protocol.version",
	    "network.transport",
	    "network.type",
	    "user_agent.original",
	    "http.response.status_code",
	};
	struct harness *h = *state;
	struct test_conn c = client_conn(0x2222);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, K_PARENT);
	const struct span *s;

	egress_ctx(h, &c, T0 + 60,
		   "GET /api/items?page=2&sort=asc HTTP/1.1\r\nHost: localhost:8080\r\n"
		   "User-Agent: python-requests/2.31.0\r\n\r\n",
		   &k);
	ingress(h, &c, T0 + 500, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_span_count(h, 1);

	s = span_at(h, 0);
	assert_int_equal(s->kind, SPAN_KIND_CLIENT);
	assert_string_equal(s->name, "GET /api/items");
	/* From the entry of the request write to the exit of the last read. */
	assert_times(s, T0 + 60 - SYSCALL_NS, T0 + 500);
	assert_ids(s, K_TRACE, K_SPAN, K_PARENT);
	assert_int_equal(s->tid, CLIENT_PID);
	assert_int_equal(s->resource->pid, CLIENT_PID);

	assert_keys(&s->attrs, keys, ARRAY_SIZE(keys));
	assert_str_attr(&s->attrs, "url.path", "/api/items");
	assert_str_attr(&s->attrs, "url.query", "page=REDACTED&sort=REDACTED");
	assert_str_attr(&s->attrs, "url.full",
			"http://localhost:8080/api/items?page=REDACTED&sort=REDACTED");
	assert_str_attr(&s->attrs, "server.address", "localhost");
	assert_int_attr(&s->attrs, "server.port", 8080);
	assert_str_attr(&s->attrs, "network.peer.address", "127.0.0.1");
	assert_int_attr(&s->attrs, "network.peer.port", 8080);
	assert_str_attr(&s->attrs, "user_agent.original", "python-requests/2.31.0");
	assert_int_attr(&s->attrs, "http.response.status_code", 200);
	assert_int_equal(s->status_code, SPAN_STATUS_UNSET);
}

/* --capture-query keeps the values, in url.query and url.full alike. */
static void test_capture_query_keeps_values(void **state)
{
	struct harness *h = *state;
	struct test_conn server = server_conn(0x3331);
	struct test_conn client = client_conn(0x3332);

	http1_assembler_free(&h->assembler);
	start_assembler(h, true);
	ingress(h, &server, T0 + 100, GET_USER);
	egress(h, &server, T0 + 200, OK_EMPTY);
	egress(h, &client, T0 + 300, "GET /search?q=shoes&n=10 HTTP/1.1\r\nHost: h:81\r\n\r\n");
	ingress(h, &client, T0 + 400, OK_EMPTY);
	assert_span_count(h, 2);
	assert_str_attr(&span_at(h, 0)->attrs, "url.query", "a=1&b=2");
	assert_str_attr(&span_at(h, 1)->attrs, "url.query", "q=shoes&n=10");
	assert_str_attr(&span_at(h, 1)->attrs, "url.full", "http://h:81/search?q=shoes&n=10");
}

/* --- addresses ------------------------------------------------------------------------------- */

static void test_ipv6_host_header(void **state)
{
	struct harness *h = *state;
	struct test_conn server = server_conn(0x4441);
	struct test_conn client = client_conn(0x4442);
	const struct span *s;

	server.tuple = tuple_of(AF_INET6, "::1", 8080, "::1", 45678);
	client.tuple = tuple_of(AF_INET6, "::1", 45678, "::1", 8080);
	ingress(h, &server, T0 + 100, "GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
	egress(h, &server, T0 + 200, OK_EMPTY);
	egress(h, &client, T0 + 300, "GET /v6?x=1 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
	ingress(h, &client, T0 + 400, OK_EMPTY);
	assert_span_count(h, 2);

	s = span_at(h, 0);
	assert_str_attr(&s->attrs, "server.address", "::1");
	assert_int_attr(&s->attrs, "server.port", 8080);
	assert_str_attr(&s->attrs, "client.address", "::1");
	assert_str_attr(&s->attrs, "network.peer.address", "::1");
	assert_int_attr(&s->attrs, "network.peer.port", 45678);
	assert_str_attr(&s->attrs, "network.type", "ipv6");
	assert_no_attr(&s->attrs, "url.query");

	s = span_at(h, 1);
	assert_str_attr(&s->attrs, "server.address", "::1");
	assert_int_attr(&s->attrs, "server.port", 8080);
	assert_str_attr(&s->attrs, "url.full", "http://[::1]:8080/v6?x=REDACTED");
	assert_str_attr(&s->attrs, "network.peer.address", "::1");
	assert_no_attr(&s->attrs, "client.address");
}

/* Without Host, server.address is where the bytes went: the local end for
 * a server, the peer for a client. A v4-mapped address is shown as IPv4. */
static void test_no_host_uses_tuple_v4_mapped(void **state)
{
	struct harness *h = *state;
	struct test_conn server = server_conn(0x5551);
	struct test_conn client = client_conn(0x5552);
	const struct span *s;

	server.tuple = tuple_of(AF_INET6, "::ffff:10.0.0.1", 8080, "::ffff:10.0.0.7", 33333);
	client.tuple = tuple_of(AF_INET6, "::ffff:10.0.0.7", 33334, "::ffff:10.0.0.1", 8080);
	ingress(h, &server, T0 + 100, "GET /legacy HTTP/1.0\r\nUser-Agent: old/1\r\n\r\n");
	egress(h, &server, T0 + 200, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
	egress(h, &client, T0 + 300, "GET /legacy HTTP/1.0\r\n\r\n");
	ingress(h, &client, T0 + 400, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_span_count(h, 2);

	s = span_at(h, 0);
	assert_str_attr(&s->attrs, "server.address", "10.0.0.1");
	assert_int_attr(&s->attrs, "server.port", 8080);
	assert_str_attr(&s->attrs, "client.address", "10.0.0.7");
	assert_str_attr(&s->attrs, "network.peer.address", "10.0.0.7");
	assert_int_attr(&s->attrs, "network.peer.port", 33333);
	assert_str_attr(&s->attrs, "network.type", "ipv4");
	assert_str_attr(&s->attrs, "network.protocol.version", "1.0");

	s = span_at(h, 1);
	assert_str_attr(&s->attrs, "server.address", "10.0.0.1");
	assert_int_attr(&s->attrs, "server.port", 8080);
	assert_str_attr(&s->attrs, "url.full", "http://10.0.0.1:8080/legacy");
	assert_str_attr(&s->attrs, "network.peer.address", "10.0.0.1");
	assert_int_attr(&s->attrs, "network.peer.port", 8080);
	assert_str_attr(&s->attrs, "network.type", "ipv4");
	assert_str_attr(&s->attrs, "network.protocol.version", "1.0");
	assert_no_attr(&s->attrs, "user_agent.original");
}

/* --- status ------------------------------------------------------------------------------------
 */

/* HTTP semantic conventions: a server's 4xx is the client's fault, not the
 * span's; 5xx is an error. For a client every 4xx and 5xx is. */
static void test_status_and_error_type(void **state)
{
	static const struct {
		bool server;
		const char *response;
		int code;
		const char *error_type; /* NULL: status UNSET */
	} cases[] = {
	    {true, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 404, NULL},
	    {true, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 503, "503"},
	    {true, "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", 302, NULL},
	    {false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 404, "404"},
	    {false, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 500, "500"},
	    {false, "HTTP/1.1 204 No Content\r\n\r\n", 204, NULL},
	};
	struct harness *h = *state;
	struct test_conn server = server_conn(0x6661);
	struct test_conn client = client_conn(0x6662);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct test_conn *c = cases[i].server ? &server : &client;
		uint64_t t = T0 + 1000 * i;
		const struct span *s;

		if (cases[i].server) {
			ingress(h, c, t, "GET /s HTTP/1.1\r\nHost: h\r\n\r\n");
			egress(h, c, t + 100, cases[i].response);
		} else {
			egress(h, c, t, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
			ingress(h, c, t + 100, cases[i].response);
		}
		assert_span_count(h, i + 1);
		s = span_at(h, i);
		assert_int_attr(&s->attrs, "http.response.status_code", cases[i].code);
		if (cases[i].error_type) {
			assert_int_equal(s->status_code, SPAN_STATUS_ERROR);
			assert_str_attr(&s->attrs, "error.type", cases[i].error_type);
		} else {
			assert_int_equal(s->status_code, SPAN_STATUS_UNSET);
			assert_no_attr(&s->attrs, "error.type");
		}
	}
}

/* --- trace context ------------------------------------------------------------------------------
 */

static void test_ctx_kernel_parent_and_tracestate(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7771);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, K_PARENT);
	const struct span *s;

	ingress_ctx(h, &c, T0 + 100,
		    "GET /t HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" K_TRACE "-" K_PARENT
		    "-01\r\ntracestate: vendor=opaque,other=1\r\n\r\n",
		    &k);
	egress(h, &c, T0 + 200, OK_EMPTY);
	assert_span_count(h, 1);
	s = span_at(h, 0);
	assert_ids(s, K_TRACE, K_SPAN, K_PARENT);
	assert_int_equal(s->trace_flags & 1, 1);
	assert_non_null(s->trace_state);
	assert_string_equal(s->trace_state, "vendor=opaque,other=1");
	assert_int_equal(STAT(h, invalid_kernel_ids), 0);
}

/* Ids the kernel sent that cannot be valid are replaced, and counted. */
static void test_ctx_invalid_kernel_ids_replaced(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7772);
	struct kspan_trace_ctx zero_trace = kernel_ctx(ZERO_TRACE, K_SPAN, NULL);
	struct kspan_trace_ctx zero_span = kernel_ctx(K_TRACE, "0000000000000000", NULL);
	struct kspan_trace_ctx zero_parent = kernel_ctx(K_TRACE, K_SPAN, NO_PARENT);
	const struct kspan_trace_ctx *bad[] = {&zero_trace, &zero_span, &zero_parent};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct span *s;

		ingress_ctx(h, &c, T0 + 1000 * i, "GET /bad HTTP/1.1\r\nHost: h\r\n\r\n", bad[i]);
		egress(h, &c, T0 + 1000 * i + 100, OK_EMPTY);
		assert_span_count(h, i + 1);
		s = span_at(h, i);
		assert_fresh_ids(s, K_TRACE, K_SPAN);
		assert_hex(s->parent_span_id, 8, NO_PARENT, "parent span id");
		assert_int_equal(s->trace_flags, 1);
		assert_int_equal(STAT(h, invalid_kernel_ids), i + 1);
	}
	/* Every span got ids of its own. */
	assert_memory_not_equal(span_at(h, 0)->span_id, span_at(h, 1)->span_id, 8);
	assert_memory_not_equal(span_at(h, 1)->trace_id, span_at(h, 2)->trace_id, 16);

	/* An invalid kernel context does not hide a valid header. */
	ingress_ctx(h, &c, T0 + 5000,
		    "GET /bad HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT
		    "-01\r\n\r\n",
		    &zero_trace);
	egress(h, &c, T0 + 5100, OK_EMPTY);
	assert_span_count(h, 4);
	assert_hex(span_at(h, 3)->trace_id, 16, H_TRACE, "trace id");
	assert_hex(span_at(h, 3)->parent_span_id, 8, H_PARENT, "parent span id");
	assert_int_equal(STAT(h, invalid_kernel_ids), 4);
}

/* The kernel saw no traceparent (past its scan window, or split across
 * reads); userspace finds it: trace and parent come from the header, the
 * span keeps the id the kernel gave it. */
static void test_ctx_parent_from_header(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7773);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);
	const struct span *s;

	ingress_ctx(h, &c, T0 + 100,
		    "GET /t HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT
		    "-01\r\ntracestate: congo=t61rcWkgMzE\r\n\r\n",
		    &k);
	egress(h, &c, T0 + 200, OK_EMPTY);
	assert_span_count(h, 1);
	s = span_at(h, 0);
	assert_ids(s, H_TRACE, K_SPAN, H_PARENT);
	assert_int_equal(s->trace_flags, 1);
	assert_non_null(s->trace_state);
	assert_string_equal(s->trace_state, "congo=t61rcWkgMzE");

	/* The parent said "not sampled": parentbased_always_on drops it. */
	ingress_ctx(h, &c, T0 + 300,
		    "GET /t HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT
		    "-00\r\n\r\n",
		    &k);
	egress(h, &c, T0 + 400, OK_EMPTY);
	assert_span_count(h, 1);
	assert_int_equal(STAT(h, spans_created), 2);
	assert_int_equal(STAT(h, spans_sampled_out), 1);
}

/* W3C Trace Context section 3.3: tracestate means nothing without a valid
 * traceparent. */
static void test_ctx_tracestate_only_with_parent(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7774);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);

	ingress_ctx(h, &c, T0 + 100, "GET /t HTTP/1.1\r\nHost: h\r\ntracestate: a=b\r\n\r\n", &k);
	egress(h, &c, T0 + 200, OK_EMPTY);
	/* Uppercase hex: an invalid traceparent, so no parent either. */
	ingress(h, &c, T0 + 300,
		"GET /t HTTP/1.1\r\nHost: h\r\n"
		"traceparent: 00-0AF7651916CD43DD8448EB211C80319C-" H_PARENT "-01\r\n"
		"tracestate: a=b\r\n\r\n");
	egress(h, &c, T0 + 400, OK_EMPTY);
	assert_span_count(h, 2);
	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	assert_null(span_at(h, 0)->trace_state);
	assert_hex(span_at(h, 1)->parent_span_id, 8, NO_PARENT, "parent span id");
	assert_null(span_at(h, 1)->trace_state);
}

/* No context from the kernel at all: userspace decides, nothing counted. */
static void test_ctx_userspace_when_kernel_has_none(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7775);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);
	const struct span *s;

	k.flags = 0; /* ids present but not marked valid: not to be used */
	ingress_ctx(h, &c, T0 + 100, "GET /t HTTP/1.1\r\nHost: h\r\n\r\n", &k);
	egress(h, &c, T0 + 200, OK_EMPTY);
	assert_span_count(h, 1);
	s = span_at(h, 0);
	assert_fresh_ids(s, K_TRACE, K_SPAN);
	assert_hex(s->parent_span_id, 8, NO_PARENT, "parent span id");
	assert_int_equal(s->trace_flags, 1);
	assert_int_equal(STAT(h, invalid_kernel_ids), 0);
}

/* --- message sequences
 * ---------------------------------------------------------------------------- */

#define PIPELINED_REQUESTS                                                                         \
	"GET /a/1 HTTP/1.1\r\nHost: h\r\n\r\n"                                                     \
	"GET /b/2 HTTP/1.1\r\nHost: h\r\n\r\n"                                                     \
	"GET /c/3 HTTP/1.1\r\nHost: h\r\n\r\n"

/* RFC 9112 section 9.3.2: responses come in the order of the requests. The
 * kernel's context is for the first request of the piece; the others get
 * their own. */
static void test_pipelining_one_piece(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8881);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);

	ingress_ctx(h, &c, T0 + 100, PIPELINED_REQUESTS, &k);
	egress(h, &c, T0 + 500,
	       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
	       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
	       "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	assert_span_count(h, 3);
	assert_string_equal(span_at(h, 0)->name, "GET /a/{id}");
	assert_string_equal(span_at(h, 1)->name, "GET /b/{id}");
	assert_string_equal(span_at(h, 2)->name, "GET /c/{id}");
	for (size_t i = 0; i < 3; i++)
		assert_times(span_at(h, i), T0 + 100, T0 + 500);
	assert_int_attr(&span_at(h, 2)->attrs, "http.response.status_code", 404);

	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	assert_fresh_ids(span_at(h, 1), K_TRACE, K_SPAN);
	assert_fresh_ids(span_at(h, 2), K_TRACE, K_SPAN);
	assert_memory_not_equal(span_at(h, 1)->span_id, span_at(h, 2)->span_id, 8);
	assert_memory_not_equal(span_at(h, 1)->trace_id, span_at(h, 2)->trace_id, 16);
	assert_int_equal(STAT(h, invalid_kernel_ids), 0);
}

static void test_pipelining_responses_in_separate_writes(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8882);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);

	ingress_ctx(h, &c, T0 + 100,
		    "GET /a/1 HTTP/1.1\r\nHost: h\r\n\r\n"
		    "GET /b/2 HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT
		    "-01\r\n\r\n"
		    "GET /c/3 HTTP/1.1\r\nHost: h\r\n\r\n",
		    &k);
	egress(h, &c, T0 + 500, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
	assert_span_count(h, 1);
	egress(h, &c, T0 + 600, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
	assert_span_count(h, 2);
	egress(h, &c, T0 + 700, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc");
	assert_span_count(h, 3);
	assert_times(span_at(h, 0), T0 + 100, T0 + 500);
	assert_times(span_at(h, 1), T0 + 100, T0 + 600);
	assert_times(span_at(h, 2), T0 + 100, T0 + 700);
	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	/* The second request carried its own traceparent. */
	assert_hex(span_at(h, 1)->trace_id, 16, H_TRACE, "trace id");
	assert_hex(span_at(h, 1)->parent_span_id, 8, H_PARENT, "parent span id");
	assert_fresh_ids(span_at(h, 1), K_TRACE, K_SPAN);
	assert_fresh_ids(span_at(h, 2), K_TRACE, K_SPAN);
	assert_hex(span_at(h, 2)->parent_span_id, 8, NO_PARENT, "parent span id");
}

static void test_keep_alive(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8883);
	struct kspan_trace_ctx k1 = kernel_ctx(K_TRACE, K_SPAN, NULL);
	struct kspan_trace_ctx k2 = kernel_ctx(K_TRACE, K_SPAN2, K_PARENT);
	struct kspan_trace_ctx k3 = kernel_ctx(H_TRACE, K_SPAN3, NULL);

	ingress_ctx(h, &c, T0 + 100, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n", &k1);
	egress(h, &c, T0 + 200, OK_HELLO);
	ingress_ctx(h, &c, T0 + 1100,
		    "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody", &k2);
	/* Head and body in two writes. */
	egress(h, &c, T0 + 1200, "HTTP/1.1 201 Created\r\nContent-Length: 6\r\n\r\n");
	assert_span_count(h, 1);
	egress(h, &c, T0 + 1250, "create");
	ingress_ctx(h, &c, T0 + 2100, "GET /three HTTP/1.1\r\nHost: h\r\n\r\n", &k3);
	egress(h, &c, T0 + 2200, OK_EMPTY);
	assert_span_count(h, 3);

	assert_string_equal(span_at(h, 0)->name, "GET /one");
	assert_times(span_at(h, 0), T0 + 100, T0 + 200);
	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	assert_string_equal(span_at(h, 1)->name, "POST /two");
	assert_times(span_at(h, 1), T0 + 1100, T0 + 1250);
	assert_ids(span_at(h, 1), K_TRACE, K_SPAN2, K_PARENT);
	assert_int_attr(&span_at(h, 1)->attrs, "http.response.status_code", 201);
	assert_string_equal(span_at(h, 2)->name, "GET /three");
	assert_times(span_at(h, 2), T0 + 2100, T0 + 2200);
	assert_ids(span_at(h, 2), H_TRACE, K_SPAN3, NO_PARENT);
	assert_int_equal(h->assembler.conns.count, 1);
}

/* RFC 9110 section 15.2: 1xx responses are interim; the final one ends the
 * span. */
static void test_interim_1xx_then_final(void **state)
{
	static const char *const interim_keys[] = {
	    "http.request.method",  "url.scheme",	 "url.path",
	    "server.address",	    "server.port",	 "client.address",
	    "network.peer.address", "network.peer.port", "network.protocol.version",
	    "network.transport",    "network.type",	 "http.response.status_code",
	};
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8884);
	const struct span *s;

	ingress(h, &c, T0 + 100,
		"POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
		"\r\n");
	egress(h, &c, T0 + 200, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_span_count(h, 0);
	ingress(h, &c, T0 + 300, "hello");
	egress(h, &c, T0 + 400, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	/* 103 Early Hints and the final response in one write. */
	ingress(h, &c, T0 + 1100, "GET /page HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 1200,
	       "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" OK_HELLO);
	assert_span_count(h, 2);

	s = span_at(h, 0);
	assert_times(s, T0 + 100, T0 + 400);
	assert_int_attr(&s->attrs, "http.response.status_code", 201);
	/* One status code: the interim response added nothing. */
	assert_keys(&s->attrs, interim_keys, ARRAY_SIZE(interim_keys));
	s = span_at(h, 1);
	assert_times(s, T0 + 1100, T0 + 1200);
	assert_int_attr(&s->attrs, "http.response.status_code", 200);
	assert_int_equal(STAT(h, http_orphan_responses), 0);
}

/* RFC 9112 section 6.3 rule 1: a response to HEAD has no body, whatever its
 * Content-Length says. */
static void test_head_response(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8885);

	ingress(h, &c, T0 + 100, "HEAD /file.iso HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 200, "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n");
	assert_span_count(h, 1);
	assert_string_equal(span_at(h, 0)->name, "HEAD /file.iso");
	assert_times(span_at(h, 0), T0 + 100, T0 + 200);
	/* The next exchange is framed right: no 1 MiB body was expected. */
	ingress(h, &c, T0 + 300, "GET /file.iso HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 400, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
	assert_span_count(h, 2);
	assert_times(span_at(h, 1), T0 + 300, T0 + 400);
}

/* Content-Length counts bytes the kernel did not capture. */
#define BIG_HEAD "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"

static void test_body_past_capture(void **state)
{
	const size_t head_len = sizeof(BIG_HEAD) - 1;
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8886);

	ingress(h, &c, T0 + 100, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
	feed(h, &c,
	     &(struct piece){.dir = KSPAN_DIR_EGRESS,
			     .exit_ns = T0 + 200,
			     .text = BIG_HEAD "0123456789",
			     .total = 65536});
	assert_span_count(h, 0);
	/* The rest of the body: nothing of it captured. */
	feed(h, &c,
	     &(struct piece){.dir = KSPAN_DIR_EGRESS,
			     .exit_ns = T0 + 300,
			     .text = "",
			     .total = head_len + 100000 - 65536 - 1});
	assert_span_count(h, 0);
	feed(
	    h, &c,
	    &(struct piece){.dir = KSPAN_DIR_EGRESS, .exit_ns = T0 + 400, .text = "z", .total = 1});
	assert_span_count(h, 1);
	assert_times(span_at(h, 0), T0 + 100, T0 + 400);

	ingress(h, &c, T0 + 500, "GET /small HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 600, OK_HELLO);
	assert_span_count(h, 2);
	assert_times(span_at(h, 1), T0 + 500, T0 + 600);
}

static void test_chunked_across_pieces(void **state)
{
	struct harness *h = *state;
	struct test_conn c = client_conn(0x8887);

	egress(h, &c, T0 + 100, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
	ingress(h, &c, T0 + 200, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
	ingress(h, &c, T0 + 300, "lo\r\n7\r\n wor");
	assert_span_count(h, 0);
	ingress(h, &c, T0 + 400, "ld!\r\n0\r\n\r\n");
	assert_span_count(h, 1);
	assert_times(span_at(h, 0), T0 + 100 - SYSCALL_NS, T0 + 400);
	assert_int_attr(&span_at(h, 0)->attrs, "http.response.status_code", 200);
}

/* The response head was cut by the capture: its end cannot be known. */
#define CUT_RESPONSE_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Le"

static void send_response_of_unknown_length(struct harness *h, struct test_conn *c)
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

/* On a connection that does not pipeline, the next request means the
 * previous response is complete: it ended with its last write. */
static void test_unknown_framing_ended_by_next_request(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8888);

	send_response_of_unknown_length(h, &c);
	assert_span_count(h, 0);
	ingress(h, &c, T0 + 1000, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_span_count(h, 1);
	assert_string_equal(span_at(h, 0)->name, "GET /page");
	assert_times(span_at(h, 0), T0 + 100, T0 + 300);
	assert_int_attr(&span_at(h, 0)->attrs, "http.response.status_code", 200);
	egress(h, &c, T0 + 1200, OK_HELLO);
	assert_span_count(h, 2);
	assert_times(span_at(h, 1), T0 + 1000, T0 + 1200);
}

/* Whenever the first span is finished, its end is its last write, not the
 * start of the next response. */
static void test_unknown_framing_end_time(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8889);

	send_response_of_unknown_length(h, &c);
	ingress(h, &c, T0 + 1000, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 1200, OK_HELLO);
	assert_span_count(h, 2);
	assert_string_equal(span_at(h, 0)->name, "GET /page");
	assert_times(span_at(h, 0), T0 + 100, T0 + 300);
	assert_string_equal(span_at(h, 1)->name, "GET /next");
	assert_times(span_at(h, 1), T0 + 1000, T0 + 1200);
}

/* A request head that arrives in two reads: the span starts at the first,
 * and the kernel's context (decided for the piece where the request starts)
 * is the span's. */
static void test_request_head_split_across_reads(void **state)
{
	struct harness *h = *state;
	struct test_conn server = server_conn(0x888a);
	struct test_conn client = client_conn(0x888b);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);
	const uint64_t want_start[2] = {T0 + 100, T0 + 1100 - SYSCALL_NS};
	char problems[512] = "";
	size_t used = 0;

	ingress_ctx(h, &server, T0 + 100, "GET /users/7 HTTP/1.1\r\nHost: sh", &k);
	ingress(h, &server, T0 + 150, "op.example\r\nUser-Agent: slow\r\n\r\n");
	egress(h, &server, T0 + 400, OK_EMPTY);
	egress_ctx(h, &client, T0 + 1100, "GET /x HTTP/1.1\r\nHo", &k);
	egress(h, &client, T0 + 1150, "st: h\r\n\r\n");
	ingress(h, &client, T0 + 1400, OK_EMPTY);
	assert_span_count(h, 2);
	assert_str_attr(&span_at(h, 0)->attrs, "server.address", "shop.example");
	assert_str_attr(&span_at(h, 0)->attrs, "user_agent.original", "slow");

	/* Both problems of both spans in one message. */
	for (size_t i = 0; i < 2; i++) {
		const struct span *s = span_at(h, i);
		char span_hex[17];

		hex_encode(s->span_id, 8, span_hex);
		if (s->start_unix_ns != UNIX_NS(want_start[i]))
			used += (size_t)snprintf(problems + used, sizeof(problems) - used,
						 "\n  %s span starts at T0%+lld, expected T0%+lld",
						 i ? "CLIENT" : "SERVER",
						 (long long)(s->start_unix_ns - UNIX_NS(T0)),
						 (long long)(want_start[i] - T0));
		if (strcmp(span_hex, K_SPAN) != 0)
			used += (size_t)snprintf(problems + used, sizeof(problems) - used,
						 "\n  %s span id %s, expected the kernel's " K_SPAN,
						 i ? "CLIENT" : "SERVER", span_hex);
	}
	if (used)
		fail_msg("request head split across two syscalls:%s", problems);
	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	assert_times(span_at(h, 0), T0 + 100, T0 + 400);
	assert_times(span_at(h, 1), T0 + 1100 - SYSCALL_NS, T0 + 1400);
}

/* --- connection and process ends -------------------------------------------------------------- */

static void test_close_ends_close_delimited_response(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x9991);

	ingress(h, &c, T0 + 100, "GET /old HTTP/1.0\r\n\r\n");
	egress(h, &c, T0 + 200, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part");
	egress(h, &c, T0 + 300, " second part");
	assert_span_count(h, 0);
	send_close(h, &c, T0 + 500);
	assert_span_count(h, 1);
	assert_times(span_at(h, 0), T0 + 100, T0 + 300);
	assert_int_equal(span_at(h, 0)->status_code, SPAN_STATUS_UNSET);
	assert_int_attr(&span_at(h, 0)->attrs, "http.response.status_code", 200);
	assert_int_equal(h->assembler.conns.count, 0);
	assert_int_equal(STAT(h, http_unanswered_requests), 0);
}

static void test_close_without_response(void **state)
{
	struct harness *h = *state;
	struct test_conn c = client_conn(0x9992);
	const struct span *s;

	egress(h, &c, T0 + 100, "GET /never HTTP/1.1\r\nHost: h\r\n\r\n");
	send_close(h, &c, T0 + 800);
	assert_span_count(h, 1);
	s = span_at(h, 0);
	assert_int_equal(s->kind, SPAN_KIND_CLIENT);
	assert_times(s, T0 + 100 - SYSCALL_NS, T0 + 800);
	assert_int_equal(s->status_code, SPAN_STATUS_ERROR);
	assert_non_null(s->status_message);
	assert_str_attr(&s->attrs, "error.type", "connection_closed");
	assert_no_attr(&s->attrs, "http.response.status_code");
	assert_int_equal(STAT(h, http_unanswered_requests), 1);
	assert_int_equal(h->assembler.conns.count, 0);
	/* A close for a connection nobody knows changes nothing. */
	send_close(h, &c, T0 + 900);
	assert_span_count(h, 1);
}

/* A connection adopted mid-flight: its first event is a response. */
static void test_orphan_response(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x9993);

	egress(h, &c, T0 + 100, OK_HELLO);
	assert_span_count(h, 0);
	assert_int_equal(STAT(h, http_orphan_responses), 1);
	ingress(h, &c, T0 + 200, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 300, OK_HELLO);
	assert_span_count(h, 1);
	assert_times(span_at(h, 0), T0 + 200, T0 + 300);
	assert_int_equal(STAT(h, http_orphan_responses), 1);
}

/* exit() closes sockets without a close() the kernel would report. */
static void test_process_exit_ends_its_connections(void **state)
{
	struct harness *h = *state;
	struct test_conn waiting = server_conn(0xa001);
	struct test_conn streaming = server_conn(0xa002);
	struct test_conn other = client_conn(0xa003);
	const struct span *s;

	ingress(h, &waiting, T0 + 100, "GET /waiting HTTP/1.1\r\nHost: h\r\n\r\n");
	ingress(h, &streaming, T0 + 110, "GET /streaming HTTP/1.0\r\n\r\n");
	egress(h, &streaming, T0 + 200, "HTTP/1.0 200 OK\r\n\r\npartial");
	egress(h, &other, T0 + 120, "GET /elsewhere HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_non_null(u64_map_get(&h->procs.by_pid, SERVER_PID));

	send_proc_exit(h, SERVER_PID, T0 + 900);
	assert_span_count(h, 2);
	s = span_named(h, "GET /waiting");
	assert_times(s, T0 + 100, T0 + 900);
	assert_int_equal(s->status_code, SPAN_STATUS_ERROR);
	assert_str_attr(&s->attrs, "error.type", "connection_closed");
	/* The span keeps its resource after the process is forgotten. */
	assert_string_equal(s->resource->service_name, "checkout");
	s = span_named(h, "GET /streaming");
	assert_times(s, T0 + 110, T0 + 200);
	assert_int_equal(s->status_code, SPAN_STATUS_UNSET);
	assert_int_equal(STAT(h, http_unanswered_requests), 1);
	assert_null(u64_map_get(&h->procs.by_pid, SERVER_PID));
	/* The other process's connection is untouched. */
	assert_int_equal(h->assembler.conns.count, 1);
	ingress(h, &other, T0 + 1000, OK_EMPTY);
	assert_span_count(h, 3);
	assert_times(span_named(h, "GET /elsewhere"), T0 + 120 - SYSCALL_NS, T0 + 1000);
}

/* Shutdown: what has a response is finished; what waits is counted. */
static void test_finish_all_at_shutdown(void **state)
{
	struct harness *h = *state;
	struct test_conn streaming = server_conn(0xa101);
	struct test_conn waiting = client_conn(0xa102);
	struct test_conn pipelined = server_conn(0xa103);

	ingress(h, &streaming, T0 + 100, "GET /streaming HTTP/1.0\r\n\r\n");
	egress(h, &streaming, T0 + 200, "HTTP/1.0 200 OK\r\n\r\npartial");
	egress(h, &waiting, T0 + 300, "GET /waiting HTTP/1.1\r\nHost: h\r\n\r\n");
	ingress(h, &pipelined, T0 + 400, PIPELINED_REQUESTS);
	egress(h, &pipelined, T0 + 500, "HTTP/1.1 200 OK\r\n\r\nuntil close");

	http1_assembler_finish_all(&h->assembler);
	assert_span_count(h, 2);
	assert_times(span_named(h, "GET /streaming"), T0 + 100, T0 + 200);
	assert_times(span_named(h, "GET /a/{id}"), T0 + 400, T0 + 500);
	/* /waiting, /b and /c never got a response. */
	assert_int_equal(STAT(h, http_unfinished_at_exit), 3);
	assert_int_equal(STAT(h, http_unanswered_requests), 0);
	assert_int_equal(h->assembler.conns.count, 0);
}

/* A response nobody can frame ends with its last write once the connection
 * has been quiet for idle_timeout. */
static void test_idle_flush_unknown_framing(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0xa201);
	struct test_conn waiting = server_conn(0xa202);

	send_response_of_unknown_length(h, &c);
	ingress(h, &waiting, T0 + 300, "GET /long-poll HTTP/1.1\r\nHost: h\r\n\r\n");
	http1_assembler_tick(&h->assembler, T0 + 300 + IDLE_TIMEOUT_NS - 1);
	assert_span_count(h, 0);
	http1_assembler_tick(&h->assembler, T0 + 300 + IDLE_TIMEOUT_NS);
	assert_span_count(h, 1);
	assert_string_equal(span_at(h, 0)->name, "GET /page");
	assert_times(span_at(h, 0), T0 + 100, T0 + 300);
	/* A request still waiting is a legitimate long poll: not flushed. */
	assert_int_equal(h->assembler.conns.count, 2);
	http1_assembler_tick(&h->assembler, T0 + 300 + 16 * 60 * 1000000000ull);
	assert_span_count(h, 1);
	/* Long silent and nothing pending: forgotten. */
	assert_int_equal(h->assembler.conns.count, 1);
	assert_non_null(u64_map_get(&h->assembler.conns, waiting.id));
}

/* --- resources
 * ------------------------------------------------------------------------------------ */

static void assert_args(const struct attribute_list *l, const char *const *want, size_t n)
{
	const struct attribute *a = attr(l, "process.command_args");
	size_t off = 0, i = 0;

	assert_int_equal(a->type, ATTR_STRING_ARRAY);
	while (off < a->str_len) {
		if (i >= n)
			fail_msg("extra command argument \"%s\"", a->str + off);
		assert_string_equal(a->str + off, want[i]);
		off += strlen(a->str + off) + 1;
		i++;
	}
	assert_int_equal(i, n);
}

static void test_resource_attributes(void **state)
{
	static const char *const keys[] = {
	    "service.name",
	    "process.pid",
	    "process.executable.name",
	    "process.executable.path",
	    "process.command",
	    "process.command_args",
	    "host.name",
	    "container.id",
	    "k8s.pod.uid",
	    "telemetry.sdk.name",
	    "telemetry.sdk.version",
	    "telemetry.sdk.language",
	};
	static const char *const proc_args[] = {"/usr/bin/checkout-bin", "--port", "8080"};
	static const char *const curl_args[] = {"curl", "-s", "http://127.0.0.1:8080/"};
	static const char curl_cmdline[] = "curl\0-s\0http://127.0.0.1:8080/\0-o";
	struct harness *h = *state;
	struct test_conn server = server_conn(0xb001);
	struct test_conn client = client_conn(0xb002);
	const struct attribute_list *r;
	char host[256] = "";
	const struct span *s;

	h->procs.capture_command_args = true; /* --capture-command-args */
	/* The kernel names the executable (its name may differ from the link
	 * target's, e.g. after an upgrade replaced the file). */
	send_proc_info(h, SERVER_PID, "checkout", "checkout-srv", "checkout-srv", 13);
	/* curl already exited: only what the kernel sent. The last argument
	 * was cut by the kernel's capture ("-o" without its NUL). */
	send_proc_info(h, CLIENT_PID, "curl", "curl", curl_cmdline, sizeof(curl_cmdline) - 1);
	ingress(h, &server, T0 + 100, GET_USER);
	egress(h, &server, T0 + 200, OK_EMPTY);
	egress(h, &client, T0 + 300, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	ingress(h, &client, T0 + 400, OK_EMPTY);
	assert_span_count(h, 2);

	s = span_at(h, 0);
	r = &s->resource->attrs;
	assert_keys(r, keys, ARRAY_SIZE(keys));
	assert_string_equal(s->resource->service_name, "checkout");
	assert_str_attr(r, "service.name", "checkout");
	assert_int_attr(r, "process.pid", SERVER_PID);
	assert_str_attr(r, "process.executable.name", "checkout-srv");
	assert_str_attr(r, "process.executable.path", "/usr/bin/checkout-bin");
	/* /proc has the whole argument vector. */
	assert_args(r, proc_args, ARRAY_SIZE(proc_args));
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_str_attr(r, "host.name", host);
	assert_str_attr(r, "container.id", CONTAINER_ID);
	assert_str_attr(r, "k8s.pod.uid", "3c1e4a52-7d0b-4a7e-9f21-5e8c2b6d1f04");
	assert_str_attr(r, "telemetry.sdk.name", "kspan");
	assert_absent_from_span(s, SECRET);
	assert_absent_from_span(s, "STRIPE");

	s = span_at(h, 1);
	r = &s->resource->attrs;
	assert_string_equal(s->resource->service_name, "curl");
	assert_str_attr(r, "service.name", "curl");
	assert_int_attr(r, "process.pid", CLIENT_PID);
	assert_str_attr(r, "process.executable.name", "curl");
	assert_args(r, curl_args, ARRAY_SIZE(curl_args));
	assert_no_attr(r, "container.id");
	assert_no_attr(r, "process.executable.path");
	assert_str_attr(r, "telemetry.sdk.name", "kspan");
	/* One resource per process, shared by its spans. */
	ingress(h, &server, T0 + 500, GET_USER);
	egress(h, &server, T0 + 600, OK_EMPTY);
	assert_span_count(h, 3);
	assert_ptr_equal(span_at(h, 2)->resource, span_at(h, 0)->resource);
}

/* --- malformed records -------------------------------------------------------------------------
 */

static void expect_malformed(struct harness *h, const void *data, size_t size)
{
	uint64_t before = STAT(h, events_malformed);

	assert_int_equal(event_reader_handle(&h->reader, data, size), -EINVAL);
	assert_int_equal(STAT(h, events_malformed), before + 1);
}

static void test_malformed_records(void **state)
{
	static const char request[] = "GET /m HTTP/1.1\r\nHost: h\r\n\r\n";
	struct harness *h = *state;
	struct test_conn c = server_conn(0xc001);
	struct kspan_data_event *ev, *big;
	union {
		struct kspan_proc_event info;
		struct kspan_conn_event close;
		struct kspan_proc_exit_event exit;
		uint8_t raw[512];
	} rec;
	size_t size;

	ev = data_event_new(
	    &c, &(struct piece){.dir = KSPAN_DIR_INGRESS, .exit_ns = T0 + 100, .text = request},
	    &size);
	/* Shorter than any header; a DATA header without its body. */
	expect_malformed(h, ev, 10);
	expect_malformed(h, ev, sizeof(struct kspan_event_header));
	expect_malformed(h, ev, sizeof(*ev) - 1);
	/* The payload the header announces is not all there. */
	expect_malformed(h, ev, size - 1);
	/* More captured than the syscall moved. */
	ev->bytes_total = ev->captured_len - 1;
	expect_malformed(h, ev, size);
	ev->bytes_total = (__u32)(size - sizeof(*ev));
	/* Unknown types. */
	ev->hdr.type = 0;
	expect_malformed(h, ev, size);
	ev->hdr.type = 99;
	expect_malformed(h, ev, size);
	free(ev);

	/* More captured than KSPAN_CAPTURE_MAX, even with the bytes present. */
	big = calloc(1, sizeof(*big) + KSPAN_CAPTURE_MAX + 1);
	assert_non_null(big);
	ev = data_event_new(
	    &c, &(struct piece){.dir = KSPAN_DIR_INGRESS, .exit_ns = T0 + 100, .text = request},
	    &size);
	memcpy(big, ev, size);
	free(ev);
	big->captured_len = KSPAN_CAPTURE_MAX + 1;
	big->bytes_total = 2 * KSPAN_CAPTURE_MAX;
	expect_malformed(h, big, sizeof(*big) + KSPAN_CAPTURE_MAX + 1);
	free(big);

	/* Other record types, one byte short. */
	memset(&rec, 0, sizeof(rec));
	rec.close.hdr.type = KSPAN_EVENT_CONN_CLOSE;
	rec.close.conn_id = c.id;
	expect_malformed(h, &rec, sizeof(struct kspan_conn_event) - 1);
	memset(&rec, 0, sizeof(rec));
	rec.info.hdr.type = KSPAN_EVENT_PROC_INFO;
	rec.info.hdr.tgid = SERVER_PID;
	expect_malformed(h, &rec, sizeof(struct kspan_proc_event) - 1);
	memset(&rec, 0, sizeof(rec));
	rec.exit.hdr.type = KSPAN_EVENT_PROC_EXIT;
	rec.exit.hdr.tgid = SERVER_PID;
	expect_malformed(h, &rec, sizeof(struct kspan_proc_exit_event) - 1);

	assert_int_equal(STAT(h, events_malformed), 11);
	assert_int_equal(STAT(h, events_received), 11);
	assert_int_equal(h->assembler.conns.count, 0);
	assert_int_equal(h->procs.by_pid.count, 0);

	/* None of the requests got through: this response answers nothing. It
	 * is the first event the assembler sees of the connection. */
	c.seq[0] = c.seq[1] = 0;
	egress(h, &c, T0 + 200, OK_EMPTY);
	assert_span_count(h, 0);
	assert_int_equal(STAT(h, http_orphan_responses), 1);
	assert_int_equal(STAT(h, spans_created), 0);
	assert_int_equal(STAT(h, conn_event_gaps), 0);
}

/* A client with a reader and a writer thread (Go) can read the response - and
 * its event reach the ring - before the write() that sent the request has
 * returned: the response waits for its request instead of being dropped. */
static void test_client_response_before_its_request_event(void **state)
{
	struct harness *h = *state;
	struct test_conn c = client_conn(0x2a2a);
	const struct span *s;

	ingress(h, &c, T0 + 300, "HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nno");
	assert_span_count(h, 0);
	/* The write began before the read returned. */
	egress(h, &c, T0 + 200 + SYSCALL_NS, "GET /early HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_span_count(h, 1);
	s = span_at(h, 0);
	assert_string_equal(s->name, "GET /early");
	assert_times(s, T0 + 200, T0 + 300);
	assert_int_attr(&s->attrs, "http.response.status_code", 503);
	assert_int_equal(s->status_code, SPAN_STATUS_ERROR);
	assert_int_equal(STAT(h, http_orphan_responses), 0);

	/* A response no request claims within a second is an orphan. */
	ingress(h, &c, T0 + 1000, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	http1_assembler_tick(&h->assembler, T0 + 1000 + 999000000ull);
	assert_int_equal(STAT(h, http_orphan_responses), 0);
	http1_assembler_tick(&h->assembler, T0 + 1000 + 1001000000ull);
	assert_int_equal(STAT(h, http_orphan_responses), 1);

	/* Nor does a request written after the response was read. */
	ingress(h, &c, T0 + 3000000000ull, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	egress(h, &c, T0 + 3000000500ull + SYSCALL_NS, "GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(STAT(h, http_orphan_responses), 2);
	assert_span_count(h, 1);
	ingress(h, &c, T0 + 3000000900ull, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_span_count(h, 2);
	assert_times(span_at(h, 1), T0 + 3000000500ull, T0 + 3000000900ull);
}

/* --- lost events -------------------------------------------------------------------------------
 */

/* A gap in a connection's event numbers (per direction) means the ring
 * buffer dropped some: requests still queued are dropped rather than paired
 * with the wrong response. */
static void test_event_gap_resets_connection(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0xd001);
	struct test_conn late = server_conn(0xd002);
	struct test_conn wrap = server_conn(0xd003);

	ingress(h, &c, T0 + 100, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	c.seq[1]++; /* the response to /a was lost */
	ingress(h, &c, T0 + 300, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(STAT(h, conn_event_gaps), 0); /* not visible yet */
	/* The next response shows the gap: it could answer /a or /b, so both
	 * requests are dropped and the response itself answers nothing. */
	egress(h, &c, T0 + 400, OK_HELLO);
	assert_int_equal(STAT(h, conn_event_gaps), 1);
	assert_int_equal(STAT(h, requests_lost_to_gaps), 2);
	assert_span_count(h, 0);
	ingress(h, &c, T0 + 450, "GET /b2 HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 480, OK_HELLO);
	assert_span_count(h, 1);
	assert_string_equal(span_at(h, 0)->name, "GET /b2");
	assert_times(span_at(h, 0), T0 + 450, T0 + 480);

	/* A gap just before the close: the open request is dropped, not
	 * reported as unanswered. */
	ingress(h, &c, T0 + 500, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
	c.seq[1]++;
	send_close(h, &c, T0 + 700);
	assert_span_count(h, 1);
	assert_int_equal(STAT(h, conn_event_gaps), 2);
	assert_int_equal(STAT(h, requests_lost_to_gaps), 3);
	assert_int_equal(STAT(h, http_unanswered_requests), 0);
	assert_int_equal(h->assembler.conns.count, 0);

	/* The first events of a connection were lost: counted, then followed. */
	late.seq[0] = 3;
	ingress(h, &late, T0 + 800, "GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &late, T0 + 900, OK_EMPTY);
	assert_int_equal(STAT(h, conn_event_gaps), 3);
	assert_int_equal(STAT(h, requests_lost_to_gaps), 3);
	assert_span_count(h, 2);
	assert_times(span_at(h, 1), T0 + 800, T0 + 900);

	/* Numbers wrap at 16 bits without being taken for a gap. */
	wrap.seq[0] = UINT16_MAX;
	ingress(h, &wrap, T0 + 1000, "GET /wrap HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(STAT(h, conn_event_gaps), 4);
	assert_int_equal(wrap.seq[0], 0);
	egress(h, &wrap, T0 + 1100, OK_EMPTY);
	send_close(h, &wrap, T0 + 1200);
	assert_int_equal(STAT(h, conn_event_gaps), 4);
	assert_span_count(h, 3);
	assert_times(span_at(h, 2), T0 + 1000, T0 + 1100);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_server_span),
	    TEST(test_client_span),
	    TEST(test_client_response_before_its_request_event),
	    TEST(test_capture_query_keeps_values),
	    TEST(test_ipv6_host_header),
	    TEST(test_no_host_uses_tuple_v4_mapped),
	    TEST(test_status_and_error_type),
	    TEST(test_ctx_kernel_parent_and_tracestate),
	    TEST(test_ctx_invalid_kernel_ids_replaced),
	    TEST(test_ctx_parent_from_header),
	    TEST(test_ctx_tracestate_only_with_parent),
	    TEST(test_ctx_userspace_when_kernel_has_none),
	    TEST(test_pipelining_one_piece),
	    TEST(test_pipelining_responses_in_separate_writes),
	    TEST(test_keep_alive),
	    TEST(test_interim_1xx_then_final),
	    TEST(test_head_response),
	    TEST(test_body_past_capture),
	    TEST(test_chunked_across_pieces),
	    TEST(test_unknown_framing_ended_by_next_request),
	    TEST(test_unknown_framing_end_time),
	    TEST(test_request_head_split_across_reads),
	    TEST(test_close_ends_close_delimited_response),
	    TEST(test_close_without_response),
	    TEST(test_orphan_response),
	    TEST(test_process_exit_ends_its_connections),
	    TEST(test_finish_all_at_shutdown),
	    TEST(test_idle_flush_unknown_framing),
	    TEST(test_resource_attributes),
	    TEST(test_malformed_records),
	    TEST(test_event_gap_resets_connection),
	};
#undef TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
