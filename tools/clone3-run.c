// SPDX-License-Identifier: GPL-2.0
/*
 * clone3-run: run a command as a clone3() child with the Linux 7.1 flags
 * CLONE_AUTOREAP, CLONE_NNP and CLONE_PIDFD_AUTOKILL, through
 * libclone3compat (the kernel's own flags or the clone3-compat module).
 *
 * The only reference to the child's pidfd is ours (it is O_CLOEXEC), so
 * with --autokill the child dies with us however we die, SIGKILL
 * included: that is the point of the flag, and no signal handling here
 * is needed for it.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <clone3_compat.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define EXIT_USAGE	2
#define EXIT_FAILED	125	/* clone3-run itself failed, as env(1) */
#define EXIT_CANNOT_RUN	126
#define EXIT_NOT_FOUND	127

static const char *prog = "clone3-run";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [--autokill] [--autoreap] [--nnp] [--verbose] [--] COMMAND [ARG...]\n"
"       %s --info\n"
"\n"
"Run COMMAND as a clone3() child with the Linux 7.1 flags and exit with its\n"
"status (128+N if signal N killed it). The flags come from the kernel (7.1\n"
"and later) or from the clone3-compat module; a flag that neither provides\n"
"is an error, never silently dropped.\n"
"\n"
"  -k, --autokill  CLONE_PIDFD_AUTOKILL: COMMAND is SIGKILLed as soon as\n"
"                  %s is gone, even if it was SIGKILLed itself.\n"
"                  Implies --autoreap; needs --nnp without CAP_SYS_ADMIN\n"
"  -r, --autoreap  CLONE_AUTOREAP: COMMAND is reaped on exit, never a zombie\n"
"  -n, --nnp       CLONE_NNP: COMMAND starts with no_new_privs (setuid bits\n"
"                  and file capabilities give it nothing)\n"
"  -i, --info      how each flag is provided on this system, and why\n"
"  -v, --verbose   say on stderr how COMMAND was started\n"
"  -h, --help      this help\n"
"  -V, --version   the version\n"
"\n"
"SIGINT, SIGTERM and SIGHUP sent to %s are passed on to COMMAND.\n"
"Exit status: COMMAND's; 125 if %s failed (a flag unavailable, not\n"
"permitted), 126 if COMMAND cannot be executed, 127 if it is not found,\n"
"2 on a usage error. See clone3-run(1).\n",
		prog, prog, prog, prog, prog);
}

static bool has_cap_sys_admin(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ULL << 21);	/* CAP_SYS_ADMIN */
}

/* Print @text wrapped at 78 columns, each line after the first indented. */
static void print_wrapped(const char *head, const char *text)
{
	size_t col = printf("%s", head), indent = col;

	while (*text) {
		size_t w = strcspn(text, " ");

		if (col > indent && col + 1 + w > 78) {
			printf("\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", (int)w, text);
		text += w;
		text += strspn(text, " ");
	}
	putchar('\n');
}

static int show_info(void)
{
	static const struct {
		uint64_t flag;
		const char *name;
	} flags[] = {
		{ CLONE_AUTOREAP, "CLONE_AUTOREAP" },
		{ CLONE_NNP, "CLONE_NNP" },
		{ CLONE_PIDFD_AUTOKILL, "CLONE_PIDFD_AUTOKILL" },
	};
	int mode = clone3_compat_mode(), xmode = clone3_compat_exit_mode();
	uint64_t have = clone3_compat_flags();
	struct utsname u;

	uname(&u);
	printf("%s %d.%d.%d on Linux %s\n", prog, CLONE3_COMPAT_LIB_MAJOR,
	       CLONE3_COMPAT_LIB_MINOR, CLONE3_COMPAT_LIB_PATCH, u.release);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const char *how = (have & flags[i].flag) ?
			clone3_compat_mode_name(mode) : "unavailable";

		printf("%-21s %s", flags[i].name, how);
		if ((have & flags[i].flag) &&
		    flags[i].flag == CLONE_PIDFD_AUTOKILL)
			printf(has_cap_sys_admin() ?
			       " (CAP_SYS_ADMIN: --nnp optional)" :
			       " (no CAP_SYS_ADMIN: needs --nnp)");
		putchar('\n');
	}
	printf("%-21s %s\n", "exit status", clone3_compat_mode_name(xmode));
	print_wrapped("why: ", clone3_compat_mode_reason());
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/*
 * A signal for us goes to the child. A SIGINT the terminal sent to the
 * whole foreground process group has reached the child already (when it
 * is still in ours): sending it again would look like a second ^C.
 */
static void forward(int pidfd, pid_t pid, const struct signalfd_siginfo *si)
{
	int sig = si->ssi_signo;

	if (sig == SIGINT && si->ssi_code == SI_KERNEL &&
	    getpgid(pid) == getpgrp())
		return;
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 &&
	    errno != ESRCH)
		fprintf(stderr, "%s: cannot pass on signal %d: %s\n", prog,
			sig, strerror(errno));
}

