#!/bin/bash
# heed-pprof end to end: folded stacks converted to pprof and read back by Debian's
# go tool pprof (golang-go) give the same total and the same top functions (self
# counts) as the folded input, computed here with awk; -F HZ adds CPU time
# (samples x 1e9/HZ ns), --offcpu types the counts as nanoseconds; every error exits
# non-zero with a message. Usage: bash tests/t_pprof.sh BUILD
set -u
build=${1:-build}
tool=$build/bin/heed-pprof
if [ ! -x "$tool" ]; then
	echo "t_pprof: FAIL: $tool is not built (run make)"
	exit 1
fi
if ! command -v go >/dev/null 2>&1; then
	echo "t_pprof: FAIL: go is missing: Debian's golang-go provides go tool pprof (sh ci/install-deps.sh)"
	exit 1
fi
tmp=$(mktemp -d /tmp/t_pprof.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# go needs a writable cache; CI's HOME may not be.
export HOME=$tmp GOCACHE=$tmp/gocache GOFLAGS= TZ=UTC
fail=0
bad() {
	echo "t_pprof: FAIL: $*"
	fail=1
}
pprof() {
	go tool pprof -symbolize=none "$@" 2>"$tmp/pprof.err" || bad "go tool pprof $*: $(cat "$tmp/pprof.err")"
}

# A folded file of the shapes heed-trace writes: processes as roots, inlined (_[i]) and
# kernel (_[k]) frames, a C++ name with spaces, repeated stacks, a process-only stack,
# and frames shared between processes.
cat >"$tmp/in.folded" <<'EOF'
hot;__libc_start_call_main;hot_a;spin_inl_[i] 568
hot;__libc_start_call_main;hot_b 227
hot;__libc_start_call_main;hot_b 13
hot;main;sys_heavy;read;entry_SYSCALL_64_[k];ksys_read_[k];vfs_read_[k] 41
heed-load;main;heed_get;avx2_search;node_check_[i] 300
heed-load;main;heed_get;full_search;page_get_[i] 120
heed-load;main;heed_put;std::vector<int>::push_back(int const&) 77
heed-load;main;heed_put;memcpy 55
db;main;memcpy 60
swapper/0 999
EOF

# Self counts of the leaves, annotations dropped (pprof shows them as the functions),
# and the total, straight from the text.
awk '{ c = $NF; sub(/ [0-9]+$/, ""); n = split($0, f, ";"); leaf = f[n];
       sub(/_\[[ki]\]$/, "", leaf); self[leaf] += c; total += c }
     END { for (l in self) printf "%d\t%s\n", self[l], l; printf "%d\tTOTAL\n", total > "/dev/stderr" }' \
	"$tmp/in.folded" 2>"$tmp/want.total" | sort -t "$(printf '\t')" -k1,1nr -k2 >"$tmp/want.self"
want_total=$(cut -f1 "$tmp/want.total")

# Rows of pprof -top as "flat<TAB>name", by flat then name, without pprof's " (inline)".
top_self() {
	awk '/^ *flat  *flat%/ { rows = 1; next }
	     rows { name = $0; sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+  /, "", name);
	            sub(/ \(inline\)$/, "", name); if ($1 + 0 > 0) printf "%d\t%s\n", $1, name }' |
		sort -t "$(printf '\t')" -k1,1nr -k2
}

"$tool" "$tmp/in.folded" "$tmp/out.pb.gz" || bad "heed-pprof exited $?"
pprof -top -nodefraction=0 -sample_index=samples "$tmp/out.pb.gz" >"$tmp/top.txt"
grep -q "^Showing nodes accounting for $want_total, 100% of $want_total total$" "$tmp/top.txt" ||
	bad "total is not $want_total: $(grep Showing "$tmp/top.txt")"
top_self <"$tmp/top.txt" >"$tmp/got.self"
diff "$tmp/want.self" "$tmp/got.self" >"$tmp/self.diff" || bad "self counts differ (want, got):
$(cat "$tmp/self.diff")"
grep -q '^Type: samples$' "$tmp/top.txt" || bad "sample type is not samples"
# -raw: every line became one sample (the repeated stack merged), labelled by process.
pprof -raw "$tmp/out.pb.gz" >"$tmp/raw.txt"
[ "$(grep -c 'process:\[' "$tmp/raw.txt")" -eq 9 ] || bad "-raw has not 9 labelled samples"
grep -q '^ *240: [0-9]* [0-9]* $' "$tmp/raw.txt" || bad "hot_b's two lines are not one sample of 240"
for p in hot heed-load db swapper/0; do
	grep -q "process:\[$p\]" "$tmp/raw.txt" || bad "no sample labelled process $p"
done
grep -q '\[kernel.kallsyms\]  \[FN\]$' "$tmp/raw.txt" || bad "no kernel mapping in -raw"
# The profile's time is when the folded file was written.
grep -q "^Time: $(date -u -r "$tmp/in.folded" '+%Y-%m-%d %H:%M:%S')" "$tmp/raw.txt" ||
	bad "time is not the folded file's mtime: $(grep '^Time' "$tmp/raw.txt")"
