/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * trace_context.bpf.h - how a request's trace context reaches the
 * requests it causes, decided in the kernel so that the ids kspan inserts into
 * an outgoing request and the ids of the spans it reports are the same.
 *
 * In-process parenting: a thread that read a SERVER request and has not yet
 * begun its response is "serving" it; a CLIENT request the thread writes
 * meanwhile is its child. Threads created while serving inherit the request
 * for as long as the creator still serves it. A thread seen serving two
 * connections at once (an event loop: node, nginx) can no longer tell which
 * request a CLIENT request belongs to, and is never linked again: no link is
 * better than a wrong one.
 *
 * Same-node joining: when a CLIENT request is written, its context is
 * remembered under the connection's tuple and the TCP sequence number of its
 * first byte; the process that reads that byte on the other end (any network
 * namespace on this node) takes the CLIENT span as its SERVER span's parent.
 * The sequence number is the same on both ends of a connection, so the match
 * is exact even for keep-alive connections and counts no requests. The write
 * begins before the peer can read, so the entry is always there first.
 */
#ifndef KSPAN_TRACE_CONTEXT_BPF_H
#define KSPAN_TRACE_CONTEXT_BPF_H

#include "base/conn_tracking.bpf.h"
#include "http1_detect.h"
#include "http1_head_scan.h"
#include "w3c_traceparent.h"
#include "w3c_tracestate.h"

/*
 * key: thread id -> a copy of the request that thread serves, kept only for
 * threads that created a thread while serving one (thread_request.mirrored):
 * the created thread inherits the request while its creator still serves it,
 * which it checks here (thread__serving_request). Every thread's own entry is
 * in its task storage (thread_io.req), which costs no lookup by thread id at
 * each request and response.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct thread_request);
} thread_requests SEC(".maps");

/* The tracestate of the request a thread serves, forwarded with the
 * traceparent kspan inserts into the thread's CLIENT requests. Apart from
 * thread_requests: few requests carry one, and it is large. */
struct thread_tracestate {
	__u8 span_id[8]; /* the SERVER span it arrived with */
	__u16 len;
	__u8 _pad[6];
	char value[KSPAN_TRACESTATE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_TRACESTATES);
	__type(key, __u32);
	__type(value, struct thread_tracestate);
} thread_tracestates SEC(".maps");

/* Per-CPU room to build a thread_tracestate (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct thread_tracestate);
} tracestate_scratch SEC(".maps");

/* Per-CPU state of http1_trace_fields_scan_from(): the 6.1 verifier needs it
 * in a map (w3c_tracestate.h), and the tracestate it builds is too big for
 * the stack. Read by data__remember_tracestate() in the same program run. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http1_trace_fields);
} trace_fields_scratch SEC(".maps");

/* A field value's place in s->payload (http1_head_field_value). */
struct head_field {
	__u32 off;
	__u32 len;
};

/* The head scan of the request being decided, and what is read from it. */
struct head_scratch {
	struct http1_head_scan scan;
	struct head_field traceparent;
	struct w3c_trace_context tc;
	__u8 _pad[6];
};

/* Per-CPU room for it: off the stack, which 6.1 limits to 512 bytes for the
 * whole call chain (the SERVER read's exit is deep already). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct head_scratch);
} head_scan_scratch SEC(".maps");

/*
 * CLIENT requests written on this node, until their SERVER end reads them:
 * one entry per connection (named from the CLIENT's side), created at its
 * first request and rewritten in place after that, so that a keep-alive
 * request costs a lookup, not an LRU update (which, when no SERVER on the
 * node ever claims the entries, also evicts one each time). The entry holds
 * the last PEER_SLOTS requests: a pipelining client may write that many
 * before the server reads the first.
 */
#define PEER_SLOTS 4

struct peer_request {
	__u32 seq;  /* TCP sequence number of the request's first byte (TLS: its index) */
	__u8 valid; /* written in full, and not claimed yet */
	__u8 trace_flags;
	__u8 forwarded; /* the request carries the traceparent its process received,
			 * not rewritten: parent-id forwarded_parent (passthrough.bpf.h) */
	__u8 _pad;
	__u8 trace_id[16];
	__u8 span_id[8]; /* the CLIENT span */
	__u8 forwarded_parent[8];
};

