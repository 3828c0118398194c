// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz: random ioctl commands, sizes and pointers (NULL, unmapped, kernel
 * addresses, non-canonical, page-crossing into a hole, read-only) against
 * /dev/clone3_compat and against pidfds (PIDFD_GET_INFO), and random
 * struct clone_args (flags, sizes, tails, exit_signal, set_tid, stacks)
 * through clone3() and CLONE3_COMPAT_IOC_CLONE3.
 *
 * Every call must give an errno from the documented set or succeed; a
 * child made by a successful clone runs a few instructions that exit at
 * once (raw asm, no memory touched, so CLONE_VM, CLONE_THREAD, bad stacks
 * and bad TLS are all safe) and must be reaped with status 0 or vanish by
 * autoreap. At the end no zombie is left and the module's state drains.
 * The bench fails the run on any kernel splat.
 *
 * Several threads fuzz at once (on an SMP guest, on different CPUs), each
 * with its own scratch memory and random stream, sharing the device, the
 * pidfds and the fd table: one thread's close_range() and exits race the
 * others' calls.
 *
 * Calls: C3C_FUZZ_CALLS (default 50000 per run, all threads together);
 * threads: C3C_FUZZ_THREADS (default 4); seed: C3C_FUZZ_SEED (default:
 * time), printed so that a failure can be replayed: thread i replays its
 * calls (seed and i give its stream), not their interleaving.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "../c3c_test.h"
#include "../rawsys.h"
#include "kselftest_harness.h"

#define CLONE_BIT37	(1ULL << 37)	/* CLONE_EMPTY_MNTNS of 7.1.13+ */

#define DEV_FD		1000	/* the device, out of close_range()'s way */
#define PIDFD_FD	1001	/* a pidfd of a live helper */
#define DEADFD_FD	1002	/* a pidfd of a reaped process */
#define OUT_FD		1003	/* the result pipe */

static __thread uint64_t rs;

static uint64_t rnd64(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(rnd64() % n) : 0;
}

static long page;
/* (Each thread's own: setup_memory().) */
/*
 * 4 RW pages: scratch for structs and outputs. The kernel may write up to
 * 16 KiB (an ioctl's _IOC_SIZE) at a pointer into them: RW_SLACK pages
 * more and a guard page keep that inside this mapping.
 */
#define RW_SLACK	6
static __thread char *rw;
static __thread char *cross;	/* RW page followed by a PROT_NONE page */
static __thread char *ro;	/* a read-only page (random contents) */
static __thread uintptr_t unmapped;	/* a hole */

/* A pointer of a random kind; @len bytes are meant to be read or written. */
static uintptr_t rnd_ptr(size_t len)
{
	switch (rnd(12)) {
	case 0:
		return 0;
	case 1:
		return unmapped + rnd(page);
	case 2:
		return 0xffffffff81000000ULL + rnd(1 << 20);	/* kernel text */
	case 3:
		return 0xffff888000000000ULL + rnd64() % (1ULL << 30); /* direct map */
	case 4:
		return 0x8000000000000000ULL | rnd64();	/* non-canonical */
	case 5:
		return (uintptr_t)-1 - rnd(64);
	case 6:	/* crossing into the PROT_NONE page */
		return (uintptr_t)cross + page - 1 - rnd(len ? len : 1);
	case 7:
		return (uintptr_t)ro + rnd(page);
	case 8:
		return (uintptr_t)rw + 2 * page + rnd(page);	/* unaligned too */
	default:
		return (uintptr_t)rw + 2 * page + 8 * rnd(page / 8 - 16);
	}
}

static const uint64_t sizes[] = {
	0, 1, 7, 8, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 56, 63, 64,
	65, 71, 72, 73, 80, 88, 96, 128, 4095, 4096, 4097, 8192, 1ULL << 32,
	~0ULL,
};

static uint64_t rnd_size(void)
{
	if (rnd(8) == 0)
		return rnd64() >> rnd(64);
	return sizes[rnd(sizeof(sizes) / sizeof(sizes[0]))];
}

