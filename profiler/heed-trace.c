/* heed-trace - eBPF tracing of a running process: per-operation latency histograms
 * from heed's USDT probes, any USDT probe, per-function latency, on- and off-CPU
 * stacks symbolized with libdw. See profiler/README.md and ARCHITECTURE.md. */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "func.h"
#include "json.h"
#include "parse.h"
#include "sampler.h"
#include "stacks.h"
#include "symbolize.h"
#include "target.h"
#include "trace.h"
#include "usdt.h"

#define MAX_SPECS 64
/* The longest -p list attached process by process (more: in every process). */
#define PER_PID_LINKS 8
#define TOP_SHOWN     15
#define TOP_JSON      50

struct opts {
	pid_t pid, tid; /* tid: -t, the only thread whose stacks are sampled */
	/* Many processes (scope): -a, -p A,B..., --cgroup, --comm; pid is 0 then. */
	int all, scope, per_pid;
	pid_t *pids;
	size_t npids;
	const char *cgroup, *comm;
	int ops, profile, offcpu, verbose, debuginfod;
	unsigned int hz;
	struct heed_sampler_opts unwind; /* --unwind MODE[,BYTES] */
	double duration, interval;
	char *usdt[MAX_SPECS], *func[MAX_SPECS];
	size_t nusdt, nfunc;
	const char *folded, *flame, *json, *pprof;
	const char *out_dir; /* -i SEC --out-dir DIR [--keep N]: one file set per interval */
	unsigned int keep;
	char **cmd;
	struct heed_slow_spec slow[HEED_SLOW_MAX];
	size_t nslow;
	const char *slow_folded, *slow_flame, *slow_diff;
};

/* A file by identity, and the one path heed-trace reads and attaches it by. */
struct file_id {
	dev_t dev;
	ino_t ino;
	char *path;
};

/* --slow: what blocked time waited for (blocked_by). */
enum { BLOCK_FAULT, BLOCK_LOCK, BLOCK_IO, BLOCK_OTHER, BLOCK_MAX };

struct state {
	struct opts o;
	char comm[64];
	char what[256]; /* what is traced, for messages: "pid 42 (name)", "all tasks" */
	int spawned;
	struct heed_maps maps;	 /* snapshot taken at attach */
	struct heed_maps amaps;	 /* maps with each executable file under the path
				    file_path gives it: what --ops, --usdt, --func,
				    --slow and the watch attach to */
	heed_symcache *symcache; /* the files' symbols, shared by every symbolizer */
	heed_usdt *usdt;
	enum heed_ops_source src;
	heed_func *func;
	heed_watch *watch; /* exec and dlopen: new code to attach to */
	heed_select *sel;  /* the tasks traced (select.h) */
	/* o.scope: --ops, --usdt, --func and the watch are attached in every process
	 * mapping their files (or the few listed by -p), the kernel counting the
	 * selected ones; procs holds the selected processes' maps at attach (pmaps), whose
	 * binaries are the ones attached first. */
	struct heed_proc_maps *procs;
	struct heed_maps *pmaps;
	size_t nprocs;
	struct file_id *files; /* the mapped files seen, each with the path it goes by */
	size_t nfiles;
	int late_failed; /* attaching to such code failed: the exit status says so */
	heed_sampler *prof, *off;
	heed_slow *slow;
	double elapsed;
	/* The histograms of the last read_hists, NULL when it failed; owned by usdt
	 * and func. Text and JSON print the same read. */
	const struct heed_named_hist *uh, *fh;
	size_t nuh, nfh;
	/* --per-pid: the same read by process, sorted by pid (owned by usdt and func). */
	const struct heed_proc_hist *up, *fp;
	size_t nup, nfp;
	uint64_t usdt_lost[HEED_USDT_LOST_MAX], func_lost[HEED_FUNC_LOST_MAX];
	struct heed_stacks on_stacks, off_stacks;
	struct heed_sampler_stats on_st, off_st;
	struct heed_folded on_top, off_top; /* their functions ranked */
	/* --slow: the stacks of [fast, slow] operations (ns), each op's counters and
	 * what the samplers held per op. */
	struct heed_stacks slow_stacks[2];
	struct heed_slow_op slow_ops[HEED_SLOW_MAX];
	struct heed_sampler_slow slow_on, slow_off;
	uint64_t slow_by[HEED_SLOW_MAX][BLOCK_MAX]; /* each op's slow ops' blocked ns */
	heed_pprof *on_pp, *off_pp;		    /* --pprof: the same stacks with addresses */
	int64_t interval_start; /* --out-dir: wall ns the current interval began */
	char **written;		/* --out-dir: the intervals' file names, oldest first */
	size_t nwritten;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("heed-trace: ", stderr);
	va_start(ap, fmt);
	/* va_start is right above: the analyzer loses it through the attribute. */
	vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	fputc('\n', stderr);
}

static int verbose_libbpf;

/* libbpf speaks only with -v: its warnings repeat what our sentences say. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return verbose_libbpf ? vfprintf(stderr, fmt, ap) : 0;
}

static void usage(FILE *f)
{
	fputs("usage: heed-trace -p PID [mode...] [output...]\n"
	      "       heed-trace -t TID [--profile] [--offcpu] [output...]\n"
	      "       heed-trace [mode...] [output...] -- CMD ARGS\n"
	      "       heed-trace {-a | -p PID,PID... | --cgroup PATH | --comm NAME}...\n"
	      "                  [--profile] [--offcpu] [--per-pid] [--ops] [--usdt SPEC]\n"
	      "                  [--func GLOB] [output...]\n"
	      "modes (default --ops --profile):\n"
	      "  --ops               latency histogram per heed operation (USDT probes)\n"
	      "  --usdt PROV:NAME[:argN]\n"
	      "                      count (time start/done pairs of) USDT probes; NAME a glob;\n"
	      "                      argN: the argument (from 0) whose non-zero values are errors\n"
	      "  --func GLOB         latency per matching function, LIB:GLOB for a library\n"
	      "  --profile [-F HZ]   on-CPU stack samples (default 99 Hz)\n"
	      "  --offcpu            off-CPU time by stack\n"
	      "  --unwind MODE[,BYTES]  user stacks of --profile/--offcpu: dwarf (copy BYTES\n"
	      "                      of stack per sample, default 32768, unwind with the\n"
	      "                      objects' CFI), fp (frame pointers), auto (dwarf)\n"
	      "  --debuginfod        fetch missing debug info from the DEBUGINFOD_URLS servers\n"
	      "  --slow OP:THRESHOLD the stacks of operations slower than THRESHOLD (100us,\n"
	      "                      5ms, or pNN of the op's live histogram); OP: get put del\n"
	      "                      cursor commit sync, PROV:NAME (a NAME__start/NAME__done\n"
	      "                      USDT pair) or func:NAME; repeatable; adds --profile\n"
	      "                      --offcpu when neither is given\n"
	      "  -t TID              instead of -p: sample only thread TID (--profile, the\n"
	      "                      default, and --offcpu), filtered in the kernel\n"
	      "many processes (default --profile; the filters are applied in the kernel\n"
	      "and combine, all must match; --ops, --usdt, --func attach to the binaries of\n"
	      "the selected processes, ones mapped or started later too):\n"
	      "  -a                  every task: processes, kernel threads, idle (swapper)\n"
	      "  -p PID,PID...       these processes, every thread (not their children);\n"
	      "                      tracing ends when all have exited\n"
	      "  --cgroup PATH       the tasks of a cgroup v2 directory and of its children\n"
	      "  --comm NAME         the threads named NAME (as ps -L -o comm shows)\n"
	      "  --per-pid           root frame comm-PID instead of comm; --ops, --usdt and\n"
	      "                      --func histograms per process too (== comm-PID ==)\n"
	      "output:\n"
	      "  -d SEC              stop after SEC seconds (default: Ctrl-C or target exit)\n"
	      "  -i SEC              print the histograms every SEC seconds\n"
	      "  --out-dir DIR       with -i: write each interval's stacks to DIR as\n"
	      "                      heed-YYYYmmddTHHMMSSZ.pb.gz and .folded (start time;\n"
	      "                      \"-2\", \"-3\" after it for another in that second)\n"
	      "  --keep N            keep the N newest intervals in --out-dir (default 10)\n"
	      "  --folded FILE       folded stacks: on-CPU ones, or off-CPU ones without\n"
	      "                      --profile (with both, off-CPU ones go to FILE.offcpu)\n"
	      "  --flame FILE.svg    flame graph of the on-CPU stacks\n"
	      "  --slow-folded FILE  folded stacks of the slow operations, in ns, off-CPU ones\n"
	      "                      under a [off-cpu] (blocked) or [runqueue] (waiting for a\n"
	      "                      CPU) root; the fast ones' go to FILE.fast\n"
	      "  --slow-flame FILE.svg  flame graph of the slow operations' stacks, blocked\n"
	      "                      ones in blues, waiting for a CPU in purples\n"
	      "  --slow-diff FILE.svg   differential flame graph, fast to slow operations,\n"
	      "                      each side's ns divided by its number of operations\n"
	      "  --pprof FILE        the stacks as a gzipped pprof profile.proto, on-CPU or\n"
	      "                      off-CPU ones as --folded (both: off-CPU to FILE.offcpu)\n"
	      "  --json FILE         everything, as documented in profiler/README.md\n"
	      "  -v                  libbpf and verifier messages\n",
	      f);
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	double v;

	if (heed_parse_double(s, &v) || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

enum {
	OPT_OPS = 256,
	OPT_USDT,
	OPT_FUNC,
	OPT_PROFILE,
	OPT_OFFCPU,
	OPT_FOLDED,
	OPT_FLAME,
	OPT_JSON,
	OPT_PPROF,
	OPT_OUT_DIR,
	OPT_KEEP,
	OPT_UNWIND,
	OPT_DEBUGINFOD,
	OPT_SLOW,
	OPT_SLOW_FOLDED,
	OPT_SLOW_FLAME,
	OPT_SLOW_DIFF,
	OPT_CGROUP,
	OPT_COMM,
	OPT_PER_PID,
};

/* "fp", "dwarf", "auto", optionally ",BYTES" (dwarf and auto). */
static int parse_unwind(const char *arg, struct heed_sampler_opts *u)
{
	static const char *const names[] = {
		[HEED_UNWIND_AUTO] = "auto",
		[HEED_UNWIND_FP] = "fp",
		[HEED_UNWIND_DWARF] = "dwarf",
	};
	size_t len = strcspn(arg, ","), i;
	double v;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(arg, names[i], len))
			break;
	if (i == sizeof(names) / sizeof(names[0]))
		return -EINVAL;
	u->unwind = (enum heed_unwind)i;
	if (!arg[len])
		return 0;
	if (u->unwind == HEED_UNWIND_FP ||
	    parse_num(arg + len + 1, 4096, HEED_STACK_COPY_MAX, &v) || v != (double)(int)v)
		return -EINVAL;
	u->stack_bytes = (unsigned int)v;
	return 0;
}

/* The process (Tgid) of thread tid, or -1. */
static pid_t thread_process(pid_t tid)
{
	char path[64], line[256];
	long tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *end;

		if (strncmp(line, "Tgid:", 5) != 0)
			continue;
		errno = 0;
		tgid = strtol(line + 5, &end, 10);
		if (errno || end == line + 5 || (*end != '\n' && *end != 0))
			tgid = -1;
		break;
	}
	fclose(f);
	return tgid > 0 && tgid <= INT_MAX ? (pid_t)tgid : -1;
}

