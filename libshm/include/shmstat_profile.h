/*
 * shmstat_profile.h - sampled stacks in the segment: where the time goes.
 *
 * A writer process starts the profiler once; CPU-time timers (one per
 * thread that writes a segment, one of the process for the others) then
 * interrupt its threads about @hz times per second of the CPU time each
 * uses, and the signal handler walks the interrupted thread's stack and
 * counts it in the segment's stack table: no allocation, no lock, no
 * system call. The
 * histogram timers may also record their stack, 1 in N, weighted by the
 * time they measured. Each writer publishes its module map (path,
 * build-id, load address), so a reader symbolizes the addresses later,
 * even after the writer exited.
 *
 * Unwinding: by the modules' unwind tables (.eh_frame, which C++
 * exceptions need, so nearly every binary has them, built with frame
 * pointers or not), parsed when the profiler starts and after modules
 * are loaded; by the frame-pointer chain where a table has no row (code
 * without CFI: JIT code, some hand-written assembly). docs/profiling.md
 * says which frames come from where and what is still lost.
 */
#ifndef SHMSTAT_PROFILE_H
#define SHMSTAT_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmstat.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sampling rate when 0 is given: 99 Hz, not 100, so that sampling does
 * not run in step with work done every 10 ms. */
#define SHMSTAT_PROFILE_HZ 99u
/* Most frames kept of a stack: the innermost ones. */
#define SHMSTAT_STACK_FRAMES 58u

/* ------------------------------------------------------------ writer side */

/**
 * shmstat_profiler_start - sample this process's stacks into @seg.
 * @hz: samples per second of the process's CPU time, 1..1000; 0 for
 *      SHMSTAT_PROFILE_HZ
 *
 * Publishes the process's module map, parses the loaded modules' unwind
 * tables, installs a SIGPROF handler, starts a per-thread CPU timer for
 * every thread alive (and later for each thread that first writes a
 * segment) and a process CPU timer (timer_create, not ITIMER_PROF: none
 * outlives an execve) for the others. One profiler per process.
 * Return 0, EINVAL (@seg NULL, @hz out of range), SHMSTAT_EBUSY (the
 * profiler already runs, or SIGPROF or ITIMER_PROF is used by someone
 * else), SHMSTAT_EFULL (the segment has no stack table: created with
 * max_stacks 0 or by format 2.0), or an errno from sigaction/timer_create.
 */
SHMSTAT_API int shmstat_profiler_start(shmstat_seg *seg, unsigned hz);

/**
 * shmstat_profiler_stop - stop sampling; wait until no handler still
 * writes into @seg. SIGPROF is ignored afterwards. shmstat_close() calls
 * it. Return 0, or EINVAL when the profiler does not run for @seg.
 */
SHMSTAT_API int shmstat_profiler_stop(shmstat_seg *seg);

/**
 * shmstat_profiler_latency - also record the stack of 1 in @every calls
 * of shmstat_timer_stop() (and SHMSTAT_TIME_SCOPE) of this process,
 * weighted by the nanoseconds measured; 0 turns it off. Works with or
 * without the sampling timer. The timer that records a stack pays for a
 * frame walk and a table update (about 1 microsecond); the others pay
 * one thread-local decrement.
 * Return 0, EINVAL or SHMSTAT_EFULL (no stack table).
 */
SHMSTAT_API int shmstat_profiler_latency(shmstat_seg *seg, unsigned every);

/**
 * shmstat_profiler_modules - publish the modules loaded since the last
 * publication (after a dlopen). The profiler start does it, and so does
 * shmstat_heartbeat() while a profiler runs. Return 0, EINVAL or
 * SHMSTAT_EFULL (the module table is full).
 */
SHMSTAT_API int shmstat_profiler_modules(shmstat_seg *seg);

/* What the process's profiler uses (shmstat_profiler_info). */
struct shmstat_profiler_info {
	int running;               /* 1 while shmstat_profiler_start runs */
	unsigned hz;
	uint32_t thread_timers;    /* per-thread CPU timers now, of threads
				    * alive (those of threads gone are
				    * deleted first) */
	uint32_t unwind_modules;   /* modules with unwind tables */
	uint32_t unwind_rows;      /* rows of those tables */
	uint64_t unwind_bytes;     /* their memory, in this process */
	uint64_t skipped;          /* process timer signals skipped, since the
				    * process began, in threads sampled by a
				    * timer of their own; and signals that
				    * came while the thread was in the
				    * handler already */
};

/**
 * shmstat_profiler_info - what this process's profiler uses now: its
 * per-thread timers and the memory of its unwind tables. Return 0, or
 * EINVAL when @out is NULL.
 */
SHMSTAT__SHADOW_OFF /* g++ -Wshadow: named as its struct (shmstat.h) */
SHMSTAT_API int shmstat_profiler_info(struct shmstat_profiler_info *out);
SHMSTAT__SHADOW_ON

/**
 * shmstat_profile_gc - free the stack entries and module records of
 * segment @name whose processes no longer run (pid and start time), and
 * entries a writer died filling. Their samples are gone from then on:
 * call it to make room once old profiles are no longer wanted (the tables
 * are never reclaimed otherwise). Live processes keep theirs and may go
 * on sampling meanwhile. Needs write access, like shmstat_gc().
 * @stacks, @modules: if not NULL, receive how many were freed.
 * Return 0 or an error of opening the segment.
 */
SHMSTAT_API int shmstat_profile_gc(const char *name, uint64_t *stacks, uint64_t *modules);

/* ------------------------------------------------------------ reader side */

typedef struct shmstat_profile shmstat_profile;

enum shmstat_stack_kind {
	SHMSTAT_STACK_CPU = 1,     /* a timer sample; weight: CPU ns */
	SHMSTAT_STACK_LATENCY = 2, /* a timed section; weight: its ns */
};

