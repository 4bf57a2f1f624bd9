// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http1_parser.c - HTTP/1.x message framing over captured syscall pieces.
 *
 * One struct http1_stream follows one direction of one connection with a
 * small state machine that walks every piece over [0, total). States that
 * only count bytes (Content-Length bodies, chunk data, bodies delimited by
 * close) walk the uncaptured tail too; states that must read bytes (the head,
 * chunk-size lines, trailers) lose sync when they reach it.
 *
 * The rules come from RFC 9112: section 2.2 (robust parsing: empty lines
 * before a request, bare LF), 3 and 4 (start lines), 5 (field lines), 6.3
 * (message body length) and 7.1 (chunked transfer coding).
 *
 * msg_index counts the messages whose first byte is in the current piece; a
 * message continued from an earlier piece is reported with index 0, as it is
 * the first message the piece holds.
 *
 * body_bytes of a chunked message counts chunk data only (what a
 * Content-Length would have said), not chunk-size lines or trailers.
 */
#include <stdlib.h>
#include <string.h>

#include "http1_detect.h"
#include "protocol/http1_stream.h"

/* "OPTIONS" and "CONNECT": the longest methods http1_detect.h accepts. */
#define METHOD_MAX_LEN 7
/* "HTTP/1.1 200": what http1_is_response_start() needs to decide. */
#define STATUS_LINE_MIN 12
/* RFC 9112 section 7.1.1 lets a recipient limit chunk extensions; a longer
 * chunk-size line is treated as a framing error. */
#define CHUNK_LINE_MAX 4096
/* 15 hex digits keep a chunk size below 2^60: no overflow while counting. */
#define CHUNK_SIZE_MAX_DIGITS 15
/* The head buffer starts small and doubles up to HTTP1_MAX_HEAD_BYTES: most
 * heads take a few hundred bytes, and the agent holds two streams for every
 * connection it follows. A buffer that grew past HEAD_KEEP_BYTES is given
 * back once its head is parsed. */
#define HEAD_INITIAL_BYTES 256
#define HEAD_KEEP_BYTES	   2048

enum stream_state {
	ST_IDLE,	    /* in sync between messages: the next byte starts one */
	ST_HEAD,	    /* collecting the start line and the field lines */
	ST_BODY_LENGTH,	    /* Content-Length body, body_left bytes to go */
	ST_CHUNK_SIZE,	    /* chunk-size digits */
	ST_CHUNK_EXT,	    /* chunk extensions, skipped up to the line end */
	ST_CHUNK_SIZE_LF,   /* chunk-size line: CR seen, LF expected */
	ST_CHUNK_DATA,	    /* chunk data, body_left bytes to go */
	ST_CHUNK_DATA_END,  /* the CRLF that follows chunk data */
	ST_TRAILERS,	    /* trailer section after the last chunk */
	ST_UNTIL_CLOSE,	    /* response body delimited by the connection close */
	ST_LOST_IN_MESSAGE, /* a message is open but its end cannot be known */
	ST_LOST,	    /* out of sync, no message open */
	ST_TUNNEL,	    /* after 101 Switching Protocols: no longer HTTP/1 */
};

struct http1_stream {
	enum http1_stream_kind kind;
	enum stream_state state;
	unsigned msg_index;   /* of the open message, within the current piece */
	bool start_checked;   /* the head's first bytes passed http1_detect.h */
	bool peer_may_switch; /* non-HTTP bytes may follow (Upgrade, CONNECT): no error */
	uint64_t body_left;   /* Content-Length or chunk-data bytes still to come */
	uint64_t body_bytes;  /* body bytes of the open message so far */
	size_t line_len;      /* bytes of the current chunk-size or trailer line */
	size_t trailer_bytes;
	unsigned chunk_digits;
	unsigned crlf_left; /* bytes of the CRLF after chunk data still to come */
	uint8_t *head;	    /* head_cap bytes, or NULL */
	size_t head_cap;
	size_t head_len;   /* bytes in head[] */
	size_t line_start; /* where the current head line starts in head[] */
};

