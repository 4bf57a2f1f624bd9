// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http_naming.c - span names and redacted URLs. */
#include <string.h>
#include <strings.h>

#include "assembly/http_naming.h"

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Is this path segment an identifier rather than a route word? */
static bool segment_is_id(const char *s, size_t n)
{
	size_t digits = 0, hex = 0, dashes = 0;

	if (n == 0)
		return false;
	if (n < 16) {
		/* Only all digits can make a short segment an identifier. */
		for (size_t i = 0; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		digits += s[i] >= '0' && s[i] <= '9';
		hex += is_hex(s[i]);
		dashes += s[i] == '-';
	}
	if (digits == n)
		return true; /* 42 */
	if (n == 36 && dashes == 4 && hex == 32)
		return true; /* UUID */
	if (n >= 16 && hex == n)
		return true; /* object ids, hashes */
	/* Long tokens with many digits (session ids, base64 keys). */
	return n >= 16 && digits * 4 >= n;
}

static size_t append(char *out, size_t out_size, size_t pos, const char *s, size_t n)
{
	if (pos >= out_size)
		return pos;
	if (n > out_size - 1 - pos)
		n = out_size - 1 - pos;
	memcpy(out + pos, s, n);
	return pos + n;
}

void http_path_template(const char *path, size_t len, char *out, size_t out_size)
{
	size_t pos = 0, i = 0;

	if (out_size == 0)
		return;
	while (i < len) {
		if (path[i] == '/') {
			pos = append(out, out_size, pos, "/", 1);
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		if (segment_is_id(path + start, i - start))
			pos = append(out, out_size, pos, "{id}", 4);
		else
			pos = append(out, out_size, pos, path + start, i - start);
	}
	if (pos == 0 && out_size > 1)
		pos = append(out, out_size, pos, "/", 1);
	out[pos < out_size ? pos : out_size - 1] = '\0';
}

void http_split_target(const char *target, size_t len, const char **path, size_t *path_len,
		       const char **query, size_t *query_len)
{
	const char *p = target, *end = target + len, *q;

	/* absolute-form: skip "scheme://authority" (RFC 9112 section 3.2.2); the
	 * scheme is case-insensitive (RFC 9110 section 4.2.3). */
	if (len > 7 &&
	    (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0)) {
		const char *auth = memchr(target, ':', len) + 3;
		p = auth;
		while (p < end && *p != '/' && *p != '?')
			p++;
	}
	q = memchr(p, '?', (size_t)(end - p));
	*path = p;
	*path_len = (size_t)((q ? q : end) - p);
	*query = q ? q + 1 : NULL;
	*query_len = q ? (size_t)(end - q - 1) : 0;
}
