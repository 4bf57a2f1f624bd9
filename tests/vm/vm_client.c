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
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: vm_client HOST PORT\n");
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
