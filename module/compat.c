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
 *
 * Every pidfd made while the module is loaded gets a state entry where it
 * is made (state.c), so its holder sees PIDFD_INFO_EXIT after the reap.
 *
 * pidfs (6.9+): pidfs_alloc_file() is replaced by ours (the kernel's steps
 * through the path_from_stashed gate, plus the entry and, for our AUTOKILL
 * clone, the mark). Release of the AUTOKILL file is seen through an
 * fsnotify close mark on the child's pidfs inode, so closes of unrelated
 * files pay nothing (fsnotify() returns at once for inodes without marks).
 * The last pidfd of a process is gone when its pidfs inode is evicted
 * (pidfs_evict_inode() entry). PIDFD_GET_INFO is added by redirecting that
 * one command of pidfd_ioctl().
 *
 * anon inode (before 6.9): there is no pidfd ioctl op and the kernel's
 * ioctl path has no pidfd-specific step to hook, so pidfds made while the
 * module is loaded get the module's file_operations, with the kernel's
 * behaviour rebuilt from exported functions plus PIDFD_GET_INFO, the
 * AUTOKILL release and the entry's file count. pidfd_pid(), the only place
 * that checks the ops, is replaced to accept both. Such a file pins the
 * module, as any file does.
 *
 * Either way the kill is SIGKILL to the thread group of the struct pid,
 * from the kernel (no permission check), a no-op once it is gone.
 */
#include "c3c.h"

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify_backend.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

/* C3C_PIDFS: set by Kbuild when the kernel tree has pidfs (6.9+). */

/* The kernel's pidfd file_operations. */
static const struct file_operations *c3c_pidfd_fops;

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

/*
 * 7.1's pidfd ioctls: GET_INFO is extensible, so its direction and type
 * must match and its size be at least VER0; anything else is ENOTTY.
 */
#define C3C_PIDFS_MAGIC		0xFF
#define C3C_PIDFD_GET_INFO_NR	11

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
static long __maybe_unused c3c_pidfd_ioctl_pinned(struct file *file,
						  unsigned int cmd,
						  unsigned long arg)
{
	long ret = c3c_pidfd_ioctl(file, cmd, arg);

	c3c_unpin();
	return ret;
}

#ifdef C3C_PIDFS

struct pid *c3c_pidfd_pid(const struct file *file)
{
	if (file->f_op != c3c_pidfd_fops)
		return ERR_PTR(-EBADF);
	return file_inode(file)->i_private;
}

static struct vfsmount *c3c_pidfs_mnt;
static struct fsnotify_group *c3c_group;

struct c3c_mark {
	struct fsnotify_mark mark;
	struct file *file;	/* the marked pidfd; compared, never used */
	struct pid *pid;
	struct llist_node fired;
};

/*
 * A fired mark is destroyed later, in a batch: fsnotify_destroy_mark()
 * kicks fsnotify's SRCU reaper, which otherwise competes with the killed
 * child for the CPU right in the close -> death path. Until then the mark
 * keeps the module pinned and the inode (with its struct pid) alive.
 */
static LLIST_HEAD(c3c_fired_marks);

static void c3c_destroy_fired(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&c3c_fired_marks);
	struct c3c_mark *m, *next;

	llist_for_each_entry_safe(m, next, list, fired) {
		fsnotify_destroy_mark(&m->mark, c3c_group);
		fsnotify_put_mark(&m->mark);	/* c3c_mark_file()'s */
		c3c_file_unpin();
	}
}

static DECLARE_DELAYED_WORK(c3c_fired_work, c3c_destroy_fired);

static int c3c_handle_event(struct fsnotify_group *group, u32 mask,
			    const void *data, int data_type, struct inode *dir,
			    const struct qstr *file_name, u32 cookie,
			    struct fsnotify_iter_info *iter_info)
{
	struct fsnotify_mark *fm = fsnotify_iter_inode_mark(iter_info);
	struct c3c_mark *m = container_of(fm, struct c3c_mark, mark);
	const struct path *path = data;

	struct file *file;

