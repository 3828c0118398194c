// SPDX-License-Identifier: GPL-2.0
/*
 * upstream71: CLONE_AUTOREAP, CLONE_NNP, CLONE_PIDFD_AUTOKILL and
 * PIDFD_GET_INFO exactly as a program written for Linux 7.1 uses them:
 * raw syscall(SYS_clone3), ioctl() on pidfds, the 7.1 UAPI values defined
 * below (only when the system headers lack them). Nothing of clone3-compat
 * is included, so the same binary must pass on Linux 7.1 and on an older
 * kernel with the module loaded (transparent mode).
 *
 * Modelled on tools/testing/selftests/pidfd/pidfd_autoreap_test.c and
 * extended to every rule of the 7.1 validation table, in its errno order.
 * Every test is meant to pass as root and as an unprivileged user; where
 * the outcome differs, the test branches on geteuid().
 *
 * Conventions: processes made with raw clone3() share glibc's cached
 * thread pointer with their parent, so they only use plain syscalls,
 * write() results to a pipe and _exit(); never ASSERT or abort() there.
 * Every wait is bounded; processes are observed through pidfds.
 *
 * The setuid tests use /tmp/c3c-suid-busybox, a setuid-root copy of
 * /bin/busybox that the root run creates and the unprivileged run (in the
 * same boot, after the root run) reuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sched.h>	/* struct clone_args, CLONE_ARGS_SIZE_VER* */

#include "kselftest_harness.h"
#include "cpus.h"
#include "procfs.h"

/* ---- Linux 7.1 UAPI (include/uapi/linux/sched.h, linux/pidfd.h) ---- */

#ifndef CLONE_AUTOREAP
#define CLONE_AUTOREAP		(1ULL << 34)
#endif
#ifndef CLONE_NNP
#define CLONE_NNP		(1ULL << 35)
#endif
#ifndef CLONE_PIDFD_AUTOKILL
#define CLONE_PIDFD_AUTOKILL	(1ULL << 36)
#endif
/*
 * Bit 37: CLONE_EMPTY_MNTNS on Linux 7.1.13 and later (a new, empty mount
 * namespace; CAP_SYS_ADMIN needed). Unknown to the older kernels the
 * module serves, and the module never accepts it.
 */
#define CLONE_BIT37		(1ULL << 37)

#ifndef PIDFS_IOCTL_MAGIC
#define PIDFS_IOCTL_MAGIC	0xFF
#endif
#ifndef PIDFD_INFO_PID
#define PIDFD_INFO_PID		(1UL << 0)
#endif
#ifndef PIDFD_INFO_CREDS
#define PIDFD_INFO_CREDS	(1UL << 1)
#endif
#ifndef PIDFD_INFO_CGROUPID
#define PIDFD_INFO_CGROUPID	(1UL << 2)
#endif
#ifndef PIDFD_INFO_EXIT
#define PIDFD_INFO_EXIT		(1UL << 3)
#endif
#ifndef PIDFD_INFO_SIZE_VER0
#define PIDFD_INFO_SIZE_VER0	64
#endif
#ifndef PIDFD_INFO_SIZE_VER1
#define PIDFD_INFO_SIZE_VER1	72
#endif

/* struct pidfd_info up to PIDFD_INFO_SIZE_VER1, under its own name. */
struct pidfd_info_v1 {
	__u64 mask;
	__u64 cgroupid;
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 ruid;
	__u32 rgid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
	__s32 exit_code;
	__u32 coredump_mask;
	__u32 __spare1;
};

/* PIDFD_GET_INFO: extensible, the struct size is encoded in the command. */
#define PIDFD_GET_INFO_SIZED(size) \
	_IOC(_IOC_READ | _IOC_WRITE, PIDFS_IOCTL_MAGIC, 11, (size))
#define PIDFD_GET_INFO_V1 \
	_IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info_v1)

_Static_assert(sizeof(struct pidfd_info_v1) == PIDFD_INFO_SIZE_VER1, "VER1");
_Static_assert(offsetof(struct pidfd_info_v1, cgroupid) == 8, "cgroupid");
_Static_assert(offsetof(struct pidfd_info_v1, pid) == 16, "pid");
_Static_assert(offsetof(struct pidfd_info_v1, ruid) == 28, "ruid");
_Static_assert(offsetof(struct pidfd_info_v1, fsgid) == 56, "fsgid");
_Static_assert(offsetof(struct pidfd_info_v1, exit_code) == 60, "exit_code");
_Static_assert(offsetof(struct pidfd_info_v1, coredump_mask) == 64, "coredump");
_Static_assert(PIDFD_GET_INFO_V1 == 0xC048FF0B, "PIDFD_GET_INFO");
_Static_assert(PIDFD_GET_INFO_SIZED(72) == PIDFD_GET_INFO_V1, "sized");
_Static_assert(sizeof(struct clone_args) >= CLONE_ARGS_SIZE_VER2, "VER2");

#ifndef __WALL
#define __WALL 0x40000000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif

#define SUID_BUSYBOX	"/tmp/c3c-suid-busybox"
#define BUSYBOX		"/bin/busybox"
#define UNPRIV_ID	1000

/* AUTOKILL with its requirements except NNP: EPERM for an unprivileged caller. */
#define AK (CLONE_PIDFD_AUTOKILL | CLONE_PIDFD | CLONE_AUTOREAP)
/* The same, allowed for everyone. */
#define AKN (AK | CLONE_NNP)

#define EXIT_MS		15000	/* a process told to exit is gone by then (TCG, busy host) */
#define EXEC_MS		15000	/* one that execs busybox first */
#define ALIVE_MS	300	/* how long "still alive" is watched */

/* ---- syscalls ----------------------------------------------------------- */

static long sys_clone3(struct clone_args *args, size_t size)
{
	return syscall(SYS_clone3, args, size);
}

static int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* clone3() with the common arguments: pid, 0 in the child, -1 + errno. */
static pid_t spawn(uint64_t flags, int exit_signal, int *pidfd)
{
	struct clone_args args = {
		.flags = flags,
		.pidfd = (uintptr_t)pidfd,
		.exit_signal = (uint64_t)exit_signal,
	};

	return sys_clone3(&args, sizeof(args));
}

/*
 * clone3() from a throw-away process; returns the errno it got, 0 when the
 * call succeeded (the child exits at once), -1 when the helper died. Every
 * call that is expected to fail goes through here, so that a wrongly
 * accepted CLONE_VM or CLONE_THREAD clone cannot corrupt the test.
 */
static int clone3_errno(struct clone_args *args, size_t size)
{
	pid_t h;
	int st;

	fflush(NULL);
	h = fork();
	if (h < 0)
		return -1;
	if (h == 0) {
		long r = sys_clone3(args, size);

		if (r == 0)
			_exit(0);
		_exit(r < 0 ? (errno & 0xff) : 0);
	}
	if (waitpid(h, &st, 0) != h || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int clone3_flags_errno(uint64_t flags, int exit_signal)
{
	int pidfd = -1;
	struct clone_args args = {
		.flags = flags,
		.pidfd = (uintptr_t)&pidfd,
		.exit_signal = (uint64_t)exit_signal,
	};

	return clone3_errno(&args, sizeof(args));
}

/*
 * Does the kernel know bit 37 (CLONE_EMPTY_MNTNS, Linux 7.1.13 and later)?
 * Where the clone3-compat module is loaded the kernel is older.
 */
static bool kernel_has_empty_mntns(void)
{
	struct utsname u;
	int a = 0, b = 0, c = 0;

	if (access("/sys/module/clone3_compat", F_OK) == 0 || uname(&u) ||
	    sscanf(u.release, "%d.%d.%d", &a, &b, &c) < 2)
		return false;
	return a > 7 || (a == 7 && (b > 1 || (b == 1 && c >= 13)));
}

static int get_info(int pidfd, struct pidfd_info_v1 *info, uint64_t mask)
{
	memset(info, 0, sizeof(*info));
	info->mask = mask;
	return ioctl(pidfd, PIDFD_GET_INFO_V1, info);
}

/* ---- observation helpers -------------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* 1 if the pidfd polls readable within @ms, 0 if not, -1 on error. */
static int pidfd_poll(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	return r == 1 && (p.revents & POLLIN) ? 1 : 0;
}

/*
 * Watch @pid until it is gone from /proc: 0 when gone, -1 as soon as it is
 * seen as a zombie (unless @zombie_ok), -2 if still there after @ms.
 */
/*
 * A zombie is one that lingers: on PREEMPT_RT the exiting task can be
 * preempted inside the tasklist_lock section that takes an autoreaped task
 * from EXIT_ZOMBIE to EXIT_DEAD, and a poller may glimpse 'Z' there.
 */
static int wait_gone(pid_t pid, int ms, bool zombie_ok)
{
	long end = now_ms() + ms, zombie_since = -1;

	for (;;) {
		char s = procfs_state(pid);

		if (!s)
			return 0;
		if (s != 'Z')
			zombie_since = -1;
		else if (zombie_since < 0)
			zombie_since = now_ms();
		else if (!zombie_ok && now_ms() - zombie_since >= 50)
			return -1;
		if (now_ms() > end)
			return -2;
		usleep(1000);
	}
}

/* Wait (bounded) until @pid shows state @want in /proc. */
static bool wait_state(pid_t pid, char want, int ms)
{
	long end = now_ms() + ms;

	while (procfs_state(pid) != want) {
		if (now_ms() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/* Nothing of ours is waitable, not even a clone child: ECHILD. */
static bool no_child_left(void)
{
	siginfo_t si = { 0 };

	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) == -1 &&
	       errno == ECHILD;
}

static bool sigchld_pending(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigpending(&set);
	return sigismember(&set, SIGCHLD);
}

/* Block SIGCHLD and discard any already pending. */
static void block_sigchld(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	while (sigtimedwait(&set, NULL, &zero) == SIGCHLD)
		;
}

/* ---- child-side helpers: plain syscalls only -------------------------------- */

/* Block until the write end is closed everywhere (or written to). */
static void child_wait(int rfd)
{
	char c;

	while (read(rfd, &c, 1) < 0 && errno == EINTR)
		;
}

static void report(int wfd, const void *buf, size_t len)
{
	if (write(wfd, buf, len) != (ssize_t)len)
		_exit(120);
}

static void report_int(int wfd, int v)
{
	report(wfd, &v, sizeof(v));
}

/* Parent side: read exactly @len bytes within @ms; true on success. */
static bool read_report(int rfd, void *buf, size_t len, int ms)
{
	long end = now_ms() + ms;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		long left = end - now_ms();
		ssize_t n;

		if (left < 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		n = read(rfd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += n;
	}
	return true;
}

static int get_nnp(void)
{
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
}

/* ==== (b) validation ========================================================= */

/*
 * Rule 3 for bit 37 where the kernel lacks CLONE_EMPTY_MNTNS (EINVAL);
 * where it has it: accepted for root, EPERM for a user (no CAP_SYS_ADMIN).
 */
TEST(valid_bit37_einval_where_unknown)
{
	int want = !kernel_has_empty_mntns() ? EINVAL : geteuid() ? EPERM : 0;

	EXPECT_EQ(want, clone3_flags_errno(CLONE_BIT37, SIGCHLD));
	EXPECT_EQ(want, clone3_flags_errno(CLONE_BIT37 | CLONE_AUTOREAP, 0));
	/* Control: the known flag alone is accepted. */
	EXPECT_EQ(0, clone3_flags_errno(CLONE_AUTOREAP, 0));
}

TEST(valid_unknown_bit38_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(1ULL << 38, SIGCHLD));
	EXPECT_EQ(EINVAL, clone3_flags_errno((1ULL << 38) | CLONE_NNP, SIGCHLD));
	EXPECT_EQ(0, clone3_flags_errno(CLONE_NNP, SIGCHLD));
}

TEST(valid_unknown_bit63_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(1ULL << 63, SIGCHLD));
	EXPECT_EQ(EINVAL, clone3_flags_errno((1ULL << 63) | AKN, 0));
	EXPECT_EQ(0, clone3_flags_errno(AKN, 0));
}

/* Rule 7 (after rule 6 passed: THREAD has SIGHAND, SIGHAND has VM). */
TEST(valid_autoreap_thread_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_AUTOREAP | CLONE_THREAD |
					     CLONE_SIGHAND | CLONE_VM, 0));
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_AUTOREAP | CLONE_THREAD, 0));
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_AUTOREAP | CLONE_PIDFD |
					     CLONE_THREAD | CLONE_SIGHAND |
					     CLONE_VM, 0));
	/* Control: AUTOREAP without THREAD is accepted. */
	EXPECT_EQ(0, clone3_flags_errno(CLONE_AUTOREAP | CLONE_PIDFD, 0));
}

