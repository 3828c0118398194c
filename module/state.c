// SPDX-License-Identifier: GPL-2.0
/*
 * Per-process state, keyed by the thread-group struct pid (exec keeps it,
 * reparenting does not touch it), in a resizable rhashtable: lookups are
 * RCU and O(1) however many processes are tracked.
 *
 * Linux 7.1 keeps exit information on the struct pid once a pidfd for it
 * exists. The same rule here: an entry is made where a pidfd is made (or
 * where an AUTOREAP child first runs), in process context, so no exit-time
 * callback ever allocates and no pool decides whether a status is kept.
 * The status is recorded when the thread group is dead and reported once
 * the process is reaped. An entry is freed as soon as nobody can ask for
 * it: no pidfd refers to the process and, for an AUTOREAP one, it has been
 * reaped. Nothing walks the table, and every transition is O(1) under
 * c3c_lock.
 *
 * An entry pins the module while unloading would lose something: an
 * AUTOREAP process not yet reaped (it would become a zombie), or an exit
 * status that an open pidfd may still ask for. Entries of live processes
 * that only pidfds refer to do not: a system whose service manager holds
 * pidfds of its services can still unload us; module exit frees them.
 *
 * An entry is unlinked where it dies if the table may be changed there
 * (6.12's bucket locks disable interrupts: anywhere; 6.1's disable bottom
 * halves: not under tasklist_lock with interrupts off, nor with preemption
 * off on PREEMPT_RT), else by a work item.
 */
#include "c3c.h"

#include <linux/hash.h>
#include <linux/irqflags.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/rhashtable.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/workqueue.h>

/*
 * The table grows as needed and does not shrink: shrinking rehashed every
 * entry left at each halving, in the middle of a burst of exits (6 % on
 * 10 000 simultaneous exits with pidfds held, make bench P7). What it
 * keeps is 8 bytes a bucket at the peak: 1 MiB after 100 000 tracked
 * processes at once, freed at module exit.
 */
/*
 * The key is a pointer: one multiplication spreads it (hash_ptr()), where
 * the default jhash costs a few dozen instructions on every fork, exit and
 * pidfd of a tracked process.
 */
static u32 c3c_ht_hash(const void *data, u32 len, u32 seed)
{
	return hash_ptr(*(struct pid * const *)data, 32) ^ seed;
}

static const struct rhashtable_params c3c_ht_params = {
	.key_len = sizeof(struct pid *),
	.hashfn = c3c_ht_hash,
	.key_offset = offsetof(struct c3c_task, pid),
	.head_offset = offsetof(struct c3c_task, node),
	.min_size = 64,
};

static struct rhashtable c3c_ht;
static bool c3c_ht_ready;
static DEFINE_RAW_SPINLOCK(c3c_lock);
static struct kmem_cache *c3c_task_cache;
static LLIST_HEAD(c3c_free_list);

atomic_t c3c_nr_tasks = ATOMIC_INIT(0);
atomic_t c3c_nr_autoreap = ATOMIC_INIT(0);	/* AUTOREAP, not yet reaped */
atomic_t c3c_nr_files = ATOMIC_INIT(0);

static void c3c_free_work_fn(struct work_struct *work);
static DECLARE_WORK(c3c_free_work, c3c_free_work_fn);

/*
 * The entry of @pid, or NULL. The caller holds rcu_read_lock() or runs
 * with preemption disabled, for as long as it uses the result.
 */
struct c3c_task *c3c_task_find(struct pid *pid)
{
	if (!c3c_tracking())
		return NULL;
	return rhashtable_lookup_fast(&c3c_ht, &pid, c3c_ht_params);
}

/*
 * Entries past their grace period, kept for the next ones: a slab
 * allocation and free (zeroed on allocation on Debian) cost more than the
 * rest of a plain pidfd's entry. At most C3C_SPARES are kept; past that,
 * and whenever none is left, the slab is used: nothing here decides
 * whether an entry can be had.
 */
