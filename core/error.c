/*
 * error.c - names of return codes and the version string.
 */
#include "heed.h"

#include <string.h>

#define STR2(x) #x
#define STR(x)	STR2(x)

HEED_API const char *heed_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = HEED_VERSION_MAJOR;
	if (minor)
		*minor = HEED_VERSION_MINOR;
	if (patch)
		*patch = HEED_VERSION_PATCH;
	return "heed " STR(HEED_VERSION_MAJOR) "." STR(HEED_VERSION_MINOR) "." STR(
		HEED_VERSION_PATCH);
}

HEED_API const char *heed_strerror(int err)
{
	switch (err) {
	case HEED_SUCCESS:
		return "HEED_SUCCESS: successful result";
	case HEED_KEYEXIST:
		return "HEED_KEYEXIST: key/data pair already exists";
	case HEED_NOTFOUND:
		return "HEED_NOTFOUND: no matching key/data pair found";
	case HEED_CORRUPTED:
		return "HEED_CORRUPTED: located page was wrong type or failed its checks";
	case HEED_PANIC:
		return "HEED_PANIC: update of meta page failed or environment had fatal error";
	case HEED_VERSION_MISMATCH:
		return "HEED_VERSION_MISMATCH: database file format version mismatch";
	case HEED_INVALID:
		return "HEED_INVALID: file is not a heed file (bad magic or too small)";
	case HEED_MAP_FULL:
		return "HEED_MAP_FULL: environment mapsize limit reached";
	case HEED_DBS_FULL:
		return "HEED_DBS_FULL: environment maxdbs limit reached";
	case HEED_READERS_FULL:
		return "HEED_READERS_FULL: environment maxreaders limit reached";
	case HEED_BAD_TXN:
		return "HEED_BAD_TXN: transaction must abort, has a child, or is invalid";
	case HEED_BAD_VALSIZE:
		return "HEED_BAD_VALSIZE: key is empty or too long, or value over 4 GiB - 1, or a "
		       "size the database does not take (INTEGERKEY, INTEGERDUP, DUPFIXED)";
	case HEED_BAD_DBI:
		return "HEED_BAD_DBI: the specified DBI handle was closed/changed unexpectedly";
	case HEED_BUSY:
		return "HEED_BUSY: another process holds the writer lock";
	case HEED_INCOMPATIBLE:
		return "HEED_INCOMPATIBLE: the key is a named database's record (or the name a "
		       "plain key)";
	default:
		break;
	}
	if (err > 0) {
		const char *s = strerror(err);

		if (s)
			return s;
	}
	return "unknown error code";
}
