// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_secret_redact.c - secrets in URLs and command lines replaced by
 * REDACTED (secret_redact.h): URL user information and query values (the
 * semantic conventions' url.full and url.query rules), secret flags and their
 * values, NAME=value pairs, header arguments, form data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/secret_redact.h"

#define ARGS(...)                                                                                  \
	(const char *const[])                                                                      \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}

static void assert_query(const char *query, const char *want)
{
	char out[256];

	redact_url_query(query, strlen(query), out, sizeof(out));
	if (strcmp(out, want))
		fail_msg("query \"%s\" redacted to \"%s\", expected \"%s\"", query, out, want);
}

/* Each argument of argv redacted in turn; want[i] is the expected text. */
static void assert_args(const char *const *argv, const char *const *want, size_t n)
{
	enum redact_next next = REDACT_NEXT_KEEP;
	char out[256];

	for (size_t i = 0; i < n; i++) {
		size_t len = redact_command_arg(argv[i], &next, out, sizeof(out));
		assert_int_equal(len, strlen(out));
		if (strcmp(out, want[i]))
			fail_msg("argument %zu \"%s\" redacted to \"%s\", expected \"%s\"", i,
				 argv[i], out, want[i]);
		if (strstr(out, "s3cr3t"))
			fail_msg("argument %zu \"%s\" kept its secret: \"%s\"", i, argv[i], out);
	}
}

static void test_query_values_and_valueless_parameters(void **state)
{
	(void)state;
	assert_query("a=1&b=2", "a=REDACTED&b=REDACTED");
	/* A parameter without '=' may be a bare token: redacted whole. */
	assert_query("a&b=1", "REDACTED&b=REDACTED");
	assert_query("s3cr3t", "REDACTED");
	assert_query("a=1&&b=2", "a=REDACTED&&b=REDACTED");
	assert_query("=v", "=REDACTED");
	assert_query("a=b=c", "a=REDACTED");
	assert_query("", "");
}

static void test_output_is_cut_not_leaked(void **state)
{
	(void)state;
	enum redact_next next = REDACT_NEXT_KEEP;
	char out[12];

	assert_int_equal(redact_url_query("token=s3cr3t", 12, out, sizeof(out)), 11);
	assert_string_equal(out, "token=REDAC");
	assert_int_equal(redact_command_arg("--password=s3cr3t", &next, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(redact_url_query("a=1", 3, NULL, 0), 0);
}

static void test_urls(void **state)
{
	(void)state;
	const char *const *argv = ARGS(
	    "curl", "http://svc/x?token=s3cr3t&debug", "https://bob:s3cr3t@db.example:5432/app",
	    "https://s3cr3t@github.com/org/repo.git", "http://h/p#access_token=s3cr3t&x=1",
	    "see http://h/a?k=s3cr3t and ftp://u:s3cr3t@f/", "http://plain.example/path/only");
	const char *const *want = ARGS("curl", "http://svc/x?token=REDACTED&REDACTED",
				       "https://REDACTED:REDACTED@db.example:5432/app",
				       "https://REDACTED@github.com/org/repo.git",
				       "http://h/p#access_token=REDACTED&x=REDACTED",
				       "see http://h/a?k=REDACTED and ftp://REDACTED:REDACTED@f/",
				       "http://plain.example/path/only");
	assert_args(argv, want, 7);
}

static void test_secret_flags(void **state)
{
	(void)state;
	const char *const *argv = ARGS("app", "--password=s3cr3t", "--db-password", "s3cr3t",
				       "--api-key", "s3cr3t", "--token", "s3cr3t", "-p", "s3cr3t",
				       "-ps3cr3t", "-Ddb.password=s3cr3t", "--client-secret=s3cr3t",
				       "--port", "8080", "--url=http://u:s3cr3t@h/?q=s3cr3t", "-v");
	const char *const *want =
	    ARGS("app", "--password=REDACTED", "--db-password", "REDACTED", "--api-key", "REDACTED",
		 "--token", "REDACTED", "-p", "REDACTED", "-pREDACTED", "-Ddb.password=REDACTED",
		 "--client-secret=REDACTED", "--port", "8080",
		 "--url=http://REDACTED:REDACTED@h/?q=REDACTED", "-v");
	assert_args(argv, want, 17);
}

static void test_user_pass_env_headers_forms(void **state)
{
	(void)state;
	const char *const *argv =
	    ARGS("curl", "-u", "bob:s3cr3t", "--user=bob:s3cr3t", "-u", "alice", "-H",
		 "Authorization: Bearer s3cr3t", "-H", "Accept: text/plain", "-d",
		 "grant_type=client&client_secret=s3cr3t", "DB_PASSWORD=s3cr3t", "MODE=fast",
		 "X-Api-Key:s3cr3t", "redis:6379");
	const char *const *want =
	    ARGS("curl", "-u", "bob:REDACTED", "--user=bob:REDACTED", "-u", "alice", "-H",
		 "Authorization: REDACTED", "-H", "Accept: text/plain", "-d",
		 "grant_type=REDACTED&client_secret=REDACTED", "DB_PASSWORD=REDACTED", "MODE=fast",
		 "X-Api-Key:REDACTED", "redis:6379");
	assert_args(argv, want, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_values_and_valueless_parameters),
	    cmocka_unit_test(test_output_is_cut_not_leaked),
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_secret_flags),
	    cmocka_unit_test(test_user_pass_env_headers_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
