// SPDX-License-Identifier: GPL-2.0
/*
 * Spawning with CLONE_AUTOREAP and CLONE_NNP, through the device's
 * CLONE3_COMPAT_IOC_CLONE3 and through the clone3 syscall (transparent
 * mode): validation in 7.1's order, no_new_privs, autoreap in all its
 * cases, the exit status, and ordinary clone3 flags still working.
 *
 * Children that need a clean libc (threads, exec checks) re-exec this
 * binary in one of the helper modes handled by main().
 */
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>

#include "c3c_test.h"
#include "kselftest_harness.h"
#include "rawsys.h"

#define SUID_COPY "/tmp/c3c-suid-spawn"

static bool use_ioctl;

static pid_t spawn(struct clone_args *a, size_t size)
{
	return use_ioctl ? c3c_spawn(a, size) : sys_clone3(a, size);
}

static pid_t spawn_flags(uint64_t flags, int *pidfd, int exit_signal)
{
	struct clone_args a = {
		.flags = flags,
		.pidfd = (uintptr_t)pidfd,
		.exit_signal = exit_signal,
	};

	return spawn(&a, sizeof(a));
}

/* Exec this binary in a helper mode: never returns. */
static void reexec(const char *mode)
{
	execl("/proc/self/exe", "spawn", mode, (char *)NULL);
	_exit(127);
}

/* The exit status of an autoreaped child, through its pidfd. */
static int exit_code_of(int pidfd)
{
	struct clone3_compat_pidfd_info info;

	if (c3c_get_info(pidfd, &info, CLONE3_COMPAT_PIDFD_INFO_EXIT))
		return -errno;
	if (!(info.mask & CLONE3_COMPAT_PIDFD_INFO_EXIT))
		return -1000;
	return info.exit_code;
}

FIXTURE(spawn) {
	int pidfd;
};

FIXTURE_VARIANT(spawn) {
	bool ioctl;
};

/* The device's CLONE3 ioctl exists only where the module is loaded. */
FIXTURE_VARIANT_ADD(spawn, module_only_ioctl) {
	.ioctl = true,
};

FIXTURE_VARIANT_ADD(spawn, clone3) {
	.ioctl = false,
};

FIXTURE_SETUP(spawn)
{
	use_ioctl = variant->ioctl;
	/* The clone3 variant is a 7.1 program: the 7.1 UAPI only. */
	c3c_upstream_api = !variant->ioctl;
	self->pidfd = -1;
}

FIXTURE_TEARDOWN(spawn)
{
	if (self->pidfd >= 0)
		close(self->pidfd);
}

TEST_F(spawn, rules_einval)
{
	const struct {
		uint64_t flags;
		int sig;
	} bad[] = {
		{ CLONE_AUTOREAP | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0 },
		{ CLONE_AUTOREAP | CLONE_PARENT, 0 },
		{ CLONE_AUTOREAP, SIGCHLD },
		{ CLONE_AUTOREAP | CLONE_PIDFD, SIGUSR1 },
		{ CLONE_NNP | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0 },
		{ 1ULL << 38, 0 },
		{ 1ULL << 63, 0 },
		/* AUTOKILL: EINVAL rules come before the EPERM one */
		{ CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP, 0 },
		{ CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP | CLONE_NNP, 0 },
		{ CLONE_PIDFD_AUTOKILL | CLONE_PIDFD, 0 },
		{ CLONE_PIDFD_AUTOKILL | CLONE_PIDFD | CLONE_NNP, 0 },
		{ CLONE_PIDFD_AUTOKILL | CLONE_PIDFD | CLONE_AUTOREAP | CLONE_NNP |
		  CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0 },
		{ CLONE_PIDFD_AUTOKILL | CLONE_PIDFD | CLONE_AUTOREAP |
		  CLONE_NEWNS | CLONE_FS, 0 },
		{ CLONE_PIDFD_AUTOKILL | CLONE_PIDFD | CLONE_AUTOREAP |
		  CLONE_SIGHAND, 0 },
	};
	int pidfd = -1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(spawn_flags(bad[i].flags, &pidfd, bad[i].sig), -1)
			TH_LOG("case %zu", i);
		EXPECT_EQ(errno, EINVAL) TH_LOG("case %zu flags %#llx", i,
						(unsigned long long)bad[i].flags);
	}
	EXPECT_EQ(pidfd, -1);
}

