/*
 * lock.c - the lock file: reader table and writer lock, shared by processes.
 *
 * Layout (LOCK_VERSION 2): struct lock_hdr (64 bytes: magic, version,
 * nslots) then nslots struct reader_slot of 64 bytes (txnid, owner word,
 * tid), one cache line each so readers of different threads never share a
 * line; the byte-offset table is in lock.h.
 *
 * Byte ranges of the lock file locked with OFD locks (fcntl F_OFD_SETLK*),
 * which belong to the open file description: the kernel drops them when
 * its last descriptor closes, so a dead process never wedges anything and
 * leaves nothing that looks alive:
 *   byte 0   the writer lock (held for the life of a write txn)
 *   byte 1   the init lock (held while a process checks/initializes the file)
 *   byte 2   the users lock: every open env holds it shared
 *   first byte of slot i (offset 64 + 64 i): held by the env owning slot i
 * Threads of one process share the env's file description, so the writer
 * mutex of the env serializes them before they reach byte 0, and its slot
 * mutex serializes their claims and frees of slots.
 *
 * Invariants of the reader table:
 *   1. A slot whose owner pid is 0 is free. An env claims it by taking the
 *      slot's byte lock without waiting, then compare-and-swap of the owner
 *      word from free to (generation + 1) << 32 | pid. Two claimants never
 *      share a slot.
 *   2. Only the owning env changes txnid of a claimed slot, and sets it to
 *      SLOT_IDLE before giving the slot back (pid 0, then the byte lock).
 *   3. A reader publishes its snapshot txnid and then re-reads the newest
 *      meta; it uses the snapshot only if that is still the newest commit.
 *      A writer that scanned the table before the publication therefore
 *      began from that same commit and reuses only pages freed by commits
 *      up to it, which the snapshot no longer references.
 *   4. The owner is alive while the slot's byte lock is held
 *      (F_OFD_GETLK), or, for this env's own slots, whose lock GETLK cannot
 *      see, while slot_local says so. A pid proves nothing: pids are
 *      recycled (and differ between pid namespaces). A stale slot is
 *      cleared by one compare-and-swap of the owner word it was judged on
 *      to SLOT_RECLAIM (a new owner has another generation, so it is never
 *      wiped), then txnid SLOT_IDLE, then free.
 *   5. A thread keeps one slot (thread-specific data) across read txns, so
 *      a read txn begin costs no syscall; the slot goes back to free when
 *      the thread exits or the env closes. A txn handed to another thread
 *      keeps the slot: if its thread exits first, the slot becomes
 *      SLOT_ORPHAN and the txn's end frees it.
 *   6. An env that opens the file while no other env holds the users lock
 *      is alone: it rewrites the table (after a reboot or a crash of every
 *      user nothing in it is true), and a lock file of another version or
 *      layout is only ever rewritten then, never read as this one.
 *
 * Why byte locks and not a process start time: the kernel releases them
 * exactly when the owner's file description dies (no /proc parsing, no
 * clock-tick ties, correct across pid namespaces and after a reboot), and
 * taking one costs a syscall only when a thread claims a slot, not per
 * read txn.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOCK_WRITER 0
#define LOCK_INIT   1
#define LOCK_USERS  2
#define OWNER_GEN   0xffffffff00000000ULL

void (*lock_stale_hook)(heed_env *env, unsigned int i);

static int ofd_lock(int fd, short type, off_t start, int wait)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = 1};

	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		return errno;
	}
	return 0;
}

static off_t slotlock_off(unsigned int i)
{
	return (off_t)(sizeof(struct lock_hdr) + (size_t)i * sizeof(struct reader_slot));
}

/* Invariant 4: is the owner of slot i alive? An error of GETLK keeps it. */
static int slot_live(heed_env *env, unsigned int i)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = slotlock_off(i), .l_len = 1};

	if (atomic_load(&env->slot_local[i].state))
		return 1;
	if (fcntl(env->lockfd, F_OFD_GETLK, &fl) < 0)
		return 1;
	return fl.l_type != F_UNLCK;
}

/* Free slot i of this env (slotmutex held or the env closing). */
static void slot_free(heed_env *env, unsigned int i)
{
	struct reader_slot *s = &env->slots[i];

	s->tid = 0;
	atomic_store(&s->txnid, SLOT_IDLE);
	atomic_store(&s->owner, atomic_load(&s->owner) & OWNER_GEN);
	atomic_store(&env->slot_local[i].state, 0);
	ofd_lock(env->lockfd, F_UNLCK, slotlock_off(i), 0);
}

/* Clear the slots of dead owners (invariant 4); returns how many. */
static unsigned int clear_stale(heed_env *env)
{
	unsigned int i, n = 0;

	for (i = 0; i < env->maxreaders; i++) {
		struct reader_slot *s = &env->slots[i];
		uint64_t w = atomic_load(&s->owner);
		uint32_t pid = slot_pid(w);

		if (!pid || pid == SLOT_RECLAIM || slot_live(env, i))
			continue;
		if (lock_stale_hook)
			lock_stale_hook(env, i);
		if (!atomic_compare_exchange_strong(&s->owner, &w, (w & OWNER_GEN) | SLOT_RECLAIM))
			continue;
		s->tid = 0;
		atomic_store(&s->txnid, SLOT_IDLE);
		atomic_store(&s->owner, w & OWNER_GEN);
		n++;
	}
	return n;
}

