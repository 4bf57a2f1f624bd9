/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * go_parent.bpf.h - in-process parenting in Go programs, by goroutine.
 *
 * Go runs its goroutines on a few threads: a thread that read a request
 * runs other goroutines before the response, so the per-thread parenting of
 * trace_context.bpf.h cannot tell which request a CLIENT request belongs to.
 * In a Go process (go_processes) the thread's entry is not used at all; the
 * goroutine is:
 *
 * - The goroutine that reads the start of a SERVER request serves it until
 *   it begins the response (net/http's server reads a request and runs its
 *   handler on the connection's goroutine).
 * - A goroutine started while its creator serves a request serves it too,
 *   for as long as the creator still does (runtime.newproc1, bound by
 *   attach/uprobe_go_goroutines.bpf.h; every goroutine start rebinds its g,
 *   so a g the runtime reuses carries nothing over).
 * - net/http's client writes a request from the connection's writeLoop
 *   goroutine, not the caller's: the caller's request is handed from
 *   persistConn.roundTrip (caller's goroutine) to Request.write (the
 *   writer's) by the *http.Request pointer both see.
 *
 * The goroutine is the runtime's g, which Go's register ABI keeps in R14 in
 * all Go code (src/cmd/compile/abi-internal.md) and which the syscall stubs
 * (runtime/internal/syscall.Syscall6) do not touch: the user registers the
 * task saved at syscall entry name it, and so do a uprobe's.
 *
 * An entry whose origin (the goroutine that read the request) has moved on,
 * or any doubt, links nothing: the request starts its own trace (counted).
 */
#ifndef KSPAN_GO_PARENT_BPF_H
#define KSPAN_GO_PARENT_BPF_H

#include "base/counters.bpf.h"
#include "propagation/trace_context.bpf.h"

struct goroutine_key {
	__u32 tgid;
	__u32 _pad;
	__u64 g; /* runtime.g address (or, for a hand-off, the *http.Request) */
};

/* The SERVER request a goroutine serves. */
struct goroutine_request {
	__u8 trace_id[16];
	__u8 span_id[8]; /* the SERVER span: parent of the goroutine's CLIENT requests */
	__u64 conn_id;	 /* the connection it arrived on (own entries) */
	__u64 origin_g;	 /* 0: read by this goroutine; else the goroutine that read it */
	__u8 trace_flags;
	__u8 open; /* own: request read, response not begun */
	__u8 _pad[6];
};

/* tgid -> 1: a Go program (marked by the loader at exec and by the
 * runtime probes): its threads' entries are never used. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_THREADS);
	__type(key, __u32);
	__type(value, __u8);
} go_processes SEC(".maps");

/* {tgid, g} -> the request the goroutine serves. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_THREADS);
	__type(key, struct goroutine_key);
	__type(value, struct goroutine_request);
} goroutine_requests SEC(".maps");

/* Counts the entries ever added to go_processes: bumped after each, here
 * and by the agent (user/loader/go_tls_attach.c, through the mapped .bss).
 * A connection that found its process absent at generation G
 * (conn_state.not_go_gen) knows it is still absent while the generation is
 * G: entries only leave in between. Read before the lookup and bumped after
 * the insertion, so a lookup that raced an insertion is repeated next time. */
volatile __u32 go_processes_gen = 0;

static __always_inline bool go__process(__u32 tgid)
{
	return bpf_map_lookup_elem(&go_processes, &tgid) != NULL;
}

/* go__process() for the process that owns connection c, answered from c
 * when go_processes gained no entry since c last found it absent (a fresh
 * c's 0 is right too: generation 0 means no entry was ever added). */
static __always_inline bool go__conn_process(struct conn_state *c)
{
	__u32 gen = go_processes_gen;

	if (c->not_go_gen == gen)
		return false;
	if (go__process(bpf_get_current_pid_tgid() >> 32))
		return true;
	c->not_go_gen = gen;
	return false;
}

static __always_inline void go__mark_process(__u32 tgid)
{
	__u8 one = 1;

	if (!go__process(tgid)) {
		bpf_map_update_elem(&go_processes, &tgid, &one, BPF_ANY);
		__sync_fetch_and_add(&go_processes_gen, 1);
	}
}

/* The process exited or exec'd another program: a pid reused by, or an
 * exec into, a program that is not Go must have its threads back (and no
 * register taken for a goroutine). */
static __always_inline void go__process_gone(__u32 tgid)
{
	bpf_map_delete_elem(&go_processes, &tgid);
}

/* The current goroutine: R14 of the user registers the task saved on
 * entering the kernel (syscall or uprobe trap); 0 when unknown (counted).
 * bpf_task_pt_regs: 5.15 (dd6e10fbd9fb). */
static __always_inline __u64 go__current_g(void)
{
	struct pt_regs *regs;
	__u64 g = 0;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs)) {
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		g = BPF_CORE_READ(regs, r14);
	}
	if (!g)
		counter__inc(KSPAN_CNT_GO_NO_GOROUTINE);
	return g;
}

