// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * clone3() with the Linux 7.1 flags through whichever provider the probe
 * found, and the exit status of an autoreaped child.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static pid_t c3c_sys_clone3(struct clone_args *args, size_t size)
{
	return syscall(SYS_clone3, args, size);
}

/* The child returns 0 from the ioctl, like a fork() child. */
static pid_t c3c_ioctl_clone3(struct clone_args *args, size_t size)
{
	struct clone3_compat_clone3 req = {
		.size = sizeof(req),
		.args = (uintptr_t)args,
		.args_size = size,
	};
	int fd = c3c_dev_get();

	if (fd < 0)
		return -1;
	return ioctl(fd, CLONE3_COMPAT_IOC_CLONE3, &req);
}

static pid_t c3c_clone_via(int mode, struct clone_args *args, size_t size)
{
	if (mode == CLONE3_COMPAT_MODE_IOCTL)
		return c3c_ioctl_clone3(args, size);
	return c3c_sys_clone3(args, size);
}

/* Say which 7.1 rule (spec table b) a rejected request broke. */
static void c3c_explain(int err, const struct clone_args *a, int mode)
{
	uint64_t f = a->flags;
	const char *via = clone3_compat_mode_name(mode);

	if (err == EINVAL && (f & CLONE_AUTOREAP) &&
	    ((f & (CLONE_THREAD | CLONE_PARENT)) || a->exit_signal)) {
		c3c_set_errmsg("CLONE_AUTOREAP needs exit_signal 0 and neither CLONE_THREAD nor CLONE_PARENT");
	} else if (err == EINVAL && (f & CLONE_NNP) && (f & CLONE_THREAD)) {
		c3c_set_errmsg("CLONE_NNP cannot be combined with CLONE_THREAD");
	} else if (err == EINVAL && (f & CLONE_PIDFD_AUTOKILL) &&
		   (!(f & CLONE_PIDFD) || !(f & CLONE_AUTOREAP) ||
		    (f & CLONE_THREAD))) {
		c3c_set_errmsg("CLONE_PIDFD_AUTOKILL needs CLONE_PIDFD and CLONE_AUTOREAP, and no CLONE_THREAD");
	} else if (err == EPERM && (f & CLONE_PIDFD_AUTOKILL) &&
		   !(f & CLONE_NNP)) {
		c3c_set_errmsg("CLONE_PIDFD_AUTOKILL without CLONE_NNP needs CAP_SYS_ADMIN");
	} else if (err == EPERM && mode == CLONE3_COMPAT_MODE_IOCTL &&
		   prctl(PR_GET_SECCOMP) != 0) {
		c3c_set_errmsg("the clone3-compat module refuses ioctl spawns from a process under seccomp (its filter could not see them); load the module with transparent=Y");
	} else if (err == ENOSYS) {
		c3c_set_errmsg("clone3() returned ENOSYS: a seccomp filter blocks it");
	} else {
		c3c_set_errmsg("clone3 (%s) failed: %s", via, strerror(err));
	}
}

/* ENOSYS, saying which flags and why; true if @p cannot serve @want. */
static bool c3c_unavailable(const struct c3c_probe *p, uint64_t want)
{
	uint64_t missing = want & ~p->flags;
	char names[80];

	if (p->mode != CLONE3_COMPAT_MODE_UNAVAILABLE && !missing)
		return false;
	c3c_set_errmsg("%s not available: %.*s",
		       c3c_flag_names(missing ? missing : want, names,
				      sizeof(names)),
		       p->flags_reason_len, p->reason);
	errno = ENOSYS;
	return true;
}

pid_t clone3_compat(struct clone_args *args, size_t size)
{
	const struct c3c_probe *p;
	uint64_t want;
	int mode, err;
	pid_t pid;

	if (!args) {
		c3c_set_errmsg("no clone_args");
		errno = EFAULT;
		return -1;
	}
	if (size < CLONE_ARGS_SIZE_VER0) {
		c3c_set_errmsg("clone_args size %zu is below CLONE_ARGS_SIZE_VER0",
			       size);
		errno = EINVAL;
		return -1;
	}
	if (args->stack) {
		c3c_set_errmsg("clone3_compat() children return like fork() children: args->stack must be 0");
		errno = EINVAL;
		return -1;
	}
	want = args->flags & CLONE3_COMPAT_NEW_FLAGS;
	if (!want)
		return c3c_sys_clone3(args, size);

	p = c3c_probe();
	/* Maybe the module was loaded since the last look. */
	if (want & ~p->flags || p->mode == CLONE3_COMPAT_MODE_UNAVAILABLE)
		p = c3c_reprobe();
	if (c3c_unavailable(p, want))
		return -1;
	mode = p->mode;
	pid = c3c_clone_via(mode, args, size);
	if (pid >= 0)
		return pid;

	/*
	 * The module may have been unloaded or switched to transparent=N:
	 * then clone3 says EINVAL, the device ENOENT, before any child is
	 * made. Look again and retry once with what is there now.
	 */
	err = errno;
	if ((mode == CLONE3_COMPAT_MODE_TRANSPARENT && err == EINVAL) ||
	    (mode == CLONE3_COMPAT_MODE_IOCTL &&
	     (err == ENOENT || err == ENODEV || err == ENXIO))) {
		p = c3c_reprobe();
		if (p->mode != mode) {
			if (c3c_unavailable(p, want))
				return -1;
			mode = p->mode;
			pid = c3c_clone_via(mode, args, size);
			if (pid >= 0)
				return pid;
			err = errno;
		}
	}
	c3c_explain(err, args, mode);
	errno = err;
	return -1;
}