#define C3C_SPARES	64
static LLIST_HEAD(c3c_spares);
static atomic_t c3c_nr_spares = ATOMIC_INIT(0);
static DEFINE_SPINLOCK(c3c_spare_lock);	/* llist_del_first()'s one taker */

static struct c3c_task *c3c_task_new(struct pid *pid, gfp_t gfp)
{
	struct llist_node *n = NULL;
	struct c3c_task *t;

	if (!llist_empty(&c3c_spares)) {
		spin_lock(&c3c_spare_lock);
		n = llist_del_first(&c3c_spares);
		spin_unlock(&c3c_spare_lock);
	}
	if (n) {
		atomic_dec(&c3c_nr_spares);
		t = llist_entry(n, struct c3c_task, free);
		memset(t, 0, sizeof(*t));
	} else {
		t = kmem_cache_zalloc(c3c_task_cache, gfp);
		if (!t)
			return NULL;
	}
	t->pid = get_pid(pid);
	return t;
}

static void c3c_task_destroy(struct c3c_task *t)
{
	put_pid(t->pid);
	kmem_cache_free(c3c_task_cache, t);
}

/* After its grace period: keep @t for reuse, or free it. Any context. */
static void c3c_task_retire(struct c3c_task *t)
{
	put_pid(t->pid);
	if (atomic_inc_return(&c3c_nr_spares) <= C3C_SPARES) {
		llist_add(&t->free, &c3c_spares);
		return;
	}
	atomic_dec(&c3c_nr_spares);
	kmem_cache_free(c3c_task_cache, t);
}

static void c3c_task_rcu_free(struct rcu_head *rcu)
{
	/* After the grace period: no reader can match a reused pid address. */
	c3c_task_retire(container_of(rcu, struct c3c_task, rcu));
}

static void c3c_task_unlink(struct c3c_task *t)
{
	rhashtable_remove_fast(&c3c_ht, &t->node, c3c_ht_params);
	atomic_dec(&c3c_nr_tasks);
	call_rcu(&t->rcu, c3c_task_rcu_free);
}

static void c3c_free_work_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&c3c_free_list);
	struct c3c_task *t, *n;

	llist_for_each_entry_safe(t, n, list, free)
		c3c_task_unlink(t);
}

/*
 * May the table be changed in this context? Always, where its bucket locks
 * disable interrupts (C3C_RHT_IRQSAFE, from Kbuild); else only where
 * bottom halves may be disabled and enabled again: preemptible
 * (PREEMPT_RT makes that a sleeping lock) and with interrupts on.
 */
static __always_inline bool c3c_table_writable_here(void)
{
	if (C3C_RHT_IRQSAFE)
		return true;
	return preemptible() && !irqs_disabled();
}

/* The wait status of a dead thread group, as wait() reports it. */
int c3c_exit_status(struct task_struct *tsk)
{
	if (tsk->signal->flags & SIGNAL_GROUP_EXIT)
		return tsk->signal->group_exit_code;
	return tsk->exit_code;
}

/*
 * Under c3c_lock: free @t once nobody can ask for it. Marked dead at once;
 * a pidfd made meanwhile does not use a dead entry (c3c_task_apply()). Where the table may be
 * changed here it is unlinked at once (no window in which a dead entry is
 * found); else the caller disposes of it after unlocking: true.
 */
static bool c3c_task_maybe_free(struct c3c_task *t)
{
	if ((t->flags & C3C_T_DEAD) || t->nr_files ||
	    ((t->flags & C3C_T_AUTOREAP) && !(t->flags & C3C_T_REAPED)))
		return false;
	WRITE_ONCE(t->flags, t->flags | C3C_T_DEAD);
	if (!c3c_table_writable_here())
		return true;
	c3c_task_unlink(t);
	return false;
}

/*
 * After unlocking: unlink a dead @t now if this context may (6.1 from a
 * pidfd's release), else from the work item (6.1 under tasklist_lock).
 */
