/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * maps.bpf.h - the BPF maps that several levels of bpf/ share, with their
 * keys and values: the ring buffer, the counters, the syscalls in flight,
 * the connection table, this node's addresses, the filters and the per-CPU
 * scratch buffers. A map that only one module uses is defined next to its
 * code (trace_context, http2_tx_plan and header_insertion in propagation/).
 * Sizes come from include/kspan_abi.h.
 */
#ifndef KSPAN_MAPS_BPF_H
#define KSPAN_MAPS_BPF_H

#include "base/kernel.bpf.h"
#include "http1_tx_boundary.h"
#include "kspan_abi.h"
#include "kspan_bytes.h"
#include "kspan_endpoint.h"

/* Ring buffer to userspace; records are described in kspan_abi.h. Its size
 * is set by the loader before load (--ringbuf-bytes). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KSPAN_RINGBUF_DEFAULT_BYTES);
} events SEC(".maps");

/* enum kspan_counter -> per-CPU count. Summed by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KSPAN_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* A socket syscall between its enter and exit. Kernel-only: holds kernel and
 * user pointers, never sent. */
struct inflight_syscall {
	__u64 key;		    /* which syscall (base/inflight.bpf.h), 0: not told */
	__u64 sk;		    /* struct sock * of the fd at entry (identity check only) */
	__u64 buf;		    /* user buffer, or user iovec array when iovcnt > 0 */
	__u64 ts_enter;		    /* CLOCK_MONOTONIC at entry; 0: at the exit (a read) */
	__u32 iovcnt;		    /* iovec entries, | CAPTURE_IOV_KERNEL (capture/copy.bpf.h) */
	__u32 flat_len;		    /* iovcnt == 0: bytes at buf the call moves at most;
				     * FLAT_LEN_SYSCALL_ARG: its syscall's third argument */
	__u8 syscall;		    /* enum kspan_syscall */
	__u8 direction;		    /* enum kspan_direction */
	__u16 local_port;	    /* of the socket, for the sk_msg program's identity check */
	__u16 inject_off;	    /* where the sk_msg program inserts traceparent; 0: nowhere */
	__u8 inject_tracestate : 1; /* also insert the served request's tracestate */
	/* inject_off names the parent-id of the request's own, forwarded
	 * traceparent: rewrite it (propagation/passthrough.bpf.h), insert nothing */
	__u8 rewrite_parent : 1;
	__u8 _spare : 6;
	/* Two flags in one byte: the struct lives on 6.1's tight stack. */
	__u8 in_hash : 1;  /* also in `inflight` (an insertion plan): delete it at exit */
	__u8 io_flags : 7; /* KSPAN_IO_* */
	/* A request written by a client: its context, decided at entry so that
	 * the header inserted during the syscall and the DATA event at its exit
	 * carry the same ids (ctx.flags & KSPAN_CTX_F_VALID when decided). */
	struct kspan_trace_ctx ctx;
};

/* inflight_syscall.io_flags */
#define KSPAN_IO_TLS                                                                               \
	(1u << 0) /* TLS plaintext at a library call's return, not a syscall:                      \
		   * buf is the plaintext, flat_len its length */
/* A Go crypto/tls call (attach/uprobe_go_tls.bpf.h): its goroutine may run on
 * any thread, so it neither sets nor takes the thread's served request. */
#define KSPAN_IO_GOROUTINE (1u << 1)
/* The thread's socket cache marks the syscall's socket as a SERVER
 * connection's (base/socket_cache.bpf.h): a write's entry decides nothing. */
#define KSPAN_IO_SERVER_SOCKET (1u << 2)
/* The socket came through the thread's socket cache (tracepoint front-end),
 * whose SERVER mark data__handle keeps true. */
#define KSPAN_IO_FD_CACHED (1u << 3)

/* The socket behind the fd a thread last used (base/socket_cache.bpf.h). */
struct fd_socket {
	__u64 file; /* struct file * at fds[fd] */
	__u64 sock; /* its struct socket * */
	__u64 sk;   /* the TCP socket; 0: nothing cached */
	__u32 fd;
	/* The thread has entered a probed TLS library call since kspan
	 * started (set before the call's tls_calls entry, never cleared): only
	 * then can a syscall of the thread be inside one, and only then does
	 * the syscall path look tls_calls up (capture/tls_calls.bpf.h). */
	__u8 tls_caller;
	/* The cached socket is a SERVER connection's, as its last data syscall
	 * on this thread found it (socket__cache_note_role): its writes' entries
	 * skip the CLIENT side and the entry clock. Cleared with the cache. */
	__u8 server;
	__u16 _pad;
	/* The SERVER connection's ports (skc_portpair) when server was set:
	 * an sk is a slab object, and a closed connection's sk, file and
	 * socket can all come back at the same addresses for the thread's
	 * next connection (nginx closes a client's and opens an upstream one
	 * on the same fd); its ports then differ, and the mark is not used. */
	__u32 server_ports;
	__u32 _pad2;
};

/* The SERVER request a thread serves (propagation/trace_context.bpf.h);
 * all zeroes until it reads one. */