/* The module's PIDFD_GET_INFO, on the device. */
static int c3c_dev_pidfd_info(int pidfd, struct clone3_compat_pidfd_info *info,
			      size_t size)
{
	struct clone3_compat_pidfd_get_info req = {
		.size = sizeof(req),
		.pidfd = pidfd,
		.info = (uintptr_t)info,
		.info_size = size,
	};
	int fd = c3c_dev_get();

	if (fd < 0)
		return -1;
	return ioctl(fd, CLONE3_COMPAT_IOC_PIDFD_GET_INFO, &req);
}

int clone3_compat_pidfd_get_info(int pidfd,
				 struct clone3_compat_pidfd_info *info,
				 size_t size)
{
	struct clone3_compat_pidfd_info native;
	uint64_t mask;
	int err;

	if (!info || size < CLONE3_COMPAT_PIDFD_INFO_SIZE_VER0 ||
	    size > 4096) {
		c3c_set_errmsg("pidfd_info size %zu is out of range", size);
		errno = EINVAL;
		return -1;
	}
	mask = info->mask;
	/* Upstream's ioctl is extensible: the size is in the command. */
	if (ioctl(pidfd, _IOC(_IOC_READ | _IOC_WRITE, C3C_PIDFS_IOCTL_MAGIC,
			      11, size), info) == 0) {
		if (!(mask & CLONE3_COMPAT_PIDFD_INFO_EXIT) ||
		    (info->mask & CLONE3_COMPAT_PIDFD_INFO_EXIT))
			return 0;
		/* No PIDFD_INFO_EXIT in the kernel (6.13, 6.14): the module? */
		memcpy(&native, info, sizeof(native));
		info->mask = mask;
		if (c3c_dev_pidfd_info(pidfd, info, size) == 0)
			return 0;
		memcpy(info, &native, sizeof(native));
		return 0;
	}
	err = errno;
	/*
	 * ENOTTY: no pidfs ioctls (6.1), EINVAL: pidfs without GET_INFO
	 * (6.9 to 6.12), ESRCH: reaped on a kernel without PIDFD_INFO_EXIT.
	 * Anything else (EBADF, EFAULT, EREMOTE) is the answer.
	 */
	if (err != ENOTTY && err != EINVAL && err != ESRCH) {
		c3c_set_errmsg("PIDFD_GET_INFO: %s", strerror(err));
		errno = err;
		return -1;
	}
	info->mask = mask;
	if (c3c_dev_pidfd_info(pidfd, info, size) == 0)
		return 0;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO ||
	    errno == EACCES) {
		c3c_set_errmsg("PIDFD_GET_INFO: the kernel has none that helps (%s) and %s cannot be opened (%s)",
			       strerror(err), CLONE3_COMPAT_DEVICE,
			       strerror(errno));
		errno = err == ESRCH ? ESRCH : ENOSYS;
		return -1;
	}
	c3c_set_errmsg("PIDFD_GET_INFO (%s): %s", CLONE3_COMPAT_DEVICE,
		       strerror(errno));
	return -1;
}

int clone3_compat_exit_status(int pidfd, int *wstatus)
{
	struct clone3_compat_pidfd_info info = {
		.mask = CLONE3_COMPAT_PIDFD_INFO_PID |
			CLONE3_COMPAT_PIDFD_INFO_EXIT,
	};

	if (clone3_compat_pidfd_get_info(pidfd, &info, sizeof(info)))
		return -1;
	if (info.mask & CLONE3_COMPAT_PIDFD_INFO_EXIT) {
		if (wstatus)
			*wstatus = info.exit_code;
		return 0;
	}
	if (info.mask & CLONE3_COMPAT_PIDFD_INFO_PID) {
		c3c_set_errmsg("process %u has not exited (or is a zombie not yet waited for)",
			       info.pid);
		errno = EAGAIN;
		return -1;
	}
	c3c_set_errmsg("the process is gone and its exit status was not kept (it was not autoreaped)");
	errno = ESRCH;
	return -1;
}

pid_t clone3_compat_pidfd_getpid(int pidfd)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	long pid;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			errno = EBADF;
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = EBADF;
		return -1;
	}
	buf[n] = 0;
	p = strstr(buf, "\nPid:");
	if (!p) {
		errno = EBADF;	/* not a pidfd */
		return -1;
	}
	pid = strtol(p + 5, NULL, 10);
	if (pid <= 0) {
		/* -1: gone; 0: in a pid namespace we cannot see */
		errno = pid < 0 ? ESRCH : EREMOTE;
		return -1;
	}
	return pid;
}
