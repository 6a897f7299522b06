#!/bin/bash
# heed-trace -t TID: only that thread's stacks are sampled (filtered in the kernel). A
# Python process (Debian's python3.11) has a spinning thread and a main thread asleep
# in time.sleep: -t on the spinner gets its samples, -t on the sleeper (blocked in one
# sleep for the whole trace) gets no on-CPU sample and no off-CPU switch, although the
# spinner is preempted all the time; -t with the whole-process modes, with -p
# or on a missing thread is refused. Usage: bash tests/t_trace_tid.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

PY=/usr/bin/python3.11
[ -x "$PY" ] || fail "$PY is missing (Debian's python3.11)"
cat >"$T/threads.py" <<'PY'
import threading, time
def spin():
    print(threading.get_native_id(), flush=True)
    while True:
        pass
threading.Thread(target=spin, daemon=True).start()
time.sleep(60)
PY
"$PY" "$T/threads.py" >"$T/tid" &
py=$!
trap 'kill $py 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -s "$T/tid" ] && break; sleep 0.1; done
spinner=$(head -n 1 "$T/tid")
[ -n "$spinner" ] && [ "$spinner" != "$py" ] || fail "no spinning thread id from python ($spinner)"
samples() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["profile"]["samples"])' "$1"; }

# The spinner's own CPU time (utime + stime, in clock ticks) over the trace says how
# many samples 99 Hz should give, however loaded the machine is (it also ran while
# heed-trace attached, hence the wide lower bound).
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$py/task/$spinner/stat"; }
t0=$(ticks)
"$TRACE" -t "$spinner" -d 2 --json "$T/spin.json" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "-t spinner failed"; }
t1=$(ticks)
assert_detached "-t"
n=$(samples "$T/spin.json")
want=$(((t1 - t0) * 99 / $(getconf CLK_TCK)))
[ "$want" -ge 10 ] || fail "the spinner ran only $((t1 - t0)) ticks in 2 s: nothing to compare"
[ "$n" -ge $((want / 4)) ] && [ "$n" -le $((want * 3 / 2 + 10)) ] ||
	fail "-t on the spinning thread: $n samples, its CPU time says about $want at 99 Hz"
"$TRACE" -t "$py" --profile --offcpu -d 2 --json "$T/main.json" --folded "$T/main.folded" \
	>"$T/out" 2>"$T/err" || { cat "$T/err"; fail "-t main thread failed"; }
n=$(samples "$T/main.json")
[ "$n" -eq 0 ] || fail "-t on the sleeping main thread has $n on-CPU samples (the spinner's?)"
# Blocked in one sleep, the main thread never switches; the spinner is preempted
# often, and those switches must not show (in a file that is there: a missing one
# would say nothing).
[ -f "$T/main.folded.offcpu" ] || fail "-t main thread --profile --offcpu --folded F: no F.offcpu"
[ ! -s "$T/main.folded.offcpu" ] ||
	fail "-t on the sleeping main thread has off-CPU stacks: $(head -c 500 "$T/main.folded.offcpu")"

expect_refused() {
	local msg=$1
	shift
	"$TRACE" "$@" -d 1 >"$T/out" 2>"$T/err" && fail "heed-trace $* was accepted"
	grep -qF -- "$msg" "$T/err" || fail "heed-trace $*: stderr lacks '$msg': $(cat "$T/err")"
}
expect_refused "trace the whole process" -t "$spinner" --ops
expect_refused "trace the whole process" -t "$spinner" --func 'x*'
expect_refused "without -p or -- CMD" -t "$spinner" -p "$py"
expect_refused "no such thread" -t 999999999
expect_refused "not a thread id" -t abc
echo "t_trace_tid: ok (spinner $(samples "$T/spin.json") samples, its CPU time says $want; sleeper 0)"
