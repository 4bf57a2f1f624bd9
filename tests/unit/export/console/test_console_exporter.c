// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_console_exporter.c - the console exporter's holding, timing and layout.
 *
 * The exporter writes into an open_memstream() buffer; time moves only
 * through tick() with made-up CLOCK_MONOTONIC values. Expected output is
 * spelled out line by line so that a layout change shows up as a diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/agent_stats.h"
#include "export/console/console_exporter.h"

#define MS 1000000ULL
/* Arbitrary CLOCK_MONOTONIC origin and unix time origin of the spans. */
#define MONO_T0 (5000 * MS)
#define UNIX_T0 1700000000000000000ULL

#define TRACE_A "4bf92f3577b34da6a3ce929d0e0e4736"
#define TRACE_B "0af7651916cd43dd8448eb211c80319c"

struct fixture {
	char *buf;
	size_t len;
	size_t taken; /* output already checked */
	FILE *out;
	struct agent_stats stats;
	struct exporter *exporter;
	struct resource *python, *nginx, *orders, *payments, *svc;
};

static struct resource *service(uint32_t pid, const char *name)
{
	struct resource *r = resource_new(pid);

	assert_non_null(r);
	r->service_name = strdup(name);
	assert_non_null(r->service_name);
	return r;
}

static void open_exporter(struct fixture *f, uint32_t max_held_spans, bool use_color)
{
	struct console_exporter_config cfg = {
	    .trace_idle_ms = 1000,
	    .max_held_spans = max_held_spans,
	    .use_color = use_color,
	};

	f->exporter = console_exporter_new(f->out, &f->stats, &cfg);
	assert_non_null(f->exporter);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->out = open_memstream(&f->buf, &f->len);
	assert_non_null(f->out);
	f->python = service(100, "python3");
	f->nginx = service(200, "nginx");
	f->orders = service(300, "orders");
	f->payments = service(400, "payment-gateway-service");
	f->svc = service(500, "svc");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->exporter)
		f->exporter->destroy(f->exporter);
	fclose(f->out);
	free(f->buf);
	resource_unref(f->python);
	resource_unref(f->nginx);
	resource_unref(f->orders);
	resource_unref(f->payments);
	resource_unref(f->svc);
	free(f);
	return 0;
}

/* Everything printed since the previous call; the caller frees it. */
static char *new_output(struct fixture *f)
{
	assert_int_equal(fflush(f->out), 0);
	char *text = strndup(f->buf + f->taken, f->len - f->taken);

	assert_non_null(text);
	f->taken = f->len;
	return text;
}

static void assert_new_output(struct fixture *f, const char *expected)
{
	char *text = new_output(f);

	assert_string_equal(text, expected);
	free(text);
}

static void parse_hex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
}

struct span_spec {
	const char *trace_id; /* hex */
	uint8_t id, parent;   /* last byte of the span ids; parent 0: root */
	enum span_kind kind;
	const char *name;
	struct resource *resource;
	uint64_t start_us, end_us; /* after UNIX_T0 */
	int http_status;	   /* 0: no attribute */
	enum span_status_code status;
};

/* Builds the span and hands it to the exporter, which keeps its own reference. */
static void export(struct fixture *f, struct span_spec spec)
{
	struct span *s = span_new();

	assert_non_null(s);
	parse_hex(spec.trace_id, s->trace_id, sizeof(s->trace_id));
	s->span_id[7] = spec.id;
	s->parent_span_id[7] = spec.parent;
	s->kind = spec.kind;
	assert_int_equal(span_set_name(s, spec.name), 0);
	s->resource = resource_ref(spec.resource);
	s->start_unix_ns = UNIX_T0 + spec.start_us * 1000;
	s->end_unix_ns = UNIX_T0 + spec.end_us * 1000;
	s->status_code = spec.status;
	if (spec.http_status) {
		int err = attribute_list_add_int(&s->attrs, "http.response.status_code",
						 spec.http_status);

		assert_int_equal(err, 0);
	}
	assert_int_equal(f->exporter->export_span(f->exporter, s), 0);
	span_unref(s);
}

