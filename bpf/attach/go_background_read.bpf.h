/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * go_background_read.bpf.h - net/http's background byte on plaintext
 * connections of Go programs.
 *
 * While a handler runs, net/http's server reads one byte in another
 * goroutine (connReader.backgroundRead, src/net/http/server.go) to notice a
 * client that went away. A keep-alive client that sends its next request
 * before the server aborts that read (finishRequest flushes the response
 * first) has the request's first byte read there, and the rest by the
 * connection's goroutine: seen apart, neither piece starts a request, so the
 * kernel decides no context for it and its goroutine serves nothing
 * (propagation/go_parent.bpf.h). As for crypto/tls (uprobe_go_tls.bpf.h),
 * the byte is held, not sent, and the connection's next read takes it back
 * when its buffer follows that very byte (connReader.Read returns the held
 * byte alone; bufio.Reader.fill reads the rest right after it).
 */
#ifndef KSPAN_GO_BACKGROUND_READ_BPF_H
#define KSPAN_GO_BACKGROUND_READ_BPF_H

#include "base/conn_tracking.bpf.h"
#include "base/counters.bpf.h"
#include "capture/copy.bpf.h"
#include "propagation/go_parent.bpf.h"

struct go_read_held_key {
	__u32 tgid;
	__u32 _pad;
	__u64 sk;
};

struct go_read_held {
	__u64 conn_id; /* a socket's address is reused */
	__u8 byte;
	__u8 _pad[7];
};

/* {tgid, struct sock *} -> the byte a background read returned. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_INFLIGHT);
	__type(key, struct go_read_held_key);
	__type(value, struct go_read_held);
} go_read_held_bytes SEC(".maps");

/* The user's third syscall argument (read's count), from the registers
 * the task saved at entry: the kernel restores all but RAX, RCX and R11. */
static __always_inline __u64 go__read_count(void)
{
	struct pt_regs *regs;

	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return BPF_CORE_READ(regs, dx);
}

/* A read(2) of *ret bytes into in->buf has returned: false when it is the
 * background byte, now held (no DATA event); otherwise, when the byte held
 * on its connection precedes its buffer, *in and *ret include it. */
static __always_inline bool go__background_read(struct inflight_syscall *in, long *ret)
{
	struct go_read_held_key k = {.sk = in->sk};
	struct go_read_held *held, fresh = {};
	struct conn_state *c;
	__u8 before = 0;
	__u32 tgid;

	/* Every other read and write returns here, before any helper call. */
	if (in->direction != KSPAN_DIR_INGRESS || in->syscall != KSPAN_SYS_READ || in->iovcnt ||
	    (in->io_flags & KSPAN_IO_TLS))
		return true;
	tgid = bpf_get_current_pid_tgid() >> 32;
	k.tgid = tgid;
	if (!go__process(tgid))
		return true;
	c = conn__get(tgid, in->sk, KSPAN_ROLE_UNKNOWN, true);
	if (!c || c->role != KSPAN_ROLE_SERVER || c->protocol != KSPAN_PROTO_HTTP1 || c->tls)
		return true;
	held = bpf_map_lookup_elem(&go_read_held_bytes, &k);
	if (held) {
		if (held->conn_id == c->conn_id && *ret < 0x7fffffff &&
		    bpf_probe_read_user(&before, 1, (void *)(in->buf - 1)) == 0 &&
		    before == held->byte) {
			in->buf--;
			if (in->flat_len != FLAT_LEN_SYSCALL_ARG)
				in->flat_len++;
			++*ret;
		} else {
			counter__inc(KSPAN_CNT_GO_TLS_HELD_BYTE_LOST);
		}
		bpf_map_delete_elem(&go_read_held_bytes, &k);
		return true;
	}
	if (*ret != 1 || go__read_count() != 1 ||
	    bpf_probe_read_user(&fresh.byte, 1, (void *)in->buf))
		return true;
	fresh.conn_id = c->conn_id;
	return bpf_map_update_elem(&go_read_held_bytes, &k, &fresh, BPF_ANY) != 0;
}

#endif /* KSPAN_GO_BACKGROUND_READ_BPF_H */
