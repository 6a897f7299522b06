#!/bin/sh
# make lint: cppcheck and clang-tidy over the C sources given; fails on any finding
# in our sources. Usage: ci/lint.sh BUILD SRC...
#
# clang-tidy runs once per file: clang-tidy 14 reports a false
# clang-analyzer-valist.Uninitialized when one run analyses several files.
# Findings inside generated code under BUILD (bpftool's skeletons) are not ours
# to fix and are listed, not counted. A clang-tidy that fails without a finding
# (missing, crashed) adds one, so it cannot pass as clean.
set -eu
build=$1
shift
# profiler/ before bpf/, as the build has them: a feature's user-side header may share
# its name with the BPF ABI header (profiler/lathist.h includes ../bpf/lathist.h).
inc="-Icore -Iutil -I$build/include -Iprofiler -I$build/bpf -Ibpf -Iflame -Ibench"
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	--inline-suppr --suppress=missingIncludeSystem --suppress=unknownMacro -D_GNU_SOURCE \
	-DHEED_PROBES=1 --std=c11 $inc "$@"
out=$build/clang-tidy.log
: >"$out"
printf '%s\n' "$@" | xargs -P "$(nproc)" -I{} sh -c \
	'clang-tidy --quiet "$1" -- -std=gnu11 -D_GNU_SOURCE -DHEED_PROBES=1 '"$inc"' >"$2.$$" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && ! grep -qE ":[0-9]+:[0-9]+: (warning|error):" "$2.$$"; then
		echo "$1:1:1: error: clang-tidy exited $rc without a finding" >>"$2.$$"
	fi
	cat "$2.$$" >>"$2"; rm -f "$2.$$"' \
	sh {} "$out"
findings=$(grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error):' "$out" | grep -v "^$build/\|/$build/" || true)
generated=$(grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error):' "$out" | grep "^$build/\|/$build/" || true)
[ -z "$generated" ] || printf 'lint: in generated code (not counted):\n%s\n' "$generated"
if [ -n "$findings" ]; then
	printf '%s\n' "$findings"
	echo "lint: clang-tidy findings above (full log: $out)" >&2
	exit 1
fi
echo "lint: clean"
