#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_nginx.sh - what kspan costs an nginx under load (issue 13, targets 2
# end to end, 3, 4 and 6). A benchmark, not a test: it reports numbers and
# never judges them.
#
# One nginx worker answers "ok" (keep-alive); wrk saturates it
# (-t BENCH_THREADS -c BENCH_CONNECTIONS) for BENCH_SECONDS per run. kspan
# exports OTLP/HTTP protobuf to a local sink that does not decode
# (otlp_sink.py --no-decode). Runs, in this order, each kspan build of the run
# (KSPAN_BASELINE first when set, then KSPAN) one after the other:
#   without kspan
#   floor  no kspan: two empty raw syscall tracepoint programs that compare
#          the process with the nginx worker and return (empty_hooks.bpf.c):
#          the share of target 3 that no kspan program change can remove on
#          a host without fentry or kprobes (every task takes the slow
#          syscall path, every syscall runs a program twice)
#   floor socket  the same compare on the socket layer's tracepoints
#          (sock_send_length, sock_recv_length; kernel 6.5+), which only
#          socket I/O passes: what a backend built on them would start from
#   without kspan, again ("without 2")
#   pid    kspan --pid <nginx worker>            (target 3; target 2 end to end)
#   without kspan, again ("without 3")
#   all    kspan tracing every process, wrk too  (target 4: two spans a request)
#   without kspan, again ("without 4")
#   gzip   as pid, OTEL_EXPORTER_OTLP_COMPRESSION=gzip   (target 6)
#   pinned: nginx alone on CPU 0 (taskset), wrk, kspan and the sink on CPU 1:
#     without kspan, pid, without kspan again      (target 3, pinned)
# Every run also reports the CPU us per request of the nginx worker and of
# wrk: with nginx pinned, wrk needs about as much CPU per request as nginx,
# so a pinned run is bound by CPU 1 (wrk, kspan and the sink) as soon as
# kspan's agent and the sink take CPU there; the nginx column is what kspan
# costs the traced server itself.
# Ratios divide by the mean of the two runs without kspan just around them:
# this machine kind drifts by a quarter within one bench (seen: 79.5k req/s
# without kspan at the start, 58.1k at the end), so each group of runs has
# its own pair. The "noise" line gives the smallest over the largest of all
# runs without kspan. For
# each kspan run: its CPU seconds during the load (utime+stime, all threads),
# per span (spans = requests x spans per request), the spans it exported
# against the requests wrk completed (wrk does not count the up to
# BENCH_CONNECTIONS requests in flight when it stops, which nginx answered;
# with every process traced, the sink's own requests are traced too), and
# every drop counter that is not zero.
#
# Environment: bench_lib.sh's (KSPAN, KSPAN_BASELINE, BENCH_SECONDS,
# BENCH_RESULTS, BENCH_KEEP), BENCH_CONNECTIONS (16), BENCH_THREADS (1),
# KSPAN_ARGS (extra agent options for every kspan run), BENCH_PERF=1 (a perf
# profile of kspan during the "pid kspan" run, printed at the end: perf's own
# cost is in that run's figures; BENCH_PERF_MODE=all profiles the "all kspan"
# run instead), BENCH_MODES (the kspan runs, "pid all gzip"; e.g. "all" for
# target 4 alone), BENCH_PINNED=0 (no pinned phase). Needs root, nginx, wrk, curl, python3,
# taskset; perf for BENCH_PERF.
set -euo pipefail
BENCH_NAME=bench_nginx
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-16}
BENCH_THREADS=${BENCH_THREADS:-1}
KSPAN_ARGS=${KSPAN_ARGS:-}
EMPTY_HOOKS=${EMPTY_HOOKS:-build/bench/empty_hooks}
# Per run label: the figures of the report.
declare -A RPS REQ P50 P99 ERR CPU CPU_US SPANS CHECK DROPS STATE NGINX_US WRK_US SINK_US RING
# Per group of runs (floor, pid, all): the mean req/s of the runs without
# kspan just before and after it.
declare -A BASE
RUNS=()
WRK_CPU='' # taskset CPU of wrk in the pinned phase