TEST_F(spawn, pidfd_and_parent_settid_same_address_einval)
{
	int slot = -1;
	struct clone_args a = {
		.flags = CLONE_PIDFD | CLONE_PARENT_SETTID | CLONE_AUTOREAP,
		.pidfd = (uintptr_t)&slot,
		.parent_tid = (uintptr_t)&slot,
	};

	errno = 0;
	EXPECT_EQ(spawn(&a, sizeof(a)), -1);
	EXPECT_EQ(errno, EINVAL);
}

/*
 * Bit 37 is CLONE_EMPTY_MNTNS where the kernel has it (Linux 7.1.13 and
 * later): a child in a new, empty mount namespace, which needs
 * CAP_SYS_ADMIN (EPERM for a user). Where the kernel lacks it, EINVAL; the
 * module never accepts it, through either path.
 */
TEST_F(spawn, bit37_empty_mntns_where_known_else_einval)
{
	bool known = !use_ioctl && c3c_kernel_has_empty_mntns();

	for (int i = 0; i < 2; i++) {
		uint64_t fl = (1ULL << 37) | (i ? CLONE_AUTOREAP : 0);
		int status, pidfd = -1;
		pid_t pid;

		errno = 0;
		pid = spawn_flags(fl, &pidfd, i ? 0 : SIGCHLD);
		if (pid == 0)
			_exit(3);
		if (!known) {
			EXPECT_EQ(pid, -1) TH_LOG("flags %#llx", (unsigned long long)fl);
			EXPECT_EQ(errno, EINVAL);
		} else if (geteuid() != 0) {
			EXPECT_EQ(pid, -1) TH_LOG("flags %#llx", (unsigned long long)fl);
			EXPECT_EQ(errno, EPERM);
		} else if (!i) {
			ASSERT_GT(pid, 0) TH_LOG("CLONE_EMPTY_MNTNS: %s", strerror(errno));
			ASSERT_EQ(waitpid(pid, &status, 0), pid);
			EXPECT_EQ(status, 3 << 8);
		} else {
			ASSERT_GT(pid, 0) TH_LOG("CLONE_EMPTY_MNTNS|AUTOREAP: %s", strerror(errno));
			EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
		}
	}
	EXPECT_TRUE(c3c_no_waitable_child());
}

TEST_F(spawn, autokill_without_nnp_needs_cap_sys_admin)
{
	pid_t pid = spawn_flags(CLONE_PIDFD_AUTOKILL | CLONE_PIDFD |
				CLONE_AUTOREAP, &self->pidfd, 0);

	if (pid == 0) {
		pause();
		_exit(0);
	}
	if (geteuid() == 0) {
		ASSERT_GT(pid, 0);
		close(self->pidfd);	/* autokill */
		self->pidfd = -1;
		EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
	} else {
		EXPECT_EQ(pid, -1);
		EXPECT_EQ(errno, EPERM);
	}
}

