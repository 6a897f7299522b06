# heed-trace on Debian's python3.11, counted against bpftrace attached to the same
# process at the same time: nested USDT start/done pairs (import__find__load nests 7
# deep for "import json") are all timed, with no errors (a probe that is not heed's
# has no error convention) and nothing lost; overlapping --usdt and --func specs
# attach once per probe or function; an IFUNC (libc:strlen) is traced at the
# implementation the process uses. Usage: bash tests/t_trace_python.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

PY=/usr/bin/python3.11
[ -x $PY ] || fail "$PY is needed (Debian's python3.11: apt-get install python3.11)"
command -v bpftrace >/dev/null || fail "bpftrace is needed to compare counts (apt-get install bpftrace)"

# traced_pair NAME PYCODE BPFTRACE-PROG HEED-TRACE-ARGS...: runs python3.11 -c PYCODE
# held (before PYCODE) until bpftrace and heed-trace are both attached to it, then
# lets it run to its end. Leaves $T/NAME.bt (bpftrace's maps) and $T/NAME.json.
# BTFLAGS: more bpftrace options; PID in BPFTRACE-PROG becomes python's pid (bpftrace
# -p does not filter probes on an address by pid).
traced_pair() {
	name=$1 code=$2 prog=$3
	shift 3
	rm -f "$T/go" "$T/ready"
	mkfifo "$T/go"
	$PY -c "import sys; open(sys.argv[2], 'w').close(); open(sys.argv[1]).read(1)
$code" "$T/go" "$T/ready" &
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
	"$TRACE" -p $py "$@" --json "$T/$name.json" >"$T/$name.out" 2>"$T/$name.err" &
	ht=$!
	i=0
	until grep -q "bpftrace ready" "$T/$name.bt" && grep -q "tracing pid" "$T/$name.err"; do
		kill -0 $bt 2>/dev/null || { kill $py; fail "$name: bpftrace ended: $(cat "$T/$name.bt")"; }
		kill -0 $ht 2>/dev/null || { kill $py; fail "$name: heed-trace ended: $(cat "$T/$name.err")"; }
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
	"$(usdt gc__start) { @s = count(); } $(usdt gc__done) { @d = count(); } uprobe:$PY:PyObject_Malloc { @m = count(); }" \
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