static int check_more(struct opts *o);

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"ops", no_argument, NULL, OPT_OPS},
		{"usdt", required_argument, NULL, OPT_USDT},
		{"func", required_argument, NULL, OPT_FUNC},
		{"profile", no_argument, NULL, OPT_PROFILE},
		{"offcpu", no_argument, NULL, OPT_OFFCPU},
		{"folded", required_argument, NULL, OPT_FOLDED},
		{"flame", required_argument, NULL, OPT_FLAME},
		{"json", required_argument, NULL, OPT_JSON},
		{"pprof", required_argument, NULL, OPT_PPROF},
		{"out-dir", required_argument, NULL, OPT_OUT_DIR},
		{"keep", required_argument, NULL, OPT_KEEP},
		{"unwind", required_argument, NULL, OPT_UNWIND},
		{"debuginfod", no_argument, NULL, OPT_DEBUGINFOD},
		{"slow", required_argument, NULL, OPT_SLOW},
		{"slow-folded", required_argument, NULL, OPT_SLOW_FOLDED},
		{"slow-flame", required_argument, NULL, OPT_SLOW_FLAME},
		{"slow-diff", required_argument, NULL, OPT_SLOW_DIFF},
		{"cgroup", required_argument, NULL, OPT_CGROUP},
		{"comm", required_argument, NULL, OPT_COMM},
		{"per-pid", no_argument, NULL, OPT_PER_PID},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c, modes = 0;
	double v;

	o->hz = 99;
	o->keep = 10;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+ap:t:F:d:i:vh", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_num(optarg, 1, INT_MAX, &v) || v != (double)(int)v) {
				die_msg("-t %s: not a thread id", optarg);
				return -EINVAL;
			}
			o->tid = (pid_t)v;
			break;
		case 'p': {
			char msg[256];

			free(o->pids);
			if (heed_select_parse_ids("-p", optarg, &o->pids, &o->npids, msg,
						  sizeof(msg))) {
				die_msg("%s", msg);
				return -EINVAL;
			}
			break;
		}
		case 'a':
			o->all = 1;
			break;
		case OPT_CGROUP:
			o->cgroup = optarg;
			break;
		case OPT_COMM:
			o->comm = optarg;
			break;
		case OPT_PER_PID:
			o->per_pid = 1;
			break;
		case 'F':
			if (parse_num(optarg, 1, 10000, &v)) {
				die_msg("-F %s: expected a frequency from 1 to 10000 Hz", optarg);
				return -EINVAL;
			}
			o->hz = (unsigned int)v;
			break;
		case 'd':
		case 'i':
			if (parse_num(optarg, 0.001, 1e7, &v)) {
				die_msg("-%c %s: expected a positive number of seconds", c, optarg);
				return -EINVAL;
			}
			*(c == 'd' ? &o->duration : &o->interval) = v;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_OPS:
			o->ops = 1;
			modes++;
			break;
		case OPT_PROFILE:
			o->profile = 1;
			modes++;
			break;
		case OPT_OFFCPU:
			o->offcpu = 1;
			modes++;
			break;
		case OPT_USDT:
		case OPT_FUNC:
			if ((c == OPT_USDT ? o->nusdt : o->nfunc) == MAX_SPECS) {
				die_msg("at most %d --usdt and %d --func", MAX_SPECS, MAX_SPECS);
				return -EINVAL;
			}
			if (c == OPT_USDT)
				o->usdt[o->nusdt++] = optarg;
			else
				o->func[o->nfunc++] = optarg;
			modes++;
			break;
		case OPT_FOLDED:
			o->folded = optarg;
			break;
		case OPT_FLAME:
			o->flame = optarg;
			break;
		case OPT_JSON:
			o->json = optarg;
			break;
		case OPT_PPROF:
			o->pprof = optarg;
			break;
		case OPT_OUT_DIR:
			o->out_dir = optarg;
			break;
		case OPT_KEEP:
			if (parse_num(optarg, 1, 1000000, &v) || v != (double)(int)v) {
				die_msg("--keep %s: expected a number of intervals from 1", optarg);
				return -EINVAL;
			}
			o->keep = (unsigned int)v;
			break;
		case OPT_DEBUGINFOD:
			o->debuginfod = 1;
			break;
		case OPT_SLOW: {
			char msg[512];

			if (o->nslow == HEED_SLOW_MAX) {
				die_msg("at most %d --slow", HEED_SLOW_MAX);
				return -EINVAL;
			}
			if (heed_slow_parse(optarg, &o->slow[o->nslow], msg, sizeof(msg))) {
				die_msg("%s", msg);
				return -EINVAL;
			}
			o->nslow++;
			modes++;
			break;
		}
		case OPT_SLOW_FOLDED:
			o->slow_folded = optarg;
			break;
		case OPT_SLOW_FLAME:
			o->slow_flame = optarg;
			break;
		case OPT_SLOW_DIFF:
			o->slow_diff = optarg;
			break;
		case OPT_UNWIND:
			if (parse_unwind(optarg, &o->unwind)) {
				die_msg("--unwind %s: expected fp, dwarf or auto, dwarf and auto "
					"with ,BYTES from 4096 to %d",
					optarg, HEED_STACK_COPY_MAX);
				return -EINVAL;
			}
			break;
		case ':':
			die_msg("option '%s' needs an argument; see heed-trace --help",
				argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt && optopt < 256)
				die_msg("unknown option '-%c'; see heed-trace --help", optopt);
			else
				die_msg("unknown option '%s'; see heed-trace --help",
					argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0) {
			die_msg("unexpected argument '%s'; a command goes after '--'",
				argv[optind]);
			return -EINVAL;
		}
		o->cmd = argv + optind;
	}
	o->scope = o->all || o->npids > 1 || o->cgroup || o->comm;
	if (o->all && o->npids) {
		die_msg("-a traces every process; give -a or -p, not both");
		return -EINVAL;
	}
	if (o->scope && (o->cmd || o->tid)) {
		die_msg(o->cmd ? "-- CMD traces one command; -a, --cgroup, --comm and -p lists "
				 "select running processes: give one or the other"
			       : "-t TID selects one thread; it cannot be combined with -a, "
				 "--cgroup, --comm or a -p list");
		return -EINVAL;
	}
	if (o->scope && o->nslow) {
		die_msg("--slow judges the operations of one process: give -p PID or -- CMD");
		return -EINVAL;
	}
	if (o->scope) {
		if (!modes)
			o->profile = 1;
		return check_more(o);
	}
	if (o->npids == 1)
		o->pid = o->pids[0];
	if (o->tid) {
		if (o->pid || o->cmd) {
			die_msg("-t %d: give -t TID alone, without -p or -- CMD", (int)o->tid);
			return -EINVAL;
		}
		if (o->ops || o->nusdt || o->nfunc) {
			die_msg("-t %d: --ops, --usdt and --func trace the whole process; -t "
				"selects the stacks of one thread (--profile, --offcpu)",
				(int)o->tid);
			return -EINVAL;
		}
		o->pid = thread_process(o->tid);
		if (o->pid <= 0) {
			die_msg("-t %d: no such thread", (int)o->tid);
			return -ESRCH;
		}
		if (!modes)
			o->profile = modes = 1;
	}
	if (!o->pid == !o->cmd) {
		die_msg(o->pid ? "give -p PID or -- CMD, not both"
			       : "nothing to trace: give -p PID, -a or -- CMD ARGS");
		return -EINVAL;
	}
	if (!modes)
		o->ops = o->profile = 1;
	return check_more(o);
}

/* What parse_args checks of every trace, one process or many. */
static int check_more(struct opts *o)
{
	if (o->nslow && !o->profile && !o->offcpu)
		o->profile = o->offcpu = 1;
	if ((o->slow_folded || o->slow_flame || o->slow_diff) && !o->nslow) {
		die_msg("--slow-folded, --slow-flame and --slow-diff need --slow");
		return -EINVAL;
	}
	/* An interval hands the samplers' counted stacks over while a thread's
	 * held stacks of an unfinished operation still point into them. */
	if (o->nslow && o->out_dir) {
		die_msg("--slow and --out-dir cannot be combined: --slow judges whole operations, "
			"which may span intervals");
		return -EINVAL;
	}
	if (o->out_dir && (o->interval < 1 || (!o->profile && !o->offcpu))) {
		die_msg("--out-dir %s: needs -i SEC of at least 1 (one file set per second at "
			"most) and --profile or --offcpu",
			o->out_dir);
		return -EINVAL;
	}
	if (o->pprof && !o->profile && !o->offcpu) {
		die_msg("--pprof %s: a profile needs stacks: add --profile or --offcpu", o->pprof);
		return -EINVAL;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const usdt_lost_names[HEED_USDT_LOST_MAX] = HEED_USDT_LOST_NAMES;
static const char *const func_lost_names[HEED_FUNC_LOST_MAX] = HEED_FUNC_LOST_NAMES;

static const char *src_name(enum heed_ops_source s)
{
	switch (s) {
	case HEED_OPS_BATCH:
		return "heed:ops__batch";
	case HEED_OPS_START_DONE:
		return "heed:*__start/*__done";
	default:
		return "none";
	}
}

/* Reads the histograms and lost counters of the USDT and func features into s.
 * Returns 0 or the read error (then s->uh and s->fh are NULL). */
static int read_hists(struct state *s)
{
	int err = 0;

	s->uh = s->fh = NULL;
	s->nuh = s->nfh = s->nup = s->nfp = 0;
	if (s->usdt)
		err = heed_usdt_read(s->usdt, &s->uh, &s->nuh, s->usdt_lost);
	if (!err && s->usdt)
		heed_usdt_read_procs(s->usdt, &s->up, &s->nup);
	if (!err && s->func)
		err = heed_func_read(s->func, &s->fh, &s->nfh, s->func_lost);
	if (!err && s->func)
		heed_func_read_procs(s->func, &s->fp, &s->nfp);
	if (err) {
		s->uh = s->fh = NULL;
		s->nup = s->nfp = 0;
	}
	return err;
}

/* --per-pid: one process's histograms, u (its --ops and --usdt slots) and f (its
 * --func slots), each nu and nf long. */
typedef int (*proc_visit)(const struct state *s, void *arg, pid_t pid, const char *comm,
			  const struct heed_proc_hist *u, size_t nu, const struct heed_proc_hist *f,
			  size_t nf);

/* Calls fn for each process of the last read_hists's per-process histograms, by pid;
 * stops at the first non-zero return and returns it. */
static int each_proc(const struct state *s, proc_visit fn, void *arg)
{
	size_t iu = 0, jf = 0, ku, kf;
	const char *comm;
	pid_t pid;
	int err;

	while (iu < s->nup || jf < s->nfp) {
		if (iu < s->nup && (jf == s->nfp || s->up[iu].pid <= s->fp[jf].pid)) {
			pid = s->up[iu].pid;
			comm = s->up[iu].comm;
		} else {
			pid = s->fp[jf].pid;
			comm = s->fp[jf].comm;
		}
		for (ku = iu; ku < s->nup && s->up[ku].pid == pid; ku++)
			;
		for (kf = jf; kf < s->nfp && s->fp[kf].pid == pid; kf++)
			;
		err = fn(s, arg, pid, comm, s->up + iu, ku - iu, s->fp + jf, kf - jf);
		if (err)
			return err;
		iu = ku;
		jf = kf;
	}
	return 0;
}

/* Prints one process's histograms under a "== comm-PID ==" header, named as in the
 * totals: ops, then USDT probes (their slot order), then functions. */
static int print_proc(const struct state *s, void *arg, pid_t pid, const char *comm,
		      const struct heed_proc_hist *u, size_t nu, const struct heed_proc_hist *f,
		      size_t nf)
{
	FILE *out = arg;
	size_t i;

	fprintf(out, "== %s-%d ==\n", comm, (int)pid);
	for (i = 0; s->uh && i < nu; i++)
		heed_hist_print(out, s->uh[u[i].slot].name, &u[i].h);
	for (i = 0; s->fh && i < nf; i++)
		heed_hist_print(out, s->fh[f[i].slot].name, &f[i].h);
	return 0;
}

/* Prints the histograms of the last read_hists. */
static void print_hists(const struct state *s, FILE *f)
{
	size_t i;

	if (s->uh) {
		if (s->src != HEED_OPS_NONE && s->o.scope) {
			fprintf(f, "== heed ops of the selected processes, from %s ==\n",
				src_name(s->src));
			for (i = 0; i < HEED_USDT_OPS; i++)
				heed_hist_print(f, s->uh[i].name, &s->uh[i].h);
		} else if (s->src != HEED_OPS_NONE) {
			fprintf(f, "== heed ops of pid %d (%s), from %s ==\n", (int)s->o.pid,
				s->comm, src_name(s->src));
			for (i = 0; i < HEED_USDT_OPS; i++)
				heed_hist_print(f, s->uh[i].name, &s->uh[i].h);
		}
		if (s->nuh > HEED_USDT_OPS)
			fprintf(f, "== USDT probes ==\n");
		for (i = HEED_USDT_OPS; i < s->nuh; i++)
			heed_hist_print(f, s->uh[i].name, &s->uh[i].h);
	}
	if (s->fh) {
		fprintf(f, "== functions ==\n");
		for (i = 0; i < s->nfh; i++)
			heed_hist_print(f, s->fh[i].name, &s->fh[i].h);
	}
	each_proc(s, print_proc, f);
}

static void print_lost(struct state *s, FILE *f)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < HEED_USDT_LOST_MAX; i++)
		total += s->usdt_lost[i];
	for (i = 0; i < HEED_FUNC_LOST_MAX; i++)
		total += s->func_lost[i];
	if (!s->usdt && !s->func)
		return;
	fprintf(f, "lost events: %" PRIu64, total);
	for (i = 0; i < HEED_USDT_LOST_MAX; i++)
		if (s->usdt_lost[i])
			fprintf(f, ", %s %" PRIu64, usdt_lost_names[i], s->usdt_lost[i]);
	for (i = 0; i < HEED_FUNC_LOST_MAX; i++)
		if (s->func_lost[i])
			fprintf(f, ", %s %" PRIu64, func_lost_names[i], s->func_lost[i]);
	fputs("\n\n", f);
}

