/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * passthrough.bpf.h - pass-through proxies: a process (nginx, haproxy,
 * envoy, a gateway) that forwards the traceparent of the request it serves
 * in the request it sends upstream. Such a process is an event loop, which
 * in-process parenting never uses (trace_context.bpf.h); the header itself
 * names the request instead.
 *
 * A SERVER request that arrives with a valid version-00 traceparent is
 * remembered while it is open (from its read until its response begins on
 * that connection) under the process, its trace id and its parent-id. An
 * HTTP/1 CLIENT request the same process writes whose own, single traceparent
 * is exactly that one (same trace id, parent-id and flags, 55 characters) is
 * the child of that SERVER span. When kspan inserts headers and followed the
 * connection from its first byte to this request's start (the same proof
 * insertion needs, h1_tx__enter), the sk_msg program rewrites the 16 hex
 * digits of the forwarded parent-id in place to the CLIENT span's id - no
 * byte added or removed, after checking that the bytes there are still the
 * header's (header_insertion.bpf.h) - so the next hop is the CLIENT's child.
 * Otherwise the CLIENT request is remembered for the same-node join with the
 * parent-id it forwarded: a SERVER on this node that reads exactly that
 * header from exactly that request takes the CLIENT span as its parent
 * (peer__claim_forwarded).
 *
 * Never a wrong link: two open requests of one process with the same
 * traceparent (a client that reuses one, or a retry) make the entry
 * ambiguous until both ended, and nothing links to it; a header that differs
 * in any byte matches nothing and is left alone.
 */
#ifndef KSPAN_PASSTHROUGH_BPF_H
#define KSPAN_PASSTHROUGH_BPF_H

#include "base/conn_tracking.bpf.h"
#include "propagation/trace_context.bpf.h"

/* "00-" trace-id "-": where the parent-id starts in a traceparent value. */
#define TRACEPARENT_PARENT_OFF 36

struct passthrough_key {
	__u32 tgid;
	__u32 _pad;
	__u8 trace_id[16];
	__u8 parent_id[8]; /* as the request's traceparent names it */
};

struct passthrough_request {
	__u8 span_id[8]; /* the SERVER span */
	__u32 open;	 /* requests open under this key */
	__u8 trace_flags;
	__u8 header_flags; /* the traceparent's trace-flags byte */
	__u8 ambiguous;	   /* two were open at once: never linked */
	__u8 _pad;
};

/* (process, trace id, parent-id) -> the SERVER request that arrived with
 * that traceparent and is open. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_PASSTHROUGH);
	__type(key, struct passthrough_key);
	__type(value, struct passthrough_request);
} passthrough_requests SEC(".maps");

/* connection id -> the key of its open request in passthrough_requests,
 * to close it when the response begins. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_PASSTHROUGH);
	__type(key, __u64);
	__type(value, struct passthrough_key);
} passthrough_conns SEC(".maps");

/* The SERVER request open on connection c, if it is remembered, is no
 * longer open (its response began, or another request began on the
 * connection). Only a connection marked as holding an entry looks it up:
 * the mark is set with every entry stored (and cleared here), so an entry
 * it skips does not exist; one the LRU evicted is a miss either way. */
static __always_inline void passthrough__server_end(struct conn_state *c)
{
	struct passthrough_key *k;
	struct passthrough_request *v;
	__u64 conn_id = c->conn_id;

	if (!c->server_passthrough)
		return;
	c->server_passthrough = 0;
	k = bpf_map_lookup_elem(&passthrough_conns, &conn_id);
	if (!k)
		return;
	v = bpf_map_lookup_elem(&passthrough_requests, k);
	if (!v)
		counter__inc(KSPAN_CNT_PASSTHROUGH_EVICTED);
	else {
		/* No use of the atomic's result: BPF before v3 (clang -mcpu)
		 * has no fetching add. */
		__sync_fetch_and_add(&v->open, -1);
		if (PEER_ONCE(v->open) == 0)
			bpf_map_delete_elem(&passthrough_requests, k);
	}
	bpf_map_delete_elem(&passthrough_conns, &conn_id);
}

/* A SERVER request began on connection c with context ctx, whose traceparent
 * kspan_trace_ctx_decide() parsed from the head in head_scan_scratch (when
 * ctx says it did). A global function: its locals stay off the stack of the
 * read's exit, deep already (6.1's 512-byte bound on the whole chain). */
