// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vm_client.c - HTTP/1.1 requests over each pair of socket system calls kspan
 * must see: write/read, writev/readv, sendto/recvfrom, sendmsg/recvmsg. One
 * connection per pair; the request path names the pair (/io-writev.html) so
 * the VM test can find each span. The sendmsg request carries a traceparent,
 * whose trace the SERVER and CLIENT spans must join. Vectored calls split the
 * message across iovecs. Linked statically: it runs in the VM test's guest.
 *
 *   vm_client HOST PORT     prints "vm_client: <pair> <status>" per request
 *
 * Against vm_echo (which answers with the request's header block):
 *
 *   vm_client --single HOST PORT
 *       a writev and a sendmsg whose request is ONE iovec (/echo-writev1,
 *       /echo-sendmsg1), without a traceparent: since 6.4 the kernel turns a
 *       one-segment iovec into an ITER_UBUF iterator, like write()'s. Prints
 *       "vm_client: <call> <status> <traceparent header lines the server got>".
 *   vm_client --fionread HOST PORT
 *       one request (/fionread) with write(); once the whole answer has
 *       arrived, ioctl(FIONREAD) on the client socket, then reads it. Prints
 *       "vm_client: fionread poll=ready|timeout pending=<FIONREAD> read=<bytes>":
 *       pending is 0 instead of the answer's size on kernels with the
 *       sockhash FIONREAD regression (commit 929e30f93125: 6.6.128+,
 *       6.12.75+, 6.18.14+) when kspan holds the socket in its sockhash.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

enum pair { PAIR_READ_WRITE, PAIR_VECTORED, PAIR_TO_FROM, PAIR_MSG, PAIR_COUNT };
static const char *const pair_names[PAIR_COUNT] = {"write", "writev", "sendto", "sendmsg"};

static int connect_to(const char *host, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("vm_client: connect");
		exit(1);
	}
	return fd;
}

static ssize_t send_request(int fd, enum pair p, const char *head, const char *tail)
{
	struct iovec iov[2] = {{(void *)head, strlen(head)}, {(void *)tail, strlen(tail)}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	char whole[512];

	snprintf(whole, sizeof(whole), "%s%s", head, tail);
	switch (p) {
	case PAIR_READ_WRITE:
		return write(fd, whole, strlen(whole));
	case PAIR_VECTORED:
		return writev(fd, iov, 2);
	case PAIR_TO_FROM:
		return sendto(fd, whole, strlen(whole), 0, NULL, 0);
	default:
		return sendmsg(fd, &msg, 0);
	}
}

/* One receive call of the pair's kind; the first iovec is short so that the
 * status line spans two of them. */
static ssize_t receive(int fd, enum pair p, char *buf, size_t len)
{
	struct iovec iov[2] = {{buf, 12}, {buf + 12, len - 12}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};

	switch (p) {
	case PAIR_READ_WRITE:
		return read(fd, buf, len);
	case PAIR_VECTORED:
		return readv(fd, iov, 2);
	case PAIR_TO_FROM:
		return recvfrom(fd, buf, len, 0, NULL, NULL);
	default:
		return recvmsg(fd, &msg, 0);
	}
}

/* Reads until EOF (at most len - 1 bytes), waiting at most ~3 s in all for
 * bytes that do not come; NUL-terminates. */
static size_t read_answer(int fd, char *buf, size_t len)
{
	size_t got = 0;

	for (int idle = 0; got < len - 1 && idle < 30;) {
		ssize_t n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT);
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		poll(&p, 1, 100);
		idle++;
	}
	buf[got] = 0;
	return got;
}

/* --single: one-iovec writev and sendmsg; shows the traceparent vm_echo got. */
static int single_iovec(const char *host, int port)
{
	static const char *const calls[] = {"writev1", "sendmsg1"};

	for (int i = 0; i < 2; i++) {
		char req[512], resp[4096];
		struct iovec iov;
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		int fd = connect_to(host, port);
		ssize_t n;

		snprintf(req, sizeof(req),
			 "GET /echo-%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", calls[i],
			 host);
		iov.iov_base = req;
		iov.iov_len = strlen(req);
		n = i == 0 ? writev(fd, &iov, 1) : sendmsg(fd, &msg, 0);
		if (n < 0) {
			perror("vm_client: send");
			return 1;
		}
		read_answer(fd, resp, sizeof(resp));
		close(fd);
		printf("vm_client: %s %.3s", calls[i], strlen(resp) > 12 ? resp + 9 : "---");
		for (char *line = strtok(resp, "\r\n"); line; line = strtok(NULL, "\r\n"))
			if (!strncasecmp(line, "traceparent:", 12))
				printf(" %s", line);
		printf("\n");
	}
	return 0;
}

/* --fionread: FIONREAD on a client socket with the whole answer pending. */
static int fionread(const char *host, int port)
{
	char req[512], resp[4096];
	int fd = connect_to(host, port), pending = -1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct timespec settle = {.tv_sec = 0, .tv_nsec = 300 * 1000 * 1000};
	int ready;
	size_t got;

	snprintf(req, sizeof(req),
		 "GET /fionread HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
	if (write(fd, req, strlen(req)) < 0) {
		perror("vm_client: write");
		return 1;
	}
	ready = poll(&p, 1, 3000);
	/* vm_echo writes its head and body, then closes: let all of it arrive */
	nanosleep(&settle, NULL);
	if (ioctl(fd, FIONREAD, &pending))
		perror("vm_client: ioctl(FIONREAD)");
	got = read_answer(fd, resp, sizeof(resp));
	close(fd);
	printf("vm_client: fionread poll=%s pending=%d read=%zu\n", ready > 0 ? "ready" : "timeout",
	       pending, got);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--single"))
		return single_iovec(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "--fionread"))
		return fionread(argv[2], atoi(argv[3]));
	if (argc != 3) {
		fprintf(stderr, "usage: vm_client [--single|--fionread] HOST PORT\n");
		return 2;
	}
	for (int p = 0; p < PAIR_COUNT; p++) {
		char head[256], tail[256], resp[4096];
		size_t got = 0;
		ssize_t n;
		int fd = connect_to(argv[1], atoi(argv[2]));

		snprintf(head, sizeof(head), "GET /io-%s.html HTTP/1.1\r\n", pair_names[p]);
		snprintf(tail, sizeof(tail), "Host: %s\r\n%sConnection: close\r\n\r\n", argv[1],
			 p == PAIR_MSG ? "traceparent: " TRACEPARENT "\r\n" : "");
		if (send_request(fd, p, head, tail) < 0) {
			perror("vm_client: send");
			return 1;
		}
		while (sizeof(resp) - 1 - got > 12 &&
		       (n = receive(fd, (enum pair)p, resp + got, sizeof(resp) - 1 - got)) > 0)
			got += (size_t)n;
		resp[got] = 0;
		close(fd);
		printf("vm_client: %s %.3s\n", pair_names[p], got > 12 ? resp + 9 : "---");
	}
	return 0;
}
