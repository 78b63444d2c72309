/*
 * shmstat.h - live metrics in POSIX shared memory.
 *
 * Writers (instrumented processes) open a named segment, register metrics
 * and update them at a few nanoseconds per event. Readers (other
 * processes) take snapshots of the segment without locks and without
 * slowing the writers down.
 *
 * Every type is opaque. Functions that can fail return 0 on success or an
 * error code (a positive errno value or an SHMSTAT_E* code, see
 * shmstat_strerror()); shmstat_last_error() gives a sentence with the
 * details for the calling thread. Hot-path functions return nothing and
 * cannot fail.
 *
 * Concurrency, in one table (all of them may run in different processes):
 *
 *                       | counter/gauge ops | register | snapshot | gc/close
 *   counter/gauge ops   | yes               | yes      | yes      | yes (*)
 *   register            | yes               | yes      | yes      | yes
 *   snapshot            | yes               | yes      | yes      | yes
 *   gc / close          | yes (*)           | yes      | yes      | yes
 *
 *   (*) across processes; inside one process, shmstat_close() must not run
 *       while another thread still uses that segment or its handles
 *       (updates or registrations).
 */
#ifndef SHMSTAT_H
#define SHMSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SHMSTAT_API __attribute__((visibility("default")))
#else
#define SHMSTAT_API
#endif

/* In C++, four functions share their names with the structs they fill
 * (shmstat_frame_info, shmstat_profiler_info, shmstat_profile_stats,
 * shmstat_profile_proc), as C allows: g++ -Wshadow says the function
 * "hides constructor" of the struct. The names are the C API, so the
 * headers silence that warning around those declarations only; C++ code
 * names the structs with the `struct` keyword, as C does. */
#if defined(__cplusplus) && defined(__GNUC__)
#define SHMSTAT__SHADOW_OFF _Pragma("GCC diagnostic push") \
	_Pragma("GCC diagnostic ignored \"-Wshadow\"")
#define SHMSTAT__SHADOW_ON _Pragma("GCC diagnostic pop")
#else
#define SHMSTAT__SHADOW_OFF
#define SHMSTAT__SHADOW_ON
#endif

/* ------------------------------------------------------------------ errors */

/* Codes beyond errno values. */
enum shmstat_error {
	SHMSTAT_EBADNAME = 1000,   /* invalid segment or metric name */
	SHMSTAT_EFOREIGN,          /* not a shmstat segment (bad magic) */
	SHMSTAT_EVERSION,          /* format major version not understood */
	SHMSTAT_ECORRUPT,          /* a header field or checksum is wrong */
	SHMSTAT_ETRUNCATED,        /* smaller than its header says */
	SHMSTAT_EFULL,             /* no room left: directory, values, slots */
	SHMSTAT_ETYPE,             /* same name and labels, another type */
	SHMSTAT_ERECREATED,        /* the name now holds another segment */
	SHMSTAT_EBUSY,             /* an update kept racing; try again */
	SHMSTAT_EOWNER,            /* owned by another user, or a link */
};

/**
 * shmstat_strerror - text for an error code (errno or SHMSTAT_E*).
 */
SHMSTAT_API const char *shmstat_strerror(int err);

/**
 * shmstat_last_error - details of the last error in this thread.
 *
 * Return a lowercase sentence naming what was wrong, valid until the next
 * shmstat call in this thread; "" when there was none.
 */
SHMSTAT_API const char *shmstat_last_error(void);

/**
 * shmstat_version - the library's release, "MAJOR.MINOR.PATCH" (the
 * project's version: `shmstat --version` prints it).
 */
SHMSTAT_API const char *shmstat_version(void);

/**
 * shmstat_format_version - the segment format this library writes and
 * reads: *@major (a reader refuses another major) and *@minor (readers
 * of the same major read every minor).
 */
SHMSTAT_API void shmstat_format_version(unsigned *major, unsigned *minor);

/* ---------------------------------------------------------------- segments */

typedef struct shmstat_seg shmstat_seg;

/** Options for creating a segment. Fill with shmstat_opts_init(). */
struct shmstat_opts {
	uint32_t max_procs;    /* writer processes at once (default 32) */
	uint32_t max_metrics;  /* metric descriptors (default 1024) */
	uint32_t max_values;   /* 8-byte value slots per stripe (default 16384):
				* a counter takes 1, a gauge 3, a histogram
				* 5 + its buckets (2350 by default) */
	uint32_t max_threads;  /* thread stripes (default 32) */
	unsigned mode;         /* 0600 (default) or 0640 */
	uint64_t sig_bytes;    /* room for signature tables, in bytes (default
				* 8 MiB; a table takes what
				* shmstat_sigtab_bytes() says) */
	uint32_t max_stacks;   /* profiler stack entries, 512 bytes each, a
				* power of two up to 2^20 or 0: no profiling
				* (default 4096; see shmstat_profile.h) */
	uint32_t max_modules;  /* profiler module records, 512 bytes each:
				* one per loaded module (and one per start)
				* of every profiled process (default 1024) */
};

/** shmstat_opts_init - fill @o with the defaults above. */
SHMSTAT_API void shmstat_opts_init(struct shmstat_opts *o);

/**
 * shmstat_valid_name - check a segment name: 1..200 of [A-Za-z0-9_.-].
 *
 * Return 0 or SHMSTAT_EBADNAME.
 */
SHMSTAT_API int shmstat_valid_name(const char *name);

