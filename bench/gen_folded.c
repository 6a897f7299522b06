/* heed-gen-folded: a seeded synthetic folded-stack file for benchmarking heed-flame.
 *
 *   heed-gen-folded [--stacks N] [--depth D] [--seed S] [--fanout F] [--skew P] [-o FILE]
 *
 * Writes N unique stacks of exactly D frames, in generation (not sorted) order, so a
 * reader gets no help from neighbouring lines sharing prefixes. Each stack is a walk
 * down a call graph: at every level the callee is the k-th of F callees of the caller,
 * k geometric with parameter P (callee 0 with probability P, 1 with P(1-P), ...), so
 * the top of the graph is shared the way real profiles are and the bottom fans out.
 * Names mix C, C++ and annotated kernel frames ("_[k]") drawn from a pool of 4096.
 * The same arguments always give the same bytes. Exit status 0, or 1 with a message.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define POOL 4096

static uint64_t rng_state;

/* splitmix64: tiny, seedable, good enough for synthetic data. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t z = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);

	z = (z ^ (z >> 31)) * 0xd6e8feb86659fd93ull;
	return z ^ (z >> 32);
}

static const char *const verbs[] = {"get",   "put",  "scan",   "alloc",	 "free", "split",
				    "merge", "read", "write",  "sync",	 "lock", "unlock",
				    "hash",  "find", "insert", "delete", "walk", "copy"};
static const char *const nouns[] = {"page",	"node",	  "txn",    "cursor", "key",   "value",
				    "meta",	"reader", "buffer", "tree",   "leaf",  "branch",
				    "freelist", "env",	  "file",   "map",    "entry", "slot"};
static const char *const kernel[] = {"do_syscall_64",
				     "entry_SYSCALL_64_after_hwframe",
				     "__x64_sys_pwrite64",
				     "vfs_write",
				     "ext4_file_write_iter",
				     "filemap_fault",
				     "handle_mm_fault",
				     "exc_page_fault",
				     "schedule",
				     "__schedule",
				     "finish_task_switch",
				     "futex_wait"};

static void make_name(char *buf, size_t cap, uint32_t id)
{
	const char *v = verbs[id % 18], *n = nouns[id / 18 % 18];

	switch (id % 7) {
	case 0:
		snprintf(buf, cap, "heed::%s_%s<%u>", v, n, id);
		break;
	case 1:
		snprintf(buf, cap, "libheed.so`heed_%s_%s_%u", n, v, id);
		break;
	case 2:
		snprintf(buf, cap, "%s_%s (inlined %u)_[i]", v, n, id);
		break;
	default:
		snprintf(buf, cap, "heed_%s_%s_%u", n, v, id);
	}
}

struct set {
	uint64_t *slot;
	size_t mask;
};

/* Inserts h (never 0); returns 1 if it was new. */
static int set_add(struct set *s, uint64_t h)
{
	size_t j = h & s->mask;

	while (s->slot[j]) {
		if (s->slot[j] == h)
			return 0;
		j = (j + 1) & s->mask;
	}
	s->slot[j] = h;
	return 1;
}

