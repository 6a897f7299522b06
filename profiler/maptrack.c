/* maptrack.c - see maptrack.h.
 *
 * Records in a ring (struct perf_event_mmap_page, then data_size bytes), each a
 * struct perf_event_header followed by, with sample_type PERF_SAMPLE_TIME and
 * sample_id_all, its body and then the time (u64, the record's last 8 bytes):
 *
 *   MMAP2  u32 pid, tid; u64 addr, len, pgoff; u32 maj, min; u64 ino, ino_generation;
 *          u32 prot, flags; char filename[] (NUL-padded to 8 bytes)
 *   COMM   u32 pid, tid; char comm[] (misc PERF_RECORD_MISC_COMM_EXEC: an exec)
 *   FORK, EXIT  u32 pid, ppid, tid, ptid; u64 time
 *   LOST   u64 id, lost
 *
 * Invariants:
 * 1. A process's generations are newest first; each one's start is at or after the
 *    next (older) one's, whose end is then set. A process on a bucket chain is newer
 *    than those after it with the same pid.
 * 2. A generation's mappings are sorted by start and do not overlap.
 */
#include "maptrack.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Pages of ring per CPU: 256 KiB holds some 2,000 records, a second of a busy build
 * host's forks, execs and mmaps; the ring is drained every 100 ms and before each
 * batch of samples. A power of two, as the kernel wants. */
#define RING_PAGES 64
#define BUCKETS	   4096

struct tmap {
	uint64_t start, end, off;
	uint32_t maj, min;
	uint64_t ino;
	char *path; /* "" for anonymous memory */
};

struct gen {
	struct gen *older;
	uint64_t start, end; /* end 0: running */
	uint64_t version;
	struct tmap *v; /* invariant 2 */
	size_t n, cap;
};

struct tproc {
	struct tproc *next; /* bucket chain, invariant 1 */
	pid_t pid;
	int exited;
	struct gen *gens; /* newest first */
};

struct ring {
	int fd;
	struct perf_event_mmap_page *meta;
	unsigned char *data;
	uint64_t size;
};

/* A record copied out of its ring, to be applied in time order. */
struct rec {
	uint64_t time;
	size_t off, len; /* in the drain buffer */
	size_t seq;	 /* ties: the order read */
};

struct heed_maptrack {
	struct ring *rings;
	size_t nrings;
	struct tproc *procs[BUCKETS];
	size_t nprocs, procs_max;
	uint64_t version;
	struct heed_maptrack_stats st;
	unsigned char *buf; /* this drain's records */
	size_t blen, bcap;
	struct rec *recs;
	size_t nrecs, rcap;
};

static struct tproc **bucket(heed_maptrack *t, pid_t pid)
{
	return &t->procs[(uint32_t)pid % BUCKETS];
}

static void gen_free(struct gen *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->v[i].path);
	free(g->v);
	free(g);
}

static void proc_free(struct tproc *p)
{
	while (p->gens) {
		struct gen *g = p->gens;

		p->gens = g->older;
		gen_free(g);
	}
	free(p);
}

/* The latest process of pid (invariant 1), exited or not, or NULL. */
static struct tproc *newest(heed_maptrack *t, pid_t pid)
{
	struct tproc *p = *bucket(t, pid);

	while (p && p->pid != pid)
		p = p->next;
	return p;
}

/* The process pid is now (not exited), or NULL. */
static struct tproc *live(heed_maptrack *t, pid_t pid)
{
	struct tproc *p = newest(t, pid);

	return p && !p->exited ? p : NULL;
}

/* A new process pid (the older ones of that pid are gone: a reused pid). */
static struct tproc *proc_new(heed_maptrack *t, pid_t pid)
{
	struct tproc *p;

