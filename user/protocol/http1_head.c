// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http1_head.c - HTTP/1.x start lines and field lines (RFC 9112 section 2.2
 * for robust parsing, 2.3 for the version, 3 and 4 for start lines, 5 for
 * field lines; RFC 9110 for the fields' grammar).
 */
#include <stddef.h>
#include <string.h>

#include "http1_detect.h"
#include "protocol/http1_head.h"

/* "OPTIONS" and "CONNECT": the longest methods http1_detect.h accepts. */
#define METHOD_MAX_LEN 7
/* "HTTP/1.1 200": what http1_is_response_start() needs to decide. */
#define STATUS_LINE_MIN 12

/* Bits of http1_head_parse.seen. */
enum {
	SEEN_HOST = 1u << 0,
	SEEN_USER_AGENT = 1u << 1,
	SEEN_TRACEPARENT = 1u << 2,
};

/* --- small text helpers ---------------------------------------------------- */

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static struct http1_slice slice_of(const char *ptr, size_t len)
{
	return (struct http1_slice){.ptr = ptr, .len = len};
}

static struct http1_slice trim_ows(struct http1_slice v)
{
	while (v.len > 0 && is_ows(v.ptr[0])) {
		v.ptr++;
		v.len--;
	}
	while (v.len > 0 && is_ows(v.ptr[v.len - 1]))
		v.len--;
	return v;
}

bool http1_slice_is(struct http1_slice v, const char *lower)
{
	size_t n = strlen(lower);

	if (v.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (kspan_ascii_lower((__u8)v.ptr[i]) != (__u8)lower[i])
			return false;
	}
	return true;
}

/* v equals the lowercase literal `lower`, ASCII case-insensitively; the
 * length is the literal's, counted by the compiler. */
#define name_is(v, lower) slice_equals_lower((v), (lower), sizeof(lower) - 1)

static bool slice_equals_lower(struct http1_slice v, const char *lower, size_t n)
{
	if (v.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (kspan_ascii_lower((__u8)v.ptr[i]) != (__u8)lower[i])
			return false;
	}
	return true;
}

/* Takes the next element off a comma-separated list (RFC 9110 section
 * 5.6.1), trimmed of OWS; false when the list is used up. Elements may be
 * empty. */
static bool next_list_element(struct http1_slice *list, struct http1_slice *elem)
{
	const char *comma;
	size_t n;

	if (list->len == 0)
		return false;
	comma = memchr(list->ptr, ',', list->len);
	n = comma ? (size_t)(comma - list->ptr) : list->len;
	*elem = trim_ows(slice_of(list->ptr, n));
	if (comma)
		n++;
	list->ptr += n;
	list->len -= n;
	return true;
}

/* --- start line and field lines -------------------------------------------- */

/* HTTP-version = "HTTP/1." DIGIT here (RFC 9112 section 2.3, case-sensitive). */
static bool parse_http_version(struct http1_slice v, int *minor)
{
	if (v.len != 8 || memcmp(v.ptr, "HTTP/1.", 7) != 0 || v.ptr[7] < '0' || v.ptr[7] > '9')
		return false;
	*minor = v.ptr[7] - '0';
	return true;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112
 * section 3). `whole` is false when the capture cut the line: the method is
 * known (http1_detect.h checked it), the target may be partial and the
 * version is assumed to be 1.1, the common case. */
static bool parse_request_line(struct http1_head *h, struct http1_slice line, bool whole)
{
	const char *sp = memchr(line.ptr, ' ', line.len);
	struct http1_slice rest;
	size_t after_last_sp;

	if (!sp || sp == line.ptr)
		return false;
	h->method = slice_of(line.ptr, (size_t)(sp - line.ptr));
	rest = slice_of(sp + 1, line.len - h->method.len - 1);
	after_last_sp = rest.len;
	while (after_last_sp > 0 && rest.ptr[after_last_sp - 1] != ' ')
		after_last_sp--;
	if (after_last_sp > 0 &&
	    parse_http_version(slice_of(rest.ptr + after_last_sp, rest.len - after_last_sp),
			       &h->version_minor)) {
		h->target = trim_ows(slice_of(rest.ptr, after_last_sp - 1));
		return h->target.len > 0;
	}
	if (whole)
		return false;
	sp = memchr(rest.ptr, ' ', rest.len);
	h->target = slice_of(rest.ptr, sp ? (size_t)(sp - rest.ptr) : rest.len);
	h->version_minor = 1;
	return true;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112
 * section 4); a missing SP after the code is tolerated. */
