// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: worker processes, each with several threads, spawn children with
 * random flag combinations through the ioctl and the clone3 paths, and do
 * random things with the pidfds (close, dup, fork, SCM_RIGHTS,
 * pidfd_getfd) and the children (SIGKILL, ptrace). Children exit at once,
 * sleep, exec, run threads, or (AUTOKILL only) wait to be killed. The main
 * process SIGKILLs random workers (parents) and replaces them.
 *
 * Checked while it runs: every spawn gets the errno the 7.1 rules say or a
 * child; an autoreaped child whose pidfd polls readable is not waitable
 * and reports its exit status through PIDFD_INFO_EXIT; a non-autoreap one
 * is waitable; an AUTOKILL child dies when its only pidfd is closed and
 * survives while a copy is held; no untraced autoreap process stays a
 * zombie. At the end: no zombie anywhere, no child left (an AUTOKILL child
 * whose pidfds are all gone would be), and the module's state drained.
 * The bench then requires a clean kernel log and a working rmmod.
 *
 * Duration: C3C_STRESS_SECS seconds (default 10; "make stress" sets it).
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "../c3c_test.h"
#include "kselftest_harness.h"

#define NR_WORKERS	3
#define NR_THREADS	3
#define MAX_KIDS	24	/* tracked children per thread */

/* Child behaviours, chosen by the parent before the clone. */
enum { K_EXIT, K_SLEEP, K_EXEC, K_THREADS, K_PAUSE, K_NR };

/* Counters shared by all workers (MAP_SHARED), summed up at the end. */
struct stats {
	long spawn_ok, spawn_einval, spawn_eperm, spawn_other, spawn_eagain;
	long ioctl_path, clone3_path;
	long closes, dups, forks, scm, getfd, kills, traced, execs, threads;
	long autokill_checked, survived_checked, exit_checked, workers_killed;
	long failures;
	char first_failure[256];
};

static struct stats *st;
static int stress_secs = 10;
static bool is_root;

#define FAIL(fmt, ...) do {						\
	if (__atomic_fetch_add(&st->failures, 1, __ATOMIC_RELAXED) == 0) \
		snprintf(st->first_failure, sizeof(st->first_failure),	\
			 "%s:%d: " fmt, __func__, __LINE__, ##__VA_ARGS__);	\
	fprintf(stderr, "# FAIL %s:%d: " fmt "\n", __func__, __LINE__,	\
		##__VA_ARGS__);						\
} while (0)

#define STAT(x) __atomic_fetch_add(&st->x, 1, __ATOMIC_RELAXED)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* xorshift, one state per thread */
static __thread uint64_t rs;

static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return n ? (uint32_t)(rs % n) : 0;
}

static void seed(void)
{
	rs = now_ms() * 2654435761ULL ^ ((uint64_t)syscall(SYS_gettid) << 32) ^
	     (uintptr_t)&rs;
	if (!rs)
		rs = 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	/* The raw syscall: safe in a clone child of a threaded process. */
	syscall(SYS_nanosleep, &ts, NULL);
}

/* ------------------------------------------------------------- children */

/* Helper modes after exec: argv = exe --c3c-child MODE NAME CODE */
static int helper_code;

static void *helper_thread(void *arg)
{
	uintptr_t ms = (uintptr_t)arg;

	sleep_ms(ms);
	if (ms & 1)	/* this one ends the whole group */
		_exit(helper_code);
	return NULL;
}

static int child_main(int argc, char **argv)
{
	pthread_t t[2];

	helper_code = argc > 4 ? atoi(argv[4]) : 99;
	if (argc > 3)
		prctl(PR_SET_NAME, argv[3]);
	if (argc > 2 && !strcmp(argv[2], "threads") && helper_code % 3 == 0) {
		/*
		 * The leader leaves first: it is a zombie until the last
		 * thread ends the group (the exit hook then sees the leader
		 * from release_task(), not from exit_notify()).
		 */
		pthread_create(&t[0], NULL, helper_thread, (void *)(uintptr_t)4);
		pthread_create(&t[1], NULL, helper_thread, (void *)(uintptr_t)21);
		pthread_exit(NULL);
	}
	if (argc > 2 && !strcmp(argv[2], "threads")) {
		pthread_create(&t[0], NULL, helper_thread,
			       (void *)(uintptr_t)(helper_code % 20));
		pthread_create(&t[1], NULL, helper_thread,
			       (void *)(uintptr_t)(helper_code % 7 * 2));
		pthread_join(t[1], NULL);
		pthread_join(t[0], NULL);
	}
	return helper_code;
}

