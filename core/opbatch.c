/*
 * opbatch.c - the per-thread buffer of timed ops behind heed:ops__batch.
 *
 * Only touched when a tracer set the probe's semaphore (op_begin returned a
 * start time), so an untraced process never pays for the clock reads. One
 * USDT hit hands over up to HEED_OPREC_BATCH ops. The hit is a kernel entry,
 * and it costs more than its own microseconds: on a VM with page-table
 * isolation and no PCID, as this project's, every entry empties the TLB, and
 * the refills come after. A getppid() every 256 gets of a 100,000-key
 * readrandom cost 15.7 ns a get, every 4096 gets 3.9 (profiler/README.md).
 * Hence few hand-overs:
 *   - when the batch is full: 4096 records (64 KiB), in a buffer malloc'd at a
 *     thread's first traced op rather than thread-local storage that every
 *     thread of every program linked with libheed would carry (a thread-local
 *     spare of SPARE records where malloc fails);
 *   - when a txn ends (op_flush) and the thread's last hand-over is a
 *     millisecond old or more, at every txn end while --slow's semaphore is set
 *     (it judges ops when their txn ends), and when no tracer is left;
 *   - when the thread exits (a pthread key's destructor, which frees the
 *     buffer), and when the process does (a destructor, for the thread calling
 *     exit). A fork's child drops the records it inherited.
 * So a thread that stops for good keeps the ops since its last hand-over (less
 * than a millisecond's, at most 4096) until it ends a txn again or exits; a
 * thread whose txns are a millisecond or more apart hands each over when it ends.
 *
 * The op slot of --slow (numbering each op, publishing the one in flight: 31
 * instructions an op, a third of a traced op's) is kept only while
 * heed:ops__slot's semaphore is set too.
 *
 * The probe site is a 5-byte NOP, not the one-byte NOP of sys/sdt.h: kernels
 * that optimise uprobes (x86-64, 6.18 and later) turn a uprobe on a 5-byte NOP
 * into a call instead of a trap, several times cheaper a hit. Its note is
 * written here in the format sys/sdt.h writes, so readelf, libbpf, bpftrace
 * and perf see an ordinary heed:ops__batch probe with its semaphore.
 */
