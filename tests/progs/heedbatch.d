/* heedbatch.d - a heed provider with only ops__batch, declared as core/probes.d does:
 * tests/progs/badbatch.c hands heed-trace --ops batches no libheed would. */
provider heed {
	probe ops__batch(void *recs, unsigned int n, unsigned int abi, void *slot);
};
