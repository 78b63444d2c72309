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
/* Huge pages for the 2 MiB-aligned spans inside [@p, @p + @n) of private
 * memory about to be filled whole (one page fault for 512): advice, its
 * failure changes nothing but speed. */
SHMSTAT_HIDDEN void shmstat__advise_huge(void *p, size_t n);
/* Huge pages for [@p, @p + @n) and the rest of the 2 MiB pages it
 * touches, as far as they lie within [@lo, @hi) (memory of the same
 * purpose: a copy buffer of which the span's neighbours are zeros, or
 * are filled too): a huge page is zeroed whole, 0.2-0.4 us per 4 KiB
 * where a small page's first write costs 2.7 us here (one first round
 * of 32 MB measured 5 us). Nothing for spans under 1
 * MiB (2 MiB a summary of a few hundred keys, times 64 writers). Advice
 * only. */
SHMSTAT_HIDDEN void shmstat__advise_huge_in(void *p, size_t n, void *lo, void *hi);
/* Zeroed memory for an array of @n bytes mostly filled: from 1 MiB on,
 * its own mapping of whole huge pages, aligned (the first write of a small page
 * costs about 2.7 us on the 2-CPU virtual machine we measure on, a huge
 * page's 0.2-0.4 us per 4 KiB), else calloc. NULL when out of memory. */
SHMSTAT_HIDDEN void *shmstat__map_array(size_t n);
/* @p (from shmstat__map_array(@had) or this, or NULL with @had 0) grown
 * to @want bytes, its first @had kept, the rest undefined (realloc below
 * 1 MiB: a reader's arrays reused from the heap, not zeroed again); @p
 * given back. NULL when out of memory, @p then kept. */
SHMSTAT_HIDDEN void *shmstat__regrow_array(void *p, size_t had, size_t want);
/* Give back @p (NULL: nothing), from shmstat__map_array(@n). */
SHMSTAT_HIDDEN void shmstat__unmap_array(void *p, size_t n);

/* ------------------------------------------------ names, labels, text
 * One set of rules for the writer (registration refuses what breaks them)
 * and the reader (a descriptor that breaks them is bad: left out), so
 * that what a reader passes on is always safe to put in the Prometheus
 * and OpenMetrics formats (docs/format.md, "Names, labels, help"). */
#define SHMSTAT_MAX_LABELS 16

static inline bool shmstat__name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool shmstat__name_char(unsigned char c)
{
	return shmstat__name_start(c) || (c >= '0' && c <= '9');
}

/* Length of the valid UTF-8 sequence at @s (1 for NUL), or 0: overlong
 * forms, surrogates and code points past U+10FFFF are not valid. Reads
 * no further than a NUL. */
SHMSTAT_HIDDEN size_t shmstat__utf8_len(const unsigned char *s);
/* [a-zA-Z_:][a-zA-Z0-9_:]*, at most SHMSTAT_NAME_CAP - 1 bytes */
SHMSTAT_HIDDEN bool shmstat__metric_name_ok(const char *s);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" */
SHMSTAT_HIDDEN bool shmstat__label_name_ok(const char *s, size_t n);
/* Canonical labels as the writer stores them: empty, or k="v",k="v"...
 * at most SHMSTAT_MAX_LABELS pairs, keys label names in strictly
 * increasing order, values valid UTF-8 in which \, " and newline appear
 * only as the escapes \\, \" and \n. */
SHMSTAT_HIDDEN bool shmstat__canon_labels_ok(const char *s);
/* Help: valid UTF-8 without a newline. Unit: [a-zA-Z0-9_]*. */
SHMSTAT_HIDDEN bool shmstat__help_ok(const char *s);
SHMSTAT_HIDDEN bool shmstat__unit_ok(const char *s);
/* The texts of descriptor @d (NUL-terminated within their fields, which
 * the caller has checked) follow the rules above. */
struct shmstat_desc;
SHMSTAT_HIDDEN bool shmstat__desc_text_ok(const struct shmstat_desc *d);

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
