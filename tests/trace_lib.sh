# trace_lib.sh - shared by tests/t_trace*.sh (sourced, not a test itself).
# Sets B (build dir), TRACE, HOT, LOAD, T (a temp dir removed on exit) and helpers.
B=${1:-build}
TRACE=$B/bin/heed-trace
HOT=$B/tests/progs/hot
LOAD=$B/bin/heed-load
OUR_PROGS='heed_profile|heed_offcpu|heed_ops_batch|heed_ops_pid|heed_usdt_hit|heed_usdt_pid|heed_func_entry|heed_func_exit|heed_fexit_pid|heed_func_batch|heed_fbatch_pid|heed_watch_exec|heed_watch_library|heed_slow_start|heed_slow_done|heed_slow_ustar|heed_slow_udone|heed_slow_slot|heed_wakeup'

fail() {
	echo "FAIL: $*"
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	fail "$0 traces real processes with BPF and needs root (run: sudo make test)"
fi
for x in "$TRACE" "$HOT" "$LOAD"; do
	[ -x "$x" ] || fail "$x is missing: build with make check"
done
command -v python3 >/dev/null || fail "python3 is needed to read heed-trace's JSON"
command -v bpftool >/dev/null || fail "bpftool is needed to check nothing stays attached"

T=$(mktemp -d /tmp/heed-trace-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

# Programs named like ours that no live process holds, as "id name" lines. Other
# tracers may run heed-trace at the same time: theirs are held through an fd of
# their process (a program or link fd, whose fdinfo names the prog_id).
orphans() {
	bpftool -j prog list 2>/dev/null | python3 -c '
import glob, json, re, sys
ours = re.compile(r"^(" + sys.argv[1] + r")$")
progs = [p for p in json.load(sys.stdin) if ours.match(p.get("name", ""))]
held = set()
if progs:
    for f in glob.glob("/proc/[0-9]*/fdinfo/*"):
        try:
            m = re.search(r"^prog_id:\s+(\d+)", open(f).read(), re.M)
        except OSError:
            continue
        if m:
            held.add(int(m.group(1)))
for p in progs:
    if p["id"] not in held:
        print(p["id"], p["name"])
' "$OUR_PROGS"
}

# Fails if a program of ours stays loaded with nobody holding it (a link keeps its
# program loaded). The kernel frees programs after their last fd closes,
# asynchronously: allow 5 s.
assert_detached() {
	i=0
	while [ -n "$(orphans)" ]; do
		i=$((i + 1))
		if [ $i -gt 50 ]; then
			orphans
			fail "heed-trace left BPF programs loaded after: $1"
		fi
		sleep 0.1
	done
	echo "ok: nothing left attached after $1"
}

# json FILE EXPR: prints a Python expression over the document d.
json() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# pid_of NAME: waits (30 s at most) for the pid file $T/NAME.pid of a heed-load
# started with --pid-file (its output in $T/NAME.out) and sets pid from it.
pid_of() {
	i=0
	until [ -s "$T/$1.pid" ]; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "$1: heed-load wrote no pid file: $(cat "$T/$1.out")"
		sleep 0.1
	done
	# shellcheck disable=SC2034 # read by the tests that source this file
	pid=$(cat "$T/$1.pid")
}

# counts NAME: heed-load NAME's own op counts, as "get put del cursor commit sync".
counts() {
	grep '^{' "$T/$1.out" | python3 -c '
import json, sys
d = json.load(sys.stdin)["ops"]
print(" ".join(str(d[k]) for k in ("get", "put", "del", "cursor", "commit", "sync")))'
}

# wait_for PATTERN FILE WHAT: until FILE holds PATTERN (30 s at most; then WHAT failed).
# -s: the file may not exist yet (a background job's redirection races the first look).
wait_for() {
	i=0
	until grep -qs "$1" "$2"; do
		i=$((i + 1))
		[ $i -le 300 ] || { cat "$2"; fail "$3"; }
		sleep 0.1
	done
}

# wait_tracing ERRFILE: until heed-trace says it is tracing.
wait_tracing() { wait_for 'tracing' "$1" "heed-trace did not start"; }
