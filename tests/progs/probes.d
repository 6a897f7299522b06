/* probes.d - USDT probes of the trace test programs (provider tprog), for
 * heed-trace --usdt tests: a timed start/done pair and a plain counter. */
provider tprog {
	probe work__start(int n);
	probe work__done(int n, int rc);
	probe tick(unsigned long long n);
};