struct peer_requests_of_conn {
	struct peer_request slot[PEER_SLOTS];
	__u32 next; /* the slot the next request takes (mod PEER_SLOTS) */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_PEER_REQUESTS);
	__type(key, struct endpoint_pair_key);
	__type(value, struct peer_requests_of_conn);
} peer_requests SEC(".maps");

/* A new connection's entry: copied from here, never written (the value is
 * too big for 6.1's 512-byte stack, deep in the write's entry). */
static struct peer_requests_of_conn peer_requests_empty;

/* Set once, by the first CLIENT request stored in peer_requests: until then
 * no SERVER request can find its CLIENT end there, and a SERVER request
 * costs no lookup of it (6% of the BPF time of a saturated nginx traced
 * alone, with --pid: make bench-lines). A CLIENT request is stored before
 * its bytes are written, so the SERVER that reads them sees the flag. Only
 * ever written from 0 to 1: its cache line stays shared by every CPU. */
volatile __u32 peer_requests_stored = 0;

/* One load or store the compiler neither merges nor moves across barrier(). */
#define PEER_ONCE(x) (*(volatile typeof(x) *)&(x))

/* The current thread's entry, or NULL (no state: it never read or wrote a
 * followed socket). */
static __always_inline struct thread_request *thread__own_request(void)
{
	struct thread_io *t = thread_io__existing();

	if (!t)
		return NULL;
	/* Else clang adds the offset before the check, and the verifier
	 * refuses arithmetic on a pointer that may be NULL. */
	barrier_var(t);
	return &t->req;
}

/* The current thread's entry t changed: its copy in thread_requests follows,
 * when a thread it created may look there. The thread id is asked for only
 * then: most threads never create one while serving. */
static __always_inline void thread__mirror(const struct thread_request *t)
{
	__u32 tid;

	if (!t->mirrored)
		return;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&thread_requests, &tid, t, BPF_ANY);
}

/* The current thread read the start of a SERVER request on conn_id. Its
 * entry is rewritten in place (only the thread itself writes it). Returns the
 * entry, for thread__set_tracestate (NULL when the thread has no state). */
static __always_inline struct thread_request *
thread__begin_server(__u64 conn_id, const struct kspan_trace_ctx *ctx)
{
	struct thread_request *t = thread__own_request();

	if (!t)
		return NULL;
	if (t->open && !t->inherited && t->conn_id != conn_id)
		t->interleaved = 1;
	__builtin_memcpy(t->trace_id, ctx->trace_id, 16);
	__builtin_memcpy(t->span_id, ctx->span_id, 8);
	t->trace_flags = ctx->trace_flags;
	t->conn_id = conn_id;
	t->parent_tid = 0;
	t->inherited = 0;
	t->open = 1;
	thread__mirror(t);
	return t;
}

/* The current thread began a SERVER response on conn_id. */
static __always_inline void thread__end_server(__u64 conn_id)
{
	struct thread_request *t = thread__own_request();

	if (!t || t->inherited)
		return;
	if (t->open && t->conn_id != conn_id)
		t->interleaved = 1; /* answering another connection while one is open */
	t->open = 0;
	thread__mirror(t);
}

/* The request the current thread serves, when it can be told for sure; a
 * pointer into the map, so that callers deep in a call chain need no copy on
 * their stack (6.1's verifier limits the chain's combined stack to 512). */
static __always_inline const struct thread_request *thread__serving_request(void)
{
	struct thread_request *t = thread__own_request();

	if (!t || t->interleaved || !t->open)
		return NULL;
	if (t->inherited) {
		__u32 ptid = t->parent_tid;
		struct thread_request *p = bpf_map_lookup_elem(&thread_requests, &ptid);
		__u64 mine, theirs;

		__builtin_memcpy(&mine, t->span_id, 8);
		if (!p)
			return NULL;
		__builtin_memcpy(&theirs, p->span_id, 8);
		if (!p->open || p->interleaved || p->inherited || mine != theirs)
			return NULL; /* the creator has moved on: so has this thread */
	}
	return t;
}

static __always_inline bool thread__serving(struct thread_request *out)
{
	const struct thread_request *t = thread__serving_request();

	if (!t)
		return false;
	*out = *t;
	return true;
}

