/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw syscalls, and clone-style ones whose child must not run C code in
 * the caller's frame (it may share the parent's memory, or have a stack
 * of its own the compiler knows nothing of): the child runs a few
 * instructions in assembly, then exits its thread or calls a function
 * that never returns. One implementation per architecture the bench runs
 * (x86-64, arm64); the tests and the benchmark above them are
 * arch-neutral.
 */
#ifndef C3C_RAWSYS_H
#define C3C_RAWSYS_H

/* syscall @nr(@a0, @a1, @a2), a fourth argument of 0 (futex: no timeout). */
static inline long raw_syscall3(long nr, long a0, long a1, long a2)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = 0;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a0;
	register long x1 __asm__("x1") = a1;
	register long x2 __asm__("x2") = a2;
	register long x3 __asm__("x3") = 0;

	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
			 : "memory");
	return x0;
#else
#error "rawsys.h: no raw syscall for this architecture"
#endif
}

/*
 * A clone-style syscall whose child starts on a stack of its own (args'
 * stack): it must not return into the caller's frames, so it calls @fn
 * (which never returns) there, with no frame record to unwind into.
 */
static inline long raw_syscall3_child_calls(long nr, long a0, long a1, long a2,
					    void (*fn)(void))
{
#if defined(__x86_64__)
	register long r8 __asm__("r8") = (long)fn;
	long ret;

	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%%r8\n\t"
			 "ud2\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a0;
	register long x1 __asm__("x1") = a1;
	register long x2 __asm__("x2") = a2;
	register long x9 __asm__("x9") = (long)fn;

	__asm__ volatile("svc #0\n\t"
			 "cbnz x0, 1f\n\t"
			 "mov x29, #0\n\t"
			 "blr x9\n\t"
			 "brk #0\n"
			 "1:"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x9)
			 : "x30", "memory", "cc");
	return x0;
#else
#error "rawsys.h: no raw syscall for this architecture"
#endif
}

/*
 * syscall @nr(@a0, @a1, @a2) (a fourth argument of 0); in a child (return
 * 0) exit(0) at once, touching no memory. Returns the raw result
 * (-errno on failure).
 */
static inline long raw_syscall3_child_exits(long nr, long a0, long a1, long a2)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = 0;

	__asm__ volatile(
		"syscall\n\t"
		"test %%rax, %%rax\n\t"
		"jnz 1f\n\t"
		"mov $60, %%eax\n\t"	/* SYS_exit: this thread only */
		"xor %%edi, %%edi\n\t"
		"syscall\n\t"
		"ud2\n\t"
		"1:\n\t"
		: "=a"(ret)
		: "0"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
		: "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a0;
	register long x1 __asm__("x1") = a1;
	register long x2 __asm__("x2") = a2;
	register long x3 __asm__("x3") = 0;

	__asm__ volatile(
		"svc #0\n\t"
		"cbnz x0, 1f\n\t"
		"mov x8, #93\n\t"	/* SYS_exit: this thread only */
		"svc #0\n\t"		/* x0 is 0 already */
		"brk #0\n\t"
		"1:\n\t"
		: "+r"(x0), "+r"(x8)
		: "r"(x1), "r"(x2), "r"(x3)
		: "memory", "cc");
	return x0;
#else
#error "rawsys.h: no raw syscall for this architecture"
#endif
}

/*
 * The same, but the child checks that its stack pointer lies in [@lo,
 * @hi] and exits with 42 if so, 1 if not.
 */
static inline long raw_syscall3_child_checks_sp(long nr, long a0, long a1,
						long a2, char *lo, char *hi)
{
#if defined(__x86_64__)
	register long r12 __asm__("r12") = (long)lo;
	register long r13 __asm__("r13") = (long)hi;
	long ret;

	__asm__ volatile(
		"syscall\n\t"
		"test %%rax, %%rax\n\t"
		"jnz 1f\n\t"
		"mov $1, %%edi\n\t"
		"cmp %%r12, %%rsp\n\t"
		"jb 2f\n\t"
		"cmp %%r13, %%rsp\n\t"
		"ja 2f\n\t"
		"mov $42, %%edi\n\t"
		"2: mov $60, %%eax\n\t"
		"syscall\n\t"
		"1:"
		: "=a"(ret)
		: "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r12), "r"(r13)
		: "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a0;
	register long x1 __asm__("x1") = a1;
	register long x2 __asm__("x2") = a2;
	register long x9 __asm__("x9") = (long)lo;
	register long x10 __asm__("x10") = (long)hi;

	__asm__ volatile(
		"svc #0\n\t"
		"cbnz x0, 1f\n\t"
		"mov x0, #1\n\t"
		"mov x11, sp\n\t"
		"cmp x11, x9\n\t"
		"b.lo 2f\n\t"
		"cmp x11, x10\n\t"
		"b.hi 2f\n\t"
		"mov x0, #42\n\t"
		"2: mov x8, #93\n\t"	/* SYS_exit */
		"svc #0\n\t"
		"1:"
		: "+r"(x0), "+r"(x8)
		: "r"(x1), "r"(x2), "r"(x9), "r"(x10)
		: "x11", "memory", "cc");
	return x0;
#else
#error "rawsys.h: no raw syscall for this architecture"
#endif
}

#endif /* C3C_RAWSYS_H */
