/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86-64: the architecture's part of the module, chosen by Kbuild
 * (arch/$(SRCARCH)/). Everything else in module/ is arch-neutral.
 */
#ifndef C3C_ARCH_H
#define C3C_ARCH_H

#include <linux/compat.h>
#include <linux/ptrace.h>
#include <linux/types.h>

/* The clone3 syscall's entry points, hooked by name. */
#define C3C_SYS_CLONE3		"__x64_sys_clone3"
/* 32-bit (ia32 emulation) tasks have their own wrapper. */
#define C3C_SYS_CLONE3_COMPAT	"__ia32_sys_clone3"

/*
 * clone3(uargs, size) as a syscall wrapper receives it: the user's
 * registers, saved at entry (the syscall ABI, not the C calling
 * convention).
 */
static __always_inline struct clone_args __user *
c3c_sys_clone3_uargs(const struct pt_regs *regs)
{
	return (struct clone_args __user *)regs->di;
}

static __always_inline size_t c3c_sys_clone3_size(const struct pt_regs *regs)
{
	return regs->si;
}

static __always_inline struct clone_args __user *
c3c_compat_clone3_uargs(const struct pt_regs *regs)
{
	return compat_ptr((u32)regs->bx);
}

static __always_inline size_t
c3c_compat_clone3_size(const struct pt_regs *regs)
{
	return (u32)regs->cx;
}

#endif /* C3C_ARCH_H */
