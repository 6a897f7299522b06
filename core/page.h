/*
 * page.h - the on-disk format of a heed data file (internal).
 *
 * The file is an array of pages of psize bytes (4096..65536, a power of two,
 * fixed at creation and stored in the meta page). Page n starts at byte
 * n * psize. Every integer is little-endian (heed builds only for
 * little-endian hosts: see the static assertion below).
 *
 * Every page starts with a 24-byte header:
 *
 *   offset size  field
 *    0      8    pgno    the page's own number (checked on read)
 *    8      2    flags   P_BRANCH, P_LEAF, P_OVERFLOW, P_META or P_FREELIST
 *   10      2    nkeys   number of nodes (branch, leaf)
 *   12      4    lower   branch/leaf: 24 + 8 * nkeys, end of the slot array
 *                        overflow: number of pages in the run, this one included
 *                        freelist: number of 8-byte words stored in the page
 *   16      4    upper   branch/leaf: offset of the lowest node byte (psize when empty)
 *   20      4    cpl     branch/leaf: common prefix length, the number of leading
 *                        bytes every key of the page shares (the empty key of a
 *                        branch's slot 0 excepted); 0 when the page has no key.
 *                        Other pages: zero.
 *
 * Branch and leaf pages: after the header, nkeys 8-byte slots in key order;
 * nodes are packed downwards from the end of the page.
 *
 *   slot (u64):  bits 63..16  the 6 bytes of the node's key that follow the
 *                             page's common prefix (key bytes cpl..cpl+5),
 *                             big-endian, zero-padded; 0 for an empty key.
 *                             A search compares the searched key with the
 *                             common prefix once (against the first keyed
 *                             node), then compares these integers; only equal
 *                             ones need the full key. Keys sharing a long
 *                             prefix (zero-padded numbers) stay told apart.
 *                bits 15..0   byte offset of the node in the page
 *
 *   node:   offset size   field
 *            0      2     ksize   key bytes (0 only for slot 0 of a branch page)
 *            2      2     nflags  N_BIG (value in overflow pages), N_DBREC
 *                                 (main db only: the value is a named db's record),
 *                                 N_DUP (a DUPSORT db's key with two values or
 *                                 more: the value is the 48-byte db record of a
 *                                 tree whose keys are the key's values, in order,
 *                                 with no data, and whose nodes have no flags;
 *                                 one value is a plain node), N_DUPS (a
 *                                 DUPSORT db's key with a few values: the
 *                                 value is their sorted list, each a u16 size
 *                                 then its bytes, at most psize / 16 bytes)
 *            4      4     dsize   bytes of data that follow the key
 *            8      ksize key
 *            8+ksize dsize data: leaf: the value, or for N_BIG a u64 first
 *                                 overflow pgno then a u64 value size (dsize 16);
 *                                 branch: the u64 child pgno (dsize 8)
 *
 *   A branch page's slot 0 has an empty key standing for "below the key of
 *   slot 1"; the child of slot i holds keys k with key(i) <= k < key(i+1).
 *
 * Overflow pages: a run of `lower` consecutive pages; the value starts at byte
 * 24 of the first page and continues through the run without more headers.
 *
 * Freelist pages: a chain. Bytes 24..31 hold the next page's pgno (0 ends
 * the chain), then `lower` u64 words. Concatenated over the chain the words
 * form records [txnid][count][pgno x count]: pages freed by commit txnid,
 * reusable once no reader's snapshot is older than txnid; txnid 0 marks
 * pages reusable now.
 *
 * Meta pages are pages 0 and 1; commit txnid writes page txnid % 2:
 *
 *   offset size  field
 *    0     24    header (pgno 0 or 1, flags P_META)
 *   24      4    magic       0x44454548 ("HEED")
 *   28      4    version     HEED_FORMAT_VERSION (3; 2 is read too: format_version_ok)
 *   32      4    psize
 *   36      4    mflags      META_UNSYNCED or 0 (below)
 *   40      8    mapsize     of the last writer (informational)
 *   48      8    txnid       of the commit that wrote this meta
 *   56      8    next_pgno   every pgno below it is allocated (or free-listed)
 *   64      8    free_head   first freelist page, 0 when none
 *   72      8    free_count  pgnos recorded in the freelist
 *   80     48    main db record (below)
 *  128      8    checksum    heed_hash64 of bytes 0..127
 *
 * A db record (the main db's in the meta; a named db's as the value of its
 * N_DBREC node in the main db):
 *
 *   offset size  field
 *    0      8    root        pgno of the root page, 0 for an empty tree
 *    8      4    depth       0 for an empty tree
 *   12      4    flags       HEED_DUPSORT (0x04), with it HEED_DUPFIXED (0x10),
 *                             or 0; the main db's is 0
 *   16      8    branch_pages
 *   24      8    leaf_pages
 *   32      8    overflow_pages
 *   40      8    entries
 */
