// SPDX-License-Identifier: GPL-2.0
/*
 * bench: the microbenchmarks of docs/benchmarks.md, run inside a guest by
 * tests/bench/guest.sh (see scripts/bench).
 *
 *   bench [-v] [-p PHASE] [-s SCALE] TEST...
 *
 * Each TEST prints one line
 *
 *   RESULT PHASE TEST VALUE ITERS
 *
 * where VALUE is nanoseconds per operation from CLOCK_MONOTONIC; under
 * QEMU's -icount shift=0 one guest nanosecond is one instruction. A test
 * that cannot run (no module loaded, say) prints "SKIP PHASE TEST why".
 * SCALE multiplies the iteration counts (default 1.0). -v adds the
 * figure of each block of a measurement ("BLOCKS PHASE TEST v1 v2 ...").
 *
 * The measured loops do no string work and pass the kernel only static
 * buffers: the cost of a glibc string function or of a copy to the user
 * stack depends on where the argument strings put the stack top, which
 * differs between runs with different TEST lists (100-200 instructions
 * per call were seen that way).
 *
 * Tests (the P numbers are those of docs/benchmarks.md):
 *   fork vfork clone3                   P1: ordinary children, wait()ed
 *   file pipe unix inet
 *   ioctl_pipe ioctl_tty ioctl_file     P2: open/close and ioctl
 *   pidfd_clone3                        P3 base: clone3(CLONE_PIDFD) + poll
 *                                       + wait
 *   spawn_ioctl spawn_ioctl_fd
 *   spawn_clone3                        P3: AUTOREAP|AUTOKILL|NNP, poll, close
 *                                       (ioctl: the device kept open, as
 *                                       libclone3compat does, or opened
 *                                       per spawn, for comparison)
 *   spawn_reap                          P3 detail: AUTOREAP|NNP, no AUTOKILL
 *   kill_sigkill                        P4 base: pidfd_send_signal -> death
 *   kill_autokill kill_autokill_sigkill P4: close(pidfd) -> death (and the
 *                                       signal, on the same kind of child)
 *   bgN bguN bgpN                       P5: spawn_ioctl_fd with N tracked
 *                                       live AUTOREAP|NNP children (bg),
 *                                       with N untracked ones (bgu); bgp:
 *                                       pidfd_clone3 with N untracked ones
 *   pdeathsig                           P6 base: fork + PR_SET_PDEATHSIG
 *   guard_clone3 guard_ioctl
 *   guard_ioctl_fd                      P6: AUTOREAP|AUTOKILL spawn
 *   mem_plain mem_autoreap mem_autokill memory per live child (MEM, SLAB)
 *   heldN                               P7: spawn_ioctl_fd while N exited,
 *                                       reaped children's pidfds are held
 *                                       (each one a state entry with its
 *                                       exit status)
 *   exitsN                              P7: N children with pidfds held
 *                                       exit at once, until all are
 *                                       reaped: per exit
 */
#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <linux/sched.h>

#include "../../include/uapi/linux/clone3_compat.h"
#include "../procfs.h"
#include "../rawsys.h"

#define NEW3	(CLONE_AUTOREAP | CLONE_PIDFD_AUTOKILL | CLONE_NNP)

static const char *phase = "-";
static double scale = 1.0;
static int devfd = -1;		/* kept open for spawn_ioctl_fd */
static bool verbose;		/* -v: print each block's figure too */

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static long iters(long n)
{
	long v = (long)(n * scale);

	return v < 1 ? 1 : v;
}

static void result(const char *test, double ns, long n)
{
	printf("RESULT %s %s %.1f %ld\n", phase, test, ns, n);
	fflush(stdout);
}

