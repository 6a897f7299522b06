# heed-trace's bad cases and exits: no such pid, a kernel thread, a zombie, unwritable
# outputs (refused before attaching), the command's exit status passed on, a -p
# target that execs (followed), unknown
# option, not root, a target without heed probes, a target that exits mid-trace (output still written and
# symbolized from the maps snapshot), SIGINT and SIGKILL. After each, nothing of ours
# stays attached. Usage: bash tests/t_trace_errors.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

expect_fail() { # expect_fail WHAT SENTENCE-PATTERN CMD...
	what=$1 pat=$2
	shift 2
	if "$@" >"$T/out" 2>"$T/err"; then
		fail "$what: exited 0"
	fi
	grep -q -- "$pat" "$T/err" || fail "$what: no sentence matching '$pat': $(cat "$T/err")"
	echo "ok: $what: $(head -n 1 "$T/err")"
}

# tracing PID ERRFILE: waits (30 s at most) until heed-trace PID says it attached,
# so a signal tests a trace that is running, not one still starting (before its
# handler is set, a background job ignores SIGINT). Empty ERRFILE before starting
# heed-trace: an earlier run's sentence would match at once.
tracing() {
	i=0
	until grep -q "heed-trace: tracing pid" "$2"; do
		kill -0 "$1" 2>/dev/null || fail "heed-trace ended before attaching: $(cat "$2")"
		i=$((i + 1))
		[ $i -le 300 ] || fail "heed-trace did not attach within 30 s: $(cat "$2")"
		sleep 0.1
	done
}

true &
gone=$!
wait $gone
expect_fail "no such pid" "pid $gone: no such process" "$TRACE" -p $gone -d 1
expect_fail "unknown option" "unknown option '--bogus'" "$TRACE" --bogus -p $$
expect_fail "bad -F" "expected a frequency" "$TRACE" -F zero -p $$
expect_fail "no target" "nothing to trace" "$TRACE" --profile
expect_fail "no such command" "no-such-command-here: cannot run: No such file" \
	"$TRACE" --profile -- no-such-command-here

# A kernel thread has no user space: --func says so, --profile records kernel stacks.
expect_fail "--func on a kernel thread" "pid 2 (kthreadd) is a kernel thread" "$TRACE" -p 2 --func 'x*' -d 1
"$TRACE" -p 2 --profile -d 0.3 --json "$T/k.json" >"$T/out" 2>"$T/err" ||
	fail "--profile of a kernel thread failed: $(cat "$T/err")"
grep -q "is a kernel thread: kernel stacks only" "$T/err" || fail "no sentence for a kernel thread: $(cat "$T/err")"
echo "ok: -p 2: $(head -n 1 "$T/err")"

# A zombie: sh execs sleep without reaping its first child.
sh -c 'true & exec sleep 30' &
parent=$!
zombie=
i=0
while [ -z "$zombie" ]; do
	for c in $(cat /proc/$parent/task/$parent/children 2>/dev/null); do
		[ "$(cut -d' ' -f3 /proc/$c/stat 2>/dev/null)" = Z ] && zombie=$c
	done
	i=$((i + 1))
	[ $i -le 300 ] || fail "no zombie child of pid $parent after 30 s"
	sleep 0.1
done
expect_fail "a zombie" "pid $zombie (.*) is a zombie" "$TRACE" -p $zombie -d 1
kill $parent
wait $parent 2>/dev/null

# Unwritable outputs are refused before attaching, not after the trace.
expect_fail "--json in a missing directory" "$T/none/x.json: cannot write: No such file" \
	"$TRACE" --profile --json "$T/none/x.json" -- "$HOT" cpu 5
grep -q "tracing pid" "$T/err" && fail "--json in a missing directory: reported only after attaching"
expect_fail "--folded on a directory" "$T: cannot write: Is a directory" \
	"$TRACE" --profile --folded "$T" -- "$HOT" cpu 5
grep -q "tracing pid" "$T/err" && fail "--folded on a directory: reported only after attaching"

# The command's exit status is passed on, 128 + the signal when one killed it.
for c in 'exit 7:7' 'kill -TERM $$:143'; do
	"$TRACE" --profile -- sh -c "${c%:*}" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = "${c#*:}" ] || fail "-- sh -c '${c%:*}': heed-trace exited $rc, expected ${c#*:}"
	echo "ok: -- sh -c '${c%:*}' exits $rc"
done

# --offcpu --folded F without --profile writes the off-CPU stacks to F, as --help says.
"$TRACE" --offcpu --folded "$T/off.folded" -- "$HOT" idle 0.3 >"$T/out" 2>"$T/err" ||
	fail "--offcpu --folded failed: $(cat "$T/err")"
