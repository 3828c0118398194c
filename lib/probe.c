// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who provides the Linux 7.1 clone3 flags here, decided once per process.
 *
 * 1. /dev/clone3_compat answers: the module's FEATURES say whether the
 *    clone3 syscall itself takes the flags (transparent) or only the
 *    device's CLONE3 ioctl does.
 * 2. The module is loaded but its node is not usable (a container without
 *    it, a restrictive mode): its transparent parameter still tells.
 * 3. No module: a clone3 that the kernel refuses before it creates
 *    anything tells whether it knows the flags: EPERM from the check of
 *    CLONE_PIDFD_AUTOKILL's privilege (7.1 and later) or EINVAL for
 *    unknown flags (older kernels). See c3c_probe_native().
 *
 * A result is published once and never changed in place; when the system
 * changes under a running process (module loaded later, unloaded, switched
 * to transparent=N), c3c_reprobe() publishes a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>

#include "internal.h"

static _Thread_local char c3c_errmsg[512];

void c3c_set_errmsg(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c3c_errmsg, sizeof(c3c_errmsg), fmt, ap);
	va_end(ap);
	errno = saved;
}

const char *clone3_compat_errmsg(void)
{
	return c3c_errmsg;
}

const char *c3c_flag_names(uint64_t flags, char *buf, size_t n)
{
	static const struct {
		uint64_t flag;
		const char *name;
	} names[] = {
		{ CLONE_AUTOREAP, "CLONE_AUTOREAP" },
		{ CLONE_NNP, "CLONE_NNP" },
		{ CLONE_PIDFD_AUTOKILL, "CLONE_PIDFD_AUTOKILL" },
	};
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].flag))
			continue;
		len += snprintf(buf + len, len < n ? n - len : 0, "%s%s",
				len ? ", " : "", names[i].name);
	}
	return buf;
}

int c3c_dev_open(void)
{
	return open(CLONE3_COMPAT_DEVICE, O_RDWR | O_CLOEXEC | O_NOCTTY);
}

/* The device number in 32 bits: misc majors and minors are small. */
static uint32_t c3c_rdev32(dev_t rdev)
{
	return (uint32_t)(major(rdev) << 20 | (minor(rdev) & 0xfffff));
}

/*
 * The device for the ioctls, opened once per process: an open and close
 * per spawn cost 4 % of the spawn (docs/benchmarks.md). (fd + 1) << 32 |
 * device number, in one word so that threads agree on both; 0: none yet.
 * fstat() catches a program that closed it (closefrom(), a daemonizing
 * loop), even if the number now names another file. Like any open file
 * of the device it keeps the module loaded while it is open.
 */
static _Atomic uint64_t c3c_dev_slot;

int c3c_dev_get(void)
{
	uint64_t slot = atomic_load(&c3c_dev_slot), mine;
	struct stat st;
	int fd;

	for (;;) {
		fd = (int)(slot >> 32) - 1;
		if (slot && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
		    c3c_rdev32(st.st_rdev) == (uint32_t)slot)
			return fd;
		fd = c3c_dev_open();
		if (fd < 0)
			return -1;
		if (fstat(fd, &st)) {
			int err = errno;

			close(fd);
			errno = err;
			return -1;
		}
		mine = (uint64_t)(fd + 1) << 32 | c3c_rdev32(st.st_rdev);
		/* A stale number is not ours to close: it may be reused. */
		if (atomic_compare_exchange_strong(&c3c_dev_slot, &slot, mine))
			return fd;
		close(fd);	/* another thread was first: use its */
	}
}

const char *clone3_compat_mode_name(int mode)
{
	switch (mode) {
	case CLONE3_COMPAT_MODE_NATIVE:
		return "native";
	case CLONE3_COMPAT_MODE_TRANSPARENT:
		return "module: transparent";
	case CLONE3_COMPAT_MODE_IOCTL:
		return "module: ioctl";
	default:
		return "unavailable";
	}
}

#define APPEND(p, ...)							\
	do {								\
		size_t _l = strlen((p)->reason);			\
		snprintf((p)->reason + _l, sizeof((p)->reason) - _l,	\
			 __VA_ARGS__);					\
	} while (0)