/* Free this env's orphaned slots whose txn has ended (slotmutex held):
 * the end of the txn missed the mark when it raced with the thread's exit. */
static void clear_orphans(heed_env *env)
{
	unsigned int i;

	for (i = 0; i < env->maxreaders; i++)
		if (atomic_load(&env->slot_local[i].state) == SLOT_ORPHAN &&
		    atomic_load(&env->slots[i].txnid) == SLOT_IDLE)
			slot_free(env, i);
}

/* Thread exit: free the thread's slot, or, while a txn handed to another
 * thread still reads through it, leave it to the end of that txn. */
static void thread_slot_release(void *arg)
{
	struct slot_local *l = arg;
	heed_env *env = l->env;
	unsigned int i = (unsigned int)(l - env->slot_local);

	pthread_mutex_lock(&env->slotmutex);
	atomic_store(&l->state, SLOT_ORPHAN);
	if (atomic_load(&env->slots[i].txnid) == SLOT_IDLE)
		slot_free(env, i);
	pthread_mutex_unlock(&env->slotmutex);
}

/* A fresh table of env->maxreaders idle slots (invariant 6). */
static int lock_init_file(heed_env *env, int fd, size_t need)
{
	struct lock_hdr *h;
	struct reader_slot *s;
	unsigned int i;
	void *buf;
	int rc = 0;

	buf = calloc(1, need);
	if (!buf)
		return ENOMEM;
	h = buf;
	h->magic = LOCK_MAGIC;
	h->version = LOCK_VERSION;
	h->nslots = env->maxreaders;
	s = (struct reader_slot *)(h + 1);
	for (i = 0; i < env->maxreaders; i++)
		s[i].txnid = SLOT_IDLE;
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)need) < 0)
		rc = errno;
	else if (pwrite(fd, buf, need, 0) != (ssize_t)need)
		rc = errno ? errno : EIO;
	free(buf);
	return rc;
}

/* The table another env set up: its slot count, or an error for a file
 * that is not a lock file of this version (never read as one). */
static int lock_read_hdr(heed_env *env, int fd)
{
	struct lock_hdr h;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errno;
	if ((size_t)st.st_size < sizeof(h))
		return HEED_INVALID;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return errno ? errno : EIO;
	if (h.magic != LOCK_MAGIC)
		return HEED_INVALID;
	if (h.version != LOCK_VERSION)
		return HEED_VERSION_MISMATCH;
	if (!h.nslots || h.nslots > 65536 ||
	    (size_t)st.st_size < sizeof(h) + (size_t)h.nslots * sizeof(struct reader_slot))
		return HEED_INVALID;
	env->maxreaders = h.nslots;
	return 0;
}

int lock_open(heed_env *env)
{
	size_t need;
	unsigned int i;
	int rc, fd, alone;
	void *m;

	/* Cached: getpid() is a syscall and a read txn begin makes none. An
	 * env is not usable across fork() (as with LMDB). */
	env->pid = (uint32_t)getpid();
	rc = pthread_mutex_init(&env->slotmutex, NULL);
	if (rc)
		return rc;
	env->slotmutex_ok = 1;
	fd = open(env->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	env->lockfd = fd;
	rc = ofd_lock(fd, F_WRLCK, LOCK_INIT, 1);
	if (rc)
		return rc;
	rc = ofd_lock(fd, F_WRLCK, LOCK_USERS, 0);
	alone = rc == 0;
	if (rc == EAGAIN || rc == EACCES)
		rc = lock_read_hdr(env, fd);
	else if (!rc)
		rc = lock_init_file(env, fd,
				    sizeof(struct lock_hdr) +
					    (size_t)env->maxreaders * sizeof(struct reader_slot));
	/* Shared from now on (a held exclusive lock converts in place). */
	if (!rc)
		rc = ofd_lock(fd, F_RDLCK, LOCK_USERS, 0);
	if (rc)
		goto unlock;
	need = sizeof(struct lock_hdr) + (size_t)env->maxreaders * sizeof(struct reader_slot);
	env->slot_local = calloc(env->maxreaders, sizeof(*env->slot_local));
	if (!env->slot_local) {
		rc = ENOMEM;
		goto unlock;
	}
	for (i = 0; i < env->maxreaders; i++)
		env->slot_local[i].env = env;
	m = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		rc = errno;
		goto unlock;
	}
	env->lock = m;
	env->locksize = need;
	env->slots = (struct reader_slot *)((char *)m + sizeof(struct lock_hdr));
	if (!alone)
		clear_stale(env);
	rc = pthread_key_create(&env->tkey, thread_slot_release);
	if (rc)
		goto unlock;
	env->tkey_ok = 1;
unlock:
	ofd_lock(fd, F_UNLCK, LOCK_INIT, 0);
	return rc;
}

