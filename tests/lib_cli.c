// SPDX-License-Identifier: GPL-2.0
/*
 * libclone3compat and clone3-run, in the three situations they must tell
 * apart: the module loaded (transparent mode, and the ioctl path with
 * transparent=N), no module on a kernel before 7.1 (every 7.1 flag is a
 * clear ENOSYS, never dropped; the CLI exits 125 saying why), and a 7.1
 * kernel (native). scripts/check runs this file with and without the
 * module; each test checks what its situation promises, none is skipped.
 *
 * The CLI is the static clone3-run next to this binary (/test/bin in the
 * guest). The setuid checks use a setuid-root copy of this binary that the
 * root run makes (vm-tests.list runs root before uid 1000), as spawn.c.
 */
#include <clone3_compat.h>
#include <dirent.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <sys/utsname.h>

#include "c3c_test.h"
#include "kselftest_harness.h"

#define SUID_COPY	"/tmp/c3c-suid-libcli"
#define OUT_MAX		8192

enum env { ENV_NONE, ENV_MODULE, ENV_NATIVE };

static bool kernel_at_least(int want_maj, int want_min)
{
	struct utsname u;
	int maj = 0, min = 0;

	uname(&u);
	sscanf(u.release, "%d.%d", &maj, &min);
	return maj > want_maj || (maj == want_maj && min >= want_min);
}

static enum env env(void)
{
	if (access(CLONE3_COMPAT_DEVICE, F_OK) == 0)
		return ENV_MODULE;
	return kernel_at_least(7, 1) ? ENV_NATIVE : ENV_NONE;
}

/* How exit statuses are read without the module: PIDFD_GET_INFO (6.13) */
static int exit_mode_without_module(void)
{
	return kernel_at_least(6, 13) ? CLONE3_COMPAT_MODE_NATIVE :
	       CLONE3_COMPAT_MODE_UNAVAILABLE;
}

static bool available(void)
{
	return env() != ENV_NONE;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char transparent_param(void)
{
	char c = 0;
	int fd = open("/sys/module/clone3_compat/parameters/transparent",
		      O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 0;
		close(fd);
	}
	return c;
}

static bool set_transparent(char c)
{
	int fd = open("/sys/module/clone3_compat/parameters/transparent",
		      O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, &c, 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok;
}

static const char *cli_path(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return "clone3-run";
	self[n] = 0;
	snprintf(path, sizeof(path), "%s/clone3-run", dirname(self));
	return path;
}

/* Become uid/gid 1000 if root: for what only an unprivileged caller sees. */
static void drop_to_user(void)
{
	if (geteuid() == 0 &&
	    (setgroups(0, NULL) || setresgid(1000, 1000, 1000) ||
	     setresuid(1000, 1000, 1000)))
		_exit(90);
}

/*
 * Start clone3-run with the NULL-terminated @args; its stdout and stderr
 * go to the pipe returned in *outfd. @user: as uid 1000.
 */
static pid_t cli_start(int *outfd, bool user, const char *const *args)
{
	const char *argv[32] = { "clone3-run" };
	int p[2], i;
	pid_t pid;

	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (user)
			drop_to_user();
		execv(cli_path(), (char **)argv);
		_exit(99);
	}
	close(p[1]);
	*outfd = p[0];
	return pid;
}

/* Read until EOF or @ms pass; the output is NUL-terminated. */
static void read_all(int fd, char *out, size_t n, int ms)
{
	size_t got = 0;

	while (got < n - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, ms) != 1)
			break;
		r = read(fd, out + got, n - 1 - got);
		if (r <= 0)
			break;
		got += r;
	}
	out[got] = 0;
}

/* The shell's view of a wait status; -1000 if it is neither. */
static int shell_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return -1000;
}

/* Run clone3-run to completion: its exit status, output in @out. */
static int cli_run(char *out, bool user, const char *const *args)
{
	int fd, ws;
	pid_t pid = cli_start(&fd, user, args);

	if (pid < 0)
		return -1;
	read_all(fd, out, OUT_MAX, 20000);
	close(fd);
	if (waitpid(pid, &ws, 0) != pid)
		return -1;
	/* The CLI itself must never die of a signal here. */
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : -WTERMSIG(ws);
}

#define CLI(out, ...) \
	cli_run(out, false, (const char *const[]){ __VA_ARGS__, NULL })

/*
 * ENOSYS with a message that names the flag and the missing module; @err
 * is the errno saved right after the call (env() changes errno).
 */
#define EXPECT_CLEAR_ENOSYS(ret, err, flagname) do {			\
	EXPECT_EQ(ret, -1);						\
	EXPECT_EQ(err, ENOSYS);						\
	EXPECT_NE(strstr(clone3_compat_errmsg(), flagname), NULL)	\
		TH_LOG("errmsg: %s", clone3_compat_errmsg());		\
	EXPECT_NE(strstr(clone3_compat_errmsg(),			\
			 "module is not loaded"), NULL)			\
		TH_LOG("errmsg: %s", clone3_compat_errmsg());		\
} while (0)