struct thread_request {
	__u8 trace_id[16];
	__u8 span_id[8];  /* the SERVER span: parent of the thread's CLIENT requests */
	__u64 conn_id;	  /* connection the request arrived on */
	__u32 parent_tid; /* inherited: the creating thread, which must still serve it */
	__u8 trace_flags;
	__u8 open;	     /* request read, response not begun */
	__u8 interleaved;    /* served two connections at once: never linked */
	__u8 inherited;	     /* copied from parent_tid when this thread was created */
	__u8 has_tracestate; /* thread_tracestates may hold an entry of this thread */
	__u8 mirrored;	     /* copied to thread_requests at each change: a thread it
			      * created inherited the request (thread__created) */
	__u8 _pad[6];
	__u64 read_buf;	  /* node__note_server_read: the buffer the request was read */
	__u64 read_bytes; /* into, and its length; 0: not one whole request */
};

/*
 * A thread's own state, in its task storage (freed with the thread): the
 * socket cache (socket_cache.bpf.h), its socket syscall in flight between
 * entry and exit (syscall != 0 while one is, base/inflight.bpf.h), its
 * memory-BIO offer (capture/tls_calls.bpf.h) and the SERVER request it
 * serves (propagation/trace_context.bpf.h). That entry was an LRU hash keyed
 * by thread id; here a thread's end costs no delete and no busy thread's
 * entry is evicted by others. Its lookups were 8% of a saturated nginx's
 * BPF samples (make bench-lines), yet the total did not move (3 rounds side
 * by side): the entry's cache line is as cold here as in the hash, and
 * the time goes to such misses. One value for all four so
 * that each syscall program run costs one get, whose pointer is passed on:
 * on tracing programs each get is bpf_task_storage_get_recur with its
 * per-CPU busy lock, about 10% of the server's BPF time with three maps.
 */
struct thread_io {
	struct fd_socket sock;
	struct inflight_syscall in;
	/* The socket whose TLS records were the thread's last socket
	 * syscalls, read outside any library call; 0 once a library call took
	 * it, or a write or another connection's syscall came since
	 * (capture/tls_calls.bpf.h, tls_membio__offer). */
	__u64 membio_sk;
	/* The socket tracepoint front-end only: the TCP socket of the write
	 * whose entry was seen and whose exit was not yet
	 * (attach/socket_tracepoint.bpf.h). */
	__u64 send_sk;
	/* The SERVER request the thread serves (propagation/trace_context.bpf.h). */
	struct thread_request req;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_io);
} thread_io SEC(".maps");

/* The current thread's state, created on its first use; NULL when it could
 * not be (memory, or a get nested in another on this CPU). */
