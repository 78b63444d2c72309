/*
 * oom_fail.c - LD_PRELOAD library for test_oom_register: once armed
 * (oom_arm()), the OOM_FAIL_N-th call of malloc, calloc, realloc,
 * aligned_alloc, memalign or posix_memalign fails with ENOMEM, in this
 * process or in the libraries it loaded (liburcu). oom_calls() says how
 * many calls were counted, so the driver knows how many to fail.
 * oom_pwrite_enospc(): the next pwrite() fails with ENOSPC (a full file
 * system), whether armed or not. A program that runs long before the part
 * under test (shmstat serve) is armed by a signal instead: OOM_ARM=signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <malloc.h>
#include <stdio.h>
#include <stdatomic.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t a, size_t n);

long oom_calls(void);
void oom_arm(int on);
void oom_pwrite_enospc(void);

static _Atomic long calls;
static _Atomic int armed;
static _Atomic int pwrite_fails;

long oom_calls(void)
{
	return calls;
}

void oom_arm(int on)
{
	armed = on;
}

void oom_pwrite_enospc(void)
{
	pwrite_fails = 1;
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (atomic_exchange(&pwrite_fails, 0)) {
		errno = ENOSPC;
		return -1;
	}
	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	return real(fd, p, n, off);
}

static int fail(void)
{
	const char *n = getenv("OOM_FAIL_N");

	if (!armed)
		return 0;
	return ++calls == (n ? atol(n) : 0);
}

void *malloc(size_t n)
{
	if (fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

void *memalign(size_t a, size_t n)
{
	if (fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_memalign(a, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	return memalign(a, n);
}

int posix_memalign(void **p, size_t a, size_t n)
{
	void *q = memalign(a, n);

	if (q == NULL)
		return ENOMEM;
	*p = q;
	return 0;
}

static const char *armed_file;

/* SIGUSR2 with OOM_ARM=signal: the count starts again from 0, armed;
 * then the file OOM_ARMED (if set) is created, so that the driver knows
 * the calls it makes next are counted */
static void arm_on_signal(int sig)
{
	(void)sig;
	calls = 0;
	armed = 1;
	if (armed_file != NULL) {
		int fd = open(armed_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	}
}

/* A program that does not call oom_arm() (the shmstat tool): armed from
 * its start with OOM_ARM=1, or by a SIGUSR2 with OOM_ARM=signal; with
 * OOM_CALLS=FILE, the number of calls counted written to FILE at its
 * exit. */
__attribute__((constructor)) static void oom_env_arm(void)
{
	const char *a = getenv("OOM_ARM");

	if (a && strcmp(a, "signal") == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = arm_on_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		armed_file = getenv("OOM_ARMED");
		sigaction(SIGUSR2, &sa, NULL);
	} else if (a && a[0] == '1') {
		armed = 1;
	}
}

__attribute__((destructor)) static void oom_env_report(void)
{
	const char *path = getenv("OOM_CALLS");
	FILE *f;

	if (path == NULL || !armed)
		return;
	armed = 0;
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%ld\n", (long)calls);
		fclose(f);
	}
}
