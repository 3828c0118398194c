// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading is always safe (root). A call that sleeps inside module code
 * (here: in a page fault that userfaultfd holds open, on an argument the
 * module copies or on a store the kernel makes inside the module's clone3)
 * keeps the module pinned: rmmod is refused (EAGAIN) until the call has
 * left, the call then completes with the right result, and rmmod succeeds.
 * And load/unload cycles run while other processes hammer every entry into
 * the module: pidfd creation and ioctls, clone3 with and without the 7.1
 * flags, the device. The guest log must stay clean throughout.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <linux/userfaultfd.h>

#include "modutil.h"
#include "kselftest_harness.h"

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

	/* Asleep in the module on one CPU while rmmod runs on another. */
	c3c_pin_other(0);
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
	ASSERT_EQ(0, c3c_pin(0));
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

/*
 * The hammers pause together for 30 ms of every 100 (by the monotonic
 * clock they share): on 6.1 every open pidfd pins the module, so without a
 * common pause an unload would hardly ever find it unused. An unload that
 * starts in a pause runs on while the hammers start again: their calls
 * meet a module that is going away.
 */
static void hammer_pause(void)
{
	struct timespec ts;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((ts.tv_nsec / 1000000) % 100 < 70)
			return;
		usleep(2000);
	}
}

/* One kind of traffic into the module, until killed. Syscalls only. */
static void hammer(int kind)
{
	struct clone3_compat_pidfd_info info;
	struct clone3_compat_version v;

	for (unsigned int i = 0;; i++) {
		int fd, pidfd = -1;
		pid_t pid;

		hammer_pause();

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

FIXTURE(load_cycles) {
	char params[256];
};

FIXTURE_SETUP(load_cycles)
{
	ASSERT_EQ(geteuid(), 0) TH_LOG("needs root (rmmod, insmod)");
	ASSERT_TRUE(mod_loaded());
	mod_params(self->params, sizeof(self->params));
}

FIXTURE_TEARDOWN(load_cycles)
{
	if (!mod_loaded())
		insmod(self->params);
}

/* One autoreap child through clone3, its status through its pidfd. */
static bool spawn_works(void)
{
	struct clone3_compat_pidfd_info info = { .mask = PIDFD_INFO_EXIT_BIT };
	struct clone_args a = { .flags = CLONE_AUTOREAP | CLONE_PIDFD };
	int pidfd = -1;
	bool ok;
	pid_t pid;

	a.pidfd = (uintptr_t)&pidfd;
	pid = sys_clone3(&a, sizeof(a));
	if (pid == 0)
		_exit(5);
	if (pid < 0)
		return false;
	ok = c3c_wait_pidfd(pidfd, 5000) &&
	     ioctl(pidfd, PIDFD_GET_INFO_72, &info) == 0 &&
	     (info.mask & PIDFD_INFO_EXIT_BIT) && WEXITSTATUS(info.exit_code) == 5;
	close(pidfd);
	return ok;
}

/*
 * Up to C3C_MODCYCLE_CYCLES (at most 20) unload attempts, for at most 60 s
 * (an unload waits for RCU-tasks grace periods per hook, slow under load
 * on PREEMPT_RT): each one retried for up to 3 s while the hammers run,
 * then a reload. At least one must go through.
 */
TEST_F_TIMEOUT(load_cycles, under_load, 300)
{
	const char *env = getenv("C3C_MODCYCLE_CYCLES");
	int cycles = env && atoi(env) > 0 && atoi(env) < 20 ? atoi(env) : 20;
	struct timespec t0, t;
	int unloaded = 0, tries = 0, c;
	pid_t load[3];

	ASSERT_EQ(0, c3c_pin(0));
	for (int k = 0; k < 3; k++) {
		load[k] = fork();
		if (load[k] == 0) {
			/* Hammers on the other CPUs race the unload on ours. */
			c3c_pin_other(k);
			hammer(k);
			_exit(0);
		}
		ASSERT_GT(load[k], 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (c = 0; c < cycles; c++) {
		usleep(100000);
		tries++;
		if (rmmod_retry(3000) == 0) {
			unloaded++;
			usleep(20000);
		}
		if (!mod_loaded())
			ASSERT_EQ(0, insmod(self->params))
				TH_LOG("cycle %d: insmod: %s", c, strerror(errno));
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 60)
			break;
	}
	for (int k = 0; k < 3; k++) {
		kill(load[k], SIGKILL);
		waitpid(load[k], NULL, 0);
	}
	TH_LOG("%d of %d unloads went through under load", unloaded, tries);
	EXPECT_GT(unloaded, 0);
	ASSERT_TRUE(mod_loaded());
	EXPECT_TRUE(c3c_state_drained(5000));
	EXPECT_TRUE(spawn_works());
	EXPECT_TRUE(c3c_no_waitable_child());
}

TEST_HARNESS_MAIN
