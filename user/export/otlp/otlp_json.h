/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_json.h - any protobuf-c message as OTLP JSON (protocol/otlp.md, "JSON
 * Protobuf Encoding"): the proto3 JSON mapping with OTLP's exceptions. Field
 * names in lowerCamelCase; trace_id, span_id and parent_span_id as lowercase
 * hex, not base64; enums as integers; 64-bit integers as decimal strings;
 * fields holding their default value left out (a oneof member that is set is
 * always written, even when zero).
 */
#ifndef KSPAN_OTLP_JSON_H
#define KSPAN_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* *out is malloc'd, NUL-terminated, *len without the NUL. 0 or -ENOMEM. */
int otlp_json_write(const ProtobufCMessage *msg, char **out, size_t *len);

/*
 * Read an ExportTraceServiceResponse in JSON (empty or "{}": full success):
 * partialSuccess.rejectedSpans (string or number) and errorMessage, cut to
 * fit msg. Returns 0 or -EBADMSG.
 */
int otlp_json_decode_export_response(const uint8_t *buf, size_t len, int64_t *rejected_spans,
				     char *msg, size_t msg_size);

#endif /* KSPAN_OTLP_JSON_H */
