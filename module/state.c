// SPDX-License-Identifier: GPL-2.0
/*
 * Per-process state, keyed by the thread-group struct pid (exec keeps it,
 * reparenting does not touch it). Lookups are RCU and lockless; writers take
 * a raw spinlock because they run from ftrace callbacks with interrupts off.
 *
 * An entry lives while its process lives and, after that, while anyone else
 * still holds the struct pid: a pidfd does, so the exit status stays
 * readable for as long as a pidfd for the process is open. Each entry and
 * each marked AUTOKILL file pins the module.
 *
 * Callbacks that run with preemption off never allocate or free: PREEMPT_RT
 * forbids it there. They take entries from a small pool, and give unused
 * ones back to it; the GC worker refills it.
 */
#include "c3c.h"

#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#define C3C_HASH_BITS	10

#define C3C_POOL_SIZE	32

static DEFINE_HASHTABLE(c3c_tasks, C3C_HASH_BITS);
static LIST_HEAD(c3c_dead);
static LIST_HEAD(c3c_pool);	/* unused entries, linked through ->dead */
static unsigned int c3c_pool_n;
static DEFINE_RAW_SPINLOCK(c3c_lock);
static struct kmem_cache *c3c_task_cache;

atomic_t c3c_nr_tasks = ATOMIC_INIT(0);
atomic_t c3c_nr_files = ATOMIC_INIT(0);

static void c3c_gc(struct work_struct *work);
static DECLARE_DELAYED_WORK(c3c_gc_work, c3c_gc);

struct c3c_task *c3c_task_alloc(void)
{
	return kmem_cache_zalloc(c3c_task_cache, GFP_KERNEL_ACCOUNT);
}

void c3c_task_free(struct c3c_task *t)
{
	kmem_cache_free(c3c_task_cache, t);
}

/* Under c3c_lock. */
static void c3c_pool_put(struct c3c_task *t)
{
	memset(t, 0, sizeof(*t));
	list_add(&t->dead, &c3c_pool);
	c3c_pool_n++;
}

static struct c3c_task *c3c_pool_get(void)
{
	struct c3c_task *t;

	t = list_first_entry_or_null(&c3c_pool, struct c3c_task, dead);
	if (t) {
		list_del(&t->dead);
		c3c_pool_n--;
	}
	return t;
}

/* Under c3c_lock: track @pid with @flags, merging into an existing entry. */
static void c3c_task_link_locked(struct c3c_task *t, struct pid *pid,
				 u32 flags)
{
	struct c3c_task *old = c3c_task_find(pid);

	if (old) {
		/* Readers pair with this via smp_load_acquire(). */
		smp_store_release(&old->flags, old->flags | flags);
		c3c_pool_put(t);
		return;
	}
	__module_get(THIS_MODULE);
	t->pid = get_pid(pid);
	t->flags = flags;
	hash_add_rcu(c3c_tasks, &t->node, (unsigned long)pid);
	atomic_inc(&c3c_nr_tasks);
}

/*
 * Track @pid with @flags, merging into an entry it already has (a pidfd
 * made before the clone committed, say); @t is consumed either way.
 * The caller guarantees @pid stays valid. Safe in any context.
 */
void c3c_task_link(struct c3c_task *t, struct pid *pid, u32 flags)
{
	unsigned long irqflags;

	raw_spin_lock_irqsave(&c3c_lock, irqflags);
	c3c_task_link_locked(t, pid, flags);
	raw_spin_unlock_irqrestore(&c3c_lock, irqflags);
}

/*
 * The entry of @pid, made from the pool if it has none; NULL when the pool
 * is empty (the caller then goes without). Safe in any context.
 */
struct c3c_task *c3c_task_get(struct pid *pid, u32 flags)
{
	struct c3c_task *t;
	unsigned long irqflags;