/* Connection c's SERVER request (context ctx) begins: open until its
 * response begins (data__handle clears server_open). Written into the entry
 * the read already holds, so it costs no map operation. */
static __always_inline void conn__begin_server_request(struct conn_state *c,
						       const struct kspan_trace_ctx *ctx)
{
	__builtin_memcpy(c->server_trace_id, ctx->trace_id, 16);
	__builtin_memcpy(c->server_span_id, ctx->span_id, 8);
	c->server_trace_flags = ctx->trace_flags;
	c->server_open = 1;
}

/* A thread or process (child, of task parent, with thread ids parent_tid
 * and child_tid) was created: it serves what its creator serves, while its
 * creator does. The creator's entry is then kept in thread_requests too,
 * where the child checks it (thread__serving_request). sched_process_fork
 * runs in the creator: it is the current thread (thread__mirror). */
static __always_inline void thread__created(struct task_struct *parent, __u32 parent_tid,
					    struct task_struct *child, __u32 child_tid)
{
	struct thread_io *p = bpf_task_storage_get(&thread_io, parent, 0, 0);
	struct thread_io *c;

	if (!p || !p->req.open || p->req.interleaved)
		return;
	c = bpf_task_storage_get(&thread_io, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c)
		return;
	c->req = p->req;
	c->req.mirrored = 0;
	c->req.inherited = 1;
	if (!p->req.inherited) {
		c->req.parent_tid = parent_tid;
		p->req.mirrored = 1;
		thread__mirror(&p->req);
	}
	if (p->req.has_tracestate) {
		struct thread_tracestate *ts =
		    bpf_map_lookup_elem(&thread_tracestates, &parent_tid);
		if (ts)
			bpf_map_update_elem(&thread_tracestates, &child_tid, ts, BPF_ANY);
	}
}

/* The current thread (tid) ends: what it left in the thread-id maps goes. */
static __always_inline void thread__exited(__u32 tid)
{
	struct thread_request *t = thread__own_request();

	if (!t)
		return;
	if (t->mirrored)
		bpf_map_delete_elem(&thread_requests, &tid);
	if (t->has_tracestate)
		bpf_map_delete_elem(&thread_tracestates, &tid);
}

/* The current thread's SERVER request (span span_id; r: the thread's entry,
 * when it has one) carries tracestate value[0..len) (len 0: none). */
static __always_inline void thread__set_tracestate(struct thread_request *r, const __u8 *span_id,
						   const __u8 *value, __u32 len)
{
	struct thread_tracestate *t;
	__u32 tid, zero = 0;
	__u64 size;

	if (len == 0 || len > KSPAN_TRACESTATE_MAX) {
		/* Most requests carry none: delete only what is there (and
		 * ask for the thread id only then). */
		if (r && r->has_tracestate) {
			r->has_tracestate = 0;
			tid = (__u32)bpf_get_current_pid_tgid();
			bpf_map_delete_elem(&thread_tracestates, &tid);
		}
		return;
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	t = bpf_map_lookup_elem(&tracestate_scratch, &zero);
	if (!t)
		return;
	__builtin_memcpy(t->span_id, span_id, 8);
	t->len = (__u16)len;
	/* The compiler merges the checks above into one on len - 1 and copies
	 * len between 32 and 64 bits, which bounds nothing for the verifier:
	 * check the very 64-bit register the copy uses, out of its sight. */
	size = len;
	barrier_var(size);
	if (size > KSPAN_TRACESTATE_MAX)
		return;
	if (bpf_probe_read_kernel(t->value, size, value))
		return;
	if (bpf_map_update_elem(&thread_tracestates, &tid, t, BPF_ANY) == 0 && r)
		r->has_tracestate = 1;
}

/* The tracestate of request span_id, when the current thread holds it. */
static __always_inline struct thread_tracestate *thread__tracestate(const __u8 *span_id)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_tracestate *t = bpf_map_lookup_elem(&thread_tracestates, &tid);
	__u64 mine, theirs;

	if (!t || t->len == 0 || t->len > KSPAN_TRACESTATE_MAX)
		return NULL;
	__builtin_memcpy(&mine, t->span_id, 8);
	__builtin_memcpy(&theirs, span_id, 8);
	return mine == theirs ? t : NULL;
}

