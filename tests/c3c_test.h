/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the kselftest-harness tests of clone3-compat. They run
 * inside a guest: a Debian kernel with the module loaded, or a native Linux
 * 7.1+ kernel without it (see scripts/check).
 *
 * The facts a test may rely on, and where they hold:
 *  - the 7.1 UAPI (clone3 flags, PIDFD_GET_INFO on a pidfd): everywhere the
 *    suite runs; the clone3 variants use nothing else;
 *  - the device and its ioctls (CLONE3, PIDFD_GET_INFO, FEATURES): only
 *    where the module is loaded; tests and variants that need them are
 *    named module_only_* and the native list (tests/native-tests.list)
 *    leaves them out by that name;
 *  - the module's own guarantees (a readable pidfd has its exit status at
 *    once; its state counters drain): likewise module_only_*, except the
 *    drain check that many tests end with, which checks module internals
 *    and so is checked where the module is loaded (c3c_state_drained()).
 */
#ifndef C3C_TEST_H
#define C3C_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "../include/uapi/linux/clone3_compat.h"
#include "cpus.h"
#include "procfs.h"

#ifndef __WALL
#define __WALL 0x40000000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define C3C_SYSFS_MODULE "/sys/module/clone3_compat"

/* The module is loaded (its internals can be checked). */
static inline bool c3c_module_loaded(void)
{
	return access(C3C_SYSFS_MODULE, F_OK) == 0;
}

/*
 * Bit 37 is CLONE_EMPTY_MNTNS on Linux 7.1.13 and later. Where the module
 * is loaded the kernel is older and the module never accepts it.
 */
static inline bool c3c_kernel_has_empty_mntns(void)
{
	struct utsname u;
	int a = 0, b = 0, c = 0;

	if (c3c_module_loaded() || uname(&u) ||
	    sscanf(u.release, "%d.%d.%d", &a, &b, &c) < 2)
		return false;
	return a > 7 || (a == 7 && (b > 1 || (b == 1 && c >= 13)));
}

/*
 * Set by a test (its clone3 variant) that must use the Linux 7.1 UAPI only:
 * c3c_get_info() then asks PIDFD_GET_INFO on the pidfd, not the device.
 */
static bool c3c_upstream_api __attribute__((unused));

/* Upstream's PIDFD_GET_INFO (linux/pidfd.h), struct pidfd_info VER1. */
#define C3C_PIDFD_GET_INFO \
	_IOWR(0xFF, 11, struct clone3_compat_pidfd_info)

static inline int c3c_dev(void)
{
	return open(CLONE3_COMPAT_DEVICE, O_RDWR | O_CLOEXEC);
}

/* clone3 through the device: -1 and errno on failure, like the syscall. */
static inline pid_t c3c_spawn(struct clone_args *args, size_t size)
{
	struct clone3_compat_clone3 req = {
		.size = sizeof(req),
		.args = (uintptr_t)args,
		.args_size = size,
	};
	int fd = c3c_dev();
	pid_t pid;
	int err;

	if (fd < 0)
		return -1;
	pid = ioctl(fd, CLONE3_COMPAT_IOC_CLONE3, &req);
	err = errno;
	close(fd);	/* parent and child each close their own copy */
	errno = err;
	return pid;
}

static inline pid_t sys_clone3(struct clone_args *args, size_t size)
{
	return syscall(__NR_clone3, args, size);
}

static inline int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return syscall(__NR_pidfd_open, pid, flags);
}

