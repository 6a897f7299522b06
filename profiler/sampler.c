/* sampler.c - --profile and --offcpu: the user side of bpf/sampler_cpu.bpf.c and
 * bpf/sampler_off.bpf.c (see trace.h). A thread reads the ring buffer as records come,
 * unwinds each user stack copy with unwind.c (DWARF mode) and counts the distinct
 * stacks in a hash table keyed by their addresses; stacks.c symbolizes them.
 *
 * Invariants:
 * 1. Until finish() the reader thread touches the table, the unwinder and the
 *    counters only while holding lock, and heed_sampler_take only while holding it;
 *    after finish() joins the reader, only the caller does.
 * 2. A table entry never moves once counted: offcpu's pending switch-outs point to
 *    entries, and the time of the switch-in is added to them.
 */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "links.h"
#include "maptrack.h"
#include "sampler_off.skel.h"
#include "sampler_cpu.skel.h"
#include "sampler.h"
#include "unwind.h"

_Static_assert(sizeof(struct heed_sample) == 2304, "heed_sample ABI");
_Static_assert(sizeof(struct heed_sample_in) == 24, "heed_sample_in ABI");

/* Frames kept of a user stack unwound by DWARF; deeper ones are marked truncated. */
#define UNWIND_MAX_FRAMES 256

/* Distinct stacks one thread's --slow operation may hold: bounded, overflow counted. */
#define SLOW_HELD 64

struct held {
	struct heed_raw_stack *st;
	uint64_t count;
};

/* --slow: a blocked stack's time in the slow ops of one slot. */
struct slot_held {
	struct heed_raw_stack *st;
	uint64_t ns;
};

struct pending {
	uint32_t tid;
	int used;
	struct heed_raw_stack *st; /* its last switch-out, NULL once counted */
	/* --slow: the stacks of the thread's operation seq, until its end says slow or
	 * fast; off_held is 1 + the index of the last switch-out's, or 0. */
	uint64_t seq;
	uint32_t nheld, off_held;
	struct held *held; /* SLOW_HELD, allocated at the first */
};

/* What user space keeps of one sampled process: created at its first sample from
 * its maps then (/proc/PID/maps while it still runs that program, else the mappings
 * the kernel told, maptrack.h), kept after it exits (its last maps symbolize its
 * stacks). */
struct proc {
	pid_t pid;
	uint64_t exec_id;
	int stale;	       /* pid exec'd since: no more samples of this program */
	int no_maps;	       /* its maps could not be read: user frames are lost */
	heed_unwinder *unw;    /* DWARF mode */
	struct heed_maps maps; /* frame-pointer mode: the latest maps read */
	double refreshed;
	/* The program as the tracker knows it (prog_start 0: it does not), and the
	 * version of its mappings that maps hold. */
	uint64_t prog_start, version;
	int ended;	   /* its samples all read (release_ended): maps only, no unwinder */
	uint64_t taken;	   /* p->takes at its last sample: 1 + the take that gets it */
	struct proc *next; /* in its hash bucket */
};

#define PROC_BUCKETS 256
/* Ended programs kept per running one: their maps alone (an unwinder is libdw's
 * modules and CFI), so that a trace of thousands of short-lived processes still
 * symbolizes them at the end. */
#define ENDED_PER_PROC 16

struct heed_sampler {
	struct sampler_cpu_bpf *prof;
	struct sampler_off_bpf *off;
	struct heed_links links;
	struct bpf_map *stats;
	struct bpf_program *prog;
	struct ring_buffer *rb;
	unsigned int stack_bytes; /* 0: frame pointers */
	heed_symcache *symcache;  /* the unwinders' files (a borrowed reference), or NULL */
	int unwind_auto;	  /* --unwind auto: fall back to frame pointers per process */
	int one;		  /* one process traced: exec ids ignored (one state) */
	heed_maptrack *track;	  /* many processes: their mappings as the kernel told them */
	struct proc *procs[PROC_BUCKETS];
	size_t nprocs, procs_max; /* states of running programs (or not known to end) */
	size_t nended;		  /* states of ended ones: maps only, at most ENDED_PER_PROC
				   * per procs_max */
	uint64_t procs_dropped;	  /* samples of processes beyond procs_max: no user frames */
	uint64_t takes;		  /* heed_sampler_take calls */
	pthread_t reader;
	pthread_mutex_t lock; /* invariant 1 */
	int reading, finished;
	atomic_int stop;
	int err; /* the first error of the reader (-ENOMEM) */
	/* Distinct stacks: open addressing, cap a power of two (invariant 2). */
	struct heed_raw_stack **tab;
	size_t cap, used;
	struct heed_raw_stack **list; /* the entries with a count, for _stacks */
	size_t nlist;
	struct pending *pend;
	size_t pcap, pused;
	uint64_t truncated, bad, unwound, unwind_ns;
	struct heed_sampler_slow slow;
	struct heed_raw_stack **slow_list[2]; /* copies counted as fast, slow */
	size_t nslow_list[2];
	/* offcpu: per slot, the blocked stacks of its slow ops, and their copies. */
	struct slot_held *blocked[HEED_SLOW_MAX];
	size_t nblocked[HEED_SLOW_MAX], cblocked[HEED_SLOW_MAX];
	struct heed_raw_stack **blocked_list[HEED_SLOW_MAX];
	uint64_t pcs[UNWIND_MAX_FRAMES + HEED_STACK_DEPTH];
};

/* Room for about 2 s of DWARF samples at 99 Hz on 2 CPUs with 32 KiB copies, and
 * for bursts of switch-outs; a full buffer is counted (dropped), never silent. */
