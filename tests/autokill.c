// SPDX-License-Identifier: GPL-2.0
/*
 * CLONE_PIDFD_AUTOKILL as Linux 7.1 has it (see the spec, section (b) for
 * the errno rules and (c) for the semantics): the clone's own pidfd file
 * SIGKILLs the child when its last reference goes away, whoever holds it
 * (dup, fork, SCM_RIGHTS, pidfd_getfd), whatever the child did meanwhile.
 *
 * Every test runs once through the device (variant "ioctl") and once
 * through the raw clone3 syscall in transparent mode (variant "clone3").
 * The same binary runs as root and as uid 1000; where the outcome depends
 * on privilege the test branches on geteuid(). Nothing here is SKIPped.
 *
 * Deaths are observed through pidfd_open() fds taken while the child is
 * known to be alive: they neither keep the child alive nor kill it, and
 * the module keeps the exit status readable through them after the
 * autoreap. Helpers forked by a test never use the harness' ASSERTs: they
 * report through their exit status or a pipe, and die with the test
 * (PR_SET_PDEATHSIG) if it aborts.
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "c3c_test.h"
#include "kselftest_harness.h"

#define AK_BASE		(CLONE_PIDFD | CLONE_AUTOREAP | CLONE_PIDFD_AUTOKILL)
#define INFO_EXIT	CLONE3_COMPAT_PIDFD_INFO_EXIT
#define DEATH_MS	5000	/* bound for "the child dies" */
#define ALIVE_MS	200	/* window for "the child stays alive" */

enum { PATH_IOCTL, PATH_CLONE3 };

/* ---------------------------------------------------------------------- */
/* helpers                                                                  */

static pid_t spawn(int path, struct clone_args *a)
{
	if (path == PATH_IOCTL)
		return c3c_spawn(a, sizeof(*a));
	return sys_clone3(a, sizeof(*a));
}

static pid_t spawn_flags(int path, uint64_t flags, int exit_signal, int *pidfd)
{
	struct clone_args a = {
		.flags = flags,
		.pidfd = (uintptr_t)pidfd,
		.exit_signal = exit_signal,
	};

	*pidfd = -1;
	return spawn(path, &a);
}

/*
 * The AUTOKILL flags the caller may use without further ado: root needs no
 * CLONE_NNP (and does without it, to cover that case), uid 1000 does.
 */
static uint64_t ak_flags(void)
{
	return AK_BASE | (geteuid() == 0 ? 0 : CLONE_NNP);
}

static void __attribute__((noreturn)) block_forever(void)
{
	for (;;)
		pause();
}

/* Child side of a supervisor's spawn: hold no fd of the supervisor's. */
static void __attribute__((noreturn)) block_clean(void)
{
	close_range(3, ~0U, 0);
	block_forever();
}

/*
 * An AUTOKILL child that only blocks, holding none of the parent's fds
 * (pipe ends, other pidfds); the parent gets pid and pidfd.
 */
static pid_t spawn_blocked(int path, uint64_t flags, int *pidfd)
{
	pid_t pid = spawn_flags(path, flags, 0, pidfd);

	if (pid == 0)
		block_clean();
	return pid;
}

