#!/bin/sh
# make bench: run each benchmark binary given, writing its JSON results to
# BUILD/perf-results/<suite>.json. Usage: bench/run.sh BUILD BENCH... [-- ARGS]
# HEED_BENCH_ARGS adds options to every suite (e.g. "--quick" or
# "--filter get"). Exits non-zero when any suite fails.
set -u
build=$1
shift
out=$build/perf-results
mkdir -p "$out"
failed=
for bin in "$@"; do
	name=$(basename "$bin")
	printf '== %s\n' "$name"
	# shellcheck disable=SC2086
	if ! "$bin" --json "$out/$name.json" ${HEED_BENCH_ARGS:-}; then
		failed="$failed $name"
	fi
done
if [ -n "$failed" ]; then
	echo "bench: failed:$failed" >&2
	exit 1
fi
echo "bench: results in $out/"
