# heed-trace --ops against heed-load: per-op counts equal heed-load's own, nothing lost;
# every heed probe attaches through libbpf (--usdt 'heed:*'), so a USDT argument spec
# libbpf 1.1 cannot parse fails here; a target without ops__batch is traced from its
# start/done pairs (tests/progs/pairs); nested write txns (tests/progs/nested) keep the
# op counts and fire the txn probes once per txn; ops still in a thread's batch when it
# exits, or when the process does, are counted (tests/progs/pending); batches no libheed
# would hand over (tests/progs/badbatch) are counted as lost. Usage: bash
# tests/t_trace_ops.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

n=${HEED_TRACE_OPS:-200000}
# --nosync: heed-load's "sync" counts heed_env_sync calls, the probe's SYNC also each
# commit's fdatasync (core/tools/README.md); without commit syncs the two agree.
"$TRACE" --ops --json "$T/ops.json" -- "$LOAD" -w readrandom -n "$n" --nosync --json "$T/db" \
	>"$T/out" 2>"$T/err" || { cat "$T/err"; fail "heed-trace --ops -- heed-load exited $?"; }
assert_detached "--ops -- heed-load"
grep '^{' "$T/out" >"$T/load.json" || fail "heed-load printed no JSON line"
[ "$(json "$T/ops.json" 'd["ops_source"]')" = "heed:ops__batch" ] ||
	fail "--ops did not use the batch probe: $(json "$T/ops.json" 'd["ops_source"]')"
python3 - "$T/ops.json" "$T/load.json" <<'PY' || fail "op counts differ (above)"
import json, sys
t = json.load(open(sys.argv[1]))
l = json.load(open(sys.argv[2]))
bad = 0
# heed-load's errors include HEED_NOTFOUND, heed-trace's do not: readrandom reads
# only keys that exist, so both must be 0.
for op in ("get", "put", "del", "cursor", "commit", "sync"):
    got, want = t["ops"][op]["count"], l["ops"][op]
    print(f"{op}: traced {got}, heed-load {want}")
    bad |= got != want
    if l["errors"][op] != t["ops"][op]["errors"]:
        print(f"{op}: traced errors {t['ops'][op]['errors']}, heed-load {l['errors'][op]}")
        bad = 1
lost = sum(t["lost"].values())
print("lost", lost)
bad |= lost != 0
g = t["ops"]["get"]
bad |= not (0 < g["p50_ns"] <= g["p90_ns"] <= g["p99_ns"])
bad |= sum(b["count"] for b in g["hist"]) != g["count"]
sys.exit(bad)
PY
echo "ok: --ops counts equal heed-load's (n=$n)"

# Three threads (two readers, a writer): puts, dels, commits and the final sync.
"$TRACE" --ops --json "$T/mixed.json" -- "$LOAD" -w mixed -d 2 --nosync --json "$T/dbm" \
	>"$T/outm" 2>"$T/errm" || { cat "$T/errm"; fail "--ops -- heed-load -w mixed failed"; }
assert_detached "--ops -- heed-load -w mixed"
grep '^{' "$T/outm" >"$T/loadm.json" || fail "heed-load printed no JSON line"
python3 - "$T/mixed.json" "$T/loadm.json" <<'PY' || fail "mixed op counts differ (above)"
import json, sys
t = json.load(open(sys.argv[1]))
l = json.load(open(sys.argv[2]))
bad = sum(t["lost"].values()) != 0
for op, want in l["ops"].items():
    got = t["ops"][op]["count"]
    print(f"{op}: traced {got}, heed-load {want}")
    bad |= got != want
bad |= l["ops"]["del"] == 0 or l["ops"]["sync"] == 0
sys.exit(bad)
PY
echo "ok: --ops counts equal heed-load's on the mixed workload"