/*
 * Written by the CLIENT's thread, read by the SERVER's, maybe on another CPU
 * at the same time: a slot is marked invalid while it is rewritten, and the
 * reader checks that it is still valid, for the same request, after copying
 * it. A torn read is then only a missed join, never a wrong one.
 */
static __always_inline void peer__store(const struct endpoint_pair_key *k, __u32 seq,
					const struct kspan_trace_ctx *ctx,
					const __u8 *forwarded_parent)
{
	struct peer_requests_of_conn *v = bpf_map_lookup_elem(&peer_requests, k);
	struct peer_request *r;

	if (!v) {
		if (!peer_requests_stored)
			peer_requests_stored = 1;
		bpf_map_update_elem(&peer_requests, k, &peer_requests_empty, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&peer_requests, k);
		if (!v)
			return;
	}
	r = &v->slot[v->next & (PEER_SLOTS - 1)];
	v->next++;
	PEER_ONCE(r->valid) = 0;
	barrier();
	r->seq = seq;
	__builtin_memcpy(r->trace_id, ctx->trace_id, 16);
	__builtin_memcpy(r->span_id, ctx->span_id, 8);
	r->trace_flags = ctx->trace_flags;
	r->forwarded = forwarded_parent != NULL;
	if (forwarded_parent)
		__builtin_memcpy(r->forwarded_parent, forwarded_parent, 8);
	barrier();
	PEER_ONCE(r->valid) = 1;
}

static __always_inline bool bytes8__equal(const __u8 *a, const __u8 *b)
{
	__u64 x, y;

	__builtin_memcpy(&x, a, 8);
	__builtin_memcpy(&y, b, 8);
	return x == y;
}

/* Did request r forward, unchanged, a traceparent with this parent-id and
 * trace id? */
static __always_inline bool peer__forwarded(const struct peer_request *r, const __u8 *parent,
					    const __u8 *trace_id)
{
	return r->forwarded && bytes8__equal(r->forwarded_parent, parent) &&
	       bytes8__equal(r->trace_id, trace_id) && bytes8__equal(r->trace_id + 8, trace_id + 8);
}

/* The request numbered seq in v, a connection's entry (the caller looked it
 * up first, so that a connection with none costs no read of its sequence
 * number). forwarded_parent: only a request that forwarded the traceparent
 * whose parent-id (and trace id) the SERVER read, which its CLIENT span then
 * replaces (KSPAN_CTX_F_OVER_HEADER); NULL: any request. */
static __always_inline void peer__take(struct peer_requests_of_conn *v, __u32 seq,
				       struct kspan_trace_ctx *ctx, const __u8 *forwarded_parent)
{
	struct kspan_trace_ctx got;
	__u32 newest;

	newest = PEER_ONCE(v->next) - 1;
	/* Newest first: a TLS write retried after moving nothing stores its
	 * index again (tls_tx__retract), and the retry's context is the one
	 * whose span exists. */
	for (__u32 i = 0; i < PEER_SLOTS; i++) {
		struct peer_request *r = &v->slot[(newest - i) & (PEER_SLOTS - 1)];

		if (!PEER_ONCE(r->valid) || PEER_ONCE(r->seq) != seq)
			continue;
		if (forwarded_parent && !peer__forwarded(r, forwarded_parent, ctx->trace_id))
			return; /* the request that header came with is not this one */
		barrier();
		__builtin_memcpy(got.trace_id, r->trace_id, 16);
		__builtin_memcpy(got.parent_span_id, r->span_id, 8);
		got.trace_flags = r->trace_flags;
		barrier();
		if (!PEER_ONCE(r->valid) || PEER_ONCE(r->seq) != seq)
			return; /* rewritten meanwhile */
		PEER_ONCE(r->valid) = 0;
		__builtin_memcpy(ctx->trace_id, got.trace_id, 16);
		__builtin_memcpy(ctx->parent_span_id, got.parent_span_id, 8);
		ctx->trace_flags = got.trace_flags;
		ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
		if (forwarded_parent)
			ctx->flags |= KSPAN_CTX_F_OVER_HEADER;
		return;
	}
}

