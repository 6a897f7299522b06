# heed-trace --ops, --usdt and --func on several processes (-p A,B, --comm): attached
# once per binary to every process that maps it (one started during the trace, one in
# another mount namespace, a library dlopened later included), counted only for the
# selected ones (the kernel filters). The ops batch is exact, so the counts are too.
# Last, a lone -p PID in a mount namespace of its own is attached at its own files.
# Usage: bash tests/t_trace_multi.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

# The loads run a copy of heed-load under a name of their own: heed-loads of other
# tests running at the same time must not be selected by --comm.
NAME=hmultiload
mkdir -p "$T/bin" "$T/bin2" "$T/bin3"
cp "$LOAD" "$T/bin/$NAME"
cp "$LOAD" "$T/bin2/$NAME"
cp "$LOAD" "$T/bin3/$NAME"
command -v unshare >/dev/null || fail "unshare (util-linux) is needed for the mount namespace case"
L=$T/bin/$NAME
pids=

cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# start NAME BIN ARGS...: runs BIN (a heed-load) in the background with --pid-file,
# sets $pid once the file is written (its env is open, no operation done yet).
start() {
	n=$1
	bin=$2
	shift 2
	"$bin" --pid-file "$T/$n.pid" --nosync --json "$@" "$T/db-$n" >"$T/$n.out" 2>&1 &
	pids="$pids $!"
	pid_of "$n"
}

# 1. -p A,B,S --ops --func --usdt: A and B are heed-loads stopped from the moment their env is
# open (heed-load then sleeps --wait-trace, a margin for the stop) until heed-trace is
# attached, so all their operations are traced; C runs the same binary unselected at
# the same time (a short -p list is probed in its processes alone); S (sleep) has no
# heed probes and is named.
start a "$L" -w mixed -d 2 --wait-trace 4
A=$pid
kill -STOP "$A"
start b "$L" -w readrandom -n 30000 --wait-trace 4
B=$pid
kill -STOP "$B"
sleep 60 &
S=$!
pids="$pids $S"
"$TRACE" -p "$A,$B,$S" --ops --func heed_get --func heed_txn_commit --usdt 'heed:txn__commit*' \
	--json "$T/p.json" \
	>"$T/p.out" 2>"$T/p.err" &
tr=$!
wait_tracing "$T/p.err"
kill -CONT "$A" "$B"
start c "$L" -w readrandom -n 20000
wait "$A" || fail "heed-load A failed: $(cat "$T/a.out")"
wait "$B" || fail "heed-load B failed: $(cat "$T/b.out")"
wait "$pid" || fail "heed-load C failed: $(cat "$T/c.out")"
kill -INT "$tr"
wait "$tr" || { cat "$T/p.err"; fail "heed-trace -p A,B,S exited non-zero"; }
assert_detached "-p A,B,S --ops --func --usdt"
kill "$S"
wait "$S" 2>/dev/null
grep -q "no heed probes.* pid $S (sleep)" "$T/p.err" ||
	{ cat "$T/p.err"; fail "-p A,B,S --ops: the process without heed probes is not named"; }
echo "ok: $(grep 'no heed probes' "$T/p.err")"
python3 - "$T/p.json" "$(counts a)" "$(counts b)" <<'PY' || fail "-p A,B: counts differ (above)"
import json, sys
t = json.load(open(sys.argv[1]))
a = [int(x) for x in sys.argv[2].split()]
b = [int(x) for x in sys.argv[3].split()]
bad = sum(t["lost"].values()) != 0
for i, op in enumerate(("get", "put", "del", "cursor", "commit", "sync")):
    got, want = t["ops"][op]["count"], a[i] + b[i]
    print(f"{op}: traced {got}, heed-load A {a[i]} + B {b[i]}")
    bad |= got != want
for fn, i in (("heed_get", 0), ("heed_txn_commit", 4)):
    got, want = t["funcs"][fn]["count"], a[i] + b[i]
    print(f"--func {fn}: traced {got}, heed-load A {a[i]} + B {b[i]}")
    bad |= got != want
got = t["usdt"]["heed:txn__commit"]["count"]
print(f"--usdt heed:txn__commit pairs: traced {got}, commits A {a[4]} + B {b[4]}")
bad |= got != a[4] + b[4]
sys.exit(bad)
PY
echo "ok: -p A,B: --ops, --func and --usdt counts are the sum of both processes', none of C's"

# 2. --comm: a process of the same binary started after the attach is counted whole
# (the probes follow the file); one of a binary no selected process mapped at the
# attach (a second copy) is attached when it execs, during its --wait-trace.
start w "$L" -w readrandom -n 1 --wait-trace 60
W=$pid
"$TRACE" --comm "$NAME" --ops --json "$T/c.json" >"$T/c.out" 2>"$T/c.err" &
tr=$!
wait_tracing "$T/c.err"
"$L" -w readrandom -n 20000 --nosync --json "$T/db-d" >"$T/d.out" 2>&1 ||
	fail "heed-load D failed: $(cat "$T/d.out")"
