/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * clone3-compat: the Linux 7.1 clone3() flags CLONE_AUTOREAP, CLONE_NNP and
 * CLONE_PIDFD_AUTOKILL for older kernels, through /dev/clone3_compat.
 *
 * Every argument structure starts with a __u64 size that the caller sets to
 * sizeof() of the structure it was compiled with. Like struct clone_args:
 * a size below the first published version is EINVAL, a larger structure
 * is accepted when the bytes the module does not know are zero (else
 * E2BIG), and a structure above one page is E2BIG.
 */
#ifndef _UAPI_LINUX_CLONE3_COMPAT_H
#define _UAPI_LINUX_CLONE3_COMPAT_H

#include <linux/ioctl.h>
#include <linux/sched.h>	/* first: Linux 7.1's CLONE_* win, in any include order */
#include <linux/types.h>

/* The values merged for Linux 7.1 (include/uapi/linux/sched.h). */
#define CLONE3_COMPAT_AUTOREAP		(1ULL << 34)
#define CLONE3_COMPAT_NNP		(1ULL << 35)
#define CLONE3_COMPAT_PIDFD_AUTOKILL	(1ULL << 36)

/* Agree with a system header that already has them, or supply them. */
#ifdef CLONE_AUTOREAP
#if CLONE_AUTOREAP != 0x400000000ULL
#error "CLONE_AUTOREAP differs from Linux 7.1's value"
#endif
#else
#define CLONE_AUTOREAP		CLONE3_COMPAT_AUTOREAP
#endif
#ifdef CLONE_NNP
#if CLONE_NNP != 0x800000000ULL
#error "CLONE_NNP differs from Linux 7.1's value"
#endif
#else
#define CLONE_NNP		CLONE3_COMPAT_NNP
#endif
#ifdef CLONE_PIDFD_AUTOKILL
#if CLONE_PIDFD_AUTOKILL != 0x1000000000ULL
#error "CLONE_PIDFD_AUTOKILL differs from Linux 7.1's value"
#endif
#else
#define CLONE_PIDFD_AUTOKILL	CLONE3_COMPAT_PIDFD_AUTOKILL
#endif

#define CLONE3_COMPAT_DEVICE		"/dev/clone3_compat"
#define CLONE3_COMPAT_ABI_VERSION	1
#define CLONE3_COMPAT_IOC_MAGIC		0xC3

/* CLONE3_COMPAT_IOC_VERSION */
struct clone3_compat_version {
	__u64 size;		/* in: sizeof(struct clone3_compat_version) */
	__u32 abi_version;	/* out: CLONE3_COMPAT_ABI_VERSION */
	__u32 module_version;	/* out: (major << 16) | (minor << 8) | patch */
};

#define CLONE3_COMPAT_VERSION_SIZE_VER0	16

/* Bits of clone3_compat_features.mechanisms */
#define CLONE3_COMPAT_MECH_IOCTL_SPAWN	(1ULL << 0) /* IOC_CLONE3 works */
#define CLONE3_COMPAT_MECH_CLONE3	(1ULL << 1) /* clone3() takes the flags */
#define CLONE3_COMPAT_MECH_PIDFD_INFO	(1ULL << 2) /* PIDFD_GET_INFO on pidfds */
#define CLONE3_COMPAT_MECH_AUTOREAP	(1ULL << 3) /* exit hook active */
#define CLONE3_COMPAT_MECH_AUTOKILL	(1ULL << 4) /* pidfd release hook active */

/* CLONE3_COMPAT_IOC_FEATURES */
struct clone3_compat_features {
	__u64 size;		/* in: sizeof(struct clone3_compat_features) */
	__u64 clone_flags;	/* out: the 7.1 flags this module provides */
	__u64 mechanisms;	/* out: CLONE3_COMPAT_MECH_* */
	__u64 pidfd_info_mask;	/* out: PIDFD_INFO_* bits answered */
	__u64 tracked;		/* out: processes holding module state now */
	__u64 autokill_files;	/* out: live pidfd files marked AUTOKILL */
};

#define CLONE3_COMPAT_FEATURES_SIZE_VER0	48

/*
 * CLONE3_COMPAT_IOC_CLONE3: clone3(args, args_size) as on Linux 7.1. The
 * parent gets the child's pid as the ioctl's result, the child gets 0 and
 * continues from the same ioctl (on args->stack when one is given).
 */
struct clone3_compat_clone3 {
	__u64 size;		/* in: sizeof(struct clone3_compat_clone3) */
	__u64 args;		/* in: pointer to struct clone_args */
	__u64 args_size;	/* in: clone3()'s size argument */
};

#define CLONE3_COMPAT_CLONE3_SIZE_VER0	24

/*
 * Layout of upstream's struct pidfd_info (Linux 7.1, PIDFD_INFO_SIZE_VER1):
 * the exit status of an autoreaped child stays readable through any pidfd
 * that is open for it.
 */
#define CLONE3_COMPAT_PIDFD_INFO_PID		(1ULL << 0)
#define CLONE3_COMPAT_PIDFD_INFO_CREDS		(1ULL << 1)
#define CLONE3_COMPAT_PIDFD_INFO_CGROUPID	(1ULL << 2)
#define CLONE3_COMPAT_PIDFD_INFO_EXIT		(1ULL << 3)

struct clone3_compat_pidfd_info {
	__u64 mask;
	__u64 cgroupid;
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 ruid;
	__u32 rgid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
	__s32 exit_code;	/* wait status, as waitpid() would report it */
	__u32 coredump_mask;
	__u32 __spare1;
};

#define CLONE3_COMPAT_PIDFD_INFO_SIZE_VER0	64
#define CLONE3_COMPAT_PIDFD_INFO_SIZE_VER1	72

/* CLONE3_COMPAT_IOC_PIDFD_GET_INFO */
struct clone3_compat_pidfd_get_info {
	__u64 size;		/* in: sizeof(struct clone3_compat_pidfd_get_info) */
	__s32 pidfd;		/* in */
	__u32 __reserved;	/* must be zero */
	__u64 info;		/* in: pointer to struct clone3_compat_pidfd_info */
	__u64 info_size;	/* in: its size, >= PIDFD_INFO_SIZE_VER0 */
};

#define CLONE3_COMPAT_PIDFD_GET_INFO_SIZE_VER0	32

#define CLONE3_COMPAT_IOC_VERSION \
	_IOWR(CLONE3_COMPAT_IOC_MAGIC, 0x01, struct clone3_compat_version)
#define CLONE3_COMPAT_IOC_FEATURES \
	_IOWR(CLONE3_COMPAT_IOC_MAGIC, 0x02, struct clone3_compat_features)
#define CLONE3_COMPAT_IOC_CLONE3 \
	_IOW(CLONE3_COMPAT_IOC_MAGIC, 0x03, struct clone3_compat_clone3)
#define CLONE3_COMPAT_IOC_PIDFD_GET_INFO \
	_IOW(CLONE3_COMPAT_IOC_MAGIC, 0x04, struct clone3_compat_pidfd_get_info)

#endif /* _UAPI_LINUX_CLONE3_COMPAT_H */
