// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vm_echo.c - an HTTP/1.x server for the VM test that answers every
 * request with its own header block as the body, so the client can show
 * which headers reached the server: the `traceparent` kspan inserted, or
 * none. One connection at a time, one request per connection, read and
 * write on the accepted descriptor itself (no dup()), so every backend pairs
 * the SERVER span. Linked statically: it runs in the VM test's guest.
 *
 *   vm_echo PORT     listens on 127.0.0.1:PORT until killed
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUEST_MAX 4096

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16)) {
		perror("vm_echo: listen");
		exit(1);
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the end of the header block; answers 200 with it as the body,
 * or 400 when it does not fit. */
static void serve(int fd)
{
	char req[REQUEST_MAX + 1], head[128];
	size_t got = 0;
	char *end = NULL;
	ssize_t n;

	while (!end && got < REQUEST_MAX && (n = read(fd, req + got, REQUEST_MAX - got)) > 0) {
		got += (size_t)n;
		req[got] = 0;
		end = strstr(req, "\r\n\r\n");
	}
	if (!end) {
		static const char bad[] =
		    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		write_all(fd, bad, sizeof(bad) - 1);
		return;
	}
	got = (size_t)(end - req) + 4;
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 got);
	if (write_all(fd, head, strlen(head)) == 0)
		write_all(fd, req, got);
}

int main(int argc, char **argv)
{
	int lfd;

	if (argc != 2) {
		fprintf(stderr, "usage: vm_echo PORT\n");
		return 2;
	}
	lfd = listen_on(atoi(argv[1]));
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		serve(fd);
		close(fd);
	}
}
