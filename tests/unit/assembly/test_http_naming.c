// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http_naming.c - span names and URL attributes (http_naming.h): path
 * templates that keep span names low-cardinality, query redaction (HTTP
 * semantic conventions, url.query) and request-target splitting (RFC 9112
 * section 3.2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assembly/http_naming.h"
#include "lib/secret_redact.h"

#define OUT_MAX 256
#define CANARY	'#'

static const char *template_of(const char *path, char *out, size_t out_size)
{
	http_path_template(path, strlen(path), out, out_size);
	return out;
}

static void assert_template(const char *path, const char *expected)
{
	char out[OUT_MAX];

	template_of(path, out, sizeof(out));
	if (strcmp(out, expected) != 0)
		fail_msg("template of \"%s\" is \"%s\", expected \"%s\"", path, out, expected);
}

static void assert_redacted(const char *query, const char *expected)
{
	char out[OUT_MAX];

	redact_url_query(query, strlen(query), out, sizeof(out));
	if (strcmp(out, expected) != 0)
		fail_msg("query \"%s\" redacted to \"%s\", expected \"%s\"", query, out, expected);
}

/* --- http_path_template ------------------------------------------------------ */

static void test_template_numbers(void **state)
{
	(void)state;
	assert_template("/users/42", "/users/{id}");
	assert_template("/users/42/", "/users/{id}/");
	assert_template("/v1/orders/123/items/7", "/v1/orders/{id}/items/{id}");
	assert_template("/0", "/{id}");
	assert_template("/users/-1", "/users/-1");
}

static void test_template_uuids(void **state)
{
	(void)state;
	assert_template("/carts/550e8400-e29b-41d4-a716-446655440000", "/carts/{id}");
	assert_template("/carts/550E8400-E29B-41D4-A716-446655440000/items", "/carts/{id}/items");
	/* Right length, not hex: a word. */
	assert_template("/x/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
			"/x/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz");
}

static void test_template_long_hex(void **state)
{
	(void)state;
	assert_template("/objects/507f1f77bcf86cd799439011", "/objects/{id}");
	assert_template("/blobs/deadbeefcafebabe", "/blobs/{id}");
	assert_template("/sha/da39a3ee5e6b4b0d3255bfef95601890afd80709/raw", "/sha/{id}/raw");
	/* 15 hex letters: short enough to be a word. */
	assert_template("/tag/abcdefabcdefabc", "/tag/abcdefabcdefabc");
}

static void test_template_long_mixed_tokens(void **state)
{
	(void)state;
	/* 19 characters, 5 digits: a session id. */
	assert_template("/s/aB3dE5gH7jK9mN1pQ", "/s/{id}");
	assert_template("/k/a1b2c3d4e5f6g7h8", "/k/{id}");
	/* At least a quarter digits: 16 characters with 4 digits is an id, with
	 * 3 a word. */
	assert_template("/k/ghijklmn1234opqr", "/k/{id}");
	assert_template("/k/ghijklmn123opqrs", "/k/ghijklmn123opqrs");
	/* Long but mostly letters: a route word. */
	assert_template("/docs/internationalization", "/docs/internationalization");
	assert_template("/files/release-notes-2024", "/files/release-notes-2024");
}

static void test_template_words_kept(void **state)
{
	(void)state;
	assert_template("/api/users/me", "/api/users/me");
	assert_template("/v2/health", "/v2/health");
	assert_template("/index.html", "/index.html");
	assert_template("//double", "//double");
	assert_template("*", "*");
}

static void test_template_empty_path(void **state)
{
	char out[8];

	(void)state;
	assert_template("", "/");
	assert_template("/", "/");
	memset(out, CANARY, sizeof(out));
	http_path_template(NULL, 0, out, 2);
	assert_string_equal(out, "/");
	memset(out, CANARY, sizeof(out));
	http_path_template("", 0, out, 1);
	assert_string_equal(out, "");
	assert_int_equal(out[1], CANARY);
}

static void test_template_truncated_to_out_size(void **state)
{
	char out[32];

	(void)state;
	memset(out, CANARY, sizeof(out));
	template_of("/users/profile", out, 8);
	assert_string_equal(out, "/users/");
	assert_int_equal(out[8], CANARY);

	memset(out, CANARY, sizeof(out));
	template_of("/users/42", out, 10);
	assert_int_equal(strlen(out), 9);
	assert_memory_equal(out, "/users/{", 8);
	assert_int_equal(out[10], CANARY);

	memset(out, CANARY, sizeof(out));
	template_of("/users/42", out, 1);
	assert_string_equal(out, "");
	assert_int_equal(out[1], CANARY);

	memset(out, CANARY, sizeof(out));
	http_path_template("/users", 6, out, 0);
	assert_int_equal(out[0], CANARY);

	/* Exactly fits. */
	template_of("/users/42", out, 12);
	assert_string_equal(out, "/users/{id}");
}

/* Only `len` bytes are read: the target is not NUL-terminated in the head. */
static void test_template_respects_len(void **state)
{
	const char *line = "/users/42 HTTP/1.1";
	char out[OUT_MAX];

	(void)state;
	http_path_template(line, 9, out, sizeof(out));
	assert_string_equal(out, "/users/{id}");
	http_path_template(line, 7, out, sizeof(out));
	assert_string_equal(out, "/users/");
}

/* --- http_query_redact --------------------------------------------------------- */

static void test_query_redact(void **state)
{
	(void)state;
	assert_redacted("a=1&b=2", "a=REDACTED&b=REDACTED");
	assert_redacted("token=s3cr3t", "token=REDACTED");
	/* Valueless parameters are redacted whole: "?s3cr3t" may be a bare token. */
	assert_redacted("flag&x=1", "REDACTED&x=REDACTED");
	assert_redacted("s3cr3t", "REDACTED");
	assert_redacted("a=1&b", "a=REDACTED&REDACTED");
	assert_redacted("a=", "a=REDACTED");
	assert_redacted("a=b=c&d=e", "a=REDACTED&d=REDACTED");
	assert_redacted("a=1&&b=2", "a=REDACTED&&b=REDACTED");
	assert_redacted("=v", "=REDACTED");
	assert_redacted("", "");
}

static void test_query_redact_truncated_and_bounded(void **state)
{
	const char *target = "a=1&b=2 HTTP/1.1";
	char out[32];

	(void)state;
	redact_url_query(target, 3, out, sizeof(out));
	assert_string_equal(out, "a=REDACTED");

	memset(out, CANARY, sizeof(out));
	redact_url_query(target, 7, out, 12);
	assert_string_equal(out, "a=REDACTED&");
	assert_int_equal(out[12], CANARY);

	memset(out, CANARY, sizeof(out));
	redact_url_query(target, 7, out, 5);
	assert_string_equal(out, "a=RE");
	assert_int_equal(out[5], CANARY);

	memset(out, CANARY, sizeof(out));
	redact_url_query(target, 7, out, 0);
	assert_int_equal(out[0], CANARY);
}

/* --- http_split_target ----------------------------------------------------------- */

struct split {
	const char *path;
	size_t path_len;
	const char *query;
	size_t query_len;
};

static struct split split_of(const char *target, size_t len)
{
	struct split s;

	/* Poison the outputs: every one must be written. */
	s.path = s.query = (const char *)&s;
	s.path_len = s.query_len = 999;
	http_split_target(target, len, &s.path, &s.path_len, &s.query, &s.query_len);
	return s;
}

static void assert_split(const char *target, const char *path, const char *query)
{
	struct split s = split_of(target, strlen(target));

	if (s.path_len != strlen(path) || memcmp(s.path, path, s.path_len) != 0)
		fail_msg("path of \"%s\" is \"%.*s\", expected \"%s\"", target, (int)s.path_len,
			 s.path, path);
	if (!query) {
		if (s.query || s.query_len)
			fail_msg("\"%s\" has no query, got \"%.*s\"", target, (int)s.query_len,
				 s.query ? s.query : "");
		return;
	}
	if (!s.query || s.query_len != strlen(query) || memcmp(s.query, query, s.query_len) != 0)
		fail_msg("query of \"%s\" is \"%.*s\", expected \"%s\"", target, (int)s.query_len,
			 s.query ? s.query : "(none)", query);
}

static void test_split_origin_form(void **state)
{
	(void)state;
	assert_split("/users/42?a=1&b=2", "/users/42", "a=1&b=2");
	assert_split("/?q", "/", "q");
	assert_split("/a?b?c", "/a", "b?c");
	assert_split("*", "*", NULL);
}

static void test_split_absolute_form(void **state)
{
	(void)state;
	assert_split("http://h:1/p?q", "/p", "q");
	assert_split("http://shop.example/cart/7", "/cart/7", NULL);
	assert_split("https://[::1]:8443/a/b?x=1", "/a/b", "x=1");
	assert_split("http://h?x=1", "", "x=1");
	assert_split("http://h", "", NULL);
	/* RFC 9110 section 4.2.3: the scheme is case-insensitive. */
	assert_split("HTTP://h:1/p?q", "/p", "q");
}

static void test_split_no_query(void **state)
{
	(void)state;
	assert_split("/users/42", "/users/42", NULL);
	assert_split("/", "/", NULL);
	assert_split("", "", NULL);
}

static void test_split_empty_query(void **state)
{
	struct split s;

	(void)state;
	assert_split("/users?", "/users", "");
	s = split_of("/users?", 7);
	assert_non_null(s.query);
	assert_int_equal(s.query_len, 0);
}

/* The target sits inside the request line: nothing past `len` counts. */
static void test_split_respects_len(void **state)
{
	const char *line = "/a?b=1 HTTP/1.1\r\n";
	struct split s;

	(void)state;
	s = split_of(line, 6);
	assert_int_equal(s.path_len, 2);
	assert_memory_equal(s.path, "/a", 2);
	assert_int_equal(s.query_len, 3);
	assert_memory_equal(s.query, "b=1", 3);

	s = split_of(line, 2);
	assert_int_equal(s.path_len, 2);
	assert_null(s.query);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template_numbers),
	    cmocka_unit_test(test_template_uuids),
	    cmocka_unit_test(test_template_long_hex),
	    cmocka_unit_test(test_template_long_mixed_tokens),
	    cmocka_unit_test(test_template_words_kept),
	    cmocka_unit_test(test_template_empty_path),
	    cmocka_unit_test(test_template_truncated_to_out_size),
	    cmocka_unit_test(test_template_respects_len),
	    cmocka_unit_test(test_query_redact),
	    cmocka_unit_test(test_query_redact_truncated_and_bounded),
	    cmocka_unit_test(test_split_origin_form),
	    cmocka_unit_test(test_split_absolute_form),
	    cmocka_unit_test(test_split_no_query),
	    cmocka_unit_test(test_split_empty_query),
	    cmocka_unit_test(test_split_respects_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
