#!/usr/bin/env bash
# Self-test of the performance gate (ci/perf-regression-test.sh).
# A scratch copy of this tree gets a real slowdown planted in heed_get (a
# loop of about a tenth of a get's instructions); the gate must fail on it
# and pass on an unchanged copy built separately, every repetition.
# Instruction counts (--icount) keep it deterministic and fast enough for CI;
# one run in the default mode (counts decide, wall time is a second opinion)
# must fail the slowed tree too and print progress with the time left.
# HEED_GATE_REPS sets the repetitions of each verdict (default 2; the gate's
# README reports a run with 5). Usage: bash tests/t_perf_gate.sh BUILD
set -uo pipefail
top=$(pwd)
reps=${HEED_GATE_REPS:-2}
# Loop iterations planted in heed_get; a volatile counter costs about 6
# instructions an iteration, a quick-size get about 1800 to 2100.
spin=${HEED_GATE_SPIN:-35}

fail() {
	echo "t_perf_gate: FAIL: $*" >&2
	exit 1
}
command -v valgrind >/dev/null || fail "valgrind is not installed (apt-get install valgrind): the gate's --icount mode needs it"
[ -f core/db.c ] || fail "core/db.c not found: run from the repository root"
grep -q '^HEED_API int heed_get(' core/db.c || fail "heed_get is no longer defined in core/db.c: update the planted slowdown"

# report.json carries the threshold as a bare JSON number: forms that are
# not one are refused before anything is built.
for t in .5 5. 1.2.3; do
	bash ci/perf-regression-test.sh --threshold "$t" >/dev/null 2>&1
	[ $? -eq 2 ] || fail "--threshold $t was not refused with status 2"
done

tmp=$(mktemp -d /tmp/heed-perf-gate.XXXXXX) || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT

# Copy the tree as it is (tracked and new files, build output excluded).
copy_tree() {
	mkdir -p "$1"
	git ls-files -z --cached --others --exclude-standard -- . ':!build' |
		tar --null -T - -cf - 2>/dev/null | tar -x -C "$1" || fail "copying the tree to $1"
}
copy_tree "$tmp/base"
copy_tree "$tmp/same"
copy_tree "$tmp/slow"
# The planted work: a loop at the top of heed_get, volatile so the compiler keeps it.
sed -i "/^HEED_API int heed_get(/,/^{/ s/^{\$/{\n\tfor (volatile unsigned heed_spin = 0; heed_spin < $spin; heed_spin++)\n\t\tcontinue;/" \
	"$tmp/slow/core/db.c"
grep -q heed_spin "$tmp/slow/core/db.c" || fail "planting the slowdown in core/db.c failed"

gate=(bash "$top/ci/perf-regression-test.sh" --icount --quick --threshold 5
	--baseline "$tmp/base" --workdir "$tmp/work")
for rep in $(seq 1 "$reps"); do
	"${gate[@]}" --candidate "$tmp/same" --out "$tmp/out-same" >"$tmp/same.log" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || { tail -n 40 "$tmp/same.log"; fail "rep $rep: the gate did not pass an unchanged tree (exit $rc)"; }
	echo "rep $rep: unchanged tree: PASS (as expected)"

	"${gate[@]}" --candidate "$tmp/slow" --out "$tmp/out-slow" >"$tmp/slow.log" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || { tail -n 40 "$tmp/slow.log"; fail "rep $rep: the gate did not fail on the planted slowdown (exit $rc)"; }
	grep -q '| get_hit/4k/1000 | .*regressed' "$tmp/out-slow/report.md" ||
		fail "rep $rep: the report does not name get_hit/4k/1000 as regressed"
	if grep -E '^\| (insert|range_scan|delete)[^|]*\|.*regressed' "$tmp/out-slow/report.md"; then
		fail "rep $rep: benchmarks that do not call heed_get were reported as regressed"
	fi
	change=$(grep '| get_hit/4k/1000 |' "$tmp/out-slow/report.md" | cut -d'|' -f5 | tr -d ' ')
	echo "rep $rep: planted slowdown (get_hit/4k/1000 $change): FAIL (as expected)"
done

# The default mode (instruction counts decide, wall time is a second opinion)
# on the slowed tree: the counts fail it whatever wall time says, so this
# verdict does not depend on the machine. The get cases at 4 KiB and the
# fewest rounds keep it short; the gate must report progress while it runs.
bash "$top/ci/perf-regression-test.sh" --quick --rounds 5 --suites btree_ops \
	--filter '^get_(hit|miss)/4k/1000$' --baseline "$tmp/base" --workdir "$tmp/work" \
	--candidate "$tmp/slow" --out "$tmp/out-both" >"$tmp/both.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { tail -n 40 "$tmp/both.log"; fail "default mode: the gate did not fail on the planted slowdown (exit $rc)"; }
grep -q '"mode":"both"' "$tmp/out-both/report.json" ||
	fail "default mode: report.json does not say mode both (valgrind runs here)"
sed -n '/^## Instruction counts/,/^## Wall time/p' "$tmp/out-both/report.md" |
	grep -q '| get_hit/4k/1000 | .*regressed' ||
	fail "default mode: the instruction counts do not name get_hit/4k/1000 as regressed"
grep -q '^## Wall time' "$tmp/out-both/report.md" || fail "default mode: no wall-time second opinion in the report"
for p in icount time; do
	grep -qE "^\[[0-9]+:[0-9]{2}\] $p btree_ops: run [0-9]+/[0-9]+, case [0-9]+/[0-9]+; about [0-9]+:[0-9]{2} left\$" \
		"$tmp/both.log" || fail "default mode: no progress line with the time left for the $p step"
done
echo "default mode (counts + wall time): planted slowdown: FAIL (as expected), with progress"
echo "t_perf_gate: $reps repetitions of each verdict, none wrong"
