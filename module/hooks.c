// SPDX-License-Identifier: GPL-2.0
/*
 * ftrace hooks by name, and the call gate.
 *
 * Debian 6.12 seals the ENDBR of functions whose address is never taken, so
 * an indirect CALL/JMP into an unexported kernel function BUGs on IBT
 * hardware. The only way this module enters unexported code is the gate: a
 * module "carrier" function whose ftrace site is patched to hand control to
 * the target by rewriting the saved instruction pointer, which ftrace's
 * trampoline then returns to with RET. That is the transfer livepatch uses;
 * IBT does not check RET. The carrier keeps the caller's arguments in
 * place, so the target runs as if called directly.
 */
#include "c3c.h"

#include <linux/kprobes.h>
#include <linux/module.h>

int c3c_hook_register(struct c3c_hook *h)
{
	int err;

	h->ops.func = h->func;
	/*
	 * PERMANENT: kernel.ftrace_enabled=0 must not silently switch off a
	 * security hook. RECURSION: ftrace guards the callbacks (and runs
	 * them with preemption off). No SAVE_REGS: callbacks use only the
	 * argument registers and the IP (see c3c_fregs()); the full register
	 * save cost 26 instructions on every fork, exit and clone3.
	 */
	h->ops.flags = FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_PERMANENT |
		       h->flags;
	if (h->carrier)
		err = ftrace_set_filter_ip(&h->ops, (unsigned long)h->carrier,
					   0, 0);
	else
		err = ftrace_set_filter(&h->ops, (unsigned char *)h->name,
					strlen(h->name), 0);
	if (err) {
		pr_err("cannot filter on %s: %d\n", h->name, err);
		return err;
	}
	err = register_ftrace_function(&h->ops);
	if (err) {
		pr_err("cannot hook %s: %d\n", h->name, err);
		ftrace_free_filter(&h->ops);
		return err;
	}
	h->registered = true;
	return 0;
}

void c3c_hook_unregister(struct c3c_hook *h)
{
	if (!h->registered)
		return;
	unregister_ftrace_function(&h->ops);
	ftrace_free_filter(&h->ops);
	h->registered = false;
}

/* All of @n hooks, or none. */
int c3c_hooks_register(struct c3c_hook *h, int n)
{
	int i, err;

	for (i = 0; i < n; i++) {
		err = c3c_hook_register(&h[i]);
		if (err) {
			c3c_hooks_unregister(h, i);
			return err;
		}
	}
	return 0;
}

void c3c_hooks_unregister(struct c3c_hook *h, int n)
{
	while (n--)
		c3c_hook_unregister(&h[n]);
}

static void notrace c3c_gate_func(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *op,
				  struct ftrace_regs *fregs)
{
	struct c3c_hook *h = container_of(op, struct c3c_hook, ops);

	c3c_redirect(fregs, (void *)h->target);
}

/*
 * Carriers. noipa: the compiler must neither inline them nor assume their
 * return value. Their bodies run only if the gate is not armed, which the
 * module's lifetime rules out (gates are armed before any hook and taken
 * down after all of them); should it ever happen, it is loud and fails.
 * c3c_gates_init() checks that at every load, before arming them.
 */
static bool c3c_gate_selftest;
static unsigned int c3c_gate_unarmed;

static void c3c_gate_unarmed_hit(const char *name)
{
	c3c_gate_unarmed++;
	if (!c3c_gate_selftest)
		WARN_ONCE(1, "call gate %s reached unarmed\n", name);
}

static __attribute__((__noipa__)) unsigned long
c3c_gate_kallsyms_lookup_name(const char *name)
{
	c3c_gate_unarmed_hit("kallsyms_lookup_name");
	return 0;
}

static __attribute__((__noipa__)) pid_t
c3c_gate_kernel_clone(struct kernel_clone_args *args)
{
	c3c_gate_unarmed_hit("kernel_clone");
	return -EOPNOTSUPP;
}

static __attribute__((__noipa__)) int
c3c_gate_path_from_stashed(struct dentry **stashed, struct vfsmount *mnt,
			   void *data, struct path *path)
{
	c3c_gate_unarmed_hit("path_from_stashed");
	return -EOPNOTSUPP;
}

/* The pidfd makers of the two families: one exists on a given kernel. */
static __attribute__((__noipa__)) int
c3c_gate_pidfd_prepare(struct pid *pid, unsigned int flags, struct file **ret)
{
	c3c_gate_unarmed_hit("__pidfd_prepare");
	return -EOPNOTSUPP;
}

static __attribute__((__noipa__)) struct file *
c3c_gate_pidfs_alloc_file(struct pid *pid, unsigned int flags)
{
	c3c_gate_unarmed_hit("pidfs_alloc_file");
	return ERR_PTR(-EOPNOTSUPP);
}

/* Void: c3c_ptrace_unlink() checks its effect instead. */
static __attribute__((__noipa__)) void
c3c_gate_ptrace_unlink(struct task_struct *child)
{
	c3c_gate_unarmed_hit("__ptrace_unlink");
}