static inline int sys_pidfd_send_signal(int pidfd, int sig)
{
	return syscall(__NR_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static inline int sys_pidfd_getfd(int pidfd, int fd)
{
	return syscall(__NR_pidfd_getfd, pidfd, fd, 0);
}

/* Spawn with the given 7.1 + legacy flags through the device. */
static inline pid_t c3c_spawn_flags(uint64_t flags, int *pidfd)
{
	struct clone_args args = {
		.flags = flags,
		.pidfd = (uintptr_t)pidfd,
	};

	return c3c_spawn(&args, sizeof(args));
}

/* PIDFD_GET_INFO through the device (module only). */
static inline int c3c_dev_get_info(int pidfd,
				   struct clone3_compat_pidfd_info *info,
				   uint64_t mask)
{
	struct clone3_compat_pidfd_get_info req = {
		.size = sizeof(req),
		.pidfd = pidfd,
		.info = (uintptr_t)info,
		.info_size = sizeof(*info),
	};
	int fd = c3c_dev(), ret, err;

	memset(info, 0, sizeof(*info));
	info->mask = mask;
	ret = ioctl(fd, CLONE3_COMPAT_IOC_PIDFD_GET_INFO, &req);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

/*
 * Upstream's PIDFD_GET_INFO on the pidfd (7.1 UAPI; on a module kernel the
 * module answers it in transparent mode). Without the module the kernel
 * may wake a poller before it stores the exit status (7.1 promises the
 * status after the exit, not at the wakeup): there an EXIT request is
 * retried for a bounded while. With the module it is asked once: readable
 * implies the status there.
 */
static inline int c3c_pidfd_get_info(int pidfd,
				     struct clone3_compat_pidfd_info *info,
				     uint64_t mask)
{
	bool retry = (mask & CLONE3_COMPAT_PIDFD_INFO_EXIT) && !c3c_module_loaded();
	int ret;

	for (int i = 0;; i++) {
		memset(info, 0, sizeof(*info));
		info->mask = mask;
		ret = ioctl(pidfd, C3C_PIDFD_GET_INFO, info);
		if (!retry || i >= 1000 ||
		    (ret == 0 && (info->mask & CLONE3_COMPAT_PIDFD_INFO_EXIT)) ||
		    (ret && errno != ESRCH))
			return ret;
		/* Only a dead process gets its status: is it dead yet? */
		if (ret == 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };

			if (poll(&p, 1, 0) != 1)
				return ret;
		}
		usleep(1000);
	}
}

/* The exit status and credentials of a pidfd's process. */
static inline int c3c_get_info(int pidfd, struct clone3_compat_pidfd_info *info,
			       uint64_t mask)
{
	if (c3c_upstream_api)
		return c3c_pidfd_get_info(pidfd, info, mask);
	return c3c_dev_get_info(pidfd, info, mask);
}

static inline int c3c_features(struct clone3_compat_features *f)
{
	int fd = c3c_dev(), ret, err;

	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	ret = ioctl(fd, CLONE3_COMPAT_IOC_FEATURES, f);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

/* Wait until the pidfd polls readable; false on timeout. */
static inline bool c3c_wait_pidfd(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/*
 * Wait up to @ms for @pid to vanish from /proc, failing if it is seen as a
 * zombie that lingers: an autoreaped process is released right after its
 * exit. (On PREEMPT_RT the exiting task can be preempted inside the
 * tasklist_lock section that takes it from EXIT_ZOMBIE to EXIT_DEAD, so a
 * poller may glimpse 'Z' there; nothing can reap it in that window.)
 */
static inline int c3c_gone_no_zombie(pid_t pid, int ms)
{
	int zombie_ms = 0;

	for (int i = 0; i < ms; i++) {
		char s = procfs_state(pid);

		if (s == 0)
			return 0;
		zombie_ms = s == 'Z' ? zombie_ms + 1 : 0;
		if (zombie_ms >= 50)
			return -1;
		usleep(1000);
	}
	return -2;
}

/* No child of ours is waitable, not even a zombie clone child. */
static inline bool c3c_no_waitable_child(void)
{
	siginfo_t si = { 0 };

	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) == -1 &&
	       errno == ECHILD;
}

/*
 * Wait (bounded) for the module's tracked-state counters to drain. Module
 * internals: true at once where the module is not loaded (a native
 * kernel), as there is no such state to leak.
 */
static inline bool c3c_state_drained(int ms)
{
	struct clone3_compat_features f;

	if (!c3c_module_loaded())
		return true;
	for (int i = 0; i < ms / 10; i++) {
		if (c3c_features(&f) == 0 && f.tracked == 0 &&
		    f.autokill_files == 0)
			return true;
		usleep(10000);
	}
	return false;
}

#endif /* C3C_TEST_H */