/* Random clone flags: the 7.1 bits often, every other bit sometimes. */
static uint64_t rnd_flags(void)
{
	uint64_t f = 0;

	if (rnd(4)) {
		f |= rnd(2) ? CLONE_AUTOREAP : 0;
		f |= rnd(3) ? 0 : CLONE_NNP;
		f |= rnd(3) ? 0 : CLONE_PIDFD_AUTOKILL;
		f |= rnd(2) ? CLONE_PIDFD : 0;
		f |= rnd(8) ? 0 : CLONE_BIT37;
	}
	for (int i = rnd(4); i > 0; i--)
		f |= 1ULL << rnd(64);
	if (rnd(10) == 0)
		f |= CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
	if (rnd(10) == 0)
		f |= CLONE_VM | CLONE_VFORK;
	if (rnd(20) == 0)
		f = rnd64();
	/* A netns each is slow to clean up: rarely. */
	if (rnd(10))
		f &= ~(uint64_t)CLONE_NEWNET;
	return f;
}

static int rnd_signal(void)
{
	static const int sigs[] = { 0, 0, 0, SIGCHLD, SIGCHLD, SIGUSR1, 64, 65,
				    128, 256, -1 };
	int s = sigs[rnd(sizeof(sigs) / sizeof(sigs[0]))];

	/* The parent gets it when the child dies: not these. */
	if (s == SIGKILL || s == SIGSTOP)
		s = SIGCHLD;
	return s;
}

/* Fill @a (in rw) with random clone_args; @len the bytes meant. */
static void rnd_clone_args(struct clone_args *a, size_t len)
{
	memset(a, 0, len);
	a->flags = rnd_flags();
	a->exit_signal = rnd(10) ? (uint64_t)rnd_signal() : rnd64();
	/* Writable outputs point into scratch or somewhere invalid. */
	a->pidfd = rnd(3) ? (uintptr_t)(rw + 3 * page) : rnd_ptr(4);
	a->child_tid = rnd(3) ? (uintptr_t)(rw + 3 * page + 64) : rnd_ptr(4);
	a->parent_tid = rnd(3) ? (uintptr_t)(rw + 3 * page + 128) : rnd_ptr(4);
	if (rnd(4) == 0) {
		a->stack = rnd(2) ? (uintptr_t)(rw + 3 * page + 256) : rnd_ptr(0);
		a->stack_size = rnd(2) ? 256 : rnd_size();
	}
	a->tls = rnd(4) ? 0 : rnd64();
	if (rnd(6) == 0) {
		a->set_tid = rnd(2) ? (uintptr_t)(rw + 3 * page + 512) : rnd_ptr(8);
		a->set_tid_size = rnd(40);
		for (int i = 0; i < 32; i++)
			((pid_t *)(rw + 3 * page + 512))[i] = rnd(2) ? (pid_t)rnd(70000) : -1;
	}
	if (len >= 88)
		a->cgroup = rnd(4) ? rnd(8) : rnd64();
	/* A tail beyond struct clone_args: usually zero, sometimes not. */
	if (len > sizeof(*a) && rnd(4) == 0)
		((char *)a)[sizeof(*a) + rnd(len - sizeof(*a))] = 1 + rnd(255);
}

struct fuzz_stats {
	long calls, ok, children, errnos[256], bad;
	char first_bad[256];
};

static __thread struct fuzz_stats fs;

static void bad(const char *what, long ret, int err)
{
	if (fs.bad++ == 0)
		snprintf(fs.first_bad, sizeof(fs.first_bad),
			 "%s: ret %ld errno %d (seed replay: see above)", what, ret, err);
	fprintf(stderr, "# BAD %s: ret %ld errno %d\n", what, ret, err);
}

/* The errnos these calls may give; anything else is a finding. */
static bool allowed_errno(int e)
{
	switch (e) {
	case EINVAL: case E2BIG: case EFAULT: case ENOTTY: case EPERM:
	case EBADF: case ESRCH: case EREMOTE: case ENOMEM: case EAGAIN:
	case EEXIST: case ENOSPC: case EUSERS: case EOPNOTSUPP: case EACCES:
	case EBUSY: case ENOENT: case EMFILE: case ENODEV: case ECHILD:
	case EINTR: case ERESTART:
		return true;
	}
	return false;
}

static void account(const char *what, long ret, int err)
{
	fs.calls++;
	if (ret >= 0) {
		fs.ok++;
		return;
	}
	fs.errnos[err & 255]++;
	if (!allowed_errno(err))
		bad(what, ret, err);
}

/* Reap children; a sane one exited 0 (or was SIGKILLed by AUTOKILL). */
static void reap(void)
{
	int status;
	pid_t p;

	while ((p = waitpid(-1, &status, __WALL | WNOHANG)) > 0) {
		fs.children++;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			continue;
		bad("child status", p, status);
	}
}

