#!/bin/bash
# A heed-flame SVG in a real browser: headless Debian chromium driven by playwright-core
# (installed by ci/install-deps.sh under build/node; no browser is downloaded). Checks
# hover, zoom, search and the matched percent; screenshots go to BUILD/test-artifacts/.
# Usage: bash tests/t_flame_browser.sh BUILD
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
pw=$top/build/node/node_modules
fail() {
	echo "t_flame_browser: FAIL: $*"
	exit 1
}
[ -x "$build/bin/heed-flame" ] || fail "$build/bin/heed-flame is not built (run make)"
[ -x "$build/bin/heed-gen-folded" ] || fail "$build/bin/heed-gen-folded is not built (run make)"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (Debian package chromium; sh ci/install-deps.sh)"
command -v node >/dev/null || fail "node is missing (Debian package nodejs; sh ci/install-deps.sh)"
[ -d "$pw/playwright-core" ] || fail "playwright-core is missing under $pw (run sh ci/install-deps.sh)"

art=$build/test-artifacts
mkdir -p "$art"
tmp=$(mktemp -d /tmp/t_flame_browser.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# 100 samples; flame.mjs knows these numbers.
printf '%s\n' 'main;parse;lex 30' 'main;parse;tree 10' 'main;render;draw;lex 20' \
	'main;render 15' 'main;idle 25' >"$tmp/small.folded"
"$build/bin/heed-flame" --title "heed-flame browser test" "$tmp/small.folded" >"$art/flame-small.svg" ||
	fail "heed-flame failed on the small input"
"$build/bin/heed-gen-folded" --stacks 3000 --depth 14 --seed 7 -o "$tmp/big.folded" ||
	fail "heed-gen-folded failed"
"$build/bin/heed-flame" --title "heed-flame: 3000 synthetic stacks" --subtitle "seed 7, depth 14" \
	"$tmp/big.folded" >"$art/flame-big.svg" || fail "heed-flame failed on the generated input"
# A differential graph: the same call graph, walked with a different skew.
"$build/bin/heed-gen-folded" --stacks 3000 --depth 14 --seed 7 --skew 0.45 -o "$tmp/after.folded" ||
	fail "heed-gen-folded failed"
"$build/bin/heed-flame" --title "heed-flame: differential" --diff "$tmp/big.folded" "$tmp/after.folded" \
	>"$art/flame-diff.svg" || fail "heed-flame --diff failed"
# A flame chart and a small differential graph; flame.mjs knows these numbers too.
printf '%s\n' 'm;b 1' 'm;c 2' 'm;b 1' 'm 1' 'm;b 3' >"$tmp/chart.folded"
"$build/bin/heed-flame" --flamechart "$tmp/chart.folded" >"$art/flame-chart.svg" ||
	fail "heed-flame --flamechart failed"
printf '%s\n' 'main;grow 10 30' 'main;shrink 20 5' 'main;same 7 7' >"$tmp/small-diff.folded"
"$build/bin/heed-flame" --title "heed-flame: small differential" "$tmp/small-diff.folded" \
	>"$art/flame-diff-small.svg" || fail "heed-flame on the small differential input failed"
timeout 180 node "$top/tests/browser/flame.mjs" "$pw" "$art/flame-small.svg" "$art/flame-big.svg" "$art" \
	"$art/flame-diff.svg" "$art/flame-chart.svg" "$art/flame-diff-small.svg" ||
	fail "browser checks failed (see above)"
echo "t_flame_browser: PASS (screenshots in $art)"