#define RB_BYTES_DWARF (16u << 20)
#define RB_BYTES_FP    (4u << 20)

/* What identifies a stack besides its addresses: the process and thread name. */
struct who {
	pid_t pid;
	uint64_t exec_id;
	char comm[16];
};

static uint64_t hash_stack(const struct who *w, uint32_t flags, uint32_t nuser, uint32_t nkern,
			   const uint64_t *pcs)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ flags ^ ((uint64_t)nuser << 8) ^
		     ((uint64_t)nkern << 24) ^ ((uint64_t)(uint32_t)w->pid << 32) ^
		     (w->exec_id * 0x9e3779b97f4a7c15ULL);
	uint32_t i;

	for (i = 0; i < sizeof(w->comm) && w->comm[i]; i++)
		h = (h ^ (uint8_t)w->comm[i]) * 0x100000001b3ULL;

	for (i = 0; i < nuser + nkern; i++) {
		h ^= pcs[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h;
}

static int same(const struct heed_raw_stack *e, const struct who *w, uint32_t flags, uint32_t nuser,
		uint32_t nkern, const uint64_t *pcs)
{
	return e->flags == flags && e->nuser == nuser && e->nkern == nkern && e->pid == w->pid &&
	       e->exec_id == w->exec_id && !memcmp(e->comm, w->comm, sizeof(w->comm)) &&
	       !memcmp(e->pcs, pcs, (nuser + nkern) * sizeof(*pcs));
}

static int grow_tab(heed_sampler *p)
{
	size_t i, j, ncap = p->cap ? p->cap * 2 : 1024;
	struct heed_raw_stack **nt;

	if (p->used * 2 < p->cap)
		return 0;
	nt = calloc(ncap, sizeof(struct heed_raw_stack *));
	if (!nt)
		return -ENOMEM;
	for (i = 0; i < p->cap; i++) {
		struct heed_raw_stack *e = p->tab[i];

		if (!e)
			continue;
		struct who w = {.pid = e->pid, .exec_id = e->exec_id};

		memcpy(w.comm, e->comm, sizeof(w.comm));
		j = hash_stack(&w, e->flags, e->nuser, e->nkern, e->pcs) & (ncap - 1);
		while (nt[j])
			j = (j + 1) & (ncap - 1);
		nt[j] = e;
	}
	free(p->tab);
	p->tab = nt;
	p->cap = ncap;
	return 0;
}

/* The entry of a stack, added with count 0 when new; NULL on -ENOMEM. */
static struct heed_raw_stack *find_stack(heed_sampler *p, const struct who *w, uint32_t flags,
					 uint32_t nuser, uint32_t nkern, const uint64_t *pcs)
{
	struct heed_raw_stack *e;
	size_t i;

	if (grow_tab(p))
		return NULL;
	i = hash_stack(w, flags, nuser, nkern, pcs) & (p->cap - 1);
	while (p->tab[i]) {
		if (same(p->tab[i], w, flags, nuser, nkern, pcs))
			return p->tab[i];
		i = (i + 1) & (p->cap - 1);
	}
	e = malloc(sizeof(*e) + (nuser + nkern) * sizeof(*pcs));
	if (!e)
		return NULL;
	e->count = e->slow = e->fast = 0;
	e->flags = flags;
	e->nuser = nuser;
	e->nkern = nkern;
	e->pid = w->pid;
	e->exec_id = w->exec_id;
	memcpy(e->comm, w->comm, sizeof(e->comm));
	memcpy(e->pcs, pcs, (nuser + nkern) * sizeof(*pcs));
	p->tab[i] = e;
	p->used++;
	return e;
}

/* The pending slot of tid (a thread that left the CPU); NULL on -ENOMEM. */
static struct pending *pending(heed_sampler *p, uint32_t tid)
{
	size_t i;

	if (p->pused * 2 >= p->pcap) {
		size_t ncap = p->pcap ? p->pcap * 2 : 256, j;
		struct pending *np = calloc(ncap, sizeof(*np));

		if (!np)
			return NULL;
		for (j = 0; j < p->pcap; j++) {
			if (!p->pend[j].used)
				continue;
			i = p->pend[j].tid * 2654435761u & (ncap - 1);
			while (np[i].used)
				i = (i + 1) & (ncap - 1);
			np[i] = p->pend[j];
		}
		free(p->pend);
		p->pend = np;
		p->pcap = ncap;
	}
	i = tid * 2654435761u & (p->pcap - 1);
	while (p->pend[i].used && p->pend[i].tid != tid)
		i = (i + 1) & (p->pcap - 1);
	if (!p->pend[i].used) {
		p->pend[i].used = 1;
		p->pend[i].tid = tid;
		p->pend[i].st = NULL;
		p->pused++;
	}
	return &p->pend[i];
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct proc *proc_find(const heed_sampler *p, pid_t pid, uint64_t exec_id)
{
	struct proc *pr = p->procs[(uint32_t)pid % PROC_BUCKETS];

	while (pr && (pr->pid != pid || pr->exec_id != exec_id))
		pr = pr->next;
	return pr;
}

static void proc_free(struct proc *pr)
{
	heed_unwinder_free(pr->unw);
	heed_maps_free(&pr->maps);
	free(pr);
}

/* The maps of pr's program as it was at time into *m: /proc/PID/maps while the
 * process still runs that program (map_files too then), else the mappings the
 * kernel told of it. Returns 0, -ENOMEM, or another error when there are none to
 * be had: gone before the trace knew its program, or running another one now. */
static int maps_at(heed_sampler *p, struct proc *pr, uint64_t time, struct heed_maps *m)
{
	struct heed_maptrack_prog prog = {0}, now = {0};
	int known = 0, rc;

	if (p->track) {
		rc = heed_maptrack_drain(p->track);
		if (rc)
			return rc;
		known = heed_maptrack_find(p->track, pr->pid, time, &prog);
		/* Not known then, but an exec since: /proc shows a later program. */
		if (!known && heed_maptrack_find(p->track, pr->pid, UINT64_MAX, &now) &&
		    now.start > time)
			return -ESRCH;
	}
	if (known) {
		pr->prog_start = prog.start;
		pr->version = prog.version;
	}
	if (!known || prog.live) {
		rc = heed_maps_read(pr->pid, m);
		if (!known || rc == -ENOMEM)
			return rc;
		/* Read while it still ran that program: an exec since is told by now. */
		if (!rc && (heed_maptrack_drain(p->track) ||
			    !heed_maptrack_find(p->track, pr->pid, UINT64_MAX, &now) ||
			    now.start != prog.start))
			heed_maps_free(m);
		else if (!rc)
			return 0;
	}
	return heed_maptrack_maps(p->track, pr->pid, time, m);
}

/* A program known to the tracker whose mappings changed since pr's maps were made:
 * a library mapped since, which a process that is gone (or runs another program
 * now) can no longer show in /proc. A live one's /proc is re-read by its unwinder
 * (unwind.h) and user_part when an address falls outside the maps. */
static int sync_maps(heed_sampler *p, struct proc *pr, uint64_t time)
{
	struct heed_maptrack_prog prog;
	struct heed_maps m;
	int rc;

	if (!p->track || !pr->prog_start || pr->no_maps)
		return 0;
	rc = heed_maptrack_drain(p->track);
	if (rc)
		return rc;
	if (!heed_maptrack_find(p->track, pr->pid, time, &prog) || prog.start != pr->prog_start ||
	    prog.version == pr->version || (prog.live && pr->maps.pid > 0))
		return 0;
	rc = heed_maptrack_maps(p->track, pr->pid, time, &m);
	if (rc)
		return rc == -ENOMEM ? rc : 0;
	pr->version = prog.version;
	rc = pr->unw ? heed_unwinder_set_maps(pr->unw, &m) : 0;
	heed_maps_free(&pr->maps);
	pr->maps = m;
	return rc == -ENOMEM ? rc : 0;
}

/* The state of process pid from maps (when NULL, the maps of its program at time,
 * maps_at), created at its first sample; NULL when there is no room (counted) or no
 * memory (p->err). A process whose maps cannot be had (gone already) gets a state
 * without them. */
static struct proc *proc_get(heed_sampler *p, pid_t pid, uint64_t exec_id,
			     const struct heed_maps *maps, uint64_t time)
{
	struct proc *pr = proc_find(p, pid, exec_id), *o;
	struct heed_maps fresh = {0};
	int rc;

	if (pr) {
		rc = sync_maps(p, pr, time);
		if (rc)
			p->err = rc;
		return rc ? NULL : pr;
	}
	if (p->nprocs >= p->procs_max || p->nended >= p->procs_max * ENDED_PER_PROC) {
		p->procs_dropped++;
		return NULL;
	}
	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		p->err = -ENOMEM;
		return NULL;
	}
	pr->pid = pid;
	pr->exec_id = exec_id;
	if (!maps) {
		rc = maps_at(p, pr, time, &fresh);
		if (rc == -ENOMEM) {
			proc_free(pr);
			p->err = rc;
			return NULL;
		}
		if (rc)
			pr->no_maps = 1;
		maps = &fresh;
	}
	rc = pr->no_maps ? 0 : heed_maps_copy(maps, &pr->maps);
	if (!rc && !pr->no_maps && p->stack_bytes) {
		rc = heed_unwinder_new(p->symcache, pid, maps, &pr->unw);
		/* auto: frame pointers are still better than nothing. */
		if (rc && rc != -ENOMEM && p->unwind_auto)
			rc = 0;
	}
	heed_maps_free(&fresh);
	if (rc == -ENOMEM) {
		proc_free(pr);
		p->err = -ENOMEM;
		return NULL;
	}
	if (rc)
		pr->no_maps = 1;
	/* A new program of pid: the older ones get no more samples. */
	for (o = p->procs[(uint32_t)pid % PROC_BUCKETS]; o; o = o->next)
		if (o->pid == pid)
			o->stale = 1;
	pr->next = p->procs[(uint32_t)pid % PROC_BUCKETS];
	p->procs[(uint32_t)pid % PROC_BUCKETS] = pr;
	p->nprocs++;
	return pr;
}

/* The user part of a sample into p->pcs; returns its flags. */
static uint32_t user_part(heed_sampler *p, const struct heed_sample *s, uint32_t *nuser)
{
	struct proc *pr;
	size_t n = 0;
	int complete;
	uint64_t t0;

	*nuser = 0;
	if (s->flags & HEED_SAMPLE_F_NO_USER)
		return HEED_RAW_NO_USER;
	/* A kernel thread (or the idle task): no user part, nothing lost. */
	if (!(s->flags & HEED_SAMPLE_F_REGS) && !s->nuser)
		return 0;
	pr = proc_get(p, (pid_t)s->pid, p->one ? 0 : s->exec_id, NULL, s->time);
	if (pr)
		pr->taken = p->takes;
	if (!pr || pr->no_maps)
		return HEED_RAW_NO_USER;
	if (!(s->flags & HEED_SAMPLE_F_REGS) || !pr->unw) {
		/* The kernel's frame-pointer walk: whether a full one reached the
		 * outermost frame cannot be known. */
		if (s->flags & HEED_SAMPLE_F_REGS)
			return HEED_RAW_NO_USER; /* a copy, and no CFI unwinder for it */
		*nuser = s->nuser;
		memcpy(p->pcs, s->uips, s->nuser * sizeof(*p->pcs));
		/* Maps from the kernel's records: sync_maps keeps them. */
		for (n = 0; pr->maps.pid > 0 && n < s->nuser; n++)
			if (heed_maps_refresh(pr->pid, &pr->maps, p->pcs[n],
					      HEED_UNWIND_REFRESH_MS / 1e3, &pr->refreshed))
				break;
		return s->nuser == HEED_STACK_DEPTH ? HEED_RAW_TRUNCATED : 0;
	}
	t0 = mono_ns();
	heed_unwinder_run(pr->unw, (const uint64_t *)s->regs, s + 1, s->stack_len, p->pcs,
			  UNWIND_MAX_FRAMES, &n, &complete);
	p->unwind_ns += mono_ns() - t0;
	p->unwound++;
	*nuser = (uint32_t)n;
	if (!n)
		return HEED_RAW_NO_USER;
	return complete ? 0 : HEED_RAW_TRUNCATED;
}

/* --slow: holds count of e for the thread's operation seq; returns 1 + the index of
 * the held entry, 0 when not held, -ENOMEM. */
static int hold(heed_sampler *p, struct pending *pd, uint64_t seq, struct heed_raw_stack *e,
		uint64_t count)
{
	uint32_t i;

	if (!pd->held) {
		pd->held = calloc(SLOW_HELD, sizeof(*pd->held));
		if (!pd->held)
			return -ENOMEM;
	}
	if (pd->seq != seq) {
		/* A new operation while one is held: the end of the last was lost. */
		if (pd->nheld)
			p->slow.orphans += pd->nheld;
		pd->seq = seq;
		pd->nheld = pd->off_held = 0;
	}
	for (i = 0; i < pd->nheld; i++)
		if (pd->held[i].st == e)
			break;
	if (i == pd->nheld) {
		if (i == SLOW_HELD) {
			p->slow.overflow++;
			return 0;
		}
		pd->held[i].st = e;
		pd->held[i].count = 0;
		pd->nheld++;
	}
	pd->held[i].count += count;
	return (int)i + 1;
}

/* --slow: adds ns of blocked stack st to slot's slow ops. Linear: only slow ops
 * come here, a percent or so of them. */
static int add_blocked(heed_sampler *p, uint32_t slot, struct heed_raw_stack *st, uint64_t ns)
{
	struct slot_held *v = p->blocked[slot];
	size_t i, n = p->nblocked[slot];

	for (i = 0; i < n; i++)
		if (v[i].st == st)
			break;
	if (i == n) {
		if (n == p->cblocked[slot]) {
			size_t ncap = n ? 2 * n : 16;
			struct slot_held *nv = realloc(v, ncap * sizeof(*v));

			if (!nv)
				return -ENOMEM;
			v = nv;
			p->blocked[slot] = v;
			p->cblocked[slot] = ncap;
		}
		v[i].st = st;
		v[i].ns = 0;
		p->nblocked[slot]++;
	}
	v[i].ns += ns;
	return 0;
}

/* --slow: an operation ended; files what its thread held as slow or fast. */
static int op_end(heed_sampler *p, const void *data, size_t size)
{
	const struct heed_slow_end *end = data;
	struct pending *pd;
	uint32_t i;

	if (size < sizeof(*end) || end->slot >= HEED_SLOW_MAX) {
		p->bad++;
		return 0;
	}
	pd = pending(p, end->tid);
	if (!pd) {
		p->err = -ENOMEM;
		return -ENOMEM;
	}
	if (pd->seq != end->seq)
		return 0;
	for (i = 0; i < pd->nheld; i++) {
		struct held *h = &pd->held[i];

		*(end->slow ? &h->st->slow : &h->st->fast) += h->count;
		p->slow.held[end->slot][!!end->slow] += h->count;
		if (h->st->flags & HEED_RAW_RUNNABLE)
			p->slow.runnable[end->slot][!!end->slow] += h->count;
		else if (p->off && end->slow && add_blocked(p, end->slot, h->st, h->count))
			return p->err = -ENOMEM;
	}
	pd->nheld = pd->off_held = 0;
	return 0;
}

/* A thread switched in again after pd->st: adds its time away to that stack, or
 * (--slow) the part after its wakeup to the same stack marked runnable, and to what
 * its operation holds. */
static int switched_in(heed_sampler *p, struct pending *pd, const struct heed_sample_in *in)
{
	uint64_t runq = in->runq < in->count ? in->runq : in->count;
	struct heed_raw_stack *st = pd->st, *r;
	int h;

	st->count += in->count - runq;
	if (pd->off_held)
		pd->held[pd->off_held - 1].count += in->count - runq;
	if (!runq)
		return 0;
	struct who w = {.pid = st->pid, .exec_id = st->exec_id};

	memcpy(w.comm, st->comm, sizeof(w.comm));
	r = find_stack(p, &w, st->flags | HEED_RAW_RUNNABLE, st->nuser, st->nkern, st->pcs);
	if (!r) {
		p->err = -ENOMEM;
		return -ENOMEM;
	}
	r->count += runq;
	h = pd->off_held ? hold(p, pd, pd->seq, r, runq) : 0;
	if (h < 0)
		p->err = h;
	return h < 0 ? h : 0;
}

/* One ring buffer record (untrusted: sizes are checked against what arrived). */
static int on_record(void *ctx, void *data, size_t size)
{
	heed_sampler *p = ctx;
	const struct heed_sample *s = data;
	struct heed_raw_stack *e;
	struct pending *pd;
	uint32_t flags, nuser, nkern;
	struct who w = {0};
	int h, rc;

	if (size < sizeof(struct heed_sample_in)) {
		p->bad++;
		return 0;
	}
	if (s->kind == HEED_SAMPLE_OPEND)
		return op_end(p, data, size);
	if (s->kind == HEED_SAMPLE_IN) {
		pd = pending(p, s->tid);
		if (!pd) {
			p->err = -ENOMEM;
			return -ENOMEM;
		}
		/* A switch-out lost to a full buffer was counted there. */
		rc = pd->st ? switched_in(p, pd, data) : 0;
		pd->st = NULL;
		pd->off_held = 0;
		return rc;
	}
	if ((s->kind != HEED_SAMPLE_ON && s->kind != HEED_SAMPLE_OUT) || size < sizeof(*s) ||
	    s->nkern > HEED_STACK_DEPTH || s->nuser > HEED_STACK_DEPTH ||
	    s->stack_len > size - sizeof(*s)) {
		p->bad++;
		return 0;
	}
	w.pid = (pid_t)s->pid;
	w.exec_id = p->one ? 0 : s->exec_id;
	memcpy(w.comm, s->comm, sizeof(w.comm) - 1);
	flags = user_part(p, s, &nuser);
	if (p->err)
		return p->err;
	if (s->flags & HEED_SAMPLE_F_NO_KERN)
		flags |= HEED_RAW_NO_KERN;
	if (s->kind == HEED_SAMPLE_OUT && s->count)
		flags |= HEED_RAW_RUNNABLE;
	if (flags & HEED_RAW_TRUNCATED)
		p->truncated++;
	/* A kernel stack ends at its first 0. */
	for (nkern = 0; nkern < s->nkern && s->kips[nkern]; nkern++)
		p->pcs[nuser + nkern] = s->kips[nkern];
	e = find_stack(p, &w, flags, nuser, nkern, p->pcs);
	if (!e) {
		p->err = -ENOMEM;
		return -ENOMEM;
	}
	if (s->kind == HEED_SAMPLE_ON)
		e->count += s->count;
	if (s->kind == HEED_SAMPLE_ON && !s->op)
		return 0;
	pd = pending(p, s->tid);
	if (!pd) {
		p->err = -ENOMEM;
		return -ENOMEM;
	}
	h = s->op ? hold(p, pd, s->op, e, s->kind == HEED_SAMPLE_ON ? s->count : 0) : 0;
	if (h < 0) {
		p->err = h;
		return h;
	}
	if (s->kind == HEED_SAMPLE_OUT) {
		pd->st = e;
		pd->off_held = (uint32_t)h;
	}
	return 0;
}

/* The states of programs the tracker has forgotten, whose samples have all been
 * read (maptrack.h): their maps stay for the symbols, their unwinder goes, and they
 * no longer count against procs_max. */
static int release_ended(heed_sampler *p)
{
	struct heed_maptrack_prog prog;
	struct proc *pr;
	size_t b;

	for (b = 0; b < PROC_BUCKETS; b++) {
		for (pr = p->procs[b]; pr; pr = pr->next) {
			if (!pr->prog_start || pr->ended ||
			    (heed_maptrack_find(p->track, pr->pid, pr->prog_start, &prog) &&
			     prog.start == pr->prog_start))
				continue;
			if (pr->unw) {
				struct heed_maps m;

				if (heed_maps_copy(heed_unwinder_maps(pr->unw), &m))
					return -ENOMEM;
				heed_maps_free(&pr->maps);
				pr->maps = m;
				heed_unwinder_free(pr->unw);
				pr->unw = NULL;
			}
			pr->ended = 1;
			p->nprocs--;
			p->nended++;
		}
	}
	return 0;
}

/* Reads the samples, the mapping records first (they were written before the
 * samples that need them), and forgets the programs whose samples have all been
 * read (maptrack.h). */
static int consume(heed_sampler *p)
{
	uint64_t t0 = mono_ns();
	int rc = p->track ? heed_maptrack_drain(p->track) : 0;

	if (rc)
		return rc;
	rc = ring_buffer__consume(p->rb);
	if (rc >= 0 && p->track) {
		heed_maptrack_retire(p->track, t0);
		if (release_ended(p))
			rc = -ENOMEM;
	}
	return rc;
}

static void *reader(void *arg)
{
	heed_sampler *p = arg;
	struct pollfd pfd = {.fd = ring_buffer__epoll_fd(p->rb), .events = POLLIN};

	/* The BPF side wakes us only when the buffer fills (sampler.bpf.h): read what
	 * came every 100 ms too, while the target lives and its maps can be read.
	 * The wait is outside the lock, so that heed_sampler_take waits at most for
	 * one consume. */
	while (!atomic_load(&p->stop) && !p->err) {
		int rc = poll(&pfd, 1, 100);

		if (rc < 0 && errno != EINTR) {
			p->err = -errno;
			break;
		}
		pthread_mutex_lock(&p->lock);
		rc = consume(p);
		if (rc < 0 && rc != -EINTR && !p->err)
			p->err = rc;
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

/* Stops sampling (invariant 1): detaches, joins the reader, reads what is left. */
static int finish(heed_sampler *p)
{
	if (p->finished)
		return p->err;
	p->finished = 1;
	heed_links_destroy(&p->links);
	if (p->reading) {
		atomic_store(&p->stop, 1);
		pthread_join(p->reader, NULL);
		p->reading = 0;
	}
	if (p->rb && !p->err) {
		int rc = consume(p);

		if (rc < 0 && !p->err)
			p->err = rc;
	}
	return p->err;
}

static int open_perf_events(heed_sampler *p, unsigned int hz, char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, rc, attached = 0;

	for (cpu = 0; cpu < ncpu; cpu++) {
		/* No PMU in these VMs: the software cpu-clock event samples everywhere. */
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.size = sizeof(attr),
			.freq = 1,
			.sample_freq = hz,
		};
		struct bpf_link *l;
		int fd;

		fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV) /* an offline CPU */
				continue;
			rc = -errno;
			snprintf(err, errlen, "cannot open a cpu-clock perf event on CPU %d: %s",
				 cpu, strerror(-rc));
			return rc;
		}
		l = bpf_program__attach_perf_event(p->prog, fd);
		if (!l) {
			rc = -errno;
			close(fd);
			snprintf(err, errlen, "cannot attach the profile program on CPU %d: %s",
				 cpu, strerror(-rc));
			return rc;
		}
		rc = heed_links_add(&p->links, l);
		if (rc)
			return rc;
		attached++;
	}
	if (!attached) {
		snprintf(err, errlen, "no online CPU to sample");
		return -ENODEV;
	}
	return 0;
}

