# heed-trace's symbols on real processes: a C++ function demangled
# (tests/progs/cxxhot); a library dlopen()ed after attach, in a process gone before
# the report, named in both unwinding modes (tests/progs/dlopener); JIT code named
# from node --perf-basic-prof's /tmp/perf-PID.map; a stripped binary named through
# --debuginfod from Debian's debuginfod server on 127.0.0.1 serving its
# objcopy --only-keep-debug file. Usage: bash tests/t_trace_symbols.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

CXXHOT=$B/tests/progs/cxxhot
DLOPENER=$B/tests/progs/dlopener
NOFPLIB=$(cd "$B/tests/progs" 2>/dev/null && pwd)/libnofpchain.so
for x in "$CXXHOT" "$DLOPENER" "$NOFPLIB"; do
	[ -e "$x" ] || fail "$x is missing: build with make check"
done
for x in node debuginfod debuginfod-find objcopy strip readelf; do
	command -v "$x" >/dev/null ||
		fail "$x is needed (packages nodejs, debuginfod, binutils)"
done

# profile OUT CMD...: --profile -- CMD into $T/OUT.folded, extra heed-trace options
# in $OPTS.
profile() {
	out=$1
	shift
	# shellcheck disable=SC2086
	"$TRACE" --profile -F 199 $OPTS --folded "$T/$out.folded" -- "$@" >"$T/out" 2>"$T/err" ||
		{ cat "$T/err"; fail "--profile -- $* failed"; }
	assert_detached "--profile $OPTS -- $1"
	grep '^==' "$T/out"
}

OPTS= profile cxx "$CXXHOT" 1
grep -qF ';heedtest::Spinner<unsigned long>::spin(unsigned long)' "$T/cxx.folded" || {
	head -3 "$T/cxx.folded"
	fail "the C++ function is not demangled (above)"
}
echo "ok: C++ names demangled"

for mode in auto fp; do
	OPTS="--unwind $mode" profile dl-$mode "$DLOPENER" "$NOFPLIB" lib6 1
	grep -q ';leaf_spin' "$T/dl-$mode.folded" || {
		head -3 "$T/dl-$mode.folded"
		fail "--unwind $mode: leaf_spin of the library dlopen()ed after attach is not named"
	}
	[ "$mode" = fp ] || grep -q ';lib6;lib7;lib8;lib9;lib10;lib11;leaf_spin' "$T/dl-$mode.folded" ||
		fail "--unwind $mode: the dlopen()ed library's chain is not whole"
done
echo "ok: a library dlopen()ed after attach named after the process exited"

cat >"$T/hot.js" <<'EOF'
function heedHotJsFunction(n) { let x = 0; for (let i = 0; i < n; i++) x += i % 7; return x; }
const t0 = Date.now(); let s = 0;
while (Date.now() - t0 < 1500) s += heedHotJsFunction(100000);
console.log(s);
EOF
# --perf-basic-prof also writes a V8 log into the working directory: into $T.
OPTS= profile node node --perf-basic-prof --logfile="$T/v8.log" --no-logfile-per-isolate "$T/hot.js"
node_pid=$(sed -n 's/^heed-trace: tracing pid \([0-9]*\) .*/\1/p' "$T/err")
rm -f "/tmp/perf-$node_pid.map"
grep -q 'heedHotJsFunction' "$T/node.folded" ||
	fail "the hot JS function is not named from node's /tmp/perf-PID.map"
echo "ok: JIT frames named from the perf map"

# A stripped copy of cxxhot, its debug info only on a debuginfod server.
mkdir -p "$T/srv" "$T/cache"
cp "$CXXHOT" "$T/stripped"
objcopy --only-keep-debug "$T/stripped" "$T/srv/stripped.debug"
strip --strip-all "$T/stripped"
# A port nobody listens on (another test or a leftover server may hold the first pick).
port=$((20000 + $$ % 20000))
while [ -n "$(ss -Hltn "sport = :$port")" ]; do port=$((port + 1)); done
debuginfod -F "$T/srv" -p "$port" -d "$T/db.sqlite" >"$T/debuginfod.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$T"' EXIT
build_id=$(readelf -n "$T/stripped" | awk '/Build ID/ {print $3}')
i=0
# A fresh client cache per try: the client remembers a miss for 10 minutes.
until DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$T/probe$i \
	debuginfod-find debuginfo "$build_id" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 100 ] || { cat "$T/debuginfod.log"; fail "debuginfod did not serve $build_id"; }
	kill -0 $srv 2>/dev/null || { cat "$T/debuginfod.log"; fail "debuginfod on port $port exited"; }
	sleep 0.1
done
export DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$T/cache
OPTS= profile plain "$T/stripped" 1
# Stacks of the stripped binary are there, so the name's absence below says something.
grep -q '^stripped;' "$T/plain.folded" || fail "without --debuginfod: no stack of the stripped binary"
! grep -q 'heedtest::Spinner' "$T/plain.folded" ||
	fail "without --debuginfod the stripped binary was named: the server was asked"
OPTS=--debuginfod profile dbg "$T/stripped" 1
grep -q ';heedtest::Spinner<unsigned long>::spin' "$T/dbg.folded" || {
	head -3 "$T/dbg.folded"
	fail "--debuginfod: the stripped binary's function is not named"
}
echo "ok: --debuginfod names a stripped binary from its debug file on the server"