# Also sets R_NGINX_CPU: the worker's CPU seconds during the load.
load() {
	local before
	before=$(run_seconds "$WORKER")
	run_wrk "$1" "$URL" "$BENCH_THREADS" "$BENCH_CONNECTIONS" "$WRK_CPU"
	R_NGINX_CPU=$(awk -v a="$before" -v b="$(run_seconds "$WORKER")" 'BEGIN { print b - a }')
}

# us of CPU per request: per_request SECONDS REQUESTS.
per_request() {
	awk -v c="${1:-}" -v n="${2:-0}" 'BEGIN { if (c != "" && n > 0) printf "%.2f", c * 1e6 / n; else print "?" }'
}

keep_row() {
	local label=$1
	RUNS+=("$label")
	RPS[$label]=${R_RPS:-0} REQ[$label]=${R_REQUESTS:-0} P50[$label]=${R_P50:-?}
	P99[$label]=${R_P99:-?} ERR[$label]=${R_ERRORS:-?}
	NGINX_US[$label]=$(per_request "${R_NGINX_CPU:-}" "${R_REQUESTS:-0}")
	WRK_US[$label]=$(per_request "${R_WRK_CPU:-}" "${R_REQUESTS:-0}")
}

run_without() {
	local label=$1
	clear_results
	load "$TMP/$label.out"
	keep_row "$label"
}

# The floor run: the empty hooks attached, nothing else (see the header).
# run_floor LABEL MODE (empty_hooks' syscall or socket)
run_floor() {
	local label=$1 mode=$2 log="$TMP/${1// /-}.stderr"
	clear_results
	if ! start_kspan "$EMPTY_HOOKS" "$log" "$EMPTY_HOOKS.bpf.o" "$WORKER" "$mode"; then
		keep_row "$label"
		STATE[$label]="did not start"
		return 0
	fi
	load "$TMP/$label.out"
	stop_kspan
	keep_row "$label"
	STATE[$label]="exit $K_EXIT"
}

