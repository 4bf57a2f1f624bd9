// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_w3c_tracestate.c - the tracestate rules the kernel and the agent
 * share (w3c_tracestate.h): what is forwarded for the tracestate fields of a
 * request, and the one-pass scan of an HTTP/1.x head for its traceparent and
 * tracestate lines.
 *
 * W3C Trace Context, section 3.3 (tracestate: list, list-members, key, value,
 * limits, several fields), 3.2 (one traceparent field) and 4.3 (processing:
 * invalid entries are not propagated). Each test names its rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "w3c_tracestate.h"

/* --- the list, fed field by field ------------------------------------------- */

/* What kspan forwards for these tracestate field values (NULL-terminated):
 * the value, or "" when nothing. */
static const char *forwarded(const char *const *fields)
{
	static struct w3c_tracestate t;
	static char out[KSPAN_TRACESTATE_MAX + 1];
	__u32 n;

	memset(&t, 0, sizeof(t));
	for (; *fields; fields++) {
		w3c_tracestate_field_begin(&t);
		for (const char *c = *fields; *c; c++)
			w3c_tracestate_field_char(&t, (__u8)*c);
		w3c_tracestate_field_end(&t);
	}
	n = w3c_tracestate_result(&t);
	assert_true(n <= KSPAN_TRACESTATE_MAX);
	memcpy(out, t.out, n);
	out[n] = 0;
	return out;
}

#define FWD(...) forwarded((const char *const[]){__VA_ARGS__, NULL})

static char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = 0;
	return buf;
}