/**
 * shmstat_open - attach to segment @name for writing, creating it if needed.
 * @name: segment name; the object is /dev/shm/shmstat.<name>
 * @opts: capacities and mode used if the segment is created; NULL for
 *        defaults. An existing segment keeps its own capacities.
 * @out: the attached segment
 *
 * Creation is O_EXCL, never through a symlink, and writes every page so a
 * full /dev/shm fails here with ENOSPC instead of a SIGBUS later. An
 * existing segment is refused if it is owned by another user, is a link,
 * or fails validation. Attaching claims a writer-process slot and reaps
 * the slots of dead writers.
 *
 * Return 0, EINVAL (mode or capacity), EACCES, ENOSPC, ENOMEM,
 * SHMSTAT_EBADNAME, SHMSTAT_EOWNER, SHMSTAT_EFULL (no process slot, or 16
 * segments open in this process already), SHMSTAT_EBUSY (the name keeps
 * being created and removed), or a validation error (SHMSTAT_EFOREIGN,
 * SHMSTAT_EVERSION, SHMSTAT_ECORRUPT, SHMSTAT_ETRUNCATED).
 */
SHMSTAT_API int shmstat_open(const char *name, const struct shmstat_opts *opts,
			     shmstat_seg **out);

/**
 * shmstat_close - detach: give back this process's slot and stripes.
 *
 * The values this process wrote stay counted. Call when no other thread of
 * this process uses the segment's handles any more; handles of @seg are
 * invalid afterwards. Return 0 (NULL is allowed).
 */
SHMSTAT_API int shmstat_close(shmstat_seg *seg);

/**
 * shmstat_unlink - remove segment @name from the system.
 *
 * Attached writers and readers keep their mapping until they close.
 * Return 0, ENOENT, SHMSTAT_EBADNAME or another shm_unlink(3) errno.
 */
SHMSTAT_API int shmstat_unlink(const char *name);

/**
 * shmstat_gc - reap the slots of writer processes that are gone.
 * @name: segment name
 * @reaped: if not NULL, receives the number of slots reaped: writers that
 *          died, and writers that detached while another process held the
 *          reaper lock
 *
 * Their values are folded into the segment's "exited" totals, their
 * stripes freed for reuse, their half-made registrations repaired.
 * Return 0 or an error; SHMSTAT_EBUSY when the reaper lock could not be
 * taken (its holder is stopped, or held it for over a second): nothing
 * was reaped, and the message names the holder's pid.
 */
SHMSTAT_API int shmstat_gc(const char *name, unsigned *reaped);

/**
 * shmstat_heartbeat - record "alive now" in this process's slot.
 *
 * Optional: liveness is decided by pid and process start time; the
 * heartbeat only tells readers when the process last said so.
 */
SHMSTAT_API void shmstat_heartbeat(shmstat_seg *seg);

/* ----------------------------------------------------------------- metrics */

enum shmstat_type {
	SHMSTAT_COUNTER = 1,
	SHMSTAT_GAUGE = 2,
	SHMSTAT_HISTOGRAM = 3,
	SHMSTAT_SIGTABLE = 4,
};

/* How the gauge values of several processes combine, as in Prometheus'
 * multiprocess mode. LIVE variants leave out processes that are gone. */
enum shmstat_agg {
	SHMSTAT_AGG_SUM = 0,
	SHMSTAT_AGG_MAX = 1,
	SHMSTAT_AGG_MIN = 2,
	SHMSTAT_AGG_LAST = 3,      /* the value of the process that set last */
	SHMSTAT_AGG_LIVESUM = 4,
	SHMSTAT_AGG_LIVEMAX = 5,
	SHMSTAT_AGG_LIVEMIN = 6,
	SHMSTAT_AGG_LIVELAST = 7,
};

/**
 * struct shmstat_metric_def - what identifies and describes a metric.
 * @name: Prometheus name, [a-zA-Z_:][a-zA-Z0-9_:]*, at most 95 bytes
 * @labels: NULL, or key, value, key, value, ..., NULL. Keys follow
 *          [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__"; values
 *          are any UTF-8. Order does not matter.
 * @help: one line of help text (may be NULL), at most 79 bytes
 * @unit: [a-zA-Z0-9_]* (may be NULL), at most 31 bytes: "ns" (durations),
 *        "bytes", "micro_XXX" (millionths of currency XXX), or a word
 *        printed after counts ("items"); shmstat's tools print values in it
 */
struct shmstat_metric_def {
	const char *name;
	const char *const *labels;
	const char *help;
	const char *unit;
};

typedef struct shmstat_counter shmstat_counter;
typedef struct shmstat_gauge shmstat_gauge;

/**
 * shmstat_counter_register - find or create a counter in @seg.
 *
 * Any thread of any process may call it at any time: the same name and
 * labels give the same counter everywhere. Lookups after the first one in
 * a process are lock-free (a liburcu hash table).
 *
 * *@out always receives a usable handle. On error it is a handle that does
 * nothing, so the caller may go on without checking.
 * Return 0, EINVAL (no segment or definition), SHMSTAT_EBADNAME (bad name,
 * label, help or unit), SHMSTAT_ETYPE (the name and labels exist with
 * another type), SHMSTAT_EFULL (directory or value slots full; the
 * segment's dropped-registrations count goes up), SHMSTAT_EBUSY (another
 * process keeps the slot claimed), SHMSTAT_ECORRUPT, ENOMEM.
 */