/* Rule 8: exit_signal 0, so rule 4 (PARENT with a signal) is not what fires. */
TEST(valid_autoreap_parent_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_AUTOREAP | CLONE_PARENT, 0));
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_AUTOREAP | CLONE_PIDFD |
					     CLONE_PARENT, 0));
	EXPECT_EQ(0, clone3_flags_errno(CLONE_AUTOREAP | CLONE_PIDFD, 0));
}

/* Rule 9. */
TEST(valid_autoreap_exit_signal_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_AUTOREAP, SIGCHLD));
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_AUTOREAP | CLONE_PIDFD, SIGUSR1));
	EXPECT_EQ(0, clone3_flags_errno(CLONE_AUTOREAP | CLONE_PIDFD, 0));
}

/* Rule 11. */
TEST(valid_nnp_thread_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_NNP | CLONE_THREAD |
					     CLONE_SIGHAND | CLONE_VM, 0));
	EXPECT_EQ(0, clone3_flags_errno(CLONE_NNP, 0));
}

/* Rule 12, also for an unprivileged caller without NNP (EINVAL before EPERM). */
TEST(valid_autokill_without_pidfd_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_PIDFD_AUTOKILL |
					     CLONE_AUTOREAP | CLONE_NNP, 0));
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_PIDFD_AUTOKILL |
					     CLONE_AUTOREAP, 0));
	EXPECT_EQ(0, clone3_flags_errno(AKN, 0));
}

/* Rule 13. */
TEST(valid_autokill_without_autoreap_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_PIDFD_AUTOKILL | CLONE_PIDFD |
					     CLONE_NNP, 0));
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_PIDFD_AUTOKILL | CLONE_PIDFD |
					     CLONE_NNP, SIGCHLD));
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_PIDFD_AUTOKILL | CLONE_PIDFD, 0));
	EXPECT_EQ(EINVAL, clone3_flags_errno(CLONE_PIDFD_AUTOKILL | CLONE_PIDFD,
					     SIGCHLD));
	EXPECT_EQ(0, clone3_flags_errno(AKN, 0));
}

/* Rules 7/14 (and 11 with NNP). */
TEST(valid_autokill_thread_einval)
{
	EXPECT_EQ(EINVAL, clone3_flags_errno(AKN | CLONE_THREAD | CLONE_SIGHAND |
					     CLONE_VM, 0));
	EXPECT_EQ(EINVAL, clone3_flags_errno(AK | CLONE_THREAD | CLONE_SIGHAND |
					     CLONE_VM, 0));
	EXPECT_EQ(0, clone3_flags_errno(AKN, 0));
}

/* Rule 15: root passes on CAP_SYS_ADMIN; others get EPERM. NNP not implied. */
TEST(valid_autokill_without_nnp)
{
	int pidfd = -1, rep[2], nnp = -1;
	pid_t pid;

	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = spawn(AK, 0, &pidfd);
	if (pid == 0) {
		report_int(rep[1], get_nnp());
		_exit(0);
	}
	close(rep[1]);
	if (geteuid() != 0) {
		ASSERT_EQ(-1, pid);
		ASSERT_EQ(EPERM, errno);
		return;
	}
	ASSERT_GT(pid, 0) TH_LOG("root: clone3(AUTOKILL|PIDFD|AUTOREAP): %s",
				 strerror(errno));
	ASSERT_TRUE(read_report(rep[0], &nnp, sizeof(nnp), EXIT_MS));
	EXPECT_EQ(0, nnp) TH_LOG("7.1 does not imply NNP for AUTOKILL");
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_EQ(0, close(pidfd));
	EXPECT_TRUE(no_child_left());
}

/* Rule 15 satisfied by CLONE_NNP: allowed for everyone, child has NNP. */
TEST(valid_autokill_with_nnp_allowed)
{
	int pidfd = -1, rep[2], nnp = -1;
	pid_t pid;

	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = spawn(AKN, 0, &pidfd);
	if (pid == 0) {
		report_int(rep[1], get_nnp());
		_exit(0);
	}
	close(rep[1]);
	ASSERT_GT(pid, 0) TH_LOG("clone3(AUTOKILL|PIDFD|AUTOREAP|NNP): %s",
				 strerror(errno));
	ASSERT_GE(pidfd, 0);
	ASSERT_TRUE(read_report(rep[0], &nnp, sizeof(nnp), EXIT_MS));
	EXPECT_EQ(1, nnp);
	EXPECT_EQ(0, get_nnp());
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_EQ(0, close(pidfd));
	EXPECT_TRUE(no_child_left());
}

/* Rule 15 checks the caller's current user namespace: root in a new userns passes. */
TEST(valid_autokill_userns_admin_allowed)
{
	int rep[2], res[2] = { -1, -1 };
	pid_t h;
	int st;

	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	h = fork();
	ASSERT_GE(h, 0);
	if (h == 0) {
		int pidfd = -1;
		pid_t pid;

		close(rep[0]);
		if (unshare(CLONE_NEWUSER)) {
			res[0] = 1000 + errno;
			report(rep[1], res, sizeof(res));
			_exit(0);
		}
		pid = spawn(AK, 0, &pidfd);
		if (pid == 0)
			_exit(0);
		res[0] = pid > 0 ? 0 : errno;
		res[1] = pid > 0 ? pidfd_poll(pidfd, EXIT_MS) : -1;
		report(rep[1], res, sizeof(res));
		_exit(0);
	}
	close(rep[1]);
	ASSERT_TRUE(read_report(rep[0], res, sizeof(res), EXIT_MS * 2));
	ASSERT_EQ(h, waitpid(h, &st, 0));
	EXPECT_NE(1000 + EPERM, res[0]) TH_LOG("unshare(CLONE_NEWUSER) refused");
	EXPECT_EQ(0, res[0]) TH_LOG("clone3 in a new userns: errno %d", res[0]);
	EXPECT_EQ(1, res[1]);
	EXPECT_TRUE(no_child_left());
}

/* CLONE_NEWUSER in the same call does not grant the capability. */
TEST(valid_autokill_newuser_same_call)
{
	int expect = geteuid() == 0 ? 0 : EPERM;

	EXPECT_EQ(expect, clone3_flags_errno(AK | CLONE_NEWUSER, 0));
	/* With NNP it is fine for everyone. */
	EXPECT_EQ(0, clone3_flags_errno(AKN | CLONE_NEWUSER, 0));
}

/*
 * Rule 10: a process that was created with CLONE_AUTOREAP may not use
 * CLONE_PARENT, through clone3() or legacy clone(); it can still fork,
 * clone3 normally and create threads.
 */
enum { R_C3_PARENT, R_C3_PARENT_NNP, R_CLONE_PARENT_SIG, R_CLONE_PARENT_0,
       R_FORK, R_CLONE3, R_THREAD, R_NR };

static void *thread_ret7(void *arg)
{
	(void)arg;
	return (void *)7L;
}

static int parent_attempt_clone3(uint64_t flags)
{
	struct clone_args a = { .flags = flags };
	long r = sys_clone3(&a, sizeof(a));

	if (r == 0)
		_exit(0);
	return r < 0 ? errno : -1;
}

static int parent_attempt_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags, 0UL, NULL, NULL, 0UL);

	if (r == 0)
		_exit(0);
	return r < 0 ? errno : -1;
}

TEST(valid_autoreap_process_clone_parent_einval)
{
	int pidfd = -1, rep[2], res[R_NR];
	pid_t pid;

	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		pthread_t t;
		void *ret = NULL;
		pid_t f;
		int st;

		res[R_C3_PARENT] = parent_attempt_clone3(CLONE_PARENT);
		res[R_C3_PARENT_NNP] = parent_attempt_clone3(CLONE_PARENT | CLONE_NNP);
		res[R_CLONE_PARENT_SIG] = parent_attempt_clone(CLONE_PARENT | SIGCHLD);
		res[R_CLONE_PARENT_0] = parent_attempt_clone(CLONE_PARENT);

		f = fork();
		if (f == 0)
			_exit(9);
		res[R_FORK] = f > 0 && waitpid(f, &st, 0) == f && WIFEXITED(st) &&
			      WEXITSTATUS(st) == 9 ? 0 : -1;

		f = spawn(0, SIGCHLD, NULL);
		if (f == 0)
			_exit(8);
		res[R_CLONE3] = f > 0 && waitpid(f, &st, 0) == f && WIFEXITED(st) &&
				WEXITSTATUS(st) == 8 ? 0 : -1;

		res[R_THREAD] = pthread_create(&t, NULL, thread_ret7, NULL);
		if (!res[R_THREAD])
			res[R_THREAD] = pthread_join(t, &ret) || ret != (void *)7L;
		report(rep[1], res, sizeof(res));
		_exit(0);
	}
	close(rep[1]);
	ASSERT_GT(pid, 0) TH_LOG("clone3(AUTOREAP|PIDFD): %s", strerror(errno));
	ASSERT_TRUE(read_report(rep[0], res, sizeof(res), EXIT_MS * 2));
	EXPECT_EQ(EINVAL, res[R_C3_PARENT]);
	EXPECT_EQ(EINVAL, res[R_C3_PARENT_NNP]);
	EXPECT_EQ(EINVAL, res[R_CLONE_PARENT_SIG]);
	EXPECT_EQ(EINVAL, res[R_CLONE_PARENT_0]);
	EXPECT_EQ(0, res[R_FORK]);
	EXPECT_EQ(0, res[R_CLONE3]);
	EXPECT_EQ(0, res[R_THREAD]);
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	/* A wrongly made CLONE_PARENT sibling would be our (zombie) child. */
	EXPECT_TRUE(no_child_left());
	close(pidfd);
}

/* Control for rule 10: an ordinary process may use CLONE_PARENT. */
TEST(valid_ordinary_process_clone_parent_allowed)
{
	int rep[2], sib = -1, st;
	pid_t h;

	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	h = fork();
	ASSERT_GE(h, 0);
	if (h == 0) {
		struct clone_args a = { .flags = CLONE_PARENT };
		long r = sys_clone3(&a, sizeof(a));

		if (r == 0)
			_exit(6);
		report_int(rep[1], r > 0 ? (int)r : -errno);
		_exit(0);
	}
	close(rep[1]);
	ASSERT_TRUE(read_report(rep[0], &sib, sizeof(sib), EXIT_MS));
	ASSERT_EQ(h, waitpid(h, &st, 0));
	ASSERT_GT(sib, 0) TH_LOG("clone3(CLONE_PARENT): errno %d", -sib);
	ASSERT_EQ(sib, waitpid(sib, &st, __WALL));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 6);
}

