#!/bin/bash
# t_man.sh BUILD - the man pages: each renders without a warning from
# man --warnings and has a NAME line lexgrog reads; each tool's --help and its
# man page list the same options (-h/--help aside); heed(3) names every
# function libheed exports (debian/libheed0.symbols).
set -u
build=${1:-build}
tools="heed-trace heed-flame heed-stat heed-check heed-load heed-copy heed-dump heed-load-dump heed-pprof heed-profile heed-dash"
failed=0
fail() {
	echo "t_man: FAIL: $*" >&2
	failed=1
}
die() {
	echo "t_man: FAIL: $*" >&2
	exit 1
}
for c in man lexgrog scdoc; do
	command -v $c >/dev/null || die "$c is not installed (ci/install-deps.sh installs man-db and scdoc)"
done
. completion/heed

pages=$(ls man/*.scd 2>/dev/null)
[ -n "$pages" ] || die "no man/*.scd"
for src in $pages; do
	page=$build/man/$(basename "$src" .scd)
	[ -f "$page" ] || die "$page is missing (make man)"
	[ "$src" -nt "$page" ] && die "$page is older than $src (make man)"
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l -Tutf8 "$page" 2>&1 >/dev/null)
	[ -z "$warn" ] || fail "$page: man --warnings: $warn"
	lexgrog "$page" >/dev/null 2>&1 || fail "$page: lexgrog finds no NAME section"
done
echo "ok: $(echo $pages | wc -w) pages render without warnings"

# The options a man page documents: the bold option words that start a line
# (the term lines of its option lists).
man_options() {
	sed -n 's/^\*\(-.*\)/\1/p' "$1" | tr -d '*_' | tr ' ,|=' '\n\n\n\n' |
		grep -E '^--?[A-Za-z][A-Za-z0-9-]*$' | sort -u
}
for t in $tools; do
	bin=$build/bin/$t
	[ -x "$bin" ] || die "$bin is missing (make)"
	src=$(ls man/$t.[18].scd 2>/dev/null)
	[ -n "$src" ] || {
		fail "$t has no man page man/$t.1.scd or man/$t.8.scd"
		continue
	}
	# The usage line itself, on stdout with exit 0: an error message alone (a crash, a
	# refused option) is not help.
	out=$("$bin" --help 2>/dev/null </dev/null)
	rc=$?
	[ "$rc" -eq 0 ] || fail "$t --help exits $rc, not 0"
	printf '%s\n' "$out" | grep -q "^usage: \(sudo \)\?$t\b" || fail "$t --help prints no 'usage: $t' line on stdout"
	help=$(_heed_options "$bin" | cut -d' ' -f1 | grep -vxE -- '-h|--help')
	doc=$(man_options "$src" | grep -vxE -- '-h|--help')
	only_help=$(comm -23 <(echo "$help") <(echo "$doc") | grep . | tr '\n' ' ')
	only_man=$(comm -13 <(echo "$help") <(echo "$doc") | grep . | tr '\n' ' ')
	[ -z "$only_help" ] || fail "$t --help lists ${only_help}which $src does not document"
	[ -z "$only_man" ] || fail "$src documents ${only_man}which $t --help does not list"
	[ -z "$only_help$only_man" ] && echo "ok: $t: --help and $src agree ($(echo $help | wc -w) options)"
done

[ -f debian/libheed0.symbols ] || die "debian/libheed0.symbols is missing"
for sym in $(sed -n 's/^ \([A-Za-z_][A-Za-z0-9_]*\)@.*/\1/p' debian/libheed0.symbols); do
	sed 's/\\_/_/g' man/heed.3.scd | grep -qw "$sym" || fail "man/heed.3.scd does not name $sym"
done
echo "ok: heed(3) names every exported function"
exit $failed
