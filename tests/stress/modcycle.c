// SPDX-License-Identifier: GPL-2.0
/*
 * Load/unload cycles (root): C3C_MODCYCLE_CYCLES (default 50) times, run a
 * small workload, check that delete_module() is refused while state is
 * live, release it, check that the module's state drains and delete_module()
 * then succeeds, and load the module again with the parameters it had.
 * Across the cycles neither the module's slab cache nor the kernel's
 * unreclaimable slab or available memory may grow.
 *
 * What the kernel returns: delete_module(O_NONBLOCK) of a module whose
 * refcount is not zero fails with EWOULDBLOCK, which is EAGAIN (11) on
 * Linux, not EBUSY (kernel/module/main.c: try_stop_module()). EBUSY would
 * only come from a module that other modules use, or one still loading.
 *
 * The module pins itself per tracked process, per live AUTOKILL pidfd
 * file and (6.1) per pidfd made while it is loaded; an open
 * /dev/clone3_compat pins it as any open file of a module's device does.
 * The module's .ko is /test/clone3_compat.ko in the bench's guest
 * (C3C_MODULE_KO overrides).
 *
 * Unload safety: a call that sleeps inside module code (here: in a page
 * fault that userfaultfd holds open) keeps the module pinned, so rmmod is
 * refused until the call has left; and load/unload cycles run while other
 * processes hammer every entry into the module.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <linux/userfaultfd.h>

#include "../c3c_test.h"
#include "kselftest_harness.h"

#define MOD "clone3_compat"

static const char *ko_path(void)
{
	const char *p = getenv("C3C_MODULE_KO");

	return p && *p ? p : "/test/clone3_compat.ko";
}

static bool mod_loaded(void)
{
	return access("/sys/module/" MOD, F_OK) == 0;
}

static int sys_delete_module(void)
{
	return syscall(SYS_delete_module, MOD, O_NONBLOCK);
}

/* "name=value ..." of the loaded module's parameters, to load it again. */
static void mod_params(char *buf, size_t len)
{
	static const char *const names[] = { "transparent" };

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[128], val[64] = "";
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "/sys/module/" MOD "/parameters/%s",
			 names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, val, sizeof(val) - 1);
		close(fd);
		if (n <= 0)
			continue;
		val[n] = 0;
		val[strcspn(val, "\n")] = 0;
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s=%s",
			 buf[0] ? " " : "", names[i], val);
	}
}

static int insmod(const char *params)
{
	int fd = open(ko_path(), O_RDONLY | O_CLOEXEC), ret, err;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, params, 0);
	err = errno;
	close(fd);
	errno = err;
	if (ret == 0) {
		/* devtmpfs makes the node; wait for it, bounded */
		for (int i = 0; i < 200 && access(CLONE3_COMPAT_DEVICE, F_OK); i++)
			usleep(5000);
	}
	return ret;
}

/* delete_module(), retried for up to @ms while it says EAGAIN. */
static int rmmod_retry(int ms)
{
	int ret;

	for (int i = 0;; i++) {
		ret = sys_delete_module();
		if (ret == 0 || errno != EAGAIN || i * 20 >= ms)
			return ret;
		usleep(20000);
	}
}

static long meminfo(const char *key)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, key);
	return p ? atol(p + strlen(key) + 1) : -1;
}

/* Active objects of the c3c_task cache in /proc/slabinfo; -1 if absent. */
static long slab_objs(const char *cache)
{
	char line[512];
	long active = -1;
	FILE *f = fopen("/proc/slabinfo", "re");

	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		long a;

		if (sscanf(line, "%63s %ld", name, &a) == 2 && !strcmp(name, cache))
			active = a;
	}
	fclose(f);
	return active;
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	sync();
	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			perror("drop_caches");
		close(fd);
	}
}

static pid_t spawn_pause(uint64_t flags, int *pidfd, bool via_ioctl)
{
	struct clone_args a = {
		.flags = flags,
		.pidfd = (uintptr_t)pidfd,
	};
	pid_t pid = via_ioctl ? c3c_spawn(&a, sizeof(a)) : sys_clone3(&a, sizeof(a));

	if (pid == 0) {
		syscall(SYS_close_range, 3, ~0U, 0);
		for (;;)
			pause();
	}
	return pid;
}