/* 'Y', 'N', or 0 when the parameter cannot be read. */
static char c3c_transparent_param(void)
{
	char c = 0;
	int fd = open(C3C_SYSFS_TRANSPARENT, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == '1' ? 'Y' : c == '0' ? 'N' : c;
}

/*
 * Lower or restore CAP_SYS_ADMIN in the calling thread's effective set
 * (capset() on a thread changes that thread only; the permitted set stays,
 * so it can be raised again). Returns 1 if it was lowered, 0 if it was not
 * effective anyway, -1 if it could not be lowered.
 */
static int c3c_sysadmin_lower(struct __user_cap_data_struct d[2],
			      struct __user_cap_header_struct *h)
{
	const unsigned int bit = CAP_SYS_ADMIN;	/* 21: in the first word */
	struct __user_cap_data_struct low[2];

	h->version = _LINUX_CAPABILITY_VERSION_3;
	h->pid = 0;
	if (syscall(SYS_capget, h, d))
		return -1;
	if (!(d[0].effective & (1U << bit)))
		return 0;
	memcpy(low, d, sizeof(low));
	low[0].effective &= ~(1U << bit);
	return syscall(SYS_capset, h, low) ? -1 : 1;
}

/*
 * Case 3: does clone3 itself take the flags? Decided without creating a
 * process: a child made only to ask would be seen by the caller's wait().
 *
 * clone3() refuses unknown flag bits with EINVAL (clone3_args_valid())
 * before anything else about them is looked at. A kernel that knows them
 * checks, still before it allocates a task (copy_process()), that
 * CLONE_PIDFD_AUTOKILL without CLONE_NNP is asked by a caller with
 * CAP_SYS_ADMIN, and answers EPERM otherwise. So CLONE_PIDFD |
 * CLONE_AUTOREAP | CLONE_PIDFD_AUTOKILL, asked without CAP_SYS_ADMIN in
 * effect, fails EPERM on a kernel that has the flags and EINVAL on one
 * that lacks them, and never makes a child. A caller that has
 * CAP_SYS_ADMIN lowers it in this thread for the call (signals blocked,
 * so no handler runs without it). CLONE_NNP came in the same release
 * (Linux 7.1) and cannot be told apart this way; it is taken with them.
 */
static void c3c_probe_native(struct c3c_probe *p, const char *rel,
			     const char *dev_err)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct caps[2];
	sigset_t all, old;
	int pidfd = -1, lowered, err;
	struct clone_args a = {
		.flags = CLONE_PIDFD | CLONE_AUTOREAP | CLONE_PIDFD_AUTOKILL,
		.pidfd = (uintptr_t)&pidfd,
		.exit_signal = 0,
	};
	struct clone_args unknown = { .flags = 1ULL << 63 };
	long pid;

	/*
	 * First a bit no kernel knows: EINVAL from every clone3(). Anything
	 * else (a seccomp filter's EPERM or ENOSYS) means clone3 itself is
	 * not ours to ask, and an EPERM below would not tell the flags.
	 */
	if (syscall(SYS_clone3, &unknown, sizeof(unknown)) >= 0)
		_exit(0);	/* not reached: no kernel accepts bit 63 */
	if (errno != EINVAL) {
		err = errno;
		if (err == ENOSYS) {
			APPEND(p, "clone3() is not available to this process (ENOSYS: a seccomp filter blocks it, or Linux %s is older than 5.3), and the clone3-compat module is not loaded (%s: %s).",
			       rel, CLONE3_COMPAT_DEVICE, dev_err);
			return;
		}
		APPEND(p, "clone3() is refused to this process (%s for any flags: a seccomp filter or security module blocks it), so whether Linux %s has the Linux 7.1 flags cannot be told; the clone3-compat module is not loaded (%s: %s).",
		       strerror(err), rel, CLONE3_COMPAT_DEVICE, dev_err);
		return;
	}

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	lowered = c3c_sysadmin_lower(caps, &h);
	if (lowered < 0) {
		err = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		APPEND(p, "cannot tell whether Linux %s has the Linux 7.1 flags: the test needs CAP_SYS_ADMIN lowered in this thread, and capget/capset failed (%s); the clone3-compat module is not loaded (%s: %s).",
		       rel, strerror(err), CLONE3_COMPAT_DEVICE, dev_err);
		return;
	}
	pid = syscall(SYS_clone3, &a, sizeof(a));
	err = errno;
	if (pid == 0)
		_exit(0);	/* not reached: see above */
	if (lowered > 0 && syscall(SYS_capset, &h, caps))
		abort();	/* cannot give the caller back its capability */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid > 0) {
		/* A kernel without the capability check: it has the flags. */
		close(pidfd);	/* AUTOKILL: gone even if it had not run */
		err = EPERM;
	}
	switch (err) {
	case EPERM:
		p->mode = CLONE3_COMPAT_MODE_NATIVE;
		p->flags = CLONE3_COMPAT_NEW_FLAGS;
		APPEND(p, "Linux %s has CLONE_AUTOREAP, CLONE_NNP and CLONE_PIDFD_AUTOKILL itself (clone3 knows the flags: it refused CLONE_PIDFD_AUTOKILL without CLONE_NNP to a caller without CAP_SYS_ADMIN).",
		       rel);
		break;
	case EINVAL:
		APPEND(p, "Linux %s lacks CLONE_AUTOREAP, CLONE_NNP and CLONE_PIDFD_AUTOKILL (they came with Linux 7.1) and the clone3-compat module is not loaded (%s: %s): load it with 'modprobe clone3_compat' (package clone3-compat-dkms).",
		       rel, CLONE3_COMPAT_DEVICE, dev_err);
		break;
	case ENOSYS:
		APPEND(p, "clone3() is not available to this process (ENOSYS: a seccomp filter blocks it, or Linux %s is older than 5.3), and the clone3-compat module is not loaded (%s: %s).",
		       rel, CLONE3_COMPAT_DEVICE, dev_err);
		break;
	default:
		APPEND(p, "a test clone3 with the Linux 7.1 flags failed on Linux %s (%s) and the clone3-compat module is not loaded (%s: %s).",
		       rel, strerror(err), CLONE3_COMPAT_DEVICE, dev_err);
		break;
	}
}