static int parse_ul(const char *opt, const char *s, unsigned long *v)
{
	uint64_t x;

	if (heed_parse_u64(s, &x) || x == 0 || x > ULONG_MAX) {
		fprintf(stderr, "heed-gen-folded: --%s: '%s' is not a positive integer\n", opt, s);
		return -1;
	}
	*v = (unsigned long)x;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"stacks", required_argument, NULL, 'n'},
		{"depth", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 's'},
		{"fanout", required_argument, NULL, 'f'},
		{"skew", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	unsigned long stacks = 200000, depth = 30, seed = 1, fanout = 6, made = 0, tries = 0;
	double skew = 0.55;
	const char *output = NULL;
	char(*names)[64] = NULL;
	uint32_t *path = NULL;
	struct set seen = {NULL, 0};
	FILE *out = stdout;
	int c, li = 0, ret = 1;

	while ((c = getopt_long(argc, argv, "o:", longopts, &li)) != -1) {
		switch (c) {
		case 'n':
		case 'd':
		case 's':
		case 'f':
			if (parse_ul(longopts[li].name, optarg,
				     c == 'n'	? &stacks
				     : c == 'd' ? &depth
				     : c == 's' ? &seed
						: &fanout))
				return 1;
			break;
		case 'p':
			if (heed_parse_double(optarg, &skew) || !(skew > 0 && skew < 1)) {
				fprintf(stderr, "heed-gen-folded: --skew: '%s' is not in (0,1)\n",
					optarg);
				return 1;
			}
			break;
		case 'o':
			output = optarg;
			break;
		default:
			fprintf(stderr, "usage: heed-gen-folded [--stacks N] [--depth D] "
					"[--seed S] [--fanout F] [--skew P] [-o FILE]\n");
			return 1;
		}
	}
	if (optind != argc || depth > 100000 || stacks > 100000000) {
		fprintf(stderr, "heed-gen-folded: bad arguments (depth at most 100000, stacks at "
				"most 1e8, no file operands)\n");
		return 1;
	}
	names = malloc(POOL * sizeof(*names));
	path = malloc(depth * sizeof(*path));
	seen.mask = 1;
	while (seen.mask < stacks * 2)
		seen.mask <<= 1;
	seen.slot = calloc(seen.mask, sizeof(*seen.slot));
	seen.mask--;
	if (!names || !path || !seen.slot) {
		fprintf(stderr, "heed-gen-folded: out of memory\n");
		goto cleanup;
	}
	for (uint32_t i = 0; i < POOL; i++)
		make_name(names[i], sizeof(names[i]), i);
	if (output) {
		out = fopen(output, "w");
		if (!out) {
			fprintf(stderr, "heed-gen-folded: %s: %s\n", output, strerror(errno));
			out = stdout;
			goto cleanup;
		}
	}
	rng_state = seed;
	while (made < stacks) {
		uint64_t node = 0x51ed270b27c3a1b5ull, text;
		unsigned long kdepth = depth / 6;

		/* Bounded: a fresh stack is likely once the tree is wider than N. */
		if (++tries > stacks * 100) {
			fprintf(stderr,
				"heed-gen-folded: cannot find %lu unique stacks of depth %lu with "
				"fanout %lu\n",
				stacks, depth, fanout);
			goto cleanup;
		}
		for (unsigned long d = 0; d < depth; d++) {
			unsigned long k = 0;

			while (k + 1 < fanout && rng_unit() > skew)
				k++;
			node = mix(node, k + 1);
			path[d] = (uint32_t)(node >> 40);
		}
		/* The deepest sixth of every stack runs in the kernel. Uniqueness is of
		 * the printed names: two walks may name their frames alike. */
		for (unsigned long d = 0; d < depth; d++)
			path[d] = d >= depth - kdepth ? POOL + path[d] % 12 : path[d] % POOL;
		text = 0x2545f4914f6cdd1dull;
		for (unsigned long d = 0; d < depth; d++)
			text = mix(text, path[d]);
		if (!set_add(&seen, text | 1))
			continue;
		for (unsigned long d = 0; d < depth; d++) {
			if (d)
				fputc(';', out);
			if (path[d] >= POOL)
				fprintf(out, "%s_[k]", kernel[path[d] - POOL]);
			else
				fputs(names[path[d]], out);
		}
		fprintf(out, " %lu\n", 1 + (unsigned long)(rng() % 97) * (rng() % 3 == 0 ? 10 : 1));
		made++;
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "heed-gen-folded: %s: write error\n", output ? output : "<stdout>");
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (out != stdout && fclose(out) != 0 && ret == 0) {
		fprintf(stderr, "heed-gen-folded: %s: write error\n", output);
		ret = 1;
	}
	free(names);
	free(path);
	free(seen.slot);
	return ret;
}
