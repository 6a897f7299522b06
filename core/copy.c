/*
 * copy.c - hot backup: heed_env_copy* write the newest snapshot of an open
 * environment to a new file or a file descriptor, plain or compacted.
 *
 * Both run inside a read txn, so the writer and other readers keep going;
 * the snapshot's pages cannot change under us (a page is reused only once
 * no reader's snapshot can see it, invariant 3 of lock.c). The free pages
 * of the snapshot are the exception: the writer may reuse them while we
 * copy, so the plain copy may carry torn bytes in pages that its freelist
 * lists as free, which nothing reads.
 *
 * Plain copy: two meta pages built from the snapshot (txnid, next_pgno,
 * freelist head and count, main db record; sealed as every commit seals
 * them), then pages 2 .. next_pgno-1 as they are in the map. Metas are not
 * copied from the map: by the time we read them the writer may have
 * replaced the snapshot's meta with a newer one.
 *
 * Compacted copy: a depth-first walk of every tree (the main db and each
 * named db met as an N_DBREC node of it) writes each page after its
 * children (post-order), numbered from 2 in the order written: branch
 * nodes, overflow references and db records get the new numbers. Nothing
 * else is written: no free page, an empty freelist. Post-order lets the
 * output be a pipe: the main root is the last page, so its number is known
 * before the first page is written, from the snapshot's page count minus
 * its free pages and freelist chain; a walk that finds a different number
 * of pages (a leak or a damaged tree) fails with HEED_CORRUPTED, as
 * LMDB's compaction does. Every page read is checked (type, bounds, each
 * page reached once, overflow runs, the db records' counts), since the
 * bytes come from disk.
 *
 * Both copies keep the snapshot's txnid, so a copy can be matched with the
 * commit it holds (heed_env_info's last_txnid); both meta pages hold it.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_BUF (1u << 20) /* bytes gathered before a write(2) */
/* main tree, a named db's, a key's value tree, the overflow scratch */
#define MAX_LEVEL (3 * MAX_DEPTH + 1)

struct out {
	int fd;
	unsigned char *buf;
	size_t n;
};

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (w == 0)
			return EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int out_flush(struct out *o)
{
	int rc = write_all(o->fd, o->buf, o->n);

	o->n = 0;
	return rc;
}

/* Append n bytes; a large run (an overflow value) goes out without a copy. */
static int out_put(struct out *o, const void *p, size_t n)
{
	int rc;

	if (o->n + n > OUT_BUF) {
		rc = out_flush(o);
		if (rc)
			return rc;
		if (n > OUT_BUF)
			return write_all(o->fd, p, n);
	}
	memcpy(o->buf + o->n, p, n);
	o->n += n;
	return 0;
}

/* The two meta pages of a copy whose newest state is txnid, main, etc. */
static int put_metas(struct out *o, heed_txn *txn, uint64_t next_pgno, uint64_t free_head,
		     uint64_t free_count, const struct dbrec *main)
{
	heed_env *env = txn->env;
	unsigned char *page = calloc(1, env->psize);
	struct meta m;
	unsigned int i;
	int rc = 0;

	if (!page)
		return ENOMEM;
	for (i = 0; i < NUM_METAS && !rc; i++) {
		memset(&m, 0, sizeof(m));
		m.txnid = txn->txnid;
		m.next_pgno = next_pgno;
		m.free_head = free_head;
		m.free_count = free_count;
		m.main = *main;
		meta_build(&m, env, i);
		memcpy(page, &m, sizeof(m));
		rc = out_put(o, page, env->psize);
	}
	free(page);
	return rc;
}

static int copy_plain(heed_txn *txn, struct out *o)
{
	heed_env *env = txn->env;
	size_t off = (size_t)NUM_METAS * env->psize, end = txn->next_pgno * env->psize;
	int rc;

	rc = put_metas(o, txn, txn->next_pgno, txn->free_head, txn->free_count, &txn->dbs[0]);
	if (!rc)
		rc = out_flush(o);
	while (!rc && off < end) {
		size_t n = end - off < OUT_BUF ? end - off : OUT_BUF;

		rc = write_all(o->fd, env->map + off, n);
		off += n;
	}
	return rc;
}

