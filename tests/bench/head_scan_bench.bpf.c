// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * head_scan_bench.bpf.c - the request head scan alone, run by
 * BPF_PROG_TEST_RUN (head_scan_bench.c): an XDP program that ignores its
 * packet and scans the head held in a map, as the data path does. Built
 * twice: against include/ (the word-at-a-time scan) and, with
 * -DHEAD_SCAN_OLD, against the headers of the commit before it (the
 * byte-at-a-time bpf_loop searches), which tests/bench/bench_head_scan.sh
 * extracts from git.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "kspan_bytes.h"
#include "w3c_traceparent.h"
#include "w3c_tracestate.h"
#ifdef HEAD_SCAN_OLD
#include "http1_request_shape.h"
#else
#include "http1_head_scan.h"
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct bench_head {
	__u8 payload[KSPAN_SCRATCH_SIZE];
	__u32 len;
	__u32 result; /* what the scan found, so that it is not optimised away */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_head);
} heads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http1_trace_fields);
} fields SEC(".maps");

#ifdef HEAD_SCAN_OLD
/* What a request start cost before: the traceparent search, the trace
 * fields pass when one was found, the two shape passes and the framing
 * search. */
__noinline int bench_scan(struct bench_head *b)
{
	struct http1_request_shape shape = {};
	struct http1_request_frame f = {};
	struct w3c_trace_context tc = {};
	struct http1_trace_fields *tf;
	__u32 off = 0, len = 0, zero = 0, n;
	int r = 0;

	if (!b)
		return 0;
	n = b->len < KSPAN_CAPTURE_MAX ? b->len : KSPAN_CAPTURE_MAX;
	if (http1_find_header(b->payload, n, KSPAN_CTX_SCAN_MAX, "traceparent", 11, &off, &len) ==
	    0) {
		tf = bpf_map_lookup_elem(&fields, &zero);
		if (tf) {
			http1_trace_fields_scan(b->payload, n, KSPAN_CTX_SCAN_MAX, tf);
			r += tf->traceparent_lines + tf->tracestate.out_len;
		}
		r += w3c_traceparent_parse(b->payload, off, len, &tc) + tc.trace_id[0];
	}
	http1_request_shape_scan(b->payload, n, &shape);
	r += http1_request_frame_of(&shape, &f) + f.head_len;
	b->result = r;
	return 0;
}
#else
struct bench_value {
	__u32 off;
	__u32 len;
};

__noinline int bench_head_scan(struct bench_head *b, struct http1_head_scan *h)
{
	if (!b || !h)
		return 0;
	http1_head_scan_run(b->payload, b->len < KSPAN_CAPTURE_MAX ? b->len : KSPAN_CAPTURE_MAX, h);
	return 0;
}

__noinline int bench_value(struct bench_head *b, const struct http1_head_scan *h,
			   struct bench_value *v)
{
	if (!b || !h || !v)
		return -1;
	return http1_head_field_value(b->payload, h, h->traceparent_line, 11, &v->off, &v->len);
}

/* The same decisions from one scan, as the data path now makes them. */
__noinline int bench_scan(struct bench_head *b)
{
	struct http1_head_scan h;
	struct http1_request_frame f = {};
	struct w3c_trace_context tc = {};
	struct bench_value v = {};
	struct http1_trace_fields *tf;
	__u32 zero = 0;
	int r = 0;

	if (!b)
		return 0;
	bench_head_scan(b, &h);
	if (h.traceparent_line && bench_value(b, &h, &v) == 0) {
		r += h.traceparent_lines;
		r += w3c_traceparent_parse(b->payload, v.off, v.len, &tc) + tc.trace_id[0];
		tf = bpf_map_lookup_elem(&fields, &zero);
		if (tf && h.tracestate_line) {
			http1_trace_fields_scan_from(b->payload, http1_head_tracestate_end(&h),
						     KSPAN_CTX_SCAN_MAX, h.tracestate_line, tf);
			r += tf->tracestate.out_len;
		}
	}
	r += http1_request_frame_of_scan(b->payload, &h, &f) + f.head_len;
	b->result = r;
	return 0;
}
#endif

SEC("xdp")
int head_scan_bench(struct xdp_md *ctx)
{
	__u32 zero = 0;

	(void)ctx;
	bench_scan(bpf_map_lookup_elem(&heads, &zero));
	return XDP_PASS;
}