#include "heed.h"
#include "probes.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* A thread's buffer, and the op it has in flight (probe_abi.h) with the numbers
 * of the numbered ops it began and has not ended, innermost last, modulo OPEN_MAX
 * (a commit's fdatasync is the only op nested in another). One thread-local
 * object: one address to compute on each path. */
#define OPEN_MAX 4
#define SPARE	 32
static __thread struct opthread {
	struct heed_opslot slot;
	unsigned long long open[OPEN_MAX];
	unsigned int depth, n, cap; /* cap: recs' size, 0 before the first record */
	uint64_t flushed;	    /* op_clock at the last hand-over */
	struct heed_oprec *recs;
	struct heed_oprec spare[SPARE];
} me;

/* A txn's end hands the batch over only when the thread's last hand-over is this
 * old (in op_clock's ticks once calibrated): a thread that ends a txn every few
 * microseconds would otherwise pay a kernel entry for each. */
#define FLUSH_GAP_NS 1000000
static uint64_t flush_gap = FLUSH_GAP_NS;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;

#if HEED_PROBES && defined(__x86_64__)
/* ops__batch(recs, n, HEED_OPREC_ABI, slot): "8@%rdi 4@%esi 4@$3 8@%rdx"-style arguments,
 * in registers or constant (no scale-index-base operand: libbpf 1.1 cannot
 * read those). */
#define OPS_BATCH_SITE(r, n, sl, at)                                                               \
	__asm__ __volatile__("990:	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"                           \
			     "	lea 990b(%%rip), %q0\n"                                             \
			     "	.pushsection .note.stapsdt, \"?\", \"note\"\n"                      \
			     "	.balign 4\n"                                                        \
			     "	.4byte 992f-991f, 994f-993f, 3\n"                                   \
			     "991:	.asciz \"stapsdt\"\n"                                           \
			     "992:	.balign 4\n"                                                    \
			     "993:	.8byte 990b\n"                                                  \
			     "	.8byte _.stapsdt.base\n"                                            \
			     "	.8byte heed_ops__batch_semaphore\n"                                 \
			     "	.asciz \"heed\"\n"                                                  \
			     "	.asciz \"ops__batch\"\n"                                            \
			     "	.asciz \"8@%q1 4@%k2 4@$%c3 8@%q4\"\n"                              \
			     "994:	.balign 4\n"                                                    \
			     "	.popsection\n"                                                      \
			     "	.ifndef _.stapsdt.base\n"                                           \
			     "	.pushsection .stapsdt.base, \"aG\", \"progbits\", "                 \
			     ".stapsdt.base, comdat\n"                                             \
			     "	.weak _.stapsdt.base\n"                                             \
			     "	.hidden _.stapsdt.base\n"                                           \
			     "_.stapsdt.base:	.space 1\n"                                          \
			     "	.size _.stapsdt.base, 1\n"                                          \
			     "	.popsection\n"                                                      \
			     "	.endif\n"                                                           \
			     : "=&r"(at)                                                           \
			     : "r"(r), "r"(n), "i"(HEED_OPREC_ABI), "r"(sl))
#elif HEED_PROBES
#define OPS_BATCH_SITE(r, n, sl, at) HEED_OPS_BATCH(r, n, HEED_OPREC_ABI, sl)
#else
#define OPS_BATCH_SITE(r, n, sl, at) ((void)(r), (void)(n), (void)(sl))
#endif

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
/*
 * Durations are read with rdtsc (11 ns CPU a read on this project's VMs, a vDSO
 * clock_gettime 25) when the CPU says its TSC is invariant: CPUID 0x80000007
 * EDX bit 8, Linux's nonstop_tsc flag, one rate in every P- and C-state. Else
 * (older CPUs, hypervisors that hide the bit) a TSC tick may not be a fixed
 * time, and durations are read with CLOCK_MONOTONIC instead.
 *
 * Records hold TSC ticks until the flush turns them into nanoseconds with
 * the TSC's rate against CLOCK_MONOTONIC, measured once per process when the
 * first traced op ends (a ~200 us wait, error under 0.05%).
 */
enum { CLOCK_UNKNOWN, CLOCK_TSC, CLOCK_MONO };
static int clock_kind; /* decided at the process's first clock read */
static pthread_once_t calibrated = PTHREAD_ONCE_INIT;
static uint64_t ns_per_2p32_ticks; /* nanoseconds per 2^32 ticks */

static __attribute__((noinline)) uint64_t other_clock(void)
{
	int k = __atomic_load_n(&clock_kind, __ATOMIC_RELAXED);
	unsigned int a, b, c, d;

	if (k == CLOCK_UNKNOWN) {
		k = __get_cpuid(0x80000007, &a, &b, &c, &d) && (d >> 8 & 1) ? CLOCK_TSC
									    : CLOCK_MONO;
		/* Threads that race here store the same answer. */
		__atomic_store_n(&clock_kind, k, __ATOMIC_RELAXED);
	}
	return k == CLOCK_TSC ? __rdtsc() : mono_ns();
}

static inline int tsc_on(void)
{
	return __builtin_expect(__atomic_load_n(&clock_kind, __ATOMIC_RELAXED) == CLOCK_TSC, 1);
}

static inline uint64_t tsc(void)
{
	return __rdtsc();
}

/* A (ticks, ns) pair: CLOCK_MONOTONIC read between two TSC reads, the ticks at
 * their middle; the tightest of 8 tries, so an interrupt or a preemption between
 * the reads (which would skew the process's rate for its whole life) is passed
 * over. 0 ticks when every try saw the TSC go back (a migration to a CPU whose
 * TSC is behind). */
static void clock_pair(uint64_t *ticks, uint64_t *ns)
{
	uint64_t width = UINT64_MAX, a, b, n;
	int i;

	*ticks = *ns = 0;
	for (i = 0; i < 8; i++) {
		a = __rdtsc();
		n = mono_ns();
		b = __rdtsc();
		if (b >= a && b - a < width) {
			width = b - a;
			*ticks = a + width / 2;
			*ns = n;
		}
	}
}

static void calibrate(void)
{
	uint64_t t0, n0, t1, n1;

	ns_per_2p32_ticks = 1ULL << 32;
	if (__atomic_load_n(&clock_kind, __ATOMIC_RELAXED) != CLOCK_TSC)
		return;
	clock_pair(&t0, &n0);
	while (mono_ns() - n0 < 200000)
		;
	clock_pair(&t1, &n1);
	/* A TSC that does not advance leaves ticks as they are (rate 1). */
	if (t0 && t1 > t0 && n1 > n0)
		ns_per_2p32_ticks = (uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0));
	if (ns_per_2p32_ticks)
		flush_gap = (uint64_t)(((unsigned __int128)FLUSH_GAP_NS << 32) / ns_per_2p32_ticks);
}

