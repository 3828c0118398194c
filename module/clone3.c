// SPDX-License-Identifier: GPL-2.0
/*
 * clone3() as Linux 7.1 has it, for the ioctl and for the clone3 syscall.
 *
 * The argument copy and checks follow the running kernel's clone3 (the
 * same in 6.1 and 6.12), then the 7.1 rules in 7.1's order, then
 * kernel_clone() through the call gate. A clone that asks for a 7.1 flag
 * registers a context for its caller; the fork hooks find it by task and
 * apply the flags before the child first runs. The context never outlives
 * this call, so nothing can apply it to a later, unrelated fork.
 */
#include "c3c.h"

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/pid_namespace.h>
#include <linux/sched/signal.h>
#include <linux/seccomp.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

bool c3c_transparent = true;
module_param_named(transparent, c3c_transparent, bool, 0644);
MODULE_PARM_DESC(transparent,
		 "clone3() accepts the 7.1 flags and pidfds answer PIDFD_GET_INFO (default: on)");

static DEFINE_HASHTABLE(c3c_ctxs, 6);
static DEFINE_RAW_SPINLOCK(c3c_ctx_lock);
atomic_t c3c_nr_ctx = ATOMIC_INIT(0);

/* A kernel_clone_args with room for set_tid, as sys_clone3 has. */
struct c3c_clone {
	struct kernel_clone_args kargs;
	u64 new_flags;
	pid_t set_tid[MAX_PID_NS_LEVEL];
};

/* Caller runs under RCU (or with preemption off). */
struct c3c_ctx *c3c_ctx_current(void)
{
	struct c3c_ctx *ctx;

	if (likely(!atomic_read(&c3c_nr_ctx)))
		return NULL;
	hash_for_each_possible_rcu(c3c_ctxs, ctx, node, (unsigned long)current)
		if (ctx->task == current)
			return ctx;
	return NULL;
}

static void c3c_ctx_add(struct c3c_ctx *ctx)
{
	unsigned long flags;

	ctx->task = current;
	raw_spin_lock_irqsave(&c3c_ctx_lock, flags);
	hash_add_rcu(c3c_ctxs, &ctx->node, (unsigned long)current);
	atomic_inc(&c3c_nr_ctx);
	raw_spin_unlock_irqrestore(&c3c_ctx_lock, flags);
}

static void c3c_ctx_del(struct c3c_ctx *ctx)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&c3c_ctx_lock, flags);
	hash_del_rcu(&ctx->node);
	atomic_dec(&c3c_nr_ctx);
	raw_spin_unlock_irqrestore(&c3c_ctx_lock, flags);
}

/* The running kernel's copy_clone_args_from_user(), plus the 7.1 bits. */
static int c3c_copy_clone_args(struct c3c_clone *c,
			       struct clone_args __user *uargs, size_t usize)
{
	struct clone_args args;
	int err;

	if (unlikely(usize > PAGE_SIZE))
		return -E2BIG;
	if (unlikely(usize < CLONE_ARGS_SIZE_VER0))
		return -EINVAL;
	err = copy_struct_from_user(&args, sizeof(args), uargs, usize);
	if (err)
		return err;

	if (unlikely(args.set_tid_size > MAX_PID_NS_LEVEL))
		return -EINVAL;
	if (unlikely(!args.set_tid && args.set_tid_size > 0))
		return -EINVAL;
	if (unlikely(args.set_tid && args.set_tid_size == 0))
		return -EINVAL;
	if (unlikely((args.exit_signal & ~((u64)CSIGNAL)) ||
		     !valid_signal(args.exit_signal)))
		return -EINVAL;
	if ((args.flags & CLONE_INTO_CGROUP) &&
	    (args.cgroup > INT_MAX || usize < CLONE_ARGS_SIZE_VER2))
		return -EINVAL;

	c->new_flags = args.flags & C3C_NEW_FLAGS;
	c->kargs = (struct kernel_clone_args){
		.flags		= args.flags & ~C3C_NEW_FLAGS,
		.pidfd		= u64_to_user_ptr(args.pidfd),
		.child_tid	= u64_to_user_ptr(args.child_tid),
		.parent_tid	= u64_to_user_ptr(args.parent_tid),
		.exit_signal	= args.exit_signal,
		.stack		= args.stack,
		.stack_size	= args.stack_size,
		.tls		= args.tls,
		.set_tid_size	= args.set_tid_size,
		.cgroup		= args.cgroup,
	};
	if (args.set_tid &&
	    copy_from_user(c->set_tid, u64_to_user_ptr(args.set_tid),
			   c->kargs.set_tid_size * sizeof(pid_t)))
		return -EFAULT;
	c->kargs.set_tid = c->set_tid;
	return 0;
}