/* Rule 2: size below CLONE_ARGS_SIZE_VER0. */
TEST(valid_size_too_small_einval)
{
	static const size_t sizes[] = { 0, 8, 56, 63 };
	struct clone_args a = { .flags = CLONE_AUTOREAP };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		EXPECT_EQ(EINVAL, clone3_errno(&a, sizes[i]))
			TH_LOG("size %zu", sizes[i]);
	}
	/* The smallest valid size works. */
	EXPECT_EQ(0, clone3_errno(&a, CLONE_ARGS_SIZE_VER0));
}

static char *big_args(size_t len)
{
	char *p = aligned_alloc(4096, (len + 4095) & ~4095UL);

	if (p)
		memset(p, 0, len);
	return p;
}

/* Rule 1: more than a page is E2BIG even when all zero; a page is fine. */
TEST(valid_size_above_page_e2big)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *buf = big_args(2 * page);
	struct clone_args *a = (struct clone_args *)buf;

	ASSERT_NE(NULL, buf);
	a->flags = CLONE_AUTOREAP;
	EXPECT_EQ(E2BIG, clone3_errno(a, page + 8));
	EXPECT_EQ(E2BIG, clone3_errno(a, 2 * page));
	EXPECT_EQ(0, clone3_errno(a, page));
	free(buf);
}

/* Rule 1: a larger struct is fine only if the unknown tail is zero. */
TEST(valid_size_nonzero_tail_e2big)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *buf = big_args(page);
	struct clone_args *a = (struct clone_args *)buf;
	size_t big = sizeof(*a) + 8;

	ASSERT_NE(NULL, buf);
	a->flags = CLONE_AUTOREAP;
	EXPECT_EQ(0, clone3_errno(a, big));
	buf[sizeof(*a)] = 1;
	EXPECT_EQ(E2BIG, clone3_errno(a, big));
	buf[sizeof(*a)] = 0;
	buf[page - 1] = 1;
	EXPECT_EQ(E2BIG, clone3_errno(a, page));
	free(buf);
}

/* Rule 1 comes before rules 2, 3, 9 and 15. */
TEST(valid_e2big_before_einval_and_eperm)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *buf = big_args(page);
	struct clone_args *a = (struct clone_args *)buf;
	size_t big = sizeof(*a) + 8;
	int pidfd = -1;

	ASSERT_NE(NULL, buf);
	buf[sizeof(*a)] = 1;
	a->pidfd = (uintptr_t)&pidfd;

	a->flags = (1ULL << 63) | CLONE_AUTOREAP;
	EXPECT_EQ(E2BIG, clone3_errno(a, big));
	a->flags = CLONE_AUTOREAP;
	a->exit_signal = SIGCHLD;
	EXPECT_EQ(E2BIG, clone3_errno(a, big));
	a->exit_signal = 65;
	EXPECT_EQ(E2BIG, clone3_errno(a, big));
	a->flags = AK;
	a->exit_signal = 0;
	EXPECT_EQ(E2BIG, clone3_errno(a, big));
	EXPECT_EQ(E2BIG, clone3_errno(a, page + 8));
	free(buf);
}

/* NNP alone with exit_signal SIGCHLD: an ordinary, waitable child. */
TEST(valid_nnp_alone_sigchld_waitable)
{
	pid_t pid;
	int st;

	block_sigchld();
	pid = spawn(CLONE_NNP, SIGCHLD, NULL);
	if (pid == 0)
		_exit(5);
	ASSERT_GT(pid, 0) TH_LOG("clone3(NNP, SIGCHLD): %s", strerror(errno));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	EXPECT_TRUE(sigchld_pending());
}

/*
 * EINVAL wins over EPERM: each variant adds one EINVAL condition of the
 * table to AUTOKILL|PIDFD|AUTOREAP without NNP (EPERM for an unprivileged
 * caller, success for root).
 */
enum tweak { TW_NONE, TW_SIZE_SMALL, TW_STACK_NO_SIZE, TW_SIZE_NO_STACK,
	     TW_SETTID_SAME, TW_SET_TID_BIG, TW_SET_TID_NO_SIZE,
	     TW_SET_TID_NO_PTR, TW_CGROUP_SMALL, TW_CGROUP_BIG };

FIXTURE(einval_first) {};
FIXTURE_SETUP(einval_first) {}
FIXTURE_TEARDOWN(einval_first) {}
FIXTURE_VARIANT(einval_first) {
	uint64_t flags;
	int exit_signal;
	enum tweak tweak;
	bool bit37;	/* EINVAL only where the kernel lacks bit 37 */
};

/* rule 2 */
FIXTURE_VARIANT_ADD(einval_first, size_below_ver0) { .flags = AK, .tweak = TW_SIZE_SMALL };
FIXTURE_VARIANT_ADD(einval_first, exit_signal_65) { .flags = AK, .exit_signal = 65 };
FIXTURE_VARIANT_ADD(einval_first, exit_signal_not_csignal) { .flags = AK, .exit_signal = 0x100 };
FIXTURE_VARIANT_ADD(einval_first, set_tid_size_too_big) { .flags = AK, .tweak = TW_SET_TID_BIG };
FIXTURE_VARIANT_ADD(einval_first, set_tid_without_size) { .flags = AK, .tweak = TW_SET_TID_NO_SIZE };
FIXTURE_VARIANT_ADD(einval_first, set_tid_size_without_ptr) { .flags = AK, .tweak = TW_SET_TID_NO_PTR };
FIXTURE_VARIANT_ADD(einval_first, into_cgroup_size_ver0) { .flags = AK | CLONE_INTO_CGROUP, .tweak = TW_CGROUP_SMALL };
FIXTURE_VARIANT_ADD(einval_first, into_cgroup_fd_too_big) { .flags = AK | CLONE_INTO_CGROUP, .tweak = TW_CGROUP_BIG };
/* rule 3 */
FIXTURE_VARIANT_ADD(einval_first, bit37_where_unknown) { .flags = AK | CLONE_BIT37, .bit37 = true };
FIXTURE_VARIANT_ADD(einval_first, unknown_bit38) { .flags = AK | (1ULL << 38) };
FIXTURE_VARIANT_ADD(einval_first, unknown_bit63) { .flags = AK | (1ULL << 63) };
/* rule 4 */
FIXTURE_VARIANT_ADD(einval_first, csignal_in_flags) { .flags = AK | SIGCHLD };
FIXTURE_VARIANT_ADD(einval_first, detached) { .flags = AK | CLONE_DETACHED };
FIXTURE_VARIANT_ADD(einval_first, sighand_clear_sighand) { .flags = AK | CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND };
FIXTURE_VARIANT_ADD(einval_first, parent_with_signal) { .flags = AK | CLONE_PARENT, .exit_signal = SIGCHLD };
FIXTURE_VARIANT_ADD(einval_first, thread_with_signal) { .flags = AK | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, .exit_signal = SIGCHLD };
FIXTURE_VARIANT_ADD(einval_first, stack_without_size) { .flags = AK, .tweak = TW_STACK_NO_SIZE };
FIXTURE_VARIANT_ADD(einval_first, size_without_stack) { .flags = AK, .tweak = TW_SIZE_NO_STACK };
/* rule 5 */
FIXTURE_VARIANT_ADD(einval_first, pidfd_is_parent_tid) { .flags = AK | CLONE_PARENT_SETTID, .tweak = TW_SETTID_SAME };
/* rule 6 */
FIXTURE_VARIANT_ADD(einval_first, newns_fs) { .flags = AK | CLONE_NEWNS | CLONE_FS };
FIXTURE_VARIANT_ADD(einval_first, newuser_fs) { .flags = AK | CLONE_NEWUSER | CLONE_FS };
FIXTURE_VARIANT_ADD(einval_first, sighand_without_vm) { .flags = AK | CLONE_SIGHAND };
FIXTURE_VARIANT_ADD(einval_first, thread_without_sighand) { .flags = AK | CLONE_THREAD };
/* rules 7 to 14 */
FIXTURE_VARIANT_ADD(einval_first, autoreap_thread) { .flags = AK | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM };
FIXTURE_VARIANT_ADD(einval_first, autoreap_parent) { .flags = AK | CLONE_PARENT };
FIXTURE_VARIANT_ADD(einval_first, autoreap_exit_signal) { .flags = AK, .exit_signal = SIGCHLD };
FIXTURE_VARIANT_ADD(einval_first, autokill_no_pidfd) { .flags = CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP };
FIXTURE_VARIANT_ADD(einval_first, autokill_no_autoreap) { .flags = CLONE_PIDFD_AUTOKILL | CLONE_PIDFD };
FIXTURE_VARIANT_ADD(einval_first, autokill_no_autoreap_sigchld) { .flags = CLONE_PIDFD_AUTOKILL | CLONE_PIDFD, .exit_signal = SIGCHLD };
FIXTURE_VARIANT_ADD(einval_first, autokill_only) { .flags = CLONE_PIDFD_AUTOKILL };

TEST_F(einval_first, not_eperm)
{
	static char stack[4096] __attribute__((aligned(16)));
	pid_t set_tid[1] = { 0 };
	int pidfd = -1;
	struct clone_args a = {
		.flags = variant->flags,
		.pidfd = (uintptr_t)&pidfd,
		.exit_signal = (uint64_t)variant->exit_signal,
	};
	size_t size = sizeof(a);

	/* Control: without the added condition, EPERM (or success for root). */
	EXPECT_EQ(geteuid() ? EPERM : 0, clone3_flags_errno(AK, 0));

	switch (variant->tweak) {
	case TW_NONE:
		break;
	case TW_SIZE_SMALL:
		size = CLONE_ARGS_SIZE_VER0 - 8;
		break;
	case TW_STACK_NO_SIZE:
		a.stack = (uintptr_t)stack;
		break;
	case TW_SIZE_NO_STACK:
		a.stack_size = sizeof(stack);
		break;
	case TW_SETTID_SAME:
		a.parent_tid = (uintptr_t)&pidfd;
		break;
	case TW_SET_TID_BIG:
		a.set_tid = (uintptr_t)set_tid;
		a.set_tid_size = 33;	/* MAX_PID_NS_LEVEL + 1 */
		break;
	case TW_SET_TID_NO_SIZE:
		a.set_tid = (uintptr_t)set_tid;
		break;
	case TW_SET_TID_NO_PTR:
		a.set_tid_size = 1;
		break;
	case TW_CGROUP_SMALL:
		size = CLONE_ARGS_SIZE_VER0;
		break;
	case TW_CGROUP_BIG:
		a.cgroup = 1ULL << 32;
		break;
	}
	/* Where bit 37 is CLONE_EMPTY_MNTNS, AK's own answer (root: a child). */
	EXPECT_EQ(variant->bit37 && kernel_has_empty_mntns() ?
		  (geteuid() ? EPERM : 0) : EINVAL, clone3_errno(&a, size))
		TH_LOG("flags %#llx exit_signal %llu, %s",
		       (unsigned long long)a.flags,
		       (unsigned long long)a.exit_signal,
		       geteuid() ? "unprivileged" : "root");
}

/* ==== (c) CLONE_AUTOREAP ====================================================== */

/* Exit: the clone pidfd polls readable; it is not readable before. */
TEST(autoreap_exit_pollin)
{
	int pidfd = -1, go[2];
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(42);
	}
	ASSERT_GT(pid, 0) TH_LOG("clone3(AUTOREAP|PIDFD): %s", strerror(errno));
	close(go[0]);
	EXPECT_EQ(0, pidfd_poll(pidfd, 0));
	close(go[1]);
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	close(pidfd);
}