static bool parse_status_line(struct http1_head *h, struct http1_slice line)
{
	int code = 0;

	if (line.len < STATUS_LINE_MIN ||
	    !parse_http_version(slice_of(line.ptr, 8), &h->version_minor) || line.ptr[8] != ' ')
		return false;
	for (size_t i = 9; i < 12; i++) {
		if (line.ptr[i] < '0' || line.ptr[i] > '9')
			return false;
		code = code * 10 + (line.ptr[i] - '0');
	}
	if (line.len > 12 && line.ptr[12] != ' ')
		return false;
	if (code < 100 || code > 599)
		return false;
	h->status_code = code;
	h->upgrade = code == 101;
	return true;
}

/* Content-Length = 1*DIGIT; a list of identical values counts as one (RFC
 * 9110 section 8.6). Anything else is invalid (RFC 9112 section 6.3 rule 5). */
static bool parse_content_length(struct http1_slice value, int64_t *out)
{
	struct http1_slice elem;
	int64_t first = -1;

	while (next_list_element(&value, &elem)) {
		int64_t v = 0;

		if (elem.len == 0)
			return false;
		for (size_t i = 0; i < elem.len; i++) {
			char c = elem.ptr[i];

			if (c < '0' || c > '9' || v > (INT64_MAX - (c - '0')) / 10)
				return false;
			v = v * 10 + (c - '0');
		}
		if (first >= 0 && v != first)
			return false;
		first = v;
	}
	if (first < 0)
		return false;
	*out = first;
	return true;
}

static void note_content_length(struct http1_head_parse *hp, struct http1_slice value)
{
	int64_t v;

	if (hp->cl_invalid)
		return;
	if (!parse_content_length(value, &v) ||
	    (hp->head.content_length >= 0 && hp->head.content_length != v)) {
		hp->cl_invalid = true;
		hp->head.content_length = -1;
		return;
	}
	hp->head.content_length = v;
}

/* Only the final transfer coding decides the framing (RFC 9112 section 6.1);
 * several Transfer-Encoding lines form one list. */
static void note_transfer_encoding(struct http1_head_parse *hp, struct http1_slice value)
{
	struct http1_slice elem;

	hp->te_present = true;
	while (next_list_element(&value, &elem)) {
		const char *semi = memchr(elem.ptr, ';', elem.len);

		if (elem.len == 0)
			continue;
		if (semi)
			elem = trim_ows(slice_of(elem.ptr, (size_t)(semi - elem.ptr)));
		hp->te_chunked_last = http1_slice_is(elem, "chunked");
	}
}

static void note_connection(struct http1_head_parse *hp, struct http1_slice value)
{
	struct http1_slice elem;

	while (next_list_element(&value, &elem)) {
		if (http1_slice_is(elem, "close"))
			hp->conn_close = true;
		else if (http1_slice_is(elem, "keep-alive"))
			hp->conn_keep_alive = true;
	}
}

static void keep_first(struct http1_head_parse *hp, unsigned bit, struct http1_slice *field,
		       struct http1_slice value)
{
	if (hp->seen & bit)
		return;
	hp->seen |= bit;
	*field = value;
}

static void add_tracestate(struct http1_head_parse *hp, struct http1_slice value)
{
	w3c_tracestate_field_begin(&hp->head.tracestate);
	for (size_t i = 0; i < value.len; i++)
		w3c_tracestate_field_char(&hp->head.tracestate, (__u8)value.ptr[i]);
	w3c_tracestate_field_end(&hp->head.tracestate);
	hp->after_tracestate = true;
}

/* The head's bytes end inside this field line: a tracestate whose value
 * is cut is not known. */
static void note_cut_line(struct http1_head_parse *hp, struct http1_slice line)
{
	const char *colon = memchr(line.ptr, ':', line.len);

	if (colon && http1_slice_is(slice_of(line.ptr, (size_t)(colon - line.ptr)), "tracestate"))
		hp->head.tracestate.invalid = 1;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 section 5).
 * Lines with whitespace before the colon are ignored (section 5.1), and so
 * are obsolete folded continuation lines (section 5.2), but one that
 * continues a tracestate makes it unknown. */
