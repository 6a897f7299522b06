/* usdt.c - --ops and --usdt: the user side of bpf/usdt.bpf.c (see trace.h). */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfinfo.h"
#include "heed.h"
#include "links.h"
#include "probe_abi.h"
#include "target.h"
#include "usdt.h"
#include "usdt.skel.h"

/* Each op's report name, and the heed probe pair it falls back to without
 * ops__batch. */
static const struct {
	const char *name, *pair;
} heed_ops[HEED_USDT_OPS] = {
	[HEED_OP_GET] = {"get", "get"},
	[HEED_OP_PUT] = {"put", "put"},
	[HEED_OP_DEL] = {"del", "del"},
	[HEED_OP_CURSOR] = {"cursor", "cursor"},
	[HEED_OP_COMMIT] = {"commit", "txn__commit"},
	[HEED_OP_SYNC] = {"sync", "sync"},
};

/* Where heed's probes carry their result code, as core/probes.d declares them: the
 * notes' argument sizes say only how the call site passed them. */
static const struct {
	const char *probe;
	unsigned int rcarg; /* 1 + index of the argument */
} heed_rcs[] = {
#define HEED_PROBE_RC(probe, arg) {#probe, arg},
#include "heed_probe_rc.h"
#undef HEED_PROBE_RC
};

struct bin {
	const char *path; /* points into the maps */
	struct heed_elf_usdt *notes;
	size_t n;
};

/* Slots the histogram map holds beyond those planned at open: room for probes of
 * code mapped later (libraries loaded, a new program after exec). */
#define SPARE_SLOTS 64

/* One probe of one binary to attach, and its cookie; the strings are owned (the
 * maps they came from are replaced as the target maps new code). */
struct plan {
	char *path, *prov, *name;
	__u64 cookie;
	int batch; /* heed:ops__batch for --ops: the batch program, not a count */
};

struct plans {
	struct plan *v;
	size_t n, cap;
};

/* A binary looked at once: its probes are planned at first sight, whichever
 * process maps it; ops says it has heed's (the batch or start/done pairs). */
struct seen {
	char *path;
	int ops;
};

struct heed_usdt {
	struct usdt_bpf *skel;
	struct heed_links links;
	struct heed_hists h;
	size_t max_slots;   /* the histogram map's size */
	struct plans plans; /* v[0..attached) are attached */
	size_t attached;
	struct seen *seen;
	size_t nseen;
	struct heed_pids to; /* the processes attached in */
	int ops;
	int per_pid;		      /* --per-pid: the *_pid programs, pid_hists */
	struct heed_proc_hists procs; /* their histograms, as last read */
	enum heed_ops_source src;
	char *const *specs;
	size_t nspecs;
	int *matched; /* per spec: a probe matched it once */
};

/* The distinct executable files mapped by the target. */
static int list_bins(const struct heed_maps *maps, struct bin **out, size_t *n)
{
	struct bin *v = calloc(maps->n + 1, sizeof(*v));
	size_t i, k, cnt = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < maps->n; i++) {
		int dup = 0;

		if (!maps->v[i].exec || maps->v[i].path[0] != '/')
			continue;
		for (k = 0; k < cnt && !dup; k++)
			dup = !strcmp(v[k].path, maps->v[i].path);
		if (!dup)
			v[cnt++].path = maps->v[i].path;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static void free_bins(struct bin *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		heed_elf_usdt_free(v[i].notes, v[i].n);
	free(v);
}

static const struct heed_elf_usdt *find_note(const struct bin *b, const char *prov,
					     const char *name)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (!strcmp(b->notes[i].provider, prov) && !strcmp(b->notes[i].name, name))
			return &b->notes[i];
	return NULL;
}

/* The next argument of a note's space-separated argument list from *p, *p moved
 * past it; NULL at the end. */
