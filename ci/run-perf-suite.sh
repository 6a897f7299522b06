#!/usr/bin/env bash
# Run the benchmark suites at every build type and measure what each
# profile gains over the default -O2 build.
#
# usage: ci/run-perf-suite.sh [--quick] [--rounds N] [--profiles "P..."] [--suites "S..."]
#            [--out DIR]
#   --profiles  default "debug default release native pgo" (release: -O3 + LTO,
#               native: -march=native, pgo: ci/pgo.sh)
#   --suites    default "btree_ops page_alloc db_comparison"
#   --rounds    interleaved rounds of each A/B comparison (default 5)
#   --quick     the suites' small sizes
#   --out       results directory (default build/perf-results)
# Writes, under OUT:
#   <profile>/<suite>.json    one run of each suite (heed-bench v1 JSON)
#   gains/<profile>-<suite>.{md,json}   <profile> against default, interleaved
#   summary.md                the gains table (geometric mean of per-case ratios)
# Then runs each executable hook ci/perf-suite.d/*.sh as `HOOK OUT TOP` (flame
# graphs, the dashboard and recommendations plug in there).
# Exit status: 0 when every build type built and ran, 1 otherwise (the rest still runs).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
quick= rounds=5 out=$top/build/perf-results
profiles="debug default release native pgo"
suites="btree_ops page_alloc db_comparison"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=--quick ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--profiles) profiles=${2:?--profiles needs names}; shift ;;
	--suites) suites=${2:?--suites needs names}; shift ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "run-perf-suite: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$out/gains" || exit 2
jobs=$(nproc 2>/dev/null || echo 2)
failed=

bdir() {
	if [ "$1" = default ]; then echo build; else echo "build/$1"; fi
}

build_profile() {
	local p=$1 targets= s
	for s in $suites; do targets="$targets $(bdir "$p")/bench/$s"; done
	echo "== build $p"
	if [ "$p" = pgo ]; then
		HEED_PGO_ROUNDS=0 sh ci/pgo.sh >"$out/build-$p.log" 2>&1 || return 1
		make --no-print-directory -j"$jobs" BUILD_TYPE=pgo $targets >>"$out/build-$p.log" 2>&1
	else
		make --no-print-directory -j"$jobs" BUILD_TYPE="$p" all $targets >"$out/build-$p.log" 2>&1
	fi
}

# db_comparison's other engines are not built by us: only heed's cases tell
# what a build type changes.
suite_args() {
	if [ "$1" = db_comparison ]; then echo "$quick --filter /heed\$"; else echo "$quick"; fi
}

built=
for p in $profiles; do
	if build_profile "$p"; then
		built="$built $p"
	else
		echo "run-perf-suite: building profile $p failed (log: $out/build-$p.log)" >&2
		tail -n 15 "$out/build-$p.log" >&2
		failed="$failed $p"
	fi
done
case " $built " in
*" default "*) ;;
*) make --no-print-directory -j"$jobs" all $(for s in $suites; do printf ' build/bench/%s' "$s"; done) \
	>"$out/build-default.log" 2>&1 || { echo "run-perf-suite: the default build failed" >&2; exit 1; } ;;
esac
make --no-print-directory build/bin/heed-bench-compare >/dev/null || exit 1

for p in $built; do
	mkdir -p "$out/$p"
	for s in $suites; do
		echo "== run $p $s"
		# shellcheck disable=SC2046
		"$(bdir "$p")/bench/$s" $(suite_args "$s") --json "$out/$p/$s.json" >"$out/$p/$s.log" 2>&1 ||
			{ echo "run-perf-suite: $p $s failed (log: $out/$p/$s.log)" >&2; failed="$failed $p/$s"; }
	done
done

{
	echo "# Build profiles against -O2 (default)"
	echo
	echo "Interleaved A/B, $rounds rounds each${quick:+, quick sizes}; ratio = time(profile) / time(-O2),"
	echo "geometric mean over the cases; below 1.00 is faster. \"faster\"/\"slower\" count the cases"
	echo "the Wilcoxon test finds changed at alpha 0.05."
	echo
	echo "| profile | suite | geomean ratio | gain | faster | slower | cases |"
	echo "|---|---|---:|---:|---:|---:|---:|"
} >"$out/summary.md"
for p in $built; do
	[ "$p" = default ] && continue
	for s in $suites; do
		echo "== compare default vs $p: $s"
		g=$out/gains/$p-$s
		# shellcheck disable=SC2046
		build/bin/heed-bench-compare --rounds "$rounds" --label-base "-O2" --label-cand "$p" \
			--out-json "$g.json" --out-md "$g.md" \
			"build/bench/$s" "$(bdir "$p")/bench/$s" -- $(suite_args "$s") >"$g.log" 2>&1
		[ $? -le 1 ] || { echo "run-perf-suite: comparing $p $s failed (log: $g.log)" >&2; failed="$failed cmp:$p/$s"; continue; }
		grep -o '"ratio":[0-9.e+-]*\|"verdict":"[^"]*"' "$g.json" | awk -F: -v p="$p" -v s="$s" '
			$1 == "\"ratio\"" { n++; sum += log($2) }
			/verdict/ && (/improved/ || /faster/) { fast++ }
			/verdict/ && (/regressed/ || /slower/) { slow++ }
			END { if (n) { g = exp(sum / n); printf "| %s | %s | %.3f | %+.1f%% | %d | %d | %d |\n", p, s, g, (1 / g - 1) * 100, fast, slow, n } }' \
			>>"$out/summary.md"
	done
done
cat "$out/summary.md"

for hook in ci/perf-suite.d/*.sh; do
	[ -x "$hook" ] || continue
	echo "== hook $hook"
	"$hook" "$out" "$top" || { echo "run-perf-suite: hook $hook failed" >&2; failed="$failed $hook"; }
done

if [ -n "$failed" ]; then
	echo "run-perf-suite: failed:$failed" >&2
	exit 1
fi
echo "run-perf-suite: results in $out (summary.md)"
