#!/bin/sh
# make install: libheed (shared with its SONAME links, static, heed.h, heed.pc),
# the tools given, their man pages and heed(3), and the bash completion.
# Usage: ci/install.sh BUILD PREFIX TOOL...
# Environment: HEED_VERSION and HEED_SOVERSION (from the Makefile), LIBDIR
# (default PREFIX/lib; Debian passes its multiarch directory), DESTDIR (a staging
# root for packaging: every path below is DESTDIR + the installed path).
set -eu
build=$1
prefix=$2
shift 2
dest=${DESTDIR:-}
libdir=${LIBDIR:-$prefix/lib}
version=${HEED_VERSION:?HEED_VERSION is not set: run make install}
sover=${HEED_SOVERSION:?HEED_SOVERSION is not set: run make install}
mandir=$prefix/share/man
compdir=$prefix/share/bash-completion/completions

need() {
	[ -f "$1" ] || {
		echo "install: $1 is missing; run make install, not this script" >&2
		exit 1
	}
}
need "$build/lib/libheed.so.$version"
need "$build/lib/libheed.a"
need "$build/man/heed.3"
for t in "$@"; do
	need "$build/bin/$t"
	[ -f "$build/man/$t.1" ] || need "$build/man/$t.8"
done

install -d "$dest$libdir/pkgconfig" "$dest$prefix/include" "$dest$prefix/bin" \
	"$dest$mandir/man1" "$dest$mandir/man3" "$dest$mandir/man8" "$dest$compdir"
install -m 0644 core/heed.h "$dest$prefix/include/heed.h"
install -m 0644 "$build/lib/libheed.a" "$dest$libdir/libheed.a"
install -m 0644 "$build/lib/libheed.so.$version" "$dest$libdir/libheed.so.$version"
ln -sf "libheed.so.$version" "$dest$libdir/libheed.so.$sover"
ln -sf "libheed.so.$sover" "$dest$libdir/libheed.so"

# heed.pc: the include and library directories are written out in full, so
# that PKG_CONFIG_SYSROOT_DIR can prefix them for a staged tree.
{
	echo "prefix=$prefix"
	echo "includedir=\${prefix}/include"
	case $libdir in
	"$prefix"/*) echo "libdir=\${prefix}${libdir#"$prefix"}" ;;
	*) echo "libdir=$libdir" ;;
	esac
	echo
	echo "Name: heed"
	echo "Description: embedded key-value store: one memory-mapped file, copy-on-write B+tree, MVCC"
	echo "Version: $version"
	echo "Cflags: -I\${includedir}"
	echo "Libs: -L\${libdir} -lheed"
	echo "Libs.private: -lpthread"
} >"$dest$libdir/pkgconfig/heed.pc"
chmod 0644 "$dest$libdir/pkgconfig/heed.pc"

install -m 0644 "$build/man/heed.3" "$dest$mandir/man3/heed.3"
install -m 0644 completion/heed "$dest$compdir/heed"
for t in "$@"; do
	install -m 0755 "$build/bin/$t" "$dest$prefix/bin/$t"
	for s in 1 8; do
		if [ -f "$build/man/$t.$s" ]; then
			install -m 0644 "$build/man/$t.$s" "$dest$mandir/man$s/$t.$s"
		fi
	done
	# bash-completion loads completions/<command> on first use: one file, a
	# link per tool.
	ln -sf heed "$dest$compdir/$t"
done
# A direct install (no staging root) by root: the loader's cache learns of
# libheed.so.0 now, as a package's trigger would do.
if [ -z "$dest" ] && [ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then
	ldconfig
fi
echo "install: libheed $version, heed.h, heed.pc, $* with their man pages and completion in $dest$prefix"
