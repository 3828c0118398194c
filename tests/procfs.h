/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /proc/PID/stat and /proc/PID/status, read the way the tests and the
 * benchmark need them. Nothing of the module here, so the programs written
 * for the Linux 7.1 UAPI alone (upstream71.c) use it too.
 */
#ifndef C3C_PROCFS_H
#define C3C_PROCFS_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* A /proc file's start into @buf, NUL-terminated; its length, or -1. */
static inline ssize_t procfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}

struct procfs_stat {
	char state;		/* R, S, Z...; '?' if the line did not parse */
	pid_t ppid;
	char comm[32];
	unsigned long long start;	/* starttime, clock ticks after boot */
};

/* /proc/PID/stat into @st; false when the process is gone. */
static inline bool procfs_stat(pid_t pid, struct procfs_stat *st)
{
	char path[64], buf[1024], *l, *r, *p;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (procfs_read(path, buf, sizeof(buf)) < 0)
		return false;
	/* comm may hold spaces and parentheses: it ends at the last ')'. */
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (!l || !r || r < l || r[1] != ' ') {
		st->state = '?';
		return true;
	}
	snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(r - l - 1), l + 1);
	st->state = r[2];
	if (sscanf(r + 4, "%d", &st->ppid) != 1)
		st->ppid = 0;
	/* Field 22 is starttime; r + 2 is field 3. */
	p = r + 2;
	for (int f = 3; f < 22 && p; f++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	st->start = p ? strtoull(p, NULL, 10) : 0;
	return true;
}

/* The state letter of /proc/PID/stat, 0 when the process is gone. */
static inline char procfs_state(pid_t pid)
{
	struct procfs_stat st;

	return procfs_stat(pid, &st) ? st.state : 0;
}

/* The field @key of /proc/PID/status as a number, -1 if absent or gone. */
static inline long procfs_status_num(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return val;
}

#endif /* C3C_PROCFS_H */
