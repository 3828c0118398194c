/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernels whose struct ftrace_regs is a bare struct pt_regs and that lack
 * the accessors 6.12 has (6.1): the same two, in terms of that pt_regs.
 * Without SAVE_REGS the trampoline of DYNAMIC_FTRACE_WITH_ARGS still saves
 * the argument registers and takes back a changed instruction pointer
 * (livepatch relies on the same). Chosen by Kbuild.
 */
#ifndef C3C_FREGS_H
#define C3C_FREGS_H

#include <linux/ftrace.h>
#include <linux/ptrace.h>

#define ftrace_regs_get_argument(fregs, n) \
	regs_get_kernel_argument(&(fregs)->regs, n)
#define ftrace_regs_set_instruction_pointer(fregs, _ip) \
	ftrace_instruction_pointer_set(fregs, _ip)

#endif /* C3C_FREGS_H */
