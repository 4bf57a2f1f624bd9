// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_options.c - the command line and the OTEL_* exporter selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kspan_abi.h"
#include "config/options.h"

static const char *const otel_vars[] = {
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(otel_vars) / sizeof(otel_vars[0]); i++)
		unsetenv(otel_vars[i]);
	return 0;
}

#define PARSE(o, ...)                                                                              \
	({                                                                                         \
		char *argv_[] = {"kspan", __VA_ARGS__, NULL};                                      \
		options_parse((o), (int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_);            \
	})

static void test_defaults_print_to_the_console(void **state)
{
	struct agent_options o;
	char *argv[] = {"kspan", NULL};

	(void)state;
	assert_int_equal(options_parse(&o, 1, argv), 0);
	assert_true(o.export_console);
	assert_false(o.export_otlp);
	assert_int_equal(o.capture_bytes, KSPAN_CAPTURE_DEFAULT);
	assert_int_equal(o.ringbuf_bytes, KSPAN_RINGBUF_DEFAULT_BYTES);
	assert_int_equal(o.idle_timeout_ms, OPTIONS_DEFAULT_IDLE_TIMEOUT_MS);
	assert_int_equal(o.max_connections, 65536);
	assert_int_equal(o.max_h2_streams, 65536);
	assert_int_equal(o.conn_forget_ms, 15 * 60 * 1000);
	assert_false(o.capture_query);
	assert_false(o.capture_command_args); /* they may hold secrets */
	assert_int_equal(o.propagation, KSPAN_PROPAGATE_HEADERS | KSPAN_PROPAGATE_TUPLE);
	assert_int_equal(o.pid_count, 0);
	assert_int_equal(o.port_count, 0);
}

static void test_an_endpoint_selects_otlp(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--otlp-endpoint", "http://c:4318"), 0);
	assert_true(o.export_otlp);
	assert_false(o.export_console);
	assert_string_equal(o.otlp_endpoint, "http://c:4318");

	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces", 1);
	assert_int_equal(PARSE(&o, "-v"), 0);
	assert_true(o.export_otlp);
	assert_false(o.export_console);
	assert_true(o.verbose);
	unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "", 1); /* empty counts as unset */
	assert_int_equal(PARSE(&o, "-v"), 0);
	assert_true(o.export_console);
}

/* OTEL_METRICS_EXPORTER; unset: otlp when an OTLP endpoint is configured. */
static void test_metrics_exporter_choice(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "-v"), 0);
	assert_true(o.span_metrics);
	assert_int_equal(o.metrics_cardinality_limit, 2000);
	assert_false(o.metrics_export_otlp);
	assert_false(o.metrics_export_console);
	assert_int_equal(PARSE(&o, "--otlp-endpoint", "http://c:4318"), 0);
	assert_true(o.metrics_export_otlp);
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4318/v1/metrics", 1);
	assert_int_equal(PARSE(&o, "--exporter", "console"), 0);
	assert_true(o.metrics_export_otlp);
	setenv("OTEL_METRICS_EXPORTER", "none", 1);
	assert_int_equal(PARSE(&o, "--otlp-endpoint", "http://c:4318"), 0);
	assert_false(o.metrics_export_otlp);
	setenv("OTEL_METRICS_EXPORTER", "prometheus", 1);
	assert_int_equal(PARSE(&o, "--otlp-endpoint", "http://c:4318"), 0);
	assert_false(o.metrics_export_otlp);
	assert_false(o.metrics_export_console);
	setenv("OTEL_METRICS_EXPORTER", "console,otlp", 1);
	assert_int_equal(PARSE(&o, "-v"), 0);
	assert_true(o.metrics_export_otlp);
	assert_true(o.metrics_export_console);
	setenv("OTEL_METRICS_EXPORTER", "statsd", 1);
	assert_int_equal(PARSE(&o, "-v"), -EINVAL);
	unsetenv("OTEL_METRICS_EXPORTER");
	assert_int_equal(PARSE(&o, "--no-span-metrics", "--metrics-cardinality-limit", "3"), 0);
	assert_false(o.span_metrics);
	assert_int_equal(o.metrics_cardinality_limit, 3);
	assert_int_equal(PARSE(&o, "--metrics-cardinality-limit", "1"), -EINVAL);
}

