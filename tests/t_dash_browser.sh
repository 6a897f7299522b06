#!/usr/bin/env bash
# heed-dash end to end: build a results history of four commits (heed-bench
# JSON, one benchmark planted 30% slower and one 25% faster in the newest
# commit), a heed-trace --json file, a flame graph and a recommendations file;
# render the page; check its bad-input errors; then load it in Debian's
# chromium (headless, through playwright-core, no network) and check it
# renders with no console errors, the expected sections and numbers, and save
# a screenshot under BUILD/test-artifacts/.
# Usage: bash tests/t_dash_browser.sh BUILD
set -euo pipefail
build=${1:-build}
top=$(pwd)
dash=$top/$build/bin/heed-dash
flame=$top/$build/bin/heed-flame
pw=$top/build/node/node_modules/playwright-core

fail() {
	echo "t_dash_browser: FAIL: $*" >&2
	exit 1
}
[ -x "$dash" ] || fail "$dash is missing: run make first"
[ -x "$flame" ] || fail "$flame is missing: run make first"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing: run ci/install-deps.sh (Debian package chromium)"
[ -d "$pw" ] || fail "playwright-core is missing under build/node: run ci/install-deps.sh"
command -v node >/dev/null || fail "node is missing: run ci/install-deps.sh"

tmp=$(mktemp -d /tmp/heed-dash-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
hist=$tmp/history
prof=$tmp/profile
mkdir -p "$hist" "$prof"

# results FILE SUITE STAMP NAME:MEDIAN_NS ... - a heed-bench v1 document with
# 30 samples per benchmark spread +-2% around the median (deterministic).
results() {
	local file=$1 suite=$2 stamp=$3
	shift 3
	awk -v suite="$suite" -v stamp="$stamp" -v specs="$*" 'BEGIN {
		n = split(specs, spec, " ")
		printf "{\"schema\":\"heed-bench\",\"version\":1,\"suite\":\"%s\",\"mode\":\"time\",", suite
		printf "\"unit\":\"ns\",\"quick\":true,\"profile\":\"default\",\"timestamp\":\"%s\",", stamp
		printf "\"config\":{\"samples\":30,\"noise\":0.05,\"confidence\":0.95},\n\"results\":[\n"
		seed = 7
		for (i = 1; i <= n; i++) {
			split(spec[i], kv, ":")
			m = kv[2] + 0
			printf "{\"name\":\"%s\",\"median\":%g,\"median_ci\":[%g,%g],", kv[1], m, m * 0.99, m * 1.01
			printf "\"throughput\":{\"elems_per_iter\":1,\"ops_per_s\":%g},\"samples\":[", 1e9 / m
			for (s = 0; s < 30; s++) {
				seed = (seed * 1103515245 + 12345) % 2147483648
				printf "%s%g", s ? "," : "", m * (0.98 + 0.04 * seed / 2147483648)
			}
			printf "]}%s\n", i < n ? "," : ""
		}
		printf "]}\n"
	}' >"$file"
}

results "$hist/a1b2c3d-btree_ops.json" btree_ops 2026-11-20T10:00:00Z \
	insert_seq/4k/1000:820 get_hit/4k/1000:210 range_scan/4k/1000:35 delete/4k/1000:900
results "$hist/b2c3d4e-btree_ops.json" btree_ops 2026-11-21T10:00:00Z \
	insert_seq/4k/1000:800 get_hit/4k/1000:205 range_scan/4k/1000:36 delete/4k/1000:910
results "$hist/c3d4e5f-btree_ops.json" btree_ops 2026-11-22T10:00:00Z \
	insert_seq/4k/1000:810 get_hit/4k/1000:200 range_scan/4k/1000:35 delete/4k/1000:905
results "$hist/d4e5f60-btree_ops.json" btree_ops 2026-11-23T10:00:00Z \
	insert_seq/4k/1000:1053 get_hit/4k/1000:150 range_scan/4k/1000:35.2 delete/4k/1000:903
results "$hist/c3d4e5f-page_alloc.json" page_alloc 2026-11-22T10:00:00Z \
	alloc_free/1000:5000 overflow_chain/64k:12000
results "$hist/d4e5f60-page_alloc.json" page_alloc 2026-11-23T10:00:00Z \
	alloc_free/1000:5050 overflow_chain/64k:11950
# Instruction counts (--icount): exact, no samples; +10% is past the 5% noise.
for c in c3d4e5f:1000:2026-11-22 d4e5f60:1100:2026-11-23; do
	IFS=: read -r id n day <<<"$c"
	printf '%s\n' "{\"schema\":\"heed-bench\",\"version\":1,\"suite\":\"btree_icount\"," \
		"\"mode\":\"icount\",\"unit\":\"instructions\",\"timestamp\":\"${day}T11:00:00Z\"," \
		"\"config\":{\"noise\":0.05},\"results\":[{\"name\":\"get_hit/4k/1000\"," \
		"\"median\":$n,\"median_ci\":[$n,$n],\"samples\":[$n]}]}" >"$hist/$id-btree_icount.json"
