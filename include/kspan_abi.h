/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kspan_abi.h - the whole kernel/user ABI of kspan.
 *
 * Everything the BPF programs and the agent exchange is declared here, and only
 * here: ring-buffer records, map keys and values that userspace reads or
 * writes, and the configuration constants both sides must agree on.
 *
 * Wire format of the ring buffer ("events" map)
 * ---------------------------------------------
 * Every record starts with struct kspan_event_header. Its `type` selects the
 * rest of the record:
 *
 *   KSPAN_EVENT_DATA       struct kspan_data_event, followed by `captured_len`
 *                          payload bytes (the first bytes the syscall moved;
 *                          `captured_len <= bytes_total`, and
 *                          `captured_len <= KSPAN_CAPTURE_MAX`).
 *                          On HTTP/2 connections one syscall becomes several
 *                          DATA events with consecutive seq: each carries the
 *                          next KSPAN_CAPTURE_MAX bytes in full (bytes_total ==
 *                          captured_len), up to KSPAN_H2_CAPTURE_MAX bytes;
 *                          what lies beyond is one last event whose
 *                          bytes_total counts the bytes that were not copied.
 *                          Userspace frames HTTP/2 itself and needs every
 *                          frame header, which a prefix would lose.
 *   KSPAN_EVENT_CONN_CLOSE struct kspan_conn_event: the application closed the
 *                          socket of a connection that produced DATA events.
 *   KSPAN_EVENT_PROC_INFO  struct kspan_proc_event: first sight of a traced
 *                          process; identity (name, arguments, executable
 *                          path, cgroup) read in the kernel so that
 *                          short-lived processes (curl) are still named.
 *   KSPAN_EVENT_PROC_EXIT  struct kspan_proc_exit_event: a traced process exited;
 *                          its connections are gone (exit closes fds without
 *                          a close() syscall).
 *   KSPAN_EVENT_H2_STREAM_CTX struct kspan_h2_stream_event: the CLIENT context
 *                          the kernel decided for a request stream of an
 *                          HTTP/2 connection at the entry of the write that
 *                          carried its HEADERS frame (and injected, when
 *                          flagged). Sent at that write's exit, before its
 *                          DATA events, only for frames the write moved; the
 *                          stream's CLIENT span takes these ids, so that the
 *                          traceparent the server received names that span.
 *   KSPAN_EVENT_PROC_EXEC  struct kspan_proc_exit_event: a traced process
 *                          exec()ed a new program; the agent looks for TLS
 *                          libraries it maps (user/loader/tls_libraries.c).
 *
 * Records are variable-length (header + payload) and 8-byte aligned by the
 * ring buffer. Fields use fixed-width types with explicit padding so that
 * the layout is identical for the BPF target and every host ABI; sizes are
 * pinned with _Static_assert. Timestamps are CLOCK_MONOTONIC nanoseconds
 * (bpf_ktime_get_ns). Addresses are in network byte order, ports in host
 * order. No kernel pointer ever appears in a record: connections are named
 * by a random 64-bit id drawn when the kernel first sees them.
 */
#ifndef KSPAN_ABI_H
#define KSPAN_ABI_H

#ifdef __BPF__
/* vmlinux.h provides the __u8.. types for BPF builds. */
#else
#include <linux/types.h>
#endif

/* Largest payload prefix an event can carry; a power of two so that BPF code
 * can bound indexes with a mask. The run-time size (--capture-bytes) is at
 * most this. */
#define KSPAN_CAPTURE_MAX     4096
#define KSPAN_CAPTURE_DEFAULT 1024

/* HTTP/2 connections: bytes of one syscall copied to userspace at most (in
 * KSPAN_CAPTURE_MAX pieces); iovec entries walked (UIO_MAXIOV). */
#define KSPAN_H2_CAPTURE_MAX (256 * 1024)
#define KSPAN_H2_MAX_IOVECS  1024

/* How far into a captured request the kernel looks for `traceparent`. */
#define KSPAN_CTX_SCAN_MAX 1024

#define KSPAN_COMM_LEN	   16
#define KSPAN_EXE_NAME_LEN 64
#define KSPAN_CMDLINE_LEN  256

enum kspan_event_type {
	KSPAN_EVENT_DATA = 1,
	KSPAN_EVENT_CONN_CLOSE = 2,
	KSPAN_EVENT_PROC_INFO = 3,
	KSPAN_EVENT_PROC_EXIT = 4,
	KSPAN_EVENT_H2_STREAM_CTX = 5,
	KSPAN_EVENT_PROC_EXEC = 6,
};

