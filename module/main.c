// SPDX-License-Identifier: GPL-2.0
/*
 * clone3-compat: CLONE_AUTOREAP, CLONE_NNP and CLONE_PIDFD_AUTOKILL, the
 * clone3() flags merged for Linux 7.1, on older kernels.
 *
 * This file: module setup and the misc device /dev/clone3_compat. The
 * device is world-accessible: every check is made per call, as clone3()
 * does.
 */
#include "c3c.h"

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>

/* Extensible structs: a leading __u64 size, clone_args' size rules. */
int c3c_copy_args_in(void *dst, size_t ksize, size_t min,
		     const void __user *uarg, size_t *usize)
{
	u64 size;
	int err;

	if (get_user(size, (const u64 __user *)uarg))
		return -EFAULT;
	if (size < min)
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	err = copy_struct_from_user(dst, ksize, uarg, size);
	if (err)
		return err;
	*usize = size;
	return 0;
}

static long c3c_copy_args_out(void __user *uarg, size_t usize,
			      const void *src, size_t ksize)
{
	/* Only the leading bytes both sides know; size stays the caller's. */
	size_t n = min(usize, ksize) - sizeof(u64);

	if (copy_to_user(uarg + sizeof(u64), src + sizeof(u64), n))
		return -EFAULT;
	return 0;
}

static long c3c_ioctl_version(void __user *arg)
{
	struct clone3_compat_version v;
	size_t usize;
	int err;

	err = c3c_copy_args_in(&v, sizeof(v), CLONE3_COMPAT_VERSION_SIZE_VER0,
			       arg, &usize);
	if (err)
		return err;
	v.abi_version = CLONE3_COMPAT_ABI_VERSION;
	v.module_version = (C3C_VERSION_MAJOR << 16) |
			   (C3C_VERSION_MINOR << 8) | C3C_VERSION_PATCH;
	return c3c_copy_args_out(arg, usize, &v, sizeof(v));
}

static long c3c_ioctl_features(void __user *arg)
{
	struct clone3_compat_features f;
	size_t usize;
	int err;

	err = c3c_copy_args_in(&f, sizeof(f), CLONE3_COMPAT_FEATURES_SIZE_VER0,
			       arg, &usize);
	if (err)
		return err;
	f.clone_flags = C3C_NEW_FLAGS;
	f.mechanisms = CLONE3_COMPAT_MECH_IOCTL_SPAWN |
		       CLONE3_COMPAT_MECH_AUTOREAP |
		       CLONE3_COMPAT_MECH_AUTOKILL;
	if (READ_ONCE(c3c_transparent))
		f.mechanisms |= CLONE3_COMPAT_MECH_CLONE3 |
				CLONE3_COMPAT_MECH_PIDFD_INFO;
	f.pidfd_info_mask = CLONE3_COMPAT_PIDFD_INFO_PID |
			    CLONE3_COMPAT_PIDFD_INFO_CREDS |
			    CLONE3_COMPAT_PIDFD_INFO_CGROUPID |
			    CLONE3_COMPAT_PIDFD_INFO_EXIT;
	f.tracked = atomic_read(&c3c_nr_tasks);
	f.autokill_files = atomic_read(&c3c_nr_files);
	return c3c_copy_args_out(arg, usize, &f, sizeof(f));
}

static long c3c_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CLONE3_COMPAT_IOC_VERSION:
		return c3c_ioctl_version(uarg);
	case CLONE3_COMPAT_IOC_FEATURES:
		return c3c_ioctl_features(uarg);
	case CLONE3_COMPAT_IOC_CLONE3:
		return c3c_ioctl_clone3(uarg);
	case CLONE3_COMPAT_IOC_PIDFD_GET_INFO:
		return c3c_ioctl_pidfd_get_info(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations c3c_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = c3c_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice c3c_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "clone3_compat",
	.fops = &c3c_fops,
	.mode = 0666,
};

static int __init c3c_init(void)
{
	int err;

	err = c3c_state_init();
	if (err)
		return err;
	err = c3c_gates_init();
	if (err)
		goto out_state;
	/*
	 * Hooks that see exits and releases come before those that make
	 * state (pidfds, then clones): no entry can miss its end.
	 */
	err = c3c_lifecycle_init();
	if (err)
		goto out_gates;
	err = c3c_pidfd_init();
	if (err)
		goto out_fork;
	err = c3c_clone3_init();
	if (err)
		goto out_compat;
	err = misc_register(&c3c_misc);
	if (err)
		goto out_spawn;
	pr_info("version %s loaded on Linux %s\n", C3C_VERSION_STR,
		init_utsname()->release);
	return 0;

out_spawn:
	c3c_clone3_exit();
out_compat:
	c3c_pidfd_exit();
out_fork:
	c3c_lifecycle_exit();
out_gates:
	c3c_gates_exit();
out_state:
	c3c_state_exit();
	return err;
}

/* Only reached without live state: every tracked process pins us. */
static void __exit c3c_exit(void)
{
	misc_deregister(&c3c_misc);
	c3c_clone3_exit();
	c3c_pidfd_exit();
	c3c_lifecycle_exit();
	c3c_gates_exit();
	c3c_state_exit();
	pr_info("unloaded\n");
}

module_init(c3c_init);
module_exit(c3c_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(C3C_VERSION_STR);
MODULE_DESCRIPTION("clone3() CLONE_AUTOREAP, CLONE_NNP and CLONE_PIDFD_AUTOKILL of Linux 7.1 for older kernels");
MODULE_AUTHOR("clone3-compat developers");
