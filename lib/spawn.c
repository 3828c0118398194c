// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidfd_spawn() (glibc 2.39) with the Linux 7.1 clone flags.
 *
 * The child is a fork-like clone3 child (no CLONE_VM: the module's ioctl
 * path returns into it like fork does). Between the clone and the exec it
 * only makes async-signal-safe calls. A failed exec travels back through
 * an O_CLOEXEC pipe, as in posix_spawn(): EOF means the exec happened.
 * All signals are blocked around the clone so that no handler of the
 * parent runs in the child before the child resets it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

enum { FA_OPEN, FA_CLOSE, FA_DUP2, FA_CHDIR };

struct c3c_fa {
	int type;
	int fd;
	int newfd;
	int oflag;
	mode_t mode;
	char *path;
};

#define ATTR_SIGMASK	0x1u
#define ATTR_SIGDEF	0x2u
#define ATTR_PGROUP	0x4u
#define ATTR_SETSID	0x8u

/* What a fork-like child may ask for; CLONE_PIDFD is always added. */
#define C3C_SPAWN_FLAGS	(CLONE3_COMPAT_NEW_FLAGS | CLONE_PIDFD |	\
			 CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |	\
			 CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |	\
			 CLONE_NEWNET | CLONE_CLEAR_SIGHAND)

int clone3_compat_spawn_file_actions_init(
	clone3_compat_spawn_file_actions_t *fa)
{
	memset(fa, 0, sizeof(*fa));
	return 0;
}

int clone3_compat_spawn_file_actions_destroy(
	clone3_compat_spawn_file_actions_t *fa)
{
	struct c3c_fa *a = fa->__actions;

	for (int i = 0; i < fa->__used; i++)
		free(a[i].path);
	free(a);
	memset(fa, 0, sizeof(*fa));
	return 0;
}

static bool c3c_fd_ok(int fd)
{
	return fd >= 0 && fd < sysconf(_SC_OPEN_MAX);
}

static int c3c_fa_add(clone3_compat_spawn_file_actions_t *fa,
		      const struct c3c_fa *add, const char *path)
{
	struct c3c_fa *a = fa->__actions;

	if (fa->__used == fa->__allocated) {
		int n = fa->__allocated ? 2 * fa->__allocated : 8;

		a = realloc(a, n * sizeof(*a));
		if (!a)
			return ENOMEM;
		fa->__actions = a;
		fa->__allocated = n;
	}
	a[fa->__used] = *add;
	a[fa->__used].path = NULL;
	if (path) {
		a[fa->__used].path = strdup(path);
		if (!a[fa->__used].path)
			return ENOMEM;
	}
	fa->__used++;
	return 0;
}

int clone3_compat_spawn_file_actions_addopen(
	clone3_compat_spawn_file_actions_t *fa, int fd, const char *path,
	int oflag, mode_t mode)
{
	struct c3c_fa a = { .type = FA_OPEN, .fd = fd, .oflag = oflag,
			    .mode = mode };

	if (!c3c_fd_ok(fd))
		return EBADF;
	return c3c_fa_add(fa, &a, path);
}

int clone3_compat_spawn_file_actions_addclose(
	clone3_compat_spawn_file_actions_t *fa, int fd)
{
	struct c3c_fa a = { .type = FA_CLOSE, .fd = fd };

	if (!c3c_fd_ok(fd))
		return EBADF;
	return c3c_fa_add(fa, &a, NULL);
}

int clone3_compat_spawn_file_actions_adddup2(
	clone3_compat_spawn_file_actions_t *fa, int fd, int newfd)
{
	struct c3c_fa a = { .type = FA_DUP2, .fd = fd, .newfd = newfd };

	if (!c3c_fd_ok(fd) || !c3c_fd_ok(newfd))
		return EBADF;
	return c3c_fa_add(fa, &a, NULL);
}

int clone3_compat_spawn_file_actions_addchdir(
	clone3_compat_spawn_file_actions_t *fa, const char *path)
{
	struct c3c_fa a = { .type = FA_CHDIR };

	return c3c_fa_add(fa, &a, path);
}

int clone3_compat_spawnattr_init(clone3_compat_spawnattr_t *attr)
{
	memset(attr, 0, sizeof(*attr));
	sigemptyset(&attr->__sigmask);
	sigemptyset(&attr->__sigdefault);
	return 0;
}

int clone3_compat_spawnattr_destroy(clone3_compat_spawnattr_t *attr)
{
	(void)attr;
	return 0;
}

int clone3_compat_spawnattr_setflags(clone3_compat_spawnattr_t *attr,
				     uint64_t clone_flags)
{
	/* CLONE_VM, CLONE_FILES & co. would break the fork-like child. */
	if (clone_flags & ~(uint64_t)C3C_SPAWN_FLAGS)
		return EINVAL;
	attr->__flags = clone_flags;
	return 0;
}

