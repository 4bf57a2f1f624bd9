#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_bpf_time.sh - BPF run time per HTTP/1.1 keep-alive request, per side
# (issue 13, target 1), on this host's default backend. A benchmark, not a
# test: it prints numbers.
#
# With kernel.bpf_stats_enabled=1 (restored afterwards) the kernel adds up,
# per BPF program, the time it ran (run_time_ns) and how often (run_cnt);
# this reads them from kspan's own program descriptors (/proc/PID/fdinfo,
# each program once) before and after BPF_ROUNDS exchanges of
# `syscall_cost http-pair` (a server process that answers with recv() +
# writev(), as nginx does; a client process that sends with write() and
# reads with read(), as wrk does; one keep-alive loopback connection opened
# after kspan is ready) and divides the difference by the exchanges:
#   server  kspan --pid <server>: the server's read+write, plus what the
#           client's syscalls cost while being filtered out
#   client  kspan --pid <client>: the client's write+read, the same way
#   both    kspan tracing every process: both sides
# kspan runs with --exporter none (export is not BPF time). Everything else
# the machine does while the exchanges run also runs kspan's programs: run
# this on a quiet machine. For each run, the programs that ran, with their
# runs and nanoseconds per exchange, show where the time goes.
#
# One exchange at a time leaves both CPUs idle between the syscalls: each
# wake-up from halt is a VM exit and entry, after which the programs run
# with cold caches and predictors (on this 2-vCPU VM the same build measures
# ~2.2 us per side idle and ~1.3 us with the CPUs kept busy). So the same
# sides are also measured under load, as a server sees it when it is busy:
# one nginx worker saturated by wrk (-t1 -c16, keep-alive, BPF_LOAD_SECONDS):
#   nginx   kspan --pid <nginx worker>: nginx's recv+writev (+ its EAGAIN
#           reads and epoll), divided by the requests wrk completed
#   both    kspan tracing every process (wrk's write+read too), per request
# The client side under load is their difference (wrk's pid is only known
# once it runs, after the connections that kspan would have to adopt).
#
# The floor (row 1f, and the "without kspan" column of rows 1 and 1L): the
# same exchanges and the same load with two empty programs on sys_enter and
# sys_exit instead of kspan (empty_hooks.bpf.c: one compare and return). With
# bpf_stats on, the kernel times every run of a program with two
# sched_clock() reads, and on this VM an empty program already measures
# 70-110 ns per run; a traced exchange runs each program four times per side
# (every syscall of every process runs both), so part of every figure
# above is this fixed cost, not kspan's work. "kspan above the floor" is the
# difference. The same empty programs on the socket layer's tracepoints
# (sock_send_length / sock_recv_length, 6.5+: only socket I/O runs them)
# give the floor of a backend built on those.
#
# This machine kind drifts by a quarter from one run to the next, more than
# most changes move these figures: BPF_REPEAT=N measures every side N times,
# the builds interleaved within each round (baseline, kspan, baseline, ...),
# and reports each side's median, after its rounds' figures.
#
# Environment: bench_lib.sh's (KSPAN, KSPAN_BASELINE, BENCH_RESULTS,
# BENCH_KEEP), BPF_ROUNDS (100000), BPF_LOAD_SECONDS (5; 0: no loaded runs),
# BPF_REPEAT (1),
# BPF_SIDES (the idle sides: "server client both"; empty: none), BPF_FLOOR (1;
# syscall: not the socket one; 0: no floor runs), EMPTY_HOOKS (build/bench/empty_hooks; not built: no floor).
# Needs root, gcc; nginx and wrk for the loaded runs.
set -euo pipefail
BENCH_NAME=bench_bpf_time
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BPF_ROUNDS=${BPF_ROUNDS:-100000}
BPF_LOAD_SECONDS=${BPF_LOAD_SECONDS:-5}
BPF_REPEAT=${BPF_REPEAT:-1}
BIN=build/bench/syscall_cost
EMPTY_HOOKS=${EMPTY_HOOKS:-build/bench/empty_hooks}
STATS_WAS=''

restore_stats() {
	[ -n "$STATS_WAS" ] && sysctl -q -w kernel.bpf_stats_enabled="$STATS_WAS" >/dev/null
	bench_cleanup
}
trap restore_stats EXIT

declare -A NS_PER    # "side build" -> ns per exchange
declare -A NS_ROUNDS # "side build" -> each round's ns per exchange