/* A burst of short-lived children through both paths, all flag mixes. */
static int workload(int n)
{
	static const uint64_t mixes[] = {
		CLONE_AUTOREAP, CLONE_AUTOREAP | CLONE_PIDFD,
		CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD,
		CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD | CLONE_PIDFD_AUTOKILL,
		CLONE_NNP | CLONE_PIDFD, CLONE_PIDFD,
	};
	int bad = 0;

	for (int i = 0; i < n; i++) {
		uint64_t f = mixes[i % 6];
		struct clone_args a = {
			.flags = f,
			.pidfd = 0,
			.exit_signal = (f & CLONE_AUTOREAP) ? 0 : SIGCHLD,
		};
		int pidfd = -1;
		pid_t pid;

		a.pidfd = (uintptr_t)&pidfd;
		pid = (i & 1) ? c3c_spawn(&a, sizeof(a)) : sys_clone3(&a, sizeof(a));
		if (pid == 0)
			_exit(i & 0x7f);
		if (pid < 0) {
			bad++;
			continue;
		}
		if (pidfd >= 0) {
			if (!c3c_wait_pidfd(pidfd, 5000))
				bad++;
			close(pidfd);
		}
		if (!(f & CLONE_AUTOREAP))
			waitpid(pid, NULL, 0);
	}
	return bad;
}

FIXTURE(modcycle) {
	char params[256];
	int cycles;
};

FIXTURE_SETUP(modcycle)
{
	const char *c = getenv("C3C_MODCYCLE_CYCLES");

	self->cycles = c && atoi(c) > 0 ? atoi(c) : 50;
	ASSERT_EQ(geteuid(), 0) TH_LOG("needs root (vm-tests.list: root)");
	ASSERT_TRUE(mod_loaded()) TH_LOG("the bench loads the module first");
	ASSERT_EQ(access(ko_path(), R_OK), 0) TH_LOG("no %s", ko_path());
	mod_params(self->params, sizeof(self->params));
}

FIXTURE_TEARDOWN(modcycle)
{
	/* Leave the module loaded for the tests after this one. */
	if (!mod_loaded())
		insmod(self->params);
}

enum { LIVE_PROCESS, LIVE_AUTOKILL_FILE, LIVE_EXIT_STATUS, LIVE_DEVICE, NR_LIVE };

static const char *const live_names[] = {
	"a tracked autoreap process",
	"an AUTOKILL pidfd file (child dead)",
	"a pidfd holding an autoreaped child's exit status",
	"an open /dev/clone3_compat",
};

