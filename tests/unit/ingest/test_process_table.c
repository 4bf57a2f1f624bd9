// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_process_table.c - the resource of a process as the process table
 * builds it (process_table.h) from a fake /proc and the kernel's PROC_INFO:
 * command line rules, pid reuse, the table's bound, and the paths the kernel
 * reads for processes gone before /proc could be (the parsers themselves:
 * test_process_identity.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest/process_table.h"

#define ID_A "4f1c6b0e2a9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa00"
#define ID_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* --- resources from a fake /proc ----------------------------------------------- */

struct fake_proc {
	char root[64];
};

static void write_file(const char *root, unsigned pid, const char *name, const void *data,
		       size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u/%s", root, pid, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void make_pid_dir(const char *root, unsigned pid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%u", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void remove_pid_dir(const char *root, unsigned pid)
{
	static const char *const names[] = {"comm", "cmdline", "environ", "cgroup", "exe", "stat"};
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%u/%s", root, pid, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%u", root, pid);
	rmdir(path);
}

static int setup_fake_proc(void **state)
{
	struct fake_proc *fp = calloc(1, sizeof(*fp));

	if (!fp)
		return -1;
	snprintf(fp->root, sizeof(fp->root), "/tmp/kspan-proc-XXXXXX");
	if (!mkdtemp(fp->root)) {
		free(fp);
		return -1;
	}
	*state = fp;
	return 0;
}

static int teardown_fake_proc(void **state)
{
	struct fake_proc *fp = *state;

	remove_pid_dir(fp->root, 4242);
	remove_pid_dir(fp->root, 4343);
	rmdir(fp->root);
	free(fp);
	return 0;
}

static const struct attribute *find_attr(const struct resource *r, const char *key,
					 enum attr_type type)
{
	const struct attribute *a = attribute_list_find(&r->attrs, key);

	if (!a)
		fail_msg("resource has no %s", key);
	assert_int_equal(a->type, type);
	return a;
}

/* The ATTR_STRING_ARRAY `key` holds exactly `n` strings `want`. */
static void assert_args(const struct resource *r, const char *const *want, size_t n)
{
	const struct attribute *a = find_attr(r, "process.command_args", ATTR_STRING_ARRAY);
	size_t off = 0, i = 0;

	while (off < a->str_len) {
		const char *arg = a->str + off;
		if (i >= n)
			fail_msg("extra argument %zu: \"%s\"", i, arg);
		assert_string_equal(arg, want[i]);
		off += strlen(arg) + 1;
		i++;
	}
	assert_int_equal(off, a->str_len);
	assert_int_equal(i, n);
}

static void test_resource_from_proc(void **state)
{
	static const char cmdline[] = "/usr/bin/checkout\0--port\0"
				      "8080\0--db-url\0postgres://app:hunter2-pw@db/shop";
	static const char environ[] = "PATH=/usr/bin\0OTEL_SERVICE_NAME=checkout\0"
				      "DB_PASSWORD=hunter2-do-not-export";
	static const char cgroup[] =
	    "0::/kubepods.slice/kubepods-besteffort.slice/"
	    "kubepods-besteffort-pod5d7c5c52_0d8e_4b1f_9bd1_0a6f2c1e7f1d.slice/"
	    "cri-containerd-" ID_A ".scope\n";
	static const char *const args[] = {"/usr/bin/checkout", "--port", "8080", "--db-url",
					   "postgres://REDACTED:REDACTED@db/shop"};
	struct fake_proc *fp = *state;
	struct process_table t;
	struct resource *r;

	make_pid_dir(fp->root, 4242);
	write_file(fp->root, 4242, "comm", "checkout\n", 9);
	/* sizeof: /proc/PID/cmdline ends with the NUL of the last argument. */
	write_file(fp->root, 4242, "cmdline", cmdline, sizeof(cmdline));
	write_file(fp->root, 4242, "environ", environ, sizeof(environ));
	write_file(fp->root, 4242, "cgroup", cgroup, sizeof(cgroup) - 1);
	assert_int_equal(process_table_init(&t, fp->root), 0);
	t.capture_command_args = true;

	r = process_table_resource(&t, 4242);
	assert_non_null(r);
	assert_ptr_equal(process_table_resource(&t, 4242), r);
	assert_int_equal(r->pid, 4242);
	assert_string_equal(r->service_name, "checkout");
	assert_string_equal(find_attr(r, "service.name", ATTR_STRING)->str, "checkout");
	assert_int_equal(find_attr(r, "process.pid", ATTR_INT)->i, 4242);
	/* No exe link: the name comes from comm. */
	assert_string_equal(find_attr(r, "process.executable.name", ATTR_STRING)->str, "checkout");
	assert_null(attribute_list_find(&r->attrs, "process.executable.path"));
	assert_args(r, args, 5);
	assert_string_equal(find_attr(r, "process.command", ATTR_STRING)->str, "/usr/bin/checkout");
	assert_string_equal(find_attr(r, "container.id", ATTR_STRING)->str, ID_A);
	assert_string_equal(find_attr(r, "k8s.pod.uid", ATTR_STRING)->str,
			    "5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d");
	assert_string_equal(find_attr(r, "telemetry.sdk.name", ATTR_STRING)->str, "kspan");
	for (size_t i = 0; i < r->attrs.count; i++) {
		const struct attribute *a = &r->attrs.items[i];
		if (a->type != ATTR_STRING && a->type != ATTR_STRING_ARRAY)
			continue;
		if (memmem(a->str, a->str_len, "hunter2", 7))
			fail_msg("the environment or a password leaked into %s", a->key);
	}
	process_table_free(&t);
}

/* A process that rewrote its argument vector ("nginx: master process")
 * leaves /proc/PID/cmdline without a final NUL; the whole text is one
 * argument. */
static void test_resource_rewritten_cmdline(void **state)
{
	static const char *const args[] = {"nginx: master process /usr/sbin/nginx"};
	struct fake_proc *fp = *state;
	struct process_table t;
	struct resource *r;
	char path[256];

	make_pid_dir(fp->root, 4343);
	write_file(fp->root, 4343, "cmdline", args[0], strlen(args[0]));
	snprintf(path, sizeof(path), "%s/4343/exe", fp->root);
	assert_int_equal(symlink("/usr/sbin/nginx", path), 0);
	assert_int_equal(process_table_init(&t, fp->root), 0);
	t.capture_command_args = true;
	r = process_table_resource(&t, 4343);
	assert_non_null(r);
	assert_args(r, args, 1);
	assert_null(attribute_list_find(&r->attrs, "k8s.pod.uid")); /* no cgroup file */
	assert_string_equal(find_attr(r, "process.executable.name", ATTR_STRING)->str, "nginx");
	assert_string_equal(find_attr(r, "process.executable.path", ATTR_STRING)->str,
			    "/usr/sbin/nginx");
	/* No environment readable: the executable names the service. */
	assert_string_equal(r->service_name, "nginx");
	assert_null(attribute_list_find(&r->attrs, "container.id"));
	process_table_free(&t);
}

/* By default the arguments stay on the node: only the command (argv[0]) is
 * exported, so "curl http://svc/x?token=..." does not export the token that
 * url.query redaction hides. */
static void test_command_args_off_by_default(void **state)
{
	static const char cmdline[] = "curl\0-s\0http://svc/x?token=s3cr3t\0";
	struct fake_proc *fp = *state;
	struct process_table t;
	struct resource *r;

	make_pid_dir(fp->root, 4242);
	write_file(fp->root, 4242, "cmdline", cmdline, sizeof(cmdline) - 1);
	assert_int_equal(process_table_init(&t, fp->root), 0);
	r = process_table_resource(&t, 4242);
	assert_non_null(r);
	assert_null(attribute_list_find(&r->attrs, "process.command_args"));
	assert_string_equal(find_attr(r, "process.command", ATTR_STRING)->str, "curl");
	for (size_t i = 0; i < r->attrs.count; i++) {
		const struct attribute *a = &r->attrs.items[i];
		if ((a->type == ATTR_STRING || a->type == ATTR_STRING_ARRAY) &&
		    memmem(a->str, a->str_len, "s3cr3t", 6))
			fail_msg("the token leaked into %s", a->key);
	}
	process_table_free(&t);
}

/* Asked for, the arguments come redacted; the kernel event's prefix too
 * (a process already gone from /proc). */
static void test_command_args_redacted_when_captured(void **state)
{
	static const char *const args[] = {"curl", "-u", "bob:REDACTED",
					   "http://svc/x?token=REDACTED"};
	struct kspan_proc_event ev;
	struct fake_proc *fp = *state;
	struct process_table t;
	struct resource *r;
	static const char cmdline[] = "curl\0-u\0bob:s3cr3t\0http://svc/x?token=s3cr3t\0";

	memset(&ev, 0, sizeof(ev));
	ev.hdr.type = KSPAN_EVENT_PROC_INFO;
	ev.hdr.tgid = 4343; /* no such directory in the fake /proc */
	memcpy(ev.comm, "curl", 4);
	memcpy(ev.cmdline, cmdline, sizeof(cmdline) - 1);
	ev.cmdline_len = sizeof(cmdline) - 1;
	assert_int_equal(process_table_init(&t, fp->root), 0);
	t.capture_command_args = true;
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4343);
	assert_non_null(r);
	assert_args(r, args, 4);
	assert_string_equal(find_attr(r, "process.command", ATTR_STRING)->str, "curl");
	process_table_free(&t);
}

