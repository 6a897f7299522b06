#!/bin/bash
# heed-trace -i 1 --out-dir DIR --keep N: one pprof and one folded file per interval,
# named after its start time (UTC), each readable by Debian's go tool pprof with the
# same total as its folded file; intervals hold disjoint samples (the aggregation is
# cleared), so their sum is the run's samples; rotation keeps the N newest; bad
# --out-dir uses are refused. Usage: bash tests/t_trace_continuous.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

command -v go >/dev/null 2>&1 ||
	fail "go is missing: Debian's golang-go provides go tool pprof (sh ci/install-deps.sh)"
export HOME=$T GOCACHE=$T/gocache GOFLAGS='' TZ=UTC

# No rotation (--keep 100): every interval is there, and the samples add up. hot
# burns 4 s of CPU, so at least 4 s pass (2 s gave 2 intervals on an idle machine).
mkdir "$T/all" "$T/kept"
"$TRACE" --profile -F 199 -i 1 --out-dir "$T/all" --keep 100 --json "$T/all.json" \
	-- "$HOT" cpu 4 >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "-i 1 --out-dir failed"; }
assert_detached "-i 1 --out-dir"
n=$(find "$T/all" -name 'heed-*.pb.gz' | wc -l)
[ "$n" -ge 3 ] || fail "only $n profiles in a run of about 4 s at -i 1: $(ls "$T/all")"
[ "$(find "$T/all" -name 'heed-*.folded' | wc -l)" -eq "$n" ] || fail "not one folded file per profile: $(ls "$T/all")"
sum=0
for f in "$T"/all/heed-*.pb.gz; do
	name=$(basename "$f" .pb.gz)
	[[ $name =~ ^heed-[0-9]{8}T[0-9]{6}Z$ ]] || fail "$name is not heed-YYYYmmddTHHMMSSZ"
	# The name is the interval's start, as the profile's time says.
	stamp=${name#heed-}
	want=$(date -u -d "${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:9:2}:${stamp:11:2}:${stamp:13:2}" '+%Y-%m-%d %H:%M:%S')
	go tool pprof -symbolize=none -raw "$f" >"$T/raw.txt" 2>"$T/perr" || fail "go tool pprof cannot read $f: $(cat "$T/perr")"
	grep -q "^Time: $want" "$T/raw.txt" || fail "$f: time is not its name's: $(grep '^Time' "$T/raw.txt")"
	folded=$(awk '{ s += $NF } END { print s + 0 }' "$T/all/$name.folded")
	got=$(awk '/^Samples:/ { on = 1; next } /^Locations/ { on = 0 }
	           on && /^ *[0-9]+ +[0-9]+:/ { s += $1 } END { print s + 0 }' "$T/raw.txt")
	[ "$got" -eq "$folded" ] || fail "$f has $got samples, its folded file $folded"
	sum=$((sum + got))
done
total=$(python3 -c 'import json, sys; p = json.load(open(sys.argv[1]))["profile"]; print(p["events"] - p["dropped"])' "$T/all.json")
[ "$sum" -gt 0 ] || fail "no samples in any interval"
# Every sample the kernel took is in exactly one interval (none counted twice, none
# lost between them): the kernel's count (JSON "events") less the records dropped.
[ "$sum" -eq "$total" ] || fail "the intervals hold $sum samples, the run took $total"

# --keep 2: only the two newest intervals stay. hot burns 4 s of CPU, so at least 4
# intervals of 1 s pass however idle the machine: rotation must have run.
"$TRACE" --profile -i 1 --out-dir "$T/kept" --keep 2 -- "$HOT" cpu 4 >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "--keep 2 failed"; }
rounds=$(grep -c '^-- [0-9:]*, ' "$T/out")
[ "$rounds" -gt 2 ] || fail "--keep 2: $rounds intervals, none to rotate away: $(cat "$T/out")"
[ "$(find "$T/kept" -name 'heed-*.pb.gz' | wc -l)" -eq 2 ] || fail "--keep 2 left: $(ls "$T/kept")"
[ "$(find "$T/kept" -type f | wc -l)" -eq 4 ] || fail "--keep 2 left other files: $(ls "$T/kept")"

expect_refused() {
	local msg=$1
	shift
	"$TRACE" "$@" -- "$HOT" cpu 1 >"$T/out" 2>"$T/err" && fail "heed-trace $* was accepted"
	grep -qF -- "$msg" "$T/err" || fail "heed-trace $*: stderr lacks '$msg': $(cat "$T/err")"
}
expect_refused "needs -i SEC of at least 1" --profile --out-dir "$T/kept"
expect_refused "needs -i SEC of at least 1" --profile -i 0.5 --out-dir "$T/kept"
expect_refused "needs -i SEC of at least 1" --ops -i 1 --out-dir "$T/kept"
expect_refused "not a writable directory" --profile -i 1 --out-dir "$T/no-such"
expect_refused "not a writable directory" --profile -i 1 --out-dir "$T/out"
expect_refused "--keep 0: expected" --profile -i 1 --out-dir "$T/kept" --keep 0
echo "t_trace_continuous: ok ($n intervals, $sum samples)"
