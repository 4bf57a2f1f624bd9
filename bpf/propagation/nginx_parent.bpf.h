/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nginx_parent.bpf.h - the parent of an nginx upstream request, for a worker
 * that serves many connections on one thread (never linked by the thread
 * rule of trace_context.bpf.h) and does not forward a traceparent.
 *
 * nginx passes a request to its upstream in ngx_http_upstream_init(r) (the
 * proxy, fastcgi, uwsgi, grpc, ... handlers all call it, once the request
 * body is read), which picks the upstream connection in
 * ngx_event_connect_peer(pc): a new socket (NGX_OK, or NGX_AGAIN while the
 * connect is in progress) or a cached keep-alive one (NGX_DONE), always in
 * pc->connection. The uprobes (attach/uprobe_nginx.bpf.h) mark the thread's
 * hand-off from the entry of ngx_http_upstream_init to its return, with the
 * SERVER request open on r's connection then; a connection the hand-off
 * picks is bound to that request. The first CLIENT request written on the
 * connection (on a new connection from the write event, after the hand-off
 * returned) takes it as parent, if that request is still the one open on
 * its connection. Each hand-off binds again, so a keep-alive connection's
 * requests each find their own.
 *
 * Not linked, and counted: connections picked outside a hand-off (a retry
 * on the next upstream, ngx_http_upstream_next, is a static function called
 * from event handlers; the stream module) or in a nested one; hand-offs for
 * a request kspan did not see open (HTTP/2 downstream).
 *
 * Layouts (nginx's src/core/ngx_connection.h, src/http/ngx_http_request.h,
 * src/event/ngx_event_connect.h, the same since 1.0 on 64-bit targets):
 * ngx_http_request_t begins {uint32_t signature; ngx_connection_t
 * *connection;}, ngx_connection_t {void *data; ngx_event_t *read, *write;
 * ngx_socket_t fd;}, ngx_peer_connection_t {ngx_connection_t *connection;}.
 */
#ifndef KSPAN_NGINX_PARENT_BPF_H
#define KSPAN_NGINX_PARENT_BPF_H

#include "base/conn_tracking.bpf.h"
#include "base/counters.bpf.h"
#include "base/socket_lookup.bpf.h"
#include "nginx_handoff.h"

#define NGINX_REQUEST_CONNECTION 8  /* ngx_http_request_t.connection */
#define NGINX_CONNECTION_FD	 24 /* ngx_connection_t.fd */

/* A thread inside ngx_http_upstream_init (depth > 0), or inside an
 * ngx_event_connect_peer outside it (depth 0). */
struct nginx_handoff {
	__u64 downstream_sk; /* struct sock * of r's connection */
	__u64 peer;	     /* ngx_peer_connection_t * of the connect_peer in progress */
	__u8 span_id[8];     /* the SERVER request open on it at the entry */
	__u32 depth;	     /* ngx_http_upstream_init calls on the stack */
	__u32 tgid;	     /* a thread id outlives its process: another's entry is stale */
	__u8 served;	     /* span_id is an open request's */
	__u8 nested;	     /* a hand-off inside a hand-off: two requests, none linked */
	__u8 _pad[6];
};

/* key: thread id -> its hand-off in progress. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct nginx_handoff);
} nginx_handoffs SEC(".maps");

struct nginx_binding {
	__u64 downstream_sk;
	__u8 span_id[8]; /* the downstream SERVER request */
};

/* key: the upstream connection {tgid, sk} -> the request it was picked for,
 * until its next CLIENT request starts. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_THREADS);
	__type(key, struct conn_key);
	__type(value, struct nginx_binding);
} nginx_bindings SEC(".maps");

/* The connection entry of socket sk in the current process, or NULL. */
static __always_inline struct conn_state *nginx__conn(__u32 tgid, __u64 sk)
{
	struct conn_key key;
	struct conn_state *c;

	conn__key(&key, tgid, sk);
	c = bpf_map_lookup_elem(&conn_table, &key);
	if (!c || c->sk != sk || c->proc_start_ns != task__process_start_ns())
		return NULL;
	return c;
}

/* The socket of the ngx_connection_t at `conn`, or 0. */
static __always_inline __u64 nginx__socket_of(__u64 conn)
{
	int fd = -1;

	if (!conn || bpf_probe_read_user(&fd, sizeof(fd), (void *)(conn + NGINX_CONNECTION_FD)) ||
	    fd < 0)
		return 0;
	return (__u64)socket__from_fd((__u32)fd);
}

/* The current thread's hand-off, or NULL (a stale one of a process that
 * exited mid-call is dropped). */
static __always_inline struct nginx_handoff *nginx__handoff(__u64 id)
{
	__u32 tid = (__u32)id;
	struct nginx_handoff *h = bpf_map_lookup_elem(&nginx_handoffs, &tid);

	if (h && h->tgid != (__u32)(id >> 32)) {
		bpf_map_delete_elem(&nginx_handoffs, &tid);
		return NULL;
	}
	return h;
}