/* --- pid reuse ------------------------------------------------------------------ */

/* /proc/PID/stat of a process that started `ticks` clock ticks after boot. */
static void write_stat(const char *root, unsigned pid, unsigned long long ticks)
{
	char text[256];
	int n = snprintf(text, sizeof(text),
			 "%u (a) b) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %llu 1000 100\n",
			 pid, ticks);
	write_file(root, pid, "stat", text, (size_t)n);
}

static void test_stat_start_time(void **state)
{
	uint64_t ticks = 0;

	(void)state;
	/* The comm "a) b" holds ") ": fields count from the last ')'. */
	assert_int_equal(proc_stat_start_ticks("7 (a) b) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 "
					       "1 0 123456 1000 100\n",
					       &ticks),
			 0);
	assert_int_equal(ticks, 123456);
	assert_int_equal(proc_stat_start_ticks("7 (x) S 1 2 3\n", &ticks), -1);
	assert_int_equal(proc_stat_start_ticks("no parenthesis", &ticks), -1);

	/* 10 ms ticks; the event says the process started at 5 s (monotonic). */
	const uint64_t tick = 10000000, s5 = 5000000000ull;
	assert_true(proc_start_matches(500, s5, tick, 0));
	assert_true(proc_start_matches(499, s5 + 5000000, tick, 0)); /* truncated tick */
	assert_false(proc_start_matches(600, s5, tick, 0));	     /* started 1 s later */
	assert_false(proc_start_matches(400, s5, tick, 0));	     /* started 1 s earlier */
	/* After 2 s of suspend, boottime runs 2 s ahead of monotonic. */
	assert_true(proc_start_matches(700, s5, tick, 2000000000ull));
	assert_false(proc_start_matches(800, s5, tick, 2000000000ull));
}