grep -q 'clock_nanosleep\|schedule' "$T/off.folded" || fail "--offcpu --folded F: no off-CPU stacks in F"
[ ! -e "$T/off.folded.offcpu" ] || fail "--offcpu --folded F without --profile wrote F.offcpu"
"$TRACE" --help | grep -q 'off-CPU ones without' || fail "--help does not say where --offcpu --folded goes"
assert_detached "kernel thread, zombie, outputs and exit codes"

command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed for the not-root case"
chmod 755 "$T"
cp "$TRACE" "$T/heed-trace"
expect_fail "not root" "needs root or CAP_BPF and CAP_PERFMON" \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$T/heed-trace" -p $$ -d 1
assert_detached "the error cases"

# No heed probes: --ops alone fails saying so; the default modes still profile.
expect_fail "--ops without heed probes" "has no heed probes" "$TRACE" --ops -- "$HOT" cpu 0.2
"$TRACE" --json "$T/np.json" -- "$HOT" cpu 1 >"$T/out" 2>"$T/err" ||
	fail "default modes on a target without heed probes failed: $(cat "$T/err")"
grep -q "has no heed probes" "$T/err" || fail "--ops did not say the target has no heed probes"
[ "$(json "$T/np.json" 'd["profile"]["samples"] > 0 and d["ops_source"] == "none"')" = True ] ||
	fail "--profile did not go on without heed probes"
assert_detached "a target without heed probes"
echo "ok: no heed probes: --ops says so, --profile works"

# The target exits mid-trace: output is still written, symbols from the snapshot.
"$HOT" cpu 1 >/dev/null &
pid=$!
"$TRACE" -p $pid -d 60 --profile --json "$T/exit.json" --folded "$T/exit.folded" \
	>"$T/out" 2>"$T/err" || fail "tracing a pid that exits failed: $(cat "$T/err")"
wait $pid
grep -q 'hot_a' "$T/exit.folded" || fail "a process that exited was not symbolized"
dur=$(json "$T/exit.json" 'int(d["duration_s"])')
[ "$dur" -lt 60 ] || fail "heed-trace did not stop when its target exited"
assert_detached "the target exiting"
echo "ok: the target exited after ${dur}s; stacks symbolized from the snapshot"

# -p on a shell that execs the program once heed-trace has attached (it waits on a
# fifo, not on a clock): the exec is followed, the stacks carry the program's name and
# symbols (the shell's maps had neither).
mkfifo "$T/go"
sh -c "read x <'$T/go'; exec $HOT cpu 1" >/dev/null &
pid=$!
"$TRACE" -p $pid -d 60 --profile --folded "$T/exec.folded" >"$T/out" 2>"$T/err" &
tracer=$!
i=0
until grep -q "tracing pid $pid" "$T/err"; do
	i=$((i + 1))
	[ $i -le 600 ] || fail "heed-trace -p $pid did not attach in 60 s: $(cat "$T/err")"
	sleep 0.1
done
echo go >"$T/go"
wait $tracer || fail "tracing a shell that execs failed: $(cat "$T/err")"
wait $pid
grep -q "exec'd hot" "$T/err" || fail "-p did not report the shell's exec of hot: $(cat "$T/err")"
[ "$(cut -d';' -f1 "$T/exec.folded" | sort -u)" = hot ] ||
	fail "stacks after an exec are not labelled hot: $(cut -d';' -f1 "$T/exec.folded" | sort -u | tr '\n' ' ')"
grep -q 'hot_a' "$T/exec.folded" || fail "stacks after an exec were not symbolized"
assert_detached "-p on a shell that execs"
echo "ok: -p follows an exec: stacks labelled hot, hot_a symbolized"

# SIGINT ends the trace normally; SIGKILL leaves nothing attached either.
"$HOT" idle 30 >/dev/null &
pid=$!
: >"$T/err"
"$TRACE" -p $pid --profile --offcpu --json "$T/int.json" >"$T/out" 2>"$T/err" &
tr=$!
tracing $tr "$T/err"
kill -INT $tr
wait $tr || fail "heed-trace exited $? after SIGINT: $(cat "$T/err")"
[ "$(json "$T/int.json" 'd["target"]["pid"]')" = $pid ] || fail "no JSON written after SIGINT"
assert_detached "SIGINT"
: >"$T/err"
"$TRACE" -p $pid --profile --offcpu --func 'nanosleep' --usdt 'tprog:*' >/dev/null 2>"$T/err" &
tr=$!
tracing $tr "$T/err"
kill -KILL $tr
wait $tr 2>/dev/null
assert_detached "SIGKILL"
kill $pid
wait $pid 2>/dev/null
echo "ok: SIGINT writes the output, SIGKILL leaves nothing attached"