__noinline int kspan_passthrough_server_begin(struct conn_state *c,
					      const struct kspan_trace_ctx *ctx)
{
	struct passthrough_request fresh = {}, *v;
	struct passthrough_key k = {};
	const struct head_scratch *hs;
	__u64 conn_id;
	__u32 zero = 0;

	if (!c || !ctx)
		return 0;
	passthrough__server_end(c);
	conn_id = c->conn_id;
	hs = bpf_map_lookup_elem(&head_scan_scratch, &zero);
	if (!hs ||
	    (ctx->flags & (KSPAN_CTX_F_HAS_HEADER | KSPAN_CTX_F_HAS_PARENT)) !=
		(KSPAN_CTX_F_HAS_HEADER | KSPAN_CTX_F_HAS_PARENT) ||
	    hs->tc.version != 0 || hs->traceparent.len != W3C_TRACEPARENT_LEN)
		return 0;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	__builtin_memcpy(k.trace_id, hs->tc.trace_id, 16);
	__builtin_memcpy(k.parent_id, hs->tc.parent_id, 8);
	__builtin_memcpy(fresh.span_id, ctx->span_id, 8);
	fresh.open = 1;
	fresh.trace_flags = ctx->trace_flags;
	fresh.header_flags = hs->tc.trace_flags;
	if (bpf_map_update_elem(&passthrough_requests, &k, &fresh, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&passthrough_requests, &k);
		if (!v)
			return 0;
		__sync_fetch_and_add(&v->open, 1);
		v->ambiguous = 1;
	}
	/* Marked first: an entry must never exist unmarked. */
	c->server_passthrough = 1;
	bpf_map_update_elem(&passthrough_conns, &conn_id, &k, BPF_ANY);
	return 0;
}

/*
 * A CLIENT request whose own traceparent was decided into ctx (head: its
 * head scan). When the header is the one an open SERVER request of this
 * process arrived with, the CLIENT span becomes that request's child
 * (KSPAN_CTX_F_OVER_HEADER) and forwarded_parent gets the header's
 * parent-id; returns whether it did.
 */
static __always_inline bool passthrough__link(const struct head_scratch *head,
					      struct kspan_trace_ctx *ctx, __u8 *forwarded_parent)
{
	struct passthrough_request *v;
	struct passthrough_key k = {};

	if ((ctx->flags & (KSPAN_CTX_F_HAS_HEADER | KSPAN_CTX_F_HAS_PARENT)) !=
		(KSPAN_CTX_F_HAS_HEADER | KSPAN_CTX_F_HAS_PARENT) ||
	    head->tc.version != 0 || head->traceparent.len != W3C_TRACEPARENT_LEN)
		return false;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	__builtin_memcpy(k.trace_id, ctx->trace_id, 16);
	__builtin_memcpy(k.parent_id, ctx->parent_span_id, 8);
	v = bpf_map_lookup_elem(&passthrough_requests, &k);
	if (!v || v->header_flags != head->tc.trace_flags)
		return false;
	if (v->ambiguous) {
		counter__inc(KSPAN_CNT_PASSTHROUGH_AMBIGUOUS);
		return false;
	}
	__builtin_memcpy(forwarded_parent, k.parent_id, 8);
	__builtin_memcpy(ctx->parent_span_id, v->span_id, 8);
	ctx->trace_flags = v->trace_flags;
	ctx->flags |= KSPAN_CTX_F_OVER_HEADER;
	return true;
}

/*
 * The same for an HTTP/1 CLIENT request at its write's entry (`in`), as a
 * global function (off the write entry's stack); inject_off: where insertion
 * would go (0: kspan did not follow the connection to this request's
 * start). A linked request plans the rewrite of its parent-id, and is
 * remembered for the same-node join with the parent-id it forwards (which is
 * what a SERVER on this node reads when the rewrite does not happen).
 */
__noinline int kspan_passthrough_client_request(const struct conn_state *c,
						struct inflight_syscall *in,
						const struct head_scratch *head,
						struct kspan_trace_ctx *ctx, __u32 inject_off)
{
	__u8 forwarded_parent[8];
	__u32 off;

	if (!c || !in || !head || !ctx || !passthrough__link(head, ctx, forwarded_parent))
		return 0;
	if ((propagation & KSPAN_PROPAGATE_TUPLE) && kspan_peer_on_node(&c->tuple))
		peer__remember_forwarded(&c->tuple, in->sk, ctx, forwarded_parent);
	if (!config__insert_headers()) {
		counter__inc(KSPAN_CNT_PASSTHROUGH_NO_INSERTION);
		return 0;
	}
	off = head->traceparent.off + TRACEPARENT_PARENT_OFF;
	if (!inject_off || off > 0xffff) {
		counter__inc(KSPAN_CNT_PASSTHROUGH_UNFOLLOWED);
		return 0;
	}
	in->inject_off = (__u16)off;
	in->rewrite_parent = 1;
	return 0;
}

/* A CLIENT request written through TLS, its context decided into ctx from
 * the head in head_scan_scratch: its parent only (kspan never edits TLS
 * plaintext). */
static __always_inline void passthrough__client_tls(struct kspan_trace_ctx *ctx)
{
	__u32 zero = 0;
	struct head_scratch *hs = bpf_map_lookup_elem(&head_scan_scratch, &zero);
	__u8 forwarded_parent[8];

	if (hs && passthrough__link(hs, ctx, forwarded_parent))
		counter__inc(KSPAN_CNT_PASSTHROUGH_TLS_LINKED);
}

#endif /* KSPAN_PASSTHROUGH_BPF_H */