/* The request goroutine g of tgid serves, when it can be told for sure. */
static __always_inline const struct goroutine_request *go__serving(__u32 tgid, __u64 g)
{
	struct goroutine_key k = {.tgid = tgid, .g = g};
	struct goroutine_request *r = bpf_map_lookup_elem(&goroutine_requests, &k), *o;
	__u64 mine, theirs;

	if (!r || !r->open)
		return NULL;
	if (!r->origin_g)
		return r;
	k.g = r->origin_g;
	o = bpf_map_lookup_elem(&goroutine_requests, &k);
	__builtin_memcpy(&mine, r->span_id, 8);
	if (o)
		__builtin_memcpy(&theirs, o->span_id, 8);
	if (!o || !o->open || o->origin_g || mine != theirs) {
		counter__inc(KSPAN_CNT_GO_PARENT_ENDED);
		return NULL; /* its reader has answered, or read another request */
	}
	return r;
}

/* Goroutine g of tgid now serves what `from` serves (NULL: nothing). */
static __always_inline void go__bind(__u32 tgid, __u64 g, __u64 from_g,
				     const struct goroutine_request *from)
{
	struct goroutine_key k = {.tgid = tgid, .g = g};
	struct goroutine_request r;

	if (!from) {
		bpf_map_delete_elem(&goroutine_requests, &k);
		return;
	}
	r = *from;
	if (!r.origin_g)
		r.origin_g = from_g;
	r.conn_id = 0;
	bpf_map_update_elem(&goroutine_requests, &k, &r, BPF_ANY);
}

/* A SERVER request began in the current process: true when it is a Go
 * program, whose reading goroutine now serves it (the caller then leaves
 * the thread's entry alone). */
static __always_inline bool go__begin_server(struct conn_state *c,
					     const struct kspan_trace_ctx *ctx)
{
	struct goroutine_key k = {};
	struct goroutine_request r = {};

	if (!go__conn_process(c))
		return false;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	k.g = go__current_g();
	if (!k.g)
		return true;
	__builtin_memcpy(r.trace_id, ctx->trace_id, 16);
	__builtin_memcpy(r.span_id, ctx->span_id, 8);
	r.trace_flags = ctx->trace_flags;
	r.conn_id = c->conn_id;
	r.open = 1;
	bpf_map_update_elem(&goroutine_requests, &k, &r, BPF_ANY);
	return true;
}

/* A SERVER response began on connection c: true in a Go program. */
static __always_inline bool go__end_server(struct conn_state *c)
{
	struct goroutine_key k = {};
	struct goroutine_request *r;

	if (!go__conn_process(c))
		return false;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	k.g = go__current_g();
	r = k.g ? bpf_map_lookup_elem(&goroutine_requests, &k) : NULL;
	if (r && !r->origin_g && r->conn_id == c->conn_id)
		r->open = 0;
	return true;
}

/* A CLIENT request without a traceparent of its own: in a Go program, its
 * parent is the request its goroutine serves, if any (else it starts its
 * own trace: counted). True when ctx now has that parent. */
static __always_inline bool go__parent(struct kspan_trace_ctx *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	const struct goroutine_request *r;
	__u64 g;

	if (!go__process(tgid))
		return false;
	g = go__current_g();
	r = g ? go__serving(tgid, g) : NULL;
	if (!r) {
		counter__inc(KSPAN_CNT_GO_CLIENT_UNATTRIBUTED);
		return false;
	}
	__builtin_memcpy(ctx->trace_id, r->trace_id, 16);
	__builtin_memcpy(ctx->parent_span_id, r->span_id, 8);
	ctx->trace_flags = r->trace_flags;
	ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
	return true;
}

#endif /* KSPAN_GO_PARENT_BPF_H */
