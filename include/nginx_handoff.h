/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nginx_handoff.h - what the return of ngx_event_connect_peer does with the
 * upstream connection it picked (bpf/propagation/nginx_parent.bpf.h): bind
 * it to the downstream request of the hand-off in progress, or drop any
 * binding it had, counted or not.
 *
 * ngx_event_connect_peer returns with a connection in pc->connection for
 * NGX_OK (connected), NGX_AGAIN (connect in progress) and NGX_DONE (a cached
 * keep-alive connection, ngx_http_upstream_keepalive_module); NGX_ERROR,
 * NGX_BUSY and NGX_DECLINED leave none that will carry a request
 * (src/event/ngx_event_connect.c, src/core/ngx_core.h).
 */
#ifndef NGINX_HANDOFF_H
#define NGINX_HANDOFF_H

#include "kspan_bytes.h"

#define NGINX_OK    0
#define NGINX_AGAIN (-2)
#define NGINX_DONE  (-4)

enum nginx_pick {
	NGINX_PICK_NONE = 0,	 /* no connection picked: nothing to do */
	NGINX_PICK_BIND,	 /* bind it to the hand-off's request */
	NGINX_PICK_UNATTRIBUTED, /* unbind it, count it: outside a hand-off, or nested */
	NGINX_PICK_UNSERVED,	 /* unbind it: the hand-off's entry counted it already */
};

/* The verdict for a connect_peer that returned rc inside `depth`
 * ngx_http_upstream_init calls (0: outside any), whose outermost found an
 * open SERVER request (served) and had another start inside it (nested). */
KSPAN_INLINE int nginx_pick_verdict(long rc, __u32 depth, __u8 served, __u8 nested)
{
	if (rc != NGINX_OK && rc != NGINX_AGAIN && rc != NGINX_DONE)
		return NGINX_PICK_NONE;
	if (!depth || nested)
		return NGINX_PICK_UNATTRIBUTED;
	return served ? NGINX_PICK_BIND : NGINX_PICK_UNSERVED;
}

#endif /* NGINX_HANDOFF_H */
