// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_http1_stream.c - libFuzzer target for user/protocol/http1_stream.c
 * (with http1_head.c and http1_body.c).
 *
 * The input is a sequence of pieces, each [control][size][size payload bytes]
 * (the last payload may be short):
 *
 *   control bit 0     direction: 0 requests stream, 1 responses stream
 *   control bits 1-3  uncaptured bytes after the payload (index into
 *                     extra_bytes[]), as when the capture is shorter than
 *                     the syscall
 *   control bit 4     on_head answers "this response is to a HEAD request"
 *   control bit 5     the payload is repeated, to reach the head size limit
 *                     from a short input
 *   control bit 6     the stream is closed after the piece
 *   control bit 7     only the first half of the payload counts as captured
 *
 * Both streams are closed at the end. Besides the sanitizers, the callbacks
 * check what the API promises: slices are readable, at most one message is
 * open per stream, and every completion follows its head.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http1_stream.h"

#define REPEAT_TIMES 40

static const size_t extra_bytes[8] = {0, 0, 0, 1, 2, 9, 700, (size_t)1 << 20};

struct fuzz_stream {
	struct http1_stream *s;
	uint64_t heads;
	uint64_t completes;
	bool answer_head;
	uint64_t bytes_fed; /* captured or not */
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* Reads every byte so that AddressSanitizer sees a slice out of bounds. */
static unsigned touch_slice(struct http1_slice v)
{
	unsigned sum = 0;

	check(v.ptr != NULL && v.len <= HTTP1_MAX_HEAD_BYTES);
	for (size_t i = 0; i < v.len; i++)
		sum += (unsigned char)v.ptr[i];
	return sum;
}

static bool on_head(void *ctx, unsigned msg_index, const struct http1_head *h)
{
	struct fuzz_stream *f = ctx;
	volatile unsigned sink = 0;

	check(f->heads == f->completes);
	check(msg_index < 1u << 20);
	check(h->head_bytes <= HTTP1_MAX_HEAD_BYTES);
	check(h->version_minor >= 0 && h->version_minor <= 9);
	check(h->content_length >= -1);
	if (h->is_request) {
		check(h->method.len > 0);
		sink += touch_slice(h->method) + touch_slice(h->target);
	} else {
		check(h->status_code >= 100 && h->status_code <= 599);
	}
	sink += touch_slice(h->host) + touch_slice(h->user_agent);
	sink += touch_slice(h->traceparent) + h->traceparent_fields;
	check(w3c_tracestate_result(&h->tracestate) <= KSPAN_TRACESTATE_MAX);
	(void)sink;
	f->heads++;
	return f->answer_head;
}

static void on_complete(void *ctx, unsigned msg_index, const struct http1_complete_info *info)
{
	struct fuzz_stream *f = ctx;

	check(f->completes + 1 == f->heads);
	check(msg_index < 1u << 20);
	check(info->framing == HTTP1_FRAMING_EXACT || info->framing == HTTP1_FRAMING_UNKNOWN);
	check(info->framing == HTTP1_FRAMING_EXACT || info->body_bytes == 0);
	check(info->body_bytes <= f->bytes_fed);
	f->completes++;
}

static void on_error(void *ctx, const char *why)
{
	(void)ctx;
	check(why != NULL && why[0] != '\0');
}

static const struct http1_callbacks callbacks = {
    .on_head = on_head,
    .on_complete = on_complete,
    .on_error = on_error,
};

/* After every call: one message at most is open, and the stream knows it. */
static void check_stream(const struct fuzz_stream *f)
{
	check(f->heads - f->completes <= 1);
	if (f->heads != f->completes)
		check(http1_stream_in_message(f->s));
}

static void close_stream(struct fuzz_stream *f)
{
	http1_stream_close(f->s, &callbacks, f);
	check(f->heads == f->completes);
	check(!http1_stream_in_message(f->s));
}

static void feed_piece(struct fuzz_stream *f, uint8_t control, const uint8_t *payload, size_t len)
{
	static uint8_t repeated[255 * REPEAT_TIMES];
	const uint8_t *data = payload;
	size_t captured = len, total;
	uint8_t *copy;

	if ((control & 0x20) && len > 0) {
		for (size_t i = 0; i < REPEAT_TIMES; i++)
			memcpy(repeated + i * len, payload, len);
		data = repeated;
		captured = len * REPEAT_TIMES;
	}
	total = captured + extra_bytes[(control >> 1) & 7];
	if (control & 0x80)
		captured /= 2;
	/* A heap copy of exactly the captured bytes: reading past them is
	 * caught. */
	copy = malloc(captured ? captured : 1);
	check(copy != NULL);
	memcpy(copy, data, captured);
	f->answer_head = control & 0x10;
	f->bytes_fed += total;
	http1_stream_feed(f->s, copy, captured, total, &callbacks, f);
	free(copy);
	check_stream(f);
	if (control & 0x40)
		close_stream(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stream streams[2] = {
	    {.s = http1_stream_new(HTTP1_STREAM_REQUESTS)},
	    {.s = http1_stream_new(HTTP1_STREAM_RESPONSES)},
	};
	size_t pos = 0;

	check(streams[0].s && streams[1].s);
	while (pos + 2 <= size) {
		uint8_t control = data[pos];
		size_t len = data[pos + 1];

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		feed_piece(&streams[control & 1], control, data + pos, len);
		pos += len;
	}
	for (int i = 0; i < 2; i++) {
		close_stream(&streams[i]);
		http1_stream_free(streams[i].s);
	}
	return 0;
}