/* Sizes the maps common to both objects and sets their knobs. */
static void size_maps(struct bpf_map *scratch, struct bpf_map *samples, unsigned int stack_bytes)
{
	int ncpu = libbpf_num_possible_cpus();

	bpf_map__set_max_entries(scratch, ncpu > 0 ? (__u32)ncpu : 1);
	bpf_map__set_max_entries(samples, stack_bytes ? RB_BYTES_DWARF : RB_BYTES_FP);
}

static int load(heed_sampler *p, const heed_select *sel, unsigned int stack_bytes, int slow_fd,
		char *err, size_t errlen)
{
	const char *what = p->off ? "offcpu" : "profile";
	struct bpf_map *samples;
	int rc;

	rc = slow_fd ? bpf_map__reuse_fd(p->prof ? p->prof->maps.slow_threads
						 : p->off->maps.slow_threads,
					 slow_fd)
		     : 0;
	if (rc) {
		snprintf(err, errlen, "cannot share --slow's thread map with %s: %s", what,
			 strerror(-rc));
		return rc;
	}
	rc = heed_select_reuse(sel, p->prof ? p->prof->obj : p->off->obj, err, errlen);
	if (rc)
		return rc;
	if (p->prof) {
		p->prof->rodata->stack_bytes = stack_bytes;
		size_maps(p->prof->maps.scratch, p->prof->maps.samples, stack_bytes);
		rc = sampler_cpu_bpf__load(p->prof);
	} else {
		p->off->rodata->stack_bytes = stack_bytes;
		size_maps(p->off->maps.scratch, p->off->maps.samples, stack_bytes);
		/* Wakeups split an operation's time away (--slow): not worth their
		 * cost to plain --offcpu, whose stacks sum both parts anyway. */
		bpf_program__set_autoload(p->off->progs.heed_wakeup, slow_fd != 0);
		rc = sampler_off_bpf__load(p->off);
	}
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the %s BPF program: %s (run with -v for the "
			 "verifier log)",
			 what, strerror(-rc));
		return rc;
	}
	samples = p->prof ? p->prof->maps.samples : p->off->maps.samples;
	p->stats = p->prof ? p->prof->maps.stats : p->off->maps.stats;
	p->prog = p->prof ? p->prof->progs.heed_profile : p->off->progs.heed_offcpu;
	p->rb = ring_buffer__new(bpf_map__fd(samples), on_record, p, NULL);
	if (!p->rb) {
		rc = -errno;
		snprintf(err, errlen, "cannot read the %s ring buffer: %s", what, strerror(-rc));
		return rc;
	}
	return 0;
}