static void skip(const char *test, const char *why)
{
	printf("SKIP %s %s %s\n", phase, test, why);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool module_loaded(void)
{
	return access(CLONE3_COMPAT_DEVICE, F_OK) == 0;
}

/* ------------------------------------------------------------ operations */

enum op {
	OP_FORK, OP_VFORK, OP_CLONE3, OP_PIDFD_CLONE3, OP_PDEATHSIG,
	OP_SPAWN_LIB, OP_SPAWN_FD, OP_SPAWN_CLONE3, OP_SPAWN_REAP,
	OP_GUARD_CLONE3, OP_GUARD_LIB, OP_GUARD_FD,
	OP_FILE, OP_PIPE, OP_UNIX, OP_INET, OP_IOCTL_PIPE, OP_IOCTL_TTY,
	OP_IOCTL_FILE,
	OP_KILL_SIGKILL, OP_KILL_AUTOKILL, OP_KILL_AUTOKILL_SIGKILL,
};

/* Everything the kernel reads or writes for a measured operation. */
static struct clone_args cargs;
static struct clone3_compat_clone3 creq;
static struct pollfd pfd;
static struct termios tio;
static int child_pidfd, wstatus, nread, pipefds[2];
static int ttyfd = -1, filefd = -1, ipipe[2] = { -1, -1 };

static pid_t spawn_via(enum op via, uint64_t flags, int exit_signal)
{
	int fd, err;
	pid_t pid;

	cargs = (struct clone_args){
		.flags = flags,
		.pidfd = (uintptr_t)&child_pidfd,
		.exit_signal = exit_signal,
	};
	creq = (struct clone3_compat_clone3){
		.size = sizeof(creq),
		.args = (uintptr_t)&cargs,
		.args_size = sizeof(cargs),
	};
	child_pidfd = -1;
	switch (via) {
	case OP_SPAWN_LIB:
		/* What keeping the device open saves: opened per spawn. */
		fd = open(CLONE3_COMPAT_DEVICE, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return -1;
		pid = ioctl(fd, CLONE3_COMPAT_IOC_CLONE3, &creq);
		err = errno;
		close(fd);	/* parent and child each close their copy */
		errno = err;
		return pid;
	case OP_SPAWN_FD:
		return ioctl(devfd, CLONE3_COMPAT_IOC_CLONE3, &creq);
	default:
		return syscall(SYS_clone3, &cargs, sizeof(cargs));
	}
}

static void wait_readable(int fd)
{
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (poll(&pfd, 1, -1) != 1)
		if (errno != EINTR)
			die("poll");
}

static void reap(pid_t pid)
{
	if (waitpid(pid, &wstatus, 0) != pid)
		die("waitpid");
}

/* P1, P3, P6: spawn, the child exits at once, the parent waits for it. */
static int one_child(int op)
{
	pid_t pid, ppid;

	switch (op) {
	case OP_FORK:
		pid = fork();
		break;
	case OP_VFORK:
		pid = vfork();
		break;
	case OP_CLONE3:
		pid = spawn_via(OP_CLONE3, 0, SIGCHLD);
		break;
	case OP_PIDFD_CLONE3:
		pid = spawn_via(OP_CLONE3, CLONE_PIDFD, SIGCHLD);
		break;
	case OP_PDEATHSIG:
		ppid = getpid();
		pid = fork();
		if (pid == 0) {
			/* The usual idiom: the parent may be gone already. */
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != ppid)
				_exit(1);
			_exit(0);
		}
		break;
	case OP_SPAWN_LIB:
	case OP_SPAWN_FD:
	case OP_SPAWN_CLONE3:
		pid = spawn_via(op, CLONE_PIDFD | NEW3, 0);
		break;
	case OP_SPAWN_REAP:	/* the same without AUTOKILL */
		pid = spawn_via(OP_SPAWN_CLONE3,
				CLONE_PIDFD | CLONE_AUTOREAP | CLONE_NNP, 0);
		break;
	case OP_GUARD_CLONE3:	/* root may have AUTOKILL without NNP */
	case OP_GUARD_LIB:
	case OP_GUARD_FD:
		pid = spawn_via(op == OP_GUARD_CLONE3 ? OP_SPAWN_CLONE3 :
				op == OP_GUARD_LIB ? OP_SPAWN_LIB : OP_SPAWN_FD,
				CLONE_PIDFD | CLONE_AUTOREAP | CLONE_PIDFD_AUTOKILL, 0);
		break;
	default:
		return -1;
	}
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(0);
	if (op >= OP_SPAWN_LIB) {
		/* Autoreaped: the pidfd tells when it is gone. */
		wait_readable(child_pidfd);
		close(child_pidfd);
		return 0;
	}
	/* As systemd, Rust's std and Go do: poll the pidfd, then wait. */
	if (op == OP_PIDFD_CLONE3)
		wait_readable(child_pidfd);
	reap(pid);
	if (op == OP_PIDFD_CLONE3)
		close(child_pidfd);
	return 0;
}

/* P2 */
static int one_fdop(int op)
{
	int fd;

	switch (op) {
	case OP_FILE:
		fd = open("/tmp/bench.file", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		close(fd);
		break;
	case OP_PIPE:
		if (pipe2(pipefds, O_CLOEXEC))
			return -1;
		close(pipefds[0]);
		close(pipefds[1]);
		break;
	case OP_UNIX:
	case OP_INET:
		fd = op == OP_UNIX ?
		     socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) :
		     socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		close(fd);
		break;
	case OP_IOCTL_PIPE:
		return ioctl(ipipe[0], FIONREAD, &nread);
	case OP_IOCTL_TTY:
		return ioctl(ttyfd, TCGETS, &tio);
	case OP_IOCTL_FILE:
		return ioctl(filefd, FIONREAD, &nread);
	default:
		return -1;
	}
	return 0;
}

/*
 * Idle a while (no wall time under -icount sleep=off): pending RCU and
 * workqueue work of the previous test runs now, not inside the next
 * measurement. Without it a spawn test that follows another one starts
 * with an "episode" of +10 % per spawn for its first few blocks.
 */
static void settle(void)
{
	usleep(300000);
}

#define BLOCKS	10

/*
 * n operations in BLOCKS blocks; the result is the median of the blocks'
 * per-operation times, which leaves out the block that happened to run
 * an RCU batch or a kworker (a few million instructions at once).
 */
static void measure(const char *name, long n, int (*fn)(int), int op)
{
	double per[BLOCKS];
	long b, i, m = n / BLOCKS < 1 ? 1 : n / BLOCKS;

	settle();
	/* Warm up, and find out whether it works at all. */
	for (i = 0; i < 20; i++) {
		if (fn(op)) {
			char why[128];

			snprintf(why, sizeof(why), "failed: %s", strerror(errno));
			skip(name, why);
			return;
		}
	}
	for (b = 0; b < BLOCKS; b++) {
		uint64_t t0 = now_ns();

		for (i = 0; i < m; i++)
			if (fn(op))
				die(name);
		per[b] = (double)(now_ns() - t0) / m;
	}
	if (verbose) {
		printf("BLOCKS %s %s", phase, name);
		for (b = 0; b < BLOCKS; b++)
			printf(" %.0f", per[b]);
		printf("\n");
	}
	result(name, median(per, BLOCKS), m * BLOCKS);
}

/* ------------------------------------------------------------ P4 */

/*
 * One kill: a child asleep in pause() is killed by closing its AUTOKILL
 * pidfd or by pidfd_send_signal(); the time is from the kill to the
 * moment a pidfd_open() fd polls readable. Returns ns, 0 on failure.
 */
static uint64_t one_kill(int op)
{
	bool autokill = op != OP_KILL_SIGKILL;
	bool byclose = op == OP_KILL_AUTOKILL;
	int watch, ready[2];
	uint64_t t0, t1;
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		die("pipe2");
	pid = spawn_via(OP_SPAWN_CLONE3,
			autokill ? CLONE_PIDFD | NEW3 : CLONE_PIDFD,
			autokill ? 0 : SIGCHLD);
	if (pid < 0) {
		close(ready[0]);
		close(ready[1]);
		return 0;
	}
	if (pid == 0) {
		close(ready[0]);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		die("ready");
	close(ready[0]);
	/* The same state every time: asleep in pause(). */
	while (procfs_state(pid) != 'S')
		sched_yield();
	watch = syscall(SYS_pidfd_open, pid, 0);
	if (watch < 0)
		die("pidfd_open");

	t0 = now_ns();
	if (byclose)
		close(child_pidfd);
	else if (syscall(SYS_pidfd_send_signal, child_pidfd, SIGKILL, NULL, 0))
		die("pidfd_send_signal");
	wait_readable(watch);
	t1 = now_ns();

	if (!byclose)
		close(child_pidfd);
	if (!autokill)
		reap(pid);
	close(watch);
	return t1 - t0;
}

static void bench_kill(const char *name, long n, int op)
{
	double *v = malloc(n * sizeof(*v));
	long i;

	if (!v)
		die("malloc");
	settle();
	for (i = 0; i < 5; i++) {
		if (!one_kill(op)) {
			skip(name, "spawn failed");
			free(v);
			return;
		}
	}
	for (i = 0; i < n; i++)
		v[i] = one_kill(op);
	/* Each kill is timed alone: the median of them. */
	result(name, median(v, n), n);
	free(v);
}

/* ------------------------------------------------------------ P5, memory */

static int features(struct clone3_compat_features *f)
{
	int fd = open(CLONE3_COMPAT_DEVICE, O_RDWR | O_CLOEXEC), ret;

	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	if (fd < 0)
		return -1;
	ret = ioctl(fd, CLONE3_COMPAT_IOC_FEATURES, f);
	close(fd);
	return ret;
}

/* Wait (bounded) until the module holds no state: frees are deferred. */
static void drain(void)
{
	struct clone3_compat_features f;
	int i;

	for (i = 0; i < 300; i++) {
		if (features(&f) || (f.tracked == 0 && f.autokill_files == 0))
			return;
		usleep(100000);
	}
	fprintf(stderr, "bench: module state did not drain: %llu tracked, %llu files\n",
		(unsigned long long)f.tracked, (unsigned long long)f.autokill_files);
}

struct slab {
	char name[64];
	long active, objsize, slabs, pages;
};

#define MAX_SLABS 512

static int read_slabinfo(struct slab *s)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "re");
	int n = 0;

	if (!f)
		return 0;
	while (n < MAX_SLABS && fgets(line, sizeof(line), f)) {
		long num, perslab, act_slabs;

		if (sscanf(line, "%63s %ld %ld %ld %ld %ld : tunables %*d %*d %*d : slabdata %ld %ld",
			   s[n].name, &s[n].active, &num, &s[n].objsize,
			   &perslab, &s[n].pages, &act_slabs, &s[n].slabs) == 8)
			n++;
	}
	fclose(f);
	return n;
}

