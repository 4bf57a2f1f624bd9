/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_assembler.h - from DATA/CLOSE events of HTTP/1.x connections to
 * finished SERVER and CLIENT spans.
 *
 * Each connection has a request stream and a response stream (http1_parser)
 * and a FIFO of requests awaiting their response (HTTP/1.1 pipelining answers
 * in order, RFC 9112 section 9.3.2). A span starts at its request's first
 * byte, ends at its response's last byte, and is submitted to the pipeline
 * the moment the response completes. Responses whose end cannot be framed
 * end at the last write before the next message, or when the connection goes
 * quiet for idle_timeout or closes.
 *
 * Attributes, names, the status rule and trace ids are the HTTP span
 * layer's (http_span.h, trace_context_choice.h), shared with HTTP/2;
 * connections are kept in a conn_registry.
 */
#ifndef KSPAN_HTTP1_ASSEMBLER_H
#define KSPAN_HTTP1_ASSEMBLER_H

#include <stdbool.h>
#include <stdint.h>

#include "model/agent_stats.h"
#include "lib/clock.h"
#include "kspan_abi.h"
#include "model/span_sink.h"
#include "config/sampler.h"
#include "ingest/process_table.h"
#include "assembly/conn_registry.h"

struct http1_assembler_config {
	bool capture_query; /* keep url.query values */
	/* Decides each span's sampled flag; NULL: the flag the context
	 * carries (trace_context_choice.h). */
	const struct sampler *sampler;
	uint64_t idle_timeout_ns; /* flush a response nobody frames after this */
	/* The bound on connections, shared with the HTTP/2 assembler; NULL:
	 * one of the assembler's own, with the defaults. */
	struct conn_budget *conns;
};

struct http1_assembler {
	struct http1_assembler_config cfg;
	struct conn_registry conns;    /* struct http1_conn by conn id */
	struct conn_budget own_budget; /* when cfg.conns is NULL */
	struct process_table *procs;
	struct span_sink *out; /* where finished spans go */
	struct agent_stats *stats;
	const struct mono_to_unix *clock;
};

int http1_assembler_init(struct http1_assembler *a, const struct http1_assembler_config *cfg,
			 struct process_table *procs, struct span_sink *out,
			 struct agent_stats *stats, const struct mono_to_unix *clock);
void http1_assembler_free(struct http1_assembler *a);

/* `ev` was checked by the reader: captured_len payload bytes follow it. */
void http1_assembler_on_data(struct http1_assembler *a, const struct kspan_data_event *ev);
void http1_assembler_on_close(struct http1_assembler *a, const struct kspan_conn_event *ev);
void http1_assembler_on_process_exit(struct http1_assembler *a, uint32_t tgid, uint64_t ts_ns);
/* Flushes idle connections and forgets long-dead ones. */
void http1_assembler_tick(struct http1_assembler *a, uint64_t now_mono_ns);
/* Shutdown: every span whose response has begun is finished now; requests
 * still waiting for a response are counted and reported. */
void http1_assembler_finish_all(struct http1_assembler *a);

#endif /* KSPAN_HTTP1_ASSEMBLER_H */