TEST(mode_matches_the_system)
{
	int mode = clone3_compat_mode();
	const char *why = clone3_compat_mode_reason();

	TH_LOG("%s: %s", clone3_compat_mode_name(mode), why);
	switch (env()) {
	case ENV_MODULE: {
		struct clone3_compat_features f;

		ASSERT_EQ(c3c_features(&f), 0);
		EXPECT_EQ(mode, transparent_param() == 'N' ?
			  CLONE3_COMPAT_MODE_IOCTL :
			  CLONE3_COMPAT_MODE_TRANSPARENT);
		EXPECT_EQ(clone3_compat_flags(),
			  f.clone_flags & CLONE3_COMPAT_NEW_FLAGS);
		EXPECT_EQ(clone3_compat_flags(), CLONE3_COMPAT_NEW_FLAGS);
		EXPECT_NE(strstr(why, "clone3-compat module"), NULL);
		/* Debian 6.1 and 6.12 have no PIDFD_GET_INFO of their own */
		EXPECT_EQ(clone3_compat_exit_mode(),
			  f.mechanisms & CLONE3_COMPAT_MECH_PIDFD_INFO ?
			  CLONE3_COMPAT_MODE_TRANSPARENT :
			  CLONE3_COMPAT_MODE_IOCTL);
		break;
	}
	case ENV_NONE:
		EXPECT_EQ(mode, CLONE3_COMPAT_MODE_UNAVAILABLE);
		EXPECT_EQ(clone3_compat_flags(), 0);
		EXPECT_NE(strstr(why, "module is not loaded"), NULL);
		EXPECT_NE(strstr(why, CLONE3_COMPAT_DEVICE), NULL);
		EXPECT_NE(strstr(why, "modprobe clone3_compat"), NULL);
		EXPECT_EQ(clone3_compat_exit_mode(),
			  exit_mode_without_module());
		break;
	case ENV_NATIVE:
		EXPECT_EQ(mode, CLONE3_COMPAT_MODE_NATIVE);
		EXPECT_EQ(clone3_compat_flags(), CLONE3_COMPAT_NEW_FLAGS);
		EXPECT_EQ(clone3_compat_exit_mode(), CLONE3_COMPAT_MODE_NATIVE);
		break;
	}
	EXPECT_STREQ(clone3_compat_mode_name(CLONE3_COMPAT_MODE_IOCTL),
		     "module: ioctl");
	/* The probe leaves no child behind, not even a zombie. */
	EXPECT_TRUE(c3c_no_waitable_child());
}

/* A small /proc file as a string; false if it cannot be read. */
static bool read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return true;
}

/* The newest pid of the system (the last field of /proc/loadavg). */
static long last_pid(void)
{
	char buf[128], *sp;

	if (!read_text("/proc/loadavg", buf, sizeof(buf)))
		return -1;
	sp = strrchr(buf, ' ');
	return sp ? strtol(sp + 1, NULL, 10) : -1;
}

/* A numeric field ("\nPPid:", "\nCapEff:") of a status file, -1 if none. */
static long long status_field(const char *path, const char *key, int base)
{
	char buf[4096], *p;

	if (!read_text(path, buf, sizeof(buf)))
		return -1;
	p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, base) : -1;
}

/* The PPid: of /proc/PID/status, -1 when the process is gone. */
static long ppid_of(long pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	return (long)status_field(path, "\nPPid:", 10);
}

/*
 * The first call decides what the system supports without creating any
 * process (a child made to ask would be seen by the caller's wait()): no
 * pid is allocated meanwhile, except by kernel threads (parent kthreadd),
 * and the calling thread's capabilities are what they were.
 */
TEST(probe_creates_no_process)
{
	const char *me = "/proc/thread-self/status";
	long long caps = status_field(me, "\nCapEff:", 16);
	long before = last_pid(), after;

	ASSERT_GT(before, 0);
	ASSERT_GE(caps, 0);
	clone3_compat_mode();	/* the first call in this test process */
	after = last_pid();
	/* A probe that lowers a capability for a moment gives it back. */
	EXPECT_EQ(status_field(me, "\nCapEff:", 16), caps);
	for (long p = before + 1; p <= after; p++) {
		long seen = p;

		EXPECT_EQ(ppid_of(seen), 2)
			TH_LOG("pid %ld appeared while the library probed", seen);
	}
	EXPECT_TRUE(c3c_no_waitable_child());
}