static void test_one_list(void **state)
{
	(void)state;
	/* 3.3.1.1 list: members separated by commas. */
	assert_string_equal(FWD("rojo=00f067aa0ba902b7"), "rojo=00f067aa0ba902b7");
	assert_string_equal(FWD("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
			    "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}

static void test_no_field_or_empty_fields(void **state)
{
	(void)state;
	/* 3.3.1: vendors must accept empty tracestate headers; nothing to
	 * forward (and empty headers should not be sent). */
	assert_string_equal(forwarded((const char *const[]){NULL}), "");
	assert_string_equal(FWD(""), "");
	assert_string_equal(FWD(" \t "), "");
	assert_string_equal(FWD(",", " , ,\t,"), "");
}

static void test_several_fields_combine_in_order(void **state)
{
	(void)state;
	/* 3.3.1: several fields are one list, in order (RFC 9110 5.3). */
	assert_string_equal(FWD("foo=1,bar=2", "rojo=1,congo=2", "baz=3"),
			    "foo=1,bar=2,rojo=1,congo=2,baz=3");
	assert_string_equal(FWD("foo=1", ""), "foo=1");
	assert_string_equal(FWD("", "foo=1"), "foo=1");
	/* A field does not continue the previous one's member. */
	assert_string_equal(FWD("foo=1", "2"), "");
}

static void test_ows_and_empty_members_are_dropped(void **state)
{
	(void)state;
	/* 3.3.1.1: OWS around list-members; empty members allowed. */
	assert_string_equal(FWD("foo=1 \t , \t bar=2, \t baz=3"), "foo=1,bar=2,baz=3");
	assert_string_equal(FWD("foo=1\t \t,\t \tbar=2,\t \tbaz=3"), "foo=1,bar=2,baz=3");
	assert_string_equal(FWD(" foo=1"), "foo=1");
	assert_string_equal(FWD("\tfoo=1"), "foo=1");
	assert_string_equal(FWD("foo=1 "), "foo=1");
	assert_string_equal(FWD("foo=1\t"), "foo=1");
	assert_string_equal(FWD("\t foo=1 \t"), "foo=1");
	assert_string_equal(FWD(",foo=1,,,bar=2,"), "foo=1,bar=2");
}

static void test_value_spaces(void **state)
{
	(void)state;
	/* 3.3.1.3.2: leading spaces are part of the value, trailing ones are
	 * OWS, a space inside is a chr; a tab is never part of a value. */
	assert_string_equal(FWD("foo= 1"), "foo= 1");
	assert_string_equal(FWD("foo=a b  c  ,bar=2"), "foo=a b  c,bar=2");
	assert_string_equal(FWD("foo=a\tb"), "");
	assert_string_equal(FWD("foo=\t1"), "");
	assert_string_equal(FWD("foo=   "), "");
	assert_string_equal(FWD("foo=1 \t x"), "");
}

static void test_key_grammar(void **state)
{
	(void)state;
	/* 3.3.1.3.1: key = (lcalpha / DIGIT) 0*255 keychar. */
	assert_string_equal(FWD("1foo=1"), "1foo=1");
	assert_string_equal(FWD("a_-*/@9=1"), "a_-*/@9=1");
	assert_string_equal(FWD("foo@=1,bar=2"), "foo@=1,bar=2");
	assert_string_equal(FWD("foo@@bar=1,bar=2"), "foo@@bar=1,bar=2");
	assert_string_equal(FWD("foo@bar@baz=1,bar=2"), "foo@bar@baz=1,bar=2");
	assert_string_equal(FWD("tenant@system=1"), "tenant@system=1");
	/* Invalid keys: the whole list is dropped. */
	assert_string_equal(FWD("@foo=1,bar=2"), "");
	assert_string_equal(FWD("_foo=1"), "");
	assert_string_equal(FWD("foo =1"), "");
	assert_string_equal(FWD("FOO=1"), "");
	assert_string_equal(FWD("fOo=1"), "");
	assert_string_equal(FWD("foo.bar=1"), "");
	assert_string_equal(FWD("bar=2,foo:x=1"), "");
	assert_string_equal(FWD("=1"), "");
	/* A member without "=". */
	assert_string_equal(FWD("foo"), "");
	assert_string_equal(FWD("foo,bar=2"), "");
}

static void test_key_length(void **state)
{
	char key[300], list[600];

	(void)state;
	/* 3.3.1.3.1: at most 256 characters. */
	snprintf(list, sizeof(list), "%s=1", repeat(key, 'z', 256));
	assert_string_equal(FWD("foo=1", list), strcat(strcpy((char[600]){0}, "foo=1,"), list));
	snprintf(list, sizeof(list), "%s=1", repeat(key, 'z', 257));
	assert_string_equal(FWD("foo=1", list), "");
	/* The 2021 multi-tenant limits (241 @ 14) are not kept any more. */
	snprintf(list, sizeof(list), "%s@v=1", repeat(key, 't', 242));
	assert_string_equal(FWD(list), list);
	assert_string_equal(FWD("t@vvvvvvvvvvvvvvv=1"), "t@vvvvvvvvvvvvvvv=1");
	snprintf(list, sizeof(list), "%s@%s=1", repeat(key, 't', 241), "vvvvvvvvvvvvvv");
	assert_string_equal(FWD(list), list);
}

static void test_value_grammar(void **state)
{
	char value[200], list[300];
	size_t n = 0;

	(void)state;
	/* 3.3.1.3.2: chr = %x20 / nblk-chr, nblk-chr = %x21-2B / %x2D-3C /
	 * %x3E-7E, the last one a nblk-chr. */
	for (int c = 0x20; c <= 0x7e; c++)
		if (c != ',' && c != '=')
			value[n++] = (char)c;
	value[n] = 0;
	snprintf(list, sizeof(list), "abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/=%s",
		 value);
	assert_string_equal(FWD(list), list);
	assert_string_equal(FWD("foo=bar=baz"), "");
	assert_string_equal(FWD("foo=,bar=3"), "");
	assert_string_equal(FWD("foo="), "");
	assert_string_equal(FWD("foo=\x7f"), "");
	assert_string_equal(FWD("foo=\x01"), "");
	assert_string_equal(FWD("foo=caf\xc3\xa9"), "");
	assert_string_equal(FWD("foo=a\rb"), "");
}

static void test_value_length(void **state)
{
	char value[300], list[400];

	(void)state;
	/* 3.3.1.3.2: at most 256 characters; trailing OWS is not counted. */
	snprintf(list, sizeof(list), "foo=%s", repeat(value, 'v', 256));
	assert_string_equal(FWD(list), list);
	snprintf(list, sizeof(list), "foo=%s   ", repeat(value, 'v', 256));
	assert_int_equal(strlen(FWD(list)), 4 + 256);
	snprintf(list, sizeof(list), "foo=%s", repeat(value, 'v', 257));
	assert_string_equal(FWD(list), "");
}

/* "bar01=01,...": n members over fields of 10. */
static const char *members(int n)
{
	static char fields[8][128];
	static const char *list[9];
	int f = 0;

	memset(fields, 0, sizeof(fields));
	for (int i = 1; i <= n; i++) {
		char m[16];
		snprintf(m, sizeof(m), "%sbar%02d=%02d", (i - 1) % 10 ? "," : "", i, i);
		strcat(fields[(i - 1) / 10], m);
		f = (i - 1) / 10 + 1;
	}
	for (int i = 0; i < f; i++)
		list[i] = fields[i];
	list[f] = NULL;
	return forwarded(list);
}

static void test_member_count(void **state)
{
	(void)state;
	/* 3.3.1.1: at most 32 list-members, over all fields. */
	assert_int_equal(strlen(members(32)), 32 * 9 - 1);
	assert_string_equal(members(33), "");
	/* Empty members are not counted. */
	assert_string_equal(FWD(",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,a=1"), "a=1");
}

static void test_duplicate_keys_are_forwarded(void **state)
{
	(void)state;
	/* 3.3.1.3: uniqueness is the sender's duty; a receiver may keep them. */
	assert_string_equal(FWD("foo=1,foo=1"), "foo=1,foo=1");
	assert_string_equal(FWD("foo=1", "foo=2"), "foo=1,foo=2");
}

/* "k=" and n times v, in buf (600 bytes). */
static char *member_of(char *buf, char k, char v, size_t n)
{
	buf[0] = k;
	buf[1] = '=';
	repeat(buf + 2, v, n);
	return buf;
}

static void test_long_lists_lose_whole_members_from_the_end(void **state)
{
	char a[600], b[600], c[600], list[1200];

	(void)state;
	/* 3.3.1.5: truncation removes whole entries, from the end. */
	member_of(a, 'a', 'x', 200);
	member_of(b, 'b', 'y', 200);
	member_of(c, 'c', 'z', 200);
	strcat(strcat(strcpy(list, a), ","), b);
	assert_string_equal(FWD(a, b, c), list);
	assert_string_equal(FWD(a, b, c, "d=1"), list);
	/* Exactly KSPAN_TRACESTATE_MAX fits. */
	member_of(c, 'c', 'z', KSPAN_TRACESTATE_MAX - 2 * 203 - 2);
	assert_int_equal(strlen(FWD(a, b, c)), KSPAN_TRACESTATE_MAX);
	member_of(c, 'c', 'z', KSPAN_TRACESTATE_MAX - 2 * 203 - 1);
	assert_string_equal(FWD(a, b, c), list);
	/* A member beyond the room still has to be valid. */
	member_of(c, 'c', 'z', 200);
	assert_string_equal(FWD(a, b, c, "D=1"), "");
}

/* --- the HTTP/1 head scan ----------------------------------------------------- */

static struct http1_trace_fields fields;

static void scan_limit(const char *head, __u32 limit)
{
	memset(&fields, 0xa5, sizeof(fields)); /* the scan initialises what it reads */
	http1_trace_fields_scan_from((const __u8 *)head, (__u32)strlen(head), limit, 1, &fields);
}

static void scan(const char *head)
{
	scan_limit(head, KSPAN_CTX_SCAN_MAX);
}

static const char *scanned_tracestate(void)
{
	static char out[KSPAN_TRACESTATE_MAX + 1];
	__u32 n = w3c_tracestate_result(&fields.tracestate);

	memcpy(out, fields.tracestate.out, n);
	out[n] = 0;
	return out;
}

#define TP "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"

static void test_scan_counts_traceparent_lines(void **state)
{
	(void)state;
	/* 3.2: one traceparent field; two make it invalid. */
	scan("GET / HTTP/1.1\r\nHost: a\r\n" TP "\r\n");
	assert_int_equal(fields.traceparent_lines, 1);
	assert_int_equal(fields.block_end, 1);
	scan("GET / HTTP/1.1\r\n" TP "Host: a\r\n" TP "\r\n");
	assert_int_equal(fields.traceparent_lines, 2);
	scan("GET / HTTP/1.1\r\nTraceParent: x\r\nTRACEPARENT: y\r\n\r\n");
	assert_int_equal(fields.traceparent_lines, 2);
	/* Other names, or whitespace before the colon: not traceparent. */
	scan("GET / HTTP/1.1\r\ntrace-parent: x\r\ntraceparent : y\r\nx-traceparent: z\r\n"
	     "traceparents: w\r\n\r\n");
	assert_int_equal(fields.traceparent_lines, 0);
	/* The body is not the head. */
	scan("POST / HTTP/1.1\r\n" TP "\r\n" TP);
	assert_int_equal(fields.traceparent_lines, 1);
	/* Bare LF line ends. */
	scan("GET / HTTP/1.1\ntraceparent: x\ntraceparent: y\n\n");
	assert_int_equal(fields.traceparent_lines, 2);
	/* A line of one CR is not the blank line (the agent reads on). */
	scan("GET / HTTP/1.1\r\n\r\r\n" TP TP "\r\n");
	assert_int_equal(fields.traceparent_lines, 2);
	assert_int_equal(fields.block_end, 1);
}

static void test_scan_combines_tracestate_lines(void **state)
{
	(void)state;
	scan("GET / HTTP/1.1\r\n" TP "tracestate: foo=1,bar=2\r\nHost: a\r\n"
	     "TraceState: rojo=1 , congo=2\r\nTRACESTATE:baz=3\r\n\r\n");
	assert_string_equal(scanned_tracestate(), "foo=1,bar=2,rojo=1,congo=2,baz=3");
	assert_int_equal(fields.tracestate.fields, 3);
	/* Empty tracestate lines. */
	scan("GET / HTTP/1.1\r\ntracestate:\r\ntracestate: \r\ntracestate: foo=1\r\n\r\n");
	assert_string_equal(scanned_tracestate(), "foo=1");
	/* Other names are not tracestate. */
	scan("GET / HTTP/1.1\r\ntrace-state: foo=1\r\ntrace.state: foo=1\r\n\r\n");
	assert_int_equal(fields.tracestate.fields, 0);
	assert_string_equal(scanned_tracestate(), "");
	/* One invalid line drops all of them. */
	scan("GET / HTTP/1.1\r\ntracestate: foo=1\r\ntracestate: Bar=2\r\n\r\n");
	assert_string_equal(scanned_tracestate(), "");
	/* Bare LF. */
	scan("GET / HTTP/1.1\ntracestate: foo=1\ntracestate: bar=2 \n\n");
	assert_string_equal(scanned_tracestate(), "foo=1,bar=2");
	/* A CR alone does not end the line: it is a byte of the value. */
	scan("GET / HTTP/1.1\r\ntracestate: foo=1\rbar=2\r\n\r\n");
	assert_string_equal(scanned_tracestate(), "");
}

static void test_scan_cut_or_folded_tracestate_is_dropped(void **state)
{
	(void)state;
	/* Cut by the end of the bytes: the rest of the value is unknown. */
	scan("GET / HTTP/1.1\r\ntracestate: foo=1,bar=2");
	assert_string_equal(scanned_tracestate(), "");
	scan("GET / HTTP/1.1\r\ntracestate: foo=1\r\ntracestate: bar=2");
	assert_string_equal(scanned_tracestate(), "");
	/* A complete line, then the bytes end: kept. */
	scan("GET / HTTP/1.1\r\ntracestate: foo=1\r\nHost: a");
	assert_string_equal(scanned_tracestate(), "foo=1");
	/* RFC 9112 5.2 obs-fold continuing a tracestate line. */
	scan("GET / HTTP/1.1\r\ntracestate: foo=1\r\n ,bar=2\r\n\r\n");
	assert_string_equal(scanned_tracestate(), "");
	/* ... or another line: no matter. */
	scan("GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\ntracestate: foo=1\r\n\r\n");
	assert_string_equal(scanned_tracestate(), "foo=1");
}

static void test_scan_window(void **state)
{
	static char head[KSPAN_CTX_SCAN_MAX + 256];
	size_t n;

	(void)state;
	/* The limit cuts the line: dropped, as if the bytes ended there. */
	n = (size_t)snprintf(head, sizeof(head),
			     "GET / HTTP/1.1\r\ntracestate: foo=1,bar=2\r\n\r\n");
	scan_limit(head, (__u32)n - 8);
	assert_string_equal(scanned_tracestate(), "");
	/* Lines past KSPAN_CTX_SCAN_MAX are not seen. */
	n = (size_t)snprintf(head, sizeof(head), "GET / HTTP/1.1\r\n" TP "tracestate: a=1\r\nX: ");
	memset(head + n, 'x', KSPAN_CTX_SCAN_MAX - n);
	n = KSPAN_CTX_SCAN_MAX;
	n += (size_t)snprintf(head + n, sizeof(head) - n, "\r\n" TP "tracestate: b=2\r\n\r\n");
	scan_limit(head, 4096);
	assert_int_equal(fields.traceparent_lines, 1);
	assert_string_equal(scanned_tracestate(), "a=1");
	assert_int_equal(fields.block_end, 0);
}

static void test_scan_of_the_official_member_limit_case(void **state)
{
	(void)state;
	/* The W3C suite's 32 members over four lines, then 33. */
	scan("POST /x HTTP/1.1\r\n" TP
	     "tracestate: bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,"
	     "bar09=09,bar10=10\r\n"
	     "tracestate: bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,"
	     "bar19=19,bar20=20\r\n"
	     "tracestate: bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,"
	     "bar29=29,bar30=30\r\n"
	     "tracestate: bar31=31,bar32=32\r\n\r\n");
	assert_int_equal(fields.tracestate.members, 32);
	assert_int_equal(strlen(scanned_tracestate()), 32 * 9 - 1);
	scan("POST /x HTTP/1.1\r\n" TP
	     "tracestate: bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,"
	     "bar09=09,bar10=10\r\n"
	     "tracestate: bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,"
	     "bar19=19,bar20=20\r\n"
	     "tracestate: bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,"
	     "bar29=29,bar30=30\r\n"
	     "tracestate: bar31=31,bar32=32,bar33=33\r\n\r\n");
	assert_string_equal(scanned_tracestate(), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_list),
	    cmocka_unit_test(test_no_field_or_empty_fields),
	    cmocka_unit_test(test_several_fields_combine_in_order),
	    cmocka_unit_test(test_ows_and_empty_members_are_dropped),
	    cmocka_unit_test(test_value_spaces),
	    cmocka_unit_test(test_key_grammar),
	    cmocka_unit_test(test_key_length),
	    cmocka_unit_test(test_value_grammar),
	    cmocka_unit_test(test_value_length),
	    cmocka_unit_test(test_member_count),
	    cmocka_unit_test(test_duplicate_keys_are_forwarded),
	    cmocka_unit_test(test_long_lists_lose_whole_members_from_the_end),
	    cmocka_unit_test(test_scan_counts_traceparent_lines),
	    cmocka_unit_test(test_scan_combines_tracestate_lines),
	    cmocka_unit_test(test_scan_cut_or_folded_tracestate_is_dropped),
	    cmocka_unit_test(test_scan_window),
	    cmocka_unit_test(test_scan_of_the_official_member_limit_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
