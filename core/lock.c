/*
 * lock.c - the lock file: reader table and writer lock, shared by processes.
 *
 * Layout: struct lock_hdr (64 bytes: magic, version, nslots) then nslots
 * struct reader_slot of 64 bytes (txnid, pid, tid, owner token), one cache
 * line each so readers of different threads never share a line.
 *
 * Byte ranges of the lock file locked with OFD locks (fcntl F_OFD_SETLKW),
 * which the kernel drops when the holder dies, so a dead process never
 * wedges the environment:
 *   byte 0   the writer lock (held for the life of a write txn)
 *   byte 1   the init lock (held while a process checks/initializes the file)
 * Threads of one process share the file description, so the writer mutex
 * of the env serializes them before they reach byte 0.
 *
 * Invariants of the reader table:
 *   1. A slot with pid 0 is free. A process claims one by compare-and-swap
 *      of pid from 0 to its pid, so two claimants never share a slot.
 *   2. Only the owning process changes txnid of a claimed slot, and sets it
 *      to SLOT_IDLE (UINT64_MAX) before giving the slot back (pid 0).
 *   3. A reader publishes its snapshot txnid and then re-reads the newest
 *      meta; it uses the snapshot only if that is still the newest commit.
 *      A writer that scanned the table before the publication therefore
 *      began from that same commit and reuses only pages freed by commits
 *      up to it, which the snapshot no longer references.
 *   4. A slot whose pid no longer exists (kill(pid, 0) fails with ESRCH) is
 *      stale and may be freed by anyone: its process can pin nothing.
 *   5. A thread keeps one slot (thread-specific data) across read txns, so
 *      a read txn begin costs no syscall; the slot goes back to free when
 *      the thread exits or the env closes.
 */
#include "internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

static uint64_t env_token(heed_env *env)
{
	return (uint64_t)(uintptr_t)env ^ ((uint64_t)env->pid << 40);
}

static void slot_free(struct reader_slot *s)
{
	atomic_store(&s->txnid, SLOT_IDLE);
	s->tid = 0;
	s->pad2[0] = 0;
	atomic_store(&s->pid, 0);
}

static int pid_dead(uint32_t pid)
{
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Free the slots of dead processes (invariant 4). */
static unsigned int clear_stale(heed_env *env)
{
	unsigned int i, n = 0;

	for (i = 0; i < env->maxreaders; i++) {
		struct reader_slot *s = &env->slots[i];
		uint32_t pid = atomic_load(&s->pid);

		if (pid && pid != env->pid && pid_dead(pid)) {
			uint32_t expect = pid;

			atomic_store(&s->txnid, SLOT_IDLE);
			if (atomic_compare_exchange_strong(&s->pid, &expect, 0))
				n++;
		}
	}
	return n;
}

static void thread_slot_release(void *arg)
{
	struct reader_slot *s = arg;

	if (s)
		slot_free(s);
}

int lock_open(heed_env *env)
{
	struct stat st;
	size_t need;
	int rc, fd;
	void *m;

	/* Cached: getpid() is a syscall and a read txn begin makes none. An
	 * env is not usable across fork() (as with LMDB). */
	env->pid = (uint32_t)getpid();
	fd = open(env->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	env->lockfd = fd;
	rc = ofd_lock(fd, F_WRLCK, 1, 1);
	if (rc)
		return rc;
	if (fstat(fd, &st) < 0) {
		rc = errno;
		goto unlock;
	}
	need = sizeof(struct lock_hdr) + (size_t)env->maxreaders * sizeof(struct reader_slot);
	if ((size_t)st.st_size >= sizeof(struct lock_hdr)) {
		struct lock_hdr h;

		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
			rc = EIO;
			goto unlock;
		}
		if (h.magic == LOCK_MAGIC && h.version == LOCK_VERSION && h.nslots > 0 &&
		    h.nslots <= 65536 &&
		    (size_t)st.st_size >=
			    sizeof(h) + (size_t)h.nslots * sizeof(struct reader_slot)) {
			env->maxreaders = h.nslots;
			need = sizeof(h) + (size_t)h.nslots * sizeof(struct reader_slot);
			goto map;
		}
	}
	/* New or unusable lock file: nobody can be using it (a user would have
	 * initialized it under the init lock we hold), so start it afresh. */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)need) < 0) {
		rc = errno;
		goto unlock;
	}
	{
		struct lock_hdr h = {
			.magic = LOCK_MAGIC, .version = LOCK_VERSION, .nslots = env->maxreaders};
		struct reader_slot s = {.txnid = SLOT_IDLE};
		unsigned int i;

		for (i = 0; i < env->maxreaders; i++) {
			if (pwrite(fd, &s, sizeof(s), (off_t)(sizeof(h) + i * sizeof(s))) !=
			    (ssize_t)sizeof(s)) {
				rc = EIO;
				goto unlock;
			}
		}
		if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
			rc = EIO;
			goto unlock;
		}
	}