static void print_stack_summary(FILE *f, const char *what, const char *unit,
				const struct heed_sampler_stats *st, const struct heed_stacks *sk,
				const struct heed_folded *top)
{
	size_t i;

	fprintf(f,
		"== %s: %" PRIu64 " %s in %zu stacks; user stacks lost %" PRIu64
		", truncated %" PRIu64 "; kernel stacks lost %" PRIu64 "; dropped %" PRIu64 " ==\n",
		what, sk->total, unit, sk->n, st->u_failed, st->truncated, st->k_failed,
		st->dropped);
	if (st->procs_dropped)
		fprintf(f,
			"== %" PRIu64 " samples of processes beyond the %d whose state is kept: "
			"kernel frames only ==\n",
			st->procs_dropped, HEED_SAMPLER_PROCS_DEFAULT);
	if (st->maps_lost || st->maps_untracked)
		fprintf(f,
			"== mappings told by the kernel: %" PRIu64 " records lost, %" PRIu64
			" programs or mappings not tracked: their processes' user frames are lost "
			"if they exit before their samples are read ==\n",
			st->maps_lost, st->maps_untracked);
	if (!sk->total)
		return;
	fprintf(f, "%8s %8s  %s\n", "self%", "total%", "function");
	for (i = 0; i < top->nfuncs && i < TOP_SHOWN; i++)
		fprintf(f, "%7.2f%% %7.2f%%  %s\n", 100.0 * top->funcs[i].self / sk->total,
			100.0 * top->funcs[i].total / sk->total, top->funcs[i].name);
	fputc('\n', f);
}

