/*
 * fault.h - a test-only fault injector for the system calls libheed writes
 * and maps its files with. Never linked into the release library.
 *
 * A test binary is linked with fault.o and -Wl,--wrap=<fn> for every
 * function below (tests/faults/module.mk: FAULT_WRAP), so that calls from
 * libheed.a and from the test reach these wrappers while calls inside shared
 * libraries (libc itself, Criterion) do not.
 *
 * Wrapped, by class:
 *   FAULT_WRITE  write, writev, pwrite, pwrite64, pwritev
 *   FAULT_SYNC   fsync, fdatasync, msync, sync_file_range
 *   FAULT_GROW   ftruncate, ftruncate64, fallocate, fallocate64,
 *                posix_fallocate, posix_fallocate64
 *   FAULT_MAP    mmap, mmap64
 *
 * Disarmed (the default), every wrapper calls the real function and counts
 * nothing. Armed, every call of a class in the mask is counted from 0 and
 * the call whose index is nth fails with err instead (nth < 0: none fails,
 * which measures how many calls an operation makes). A failed write/pwrite
 * with FAULT_TORN first writes the first half of its buffer for real, the
 * way a write cut short by a full disk or a failing device leaves a torn
 * page behind.
 *
 * With FAULT_STICKY every counted call from index nth on fails, not only
 * the one: a disk that stays full. With FAULT_GROWTH_ONLY only calls that
 * would make a file larger are counted and failed (ftruncate/fallocate
 * beyond the current size, a write ending past EOF): a disk that is full
 * while rewriting pages in place still works.
 *
 * The state is per process and not thread-safe: arm and disarm from the
 * thread that runs the operation under test.
 */
#ifndef HEED_TESTS_FAULT_H
#define HEED_TESTS_FAULT_H

#define FAULT_WRITE 0x01u
#define FAULT_SYNC  0x02u
#define FAULT_GROW  0x04u
#define FAULT_MAP   0x08u
#define FAULT_ALL   (FAULT_WRITE | FAULT_SYNC | FAULT_GROW | FAULT_MAP)

#define FAULT_TORN	  0x100u
#define FAULT_STICKY	  0x200u
#define FAULT_GROWTH_ONLY 0x400u

/* Count calls of the classes in mask from now on; fail the one at index
 * nth (and, with FAULT_STICKY, every later one) with errno err. */
void fault_arm(unsigned int mask, long nth, int err);

/* Stop counting and injecting. Returns the number of calls counted while
 * armed. */
long fault_disarm(void);

/* Calls failed since the last fault_arm. */
long fault_injected(void);

/* The name of the function that failed first since the last fault_arm, or
 * "none". */
const char *fault_first_name(void);

#endif