/* The piece being fed and where the state machine is in it. */
struct piece {
	const uint8_t *data;
	size_t captured; /* data[0..captured) is known */
	size_t total;	 /* bytes the syscall moved, known or not */
	size_t pos;	 /* next byte to consume */
	unsigned starts; /* messages that started in this piece so far */
	const struct http1_callbacks *cb;
	void *ctx;
};

/* What parsing a head yields beyond struct http1_head. */
struct head_parse {
	struct http1_head head;
	bool start_ok;
	bool te_present;
	bool te_chunked_last; /* "chunked" is the final transfer coding */
	bool cl_invalid;
	bool conn_close;
	bool conn_keep_alive;
	bool wants_upgrade; /* a request carrying Upgrade */
	unsigned seen;	    /* SEEN_* bits: the first of repeated fields wins */
};

enum {
	SEEN_HOST = 1u << 0,
	SEEN_USER_AGENT = 1u << 1,
	SEEN_TRACEPARENT = 1u << 2,
	SEEN_TRACESTATE = 1u << 3,
};

/* --- callbacks ------------------------------------------------------------- */

static bool emit_head(const struct piece *p, const struct http1_stream *s,
		      const struct http1_head *h)
{
	if (!p->cb || !p->cb->on_head)
		return false;
	return p->cb->on_head(p->ctx, s->msg_index, h);
}

static void emit_error(const struct piece *p, const char *why)
{
	if (p->cb && p->cb->on_error)
		p->cb->on_error(p->ctx, why);
}

static void complete_message(struct http1_stream *s, const struct piece *p,
			     enum http1_framing framing)
{
	struct http1_complete_info info = {
	    .framing = framing,
	    .body_bytes = framing == HTTP1_FRAMING_EXACT ? s->body_bytes : 0,
	};

	s->state = ST_IDLE;
	if (p->cb && p->cb->on_complete)
		p->cb->on_complete(p->ctx, s->msg_index, &info);
}

/* Framing cannot be followed in this piece any more. */
static void skip_piece(struct http1_stream *s, struct piece *p, enum stream_state next)
{
	s->state = next;
	p->pos = p->total;
}

/* The bytes where a message must start are not HTTP/1.x. After a request
 * that asked to switch protocols they are expected, so no error then. */
static void reject_start(struct http1_stream *s, struct piece *p, const char *why)
{
	if (!s->peer_may_switch)
		emit_error(p, why);
	skip_piece(s, p, ST_LOST);
}

/* A framing error inside a message: its end is unknown from here on. */
static void framing_error(struct http1_stream *s, struct piece *p, const char *why)
{
	emit_error(p, why);
	skip_piece(s, p, ST_LOST_IN_MESSAGE);
}

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

/* Case-insensitive comparison with a lowercase literal (field names and
 * tokens are case-insensitive, RFC 9110 sections 5.1 and 5.6.2). */
static bool slice_is(struct http1_slice v, const char *lower)
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

static int hex_digit_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = kspan_ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
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

static void note_content_length(struct head_parse *hp, struct http1_slice value)
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
static void note_transfer_encoding(struct head_parse *hp, struct http1_slice value)
{
	struct http1_slice elem;

	hp->te_present = true;
	while (next_list_element(&value, &elem)) {
		const char *semi = memchr(elem.ptr, ';', elem.len);

		if (elem.len == 0)
			continue;
		if (semi)
			elem = trim_ows(slice_of(elem.ptr, (size_t)(semi - elem.ptr)));
		hp->te_chunked_last = slice_is(elem, "chunked");
	}
}

static void note_connection(struct head_parse *hp, struct http1_slice value)
{
	struct http1_slice elem;

	while (next_list_element(&value, &elem)) {
		if (slice_is(elem, "close"))
			hp->conn_close = true;
		else if (slice_is(elem, "keep-alive"))
			hp->conn_keep_alive = true;
	}
}

static void keep_first(struct head_parse *hp, unsigned bit, struct http1_slice *field,
		       struct http1_slice value)
{
	if (hp->seen & bit)
		return;
	hp->seen |= bit;
	*field = value;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 section 5).
 * Lines with whitespace before the colon are ignored (section 5.1), and so
 * are obsolete folded continuation lines (section 5.2). */
