/* slow.c - --slow: the user side of bpf/slow.bpf.c (see trace.h and bpf/slow.h). It
 * creates the per-thread map the samplers share, attaches each spec's start and done
 * to the target, and for pNN thresholds recomputes the threshold from the op's live
 * histogram every 100 ms in a thread of its own.
 *
 * heed's get, put, del and cursor ops are timed from heed:ops__batch, no probe hit
 * per op: the samplers tag stacks with the op libheed says it has in flight, and the
 * op's record, when its batch arrives, says how long it took (bpf/slow.h). Commits
 * and syncs, which nest (a commit's fdatasyncs), keep their start/done probes; so
 * does a libheed whose batch has another layout than this build's HEED_OPREC_ABI.
 * libheed keeps the op slot only while heed:ops__slot's semaphore is set: --slow
 * attaches to it, --ops alone does not pay for the slot.
 */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elfinfo.h"
#include "links.h"
#include "probe_abi.h"
#include "slow.skel.h"

struct heed_slow {
	struct slow_bpf *skel;
	int threads_fd;
	const struct heed_slow_spec *specs;
	size_t n;
	struct heed_links links;
	pthread_t updater;
	int updating;
	atomic_int stop;
	pid_t pid;
	int later;			       /* heed_slow_refresh will see code mapped later */
	unsigned char attached[HEED_SLOW_MAX]; /* spec i found in a file of the target */
	int batch_attached; /* the batch program is attached (once for all specs) */
};

static const struct {
	const char *op, *probe;
	int batch; /* timed from ops__batch: 1 + its HEED_OP_*; 0: by its start/done */
} heed_ops[] = {
	{"get", "get", 1 + HEED_OP_GET}, {"put", "put", 1 + HEED_OP_PUT},
	{"del", "del", 1 + HEED_OP_DEL}, {"cursor", "cursor", 1 + HEED_OP_CURSOR},
	{"commit", "txn__commit", 0},	 {"sync", "sync", 0},
};

/* 1 + the HEED_OP_* spec sp times from the batch, 0 when it is not such a spec. */
static int batch_op(const struct heed_slow_spec *sp)
{
	size_t i;

	if (!sp->prov || strcmp(sp->prov, "heed") != 0)
		return 0;
	for (i = 0; i < sizeof(heed_ops) / sizeof(heed_ops[0]); i++)
		if (!strcmp(sp->name, heed_ops[i].probe))
			return heed_ops[i].batch;
	return 0;
}

/* Attaches the batch program to heed:ops__batch of the first file whose records have
 * this build's layout (third argument HEED_OPREC_ABI), and the slot program to its
 * heed:ops__slot, whose semaphore has libheed keep the op slot. */
static int attach_batch(heed_slow *s, pid_t pid, const struct heed_maps *maps)
{
	char exe[64];
	size_t m;
	int err;

	if (s->batch_attached)
		return 0;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	for (m = 0; m <= maps->n; m++) {
		const char *path = m ? maps->v[m - 1].path : exe;
		struct heed_elf_usdt *notes;
		struct bpf_link *l;
		size_t n, k;
		int ours = 0;

		if (m && (!maps->v[m - 1].exec || path[0] != '/'))
			continue;
		if (heed_elf_usdt(path, &notes, &n))
			continue;
		for (k = 0; k < n; k++) {
			const char *abi = notes[k].args ? strstr(notes[k].args, " 4@$") : NULL;
			char *end;

			if (!abi || strcmp(notes[k].provider, "heed") != 0 ||
			    strcmp(notes[k].name, "ops__batch") != 0)
				continue;
			errno = 0;
			ours |= strtol(abi + 4, &end, 10) == HEED_OPREC_ABI && !errno &&
				end != abi + 4 && (*end == ' ' || !*end);
		}
		heed_elf_usdt_free(notes, n);
		if (!ours)
			continue;
		l = bpf_program__attach_usdt(s->skel->progs.heed_slow_slot, pid, path, "heed",
					     "ops__slot", NULL);
		if (!l)
			return -errno;
		err = heed_links_add(&s->links, l);
		if (err)
			return err;
		l = bpf_program__attach_usdt(s->skel->progs.heed_slow_batch, pid, path, "heed",
					     "ops__batch", NULL);
		if (!l)
			return -errno;
		s->batch_attached = 1;
		return heed_links_add(&s->links, l);
	}
	return -ENOENT;
}