/* A CLIENT request starts with the next byte written on sk. */
static __always_inline void peer__remember(const struct kspan_conn_tuple *t, __u64 sk,
					   const struct kspan_trace_ctx *ctx)
{
	struct endpoint_pair_key k;

	if (!(propagation & KSPAN_PROPAGATE_TUPLE))
		return;
	endpoint_pair__key(&k, t, true);
	peer__store(&k, BPF_CORE_READ((struct tcp_sock *)sk, write_seq), ctx, NULL);
}

/* The same for a pass-through request: its own traceparent, with parent-id
 * forwarded_parent, is the one its process received (passthrough.bpf.h). */
static __always_inline void peer__remember_forwarded(const struct kspan_conn_tuple *t, __u64 sk,
						     const struct kspan_trace_ctx *ctx,
						     const __u8 *forwarded_parent)
{
	struct endpoint_pair_key k;

	if (!(propagation & KSPAN_PROPAGATE_TUPLE))
		return;
	endpoint_pair__key(&k, t, true);
	peer__store(&k, BPF_CORE_READ((struct tcp_sock *)sk, write_seq), ctx, forwarded_parent);
}

/* A SERVER request began `bytes` before the read position of sk: if its
 * CLIENT end was seen on this node, that span is its parent. */
static __always_inline void peer__claim(const struct kspan_conn_tuple *t, __u64 sk, __u32 bytes,
					struct kspan_trace_ctx *ctx)
{
	struct peer_requests_of_conn *v;
	struct endpoint_pair_key k;

	if (!(propagation & KSPAN_PROPAGATE_TUPLE) || (ctx->flags & KSPAN_CTX_F_HAS_PARENT) ||
	    !peer_requests_stored)
		return;
	endpoint_pair__key(&k, t, false);
	v = bpf_map_lookup_elem(&peer_requests, &k);
	if (v)
		peer__take(v, BPF_CORE_READ((struct tcp_sock *)sk, copied_seq) - bytes, ctx, NULL);
}

/* A SERVER request whose own traceparent (ctx: its trace id and parent-id)
 * was forwarded, unchanged, by a pass-through CLIENT request on this node:
 * that CLIENT span, the request's true sender, is its parent. */
static __always_inline void peer__claim_forwarded(const struct kspan_conn_tuple *t, __u64 sk,
						  __u32 bytes, struct kspan_trace_ctx *ctx)
{
	struct peer_requests_of_conn *v;
	struct endpoint_pair_key k;
	__u8 header_parent[8];

	if (!(propagation & KSPAN_PROPAGATE_TUPLE) ||
	    (ctx->flags & (KSPAN_CTX_F_HAS_HEADER | KSPAN_CTX_F_HAS_PARENT)) !=
		(KSPAN_CTX_F_HAS_HEADER | KSPAN_CTX_F_HAS_PARENT) ||
	    !peer_requests_stored)
		return;
	__builtin_memcpy(header_parent, ctx->parent_span_id, 8);
	endpoint_pair__key(&k, t, false);
	v = bpf_map_lookup_elem(&peer_requests, &k);
	if (v)
		peer__take(v, BPF_CORE_READ((struct tcp_sock *)sk, copied_seq) - bytes, ctx,
			   header_parent);
}

/*
 * TLS connections: the plaintext has no TCP sequence number, and the
 * ciphertext's differs from it by record overheads neither end knows. Both
 * ends count the requests on the connection instead (conn_state.tls_requests:
 * the client those it writes, the server those it reads; HTTP/1 answers in
 * order), and the pair names request number `index` - marked in the key so
 * that it never meets a sequence number. Only for connections both ends
 * followed from their start (not adopted): a count that began mid-way would
 * join the wrong requests.
 */
#define PEER_KEY_TLS_INDEX 1

static __always_inline void peer__tls_key(struct endpoint_pair_key *k,
					  const struct kspan_conn_tuple *t, bool client_side)
{
	endpoint_pair__key(k, t, client_side);
	k->src._pad[0] = PEER_KEY_TLS_INDEX;
}

