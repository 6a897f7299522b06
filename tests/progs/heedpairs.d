/* heedpairs.d - a heed provider without ops__batch, as an older libheed would have:
 * tests/progs/pairs.c uses it to check heed-trace --ops's start/done fallback. The
 * argument lists follow core/probes.d. */
provider heed {
	probe get__start(unsigned int dbi, unsigned long long ksize);
	probe get__done(unsigned int dbi, int rc, unsigned long long dsize);
	probe put__start(unsigned int dbi, unsigned long long ksize, unsigned long long dsize, unsigned int flags);
	probe put__done(unsigned int dbi, int rc);
};