/* The reader thread blocks the signals that end the trace: they reach main's poll. */
static int start_reader(heed_sampler *p)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&p->reader, NULL, reader, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	p->reading = !rc;
	return rc;
}

int heed_sampler_open(pid_t pid, const struct heed_maps *maps, const struct heed_sampler_opts *o,
		      heed_sampler **out, char *err, size_t errlen)
{
	heed_sampler *p = calloc(1, sizeof(*p));
	unsigned int stack_bytes = 0;
	struct bpf_link *l;
	struct proc *pr;
	int rc = 0;

	*out = NULL;
	err[0] = 0;
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->procs_max = o->procs_max ? o->procs_max : HEED_SAMPLER_PROCS_DEFAULT;
	if (o->unwind != HEED_UNWIND_FP)
		stack_bytes = o->stack_bytes ? o->stack_bytes : HEED_UNWIND_STACK_DEFAULT;
	p->stack_bytes = stack_bytes;
	p->symcache = o->symcache;
	p->unwind_auto = o->unwind == HEED_UNWIND_AUTO;
	if (pid > 0 && maps) {
		/* One process: its unwinder set up now, from the maps at attach. With
		 * --unwind auto, one that cannot be (no CFI usable) falls back to frame
		 * pointers for the whole trace, and the stats say which unwinding ran. */
		p->unwind_auto = 0;
		p->one = 1;
		pr = proc_get(p, pid, 0, maps, 0);

		rc = pr ? 0 : p->err ? p->err : -ENOMEM;
		if (!rc && pr->no_maps && stack_bytes && o->unwind == HEED_UNWIND_AUTO) {
			pr->no_maps = 0;
			p->stack_bytes = stack_bytes = 0;
		} else if (!rc && pr->no_maps) {
			rc = stack_bytes ? -EINVAL : -ESRCH;
			snprintf(err, errlen, "cannot set up %s of pid %d",
				 stack_bytes ? "DWARF unwinding" : "the maps", (int)pid);
		}
		p->unwind_auto = o->unwind == HEED_UNWIND_AUTO;
	}
	/* Many processes: their mappings are told from before the first sample on. */
	if (!rc && !p->one)
		rc = heed_maptrack_open(0, &p->track, err, errlen);
	if (rc)
		goto cleanup;
	if (o->offcpu)
		p->off = sampler_off_bpf__open();
	else
		p->prof = sampler_cpu_bpf__open();
	if (!p->off && !p->prof) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the %s BPF object: %s",
			 o->offcpu ? "offcpu" : "profile", strerror(-rc));
		goto cleanup;
	}
	rc = load(p, o->sel, stack_bytes, o->slow_fd, err, errlen);
	if (rc)
		goto cleanup;
	if (p->prof) {
		rc = open_perf_events(p, o->hz, err, errlen);
	} else {
		l = bpf_program__attach(p->prog);
		rc = l ? heed_links_add(&p->links, l) : -errno;
		if (!l)
			snprintf(err, errlen,
				 "cannot attach the offcpu program to sched_switch: %s",
				 strerror(-rc));
		if (!rc && o->slow_fd) {
			l = bpf_program__attach(p->off->progs.heed_wakeup);
			rc = l ? heed_links_add(&p->links, l) : -errno;
			if (!l)
				snprintf(err, errlen,
					 "cannot attach the offcpu program to sched_wakeup: %s",
					 strerror(-rc));
		}
	}
	if (!rc)
		rc = start_reader(p);