static const char *next_arg(const char **p)
{
	const char *a;

	while (**p == ' ')
		(*p)++;
	if (!**p)
		return NULL;
	a = *p;
	while (**p && **p != ' ')
		(*p)++;
	return a;
}

/* 1 + index of the argument holding heed probe name's result code, 0 for none; -1
 * for a probe core/probes.d does not declare (another libheed's). */
static int heed_rc_arg(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(heed_rcs) / sizeof(heed_rcs[0]); i++)
		if (!strcmp(heed_rcs[i].probe, name))
			return (int)heed_rcs[i].rcarg;
	return -1;
}

/* For a heed probe core/probes.d does not declare: 1 + index of its last signed
 * 32-bit argument ("-4@..."), where heed's probes carry their result code; 0 when
 * there is none. */
static unsigned int rc_arg(const char *args)
{
	unsigned int i, found = 0;
	const char *a;

	for (i = 0; (a = next_arg(&args)); i++)
		if (!strncmp(a, "-4@", 3))
			found = i + 1;
	return found;
}

/* The cookie has 16 bits for the slot. */
static int slot_of(heed_usdt *u, const char *name, size_t *slot)
{
	int err = heed_hists_slot(&u->h, name, slot);

	if (!err && (*slot > 0xffff || (u->max_slots && *slot >= u->max_slots)))
		err = -E2BIG;
	return err;
}

/* Plans one attachment per (binary, probe), however many specs match it: a second
 * one would count each hit twice, and a pair's second start would look nested.
 * -EEXIST when the probe is planned already for another slot or error convention
 * (--ops's start/done pairs and --usdt 'heed:get*'): one of the two would stay empty. */
static int plan_add_batch(struct plans *p, const char *path, const char *prov, const char *name,
			  __u64 cookie, int batch)
{
	struct plan *pl;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].path, path) && !strcmp(p->v[i].prov, prov) &&
		    !strcmp(p->v[i].name, name))
			return p->v[i].cookie == cookie && p->v[i].batch == batch ? 0 : -EEXIST;
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 32;
		struct plan *nv = realloc(p->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = ncap;
	}
	pl = &p->v[p->n];
	*pl = (struct plan){strdup(path), strdup(prov), strdup(name), cookie, batch};
	if (!pl->path || !pl->prov || !pl->name) {
		free(pl->path);
		free(pl->prov);
		free(pl->name);
		return -ENOMEM;
	}
	p->n++;
	return 0;
}

static int plan_add(struct plans *p, const char *path, const char *prov, const char *name,
		    __u64 cookie)
{
	return plan_add_batch(p, path, prov, name, cookie, 0);
}

static void plans_free(struct plans *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].path);
		free(p->v[i].prov);
		free(p->v[i].name);
	}
	free(p->v);
}

/* The number of arguments a note declares. */
static unsigned int nargs(const char *args)
{
	unsigned int n = 0;

	while (next_arg(&args))
		n++;
	return n;
}

/* How errors of a spec's probes are counted: heed's probes by heed's convention,
 * others only when the user names the argument holding a result code. */
struct rcspec {
	int given;	  /* ":argN" was given */
	unsigned int arg; /* N, from 0 */
	int used;	  /* a matching probe has argument N */
};

/* 1 + the argument of note e holding its result code, 0 for none (a probe of a glob
 * may lack the argument others have). */
static void rc_of(const struct heed_elf_usdt *e, struct rcspec *rs, unsigned int *rcarg,
		  unsigned int *heedrc)
{
	*heedrc = !rs->given && !strcmp(e->provider, "heed");
	*rcarg = 0;
	if (rs->given && rs->arg < nargs(e->args)) {
		*rcarg = rs->arg + 1;
		rs->used = 1;
	} else if (*heedrc) {
		int known = heed_rc_arg(e->name);

		*rcarg = known >= 0 ? (unsigned int)known : rc_arg(e->args);
	}
}

/* Plans a start/done pair (base "get" -> get__start, get__done) as one timed slot
 * whose done probe's argument rcarg - 1 is its result code (0: none). */
