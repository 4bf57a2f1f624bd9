#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# run.sh - the `layout` suite: the tree's own rules, each one check.
#   layers   a file includes only its own level or lower ones (user/, bpf/)
#   format   every C file is as `make format` writes it (.clang-format)
#   bpf      every bpf/**/*.bpf.h compiles on its own (make bpf-check)
# Prints "layout: N passed, M failed".
set -u
cd "$(dirname "$0")/../.."
passed=0 failed=0

check() {
	local name=$1
	shift
	if out=$("$@" 2>&1); then
		echo "  ok    layout.$name"
		passed=$((passed + 1))
	else
		echo "  FAIL  layout.$name"
		printf '%s\n' "$out" | head -n 40
		failed=$((failed + 1))
	fi
}

layer_dirs=(user)
[ -f bpf/README.md ] && grep -q '^Levels, lowest first:' bpf/README.md && layer_dirs+=(bpf)
check layers /usr/bin/python3 tests/layout/check_layers.py "${layer_dirs[@]}"
check format make --no-print-directory -s format-check
if grep -q '^bpf-check:' Makefile; then
	check bpf_headers_compile_alone make --no-print-directory -s bpf-check
fi
echo "layout: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