/* Case 1: the module answers through its device. */
static void c3c_probe_device(struct c3c_probe *p, int fd, const char *rel)
{
	struct clone3_compat_version v = { .size = sizeof(v) };
	struct clone3_compat_features f = { .size = sizeof(f) };
	char param = c3c_transparent_param();

	if (ioctl(fd, CLONE3_COMPAT_IOC_VERSION, &v) ||
	    ioctl(fd, CLONE3_COMPAT_IOC_FEATURES, &f)) {
		APPEND(p, "%s exists but does not answer like the clone3-compat module (%s).",
		       CLONE3_COMPAT_DEVICE, strerror(errno));
		return;
	}
	p->mechanisms = f.mechanisms;
	p->flags = f.clone_flags & CLONE3_COMPAT_NEW_FLAGS;
	/* Belt and braces: the parameter is the admin's word. */
	if ((f.mechanisms & CLONE3_COMPAT_MECH_CLONE3) && param != 'N') {
		p->mode = CLONE3_COMPAT_MODE_TRANSPARENT;
		APPEND(p, "the clone3-compat module %u.%u.%u (ABI %u) is loaded on Linux %s with transparent=Y: the clone3 syscall itself accepts the flags.",
		       v.module_version >> 16, (v.module_version >> 8) & 0xff,
		       v.module_version & 0xff, v.abi_version, rel);
	} else if (f.mechanisms & CLONE3_COMPAT_MECH_IOCTL_SPAWN) {
		p->mode = CLONE3_COMPAT_MODE_IOCTL;
		APPEND(p, "the clone3-compat module %u.%u.%u (ABI %u) is loaded on Linux %s with transparent=N (%s): children are spawned through the CLONE3 ioctl of %s.",
		       v.module_version >> 16, (v.module_version >> 8) & 0xff,
		       v.module_version & 0xff, v.abi_version, rel,
		       C3C_SYSFS_TRANSPARENT, CLONE3_COMPAT_DEVICE);
	} else {
		p->flags = 0;
		APPEND(p, "the clone3-compat module on Linux %s offers no way to spawn (mechanisms 0x%llx).",
		       rel, (unsigned long long)f.mechanisms);
	}
	if (!p->flags && p->mode != CLONE3_COMPAT_MODE_UNAVAILABLE) {
		p->mode = CLONE3_COMPAT_MODE_UNAVAILABLE;
		APPEND(p, " It reports none of the three flags.");
	}
}

