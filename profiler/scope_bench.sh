#!/bin/bash
# scope_bench.sh - what heed-trace -a costs (a benchmark, not a test; root).
#   cpu BUILD [SEC]        -a at 99 Hz for SEC (default 30) seconds: heed-trace's own
#                          CPU while sampling (from /proc/PID/stat, the final
#                          symbolization excluded) and the BPF program's run time
#                          (kernel.bpf_stats_enabled, restored after), as shares of
#                          the machine (every CPU)
#   rss BUILD [SEC] [DIR]  -a -i 10 --out-dir DIR --keep 5 for SEC (default 600)
#                          seconds: resident memory every 10 s, and the files kept
#   churn BUILD [SEC]      -a -i 5 --out-dir for SEC (default 30) seconds while
#                          loops start short python3.11 and xz processes over and
#                          over (a build host's pattern): heed-trace's CPU seconds,
#                          and its symbol files loaded and addresses resolved
# Run it on a busy host: the cost of -a grows with the processes that run.
# ARGS adds heed-trace options (ARGS='--unwind fp').
set -eu
mode=${1:?usage: scope_bench.sh cpu|rss|churn BUILD [SEC] [DIR]}
B=${2:?usage: scope_bench.sh cpu|rss|churn BUILD [SEC] [DIR]}
TRACE=$B/bin/heed-trace
hz=$(getconf CLK_TCK)
ncpu=$(nproc)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

case $mode in
cpu)
	sec=${3:-30}
	old=$(sysctl -n kernel.bpf_stats_enabled)
	# shellcheck disable=SC2086 # ARGS: options, split
	"$TRACE" -a -d $((sec + 2)) ${ARGS:-} >/dev/null 2>&1 &
	pid=$!
	trap 'sysctl -qw kernel.bpf_stats_enabled=$old; kill $pid 2>/dev/null || true' EXIT
	sleep 2
	sysctl -qw kernel.bpf_stats_enabled=1
	t0=$(ticks $pid)
	sleep "$sec"
	t1=$(ticks $pid)
	# The heed_profile program of this heed-trace: the one its fds hold.
	prog=$(for f in "/proc/$pid"/fdinfo/*; do sed -n 's/^prog_id:\s*//p' "$f" 2>/dev/null; done | sort -u |
		while read -r id; do
			bpftool prog show id "$id" 2>/dev/null | grep -q 'name heed_profile' && echo "$id"
		done | head -n 1)
	run_ns=$(bpftool prog show id "$prog" | sed -n 's/.*run_time_ns \([0-9]*\) run_cnt \([0-9]*\).*/\1 \2/p')
	sysctl -qw kernel.bpf_stats_enabled="$old"
	wait $pid || true
	# shellcheck disable=SC2086 # two numbers
	set -- $run_ns
	awk -v t=$((t1 - t0)) -v hz="$hz" -v s="$sec" -v n="$ncpu" -v rt="$1" -v rc="$2" 'BEGIN {
		u = t / hz / s / n * 100; k = rt / 1e9 / s / n * 100
		printf "user space %.2f%%, BPF %.2f%% (%d runs, %.1f us each), total %.2f%% of %d CPUs\n",
			u, k, rc, rc ? rt / rc / 1e3 : 0, u + k, n }'
	;;
rss)
	sec=${3:-600}
	dir=${4:-$(mktemp -d /tmp/heed-scope-bench.XXXXXX)}
	# shellcheck disable=SC2086 # ARGS: options, split
	"$TRACE" -a -i 10 --out-dir "$dir" --keep 5 -d "$sec" ${ARGS:-} >/dev/null 2>&1 &
	pid=$!
	start=$(date +%s)
	while kill -0 $pid 2>/dev/null; do
		rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		[ -n "$rss" ] && echo "$(($(date +%s) - start)) s: rss ${rss} kB, cpu $(($(ticks $pid) / hz)) s"
		sleep 10
	done
	echo "files kept in $dir: $(find "$dir" -name 'heed-*.pb.gz' | wc -l) profiles"
	;;
churn)
	sec=${3:-30}
	dir=$(mktemp -d /tmp/heed-scope-bench.XXXXXX)
	mkdir "$dir/out"
	head -c 3000000 /dev/urandom >"$dir/in"
	(while :; do /usr/bin/python3.11 -c 'sum(range(400000))'; done) &
	l1=$!
	(while :; do xz -3 <"$dir/in" >/dev/null; done) &
	l2=$!
	trap 'kill $l1 $l2 2>/dev/null || true; rm -rf "$dir"' EXIT
	# shellcheck disable=SC2086 # ARGS: options, split
	/usr/bin/time -f '%U %S' -o "$dir/time" "$TRACE" -a -i 5 --out-dir "$dir/out" --keep 3 \
		-d "$sec" --json "$dir/json" ${ARGS:-} >/dev/null 2>"$dir/err" ||
		{ cat "$dir/err" >&2; exit 1; }
	# CPU time moves with whatever else the host runs; the loads and lookups do not.
	awk -v s="$sec" '{ printf "heed-trace: %.2f s user, %.2f s system in %d s; ", $1, $2, s }' "$dir/time"
	python3 -c 'import json, sys
y = json.load(open(sys.argv[1]))["symbols"]
print("files loaded %(files_loaded)d, shared %(files_shared)d; addresses resolved %(frames_resolved)d, shared %(frames_shared)d" % y)' "$dir/json"
	;;
*)
	echo "usage: scope_bench.sh cpu|rss|churn BUILD [SEC] [DIR]" >&2
	exit 2
	;;
esac
