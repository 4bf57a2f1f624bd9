// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_connection_ends.c - how HTTP/1 spans end with their connection: close,
 * process exit, shutdown, idle time, responses read before their request, lost
 * events.
 * The fixture and its rules: support/http1_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http1_harness.h"

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
	assert_int_equal(conn_registry_count(&h->assembler.conns), 0);
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
	assert_int_equal(conn_registry_count(&h->assembler.conns), 0);
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
	assert_int_equal(conn_registry_count(&h->assembler.conns), 1);
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
	assert_int_equal(conn_registry_count(&h->assembler.conns), 0);
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
	assert_int_equal(conn_registry_count(&h->assembler.conns), 2);
	http1_assembler_tick(&h->assembler, T0 + 300 + CONN_FORGET_NS_DEFAULT - 1);
	assert_int_equal(conn_registry_count(&h->assembler.conns), 2);
	/* Silent for the forget time: both forgotten, their close presumed
	 * lost; the long poll that never got an answer is dropped, counted,
	 * not reported as failed. */
	http1_assembler_tick(&h->assembler, T0 + 300 + CONN_FORGET_NS_DEFAULT);
	assert_span_count(h, 1);
	assert_int_equal(conn_registry_count(&h->assembler.conns), 0);
	assert_int_equal(STAT(h, conns_expired), 2);
	assert_int_equal(STAT(h, requests_forgotten), 1);
	assert_int_equal(STAT(h, http_unanswered_requests), 0);
	assert_null(conn_registry_get(&h->assembler.conns, waiting.id));
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
	assert_int_equal(conn_registry_count(&h->assembler.conns), 0);

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

/* Beyond the connection bound the least recently active connection is
 * forgotten: a response that began ends at its last piece (as after the
 * idle timeout), a request still waiting is dropped and counted. */
static void test_eviction_keeps_the_bound(void **state)
{
	struct harness *h = *state;
	struct test_conn streaming = server_conn(0xa301);
	struct test_conn waiting = server_conn(0xa302);
	struct test_conn busy = server_conn(0xa303);
	struct test_conn newer = server_conn(0xa304);
	struct test_conn newest = server_conn(0xa305);

	h->assembler.own_budget.max = 3;
	send_response_of_unknown_length(h, &streaming); /* T0+100..T0+300 */
	ingress(h, &waiting, T0 + 400, "GET /long-poll HTTP/1.1\r\nHost: h\r\n\r\n");
	ingress(h, &busy, T0 + 500, "GET /busy HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(conn_registry_count(&h->assembler.conns), 3);
	/* The oldest speaks again: `waiting` becomes the least recently active. */
	egress(h, &streaming, T0 + 600, "more of the body");
	ingress(h, &newer, T0 + 700, "GET /newer HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(conn_registry_count(&h->assembler.conns), 3);
	assert_null(conn_registry_get(&h->assembler.conns, waiting.id));
	assert_int_equal(STAT(h, conns_evicted), 1);
	assert_int_equal(STAT(h, requests_forgotten), 1);
	assert_span_count(h, 0);
	/* Then `streaming`, whose response began: it ends at its last piece. */
	egress(h, &busy, T0 + 800, OK_HELLO);
	assert_span_count(h, 1);
	ingress(h, &newest, T0 + 900, "GET /newest HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_null(conn_registry_get(&h->assembler.conns, streaming.id));
	assert_int_equal(STAT(h, conns_evicted), 2);
	assert_int_equal(STAT(h, requests_forgotten), 1);
	assert_span_count(h, 2);
	assert_string_equal(span_at(h, 1)->name, "GET /page");
	assert_times(span_at(h, 1), T0 + 100, T0 + 600);
	assert_int_equal(span_at(h, 1)->status_code, SPAN_STATUS_UNSET);
	assert_int_equal(STAT(h, http_unanswered_requests), 0);
	/* A forgotten connection that speaks again is followed anew. */
	egress(h, &waiting, T0 + 1000, OK_HELLO);
	assert_non_null(conn_registry_get(&h->assembler.conns, waiting.id));
	assert_int_equal(STAT(h, http_orphan_responses), 1);
	assert_int_equal(conn_registry_count(&h->assembler.conns), 3);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_close_ends_close_delimited_response),
	    TEST(test_close_without_response),
	    TEST(test_orphan_response),
	    TEST(test_process_exit_ends_its_connections),
	    TEST(test_finish_all_at_shutdown),
	    TEST(test_idle_flush_unknown_framing),
	    TEST(test_client_response_before_its_request_event),
	    TEST(test_event_gap_resets_connection),
	    TEST(test_eviction_keeps_the_bound),
	};
#undef TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