map:
	m = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		rc = errno;
		goto unlock;
	}
	env->lock = m;
	env->locksize = need;
	env->slots = (struct reader_slot *)((char *)m + sizeof(struct lock_hdr));
	clear_stale(env);
	rc = pthread_key_create(&env->tkey, thread_slot_release);
	if (rc)
		goto unlock;
	env->tkey_ok = 1;
unlock:
	ofd_lock(fd, F_UNLCK, 1, 0);
	return rc;
}

void lock_close(heed_env *env)
{
	uint64_t tok = env_token(env);
	unsigned int i;

	if (env->tkey_ok) {
		pthread_key_delete(env->tkey);
		env->tkey_ok = 0;
	}
	if (env->lock) {
		for (i = 0; i < env->maxreaders; i++) {
			struct reader_slot *s = &env->slots[i];

			if (atomic_load(&s->pid) == env->pid && s->pad2[0] == tok)
				slot_free(s);
		}
		munmap(env->lock, env->locksize);
		env->lock = NULL;
	}
	if (env->lockfd >= 0)
		close(env->lockfd);
	env->lockfd = -1;
}

int lock_writer(heed_env *env)
{
	return ofd_lock(env->lockfd, F_WRLCK, 0, 1);
}

void lock_writer_release(heed_env *env)
{
	ofd_lock(env->lockfd, F_UNLCK, 0, 0);
}

static struct reader_slot *claim(heed_env *env)
{
	uint32_t me = env->pid;
	unsigned int i;

	for (i = 0; i < env->maxreaders; i++) {
		struct reader_slot *s = &env->slots[i];
		uint32_t expect = 0;

		if (atomic_load_explicit(&s->pid, memory_order_relaxed))
			continue;
		if (atomic_compare_exchange_strong(&s->pid, &expect, me)) {
			atomic_store(&s->txnid, SLOT_IDLE);
			s->tid = (uint64_t)syscall(SYS_gettid);
			s->pad2[0] = env_token(env);
			return s;
		}
	}
	return NULL;
}

int reader_acquire(heed_env *env, struct reader_slot **slot, int *cached)
{
	struct reader_slot *s = pthread_getspecific(env->tkey);

	if (s && atomic_load_explicit(&s->txnid, memory_order_relaxed) == SLOT_IDLE &&
	    atomic_load_explicit(&s->pid, memory_order_relaxed) == env->pid) {
		*slot = s;
		*cached = 1;
		return 0;
	}
	if (s && atomic_load_explicit(&s->pid, memory_order_relaxed) != env->pid) {
		/* Freed by a stale-slot sweep of a fork or a reinitialized
		 * file: claim a new one for this thread. */
		pthread_setspecific(env->tkey, NULL);
		s = NULL;
	}
	*slot = claim(env);
	if (!*slot && clear_stale(env))
		*slot = claim(env);
	if (!*slot)
		return HEED_READERS_FULL;
	*cached = 0;
	if (!s && pthread_setspecific(env->tkey, *slot) == 0)
		*cached = 1;
	return 0;
}

void reader_release(heed_env *env, struct reader_slot *slot, int cached)
{
	(void)env;				     /* only the debug check reads it */
	assert(atomic_load(&slot->pid) == env->pid); /* invariant 2 */
	if (cached)
		atomic_store_explicit(&slot->txnid, SLOT_IDLE, memory_order_release);
	else
		slot_free(slot);
}

uint64_t readers_oldest(heed_env *env, uint64_t cap)
{
	uint64_t oldest = cap;
	uint32_t me = env->pid, opid = 0;
	unsigned int i;
	int again = 1;

	while (again) {
		again = 0;
		oldest = cap;
		opid = 0;
		for (i = 0; i < env->maxreaders; i++) {
			struct reader_slot *s = &env->slots[i];
			uint64_t t = atomic_load(&s->txnid);

			if (t != SLOT_IDLE && t < oldest && atomic_load(&s->pid)) {
				oldest = t;
				opid = atomic_load(&s->pid);
			}
		}
		/* Only the slot pinning the oldest snapshot costs a syscall:
		 * a dead process there would stop page reuse for good. */
		if (opid && opid != me && pid_dead(opid) && clear_stale(env))
			again = 1;
	}
	return oldest;
}

unsigned int readers_count(heed_env *env)
{
	unsigned int i, n = 0;

	for (i = 0; i < env->maxreaders; i++)
		if (atomic_load(&env->slots[i].pid) &&
		    atomic_load(&env->slots[i].txnid) != SLOT_IDLE)
			n++;
	return n;
}
