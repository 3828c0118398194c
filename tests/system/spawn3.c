// SPDX-License-Identifier: GPL-2.0
/*
 * Built inside the full-system guest (scripts/system-guest) against the
 * installed libclone3compat-dev, as a user's program is:
 *   cc -std=c11 -Wall -Wextra -Werror spawn3.c $(pkg-config --cflags --libs libclone3compat)
 * It spawns "sh -c 'exit 7'" with CLONE_AUTOREAP | CLONE_NNP |
 * CLONE_PIDFD_AUTOKILL, waits for the pidfd, reads the exit status the
 * library keeps for the autoreaped child, and checks the child never was a
 * zombie of ours (waitpid finds no child). Prints one line; exit 0 only if
 * all of that held.
 */
#include <clone3_compat.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

int main(void)
{
	char *argv[] = { "sh", "-c", "[ \"$(grep NoNewPrivs /proc/self/status | cut -f2)\" = 1 ] && exit 7", NULL };
	clone3_compat_spawnattr_t attr;
	struct pollfd p = { .events = POLLIN };
	int pidfd, status, err;

	clone3_compat_spawnattr_init(&attr);
	clone3_compat_spawnattr_setflags(&attr, CLONE_AUTOREAP | CLONE_NNP |
					 CLONE_PIDFD_AUTOKILL);
	err = clone3_compat_spawnp(&pidfd, "sh", NULL, &attr, argv, NULL);
	if (err) {
		fprintf(stderr, "spawn3: spawn: %s (%s)\n", clone3_compat_errmsg(),
			clone3_compat_mode_name(clone3_compat_mode()));
		return 1;
	}
	p.fd = pidfd;
	if (poll(&p, 1, 30000) != 1) {
		fprintf(stderr, "spawn3: the child did not exit in 30 s\n");
		return 1;
	}
	if (clone3_compat_exit_status(pidfd, &status)) {
		fprintf(stderr, "spawn3: exit status: %s\n", clone3_compat_errmsg());
		return 1;
	}
	/* Autoreaped: never our zombie, nothing for waitpid. */
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) {
		fprintf(stderr, "spawn3: waitpid found a child: not autoreaped\n");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 7) {
		fprintf(stderr, "spawn3: status %#x, want exit 7 (no_new_privs set)\n", status);
		return 1;
	}
	printf("spawn3: %s: child exited 7 with no_new_privs, autoreaped\n",
	       clone3_compat_mode_name(clone3_compat_mode()));
	return 0;
}
