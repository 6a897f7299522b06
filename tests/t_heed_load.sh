#!/bin/bash
# t_heed_load.sh - heed-load runs every workload and prints counts that add
# up: each libheed call category matches what the workload must have made.
# Usage: bash tests/t_heed_load.sh BUILD
set -u
build=${1:-build}
bin=$build/bin/heed-load
if [ ! -x "$bin" ]; then
	echo "t_heed_load: $bin is missing: build it with make first" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/heed-t-load-XXXXXX) || { echo "t_heed_load: mktemp failed" >&2; exit 1; }
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# field JSON SECTION NAME: a number from "SECTION":{..."NAME":N...}, or a
# top-level "NAME":N when SECTION is empty.
field() {
	if [ -n "$2" ]; then
		printf '%s' "$1" | sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9.]*\).*/\1/p"
	else
		printf '%s' "$1" | sed -n "s/.*\"$3\":\([0-9.]*\).*/\1/p"
	fi
}

# expect JSON SECTION NAME VALUE WHAT
expect() {
	local got
	got=$(field "$1" "$2" "$3")
	if [ "$got" != "$4" ]; then
		fail "$5: $2.$3 is '${got}', expected $4"
	fi
}

# run NAME ARGS...: heed-load --json; prints its JSON line, fails on error.
run() {
	local name=$1 out
	shift
	if ! out=$("$bin" --json "$@" 2>"$tmp/$name.err"); then
		fail "$name: heed-load $* exited non-zero: $(cat "$tmp/$name.err")"
		return 1
	fi
	echo "$name: $out" >&2
	printf '%s' "$out"
}

zero_errors() {
	local c
	for c in get put del cursor commit sync; do
		expect "$1" errors "$c" 0 "$2"
	done
}

# fill into an empty db: the lookup of the last key misses once.
j=$(run fill1 -w fill -n 1000 --nosync "$tmp/fill") && {
	expect "$j" ops put 1000 fill1
	expect "$j" ops cursor 1 fill1
	expect "$j" errors cursor 1 fill1
	expect "$j" ops commit 1 fill1
	expect "$j" ops sync 1 fill1
	expect "$j" ops get 0 fill1
	expect "$j" "" measured_ops 1000 fill1
	# profiler/overhead.sh divides it by measured_ops.
	[ -n "$(field "$j" "" cpu_seconds)" ] || fail "fill1: no cpu_seconds in $j"
}
# fill again appends after the last key.
j=$(run fill2 -w fill -n 500 --batch 100 --nosync "$tmp/fill") && {
	expect "$j" ops put 500 fill2
	expect "$j" ops cursor 1 fill2
	expect "$j" errors cursor 0 fill2
	expect "$j" ops commit 5 fill2
}
# readrandom on the 1500 keys of fill: no setup needed.
j=$(run rr-filled -w readrandom -n 1000 -k 1500 "$tmp/fill") && {
	expect "$j" ops get 1000 rr-filled
	expect "$j" ops put 0 rr-filled
	expect "$j" ops commit 0 rr-filled
	expect "$j" ops sync 0 rr-filled
	zero_errors "$j" rr-filled
}
# readrandom on an empty db fills it first (appends, durable commits).
j=$(run rr -w readrandom -n 1000 -k 1500 "$tmp/rr") && {
	expect "$j" ops get 1000 rr
	expect "$j" ops put 1500 rr
	expect "$j" ops commit 2 rr
	expect "$j" ops cursor 0 rr
	expect "$j" "" measured_ops 1000 rr
	zero_errors "$j" rr
}
# Reader threads share the op budget exactly.
j=$(run rr-threads -w readrandom -t 3 -n 10007 -k 1500 "$tmp/rr") && {
	expect "$j" ops get 10007 rr-threads
	expect "$j" ops put 0 rr-threads
	expect "$j" "" threads 3 rr-threads
}
# fillrandom: puts in txns of --batch.
j=$(run fillrandom -w fillrandom -n 2000 -k 500 --batch 100 --nosync "$tmp/fr") && {
	expect "$j" ops put 2000 fillrandom
	expect "$j" ops commit 20 fillrandom
	expect "$j" ops sync 1 fillrandom
	zero_errors "$j" fillrandom
}
# readseq: each pass over 1000 keys is 1000 NEXTs plus one NOTFOUND.
j=$(run readseq -w readseq -n 3500 -k 1000 --nosync "$tmp/rs") && {
	expect "$j" ops cursor 3500 readseq
	expect "$j" errors cursor 3 readseq
	expect "$j" ops put 1000 readseq
	expect "$j" ops get 0 readseq
}
# overwrite: setup 1000 puts in 2 txns, then 2000 puts in 4.
j=$(run overwrite -w overwrite -n 2000 -k 1000 --batch 500 --nosync "$tmp/ow") && {
	expect "$j" ops put 3000 overwrite
	expect "$j" ops commit 6 overwrite
	expect "$j" ops sync 1 overwrite
	zero_errors "$j" overwrite
}
# mixed: the measured ops are exactly the budget, split over the threads.
j=$(run mixed -w mixed -n 5000 -t 2 -k 1000 --batch 200 --nosync "$tmp/mx") && {
	get=$(field "$j" ops get)
	put=$(field "$j" ops put)
	del=$(field "$j" ops del)
	if [ -z "$get" ] || [ $((get + put + del)) -ne 6000 ]; then
		fail "mixed: get $get + put $put + del $del should be 5000 + 1000 setup puts"
	fi
	if [ -n "$del" ] && [ "$del" -gt $((put - 1000)) ]; then
		fail "mixed: $del dels but only $((put - 1000)) measured puts"
	fi
	expect "$j" "" measured_ops 5000 mixed
	zero_errors "$j" mixed
}
# By duration.
j=$(run mixed-d -w mixed -d 0.5 -k 1000 --nosync "$tmp/mx") && {
	ops=$(field "$j" "" measured_ops)
	[ -n "$ops" ] && [ "$ops" -gt 0 ] || fail "mixed -d 0.5: no measured ops"
	zero_errors "$j" mixed-d
}
# --pid-file is written once the env is open, before --wait-trace ends.
"$bin" -w readrandom -n 100 -k 100 --wait-trace 1 --pid-file "$tmp/pid" --json \
	"$tmp/pf" >"$tmp/pf.out" 2>&1 &