int clone3_compat_spawnattr_getflags(const clone3_compat_spawnattr_t *attr,
				     uint64_t *clone_flags)
{
	*clone_flags = attr->__flags;
	return 0;
}

int clone3_compat_spawnattr_setsigmask(clone3_compat_spawnattr_t *attr,
				       const sigset_t *mask)
{
	attr->__sigmask = *mask;
	attr->__set |= ATTR_SIGMASK;
	return 0;
}

int clone3_compat_spawnattr_setsigdefault(clone3_compat_spawnattr_t *attr,
					  const sigset_t *sigs)
{
	attr->__sigdefault = *sigs;
	attr->__set |= ATTR_SIGDEF;
	return 0;
}

int clone3_compat_spawnattr_setpgroup(clone3_compat_spawnattr_t *attr,
				      pid_t pgroup)
{
	if (pgroup < 0)
		return EINVAL;
	attr->__pgroup = pgroup;
	attr->__set |= ATTR_PGROUP;
	return 0;
}

int clone3_compat_spawnattr_setsid(clone3_compat_spawnattr_t *attr)
{
	attr->__set |= ATTR_SETSID;
	return 0;
}

/* Everything the child needs, prepared by the parent (no malloc after). */
struct c3c_child {
	const char *file;
	const char *search;	/* PATH to search, NULL to exec file as is */
	char *pathbuf;		/* room for the longest candidate */
	const clone3_compat_spawn_file_actions_t *fa;
	const clone3_compat_spawnattr_t *attr;
	char *const *argv;
	char *const *envp;
	sigset_t oldmask;
	int errfd;
};