TEST_F(spawn, args_size_rules)
{
	long page = sysconf(_SC_PAGESIZE);
	char *buf = calloc(1, page + 64);
	struct clone_args *a = (struct clone_args *)buf;
	pid_t pid;

	ASSERT_NE(buf, NULL);
	a->flags = CLONE_AUTOREAP;
	errno = 0;
	EXPECT_EQ(spawn(a, 0), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(spawn(a, CLONE_ARGS_SIZE_VER0 - 1), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(spawn(a, page + 1), -1);
	EXPECT_EQ(errno, E2BIG);
	buf[100] = 1;
	EXPECT_EQ(spawn(a, 128), -1);
	EXPECT_EQ(errno, E2BIG);
	EXPECT_EQ(spawn(NULL, sizeof(*a)), -1);
	EXPECT_EQ(errno, EFAULT);
	/* set_tid is copied in before any flag is looked at */
	buf[100] = 0;
	a->flags = 1ULL << 40;
	a->set_tid = 8;
	a->set_tid_size = 1;
	EXPECT_EQ(spawn(a, sizeof(*a)), -1);
	EXPECT_EQ(errno, EFAULT);

	/* Every published size works, and a larger one with a zero tail. */
	const size_t sizes[] = { CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1,
				 CLONE_ARGS_SIZE_VER2, 128 };
	for (int i = 0; i < 4; i++) {
		memset(buf, 0, page);
		a->flags = CLONE_AUTOREAP | CLONE_PIDFD;
		a->pidfd = (uintptr_t)&self->pidfd;
		pid = spawn(a, sizes[i]);
		if (pid == 0)
			_exit(i);
		ASSERT_GT(pid, 0);
		ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
		EXPECT_EQ(exit_code_of(self->pidfd), i << 8);
		close(self->pidfd);
		self->pidfd = -1;
	}
	free(buf);
}

TEST_F(spawn, nnp_child_only)
{
	int status;
	pid_t pid;

	ASSERT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
	/* NNP alone: any exit_signal, an ordinary waitable child */
	pid = spawn_flags(CLONE_NNP, NULL, SIGCHLD);
	if (pid == 0)
		_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);

	/* and a child without it does not get it */
	pid = spawn_flags(0, NULL, SIGCHLD);
	if (pid == 0)
		_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(WEXITSTATUS(status), 0);

	/* with AUTOREAP, and inherited by the child's own children */
	pid = spawn_flags(CLONE_NNP | CLONE_AUTOREAP | CLONE_PIDFD,
			  &self->pidfd, 0);
	if (pid == 0) {
		pid_t g = fork();

		if (g == 0)
			_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
		if (g < 0 || waitpid(g, &status, 0) != g || status)
			_exit(2);
		_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
	}
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(exit_code_of(self->pidfd), 0);
}

/* Exit status of a child that, as uid 1000, execs the setuid-root copy. */
static int run_suid_copy(uint64_t flags)
{
	int status;
	pid_t helper = fork();

	if (helper == 0) {
		pid_t pid;

		if (geteuid() == 0 &&
		    (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)))
			_exit(90);
		pid = spawn_flags(flags, NULL, SIGCHLD);
		if (pid == 0) {
			execl(SUID_COPY, "spawn", "--print-euid", (char *)NULL);
			_exit(91);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status))
			_exit(92);
		_exit(WEXITSTATUS(status));
	}
	if (helper < 0 || waitpid(helper, &status, 0) != helper)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(spawn, nnp_setuid_exec_gains_nothing)
{
	if (geteuid() == 0) {
		/* The uid-1000 run of this file uses the copy made here. */
		char cmd[128];

		snprintf(cmd, sizeof(cmd),
			 "cp /proc/%d/exe %s && chown 0:0 %s && chmod 04755 %s",
			 getpid(), SUID_COPY, SUID_COPY, SUID_COPY);
		ASSERT_EQ(system(cmd), 0);
	}
	ASSERT_EQ(access(SUID_COPY, X_OK), 0);
	/* Control: without NNP the setuid bit works (euid 0 => 10). */
	EXPECT_EQ(run_suid_copy(0), 10);
	EXPECT_EQ(run_suid_copy(CLONE_NNP), 11);
}

TEST_F(spawn, autoreap_exit_no_zombie)
{
	siginfo_t si;
	pid_t pid;

	pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &self->pidfd, 0);
	if (pid == 0)
		_exit(42);
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(exit_code_of(self->pidfd), 42 << 8);
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
	EXPECT_TRUE(c3c_no_waitable_child());
	errno = 0;
	EXPECT_EQ(waitid(P_PIDFD, self->pidfd, &si, WEXITED | __WALL), -1);
	EXPECT_EQ(errno, ECHILD);
	/* the status stays readable while the pidfd is open */
	EXPECT_EQ(exit_code_of(self->pidfd), 42 << 8);
}