/* The state of a compacting walk. */
struct cwalk {
	heed_txn *txn;
	struct out *o;
	unsigned int psize;
	uint64_t next;			/* pgno of the next page written to the copy */
	uint64_t end;			/* next_pgno of the copy, predicted before the walk */
	unsigned char *seen;		/* bitmap: source pages already copied */
	unsigned char *bufs[MAX_LEVEL]; /* one page per level being copied */
	struct dbrec count;		/* what the walk found in the current db */
	heed_cmp_func *vcmp;		/* the order of its values (dup_list_check) */
};

/* Note a source page as copied; a page reached twice is a damaged tree. */
static int mark(struct cwalk *w, uint64_t pg)
{
	unsigned char bit = (unsigned char)(1u << (pg & 7));

	if (pg < NUM_METAS || pg >= w->txn->next_pgno || (w->seen[pg >> 3] & bit))
		return HEED_CORRUPTED;
	w->seen[pg >> 3] |= bit;
	return 0;
}

/* Write one page of the copy, whose header names w->next, and take npages
 * numbers: more than one for the first page of an overflow run, whose other
 * pages the caller writes. */
static int emit(struct cwalk *w, const void *page, uint64_t npages)
{
	if (w->next + npages > w->end)
		return HEED_CORRUPTED; /* more pages than the snapshot accounts for */
	w->next += npages;
	return out_put(w->o, page, w->psize);
}

/* Copy the overflow run that leaf node refers to and point it at the new
 * run. Checks as check.c's check_overflow: a damaged reference never makes
 * us read past the snapshot. */
static int copy_overflow(struct cwalk *w, unsigned char *node)
{
	unsigned char *d = node_data(node);
	uint64_t op, size, i, newpg = w->next;
	uint32_t np;
	void *p;
	int rc;

	if (node_dsize(node) != 16)
		return HEED_CORRUPTED;
	op = rd64(d);
	size = rd64(d + 8);
	rc = page_get(w->txn, op, &p);
	if (rc)
		return rc;
	np = page_hdr(p)->lower;
	if (page_hdr(p)->flags != P_OVERFLOW || np == 0 || op + np > w->txn->next_pgno ||
	    size > (uint64_t)np * w->psize - PAGE_HDR ||
	    (uint64_t)np != (PAGE_HDR + size + w->psize - 1) / w->psize)
		return HEED_CORRUPTED;
	for (i = 0; i < np; i++) {
		rc = mark(w, op + i);
		if (rc)
			return rc;
	}
	/* The first page's header must name its new number; the rest of the
	 * run is value bytes, written straight from the map. */
	memcpy(w->bufs[MAX_LEVEL - 1], p, w->psize);
	page_hdr(w->bufs[MAX_LEVEL - 1])->pgno = newpg;
	rc = emit(w, w->bufs[MAX_LEVEL - 1], np);
	if (!rc && np > 1)
		rc = out_put(w->o, (unsigned char *)p + w->psize, (size_t)(np - 1) * w->psize);
	if (rc)
		return rc;
	wr64(d, newpg);
	w->count.overflow_pages += np;
	return 0;
}

static int copy_db(struct cwalk *w, struct dbrec *rec, unsigned int level, int nest);

/* Copy the leaf at buf: its overflow runs, (main db, nest 2) named dbs and
 * (a DUPSORT db, nest 1) its keys' value trees first. A value tree (nest 0)
 * holds only plain nodes. */