start e "$T/bin2/$NAME" -w readrandom -n 10000 --wait-trace 2
wait "$pid" || fail "heed-load E failed: $(cat "$T/e.out")"
# F runs in a mount namespace of its own where $T/bin holds a third copy: the same
# path as D's binary names another file there, found through /proc/F/root.
unshare -m sh -c 'mount --bind "$1/bin3" "$1/bin" && exec "$1/bin/$2" --pid-file "$1/f.pid" \
	--wait-trace 2 --nosync --json -w readrandom -n 5000 "$1/db-f"' sh "$T" "$NAME" \
	>"$T/f.out" 2>&1 || fail "heed-load F (own mount namespace) failed: $(cat "$T/f.out")"
kill "$W"
kill -INT "$tr"
wait "$tr" || { cat "$T/c.err"; fail "heed-trace --comm exited non-zero"; }
assert_detached "--comm --ops"
grep -q "$T/bin2/$NAME" "$T/c.err" ||
	{ cat "$T/c.err"; fail "--comm: attaching to the binary mapped later is not said"; }
grep -q "/proc/[0-9]*/root$T/bin/$NAME" "$T/c.err" ||
	{ cat "$T/c.err"; fail "--comm: the binary of F's mount namespace was not attached"; }
python3 - "$T/c.json" "$(counts d)" "$(counts e)" "$(counts f)" <<'PY' || fail "--comm: counts differ (above)"
import json, sys
t = json.load(open(sys.argv[1]))
d, e, f = ([int(x) for x in a.split()] for a in sys.argv[2:5])
bad = sum(t["lost"].values()) != 0
for i, op in enumerate(("get", "put", "del", "cursor", "commit", "sync")):
    got, want = t["ops"][op]["count"], d[i] + e[i] + f[i]
    print(f"{op}: traced {got}, started later: D {d[i]} + E (new binary) {e[i]} "
          f"+ F (own mount namespace) {f[i]}")
    bad |= got != want
sys.exit(bad)
PY
echo "ok: --comm: processes started during the trace are counted, a new binary attached at its exec, one in another mount namespace too"

# 3. A glob no selected process has during the whole trace is an error at the end.
sleep 30 &
S1=$!
sleep 30 &
S2=$!
pids="$pids $S1 $S2"
if "$TRACE" -p "$S1,$S2" --func 'no_such_function_*' -d 1 >"$T/n.out" 2>"$T/n.err"; then
	fail "--func matching nothing in -p S1,S2 exited 0"
fi
grep -q "no_such_function_\*: no function matched in the code of the selected processes" \
	"$T/n.err" || { cat "$T/n.err"; fail "--func matching nothing: no clear message"; }
assert_detached "-p S1,S2 --func matching nothing"
kill "$S1" "$S2"
wait "$S1" "$S2" 2>/dev/null
echo "ok: $(tail -n 1 "$T/n.err")"

# 4. A library dlopened by selected processes (python3.11's import sqlite3) is
# attached when the first of them maps it, for all of them: -p P1,P2 --func
# libsqlite3:sqlite3_step counts twice what one process started by heed-trace (which
# stops it at the dlopen until attached) counts. Each python waits on a FIFO before
# the import and after it, until heed-trace says it attached; -p ends when both exit.
PY=/usr/bin/python3.11
[ -x $PY ] || fail "$PY is needed (Debian's python3.11: apt-get install python3.11)"
sql="c = sqlite3.connect(':memory:')
c.execute('create table t(x)')
for i in range(100):
    c.execute('insert into t values (?)', (i,))
print(sum(r[0] for r in c.execute('select x from t')))"
"$TRACE" --func 'libsqlite3:sqlite3_step' --json "$T/sq1.json" -- $PY -c "import sqlite3
$sql" >"$T/sq1.out" 2>"$T/sq1.err" || fail "--func libsqlite3:sqlite3_step -- python: $(cat "$T/sq1.err")"
one=$(json "$T/sq1.json" 'sum(h["count"] for k, h in d["funcs"].items() if k.endswith(":sqlite3_step"))')
[ "$one" -ge 100 ] || fail "one python3.11: $one sqlite3_step calls, expected 100 or more"
for k in 1 2; do
	mkfifo "$T/in$k" "$T/run$k"
	$PY -c "import sys
open(sys.argv[1]).read(1)
import sqlite3
open(sys.argv[2]).read(1)
$sql" "$T/in$k" "$T/run$k" >"$T/py$k.out" 2>&1 &
	eval "P$k=\$!"
	pids="$pids $!"
done
"$TRACE" -p "$P1,$P2" --func 'libsqlite3:sqlite3_step' --json "$T/sq2.json" >"$T/sq2.out" \
	2>"$T/sq2.err" &