	if (!fm || data_type != FSNOTIFY_EVENT_PATH)
		return 0;
	/*
	 * Close of another pidfd of the same process: not ours. Clearing
	 * m->file fires the mark once, even if a later pidfd of this inode
	 * reuses the freed struct file.
	 */
	file = container_of(path, struct file, f_path);
	if (cmpxchg(&m->file, file, NULL) != file)
		return 0;
	kill_pid(m->pid, SIGKILL, 1);
	llist_add(&m->fired, &c3c_fired_marks);
	schedule_delayed_work(&c3c_fired_work, HZ / 10);
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
	/*
	 * On success the inode's list holds a reference, and the one from
	 * fsnotify_init_mark() stays ours: fsnotify_destroy_mark() outside
	 * the event wants the caller to hold one (fsnotify_get_mark() is not
	 * exported).
	 */
	if (err)
		fsnotify_put_mark(&m->mark);
	return err;
}

/*
 * pidfs_alloc_file(): the kernel's steps, then the state entry (after the
 * file, so that its dentry is stashed: the eviction of an older inode of
 * the same pid then knows a pidfd still exists), then the AUTOKILL mark
 * for our in-flight clone.
 */
static struct file *c3c_pidfs_make_file(struct pid *pid, unsigned int flags)
{
	struct file *file;
	struct path path;
	bool autokill;
	int err;

	err = c3c_path_from_stashed(&pid->stashed, c3c_pidfs_mnt, get_pid(pid),
				    &path);
	if (err < 0)
		return ERR_PTR(err);
	file = dentry_open(&path, flags, current_cred());
	path_put(&path);
	if (IS_ERR(file))
		return file;
	err = c3c_task_pidfd_get(pid, true);
	if (err)
		goto fail;
	rcu_read_lock();
	autokill = c3c_autokill_ctx(pid);
	rcu_read_unlock();
	if (autokill) {
		err = c3c_mark_file(file, pid);
		if (err)
			goto fail;
		c3c_autokill_marked(file);
	}
	return file;
fail:
	fput(file);
	return ERR_PTR(err);
}

static struct file *c3c_pidfs_alloc_file(struct pid *pid, unsigned int flags)
{
	struct file *file = c3c_pidfs_make_file(pid, flags);

	c3c_unpin();
	return file;
}

static void notrace c3c_pidfd_create_hook(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *op,
					  struct ftrace_regs *fregs)
{
	if (READ_ONCE(c3c_transparent) || c3c_ctx_current())
		c3c_redirect_pinned(fregs, c3c_pidfs_alloc_file);
}

/*
 * The last file of the pid's pidfs inode is gone. A newer inode may be
 * stashed already (a pidfd made meanwhile): then pidfds still exist.
 */
static void notrace c3c_pidfs_evict_hook(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *op,
					 struct ftrace_regs *fregs)
{
	struct inode *inode = (void *)c3c_arg(fregs, 0);
	struct pid *pid = inode->i_private;

	if (c3c_tracking() && !READ_ONCE(pid->stashed))
		c3c_task_pidfd_put(pid, true);
}

static void notrace c3c_pidfd_ioctl_hook(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *op,
					 struct ftrace_regs *fregs)
{
	unsigned int cmd = c3c_arg(fregs, 1);

	if (!READ_ONCE(c3c_transparent))
		return;
	/* 6.12 has the namespace ioctls _IO(0xFF, 1..10); 7.1 the rest. */
	if (_IOC_TYPE(cmd) == C3C_PIDFS_MAGIC && _IOC_DIR(cmd) == _IOC_NONE &&
	    _IOC_NR(cmd) >= 1 && _IOC_NR(cmd) < C3C_PIDFD_GET_INFO_NR)
		return;
	c3c_redirect_pinned(fregs, c3c_pidfd_ioctl_pinned);
}

/*
 * Registered in this order: the eviction hook first, so that no entry made
 * for a pidfd can miss its release while the module loads.
 */