static void assert_no_string_attr_has(const struct resource *r, const char *needle)
{
	for (size_t i = 0; i < r->attrs.count; i++) {
		const struct attribute *a = &r->attrs.items[i];
		if ((a->type == ATTR_STRING || a->type == ATTR_STRING_ARRAY) &&
		    memmem(a->str, a->str_len, needle, strlen(needle)))
			fail_msg("%s holds \"%s\", another process's", a->key, needle);
	}
}

/* curl (pid 4242) exited and its pid went to a process in a container before
 * kspan read its PROC_INFO: the resource is the event's alone, without the
 * newcomer's container, command or service. */
static void test_reused_pid_proc_not_mixed_into_event(void **state)
{
	static const char cgroup[] = "0::/system.slice/docker-" ID_B ".scope\n";
	static const char other_cmd[] = "/usr/bin/other-daemon\0";
	static const char environ[] = "OTEL_SERVICE_NAME=other-svc";
	static const char curl_cmd[] = "curl\0http://svc/\0";
	struct kspan_proc_event ev;
	struct fake_proc *fp = *state;
	struct process_table t;
	struct resource *r;
	char path[256];

	make_pid_dir(fp->root, 4242);
	write_stat(fp->root, 4242, 100 * 100); /* started at 100 s */
	write_file(fp->root, 4242, "cgroup", cgroup, sizeof(cgroup) - 1);
	write_file(fp->root, 4242, "cmdline", other_cmd, sizeof(other_cmd) - 1);
	write_file(fp->root, 4242, "environ", environ, sizeof(environ));
	snprintf(path, sizeof(path), "%s/4242/exe", fp->root);
	assert_int_equal(symlink("/usr/bin/other-daemon", path), 0);

	memset(&ev, 0, sizeof(ev));
	ev.hdr.type = KSPAN_EVENT_PROC_INFO;
	ev.hdr.tgid = 4242;
	ev.start_time_ns = 50ull * 1000000000; /* curl started at 50 s */
	memcpy(ev.comm, "curl", 4);
	memcpy(ev.exe_name, "curl", 4);
	memcpy(ev.cmdline, curl_cmd, sizeof(curl_cmd) - 1);
	ev.cmdline_len = sizeof(curl_cmd) - 1;
	assert_int_equal(process_table_init(&t, fp->root), 0);
	t.tick_ns = 10000000;
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4242);
	assert_non_null(r);
	assert_string_equal(r->service_name, "curl");
	assert_string_equal(find_attr(r, "process.command", ATTR_STRING)->str, "curl");
	assert_null(attribute_list_find(&r->attrs, "container.id"));
	assert_null(attribute_list_find(&r->attrs, "process.executable.path"));
	assert_no_string_attr_has(r, "other");
	process_table_free(&t);

	/* The same event for the process /proc shows (started at 100 s): /proc
	 * completes it. */
	ev.start_time_ns = 100ull * 1000000000;
	assert_int_equal(process_table_init(&t, fp->root), 0);
	t.tick_ns = 10000000;
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4242);
	assert_string_equal(find_attr(r, "container.id", ATTR_STRING)->str, ID_B);
	assert_string_equal(r->service_name, "other-svc");
	process_table_free(&t);
}