SHMSTAT_API int shmstat_counter_register(shmstat_seg *seg,
					 const struct shmstat_metric_def *def,
					 shmstat_counter **out);

/**
 * shmstat_counter_add - add @n to the counter. Any thread; no lock, no
 * system call, no allocation after the thread's first update of @seg.
 */
SHMSTAT_API void shmstat_counter_add(shmstat_counter *c, uint64_t n);

/** shmstat_counter_inc - add 1. */
SHMSTAT_API void shmstat_counter_inc(shmstat_counter *c);

/**
 * shmstat_gauge_register - find or create a gauge; like
 * shmstat_counter_register() with @agg telling how values of several
 * processes combine. The same name and labels with another @agg is
 * SHMSTAT_ETYPE.
 */
SHMSTAT_API int shmstat_gauge_register(shmstat_seg *seg,
				       const struct shmstat_metric_def *def,
				       enum shmstat_agg agg,
				       shmstat_gauge **out);

/** shmstat_gauge_add - add @d (may be negative) to this process's value. */
SHMSTAT_API void shmstat_gauge_add(shmstat_gauge *g, int64_t d);

/** shmstat_gauge_sub - subtract @d from this process's value. */
SHMSTAT_API void shmstat_gauge_sub(shmstat_gauge *g, int64_t d);

/**
 * shmstat_gauge_set - make this process's value @v.
 *
 * Exact when no other thread of this process adds to the same gauge at the
 * same moment. It reads this process's stripes, scanning the segment's
 * stripe table: O(max_threads), not a hot-path operation.
 */
SHMSTAT_API void shmstat_gauge_set(shmstat_gauge *g, int64_t v);

/**
 * shmstat_remove - remove a metric (counter, gauge or histogram) that is no
 * longer used: a closed connection, a retired tenant.
 *
 * The metric disappears from snapshots at once, and this process's handle
 * of it does nothing from now on. Its descriptor and value slots are
 * reused only after a grace period: every live writer process has called
 * shmstat_quiesce() (or attached later, or is gone), so no handle of the
 * old metric can write into the slots a new one gets; a reader's copy
 * that overlaps the reuse is redone, and the new metric has a new reg_id.
 * The reaper (shmstat_gc(), every attach) reclaims what is due.
 * Call it when no thread of this process updates the metric any more.
 * Return 0, ENOENT (no such metric), EINVAL (a signature table), or
 * SHMSTAT_EBADNAME.
 */
SHMSTAT_API int shmstat_remove(shmstat_seg *seg, const struct shmstat_metric_def *def);

/**
 * shmstat_quiesce - acknowledge every removal so far: this process's
 * handles of removed metrics do nothing from now on. The calling thread
 * acknowledges at once, the process's other threads at their next update
 * (or quiesce, or exit): until the last has, the removed slots are not
 * reused. Call it from
 * time to time (e.g. once a second, or when a removal is announced) in
 * processes that keep handles of metrics other processes may remove.
 * Return 0 or EINVAL.
 */
SHMSTAT_API int shmstat_quiesce(shmstat_seg *seg);

/* -------------------------------------------------------------- histograms */

typedef struct shmstat_hist shmstat_hist;

/**
 * struct shmstat_hist_opts - the bucket layout of a histogram.
 * @lowest, @highest: the range tracked with the stated precision; values
 *          below or above are counted as underflow or overflow, never
 *          dropped. Default 1 .. 3,600,000,000,000 (1 ns .. 1 h in ns).
 * @bits: precision, 1..16: every value in range is reported within a
 *          relative error of 2^-bits (default 7: 0.78125%). Memory per
 *          stripe: 8 * (5 + buckets) bytes, buckets = the bucket index of
 *          @highest + 1 (default: 2345 buckets, 18,800 bytes per stripe).
 */
struct shmstat_hist_opts {
	uint64_t lowest;
	uint64_t highest;
	unsigned bits;
};

/** shmstat_hist_opts_init - fill @o with the defaults above. */
SHMSTAT_API void shmstat_hist_opts_init(struct shmstat_hist_opts *o);

/**
 * shmstat_hist_register - find or create a histogram; like
 * shmstat_counter_register(), with @opts (NULL: defaults) fixing its
 * buckets. The same name and labels with another layout is SHMSTAT_ETYPE;
 * a layout out of bounds is EINVAL.
 */
SHMSTAT_API int shmstat_hist_register(shmstat_seg *seg, const struct shmstat_metric_def *def,
				      const struct shmstat_hist_opts *opts, shmstat_hist **out);

/**
 * shmstat_hist_record - count value @v once (e.g. nanoseconds).
 *
 * On the calling thread's own stripe: a few relaxed loads and stores, one
 * clz, no loop, no lock, no system call, no allocation (after the thread's
 * first update of the segment). Any thread.
 */
SHMSTAT_API void shmstat_hist_record(shmstat_hist *h, uint64_t v);

/** shmstat_hist_record_n - count value @v @n times. */
SHMSTAT_API void shmstat_hist_record_n(shmstat_hist *h, uint64_t v, uint64_t n);

/**
 * shmstat_now_ns - CLOCK_MONOTONIC in nanoseconds (vDSO: no system call
 * on Linux x86-64 and arm64).
 */
SHMSTAT_API uint64_t shmstat_now_ns(void);

