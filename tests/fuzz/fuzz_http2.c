// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_http2.c - libFuzzer target for the HTTP/2 path: the frame parser,
 * HPACK decoding (full and without the dynamic table) and stream assembly,
 * driven through http2_assembler_on_data() with synthetic DATA events.
 *
 * The input is a sequence of pieces, each [control][size][size bytes] (the
 * last may be short):
 *
 *   control bit 0     direction: 0 ingress, 1 egress
 *   control bits 1-2  uncaptured bytes after the payload (extra_bytes[])
 *   control bit 3     skip a seq number first (a lost event)
 *   control bit 4     the event is flagged ADOPTED (partial decoding)
 *   control bit 5     the connection closes after the piece
 *   control bit 6     a fresh connection id afterwards
 *   control bit 7     the process exits after the piece
 *
 * The first input byte picks the role (even: server, odd: client). Spans go
 * to a pipeline without exporters, whose metrics stage records them (a small
 * cardinality limit, so the overflow set is reached too). Besides the sanitizers, the assembler
 * must not leak (LeakSanitizer) or crash on any input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"
#include "assembly/http2_assembler.h"

static const uint32_t extra_bytes[4] = {0, 3, 700, 1u << 20};

struct fuzz_env {
	struct agent_stats stats;
	struct mono_to_unix clock;
	struct process_table procs;
	struct pipeline pipeline;
	struct sampler sampler;
	struct metric_store store;
	struct span_metrics metrics;
	struct http2_assembler a;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_env env;
	static uint8_t buf[sizeof(struct kspan_data_event) + KSPAN_CAPTURE_MAX];
	struct kspan_data_event *ev = (struct kspan_data_event *)buf;
	struct kspan_conn_event close_ev = {0};
	struct kspan_h2_stream_event ctx_ev;
	uint16_t seq[2] = {0, 0};
	uint64_t conn_id = 1, ts = 1000;
	uint8_t role;
	size_t pos = 1;

	if (size < 1)
		return 0;
	role = (data[0] & 1) ? KSPAN_ROLE_CLIENT : KSPAN_ROLE_SERVER;
	memset(&env, 0, sizeof(env));
	pipeline_init(&env.pipeline, &env.stats);
	sampler_from_env(&env.sampler);
	if (metric_store_init(&env.store, 4, 0, &env.stats) ||
	    span_metrics_init(&env.metrics, &env.store, &env.stats))
		abort();
	env.pipeline.metrics = &env.metrics;
	/* A small stream bound: eviction runs too. */
	struct http2_assembler_config cfg = {
	    .propagation = KSPAN_PROPAGATE_TUPLE, .max_streams = 16, .sampler = &env.sampler};

	if (process_table_init(&env.procs, "/nonexistent-proc") ||
	    http2_assembler_init(&env.a, &cfg, &env.procs, &env.pipeline.sink, &env.stats,
				 &env.clock))
		abort();
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos], len = data[pos + 1];
		int dir = ctl & 1;
		size_t n = size - pos - 2 < len ? size - pos - 2 : len;

		pos += 2;
		memset(ev, 0, sizeof(*ev));
		ev->hdr.type = KSPAN_EVENT_DATA;
		ev->hdr.tgid = 4242;
		ev->hdr.ts_ns = ts += 1000;
		ev->ts_enter_ns = ts - 500;
		ev->conn_id = conn_id;
		ev->tuple.family = 2;
		ev->tuple.local_port = 50051;
		ev->tuple.remote_port = 40000;
		ev->direction = dir ? KSPAN_DIR_EGRESS : KSPAN_DIR_INGRESS;
		ev->role = role;
		ev->protocol = KSPAN_PROTO_HTTP2;
		if (ctl & 0x08)
			seq[dir]++;
		ev->seq = seq[dir]++;
		ev->flags = (ctl & 0x10) ? KSPAN_DATA_F_ADOPTED : 0;
		ev->captured_len = (uint32_t)n;
		ev->bytes_total = (uint32_t)n + extra_bytes[(ctl >> 1) & 3];
		memcpy(ev + 1, data + pos, n);
		pos += n;
		/* A kernel-decided CLIENT stream context before the bytes, as
		 * the kernel sends it: for an odd stream id the next byte
		 * names, with ids (and flags) from the input. */
		if ((ctl & 0x04) && dir && pos + 1 + sizeof(ctx_ev.ctx) <= size) {
			memset(&ctx_ev, 0, sizeof(ctx_ev));
			ctx_ev.hdr.type = KSPAN_EVENT_H2_STREAM_CTX;
			ctx_ev.hdr.tgid = 4242;
			ctx_ev.conn_id = conn_id;
			ctx_ev.stream_id = 2u * data[pos] + 1;
			memcpy(&ctx_ev.ctx, data + pos + 1, sizeof(ctx_ev.ctx));
			pos += 1 + sizeof(ctx_ev.ctx);
			http2_assembler_on_stream_ctx(&env.a, &ctx_ev);
		}
		http2_assembler_on_data(&env.a, ev);
		if (ctl & 0x20) {
			close_ev.hdr.type = KSPAN_EVENT_CONN_CLOSE;
			close_ev.hdr.ts_ns = ts += 1000;
			close_ev.conn_id = conn_id;
			close_ev.seq_ingress = seq[0];
			close_ev.seq_egress = seq[1];
			http2_assembler_on_close(&env.a, &close_ev);
		}
		if (ctl & 0x40) {
			conn_id++;
			seq[0] = seq[1] = 0;
		}
		if (ctl & 0x80)
			http2_assembler_on_process_exit(&env.a, 4242, ts += 1000);
		http2_assembler_tick(&env.a, ts);
	}
	http2_assembler_finish_all(&env.a);
	http2_assembler_free(&env.a);
	process_table_free(&env.procs);
	span_metrics_free(&env.metrics);
	metric_store_free(&env.store);
	return 0;
}