static void test_exporter_flag_beats_environment(void **state)
{
	struct agent_options o;

	(void)state;
	setenv("OTEL_TRACES_EXPORTER", "otlp", 1);
	assert_int_equal(PARSE(&o, "--exporter", "console"), 0);
	assert_true(o.export_console);
	assert_false(o.export_otlp);

	assert_int_equal(PARSE(&o, "--port", "80"), 0); /* the variable alone */
	assert_true(o.export_otlp);
	assert_false(o.export_console);

	setenv("OTEL_TRACES_EXPORTER", "none", 1);
	assert_int_equal(PARSE(&o, "--port", "80"), 0);
	assert_false(o.export_otlp);
	assert_false(o.export_console);

	assert_int_equal(PARSE(&o, "--exporter", "console, otlp"), 0);
	assert_true(o.export_otlp);
	assert_true(o.export_console);
}

static void test_unknown_exporter_is_an_error(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--exporter", "otlp,zipkin"), -EINVAL);
	setenv("OTEL_TRACES_EXPORTER", "jaeger", 1);
	assert_int_equal(PARSE(&o, "-v"), -EINVAL);
}

static void test_propagation_modes(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--propagation", "headers"), 0);
	assert_int_equal(o.propagation, KSPAN_PROPAGATE_HEADERS);
	assert_int_equal(PARSE(&o, "--propagation", "tuple"), 0);
	assert_int_equal(o.propagation, KSPAN_PROPAGATE_TUPLE);
	assert_int_equal(PARSE(&o, "--propagation", "all"), 0);
	assert_int_equal(o.propagation, KSPAN_PROPAGATE_HEADERS | KSPAN_PROPAGATE_TUPLE);
	assert_int_equal(PARSE(&o, "--propagation", "off"), 0);
	assert_int_equal(o.propagation, 0);
	assert_int_equal(PARSE(&o, "--propagation", "b3"), -EINVAL);
	assert_int_equal(PARSE(&o, "--propagation", "ALL"), -EINVAL);
}

static void test_filters_repeat(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "10", "--pid", "20", "--port", "8080", "--port", "443"),
			 0);
	assert_int_equal(o.pid_count, 2);
	assert_int_equal(o.pids[0], 10);
	assert_int_equal(o.pids[1], 20);
	assert_int_equal(o.port_count, 2);
	assert_int_equal(o.ports[0], 8080);
	assert_int_equal(o.ports[1], 443);
}

static void test_bad_numbers_are_rejected(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "0"), -EINVAL);
	assert_int_equal(PARSE(&o, "--pid", "12x"), -EINVAL);
	/* Above PID_MAX_LIMIT: no such process (and the bitmap stays small). */
	assert_int_equal(PARSE(&o, "--pid", "4194305"), -EINVAL);
	assert_int_equal(PARSE(&o, "--pid", "4194304"), 0);
	assert_int_equal(o.pids[0], 4194304);
	assert_int_equal(PARSE(&o, "--port", "65536"), -EINVAL);
	assert_int_equal(PARSE(&o, "--port", "-1"), -EINVAL);
	assert_int_equal(PARSE(&o, "--capture-bytes", "4097"), -EINVAL);
	assert_int_equal(PARSE(&o, "--capture-bytes", "63"), -EINVAL);
	assert_int_equal(PARSE(&o, "--ringbuf-bytes", "12288"), -EINVAL); /* not a power of two */
	assert_int_equal(PARSE(&o, "--idle-timeout-ms", ""), -EINVAL);
	assert_int_equal(PARSE(&o, "--max-connections", "0"), -EINVAL);
	assert_int_equal(PARSE(&o, "--max-h2-streams", "0"), -EINVAL);
	assert_int_equal(PARSE(&o, "--conn-forget-ms", "99"), -EINVAL);
	assert_int_equal(PARSE(&o, "stray"), -EINVAL);
	assert_int_equal(PARSE(&o, "--no-such-option"), -EINVAL);

	assert_int_equal(PARSE(&o, "--capture-bytes", "4096", "--ringbuf-bytes", "4096",
			       "--idle-timeout-ms", "250", "--capture-query",
			       "--capture-command-args"),
			 0);
	assert_int_equal(o.capture_bytes, 4096);
	assert_int_equal(o.ringbuf_bytes, 4096);
	assert_int_equal(o.idle_timeout_ms, 250);
	assert_true(o.capture_query);
	assert_true(o.capture_command_args);

	assert_int_equal(PARSE(&o, "--max-connections", "1000000", "--max-h2-streams", "8",
			       "--conn-forget-ms", "3000"),
			 0);
	assert_int_equal(o.max_connections, 1000000);
	assert_int_equal(o.max_h2_streams, 8);
	assert_int_equal(o.conn_forget_ms, 3000);
}

