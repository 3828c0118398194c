// SPDX-License-Identifier: GPL-2.0
/*
 * The device and its argument handling: node and mode, version and
 * features, ENOTTY, and the size rules of the extensible structs.
 */
#include <sys/mman.h>

#include "c3c_test.h"
#include "kselftest_harness.h"

#define NR_STRUCT_CMDS 4

/* Each ioctl of the device that takes an extensible struct. */
static const struct {
	unsigned long cmd;
	size_t min;
} cmds[NR_STRUCT_CMDS] = {
	{ CLONE3_COMPAT_IOC_VERSION, CLONE3_COMPAT_VERSION_SIZE_VER0 },
	{ CLONE3_COMPAT_IOC_FEATURES, CLONE3_COMPAT_FEATURES_SIZE_VER0 },
	{ CLONE3_COMPAT_IOC_CLONE3, CLONE3_COMPAT_CLONE3_SIZE_VER0 },
	{ CLONE3_COMPAT_IOC_PIDFD_GET_INFO, CLONE3_COMPAT_PIDFD_GET_INFO_SIZE_VER0 },
};

FIXTURE(dev) {
	int fd;
	long page;
	char *buf;	/* two pages: the second one unmapped */
};

FIXTURE_SETUP(dev)
{
	self->fd = c3c_dev();
	ASSERT_GE(self->fd, 0);
	self->page = sysconf(_SC_PAGESIZE);
	self->buf = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(self->buf, MAP_FAILED);
	ASSERT_EQ(munmap(self->buf + self->page, self->page), 0);
}

FIXTURE_TEARDOWN(dev)
{
	munmap(self->buf, self->page);
	close(self->fd);
}

TEST(node_is_world_accessible_char_device)
{
	struct stat st;

	ASSERT_EQ(stat(CLONE3_COMPAT_DEVICE, &st), 0);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0666);
	/* Anyone can open it: every check is made per call. */
	int fd = open(CLONE3_COMPAT_DEVICE, O_RDONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	close(fd);
}

TEST_F(dev, version)
{
	struct clone3_compat_version v = { .size = sizeof(v) };

	ASSERT_EQ(ioctl(self->fd, CLONE3_COMPAT_IOC_VERSION, &v), 0);
	EXPECT_EQ(v.size, sizeof(v));
	EXPECT_EQ(v.abi_version, CLONE3_COMPAT_ABI_VERSION);
	EXPECT_EQ(v.module_version, 0x000100);
}

TEST_F(dev, features)
{
	struct clone3_compat_features f;

	ASSERT_EQ(c3c_features(&f), 0);
	EXPECT_EQ(f.clone_flags, CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD_AUTOKILL);
	EXPECT_TRUE(f.mechanisms & CLONE3_COMPAT_MECH_IOCTL_SPAWN);
	EXPECT_TRUE(f.mechanisms & CLONE3_COMPAT_MECH_AUTOREAP);
	EXPECT_TRUE(f.mechanisms & CLONE3_COMPAT_MECH_AUTOKILL);
	EXPECT_TRUE(f.pidfd_info_mask & CLONE3_COMPAT_PIDFD_INFO_EXIT);
}

TEST(flag_values_are_linux_7_1)
{
	EXPECT_EQ(CLONE_AUTOREAP, 0x400000000ULL);
	EXPECT_EQ(CLONE_NNP, 0x800000000ULL);
	EXPECT_EQ(CLONE_PIDFD_AUTOKILL, 0x1000000000ULL);
}

TEST_F(dev, unknown_commands_enotty)
{
	const unsigned long bad[] = {
		0, _IO(CLONE3_COMPAT_IOC_MAGIC, 0x00),
		_IO(CLONE3_COMPAT_IOC_MAGIC, 0x7f),
		_IOWR(CLONE3_COMPAT_IOC_MAGIC, 0x01, uint32_t), /* wrong size */
		_IOR(CLONE3_COMPAT_IOC_MAGIC, 0x03, struct clone3_compat_clone3),
		TCGETS, 0xFF0B,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(ioctl(self->fd, bad[i], self->buf), -1);
		EXPECT_EQ(errno, ENOTTY) TH_LOG("cmd %#lx", bad[i]);
	}
}

TEST_F(dev, null_and_unmapped_pointers_efault)
{
	for (int i = 0; i < NR_STRUCT_CMDS; i++) {
		errno = 0;
		EXPECT_EQ(ioctl(self->fd, cmds[i].cmd, NULL), -1);
		EXPECT_EQ(errno, EFAULT);
		errno = 0;
		EXPECT_EQ(ioctl(self->fd, cmds[i].cmd, self->buf + self->page), -1);
		EXPECT_EQ(errno, EFAULT);
		errno = 0;
		EXPECT_EQ(ioctl(self->fd, cmds[i].cmd, (void *)-4096L), -1);
		EXPECT_EQ(errno, EFAULT);
	}
}

