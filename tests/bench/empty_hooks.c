// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * empty_hooks.c - loads empty_hooks.bpf.o (the syscall-tracepoint floor)
 * and keeps it attached until SIGINT or SIGTERM:
 *
 *   empty_hooks OBJECT PID [syscall|socket]
 *
 * syscall (the default): the raw sys_enter and sys_exit tracepoints; socket:
 * the sock_send_length and sock_recv_length tracepoints (kernel 6.5+).
 * prints "kspan: ready" once attached (bench_lib.sh's start_kspan waits for
 * that line) and, at exit, how many syscall entries and exits of PID the
 * programs saw, as a "kspan: counters" line.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int set_traced_tgid(struct bpf_object *obj, unsigned int tgid)
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");

	if (!rodata)
		return -ENOENT;
	return bpf_map__set_initial_value(rodata, &tgid, sizeof(tgid));
}

static unsigned long long traced_hits(struct bpf_object *obj)
{
	struct bpf_map *bss = bpf_object__find_map_by_name(obj, ".bss");
	unsigned long long hits = 0;
	int key = 0;

	if (bss)
		bpf_map_lookup_elem(bpf_map__fd(bss), &key, &hits);
	return hits;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	const char *mode = argc > 3 ? argv[3] : "syscall";
	const char *prefix;
	int err;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s OBJECT PID [syscall|socket]\n", argv[0]);
		return 2;
	}
	if (strcmp(mode, "syscall") == 0)
		prefix = "floor_sys_";
	else if (strcmp(mode, "socket") == 0)
		prefix = "floor_sock_";
	else {
		fprintf(stderr, "empty_hooks: unknown mode %s\n", mode);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "empty_hooks: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program (prog, obj) {
		bool wanted = strncmp(bpf_program__name(prog), prefix, strlen(prefix)) == 0;

		bpf_program__set_autoload(prog, wanted);
	}
	err = set_traced_tgid(obj, (unsigned int)strtoul(argv[2], NULL, 10));
	if (!err)
		err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "empty_hooks: load: %s\n", strerror(-err));
		return 1;
	}
	bpf_object__for_each_program (prog, obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "empty_hooks: attach %s: %s\n", bpf_program__name(prog),
				strerror(errno));
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "kspan: ready (empty %s hooks)\n", mode);
	while (!stopping)
		pause();
	fprintf(stderr, "kspan: counters traced_syscall_hooks=%llu\n", traced_hits(obj));
	bpf_object__close(obj);
	return 0;
}
