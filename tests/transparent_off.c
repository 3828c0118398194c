// SPDX-License-Identifier: GPL-2.0
/*
 * transparent=0: clone3() and pidfds are the stock kernel's again (the
 * 7.1-only program fails exactly as it would without the module), while
 * the device's ioctls keep working. Needs root to flip the parameter.
 */
#include "c3c_test.h"
#include "kselftest_harness.h"

#define PARAM "/sys/module/clone3_compat/parameters/transparent"
#define PIDFD_GET_INFO_VER1 _IOWR(0xFF, 11, struct clone3_compat_pidfd_info)

static int set_transparent(const char *v)
{
	int fd = open(PARAM, O_WRONLY);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, v, 1) == 1 ? 0 : -1;
	close(fd);
	return ret;
}

/* Run the 7.1-only program's named tests; its exit status. */
static int run_upstream71(const char *const tests[], int n)
{
	char *argv[2 * 8 + 2] = { "upstream71" };
	int status, k = 1;
	pid_t pid;

	for (int i = 0; i < n && i < 8; i++) {
		argv[k++] = "-t";
		argv[k++] = (char *)tests[i];
	}
	argv[k] = NULL;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execv("/test/bin/upstream71", argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static const char *const upstream_positive[] = {
	"autoreap_exit_pollin", "nnp_child_only", "autokill_close_kills",
	"info_live_process",
};

FIXTURE(off) {
	int pidfd;
};

FIXTURE_SETUP(off)
{
	self->pidfd = -1;
	ASSERT_EQ(geteuid(), 0);
	/* With the mode on, the 7.1 program passes these. */
	ASSERT_EQ(run_upstream71(upstream_positive, 4), 0);
	ASSERT_EQ(set_transparent("N"), 0);
}

FIXTURE_TEARDOWN(off)
{
	EXPECT_EQ(set_transparent("Y"), 0);
	if (self->pidfd >= 0)
		close(self->pidfd);
}

TEST_F(off, clone3_sees_stock_einval)
{
	const uint64_t flags[] = {
		CLONE_AUTOREAP, CLONE_NNP,
		CLONE_PIDFD_AUTOKILL | CLONE_PIDFD | CLONE_AUTOREAP | CLONE_NNP,
	};
	struct clone3_compat_features f;

	for (int i = 0; i < 3; i++) {
		struct clone_args a = {
			.flags = flags[i], .pidfd = (uintptr_t)&self->pidfd,
		};

		errno = 0;
		EXPECT_EQ(sys_clone3(&a, sizeof(a)), -1);
		EXPECT_EQ(errno, EINVAL);
	}
	ASSERT_EQ(c3c_features(&f), 0);
	EXPECT_FALSE(f.mechanisms & CLONE3_COMPAT_MECH_CLONE3);
	EXPECT_FALSE(f.mechanisms & CLONE3_COMPAT_MECH_PIDFD_INFO);
	EXPECT_TRUE(f.mechanisms & CLONE3_COMPAT_MECH_IOCTL_SPAWN);
}

TEST_F(off, same_71_binary_fails)
{
	EXPECT_NE(run_upstream71(upstream_positive, 4), 0);
	/* each one alone fails too */
	for (int i = 0; i < 4; i++) {
		EXPECT_NE(run_upstream71(&upstream_positive[i], 1), 0)
			TH_LOG("%s passed with transparent=0", upstream_positive[i]);
	}
}

TEST_F(off, pidfd_get_info_is_stock)
{
	struct clone3_compat_pidfd_info info = { .mask = 1 };
	int pidfd = sys_pidfd_open(getpid(), 0);

	ASSERT_GE(pidfd, 0);
	errno = 0;
	EXPECT_EQ(ioctl(pidfd, PIDFD_GET_INFO_VER1, &info), -1);
	/* 6.1: pidfds have no ioctl op; 6.12: its pidfd_ioctl says EINVAL */
	EXPECT_TRUE(errno == ENOTTY || errno == EINVAL) TH_LOG("errno %d", errno);
	close(pidfd);
}

TEST_F(off, device_still_spawns)
{
	pid_t pid = c3c_spawn_flags(CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD,
				    &self->pidfd);
	struct clone3_compat_pidfd_info info;

	if (pid == 0)
		_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 3 : 4);
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(c3c_wait_pidfd(self->pidfd, 5000));
	ASSERT_EQ(c3c_get_info(self->pidfd, &info, CLONE3_COMPAT_PIDFD_INFO_EXIT), 0);
	EXPECT_EQ(info.exit_code, 3 << 8);
	EXPECT_EQ(c3c_gone_no_zombie(pid, 5000), 0);
}

TEST_HARNESS_MAIN
