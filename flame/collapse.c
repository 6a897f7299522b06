/* collapse.c - stacks from `perf script` text and from bpftrace map output.
 *
 * perf script: the rules are stackcollapse-perf.pl's, so a graph drawn from here is
 * the one `perf script | stackcollapse-perf.pl | flamegraph.pl` draws. A sample is an
 * event line ("comm pid/tid [cpu] time: period event:"), then one line per frame,
 * leaf first ("addr sym+0xoff (dso)"), then a blank line; the stack is the process
 * name, then the frames root first. Each rule below names the regular expression of
 * that script it follows, since that is where the corner cases are decided.
 *
 * bpftrace: each map entry "@name[key]: count" whose key holds stacks, printed one
 * frame a line, leaf first, stacks separated by a line starting with ','.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame_int.h"

/* One frame of the sample being read: bytes in the sample's buffer. */
struct cframe {
	size_t off, len;
	uint32_t line; /* frames of one input line share it; lines arrive leaf first */
};

struct sample {
	char *buf; /* frame bytes */
	size_t len, cap;
	struct cframe *fr;
	size_t n, capn;
	uint32_t line;
	const char **ptr; /* argument arrays for heed_flame_add_stack */
	size_t *lens;
	size_t capp;
};

static void sample_reset(struct sample *s)
{
	s->len = 0;
	s->n = 0;
	s->line = 1;
}

static void sample_free(struct sample *s)
{
	free(s->buf);
	free(s->fr);
	free(s->ptr);
	free(s->lens);
}

/* Appends a frame (the bytes of s[0, n)) to the current input line's group. */
static int push_frame(struct sample *sm, const char *s, size_t n)
{
	if (sm->len + n > sm->cap) {
		size_t cap = (sm->len + n) * 2 + 256;
		char *b = realloc(sm->buf, cap);

		if (!b)
			return -ENOMEM;
		sm->buf = b;
		sm->cap = cap;
	}
	if (sm->n == sm->capn) {
		size_t cap = sm->capn ? sm->capn * 2 : 64;
		struct cframe *fr = realloc(sm->fr, cap * sizeof(*fr));

		if (!fr)
			return -ENOMEM;
		sm->fr = fr;
		sm->capn = cap;
	}
	memcpy(sm->buf + sm->len, s, n);
	sm->fr[sm->n++] = (struct cframe){sm->len, n, sm->line};
	sm->len += n;
	return 0;
}

/* Adds the sample: the frames of line 0 (the process name or, for bpftrace, every
 * frame) first, in order; then each input line's frames from the last line to the
 * first (perf prints the leaf first), each line's in their order. */