static json_t *json_hists(const struct heed_named_hist *h, size_t from, size_t to)
{
	json_t *o = json_object();
	size_t i;

	for (i = from; o && i < to; i++)
		if (heed_json_set(o, h[i].name, heed_hist_json(&h[i].h))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* Many processes: the count of each root frame (process name, comm-PID with
 * --per-pid) as {"name": count}. */
static json_t *json_roots(const struct heed_stacks *sk)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < sk->n; i++) {
		const char *f = sk->v[i].folded, *semi = strchr(f, ';');
		char name[80], *c;
		json_t *old;

		snprintf(name, sizeof(name), "%.*s", (int)(semi ? semi - f : (long)strlen(f)), f);
		/* A task name is any bytes: made ASCII here, so that the key looked up
		 * is the key set (heed_json_set would rewrite a non-UTF-8 one). */
		for (c = name; *c; c++)
			if ((unsigned char)*c >= 0x80)
				*c = '?';
		old = json_object_get(o, name);
		if (heed_json_set(o, name,
				  heed_json_u64(sk->v[i].count +
						(old ? (uint64_t)json_integer_value(old) : 0)))) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static json_t *json_stacks(const char *unit, const struct heed_sampler_stats *st,
			   const struct heed_stacks *sk, const struct heed_folded *top)
{
	json_t *funcs = json_array(), *o;
	size_t i;

	for (i = 0; funcs && i < top->nfuncs && i < TOP_JSON; i++)
		if (heed_json_push(funcs, json_pack("{s:o,s:o,s:o}", "name",
						    heed_json_string(top->funcs[i].name), "self",
						    heed_json_u64(top->funcs[i].self), "total",
						    heed_json_u64(top->funcs[i].total)))) {
			json_decref(funcs);
			return NULL;
		}
	o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", unit,
		      heed_json_u64(sk->total), "stacks", heed_json_u64(sk->n), "events",
		      heed_json_u64(st->samples), "dropped", heed_json_u64(st->dropped),
		      "user_stack_errors", heed_json_u64(st->u_failed), "user_stacks_truncated",
		      heed_json_u64(st->truncated), "kernel_stack_errors",
		      heed_json_u64(st->k_failed), "unwind",
		      heed_json_string(st->unwind == HEED_UNWIND_FP ? "fp" : "dwarf"), "unwound",
		      heed_json_u64(st->unwound), "unwind_ns", heed_json_u64(st->unwind_ns),
		      "prog_misses", heed_json_u64(st->prog_misses), "top", funcs);
	if (o &&
	    (heed_json_set(o, "processes", heed_json_u64(st->procs)) ||
	     heed_json_set(o, "process_samples_without_state", heed_json_u64(st->procs_dropped)) ||
	     heed_json_set(o, "mapping_records_lost", heed_json_u64(st->maps_lost)) ||
	     heed_json_set(o, "mappings_untracked", heed_json_u64(st->maps_untracked)))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* {"name": H} for the n per-process histograms of v whose slot names[slot] is in
 * [from, to). */
static json_t *json_proc_hists(const struct heed_named_hist *names, const struct heed_proc_hist *v,
			       size_t n, size_t from, size_t to)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < n; i++)
		if (v[i].slot >= from && v[i].slot < to &&
		    heed_json_set(o, names[v[i].slot].name, heed_hist_json(&v[i].h))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* Appends {"pid":..,"comm":..,"ops":{..},"usdt":{..},"funcs":{..}} (the keys the
 * document's top level has) to the array arg. */
static int json_proc(const struct state *s, void *arg, pid_t pid, const char *comm,
		     const struct heed_proc_hist *u, size_t nu, const struct heed_proc_hist *f,
		     size_t nf)
{
	json_t *o = json_pack("{s:I,s:o}", "pid", (json_int_t)pid, "comm", heed_json_string(comm));
	int err = o ? 0 : -ENOMEM;

	if (!err && s->uh && s->src != HEED_OPS_NONE)
		err = heed_json_set(o, "ops", json_proc_hists(s->uh, u, nu, 0, HEED_USDT_OPS));
	if (!err && s->uh)
		err = heed_json_set(o, "usdt",
				    json_proc_hists(s->uh, u, nu, HEED_USDT_OPS, s->nuh));
	if (!err && s->fh)
		err = heed_json_set(o, "funcs", json_proc_hists(s->fh, f, nf, 0, s->nfh));
	if (err) {
		json_decref(o);
		return err;
	}
	return heed_json_push(arg, o);
}

/* --per-pid: [{"pid":..,"comm":..,"ops":..,"usdt":..,"funcs":..},...] by pid. */
static json_t *json_procs(const struct state *s)
{
	json_t *a = json_array();

	if (a && each_proc(s, json_proc, a)) {
		json_decref(a);
		a = NULL;
	}
	return a;
}

static json_t *json_slow(const struct state *s);

/* What the files' symbol tables cost: loads, and lookups libdw answered. */
static json_t *json_symbols(heed_symcache *c)
{
	struct heed_symcache_stats st;

	heed_symcache_stats(c, &st);
	return json_pack(
		"{s:o,s:o,s:o,s:o,s:o,s:o}", "files_loaded", heed_json_u64(st.files_loaded),
		"files_shared", heed_json_u64(st.files_shared), "files_missing",
		heed_json_u64(st.files_missing), "files_idle", heed_json_u64(st.files_idle),
		"frames_resolved", heed_json_u64(st.frames_resolved), "frames_shared",
		heed_json_u64(st.frames_shared));
}

static int write_json(struct state *s)
{
	json_t *doc, *lost = json_object();
	size_t i;
	FILE *f;
	int err = lost ? 0 : -ENOMEM;

	/* The per_pid_full counters are there with --per-pid only: without it, the
	 * document is the one of before. */
	for (i = 0; !err && s->usdt && i < HEED_USDT_LOST_MAX; i++)
		if (i != HEED_USDT_LOST_PID_FULL || s->o.per_pid)
			err = heed_json_set(lost, usdt_lost_names[i],
					    heed_json_u64(s->usdt_lost[i]));
	for (i = 0; !err && s->func && i < HEED_FUNC_LOST_MAX; i++)
		if (i != HEED_FUNC_LOST_PID_FULL || s->o.per_pid)
			err = heed_json_set(lost, func_lost_names[i],
					    heed_json_u64(s->func_lost[i]));
	if (s->o.scope)
		doc = json_pack("{s:i,s:{s:o},s:o,s:o}", "version", 1, "target", "scope",
				heed_json_string(s->what), "duration_s",
				heed_json_number(s->elapsed), "ops_source",
				heed_json_string(s->o.ops ? src_name(s->src) : "none"));
	else
		doc = json_pack("{s:i,s:{s:I,s:o},s:o,s:o}", "version", 1, "target", "pid",
				(json_int_t)s->o.pid, "comm", heed_json_string(s->comm),
				"duration_s", heed_json_number(s->elapsed), "ops_source",
				heed_json_string(s->o.ops ? src_name(s->src) : "none"));
	if (!doc)
		err = -ENOMEM;
	if (!err && s->uh && s->src != HEED_OPS_NONE)
		err = heed_json_set(doc, "ops", json_hists(s->uh, 0, HEED_USDT_OPS));
	if (!err && s->uh)
		err = heed_json_set(doc, "usdt", json_hists(s->uh, HEED_USDT_OPS, s->nuh));
	if (!err && s->fh)
		err = heed_json_set(doc, "funcs", json_hists(s->fh, 0, s->nfh));
	if (!err && s->o.per_pid && (s->uh || s->fh))
		err = heed_json_set(doc, "per_pid", json_procs(s));
	if (!err && s->prof)
		err = heed_json_set(doc, "profile",
				    json_stacks("samples", &s->on_st, &s->on_stacks, &s->on_top));
	if (!err && s->prof && s->o.scope)
		err = heed_json_set(json_object_get(doc, "profile"), "by_process",
				    json_roots(&s->on_stacks));
	if (!err && s->off)
		err = heed_json_set(
			doc, "offcpu",
			json_stacks("total_ns", &s->off_st, &s->off_stacks, &s->off_top));
	if (!err && s->off && s->o.scope)
		err = heed_json_set(json_object_get(doc, "offcpu"), "by_process",
				    json_roots(&s->off_stacks));
	if (!err) {
		err = heed_json_set(doc, "lost", lost);
		lost = NULL;
	}
	if (!err && s->slow)
		err = heed_json_set(doc, "slow", json_slow(s));
	if (!err && (s->prof || s->off))
		err = heed_json_set(doc, "symbols", json_symbols(s->symcache));
	if (!err) {
		f = fopen(s->o.json, "we");
		if (!f) {
			err = -errno;
		} else {
			err = heed_json_write(f, doc);
			if (fclose(f) && !err)
				err = -EIO;
		}
	}
	json_decref(lost);
	json_decref(doc);
	if (err)
		die_msg("%s: cannot write: %s", s->o.json, strerror(-err));
	return err;
}

static int write_folded(const char *path, const struct heed_stacks *sk)
{
	FILE *f = fopen(path, "we");
	int err;

	if (!f) {
		err = -errno;
		die_msg("%s: cannot write: %s", path, strerror(errno));
		return err;
	}
	err = heed_stacks_write_folded(sk, f);
	if (fclose(f) && !err)
		err = -EIO;
	if (err)
		die_msg("%s: cannot write: %s", path, strerror(-err));
	return err;
}

/* JIT code of the target named from its perf map, when it wrote one. */
static int jit_names(heed_sym *sym, pid_t pid)
{
	char path[64];
	size_t bad;
	int err;

	struct stat st;

	/* The target's user (from /proc/PID, or root's once it is gone). */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st))
		st.st_uid = 0;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	err = heed_sym_perfmap(sym, path, st.st_uid, &bad);
	if (err == -ENOENT)
		return 0;
	if (err == -EPERM)
		die_msg("%s: not a regular file of root or of pid %d's user: not read", path,
			(int)pid);
	else if (err)
		die_msg("%s: cannot read: %s", path, strerror(-err));
	else if (bad)
		die_msg("%s: %zu lines are not \"START SIZE NAME\", skipped", path, bad);
	return err;
}

/* What a blocked ([off-cpu]) slow stack waited for, by its kernel frames: a page
 * fault first (its I/O included), then a lock, then I/O; else "other". */

static const char *const block_names[BLOCK_MAX] = {"page_faults", "locks", "io", "other"};

static int blocked_by(const char *folded)
{
	static const char *const fault[] = {"exc_page_fault", "handle_mm_fault", NULL};
	static const char *const lock[] = {"futex",	 "mutex_lock", "rwsem",	     "down_read",
					   "down_write", "flock",      "posix_lock", NULL};
	static const char *const io[] = {
		"io_schedule",	"fsync", "fdatasync",  "blk_",		 "submit_bio", "folio_wait",
		"wait_on_page", "jbd2",	 "_sync_file", "wait_on_buffer", NULL};
	const char *const *const kinds[] = {fault, lock, io};
	size_t k, i;

	for (k = 0; k < 3; k++)
		for (i = 0; kinds[k][i]; i++)
			if (strstr(folded, kinds[k][i]))
				return (int)k;
	return BLOCK_OTHER;
}

/* --slow: the off-CPU stacks of slow (k = 1) or fast operations into
 * s->slow_stacks[k], under a root frame that says whether the thread was blocked
 * ([off-cpu]) or runnable, waiting for a CPU ([runqueue]). */
static int collect_slow_off(struct state *s, heed_sym *sym, int k)
{
	const struct heed_raw_stack *const *raw, **part = NULL;
	size_t nraw, i, n;
	int err, runnable;

	err = heed_sampler_slow_stacks(s->off, k, &raw, &nraw);
	if (!err && nraw && !(part = malloc(nraw * sizeof(const struct heed_raw_stack *))))
		err = -ENOMEM;
	for (runnable = 0; !err && runnable < 2; runnable++) {
		for (i = n = 0; i < nraw; i++)
			if (!(raw[i]->flags & HEED_RAW_RUNNABLE) == !runnable)
				part[n++] = raw[i];
		err = heed_stacks_collect(part, n, sym, runnable ? "[runqueue]" : "[off-cpu]",
					  s->comm, 1, &s->slow_stacks[k]);
	}
	free(part);
	return err;
}

/* --slow: what slot i's slow operations were blocked on, into s->slow_by[i]. */
static int collect_blocked(struct state *s, heed_sym *sym, size_t i)
{
	const struct heed_raw_stack *const *raw;
	struct heed_stacks st = {0};
	size_t nraw, k;
	int err;

	err = heed_sampler_slow_blocked(s->off, i, &raw, &nraw);
	if (!err)
		err = heed_stacks_collect(raw, nraw, sym, NULL, s->comm, 1, &st);
	for (k = 0; !err && k < st.n; k++)
		s->slow_by[i][blocked_by(st.v[k].folded)] += st.v[k].count;
	heed_stacks_free(&st);
	return err;
}

/* --slow: the stacks the fast and the slow operations held, on-CPU samples counted
 * as 1/hz s each so that both kinds add up in ns. */
static int collect_slow(struct state *s, heed_sym *sym)
{
	const struct heed_raw_stack *const *raw;
	size_t nraw, i;
	int err = 0, k;

	for (i = 0; !err && s->off && i < s->o.nslow; i++)
		err = collect_blocked(s, sym, i);

	for (i = 0; !err && i < s->o.nslow; i++)
		err = heed_slow_read(s->slow, i, &s->slow_ops[i]);
	if (!err && s->prof)
		err = heed_sampler_slow_stats(s->prof, &s->slow_on);
	if (!err && s->off)
		err = heed_sampler_slow_stats(s->off, &s->slow_off);
	for (k = 0; !err && k < 2; k++) {
		if (s->prof) {
			err = heed_sampler_slow_stacks(s->prof, k, &raw, &nraw);
			if (!err)
				err = heed_stacks_collect(raw, nraw, sym, NULL, s->comm,
							  1e9 / s->o.hz, &s->slow_stacks[k]);
		}
		if (!err && s->off)
			err = collect_slow_off(s, sym, k);
	}
	return err;
}

/* The blocked time of the slow operations by what they waited for. */
static void blocked_split(const struct state *s, uint64_t out[BLOCK_MAX])
{
	const struct heed_stacks *sk = &s->slow_stacks[1];
	size_t i;

	memset(out, 0, BLOCK_MAX * sizeof(*out));
	for (i = 0; i < sk->n; i++)
		if (!strncmp(sk->v[i].folded, "[off-cpu];", 10))
			out[blocked_by(sk->v[i].folded)] += sk->v[i].count;
}

/* An op's slow time: on CPU, blocked, waiting to run. With --offcpu the time off
 * the CPU is measured at each switch, so on-CPU time is the rest of the latency
 * (a slow op that never left the CPU sent no record: all of it); samples times
 * the period would weigh 1/HZ s each, and a sample's own cost makes the op it
 * lands in likelier to be slow. */
static void slow_split(const struct state *s, size_t i, uint64_t *on, uint64_t *blocked,
		       uint64_t *runq)
{
	uint64_t off = s->slow_off.held[i][1];

	*runq = s->slow_off.runnable[i][1];
	*blocked = off - *runq;
	if (s->off)
		*on = s->slow_ops[i].slow_ns > off ? s->slow_ops[i].slow_ns - off : 0;
	else
		*on = (uint64_t)(s->slow_on.held[i][1] * (1e9 / s->o.hz));
}

static void print_slow(const struct state *s, FILE *f)
{
	uint64_t on, blocked, runq, by[BLOCK_MAX];
	size_t i;

	for (i = 0; i < s->o.nslow; i++) {
		const struct heed_slow_op *op = &s->slow_ops[i];
		double sl = op->slow_ns ? (double)op->slow_ns : 1;

		slow_split(s, i, &on, &blocked, &runq);
		fprintf(f,
			"== slow %s: %" PRIu64 " of %" PRIu64 " ops above %.1f us, %.3f ms in all: "
			"%.1f%% on CPU, %.1f%% blocked, %.1f%% waiting to run ==\n",
			s->o.slow[i].arg, op->slow, op->ops, op->thresh_ns / 1e3, op->slow_ns / 1e6,
			100.0 * on / sl, 100.0 * blocked / sl, 100.0 * runq / sl);
	}
	blocked_split(s, by);
	fprintf(f, "slow ops blocked on:");
	for (i = 0; i < BLOCK_MAX; i++)
		fprintf(f, " %s %.3f ms", block_names[i], by[i] / 1e6);
	fprintf(f,
		"\nslow stacks: %" PRIu64 " ns in slow ops, %" PRIu64
		" in fast ones; dropped: %" PRIu64 " (a thread's buffer full), %" PRIu64
		" (end lost)\n\n",
		s->slow_stacks[1].total, s->slow_stacks[0].total,
		s->slow_on.overflow + s->slow_off.overflow,
		s->slow_on.orphans + s->slow_off.orphans);
}

/* Blocked ns by what they waited for, as {"page_faults":..,...}; NULL on ENOMEM. */
static json_t *json_by(const uint64_t by[BLOCK_MAX])
{
	json_t *b = json_object();
	size_t i;

	for (i = 0; b && i < BLOCK_MAX; i++)
		if (heed_json_set(b, block_names[i], heed_json_u64(by[i]))) {
			json_decref(b);
			b = NULL;
		}
	return b;
}

static json_t *json_slow(const struct state *s)
{
	json_t *o = json_object();
	uint64_t on, blocked, runq, by[BLOCK_MAX];
	size_t i;

	for (i = 0; o && i < s->o.nslow; i++) {
		const struct heed_slow_op *op = &s->slow_ops[i];
		double sl = op->slow_ns ? (double)op->slow_ns : 1;

		slow_split(s, i, &on, &blocked, &runq);
		if (heed_json_set(
			    o, s->o.slow[i].arg,
			    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
				      "threshold_ns", heed_json_u64(op->thresh_ns), "ops",
				      heed_json_u64(op->ops), "slow", heed_json_u64(op->slow),
				      "slow_latency_ns", heed_json_u64(op->slow_ns), "on_cpu_ns",
				      heed_json_u64(on), "blocked_ns", heed_json_u64(blocked),
				      "blocked_ns_by", json_by(s->slow_by[i]), "runqueue_ns",
				      heed_json_u64(runq), "on_cpu_share",
				      heed_json_number(on / sl), "blocked_share",
				      heed_json_number(blocked / sl), "runqueue_share",
				      heed_json_number(runq / sl), "untracked_threads_full",
				      heed_json_u64(op->full), "ends_lost",
				      heed_json_u64(op->lost_ends), "fast",
				      heed_json_u64(op->ops - op->slow)))) {
			json_decref(o);
			o = NULL;
		}
	}
	blocked_split(s, by);
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "ops", o, "blocked_ns_by", json_by(by),
			 "slow_stacks_ns", heed_json_u64(s->slow_stacks[1].total), "fast_stacks_ns",
			 heed_json_u64(s->slow_stacks[0].total), "held_overflow",
			 heed_json_u64(s->slow_on.overflow + s->slow_off.overflow), "held_orphans",
			 heed_json_u64(s->slow_on.orphans + s->slow_off.orphans));
}

