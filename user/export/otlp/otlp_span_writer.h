/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_span_writer.h - kspan's spans written straight into OTLP protobuf
 * bytes, each span once, when it ends.
 *
 * The writer keeps one buffer per resource of the open batch, holding that
 * resource's spans already encoded as ScopeSpans.spans entries. Sealing the
 * batch writes the ExportTraceServiceRequest around them: per resource the
 * ResourceSpans and ScopeSpans headers, the Resource and the
 * InstrumentationScope, then the span bytes: in front of the spans, in the
 * room the buffer left, when the batch has one resource (the buffer is then
 * the request), else copied behind the headers. The bytes are the ones
 * protobuf-c's pack of otlp_encoder.c's message tree gives for the same spans
 * (same fields, same order, same omitted defaults): protobuf-c is the schema
 * and the oracle (tests/unit/export/otlp/test_otlp_span_writer.c,
 * tests/fuzz/fuzz_otlp_span_writer.c), this is the fast path. README, design
 * notes: why a hand writer.
 */
#ifndef KSPAN_OTLP_SPAN_WRITER_H
#define KSPAN_OTLP_SPAN_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "model/span.h"

struct otlp_span_group {
	struct resource *resource; /* counted reference; NULL: spans without one */
	uint8_t *buf;		   /* room for the request's header, then the spans */
	size_t head;		   /* bytes before the spans (the header's room) */
	size_t len, cap;	   /* len: of the encoded ScopeSpans.spans entries */
	size_t last_cap;	   /* cap of the buffer seal handed out */
};

struct otlp_span_writer {
	size_t attr_value_limit;	/* string values cut to this (UTF-8 safe); 0: none */
	struct otlp_span_group *groups; /* in order of first appearance in the batch */
	size_t n_groups, cap_groups;	/* groups beyond n_groups keep their buffers */
	size_t last;			/* group of the previous span */
	size_t n_spans;			/* spans in the open batch */
};

void otlp_span_writer_init(struct otlp_span_writer *w, size_t attr_value_limit);
/* Encodes s into its resource's buffer; the writer keeps no reference to s.
 * Returns 0 or -ENOMEM (s is then not in the batch). */
int otlp_span_writer_add(struct otlp_span_writer *w, const struct span *s);
/* The open batch as one ExportTraceServiceRequest in a malloc'd buffer
 * (*out NULL and *len 0 for an empty batch); the writer is empty afterwards,
 * also when it returns -ENOMEM (the batch is then lost). */
int otlp_span_writer_seal(struct otlp_span_writer *w, uint8_t **out, size_t *len);
void otlp_span_writer_free(struct otlp_span_writer *w);

/* The same request for n spans at once (tests, and otlp_encode_request). */
int otlp_span_writer_encode(struct span *const *spans, size_t n, size_t attr_value_limit,
			    uint8_t **out, size_t *len);

#endif /* KSPAN_OTLP_SPAN_WRITER_H */