static __always_inline struct thread_io *thread_io__mine(void)
{
	return bpf_task_storage_get(&thread_io, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/* The current thread's state if it has any, without creating it. */
static __always_inline struct thread_io *thread_io__existing(void)
{
	return bpf_task_storage_get(&thread_io, bpf_get_current_task_btf(), 0, 0);
}

/* key: bpf_get_current_pid_tgid() -> a copy of the thread's write in flight,
 * only while its entry planned a traceparent insertion: the sk_msg program
 * that inserts it has no task to reach task storage with
 * (propagation/header_insertion.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSPAN_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct inflight_syscall);
} inflight SEC(".maps");

/* A connection is a socket as one process uses it: {tgid, struct sock *},
 * valid only together with the process's start time (a tgid is reused after
 * exit). Every front-end keys by the socket, not by the fd: a process that
 * dup()s a socket (busybox httpd, inetd-style servers) reads a request on one
 * fd and answers on another, and both are one connection. */
struct conn_key {
	__u32 tgid;
	__u32 _pad;
	__u64 sk; /* kernel-only, like conn_state.sk */
};

struct conn_state {
	__u64 sk;	     /* struct sock *: identity check, kernel-only */
	__u64 proc_start_ns; /* task start time of the owning process */
	__u64 conn_id;	     /* random id sent to userspace */
	struct kspan_conn_tuple tuple;
	__u8 role;	  /* enum kspan_role */
	__u8 protocol;	  /* enum kspan_protocol */
	__u8 ignored;	  /* excluded by the port filter, or not TCP */
	__u8 announced;	  /* at least one event was sent */
	__u8 adopted;	  /* first seen on data, not at accept/connect */
	__u8 tls;	  /* its bytes are TLS: DATA events only from the library's
			   * plaintext (capture/tls_calls.bpf.h), never from syscalls,
			   * and nothing is ever inserted */
	__u8 tls_records; /* TLS records seen outside probed calls (counted) */
	__u8 _pad;
	/* seq of the next event per direction (index: direction - 1), counted
	 * even when sending fails. Per direction because a reader and a writer
	 * thread may race on one socket (Go does): their events can reach the
	 * ring in either order, which is no loss. */
	__u16 next_seq[2];
	/* HTTP/2 CLIENT connections: the frames the process writes, followed
	 * from the preface on so that each write's entry finds the request
	 * HEADERS frames in it (propagation/http2_tx.bpf.h). */
	__u32 h2_tx_skip;	 /* bytes of the current frame still to be written */
	__u32 h2_tx_last_stream; /* highest request stream id written */
	__u8 h2_tx;		 /* enum h2_tx_follow */
	__u8 h2_tx_own_tp;	 /* the process sent a traceparent: never inject again */
	__u8 h2_tx_head_len;	 /* a write ended inside a frame header: its bytes so far */
	__u8 _pad2;
	/* HTTP/1 CLIENT connections: where the requests the process writes
	 * begin, for header insertion (propagation/http1_tx.bpf.h). */
	struct h1_tx_boundary h1_tx;
	/* tcp write_seq when the last walked write returned: the next write's
	 * entry must find it unchanged, else bytes went out that the cursor
	 * did not follow (socket__write_seq). */
	__u32 h2_tx_seq;
	__u8 h2_tx_head[8]; /* the h2_tx_head_len bytes (HTTP/2 frame headers are 9) */
	/* TLS connections: requests written (CLIENT) or read (SERVER) so far,
	 * the same-node join key of their requests (trace_context.bpf.h): the
	 * plaintext has no TCP sequence number. */
	__u32 tls_requests;
	/* SERVER connections: the HTTP/1 request read last, open from its
	 * first byte read until its response begins; a handler that passes
	 * the request on without its thread (nginx's upstream hand-off,
	 * propagation/nginx_parent.bpf.h) takes it as its CLIENT requests'
	 * parent while it is open. */
	__u8 server_trace_id[16];
	__u8 server_span_id[8];
	__u8 server_trace_flags;
	__u8 server_open;
	/* passthrough_conns may hold an entry of this connection: a SERVER
	 * request that carried no traceparent (most) costs no lookup of it at
	 * its start and its response (propagation/passthrough.bpf.h). */
	__u8 server_passthrough;
	__u8 _pad3;
	/* go_processes had no entry of the process when go_processes_gen was
	 * this (propagation/go_parent.bpf.h): a process that is not Go costs
	 * no lookup of it at each request and response. */
	__u32 not_go_gen;
	/* When this entry was made (bpf_ktime_get_ns): the socket tracepoint
	 * front-end tells an entry of the socket's current connection from one
	 * a closed connection left at the same address (socktp__claim). */
	__u64 born_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_CONNS);
	__type(key, struct conn_key);
	__type(value, struct conn_state);
} conn_table SEC(".maps");

/* Per-CPU slot where conn__get builds a new conn_state (too big for the
 * stack of the deeper call chains). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct conn_state);
} conn_scratch SEC(".maps");

/* tgid -> task start time of processes already announced with PROC_INFO. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u64);
} known_procs SEC(".maps");

/* The local endpoints of kspan's own TCP connections (its exporter's), so
 * that the peer's side - a collector on this node - is not traced either:
 * otherwise every export would produce a span that the next export sends.
 * Keys as kspan_endpoint.h builds them. */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_SELF_ENDPOINTS);
	__type(key, struct endpoint_key);
	__type(value, __u8);
} self_endpoints SEC(".maps");

/* Addresses of this node (any network namespace), as endpoint_key with port
 * 0 -> 1: filled by the agent from getifaddrs() at start and every
 * LOCAL_ADDRS_REFRESH_NS (user/loader/local_addrs.c), and learnt from the
 * local address of every passive open on the node (kspan_btf_passive_open:
 * a pod's address, in a namespace the agent does not see). A CLIENT request is
 * remembered for a same-node join only when its server's address is one of
 * them (trace_context.bpf.h, peer_requests). LRU: pods come and go. */
#define KSPAN_MAX_LOCAL_ADDRS 4096

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_LOCAL_ADDRS);
	__type(key, struct endpoint_key);
	__type(value, __u8);
} local_addrs SEC(".maps");

/* --pid filter: a bitmap of tgids, bit tgid % 64 of entry tgid / 64, sized
 * by the loader to the largest pid given. Consulted only when filter_pids is
 * set, on every syscall the front-end follows of every process: the verifier
 * inlines an array lookup (a bounds check and an add), where a hash lookup
 * is a call that hashes the key (about 40 ns each in perf on a 2-vCPU VM,
 * the largest map cost of a `--pid` exchange). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets it */
	__type(key, __u32);
	__type(value, __u64);
} traced_pids SEC(".maps");

/* --port filter: local or remote TCP port (host order) -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSPAN_MAX_FILTER_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} traced_ports SEC(".maps");

/* Per-CPU scratch: the DATA event under construction, its payload, and room
 * for masked indexes (kspan_bytes.h). Too big for the 512-byte BPF stack.
 * unwoken_bytes, after what is sent: the bytes of DATA records this CPU sent
 * since it last woke the ring's reader (ringbuf__send_data). */
struct data_scratch {
	struct kspan_data_event ev;
	__u8 payload[KSPAN_SCRATCH_SIZE];
	__u64 unwoken_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct data_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kspan_proc_event);
} proc_scratch SEC(".maps");

#endif /* KSPAN_MAPS_BPF_H */
