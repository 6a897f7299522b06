#!/bin/bash
# heed-flame --input perf-script and --input bpftrace on stacks recorded here and now:
# a small program (user work with an inlined loop, read(2) of /dev/zero for kernel
# frames) runs under `perf record -g` with two events; its `perf script` text is folded
# by heed-flame with each of stackcollapse-perf.pl's options and compared, line for
# line, with a reference written in Python from that script's documented rules (its
# regular expressions; the script itself is not packaged, so it is not run here). The
# same program under bpftrace (@[ustack, kstack] and @p[comm, ustack(perf), kstack])
# is folded and compared with the rules of flame.h. Needs root, perf, bpftrace, cc.
# Usage: bash tests/t_flame_perf.sh BUILD
set -u
build=${1:-build}
flame=$build/bin/heed-flame
py=/usr/bin/python3
fail() {
	echo "t_flame_perf: FAIL: $*"
	exit 1
}
[ -x "$flame" ] || fail "$flame is not built (run make)"
[ "$(id -u)" -eq 0 ] || fail "needs root for perf record and bpftrace"
for t in perf bpftrace cc "$py"; do
	command -v "$t" >/dev/null || fail "$t is missing (sh ci/install-deps.sh)"
done
tmp=$(mktemp -d /tmp/t_flame_perf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bad=0
err() {
	echo "t_flame_perf: FAIL: $*"
	bad=1
}

cat >"$tmp/flamebusy.c" <<'EOF'
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static volatile unsigned long sink;
static inline __attribute__((always_inline)) void spin(int n)
{
	for (int i = 0; i < n; i++)
		sink += i;
}
__attribute__((noinline)) void user_work(void) { spin(200000); }
__attribute__((noinline)) void sys_work(int fd)
{
	char b[64];
	for (int i = 0; i < 200; i++)
		if (read(fd, b, sizeof(b)) < 0)
			return;
}
int main(int argc, char **argv)
{
	double sec = argc > 1 ? atof(argv[1]) : 0.5, el;
	int fd = open("/dev/zero", O_RDONLY);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		user_work();
		sys_work(fd);
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
	} while (el < sec);
	return 0;
}
EOF
cc -O2 -g -fno-omit-frame-pointer -o "$tmp/flamebusy" "$tmp/flamebusy.c" || fail "cc failed"

# stackcollapse-perf.pl's rules, as its regular expressions state them.
cat >"$tmp/ref.py" <<'EOF'
import re, sys
path, opts = sys.argv[1], sys.argv[2:]
pid_o, tid_o, addrs = "--pid" in opts, "--tid" in opts, "--addrs" in opts
kernel = "--kernel" in opts or "--all" in opts
jit = "--jit" in opts or "--all" in opts
event_filter = ""
for o in opts:
    if o.startswith("--event-filter="):
        event_filter = o.split("=", 1)[1]
A = re.ASCII
data = open(path, "rb").read().decode("latin-1")
lines = data.split("\n")
if lines and lines[-1] == "":
    lines.pop()
def truthy(s):  # Perl's truth of a string: not undef, "" or "0"
    return s is not None and s != "" and s != "0"
def perl_split(s, sep):  # Perl's split drops trailing empty fields
    parts = s.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts
collapsed, stack, pname, period = {}, [], None, 1
for line in lines:
    if line.startswith("#"):
        continue
    if line == "":
        if pname is None:
            continue
        key = ";".join([pname] + stack)
        collapsed[key] = collapsed.get(key, 0) + period
        stack, pname = [], None
        continue
    m = re.match(r"(\S.+?)\s+(\d+)/*(\d+)*\s+", line, A)
    if m:
        comm, pid, tid = m.group(1), m.group(2), m.group(3)
        if not truthy(tid):
            tid, pid = pid, "?"
        per = None
        m2 = re.search(r":\s*(\d+)*\s+(\S+):\s*$", line, A)
        if m2:
            per, ev = m2.group(1), m2.group(2)
            if event_filter == "":
                event_filter = ev
            elif ev != event_filter:
                continue
        period = int(per) if truthy(per) else 1
        pname = comm + ("-%s/%s" % (pid, tid) if tid_o else "-" + pid if pid_o else "")
        pname = pname.replace(" ", "_")
        continue
    m = re.match(r"\s*(\w+)\s*(.+) \((.*)\)", line, A)
    if not m:
        continue
    if pname is None:
        continue
    pc, raw, mod = m.groups()
    raw = re.sub(r"\+0x[\da-f]+$", "", raw)
    if raw.startswith("("):
        continue
    pieces = []
    for func in perl_split(raw, "->"):
        if func == "[unknown]":
            func = re.sub(r".*/", "", mod, count=1) if mod != "[unknown]" else "unknown"
            func = "[%s <%s>]" % (func, pc) if addrs else "[%s]" % func
        func = func.replace(";", ":")
        if not re.search(r"\.\(.*\)\.", func):
            func = re.sub(r"\((?!anonymous namespace\)).*", "", func, count=1)
        func = func.replace('"', "").replace("'", "")
        if pname.startswith("java") and "/" in func:
            func = re.sub(r"^L", "", func)
        if pieces:
            if "_[i]" not in func:
                func += "_[i]"
        elif kernel and re.search(r"(^\[|vmlinux$)", mod) and "unknown" not in mod:
            func += "_[k]"
        elif jit and re.search(r"/tmp/perf-\d+\.map", mod):
            if "_[j]" not in func:
                func += "_[j]"
        pieces.append(func)
    stack = pieces + stack
out = "".join("%s %d\n" % (k, collapsed[k]) for k in sorted(collapsed))
sys.stdout.buffer.write(out.encode("latin-1"))
EOF

# Two events, so the first-event rule and --event-filter see real data.
perf record -q -g -e cpu-clock -e page-faults -o "$tmp/perf.data" "$tmp/flamebusy" 0.4 \
	>"$tmp/record.log" 2>&1 || fail "perf record failed: $(tail -3 "$tmp/record.log")"
perf script -i "$tmp/perf.data" >"$tmp/perf.txt" 2>"$tmp/script.log" ||
	fail "perf script failed: $(tail -3 "$tmp/script.log")"
grep -q 'sys_work' "$tmp/perf.txt" || fail "no sys_work frame in perf script output"
grep -q '\[kernel.kallsyms\]' "$tmp/perf.txt" || fail "no kernel frame in perf script output"
echo "t_flame_perf: $(grep -c '^flamebusy' "$tmp/perf.txt") samples recorded"
for opts in "" "--pid" "--tid" "--kernel" "--jit" "--all" "--addrs" "--event-filter=page-faults" \
	"--event-filter=cpu-clock --kernel" "--event-filter=cpu-clock --tid --addrs"; do
	# shellcheck disable=SC2086
	"$py" "$tmp/ref.py" "$tmp/perf.txt" $opts >"$tmp/want" || fail "reference failed"
	# shellcheck disable=SC2086
	"$flame" --input perf-script $opts --folded "$tmp/perf.txt" 2>"$tmp/err" | LC_ALL=C sort >"$tmp/got"
	[ -s "$tmp/want" ] || err "[$opts]: the reference folded nothing"
	if ! cmp -s "$tmp/want" "$tmp/got"; then
		err "[$opts]: folded stacks differ from the rules:"
		diff "$tmp/want" "$tmp/got" | head -10
	fi
done
# The first event seen is kept (page faults of the exec come first); the CPU samples
# hold user frames under the process name and annotated kernel frames; the SVG draws.
"$flame" --input perf-script --folded "$tmp/perf.txt" 2>&1 >/dev/null |
	grep -q 'filtering for events of type: ' || err "no word on the event filtered"
"$flame" --input perf-script --event-filter cpu-clock --kernel --folded "$tmp/perf.txt" \
	>"$tmp/k.folded" 2>/dev/null
grep -q '^flamebusy;.*main;sys_work' "$tmp/k.folded" || err "no flamebusy;...;main;sys_work stack"
grep -q '^flamebusy;.*_\[k\] [0-9]*$' "$tmp/k.folded" || err "--kernel: no flamebusy;..._[k] stack"
"$flame" --input perf-script --event-filter cpu-clock "$tmp/perf.txt" >"$tmp/perf.svg" 2>/dev/null ||
	err "perf-script SVG failed"