#ifndef HEED_PAGE_H
#define HEED_PAGE_H

#include <stdint.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "heed's file format is little-endian");

#define HEED_MAGIC	    0x44454548u
#define HEED_FORMAT_VERSION 3u
#define PAGE_HDR	    24u
#define SLOT_SIZE	    8u
#define NODE_HDR	    8u
#define MIN_PSIZE	    4096u
#define MAX_PSIZE	    65536u
#define MAX_KEYSIZE	    511u
#define MAX_DEPTH	    32u
#define NUM_METAS	    2u
#define MAX_MAPSIZE	    (1ULL << 46) /* bytes: a meta's next_pgno * psize is at most this */

#define P_BRANCH   0x01
#define P_LEAF	   0x02
#define P_OVERFLOW 0x04
#define P_META	   0x08
#define P_FREELIST 0x10

/* The first slot that has a key, where a search of the page starts: a
 * branch's slot 0 has none (the node table above). */
#define BRANCH_FIRST_KEY 1
#define LEAF_FIRST_KEY	 0

/* mflags of a meta page: written by a HEED_NOMETASYNC commit, which did not
 * sync it. The next commit's data sync makes it durable; until then a power
 * loss may bring back the meta before it, so the next writer keeps that
 * older snapshot's pages (freelist.c, freelist_reuse_cap). */
#define META_UNSYNCED 0x1u

#define N_BIG	0x01
#define N_DBREC 0x02
#define N_DUP	0x04
#define N_DUPS	0x08

struct page_hdr {
	uint64_t pgno;
	uint16_t flags;
	uint16_t nkeys;
	uint32_t lower;
	uint32_t upper;
	uint32_t cpl;
};
_Static_assert(sizeof(struct page_hdr) == PAGE_HDR, "page header is 24 bytes");

struct dbrec {
	uint64_t root;
	uint32_t depth;
	uint32_t flags;
	uint64_t branch_pages;
	uint64_t leaf_pages;
	uint64_t overflow_pages;
	uint64_t entries;
};
_Static_assert(sizeof(struct dbrec) == 48, "db record is 48 bytes");

struct meta {
	struct page_hdr hdr;
	uint32_t magic;
	uint32_t version;
	uint32_t psize;
	uint32_t mflags;
	uint64_t mapsize;
	uint64_t txnid;
	uint64_t next_pgno;
	uint64_t free_head;
	uint64_t free_count;
	struct dbrec main;
	uint64_t checksum;
};
_Static_assert(__builtin_offsetof(struct meta, main) == 80, "meta layout");
_Static_assert(__builtin_offsetof(struct meta, checksum) == 128, "meta layout");

#define FREELIST_DATA 32u /* header + next pgno */

static inline struct page_hdr *page_hdr(void *p)
{
	return (struct page_hdr *)p;
}

static inline uint64_t *page_slots(void *p)
{
	return (uint64_t *)((char *)p + PAGE_HDR);
}

