// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* process_table.c - OTLP resources of observed processes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/secret_redact.h"
#include "lib/version.h"
#include "ingest/process_table.h"
#include "loader/elf_image.h"
#include "model/process_runtime.h"

#define PROC_FILE_MAX (256 * 1024)

/* One process: its resource and what tells it apart from a later process
 * with the same pid. */
struct proc_entry {
	struct resource *resource; /* one reference */
	uint64_t start_ticks;	   /* /proc/PID/stat starttime read with it; 0: unknown */
	uint64_t start_mono_ns;	   /* the kernel event's start time; 0: no event */
	uint64_t checked_ns;	   /* CLOCK_MONOTONIC of the last check against /proc */
	uint32_t tgid;
	struct proc_entry *older, *newer; /* the table's use order */
};

static void use_append(struct process_table *t, struct proc_entry *e)
{
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void use_unlink(struct process_table *t, struct proc_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = NULL;
}

static void entry_free(struct proc_entry *e)
{
	if (e) {
		resource_unref(e->resource);
		free(e);
	}
}

/* Out of the map and the use order, freed; NULL is nothing. */
static void entry_remove(struct process_table *t, struct proc_entry *e)
{
	if (!e)
		return;
	u64_map_remove(&t->by_pid, e->tgid);
	use_unlink(t, e);
	entry_free(e);
}

int process_table_init(struct process_table *t, const char *proc_root)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->proc_root, sizeof(t->proc_root), "%s", proc_root ? proc_root : "/proc");
	long hz = sysconf(_SC_CLK_TCK);

	t->tick_ns = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
	t->revalidate_ns = PROCESS_TABLE_REVALIDATE_NS;
	t->max_entries = PROCESS_TABLE_MAX_DEFAULT;
	if (gethostname(t->host_name, sizeof(t->host_name) - 1))
		snprintf(t->host_name, sizeof(t->host_name), "unknown");
	return u64_map_init(&t->by_pid, 256);
}

void process_table_free(struct process_table *t)
{
	while (t->oldest)
		entry_remove(t, t->oldest);
	u64_map_free(&t->by_pid);
}

/* Reads a whole /proc file (they report size 0, so read until EOF), relative
 * to the process's directory: see open_process_dir. */
static char *read_proc_file(int dir_fd, const char *name, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd;

	if (dir_fd < 0)
		return NULL;
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			char *bigger = cap < PROC_FILE_MAX ? realloc(buf, cap * 2 + 1) : NULL;
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	close(fd);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

int proc_stat_start_ticks(const char *stat_text, uint64_t *ticks)
{
	/* proc(5): "pid (comm) state ppid ...": comm may hold spaces and ')',
	 * so fields are counted from the last ')'; starttime is field 22. */
	const char *p = strrchr(stat_text, ')');

	if (!p)
		return -1;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -1;
	}
	char *end;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (end == p + 1)
		return -1;
	*ticks = v;
	return 0;
}

bool proc_start_matches(uint64_t stat_ticks, uint64_t start_mono_ns, uint64_t tick_ns,
			uint64_t boot_minus_mono_ns)
{
	/* /proc/PID/stat counts CLOCK_BOOTTIME ticks (start_boottime), the
	 * kernel event CLOCK_MONOTONIC ns (start_time): the two differ by the
	 * time the machine was suspended before the process started, between 0
	 * and what it is now. One tick of slack each side for the truncation. */
	uint64_t stat_ns = stat_ticks * tick_ns;

	return stat_ns + 2 * tick_ns > start_mono_ns &&
	       stat_ns <= start_mono_ns + boot_minus_mono_ns + tick_ns;
}