static long sysfs_long(const char *cache, const char *attr)
{
	char path[128], buf[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/%s", cache, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	return atol(buf);
}

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/meminfo", "re");
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = atol(line + klen + 1);
			break;
		}
	fclose(f);
	return v;
}

struct snap {
	struct slab slab[MAX_SLABS];
	int nslab;
	long c3c_objs, tracked, files, slab_kb;
};

static void snapshot(struct snap *s)
{
	struct clone3_compat_features f;

	s->nslab = read_slabinfo(s->slab);
	s->c3c_objs = sysfs_long("c3c_task", "objects");
	s->tracked = s->files = 0;
	if (features(&f) == 0) {
		s->tracked = f.tracked;
		s->files = f.autokill_files;
	}
	s->slab_kb = meminfo_kb("Slab");
}

/* The slab caches that grew by at least n/2 objects, and the total. */
static void report_mem(const char *set, const struct snap *a,
		       const struct snap *b, long n)
{
	long total = 0;
	int i, j;

	for (i = 0; i < b->nslab; i++) {
		const struct slab *y = &b->slab[i];
		long d = y->active;

		for (j = 0; j < a->nslab; j++)
			if (!strcmp(a->slab[j].name, y->name)) {
				d -= a->slab[j].active;
				break;
			}
		total += d * y->objsize;
		if (d >= n / 2)
			printf("SLAB %s %s %s objs=%ld objsize=%ld per_child=%.2f\n",
			       phase, set, y->name, d, y->objsize, (double)d / n);
	}
	printf("MEM %s %s n=%ld slab_objbytes_per_child=%.1f slab_kb_per_child=%.3f tracked=%ld autokill_files=%ld c3c_task_objs=%ld c3c_task_objsize=%ld c3c_task_slabsize=%ld\n",
	       phase, set, n, (double)total / n,
	       (double)(b->slab_kb - a->slab_kb) / n, b->tracked - a->tracked,
	       b->files - a->files,
	       a->c3c_objs >= 0 && b->c3c_objs >= 0 ? b->c3c_objs - a->c3c_objs : -1,
	       sysfs_long("c3c_task", "object_size"),
	       sysfs_long("c3c_task", "slab_size"));
	fflush(stdout);
}