# run_with LABEL BINARY MODE: MODE pid, all or gzip (see the header).
run_with() {
	local label=$1 bin=$2 mode=$3 log="$TMP/$1.kspan.stderr" args=() per_request=1
	local cpu_before sink_before exported extra
	local KSPAN_ENV=''
	case $mode in
	pid) args=(--pid "$WORKER") ;;
	gzip)
		args=(--pid "$WORKER")
		KSPAN_ENV=OTEL_EXPORTER_OTLP_COMPRESSION=gzip
		;;
	all) per_request=2 ;;
	esac
	clear_results
	# shellcheck disable=SC2086 # KSPAN_ARGS is a list of options
	if ! start_kspan "$bin" "$log" --exporter otlp --otlp-endpoint "$SINK_URL" \
		--metrics-addr '' "${args[@]}" $KSPAN_ARGS; then
		keep_row "$label"
		STATE[$label]="did not start"
		return 0
	fi
	sink_before=$(sink_stat requests)
	cpu_before=$(cpu_seconds "$KSPAN_PID")
	local sink_cpu_before
	sink_cpu_before=$(run_seconds "$SINK_PID")
	local perf_pid=''
	if [ "${BENCH_PERF:-0}" = 1 ] && [ "$label" = "${BENCH_PERF_MODE:-pid} kspan" ]; then
		perf record -q -F 999 -g -p "$KSPAN_PID" -o "$TMP/perf.data" -- sleep "$BENCH_SECONDS" \
			>/dev/null 2>&1 &
		perf_pid=$!
	fi
	load "$TMP/$label.out"
	[ -n "$perf_pid" ] && wait "$perf_pid"
	CPU[$label]=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$KSPAN_PID")" \
		'BEGIN { printf "%.2f", b - a }')
	local sink_cpu
	sink_cpu=$(awk -v a="$sink_cpu_before" -v b="$(run_seconds "$SINK_PID")" 'BEGIN { print b - a }')
	stop_kspan
	keep_row "$label"
	STATE[$label]="exit $K_EXIT"
	CPU_US[$label]=$(awk -v c="${CPU[$label]}" -v n="${REQ[$label]}" -v k="$per_request" \
		'BEGIN { if (n > 0) printf "%.2f", c * 1e6 / (n * k); else print "?" }')
	SINK_US[$label]=$(awk -v c="$sink_cpu" -v n="${REQ[$label]}" -v k="$per_request" \
		'BEGIN { if (n > 0) printf "%.2f", c * 1e6 / (n * k); else print "?" }')
	exported=$(counter "$log" spans_exported)
	SPANS[$label]=$exported
	DROPS[$label]=$(drops_of "$log")
	# How full the ring buffer came (builds that report it).
	local peak missed
	peak=$(counter "$log" ringbuf_waiting_bytes_max)
	missed=$(counter "$log" ringbuf_wakeups_missed)
	if [ "$peak" != '?' ]; then
		RING[$label]=$(awk -v p="$peak" -v m="$missed" \
			'BEGIN { printf "at most %.1f MiB waiting when read, %s wake-ups missed", p / 1048576, m }')
	fi
	# Spans beyond requests x spans per request: the requests in flight when
	# wrk stopped, and with every process traced, the sink's own.
	extra=$((per_request * BENCH_CONNECTIONS))
	[ "$mode" = all ] && extra=$((extra + $(sink_stat requests) - sink_before))
	CHECK[$label]=$(awk -v s="$exported" -v n="${REQ[$label]}" -v k="$per_request" \
		-v x="$extra" 'BEGIN { if (s !~ /^[0-9]+$/) { print "?"; exit }
			d = s - n * k; printf "%s%+d", (d >= 0 && d <= x) ? "ok " : "MISSING ", d }')
}

print_runs() {
	local label
	echo
	echo "kspan nginx benchmark: ${BENCH_SECONDS}s per run; $(nproc) CPUs, kernel $(uname -r)"
	echo "wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS, keep-alive; nginx 1 worker (pid $WORKER), 2-byte body;"
	echo "kspan: OTLP/HTTP protobuf to a sink that does not decode"
	for b in $(kspan_builds); do echo "  ${b%%=*}: ${b#*=}"; done
	echo
	printf '%-22s %9s %9s %7s %7s %5s %7s %8s %8s %8s %8s %10s %-12s %s\n' run requests req/s \
		p50ms p99ms err cpu_s "us/span" "sink_us" "nginx_us" "wrk_us" spans "spans-req" drops
	for label in "${RUNS[@]}"; do
		printf '%-22s %9s %9s %7s %7s %5s %7s %8s %8s %8s %8s %10s %-12s %s\n' "$label" \
			"${REQ[$label]}" "${RPS[$label]}" "${P50[$label]}" "${P99[$label]}" \
			"${ERR[$label]}" "${CPU[$label]:--}" "${CPU_US[$label]:--}" "${SINK_US[$label]:--}" \
			"${NGINX_US[$label]}" "${WRK_US[$label]}" "${SPANS[$label]:--}" \
			"${CHECK[$label]:--}" "${DROPS[$label]:-}${STATE[$label]:+ (${STATE[$label]})}"
	done
	for label in "${RUNS[@]}"; do
		if [ -n "${RING[$label]:-}" ]; then
			printf 'ring buffer, %s: %s\n' "$label" "${RING[$label]}"
		fi
	done
	echo "sink_us: CPU us per span of the OTLP sink (it shares the CPUs: its cost is not kspan's own)"
	echo "nginx_us, wrk_us: CPU us per request of the nginx worker and of wrk (a saturated run is"
	echo "bound by whichever CPU is full; pinned, wrk shares CPU 1 with kspan and the sink)"
}