/* An empty pprof profile for the raw stacks of --profile (offcpu 0: samples/count
 * and cpu/nanoseconds, each sample 1e9/HZ ns) or --offcpu (offcpu/nanoseconds);
 * mult[0..*nmult) the sample values per count. */
static int stacks_pprof(const struct state *s, int offcpu, int64_t start, int64_t duration,
			heed_pprof **p, int64_t mult[2], size_t *nmult)
{
	static const struct heed_pprof_value_type on[] = {{"samples", "count"},
							  {"cpu", "nanoseconds"}};
	static const struct heed_pprof_value_type off[] = {{"offcpu", "nanoseconds"}};
	struct heed_pprof_opts po = {0};

	mult[0] = 1;
	mult[1] = 1000000000 / (int64_t)s->o.hz;
	po.sample_types = offcpu ? off : on;
	po.nsample_types = offcpu ? 1 : 2;
	*nmult = po.nsample_types;
	if (!offcpu) {
		po.period_type = on[1];
		po.period = mult[1];
	}
	po.duration_nanos = duration;
	po.time_nanos = start;
	return heed_pprof_new(&po, p);
}

/* The root frame of a process's stacks: its name (the thread's, as perf and bcc
 * show it; one -p PID: the process's), "swapper" for the idle tasks (pid 0) as perf
 * names them, "comm-PID" with --per-pid; ';' and blanks, which the folded format
 * cannot hold, become '_'. */
static void root_name(const struct state *s, pid_t pid, const char *comm, char *buf, size_t len)
{
	char *c;

	if (!pid)
		comm = "swapper";
	else if (!comm[0])
		comm = "?";
	if (s->o.per_pid)
		snprintf(buf, len, "%s-%d", comm, (int)pid);
	else
		snprintf(buf, len, "%s", comm);
	for (c = buf; *c; c++)
		if (*c == ';' || (unsigned char)*c <= ' ')
			*c = '_';
}

static int cmp_raw(const void *a, const void *b)
{
	const struct heed_raw_stack *x = *(const struct heed_raw_stack *const *)a;
	const struct heed_raw_stack *y = *(const struct heed_raw_stack *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->exec_id != y->exec_id)
		return x->exec_id < y->exec_id ? -1 : 1;
	return strncmp(x->comm, y->comm, sizeof(x->comm));
}

/* The stacks of one process and name, v[0..n), into sk and pp (when not NULL). */
static int symbolize_one(const struct state *s, const struct heed_raw_stack *const *v, size_t n,
			 heed_sym *sym, const struct heed_maps *m, const char *comm, pid_t pid,
			 struct heed_stacks *sk, heed_pprof *pp, const int64_t *mult, size_t nmult)
{
	char root[64];
	int err;

	root_name(s, pid, comm, root, sizeof(root));
	err = heed_stacks_collect(v, n, sym, NULL, root, 1, sk);
	/* pprof: the name without -PID, which is a label of its own. */
	if (!err && pp)
		err = heed_stacks_pprof(v, n, sym, m, pid ? comm : "swapper", pid, mult, nmult, pp);
	return err;
}

/* Symbolizes the raw stacks of smp into sk and pp (when not NULL): one -p PID's with
 * sym and m; else process by process, each with the last maps smp saw of it, under
 * a root frame per process and thread name. */
static int symbolize(const struct state *s, heed_sampler *smp,
		     const struct heed_raw_stack *const *raw, size_t nraw, heed_sym *sym,
		     const struct heed_maps *m, struct heed_stacks *sk, heed_pprof *pp,
		     const int64_t *mult, size_t nmult)
{
	const struct heed_raw_stack **v;
	size_t i, j, k, l;
	int err = 0;

	if (!s->o.scope)
		return symbolize_one(s, raw, nraw, sym, m, s->comm, s->o.pid, sk, pp, mult, nmult);
	v = malloc((nraw ? nraw : 1) * sizeof(const struct heed_raw_stack *));
	if (!v)
		return -ENOMEM;
	memcpy(v, raw, nraw * sizeof(const struct heed_raw_stack *));
	qsort(v, nraw, sizeof(const struct heed_raw_stack *), cmp_raw);
	for (i = 0; i < nraw && !err; i = j) {
		pid_t pid = v[i]->pid;
		uint64_t exec_id = v[i]->exec_id;
		struct heed_maps pm;
		heed_sym *psym = NULL;
		int have;

		for (j = i; j < nraw && v[j]->pid == pid && v[j]->exec_id == exec_id; j++)
			;
		/* A kernel thread, idle, or a process without state: kernel frames. */
		have = !heed_sampler_maps_copy(smp, pid, exec_id, &pm);
		err = heed_sym_new(s->symcache, &pm, &psym);
		if (!err && have)
			jit_names(psym, pid); /* a bad perf map is said; the rest goes on */
		for (k = i; k < j && !err; k = l) {
			for (l = k; l < j && !strncmp(v[l]->comm, v[k]->comm, sizeof(v[k]->comm));
			     l++)
				;
			err = symbolize_one(s, v + k, l - k, psym, &pm, v[k]->comm, pid, sk, pp,
					    mult, nmult);
		}
		heed_sym_free(psym);
		heed_maps_free(&pm);
	}
	free(v);
	return err;
}

static int write_pprof(const char *path, heed_pprof *p)
{
	int err = heed_pprof_write_file(p, path);

	if (err)
		die_msg("%s: cannot write: %s", path, strerror(-err));
	return err;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --out-dir: drops the files of the oldest intervals beyond --keep. */
static void rotate(struct state *s)
{
	static const char *const suffixes[] = {".pb.gz", ".folded", ".offcpu.pb.gz",
					       ".offcpu.folded"};
	char path[4096];
	size_t i;

	while (s->nwritten > s->o.keep) {
		for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", s->written[0], suffixes[i]);
			if (unlink(path) && errno != ENOENT)
				die_msg("%s: cannot remove: %s", path, strerror(errno));
		}
		free(s->written[0]);
		memmove(s->written, s->written + 1, --s->nwritten * sizeof(*s->written));
	}
}

/* The name of the files of the interval that began at s->interval_start:
 * DIR/heed-YYYYmmddTHHMMSSZ (UTC). An interval that began in the same second as the
 * last one written (one cut short by a late one before it, or the last of the trace)
 * gets "-2", "-3", ... after it: a name taken twice would overwrite the earlier
 * files and rotate() would then remove the later ones with them. */
static void interval_base(const struct state *s, char *base, size_t len)
{
	time_t t = (time_t)(s->interval_start / 1000000000);
	const char *last = s->nwritten ? s->written[s->nwritten - 1] : "";
	char ts[32];
	struct tm tm;
	size_t n;
	long k = 1;

	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", gmtime_r(&t, &tm));
	n = (size_t)snprintf(base, len, "%s/heed-%s", s->o.out_dir, ts);
	if (strncmp(last, base, n) != 0 || (last[n] && last[n] != '-'))
		return;
	if (last[n] == '-')
		k = strtol(last + n + 1, NULL, 10);
	snprintf(base + n, len - n, "-%ld", k + 1);
}

/* --out-dir: the interval's files, DIR/<interval_base>.pb.gz and .folded,
 * ".offcpu.*" for off-CPU stacks. The on-CPU call (or the off-CPU one without
 * --profile) names the interval and records it for rotate(); the off-CPU call
 * after it takes that name. */
static int write_interval(struct state *s, int offcpu, heed_pprof *pp, const struct heed_stacks *sk)
{
	const int records = !offcpu || !s->prof;
	char base[4096], path[4200];
	int err;

	if (records)
		interval_base(s, base, sizeof(base));
	else
		snprintf(base, sizeof(base), "%s", s->written[s->nwritten - 1]);
	snprintf(path, sizeof(path), "%s%s.pb.gz", base, records ? "" : ".offcpu");
	err = write_pprof(path, pp);
	snprintf(path, sizeof(path), "%s%s.folded", base, records ? "" : ".offcpu");
	if (!err)
		err = write_folded(path, sk);
	if (!err && records) {
		char **nw = realloc(s->written, (s->nwritten + 1) * sizeof(*nw));

		if (nw)
			s->written = nw;
		if (!nw || !(nw[s->nwritten] = strdup(base)))
			err = -ENOMEM;
		else
			s->nwritten++;
	}
	return err;
}

/* -i with --out-dir: writes the stacks counted since the last interval and starts a
 * new one, without stopping the samplers. The symbolizer is built again each
 * interval (from the maps of that moment); the files' tables stay in s->symcache
 * while an unwinder or a symbolizer holds them: memory is bounded by the files
 * mapped and the code offsets met, not by the intervals. */
static int interval_files(struct state *s)
{
	heed_sampler *const samplers[2] = {s->prof, s->off};
	int64_t end = wall_ns();
	int i, err = 0;

	for (i = 0; i < 2 && !err; i++) {
		struct heed_stacks sk = {0};
		struct heed_raw_stack **raw = NULL;
		struct heed_maps m = {0};
		heed_sym *sym = NULL;
		heed_pprof *pp = NULL;
		size_t nraw = 0, nmult;
		int64_t mult[2];

		if (!samplers[i])
			continue;
		err = heed_sampler_take(samplers[i], &raw, &nraw);
		/* One process: its symbols for all its stacks (a kernel thread has no maps). */
		if (!err && !s->o.scope) {
			err = heed_sampler_maps_copy(samplers[i], s->o.pid, 0, &m);
			if (err == -ENOENT)
				err = 0;
			if (!err)
				err = heed_sym_new(s->symcache, &m, &sym);
			if (!err)
				err = jit_names(sym, s->o.pid);
		}
		if (!err)
			err = stacks_pprof(s, i, s->interval_start, end - s->interval_start, &pp,
					   mult, &nmult);
		if (!err)
			err = symbolize(s, samplers[i], (const struct heed_raw_stack *const *)raw,
					nraw, sym, &m, &sk, pp, mult, nmult);
		if (!err)
			err = write_interval(s, i, pp, &sk);
		else
			die_msg("cannot read the stacks of this interval: %s", strerror(-err));
		/* The processes gone by now were symbolized: forget them. */
		if (s->o.scope)
			heed_sampler_prune(samplers[i]);
		heed_pprof_free(pp);
		heed_stacks_free(&sk);
		heed_sym_free(sym);
		heed_maps_free(&m);
		heed_raw_stacks_free(raw, nraw);
	}
	rotate(s);
	s->interval_start = end;
	return err;
}

/* One stack feature's stacks symbolized into *sk, ranked into *top, as pprof into
 * *keep (--pprof) and, with --out-dir, written as the last interval. */
static int collect_one(struct state *s, heed_sampler *smp, int offcpu, heed_sym *sym,
		       const struct heed_maps *m, int64_t start, int64_t duration,
		       struct heed_sampler_stats *st, struct heed_stacks *sk,
		       struct heed_folded *top, heed_pprof **keep)
{
	const struct heed_raw_stack *const *raw;
	heed_pprof *pp = NULL;
	size_t nraw, nmult = 0;
	int64_t mult[2];
	int err;

	err = heed_sampler_stats(smp, st);
	if (!err)
		err = heed_sampler_stacks(smp, &raw, &nraw);
	if (!err && (s->o.pprof || s->o.out_dir))
		err = stacks_pprof(s, offcpu, start, duration, &pp, mult, &nmult);
	if (!err)
		err = symbolize(s, smp, raw, nraw, sym, m, sk, pp, mult, nmult);
	if (!err)
		err = heed_stacks_top(sk, top);
	if (!err && s->o.out_dir)
		err = write_interval(s, offcpu, pp, sk);
	if (!err && s->o.pprof) {
		*keep = pp;
		pp = NULL;
	}
	heed_pprof_free(pp);
	return err;
}