/* Which way the bytes moved, seen from the traced process. */
enum kspan_direction {
	KSPAN_DIR_INGRESS = 1, /* read by the process */
	KSPAN_DIR_EGRESS = 2,  /* written by the process */
};

/* Role of the traced process on the connection. */
enum kspan_role {
	KSPAN_ROLE_UNKNOWN = 0,
	KSPAN_ROLE_CLIENT = 1, /* it connect()ed, or it wrote a request */
	KSPAN_ROLE_SERVER = 2, /* it accept()ed, or it read a request */
};

/* Application protocol the kernel recognised on the connection. */
enum kspan_protocol {
	KSPAN_PROTO_UNKNOWN = 0,
	KSPAN_PROTO_HTTP1 = 1,
	KSPAN_PROTO_HTTP2 = 2, /* the client preface was seen (prior knowledge or h2c upgrade) */
};

/* The syscall family that moved the bytes (for diagnostics and timing). The
 * kprobe and fentry backends hook the TCP functions, not the syscalls: they
 * report RECVMSG and SENDMSG for every read and write, SENDFILE for bytes
 * sent from kernel pages. */
enum kspan_syscall {
	KSPAN_SYS_READ = 1,
	KSPAN_SYS_READV = 2,
	KSPAN_SYS_RECVFROM = 3,
	KSPAN_SYS_RECVMSG = 4,
	KSPAN_SYS_WRITE = 5,
	KSPAN_SYS_WRITEV = 6,
	KSPAN_SYS_SENDTO = 7,
	KSPAN_SYS_SENDMSG = 8,
	KSPAN_SYS_SENDFILE = 9,
};

/* kspan_data_event.flags */
#define KSPAN_DATA_F_MSG_START_REQUEST	(1u << 0) /* payload starts with a request line */
#define KSPAN_DATA_F_MSG_START_RESPONSE (1u << 1) /* payload starts with "HTTP/1." */
#define KSPAN_DATA_F_TRUNCATED		(1u << 2) /* captured_len < bytes_total */
#define KSPAN_DATA_F_NEW_CONN		(1u << 3) /* first event of this conn_id */
#define KSPAN_DATA_F_ADOPTED		(1u << 4) /* conn opened before kspan saw accept/connect */
/* The payload is TLS plaintext, taken at a TLS library's read or write
 * (bpf/attach/uprobe_openssl.bpf.h), not the bytes of a syscall: the
 * connection is HTTPS. Such a connection's own syscalls carry ciphertext and
 * never produce DATA events (KSPAN_CNT_TLS_CIPHERTEXT_SKIPPED). */
#define KSPAN_DATA_F_TLS (1u << 5)

/* kspan_trace_ctx.flags */
#define KSPAN_CTX_F_VALID	   (1u << 0) /* the kernel decided a context for this message */
#define KSPAN_CTX_F_HAS_PARENT	   (1u << 1) /* parent_span_id comes from an incoming traceparent */
#define KSPAN_CTX_F_HAS_TRACESTATE (1u << 2) /* the request also carries tracestate */
#define KSPAN_CTX_F_HAS_HEADER                                                                     \
	(1u << 3) /* kernel-internal, never sent: a traceparent is present                         \
		   */
/* The kernel's parent replaces the one the request's own traceparent names:
 * a pass-through proxy's CLIENT request, whose header is the one the request
 * it serves arrived with (propagation/passthrough.bpf.h), or a SERVER request
 * joined on this node to such a CLIENT request. */
#define KSPAN_CTX_F_OVER_HEADER (1u << 4)
/* A CLIENT request without a traceparent of its own, written by a thread
 * that can no longer tell which request it serves (an event loop), that no
 * mechanism linked: it starts its own trace, counted per runtime by the agent
 * (trace_context.bpf.h, trace_ctx__unattributed). */
#define KSPAN_CTX_F_UNATTRIBUTED (1u << 5)

/* W3C trace context as the kernel decided it for the first request that
 * starts in a DATA event's payload. */
struct kspan_trace_ctx {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8]; /* all zero when there is no parent */
	__u8 trace_flags;	/* W3C trace-flags byte (bit 0: sampled) */
	__u8 flags;		/* KSPAN_CTX_F_* */
	__u8 _pad[6];
};
_Static_assert(sizeof(struct kspan_trace_ctx) == 40, "kspan_trace_ctx layout");

