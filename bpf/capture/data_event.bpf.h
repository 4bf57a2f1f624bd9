/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * data_event.bpf.h - the DATA event (kspan_abi.h) of a read or write on a
 * connection: its fields that only depend on the connection and the syscall.
 * HTTP/1 sends one per syscall (attach/data_path.bpf.h), HTTP/2 as many as
 * its bytes need (capture/http2_capture.bpf.h).
 */
#ifndef KSPAN_CAPTURE_DATA_EVENT_BPF_H
#define KSPAN_CAPTURE_DATA_EVENT_BPF_H

#include "base/maps.bpf.h"

/* The fields of a DATA event that only depend on the connection and the
 * syscall (`tls`: a TLS library call's plaintext, data__handle's). Numbered
 * (seq) by the caller, before sending: a failed send leaves a gap userspace
 * sees. */
static __always_inline void data__fill_event(struct data_scratch *s, const struct conn_state *c,
					     const struct inflight_syscall *in, __u64 id, __u64 now,
					     __u32 bytes, __u32 captured, bool tls)
{
	__builtin_memset(&s->ev, 0, sizeof(s->ev));
	s->ev.hdr.type = KSPAN_EVENT_DATA;
	s->ev.hdr.tgid = id >> 32;
	s->ev.hdr.tid = (__u32)id;
	s->ev.hdr.ts_ns = now;
	s->ev.conn_id = c->conn_id;
	/* 0: a read seen at its exit only (its span starts when the bytes
	 * arrived), which takes the exit's time. */
	s->ev.ts_enter_ns = in->ts_enter ? in->ts_enter : now;
	s->ev.tuple = c->tuple;
	s->ev.bytes_total = bytes;
	s->ev.captured_len = captured;
	s->ev.flags = (captured < bytes ? KSPAN_DATA_F_TRUNCATED : 0) |
		      (c->announced ? 0 : KSPAN_DATA_F_NEW_CONN) |
		      (c->adopted ? KSPAN_DATA_F_ADOPTED : 0) | (tls ? KSPAN_DATA_F_TLS : 0);
	s->ev.direction = in->direction;
	s->ev.role = c->role;
	s->ev.protocol = c->protocol;
	s->ev.syscall = in->syscall;
}

#endif /* KSPAN_CAPTURE_DATA_EVENT_BPF_H */
