#!/bin/bash
# t_install.sh BUILD - make install into a staging root (DESTDIR), as a
# distribution does (PREFIX=/usr, LIBDIR=/usr/lib/<multiarch>) and as a user
# does (the default /usr/local): the files and links installed, heed.pc read
# by pkg-config through PKG_CONFIG_SYSROOT_DIR, the README's example built
# with pkg-config --cflags --libs heed against the staged tree and run, its
# pair seen by the staged heed-stat and heed-check. The version of heed.pc,
# of heed_version() and of debian/changelog is core/heed.h's.
set -u
build=${1:-build}
unset MAKEFLAGS MAKELEVEL
fail() {
	echo "t_install: FAIL: $*" >&2
	exit 1
}
for c in pkg-config gcc readelf ldd; do
	command -v $c >/dev/null || fail "$c is not installed (ci/install-deps.sh)"
done
. tests/pkg_lib.sh
version=$(heed_src_version)
echo "$version" | grep -qxE '[0-9]+\.[0-9]+\.[0-9]+' || fail "core/heed.h: no version (got '$version')"
ma=$(gcc -dumpmachine)
tmp=$(mktemp -d /tmp/t_install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# root PREFIX LIBDIR: make install into $tmp/root.
stage() {
	make --no-print-directory BUILD="$build" DESTDIR="$tmp/$1" PREFIX="$2" LIBDIR="$3" install \
		>"$tmp/$1.log" 2>&1 || {
		tail -n 20 "$tmp/$1.log"
		fail "make install DESTDIR=$tmp/$1 PREFIX=$2 LIBDIR=$3 failed (above)"
	}
}

tools="heed-check heed-copy heed-dash heed-dump heed-flame heed-load heed-load-dump heed-pprof heed-stat heed-trace"
# The staged tree's files and links, as "type path [-> target]" lines.
listing() {
	(cd "$1" && find . ! -type d -printf '%y %p %l\n' | sed 's/ $//' | sort)
}
expected() { # PREFIX LIBDIR
	{
		for t in $tools; do
			echo "f .$1/bin/$t"
			echo "l .$1/share/bash-completion/completions/$t heed"
		done
		echo "f .$1/share/bash-completion/completions/heed"
		for p in heed-check.1 heed-copy.1 heed-dash.1 heed-dump.1 heed-flame.1 heed-load.1 heed-load-dump.1 \
			heed-pprof.1 heed-stat.1 heed-trace.8 heed.3; do
			echo "f .$1/share/man/man${p##*.}/$p"
		done
		echo "f .$1/include/heed.h"
		echo "f .$2/libheed.a"
		echo "f .$2/libheed.so.$version"
		echo "l .$2/libheed.so.0 libheed.so.$version"
		echo "l .$2/libheed.so libheed.so.0"
		echo "f .$2/pkgconfig/heed.pc"
	} | sort
}

stage local /usr/local /usr/local/lib
diff -u <(expected /usr/local /usr/local/lib) <(listing "$tmp/local") >"$tmp/diff" ||
	fail "make install (PREFIX=/usr/local) installed other files than expected: $(cat "$tmp/diff")"
grep -qx 'libdir=${prefix}/lib' "$tmp/local/usr/local/lib/pkgconfig/heed.pc" ||
	fail "heed.pc of PREFIX=/usr/local: libdir is not \${prefix}/lib: $(cat "$tmp/local/usr/local/lib/pkgconfig/heed.pc")"
echo "ok: make install PREFIX=/usr/local: $(listing "$tmp/local" | wc -l) files and links, as expected"

stage root /usr "/usr/lib/$ma"
diff -u <(expected /usr "/usr/lib/$ma") <(listing "$tmp/root") >"$tmp/diff" ||
	fail "make install (PREFIX=/usr) installed other files than expected: $(cat "$tmp/diff")"
root=$tmp/root
lib=$root/usr/lib/$ma
for f in "$root"/usr/bin/*; do
	[ "$(stat -c %a "$f")" = 755 ] || fail "$f: mode $(stat -c %a "$f"), not 755"
done
for f in "$root/usr/include/heed.h" "$lib/libheed.a" "$lib/libheed.so.$version" "$lib/pkgconfig/heed.pc" "$root"/usr/share/man/man*/*; do
	[ "$(stat -c %a "$f")" = 644 ] || fail "$f: mode $(stat -c %a "$f"), not 644"
done
soname=$(readelf -d "$lib/libheed.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libheed.so.0 ] || fail "the installed library's SONAME is '$soname'"
echo "ok: make install PREFIX=/usr LIBDIR=/usr/lib/$ma: files, links, modes, SONAME $soname"

export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$lib/pkgconfig
unset PKG_CONFIG_PATH
[ "$(pkg-config --modversion heed)" = "$version" ] || fail "pkg-config --modversion heed: '$(pkg-config --modversion heed 2>&1)', not $version"
cflags=$(pkg-config --cflags heed) || fail "pkg-config --cflags heed fails"
libs=$(pkg-config --libs heed) || fail "pkg-config --libs heed fails"
cflags=${cflags% } libs=${libs% }
[ "$cflags" = "-I$root/usr/include" ] || fail "pkg-config --cflags heed: '$cflags'"
[ "$libs" = "-L$lib -lheed" ] || fail "pkg-config --libs heed: '$libs'"
pkg-config --static --libs heed | grep -q -- '-lpthread' || fail "pkg-config --static --libs heed lacks -lpthread"
deb_version=$(dpkg-parsechangelog -S Version 2>/dev/null || sed -n '1s/^heed (\([^)]*\)).*/\1/p' debian/changelog)
[ "$deb_version" = "$version" ] || fail "debian/changelog's version is '$deb_version', core/heed.h's $version"
echo "ok: pkg-config through PKG_CONFIG_SYSROOT_DIR: $cflags $libs, version $version (debian/changelog too)"

# A libheed built with sanitizers needs their run time in the program too.
san=$(readelf -d "$lib/libheed.so.$version" | sed -n 's/.*Shared library: \[lib\(asan\|ubsan\|tsan\)\.so.*/\1/p' |
	sed 's/asan/address/; s/ubsan/undefined/; s/tsan/thread/' | paste -sd,)
sanflags=${san:+-fsanitize=$san}
readme_example "$tmp/example.c" "$tmp/db" || fail "README.md: no C example under '## The library in brief'"
gcc -Wall -Wextra -Werror $sanflags -o "$tmp/example" "$tmp/example.c" $cflags $libs 2>"$tmp/cc.log" ||
	fail "the README's example does not build with pkg-config --cflags --libs heed: $(cat "$tmp/cc.log")"
export LD_LIBRARY_PATH=$lib
ldd "$tmp/example" | grep -qF "libheed.so.0 => $lib/libheed.so.0 " ||
	fail "the example does not load the staged libheed.so.0: $(ldd "$tmp/example")"
mkdir "$tmp/db"
"$tmp/example" || fail "the README's example exits $?"
"$root/usr/bin/heed-stat" "$tmp/db" | grep -q 'Entries: 1$' || fail "heed-stat: the README's example did not store its one pair"
"$root/usr/bin/heed-check" "$tmp/db" >/dev/null || fail "heed-check: the README example's environment is not clean"

cat >"$tmp/version.c" <<'EOF'
#include <heed.h>
#include <stdio.h>
int main(void) { puts(heed_version(NULL, NULL, NULL)); return 0; }
EOF
gcc $sanflags -o "$tmp/version" "$tmp/version.c" $cflags $libs || fail "a program calling heed_version does not build"
[ "$("$tmp/version")" = "heed $version" ] || fail "heed_version() is '$("$tmp/version")', not 'heed $version'"
echo "ok: the README's example builds with pkg-config against the staged tree, runs, and stores its pair"
