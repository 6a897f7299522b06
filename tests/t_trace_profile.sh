# heed-trace --profile and --offcpu on tests/progs/hot with known behaviour: two hot
# functions (70% / 30% of the work) get >= 90% of the samples in that proportion
# (within 10 points), the inlined spin_inl shows as spin_inl_[i], a read-heavy loop
# shows kernel frames _[k], sleeping shows as off-CPU time; --folded, --flame and
# --json are written. Usage: bash tests/t_trace_profile.sh BUILD
. "$(dirname "$0")/trace_lib.sh"

"$TRACE" --profile -F 199 --folded "$T/cpu.folded" --flame "$T/cpu.svg" --json "$T/cpu.json" \
	-- "$HOT" cpu 4 >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "--profile -- hot cpu failed"; }
assert_detached "--profile -- hot cpu"
python3 - "$T/cpu.folded" <<'PY' || fail "the profile of hot cpu is wrong (above)"
import sys
total = a = b = inl = 0
for line in open(sys.argv[1]):
    stack, n = line.rsplit(" ", 1)
    n = int(n)
    frames = stack.split(";")
    total += n
    if "hot_a" in frames:
        a += n
    elif "hot_b" in frames:
        b += n
    if "spin_inl_[i]" in frames:
        inl += n
print(f"samples {total}, hot_a {a}, hot_b {b}, inlined spin_inl {inl}")
if total < 100:
    sys.exit("too few samples")
if (a + b) < 0.9 * total:
    sys.exit("less than 90% of the samples in hot_a and hot_b")
share = a / (a + b)
print(f"hot_a share {share:.3f} (expected 0.70 +- 0.10)")
if abs(share - 0.7) > 0.1:
    sys.exit("hot_a/hot_b proportion off by more than 10 points")
if inl == 0:
    sys.exit("no spin_inl_[i] frame: inlined frames are not marked")
PY
xmllint --noout "$T/cpu.svg" || fail "--flame wrote an SVG that is not well-formed XML"
grep -q 'hot_a' "$T/cpu.svg" || fail "the flame graph does not name hot_a"
[ "$(json "$T/cpu.json" 'd["profile"]["top"][0]["name"]')" = "spin_inl_[i]" ] ||
	fail "--json top function is not spin_inl_[i]"
echo "ok: hot functions, proportion and inlined frames"

"$TRACE" --profile --folded "$T/sys.folded" -- "$HOT" sys 2 >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "--profile -- hot sys failed"; }
assert_detached "--profile -- hot sys"
kern=$(grep '_\[k\]' "$T/sys.folded" | awk '{s += $NF} END {print s + 0}')
all=$(awk '{s += $NF} END {print s + 0}' "$T/sys.folded")
echo "hot sys: $kern of $all samples have kernel frames"
[ "$all" -gt 0 ] && [ $((kern * 2)) -gt "$all" ] ||
	fail "a read-heavy loop should show kernel frames (_[k]) in most samples"
grep -q 'read_zero_\[k\]\|vfs_read_\[k\]' "$T/sys.folded" ||
	fail "no vfs_read/read_zero kernel frame symbolized from kallsyms"
echo "ok: kernel frames"

"$TRACE" --offcpu --json "$T/off.json" --folded "$T/off.folded" -- "$HOT" idle 1 \
	>"$T/out" 2>"$T/err" || { cat "$T/err"; fail "--offcpu -- hot idle failed"; }
assert_detached "--offcpu -- hot idle"
ns=$(json "$T/off.json" 'd["offcpu"]["total_ns"]')
echo "hot idle 1: off-CPU $ns ns"
[ "$ns" -gt 800000000 ] || fail "a program sleeping 1 s shows only $ns ns off-CPU"
grep -q 'nanosleep' "$T/off.folded" || fail "off-CPU stacks do not show the sleep"
echo "ok: off-CPU time"
