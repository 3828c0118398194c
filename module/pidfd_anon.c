// SPDX-License-Identifier: GPL-2.0
/*
 * pidfds on anon inodes (before 6.9): a file per pidfd with its own
 * file_operations, the struct pid in private_data and a .release op used
 * by pidfds only.
 *
 * There is no pidfd ioctl op and the kernel's ioctl path has no
 * pidfd-specific step to hook, so pidfds made while the module is loaded
 * get the module's file_operations, with the kernel's behaviour rebuilt
 * from exported functions plus PIDFD_GET_INFO, the AUTOKILL release and
 * the entry's file count. pidfd_pid(), the only place that checks the ops,
 * is replaced to accept both. Such a file pins the module, as any file
 * does.
 */
#include "c3c.h"
#include "pidfd.h"

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

/* The kernel's pidfd file_operations. */
static const struct file_operations *c3c_pidfd_fops;

void c3c_wake_pidfd(struct task_struct *tsk)
{
	wake_up_all(&task_pid(tsk)->wait_pidfd);
}

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

struct c3c_hook c3c_pidfd_hooks[] = {
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

const int c3c_nr_pidfd_hooks = ARRAY_SIZE(c3c_pidfd_hooks);

/*
 * pidfd_fops is data: without KALLSYMS_ALL (Debian's arm64 6.1) kallsyms
 * cannot find it. A pidfd of our own, made by the kernel's
 * __pidfd_prepare() before our hook on it is armed, carries it; the
 * unused fd and the file are dropped again.
 */
int c3c_pidfd_family_init(void)
{
	struct file *file;
	int fd;

	fd = c3c_kernel_pidfd_prepare(task_pid(current), 0, &file);
	if (fd < 0)
		return fd;
	c3c_pidfd_fops = file->f_op;
	put_unused_fd(fd);
	fput(file);
	return c3c_pidfd_fops && c3c_pidfd_fops != &c3c_fops ? 0 : -ENOENT;
}

void c3c_pidfd_family_exit(void)
{
}