static int plan_pair(struct plans *p, const struct bin *b, const char *prov, const char *base,
		     size_t slot, unsigned int rcarg, unsigned int heedrc)
{
	char s[256], d[256];
	const struct heed_elf_usdt *start, *done;
	int err;

	snprintf(s, sizeof(s), "%s__start", base);
	snprintf(d, sizeof(d), "%s__done", base);
	start = find_note(b, prov, s);
	done = find_note(b, prov, d);
	if (!start || !done)
		return -ENOENT;
	err = plan_add(p, b->path, start->provider, start->name,
		       HEED_USDT_COOKIE(slot, HEED_USDT_KIND_START, 0, 0));
	if (!err)
		err = plan_add(p, b->path, done->provider, done->name,
			       HEED_USDT_COOKIE(slot, HEED_USDT_KIND_DONE, rcarg, heedrc));
	return err;
}

/* Plans --ops in binary b: its batch probe, else its start/done pairs (a binary of an
 * older libheed). *has is set when b has either. */
static int plan_ops(const struct bin *b, struct plans *p, enum heed_ops_source *src, int *has)
{
	const struct heed_elf_usdt *batch = find_note(b, "heed", "ops__batch");
	size_t op;
	int err, rc;

	*has = 0;
	if (batch) {
		*has = 1;
		*src = HEED_OPS_BATCH;
		return plan_add_batch(p, b->path, batch->provider, batch->name, 0, 1);
	}
	for (op = 0; op < HEED_USDT_OPS; op++) {
		char done[64];

		snprintf(done, sizeof(done), "%s__done", heed_ops[op].pair);
		rc = heed_rc_arg(done);
		err = plan_pair(p, b, "heed", heed_ops[op].pair, op, rc > 0 ? (unsigned int)rc : 0,
				1);
		if (err == -ENOENT)
			continue;
		if (err)
			return err;
		*has = 1;
		if (*src == HEED_OPS_NONE)
			*src = HEED_OPS_START_DONE;
	}
	return 0;
}

/* Plans the pair X__start/X__done of bin b as slot "PROV:X", errors counted as rs
 * says from the done probe. */
static int plan_spec_pair(heed_usdt *u, struct plans *p, const struct bin *b,
			  const struct heed_elf_usdt *done, const char *prov, const char *base,
			  struct rcspec *rs)
{
	char slotname[400];
	unsigned int rcarg, heedrc;
	size_t slot;
	int err;

	rc_of(done, rs, &rcarg, &heedrc);
	snprintf(slotname, sizeof(slotname), "%s:%s", prov, base);
	err = slot_of(u, slotname, &slot);
	return err ? err : plan_pair(p, b, prov, base, slot, rcarg, heedrc);
}

/* Splits "PROV:NAME[:argN]" and plans every matching probe not planned yet. Returns
 * the number of matching probes, -EINVAL for a malformed spec, -EDOM for an argument no matching
 * probe has. */