static uint64_t ticks_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * ns_per_2p32_ticks) >> 32);
}
#else
static inline int tsc_on(void)
{
	return 0;
}

static inline uint64_t tsc(void)
{
	return 0;
}

static uint64_t other_clock(void)
{
	return mono_ns();
}

static uint64_t ticks_ns(uint64_t ticks)
{
	return ticks;
}
#endif

static inline uint64_t op_clock(void)
{
	return tsc_on() ? tsc() : other_clock();
}

/* The site's address once it has fired, and whether this process is a fork's child. */
static const unsigned char *site;
static int forked_child;

/* Whether a fork's child may run the site. Linux 6.18 turns a uprobe on a 5-byte NOP
 * into a call to a trampoline mapping, once the uprobe has been hit, and fork does not
 * copy that mapping: the child of a traced process that had fired the site would call
 * into nothing (SIGSEGV, seen here with bpftrace on the probe). A call whose target is
 * mapped (a tracer of the child's own) is safe; a NOP or an int3 is. */
static int site_usable(void)
{
	const unsigned char *at = __atomic_load_n(&site, __ATOMIC_RELAXED);
	long page = sysconf(_SC_PAGESIZE);
	unsigned char in_core;
	uintptr_t to;
	int32_t rel;

	if (!at || at[0] != 0xe8 || page <= 0)
		return 1;
	memcpy(&rel, at + 1, sizeof(rel));
	to = (uintptr_t)(at + 5) + (uintptr_t)(intptr_t)rel;
	return !mincore((void *)(to & ~(uintptr_t)(page - 1)), 1, &in_core);
}

/* Hands the batch over. Not inlined: one copy of the site and its note. */
static __attribute__((noinline)) void flush_batch(void)
{
	unsigned int i, n = me.n;
	void *r = me.recs, *sl = &me.slot;
	const unsigned char *at = NULL;

	if (!n)
		return;
	me.n = 0;
	/* A child that cannot run the site drops its records: nobody can read them. */
	if (__builtin_expect(forked_child, 0) && !site_usable())
		return;
	me.flushed = op_clock();
	for (i = 0; i < n; i++)
		me.recs[i].ns = ticks_ns(me.recs[i].ns);
	OPS_BATCH_SITE(r, n, sl, at);
	/* Every thread stores the same address. */
	__atomic_store_n(&site, at, __ATOMIC_RELAXED);
}

void op_flush(void)
{
	/* Untraced, the buffer is empty: no call on every txn's end. With no
	 * tracer left the site is a NOP: hand over, rather than keep records a
	 * later tracer would count. --slow judges ops at each txn's end. */
	if (!me.n || (OPS_ENABLED() && !SLOT_ENABLED() && op_clock() - me.flushed < flush_gap))
		return;
	flush_batch();
}

/* A thread's exit: its pending records out, its buffer back. */
static void thread_gone(void *unused)
{
	struct heed_oprec *r = me.recs;

	(void)unused;
	flush_batch();
	me.recs = NULL;
	me.cap = 0;
	if (r != me.spare)
		free(r);
}

/* A fork's child: the records of the thread that forked are its parent's to hand
 * over, not the child's too. */
static void forked(void)
{
	me.n = 0;
	forked_child = 1;
}

static void make_key(void)
{
	key_ok = !pthread_key_create(&key, thread_gone);
	pthread_atfork(NULL, NULL, forked);
}

/* The process's exit, or libheed unloaded (dlclose): the calling thread's records
 * out (exit runs no thread destructor for it), and no destructor left pointing
 * into an unloaded library; other live threads' buffers leak. */
static __attribute__((destructor)) void unloading(void)
{
	flush_batch();
	if (key_ok)
		pthread_key_delete(key);
}

/* The thread's buffer, at its first record: malloc'd when the thread's exit can
 * free it, else the spare. */