static int parse_thresh(const char *t, struct heed_slow_spec *out, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	char *end;
	double v;
	size_t i;

	if (!*t) {
		snprintf(err, errlen,
			 "--slow %s: no threshold after the last ':' (a time like "
			 "100us or a percentile like p99)",
			 out->arg);
		return -EINVAL;
	}
	if (t[0] == 'p') {
		errno = 0;
		v = strtod(t + 1, &end);
		if (errno || end == t + 1 || *end || !(v > 0 && v < 100)) {
			snprintf(err, errlen,
				 "--slow %s: the percentile '%s' is not pNN with 0 < "
				 "NN < 100",
				 out->arg, t);
			return -EINVAL;
		}
		out->pct = v;
		return 0;
	}
	errno = 0;
	v = strtod(t, &end);
	if (errno || end == t || !(v > 0) || !isfinite(v)) {
		snprintf(err, errlen,
			 "--slow %s: '%s' is neither a time (NUMBER with ns, us, ms "
			 "or s) nor a percentile (pNN)",
			 out->arg, t);
		return -EINVAL;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit))
			break;
	if (i == sizeof(units) / sizeof(units[0])) {
		snprintf(err, errlen, "--slow %s: '%s' is not a unit of time (ns, us, ms, s)",
			 out->arg, end);
		return -EINVAL;
	}
	if (v * units[i].ns >= 1.8e19 || v * units[i].ns < 1) {
		snprintf(err, errlen, "--slow %s: the threshold is not between 1 ns and 500 years",
			 out->arg);
		return -EINVAL;
	}
	out->thresh_ns = (uint64_t)(v * units[i].ns);
	return 0;
}

int heed_slow_parse(const char *arg, struct heed_slow_spec *out, char *err, size_t errlen)
{
	const char *last = strrchr(arg, ':'), *colon;
	size_t i, oplen;
	int rc, usdt = 1;

	memset(out, 0, sizeof(*out));
	out->arg = arg;
	if (!last || last == arg) {
		snprintf(err, errlen,
			 "--slow %s: not OP:THRESHOLD (get:100us, PROV:NAME:5ms, "
			 "func:NAME:p99)",
			 arg);
		return -EINVAL;
	}
	rc = parse_thresh(last + 1, out, err, errlen);
	if (rc)
		return rc;
	oplen = (size_t)(last - arg);
	colon = memchr(arg, ':', oplen);
	if (!colon) {
		for (i = 0; i < sizeof(heed_ops) / sizeof(heed_ops[0]); i++)
			if (strlen(heed_ops[i].op) == oplen && !strncmp(arg, heed_ops[i].op, oplen))
				break;
		if (i == sizeof(heed_ops) / sizeof(heed_ops[0])) {
			snprintf(err, errlen,
				 "--slow %s: unknown operation '%.*s': a heed one (get "
				 "put del cursor commit sync), PROV:NAME of a USDT "
				 "NAME__start/NAME__done pair, or func:NAME",
				 arg, (int)oplen, arg);
			return -EINVAL;
		}
		out->prov = strdup("heed");
		out->name = strdup(heed_ops[i].probe);
	} else {
		if (colon == arg || colon + 1 == last ||
		    memchr(colon + 1, ':', (size_t)(last - colon - 1))) {
			snprintf(err, errlen, "--slow %s: an empty provider or name in '%.*s'", arg,
				 (int)oplen, arg);
			return -EINVAL;
		}
		usdt = !(colon - arg == 4 && !strncmp(arg, "func", 4));
		if (usdt)
			out->prov = strndup(arg, (size_t)(colon - arg));
		out->name = strndup(colon + 1, (size_t)(last - colon - 1));
	}
	if (!out->name || (usdt && !out->prov)) {
		heed_slow_spec_free(out);
		return -ENOMEM;
	}
	return 0;
}

void heed_slow_spec_free(struct heed_slow_spec *s)
{
	free(s->prov);
	free(s->name);
	s->prov = s->name = NULL;
}

