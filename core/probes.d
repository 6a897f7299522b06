/*
 * probes.d - the USDT probes of libheed (provider heed). dtrace -h turns this
 * into heed_probes.h (macros with semaphores), dtrace -G into the object
 * holding the semaphores. Arguments are plain scalars (libbpf 1.1 cannot read
 * scale-index-base operands; ARCHITECTURE.md, "A trace, step by step").
 */
provider heed {
	/* txnid, 1 for a read txn */
	probe txn__begin(unsigned long long txnid, int rdonly);
	/* txnid, dirty pages to write */
	probe txn__commit__start(unsigned long long txnid, unsigned long long dirty);
	/* txnid, result code */
	probe txn__commit__done(unsigned long long txnid, int rc);
	probe txn__abort(unsigned long long txnid);
	/* dbi, key size */
	probe get__start(unsigned int dbi, unsigned long long ksize);
	/* dbi, result code, value size */
	probe get__done(unsigned int dbi, int rc, unsigned long long dsize);
	/* dbi, key size, value size, put flags */
	probe put__start(unsigned int dbi, unsigned long long ksize, unsigned long long dsize, unsigned int flags);
	probe put__done(unsigned int dbi, int rc);
	probe del__start(unsigned int dbi, unsigned long long ksize);
	probe del__done(unsigned int dbi, int rc);
	/* dbi, heed_cursor_op (get), 100 + put flags' low bit for put, 200 for del */
	probe cursor__start(unsigned int dbi, int op);
	probe cursor__done(unsigned int dbi, int op, int rc);
	/* first pgno, pages */
	probe page__alloc(unsigned long long pgno, unsigned int npages);
	probe page__free(unsigned long long pgno, unsigned int npages);
	/* page split, the new right page, tree level (0 = root) */
	probe page__split(unsigned long long pgno, unsigned long long newpgno, unsigned int level);
	/* page merged into its left neighbour, the neighbour, level */
	probe page__merge(unsigned long long pgno, unsigned long long into, unsigned int level);
	/* data file descriptor; result (0 or errno) */
	probe sync__start(int fd);
	probe sync__done(int fd, int rc);
	/* any error code a public function returns (not NOTFOUND/KEYEXIST) */
	probe error(int rc);
	/* struct heed_oprec[n] (probe_abi.h): the batch of timed ops; the
	 * records' layout, HEED_OPREC_ABI; the thread's struct heed_opslot. On
	 * x86-64 its site is written by core/opbatch.c (a 5-byte NOP), not by
	 * sys/sdt.h. */
	probe ops__batch(void *recs, unsigned int n, unsigned int abi, void *slot);
	/* the thread's struct heed_opslot, at its first op while this probe's
	 * semaphore is set: heed-trace --slow holds it, and only then does
	 * libheed number ops and keep the slot (--ops alone does not pay for it). */
	probe ops__slot(void *slot);
};
