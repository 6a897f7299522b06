#!/bin/bash
# heed-flame's command line: inputs (files, several files, stdin, "-"), --diff and
# --write-merged, --verbose counts, and a non-zero exit with a message on every failure.
# Usage: bash tests/t_flame_cli.sh BUILD
set -u
build=${1:-build}
flame=$build/bin/heed-flame
if [ ! -x "$flame" ]; then
	echo "t_flame_cli: FAIL: $flame is not built (run make)"
	exit 1
fi
tmp=$(mktemp -d /tmp/t_flame_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() {
	echo "t_flame_cli: FAIL: $*"
	fail=1
}
# expect RC STDERR-SUBSTRING ARGS...: runs heed-flame, checks its status and message.
expect() {
	local rc=$1 msg=$2 got
	shift 2
	"$flame" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	[ "$got" -eq "$rc" ] || bad "heed-flame $* exited $got, expected $rc ($(cat "$tmp/err"))"
	if [ -n "$msg" ] && ! grep -qF -- "$msg" "$tmp/err"; then
		bad "heed-flame $*: stderr lacks '$msg': $(cat "$tmp/err")"
	fi
}

printf 'main;a 3\nmain;b 2\n' >"$tmp/one.folded"
printf 'main;a 1\nmain;c 4\n' >"$tmp/two.folded"
printf 'junk\nmore junk\n' >"$tmp/junk.folded"

expect 0 "" "$tmp/one.folded"
grep -q '<title>main (5 samples, 100.00%)</title>' "$tmp/out" || bad "one file: main not 5 samples"
expect 0 "" "$tmp/one.folded" "$tmp/two.folded"
grep -q '<title>main (10 samples' "$tmp/out" || bad "two files are not merged"
grep -q '<title>a (4 samples' "$tmp/out" || bad "two files: a is not 3+1"
"$flame" <"$tmp/one.folded" >"$tmp/stdin.svg" || bad "stdin input failed"
grep -q '<title>main (5 samples' "$tmp/stdin.svg" || bad "stdin input not read"
"$flame" - "$tmp/two.folded" <"$tmp/one.folded" >"$tmp/dash.svg" || bad "'-' input failed"
grep -q '<title>main (10 samples' "$tmp/dash.svg" || bad "'-' is not stdin"

expect 1 "no valid folded line" "$tmp/junk.folded"
expect 1 "junk.folded:2: no sample count" "$tmp/junk.folded"
expect 1 "missing.folded: No such file or directory" "$tmp/missing.folded"
expect 1 "read error after line 0: Is a directory" "$tmp"
expect 1 "no valid folded line" /dev/null
expect 2 "unknown palette 'pink'" --colors pink "$tmp/one.folded"
expect 2 "--width: 'wide' is not a non-negative number" --width wide "$tmp/one.folded"
expect 2 "must be above 0" --height 0 "$tmp/one.folded"
expect 2 "--diff needs two files" --diff "$tmp/one.folded"
expect 2 "unrecognized option '--no-such-option'" --no-such-option "$tmp/one.folded"
expect 2 "usage: heed-flame" --no-such-option "$tmp/one.folded"
expect 2 "bgcolors: not yellow, blue, green, grey or #rrggbb ('pink')" --bgcolors pink "$tmp/one.folded"
expect 2 "search color: not" --search-color 'x"y' "$tmp/one.folded"
expect 2 "stroke color: not" --stroke-color '#12' "$tmp/one.folded"
expect 2 "notes: no '<', '>'" --notes '<b>' "$tmp/one.folded"
expect 2 "encoding: not a name" --encoding 'utf 8' "$tmp/one.folded"
expect 2 "fonttype: empty, or holds" --fonttype 'x;y' "$tmp/one.folded"
expect 2 "--fontwidth must be above 0" --fontwidth 0 "$tmp/one.folded"
expect 2 "unknown palette 'ruby'" --colors ruby "$tmp/one.folded"
expect 1 "missing.attr: No such file or directory" --nameattr "$tmp/missing.attr" "$tmp/one.folded"
expect 2 "--input: unknown format 'pprof'" --input pprof "$tmp/one.folded"
expect 2 "need --input perf-script" --kernel "$tmp/one.folded"
expect 2 "--diff reads folded files" --diff --input bpftrace "$tmp/one.folded" "$tmp/two.folded"
expect 1 "no sample with a stack in the input" --input perf-script /dev/null
expect 1 "no map entry with a count" --input bpftrace /dev/null
expect 1 "missing.perf: No such file or directory" --input perf-script "$tmp/missing.perf"
# --folded writes the merged stacks instead of an SVG.
expect 0 "" --folded "$tmp/one.folded" "$tmp/two.folded"
printf 'main;a 4\nmain;b 2\nmain;c 4\n' | cmp -s - "$tmp/out" || bad "--folded: $(cat "$tmp/out")"
expect 1 "No such file or directory" -o "$tmp/no/dir/x.svg" "$tmp/one.folded"
expect 1 "cannot write the SVG" -o /dev/full "$tmp/one.folded"
expect 1 "No such file or directory" --write-merged "$tmp/no/dir/m" "$tmp/one.folded"
expect 1 "no valid folded line in either file" --diff "$tmp/junk.folded" /dev/null

# --diff: widths from AFTER, merged two-count file; --negate: widths from BEFORE.
expect 0 "" --diff --write-merged "$tmp/merged" "$tmp/one.folded" "$tmp/two.folded"
printf 'main;a 3 1\nmain;b 2 0\nmain;c 0 4\n' | cmp -s - "$tmp/merged" ||
	bad "merged file differs: $(cat "$tmp/merged")"
grep -q '<title>main (5 samples, 100.00%; 0.00%)</title>' "$tmp/out" ||
	bad "diff: main title"
grep -q '<title>c (4 samples, 80.00%; +80.00%)</title>' "$tmp/out" ||
	bad "diff: c grew by 4"
expect 0 "" --diff --negate "$tmp/one.folded" "$tmp/two.folded"
grep -q '<title>b (2 samples, 40.00%; -40.00%)</title>' "$tmp/out" ||
	bad "negate: b should be 2 wide (BEFORE) and show its loss"
# b lost 2 of the largest change 4: half-intensity blue.
grep -q '<title>b (2 samples[^<]*</title><rect [^>]*fill="rgb(105,105,255)"' "$tmp/out" ||
	bad "negate: shrunk b is not blue"
# Only stacks ending in a frame give it a change, as flamegraph.pl; --diff-subtree
# gives parents their subtree's change (main: 5 -> 5 here, so b is used: 2 -> 0).
grep -q '<title>main (5 samples, 100.00%; 0.00%)</title><rect [^>]*fill="rgb(255,255,255)"' "$tmp/out" ||
	bad "negate: main should be white with 0.00%"
printf 'main;a;x 3\nmain;b 2\n' >"$tmp/sub1.folded"
printf 'main;a;x 1\nmain;a 2\nmain;b 2\n' >"$tmp/sub2.folded"
expect 0 "" --diff --diff-subtree "$tmp/sub1.folded" "$tmp/sub2.folded"
grep -q '<title>a (3 samples, 60.00%; 0.00%)</title>' "$tmp/out" || bad "--diff-subtree: a"
grep -q '<title>x (1 samples, 20.00%; -40.00%)</title>' "$tmp/out" || bad "--diff-subtree: x"
expect 0 "" --diff "$tmp/sub1.folded" "$tmp/sub2.folded"
grep -q '<title>a (3 samples, 60.00%; +40.00%)</title>' "$tmp/out" || bad "--diff: a's own change"
# difffolded.pl -n -s: BEFORE scaled to AFTER's total (int), hex addresses merged.
printf 'm;f@0xab 2\nm;g 2\n' >"$tmp/hex1.folded"
printf 'm;f@0xcd 6\nm;g 2\n' >"$tmp/hex2.folded"
expect 0 "" --diff -n -s --write-merged "$tmp/merged-ns" "$tmp/hex1.folded" "$tmp/hex2.folded"
printf 'm;f@0x... 4 6\nm;g 4 2\n' | cmp -s - "$tmp/merged-ns" ||
	bad "--diff -n -s merged: $(cat "$tmp/merged-ns")"
expect 0 "" --diff --normalize --strip-hex --write-merged "$tmp/merged-ns2" "$tmp/hex1.folded" "$tmp/hex2.folded"
cmp -s "$tmp/merged-ns" "$tmp/merged-ns2" || bad "long forms of -n -s differ"
expect 2 "--normalize needs --diff" -n "$tmp/one.folded"
# The merged file is an input too.
expect 0 "" "$tmp/merged"
grep -q '<title>c (4 samples, 80.00%; +80.00%)' "$tmp/out" || bad "merged file re-read"

# --verbose counts; the SVG comment carries the same numbers.
# 100 px for 10 samples: 30 px is 3 samples, so only b (2) is elided.
expect 0 "4 drawn, 1 elided" --verbose --width 120 --minwidth 30 "$tmp/one.folded" "$tmp/two.folded"
grep -q '4 frames drawn, 1 elided' "$tmp/out" || bad "SVG comment counts"
[ "$(grep -c '^<g><title>' "$tmp/out")" -eq 4 ] || bad "minwidth: expected 4 rects"
grep -q '<title>b ' "$tmp/out" && bad "minwidth: b is drawn"
# The same in percent of the width: 30% of 100 px.
expect 0 "4 drawn, 1 elided" --verbose --width 120 --minwidth 30% "$tmp/one.folded" "$tmp/two.folded"
expect 2 "--minwidth: 'x' is not" --minwidth x% "$tmp/one.folded"

expect 0 "" --title "My <graph>" --subtitle sub --countname bytes --nametype "Fn:" \
	--colors mem --hash --inverted --height 20 --width 800 --fontsize 10 --total 20 \
	--factor 2 "$tmp/one.folded"
grep -q '>My &lt;graph&gt;</text>' "$tmp/out" || bad "--title"
grep -q 'data-nametype="Fn:"' "$tmp/out" || bad "--nametype"
grep -q '<title>main (10 bytes, 50.00%)</title>' "$tmp/out" || bad "--factor/--total/--countname"
grep -q 'width="800"' "$tmp/out" || bad "--width"
"$flame" --help | grep -q '^usage: heed-flame' || bad "--help"

# The options flamegraph.pl and inferno users reach for, each seen in the SVG.
for p in hot mem io java js perl python rust wakeup chain red green blue aqua yellow purple orange; do
	expect 0 "" --colors "$p" "$tmp/one.folded"
done
expect 0 "" --flamechart "$tmp/two.folded" "$tmp/one.folded"
grep -q '>Flame Chart</text>' "$tmp/out" || bad "--flamechart title"
# Input order: a (1), c (4) from two.folded, then a (3), b (2): a second a at x=5.
grep -q '<title>a (3 samples, 30.00%)</title><rect x="600"' "$tmp/out" || bad "--flamechart: second a at 5 of 10"
expect 0 "" --random --notes "run 1" --bgcolors blue --fonttype Courier --fontwidth 0.7 \
	--encoding UTF-8 --search-color '#00ff00' --stroke-color black --truncate-text-right "$tmp/one.folded"
grep -q '<!-- NOTES: run 1 -->' "$tmp/out" || bad "--notes"
grep -q 'stop-color="#e0e0ff"' "$tmp/out" || bad "--bgcolors blue"
grep -q 'font-family: Courier,' "$tmp/out" || bad "--fonttype"
grep -q 'data-fontwidth="0.7"' "$tmp/out" || bad "--fontwidth"
grep -q 'encoding="UTF-8"' "$tmp/out" || bad "--encoding"
grep -q 'data-searchcolor="#00ff00"' "$tmp/out" || bad "--search-color"
grep -q 'stroke: black; stroke-width: 1;' "$tmp/out" || bad "--stroke-color"
expect 0 "" --deterministic --truncate-text-left --no-javascript "$tmp/one.folded"
grep -q 'data-truncate="left"' "$tmp/out" || bad "--truncate-text-left"
grep -q '<script' "$tmp/out" && bad "--no-javascript left a script"
# --cp reads and rewrites ./palette.map.
mkdir "$tmp/cp"
flame_abs=$(realpath "$flame")
printf 'main->rgb(1,2,3)\n' >"$tmp/cp/palette.map"
(cd "$tmp/cp" && "$flame_abs" --cp "$tmp/one.folded" >"$tmp/out") || bad "--cp failed"
grep -q '<title>main (5 samples, 100.00%)</title><rect [^>]*fill="rgb(1,2,3)"' "$tmp/out" || bad "--cp: main not rgb(1,2,3)"
grep -q '^main->rgb(1,2,3)$' "$tmp/cp/palette.map" && grep -q '^a->rgb(' "$tmp/cp/palette.map" &&
	grep -q '^b->rgb(' "$tmp/cp/palette.map" || bad "--cp: palette.map not updated: $(cat "$tmp/cp/palette.map")"
printf 'bad line\n' >"$tmp/cp/palette.map"
(cd "$tmp/cp" && "$flame_abs" --cp "$tmp/one.folded" >"$tmp/out" 2>"$tmp/err") && bad "--cp accepted a bad palette.map"
grep -q 'palette.map:1: not a palette line' "$tmp/err" || bad "--cp: $(cat "$tmp/err")"
# --nameattr
printf 'a\tclass=hot\thref=http://example.com/a\n' >"$tmp/attr"
expect 0 "" --nameattr "$tmp/attr" "$tmp/one.folded"
grep -q '<a xlink:href="http://example.com/a" target="_top" class="hot"><title>a (3 samples' "$tmp/out" || bad "--nameattr"
[ "$fail" -eq 0 ] && echo "t_flame_cli: PASS"
exit "$fail"