cleanup:
	if (rc) {
		heed_sampler_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

int heed_sampler_stats(heed_sampler *p, struct heed_sampler_stats *st)
{
	uint64_t v[HEED_STACK_STAT_MAX];
	int fd = bpf_map__fd(p->stats), err;
	__u32 i;

	memset(st, 0, sizeof(*st));
	err = finish(p);
	for (i = 0; !err && i < HEED_STACK_STAT_MAX; i++)
		err = heed_percpu_sum(fd, i, &v[i]);
	if (err)
		return err;
	st->samples = v[HEED_STACK_SAMPLES];
	st->u_failed = v[HEED_STACK_U_FAILED];
	st->k_failed = v[HEED_STACK_K_FAILED];
	st->dropped = v[HEED_STACK_RB_FULL] + v[HEED_STACK_STARTS_FULL] + p->bad;
	st->procs = p->nprocs + p->nended;
	st->procs_dropped = p->procs_dropped;
	st->truncated = p->truncated;
	st->unwind = p->stack_bytes ? HEED_UNWIND_DWARF : HEED_UNWIND_FP;
	st->unwound = p->unwound;
	st->unwind_ns = p->unwind_ns;
	st->prog_misses = heed_prog_misses(bpf_program__fd(p->prog));
	if (p->track) {
		struct heed_maptrack_stats ts;

		heed_maptrack_stats(p->track, &ts);
		st->maps_lost = ts.lost;
		st->maps_untracked = ts.untracked + ts.maps_dropped;
	}
	return 0;
}

int heed_sampler_stacks(heed_sampler *p, const struct heed_raw_stack *const **v, size_t *n)
{
	size_t i;
	int err = finish(p);

	if (err)
		return err;
	if (!p->list && p->used) {
		p->list = malloc(p->used * sizeof(struct heed_raw_stack *));
		if (!p->list)
			return -ENOMEM;
		for (i = 0; i < p->cap; i++)
			if (p->tab[i] && p->tab[i]->count) /* a switch-out never back: no time */
				p->list[p->nlist++] = p->tab[i];
	}
	*v = (const struct heed_raw_stack *const *)p->list;
	*n = p->nlist;
	return 0;
}

static const struct heed_maps *proc_maps(const struct proc *pr)
{
	return pr->unw ? heed_unwinder_maps(pr->unw) : &pr->maps;
}

const struct heed_maps *heed_sampler_maps(heed_sampler *p, pid_t pid, uint64_t exec_id)
{
	const struct proc *pr;

	/* The reader thread replaces the maps it refreshes: stop it first. */
	finish(p);
	pr = proc_find(p, pid, exec_id);
	return pr && !pr->no_maps ? proc_maps(pr) : NULL;
}

int heed_sampler_maps_copy(heed_sampler *p, pid_t pid, uint64_t exec_id, struct heed_maps *maps)
{
	const struct proc *pr;
	int err = -ENOENT;

	memset(maps, 0, sizeof(*maps));
	if (!p->finished)
		pthread_mutex_lock(&p->lock);
	pr = proc_find(p, pid, exec_id);
	if (pr && !pr->no_maps)
		err = heed_maps_copy(proc_maps(pr), maps);
	if (!p->finished)
		pthread_mutex_unlock(&p->lock);
	return err;
}

void heed_sampler_prune(heed_sampler *p)
{
	struct proc **pp;
	size_t b;

	if (!p->finished)
		pthread_mutex_lock(&p->lock);
	for (b = 0; b < PROC_BUCKETS; b++) {
		for (pp = &p->procs[b]; *pp;) {
			struct proc *pr = *pp;

			/* Samples counted since the last take need its maps at the next;
			 * they come while the last take's stacks are symbolized. */
			if (pr->taken == p->takes ||
			    (!pr->stale && (kill(pr->pid, 0) == 0 || errno != ESRCH))) {
				pp = &pr->next;
				continue;
			}
			*pp = pr->next;
			if (pr->ended)
				p->nended--;
			else
				p->nprocs--;
			proc_free(pr);
		}
	}
	if (!p->finished)
		pthread_mutex_unlock(&p->lock);
}

int heed_sampler_rb_fd(const heed_sampler *p)
{
	return bpf_map__fd(p->prof ? p->prof->maps.samples : p->off->maps.samples);
}

int heed_sampler_slow_stacks(heed_sampler *p, int slow, const struct heed_raw_stack *const **v,
			     size_t *n)
{
	struct heed_raw_stack ***l = &p->slow_list[!!slow];
	size_t i, sz, *nl = &p->nslow_list[!!slow];
	int err = finish(p);

	if (err)
		return err;
	if (!*l && p->used) {
		*l = calloc(p->used, sizeof(struct heed_raw_stack *));
		if (!*l)
			return -ENOMEM;
		for (i = 0; i < p->cap; i++) {
			const struct heed_raw_stack *e = p->tab[i];
			uint64_t c = e ? (slow ? e->slow : e->fast) : 0;

			if (!c)
				continue;
			sz = sizeof(*e) + (e->nuser + e->nkern) * sizeof(e->pcs[0]);
			(*l)[*nl] = malloc(sz);
			if (!(*l)[*nl])
				return -ENOMEM;
			memcpy((*l)[*nl], e, sz);
			(*l)[(*nl)++]->count = c;
		}
	}
	*v = (const struct heed_raw_stack *const *)*l;
	*n = *nl;
	return 0;
}

int heed_sampler_slow_blocked(heed_sampler *p, size_t slot, const struct heed_raw_stack *const **v,
			      size_t *n)
{
	struct heed_raw_stack **l;
	size_t i, sz;
	int err = finish(p);

	*n = 0;
	if (err)
		return err;
	if (slot >= HEED_SLOW_MAX)
		return -EINVAL;
	if (!p->blocked_list[slot] && p->nblocked[slot]) {
		l = calloc(p->nblocked[slot], sizeof(struct heed_raw_stack *));
		if (!l)
			return -ENOMEM;
		p->blocked_list[slot] = l;
		for (i = 0; i < p->nblocked[slot]; i++) {
			const struct heed_raw_stack *e = p->blocked[slot][i].st;

			sz = sizeof(*e) + (e->nuser + e->nkern) * sizeof(e->pcs[0]);
			l[i] = malloc(sz);
			if (!l[i])
				return -ENOMEM;
			memcpy(l[i], e, sz);
			l[i]->count = p->blocked[slot][i].ns;
		}
	}
	*v = (const struct heed_raw_stack *const *)p->blocked_list[slot];
	*n = p->blocked_list[slot] ? p->nblocked[slot] : 0;
	return 0;
}

int heed_sampler_slow_stats(heed_sampler *p, struct heed_sampler_slow *st)
{
	int err = finish(p);

	*st = p->slow;
	return err;
}

void heed_sampler_close(heed_sampler *p)
{
	size_t i, k;

	if (!p)
		return;
	finish(p);
	ring_buffer__free(p->rb);
	heed_maptrack_close(p->track);
	sampler_cpu_bpf__destroy(p->prof);
	sampler_off_bpf__destroy(p->off);
	for (i = 0; i < PROC_BUCKETS; i++) {
		while (p->procs[i]) {
			struct proc *pr = p->procs[i];

			p->procs[i] = pr->next;
			proc_free(pr);
		}
	}
	for (i = 0; i < p->cap; i++)
		free(p->tab[i]);
	free(p->tab);
	free(p->list);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < p->nslow_list[k]; i++)
			free(p->slow_list[k][i]);
		free(p->slow_list[k]);
	}
	for (k = 0; k < HEED_SLOW_MAX; k++) {
		for (i = 0; p->blocked_list[k] && i < p->nblocked[k]; i++)
			free(p->blocked_list[k][i]);
		free(p->blocked_list[k]);
		free(p->blocked[k]);
	}
	for (i = 0; i < p->pcap; i++)
		free(p->pend[i].held);
	free(p->pend);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void heed_raw_stacks_free(struct heed_raw_stack **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Moves the counted entries of the table to *v and starts an empty one; a thread's
 * pending switch-out moves to the new table with count 0 (invariant 2), so its time
 * counts in the interval it comes back in. Called with lock held. */
static int take_locked(heed_sampler *p, struct heed_raw_stack ***v, size_t *n)
{
	struct heed_raw_stack **old = p->tab, **out;
	size_t cap = p->cap, i, k = 0;

	out = malloc((p->used ? p->used : 1) * sizeof(struct heed_raw_stack *));
	if (!out)
		return -ENOMEM;
	p->takes++;
	p->tab = NULL;
	p->cap = p->used = 0;
	for (i = 0; i < p->pcap; i++) {
		struct pending *pd = &p->pend[i];

		if (!pd->used || !pd->st)
			continue;
		struct who w = {.pid = pd->st->pid, .exec_id = pd->st->exec_id};

		memcpy(w.comm, pd->st->comm, sizeof(w.comm));
		/* NULL when out of memory: that thread's next switch-in goes uncounted. */
		pd->st =
			find_stack(p, &w, pd->st->flags, pd->st->nuser, pd->st->nkern, pd->st->pcs);
	}
	for (i = 0; i < cap; i++) {
		if (!old[i])
			continue;
		if (old[i]->count)
			out[k++] = old[i];
		else
			free(old[i]);
	}
	free(old);
	*v = out;
	*n = k;
	return 0;
}

int heed_sampler_take(heed_sampler *p, struct heed_raw_stack ***v, size_t *n)
{
	int err;

	*v = NULL;
	*n = 0;
	if (p->finished)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	err = p->err;
	if (!err)
		err = take_locked(p, v, n);
	pthread_mutex_unlock(&p->lock);
	return err;
}
