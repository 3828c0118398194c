// SPDX-License-Identifier: GPL-2.0
/*
 * vmutil: tiny static helper for the VM test bench's guest init.
 *
 *   vmutil insmod FILE [PARAMS...]   one finit_module() call; busybox insmod
 *                                    retries with init_module(), which runs
 *                                    the module's init twice on failure
 *   vmutil rmmod NAME                delete_module(NAME, O_NONBLOCK)
 *   vmutil exit N                    end the VM: QEMU exits with (N << 1) | 1
 *                                    (x86: isa-debug-exit at 0xf4; arm64:
 *                                    semihosting SYS_EXIT)
 *   vmutil runas UID GID -- CMD ARGS drop to UID/GID with no supplementary
 *                                    groups and exec CMD
 *   vmutil drained MS                wait up to MS ms until the module tracks
 *                                    no process and no AUTOKILL file (its
 *                                    FEATURES counters); 1 if it does not
 *
 * Errors are printed as "vmutil: OP: strerror (errno N)" and exit non-zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <sys/io.h>
#endif
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../include/uapi/linux/clone3_compat.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: vmutil insmod FILE [PARAMS...]\n"
		"       vmutil rmmod NAME\n"
		"       vmutil exit N\n"
		"       vmutil runas UID GID -- CMD [ARGS...]\n"
		"       vmutil drained MS\n");
	return 2;
}

static int fail(const char *what, const char *arg)
{
	int e = errno;

	fprintf(stderr, "vmutil: %s %s: %s (errno %d)\n", what, arg, strerror(e), e);
	return 1;
}

static int parse_num(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max) {
		fprintf(stderr, "vmutil: bad number '%s'\n", s);
		return -1;
	}
	*out = v;
	return 0;
}

static int do_insmod(int argc, char **argv)
{
	size_t len = 1;
	char *params;
	int fd, i;

	if (argc < 1)
		return usage();
	/* Module parameters are one space-separated string. */
	for (i = 1; i < argc; i++)
		len += strlen(argv[i]) + 1;
	params = calloc(1, len);
	if (!params)
		return fail("insmod", "calloc");
	for (i = 1; i < argc; i++) {
		if (i > 1)
			strcat(params, " ");
		strcat(params, argv[i]);
	}
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("insmod: open", argv[0]);
	if (syscall(SYS_finit_module, fd, params, 0) != 0)
		return fail("insmod", argv[0]);
	close(fd);
	free(params);
	return 0;
}

static int do_rmmod(int argc, char **argv)
{
	if (argc != 1)
		return usage();
	if (syscall(SYS_delete_module, argv[0], O_NONBLOCK) != 0)
		return fail("rmmod", argv[0]);
	return 0;
}

#if defined(__x86_64__)
/* QEMU's isa-debug-exit: QEMU exits with (N << 1) | 1. */
static int qemu_exit(long code)
{
	if (ioperm(0xf4, 4, 1) != 0)
		return fail("exit", "ioperm(0xf4)");
	outb((unsigned char)code, 0xf4);
	/* Only reached without an isa-debug-exit device. */
	fprintf(stderr, "vmutil: exit: no isa-debug-exit device at 0xf4\n");
	return 1;
}
#elif defined(__aarch64__)
/*
 * arm64's virt machine has no isa-debug-exit: semihosting's SYS_EXIT
 * (HLT #0xf000, operation 0x18, reason ADP_Stopped_ApplicationExit),
 * which QEMU honours from user space with -semihosting-config
 * enable=on,userspace=on. QEMU exits with the subcode: (N << 1) | 1, the
 * same codes as on x86.
 */
static int qemu_exit(long code)
{
	unsigned long block[2] = { 0x20026, (unsigned long)(code << 1) | 1 };
	register unsigned long x0 __asm__("x0") = 0x18;
	register unsigned long *x1 __asm__("x1") = block;

	__asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
	/* Only reached without semihosting (the HLT traps: SIGILL first). */
	fprintf(stderr, "vmutil: exit: no semihosting\n");
	return 1;
}
#else
#error "vmutil: no way to end the VM on this architecture"
#endif

static int do_exit(int argc, char **argv)
{
	long code;

	if (argc != 1 || parse_num(argv[0], 255, &code))
		return usage();
	return qemu_exit(code);
}

static int do_runas(int argc, char **argv)
{
	long uid, gid;

	if (argc < 4 || strcmp(argv[2], "--") != 0 ||
	    parse_num(argv[0], INT_MAX, &uid) || parse_num(argv[1], INT_MAX, &gid))
		return usage();
	/* Order matters: groups and gid while still privileged, uid last. */
	if (setgroups(0, NULL) != 0)
		return fail("runas", "setgroups");
	if (setgid((gid_t)gid) != 0)
		return fail("runas", "setgid");
	if (setuid((uid_t)uid) != 0)
		return fail("runas", "setuid");
	execvp(argv[3], &argv[3]);
	fail("runas: exec", argv[3]);
	return 127;
}

/* The module's state drains once every test process is gone. */
static int do_drained(int argc, char **argv)
{
	struct clone3_compat_features f;
	long ms;
	int fd;

	if (argc != 1 || parse_num(argv[0], INT_MAX, &ms))
		return usage();
	fd = open(CLONE3_COMPAT_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("drained", CLONE3_COMPAT_DEVICE);
	for (long i = 0;; i += 10) {
		memset(&f, 0, sizeof(f));
		f.size = sizeof(f);
		if (ioctl(fd, CLONE3_COMPAT_IOC_FEATURES, &f))
			return fail("drained", "FEATURES");
		if (!f.tracked && !f.autokill_files)
			break;
		if (i >= ms) {
			fprintf(stderr, "vmutil: drained: %llu tracked, %llu autokill files after %ld ms\n",
				(unsigned long long)f.tracked,
				(unsigned long long)f.autokill_files, ms);
			close(fd);
			return 1;
		}
		usleep(10000);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "insmod"))
		return do_insmod(argc - 2, argv + 2);
	if (!strcmp(argv[1], "rmmod"))
		return do_rmmod(argc - 2, argv + 2);
	if (!strcmp(argv[1], "exit"))
		return do_exit(argc - 2, argv + 2);
	if (!strcmp(argv[1], "runas"))
		return do_runas(argc - 2, argv + 2);
	if (!strcmp(argv[1], "drained"))
		return do_drained(argc - 2, argv + 2);
	return usage();
}
