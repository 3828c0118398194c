// SPDX-License-Identifier: GPL-2.0
/*
 * clone3-demo: the story of "make demo", told in a VM as root.
 *
 * A supervisor (uid 1000) spawns a worker with CLONE_AUTOREAP, CLONE_NNP
 * and CLONE_PIDFD_AUTOKILL; the worker execs a setuid-root copy of this
 * program, which reports its euid and blocks. Then the supervisor is
 * SIGKILLed and we watch the worker's /proc entry until it is gone,
 * looking for a zombie at every step. Once through libclone3compat, once
 * through clone3-run, then a control run without NNP.
 *
 * usage: clone3-demo [CLONE3_RUN]   (default /test/bin/clone3-run)
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <clone3_compat.h>

#define SUID	"/tmp/clone3-demo-suid"
#define USER	1000

static const char *cli = "/test/bin/clone3-run";

static void __attribute__((noreturn)) fail(const char *what)
{
	printf("demo: FAILED: %s%s%s\n", what, errno ? ": " : "",
	       errno ? strerror(errno) : "");
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void become_user(void)
{
	if (setgroups(0, NULL) || setresgid(USER, USER, USER) ||
	    setresuid(USER, USER, USER))
		_exit(90);
}

/* The state letter in /proc/PID/stat, 0 once the process is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* A line from @fd (pipe), bounded in time; "" on EOF or timeout. */
static char *read_line(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 20000) != 1 || read(fd, buf + got, 1) != 1)
			break;
		if (buf[got++] == '\n')
			break;
	}
	buf[got] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/*
 * SIGKILL @killed (our child), then watch @worker: how long until it is
 * gone, and was it ever a zombie on the way?
 */
static void kill_and_watch(const char *tag, const char *who, pid_t killed,
			   pid_t worker)
{
	int pidfd = syscall(SYS_pidfd_open, worker, 0);
	bool zombie = false;
	long polls = 0;
	double t0, ms;
	char s;

	if (pidfd < 0)
		fail("pidfd_open(worker)");
	t0 = now_ms();
	kill(killed, SIGKILL);
	do {
		s = proc_state(worker);
		zombie |= s == 'Z';
		polls++;
		if (now_ms() - t0 > 5000)
			fail("the worker outlived its supervisor by 5 s");
	} while (s);
	ms = now_ms() - t0;
	waitpid(killed, NULL, 0);
	printf("%s %s SIGKILLed: worker %d gone %.1f ms later, %s\n", tag,
	       who, worker, ms,
	       zombie ? "but it WAS SEEN AS A ZOMBIE" :
	       "never a zombie (checked /proc at every step)");
	if (zombie)
		fail("zombie seen");
	close(pidfd);
}

/* The worker's first line: "euid N"; a line of the story from it. */
static void report_euid(const char *tag, const char *line, bool nnp)
{
	int euid = -1;

	if (sscanf(line, "euid %d", &euid) != 1)
		fail("the worker did not report its euid");
	printf("%s worker ran the setuid-root helper: euid %d (%s)\n", tag,
	       euid, nnp ? (euid ? "no privilege gained: no_new_privs" :
				"PRIVILEGE GAINED") :
	       (euid ? "setuid did not work?" : "setuid works without NNP"));
	if (nnp ? euid == 0 : euid != 0)
		fail("unexpected euid");
}

