// SPDX-License-Identifier: GPL-2.0
/*
 * pidfds as the module makes them: what both ways of making one share.
 * How a pidfd is made differs by kernel; Kbuild picks one of
 * pidfd_pidfs.c (6.9+: one pidfs inode per struct pid) and pidfd_anon.c
 * (before: an anon-inode file per pidfd).
 *
 * AUTOKILL, as upstream: the clone's own pidfd file carries O_TRUNC in
 * f_flags. Nothing else can set it (dentry_open() strips it, F_SETFL
 * cannot set it), so the mark identifies that one struct file. The file is
 * created by this module in place of the kernel's creator, for our
 * in-flight clone only, and marked before copy_process() installs it.
 * Either way the kill is SIGKILL to the thread group of the struct pid,
 * from the kernel (no permission check), a no-op once it is gone.
 *
 * Every pidfd made while the module is loaded gets a state entry where it
 * is made (state.c), so its holder sees PIDFD_INFO_EXIT after the reap.
 */
#include "c3c.h"
#include "pidfd.h"

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/rcupdate.h>

/*
 * The in-flight AUTOKILL clone of current, when @pid is its child: only
 * copy_process() makes a pidfd for a pid that has no task yet.
 */
struct c3c_ctx *c3c_autokill_ctx(struct pid *pid)
{
	struct c3c_ctx *ctx = c3c_ctx_current();

	if (!ctx || !(ctx->new_flags & CLONE3_COMPAT_PIDFD_AUTOKILL) ||
	    ctx->pidfile || ctx->committed)
		return NULL;
	if (pid_has_task(pid, PIDTYPE_PID))
		return NULL;
	return ctx;
}

void c3c_autokill_marked(struct file *file)
{
	struct c3c_ctx *ctx;

	file->f_flags |= O_TRUNC;
	c3c_file_pin();
	rcu_read_lock();
	ctx = c3c_ctx_current();
	if (ctx)
		ctx->pidfile = file;
	rcu_read_unlock();
}

/*
 * 7.1's pidfd ioctls: GET_INFO is extensible, so its direction and type
 * must match and its size be at least VER0; anything else is ENOTTY.
 */
long c3c_pidfd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd == FS_IOC_GETVERSION) {
		if (!arg)
			return -EINVAL;
		return put_user(file_inode(file)->i_generation,
				(__u32 __user *)arg);
	}
	if (_IOC_TYPE(cmd) != C3C_PIDFS_MAGIC ||
	    _IOC_NR(cmd) != C3C_PIDFD_GET_INFO_NR ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE) ||
	    _IOC_SIZE(cmd) < CLONE3_COMPAT_PIDFD_INFO_SIZE_VER0)
		return -ENOTTY;
	return c3c_pidfd_info(c3c_pidfd_pid(file), (void __user *)arg,
			      _IOC_SIZE(cmd));
}

/* Redirect targets (c3c_redirect_pinned()) that may sleep, and unpin. */
long c3c_pidfd_ioctl_pinned(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	long ret = c3c_pidfd_ioctl(file, cmd, arg);

	c3c_unpin();
	return ret;
}

int c3c_pidfd_init(void)
{
	int err;

	err = c3c_pidfd_family_init();
	if (err) {
		pr_err("pidfd internals not found: %d\n", err);
		return err;
	}
	err = c3c_hooks_register(c3c_pidfd_hooks, c3c_nr_pidfd_hooks);
	if (err)
		c3c_pidfd_exit();
	return err;
}

void c3c_pidfd_exit(void)
{
	c3c_hooks_unregister(c3c_pidfd_hooks, c3c_nr_pidfd_hooks);
	c3c_pidfd_family_exit();
}
