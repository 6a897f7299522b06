# heed-trace --per-pid with --ops, --usdt and --func: the latency histograms split by
# process in the kernel (bpf/pidhist.bpf.h), printed under "== comm-PID ==" and in
# --json's per_pid. Two heed-loads with different, exactly known op counts under
# -p A,B (and a third of the same binary, unselected): each process's counts are its
# own, they add up to the totals, and the JSON has the numbers the text prints.
# Usage: bash tests/t_trace_perpid.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

NAME=hperpidload
mkdir -p "$T/bin"
cp "$LOAD" "$T/bin/$NAME"
L=$T/bin/$NAME
pids=
trap 'for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

# start NAME ARGS...: a heed-load in the background, $pid once its env is open (its
# --pid-file written), stopped until heed-trace is attached so that all its
# operations are traced.
start() {
	n=$1
	shift
	"$L" --pid-file "$T/$n.pid" --nosync --json "$@" "$T/db-$n" >"$T/$n.out" 2>&1 &
	pids="$pids $!"
	pid_of "$n"
}

start a -w readrandom -n 30000 --wait-trace 4
A=$pid
kill -STOP "$A"
start b -w mixed -n 12000 --wait-trace 4
B=$pid
kill -STOP "$B"
"$TRACE" -p "$A,$B" --per-pid --ops --func heed_get --func heed_txn_commit \
	--usdt 'heed:txn__commit*' --json "$T/p.json" >"$T/p.out" 2>"$T/p.err" &
tr=$!
wait_tracing "$T/p.err"
kill -CONT "$A" "$B"
# C: the same binary, not selected: it must not get a histogram of its own.
start c -w readrandom -n 5000
C=$pid
wait "$A" || fail "heed-load A failed: $(cat "$T/a.out")"
wait "$B" || fail "heed-load B failed: $(cat "$T/b.out")"
wait "$C" || fail "heed-load C failed: $(cat "$T/c.out")"
wait "$tr" || { cat "$T/p.err"; fail "heed-trace -p A,B --per-pid exited non-zero"; }
assert_detached "-p A,B --per-pid --ops --func --usdt"
grep -q "^== $NAME-$A ==\$" "$T/p.out" && grep -q "^== $NAME-$B ==\$" "$T/p.out" ||
	{ cat "$T/p.out"; fail "--per-pid: no '== $NAME-PID ==' block for A and B"; }

python3 - "$T/p.json" "$T/p.out" "$NAME" "$A:$(counts a)" "$B:$(counts b)" "$C" <<'PY' ||
import json, re, sys
t = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
name = sys.argv[3]
own = {}
for arg in sys.argv[4:6]:
    pid, c = arg.split(":")
    own[int(pid)] = [int(x) for x in c.split()]
unselected = int(sys.argv[6])
ops = ("get", "put", "del", "cursor", "commit", "sync")
bad = sum(t["lost"].values()) != 0
if "usdt_per_pid_full" not in t["lost"] or "func_per_pid_full" not in t["lost"]:
    print("--per-pid: the lost counters of the per-process map are missing")
    bad = True
procs = {p["pid"]: p for p in t["per_pid"]}
if sorted(procs) != sorted(own):
    print(f"per_pid holds pids {sorted(procs)}, expected {sorted(own)} (not {unselected})")
    sys.exit(1)
# Text blocks: "== name-PID ==" then "title: count N, ..." lines until the next header.
blocks = {}
for m in re.finditer(r"^== (\S+)-(\d+) ==\n((?:(?!==).*\n)*)", text, re.M):
    if m.group(1) == name:
        blocks[int(m.group(2))] = dict(re.findall(r"^(\S+): count (\d+)", m.group(3), re.M))
want_total = {}
for pid, c in own.items():
    p = procs[pid]
    if p["comm"] != name:
        print(f"pid {pid}: comm {p['comm']!r}, expected {name!r}")
        bad = True
    wants = [(f"ops {op}", p["ops"].get(op, {"count": 0})["count"], c[i], op) for i, op in enumerate(ops)]
    wants.append(("--func heed_get", p["funcs"]["heed_get"]["count"], c[0], "heed_get"))
    wants.append(("--func heed_txn_commit", p["funcs"]["heed_txn_commit"]["count"], c[4], "heed_txn_commit"))
    wants.append(("--usdt heed:txn__commit", p["usdt"]["heed:txn__commit"]["count"], c[4], "heed:txn__commit"))
    for what, got, want, title in wants:
        printed = int(blocks.get(pid, {}).get(title, 0))
        print(f"pid {pid} {what}: json {got}, printed {printed}, heed-load's own {want}")
        bad |= got != want or printed != want
        want_total[what] = want_total.get(what, 0) + want
    for h in list(p["ops"].values()) + list(p["funcs"].values()) + list(p["usdt"].values()):
        bad |= sum(b["count"] for b in h["hist"]) != h["count"]
totals = {f"ops {op}": t["ops"][op]["count"] for op in ops}
totals["--func heed_get"] = t["funcs"]["heed_get"]["count"]
totals["--func heed_txn_commit"] = t["funcs"]["heed_txn_commit"]["count"]
totals["--usdt heed:txn__commit"] = t["usdt"]["heed:txn__commit"]["count"]
for what, got in totals.items():
    print(f"total {what}: {got}, sum of the processes {want_total[what]}")
    bad |= got != want_total[what]
sys.exit(bad)
PY
	fail "--per-pid: per-process counts differ (above)"
echo "ok: -p A,B --per-pid: each process's ops, --func and --usdt histograms hold its own exact counts, they add up to the totals, text and JSON agree, the unselected one has none"

# Without --per-pid nothing changes: no blocks, no per_pid key, no new lost counters.
start d -w readrandom -n 2000 --wait-trace 4
D=$pid
kill -STOP "$D"
"$TRACE" -p "$D" --ops --func heed_get --json "$T/d.json" >"$T/d.tout" 2>"$T/d.err" &
tr=$!
wait_tracing "$T/d.err"
kill -CONT "$D"
wait "$D" || fail "heed-load D failed: $(cat "$T/d.out")"
wait "$tr" || { cat "$T/d.err"; fail "heed-trace -p D exited non-zero"; }
! grep -q "^== $NAME-" "$T/d.tout" || fail "without --per-pid, a per-process block was printed"
got=$(json "$T/d.json" '"%s %s %s" % ("per_pid" in d, any("per_pid" in k for k in d["lost"]), d["ops"]["get"]["count"])')
[ "$got" = "False False 2000" ] || fail "without --per-pid: per_pid key, per_pid lost counter, gets: $got"
echo "ok: without --per-pid the output has no per-process part"