static void c3c_task_dispose(struct c3c_task *t, bool preemptible_caller)
{
	if (preemptible_caller && c3c_table_writable_here()) {
		c3c_task_unlink(t);
		return;
	}
	llist_add(&t->free, &c3c_free_list);
	/* queue_work() is safe with interrupts off and under raw locks. */
	schedule_work(&c3c_free_work);
}

/*
 * Under c3c_lock: make the module reference of @t follow the rule above.
 * True if the caller must drop one (module_put()) after unlocking.
 */
static bool c3c_task_sync_pin(struct c3c_task *t)
{
	u32 f = t->flags;
	bool want = ((f & C3C_T_AUTOREAP) && !(f & C3C_T_REAPED)) ||
		    ((f & C3C_T_EXITED) && t->nr_files);

	if (want && !(f & C3C_T_PINNED)) {
		/* Fails only while unloading: module exit frees us then. */
		if (try_module_get(THIS_MODULE))
			WRITE_ONCE(t->flags, f | C3C_T_PINNED);
		return false;
	}
	if (!want && (f & C3C_T_PINNED)) {
		WRITE_ONCE(t->flags, f & ~C3C_T_PINNED);
		return true;
	}
	return false;
}

/*
 * After a transition under c3c_lock: pin or unpin, free if nobody can ask
 * any more, and unlock. @preemptible_caller: the caller's own context
 * (before it took the lock) may sleep.
 */
static void c3c_unlock_settled(struct c3c_task *t, unsigned long flags,
			       bool preemptible_caller)
	__releases(&c3c_lock)
{
	bool unpin = c3c_task_sync_pin(t);
	bool dispose = c3c_task_maybe_free(t);

	raw_spin_unlock_irqrestore(&c3c_lock, flags);
	if (dispose)
		c3c_task_dispose(t, preemptible_caller);
	if (unpin)
		module_put(THIS_MODULE);
}

/* Under c3c_lock: the status is final (the whole group is dead). */
static void c3c_task_record(struct c3c_task *t, int exit_code)
{
	if (t->flags & C3C_T_EXITED)
		return;
	WRITE_ONCE(t->exit_code, exit_code);
	/* Pairs with smp_load_acquire() in readers of exit_code. */
	smp_store_release(&t->flags, t->flags | C3C_T_EXITED);
}

/*
 * @tsk, the leader of @t's process, has a dead thread group: its status is
 * final. Called with tasklist_lock held; safe in any context.
 */
void c3c_task_exited(struct c3c_task *t, struct task_struct *tsk)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&c3c_lock, flags);
	if (!(t->flags & C3C_T_DEAD))
		c3c_task_record(t, c3c_exit_status(tsk));
	c3c_unlock_settled(t, flags, false);
}

/* The process of @t is being released. Safe in any context. */
void c3c_task_reaped(struct c3c_task *t)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&c3c_lock, flags);
	if (!(t->flags & (C3C_T_DEAD | C3C_T_REAPED))) {
		if (t->flags & C3C_T_AUTOREAP)
			atomic_dec(&c3c_nr_autoreap);
		WRITE_ONCE(t->flags, t->flags | C3C_T_REAPED);
	}
	c3c_unlock_settled(t, flags, false);
}

/*
 * Under c3c_lock, with a full barrier before: a pidfd is made for a
 * process whose group may be dead already (a zombie); the exit hook may
 * have looked for the entry before it was visible. Either it saw the entry
 * or we see the dead group: c3c_notify_parent_hook() has the other
 * barrier.
 */
static void c3c_task_record_if_dead(struct c3c_task *t)
{
	struct task_struct *task;

	rcu_read_lock();
	task = pid_task(t->pid, PIDTYPE_PID);
	if (task && READ_ONCE(task->exit_state) && thread_group_empty(task))
		c3c_task_record(t, c3c_exit_status(task));
	rcu_read_unlock();
}

