/* target.h - the process heed-trace traces: privilege check, existence, its name and
 * executable, and starting a command stopped at its entry point (after the dynamic
 * loader mapped its libraries) so probes can be attached before it runs.
 */
#ifndef HEED_PROFILER_TARGET_H
#define HEED_PROFILER_TARGET_H

#include <stddef.h>
#include <sys/types.h>

/* 0 when the caller may load BPF programs and open perf events for other processes
 * (root, CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON), else -EPERM. */
int heed_target_privileged(void);

enum heed_target_kind {
	HEED_TARGET_PROCESS, /* a user process: everything applies */
	HEED_TARGET_KTHREAD, /* a kernel thread: no user space, only kernel stacks */
	HEED_TARGET_ZOMBIE,  /* exited, not yet reaped by its parent: nothing to trace */
};

/* What pid is, into *kind. Returns 0, or -ESRCH when there is no such process. */
int heed_target_kind(pid_t pid, enum heed_target_kind *kind);

/* The process name (comm) into buf; "?" when unreadable. */
void heed_target_comm(pid_t pid, char *buf, size_t len);

/* Starts argv[0] (searched in PATH) under ptrace, and returns once it stands at its
 * ELF entry point, libraries mapped, not yet running main. The child dies if
 * heed-trace does before heed_target_resume. Returns 0 and *pid, -ENOENT/-EACCES (and
 * others) when the command cannot be executed, -ECHILD if it died on the way. */
int heed_target_spawn(char *const argv[], pid_t *pid);

/* Lets a spawned child run: restores its entry and detaches. Returns 0 or -errno. */
int heed_target_resume(pid_t pid);

#endif