TEST_F(spawn, autoreap_killed_status)
{
	pid_t pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &self->pidfd, 0);

	if (pid == 0) {
		pause();
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	ASSERT_EQ(sys_pidfd_send_signal(self->pidfd, SIGKILL), 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(exit_code_of(self->pidfd), SIGKILL);
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
}

TEST_F(spawn, autoreap_sends_no_signal)
{
	sigset_t set, pending;
	pid_t pid;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &self->pidfd, 0);
	if (pid == 0)
		_exit(0);
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
	ASSERT_EQ(sigpending(&pending), 0);
	EXPECT_FALSE(sigismember(&pending, SIGCHLD));
}

TEST_F(spawn, autoreap_without_pidfd)
{
	int go[2], pidfd;
	pid_t pid;
	char c;

	ASSERT_EQ(pipe(go), 0);
	pid = spawn_flags(CLONE_AUTOREAP, NULL, 0);
	if (pid == 0) {
		close(go[1]);
		_exit(read(go[0], &c, 1) == 0 ? 5 : 6);
	}
	ASSERT_GT(pid, 0);
	close(go[0]);
	pidfd = sys_pidfd_open(pid, 0);
	ASSERT_GE(pidfd, 0);
	close(go[1]);
	ASSERT_TRUE(c3c_wait_pidfd(pidfd, 5000));
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
	/* a pidfd_open() pidfd taken before death reads the status too */
	EXPECT_EQ(exit_code_of(pidfd), 5 << 8);
	EXPECT_TRUE(c3c_no_waitable_child());
	close(pidfd);
}

static void *exit_later(void *arg)
{
	(void)arg;
	usleep(100000);
	return NULL;
}

TEST_F(spawn, autoreap_wakes_blocked_waiter_with_echild)
{
	pthread_t t;
	siginfo_t si;
	pid_t pid;

	pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &self->pidfd, 0);
	if (pid == 0) {
		usleep(300000);
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	ASSERT_EQ(pthread_create(&t, NULL, exit_later, NULL), 0);
	alarm(10);
	errno = 0;
	/* __WALL sees the live clone child, then must not hang after it */
	EXPECT_EQ(waitid(P_ALL, 0, &si, WEXITED | __WALL), -1);
	EXPECT_EQ(errno, ECHILD);
	alarm(0);
	pthread_join(t, NULL);
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
}

TEST_F(spawn, autoreap_survives_reparenting)
{
	int info[2], go[2], pidfd, status;
	sigset_t set;
	pid_t mid, pid = 0;
	siginfo_t si;

	ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	ASSERT_EQ(pipe(info), 0);
	ASSERT_EQ(pipe(go), 0);
	mid = fork();
	if (mid == 0) {
		pid_t c = spawn_flags(CLONE_AUTOREAP, NULL, 0);
		char ch;

		if (c == 0)
			_exit(read(go[0], &ch, 1) == 1 ? 7 : 8);
		write(info[1], &c, sizeof(c));
		_exit(0);	/* the autoreap child is orphaned */
	}
	ASSERT_GT(mid, 0);
	ASSERT_EQ(read(info[0], &pid, sizeof(pid)), sizeof(pid));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(waitpid(mid, &status, 0), mid);
	/* consume mid's SIGCHLD */
	struct timespec zero = { 0, 0 };

	sigtimedwait(&set, &si, &zero);
	pidfd = sys_pidfd_open(pid, 0);
	ASSERT_GE(pidfd, 0);
	/* we, the subreaper, are its parent now */
	EXPECT_EQ(procfs_state(pid) != 0, true);
	ASSERT_EQ(write(go[1], "x", 1), 1);
	ASSERT_TRUE(c3c_wait_pidfd(pidfd, 5000));
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
	EXPECT_EQ(exit_code_of(pidfd), 7 << 8);
	EXPECT_TRUE(c3c_no_waitable_child());
	EXPECT_EQ(sigtimedwait(&set, &si, &zero), -1);
	close(pidfd);
}

TEST_F(spawn, autoreap_not_inherited)
{
	pid_t pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &self->pidfd, 0);

	if (pid == 0) {
		int status;
		pid_t g = fork();

		if (g == 0)
			_exit(5);
		if (g < 0)
			_exit(1);
		/* an ordinary child: a zombie until we wait for it */
		siginfo_t si = { 0 };

		if (waitid(P_PID, g, &si, WEXITED | WNOWAIT) ||
		    procfs_state(g) != 'Z')
			_exit(2);
		if (waitpid(g, &status, 0) != g || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 5)
			_exit(3);
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(exit_code_of(self->pidfd), 0);
}