# traced_ops NAME ARGS...: tests/progs/NAME ARGS under --ops; its JSON in $T/NAME.json,
# its output in $T/NAME.out.
traced_ops() {
	local name=$1 prog=$B/tests/progs/$1
	shift
	[ -x "$prog" ] || fail "$prog is missing: build with make check"
	"$TRACE" --ops --json "$T/$name.json" -- "$prog" "$@" >"$T/$name.out" 2>"$T/$name.err" ||
		{ cat "$T/$name.err"; fail "--ops -- $name failed"; }
	assert_detached "--ops -- $name"
}

# Nested write txns (tests/progs/nested): each heed_txn_commit call is one COMMIT op, a
# child's too and a top's that commits an open child; txn__begin/abort/commit fire per txn.
NESTED=$B/tests/progs/nested
traced_ops nested "$T/dbn" 400
got=$(json "$T/nested.json" '"%d %d %d %d" % (d["ops"]["put"]["count"], d["ops"]["get"]["count"], d["ops"]["commit"]["count"], sum(d["lost"].values()))')
want=$(awk '{v[$1] = $2} END {print v["put"], v["get"], v["commit"], 0}' "$T/nested.out")
[ "$got" = "$want" ] || fail "nested txns: put/get/commit/lost = $got, expected $want"
"$TRACE" --usdt 'heed:txn__*' --json "$T/nestedu.json" -- "$NESTED" "$T/dbn2" 400 \
	>"$T/outn2" 2>"$T/errn2" || { cat "$T/errn2"; fail "--usdt heed:txn__* -- nested failed"; }
assert_detached "--usdt heed:txn__* -- nested"
got=$(json "$T/nestedu.json" '"%d %d %d" % (d["usdt"]["heed:txn__begin"]["count"], d["usdt"]["heed:txn__abort"]["count"], d["usdt"]["heed:txn__commit"]["count"])')
# One round in four commits a child through its parent's commit: a txn__commit pair more.
want=$(awk '{v[$1] = $2} END {print v["begin"], v["abort"], v["commit"] + 100}' "$T/outn2")
[ "$got" = "$want" ] || fail "nested txns: txn__begin/abort/commit = $got, expected $want"
echo "ok: nested txns under --ops and --usdt: txn__begin/abort/commit $got"

# Threads that end with ops in their batch (tests/progs/pending: a read txn left open,
# 5000 gets, past one full batch of 4096): a thread's records go out when it exits, the
# main thread's when the process does.
traced_ops pending "$T/dbp" 5000
got=$(json "$T/pending.json" '"puts %d gets %d lost %d" % (d["ops"]["put"]["count"], d["ops"]["get"]["count"], sum(d["lost"].values()))')
want="$(grep "^puts " "$T/pending.out") lost 0"
[ "$got" = "$want" ] || fail "threads ending with pending ops: $got, expected $want"
echo "ok: ops pending at a thread's exit and at the process's: $got"

# A child forked after its parent fired the site, which Linux 6.18 makes a call into a
# trampoline mapping that fork does not copy: the child must live (it died of SIGSEGV
# before core/opbatch.c's site_usable). Its gets count where its kernel lets it run the
# site and heed-trace follows it; the parent's always do.
traced_ops pending "$T/dbpf" 5000 fork
gets=$(json "$T/pending.json" 'd["ops"]["get"]["count"]')
[ "$gets" = 10000 ] || [ "$gets" = 15000 ] ||
	fail "a forked child's run: $gets gets counted, expected 10000 (the parent's) or 15000"
echo "ok: a child forked after the site fired lives; $gets gets counted"

# Every heed probe, attached by libbpf; get's start/done pair times every get.
"$TRACE" --usdt 'heed:*' --json "$T/all.json" -- "$LOAD" -w readrandom -n 20000 --json \
	"$T/db2" >"$T/out2" 2>"$T/err2" || { cat "$T/err2"; fail "--usdt 'heed:*' failed"; }
