/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_frame_parser.h - one direction of an HTTP/2 connection, as bytes
 * arrive from DATA events, to whole frames (RFC 9113 section 4).
 *
 * Pieces may split a frame (or its 9-byte header) anywhere, and one piece
 * may hold many frames. Payloads are collected for the frame types whose
 * content matters to spans (HEADERS, CONTINUATION, SETTINGS, RST_STREAM,
 * GOAWAY, PUSH_PROMISE); DATA and unknown frames are only counted through,
 * so bytes the kernel did not copy are fine inside them. Anywhere else a
 * missing byte means the framing is lost: the parser stops for good and says
 * so once, rather than guess where the next frame begins.
 */
#ifndef KSPAN_HTTP2_FRAME_PARSER_H
#define KSPAN_HTTP2_FRAME_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http2_frame.h"

/* Frame types, flags and the header length: include/http2_frame.h, one
 * spelling for the kernel's write walk and this parser. */
/* Largest payload collected; larger frames of collected types are reported
 * with `complete` false (SETTINGS_MAX_FRAME_SIZE can reach 16 MiB). */
#define H2_COLLECT_MAX (64 * 1024)
/* A collect buffer larger than this is freed once its frame is handled. */
#define H2_COLLECT_KEEP 4096

struct http2_frame {
	uint32_t length; /* payload length from the frame header */
	uint8_t type;	 /* HTTP2_FRAME_*, or an extension type */
	uint8_t flags;
	uint32_t stream_id; /* reserved bit cleared */
	/* Collected types: the payload (complete == (payload_len == length));
	 * other types: NULL and 0. */
	const uint8_t *payload;
	size_t payload_len;
	bool complete;
};

struct http2_frame_callbacks {
	/* A whole frame arrived. */
	void (*on_frame)(void *ctx, const struct http2_frame *f);
	/* The framing is lost (why: a short reason); no more frames follow. */
	void (*on_framing_lost)(void *ctx, const char *why);
};

struct http2_frame_parser {
	uint8_t header[HTTP2_FRAME_HEADER_LEN];
	size_t header_have;
	struct http2_frame cur; /* the frame whose payload is arriving */
	bool in_payload;
	size_t payload_left; /* payload bytes of cur still to come */
	uint8_t *collect;    /* cur's payload so far (collected types) */
	size_t collect_len, collect_cap;
	size_t preface_have; /* bytes of the client preface matched so far */
	bool preface_possible;
	bool first_frame_pending; /* after a preface the first frame is SETTINGS */
	bool lost;
};

/* `may_start_with_preface`: the client-to-server direction from its first
 * byte: a leading client preface is skipped. */
void http2_frame_parser_init(struct http2_frame_parser *p, bool may_start_with_preface);
void http2_frame_parser_free(struct http2_frame_parser *p);

/* Feeds one piece: `captured` bytes at `data`, then `total - captured` bytes
 * the kernel did not copy. */
void http2_frame_parser_feed(struct http2_frame_parser *p, const uint8_t *data, size_t captured,
			     size_t total, const struct http2_frame_callbacks *cb, void *ctx);

static inline bool http2_frame_parser_lost(const struct http2_frame_parser *p)
{
	return p->lost;
}

#endif /* KSPAN_HTTP2_FRAME_PARSER_H */
