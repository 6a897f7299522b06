#!/bin/sh
# Installs every Debian package (and the one npm package) heed needs to build,
# test, trace and benchmark. Idempotent; prints nothing when all is there.
set -eu

PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libjansson-dev
libcriterion-dev systemtap-sdt-dev liblmdb-dev lmdb-utils libsqlite3-dev
libleveldb-dev librocksdb-dev bpftrace libxml2-utils chromium valgrind
cppcheck clang-tidy clang-format linux-perf python3 pkg-config
libclang-rt-14-dev hyperfine time scdoc man-db bash-completion dpkg-dev debhelper
fakeroot lintian build-essential abigail-tools golang-go
sqlite3 g++ debuginfod xz-utils iproute2"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
# The machine may carry its own Node.js (with npm inside); Debian's only when it has none.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages:$missing; run as root (sudo make test)" >&2
		exit 1
	fi
	echo "install-deps: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# playwright-core drives Debian's chromium in the browser tests; it downloads
# no browser of its own.
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$top/build/node/node_modules/playwright-core" ]; then
	mkdir -p "$top/build/node"
	(cd "$top/build/node" && npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null)
fi
