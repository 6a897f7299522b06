#!/bin/bash
# heed-trace beyond one process: -a, -p A,B, --cgroup, --comm, --per-pid. Two known
# busy programs run: our hot (hot_a, hot_b) and Debian's python3.11 (a loop in
# spin(), run by _PyEval_EvalFrameDefault). -a shows both under their own names
# (the root frame) with their hot functions; -p A,B both and nothing else; a cgroup
# made here on the cgroup2 mount (found in /proc/self/mounts: hybrid hosts mount it
# at /sys/fs/cgroup/unified) with a second hot inside: only that one; --comm one
# name; filters combine; bad inputs are refused with a clear message.
# Usage: bash tests/t_trace_scope.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

PY=/usr/bin/python3.11
[ -x "$PY" ] || fail "$PY is missing (Debian's python3.11)"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CG2" ] || fail "no cgroup2 file system in /proc/self/mounts: --cgroup cannot be tested"
CG=$CG2/heed-trace-test.$$
pids=
cleanup() {
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill $pids 2>/dev/null
	wait 2>/dev/null
	[ -d "$CG" ] && rmdir "$CG"
	rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/spin.py" <<'PY'
def spin():
    n = 0
    while True:
        n += 1
spin()
PY
"$HOT" cpu 60 >/dev/null &
hot=$!
"$PY" "$T/spin.py" &
py=$!
mkdir "$CG" || fail "cannot make a cgroup at $CG"
# The inside process enters the cgroup before it execs hot: all its life is inside.
sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" cpu 60 >/dev/null' sh "$CG" "$HOT" &
inside=$!
pids="$hot $py $inside"
sleep 0.5
grep -qx "$inside" "$CG/cgroup.procs" || fail "pid $inside did not enter $CG"

# roots FILE: the root frames (process names) of a folded file, sorted, unique.
roots() { cut -d';' -f1 "$1" | sort -u | tr '\n' ' '; }
# has FILE ROOT FUNC: some stack under ROOT has FUNC.
has() { grep -q "^$2;.*$3" "$1"; }
trace() {
	"$TRACE" "$@" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "heed-trace $* failed"; }
}

trace -a -d 3 --folded "$T/all.folded" --json "$T/all.json"
assert_detached "-a"
has "$T/all.folded" hot 'hot_a' || fail "-a: no hot;...hot_a stack; roots: $(roots "$T/all.folded")"
has "$T/all.folded" python3.11 '_PyEval_EvalFrameDefault' ||
	fail "-a: no python3.11;..._PyEval_EvalFrameDefault stack; roots: $(roots "$T/all.folded")"
[ "$(json "$T/all.json" 'd["target"]["scope"]')" = "all tasks" ] || fail "-a: JSON target is not the scope"
# Per-process totals: every sample in one, hot and python3.11 among them.
[ "$(json "$T/all.json" 'sum(d["profile"]["by_process"].values()) == d["profile"]["samples"] and
	"hot" in d["profile"]["by_process"] and "python3.11" in d["profile"]["by_process"]')" = True ] ||
	fail "-a: JSON by_process is wrong: $(json "$T/all.json" 'd["profile"]["by_process"]')"
echo "ok: -a: $(roots "$T/all.folded")"

trace -p "$hot,$py" -d 2 --folded "$T/two.folded" --pprof "$T/two.pb.gz"
[ "$(roots "$T/two.folded")" = "hot python3.11 " ] ||
	fail "-p $hot,$py: roots are '$(roots "$T/two.folded")', not hot and python3.11 alone"
has "$T/two.folded" hot 'hot_a' || fail "-p A,B: no hot_a under hot"
has "$T/two.folded" python3.11 '_PyEval_EvalFrameDefault' || fail "-p A,B: python3.11 has no interpreter frames"
if command -v go >/dev/null; then
	go tool pprof -symbolize=none -raw "$T/two.pb.gz" >"$T/two.raw" 2>"$T/pprof.err" ||
		fail "go tool pprof -raw: $(cat "$T/pprof.err")"
	grep -q "process:\[hot\]" "$T/two.raw" && grep -q "pid:\[$py\]" "$T/two.raw" ||
		fail "--pprof: the samples lack the process and pid labels"
	echo "ok: --pprof labels the samples with process and pid"
else
	fail "go is missing: Debian's golang-go provides go tool pprof (sh ci/install-deps.sh)"
fi
echo "ok: -p A,B: $(roots "$T/two.folded")"

# Both hot processes are busy: --per-pid tells the one in the cgroup from the other.
trace --cgroup "$CG" --per-pid -d 2 --folded "$T/cg.folded"
[ "$(roots "$T/cg.folded")" = "hot-$inside " ] ||
	fail "--cgroup: roots are '$(roots "$T/cg.folded")', not hot-$inside alone"
has "$T/cg.folded" "hot-$inside" 'hot_a' || fail "--cgroup: no hot_a in the process inside"
echo "ok: --cgroup: $(roots "$T/cg.folded")"

trace -a --comm python3.11 -d 2 --folded "$T/comm.folded"
[ "$(roots "$T/comm.folded")" = "python3.11 " ] ||
	fail "--comm python3.11: roots are '$(roots "$T/comm.folded")'"
# Filters combine (AND): two processes, one name.
trace -p "$hot,$py" --comm hot --per-pid -d 2 --folded "$T/and.folded"
[ "$(roots "$T/and.folded")" = "hot-$hot " ] ||
	fail "-p A,B --comm hot: roots are '$(roots "$T/and.folded")', not hot-$hot"
echo "ok: --comm, and with -p"

expect_refused() {
	local msg=$1
	shift
	"$TRACE" "$@" -d 1 >"$T/out" 2>"$T/err" && fail "heed-trace $* was accepted"
	grep -qF -- "$msg" "$T/err" || fail "heed-trace $*: stderr lacks '$msg': $(cat "$T/err")"
}
expect_refused "-p 999999999: no such process" -p "$hot,999999999"
expect_refused "expected ID[,ID...]" -p "$hot,"
expect_refused "expected ID[,ID...]" -p "$hot,x"
expect_refused "not a cgroup v2 directory; cgroup2 is mounted at $CG2" --cgroup "$T"
expect_refused "No such file or directory" --cgroup "$CG2/no-such-cgroup"
expect_refused "an empty name matches no task" --comm ""
expect_refused "longer than the 15 bytes" --comm 0123456789abcdefg
expect_refused "give -a or -p, not both" -a -p "$hot"
expect_refused "--slow judges the operations of one process" -a --slow get:1ms
expect_refused "give one or the other" -a -- "$HOT" idle 1
assert_detached "refusals"
echo "t_trace_scope: ok"