static inline uint64_t rd64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline void wr64(void *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline uint16_t rd16(const void *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t rd32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The 48-bit big-endian prefix of a key, as stored in a slot's high bits.
 * A short rest (a leaf's keys past its prefix: 2-3 bytes of 16-byte keys
 * sharing 13-14) is read in at most two loads, never past its end; a byte
 * at a time, once per page a search visits, was 139 Ir of a random get's
 * 2352 (db_comparison --icount). */
static inline uint64_t key_prefix(const unsigned char *k, size_t n)
{
	uint32_t w;
	uint16_t h;

	if (n >= 8)
		return __builtin_bswap64(rd64(k)) >> 16;
	if (n >= 4) {
		memcpy(&w, k, 4);
		if (n == 4)
			return (uint64_t)__builtin_bswap32(w) << 16;
		if (n == 5)
			return (uint64_t)__builtin_bswap32(w) << 16 | (uint64_t)k[4] << 8;
		memcpy(&h, k + 4, 2);
		return (uint64_t)__builtin_bswap32(w) << 16 | __builtin_bswap16(h);
	}
	if (n >= 2) {
		memcpy(&h, k, 2);
		return (uint64_t)__builtin_bswap16(h) << 32 | (n == 3 ? (uint64_t)k[2] << 24 : 0);
	}
	return n ? (uint64_t)k[0] << 40 : 0;
}

/* The slot prefix of a key of ksize bytes on a page whose keys share cpl
 * bytes: 0 for a key of no more bytes (the empty key, whose pointer may be
 * NULL, or ksize < cpl: a damaged page, which fails its checks). */
static inline uint64_t slot_prefix(const unsigned char *k, size_t ksize, unsigned int cpl)
{
	return ksize > cpl ? key_prefix(k + cpl, ksize - cpl) : 0;
}

static inline uint64_t make_slot(uint64_t prefix, unsigned int off)
{
	return (prefix << 16) | (off & 0xffffu);
}

static inline unsigned int slot_off(uint64_t s)
{
	return (unsigned int)(s & 0xffffu);
}

/* Node offset 0 means 65536 cannot happen: a node is never at offset 0. */
static inline unsigned char *page_node(void *p, unsigned int i)
{
	return (unsigned char *)p + slot_off(page_slots(p)[i]);
}

static inline unsigned int node_ksize(const unsigned char *n)
{
	return rd16(n);
}

static inline unsigned int node_flags(const unsigned char *n)
{
	return rd16(n + 2);
}

static inline uint32_t node_dsize(const unsigned char *n)
{
	return rd32(n + 4);
}

static inline unsigned char *node_key(unsigned char *n)
{
	return n + NODE_HDR;
}

static inline unsigned char *node_data(unsigned char *n)
{
	return n + NODE_HDR + node_ksize(n);
}

static inline unsigned int node_size(const unsigned char *n)
{
	return NODE_HDR + node_ksize(n) + node_dsize(n);
}

static inline uint64_t node_child(unsigned char *n)
{
	return rd64(node_data(n));
}

/* Free bytes between the slot array and the nodes. */
static inline unsigned int page_room(void *p)
{
	return page_hdr(p)->upper - page_hdr(p)->lower;
}

/* Bytes the nodes and slots of a page take. */
static inline unsigned int page_used(void *p, unsigned int psize)
{
	return psize - PAGE_HDR - page_room(p);
}

/* Validate a branch/leaf node of an untrusted page: 0 or -1. */
static inline int node_check(void *p, unsigned int i, unsigned int psize)
{
	unsigned int off = slot_off(page_slots(p)[i]);
	unsigned char *n;

	if (off < page_hdr(p)->upper || off + NODE_HDR > psize)
		return -1;
	n = (unsigned char *)p + off;
	if ((uint64_t)off + NODE_HDR + node_ksize(n) + node_dsize(n) > psize)
		return -1;
	return 0;
}

/* Versions this heed reads: 3, and 2 (before DUPSORT: its files are
 * version 3 files without N_DUP nodes or db flags, and a commit writes them
 * as version 3). Version 1 (without cpl) is refused. */
static inline int format_version_ok(uint32_t v)
{
	return v == 2 || v == HEED_FORMAT_VERSION;
}

/* heed_hash64: the meta page checksum (a 64-bit multiply-xorshift hash). */
uint64_t heed_hash64(const void *data, size_t n);

#endif
