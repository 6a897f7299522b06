#!/bin/bash
# t_probes.sh BUILD - every probe declared in core/probes.d is in the
# .note.stapsdt of libheed.so, of the libheed.a objects and of a tool linked
# with libheed.a, each with a semaphore; no argument uses scale-index-base
# addressing (libbpf 1.1 cannot read it); a HEED_PROBES=0 build has none.
set -u
build=${1:-build}
fail() {
	echo "t_probes: FAIL: $*" >&2
	exit 1
}
command -v readelf >/dev/null || fail "readelf is not installed (binutils)"
probes=$(sed -n 's/^[[:space:]]*probe[[:space:]]\+\([a-z_]*\)(.*/\1/p' core/probes.d)
[ -n "$probes" ] || fail "no probe found in core/probes.d"
echo "probes declared: $(echo $probes | wc -w)"

# Notes of one ELF file as "name semaphore args" lines.
notes() {
	readelf -n "$1" 2>/dev/null | awk '
		/Provider: heed/ { p = 1; next }
		/Provider:/ { p = 0 }
		p && /Name:/ { name = $2 }
		p && /Semaphore:/ { sem = $NF }
		p && /Arguments:/ { sub(/.*Arguments: */, ""); print name, sem, $0; p = 0 }'
}

check_file() {
	local f=$1 n
	[ -e "$f" ] || fail "$f does not exist (build it first: make)"
	n=$(notes "$f")
	[ -n "$n" ] || fail "$f: no heed probes in .note.stapsdt"
	for p in $probes; do
		echo "$n" | grep -q "^$p " || fail "$f: probe heed:$p missing from .note.stapsdt"
		if echo "$n" | awk -v p="$p" '$1 == p && $2 ~ /^0x0*$/' | grep -q .; then
			fail "$f: probe heed:$p has no semaphore"
		fi
	done
	if echo "$n" | grep -E '\(%[a-z0-9]+,%[a-z0-9]+' >/dev/null; then
		fail "$f: a probe argument uses scale-index-base addressing: $(echo "$n" | grep -E '\(%[a-z0-9]+,%' | head -1)"
	fi
	echo "ok: $f: $(echo "$n" | wc -l) probe sites, all $(echo $probes | wc -w) probes with semaphores"
}

check_file "$build/lib/libheed.so"
check_file "$build/bin/heed-stat"
tmp=$(mktemp -d /tmp/t_probes.XXXXXX) || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && ar x "$OLDPWD/$build/lib/libheed.a") || fail "cannot unpack $build/lib/libheed.a"
all=$(for o in "$tmp"/*.o; do notes "$o"; done)
for p in $probes; do
	echo "$all" | grep -q "^$p " || fail "libheed.a: probe heed:$p in no object"
done
echo "ok: libheed.a objects carry every probe"

nb=$build/noprobes
make --no-print-directory BUILD="$nb" HEED_PROBES=0 "$nb/lib/libheed.a" "$nb/lib/libheed.so" >"$tmp/make.log" 2>&1 ||
	fail "the HEED_PROBES=0 build failed: $(tail -5 "$tmp/make.log")"
if readelf -n "$nb/lib/libheed.so" | grep -q stapsdt; then
	fail "$nb/lib/libheed.so: HEED_PROBES=0 still has USDT notes"
fi
mkdir "$tmp/np" && (cd "$tmp/np" && ar x "$OLDPWD/$nb/lib/libheed.a") || fail "cannot unpack $nb/lib/libheed.a"
for o in "$tmp"/np/*.o; do
	readelf -n "$o" | grep -q stapsdt && fail "$o: HEED_PROBES=0 object has USDT notes"
done
echo "ok: HEED_PROBES=0 build has no probes"