/* Reads and symbolizes the stacks of both stack features. */
static int collect_stacks(struct state *s)
{
	struct heed_maps fresh = {0};
	const struct heed_maps *m = NULL;
	heed_sym *sym = NULL;
	int64_t duration = (int64_t)(s->elapsed * 1e9), start = wall_ns() - duration;
	int err = 0;

	/* --out-dir: what is left is the last interval's. */
	if (s->o.out_dir) {
		start = s->interval_start;
		duration = wall_ns() - start;
	}
	if (!s->prof && !s->off)
		return 0;
	/* One process: a live one may have loaded libraries since attach; a gone one
	 * is symbolized from the last maps the sampler saw. Many: symbolize() builds
	 * each process's symbols. */
	if (!s->o.scope) {
		m = heed_sampler_maps(s->prof ? s->prof : s->off, s->o.pid, 0);
		if (!heed_maps_read(s->o.pid, &fresh) || !m)
			m = &fresh;
		err = heed_sym_new(s->symcache, m, &sym);
		if (err) {
			die_msg("cannot set up symbolization: %s", strerror(-err));
			goto cleanup;
		}
		err = jit_names(sym, s->o.pid);
		if (err)
			goto cleanup;
	}
	if (s->prof)
		err = collect_one(s, s->prof, 0, sym, m, start, duration, &s->on_st, &s->on_stacks,
				  &s->on_top, &s->on_pp);
	if (!err && s->off)
		err = collect_one(s, s->off, 1, sym, m, start, duration, &s->off_st, &s->off_stacks,
				  &s->off_top, &s->off_pp);
	if (!err && s->slow)
		err = collect_slow(s, sym);
	if (err)
		die_msg("cannot read the stacks: %s", strerror(-err));
cleanup:
	heed_sym_free(sym);
	heed_maps_free(&fresh);
	return err;
}

/* Fast to slow operations, each side per operation of its kind. */
static int write_slow_diff(const struct state *s)
{
	uint64_t nslow = 0, nfast = 0;
	char title[128], msg[512];
	size_t i;

	for (i = 0; i < s->o.nslow; i++) {
		nslow += s->slow_ops[i].slow;
		nfast += s->slow_ops[i].ops - s->slow_ops[i].slow;
	}
	if (!s->slow_stacks[1].n || !s->slow_stacks[0].n) {
		die_msg("%s: no stacks of %s operations, no differential flame graph written",
			s->o.slow_diff, s->slow_stacks[1].n ? "fast" : "slow");
		return -ENODATA;
	}
	snprintf(title, sizeof(title), "Slow vs fast operations, per operation: pid %d (%s)",
		 (int)s->o.pid, s->comm);
	if (heed_stacks_write_diff(&s->slow_stacks[0], 1.0 / (double)(nfast ? nfast : 1),
				   &s->slow_stacks[1], 1.0 / (double)(nslow ? nslow : 1),
				   s->o.slow_diff, title, "ns", msg, sizeof(msg))) {
		die_msg("%s", msg);
		return -EIO;
	}
	return 0;
}

static int report(struct state *s)
{
	char msg[512];
	int err, rc = 0;

	err = read_hists(s);
	if (err) {
		die_msg("cannot read the histograms: %s", strerror(-err));
		rc = err;
	}
	print_hists(s, stdout);
	print_lost(s, stdout);
	if (collect_stacks(s))
		rc = -EIO;
	if (s->o.out_dir)
		rotate(s);
	if (s->prof)
		print_stack_summary(stdout, "profile", "samples", &s->on_st, &s->on_stacks,
				    &s->on_top);
	if (s->off)
		print_stack_summary(stdout, "off-CPU", "ns", &s->off_st, &s->off_stacks,
				    &s->off_top);
	if (s->slow)
		print_slow(s, stdout);
	fflush(stdout);
	if (s->o.slow_folded) {
		char path[4096];

		snprintf(path, sizeof(path), "%s.fast", s->o.slow_folded);
		if (write_folded(s->o.slow_folded, &s->slow_stacks[1]) ||
		    write_folded(path, &s->slow_stacks[0]))
			rc = -EIO;
	}
	if (s->o.slow_flame) {
		char title[128];

		snprintf(title, sizeof(title), "Slow operations: pid %d (%s)", (int)s->o.pid,
			 s->comm);
		if (!s->slow_stacks[1].n) {
			die_msg("%s: no stacks of slow operations, no flame graph written",
				s->o.slow_flame);
			rc = -ENODATA;
		} else if (heed_stacks_write_flame(&s->slow_stacks[1], s->o.slow_flame, title, "ns",
						   msg, sizeof(msg))) {
			die_msg("%s", msg);
			rc = -EIO;
		}
	}
	if (s->o.slow_diff && write_slow_diff(s))
		rc = -EIO;
	if (s->o.folded) {
		const struct heed_stacks *sk = s->prof ? &s->on_stacks : &s->off_stacks;

		if (write_folded(s->o.folded, sk))
			rc = -EIO;
		if (s->prof && s->off) {
			char path[4096];

			snprintf(path, sizeof(path), "%s.offcpu", s->o.folded);
			if (write_folded(path, &s->off_stacks))
				rc = -EIO;
		}
	}
	if (s->o.pprof && (s->on_pp || s->off_pp)) {
		if (write_pprof(s->o.pprof, s->on_pp ? s->on_pp : s->off_pp))
			rc = -EIO;
		if (s->on_pp && s->off_pp) {
			char path[4096];

			snprintf(path, sizeof(path), "%s.offcpu", s->o.pprof);
			if (write_pprof(path, s->off_pp))
				rc = -EIO;
		}
	}
	if (s->o.flame) {
		const struct heed_stacks *sk = s->prof ? &s->on_stacks : &s->off_stacks;
		char title[300];

		snprintf(title, sizeof(title), "%s: %s", s->prof ? "CPU" : "Off-CPU", s->what);
		if (!sk->n) {
			die_msg("%s: no stacks were sampled, no flame graph written", s->o.flame);
			rc = -ENODATA;
		} else if (heed_stacks_write_flame(sk, s->o.flame, title,
						   s->prof ? "samples" : "ns", msg, sizeof(msg))) {
			die_msg("%s", msg);
			rc = -EIO;
		}
	}
	if (s->o.json && write_json(s))
		rc = -EIO;
	return rc;
}

/* The path file (as process pid maps it) goes by: "" when it cannot be looked at;
 * PATH itself when heed-trace sees the same file there; else /proc/PID/root/PATH
 * (a container's files are its own, in its mount namespace and root). A file
 * seen before, whatever its path, keeps its first one: files are attached once. */
static const char *file_path(struct state *s, pid_t pid, const char *path)
{
	struct stat in, here;
	struct file_id *nv;
	char root[4200];
	size_t i;

	snprintf(root, sizeof(root), "/proc/%d/root%s", (int)pid, path);
	if (stat(root, &in))
		return "";
	for (i = 0; i < s->nfiles; i++)
		if (s->files[i].dev == in.st_dev && s->files[i].ino == in.st_ino)
			return s->files[i].path;
	nv = realloc(s->files, (s->nfiles + 1) * sizeof(*nv));
	if (!nv)
		return "";
	s->files = nv;
	if (!stat(path, &here) && here.st_dev == in.st_dev && here.st_ino == in.st_ino)
		nv[s->nfiles].path = strdup(path);
	else
		nv[s->nfiles].path = strdup(root);
	if (!nv[s->nfiles].path)
		return "";
	nv[s->nfiles].dev = in.st_dev;
	nv[s->nfiles].ino = in.st_ino;
	return nv[s->nfiles++].path;
}

/* Puts each executable file of m (process pid's maps) under the path file_path
 * gives it, so that what is attached is the file the process maps, whatever mount
 * namespace or root it has. Frees m on failure. */
static int attach_paths(struct state *s, pid_t pid, struct heed_maps *m)
{
	const char *p;
	char *np;
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (!m->v[i].exec || m->v[i].path[0] != '/')
			continue;
		p = file_path(s, pid, m->v[i].path);
		if (!strcmp(p, m->v[i].path))
			continue;
		np = strdup(p);
		if (!np) {
			heed_maps_free(m);
			return -ENOMEM;
		}
		free(m->v[i].path);
		m->v[i].path = np;
	}
	return 0;
}

/* Several processes: pid's maps, under attach_paths. */
static int read_maps_of(struct state *s, pid_t pid, struct heed_maps *m)
{
	int err = heed_maps_read(pid, m);

	return err ? err : attach_paths(s, pid, m);
}

/* One process: its maps as read (s->maps, for the stacks) and as attached to
 * (s->amaps). Keeps the old ones (and returns non-zero) if it is gone. */
static int read_target_maps(struct state *s)
{
	struct heed_maps fresh, afresh;
	int err = heed_maps_read(s->o.pid, &fresh);

	if (err)
		return err;
	err = heed_maps_copy(&fresh, &afresh);
	if (!err)
		err = attach_paths(s, s->o.pid, &afresh);
	if (err) {
		heed_maps_free(&fresh);
		return err;
	}
	heed_maps_free(&s->maps);
	heed_maps_free(&s->amaps);
	s->maps = fresh;
	s->amaps = afresh;
	return 0;
}

/* Takes the target's maps and name again; keeps the old ones (and returns
 * non-zero) if it is gone. */
static int reread(struct state *s)
{
	if (read_target_maps(s))
		return -ESRCH;
	heed_target_comm(s->o.pid, s->comm, sizeof(s->comm));
	return 0;
}

/* Several processes: the maps of every process the selection admits now but
 * heed-trace itself, into s->procs. */
static int read_selected(struct state *s)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	size_t cap = 0, i;
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct heed_maps m;

		if (*end || pid <= 0 || pid > INT_MAX || pid == getpid() ||
		    heed_select_matches(s->sel, (pid_t)pid) != 1 || read_maps_of(s, (pid_t)pid, &m))
			continue;
		if (s->nprocs == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct heed_maps *nm = realloc(s->pmaps, ncap * sizeof(*nm));
			struct heed_proc_maps *np =
				nm ? realloc(s->procs, ncap * sizeof(*np)) : NULL;

			if (nm)
				s->pmaps = nm;
			if (!np) {
				heed_maps_free(&m);
				err = -ENOMEM;
				break;
			}
			s->procs = np;
			cap = ncap;
		}
		s->procs[s->nprocs].pid = (pid_t)pid;
		s->pmaps[s->nprocs++] = m;
	}
	closedir(d);
	/* The maps moved while the array grew. */
	for (i = 0; i < s->nprocs; i++)
		s->procs[i].maps = &s->pmaps[i];
	return err;
}

/* Watches the target for an exec or a dlopen, so that --usdt, --func and --ops
 * attach to code it maps later and the stacks get the new program's name and maps.
 * A command heed-trace started is stopped at each until attached; a -p target is
 * not (its parent may be a shell that would report it stopped): its first calls
 * into new code may be missed. With several processes, every selected process is
 * watched, none stopped. Returns 1 when watching. */
static int watch_start(struct state *s)
{
	char msg[512];
	size_t i;
	int err;

	err = heed_watch_open(s->o.scope ? -1 : s->o.pid, &s->amaps, s->sel, s->spawned, &s->watch,
			      msg, sizeof(msg));
	if (err && (s->o.nusdt || s->o.nfunc || s->o.nslow || s->o.scope))
		die_msg("%s; code %s maps later is not traced", msg,
			s->o.scope ? "the selected processes" : "the target");
	for (i = 0; !err && i < s->nprocs; i++)
		if (heed_watch_update(s->watch, s->procs[i].maps, msg, sizeof(msg)))
			die_msg("%s", msg);
	/* An exec between the first read of the maps and the watch (a -p target just
	 * started by a shell) has no event: look again now that one would. */
	if (!err && !s->o.scope && !reread(s) &&
	    heed_watch_update(s->watch, &s->amaps, msg, sizeof(msg)))
		die_msg("%s", msg);
	return !err;
}

