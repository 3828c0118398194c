/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between pidfd.c and the one pidfd family Kbuild builds (pidfd_pidfs.c or
 * pidfd_anon.c).
 */
#ifndef C3C_PIDFD_H
#define C3C_PIDFD_H

#include "c3c.h"

/* 7.1's pidfd ioctl type and PIDFD_GET_INFO's number. */
#define C3C_PIDFS_MAGIC		0xFF
#define C3C_PIDFD_GET_INFO_NR	11

/* The family's hooks, registered in array order (pidfd.c). */
extern struct c3c_hook c3c_pidfd_hooks[];
extern const int c3c_nr_pidfd_hooks;

/* Find the kernel's pidfd internals; undo it. */
int c3c_pidfd_family_init(void);
void c3c_pidfd_family_exit(void);

struct c3c_ctx *c3c_autokill_ctx(struct pid *pid);
void c3c_autokill_marked(struct file *file);
long c3c_pidfd_ioctl_pinned(struct file *file, unsigned int cmd,
			    unsigned long arg);

#endif /* C3C_PIDFD_H */
