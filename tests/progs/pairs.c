/* pairs.c - a target with heed:get and heed:put start/done probes but no ops__batch
 * (tests/progs/heedpairs.d), for heed-trace --ops's fallback.
 *
 *   pairs N   N gets (every 3rd "not found", every 5th of the others failing) and
 *             N / 2 puts (every 4th failing); prints the counts as "key value" lines.
 */
#include <stdio.h>
#include <stdlib.h>

#include "heedpairs_probes.h"
#include "parse.h"

#define NOTFOUND  (-30798) /* HEED_NOTFOUND: not an error */
#define CORRUPTED (-30796) /* HEED_CORRUPTED: an error */

static volatile unsigned long sink;

__attribute__((noinline)) int fake_get(unsigned int i)
{
	int rc = i % 3 == 0 ? NOTFOUND : i % 5 == 0 ? CORRUPTED : 0;

	if (HEED_GET_START_ENABLED())
		HEED_GET_START(1, 16);
	sink += i;
	if (HEED_GET_DONE_ENABLED())
		HEED_GET_DONE(1, rc, 100);
	return rc;
}

__attribute__((noinline)) int fake_put(unsigned int i)
{
	int rc = i % 4 == 3 ? CORRUPTED : 0;

	if (HEED_PUT_START_ENABLED())
		HEED_PUT_START(1, 16, 100, 0);
	sink += i;
	if (HEED_PUT_DONE_ENABLED())
		HEED_PUT_DONE(1, rc);
	return rc;
}

int main(int argc, char **argv)
{
	uint64_t n;
	unsigned long i, get_err = 0, put_err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: pairs N\n");
		return 2;
	}
	if (heed_parse_u64(argv[1], &n) != 0) {
		fprintf(stderr, "pairs: N '%s': not a whole number\n", argv[1]);
		return 2;
	}
	for (i = 0; i < n; i++) {
		int rc = fake_get((unsigned int)i);

		get_err += rc != 0 && rc != NOTFOUND;
		if (i % 2 == 0)
			put_err += fake_put((unsigned int)(i / 2)) != 0;
	}
	printf("get %lu\nget_errors %lu\nput %lu\nput_errors %lu\n", (unsigned long)n, get_err,
	       (unsigned long)(n + 1) / 2, put_err);
	return 0;
}
