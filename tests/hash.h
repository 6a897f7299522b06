/*
 * hash.h - the two hash functions the multi-process and threaded stress tests
 * share to derive and verify set values. Plain C, no Criterion: the threaded
 * stress program runs under ThreadSanitizer, where Criterion cannot start.
 */
#ifndef HEED_TESTS_HASH_H
#define HEED_TESTS_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A 64-bit finalizer (MurmurHash3's): spreads a seed into value lengths. */
static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* FNV-1a over buf, continuing from acc: a snapshot's values checksum. */
static inline uint64_t checksum(const unsigned char *buf, size_t len, uint64_t acc)
{
	for (size_t b = 0; b < len; b++)
		acc = (acc ^ buf[b]) * 0x100000001b3ULL;
	return acc;
}

#endif
