#!/usr/bin/env bash
# The performance regression gate: build a baseline and the candidate side by
# side, run the benchmark suites on both, interleaved, and fail when any
# benchmark got slower than the threshold.
#
# usage: ci/perf-regression-test.sh [--baseline REF|DIR|NAME|FILE.json] [--candidate DIR]
#            [--threshold PCT] [--quick] [--icount] [--rounds N] [--suites "S..."]
#            [--filter REGEX] [--out DIR] [--workdir DIR]
#   --baseline   a git ref (default: the merge base with main, else HEAD), a source
#                tree (a directory with a Makefile), a stored baseline NAME under
#                build/perf-results/baselines/, or one stored result FILE.json
#   --candidate  the source tree to judge (default: this working tree)
#   --threshold  percent slower that fails (default 10)
#   --quick      the suites' small sizes
#   --icount     instruction counts under callgrind: deterministic, one round
#   --rounds     interleaved rounds in time mode (default 6)
#   --suites     default "btree_ops page_alloc"
#   --out        report directory (default build/perf-results)
#   --workdir    where the trees are exported and built (default build/perf-gate)
# Writes OUT/report.md and OUT/report.json. Exit status: 0 no regression,
# 1 a regression, 2 the gate could not run (a build failed, bad arguments).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
baseline= candidate=$top threshold=10 quick= icount= rounds= filter=
suites="btree_ops page_alloc"
out=$top/build/perf-results
work=$top/build/perf-gate

die() {
	echo "perf-regression-test: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--baseline) baseline=${2:?--baseline needs a value}; shift ;;
	--candidate) candidate=${2:?--candidate needs a directory}; shift ;;
	--threshold) threshold=${2:?--threshold needs a percentage}; shift ;;
	--quick) quick=1 ;;
	--icount) icount=1 ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--suites) suites=${2:?--suites needs names}; shift ;;
	--filter) filter=${2:?--filter needs a regex}; shift ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	--workdir) work=${2:?--workdir needs a directory}; shift ;;
	-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done
case "$threshold" in '' | *[!0-9.]*) die "--threshold $threshold: not a percentage" ;; esac
[ -f "$candidate/Makefile" ] || die "candidate $candidate: no Makefile there"
candidate=$(cd "$candidate" && pwd)
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)
mkdir -p "$work" || die "cannot create $work"
work=$(cd "$work" && pwd)

# Resolve the baseline into one of: a source tree to build (base_src) or
# stored result files (base_store: a directory of <suite>.json, or one file).
base_src= base_store= base_label=
if [ -z "$baseline" ]; then
	ref=
	for m in main origin/main; do
		ref=$(git -C "$top" merge-base HEAD "$m" 2>/dev/null) && break
	done
	# In a fresh clone there may be no main branch, or the merge base is HEAD
	# itself: then the baseline is HEAD and the candidate is the working tree.
	[ -n "$ref" ] || ref=HEAD
	baseline=$ref
fi
if [ -d "$baseline" ] && [ -f "$baseline/Makefile" ]; then
	base_src=$(cd "$baseline" && pwd)
	base_label=$base_src
elif [ -f "$baseline" ]; then
	base_store=$(cd "$(dirname "$baseline")" && pwd)/$(basename "$baseline")
	base_label=$base_store
elif [ -d "$top/build/perf-results/baselines/$baseline" ]; then
	base_store=$top/build/perf-results/baselines/$baseline
	base_label="stored baseline $baseline"
elif commit=$(git -C "$top" rev-parse --verify -q "$baseline^{commit}"); then
	base_src=$work/src-${commit:0:12}
	if [ ! -f "$base_src/.exported" ]; then
		rm -rf "$base_src" && mkdir -p "$base_src"
		git -C "$top" archive "$commit" | tar -x -C "$base_src" ||
			die "cannot export $baseline ($commit) from git"
		touch "$base_src/.exported"
	fi
	base_label="$baseline (${commit:0:12})"
else
	die "--baseline $baseline: not a git ref, a source tree, a stored baseline or a result file"
fi

jobs=$(nproc 2>/dev/null || echo 2)
# Each source tree builds into its own directory: make judges by mtimes, so
# one build directory shared by two trees could keep the other tree's objects.
build_dir() {
	echo "$work/build-$(printf '%s' "$1" | md5sum | cut -c1-12)"
}