bgpid=$!
# Polled while heed-load lives, not for a fixed time a loaded machine can outlast.
while kill -0 "$bgpid" 2>/dev/null && [ ! -s "$tmp/pid" ]; do
	sleep 0.05
done
if [ "$(cat "$tmp/pid" 2>/dev/null)" != "$bgpid" ]; then
	fail "--pid-file: '$(cat "$tmp/pid" 2>/dev/null)' is not the process id $bgpid"
fi
wait "$bgpid" || fail "--pid-file run exited non-zero: $(cat "$tmp/pf.out")"
expect "$(cat "$tmp/pf.out")" "" pid "$bgpid" "--pid-file json"

# The human table names every category.
if ! out=$("$bin" -w readrandom -n 100 -k 100 "$tmp/human" 2>&1); then
	fail "human output run failed: $out"
fi
for c in get put del cursor commit sync measured; do
	printf '%s\n' "$out" | grep -q "^$c " || fail "human output lacks a '$c' row: $out"
done

# Every failure path exits non-zero with a sentence.
bad() {
	local what=$1 err
	shift
	if err=$("$bin" "$@" 2>&1 >/dev/null); then
		fail "$what: heed-load $* succeeded"
	elif [ -z "$err" ]; then
		fail "$what: heed-load $* failed without a message"
	fi
}
bad "unknown workload" -w nosuch "$tmp/x"
bad "no DIR"
bad "-n with -d" -n 10 -d 1 "$tmp/x"
bad "key size too small" -K 2 -k 1000 "$tmp/x"
bad "bad number" -n 12abc "$tmp/x"
bad "page size" -P 1000 "$tmp/x"
bad "missing parent" -n 10 "$tmp/no/such/dir"
bad "threads for fill" -w fill -t 2 "$tmp/x"
printf 'not a heed file' >"$tmp/foreign.txt"
mkdir -p "$tmp/foreign"
head -c 65536 /dev/urandom >"$tmp/foreign/data.heed"
bad "foreign data file" -n 10 "$tmp/foreign"

if [ "$failures" -ne 0 ]; then
	echo "t_heed_load: $failures checks failed" >&2
	exit 1
fi
echo "t_heed_load: all checks passed"
