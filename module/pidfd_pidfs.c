// SPDX-License-Identifier: GPL-2.0
/*
 * pidfds on pidfs (6.9+): one inode per struct pid (i_private), shared by
 * every pidfd of that process, and no .release op at all.
 *
 * pidfs_alloc_file() is replaced by ours (the kernel's steps through the
 * path_from_stashed gate, plus the entry and, for our AUTOKILL
 * clone, the mark). Release of the AUTOKILL file is seen through an
 * fsnotify close mark on the child's pidfs inode, so closes of unrelated
 * files pay nothing (fsnotify() returns at once for inodes without marks).
 * The last pidfd of a process is gone when its pidfs inode is evicted
 * (pidfs_evict_inode() entry). PIDFD_GET_INFO is added by redirecting that
 * one command of pidfd_ioctl().
 */
#include "c3c.h"
#include "pidfd.h"

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify_backend.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

/* The kernel's pidfd file_operations. */
static const struct file_operations *c3c_pidfd_fops;

/* 6.9+ do_notify_parent() wakes pollers only once the group is empty. */
void c3c_wake_pidfd(struct task_struct *tsk)
{
	if (thread_group_empty(tsk))
		__wake_up(&task_pid(tsk)->wait_pidfd, TASK_NORMAL, 0,
			  poll_to_key(EPOLLIN | EPOLLRDNORM));
}

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
struct c3c_hook c3c_pidfd_hooks[] = {
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

const int c3c_nr_pidfd_hooks = ARRAY_SIZE(c3c_pidfd_hooks);

/*
 * pidfs_file_operations and pidfs_mnt are data, which kallsyms has only
 * with KALLSYMS_ALL: a pidfd of our own, made by the kernel's
 * pidfs_alloc_file() before our hook on it is armed, carries both (its
 * f_op, its mount). The file is dropped again.
 */
int c3c_pidfd_family_init(void)
{
	struct file *file;

	file = c3c_kernel_pidfs_alloc_file(task_pid(current), O_RDWR);
	if (IS_ERR(file))
		return PTR_ERR(file);
	c3c_pidfd_fops = file->f_op;
	c3c_pidfs_mnt = file->f_path.mnt;
	fput(file);
	if (!c3c_pidfd_fops || !c3c_pidfs_mnt)
		return -ENOENT;
	c3c_group = fsnotify_alloc_group(&c3c_fsnotify_ops, 0);
	if (IS_ERR(c3c_group)) {
		int err = PTR_ERR(c3c_group);

		c3c_group = NULL;
		return err;
	}
	return 0;
}

void c3c_pidfd_family_exit(void)
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