/* Entry of ngx_http_upstream_init(r). */
static __always_inline void nginx__handoff_begin(__u64 r)
{
	__u64 id = bpf_get_current_pid_tgid(), conn = 0;
	__u32 tid = (__u32)id;
	struct nginx_handoff *h = nginx__handoff(id);
	struct nginx_handoff fresh = {.depth = 1, .tgid = (__u32)(id >> 32)};
	struct conn_state *c = NULL;

	if (!process__selected(id >> 32))
		return;
	if (h && h->depth) {
		h->depth++;
		h->nested = 1;
		return;
	}
	if (!bpf_probe_read_user(&conn, sizeof(conn), (void *)(r + NGINX_REQUEST_CONNECTION)))
		fresh.downstream_sk = nginx__socket_of(conn);
	if (fresh.downstream_sk)
		c = nginx__conn(id >> 32, fresh.downstream_sk);
	if (c && c->server_open) {
		__builtin_memcpy(fresh.span_id, c->server_span_id, 8);
		fresh.served = 1;
	} else {
		counter__inc(KSPAN_CNT_NGINX_UNSERVED);
	}
	bpf_map_update_elem(&nginx_handoffs, &tid, &fresh, BPF_ANY);
}

/* Return of ngx_http_upstream_init. */
static __always_inline void nginx__handoff_end(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct nginx_handoff *h = nginx__handoff(id);

	if (!h)
		return;
	if (h->depth > 1)
		h->depth--;
	else
		bpf_map_delete_elem(&nginx_handoffs, &tid);
}

/* Entry of ngx_event_connect_peer(pc). */
static __always_inline void nginx__peer_begin(__u64 pc)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct nginx_handoff *h = nginx__handoff(id);
	struct nginx_handoff outside = {.peer = pc, .tgid = (__u32)(id >> 32)};

	if (!process__selected(id >> 32))
		return;
	if (h) {
		h->peer = pc;
		return;
	}
	/* Remembered all the same: the connection it picks loses any
	 * binding it had. */
	bpf_map_update_elem(&nginx_handoffs, &tid, &outside, BPF_ANY);
}

/* Return of ngx_event_connect_peer: the connection picked is bound to the
 * hand-off's request, or to none. */
static __always_inline void nginx__peer_end(long rc)
{
	__u64 id = bpf_get_current_pid_tgid(), conn = 0, upstream = 0;
	__u32 tid = (__u32)id;
	struct nginx_handoff *h = nginx__handoff(id);
	struct nginx_binding b = {};
	struct conn_key key;
	int verdict;
	__u64 pc;

	if (!h || !h->peer)
		return;
	pc = h->peer;
	h->peer = 0;
	verdict = nginx_pick_verdict(rc, h->depth, h->served, h->nested);
	if (verdict != NGINX_PICK_NONE && !bpf_probe_read_user(&conn, sizeof(conn), (void *)pc))
		upstream = nginx__socket_of(conn);
	if (upstream) {
		conn__key(&key, id >> 32, upstream);
		if (verdict == NGINX_PICK_BIND) {
			b.downstream_sk = h->downstream_sk;
			__builtin_memcpy(b.span_id, h->span_id, 8);
			bpf_map_update_elem(&nginx_bindings, &key, &b, BPF_ANY);
		} else {
			if (verdict == NGINX_PICK_UNATTRIBUTED)
				counter__inc(KSPAN_CNT_NGINX_UNATTRIBUTED);
			bpf_map_delete_elem(&nginx_bindings, &key);
		}
	}
	if (!h->depth)
		bpf_map_delete_elem(&nginx_handoffs, &tid);
}

/* A CLIENT request without a traceparent of its own starts on socket sk of
 * the current process: when an nginx hand-off bound the connection to a
 * SERVER request that is still open, that request is its parent (in ctx).
 * The binding serves one request. */
static __always_inline bool nginx__parent(__u64 sk, struct kspan_trace_ctx *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct nginx_binding *b;
	struct conn_state *down;
	struct conn_key key;
	__u64 bound, open;

	conn__key(&key, tgid, sk);
	b = bpf_map_lookup_elem(&nginx_bindings, &key);
	if (!b)
		return false;
	down = nginx__conn(tgid, b->downstream_sk);
	__builtin_memcpy(&bound, b->span_id, 8);
	bpf_map_delete_elem(&nginx_bindings, &key);
	if (!down || !down->server_open) {
		counter__inc(KSPAN_CNT_NGINX_STALE);
		return false;
	}
	__builtin_memcpy(&open, down->server_span_id, 8);
	if (open != bound) {
		counter__inc(KSPAN_CNT_NGINX_STALE);
		return false;
	}
	__builtin_memcpy(ctx->trace_id, down->server_trace_id, 16);
	__builtin_memcpy(ctx->parent_span_id, down->server_span_id, 8);
	ctx->trace_flags = down->server_trace_flags;
	ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
	counter__inc(KSPAN_CNT_NGINX_LINKED);
	return true;
}

#endif /* KSPAN_NGINX_PARENT_BPF_H */