/* Unarmed, every carrier must fail (and count), not pretend success. */
static int c3c_gates_selftest(void)
{
	bool ok;

	c3c_gate_selftest = true;
	c3c_gate_unarmed = 0;
	ok = !c3c_gate_kallsyms_lookup_name("kernel_clone") &&
	     c3c_gate_kernel_clone(NULL) == -EOPNOTSUPP &&
	     c3c_gate_path_from_stashed(NULL, NULL, NULL, NULL) == -EOPNOTSUPP &&
	     c3c_gate_pidfd_prepare(NULL, 0, NULL) == -EOPNOTSUPP &&
	     PTR_ERR(c3c_gate_pidfs_alloc_file(NULL, 0)) == -EOPNOTSUPP;
	c3c_gate_ptrace_unlink(NULL);
	ok = ok && c3c_gate_unarmed == 6;
	c3c_gate_selftest = false;
	if (!ok) {
		pr_err("call gates do not fail closed when unarmed\n");
		return -EINVAL;
	}
	pr_info("call gates fail closed when unarmed: ok\n");
	return 0;
}

enum {
	GATE_KALLSYMS, GATE_KERNEL_CLONE, GATE_PATH_FROM_STASHED,
	GATE_PTRACE_UNLINK, GATE_PIDFD_PREPARE, GATE_PIDFS_ALLOC_FILE, NR_GATES
};

static struct c3c_hook c3c_gates[NR_GATES] = {
	[GATE_KALLSYMS] = {
		.name = "kallsyms_lookup_name",
		.carrier = c3c_gate_kallsyms_lookup_name,
	},
	[GATE_KERNEL_CLONE] = {
		.name = "kernel_clone",
		.carrier = c3c_gate_kernel_clone,
	},
	[GATE_PATH_FROM_STASHED] = {
		.name = "path_from_stashed",
		.carrier = c3c_gate_path_from_stashed,
	},
	[GATE_PTRACE_UNLINK] = {
		.name = "__ptrace_unlink",
		.carrier = c3c_gate_ptrace_unlink,
	},
	[GATE_PIDFD_PREPARE] = {
		.name = "__pidfd_prepare",
		.carrier = c3c_gate_pidfd_prepare,
	},
	[GATE_PIDFS_ALLOC_FILE] = {
		.name = "pidfs_alloc_file",
		.carrier = c3c_gate_pidfs_alloc_file,
	},
};

static int c3c_gate_arm(struct c3c_hook *g, unsigned long target)
{
	g->func = c3c_gate_func;
	g->flags = FTRACE_OPS_FL_IPMODIFY;
	g->target = target;
	return c3c_hook_register(g);
}

/* kallsyms_lookup_name is not exported: a kprobe tells where it is. */
static unsigned long c3c_kprobe_addr(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	unsigned long addr;

	if (register_kprobe(&kp))
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

static unsigned long c3c_lookup(const char *name)
{
	return c3c_gate_kallsyms_lookup_name(name);
}

pid_t c3c_kernel_clone(struct kernel_clone_args *args)
{
	return c3c_gate_kernel_clone(args);
}

/* __ptrace_unlink() always clears ->ptrace: false if it did not run. */
bool c3c_ptrace_unlink(struct task_struct *child)
{
	c3c_gate_ptrace_unlink(child);
	return !READ_ONCE(child->ptrace);
}

int c3c_path_from_stashed(struct dentry **stashed, struct vfsmount *mnt,
			  void *data, struct path *path)
{
	return c3c_gate_path_from_stashed(stashed, mnt, data, path);
}

/*
 * A pidfd made by the kernel's own code, for the pidfd family to learn the
 * kernel's pidfd internals from (its file_operations, pidfs's mount) with
 * no lookup of data symbols, which kallsyms lacks without KALLSYMS_ALL
 * (Debian's arm64 6.1). Only at load, before the pidfd hooks are armed:
 * then these makers are hooked and would be ours. -ENOENT where the
 * kernel has no such function (the other family's).
 */
int c3c_kernel_pidfd_prepare(struct pid *pid, unsigned int flags,
			     struct file **ret)
{
	if (!c3c_gates[GATE_PIDFD_PREPARE].registered)
		return -ENOENT;
	return c3c_gate_pidfd_prepare(pid, flags, ret);
}

struct file *c3c_kernel_pidfs_alloc_file(struct pid *pid, unsigned int flags)
{
	if (!c3c_gates[GATE_PIDFS_ALLOC_FILE].registered)
		return ERR_PTR(-ENOENT);
	return c3c_gate_pidfs_alloc_file(pid, flags);
}

int c3c_gates_init(void)
{
	unsigned long addr;
	int i, err;

	err = c3c_gates_selftest();
	if (err)
		return err;
	addr = c3c_kprobe_addr(c3c_gates[GATE_KALLSYMS].name);
	if (!addr) {
		pr_err("cannot locate kallsyms_lookup_name\n");
		return -ENOENT;
	}
	err = c3c_gate_arm(&c3c_gates[GATE_KALLSYMS], addr);
	if (err)
		return err;

	for (i = GATE_KALLSYMS + 1; i < NR_GATES; i++) {
		addr = c3c_lookup(c3c_gates[i].name);
		/*
		 * One family's only: path_from_stashed and pidfs_alloc_file
		 * (pidfs kernels), __pidfd_prepare (6.1; inlined on 6.12).
		 */
		if (!addr)
			continue;
		err = c3c_gate_arm(&c3c_gates[i], addr);
		if (err) {
			c3c_gates_exit();
			return err;
		}
	}
	if (!c3c_gates[GATE_KERNEL_CLONE].registered ||
	    !c3c_gates[GATE_PTRACE_UNLINK].registered) {
		pr_err("cannot locate kernel_clone or __ptrace_unlink\n");
		c3c_gates_exit();
		return -ENOENT;
	}
	return 0;
}

void c3c_gates_exit(void)
{
	c3c_hooks_unregister(c3c_gates, NR_GATES);
}