TEST(plain_clone3_needs_nothing)
{
	struct clone_args a = { .flags = CLONE_PIDFD, .exit_signal = SIGCHLD };
	siginfo_t si = { 0 };
	int pidfd = -1;
	pid_t pid;

	a.pidfd = (uintptr_t)&pidfd;
	pid = clone3_compat(&a, sizeof(a));
	if (pid == 0)
		_exit(5);
	ASSERT_GT(pid, 0) TH_LOG("%s", clone3_compat_errmsg());
	ASSERT_EQ(waitid(P_PIDFD, pidfd, &si, WEXITED), 0);
	EXPECT_EQ(si.si_pid, pid);
	EXPECT_EQ(si.si_status, 5);
	close(pidfd);
}

TEST(autoreap_child_or_enosys)
{
	struct clone_args a = { .flags = CLONE_AUTOREAP | CLONE_PIDFD };
	int pidfd = -1, ws = -1, err;
	pid_t pid;

	a.pidfd = (uintptr_t)&pidfd;
	pid = clone3_compat(&a, sizeof(a));
	err = errno;
	if (pid == 0)
		_exit(7);
	if (!available()) {
		EXPECT_CLEAR_ENOSYS(pid, err, "CLONE_AUTOREAP");
		EXPECT_TRUE(c3c_no_waitable_child());
		return;
	}
	ASSERT_GT(pid, 0) TH_LOG("%s", clone3_compat_errmsg());
	ASSERT_TRUE(c3c_wait_pidfd(pidfd, 5000));
	EXPECT_EQ(c3c_gone_no_zombie(pid, 2000), 0);
	EXPECT_TRUE(c3c_no_waitable_child());
	ASSERT_EQ(clone3_compat_exit_status(pidfd, &ws), 0)
		TH_LOG("%s", clone3_compat_errmsg());
	EXPECT_TRUE(WIFEXITED(ws));
	EXPECT_EQ(WEXITSTATUS(ws), 7);
	close(pidfd);
}

/* NNP and AUTOKILL either take effect or fail: never dropped. */
TEST(nnp_and_autokill_never_dropped)
{
	struct clone_args a = { .flags = CLONE_NNP, .exit_signal = SIGCHLD };
	int pidfd = -1, ws, err;
	pid_t pid;

	pid = clone3_compat(&a, sizeof(a));
	err = errno;
	if (pid == 0)
		_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
	if (available()) {
		ASSERT_GT(pid, 0) TH_LOG("%s", clone3_compat_errmsg());
		ASSERT_EQ(waitpid(pid, &ws, 0), pid);
		EXPECT_EQ(ws, 0) TH_LOG("the NNP child had no no_new_privs");
	} else {
		EXPECT_CLEAR_ENOSYS(pid, err, "CLONE_NNP");
	}

	a = (struct clone_args){
		.flags = CLONE_PIDFD | CLONE_AUTOREAP | CLONE_NNP |
			 CLONE_PIDFD_AUTOKILL,
		.pidfd = (uintptr_t)&pidfd,
	};
	pid = clone3_compat(&a, sizeof(a));
	err = errno;
	if (pid == 0) {
		close_range(3, ~0U, 0);
		for (;;)
			pause();
	}
	if (!available()) {
		EXPECT_CLEAR_ENOSYS(pid, err, "CLONE_PIDFD_AUTOKILL");
		EXPECT_TRUE(c3c_no_waitable_child());
		return;
	}
	ASSERT_GT(pid, 0) TH_LOG("%s", clone3_compat_errmsg());
	usleep(50000);
	EXPECT_NE(procfs_state(pid), 0);
	close(pidfd);	/* the last reference: SIGKILL */
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
}

TEST(rules_are_explained)
{
	static char stack[4096];
	struct clone_args a = {
		.flags = CLONE_AUTOREAP,
		.stack = (uintptr_t)stack,
		.stack_size = sizeof(stack),
	};
	int pidfd = -1, err;
	pid_t pid;

	/* A child on a fresh stack could not return into C. */
	pid = clone3_compat(&a, sizeof(a));
	err = errno;
	EXPECT_EQ(pid, -1);
	EXPECT_EQ(err, EINVAL);
	EXPECT_NE(strstr(clone3_compat_errmsg(), "stack"), NULL);
	pid = clone3_compat(&a, 32);
	err = errno;
	EXPECT_EQ(pid, -1);
	EXPECT_EQ(err, EINVAL);

	a = (struct clone_args){ .flags = CLONE_AUTOREAP,
				 .exit_signal = SIGCHLD };
	pid = clone3_compat(&a, sizeof(a));
	err = errno;
	if (pid == 0)
		_exit(0);
	if (!available()) {
		EXPECT_CLEAR_ENOSYS(pid, err, "CLONE_AUTOREAP");
		return;
	}
	EXPECT_EQ(pid, -1);
	EXPECT_EQ(err, EINVAL);
	EXPECT_NE(strstr(clone3_compat_errmsg(), "exit_signal 0"), NULL)
		TH_LOG("errmsg: %s", clone3_compat_errmsg());

	/* AUTOKILL without NNP: CAP_SYS_ADMIN or EPERM, said so. */
	pid = fork();
	if (pid == 0) {
		drop_to_user();
		a = (struct clone_args){
			.flags = CLONE_PIDFD | CLONE_AUTOREAP |
				 CLONE_PIDFD_AUTOKILL,
			.pidfd = (uintptr_t)&pidfd,
		};
		pid = clone3_compat(&a, sizeof(a));
		if (pid == 0)
			_exit(0);
		_exit(pid == -1 && errno == EPERM &&
		      strstr(clone3_compat_errmsg(), "CAP_SYS_ADMIN") ? 0 : 1);
	}
	ASSERT_GT(pid, 0);
	ASSERT_EQ(waitpid(pid, &pidfd, 0), pid);
	EXPECT_EQ(pidfd, 0) TH_LOG("no EPERM naming CAP_SYS_ADMIN as uid 1000");
}

