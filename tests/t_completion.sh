#!/bin/bash
# t_completion.sh BUILD - completion/heed under bash-completion, as Tab would
# run it: each tool's options (every one its --help lists), heed-trace -p
# offering pids with their process names (the pid alone once one matches),
# value lists (heed-load -w, heed-flame --colors), nothing for a value with no
# list (-d, --func, heed-dump -s), files where a file goes, and the command after
# heed-trace --.
set -u
build=${1:-build}
fail() {
	echo "t_completion: FAIL: $*" >&2
	exit 1
}
bc=/usr/share/bash-completion/bash_completion
[ -f $bc ] || fail "bash-completion is not installed ($bc; ci/install-deps.sh installs it)"
export PATH=$PWD/$build/bin:$PATH
tmp=$(mktemp -d /tmp/t_completion.XXXXXX)
sleeper=
cleanup() {
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# complete WORD...: the candidates Tab offers for the last word, one a line.
complete_words() {
	bash -c '
		. '"$bc"'
		. completion/heed
		compopt() { :; }
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		spec=$(complete -p "$1") || exit 3
		fn=${spec#*-F }
		fn=${fn%% *}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' complete "$@"
}

for t in heed-trace heed-flame heed-stat heed-check heed-load heed-copy heed-dump heed-load-dump heed-pprof heed-dash \
	heed-profile; do
	[ -x "$build/bin/$t" ] || fail "$build/bin/$t is missing (make)"
	got=$(complete_words "$t" -) || fail "$t has no completion"
	help=$(bash -c '. completion/heed; _heed_options "$1"' _ "$t" | cut -d' ' -f1)
	missing=$(comm -23 <(echo "$help" | sort) <(echo "$got" | sort) | grep . | tr '\n' ' ')
	[ -z "$missing" ] || fail "$t -<Tab> does not offer ${missing}(its --help lists them)"
	echo "ok: $t -<Tab>: $(echo "$got" | grep -c .) options"
done
[ "$(complete_words heed-trace --pro)" = --profile ] || fail "heed-trace --pro<Tab>: '$(complete_words heed-trace --pro)'"

sleep 300 &
sleeper=$!
got=$(complete_words heed-trace -p "")
echo "$got" | grep -qx "$sleeper (sleep)" || fail "heed-trace -p <Tab> does not offer '$sleeper (sleep)': $(echo "$got" | head -n 5 | tr '\n' ' ')"
echo "$got" | grep -qx "2 (kthreadd)" && fail "heed-trace -p <Tab> offers the kernel thread 2 (kthreadd)"
got=$(complete_words heed-trace -p "$sleeper")
# A longer pid starting with the same digits may exist: then all are listed.
if [ "$(echo "$got" | wc -l)" -eq 1 ]; then
	[ "$got" = "$sleeper" ] || fail "heed-trace -p $sleeper<Tab>: '$got', not the pid alone"
else
	echo "$got" | grep -qx "$sleeper (sleep)" || fail "heed-trace -p $sleeper<Tab>: '$got'"
fi
echo "ok: heed-trace -p <Tab> offers pids with names ('$sleeper (sleep)')"

[ "$(complete_words heed-load -w fill | tr '\n' ' ')" = "fill fillrandom " ] ||
	fail "heed-load -w fill<Tab>: '$(complete_words heed-load -w fill)'"
[ "$(complete_words heed-flame --colors aq)" = aqua ] || fail "heed-flame --colors aq<Tab>: '$(complete_words heed-flame --colors aq)'"
# Every palette heed-flame --help lists (from "--colors PALETTE" to the next option).
palettes=$("$build/bin/heed-flame" --help | sed -n '/^  --colors/,/^  --hash/p' | sed '$d' |
	sed 's/^  --colors PALETTE//; s/(default)//' | tr -s ' ' '\n' | grep . | sort)
[ "$(complete_words heed-flame --colors "" | sort)" = "$palettes" ] ||
	fail "heed-flame --colors <Tab> offers '$(complete_words heed-flame --colors "" | tr '\n' ' ')', --help lists '$(echo $palettes)'"
[ -z "$(complete_words heed-trace -d "")" ] || fail "heed-trace -d <Tab> offers '$(complete_words heed-trace -d "")'"
[ -z "$(complete_words heed-trace --func "")" ] || fail "heed-trace --func <Tab> offers something"
touch "$tmp/graph.svg" "$tmp/notes.txt"
[ "$(complete_words heed-trace --flame "$tmp/")" = "$tmp/graph.svg" ] ||
	fail "heed-trace --flame $tmp/<Tab>: '$(complete_words heed-trace --flame "$tmp/")', not the .svg alone"
complete_words heed-flame "$tmp/no" | grep -qx "$tmp/notes.txt" || fail "heed-flame FILE<Tab> does not complete files"
for w in "heed-copy -c" "heed-dump -f" "heed-load-dump -f" heed-load-dump "heed-pprof --offcpu"; do
	complete_words $w "$tmp/no" | grep -qx "$tmp/notes.txt" || fail "$w $tmp/no<Tab> does not complete files"
done
[ -z "$(complete_words heed-dump -s "")" ] || fail "heed-dump -s <Tab> offers '$(complete_words heed-dump -s "")' for a database name"
complete_words heed-trace -p 1 -- "$build/bin/heed-lo" | grep -qx "$build/bin/heed-load" ||
	fail "heed-trace -- <Tab> does not complete the command"
complete_words heed-trace -- heed-load -w r | grep -qx readrandom ||
	fail "heed-trace -- heed-load -w r<Tab> does not complete as heed-load"
echo "ok: values, files, and the command after heed-trace --"