/* Never a zombie, sampled from before the exit until it is gone. */
TEST(autoreap_never_zombie)
{
	int pidfd = -1, go[2];
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	close(go[0]);
	EXPECT_NE(0, procfs_state(pid));
	close(go[1]);
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false))
		TH_LOG("-1: seen as a zombie, -2: still there");
	EXPECT_EQ(1, pidfd_poll(pidfd, 0));
	close(pidfd);
}

/* Not waitable: ECHILD for P_ALL, the pid and the pidfd; a clone child while alive. */
TEST(autoreap_not_waitable)
{
	int pidfd = -1, go[2], st;
	siginfo_t si;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(1);
	}
	ASSERT_GT(pid, 0);
	close(go[0]);
	/* Alive, exit_signal 0: only __WALL/__WCLONE waits consider it. */
	EXPECT_EQ(-1, waitpid(pid, &st, WNOHANG));
	EXPECT_EQ(ECHILD, errno);
	EXPECT_EQ(0, waitpid(pid, &st, WNOHANG | __WALL));
	close(go[1]);
	ASSERT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	memset(&si, 0, sizeof(si));
	EXPECT_EQ(-1, waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL));
	EXPECT_EQ(ECHILD, errno);
	EXPECT_EQ(-1, waitpid(pid, &st, __WALL));
	EXPECT_EQ(ECHILD, errno);
	EXPECT_EQ(-1, waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL));
	EXPECT_EQ(ECHILD, errno);
	close(pidfd);
}

/* No SIGCHLD for the parent (exit_signal is 0 and autoreap sends none). */
TEST(autoreap_no_sigchld)
{
	int pidfd = -1;
	pid_t pid;

	block_sigchld();
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0)
		_exit(0);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_FALSE(sigchld_pending());
	EXPECT_TRUE(no_child_left());
	close(pidfd);
}

/* Fire and forget: AUTOREAP without CLONE_PIDFD is allowed. */
TEST(autoreap_without_pidfd)
{
	int go[2], ofd;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP, 0, NULL);
	if (pid == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_GT(pid, 0) TH_LOG("clone3(AUTOREAP): %s", strerror(errno));
	close(go[0]);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	close(go[1]);
	EXPECT_EQ(1, pidfd_poll(ofd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	close(ofd);
}

/* A parent blocked in waitid() with only that child is woken: ECHILD. */
struct waiter {
	pid_t tid;
	int ret, err;
	int done[2];
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;
	siginfo_t si;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	memset(&si, 0, sizeof(si));
	w->ret = waitid(P_ALL, 0, &si, WEXITED | __WALL);
	w->err = errno;
	if (write(w->done[1], "x", 1) != 1)
		w->err = -1;
	return NULL;
}

/* Is thread @tid of this process inside waitid()? */
static bool thread_in_waitid(pid_t tid)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	if (procfs_read(path, buf, sizeof(buf)) > 0)
		return atoi(buf) == SYS_waitid;
	/* No syscall file: settle for "sleeping". */
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (procfs_read(path, buf, sizeof(buf)) < 0)
		return false;
	return strstr(buf, ") S ") != NULL;
}

TEST(autoreap_wakes_blocked_waiter)
{
	struct waiter w = { .ret = 1 };
	int pidfd = -1, go[2];
	pthread_t t;
	pid_t pid, tid;
	long end;
	char c;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(w.done, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	close(go[0]);
	ASSERT_EQ(0, pthread_create(&t, NULL, waiter_fn, &w));
	end = now_ms() + EXIT_MS;
	while (!(tid = __atomic_load_n(&w.tid, __ATOMIC_SEQ_CST)) ||
	       !thread_in_waitid(tid)) {
		ASSERT_LT(now_ms(), end) TH_LOG("waiter never blocked in waitid");
		usleep(1000);
	}
	/* It must still be blocked: the child is alive. */
	EXPECT_EQ(0, pidfd_poll(w.done[0], 50));
	close(go[1]);
	ASSERT_TRUE(read_report(w.done[0], &c, 1, EXIT_MS))
		TH_LOG("blocked waitid() not woken by the autoreap");
	pthread_join(t, NULL);
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(ECHILD, w.err);
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	close(pidfd);
}

/* Reparented to a subreaper: still autoreaped, no zombie, no SIGCHLD. */
TEST(autoreap_reparented_to_subreaper)
{
	int go[2], info[2], cfd, st;
	struct procfs_stat pst;
	pid_t mid, pid = -1;
	siginfo_t si;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	block_sigchld();
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(info, O_CLOEXEC));
	mid = fork();
	ASSERT_GE(mid, 0);
	if (mid == 0) {
		int pidfd = -1;
		pid_t c;

		close(go[1]);
		close(info[0]);
		c = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
		if (c == 0) {
			child_wait(go[0]);
			_exit(0);
		}
		report_int(info[1], c > 0 ? c : -errno);
		_exit(0);	/* without waiting: the child is reparented */
	}
	close(go[0]);
	close(info[1]);
	ASSERT_TRUE(read_report(info[0], &pid, sizeof(pid), EXIT_MS));
	ASSERT_GT(pid, 0) TH_LOG("clone3(AUTOREAP|PIDFD) in the middle: errno %d", -pid);
	cfd = sys_pidfd_open(pid, 0);
	ASSERT_GE(cfd, 0);
	ASSERT_EQ(mid, waitpid(mid, &st, 0));
	block_sigchld();	/* discard the SIGCHLD of the middle process */

	/* Ours now, alive: visible to wait (reparenting set exit_signal). */
	EXPECT_TRUE(procfs_stat(pid, &pst));
	EXPECT_EQ(getpid(), pst.ppid);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ(0, waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL));
	EXPECT_EQ(0, si.si_pid);

	close(go[1]);
	EXPECT_EQ(1, pidfd_poll(cfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	EXPECT_FALSE(sigchld_pending());
	close(cfd);
}

/* Not inherited: the autoreap process's own children are ordinary. */
TEST(autoreap_not_inherited)
{
	int pidfd = -1, rep[2], res[4] = { -1, -1, -1, -1 };
	pid_t pid;

	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		pid_t g;
		int st;

		g = fork();
		if (g == 0)
			_exit(5);
		res[0] = g > 0 && wait_state(g, 'Z', EXIT_MS) ? 0 : -1;
		res[1] = g > 0 && waitpid(g, &st, 0) == g && WIFEXITED(st) &&
			 WEXITSTATUS(st) == 5 ? 0 : -1;
		g = spawn(0, SIGCHLD, NULL);
		if (g == 0)
			_exit(4);
		res[2] = g > 0 && wait_state(g, 'Z', EXIT_MS) ? 0 : -1;
		res[3] = g > 0 && waitpid(g, &st, 0) == g && WIFEXITED(st) &&
			 WEXITSTATUS(st) == 4 ? 0 : -1;
		report(rep[1], res, sizeof(res));
		_exit(0);
	}
	close(rep[1]);
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(read_report(rep[0], res, sizeof(res), EXIT_MS * 3));
	EXPECT_EQ(0, res[0]) TH_LOG("fork child of an autoreap process not a zombie");
	EXPECT_EQ(0, res[1]) TH_LOG("fork child not waitable");
	EXPECT_EQ(0, res[2]) TH_LOG("clone3 child of an autoreap process not a zombie");
	EXPECT_EQ(0, res[3]) TH_LOG("clone3 child not waitable");
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	close(pidfd);
}

/* exec keeps autoreap (the signal_struct survives exec). */
static void exec_busybox_exit7(void)
{
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	char *envp[] = { "PATH=/bin:/usr/bin", NULL };

	execve(BUSYBOX, argv, envp);
	_exit(127);
}

TEST(autoreap_kept_across_exec)
{
	int pidfd = -1;
	pid_t pid;

	block_sigchld();
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0)
		exec_busybox_exit7();
	ASSERT_GT(pid, 0);
	ASSERT_EQ(1, pidfd_poll(pidfd, EXEC_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	EXPECT_FALSE(sigchld_pending());
	close(pidfd);
}

/* Leader exits first (it is a zombie meanwhile), the last thread later. */
static void *mt_thread(void *arg)
{
	child_wait((int)(intptr_t)arg);
	return NULL;
}

TEST(autoreap_multithreaded_leader_exits_first)
{
	int pidfd = -1, go[2], rep[2], ok = -1;
	siginfo_t si;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		pthread_t t;

		close(go[1]);
		ok = pthread_create(&t, NULL, mt_thread, (void *)(intptr_t)go[0]);
		report_int(rep[1], ok);
		if (ok)
			_exit(1);
		syscall(SYS_exit, 0);	/* the leader only */
		_exit(2);
	}
	ASSERT_GT(pid, 0);
	close(go[0]);
	close(rep[1]);
	ASSERT_TRUE(read_report(rep[0], &ok, sizeof(ok), EXIT_MS));
	ASSERT_EQ(0, ok);
	/* The exited leader waits for its thread as a zombie: not readable yet. */
	ASSERT_TRUE(wait_state(pid, 'Z', EXIT_MS));
	EXPECT_EQ(0, pidfd_poll(pidfd, 0));
	memset(&si, 0, sizeof(si));
	EXPECT_EQ(0, waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL));
	EXPECT_EQ(0, si.si_pid);
	close(go[1]);
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, true));
	EXPECT_TRUE(no_child_left());
	close(pidfd);
}

/*
 * ptrace. The child allows any tracer (Yama scope 1 for the unprivileged
 * run) and waits for @go; the tracer is a sibling, or the real parent.
 */
static pid_t traced_child(int *pidfd, int go_r, int go_w, int ready_w)
{
	pid_t pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, pidfd);

	if (pid == 0) {
		close(go_w);
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		report_int(ready_w, 1);
		child_wait(go_r);
		_exit(3);
	}
	return pid;
}

/* A tracer that reports the seize, then reaps (or, @reap false, only sees) the exit. */
static pid_t sibling_tracer(pid_t pid, int go_w, int seized_w, bool reap)
{
	pid_t t = fork();

	if (t == 0) {
		siginfo_t si;
		int st;

		close(go_w);
		if (ptrace(PTRACE_SEIZE, pid, 0, 0))
			_exit(10);
		report_int(seized_w, 1);
		if (!reap) {
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT | __WALL))
				_exit(11);
			_exit(si.si_code == CLD_EXITED && si.si_status == 3 ? 0 : 12);
		}
		for (;;) {
			if (waitpid(pid, &st, __WALL) != pid)
				_exit(11);
			if (WIFEXITED(st))
				_exit(WEXITSTATUS(st) == 3 ? 0 : 12);
			if (WIFSIGNALED(st))
				_exit(13);
			ptrace(PTRACE_CONT, pid, 0, 0);
		}
	}
	return t;
}