static __always_inline void peer__remember_tls(const struct kspan_conn_tuple *t, __u32 index,
					       const struct kspan_trace_ctx *ctx)
{
	struct endpoint_pair_key k;

	if (!(propagation & KSPAN_PROPAGATE_TUPLE))
		return;
	peer__tls_key(&k, t, true);
	peer__store(&k, index, ctx, NULL);
}

static __always_inline void peer__claim_tls(const struct kspan_conn_tuple *t, __u32 index,
					    struct kspan_trace_ctx *ctx)
{
	struct peer_requests_of_conn *v;
	struct endpoint_pair_key k;

	if (!(propagation & KSPAN_PROPAGATE_TUPLE) || (ctx->flags & KSPAN_CTX_F_HAS_PARENT) ||
	    !peer_requests_stored)
		return;
	peer__tls_key(&k, t, false);
	v = bpf_map_lookup_elem(&peer_requests, &k);
	if (v)
		peer__take(v, index, ctx, NULL);
}

/*
 * The end of a CLIENT request's parent choice: a request without a
 * traceparent of its own that no mechanism linked, written by a thread that
 * served two connections at once (thread_request.interleaved: an event loop,
 * which in-process parenting never uses), starts its own trace. Marked, so
 * that the agent counts it per runtime. Mechanisms that link such requests
 * (runtime probes) set KSPAN_CTX_F_HAS_PARENT before this is called.
 */
static __always_inline void trace_ctx__mark_unattributed(struct kspan_trace_ctx *ctx)
{
	const struct thread_request *t;

	if (ctx->flags & (KSPAN_CTX_F_HAS_PARENT | KSPAN_CTX_F_HAS_HEADER))
		return;
	t = thread__own_request();
	if (t && t->interleaved)
		ctx->flags |= KSPAN_CTX_F_UNATTRIBUTED;
}

/* The head sampling decision for ctx, where its trace starts or arrives
 * (trace_sampling.h): with a parent (KSPAN_CTX_F_HAS_PARENT), its flag is
 * ctx->trace_flags on entry. Contexts that come from the request a thread
 * serves, or from a same-node CLIENT request (peer__claim), take that
 * request's flag as it is: its trace id is theirs, so the decision is the
 * same under every sampler. */
static __always_inline void trace_ctx__sample(struct kspan_trace_ctx *ctx)
{
	ctx->trace_flags =
	    kspan_sample(sampler_root, sampler_parent_based, sampler_threshold, ctx->trace_id,
			 (ctx->flags & KSPAN_CTX_F_HAS_PARENT) != 0, ctx->trace_flags);
}

/*
 * The head scan (http1_head_scan.h) of the request at the start of
 * s->payload, into *h. A global function: the verifier checks its loop once,
 * with *h as memory whose contents it does not track, which keeps the loop's
 * states from forking (see http1_head_scan.h).
 */
__noinline int kspan_head_scan(struct data_scratch *s, __u32 captured, struct http1_head_scan *h)
{
	if (!s || !h)
		return 0;
	if (captured > KSPAN_CAPTURE_MAX)
		captured = KSPAN_CAPTURE_MAX;
	http1_head_scan_run(s->payload, captured, h);
	if (h->incomplete)
		counter__inc(KSPAN_CNT_HEAD_SCAN_INCOMPLETE);
	return 0;
}

/* http1_head_field_value() as a global function: its loop's exits end in
 * values the verifier tracks apart, and checked inline they would each
 * carry the rest of the caller with them. Returns 0 or -1 as it does. */
__noinline int kspan_head_field_value(struct data_scratch *s, const struct http1_head_scan *h,
				      __u32 line, __u32 name_len, struct head_field *out)
{
	if (!s || !h || !out)
		return -1;
	return http1_head_field_value(s->payload, h, line, name_len, &out->off, &out->len);
}

/*
 * The trace context of a request that starts in this payload, whose head *h
 * scanned: the one its `traceparent` header carries when valid (a server
 * receiving a traced request, or a client whose own instrumentation already
 * propagates), else a new random trace. The span id is always new. A request
 * with two traceparent lines has no valid one (W3C section 3.2); its
 * tracestate lines are combined and kept (KSPAN_CTX_F_HAS_TRACESTATE) only
 * when kspan inserts headers, the traceparent is valid and the list is
 * (section 3.3, w3c_tracestate.h). Both are decided from the first
 * KSPAN_CTX_SCAN_MAX bytes of the head.
 */