struct kid_plan {
	int kind;
	int code;
	int sleep;
	char name[16];
	char codestr[8];
	char *argv[6];
};

/* Runs in the clone child: raw syscalls only (a threaded parent). */
static __attribute__((noreturn)) void kid_run(struct kid_plan *p)
{
	/*
	 * The fd table copy holds the parent's other pidfds: two AUTOKILL
	 * children holding each other's would keep each other alive.
	 */
	syscall(SYS_close_range, 3, ~0U, 0);
	syscall(SYS_prctl, PR_SET_NAME, p->name, 0, 0, 0);
	switch (p->kind) {
	case K_SLEEP:
		sleep_ms(p->sleep);
		break;
	case K_EXEC:
	case K_THREADS:
		syscall(SYS_execve, "/proc/self/exe", p->argv, NULL);
		syscall(SYS_exit_group, 126);
		break;
	case K_PAUSE:
		/* ppoll(NULL, 0, NULL): pause(2), which arm64 lacks as a syscall */
		for (;;)
			syscall(SYS_ppoll, NULL, 0, NULL, NULL, 0);
	}
	syscall(SYS_exit_group, p->code);
	__builtin_unreachable();
}

/* ---------------------------------------------------------- worker side */

struct kid {
	pid_t pid;
	int pidfd;		/* -1 without CLONE_PIDFD */
	int dupfd;		/* a second fd of the same file, or -1 */
	uint64_t flags;
	int kind, code;
	bool killed;		/* we (or autokill) sent SIGKILL */
	bool shared;		/* a copy of the pidfd left this thread's view */
	bool traced;
	bool reaped;		/* the tracer reaped it */
};

struct wthread {
	pthread_t th;
	struct kid kids[MAX_KIDS];
	int nkids;
	int sock;		/* to the holder */
	int holder_pidfd;
	uint64_t deadline;
	int cpu;		/* c3c_pin()'s index */
};

static int devfd_cached = -1;

static pid_t spawn(bool via_ioctl, struct clone_args *a)
{
	if (via_ioctl) {
		struct clone3_compat_clone3 req = {
			.size = sizeof(req),
			.args = (uintptr_t)a,
			.args_size = sizeof(*a),
		};

		return ioctl(devfd_cached, CLONE3_COMPAT_IOC_CLONE3, &req);
	}
	return sys_clone3(a, sizeof(*a));
}

/* The errno the 7.1 rules give for these flags, 0 when valid. */
static int expected_errno(uint64_t f, int sig)
{
	if ((f & CLONE_PARENT) && sig)
		return EINVAL;
	if ((f & CLONE_AUTOREAP) && ((f & CLONE_PARENT) || sig))
		return EINVAL;
	if ((f & CLONE_PIDFD_AUTOKILL) &&
	    (!(f & CLONE_PIDFD) || !(f & CLONE_AUTOREAP)))
		return EINVAL;
	if ((f & CLONE_PIDFD_AUTOKILL) && !(f & CLONE_NNP) && !is_root)
		return EPERM;
	return 0;
}

static void kid_close(struct kid *k)
{
	if (k->pidfd >= 0)
		close(k->pidfd);
	if (k->dupfd >= 0)
		close(k->dupfd);
	k->pidfd = k->dupfd = -1;
}

static void kid_drop(struct wthread *w, int i)
{
	kid_close(&w->kids[i]);
	w->kids[i] = w->kids[--w->nkids];
}

