/*
 * meta.c - the two meta pages: checksum, validation, choice of the newest,
 * and whether the data file holds the pages a meta names (env_refresh_size).
 *
 * A commit writes only the meta page txnid % 2, so the other one always
 * holds the previous commit intact: a torn meta write (power loss, crash)
 * fails its checksum and the reader falls back to the previous commit,
 * whose pages the failed commit never overwrote (pages are reused only
 * when freed by a commit no older than the previous one: freelist.c).
 */
#include "internal.h"

#include <errno.h>
#include <sys/stat.h>

uint64_t heed_hash64(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);

	while (n >= 8) {
		h ^= rd64(p) * 0xc4ceb9fe1a85ec53ULL;
		h = (h << 31 | h >> 33) * 0x9e3779b97f4a7c15ULL;
		p += 8;
		n -= 8;
	}
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 29;
	return h;
}

void meta_seal(struct meta *m)
{
	m->checksum = heed_hash64(m, __builtin_offsetof(struct meta, checksum));
}

void meta_build(struct meta *m, const heed_env *env, uint64_t pgno)
{
	m->hdr.pgno = pgno;
	m->hdr.flags = P_META;
	m->magic = HEED_MAGIC;
	m->version = HEED_FORMAT_VERSION;
	m->psize = env->psize;
	m->mapsize = env->mapsize;
	meta_seal(m);
}

/* 0 when m is a valid meta of a psize file at pgno; HEED_INVALID,
 * HEED_VERSION_MISMATCH or HEED_CORRUPTED otherwise. A checksum proves only
 * that the bytes were written whole: every page number is bounded too, by
 * next_pgno, which is bounded by the largest map, so that next_pgno * psize
 * cannot wrap around 2^64 (a wrapped size passes every check against the
 * file and the map; the caller compares the real one with the file). */
int meta_check(const struct meta *m, unsigned int psize, uint64_t pgno)
{
	if (m->magic != HEED_MAGIC)
		return HEED_INVALID;
	if (!format_version_ok(m->version))
		return HEED_VERSION_MISMATCH;
	if (m->checksum != heed_hash64(m, __builtin_offsetof(struct meta, checksum)))
		return HEED_CORRUPTED;
	if (m->hdr.pgno != pgno || m->hdr.flags != P_META || m->psize != psize)
		return HEED_CORRUPTED;
	if (m->next_pgno < NUM_METAS || m->next_pgno > MAX_MAPSIZE / psize ||
	    m->free_count > m->next_pgno || m->main.root >= m->next_pgno ||
	    (m->main.root && m->main.root < NUM_METAS) || m->main.depth > MAX_DEPTH ||
	    (m->main.root == 0) != (m->main.depth == 0) || m->free_head >= m->next_pgno ||
	    (m->free_head && m->free_head < NUM_METAS))
		return HEED_CORRUPTED;
	return 0;
}

/* Metas this thread verified last, per slot: a read txn begin then costs a
 * copy and a compare instead of two checksums (the checksum was ~45% of a
 * begin). Equal bytes were verified for the same env and page size. */
static __thread struct {
	const heed_env *env;
	unsigned int psize;
	struct meta m;
} verified[NUM_METAS];

static int meta_valid(heed_env *env, const struct meta *m, unsigned int i)
{
	if (verified[i].env == env && verified[i].psize == env->psize &&
	    !memcmp(&verified[i].m, m, sizeof(*m)))
		return 1;
	if (meta_check(m, env->psize, i))
		return 0;
	verified[i].env = env;
	verified[i].psize = env->psize;
	verified[i].m = *m;
	return 1;
}

/* The newest valid meta in the map (a copy: the writer may rewrite the
 * other page while we read). The page with the higher txnid is tried
 * first; if it fails its checks (torn, garbage) the other one is used. */
int meta_pick(heed_env *env, struct meta *out)
{
	const struct meta *m0 = (const struct meta *)env->map;
	const struct meta *m1 = (const struct meta *)(env->map + env->psize);
	unsigned int first = m1->txnid > m0->txnid, k;

	for (k = 0; k < NUM_METAS; k++) {
		unsigned int i = k ? !first : first;

		memcpy(out, env->map + (size_t)i * env->psize, sizeof(*out));
		if (meta_valid(env, out, i))
			return 0;
	}
	return HEED_CORRUPTED;
}

int env_refresh_size(heed_env *env, uint64_t next_pgno)
{
	uint64_t need = next_pgno * (uint64_t)env->psize;
	struct stat st;

	if (need > env->mapsize)
		return HEED_MAP_FULL;
	if (need <= env->filesize)
		return 0;
	if (fstat(env->fd, &st) < 0)
		return errno;
	env->filesize = (size_t)st.st_size;
	return need <= env->filesize ? 0 : HEED_CORRUPTED;
}
