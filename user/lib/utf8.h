/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * utf8.h - every string a span carries is valid UTF-8 (OTLP string fields
 * must be, and Go receivers reject a whole request otherwise). Captured bytes
 * are made so once, when they enter a span, not at every export.
 */
#ifndef KSPAN_UTF8_H
#define KSPAN_UTF8_H

#include <stddef.h>

/* A NUL-terminated copy of s[0..n) with every byte that starts no well-formed
 * sequence (RFC 3629 section 4) replaced by U+FFFD; an embedded NUL also
 * becomes U+FFFD. *out_len (optional) gets the copy's length. NULL when out
 * of memory. */
char *utf8_sanitized_dup(const char *s, size_t n, size_t *out_len);

/* The same in two steps, for a caller that owns the memory: how many bytes
 * of s[0..n) start no well-formed sequence (each becomes U+FFFD, 2 bytes
 * longer); then the repaired, NUL-terminated text written to out, which has
 * room for n + 2 * bad + 1 bytes. Returns its length. */
size_t utf8_invalid_count(const char *s, size_t n);
size_t utf8_repair_into(const char *s, size_t n, size_t bad, char *out);

/* Copies the well-formed prefix of s[0..n) to out (room for n + 1 bytes)
 * and ends it with a NUL; returns its length: n when all of s is valid. */
size_t utf8_copy_valid(const char *s, size_t n, char *out);

/* Where to cut s (longer than n bytes) to at most n bytes without splitting a
 * UTF-8 sequence. */
size_t utf8_cut_len(const char *s, size_t n);

#endif /* KSPAN_UTF8_H */