struct kspan_event_header {
	__u16 type; /* enum kspan_event_type */
	__u16 _pad0;
	__u32 tgid; /* process id (thread group id) */
	__u32 tid;  /* thread id */
	__u32 _pad1;
	__u64 ts_ns; /* CLOCK_MONOTONIC when the event happened */
};
_Static_assert(sizeof(struct kspan_event_header) == 24, "kspan_event_header layout");

/* kspan_conn_tuple.family: the kernel's (Linux) address family numbers. */
#define KSPAN_AF_INET  2
#define KSPAN_AF_INET6 10

/* Connection identity, repeated in every DATA event so that a lost event
 * never leaves userspace unable to name a connection. */
struct kspan_conn_tuple {
	__u8 local_addr[16];  /* IPv4 in the first 4 bytes, or IPv6 */
	__u8 remote_addr[16]; /* same */
	__u16 local_port;
	__u16 remote_port;
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 _pad;
	__u32 netns_ino; /* inode number of the socket's network namespace */
	__u32 _pad2;
};
_Static_assert(sizeof(struct kspan_conn_tuple) == 48, "kspan_conn_tuple layout");

struct kspan_data_event {
	struct kspan_event_header hdr; /* hdr.ts_ns = syscall exit */
	__u64 conn_id;		       /* random, never 0, stable for the connection's life */
	__u64 ts_enter_ns;	       /* syscall entry */
	struct kspan_conn_tuple tuple;
	__u32 bytes_total;  /* bytes the syscall moved (its return value) */
	__u32 captured_len; /* payload bytes that follow this struct */
	__u16 flags;	    /* KSPAN_DATA_F_* */
	__u8 direction;	    /* enum kspan_direction */
	__u8 role;	    /* enum kspan_role */
	__u8 protocol;	    /* enum kspan_protocol */
	__u8 syscall;	    /* enum kspan_syscall */
	__u16 seq;	    /* per connection and direction: a gap means lost events */
	/* meaningful when ctx.flags & KSPAN_CTX_F_VALID; on an HTTP/2 TLS
	 * write (KSPAN_DATA_F_TLS) with only KSPAN_CTX_F_HAS_PARENT: the
	 * request the writing thread serves (trace_id, parent_span_id,
	 * trace_flags), parent of the CLIENT streams whose HEADERS it carries */
	struct kspan_trace_ctx ctx;
	/* __u8 payload[captured_len] follows */
};
_Static_assert(sizeof(struct kspan_data_event) == 24 + 8 + 8 + 48 + 8 + 8 + 40,
	       "kspan_data_event layout");

struct kspan_conn_event {
	struct kspan_event_header hdr;
	__u64 conn_id;
	struct kspan_conn_tuple tuple;
	__u8 role;
	__u8 protocol;
	__u16 seq_ingress; /* the seq the next DATA event of each direction */
	__u16 seq_egress;  /* would have had */
	__u8 _pad[2];
};
_Static_assert(sizeof(struct kspan_conn_event) == 24 + 8 + 48 + 8, "kspan_conn_event layout");

/* kspan_proc_event.path_flags: the walk up from the leaf reached the root,
 * so the path holds every component (otherwise only the lowest ones). */
#define KSPAN_PROC_F_EXE_PATH_WHOLE    (1u << 0)
#define KSPAN_PROC_F_CGROUP_PATH_WHOLE (1u << 1)

/*
 * A path as the kernel walks it, from the leaf up: its components, leaf
 * first, each ending with a NUL ("curl\0bin\0usr\0" is /usr/bin/curl;
 * nothing at all, with the WHOLE flag, is the root). A component starts in
 * the first KSPAN_PATH_LEN - KSPAN_PATH_NAME_MAX bytes and is at most
 * KSPAN_PATH_NAME_MAX bytes with its NUL (NAME_MAX + 1), so no name is ever
 * cut; a walk that runs out of room or levels stops without the WHOLE flag.
 */
#define KSPAN_PATH_LEN	    512
#define KSPAN_PATH_NAME_MAX 256