/* Shell convention: the exit code, or 128 + the killing signal. */
static int shell_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return EXIT_FAILED;
}

static int child_status(int pidfd, bool autoreap)
{
	siginfo_t si = { 0 };
	long end;
	int ws;

	if (!autoreap) {
		while (waitid(P_PIDFD, pidfd, &si, WEXITED) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: waitid: %s\n", prog,
				strerror(errno));
			return EXIT_FAILED;
		}
		if (si.si_code == CLD_EXITED)
			return si.si_status;
		return 128 + si.si_status;
	}
	/* Polled dead: the status may trail the wakeup by a moment. */
	end = now_ms() + 2000;
	while (clone3_compat_exit_status(pidfd, &ws) < 0) {
		if (errno != EAGAIN || now_ms() > end) {
			fprintf(stderr, "%s: cannot read the exit status: %s\n",
				prog, clone3_compat_errmsg());
			return EXIT_FAILED;
		}
		usleep(1000);
	}
	return shell_status(ws);
}

static int spawn_error(const char *cmd, int err, uint64_t flags)
{
	switch (err) {
	case ENOENT:
		fprintf(stderr, "%s: %s: command not found\n", prog, cmd);
		return EXIT_NOT_FOUND;
	case EACCES:
	case ENOEXEC:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case ETXTBSY:
	case EISDIR:
	case E2BIG:
		fprintf(stderr, "%s: %s: %s\n", prog, cmd, strerror(err));
		return EXIT_CANNOT_RUN;
	}
	fprintf(stderr, "%s: %s\n", prog, clone3_compat_errmsg());
	if (err == EPERM && (flags & CLONE_PIDFD_AUTOKILL) &&
	    !(flags & CLONE_NNP))
		fprintf(stderr, "%s: add --nnp to use --autokill without CAP_SYS_ADMIN\n",
			prog);
	return EXIT_FAILED;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "autokill", no_argument, NULL, 'k' },
		{ "autoreap", no_argument, NULL, 'r' },
		{ "nnp", no_argument, NULL, 'n' },
		{ "info", no_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	clone3_compat_spawnattr_t attr;
	bool info = false, verbose = false;
	sigset_t fwd, old;
	uint64_t flags = 0;
	int c, pidfd, sfd, err;
	pid_t pid;

	if (argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}
	/* "+": options end at COMMAND, whose own options are its business */
	while ((c = getopt_long(argc, argv, "+krnivhV", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			flags |= CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP;
			break;
		case 'r':
			flags |= CLONE_AUTOREAP;
			break;
		case 'n':
			flags |= CLONE_NNP;
			break;
		case 'i':
			info = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %d.%d.%d\n", prog,
			       CLONE3_COMPAT_LIB_MAJOR,
			       CLONE3_COMPAT_LIB_MINOR,
			       CLONE3_COMPAT_LIB_PATCH);
			return 0;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (info) {
		if (optind < argc || flags) {
			fprintf(stderr, "%s: --info takes no other argument\n",
				prog);
			return EXIT_USAGE;
		}
		return show_info();
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no COMMAND given\nTry '%s --help'.\n",
			prog, prog);
		return EXIT_USAGE;
	}

	/* Block what we forward before the child exists: none is lost. */
	sigemptyset(&fwd);
	sigaddset(&fwd, SIGINT);
	sigaddset(&fwd, SIGTERM);
	sigaddset(&fwd, SIGHUP);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	sfd = signalfd(-1, &fwd, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
		return EXIT_FAILED;
	}

	clone3_compat_spawnattr_init(&attr);
	clone3_compat_spawnattr_setflags(&attr, flags);
	clone3_compat_spawnattr_setsigmask(&attr, &old);
	err = clone3_compat_spawnp(&pidfd, argv[optind], NULL, &attr,
				   argv + optind, NULL);
	clone3_compat_spawnattr_destroy(&attr);
	if (err)
		return spawn_error(argv[optind], err, flags);
	pid = clone3_compat_pidfd_getpid(pidfd);
	if (verbose)
		fprintf(stderr, "%s: started %s as pid %d (%s%s%s%s)\n", prog,
			argv[optind], pid,
			flags & CLONE_AUTOREAP ? "autoreap " : "",
			flags & CLONE_NNP ? "nnp " : "",
			flags & CLONE_PIDFD_AUTOKILL ? "autokill " : "",
			flags ? clone3_compat_mode_name(clone3_compat_mode()) :
			"plain clone3");

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
			return EXIT_FAILED;
		}
		if ((p[1].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == sizeof(si))
			forward(pidfd, pid, &si);
		if (p[0].revents & (POLLIN | POLLHUP))
			break;
	}
	return child_status(pidfd, flags & CLONE_AUTOREAP);
}