/**
 * shmstat_timer_start - a start time for shmstat_timer_stop().
 * shmstat_timer_stop - record the nanoseconds elapsed since @start in @h;
 *          a @start of 0 records nothing (see the sampled start). The
 *          latency profile takes its stack here: a call the compiler
 *          turns into a tail call (the last statement of a function)
 *          shows the caller's caller; SHMSTAT_TIME_SCOPE prevents that.
 */
SHMSTAT_API uint64_t shmstat_timer_start(void);
SHMSTAT_API void shmstat_timer_stop(shmstat_hist *h, uint64_t start);

/**
 * shmstat_timer_start_sampled - a start time for 1 call in @n of this
 * thread (the 1st, the (n+1)th, ...), 0 for the others, so that
 * shmstat_timer_stop() records only the sampled calls: the clock is read
 * for them only. The histogram's count is then the number of samples.
 */
SHMSTAT_API uint64_t shmstat_timer_start_sampled(unsigned n);

/* A timer for the rest of the enclosing block (GCC/Clang cleanup):
 *     { SHMSTAT_TIME_SCOPE(lookup_ns); ... }                            */
struct shmstat__scope {
	shmstat_hist *h;
	uint64_t start;
};
static inline void shmstat__scope_end(struct shmstat__scope *s)
{
	shmstat_timer_stop(s->h, s->start);
	/* not a tail call: the latency profile records the stack at the
	 * stop, and the timed function's frame must still be on it */
	__asm__ __volatile__("" ::: "memory");
}
#define SHMSTAT__CAT2(a, b) a##b
#define SHMSTAT__CAT(a, b) SHMSTAT__CAT2(a, b)
#define SHMSTAT_TIME_SCOPE(hist) \
	struct shmstat__scope SHMSTAT__CAT(shmstat__scope_, __LINE__) \
		__attribute__((cleanup(shmstat__scope_end), unused)) = \
		{ (hist), shmstat_timer_start() }
/* ... and its sampled form, 1 block in @n of this thread. */
#define SHMSTAT_TIME_SCOPE_SAMPLED(hist, n) \
	struct shmstat__scope SHMSTAT__CAT(shmstat__scope_, __LINE__) \
		__attribute__((cleanup(shmstat__scope_end), unused)) = \
		{ (hist), shmstat_timer_start_sampled(n) }

/* -------------------------------------------------------- signature tables */

typedef struct shmstat_sigtab shmstat_sigtab;

/**
 * struct shmstat_sigtab_opts - shape of a signature table.
 * @capacity: keys each writer thread's summary holds, 1..2^20 (default
 *          2048). While every summary has seen at most this many keys,
 *          counts are exact: a thread's (which later threads of its
 *          process that take its stripe count into too) and the one of
 *          the writers that are gone (their keys together); past it, a
 *          key's count is within N / C of the truth (N: events of the
 *          table; see shmstat_sigview_stats())
 * @key_bytes: bytes of each key kept, a multiple of 8 from 8 to 1024
 *          (default 128); a longer key is kept as its first @key_bytes
 *          bytes and its hash, and shown as cut
 * @owners: owner slots (accounts, tenants), 0..4096 (default 64)
 * @summaries: writer threads that can keep a summary of their own at
 *          once, 1..4096 (default 8); one an exited thread left idle
 *          goes to a thread of its process that has none; a thread that
 *          finds none counts its events in the exact totals only, and
 *          readers widen every key's bound by them ("unsummarized")
 * @ttl_ns: a key idle longer than this is shown as expired (default
 *          10 min; 0: never); at most 2^32 - 1 ms
 *
 * Memory: (2 + @summaries) summaries of about @capacity x (100 +
 * @key_bytes) bytes each (the exact figure: shmstat_sigtab_bytes()), from
 * the segment's sig_bytes. The default table takes 4,676,224 bytes
 * (4.46 MiB).
 */
struct shmstat_sigtab_opts {
	uint32_t capacity;
	uint32_t key_bytes;
	uint32_t owners;
	uint32_t summaries;
	uint64_t ttl_ns;
};

/** shmstat_sigtab_opts_init - fill @o with the defaults above. */
SHMSTAT_API void shmstat_sigtab_opts_init(struct shmstat_sigtab_opts *o);

/**
 * shmstat_sigtab_bytes - bytes of the segment's sig_bytes a table of
 * shape @o takes; 0 when the shape is out of bounds.
 */
SHMSTAT_API uint64_t shmstat_sigtab_bytes(const struct shmstat_sigtab_opts *o);

/**
 * shmstat_sigtab_register - find or create a signature table; like
 * shmstat_counter_register(), with @opts (NULL: defaults). The same name
 * and labels with another shape is SHMSTAT_ETYPE; no room left in the
 * segment's sig_bytes is SHMSTAT_EFULL.
 */
SHMSTAT_API int shmstat_sigtab_register(shmstat_seg *seg, const struct shmstat_metric_def *def,
					const struct shmstat_sigtab_opts *opts,
					shmstat_sigtab **out);

/**
 * shmstat_sig_owner - the id of owner @name in @t (found or added), for
 * shmstat_sig_hit() and shmstat_sig_miss(). Ids are shared by every
 * process. Not a hot-path call: look ids up once.
 * Return 0, SHMSTAT_EBADNAME (empty or longer than 55 bytes),
 * SHMSTAT_EFULL (no free owner slot; *@id is 0: no owner), EINVAL.
 */
SHMSTAT_API int shmstat_sig_owner(shmstat_sigtab *t, const char *name, uint32_t *id);