TEST(autoreap_ptrace_sibling_tracer_reaps)
{
	int pidfd = -1, go[2], rep[2], v, st;
	pid_t pid, t;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = traced_child(&pidfd, go[0], go[1], rep[1]);
	ASSERT_GT(pid, 0);
	close(go[0]);
	ASSERT_TRUE(read_report(rep[0], &v, sizeof(v), EXIT_MS));
	t = sibling_tracer(pid, go[1], rep[1], true);
	ASSERT_GT(t, 0);
	ASSERT_TRUE(read_report(rep[0], &v, sizeof(v), EXIT_MS))
		TH_LOG("the tracer could not PTRACE_SEIZE");
	close(go[1]);
	ASSERT_EQ(t, waitpid(t, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("tracer status %#x (10 seize, 11 wait, 12 status, 13 signal)", st);
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	close(pidfd);
}

/* The sibling tracer exits without reaping: the detach autoreaps it. */
TEST(autoreap_ptrace_sibling_tracer_exits)
{
	int pidfd = -1, go[2], rep[2], v, st;
	pid_t pid, t;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = traced_child(&pidfd, go[0], go[1], rep[1]);
	ASSERT_GT(pid, 0);
	close(go[0]);
	ASSERT_TRUE(read_report(rep[0], &v, sizeof(v), EXIT_MS));
	t = sibling_tracer(pid, go[1], rep[1], false);
	ASSERT_GT(t, 0);
	ASSERT_TRUE(read_report(rep[0], &v, sizeof(v), EXIT_MS))
		TH_LOG("the tracer could not PTRACE_SEIZE");
	close(go[1]);
	ASSERT_EQ(t, waitpid(t, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("tracer status %#x", st);
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	close(pidfd);
}

/* The real parent traces: it sees and reaps the exit as usual. */
TEST(autoreap_ptrace_parent_tracer_reaps)
{
	int pidfd = -1, go[2], rep[2], v, st;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = traced_child(&pidfd, go[0], go[1], rep[1]);
	ASSERT_GT(pid, 0);
	close(go[0]);
	ASSERT_TRUE(read_report(rep[0], &v, sizeof(v), EXIT_MS));
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, 0, 0)) TH_LOG("%s", strerror(errno));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &st, __WALL));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3) TH_LOG("status %#x", st);
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	close(pidfd);
}

/*
 * The real parent traces, sees the exit without reaping and exits: the
 * detach releases it (upstream __ptrace_detach); the subreaper (us) never
 * gets a zombie.
 */
TEST(autoreap_ptrace_parent_tracer_exits)
{
	int go[2], rep[2], cfd, st;
	pid_t mid, pid = -1;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	mid = fork();
	ASSERT_GE(mid, 0);
	if (mid == 0) {
		int pidfd = -1, v;
		siginfo_t si;
		pid_t c;

		close(rep[0]);
		c = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
		if (c == 0) {
			close(go[1]);
			child_wait(go[0]);
			_exit(3);
		}
		close(go[1]);
		if (c < 0 || ptrace(PTRACE_SEIZE, c, 0, 0))
			v = -1;
		else
			v = c;
		report_int(rep[1], v);
		if (v < 0)
			_exit(10);
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, c, &si, WEXITED | WNOWAIT | __WALL))
			_exit(11);
		_exit(si.si_code == CLD_EXITED && si.si_status == 3 ? 0 : 12);
	}
	close(go[0]);
	close(rep[1]);
	ASSERT_TRUE(read_report(rep[0], &pid, sizeof(pid), EXIT_MS));
	ASSERT_GT(pid, 0) TH_LOG("clone3 or PTRACE_SEIZE failed in the parent");
	cfd = sys_pidfd_open(pid, 0);
	ASSERT_GE(cfd, 0);
	close(go[1]);
	ASSERT_EQ(mid, waitpid(mid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("status %#x", st);
	EXPECT_EQ(1, pidfd_poll(cfd, EXIT_MS));
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	close(cfd);
}

/* ==== (c) CLONE_NNP =========================================================== */

TEST(nnp_child_only)
{
	pid_t pid;
	int st;

	ASSERT_EQ(0, get_nnp()) TH_LOG("the test itself runs with no_new_privs");
	pid = spawn(CLONE_NNP, SIGCHLD, NULL);
	if (pid == 0)
		_exit(get_nnp() == 1 ? 0 : 1);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("child without NNP");
	EXPECT_EQ(0, get_nnp());
}

/* Inherited by every descendant, however created; cannot be unset. */
TEST(nnp_inherited_by_descendants)
{
	pid_t pid;
	int st;

	pid = spawn(CLONE_NNP, SIGCHLD, NULL);
	if (pid == 0) {
		pid_t g;
		int code = get_nnp() == 1 ? 0 : 1;

		g = fork();
		if (g == 0) {
			pid_t gg = fork();
			int gst, c = get_nnp() == 1 ? 0 : 2;

			if (gg == 0)
				_exit(get_nnp() == 1 ? 0 : 4);
			if (gg < 0 || waitpid(gg, &gst, 0) != gg || !WIFEXITED(gst))
				_exit(8);
			_exit(c | WEXITSTATUS(gst));
		}
		if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st))
			_exit(16);
		code |= WEXITSTATUS(st);
		g = spawn(0, SIGCHLD, NULL);
		if (g == 0)
			_exit(get_nnp() == 1 ? 0 : 32);
		if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st))
			_exit(64);
		code |= WEXITSTATUS(st);
		/* no_new_privs cannot be cleared. */
		if (prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0 || get_nnp() != 1)
			code |= 128;
		_exit(code);
	}
	ASSERT_GT(pid, 0);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st))
		TH_LOG("1 child, 2 grandchild, 4 great-grandchild, 32 clone3 child "
		       "without NNP; 128 clearable");
}

/* Kept across execve: /proc/self/status of the exec'd program. */
static pid_t spawn_grep_nnp(uint64_t flags)
{
	pid_t pid = spawn(flags, SIGCHLD, NULL);

	if (pid == 0) {
		char *argv[] = { "grep", "-qE", "^NoNewPrivs:[[:space:]]+1$",
				 "/proc/self/status", NULL };
		char *envp[] = { NULL };

		execve(BUSYBOX, argv, envp);
		_exit(127);
	}
	return pid;
}

TEST(nnp_kept_across_exec)
{
	pid_t pid;
	int st;

	pid = spawn_grep_nnp(CLONE_NNP);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("status %#x", st);
	/* Control: the same grep fails without CLONE_NNP. */
	pid = spawn_grep_nnp(0);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) TH_LOG("status %#x", st);
}

/*
 * Setuid. busybox drops a setuid root for most applets (BB_SUID_DROP), so
 * `cat /proc/self/status` shows the caller's euid either way. "su" is a
 * BB_SUID_REQUIRE applet: started setuid root it keeps euid 0 and waits for
 * a password on stdin, where its /proc status shows "Uid: 1000 0 0 0";
 * without an effective setuid it exits 1 with "must be suid to work
 * properly". So su tells whether the exec honoured the setuid bit.
 */
static void suid_busybox_ready(struct __test_metadata *_metadata)
{
	struct stat st;

	if (geteuid() == 0) {
		char buf[65536];
		int in, out;
		ssize_t n;

		unlink(SUID_BUSYBOX);
		in = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
		ASSERT_GE(in, 0);
		out = open(SUID_BUSYBOX, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
		ASSERT_GE(out, 0) TH_LOG("create %s: %s", SUID_BUSYBOX, strerror(errno));
		while ((n = read(in, buf, sizeof(buf))) > 0) {
			ASSERT_EQ(n, write(out, buf, n));
		}
		ASSERT_EQ(0, n);
		ASSERT_EQ(0, fchown(out, 0, 0));
		ASSERT_EQ(0, fchmod(out, 04755));
		ASSERT_EQ(0, close(out));
		close(in);
	}
	ASSERT_EQ(0, stat(SUID_BUSYBOX, &st))
		TH_LOG("%s missing: the root run (same boot, before) makes it",
		       SUID_BUSYBOX);
	ASSERT_TRUE(S_ISREG(st.st_mode));
	ASSERT_EQ(0, (int)st.st_uid);
	ASSERT_EQ(04755, (int)(st.st_mode & 07777));
}

enum { SU_SETUID_HONOURED = 0, SU_SETUID_IGNORED = 1 };

/*
 * In a process running as uid 1000: clone3 (with @flags) a child that
 * execs the setuid busybox's su; returns SU_* or an error code >= 20.
 */
static int su_probe(uint64_t flags)
{
	int in[2], out[2], code = 29;
	char buf[512] = "", path[64], line[256];
	size_t len = 0;
	long end;
	pid_t g;
	FILE *f;
	int st;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return 20;
	g = spawn(flags, SIGCHLD, NULL);
	if (g == 0) {
		char *argv[] = { "su", "-c", "true", "root", NULL };
		char *envp[] = { "PATH=/bin", NULL };

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execve(SUID_BUSYBOX, argv, envp);
		_exit(127);
	}
	if (g < 0)
		return 21;
	close(in[0]);
	close(out[1]);
	end = now_ms() + EXEC_MS;
	for (;;) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		ssize_t n;

		if (strstr(buf, "assword"))
			break;
		if (now_ms() > end || poll(&p, 1, 100) < 0) {
			code = 22;
			goto kill;
		}
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(out[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;	/* EOF: su is done */
		len += n;
		buf[len] = 0;
	}
	dprintf(2, "# su said: %s\n", buf);
	if (strstr(buf, "assword")) {
		/* Waiting for the password: check its credentials. */
		int r = -1, e = -1, s = -1, fs = -1;

		snprintf(path, sizeof(path), "/proc/%d/status", g);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Uid: %d %d %d %d", &r, &e, &s, &fs) == 4)
				break;
		if (f)
			fclose(f);
		dprintf(2, "# su Uid: %d %d %d %d\n", r, e, s, fs);
		code = r == UNPRIV_ID && e == 0 ? SU_SETUID_HONOURED : 23;
		goto kill;
	}
	if (waitpid(g, &st, 0) != g)
		return 24;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(buf, "must be suid"))
		return SU_SETUID_IGNORED;
	dprintf(2, "# su status %#x\n", st);
	return 25;
kill:
	kill(g, SIGKILL);
	waitpid(g, &st, 0);
	return code;
}

/* Fork a process that drops to uid/gid 1000 (if root) and runs su_probe(). */
static int su_probe_unprivileged(uint64_t flags)
{
	pid_t d;
	int st;

	fflush(NULL);
	d = fork();
	if (d < 0)
		return 30;
	if (d == 0) {
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) ||
		     setresgid(UNPRIV_ID, UNPRIV_ID, UNPRIV_ID) ||
		     setresuid(UNPRIV_ID, UNPRIV_ID, UNPRIV_ID)))
			_exit(31);
		if (getuid() != UNPRIV_ID || geteuid() != UNPRIV_ID)
			_exit(32);
		_exit(su_probe(flags));
	}
	if (waitpid(d, &st, 0) != d || !WIFEXITED(st))
		return 33;
	return WEXITSTATUS(st);
}

/* Control: without NNP the setuid bit of the copy works (su keeps euid 0). */
TEST(nnp_setuid_control_without_nnp)
{
	suid_busybox_ready(_metadata);
	EXPECT_EQ(SU_SETUID_HONOURED, su_probe_unprivileged(0))
		TH_LOG("20+: probe failure (22 timeout, 23 creds, 25 status, 3x drop)");
}

TEST(nnp_setuid_ignored)
{
	suid_busybox_ready(_metadata);
	EXPECT_EQ(SU_SETUID_IGNORED, su_probe_unprivileged(CLONE_NNP))
		TH_LOG("0: setuid honoured under CLONE_NNP; 20+: probe failure");
}

/* ==== (c) CLONE_PIDFD_AUTOKILL ==================================================== */

/* An AUTOKILL child that blocks on @go_r (held open by the test). */
static pid_t autokill_child(int *pidfd, int go_r, int go_w)
{
	pid_t pid = spawn(AKN, 0, pidfd);

	if (pid == 0) {
		close(go_w);
		child_wait(go_r);
		_exit(0);
	}
	return pid;
}

/* Closing the last reference kills the child; observed through pidfd_open(). */
TEST(autokill_close_kills)
{
	int pidfd = -1, go[2], ofd;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = autokill_child(&pidfd, go[0], go[1]);
	ASSERT_GT(pid, 0) TH_LOG("%s", strerror(errno));
	close(go[0]);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	EXPECT_EQ(0, pidfd_poll(ofd, 0));
	ASSERT_EQ(0, close(pidfd));
	EXPECT_EQ(1, pidfd_poll(ofd, EXIT_MS)) TH_LOG("not killed by the close");
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	close(ofd);
	close(go[1]);
}