TEST(exit_status_after_autoreap)
{
	struct clone_args a = { .flags = CLONE_AUTOREAP | CLONE_PIDFD };
	int pidfd = -1, ws = -1, efd[2], err, ret;
	pid_t pid;

	if (!available()) {
		/* A plain child: nothing can read its status here. */
		a = (struct clone_args){ .flags = CLONE_PIDFD,
					 .pidfd = (uintptr_t)&pidfd,
					 .exit_signal = SIGCHLD };
		pid = clone3_compat(&a, sizeof(a));
		if (pid == 0)
			_exit(0);
		ASSERT_GT(pid, 0);
		ASSERT_EQ(waitpid(pid, NULL, 0), pid);
		if (exit_mode_without_module() == CLONE3_COMPAT_MODE_NATIVE) {
			close(pidfd);
			return;	/* the kernel's (a host, not the matrix) */
		}
		ret = clone3_compat_exit_status(pidfd, &ws);
		err = errno;
		EXPECT_EQ(ret, -1);
		EXPECT_EQ(err, ENOSYS);
		EXPECT_NE(strstr(clone3_compat_errmsg(), CLONE3_COMPAT_DEVICE),
			  NULL) TH_LOG("errmsg: %s", clone3_compat_errmsg());
		close(pidfd);
		return;
	}
	ASSERT_EQ(pipe2(efd, O_CLOEXEC), 0);
	a.pidfd = (uintptr_t)&pidfd;
	pid = clone3_compat(&a, sizeof(a));
	err = errno;
	if (pid == 0) {
		char c;

		close(efd[1]);
		if (read(efd[0], &c, 1) < 0)
			_exit(1);
		raise(SIGTERM);
		_exit(2);
	}
	ASSERT_GT(pid, 0) TH_LOG("%s", clone3_compat_errmsg());
	close(efd[0]);
	/* Running: no status yet. */
	ret = clone3_compat_exit_status(pidfd, &ws);
	err = errno;
	EXPECT_EQ(ret, -1);
	EXPECT_EQ(err, EAGAIN);
	close(efd[1]);
	ASSERT_TRUE(c3c_wait_pidfd(pidfd, 5000));
	EXPECT_EQ(c3c_gone_no_zombie(pid, 2000), 0);
	ASSERT_EQ(clone3_compat_exit_status(pidfd, &ws), 0)
		TH_LOG("%s", clone3_compat_errmsg());
	EXPECT_TRUE(WIFSIGNALED(ws));
	EXPECT_EQ(WTERMSIG(ws), SIGTERM);
	pid = clone3_compat_pidfd_getpid(pidfd);
	err = errno;
	EXPECT_EQ(pid, -1);
	EXPECT_EQ(err, ESRCH);
	close(pidfd);
}

/* Spawn @argv with @flags, wait, and return the shell status. */
static int spawn_wait(uint64_t flags,
		      const clone3_compat_spawn_file_actions_t *fa,
		      char *const argv[], int *err)
{
	clone3_compat_spawnattr_t attr;
	int pidfd, ws = -1;
	siginfo_t si = { 0 };

	clone3_compat_spawnattr_init(&attr);
	*err = clone3_compat_spawnattr_setflags(&attr, flags);
	if (!*err)
		*err = clone3_compat_spawn(&pidfd, argv[0], fa, &attr, argv,
					   NULL);
	if (*err)
		return -1;
	if (!(flags & CLONE_AUTOREAP)) {
		if (waitid(P_PIDFD, pidfd, &si, WEXITED))
			return -2;
		close(pidfd);
		return si.si_code == CLD_EXITED ? si.si_status :
		       128 + si.si_status;
	}
	if (!c3c_wait_pidfd(pidfd, 10000))
		return -3;
	for (int i = 0; i < 1000; i++) {
		if (clone3_compat_exit_status(pidfd, &ws) == 0)
			break;
		if (errno != EAGAIN)
			return -4;
		usleep(1000);
	}
	close(pidfd);
	return shell_status(ws);
}