/* /proc/TGID/stat's start time, or 0 when it cannot be read. */
static uint64_t read_start_ticks(int dir_fd)
{
	size_t len = 0;
	uint64_t ticks = 0;
	char *text = read_proc_file(dir_fd, "stat", &len);

	if (text && proc_stat_start_ticks(text, &ticks))
		ticks = 0;
	free(text);
	return ticks;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The directory of the process the kernel event names, or -1. A /proc/PID
 * directory descriptor stays bound to the process it was opened for: once
 * that process is gone, files opened through it fail, even when the pid was
 * reused since. So the start time is checked once, here, and every later
 * read through the descriptor is of the same process. *start_ticks gets the
 * start time read (0 when unknown).
 */
static int open_process_dir(const struct process_table *t, uint32_t tgid,
			    const struct kspan_proc_event *ev, uint64_t *start_ticks)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%u", t->proc_root, tgid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*start_ticks = fd >= 0 ? read_start_ticks(fd) : 0;
	/* No stat to compare (never so in a real /proc, whose stat is there
	 * while the process is): trusted, as before any check. */
	if (fd >= 0 && ev && *start_ticks &&
	    !proc_start_matches(*start_ticks, ev->start_time_ns, t->tick_ns,
				clock_ns(CLOCK_BOOTTIME) - clock_ns(CLOCK_MONOTONIC))) {
		/* pid reused: what /proc has is another process's. */
		log_debug("process %u: /proc holds a younger process (pid reused); resource "
			  "from the kernel event only",
			  tgid);
		close(fd);
		*start_ticks = 0;
		return -1;
	}
	return fd;
}

static bool is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