/* The running kernel's clone3_args_valid(), the 7.1 bits allowed. */
static bool c3c_clone3_args_valid(struct c3c_clone *c)
{
	struct kernel_clone_args *k = &c->kargs;

	if (k->flags & ~(CLONE_LEGACY_FLAGS | CLONE_CLEAR_SIGHAND |
			 CLONE_INTO_CGROUP))
		return false;
	if (k->flags & (CLONE_DETACHED | (CSIGNAL & ~CLONE_NEWTIME)))
		return false;
	if ((k->flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND)) ==
	    (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND))
		return false;
	if ((k->flags & (CLONE_THREAD | CLONE_PARENT)) && k->exit_signal)
		return false;
	if (k->stack == 0) {
		if (k->stack_size > 0)
			return false;
	} else {
		if (k->stack_size == 0)
			return false;
		if (!access_ok((void __user *)k->stack, k->stack_size))
			return false;
		k->stack += k->stack_size;	/* x86 stacks grow down */
	}
	return true;
}

/* 7.1 refuses CLONE_PARENT only to a process that is itself autoreap. */
bool c3c_current_autoreap(void)
{
	struct c3c_task *t;
	bool ret;

	rcu_read_lock();
	t = c3c_task_find(task_tgid(current));
	ret = t && (READ_ONCE(t->flags) & C3C_T_AUTOREAP);
	rcu_read_unlock();
	return ret;
}

/*
 * The 7.1 rules, in 7.1's order. Upstream checks them in copy_process()
 * after kernel_clone()'s and copy_process()'s own EINVAL rules; those that
 * could meet one of ours are repeated here (pure flag tests) so that the
 * single EPERM comes only after every EINVAL, exactly as upstream.
 */
static int c3c_check_new_flags(const struct c3c_clone *c)
{
	const struct kernel_clone_args *k = &c->kargs;
	u64 nf = c->new_flags, f = k->flags;

	if (nf & CLONE3_COMPAT_AUTOREAP) {
		if (f & (CLONE_THREAD | CLONE_PARENT) || k->exit_signal)
			return -EINVAL;
	}
	if ((f & CLONE_PARENT) && c3c_current_autoreap())
		return -EINVAL;
	if ((nf & CLONE3_COMPAT_NNP) && (f & CLONE_THREAD))
		return -EINVAL;
	if (nf & CLONE3_COMPAT_PIDFD_AUTOKILL) {
		if (!(f & CLONE_PIDFD) || !(nf & CLONE3_COMPAT_AUTOREAP) ||
		    (f & CLONE_THREAD))
			return -EINVAL;
		if (nf & CLONE3_COMPAT_NNP)
			return 0;
		/* kernel_clone() and copy_process() EINVAL rules */
		if ((f & CLONE_PARENT_SETTID) && k->pidfd == k->parent_tid)
			return -EINVAL;
		if ((f & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS) ||
		    (f & (CLONE_NEWUSER | CLONE_FS)) == (CLONE_NEWUSER | CLONE_FS) ||
		    ((f & CLONE_SIGHAND) && !(f & CLONE_VM)))
			return -EINVAL;
		if (!ns_capable(current_user_ns(), CAP_SYS_ADMIN))
			return -EPERM;
	}
	return 0;
}

static long c3c_clone_with_ctx(struct c3c_clone *c)
{
	struct c3c_ctx *ctx;
	pid_t pid;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	/* The child inserts it itself (c3c_autoreap_queue()). */
	if (c->new_flags & CLONE3_COMPAT_AUTOREAP) {
		ctx->entry = c3c_task_alloc();
		if (!ctx->entry) {
			kfree(ctx);
			return -ENOMEM;
		}
	}
	ctx->new_flags = c->new_flags;
	ctx->kargs = c->kargs;
	c3c_ctx_add(ctx);
	pid = c3c_kernel_clone(&ctx->kargs);
	c3c_ctx_del(ctx);

	if (ctx->entry)		/* the clone failed before its commit */
		c3c_task_free(ctx->entry);
	if (pid > 0 && ctx->error)
		pid = ctx->error;
	kfree_rcu(ctx, rcu);
	return pid;
}