/**
 * shmstat_sig_hit - key @key (@len bytes; NULL when @len is 0) was
 * reused, saving @weight (any integer unit, e.g. micro-dollars), for
 * owner @owner (0: none).
 * shmstat_sig_miss - key @key was looked up and not found.
 *
 * Counts the event in the table's exact totals and in the calling
 * thread's own summary of the table, in memory no other thread writes:
 * no lock, no system call, no allocation, and no atomic read-modify-write
 * once the thread has its summary (its first event claims one from the
 * pool with one compare-and-swap); a stopped or dead writer holds nothing
 * another one waits for. The key is identified by its 64-bit hash, XXH3-64
 * of its bytes (shmstat_sig_hash()). A key the summary does not hold yet
 * takes a free entry; once the summary is full, the entry with the fewest
 * events (Space-Saving), but only when its admission filter's counter has
 * reached that minimum (until then its events go to the counter, and the
 * bounds cover them: docs/api.md "Signature tables").
 * Its first @key_bytes bytes are kept at its first event in a free entry,
 * or at its second in a taken one (a key seen once is kept by its hash
 * alone). The owner a summary keeps for a key is that of the key's event
 * that brought it in; a view shows the one of the summary that saw the
 * key last.
 */
SHMSTAT_API void shmstat_sig_hit(shmstat_sigtab *t, const void *key, size_t len,
				 uint64_t weight, uint32_t owner);
SHMSTAT_API void shmstat_sig_miss(shmstat_sigtab *t, const void *key, size_t len,
				  uint32_t owner);

/**
 * shmstat_sig_hit_hash, shmstat_sig_miss_hash - the same with the key's
 * 64-bit hash @hash given: the key's bytes are read only when the
 * summary takes the key. Any well-mixed hash will do (the one a cache has
 * computed already), as long as every event of a table gives each key the
 * same one: a table must not mix these with shmstat_sig_hit() unless
 * @hash is shmstat_sig_hash(key, len). Two keys with one hash are counted
 * as one.
 */
SHMSTAT_API void shmstat_sig_hit_hash(shmstat_sigtab *t, uint64_t hash, const void *key,
				      size_t len, uint64_t weight, uint32_t owner);
SHMSTAT_API void shmstat_sig_miss_hash(shmstat_sigtab *t, uint64_t hash, const void *key,
				       size_t len, uint32_t owner);

/** shmstat_sig_hash - the hash shmstat_sig_hit() gives @key: XXH3-64. */
SHMSTAT_API uint64_t shmstat_sig_hash(const void *key, size_t len);

/* ------------------------------------------------------------------ reader */

typedef struct shmstat_reader shmstat_reader;
typedef struct shmstat_snap shmstat_snap;

/* What a snapshot may copy at most by default (bytes of the segment
 * read into private memory, counted in whole pages, per copy); see
 * shmstat_reader_opts.max_copy. */
#define SHMSTAT_READER_MAX_COPY (UINT64_C(1) << 30)
#define SHMSTAT_READER_MAX_OWNERS 16

/* Whose segments a reader accepts, and how much it copies. */
struct shmstat_reader_opts {
	/* A reader accepts a segment owned by its effective uid or by root
	 * (uid 0); also by these uids (a 0640 segment read by its group) */
	uid_t owners[SHMSTAT_READER_MAX_OWNERS];
	unsigned nowners;          /* at most SHMSTAT_READER_MAX_OWNERS: EINVAL */
	int any_owner;             /* 1: accept any owner (listing) */
	uint64_t max_copy;         /* 0: SHMSTAT_READER_MAX_COPY */
	/* A subset (NULL: every metric): a snapshot holds only the metrics
	 * for which want(name, labels, want_arg) returns nonzero, and copies
	 * no value slot, histogram bucket or signature summary of the
	 * others. Called during shmstat_snapshot(), on the reader's thread. */
	int (*want)(const char *name, const char *labels, void *want_arg);
	void *want_arg;
};

/** shmstat_reader_opts_init - no other owner, the default copy limit,
 * every metric. */
SHMSTAT_API void shmstat_reader_opts_init(struct shmstat_reader_opts *o);

/**
 * shmstat_reader_open - open segment @name read-only (O_RDONLY |
 * O_NONBLOCK | O_NOFOLLOW; it is never mapped: snapshots copy it with
 * pread(2)). The default options: shmstat_reader_opts_init().
 *
 * Validates every header field; a foreign, truncated, corrupted or newer
 * segment gives an error and a sentence in shmstat_last_error().
 * Return 0, ENOENT, EACCES, SHMSTAT_EBADNAME, SHMSTAT_EOWNER (a symbolic
 * link, not a regular file, hard-linked, writable by group or others, or
 * owned by a uid the options do not accept), SHMSTAT_EBUSY (not
 * initialized yet), ENOMEM or a validation error.
 */
SHMSTAT_API int shmstat_reader_open(const char *name, shmstat_reader **out);

/** shmstat_reader_open_opts - the same with options @o (NULL: defaults);
 * EINVAL when o->nowners is more than SHMSTAT_READER_MAX_OWNERS. */
SHMSTAT_API int shmstat_reader_open_opts(const char *name, const struct shmstat_reader_opts *o,
					 shmstat_reader **out);

/** shmstat_reader_close - close and free. NULL is allowed. */
SHMSTAT_API void shmstat_reader_close(shmstat_reader *r);

