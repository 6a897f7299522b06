#!/bin/bash
# heed-trace --pprof: one run of tests/progs/hot writes folded stacks and a pprof profile;
# Debian's go tool pprof (golang-go) reads the profile back with the same total samples
# and the same functions with the same self counts as the folded file (leaves, _[i] and
# _[k] annotations dropped), CPU time as samples x 1e9/HZ, mappings with build-ids and
# file offsets, the process as a label, inlined frames as inline lines; --offcpu gives
# offcpu nanoseconds equal to the folded total; --pprof without stacks is refused.
# Usage: bash tests/t_trace_pprof.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

command -v go >/dev/null 2>&1 ||
	fail "go is missing: Debian's golang-go provides go tool pprof (sh ci/install-deps.sh)"
# go needs a writable cache; CI's HOME may not be.
export HOME=$T GOCACHE=$T/gocache GOFLAGS='' TZ=UTC
pprof() {
	go tool pprof -symbolize=none "$@" 2>"$T/pprof.err" || fail "go tool pprof $*: $(cat "$T/pprof.err")"
}
# Self counts of the folded leaves as "count<TAB>name", and the total on stderr.
folded_self() {
	awk '{ c = $NF; sub(/ [0-9]+$/, ""); n = split($0, f, ";"); leaf = f[n];
	       sub(/_\[[ki]\]$/, "", leaf); self[leaf] += c; total += c }
	     END { for (l in self) printf "%d\t%s\n", self[l], l; printf "%d\n", total > "/dev/stderr" }' "$1" |
		sort -t "$(printf '\t')" -k1,1nr -k2
}
# Rows of pprof -top as "flat<TAB>name", without pprof's " (inline)".
top_self() {
	awk '/^ *flat  *flat%/ { rows = 1; next }
	     rows { name = $0; sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+  /, "", name);
	            sub(/ \(inline\)$/, "", name); if ($1 + 0 > 0) printf "%d\t%s\n", $1, name }' |
		sort -t "$(printf '\t')" -k1,1nr -k2
}

"$TRACE" --profile -F 199 --folded "$T/cpu.folded" --pprof "$T/cpu.pb.gz" \
	-- "$HOT" cpu 2 >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "--profile --pprof -- hot cpu failed"; }
assert_detached "--profile --pprof"
folded_self "$T/cpu.folded" >"$T/want.self" 2>"$T/want.total"
total=$(cat "$T/want.total")
[ "$total" -ge 100 ] || fail "only $total samples in the folded file"
pprof -top -nodefraction=0 -sample_index=samples "$T/cpu.pb.gz" >"$T/top.txt"
grep -q "^Showing nodes accounting for $total, 100% of $total total$" "$T/top.txt" ||
	fail "pprof total is not the folded $total: $(grep Showing "$T/top.txt")"
top_self <"$T/top.txt" >"$T/got.self"
diff "$T/want.self" "$T/got.self" >"$T/self.diff" ||
	fail "self counts of folded (<) and pprof (>) differ: $(cat "$T/self.diff")"
head -n 2 "$T/got.self" | cut -f2 | sort | tr '\n' ' ' | grep -qx 'hot_b spin_inl ' ||
	fail "the top functions are not spin_inl and hot_b: $(head -n 2 "$T/got.self")"
ns=$((total * (1000000000 / 199)))
pprof -top -nodefraction=0 -unit=ns -sample_index=cpu "$T/cpu.pb.gz" >"$T/cpu.txt"
grep -q "^Showing nodes accounting for ${ns}ns, 100% of ${ns}ns total$" "$T/cpu.txt" ||
	fail "CPU time is not $total x 1e9/199 ns: $(grep Showing "$T/cpu.txt")"
