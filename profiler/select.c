/* select.c - see select.h. */
#include "select.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

struct heed_select {
	struct heed_select_cfg cfg;
	int cfg_fd, tgids_fd, tids_fd, cgroup_fd, cgroup_dir_fd;
	pid_t *pids, *tids;
	size_t npids, ntids;
	/* --cgroup: its path below the cgroup2 root, "/" for the root itself. */
	char cgroup_rel[PATH_MAX];
};

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int heed_select_parse_ids(const char *opt, const char *arg, pid_t **ids, size_t *n, char *err,
			  size_t errlen)
{
	const char *p = arg;
	size_t k = 0, cap = 0, i;
	pid_t *v = NULL, *nv;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	for (;;) {
		char *end;
		long id;

		errno = 0;
		id = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : 0;
		if (id <= 0 || id > INT_MAX || errno || (*end && *end != ',')) {
			snprintf(err, errlen, "%s %s: expected ID[,ID...], positive integers", opt,
				 arg);
			rc = -EINVAL;
			goto cleanup;
		}
		if (k == cap) {
			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				goto cleanup;
			}
			v = nv;
		}
		v[k++] = (pid_t)id;
		if (!*end)
			break;
		p = end + 1;
	}
	qsort(v, k, sizeof(*v), cmp_pid);
	for (i = 1, *n = 1; i < k; i++)
		if (v[i] != v[*n - 1])
			v[(*n)++] = v[i];
	if (*n > HEED_SELECT_IDS_MAX) {
		snprintf(err, errlen, "%s: at most %d ids", opt, HEED_SELECT_IDS_MAX);
		rc = -EINVAL;
		goto cleanup;
	}
	*ids = v;
	v = NULL;
cleanup:
	free(v);
	if (rc)
		*n = 0;
	return rc;
}

/* The mount point of the first cgroup2 file system in /proc/self/mounts, or "". */
static void cgroup2_mount(char *buf, size_t len)
{
	char line[4096], dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) == 3 &&
		    !strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			break;
		}
	}
	fclose(f);
}

/* Opens --cgroup's directory and finds its path below the cgroup2 root, which
 * /proc/PID/cgroup's "0::" line is relative to. */
static int open_cgroup(heed_select *s, const char *path, char *err, size_t errlen)
{
	char mnt[PATH_MAX], real[PATH_MAX], rmnt[PATH_MAX];
	struct statfs fs;
	size_t ml;

	cgroup2_mount(mnt, sizeof(mnt));
	s->cgroup_dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->cgroup_dir_fd < 0 || fstatfs(s->cgroup_dir_fd, &fs) ||
	    fs.f_type != CGROUP2_SUPER_MAGIC || !realpath(path, real)) {
		int rc = s->cgroup_dir_fd < 0 && errno != ENOTDIR ? -errno : -ENOTDIR;

		snprintf(err, errlen, "--cgroup %s: %s; %s%s", path,
			 rc == -ENOTDIR ? "not a cgroup v2 directory" : strerror(-rc),
			 mnt[0] ? "cgroup2 is mounted at " : "no cgroup2 file system is mounted",
			 mnt);
		return rc;
	}
	/* The path below the mount (a bind mount elsewhere cannot be told apart:
	 * heed_select_matches then only knows the kernel's answer). */
	ml = mnt[0] && realpath(mnt, rmnt) ? strlen(rmnt) : 0;
	if (ml && !strncmp(real, rmnt, ml) && (real[ml] == '/' || !real[ml]))
		snprintf(s->cgroup_rel, sizeof(s->cgroup_rel), "%s", real[ml] ? real + ml : "/");
	return 0;
}

static int fill_ids(int fd, const pid_t *ids, size_t n)
{
	__u8 one = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		__u32 k = (__u32)ids[i];

		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int make_maps(heed_select *s, char *err, size_t errlen)
{
	__u32 zero = 0;
	int rc;

	s->cfg_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "select_cfg", sizeof(__u32), sizeof(s->cfg),
				   1, NULL);
	s->tgids_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "select_tgids", sizeof(__u32), sizeof(__u8),
				     HEED_SELECT_IDS_MAX, NULL);
	s->tids_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "select_tids", sizeof(__u32), sizeof(__u8),
				    HEED_SELECT_IDS_MAX, NULL);
	s->cgroup_fd = bpf_map_create(BPF_MAP_TYPE_CGROUP_ARRAY, "select_cgroup", sizeof(__u32),
				      sizeof(__u32), 1, NULL);
	if (s->cfg_fd < 0 || s->tgids_fd < 0 || s->tids_fd < 0 || s->cgroup_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create the task selection maps: %s", strerror(-rc));
		return rc;
	}
	rc = fill_ids(s->tgids_fd, s->pids, s->npids);
	if (!rc)
		rc = fill_ids(s->tids_fd, s->tids, s->ntids);
	if (!rc && s->cgroup_dir_fd >= 0 &&
	    bpf_map_update_elem(s->cgroup_fd, &zero, &s->cgroup_dir_fd, BPF_ANY))
		rc = -errno;
	if (!rc && bpf_map_update_elem(s->cfg_fd, &zero, &s->cfg, BPF_ANY))
		rc = -errno;
	if (rc)
		snprintf(err, errlen, "cannot fill the task selection maps: %s", strerror(-rc));
	return rc;
}