struct kspan_proc_event {
	struct kspan_event_header hdr;
	__u64 start_time_ns; /* task start (boot-based), tells pid reuse apart */
	__u32 cmdline_len;   /* bytes of cmdline used (NUL-separated args) */
	__u32 _pad;
	char comm[KSPAN_COMM_LEN];
	char exe_name[KSPAN_EXE_NAME_LEN]; /* basename of /proc/pid/exe */
	char cmdline[KSPAN_CMDLINE_LEN];   /* prefix of the argument vector */
	/* Read when kspan first sees the process, for a client that exits
	 * before the agent could read /proc (a curl): what the resource's
	 * process.executable.path, container.id and k8s.pod.uid come from. */
	__u16 exe_path_len;    /* bytes of exe_path used */
	__u16 cgroup_path_len; /* bytes of cgroup_path used */
	__u16 path_flags;      /* KSPAN_PROC_F_* */
	__u16 _pad2;
	/* the executable (mm->exe_file), as /proc/PID/exe shows it */
	char exe_path[KSPAN_PATH_LEN];
	/* the process's cgroup in the cgroup v2 hierarchy (the "0::" line of
	 * /proc/PID/cgroup); empty and WHOLE: the root, where a host without
	 * cgroup v2 keeps every task */
	char cgroup_path[KSPAN_PATH_LEN];
};
_Static_assert(sizeof(struct kspan_proc_event) ==
		   24 + 8 + 8 + 16 + 64 + 256 + 8 + 2 * KSPAN_PATH_LEN,
	       "kspan_proc_event layout");

struct kspan_proc_exit_event {
	struct kspan_event_header hdr;
	__u64 start_time_ns;
};
_Static_assert(sizeof(struct kspan_proc_exit_event) == 32, "kspan_proc_exit_event layout");

/* kspan_h2_stream_event.flags */
#define KSPAN_H2_STREAM_F_INJECTED (1u << 0) /* the HEADERS frame carried kspan's traceparent */

struct kspan_h2_stream_event {
	struct kspan_event_header hdr; /* hdr.ts_ns = the write's exit */
	__u64 conn_id;
	__u32 stream_id;
	__u32 flags;		    /* KSPAN_H2_STREAM_F_* */
	struct kspan_trace_ctx ctx; /* always KSPAN_CTX_F_VALID */
};
_Static_assert(sizeof(struct kspan_h2_stream_event) == 24 + 8 + 8 + 40,
	       "kspan_h2_stream_event layout");

/* Per-CPU counters (map "counters", a PERCPU_ARRAY indexed by this enum).
 * Every event the kernel could not deliver is counted here. */