/*
 * A herd of n live children, each asleep on a futex until the parent lets
 * them go. They share the parent's memory (CLONE_VM, each on its own small
 * stack), which makes 10 000 of them cheap to create and keep: the kernel
 * and the module see n live processes all the same. Such a child must not
 * touch libc (it shares the parent's TLS and heap): raw syscalls only.
 */
#define HERD_STACK	2048

static int herd_ready, herd_go;

static void futex_wait(int *word, int val)
{
	raw_syscall3(SYS_futex, (long)word, FUTEX_WAIT_PRIVATE, val);
}

static void futex_wake(int *word)
{
	raw_syscall3(SYS_futex, (long)word, FUTEX_WAKE_PRIVATE, INT_MAX);
}

static void __attribute__((noreturn, used)) herd_child(void)
{
	__atomic_add_fetch(&herd_ready, 1, __ATOMIC_SEQ_CST);
	futex_wake(&herd_ready);
	while (!__atomic_load_n(&herd_go, __ATOMIC_SEQ_CST))
		futex_wait(&herd_go, 0);
	raw_syscall3(SYS_exit, 0, 0, 0);
	for (;;)
		;
}

/*
 * The ioctl or clone3 syscall whose child starts on args->stack: it must
 * not return into the caller's frames, so it calls herd_child() there.
 */
