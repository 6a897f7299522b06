#!/bin/bash
# Benchmark of heed-flame on a synthetic profile: STACKS unique stacks, 30 frames deep
# (heed-gen-folded, seeded), rendered RUNS times; prints the median wall time and the
# CPU time (user + sys, less sensitive to a busy machine), the median peak RSS from
# /usr/bin/time, and the SVG size. Given the path of Brendan Gregg's flamegraph.pl
# (not packaged in Debian: a checkout of github.com/brendangregg/FlameGraph), it also
# renders the same input once with it in the same run, prints both CPU times and the
# ratio, and checks that both draw the same frames (every <title>: name, count, share).
# Usage: bash flame/bench.sh [BUILD] [RUNS] [STACKS] [FLAMEGRAPH.PL]
#   e.g. bash flame/bench.sh build 7                       (200,000 stacks)
#        bash flame/bench.sh build 7 50000 /tmp/fg/flamegraph.pl
set -eu
build=${1:-build}
runs=${2:-7}
stacks=${3:-200000}
fgpl=${4:-}
[ -x /usr/bin/time ] || { echo "flame/bench.sh: /usr/bin/time is missing (Debian package time)" >&2; exit 1; }
for b in heed-flame heed-gen-folded; do
	[ -x "$build/bin/$b" ] || { echo "flame/bench.sh: $build/bin/$b is not built (run make)" >&2; exit 1; }
done
[ -z "$fgpl" ] || [ -r "$fgpl" ] || { echo "flame/bench.sh: $fgpl: not readable" >&2; exit 1; }
tmp=$(mktemp -d /tmp/flame-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$build/bin/heed-gen-folded" --stacks "$stacks" --depth 30 --seed 1 -o "$tmp/in.folded"
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
[ -n "$fgpl" ] || exit 0
/usr/bin/time -f '%e %M %U %S' -o "$tmp/t.pl" perl "$fgpl" "$tmp/in.folded" >"$tmp/pl.svg" 2>"$tmp/pl.err"
read -r pw pm pu ps <"$tmp/t.pl"
pc=$(awk -v u="$pu" -v s="$ps" 'BEGIN { print u + s }')
echo "flamegraph.pl: ${pw} s wall, ${pc} s CPU, peak RSS $((pm / 1024)) MiB"
awk -v pc="$pc" -v c="$c" -v pw="$pw" -v t="$t" 'BEGIN {
	printf "ratio: %.1fx by CPU time, %.1fx by wall time (flamegraph.pl / heed-flame median)\n",
	       pc / c, pw / t }'
grep -o '<title>[^<]*</title>' "$tmp/pl.svg" | sort >"$tmp/pl.titles"
grep -o '<title>[^<]*</title>' "$tmp/out.svg" | sort >"$tmp/heed.titles"
if cmp -s "$tmp/pl.titles" "$tmp/heed.titles"; then
	echo "same frames: $(wc -l <"$tmp/heed.titles") titles equal"
else
	echo "frames differ: $(diff "$tmp/pl.titles" "$tmp/heed.titles" | grep -c '^[<>]') titles"
	exit 1
fi
