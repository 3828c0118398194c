/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inline differences between the supported kernels (the rest is in
 * compat.c). Feature tests, not version numbers.
 */
#ifndef C3C_COMPAT_H
#define C3C_COMPAT_H

#include <linux/ftrace.h>
#include <linux/irqflags.h>
#include <linux/preempt.h>

/*
 * The registers an ftrace callback sees. x86-64 has
 * DYNAMIC_FTRACE_WITH_ARGS on every supported kernel: without SAVE_REGS
 * the trampoline still saves the argument registers and takes back a
 * changed instruction pointer (livepatch relies on the same), so
 * ftrace_get_regs(), which wants SAVE_REGS, is not used. 6.12 made
 * struct ftrace_regs opaque behind arch_ftrace_regs().
 */
static __always_inline struct pt_regs *c3c_fregs(struct ftrace_regs *fregs)
{
#ifdef arch_ftrace_regs
	return &arch_ftrace_regs(fregs)->regs;
#else
	return &fregs->regs;
#endif
}

/*
 * May the state table be changed in this context? Always, where its bucket
 * locks disable interrupts; else only where bottom halves may be disabled
 * and enabled again: preemptible (PREEMPT_RT makes that a sleeping lock)
 * and with interrupts on.
 */
static __always_inline bool c3c_table_writable_here(void)
{
#ifdef C3C_RHT_IRQSAFE
	return true;
#else
	return preemptible() && !irqs_disabled();
#endif
}

#endif /* C3C_COMPAT_H */
