// SPDX-License-Identifier: GPL-2.0
/*
 * The fork and exit hooks.
 *
 * - copy_process() entry: 7.1's rule that an autoreap process may not use
 *   CLONE_PARENT, for every clone flavour (the new sibling would inherit
 *   exit_signal 0 without autoreap and become a silent zombie).
 * - sched_process_fork: fires in kernel_clone() after copy_process() has
 *   succeeded and before wake_up_new_task(), so the child has not run yet:
 *   NNP and autoreap are applied here. A tracepoint probe cannot be missed
 *   or switched off from userspace, and costs less than an ftrace
 *   trampoline on every fork.
 * - do_notify_parent() entry: the one place where the kernel decides
 *   whether an exiting leader is reaped at once. For a tracked, untraced
 *   AUTOREAP process it is replaced: no signal, pollers and the parent
 *   woken, true. For any tracked process whose thread group is dead it
 *   records the exit status (every leader passes here with an empty group
 *   before it can be reaped; with a live group the status is not final).
 * - proc_flush_pid() entry: release_task() calls it once per released
 *   task, with the task's own struct pid, for a leader also inside its
 *   "release the zombie leader too" loop that an entry hook on
 *   release_task() would miss. A tracked AUTOREAP leader that the kernel
 *   reaps itself (its tracer is its real parent, or ignores SIGCHLD)
 *   is seen there, so its entry may go.
 */
#include "c3c.h"

#include <linux/sched/signal.h>
#include <linux/tracepoint.h>
#include <linux/wait.h>

static struct task_struct *
c3c_copy_process_einval(struct pid *pid, int trace, int node,
			struct kernel_clone_args *args)
{
	return ERR_PTR(-EINVAL);
}

static void notrace c3c_copy_process_hook(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *op,
					  struct ftrace_regs *fregs)
{
	struct kernel_clone_args *args = (void *)c3c_arg(fregs, 3);
	struct c3c_task *t;

	if (likely(!(args->flags & CLONE_PARENT)))
		return;
	t = c3c_task_find(task_tgid(current));
	if (t && (READ_ONCE(t->flags) & C3C_T_AUTOREAP))
		c3c_redirect(fregs, c3c_copy_process_einval);
}

static bool c3c_do_notify_parent(struct task_struct *tsk, int sig)
{
	/* The caller holds tasklist_lock for writing: parent cannot change. */
	struct task_struct *parent = rcu_dereference_protected(tsk->parent,
				lockdep_tasklist_lock_is_held());
	struct c3c_task *t;

	/*
	 * Every caller marks the task EXIT_DEAD on a true return; do it
	 * first, so that no poller woken below sees a zombie (on PREEMPT_RT
	 * tasklist_lock does not keep it from running in between).
	 */
	tsk->exit_state = EXIT_DEAD;

	/* Record the status before anyone is told the process is dead. */
	rcu_read_lock();
	t = c3c_task_find(task_pid(tsk));
	if (t) {
		if (thread_group_empty(tsk))
			c3c_task_exited(t, tsk);
		c3c_task_reaped(t);
	}
	rcu_read_unlock();
	c3c_wake_pidfd(tsk);
	/* __wake_up_parent(): a blocked wait() rescans and may get ECHILD. */
	__wake_up_sync_key(&parent->signal->wait_chldexit, TASK_INTERRUPTIBLE,
			   tsk);
	return true;
}

static void notrace c3c_notify_parent_hook(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *op,
					   struct ftrace_regs *fregs)
{
	struct task_struct *tsk = (void *)c3c_arg(fregs, 0);
	struct c3c_task *t;

	if (likely(!c3c_tracking()))
		return;
	/*
	 * A pidfd made for a zombie right now: it inserts its entry, then
	 * looks at the group; we look at the entry after the group emptied.
	 * One of the two sees the other (c3c_task_pidfd_get()).
	 */
	smp_mb();
	t = c3c_task_find(task_pid(tsk));
	if (!t)
		return;
	if (!(READ_ONCE(t->flags) & C3C_T_AUTOREAP) || tsk->ptrace) {
		/*
		 * Not ours to reap. A traced one: the tracer sees the exit
		 * as usual; once it reaps or detaches, the kernel asks
		 * again with ptrace cleared. A leader whose threads still
		 * run has no final status yet: it comes back here when the
		 * last one is released.
		 */
		if (thread_group_empty(tsk))
			c3c_task_exited(t, tsk);
		return;
	}
	c3c_redirect(fregs, c3c_do_notify_parent);
}