/* A child that exited: check what the pidfd and wait say. */
static void kid_exited(struct wthread *w, int i)
{
	struct kid *k = &w->kids[i];
	struct clone3_compat_pidfd_info info;
	siginfo_t si = { 0 };
	int ret;

	if (k->flags & CLONE_AUTOREAP) {
		if (!k->traced) {
			errno = 0;
			ret = waitid(P_PIDFD, k->pidfd, &si,
				     WEXITED | WNOHANG | __WALL);
			if (ret != -1 || errno != ECHILD)
				FAIL("autoreap pid %d waitable (ret %d errno %d si_pid %d)",
				     k->pid, ret, errno, si.si_pid);
		}
		if (k->traced && !k->reaped) {
			/* exited, not yet reaped by its tracer: later */
			return;
		}
		if (c3c_get_info(k->pidfd, &info, CLONE3_COMPAT_PIDFD_INFO_EXIT)) {
			FAIL("PIDFD_GET_INFO pid %d: errno %d", k->pid, errno);
		} else if (!(info.mask & CLONE3_COMPAT_PIDFD_INFO_EXIT)) {
			if (!k->traced)
				FAIL("pid %d: no PIDFD_INFO_EXIT after exit", k->pid);
		} else if (!k->killed && !k->traced &&
			   info.exit_code != (k->code << 8)) {
			FAIL("pid %d kind %d: exit_code %#x, want %#x", k->pid,
			     k->kind, info.exit_code, k->code << 8);
		} else {
			STAT(exit_checked);
		}
	} else if (!k->reaped) {
		ret = waitid(P_PIDFD, k->pidfd, &si, WEXITED | __WALL);
		if (ret)
			FAIL("non-autoreap pid %d: waitid errno %d", k->pid, errno);
		else if (!k->killed && si.si_code == CLD_EXITED &&
			 si.si_status != k->code)
			FAIL("pid %d: status %d, want %d", k->pid, si.si_status,
			     k->code);
	}
	kid_drop(w, i);
}

/* Reap what has exited; with @all, wait (bounded) for every child. */
static void kid_poll(struct wthread *w, bool all)
{
	for (int i = 0; i < w->nkids; i++) {
		struct kid *k = &w->kids[i];

		if (k->traced && !k->reaped) {
			int status;
			pid_t r = waitpid(k->pid, &status,
					  __WALL | (all ? 0 : WNOHANG));

			if (r == k->pid && WIFSTOPPED(status)) {
				/* exec's SIGTRAP, or a signal: go on */
				ptrace(PTRACE_CONT, k->pid, 0, 0);
				i--;
				continue;
			}
			if (r == 0)
				continue;	/* still running */
			/* The tracer reaped it (or it was detached). */
			k->reaped = true;
		}
		if (k->pidfd < 0) {
			/* No pidfd: reap a non-autoreap child by pid. */
			pid_t r = k->reaped ? -1 :
				  waitpid(k->pid, NULL, __WALL | (all ? 0 : WNOHANG));

			if (r == k->pid || r < 0)
				kid_drop(w, i--);
			continue;
		}
		if (c3c_wait_pidfd(k->pidfd, all ? 3000 : 0)) {
			kid_exited(w, i--);
			continue;
		}
		if (!all)
			continue;
		if (k->kind != K_PAUSE)
			FAIL("pid %d kind %d did not exit in 3 s", k->pid, k->kind);
		sys_pidfd_send_signal(k->pidfd, SIGKILL);
		k->killed = true;
		if (!c3c_wait_pidfd(k->pidfd, 3000))
			FAIL("pid %d survives SIGKILL", k->pid);
		kid_exited(w, i--);
	}
}

