#!/bin/bash
# t_layers.sh BUILD - core's files form layers: no file of core/ calls a
# function (or reads a variable) defined in a file of its own or a higher
# layer, so they cannot call each other in a circle. The calls are read
# from the objects of BUILD/obj/core (nm: the symbols each one leaves
# undefined, matched with the one that defines them), inline functions of
# the headers included, as they are compiled into their callers. Every
# core/*.c must have a layer below; core/README.md ("Layers") says why each
# is where it is.
set -u
build=${1:-build}
fail() {
	echo "t_layers: FAIL: $*" >&2
	exit 1
}
command -v nm >/dev/null || fail "nm is not installed (binutils)"

# layer: files (a file may call only files of a lower layer); core/README.md
# ("Layers") must list the same files.
# probes_sem is the object dtrace -G generates: the probes' semaphores.
layers='
0 probes_sem error
1 search meta lock opbatch wmap
2 vec dirty
3 freelist
4 btree
5 dbrec dup
6 txn
7 db cursor
8 env
9 check copy
'
declare -A layer
while read -r n files; do
	[ -n "$n" ] || continue
	for f in $files; do layer[$f]=$n; done
done <<<"$layers"

# core/README.md's table ("Layers") says the same, file for file.
while read -r n files; do
	[ -n "$n" ] || continue
	want=$(tr ' ' '\n' <<<"$files" | grep -v -e '^$' -e '^probes_sem$' | sort | tr '\n' ' ')
	# shellcheck disable=SC2016 # the backquotes are markdown's, not the shell's
	doc=$(awk -F'|' -v n="$n" '$2 + 0 == n && $2 ~ /^ *[0-9]+ *$/ { print $3 }' core/README.md |
		grep -o '`[a-z_]*[.]c`' | tr -d '`' | sed 's/[.]c$//' | sort | tr '\n' ' ')
	[ "$want" = "$doc" ] || fail "layer $n: core/README.md lists '$doc', this table '$want'"
done <<<"$layers"

objdir=$build/obj/core
for src in core/*.c; do
	f=$(basename "$src" .c)
	[ -n "${layer[$f]:-}" ] || fail "core/$f.c has no layer: add it to the table in $0 and to core/README.md"
	[ -e "$objdir/$f.o" ] || fail "$objdir/$f.o does not exist (build it first: make)"
done

# "symbol file" for every global symbol a core object defines.
declare -A owner
objs=$(ls "$objdir"/*.o)
for o in $objs; do
	f=$(basename "$o" .o)
	while read -r sym; do
		owner[$sym]=$f
	done < <(nm -g --defined-only "$o" | awk '{print $NF}')
done
[ "${#owner[@]}" -gt 50 ] || fail "only ${#owner[@]} symbols found in $objdir/*.o"

bad=0
edges=0
for o in $objs; do
	f=$(basename "$o" .o)
	[ -n "${layer[$f]:-}" ] || fail "$o has no layer (no core/$f.c either)"
	while read -r sym; do
		to=${owner[$sym]:-}
		[ -n "$to" ] || continue # libc, libpthread
		edges=$((edges + 1))
		if [ "${layer[$to]}" -ge "${layer[$f]}" ]; then
			echo "t_layers: core/$f.c (layer ${layer[$f]}) calls $sym of core/$to.c (layer ${layer[$to]})" >&2
			bad=$((bad + 1))
		fi
	done < <(nm -u "$o" | awk '{print $NF}')
done
[ "$edges" -gt 20 ] || fail "only $edges calls between core files found"
[ "$bad" -eq 0 ] || fail "$bad calls to a file of the same or a higher layer"
echo "t_layers: $edges calls between core files, each to a lower layer"
