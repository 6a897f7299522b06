#!/usr/bin/env bash
# The performance regression gate: build a baseline and the candidate side by
# side, run the benchmark suites on both, and fail when any benchmark got
# slower than the threshold.
#
# usage: ci/perf-regression-test.sh [--baseline REF|DIR|NAME|FILE.json] [--candidate DIR]
#            [--mode both|icount|time] [--icount] [--time] [--quick | --full]
#            [--threshold PCT] [--rounds N] [--confirm-rounds N] [--time-fails]
#            [--suites "S..."] [--filter REGEX] [--out DIR] [--workdir DIR]
#   --baseline   a git ref (default: the merge base with main, else HEAD), a source
#                tree (a directory with a Makefile), a stored baseline NAME under
#                build/perf-results/baselines/, or one stored result FILE.json
#   --candidate  the source tree to judge (default: this working tree)
#   --mode       both (default where valgrind runs, else time): instruction counts
#                under callgrind decide, wall time (interleaved rounds) is a second
#                opinion: a case only it flags is re-run, and one regressed again
#                is a warning (--time-fails: a failure); icount (--icount): counts
#                only; time (--time): wall time only, a regression the re-run
#                confirms fails
#   --quick      the suites' small sizes everywhere; --full: full sizes everywhere
#                (hours). Default: counts up to 1e5 keys, wall time at small sizes
#   --threshold  percent slower that fails (default 10)
#   --rounds     interleaved wall-time rounds (default 6)
#   --confirm-rounds  rounds of the re-run of cases wall time flagged (default 10;
#                0: no re-run, the first verdict stands)
#   --time-fails with --mode both, wall-time regressions fail the gate too
#   --suites     default "btree_ops page_alloc"
#   --filter     only the cases matching REGEX (replaces the default subset)
#   --out        report directory (default build/perf-results)
#   --workdir    where the trees are exported and built (default build/perf-gate)
# Prints progress with an estimate of the time left (every HEED_GATE_PROGRESS_S
# seconds, default 15). Writes OUT/report.md and OUT/report.json. Exit status:
# 0 no regression, 1 a regression, 2 the gate could not run (a build failed, bad
# arguments).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
baseline= candidate=$top threshold=10 mode= sizes=default rounds=6 confirm_rounds=10 filter=
time_fails=
suites="btree_ops page_alloc"
out=$top/build/perf-results
work=$top/build/perf-gate
tick=${HEED_GATE_PROGRESS_S:-15}

die() {
	echo "perf-regression-test: $*" >&2
	exit 2
}

whole() {
	case "$2" in '' | *[!0-9]*) die "$1 $2: not a whole number" ;; esac
}

while [ $# -gt 0 ]; do
	case "$1" in
	--baseline) baseline=${2:?--baseline needs a value}; shift ;;
	--candidate) candidate=${2:?--candidate needs a directory}; shift ;;
	--threshold) threshold=${2:?--threshold needs a percentage}; shift ;;
	--mode) mode=${2:?--mode needs both, icount or time}; shift ;;
	--icount) mode=icount ;;
	--time) mode="time" ;;
	--quick) sizes=quick ;;
	--full) sizes=full ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--confirm-rounds) confirm_rounds=${2:?--confirm-rounds needs a number}; shift ;;
	--time-fails) time_fails=1 ;;
	--suites) suites=${2:?--suites needs names}; shift ;;
	--filter) filter=${2:?--filter needs a regex}; shift ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	--workdir) work=${2:?--workdir needs a directory}; shift ;;
	-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done
