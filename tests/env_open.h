/*
 * env_open.h - the one way the test programs open an environment: the
 * Criterion suites (through common.h) and the plain programs that cannot
 * use Criterion (tests/sanitize/threads.c). Header only, no assertions:
 * the caller reports the code its own way.
 */
#ifndef HEED_TESTS_ENV_OPEN_H
#define HEED_TESTS_ENV_OPEN_H

#include <stddef.h>

#include "heed.h"

/* Create and open an env at path; psize 0 keeps the default page size,
 * mapsize 0 the default map size. Returns the heed code; *out is NULL on
 * failure. */
static inline int env_open_dir(heed_env **out, const char *path, unsigned int flags,
			       unsigned int psize, size_t mapsize, unsigned int maxdbs)
{
	heed_env *env = NULL;
	int rc;

	*out = NULL;
	rc = heed_env_create(&env);
	if (rc)
		return rc;
	if (psize)
		rc = heed_env_set_pagesize(env, psize);
	if (!rc && mapsize)
		rc = heed_env_set_mapsize(env, mapsize);
	if (!rc && maxdbs)
		rc = heed_env_set_maxdbs(env, maxdbs);
	if (!rc)
		rc = heed_env_open(env, path, flags, 0644);
	if (rc) {
		heed_env_close(env);
		return rc;
	}
	*out = env;
	return 0;
}

#endif