int heed_slow_new(const struct heed_slow_spec *specs, size_t n, heed_slow **out, char *err,
		  size_t errlen)
{
	heed_slow *s;
	int rc;

	*out = NULL;
	if (n > HEED_SLOW_MAX) {
		snprintf(err, errlen, "at most %d --slow options", HEED_SLOW_MAX);
		return -E2BIG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->specs = specs;
	s->n = n;
	s->threads_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "slow_threads", sizeof(__u32),
				       sizeof(struct heed_slow_thread), HEED_SLOW_THREADS, NULL);
	if (s->threads_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create --slow's thread map: %s", strerror(-rc));
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int heed_slow_threads_fd(const heed_slow *s)
{
	return s->threads_fd;
}

/* Attaches spec i in the first file (the executable, then each mapped library) that
 * has it; -ENOENT when none has. */
static int attach_spec(heed_slow *s, size_t i, pid_t pid, const struct heed_maps *maps)
{
	const struct heed_slow_spec *sp = &s->specs[i];
	char exe[64], probe[256];
	size_t m;
	int rc = -ENOENT, k;

	if (batch_op(sp) && s->skel->rodata->batch_slot[batch_op(sp) - 1] == i + 1) {
		rc = attach_batch(s, pid, maps);
		s->attached[i] = !rc;
		if (rc != -ENOENT)
			return rc;
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	for (m = 0; m <= maps->n; m++) {
		const char *path = m ? maps->v[m - 1].path : exe;
		struct bpf_link *l[2] = {NULL, NULL};

		if (m && (!maps->v[m - 1].exec || path[0] != '/'))
			continue;
		for (k = 0; k < 2; k++) {
			if (sp->prov) {
				LIBBPF_OPTS(bpf_usdt_opts, uo, .usdt_cookie = i);

				snprintf(probe, sizeof(probe), "%s__%s", sp->name,
					 k ? "done" : "start");
				l[k] = bpf_program__attach_usdt(k ? s->skel->progs.heed_slow_udone
								  : s->skel->progs.heed_slow_ustart,
								pid, path, sp->prov, probe, &uo);
			} else {
				LIBBPF_OPTS(bpf_uprobe_opts, po, .bpf_cookie = i,
					    .func_name = sp->name, .retprobe = k);

				l[k] = bpf_program__attach_uprobe_opts(
					k ? s->skel->progs.heed_slow_done
					  : s->skel->progs.heed_slow_start,
					pid, path, 0, &po);
			}
			if (!l[k])
				break;
		}
		if (l[0] && l[1]) {
			rc = heed_links_add(&s->links, l[0]);
			rc = rc ? rc : heed_links_add(&s->links, l[1]);
			s->attached[i] = !rc;
			return rc;
		}
		bpf_link__destroy(l[0]);
		bpf_link__destroy(l[1]);
	}
	return rc;
}

static void set_thresh(heed_slow *s, __u32 i, uint64_t ns)
{
	__u64 v = ns;

	bpf_map_update_elem(bpf_map__fd(s->skel->maps.thresholds), &i, &v, BPF_ANY);
}

/* The NNth percentile of h, interpolated within its bucket. heed_hist_pct's bucket
 * top (1/8 of a power of two wide) let no op pass when the few slowest shared the
 * percentile's bucket, as 3 of 200 commits often did: p99 judged none slow. */
static uint64_t pct_interp(const struct heed_hist *h, double pct)
{
	uint64_t total = 0, seen = 0, lo, hi;
	double want;
	unsigned int b;

	for (b = 0; b < HEED_HIST_BUCKETS; b++)
		total += h->slots[b];
	want = pct / 100.0 * (double)total;
	for (b = 0; b < HEED_HIST_BUCKETS - 1; b++) {
		if ((double)(seen + h->slots[b]) >= want && h->slots[b])
			break;
		seen += h->slots[b];
	}
	heed_hist_bounds(b, &lo, &hi);
	if (!h->slots[b])
		return hi - 1;
	return lo + (uint64_t)((double)(hi - lo) * ((want - (double)seen) / (double)h->slots[b]));
}

/* pNN thresholds: from the op's histogram so far, every 100 ms. Until the first
 * operation there is no threshold, and every operation counts as fast. */
static void *updater(void *arg)
{
	heed_slow *s = arg;
	struct heed_hist h;
	size_t i;

	while (!atomic_load(&s->stop)) {
		struct timespec ts = {0, 100000000};

		for (i = 0; i < s->n; i++) {
			if (!s->specs[i].pct ||
			    heed_hist_read(bpf_map__fd(s->skel->maps.hists), (__u32)i, &h) ||
			    !h.count)
				continue;
			set_thresh(s, (__u32)i, pct_interp(&h, s->specs[i].pct));
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Says why spec i could not be attached. */
static void attach_error(const heed_slow *s, size_t i, int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "--slow %s: %s", s->specs[i].arg,
		 rc == -ENOENT ? (s->specs[i].prov ? "no such USDT start/done pair in the target"
						   : "no such function in the target")
			       : strerror(-rc));
}

int heed_slow_attach(heed_slow *s, pid_t pid, const struct heed_maps *maps, int rb_on, int rb_off,
		     int later, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc, pct = 0;
	size_t i;

	s->skel = slow_bpf__open();
	if (!s->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the slow BPF object: %s", strerror(-rc));
		return rc;
	}
	/* The first --slow option of each batch-timed kind times it. */
	for (i = 0; i < s->n; i++) {
		int op = batch_op(&s->specs[i]);

		if (op && !s->skel->rodata->batch_slot[op - 1]) {
			s->skel->rodata->batch_slot[op - 1] = (__u32)i + 1;
			s->skel->rodata->batch_kinds |= 1u << (op - 1);
		}
	}
	rc = bpf_map__reuse_fd(s->skel->maps.slow_threads, s->threads_fd);
	if (!rc && rb_on >= 0)
		rc = bpf_map__reuse_fd(s->skel->maps.rb_on, rb_on);
	if (!rc && rb_off >= 0)
		rc = bpf_map__reuse_fd(s->skel->maps.rb_off, rb_off);
	if (!rc)
		rc = slow_bpf__load(s->skel);
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the slow BPF program: %s (run with -v "
			 "for the verifier log)",
			 strerror(-rc));
		return rc;
	}
	s->pid = pid;
	s->later = later;
	for (i = 0; i < s->n; i++) {
		set_thresh(s, (__u32)i, s->specs[i].thresh_ns);
		pct |= s->specs[i].pct > 0;
		rc = attach_spec(s, i, pid, maps);
		if (rc && !(rc == -ENOENT && later)) {
			attach_error(s, i, rc, err, errlen);
			return rc;
		}
	}
	if (!pct)
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&s->updater, NULL, updater, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->updating = !rc;
	if (rc)
		snprintf(err, errlen, "cannot start the --slow threshold thread: %s",
			 strerror(-rc));
	return rc;
}

int heed_slow_refresh(heed_slow *s, const struct heed_maps *maps, char *err, size_t errlen)
{
	size_t i;
	int rc;

	for (i = 0; i < s->n; i++) {
		if (s->attached[i])
			continue;
		rc = attach_spec(s, i, s->pid, maps);
		if (rc && rc != -ENOENT) {
			attach_error(s, i, rc, err, errlen);
			return rc;
		}
	}
	return 0;
}

const struct heed_slow_spec *heed_slow_unmatched(const heed_slow *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!s->attached[i])
			return &s->specs[i];
	return NULL;
}

static void stop_updater(heed_slow *s)
{
	if (!s->updating)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->updater, NULL);
	s->updating = 0;
}

int heed_slow_read(heed_slow *s, size_t i, struct heed_slow_op *op)
{
	uint64_t v[HEED_SLOW_STAT_MAX];
	__u32 k, key = (__u32)i;
	__u64 thr = 0;
	int rc = 0;

	stop_updater(s);
	memset(op, 0, sizeof(*op));
	for (k = 0; !rc && k < HEED_SLOW_STAT_MAX; k++)
		rc = heed_percpu_sum(bpf_map__fd(s->skel->maps.stats),
				     (__u32)i * HEED_SLOW_STAT_MAX + k, &v[k]);
	if (!rc && bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.thresholds), &key, &thr))
		rc = -errno;
	if (rc)
		return rc;
	op->ops = v[HEED_SLOW_OPS];
	op->slow = v[HEED_SLOW_SLOW];
	op->slow_ns = v[HEED_SLOW_SLOW_NS];
	op->full = v[HEED_SLOW_FULL];
	op->lost_ends = v[HEED_SLOW_RB_FULL];
	op->thresh_ns = thr;
	return 0;
}

void heed_slow_close(heed_slow *s)
{
	if (!s)
		return;
	stop_updater(s);
	heed_links_destroy(&s->links);
	slow_bpf__destroy(s->skel);
	if (s->threads_fd >= 0)
		close(s->threads_fd);
	free(s);
}
