/*
 * fault.c - the --wrap wrappers of fault.h. Each wrapper asks should_fail()
 * whether this call is the one to fail; if not it calls __real_<fn>, which
 * the linker binds to the libc function.
 */
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __real_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __real_pwrite64(int fd, const void *buf, size_t n, off64_t off);
ssize_t __real_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
int __real_fsync(int fd);
int __real_fdatasync(int fd);
int __real_msync(void *addr, size_t len, int flags);
int __real_sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags);
int __real_ftruncate(int fd, off_t len);
int __real_ftruncate64(int fd, off64_t len);
int __real_fallocate(int fd, int mode, off_t off, off_t len);
int __real_fallocate64(int fd, int mode, off64_t off, off64_t len);
int __real_posix_fallocate(int fd, off_t off, off_t len);
int __real_posix_fallocate64(int fd, off64_t off, off64_t len);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off);

static struct {
	unsigned int mask;
	long nth;
	int err;
	long calls;
	long injected;
	const char *first;
} st;

void fault_arm(unsigned int mask, long nth, int err)
{
	st.mask = mask;
	st.nth = nth;
	st.err = err;
	st.calls = 0;
	st.injected = 0;
	st.first = "none";
}

long fault_disarm(void)
{
	st.mask = 0;
	return st.calls;
}

long fault_injected(void)
{
	return st.injected;
}

const char *fault_first_name(void)
{
	return st.first ? st.first : "none";
}

/* Whether [off, off + n) ends past the end of fd's file. A failed fstat
 * counts as growth: the injector then errs on the side of failing. */
static int grows(int fd, off_t off, off_t n)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return 1;
	return off + n > sb.st_size;
}

/* Counts the call if its class is armed (and, in growth-only mode, if it
 * grows the file) and says whether it must fail. */
static int should_fail(unsigned int cls, const char *name, int growth)
{
	if (!(st.mask & cls))
		return 0;
	if ((st.mask & FAULT_GROWTH_ONLY) && !growth)
		return 0;
	long idx = st.calls++;
	if (st.nth < 0 || idx < st.nth)
		return 0;
	if (idx > st.nth && !(st.mask & FAULT_STICKY))
		return 0;
	if (st.injected++ == 0)
		st.first = name;
	return 1;
}

static off_t cur_off(int fd)
{
	off_t o = lseek(fd, 0, SEEK_CUR);
	return o < 0 ? 0 : o;
}

/* A torn write: half the bytes reach the file, then the error. */
static ssize_t fail_write(int fd, const void *buf, size_t n, off_t off, int positional)
{
	if ((st.mask & FAULT_TORN) && n > 1) {
		if (positional)
			(void)__real_pwrite(fd, buf, n / 2, off);
		else
			(void)__real_write(fd, buf, n / 2);
	}
	errno = st.err;
	return -1;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, cur_off(fd), (off_t)n) : 0;
	if (should_fail(FAULT_WRITE, "write", g))
		return fail_write(fd, buf, n, 0, 0);
	return __real_write(fd, buf, n);
}

static size_t iov_len(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, cur_off(fd), (off_t)iov_len(iov, cnt))
					      : 0;
	if (should_fail(FAULT_WRITE, "writev", g)) {
		errno = st.err;
		return -1;
	}
	return __real_writev(fd, iov, cnt);
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, off, (off_t)n) : 0;
	if (should_fail(FAULT_WRITE, "pwrite", g))
		return fail_write(fd, buf, n, off, 1);
	return __real_pwrite(fd, buf, n, off);
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, off, (off_t)n) : 0;
	if (should_fail(FAULT_WRITE, "pwrite64", g))
		return fail_write(fd, buf, n, off, 1);
	return __real_pwrite64(fd, buf, n, off);
}

ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, off, (off_t)iov_len(iov, cnt)) : 0;
	if (should_fail(FAULT_WRITE, "pwritev", g)) {
		errno = st.err;
		return -1;
	}
	return __real_pwritev(fd, iov, cnt, off);
}

int __wrap_fsync(int fd)
{
	if (should_fail(FAULT_SYNC, "fsync", 0)) {
		errno = st.err;
		return -1;
	}
	return __real_fsync(fd);
}

int __wrap_fdatasync(int fd)
{
	if (should_fail(FAULT_SYNC, "fdatasync", 0)) {
		errno = st.err;
		return -1;
	}
	return __real_fdatasync(fd);
}

int __wrap_msync(void *addr, size_t len, int flags)
{
	if (should_fail(FAULT_SYNC, "msync", 0)) {
		errno = st.err;
		return -1;
	}
	return __real_msync(addr, len, flags);
}

int __wrap_sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	if (should_fail(FAULT_SYNC, "sync_file_range", 0)) {
		errno = st.err;
		return -1;
	}
	return __real_sync_file_range(fd, off, n, flags);
}

int __wrap_ftruncate(int fd, off_t len)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, 0, len) : 0;
	if (should_fail(FAULT_GROW, "ftruncate", g)) {
		errno = st.err;
		return -1;
	}
	return __real_ftruncate(fd, len);
}

int __wrap_ftruncate64(int fd, off64_t len)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, 0, len) : 0;
	if (should_fail(FAULT_GROW, "ftruncate64", g)) {
		errno = st.err;
		return -1;
	}
	return __real_ftruncate64(fd, len);
}

int __wrap_fallocate(int fd, int mode, off_t off, off_t len)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, off, len) : 0;
	if (should_fail(FAULT_GROW, "fallocate", g)) {
		errno = st.err;
		return -1;
	}
	return __real_fallocate(fd, mode, off, len);
}

int __wrap_fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, off, len) : 0;
	if (should_fail(FAULT_GROW, "fallocate64", g)) {
		errno = st.err;
		return -1;
	}
	return __real_fallocate64(fd, mode, off, len);
}

/* posix_fallocate returns the error number instead of setting errno. */
int __wrap_posix_fallocate(int fd, off_t off, off_t len)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, off, len) : 0;
	if (should_fail(FAULT_GROW, "posix_fallocate", g))
		return st.err;
	return __real_posix_fallocate(fd, off, len);
}

int __wrap_posix_fallocate64(int fd, off64_t off, off64_t len)
{
	int g = (st.mask & FAULT_GROWTH_ONLY) ? grows(fd, off, len) : 0;
	if (should_fail(FAULT_GROW, "posix_fallocate64", g))
		return st.err;
	return __real_posix_fallocate64(fd, off, len);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (should_fail(FAULT_MAP, "mmap", 0)) {
		errno = st.err;
		return MAP_FAILED;
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	if (should_fail(FAULT_MAP, "mmap64", 0)) {
		errno = st.err;
		return MAP_FAILED;
	}
	return __real_mmap64(addr, len, prot, flags, fd, off);
}
