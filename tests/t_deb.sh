#!/bin/bash
# t_deb.sh BUILD - the Debian packages, end to end, as root: dpkg-buildpackage
# builds heed, libheed0 and libheed-dev from a copy of this tree (build/ left
# out); lintian reports no error; apt-get installs the three .debs; then, from
# the installed paths only: heed-trace --help, man -w heed-trace, heed-trace
# -- /bin/true, heed-trace --ops on the packaged heed-load, the README's
# example built with pkg-config against /usr, the bash completion loaded by
# bash-completion. The packages are purged when the test ends, whatever
# happened, so the suites after it see the machine as before (they run the
# build tree's binaries). A machine that already has one of them installed is
# refused: the test would remove it. BUILD is not used: the packages build in
# their own copy of the tree.
set -u
pkgs="heed libheed0 libheed-dev"
lock="-o DPkg::Lock::Timeout=300"
fail() {
	echo "t_deb: FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root: it installs the packages it builds (sudo make test)"
for c in dpkg-buildpackage dh lintian apt-get man pkg-config gcc; do
	command -v $c >/dev/null || fail "$c is not installed (ci/install-deps.sh installs dpkg-dev, debhelper, lintian, man-db)"
done
[ -f /usr/share/bash-completion/bash_completion ] || fail "bash-completion is not installed"
for p in $pkgs; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		fail "package $p is installed already; this test installs and purges its own build (remove it first: apt-get purge $pkgs)"
	fi
done

tmp=$(mktemp -d /tmp/t_deb.XXXXXX)
installed=0
cleanup() {
	local p present=
	if [ $installed -eq 1 ]; then
		for p in $pkgs; do
			dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' &&
				present="$present $p"
		done
	fi
	if [ -n "$present" ]; then
		apt-get purge -y -qq $lock $present >"$tmp/purge.log" 2>&1 ||
			echo "t_deb: FAIL: apt-get purge$present: $(tail -n 5 "$tmp/purge.log")" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

. tests/pkg_lib.sh
version=$(heed_src_version)
deb_version=$(dpkg-parsechangelog -S Version)
[ "$deb_version" = "$version" ] ||
	fail "debian/changelog's version is $deb_version, core/heed.h's $version: add a changelog entry (dch -v $version)"

mkdir "$tmp/src"
tar -C . --exclude=./build --exclude=./.git --exclude=./node_modules -cf - . | tar -C "$tmp/src" -xf - ||
	fail "cannot copy the tree to $tmp/src"
start=$(date +%s)
(cd "$tmp/src" && dpkg-buildpackage -us -uc -b -j"${HEED_TEST_JOBS:-2}") >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log"
	fail "dpkg-buildpackage -us -uc -b failed (above: the end of its log)"
}
echo "ok: dpkg-buildpackage built $(cd "$tmp" && ls ./*.deb | tr '\n' ' ')in $(($(date +%s) - start)) s"
debs=
for p in $pkgs; do
	f=$tmp/${p}_${version}_$(dpkg --print-architecture).deb
	[ -f "$f" ] || fail "no $f"
	debs="$debs $f"
done
dpkg-deb -f "$tmp/heed_${version}_"*.deb Depends | grep -q libbpf1 ||
	fail "heed's Depends lacks libbpf1: $(dpkg-deb -f "$tmp"/heed_*.deb Depends)"
dpkg-deb -f "$tmp/libheed-dev_${version}_"*.deb Depends | grep -qF "libheed0 (= $version)" ||
	fail "libheed-dev does not depend on libheed0 (= $version)"

lintian --fail-on error "$tmp"/heed_*.changes >"$tmp/lintian.log" 2>&1
rc=$?
if [ $rc -ne 0 ] || grep -q '^E:' "$tmp/lintian.log"; then
	cat "$tmp/lintian.log"
	fail "lintian reports errors (above)"
fi
echo "ok: lintian: no error ($(grep -c '^W:' "$tmp/lintian.log") warnings)"

installed=1
apt-get install -y -qq $lock $debs >"$tmp/install.log" 2>&1 || {
	tail -n 20 "$tmp/install.log"
	fail "apt-get install of$debs failed"
}
echo "ok: installed $pkgs"

out=$(/usr/bin/heed-trace --help 2>&1) || fail "/usr/bin/heed-trace --help exits $?: $out"
echo "$out" | grep -q '^usage: heed-trace' || fail "/usr/bin/heed-trace --help: no usage line: $out"
page=$(man -w heed-trace 2>&1)
[ "$page" = /usr/share/man/man8/heed-trace.8.gz ] || fail "man -w heed-trace: '$page'"
for p in heed-stat heed-check heed-load heed-copy heed-dump heed-load-dump heed-flame heed-pprof heed-dash; do
	man -w "$p" >/dev/null 2>&1 || fail "man -w $p finds no page"
done
man -w 3 heed >/dev/null 2>&1 || fail "man -w 3 heed finds no page"
echo "ok: heed-trace --help, man -w heed-trace: $page"

out=$(timeout 60 /usr/bin/heed-trace -d 10 -- /bin/true 2>&1) || fail "heed-trace -- /bin/true exits $?: $out"
echo "$out" | grep -q 'tracing pid [0-9]* (true)' || fail "heed-trace -- /bin/true: no 'tracing pid' line: $out"
echo "ok: heed-trace -- /bin/true: $(echo "$out" | grep 'tracing pid')"
out=$(timeout 120 /usr/bin/heed-trace --ops -- /usr/bin/heed-load -w fill -n 2000 --nosync "$tmp/db" 2>&1) ||
	fail "heed-trace --ops -- heed-load exits $?: $out"
echo "$out" | grep -q '^put: count 2000,' || fail "heed-trace --ops of the packaged heed-load: no 'put: count 2000': $out"
echo "ok: heed-trace --ops counts the 2000 puts of the packaged heed-load"

# The README's example, built with the installed libheed-dev alone.
readme_example "$tmp/example.c" "$tmp/readme-db" || fail "README.md: no C example under '## The library in brief'"
mkdir "$tmp/readme-db"
[ "$(pkg-config --modversion heed)" = "$version" ] || fail "pkg-config --modversion heed: '$(pkg-config --modversion heed 2>&1)'"
gcc -Wall -Wextra -Werror -o "$tmp/example" "$tmp/example.c" $(pkg-config --cflags --libs heed) 2>"$tmp/cc.log" ||
	fail "the README's example does not build with pkg-config --cflags --libs heed: $(cat "$tmp/cc.log")"
ldd "$tmp/example" | grep -qE "libheed.so.0 => (/usr)?/lib/[^ ]*/libheed.so.0 " ||
	fail "the example does not load the packaged libheed.so.0: $(ldd "$tmp/example")"
"$tmp/example" || fail "the README's example exits $?"
/usr/bin/heed-stat "$tmp/readme-db" | grep -q 'Entries: 1$' || fail "heed-stat: the README's example did not store its one pair"
echo "ok: the README's example builds with pkg-config against the package and stores its pair"

out=$(bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader heed-trace; complete -p heed-trace' 2>&1)
echo "$out" | grep -q -- '-F _heed heed-trace' || fail "bash-completion does not load the packaged completion of heed-trace: $out"
echo "ok: bash-completion loads /usr/share/bash-completion/completions/heed-trace"

apt-get purge -y -qq $lock $pkgs >"$tmp/purge.log" 2>&1 || fail "apt-get purge $pkgs: $(tail -n 5 "$tmp/purge.log")"
installed=0
[ ! -e /usr/bin/heed-trace ] || fail "/usr/bin/heed-trace is still there after the purge"
echo "ok: purged $pkgs"