	if (t->nprocs >= t->procs_max) {
		t->st.untracked++;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->next = *bucket(t, pid);
	*bucket(t, pid) = p;
	t->nprocs++;
	return p;
}

/* Starts a generation of p at time (ending the running one). */
static struct gen *gen_new(heed_maptrack *t, struct tproc *p, uint64_t time)
{
	struct gen *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	if (p->gens && !p->gens->end)
		p->gens->end = time;
	g->start = time;
	g->version = ++t->version;
	g->older = p->gens;
	p->gens = g;
	return g;
}

static int reserve(struct gen *g, size_t more)
{
	struct tmap *nv;
	size_t ncap;

	if (g->n + more <= g->cap)
		return 0;
	ncap = g->cap ? g->cap * 2 : 32;
	while (ncap < g->n + more)
		ncap *= 2;
	nv = realloc(g->v, ncap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	g->v = nv;
	g->cap = ncap;
	return 0;
}

/* Adds x (its path taken) over whatever it covers (invariant 2). */
static int add_map(heed_maptrack *t, struct gen *g, struct tmap *x)
{
	size_t i, lo;

	if (g->n >= HEED_MAPTRACK_MAPS_MAX || reserve(g, 2)) {
		t->st.maps_dropped++;
		free(x->path);
		return g->n >= HEED_MAPTRACK_MAPS_MAX ? 0 : -ENOMEM;
	}
	for (i = 0; i < g->n;) {
		struct tmap *m = &g->v[i];

		if (m->end <= x->start || m->start >= x->end) {
			i++;
			continue;
		}
		if (m->start < x->start && m->end > x->end) {
			/* x splits m in two: the right part is a mapping of its own. */
			struct tmap r = *m;

			r.path = strdup(m->path);
			if (!r.path) {
				free(x->path);
				return -ENOMEM;
			}
			r.off += x->end - m->start;
			r.start = x->end;
			m->end = x->start;
			memmove(&g->v[i + 2], &g->v[i + 1], (g->n - i - 1) * sizeof(*m));
			g->v[i + 1] = r;
			g->n++;
			i += 2;
		} else if (m->start < x->start) {
			m->end = x->start;
			i++;
		} else if (m->end > x->end) {
			m->off += x->end - m->start;
			m->start = x->end;
			i++;
		} else {
			free(m->path);
			memmove(m, m + 1, (g->n - i - 1) * sizeof(*m));
			g->n--;
		}
	}
	for (lo = 0; lo < g->n && g->v[lo].start < x->start; lo++)
		;
	memmove(&g->v[lo + 1], &g->v[lo], (g->n - lo) * sizeof(*x));
	g->v[lo] = *x;
	g->n++;
	g->version = ++t->version;
	return 0;
}

static int copy_maps(struct gen *dst, const struct gen *src)
{
	size_t i;

	if (reserve(dst, src->n))
		return -ENOMEM;
	for (i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		dst->v[i].path = strdup(src->v[i].path);
		if (!dst->v[i].path)
			return -ENOMEM;
		dst->n++;
	}
	return 0;
}

static void ended(heed_maptrack *t, pid_t pid, uint64_t time)
{
	struct tproc *p = live(t, pid);

	if (!p)
		return;
	p->exited = 1;
	if (p->gens && !p->gens->end)
		p->gens->end = time;
}

/* FORK of a new process: a copy of its parent's program, when that is known. */
static int on_fork(heed_maptrack *t, pid_t pid, pid_t ppid, uint64_t time)
{
	struct tproc *parent = live(t, ppid), *p;
	struct gen *g;

	if (!parent || !parent->gens)
		return 0;
	p = newest(t, pid);
	/* Its exec (and even its exit), read in an earlier drain, as a ring read
	 * before the fork's is read again only at the next: that process is the one
	 * forked now, or a later one of its pid. */
	if (p && p->gens && p->gens->start >= time)
		return 0;
	/* A pid is reused once its process is gone: an exit that was lost. */
	if (p && !p->exited)
		ended(t, pid, time);
	p = proc_new(t, pid);
	g = p ? gen_new(t, p, time) : NULL;
	if (!p)
		return t->nprocs >= t->procs_max ? 0 : -ENOMEM;
	return g ? copy_maps(g, parent->gens) : -ENOMEM;
}

static int on_exec(heed_maptrack *t, pid_t pid, uint64_t time)
{
	struct tproc *p = live(t, pid);

	/* A process whose fork was not told (it ran before the trace, or its parent
	 * was not tracked) is known from its exec on. */
	if (!p)
		p = proc_new(t, pid);
	if (!p)
		return t->nprocs >= t->procs_max ? 0 : -ENOMEM;
	return gen_new(t, p, time) ? 0 : -ENOMEM;
}

/* "//anon" is the kernel's name for anonymous memory; /proc/PID/maps leaves it
 * blank. A newline in a path would end its maps line: written as /proc does. */
static char *map_path(const char *name)
{
	size_t len = strlen(name), i, k = 0;
	char *out;

	if (!strcmp(name, "//anon"))
		return strdup("");
	out = malloc(len * 4 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (name[i] == '\n') {
			memcpy(out + k, "\\012", 4);
			k += 4;
		} else {
			out[k++] = name[i];
		}
	}
	out[k] = 0;
	return out;
}

static int on_mmap2(heed_maptrack *t, const unsigned char *r, size_t len)
{
	struct {
		uint32_t pid, tid;
		uint64_t addr, len, pgoff;
		uint32_t maj, min;
		uint64_t ino, ino_gen;
		uint32_t prot, flags;
	} b;
	struct tproc *p;
	struct tmap x;

	if (len < sizeof(b) + 8)
		return 0;
	memcpy(&b, r, sizeof(b));
	p = live(t, (pid_t)b.pid);
	if (!p || !p->gens || !(b.prot & PROT_EXEC) || !b.len || b.addr + b.len < b.addr)
		return 0;
	x = (struct tmap){.start = b.addr,
			  .end = b.addr + b.len,
			  .off = b.pgoff,
			  .maj = b.maj,
			  .min = b.min,
			  .ino = b.ino};
	/* No NUL in the record: not a name the kernel writes. */
	if (strnlen((const char *)r + sizeof(b), len - sizeof(b) - 8) == len - sizeof(b) - 8) {
		t->st.maps_dropped++;
		return 0;
	}
	x.path = map_path((const char *)r + sizeof(b));
	if (!x.path)
		return -ENOMEM;
	if (strlen(x.path) > 3000) {
		/* It would not fit a maps line that procmaps.c reads. */
		free(x.path);
		t->st.maps_dropped++;
		return 0;
	}
	if (!x.path[0])
		x.ino = x.maj = x.min = 0;
	return add_map(t, p->gens, &x);
}

/* One record; body is what follows its header, without the time at its end. */
static int apply(heed_maptrack *t, const unsigned char *rec, size_t len, uint64_t time)
{
	struct perf_event_header h;
	const unsigned char *body = rec + sizeof(h);
	size_t blen = len - sizeof(h) - 8;
	uint32_t v[4];
	uint64_t lost[2];

	memcpy(&h, rec, sizeof(h));
	switch (h.type) {
	case PERF_RECORD_MMAP2:
		return on_mmap2(t, body, blen + 8);
	case PERF_RECORD_COMM:
		if (blen < 8 || !(h.misc & PERF_RECORD_MISC_COMM_EXEC))
			return 0;
		memcpy(v, body, 8);
		return on_exec(t, (pid_t)v[0], time);
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		if (blen < sizeof(v))
			return 0;
		memcpy(v, body, sizeof(v));
		/* A thread's start or end is not a process's. */
		if (v[0] != v[2])
			return 0;
		if (h.type == PERF_RECORD_EXIT) {
			ended(t, (pid_t)v[0], time);
			return 0;
		}
		return v[0] == v[1] ? 0 : on_fork(t, (pid_t)v[0], (pid_t)v[1], time);
	case PERF_RECORD_LOST:
		if (blen >= sizeof(lost)) {
			memcpy(lost, body, sizeof(lost));
			t->st.lost += lost[1];
		}
		return 0;
	default:
		return 0;
	}
}

/* Room in t->buf for a record of size bytes, and in t->recs for its entry. */
static int rec_room(heed_maptrack *t, size_t size)
{
	if (t->blen + size > t->bcap) {
		size_t ncap = t->bcap ? t->bcap * 2 : 65536;
		unsigned char *nb;

		while (ncap < t->blen + size)
			ncap *= 2;
		nb = realloc(t->buf, ncap);
		if (!nb)
			return -ENOMEM;
		t->buf = nb;
		t->bcap = ncap;
	}
	if (t->nrecs == t->rcap) {
		size_t ncap = t->rcap ? t->rcap * 2 : 1024;
		struct rec *nr = realloc(t->recs, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		t->recs = nr;
		t->rcap = ncap;
	}
	return 0;
}

/* Enters the record of size bytes just copied to the end of t->buf. */
static void rec_push(heed_maptrack *t, size_t size)
{
	t->recs[t->nrecs] = (struct rec){.off = t->blen, .len = size, .seq = t->nrecs};
	memcpy(&t->recs[t->nrecs].time, t->buf + t->blen + size - 8, 8);
	t->nrecs++;
	t->blen += size;
}

/* Copies the records of one ring into t->buf and t->recs, and frees their room. */
static int read_ring(heed_maptrack *t, struct ring *r)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	int err = 0;

	while (tail < head) {
		struct perf_event_header h;
		uint64_t at = tail % r->size, first;

		if (head - tail < sizeof(h))
			break;
		first = r->size - at < sizeof(h) ? r->size - at : sizeof(h);
		memcpy(&h, r->data + at, first);
		memcpy((unsigned char *)&h + first, r->data, sizeof(h) - first);
		if (h.size < sizeof(h) + 8 || h.size > head - tail || h.size > r->size)
			break; /* not a record the kernel writes: drop the rest */
		err = rec_room(t, h.size);
		if (err)
			break;
		first = r->size - at < h.size ? r->size - at : h.size;
		memcpy(t->buf + t->blen, r->data + at, first);
		memcpy(t->buf + t->blen + first, r->data, h.size - first);
		rec_push(t, h.size);
		tail += h.size;
	}
	/* Room is freed even on an error: the records are lost, not read twice. */
	__atomic_store_n(&r->meta->data_tail, head, __ATOMIC_RELEASE);
	return err;
}

int heed_maptrack_queue(heed_maptrack *t, const void *rec, size_t len)
{
	struct perf_event_header h;
	int err;

	if (len < sizeof(h) + 8)
		return -EINVAL;
	memcpy(&h, rec, sizeof(h));
	if (h.size != len)
		return -EINVAL;
	err = rec_room(t, len);
	if (err)
		return err;
	memcpy(t->buf + t->blen, rec, len);
	rec_push(t, len);
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int rec_off_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Keeps the records from recs[from] on (in time order) for the next drain, moved to
 * the start of the buffers in place; the others are done with. */
static void hold(heed_maptrack *t, size_t from)
{
	size_t i, n = t->nrecs - from, len = 0;

	memmove(t->recs, t->recs + from, n * sizeof(*t->recs));
	/* Their order for the next drain's ties, before they are moved by offset
	 * (lower first: none is moved over one not moved yet). */
	for (i = 0; i < n; i++)
		t->recs[i].seq = i;
	qsort(t->recs, n, sizeof(*t->recs), rec_off_cmp);
	for (i = 0; i < n; i++) {
		memmove(t->buf + len, t->buf + t->recs[i].off, t->recs[i].len);
		t->recs[i].off = len;
		len += t->recs[i].len;
	}
	t->blen = len;
	t->nrecs = n;
}

int heed_maptrack_drain(heed_maptrack *t)
{
	struct timespec ts;
	uint64_t upto;
	size_t i;
	int err = 0;

	/* A record stamped before now is in its ring when the ring is read below; one
	 * stamped later may be in a ring read after the ring of an earlier record
	 * written meanwhile (a child's exit read before its fork): it waits for the
	 * next drain, whose records it is then sorted among. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	upto = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	for (i = 0; i < t->nrings && !err; i++)
		err = read_ring(t, &t->rings[i]);
	/* Each ring is in time order; across CPUs the records are merged by time. */
	qsort(t->recs, t->nrecs, sizeof(*t->recs), rec_cmp);
	for (i = 0; i < t->nrecs && t->recs[i].time <= upto && !err; i++)
		err = apply(t, t->buf + t->recs[i].off, t->recs[i].len, t->recs[i].time);
	if (err)
		i = t->nrecs;
	hold(t, i);
	return err;
}

/* The generation of pid running at time, known whole, or NULL. */
static const struct gen *gen_at(const heed_maptrack *t, pid_t pid, uint64_t time,
				const struct tproc **owner)
{
	const struct tproc *p = t->procs[(uint32_t)pid % BUCKETS];
	const struct gen *g;

	for (; p; p = p->next) {
		if (p->pid != pid)
			continue;
		for (g = p->gens; g; g = g->older) {
			if (g->start > time)
				continue;
			/* Ended before time: a later process of the pid not tracked. */
			if (g->end && g->end < time)
				return NULL;
			*owner = p;
			return g;
		}
	}
	return NULL;
}

int heed_maptrack_find(const heed_maptrack *t, pid_t pid, uint64_t time,
		       struct heed_maptrack_prog *prog)
{
	const struct tproc *p;
	const struct gen *g = gen_at(t, pid, time, &p);

	if (!g)
		return 0;
	prog->start = g->start;
	prog->version = g->version;
	prog->live = !g->end && !p->exited;
	return 1;
}

/* Whether g->v[i] is the lowest mapping of a file, at a file offset past 0: only
 * executable mappings are told, and libdw places a module (its bias) at the lowest
 * address of its file's mappings, which is where its first segment, at offset 0,
 * was mapped. That address is start - offset, as perf reckons it, for the usual
 * layouts where a segment's address and offset differ by the same amount in every
 * segment. */
static int first_of_file(const struct gen *g, size_t i)
{
	const struct tmap *x = &g->v[i];
	size_t j;

	if (x->path[0] != '/' || !x->off || x->off > x->start)
		return 0;
	for (j = 0; j < i; j++)
		if (g->v[j].ino == x->ino && g->v[j].maj == x->maj && g->v[j].min == x->min &&
		    !strcmp(g->v[j].path, x->path))
			return 0;
	return 1;
}

int heed_maptrack_maps(const heed_maptrack *t, pid_t pid, uint64_t time, struct heed_maps *m)
{
	const struct tproc *p;
	const struct gen *g = gen_at(t, pid, time, &p);
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;
	int err;

	memset(m, 0, sizeof(*m));
	if (!g)
		return -ENOENT;
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	for (i = 0; i < g->n; i++) {
		const struct tmap *x = &g->v[i];

		if (first_of_file(g, i) && x->start - x->off >= (i ? g->v[i - 1].end : 0))
			fprintf(f,
				"%" PRIx64 "-%" PRIx64 " r--p 00000000 %02x:%02x %" PRIu64 " %s\n",
				x->start - x->off, x->start, x->maj, x->min, x->ino, x->path);
		fprintf(f, "%" PRIx64 "-%" PRIx64 " r-xp %08" PRIx64 " %02x:%02x %" PRIu64 " %s\n",
			x->start, x->end, x->off, x->maj, x->min, x->ino, x->path);
	}
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	err = heed_maps_parse(text, len, m);
	free(text);
	return err;
}

void heed_maptrack_retire(heed_maptrack *t, uint64_t now)
{
	size_t b;

	if (now < HEED_MAPTRACK_GRACE_NS)
		return;
	now -= HEED_MAPTRACK_GRACE_NS;
	for (b = 0; b < BUCKETS; b++) {
		struct tproc **pp = &t->procs[b];

		while (*pp) {
			struct tproc *p = *pp;
			struct gen **gp = &p->gens;

			while (*gp && !((*gp)->end && (*gp)->end < now))
				gp = &(*gp)->older;
			/* The older ones ended before this one (invariant 1). */
			while (*gp) {
				struct gen *g = *gp;

				*gp = g->older;
				gen_free(g);
			}
			if (p->exited && !p->gens) {
				*pp = p->next;
				proc_free(p);
				t->nprocs--;
			} else {
				pp = &p->next;
			}
		}
	}
}

void heed_maptrack_stats(const heed_maptrack *t, struct heed_maptrack_stats *st)
{
	*st = t->st;
	st->procs = t->nprocs;
}

static int open_ring(struct ring *r, int cpu)
{
	long page = sysconf(_SC_PAGESIZE);
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.size = sizeof(attr),
		.sample_type = PERF_SAMPLE_TIME,
		.mmap = 1,
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.sample_id_all = 1,
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
	};
	void *m;

	r->fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	m = mmap(NULL, (size_t)page * (RING_PAGES + 1), PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		 0);
	if (m == MAP_FAILED)
		return -errno;
	r->meta = m;
	r->data = (unsigned char *)m + page;
	r->size = (uint64_t)page * RING_PAGES;
	return 0;
}

int heed_maptrack_open(size_t procs_max, heed_maptrack **out, char *err, size_t errlen)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	heed_maptrack *t = calloc(1, sizeof(*t));
	int rc = 0, cpu;

	*out = NULL;
	if (!t || ncpu < 1) {
		free(t);
		return -ENOMEM;
	}
	t->procs_max = procs_max ? procs_max : HEED_MAPTRACK_PROCS_DEFAULT;
	t->rings = calloc((size_t)ncpu, sizeof(*t->rings));
	if (!t->rings) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (cpu = 0; cpu < ncpu; cpu++) {
		struct ring *r = &t->rings[t->nrings];

		rc = open_ring(r, cpu);
		if (rc == -ENODEV) { /* an offline CPU */
			if (r->fd >= 0)
				close(r->fd);
			rc = 0;
			continue;
		}
		t->nrings++;
		if (rc) {
			snprintf(
				err, errlen,
				"cannot open a perf event for the mappings of processes on CPU %d: "
				"%s",
				cpu, strerror(-rc));
			goto cleanup;
		}
	}
cleanup:
	if (rc) {
		heed_maptrack_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

void heed_maptrack_close(heed_maptrack *t)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrings; i++) {
		if (t->rings[i].meta)
			munmap(t->rings[i].meta, (size_t)page * (RING_PAGES + 1));
		if (t->rings[i].fd >= 0)
			close(t->rings[i].fd);
	}
	free(t->rings);
	for (i = 0; i < BUCKETS; i++) {
		while (t->procs[i]) {
			struct tproc *p = t->procs[i];

			t->procs[i] = p->next;
			proc_free(p);
		}
	}
	free(t->buf);
	free(t->recs);
	free(t);
}