TEST_F(spawn, autoreap_survives_exec)
{
	pid_t pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &self->pidfd, 0);

	if (pid == 0) {
		execl("/bin/busybox", "sh", "-c", "exit 7", (char *)NULL);
		_exit(1);
	}
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(exit_code_of(self->pidfd), 7 << 8);
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
	EXPECT_TRUE(c3c_no_waitable_child());
}

TEST_F(spawn, autoreap_multithreaded_leader_exits_first)
{
	pid_t pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &self->pidfd, 0);

	if (pid == 0)
		reexec("--leader-exits-first");
	ASSERT_GT(pid, 0);
	/* the leader is gone first; the group lives on */
	usleep(100000);
	EXPECT_FALSE(c3c_wait_pidfd(self->pidfd, 0));
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
	EXPECT_TRUE(c3c_no_waitable_child());
	EXPECT_GE(exit_code_of(self->pidfd), 0);
}

/* A tracer that is not the parent: sees the exit, then reaps or detaches. */
static void ptrace_case(struct __test_metadata *_metadata, int *pidfd,
			bool detach)
{
	int ready[2], go[2], status;
	pid_t pid, tracer;
	char c;

	ASSERT_EQ(pipe(ready), 0);
	ASSERT_EQ(pipe(go), 0);
	pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, pidfd, 0);
	if (pid == 0) {
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		write(ready[1], "r", 1);
		_exit(read(go[0], &c, 1) == 1 ? 9 : 10);
	}
	ASSERT_GT(pid, 0);
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	tracer = fork();
	if (tracer == 0) {
		siginfo_t si = { 0 };

		if (ptrace(PTRACE_SEIZE, pid, 0, 0))
			_exit(20);
		write(ready[1], "a", 1);
		if (detach) {
			/* see the exit without reaping, then go away */
			if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT | __WALL))
				_exit(21);
			_exit(si.si_code == CLD_EXITED && si.si_status == 9 ? 0 : 22);
		}
		if (waitpid(pid, &status, __WALL) != pid)
			_exit(23);
		_exit(WIFEXITED(status) && WEXITSTATUS(status) == 9 ? 0 : 24);
	}
	ASSERT_GT(tracer, 0);
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	ASSERT_EQ(waitpid(tracer, &status, 0), tracer);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	ASSERT_TRUE(c3c_wait_pidfd(*pidfd, 5000));
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
	EXPECT_EQ(exit_code_of(*pidfd), 9 << 8);
	EXPECT_TRUE(c3c_no_waitable_child());
}

TEST_F(spawn, autoreap_under_ptrace_tracer_reaps)
{
	ptrace_case(_metadata, &self->pidfd, false);
}

TEST_F(spawn, autoreap_under_ptrace_tracer_detaches)
{
	ptrace_case(_metadata, &self->pidfd, true);
}

TEST_F(spawn, autoreap_process_may_not_use_clone_parent)
{
	pid_t pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &self->pidfd, 0);

	if (pid == 0)
		reexec(use_ioctl ? "--parent-rules" : "--parent-rules-syscalls");
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 10000));
	EXPECT_EQ(exit_code_of(self->pidfd), 0);
}

TEST_F(spawn, clone_parent_still_works_for_others)
{
	int status;
	pid_t helper = fork();
	siginfo_t si;

	if (helper == 0) {
		pid_t s = spawn_flags(CLONE_PARENT, NULL, 0);

		if (s == 0)
			_exit(4);
		_exit(s > 0 ? 0 : 1);
	}
	ASSERT_GT(helper, 0);
	ASSERT_EQ(waitpid(helper, &status, 0), helper);
	EXPECT_EQ(status, 0);
	/* the sibling is our clone child now: exit_signal 0, __WALL */
	memset(&si, 0, sizeof(si));
	ASSERT_EQ(waitid(P_ALL, 0, &si, WEXITED | __WALL), 0);
	EXPECT_EQ(si.si_status, 4);
}

