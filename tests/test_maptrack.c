/* test_maptrack.c - the mappings of processes as the kernel tells them
 * (profiler/maptrack.h): a process started and gone during the tracking is known
 * at a time of its life (Debian's /usr/bin/python3.11 prints its CLOCK_MONOTONIC
 * time), with its program's and libc's executable mappings and their files' first
 * segments; a fork without exec has its parent's; an exec starts a new program;
 * retire forgets what ended; procs_max bounds what is tracked. Needs root
 * (CAP_PERFMON for system-wide perf events). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maptrack.h"
#include "parse.h"

#define PYTHON "/usr/bin/python3.11"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs argv to its end; its stdout's lines "PID TIME" (up to max) into pids and
 * times. Returns how many. */
static size_t run(char *const argv[], pid_t *pids, uint64_t *times, size_t max)
{
	int out[2], status;
	pid_t pid;
	FILE *f;
	size_t n = 0;
	char line[128], *sp;
	uint64_t p, t;

	cr_assert_eq(pipe(out), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	cr_assert_not_null(f);
	while (n < max && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		sp = strchr(line, ' ');
		cr_assert_not_null(sp, "not 'PID TIME': %s", line);
		*sp = 0;
		cr_assert(!heed_parse_u64(line, &p) && !heed_parse_u64(sp + 1, &t),
			  "not 'PID TIME': %s %s", line, sp + 1);
		pids[n] = (pid_t)p;
		times[n++] = t;
	}
	fclose(f);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed", argv[0]);
	return n;
}

/* Whether m has an executable mapping of a file whose path ends in name, and the
 * file's first segment (offset 0) below it. */
static int maps_file(const struct heed_maps *m, const char *name)
{
	size_t i, j, len = strlen(name);

	for (i = 0; i < m->n; i++) {
		const struct heed_map *x = &m->v[i];
		size_t pl = strlen(x->path);

		if (!x->exec || pl < len || strcmp(x->path + pl - len, name) != 0)
			continue;
		for (j = 0; j < i; j++)
			if (!m->v[j].off && m->v[j].ino == x->ino &&
			    !strcmp(m->v[j].path, x->path) && m->v[j].end <= x->start)
				return 1;
	}
	return 0;
}

static heed_maptrack *open_tracker(size_t procs_max)
{
	heed_maptrack *t;
	char err[256];
	int rc = heed_maptrack_open(procs_max, &t, err, sizeof(err));

	cr_assert_eq(rc, 0, "%s (needs root)", err);
	return t;
}

Test(maptrack, exited_process_known_at_its_time)
{
	char *argv[] = {PYTHON, "-c", "import os, time; print(os.getpid(), time.monotonic_ns())",
			NULL};
	heed_maptrack *t = open_tracker(0);
	struct heed_maptrack_prog prog;
	struct heed_maptrack_stats st;
	struct heed_maps m;
	pid_t pid;
	uint64_t time;

	cr_assert_eq(run(argv, &pid, &time, 1), 1);
	cr_assert_eq(heed_maptrack_drain(t), 0);
	cr_assert_eq(heed_maptrack_find(t, pid, time, &prog), 1, "pid %d unknown", (int)pid);
	cr_assert_leq(prog.start, time);
	cr_assert_eq(prog.live, 0, "an exited process is not live");
	cr_assert_eq(heed_maptrack_maps(t, pid, time, &m), 0);
	cr_assert_eq(m.pid, 0, "maps from records are not re-read from /proc");
	cr_assert(maps_file(&m, "/python3.11"), "no python3.11 mapping:\n%s", m.text);
	cr_assert(maps_file(&m, "/libc.so.6"), "no libc mapping:\n%s", m.text);
	heed_maps_free(&m);
	/* Before its exec, the pid was not this program. */
	cr_assert_eq(heed_maptrack_find(t, pid, prog.start - 1, &prog), 0);
	heed_maptrack_stats(t, &st);
	cr_assert_geq(st.procs, 1);
	/* Every sample of it read by now + the grace: forgotten. */
	heed_maptrack_retire(t, now_ns() + HEED_MAPTRACK_GRACE_NS + 1);
	cr_assert_eq(heed_maptrack_find(t, pid, time, &prog), 0, "retired, still known");
	cr_assert_eq(heed_maptrack_maps(t, pid, time, &m), -ENOENT);
	heed_maptrack_close(t);
}

Test(maptrack, fork_keeps_parent_maps_and_exec_starts_a_program)
{
	/* The parent prints, forks a child that prints (no exec), then execs
	 * python3.11 again (-S), a new program of the same pid, which prints. */
	char *argv[] = {PYTHON, "-c",
			"import os, sys, time\n"
			"print(os.getpid(), time.monotonic_ns(), flush=True)\n"
			"c = os.fork()\n"
			"if c == 0:\n"
			"    print(os.getpid(), time.monotonic_ns(), flush=True)\n"
			"    os._exit(0)\n"
			"os.waitpid(c, 0)\n"
			"os.execv(sys.executable, [sys.executable, '-S', '-c',\n"
			"    'import os, time; print(os.getpid(), time.monotonic_ns())'])\n",
			NULL};
	heed_maptrack *t = open_tracker(0);
	struct heed_maptrack_prog a, b, c;
	struct heed_maps m;
	pid_t pids[3];
	uint64_t times[3];

	cr_assert_eq(run(argv, pids, times, 3), 3);
	cr_assert_eq(pids[0], pids[2], "the exec keeps the pid");
	cr_assert_neq(pids[0], pids[1]);
	cr_assert_eq(heed_maptrack_drain(t), 0);
	cr_assert_eq(heed_maptrack_find(t, pids[0], times[0], &a), 1);
	cr_assert_eq(heed_maptrack_find(t, pids[1], times[1], &b), 1, "the fork child is unknown");
	cr_assert_eq(heed_maptrack_find(t, pids[2], times[2], &c), 1);
	cr_assert_gt(c.start, a.start, "the exec did not start a new program");
	cr_assert_gt(c.start, times[0]);
	cr_assert_gt(b.start, a.start);
	cr_assert_eq(heed_maptrack_maps(t, pids[1], times[1], &m), 0);
	cr_assert(maps_file(&m, "/python3.11"), "the child lacks its parent's maps:\n%s", m.text);
	heed_maps_free(&m);
	heed_maptrack_close(t);
}

Test(maptrack, bounded)
{
	char *argv[] = {PYTHON, "-S", "-c",
			"import os, time; print(os.getpid(), time.monotonic_ns())", NULL};
	heed_maptrack *t = open_tracker(1);
	struct heed_maptrack_stats st;
	pid_t pid;
	uint64_t time;

	/* Two programs at least (and whatever else the machine starts): one tracked. */
	cr_assert_eq(run(argv, &pid, &time, 1), 1);
	cr_assert_eq(run(argv, &pid, &time, 1), 1);
	cr_assert_eq(heed_maptrack_drain(t), 0);
	heed_maptrack_stats(t, &st);
	cr_assert_leq(st.procs, 1);
	cr_assert_geq(st.untracked, 1, "a second process was not counted as untracked");
	heed_maptrack_close(t);
}

/* Synthetic records of pids beyond any pid_max (4194304), at times long before the
 * tracker opened: the machine's own records do not touch them. */
#define FAKE_PARENT 0x7ffffff0u
#define FAKE_CHILD  0x7ffffff1u

static void queue_task(heed_maptrack *t, uint32_t type, uint32_t pid, uint32_t ppid, uint64_t time)
{
	struct {
		struct perf_event_header h;
		uint32_t pid, ppid, tid, ptid;
		uint64_t time, trailer;
	} r = {{type, 0, sizeof(r)}, pid, ppid, pid, ppid, time, time};

	cr_assert_eq(heed_maptrack_queue(t, &r, sizeof(r)), 0);
}

static void queue_exec(heed_maptrack *t, uint32_t pid, uint64_t time)
{
	struct {
		struct perf_event_header h;
		uint32_t pid, tid;
		char comm[8];
		uint64_t trailer;
	} r = {{PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC, sizeof(r)}, pid, pid, "x", time};

	cr_assert_eq(heed_maptrack_queue(t, &r, sizeof(r)), 0);
}

static void queue_mmap(heed_maptrack *t, uint32_t pid, uint64_t addr, const char *path,
		       uint64_t time)
{
	struct {
		struct perf_event_header h;
		uint32_t pid, tid;
		uint64_t addr, len, pgoff;
		uint32_t maj, min;
		uint64_t ino, ino_gen;
		uint32_t prot, flags;
		char filename[16];
		uint64_t trailer;
	} r = {{PERF_RECORD_MMAP2, 0, sizeof(r)},
	       pid,
	       pid,
	       addr,
	       0x1000,
	       0,
	       8,
	       1,
	       42,
	       0,
	       PROT_READ | PROT_EXEC,
	       MAP_PRIVATE,
	       "",
	       time};

	snprintf(r.filename, sizeof(r.filename), "%s", path);
	cr_assert_eq(heed_maptrack_queue(t, &r, sizeof(r)), 0);
}

Test(maptrack, queue_checks_its_record)
{
	heed_maptrack *t = open_tracker(0);
	struct perf_event_header h = {PERF_RECORD_EXIT, 0, 64};
	unsigned char rec[64] = {0};

	memcpy(rec, &h, sizeof(h));
	cr_assert_eq(heed_maptrack_queue(t, rec, 16), -EINVAL, "too short for a time");
	cr_assert_eq(heed_maptrack_queue(t, rec, 40), -EINVAL, "size not the length");
	cr_assert_eq(heed_maptrack_queue(t, rec, 64), 0);
	cr_assert_eq(heed_maptrack_drain(t), 0);
	heed_maptrack_close(t);
}

/* A child forked on one CPU after a drain read that CPU's ring, that execs and exits
 * on another whose ring the same drain reads later: its exec and exit are applied a
 * drain before its fork. The late fork must not make a second, never-ending process
 * with its parent's mappings, which would hide the exec'd program and never retire. */
Test(maptrack, fork_read_after_the_childs_exit)
{
	heed_maptrack *t = open_tracker(0);
	struct heed_maptrack_prog prog;
	struct heed_maps m;

	queue_exec(t, FAKE_PARENT, 100);
	queue_mmap(t, FAKE_PARENT, 0x400000, "/parent", 110);
	queue_exec(t, FAKE_CHILD, 300);
	queue_mmap(t, FAKE_CHILD, 0x500000, "/child", 310);
	queue_task(t, PERF_RECORD_EXIT, FAKE_CHILD, FAKE_PARENT, 400);
	cr_assert_eq(heed_maptrack_drain(t), 0);
	queue_task(t, PERF_RECORD_FORK, FAKE_CHILD, FAKE_PARENT, 200);
	cr_assert_eq(heed_maptrack_drain(t), 0);

	cr_assert_eq(heed_maptrack_find(t, FAKE_CHILD, 350, &prog), 1);
	cr_assert_eq(prog.start, 300, "the child's exec'd program hidden by a late fork");
	cr_assert_eq(prog.live, 0);
	cr_assert_eq(heed_maptrack_maps(t, FAKE_CHILD, 350, &m), 0);
	cr_assert(strstr(m.text, "/child") && !strstr(m.text, "/parent"), "%s", m.text);
	heed_maps_free(&m);
	/* Retired, the child is gone; the parent runs on. */
	heed_maptrack_retire(t, 400 + HEED_MAPTRACK_GRACE_NS + 1);
	cr_assert_eq(heed_maptrack_find(t, FAKE_CHILD, 350, &prog), 0);
	cr_assert_eq(heed_maptrack_find(t, FAKE_CHILD, UINT64_MAX, &prog), 0,
		     "a process that exited is still running");
	cr_assert_eq(heed_maptrack_find(t, FAKE_PARENT, 120, &prog), 1);
	heed_maptrack_close(t);
}

/* Records stamped after a drain began may be in rings it read before the rings of
 * records they precede: a child's exec written to a CPU's ring just read, its exit to
 * one read next. They wait for the next drain, in whose time order they fall: the
 * exec read there after the exit must not make a process that runs on forever. Times
 * in the near future stand for records written while the drain reads; a drain that
 * did not begin before them (a stalled machine) is tried again with other pids. */
Test(maptrack, records_stamped_during_a_drain_wait_for_the_next)
{
	heed_maptrack *t = open_tracker(0);
	struct heed_maptrack_prog prog;
	struct heed_maps m;
	uint32_t parent = 0, child = 0;
	uint64_t f = 0;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		parent = FAKE_CHILD + 1 + 2 * (uint32_t)tries;
		child = parent + 1;
		f = now_ns() + 300000000u;
		/* Out of time order, as from two rings: kept, they are moved. */
		queue_task(t, PERF_RECORD_EXIT, child, parent, f + 400);
		queue_exec(t, parent, f);
		queue_mmap(t, parent, 0x400000, "/parent", f + 10);
		queue_task(t, PERF_RECORD_FORK, child, parent, f + 100);
		cr_assert_eq(heed_maptrack_drain(t), 0);
		if (now_ns() < f)
			break;
	}
	cr_assert_lt(tries, 3, "no drain of three began within 0.3 s");
	cr_assert_eq(heed_maptrack_find(t, parent, f + 50, &prog), 0, "applied before its time");
	queue_exec(t, child, f + 300);
	queue_mmap(t, child, 0x500000, "/child", f + 310);
	while (now_ns() <= f + 400)
		usleep(10000);
	cr_assert_eq(heed_maptrack_drain(t), 0);

	cr_assert_eq(heed_maptrack_find(t, child, f + 350, &prog), 1);
	cr_assert_eq(prog.start, f + 300);
	cr_assert_eq(prog.live, 0, "the child's exit, read before its exec, was lost");
	cr_assert_eq(heed_maptrack_find(t, child, UINT64_MAX, &prog), 0,
		     "a process that exited is still running");
	cr_assert_eq(heed_maptrack_maps(t, child, f + 350, &m), 0);
	cr_assert(strstr(m.text, "/child") && !strstr(m.text, "/parent"), "%s", m.text);
	heed_maps_free(&m);
	cr_assert_eq(heed_maptrack_find(t, child, f + 200, &prog), 1);
	cr_assert_eq(prog.start, f + 100, "before its exec, the fork's copy of its parent");
	heed_maptrack_close(t);
}