# Digits with an optional fraction: the value goes into report.json as a bare
# JSON number, where ".5" and "5." are not numbers.
[[ $threshold =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--threshold $threshold: not a percentage"
whole --rounds "$rounds"
whole HEED_GATE_PROGRESS_S "$tick"
whole --confirm-rounds "$confirm_rounds"
# The comparator's Wilcoxon test cannot reach p < 0.05 with fewer than 5 rounds.
[ "$rounds" -ge 5 ] || die "--rounds $rounds: at least 5 (the Wilcoxon test needs them)"
[ "$confirm_rounds" -eq 0 ] || [ "$confirm_rounds" -ge 5 ] ||
	die "--confirm-rounds $confirm_rounds: 0 or at least 5"
[ -f "$candidate/Makefile" ] || die "candidate $candidate: no Makefile there"
candidate=$(cd "$candidate" && pwd)
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)
mkdir -p "$work" || die "cannot create $work"
work=$(cd "$work" && pwd)
t0=$(date +%s)

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

stored_file() {
	if [ -f "$base_store" ]; then echo "$base_store"; else echo "$base_store/$1.json"; fi
}

# The mode. A stored result was measured one way: compare it the same way.
if [ -n "$base_store" ] && [ -z "$mode" ]; then
	first=$(stored_file "${suites%% *}")
	[ -f "$first" ] || die "no stored result for ${suites%% *} at $first"
	if grep -q '"mode":"icount"' "$first"; then mode=icount; else mode="time"; fi
fi
valgrind_note=
if [ -z "$mode" ]; then
	if command -v valgrind >/dev/null 2>&1 && valgrind -q --tool=none true >/dev/null 2>&1; then
		mode=both
	else
		mode="time"
		valgrind_note="valgrind does not run here: wall time alone decides"
		echo "perf-regression-test: $valgrind_note" >&2
	fi
fi
case "$mode" in
both | icount | time) ;;
*) die "--mode $mode: both, icount or time" ;;
esac
[ "$mode" != both ] || [ -z "$base_store" ] ||
	die "--mode both needs a baseline to build (a stored result was measured one way)"
phases=
[ "$mode" = time ] || phases=icount
[ "$mode" = both ] || time_fails=1
[ "$mode" = icount ] || phases="$phases time"

# Suite arguments of a phase. Counts are deterministic, so one run per side
# covers trees up to 1e5 keys in about a minute; the 1e6-key cases cost
# ~7 CPU-minutes a side under callgrind (and 14 in wall time, 30 samples of
# whole loads), so only --full runs them. Wall time runs the small sizes:
# its rounds repeat everything.
phase_args() {
	local phase=$1 suite=$2
	case "$sizes" in
	quick) printf '%s\n' --quick ;;
	full) ;;
	default)
		if [ "$phase" = time ]; then
			printf '%s\n' --quick
		elif [ -z "$filter" ] && [ "$suite" = btree_ops ]; then
			printf '%s\n' --filter '/(1000|10000|100000)$'
		fi
		;;
	esac
	[ -z "$filter" ] || printf '%s\n' --filter "$filter"
}