static long herd_syscall(long nr, long a, long b, long c)
{
	return raw_syscall3_child_calls(nr, a, b, c, herd_child);
}

struct herd {
	long n;
	char *stacks;		/* mapping of len bytes: stacks, pids, pidfds */
	size_t len;
	int *pidfds;		/* or NULL */
	pid_t *pids;
	bool reap;		/* exit_signal SIGCHLD: wait for them */
};

/*
 * flags & NEW3: through the device (fd kept open), else clone3(). With
 * pidfds, the children share the fd table (CLONE_FILES): no child copies
 * the pidfds of the ones before it.
 */
static void herd_start(struct herd *h, long n, uint64_t flags, bool pidfds)
{
	long i;
	int v;

	herd_ready = herd_go = 0;
	h->n = n;
	h->reap = !(flags & CLONE_AUTOREAP);
	/*
	 * Stacks and arrays in one mapping that forks do not copy: the
	 * measured spawns must not pay for the size of the herd's memory.
	 */
	h->len = n * (HERD_STACK + sizeof(pid_t) + sizeof(int));
	h->stacks = mmap(NULL, h->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->stacks == MAP_FAILED)
		die("mmap");
	if (madvise(h->stacks, h->len, MADV_DONTFORK))
		die("madvise");
	h->pids = (pid_t *)(h->stacks + n * HERD_STACK);
	h->pidfds = pidfds ? (int *)(h->pids + n) : NULL;
	for (i = 0; i < n; i++) {
		int pidfd = -1;
		struct clone_args a = {
			.flags = flags | CLONE_VM |
				 (pidfds ? CLONE_PIDFD | CLONE_FILES : 0),
			.pidfd = (uintptr_t)&pidfd,
			.exit_signal = h->reap ? SIGCHLD : 0,
			.stack = (uintptr_t)(h->stacks + i * HERD_STACK),
			.stack_size = HERD_STACK,
		};
		struct clone3_compat_clone3 req = {
			.size = sizeof(req),
			.args = (uintptr_t)&a,
			.args_size = sizeof(a),
		};
		long pid;

		if (flags & NEW3)
			pid = herd_syscall(SYS_ioctl, devfd,
					   CLONE3_COMPAT_IOC_CLONE3, (long)&req);
		else
			pid = herd_syscall(SYS_clone3, (long)&a, sizeof(a), 0);
		if (pid < 0) {
			errno = -pid;
			die("herd spawn");
		}
		h->pids[i] = pid;
		if (pidfds)
			h->pidfds[i] = pidfd;
	}
	while ((v = __atomic_load_n(&herd_ready, __ATOMIC_SEQ_CST)) < n)
		futex_wait(&herd_ready, v);
}