static void do_spawn(struct wthread *w)
{
	static const int sigs[] = { 0, 0, 0, SIGCHLD };
	struct kid_plan p = { 0 };
	struct clone_args a = { 0 };
	int pidfd = -1, want;
	bool via_ioctl = rnd(2);
	uint64_t f = 0;
	pid_t pid;

	if (w->nkids >= MAX_KIDS)
		return;
	if (rnd(100) < 70)
		f |= CLONE_AUTOREAP;
	if (rnd(100) < 40)
		f |= CLONE_NNP;
	if (rnd(100) < 75)
		f |= CLONE_PIDFD;
	if ((f & CLONE_PIDFD) && (f & CLONE_AUTOREAP) && rnd(100) < 50)
		f |= CLONE_PIDFD_AUTOKILL;
	if (rnd(100) < 3)
		f |= CLONE_PARENT;		/* EINVAL with any of ours */
	if (rnd(100) < 3)
		f |= CLONE_PIDFD_AUTOKILL;	/* maybe without its needs */
	a.exit_signal = sigs[rnd(4)];
	if (f & CLONE_PARENT)
		a.exit_signal = rnd(2) ? SIGCHLD : 0;
	a.flags = f;
	a.pidfd = (uintptr_t)&pidfd;

	p.kind = rnd(K_NR);
	if (p.kind == K_PAUSE && !(f & CLONE_PIDFD_AUTOKILL))
		p.kind = K_SLEEP;
	p.code = rnd(100);
	p.sleep = rnd(150);
	/* c3c-a*: autoreap, c3c-k*: autokill, c3c-p*: will be traced */
	bool trace = rnd(100) < 8 && (f & CLONE_PIDFD) && p.kind != K_PAUSE;
	snprintf(p.name, sizeof(p.name), "c3c-%c%c%d",
		 (f & CLONE_PIDFD_AUTOKILL) ? 'k' : (f & CLONE_AUTOREAP) ? 'a' : 'n',
		 trace ? 'p' : '-', p.kind);
	snprintf(p.codestr, sizeof(p.codestr), "%d", p.code);
	p.argv[0] = "stress";
	p.argv[1] = "--c3c-child";
	p.argv[2] = p.kind == K_THREADS ? "threads" : "exit";
	p.argv[3] = p.name;
	p.argv[4] = p.codestr;
	p.argv[5] = NULL;

	want = expected_errno(f, a.exit_signal);
	if (!want && (f & CLONE_PARENT))
		return;	/* a valid CLONE_PARENT clone: not our child, skip */
	via_ioctl ? STAT(ioctl_path) : STAT(clone3_path);
	pid = spawn(via_ioctl, &a);
	if (pid == 0)
		kid_run(&p);
	if (pid < 0) {
		int e = errno;

		if (e == EINVAL)
			STAT(spawn_einval);
		else if (e == EPERM)
			STAT(spawn_eperm);
		else if (e == EAGAIN || e == ENOMEM)
			STAT(spawn_eagain);
		else
			STAT(spawn_other);
		if (e != want && !(want == 0 && (e == EAGAIN || e == ENOMEM)))
			FAIL("%s flags %#llx sig %d: errno %d, want %d",
			     via_ioctl ? "ioctl" : "clone3",
			     (unsigned long long)f, (int)a.exit_signal, e, want);
		return;
	}
	STAT(spawn_ok);
	if (want)
		FAIL("%s flags %#llx sig %d: pid %d, want errno %d",
		     via_ioctl ? "ioctl" : "clone3", (unsigned long long)f,
		     (int)a.exit_signal, pid, want);
	if (p.kind == K_EXEC)
		STAT(execs);
	if (p.kind == K_THREADS)
		STAT(threads);

	struct kid *k = &w->kids[w->nkids++];

	*k = (struct kid){
		.pid = pid,
		.pidfd = (f & CLONE_PIDFD) ? pidfd : -1,
		.dupfd = -1,
		.flags = f,
		.kind = p.kind,
		.code = p.code,
	};
	if (!(f & CLONE_PIDFD) && (f & CLONE_AUTOREAP)) {
		/* Fire and forget: nothing to reap or watch. */
		w->nkids--;
		return;
	}
	if (trace) {
		if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_EXITKILL * rnd(2)) == 0) {
			k->traced = true;
			STAT(traced);
		}
	}
}

