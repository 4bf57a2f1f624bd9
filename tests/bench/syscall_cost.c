// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syscall_cost.c - what kspan adds to one HTTP exchange, to one file read and
 * to one file open+close, measured by the application. A benchmark, not a
 * test: it prints numbers.
 *
 *   syscall_cost http N   N request/response exchanges over one loopback TCP
 *                         connection (4 traced syscalls and 2 spans, a SERVER
 *                         and a CLIENT, per exchange); prints ns per exchange
 *   syscall_cost file N   N 1-byte reads of /dev/zero (syscalls kspan must
 *                         look at and skip); prints ns per read
 *   syscall_cost open N   N open()+close() of /dev/null (every close() of a
 *                         traced process is looked at); prints ns per pair
 *   syscall_cost http-pair N
 *                         N exchanges over one loopback keep-alive connection
 *                         between two processes: the server (a child) reads
 *                         with recv() and answers with writev(), as nginx
 *                         does; the client writes with write() and reads with
 *                         read(), as wrk does. Prints "pids SERVER CLIENT"
 *                         first, then waits for a line on stdin before it
 *                         connects (so that kspan, started meanwhile with
 *                         --pid, sees the connection open); prints ns per
 *                         exchange at the end (bench_bpf_time.sh)
 *
 * bench_syscalls.sh runs it without and with kspan and prints the difference.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char request[] = "GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static long rounds;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void read_exactly(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0) {
			perror("read");
			exit(1);
		}
		got += (size_t)r;
	}
}

/* Both ends in one thread: on loopback a write is in the peer's receive
 * queue when it returns, so no read blocks and no thread switch (whose cost
 * varies far more than kspan's) enters the measurement. */
static double http_exchanges(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	char buf[256];
	int lfd, client, server, one = 1;
	double t0;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	client = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || client < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&addr, &len) ||
	    connect(client, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("loopback connection");
		exit(1);
	}
	server = accept(lfd, NULL, NULL);
	if (server < 0) {
		perror("accept");
		exit(1);
	}
	setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now_ns();
	for (long i = 0; i < rounds; i++) {
		if (write(client, request, sizeof(request) - 1) < 0)
			exit(1);
		read_exactly(server, buf, sizeof(request) - 1);
		if (write(server, response, sizeof(response) - 1) < 0)
			exit(1);
		read_exactly(client, buf, sizeof(response) - 1);
	}
	t0 = (now_ns() - t0) / rounds;
	close(client);
	close(server);
	close(lfd);
	return t0;
}

/* The server side of http-pair: one connection, answered until EOF. */
static void pair_server(int lfd)
{
	struct iovec iov[2] = {
	    {.iov_base = (void *)response, .iov_len = 38},
	    {.iov_base = (void *)(response + 38), .iov_len = sizeof(response) - 1 - 38},
	};
	/* nginx reads into its 1 KiB client_header_buffer_size buffer; the
	 * client sends its next request only after the answer, so one recv()
	 * holds one whole request or a part of one. */
	char buf[1024];
	size_t got = 0;
	int fd = accept(lfd, NULL, NULL), one = 1;

	if (fd < 0)
		exit(1);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			exit(r == 0 ? 0 : 1);
		got += (size_t)r;
		if (got < sizeof(request) - 1)
			continue;
		got = 0;
		if (writev(fd, iov, 2) < 0)
			exit(1);
	}
}

static double http_pair(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	char buf[256], big[8192];
	int lfd = socket(AF_INET, SOCK_STREAM, 0), client, one = 1, status;
	pid_t server;
	double t0;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len)) {
		perror("listen");
		exit(1);
	}
	fflush(stdout);
	server = fork();
	if (server < 0) {
		perror("fork");
		exit(1);
	}
	if (server == 0)
		pair_server(lfd);
	printf("pids %d %d\n", (int)server, (int)getpid());
	fflush(stdout);
	if (!fgets(buf, sizeof(buf), stdin))
		exit(1);
	client = socket(AF_INET, SOCK_STREAM, 0);
	if (client < 0 || connect(client, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("connect");
		exit(1);
	}
	setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now_ns();
	for (long i = 0; i < rounds; i++) {
		size_t got = 0;

		if (write(client, request, sizeof(request) - 1) < 0)
			exit(1);
		/* wrk reads into an 8 KiB buffer until the answer is whole. */
		while (got < sizeof(response) - 1) {
			ssize_t r = read(client, big, sizeof(big));
			if (r <= 0)
				exit(1);
			got += (size_t)r;
		}
	}
	t0 = (now_ns() - t0) / rounds;
	close(client);
	if (waitpid(server, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		exit(1);
	return t0;
}

static double file_reads(void)
{
	int fd = open("/dev/zero", O_RDONLY);
	char c;
	double t0 = now_ns();

	for (long i = 0; i < rounds; i++)
		if (read(fd, &c, 1) != 1)
			exit(1);
	t0 = (now_ns() - t0) / rounds;
	close(fd);
	return t0;
}

static double file_opens(void)
{
	double t0 = now_ns();

	for (long i = 0; i < rounds; i++) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd < 0 || close(fd))
			exit(1);
	}
	return (now_ns() - t0) / rounds;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (rounds = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: syscall_cost http|http-pair|file|open ROUNDS\n");
		return 2;
	}
	if (strcmp(argv[1], "http") == 0)
		printf("%.0f\n", http_exchanges());
	else if (strcmp(argv[1], "http-pair") == 0)
		printf("%.0f\n", http_pair());
	else if (strcmp(argv[1], "open") == 0)
		printf("%.0f\n", file_opens());
	else
		printf("%.0f\n", file_reads());
	return 0;
}