/* Attaching to code the target mapped later failed: said now, in the exit status
 * at the end. */
static void late_failure(struct state *s, const char *msg)
{
	die_msg("%s", msg);
	s->late_failed = 1;
}

/* Several processes: attaches to what process pid maps that no traced binary had,
 * and says so, since its calls before this were not counted. */
static void attach_new_code(struct state *s, pid_t pid)
{
	struct heed_maps m;
	struct heed_proc_maps p = {pid, &m};
	char msg[1024], comm[64];
	enum heed_ops_source src;
	int n;

	if (pid == getpid() || read_maps_of(s, pid, &m))
		return;
	heed_target_comm(pid, comm, sizeof(comm));
	if (heed_watch_update(s->watch, &m, msg, sizeof(msg)))
		late_failure(s, msg);
	if (s->usdt) {
		n = heed_usdt_refresh(s->usdt, &m, &src, msg, sizeof(msg));
		if (n < 0)
			late_failure(s, msg);
		else if (n)
			fprintf(stderr,
				"heed-trace: pid %d (%s) maps %s: attached (probes hit before now "
				"are not counted)\n",
				(int)pid, comm, msg);
		if (n > 0 && s->src == HEED_OPS_NONE)
			s->src = src;
	}
	if (s->func) {
		n = heed_func_refresh(s->func, &p, msg, sizeof(msg));
		if (n < 0)
			late_failure(s, msg);
		else if (n)
			fprintf(stderr,
				"heed-trace: pid %d (%s) maps %s: attached (calls before now are "
				"not counted)\n",
				(int)pid, comm, msg);
	}
	heed_maps_free(&m);
}

/* Attaches to what the target mapped since the last look (see watch_start). */
static void on_new_code(struct state *s)
{
	const struct heed_watch_proc *procs;
	char msg[1024];
	int stopped = 0, err;
	size_t n, i;

	if (heed_watch_poll(s->watch, &procs, &n, &stopped) <= 0)
		return;
	for (i = 0; s->o.scope && i < n; i++)
		attach_new_code(s, procs[i].pid);
	if (!s->o.scope && n && !reread(s)) {
		struct heed_proc_maps p = {s->o.pid, &s->amaps};

		if (procs[0].exec)
			fprintf(stderr, "heed-trace: pid %d exec'd %s: attaching to it\n",
				(int)s->o.pid, s->comm);
		/* Each step is tried; the trace goes on with what is attached and
		 * exits 1. */
		if (heed_watch_update(s->watch, &s->amaps, msg, sizeof(msg)))
			late_failure(s, msg);
		if (s->usdt && heed_usdt_refresh(s->usdt, &s->amaps, &s->src, msg, sizeof(msg)) < 0)
			late_failure(s, msg);
		if (s->func && heed_func_refresh(s->func, &p, msg, sizeof(msg)) < 0)
			late_failure(s, msg);
		if (s->slow && heed_slow_refresh(s->slow, &s->amaps, msg, sizeof(msg)))
			late_failure(s, msg);
	}
	/* Stopped by the watch, or not: a SIGCONT to a running process does nothing.
	 * Only a command heed-trace started is stopped. */
	if (stopped && s->spawned && kill(s->o.pid, SIGCONT) && errno != ESRCH) {
		err = errno;
		die_msg("pid %d: cannot continue it: %s", (int)s->o.pid, strerror(err));
	}
}

/* Names the traced processes in buf: "pid N" or "the selected processes". */
static const char *who(const struct state *s, char *buf, size_t len)
{
	if (s->o.scope)
		snprintf(buf, len, "the selected processes");
	else
		snprintf(buf, len, "pid %d", (int)s->o.pid);
	return buf;
}

/* Specs that never matched anything during the whole trace are an error. */
static int check_unmatched(const struct state *s)
{
	const char *u = s->usdt ? heed_usdt_unmatched(s->usdt) : NULL;
	const char *f = s->func ? heed_func_unmatched(s->func) : NULL;
	const struct heed_slow_spec *w = s->slow ? heed_slow_unmatched(s->slow) : NULL;
	char name[64];

	if (u)
		die_msg("--usdt %s: no such probe in the code of %s during the trace", u,
			who(s, name, sizeof(name)));
	if (f)
		die_msg("--func %s: no function matched in the code of %s during the trace", f,
			who(s, name, sizeof(name)));
	if (w)
		die_msg("--slow %s: no such %s in the code of %s during the trace", w->arg,
			w->prov ? "USDT start/done pair" : "function", who(s, name, sizeof(name)));
	return u || f || w ? -ENOENT : 0;
}

/* Reports an attach step's error, msg or else err's text; returns err. */
static int attach_failed(int err, const char *msg)
{
	die_msg("%s", msg[0] ? msg : strerror(-err));
	return err;
}

/* Says which specs wait for code mapped later. */
static void say_waiting(const struct state *s)
{
	const char *u = s->usdt ? heed_usdt_unmatched(s->usdt) : NULL;
	const char *f = s->func ? heed_func_unmatched(s->func) : NULL;
	const struct heed_slow_spec *w = s->slow ? heed_slow_unmatched(s->slow) : NULL;
	char name[64];

	if (u)
		fprintf(stderr,
			"heed-trace: --usdt %s: no such probe in %s yet; attaching if code "
			"mapped later has it\n",
			u, who(s, name, sizeof(name)));
	if (f)
		fprintf(stderr,
			"heed-trace: --func %s: no function matches in %s yet; attaching if "
			"code mapped later has it\n",
			f, who(s, name, sizeof(name)));
	if (w)
		fprintf(stderr,
			"heed-trace: --slow %s: no such %s in %s yet; attaching if code "
			"mapped later has it\n",
			w->arg, w->prov ? "USDT start/done pair" : "function",
			who(s, name, sizeof(name)));
}

static int attach_all(struct state *s)
{
	struct heed_proc_maps one = {s->o.pid, &s->amaps};
	const struct heed_proc_maps *p = s->o.scope ? s->procs : &one;
	size_t np = s->o.scope ? s->nprocs : 1;
	struct heed_pids to = {&s->o.pid, 1};
	char msg[1024];
	int err, later = s->watch != NULL;

	/* A probe in every process costs its hit in processes not selected too (a
	 * uprobe on libc:malloc traps in the whole machine); a short -p list gets the
	 * probes in its processes alone, a link per process and probe. */
	if (s->o.scope) {
		to.v = s->o.npids <= PER_PID_LINKS ? s->o.pids : NULL;
		to.n = s->o.npids <= PER_PID_LINKS ? s->o.npids : 0;
	}

	if (s->o.ops || s->o.nusdt) {
		err = heed_usdt_open(&to, p, np, s->sel, s->o.ops, s->o.per_pid, s->o.usdt,
				     s->o.nusdt, later, &s->usdt, &s->src, msg, sizeof(msg));
		if (err && !(err == -ENOENT && s->o.ops && !s->o.nusdt))
			return attach_failed(err, msg);
		if (s->o.ops && msg[0])
			die_msg("%s", msg);
	}
	if (s->o.nfunc) {
		err = heed_func_open(&to, p, np, s->sel, s->o.per_pid, s->o.func, s->o.nfunc, later,
				     &s->func, msg, sizeof(msg));
		if (err)
			return attach_failed(err, msg);
	}
	if (s->o.nslow) {
		err = heed_slow_new(s->o.slow, s->o.nslow, &s->slow, msg, sizeof(msg));
		if (err)
			return attach_failed(err, msg);
	}
	if (s->o.profile) {
		struct heed_sampler_opts so = s->o.unwind;

		so.hz = s->o.hz;
		so.slow_fd = s->slow ? heed_slow_threads_fd(s->slow) : 0;
		so.sel = s->sel;
		so.symcache = s->symcache;
		err = heed_sampler_open(s->o.pid, s->o.scope ? NULL : &s->maps, &so, &s->prof, msg,
					sizeof(msg));
		if (err)
			return attach_failed(err, msg);
	}
	if (s->o.offcpu) {
		struct heed_sampler_opts so = s->o.unwind;

		so.offcpu = 1;
		so.slow_fd = s->slow ? heed_slow_threads_fd(s->slow) : 0;
		so.sel = s->sel;
		so.symcache = s->symcache;
		err = heed_sampler_open(s->o.pid, s->o.scope ? NULL : &s->maps, &so, &s->off, msg,
					sizeof(msg));
		if (err)
			return attach_failed(err, msg);
	}
	if (s->slow) {
		err = heed_slow_attach(
			s->slow, s->o.pid, &s->amaps, s->prof ? heed_sampler_rb_fd(s->prof) : -1,
			s->off ? heed_sampler_rb_fd(s->off) : -1, later, msg, sizeof(msg));
		if (err)
			return attach_failed(err, msg);
	}
	if (!s->usdt && !s->func && !s->prof && !s->off) {
		die_msg("nothing left to trace in %s", s->what);
		return -ENOENT;
	}
	say_waiting(s);
	return 0;
}

/* Several processes given by -p: 1 once every one has exited. */
static int listed_gone(const struct state *s)
{
	enum heed_target_kind kind;
	size_t i;

	if (!s->o.scope || !s->o.npids)
		return 0;
	for (i = 0; i < s->o.npids; i++)
		if (!heed_target_kind(s->o.pids[i], &kind) && kind != HEED_TARGET_ZOMBIE)
			return 0;
	return 1;
}

/* Waits for the end: -d elapsed, a signal, the target's exit or, for -p A,B..., all
 * of theirs; prints every -i. */
static void run(struct state *s, int pidfd)
{
	double start = now_s(), next = s->o.interval, t;
	struct pollfd pfd[2] = {{.fd = pidfd, .events = POLLIN},
				{.fd = s->watch ? heed_watch_fd(s->watch) : -1, .events = POLLIN}};

	s->interval_start = wall_ns();
	for (;;) {
		double until = s->o.duration ? s->o.duration : 1e9;
		int ms;

		if (s->o.interval && next < until)
			until = next;
		t = now_s() - start;
		ms = until - t > 1000 ? 1000000 : (int)((until - t) * 1000) + 1;
		/* Exits are looked for every 100 ms: a pidfd per process would not scale. */
		if (s->o.scope && s->o.npids && ms > 100)
			ms = 100;
		if (stop_signal || listed_gone(s))
			break;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, ms < 0 ? 0 : ms) > 0 && pfd[1].revents)
			on_new_code(s);
		if (pfd[0].revents)
			break;
		if (stop_signal)
			break;
		t = now_s() - start;
		if (s->o.duration && t >= s->o.duration)
			break;
		if (s->o.interval && t >= next) {
			time_t wall = time(NULL);
			char ts[32];

			strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&wall));
			printf("-- %s, %.1f s (cumulative) --\n", ts, t);
			if (read_hists(s))
				break;
			print_hists(s, stdout);
			fflush(stdout);
			if (s->o.out_dir && interval_files(s))
				break;
			/* Ticks missed while this one was written are skipped, not
			 * caught up with intervals of a few milliseconds. */
			t = now_s() - start;
			do
				next += s->o.interval;
			while (next <= t);
		}
	}
	s->elapsed = now_s() - start;
}

/* Fails, saying why, when path cannot be written: before attaching, not after the
 * whole trace. A file created by the check is removed; the report creates it again. */