TEST_F(spawn, vfork_autoreap)
{
	pid_t pid = spawn_flags(CLONE_VFORK | CLONE_AUTOREAP | CLONE_PIDFD,
				&self->pidfd, 0);

	if (pid == 0)
		_exit(3);
	ASSERT_GT(pid, 0);
	/* the parent resumed after the child was gone */
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(exit_code_of(self->pidfd), 3 << 8);
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
}

/*
 * Run on args.stack: the child checks its stack pointer and exits at once,
 * in assembly (rawsys.h), since C code after the syscall would use the
 * parent's frame.
 */
static pid_t clone_on_stack(struct clone_args *a, char *lo, char *hi)
{
	struct clone3_compat_clone3 req = {
		.size = sizeof(req), .args = (uintptr_t)a,
		.args_size = sizeof(*a),
	};
	long ret;
	int fd = -1;

	if (use_ioctl) {
		fd = c3c_dev();
		ret = raw_syscall3_child_checks_sp(__NR_ioctl, fd,
						   CLONE3_COMPAT_IOC_CLONE3,
						   (long)&req, lo, hi);
	} else {
		ret = raw_syscall3_child_checks_sp(__NR_clone3, (long)a,
						   sizeof(*a), 0, lo, hi);
	}
	if (fd >= 0)
		close(fd);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

TEST_F(spawn, child_runs_on_given_stack)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	struct clone_args a = {
		.flags = CLONE_AUTOREAP | CLONE_PIDFD,
		.pidfd = (uintptr_t)&self->pidfd,
		.stack = (uintptr_t)stack,
		.stack_size = sizeof(stack),
	};
	pid_t pid = clone_on_stack(&a, stack, stack + sizeof(stack));

	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(exit_code_of(self->pidfd), 42 << 8);

	/* a stack without a size (and the reverse) is EINVAL, as clone3 */
	a.stack_size = 0;
	errno = 0;
	EXPECT_EQ(spawn(&a, sizeof(a)), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST_F(spawn, namespaces_and_set_tid)
{
	int status;
	pid_t pid;
	struct clone_args a = {
		.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS,
		.exit_signal = SIGCHLD,
	};

	if (geteuid() != 0)
		a.flags |= CLONE_NEWUSER;
	pid = spawn(&a, sizeof(a));
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : 1);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);

	/* set_tid: needs CAP_SYS_ADMIN over the pid namespace */
	pid_t want = 31337;
	struct clone_args b = {
		.flags = CLONE_AUTOREAP | CLONE_PIDFD | CLONE_NNP,
		.pidfd = (uintptr_t)&self->pidfd,
		.set_tid = (uintptr_t)&want,
		.set_tid_size = 1,
	};
	pid = spawn(&b, sizeof(b));
	if (pid == 0)
		_exit(getpid() == want ? 0 : 1);
	if (geteuid() == 0) {
		ASSERT_EQ(pid, want);
		ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
		EXPECT_EQ(exit_code_of(self->pidfd), 0);
	} else {
		EXPECT_EQ(pid, -1);
		EXPECT_EQ(errno, EPERM);
	}
}

static void on_usr1(int sig)
{
	(void)sig;
}

TEST_F(spawn, clear_sighand_and_into_cgroup)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int status;
	pid_t pid;

	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	pid = spawn_flags(CLONE_CLEAR_SIGHAND | CLONE_NNP, NULL, SIGCHLD);
	if (pid == 0) {
		struct sigaction cur;

		sigaction(SIGUSR1, NULL, &cur);
		_exit(cur.sa_handler == SIG_DFL ? 0 : 1);
	}
	ASSERT_GT(pid, 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);

	if (geteuid() != 0)
		return;	/* cgroup setup needs root; the rest ran for both */
	mkdir("/sys/fs/cgroup", 0755);
	if (mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL) && errno != EBUSY)
		ASSERT_EQ(errno, 0);
	mkdir("/sys/fs/cgroup/c3c-test", 0755);
	int cg = open("/sys/fs/cgroup/c3c-test", O_DIRECTORY | O_RDONLY);

	ASSERT_GE(cg, 0);
	struct clone_args a = {
		.flags = CLONE_INTO_CGROUP | CLONE_AUTOREAP | CLONE_PIDFD,
		.pidfd = (uintptr_t)&self->pidfd,
		.cgroup = cg,
	};
	pid = spawn(&a, sizeof(a));
	if (pid == 0) {
		char buf[256] = "";
		int fd = open("/proc/self/cgroup", O_RDONLY);

		read(fd, buf, sizeof(buf) - 1);
		_exit(strstr(buf, "c3c-test") ? 0 : 1);
	}
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	EXPECT_EQ(exit_code_of(self->pidfd), 0);
	close(cg);
}