/* Tables: one span per line reads better than clang-format's layout. */
/* clang-format off */
/* Trace A: python3 serves /users/{id}, calls nginx for /db, then /cache and /ping.
 *                                   trace    id    parent kind              name
 *                                   resource start_us end_us http status */
static const struct span_spec A1 = { TRACE_A, 0xa1, 0,     SPAN_KIND_SERVER, "GET /users/{id}",
				     NULL,    0,       30000, 200, SPAN_STATUS_UNSET };
static const struct span_spec A2 = { TRACE_A, 0xa2, 0xa1,  SPAN_KIND_CLIENT, "GET /db",
				     NULL,    3000,    18000, 200, SPAN_STATUS_UNSET };
static const struct span_spec A3 = { TRACE_A, 0xa3, 0xa2,  SPAN_KIND_SERVER, "GET /db",
				     NULL,    4000,    17000, 200, SPAN_STATUS_UNSET };
static const struct span_spec A4 = { TRACE_A, 0xa4, 0xa1,  SPAN_KIND_CLIENT, "GET /cache",
				     NULL,    20000,   21537, 404, SPAN_STATUS_UNSET };
/* No response at all (connection reset): no status code, OTLP status Error. */
static const struct span_spec A5 = { TRACE_A, 0xa5, 0xa1,  SPAN_KIND_CLIENT, "GET /ping",
				     NULL,    25000,   25000, 0,   SPAN_STATUS_ERROR };

/* Trace B: its roots' parents (0x77, 0x78) live in other processes, not in this trace. */
static const struct span_spec B1 = { TRACE_B, 0xb1, 0x77,  SPAN_KIND_SERVER, "POST /orders",
				     NULL,    100000,  160000, 201, SPAN_STATUS_UNSET };
static const struct span_spec B2 = { TRACE_B, 0xb2, 0xb1,  SPAN_KIND_CLIENT,
				     "POST /payments/very/long/path/that/does/not/fit",
				     NULL,    110000,  150000, 500, SPAN_STATUS_ERROR };
static const struct span_spec B3 = { TRACE_B, 0xb3, 0x78,  SPAN_KIND_SERVER, "GET /audit",
				     NULL,    130000,  145000, 0,   SPAN_STATUS_UNSET };
/* clang-format on */

static struct span_spec with(struct span_spec spec, struct resource *r)
{
	spec.resource = r;
	return spec;
}

static const char TRACE_A_TEXT[] =
    "trace " TRACE_A "  5 spans  30.000 ms\n"
    "  SERVER  GET /users/{id}                   python3       200          30.000 ms  "
    "|##############################|\n"
    "    CLIENT  GET /db                         python3       200          15.000 ms  "
    "|   ###############            |\n"
    "      SERVER  GET /db                       nginx         200          13.000 ms  "
    "|    #############             |\n"
    "    CLIENT  GET /cache                      python3       404           1.537 ms  "
    "|                    ##        |\n"
    "    CLIENT  GET /ping                       python3       ERR ERROR     0.000 ms  "
    "|                         #    |\n"
    "\n";

static const char TRACE_B_TEXT[] =
    "trace " TRACE_B "  3 spans  60.000 ms\n"
    "  SERVER  POST /orders                      orders        201          60.000 ms  "
    "|##############################|\n"
    "    CLIENT  POST /payments/very/long/path~  payment-gat~  500 ERROR    40.000 ms  "
    "|     ####################     |\n"
    "  SERVER  GET /audit                        orders          -          15.000 ms  "
    "|               ########       |\n"
    "\n";

/* Children arrive before parents, as the agent produces them; the two traces interleave. */
static void export_interleaved_traces(struct fixture *f, bool with_b1)
{
	export(f, with(A3, f->nginx));
	export(f, with(B2, f->payments));
	export(f, with(A2, f->python));
	export(f, with(B3, f->orders));
	export(f, with(A5, f->python));
	export(f, with(A4, f->python));
	export(f, with(A1, f->python));
	if (with_b1)
		export(f, with(B1, f->orders));
}

