/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arm64: the architecture's part of the module, chosen by Kbuild
 * (arch/$(SRCARCH)/). Everything else in module/ is arch-neutral.
 */
#ifndef C3C_ARCH_H
#define C3C_ARCH_H

#include <linux/ptrace.h>
#include <linux/types.h>

/*
 * The clone3 syscall's entry point, hooked by name. 32-bit (AArch32)
 * tasks enter through the same wrapper: the compat syscall table maps
 * clone3 to sys_clone3, so there is no C3C_SYS_CLONE3_COMPAT here.
 */
#define C3C_SYS_CLONE3		"__arm64_sys_clone3"

/*
 * clone3(uargs, size) as a syscall wrapper receives it: the user's
 * registers x0 and x1, saved at entry (the syscall ABI). An AArch32 task's
 * upper halves are zero, as the kernel's own sys_clone3 relies on.
 */
static __always_inline struct clone_args __user *
c3c_sys_clone3_uargs(const struct pt_regs *regs)
{
	return (struct clone_args __user *)regs->regs[0];
}

static __always_inline size_t c3c_sys_clone3_size(const struct pt_regs *regs)
{
	return regs->regs[1];
}

#endif /* C3C_ARCH_H */
