/* links.c - see links.h. */
#include "links.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int heed_links_add(struct heed_links *s, struct bpf_link *l)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		/* An array of pointers to links (opaque to us). */
		struct bpf_link **nv = realloc(s->v, ncap * sizeof(void *));

		if (!nv) {
			bpf_link__destroy(l);
			return -ENOMEM;
		}
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = l;
	return 0;
}

void heed_links_destroy(struct heed_links *s)
{
	while (s->n)
		bpf_link__destroy(s->v[--s->n]);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

int heed_pids_copy(struct heed_pids *to, const struct heed_pids *from)
{
	to->n = 0;
	to->v = malloc((from->n + 1) * sizeof(*to->v));
	if (!to->v)
		return -ENOMEM;
	if (from->n)
		memcpy(to->v, from->v, from->n * sizeof(*to->v));
	to->n = from->n;
	return 0;
}

int heed_links_attach(struct heed_links *s, const struct heed_pids *to,
		      struct bpf_link *(*attach)(pid_t pid, void *arg), void *arg, pid_t *bad)
{
	size_t i, n = to->n ? to->n : 1;
	struct bpf_link *l;
	pid_t pid;
	int rc;

	for (i = 0; i < n; i++) {
		pid = to->n ? to->v[i] : -1;
		l = attach(pid, arg);
		if (!l) {
			rc = -errno;
			if (to->n > 1 && kill(pid, 0) && errno == ESRCH)
				continue;
			*bad = pid;
			return rc;
		}
		rc = heed_links_add(s, l);
		if (rc)
			return rc;
	}
	return 0;
}