static void test_prints_each_trace_as_a_tree_once_quiet(void **state)
{
	struct fixture *f = *state;
	struct exporter *e;

	open_exporter(f, 0, false);
	e = f->exporter;
	export_interleaved_traces(f, false);
	e->tick(e, MONO_T0);
	assert_new_output(f, "");

	/* B's root comes half a second later: B stays quiet from then on. */
	export(f, with(B1, f->orders));
	e->tick(e, MONO_T0 + 500 * MS);
	/* Quiet for exactly trace_idle_ms is not yet "more than" it. */
	e->tick(e, MONO_T0 + 1000 * MS);
	assert_new_output(f, "");

	e->tick(e, MONO_T0 + 1000 * MS + 1);
	assert_new_output(f, TRACE_A_TEXT);

	e->tick(e, MONO_T0 + 1500 * MS);
	assert_new_output(f, "");
	e->tick(e, MONO_T0 + 1600 * MS);
	assert_new_output(f, TRACE_B_TEXT);

	e->shutdown(e, MONO_T0 + 2000 * MS);
	assert_new_output(f, "");
	assert_int_equal(f->stats.spans_export_failed, 0);
}

static void test_a_new_span_restarts_the_idle_time(void **state)
{
	struct fixture *f = *state;
	struct exporter *e;

	open_exporter(f, 0, false);
	e = f->exporter;
	export(f, with(A1, f->python));
	e->tick(e, MONO_T0);
	export(f, with(A2, f->python));
	e->tick(e, MONO_T0 + 900 * MS);
	e->tick(e, MONO_T0 + 1500 * MS);
	assert_new_output(f, "");
	e->tick(e, MONO_T0 + 1901 * MS);
	char *text = new_output(f);

	assert_non_null(strstr(text, "trace " TRACE_A "  2 spans  30.000 ms\n"));
	free(text);
}

static void test_shutdown_prints_what_is_held(void **state)
{
	struct fixture *f = *state;
	struct exporter *e;

	open_exporter(f, 0, false);
	e = f->exporter;
	export_interleaved_traces(f, true);
	e->tick(e, MONO_T0);
	e->tick(e, MONO_T0 + 100 * MS);
	assert_new_output(f, "");
	e->shutdown(e, MONO_T0 + 200 * MS);
	/* Oldest activity first: A's last span came before B's. */
	char expected[sizeof(TRACE_A_TEXT) + sizeof(TRACE_B_TEXT)];

	snprintf(expected, sizeof(expected), "%s%s", TRACE_A_TEXT, TRACE_B_TEXT);
	assert_new_output(f, expected);
}

static void test_too_many_held_spans_print_the_quietest_trace_early(void **state)
{
	struct fixture *f = *state;
	struct exporter *e;
	const char *ta = "000000000000000000000000000000aa";
	const char *tb = "000000000000000000000000000000bb";
	const char *tc = "000000000000000000000000000000cc";

	open_exporter(f, 3, false);
	e = f->exporter;
	export(f, (struct span_spec){ta, 2, 1, SPAN_KIND_CLIENT, "GET /a2", f->svc, 0, 5000, 200,
				     SPAN_STATUS_UNSET});
	export(f, (struct span_spec){ta, 1, 0, SPAN_KIND_SERVER, "GET /a", f->svc, 0, 10000, 200,
				     SPAN_STATUS_UNSET});
	export(f, (struct span_spec){tb, 1, 0, SPAN_KIND_SERVER, "GET /b", f->svc, 0, 10000, 200,
				     SPAN_STATUS_UNSET});
	assert_new_output(f, "");
	/* The fourth span: no tick needed, A goes out at once, complete. */
	export(f, (struct span_spec){tc, 1, 0, SPAN_KIND_SERVER, "GET /c", f->svc, 0, 10000, 200,
				     SPAN_STATUS_UNSET});
	assert_new_output(
	    f, "trace 000000000000000000000000000000aa  2 spans  10.000 ms\n"
	       "  SERVER  GET /a                            svc           200          10.000 ms  "
	       "|##############################|\n"
	       "    CLIENT  GET /a2                         svc           200           5.000 ms  "
	       "|###############               |\n"
	       "\n");
	assert_int_equal(STAT_GET(&f->stats, console_traces_flushed_early), 1);
	e->shutdown(e, 0);
	/* Shutdown prints what is held: not early, the quiet time is over. */
	assert_int_equal(STAT_GET(&f->stats, console_traces_flushed_early), 1);
	assert_new_output(
	    f, "trace 000000000000000000000000000000bb  1 span  10.000 ms\n"
	       "  SERVER  GET /b                            svc           200          10.000 ms  "
	       "|##############################|\n"
	       "\n"
	       "trace 000000000000000000000000000000cc  1 span  10.000 ms\n"
	       "  SERVER  GET /c                            svc           200          10.000 ms  "
	       "|##############################|\n"
	       "\n");
}