enum kspan_counter {
	KSPAN_CNT_RINGBUF_DROPS = 0,   /* bpf_ringbuf_output failed: ring buffer full */
	KSPAN_CNT_CAPTURE_FAULTS = 1,  /* user memory could not be read */
	KSPAN_CNT_INFLIGHT_FULL = 2,   /* no room to remember a syscall between enter and exit */
	KSPAN_CNT_CONN_TABLE_FULL = 3, /* conn_table update failed */
	KSPAN_CNT_TRACEPARENT_INJECTED = 4, /* requests that got kspan's traceparent */
	KSPAN_CNT_INJECT_SKIPPED = 5, /* requests left alone: header block not in the first write */
	KSPAN_CNT_INJECT_FAILED = 6,  /* push/pull of the sk_msg failed: request left unchanged */
	/* HTTP/2 CLIENT request streams (bpf/propagation/http2_tx.bpf.h): */
	KSPAN_CNT_H2_INJECTED = 7,	    /* got kspan's traceparent in their HEADERS frame */
	KSPAN_CNT_H2_INJECT_OWN = 8,	    /* not injected: the connection carries the app's own */
	KSPAN_CNT_H2_INJECT_UNFIT = 9,	    /* not injected: the frame (or the send buffer) does
					     * not allow it safely */
	KSPAN_CNT_H2_INJECT_UNREACHED = 10, /* not injected: the socket bypasses the sk_msg hook */
	KSPAN_CNT_H2_UNDECIDED = 11,	    /* more new streams in one write than a plan holds */
	KSPAN_CNT_H2_TX_UNFOLLOWED = 12,    /* connections whose written frames are not followed */
	/* Client sockets of header insertion (propagation/inject_sockets.bpf.h): */
	KSPAN_CNT_INJECT_SOCKETS_ADDED = 13,   /* entered the sockhash at establishment */
	KSPAN_CNT_INJECT_SOCKETS_REMOVED = 14, /* out at their first bytes: not editable HTTP */
	KSPAN_CNT_INJECT_SOCKETS_STUCK = 15,   /* could not be taken out: FIONREAD stays wrong */
	/* HTTP/1 CLIENT connections where insertion stopped (http1_tx.bpf.h): */
	KSPAN_CNT_H1_TX_UNFOLLOWED = 16,     /* bytes written that no write entry saw */
	KSPAN_CNT_H1_TX_UNFRAMED = 17,	     /* a request body of unknown length (chunked) */
	KSPAN_CNT_H1_TX_NOT_REQUEST = 18,    /* at a boundary: no HTTP/1.0-1.1 request */
	KSPAN_CNT_H1_TX_OVERRUN = 19,	     /* a write ran past its request's end */
	KSPAN_CNT_H2_TX_DESYNC = 20,	     /* connections given up: bytes written that no planned
					      * write walked (sendfile, splice, io_uring, a lost
					      * plan, another writer): tcp write_seq moved */
	KSPAN_CNT_H2_INJECT_MISMATCH = 21,   /* not injected: the sk_msg piece was not at the socket
					      * and sequence its write's entry planned for */
	KSPAN_CNT_H1_INJECT_NO_ROOM = 22,    /* HTTP/1 requests not injected: the send buffer could
					      * not take the piece whole */
	KSPAN_CNT_HEAD_SCAN_INCOMPLETE = 23, /* request heads with more lines than the scan
					      * bound: decided from their first lines only */
	/* TLS plaintext taken at the library (bpf/capture/tls_calls.bpf.h): */
	KSPAN_CNT_TLS_CIPHERTEXT_SKIPPED = 24, /* syscalls on TLS connections: ciphertext, no
						* DATA event */
	KSPAN_CNT_TLS_UNBOUND = 25,	       /* TLS reads/writes on an SSL object whose socket
						* is unknown (no syscall inside any call yet) */
	KSPAN_CNT_TLS_CALLS_LOST = 26,	       /* TLS calls whose entry was not remembered
						* (table full, or probes attached mid-call) */
	KSPAN_CNT_TLS_UNPROBED_CONNS = 27,     /* connections carrying TLS records outside any
						* probed library call: a TLS library kspan
						* does not probe, or not yet */
	KSPAN_CNT_GO_TLS_NO_SOCKET = 28,       /* Go crypto/tls calls whose connection led to no TCP
						* socket (not a *net.TCPConn, or an fd closed) */
	KSPAN_CNT_GO_TLS_HELD_BYTE_LOST = 29,  /* net/http background-read bytes that the next
						* Read's buffer did not follow: the request
						* they began is not parsed */
	KSPAN_CNT_TLS_MEMBIO_BOUND = 30,       /* TLS sessions without a syscall inside their calls
						* (memory BIO) bound to the connection whose
						* records their thread read just before */
	KSPAN_CNT_NGINX_LINKED = 31,	       /* nginx upstream requests made children of the
						* downstream request they serve */
	KSPAN_CNT_NGINX_UNSERVED = 32,	       /* nginx upstream hand-offs for a request whose
						* connection has no open HTTP/1 SERVER request
						* (HTTP/2 downstream, or not seen) */
	KSPAN_CNT_NGINX_UNATTRIBUTED = 33,     /* nginx upstream connections chosen outside a
						* hand-off (retries, stream proxy) or in a nested
						* one: their requests are not linked */
	KSPAN_CNT_NGINX_STALE = 34,	       /* nginx upstream requests whose downstream request
						* had ended or changed: not linked */
	/* node's read callbacks (bpf/propagation/node_parent.bpf.h): */
	KSPAN_CNT_NODE_CLIENT_LINKED = 35,	 /* CLIENT requests node wrote in the read
						  * callback of one SERVER request: its child */
	KSPAN_CNT_NODE_CLIENT_UNATTRIBUTED = 36, /* CLIENT requests node wrote outside such a
						  * callback: a trace of their own */
	KSPAN_CNT_GO_CLIENT_UNATTRIBUTED = 37,	 /* HTTP/1 CLIENT requests of a Go program whose
						  * goroutine serves no request kspan knows:
						  * their own trace (go_parent.bpf.h) */
	KSPAN_CNT_GO_PARENT_ENDED = 38,		 /* goroutines that inherited a request whose reader
						  * has answered or moved on: not linked */
	KSPAN_CNT_GO_NO_GOROUTINE = 39,		 /* Go syscalls whose goroutine could not be read
						  * (no bpf_task_pt_regs: before 5.15) */
	/* Pass-through proxies (bpf/propagation/passthrough.bpf.h): */
	KSPAN_CNT_PASSTHROUGH_REWRITTEN = 40,	 /* forwarded traceparents whose parent-id was
						  * rewritten to the proxy's CLIENT span */
	KSPAN_CNT_PASSTHROUGH_NO_INSERTION = 41, /* linked, not rewritten: insertion is off
						  * (--propagation tuple) */
	KSPAN_CNT_PASSTHROUGH_UNFOLLOWED = 42,	 /* linked, not rewritten: the request did not
						  * start where kspan followed the connection
						  * from its first byte */
	KSPAN_CNT_PASSTHROUGH_UNREACHED = 43,	 /* linked, not rewritten: the sk_msg program
						  * did not find the header where planned (socket
						  * not in the sockhash, bytes changed, no room) */
	KSPAN_CNT_PASSTHROUGH_AMBIGUOUS = 44,	 /* not linked: two open requests of the process
						  * arrived with the same traceparent */
	KSPAN_CNT_PASSTHROUGH_EVICTED = 45,	 /* open requests forgotten early: table full */
	KSPAN_CNT_PASSTHROUGH_TLS_LINKED = 46,	 /* TLS CLIENT requests linked as pass-through
						  * (parent only: TLS is never edited) */
	KSPAN_CNT_SOCKTP_READ_UNSEEN = 47,	 /* reads of a traced process's TCP socket that the
						  * socket-tracepoint backend cannot capture: no read
						  * syscall it unpacks (io_uring, recvmmsg, splice) */
	KSPAN_CNT_MAX = 48,
};

