#!/bin/bash
# The overhead benchmark of profiler/README.md: CPU time per heed operation of
# heed-load readrandom (user+sys of its measured phase, every thread, over the gets
# it ran: heed-load's cpu_seconds / measured_ops; a heed-load without cpu_seconds,
# an older build's, gives its whole run's over the gets), untraced and under each
# tracer attached by pid during heed-load's --wait-trace pause, in alternating
# rounds; prints the median per variant. CPU time, unlike throughput, does not
# count waiting for a CPU on a loaded machine. Needs root, bpftrace and a
# HEED_PROBES=0 build for the noprobes variant:
#   make HEED_PROBES=0 BUILD=build/noprobes build/noprobes/bin/heed-load
# Usage: sudo profiler/overhead.sh [BUILD [ROUNDS [N]]]
# (VARIANTS="untraced ops" to run a subset; "slow", --slow get:p99 with the
# --profile --offcpu it implies, is not in the default set.) Each variant after
# untraced also gets the median of its per-round differences to untraced, and the
# load average is printed before and after: on a shared machine, state it.
# CONCURRENT=1 runs a round's variants at the same time, each heed-load traced by its
# own tracer, instead of one after another: the swings of a busy machine, which move
# CPU time per op by +-25% here from one run to the next, then hit the variants of a
# round alike, and their paired differences are what is left. Not for variants whose
# cost grows with context switches (slow, with its --offcpu): the variants sharing
# two CPUs switch more than a lone run does.
#
# ICOUNT=1 profiler/overhead.sh [BUILD [N]] counts instructions instead (callgrind,
# deterministic, no root): N gets (default 200,000) of a small program linked with
# BUILD's libheed.a, untraced and with heed:ops__batch's semaphore set by the
# program itself, as a tracer sets it: the library's own cost of a traced op.
set -u
B=$(cd "${1:-build}" && pwd)
R=${2:-5}
N=${3:-1000000}
LOAD=$B/bin/heed-load
W=$(mktemp -d /tmp/heed-overhead.XXXXXX)
trap 'rm -rf "$W"' EXIT
icount() {
	local n=${1:-200000} s
	cat >"$W/gets.c" <<'EOF'
#include "heed.h"
#include <stdio.h>
#include <stdlib.h>
extern unsigned short heed_ops__batch_semaphore;
int main(int argc, char **argv)
{
	heed_env *env;
	heed_txn *txn;
	heed_dbi dbi;
	char kb[17];
	long i, keys = 100000;
	unsigned long long x = 88172645463325252ULL;
	heed_val k = {16, kb}, v = {16, kb};

	if (argc != 4 || heed_env_create(&env) || heed_env_set_mapsize(env, 1UL << 30) ||
	    heed_env_open(env, argv[1], HEED_NOSYNC, 0644) || heed_txn_begin(env, NULL, 0, &txn) ||
	    heed_dbi_open(txn, NULL, 0, &dbi))
		return 1;
	for (i = 0; i < keys; i++) {
		snprintf(kb, sizeof(kb), "%016ld", i);
		if (heed_put(txn, dbi, &k, &v, 0))
			return 1;
	}
	if (heed_txn_commit(txn) || heed_txn_begin(env, NULL, HEED_RDONLY, &txn))
		return 1;
	heed_ops__batch_semaphore = (unsigned short)atoi(argv[2]);
	for (i = 0; i < atol(argv[3]); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		snprintf(kb, sizeof(kb), "%016llu", x % keys);
		if (heed_get(txn, dbi, &k, &v))
			return 1;
	}
	heed_txn_abort(txn);
	heed_env_close(env);
	return 0;
}
EOF
	cc -O2 -I"$(dirname "$0")/../core" -o "$W/gets" "$W/gets.c" "$B/lib/libheed.a" -lpthread ||
		exit 1
	for s in 0 1; do
		mkdir "$W/db$s"
		valgrind --tool=callgrind --callgrind-out-file="$W/cg$s" "$W/gets" "$W/db$s" $s "$n" \
			2>"$W/vg$s" || {
			cat "$W/vg$s" >&2
			# valgrind runs a copy of the code: an int3 a uprobe wrote into it
			# (a tracer's system-wide probe on ld.so, say) stops it.
			grep -q SIGTRAP "$W/vg$s" &&
				echo "overhead.sh: valgrind hit a breakpoint: another tracer has a uprobe on code it ran; run again when that is gone" >&2
			exit 1
		}
		sed -n 's/^summary: //p' "$W/cg$s" >"$W/ir$s"
	done
	awk -v n="$n" 'NR == FNR { u = $1; next }
		{ printf "instructions, whole run: untraced %d, ops__batch semaphore set %d: +%.2f a traced get\n", u, $1, ($1 - u) / n }' \
		"$W/ir0" "$W/ir1"
}
if [ "${ICOUNT:-0}" = 1 ]; then
	icount "${2:-}"
	exit 0
fi
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
	slow) "$B/bin/heed-trace" -p "$pid" --slow get:p99 >/dev/null 2>&1 ;;
	esac
	wait "$tp"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
u, s = map(float, open(sys.argv[2]).read().split()[-2:])
print("%.1f" % (d.get("cpu_seconds", u + s) * 1e9 / d["measured_ops"]))' \
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
		if [ "${CONCURRENT:-0}" = 1 ]; then
			run "$v" >"$W/$v.$i" &
		else
			run "$v" >>"$W/$v"
		fi
	done
	[ "${CONCURRENT:-0}" = 1 ] || continue
	wait
	for v in "${vs[@]}"; do
		[ -s "$W/$v.$i" ] || { echo "overhead.sh: round $i: $v gave no result" >&2; exit 1; }
		cat "$W/$v.$i" >>"$W/$v"
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