TEST_F_TIMEOUT(modcycle, load_unload, 3600)
{
	long unrec0 = 0, avail0 = 0, slab0 = 0;
	const int warm = self->cycles > 10 ? 5 : 1;

	TH_LOG("%d cycles, parameters '%s'", self->cycles, self->params);
	for (int c = 0; c < self->cycles; c++) {
		int kind = c % NR_LIVE, dev, pidfd = -1;
		struct stat sb;
		pid_t pid = -1;

		dev = c3c_dev();
		ASSERT_GE(dev, 0) TH_LOG("cycle %d: no device after load", c);
		ASSERT_EQ(workload(12), 0) TH_LOG("cycle %d: workload", c);

		switch (kind) {
		case LIVE_PROCESS:
			pid = spawn_pause(CLONE_AUTOREAP, NULL, c & 1);
			ASSERT_GT(pid, 0);
			break;
		case LIVE_AUTOKILL_FILE:
		case LIVE_EXIT_STATUS:
			pid = spawn_pause(CLONE_AUTOREAP | CLONE_PIDFD |
					  (kind == LIVE_AUTOKILL_FILE ?
					   CLONE_NNP | CLONE_PIDFD_AUTOKILL : 0),
					  &pidfd, c & 1);
			ASSERT_GT(pid, 0);
			ASSERT_EQ(sys_pidfd_send_signal(pidfd, SIGKILL), 0);
			ASSERT_TRUE(c3c_wait_pidfd(pidfd, 5000));
			break;
		}
		if (kind != LIVE_DEVICE)
			close(dev);
		/* A moment later: the state must still hold. */
		usleep(150000);
		errno = 0;
		EXPECT_EQ(sys_delete_module(), -1)
			TH_LOG("cycle %d: rmmod succeeded with %s", c, live_names[kind]);
		EXPECT_EQ(errno, EAGAIN)
			TH_LOG("cycle %d: rmmod with %s: errno %d (%s), want EAGAIN/EWOULDBLOCK",
			       c, live_names[kind], errno, strerror(errno));
		ASSERT_TRUE(mod_loaded());

		/* Release it, let it drain, unload. */
		switch (kind) {
		case LIVE_PROCESS:
			kill(pid, SIGKILL);
			/*
			 * Gone, not reaped by us. Not c3c_gone_no_zombie():
			 * on PREEMPT_RT /proc can show Z for an instant
			 * inside exit_notify() (see regress.c); the
			 * autoreap semantics are checked elsewhere.
			 */
			for (int i = 0; i < 5000 && c3c_proc_state(pid); i++)
				usleep(1000);
			EXPECT_EQ(c3c_proc_state(pid), 0)
				TH_LOG("cycle %d: pid %d still %c", c, pid,
				       c3c_proc_state(pid));
			break;
		case LIVE_AUTOKILL_FILE:
		case LIVE_EXIT_STATUS:
			close(pidfd);
			break;
		case LIVE_DEVICE:
			close(dev);
			break;
		}
		EXPECT_TRUE(c3c_state_drained(5000)) TH_LOG("cycle %d: not drained", c);
		EXPECT_TRUE(c3c_no_waitable_child());
		EXPECT_EQ(rmmod_retry(5000), 0)
			TH_LOG("cycle %d: rmmod after %s released: %s", c,
			       live_names[kind], strerror(errno));
		EXPECT_FALSE(mod_loaded());
		EXPECT_NE(access(CLONE3_COMPAT_DEVICE, F_OK), 0);
		/* kmem_cache_destroy() ran: the cache is gone (and did not
		 * complain of objects left, or the kernel log would say so). */
		EXPECT_EQ(slab_objs("c3c_task"), -1);
		/*
		 * With slab merging (Debian: SLAB_MERGE_DEFAULT=y) c3c_task
		 * is an alias of a shared cache, and SLUB leaves the alias
		 * link in sysfs after the destroy: only a cache of its own
		 * must be gone.
		 */
		if (lstat("/sys/kernel/slab/c3c_task", &sb) == 0) {
			EXPECT_TRUE(S_ISLNK(sb.st_mode))
				TH_LOG("cycle %d: the c3c_task cache outlived rmmod", c);
			if (c == 0)
				TH_LOG("c3c_task is merged into another cache (sysfs alias)");
		}
		ASSERT_EQ(insmod(self->params), 0)
			TH_LOG("cycle %d: insmod: %s", c, strerror(errno));
		ASSERT_TRUE(mod_loaded());

		if (c == warm - 1 || c == self->cycles - 1) {
			long unrec, avail, slab;

			drop_caches();
			usleep(200000);
			unrec = meminfo("SUnreclaim:");
			avail = meminfo("MemAvailable:");
			slab = meminfo("Slab:");
			TH_LOG("after cycle %d: SUnreclaim %ld kB, Slab %ld kB, MemAvailable %ld kB, c3c_task objs %ld",
			       c + 1, unrec, slab, avail, slab_objs("c3c_task"));
			if (c == warm - 1) {
				unrec0 = unrec;
				avail0 = avail;
				slab0 = slab;
			} else {
				/*
				 * A leak of one small object per spawn would
				 * be 45 x 12 x >= 64 B = 34 kB; the noise of
				 * an idle guest is a few tens of kB.
				 */
				EXPECT_LT(unrec - unrec0, 256)
					TH_LOG("SUnreclaim grew %ld kB over %d cycles",
					       unrec - unrec0, c + 1 - warm);
				EXPECT_LT(slab - slab0, 512)
					TH_LOG("Slab grew %ld kB", slab - slab0);
				EXPECT_LT(avail0 - avail, 2048)
					TH_LOG("MemAvailable fell %ld kB", avail0 - avail);
			}
		}
	}
}

/* ---- a call asleep in module code, and rmmod --------------------------- */

/* A page whose first touch (also from the kernel) sleeps until resolved. */
struct uffd_page {
	int uffd;
	char *page;
	size_t size;
};

static int uffd_setup(struct uffd_page *u)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	u->size = (size_t)sysconf(_SC_PAGESIZE);
	/* No UFFD_USER_MODE_ONLY: the faults to hold are the kernel's. */
	u->uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (u->uffd < 0 || ioctl(u->uffd, UFFDIO_API, &api))
		return -1;
	u->page = mmap(NULL, u->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->page == MAP_FAILED)
		return -1;
	reg.range.start = (uintptr_t)u->page;
	reg.range.len = u->size;
	return ioctl(u->uffd, UFFDIO_REGISTER, &reg);
}

