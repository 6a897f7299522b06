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

int heed_target_alive(pid_t pid)
{
	char path[64];

	if (pid <= 0)
		return -ESRCH;
	/* kill(pid, 0) also answers for a zombie; its /proc entry tells us more. */
	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (access(path, F_OK) && errno == ENOENT) {
		char st[64];
		FILE *f;
		int zombie = 0;

		snprintf(st, sizeof(st), "/proc/%d/stat", (int)pid);
		f = fopen(st, "re");
		if (!f)
			return -ESRCH;
		if (fscanf(f, "%*d (%*[^)]) %c", st) == 1)
			zombie = st[0] == 'Z' || st[0] == 'X';
		fclose(f);
		if (zombie)
			return -ESRCH;
	}
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