# us NS: nanoseconds as microseconds (3 decimals); anything else as it is.
us() { awk -v n="${1:-}" 'BEGIN { if (n ~ /^[0-9.]+$/) printf "%.3f", n / 1000; else print n }'; }

# keep_round KEY: NS_PER[KEY] of this round, kept for median_of_rounds.
keep_round() {
	NS_ROUNDS[$1]="${NS_ROUNDS[$1]:-} ${NS_PER[$1]:-?}"
}

# NS_PER of every key measured over BPF_REPEAT rounds: the median of its
# rounds (rounds that measured nothing, "?", left out), printed with them.
median_of_rounds() {
	local key
	[ "$BPF_REPEAT" = 1 ] && return 0
	# Not in a pipeline: NS_PER must be set in this shell, not a subshell.
	for key in "${!NS_ROUNDS[@]}"; do
		NS_PER[$key]=$(echo "${NS_ROUNDS[$key]}" | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n |
			awk '{ v[NR] = $1 } END { if (!NR) print "?"; else if (NR % 2) print v[(NR + 1) / 2];
				else printf "%d\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	done
	for key in "${!NS_ROUNDS[@]}"; do
		echo "$key: median $(us "${NS_PER[$key]}") us of rounds (ns)${NS_ROUNDS[$key]}"
	done | sort
	NS_ROUNDS=()
}

# agent_args LABEL PID [KSPAN_ARGS...]: the arguments of the agent of run
# LABEL into AGENT_ARGS: the empty programs comparing with PID for the
# floors (on the syscall or the socket tracepoints), kspan with KSPAN_ARGS
# and no export otherwise.
agent_args() {
	local label=$1 pid=$2
	shift 2
	case $label in
	floor) AGENT_ARGS=("$EMPTY_HOOKS.bpf.o" "$pid" syscall) ;;
	socket-floor) AGENT_ARGS=("$EMPTY_HOOKS.bpf.o" "$pid" socket) ;;
	*) AGENT_ARGS=(--exporter none --metrics-addr '' "$@") ;;
	esac
}

# measure SIDE LABEL BINARY
measure() {
	local side=$1 label=$2 bin=$3 log="$TMP/$1-$2.stderr" out="$TMP/$1-$2.pair"
	local server client args=()
	rm -f "$TMP/go"
	mkfifo "$TMP/go"
	"$BIN" http-pair "$BPF_ROUNDS" <"$TMP/go" >"$out" &
	local tool=$!
	BENCH_PIDS+=("$tool")
	exec 3>"$TMP/go"
	for _ in $(seq 100); do
		grep -q '^pids ' "$out" && break
		sleep 0.05
	done
	read -r _ server client <"$out" || die "syscall_cost http-pair printed no pids"
	case $side in
	server) args=(--pid "$server") ;;
	client) args=(--pid "$client") ;;
	esac
	# The floor's programs compare with the server's pid: which one does
	# not matter, every syscall runs them.
	agent_args "$label" "$server" "${args[@]}"
	if ! start_kspan "$bin" "$log" "${AGENT_ARGS[@]}"; then
		exec 3>&-
		wait "$tool" 2>/dev/null || true
		NS_PER[$side $label]='?'
		return 0
	fi
	bpf_run_per_prog "$KSPAN_PID" >"$TMP/$side-$label.before"
	echo go >&3
	exec 3>&-
	wait "$tool" || note "syscall_cost http-pair failed"
	bpf_run_per_prog "$KSPAN_PID" >"$TMP/$side-$label.after"
	prog_names "$TMP/$side-$label.after" >"$TMP/$side-$label.names"
	stop_kspan
	NS_PER[$side $label]=$(bpf_ns_per "$TMP/$side-$label.before" "$TMP/$side-$label.after" \
		"$BPF_ROUNDS")
	echo "$side, $label ($bin): $(awk -v n="${NS_PER[$side $label]}" \
		'BEGIN { printf "%.3f", n / 1000 }') us of BPF time per exchange"
	print_prog_split "$TMP/$side-$label.before" "$TMP/$side-$label.after" \
		"$TMP/$side-$label.names" "$BPF_ROUNDS" exchange
}