/* Part 1: a supervisor using libclone3compat. */
static void with_library(void)
{
	const char *tag = "[library]   ";
	char line[256];
	pid_t sup, worker = 0;
	int p[2];

	if (pipe(p))
		fail("pipe");
	sup = fork();
	if (sup == 0) {
		uint64_t flags = CLONE_AUTOREAP | CLONE_NNP |
				 CLONE_PIDFD_AUTOKILL;
		char *argv[] = { SUID, "--worker", NULL };
		clone3_compat_spawn_file_actions_t fa;
		clone3_compat_spawnattr_t attr;
		int pidfd, err;

		close(p[0]);
		become_user();
		clone3_compat_spawn_file_actions_init(&fa);
		clone3_compat_spawn_file_actions_adddup2(&fa, p[1], 1);
		clone3_compat_spawnattr_init(&attr);
		clone3_compat_spawnattr_setflags(&attr, flags);
		err = clone3_compat_spawn(&pidfd, SUID, &fa, &attr, argv, NULL);
		if (err) {
			dprintf(p[1], "error %s\n", clone3_compat_errmsg());
			_exit(1);
		}
		close(p[1]);	/* the worker's own lines follow */
		for (;;)	/* the supervisor's work: holding the pidfd */
			pause();
	}
	close(p[1]);
	read_line(p[0], line, sizeof(line));
	if (sscanf(line, "pid %d", &worker) != 1) {
		printf("%s %s\n", tag, line);
		fail("the supervisor could not spawn");
	}
	printf("%s supervisor %d (uid %d) spawned worker %d with CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD_AUTOKILL\n",
	       tag, sup, USER, worker);
	report_euid(tag, read_line(p[0], line, sizeof(line)), true);
	kill_and_watch(tag, "supervisor", sup, worker);
	close(p[0]);
}

/* Part 2 and the control: clone3-run as the supervisor. */
static void with_cli(const char *tag, const char *opt1, const char *opt2)
{
	bool autokill = opt1 != NULL;
	char line[256];
	pid_t run, worker;
	int p[2];

	if (pipe(p))
		fail("pipe");
	run = fork();
	if (run == 0) {
		const char *argv[8] = { "clone3-run" };
		int i = 1;

		close(p[0]);
		dup2(p[1], 1);
		become_user();
		if (opt1)
			argv[i++] = opt1;
		if (opt2)
			argv[i++] = opt2;
		argv[i++] = "--";
		argv[i++] = SUID;
		argv[i++] = "--worker";
		argv[i] = NULL;
		execv(cli, (char **)argv);
		_exit(127);
	}
	close(p[1]);
	read_line(p[0], line, sizeof(line));
	if (sscanf(line, "pid %d", &worker) != 1) {
		printf("%s %s\n", tag, line);
		fail("clone3-run did not start the worker");
	}
	if (autokill)
		printf("%s clone3-run %d (uid %d) runs worker %d: clone3-run %s %s -- %s\n",
		       tag, run, USER, worker, opt1, opt2 ? opt2 : "", SUID);
	report_euid(tag, read_line(p[0], line, sizeof(line)), autokill);
	if (autokill) {
		kill_and_watch(tag, "clone3-run", run, worker);
	} else {
		kill(run, SIGTERM);	/* forwarded: the worker ends too */
		waitpid(run, NULL, 0);
	}
	close(p[0]);
}

int main(int argc, char **argv)
{
	char cmd[256];
	struct utsname u;

	if (argc == 2 && !strcmp(argv[1], "--worker")) {
		printf("pid %d\neuid %d\n", getpid(), geteuid());
		fflush(stdout);
		for (;;)
			pause();
	}
	if (argc == 2)
		cli = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		fail("run me as root (I make a setuid-root helper)");
	uname(&u);
	printf("clone3-compat demo on Linux %s: the flags come from: %s\n",
	       u.release, clone3_compat_mode_name(clone3_compat_mode()));
	if (!clone3_compat_flags()) {
		printf("%s\n", clone3_compat_mode_reason());
		fail("no CLONE_AUTOREAP & co. here");
	}
	snprintf(cmd, sizeof(cmd),
		 "cp /proc/%d/exe %s && chown 0:0 %s && chmod 04755 %s",
		 getpid(), SUID, SUID, SUID);
	if (system(cmd))
		fail("cannot make the setuid-root helper");

	with_library();
	with_cli("[clone3-run]", "--autokill", "--nnp");
	with_cli("[control]   ", NULL, NULL);
	unlink(SUID);
	printf("demo: OK\n");
	return 0;
}
