// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_otlp_config_headers.c - OTEL_EXPORTER_OTLP_[TRACES_]HEADERS entries that
 * cannot be used are skipped with one line that never shows their value:
 * header values are credentials (Authorization, API keys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "export/otlp/otlp_config.h"

/* What otlp_config_from_env wrote to stderr, NUL-terminated (caller frees). */
static char *config_stderr(struct otlp_config *cfg)
{
	FILE *capture = tmpfile();
	assert_non_null(capture);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
	int err = otlp_config_from_env(cfg, NULL);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	assert_int_equal(err, 0);

	long len = ftell(capture);
	assert_true(len >= 0);
	char *text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	rewind(capture);
	assert_int_equal(fread(text, 1, (size_t)len, capture), (size_t)len);
	fclose(capture);
	return text;
}

static const char *header_value(const struct otlp_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_headers; i++)
		if (strcasecmp(cfg->headers[i].name, name) == 0)
			return cfg->headers[i].value;
	return NULL;
}

static int count_lines(const char *text)
{
	int n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void test_bad_header_entries_are_logged_without_value(void **state)
{
	(void)state;
	struct otlp_config cfg;
	/* 1: a value that decodes to a line break (header injection); 2: no '=';
	 * 3: a name that is not a token; 4: fine. */
	setenv("OTEL_EXPORTER_OTLP_HEADERS",
	       "Authorization=Bearer%0Ds3cr3t-one, Bearer s3cr3t-two,"
	       "bad name=s3cr3t-three,api-key=kept",
	       1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-token=%00s3cr3t-four", 1);
	char *log = config_stderr(&cfg);

	if (strstr(log, "s3cr3t"))
		fail_msg("a header value reached the log:\n%s", log);
	assert_int_equal(count_lines(log), 4);
	/* A valid name may be shown; the rest is named by its position. */
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_HEADERS: ignoring header Authorization"));
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_HEADERS: ignoring entry 2"));
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_HEADERS: ignoring entry 3"));
	assert_non_null(strstr(log, "OTEL_EXPORTER_OTLP_TRACES_HEADERS: ignoring header x-token"));
	assert_int_equal(cfg.n_headers, 1);
	assert_string_equal(header_value(&cfg, "api-key"), "kept");
	free(log);
	otlp_config_free(&cfg);
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
	unsetenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_header_entries_are_logged_without_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