int container_id_from_cgroup(const char *text, char out[65])
{
	/* Each line is "hierarchy:controllers:path". The id is a 64-hex path
	 * component, possibly wrapped: docker-<id>.scope, cri-containerd-<id>
	 * .scope, crio-<id>.scope, libpod-<id>.scope, or plain /docker/<id>.
	 * The innermost one on the line is the process's: a Kubernetes node
	 * that is itself a container (kind) has its own id higher up. */
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *found = NULL;

		for (size_t i = 0; i + 64 <= len; i++) {
			const char *p = line + i;
			bool starts = i == 0 || p[-1] == '/' || p[-1] == '-' || p[-1] == ':';
			bool ends = i + 64 == len || p[64] == '.' || p[64] == '/';
			if (starts && ends && is_hex64(p))
				found = p;
		}
		if (found) {
			memcpy(out, found, 64);
			out[64] = '\0';
			return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -1;
}

int path_from_kernel_names(const char *names, size_t len, char *out, size_t out_size)
{
	size_t used = 0, end = len;

	if (out_size < 2 || (len && names[len - 1] != '\0'))
		return -1;
	/* Components come leaf first: copy them from the last one back. */
	while (end) {
		size_t start = end - 1;
		while (start && names[start - 1] != '\0')
			start--;
		size_t n = end - 1 - start; /* without its NUL */
		if (n == 0 || memchr(names + start, '/', n) || used + 1 + n + 1 > out_size)
			return -1;
		out[used++] = '/';
		memcpy(out + used, names + start, n);
		used += n;
		end = start;
	}
	if (!used)
		out[used++] = '/';
	out[used] = '\0';
	return (int)used;
}

/* A pod UID at p: 8-4-4-4-12 hex digits, separated by '-' (cgroupfs driver)
 * or '_' (systemd driver, where '-' separates slice names). */
static bool is_pod_uid(const char *p)
{
	for (int i = 0; i < 36; i++) {
		char c = p[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-' && c != '_')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return true;
}

int pod_uid_from_cgroup(const char *text, char out[37])
{
	/* kubelet names a pod's cgroup "pod<uid>" (cgroupfs: /kubepods/burstable/
	 * pod<uid>/) or "kubepods-<qos>-pod<uid>.slice" (systemd), below a
	 * "kubepods" one. */
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *kubepods = memmem(line, len, "kubepods", 8);

		/* From just past "kubepods": p[-1] is always inside the line. */
		for (size_t i = kubepods ? (size_t)(kubepods - line) + 8 : len; i + 39 <= len;
		     i++) {
			const char *p = line + i;
			bool starts = p[-1] == '/' || p[-1] == '-';
			bool ends = i + 39 == len || p[39] == '.' || p[39] == '/';
			if (starts && ends && memcmp(p, "pod", 3) == 0 && is_pod_uid(p + 3)) {
				for (int k = 0; k < 36; k++)
					out[k] = p[3 + k] == '_' ? '-' : p[3 + k];
				out[36] = '\0';
				return 0;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return -1;
}

/* The value of key `key` in a "k1=v1,k2=v2" OTEL_RESOURCE_ATTRIBUTES list of
 * `len` bytes (not NUL-terminated when it is the environment's last entry). */
static int resource_attrs_lookup(const char *list, size_t len, const char *key, char *out,
				 size_t out_size)
{
	const char *end = list + len;
	size_t klen = strlen(key);

	for (const char *p = list; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t elen = (size_t)((comma ? comma : end) - p);
		while (elen && *p == ' ') {
			p++;
			elen--;
		}
		if (elen > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vlen = elen - klen - 1;
			if (vlen == 0 || vlen >= out_size)
				return -1;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return -1;
}

int service_name_from_environ(const char *env, size_t len, char *out, size_t out_size)
{
	const char *attrs = NULL;
	size_t attrs_len = 0;

	for (size_t off = 0; off < len;) {
		const char *var = env + off;
		size_t vlen = strnlen(var, len - off);
		if (vlen > 18 && strncmp(var, "OTEL_SERVICE_NAME=", 18) == 0 &&
		    vlen - 18 < out_size) {
			memcpy(out, var + 18, vlen - 18);
			out[vlen - 18] = '\0';
			return 0;
		}
		if (vlen > 25 && strncmp(var, "OTEL_RESOURCE_ATTRIBUTES=", 25) == 0) {
			attrs = var + 25;
			attrs_len = vlen - 25;
		}
		off += vlen + 1;
	}
	if (attrs)
		return resource_attrs_lookup(attrs, attrs_len, "service.name", out, out_size);
	return -1;
}

#define COMMAND_ARGS_MAX 64
#define COMMAND_ARG_MAX	 4096 /* bytes of one argument kept, after redaction */

/*
 * The command line, from a NUL-separated argument block: process.command
 * (argv[0]) always, process.command_args only with --capture-command-args.
 * Command lines carry passwords and tokens (curl http://svc/x?token=...,
 * mysql -pSECRET), so the arguments stay on the node by default, and even
 * when asked for they are exported through redact_command_arg (URL user
 * information and query values, secret flags' values, NAME=value pairs,
 * header arguments): the same rule as url.query, which kspan redacts too.
 */
static void add_command_line(struct attribute_list *attrs, const char *block, size_t len,
			     bool with_args)
{
	const char *args[COMMAND_ARGS_MAX];
	enum redact_next next = REDACT_NEXT_KEEP;
	size_t n = 0, used = 0;
	char *redacted;

	for (size_t off = 0; off < len && n < COMMAND_ARGS_MAX;) {
		size_t alen = strnlen(block + off, len - off);
		if (off + alen == len && alen)
			break; /* cut by the capture: keep only whole arguments */
		args[n++] = block + off;
		off += alen + 1;
		if (!with_args)
			break;
	}
	if (!n)
		return;
	redacted = malloc(n * COMMAND_ARG_MAX);
	if (!redacted)
		return;
	for (size_t i = 0; i < n; i++) {
		char *out = redacted + used;
		used += redact_command_arg(args[i], &next, out, COMMAND_ARG_MAX) + 1;
		args[i] = out;
	}
	attribute_list_add_str(attrs, "process.command", args[0]);
	if (with_args)
		attribute_list_add_str_array(attrs, "process.command_args", args, n);
	explicit_bzero(redacted, used);
	free(redacted);
}

/* A path length from the kernel, never past its buffer. */
static size_t kernel_path_len(uint16_t len)
{
	return len < KSPAN_PATH_LEN ? len : KSPAN_PATH_LEN;
}

/* The kernel event's cgroup path as the "0::" line of /proc/PID/cgroup, for
 * the parsers of its text: 0, or -1 when the event has none. */
static int kernel_cgroup_line(const struct kspan_proc_event *ev, char *out, size_t out_size)
{
	if (!ev->cgroup_path_len || out_size < 4)
		return -1;
	memcpy(out, "0::", 3);
	return path_from_kernel_names(ev->cgroup_path, kernel_path_len(ev->cgroup_path_len),
				      out + 3, out_size - 3) > 0
		   ? 0
		   : -1;
}

/* Is the process's executable a Go program (a .go.buildinfo section, as
 * the Go crypto/tls attacher tells it)? Read through /proc/PID/exe, which
 * names the file even in another mount namespace. */
static bool process_is_go(const struct process_table *t, uint32_t tgid)
{
	struct elf_image *img;
	struct elf_section sec;
	char path[128];
	bool go;

	snprintf(path, sizeof(path), "%s/%u/exe", t->proc_root, tgid);
	if (elf_image_open(path, &img))
		return false;
	go = elf_image_section(img, ".go.buildinfo", &sec) == 0;
	elf_image_close(img);
	return go;
}

static struct resource *build_resource(struct process_table *t, uint32_t tgid,
				       const struct kspan_proc_event *ev, uint64_t *start_ticks)
{
	struct resource *r = resource_new(tgid);
	char service[256] = "", exe_name[KSPAN_EXE_NAME_LEN + 1] = "", container[65], pod[37];
	char exe_path[4096], cgroup_line[3 + KSPAN_PATH_LEN + 1];
	size_t len = 0;
	char *text;
	ssize_t n = -1;
	int dir_fd;

	*start_ticks = 0;
	if (!r)
		return NULL;
	dir_fd = open_process_dir(t, tgid, ev, start_ticks);
	if (ev) {
		snprintf(exe_name, sizeof(exe_name), "%.*s", (int)sizeof(ev->exe_name),
			 ev->exe_name[0] ? ev->exe_name : ev->comm);
	}
	/* The kernel's path, read while the process ran, else /proc's. */
	if (ev && (ev->path_flags & KSPAN_PROC_F_EXE_PATH_WHOLE) && ev->exe_path_len)
		n = path_from_kernel_names(ev->exe_path, kernel_path_len(ev->exe_path_len),
					   exe_path, sizeof(exe_path));
	if (n <= 0 && dir_fd >= 0)
		n = readlinkat(dir_fd, "exe", exe_path, sizeof(exe_path) - 1);
	if (n > 0) {
		exe_path[n] = '\0';
		if (!exe_name[0]) {
			const char *slash = strrchr(exe_path, '/');
			snprintf(exe_name, sizeof(exe_name), "%.*s", (int)sizeof(exe_name) - 1,
				 slash ? slash + 1 : exe_path);
		}
	}
	text = read_proc_file(dir_fd, "environ", &len);
	if (text) {
		service_name_from_environ(text, len, service, sizeof(service));
		/* The environment may hold secrets: keep nothing else from it. */
		explicit_bzero(text, len);
		free(text);
	}
	if (!exe_name[0]) {
		text = read_proc_file(dir_fd, "comm", &len);
		if (text) {
			text[strcspn(text, "\n")] = '\0';
			snprintf(exe_name, sizeof(exe_name), "%s", text);
			free(text);
		}
	}
	if (!exe_name[0])
		snprintf(exe_name, sizeof(exe_name), "unknown");
	r->service_name = strdup(service[0] ? service : exe_name);
	r->runtime = (uint8_t)process_runtime_of(exe_name, dir_fd >= 0 && process_is_go(t, tgid));

	attribute_list_add_str(&r->attrs, "service.name", r->service_name ? r->service_name : "");
	attribute_list_add_int(&r->attrs, "process.pid", tgid);
	attribute_list_add_str(&r->attrs, "process.executable.name", exe_name);
	if (n > 0)
		attribute_list_add_str(&r->attrs, "process.executable.path", exe_path);
	text = read_proc_file(dir_fd, "cmdline", &len);
	if (text && len) {
		/* /proc has the whole vector; the kernel event only a prefix. The
		 * last argument ends with NUL unless the process rewrote its
		 * arguments; then read_proc_file's terminator ends it. */
		add_command_line(&r->attrs, text, text[len - 1] ? len + 1 : len,
				 t->capture_command_args);
	} else if (ev && ev->cmdline_len) {
		add_command_line(&r->attrs, ev->cmdline,
				 ev->cmdline_len < KSPAN_CMDLINE_LEN ? ev->cmdline_len
								     : KSPAN_CMDLINE_LEN,
				 t->capture_command_args);
	}
	if (text)
		explicit_bzero(text, len);
	free(text);
	attribute_list_add_str(&r->attrs, "host.name", t->host_name);
	/* The kernel's cgroup v2 path, read while the process ran, then
	 * /proc's lines (a cgroup v1 host has the container only there). */
	bool has_container = false, has_pod = false;
	if (ev && kernel_cgroup_line(ev, cgroup_line, sizeof(cgroup_line)) == 0) {
		has_container = container_id_from_cgroup(cgroup_line, container) == 0;
		has_pod = pod_uid_from_cgroup(cgroup_line, pod) == 0;
	}
	text = !has_container || !has_pod ? read_proc_file(dir_fd, "cgroup", &len) : NULL;
	if (text && !has_container)
		has_container = container_id_from_cgroup(text, container) == 0;
	if (text && !has_pod)
		has_pod = pod_uid_from_cgroup(text, pod) == 0;
	free(text);
	if (has_container)
		attribute_list_add_str(&r->attrs, "container.id", container);
	/* The key a collector's k8sattributes processor can associate by, to
	 * add the pod's name, namespace and owners. */
	if (has_pod)
		attribute_list_add_str(&r->attrs, "k8s.pod.uid", pod);
	attribute_list_add_str(&r->attrs, "telemetry.sdk.name", "kspan");
	attribute_list_add_str(&r->attrs, "telemetry.sdk.version", KSPAN_VERSION);
	attribute_list_add_str(&r->attrs, "telemetry.sdk.language", "cpp");
	if (dir_fd >= 0)
		close(dir_fd);
	return r;
}

static struct proc_entry *replace(struct process_table *t, uint32_t tgid, struct resource *r,
				  uint64_t start_ticks, uint64_t start_mono_ns)
{
	struct proc_entry *e = NULL;

	entry_remove(t, u64_map_get(&t->by_pid, tgid));
	while (t->by_pid.count >= t->max_entries && t->oldest) {
		if (t->stats)
			STAT_INC(t->stats, processes_evicted);
		entry_remove(t, t->oldest);
	}
	if (r)
		e = malloc(sizeof(*e));
	if (!e) {
		resource_unref(r);
		return NULL;
	}
	*e = (struct proc_entry){.resource = r,
				 .start_ticks = start_ticks,
				 .start_mono_ns = start_mono_ns,
				 .checked_ns = clock_ns(CLOCK_MONOTONIC),
				 .tgid = tgid};
	if (u64_map_put(&t->by_pid, tgid, e)) {
		entry_free(e);
		return NULL;
	}
	use_append(t, e);
	return e;
}

void process_table_on_info(struct process_table *t, const struct kspan_proc_event *ev)
{
	uint64_t ticks;
	struct resource *r = build_resource(t, ev->hdr.tgid, ev, &ticks);

	replace(t, ev->hdr.tgid, r, ticks, ev->start_time_ns);
}

void process_table_on_exit(struct process_table *t, uint32_t tgid)
{
	entry_remove(t, u64_map_get(&t->by_pid, tgid));
}

/* Is the process /proc shows for tgid now another one than e's? Only when
 * both are known: a process that is gone keeps its resource (its last spans
 * still need it). */
static bool pid_reused(const struct process_table *t, uint32_t tgid, const struct proc_entry *e)
{
	char path[128];
	uint64_t now_ticks;
	int fd;

	snprintf(path, sizeof(path), "%s/%u", t->proc_root, tgid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	now_ticks = fd >= 0 ? read_start_ticks(fd) : 0;
	if (fd >= 0)
		close(fd);
	if (!now_ticks)
		return false;
	if (e->start_ticks)
		return now_ticks != e->start_ticks;
	return e->start_mono_ns &&
	       !proc_start_matches(now_ticks, e->start_mono_ns, t->tick_ns,
				   clock_ns(CLOCK_BOOTTIME) - clock_ns(CLOCK_MONOTONIC));
}

struct resource *process_table_resource(struct process_table *t, uint32_t tgid)
{
	return process_table_resource_at(t, tgid, clock_ns(CLOCK_MONOTONIC));
}

struct resource *process_table_resource_at(struct process_table *t, uint32_t tgid, uint64_t now)
{
	struct proc_entry *e = u64_map_get(&t->by_pid, tgid);
	uint64_t ticks;
	struct resource *r;

	/* The kernel announces a new process behind a reused pid (PROC_INFO);
	 * this check, at most every revalidate_ns per pid, covers a lost
	 * announcement, so a span never carries another process's resource
	 * for long. */
	if (e && t->newest != e) {
		use_unlink(t, e);
		use_append(t, e);
	}
	/* an event read after the check may be older than it: checked */
	if (e && now < e->checked_ns + t->revalidate_ns)
		return e->resource;
	if (e) {
		e->checked_ns = now;
		if (!pid_reused(t, tgid, e))
			return e->resource;
		log_debug("process %u: pid reused, resource rebuilt from /proc", tgid);
	}
	r = build_resource(t, tgid, NULL, &ticks);
	e = replace(t, tgid, r, ticks, 0);
	return e ? e->resource : NULL;
}
