#!/bin/bash
# heed-flame output parses as XML (xmllint) whatever bytes the frame names, title and
# labels hold: markup characters, quotes, control bytes, invalid UTF-8, "]]>", "--".
# Usage: bash tests/t_flame_xml.sh BUILD
set -u
build=${1:-build}
flame=$build/bin/heed-flame
if ! command -v xmllint >/dev/null; then
	echo "t_flame_xml: FAIL: xmllint is not installed (Debian package libxml2-utils)"
	exit 1
fi
if [ ! -x "$flame" ]; then
	echo "t_flame_xml: FAIL: $flame is not built (run make)"
	exit 1
fi
tmp=$(mktemp -d /tmp/t_flame_xml.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Every byte 0x01..0xff except ';' and '\n' appears in some frame name.
{
	printf 'main;<script>alert(1)</script>;a&b&amp;c 5\n'
	printf 'main;"dq" and '"'"'sq'"'"';x 3\n'
	printf 'main;end]]>cdata;<!-- comment --> -- x 2\n'
	printf 'main;\x01\x02\x07\x08\x0b\x0c\x1b\x1f\x7f ctl 4\n'
	printf 'main;bad utf8 \xff\xfe\xc0\xaf \xed\xa0\x80 \xf8\x88\x80\x80\x80 \xef\xbf\xbf;end 6\n'
	printf 'main;truncated \xe2\x82 at end\xc3 7\n'
	printf 'main;ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5 unicode 8\n'
	printf 'main;tab\there 1\n'
	printf 'main;%s 9\n' "$(head -c 3000 /dev/zero | tr '\0' 'L')<&>"
	for b in $(seq 1 255); do
		[ "$b" -eq 10 ] || [ "$b" -eq 59 ] && continue
		printf 'main;byte;x%by 1\n' "\\x$(printf %02x "$b")"
	done
} >"$tmp/hostile.folded"
printf 'a;b 1\n' >"$tmp/small.folded"

check() {
	local name=$1
	shift
	if ! "$flame" "$@" >"$tmp/$name.svg" 2>"$tmp/$name.err"; then
		echo "t_flame_xml: FAIL: heed-flame $* exited non-zero: $(cat "$tmp/$name.err")"
		fail=1
		return
	fi
	if ! xmllint --noout "$tmp/$name.svg" 2>"$tmp/$name.xml"; then
		echo "t_flame_xml: FAIL: $name: xmllint rejects the SVG:"
		head -n 5 "$tmp/$name.xml"
		fail=1
		return
	fi
	echo "t_flame_xml: ok: $name ($(wc -c <"$tmp/$name.svg") bytes)"
}

check plain "$tmp/hostile.folded"
# The SVG comment counts the lines read: a line dropped without a message shows there.
if [ -s "$tmp/plain.err" ] || [ "$(grep -c '' "$tmp/hostile.folded")" -ne 262 ] ||
	! grep -q ' 262 lines, 0 malformed -->' "$tmp/plain.svg"; then
	echo "t_flame_xml: FAIL: the hostile input should be 262 valid lines:"
	head -n 5 "$tmp/plain.err"
	grep -m1 'lines, .* malformed -->' "$tmp/plain.svg"
	fail=1
fi
check inverted --inverted --reverse --colors java --hash "$tmp/hostile.folded"
check narrow --width 300 --minwidth 0 "$tmp/hostile.folded"
check labels --title '<t> & "q" ]]> '"$(printf '\xff\x01')" \
	--subtitle "$(printf 'sub \xc3 <&>')" --countname '<&"bytes">' \
	--nametype "$(printf 'fn\x02 "&":')" "$tmp/small.folded"
check diff --diff "$tmp/small.folded" "$tmp/hostile.folded"
check negate --diff --negate "$tmp/hostile.folded" "$tmp/small.folded"
# Options that write more markup: links and attributes from --nameattr (hostile values),
# notes, encoding, a static SVG, a flame chart with the chain palette.
printf 'main\tid=<"&>\tclass=a b\ttitle=]]> <x> &amp;\thref=http://h/?a=1&b="2"\ttarget=_blank\n' \
	>"$tmp/attrs"
head -n 5 "$tmp/hostile.folded" | cut -d';' -f2- >"$tmp/five.folded"
printf 'main;x 1\n' >>"$tmp/five.folded"
check attrs --nameattr "$tmp/attrs" --notes 'a & b' --encoding ISO-8859-1 --stroke-color '#000000' \
	"$tmp/five.folded"
grep -q '<a xlink:href=' "$tmp/attrs.svg" || { echo "t_flame_xml: FAIL: no link from --nameattr"; fail=1; }
check static --no-javascript --truncate-text-left --flamechart --colors chain "$tmp/hostile.folded"

# The names survive: the escaped forms are in the SVG.
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$tmp/plain.svg" ||
	{ echo "t_flame_xml: FAIL: escaped <script> name missing"; fail=1; }
grep -q 'bad utf8 \\xff\\xfe\\xc0\\xaf' "$tmp/plain.svg" ||
	{ echo "t_flame_xml: FAIL: invalid UTF-8 not shown as \\xNN"; fail=1; }
grep -q "ok $(printf '\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5') unicode" "$tmp/plain.svg" ||
	{ echo "t_flame_xml: FAIL: valid UTF-8 altered"; fail=1; }
# Only the script's own CDATA section may contain "]]>".
n=$(grep -c ']]>' "$tmp/plain.svg")
[ "$n" -eq 1 ] || { echo "t_flame_xml: FAIL: ]]> appears $n times"; fail=1; }
# The frames counted in the comment match the rects drawn.
drawn=$(sed -n 's/.*heed-flame: \([0-9]*\) frames drawn.*/\1/p' "$tmp/plain.svg")
rects=$(grep -c '^<g><title>' "$tmp/plain.svg")
[ "$drawn" = "$rects" ] || { echo "t_flame_xml: FAIL: comment says $drawn frames, $rects drawn"; fail=1; }

[ "$fail" -eq 0 ] && echo "t_flame_xml: PASS"
exit "$fail"
