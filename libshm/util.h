/*
 * util.h - small helpers shared by the library: error reporting, hashing,
 * clocks and the atomic accessors used on segment words.
 */
#ifndef SHMSTAT_UTIL_H
#define SHMSTAT_UTIL_H

#include <stdint.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdbool.h>

#define SHMSTAT_HIDDEN __attribute__((visibility("hidden")))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Record a detail sentence for shmstat_last_error() and return @err. */
SHMSTAT_HIDDEN int shmstat__fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
SHMSTAT_HIDDEN void shmstat__clear_error(void);
#ifdef __clang_analyzer__
/* For clang-tidy's analyzer, which looks at one file at a time: what
 * shmstat__fail() returns is @err (never 0: every caller passes an error).
 * Without this it follows "failed, yet returned 0" paths that cannot
 * happen. Compiled code is not affected. */
#define shmstat__fail(err, ...) (shmstat__fail((err), __VA_ARGS__), (err))
#endif

SHMSTAT_HIDDEN uint64_t shmstat__hash(const void *p, size_t n);
/* Read @n bytes at @off of @fd, again after EINTR and short reads: the
 * bytes read (fewer at the end of the file), or -1 with errno. */
SHMSTAT_HIDDEN ssize_t shmstat__pread_full(int fd, void *p, size_t n, uint64_t off);
SHMSTAT_HIDDEN uint64_t shmstat__now_ns(void);      /* CLOCK_REALTIME */

/* checked arithmetic on untrusted sizes: true when [off, off+len) fits */
static inline bool shmstat__fits(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Atomic accessors for segment words (GCC builtins = C11 semantics on
 * plain integers, so the layout structs stay plain). */
#define ld_relaxed(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define ld_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define st_relaxed(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define st_release(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define cas_acqrel(p, expp, v) \
	__atomic_compare_exchange_n((p), (expp), (v), false, \
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

/* A fence. ThreadSanitizer does not model fences (GCC refuses them with
 * -fsanitize=thread); its builds get a compiler barrier, which is all
 * x86, where they run, needs. The ordering arguments are in
 * docs/format.md ("Memory order"). */
#if defined(__SANITIZE_THREAD__)
#define shmstat__fence(order) __atomic_signal_fence(order)
#else
#define shmstat__fence(order) __atomic_thread_fence(order)
#endif

/* *p = max(*p, v), atomically (a CAS loop: contended only by writers
 * that share a stripe) */
static inline void shmstat__atomic_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = ld_relaxed(p);

	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, true, __ATOMIC_RELAXED,
							 __ATOMIC_RELAXED))
		;
}

#endif
