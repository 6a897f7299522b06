/* links.h - a growable set of bpf_links, destroyed together: every attachment
 * heed-trace makes is fd-based, so destroying a link (or exiting) detaches it. */
#ifndef HEED_PROFILER_LINKS_H
#define HEED_PROFILER_LINKS_H

#include <bpf/libbpf.h>
#include <stddef.h>
#include <sys/types.h>

struct heed_links {
	struct bpf_link **v;
	size_t n, cap;
};

/* Takes ownership of l (destroyed on failure). Returns 0 or -ENOMEM. */
int heed_links_add(struct heed_links *s, struct bpf_link *l);

/* The processes a probe is attached in: v[0..n), the kernel placing breakpoints in
 * them alone, or, with n 0, every process that maps the file (pid -1), ones
 * started later included. */
struct heed_pids {
	pid_t *v;
	size_t n;
};

/* Copies *from into *to (free to->v). Returns 0 or -ENOMEM. */
int heed_pids_copy(struct heed_pids *to, const struct heed_pids *from);

/* Adds attach(pid, arg) for each process of to, or attach(-1, arg) once. A
 * process of several that has exited is skipped. Returns 0, or the first error
 * (-errno) and *bad the pid that failed. */
int heed_links_attach(struct heed_links *s, const struct heed_pids *to,
		      struct bpf_link *(*attach)(pid_t pid, void *arg), void *arg, pid_t *bad);
void heed_links_destroy(struct heed_links *s);

#endif