	raw_spin_lock_irqsave(&c3c_lock, irqflags);
	t = c3c_task_find(pid);
	if (!t) {
		t = c3c_pool_get();
		if (t)
			c3c_task_link_locked(t, pid, flags);
	} else if ((t->flags & flags) != flags) {
		/* Readers pair with this via smp_load_acquire(). */
		smp_store_release(&t->flags, t->flags | flags);
	}
	raw_spin_unlock_irqrestore(&c3c_lock, irqflags);
	if (READ_ONCE(c3c_pool_n) < C3C_POOL_SIZE / 2)
		schedule_delayed_work(&c3c_gc_work, 0);
	return t;
}

/* Caller holds rcu_read_lock() or runs with preemption disabled. */
struct c3c_task *c3c_task_find(struct pid *pid)
{
	struct c3c_task *t;

	hash_for_each_possible_rcu(c3c_tasks, t, node, (unsigned long)pid)
		if (t->pid == pid)
			return t;
	return NULL;
}

/*
 * Record the exit status, then let the GC free the entry once only our own
 * reference to the struct pid is left. Safe in any context.
 */
void c3c_task_exited(struct c3c_task *t, int exit_code)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&c3c_lock, flags);
	if (!(t->flags & C3C_T_EXITED)) {
		WRITE_ONCE(t->exit_code, exit_code);
		/* Pairs with the read barrier of readers of exit_code. */
		smp_store_release(&t->flags, t->flags | C3C_T_EXITED);
		list_add_tail(&t->dead, &c3c_dead);
	}
	raw_spin_unlock_irqrestore(&c3c_lock, flags);
	/* A workqueue timer is safe to arm with interrupts off. */
	schedule_delayed_work(&c3c_gc_work, HZ / 10);
}

static void c3c_task_rcu_free(struct rcu_head *rcu)
{
	struct c3c_task *t = container_of(rcu, struct c3c_task, rcu);

	/* After the grace period: no reader can match a reused pid address. */
	put_pid(t->pid);
	kmem_cache_free(c3c_task_cache, t);
	module_put(THIS_MODULE);
}

static void c3c_pool_fill(void)
{
	struct c3c_task *t;
	unsigned long flags;

	while (READ_ONCE(c3c_pool_n) < C3C_POOL_SIZE) {
		t = kmem_cache_alloc(c3c_task_cache, GFP_KERNEL);
		if (!t)
			return;
		raw_spin_lock_irqsave(&c3c_lock, flags);
		c3c_pool_put(t);
		raw_spin_unlock_irqrestore(&c3c_lock, flags);
	}
}

static void c3c_gc(struct work_struct *work)
{
	struct c3c_task *t, *n;
	unsigned long flags;
	bool again;

	raw_spin_lock_irqsave(&c3c_lock, flags);
	list_for_each_entry_safe(t, n, &c3c_dead, dead) {
		/*
		 * Ours is the last reference: the process is released and
		 * no pidfd for it is open, so nobody can ask any more.
		 */
		if (refcount_read(&t->pid->count) != 1)
			continue;
		list_del(&t->dead);
		hash_del_rcu(&t->node);
		atomic_dec(&c3c_nr_tasks);
		call_rcu(&t->rcu, c3c_task_rcu_free);
	}
	again = !list_empty(&c3c_dead);
	raw_spin_unlock_irqrestore(&c3c_lock, flags);
	c3c_pool_fill();
	if (again)
		schedule_delayed_work(&c3c_gc_work, HZ);
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
	c3c_task_cache = KMEM_CACHE(c3c_task, SLAB_ACCOUNT);
	if (!c3c_task_cache)
		return -ENOMEM;
	c3c_pool_fill();
	return 0;
}

/* Only reached with no live state: every entry pins the module. */
void c3c_state_exit(void)
{
	struct c3c_task *t;

	cancel_delayed_work_sync(&c3c_gc_work);
	rcu_barrier();	/* pending c3c_task_rcu_free() */
	while ((t = c3c_pool_get()))
		kmem_cache_free(c3c_task_cache, t);
	kmem_cache_destroy(c3c_task_cache);
}