static void parse_field_line(struct head_parse *hp, struct http1_slice line)
{
	const char *colon = memchr(line.ptr, ':', line.len);
	struct http1_slice name, value;

	if (!colon || colon == line.ptr || is_ows(line.ptr[0]))
		return;
	name = slice_of(line.ptr, (size_t)(colon - line.ptr));
	if (is_ows(name.ptr[name.len - 1]))
		return;
	value = trim_ows(slice_of(colon + 1, line.len - name.len - 1));

	if (slice_is(name, "host"))
		keep_first(hp, SEEN_HOST, &hp->head.host, value);
	else if (slice_is(name, "user-agent"))
		keep_first(hp, SEEN_USER_AGENT, &hp->head.user_agent, value);
	else if (slice_is(name, "traceparent"))
		keep_first(hp, SEEN_TRACEPARENT, &hp->head.traceparent, value);
	else if (slice_is(name, "tracestate"))
		keep_first(hp, SEEN_TRACESTATE, &hp->head.tracestate, value);
	else if (slice_is(name, "content-length"))
		note_content_length(hp, value);
	else if (slice_is(name, "transfer-encoding"))
		note_transfer_encoding(hp, value);
	else if (slice_is(name, "connection"))
		note_connection(hp, value);
	else if (slice_is(name, "upgrade"))
		hp->wants_upgrade = true;
}

/* Parses head[0..head_len). Field lines cut by the end of the buffer are
 * ignored; a start line cut by it is parsed as far as it goes. */