static int check_output(const char *path)
{
	struct stat st;
	int existed = !stat(path, &st), fd, err;

	/* Opening a FIFO or a device to check it could block or have effects:
	 * the report finds out. */
	if (existed && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		err = -errno;
		die_msg("%s: cannot write: %s", path, strerror(errno));
		return err;
	}
	close(fd);
	if (!existed)
		unlink(path);
	return 0;
}

static int check_outputs(const struct opts *o)
{
	char path[4096];
	int err = 0;

	if (o->folded) {
		err = check_output(o->folded);
		if (!err && o->profile && o->offcpu) {
			snprintf(path, sizeof(path), "%s.offcpu", o->folded);
			err = check_output(path);
		}
	}
	if (!err && o->out_dir) {
		struct stat st;

		if (stat(o->out_dir, &st))
			err = -errno;
		else if (!S_ISDIR(st.st_mode))
			err = -ENOTDIR;
		else if (access(o->out_dir, W_OK))
			err = -errno;
		if (err) {
			die_msg("--out-dir %s: not a writable directory: %s", o->out_dir,
				strerror(-err));
		}
	}
	if (!err && o->pprof) {
		err = check_output(o->pprof);
		if (!err && o->profile && o->offcpu) {
			snprintf(path, sizeof(path), "%s.offcpu", o->pprof);
			err = check_output(path);
		}
	}
	if (!err && o->flame)
		err = check_output(o->flame);
	if (!err && o->json)
		err = check_output(o->json);
	if (!err && o->slow_folded) {
		err = check_output(o->slow_folded);
		snprintf(path, sizeof(path), "%s.fast", o->slow_folded);
		if (!err)
			err = check_output(path);
	}
	if (!err && o->slow_flame)
		err = check_output(o->slow_flame);
	if (!err && o->slow_diff)
		err = check_output(o->slow_diff);
	return err;
}

/* Refuses a target that is not a live user process, saying what it is; a kernel
 * thread keeps the modes that apply to it (its kernel stacks). */
static int check_target(struct opts *o, const char *comm, enum heed_target_kind kind)
{
	if (kind == HEED_TARGET_ZOMBIE) {
		die_msg("pid %d (%s) is a zombie: it has exited and waits for its parent to reap "
			"it; nothing to trace",
			(int)o->pid, comm);
		return -ESRCH;
	}
	if (kind != HEED_TARGET_KTHREAD)
		return 0;
	if (o->nusdt || o->nfunc || (o->ops && !o->profile && !o->offcpu)) {
		die_msg("pid %d (%s) is a kernel thread: it has no user space to probe; --profile "
			"and --offcpu record its kernel stacks",
			(int)o->pid, comm);
		return -EINVAL;
	}
	o->ops = 0;
	fprintf(stderr, "heed-trace: pid %d (%s) is a kernel thread: kernel stacks only\n",
		(int)o->pid, comm);
	return 0;
}

/* The status a shell would give for the command: its exit code, or 128 + the
 * signal that killed it. */
static int command_status(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* The tasks the BPF programs count: the target (its thread with -t), or the
 * selection of -p, -a, --comm and --cgroup. */
static int make_select(struct state *s)
{
	struct heed_select_opts so = {0};
	char msg[512];
	int err;

	if (s->o.scope) {
		so.pids = s->o.pids;
		so.npids = s->o.npids;
		so.comm = s->o.comm;
		so.cgroup = s->o.cgroup;
	} else if (s->o.tid) {
		so.tids = &s->o.tid;
		so.ntids = 1;
	} else {
		so.pids = &s->o.pid;
		so.npids = 1;
	}
	err = heed_select_new(&so, &s->sel, msg, sizeof(msg));
	if (err)
		die_msg("%s", msg);
	return err;
}

/* Several processes (-p A,B, -a, --comm, --cgroup): --ops, --usdt and --func on the
 * binaries the selected processes map now and, through the watch, on those any
 * selected process maps later; the samplers on the selected tasks. Returns the
 * exit status; main's cleanup closes what attach_all opened. */
static int trace_several(struct state *s)
{
	char modes[64];
	int err, rc = 1;
	size_t i;

	if (make_select(s))
		goto cleanup;
	err = read_selected(s);
	if (err) {
		die_msg("cannot read the processes of the selection: %s", strerror(-err));
		goto cleanup;
	}
	/* The watch serves --ops, --usdt and --func: code mapped later gets them. */
	if ((s->o.ops || s->o.nusdt || s->o.nfunc) && !watch_start(s))
		goto cleanup;
	if (attach_all(s))
		goto cleanup;
	snprintf(modes, sizeof(modes), "%s%s%s%s%s", s->usdt && s->src ? " ops" : "",
		 s->o.nusdt ? " usdt" : "", s->func ? " func" : "", s->prof ? " profile" : "",
		 s->off ? " offcpu" : "");
	fprintf(stderr, "heed-trace: tracing %s (%zu process%s%s):%s%s\n", s->what, s->nprocs,
		s->nprocs == 1 ? "" : "es", s->o.npids ? "" : " now, and those that join", modes,
		s->o.duration ? "" : "; Ctrl-C to stop");
	run(s, -1);
	rc = report(s) ? 1 : 0;
	if (check_unmatched(s) || s->late_failed)
		rc = 1;
	if (s->watch && heed_watch_lost(s->watch))
		die_msg("%" PRIu64 " events of processes mapping new code were lost (ring buffer "
			"full): code mapped then may not be traced",
			heed_watch_lost(s->watch));
cleanup:
	for (i = 0; i < s->nprocs; i++)
		heed_maps_free(&s->pmaps[i]);
	free(s->pmaps);
	free(s->procs);
	return rc;
}

/* s->what for -a, --cgroup, --comm and -p lists: "all tasks", or the filters. */
static void describe_scope(struct state *s)
{
	size_t n = 0, i;

	if (!s->o.npids && !s->o.cgroup && !s->o.comm) {
		snprintf(s->what, sizeof(s->what), "all tasks");
		return;
	}
	for (i = 0; i < s->o.npids && n < sizeof(s->what); i++)
		n += (size_t)snprintf(s->what + n, sizeof(s->what) - n, "%s%d", i ? "," : "pids ",
				      (int)s->o.pids[i]);
	if (s->o.cgroup && n < sizeof(s->what))
		n += (size_t)snprintf(s->what + n, sizeof(s->what) - n, "%scgroup %s",
				      n ? ", " : "", s->o.cgroup);
	if (s->o.comm && n < sizeof(s->what))
		snprintf(s->what + n, sizeof(s->what) - n, "%scomm %s", n ? ", " : "", s->o.comm);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {0};
	struct state s = {0};
	enum heed_target_kind kind = HEED_TARGET_PROCESS;
	int err, pidfd = -1, rc = 1, status, stoppable;
	char modes[256] = "";

	if (parse_args(argc, argv, &s.o))
		return 2;
	if (check_outputs(&s.o))
		return 1;
	if (heed_target_privileged()) {
		die_msg("needs root or CAP_BPF and CAP_PERFMON to load BPF programs and open perf "
			"events (try sudo)");
		return 1;
	}
	/* Symbols come from local files only unless asked: a debuginfod server can
	 * take seconds per file. */
	if (!s.o.debuginfod)
		unsetenv("DEBUGINFOD_URLS");
	verbose_libbpf = s.o.verbose;
	libbpf_set_print(libbpf_log);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* One table per file for the whole run, whatever the processes. */
	err = heed_symcache_new(&s.symcache);
	if (err) {
		die_msg("cannot set up symbolization: %s", strerror(-err));
		return 1;
	}
	if (s.o.scope) {
		describe_scope(&s);
		rc = trace_several(&s);
		goto cleanup;
	}
	if (s.o.cmd) {
		err = heed_target_spawn(s.o.cmd, &s.o.pid);
		if (err) {
			die_msg("%s: cannot run: %s", s.o.cmd[0], strerror(-err));
			goto cleanup;
		}
		s.spawned = 1;
	} else if (heed_target_kind(s.o.pid, &kind)) {
		die_msg("pid %d: no such process", (int)s.o.pid);
		goto cleanup;
	}
	heed_target_comm(s.o.pid, s.comm, sizeof(s.comm));
	snprintf(s.what, sizeof(s.what), "pid %d (%s)", (int)s.o.pid, s.comm);
	if (check_target(&s.o, s.comm, kind))
		goto cleanup;
	/* A kernel thread maps nothing. */
	err = kind == HEED_TARGET_KTHREAD ? 0 : read_target_maps(&s);
	if (err) {
		die_msg(err == -ESRCH ? "pid %d: no such process" : "pid %d: cannot read its maps",
			(int)s.o.pid);
		goto cleanup;
	}
	if (make_select(&s))
		goto cleanup;
	if (kind != HEED_TARGET_KTHREAD)
		watch_start(&s);
	if (attach_all(&s))
		goto cleanup;
	/* Links are fd-based: whatever happens next, our exit detaches them. */
	pidfd = (int)syscall(SYS_pidfd_open, s.o.pid, 0);
	snprintf(modes, sizeof(modes), "%s%s%s%s%s", s.usdt && s.src ? " ops" : "",
		 s.o.nusdt ? " usdt" : "", s.func ? " func" : "", s.prof ? " profile" : "",
		 s.off ? " offcpu" : "");
	fprintf(stderr, "heed-trace: tracing pid %d (%s):%s%s\n", (int)s.o.pid, s.comm, modes,
		s.o.duration ? "" : "; Ctrl-C to stop");
	if (s.spawned) {
		err = heed_target_resume(s.o.pid);
		if (err) {
			die_msg("pid %d: cannot start it: %s", (int)s.o.pid, strerror(-err));
			goto cleanup;
		}
	}
	run(&s, pidfd);
	rc = report(&s) ? 1 : 0;
	if (check_unmatched(&s) || s.late_failed)
		rc = 1;
cleanup:
	stoppable = s.spawned && s.watch;
	heed_watch_close(s.watch);
	/* A command stopped by the watch when heed-trace stopped must not stay so. */
	if (stoppable)
		kill(s.o.pid, SIGCONT);
	heed_usdt_close(s.usdt);
	heed_func_close(s.func);
	heed_slow_close(s.slow);
	heed_sampler_close(s.prof);
	heed_sampler_close(s.off);
	heed_select_free(s.sel);
	for (size_t i = 0; i < s.o.nslow; i++)
		heed_slow_spec_free(&s.o.slow[i]);
	if (pidfd >= 0)
		close(pidfd);
	if (s.spawned) {
		/* Reap the command if it is done; one still running (-d) goes on alone. */
		if (waitpid(s.o.pid, &status, WNOHANG) > 0) {
			if (WIFSIGNALED(status) && !stop_signal)
				fprintf(stderr, "heed-trace: %s died of signal %d\n", s.comm,
					WTERMSIG(status));
			/* Like perf and a shell: a trace that went well exits as the
			 * command did. */
			if (!rc)
				rc = command_status(status);
		}
	}
	heed_stacks_free(&s.on_stacks);
	heed_stacks_free(&s.off_stacks);
	heed_stacks_free(&s.slow_stacks[0]);
	heed_stacks_free(&s.slow_stacks[1]);
	heed_folded_free(&s.on_top);
	heed_folded_free(&s.off_top);
	heed_pprof_free(s.on_pp);
	heed_pprof_free(s.off_pp);
	while (s.nwritten)
		free(s.written[--s.nwritten]);
	free(s.written);
	heed_maps_free(&s.maps);
	heed_maps_free(&s.amaps);
	while (s.nfiles)
		free(s.files[--s.nfiles].path);
	free(s.files);
	free(s.o.pids);
	heed_symcache_free(s.symcache);
	return rc;
}