# Build the suites and heed-bench-compare of a tree into BUILDDIR.
build_tree() {
	local src=$1 dir=$2 targets= s
	for s in $suites; do targets="$targets $dir/bench/$s"; done
	echo "== building $src -> $dir"
	make -C "$src" --no-print-directory -j"$jobs" BUILD="$dir" $targets "$dir/bin/heed-bench-compare" \
		>"$dir.log" 2>&1 || { tail -n 30 "$dir.log" >&2; return 1; }
	for s in $suites; do
		[ -x "$dir/bench/$s" ] || { echo "no suite $s in $src" >&2; return 1; }
	done
}

cand_build=$(build_dir "$candidate")
build_tree "$candidate" "$cand_build" || die "building the candidate $candidate failed"
if [ -n "$base_src" ]; then
	base_build=$(build_dir "$base_src")
	build_tree "$base_src" "$base_build" || die "building the baseline $base_label failed"
fi

compare=$cand_build/bin/heed-bench-compare
suite_args=()
[ -n "$quick" ] && suite_args+=(--quick)
[ -n "$filter" ] && suite_args+=(--filter "$filter")
cmp_args=(--threshold "$threshold" --label-base "$base_label" --label-cand "$candidate")
[ -n "$icount" ] && cmp_args+=(--icount)
[ -n "$rounds" ] && cmp_args+=(--rounds "$rounds")

mkdir -p "$out/gate"
status=0
parts=()
for s in $suites; do
	echo "== $s"
	res=$out/gate/$s
	if [ -n "$base_store" ]; then
		if [ -f "$base_store" ]; then stored=$base_store; else stored=$base_store/$s.json; fi
		[ -f "$stored" ] || die "no stored result for $s at $stored"
		"$cand_build/bench/$s" "${suite_args[@]}" ${icount:+--icount} --json "$res.cand.json" \
			>"$res.log" 2>&1 || die "$s failed on the candidate (log: $res.log)"
		"$compare" --files "${cmp_args[@]}" --out-json "$res.json" --out-md "$res.md" \
			"$stored" "$res.cand.json"
	else
		"$compare" "${cmp_args[@]}" --workdir "$(mkdir -p "$res.rounds" && echo "$res.rounds")" \
			--out-json "$res.json" --out-md "$res.md" \
			"$base_build/bench/$s" "$cand_build/bench/$s" -- "${suite_args[@]}"
	fi
	rc=$?
	case $rc in
	0) ;;
	1) status=1 ;;
	*) die "comparing $s failed" ;;
	esac
	parts+=("$s")
done

regressions=0
for s in "${parts[@]}"; do
	n=$(sed -n 's/.*"regressions":\([0-9]*\).*/\1/p' "$out/gate/$s.json" | head -n 1)
	regressions=$((regressions + ${n:-0}))
done
verdict=$([ "$status" -eq 0 ] && echo PASS || echo FAIL)
mode=$([ -n "$icount" ] && echo "instruction counts (callgrind)" || echo "wall time, interleaved")
{
	echo "# heed performance gate: $verdict"
	echo
	echo "- baseline: $base_label"
	echo "- candidate: $candidate"
	echo "- mode: $mode${quick:+, quick sizes}; threshold $threshold%"
	echo "- regressions: $regressions"
	echo
	for s in "${parts[@]}"; do cat "$out/gate/$s.md"; done
} >"$out/report.md"
{
	printf '{"schema":"heed-perf-gate","version":1,"verdict":"%s","threshold_pct":%s,' \
		"$verdict" "$threshold"
	printf '"mode":"%s","quick":%s,"regressions":%d,"suites":[' \
		"$([ -n "$icount" ] && echo icount || echo time)" "$([ -n "$quick" ] && echo true || echo false)" \
		"$regressions"
	sep=
	for s in "${parts[@]}"; do
		printf '%s' "$sep"
		cat "$out/gate/$s.json"
		sep=,
	done
	printf ']}\n'
} >"$out/report.json"
echo "perf-regression-test: $verdict, $regressions regression(s) past $threshold% (report: $out/report.md)"
exit "$status"