TEST_F(spawn, ordinary_child_exit_status_after_reap)
{
	struct clone3_compat_pidfd_info info;
	int status, ofd, go[2];
	pid_t pid;
	char c;

	ASSERT_EQ(pipe(go), 0);
	pid = spawn_flags(CLONE_PIDFD, &self->pidfd, SIGCHLD);
	if (pid == 0) {
		close(go[1]);
		_exit(read(go[0], &c, 1) == 0 ? 6 : 7);
	}
	ASSERT_GT(pid, 0);
	close(go[0]);
	ofd = sys_pidfd_open(pid, 0);
	ASSERT_GE(ofd, 0);
	close(go[1]);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	/* a zombie: 7.1 reports the exit status only once it is reaped */
	ASSERT_EQ(c3c_get_info(self->pidfd, &info, CLONE3_COMPAT_PIDFD_INFO_EXIT), 0);
	EXPECT_FALSE(info.mask & CLONE3_COMPAT_PIDFD_INFO_EXIT);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 6 << 8);
	EXPECT_EQ(exit_code_of(self->pidfd), 6 << 8);
	EXPECT_EQ(exit_code_of(ofd), 6 << 8);
	/* without the EXIT bit a reaped process is ESRCH */
	errno = 0;
	EXPECT_EQ(c3c_get_info(ofd, &info, CLONE3_COMPAT_PIDFD_INFO_PID), -1);
	EXPECT_EQ(errno, ESRCH);
	close(ofd);
}

/*
 * Regression (found on a debug kernel): the query raced release_task()
 * and answered ESRCH for a dead child whose status it had. Once poll says
 * dead, the status must be there, every time. The module's guarantee:
 * native 7.1 may wake the poller before it stores the status.
 */
TEST_F(spawn, module_only_exit_status_right_after_poll)
{
	for (int i = 0; i < 200; i++) {
		int pidfd = -1;
		pid_t pid = spawn_flags(CLONE_AUTOREAP | CLONE_PIDFD, &pidfd, 0);

		if (pid == 0)
			_exit(i & 0x7f);
		ASSERT_GT(pid, 0);
		ASSERT_TRUE(c3c_wait_pidfd(pidfd, 5000));
		ASSERT_EQ(exit_code_of(pidfd), (i & 0x7f) << 8) TH_LOG("round %d", i);
		close(pidfd);
	}
}

TEST(zz_module_only_state_drained)
{
	/* Everything above is gone: the module holds nothing any more. */
	ASSERT_TRUE(c3c_module_loaded());
	EXPECT_TRUE(c3c_state_drained(5000));
}

/* Helper modes, run in children through reexec(). */

static void *late_exit(void *arg)
{
	(void)arg;
	usleep(300000);
	syscall(SYS_exit, 0);
	return NULL;
}

static int leader_exits_first(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, late_exit, NULL))
		return 1;
	syscall(SYS_exit, 0);	/* only the leader thread */
	return 1;
}

/*
 * 7.1: an autoreap process may not use CLONE_PARENT, by any clone path
 * (the device's too, where it exists: @device).
 */
