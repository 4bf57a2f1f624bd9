/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_capture.bpf.h - what the first bytes of a read or write say about an
 * HTTP/1.x connection: whether they start a request or a response
 * (http1_detect.h), and so which end of the connection the process is.
 */
#ifndef KSPAN_CAPTURE_HTTP1_CAPTURE_BPF_H
#define KSPAN_CAPTURE_HTTP1_CAPTURE_BPF_H

#include "base/maps.bpf.h"
#include "http1_detect.h"

/* Does the payload begin an HTTP/1.x request or response? */
__noinline int kspan_message_start(struct data_scratch *s, __u32 captured)
{
	if (!s)
		return 0;
	if (captured > KSPAN_CAPTURE_MAX)
		captured = KSPAN_CAPTURE_MAX;
	if (http1_request_method_len(s->payload, 0, captured))
		return KSPAN_DATA_F_MSG_START_REQUEST;
	if (http1_is_response_start(s->payload, 0, captured))
		return KSPAN_DATA_F_MSG_START_RESPONSE;
	return 0;
}

static __always_inline void role__learn(struct conn_state *c, __u8 direction, __u16 start)
{
	if (c->role != KSPAN_ROLE_UNKNOWN || !start)
		return;
	/* Whoever reads a request, or writes a response, is the server. */
	if ((start == KSPAN_DATA_F_MSG_START_REQUEST) == (direction == KSPAN_DIR_INGRESS))
		c->role = KSPAN_ROLE_SERVER;
	else
		c->role = KSPAN_ROLE_CLIENT;
}

#endif /* KSPAN_CAPTURE_HTTP1_CAPTURE_BPF_H */
