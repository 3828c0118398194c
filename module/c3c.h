/* SPDX-License-Identifier: GPL-2.0 */
/* clone3-compat: declarations shared by the module's files. */
#ifndef C3C_H
#define C3C_H

#ifndef pr_fmt
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#endif

#include <linux/atomic.h>
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/rhashtable-types.h>
#include <linux/llist.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/types.h>
#include <uapi/linux/clone3_compat.h>

#include "c3c_arch.h"
#include "c3c_fregs.h"

/* From VERSION, by the top-level Kbuild. */
#ifndef C3C_VERSION_STR
#error "build from the top-level Kbuild: make -C $KDIR M=$PWD"
#endif

#define C3C_NEW_FLAGS	(CLONE3_COMPAT_AUTOREAP | CLONE3_COMPAT_NNP | \
			 CLONE3_COMPAT_PIDFD_AUTOKILL)

/* hooks.c: ftrace hooks by name, and the call gate. */
struct c3c_hook {
	const char *name;	/* kernel function, resolved by ftrace */
	ftrace_func_t func;
	unsigned long flags;	/* FTRACE_OPS_FL_IPMODIFY where it redirects */
	unsigned long target;	/* gates: where the carrier transfers to */
	void *carrier;		/* gates: module function ftrace patches */
	struct ftrace_ops ops;
	bool registered;
};

int c3c_hook_register(struct c3c_hook *h);
void c3c_hook_unregister(struct c3c_hook *h);
int c3c_hooks_register(struct c3c_hook *h, int n);
void c3c_hooks_unregister(struct c3c_hook *h, int n);
int c3c_gates_init(void);
void c3c_gates_exit(void);
pid_t c3c_kernel_clone(struct kernel_clone_args *args);
bool c3c_ptrace_unlink(struct task_struct *child);
int c3c_path_from_stashed(struct dentry **stashed, struct vfsmount *mnt,
			  void *data, struct path *path);
int c3c_kernel_pidfd_prepare(struct pid *pid, unsigned int flags,
			     struct file **ret);
struct file *c3c_kernel_pidfs_alloc_file(struct pid *pid, unsigned int flags);

/* Redirect a hooked function to @to (RET transfer, IBT-safe). */
static __always_inline void c3c_redirect(struct ftrace_regs *fregs, void *to)
{
	ftrace_regs_set_instruction_pointer(fregs, (unsigned long)to);
}

/*
 * Redirect to @to, a module function that may sleep, fault or allocate,
 * only with a reference on the module taken here, before any of that can
 * happen; @to drops it on its way out (c3c_unpin()). Unregistering a hook
 * waits only for RCU-tasks, and a task asleep in module code (a page
 * fault, an allocation) is quiescent there: without the reference, rmmod
 * could free the code under it. If the module is going away, no redirect:
 * the kernel's own function runs.
 */
static __always_inline bool c3c_redirect_pinned(struct ftrace_regs *fregs,
						void *to)
{
	if (!try_module_get(THIS_MODULE))
		return false;
	c3c_redirect(fregs, to);
	return true;
}

/*
 * The last step of a c3c_redirect_pinned() target. What runs after it,
 * the return into the kernel, cannot sleep: RCU-tasks, which the hooks'
 * unregistration waits for, covers it.
 */
static __always_inline void c3c_unpin(void)
{
	module_put(THIS_MODULE);
}

/* Argument @n of the hooked kernel function (C calling convention). */
static __always_inline unsigned long c3c_arg(struct ftrace_regs *fregs, int n)
{
	return ftrace_regs_get_argument(fregs, n);
}

/* state.c: per-process state keyed by the thread-group struct pid. */
struct c3c_task {
	struct rhash_head node;
	struct pid *pid;	/* key; reference held */
	u32 flags;		/* C3C_T_*, written under c3c_lock */
	int exit_code;		/* wait status, valid with C3C_T_EXITED */
	unsigned int nr_files;	/* pidfds (pidfs: 1 while its inode lives) */
	union {
		struct callback_head twork;	/* before insertion */
		struct llist_node free;		/* once C3C_T_DEAD */
		struct rcu_head rcu;		/* once removed */
	};
};

#define C3C_T_AUTOREAP	BIT(0)	/* CLONE_AUTOREAP */
#define C3C_T_EXITED	BIT(1)	/* the group is dead, exit_code is final */
#define C3C_T_REAPED	BIT(2)	/* the process has been released */
#define C3C_T_PINNED	BIT(3)	/* holds a module reference (state.c) */
#define C3C_T_DEAD	BIT(4)	/* being freed: treat as absent */

extern atomic_t c3c_nr_tasks;
extern atomic_t c3c_nr_autoreap;
extern atomic_t c3c_nr_files;

int c3c_state_init(void);
void c3c_state_exit(void);
struct c3c_task *c3c_task_alloc(void);
void c3c_task_free(struct c3c_task *t);
int c3c_autoreap_queue(struct task_struct *child, struct c3c_task *t);
struct c3c_task *c3c_task_find(struct pid *pid);
int c3c_task_pidfd_get(struct pid *pid, bool all);
void c3c_task_pidfd_put(struct pid *pid, bool all);
void c3c_task_exited(struct c3c_task *t, struct task_struct *tsk);
void c3c_task_reaped(struct c3c_task *t);
int c3c_exit_status(struct task_struct *tsk);
void c3c_file_pin(void);
void c3c_file_unpin(void);

static __always_inline bool c3c_tracking(void)
{
	return atomic_read(&c3c_nr_tasks) != 0;
}

/* clone3.c: clone3() as on Linux 7.1, shared by the ioctl and clone3(). */
struct c3c_ctx {
	struct hlist_node node;
	struct rcu_head rcu;
	struct task_struct *task;	/* the caller */
	struct kernel_clone_args kargs;
	u64 new_flags;			/* the 7.1 bits, stripped from kargs */
	struct c3c_task *entry;		/* AUTOREAP: the child's entry */
	struct file *pidfile;		/* the marked AUTOKILL pidfd file */
	int error;			/* commit failed: child was killed */
	bool committed;			/* the fork probe has run */
};

extern atomic_t c3c_nr_ctx;
extern bool c3c_transparent;

int c3c_clone3_init(void);
void c3c_clone3_exit(void);
struct c3c_ctx *c3c_ctx_current(void);
bool c3c_current_autoreap(void);
long c3c_clone3(struct clone_args __user *uargs, size_t size);
long c3c_ioctl_clone3(void __user *arg);

/* lifecycle.c: the fork, exit and reap hooks. */
int c3c_lifecycle_init(void);
void c3c_lifecycle_exit(void);

/* pidfd.c and its family (pidfd_pidfs.c or pidfd_anon.c, by Kbuild). */
int c3c_pidfd_init(void);
void c3c_pidfd_exit(void);
struct pid *c3c_pidfd_pid(const struct file *file);
long c3c_pidfd_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
void c3c_wake_pidfd(struct task_struct *tsk);

/* pidfd_info.c: PIDFD_GET_INFO. */
long c3c_ioctl_pidfd_get_info(void __user *arg);
int c3c_pidfd_info(struct pid *pid, struct clone3_compat_pidfd_info __user *uinfo,
		   size_t usize);

/* main.c: extensible argument structs. */
int c3c_copy_args_in(void *dst, size_t ksize, size_t min,
		     const void __user *uarg, size_t *usize);

#endif /* C3C_H */