# The label selects a process, as Pyroscope and Parca split profiles by it.
pprof -top -nodefraction=0 -sample_index=samples -tagfocus=process=heed-load "$tmp/out.pb.gz" >"$tmp/focus.txt"
grep -q "^Showing nodes accounting for 552, " "$tmp/focus.txt" || bad "process=heed-load is not 552 samples"
# -traces: the stack order, leaf first, an inlined frame marked by pprof.
pprof -traces "$tmp/out.pb.gz" >"$tmp/traces.txt"
awk '/spin_inl \(inline\)/ { getline a; getline b; print a; print b }' "$tmp/traces.txt" |
	tr -s ' ' >"$tmp/spin.txt"
printf ' hot_a\n __libc_start_call_main\n' | diff - "$tmp/spin.txt" >/dev/null ||
	bad "spin_inl's callers are not hot_a, __libc_start_call_main: $(cat "$tmp/spin.txt")"
grep -A5 ' vfs_read$' "$tmp/traces.txt" | tail -n 5 | tr -s ' ' >"$tmp/vfs.txt"
printf ' ksys_read\n entry_SYSCALL_64\n read\n sys_heavy\n main\n' | diff - "$tmp/vfs.txt" >/dev/null ||
	bad "vfs_read's callers are not the folded line's: $(cat "$tmp/vfs.txt")"

# -F 99: samples and CPU nanoseconds, each sample 1e9/99 ns.
"$tool" -F 99 "$tmp/in.folded" "$tmp/cpu.pb.gz" || bad "heed-pprof -F 99 exited $?"
pprof -top -unit=ns -sample_index=cpu "$tmp/cpu.pb.gz" >"$tmp/cpu.txt"
ns=$((want_total * (1000000000 / 99)))
grep -q "^Showing nodes accounting for ${ns}ns, 100% of ${ns}ns total$" "$tmp/cpu.txt" ||
	bad "CPU time is not ${ns}ns: $(grep Showing "$tmp/cpu.txt")"
pprof -raw "$tmp/cpu.pb.gz" >"$tmp/cpuraw.txt"
grep -q '^PeriodType: cpu nanoseconds$' "$tmp/cpuraw.txt" || bad "-F: no cpu period type"
grep -q '^Period: 10101010$' "$tmp/cpuraw.txt" || bad "-F 99: period is not 10101010"
grep -q '^samples/count cpu/nanoseconds$' "$tmp/cpuraw.txt" || bad "-F: sample types"

# --offcpu: the counts are nanoseconds off CPU.
"$tool" --offcpu "$tmp/in.folded" "$tmp/off.pb.gz" || bad "heed-pprof --offcpu exited $?"
pprof -top -unit=ns "$tmp/off.pb.gz" >"$tmp/off.txt"
grep -q '^Type: offcpu$' "$tmp/off.txt" || bad "--offcpu: type is not offcpu"
grep -q "^Showing nodes accounting for ${want_total}ns, 100% of ${want_total}ns total$" "$tmp/off.txt" ||
	bad "--offcpu: total is not ${want_total}ns"

# Errors: a message and a non-zero status.
expect() {
	local rc=$1 msg=$2 got
	shift 2
	"$tool" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$rc" ] || bad "heed-pprof $* exited $got, expected $rc ($(cat "$tmp/err"))"
	grep -qF -- "$msg" "$tmp/err" || bad "heed-pprof $*: stderr lacks '$msg': $(cat "$tmp/err")"
}
printf 'a;b 1\nnot a folded line\n' >"$tmp/bad.folded"
printf 'a;b 9223372036854775808\n' >"$tmp/huge.folded"
expect 1 "bad.folded: line 2: not a folded stack" "$tmp/bad.folded" "$tmp/x.pb.gz"
expect 1 "its count is too large for pprof" "$tmp/huge.folded" "$tmp/x.pb.gz"
expect 1 "no-such.folded: No such file or directory" "$tmp/no-such.folded" "$tmp/x.pb.gz"
expect 1 "no/dir/x.pb.gz: No such file or directory" "$tmp/in.folded" "$tmp/no/dir/x.pb.gz"
expect 2 "usage: heed-pprof" "$tmp/in.folded"
expect 2 "usage: heed-pprof" -F 99 --offcpu "$tmp/in.folded" "$tmp/x.pb.gz"
expect 2 "-F 0: not a frequency" -F 0 "$tmp/in.folded" "$tmp/x.pb.gz"
[ ! -e "$tmp/x.pb.gz" ] || bad "a failed run left $tmp/x.pb.gz"
ls "$tmp"/*.tmp.* >/dev/null 2>&1 && bad "temporary files left: $(ls "$tmp"/*.tmp.*)"

[ "$fail" -eq 0 ] && echo "t_pprof: ok (total $want_total samples, $(wc -l <"$tmp/want.self") functions)"
exit "$fail"
