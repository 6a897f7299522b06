#!/bin/sh
# make pgo: profile-guided optimisation of the whole tree.
#   1. make BUILD_TYPE=pgo-gen: everything instrumented (-fprofile-generate), in build/pgo-gen;
#   2. train: the bench workload from build/pgo-gen (btree_ops, page_alloc and the
#      heed part of db_comparison, quick sizes) writes the profile;
#   3. make BUILD_TYPE=pgo: everything rebuilt with -fprofile-use, in build/pgo;
#   4. measure: heed-bench-compare runs build/bench/btree_ops (-O2) and
#      build/pgo/bench/btree_ops interleaved and prints the gain.
# HEED_PGO_ROUNDS sets the measuring rounds (default 5; 0 skips step 4).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
rounds=${HEED_PGO_ROUNDS:-5}
suites="btree_ops page_alloc db_comparison"
targets() {
	for s in $suites; do printf ' build/%s/bench/%s' "$1" "$s"; done
}

echo "pgo: 1/4 instrumented build (build/pgo-gen)"
rm -rf build/pgo-gen/pgo-data
make --no-print-directory -j"$jobs" BUILD_TYPE=pgo-gen all $(targets pgo-gen)

echo "pgo: 2/4 training on the bench workload"
g=build/pgo-gen/bench
$g/btree_ops --quick >build/pgo-gen/train.log
$g/page_alloc --quick >>build/pgo-gen/train.log
$g/db_comparison --quick --filter '/heed$' >>build/pgo-gen/train.log

# gcc names each profile after the object's path (build/pgo-gen/obj/...), and
# the -fprofile-use build looks for its own path (build/pgo/obj/...): give
# every profile the name the second build will ask for.
n=0
for f in build/pgo-gen/pgo-data/*'#build#pgo-gen#obj#'*.gcda; do
	[ -e "$f" ] || continue
	dir=$(dirname "$f")
	base=$(basename "$f")
	cp "$f" "$dir/$(printf '%s' "$base" | sed 's/#build#pgo-gen#obj#/#build#pgo#obj#/')"
	n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
	echo "pgo: training wrote no profile under build/pgo-gen/pgo-data" >&2
	exit 1
fi
echo "pgo: $n object profiles"

echo "pgo: 3/4 optimised build (build/pgo)"
# The profile is new: rebuild every object of the pgo build.
rm -rf build/pgo/obj
make --no-print-directory -j"$jobs" BUILD_TYPE=pgo all $(targets pgo)

if [ "$rounds" -eq 0 ]; then
	echo "pgo: done (build/pgo); gain not measured (HEED_PGO_ROUNDS=0)"
	exit 0
fi
echo "pgo: 4/4 gain against -O2, $rounds interleaved rounds of btree_ops --quick"
make --no-print-directory -j"$jobs" build/bench/btree_ops build/bin/heed-bench-compare
mkdir -p build/perf-results
status=0
build/bin/heed-bench-compare --rounds "$rounds" --label-base "-O2" --label-cand "pgo" \
	--out-md build/perf-results/pgo-gain.md --out-json build/perf-results/pgo-gain.json \
	build/bench/btree_ops build/pgo/bench/btree_ops -- --quick || status=$?
# Exit 1 from the comparison means the PGO build is slower somewhere; that is a
# finding to report, not a failed build.
[ "$status" -le 1 ] || exit "$status"
cat build/perf-results/pgo-gain.md
echo "pgo: done (build/pgo); gain report in build/perf-results/pgo-gain.md"