/* A resource built from /proc (its PROC_INFO lost) is checked again: once
 * /proc shows a younger process under the pid, the resource is rebuilt. */
static void test_reused_pid_cached_resource_rebuilt(void **state)
{
	static const char cgroup_a[] = "0::/system.slice/docker-" ID_A ".scope\n";
	static const char cgroup_b[] = "0::/system.slice/docker-" ID_B ".scope\n";
	struct fake_proc *fp = *state;
	struct process_table t;
	struct resource *first, *again, *second;

	make_pid_dir(fp->root, 4242);
	write_stat(fp->root, 4242, 1000);
	write_file(fp->root, 4242, "cgroup", cgroup_a, sizeof(cgroup_a) - 1);
	write_file(fp->root, 4242, "comm", "first\n", 6);
	assert_int_equal(process_table_init(&t, fp->root), 0);
	first = resource_ref(process_table_resource(&t, 4242));
	assert_string_equal(find_attr(first, "container.id", ATTR_STRING)->str, ID_A);

	t.revalidate_ns = 0; /* check on every lookup */
	again = process_table_resource(&t, 4242);
	assert_ptr_equal(again, first); /* same start time: same process */

	write_stat(fp->root, 4242, 2000);
	write_file(fp->root, 4242, "cgroup", cgroup_b, sizeof(cgroup_b) - 1);
	write_file(fp->root, 4242, "comm", "second\n", 7);
	second = process_table_resource(&t, 4242);
	assert_ptr_not_equal(second, first);
	assert_string_equal(find_attr(second, "container.id", ATTR_STRING)->str, ID_B);
	assert_string_equal(second->service_name, "second");

	/* A process that is gone keeps its resource: its last spans need it. */
	remove_pid_dir(fp->root, 4242);
	assert_ptr_equal(process_table_resource(&t, 4242), second);
	resource_unref(first);
	process_table_free(&t);
}

/* A process whose exit was lost stays until the table is full; then the
 * least recently used entry goes (counted), and a span that holds its
 * resource keeps it. */
