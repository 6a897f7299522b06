/* links.c - see links.h. */
#include "links.h"

#include <errno.h>
#include <stdlib.h>

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