/**
 * shmstat_snapshot - copy the segment into private memory and validate it.
 *
 * Never follows an unchecked offset, never loops without bound, never
 * takes a SIGBUS when the segment shrinks underneath (it copies with
 * pread(2)). Retries a bounded number of times when a reclamation races
 * with the copy.
 * Reads only data the object holds (holes of a sparse object are not
 * read) and at most the reader's max_copy bytes.
 * Return 0, SHMSTAT_ETRUNCATED, SHMSTAT_ECORRUPT, SHMSTAT_EBUSY, ENOMEM,
 * EFBIG (more than max_copy to copy), or SHMSTAT_ERECREATED when the
 * name now holds a new segment or something else (close the reader and
 * open a new one to follow it). A segment that was removed is
 * still read; shmstat_seg_info.removed says so.
 */
SHMSTAT_API int shmstat_snapshot(shmstat_reader *r, shmstat_snap **out);

/** shmstat_snap_free - free a snapshot. NULL is allowed. */
SHMSTAT_API void shmstat_snap_free(shmstat_snap *s);

struct shmstat_seg_info {
	uint64_t size;             /* bytes */
	uint64_t generation;
	uint64_t created_ns;       /* CLOCK_REALTIME */
	uint64_t taken_ns;         /* when the snapshot was taken */
	uint64_t dropped_regs;     /* registrations refused: no free slot */
	uint32_t format_major, format_minor;
	uint32_t max_procs, max_metrics, max_values, max_threads;
	uint32_t metrics;          /* live metrics */
	uint64_t values_used;      /* value slots allocated (<= max_values) */
	uint32_t writers_alive;
	uint32_t writers_dead;     /* slots of gone writers not yet folded */
	uint32_t stripes_owned;    /* thread stripes in use */
	uint32_t bad_descs;        /* descriptors skipped: failed validation */
	int removed;               /* the name no longer exists */
	uid_t uid;                 /* owner of the object */
	mode_t mode;               /* permission bits of the object */
	uint32_t max_stacks;       /* profiler tables (shmstat_profile.h) */
	uint32_t max_modules;
	uint64_t profile_stacks;   /* stack entries in use (<= max_stacks) */
	uint64_t profile_modules;  /* module records in use (<= max_modules) */
	uint64_t profile_dropped;  /* samples the stack table could not take */
};

/** shmstat_snap_info - segment-wide facts of snapshot @s. */
SHMSTAT_API void shmstat_snap_info(const shmstat_snap *s, struct shmstat_seg_info *out);

struct shmstat_metric_info {
	const char *name;
	const char *labels;        /* canonical: k="v",k2="v2" sorted by key */
	const char *help;
	const char *unit;
	enum shmstat_type type;
	enum shmstat_agg agg;      /* gauges */
	uint64_t reg_id;           /* changes if the slot is ever reused */
	uint64_t created_ns;
	uint64_t counter;          /* counter value, all processes; for a
				    * histogram the values recorded, for a
				    * signature table its hits */
	int64_t gauge;             /* gauge value, aggregated per agg */
	int has_value;             /* 0: a MIN/MAX/LAST gauge (or LIVE form)
				    * that no counted process has */
};

/** shmstat_snap_metrics - number of live metrics in @s. */
SHMSTAT_API size_t shmstat_snap_metrics(const shmstat_snap *s);

/**
 * shmstat_snap_metric - metric @i (0 <= i < shmstat_snap_metrics()).
 * Strings point into @s. Return 0 or EINVAL.
 */
SHMSTAT_API int shmstat_snap_metric(const shmstat_snap *s, size_t i,
				    struct shmstat_metric_info *out);

/**
 * shmstat_snap_prefetch - a hint: metric @i of @s is read soon. Starts
 * loading what shmstat_snap_metric() reads of it (its descriptor: names,
 * help, unit; its value), without waiting. A walk in an order other than the
 * metrics' own (by name, say) reads each metric from a random place of a
 * large copy; calling this a few metrics ahead overlaps those misses.
 * Out of range: nothing. Reads only; never fails.
 */
SHMSTAT_API void shmstat_snap_prefetch(const shmstat_snap *s, size_t i);

struct shmstat_proc_info {
	pid_t pid;
	uid_t uid;
	int alive;                 /* 1: running; 0: died, or detached and
				    * not folded into the graves yet; -1:
				    * unknown, a live slot of another pid
				    * namespace whose writer holds no lock
				    * of its slot (counted as alive: in
				    * writers_alive, LIVE* gauges) */
	uint64_t starttime;        /* clock ticks after boot */
	uint64_t attach_ns, heartbeat_ns;
	char comm[17];
	uint32_t stripes;          /* thread stripes it owns */
};

/** shmstat_snap_procs - writer-process slots in use in @s. */
SHMSTAT_API size_t shmstat_snap_procs(const shmstat_snap *s);

/** shmstat_snap_proc - process @j (0 <= j < shmstat_snap_procs()). */
SHMSTAT_API int shmstat_snap_proc(const shmstat_snap *s, size_t j,
				  struct shmstat_proc_info *out);

/* Process index naming the values of writers that are gone. */
#define SHMSTAT_PROC_GONE SIZE_MAX          /* (size_t)-1, no cast: C++ -Wold-style-cast */