static void test_table_bounded_least_recently_used_first(void **state)
{
	struct fake_proc *fp = *state;
	struct agent_stats stats = {0};
	struct process_table t;
	struct resource *r2;

	assert_int_equal(process_table_init(&t, fp->root), 0);
	assert_int_equal(t.max_entries, PROCESS_TABLE_MAX_DEFAULT);
	t.max_entries = 3;
	t.stats = &stats;
	assert_non_null(process_table_resource(&t, 1001));
	r2 = resource_ref(process_table_resource(&t, 1002));
	assert_non_null(process_table_resource(&t, 1003));
	/* 1001 is used again: 1002 is now the least recently used. */
	assert_non_null(process_table_resource(&t, 1001));
	assert_non_null(process_table_resource(&t, 1004));
	assert_int_equal(t.by_pid.count, 3);
	assert_null(u64_map_get(&t.by_pid, 1002));
	assert_non_null(u64_map_get(&t.by_pid, 1001));
	assert_int_equal(STAT_GET(&stats, processes_evicted), 1);
	assert_int_equal(r2->pid, 1002); /* still the span's */
	resource_unref(r2);
	/* An exit frees its place without an eviction. */
	process_table_on_exit(&t, 1003);
	assert_non_null(process_table_resource(&t, 1005));
	assert_int_equal(STAT_GET(&stats, processes_evicted), 1);
	/* Many processes whose exit was never seen: the table stays bounded. */
	for (uint32_t pid = 2000; pid < 2500; pid++) {
		assert_non_null(process_table_resource(&t, pid));
		assert_true(t.by_pid.count <= 3);
	}
	assert_int_equal(STAT_GET(&stats, processes_evicted), 1 + 500);
	process_table_free(&t);
}

/* --- the kernel event's paths ---------------------------------------------------- */

#define POD_SLICE "kubepods-besteffort-pod5d7c5c52_0d8e_4b1f_9bd1_0a6f2c1e7f1d.slice"
#define POD_UID	  "5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d"

/* A PROC_INFO of a curl in a pod's container, as the kernel reads it. */
static void curl_event(struct kspan_proc_event *ev, uint32_t pid)
{
	static const char exe[] = "curl\0bin\0usr\0";
	static const char cgroup[] = "cri-containerd-" ID_A ".scope\0" POD_SLICE
				     "\0kubepods-besteffort.slice\0kubepods.slice\0";

	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = KSPAN_EVENT_PROC_INFO;
	ev->hdr.tgid = pid;
	memcpy(ev->comm, "curl", 4);
	memcpy(ev->exe_name, "curl", 4);
	memcpy(ev->exe_path, exe, sizeof(exe) - 1);
	ev->exe_path_len = sizeof(exe) - 1;
	memcpy(ev->cgroup_path, cgroup, sizeof(cgroup) - 1);
	ev->cgroup_path_len = sizeof(cgroup) - 1;
	ev->path_flags = KSPAN_PROC_F_EXE_PATH_WHOLE | KSPAN_PROC_F_CGROUP_PATH_WHOLE;
}

static const char *attr_str(const struct resource *r, const char *key)
{
	const struct attribute *a = attribute_list_find(&r->attrs, key);

	return a && a->type == ATTR_STRING ? a->str : NULL;
}

/* curl exited before the agent read its event: no /proc/PID at all. Its
 * executable, container and pod come from the event. */
static void test_kernel_paths_of_an_exited_process(void **state)
{
	struct fake_proc *fp = *state;
	struct kspan_proc_event ev;
	struct process_table t;
	struct resource *r;

	curl_event(&ev, 4343);
	assert_int_equal(process_table_init(&t, fp->root), 0);
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4343);
	assert_non_null(r);
	assert_string_equal(attr_str(r, "process.executable.path"), "/usr/bin/curl");
	assert_string_equal(attr_str(r, "process.executable.name"), "curl");
	assert_string_equal(attr_str(r, "container.id"), ID_A);
	assert_string_equal(attr_str(r, "k8s.pod.uid"), POD_UID);
	process_table_free(&t);
}

/* Paths the walk could not finish: an executable path without its top is no
 * path; a cgroup path's lowest levels still name the container and pod. */