__noinline int kspan_trace_ctx_decide_scanned(struct data_scratch *s, struct head_scratch *hs)
{
	const struct http1_head_scan *h;
	struct kspan_trace_ctx *ctx;
	struct http1_trace_fields *f;
	__u32 zero = 0;

	if (!s || !hs)
		return 0;
	h = &hs->scan;
	ctx = &s->ev.ctx;

	ctx->flags = KSPAN_CTX_F_VALID;
	random__fill(ctx->span_id, 2);
	if (!(ctx->span_id[0] | ctx->span_id[7]))
		ctx->span_id[7] = 1;
	if (h->traceparent_line &&
	    kspan_head_field_value(s, h, h->traceparent_line, 11, &hs->traceparent) == 0) {
		/* Present, even if invalid: a request that names its own
		 * context is never given a second traceparent. */
		ctx->flags |= KSPAN_CTX_F_HAS_HEADER;
		if (h->traceparent_lines != 1 ||
		    w3c_traceparent_parse(s->payload, hs->traceparent.off, hs->traceparent.len,
					  &hs->tc))
			goto new_trace;
		__builtin_memcpy(ctx->trace_id, hs->tc.trace_id, 16);
		__builtin_memcpy(ctx->parent_span_id, hs->tc.parent_id, 8);
		/* Only the sampled bit is defined in version 00 (W3C 3.2.2.5). */
		ctx->trace_flags = hs->tc.trace_flags & 1;
		ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
		trace_ctx__sample(ctx); /* parent-based samplers honour -00 */
		/* Only the insertion forwards a tracestate: without it the
		 * agent reads the list from the captured head itself. */
		if (!config__insert_headers() || !h->tracestate_line)
			return 0;
		f = bpf_map_lookup_elem(&trace_fields_scratch, &zero);
		if (!f)
			return 0;
		http1_trace_fields_scan_from(s->payload, http1_head_tracestate_end(h),
					     KSPAN_CTX_SCAN_MAX, h->tracestate_line, f);
		if (w3c_tracestate_result(&f->tracestate))
			ctx->flags |= KSPAN_CTX_F_HAS_TRACESTATE;
		return 0;
	}
new_trace:
	random__fill(ctx->trace_id, 4);
	if (!(ctx->trace_id[0] | ctx->trace_id[15]))
		ctx->trace_id[15] = 1;
	ctx->trace_flags = 0;
	trace_ctx__sample(ctx); /* the head decision, written into what kspan inserts */
	return 0;
}

/* The same, scanning the head first (a SERVER request: nothing else reads
 * its head in the kernel). Inline: one call level less for 6.1's 512-byte
 * stack bound on the whole chain. */
static __always_inline int kspan_trace_ctx_decide(struct data_scratch *s, __u32 captured)
{
	__u32 zero = 0;
	struct head_scratch *hs = bpf_map_lookup_elem(&head_scan_scratch, &zero);

	if (!hs)
		return 0;
	kspan_head_scan(s, captured, &hs->scan);
	return kspan_trace_ctx_decide_scanned(s, hs);
}

/* A SERVER request began: keep the tracestate kspan_trace_ctx_decide() built
 * (when its traceparent and the list were valid, W3C 3.3) for the CLIENT
 * requests the thread sends while serving it (r: the thread's entry). */
static __always_inline void data__remember_tracestate(struct data_scratch *s,
						      struct thread_request *r)
{
	struct http1_trace_fields *f = NULL;
	__u32 zero = 0, len = 0;

	if (config__insert_headers() && (s->ev.ctx.flags & KSPAN_CTX_F_HAS_TRACESTATE))
		f = bpf_map_lookup_elem(&trace_fields_scratch, &zero);
	if (f)
		len = w3c_tracestate_result(&f->tracestate);
	if (f && len)
		thread__set_tracestate(r, s->ev.ctx.span_id, (const __u8 *)f->tracestate.out, len);
	else
		thread__set_tracestate(r, s->ev.ctx.span_id, s->payload, 0);
}

#endif /* KSPAN_TRACE_CONTEXT_BPF_H */
