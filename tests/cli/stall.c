/*
 * stall.c - an LD_PRELOAD library for the timeout test of `shmstat check`
 * (nagios.sh): opening a file whose name ends in ".stall" blocks until a
 * signal ends the process, as a rules file on a hung network mount would;
 * every other open goes to the C library.
 */
#undef _FILE_OFFSET_BITS       /* open() and open64() each by its own name */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int stalls(const char *path)
{
	size_t n = strlen(path);

	return n >= 6 && strcmp(path + n - 6, ".stall") == 0;
}

/* open() or open64(), as the header of the caller named it */
static int forward(const char *name, const char *path, int flags, mode_t mode)
{
	int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, name);

	if (stalls(path))
		for (;;)
			pause();
	return real(path, flags, mode);
}

/* int NAME(const char *path, int flags, ...): the mode only with
 * O_CREAT or O_TMPFILE */
#define OPEN_STALLS(name)                                                \
	int name(const char *path, int flags, ...)                      \
	{                                                                \
		mode_t mode = 0;                                         \
		va_list ap;                                              \
                                                                         \
		va_start(ap, flags);                                     \
		if (flags & (O_CREAT | O_TMPFILE))                       \
			mode = (mode_t)va_arg(ap, int);                  \
		va_end(ap);                                              \
		return forward(#name, path, flags, mode);                \
	}

OPEN_STALLS(open)
OPEN_STALLS(open64)