/* Keep the error pipe out of the way of a file action's target. */
static int c3c_move_errfd(struct c3c_child *c, int target)
{
	int fd;

	if (c->errfd != target)
		return 0;
	fd = fcntl(c->errfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -1;
	c->errfd = fd;	/* the old number is the action's to reuse */
	return 0;
}

static int c3c_file_actions(struct c3c_child *c)
{
	const struct c3c_fa *a = c->fa ? c->fa->__actions : NULL;
	int n = c->fa ? c->fa->__used : 0;

	for (int i = 0; i < n; i++, a++) {
		int fd;

		switch (a->type) {
		case FA_OPEN:
			if (c3c_move_errfd(c, a->fd))
				return -1;
			close(a->fd);	/* as if closed first (POSIX) */
			fd = open(a->path, a->oflag, a->mode);
			if (fd < 0)
				return -1;
			if (fd != a->fd) {
				if (dup2(fd, a->fd) < 0)
					return -1;
				close(fd);
			}
			break;
		case FA_CLOSE:
			if (c3c_move_errfd(c, a->fd))
				return -1;
			close(a->fd);	/* errors ignored, as glibc does */
			break;
		case FA_DUP2:
			if (c3c_move_errfd(c, a->newfd))
				return -1;
			if (a->fd == a->newfd) {
				/* POSIX 2024: keeps the fd open across exec */
				fd = fcntl(a->fd, F_GETFD);
				if (fd < 0 ||
				    fcntl(a->fd, F_SETFD, fd & ~FD_CLOEXEC) < 0)
					return -1;
			} else if (dup2(a->fd, a->newfd) < 0) {
				return -1;
			}
			break;
		case FA_CHDIR:
			if (chdir(a->path) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/* execvpe()'s search, without its allocation. */
static int c3c_exec_search(struct c3c_child *c)
{
	size_t flen = strlen(c->file);
	const char *p = c->search, *end;
	bool eacces = false;

	for (;; p = end + 1) {
		size_t dlen;

		end = strchrnul(p, ':');
		dlen = end - p;
		if (dlen) {
			memcpy(c->pathbuf, p, dlen);
			c->pathbuf[dlen++] = '/';
		}
		memcpy(c->pathbuf + dlen, c->file, flen + 1);
		execve(c->pathbuf, c->argv, c->envp);
		switch (errno) {
		case EACCES:
			eacces = true;
			break;
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ENODEV:
		case ETIMEDOUT:
			break;
		default:
			return errno;
		}
		if (!*end)
			return eacces ? EACCES : ENOENT;
	}
}

static void __attribute__((noreturn)) c3c_child_main(struct c3c_child *c)
{
	const clone3_compat_spawnattr_t *attr = c->attr;
	unsigned int set = attr ? attr->__set : 0;
	struct sigaction sa;
	int err;

	/* No handler of the parent may run here once signals are unblocked. */
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP ||
		    sigaction(sig, NULL, &sa) < 0)
			continue;
		if (((set & ATTR_SIGDEF) &&
		     sigismember(&attr->__sigdefault, sig)) ||
		    (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL)) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = SIG_DFL;
			sigaction(sig, &sa, NULL);
		}
	}
	if ((set & ATTR_SETSID) && setsid() < 0)
		goto fail;
	if ((set & ATTR_PGROUP) && setpgid(0, attr->__pgroup) < 0)
		goto fail;
	if (c3c_file_actions(c))
		goto fail;
	sigprocmask(SIG_SETMASK, (set & ATTR_SIGMASK) ? &attr->__sigmask :
		    &c->oldmask, NULL);
	if (!c->search) {
		execve(c->file, c->argv, c->envp);
		goto fail;
	}
	err = c3c_exec_search(c);
	goto report;
fail:
	err = errno;
report:
	while (write(c->errfd, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

static int c3c_spawn(int *pidfd, const char *file, bool search,
		     const clone3_compat_spawn_file_actions_t *fa,
		     const clone3_compat_spawnattr_t *attr,
		     char *const argv[], char *const envp[])
{
	uint64_t flags = attr ? attr->__flags : 0;
	struct c3c_child c = {
		.file = file,
		.fa = fa,
		.attr = attr,
		.argv = argv,
		.envp = envp ? envp : environ,
	};
	int pfd = -1, pipefd[2], err, cerr;
	struct clone_args args = {
		.flags = flags | CLONE_PIDFD,
		.pidfd = (uintptr_t)&pfd,
		/* 7.1 wants 0 with AUTOREAP; otherwise a fork()'s SIGCHLD */
		.exit_signal = (flags & CLONE_AUTOREAP) ? 0 : SIGCHLD,
	};
	sigset_t all;
	ssize_t n;
	pid_t pid;

	if (!pidfd || !file || !argv) {
		c3c_set_errmsg("spawn: pidfd, path and argv are required");
		return EINVAL;
	}
	if (flags & ~(uint64_t)C3C_SPAWN_FLAGS) {
		unsigned long long bad = flags & ~(uint64_t)C3C_SPAWN_FLAGS;

		c3c_set_errmsg("spawn: clone flags 0x%llx are not for a fork-like child",
			       bad);
		return EINVAL;
	}
	if (!*file) {
		c3c_set_errmsg("spawn: empty program name");
		return ENOENT;
	}
	if (search && !strchr(file, '/')) {
		c.search = getenv("PATH");
		if (!c.search)
			c.search = "/bin:/usr/bin";
		c.pathbuf = malloc(strlen(c.search) + strlen(file) + 2);
		if (!c.pathbuf)
			return ENOMEM;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		err = errno;
		free(c.pathbuf);
		c3c_set_errmsg("spawn: pipe: %s", strerror(err));
		return err;
	}
	c.errfd = pipefd[1];

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &c.oldmask);
	pid = clone3_compat(&args, sizeof(args));
	if (pid == 0) {
		close(pipefd[0]);
		c3c_child_main(&c);
	}
	err = errno;
	pthread_sigmask(SIG_SETMASK, &c.oldmask, NULL);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		free(c.pathbuf);
		return err;	/* clone3_compat() said why */
	}

	do {
		n = read(pipefd[0], &cerr, sizeof(cerr));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	free(c.pathbuf);
	if (n != sizeof(cerr)) {
		*pidfd = pfd;
		return 0;
	}

	/*
	 * The child failed before or at exec and is exiting with 127: let
	 * it be gone before we return, reaped by us or autoreaped.
	 */
	if (!(flags & CLONE_AUTOREAP)) {
		siginfo_t si;

		while (waitid(P_PIDFD, pfd, &si, WEXITED) < 0 && errno == EINTR)
			;
	} else {
		struct pollfd pp = { .fd = pfd, .events = POLLIN };

		while (poll(&pp, 1, -1) < 0 && errno == EINTR)
			;
	}
	close(pfd);
	c3c_set_errmsg("%s: %s", file, strerror(cerr));
	return cerr;
}

int clone3_compat_spawn(int *pidfd, const char *path,
			const clone3_compat_spawn_file_actions_t *fa,
			const clone3_compat_spawnattr_t *attr,
			char *const argv[], char *const envp[])
{
	return c3c_spawn(pidfd, path, false, fa, attr, argv, envp);
}

int clone3_compat_spawnp(int *pidfd, const char *file,
			 const clone3_compat_spawn_file_actions_t *fa,
			 const clone3_compat_spawnattr_t *attr,
			 char *const argv[], char *const envp[])
{
	return c3c_spawn(pidfd, file, true, fa, attr, argv, envp);
}
