/*
 * lock.h - the lock file's format and lock.c's functions (internal).
 *
 * The lock file, lock.heed, is read and written by every process that opens
 * the env: a 64-byte header, then nslots reader slots of 64 bytes (one cache
 * line each, so readers of different threads never share a line).
 * Integers are native (little-endian; the file never leaves the machine),
 * written zero where no field is named.
 *
 * Header (struct lock_hdr), at offset 0:
 *
 *   offset size  field
 *    0      4    magic     LOCK_MAGIC "HLCK"
 *    4      4    version   LOCK_VERSION (a file of another one is rewritten
 *                          by an env that is alone, else refused)
 *    8      4    nslots    reader slots that follow (1..65536)
 *   12      4    pad       zero
 *   16     48    reserved  zero
 *
 * Reader slot i (struct reader_slot), at offset 64 + 64 * i:
 *
 *   offset size  field
 *    0      8    txnid     snapshot the reader pins, SLOT_IDLE when none
 *                          (atomic: writers of other processes read it)
 *    8      8    owner     generation << 32 | pid; pid 0 free, SLOT_RECLAIM
 *                          while a stale slot is cleared (atomic, changed
 *                          only by compare-and-swap)
 *   16      8    tid       the owner thread's id (heed-stat only)
 *   24     40    pad       zero
 *
 * Byte-range (OFD) locks on the file, not its contents: byte 0 the writer,
 * byte 1 the init lock, byte 2 the users lock, and the first byte of slot i
 * (offset 64 + 64 * i) held by the env owning slot i (lock.c).
 */
#ifndef HEED_LOCK_H
#define HEED_LOCK_H

#include "heed.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define LOCK_MAGIC   0x4b434c48u /* "HLCK" */
#define LOCK_VERSION 2u		 /* 1: owner was a bare pid, no per-slot lock */
#define SLOT_IDLE    UINT64_MAX

struct lock_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t pad;
	uint64_t reserved[6];
};

/* A slot's owner word: generation << 32 | pid. pid 0: free; SLOT_RECLAIM:
 * a stale slot being cleared. Every claim bumps the generation, so a
 * compare-and-swap on the word can never mistake a new owner for an old
 * one, even one with the same (recycled) pid. */
#define SLOT_RECLAIM UINT32_MAX

struct reader_slot {
	_Atomic uint64_t txnid; /* snapshot pinned, SLOT_IDLE when none */
	_Atomic uint64_t owner; /* generation << 32 | pid */
	uint64_t tid;		/* informational (heed-stat) */
	uint64_t pad[5];
};

/* Other processes read these bytes: the table above is the layout. */
#define LOCK_FIELD(type, f, off, size)                                                             \
	_Static_assert(offsetof(struct type, f) == (off) &&                                        \
			       sizeof(((struct type *)0)->f) == (size),                            \
		       #type "." #f ": offset " #off ", " #size " bytes")
LOCK_FIELD(lock_hdr, magic, 0, 4);
LOCK_FIELD(lock_hdr, version, 4, 4);
LOCK_FIELD(lock_hdr, nslots, 8, 4);
LOCK_FIELD(lock_hdr, pad, 12, 4);
LOCK_FIELD(lock_hdr, reserved, 16, 48);
_Static_assert(sizeof(struct lock_hdr) == 64, "lock header is 64 bytes");
LOCK_FIELD(reader_slot, txnid, 0, 8);
LOCK_FIELD(reader_slot, owner, 8, 8);
LOCK_FIELD(reader_slot, tid, 16, 8);
LOCK_FIELD(reader_slot, pad, 24, 40);
_Static_assert(sizeof(struct reader_slot) == 64, "reader slot is one cache line");
#undef LOCK_FIELD

static inline uint32_t slot_pid(uint64_t owner)
{
	return (uint32_t)owner;
}

/* What this env (not the process: two envs of one process each have their
 * own) knows of a slot; env->slot_local[i] for slot i. */
#define SLOT_MINE 1 /* claimed by this env */
#define SLOT_ORPHAN                                                                                \
	2 /* claimed by this env, cached by a thread that exited                                   \
	   * while a read txn (handed to another thread) used it:                                  \
	   * the end of that txn frees it */

struct slot_local {
	heed_env *env; /* the thread-exit destructor gets only this record */
	_Atomic unsigned int state;
};

int lock_open(heed_env *env);
void lock_close(heed_env *env);
int lock_writer(heed_env *env);
void lock_writer_release(heed_env *env);
int reader_acquire(heed_env *env, struct reader_slot **slot, int *cached);
void reader_release(heed_env *env, struct reader_slot *slot, int cached);
uint64_t readers_oldest(heed_env *env, uint64_t cap);
unsigned int readers_count(heed_env *env);
/* Tests only (hidden): when set, clear_stale calls it after it has found
 * slot i's owner dead and before it claims the slot for clearing. */
extern void (*lock_stale_hook)(heed_env *env, unsigned int i);

#endif