# The summary rows: for each target, the kspan build's figure and, when
# there is one, the baseline build's.
summarize() {
	local base=${BASE[pid]:-} fbase=${BASE[floor]:-} abase=${BASE[all]:-} pbase b label
	pbase=$(mean "${RPS[pinned without]:-0}" "${RPS[pinned without again]:-0}")
	local -A v r
	for b in $(kspan_builds); do
		label=${b%%=*}
		v[pid.$label]=${RPS[pid $label]:-0} r[pid.$label]=$(ratio "${RPS[pid $label]:-0}" "$base")
		v[all.$label]=${RPS[all $label]:-0} r[all.$label]=$(ratio "${RPS[all $label]:-0}" "$abase")
		v[pin.$label]=${RPS[pinned pid $label]:-0}
		r[pin.$label]=$(ratio "${RPS[pinned pid $label]:-0}" "$pbase")
		v[cpu.$label]=${CPU_US[pid $label]:-?}
		v[gz.$label]=${CPU_US[gzip $label]:-?}
		r[gz.$label]=$(ratio "${CPU_US[gzip $label]:-0}" "${CPU_US[pid $label]:-0}")
		v[chk.$label]="${CHECK[pid $label]:-?}; drops ${DROPS[pid $label]:-?}"
		v[chka.$label]="${CHECK[all $label]:-?}; drops ${DROPS[all $label]:-?}"
		v[chkp.$label]="${CHECK[pinned pid $label]:-?}; drops ${DROPS[pinned pid $label]:-?}"
	done
	result "2" "agent CPU per span, us (nginx --pid, OTLP/HTTP protobuf)" "-" \
		"${v[cpu.baseline]:-}" "${v[cpu.kspan]}" "-" "" "<= 1.5"
	result "3" "nginx req/s, kspan --pid worker" "$base" "${v[pid.baseline]:-}" \
		"${v[pid.kspan]}" "${r[pid.kspan]}" "${r[pid.baseline]:-}" ">= 0.90"
	result "3" "  spans - requests; drops" "-" "${v[chk.baseline]:-}" "${v[chk.kspan]}" "-" "" \
		"ok, none"
	[ -n "${RPS[floor]:-}" ] && result "3f" "floor: empty syscall hooks, no kspan (req/s)" "$fbase" \
		"" "${RPS[floor]}" "$(ratio "${RPS[floor]}" "$fbase")" "" "-"
	[ -n "${RPS[floor socket]:-}" ] && result "3f" "floor: empty socket tracepoint hooks (6.5+)" \
		"$fbase" "" "${RPS[floor socket]}" "$(ratio "${RPS[floor socket]}" "$fbase")" "" "-"
	result "3p" "nginx req/s pinned (nginx CPU0; wrk, kspan, sink CPU1)" "$pbase" \
		"${v[pin.baseline]:-}" "${v[pin.kspan]}" "${r[pin.kspan]}" "${r[pin.baseline]:-}" ">= 0.95"
	result "3p" "  spans - requests; drops" "-" "${v[chkp.baseline]:-}" "${v[chkp.kspan]}" "-" "" \
		"ok, none"
	result "4" "nginx req/s, every process traced (2 spans/request)" "$abase" \
		"${v[all.baseline]:-}" "${v[all.kspan]}" "${r[all.kspan]}" "${r[all.baseline]:-}" ">= 0.85"
	result "4" "  spans - 2 x requests; drops" "-" "${v[chka.baseline]:-}" "${v[chka.kspan]}" "-" "" \
		"ok, none"
	result "6" "agent CPU per span with gzip, us (ratio: gzip / none)" "-" \
		"${v[gz.baseline]:-}" "${v[gz.kspan]}" "${r[gz.kspan]}" "${r[gz.baseline]:-}" "<= 2.0"
	echo
	printf '%-58s %s\n' "saturating, kspan --pid nginx / without:" "${r[pid.kspan]}"
	[ -n "${RPS[floor]:-}" ] && printf '%-58s %s\n' "saturating, empty syscall hooks (floor) / without:" \
		"$(ratio "${RPS[floor]}" "$fbase")"
	[ -n "${RPS[floor socket]:-}" ] && printf '%-58s %s\n' \
		"saturating, empty socket tracepoint hooks / without:" "$(ratio "${RPS[floor socket]}" "$fbase")"
	printf '%-58s %s\n' "saturating, every process traced / without:" "${r[all.kspan]}"
	printf '%-58s %s\n' "pinned, kspan --pid nginx / without:" "${r[pin.kspan]}"
	printf '%-58s %s\n' "noise: slowest / fastest run without kspan:" \
		"$(for label in "${RUNS[@]}"; do
			case $label in without*) echo "${RPS[$label]}" ;; esac
		done | awk 'NF { if (min == "" || $1 < min) min = $1;
			if ($1 > max) max = $1 } END { if (max > 0) printf "%.3f", min / max }')"
	if [ -n "$KSPAN_BASELINE" ]; then
		printf '%-58s %s %s %s\n' "baseline build, the same three:" "${r[pid.baseline]}" \
			"${r[all.baseline]}" "${r[pin.baseline]}"
	fi
}