/* Let the herd exit and reap it; its pidfds go to @keep (or are closed). */
static void herd_release(struct herd *h, int *keep)
{
	long i;

	__atomic_store_n(&herd_go, 1, __ATOMIC_SEQ_CST);
	futex_wake(&herd_go);
	if (h->reap)
		for (i = 0; i < h->n; i++)
			reap(h->pids[i]);
	if (h->pidfds)
		for (i = 0; i < h->n; i++) {
			if (keep)
				keep[i] = h->pidfds[i];
			else
				close(h->pidfds[i]);
		}
}

static void herd_end_keep(struct herd *h, int *keep)
{
	herd_release(h, keep);
	/* Autoreaped ones may still run on their stacks: wait for them. */
	if (module_loaded() && !keep)
		drain();
	munmap(h->stacks, h->len);
}

static void herd_end(struct herd *h)
{
	herd_end_keep(h, NULL);
}


static void raise_nofile(long n)
{
	struct rlimit r = { .rlim_cur = n + 64, .rlim_max = n + 64 };
	struct rlimit old;

	if (getrlimit(RLIMIT_NOFILE, &old) == 0 && old.rlim_cur >= r.rlim_cur)
		return;
	if (setrlimit(RLIMIT_NOFILE, &r))
		die("setrlimit(RLIMIT_NOFILE)");
}

/*
 * P5: the spawn cost while n children live. bgN: tracked (AUTOREAP|NNP
 * through the device), measuring spawn_ioctl_fd; bguN: untracked (plain
 * clone3 + SIGCHLD), the same measurement; bgpN: untracked, measuring
 * pidfd_clone3 (for the stock kernel).
 */
static void bench_background(const char *name, char kind, long n)
{
	int op = kind == 'p' ? OP_PIDFD_CLONE3 : OP_SPAWN_FD;
	struct snap *a, *b;
	struct herd h;

	if (kind != 'p' && !module_loaded()) {
		skip(name, "module not loaded");
		return;
	}
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	if (!a || !b)
		die("malloc");
	if (module_loaded())
		drain();
	settle();
	snapshot(a);
	herd_start(&h, n, kind == 't' ? CLONE_AUTOREAP | CLONE_NNP : 0, false);
	settle();
	snapshot(b);
	report_mem(name, a, b, n);
	measure(name, iters(300), one_child, op);
	herd_end(&h);
	free(a);
	free(b);
}

/*
 * P7: the spawn cost while n exited and reaped children's pidfds are held
 * (plain clone3(CLONE_PIDFD) children, made and reaped in batches so that
 * few live at a time): n state entries that keep an exit status. A helper
 * process makes and holds them: in the measuring process, n more open
 * files would make every fork copy a bigger fd table.
 */
