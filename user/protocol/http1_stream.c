// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http1_stream.c - HTTP/1.x message framing over captured syscall pieces.
 *
 * One struct http1_stream follows one direction of one connection with a
 * small state machine that walks every piece over [0, total): between
 * messages, collecting a head (parsed by http1_head.c), inside a body (whose
 * end http1_body.c finds), or out of sync. States that only count bytes walk
 * the uncaptured tail too; states that must read bytes (the head, chunk-size
 * lines, trailers) lose sync when they reach it.
 *
 * The rules come from RFC 9112: section 2.2 (robust parsing: empty lines
 * before a request, bare LF), 6.3 (message body length) and 9.3 (persistent
 * connections).
 *
 * msg_index counts the messages whose first byte is in the current piece; a
 * message continued from an earlier piece is reported with index 0, as it is
 * the first message the piece holds.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/http1_body.h"
#include "protocol/http1_stream.h"

/* The head buffer starts small and doubles up to HTTP1_MAX_HEAD_BYTES: most
 * heads take a few hundred bytes, and the agent holds two streams for every
 * connection it follows. A buffer that grew past HEAD_KEEP_BYTES is given
 * back once its head is parsed. */
#define HEAD_INITIAL_BYTES 256
#define HEAD_KEEP_BYTES	   2048

enum stream_state {
	ST_IDLE,	    /* in sync between messages: the next byte starts one */
	ST_HEAD,	    /* collecting the start line and the field lines */
	ST_BODY,	    /* inside a body: http1_body.h finds its end */
	ST_LOST_IN_MESSAGE, /* a message is open but its end cannot be known */
	ST_LOST,	    /* out of sync, no message open */
	ST_TUNNEL,	    /* after 101 Switching Protocols: no longer HTTP/1 */
};

struct http1_stream {
	enum http1_stream_kind kind;
	enum stream_state state;
	unsigned msg_index;	/* of the open message, within the current piece */
	bool start_checked;	/* the head's first bytes passed http1_detect.h */
	bool peer_may_switch;	/* non-HTTP bytes may follow (Upgrade, CONNECT): no error */
	struct http1_body body; /* of the open message */
	uint8_t *head;		/* head_cap bytes, or NULL */
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
	    .body_bytes = framing == HTTP1_FRAMING_EXACT ? s->body.bytes : 0,
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

/* --- message start --------------------------------------------------------- */

static bool is_requests(const struct http1_stream *s)
{
	return s->kind == HTTP1_STREAM_REQUESTS;
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

	if (!http1_head_start_byte_plausible(is_requests(s), s->head, s->head_len, c)) {
		reject_start(s, p, "not an HTTP/1.x message start");
		return;
	}
	s->head[s->head_len++] = c;
	p->pos++;
	if (s->head_len < http1_head_start_min_len(is_requests(s)))
		return;
	if (!http1_head_starts_message(is_requests(s), s->head, s->head_len)) {
		reject_start(s, p, "not an HTTP/1.x message start");
		return;
	}
	s->start_checked = true;
	s->peer_may_switch = false;
}

/* --- message body (RFC 9112 section 6.3) ------------------------------------ */

static void begin_length_body(struct http1_stream *s, const struct piece *p, int64_t length)
{
	if (length == 0) {
		complete_message(s, p, HTTP1_FRAMING_EXACT);
		return;
	}
	http1_body_begin_length(&s->body, (uint64_t)length);
	s->state = ST_BODY;
}

static void begin_chunked_body(struct http1_stream *s)
{
	http1_body_begin_chunked(&s->body);
	s->state = ST_BODY;
}

static void begin_body_until_close(struct http1_stream *s)
{
	http1_body_begin_until_close(&s->body);
	s->state = ST_BODY;
}

static void begin_request_body(struct http1_stream *s, struct piece *p,
			       const struct http1_head_parse *hp)
{
	/* After these, the client may speak another protocol (RFC 9110
	 * sections 7.8 and 9.3.6). */
	s->peer_may_switch = hp->wants_upgrade || http1_slice_is(hp->head.method, "connect");
	if (hp->te_present) {
		if (hp->te_chunked_last)
			begin_chunked_body(s);
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
				const struct http1_head_parse *hp, bool answers_head)
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
			begin_chunked_body(s);
		else /* rule 4: read until close */
			begin_body_until_close(s);
		return;
	}
	if (hp->cl_invalid) {
		framing_error(s, p, "invalid Content-Length");
		return;
	}
	if (hp->head.content_length >= 0)
		begin_length_body(s, p, hp->head.content_length);
	else /* rule 8 */
		begin_body_until_close(s);
}