/* Send @fd to the holder, as SCM_RIGHTS or as a number to pidfd_getfd. */
static void send_to_holder(struct wthread *w, int fd, bool scm)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr mh = { 0 };
	struct iovec iov;
	int msg[2] = { scm ? -1 : fd, (int)rnd(300) };
	struct cmsghdr *cm;

	iov.iov_base = msg;
	iov.iov_len = sizeof(msg);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (scm) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	sendmsg(w->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* An AUTOKILL child we alone hold: closing the pidfd must kill it. */
static void check_autokill_close(struct wthread *w, int i)
{
	struct kid *k = &w->kids[i];
	int watch = sys_pidfd_open(k->pid, 0);

	if (watch < 0) {	/* already gone */
		kid_close(k);
		kid_drop(w, i);
		return;
	}
	/* The pid may have been reused if the child is gone: re-check. */
	if (c3c_wait_pidfd(k->pidfd, 0)) {
		close(watch);
		kid_exited(w, i);
		return;
	}
	kid_close(k);
	if (!c3c_wait_pidfd(watch, 5000))
		FAIL("AUTOKILL pid %d kind %d alive 5 s after its pidfd closed",
		     k->pid, k->kind);
	else
		STAT(autokill_checked);
	close(watch);
	kid_drop(w, i);
}

static void do_pidfd_op(struct wthread *w)
{
	struct kid *k;
	int i, op, fd;

	if (!w->nkids)
		return;
	i = rnd(w->nkids);
	k = &w->kids[i];
	if (k->pidfd < 0)
		return;
	op = rnd(8);
	switch (op) {
	case 0:	/* close */
		STAT(closes);
		/*
		 * Copies elsewhere (fork, SCM_RIGHTS, pidfd_getfd) are held
		 * for 300 ms at most: the child must be dead within 5 s.
		 */
		if ((k->flags & CLONE_PIDFD_AUTOKILL) && k->dupfd < 0 &&
		    k->kind == K_PAUSE && !k->killed) {
			check_autokill_close(w, i);
			return;
		}
		if (k->dupfd >= 0) {
			/* One copy left: an AUTOKILL child must live on. */
			close(k->pidfd);
			k->pidfd = k->dupfd;
			k->dupfd = -1;
			if (k->kind == K_PAUSE && !k->killed) {
				usleep(2000);
				if (c3c_wait_pidfd(k->pidfd, 0))
					FAIL("AUTOKILL pid %d died with a copy of its pidfd open",
					     k->pid);
				else
					STAT(survived_checked);
			}
			return;
		}
		/* The last copy we have: forget the child (others may hold). */
		kid_drop(w, i);
		return;
	case 1:	/* dup */
		if (k->dupfd < 0) {
			STAT(dups);
			k->dupfd = rnd(2) ? dup(k->pidfd) :
					    fcntl(k->pidfd, F_DUPFD_CLOEXEC, 3);
		}
		return;
	case 2:	/* a forked process holds every fd for a while */
		STAT(forks);
		k->shared = true;
		/* Double fork: the holder is reaped by the subreaper. */
		pid_t mid = fork();

		if (mid == 0) {
			if (fork() == 0)
				sleep_ms(rnd(200));
			syscall(SYS_exit_group, 0);
		}
		if (mid > 0)
			waitpid(mid, NULL, 0);
		return;
	case 3:	/* SCM_RIGHTS to the holder */
		STAT(scm);
		k->shared = true;
		send_to_holder(w, k->pidfd, true);
		return;
	case 4:	/* the holder takes it with pidfd_getfd */
		STAT(getfd);
		k->shared = true;
		send_to_holder(w, k->pidfd, false);
		return;
	case 5:	/* SIGKILL the child */
		STAT(kills);
		if (sys_pidfd_send_signal(k->pidfd, SIGKILL) == 0)
			k->killed = true;
		return;
	case 6:	/* pidfd_open'ed (non-AUTOKILL) file: closing it is harmless */
		fd = sys_pidfd_open(k->pid, 0);
		if (fd >= 0)
			close(fd);
		return;
	default:
		return;
	}
}

static void *wthread_main(void *arg)
{
	struct wthread *w = arg;

	/* The threads of a worker spread over the CPUs, not just the workers. */
	c3c_pin(w->cpu);
	seed();
	while (now_ms() < w->deadline) {
		uint32_t r = rnd(100);

		if (r < 45)
			do_spawn(w);
		else if (r < 85)
			do_pidfd_op(w);
		else
			kid_poll(w, false);
		if (rnd(100) < 10)
			sleep_ms(rnd(5));
	}
	kid_poll(w, false);
	/* Leave the rest as they are: the worker's exit closes the fds. */
	return NULL;
}

/*
 * The holder: receives pidfds by SCM_RIGHTS, or fd numbers to copy with
 * pidfd_getfd() from the worker, and keeps each for a while.
 */
static void holder_main(int sock, pid_t worker)
{
	int wpidfd = sys_pidfd_open(worker, 0);
	struct { int fd; uint64_t until; } held[64];
	int nheld = 0;

	seed();
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct msghdr mh = { 0 };
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int msg[2], fd = -1;
		struct iovec iov = { msg, sizeof(msg) };
		uint64_t now = now_ms();

		for (int i = 0; i < nheld; i++)
			if (held[i].until <= now) {
				close(held[i].fd);
				held[i--] = held[--nheld];
			}
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) <= 0)
			_exit(0);	/* the worker is gone */
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		if (cm && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		else if (msg[0] >= 0 && wpidfd >= 0)
			fd = sys_pidfd_getfd(wpidfd, msg[0]);
		if (fd < 0)
			continue;
		if (nheld == 64) {
			close(fd);
			continue;
		}
		held[nheld].fd = fd;
		held[nheld++].until = now + msg[1];
	}
}

