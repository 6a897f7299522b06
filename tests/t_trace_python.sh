# heed-trace on Debian's python3.11, counted against bpftrace attached to the same
# process at the same time: nested USDT start/done pairs (import__find__load nests 7
# deep for "import json") are all timed, with no errors (a probe that is not heed's
# has no error convention) and nothing lost; overlapping --usdt and --func specs
# attach once per probe or function; an IFUNC (libc:strlen) is traced at the
# implementation the process uses; a command that execs python3.11 (as every
# pyenv/venv shim does) is followed, and a library it dlopens (import sqlite3) is
# attached before its first call. Usage: bash tests/t_trace_python.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

PY=/usr/bin/python3.11
[ -x $PY ] || fail "$PY is needed (Debian's python3.11: apt-get install python3.11)"
command -v bpftrace >/dev/null || fail "bpftrace is needed to compare counts (apt-get install bpftrace)"

# traced_pair NAME PYCODE BPFTRACE-PROG HEED-TRACE-ARGS...: runs python3.11 -c PYCODE
# held (before PYCODE) until bpftrace and heed-trace are both attached to it, then
# lets it run to its end. Leaves $T/NAME.bt (bpftrace's maps) and $T/NAME.json.
# BTFLAGS: more bpftrace options; PID in BPFTRACE-PROG becomes python's pid. Every
# uprobe in BPFTRACE-PROG needs /pid == PID/: bpftrace -p filters its USDT probes but
# not a probe on an address, which counts every process running that file (other
# python3.11 processes on the machine), where heed-trace counts only python's.
traced_pair() {
	name=$1 code=$2 prog=$3
	shift 3
	rm -f "$T/go" "$T/ready"
	mkfifo "$T/go"
	$PY -c "import sys; open(sys.argv[2], 'w').close(); open(sys.argv[1]).read(1)
$code" "$T/go" "$T/ready" >/dev/null &
	py=$!
	i=0
	until [ -e "$T/ready" ]; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "$name: python3.11 did not start within 30 s"
		sleep 0.1
	done
	# BEGIN fires once every probe is attached.
	bpftrace $BTFLAGS -p $py -e "BEGIN { printf(\"bpftrace ready\\n\"); } ${prog//PID/$py}" >"$T/$name.bt" 2>&1 &
	bt=$!
	if [ $# -gt 0 ]; then
		"$TRACE" -p $py "$@" --json "$T/$name.json" >"$T/$name.out" 2>"$T/$name.err" &
		ht=$!
	else
		# bpftrace alone: its count is the reference for a heed-trace -- CMD run.
		true &
		ht=$!
		echo "tracing pid (none)" >"$T/$name.err"
	fi
	i=0
	until grep -q "bpftrace ready" "$T/$name.bt" && grep -q "tracing pid" "$T/$name.err"; do
		kill -0 $bt 2>/dev/null || { kill $py; fail "$name: bpftrace ended: $(cat "$T/$name.bt")"; }
		[ $# -eq 0 ] || kill -0 $ht 2>/dev/null ||
			{ kill $py; fail "$name: heed-trace ended: $(cat "$T/$name.err")"; }
		i=$((i + 1))
		[ $i -le 600 ] || { kill $py; fail "$name: tracers did not attach within 60 s"; }
		sleep 0.1
	done
	echo go >"$T/go"
	wait $py || fail "$name: python3.11 failed"
	wait $ht || fail "$name: heed-trace failed: $(cat "$T/$name.err")"
	wait $bt
	assert_detached "$name"
}

# bt NAME MAP: the value of bpftrace's @MAP in $T/NAME.bt.
bt() {
	sed -n "s/^@$2: \([0-9]*\)$/\1/p" "$T/$1.bt"
}

usdt() { echo "usdt:$PY:python:$1"; }

# 1. Nested pairs: every start and done of "import json" pairs up.
traced_pair nested "import json" \
	"$(usdt import__find__load__start) { @s = count(); } $(usdt import__find__load__done) { @d = count(); }" \
	--usdt 'python:import__find__load*'
s=$(bt nested s) d=$(bt nested d)
got=$(json "$T/nested.json" '"%d %d %d" % (d["usdt"]["python:import__find__load"]["count"], d["usdt"]["python:import__find__load"]["errors"], sum(d["lost"].values()))')
echo "import json: bpftrace starts $s dones $d; heed-trace pairs/errors/lost $got"
[ -n "$s" ] && [ "$s" -gt 7 ] && [ "$s" = "$d" ] || fail "bpftrace saw starts '$s' dones '$d'"
[ "$got" = "$s 0 0" ] || fail "nested pairs: heed-trace pairs/errors/lost $got, bpftrace $s pairs"
echo "ok: nested USDT pairs all timed, no errors, nothing lost"

# 2. Overlapping specs: three --usdt specs naming the same gc pair and two --func
# globs matching PyObject_Malloc attach once: counts equal bpftrace's, nothing lost.
traced_pair overlap "import gc
for i in range(50):
    gc.collect()
x = [str(i) * 3 for i in range(20000)]" \
	"$(usdt gc__start) { @s = count(); } $(usdt gc__done) { @d = count(); } uprobe:$PY:PyObject_Malloc /pid == PID/ { @m = count(); }" \
	--usdt python:gc__start --usdt python:gc__done --usdt 'python:gc*' \
	--func PyObject_Malloc --func 'PyObject_*alloc'
s=$(bt overlap s) d=$(bt overlap d) m=$(bt overlap m)
got=$(json "$T/overlap.json" '"%d %d %d" % (d["usdt"]["python:gc"]["count"], d["funcs"]["PyObject_Malloc"]["count"], sum(d["lost"].values()))')
echo "overlap: bpftrace gc starts $s dones $d, PyObject_Malloc $m; heed-trace gc pairs/PyObject_Malloc/lost $got"
[ -n "$s" ] && [ "$s" -ge 50 ] && [ "$s" = "$d" ] && [ -n "$m" ] && [ "$m" -ge 1 ] ||
	fail "bpftrace saw gc starts '$s' dones '$d', PyObject_Malloc '$m'"
[ "$got" = "$s $m 0" ] || fail "overlapping specs: heed-trace $got, bpftrace $s gc pairs and $m mallocs"
echo "ok: overlapping specs attach once"

# 5. libc's strlen is an IFUNC: heed-trace must trace the implementation the dynamic
# linker chose, which dlsym (ctypes) finds here independently; bpftrace traces that
# address (--unsafe: an address that is not a symbol of libc's dynsym). In libc.so.6
# a text address is also its file offset.
impl=$($PY -c '
import ctypes
a = ctypes.cast(ctypes.CDLL(None).strlen, ctypes.c_void_p).value
for line in open("/proc/self/maps"):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    if lo <= a < hi and f[5].endswith("/libc.so.6"):
        print(f[5] + ":" + hex(a - lo + int(f[2], 16)))
')
[ -n "$impl" ] || fail "dlsym's strlen is not in libc.so.6"
BTFLAGS=--unsafe traced_pair ifunc "import ctypes
f = ctypes.CDLL(None).strlen
for i in range(1000):
    f(b'x' * i)" "uprobe:$impl /pid == PID/ { @n = count(); }" --func libc:strlen
n=$(bt ifunc n)
got=$(json "$T/ifunc.json" '"%d %d" % (d["funcs"]["libc.so.6:strlen"]["count"], sum(d["lost"].values()))')
echo "strlen: implementation $impl; bpftrace $n calls; heed-trace calls/lost $got"
[ -n "$n" ] && [ "$n" -ge 1000 ] || fail "bpftrace saw '$n' calls of $impl"
[ "$got" = "$n 0" ] || fail "--func libc:strlen: heed-trace $got, bpftrace $n calls of $impl"
echo "ok: an IFUNC is traced at its implementation"

# 4. A wrapper that execs python3.11: heed-trace follows the exec and counts what it
# counts on python3.11 started directly (the script is deterministic), startup
# imports included; stacks carry the new program's name.
export PYTHONHASHSEED=0
printf '#!/bin/sh\nexec %s "$@"\n' $PY >"$T/wrap.sh"
chmod +x "$T/wrap.sh"
script="import gc
for i in range(50):
    gc.collect()
import json
x = [str(i) * 100 for i in range(300000)]"
for how in direct wrapped; do
	cmd=$PY
	[ $how = wrapped ] && cmd=$T/wrap.sh
	"$TRACE" --func PyObject_Malloc --usdt 'python:gc*' --usdt 'python:import__find__load*' \
		--profile -F 999 --folded "$T/$how.folded" --json "$T/$how.json" -- "$cmd" -c "$script" \
		>"$T/$how.out" 2>"$T/$how.err" || fail "$how: heed-trace failed: $(cat "$T/$how.err")"
	assert_detached "$how"
done
count='"%s %d %d %d %d" % (d["target"]["comm"], d["usdt"]["python:gc"]["count"], d["usdt"]["python:import__find__load"]["count"], d["funcs"]["PyObject_Malloc"]["count"], sum(d["lost"].values()))'
want=$(json "$T/direct.json" "$count")
got=$(json "$T/wrapped.json" "$count")
echo "comm, gc pairs, imports, PyObject_Malloc, lost: direct $want; through exec $got"
[ "$got" = "$want" ] || fail "a command that execs python3.11: $got, run directly: $want"
roots=$(cut -d';' -f1 "$T/wrapped.folded" | sort -u | tr '\n' ' ')
[ "$roots" = "python3.11 " ] || fail "stacks after the exec are labelled '$roots', not python3.11"
echo "ok: an exec is followed: same counts, stacks labelled python3.11"

# 3. import sqlite3 dlopens libsqlite3 after start: --func libsqlite3:sqlite3_step
# attaches when it appears (heed-trace stops the command it started until attached)
# and counts what bpftrace (which attaches to the library file before it is mapped)
# counts on the same script.
sql="import sqlite3
c = sqlite3.connect(':memory:')
c.execute('create table t(x)')
for i in range(100):
    c.execute('insert into t values (?)', (i,))
print(sum(r[0] for r in c.execute('select x from t')))"
lib=$(ldconfig -p | sed -n 's/.*libsqlite3\.so\.0 (libc6,x86-64) => //p' | head -n 1)
[ -n "$lib" ] || fail "libsqlite3.so.0 not found (apt-get install libsqlite3-0)"
traced_pair sqlite "$sql" "uprobe:$lib:sqlite3_step /pid == PID/ { @n = count(); }"
n=$(bt sqlite n)
"$TRACE" --func 'libsqlite3:sqlite3_step' --json "$T/sq.json" -- $PY -c "$sql" >"$T/sq.out" 2>"$T/sq.err" ||
	fail "--func libsqlite3:sqlite3_step failed: $(cat "$T/sq.err")"
assert_detached "--func on a dlopened library"
got=$(json "$T/sq.json" '"%d %d" % (sum(h["count"] for k, h in d["funcs"].items() if k.endswith(":sqlite3_step")), sum(d["lost"].values()))')
echo "sqlite3_step: bpftrace $n; heed-trace calls/lost $got"
[ -n "$n" ] && [ "$n" -ge 100 ] || fail "bpftrace saw '$n' sqlite3_step calls"
[ "$got" = "$n 0" ] || fail "--func libsqlite3:sqlite3_step: heed-trace $got, bpftrace $n"
echo "ok: a dlopened library is attached before its first call"