/* True once a thread sleeps in a fault on the page. */
static bool uffd_wait_fault(struct uffd_page *u, int ms)
{
	struct pollfd p = { .fd = u->uffd, .events = POLLIN };
	struct uffd_msg msg;

	return poll(&p, 1, ms) == 1 &&
	       read(u->uffd, &msg, sizeof(msg)) == sizeof(msg) &&
	       msg.event == UFFD_EVENT_PAGEFAULT;
}

/* Let the sleeper go on, with @src (a page) as the content. */
static int uffd_resolve(struct uffd_page *u, const void *src)
{
	struct uffdio_copy c = {
		.dst = (uintptr_t)u->page,
		.src = (uintptr_t)src,
		.len = u->size,
	};

	return ioctl(u->uffd, UFFDIO_COPY, &c);
}

static void uffd_done(struct uffd_page *u)
{
	munmap(u->page, u->size);
	close(u->uffd);
}

/* PIDFD_GET_INFO of Linux 7.1, VER1 size (72 bytes). */
#define PIDFD_GET_INFO_72	_IOC(_IOC_READ | _IOC_WRITE, 0xFF, 11, 72)
#define PIDFD_INFO_PID_BIT	1ULL
#define PIDFD_INFO_EXIT_BIT	8ULL

struct sleeper {
	int kind;
	int fd;			/* pidfd or device */
	void *page;
	long ret;
	int err;
};

enum {
	SLEEP_PIDFD_IOCTL, SLEEP_DEVICE_IOCTL, SLEEP_CLONE3, SLEEP_CLONE3_AUTOREAP,
	SLEEP_CLONE3_PIDFD_OUT, SLEEP_CLONE3_SETTID_OUT,
};

/* Arguments in ordinary memory, the kernel's stores go to the page. */
static struct clone_args out_args;

static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;

	errno = 0;
	switch (s->kind) {
	case SLEEP_PIDFD_IOCTL:
		s->ret = ioctl(s->fd, PIDFD_GET_INFO_72, s->page);
		break;
	case SLEEP_DEVICE_IOCTL:
		s->ret = ioctl(s->fd, CLONE3_COMPAT_IOC_VERSION, s->page);
		break;
	case SLEEP_CLONE3_PIDFD_OUT:
	case SLEEP_CLONE3_SETTID_OUT:
		s->ret = syscall(SYS_clone3, &out_args, sizeof(out_args));
		if (s->ret == 0)
			_exit(7);
		break;
	default:
		s->ret = syscall(SYS_clone3, s->page, sizeof(struct clone_args));
		if (s->ret == 0)
			_exit(7);
		break;
	}
	s->err = errno;
	return NULL;
}

FIXTURE(sleeping_call) {
	char params[256];
};

FIXTURE_VARIANT(sleeping_call) {
	int kind;
};
FIXTURE_VARIANT_ADD(sleeping_call, pidfd_get_info) { .kind = SLEEP_PIDFD_IOCTL };
FIXTURE_VARIANT_ADD(sleeping_call, device_ioctl) { .kind = SLEEP_DEVICE_IOCTL };
FIXTURE_VARIANT_ADD(sleeping_call, clone3_args) { .kind = SLEEP_CLONE3 };
FIXTURE_VARIANT_ADD(sleeping_call, clone3_autoreap_args) {
	.kind = SLEEP_CLONE3_AUTOREAP
};
/*
 * The kernel's own stores inside the module's clone3 (kernel_clone() through
 * the gate): the pidfd number after the pidfd is made, the child's pid.
 */
FIXTURE_VARIANT_ADD(sleeping_call, clone3_pidfd_store) {
	.kind = SLEEP_CLONE3_PIDFD_OUT
};
FIXTURE_VARIANT_ADD(sleeping_call, clone3_parent_tid_store) {
	.kind = SLEEP_CLONE3_SETTID_OUT
};

FIXTURE_SETUP(sleeping_call)
{
	ASSERT_EQ(geteuid(), 0) TH_LOG("needs root (userfaultfd of kernel faults, rmmod)");
	ASSERT_TRUE(mod_loaded());
	mod_params(self->params, sizeof(self->params));
}

FIXTURE_TEARDOWN(sleeping_call)
{
	if (!mod_loaded())
		insmod(self->params);
}

/*
 * rmmod is refused (EAGAIN, the held reference) while the call sleeps in
 * the module, the call then completes with the right result, and rmmod
 * succeeds once it has left. The guest log must stay clean.
 */