TEST(spawn_runs_and_reports)
{
	char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
	char *kill9[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
	uint64_t flags = CLONE_AUTOREAP | CLONE_NNP;
	int err;

	EXPECT_EQ(spawn_wait(0, NULL, argv, &err), 3);
	EXPECT_EQ(spawn_wait(0, NULL, kill9, &err), 137);
	if (!available()) {
		EXPECT_EQ(spawn_wait(flags, NULL, argv, &err), -1);
		EXPECT_EQ(err, ENOSYS);
		EXPECT_NE(strstr(clone3_compat_errmsg(), "not available"), NULL);
		EXPECT_TRUE(c3c_no_waitable_child());
		return;
	}
	EXPECT_EQ(spawn_wait(flags, NULL, argv, &err), 3)
		TH_LOG("%s", clone3_compat_errmsg());
	EXPECT_EQ(spawn_wait(flags, NULL, kill9, &err), 137);
	EXPECT_TRUE(c3c_no_waitable_child());
}

TEST(spawn_exec_failure_leaves_no_child)
{
	char *missing[] = { "/nonexistent/prog", NULL };
	char *noexec[] = { "/etc/passwd", NULL };
	uint64_t fl[] = { 0, CLONE_AUTOREAP | CLONE_NNP };
	clone3_compat_spawnattr_t attr;
	int pidfd;

	for (int i = 0; i < (available() ? 2 : 1); i++) {
		int err;

		EXPECT_EQ(spawn_wait(fl[i], NULL, missing, &err), -1);
		EXPECT_EQ(err, ENOENT);
		EXPECT_EQ(spawn_wait(fl[i], NULL, noexec, &err), -1);
		EXPECT_EQ(err, EACCES);
		EXPECT_TRUE(c3c_no_waitable_child());
	}
	/* spawnp searches PATH, like execvp */
	clone3_compat_spawnattr_init(&attr);
	EXPECT_EQ(clone3_compat_spawnp(&pidfd, "no-such-command-c3c", NULL,
				       &attr, missing, NULL), ENOENT);
	ASSERT_EQ(clone3_compat_spawnp(&pidfd, "true", NULL, &attr,
				       (char *[]){ "true", NULL }, NULL), 0);
	EXPECT_EQ(waitid(P_PIDFD, pidfd, &(siginfo_t){ 0 }, WEXITED), 0);
	close(pidfd);
	/* Flags that would break a fork-like child are refused. */
	EXPECT_EQ(clone3_compat_spawnattr_setflags(&attr, CLONE_VM), EINVAL);
	EXPECT_EQ(clone3_compat_spawnattr_setflags(&attr, CLONE_FILES), EINVAL);
}

TEST(spawn_file_actions)
{
	char *argv[] = { "/bin/sh", "-c",
			 "pwd; echo out; echo err >&2; echo $0 >&5 || echo closed",
			 NULL };
	clone3_compat_spawn_file_actions_t fa;
	char path[] = "/tmp/c3c-libcli-XXXXXX", buf[256] = { 0 };
	int fd5 = -1, err, fd;
	uint64_t flags = available() ? CLONE_AUTOREAP | CLONE_NNP : 0;

	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	close(fd);
	/* An fd 5 that the child must not see: the actions close it. */
	fd5 = dup2(0, 5);
	ASSERT_EQ(fd5, 5);
	ASSERT_EQ(clone3_compat_spawn_file_actions_init(&fa), 0);
	ASSERT_EQ(clone3_compat_spawn_file_actions_addopen(&fa, 1, path,
				O_WRONLY | O_TRUNC, 0), 0);
	ASSERT_EQ(clone3_compat_spawn_file_actions_adddup2(&fa, 1, 2), 0);
	ASSERT_EQ(clone3_compat_spawn_file_actions_addclose(&fa, 5), 0);
	ASSERT_EQ(clone3_compat_spawn_file_actions_addchdir(&fa, "/proc"), 0);
	EXPECT_EQ(clone3_compat_spawn_file_actions_addclose(&fa, -1), EBADF);
	EXPECT_EQ(spawn_wait(flags, &fa, argv, &err), 0)
		TH_LOG("err %d: %s", err, clone3_compat_errmsg());
	clone3_compat_spawn_file_actions_destroy(&fa);
	close(5);

	fd = open(path, O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_GT(read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	unlink(path);
	EXPECT_NE(strstr(buf, "/proc\nout\nerr\n"), NULL) TH_LOG("got: %s", buf);
	EXPECT_NE(strstr(buf, "closed"), NULL) TH_LOG("got: %s", buf);
}

/* As uid 1000, run the setuid-root copy through @how; its exit status. */
static int suid_via(bool cli, uint64_t flags)
{
	int ws;
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = { SUID_COPY, "--print-euid", NULL };
		int err;

		drop_to_user();
		if (!cli)
			_exit(spawn_wait(flags, NULL, argv, &err));
		/* (its "not available" message is expected) */
		dup2(open("/dev/null", O_WRONLY), 2);
		execl(cli_path(), "clone3-run",
		      flags & CLONE_NNP ? "--nnp" : "--autoreap", "--",
		      SUID_COPY, "--print-euid", (char *)NULL);
		_exit(99);
	}
	if (pid < 0 || waitpid(pid, &ws, 0) != pid)
		return -1;
	return shell_status(ws);
}

TEST(nnp_setuid_gains_nothing)
{
	char cmd[256];

	if (geteuid() == 0) {
		/* The uid-1000 run of this file uses the copy made here. */
		snprintf(cmd, sizeof(cmd),
			 "cp /proc/%d/exe %s && chown 0:0 %s && chmod 04755 %s",
			 getpid(), SUID_COPY, SUID_COPY, SUID_COPY);
		ASSERT_EQ(system(cmd), 0);
	}
	ASSERT_EQ(access(SUID_COPY, X_OK), 0);
	/* Control: without NNP the setuid bit works (euid 0 => 10). */
	EXPECT_EQ(suid_via(false, 0), 10);
	if (!available()) {
		EXPECT_EQ(suid_via(false, CLONE_NNP), 255);	/* _exit(-1) */
		EXPECT_EQ(suid_via(true, CLONE_NNP), 125);
		return;
	}
	EXPECT_EQ(suid_via(false, CLONE_NNP | CLONE_AUTOREAP), 11);
	EXPECT_EQ(suid_via(true, 0), 10);
	EXPECT_EQ(suid_via(true, CLONE_NNP), 11);
}

TEST(cli_exit_codes)
{
	char out[OUT_MAX];

	EXPECT_EQ(CLI(out, "sh", "-c", "exit 42"), 42);
	EXPECT_EQ(CLI(out, "--", "sh", "-c", "kill -9 $$"), 137);
	EXPECT_EQ(CLI(out, "no-such-command-c3c"), 127);
	EXPECT_NE(strstr(out, "command not found"), NULL) TH_LOG("%s", out);
	EXPECT_EQ(CLI(out, "/etc/passwd"), 126);
	EXPECT_EQ(cli_run(out, false, (const char *const[]){ NULL }), 2);
	EXPECT_NE(strstr(out, "no COMMAND"), NULL) TH_LOG("%s", out);
	EXPECT_EQ(CLI(out, "--bogus", "true"), 2);
	EXPECT_EQ(CLI(out, "--info", "true"), 2);
	EXPECT_EQ(CLI(out, "--help"), 0);
	EXPECT_NE(strstr(out, "--autokill"), NULL);
	EXPECT_NE(strstr(out, "Exit status"), NULL);
	/* COMMAND's own options are not ours */
	EXPECT_EQ(CLI(out, "sh", "-c", "exit $#", "x", "--nnp", "-k"), 2);
}

TEST(cli_flags_or_clear_error)
{
	const char *check = "grep -q '^NoNewPrivs:.1' /proc/self/status";
	char out[OUT_MAX];

	if (!available()) {
		EXPECT_EQ(CLI(out, "--autoreap", "true"), 125);
		EXPECT_NE(strstr(out, "CLONE_AUTOREAP not available"), NULL)
			TH_LOG("%s", out);
		EXPECT_NE(strstr(out, "module is not loaded"), NULL);
		EXPECT_EQ(CLI(out, "--nnp", "true"), 125);
		EXPECT_EQ(CLI(out, "--autokill", "--nnp", "true"), 125);
		EXPECT_NE(strstr(out, "CLONE_PIDFD_AUTOKILL"), NULL);
		return;
	}
	EXPECT_EQ(CLI(out, "--autoreap", "sh", "-c", "exit 4"), 4);
	EXPECT_EQ(CLI(out, "--nnp", "sh", "-c", check), 0) TH_LOG("%s", out);
	EXPECT_EQ(CLI(out, "sh", "-c", check), 1);
	EXPECT_EQ(CLI(out, "-k", "-n", "sh", "-c", "exit 6"), 6);
	/* Unprivileged AUTOKILL needs --nnp, and the CLI says so. */
	EXPECT_EQ(cli_run(out, true, (const char *const[]){
			"--autokill", "true", NULL }), 125);
	EXPECT_NE(strstr(out, "--nnp"), NULL) TH_LOG("%s", out);
	EXPECT_EQ(cli_run(out, true, (const char *const[]){
			"--autokill", "--nnp", "true", NULL }), 0);
}

TEST(cli_info)
{
	char out[OUT_MAX], line[128];
	const char *how;

	ASSERT_EQ(CLI(out, "--info"), 0);
	TH_LOG("\n%s", out);
	how = clone3_compat_mode_name(clone3_compat_mode());
	if (!available())
		EXPECT_STREQ(how, "unavailable");
	snprintf(line, sizeof(line), "CLONE_AUTOREAP        %s\n", how);
	EXPECT_NE(strstr(out, line), NULL);
	snprintf(line, sizeof(line), "CLONE_NNP             %s\n", how);
	EXPECT_NE(strstr(out, line), NULL);
	snprintf(line, sizeof(line), "CLONE_PIDFD_AUTOKILL  %s", how);
	EXPECT_NE(strstr(out, line), NULL);
	EXPECT_NE(strstr(out, "\nwhy: "), NULL);
	EXPECT_NE(strstr(out, "exit status"), NULL);
}

/* Start a CLI whose command prints "ready" once its traps are set. */
static pid_t cli_ready(int *fd, const char *script)
{
	char buf[64] = { 0 };
	pid_t pid = cli_start(fd, false, (const char *const[]){
		"sh", "-c", script, NULL });

	if (pid > 0)
		read_all(*fd, buf, 7, 10000);
	return strncmp(buf, "ready", 5) ? -1 : pid;
}

TEST(cli_forwards_signals)
{
	static const struct {
		int sig, status;
		const char *script;
	} cases[] = {
		{ SIGTERM, 7, "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done" },
		{ SIGINT, 8, "trap 'exit 8' INT; echo ready; while :; do sleep 0.05; done" },
		{ SIGHUP, 129, "echo ready; while :; do sleep 0.05; done" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd, ws;
		pid_t pid = cli_ready(&fd, cases[i].script);

		ASSERT_GT(pid, 0);
		ASSERT_EQ(kill(pid, cases[i].sig), 0);
		ASSERT_EQ(waitpid(pid, &ws, 0), pid);
		EXPECT_EQ(shell_status(ws), cases[i].status)
			TH_LOG("signal %d", cases[i].sig);
		close(fd);
	}
}

TEST(cli_autokill_when_sigkilled)
{
	char out[OUT_MAX], buf[32] = { 0 };
	int fd, pidfd, ws;
	long t0, ms;
	pid_t cli, child;

	if (!available()) {
		EXPECT_EQ(CLI(out, "--autokill", "--nnp", "sleep", "1"), 125);
		return;
	}
	cli = cli_start(&fd, false, (const char *const[]){
		"--autokill", "--nnp", "sh", "-c", "echo $$; exec sleep 100",
		NULL });
	ASSERT_GT(cli, 0);
	read_all(fd, buf, 8, 10000);
	child = atoi(buf);
	ASSERT_GT(child, 0) TH_LOG("got '%s'", buf);
	pidfd = sys_pidfd_open(child, 0);	/* observes, does not hold */
	ASSERT_GE(pidfd, 0);
	usleep(100000);
	EXPECT_FALSE(c3c_wait_pidfd(pidfd, 0));

	t0 = now_ms();
	ASSERT_EQ(kill(cli, SIGKILL), 0);
	ASSERT_EQ(waitpid(cli, &ws, 0), cli);
	ASSERT_TRUE(c3c_wait_pidfd(pidfd, 5000));
	ms = now_ms() - t0;
	TH_LOG("child gone %ld ms after clone3-run was SIGKILLed", ms);
	EXPECT_EQ(c3c_gone_no_zombie(child, 2000), 0);
	close(pidfd);
	close(fd);

	/* Control: without --autokill the child outlives the CLI. */
	cli = cli_start(&fd, false, (const char *const[]){
		"--autoreap", "sh", "-c", "echo $$; exec sleep 100", NULL });
	ASSERT_GT(cli, 0);
	read_all(fd, buf, 8, 10000);
	child = atoi(buf);
	ASSERT_GT(child, 0);
	pidfd = sys_pidfd_open(child, 0);
	ASSERT_GE(pidfd, 0);
	ASSERT_EQ(kill(cli, SIGKILL), 0);
	ASSERT_EQ(waitpid(cli, &ws, 0), cli);
	EXPECT_FALSE(c3c_wait_pidfd(pidfd, 300));
	EXPECT_EQ(sys_pidfd_send_signal(pidfd, SIGKILL), 0);
	EXPECT_EQ(c3c_gone_no_zombie(child, 5000), 0);
	close(pidfd);
	close(fd);
}

/*
 * With transparent=N the library must switch to the ioctl path, also in
 * a process that probed before the switch. Root only (the parameter is
 * root's); the uid-1000 run checks that the mode it sees is consistent.
 */
FIXTURE(ioctl_mode) {
	char saved;
};

FIXTURE_SETUP(ioctl_mode)
{
	self->saved = transparent_param();
}

FIXTURE_TEARDOWN(ioctl_mode)
{
	if (self->saved && geteuid() == 0)
		set_transparent(self->saved);
}

TEST_F(ioctl_mode, transparent_off_uses_the_device)
{
	struct clone_args a = { .flags = CLONE_AUTOREAP | CLONE_PIDFD };
	char out[OUT_MAX];
	int pidfd = -1, ws = -1, err;
	pid_t pid;

	if (env() != ENV_MODULE || geteuid() != 0) {
		/* Nothing to switch: the mode is one of the others. */
		EXPECT_NE(clone3_compat_mode(), CLONE3_COMPAT_MODE_IOCTL);
		return;
	}
	ASSERT_EQ(clone3_compat_mode(), CLONE3_COMPAT_MODE_TRANSPARENT);
	ASSERT_TRUE(set_transparent('N'));
	/* Probed as transparent: clone3 now says EINVAL, then the retry. */
	a.pidfd = (uintptr_t)&pidfd;
	pid = clone3_compat(&a, sizeof(a));
	err = errno;
	if (pid == 0)
		_exit(9);
	ASSERT_GT(pid, 0) TH_LOG("%d: %s", err, clone3_compat_errmsg());
	EXPECT_EQ(clone3_compat_mode(), CLONE3_COMPAT_MODE_IOCTL);
	ASSERT_TRUE(c3c_wait_pidfd(pidfd, 5000));
	EXPECT_EQ(c3c_gone_no_zombie(pid, 2000), 0);
	ASSERT_EQ(clone3_compat_exit_status(pidfd, &ws), 0);
	EXPECT_EQ(ws, 9 << 8);
	close(pidfd);

	/* A fresh process (the CLI) sees the ioctl mode at once. */
	ASSERT_EQ(CLI(out, "--info"), 0);
	EXPECT_NE(strstr(out, "CLONE_AUTOREAP        module: ioctl"), NULL)
		TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "transparent=N"), NULL);
	EXPECT_EQ(CLI(out, "--autokill", "--nnp", "sh", "-c", "exit 12"), 12);
	EXPECT_EQ(CLI(out, "--nnp", "sh", "-c",
		      "grep -q '^NoNewPrivs:.1' /proc/self/status"), 0);
}

/* The descriptors of the device this process has; the last one in @last. */
static int device_fds(int *last)
{
	char path[300], target[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		if (!strcmp(target, CLONE3_COMPAT_DEVICE)) {
			*last = atoi(de->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

static pid_t lib_spawn_reaped(struct __test_metadata *_metadata)
{
	struct clone_args a = { .flags = CLONE_AUTOREAP | CLONE_PIDFD };
	int pidfd = -1;
	pid_t pid;

	a.pidfd = (uintptr_t)&pidfd;
	pid = clone3_compat(&a, sizeof(a));
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		EXPECT_TRUE(c3c_wait_pidfd(pidfd, 5000));
		EXPECT_EQ(c3c_gone_no_zombie(pid, 2000), 0);
		close(pidfd);
	}
	return pid;
}

/*
 * In ioctl mode the library keeps one O_CLOEXEC descriptor of the device
 * (opening it per spawn cost 4 % of the spawn), and opens it again when
 * the program closed it, without touching what now has that number.
 */
TEST_F(ioctl_mode, keeps_one_device_fd)
{
	int fd = -1, fd2 = -1, n;

	if (env() != ENV_MODULE || geteuid() != 0)
		return;		/* the ioctl mode needs root to switch */
	ASSERT_TRUE(set_transparent('N'));
	ASSERT_EQ(device_fds(&fd), 0);
	for (int i = 0; i < 5; i++)
		ASSERT_GT(lib_spawn_reaped(_metadata), 0)
			TH_LOG("%s", clone3_compat_errmsg());
	EXPECT_EQ(clone3_compat_mode(), CLONE3_COMPAT_MODE_IOCTL);
	ASSERT_EQ(device_fds(&fd), 1);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);

	/* The program closes it and reuses the number for another file. */
	ASSERT_EQ(close(fd), 0);
	n = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_EQ(n, fd);
	ASSERT_GT(lib_spawn_reaped(_metadata), 0)
		TH_LOG("%s", clone3_compat_errmsg());
	EXPECT_EQ(device_fds(&fd2), 1);
	EXPECT_NE(fd2, fd);
	EXPECT_EQ(fcntl(n, F_GETFD), FD_CLOEXEC) TH_LOG("/dev/null fd closed");
	close(n);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--print-euid"))
		return geteuid() == 0 ? 10 : 11;
	return test_harness_run(argc, argv);
}
