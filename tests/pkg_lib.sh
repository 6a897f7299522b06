# tests/pkg_lib.sh - what t_install.sh and t_deb.sh share; sourced.

# heed's version, from core/heed.h (the one source of it).
heed_src_version() {
	sed -n 's/^#define HEED_VERSION_\(MAJOR\|MINOR\|PATCH\)[[:space:]]*//p' core/heed.h | paste -sd.
}

# readme_example OUT.c DBDIR: the C example under README.md's "The library in
# brief" as a program: its lines inside main(), returning the commit's code,
# with its environment at DBDIR. Returns 1 when README.md has no such example.
readme_example() {
	local body
	body=$(sed -n '/^## The library in brief/,/^```$/p' README.md | sed '1,/^```c$/d; /^```$/d')
	[ -n "$body" ] || return 1
	{
		echo "$body" | head -n 1
		echo 'int main(void) {'
		echo "$body" | tail -n +2
		echo 'return rc; }'
	} | sed "s|/var/lib/app/db|$2|" >"$1"
}
