#!/usr/bin/env bash
# heed-profile end to end, as root: profile the btree_ops suite (--quick)
# under heed-trace and check that report.md, recommendations.json and
# optimize.sh exist with real content (samples counted, hot functions with
# shares, recommendations with evidence, a runnable script), that the flame
# graph is well-formed SVG, that heed-dash reads what heed-profile wrote,
# and that bad invocations fail with a sentence.
# Usage: bash tests/t_heed_profile.sh BUILD
set -euo pipefail
build=${1:-build}

fail() {
	echo "t_heed_profile: FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || fail "must run as root: heed-profile runs heed-trace, which loads BPF programs (run sudo make test)"
for b in bin/heed-profile bin/heed-trace bin/heed-dash bench/btree_ops; do
	[ -x "$build/$b" ] || fail "$build/$b is missing: run make check (it builds the bench suites too)"
done
command -v xmllint >/dev/null || fail "xmllint is missing: run ci/install-deps.sh (libxml2-utils)"

out=$(mktemp -d /tmp/heed-profile-test.XXXXXX)
trap 'rm -rf "$out"' EXIT

# Bad invocations: non-zero exit and a sentence naming the cause.
if "$build/bin/heed-profile" --bench nope --out "$out/bad" 2>"$out/err"; then
	fail "heed-profile accepted a suite that does not exist"
fi
grep -q "suite nope" "$out/err" || fail "unknown suite: unclear error: $(cat "$out/err")"
if "$build/bin/heed-profile" -F 0 2>"$out/err"; then fail "heed-profile accepted -F 0"; fi
grep -q "frequency" "$out/err" || fail "-F 0: unclear error: $(cat "$out/err")"
# as nobody, from a copy nobody can reach (the checkout may sit in a private home)
chmod 755 "$out"
cp "$build/bin/heed-profile" "$out/heed-profile"
if setpriv --reuid=65534 --regid=65534 --clear-groups "$out/heed-profile" --out "$out/bad" \
	2>"$out/err"; then
	fail "heed-profile ran without root"
fi
grep -q "needs root" "$out/err" || fail "not root: unclear error: $(cat "$out/err")"

"$build/bin/heed-profile" --bench btree_ops --quick --out "$out/p" >"$out/stdout" 2>&1 ||
	fail "heed-profile failed: $(tail -n 20 "$out/stdout")"
cat "$out/stdout"
p=$out/p
for f in report.md recommendations.json optimize.sh btree_ops.folded btree_ops.svg \
	btree_ops.trace.json btree_ops.bench.json; do
	[ -s "$p/$f" ] || fail "$p/$f is missing or empty"
done

r=$p/report.md
for h in "## What was measured" "## Hot functions, all suites" "### btree_ops" \
	"## Recommendations" "## Next step"; do
	grep -qF "$h" "$r" || fail "report.md has no section '$h'"
done
samples=$(sed -n 's/.*In total \*\*\([0-9]*\) samples\*\*.*/\1/p' "$r")
[ -n "$samples" ] || fail "report.md does not say how many samples it measured"
[ "$samples" -ge 100 ] || fail "report.md: only $samples samples measured (expected at least 100)"
folded=$(awk '{ n += $NF } END { print n + 0 }' "$p/btree_ops.folded")
[ "$folded" -ge "$samples" ] || fail "report.md counts $samples samples, the folded file only $folded"
# the first ranked function has a real self share
first=$(grep -m1 '^| 1 | `' "$r") || fail "report.md has no ranked function"
pct=$(printf '%s' "$first" | awk -F'|' '{ gsub(/[ %]/, "", $4); print $4 }')
awk -v p="$pct" 'BEGIN { exit !(p > 0 && p <= 100) }' || fail "top function share '$pct' is not a percentage: $first"
# every recommendation carries its evidence; the default build gets the build rule
nrec=$(grep -c '^[0-9]*\. \*\*' "$r" || true)
nev=$(grep -c '\*Evidence:\* [0-9.]*% of [0-9]* samples\|\*Evidence:\* the measured binaries' "$r" || true)
[ "$nrec" -ge 1 ] || fail "report.md has no recommendation"
[ "$nrec" -eq "$nev" ] || fail "report.md: $nrec recommendations but $nev with evidence"
# build/<profile> is that profile; any other build directory (build, build/x) the default
case $(basename "$build") in
debug | release | native | pgo | pgo-gen) want=$(basename "$build") ;;
*) want=default ;;
esac
grep -q "\"build\":\"$want\"" "$p/recommendations.json" ||
	fail "recommendations.json does not name build type $want: $(head -c 200 "$p/recommendations.json")"
if [ "$want" = default ] || [ "$want" = debug ]; then
	grep -q '(`build`' "$r" || fail "a $want build did not get the compiler-profile recommendation"
fi

o=$p/optimize.sh
[ -x "$o" ] || fail "optimize.sh is not executable"
bash -n "$o" || fail "optimize.sh is not valid bash"
grep -q '^suites=(btree_ops)$' "$o" || fail "optimize.sh does not name the profiled suite"
grep -q 'heed-bench-compare' "$o" || fail "optimize.sh does not measure with heed-bench-compare"
grep -Eq '^chosen=(release|native|pgo)$' "$o" || fail "optimize.sh chose no build type"
grep -q "^top='$(pwd)'$" "$o" || fail "optimize.sh does not work from the repository root"
grep -q 'make --no-print-directory BUILD_TYPE="$1"' "$o" || fail "optimize.sh does not rebuild the suites"

xmllint --noout "$p/btree_ops.svg" || fail "btree_ops.svg is not well-formed"
"$build/bin/heed-dash" --flame-dir "$p" --recommendations "$p/recommendations.json" \
	-o "$out/dash.html" || fail "heed-dash cannot read what heed-profile wrote"
grep -q 'btree_ops.svg' "$out/dash.html" || fail "the dashboard does not link the flame graph"
grep -q 'Evidence:' "$out/dash.html" || fail "the dashboard shows no recommendation"
echo "t_heed_profile: ok ($samples samples, $nrec recommendations)"