static void fuzz_dev_ioctl(void)
{
	static const unsigned int cmds[] = {
		CLONE3_COMPAT_IOC_VERSION, CLONE3_COMPAT_IOC_FEATURES,
		CLONE3_COMPAT_IOC_CLONE3, CLONE3_COMPAT_IOC_PIDFD_GET_INFO,
	};
	unsigned int cmd;
	uintptr_t arg;
	uint64_t *s = (uint64_t *)(rw + 2 * page);
	long ret;
	int fd;

	switch (rnd(6)) {
	case 0:	/* a real command with another size or direction */
		cmd = cmds[rnd(4)];
		cmd = _IOC(rnd(4), _IOC_TYPE(cmd), _IOC_NR(cmd), rnd(1 << 14));
		break;
	case 1:	/* another number of our magic */
		cmd = _IOC(rnd(4), CLONE3_COMPAT_IOC_MAGIC, rnd(256), rnd(1 << 14));
		break;
	case 2:
		cmd = (unsigned int)rnd64();
		break;
	default:
		cmd = cmds[rnd(4)];
		break;
	}
	/* A plausible struct in scratch, or a random pointer. */
	if (rnd(3)) {
		arg = (uintptr_t)s;
		for (int i = 0; i < 8; i++)
			s[i] = rnd(3) ? 0 : rnd64();
		s[0] = rnd(3) ? _IOC_SIZE(cmd) : rnd_size();
		if (cmd == CLONE3_COMPAT_IOC_CLONE3 && rnd(2)) {
			/* point at random clone_args: this may spawn */
			size_t len = rnd(4) ? 64 + 8 * rnd(5) : rnd(page);
			struct clone_args *a = (void *)(rw + page);

			rnd_clone_args(a, len < 64 ? 64 : len);
			s[1] = rnd(8) ? (uintptr_t)a : rnd_ptr(len);
			s[2] = rnd(4) ? len : rnd_size();
		} else if (cmd == CLONE3_COMPAT_IOC_PIDFD_GET_INFO) {
			static const int fds[] = { PIDFD_FD, PIDFD_FD, DEADFD_FD,
						   DEV_FD, -1, 0, 999, 1 << 20 };

			((int32_t *)s)[2] = fds[rnd(8)];
			((uint32_t *)s)[3] = rnd(6) ? 0 : rnd64();
			s[2] = rnd(2) ? (uintptr_t)(rw + 3 * page) : rnd_ptr(72);
			*(uint64_t *)(rw + 3 * page) = rnd(2) ? 0xf : rnd64();
			s[3] = rnd(2) ? 72 : rnd_size();
		}
	} else {
		arg = rnd_ptr(48);
	}
	fd = rnd(16) ? DEV_FD : PIDFD_FD;
	if (fd == DEV_FD && cmd == CLONE3_COMPAT_IOC_CLONE3) {
		/* The child of a successful IOC_CLONE3 exits inside the asm. */
		ret = raw_syscall3_child_exits(SYS_ioctl, fd, cmd, arg);
		account("dev ioctl", ret < 0 ? -1 : ret, ret < 0 ? (int)-ret : 0);
	} else {
		ret = syscall(SYS_ioctl, fd, cmd, arg);
		account("dev ioctl", ret, ret < 0 ? errno : 0);
	}
}

static void fuzz_clone3(void)
{
	size_t len = rnd(4) ? 64 + 8 * rnd(5) : rnd(page + 64);
	struct clone_args *a = (void *)(rw + page - (rnd(4) ? 0 : 64));
	uintptr_t uargs;
	uint64_t size;
	long ret;

	rnd_clone_args(a, len < 64 ? 64 : len);
	uargs = rnd(10) ? (uintptr_t)a : rnd_ptr(len);
	size = rnd(6) ? len : rnd_size();
	ret = raw_syscall3_child_exits(SYS_clone3, uargs, size, 0);
	account("clone3", ret < 0 ? -1 : ret, ret < 0 ? (int)-ret : 0);
	/*
	 * Bit 37 (CLONE_EMPTY_MNTNS of 7.1.13+) is never accepted where the
	 * module provides the flags (this runs only there: it uses the
	 * device).
	 */
	if (ret >= 0 && uargs == (uintptr_t)a && size >= 8 &&
	    (a->flags & CLONE_BIT37))
		bad("clone3 accepted bit 37", ret, 0);
}