static int parent_rules(bool device)
{
	struct clone_args a = { .flags = CLONE_PARENT };
	pthread_t t;
	int status;
	pid_t pid;

	use_ioctl = true;
	if (device && (spawn(&a, sizeof(a)) != -1 || errno != EINVAL))
		return 1;
	use_ioctl = false;
	if (spawn(&a, sizeof(a)) != -1 || errno != EINVAL)
		return 2;
	pid = syscall(SYS_clone, CLONE_PARENT, 0, NULL, NULL, 0);
	if (pid == 0)
		_exit(0);
	if (pid != -1 || errno != EINVAL)
		return 3;
	/* threads and ordinary children stay allowed */
	if (pthread_create(&t, NULL, exit_later, NULL) || pthread_join(t, NULL))
		return 4;
	pid = fork();
	if (pid == 0)
		_exit(6);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || WEXITSTATUS(status) != 6)
		return 5;
	return 0;
}

/*
 * The transparent hook peeks at clone_args.flags and leaves a clone3()
 * without a 7.1 flag to the kernel, which copies them again. A thread
 * flipping AUTOREAP in and out during the calls may only ever get a child
 * that is either an ordinary one (waitable) or an autoreaped one, or
 * EINVAL from the stock kernel: no zombie, nothing left tracked.
 */
static struct clone_args flip_args = { .exit_signal = SIGCHLD };
static volatile int flip_stop;

static void *flip_flags(void *unused __attribute__((unused)))
{
	/*
	 * Each of the four states, for a time slice or a moment; on another
	 * CPU than the caller's, where there is one, so that the flags change
	 * while the kernel copies and checks them, not only between calls.
	 */
	c3c_pin(1);
	for (unsigned int i = 0; !flip_stop; i++) {
		__atomic_store_n(&flip_args.flags, CLONE_AUTOREAP,
				 __ATOMIC_RELAXED);
		if (i % 2)
			sched_yield();
		__atomic_store_n(&flip_args.exit_signal, 0, __ATOMIC_RELAXED);
		if (i % 3)
			sched_yield();
		__atomic_store_n(&flip_args.flags, 0, __ATOMIC_RELAXED);
		if (i % 5)
			sched_yield();
		__atomic_store_n(&flip_args.exit_signal, SIGCHLD,
				 __ATOMIC_RELAXED);
		sched_yield();
	}
	return NULL;
}

TEST(flags_flipped_during_clone3)
{
	int ok = 0, einval = 0;
	struct timespec t0, now;
	pthread_t t;

	ASSERT_EQ(0, c3c_pin(0));
	ASSERT_EQ(0, pthread_create(&t, NULL, flip_flags, NULL));
	ASSERT_EQ(0, clock_gettime(CLOCK_MONOTONIC, &t0));
	/* 2000 calls, or 10 s on a slow (debug) kernel */
	for (int i = 0; i < 2000; i++) {
		pid_t pid;

		if (i % 50 == 0 && clock_gettime(CLOCK_MONOTONIC, &now) == 0 &&
		    now.tv_sec - t0.tv_sec >= 10)
			break;
		pid = syscall(SYS_clone3, &flip_args, sizeof(flip_args));

		if (pid == 0)
			_exit(0);
		if (i % 2)
			sched_yield();
		if (pid > 0) {
			ok++;
		} else {
			EXPECT_EQ(errno, EINVAL);
			einval++;
		}
	}
	flip_stop = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	/* Reap the ordinary ones (some with exit_signal 0: __WALL). */
	while (waitpid(-1, NULL, __WALL) > 0)
		;
	EXPECT_EQ(errno, ECHILD);
	EXPECT_GT(ok, 0);
	EXPECT_GT(einval, 0) TH_LOG("the flags never changed under a call");
	TH_LOG("%d children, %d EINVAL", ok, einval);
	EXPECT_TRUE(c3c_no_waitable_child());
	EXPECT_TRUE(c3c_state_drained(5000));
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--print-euid"))
		return geteuid() == 0 ? 10 : 11;
	if (argc == 2 && !strcmp(argv[1], "--leader-exits-first"))
		return leader_exits_first();
	if (argc == 2 && !strcmp(argv[1], "--parent-rules"))
		return parent_rules(true);
	if (argc == 2 && !strcmp(argv[1], "--parent-rules-syscalls"))
		return parent_rules(false);
	return test_harness_run(argc, argv);
}
