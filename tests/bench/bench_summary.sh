#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_summary.sh RESULTS - the one table of `make bench` (issue 13's
# targets), in Markdown, to paste into the README's "Performance" section.
# RESULTS holds the lines the benchmarks wrote with bench_lib.sh's result():
#   target|measure|without kspan|baseline build|kspan|ratio|baseline ratio|goal
# The baseline build's columns appear when KSPAN_BASELINE was set.
set -euo pipefail
results=$1
[ -s "$results" ] || {
	echo "bench_summary: no results in $results"
	exit 1
}
with_baseline=${KSPAN_BASELINE:+1}
echo
echo "## kspan targets (issue 13): $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r)"
echo
echo "kspan: ${KSPAN:-build/kspan}${KSPAN_BASELINE:+; baseline build: $KSPAN_BASELINE}"
echo "ratio: with kspan / without it (throughput rows), gzip / none (target 6)"
echo
if [ -n "$with_baseline" ]; then
	echo "| target | measure | without kspan | baseline build | kspan | ratio (baseline build) | ratio | goal |"
	echo "|---|---|---:|---:|---:|---:|---:|---|"
else
	echo "| target | measure | without kspan | kspan | ratio | goal |"
	echo "|---|---|---:|---:|---:|---|"
fi
while IFS='|' read -r target measure without base kspan ratio base_ratio goal; do
	if [ -n "$with_baseline" ]; then
		echo "| $target | $measure | $without | ${base:--} | $kspan | ${base_ratio:--} | $ratio | $goal |"
	else
		echo "| $target | $measure | $without | $kspan | $ratio | $goal |"
	fi
done < <(sort -s -t"|" -k1,1V "$results")