assert_detached "--usdt heed:*"
grep '^{' "$T/out2" >"$T/load2.json" || fail "heed-load printed no JSON line"
got=$(json "$T/all.json" 'd["usdt"]["heed:get"]["count"]')
want=$(json "$T/load2.json" 'd["ops"]["get"]')
[ "$got" = "$want" ] || fail "heed:get pairs counted $got, heed-load did $want gets"
probes=$(json "$T/all.json" 'len(d["usdt"])')
[ "$probes" -ge 12 ] || fail "only $probes heed probes attached; expected all of core/probes.d"
echo "ok: all $probes heed probes attach; get__start/done pairs: $got"

# The fallback: heed:get/put start/done pairs, results from the done probes.
PAIRS=$B/tests/progs/pairs
[ -x "$PAIRS" ] || fail "$PAIRS is missing: build with make check"
"$TRACE" --ops --json "$T/pairs.json" -- "$PAIRS" 3000 >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "--ops -- pairs failed"; }
assert_detached "--ops -- pairs"
[ "$(json "$T/pairs.json" 'd["ops_source"]')" = "heed:*__start/*__done" ] ||
	fail "--ops did not fall back to start/done pairs"
got=$(json "$T/pairs.json" '"%d %d %d %d %d" % (d["ops"]["get"]["count"], d["ops"]["get"]["errors"], d["ops"]["put"]["count"], d["ops"]["put"]["errors"], sum(d["lost"].values()))')
want=$(awk '{v[$1] = $2} END {print v["get"], v["get_errors"], v["put"], v["put_errors"], 0}' "$T/out")
[ "$got" = "$want" ] || fail "start/done fallback: get/errors/put/errors/lost = $got, expected $want"
echo "ok: --ops falls back to start/done pairs: $got"

# Batches no libheed would hand over (tests/progs/badbatch): records of an unknown op,
# an unreadable address, a batch longer than HEED_OPREC_BATCH. Each is counted as lost
# under its name and the good records of a two-chunk batch exactly, whether the batch
# was read whole into the per-CPU buffer (bpf/opbatch.bpf.h) or, after the whole read
# failed, chunk by chunk.
BAD=$B/tests/progs/badbatch
[ -x "$BAD" ] || fail "$BAD is missing: build with make check"
"$TRACE" --ops --json "$T/bad.json" -- "$BAD" 300 >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "--ops -- badbatch failed"; }
assert_detached "--ops -- badbatch"
got=$(json "$T/bad.json" '"%d %d %d %d" % (d["ops"]["get"]["count"], d["lost"]["ops_bad_op"], d["lost"]["ops_batch_unreadable"], d["lost"]["ops_batch_too_big"])')
want=$(awk '{v[$1] = $2} END {print v["get"], v["ops_bad_op"], v["ops_batch_unreadable"], v["ops_batch_too_big"]}' "$T/out")
[ "$got" = "$want" ] || fail "bad batches: get/bad_op/unreadable/too_big = $got, expected $want"
echo "ok: --ops counts bad batches as lost, good records exactly: $got"

# Durations in nanoseconds: libheed's records hold TSC ticks where the TSC is
# invariant, converted with a rate it measures once (core/opbatch.c); elsewhere
# CLOCK_MONOTONIC. The same commits timed by the kernel's clock (--func's
# entry/return) agree: 100 commits of 2000 puts each take milliseconds, and the
# probes' own microseconds are within the bound. A wrong rate (a calibration cut by
# a preemption, a bad conversion) is off by far more than a fifth.
"$TRACE" --ops --func heed_txn_commit --json "$T/cal.json" -- \
	"$LOAD" -w fillrandom -n 200000 --batch 2000 --nosync "$T/cal" >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "--ops --func heed_txn_commit failed"; }
assert_detached "--ops --func heed_txn_commit"
ratio=$(json "$T/cal.json" 'd["ops"]["commit"]["mean_ns"] / d["funcs"]["heed_txn_commit"]["mean_ns"]')
python3 -c "import sys; sys.exit(not 0.8 <= float(sys.argv[1]) <= 1.25)" "$ratio" ||
	fail "--ops times commits at $ratio of the kernel clock's (--func)"
echo "ok: --ops's commit latencies are the kernel clock's: ratio $ratio"