static int dup_ids(const pid_t *src, size_t n, pid_t **dst)
{
	if (!n)
		return 0;
	*dst = malloc(n * sizeof(**dst));
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * sizeof(**dst));
	return 0;
}

static int check_ids(const heed_select *s, char *err, size_t errlen)
{
	char path[64];
	size_t i;

	for (i = 0; i < s->npids; i++) {
		if (kill(s->pids[i], 0) && errno == ESRCH) {
			snprintf(err, errlen, "-p %d: no such process", (int)s->pids[i]);
			return -ESRCH;
		}
	}
	for (i = 0; i < s->ntids; i++) {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)s->tids[i]);
		if (access(path, F_OK)) {
			snprintf(err, errlen, "-t %d: no such thread", (int)s->tids[i]);
			return -ESRCH;
		}
	}
	return 0;
}

int heed_select_new(const struct heed_select_opts *o, heed_select **out, char *err, size_t errlen)
{
	heed_select *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	err[0] = 0;
	if (!s)
		return -ENOMEM;
	s->cfg_fd = s->tgids_fd = s->tids_fd = s->cgroup_fd = s->cgroup_dir_fd = -1;
	rc = dup_ids(o->pids, o->npids, &s->pids);
	if (!rc)
		rc = dup_ids(o->tids, o->ntids, &s->tids);
	if (rc)
		goto cleanup;
	s->npids = o->npids;
	s->ntids = o->ntids;
	rc = check_ids(s, err, errlen);
	if (rc)
		goto cleanup;
	if (o->comm && (!o->comm[0] || strlen(o->comm) >= HEED_SELECT_COMM_LEN)) {
		snprintf(err, errlen,
			 o->comm[0] ? "--comm %s: longer than the 15 bytes the kernel keeps of a "
				      "task name; give the name ps -o comm shows"
				    : "--comm%s: an empty name matches no task",
			 o->comm);
		rc = -EINVAL;
		goto cleanup;
	}
	if (o->cgroup) {
		rc = open_cgroup(s, o->cgroup, err, errlen);
		if (rc)
			goto cleanup;
	}
	s->cfg.flags = (s->npids ? HEED_SELECT_TGID : 0) | (s->ntids ? HEED_SELECT_TID : 0) |
		       (o->cgroup ? HEED_SELECT_CGROUP : 0) | (o->comm ? HEED_SELECT_COMM : 0);
	if (o->comm)
		memcpy(s->cfg.comm, o->comm, strlen(o->comm));
	rc = make_maps(s, err, errlen);
cleanup:
	if (rc) {
		heed_select_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int heed_select_reuse(const heed_select *s, struct bpf_object *obj, char *err, size_t errlen)
{
	static const char *const names[] = {"select_cfg", "select_tgids", "select_tids",
					    "select_cgroup"};
	const int fds[] = {s->cfg_fd, s->tgids_fd, s->tids_fd, s->cgroup_fd};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, names[i]);

		rc = m ? bpf_map__reuse_fd(m, fds[i]) : -ENOENT;
		if (rc) {
			snprintf(err, errlen, "BPF object %s: cannot use the map %s: %s",
				 bpf_object__name(obj), names[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int heed_select_everything(const heed_select *s)
{
	return !s->cfg.flags;
}

/* Reads /proc/PID/NAME into buf (NUL-terminated, trailing newline cut). */
static int read_proc(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -ESRCH;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

static int in_cgroup(const heed_select *s, pid_t pid)
{
	char buf[8192], *line, *save = NULL;
	size_t rl = strlen(s->cgroup_rel);

	if (read_proc(pid, "cgroup", buf, sizeof(buf)))
		return -ESRCH;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line += 3;
		if (!strcmp(s->cgroup_rel, "/"))
			return 1;
		return !strncmp(line, s->cgroup_rel, rl) && (line[rl] == '/' || !line[rl]);
	}
	return 0;
}

int heed_select_matches(const heed_select *s, pid_t pid)
{
	char buf[64];
	size_t i;
	int rc;

	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	if (s->npids && !bsearch(&pid, s->pids, s->npids, sizeof(pid), cmp_pid))
		return 0;
	if (s->ntids) {
		for (i = 0; i < s->ntids; i++) {
			snprintf(buf, sizeof(buf), "/proc/%d/task/%d", (int)pid, (int)s->tids[i]);
			if (!access(buf, F_OK))
				break;
		}
		if (i == s->ntids)
			return 0;
	}
	if (s->cfg.flags & HEED_SELECT_COMM) {
		if (read_proc(pid, "comm", buf, sizeof(buf)))
			return -ESRCH;
		if (strcmp(buf, s->cfg.comm) != 0)
			return 0;
	}
	if ((s->cfg.flags & HEED_SELECT_CGROUP) && s->cgroup_rel[0]) {
		rc = in_cgroup(s, pid);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

void heed_select_free(heed_select *s)
{
	if (!s)
		return;
	if (s->cfg_fd >= 0)
		close(s->cfg_fd);
	if (s->tgids_fd >= 0)
		close(s->tgids_fd);
	if (s->tids_fd >= 0)
		close(s->tids_fd);
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	if (s->cgroup_dir_fd >= 0)
		close(s->cgroup_dir_fd);
	free(s->pids);
	free(s->tids);
	free(s);
}
