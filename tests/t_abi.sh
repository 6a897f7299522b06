#!/bin/bash
# t_abi.sh BUILD - libheed's ABI as a distribution sees it: the shared library
# is libheed.so.<version of core/heed.h> with SONAME libheed.so.0 and the links
# libheed.so.0 and libheed.so, and it exports exactly the functions listed in
# debian/libheed0.symbols (the same list dpkg-gensymbols checks when the
# package is built). A function added to heed.h goes into the list with the
# version that adds it; one removed or changed in meaning is an ABI break:
# HEED_SOVERSION (core/module.mk) goes up, and the package is renamed.
set -u
build=${1:-build}
fail() {
	echo "t_abi: FAIL: $*" >&2
	exit 1
}
command -v nm >/dev/null && command -v readelf >/dev/null || fail "nm and readelf are not installed (binutils)"
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
[ -z "$added" ] || fail "$lib exports ${added}which $symbols does not list: a new function goes into the list as ' name@Base <version that adds it>'"
[ -z "$removed" ] || fail "$lib no longer exports ${removed}listed in $symbols: an ABI break (see the head of tests/t_abi.sh)"
for s in $exported; do
	grep -q "^HEED_API.*[^a-z_]$s(" core/heed.h || fail "$lib exports $s, which core/heed.h does not declare with HEED_API"
done
echo "ok: $(echo $exported | wc -w) exported functions, as listed in $symbols and declared in heed.h"