static void parse_field_line(struct http1_head_parse *hp, struct http1_slice line)
{
	const char *colon = memchr(line.ptr, ':', line.len);
	struct http1_slice name, value;

	if (line.len > 0 && is_ows(line.ptr[0])) {
		if (hp->after_tracestate)
			hp->head.tracestate.invalid = 1;
		return;
	}
	hp->after_tracestate = false;
	if (!colon || colon == line.ptr)
		return;
	name = slice_of(line.ptr, (size_t)(colon - line.ptr));
	if (is_ows(name.ptr[name.len - 1]))
		return;
	value = trim_ows(slice_of(colon + 1, line.len - name.len - 1));
	/* One comparison at most per line: the names kspan reads differ in
	 * length, or (10 bytes) in their first letter. */
	switch (name.len) {
	case 4:
		if (name_is(name, "host"))
			keep_first(hp, SEEN_HOST, &hp->head.host, value);
		break;
	case 7:
		if (name_is(name, "upgrade"))
			hp->wants_upgrade = true;
		break;
	case 10:
		switch (kspan_ascii_lower((__u8)name.ptr[0])) {
		case 'u':
			if (name_is(name, "user-agent"))
				keep_first(hp, SEEN_USER_AGENT, &hp->head.user_agent, value);
			break;
		case 't':
			if (name_is(name, "tracestate"))
				add_tracestate(hp, value);
			break;
		case 'c':
			if (name_is(name, "connection"))
				note_connection(hp, value);
			break;
		}
		break;
	case 11:
		if (name_is(name, "traceparent")) {
			keep_first(hp, SEEN_TRACEPARENT, &hp->head.traceparent, value);
			hp->head.traceparent_fields++;
		}
		break;
	case 14:
		if (name_is(name, "content-length"))
			note_content_length(hp, value);
		break;
	case 17:
		if (name_is(name, "transfer-encoding"))
			note_transfer_encoding(hp, value);
		break;
	}
}

/* Everything zero but the tracestate's text, which is read only up to its
 * lengths (w3c_tracestate.h): half a kilobyte less to clear per head. */
static void clear_parse(struct http1_head_parse *hp)
{
	size_t text = offsetof(struct http1_head_parse, head.tracestate.out);
	size_t after = text + sizeof(hp->head.tracestate.out);

	memset(hp, 0, text);
	memset((char *)hp + after, 0, sizeof(*hp) - after);
}

void http1_head_parse(const char *buf, size_t len, bool is_request, struct http1_head_parse *hp)
{
	size_t start = 0;
	bool first = true;

	clear_parse(hp);
	hp->head.is_request = is_request;
	hp->head.content_length = -1;
	hp->head.method = hp->head.target = slice_of("", 0);
	hp->head.host = hp->head.user_agent = slice_of("", 0);
	hp->head.traceparent = slice_of("", 0);

	while (start < len) {
		const char *lf = memchr(buf + start, '\n', len - start);
		size_t end = lf ? (size_t)(lf - buf) : len;
		struct http1_slice line = slice_of(buf + start, end - start);

		if (line.len > 0 && line.ptr[line.len - 1] == '\r')
			line.len--;
		if (first) {
			if (hp->head.is_request)
				hp->start_ok = parse_request_line(&hp->head, line, lf != NULL);
			else
				hp->start_ok = parse_status_line(&hp->head, line);
			if (!hp->start_ok)
				return;
			first = false;
		} else if (!lf || line.len == 0) {
			if (!lf)
				note_cut_line(hp, line);
			else
				hp->head_end = end + 1;
			break;
		} else {
			parse_field_line(hp, line);
		}
		start = end + 1;
	}
	/* HTTP/1.0 closes after each message unless keep-alive was agreed
	 * (RFC 9112 section 9.3). */
	hp->head.connection_close =
	    hp->conn_close || (hp->head.version_minor == 0 && !hp->conn_keep_alive);
	hp->head.chunked = hp->te_present && hp->te_chunked_last;
}

/* --- message start --------------------------------------------------------- */

size_t http1_head_start_min_len(bool is_request)
{
	return is_request ? HTTP1_DETECT_MIN : STATUS_LINE_MIN;
}

bool http1_head_starts_message(bool is_request, const uint8_t *buf, size_t len)
{
	/* http1_detect.h looks at no more than the first 16 bytes. */
	__u32 n = len > 64 ? 64 : (__u32)len;

	if (is_request)
		return http1_request_method_len(buf, 0, n) > 0;
	return http1_is_response_start(buf, 0, n);
}

bool http1_head_start_byte_plausible(bool is_request, const uint8_t *so_far, size_t n, uint8_t c)
{
	if (c == '\n')
		return false;
	if (!is_request)
		return n >= 7 || c == (uint8_t) "HTTP/1."[n];
	if (memchr(so_far, ' ', n))
		return true;
	if (c == ' ')
		return n >= 3;
	return c >= 'A' && c <= 'Z' && n < METHOD_MAX_LEN;
}