long c3c_clone3(struct clone_args __user *uargs, size_t size)
{
	struct c3c_clone c;
	long ret;

	ret = c3c_copy_clone_args(&c, uargs, size);
	if (ret)
		return ret;
	if (!c3c_clone3_args_valid(&c))
		return -EINVAL;
	if (!c.new_flags)
		return c3c_kernel_clone(&c.kargs);
	ret = c3c_check_new_flags(&c);
	if (ret)
		return ret;
	return c3c_clone_with_ctx(&c);
}

long c3c_ioctl_clone3(void __user *arg)
{
	struct clone3_compat_clone3 req;
	size_t usize;
	int err;

	err = c3c_copy_args_in(&req, sizeof(req), CLONE3_COMPAT_CLONE3_SIZE_VER0,
			       arg, &usize);
	if (err)
		return err;
	/*
	 * A seccomp filter sees this as an ioctl, not as clone3(): do not let
	 * a confined process spawn past its filter.
	 */
	if (current->seccomp.mode != SECCOMP_MODE_DISABLED)
		return -EPERM;
	return c3c_clone3(u64_to_user_ptr(req.args), req.args_size);
}

/*
 * Transparent mode: clone3() itself, replaced by the same implementation.
 * The hook pinned the module (c3c_redirect_pinned()): a caller may sleep
 * in here, in a fault on its arguments or inside kernel_clone().
 */
static long c3c_sys_clone3(const struct pt_regs *regs)
{
	long ret;

	ret = c3c_clone3(c3c_sys_clone3_uargs(regs), c3c_sys_clone3_size(regs));
	c3c_unpin();
	return ret;
}

static void notrace c3c_clone3_hook(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op,
				    struct ftrace_regs *fregs)
{
	const struct pt_regs *uregs = (void *)c3c_arg(fregs, 0);
	u64 flags;

	if (!READ_ONCE(c3c_transparent))
		return;
	/*
	 * A clone3() with nothing for the module stays the kernel's own.
	 * The kernel copies the flags again: a writer racing with this peek
	 * can only make it see a 7.1 bit, which it rejects with EINVAL.
	 * If the peek faults, ours runs and gives the exact errno. If the
	 * module is going away, the kernel's runs: EINVAL for a 7.1 flag,
	 * so no AUTOREAP/NNP/AUTOKILL child is ever made without them.
	 */
	if (c3c_sys_clone3_size(uregs) >= sizeof(flags) &&
	    !copy_from_user_nofault(&flags, c3c_sys_clone3_uargs(uregs),
				    sizeof(flags)) &&
	    !(flags & C3C_NEW_FLAGS))
		return;
	c3c_redirect_pinned(fregs, c3c_sys_clone3);
}

/*
 * Where an architecture has a separate entry for 32-bit tasks (x86's
 * ia32 emulation), its registers (c3c_arch.h) and a hook of their own.
 */
#ifdef C3C_SYS_CLONE3_COMPAT
static long c3c_sys_clone3_compat(const struct pt_regs *regs)
{
	long ret;

	ret = c3c_clone3(c3c_compat_clone3_uargs(regs),
			 c3c_compat_clone3_size(regs));
	c3c_unpin();
	return ret;
}

static void notrace c3c_clone3_compat_hook(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *op,
					   struct ftrace_regs *fregs)
{
	if (READ_ONCE(c3c_transparent))
		c3c_redirect_pinned(fregs, c3c_sys_clone3_compat);
}
#endif

static struct c3c_hook c3c_clone3_hooks[] = {
	{
		.name = C3C_SYS_CLONE3,
		.func = c3c_clone3_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
#ifdef C3C_SYS_CLONE3_COMPAT
	{
		.name = C3C_SYS_CLONE3_COMPAT,
		.func = c3c_clone3_compat_hook,
		.flags = FTRACE_OPS_FL_IPMODIFY,
	},
#endif
};

int c3c_clone3_init(void)
{
	return c3c_hooks_register(c3c_clone3_hooks, ARRAY_SIZE(c3c_clone3_hooks));
}

void c3c_clone3_exit(void)
{
	c3c_hooks_unregister(c3c_clone3_hooks, ARRAY_SIZE(c3c_clone3_hooks));
}
