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
 * Unload safety under calls that sleep in the module, and cycles under
 * load: tests/stress/unload.c.
 */
#include <sys/mman.h>

#include "../c3c_test.h"
#include "kselftest_harness.h"

#include "modutil.h"

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
			for (int i = 0; i < 5000 && procfs_state(pid); i++)
				usleep(1000);
			EXPECT_EQ(procfs_state(pid), 0)
				TH_LOG("cycle %d: pid %d still %c", c, pid,
				       procfs_state(pid));
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

TEST_HARNESS_MAIN
