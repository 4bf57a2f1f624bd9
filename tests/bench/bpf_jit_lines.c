// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpf_jit_lines - where each source line of a loaded BPF program starts in
 * its JIT image: `bpf_jit_lines PROG_ID` prints one line per line-info
 * record, "ADDRESS FILE:LINE SOURCE", ADDRESS the kernel address of the
 * record's first JIT instruction (the same addresses perf samples carry).
 * bpftool prints this only when built with libbfd (Debian's is not); the
 * kernel gives it to anyone with the program's fd: bpf_prog_info's
 * jited_line_info (addresses) beside line_info (the BTF strings).
 * Used by bench_bpf_lines.sh to charge perf samples to source lines.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : (path ? path : "?");
}

int main(int argc, char **argv)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info), n_jited, n_lines, rec_size;
	struct bpf_line_info *lines;
	struct btf *btf;
	__u64 *jited;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PROG_ID\n", argv[0]);
		return 2;
	}
	fd = bpf_prog_get_fd_by_id((__u32)strtoul(argv[1], NULL, 10));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		perror("bpf_jit_lines: program info");
		return 1;
	}
	n_jited = info.nr_jited_line_info;
	n_lines = info.nr_line_info;
	rec_size = info.line_info_rec_size;
	if (!n_jited || n_jited != n_lines || rec_size < sizeof(*lines)) {
		fprintf(stderr, "bpf_jit_lines: program %s has no JIT line info\n", argv[1]);
		return 1;
	}
	jited = calloc(n_jited, sizeof(*jited));
	lines = calloc(n_lines, rec_size);
	if (!jited || !lines)
		return 1;
	memset(&info, 0, sizeof(info));
	info.nr_jited_line_info = n_jited;
	info.jited_line_info = (__u64)(unsigned long)jited;
	info.jited_line_info_rec_size = sizeof(*jited);
	info.nr_line_info = n_lines;
	info.line_info = (__u64)(unsigned long)lines;
	info.line_info_rec_size = rec_size;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		perror("bpf_jit_lines: line info");
		return 1;
	}
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf) {
		perror("bpf_jit_lines: program BTF");
		return 1;
	}
	for (__u32 i = 0; i < n_jited; i++) {
		const struct bpf_line_info *l =
		    (const struct bpf_line_info *)((const char *)lines + (size_t)i * rec_size);
		const char *source = btf__name_by_offset(btf, l->line_off);

		printf("%llx %s:%u %s\n", (unsigned long long)jited[i],
		       base_name(btf__name_by_offset(btf, l->file_name_off)),
		       BPF_LINE_INFO_LINE_NUM(l->line_col), source ? source : "");
	}
	btf__free(btf);
	free(lines);
	free(jited);
	close(fd);
	return 0;
}
