/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libclone3compat: what the library's files share, nothing exported. */
#ifndef C3C_LIB_INTERNAL_H
#define C3C_LIB_INTERNAL_H

#include "clone3_compat.h"

#define C3C_HIDDEN	__attribute__((visibility("hidden")))

#define C3C_SYSFS_MODULE	"/sys/module/clone3_compat"
#define C3C_SYSFS_TRANSPARENT	C3C_SYSFS_MODULE "/parameters/transparent"

/* Upstream's PIDFD_GET_INFO: the size is part of the command. */
#define C3C_PIDFS_IOCTL_MAGIC	0xFF
#define C3C_PIDFD_GET_INFO \
	_IOWR(C3C_PIDFS_IOCTL_MAGIC, 11, struct clone3_compat_pidfd_info)

/* What the probe found; immutable once published. */
struct c3c_probe {
	int mode;
	int exit_mode;
	uint64_t flags;		/* the 7.1 flags available */
	uint64_t mechanisms;	/* the module's, 0 without it */
	char reason[512];	/* the flags' sentence, then the exit's */
	int flags_reason_len;	/* length of the flags' part */
};

C3C_HIDDEN const struct c3c_probe *c3c_probe(void);
/* Probe again (the module was loaded, unloaded or switched). */
C3C_HIDDEN const struct c3c_probe *c3c_reprobe(void);
C3C_HIDDEN void c3c_set_errmsg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
C3C_HIDDEN int c3c_dev_open(void);
/* The process's descriptor of the device, not to be closed. */
C3C_HIDDEN int c3c_dev_get(void);
C3C_HIDDEN const char *c3c_flag_names(uint64_t flags, char *buf, size_t n);

#endif /* C3C_LIB_INTERNAL_H */
