// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * insertion_checks.c - the kernel checks of header insertion, on loopback
 * socket pairs kspan owns.
 *
 * The socket kspan puts in a sockhash is the accepted end of each pair: the
 * connecting end of a traced process's connect() - and kspan is one, for any
 * other kspan on the node - may already sit in another agent's sockhash,
 * where a second sk_msg program could not be attached (EBUSY), while no
 * agent ever adds an accepted socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kspan.skel.h"
#include "kspan_abi.h"
#include "lib/log.h"
#include "loader/insertion_checks.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* A blocked read or write of a check gives up after this long: the check
 * then could not run, which never hangs the agent's start. */
#define CHECK_IO_TIMEOUT_S 5

struct socket_pair {
	int in_map; /* the accepted end: the one put in the sockhash */
	int peer;   /* the connecting end */
};

static void pair_close(struct socket_pair *p)
{
	if (p->in_map >= 0)
		close(p->in_map);
	if (p->peer >= 0)
		close(p->peer);
	p->in_map = p->peer = -1;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = CHECK_IO_TIMEOUT_S};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A connected TCP pair on 127.0.0.1. */
static int pair_open(struct socket_pair *p)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int lfd, err = 0, buf = 1 << 20;

	p->in_map = p->peer = -1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	/* Room for every byte a check writes before it reads any. */
	setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen)) {
		err = -errno;
		goto out;
	}
	p->peer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->peer < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(p->peer, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (connect(p->peer, (struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		goto out;
	}
	p->in_map = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (p->in_map < 0)
		err = -errno;
out:
	close(lfd);
	if (err)
		pair_close(p);
	else {
		set_timeouts(p->in_map);
		set_timeouts(p->peer);
	}
	return err;
}

static int socket_cookie(int fd, __u64 *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) ? -errno : 0;
}

static int map_add_socket(int map_fd, int fd, __u64 *cookie)
{
	__u64 value = (__u64)fd;
	int err = socket_cookie(fd, cookie);

	if (err)
		return err;
	return bpf_map_update_elem(map_fd, cookie, &value, BPF_NOEXIST) ? -errno : 0;
}

/* Reads exactly len bytes (or fails). */
static int read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

static int write_all_iov(int fd, struct iovec *iov, int n, size_t total)
{
	ssize_t w = writev(fd, iov, n);

	if (w < 0)
		return -errno;
	return (size_t)w == total ? 0 : -EIO;
}

int insertion_check_fionread(char *why, size_t len)
{
	static const char bytes[100] = "kspan FIONREAD check";
	struct socket_pair p;
	struct pollfd pfd;
	int map_fd, err, pending = -1;
	__u64 cookie = 0;
	char peek[sizeof(bytes)];
	ssize_t peeked;

	map_fd = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "kspan_fionread", sizeof(__u64),
				sizeof(__u64), 1, NULL);
	if (map_fd < 0) {
		err = -errno;
		snprintf(why, len, "creating a sockhash failed: %s", strerror(-err));
		return err;
	}
	err = pair_open(&p);
	if (err) {
		snprintf(why, len, "a loopback socket pair failed: %s", strerror(-err));
		goto out_map;
	}
	err = map_add_socket(map_fd, p.in_map, &cookie);
	if (err) {
		snprintf(why, len, "adding a socket to the sockhash failed: %s", strerror(-err));
		goto out;
	}
	if (write(p.peer, bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes)) {
		err = -EIO;
		snprintf(why, len, "writing to the socket pair failed");
		goto out;
	}
	pfd = (struct pollfd){.fd = p.in_map, .events = POLLIN};
	if (poll(&pfd, 1, CHECK_IO_TIMEOUT_S * 1000) != 1) {
		err = -ETIMEDOUT;
		snprintf(why, len, "the socket pair's bytes did not arrive");
		goto out;
	}
	/* What is really pending (MSG_PEEK reads the queue), against what
	 * FIONREAD says. */
	peeked = recv(p.in_map, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
	if (peeked <= 0 || ioctl(p.in_map, FIONREAD, &pending)) {
		err = peeked <= 0 ? -EIO : -errno;
		snprintf(why, len, "FIONREAD or MSG_PEEK failed: %s", strerror(-err));
		goto out;
	}
	log_debug("FIONREAD check: %d bytes pending on a socket in a sockhash, FIONREAD says %d",
		  (int)peeked, pending);
	err = pending == (int)peeked;
out:
	if (cookie)
		bpf_map_delete_elem(map_fd, &cookie);
	pair_close(&p);
out_map:
	close(map_fd);
	return err;
}

/* One write of the self-check and what must arrive. */
struct push_case {
	const char *name;
	const char *head_a; /* the request's bytes, in up to three pieces (writev) */
	const char *head_b;
	size_t body_len; /* then this many body bytes */
	__u8 flags;	 /* KSPAN_SELFCHECK_F_* */
};

static const struct push_case push_cases[] = {
    {"one write", "GET /kspan-self-check/1 HTTP/1.1\r\nHost: kspan\r\n\r\n", "", 0, 0},
    /* The request line cut across iovecs, and a body of many pages: the
     * message the sk_msg program edits has several scatterlist elements. */
    {"writev with a 48 KiB body", "POST /kspan-self-check/2 HT",
     "TP/1.1\r\nHost: kspan\r\nContent-Length: 49152\r\n\r\n", 49152, 0},
    /* Pushed, written, and taken out again: the bytes are the request's. */
    {"push then pop", "GET /kspan-self-check/3 HTTP/1.1\r\nHost: kspan\r\n\r\n", "", 0,
     KSPAN_SELFCHECK_F_POP},
};

/* "traceparent: 00-<trace id>-<span id>-01\r\n" for ctx. */
static void traceparent_line(char *out, const struct kspan_trace_ctx *ctx)
{
	int n = sprintf(out, "traceparent: 00-");

	for (int i = 0; i < 16; i++)
		n += sprintf(out + n, "%02x", ctx->trace_id[i]);
	n += sprintf(out + n, "-");
	for (int i = 0; i < 8; i++)
		n += sprintf(out + n, "%02x", ctx->span_id[i]);
	sprintf(out + n, "-%02x\r\n", ctx->trace_flags & 1);
}

static int push_case_run(struct kspan_bpf *skel, const struct socket_pair *p, __u64 cookie,
			 __u16 port, const struct push_case *c, bool spoil, char *why, size_t len)
{
	/* Named by the socket, not the thread: the sk_msg program sees kernel
	 * pids, which differ from getpid()/gettid() in a pid namespace. */
	struct kspan_inject_selfcheck plan = {
	    .cookie = cookie,
	    .ctx = {.trace_id = "kspan-self-test", .span_id = "pushchk", .trace_flags = 1},
	    .local_port = port,
	    .flags = c->flags,
	};
	size_t a = strlen(c->head_a), b = strlen(c->head_b), total = a + b + c->body_len;
	size_t line_end;
	char tp[80], *sent = NULL, *want = NULL, *got = NULL;
	struct iovec iov[3];
	size_t want_len, tp_len;
	__u32 zero = 0;
	int err = -ENOMEM;

	traceparent_line(tp, &plan.ctx);
	tp_len = strlen(tp);
	sent = malloc(total);
	want = malloc(total + tp_len);
	got = malloc(total + tp_len);
	if (!sent || !want || !got)
		goto out;
	memcpy(sent, c->head_a, a);
	memcpy(sent + a, c->head_b, b);
	for (size_t i = 0; i < c->body_len; i++)
		sent[a + b + i] = (char)('a' + i % 26);
	for (line_end = 1; line_end < total && sent[line_end - 1] != '\n'; line_end++)
		;
	plan.inject_off = (__u16)line_end;
	want_len = total;
	if (c->flags & KSPAN_SELFCHECK_F_POP) {
		memcpy(want, sent, total);
	} else {
		memcpy(want, sent, line_end);
		memcpy(want + line_end, tp, tp_len);
		memcpy(want + line_end + tp_len, sent + line_end, total - line_end);
		want_len += tp_len;
	}
	if (spoil)
		want[want_len / 2] ^= 1;
	err = bpf_map__update_elem(skel->maps.inject_selfcheck, &zero, sizeof(zero), &plan,
				   sizeof(plan), BPF_ANY)
		  ? -errno
		  : 0;
	if (err) {
		snprintf(why, len, "writing the self-check plan failed: %s", strerror(-err));
		goto out;
	}
	iov[0] = (struct iovec){sent, a};
	iov[1] = (struct iovec){sent + a, b};
	iov[2] = (struct iovec){sent + a + b, c->body_len};
	err = write_all_iov(p->in_map, iov, 3, total);
	memset(&plan, 0, sizeof(plan));
	bpf_map__update_elem(skel->maps.inject_selfcheck, &zero, sizeof(zero), &plan, sizeof(plan),
			     BPF_ANY);
	if (!err)
		err = read_exact(p->peer, got, want_len);
	if (err) {
		snprintf(why, len, "%s: the socket pair failed: %s", c->name, strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < want_len; i++) {
		if (got[i] != want[i]) {
			snprintf(why, len,
				 "%s: byte %zu of %zu differs (0x%02x arrived, 0x%02x expected)",
				 c->name, i, want_len, (unsigned char)got[i],
				 (unsigned char)want[i]);
			err = -EIO;
			goto out;
		}
	}
	err = 0;
out:
	free(sent);
	free(want);
	free(got);
	return err;
}

int insertion_check_push(struct kspan_bpf *skel, char *why, size_t len)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	const char *fail = getenv(INSERTION_CHECK_FAIL_ENV);
	bool spoil = fail && strcmp(fail, "1") == 0;
	int map_fd = bpf_map__fd(skel->maps.inject_sockets), err;
	struct socket_pair p;
	__u64 cookie = 0;
	char extra;

	err = pair_open(&p);
	if (err) {
		snprintf(why, len, "a loopback socket pair failed: %s", strerror(-err));
		return err;
	}
	if (getsockname(p.in_map, (struct sockaddr *)&a, &alen)) {
		err = -errno;
		snprintf(why, len, "getsockname failed: %s", strerror(-err));
		goto out;
	}
	err = map_add_socket(map_fd, p.in_map, &cookie);
	if (err) {
		snprintf(why, len, "adding a socket to the sockhash failed: %s", strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < sizeof(push_cases) / sizeof(push_cases[0]); i++) {
		/* The test-only failure spoils the last case. */
		bool last = i + 1 == sizeof(push_cases) / sizeof(push_cases[0]);
		err = push_case_run(skel, &p, cookie, ntohs(a.sin_port), &push_cases[i],
				    spoil && last, why, len);
		if (err)
			goto out;
	}
	/* Nothing more may arrive than what was compared. */
	shutdown(p.in_map, SHUT_WR);
	if (read(p.peer, &extra, 1) != 0) {
		snprintf(why, len, "bytes arrived beyond the last request");
		err = -EIO;
	}
out:
	if (cookie)
		bpf_map_delete_elem(map_fd, &cookie);
	pair_close(&p);
	return err;
}
