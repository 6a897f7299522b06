#!/bin/sh
# make lint: cppcheck and clang-tidy over the C sources given; fails on any finding.
# Usage: ci/lint.sh BUILD SRC...
set -eu
build=$1
shift
inc="-Icore -I$build/include -I$build/bpf -Ibpf -Iprofiler -Iflame -Ibench"
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	--inline-suppr --suppress=missingIncludeSystem --suppress=unknownMacro -D_GNU_SOURCE -DHEED_PROBES=1 \
	--std=c11 $inc "$@"
out=$build/clang-tidy.log
rc=0
clang-tidy --quiet "$@" -- -std=gnu11 -D_GNU_SOURCE -DHEED_PROBES=1 $inc >"$out" 2>&1 || rc=$?
grep -v 'warnings generated' "$out" || true
exit "$rc"
