#!/usr/bin/env bash
# t_fuzz: builds the libFuzzer targets (tests/fuzz/module.mk: libheed under
# clang with ASan and UBSan) and runs each from its seed corpus
# (tests/fuzz/corpus/<target>) for HEED_FUZZ_SECS seconds (default 60, so
# about two minutes in all). Any crash, sanitizer report, leak or hang (a
# single input running over 10 s) fails the test; the input that did it is
# kept in BUILD/fuzz-artifacts/ and its replay command printed.
# Usage: bash tests/t_fuzz.sh BUILD   (from the repository root)
set -u
build=${1:-build}
secs=${HEED_FUZZ_SECS:-60}

if ! command -v "${CLANG:-clang}" >/dev/null; then
	echo "t_fuzz: clang is not installed; libFuzzer needs it (apt-get install clang)"
	exit 1
fi
unset MAKEFLAGS MAKELEVEL
if ! make --no-print-directory BUILD="$build" fuzz; then
	echo "t_fuzz: building the fuzz targets failed"
	exit 1
fi

tmp=$(mktemp -d /tmp/heed-tfuzz-XXXXXX) || exit 1
# The targets' env files (see tests/fuzz/fuzz_tmp.h) go on tmpfs when there is
# one, here so that a crashing input's files are removed too.
shm=/dev/shm
[ -w "$shm" ] || shm=/tmp
HEED_FUZZ_TMP=$(mktemp -d "$shm/heed-tfuzz-env-XXXXXX") || exit 1
export HEED_FUZZ_TMP
trap 'rm -rf "$tmp" "$HEED_FUZZ_TMP"' EXIT
keep=$build/fuzz-artifacts
failed=0
for t in fuzz_open fuzz_ops; do
	# The seeds stay untouched; the run grows a copy.
	mkdir -p "$tmp/$t"
	cp tests/fuzz/corpus/$t/* "$tmp/$t/"
	log=$tmp/$t.log
	"$build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$tmp/$t-" "$tmp/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	arts=$(ls "$tmp/$t"-* 2>/dev/null)
	if [ "$rc" -ne 0 ] || [ -n "$arts" ]; then
		failed=1
		mkdir -p "$keep"
		grep -a -E '^==.*ERROR|^    #[0-9]+ |SUMMARY|fuzz_ops:|fuzz_open:|deadly signal|ALARM|leak' \
			"$log" | head -n 40
		for a in $arts; do
			cp "$a" "$keep/"
			echo "t_fuzz: $t failed (exit $rc); input kept: $keep/$(basename "$a")"
			echo "  replay: $build/fuzz/$t $keep/$(basename "$a")"
		done
		[ -z "$arts" ] && echo "t_fuzz: $t exited with status $rc (log above)"
	else
		echo "t_fuzz: $t: ${execs:-?} inputs in ${secs}s, $cov, no failure"
	fi
done
exit "$failed"
