#!/bin/bash
# t_abi.sh BUILD [--update] - libheed's ABI as a distribution sees it:
# - the shared library is libheed.so.<version of core/heed.h> with SONAME
#   libheed.so.0 and the links libheed.so.0 and libheed.so;
# - it exports exactly the functions of debian/libheed0.symbols (the list
#   dpkg-gensymbols checks when the package is built), each declared HEED_API
#   in heed.h;
# - abidiff finds no change against tests/abi/libheed0.abi (abidw's record of
#   the exported functions and the types of heed.h): no parameter, return type
#   or public struct changed. Types outside heed.h may change
#   (tests/abi/libheed0.abignore).
# A new function is an ABI addition: --update appends it to the symbols file
# with the current version and records the new ABI, and refuses when a
# function disappeared or an existing interface changed. Those are breaks:
# HEED_SOVERSION (core/module.mk) goes up and the package libheed0 is renamed.
set -u
build=${1:-build}
update=${2:-}
abi=tests/abi/libheed0.abi
abignore=tests/abi/libheed0.abignore
fail() {
	echo "t_abi: FAIL: $*" >&2
	exit 1
}
for c in nm readelf abidiff abidw; do
	command -v $c >/dev/null || fail "$c is not installed (binutils, abigail-tools: ci/install-deps.sh)"
done
symbols=debian/libheed0.symbols
[ -f $symbols ] || fail "$symbols is missing"
. tests/pkg_lib.sh
version=$(heed_src_version)
echo "$version" | grep -qxE '[0-9]+\.[0-9]+\.[0-9]+' || fail "core/heed.h: no version (got '$version')"
lib=$build/lib/libheed.so.$version
[ -f "$lib" ] && [ ! -L "$lib" ] || fail "$lib is missing or not a file (make)"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libheed.so.0 ] || fail "$lib: SONAME is '$soname', not libheed.so.0"
head -n 1 $symbols | grep -qx "$soname libheed0 #MINVER#" ||
	fail "$symbols: the first line does not name $soname and the package libheed0"
[ "$(readlink "$build/lib/libheed.so.0")" = "libheed.so.$version" ] ||
	fail "$build/lib/libheed.so.0 does not link to libheed.so.$version"
[ "$(readlink "$build/lib/libheed.so")" = "libheed.so.$version" ] ||
	fail "$build/lib/libheed.so does not link to libheed.so.$version"
echo "ok: $lib, SONAME $soname, links libheed.so.0 and libheed.so"

# Exported: every defined dynamic symbol, but the toolchain's own (__*, _init).
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWiu]$/ && $3 !~ /^_/ { print $3 }' | sort)
[ -n "$exported" ] || fail "$lib exports nothing"
listed=$(sed -n 's/^ \([^@ ]*\)@Base .*/\1/p' $symbols | sort)
added=$(comm -23 <(echo "$exported") <(echo "$listed") | tr '\n' ' ')
removed=$(comm -13 <(echo "$exported") <(echo "$listed") | tr '\n' ' ')
[ -z "$removed" ] || fail "$lib no longer exports ${removed}listed in $symbols: an ABI break (see the head of tests/t_abi.sh)"
for s in $exported; do
	grep -q "^HEED_API.*[^a-z_]$s(" core/heed.h || fail "$lib exports $s, which core/heed.h does not declare with HEED_API"
done

# abidiff: 0 no change; bit 4 an ABI change; bit 8 an incompatible one.
abidiff --no-added-syms --suppressions $abignore $abi "$lib" >"$build/abidiff.txt" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	cat "$build/abidiff.txt"
	fail "abidiff $abi $lib: exit $rc: an exported function or a type of heed.h changed (above): an ABI break (see the head of tests/t_abi.sh)"
fi
if [ "$update" = --update ]; then
	for s in $added; do
		echo " $s@Base $version" >>$symbols
	done
	{
		head -n 2 $symbols
		tail -n +3 $symbols | sort
	} >"$build/symbols.new" && mv "$build/symbols.new" $symbols
	abidw --header-file core/heed.h --drop-private-types --no-corpus-path --no-comp-dir-path \
		--out-file $abi "$lib" || fail "abidw $lib failed"
	echo "updated: $symbols (added: ${added:-nothing}), $abi" | sed "s/ )/)/"
	exit 0
fi
[ -z "$added" ] || fail "$lib exports ${added}which $symbols does not list: record the addition with bash tests/t_abi.sh $build --update"
abidiff --suppressions $abignore $abi "$lib" >"$build/abidiff.txt" 2>&1 ||
	fail "abidiff $abi $lib: $(cat "$build/abidiff.txt"): record the addition with bash tests/t_abi.sh $build --update"
echo "ok: $(echo $exported | wc -w) exported functions, as listed in $symbols, declared in heed.h; abidiff against $abi: no change"