static int copy_leaf_nodes(struct cwalk *w, unsigned char *buf, unsigned int level, int nest)
{
	unsigned int i, n = page_hdr(buf)->nkeys;
	int rc;

	for (i = 0; i < n; i++) {
		unsigned char *node;
		unsigned int fl;
		struct dbrec rec;

		if (node_check(buf, i, w->psize))
			return HEED_CORRUPTED;
		node = page_node(buf, i);
		fl = node_flags(node);
		w->count.entries++;
		if ((fl & ~(unsigned int)(N_BIG | N_DBREC | N_DUP | N_DUPS)) || (fl && !nest))
			return HEED_CORRUPTED;
		if (fl & N_DUPS) {
			unsigned int nv;

			/* Its values are inline: no page to copy. */
			if (fl != N_DUPS ||
			    dup_list_check(node_data(node), node_dsize(node), w->vcmp, &nv))
				return HEED_CORRUPTED;
			w->count.entries += nv - 1u;
			continue;
		}
		if (fl & N_BIG) {
			if (fl & N_DBREC)
				return HEED_CORRUPTED;
			rc = copy_overflow(w, node);
			if (rc)
				return rc;
		} else if (fl & N_DBREC) {
			if (nest < 2 || (fl & N_DUP) || node_dsize(node) != sizeof(rec))
				return HEED_CORRUPTED;
			memcpy(&rec, node_data(node), sizeof(rec));
			w->vcmp = dbrec_order(w->txn->env, node_key(node), node_ksize(node),
					      rec.flags, 1);
			rc = copy_db(w, &rec, level, 1);
			w->vcmp = NULL; /* the main db's: it has no values of keys */
			if (rc)
				return rc;
			memcpy(node_data(node), &rec, sizeof(rec));
		} else if (fl & N_DUP) {
			if (node_dsize(node) != sizeof(rec))
				return HEED_CORRUPTED;
			memcpy(&rec, node_data(node), sizeof(rec));
			rc = copy_db(w, &rec, level, 0);
			if (rc)
				return rc;
			if (!rec.root || rec.overflow_pages)
				return HEED_CORRUPTED;
			memcpy(node_data(node), &rec, sizeof(rec));
			/* The db's record counts its value trees' pages and values
			 * (the key's node was counted as one). */
			w->count.entries += rec.entries - 1;
			w->count.branch_pages += rec.branch_pages;
			w->count.leaf_pages += rec.leaf_pages;
		}
	}
	return 0;
}

/* Copy the subtree under pgno, a page at depth lvl of a tree of the given
 * depth, into the copy; *newpg is the number it got there. level is the
 * buffer of this page (trees of named dbs use the levels after the main
 * db's). */
static int copy_page(struct cwalk *w, uint64_t pgno, unsigned int lvl, unsigned int depth,
		     unsigned int level, int nest, uint64_t *newpg)
{
	int leaf = lvl + 1 == depth, rc;
	unsigned char *buf;
	unsigned int i, n;
	void *p;

	if (level >= MAX_LEVEL - 1)
		return HEED_CORRUPTED;
	rc = mark(w, pgno);
	if (!rc)
		rc = page_get(w->txn, pgno, &p);
	if (!rc)
		rc = bt_check_page(p, w->psize, leaf ? P_LEAF : P_BRANCH);
	if (rc)
		return rc;
	n = page_hdr(p)->nkeys;
	if (n == 0)
		return HEED_CORRUPTED;
	if (!w->bufs[level]) {
		w->bufs[level] = malloc(w->psize);
		if (!w->bufs[level])
			return ENOMEM;
	}
	buf = w->bufs[level];
	memcpy(buf, p, w->psize);
	/* The gap between slots and nodes holds stale bytes: a copy holds
	 * only what the tree needs. */
	memset(buf + page_hdr(buf)->lower, 0, page_room(buf));
	if (leaf) {
		w->count.leaf_pages++;
		rc = copy_leaf_nodes(w, buf, level + 1, nest);
		if (rc)
			return rc;
	} else {
		w->count.branch_pages++;
		for (i = 0; i < n; i++) {
			unsigned char *node;
			uint64_t child;

			if (node_check(buf, i, w->psize) || node_dsize(page_node(buf, i)) != 8)
				return HEED_CORRUPTED;
			node = page_node(buf, i);
			rc = copy_page(w, node_child(node), lvl + 1, depth, level + 1, nest,
				       &child);
			if (rc)
				return rc;
			wr64(node_data(node), child);
		}
	}
	*newpg = w->next;
	page_hdr(buf)->pgno = *newpg;
	return emit(w, buf, 1);
}

/* Copy the tree of rec and point rec at the copy; the record's counts must
 * equal what the walk found. */
