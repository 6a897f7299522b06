#!/bin/bash
# Benchmark of heed-flame on a synthetic profile: 200,000 unique stacks, 30 frames deep
# (heed-gen-folded, seeded), rendered RUNS times; prints the median wall time and the
# CPU time (user + sys, less sensitive to a busy machine), the median peak RSS from
# /usr/bin/time, and the SVG size.
# Usage: bash flame/bench.sh [BUILD] [RUNS]   (e.g. bash flame/bench.sh build 7)
set -eu
build=${1:-build}
runs=${2:-7}
[ -x /usr/bin/time ] || { echo "flame/bench.sh: /usr/bin/time is missing (Debian package time)" >&2; exit 1; }
for b in heed-flame heed-gen-folded; do
	[ -x "$build/bin/$b" ] || { echo "flame/bench.sh: $build/bin/$b is not built (run make)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/flame-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$build/bin/heed-gen-folded" --stacks 200000 --depth 30 --seed 1 -o "$tmp/in.folded"
echo "input: $(wc -l <"$tmp/in.folded") stacks, $(($(wc -c <"$tmp/in.folded") / 1048576)) MiB"
"$build/bin/heed-flame" --verbose "$tmp/in.folded" 2>&1 >"$tmp/out.svg" | sed 's/^/  /'
for i in $(seq "$runs"); do
	/usr/bin/time -f '%e %M %U %S' -o "$tmp/t.$i" "$build/bin/heed-flame" "$tmp/in.folded" >"$tmp/out.svg"
	cat "$tmp/t.$i"
done >"$tmp/times"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
t=$(cut -d' ' -f1 "$tmp/times" | median)
m=$(cut -d' ' -f2 "$tmp/times" | median)
c=$(awk '{ print $3 + $4 }' "$tmp/times" | median)
echo "heed-flame: median of $runs runs: ${t} s wall, ${c} s CPU, peak RSS $((m / 1024)) MiB; SVG $(($(wc -c <"$tmp/out.svg") / 1024)) KiB"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "all runs (wall s, peak KiB, user s, sys s): $(tr '\n' ';' <"$tmp/times")"