/* PIDFD_GET_INFO (and neighbours) on a pidfd, through pidfd_ioctl. */
static void fuzz_pidfd_ioctl(void)
{
	unsigned int cmd = _IOC(rnd(4), rnd(8) ? 0xFF : rnd(256),
				rnd(4) ? 11 : rnd(32),
				rnd(3) ? 72 : rnd(1 << 14));
	uintptr_t arg = rnd(2) ? (uintptr_t)(rw + 3 * page) : rnd_ptr(_IOC_SIZE(cmd));
	static const int fds[] = { PIDFD_FD, PIDFD_FD, DEADFD_FD };
	long ret;

	*(uint64_t *)(rw + 3 * page) = rnd(2) ? 0xf : rnd64();
	ret = syscall(SYS_ioctl, fds[rnd(3)], cmd, arg);
	account("pidfd ioctl", ret, ret < 0 ? errno : 0);
}

static void setup_memory(void)
{
	rw = mmap(NULL, (4 + RW_SLACK + 1) * page, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cross = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, page, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *hole = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (rw == MAP_FAILED || cross == MAP_FAILED || ro == MAP_FAILED ||
	    hole == MAP_FAILED)
		_exit(3);
	mprotect(rw + (4 + RW_SLACK) * page, page, PROT_NONE);
	mprotect(cross + page, page, PROT_NONE);
	for (long i = 0; i < page; i += 8)
		*(uint64_t *)(ro + i) = rnd(2) ? 0 : rnd64();
	mprotect(ro, page, PROT_READ);
	munmap(hole, page);
	unmapped = (uintptr_t)hole;
}

#define MAX_THREADS	32

struct fuzz_thread {
	pthread_t th;
	int idx;
	long calls;
	uint64_t seed;
	struct fuzz_stats res;
};

/* splitmix64: a thread's stream from the run's seed and its index. */
static uint64_t thread_seed(uint64_t seed, int i)
{
	uint64_t z = seed + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void *fuzz_thread_main(void *arg)
{
	struct fuzz_thread *t = arg;

	c3c_pin(t->idx);
	rs = t->seed | 1;
	setup_memory();
	for (long i = 0; i < t->calls; i++) {
		switch (rnd(10)) {
		case 0 ... 4:
			fuzz_dev_ioctl();
			break;
		case 5 ... 7:
			fuzz_clone3();
			break;
		default:
			fuzz_pidfd_ioctl();
			break;
		}
		reap();
		/* pidfds written into scratch, fds of CLONE_FILES children */
		if ((i & 63) == 0)
			syscall(SYS_close_range, 3, DEV_FD - 1, 0);
	}
	t->res = fs;
	return NULL;
}

/*
 * The fuzzing process: @calls calls over @nth threads, then the summed
 * stats through @out.
 */
static void fuzz_main(long calls, int nth, uint64_t seed, int out)
{
	static struct fuzz_thread th[MAX_THREADS];
	struct fuzz_stats sum = { 0 };
	pthread_attr_t attr;
	sigset_t all;
	int fd, pidfd = -1;
	pid_t helper, dead;

	/* Children's exit signals (random ones too) must not end us. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	page = sysconf(_SC_PAGESIZE);
	if (dup2(out, OUT_FD) != OUT_FD)
		_exit(4);
	close(out);
	out = OUT_FD;
	fd = c3c_dev();
	if (fd < 0 || dup2(fd, DEV_FD) != DEV_FD)
		_exit(4);
	close(fd);
	helper = fork();
	if (helper == 0) {
		/* Not the pipe: a fuzzer that dies must give the test EOF. */
		close(out);
		for (;;)
			pause();
	}
	pidfd = sys_pidfd_open(helper, 0);
	dead = fork();
	if (dead == 0)
		_exit(0);
	fd = sys_pidfd_open(dead, 0);
	waitpid(dead, NULL, 0);
	if (pidfd < 0 || fd < 0 || dup2(pidfd, PIDFD_FD) != PIDFD_FD ||
	    dup2(fd, DEADFD_FD) != DEADFD_FD)
		_exit(5);
	close(pidfd);
	close(fd);

	if (pthread_attr_init(&attr) ||
	    pthread_attr_setstacksize(&attr, 256 * 1024))
		_exit(7);
	for (int i = 0; i < nth; i++) {
		th[i].idx = i;
		th[i].calls = calls / nth + (i < calls % nth);
		th[i].seed = thread_seed(seed, i);
		if (pthread_create(&th[i].th, &attr, fuzz_thread_main, &th[i]))
			_exit(7);
	}
	for (int i = 0; i < nth; i++) {
		struct fuzz_stats *r = &th[i].res;

		if (pthread_join(th[i].th, NULL))
			_exit(7);
		sum.calls += r->calls;
		sum.ok += r->ok;
		sum.children += r->children;
		for (int e = 0; e < 256; e++)
			sum.errnos[e] += r->errnos[e];
		if (r->bad && !sum.bad)
			snprintf(sum.first_bad, sizeof(sum.first_bad),
				 "thread %d: %s", i, r->first_bad);
		sum.bad += r->bad;
	}
	kill(helper, SIGKILL);
	for (int i = 0; i < 200; i++) {
		reap();
		if (c3c_no_waitable_child() && waitpid(-1, NULL, __WALL | WNOHANG) < 0)
			break;
		usleep(10000);
	}
	sum.children += fs.children;
	sum.bad += fs.bad;
	if (fs.bad && sum.first_bad[0] == 0)
		snprintf(sum.first_bad, sizeof(sum.first_bad), "%s", fs.first_bad);
	if (write(out, &sum, sizeof(sum)) != sizeof(sum))
		_exit(6);
	_exit(0);
}

FIXTURE(fuzz) {
	long calls;
	int threads;
	uint64_t seed;
};

FIXTURE_SETUP(fuzz)
{
	const char *c = getenv("C3C_FUZZ_CALLS"), *s = getenv("C3C_FUZZ_SEED");
	const char *t = getenv("C3C_FUZZ_THREADS");

	self->calls = c && atol(c) > 0 ? atol(c) : 50000;
	self->threads = t && atoi(t) > 0 ? atoi(t) : 4;
	if (self->threads > MAX_THREADS)
		self->threads = MAX_THREADS;
	self->seed = s && strtoull(s, NULL, 0) ? strtoull(s, NULL, 0) :
		     (uint64_t)time(NULL) * 2654435761ULL ^ getpid();
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, device_pidfd_and_clone3, 3600)
{
	struct fuzz_stats res = { 0 };
	int p[2], status;
	pid_t pid;

	TH_LOG("%ld calls, %d threads on %d CPUs, C3C_FUZZ_SEED=%#llx C3C_FUZZ_THREADS=%d, %s",
	       self->calls, self->threads, c3c_ncpus(),
	       (unsigned long long)self->seed, self->threads,
	       geteuid() ? "user" : "root");
	ASSERT_TRUE(c3c_state_drained(5000));
	ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ASSERT_EQ(pipe(p), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[0]);
		fuzz_main(self->calls, self->threads, self->seed, p[1]);
	}
	close(p[1]);
	EXPECT_EQ(read(p[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	EXPECT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("fuzzer status %#x", status);
	/* CLONE_PARENT children of the fuzzer, and its orphans, are ours. */
	for (int i = 0; i < 300; i++) {
		while (waitpid(-1, &status, __WALL | WNOHANG) > 0)
			;
		if (c3c_no_waitable_child())
			break;
		usleep(10000);
	}
	/* (scripts/check sums these lines into the fuzz count per kernel) */
	TH_LOG("fuzz: %ld calls, %ld ok, %ld children reaped", res.calls,
	       res.ok, res.children);
	TH_LOG("errnos: EINVAL %ld E2BIG %ld EFAULT %ld ENOTTY %ld EPERM %ld EBADF %ld ESRCH %ld",
	       res.errnos[EINVAL], res.errnos[E2BIG], res.errnos[EFAULT],
	       res.errnos[ENOTTY], res.errnos[EPERM], res.errnos[EBADF],
	       res.errnos[ESRCH]);
	EXPECT_EQ(res.bad, 0) TH_LOG("first: %s", res.first_bad);
	EXPECT_GE(res.calls, self->calls);
	EXPECT_TRUE(c3c_state_drained(10000)) {
		struct clone3_compat_features f;

		c3c_features(&f);
		TH_LOG("state not drained: tracked %llu autokill_files %llu",
		       (unsigned long long)f.tracked,
		       (unsigned long long)f.autokill_files);
	}
}

TEST_HARNESS_MAIN
