/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * insertion_checks.h - what header insertion asks of the running kernel,
 * checked at start on loopback sockets kspan owns: that a socket in a
 * sockhash still reports FIONREAD right (before load), and that the loaded
 * sk_msg program's bpf_msg_push_data / pop_data deliver exactly the bytes
 * they should (after load, before any traced socket can enter the sockhash).
 */
#ifndef KSPAN_INSERTION_CHECKS_H
#define KSPAN_INSERTION_CHECKS_H

#include <stddef.h>

struct kspan_bpf;

/* Test-only: set to 1, the push self-check expects one byte wrong, so that
 * the tests can see what a failed check does. Never set in production. */
#define INSERTION_CHECK_FAIL_ENV "KSPAN_TEST_ONLY_FAIL_PUSH_CHECK"

/* 1 when a socket in a sockhash reports FIONREAD right, 0 when this kernel
 * has the regression of commit 929e30f93125, a negative errno when the check
 * could not run (why says what failed). */
int insertion_check_fionread(char *why, size_t len);

/* Writes requests from the calling thread on a socket pair it puts in the
 * loaded object's sockhash (whose sk_msg program must be attached) and
 * compares what arrives with what the insertion must give. 0 when every byte
 * is right; -EIO when not, a negative errno when the check could not run;
 * why says which. */
int insertion_check_push(struct kspan_bpf *skel, char *why, size_t len);

#endif /* KSPAN_INSERTION_CHECKS_H */