/*
 * Header insertion's start-up self-check (user/loader/insertion_checks.c):
 * the agent writes this to the one entry of map `inject_selfcheck`, then
 * writes a request on a socket it owns (named by its cookie), which it put
 * in the sockhash itself; the sk_msg program inserts into that write as into
 * a traced client's (propagation/header_insertion.bpf.h), and the agent
 * compares the bytes that arrive. Zeroed again after the check.
 */
#define KSPAN_SELFCHECK_F_POP (1u << 0) /* take the inserted bytes out again (pop_data) */

struct kspan_inject_selfcheck {
	__u64 cookie;		    /* the writing socket's (SO_COOKIE); 0: no check running */
	struct kspan_trace_ctx ctx; /* the ids of the inserted traceparent */
	__u16 local_port;	    /* the writing socket's */
	__u16 inject_off;	    /* where to insert: just past the request line */
	__u8 flags;		    /* KSPAN_SELFCHECK_F_* */
	__u8 _pad[3];
};
_Static_assert(sizeof(struct kspan_inject_selfcheck) == 8 + 40 + 8,
	       "kspan_inject_selfcheck layout");

/* --propagation: how a request's context reaches the next process. Bits. */
#define KSPAN_PROPAGATE_HEADERS (1u << 0) /* insert traceparent into outgoing requests */
#define KSPAN_PROPAGATE_TUPLE	(1u << 1) /* join both ends of a connection seen on this node */

/* Map sizes, in one place. */
#define KSPAN_MAX_CONNS		 65536
#define KSPAN_MAX_INFLIGHT	 16384
#define KSPAN_MAX_FILTER_PORTS	 256
#define KSPAN_MAX_PROCS		 16384
#define KSPAN_MAX_SELF_ENDPOINTS 256
#define KSPAN_MAX_THREADS	 16384
#define KSPAN_MAX_PEER_REQUESTS	 16384
#define KSPAN_MAX_TRACESTATES	 4096
#define KSPAN_MAX_PASSTHROUGH	 16384 /* open SERVER requests that carried a traceparent */
/* Longest tracestate value forwarded (W3C Trace Context 3.3.1.5: vendors
 * should propagate at least 512 characters); longer ones are not forwarded. */
#define KSPAN_TRACESTATE_MAX	    512
#define KSPAN_MAX_INJECT_SOCKETS    65536
#define KSPAN_MAX_H2_TX_PLANS	    256 /* HTTP/2 client writes in flight at once */
#define KSPAN_RINGBUF_DEFAULT_BYTES (8u << 20)

#endif /* KSPAN_ABI_H */
