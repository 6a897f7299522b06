/* links.h - a growable set of bpf_links, destroyed together: every attachment
 * heed-trace makes is fd-based, so destroying a link (or exiting) detaches it. */
#ifndef HEED_PROFILER_LINKS_H
#define HEED_PROFILER_LINKS_H

#include <bpf/libbpf.h>
#include <stddef.h>

struct heed_links {
	struct bpf_link **v;
	size_t n, cap;
};

/* Takes ownership of l (destroyed on failure). Returns 0 or -ENOMEM. */
int heed_links_add(struct heed_links *s, struct bpf_link *l);
void heed_links_destroy(struct heed_links *s);

#endif
