// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_utf8.c - repair of captured bytes into valid UTF-8 (RFC 3629). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/utf8.h"

#define FFFD "\xef\xbf\xbd"

static void check(const char *in, size_t n, const char *want)
{
	size_t len = 0;
	char *out = utf8_sanitized_dup(in, n, &len);

	assert_non_null(out);
	assert_int_equal(len, strlen(want));
	assert_string_equal(out, want);
	free(out);
}

static void test_valid_text_is_copied_as_is(void **state)
{
	(void)state;
	check("", 0, "");
	check("GET /plain", 10, "GET /plain");
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* Only the first n bytes count. */
	check("abcdef", 3, "abc");
}

static void test_each_bad_byte_becomes_one_replacement(void **state)
{
	(void)state;
	check("\xff", 1, FFFD);
	check("a\x80z", 3, "a" FFFD "z");		   /* lone continuation byte */
	check("\xc0\xaf", 2, FFFD FFFD);		   /* overlong "/" */
	check("\xe0\x80\xaf", 3, FFFD FFFD FFFD);	   /* overlong, 3 bytes */
	check("\xed\xa0\x80", 3, FFFD FFFD FFFD);	   /* UTF-16 surrogate */
	check("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* above U+10FFFF */
	check("\xf5\x80", 2, FFFD FFFD);
}

static void test_sequences_cut_by_the_capture(void **state)
{
	(void)state;
	/* A multi-byte character cut at the end of the captured bytes. */
	check("ok\xe2\x82", 4, "ok" FFFD FFFD);
	check("ok\xf0\x9f\x98", 5, "ok" FFFD FFFD FFFD);
}

static void test_nul_bytes_do_not_end_the_string(void **state)
{
	(void)state;
	check("a\0b", 3, "a" FFFD "b");
}

/* The ASCII fast path takes 8 bytes a step: a bad byte or a NUL anywhere in
 * a word, or a sequence across two words, is found as byte by byte. */
static void test_word_steps_agree_with_byte_steps(void **state)
{
	(void)state;
	check("0123456789abcdef", 16, "0123456789abcdef");
	check("0123456\xff"
	      "89abcdef",
	      16, "0123456" FFFD "89abcdef");
	check("01234567\x80", 9, "01234567" FFFD);
	check("0123456\xc3\xa9"
	      "bcdefgh",
	      16,
	      "0123456\xc3\xa9"
	      "bcdefgh");
	check("012\0"
	      "4567abcdefgh",
	      16, "012" FFFD "4567abcdefgh");
	check("0123456\xe2\x82", 9, "0123456" FFFD FFFD);
	for (size_t at = 0; at < 24; at++) {
		char in[24], want[24 + 2 + 1];
		memset(in, 'a', sizeof(in));
		in[at] = '\xfe';
		memset(want, 'a', at);
		memcpy(want + at, FFFD, 3);
		memset(want + at + 3, 'a', sizeof(in) - at - 1);
		want[sizeof(want) - 1] = '\0';
		check(in, sizeof(in), want);
		assert_int_equal(utf8_invalid_count(in, sizeof(in)), 1);
	}
}

/* The prefix copied is the longest well-formed one, at word steps or not. */
static void test_copy_valid_stops_at_the_first_bad_byte(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(utf8_copy_valid("0123456789abcdef", 16, out), 16);
	assert_string_equal(out, "0123456789abcdef");
	assert_int_equal(utf8_copy_valid("0123456789a\xc3\xa9"
					 "def",
					 16, out),
			 16);
	assert_int_equal(utf8_copy_valid("01234567\xff"
					 "9abcdef",
					 16, out),
			 8);
	assert_string_equal(out, "01234567");
	assert_int_equal(utf8_copy_valid("012\0"
					 "4567",
					 8, out),
			 3);
	assert_int_equal(utf8_copy_valid("ab\xe2\x82", 4, out), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(utf8_copy_valid("", 0, out), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_text_is_copied_as_is),
	    cmocka_unit_test(test_word_steps_agree_with_byte_steps),
	    cmocka_unit_test(test_copy_valid_stops_at_the_first_bad_byte),
	    cmocka_unit_test(test_each_bad_byte_becomes_one_replacement),
	    cmocka_unit_test(test_sequences_cut_by_the_capture),
	    cmocka_unit_test(test_nul_bytes_do_not_end_the_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