static int add_sample(heed_flame *f, struct sample *sm, double count)
{
	size_t k = 0, i = sm->n;

	if (sm->n > sm->capp) {
		const char **p = realloc(sm->ptr, sm->n * sizeof(*p));
		size_t *l = p ? realloc(sm->lens, sm->n * sizeof(*l)) : NULL;

		if (p)
			sm->ptr = p;
		if (!l)
			return -ENOMEM;
		sm->lens = l;
		sm->capp = sm->n;
	}
	for (size_t j = 0; j < sm->n; j++) {
		if (sm->fr[j].line == 0) {
			sm->ptr[k] = sm->buf + sm->fr[j].off;
			sm->lens[k++] = sm->fr[j].len;
		}
	}
	while (i > 0) {
		size_t b = i;

		if (sm->fr[i - 1].line == 0) {
			i--;
			continue;
		}
		while (b > 0 && sm->fr[b - 1].line == sm->fr[i - 1].line)
			b--;
		for (size_t j = b; j < i; j++, k++) {
			sm->ptr[k] = sm->buf + sm->fr[j].off;
			sm->lens[k] = sm->fr[j].len;
		}
		i = b;
	}
	return heed_flame_add_stack(f, sm->ptr, sm->lens, sm->n, count, -1);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_word(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_hex_lower(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static const char *find_bytes(const char *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle));
}

struct perf_state {
	heed_flame *f;
	const struct heed_flame_perf_opts *po;
	const char *name;
	struct sample sm;
	int have_pname;	 /* $pname defined: the sample is kept */
	int java;	 /* the process name starts with "java" */
	char pname[512]; /* the process name of the latest event line */
	size_t pname_len;
	double period;	 /* the sample's count */
	char *event;	 /* the event kept (first seen, or the filter) */
	int defaulted;	 /* event taken from the first sample, not given */
	int warned;	 /* "Filtering for events" said once */
	unsigned long n; /* samples added */
};

/* The event line regex ^(\S.+?)\s+(\d+)[/]*(\d+)*\s+ (the script escapes the '/'):
 * comm is the shortest prefix (two bytes at least) followed by blanks, a pid, an
 * optional "/tid" and a blank. */
static int parse_event_head(const char *s, size_t n, size_t *comm_len, const char **pid,
			    size_t *pid_len, const char **tid, size_t *tid_len)
{
	if (n < 2 || is_ws(s[0]))
		return -1;
	for (size_t p = 2; p < n; p++) {
		size_t i = p, d1, d2;

		if (!is_ws(s[i]))
			continue;
		while (i < n && is_ws(s[i]))
			i++;
		d1 = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == d1)
			continue;
		*pid = s + d1;
		*pid_len = i - d1;
		while (i < n && s[i] == '/')
			i++;
		d2 = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i >= n || !is_ws(s[i]))
			continue;
		*tid = i > d2 ? s + d2 : NULL;
		*tid_len = i - d2;
		*comm_len = p;
		return 0;
	}
	return -1;
}

/* The period/event regex /:\s*(\d+)*\s+(\S+):\s*$/: the last word ends in ':' (the
 * event), after blanks, optional digits (the period) and blanks that follow a ':'. */
static int parse_event_tail(const char *s, size_t n, const char **ev, size_t *ev_len,
			    const char **per, size_t *per_len)
{
	size_t e = n, b, w, d;

	while (e > 0 && is_ws(s[e - 1]))
		e--;
	b = e;
	while (b > 0 && !is_ws(s[b - 1]))
		b--;
	if (e - b < 2 || s[e - 1] != ':')
		return -1;
	w = b;
	while (w > 0 && is_ws(s[w - 1]))
		w--;
	if (w == b)
		return -1;
	*ev = s + b;
	*ev_len = e - b - 1;
	if (w > 0 && s[w - 1] == ':') {
		*per = NULL;
		*per_len = 0;
		return 0;
	}
	d = w;
	while (d > 0 && is_digit(s[d - 1]))
		d--;
	if (d == w)
		return -1;
	*per = s + d;
	*per_len = w - d;
	while (d > 0 && is_ws(s[d - 1]))
		d--;
	return d > 0 && s[d - 1] == ':' ? 0 : -1;
}

