/* target.c - see target.h. */
#include "target.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

int heed_target_privileged(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {{0}};
	uint64_t eff;

	if (syscall(SYS_capget, &hdr, data))
		return -EPERM;
	eff = data[0].effective | (uint64_t)data[1].effective << 32;
	if (eff & (1ULL << CAP_SYS_ADMIN))
		return 0;
	if ((eff & (1ULL << CAP_BPF)) && (eff & (1ULL << CAP_PERFMON)))
		return 0;
	return -EPERM;
}

/* PF_KTHREAD of include/linux/sched.h, in the flags field of /proc/PID/stat. */
#define PF_KTHREAD 0x00200000UL

int heed_target_kind(pid_t pid, enum heed_target_kind *kind)
{
	char path[64], buf[1024], state;
	unsigned long flags;
	const char *p;
	char *end;
	int i;
	ssize_t n;
	int fd;

	*kind = HEED_TARGET_PROCESS;
	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold
	 * spaces and parentheses, so parse from its last ')'. An unexpected line
	 * leaves the target a process: attaching says what is wrong then. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return 0;
	state = p[2];
	p += 3;
	/* Skip ppid, pgrp, session, tty_nr and tpgid. */
	for (i = 0; i < 5 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	errno = 0;
	flags = strtoul(p + 1, &end, 10);
	if (errno || end == p + 1)
		return 0;
	if (state == 'Z' || state == 'X')
		*kind = HEED_TARGET_ZOMBIE;
	else if (flags & PF_KTHREAD)
		*kind = HEED_TARGET_KTHREAD;
	return 0;
}

void heed_target_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static int read_entry(pid_t pid, uint64_t *entry)
{
	char path[64];
	uint64_t av[2];
	int fd, err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (read(fd, av, sizeof(av)) == sizeof(av)) {
		if (av[0] == AT_ENTRY) {
			*entry = av[1];
			err = 0;
			break;
		}
		if (av[0] == AT_NULL)
			break;
	}
	close(fd);
	return err;
}

/* Waits for the next ptrace stop with signal want, passing other signals on. */
static int wait_stop(pid_t pid, int want)
{
	int st;

	for (;;) {
		if (waitpid(pid, &st, 0) < 0)
			return -errno;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -ECHILD;
		if (WIFSTOPPED(st) && WSTOPSIG(st) == want)
			return 0;
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(st)))
			return -errno;
	}
}

struct entry_patch {
	pid_t pid;
	uint64_t entry;
	long word;
};

/* One entry patch at a time: heed-trace traces one command. */
static struct entry_patch patch;

int heed_target_spawn(char *const argv[], pid_t *pid)
{
	int pfd[2], err = 0, child_err = 0;
	uint64_t entry = 0;
	ssize_t r;
	pid_t p;
	long word;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	p = fork();
	if (p < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (p == 0) {
		close(pfd[0]);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[0], argv);
		child_err = errno;
		if (write(pfd[1], &child_err, sizeof(child_err)) < 0)
			_exit(126);
		_exit(127);
	}
	close(pfd[1]);
	r = read(pfd[0], &child_err, sizeof(child_err));
	close(pfd[0]);
	if (r == sizeof(child_err)) {
		waitpid(p, NULL, 0);
		return -child_err;
	}
	/* Stopped with SIGTRAP right after exec. */
	err = wait_stop(p, SIGTRAP);
	if (err)
		goto fail;
	ptrace(PTRACE_SETOPTIONS, p, NULL, (void *)(long)PTRACE_O_EXITKILL);
	err = read_entry(p, &entry);
	if (err)
		goto fail;
	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, p, (void *)entry, NULL);
	if (errno) {
		err = -errno;
		goto fail;
	}
	/* int3 at the entry point: the loader has mapped every library by then. */
	if (ptrace(PTRACE_POKETEXT, p, (void *)entry, (void *)((word & ~0xffL) | 0xcc)) ||
	    ptrace(PTRACE_CONT, p, NULL, NULL)) {
		err = -errno;
		goto fail;
	}
	err = wait_stop(p, SIGTRAP);
	if (err)
		goto fail;
	patch.pid = p;
	patch.entry = entry;
	patch.word = word;
	*pid = p;
	return 0;
fail:
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	return err;
}

int heed_target_resume(pid_t pid)
{
	struct user_regs_struct regs;

	if (pid != patch.pid)
		return -EINVAL;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
		return -errno;
	regs.rip = patch.entry;
	if (ptrace(PTRACE_POKETEXT, pid, (void *)patch.entry, (void *)patch.word) ||
	    ptrace(PTRACE_SETREGS, pid, NULL, &regs) || ptrace(PTRACE_DETACH, pid, NULL, NULL))
		return -errno;
	patch.pid = 0;
	return 0;
}