TEST_F(dev, sizes_below_minimum_einval)
{
	for (int i = 0; i < NR_STRUCT_CMDS; i++) {
		const uint64_t sizes[] = { 0, 1, 8, cmds[i].min - 1 };

		for (size_t j = 0; j < 4; j++) {
			memset(self->buf, 0, self->page);
			memcpy(self->buf, &sizes[j], sizeof(uint64_t));
			errno = 0;
			EXPECT_EQ(ioctl(self->fd, cmds[i].cmd, self->buf), -1);
			EXPECT_EQ(errno, EINVAL) TH_LOG("cmd %d size %lu", i,
							(unsigned long)sizes[j]);
		}
	}
}

TEST_F(dev, sizes_above_page_e2big)
{
	for (int i = 0; i < NR_STRUCT_CMDS; i++) {
		uint64_t size = self->page + 1;

		memset(self->buf, 0, self->page);
		memcpy(self->buf, &size, sizeof(size));
		errno = 0;
		EXPECT_EQ(ioctl(self->fd, cmds[i].cmd, self->buf), -1);
		EXPECT_EQ(errno, E2BIG);
	}
}

TEST_F(dev, nonzero_tail_e2big_zero_tail_ok)
{
	/* A struct from a newer ABI: fine while the unknown tail is zero. */
	uint64_t size = 256;

	memset(self->buf, 0, self->page);
	memcpy(self->buf, &size, sizeof(size));
	ASSERT_EQ(ioctl(self->fd, CLONE3_COMPAT_IOC_VERSION, self->buf), 0);
	EXPECT_EQ(((struct clone3_compat_version *)self->buf)->abi_version,
		  CLONE3_COMPAT_ABI_VERSION);
	EXPECT_EQ(((uint64_t *)self->buf)[0], 256);

	for (int i = 0; i < NR_STRUCT_CMDS; i++) {
		memset(self->buf, 0, self->page);
		memcpy(self->buf, &size, sizeof(size));
		self->buf[200] = 1;
		errno = 0;
		EXPECT_EQ(ioctl(self->fd, cmds[i].cmd, self->buf), -1);
		EXPECT_EQ(errno, E2BIG) TH_LOG("cmd %d", i);
	}
}

TEST_F(dev, struct_running_into_unmapped_page_efault)
{
	/* The size says 64 bytes but only 16 are mapped. */
	char *p = self->buf + self->page - 16;
	uint64_t size = 64;

	for (int i = 0; i < NR_STRUCT_CMDS; i++) {
		memset(p, 0, 16);
		memcpy(p, &size, sizeof(size));
		errno = 0;
		EXPECT_EQ(ioctl(self->fd, cmds[i].cmd, p), -1);
		EXPECT_EQ(errno, EFAULT) TH_LOG("cmd %d", i);
	}
}

TEST_F(dev, short_struct_gets_only_what_fits)
{
	struct clone3_compat_features f;

	/* VER0 of the version struct is the full struct: nothing past it. */
	memset(self->buf, 0xaa, 64);
	memset(&f, 0, sizeof(f));
	f.size = CLONE3_COMPAT_FEATURES_SIZE_VER0;
	ASSERT_EQ(ioctl(self->fd, CLONE3_COMPAT_IOC_FEATURES, &f), 0);
	EXPECT_EQ(f.clone_flags, CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD_AUTOKILL);
}

TEST_F(dev, get_info_rejects_non_pidfd)
{
	struct clone3_compat_pidfd_info info;

	errno = 0;
	EXPECT_EQ(c3c_get_info(self->fd, &info, CLONE3_COMPAT_PIDFD_INFO_PID), -1);
	EXPECT_EQ(errno, EBADF);
	errno = 0;
	EXPECT_EQ(c3c_get_info(-1, &info, CLONE3_COMPAT_PIDFD_INFO_PID), -1);
	EXPECT_EQ(errno, EBADF);
}

TEST_F(dev, get_info_of_self)
{
	struct clone3_compat_pidfd_info info;
	int pidfd = sys_pidfd_open(getpid(), 0);

	ASSERT_GE(pidfd, 0);
	ASSERT_EQ(c3c_get_info(pidfd, &info, CLONE3_COMPAT_PIDFD_INFO_PID |
						CLONE3_COMPAT_PIDFD_INFO_CREDS), 0);
	EXPECT_TRUE(info.mask & CLONE3_COMPAT_PIDFD_INFO_PID);
	EXPECT_TRUE(info.mask & CLONE3_COMPAT_PIDFD_INFO_CREDS);
	EXPECT_FALSE(info.mask & CLONE3_COMPAT_PIDFD_INFO_EXIT);
	EXPECT_EQ(info.pid, getpid());
	EXPECT_EQ(info.tgid, getpid());
	EXPECT_EQ(info.ppid, getppid());
	EXPECT_EQ(info.ruid, getuid());
	EXPECT_EQ(info.euid, geteuid());
	EXPECT_EQ(info.rgid, getgid());
	close(pidfd);
}

TEST_HARNESS_MAIN