/* A task was released: if it led an AUTOREAP process, its entry may go. */
static void notrace c3c_flush_pid_hook(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	struct pid *pid = (void *)c3c_arg(fregs, 0);
	struct c3c_task *t;

	/* Every release passes here: no lookup unless one can match. */
	if (likely(!atomic_read(&c3c_nr_autoreap)))
		return;
	t = c3c_task_find(pid);
	if (t && (READ_ONCE(t->flags) & C3C_T_AUTOREAP))
		c3c_task_reaped(t);
}

/*
 * __ptrace_detach() for a tracked autoreap leader: the kernel's, except that
 * 7.1 releases an exited autoreap child on detach whoever traced it; the
 * kernel alone leaves it a zombie when the tracer is another thread of the
 * real parent's process. Called with tasklist_lock held for writing.
 */
static bool c3c_ptrace_detach(struct task_struct *tracer,
			      struct task_struct *p)
{
	bool dead;

	if (!c3c_ptrace_unlink(p))
		return false;	/* unreachable: the gate is armed (WARNed) */
	if (p->exit_state != EXIT_ZOMBIE)
		return false;
	dead = !thread_group_leader(p);
	if (!dead && thread_group_empty(p))
		dead = c3c_do_notify_parent(p, p->exit_signal);
	/* Mark it as in the process of being reaped. */
	if (dead)
		p->exit_state = EXIT_DEAD;
	return dead;
}

static void notrace c3c_ptrace_detach_hook(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *op,
					   struct ftrace_regs *fregs)
{
	struct task_struct *p = (void *)c3c_arg(fregs, 1);
	struct c3c_task *t;

	t = c3c_task_find(task_pid(p));
	if (t && (READ_ONCE(t->flags) & C3C_T_AUTOREAP))
		c3c_redirect(fregs, c3c_ptrace_detach);
}

static void c3c_fork_probe(void *data, struct task_struct *parent,
			   struct task_struct *child)
{
	struct c3c_ctx *ctx = c3c_ctx_current();

	if (likely(!ctx) || ctx->committed)
		return;
	ctx->committed = true;
	if (ctx->new_flags & CLONE3_COMPAT_NNP)
		task_set_no_new_privs(child);
	if (ctx->entry) {
		if (c3c_autoreap_queue(child, ctx->entry)) {
			/* Unreachable: the child has not run, cannot exit. */
			pr_warn_ratelimited("cannot queue autoreap, killing child\n");
			send_sig_info(SIGKILL, SEND_SIG_PRIV, child);
			ctx->error = -ENOMEM;
		} else {
			ctx->entry = NULL;
		}
	}
	if ((ctx->new_flags & CLONE3_COMPAT_PIDFD_AUTOKILL) && !ctx->pidfile) {
		/* Fail closed: an AUTOKILL child without its marked pidfd. */
		pr_warn_ratelimited("autokill pidfd not marked, killing child\n");
		send_sig_info(SIGKILL, SEND_SIG_PRIV, child);
		ctx->error = -ENOMEM;
	}
}

static struct c3c_hook c3c_fork_hooks[] = {
	{
		.name = "copy_process",
		.func = c3c_copy_process_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "do_notify_parent",
		.func = c3c_notify_parent_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "__ptrace_detach",
		.func = c3c_ptrace_detach_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
	{
		.name = "proc_flush_pid",
		.func = c3c_flush_pid_hook,
	},
};

static struct tracepoint *c3c_tp_fork;

static void c3c_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_fork"))
		c3c_tp_fork = tp;
}

int c3c_lifecycle_init(void)
{
	int err;

	for_each_kernel_tracepoint(c3c_find_tp, NULL);
	if (!c3c_tp_fork) {
		pr_err("no sched_process_fork tracepoint\n");
		return -ENOENT;
	}
	err = tracepoint_probe_register(c3c_tp_fork, c3c_fork_probe, NULL);
	if (err)
		return err;
	err = c3c_hooks_register(c3c_fork_hooks, ARRAY_SIZE(c3c_fork_hooks));
	if (err)
		c3c_lifecycle_exit();
	return err;
}

void c3c_lifecycle_exit(void)
{
	c3c_hooks_unregister(c3c_fork_hooks, ARRAY_SIZE(c3c_fork_hooks));
	if (c3c_tp_fork) {
		tracepoint_probe_unregister(c3c_tp_fork, c3c_fork_probe, NULL);
		tracepoint_synchronize_unregister();
		c3c_tp_fork = NULL;
	}
}
