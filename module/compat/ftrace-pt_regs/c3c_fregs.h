/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernels whose struct ftrace_regs is a bare struct pt_regs and that lack
 * the accessors 6.12 has (6.1): the same two, in terms of that pt_regs.
 * Without SAVE_REGS the trampoline still saves the argument registers and
 * takes back a changed instruction pointer: x86's of DYNAMIC_FTRACE_WITH_ARGS
 * (livepatch relies on the same), and arm64's ftrace_caller, which reloads
 * the saved PC and returns to it with "ret x9". Chosen by Kbuild.
 */
#ifndef C3C_FREGS_H
#define C3C_FREGS_H

#include <linux/ftrace.h>
#include <linux/ptrace.h>

#define ftrace_regs_get_argument(fregs, n) \
	regs_get_kernel_argument(&(fregs)->regs, n)
/*
 * instruction_pointer_set(), not ftrace_instruction_pointer_set(): where
 * the arch lacks DYNAMIC_FTRACE_WITH_ARGS (arm64 6.1, WITH_REGS only) the
 * latter is an empty stub, and a redirect would silently not happen.
 */
#define ftrace_regs_set_instruction_pointer(fregs, _ip) \
	instruction_pointer_set(&(fregs)->regs, _ip)

#endif /* C3C_FREGS_H */
