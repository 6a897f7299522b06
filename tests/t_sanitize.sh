#!/usr/bin/env bash
# t_sanitize: libheed's tests under sanitizers, each build in its own tree.
#   1. ASan + UBSan (BUILD/asan, SANITIZE=address,undefined): the core suites
#      with small op counts (HEED_MODEL_OPS, HEED_CRASH_ROUNDS,
#      HEED_MULTIPROC_SECS); any report aborts the test, which fails.
#   2. ThreadSanitizer (BUILD/tsan, SANITIZE=thread): tests/sanitize/threads,
#      reader threads against two writer threads. A plain program: Criterion
#      cannot start under TSan (Criterion issue #274), so test_txn's thread
#      tests cannot run there.
#   3. valgrind memcheck on test_api and test_badinput of the normal BUILD:
#      no invalid access, no definite or indirect leak, in any process
#      (Criterion runs each test in a child; heed-check runs too).
# Knobs: HEED_SAN_MODEL_OPS (default 20000) etc. below; CI keeps the whole
# run to a few minutes. Usage: bash tests/t_sanitize.sh BUILD
set -u
build=${1:-build}
asan=$build/asan
tsan=$build/tsan
unset MAKEFLAGS MAKELEVEL
fail=0
note() { printf 't_sanitize: %s\n' "$*"; }

# Suites of libheed (the toolkit's own suites are not about the store).
asan_tests="test_api test_txn test_env test_model test_crash test_badinput test_multiproc test_faults test_copy threads"
# one_gib_value allocates and maps over 2 GiB, and garbage_tree_pages reopens
# the env once per damaged page (over two minutes under ASan): both run in the
# normal build, and fuzz_open (t_fuzz.sh) feeds damaged files to an ASan build.
asan_filter_env='env/!(one_gib_value|garbage_tree_pages)'

build_tree() { # dir sanitize programs-under-tests/...
	local dir=$1 san=$2
	shift 2
	local targets="$dir/bin/heed-check"
	for t in "$@"; do targets="$targets $dir/tests/$t"; done
	# shellcheck disable=SC2086
	if ! make --no-print-directory -j2 BUILD="$dir" SANITIZE="$san" $targets; then
		note "building $san tests in $dir failed"
		return 1
	fi
}

run_suite() { # label binary [criterion args]
	local label=$1 bin=$2
	shift 2
	local log
	log=$(mktemp /tmp/heed-san-XXXXXX.log)
	"$bin" "$@" >"$log" 2>&1
	local rc=$?
	local syn
	syn=$(grep -a -E 'Synthesis|threads: ok' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ] || grep -q -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$log"; then
		grep -a -E -B2 -A25 'Sanitizer|runtime error:|FAIL|Assertion' "$log" | head -n 80
		note "$label: FAILED ($syn)"
		fail=1
	else
		note "$label: ok ($syn)"
	fi
	rm -f "$log"
}

export HEED_MODEL_OPS=${HEED_SAN_MODEL_OPS:-20000}
export HEED_CRASH_ROUNDS=${HEED_SAN_CRASH_ROUNDS:-9}
export HEED_MULTIPROC_SECS=${HEED_SAN_MULTIPROC_SECS:-1}
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# shellcheck disable=SC2086
if build_tree "$asan" address,undefined $asan_tests; then
	for t in $asan_tests; do
		if [ "$t" = test_env ]; then
			HEED_BUILD=$asan run_suite "asan $t" "$asan/tests/$t" --jobs=2 \
				--filter="$asan_filter_env"
		else
			HEED_BUILD=$asan run_suite "asan $t" "$asan/tests/$t" --jobs=2
		fi
	done
else
	fail=1
fi

export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
export HEED_THREADS_COMMITS=${HEED_SAN_THREADS_COMMITS:-300}
if build_tree "$tsan" thread threads; then
	run_suite "tsan threads" "$tsan/tests/threads"
else
	fail=1
fi

if ! command -v valgrind >/dev/null; then
	note "valgrind is not installed (apt-get install valgrind)"
	exit 1
fi
if ! make --no-print-directory -j2 BUILD="$build" "$build/bin/heed-check" \
	"$build/tests/test_api" "$build/tests/test_badinput"; then
	note "building the valgrind tests failed"
	exit 1
fi
vg=$(mktemp -d /tmp/heed-vg-XXXXXX)
for t in test_api test_badinput; do
	rm -f "$vg"/vg.*
	HEED_BUILD=$build valgrind --trace-children=yes --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --log-file="$vg/vg.%p" \
		"$build/tests/$t" --jobs=2 >"$vg/out" 2>&1
	rc=$?
	bad=$(grep -l 'ERROR SUMMARY: [1-9]' "$vg"/vg.* 2>/dev/null)
	syn=$(grep -a 'Synthesis' "$vg/out" | tail -n 1)
	if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
		for f in $bad; do head -n 60 "$f"; done
		tail -n 20 "$vg/out"
		note "valgrind $t: FAILED ($syn)"
		fail=1
	else
		note "valgrind $t: ok, no errors or leaks in $(ls "$vg"/vg.* | wc -l) processes ($syn)"
	fi
done
rm -rf "$vg"
exit "$fail"
