// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* utf8.c - UTF-8 validation and repair. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"

static bool is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Length of the well-formed sequence at s (avail bytes readable), or 0: no
 * overlong forms, no surrogates, nothing above U+10FFFF, no NUL. */
static size_t sequence_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return c ? 1 : 0;
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && is_continuation(s[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;
		return avail >= 3 && s[1] >= lo && s[1] <= hi && is_continuation(s[2]) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
		return avail >= 4 && s[1] >= lo && s[1] <= hi && is_continuation(s[2]) &&
			       is_continuation(s[3])
			   ? 4
			   : 0;
	}
	return 0;
}

char *utf8_sanitized_dup(const char *s, size_t n, size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, bad = 0, o = 0;
	char *copy;

	/* Fast path: ASCII and valid text need one pass and one copy. */
	while (i < n) {
		size_t len = sequence_len(p + i, n - i);
		if (len) {
			i += len;
		} else {
			bad++;
			i++;
		}
	}
	copy = malloc(n + 2 * bad + 1);
	if (!copy)
		return NULL;
	if (!bad) {
		memcpy(copy, s, n);
		o = n;
	} else {
		for (i = 0; i < n;) {
			size_t len = sequence_len(p + i, n - i);
			if (len) {
				memcpy(copy + o, p + i, len);
				o += len;
				i += len;
			} else {
				memcpy(copy + o, "\xef\xbf\xbd", 3);
				o += 3;
				i++;
			}
		}
	}
	copy[o] = '\0';
	if (out_len)
		*out_len = o;
	return copy;
}

size_t utf8_cut_len(const char *s, size_t n)
{
	size_t end = n;
	/* Step back over continuation bytes (10xxxxxx) of a cut sequence. */
	while (end > 0 && is_continuation((unsigned char)s[end]))
		end--;
	return end;
}
