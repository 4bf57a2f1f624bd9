// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* secret_redact.c - URLs, flags and NAME=value pairs with their secrets replaced. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lib/secret_redact.h"

#define REDACTED_LEN (sizeof(REDACTED_TEXT) - 1)

/* Output cut at size - 1 bytes, always terminated by finish(). */
struct redact_out {
	char *p;
	size_t size, len;
};

static void put(struct redact_out *o, const char *s, size_t n)
{
	size_t room = o->size ? o->size - 1 - o->len : 0;

	if (n > room)
		n = room;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_redacted(struct redact_out *o)
{
	put(o, REDACTED_TEXT, REDACTED_LEN);
}

static size_t finish(struct redact_out *o)
{
	if (o->size)
		o->p[o->len] = '\0';
	return o->len;
}

static void put_query(struct redact_out *o, const char *q, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i;
		const char *eq;

		while (i < len && q[i] != '&')
			i++;
		eq = memchr(q + start, '=', i - start);
		if (eq) {
			put(o, q + start, (size_t)(eq - (q + start)) + 1);
			put_redacted(o);
		} else if (i > start) {
			put_redacted(o);
		}
		if (i < len) {
			put(o, "&", 1);
			i++;
		}
	}
}

size_t redact_url_query(const char *query, size_t len, char *out, size_t out_size)
{
	struct redact_out o = {out, out_size, 0};

	put_query(&o, query, len);
	return finish(&o);
}

bool redact_name_is_secret(const char *name, size_t len)
{
	static const char *const words[] = {"pass",    "pwd",	    "secret", "token",
					    "key",     "auth",	    "cred",   "cookie",
					    "session", "signature", "private"};

	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t k = strlen(words[w]);
		for (size_t i = 0; i + k <= len; i++)
			if (strncasecmp(name + i, words[w], k) == 0)
				return true;
	}
	return false;
}

static bool url_end(char c)
{
	return isspace((unsigned char)c) || c == '"' || c == '\'';
}

/* RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static bool scheme_char(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

/* Text with every URL in it ("scheme://...") redacted: the user information
 * (RFC 3986 section 3.2.1; a user name alone may be a token, as in
 * https://TOKEN@host/), and the values of the query and of the fragment
 * (OAuth puts access_token there). */
static void put_text_with_urls(struct redact_out *o, const char *s, size_t len)
{
	size_t i = 0, kept = 0;

	while (i + 3 <= len) {
		if (memcmp(s + i, "://", 3) != 0 || i == 0 || !scheme_char(s[i - 1])) {
			i++;
			continue;
		}
		i += 3;
		put(o, s + kept, i - kept);
		size_t auth = i;
		while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#' && !url_end(s[i]))
			i++;
		const char *at = NULL;
		for (size_t k = auth; k < i; k++)
			if (s[k] == '@')
				at = s + k;
		if (at) {
			bool pass = memchr(s + auth, ':', (size_t)(at - (s + auth))) != NULL;
			put(o, pass ? "REDACTED:REDACTED@" : "REDACTED@", pass ? 18 : 9);
			put(o, at + 1, (size_t)(s + i - (at + 1)));
		} else {
			put(o, s + auth, i - auth);
		}
		size_t path = i;
		while (i < len && s[i] != '?' && s[i] != '#' && !url_end(s[i]))
			i++;
		put(o, s + path, i - path);
		while (i < len && (s[i] == '?' || s[i] == '#')) {
			char sep = s[i++];
			size_t q = i;
			while (i < len && !url_end(s[i]) && (sep == '#' || s[i] != '#'))
				i++;
			put(o, &sep, 1);
			put_query(o, s + q, i - q);
		}
		kept = i;
	}
	put(o, s + kept, len - kept);
}

/* "user:pass" -> "user:REDACTED"; a user name alone is kept. */
static void put_user_pass(struct redact_out *o, const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);

	if (!colon) {
		put(o, s, len);
		return;
	}
	put(o, s, (size_t)(colon - s) + 1);
	put_redacted(o);
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static bool is_name(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

/* "k=v&k2=v2": form data or a query string given on its own (curl -d). */
static bool looks_like_form(const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);

	return eq && is_name(s, (size_t)(eq - s)) && memchr(s, '&', len) && !memchr(s, ' ', len);
}

/* An argument that starts with '-'. */
static void put_flag(struct redact_out *o, const char *arg, size_t len, enum redact_next *next)
{
	size_t dashes = arg[1] == '-' ? 2 : 1;
	const char *name = arg + dashes;
	const char *eq = memchr(name, '=', len - dashes);
	size_t name_len = eq ? (size_t)(eq - name) : len - dashes;
	bool secret = redact_name_is_secret(name, name_len);
	bool user = (dashes == 2 && name_len == 4 && strncmp(name, "user", 4) == 0) ||
		    (dashes == 1 && name_len == 1 && name[0] == 'u');

	/* -p is a password to mysql and others; -pVALUE its attached form. A
	 * port or another -p... flag redacted by mistake costs nothing. */
	if (dashes == 1 && name[0] == 'p' && !secret && !eq) {
		put(o, "-p", 2);
		if (name_len == 1)
			*next = REDACT_NEXT_SECRET;
		else
			put_redacted(o);
		return;
	}
	if (!eq) {
		put(o, arg, len);
		if (secret)
			*next = REDACT_NEXT_SECRET;
		else if (user)
			*next = REDACT_NEXT_USER_PASS;
		return;
	}
	put(o, arg, (size_t)(eq - arg) + 1);
	if (secret)
		put_redacted(o);
	else if (user)
		put_user_pass(o, eq + 1, len - (size_t)(eq + 1 - arg));
	else
		put_text_with_urls(o, eq + 1, len - (size_t)(eq + 1 - arg));
}

size_t redact_command_arg(const char *arg, enum redact_next *next, char *out, size_t out_size)
{
	struct redact_out o = {out, out_size, 0};
	enum redact_next pending = *next;
	size_t len = strlen(arg);
	const char *eq = strchr(arg, '='), *colon = strchr(arg, ':');

	*next = REDACT_NEXT_KEEP;
	if (pending == REDACT_NEXT_SECRET) {
		put_redacted(&o);
	} else if (pending == REDACT_NEXT_USER_PASS) {
		put_user_pass(&o, arg, len);
	} else if (arg[0] == '-' && len > 1) {
		put_flag(&o, arg, len, next);
	} else if (looks_like_form(arg, len)) {
		put_query(&o, arg, len);
	} else if (eq && is_name(arg, (size_t)(eq - arg)) &&
		   redact_name_is_secret(arg, (size_t)(eq - arg))) {
		/* NAME=value: an environment assignment (env, docker -e ...). */
		put(&o, arg, (size_t)(eq - arg) + 1);
		put_redacted(&o);
	} else if (colon && is_name(arg, (size_t)(colon - arg)) &&
		   redact_name_is_secret(arg, (size_t)(colon - arg))) {
		/* A header given as an argument (curl -H "Authorization: Bearer ..."). */
		put(&o, arg, (size_t)(colon - arg) + 1);
		if (colon[1] == ' ')
			put(&o, " ", 1);
		put_redacted(&o);
	} else {
		put_text_with_urls(&o, arg, len);
	}
	return finish(&o);
}
