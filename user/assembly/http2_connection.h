/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_connection.h - one HTTP/2 connection as the assembler follows it,
 * shared by the assembler's three files (and by nothing else):
 *   http2_assembler.c      frames and the connection's life: events in,
 *                          gaps, close, process exit, time;
 *   http2_header_blocks.c  header blocks: HEADERS/CONTINUATION gathered per
 *                          direction, SETTINGS_HEADER_TABLE_SIZE, HPACK
 *                          decoding (full, or static-only when the start
 *                          of the direction was not seen);
 *   http2_streams.c        streams to spans: request and response blocks,
 *                          stream ends, responses read before their request.
 */
#ifndef KSPAN_HTTP2_CONNECTION_H
#define KSPAN_HTTP2_CONNECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "assembly/conn_registry.h"
#include "assembly/http2_assembler.h"
#include "protocol/hpack_decoder.h"
#include "protocol/http2_frame_parser.h"
#include "w3c_tracestate.h"

/* Open streams per connection at most, early responses included: what
 * servers allow as SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 6.5.2
 * recommends at least 100; nginx 128, Go 250, Apache 100). Streams beyond
 * it are not traced (h2_streams_dropped); the total over every connection
 * is the assembler's max_streams. */
#define MAX_OPEN_STREAMS 1024

/* The fields of one header block that spans use, copied out of the
 * decoder's buffers. */
struct h2_fields {
	char method[24], scheme[16], authority[256], path[2048], content_type[128];
	char user_agent[512], traceparent[64]; /* the first traceparent */
	unsigned traceparent_fields;	       /* how many traceparent fields */
	struct w3c_tracestate tracestate;      /* every tracestate field, combined */
	int status;			       /* :status, 0 when absent */
	int grpc_status;		       /* -1 when absent */
	bool has_method;		       /* a request's pseudo-headers */
};

/*
 * What a CLIENT stream's response showed before the request that opened it
 * was processed: the reader thread's syscall can exit (and reach the ring)
 * before the writer's. Kept until the request comes, then applied in order.
 */
struct h2_early_response {
	uint64_t since_mono; /* when the first of it was read */
	int status;	     /* :status of the final head, 0 when none */
	bool grpc_content;   /* its content-type was application/grpc* */
	bool partial;	     /* a block was decoded without the dynamic table */
	bool ended;	     /* END_STREAM or a failure was seen, at end_mono */
	uint64_t end_mono;
	const char *error_type; /* the failure, when ended by one */
	char message[64];
};

struct h2_stream {
	uint32_t id;
	struct h2_conn *conn;
	struct h2_stream *older, *newer; /* in the assembler's activity list */
	struct span *span;		 /* NULL while only its early response is known */
	struct h2_early_response *early;
	bool grpc;
	bool response_started; /* the final (non-1xx) response head arrived */
	bool join_parent;      /* SERVER without a traceparent: same-node join */
	int grpc_status;       /* -1 until known */
};

/* The header block being gathered in one direction (HEADERS or
 * PUSH_PROMISE, then CONTINUATION frames until END_HEADERS). */
struct h2_block {
	uint8_t *buf;
	size_t len, cap;
	uint32_t stream_id;
	bool active, end_stream, push, too_big;
};

struct h2_direction {
	struct http2_frame_parser frames;
	struct hpack_decoder hpack;
	struct h2_block block;
	/* SETTINGS_HEADER_TABLE_SIZE values the peer announced for this
	 * direction's encoder, applied in order as the encoder acknowledges
	 * them (SETTINGS ACK travels in this direction, in step with the
	 * header blocks it governs; RFC 9113 6.5.3). */
	uint32_t pending[8]; /* oldest first; SIZE_UNCHANGED: no table size */
	unsigned pending_count;
	uint16_t next_seq;
	bool seen;	    /* an event of this direction arrived */
	bool full_decoding; /* its HPACK state is known from the start */
};

struct h2_conn {
	struct conn_entry base;	    /* first: the registry's view */
	struct h2_direction dir[2]; /* [0] ingress, [1] egress */
	struct u64_map streams;	    /* stream id -> struct h2_stream * */
	uint32_t last_request_stream;
	unsigned early_count; /* streams with span == NULL */
	bool dead;	      /* framing lost: nothing more is followed */
	/* Valid while a piece is being fed. */
	struct http2_assembler *a;
	const struct kspan_data_event *ev;
	int cur;
};

static inline bool h2_is_server(const struct h2_conn *c)
{
	return c->base.role == KSPAN_ROLE_SERVER;
}

/* Requests travel in the direction the server reads. */
static inline bool h2_is_request_dir(const struct h2_conn *c, int dir)
{
	return (dir == 0) == h2_is_server(c);
}

/* http2_assembler.c */
/* Framing is lost: open streams are dropped, the connection not followed. */
void h2_conn_kill(struct h2_conn *c, const char *why);

/* http2_header_blocks.c */
void h2_on_headers_frame(struct h2_conn *c, const struct http2_frame *f);
void h2_on_settings(struct h2_conn *c, const struct http2_frame *f);

/* http2_streams.c */
/* A frame of st was seen: it becomes the most recently active stream. */
void h2_stream_touch(struct h2_conn *c, struct h2_stream *st);
void h2_on_request_block(struct h2_conn *c, uint32_t id, const struct h2_fields *f, bool full);
void h2_on_response_block(struct h2_conn *c, struct h2_stream *st, const struct h2_fields *f,
			  bool full);
/* The stream a response frame belongs to; on a CLIENT, maybe a new one
 * waiting for its request. NULL: none. */
struct h2_stream *h2_response_stream(struct h2_conn *c, uint32_t id);
void h2_finish_stream(struct h2_conn *c, struct h2_stream *st, uint64_t end_mono);
/* The stream ended without its response: status ERROR with the reason. */
void h2_fail_stream(struct h2_conn *c, struct h2_stream *st, uint64_t end_mono,
		    const char *error_type, const char *message);
/* h2_fail_stream for every open stream with an id above `above`. */
void h2_fail_streams(struct h2_conn *c, uint64_t end, uint32_t above, const char *error_type,
		     const char *message);
/* Frees every stream without a span being sent. */
void h2_drop_streams(struct h2_conn *c);
/* Responses that waited longer than HTTP_EARLY_RESPONSE_WAIT_NS for their
 * request at now_mono (all of them at UINT64_MAX) are dropped, counted. */
void h2_drop_early_streams(struct h2_conn *c, uint64_t now_mono);

#endif /* KSPAN_HTTP2_CONNECTION_H */
