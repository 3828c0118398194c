// SPDX-License-Identifier: GPL-2.0
/*
 * PIDFD_GET_INFO as Linux 7.1 answers it, for kernels that lack it: the
 * identity and credentials of the process behind a pidfd and, for a
 * process this module tracks, its exit status, which stays readable after
 * the autoreap for as long as a pidfd for it is open.
 */
#include "c3c.h"

#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/pid_namespace.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

/*
 * The exit status, as 7.1 keeps it for pidfds: once the process has been
 * reaped (recorded when its thread group died, state.c). Our own, stronger
 * rule for an untraced AUTOREAP process: it is reaped as soon as it is
 * dead, so the status is there from the moment a poller can see the exit
 * (which 6.12 signals before do_notify_parent() runs): while the dead task
 * is still hashed, it is read from the task itself.
 */
static bool c3c_exit_info(struct pid *pid, int *code)
{
	struct task_struct *task;
	struct c3c_task *t;
	bool ret = false;
	u32 flags;

	rcu_read_lock();
	t = c3c_task_find(pid);
	if (!t)
		goto out;
	/* Pairs with the release in c3c_task_record(): code is set. */
	flags = smp_load_acquire(&t->flags);
	task = pid_task(pid, PIDTYPE_PID);
	if ((flags & C3C_T_EXITED) && !task) {
		*code = READ_ONCE(t->exit_code);
		ret = true;
	} else if ((flags & C3C_T_AUTOREAP) && task && !task->ptrace &&
		   READ_ONCE(task->exit_state) && thread_group_empty(task)) {
		*code = c3c_exit_status(task);
		ret = true;
	}
out:
	rcu_read_unlock();
	return ret;
}

static bool c3c_pid_in_current_pidns(struct pid *pid)
{
	struct pid_namespace *ns = task_active_pid_ns(current);

	return ns->level <= pid->level && pid->numbers[ns->level].ns == ns;
}

static int c3c_copy_info_out(void __user *uinfo, size_t usize,
			     const void *kinfo, size_t ksize)
{
	if (copy_to_user(uinfo, kinfo, min(usize, ksize)))
		return -EFAULT;
	if (usize > ksize && clear_user(uinfo + ksize, usize - ksize))
		return -EFAULT;
	return 0;
}

/* Identity and credentials of a live (or exiting) process. */
static void c3c_task_info(struct task_struct *task,
			  struct clone3_compat_pidfd_info *kinfo, u64 mask)
{
	struct user_namespace *ns = current_user_ns();
	const struct cred *c = get_task_cred(task);

	kinfo->ruid = from_kuid_munged(ns, c->uid);
	kinfo->rgid = from_kgid_munged(ns, c->gid);
	kinfo->euid = from_kuid_munged(ns, c->euid);
	kinfo->egid = from_kgid_munged(ns, c->egid);
	kinfo->suid = from_kuid_munged(ns, c->suid);
	kinfo->sgid = from_kgid_munged(ns, c->sgid);
	kinfo->fsuid = from_kuid_munged(ns, c->fsuid);
	kinfo->fsgid = from_kgid_munged(ns, c->fsgid);
	put_cred(c);
	kinfo->mask |= CLONE3_COMPAT_PIDFD_INFO_CREDS;

	if (mask & CLONE3_COMPAT_PIDFD_INFO_CGROUPID) {
		rcu_read_lock();
		kinfo->cgroupid = cgroup_id(task_dfl_cgroup(task));
		rcu_read_unlock();
		kinfo->mask |= CLONE3_COMPAT_PIDFD_INFO_CGROUPID;
	}

	/* Identifiers last, to narrow the window in which they go stale. */
	kinfo->ppid = task_ppid_nr_ns(task, NULL);
	kinfo->tgid = task_tgid_vnr(task);
	kinfo->pid = task_pid_vnr(task);
	kinfo->mask |= CLONE3_COMPAT_PIDFD_INFO_PID;
}

int c3c_pidfd_info(struct pid *pid, struct clone3_compat_pidfd_info __user *uinfo,
		   size_t usize)
{
	struct clone3_compat_pidfd_info kinfo = {};
	struct task_struct *task;
	u64 mask;
	int code;

	if (!uinfo)
		return -EINVAL;
	if (usize < CLONE3_COMPAT_PIDFD_INFO_SIZE_VER0)
		return -EINVAL;
	if (get_user(mask, &uinfo->mask))
		return -EFAULT;
	/* Only processes in the caller's pid namespace hierarchy, reaped or not. */
	if (!c3c_pid_in_current_pidns(pid))
		return -EREMOTE;

	task = get_pid_task(pid, PIDTYPE_PID);
	if (task) {
		c3c_task_info(task, &kinfo, mask);
		put_task_struct(task);
	}
	/*
	 * Asked after the task: a process reaped meanwhile has its status
	 * recorded by then. One whose pids went away while we looked counts
	 * as reaped too.
	 */
	if ((mask & CLONE3_COMPAT_PIDFD_INFO_EXIT) && c3c_exit_info(pid, &code)) {
		kinfo.mask |= CLONE3_COMPAT_PIDFD_INFO_EXIT;
		kinfo.exit_code = code;
	}
	if (!task || kinfo.pid == 0 || kinfo.tgid == 0) {
		/* Reaped: only the exit status is left to report. */
		if (!(mask & CLONE3_COMPAT_PIDFD_INFO_EXIT))
			return -ESRCH;
		kinfo = (struct clone3_compat_pidfd_info){
			.mask = kinfo.mask & CLONE3_COMPAT_PIDFD_INFO_EXIT,
			.exit_code = kinfo.exit_code,
		};
	}
	return c3c_copy_info_out(uinfo, usize, &kinfo, sizeof(kinfo));
}

long c3c_ioctl_pidfd_get_info(void __user *arg)
{
	struct clone3_compat_pidfd_get_info req;
	struct file *file;
	struct pid *pid;
	size_t usize;
	long ret;

	ret = c3c_copy_args_in(&req, sizeof(req),
			       CLONE3_COMPAT_PIDFD_GET_INFO_SIZE_VER0, arg,
			       &usize);
	if (ret)
		return ret;
	if (req.__reserved)
		return -EINVAL;
	if (req.info_size > PAGE_SIZE)
		return -E2BIG;
	file = fget(req.pidfd);
	if (!file)
		return -EBADF;
	pid = c3c_pidfd_pid(file);
	if (IS_ERR(pid))
		ret = PTR_ERR(pid);
	else
		ret = c3c_pidfd_info(pid, u64_to_user_ptr(req.info),
				     req.info_size);
	fput(file);
	return ret;
}