pprof -raw "$T/cpu.pb.gz" >"$T/raw.txt"
grep -q '^PeriodType: cpu nanoseconds$' "$T/raw.txt" || fail "no cpu period type"
grep -q '^Period: 5025125$' "$T/raw.txt" || fail "period is not 1e9/199"
grep -q '^samples/count cpu/nanoseconds$' "$T/raw.txt" || fail "sample types are not samples, cpu"
pid=$(grep -o 'tracing pid [0-9]*' "$T/err" | grep -o '[0-9]*$')
grep -q "process:\[hot\]" "$T/raw.txt" || fail "samples are not labelled process hot"
grep -q "pid:\[$pid\]" "$T/raw.txt" || fail "samples are not labelled pid $pid"
# The program's mapping comes first (pprof's "File:") with its build-id and file offset.
bid=$(readelf -n "$HOT" | awk '/Build ID/ { print $3 }')
[ -n "$bid" ] || fail "$HOT has no build-id to compare with"
sed -n '/^Mappings/,$p' "$T/raw.txt" >"$T/maps.txt"
grep -q "^1: 0x[0-9a-f]*/0x[0-9a-f]*/0x[0-9a-f]* $(realpath "$HOT") $bid \[FN\]\[IN\]$" "$T/maps.txt" ||
	fail "the first mapping is not $HOT with build-id $bid: $(cat "$T/maps.txt")"
libc=$(grep -o ' /[^ ]*libc\.so\.6 [0-9a-f]*' "$T/maps.txt" | head -n 1)
[ -n "$libc" ] || fail "no libc mapping with a build-id: $(cat "$T/maps.txt")"
# libc's code is not at file offset 0: the offset is the mapping's, not 0.
grep -q "/0x[1-9a-f][0-9a-f]*$libc" "$T/maps.txt" || fail "libc's mapping has no file offset"
# Kernel frames sit in a [kernel.kallsyms] mapping: there is one exactly when a sample
# of this spinning run landed in the kernel (not every run has one; the off-CPU run
# below always does).
if grep -q '_\[k\]' "$T/cpu.folded"; then
	grep -q '\[kernel.kallsyms\]  \[FN\]$' "$T/maps.txt" || fail "kernel frames but no kernel mapping"
else
	! grep -q 'kernel.kallsyms' "$T/maps.txt" || fail "a kernel mapping without kernel frames"
fi
# spin_inl is inlined into hot_a: one location of two lines, hot_a the caller.
pprof -traces "$T/cpu.pb.gz" >"$T/traces.txt"
awk '/spin_inl \(inline\)/ { getline a; print a; exit }' "$T/traces.txt" | tr -s ' ' |
	grep -qx ' hot_a' || fail "spin_inl's caller is not hot_a in -traces"

"$TRACE" --offcpu --folded "$T/off.folded" --pprof "$T/off.pb.gz" \
	-- "$HOT" rec 50 >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "--offcpu --pprof failed"; }
folded_self "$T/off.folded" >"$T/want.self" 2>"$T/want.total"
total=$(cat "$T/want.total")
[ "$total" -gt 0 ] || fail "no off-CPU time in the folded file"
pprof -top -nodefraction=0 -unit=ns "$T/off.pb.gz" >"$T/off.txt"
grep -q '^Type: offcpu$' "$T/off.txt" || fail "--offcpu: type is not offcpu"
pprof -raw "$T/off.pb.gz" | sed -n '/^Mappings/,$p' | grep -q '\[kernel.kallsyms\]  \[FN\]$' ||
	fail "--offcpu: no kernel mapping for the scheduler's frames"
grep -q "^Showing nodes accounting for ${total}ns, 100% of ${total}ns total$" "$T/off.txt" ||
	fail "--offcpu: pprof total is not the folded ${total}ns: $(grep Showing "$T/off.txt")"

"$TRACE" --ops --pprof "$T/x.pb.gz" -- "$HOT" cpu 1 >"$T/out" 2>"$T/err" &&
	fail "--pprof without --profile or --offcpu was accepted"
grep -q 'add --profile or --offcpu' "$T/err" || fail "--pprof without stacks: $(cat "$T/err")"
[ ! -e "$T/x.pb.gz" ] || fail "a refused run wrote $T/x.pb.gz"
echo "t_trace_pprof: ok ($(wc -l <"$T/got.self") functions, $(grep -c . "$T/maps.txt") mapping lines)"