# measure_loaded SIDE LABEL BINARY: SIDE nginx (--pid worker) or all; BPF
# time over one wrk run against nginx, per request wrk completed.
measure_loaded() {
	local side=$1 label=$2 bin=$3 log="$TMP/load-$1-$2.stderr" f="$TMP/load-$1-$2"
	local args=()
	[ "$side" = nginx ] && args=(--pid "$WORKER")
	agent_args "$label" "$WORKER" "${args[@]}"
	clear_results
	if ! start_kspan "$bin" "$log" "${AGENT_ARGS[@]}"; then
		NS_PER[load $side $label]='?'
		return 0
	fi
	bpf_run_per_prog "$KSPAN_PID" >"$f.before"
	BENCH_SECONDS=$BPF_LOAD_SECONDS run_wrk "$f.wrk" "$URL" 1 16
	bpf_run_per_prog "$KSPAN_PID" >"$f.after"
	prog_names "$f.after" >"$f.names"
	stop_kspan
	NS_PER[load $side $label]=$(bpf_ns_per "$f.before" "$f.after" "${R_REQUESTS:-0}")
	echo "under load, $side, $label ($bin): $(awk -v n="${NS_PER[load $side $label]}" \
		'BEGIN { printf "%.3f", n / 1000 }') us of BPF time per request (${R_RPS:-?} req/s)"
	print_prog_split "$f.before" "$f.after" "$f.names" "${R_REQUESTS:-0}" request
}