static void test_parent_cycles_still_print_every_span(void **state)
{
	struct fixture *f = *state;
	const char *t = "00000000000000000000000000000c1c";

	open_exporter(f, 0, false);
	export(f, (struct span_spec){t, 1, 2, SPAN_KIND_SERVER, "GET /x", f->svc, 0, 1000, 0,
				     SPAN_STATUS_UNSET});
	export(f, (struct span_spec){t, 2, 1, SPAN_KIND_CLIENT, "GET /y", f->svc, 1000, 2000, 0,
				     SPAN_STATUS_UNSET});
	export(f, (struct span_spec){t, 3, 3, SPAN_KIND_SERVER, "GET /self", f->svc, 2000, 3000, 0,
				     SPAN_STATUS_UNSET});
	f->exporter->shutdown(f->exporter, 0);
	/* The self-parented span is a root; the 1<->2 cycle is shown from its earliest span. */
	assert_new_output(
	    f, "trace 00000000000000000000000000000c1c  3 spans  3.000 ms\n"
	       "  SERVER  GET /self                         svc             -           1.000 ms  "
	       "|                    ##########|\n"
	       "  SERVER  GET /x                            svc             -           1.000 ms  "
	       "|##########                    |\n"
	       "    CLIENT  GET /y                          svc             -           1.000 ms  "
	       "|          ##########          |\n"
	       "\n");
}

static void test_terminal_controls_in_names_are_neutralised(void **state)
{
	struct fixture *f = *state;
	struct resource *evil = service(600, "evil\nsvc");

	open_exporter(f, 0, false);
	/* ESC, a C1 CSI (0xc2 0x9b) and a stray 0xff byte, which span_set_name
	 * has already replaced by U+FFFD (printable, so it is shown). */
	export(f,
	       (struct span_spec){"000000000000000000000000000000ee", 1, 0, SPAN_KIND_SERVER,
				  "GET /\x1b[2Jx\xc2\x9b\xff", evil, 0, 0, 0, SPAN_STATUS_UNSET});
	resource_unref(evil);
	f->exporter->shutdown(f->exporter, 0);
	assert_new_output(f, "trace 000000000000000000000000000000ee  1 span  0.000 ms\n"
			     "  SERVER  GET /?[2Jx??\xef\xbf\xbd                     evil?svc      "
			     "  -           0.000 ms  "
			     "|##############################|\n"
			     "\n");
}

static void test_long_durations_in_seconds(void **state)
{
	struct fixture *f = *state;

	open_exporter(f, 0, false);
	export(f, (struct span_spec){"0000000000000000000000000000510e", 1, 0, SPAN_KIND_SERVER,
				     "GET /slow", f->svc, 0, 12500000, 200, SPAN_STATUS_UNSET});
	f->exporter->shutdown(f->exporter, 0);
	assert_new_output(
	    f, "trace 0000000000000000000000000000510e  1 span  12.500 s\n"
	       "  SERVER  GET /slow                         svc           200          12.500 s   "
	       "|##############################|\n"
	       "\n");
}

