// SPDX-License-Identifier: GPL-2.0
/*
 * Everything that differs between the supported kernels.
 *
 * Before 6.9 a pidfd is an anon-inode file with its own file_operations,
 * the struct pid in private_data and a .release op used by pidfds only.
 * From 6.9 pidfds live on pidfs: one inode per struct pid (i_private),
 * shared by every pidfd of that process, and no .release op at all.
 *
 * AUTOKILL, as upstream: the clone's own pidfd file carries O_TRUNC in
 * f_flags. Nothing else can set it (dentry_open() strips it, F_SETFL
 * cannot set it), so the mark identifies that one struct file. The file is
 * created by this module in place of the kernel's creator, for our
 * in-flight clone only, and marked before copy_process() installs it.
 * Release:
 *  - anon inode: an entry hook on pidfd_release(), called for pidfds only;
 *  - pidfs: an fsnotify close mark on the child's pidfs inode, so closes
 *    of unrelated files pay nothing (fsnotify() returns at once for
 *    inodes without marks).
 * Either way: SIGKILL to the thread group of the struct pid, from the
 * kernel (no permission check), a no-op once the process is gone.
 */
#include "c3c.h"

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify_backend.h>
#include <linux/poll.h>
#include <linux/slab.h>

/* C3C_PIDFS: set by Kbuild when the kernel tree has pidfs (6.9+). */

static const struct file_operations *c3c_pidfd_fops;

struct pid *c3c_pidfd_pid(struct file *file)
{
	if (file->f_op != c3c_pidfd_fops)
		return ERR_PTR(-EBADF);
#ifdef C3C_PIDFS
	return file_inode(file)->i_private;
#else
	return file->private_data;
#endif
}

void c3c_wake_pidfd(struct task_struct *tsk)
{
	struct pid *pid = task_pid(tsk);

#ifdef C3C_PIDFS
	/* 6.9+ do_notify_parent() wakes only once the group is empty. */
	if (thread_group_empty(tsk))
		__wake_up(&pid->wait_pidfd, TASK_NORMAL, 0,
			  poll_to_key(EPOLLIN | EPOLLRDNORM));
#else
	wake_up_all(&pid->wait_pidfd);
#endif
}

/*
 * The in-flight AUTOKILL clone of current, when @pid is its child: only
 * copy_process() makes a pidfd for a pid that has no task yet.
 */
static struct c3c_ctx *c3c_autokill_ctx(struct pid *pid)
{
	struct c3c_ctx *ctx = c3c_ctx_current();

	if (!ctx || !(ctx->new_flags & CLONE3_COMPAT_PIDFD_AUTOKILL) ||
	    ctx->pidfile || ctx->committed)
		return NULL;
	if (pid_has_task(pid, PIDTYPE_PID))
		return NULL;
	return ctx;
}

static void c3c_autokill_marked(struct file *file)
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

void c3c_autokill_release(struct file *file, struct pid *pid)
{
	kill_pid(pid, SIGKILL, 1);
	c3c_file_unpin();
}

#ifdef C3C_PIDFS

static struct vfsmount *c3c_pidfs_mnt;
static struct fsnotify_group *c3c_group;

struct c3c_mark {
	struct fsnotify_mark mark;
	struct file *file;	/* the marked pidfd; compared, never used */
	struct pid *pid;
};

static int c3c_handle_event(struct fsnotify_group *group, u32 mask,
			    const void *data, int data_type, struct inode *dir,
			    const struct qstr *file_name, u32 cookie,
			    struct fsnotify_iter_info *iter_info)
{
	struct fsnotify_mark *fm = fsnotify_iter_inode_mark(iter_info);
	struct c3c_mark *m = container_of(fm, struct c3c_mark, mark);
	const struct path *path = data;

	/* Close of another pidfd of the same process: not ours. */
	if (!fm || data_type != FSNOTIFY_EVENT_PATH ||
	    container_of(path, struct file, f_path) != m->file)
		return 0;
	c3c_autokill_release(m->file, m->pid);
	fsnotify_destroy_mark(fm, group);
	return 0;
}

static void c3c_free_mark(struct fsnotify_mark *fm)
{
	kfree(container_of(fm, struct c3c_mark, mark));
}

static const struct fsnotify_ops c3c_fsnotify_ops = {
	.handle_event = c3c_handle_event,
	.free_mark = c3c_free_mark,
};

static int c3c_mark_file(struct file *file, struct pid *pid)
{
	struct c3c_mark *m;
	int err;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	fsnotify_init_mark(&m->mark, c3c_group);
	m->mark.mask = FS_CLOSE_WRITE | FS_CLOSE_NOWRITE;
	m->file = file;
	m->pid = pid;	/* the file holds it for as long as the mark lives */
	err = fsnotify_add_inode_mark(&m->mark, file_inode(file), 0);
	/* The inode's mark list holds its own reference now. */
	fsnotify_put_mark(&m->mark);
	return err;
}