/**
 * shmstat_snap_metric_proc - contribution of process @j to metric @i.
 * @j: a process index, or SHMSTAT_PROC_GONE for writers that are gone
 * @counter, @gauge: receive the counter value or the gauge value
 *
 * Return 0, EINVAL (also for a signature table: see its view), or ENOENT
 * when the process (or the gone writers) has no value for a MIN/MAX/LAST
 * gauge or its LIVE form.
 */
SHMSTAT_API int shmstat_snap_metric_proc(const shmstat_snap *s, size_t i, size_t j,
					 uint64_t *counter, int64_t *gauge);

/* --------------------------------------------------- histogram snapshots */

typedef struct shmstat_hdata shmstat_hdata;

/* Process index naming all processes together. */
#define SHMSTAT_PROC_ALL (SIZE_MAX - 1)      /* (size_t)-2 */

/**
 * shmstat_snap_hist - the histogram of metric @i of snapshot @s, as a
 * private object: all processes (@j = SHMSTAT_PROC_ALL), process @j, or
 * the writers that are gone (SHMSTAT_PROC_GONE).
 * Return 0, EINVAL (@i not a histogram, @j out of range) or ENOMEM.
 */
SHMSTAT_API int shmstat_snap_hist(const shmstat_snap *s, size_t i, size_t j,
				  shmstat_hdata **out);

/** shmstat_hdata_free - free. NULL is allowed. */
SHMSTAT_API void shmstat_hdata_free(shmstat_hdata *h);

/**
 * shmstat_hdata_sub - what was recorded between two snapshots of one
 * histogram: @later - @earlier, bucket by bucket, an exact distribution.
 * Its min and max are not known exactly; they are taken from the lowest
 * and highest buckets used: the lower bound of the lowest (0 if there
 * was underflow) and the upper bound of the highest (UINT64_MAX if there
 * was overflow).
 * Return 0, EINVAL (other layouts), ERANGE (a bucket went down: the
 * histogram was re-created between the two) or ENOMEM.
 */
SHMSTAT_API int shmstat_hdata_sub(const shmstat_hdata *later, const shmstat_hdata *earlier,
				  shmstat_hdata **out);

/**
 * shmstat_hdata_merge - add what @src counted to @dst (histograms of one
 * layout, e.g. the series of one histogram under several labels).
 * Return 0 or EINVAL (other layouts).
 */
SHMSTAT_API int shmstat_hdata_merge(shmstat_hdata *dst, const shmstat_hdata *src);

struct shmstat_hstats {
	uint64_t count;            /* all values, underflow and overflow too */
	uint64_t sum;              /* modulo 2^64 */
	uint64_t min, max;         /* 0 when count is 0 */
	uint64_t underflow, overflow;
	double mean;
	uint64_t lowest, highest;  /* the layout */
	unsigned bits;
};

/** shmstat_hdata_stats - count, sum, min, max, mean, under/overflow. The
 * mean is that of the whole sum (shmstat_hdata_sum), not of sum. */
SHMSTAT_API void shmstat_hdata_stats(const shmstat_hdata *h, struct shmstat_hstats *out);

/**
 * shmstat_hdata_sum - the sum of the values recorded, whole: @wraps * 2^64
 * + @sum. The histogram keeps it modulo 2^64 (@sum, hstats.sum), which a
 * busy latency histogram passes (10^5 events a second of 10 ms: in 213
 * days); its buckets bound it, and of the numbers with that residue the
 * one nearest the middle of the bounds is taken.
 * Return 0: the bounds are less than 2^63 apart, that number is the sum;
 * ERANGE: an estimate within the buckets' resolution (bounds 2^63 apart
 * or more, 2^64 values or more).
 */
SHMSTAT_API int shmstat_hdata_sum(const shmstat_hdata *h, uint64_t *wraps, uint64_t *sum);

/**
 * shmstat_hdata_quantiles - the values at quantiles @q[0..n-1] (0..1, any
 * order), in one pass over the buckets. The value at q is the one of rank
 * ceil(q * count) (at least 1), reported as its bucket's midpoint clamped
 * to [min, max]: within 2^-bits of the true value for values in range;
 * ranks in the underflow report min, in the overflow max.
 * Return 0, EINVAL (a q outside 0..1, n > 64) or ENOENT (empty).
 */
SHMSTAT_API int shmstat_hdata_quantiles(const shmstat_hdata *h, const double *q, size_t n,
					uint64_t *out);

/** shmstat_hdata_buckets - number of buckets (not counting under/overflow). */
SHMSTAT_API size_t shmstat_hdata_buckets(const shmstat_hdata *h);

/**
 * shmstat_hdata_bucket - bucket @k: values @lo .. @hi (inclusive) and how
 * many were recorded there. Return 0 or EINVAL.
 */
SHMSTAT_API int shmstat_hdata_bucket(const shmstat_hdata *h, size_t k, uint64_t *lo,
				     uint64_t *hi, uint64_t *count);

/**
 * shmstat_hdata_next - the first bucket from @k on that holds values, or
 * shmstat_hdata_buckets(@h) when none does: a walk of the buckets in use.
 */
SHMSTAT_API size_t shmstat_hdata_next(const shmstat_hdata *h, size_t k);

/* ------------------------------------------------- signature-table views */

typedef struct shmstat_sigview shmstat_sigview;

/**
 * shmstat_snap_sigtab - the entries and totals of signature table @i of
 * snapshot @s, as a private object. Entries that were being updated
 * through every re-read are left out and counted (skipped).
 * Return 0, EINVAL (@i is not a signature table) or ENOMEM.
 */