static int copy_db(struct cwalk *w, struct dbrec *rec, unsigned int level, int nest)
{
	struct dbrec saved = w->count;
	int rc;

	if ((rec->root == 0) != (rec->depth == 0) || rec->depth > MAX_DEPTH)
		return HEED_CORRUPTED;
	if (!rec->root)
		return rec->entries || rec->branch_pages || rec->leaf_pages || rec->overflow_pages
			       ? HEED_CORRUPTED
			       : 0;
	memset(&w->count, 0, sizeof(w->count));
	rc = copy_page(w, rec->root, 0, rec->depth, level, nest, &rec->root);
	if (rc)
		return rc;
	if (w->count.entries != rec->entries || w->count.branch_pages != rec->branch_pages ||
	    w->count.leaf_pages != rec->leaf_pages ||
	    w->count.overflow_pages != rec->overflow_pages)
		return HEED_CORRUPTED;
	w->count = saved;
	return 0;
}

static int copy_compact(heed_txn *txn, struct out *o)
{
	heed_env *env = txn->env;
	struct pgvec recs = {0}, chain = {0};
	struct cwalk w = {0};
	struct dbrec main = txn->dbs[0], walked = txn->dbs[0];
	uint64_t unused;
	unsigned int i;
	int rc;

	w.txn = txn;
	w.o = o;
	w.psize = env->psize;
	w.next = NUM_METAS;
	rc = freelist_read(env, txn->free_head, txn->next_pgno, &recs, &chain);
	if (rc)
		goto out;
	unused = NUM_METAS + chain.n + recs.n / 2;
	if (unused > txn->next_pgno) {
		rc = HEED_CORRUPTED;
		goto out;
	}
	w.end = txn->next_pgno - unused + NUM_METAS;
	w.seen = calloc(txn->next_pgno / 8 + 1, 1);
	w.bufs[MAX_LEVEL - 1] = malloc(w.psize);
	if (!w.seen || !w.bufs[MAX_LEVEL - 1]) {
		rc = ENOMEM;
		goto out;
	}
	/* The main root is the last page written: its number is known now. */
	main.root = main.root ? w.end - 1 : 0;
	rc = put_metas(o, txn, w.end, 0, 0, &main);
	if (!rc)
		rc = copy_db(&w, &walked, 0, 2);
	if (!rc && (w.next != w.end || walked.root != main.root))
		rc = HEED_CORRUPTED; /* pages in no tree and not free: a leak */
	if (!rc)
		rc = out_flush(o);
out:
	for (i = 0; i < MAX_LEVEL; i++)
		free(w.bufs[i]);
	free(w.seen);
	pgvec_free(&recs);
	pgvec_free(&chain);
	return rc;
}

HEED_API int heed_env_copyfd2(heed_env *env, int fd, unsigned int flags)
{
	struct out o = {.fd = fd};
	heed_txn *txn = NULL;
	int rc;

	if (env_check(env) || fd < 0 || (flags & ~(unsigned int)HEED_CP_COMPACT))
		return EINVAL;
	o.buf = malloc(OUT_BUF);
	if (!o.buf)
		return ENOMEM;
	rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
	if (rc)
		goto out;
	rc = (flags & HEED_CP_COMPACT) ? copy_compact(txn, &o) : copy_plain(txn, &o);
out:
	heed_txn_abort(txn);
	free(o.buf);
	return rc;
}

HEED_API int heed_env_copyfd(heed_env *env, int fd)
{
	return heed_env_copyfd2(env, fd, 0);
}

HEED_API int heed_env_copy2(heed_env *env, const char *path, unsigned int flags)
{
	struct stat st;
	char *file = NULL;
	size_t n;
	int fd = -1, rc;

	if (env_check(env) || !path || (flags & ~(unsigned int)HEED_CP_COMPACT))
		return EINVAL;
	if (fstat(env->fd, &st) < 0)
		return errno;
	n = strlen(path) + sizeof("/data.heed");
	file = malloc(n);
	if (!file)
		return ENOMEM;
	snprintf(file, n, (env->flags & HEED_NOSUBDIR) ? "%s" : "%s/data.heed", path);
	/* O_EXCL: a copy never overwrites a file, least of all its source. */
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777);
	if (fd < 0) {
		rc = errno;
		goto out;
	}
	rc = heed_env_copyfd2(env, fd, flags);
	if (!rc && fdatasync(fd) < 0)
		rc = errno;
	if (close(fd) < 0 && !rc)
		rc = errno;
	if (rc)
		unlink(file); /* ours: created above with O_EXCL */
out:
	free(file);
	return rc;
}

HEED_API int heed_env_copy(heed_env *env, const char *path)
{
	return heed_env_copy2(env, path, 0);
}
