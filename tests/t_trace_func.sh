# heed-trace --func and --usdt on tests/progs/hot: a recursive function (depth 5,
# 2 ms sleep per level) is counted once per call with inclusive latencies; a
# library function (libc:nanosleep) is found through LIB:GLOB; a glob matching
# nothing says so; USDT start/done pairs are timed, their failures counted when the
# result argument is named (:arg1), and a plain probe is counted; a probe two specs
# would trace into two slots is refused. Usage: bash tests/t_trace_func.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

n=20
"$TRACE" --func recurse --func 'libc:nanosleep' --json "$T/f.json" -- "$HOT" rec $n \
	>"$T/out" 2>"$T/err" || { cat "$T/err"; fail "--func -- hot rec failed"; }
assert_detached "--func -- hot rec"
python3 - "$T/f.json" $n <<'PY' || fail "--func latencies are wrong (above)"
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
r = d["funcs"]["recurse"]
s = d["funcs"]["libc.so.6:nanosleep"]
print("recurse", {k: r[k] for k in ("count", "mean_ns", "p50_ns", "p99_ns")})
print("nanosleep", {k: s[k] for k in ("count", "mean_ns")})
bad = 0
if r["count"] != 5 * n or s["count"] != 5 * n:
    print(f"expected {5 * n} calls of each")
    bad = 1
# Level k (1 innermost) sleeps k times 2 ms: inclusive latencies 2..10 ms, mean 6 ms.
# Sleeps only ever run late, so the lower bounds are firm. The upper ones are not wall
# clock bounds (a loaded machine stretches every sleep) but the trace's own duration:
# the one thread's sleeps never overlap, and no instant is in more than 5 recurse calls.
dur = d["duration_s"] * 1e9
if not 6e6 <= r["mean_ns"] or r["mean_ns"] * r["count"] > 5 * dur:
    print(f"recurse mean latency should be about 6 ms, the calls' sum at most 5 x {dur:.0f} ns")
    bad = 1
lo = [b for b in r["hist"] if b["count"]][0]
hi = [b for b in r["hist"] if b["count"]][-1]
if lo["hi_ns"] <= 2e6 or hi["hi_ns"] <= 10e6:
    print("shortest call must take >= 2 ms and the longest >= 10 ms", lo, hi)
    bad = 1
if not 2e6 <= s["mean_ns"] or s["mean_ns"] * s["count"] > dur:
    print(f"nanosleep of 2 ms should average about 2 ms, the calls' sum at most {dur:.0f} ns")
    bad = 1
if sum(d["lost"].values()):
    print("lost", d["lost"])
    bad = 1
sys.exit(bad)
PY
echo "ok: recursion counted once per call"

if "$TRACE" --func 'no_such_function_*' -- "$HOT" rec 1 >"$T/out" 2>"$T/err"; then
	fail "--func with a glob matching nothing succeeded"
fi
grep -q "no function matches" "$T/err" || fail "no sentence for an empty --func glob: $(cat "$T/err")"
assert_detached "--func matching nothing"
echo "ok: $(cat "$T/err")"

"$TRACE" --usdt 'tprog:*:arg1' --json "$T/u.json" -- "$HOT" usdt 1000 >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "--usdt tprog:*:arg1 failed"; }
assert_detached "--usdt tprog:*:arg1"
got=$(json "$T/u.json" '"%d %d %d" % (d["usdt"]["tprog:work"]["count"], d["usdt"]["tprog:work"]["errors"], d["usdt"]["tprog:tick"]["count"])')
[ "$got" = "1000 250 1000" ] || fail "--usdt counts: work/errors/tick = $got, expected 1000 250 1000"
echo "ok: --usdt pairs timed, failures (argument 1 of work__done) and plain probes counted"

# Without :argN a probe that is not heed's has no errors: rc -1 is only a value.
"$TRACE" --usdt 'tprog:work*' --json "$T/u0.json" -- "$HOT" usdt 100 >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "--usdt tprog:work* failed"; }
got=$(json "$T/u0.json" '"%d %d" % (d["usdt"]["tprog:work"]["count"], d["usdt"]["tprog:work"]["errors"])')
[ "$got" = "100 0" ] || fail "--usdt without :argN: work/errors = $got, expected 100 0"
if "$TRACE" --usdt 'tprog:work*:arg7' -- "$HOT" usdt 1 >"$T/out" 2>"$T/err"; then
	fail "--usdt with an argument the probe lacks succeeded"