/* A dup shares the file: the child lives until the dup is closed too. */
TEST(autokill_dup_keeps_alive)
{
	int pidfd = -1, go[2], ofd, d1, d2;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = autokill_child(&pidfd, go[0], go[1]);
	ASSERT_GT(pid, 0);
	close(go[0]);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	d1 = dup(pidfd);
	ASSERT_GE(d1, 0);
	d2 = fcntl(pidfd, F_DUPFD_CLOEXEC, 50);
	ASSERT_GE(d2, 50);
	ASSERT_EQ(0, close(pidfd));
	EXPECT_EQ(0, pidfd_poll(ofd, ALIVE_MS)) TH_LOG("killed with dups open");
	ASSERT_EQ(0, close(d1));
	EXPECT_EQ(0, pidfd_poll(ofd, ALIVE_MS)) TH_LOG("killed with a dup open");
	ASSERT_EQ(0, close(d2));
	EXPECT_EQ(1, pidfd_poll(ofd, EXIT_MS)) TH_LOG("not killed by the last close");
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	close(ofd);
	close(go[1]);
}

/* pidfd_open() files neither keep the child alive nor kill it. */
TEST(autokill_pidfd_open_no_effect)
{
	int pidfd = -1, go[2], o1, o2;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = autokill_child(&pidfd, go[0], go[1]);
	ASSERT_GT(pid, 0);
	close(go[0]);
	o1 = sys_pidfd_open(pid, 0);
	ASSERT_GE(o1, 0);
	ASSERT_EQ(0, close(o1));
	o2 = sys_pidfd_open(pid, 0);
	ASSERT_GE(o2, 0) TH_LOG("closing a pidfd_open() fd killed the child");
	EXPECT_EQ(0, pidfd_poll(o2, ALIVE_MS)) TH_LOG("closing a pidfd_open() fd killed it");
	ASSERT_EQ(0, close(pidfd));
	EXPECT_EQ(1, pidfd_poll(o2, EXIT_MS)) TH_LOG("a pidfd_open() fd kept it alive");
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	close(o2);
	close(go[1]);
}