void lock_close(heed_env *env)
{
	unsigned int i;

	if (env->tkey_ok) {
		pthread_key_delete(env->tkey);
		env->tkey_ok = 0;
	}
	if (env->lock) {
		for (i = 0; i < env->maxreaders; i++)
			if (atomic_load(&env->slot_local[i].state))
				slot_free(env, i);
		munmap(env->lock, env->locksize);
		env->lock = NULL;
	}
	free(env->slot_local);
	env->slot_local = NULL;
	if (env->lockfd >= 0)
		close(env->lockfd);
	env->lockfd = -1;
	if (env->slotmutex_ok) {
		pthread_mutex_destroy(&env->slotmutex);
		env->slotmutex_ok = 0;
	}
}

int lock_writer(heed_env *env)
{
	return ofd_lock(env->lockfd, F_WRLCK, LOCK_WRITER, 1);
}

void lock_writer_release(heed_env *env)
{
	ofd_lock(env->lockfd, F_UNLCK, LOCK_WRITER, 0);
}

/* Invariant 1 (slotmutex held). slot_local is set before the owner word,
 * so a sweep of this env that sees the new owner also sees it is ours. */
static int claim(heed_env *env)
{
	unsigned int i;

	for (i = 0; i < env->maxreaders; i++) {
		struct reader_slot *s = &env->slots[i];
		uint64_t w = atomic_load(&s->owner);

		if (slot_pid(w))
			continue;
		/* Held: another env is claiming it. */
		if (ofd_lock(env->lockfd, F_WRLCK, slotlock_off(i), 0))
			continue;
		atomic_store(&env->slot_local[i].state, SLOT_MINE);
		if (atomic_compare_exchange_strong(&s->owner, &w,
						   ((w & OWNER_GEN) + (1ULL << 32)) | env->pid)) {
			atomic_store(&s->txnid, SLOT_IDLE);
			s->tid = (uint64_t)syscall(SYS_gettid);
			return (int)i;
		}
		atomic_store(&env->slot_local[i].state, 0);
		ofd_lock(env->lockfd, F_UNLCK, slotlock_off(i), 0);
	}
	return -1;
}

int reader_acquire(heed_env *env, struct reader_slot **slot, int *cached)
{
	struct slot_local *l = pthread_getspecific(env->tkey);
	int i;

	if (l) {
		struct reader_slot *s = &env->slots[l - env->slot_local];

		if (atomic_load_explicit(&s->txnid, memory_order_relaxed) == SLOT_IDLE) {
			*slot = s;
			*cached = 1;
			return 0;
		}
	}
	pthread_mutex_lock(&env->slotmutex);
	i = claim(env);
	if (i < 0) {
		clear_orphans(env);
		clear_stale(env);
		i = claim(env);
	}
	pthread_mutex_unlock(&env->slotmutex);
	if (i < 0)
		return HEED_READERS_FULL;
	*slot = &env->slots[i];
	*cached = 0;
	if (!l && pthread_setspecific(env->tkey, &env->slot_local[i]) == 0)
		*cached = 1;
	return 0;
}

void reader_release(heed_env *env, struct reader_slot *slot, int cached)
{
	unsigned int i = (unsigned int)(slot - env->slots);

	if (cached) {
		atomic_store_explicit(&slot->txnid, SLOT_IDLE, memory_order_release);
		/* Its thread exited while this txn used it (invariant 5). A
		 * mark set just after this load is met by clear_orphans. */
		if (atomic_load_explicit(&env->slot_local[i].state, memory_order_relaxed) !=
		    SLOT_ORPHAN)
			return;
	}
	pthread_mutex_lock(&env->slotmutex);
	if (atomic_load(&env->slot_local[i].state))
		slot_free(env, i);
	pthread_mutex_unlock(&env->slotmutex);
}

uint64_t readers_oldest(heed_env *env, uint64_t cap)
{
	uint64_t oldest = cap;
	unsigned int i;
	int again = 1, oi;

	while (again) {
		again = 0;
		oldest = cap;
		oi = -1;
		for (i = 0; i < env->maxreaders; i++) {
			struct reader_slot *s = &env->slots[i];
			uint64_t t = atomic_load(&s->txnid);

			if (t != SLOT_IDLE && t < oldest && slot_pid(atomic_load(&s->owner))) {
				oldest = t;
				oi = (int)i;
			}
		}
		/* Only the slot pinning the oldest snapshot costs a syscall:
		 * a dead owner there would stop page reuse for good. */
		if (oi >= 0 && !slot_live(env, (unsigned int)oi) && clear_stale(env))
			again = 1;
	}
	return oldest;
}

unsigned int readers_count(heed_env *env)
{
	unsigned int i, n = 0;

	for (i = 0; i < env->maxreaders; i++)
		if (slot_pid(atomic_load(&env->slots[i].owner)) &&
		    atomic_load(&env->slots[i].txnid) != SLOT_IDLE)
			n++;
	return n;
}