main() {
	local b
	need_root
	command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
	command -v taskset >/dev/null || die "taskset not found: apt-get install util-linux"
	check_kspan_builds
	start_nginx
	start_sink
	note "nginx on $URL, OTLP sink on $SINK_URL"

	# Unreported warm-up: the first run after nginx starts is otherwise the slowest.
	BENCH_SECONDS=2 load "$TMP/warmup.out"
	run_without "without"
	local prev=without n=1
	if [ -x "$EMPTY_HOOKS" ]; then
		run_floor "floor" syscall
		run_floor "floor socket" socket
		n=2
		run_without "without $n"
		BASE[floor]=$(mean "${RPS[$prev]}" "${RPS[without $n]}")
		prev="without $n"
	else
		note "$EMPTY_HOOKS not built (make $EMPTY_HOOKS): no floor run"
	fi
	for mode in ${BENCH_MODES:-pid all gzip}; do
		for b in $(kspan_builds); do
			run_with "$mode ${b%%=*}" "${b#*=}" "$mode"
		done
		# gzip's ratio is against pid (CPU per span): no pair of its own.
		[ "$mode" = gzip ] && continue
		n=$((n + 1))
		run_without "without $n"
		BASE[$mode]=$(mean "${RPS[$prev]}" "${RPS[without $n]}")
		prev="without $n"
	done

	if [ "${BENCH_PINNED:-1}" = 0 ]; then
		note "BENCH_PINNED=0: no pinned runs"
	elif [ "$(nproc)" -ge 2 ]; then
		taskset -a -p -c 0 "$NGINX_PID" >/dev/null
		taskset -a -p -c 0 "$WORKER" >/dev/null
		taskset -a -p -c 1 "$SINK_PID" >/dev/null
		WRK_CPU=1
		run_without "pinned without"
		for b in $(kspan_builds); do
			KSPAN_CPU=1 run_with "pinned pid ${b%%=*}" "${b#*=}" pid
		done
		run_without "pinned without again"
	else
		note "one CPU: no pinned runs"
	fi
	print_runs
	summarize
	if [ -s "$TMP/perf.data" ]; then
		echo
		echo "where kspan's CPU goes (perf, the '${BENCH_PERF_MODE:-pid} kspan' run; functions >= 1% of samples, self):"
		perf report -i "$TMP/perf.data" --stdio --no-children --percent-limit 1 -g none \
			2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
	fi
	kept_or_removed
}

main "$@"