static long plan_spec(heed_usdt *u, struct bin *bins, size_t nb, const char *spec, struct plans *p)
{
	const char *colon = strchr(spec, ':'), *rcs;
	char prov[128], glob[256], base[256], s[300], slotname[400];
	struct rcspec rs = {0};
	size_t i, k, slot, gl;
	long matched = 0;
	int err;

	if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= sizeof(prov))
		return -EINVAL;
	memcpy(prov, spec, colon - spec);
	prov[colon - spec] = 0;
	rcs = strchr(colon + 1, ':');
	gl = rcs ? (size_t)(rcs - colon - 1) : strlen(colon + 1);
	if (!gl || gl >= sizeof(glob))
		return -EINVAL;
	memcpy(glob, colon + 1, gl);
	glob[gl] = 0;
	if (rcs) {
		char *end;
		unsigned long a;

		if (strncmp(rcs + 1, "arg", 3) != 0 || rcs[4] < '0' || rcs[4] > '9')
			return -EINVAL;
		errno = 0;
		a = strtoul(rcs + 4, &end, 10);
		if (errno || *end || a > 11)
			return -EINVAL;
		rs.given = 1;
		rs.arg = (unsigned int)a;
	}
	for (i = 0; i < nb; i++) {
		for (k = 0; k < bins[i].n; k++) {
			const struct heed_elf_usdt *e = &bins[i].notes[k], *other;
			size_t l = strlen(e->name);
			unsigned int rcarg, heedrc;

			if (fnmatch(prov, e->provider, 0) || fnmatch(glob, e->name, 0))
				continue;
			matched++;
			/* A pair is planned once: from its done, or from its start when
			 * the glob does not match the done. */
			if (l > 7 && !strcmp(e->name + l - 7, "__start") && l - 7 < sizeof(base)) {
				memcpy(base, e->name, l - 7);
				base[l - 7] = 0;
				snprintf(s, sizeof(s), "%s__done", base);
				other = find_note(&bins[i], e->provider, s);
				if (other) {
					if (!fnmatch(glob, s, 0))
						continue;
					err = plan_spec_pair(u, p, &bins[i], other, e->provider,
							     base, &rs);
					if (err)
						return err;
					continue;
				}
			} else if (l > 6 && !strcmp(e->name + l - 6, "__done") &&
				   l - 6 < sizeof(base)) {
				memcpy(base, e->name, l - 6);
				base[l - 6] = 0;
				snprintf(s, sizeof(s), "%s__start", base);
				if (find_note(&bins[i], e->provider, s)) {
					err = plan_spec_pair(u, p, &bins[i], e, e->provider, base,
							     &rs);
					if (err)
						return err;
					continue;
				}
			}
			rc_of(e, &rs, &rcarg, &heedrc);
			snprintf(slotname, sizeof(slotname), "%s:%s", e->provider, e->name);
			err = slot_of(u, slotname, &slot);
			if (!err)
				err = plan_add(p, bins[i].path, e->provider, e->name,
					       HEED_USDT_COOKIE(slot, HEED_USDT_KIND_COUNT, rcarg,
								heedrc));
			if (err)
				return err;
		}
	}
	if (rs.given && !rs.used && matched)
		return -EDOM;
	return matched;
}

/* The seen entry of path, or NULL. */
static const struct seen *seen_find(const heed_usdt *u, const char *path)
{
	size_t i;

	for (i = 0; i < u->nseen; i++)
		if (!strcmp(u->seen[i].path, path))
			return &u->seen[i];
	return NULL;
}

