/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libclone3compat: clone3() with the Linux 7.1 flags CLONE_AUTOREAP,
 * CLONE_NNP and CLONE_PIDFD_AUTOKILL, wherever they can be had: the
 * kernel itself (7.1 and later), or the clone3-compat module through the
 * clone3 syscall (transparent mode) or through /dev/clone3_compat. When
 * neither provides a requested flag the call fails with ENOSYS: a flag is
 * never dropped silently. See clone3_compat(3).
 */
#ifndef CLONE3_COMPAT_LIB_H
#define CLONE3_COMPAT_LIB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/sched.h>		/* struct clone_args, CLONE_* */
#include <linux/clone3_compat.h>	/* the 7.1 flag values, pidfd_info */

#ifdef __cplusplus
extern "C" {
#endif

#define CLONE3_COMPAT_LIB_MAJOR	0
#define CLONE3_COMPAT_LIB_MINOR	1
#define CLONE3_COMPAT_LIB_PATCH	0

/* The three flags of Linux 7.1. */
#define CLONE3_COMPAT_NEW_FLAGS \
	(CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD_AUTOKILL)

/* How the flags are provided on this system. */
enum clone3_compat_mode {
	CLONE3_COMPAT_MODE_UNAVAILABLE = 0,	/* not at all: ENOSYS */
	CLONE3_COMPAT_MODE_NATIVE = 1,		/* the kernel (7.1+) */
	CLONE3_COMPAT_MODE_TRANSPARENT = 2,	/* module: clone3 takes them */
	CLONE3_COMPAT_MODE_IOCTL = 3,		/* module: /dev/clone3_compat */
};

/* Probed on first use, once per process (thread-safe). */
int clone3_compat_mode(void);
/* The 7.1 flags clone3_compat() can honour here (0 when unavailable). */
uint64_t clone3_compat_flags(void);
/* How the exit status of an autoreaped child is read (a mode as above). */
int clone3_compat_exit_mode(void);
/* "native", "module: transparent", "module: ioctl" or "unavailable". */
const char *clone3_compat_mode_name(int mode);
/* One or two sentences: why the mode (and the exit mode) is what it is. */
const char *clone3_compat_mode_reason(void);

/*
 * clone3(args, size) with the 7.1 flags. Returns the child's pid in the
 * parent and 0 in the child, which continues like a fork() child;
 * args->stack must be 0 (a child on a fresh stack cannot return into C).
 * -1 and errno on failure; ENOSYS when a requested 7.1 flag is not
 * available. clone3_compat_errmsg() then says why.
 */
pid_t clone3_compat(struct clone_args *args, size_t size);

/* The reason for this thread's last failed call, or "" (never NULL). */
const char *clone3_compat_errmsg(void);

/*
 * PIDFD_GET_INFO (Linux 6.13+ layout, at least 64 bytes) through the
 * kernel or the module: 0, or -1 and errno. info->mask is in and out.
 */
int clone3_compat_pidfd_get_info(int pidfd,
				 struct clone3_compat_pidfd_info *info,
				 size_t size);
/*
 * The wait status (WIFEXITED() etc.) of the process behind @pidfd, which
 * stays readable after an autoreap: 0, or -1 with errno EAGAIN while it
 * has not exited, ESRCH when it is gone and its status was not kept.
 */
int clone3_compat_exit_status(int pidfd, int *wstatus);
/* The pid behind @pidfd (from /proc/self/fdinfo), or -1 and errno. */
pid_t clone3_compat_pidfd_getpid(int pidfd);

/*
 * Spawning a program as a pidfd_spawn() (glibc 2.39) would, with chosen
 * clone flags. The types are opaque: use the functions below.
 */
typedef struct {
	int __used;
	int __allocated;
	void *__actions;
	int __pad[12];
} clone3_compat_spawn_file_actions_t;

typedef struct {
	uint64_t __flags;
	unsigned int __set;
	pid_t __pgroup;
	sigset_t __sigmask;
	sigset_t __sigdefault;
	int __pad[16];
} clone3_compat_spawnattr_t;

int clone3_compat_spawn_file_actions_init(
	clone3_compat_spawn_file_actions_t *fa);
int clone3_compat_spawn_file_actions_destroy(
	clone3_compat_spawn_file_actions_t *fa);
int clone3_compat_spawn_file_actions_addopen(
	clone3_compat_spawn_file_actions_t *fa, int fd, const char *path,
	int oflag, mode_t mode);
int clone3_compat_spawn_file_actions_addclose(
	clone3_compat_spawn_file_actions_t *fa, int fd);
int clone3_compat_spawn_file_actions_adddup2(
	clone3_compat_spawn_file_actions_t *fa, int fd, int newfd);
int clone3_compat_spawn_file_actions_addchdir(
	clone3_compat_spawn_file_actions_t *fa, const char *path);

int clone3_compat_spawnattr_init(clone3_compat_spawnattr_t *attr);
int clone3_compat_spawnattr_destroy(clone3_compat_spawnattr_t *attr);
/* Clone flags: the 7.1 ones, CLONE_NEW* namespaces, CLONE_CLEAR_SIGHAND. */
int clone3_compat_spawnattr_setflags(clone3_compat_spawnattr_t *attr,
				     uint64_t clone_flags);
int clone3_compat_spawnattr_getflags(const clone3_compat_spawnattr_t *attr,
				     uint64_t *clone_flags);
int clone3_compat_spawnattr_setsigmask(clone3_compat_spawnattr_t *attr,
				       const sigset_t *mask);
int clone3_compat_spawnattr_setsigdefault(clone3_compat_spawnattr_t *attr,
					  const sigset_t *sigs);
int clone3_compat_spawnattr_setpgroup(clone3_compat_spawnattr_t *attr,
				      pid_t pgroup);
int clone3_compat_spawnattr_setsid(clone3_compat_spawnattr_t *attr);

/*
 * Run @path (spawnp: @file, searched in PATH) in a new child and store a
 * pidfd for it in *pidfd (O_CLOEXEC). Returns 0 or an error number, as
 * posix_spawn() does; a failed exec is reported here (ENOENT, EACCES, ...)
 * and leaves no child behind. Without CLONE_AUTOREAP the child must be
 * waited for (waitid(P_PIDFD, ...)); with it, read its status with
 * clone3_compat_exit_status().
 */
int clone3_compat_spawn(int *pidfd, const char *path,
			const clone3_compat_spawn_file_actions_t *fa,
			const clone3_compat_spawnattr_t *attr,
			char *const argv[], char *const envp[]);
int clone3_compat_spawnp(int *pidfd, const char *file,
			 const clone3_compat_spawn_file_actions_t *fa,
			 const clone3_compat_spawnattr_t *attr,
			 char *const argv[], char *const envp[]);

#ifdef __cplusplus
}
#endif

#endif /* CLONE3_COMPAT_LIB_H */