static void test_color_output(void **state)
{
	struct fixture *f = *state;
	const char *t = "000000000000000000000000000000c0";
	char name[128] = "GET /";
	char bar[30 * 3 + 1] = "";
	char expected[1024];

	for (int i = 0; i < 40; i++)
		strcat(name, "\xc3\xbc"); /* u with diaeresis: one cell, two bytes */
	for (int i = 0; i < 30; i++)
		strcat(bar, "\xe2\x96\x88"); /* U+2588 FULL BLOCK */

	open_exporter(f, 0, true);
	export(f, (struct span_spec){t, 2, 1, SPAN_KIND_CLIENT, name, f->svc, 0, 2000, 0,
				     SPAN_STATUS_UNSET});
	export(f, (struct span_spec){t, 1, 0, SPAN_KIND_SERVER, "GET /caf\xc3\xa9", f->svc, 0, 2000,
				     503, SPAN_STATUS_ERROR});
	f->exporter->shutdown(f->exporter, 0);

	/* The child's name column is 30 cells: "GET /", 24 u-umlauts and an ellipsis. */
	char cut[128] = "GET /";

	for (int i = 0; i < 24; i++)
		strcat(cut, "\xc3\xbc");
	strcat(cut, "\xe2\x80\xa6");
	snprintf(expected, sizeof(expected),
		 "\033[1mtrace %s  2 spans  2.000 ms\033[0m\n"
		 "  SERVER  GET /caf\xc3\xa9                         svc           "
		 "\033[31m503\033[0m \033[1;31mERROR\033[0m     2.000 ms  |%s|\n"
		 "    CLIENT  %s  svc             -           2.000 ms  |%s|\n"
		 "\n",
		 t, bar, cut, bar);
	assert_new_output(f, expected);
}

static void test_write_errors_are_counted(void **state)
{
	struct fixture *f = *state;
	/* Writes to a read-only stream fail. */
	FILE *read_only = fopen("/dev/null", "r");
	struct console_exporter_config cfg = {.trace_idle_ms = 1000};

	assert_non_null(read_only);
	f->exporter = console_exporter_new(read_only, &f->stats, &cfg);
	assert_non_null(f->exporter);
	export_interleaved_traces(f, true);
	f->exporter->shutdown(f->exporter, 0);
	assert_int_equal(f->stats.spans_export_failed, 8);
	f->exporter->destroy(f->exporter);
	f->exporter = NULL;
	fclose(read_only);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct console_exporter_config cfg;

	console_exporter_config_init(&cfg, f->out);
	assert_int_equal(cfg.trace_idle_ms, CONSOLE_TRACE_IDLE_MS_DEFAULT);
	assert_int_equal(cfg.max_held_spans, CONSOLE_MAX_HELD_SPANS_DEFAULT);
	assert_false(cfg.use_color); /* a memory stream is no terminal */

	f->exporter = console_exporter_new(f->out, &f->stats, NULL);
	assert_non_null(f->exporter);
	assert_string_equal(f->exporter->name, "console");
	export(f, with(A1, f->python));
	f->exporter->tick(f->exporter, MONO_T0);
	f->exporter->tick(f->exporter, MONO_T0 + 1000 * MS);
	assert_new_output(f, "");
	/* destroy without shutdown still prints what was held */
	f->exporter->destroy(f->exporter);
	f->exporter = NULL;
	char *text = new_output(f);

	assert_non_null(strstr(text, "trace " TRACE_A "  1 span  30.000 ms\n"));
	free(text);
}

static void test_many_traces_grow_the_table(void **state)
{
	struct fixture *f = *state;
	char ids[300][33];

	open_exporter(f, 0, false);
	for (int i = 0; i < 300; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%032x", i + 1);
		export(f, (struct span_spec){ids[i], 1, 0, SPAN_KIND_SERVER, "GET /", f->svc, 0,
					     1000, 200, SPAN_STATUS_UNSET});
		export(f, (struct span_spec){ids[i], 2, 1, SPAN_KIND_CLIENT, "GET /", f->svc, 0,
					     1000, 200, SPAN_STATUS_UNSET});
	}
	f->exporter->shutdown(f->exporter, 0);
	char *text = new_output(f);
	size_t headers = 0;

	for (const char *p = text; (p = strstr(p, "  2 spans  ")); p++)
		headers++;
	assert_int_equal(headers, 300);
	/* Printed in arrival order: the first trace first. */
	assert_true(strncmp(text, "trace 00000000000000000000000000000001  2 spans", 47) == 0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_prints_each_trace_as_a_tree_once_quiet, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_new_span_restarts_the_idle_time, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_shutdown_prints_what_is_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_held_spans_print_the_quietest_trace_early,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parent_cycles_still_print_every_span, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_terminal_controls_in_names_are_neutralised, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_long_durations_in_seconds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_color_output, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_errors_are_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_traces_grow_the_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
