/* prof.c - --profile and --offcpu: the user side of bpf/profile.bpf.c and
 * bpf/offcpu.bpf.c (see trace.h); stacks.c reads and symbolizes their maps. */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "links.h"
#include "offcpu.skel.h"
#include "profile.skel.h"
#include "stack.h"

struct heed_sampler {
	struct profile_bpf *prof;
	struct offcpu_bpf *off;
	struct heed_links links;
	struct bpf_map *counts, *stacks, *stats;
	struct bpf_program *prog;
};

/* Room for every distinct stack of a few minutes at 99 Hz on a busy target. Each
 * entry costs HEED_STACK_DEPTH * 8 bytes (1 KiB): 16 MiB of kernel memory. A full or
 * colliding map is counted and reported, never silent. */
#define STACK_ENTRIES 16384
#define COUNT_ENTRIES 65536

static int open_profile(heed_sampler *p, pid_t pid, unsigned int hz, char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, rc, attached = 0;

	p->prof = profile_bpf__open();
	if (!p->prof) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the profile BPF object: %s", strerror(-rc));
		return rc;
	}
	p->prof->rodata->targ_tgid = (__u32)pid;
	bpf_map__set_max_entries(p->prof->maps.stacks, STACK_ENTRIES);
	bpf_map__set_max_entries(p->prof->maps.counts, COUNT_ENTRIES);
	rc = profile_bpf__load(p->prof);
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the profile BPF program: %s (run with -v for the "
			 "verifier log)",
			 strerror(-rc));
		return rc;
	}
	p->counts = p->prof->maps.counts;
	p->stacks = p->prof->maps.stacks;
	p->stats = p->prof->maps.stats;
	p->prog = p->prof->progs.heed_profile;
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

static int open_offcpu(heed_sampler *p, pid_t pid, char *err, size_t errlen)
{
	struct bpf_link *l;
	int rc;

	p->off = offcpu_bpf__open();
	if (!p->off) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the offcpu BPF object: %s", strerror(-rc));
		return rc;
	}
	p->off->rodata->targ_tgid = (__u32)pid;
	bpf_map__set_max_entries(p->off->maps.stacks, STACK_ENTRIES);
	bpf_map__set_max_entries(p->off->maps.counts, COUNT_ENTRIES);
	rc = offcpu_bpf__load(p->off);
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the offcpu BPF program: %s (run with -v for the "
			 "verifier log)",
			 strerror(-rc));
		return rc;
	}
	p->counts = p->off->maps.counts;
	p->stacks = p->off->maps.stacks;
	p->stats = p->off->maps.stats;
	p->prog = p->off->progs.heed_offcpu;
	l = bpf_program__attach(p->prog);
	if (!l) {
		rc = -errno;
		snprintf(err, errlen, "cannot attach the offcpu program to sched_switch: %s",
			 strerror(-rc));
		return rc;
	}
	return heed_links_add(&p->links, l);
}

int heed_sampler_open(pid_t pid, int offcpu, unsigned int hz, heed_sampler **out, char *err,
		      size_t errlen)
{
	heed_sampler *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	err[0] = 0;
	if (!p)
		return -ENOMEM;
	rc = offcpu ? open_offcpu(p, pid, err, errlen) : open_profile(p, pid, hz, err, errlen);
	if (rc) {
		heed_sampler_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

int heed_sampler_fds(heed_sampler *p, int *counts_fd, int *stacks_fd)
{
	*counts_fd = bpf_map__fd(p->counts);
	*stacks_fd = bpf_map__fd(p->stacks);
	return *counts_fd < 0 || *stacks_fd < 0 ? -EBADF : 0;
}

int heed_sampler_stats(heed_sampler *p, struct heed_sampler_stats *st)
{
	uint64_t *dst[HEED_STACK_STAT_MAX] = {
		&st->samples,  &st->u_collisions, &st->u_failed,    &st->k_collisions,
		&st->k_failed, &st->counts_full,  &st->starts_full,
	};
	int fd = bpf_map__fd(p->stats), err;
	__u32 i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < HEED_STACK_STAT_MAX; i++) {
		err = heed_percpu_sum(fd, i, dst[i]);
		if (err)
			return err;
	}
	st->prog_misses = heed_prog_misses(bpf_program__fd(p->prog));
	return 0;
}

void heed_sampler_close(heed_sampler *p)
{
	if (!p)
		return;
	heed_links_destroy(&p->links);
	profile_bpf__destroy(p->prof);
	offcpu_bpf__destroy(p->off);
	free(p);
}
