// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_records.c - the records around the data: process resources (PROC_INFO and
 * /proc), and malformed records the reader refuses.
 * The fixture and its rules: support/http1_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http1_harness.h"

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

static void expect_malformed(struct harness *h, const void *data, size_t size)
{
	uint64_t before = STAT(h, events_malformed);

	assert_int_equal(event_reader_handle(&h->reader, data, size), -EINVAL);
	assert_int_equal(STAT(h, events_malformed), before + 1);
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
	server_then_client(h, &server, &client, GET_USER, OK_EMPTY,
			   "GET / HTTP/1.1\r\nHost: h\r\n\r\n", OK_EMPTY);

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
	assert_int_equal(conn_registry_count(&h->assembler.conns), 0);
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

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_resource_attributes),
	    TEST(test_malformed_records),
	};
#undef TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
