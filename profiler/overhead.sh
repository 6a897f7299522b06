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
#
# PAIRED=1 profiler/overhead.sh [BUILD [R [N]]] (root) traces that program with
# heed-trace -p, --ops and then --func heed_get (VARIANTS; "self": no tracer, the
# program sets the semaphore, the library's own share), and the program runs R
# pairs (default 100) of N gets (default 20,000), the semaphore as the tracer set it in
# one and cleared in the other, in turn; prints the medians of its untraced CPU time a
# get and of the pairs' differences. On a VM whose neighbours come and go, pairs a few
# milliseconds apart in one process agree where whole runs one after another do not.
set -u
B=$(cd "${1:-build}" && pwd)
R=${2:-5}
N=${3:-1000000}
LOAD=$B/bin/heed-load
W=$(mktemp -d /tmp/heed-overhead.XXXXXX)
trap 'rm -rf "$W"' EXIT
# The gets program of ICOUNT and PAIRED: 100,000 keys put, then random gets in read
# txns of 1,000 (as heed-load's). "gets DIR 0|1 N": N gets with the ops__batch
# semaphore at 0 or 1, set by the program as a tracer sets it. "gets DIR paired N R
# PIDFILE": waits for a tracer to set the semaphore ("self" for paired: sets it to 1
# itself), then R pairs of N gets, one with the semaphore as set and one with it at 0,
# in alternating order; prints each pair's thread CPU time per get, "off on" in ns.
gets_prog() {
	cat >"$W/gets.c" <<'EOF'
#include "heed.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
extern volatile unsigned short heed_ops__batch_semaphore;
static heed_txn *txn;
static heed_dbi dbi;
static long keys = 100000, in_txn;
static unsigned long long x = 88172645463325252ULL;

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void gets(long n)
{
	char kb[17];
	heed_val k = {16, kb}, v;

	for (; n > 0; n--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		snprintf(kb, sizeof(kb), "%016llu", x % keys);
		if (heed_get(txn, dbi, &k, &v))
			exit(1);
		if (++in_txn == 1000) {
			heed_txn_reset(txn);
			if (heed_txn_renew(txn))
				exit(1);
			in_txn = 0;
		}
	}
}

int main(int argc, char **argv)
{
	char kb[17], vb[100] = {0};
	heed_val k = {16, kb}, v = {100, vb};
	heed_env *env;
	unsigned short on;
	double t[2];
	long i, n;
	int r, s;
	FILE *f;

	if ((argc != 4 && argc != 6) || heed_env_create(&env) ||
	    heed_env_set_mapsize(env, 1UL << 30) || heed_env_open(env, argv[1], HEED_NOSYNC, 0644) ||
	    heed_txn_begin(env, NULL, 0, &txn) || heed_dbi_open(txn, NULL, 0, &dbi))
		return 1;
	for (i = 0; i < keys; i++) {
		snprintf(kb, sizeof(kb), "%016ld", i);
		if (heed_put(txn, dbi, &k, &v, 0))
			return 1;
	}
	if (heed_txn_commit(txn) || heed_txn_begin(env, NULL, HEED_RDONLY, &txn))
		return 1;
	n = atol(argv[3]);
	if (argc == 4) {
		heed_ops__batch_semaphore = (unsigned short)atoi(argv[2]);
		gets(n);
		heed_txn_abort(txn);
		heed_env_close(env);
		return 0;
	}
	f = fopen(argv[5], "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f))
		return 1;
	if (!strcmp(argv[2], "self"))
		heed_ops__batch_semaphore = 1;
	for (i = 0; i < 600 && !heed_ops__batch_semaphore; i++)
		usleep(50000);
	on = heed_ops__batch_semaphore;
	if (!on)
		return 3;
	gets(n);
	for (r = 0; r < atoi(argv[4]); r++) {
		for (s = 0; s < 2; s++) {
			int traced = s ^ (r & 1);
			double t0;

			heed_ops__batch_semaphore = traced ? on : 0;
			t0 = cpu_ns();
			gets(n);
			t[traced] = (cpu_ns() - t0) / n;
		}
		printf("%.2f %.2f\n", t[0], t[1]);
	}
	/* The tracer takes its count back when it detaches. */
	heed_ops__batch_semaphore = on;
	heed_txn_abort(txn);
	heed_env_close(env);
	return 0;
}
EOF
	cc -O2 -I"$(dirname "$0")/../core" -o "$W/gets" "$W/gets.c" "$B/lib/libheed.a" -lpthread ||
		exit 1
}
icount() {
	local n=${1:-200000} s
	gets_prog
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
# PAIRED: the gets program traced with heed-trace -p for each variant, R pairs of N
# gets with the tracer's semaphore set and cleared in one process; the median of the
# pairs' differences. Pairs milliseconds apart see the same machine, which runs of
# whole processes one after another do not on a VM whose neighbours come and go.
paired() {
	local v d t
	gets_prog
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	for v in $VARIANTS; do
		d=$W/p.$v
		mkdir -p "$d/db"
		"$W/gets" "$d/db" "$([ "$v" = self ] && echo self || echo paired)" "$N" "$R" \
			"$d/pid" >"$d/out" &
		t=$!
		while [ ! -s "$d/pid" ]; do
			kill -0 "$t" 2>/dev/null || { echo "overhead.sh: the gets program did not start" >&2; exit 1; }
			sleep 0.05
		done
		case $v in
		self) ;;
		ops) "$B/bin/heed-trace" -p "$(cat "$d/pid")" --ops >/dev/null 2>&1 ;;
		func) "$B/bin/heed-trace" -p "$(cat "$d/pid")" --func heed_get >/dev/null 2>&1 ;;
		*) echo "overhead.sh: PAIRED=1 runs self, ops and func, not $v" >&2; exit 1 ;;
		esac
		wait "$t" || { echo "overhead.sh: the gets program failed under $v" >&2; exit 1; }
		sort -n -k1,1 "$d/out" | awk '{ print $1 }' >"$d/off"
		awk '{ print $2 - $1 }' "$d/out" | sort -n >"$d/diff"
		awk -v v="$v" -v n="$N" 'NR == FNR { off[FNR] = $1; no = FNR; next } { d[FNR] = $1; nd = FNR }
			END { u = off[int((no + 1) / 2)]; m = d[int((nd + 1) / 2)]
				printf "%-5s untraced %.1f ns/get, traced %+.1f ns (%+.1f%%): medians of %d pairs of %d gets\n", v, u, m, 100 * m / u, nd, n }' \
			"$d/off" "$d/diff"
	done
	echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
}
if [ "${ICOUNT:-0}" = 1 ]; then
	icount "${2:-}"
	exit 0
fi
if [ "${PAIRED:-0}" = 1 ]; then
	R=${2:-100}
	N=${3:-20000}
	VARIANTS=${VARIANTS:-"ops func"}
	paired
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