grep -q '<title>sys_work (' "$tmp/perf.svg" || err "perf-script SVG lacks sys_work"
# stdin works too.
"$flame" --input perf-script --folded <"$tmp/perf.txt" 2>/dev/null | LC_ALL=C sort | cmp -s - \
	<("$py" "$tmp/ref.py" "$tmp/perf.txt") || err "perf-script from stdin differs"

# bpftrace: the map printed at exit, while the program still runs (so its stacks are
# read from a live process); it may run 20 s, as bpftrace can take seconds to start on a
# busy machine, and is stopped once bpftrace is done. Only this flamebusy is sampled:
# another run of this test may have one of its own.
"$tmp/flamebusy" 20 &
busy=$!
trap 'kill "$busy" 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.2
timeout 20 bpftrace -e 'profile:hz:499 /pid == '"$busy"'/ { @[ustack, kstack] = count();
	@p[comm, ustack(perf), kstack] = count(); } interval:ms:1500 { exit(); }' \
	>"$tmp/bt.txt" 2>"$tmp/bt.err"
rc=$?
kill "$busy" 2>/dev/null
wait "$busy" 2>/dev/null
[ "$rc" -eq 0 ] || fail "bpftrace failed ($rc): $(tail -3 "$tmp/bt.err")"
grep -q '^@\[' "$tmp/bt.txt" || fail "bpftrace printed no @[ustack, kstack] entry"
cat >"$tmp/bt.py" <<'EOF'
import re, sys
# flame.h's rules for bpftrace maps: key parts in order, each stack leaf first in the
# text and root first in the folded line, offsets dropped, ';' as ':'.
def frame(s):
    m = re.match(r"[0-9a-f]+ (.+) \((.*)\)$", s)
    if m:
        s = m.group(1)
    s = re.sub(r"\+0x[0-9a-f]+$", "", s)
    s = re.sub(r"\+[0-9]+$", "", s)
    return s.replace(";", ":")
def values(s):
    return [v.strip() for v in s.split(", ") if v.strip()]
out, key, cur, entry = {}, [], [], False
for line in open(sys.argv[1], encoding="latin-1").read().split("\n"):
    if not entry:
        m = re.match(r"@\w*\[(.*)$", line)
        if not m:
            continue
        entry, key, cur, rest = True, [], [], m.group(1)
    else:
        s = line.strip()
        if s and s[0] not in ",]":
            cur.append(frame(s))
            continue
        key += cur[::-1]
        cur = []
        rest = s[1:] if s.startswith(",") else s
    if "]: " in rest or rest.startswith("]: "):
        head, _, count = rest.partition("]: ")
        key += values(head)
        entry = False
        if count.strip().isdigit():
            k = ";".join(key)
            out[k] = out.get(k, 0) + int(count)
    else:
        key += values(rest)
for k in sorted(out):
    print("%s %d" % (k, out[k]))
EOF
"$py" "$tmp/bt.py" "$tmp/bt.txt" >"$tmp/bt.want" || fail "bpftrace reference failed"
"$flame" --input bpftrace --folded "$tmp/bt.txt" 2>"$tmp/err" | LC_ALL=C sort >"$tmp/bt.got"
[ -s "$tmp/bt.want" ] || err "bpftrace: the reference folded nothing"
if ! cmp -s <(LC_ALL=C sort "$tmp/bt.want") "$tmp/bt.got"; then
	err "bpftrace: folded stacks differ from the rules:"
	diff <(LC_ALL=C sort "$tmp/bt.want") "$tmp/bt.got" | head -10
fi
grep -q '^flamebusy;.*;ksys_read' "$tmp/bt.got" ||
	err "bpftrace: no flamebusy;user frames;...;ksys_read stack (kernel frames above user ones)"
"$flame" --input bpftrace "$tmp/bt.txt" >"$tmp/bt.svg" 2>/dev/null || err "bpftrace SVG failed"
[ "$bad" -eq 0 ] && echo "t_flame_perf: PASS"
exit "$bad"
