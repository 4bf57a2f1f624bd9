// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_spans.c - the two span kinds and their attributes: names, addresses,
 * url.query, the status rule.
 * The fixture and its rules: support/http1_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http1_harness.h"

static const char *const server_keys[] = {
    "http.request.method",
    "url.scheme",
    "url.path",
    "url.query",
    "client.address",
    CONNECTION_KEYS,
    "user_agent.original",
    "http.response.status_code",
};

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
	assert_str_attr(&s->attrs, "network.protocol.name", "http");
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
	    CONNECTION_KEYS,
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
	server_then_client(h, &server, &client, GET_USER, OK_EMPTY,
			   "GET /search?q=shoes&n=10 HTTP/1.1\r\nHost: h:81\r\n\r\n", OK_EMPTY);
	assert_str_attr(&span_at(h, 0)->attrs, "url.query", "a=1&b=2");
	assert_str_attr(&span_at(h, 1)->attrs, "url.query", "q=shoes&n=10");
	assert_str_attr(&span_at(h, 1)->attrs, "url.full", "http://h:81/search?q=shoes&n=10");
}

static void test_ipv6_host_header(void **state)
{
	struct harness *h = *state;
	struct test_conn server = server_conn(0x4441);
	struct test_conn client = client_conn(0x4442);
	const struct span *s;

	server.tuple = tuple_of(AF_INET6, "::1", 8080, "::1", 45678);
	client.tuple = tuple_of(AF_INET6, "::1", 45678, "::1", 8080);
	server_then_client(h, &server, &client, "GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
			   OK_EMPTY, "GET /v6?x=1 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", OK_EMPTY);

	s = span_at(h, 0);
	assert_addresses(s, "::1", 8080, "::1", 45678, "ipv6");
	assert_str_attr(&s->attrs, "client.address", "::1");
	assert_no_attr(&s->attrs, "url.query");

	s = span_at(h, 1);
	assert_addresses(s, "::1", 8080, "::1", 8080, "ipv6");
	assert_str_attr(&s->attrs, "url.full", "http://[::1]:8080/v6?x=REDACTED");
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
	server_then_client(h, &server, &client, "GET /legacy HTTP/1.0\r\nUser-Agent: old/1\r\n\r\n",
			   "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
			   "GET /legacy HTTP/1.0\r\n\r\n",
			   "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");

	s = span_at(h, 0);
	assert_addresses(s, "10.0.0.1", 8080, "10.0.0.7", 33333, "ipv4");
	assert_str_attr(&s->attrs, "client.address", "10.0.0.7");
	assert_str_attr(&s->attrs, "network.protocol.version", "1.0");

	s = span_at(h, 1);
	assert_addresses(s, "10.0.0.1", 8080, "10.0.0.1", 8080, "ipv4");
	assert_str_attr(&s->attrs, "url.full", "http://10.0.0.1:8080/legacy");
	assert_str_attr(&s->attrs, "network.protocol.version", "1.0");
	assert_no_attr(&s->attrs, "user_agent.original");
}

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

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_server_span),
	    TEST(test_client_span),
	    TEST(test_capture_query_keeps_values),
	    TEST(test_ipv6_host_header),
	    TEST(test_no_host_uses_tuple_v4_mapped),
	    TEST(test_status_and_error_type),
	};
#undef TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