static void parse_head(const struct http1_stream *s, struct head_parse *hp)
{
	const char *buf = (const char *)s->head;
	size_t len = s->head_len, start = 0;
	bool first = true;

	memset(hp, 0, sizeof(*hp));
	hp->head.is_request = s->kind == HTTP1_STREAM_REQUESTS;
	hp->head.content_length = -1;
	hp->head.method = hp->head.target = slice_of("", 0);
	hp->head.host = hp->head.user_agent = slice_of("", 0);
	hp->head.traceparent = hp->head.tracestate = slice_of("", 0);

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

static size_t start_min_len(const struct http1_stream *s)
{
	return s->kind == HTTP1_STREAM_REQUESTS ? HTTP1_DETECT_MIN : STATUS_LINE_MIN;
}

static bool starts_message(const struct http1_stream *s, const uint8_t *buf, size_t len)
{
	/* http1_detect.h looks at no more than the first 16 bytes. */
	__u32 n = len > 64 ? 64 : (__u32)len;

	if (s->kind == HTTP1_STREAM_REQUESTS)
		return http1_request_method_len(buf, 0, n) > 0;
	return http1_is_response_start(buf, 0, n);
}

/* Until http1_detect.h has enough bytes to decide, reject what can never
 * become a message start, so that garbage is reported at its first byte
 * however small the pieces are. */
static bool start_byte_plausible(const struct http1_stream *s, uint8_t c)
{
	size_t i = s->head_len;

	if (c == '\n')
		return false;
	if (s->kind == HTTP1_STREAM_RESPONSES)
		return i >= 7 || c == (uint8_t) "HTTP/1."[i];
	if (memchr(s->head, ' ', i))
		return true;
	if (c == ' ')
		return i >= 3;
	return c >= 'A' && c <= 'Z' && i < METHOD_MAX_LEN;
}

/* Room for one more head byte; false at the size limit or without memory. */
static bool head_reserve(struct http1_stream *s)
{
	size_t cap;
	uint8_t *grown;

	if (s->head_len < s->head_cap)
		return true;
	if (s->head_cap >= HTTP1_MAX_HEAD_BYTES)
		return false;
	cap = s->head_cap ? 2 * s->head_cap : HEAD_INITIAL_BYTES;
	if (cap > HTTP1_MAX_HEAD_BYTES)
		cap = HTTP1_MAX_HEAD_BYTES;
	grown = realloc(s->head, cap);
	if (!grown)
		return false;
	s->head = grown;
	s->head_cap = cap;
	return true;
}

static void head_release(struct http1_stream *s)
{
	free(s->head);
	s->head = NULL;
	s->head_cap = 0;
}

static void check_start_byte(struct http1_stream *s, struct piece *p)
{
	uint8_t c = p->data[p->pos];

	if (!start_byte_plausible(s, c)) {
		reject_start(s, p, "not an HTTP/1.x message start");
		return;
	}
	s->head[s->head_len++] = c;
	p->pos++;
	if (s->head_len < start_min_len(s))
		return;
	if (!starts_message(s, s->head, s->head_len)) {
		reject_start(s, p, "not an HTTP/1.x message start");
		return;
	}
	s->start_checked = true;
	s->peer_may_switch = false;
}

/* --- message body (RFC 9112 section 6.3) ------------------------------------ */

static void begin_length_body(struct http1_stream *s, const struct piece *p, int64_t length)
{
	s->body_left = (uint64_t)length;
	s->state = ST_BODY_LENGTH;
	if (length == 0)
		complete_message(s, p, HTTP1_FRAMING_EXACT);
}

static void begin_chunk_size(struct http1_stream *s)
{
	s->state = ST_CHUNK_SIZE;
	s->body_left = 0;
	s->chunk_digits = 0;
	s->line_len = 0;
}

static void begin_request_body(struct http1_stream *s, struct piece *p, const struct head_parse *hp)
{
	/* After these, the client may speak another protocol (RFC 9110
	 * sections 7.8 and 9.3.6). */
	s->peer_may_switch = hp->wants_upgrade || slice_is(hp->head.method, "connect");
	if (hp->te_present) {
		if (hp->te_chunked_last)
			begin_chunk_size(s);
		else /* rule 4: the server cannot know the length */
			framing_error(s, p, "request Transfer-Encoding does not end in chunked");
		return;
	}
	if (hp->cl_invalid) {
		framing_error(s, p, "invalid Content-Length");
		return;
	}
	if (hp->head.content_length > 0)
		begin_length_body(s, p, hp->head.content_length);
	else /* rule 7: a request without a length has no body */
		complete_message(s, p, HTTP1_FRAMING_EXACT);
}

static void begin_response_body(struct http1_stream *s, struct piece *p,
				const struct head_parse *hp, bool answers_head)
{
	int code = hp->head.status_code;

	if (code == 101) {
		complete_message(s, p, HTTP1_FRAMING_EXACT);
		s->state = ST_TUNNEL;
		return;
	}
	/* Rule 1: no body for HEAD, 1xx, 204 and 304. A 2xx that the caller
	 * says has no body may also answer CONNECT (rule 2): tunnel bytes may
	 * follow, and they are no error. */
	if (code < 200 || code == 204 || code == 304 || answers_head) {
		s->peer_may_switch = answers_head && code / 100 == 2;
		complete_message(s, p, HTTP1_FRAMING_EXACT);
		return;
	}
	if (hp->te_present) {
		if (hp->te_chunked_last)
			begin_chunk_size(s);
		else /* rule 4: read until close */
			s->state = ST_UNTIL_CLOSE;
		return;
	}
	if (hp->cl_invalid) {
		framing_error(s, p, "invalid Content-Length");
		return;
	}
	if (hp->head.content_length >= 0)
		begin_length_body(s, p, hp->head.content_length);
	else /* rule 8 */
		s->state = ST_UNTIL_CLOSE;
}

/* --- head ------------------------------------------------------------------ */

static void head_complete(struct http1_stream *s, struct piece *p)
{
	struct head_parse hp;
	bool answers_head;

	parse_head(s, &hp);
	if (!hp.start_ok) {
		reject_start(s, p, "malformed start line");
		return;
	}
	hp.head.head_bytes = s->head_len;
	answers_head = emit_head(p, s, &hp.head);
	s->body_bytes = 0;
	if (hp.head.is_request)
		begin_request_body(s, p, &hp);
	else
		begin_response_body(s, p, &hp, answers_head);
}

/* The head cannot be read whole (cut by the capture, too large, or the
 * connection closed): report what there is, with an unknown end. Leaves the
 * stream in ST_LOST_IN_MESSAGE when a message is open. */
static void head_cut_short(struct http1_stream *s, struct piece *p)
{
	struct head_parse hp;

	p->pos = p->total;
	s->state = ST_LOST;
	if (!s->start_checked)
		return;
	parse_head(s, &hp);
	if (!hp.start_ok) {
		emit_error(p, "malformed start line");
		return;
	}
	hp.head.head_truncated = true;
	emit_head(p, s, &hp.head);
	if (hp.head.upgrade) {
		/* Whatever follows the 101 is not HTTP/1, so no later piece
		 * can end this message: end it now. */
		complete_message(s, p, HTTP1_FRAMING_UNKNOWN);
		s->state = ST_TUNNEL;
		return;
	}
	s->state = ST_LOST_IN_MESSAGE;
}

/* A head line ended at head[head_len - 1]; an empty one ends the head. */
static void head_line_ended(struct http1_stream *s, struct piece *p)
{
	size_t end = s->head_len - 1;

	if (end > s->line_start && s->head[end - 1] == '\r')
		end--;
	if (end == s->line_start && s->line_start > 0) {
		head_complete(s, p);
		return;
	}
	s->line_start = s->head_len;
}

static void collect_head(struct http1_stream *s, struct piece *p)
{
	const uint8_t *from = p->data + p->pos;
	const uint8_t *lf;
	size_t n;

	if (p->pos >= p->captured || !head_reserve(s)) {
		head_cut_short(s, p);
		return;
	}
	if (!s->start_checked) {
		check_start_byte(s, p);
		return;
	}
	n = p->captured - p->pos;
	if (n > s->head_cap - s->head_len)
		n = s->head_cap - s->head_len;
	lf = memchr(from, '\n', n);
	if (lf)
		n = (size_t)(lf - from) + 1;
	memcpy(s->head + s->head_len, from, n);
	s->head_len += n;
	p->pos += n;
	if (lf)
		head_line_ended(s, p);
}

static void step_head(struct http1_stream *s, struct piece *p)
{
	collect_head(s, p);
	if (s->state != ST_HEAD && s->head_cap > HEAD_KEEP_BYTES)
		head_release(s);
}

static void step_idle(struct http1_stream *s, struct piece *p)
{
	uint8_t c;

	if (p->pos >= p->captured) {
		/* A message may start in bytes nobody saw. */
		skip_piece(s, p, ST_LOST);
		return;
	}
	c = p->data[p->pos];
	if (c == '\r' || c == '\n') {
		/* RFC 9112 section 2.2: empty lines before a message. */
		p->pos++;
		return;
	}
	s->state = ST_HEAD;
	s->msg_index = p->starts++;
	s->start_checked = false;
	s->head_len = 0;
	s->line_start = 0;
	s->body_bytes = 0;
}

/* --- body steps -------------------------------------------------------------- */

/* Counts up to body_left bytes, captured or not. */
static uint64_t count_body(struct http1_stream *s, struct piece *p)
{
	uint64_t n = p->total - p->pos;

	if (n > s->body_left)
		n = s->body_left;
	p->pos += (size_t)n;
	s->body_left -= n;
	s->body_bytes += n;
	return s->body_left;
}

static void step_body_length(struct http1_stream *s, struct piece *p)
{
	if (count_body(s, p) == 0)
		complete_message(s, p, HTTP1_FRAMING_EXACT);
}

static void end_chunk_size_line(struct http1_stream *s)
{
	s->line_len = 0;
	if (s->body_left == 0) {
		s->state = ST_TRAILERS;
		s->trailer_bytes = 0;
	} else {
		s->state = ST_CHUNK_DATA;
	}
}

/* chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 section
 * 7.1); chunk-ext may follow BWS, so a space also starts the extension. */
static void step_chunk_size(struct http1_stream *s, struct piece *p)
{
	uint8_t c;
	int v;

	if (p->pos >= p->captured) {
		skip_piece(s, p, ST_LOST_IN_MESSAGE);
		return;
	}
	c = p->data[p->pos++];
	s->line_len++;
	v = hex_digit_value(c);
	if (v >= 0) {
		if (s->chunk_digits == CHUNK_SIZE_MAX_DIGITS) {
			framing_error(s, p, "chunk size too large");
			return;
		}
		s->body_left = s->body_left << 4 | (uint64_t)v;
		s->chunk_digits++;
		return;
	}
	if (s->chunk_digits == 0)
		framing_error(s, p, "chunk size is not hexadecimal");
	else if (c == ';' || c == ' ' || c == '\t')
		s->state = ST_CHUNK_EXT;
	else if (c == '\r')
		s->state = ST_CHUNK_SIZE_LF;
	else if (c == '\n')
		end_chunk_size_line(s);
	else
		framing_error(s, p, "malformed chunk-size line");
}

static void step_chunk_ext(struct http1_stream *s, struct piece *p)
{
	const uint8_t *from = p->data + p->pos;
	const uint8_t *lf;
	size_t n;

	if (p->pos >= p->captured) {
		skip_piece(s, p, ST_LOST_IN_MESSAGE);
		return;
	}
	n = p->captured - p->pos;
	lf = memchr(from, '\n', n);
	if (lf)
		n = (size_t)(lf - from) + 1;
	p->pos += n;
	s->line_len += n;
	if (s->line_len > CHUNK_LINE_MAX)
		framing_error(s, p, "chunk extensions too long");
	else if (lf)
		end_chunk_size_line(s);
}

static void step_chunk_size_lf(struct http1_stream *s, struct piece *p)
{
	if (p->pos >= p->captured) {
		skip_piece(s, p, ST_LOST_IN_MESSAGE);
		return;
	}
	if (p->data[p->pos++] == '\n')
		end_chunk_size_line(s);
	else
		framing_error(s, p, "chunk-size line without LF");
}

static void step_chunk_data(struct http1_stream *s, struct piece *p)
{
	if (count_body(s, p) == 0) {
		s->state = ST_CHUNK_DATA_END;
		s->crlf_left = 2;
	}
}

static void step_chunk_data_end(struct http1_stream *s, struct piece *p)
{
	uint8_t c;

	if (p->pos >= p->captured) {
		/* Not captured: trust that it is the CRLF section 7.1 requires. */
		p->pos++;
		if (--s->crlf_left == 0)
			begin_chunk_size(s);
		return;
	}
	c = p->data[p->pos++];
	if (c == '\r' && s->crlf_left == 2)
		s->crlf_left = 1;
	else if (c == '\n')
		begin_chunk_size(s);
	else
		framing_error(s, p, "chunk data not followed by CRLF");
}

/* trailer-section = *( field-line CRLF ), then CRLF (RFC 9112 section 7.1.2).
 * The fields are not used; only the end matters. */
static void step_trailers(struct http1_stream *s, struct piece *p)
{
	uint8_t c;

	if (p->pos >= p->captured) {
		skip_piece(s, p, ST_LOST_IN_MESSAGE);
		return;
	}
	c = p->data[p->pos++];
	if (++s->trailer_bytes > HTTP1_MAX_HEAD_BYTES) {
		framing_error(s, p, "trailer section too large");
		return;
	}
	if (c == '\n') {
		if (s->line_len == 0)
			complete_message(s, p, HTTP1_FRAMING_EXACT);
		s->line_len = 0;
	} else if (c != '\r') {
		s->line_len++;
	}
}

static void step_until_close(struct http1_stream *s, struct piece *p)
{
	s->body_bytes += p->total - p->pos;
	p->pos = p->total;
}

/* Every step consumes at least one byte, ends the piece, or (ST_IDLE)
 * moves to a state that will. */
static void step(struct http1_stream *s, struct piece *p)
{
	switch (s->state) {
	case ST_IDLE:
		step_idle(s, p);
		break;
	case ST_HEAD:
		step_head(s, p);
		break;
	case ST_BODY_LENGTH:
		step_body_length(s, p);
		break;
	case ST_CHUNK_SIZE:
		step_chunk_size(s, p);
		break;
	case ST_CHUNK_EXT:
		step_chunk_ext(s, p);
		break;
	case ST_CHUNK_SIZE_LF:
		step_chunk_size_lf(s, p);
		break;
	case ST_CHUNK_DATA:
		step_chunk_data(s, p);
		break;
	case ST_CHUNK_DATA_END:
		step_chunk_data_end(s, p);
		break;
	case ST_TRAILERS:
		step_trailers(s, p);
		break;
	case ST_UNTIL_CLOSE:
		step_until_close(s, p);
		break;
	case ST_LOST_IN_MESSAGE:
	case ST_LOST:
	case ST_TUNNEL:
		p->pos = p->total;
		break;
	}
}

/* --- public API -------------------------------------------------------------- */

static void reset_stream(struct http1_stream *s)
{
	s->state = ST_IDLE;
	s->msg_index = 0;
	s->start_checked = false;
	s->peer_may_switch = false;
	s->body_left = 0;
	s->body_bytes = 0;
	s->head_len = 0;
	s->line_start = 0;
	head_release(s);
}

struct http1_stream *http1_stream_new(enum http1_stream_kind kind)
{
	struct http1_stream *s;

	if (kind != HTTP1_STREAM_REQUESTS && kind != HTTP1_STREAM_RESPONSES)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->kind = kind;
	reset_stream(s);
	return s;
}

void http1_stream_free(struct http1_stream *s)
{
	if (!s)
		return;
	free(s->head);
	free(s);
}

void http1_stream_feed(struct http1_stream *s, const uint8_t *data, size_t captured, size_t total,
		       const struct http1_callbacks *cb, void *ctx)
{
	struct piece p = {
	    .data = data,
	    .captured = data ? (captured < total ? captured : total) : 0,
	    .total = total,
	    .cb = cb,
	    .ctx = ctx,
	};

	if (!s || total == 0 || s->state == ST_TUNNEL)
		return;
	s->msg_index = 0;
	if (s->state == ST_LOST || s->state == ST_LOST_IN_MESSAGE) {
		/* Resynchronise only where a message visibly starts. */
		if (!starts_message(s, p.data, p.captured))
			return;
		if (s->state == ST_LOST_IN_MESSAGE)
			complete_message(s, &p, HTTP1_FRAMING_UNKNOWN);
		s->state = ST_IDLE;
	}
	while (p.pos < p.total)
		step(s, &p);
}

void http1_stream_close(struct http1_stream *s, const struct http1_callbacks *cb, void *ctx)
{
	struct piece p = {.cb = cb, .ctx = ctx};

	if (!s)
		return;
	s->msg_index = 0;
	switch (s->state) {
	case ST_HEAD:
		head_cut_short(s, &p);
		if (s->state == ST_LOST_IN_MESSAGE)
			complete_message(s, &p, HTTP1_FRAMING_UNKNOWN);
		break;
	case ST_UNTIL_CLOSE:
		complete_message(s, &p, HTTP1_FRAMING_EXACT);
		break;
	case ST_BODY_LENGTH:
	case ST_CHUNK_SIZE:
	case ST_CHUNK_EXT:
	case ST_CHUNK_SIZE_LF:
	case ST_CHUNK_DATA:
	case ST_CHUNK_DATA_END:
	case ST_TRAILERS:
	case ST_LOST_IN_MESSAGE:
		complete_message(s, &p, HTTP1_FRAMING_UNKNOWN);
		break;
	case ST_IDLE:
	case ST_LOST:
	case ST_TUNNEL:
		break;
	}
	reset_stream(s);
}

bool http1_stream_in_message(const struct http1_stream *s)
{
	if (!s)
		return false;
	switch (s->state) {
	case ST_IDLE:
	case ST_LOST:
	case ST_TUNNEL:
		return false;
	default:
		return true;
	}
}

bool http1_stream_framing_lost(const struct http1_stream *s)
{
	return s && s->state == ST_LOST_IN_MESSAGE;
}