static void get_buffer(struct opthread *m)
{
	pthread_once(&key_once, make_key);
	m->recs = NULL;
	if (key_ok && !pthread_setspecific(key, m))
		m->recs = malloc(HEED_OPREC_BATCH * sizeof(*m->recs));
	m->cap = m->recs ? HEED_OPREC_BATCH : SPARE;
	if (!m->recs)
		m->recs = m->spare;
}

/* The first record of a batch: the buffer made at the thread's first, the clock
 * calibrated at the process's. Out of op_append, which is then a leaf reached by
 * a tail call: no registers to save on the path of every other record. */
static __attribute__((noinline)) void first_record(struct opthread *m, uint64_t ns, unsigned int op,
						   int rc)
{
	if (!m->cap)
		get_buffer(m);
#if defined(__x86_64__)
	pthread_once(&calibrated, calibrate);
#endif
	m->recs[0].ns = ns;
	m->recs[0].op = op;
	m->recs[0].rc = rc;
	m->n = 1;
}

/* op_start's time of a numbered op: bit 0 clear, bit 1 set (never 0); of
 * another, bit 0 set. op_append pops the slot's stack for the first kind only,
 * so the semaphore may change between an op's start and its end. Two ticks
 * (nanoseconds where op_clock reads CLOCK_MONOTONIC) off at most. */
#define T_NUMBERED(t) (((t) & ~1ULL) | 2)
#define T_PLAIN(t)    ((t) | 1)

/* Numbers the op and, when it is the outermost one, publishes it in the slot. */
static __attribute__((noinline)) uint64_t slot_start(unsigned int op)
{
	unsigned long long seq = ++me.slot.seq;
	unsigned int d = me.depth;

	/* A record's number 0 means "not numbered": skip the numbers that
	 * would read as it. */
	if (!(seq & 0xffff))
		seq = ++me.slot.seq;
	if (!me.slot.tid) {
		/* Before the slot's address goes out: a reader checks it. */
		me.slot.tid = (unsigned int)gettid();
		PROBE(OPS_SLOT, &me.slot);
	}
	me.open[d % OPEN_MAX] = seq;
	me.depth = d + 1;
	if (!d) {
		/* A sample may land between the two stores (it runs on this
		 * thread): cur first, then op says it is valid. */
		me.slot.cur = seq;
		__asm__ __volatile__("" ::: "memory");
		me.slot.op = op + 1;
	}
	return T_NUMBERED(op_clock());
}

uint64_t op_start(unsigned int op)
{
	if (__builtin_expect(SLOT_ENABLED(), 0))
		return slot_start(op);
	return T_PLAIN(op_clock());
}

/* Ends the innermost numbered op: its number in a record's bits. */
static unsigned int slot_end(struct opthread *m)
{
	unsigned int d = m->depth - 1;
	unsigned long long seq = m->open[d % OPEN_MAX];

	m->depth = d;
	if (!d)
		m->slot.op = 0;
	return (unsigned int)(seq & 0xffff) << HEED_OPREC_SEQ_SHIFT;
}

/* Files an op that ended at t1. Inlined into op_append, which then makes no call
 * but tail calls and saves no register, and into append_other. */
static inline __attribute__((always_inline)) void append_at(uint64_t t0, uint64_t t1,
							    unsigned int op, int rc)
{
	/* The thread's object found once: hidden from the compiler, which would
	 * otherwise make its TLS descriptor call a second time rather than keep
	 * the address in a register. */
	struct opthread *m = &me;
	struct heed_oprec *r;
	unsigned int i;
	/* Another CPU's TSC may lag a little after a migration: never negative. */
	uint64_t ns = t1 > t0 ? t1 - t0 : 0;

	__asm__("" : "+r"(m));
	i = m->n;
	if (__builtin_expect(!(t0 & 1), 0))
		op |= slot_end(m);
	if (__builtin_expect(i == 0, 0)) {
		first_record(m, ns, op, rc);
		return;
	}
	r = m->recs + i;
	r->ns = ns;
	r->op = op;
	r->rc = rc;
	m->n = i + 1;
	if (__builtin_expect(i + 1 == m->cap, 0))
		flush_batch();
}

static __attribute__((noinline)) void append_other(uint64_t t0, unsigned int op, int rc)
{
	append_at(t0, other_clock(), op, rc);
}

void op_append(uint64_t t0, unsigned int op, int rc)
{
	if (tsc_on())
		append_at(t0, tsc(), op, rc);
	else
		append_other(t0, op, rc);
}
