// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* utf8.c - UTF-8 validation and repair. */
#include <stdbool.h>
#include <stdint.h>
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

/* Whether the 8 bytes at p are ASCII without NUL: no high bit set, and no
 * zero byte ((x - 0x01..) & ~x & 0x80.. is non-zero exactly when some byte of
 * x is zero). */
static bool word_is_plain_ascii(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	return !(w & highs) && !((w - ones) & ~w & highs);
}

size_t utf8_invalid_count(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, bad = 0;

	while (i < n) {
		/* ASCII text (most of what HTTP heads carry), 8 bytes a step. */
		if (n - i >= 8 && word_is_plain_ascii(p + i)) {
			i += 8;
			continue;
		}
		size_t len = sequence_len(p + i, n - i);
		if (len) {
			i += len;
		} else {
			bad++;
			i++;
		}
	}
	return bad;
}

size_t utf8_copy_valid(const char *s, size_t n, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (n - i >= 8 && word_is_plain_ascii(p + i)) {
		memcpy(out + i, p + i, 8);
		i += 8;
	}
	while (i < n) {
		if (p[i] - 1u < 0x7f) { /* ASCII, not NUL */
			out[i] = (char)p[i];
			i++;
			continue;
		}
		size_t len = sequence_len(p + i, n - i);
		if (!len)
			break;
		memcpy(out + i, p + i, len);
		i += len;
	}
	out[i] = '\0';
	return i;
}

size_t utf8_repair_into(const char *s, size_t n, size_t bad, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (!bad) {
		memcpy(out, s, n);
		out[n] = '\0';
		return n;
	}
	for (size_t i = 0; i < n;) {
		size_t len = sequence_len(p + i, n - i);
		if (len) {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return o;
}

char *utf8_sanitized_dup(const char *s, size_t n, size_t *out_len)
{
	size_t bad = utf8_invalid_count(s, n);
	char *copy = malloc(n + 2 * bad + 1);

	if (!copy)
		return NULL;
	size_t len = utf8_repair_into(s, n, bad, copy);
	if (out_len)
		*out_len = len;
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
