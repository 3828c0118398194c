/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Races need CPUs: make check boots SMP guests, and the racing parts of a
 * test run on different CPUs there (on one CPU only preemption mixes
 * them). Plain Linux API: the 7.1-only tests (upstream71.c) use it too.
 */
#ifndef C3C_CPUS_H
#define C3C_CPUS_H

#include <sched.h>
#include <unistd.h>

/*
 * c3c_ncpus(): the CPUs online; c3c_pin(i): the calling thread (and what
 * it forks later) to CPU i modulo that, a no-op on one CPU; 0, or -1 with
 * errno. The harness runs each TEST in a process of its own, so a pin
 * lasts for that test only.
 */
static inline int c3c_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 && n <= CPU_SETSIZE ? (int)n : 1;
}

static inline int c3c_pin(int i)
{
	cpu_set_t set;
	int n = c3c_ncpus();

	if (n < 2)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(((i % n) + n) % n, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* The i-th CPU but CPU 0 (where the test's main thread pins itself). */
static inline int c3c_pin_other(int i)
{
	int n = c3c_ncpus();

	return n < 2 ? 0 : c3c_pin(1 + i % (n - 1));
}

#endif /* C3C_CPUS_H */
