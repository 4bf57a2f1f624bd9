// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vm_tls.c - an HTTPS server and client for the VM test, linked statically
 * against libssl.a and libcrypto.a: the guest has no libssl, and kspan must
 * find OpenSSL in the executable's own symbol table (user/loader/
 * tls_libraries.c). One binary for both ends: the uprobes kspan attaches to
 * it while the server runs (pid -1: every process that maps the file) are
 * already in place when the client starts, so neither end races kspan's
 * exec watch.
 *
 *   vm_tls server PORT CERT KEY   serves 127.0.0.1:PORT until killed
 *   vm_tls client PORT CA PATH... sends one GET per PATH on one keep-alive
 *                                 connection; prints "vm_tls: PATH STATUS"
 *
 * The server reads with SSL_read and writes with SSL_write, the client uses
 * SSL_write_ex and SSL_read_ex: the four plaintext calls kspan probes. The
 * client checks the server's certificate (CA: the self-signed certificate
 * itself, host name localhost). Answers: 200 with the path as the body, in
 * one SSL_write.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define HEAD_MAX 4096

static void fail(const char *what)
{
	fprintf(stderr, "vm_tls: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* Reads with `rd` (SSL_read, or SSL_read_ex with use_ex) in large pieces
 * until buf holds a whole head (up to the blank line) and `body` more bytes
 * after it, body being the Content-Length of a response head (0 for a
 * request); returns the bytes read, 0 at end of stream or on error. Each
 * peer sends one message per TLS record, so one read usually does. */
static size_t read_message(SSL *ssl, char *buf, size_t size, int use_ex)
{
	size_t got = 0;

	while (got + 1 < size) {
		const char *end, *cl;
		size_t n = 0;
		int r;

		if (use_ex) {
			r = SSL_read_ex(ssl, buf + got, size - 1 - got, &n);
		} else {
			r = SSL_read(ssl, buf + got, (int)(size - 1 - got));
			n = r > 0 ? (size_t)r : 0;
		}
		if (r <= 0 || n == 0)
			return 0;
		got += n;
		buf[got] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strstr(buf, "Content-Length: ");
		if (!cl || cl > end || (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10) <= got)
			return got;
	}
	return 0;
}

static void serve(SSL_CTX *ctx, int fd)
{
	char head[HEAD_MAX], path[256], answer[512];
	SSL *ssl = SSL_new(ctx);

	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		SSL_free(ssl);
		return;
	}
	while (read_message(ssl, head, sizeof(head), 0)) {
		int len;

		if (sscanf(head, "GET %255s ", path) != 1)
			break;
		len = snprintf(answer, sizeof(answer),
			       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			       "Content-Length: %zu\r\n\r\n%s",
			       strlen(path), path);
		if (SSL_write(ssl, answer, len) != len)
			break;
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
}

static _Noreturn void server(int port, const char *cert, const char *key)
{
	struct sockaddr_in a = loopback(port);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);

	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		fail("server: certificate or key");
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16))
		fail("server: listen");
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		serve(ctx, fd);
		close(fd);
	}
}

static int client(int port, const char *ca, char **paths, int count)
{
	struct sockaddr_in a = loopback(port);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = socket(AF_INET, SOCK_STREAM, 0), failed = 0;
	SSL *ssl;

	if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		fail("client: CA file");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		fail("client: connect");
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, "localhost") ||
	    !SSL_set1_host(ssl, "localhost") || SSL_connect(ssl) != 1)
		fail("client: handshake");
	for (int i = 0; i < count; i++) {
		char req[512], answer[HEAD_MAX];
		size_t sent = 0;
		int status = 0, len;

		len =
		    snprintf(req, sizeof(req),
			     "GET %s HTTP/1.1\r\nHost: localhost:%d\r\nUser-Agent: vm_tls\r\n\r\n",
			     paths[i], port);
		if (SSL_write_ex(ssl, req, (size_t)len, &sent) != 1 || sent != (size_t)len)
			fail("client: SSL_write_ex");
		if (!read_message(ssl, answer, sizeof(answer), 1) ||
		    sscanf(answer, "HTTP/1.1 %d ", &status) != 1)
			fail("client: no response");
		printf("vm_tls: %s %d\n", paths[i], status);
		failed |= status != 200;
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	return failed;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "server") == 0)
		server(atoi(argv[2]), argv[3], argv[4]);
	if (argc >= 5 && strcmp(argv[1], "client") == 0)
		return client(atoi(argv[2]), argv[3], argv + 4, argc - 4);
	fprintf(stderr, "usage: vm_tls server PORT CERT KEY | vm_tls client PORT CA PATH...\n");
	return 2;
}