main() {
	local b side floor round
	need_root
	check_kspan_builds
	mkdir -p build/bench
	cc -O2 -Wall -Wextra -Werror -o "$BIN" tests/bench/syscall_cost.c
	STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q -w kernel.bpf_stats_enabled=1
	echo "BPF run time per HTTP/1.1 keep-alive exchange (kernel.bpf_stats_enabled), $BPF_ROUNDS"
	echo "exchanges of syscall_cost http-pair per run; kernel $(uname -r), default backend"
	for round in $(seq "$BPF_REPEAT"); do
		[ "$BPF_REPEAT" = 1 ] || echo "round $round of $BPF_REPEAT"
		for side in ${BPF_SIDES-server client both}; do
			for b in $(kspan_builds); do
				measure "$side" "${b%%=*}" "${b#*=}"
				keep_round "$side ${b%%=*}"
			done
		done
	done
	median_of_rounds
	floor=''
	if [ "${BPF_FLOOR:-1}" = 0 ]; then
		:
	elif [ -x "$EMPTY_HOOKS" ]; then
		floor=1
		measure server floor "$EMPTY_HOOKS"
		[ "${BPF_FLOOR:-1}" = syscall ] || measure server socket-floor "$EMPTY_HOOKS"
	else
		note "$EMPTY_HOOKS not built (make $EMPTY_HOOKS): no floor"
	fi
	if [ "$BPF_LOAD_SECONDS" != 0 ]; then
		command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
		start_nginx
		BENCH_SECONDS=2 run_wrk "$TMP/warmup.wrk" "$URL" 1 16 # unreported warm-up
		for round in $(seq "$BPF_REPEAT"); do
			[ "$BPF_REPEAT" = 1 ] || echo "loaded round $round of $BPF_REPEAT"
			for side in nginx all; do
				for b in $(kspan_builds); do
					measure_loaded "$side" "${b%%=*}" "${b#*=}"
					keep_round "load $side ${b%%=*}"
				done
			done
		done
		median_of_rounds
		if [ -n "$floor" ]; then
			measure_loaded nginx floor "$EMPTY_HOOKS"
			[ "${BPF_FLOOR:-1}" = syscall ] ||
				measure_loaded nginx socket-floor "$EMPTY_HOOKS"
		fi
		for b in $(kspan_builds); do
			b=${b%%=*}
			NS_PER[load client $b]=$(awk -v a="${NS_PER[load all $b]:-?}" \
				-v s="${NS_PER[load nginx $b]:-?}" 'BEGIN { if (a ~ /^[0-9]+$/ &&
				s ~ /^[0-9]+$/) print a - s; else print "?" }')
		done
	fi
	# above NS FLOOR_NS: kspan's time less the empty programs', in us.
	above() { awk -v n="${1:-}" -v f="${2:-}" 'BEGIN { if (n ~ /^[0-9]+$/ && f ~ /^[0-9]+$/)
		printf "%.3f", (n - f) / 1000 }'; }
	# The floor of each row: the same syscalls run the empty programs, so
	# one idle figure serves the three idle rows and one loaded figure the
	# nginx and every-process rows (wrk's row is a difference of two runs
	# that both pay it). The empty programs on the hooks kspan ran on: the
	# socket tracepoints' when its programs were the socket-tracepoint
	# backend's.
	local fl=floor
	if grep -qs ' kspan_socktp_' "$TMP"/*-kspan.names &&
		[ -n "${NS_PER[server socket-floor]:-}${NS_PER[load nginx socket-floor]:-}" ]; then
		fl=socket-floor
	fi
	local -A FLOOR_OF=([server]="${NS_PER[server $fl]:-}" [client]="${NS_PER[server $fl]:-}"
		[both]="${NS_PER[server $fl]:-}" ["load nginx"]="${NS_PER[load nginx $fl]:-}"
		["load all"]="${NS_PER[load nginx $fl]:-}")
	echo
	[ -n "$floor" ] && echo "floor: the empty programs of run \"$fl\" (the hooks kspan ran on)"
	printf '%-14s %14s %14s %14s %18s\n' side "floor us" "${KSPAN_BASELINE:+baseline us}" \
		"kspan us" "kspan above floor"
	for side in server client both "load nginx" "load client" "load all"; do
		[ -n "${NS_PER[$side kspan]:-}" ] || continue
		printf '%-14s %14s %14s %14s %18s\n' "$side" "$(us "${FLOOR_OF[$side]:-}")" \
			"$(us "${NS_PER[$side baseline]:-}")" "$(us "${NS_PER[$side kspan]}")" \
			"$(above "${NS_PER[$side kspan]}" "${FLOOR_OF[$side]:-}")"
	done
	# floor_cell SIDE: the row's "without kspan" cell.
	floor_cell() { local f; f=$(us "${FLOOR_OF[$1]:-}"); echo "${f:--}"; }
	result "1" "BPF us per request, server side (recv+writev)" "$(floor_cell server)" \
		"$(us "${NS_PER[server baseline]:-}")" "$(us "${NS_PER[server kspan]:-}")" \
		"-" "" "<= 1.0"
	result "1" "BPF us per request, client side (write+read)" "$(floor_cell client)" \
		"$(us "${NS_PER[client baseline]:-}")" "$(us "${NS_PER[client kspan]:-}")" \
		"-" "" "<= 1.0"
	result "1" "BPF us per request, both sides traced" "$(floor_cell both)" \
		"$(us "${NS_PER[both baseline]:-}")" "$(us "${NS_PER[both kspan]:-}")" \
		"-" "" "<= 2.0"
	[ -n "$floor" ] && result "1f" "floor: two empty programs on sys_enter/sys_exit, BPF us per exchange (idle)" \
		"-" "" "$(us "${NS_PER[server floor]:-}")" "-" "" "-"
	[ -n "${NS_PER[server socket-floor]:-}" ] && result "1f" \
		"floor, socket tracepoints (6.5+): two empty programs on sock_send/recv_length (idle)" \
		"-" "" "$(us "${NS_PER[server socket-floor]}")" "-" "" "-"
	if [ "$BPF_LOAD_SECONDS" != 0 ]; then
		result "1L" "under load: BPF us per request, nginx --pid (saturated by wrk)" \
			"$(floor_cell "load nginx")" \
			"$(us "${NS_PER[load nginx baseline]:-}")" "$(us "${NS_PER[load nginx kspan]}")" \
			"-" "" "<= 1.0"
		result "1L" "under load: BPF us per request, wrk side (every process - nginx)" "-" \
			"$(us "${NS_PER[load client baseline]:-}")" "$(us "${NS_PER[load client kspan]}")" \
			"-" "" "<= 1.0"
		result "1L" "under load: BPF us per request, every process traced" \
			"$(floor_cell "load all")" \
			"$(us "${NS_PER[load all baseline]:-}")" "$(us "${NS_PER[load all kspan]}")" \
			"-" "" "<= 2.0"
		[ -n "$floor" ] && result "1f" "floor under load: empty programs, BPF us per nginx request" \
			"-" "" "$(us "${NS_PER[load nginx floor]:-}")" "-" "" "-"
		[ -n "${NS_PER[load nginx socket-floor]:-}" ] && result "1f" \
			"floor under load, socket tracepoints (6.5+): empty programs, BPF us per nginx request" \
			"-" "" "$(us "${NS_PER[load nginx socket-floor]}")" "-" "" "-"
	fi
	kept_or_removed
}

main "$@"