/* Forked helper: die with the test if it aborts. */
static void helper_init(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(99);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly @n bytes within @ms; the count read (short on EOF/timeout). */
static ssize_t read_full(int fd, void *buf, size_t n, int ms)
{
	long end = now_ms() + ms;
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = end - now_ms();
		ssize_t r;

		if (left < 0 || poll(&p, 1, left) != 1)
			break;
		r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	return got;
}

/* True when @fd reaches EOF within @ms (all writers gone). */
static bool eof_within(int fd, int ms)
{
	char buf[64];

	for (;;) {
		ssize_t r = read_full(fd, buf, 1, ms);

		if (r == 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			/* read_full gives 0 on timeout too: tell them apart */
			return poll(&p, 1, 0) == 1 && read(fd, buf, 1) == 0;
		}
	}
}

/*
 * The child behind @fd (a pidfd_open fd) stays alive for @ms: the pidfd
 * does not poll readable and /proc shows it neither gone nor a zombie.
 */
static bool stays_alive(int fd, pid_t pid, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char s;

	if (poll(&p, 1, ms) != 0)
		return false;
	s = procfs_state(pid);
	return s != 0 && s != 'Z' && s != 'X';
}

/* Died of SIGKILL, status readable through @fd, never seen as a zombie. */
static void assert_sigkilled(struct __test_metadata *_metadata, int fd,
			     pid_t pid)
{
	struct clone3_compat_pidfd_info info;

	ASSERT_TRUE(c3c_wait_pidfd(fd, DEATH_MS))
		TH_LOG("child %d still alive after %d ms", pid, DEATH_MS);
	ASSERT_EQ(0, c3c_get_info(fd, &info, INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO for %d: %s", pid, strerror(errno));
	ASSERT_TRUE(info.mask & INFO_EXIT)
		TH_LOG("no exit status for %d (mask 0x%llx)", pid,
		       (unsigned long long)info.mask);
	ASSERT_TRUE(WIFSIGNALED(info.exit_code))
		TH_LOG("child %d: status 0x%x, not killed", pid, info.exit_code);
	ASSERT_EQ(SIGKILL, WTERMSIG(info.exit_code));
	ASSERT_EQ(0, c3c_gone_no_zombie(pid, 2000))
		TH_LOG("child %d: zombie or still in /proc", pid);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

/* unshare(CLONE_NEWUSER) and map @uid/@gid (the outer ids) to 0 in it. */
static int enter_userns(uid_t uid, gid_t gid)
{
	char buf[64];
	int err;

	if (unshare(CLONE_NEWUSER))
		return -errno;
	err = write_file("/proc/self/setgroups", "deny");
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "0 %u 1", (unsigned int)uid);
	err = write_file("/proc/self/uid_map", buf);
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "0 %u 1", (unsigned int)gid);
	return write_file("/proc/self/gid_map", buf);
}

/*
 * One clone3 call expected to fail: the errno, or 0 when it succeeded
 * (the child is gone again when this returns).
 */
static int spawn_errno(int path, uint64_t flags, int exit_signal)
{
	int pidfd = -1;
	pid_t pid = spawn_flags(path, flags, exit_signal, &pidfd);

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return errno;
	if (pidfd >= 0)
		close(pidfd);
	waitpid(pid, NULL, __WALL);	/* reaps it, or ECHILD once autoreaped */
	return 0;
}

/*
 * A successful AUTOKILL spawn with @flags: the child blocks, has the
 * expected no_new_privs, and dies of SIGKILL when the pidfd is closed.
 */
static void check_autokill_works(struct __test_metadata *_metadata, int path,
				 uint64_t flags, const char *what)
{
	int pidfd, ofd;
	pid_t pid;

	pid = spawn_blocked(path, flags, &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("%s: spawn failed: %s", what, strerror(errno));
	ASSERT_GE(pidfd, 0);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0) TH_LOG("%s: pidfd_open: %s", what, strerror(errno));
	EXPECT_EQ(!!(flags & CLONE_NNP), procfs_status_num(pid, "NoNewPrivs"))
		TH_LOG("%s: wrong no_new_privs", what);
	EXPECT_TRUE(stays_alive(ofd, pid, 50)) TH_LOG("%s: died early", what);
	close(pidfd);
	assert_sigkilled(_metadata, ofd, pid);
	close(ofd);
}

/* ---------------------------------------------------------------------- */
/* the fixture: one variant per spawn path                                 */

FIXTURE(autokill) {
	int unused;
};

FIXTURE_VARIANT(autokill) {
	int path;
};

/* The device's CLONE3 ioctl exists only where the module is loaded. */
FIXTURE_VARIANT_ADD(autokill, module_only_ioctl) {
	.path = PATH_IOCTL,
};

FIXTURE_VARIANT_ADD(autokill, clone3) {
	.path = PATH_CLONE3,
};

FIXTURE_SETUP(autokill)
{
	struct clone3_compat_features f;

	/* The clone3 variant is a 7.1 program: the 7.1 UAPI only. */
	c3c_upstream_api = variant->path == PATH_CLONE3;
	/* Natively the kernel has the flag; the module's features otherwise. */
	if (variant->path == PATH_CLONE3 && !c3c_module_loaded())
		return;
	ASSERT_EQ(0, c3c_features(&f))
		TH_LOG("%s: %s (module not loaded?)", CLONE3_COMPAT_DEVICE,
		       strerror(errno));
	ASSERT_TRUE(f.mechanisms & CLONE3_COMPAT_MECH_AUTOKILL);
	ASSERT_TRUE(f.clone_flags & CLONE_PIDFD_AUTOKILL);
	if (variant->path == PATH_CLONE3)
		ASSERT_TRUE(f.mechanisms & CLONE3_COMPAT_MECH_CLONE3)
			TH_LOG("transparent clone3 mode is off");
}

FIXTURE_TEARDOWN(autokill)
{
}

/* ---------------------------------------------------------------------- */
/* 1. the rules of table (b), in order                                     */

TEST_F(autokill, rules_einval)
{
	static const struct {
		const char *what;
		uint64_t flags;
		int exit_signal;
	} cases[] = {
		{ "AUTOKILL alone", CLONE_PIDFD_AUTOKILL, 0 },
		{ "AUTOKILL without PIDFD",
		  CLONE_AUTOREAP | CLONE_PIDFD_AUTOKILL, 0 },
		{ "AUTOKILL without AUTOREAP",
		  CLONE_PIDFD | CLONE_PIDFD_AUTOKILL, 0 },
		{ "AUTOKILL without AUTOREAP, SIGCHLD",
		  CLONE_PIDFD | CLONE_PIDFD_AUTOKILL, SIGCHLD },
		{ "AUTOKILL with THREAD",
		  AK_BASE | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0 },
		{ "AUTOKILL without AUTOREAP with THREAD",
		  CLONE_PIDFD | CLONE_PIDFD_AUTOKILL | CLONE_THREAD |
		  CLONE_SIGHAND | CLONE_VM, 0 },
		{ "AUTOKILL|AUTOREAP with exit_signal", AK_BASE, SIGCHLD },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* EINVAL with or without NNP: it wins over EPERM */
		for (int nnp = 0; nnp < 2; nnp++) {
			uint64_t fl = cases[i].flags | (nnp ? CLONE_NNP : 0);

			EXPECT_EQ(EINVAL, spawn_errno(variant->path, fl,
						      cases[i].exit_signal))
				TH_LOG("%s%s (euid %d)", cases[i].what,
				       nnp ? " +NNP" : "", geteuid());
		}
	}
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

TEST_F(autokill, rules_privilege)
{
	bool root = geteuid() == 0;
	int path = variant->path;

	/* without CLONE_NNP: CAP_SYS_ADMIN or EPERM */
	if (root)
		check_autokill_works(_metadata, path, AK_BASE, "root, no NNP");
	else
		EXPECT_EQ(EPERM, spawn_errno(path, AK_BASE, 0));

	/* with CLONE_NNP: anyone */
	check_autokill_works(_metadata, path, AK_BASE | CLONE_NNP, "NNP");

	/* CLONE_NEWUSER in the same call does not grant the capability */
	if (root)
		check_autokill_works(_metadata, path, AK_BASE | CLONE_NEWUSER,
				     "root, NEWUSER, no NNP");
	else
		EXPECT_EQ(EPERM, spawn_errno(path, AK_BASE | CLONE_NEWUSER, 0));
	check_autokill_works(_metadata, path,
			     AK_BASE | CLONE_NEWUSER | CLONE_NNP, "NEWUSER+NNP");

	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/*
 * Root of an unprivileged user namespace has CAP_SYS_ADMIN in its current
 * namespace: AUTOKILL without NNP works there (as root and as uid 1000).
 */
TEST_F(autokill, rules_userns_root)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	pid_t me = getpid(), h;
	int status;

	h = fork();
	ASSERT_GE(h, 0);
	if (h == 0) {
		struct clone3_compat_pidfd_info info;
		int pidfd, ofd;
		pid_t c;

		helper_init(me);
		if (enter_userns(uid, gid))
			_exit(10);
		if (geteuid() != 0)
			_exit(11);
		c = spawn_blocked(variant->path, AK_BASE, &pidfd);
		if (c < 0)
			_exit(errno == EPERM ? 12 : 13);
		ofd = sys_pidfd_open(c, 0);
		if (ofd < 0)
			_exit(14);
		if (procfs_status_num(c, "NoNewPrivs") != 0)
			_exit(15);
		close(pidfd);
		if (!c3c_wait_pidfd(ofd, DEATH_MS))
			_exit(16);
		if (c3c_get_info(ofd, &info, INFO_EXIT) ||
		    !(info.mask & INFO_EXIT) || !WIFSIGNALED(info.exit_code) ||
		    WTERMSIG(info.exit_code) != SIGKILL)
			_exit(17);
		if (c3c_gone_no_zombie(c, 2000))
			_exit(18);
		_exit(0);
	}
	ASSERT_EQ(h, waitpid(h, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("helper status 0x%x", status);
	/* 10 userns setup, 12 EPERM, 16 not killed, 17 wrong status ... */
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 2. closing the only pidfd kills                                         */

TEST_F(autokill, last_close_kills)
{
	int pidfd, ofd;
	pid_t pid;

	pid = spawn_blocked(variant->path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ASSERT_GE(pidfd, 0);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS));

	ASSERT_EQ(0, close(pidfd));
	assert_sigkilled(_metadata, ofd, pid);
	ASSERT_TRUE(c3c_no_waitable_child());
	close(ofd);
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 3. dup, F_DUPFD_CLOEXEC, dup3: every copy holds the same file           */

TEST_F(autokill, dup_keeps_alive)
{
	int pidfd, ofd, d1, d2, d3;
	pid_t pid;

	pid = spawn_blocked(variant->path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);

	d1 = dup(pidfd);
	ASSERT_GE(d1, 0);
	d2 = fcntl(pidfd, F_DUPFD_CLOEXEC, 100);
	ASSERT_GE(d2, 100);
	d3 = dup3(pidfd, 200, O_CLOEXEC);
	ASSERT_EQ(200, d3);

	ASSERT_EQ(0, close(pidfd));
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS)) TH_LOG("killed with 3 dups left");
	ASSERT_EQ(0, close(d2));
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS)) TH_LOG("killed with 2 dups left");
	ASSERT_EQ(0, close(d3));
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS)) TH_LOG("killed with 1 dup left");
	ASSERT_EQ(0, close(d1));
	assert_sigkilled(_metadata, ofd, pid);
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 4. a forked process inherits the pidfd and keeps the child alive        */

TEST_F(autokill, fork_keeps_alive)
{
	int pidfd, ofd, gp[2], status;
	pid_t me = getpid(), pid, h;

	pid = spawn_blocked(variant->path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	ASSERT_EQ(0, pipe2(gp, O_CLOEXEC));	/* after the spawn: not the child's */

	h = fork();
	ASSERT_GE(h, 0);
	if (h == 0) {
		char c;

		helper_init(me);
		close(gp[1]);
		close(ofd);
		/* holds pidfd until the test closes the pipe */
		while (read(gp[0], &c, 1) != 0)
			;
		_exit(0);
	}
	close(gp[0]);
	ASSERT_EQ(0, close(pidfd));
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS))
		TH_LOG("killed while the forked helper holds the pidfd");

	close(gp[1]);	/* the helper exits */
	ASSERT_EQ(h, waitpid(h, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_sigkilled(_metadata, ofd, pid);
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 5. SCM_RIGHTS: in flight and in the receiver, the file keeps it alive   */

static int send_fd(int sock, int fd)
{
	char data = 'F';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	memset(&u, 0, sizeof(u));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

TEST_F(autokill, scm_rights_keeps_alive)
{
	int sv[2], gp[2], pidfd, ofd, status;
	pid_t me = getpid(), pid, r;
	char c;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, pipe2(gp, O_CLOEXEC));
	/* the receiver exists before the child: it inherits no pidfd */
	r = fork();
	ASSERT_GE(r, 0);
	if (r == 0) {
		int fd;

		helper_init(me);
		close(sv[0]);
		close(gp[1]);
		if (read(gp[0], &c, 1) != 1)	/* "receive now" */
			_exit(1);
		fd = recv_fd(sv[1]);
		if (fd < 0)
			_exit(2);
		if (write(sv[1], "k", 1) != 1)
			_exit(3);
		if (read(gp[0], &c, 1) != 1)	/* "close now" */
			_exit(4);
		close(fd);
		if (write(sv[1], "c", 1) != 1)
			_exit(5);
		while (read(gp[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(sv[1]);
	close(gp[0]);

	pid = spawn_blocked(variant->path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);

	ASSERT_EQ(0, send_fd(sv[0], pidfd));
	ASSERT_EQ(0, close(pidfd));
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS))
		TH_LOG("killed while the pidfd is in flight");

	ASSERT_EQ(1, write(gp[1], "r", 1));
	ASSERT_EQ(1, read_full(sv[0], &c, 1, DEATH_MS));
	ASSERT_EQ('k', c);
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS))
		TH_LOG("killed while the receiver holds the pidfd");

	ASSERT_EQ(1, write(gp[1], "c", 1));
	ASSERT_EQ(1, read_full(sv[0], &c, 1, DEATH_MS));
	ASSERT_EQ('c', c);
	assert_sigkilled(_metadata, ofd, pid);

	close(gp[1]);
	close(sv[0]);
	ASSERT_EQ(r, waitpid(r, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("receiver status 0x%x", status);
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/*
 * An AUTOKILL pidfd sent over a socket that is closed with the message
 * still queued: the in-flight reference goes away with the socket and the
 * child dies.
 */
TEST_F(autokill, scm_rights_dropped_in_flight)
{
	int sv[2], pidfd, ofd;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	pid = spawn_blocked(variant->path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);

	ASSERT_EQ(0, send_fd(sv[0], pidfd));
	ASSERT_EQ(0, close(pidfd));
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS));
	close(sv[0]);
	close(sv[1]);	/* the queued message and its file are dropped */
	assert_sigkilled(_metadata, ofd, pid);
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 6. pidfd_getfd(): the copy refers to the same file                      */

TEST_F(autokill, pidfd_getfd_keeps_alive)
{
	int pidfd, ofd, hfd, gfd, gp[2], status;
	pid_t me = getpid(), pid, h;
	int flags;

	pid = spawn_blocked(variant->path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	ASSERT_EQ(0, pipe2(gp, O_CLOEXEC));

	/* the helper holds the pidfd (inherited), the test takes a copy */
	h = fork();
	ASSERT_GE(h, 0);
	if (h == 0) {
		char c;

		helper_init(me);
		close(gp[1]);
		close(ofd);
		while (read(gp[0], &c, 1) != 0)
			;
		_exit(0);
	}
	close(gp[0]);
	ASSERT_EQ(0, close(pidfd));	/* only the helper holds it now */
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS));

	hfd = sys_pidfd_open(h, 0);
	ASSERT_GE(hfd, 0);
	gfd = sys_pidfd_getfd(hfd, pidfd);	/* same number in the helper */
	ASSERT_GE(gfd, 0) TH_LOG("pidfd_getfd: %s", strerror(errno));
	flags = fcntl(gfd, F_GETFL);
	EXPECT_TRUE(flags != -1 && (flags & O_TRUNC))
		TH_LOG("the getfd copy is not the AUTOKILL file (0%o)", flags);

	close(gp[1]);	/* the helper exits, dropping its reference */
	ASSERT_EQ(h, waitpid(h, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(hfd);
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS))
		TH_LOG("killed while the pidfd_getfd copy is open");

	ASSERT_EQ(0, close(gfd));
	assert_sigkilled(_metadata, ofd, pid);
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 7. pidfd_open() files neither keep alive nor kill                       */

TEST_F(autokill, pidfd_open_files_neutral)
{
	int pidfd, ofd, ofd2, ofd3;
	pid_t pid;

	/* closing a pidfd_open fd (blocking or not) does not kill */
	pid = spawn_blocked(variant->path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	ofd2 = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd2, 0);
	ofd3 = sys_pidfd_open(pid, O_NONBLOCK);	/* PIDFD_NONBLOCK */
	ASSERT_GE(ofd3, 0);
	ASSERT_EQ(0, close(ofd2));
	ASSERT_EQ(0, close(ofd3));
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS))
		TH_LOG("closing a pidfd_open fd killed the child");
	/* nor does a signal through it, of course: SIGCONT is harmless */
	ASSERT_EQ(0, sys_pidfd_send_signal(ofd, SIGCONT));
	ASSERT_TRUE(stays_alive(ofd, pid, 50));

	/* holding only pidfd_open fds does not keep it alive */
	ofd2 = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd2, 0);
	ASSERT_EQ(0, close(pidfd));
	assert_sigkilled(_metadata, ofd, pid);
	ASSERT_TRUE(c3c_wait_pidfd(ofd2, 0));
	close(ofd2);
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 8. the parent is SIGKILLed: fd teardown closes the pidfd                */

/*
 * Fork a supervisor that spawns one AUTOKILL|NNP child through @path,
 * reports its pid on a pipe, waits for a byte on @go (if >= 0) and then
 * runs @then: 0 pause forever, 1 exec busybox sleep.
 */
static pid_t start_supervisor(int path, int then, pid_t *child, int *go_wr)
{
	pid_t me = getpid(), s;
	int rp[2], gp[2];

	if (pipe2(rp, O_CLOEXEC) || pipe2(gp, O_CLOEXEC))
		return -1;
	s = fork();
	if (s < 0)
		return -1;
	if (s == 0) {
		int pidfd;
		pid_t c;
		char b;

		helper_init(me);
		close(rp[0]);
		close(gp[1]);
		c = spawn_flags(path, AK_BASE | CLONE_NNP, 0, &pidfd);
		if (c == 0)
			block_clean();
		if (c < 0)
			c = -errno;
		if (write(rp[1], &c, sizeof(c)) != sizeof(c) || c < 0)
			_exit(1);
		if (read(gp[0], &b, 1) != 1)
			_exit(2);
		if (then == 1) {
			execl("/bin/busybox", "sleep", "10", (char *)NULL);
			execl("/bin/sleep", "sleep", "10", (char *)NULL);
			_exit(127);
		}
		block_forever();
	}
	close(rp[1]);
	close(gp[0]);
	if (read_full(rp[0], child, sizeof(*child), DEATH_MS) != sizeof(*child))
		*child = 0;
	close(rp[0]);
	*go_wr = gp[1];
	return s;
}

TEST_F(autokill, parent_sigkilled)
{
	int ofd, go, status;
	pid_t s, c;

	s = start_supervisor(variant->path, 0, &c, &go);
	ASSERT_GT(s, 0);
	ASSERT_GT(c, 0) TH_LOG("supervisor's spawn failed: %s", strerror(-c));
	ofd = sys_pidfd_open(c, 0);
	ASSERT_GE(ofd, 0);
	ASSERT_EQ(1, write(go, "g", 1));
	ASSERT_TRUE(stays_alive(ofd, c, ALIVE_MS));

	ASSERT_EQ(0, kill(s, SIGKILL));
	ASSERT_EQ(s, waitpid(s, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_sigkilled(_metadata, ofd, c);
	close(ofd);
	close(go);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 9. the parent execs: the O_CLOEXEC pidfd is dropped                     */

static bool comm_is(pid_t pid, const char *name)
{
	char path[64], buf[64] = "";

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (procfs_read(path, buf, sizeof(buf)) < 0)
		return false;
	buf[strcspn(buf, "\n")] = 0;
	return !strcmp(buf, name);
}

TEST_F(autokill, parent_exec)
{
	int ofd, sfd, go, status;
	char comm[64] = "", path[64];
	pid_t s, c;
	FILE *f;

	s = start_supervisor(variant->path, 1, &c, &go);
	ASSERT_GT(s, 0);
	ASSERT_GT(c, 0) TH_LOG("supervisor's spawn failed: %s", strerror(-c));
	ofd = sys_pidfd_open(c, 0);
	ASSERT_GE(ofd, 0);
	sfd = sys_pidfd_open(s, 0);
	ASSERT_GE(sfd, 0);
	snprintf(path, sizeof(path), "/proc/%d/comm", s);
	f = fopen(path, "re");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	ASSERT_TRUE(stays_alive(ofd, c, ALIVE_MS));

	ASSERT_EQ(1, write(go, "x", 1));	/* exec now */
	assert_sigkilled(_metadata, ofd, c);

	/* the supervisor execed and still runs */
	for (int i = 0; i < 200 && comm_is(s, comm); i++)
		usleep(10000);
	EXPECT_FALSE(comm_is(s, comm)) TH_LOG("supervisor did not exec");
	ASSERT_TRUE(stays_alive(sfd, s, 0)) TH_LOG("supervisor died");

	ASSERT_EQ(0, kill(s, SIGKILL));
	ASSERT_EQ(s, waitpid(s, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(sfd);
	close(ofd);
	close(go);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 10. the child exited on its own: closing afterwards is harmless         */

TEST_F(autokill, child_already_dead)
{
	struct clone3_compat_pidfd_info info;
	int pidfd, bfd, ofd;
	pid_t pid, by;

	/* a bystander that must not be hit */
	by = spawn_blocked(variant->path, ak_flags(), &bfd);
	ASSERT_GT(by, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(by, 0);
	ASSERT_GE(ofd, 0);

	pid = spawn_flags(variant->path, ak_flags(), 0, &pidfd);
	if (pid == 0)
		_exit(3);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ASSERT_TRUE(c3c_wait_pidfd(pidfd, DEATH_MS));
	ASSERT_EQ(0, c3c_get_info(pidfd, &info, INFO_EXIT))
		TH_LOG("PIDFD_GET_INFO: %s", strerror(errno));
	ASSERT_TRUE(info.mask & INFO_EXIT);
	ASSERT_EQ(3 << 8, info.exit_code);
	ASSERT_EQ(0, c3c_gone_no_zombie(pid, 2000));

	ASSERT_EQ(0, close(pidfd));	/* finds no task: a no-op */
	ASSERT_TRUE(stays_alive(ofd, by, ALIVE_MS))
		TH_LOG("closing a dead child's pidfd hit another process");

	close(bfd);
	assert_sigkilled(_metadata, ofd, by);
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 11. the child changes credentials: still killed (no reset)              */

/* @how: 0 setresuid(1000), 1 new user namespace */
static void creds_case(struct __test_metadata *_metadata, int path, int how)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	int pidfd, ofd, rp[2];
	char r = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe2(rp, O_CLOEXEC));
	pid = spawn_flags(path, ak_flags(), 0, &pidfd);
	if (pid == 0) {
		char ok = 'E';

		close(rp[0]);
		if (how == 0) {
			if (!setresgid(1000, 1000, 1000) &&
			    !setresuid(1000, 1000, 1000) && geteuid() == 1000)
				ok = 'u';
		} else {
			if (!enter_userns(uid, gid) && geteuid() == 0)
				ok = 'n';
		}
		if (write(rp[1], &ok, 1) != 1)
			_exit(1);
		close(rp[1]);
		block_forever();
	}
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	close(rp[1]);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	ASSERT_EQ(1, read_full(rp[0], &r, 1, DEATH_MS));
	close(rp[0]);
	ASSERT_EQ(how == 0 ? 'u' : 'n', r) TH_LOG("child could not change creds");
	ASSERT_TRUE(stays_alive(ofd, pid, 50));

	ASSERT_EQ(0, close(pidfd));
	assert_sigkilled(_metadata, ofd, pid);
	close(ofd);
}

TEST_F(autokill, child_changes_creds)
{
	if (geteuid() == 0)
		creds_case(_metadata, variant->path, 0);
	creds_case(_metadata, variant->path, 1);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 12. pid namespace init: its death tears the namespace down              */

TEST_F(autokill, pidns_init)
{
	uint64_t flags = ak_flags() | CLONE_NEWPID;
	int pidfd, ofd, pp[2];
	char b = 0;
	pid_t pid;

	if (geteuid() != 0)
		flags |= CLONE_NEWUSER;
	ASSERT_EQ(0, pipe2(pp, O_CLOEXEC));
	pid = spawn_flags(variant->path, flags, 0, &pidfd);
	if (pid == 0) {
		pid_t g;

		/* pid 1 of the new namespace */
		close(pp[0]);
		if (getpid() != 1) {
			(void)!write(pp[1], "1", 1);
			_exit(1);
		}
		g = fork();
		if (g == 0) {
			/* holds the write end until the namespace dies */
			if (write(pp[1], "g", 1) != 1)
				_exit(1);
			block_forever();
		}
		if (g < 0) {
			(void)!write(pp[1], "f", 1);
			_exit(1);
		}
		close(pp[1]);
		block_forever();
	}
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	close(pp[1]);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	ASSERT_EQ(1, read_full(pp[0], &b, 1, DEATH_MS));
	ASSERT_EQ('g', b) TH_LOG("init could not start its child");
	ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS));

	ASSERT_EQ(0, close(pidfd));
	assert_sigkilled(_metadata, ofd, pid);
	/* the grandchild died with the namespace: its write end is gone */
	ASSERT_TRUE(eof_within(pp[0], DEATH_MS)) TH_LOG("namespace not torn down");
	close(pp[0]);
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 13. 64 threads racing close/dup/fork on one pidfd                       */

#define RACE_THREADS	64
#define RACE_ROUNDS	6

struct race_arg {
	pthread_barrier_t *bar;
	int fd;
	int mode;
	int cpu;
	int err;
};

static void *race_thread(void *p)
{
	struct race_arg *a = p;
	pid_t f;
	int d;

	/* Released by the barrier on every CPU at once, not one by one. */
	if (c3c_pin(a->cpu))
		a->err = errno;
	pthread_barrier_wait(a->bar);
	switch (a->mode) {
	case 0:		/* plain close */
		if (close(a->fd))
			a->err = errno;
		break;
	case 1:		/* dup, close the original, then the dup */
		d = dup(a->fd);
		if (d < 0 || close(a->fd) || close(d))
			a->err = errno ? errno : EIO;
		break;
	case 2:		/* fork a process that exits at once, then close */
		f = fork();
		if (f == 0)
			_exit(0);
		if (close(a->fd))
			a->err = errno;
		if (f < 0)
			a->err = errno;
		else if (waitpid(f, NULL, 0) != f)
			a->err = errno ? errno : ECHILD;
		break;
	default:	/* F_DUPFD, close the dup first, then the original */
		d = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
		if (d < 0 || close(d) || close(a->fd))
			a->err = errno ? errno : EIO;
		break;
	}
	return NULL;
}

/* One round; @hold: keep an extra fd until every thread has joined. */
static void race_round(struct __test_metadata *_metadata, int path, int round,
		       bool hold)
{
	struct race_arg args[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	pthread_barrier_t bar;
	pthread_attr_t attr;
	int pidfd, ofd, keep = -1;
	pid_t pid;

	pid = spawn_blocked(path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	for (int i = 0; i < RACE_THREADS; i++) {
		args[i] = (struct race_arg){
			.bar = &bar,
			.fd = dup(pidfd),
			.mode = (i + round) % 4,
			.cpu = i,
		};
		ASSERT_GE(args[i].fd, 0);
	}
	if (hold)
		keep = pidfd;
	else
		ASSERT_EQ(0, close(pidfd));

	ASSERT_EQ(0, pthread_barrier_init(&bar, NULL, RACE_THREADS));
	ASSERT_EQ(0, pthread_attr_init(&attr));
	/* 64 KiB, or arm64's larger minimum (128 KiB: EINVAL below it) */
	ASSERT_EQ(0, pthread_attr_setstacksize(&attr, 64 * 1024 < PTHREAD_STACK_MIN ?
					       PTHREAD_STACK_MIN : 64 * 1024));
	for (int i = 0; i < RACE_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], &attr, race_thread, &args[i]));
	for (int i = 0; i < RACE_THREADS; i++) {
		ASSERT_EQ(0, pthread_join(th[i], NULL));
		EXPECT_EQ(0, args[i].err) TH_LOG("thread %d (mode %d): %s", i,
						 args[i].mode, strerror(args[i].err));
	}
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&bar);

	if (hold) {
		ASSERT_TRUE(stays_alive(ofd, pid, ALIVE_MS))
			TH_LOG("round %d: killed before the last close", round);
		ASSERT_EQ(0, close(keep));
	}
	assert_sigkilled(_metadata, ofd, pid);
	close(ofd);
}

/* 6 rounds of 16 forks of a 64-thread process: minutes under KASAN. */
TEST_F_TIMEOUT(autokill, race_close_dup_fork, 300)
{
	for (int round = 0; round < RACE_ROUNDS; round++)
		race_round(_metadata, variant->path, round, round % 2 == 0);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

/* ---------------------------------------------------------------------- */
/* 14. 1000 children of a supervisor that is SIGKILLed                     */

#define MANY	1000

/* Zombies whose parent is @a or @b, among all of /proc. */
static int count_zombies_of(pid_t a, pid_t b)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], buf[512], *p, st;
		int fd, ppid;
		ssize_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %c %d", &st, &ppid) != 2)
			continue;
		if (st == 'Z' && (ppid == a || ppid == b))
			n++;
	}
	closedir(d);
	return n;
}

TEST_F_TIMEOUT(autokill, thousand_children, 300)
{
	static int ofds[MANY];
	static pid_t pids[MANY];
	pid_t me = getpid(), s;
	int pp[2], sp[2], status, got = 0, left, report = 0;
	long t0, t_spawned, t_kill, t_dead;
	struct rlimit rl;

	/* 1000 pidfds in the supervisor, 1000 pidfd_open fds here */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_cur < MANY + 100) {
		rl.rlim_cur = rl.rlim_max;
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	}
	ASSERT_GE(rl.rlim_cur, MANY + 100) TH_LOG("RLIMIT_NOFILE hard limit %lu",
						  (unsigned long)rl.rlim_max);
	ASSERT_EQ(0, pipe2(pp, O_CLOEXEC));	/* children report their pid */
	ASSERT_EQ(0, pipe2(sp, O_CLOEXEC));	/* the supervisor's verdict */

	t0 = now_ms();
	s = fork();
	ASSERT_GE(s, 0);
	if (s == 0) {
		int i, res;

		helper_init(me);
		close(pp[0]);
		close(sp[0]);
		for (i = 0; i < MANY; i++) {
			int pidfd;
			pid_t c = spawn_flags(variant->path,
					      AK_BASE | CLONE_NNP, 0, &pidfd);

			if (c == 0) {
				pid_t mine = getpid();
				int w = pp[1];

				/* keep only the report pipe, then block */
				if (w > 3)
					close_range(3, w - 1, 0);
				close_range(w + 1, ~0U, 0);
				if (write(w, &mine, sizeof(mine)) != sizeof(mine))
					_exit(1);
				close(w);
				block_forever();
			}
			if (c < 0)
				break;
		}
		res = i == MANY ? MANY : -errno;
		if (write(sp[1], &res, sizeof(res)) != sizeof(res))
			_exit(1);
		if (i != MANY)
			(void)!write(sp[1], &i, sizeof(i));
		close(pp[1]);
		block_forever();
	}
	close(pp[1]);
	close(sp[1]);

	ASSERT_EQ((ssize_t)sizeof(report), read_full(sp[0], &report, sizeof(report), 60000))
		TH_LOG("no word from the supervisor");
	if (report != MANY) {
		int at = -1;

		read_full(sp[0], &at, sizeof(at), 1000);
		kill(s, SIGKILL);
		waitpid(s, NULL, 0);
		ASSERT_EQ(MANY, report)
			TH_LOG("supervisor: spawn %d failed: %s", at, strerror(-report));
	}
	/* every child has (or will have) written its pid */
	while (got < MANY) {
		if (read_full(pp[0], &pids[got], sizeof(pid_t), 20000) != sizeof(pid_t))
			break;
		ofds[got] = sys_pidfd_open(pids[got], 0);
		if (ofds[got] < 0)
			break;
		got++;
	}
	t_spawned = now_ms();
	ksft_print_msg("%s: %d children spawned and watched in %ld ms\n",
		       variant->path == PATH_IOCTL ? "ioctl" : "clone3", got,
		       t_spawned - t0);
	if (got != MANY) {
		kill(s, SIGKILL);
		waitpid(s, NULL, 0);
		ASSERT_EQ(MANY, got) TH_LOG("pid report or pidfd_open: %s",
					    strerror(errno));
	}
	/* all alive and blocked before the supervisor dies */
	for (int i = 0; i < MANY; i++) {
		struct pollfd p = { .fd = ofds[i], .events = POLLIN };

		ASSERT_EQ(0, poll(&p, 1, 0)) TH_LOG("child %d died early", pids[i]);
	}

	t_kill = now_ms();
	ASSERT_EQ(0, kill(s, SIGKILL));
	ASSERT_EQ(s, waitpid(s, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_TRUE(eof_within(pp[0], 1000));
	close(pp[0]);
	close(sp[0]);

	/* wait for all of them, polling those still alive */
	left = MANY;
	{
		static struct pollfd pf[MANY];
		static int idx[MANY];
		/*
		 * 20 s, or twice what the spawning took where the kernel is
		 * slow at processes (KASAN + lockdep: ~30 ms a fork or exit).
		 */
		long spawning = t_spawned - t0;
		long end = now_ms() + (spawning > 10000 ? 2 * spawning : 20000);

		while (left > 0 && now_ms() < end) {
			int n = 0;

			for (int i = 0; i < MANY; i++) {
				if (ofds[i] < 0)
					continue;
				pf[n] = (struct pollfd){ .fd = ofds[i], .events = POLLIN };
				idx[n++] = i;
			}
			if (poll(pf, n, 100) < 0)
				break;
			for (int j = 0; j < n; j++) {
				struct clone3_compat_pidfd_info info;
				int i = idx[j];

				if (!(pf[j].revents & POLLIN))
					continue;
				EXPECT_EQ(0, c3c_get_info(ofds[i], &info, INFO_EXIT))
					TH_LOG("child %d: PIDFD_GET_INFO: %s", pids[i],
					       strerror(errno));
				EXPECT_TRUE((info.mask & INFO_EXIT) &&
					    WIFSIGNALED(info.exit_code) &&
					    WTERMSIG(info.exit_code) == SIGKILL)
					TH_LOG("child %d: status 0x%x", pids[i],
					       info.exit_code);
				close(ofds[i]);
				ofds[i] = -1;
				left--;
			}
		}
	}
	t_dead = now_ms();
	ksft_print_msg("%s: %d of %d children dead %ld ms after the SIGKILL (total %ld ms)\n",
		       variant->path == PATH_IOCTL ? "ioctl" : "clone3",
		       MANY - left, MANY, t_dead - t_kill, t_dead - t0);
	for (int i = 0; i < MANY; i++)
		if (ofds[i] >= 0)
			close(ofds[i]);
	ASSERT_EQ(0, left) TH_LOG("%d children survived their supervisor", left);

	/*
	 * Readable means dead, not yet unhashed: on an SMP guest the child's
	 * own release (autoreap) may still run on another CPU, its /proc
	 * entry in state X for a moment. Gone soon, and never a zombie.
	 */
	for (int i = 0; i < MANY; i++) {
		int r = c3c_gone_no_zombie(pids[i], 2000);

		ASSERT_EQ(0, r) TH_LOG("child %d still in /proc (%c)%s", pids[i],
				       procfs_state(pids[i]),
				       r == -1 ? ": a zombie" : "");
	}
	/* no zombie under us or init (allow init a moment for its own) */
	for (int i = 0; i < 100 && count_zombies_of(getpid(), 1) != 0; i++)
		usleep(10000);
	ASSERT_EQ(0, count_zombies_of(getpid(), 1));
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(5000));
}

/* ---------------------------------------------------------------------- */
/* 15. the AUTOKILL mark shows as O_TRUNC in F_GETFL                       */

TEST_F(autokill, fgetfl_o_trunc)
{
	int pidfd, ofd, d, plain, fl, pofd;
	pid_t pid, p2;

	pid = spawn_blocked(variant->path, ak_flags(), &pidfd);
	ASSERT_GT(pid, 0) TH_LOG("spawn: %s", strerror(errno));
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);

	fl = fcntl(pidfd, F_GETFL);
	ASSERT_NE(-1, fl);
	ASSERT_TRUE(fl & O_TRUNC) TH_LOG("F_GETFL 0%o", fl);
	ASSERT_TRUE(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);

	/* F_SETFL cannot clear it */
	ASSERT_EQ(0, fcntl(pidfd, F_SETFL, fl & ~O_TRUNC));
	fl = fcntl(pidfd, F_GETFL);
	ASSERT_TRUE(fl & O_TRUNC) TH_LOG("F_SETFL cleared it: 0%o", fl);
	ASSERT_EQ(0, fcntl(pidfd, F_SETFL, 0));
	ASSERT_TRUE(fcntl(pidfd, F_GETFL) & O_TRUNC);

	/* a dup is the same file */
	d = dup(pidfd);
	ASSERT_GE(d, 0);
	ASSERT_TRUE(fcntl(d, F_GETFL) & O_TRUNC);
	close(d);

	/* a pidfd_open fd does not have it, nor can F_SETFL set it */
	fl = fcntl(ofd, F_GETFL);
	ASSERT_NE(-1, fl);
	ASSERT_FALSE(fl & O_TRUNC) TH_LOG("pidfd_open fd: F_GETFL 0%o", fl);
	ASSERT_EQ(0, fcntl(ofd, F_SETFL, fl | O_TRUNC));
	ASSERT_FALSE(fcntl(ofd, F_GETFL) & O_TRUNC);

	/* nor the pidfd of a clone without AUTOKILL */
	p2 = spawn_flags(variant->path, CLONE_PIDFD | CLONE_AUTOREAP, 0, &plain);
	if (p2 == 0)
		block_forever();
	ASSERT_GT(p2, 0) TH_LOG("spawn: %s", strerror(errno));
	pofd = sys_pidfd_open(p2, 0);
	ASSERT_GE(pofd, 0);
	fl = fcntl(plain, F_GETFL);
	ASSERT_NE(-1, fl);
	ASSERT_FALSE(fl & O_TRUNC) TH_LOG("plain CLONE_PIDFD: F_GETFL 0%o", fl);
	ASSERT_EQ(0, close(plain));	/* not AUTOKILL: no kill */
	ASSERT_TRUE(stays_alive(pofd, p2, ALIVE_MS));
	ASSERT_EQ(0, sys_pidfd_send_signal(pofd, SIGKILL));
	assert_sigkilled(_metadata, pofd, p2);
	close(pofd);

	/* the AUTOKILL pidfd still works after the F_SETFL calls */
	ASSERT_TRUE(stays_alive(ofd, pid, 50));
	ASSERT_EQ(0, close(pidfd));
	assert_sigkilled(_metadata, ofd, pid);
	close(ofd);
	ASSERT_TRUE(c3c_no_waitable_child());
	ASSERT_TRUE(c3c_state_drained(3000));
}

TEST_HARNESS_MAIN