/* pidfs_alloc_file() for our AUTOKILL clone: the kernel's, plus the mark. */
static struct file *c3c_pidfs_alloc_file(struct pid *pid, unsigned int flags)
{
	struct file *file;
	struct path path;
	int err;

	err = c3c_path_from_stashed(&pid->stashed, c3c_pidfs_mnt, get_pid(pid),
				    &path);
	if (err < 0)
		return ERR_PTR(err);
	file = dentry_open(&path, flags, current_cred());
	path_put(&path);
	if (IS_ERR(file))
		return file;
	err = c3c_mark_file(file, pid);
	if (err) {
		fput(file);
		return ERR_PTR(err);
	}
	c3c_autokill_marked(file);
	return file;
}

static void notrace c3c_pidfd_create_hook(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *op,
					  struct ftrace_regs *fregs)
{
	if (c3c_autokill_ctx((struct pid *)c3c_arg(fregs, 0)))
		c3c_redirect(fregs, c3c_pidfs_alloc_file);
}

static struct c3c_hook c3c_pidfd_hooks[] = {
	{
		.name = "pidfs_alloc_file",
		.func = c3c_pidfd_create_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
};

static int c3c_compat_lookup(void)
{
	struct vfsmount **mnt = (void *)c3c_lookup("pidfs_mnt");

	c3c_pidfd_fops = (void *)c3c_lookup("pidfs_file_operations");
	if (!mnt || !*mnt || !c3c_pidfd_fops)
		return -ENOENT;
	c3c_pidfs_mnt = *mnt;
	c3c_group = fsnotify_alloc_group(&c3c_fsnotify_ops, 0);
	if (IS_ERR(c3c_group)) {
		int err = PTR_ERR(c3c_group);

		c3c_group = NULL;
		return err;
	}
	return 0;
}

static void c3c_compat_teardown(void)
{
	if (!c3c_group)
		return;
	/* Marks are freed after an SRCU grace period, through our ops. */
	fsnotify_wait_marks_destroyed();
	fsnotify_put_group(c3c_group);
	c3c_group = NULL;
}

#else /* !C3C_PIDFS */

/* __pidfd_prepare() for our AUTOKILL clone: the kernel's, plus the mark. */
static int c3c_pidfd_prepare(struct pid *pid, unsigned int flags,
			     struct file **ret)
{
	struct file *file;
	int fd;

	if (flags & ~(O_NONBLOCK | O_RDWR | O_CLOEXEC))
		return -EINVAL;
	fd = get_unused_fd_flags(O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = anon_inode_getfile("[pidfd]", c3c_pidfd_fops, pid,
				  flags | O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	get_pid(pid);	/* held by the file, put by pidfd_release() */
	c3c_autokill_marked(file);
	*ret = file;
	return fd;
}

static void notrace c3c_pidfd_create_hook(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *op,
					  struct ftrace_regs *fregs)
{
	if (c3c_autokill_ctx((struct pid *)c3c_arg(fregs, 0)))
		c3c_redirect(fregs, c3c_pidfd_prepare);
}

static void notrace c3c_pidfd_release_hook(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *op,
					   struct ftrace_regs *fregs)
{
	struct file *file = (struct file *)c3c_arg(fregs, 1);

	if (likely(!atomic_read(&c3c_nr_files)) ||
	    !(file->f_flags & O_TRUNC))
		return;
	/* pidfd_release() clears private_data: read the pid first. */
	c3c_autokill_release(file, file->private_data);
}

static struct c3c_hook c3c_pidfd_hooks[] = {
	{
		.name = "__pidfd_prepare",
		.func = c3c_pidfd_create_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "pidfd_release",
		.func = c3c_pidfd_release_hook,
	},
};

static int c3c_compat_lookup(void)
{
	c3c_pidfd_fops = (void *)c3c_lookup("pidfd_fops");
	return c3c_pidfd_fops ? 0 : -ENOENT;
}

static void c3c_compat_teardown(void)
{
}

#endif /* C3C_PIDFS */

int c3c_compat_init(void)
{
	int i, err;

	err = c3c_compat_lookup();
	if (err) {
		pr_err("pidfd internals not found: %d\n", err);
		return err;
	}
	for (i = 0; i < ARRAY_SIZE(c3c_pidfd_hooks); i++) {
		err = c3c_hook_register(&c3c_pidfd_hooks[i]);
		if (err) {
			c3c_compat_exit();
			return err;
		}
	}
	return 0;
}

void c3c_compat_exit(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(c3c_pidfd_hooks); i++)
		c3c_hook_unregister(&c3c_pidfd_hooks[i]);
	c3c_compat_teardown();
}
