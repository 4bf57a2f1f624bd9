// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for include/nginx_handoff.h: what the return of
 * ngx_event_connect_peer does with the connection it picked (the same code
 * the BPF return probe runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nginx_handoff.h"

#define NGX_ERROR    (-1)
#define NGX_BUSY     (-3)
#define NGX_DECLINED (-5)

/* Fresh (OK, AGAIN) and cached keep-alive (DONE) connections of a served
 * hand-off are bound. */
static void test_served_handoff_binds_every_picked_connection(void **state)
{
	(void)state;
	assert_int_equal(nginx_pick_verdict(NGINX_OK, 1, 1, 0), NGINX_PICK_BIND);
	assert_int_equal(nginx_pick_verdict(NGINX_AGAIN, 1, 1, 0), NGINX_PICK_BIND);
	assert_int_equal(nginx_pick_verdict(NGINX_DONE, 1, 1, 0), NGINX_PICK_BIND);
}

/* Failures leave no connection that carries a request. */
static void test_failed_connect_picks_nothing(void **state)
{
	(void)state;
	assert_int_equal(nginx_pick_verdict(NGX_ERROR, 1, 1, 0), NGINX_PICK_NONE);
	assert_int_equal(nginx_pick_verdict(NGX_BUSY, 1, 1, 0), NGINX_PICK_NONE);
	assert_int_equal(nginx_pick_verdict(NGX_DECLINED, 0, 0, 0), NGINX_PICK_NONE);
}

/* A retry (ngx_http_upstream_next from an event handler) is outside any
 * hand-off; a hand-off inside another serves two requests: neither binds. */
static void test_outside_or_nested_is_unattributed(void **state)
{
	(void)state;
	assert_int_equal(nginx_pick_verdict(NGINX_OK, 0, 0, 0), NGINX_PICK_UNATTRIBUTED);
	assert_int_equal(nginx_pick_verdict(NGINX_DONE, 0, 1, 0), NGINX_PICK_UNATTRIBUTED);
	assert_int_equal(nginx_pick_verdict(NGINX_AGAIN, 2, 1, 1), NGINX_PICK_UNATTRIBUTED);
}

/* A hand-off whose request was not seen open (HTTP/2 downstream) unbinds
 * without a second count. */
static void test_unserved_handoff_unbinds(void **state)
{
	(void)state;
	assert_int_equal(nginx_pick_verdict(NGINX_OK, 1, 0, 0), NGINX_PICK_UNSERVED);
	assert_int_equal(nginx_pick_verdict(NGINX_DONE, 1, 0, 0), NGINX_PICK_UNSERVED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_served_handoff_binds_every_picked_connection),
	    cmocka_unit_test(test_failed_connect_picks_nothing),
	    cmocka_unit_test(test_outside_or_nested_is_unattributed),
	    cmocka_unit_test(test_unserved_handoff_unbinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
