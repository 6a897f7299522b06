#!/bin/sh
# make install: the library, its header and the tools under PREFIX.
# Usage: ci/install.sh BUILD PREFIX   (DESTDIR is honoured for packaging)
set -eu
build=$1
prefix=$2
dest=${DESTDIR:-}
for f in "$build/lib/libheed.a" "$build/lib/libheed.so" core/heed.h; do
	[ -f "$f" ] || { echo "install: $f is missing; run make first" >&2; exit 1; }
done
install -d "$dest$prefix/lib" "$dest$prefix/include" "$dest$prefix/bin"
install -m 0644 core/heed.h "$dest$prefix/include/heed.h"
install -m 0644 "$build/lib/libheed.a" "$dest$prefix/lib/libheed.a"
install -m 0755 "$build/lib/libheed.so" "$dest$prefix/lib/libheed.so.0"
ln -sf libheed.so.0 "$dest$prefix/lib/libheed.so"
for t in heed-stat heed-check heed-load heed-copy heed-dump heed-load-dump heed-trace heed-flame heed-profile heed-dash; do
	if [ -x "$build/bin/$t" ]; then
		install -m 0755 "$build/bin/$t" "$dest$prefix/bin/$t"
	fi
done
echo "install: libheed, heed.h and the tools in $dest$prefix"