static double parse_digits(const char *s, size_t n)
{
	double v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Sets the process name: comm with blanks as '_', then "-PID" (--pid) or
 * "-PID/TID" (--tid). */
static int set_pname(struct perf_state *st, const char *comm, size_t cn, const char *pid, size_t pn,
		     const char *tid, size_t tn)
{
	char *buf = st->pname;
	size_t n = 0;

	if (cn > 256 || pn > 64 || tn > 64)
		return -1;
	for (size_t i = 0; i < cn; i++)
		buf[n++] = comm[i] == ' ' ? '_' : comm[i];
	if (st->po->tid || st->po->pid) {
		buf[n++] = '-';
		memcpy(buf + n, pid, pn);
		n += pn;
		if (st->po->tid) {
			buf[n++] = '/';
			memcpy(buf + n, tid, tn);
			n += tn;
		}
	}
	st->pname_len = n;
	st->java = n >= 4 && memcmp(buf, "java", 4) == 0;
	return 0;
}

/* Pushes the process name as the root frames (line 0); a ';' in it starts another
 * frame, as it would in the folded line the script prints. */
static int push_pname(struct perf_state *st)
{
	size_t start = 0;
	uint32_t line = st->sm.line;
	int err = 0;

	st->sm.line = 0;
	for (size_t i = 0; i <= st->pname_len && !err; i++) {
		if (i == st->pname_len || st->pname[i] == ';') {
			err = push_frame(&st->sm, st->pname + start, i - start);
			start = i + 1;
		}
	}
	st->sm.line = line;
	return err;
}

static int perf_event_line(struct perf_state *st, const char *s, size_t n)
{
	const char *pid, *tid, *ev, *per = NULL;
	size_t cn, pn, tn, evn, pern = 0;

	if (parse_event_head(s, n, &cn, &pid, &pn, &tid, &tn))
		return 1;
	/* Without a tid (or with tid "0", false in Perl), the number is the tid. */
	if (!tid || (tn == 1 && tid[0] == '0')) {
		tid = pid;
		tn = pn;
		pid = "?";
		pn = 1;
	}
	if (parse_event_tail(s, n, &ev, &evn, &per, &pern) != 0) {
		per = NULL;
	} else {
		if (!st->event) {
			st->event = strndup(ev, evn);
			if (!st->event)
				return -ENOMEM;
			st->defaulted = 1;
		} else if (strlen(st->event) != evn || memcmp(st->event, ev, evn) != 0) {
			if (st->defaulted && !st->warned) {
				flame_err(st->f, "%s: filtering for events of type: %s", st->name,
					  st->event);
				st->warned = 1;
			}
			return 0;
		}
	}
	if (set_pname(st, s, cn, pid, pn, tid, tn))
		return 1;
	/* A period of "" or "0" counts 1, as Perl's "not $period". */
	st->period = per && !(pern == 1 && per[0] == '0') ? parse_digits(per, pern) : 1;
	st->have_pname = 1;
	return 0;
}

/* One function of a frame line, tidied and annotated as stackcollapse-perf.pl does. */
static int perf_func(struct perf_state *st, const char *fn, size_t n, const char *pc, size_t pcn,
		     const char *mod, size_t modn, int inlined)
{
	char stack_buf[1024], *buf = stack_buf;
	size_t cap = sizeof(stack_buf), o = 0, cut;
	int err;

	if (n + modn + pcn + 16 > cap) {
		cap = n + modn + pcn + 16;
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	if (n == 9 && memcmp(fn, "[unknown]", 9) == 0) {
		/* Named after the dso's file name when known. */
		const char *nm = "unknown";
		size_t nn = 7;

		if (!(modn == 9 && memcmp(mod, "[unknown]", 9) == 0)) {
			const char *slash = mod;

			for (size_t i = 0; i < modn; i++) {
				if (mod[i] == '/')
					slash = mod + i + 1;
			}
			nm = slash;
			nn = modn - (size_t)(slash - mod);
		}
		buf[o++] = '[';
		memcpy(buf + o, nm, nn);
		o += nn;
		if (st->po->addrs) {
			buf[o++] = ' ';
			buf[o++] = '<';
			memcpy(buf + o, pc, pcn);
			o += pcn;
			buf[o++] = '>';
		}
		buf[o++] = ']';
	} else {
		memcpy(buf, fn, n);
		o = n;
	}
	for (size_t i = 0; i < o; i++) {
		if (buf[i] == ';')
			buf[i] = ':';
	}
	/* Everything from the first '(' on is noise (arguments), except in a Go method
	 * name like "net/http.(*Client).Do" and at "(anonymous namespace)". */
	{
		const char *go = find_bytes(buf, o, ".(");

		if (!(go && find_bytes(go + 2, o - (size_t)(go + 2 - buf), ").")))
			for (cut = 0; cut < o; cut++) {
				static const char anon[] = "(anonymous namespace)";

				if (buf[cut] == '(' &&
				    !(o - cut >= sizeof(anon) - 1 &&
				      memcmp(buf + cut, anon, sizeof(anon) - 1) == 0)) {
					o = cut;
					break;
				}
			}
	}
	cut = 0;
	for (size_t i = 0; i < o; i++) {
		if (buf[i] != '"' && buf[i] != '\'')
			buf[cut++] = buf[i];
	}
	o = cut;
	if (st->java && o > 0 && buf[0] == 'L' && memchr(buf, '/', o)) {
		memmove(buf, buf + 1, o - 1);
		o--;
	}
	if (inlined) {
		if (!find_bytes(buf, o, "_[i]")) {
			memcpy(buf + o, "_[i]", 4);
			o += 4;
		}
	} else if (st->po->kernel &&
		   ((modn > 0 && mod[0] == '[') ||
		    (modn >= 7 && memcmp(mod + modn - 7, "vmlinux", 7) == 0)) &&
		   !find_bytes(mod, modn, "unknown")) {
		memcpy(buf + o, "_[k]", 4);
		o += 4;
	} else if (st->po->jit && !find_bytes(buf, o, "_[j]")) {
		/* m:/tmp/perf-\d+\.map: anywhere in the dso */
		const char *p = mod;
		size_t left = modn;

		while ((p = find_bytes(p, left, "/tmp/perf-"))) {
			const char *d = p + 10, *end = mod + modn;

			while (d < end && is_digit(*d))
				d++;
			if (d > p + 10 && end - d >= 4 && memcmp(d, ".map", 4) == 0) {
				memcpy(buf + o, "_[j]", 4);
				o += 4;
				break;
			}
			p++;
			left = (size_t)(end - p);
		}
	}
	err = push_frame(&st->sm, buf, o);
	if (buf != stack_buf)
		free(buf);
	return err;
}

/* The frame line regex /^\s*(\w+)\s*(.+) \((.*)\)/: the dso is inside the last " ("
 * that a ')' follows, up to the last ')'; the symbol is what lies between. Returns
 * 1 when the line does not match. */
static int perf_frame_line(struct perf_state *st, const char *s, size_t n)
{
	size_t i = 0, pc0, pc1, close, q, f0;
	const char *fn;
	size_t fnn;

	while (i < n && is_ws(s[i]))
		i++;
	pc0 = i;
	while (i < n && is_word(s[i]))
		i++;
	pc1 = i;
	if (pc1 == pc0)
		return 1;
	for (close = n; close > pc1 && s[close - 1] != ')'; close--)
		;
	if (close == pc1)
		return 1;
	close--;
	for (q = close; q > pc1; q--) {
		if (s[q - 1] == ' ' && s[q] == '(' && q < close)
			break;
	}
	if (q == pc1)
		return 1;
	q--; /* the blank before '(' */
	while (i < n && is_ws(s[i]))
		i++;
	/* The symbol takes at least one byte: a blank of the run before it or, with none,
	 * the address's last character ("7f0d ([kernel])" is address 7f0, symbol d). */
	if (q == pc1) {
		if (pc1 - pc0 < 2)
			return 1;
		pc1--;
	}
	f0 = i < q ? i : q - 1;
	if (f0 < pc1)
		f0 = pc1;
	if (!st->have_pname)
		return 0;
	fn = s + f0;
	fnn = q - f0;
	/* Offsets (perf >= 4.8): s/\+0x[\da-f]+$// */
	{
		size_t e = fnn;

		while (e > 0 && is_hex_lower(fn[e - 1]))
			e--;
		if (e < fnn && e >= 3 && fn[e - 1] == 'x' && fn[e - 2] == '0' && fn[e - 3] == '+')
			fnn = e - 3;
	}
	/* A process name in parentheses is no frame. */
	if (fnn > 0 && fn[0] == '(')
		return 0;
	/* Older perf joins inlined functions with "->"; Perl's split drops trailing
	 * empty fields. */
	{
		size_t end = fnn, start = 0;
		int k = 0, err = 0;

		while (end >= 2 && fn[end - 1] == '>' && fn[end - 2] == '-')
			end -= 2;
		while (start <= end && end > 0 && !err) {
			const char *arrow = find_bytes(fn + start, end - start, "->");
			size_t e = arrow ? (size_t)(arrow - fn) : end;

			err = perf_func(st, fn + start, e - start, s + pc0, pc1 - pc0, s + q + 2,
					close - q - 2, k++ > 0);
			if (!arrow)
				break;
			start = e + 2;
		}
		st->sm.line++;
		return err;
	}
}

static int perf_end_sample(struct perf_state *st)
{
	int err;

	if (!st->have_pname)
		return 0;
	st->have_pname = 0;
	err = push_pname(st);
	if (!err)
		err = add_sample(st->f, &st->sm, st->period);
	sample_reset(&st->sm);
	if (err == 0)
		st->n++;
	return err;
}

static int perf_line(struct perf_state *st, const char *s, size_t n, unsigned long lineno)
{
	int r;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (n > 0 && s[0] == '#')
		return 0;
	if (n == 0)
		return perf_end_sample(st);
	r = perf_event_line(st, s, n);
	if (r <= 0)
		return r;
	r = perf_frame_line(st, s, n);
	if (r <= 0)
		return r;
	st->f->bad++;
	flame_err(st->f, "%s:%lu: unrecognized line skipped: \"%.*s%s\"", st->name, lineno,
		  (int)(n > 60 ? 60 : n), s, n > 60 ? "..." : "");
	return 0;
}

static int perf_cb(void *ctx, char *s, size_t n, unsigned long lineno)
{
	return perf_line(ctx, s, n, lineno);
}

long heed_flame_parse_perf(heed_flame *f, FILE *in, const char *name,
			   const struct heed_flame_perf_opts *po)
{
	static const struct heed_flame_perf_opts none;
	struct perf_state st = {.f = f, .po = po ? po : &none, .name = name ? name : "<stdin>"};
	long err;

	sample_reset(&st.sm);
	if (po && po->event && po->event[0]) {
		st.event = strdup(po->event);
		if (!st.event)
			return -ENOMEM;
	}
	err = flame_each_line(f, in, st.name, perf_cb, &st);
	/* As the script, a last sample without its blank line is not counted. */
	free(st.event);
	sample_free(&st.sm);
	return err < 0 ? err : (long)st.n;
}

struct bt_state {
	heed_flame *f;
	const char *name;
	struct sample sm; /* every frame on line 0: added in array order */
	int in_entry;
	int in_stack;
	size_t stack_first; /* index of the first frame of the stack being read */
	unsigned long n;
};

/* "]: N" ending an entry: the count, or -1. */
static int bt_count(const char *s, size_t n, double *v)
{
	size_t i, d;

	while (n > 0 && is_ws(s[n - 1]))
		n--;
	if (n < 4 || s[0] != ']' || s[1] != ':' || s[2] != ' ')
		return -1;
	i = 3;
	d = i;
	while (i < n && is_digit(s[i]))
		i++;
	if (i == d || i != n || i - d > 19)
		return -1;
	*v = parse_digits(s + d, i - d);
	return 0;
}

/* Pushes a frame with every ';' as ':' (a ';' would split it in a folded line). */
static int bt_push(struct bt_state *st, const char *s, size_t n)
{
	size_t first = st->sm.len;
	int err = push_frame(&st->sm, s, n);

	for (size_t i = first; !err && i < st->sm.len; i++) {
		if (st->sm.buf[i] == ';')
			st->sm.buf[i] = ':';
	}
	return err;
}

/* Key values ("comm, 1234, ") before, between or after the stacks become frames. */
static int bt_values(struct bt_state *st, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *comma = find_bytes(s + i, n - i, ", ");
		size_t e = comma ? (size_t)(comma - s) : n, b = i;

		while (b < e && is_ws(s[b]))
			b++;
		while (e > b && is_ws(s[e - 1]))
			e--;
		if (e > b) {
			int err = bt_push(st, s + b, e - b);

			if (err)
				return err;
		}
		i = comma ? (size_t)(comma - s) + 2 : n;
	}
	return 0;
}

/* A frame as bpftrace prints it: "func+off", "0xaddr" or, in perf mode,
 * "addr func+0xoff (dso)"; the offset is dropped so a function is one frame. */
static int bt_frame(struct bt_state *st, const char *s, size_t n)
{
	const char *sp = memchr(s, ' ', n);
	size_t e;

	if (sp && n > 2 && s[n - 1] == ')') {
		const char *open = NULL;

		for (const char *p = sp; p + 1 < s + n; p++) {
			if (p[0] == ' ' && p[1] == '(')
				open = p;
		}
		/* "addr sym (dso)" keeps sym; "addr (dso)", with none, its address. */
		if (open && open > sp) {
			s = sp + 1;
			n = (size_t)(open - s);
		} else if (open) {
			n = (size_t)(sp - s);
		}
	}
	e = n;
	while (e > 0 && is_hex_lower(s[e - 1]))
		e--;
	if (e >= 3 && e < n && s[e - 1] == 'x' && s[e - 2] == '0' && s[e - 3] == '+') {
		n = e - 3;
	} else {
		e = n;
		while (e > 0 && is_digit(s[e - 1]))
			e--;
		if (e >= 1 && e < n && s[e - 1] == '+')
			n = e - 1;
	}
	return bt_push(st, s, n);
}

/* The stack just read was printed leaf first: reverse it in place. */
static void bt_close_stack(struct bt_state *st)
{
	if (!st->in_stack)
		return;
	for (size_t a = st->stack_first, b = st->sm.n; a + 1 < b; a++, b--) {
		struct cframe t = st->sm.fr[a];

		st->sm.fr[a] = st->sm.fr[b - 1];
		st->sm.fr[b - 1] = t;
	}
	st->in_stack = 0;
}

/* Values up to "]: " (or the end of the line, when the key goes on). Returns the
 * offset of "]: ", or n when the entry goes on, or (size_t)-1 on error. */
static size_t bt_key_part(struct bt_state *st, const char *s, size_t i, size_t n)
{
	const char *end = find_bytes(s + i, n - i, "]: ");
	size_t e = end ? (size_t)(end - s) : n;

	if (bt_values(st, s + i, e - i))
		return (size_t)-1;
	return e;
}

static int bt_line(void *ctx, char *s, size_t n, unsigned long lineno)
{
	struct bt_state *st = ctx;
	size_t i = 0;
	double count;
	int err;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (!st->in_entry) {
		const char *open;

		if (n < 2 || s[0] != '@')
			return 0;
		open = memchr(s, '[', n);
		if (!open)
			return 0;
		for (const char *p = s + 1; p < open; p++) {
			if (!is_word(*p))
				return 0;
		}
		sample_reset(&st->sm);
		st->sm.line = 0;
		st->in_entry = 1;
		st->in_stack = 0;
		i = bt_key_part(st, s, (size_t)(open + 1 - s), n);
	} else {
		while (i < n && is_ws(s[i]))
			i++;
		if (i < n && s[i] != ',' && s[i] != ']') {
			if (!st->in_stack) {
				st->in_stack = 1;
				st->stack_first = st->sm.n;
			}
			return bt_frame(st, s + i, n - i);
		}
		bt_close_stack(st);
		if (i < n && s[i] == ',')
			i = bt_key_part(st, s, i + 1, n);
	}
	if (i == (size_t)-1)
		return -ENOMEM;
	if (i == n)
		return 0;
	st->in_entry = 0;
	if (bt_count(s + i, n - i, &count)) {
		st->f->bad++;
		flame_err(st->f, "%s:%lu: no count after the key; entry skipped: \"%.*s\"",
			  st->name, lineno, (int)(n > 60 ? 60 : n), s);
		return 0;
	}
	err = add_sample(st->f, &st->sm, count);
	if (err == 0)
		st->n++;
	return err;
}

long heed_flame_parse_bpftrace(heed_flame *f, FILE *in, const char *name)
{
	struct bt_state st = {.f = f, .name = name ? name : "<stdin>"};
	long err = flame_each_line(f, in, st.name, bt_line, &st);

	sample_free(&st.sm);
	return err < 0 ? err : (long)st.n;
}