/*
 * Find the live entry of @pid, or insert one (@spare if given, else a new
 * one), and under c3c_lock OR @set into its flags and count a pidfd:
 * @files 1 adds one file, -1 says a (shared pidfs) inode exists, 0 none.
 * RCU is held from the lookup until the entry is locked and known not to
 * be dead, so it cannot be freed under us. Process context. @spare is
 * consumed. -ENOMEM (or the table's error) if no entry could be had.
 */
static int c3c_task_apply(struct pid *pid, u32 set, int files,
			  struct c3c_task *spare)
{
	struct c3c_task *t, *new = spare;
	unsigned int retries = 0;
	unsigned long flags;
	bool fresh = false;
	int err = 0;

	might_sleep();
	/*
	 * A pid without a task is being made by copy_process() (the pidfd of
	 * a clone): nobody else can know it yet. Its entry is complete before
	 * it becomes visible, and is inserted without a look first and
	 * without the lock: no task, so nothing to record and nothing to pin.
	 */
	if (!new && !set && !pid_has_task(pid, PIDTYPE_PID)) {
		new = c3c_task_new(pid, GFP_KERNEL_ACCOUNT);
		if (!new)
			return -ENOMEM;
		new->nr_files = files != 0;
		fresh = true;
	}
	for (;;) {
		rcu_read_lock();
		t = new ? NULL : rhashtable_lookup(&c3c_ht, &pid, c3c_ht_params);
		if (!t && new) {
			t = rhashtable_lookup_get_insert_fast(&c3c_ht, &new->node,
							      c3c_ht_params);
			if (IS_ERR(t)) {
				rcu_read_unlock();
				err = PTR_ERR(t);
				break;
			}
			if (!t) {
				atomic_inc(&c3c_nr_tasks);
				t = new;
				new = NULL;
				if (fresh) {
					rcu_read_unlock();
					break;
				}
			}
		}
		if (!t) {
			rcu_read_unlock();
			new = c3c_task_new(pid, GFP_KERNEL_ACCOUNT);
			if (!new)
				return -ENOMEM;
			continue;
		}
		smp_mb();	/* see c3c_task_record_if_dead() */
		raw_spin_lock_irqsave(&c3c_lock, flags);
		if (!(t->flags & C3C_T_DEAD)) {
			if ((set & ~t->flags & C3C_T_AUTOREAP) &&
			    !(t->flags & C3C_T_REAPED))
				atomic_inc(&c3c_nr_autoreap);
			WRITE_ONCE(t->flags, t->flags | set);
			if (files)
				t->nr_files = files < 0 ? 1 : t->nr_files + 1;
			c3c_task_record_if_dead(t);
			c3c_unlock_settled(t, flags, true);
			rcu_read_unlock();
			break;
		}
		raw_spin_unlock_irqrestore(&c3c_lock, flags);
		rcu_read_unlock();
		/*
		 * A dead entry of the same pid: let its removal finish (the
		 * work item's, or, rarely, a releasing task's right after it
		 * unlocked).
		 */
		flush_work(&c3c_free_work);
		if (retries++)
			schedule_timeout_uninterruptible(1);
	}
	if (new)
		c3c_task_destroy(new);
	return err;
}

/*
 * A pidfd is being made for @pid: make sure it has an entry that knows.
 * @all: the pidfd's file stands for all of them (pidfs: one inode per
 * pid), else each file counts. Process context; -ENOMEM fails the pidfd.
 */
int c3c_task_pidfd_get(struct pid *pid, bool all)
{
	return c3c_task_apply(pid, 0, all ? -1 : 1, NULL);
}

/*
 * A pidfd of @pid went away (@all: the last one). Safe in any context.
 */
void c3c_task_pidfd_put(struct pid *pid, bool all)
{
	bool preemptible_caller = preemptible();
	struct c3c_task *t;
	unsigned long flags;

	rcu_read_lock();
	t = c3c_task_find(pid);
	if (t) {
		raw_spin_lock_irqsave(&c3c_lock, flags);
		/* A dead entry has seen the last of its pidfds already. */
		if (!(t->flags & C3C_T_DEAD)) {
			if (all)
				t->nr_files = 0;
			else if (!WARN_ON_ONCE(!t->nr_files))
				t->nr_files--;
		}
		c3c_unlock_settled(t, flags, preemptible_caller);
	}
	rcu_read_unlock();
}

