/*
 * env.c - environment handle: configuration, open (file checks, the map),
 * close, stat and info, heed_env_sync.
 *
 * The data file is mapped read-only and shared (see txn.c for why a txn
 * builds its pages apart, and wmap.c for the writer's writable map); the map
 * reserves mapsize bytes of address space and the file grows inside it.
 */
#include "internal.h"
#include "probes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAPSIZE	   (1ULL << 30)
#define DEFAULT_MAXREADERS 126u
#define ENV_FLAGS	   (HEED_NOSUBDIR | HEED_NOSYNC | HEED_RDONLY | HEED_NOMETASYNC | HEED_PWRITE)

HEED_API int heed_env_create(heed_env **ret)
{
	heed_env *env;

	if (!ret)
		return EINVAL;
	env = calloc(1, sizeof(*env));
	if (!env)
		return ENOMEM;
	env->fd = -1;
	env->lockfd = -1;
	env->mapsize = DEFAULT_MAPSIZE;
	env->maxreaders = DEFAULT_MAXREADERS;
	env->psize = MIN_PSIZE;
	pthread_mutex_init(&env->wmutex, NULL);
	pthread_mutex_init(&env->dbimutex, NULL);
	*ret = env;
	return 0;
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

HEED_API int heed_env_set_mapsize(heed_env *env, size_t bytes)
{
	struct meta m;
	void *nm;
	int rc;

	if (!env || bytes > MAX_MAPSIZE)
		return EINVAL;
	if (!env->opened) {
		env->mapsize = bytes ? round_up(bytes, MAX_PSIZE) : DEFAULT_MAPSIZE;
		return 0;
	}
	bytes = round_up(bytes ? bytes : env->mapsize, env->psize);
	pthread_mutex_lock(&env->wmutex);
	rc = EINVAL;
	if (atomic_load(&env->active))
		goto out;
	rc = meta_pick(env, &m);
	if (rc)
		goto out;
	rc = EINVAL;
	if (m.next_pgno * env->psize > bytes)
		goto out;
	if (bytes == env->mapsize) {
		rc = 0;
		goto out;
	}
	nm = mmap(NULL, bytes, PROT_READ, MAP_SHARED, env->fd, 0);
	if (nm == MAP_FAILED) {
		rc = errno;
		goto out;
	}
	munmap(env->map, env->mapsize);
	wmap_drop(env);
	env->map = nm;
	env->mapsize = bytes;
	rc = 0;
out:
	pthread_mutex_unlock(&env->wmutex);
	return rc;
}

HEED_API int heed_env_set_maxdbs(heed_env *env, unsigned int n)
{
	if (!env || env->opened || n > 32767)
		return EINVAL;
	env->maxdbs = n;
	return 0;
}

HEED_API int heed_env_set_maxreaders(heed_env *env, unsigned int n)
{
	if (!env || env->opened || n == 0 || n > 65536)
		return EINVAL;
	env->maxreaders = n;
	return 0;
}

HEED_API int heed_env_set_pagesize(heed_env *env, unsigned int bytes)
{
	if (!env || env->opened || bytes < MIN_PSIZE || bytes > MAX_PSIZE || (bytes & (bytes - 1)))
		return EINVAL;
	env->psize = bytes;
	return 0;
}

HEED_API int heed_env_get_maxkeysize(heed_env *env)
{
	return env ? (int)MAX_KEYSIZE : -1;
}

/* Write the two meta pages of a new, empty file. */
static int init_file(heed_env *env)
{
	unsigned char *buf = calloc(NUM_METAS, env->psize);
	unsigned int i;
	int rc = 0;

	if (!buf)
		return ENOMEM;
	for (i = 0; i < NUM_METAS; i++) {
		struct meta *m = (struct meta *)(buf + (size_t)i * env->psize);

		m->txnid = 0;
		m->next_pgno = NUM_METAS;
		meta_build(m, env, i);
	}
	if (pwrite(env->fd, buf, (size_t)NUM_METAS * env->psize, 0) !=
	    (ssize_t)(NUM_METAS * env->psize))
		rc = errno ? errno : EIO;
	else if (fsync(env->fd) < 0)
		rc = errno;
	free(buf);
	return rc;
}

/* Find the page size from whichever meta page is valid. */
static int read_header(heed_env *env, size_t fsize)
{
	struct meta m;
	unsigned int ps;
	int magic_seen = 0;

	if (fsize < sizeof(struct meta))
		return HEED_INVALID;
	if (pread(env->fd, &m, sizeof(m), 0) != (ssize_t)sizeof(m))
		return errno ? errno : EIO;
	if (m.magic == HEED_MAGIC) {
		magic_seen = 1;
		if (!format_version_ok(m.version))
			return HEED_VERSION_MISMATCH;
		if (m.psize >= MIN_PSIZE && m.psize <= MAX_PSIZE && !(m.psize & (m.psize - 1)) &&
		    meta_check(&m, m.psize, 0) == 0) {
			env->psize = m.psize;
			return fsize < (size_t)NUM_METAS * m.psize ? HEED_INVALID : 0;
		}
	}
	for (ps = MIN_PSIZE; ps <= MAX_PSIZE; ps *= 2) {
		if (fsize < (size_t)ps + sizeof(m))
			break;
		if (pread(env->fd, &m, sizeof(m), ps) != (ssize_t)sizeof(m))
			return errno ? errno : EIO;
		if (m.magic != HEED_MAGIC)
			continue;
		magic_seen = 1;
		if (!format_version_ok(m.version))
			return HEED_VERSION_MISMATCH;
		if (meta_check(&m, ps, 1) == 0) {
			env->psize = ps;
			return fsize < (size_t)NUM_METAS * ps ? HEED_INVALID : 0;
		}
	}
	return magic_seen ? HEED_CORRUPTED : HEED_INVALID;
}

static int set_paths(heed_env *env, const char *path)
{
	size_t n = strlen(path) + 16;

	env->datapath = malloc(n);
	env->lockpath = malloc(n);
	if (!env->datapath || !env->lockpath)
		return ENOMEM;
	if (env->flags & HEED_NOSUBDIR) {
		snprintf(env->datapath, n, "%s", path);
		snprintf(env->lockpath, n, "%s-lock", path);
	} else {
		snprintf(env->datapath, n, "%s/data.heed", path);
		snprintf(env->lockpath, n, "%s/lock.heed", path);
	}
	return 0;
}

static void env_teardown(heed_env *env)
{
	unsigned int i;

	lock_close(env);
	wmap_drop(env);
	if (env->map)
		munmap(env->map, env->mapsize);
	env->map = NULL;
	if (env->fd >= 0)
		close(env->fd);
	env->fd = -1;
	if (env->dbnames)
		for (i = 0; i <= env->maxdbs; i++)
			free(env->dbnames[i]);
	free(env->dbnames);
	free((void *)env->dbflags);
	free((void *)env->dbseq);
	free((void *)env->cmps[0]);
	free((void *)env->cmps[1]);
	env->dbnames = NULL;
	env->dbflags = NULL;
	env->dbseq = NULL;
	env->cmps[0] = env->cmps[1] = NULL;
	pgbuf_drain(env);
	dirty_drain(env);
	free(atomic_exchange(&env->spare, NULL));
	free(env->scratch);
	free(env->descs);
	env->scratch = NULL;
	env->descs = NULL;
	freelist_drop_cache(env);
	free(env->datapath);
	free(env->lockpath);
	env->datapath = env->lockpath = NULL;
	env->opened = 0;
}

static int env_open(heed_env *env, const char *path, mode_t mode)
{
	struct stat st;
	struct meta m;
	void *map;
	int rc, rdonly = (env->flags & HEED_RDONLY) != 0, locked = 0;

	rc = set_paths(env, path);
	if (rc)
		return rc;
	env->fd = open(env->datapath, rdonly ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CREAT | O_CLOEXEC,
		       mode);
	if (env->fd < 0)
		return errno;
	if (fstat(env->fd, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EINVAL;
	rc = lock_open(env);
	if (rc)
		return rc;
	if (st.st_size == 0 && !rdonly) {
		/* Serialize creation with other processes opening it now. */
		rc = lock_writer(env);
		if (rc)
			return rc;
		locked = 1;
		if (fstat(env->fd, &st) < 0)
			rc = errno;
		else if (st.st_size == 0)
			rc = init_file(env);
		if (!rc && fstat(env->fd, &st) < 0)
			rc = errno;
		if (rc)
			goto out;
	}
	rc = read_header(env, (size_t)st.st_size);
	if (rc)
		goto out;
	for (;;) {
		env->filesize = (size_t)st.st_size;
		if (env->mapsize < env->filesize)
			env->mapsize = env->filesize;
		env->mapsize = round_up(env->mapsize, env->psize);
		map = mmap(NULL, env->mapsize, PROT_READ, MAP_SHARED, env->fd, 0);
		if (map == MAP_FAILED) {
			rc = errno;
			goto out;
		}
		env->map = map;
		rc = meta_pick(env, &m);
		if (rc)
			goto out;
		if (m.next_pgno * (uint64_t)env->psize <= env->filesize)
			break;
		/* A commit grows the file before it writes its meta: a meta
		 * naming pages past the size seen means another process
		 * committed since the fstat, unless the file did not grow
		 * (then the last commit's pages are gone: truncated). */
		if (fstat(env->fd, &st) < 0) {
			rc = errno;
			goto out;
		}
		if ((size_t)st.st_size <= env->filesize) {
			rc = HEED_CORRUPTED;
			goto out;
		}
		munmap(env->map, env->mapsize);
		env->map = NULL;
	}
	env->scratch = calloc(1, env->psize);
	env->descs = calloc(env->psize / SLOT_SIZE + 2, sizeof(struct ndesc));
	env->dbnames = calloc(env->maxdbs + 1, sizeof(char *));
	env->dbflags = calloc(env->maxdbs + 1, 1);
	env->dbseq = calloc(env->maxdbs + 1, sizeof(*env->dbseq));
	/* All NULL: every slot bytewise until it is opened. */
	env->cmps[0] = calloc(env->maxdbs + 1, sizeof(*env->cmps[0]));
	env->cmps[1] = calloc(env->maxdbs + 1, sizeof(*env->cmps[1]));
	if (!env->scratch || !env->descs || !env->dbnames || !env->dbflags || !env->dbseq ||
	    !env->cmps[0] || !env->cmps[1]) {
		rc = ENOMEM;
		goto out;
	}
	env->dbflags[0] = DBI_VALID;
	env->numdbs = 1;
	env->opened = 1;
out:
	if (locked)
		lock_writer_release(env);
	return rc;
}

HEED_API int heed_env_open(heed_env *env, const char *path, unsigned int flags, mode_t mode)
{
	int rc;

	if (!env || !path || env->opened || env->fd >= 0 || (flags & ~ENV_FLAGS))
		return EINVAL;
	env->flags = flags;
	rc = env_open(env, path, mode);
	if (rc)
		env_teardown(env);
	return rc;
}

HEED_API void heed_env_close(heed_env *env)
{
	if (!env)
		return;
	env_teardown(env);
	pthread_mutex_destroy(&env->wmutex);
	pthread_mutex_destroy(&env->dbimutex);
	free(env);
}

int env_check(heed_env *env)
{
	return env && env->opened ? 0 : EINVAL;
}

HEED_API int heed_env_stat(heed_env *env, heed_stat *st)
{
	struct meta m;
	int rc;

	if (env_check(env) || !st)
		return EINVAL;
	rc = meta_pick(env, &m);
	if (rc)
		return rc;
	dbrec_stat(&m.main, env->psize, st);
	return 0;
}

HEED_API int heed_env_info(heed_env *env, heed_envinfo *info)
{
	struct meta m;
	int rc;

	if (env_check(env) || !info)
		return EINVAL;
	rc = meta_pick(env, &m);
	if (rc)
		return rc;
	info->mapsize = env->mapsize;
	info->last_pgno = (size_t)(m.next_pgno - 1);
	info->last_txnid = (size_t)m.txnid;
	info->maxreaders = env->maxreaders;
	info->numreaders = readers_count(env);
	return 0;
}

HEED_API int heed_env_sync(heed_env *env, int force)
{
	int rc = 0;

	if (!env || !env->opened)
		return EINVAL;
	if (env->flags & HEED_RDONLY)
		return 0;
	if (force || !(env->flags & HEED_NOSYNC))
		rc = sync_data(env);
	op_flush();
	return probe_rc(rc);
}
