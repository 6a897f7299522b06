#!/bin/sh
# Runs every test binary and script given, then prints one closing line:
# "tests: N passed, N failed". Usage: tests/run.sh BUILD TEST...
# Criterion suites count their own tests; a script (tests/*.sh) counts as one.
# A suite that cannot run (no root for BPF, a missing tool) fails: nothing is
# skipped silently.
build=$1
shift
passed=0
failed=0
failed_names=
logdir=$build/test-logs
mkdir -p "$logdir"
for t in "$@" $(ls tests/t_*.sh 2>/dev/null); do
	name=$(basename "$t")
	log=$logdir/$name.log
	printf '== %s\n' "$name"
	case "$t" in
	*.sh) bash "$t" "$build" >"$log" 2>&1 ;;
	*) "$t" --jobs="${HEED_TEST_JOBS:-2}" >"$log" 2>&1 ;;
	esac
	rc=$?
	syn=$(grep -a 'Synthesis: Tested:' "$log" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')
	if [ -n "$syn" ]; then
		tested=$(printf '%s' "$syn" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
		pass=$(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
		passed=$((passed + pass))
		failed=$((failed + tested - pass))
		if [ "$rc" -ne 0 ] && [ "$tested" -eq "$pass" ]; then
			failed=$((failed + 1))
		fi
	elif [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	if [ "$rc" -ne 0 ]; then
		failed_names="$failed_names $name"
		tail -n 40 "$log"
	else
		tail -n 3 "$log"
	fi
done
[ -n "$failed_names" ] && printf 'failed:%s (logs in %s)\n' "$failed_names" "$logdir"
printf 'tests: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ] && [ -z "$failed_names" ]
