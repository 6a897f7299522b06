/* probes.d - USDT probes of the trace test programs (provider tprog), for
 * heed-trace --usdt tests: timed start/done pairs and a plain counter. */
provider tprog {
	probe work__start(int n);
	probe work__done(int n, int rc);
	probe tick(unsigned long long n);
	probe op__start(int i);
	probe op__done(int i);
};