static void test_kernel_paths_not_whole(void **state)
{
	static const char lowest[] = "libpod-" ID_B ".scope\0" POD_SLICE "\0";
	struct fake_proc *fp = *state;
	struct kspan_proc_event ev;
	struct process_table t;
	struct resource *r;

	curl_event(&ev, 4343);
	ev.path_flags = 0;
	memcpy(ev.cgroup_path, lowest, sizeof(lowest) - 1);
	ev.cgroup_path_len = sizeof(lowest) - 1;
	assert_int_equal(process_table_init(&t, fp->root), 0);
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4343);
	assert_null(attr_str(r, "process.executable.path"));
	assert_string_equal(attr_str(r, "container.id"), ID_B);
	assert_string_equal(attr_str(r, "k8s.pod.uid"), POD_UID);
	process_table_free(&t);

	/* A length past the buffer (a bad event) reads no further than it. */
	curl_event(&ev, 4343);
	ev.exe_path_len = 0xffff;
	ev.cgroup_path_len = 0xffff;
	assert_int_equal(process_table_init(&t, fp->root), 0);
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4343);
	assert_null(attr_str(r, "process.executable.path"));
	assert_null(attr_str(r, "container.id"));
	process_table_free(&t);
}

/* Where the kernel's cgroup v2 path names no container (a cgroup v1 host:
 * the task sits in the v2 root) /proc's lines still do; where the kernel
 * has a value, it wins over /proc's. */
static void test_kernel_paths_then_proc(void **state)
{
	static const char cgroup_v1[] =
	    "12:pids:/kubepods/besteffort/pod" POD_UID "/" ID_B "\n"
	    "1:name=systemd:/kubepods/besteffort/pod" POD_UID "/" ID_B "\n0::/\n";
	struct fake_proc *fp = *state;
	struct kspan_proc_event ev;
	struct process_table t;
	struct resource *r;
	char path[256];

	make_pid_dir(fp->root, 4242);
	write_file(fp->root, 4242, "cgroup", cgroup_v1, sizeof(cgroup_v1) - 1);
	snprintf(path, sizeof(path), "%s/4242/exe", fp->root);
	assert_int_equal(symlink("/usr/local/bin/curl", path), 0);

	curl_event(&ev, 4242);
	ev.cgroup_path_len = 0; /* the root */
	assert_int_equal(process_table_init(&t, fp->root), 0);
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4242);
	assert_string_equal(attr_str(r, "container.id"), ID_B);
	assert_string_equal(attr_str(r, "k8s.pod.uid"), POD_UID);
	assert_string_equal(attr_str(r, "process.executable.path"), "/usr/bin/curl");
	process_table_free(&t);

	/* The kernel's cgroup path names the container: /proc's is not used. */
	curl_event(&ev, 4242);
	assert_int_equal(process_table_init(&t, fp->root), 0);
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4242);
	assert_string_equal(attr_str(r, "container.id"), ID_A);
	process_table_free(&t);

	/* No executable path in the event: /proc's link. */
	curl_event(&ev, 4242);
	ev.exe_path_len = 0;
	assert_int_equal(process_table_init(&t, fp->root), 0);
	process_table_on_info(&t, &ev);
	r = process_table_resource(&t, 4242);
	assert_string_equal(attr_str(r, "process.executable.path"), "/usr/local/bin/curl");
	process_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_resource_from_proc, setup_fake_proc,
					    teardown_fake_proc),
	    cmocka_unit_test_setup_teardown(test_command_args_off_by_default, setup_fake_proc,
					    teardown_fake_proc),
	    cmocka_unit_test_setup_teardown(test_command_args_redacted_when_captured,
					    setup_fake_proc, teardown_fake_proc),
	    cmocka_unit_test(test_stat_start_time),
	    cmocka_unit_test_setup_teardown(test_table_bounded_least_recently_used_first,
					    setup_fake_proc, teardown_fake_proc),
	    cmocka_unit_test_setup_teardown(test_reused_pid_proc_not_mixed_into_event,
					    setup_fake_proc, teardown_fake_proc),
	    cmocka_unit_test_setup_teardown(test_reused_pid_cached_resource_rebuilt,
					    setup_fake_proc, teardown_fake_proc),
	    cmocka_unit_test_setup_teardown(test_resource_rewritten_cmdline, setup_fake_proc,
					    teardown_fake_proc),
	    cmocka_unit_test_setup_teardown(test_kernel_paths_of_an_exited_process, setup_fake_proc,
					    teardown_fake_proc),
	    cmocka_unit_test_setup_teardown(test_kernel_paths_not_whole, setup_fake_proc,
					    teardown_fake_proc),
	    cmocka_unit_test_setup_teardown(test_kernel_paths_then_proc, setup_fake_proc,
					    teardown_fake_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