static void worker_main(int idx, uint64_t life_ms)
{
	struct wthread w[NR_THREADS];
	int sv[2];
	pid_t me = getpid(), holder;

	prctl(PR_SET_NAME, "c3c-worker");
	devfd_cached = c3c_dev();
	if (devfd_cached < 0)
		_exit(3);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		_exit(4);
	holder = fork();
	if (holder == 0) {
		prctl(PR_SET_NAME, "c3c-holder");
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		c3c_pin(idx * NR_THREADS + NR_THREADS);	/* its closes race theirs */
		close(sv[0]);
		holder_main(sv[1], me);
	}
	close(sv[1]);
	/* pidfd_getfd() of our fds needs ptrace access from the holder. */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
	for (int i = 0; i < NR_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].sock = sv[0];
		w[i].deadline = now_ms() + life_ms;
		w[i].cpu = idx * NR_THREADS + i;
		pthread_create(&w[i].th, NULL, wthread_main, &w[i]);
	}
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(w[i].th, NULL);
	/* A clean end: wait for the children still tracked, then exit. */
	for (int i = 0; i < NR_THREADS; i++)
		if (rnd(2))
			kid_poll(&w[i], true);
	_exit(0);
}

/* ------------------------------------------------------ main-side checks */

struct zomb {
	pid_t pid;
	unsigned long long start;
};

/* Under a tracer (the kernel reaps an autoreap zombie only after it). */
static bool traced(pid_t pid)
{
	return procfs_status_num(pid, "TracerPid") > 0;
}

/*
 * One scan of /proc. Counts processes whose comm starts with "c3c-" other
 * than workers/holders (@left) and autokill ones (@left_k); collects the
 * untraced autoreap zombies (comm c3c-a* or c3c-k*) into @z; @zany gets
 * every zombie.
 */
static void scan_proc(int *left, int *left_k, struct zomb *z, int *nz,
		      int zmax, int *zany, char *report, size_t rlen)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	*left = *left_k = *nz = *zany = 0;
	if (report)
		report[0] = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct procfs_stat st;
		pid_t pid = atoi(de->d_name);
		unsigned long long start;
		char state, *comm;

		if (pid <= 0 || !procfs_stat(pid, &st))
			continue;
		state = st.state;
		comm = st.comm;
		start = st.start;
		if (state == 'Z') {
			(*zany)++;
			if (report && strlen(report) < rlen - 40)
				snprintf(report + strlen(report), rlen - strlen(report),
					 " zombie %d:%s", pid, comm);
		}
		if (strncmp(comm, "c3c-", 4) || !strcmp(comm, "c3c-worker") ||
		    !strcmp(comm, "c3c-holder"))
			continue;
		(*left)++;
		if (comm[4] == 'k')
			(*left_k)++;
		if (report && strlen(report) < rlen - 40)
			snprintf(report + strlen(report), rlen - strlen(report),
				 " %d:%s:%c", pid, comm, state);
		if (state == 'Z' && (comm[4] == 'a' || comm[4] == 'k') &&
		    *nz < zmax && !traced(pid))
			z[(*nz)++] = (struct zomb){ pid, start };
	}
	closedir(d);
}

/* An untraced autoreap zombie seen in two scans is stuck. */
static void check_stuck_zombies(struct zomb *prev, int *nprev)
{
	struct zomb cur[64];
	int left, left_k, ncur, zany;

	scan_proc(&left, &left_k, cur, &ncur, 64, &zany, NULL, 0);
	for (int i = 0; i < ncur; i++)
		for (int j = 0; j < *nprev; j++)
			if (cur[i].pid == prev[j].pid &&
			    cur[i].start == prev[j].start && !traced(cur[i].pid))
				FAIL("autoreap pid %d is a zombie for over 0.5 s",
				     cur[i].pid);
	memcpy(prev, cur, sizeof(cur[0]) * ncur);
	*nprev = ncur;
}

static void reap_all(void)
{
	while (waitpid(-1, NULL, __WALL | WNOHANG) > 0)
		;
}

FIXTURE(stress) {
	int dummy;
};

