#!/usr/bin/env bash
# run-perf-suite hook: record this commit's results in the history, profile
# the suites (heed-profile, as root) and render the dashboard.
# Usage (from ci/run-perf-suite.sh): dash.sh OUT TOP
#   OUT/history/<commit>-<suite>.json   the default (-O2) build's results, kept across runs
#   OUT/profile/                        heed-profile: report.md, flame graphs, optimize.sh
#   OUT/dash.html                       heed-dash over all of it
set -euo pipefail
out=${1:?usage: dash.sh OUT TOP}
top=${2:?usage: dash.sh OUT TOP}
cd "$top"

if [ ! -d "$out/default" ]; then
	echo "dash hook: $out/default is missing: run-perf-suite ran without the default profile" >&2
	exit 1
fi
make --no-print-directory build/bin/heed-dash build/bin/heed-profile >/dev/null

# The commit id names the history files; '-' separates commit from suite, so
# a tree with uncommitted changes is marked with '+dirty'.
id=$(git rev-parse --short=12 HEAD)
git diff --quiet HEAD -- 2>/dev/null || id=$id+dirty
mkdir -p "$out/history"
n=0
for f in "$out"/default/*.json; do
	[ -e "$f" ] || continue
	cp "$f" "$out/history/$id-$(basename "$f")"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "dash hook: no results in $out/default" >&2; exit 1; }
echo "dash hook: $n results recorded as $id in $out/history"

extra=()
if [ "$(id -u)" -eq 0 ]; then
	quick=
	grep -q '"quick":true' "$out"/default/*.json && quick=--quick
	build/bin/heed-profile $quick --out "$out/profile"
	extra=(--flame-dir "$out/profile" --recommendations "$out/profile/recommendations.json")
else
	echo "dash hook: not root, so no heed-profile run: the dashboard has no flame graphs," \
		"operation latencies or recommendations (run run-perf-suite as root for them)" >&2
fi
build/bin/heed-dash --history "$out/history" "${extra[@]}" -o "$out/dash.html"