static void test_backend_is_chosen_by_name(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "-v"), 0);
	assert_int_equal(o.backend, PROBE_BACKEND_AUTO);
	assert_int_equal(PARSE(&o, "--backend", "fentry"), 0);
	assert_int_equal(o.backend, PROBE_BACKEND_FENTRY);
	assert_int_equal(PARSE(&o, "--backend", "kprobe"), 0);
	assert_int_equal(o.backend, PROBE_BACKEND_KPROBE);
	assert_int_equal(PARSE(&o, "--backend", "tracepoint"), 0);
	assert_int_equal(o.backend, PROBE_BACKEND_TRACEPOINT);
	assert_int_equal(PARSE(&o, "--backend", "socket-tracepoint"), 0);
	assert_int_equal(o.backend, PROBE_BACKEND_SOCKET_TRACEPOINT);
	assert_string_equal(probe_backend_name(PROBE_BACKEND_SOCKET_TRACEPOINT),
			    "socket-tracepoint");
	assert_int_equal(PARSE(&o, "--backend", "auto"), 0);
	assert_int_equal(o.backend, PROBE_BACKEND_AUTO);
	assert_int_equal(PARSE(&o, "--backend", "uprobe"), -EINVAL);
	assert_int_equal(PARSE(&o, "--backend", ""), -EINVAL);
	assert_string_equal(probe_backend_name(PROBE_BACKEND_KPROBE), "kprobe");
}

static void test_help_asks_to_exit_0(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--help"), 1);
}

/* Every option of the table that getopt_long reads is in --help, with its
 * argument's name, its short form and, where the table says so, its default. */
static void test_help_names_every_option(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	char want[96];

	(void)state;
	assert_non_null(out);
	options_usage(out);
	assert_int_equal(fclose(out), 0);
	assert_true(options_table_len > 10);
	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_spec *e = &options_table[i];

		snprintf(want, sizeof(want), "--%s%s%s", e->name, e->arg ? " " : "",
			 e->arg ? e->arg : "");
		assert_non_null(strstr(text, want));
		assert_non_null(e->help);
		if (e->key < 256) {
			snprintf(want, sizeof(want), "-%c, --%s", e->key, e->name);
			assert_non_null(strstr(text, want));
		}
	}
	snprintf(want, sizeof(want), "(default %u)", KSPAN_CAPTURE_DEFAULT);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "(default " METRICS_DEFAULT_ADDR ")"));
	free(text);
}

/* Every option in the table parses: a long name getopt_long does not know
 * would print usage and fail. */
static void test_every_option_in_the_table_parses(void **state)
{
	struct agent_options o;

	(void)state;
	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_spec *e = &options_table[i];
		char name[64];
		char *argv[] = {"kspan", name, NULL, NULL};

		if (e->key == 'h')
			continue;
		snprintf(name, sizeof(name), "--%s", e->name);
		if (e->arg)
			argv[2] = strcmp(e->name, "backend") == 0	  ? "auto"
				  : strcmp(e->name, "exporter") == 0	  ? "none"
				  : strcmp(e->name, "propagation") == 0	  ? "all"
				  : strcmp(e->name, "ringbuf-bytes") == 0 ? "65536"
									  : "4096";
		assert_int_equal(options_parse(&o, e->arg ? 3 : 2, argv), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_defaults_print_to_the_console, clear_env),
	    cmocka_unit_test_setup(test_an_endpoint_selects_otlp, clear_env),
	    cmocka_unit_test_setup(test_exporter_flag_beats_environment, clear_env),
	    cmocka_unit_test_setup(test_metrics_exporter_choice, clear_env),
	    cmocka_unit_test_setup(test_unknown_exporter_is_an_error, clear_env),
	    cmocka_unit_test_setup(test_propagation_modes, clear_env),
	    cmocka_unit_test_setup(test_filters_repeat, clear_env),
	    cmocka_unit_test_setup(test_bad_numbers_are_rejected, clear_env),
	    cmocka_unit_test_setup(test_backend_is_chosen_by_name, clear_env),
	    cmocka_unit_test_setup(test_help_asks_to_exit_0, clear_env),
	    cmocka_unit_test_setup(test_help_names_every_option, clear_env),
	    cmocka_unit_test_setup(test_every_option_in_the_table_parses, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
