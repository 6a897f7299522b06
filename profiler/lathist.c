/* lathist.c - see lathist.h. */
#include "lathist.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct heed_hist) == 8 * (3 + HEED_HIST_BUCKETS), "heed_hist ABI");

/* The bucket of UINT64_MAX (bit 63, last sub-bucket): no value lands past it. */
#define LAST_BUCKET ((64 - 2) * HEED_HIST_SUB - 1)
_Static_assert(LAST_BUCKET < HEED_HIST_BUCKETS, "the last bucket is in the histogram");

/* A map's bytes are not trusted: counts in the buckets past the last, which no value
 * maps to, go to the last one rather than index past the bounds' and rows' tables. */
static void clamp_buckets(struct heed_hist *h)
{
	unsigned int b;

	for (b = LAST_BUCKET + 1; b < HEED_HIST_BUCKETS; b++) {
		h->slots[LAST_BUCKET] += h->slots[b];
		h->slots[b] = 0;
	}
}

int heed_hist_read(int map_fd, __u32 key, struct heed_hist *out)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0, c;
	struct heed_hist *v;
	unsigned int b;

	if (ncpu < 0)
		return ncpu;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(map_fd, &key, v)) {
		err = -errno;
		goto cleanup;
	}
	for (c = 0; c < ncpu; c++) {
		out->count += v[c].count;
		out->errors += v[c].errors;
		out->sum_ns += v[c].sum_ns;
		for (b = 0; b < HEED_HIST_BUCKETS; b++)
			out->slots[b] += v[c].slots[b];
	}
	clamp_buckets(out);
cleanup:
	free(v);
	return err;
}

int heed_percpu_sum(int map_fd, __u32 key, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c, err = 0;
	__u64 *v;

	if (ncpu < 0)
		return ncpu;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*sum = 0;
	if (bpf_map_lookup_elem(map_fd, &key, v))
		err = -errno;
	for (c = 0; !err && c < ncpu; c++)
		*sum += v[c];
	free(v);
	return err;
}

int heed_hists_slot(struct heed_hists *t, const char *name, size_t *slot)
{
	struct heed_named_hist *nv;
	char *copy;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name)) {
			*slot = i;
			return 0;
		}
	copy = strdup(name);
	nv = copy ? realloc(t->v, (t->n + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	t->v = nv;
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].name = copy;
	*slot = t->n++;
	return 0;
}

int heed_hists_read(struct heed_hists *t, int map_fd)
{
	size_t i;
	int err;

	for (i = 0; i < t->n; i++) {
		err = heed_hist_read(map_fd, (__u32)i, &t->v[i].h);
		if (err)
			return err;
	}
	return 0;
}

int heed_hists_add(struct heed_hists *t, int map_fd, size_t n)
{
	struct heed_hist h;
	size_t i;
	int err;

	for (i = 0; i < n && i < t->n; i++) {
		err = heed_hist_read(map_fd, (__u32)i, &h);
		if (err)
			return err;
		heed_hist_merge(&t->v[i].h, &h);
	}
	return 0;
}