/* --- head ------------------------------------------------------------------ */

/* A head of len bytes, parsed into hp. */
static void head_parsed(struct http1_stream *s, struct piece *p, struct http1_head_parse *hp,
			size_t len)
{
	bool answers_head;

	if (!hp->start_ok) {
		reject_start(s, p, "malformed start line");
		return;
	}
	hp->head.head_bytes = len;
	answers_head = emit_head(p, s, &hp->head);
	s->body = (struct http1_body){0};
	if (hp->head.is_request)
		begin_request_body(s, p, hp);
	else
		begin_response_body(s, p, hp, answers_head);
}

/* The head is head[0..len), in the stream's buffer or in the piece. */
static void head_complete_at(struct http1_stream *s, struct piece *p, const uint8_t *head,
			     size_t len)
{
	struct http1_head_parse hp;

	http1_head_parse((const char *)head, len, is_requests(s), &hp);
	head_parsed(s, p, &hp, len);
}

static void head_complete(struct http1_stream *s, struct piece *p)
{
	head_complete_at(s, p, s->head, s->head_len);
}

/*
 * A head that starts at p->pos and ends inside the captured bytes (the common
 * case: one read brings a whole request head) is parsed where it is, without
 * the copy into the stream's buffer, in one pass: the parser finds the empty
 * line that ends it (http1_head_parse.head_end). The checks are those the
 * byte-wise path makes (check_start_byte, then head_line_ended per line,
 * whose empty line is the parser's), so both decide alike; when any fails,
 * the start line does not parse, or the head does not end in this piece,
 * nothing is consumed and the byte-wise path takes over.
 */
static bool head_in_place(struct http1_stream *s, struct piece *p)
{
	const uint8_t *head = p->data + p->pos;
	size_t avail = p->captured - p->pos;
	size_t min = http1_head_start_min_len(is_requests(s));
	struct http1_head_parse hp;

	if (avail > HTTP1_MAX_HEAD_BYTES)
		avail = HTTP1_MAX_HEAD_BYTES;
	if (avail < min)
		return false;
	/* What check_start_byte decides over the first min bytes: every method
	 * http1_detect.h accepts is 3-7 capitals and a space, a status line
	 * starts "HTTP/1.", so once the message start is accepted, a byte
	 * passes http1_head_start_byte_plausible() unless it is a LF. */
	if (memchr(head, '\n', min) || !http1_head_starts_message(is_requests(s), head, min))
		return false;
	/* No LF in the first min bytes: the start line is never the empty one. */
	http1_head_parse((const char *)head, avail, is_requests(s), &hp);
	if (!hp.start_ok || !hp.head_end)
		return false;
	s->start_checked = true;
	s->peer_may_switch = false;
	p->pos += hp.head_end;
	head_parsed(s, p, &hp, hp.head_end);
	return true;
}

/* The head cannot be read whole (cut by the capture, too large, or the
 * connection closed): report what there is, with an unknown end. Leaves the
 * stream in ST_LOST_IN_MESSAGE when a message is open. */
static void head_cut_short(struct http1_stream *s, struct piece *p)
{
	struct http1_head_parse hp;

	p->pos = p->total;
	s->state = ST_LOST;
	if (!s->start_checked)
		return;
	http1_head_parse((const char *)s->head, s->head_len, is_requests(s), &hp);
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

	if (!s->head_len && p->pos < p->captured && head_in_place(s, p))
		return;
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
	s->body = (struct http1_body){0};
}

static void step_body(struct http1_stream *s, struct piece *p)
{
	const char *why = NULL;

	switch (http1_body_step(&s->body, p->data, p->captured, p->total, &p->pos, &why)) {
	case HTTP1_BODY_MORE:
		break;
	case HTTP1_BODY_END:
		complete_message(s, p, HTTP1_FRAMING_EXACT);
		break;
	case HTTP1_BODY_UNSEEN:
		skip_piece(s, p, ST_LOST_IN_MESSAGE);
		break;
	case HTTP1_BODY_ERROR:
		framing_error(s, p, why);
		break;
	}
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
	case ST_BODY:
		step_body(s, p);
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
	s->body = (struct http1_body){0};
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
		if (!http1_head_starts_message(is_requests(s), p.data, p.captured))
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
	case ST_BODY:
		complete_message(s, &p,
				 s->body.state == HTTP1_BODY_UNTIL_CLOSE ? HTTP1_FRAMING_EXACT
									 : HTTP1_FRAMING_UNKNOWN);
		break;
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
