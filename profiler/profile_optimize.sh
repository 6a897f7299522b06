# The body of optimize.sh. heed-profile writes a header that sets top,
# base_build, base_label, out, chosen, suites and suite_args, then this file.
#
# For each build type (the one heed-profile chose first, then the others;
# or only those given as arguments): build it, rebuild the suites with it, run
# them against the profiled build with interleaved A/B rounds
# (heed-bench-compare: paired ratios, Wilcoxon test) and compute the gain as
# the geometric mean of the cost ratios over every benchmark. A profile that
# fails to build is reported and skipped. Prints every gain and the best.
# HEED_OPT_ROUNDS sets the rounds (default 6).
set -euo pipefail
cd "$top"
rounds=${HEED_OPT_ROUNDS:-6}
if [ $# -gt 0 ]; then
	profiles=("$@")
else
	profiles=("$chosen")
	for p in release native pgo; do
		[ "$p" = "$chosen" ] || profiles+=("$p")
	done
fi

build_profile() {
	case $1 in
	release | native | debug) make --no-print-directory "$1" ;;
	# make pgo measures its own gain on btree_ops; this script measures below
	pgo) HEED_PGO_ROUNDS=0 make --no-print-directory pgo ;;
	*)
		echo "optimize.sh: unknown profile '$1' (release, native, pgo, debug)" >&2
		return 2
		;;
	esac
	for s in "${suites[@]}"; do
		make --no-print-directory BUILD_TYPE="$1" "build/$1/bench/$s" || return 1
	done
}

# gain FILE...: "PCT|IMPROVED|sentence": the throughput gain over every
# result of heed-bench-compare's --out-json files (one result per line), and
# how many benchmarks improved significantly.
gain() {
	awk '/"verdict":"improved"/ { up++ } /"verdict":"regressed"/ { down++ }
		match($0, /"ratio":[-+0-9.eE]+/) {
			r = substr($0, RSTART + 8, RLENGTH - 8) + 0
			if (r > 0) { s += log(r); n++ } }
		END { if (!n) exit 1; g = exp(s / n)
			printf "%.2f|%d|%+.1f%% throughput (cost x%.3f, geometric mean of %d benchmarks; %d improved, %d regressed past the threshold)\n", (1 / g - 1) * 100, up + 0, (1 / g - 1) * 100, g, n, up + 0, down + 0 }' "$@"
}

summary=()
best=
best_gain=
best_up=
for profile in "${profiles[@]}"; do
	echo "== $profile: building"
	rc=0
	build_profile "$profile" || rc=$?
	if [ "$rc" -eq 2 ]; then
		exit 2
	elif [ "$rc" -ne 0 ]; then
		echo "optimize.sh: make $profile failed; skipping it" >&2
		summary+=("$profile: the build failed, not measured")
		continue
	fi
	files=()
	for s in "${suites[@]}"; do
		echo "== $profile: $s against $base_label, $rounds interleaved rounds"
		rc=0
		args=("${suite_args[@]}")
		# only heed's cases of db_comparison, as heed-profile ran it
		[ "$s" != db_comparison ] || args+=(--filter '/heed$')
		"$base_build/bin/heed-bench-compare" --rounds "$rounds" --label-base "$base_label" \
			--label-cand "$profile" --out-json "$out/gain-$profile-$s.json" \
			--out-md "$out/gain-$profile-$s.md" \
			"$base_build/bench/$s" "build/$profile/bench/$s" -- "${args[@]}" || rc=$?
		# 1 means a benchmark regressed: still a measurement
		if [ "$rc" -gt 1 ]; then
			echo "optimize.sh: heed-bench-compare failed on $s ($profile)" >&2
			exit 1
		fi
		files+=("$out/gain-$profile-$s.json")
	done
	line=$(gain "${files[@]}") || {
		echo "optimize.sh: ${files[*]} hold no ratios" >&2
		exit 1
	}
	pct=${line%%|*}
	up=${line#*|}
	up=${up%%|*}
	summary+=("$profile against $base_label: ${line#*|*|}")
	if [ -z "$best" ] || awk -v a="$pct" -v b="$best_gain" 'BEGIN { exit !(a + 0 > b + 0) }'; then
		best=$profile
		best_gain=$pct
		best_up=$up
	fi
done
echo
echo "measured gain (details in $out/gain-*.md):"
printf '  %s\n' "${summary[@]}"
if [ -z "$best" ]; then
	echo "optimize.sh: no profile could be measured" >&2
	exit 1
fi
printf 'best: %s (%+.1f%% throughput); its build is in build/%s (make %s)\n' "$best" \
	"$best_gain" "$best" "$best"
if [ "$best_up" -eq 0 ]; then
	echo "note: no benchmark of $best improved significantly; at $rounds rounds the gain" \
		"may be noise (raise HEED_OPT_ROUNDS)"
fi