# Seconds per suite run on a quiet two-core VM (bench/README.md, "The gate:
# cost"), only to plan the estimate of the time left; it is rescaled by what
# the runs so far took.
prior() {
	local phase=$1 suite=$2 s=$sizes
	[ "$phase" = time ] && [ "$s" = default ] && s=quick
	case "$phase/$suite/$s" in
	icount/btree_ops/quick) echo 3 ;;
	icount/btree_ops/default) echo 30 ;;
	icount/btree_ops/full) echo 410 ;;
	icount/page_alloc/quick) echo 1 ;;
	icount/page_alloc/*) echo 4 ;;
	time/btree_ops/quick) echo 6 ;;
	time/btree_ops/full) echo 840 ;;
	time/page_alloc/quick) echo 1 ;;
	time/page_alloc/full) echo 10 ;;
	*) echo 20 ;;
	esac
}

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
	# shellcheck disable=SC2086
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

# The suites run from two paths of the same length: the kernel puts argv and
# the environment at the top of the stack, so paths of different lengths move
# the stack's alignment, which by itself can change wall time by several
# percent between two builds of the same code. (The suites link libheed
# statically: a copy is the whole program.)
run_base=$work/run/base run_cand=$work/run/cand
mkdir -p "$run_base" "$run_cand" || die "cannot create $work/run"
for s in $suites; do
	cp "$cand_build/bench/$s" "$run_cand/$s" || die "cannot copy the candidate's $s"
	[ -z "$base_src" ] || cp "$base_build/bench/$s" "$run_base/$s" || die "cannot copy the baseline's $s"
done

# The plan: suite runs of each step and their expected seconds, for the
# estimate of the time left.
plan_total=0
for p in $phases; do
	for s in $suites; do
		if [ -n "$base_store" ]; then n=1; elif [ "$p" = icount ]; then n=2; else n=$((2 * rounds)); fi
		plan_total=$((plan_total + n * $(prior "$p" "$s")))
	done
done
done_prior=0 measure_secs=0

clock() {
	printf '%d:%02d' $(($1 / 60)) $(($1 % 60))
}

# Progress of the running step: run R of the step (the comparator prints a
# line per run), begun at RUN_T, and the cases finished in the newest suite
# log. How far the current run is: after the first run, its time so far
# against the step's earlier runs (cases differ in cost by 1000x, so their
# count says little); in the first, the cases done.
progress() {
	local label=$1 runs=$2 ncases=$3 each=$4 dir=$5 started=$6 now=$7 r=$8 run_t=$9
	local log c=0 eta
	log=$(ls -t "$dir"/*.log 2>/dev/null | head -n 1)
	[ -n "$log" ] && c=$(grep -cE '^[^ ]+ +(time|icount): ' "$log")
	eta=$(awk -v r="$r" -v runs="$runs" -v c="$c" -v n="$ncases" -v each="$each" \
		-v dp="$done_prior" -v ms="$measure_secs" -v el=$((now - started)) -v total="$plan_total" \
		-v in_run=$((now - run_t)) -v before=$((run_t - started)) '
		BEGIN {
			if (r < 1) r = 1
			part = n > 0 ? c / n : 0
			if (r > 1 && before > 0) {
				part = in_run / (before / (r - 1))
				if (part > 0.95) part = 0.95
			}
			frac = (r - 1 + part) / runs
			used = dp + frac * runs * each
			speed = used > 1 ? (ms + el) / used : 1
			left = (total - used) * speed
			printf "%d", left < 0 ? 0 : left
		}')
	echo "[$(clock $((now - t0)))] $label: run $r/$runs, case $c/$ncases;" \
		"about $(clock "$eta") left"
}

# Run one comparison in the background, printing progress while it runs.
# It gets a process group of its own (setsid), so that the gate ending for
# any reason (interrupted, its output closed) ends the comparator, the suite
# it runs and valgrind with it, not just the comparator.
# compare_step LABEL RUNS PRIOR_EACH NCASES OUTFILE ROUNDSDIR COMPARE_ARGS...
bg_pid=
compare_step() {
	local label=$1 runs=$2 each=$3 ncases=$4 outf=$5 dir=$6 pid rc started last now r=1 cur_r=1 run_t
	shift 6
	rm -f "$dir"/*.log "$dir"/*.json
	setsid "$compare" "$@" >"$outf" 2>&1 &
	pid=$! bg_pid=$!
	trap '[ -z "$bg_pid" ] || kill -- -"$bg_pid" 2>/dev/null' EXIT
	trap 'exit 2' INT TERM HUP PIPE
	started=$(date +%s) last=$started run_t=$started
	progress "$label" "$runs" "$ncases" "$each" "$dir" "$started" "$started" 1 "$run_t"
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		now=$(date +%s)
		r=$(grep -c '^round ' "$outf" 2>/dev/null)
		[ "$r" -ge 1 ] || r=1
		if [ "$r" -ne "$cur_r" ]; then
			cur_r=$r run_t=$now
		fi
		if [ $((now - last)) -ge "$tick" ]; then
			progress "$label" "$runs" "$ncases" "$each" "$dir" "$started" "$now" "$r" "$run_t"
			last=$now
		fi
	done
	wait "$pid"
	rc=$?
	bg_pid=
	trap - EXIT INT TERM HUP PIPE
	measure_secs=$((measure_secs + $(date +%s) - started))
	done_prior=$((done_prior + runs * each))
	grep -v '^round ' "$outf"
	return "$rc"
}

# Cases of a suite a phase runs (the harness lists what --filter/--quick select).
count_cases() {
	local suite=$1
	shift
	"$run_cand/$suite" "$@" --list 2>/dev/null | grep -c .
}

# Names of the cases a comparison (heed-bench-compare JSON) calls regressed.
regressed_names() {
	tr -d '\n' <"$1" | sed 's/{ *"name" *:/\n&/g' |
		sed -n 's/^{ *"name" *: *"\([^"]*\)".*"verdict" *: *"regressed".*/\1/p'
}