tr=$!
wait_tracing "$T/sq2.err"
echo >"$T/in1"
echo >"$T/in2"
wait_for 'maps .*libsqlite3.*: attached' "$T/sq2.err" "-p P1,P2: libsqlite3 was not attached when dlopened"
echo >"$T/run1"
echo >"$T/run2"
wait "$P1" "$P2" || fail "python3.11 failed: $(cat "$T/py1.out" "$T/py2.out")"
wait "$tr" || { cat "$T/sq2.err"; fail "heed-trace -p P1,P2 --func on a dlopened library failed"; }
assert_detached "-p P1,P2 --func on a dlopened library"
got=$(json "$T/sq2.json" '"%d %d" % (sum(h["count"] for k, h in d["funcs"].items() if k.endswith(":sqlite3_step")), sum(d["lost"].values()))')
echo "sqlite3_step: one python3.11 $one; two under -p P1,P2: calls/lost $got"
[ "$got" = "$((2 * one)) 0" ] || fail "-p P1,P2 --func libsqlite3:sqlite3_step: $got, expected $((2 * one)) 0"
echo "ok: a library dlopened by selected processes is attached for all of them; -p ends when they have"

# 5. --cgroup: a heed-load inside a cgroup made here (on the cgroup2 mount, wherever
# it is) is counted, one of the same binary outside it is not: the probes are in
# every process, the kernel's selection (bpf/select.bpf.h) drops the outside one's.
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
[ -n "$cg2" ] || fail "no cgroup2 mount in /proc/self/mounts"
CG=$cg2/heed-trace-multi-$$
mkdir "$CG" || fail "cannot make the cgroup $CG"
trap 'cleanup; rmdir "$CG" 2>/dev/null' EXIT
start g "$L" -w readrandom -n 15000 --wait-trace 4
G=$pid
kill -STOP "$G"
echo "$G" >"$CG/cgroup.procs" || fail "cannot move pid $G into $CG"
"$TRACE" --cgroup "$CG" --ops --json "$T/cg.json" >"$T/cg.out" 2>"$T/cg.err" &
tr=$!
wait_tracing "$T/cg.err"
kill -CONT "$G"
start h "$L" -w readrandom -n 9000
wait "$G" || fail "heed-load G failed: $(cat "$T/g.out")"
wait "$pid" || fail "heed-load H failed: $(cat "$T/h.out")"
kill -INT "$tr"
wait "$tr" || { cat "$T/cg.err"; fail "heed-trace --cgroup exited non-zero"; }
assert_detached "--cgroup --ops"
got=$(json "$T/cg.json" '" ".join(str(d["ops"][k]["count"]) for k in ("get", "put", "del", "cursor", "commit", "sync"))')
[ "$got" = "$(counts g)" ] || fail "--cgroup: traced $got, the heed-load inside $(counts g), outside $(counts h)"
echo "ok: --cgroup: the heed-load inside counted ($got), the one outside not"

# 6. A lone -p PID whose process has a mount namespace of its own: heed-trace attaches
# to the file the process maps (found through /proc/PID/root), not to what the same
# path names on the host. In N1 the binary's directory is a tmpfs mounted in the
# namespace (the path does not exist on the host); in N2 a third copy is bind-mounted
# over $T/bin, so the path names the host's other copy (attaching there counted
# nothing). --ops and --func heed_get count exactly what each heed-load did.
mkdir "$T/ns"
ns_start() {
	n=$1
	setup=$2
	shift 2
	unshare -m sh -c "$setup"' && exec "$3" --pid-file "$1/$2.pid" --wait-trace 4 --nosync \
		--json -w readrandom -n 7000 "$1/db-$2"' sh "$T" "$n" "$@" >"$T/$n.out" 2>&1 &
	pids="$pids $!"
	pid_of "$n"
}
for n in n1 n2; do
	if [ $n = n1 ]; then
		ns_start n1 'mount -t tmpfs tmpfs "$1/ns" && cp "$4" "$3"' "$T/ns/$NAME" "$LOAD"
		[ ! -e "$T/ns/$NAME" ] || fail "the tmpfs of N1's namespace is seen on the host"
	else
		ns_start n2 'mount --bind "$1/bin3" "$1/bin"' "$T/bin/$NAME"
	fi
	N=$pid
	kill -STOP "$N"
	"$TRACE" -p "$N" --ops --func heed_get --json "$T/$n.json" >"$T/$n.tout" 2>"$T/$n.err" &
	tr=$!
	wait_tracing "$T/$n.err"
	kill -CONT "$N"
	wait "$tr" || { cat "$T/$n.err"; fail "heed-trace -p N ($n, own mount namespace) exited non-zero"; }
	assert_detached "-p N --ops --func heed_get ($n, own mount namespace)"
	got=$(json "$T/$n.json" '" ".join(str(d["ops"][k]["count"]) for k in ("get", "put", "del", "cursor", "commit", "sync")) + " %d %d" % (d["funcs"]["heed_get"]["count"], sum(d["lost"].values()))')
	want=$(counts $n)
	echo "$n: traced ops and heed_get calls, lost: $got; heed-load's own ops: $want"
	[ "$got" = "$want ${want%% *} 0" ] || fail "-p N ($n, own mount namespace): traced $got, heed-load did $want"
done
echo "ok: a lone -p PID in another mount namespace is attached at its own files (a path missing on the host, a path naming another file there)"
