#!/bin/sh
# make demo: heed-load runs a mixed workload; heed-trace attaches to it by pid for
# 5 seconds (--ops --profile), prints the op histograms and the top functions, and
# writes build/demo/{flame.svg,stacks.folded,trace.json}. Needs root (BPF).
# Usage: ci/demo.sh BUILD. Exits non-zero if any step fails.
set -eu
build=${1:-build}
out=$build/demo
bin=$build/bin

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: heed-trace needs root (or CAP_BPF and CAP_PERFMON): run sudo make demo" >&2
	exit 1
fi
for b in heed-load heed-trace; do
	[ -x "$bin/$b" ] || { echo "demo: $bin/$b is missing: run make first" >&2; exit 1; }
done
mkdir -p "$out"
rm -f "$out/flame.svg" "$out/stacks.folded" "$out/trace.json" "$out/heed-load.json"
db=$(mktemp -d /tmp/heed-demo.XXXXXX)
load_pid=
cleanup() {
	[ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
	rm -rf "$db"
}
trap cleanup EXIT INT TERM

# The load runs longer than the trace so heed-trace detaches from a live process.
"$bin/heed-load" -w mixed -d 8 --nosync --pid-file "$db/pid" --json "$db/env" \
	>"$out/heed-load.json" &
load_pid=$!
i=0
while [ ! -s "$db/pid" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "demo: heed-load did not start" >&2; exit 1; }
	kill -0 "$load_pid" 2>/dev/null || { echo "demo: heed-load exited early" >&2; exit 1; }
	sleep 0.1
done

echo "demo: tracing heed-load (pid $load_pid) for 5 s"
"$bin/heed-trace" -p "$load_pid" --ops --profile -d 5 \
	--flame "$out/flame.svg" --folded "$out/stacks.folded" --json "$out/trace.json"
wait "$load_pid"
load_pid=

for f in flame.svg stacks.folded trace.json; do
	[ -s "$out/$f" ] || { echo "demo: $out/$f was not written" >&2; exit 1; }
done
echo "demo: heed-load's own counts: $(cat "$out/heed-load.json")"
echo "demo: wrote $out/flame.svg, $out/stacks.folded, $out/trace.json"
