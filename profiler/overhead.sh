#!/bin/bash
# The overhead benchmark of profiler/README.md: CPU time per heed operation of
# heed-load readrandom (user+sys of heed-load / ops it ran, fill included), untraced
# and under each tracer attached by pid during heed-load's --wait-trace pause, in
# alternating rounds; prints the median per variant. CPU time, unlike throughput,
# does not count waiting for a CPU on a loaded machine. Needs root, bpftrace and a
# HEED_PROBES=0 build for the noprobes variant:
#   make HEED_PROBES=0 BUILD=build/noprobes build/noprobes/bin/heed-load
# Usage: sudo profiler/overhead.sh [BUILD [ROUNDS [N]]]
# (VARIANTS="untraced ops" to run a subset.) Each variant after untraced also
# gets the median of its per-round differences to untraced, and the load
# average is printed before and after: on a shared machine, state it.
set -u
B=$(cd "${1:-build}" && pwd)
R=${2:-5}
N=${3:-1000000}
LOAD=$B/bin/heed-load
W=$(mktemp -d /tmp/heed-overhead.XXXXXX)
trap 'rm -rf "$W"' EXIT
pairs() { # bpftrace: start/done of get and put into hist(), as heed-trace --usdt does
	local p=usdt:$LOAD:heed
	printf '%s:get__start { @s[tid] = nsecs; } %s:get__done /@s[tid]/ { @get = hist(nsecs - @s[tid]); delete(@s[tid]); } ' "$p" "$p"
	printf '%s:put__start { @p[tid] = nsecs; } %s:put__done /@p[tid]/ { @put = hist(nsecs - @p[tid]); delete(@p[tid]); }' "$p" "$p"
}
run() {
	local d bin=$LOAD pid tp
	d=$(mktemp -d "$W/run.XXXXXX")
	[ "$1" = noprobes ] && bin=$B/noprobes/bin/heed-load
	/usr/bin/time -f "%U %S" -o "$d/time" "$bin" -w readrandom -n "$N" --wait-trace 1 \
		--pid-file "$d/pid" --json "$d/e" >"$d/out" &
	tp=$!
	while [ ! -s "$d/pid" ]; do
		kill -0 "$tp" 2>/dev/null || { echo "overhead.sh: $bin did not start: $(cat "$d/time" "$d/out" 2>/dev/null)" >&2; exit 1; }
		sleep 0.05
	done
	pid=$(cat "$d/pid")
	case $1 in
	ops) "$B/bin/heed-trace" -p "$pid" --ops >/dev/null 2>&1 ;;
	usdtpairs) "$B/bin/heed-trace" -p "$pid" --usdt 'heed:get*' --usdt 'heed:put*' >/dev/null 2>&1 ;;
	bpftrace) bpftrace -p "$pid" -e "$(pairs)" >/dev/null 2>&1 ;;
	profile) "$B/bin/heed-trace" -p "$pid" --profile >/dev/null 2>&1 ;;
	profilefp) "$B/bin/heed-trace" -p "$pid" --profile --unwind fp >/dev/null 2>&1 ;;
	func) "$B/bin/heed-trace" -p "$pid" --func heed_get >/dev/null 2>&1 ;;
	esac
	wait "$tp"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
u, s = map(float, open(sys.argv[2]).read().split()[-2:])
print("%.1f" % ((u + s) * 1e9 / (d["measured_ops"] + d.get("fill", {}).get("ops", 0))))' \
		"$d/out" "$d/time"
	rm -rf "$d"
}
VARIANTS=${VARIANTS:-"noprobes untraced ops usdtpairs bpftrace profile func"}
case " $VARIANTS " in
*" noprobes "*)
	[ -x "$B/noprobes/bin/heed-load" ] || {
		echo "overhead.sh: $B/noprobes/bin/heed-load is missing: make HEED_PROBES=0 BUILD=$B/noprobes $B/noprobes/bin/heed-load" >&2
		exit 1
	}
	;;
esac
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Each round starts one variant later than the one before: no variant always runs
# first (after the pause of the previous round) or last.
read -ra vs <<<"$VARIANTS"
for i in $(seq "$R"); do
	for j in "${!vs[@]}"; do
		v=${vs[$(((i + j) % ${#vs[@]}))]}
		run "$v" >>"$W/$v"
	done
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# Against untraced, the median of the differences within a round: a busy machine
# shifts whole rounds, which the pairing cancels.
for v in $VARIANTS; do
	d=
	if [ "$v" != untraced ] && [ -s "$W/untraced" ]; then
		d=$(paste "$W/$v" "$W/untraced" | awk '{print $1 - $2}' | median)
		d=$(printf '  %+7.1f ns vs untraced (median of paired rounds)' "$d")
	fi
	printf '%-10s median %7.1f ns CPU/op%s  (runs: %s)\n' "$v" "$(median <"$W/$v")" "$d" \
		"$(tr '\n' ' ' <"$W/$v")"
done
