/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_encoder.h - spans to OTLP protobuf bytes, and the one OTLP message
 * kspan reads back (the export response).
 *
 * The encoder builds one ExportTraceServiceRequest (OTLP specification,
 * opentelemetry/proto/collector/trace/v1): one ResourceSpans per distinct
 * span->resource pointer, in order of first appearance, each with a single
 * ScopeSpans whose InstrumentationScope is "kspan" KSPAN_VERSION. It only
 * reads the spans; the caller keeps its references.
 */
#ifndef KSPAN_OTLP_ENCODER_H
#define KSPAN_OTLP_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/span.h"
#include "lib/version.h"

/* Fallback for a build without version.h's definition. */
#ifndef KSPAN_VERSION
#define KSPAN_VERSION "0.1.0"
#endif

/* The InstrumentationScope name of every span kspan sends. */
#define OTLP_SCOPE_NAME "kspan"

/*
 * Span.flags bits 8 and 9 (trace.proto, enum SpanFlags): bit 8 says bit 9 is
 * meaningful, bit 9 says the parent span lives in another process.
 */
#define OTLP_SPAN_FLAGS_TRACE_FLAGS_MASK	   0x000000ffu
#define OTLP_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK 0x00000100u
#define OTLP_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK	   0x00000200u

/*
 * Encode n spans (n may be 0: an empty request) into a newly allocated buffer
 * that the caller releases with otlp_encode_free(). Strings that are not valid
 * UTF-8 are sent with U+FFFD in place of each bad byte, because proto3 string
 * fields must be UTF-8 and receivers written in Go reject the whole request
 * otherwise. Returns 0, -EINVAL on bad arguments or -ENOMEM.
 */
int otlp_encode_traces(struct span *const *spans, size_t n, uint8_t **out, size_t *out_len);
void otlp_encode_free(uint8_t *buf);

/* The same request in OTLP JSON (otlp_json.h); release with otlp_encode_free(). */
int otlp_encode_traces_json(struct span *const *spans, size_t n, uint8_t **out, size_t *out_len);

struct otlp_encode_options {
	bool json;		 /* OTLP JSON instead of protobuf */
	size_t attr_value_limit; /* string attribute values cut to this many bytes
				  * (UTF-8 safe); 0: no limit beyond span.h's */
};

/* Either encoding, with options (NULL: protobuf, no limit). */
int otlp_encode_request(struct span *const *spans, size_t n, const struct otlp_encode_options *o,
			uint8_t **out, size_t *out_len);

/* Span.flags for s: W3C trace flags plus the parent-is-remote bits. */
uint32_t otlp_span_flags(const struct span *s);

/*
 * Read an ExportTraceServiceResponse body (empty is valid: full success).
 * Sets *rejected_spans from partial_success (0 when absent) and copies its
 * error_message, cut to fit, into msg (msg_size bytes, may be 0). Returns 0,
 * or -EBADMSG when the body is not such a message.
 */
int otlp_decode_export_response(const uint8_t *buf, size_t len, int64_t *rejected_spans, char *msg,
				size_t msg_size);

#endif /* KSPAN_OTLP_ENCODER_H */