static void bench_held(const char *name, long n)
{
	const long batch = 1000;
	struct snap *a, *b;
	int go[2], ready[2];
	pid_t holder;
	char c = 0;

	if (!module_loaded()) {
		skip(name, "module not loaded");
		return;
	}
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	if (!a || !b || pipe2(go, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		die("malloc/pipe");
	drain();
	settle();
	snapshot(a);
	holder = fork();
	if (holder < 0)
		die("fork");
	if (holder == 0) {
		int *fds = malloc(n * sizeof(*fds));
		struct herd h;
		long i;

		if (!fds)
			_exit(1);
		raise_nofile(n + batch);
		for (i = 0; i < n; i += batch) {
			long k = n - i < batch ? n - i : batch;

			herd_start(&h, k, 0, true);
			herd_end_keep(&h, fds + i);
		}
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		/* Until the measurement is done: then exit, closing them all. */
		close(go[1]);
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		die("holder");
	settle();
	snapshot(b);
	report_mem(name, a, b, n);
	measure(name, iters(300), one_child, OP_SPAWN_FD);
	close(go[1]);
	reap(holder);
	close(go[0]);
	close(ready[0]);
	drain();
	free(a);
	free(b);
}

/*
 * P7: n live children whose pidfds are held exit at once; the time from
 * the go to the last reap, per exit. With and without the module.
 */
static void bench_exits(const char *name, long n)
{
	double v[3];
	struct herd h;
	int r;

	raise_nofile(n);
	for (r = 0; r < 3; r++) {
		uint64_t t0;

		herd_start(&h, n, 0, true);
		settle();
		t0 = now_ns();
		herd_release(&h, NULL);
		v[r] = (double)(now_ns() - t0) / n;
		munmap(h.stacks, h.len);
		if (module_loaded())
			drain();
	}
	if (verbose)
		printf("BLOCKS %s %s %.1f %.1f %.1f\n", phase, name, v[0], v[1], v[2]);
	result(name, median(v, 3), n);
}

/* Memory held per live child of a kind, pidfds kept open. */
static void bench_mem(const char *name, uint64_t flags, long n)
{
	struct snap *a, *b;
	struct herd h;

	if (flags && !module_loaded()) {
		skip(name, "module not loaded");
		return;
	}
	raise_nofile(n);
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	if (!a || !b)
		die("malloc");
	if (module_loaded())
		drain();
	settle();
	snapshot(a);
	herd_start(&h, n, flags, true);
	settle();
	snapshot(b);
	report_mem(name, a, b, n);
	herd_end(&h);
	free(a);
	free(b);
}

/* ------------------------------------------------------------ main */

enum kind { K_CHILD, K_FDOP, K_KILL };

static const struct test {
	const char *name;
	enum kind kind;
	int op;
	bool module;	/* needs the module */
	long iters;
} tests[] = {
	{ "fork", K_CHILD, OP_FORK, false, 300 },
	{ "vfork", K_CHILD, OP_VFORK, false, 1000 },
	{ "clone3", K_CHILD, OP_CLONE3, false, 300 },
	{ "pidfd_clone3", K_CHILD, OP_PIDFD_CLONE3, false, 300 },
	{ "pdeathsig", K_CHILD, OP_PDEATHSIG, false, 300 },
	{ "spawn_ioctl", K_CHILD, OP_SPAWN_LIB, true, 300 },
	{ "spawn_ioctl_fd", K_CHILD, OP_SPAWN_FD, true, 300 },
	{ "spawn_clone3", K_CHILD, OP_SPAWN_CLONE3, true, 300 },
	{ "spawn_reap", K_CHILD, OP_SPAWN_REAP, true, 300 },
	{ "guard_clone3", K_CHILD, OP_GUARD_CLONE3, true, 300 },
	{ "guard_ioctl", K_CHILD, OP_GUARD_LIB, true, 300 },
	{ "guard_ioctl_fd", K_CHILD, OP_GUARD_FD, true, 300 },
	{ "file", K_FDOP, OP_FILE, false, 10000 },
	{ "pipe", K_FDOP, OP_PIPE, false, 10000 },
	{ "unix", K_FDOP, OP_UNIX, false, 10000 },
	{ "inet", K_FDOP, OP_INET, false, 10000 },
	{ "ioctl_pipe", K_FDOP, OP_IOCTL_PIPE, false, 2000 },
	{ "ioctl_tty", K_FDOP, OP_IOCTL_TTY, false, 2000 },
	{ "ioctl_file", K_FDOP, OP_IOCTL_FILE, false, 2000 },
	{ "kill_sigkill", K_KILL, OP_KILL_SIGKILL, false, 100 },
	{ "kill_autokill", K_KILL, OP_KILL_AUTOKILL, true, 100 },
	{ "kill_autokill_sigkill", K_KILL, OP_KILL_AUTOKILL_SIGKILL, true, 100 },
};

static void run(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		const struct test *t = &tests[i];

		if (strcmp(t->name, name))
			continue;
		if (t->module && !module_loaded()) {
			skip(name, "module not loaded");
			return;
		}
		switch (t->kind) {
		case K_CHILD:
			measure(name, iters(t->iters), one_child, t->op);
			break;
		case K_FDOP:
			measure(name, iters(t->iters), one_fdop, t->op);
			break;
		case K_KILL:
			bench_kill(name, iters(t->iters), t->op);
			break;
		}
		return;
	}
	if (!strncmp(name, "bgu", 3) || !strncmp(name, "bgp", 3))
		bench_background(name, name[2], atol(name + 3));
	else if (!strncmp(name, "bg", 2))
		bench_background(name, 't', atol(name + 2));
	else if (!strncmp(name, "held", 4))
		bench_held(name, atol(name + 4));
	else if (!strncmp(name, "exits", 5))
		bench_exits(name, atol(name + 5));
	else if (!strcmp(name, "mem_plain"))
		bench_mem(name, 0, 10000);
	else if (!strcmp(name, "mem_autoreap"))
		bench_mem(name, CLONE_AUTOREAP | CLONE_NNP, 10000);
	else if (!strcmp(name, "mem_autokill"))
		bench_mem(name, NEW3, 10000);
	else {
		fprintf(stderr, "bench: unknown test %s\n", name);
		exit(2);
	}
}

static int __attribute__((noinline)) bench_main(int argc, char **argv)
{
	int opt, fd;

	while ((opt = getopt(argc, argv, "p:s:v")) != -1) {
		switch (opt) {
		case 'p':
			phase = optarg;
			break;
		case 's':
			scale = atof(optarg);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, "usage: bench [-v] [-p PHASE] [-s SCALE] TEST...\n");
			return 2;
		}
	}
	fd = open("/tmp/bench.file", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("create /tmp/bench.file");
	close(fd);
	/* The fds of P2's ioctls, and the device for spawn_ioctl_fd. */
	if (pipe2(ipipe, O_CLOEXEC))
		die("pipe2");
	ttyfd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ttyfd < 0)
		die("open /dev/console");
	filefd = open("/tmp/bench.file", O_RDONLY | O_CLOEXEC);
	if (filefd < 0)
		die("open /tmp/bench.file");
	devfd = open(CLONE3_COMPAT_DEVICE, O_RDWR | O_CLOEXEC | O_NOCTTY);
	/*
	 * Without the module, a stand-in: every child copies and closes the
	 * fd table, so both phases must have the same number of open files
	 * (one more file is about 200 instructions a vfork).
	 */
	if (devfd < 0)
		open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (; optind < argc; optind++)
		run(argv[optind]);
	return 0;
}

/*
 * Start the measured code at the same offset in a stack page in every run.
 * The kernel puts the stack top at a random offset (ASLR), after argument
 * strings whose length differs between phases; where the hot frames then
 * straddle a page boundary, each fork costs an extra copy-on-write fault
 * (3 % of a fork, seen as two "modes" of the same measurement).
 */
int main(int argc, char **argv)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	char *pad = alloca((sp & 4095) + 1024);

	asm volatile ("" : : "r" (pad) : "memory");
	return bench_main(argc, argv);
}
