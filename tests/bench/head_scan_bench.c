// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * head_scan_bench.c - nanoseconds per request head of the kernel's head
 * scan, measured by BPF_PROG_TEST_RUN (repeat N) on head_scan_bench.bpf.o:
 *
 *   head_scan_bench OBJECT [REPEAT]
 *
 * prints one line per head (about 40, 110 and 400 bytes; all but the first
 * carry a traceparent on line 2, where kspan inserts it; the last 400 B one
 * a tracestate too, whose list is then parsed byte by byte). tests/bench/bench_head_scan.sh runs it
 * on the old and the new scan side by side.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define PAYLOAD_SIZE 8192 /* KSPAN_SCRATCH_SIZE */

struct bench_head {
	unsigned char payload[PAYLOAD_SIZE];
	unsigned int len;
	unsigned int result;
};

#define TP "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"

static const char *const heads[] = {
    "GET /ping HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n",
    "GET /api/v1/items HTTP/1.1\r\n" TP "Host: svc\r\n\r\n",
    "GET /api/v1/items?page=2&sort=name HTTP/1.1\r\n" TP "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=0123456789abcdef0123456789abcdef\r\n\r\n",
    "GET /api/v1/items?page=2&sort=name HTTP/1.1\r\n" TP "tracestate: vendor=abc123,other=xyz\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=0123456789abcdef0123456789\r\n\r\n",
};

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	unsigned int repeat = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 10) : 1000000;
	unsigned char packet[64] = {0};
	static struct bench_head head;
	int key = 0, err;

	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJECT [REPEAT]\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "head_scan_bench: cannot load %s (as root, with BTF)\n", argv[1]);
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "head_scan_bench");
	map = bpf_object__find_map_by_name(obj, "heads");
	if (!prog || !map) {
		fprintf(stderr, "head_scan_bench: %s lacks head_scan_bench or heads\n", argv[1]);
		return 1;
	}
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet,
			    .data_size_in = sizeof(packet), .repeat = repeat);

		memset(&head, 0, sizeof(head));
		head.len = (unsigned int)strlen(heads[i]);
		memcpy(head.payload, heads[i], head.len);
		if (bpf_map_update_elem(bpf_map__fd(map), &key, &head, BPF_ANY)) {
			fprintf(stderr, "head_scan_bench: map update: %s\n", strerror(errno));
			return 1;
		}
		err = bpf_prog_test_run_opts(bpf_program__fd(prog), &run);
		if (err) {
			fprintf(stderr, "head_scan_bench: test run: %s\n", strerror(-err));
			return 1;
		}
		bpf_map_lookup_elem(bpf_map__fd(map), &key, &head);
		printf("%4u B head: %6u ns per head (%u runs, result %u)\n",
		       (unsigned int)strlen(heads[i]), run.duration, repeat, head.result);
	}
	bpf_object__close(obj);
	return 0;
}
