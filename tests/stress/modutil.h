/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and unloading the module from a test (root): the .ko is
 * /test/clone3_compat.ko in the bench's guest (C3C_MODULE_KO overrides).
 * delete_module(O_NONBLOCK) of a module whose refcount is not zero fails
 * with EWOULDBLOCK, which is EAGAIN on Linux (kernel/module/main.c).
 */
#ifndef C3C_MODUTIL_H
#define C3C_MODUTIL_H

#include "../c3c_test.h"

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

#endif /* C3C_MODUTIL_H */