/* How an exit status is read: upstream's ioctl on a pidfd, or the device. */
static void c3c_probe_exit(struct c3c_probe *p, int devfd)
{
	p->flags_reason_len = strlen(p->reason);
	struct clone3_compat_pidfd_info info = {
		.mask = CLONE3_COMPAT_PIDFD_INFO_PID,
	};
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	int native = -1;

	if (pidfd >= 0) {
		native = ioctl(pidfd, C3C_PIDFD_GET_INFO, &info);
		close(pidfd);
	}
	if (native == 0 && (p->mechanisms & CLONE3_COMPAT_MECH_PIDFD_INFO)) {
		p->exit_mode = CLONE3_COMPAT_MODE_TRANSPARENT;
		APPEND(p, " Exit status: PIDFD_GET_INFO on the pidfd, answered by the module.");
	} else if (native == 0) {
		p->exit_mode = CLONE3_COMPAT_MODE_NATIVE;
		APPEND(p, " Exit status: the kernel's PIDFD_GET_INFO%s.",
		       devfd >= 0 ? " (the module's as a fallback)" : "");
	} else if (devfd >= 0) {
		p->exit_mode = CLONE3_COMPAT_MODE_IOCTL;
		APPEND(p, " Exit status: the kernel has no PIDFD_GET_INFO, the module's ioctl answers.");
	} else {
		APPEND(p, " Exit status of autoreaped children: not readable (the kernel has no PIDFD_GET_INFO and %s is not there).",
		       CLONE3_COMPAT_DEVICE);
	}
}

static void c3c_do_probe(struct c3c_probe *p)
{
	struct utsname u;
	const char *rel = "?";
	struct stat st;
	int fd, err;

	memset(p, 0, sizeof(*p));
	if (uname(&u) == 0)
		rel = u.release;
	fd = c3c_dev_open();
	err = errno;
	if (fd >= 0) {
		c3c_probe_device(p, fd, rel);
	} else if (stat(C3C_SYSFS_MODULE, &st) == 0) {
		char param = c3c_transparent_param();

		if (param == 'Y') {
			p->mode = CLONE3_COMPAT_MODE_TRANSPARENT;
			p->flags = CLONE3_COMPAT_NEW_FLAGS;
			p->mechanisms = CLONE3_COMPAT_MECH_CLONE3;
		}
		APPEND(p, "the clone3-compat module is loaded on Linux %s but %s cannot be opened (%s)%s",
		       rel, CLONE3_COMPAT_DEVICE, strerror(err),
		       param == 'Y' ? "; clone3 itself accepts the flags (transparent=Y)." :
		       "; and it is not in transparent mode, so nothing can use it.");
	} else {
		c3c_probe_native(p, rel, strerror(err));
	}
	c3c_probe_exit(p, fd);
	if (fd >= 0)
		close(fd);
}

static struct c3c_probe c3c_first;
static pthread_once_t c3c_once = PTHREAD_ONCE_INIT;
static _Atomic(const struct c3c_probe *) c3c_current;
static pthread_mutex_t c3c_reprobe_lock = PTHREAD_MUTEX_INITIALIZER;

static void c3c_probe_once(void)
{
	c3c_do_probe(&c3c_first);
	atomic_store(&c3c_current, &c3c_first);
}

const struct c3c_probe *c3c_probe(void)
{
	pthread_once(&c3c_once, c3c_probe_once);
	return atomic_load(&c3c_current);
}

const struct c3c_probe *c3c_reprobe(void)
{
	const struct c3c_probe *old = c3c_probe();
	struct c3c_probe np, *copy;

	pthread_mutex_lock(&c3c_reprobe_lock);
	c3c_do_probe(&np);
	old = atomic_load(&c3c_current);
	if (np.mode == old->mode && np.flags == old->flags &&
	    np.exit_mode == old->exit_mode &&
	    np.mechanisms == old->mechanisms) {
		pthread_mutex_unlock(&c3c_reprobe_lock);
		return old;
	}
	/*
	 * Other threads may still read the old result: it is never freed.
	 * One allocation per change of the system, not per call.
	 */
	copy = malloc(sizeof(*copy));
	if (copy) {
		*copy = np;
		atomic_store(&c3c_current, copy);
		old = copy;
	}
	pthread_mutex_unlock(&c3c_reprobe_lock);
	return old;
}

int clone3_compat_mode(void)
{
	return c3c_probe()->mode;
}

uint64_t clone3_compat_flags(void)
{
	const struct c3c_probe *p = c3c_probe();

	return p->mode == CLONE3_COMPAT_MODE_UNAVAILABLE ? 0 : p->flags;
}

int clone3_compat_exit_mode(void)
{
	return c3c_probe()->exit_mode;
}

const char *clone3_compat_mode_reason(void)
{
	return c3c_probe()->reason;
}