/*
 * CLONE_AUTOREAP: the child itself inserts its entry before it first
 * returns to user space, and before it can exit (do_exit() runs pending
 * task work ahead of exit_notify()). The fork hook cannot: it runs with
 * preemption off, where the table may not allocate on PREEMPT_RT.
 */
static void c3c_autoreap_work(struct callback_head *cb)
{
	struct c3c_task *t = container_of(cb, struct c3c_task, twork);
	struct pid *pid = task_tgid(current);

	memset(&t->twork, 0, sizeof(t->twork));
	t->pid = get_pid(pid);
	/* The entry takes a module reference of its own (sync_pin). */
	if (c3c_task_apply(pid, C3C_T_AUTOREAP, 0, t)) {
		/* Fail closed: a child without its autoreap would linger. */
		pr_warn_ratelimited("no memory for an autoreap child, killing it\n");
		force_sig(SIGKILL);
	}
	module_put(THIS_MODULE);	/* c3c_autoreap_queue()'s */
}

/* A zeroed entry for c3c_autoreap_queue(). Process context. */
struct c3c_task *c3c_task_alloc(void)
{
	return kmem_cache_zalloc(c3c_task_cache, GFP_KERNEL_ACCOUNT);
}

void c3c_task_free(struct c3c_task *t)
{
	kmem_cache_free(c3c_task_cache, t);
}

/*
 * From the fork hook, before @child first runs: hand it @t. The queued
 * work pins the module until it has run (the cloner holds a reference
 * now, so __module_get() is enough). Safe in any context.
 */
int c3c_autoreap_queue(struct task_struct *child, struct c3c_task *t)
{
	int err;

	__module_get(THIS_MODULE);
	init_task_work(&t->twork, c3c_autoreap_work);
	err = task_work_add(child, &t->twork, TWA_RESUME);
	if (err)
		module_put(THIS_MODULE);
	return err;
}

void c3c_file_pin(void)
{
	__module_get(THIS_MODULE);
	atomic_inc(&c3c_nr_files);
}

void c3c_file_unpin(void)
{
	atomic_dec(&c3c_nr_files);
	module_put(THIS_MODULE);
}

int c3c_state_init(void)
{
	int err;

	c3c_task_cache = KMEM_CACHE(c3c_task, SLAB_ACCOUNT);
	if (!c3c_task_cache)
		return -ENOMEM;
	err = rhashtable_init(&c3c_ht, &c3c_ht_params);
	if (err) {
		kmem_cache_destroy(c3c_task_cache);
		return err;
	}
	c3c_ht_ready = true;
	return 0;
}

static void c3c_spares_free(void)
{
	struct llist_node *list = llist_del_all(&c3c_spares);
	struct c3c_task *t, *n;

	llist_for_each_entry_safe(t, n, list, free)
		kmem_cache_free(c3c_task_cache, t);
	atomic_set(&c3c_nr_spares, 0);
}

static void c3c_task_free_one(void *ptr, void *arg)
{
	c3c_task_destroy(ptr);
}

/*
 * After every hook is gone. What is left are entries of processes that
 * only pidfds refer to (an unreaped AUTOREAP one pins the module).
 */
void c3c_state_exit(void)
{
	if (!c3c_ht_ready)
		return;
	flush_work(&c3c_free_work);
	rcu_barrier();	/* pending c3c_task_rcu_free() */
	c3c_spares_free();
	rhashtable_free_and_destroy(&c3c_ht, c3c_task_free_one, NULL);
	atomic_set(&c3c_nr_tasks, 0);
	c3c_ht_ready = false;
	kmem_cache_destroy(c3c_task_cache);
}