void heed_hists_free(struct heed_hists *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

_Static_assert(sizeof(struct heed_pid_key) == 8 &&
		       sizeof(struct heed_pid_hist) == 16 + 8 * (3 + HEED_HIST_BUCKETS),
	       "heed_pid_hist ABI");

static int cmp_proc_hist(const void *a, const void *b)
{
	const struct heed_proc_hist *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

int heed_proc_hists_read(struct heed_proc_hists *t, int map_fd, size_t nslots)
{
	struct heed_pid_key key, next, *prev = NULL;
	struct heed_pid_hist val;
	struct heed_proc_hist *nv;
	size_t cap = t->n;

	t->n = 0;
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		key = next;
		prev = &key;
		/* Gone since the key was listed: nothing to read. */
		if (bpf_map_lookup_elem(map_fd, &key, &val))
			continue;
		if (key.slot >= nslots || !key.tgid)
			continue;
		if (t->n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(t->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			t->v = nv;
		}
		nv = &t->v[t->n++];
		nv->pid = (pid_t)key.tgid;
		nv->slot = key.slot;
		memcpy(nv->comm, val.comm, sizeof(nv->comm) - 1);
		nv->comm[sizeof(nv->comm) - 1] = 0;
		nv->h = val.h;
		clamp_buckets(&nv->h);
	}
	if (errno != ENOENT)
		return -errno;
	qsort(t->v, t->n, sizeof(*t->v), cmp_proc_hist);
	return 0;
}

void heed_hist_merge(struct heed_hist *to, const struct heed_hist *from)
{
	unsigned int b;

	to->count += from->count;
	to->errors += from->errors;
	to->sum_ns += from->sum_ns;
	for (b = 0; b < HEED_HIST_BUCKETS; b++)
		to->slots[b] += from->slots[b];
}

uint64_t heed_proc_hists_fold(struct heed_hists *t, const struct heed_proc_hists *p)
{
	uint64_t unattributed = 0;
	size_t i;

	for (i = 0; i < t->n; i++)
		unattributed += t->v[i].h.count;
	/* Slots were checked against t->n when p was read. */
	for (i = 0; i < p->n; i++)
		heed_hist_merge(&t->v[p->v[i].slot].h, &p->v[i].h);
	return unattributed;
}

void heed_proc_hists_free(struct heed_proc_hists *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

uint64_t heed_prog_misses(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

unsigned int heed_hist_bucket(uint64_t v)
{
	unsigned int e;

	if (v < HEED_HIST_SUB)
		return v;
	e = 63 - __builtin_clzll(v);
	return (e - 2) * HEED_HIST_SUB + ((v >> (e - HEED_HIST_SUB_BITS)) & (HEED_HIST_SUB - 1));
}

void heed_hist_bounds(unsigned int b, uint64_t *lo, uint64_t *hi)
{
	unsigned int e = b / HEED_HIST_SUB + 2, s = b % HEED_HIST_SUB;

	if (b < HEED_HIST_SUB) {
		*lo = b;
		*hi = b + 1;
		return;
	}
	*lo = (1ULL << e) + ((uint64_t)s << (e - HEED_HIST_SUB_BITS));
	/* The last bucket's end does not fit in 64 bits: saturate. */
	*hi = *lo + (1ULL << (e - HEED_HIST_SUB_BITS));
	if (*hi < *lo)
		*hi = UINT64_MAX;
}

uint64_t heed_hist_pct(const struct heed_hist *h, double p)
{
	uint64_t total = 0, want, seen = 0, lo, hi;
	unsigned int b;

	for (b = 0; b < HEED_HIST_BUCKETS; b++)
		total += h->slots[b];
	if (!total)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)total + 0.999999);
	if (want < 1)
		want = 1;
	for (b = 0; b < HEED_HIST_BUCKETS; b++) {
		seen += h->slots[b];
		if (seen >= want)
			break;
	}
	if (b == HEED_HIST_BUCKETS)
		b--;
	heed_hist_bounds(b, &lo, &hi);
	return hi - 1;
}

/* Power-of-two row of a bucket: row r spans [2^r, 2^(r+1)), row 0 also holds 0. */
static unsigned int row_of(unsigned int b)
{
	if (b < 2)
		return 0;
	if (b < HEED_HIST_SUB)
		return 31 - __builtin_clz(b);
	return b / HEED_HIST_SUB + 2;
}

#define ROWS 64

void heed_hist_print(FILE *f, const char *title, const struct heed_hist *h)
{
	uint64_t rows[ROWS] = {0}, max = 0;
	unsigned int b, r, first = ROWS, last = 0, stars, i;

	for (b = 0; b < HEED_HIST_BUCKETS; b++) {
		if (!h->slots[b])
			continue;
		r = row_of(b);
		rows[r] += h->slots[b];
		if (r < first)
			first = r;
		if (r > last)
			last = r;
	}
	fprintf(f, "%s: count %llu, errors %llu", title, (unsigned long long)h->count,
		(unsigned long long)h->errors);
	if (!h->count || first == ROWS) {
		fprintf(f, "\n\n");
		return;
	}
	fprintf(f, ", mean %llu ns, p50 %llu ns, p90 %llu ns, p99 %llu ns\n",
		(unsigned long long)(h->sum_ns / h->count),
		(unsigned long long)heed_hist_pct(h, 50), (unsigned long long)heed_hist_pct(h, 90),
		(unsigned long long)heed_hist_pct(h, 99));
	for (r = first; r <= last; r++)
		if (rows[r] > max)
			max = rows[r];
	fprintf(f, "%24s : %-9s distribution\n", "nsecs", "count");
	for (r = first; r <= last; r++) {
		uint64_t lo = r ? 1ULL << r : 0, hi = (r < 63 ? (1ULL << (r + 1)) : 0) - 1;

		stars = max ? (unsigned int)(rows[r] * 40 / max) : 0;
		fprintf(f, "%10llu -> %-10llu : %-9llu |", (unsigned long long)lo,
			(unsigned long long)hi, (unsigned long long)rows[r]);
		for (i = 0; i < 40; i++)
			fputc(i < stars ? '*' : ' ', f);
		fprintf(f, "|\n");
	}
	fputc('\n', f);
}

json_t *heed_hist_json(const struct heed_hist *h)
{
	json_t *buckets = json_array(), *j;
	uint64_t lo, hi;
	unsigned int b;

	for (b = 0; buckets && b < HEED_HIST_BUCKETS; b++) {
		if (!h->slots[b])
			continue;
		heed_hist_bounds(b, &lo, &hi);
		if (heed_json_push(buckets, json_pack("{s:o,s:o,s:o}", "lo_ns", heed_json_u64(lo),
						      "hi_ns", heed_json_u64(hi), "count",
						      heed_json_u64(h->slots[b])))) {
			json_decref(buckets);
			return NULL;
		}
	}
	j = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "count", heed_json_u64(h->count), "errors",
		      heed_json_u64(h->errors), "mean_ns",
		      heed_json_u64(h->count ? h->sum_ns / h->count : 0), "p50_ns",
		      heed_json_u64(heed_hist_pct(h, 50)), "p90_ns",
		      heed_json_u64(heed_hist_pct(h, 90)), "p99_ns",
		      heed_json_u64(heed_hist_pct(h, 99)), "hist", buckets);
	return j;
}
