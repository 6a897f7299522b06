/* procmaps.c - see procmaps.h. */
#include "procmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One hexadecimal field ending in `sep`; advances *p past the separator. */
static int hex_field(char **p, char sep, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(*p, &end, 16);
	if (end == *p || *end != sep || errno)
		return -EINVAL;
	*p = end + 1;
	return 0;
}

/* "start-end perms offset dev inode [path]" */
static int parse_line(char *line, struct heed_map *x, char **path)
{
	char *p = line, *end;

	if (hex_field(&p, '-', &x->start) || hex_field(&p, ' ', &x->end))
		return -EINVAL;
	if (strlen(p) < 5 || p[4] != ' ')
		return -EINVAL;
	x->exec = p[2] == 'x';
	p += 5;
	if (hex_field(&p, ' ', &x->off))
		return -EINVAL;
	if (hex_field(&p, ':', &x->dev_major) || hex_field(&p, ' ', &x->dev_minor))
		return -EINVAL;
	errno = 0;
	x->ino = strtoull(p, &end, 10);
	if (end == p || (*end != ' ' && *end != 0) || errno)
		return -EINVAL;
	p = end + strspn(end, " ");
	*path = p;
	return 0;
}

int heed_maps_parse(const char *text, size_t len, struct heed_maps *m)
{
	const char *p, *end, *nl;
	size_t cap = 0;
	int err = 0;

	memset(m, 0, sizeof(*m));
	m->text = malloc(len + 1);
	if (!m->text)
		return -ENOMEM;
	memcpy(m->text, text, len);
	m->text[len] = 0;
	m->len = len;
	for (p = m->text, end = m->text + len; p < end; p = nl + 1) {
		char line[4096], *path;
		struct heed_map *x;
		size_t ll;

		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		ll = nl - p;
		if (ll == 0)
			continue;
		if (ll >= sizeof(line)) {
			err = -EINVAL;
			goto cleanup;
		}
		memcpy(line, p, ll);
		line[ll] = 0;
		if (m->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct heed_map *nv = realloc(m->v, ncap * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				goto cleanup;
			}
			m->v = nv;
			cap = ncap;
		}
		x = &m->v[m->n];
		err = parse_line(line, x, &path);
		if (err)
			goto cleanup;
		x->path = strdup(path);
		if (!x->path) {
			err = -ENOMEM;
			goto cleanup;
		}
		m->n++;
		if (nl == end)
			break;
	}
	return 0;
cleanup:
	heed_maps_free(m);
	return err;
}

/* One read of /proc/pid/maps into *m; -EAGAIN when it reads empty. */
static int maps_read_once(pid_t pid, struct heed_maps *m)
{
	char path[64], *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd, err = 0;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 262144;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			/* A process that exited between open and read reads as ESRCH. */
			err = errno == ESRCH ? -ESRCH : -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		len += r;
	}
	err = len ? heed_maps_parse(buf, len, m) : -EAGAIN;
	if (!err)
		m->pid = pid;
cleanup:
	free(buf);
	close(fd);
	return err;
}

int heed_maps_read(pid_t pid, struct heed_maps *m)
{
	int err, i;

	/* The file holds the memory the process had when it was opened: opened just
	 * before an exec, it reads empty once the old memory is gone, as an exited
	 * process's (a zombie's) does. A second open sees the new program's. */
	for (i = 0; i < 3; i++) {
		err = maps_read_once(pid, m);
		if (err != -EAGAIN)
			return err;
	}
	return -ESRCH;
}

int heed_maps_copy(const struct heed_maps *src, struct heed_maps *dst)
{
	int err = heed_maps_parse(src->text, src->len, dst);

	if (!err)
		dst->pid = src->pid;
	return err;
}

const struct heed_map *heed_maps_find(const struct heed_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

int heed_maps_refresh(pid_t pid, struct heed_maps *m, uint64_t addr, double min_s, double *last)
{
	struct heed_maps fresh;
	struct timespec ts;
	double t;

	if (heed_maps_find(m, addr))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (t - *last < min_s)
		return 0;
	*last = t;
	if (heed_maps_read(pid, &fresh))
		return 0;
	heed_maps_free(m);
	*m = fresh;
	return 1;
}

void heed_maps_free(struct heed_maps *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	free(m->text);
	memset(m, 0, sizeof(*m));
}
