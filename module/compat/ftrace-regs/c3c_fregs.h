/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernels with <linux/ftrace_regs.h> (6.12): the kernel's own accessors,
 * ftrace_regs_get_argument() and ftrace_regs_set_instruction_pointer(),
 * are used as they are. Chosen by Kbuild.
 */
#ifndef C3C_FREGS_H
#define C3C_FREGS_H

#include <linux/ftrace.h>

#endif /* C3C_FREGS_H */