SHMSTAT_API int shmstat_snap_sigtab(const shmstat_snap *s, size_t i, shmstat_sigview **out);

/** shmstat_sigview_free - free. NULL is allowed. */
SHMSTAT_API void shmstat_sigview_free(shmstat_sigview *v);

struct shmstat_sigstats {
	uint32_t capacity;         /* keys per summary */
	uint32_t used;             /* keys in the view */
	uint32_t owners, key_bytes;
	uint32_t summaries;        /* summaries merged: writer threads' and
				    * the one of writers that are gone */
	uint32_t skipped;          /* entries being rewritten through every
				    * read: left out (the bounds cover them) */
	uint64_t ttl_ns;
	uint64_t hits, misses, weight;     /* exact, all keys */
	uint64_t events;           /* hits + misses: N */
	uint64_t evictions;
	uint64_t filtered;         /* events of keys a full summary did not
				    * hold that its admission filter kept out
				    * (counted in the bounds, not in any
				    * entry; summaries of processes that are
				    * gone included) */
	uint64_t unsummarized;     /* events of threads that had no summary:
				    * in the totals, and in every bound */
	uint64_t max_error;        /* the most any key's events may be above
				    * or below what the view says, listed or
				    * not: at most error_bound, but for the few
				    * events counted between the copy of the
				    * totals and of the summaries, and after a
				    * fold that ran out of memory */
	uint64_t error_bound;      /* N / capacity + unsummarized: the bound
				    * Space-Saving guarantees */
};

/** shmstat_sigview_stats - the table's shape, exact totals and bounds. */
SHMSTAT_API void shmstat_sigview_stats(const shmstat_sigview *v, struct shmstat_sigstats *out);

/*
 * A key in a view. hits, misses and weight are upper bounds of the truth;
 * each less its err_ field is a lower bound (guaranteed): the key had at
 * least hits - err_hits hits and at most hits. err_hits == err_misses:
 * the events a key may have had uncounted, which may have been hits or
 * misses. While every summary held its keys from their first event, the
 * errors are 0 and the counts exact.
 */
struct shmstat_sigentry {
	uint64_t hash;             /* the key's 64-bit hash */
	const char *key;           /* its first key_len bytes, NUL after */
	uint32_t key_len;          /* bytes in key (may hold NULs) */
	uint32_t full_len;         /* the key's length: > key_len when cut */
	int has_key;               /* 0: no summary kept its bytes, only its
				    * hash (a key evicted before its second
				    * event); key is then "" */
	const char *owner;         /* "" when none */
	uint64_t hits, misses, weight;
	uint64_t err_hits, err_misses, err_weight;
	uint64_t first_ns, last_ns;                  /* CLOCK_REALTIME_COARSE */
	double hit_rate;           /* of the guaranteed counts: (hits - err)
				    * / (hits - err + misses - err) */
	int expired;               /* idle longer than the TTL at the snapshot,
				    * by last_ns: a thread stamps its events
				    * with the clock it read at one of its
				    * last 16 events, so a key of a thread
				    * that counts rarely may look idle longer
				    * than it is */
};

/** shmstat_sigview_entries - keys in the view. */
SHMSTAT_API size_t shmstat_sigview_entries(const shmstat_sigview *v);

/** shmstat_sigview_entry - key @k. Strings point into @v. 0 or EINVAL. */
SHMSTAT_API int shmstat_sigview_entry(const shmstat_sigview *v, size_t k,
				      struct shmstat_sigentry *out);

enum shmstat_sig_order {
	SHMSTAT_BY_HITS = 0,       /* guaranteed hits: hits - err_hits */
	SHMSTAT_BY_WEIGHT = 1,     /* guaranteed weight */
	SHMSTAT_BY_RECENT = 2,     /* last seen */
	SHMSTAT_BY_HITS_MAX = 3,   /* hits, the upper bound */
};

/**
 * shmstat_sigview_top - indices of the first @n keys by @order (ties: the
 * larger upper bound, then more recent first), only of owner @owner when
 * not NULL, into @out. Return how many were written.
 */
SHMSTAT_API size_t shmstat_sigview_top(const shmstat_sigview *v, enum shmstat_sig_order order,
				       const char *owner, size_t n, size_t *out);

struct shmstat_sigowner_info {
	const char *name;
	uint64_t hits, misses, weight;     /* exact */
};

/** shmstat_sigview_owners - owners named in the table. */
SHMSTAT_API size_t shmstat_sigview_owners(const shmstat_sigview *v);

/** shmstat_sigview_owner - owner @k (id k + 1) and its exact totals; a
 * name in two slots is shown once, in its first, with the totals of
 * both. 0 or EINVAL. */
SHMSTAT_API int shmstat_sigview_owner(const shmstat_sigview *v, size_t k,
				      struct shmstat_sigowner_info *out);

/** shmstat_type_name - "counter", "gauge", "histogram", "sigtable" or "unknown". */
SHMSTAT_API const char *shmstat_type_name(enum shmstat_type t);

/** shmstat_agg_name - "sum", "max", ..., "livelast", or "unknown". */
SHMSTAT_API const char *shmstat_agg_name(enum shmstat_agg a);

/** shmstat_agg_parse - name to enum; return 0 or EINVAL (also for NULL). */
SHMSTAT_API int shmstat_agg_parse(const char *s, enum shmstat_agg *out);

#ifdef __cplusplus
}
#endif

#endif