TEST_F_TIMEOUT(sleeping_call, rmmod_waits_for_it, 120)
{
	static char content[65536] __attribute__((aligned(4096)));
	struct sleeper sl = { .kind = variant->kind, .fd = -1 };
	struct clone_args *ca = (void *)content;
	struct uffd_page u;
	pid_t target = -1;
	int pidfd = -1, st;
	pthread_t th;

	ASSERT_EQ(0, uffd_setup(&u)) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_LE(u.size, sizeof(content));
	memset(content, 0, sizeof(content));
	switch (sl.kind) {
	case SLEEP_PIDFD_IOCTL:
		target = fork();
		if (target == 0) {
			pause();
			_exit(0);
		}
		ASSERT_GT(target, 0);
		sl.fd = sys_pidfd_open(target, 0);
		ASSERT_GE(sl.fd, 0);
		*(uint64_t *)content = PIDFD_INFO_PID_BIT;
		break;
	case SLEEP_DEVICE_IOCTL:
		sl.fd = c3c_dev();
		ASSERT_GE(sl.fd, 0);
		((struct clone3_compat_version *)content)->size =
			sizeof(struct clone3_compat_version);
		break;
	case SLEEP_CLONE3:
		ca->exit_signal = SIGCHLD;
		break;
	case SLEEP_CLONE3_AUTOREAP:
		ca->flags = CLONE_AUTOREAP | CLONE_PIDFD;
		ca->pidfd = (uintptr_t)&pidfd;
		break;
	case SLEEP_CLONE3_PIDFD_OUT:
		out_args = (struct clone_args){
			.flags = CLONE_AUTOREAP | CLONE_PIDFD,
			.pidfd = (uintptr_t)u.page,
		};
		break;
	case SLEEP_CLONE3_SETTID_OUT:
		out_args = (struct clone_args){
			.flags = CLONE_AUTOREAP | CLONE_PARENT_SETTID,
			.parent_tid = (uintptr_t)u.page,
		};
		break;
	}
	sl.page = u.page;
	ASSERT_EQ(0, pthread_create(&th, NULL, sleeper_fn, &sl));
	ASSERT_TRUE(uffd_wait_fault(&u, 10000)) TH_LOG("the call did not fault");
	usleep(50000);

	errno = 0;
	EXPECT_EQ(-1, sys_delete_module()) TH_LOG("rmmod succeeded under a sleeping call");
	EXPECT_EQ(EAGAIN, errno) TH_LOG("rmmod: %s, want EAGAIN", strerror(errno));
	ASSERT_TRUE(mod_loaded());

	ASSERT_EQ(0, uffd_resolve(&u, content)) TH_LOG("UFFDIO_COPY: %s", strerror(errno));
	ASSERT_EQ(0, pthread_join(th, NULL));
	switch (sl.kind) {
	case SLEEP_PIDFD_IOCTL:
		EXPECT_EQ(0, sl.ret) TH_LOG("PIDFD_GET_INFO: %s", strerror(sl.err));
		EXPECT_EQ((uint32_t)target, *(uint32_t *)(u.page + 16));
		EXPECT_TRUE(*(uint64_t *)u.page & PIDFD_INFO_PID_BIT);
		close(sl.fd);
		kill(target, SIGKILL);
		EXPECT_EQ(target, waitpid(target, &st, 0));
		break;
	case SLEEP_DEVICE_IOCTL:
		EXPECT_EQ(0, sl.ret) TH_LOG("VERSION: %s", strerror(sl.err));
		EXPECT_EQ(CLONE3_COMPAT_ABI_VERSION,
			  ((struct clone3_compat_version *)u.page)->abi_version);
		close(sl.fd);
		break;
	case SLEEP_CLONE3:
		ASSERT_GT(sl.ret, 0) TH_LOG("clone3: %s", strerror(sl.err));
		EXPECT_EQ(sl.ret, waitpid(sl.ret, &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 7);
		break;
	case SLEEP_CLONE3_SETTID_OUT:
		ASSERT_GT(sl.ret, 0) TH_LOG("clone3: %s", strerror(sl.err));
		EXPECT_EQ(sl.ret, *(pid_t *)u.page);
		EXPECT_EQ(0, c3c_gone_no_zombie(sl.ret, 5000));
		EXPECT_TRUE(c3c_no_waitable_child());
		break;
	case SLEEP_CLONE3_PIDFD_OUT:
		pidfd = *(int *)u.page;
		/* fall through */
	case SLEEP_CLONE3_AUTOREAP: {
		struct clone3_compat_pidfd_info info;

		ASSERT_GT(sl.ret, 0) TH_LOG("clone3: %s", strerror(sl.err));
		ASSERT_GE(pidfd, 0);
		EXPECT_TRUE(c3c_wait_pidfd(pidfd, 5000));
		memset(&info, 0, sizeof(info));
		info.mask = PIDFD_INFO_EXIT_BIT;
		EXPECT_EQ(0, ioctl(pidfd, PIDFD_GET_INFO_72, &info));
		EXPECT_TRUE(info.mask & PIDFD_INFO_EXIT_BIT);
		EXPECT_EQ(7, WEXITSTATUS(info.exit_code));
		EXPECT_TRUE(c3c_no_waitable_child());
		close(pidfd);
		break;
	}
	}
	uffd_done(&u);
	EXPECT_TRUE(c3c_state_drained(5000));
	EXPECT_EQ(0, rmmod_retry(5000)) TH_LOG("rmmod after the call: %s", strerror(errno));
	EXPECT_FALSE(mod_loaded());
	ASSERT_EQ(0, insmod(self->params)) TH_LOG("insmod: %s", strerror(errno));
}

/* ---- load/unload cycles under load ------------------------------------- */

/* One kind of traffic into the module, until killed. Syscalls only. */
static void hammer(int kind)
{
	struct clone3_compat_pidfd_info info;
	struct clone3_compat_version v;

	for (unsigned int i = 0;; i++) {
		int fd, pidfd = -1;
		pid_t pid;

		switch (kind) {
		case 0:	/* pidfd creation and pidfd ioctls */
			fd = sys_pidfd_open(getppid(), 0);
			if (fd >= 0) {
				memset(&info, 0, sizeof(info));
				info.mask = PIDFD_INFO_PID_BIT;
				ioctl(fd, PIDFD_GET_INFO_72, &info);
				close(fd);
			}
			break;
		case 1: {	/* clone3, with and without the 7.1 flags */
			static const uint64_t mixes[] = {
				CLONE_PIDFD, CLONE_AUTOREAP | CLONE_PIDFD,
				CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD |
				CLONE_PIDFD_AUTOKILL, CLONE_AUTOREAP, 0,
			};
			uint64_t f = mixes[i % 5];
			struct clone_args a = {
				.flags = f,
				.pidfd = (uintptr_t)&pidfd,
				.exit_signal = (f & CLONE_AUTOREAP) ? 0 : SIGCHLD,
			};

			pid = sys_clone3(&a, sizeof(a));
			if (pid == 0)
				_exit(0);
			if (pid > 0 && !(f & CLONE_AUTOREAP))
				waitpid(pid, NULL, 0);
			if (pidfd >= 0) {
				c3c_wait_pidfd(pidfd, 1000);
				close(pidfd);
			}
			break;
		}
		default:	/* the device */
			fd = c3c_dev();
			if (fd >= 0) {
				memset(&v, 0, sizeof(v));
				v.size = sizeof(v);
				ioctl(fd, CLONE3_COMPAT_IOC_VERSION, &v);
				close(fd);
			}
			break;
		}
	}
}

TEST_F_TIMEOUT(modcycle, cycles_under_load, 600)
{
	const int cycles = self->cycles < 20 ? self->cycles : 20;
	pid_t load[3];
	int unloaded = 0;

	for (int k = 0; k < 3; k++) {
		load[k] = fork();
		if (load[k] == 0) {
			hammer(k);
			_exit(0);
		}
		ASSERT_GT(load[k], 0);
	}
	for (int c = 0; c < cycles; c++) {
		usleep(100000);
		if (rmmod_retry(3000) == 0) {
			unloaded++;
			usleep(20000);
		}
		if (!mod_loaded())
			ASSERT_EQ(0, insmod(self->params))
				TH_LOG("cycle %d: insmod: %s", c, strerror(errno));
	}
	for (int k = 0; k < 3; k++) {
		kill(load[k], SIGKILL);
		waitpid(load[k], NULL, 0);
	}
	TH_LOG("%d of %d unloads went through under load", unloaded, cycles);
	EXPECT_GT(unloaded, 0);
	ASSERT_TRUE(mod_loaded());
	EXPECT_TRUE(c3c_state_drained(5000));
	EXPECT_EQ(0, workload(12));
	EXPECT_TRUE(c3c_no_waitable_child());
}

TEST_HARNESS_MAIN