fi
grep -q "no matching probe has such an argument" "$T/err" || fail "no sentence for a missing argument: $(cat "$T/err")"
assert_detached "--usdt without and with a bad :argN"
echo "ok: no error convention unless given; $(cat "$T/err")"

# A probe two specs would trace into two slots (--ops's fallback pair and --usdt's)
# is refused: one of the two would stay empty.
if "$TRACE" --ops --usdt 'heed:get*' -- "$B/tests/progs/pairs" >"$T/out" 2>"$T/err"; then
	fail "--ops with --usdt heed:get* on start/done pairs succeeded"
fi
grep -q "traced already" "$T/err" || fail "no sentence for a probe traced twice: $(cat "$T/err")"
assert_detached "a probe traced twice"
echo "ok: $(cat "$T/err")"

# libheed's functions that time themselves (heed_get, heed_put, heed_del,
# heed_cursor_get/put/del) are read from heed:ops__batch: while heed-trace runs, its
# only probe in heed-load (libheed linked in) is the batch's uprobe, no uretprobe
# (how many gets it saw depends on when it attached: not checked here); the counts
# of a whole run equal heed-load's own.
"$LOAD" -w readrandom -d 600 --pid-file "$T/lpid" "$T/dbl" >/dev/null 2>&1 &
lp=$!
while [ ! -s "$T/lpid" ]; do
	kill -0 $lp 2>/dev/null || fail "heed-load -d 600 did not start"
	sleep 0.1
done
: >"$T/fl"
"$TRACE" -p "$(cat "$T/lpid")" --func heed_get --func heed_cursor_get >"$T/fl" 2>&1 &
tp=$!
until grep -q "Ctrl-C to stop" "$T/fl"; do
	kill -0 $tp 2>/dev/null || { kill $lp; fail "heed-trace -p --func heed_get failed: $(cat "$T/fl")"; }
	sleep 0.1
done
probes=$(bpftool -j perf list | python3 -c '
import json, sys
n = {"uprobe": 0, "uretprobe": 0}
for e in json.load(sys.stdin):
    if e.get("pid") == int(sys.argv[1]) and e.get("filename") == sys.argv[2] and e.get("fd_type") in n:
        n[e["fd_type"]] += 1
print(n["uprobe"], n["uretprobe"])' $tp "$(readlink -f "$LOAD")")
kill -INT $tp
wait $tp
kill $lp
wait $lp 2>/dev/null
[ "$probes" = "1 0" ] ||
	fail "--func heed_get heed_cursor_get: uprobes/uretprobes in heed-load: $probes, expected 1 0 (the batch site)"
grep -q "^heed_get: count" "$T/fl" || fail "--func heed_get -p printed no heed_get line: $(cat "$T/fl")"
assert_detached "--func heed_get -p heed-load"
echo "ok: heed_get and heed_cursor_get timed from heed:ops__batch (one uprobe, no uretprobe)"

"$TRACE" --func heed_get --func heed_put --func heed_del --func 'heed_cursor_*' --json "$T/fm.json" \
	-- "$LOAD" -w mixed -d 2 --nosync --json "$T/dbm" >"$T/outm" 2>"$T/errm" ||
	{ cat "$T/errm"; fail "--func -- heed-load -w mixed failed"; }
assert_detached "--func heed_* -- heed-load -w mixed"
grep '^{' "$T/outm" >"$T/loadm.json" || fail "heed-load printed no JSON line"
python3 - "$T/fm.json" "$T/loadm.json" <<'PY' || fail "--func counts differ from heed-load's (above)"
import json, sys
t = json.load(open(sys.argv[1]))
l = json.load(open(sys.argv[2]))
f = t["funcs"]
bad = sum(t["lost"].values()) != 0
cursor = sum(f[n]["count"] for n in ("heed_cursor_get", "heed_cursor_put", "heed_cursor_del"))
for op, got in (("get", f["heed_get"]["count"]), ("put", f["heed_put"]["count"]),
                ("del", f["heed_del"]["count"]), ("cursor", cursor)):
    print(f"{op}: traced {got}, heed-load {l['ops'][op]}")
    bad |= got != l["ops"][op]
bad |= l["ops"]["put"] == 0 or l["ops"]["del"] == 0
sys.exit(bad)
PY
echo "ok: --func counts of libheed's functions equal heed-load's on the mixed workload"
