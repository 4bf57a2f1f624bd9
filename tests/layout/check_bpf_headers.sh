#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# check_bpf_headers.sh - run by `make bpf-check` (the layout suite runs it).
#
# Every header under bpf/ compiles on its own (clang -fsyntax-only with the
# BPF flags), names the folder of every bpf/ header it includes
# ("base/maps.bpf.h"), and is in no include cycle. Which folder may include
# which is check_layers.py's job, from the levels line of bpf/README.md.
# Prints one line per violation; exits 1 if there is any.
set -u
cd "$(dirname "$0")/../.."
CLANG=${CLANG:-clang}
read -r -a BPF_FLAGS <<<"${BPF_CFLAGS:--g -O2 -target bpf -D__BPF__ -Ibpf -Iinclude -Ivmlinux/x86}"

status=0
fail() {
	echo "$1" >&2
	status=1
}

for f in $(find bpf -name '*.bpf.[ch]' | sort); do
	while IFS= read -r inc; do
		case "$inc" in
		*/*.bpf.h) ;;
		*.bpf.h) fail "$f: includes $inc without its folder" ;;
		esac
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
	case "$f" in *.bpf.h) ;; *) continue ;; esac
	if ! out=$("$CLANG" "${BPF_FLAGS[@]}" -fsyntax-only -x c "$f" 2>&1); then
		fail "$f: does not compile on its own:"
		echo "$out" | head -n 20 >&2
	fi
done

# Include guards hide cycles from the compiler: tsort finds them in the
# include graph.
include_graph() {
	local f
	for f in $(find bpf -name '*.bpf.[ch]' | sort); do
		echo "$f $f"
		sed -n 's|^#include "\([a-z_]*/[^"]*\.bpf\.h\)".*|bpf/\1|p' "$f" | sed "s|^|$f |"
	done
}
if ! loop=$(include_graph | tsort 2>&1 >/dev/null); then
	fail "bpf/: include cycle through: $(grep -v 'input contains a loop' <<<"$loop" |
		sed 's/^tsort: //' | tr '\n' ' ')"
fi
exit $status
