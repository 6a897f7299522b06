/*
 * genset.h - the generation set that the multi-process (test_multiproc) and
 * the threaded (sanitize/threads) stress tests write and check.
 *
 * Generation gen is one write txn: GENSET_KEYS keys "set00".. in the main
 * database, each value starting with gen (8 bytes) and of a length derived
 * from a seed and gen (a few spill into overflow pages), plus "sum", the
 * FNV-1a checksum of those values in key order. A consistent snapshot shows
 * one generation in every key and a matching checksum.
 *
 * Plain C, no Criterion: the threaded test runs under ThreadSanitizer, where
 * Criterion cannot start.
 */
#ifndef HEED_TESTS_GENSET_H
#define HEED_TESTS_GENSET_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "heed.h"

#define GENSET_KEYS   32
#define GENSET_MAXVAL (8 + 6000)
#define GENSET_SUM0   0xcbf29ce484222325ULL

/* A 64-bit finalizer (MurmurHash3's): spreads a seed into value lengths. */
static inline uint64_t genset_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* FNV-1a over buf, continuing from acc. */
static inline uint64_t genset_sum(const unsigned char *buf, size_t len, uint64_t acc)
{
	for (size_t b = 0; b < len; b++)
		acc = (acc ^ buf[b]) * 0x100000001b3ULL;
	return acc;
}

static inline void genset_key(int i, char kb[16], heed_val *k)
{
	snprintf(kb, 16, "set%02d", i);
	k->size = strlen(kb);
	k->data = kb;
}

/* Value i of generation gen into buf (GENSET_MAXVAL bytes); returns its
 * length. One value in 64 is long enough for overflow pages. */
static inline size_t genset_value(uint64_t seed, uint64_t gen, int i, unsigned char *buf)
{
	uint64_t r = genset_mix(seed ^ (gen * GENSET_KEYS + (uint64_t)i));
	size_t len = 8 + (size_t)(r % 64 == 0 ? 6000 : r % 1500);

	memcpy(buf, &gen, 8);
	for (size_t b = 8; b < len; b++)
		buf[b] = (unsigned char)(gen + (uint64_t)i + b);
	return len;
}

/* Commits generation gen in one write txn. Returns 0 or the heed code of
 * the failed call (the txn is then aborted). */
static inline int genset_write(heed_env *env, uint64_t seed, uint64_t gen)
{
	unsigned char buf[GENSET_MAXVAL];
	uint64_t sum = GENSET_SUM0;
	heed_txn *txn = NULL;
	heed_val k, v;
	char kb[16];
	int rc = heed_txn_begin(env, NULL, 0, &txn);

	if (rc != 0)
		return rc;
	for (int i = 0; i < GENSET_KEYS && rc == 0; i++) {
		genset_key(i, kb, &k);
		v.size = genset_value(seed, gen, i, buf);
		v.data = buf;
		sum = genset_sum(buf, v.size, sum);
		rc = heed_put(txn, 0, &k, &v, 0);
	}
	k.size = 3;
	k.data = "sum";
	v.size = sizeof(sum);
	v.data = &sum;
	if (rc == 0)
		rc = heed_put(txn, 0, &k, &v, 0);
	if (rc != 0) {
		heed_txn_abort(txn);
		return rc;
	}
	return heed_txn_commit(txn);
}

/* Checks the snapshot of txn. Returns its generation, 0 if it holds no
 * generation yet, or UINT64_MAX with what is wrong in why (len bytes). */
static inline uint64_t genset_check(heed_txn *txn, char *why, size_t len)
{
	uint64_t gen = 0, g, stored = 0, sum = GENSET_SUM0;
	heed_val k, v;
	char kb[16];
	int found = 0, rc;

	for (int i = 0; i < GENSET_KEYS; i++) {
		genset_key(i, kb, &k);
		rc = heed_get(txn, 0, &k, &v);
		if (rc == HEED_NOTFOUND && found == 0)
			continue;
		if (rc != 0 || v.size < 8) {
			snprintf(why, len, "get %s: %s", kb,
				 rc ? heed_strerror(rc) : "value too short");
			return UINT64_MAX;
		}
		memcpy(&g, v.data, 8);
		if (found++ == 0)
			gen = g;
		if (g != gen) {
			snprintf(why, len,
				 "snapshot %zu mixes generations %" PRIu64 " and %" PRIu64 " (%s)",
				 heed_txn_id(txn), gen, g, kb);
			return UINT64_MAX;
		}
		sum = genset_sum(v.data, v.size, sum);
	}
	if (found == 0)
		return 0;
	k.size = 3;
	k.data = "sum";
	rc = heed_get(txn, 0, &k, &v);
	if (rc == 0 && v.size == sizeof(stored))
		memcpy(&stored, v.data, sizeof(stored));
	if (found != GENSET_KEYS || rc != 0 || stored != sum) {
		snprintf(why, len, "generation %" PRIu64 ": %d of %d keys, checksum %s", gen, found,
			 GENSET_KEYS,
			 rc		 ? heed_strerror(rc)
			 : stored == sum ? "ok"
					 : "differs");
		return UINT64_MAX;
	}
	return gen;
}

#endif