/* F_GETFL shows O_TRUNC on the clone pidfd only; F_SETFL cannot clear it. */
TEST(autokill_getfl_o_trunc)
{
	int pidfd = -1, plain = -1, go[2], ofd, fl;
	pid_t pid, pid2;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = autokill_child(&pidfd, go[0], go[1]);
	ASSERT_GT(pid, 0);
	fl = fcntl(pidfd, F_GETFL);
	ASSERT_NE(-1, fl);
	EXPECT_NE(0, fl & O_TRUNC) TH_LOG("F_GETFL %#o", fl);
	EXPECT_EQ(FD_CLOEXEC, fcntl(pidfd, F_GETFD));
	EXPECT_EQ(0, fcntl(pidfd, F_SETFL, fl & ~O_TRUNC));
	EXPECT_NE(0, fcntl(pidfd, F_GETFL) & O_TRUNC);

	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	fl = fcntl(ofd, F_GETFL);
	EXPECT_EQ(0, fl & O_TRUNC) TH_LOG("pidfd_open F_GETFL %#o", fl);

	pid2 = spawn(CLONE_AUTOREAP | CLONE_PIDFD | CLONE_NNP, 0, &plain);
	if (pid2 == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_GT(pid2, 0);
	fl = fcntl(plain, F_GETFL);
	EXPECT_EQ(0, fl & O_TRUNC) TH_LOG("plain CLONE_PIDFD F_GETFL %#o", fl);

	close(go[0]);
	close(go[1]);
	close(pidfd);
	EXPECT_EQ(1, pidfd_poll(ofd, EXIT_MS));
	EXPECT_EQ(1, pidfd_poll(plain, EXIT_MS));
	close(ofd);
	close(plain);
}

/* A fork()ed copy of the fd table holds a reference too. */
TEST(autokill_fork_shares_reference)
{
	int pidfd = -1, go[2], hold[2], ofd, st;
	pid_t pid, h;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = autokill_child(&pidfd, go[0], go[1]);
	ASSERT_GT(pid, 0);
	close(go[0]);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	ASSERT_EQ(0, pipe2(hold, O_CLOEXEC));	/* after the child: not its */
	h = fork();
	ASSERT_GE(h, 0);
	if (h == 0) {	/* keeps its copy of pidfd until told */
		close(go[1]);
		close(hold[1]);
		child_wait(hold[0]);
		_exit(0);
	}
	close(hold[0]);
	ASSERT_EQ(0, close(pidfd));
	EXPECT_EQ(0, pidfd_poll(ofd, ALIVE_MS)) TH_LOG("killed while the fork holds it");
	close(hold[1]);
	ASSERT_EQ(h, waitpid(h, &st, 0));
	EXPECT_EQ(1, pidfd_poll(ofd, EXIT_MS)) TH_LOG("not killed when the holder exited");
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	close(ofd);
	close(go[1]);
}

/* The clone pidfd is O_CLOEXEC: a parent that execs drops it, the child dies. */
TEST(autokill_parent_exec_kills)
{
	int go[2], rep[2], ack[2], stay[2], cfd, st;
	pid_t h, pid = -1;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(ack, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(stay, O_CLOEXEC));
	h = fork();
	ASSERT_GE(h, 0);
	if (h == 0) {
		char *argv[] = { "cat", NULL };
		char *envp[] = { NULL };
		int pidfd = -1;
		pid_t c;

		close(rep[0]);
		close(ack[1]);
		close(stay[1]);
		c = autokill_child(&pidfd, go[0], go[1]);
		close(go[1]);
		report_int(rep[1], c > 0 ? c : -errno);
		child_wait(ack[0]);
		/* cat blocks on stdin (the test's pipe) after the exec. */
		dup2(stay[0], 0);
		execve(BUSYBOX, argv, envp);
		_exit(127);
	}
	close(go[0]);
	close(rep[1]);
	close(ack[0]);
	close(stay[0]);
	ASSERT_TRUE(read_report(rep[0], &pid, sizeof(pid), EXIT_MS));
	ASSERT_GT(pid, 0) TH_LOG("clone3: errno %d", -pid);
	cfd = sys_pidfd_open(pid, 0);
	ASSERT_GE(cfd, 0);
	close(ack[1]);
	EXPECT_EQ(1, pidfd_poll(cfd, EXEC_MS)) TH_LOG("the exec did not kill the child");
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_EQ(0, waitpid(h, &st, WNOHANG)) TH_LOG("the exec'd parent should live");
	close(stay[1]);
	if (waitpid(h, &st, 0) == h)
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(cfd);
	close(go[1]);
}

/* A supervisor killed by SIGKILL takes its AUTOKILL child with it. */
TEST(autokill_supervisor_killed)
{
	int go[2], rep[2], hold[2], cfd, st;
	pid_t s, pid = -1;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(hold, O_CLOEXEC));
	s = fork();
	ASSERT_GE(s, 0);
	if (s == 0) {
		int pidfd = -1;
		pid_t c;

		close(rep[0]);
		close(hold[1]);
		c = autokill_child(&pidfd, go[0], go[1]);
		close(go[1]);
		report_int(rep[1], c > 0 ? c : -errno);
		child_wait(hold[0]);
		_exit(0);
	}
	close(go[0]);
	close(rep[1]);
	close(hold[0]);
	ASSERT_TRUE(read_report(rep[0], &pid, sizeof(pid), EXIT_MS));
	ASSERT_GT(pid, 0) TH_LOG("clone3: errno %d", -pid);
	cfd = sys_pidfd_open(pid, 0);
	ASSERT_GE(cfd, 0);
	ASSERT_EQ(0, kill(s, SIGKILL));
	ASSERT_EQ(s, waitpid(s, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	EXPECT_EQ(1, pidfd_poll(cfd, EXIT_MS)) TH_LOG("child survived its supervisor");
	EXPECT_EQ(0, wait_gone(pid, EXIT_MS, false));
	close(cfd);
	close(go[1]);
	close(hold[1]);
}

/* Child already dead (and reaped): closing the pidfd is harmless. */
TEST(autokill_close_after_exit_harmless)
{
	int pidfd = -1, go[2], bfd;
	pid_t pid, bystander;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	bystander = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &bfd);
	if (bystander == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_GT(bystander, 0);
	close(go[0]);
	pid = spawn(AKN, 0, &pidfd);
	if (pid == 0)
		_exit(0);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	ASSERT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_EQ(0, close(pidfd));
	EXPECT_EQ(0, pidfd_poll(bfd, ALIVE_MS)) TH_LOG("the close killed someone else");
	close(go[1]);
	EXPECT_EQ(1, pidfd_poll(bfd, EXIT_MS));
	close(bfd);
}

/* ==== PIDFD_GET_INFO =========================================================== */

/* _exit(42) of an autoreaped child: exit status after the reap. */
TEST(info_autoreap_exit_code)
{
	struct pidfd_info_v1 info;
	int pidfd = -1;
	pid_t pid;

	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0)
		_exit(42);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	ASSERT_EQ(0, wait_gone(pid, EXIT_MS, false));
	ASSERT_EQ(0, get_info(pidfd, &info, PIDFD_INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO: %s", strerror(errno));
	ASSERT_TRUE(info.mask & PIDFD_INFO_EXIT);
	EXPECT_TRUE(WIFEXITED(info.exit_code)) TH_LOG("exit_code %#x", info.exit_code);
	EXPECT_EQ(42, WEXITSTATUS(info.exit_code));
	close(pidfd);
}

/* SIGKILL through the pidfd: WIFSIGNALED, WTERMSIG 9. */
TEST(info_autoreap_sigkill)
{
	struct pidfd_info_v1 info;
	int pidfd = -1, go[2];
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	close(go[0]);
	ASSERT_EQ(0, sys_pidfd_send_signal(pidfd, SIGKILL));
	ASSERT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	ASSERT_EQ(0, wait_gone(pid, EXIT_MS, false));
	close(go[1]);
	ASSERT_EQ(0, get_info(pidfd, &info, PIDFD_INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO: %s", strerror(errno));
	ASSERT_TRUE(info.mask & PIDFD_INFO_EXIT);
	EXPECT_TRUE(WIFSIGNALED(info.exit_code)) TH_LOG("exit_code %#x", info.exit_code);
	EXPECT_EQ(SIGKILL, WTERMSIG(info.exit_code));
	close(pidfd);
}

/* exec keeps autoreap: `sh -c 'exit 7'` reports 7. */
TEST(info_autoreap_exec_exit_code)
{
	struct pidfd_info_v1 info;
	int pidfd = -1;
	pid_t pid;

	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0)
		exec_busybox_exit7();
	ASSERT_GT(pid, 0);
	ASSERT_EQ(1, pidfd_poll(pidfd, EXEC_MS));
	ASSERT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_TRUE(no_child_left());
	ASSERT_EQ(0, get_info(pidfd, &info, PIDFD_INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO: %s", strerror(errno));
	ASSERT_TRUE(info.mask & PIDFD_INFO_EXIT);
	EXPECT_TRUE(WIFEXITED(info.exit_code)) TH_LOG("exit_code %#x", info.exit_code);
	EXPECT_EQ(7, WEXITSTATUS(info.exit_code));
	close(pidfd);
}

/* AUTOKILL: the kill is a SIGKILL, seen through a pidfd_open() fd. */
TEST(info_autokill_sigkill)
{
	struct pidfd_info_v1 info;
	int pidfd = -1, go[2], ofd;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = autokill_child(&pidfd, go[0], go[1]);
	ASSERT_GT(pid, 0);
	close(go[0]);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	ASSERT_EQ(0, close(pidfd));
	ASSERT_EQ(1, pidfd_poll(ofd, EXIT_MS));
	ASSERT_EQ(0, wait_gone(pid, EXIT_MS, false));
	ASSERT_EQ(0, get_info(ofd, &info, PIDFD_INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO: %s", strerror(errno));
	ASSERT_TRUE(info.mask & PIDFD_INFO_EXIT);
	EXPECT_TRUE(WIFSIGNALED(info.exit_code)) TH_LOG("exit_code %#x", info.exit_code);
	EXPECT_EQ(SIGKILL, WTERMSIG(info.exit_code));
	close(ofd);
	close(go[1]);
}

/* Reaped: without PIDFD_INFO_EXIT in the request, ESRCH; with it, the status. */
TEST(info_reaped_needs_exit_mask)
{
	struct pidfd_info_v1 info;
	int pidfd = -1;
	pid_t pid;

	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0)
		_exit(3);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	ASSERT_EQ(0, wait_gone(pid, EXIT_MS, false));
	EXPECT_EQ(-1, get_info(pidfd, &info, PIDFD_INFO_PID | PIDFD_INFO_CREDS));
	EXPECT_EQ(ESRCH, errno) TH_LOG("errno %d (%s)", errno, strerror(errno));
	EXPECT_EQ(-1, get_info(pidfd, &info, 0));
	EXPECT_EQ(ESRCH, errno) TH_LOG("errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ(0, get_info(pidfd, &info, PIDFD_INFO_PID | PIDFD_INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO: %s", strerror(errno));
	ASSERT_TRUE(info.mask & PIDFD_INFO_EXIT);
	EXPECT_FALSE(info.mask & PIDFD_INFO_PID);
	EXPECT_TRUE(WIFEXITED(info.exit_code) && WEXITSTATUS(info.exit_code) == 3)
		TH_LOG("exit_code %#x", info.exit_code);
	close(pidfd);
}

/* Sizes: VER0 (64) and VER1 (72) work, a larger one too (tail zeroed). */
TEST(info_sizes_ver0_ver1)
{
	unsigned char buf[96];
	struct pidfd_info_v1 *info = (struct pidfd_info_v1 *)buf;
	int fd = sys_pidfd_open(getpid(), 0);

	ASSERT_GE(fd, 0);

	memset(buf, 0xAA, sizeof(buf));
	info->mask = PIDFD_INFO_PID;
	ASSERT_EQ(0, ioctl(fd, PIDFD_GET_INFO_SIZED(PIDFD_INFO_SIZE_VER0), buf))
		TH_LOG("size 64: %s", strerror(errno));
	EXPECT_EQ((__u32)getpid(), info->pid);
	EXPECT_TRUE(info->mask & PIDFD_INFO_PID);
	for (size_t i = PIDFD_INFO_SIZE_VER0; i < sizeof(buf); i++) {
		EXPECT_EQ(0xAA, buf[i]) TH_LOG("byte %zu written with size 64", i);
	}

	memset(buf, 0xAA, sizeof(buf));
	info->mask = PIDFD_INFO_PID;
	ASSERT_EQ(0, ioctl(fd, PIDFD_GET_INFO_SIZED(PIDFD_INFO_SIZE_VER1), buf))
		TH_LOG("size 72: %s", strerror(errno));
	EXPECT_EQ((__u32)getpid(), info->pid);
	for (size_t i = PIDFD_INFO_SIZE_VER1; i < sizeof(buf); i++) {
		EXPECT_EQ(0xAA, buf[i]) TH_LOG("byte %zu written with size 72", i);
	}

	memset(buf, 0xAA, sizeof(buf));
	info->mask = PIDFD_INFO_PID;
	ASSERT_EQ(0, ioctl(fd, PIDFD_GET_INFO_SIZED(sizeof(buf)), buf))
		TH_LOG("size %zu: %s", sizeof(buf), strerror(errno));
	EXPECT_EQ((__u32)getpid(), info->pid);
	/* 7.1 knows 88 bytes; anything beyond what the kernel knows is zeroed. */
	for (size_t i = 88; i < sizeof(buf); i++) {
		EXPECT_EQ(0, buf[i]) TH_LOG("byte %zu not zeroed", i);
	}
	close(fd);
}

/*
 * Sizes below PIDFD_INFO_SIZE_VER0 are not a PIDFD_GET_INFO command:
 * pidfs_ioctl_valid() checks extensible ioctls with
 * extensible_ioctl_valid(cmd, PIDFD_GET_INFO, PIDFD_INFO_SIZE_VER0) and
 * answers ENOTTY before pidfd_info() (whose own "usize < VER0 -> EINVAL"
 * is no longer reachable). Observed on 6.18.
 */
TEST(info_size_too_small_enotty)
{
	static const size_t sizes[] = { 0, 8, 56, 63 };
	unsigned char buf[PIDFD_INFO_SIZE_VER1] = { 0 };
	int fd = sys_pidfd_open(getpid(), 0);

	ASSERT_GE(fd, 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(buf, 0, sizeof(buf));
		((struct pidfd_info_v1 *)buf)->mask = PIDFD_INFO_PID;
		EXPECT_EQ(-1, ioctl(fd, PIDFD_GET_INFO_SIZED(sizes[i]), buf));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("size %zu: %s", sizes[i], strerror(errno));
	}
	close(fd);
}

/* The same check wants _IOWR: _IOR and _IOW with nr 11 are ENOTTY too. */
TEST(info_wrong_direction_enotty)
{
	unsigned char buf[PIDFD_INFO_SIZE_VER1] = { 0 };
	int fd = sys_pidfd_open(getpid(), 0);

	ASSERT_GE(fd, 0);
	((struct pidfd_info_v1 *)buf)->mask = PIDFD_INFO_PID;
	EXPECT_EQ(-1, ioctl(fd, _IOC(_IOC_READ, PIDFS_IOCTL_MAGIC, 11,
				     PIDFD_INFO_SIZE_VER1), buf));
	EXPECT_EQ(ENOTTY, errno) TH_LOG("_IOR: %s", strerror(errno));
	EXPECT_EQ(-1, ioctl(fd, _IOC(_IOC_WRITE, PIDFS_IOCTL_MAGIC, 11,
				     PIDFD_INFO_SIZE_VER1), buf));
	EXPECT_EQ(ENOTTY, errno) TH_LOG("_IOW: %s", strerror(errno));
	EXPECT_EQ(0, ioctl(fd, PIDFD_GET_INFO_V1, buf))
		TH_LOG("_IOWR: %s", strerror(errno));
	close(fd);
}

/* No upper bound but the 14-bit ioctl size: the tail is zeroed (6.18). */
TEST(info_size_above_page)
{
	static const size_t sizes[] = { 4096, 4104, 8192, 16383 };
	static unsigned char buf[16384];
	struct pidfd_info_v1 *info = (struct pidfd_info_v1 *)buf;
	int fd = sys_pidfd_open(getpid(), 0);

	ASSERT_GE(fd, 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t nonzero = 0;

		memset(buf, 0xAA, sizeof(buf));
		info->mask = PIDFD_INFO_PID;
		EXPECT_EQ(0, ioctl(fd, PIDFD_GET_INFO_SIZED(sizes[i]), buf))
			TH_LOG("size %zu: %s", sizes[i], strerror(errno));
		EXPECT_EQ((__u32)getpid(), info->pid);
		for (size_t k = 88; k < sizes[i]; k++)
			nonzero += buf[k] != 0;
		EXPECT_EQ(0, nonzero) TH_LOG("size %zu: tail not zeroed", sizes[i]);
		EXPECT_EQ(0xAA, buf[sizes[i]]) TH_LOG("written past size %zu", sizes[i]);
	}
	close(fd);
}

/* A NULL argument is EINVAL, an unmapped one EFAULT. */
TEST(info_bad_pointer)
{
	int fd = sys_pidfd_open(getpid(), 0);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, ioctl(fd, PIDFD_GET_INFO_V1, NULL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("NULL: %s", strerror(errno));
	EXPECT_EQ(-1, ioctl(fd, PIDFD_GET_INFO_V1, (void *)8));
	EXPECT_EQ(EFAULT, errno) TH_LOG("(void *)8: %s", strerror(errno));
	close(fd);
}

/* A live process: identifiers, credentials, cgroup id; no exit info yet. */
TEST(info_live_process)
{
	struct pidfd_info_v1 info;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int fd, pidfd = -1, go[2];
	pid_t pid;

	ASSERT_EQ(0, getresuid(&ru, &eu, &su));
	ASSERT_EQ(0, getresgid(&rg, &eg, &sg));
	fd = sys_pidfd_open(getpid(), 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, get_info(fd, &info, PIDFD_INFO_PID | PIDFD_INFO_CREDS |
					 PIDFD_INFO_CGROUPID | PIDFD_INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO: %s", strerror(errno));
	EXPECT_TRUE(info.mask & PIDFD_INFO_PID);
	EXPECT_TRUE(info.mask & PIDFD_INFO_CREDS);
	EXPECT_TRUE(info.mask & PIDFD_INFO_CGROUPID);
	EXPECT_FALSE(info.mask & PIDFD_INFO_EXIT);
	EXPECT_EQ((__u32)getpid(), info.pid);
	EXPECT_EQ((__u32)getpid(), info.tgid);
	EXPECT_EQ((__u32)getppid(), info.ppid);
	EXPECT_EQ(ru, info.ruid);
	EXPECT_EQ(eu, info.euid);
	EXPECT_EQ(su, info.suid);
	EXPECT_EQ(eu, info.fsuid);
	EXPECT_EQ(rg, info.rgid);
	EXPECT_EQ(eg, info.egid);
	EXPECT_EQ(sg, info.sgid);
	EXPECT_EQ(eg, info.fsgid);
	close(fd);

	/* The clone pidfd of a live autoreap child: ppid is us. */
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = spawn(CLONE_AUTOREAP | CLONE_PIDFD, 0, &pidfd);
	if (pid == 0) {
		close(go[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	close(go[0]);
	ASSERT_EQ(0, get_info(pidfd, &info, PIDFD_INFO_PID | PIDFD_INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO: %s", strerror(errno));
	EXPECT_EQ((__u32)pid, info.pid);
	EXPECT_EQ((__u32)pid, info.tgid);
	EXPECT_EQ((__u32)getpid(), info.ppid);
	EXPECT_EQ(eu, info.euid);
	EXPECT_FALSE(info.mask & PIDFD_INFO_EXIT);
	close(go[1]);
	EXPECT_EQ(1, pidfd_poll(pidfd, EXIT_MS));
	close(pidfd);
}

/* ==== exit bookkeeping: every pidfd, every burst, zombies, tracers ========== */

/*
 * 7.1 keeps exit information on the struct pid once a pidfd exists: any
 * pidfd opened before the reap reports PIDFD_INFO_EXIT with the group's
 * status after it, whatever the exit rate.
 */
#define BURST	200

/* PIDFD_INFO_EXIT of a reaped process: 1 with *code, 0 without, -1 error. */
static int info_exit(int pidfd, int *code)
{
	struct pidfd_info_v1 info;

	if (get_info(pidfd, &info, PIDFD_INFO_EXIT))
		return -1;
	if (!(info.mask & PIDFD_INFO_EXIT))
		return 0;
	*code = info.exit_code;
	return 1;
}

/*
 * The same for an autoreap child that polled readable: native 7.1 wakes
 * pollers before release_task() stores the status, so allow a short wait.
 */
static int info_exit_soon(int pidfd, int *code)
{
	long end = now_ms() + EXIT_MS;
	int r;

	while ((r = info_exit(pidfd, code)) == 0 && now_ms() < end)
		usleep(1000);
	return r;
}

/*
 * Children that block until @go's write end closes, then _exit(i & 0x7f):
 * spread over the CPUs but ours (the test pins itself to CPU 0), so that on
 * an SMP guest they exit on all of them at once while we reap and query.
 */
static int burst_spawn(uint64_t flags, int exit_signal, int go[2], pid_t *pid,
		       int *pidfd, int n)
{
	for (int i = 0; i < n; i++) {
		pid[i] = spawn(flags, exit_signal, &pidfd[i]);
		if (pid[i] == 0) {
			c3c_pin_other(i);
			close(go[1]);
			child_wait(go[0]);
			_exit(i & 0x7f);
		}
		if (pid[i] < 0)
			return -1;
	}
	return 0;
}

/* Count the pidfds without a status, and those with a wrong one; close. */
static void burst_check(struct __test_metadata *_metadata, int *pidfd, int n,
			bool soon)
{
	int missing = 0, wrong = 0, code = 0;

	for (int i = 0; i < n; i++) {
		int r = soon ? info_exit_soon(pidfd[i], &code) :
			       info_exit(pidfd[i], &code);

		if (r != 1)
			missing++;
		else if (!WIFEXITED(code) || WEXITSTATUS(code) != (i & 0x7f))
			wrong++;
		close(pidfd[i]);
	}
	EXPECT_EQ(0, missing) TH_LOG("%d of %d pidfds lack PIDFD_INFO_EXIT", missing, n);
	EXPECT_EQ(0, wrong) TH_LOG("%d of %d pidfds have a wrong status", wrong, n);
}

TEST(exit_burst_clone3_pidfds)
{
	int go[2], pidfd[BURST], st;
	pid_t pid[BURST];

	ASSERT_EQ(0, c3c_pin(0));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, burst_spawn(CLONE_PIDFD, SIGCHLD, go, pid, pidfd, BURST))
		TH_LOG("clone3: %s", strerror(errno));
	close(go[1]);	/* all exit at once */
	for (int i = 0; i < BURST; i++)
		ASSERT_EQ(pid[i], waitpid(pid[i], &st, 0));
	burst_check(_metadata, pidfd, BURST, false);
	close(go[0]);
}

TEST(exit_burst_pidfd_open_pidfds)
{
	int go[2], pidfd[BURST], st;
	pid_t pid[BURST];

	ASSERT_EQ(0, c3c_pin(0));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	for (int i = 0; i < BURST; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			c3c_pin_other(i);
			close(go[1]);
			child_wait(go[0]);
			_exit(i & 0x7f);
		}
		ASSERT_GT(pid[i], 0);
		pidfd[i] = sys_pidfd_open(pid[i], 0);
		ASSERT_GE(pidfd[i], 0) TH_LOG("pidfd_open: %s", strerror(errno));
	}
	close(go[1]);
	for (int i = 0; i < BURST; i++)
		ASSERT_EQ(pid[i], waitpid(pid[i], &st, 0));
	burst_check(_metadata, pidfd, BURST, false);
	close(go[0]);
}

TEST(exit_burst_autoreap)
{
	int go[2], pidfd[BURST], lingering = 0;
	pid_t pid[BURST];

	ASSERT_EQ(0, c3c_pin(0));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, burst_spawn(CLONE_PIDFD | CLONE_AUTOREAP, 0, go, pid,
				 pidfd, BURST))
		TH_LOG("clone3: %s", strerror(errno));
	close(go[1]);
	for (int i = 0; i < BURST; i++)
		ASSERT_EQ(1, pidfd_poll(pidfd[i], EXIT_MS));
	for (int i = 0; i < BURST; i++)
		if (wait_gone(pid[i], EXIT_MS, false))
			lingering++;
	EXPECT_EQ(0, lingering);
	burst_check(_metadata, pidfd, BURST, true);
	EXPECT_TRUE(no_child_left());
	close(go[0]);
}

/* A pidfd opened on a zombie gets the status once the zombie is reaped. */
TEST(exit_zombie_late_pidfd)
{
	enum { N = 50 };
	int pidfd[N], st;
	pid_t pid[N];

	for (int i = 0; i < N; i++) {
		siginfo_t si = { 0 };

		pid[i] = fork();
		if (pid[i] == 0)
			_exit(i & 0x7f);
		ASSERT_GT(pid[i], 0);
		ASSERT_EQ(0, waitid(P_PID, pid[i], &si, WEXITED | WNOWAIT));
		pidfd[i] = sys_pidfd_open(pid[i], 0);
		ASSERT_GE(pidfd[i], 0) TH_LOG("pidfd_open on a zombie: %s",
					      strerror(errno));
		EXPECT_EQ(1, pidfd_poll(pidfd[i], 0));
	}
	for (int i = 0; i < N; i++)
		ASSERT_EQ(pid[i], waitpid(pid[i], &st, 0));
	burst_check(_metadata, pidfd, N, false);
}

/*
 * Our own guarantee, not 7.1's (native 7.1 wakes pollers before it stores
 * the status): an autoreap child's pidfd that polls readable has its exit
 * status at once.
 */
TEST(module_only_readable_implies_exit_status)
{
	int go[2], pidfd[BURST], missing = 0, code;
	pid_t pid[BURST];

	/* Needs the module (tests/native-tests.list leaves it out by name). */
	ASSERT_EQ(0, access("/sys/module/clone3_compat", F_OK))
		TH_LOG("the module is not loaded: this guarantee is the module's");
	ASSERT_EQ(0, c3c_pin(0));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, burst_spawn(CLONE_PIDFD | CLONE_AUTOREAP, 0, go, pid,
				 pidfd, BURST));
	close(go[1]);
	for (int i = 0; i < BURST; i++) {
		ASSERT_EQ(1, pidfd_poll(pidfd[i], EXIT_MS));
		if (info_exit(pidfd[i], &code) != 1 ||
		    WEXITSTATUS(code) != (i & 0x7f))
			missing++;
		close(pidfd[i]);
	}
	EXPECT_EQ(0, missing);
	close(go[0]);
}

/*
 * A traced child whose leader exits first, while another thread lives on
 * and later calls exit_group(42). No status while that thread runs; after
 * the reap, 42 (the group's exit code, as wait() reports it).
 */
extern int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);

static char tl_stack[64 * 1024] __attribute__((aligned(16)));

/* The second thread: plain syscalls only (it shares the leader's TLS). */
static int tl_thread(void *arg)
{
	int rfd = *(int *)arg;
	char c;

	while (syscall(SYS_read, rfd, &c, 1) < 0)
		;
	syscall(SYS_exit_group, 42);
	return 0;
}

FIXTURE(traced_leader_first) {};
FIXTURE_SETUP(traced_leader_first) {}
FIXTURE_TEARDOWN(traced_leader_first) {}
FIXTURE_VARIANT(traced_leader_first) {
	uint64_t flags;
	int exit_signal;
};
FIXTURE_VARIANT_ADD(traced_leader_first, plain) {
	.flags = CLONE_PIDFD, .exit_signal = SIGCHLD
};
FIXTURE_VARIANT_ADD(traced_leader_first, autoreap) {
	.flags = CLONE_PIDFD | CLONE_AUTOREAP, .exit_signal = 0
};

TEST_F(traced_leader_first, status_only_after_reap)
{
	int go[2], die[2], rep[2], pidfd = -1, code = 0, ready, st;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(die, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = spawn(variant->flags, variant->exit_signal, &pidfd);
	if (pid == 0) {
		int t;

		close(go[1]);
		close(die[1]);
		t = clone(tl_thread, tl_stack + sizeof(tl_stack),
			      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			      CLONE_THREAD | CLONE_SYSVSEM, &die[0]);

		report_int(rep[1], t > 0 ? 1 : -errno);
		child_wait(go[0]);
		syscall(SYS_exit, 0);	/* the leader alone */
	}
	ASSERT_GT(pid, 0) TH_LOG("clone3: %s", strerror(errno));
	close(rep[1]);
	ASSERT_TRUE(read_report(rep[0], &ready, sizeof(ready), EXIT_MS));
	ASSERT_EQ(1, ready) TH_LOG("thread: errno %d", -ready);
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, NULL, NULL))
		TH_LOG("PTRACE_SEIZE: %s", strerror(errno));
	close(go[1]);
	ASSERT_TRUE(wait_state(pid, 'Z', EXIT_MS));
	/* The leader is a zombie, its thread group is alive. */
	usleep(20000);
	EXPECT_EQ(0, info_exit(pidfd, &code)) TH_LOG("status while a thread runs");
	EXPECT_EQ(0, pidfd_poll(pidfd, 0));
	close(die[1]);
	ASSERT_EQ(pid, waitpid(pid, &st, __WALL));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 42) TH_LOG("wait: %#x", st);
	ASSERT_EQ(1, info_exit(pidfd, &code));
	EXPECT_TRUE(WIFEXITED(code) && WEXITSTATUS(code) == 42)
		TH_LOG("PIDFD_INFO_EXIT: %#x", code);
	EXPECT_TRUE(no_child_left());
	close(pidfd);
	close(go[0]);
	close(die[0]);
	close(rep[0]);
}

/*
 * 7.1 refuses CLONE_PARENT only to a process that is itself autoreap:
 * one that has pidfds, was made with CLONE_PIDFD or CLONE_NNP, may use it.
 */
FIXTURE(clone_parent_kept) {};
FIXTURE_SETUP(clone_parent_kept) {}
FIXTURE_TEARDOWN(clone_parent_kept) {}
FIXTURE_VARIANT(clone_parent_kept) {
	uint64_t flags;		/* how the process that tries is made */
	bool pidfd_open;	/* and then pidfd_open()ed by its parent */
};
FIXTURE_VARIANT_ADD(clone_parent_kept, clone3_pidfd) { .flags = CLONE_PIDFD };
FIXTURE_VARIANT_ADD(clone_parent_kept, clone3_nnp) { .flags = CLONE_NNP };
FIXTURE_VARIANT_ADD(clone_parent_kept, clone3_pidfd_nnp) {
	.flags = CLONE_PIDFD | CLONE_NNP
};
FIXTURE_VARIANT_ADD(clone_parent_kept, fork_pidfd_open) { .pidfd_open = true };

TEST_F(clone_parent_kept, clone_parent_allowed)
{
	int go[2], rep[2], pidfd = -1, sib = 0, st;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	pid = spawn(variant->flags, SIGCHLD, &pidfd);
	if (pid == 0) {
		struct clone_args a = { .flags = CLONE_PARENT };
		long r;

		close(go[1]);
		child_wait(go[0]);
		r = sys_clone3(&a, sizeof(a));
		if (r == 0)
			_exit(6);
		report_int(rep[1], r > 0 ? (int)r : -errno);
		_exit(0);
	}
	ASSERT_GT(pid, 0) TH_LOG("clone3: %s", strerror(errno));
	close(rep[1]);
	if (variant->pidfd_open) {
		pidfd = sys_pidfd_open(pid, 0);
		ASSERT_GE(pidfd, 0);
	}
	close(go[1]);
	ASSERT_TRUE(read_report(rep[0], &sib, sizeof(sib), EXIT_MS));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_GT(sib, 0) TH_LOG("clone3(CLONE_PARENT): errno %d", -sib);
	ASSERT_EQ(sib, waitpid(sib, &st, __WALL));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 6);
	if (pidfd >= 0)
		close(pidfd);
	close(go[0]);
	close(rep[0]);
}

TEST_HARNESS_MAIN