static struct c3c_hook c3c_pidfd_hooks[] = {
	{
		.name = "pidfs_evict_inode",
		.func = c3c_pidfs_evict_hook,
	},
	{
		.name = "pidfs_alloc_file",
		.func = c3c_pidfd_create_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "pidfd_ioctl",
		.func = c3c_pidfd_ioctl_hook,
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
	/* Fired marks pin the module: none is left, the work may still run. */
	flush_delayed_work(&c3c_fired_work);
	/* Marks are freed after an SRCU grace period, through our ops. */
	fsnotify_wait_marks_destroyed();
	fsnotify_put_group(c3c_group);
	c3c_group = NULL;
}

#else /* !C3C_PIDFS */

static const struct file_operations c3c_fops;

struct pid *c3c_pidfd_pid(const struct file *file)
{
	if (file->f_op != c3c_pidfd_fops && file->f_op != &c3c_fops)
		return ERR_PTR(-EBADF);
	return file->private_data;
}

static int c3c_pidfd_release(struct inode *inode, struct file *file)
{
	struct pid *pid = file->private_data;

	if (file->f_flags & O_TRUNC) {
		kill_pid(pid, SIGKILL, 1);
		c3c_file_unpin();
	}
	c3c_task_pidfd_put(pid, false);
	file->private_data = NULL;
	put_pid(pid);
	return 0;
}

/* Readable once the whole thread group has exited, as the kernel's. */
static __poll_t c3c_pidfd_poll(struct file *file, struct poll_table_struct *pts)
{
	struct pid *pid = file->private_data;

	poll_wait(file, &pid->wait_pidfd, pts);
	return thread_group_exited(pid) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* The kernel's fdinfo: the pid in the reader's /proc, then per level. */
static void c3c_pidfd_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct pid *pid = f->private_data;
	struct pid_namespace *ns = NULL;
	pid_t nr = -1;
	int i;

	if (likely(pid_has_task(pid, PIDTYPE_PID))) {
		ns = proc_pid_ns(file_inode(m->file)->i_sb);
		nr = pid_nr_ns(pid, ns);
	}
	seq_put_decimal_ll(m, "Pid:\t", nr);
	seq_put_decimal_ll(m, "\nNSpid:\t", nr);
	if (nr > 0)
		for (i = ns->level + 1; i <= pid->level; i++)
			seq_put_decimal_ll(m, "\t", pid->numbers[i].nr);
	seq_putc(m, '\n');
}

static const struct file_operations c3c_fops = {
	.owner = THIS_MODULE,
	.release = c3c_pidfd_release,
	.poll = c3c_pidfd_poll,
	.show_fdinfo = c3c_pidfd_show_fdinfo,
	.unlocked_ioctl = c3c_pidfd_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/*
 * __pidfd_prepare(), making the pidfd with our ops: counted in the pid's
 * entry (PIDFD_INFO_EXIT after the reap), marked for our AUTOKILL clone.
 */
static int c3c_pidfd_make(struct pid *pid, unsigned int flags,
			  struct file **ret)
{
	struct file *file;
	bool autokill;
	int fd, err;

	if (flags & ~(O_NONBLOCK | O_RDWR | O_CLOEXEC))
		return -EINVAL;
	err = c3c_task_pidfd_get(pid, false);
	if (err)
		return err;
	rcu_read_lock();
	autokill = c3c_autokill_ctx(pid);
	rcu_read_unlock();

	fd = get_unused_fd_flags(O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	file = anon_inode_getfile("[pidfd]", &c3c_fops, pid,
				  flags | O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		err = PTR_ERR(file);
		goto fail;
	}
	get_pid(pid);	/* held by the file, put by c3c_pidfd_release() */
	if (autokill)
		c3c_autokill_marked(file);
	*ret = file;
	return fd;
fail:
	c3c_task_pidfd_put(pid, false);
	return err;
}

static int c3c_pidfd_prepare(struct pid *pid, unsigned int flags,
			     struct file **ret)
{
	int fd = c3c_pidfd_make(pid, flags, ret);

	c3c_unpin();
	return fd;
}

static void notrace c3c_pidfd_create_hook(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *op,
					  struct ftrace_regs *fregs)
{
	if (READ_ONCE(c3c_transparent) || c3c_ctx_current())
		c3c_redirect_pinned(fregs, c3c_pidfd_prepare);
}

static void notrace c3c_pidfd_pid_hook(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	c3c_redirect(fregs, c3c_pidfd_pid);
}

static struct c3c_hook c3c_pidfd_hooks[] = {
	{
		.name = "pidfd_pid",
		.func = c3c_pidfd_pid_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "__pidfd_prepare",
		.func = c3c_pidfd_create_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
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
	int err;

	err = c3c_compat_lookup();
	if (err) {
		pr_err("pidfd internals not found: %d\n", err);
		return err;
	}
	err = c3c_hooks_register(c3c_pidfd_hooks, ARRAY_SIZE(c3c_pidfd_hooks));
	if (err)
		c3c_compat_exit();
	return err;
}

void c3c_compat_exit(void)
{
	c3c_hooks_unregister(c3c_pidfd_hooks, ARRAY_SIZE(c3c_pidfd_hooks));
	c3c_compat_teardown();
}
