/*
 * qemu_procfix.c - preloaded into every program of the aarch64 build that
 * runs under qemu-user (tests/cross/aarch64.sh: qemu-aarch64 -E
 * LD_PRELOAD=...), so that the library sees its own process as it would
 * natively. Two things qemu-user gets wrong, both of which the library
 * relies on (libshm/procs.c) and which have nothing to do with aarch64:
 *
 *   - /proc/self/stat and /proc/PID/stat of the process itself are
 *     answered by qemu, not the kernel, and a child of fork() gets its
 *     parent's start time there (QEMU 7.2 and 10.0), while every other
 *     process reads the kernel's: a forked writer's tag (pid + start
 *     time) then never matches, and readers take the live writer for a
 *     dead one and reap its slot. Here such a path is opened relative to
 *     a descriptor of /proc, which qemu passes to the kernel.
 *   - /proc/self/comm is "qemu-aarch64" (the program the kernel ran):
 *     set it to the program's name, as exec would.
 *
 * Not part of the library: only tests/cross/meson.build builds it, in a
 * cross build. It calls no malloc (tests/prof/test_nomalloc.c interposes
 * malloc) and removes LD_PRELOAD from the environment, so that a host
 * script started by a test does not try to load it; the programs such a
 * script starts get it again from their wrapper (tests/cross/run.sh.in).
 */
/* open and open64 are both defined here: no renaming of one to the other */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* O_TMPFILE, program_invocation_short_name */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The path under /proc to open instead of @path, or NULL to open @path. */
static const char *own_stat(const char *path, char *rel, size_t n)
{
	char mine[32];

	if (path == NULL || strncmp(path, "/proc/", 6) != 0)
		return NULL;
	snprintf(mine, sizeof(mine), "/proc/%d/stat", (int)getpid());
	if (strcmp(path, "/proc/self/stat") != 0 && strcmp(path, mine) != 0)
		return NULL;
	snprintf(rel, n, "%d/stat", (int)getpid());
	return rel;
}

static int open_rel(const char *rel, int flags, mode_t mode)
{
	int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd, saved;

	if (dir < 0)
		return -1;
	fd = (int)syscall(SYS_openat, dir, rel, flags, mode);
	saved = errno;
	close(dir);
	errno = saved;
	return fd;
}

static int do_openat(int dirfd, const char *path, int flags, va_list ap)
{
	char rel[32];
	mode_t mode = 0;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		mode = va_arg(ap, mode_t);
	if (own_stat(path, rel, sizeof(rel)))
		return open_rel(rel, flags, mode);
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int openat(int dirfd, const char *path, int flags, ...);
int openat64(int dirfd, const char *path, int flags, ...);

int open(const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = do_openat(AT_FDCWD, path, flags, ap);
	va_end(ap);
	return fd;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = do_openat(AT_FDCWD, path, flags, ap);
	va_end(ap);
	return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = do_openat(dirfd, path, flags, ap);
	va_end(ap);
	return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = do_openat(dirfd, path, flags, ap);
	va_end(ap);
	return fd;
}

__attribute__((constructor)) static void procfix_init(void)
{
	/* the kernel names a process after the file it executes, 15 bytes */
	prctl(PR_SET_NAME, program_invocation_short_name, 0, 0, 0);
	unsetenv("LD_PRELOAD");
}