static int seen_add(heed_usdt *u, const char *path, int ops)
{
	struct seen *nv = realloc(u->seen, (u->nseen + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	u->seen = nv;
	nv[u->nseen].path = strdup(path);
	if (!nv[u->nseen].path)
		return -ENOMEM;
	nv[u->nseen++].ops = ops;
	return 0;
}

/* Says why spec i could not be planned (got, from plan_spec) in err; returns the
 * error to give. */
static int spec_error(const heed_usdt *u, size_t i, long got, char *err, size_t errlen)
{
	if (got == -EINVAL || got == -EDOM) {
		snprintf(err, errlen,
			 got == -EINVAL ? "--usdt %s: expected PROVIDER:NAME or "
					  "PROVIDER:NAME:argN (N from 0 to 11)"
					: "--usdt %s: no matching probe has such an argument",
			 u->specs[i]);
		return -EINVAL;
	}
	if (got == -EEXIST) {
		snprintf(err, errlen,
			 "--usdt %s: a probe it matches is traced already, by --ops or by "
			 "another --usdt counting its errors differently",
			 u->specs[i]);
		return -EINVAL;
	}
	if (got == -E2BIG)
		snprintf(err, errlen, "--usdt %s: more probes than the %zu slots", u->specs[i],
			 u->max_slots ? u->max_slots : (size_t)0xffff);
	return (int)got;
}

/* Plans --ops and the specs in the binaries of maps not seen before (each binary is
 * planned once, whichever processes map it); *has_ops is set when one of maps'
 * binaries, new or seen, has heed's probes. Spec errors are reported at open, where
 * maps first match. */
static int plan_maps(heed_usdt *u, const struct heed_maps *maps, int *has_ops, char *err,
		     size_t errlen)
{
	struct bin *bins = NULL;
	const struct seen *old;
	size_t nb = 0, i, k;
	long got;
	int rc, has;

	*has_ops = 0;
	rc = list_bins(maps, &bins, &nb);
	if (rc)
		return rc;
	for (i = k = 0; i < nb; i++) {
		old = seen_find(u, bins[i].path);
		if (old)
			*has_ops |= old->ops;
		else
			bins[k++] = bins[i];
	}
	nb = k;
	for (i = 0; i < nb && !rc; i++) {
		/* A file we cannot read has no probes we could attach to anyway. */
		if (heed_elf_usdt(bins[i].path, &bins[i].notes, &bins[i].n))
			bins[i].n = 0;
		has = 0;
		if (u->ops)
			rc = plan_ops(&bins[i], &u->plans, &u->src, &has);
		*has_ops |= has;
		if (!rc)
			rc = seen_add(u, bins[i].path, has);
	}
	for (i = 0; i < u->nspecs && !rc; i++) {
		got = plan_spec(u, bins, nb, u->specs[i], &u->plans);
		if (got < 0)
			rc = spec_error(u, i, got, err, errlen);
		else
			u->matched[i] |= got > 0;
	}
	free_bins(bins, nb);
	return rc;
}

struct plan_attach {
	heed_usdt *u;
	const struct plan *pl;
};

static struct bpf_link *attach_plan(pid_t pid, void *arg)
{
	const struct plan_attach *a = arg;
	const struct plan *pl = a->pl;
	const struct usdt_bpf *sk = a->u->skel;
	struct bpf_program *prog =
		pl->batch ? (a->u->per_pid ? sk->progs.heed_ops_pid : sk->progs.heed_ops_batch)
			  : (a->u->per_pid ? sk->progs.heed_usdt_pid : sk->progs.heed_usdt_hit);
	struct bpf_usdt_opts o = {.sz = sizeof(o), .usdt_cookie = pl->cookie};

	return bpf_program__attach_usdt(prog, pid, pl->path, pl->prov, pl->name, &o);
}

/* Attaches the plans not attached yet. */
static int attach_plans(heed_usdt *u, char *err, size_t errlen)
{
	pid_t bad = -1;
	int rc;

	for (; u->attached < u->plans.n; u->attached++) {
		struct plan_attach a = {u, &u->plans.v[u->attached]};

		rc = heed_links_attach(&u->links, &u->to, attach_plan, &a, &bad);
		if (rc) {
			snprintf(err, errlen, "cannot attach USDT probe %s:%s of %s%s: %s",
				 a.pl->prov, a.pl->name, a.pl->path,
				 u->to.n > 1 ? " in a process" : "", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Processes without heed probes named one by one at most. */
#define NO_OPS_NAMED 16

/* Names the processes of procs whose binaries have no heed probes in err. */
static void say_no_ops(heed_usdt *u, const struct heed_proc_maps *procs, size_t nprocs,
		       const int *has, char *err, size_t errlen)
{
	size_t i, len, without = 0;
	char comm[64];

	for (i = 0; i < nprocs; i++)
		without += !has[i];
	if (!without)
		return;
	/* -a, --comm, --cgroup: a count, not every process of the machine. */
	if (nprocs > NO_OPS_NAMED) {
		snprintf(err, errlen,
			 "--ops: heed probes in %zu of the %zu selected processes; processes "
			 "that map them later are attached then",
			 nprocs - without, nprocs);
		return;
	}
	if (nprocs == 1) {
		snprintf(err, errlen,
			 "--ops: pid %d has no heed probes (no USDT provider heed in its "
			 "executable or libraries); other modes go on",
			 (int)procs[0].pid);
		return;
	}
	len = (size_t)snprintf(err, errlen,
			       "--ops: no heed probes (no USDT provider heed in "
			       "the executable or libraries) in");
	for (i = 0; i < nprocs && len < errlen; i++) {
		if (has[i])
			continue;
		heed_target_comm(procs[i].pid, comm, sizeof(comm));
		len += (size_t)snprintf(err + len, errlen - len, " pid %d (%s)", (int)procs[i].pid,
					comm);
	}
	if (len < errlen)
		snprintf(err + len, errlen - len, "; %s",
			 u->src == HEED_OPS_NONE ? "other modes go on"
						 : "their heed operations are not counted");
}

int heed_usdt_open(const struct heed_pids *to, const struct heed_proc_maps *procs, size_t nprocs,
		   const heed_select *sel, int ops, int per_pid, char *const *specs, size_t nspecs,
		   int later, heed_usdt **out, enum heed_ops_source *src, char *err, size_t errlen)
{
	size_t i, op;
	heed_usdt *u;
	int rc, *has = NULL;

	*out = NULL;
	*src = HEED_OPS_NONE;
	err[0] = 0;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->ops = ops;
	u->per_pid = per_pid;
	u->specs = specs;
	u->nspecs = nspecs;
	u->matched = calloc(nspecs + 1, sizeof(*u->matched));
	has = calloc(nprocs + 1, sizeof(*has));
	if (!u->matched || !has || heed_pids_copy(&u->to, to)) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (op = 0; op < HEED_USDT_OPS; op++) {
		size_t slot;

		rc = slot_of(u, heed_ops[op].name, &slot);
		if (rc)
			goto cleanup;
	}
	for (i = 0; i < nprocs; i++) {
		rc = plan_maps(u, procs[i].maps, &has[i], err, errlen);
		if (rc)
			goto cleanup;
	}
	*src = u->src;
	for (i = 0; i < nspecs && !later; i++) {
		if (u->matched[i])
			continue;
		if (nprocs == 1)
			snprintf(err, errlen,
				 "--usdt %s: no such probe in pid %d's executable or libraries",
				 specs[i], (int)procs[0].pid);
		else
			snprintf(err, errlen,
				 "--usdt %s: no such probe in the executables or libraries of the "
				 "selected processes",
				 specs[i]);
		rc = -ENOENT;
		goto cleanup;
	}
	if (ops)
		say_no_ops(u, procs, nprocs, has, err, errlen);
	/* --ops alone waits for no library of one process: heed's probes come with the
	 * program; with every process, it waits for processes that map them later. */
	if (!u->plans.n && (!later || (!nspecs && to->n))) {
		rc = -ENOENT;
		goto cleanup;
	}
	u->skel = usdt_bpf__open();
	if (!u->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the usdt BPF object: %s", strerror(-rc));
		goto cleanup;
	}
	u->max_slots = u->h.n + SPARE_SLOTS;
	if (u->max_slots > 0x10000)
		u->max_slots = 0x10000;
	bpf_map__set_max_entries(u->skel->maps.hists, (__u32)u->max_slots);
	/* One program of each pair is loaded: without --per-pid, the code of before. */
	bpf_program__set_autoload(
		per_pid ? u->skel->progs.heed_ops_batch : u->skel->progs.heed_ops_pid, false);
	bpf_program__set_autoload(
		per_pid ? u->skel->progs.heed_usdt_hit : u->skel->progs.heed_usdt_pid, false);
	if (!per_pid)
		bpf_map__set_max_entries(u->skel->maps.pid_hists, 1);
	rc = heed_select_reuse(sel, u->skel->obj, err, errlen);
	if (rc)
		goto cleanup;
	u->skel->rodata->heed_notfound = HEED_NOTFOUND;
	u->skel->rodata->heed_keyexist = HEED_KEYEXIST;
	rc = usdt_bpf__load(u->skel);
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the usdt BPF programs: %s (run with -v for the "
			 "verifier log)",
			 strerror(-rc));
		goto cleanup;
	}
	rc = attach_plans(u, err, errlen);
	if (rc)
		goto cleanup;
	*out = u;
	u = NULL;
cleanup:
	free(has);
	heed_usdt_close(u);
	return rc;
}

int heed_usdt_refresh(heed_usdt *u, const struct heed_maps *maps, enum heed_ops_source *src,
		      char *err, size_t errlen)
{
	size_t before = u->attached, i, k, len = 0;
	int rc, has, dup;

	err[0] = 0;
	rc = plan_maps(u, maps, &has, err, errlen);
	if (!rc)
		rc = attach_plans(u, err, errlen);
	*src = u->src;
	if (rc)
		return rc;
	for (i = before; i < u->attached && len < errlen; i++) {
		for (k = before, dup = 0; k < i && !dup; k++)
			dup = !strcmp(u->plans.v[k].path, u->plans.v[i].path);
		if (!dup)
			len += (size_t)snprintf(err + len, errlen - len, "%s%s", len ? ", " : "",
						u->plans.v[i].path);
	}
	return (int)(u->attached - before);
}

const char *heed_usdt_unmatched(const heed_usdt *u)
{
	size_t i;

	for (i = 0; i < u->nspecs; i++)
		if (!u->matched[i])
			return u->specs[i];
	return NULL;
}

int heed_usdt_read(heed_usdt *u, const struct heed_named_hist **h, size_t *n, uint64_t *lost)
{
	int hfd = bpf_map__fd(u->skel->maps.hists), lfd = bpf_map__fd(u->skel->maps.lost), err;
	size_t i;

	err = heed_hists_read(&u->h, hfd);
	if (!err)
		err = heed_hists_add(&u->h, bpf_map__fd(u->skel->maps.held_hists), HEED_USDT_OPS);
	if (err)
		return err;
	for (i = 0; i < HEED_USDT_LOST_MAX; i++) {
		err = heed_percpu_sum(lfd, (__u32)i, &lost[i]);
		if (err)
			return err;
	}
	if (u->per_pid) {
		err = heed_proc_hists_read(&u->procs, bpf_map__fd(u->skel->maps.pid_hists), u->h.n);
		if (err)
			return err;
		lost[HEED_USDT_LOST_PID_FULL] = heed_proc_hists_fold(&u->h, &u->procs);
	}
	lost[HEED_USDT_LOST_SKIPPED] =
		u->per_pid
			? heed_prog_misses(bpf_program__fd(u->skel->progs.heed_ops_pid)) +
				  heed_prog_misses(bpf_program__fd(u->skel->progs.heed_usdt_pid))
			: heed_prog_misses(bpf_program__fd(u->skel->progs.heed_ops_batch)) +
				  heed_prog_misses(bpf_program__fd(u->skel->progs.heed_usdt_hit));
	*h = u->h.v;
	*n = u->h.n;
	return 0;
}

void heed_usdt_read_procs(const heed_usdt *u, const struct heed_proc_hist **v, size_t *n)
{
	*v = u->procs.v;
	*n = u->procs.n;
}

void heed_usdt_close(heed_usdt *u)
{
	if (!u)
		return;
	heed_links_destroy(&u->links);
	usdt_bpf__destroy(u->skel);
	heed_hists_free(&u->h);
	heed_proc_hists_free(&u->procs);
	plans_free(&u->plans);
	while (u->nseen)
		free(u->seen[--u->nseen].path);
	free(u->seen);
	free(u->to.v);
	free(u->matched);
	free(u);
}