FIXTURE_SETUP(stress)
{
	const char *s = getenv("C3C_STRESS_SECS");

	if (s && atoi(s) > 0)
		stress_secs = atoi(s);
	is_root = geteuid() == 0;
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(st, MAP_FAILED);
	seed();
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, random_workload, 3600)
{
	pid_t workers[NR_WORKERS] = { 0 };
	struct zomb prev[64];
	int nprev = 0, left, left_k, nz, zany;
	uint64_t end, next_scan;
	char report[512];

	ASSERT_TRUE(c3c_state_drained(5000)) TH_LOG("state not drained before the run");
	ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	end = now_ms() + stress_secs * 1000ULL;
	next_scan = now_ms() + 500;
	TH_LOG("%d s, %d workers x %d threads, %s", stress_secs, NR_WORKERS,
	       NR_THREADS, is_root ? "root" : "user");

	while (now_ms() < end) {
		for (int i = 0; i < NR_WORKERS; i++) {
			int status;

			if (workers[i] > 0 &&
			    waitpid(workers[i], &status, WNOHANG) == workers[i]) {
				if (WIFEXITED(status) && WEXITSTATUS(status))
					FAIL("worker exited %d", WEXITSTATUS(status));
				if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
					FAIL("worker died of signal %d", WTERMSIG(status));
				workers[i] = 0;
			}
			if (workers[i] == 0) {
				uint64_t life = 300 + rnd(2500);

				if (now_ms() + life > end)
					life = end > now_ms() ? end - now_ms() : 1;
				workers[i] = fork();
				ASSERT_GE(workers[i], 0);
				if (workers[i] == 0) {
					seed();
					worker_main(i, life);
				}
			}
		}
		/* Random SIGKILL of a parent. */
		if (rnd(100) < 4) {
			int i = rnd(NR_WORKERS);

			if (workers[i] > 0 && kill(workers[i], SIGKILL) == 0)
				STAT(workers_killed);
		}
		reap_all();
		if (now_ms() >= next_scan) {
			check_stuck_zombies(prev, &nprev);
			next_scan = now_ms() + 500;
		}
		usleep(20000);
	}
	/* Let the workers finish (those left run out their life). */
	for (int i = 0; i < NR_WORKERS; i++) {
		if (workers[i] > 0) {
			int status;

			if (rnd(2))
				kill(workers[i], SIGKILL);
			waitpid(workers[i], &status, 0);
		}
	}
	/* Every child ends by itself in well under 3 s, or by AUTOKILL. */
	/*
	 * We are the subreaper: every descendant ends up our child, so no
	 * child at all (ECHILD) means every one of them is gone.
	 */
	for (int i = 0; i < 100; i++) {
		reap_all();
		if (c3c_no_waitable_child())
			break;
		usleep(50000);
	}
	reap_all();
	scan_proc(&left, &left_k, prev, &nz, 64, &zany, report, sizeof(report));
	EXPECT_EQ(left_k, 0) TH_LOG("AUTOKILL children alive with their pidfds gone:%s", report);
	EXPECT_EQ(left, 0) TH_LOG("children left:%s", report);
	EXPECT_EQ(zany, 0) TH_LOG("zombies left:%s", report);
	EXPECT_TRUE(c3c_no_waitable_child());
	EXPECT_TRUE(c3c_state_drained(10000)) {
		struct clone3_compat_features f;

		c3c_features(&f);
		TH_LOG("state not drained: tracked %llu autokill_files %llu",
		       (unsigned long long)f.tracked,
		       (unsigned long long)f.autokill_files);
	}
	TH_LOG("spawns ok %ld einval %ld eperm %ld eagain %ld other %ld (ioctl %ld, clone3 %ld)",
	       st->spawn_ok, st->spawn_einval, st->spawn_eperm, st->spawn_eagain,
	       st->spawn_other, st->ioctl_path, st->clone3_path);
	TH_LOG("pidfd ops: close %ld dup %ld fork %ld scm %ld getfd %ld kill %ld; traced %ld exec %ld threads %ld; workers killed %ld",
	       st->closes, st->dups, st->forks, st->scm, st->getfd, st->kills,
	       st->traced, st->execs, st->threads, st->workers_killed);
	TH_LOG("checked: autokill-on-close %ld, survives-with-copy %ld, exit status %ld",
	       st->autokill_checked, st->survived_checked, st->exit_checked);
	EXPECT_EQ(st->failures, 0) TH_LOG("first failure: %s", st->first_failure);
	/* A floor that a working run passes even on the KASAN kernel. */
	EXPECT_GT(st->spawn_ok, 2 * stress_secs);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--c3c-child"))
		return child_main(argc, argv);
	return test_harness_run(argc, argv);
}
