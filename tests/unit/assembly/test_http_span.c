// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http_span.c - the HTTP span layer both assemblers use: methods the
 * conventions do not list, requests without a path or with an empty one,
 * the scheme, url.full, and the status rule with and without status_decides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "assembly/http_span.h"

#define TEXT(s) ((struct http_text){.ptr = (s), .len = sizeof(s) - 1})

static const struct kspan_conn_tuple client_tuple = {
    .family = KSPAN_AF_INET,
    .local_addr = {127, 0, 0, 1},
    .remote_addr = {127, 0, 0, 1},
    .local_port = 54321,
    .remote_port = 8080,
};

static struct span *request_span(enum span_kind kind, const struct http_request_view *req)
{
	struct span *s = http_span_new(kind, 1, NULL, 1000, 0);

	assert_non_null(s);
	http_span_add_request(s, req, &client_tuple, NULL, false);
	return s;
}

static const char *str_attr(const struct span *s, const char *key)
{
	const struct attribute *a = attribute_list_find(&s->attrs, key);

	return a && a->type == ATTR_STRING ? a->str : NULL;
}

/* "If the HTTP request method is not known to instrumentation": _OTHER, the
 * original kept, {method} "HTTP"; methods are case-sensitive. */
static void test_unknown_method(void **state)
{
	static const char *const methods[] = {"PROPFIND", "get"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct http_request_view req = {
		    .method = {.ptr = methods[i], .len = strlen(methods[i])},
		    .target = TEXT("/a/1"),
		    .protocol_version = "1.1",
		};
		struct span *s = request_span(SPAN_KIND_SERVER, &req);

		assert_string_equal(str_attr(s, "http.request.method"), "_OTHER");
		assert_string_equal(str_attr(s, "http.request.method_original"), methods[i]);
		assert_string_equal(s->name, "HTTP /a/{id}");
		span_unref(s);
	}
	assert_true(http_method_is_known("PATCH", 5));
	assert_false(http_method_is_known("PATC", 4));
}

/* An empty path is "/"; a request naming no path has no url.path, no
 * url.full, and the name "{method}"; the scheme defaults to http. */
static void test_paths_and_scheme(void **state)
{
	struct http_request_view empty = {
	    .method = TEXT("GET"),
	    .target = TEXT("?q=1"),
	    .authority = TEXT("h:81"),
	    .protocol_version = "2",
	};
	struct http_request_view none = {
	    .method = TEXT("CONNECT"),
	    .scheme = TEXT("https"),
	    .protocol_version = "2",
	};
	struct span *s;

	(void)state;
	s = request_span(SPAN_KIND_CLIENT, &empty);
	assert_string_equal(s->name, "GET /");
	assert_string_equal(str_attr(s, "url.path"), "/");
	assert_string_equal(str_attr(s, "url.scheme"), "http");
	assert_string_equal(str_attr(s, "url.full"), "http://h:81/?q=REDACTED");
	assert_null(str_attr(s, "http.request.method_original"));
	span_unref(s);

	s = request_span(SPAN_KIND_CLIENT, &none);
	assert_string_equal(s->name, "CONNECT");
	assert_null(str_attr(s, "url.path"));
	assert_null(str_attr(s, "url.full"));
	assert_string_equal(str_attr(s, "url.scheme"), "https");
	assert_string_equal(str_attr(s, "server.address"), "127.0.0.1");
	span_unref(s);
}

/* SERVER: 5xx is an error; CLIENT: 4xx and 5xx; without status_decides the
 * code is kept and the status left alone. */
static void test_status_rule(void **state)
{
	static const struct {
		enum span_kind kind;
		int status;
		bool decides, error;
	} cases[] = {
	    {SPAN_KIND_SERVER, 404, true, false}, {SPAN_KIND_SERVER, 500, true, true},
	    {SPAN_KIND_CLIENT, 404, true, true},  {SPAN_KIND_CLIENT, 503, false, false},
	    {SPAN_KIND_CLIENT, 0, true, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct span *s = http_span_new(cases[i].kind, 1, NULL, 1000, 0);
		const struct attribute *code;

		http_span_add_response_status(s, cases[i].status, cases[i].decides);
		code = attribute_list_find(&s->attrs, "http.response.status_code");
		if (cases[i].status)
			assert_int_equal(code->i, cases[i].status);
		else
			assert_null(code);
		assert_int_equal(s->status_code,
				 cases[i].error ? SPAN_STATUS_ERROR : SPAN_STATUS_UNSET);
		assert_int_equal(str_attr(s, "error.type") != NULL, cases[i].error);
		span_unref(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_method),
	    cmocka_unit_test(test_paths_and_scheme),
	    cmocka_unit_test(test_status_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