/**
 * shmstat_snap_profile - the stacks and module maps of the segment of
 * reader @r, as a private object, with processes and metrics named from
 * snapshot @s (taken from @r just before). The two tables are read now,
 * not copied by shmstat_snapshot() (2.5 MiB by default, and readers that
 * do not profile should not pay for them). Entries that fail their
 * checksum (being written during the read, or damaged) are left out and
 * counted.
 * Return 0, EINVAL (@s is of another segment), SHMSTAT_ETRUNCATED or
 * ENOMEM. A segment without a stack table gives an empty profile.
 */
SHMSTAT_API int shmstat_snap_profile(shmstat_reader *r, const shmstat_snap *s,
				     shmstat_profile **out);

/** shmstat_profile_free - free. NULL is allowed. */
SHMSTAT_API void shmstat_profile_free(shmstat_profile *p);

struct shmstat_profile_stats {
	uint32_t capacity;         /* stack entries in the segment */
	uint32_t used;             /* entries holding a stack */
	uint32_t bad;              /* entries left out: checksum or fields */
	uint32_t modules_capacity, modules_used;
	uint64_t cpu_samples, latency_samples;  /* in the entries read */
	uint64_t dropped_samples;  /* samples no entry could take: table full */
	uint64_t dropped_weight;
	uint64_t dropped_modules;  /* module records the table could not take */
};

/** shmstat_profile_stats - totals and the table's shape. */
SHMSTAT__SHADOW_OFF /* g++ -Wshadow: named as its struct (shmstat.h) */
SHMSTAT_API void shmstat_profile_stats(const shmstat_profile *p, struct shmstat_profile_stats *out);
SHMSTAT__SHADOW_ON

struct shmstat_profile_proc {
	pid_t pid;
	uint64_t starttime;        /* low 24 bits of the start time (ticks) */
	char comm[17];
	int alive;                 /* its writer slot is live in the snapshot */
	unsigned hz;               /* its sampling rate; 0 when not sampling */
	uint64_t start_ns;         /* CLOCK_REALTIME of its profiler start */
};

/** shmstat_profile_procs - processes that published a profile. */
SHMSTAT_API size_t shmstat_profile_procs(const shmstat_profile *p);

/** shmstat_profile_proc - process @j. Return 0 or EINVAL. */
SHMSTAT__SHADOW_OFF /* g++ -Wshadow: named as its struct (shmstat.h) */
SHMSTAT_API int shmstat_profile_proc(const shmstat_profile *p, size_t j,
				     struct shmstat_profile_proc *out);
SHMSTAT__SHADOW_ON

struct shmstat_stack_info {
	size_t proc;               /* index for shmstat_profile_proc() */
	enum shmstat_stack_kind kind;
	const char *metric;        /* latency: the timed histogram's name and
				    * labels (name{k="v"}), "" when unknown;
				    * CPU: "" */
	uint64_t samples;
	uint64_t weight;           /* CPU: ns of CPU its threads used, each
				    * sample since their previous one;
				    * latency: the nanoseconds measured */
	uint32_t depth;            /* frames, 1..SHMSTAT_STACK_FRAMES */
	int truncated;             /* the stack had more frames */
	int leaf_return;           /* pcs[0] is a return address as well
				    * (latency stacks: the caller of the
				    * timer stop), not an interrupted pc */
	const uint64_t *pcs;       /* pcs[0] innermost (where the sample hit),
				    * then the return addresses outward */
};

/** shmstat_profile_stacks - distinct stacks (per process and kind). */
SHMSTAT_API size_t shmstat_profile_stacks(const shmstat_profile *p);

/** shmstat_profile_stack - stack @k; pointers into @p. 0 or EINVAL. */
SHMSTAT_API int shmstat_profile_stack(const shmstat_profile *p, size_t k,
				      struct shmstat_stack_info *out);

struct shmstat_module_info {
	size_t proc;               /* index for shmstat_profile_proc() */
	uint64_t base;             /* load bias: address - base = file address */
	uint64_t lo, hi;           /* its executable range [lo, hi) */
	const char *path;          /* absolute path at publication */
	const unsigned char *build_id;
	size_t build_id_len;       /* 0 when it has none */
};

/** shmstat_profile_modules - module records of every process. */
SHMSTAT_API size_t shmstat_profile_modules(const shmstat_profile *p);

/** shmstat_profile_module - module @k. Return 0 or EINVAL. */
SHMSTAT_API int shmstat_profile_module(const shmstat_profile *p, size_t k,
				       struct shmstat_module_info *out);

/**
 * shmstat_profile_find_module - the module of process @proc whose
 * executable range holds @pc (the latest published when ranges overlap
 * after a dlclose and dlopen: highest seq, then first in the table), or
 * -1. A binary search in an index built by shmstat_snap_profile.
 */
SHMSTAT_API long shmstat_profile_find_module(const shmstat_profile *p, size_t proc, uint64_t pc);

/**
 * shmstat_profile_frame_module - the module of frame @i of stack @k (its
 * address, or for a return address the address before it): of the
 * modules of the stack's process that were loaded when the stack was
 * sampled, the one holding it; when none did (a module published only
 * after the sample, or a stack that does not tell when it was taken:
 * latency stacks, writers before format 4.4), the one
 * shmstat_profile_find_module gives. So a library loaded where an
 * unloaded one was names its own frames, and the unloaded one its own.
 * Return the index for shmstat_profile_module(), or -1 (no module, or
 * @k or @i out of range).
 */
SHMSTAT_API long shmstat_profile_frame_module(const shmstat_profile *p, size_t k, uint32_t i);

#ifdef __cplusplus
}
#endif

#endif