mkdir -p "$out/gate"
rm -f "$out/gate"/*.json "$out/gate"/*.md
status=0
icount_docs=() time_docs=() confirm_docs=() decided=0 flagged_total=0 confirmed=0 warned=()
for p in $phases; do
	for s in $suites; do
		mapfile -t args < <(phase_args "$p" "$s")
		res=$out/gate/$p-$s
		rdir=$res.rounds
		mkdir -p "$rdir"
		ncases=$(count_cases "$s" "${args[@]}")
		cmp_args=(--threshold "$threshold" --label-base "$base_label" --label-cand "$candidate"
			--out-json "$res.json" --out-md "$res.md")
		[ "$p" = icount ] && cmp_args+=(--icount) || cmp_args+=(--rounds "$rounds")
		echo "== $p $s ($ncases cases)"
		if [ -n "$base_store" ]; then
			stored=$(stored_file "$s")
			[ -f "$stored" ] || die "no stored result for $s at $stored"
			[ "$p" = icount ] && args+=(--icount)
			"$run_cand/$s" "${args[@]}" --json "$res.cand.json" >"$rdir/cand.log" 2>&1 ||
				die "$s failed on the candidate (log: $rdir/cand.log)"
			"$compare" --files "${cmp_args[@]}" "$stored" "$res.cand.json"
		else
			compare_step "$p $s" "$([ "$p" = icount ] && echo 2 || echo $((2 * rounds)))" \
				"$(prior "$p" "$s")" "$ncases" "$res.out" "$rdir" \
				"${cmp_args[@]}" --workdir "$rdir" \
				"$run_base/$s" "$run_cand/$s" -- "${args[@]}"
		fi
		rc=$?
		case $rc in
		0 | 1) ;;
		*) die "comparing $s ($p) failed (logs: $rdir)" ;;
		esac
		if [ "$p" = icount ]; then
			icount_docs+=("$res")
			[ "$rc" -eq 0 ] || status=1
			decided=$((decided + $(regressed_names "$res.json" | grep -c .)))
			continue
		fi
		time_docs+=("$res")
		[ "$rc" -eq 1 ] || continue
		# Wall time flagged cases. Those the counts already failed need no
		# second look; the others are re-run on their own, and only a
		# regression seen twice fails the gate (many cases tested at once on
		# a noisy machine give a fluke now and then).
		mapfile -t flagged < <(regressed_names "$res.json")
		if [ "$mode" = both ]; then
			mapfile -t flagged < <(printf '%s\n' "${flagged[@]}" |
				grep -vxF -f <(regressed_names "$out/gate/icount-$s.json"))
		fi
		[ "${#flagged[@]}" -gt 0 ] && [ -n "${flagged[0]}" ] || continue
		flagged_total=$((flagged_total + ${#flagged[@]}))
		if [ "$confirm_rounds" -eq 0 ] || [ -n "$base_store" ]; then
			if [ -n "$time_fails" ]; then
				status=1 decided=$((decided + ${#flagged[@]}))
			else
				warned+=("${flagged[@]}")
			fi
			continue
		fi
		re="^($(printf '%s\n' "${flagged[@]}" | sed 's/[][\.*^$()+?{}|]/\\&/g' | paste -sd'|'))\$"
		mapfile -t cargs < <(phase_args time "$s")
		cargs+=(--filter "$re")
		res=$out/gate/confirm-$s
		echo "== re-run of $s: ${flagged[*]}"
		plan_total=$((plan_total + 2 * confirm_rounds * 2))
		compare_step "re-run $s" $((2 * confirm_rounds)) 2 "${#flagged[@]}" "$res.out" \
			"$(mkdir -p "$res.rounds" && echo "$res.rounds")" \
			--threshold "$threshold" --rounds "$confirm_rounds" --label-base "$base_label" \
			--label-cand "$candidate" --out-json "$res.json" --out-md "$res.md" \
			--workdir "$res.rounds" "$run_base/$s" "$run_cand/$s" -- "${cargs[@]}"
		rc=$?
		case $rc in
		0) ;;
		1)
			mapfile -t again < <(regressed_names "$res.json")
			confirmed=$((confirmed + ${#again[@]}))
			if [ -n "$time_fails" ]; then
				status=1 decided=$((decided + ${#again[@]}))
			else
				warned+=("${again[@]}")
			fi
			;;
		*) die "re-running $s failed (logs: $res.rounds)" ;;
		esac
		confirm_docs+=("$res")
	done
done

elapsed=$(($(date +%s) - t0))
verdict=$([ "$status" -eq 0 ] && echo PASS || echo FAIL)
case "$mode" in
both) mode_text="instruction counts (callgrind) decide; wall time, interleaved, second opinion" ;;
icount) mode_text="instruction counts (callgrind)" ;;
time) mode_text="wall time, interleaved" ;;
esac
size_text() {
	case "$sizes/$1" in
	quick/* | default/time) echo "small sizes (--quick)" ;;
	full/*) echo "full sizes" ;;
	default/icount) echo "up to 1e5 keys (btree_ops), full sizes (others)" ;;
	esac
}
section() {
	local title=$1
	shift
	[ $# -gt 0 ] || return 0
	echo "## $title"
	echo
	for d in "$@"; do cat "$d.md"; done
}
{
	echo "# heed performance gate: $verdict"
	echo
	echo "- baseline: $base_label"
	echo "- candidate: $candidate"
	echo "- mode: $mode_text; threshold $threshold%${filter:+; cases matching $filter}"
	[ -z "$valgrind_note" ] || echo "- $valgrind_note"
	for p in $phases; do echo "- $p: $(size_text "$p")$([ "$p" = time ] && echo ", $rounds rounds")"; done
	echo "- regressions: $decided"
	if [ "$mode" = both ] || { [ "$mode" = time ] && [ "$flagged_total" -gt 0 ]; }; then
		echo "- wall time flagged $flagged_total case(s) the counts did not;" \
			"$confirmed confirmed by a re-run of $confirm_rounds rounds"
	fi
	[ "${#warned[@]}" -eq 0 ] ||
		echo "- **warning**: wall time alone calls ${warned[*]} regressed (the counts decide;" \
			"--time-fails would fail the gate)"
	echo "- took $(clock "$elapsed") (load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
	echo
	section "Instruction counts" "${icount_docs[@]}"
	section "Wall time" "${time_docs[@]}"
	section "Re-run of the cases wall time flagged" "${confirm_docs[@]}"
} >"$out/report.md"
docs() {
	local sep= d
	printf '['
	for d in "$@"; do
		printf '%s' "$sep"
		tr -d '\n' <"$d.json"
		sep=,
	done
	printf ']'
}
{
	printf '{"schema":"heed-perf-gate","version":2,"verdict":"%s","threshold_pct":%s,' \
		"$verdict" "$threshold"
	printf '"mode":"%s","sizes":"%s","rounds":%d,"confirm_rounds":%d,"regressions":%d,' \
		"$mode" "$sizes" "$rounds" "$confirm_rounds" "$decided"
	printf '"time_flagged":%d,"time_confirmed":%d,"time_fails":%s,"warnings":%d,"elapsed_s":%d,' \
		"$flagged_total" "$confirmed" "$([ -n "$time_fails" ] && echo true || echo false)" \
		"${#warned[@]}" "$elapsed"
	printf '"icount":%s,"time":%s,"confirm":%s}\n' "$(docs "${icount_docs[@]}")" \
		"$(docs "${time_docs[@]}")" "$(docs "${confirm_docs[@]}")"
} >"$out/report.json"
[ "${#warned[@]}" -eq 0 ] ||
	echo "perf-regression-test: warning: wall time alone calls ${warned[*]} regressed" \
		"(instruction counts decide; --time-fails would fail the gate)"
echo "perf-regression-test: $verdict, $decided regression(s) past $threshold% in $(clock "$elapsed")" \
	"(report: $out/report.md)"
exit "$status"