done
echo "not a results file" >"$hist/README.txt"

cat >"$prof/btree_ops.trace.json" <<'EOF'
{"version":1,"target":{"pid":4242,"comm":"btree_ops"},"duration_s":2.5,
 "ops":{"get":{"count":120000,"errors":3,"p50_ns":180,"p90_ns":420,"p99_ns":2100,
  "hist":[{"lo_ns":128,"hi_ns":256,"count":70000}]},
  "put":{"count":40000,"errors":0,"p50_ns":950,"p90_ns":2600,"p99_ns":18000,"hist":[]},
  "txn_commit":{"count":400,"errors":0,"p50_ns":41000,"p90_ns":98000,"p99_ns":1500000,"hist":[]}},
 "profile":{"samples":250,"dropped":0,"top":[]},"lost":{}}
EOF
printf 'main;heed_get;node_search;memcmp 60\nmain;heed_put;page_alloc 30\nmain;bench_loop 10\n' \
	>"$prof/btree_ops.folded"
"$flame" --title "btree_ops" "$prof/btree_ops.folded" >"$prof/btree_ops.svg"
cat >"$prof/recommendations.json" <<'EOF'
{"version":1,"build":"default","samples":100,"duration_s":2.5,
 "recommendations":[{"rule":"key-compare","title":"Key comparison and node search dominate",
  "advice":"Compare a fixed-width key prefix before memcmp.","share":0.6,"threshold":0.15,
  "evidence":"60.0% of 100 samples have a matching function on the stack; top: memcmp (60.0% self, 60.0% total)"}],
 "top":[{"name":"memcmp","self":60,"total":60},{"name":"page_alloc","self":30,"total":30}]}
EOF

# Bad input: each must fail with a sentence naming the object, and write nothing.
out=$tmp/site/dash.html
mkdir -p "$tmp/site"
expect_fail() {
	local what=$1 names=$2
	shift 2
	if "$dash" "$@" -o "$out" 2>"$tmp/err"; then
		fail "heed-dash accepted $what"
	fi
	grep -qF -- "$names" "$tmp/err" || fail "$what: the error does not name $names: $(cat "$tmp/err")"
	[ ! -e "$out" ] || fail "$what: a page was written anyway"
	[ ! -e "$out.tmp" ] || fail "$what: a partial page was left behind"
	echo "ok: $what -> $(cat "$tmp/err")"
}
mkdir -p "$tmp/bad"
echo '{"schema":"heed-bench","version":1,"results":[{"name":"x","median":' >"$tmp/bad/abc-s.json"
expect_fail "a truncated results file" "$tmp/bad/abc-s.json: invalid JSON" --history "$tmp/bad"
echo '{"schema":"other","results":[]}' >"$tmp/bad/abc-s.json"
expect_fail "a foreign JSON file" "abc-s.json: not a heed-bench results file" --history "$tmp/bad"
rm "$tmp/bad/abc-s.json"
expect_fail "an empty history" "$tmp/bad: no results files" --history "$tmp/bad"
expect_fail "a missing history" "$tmp/nope: No such file" --history "$tmp/nope"
expect_fail "an unknown baseline" "baseline ffff: no commit" --history "$hist" --baseline ffff
expect_fail "a missing recommendations file" "nope.json" --history "$hist" --recommendations "$tmp/nope.json"
expect_fail "a zero noise threshold" "--threshold 0: expected a percentage" --history "$hist" --threshold 0
if "$dash" --history "$hist" 2>/dev/null; then fail "heed-dash ran without -o"; fi

# A baseline saved by the harness (--save-baseline main) sits beside the history.
mkdir -p "$tmp/baselines/main"
results "$tmp/baselines/main/btree_ops.json" btree_ops 2026-11-19T10:00:00Z \
	insert_seq/4k/1000:1300 get_hit/4k/1000:205 range_scan/4k/1000:35 delete/4k/1000:900
"$dash" --history "$hist" --baseline main -o "$out"
grep -q '<code id="baseline">main</code>' "$out" || fail "the saved baseline 'main' is not the baseline"
grep -q 'id="n-faster">2 faster' "$out" || fail "against the saved baseline insert_seq and get_hit are not faster"
grep -q 'id="n-slower">0 slower' "$out" || fail "against the saved baseline nothing is slower (icount has no baseline)"
rm "$out"

"$dash" --history "$hist" --baseline c3d4 --flame-dir "$prof" \
	--recommendations "$prof/recommendations.json" -o "$out"
[ -s "$out" ] || fail "no page written"
if grep -Eq '(src|href)="(https?:)?//|url\((https?:)?//|@import' "$out"; then
	fail "the page references the network: $(grep -Eo '(src|href)="[^"]*"' "$out" | head -3)"
fi

art=$top/$build/test-artifacts
mkdir -p "$art"
node "$top/tests/browser/dash.mjs" "$top/build/node" "$out" "$art/dash.png" "$tmp/chrome-profile"
echo "t_dash_browser: ok, screenshot $art/dash.png"
