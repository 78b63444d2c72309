/*
 * profiler.h - the sampling profiler of a writer process.
 *
 * One per process: CPU timers (one per thread where it can, one for the
 * process) raise SIGPROF about hz times per second of CPU time in the
 * thread that runs; the handler walks
 * that thread's frame-pointer chain from the interrupted registers and
 * counts the stack in the segment's stack table (stacks.h). The walk only
 * reads memory between the interrupted stack pointer and the top of the
 * thread's own stack, which is mapped:
 *
 *   - a thread whose bounds were learnt outside the handler
 *     (shmstat__prof_thread: pthread_getattr_np, once per thread), when
 *     sp lies in them;
 *   - another thread of pthread_create: its stack block ends at the thread
 *     pointer (glibc places the thread descriptor at the top of the stack
 *     block, on x86-64 and arm64), so [sp, tp) is mapped when sp lies
 *     within the default stack size below tp;
 *   - the main thread: [sp, __libc_stack_end);
 *   - a signal handler on an alternate stack: [sp, ss_sp + ss_size) from
 *     the interrupted context's uc_stack.
 *
 * Elsewhere (a coroutine's stack, for a thread whose bounds are known)
 * only the interrupted pc is kept. Frames
 * must go up the stack strictly, be 8-byte aligned and lie within the
 * bounds; the walk stops at the first that does not.
 *
 * shmstat_profiler_stop() closes a gate and waits until no handler is
 * inside (a count of handlers in flight), so the segment can be unmapped
 * afterwards.
 */
#ifndef SHMSTAT_PROFILER_H
#define SHMSTAT_PROFILER_H

#include <stdint.h>

#include "segment.h"

struct shmstat_counter;

/* 1 in this many timer stops records its stack; 0: none (relaxed). */
SHMSTAT_HIDDEN extern unsigned shmstat__prof_latency_every;

/* Record the stack of a timer stop in histogram @h (its value slots)
 * that measured @ns: @ret is the
 * return address of shmstat_timer_stop(), @fp its caller's frame
 * pointer (anything, if the caller keeps none), @sp the timer's frame. */
SHMSTAT_HIDDEN void shmstat__prof_latency(struct shmstat_counter *h, uint64_t ns, uintptr_t ret,
					  uintptr_t fp, uintptr_t sp);

/* Learn the calling thread's stack bounds for the walk (once per thread;
 * pthread_getattr_np: not in a signal handler). Called where a thread
 * first writes a segment while a profiler is active, and by the profiler
 * start and latency stacks. */
SHMSTAT_HIDDEN void shmstat__prof_thread(void);

/* A profiler or latency stacks are on in this process (relaxed). */
SHMSTAT_HIDDEN int shmstat__prof_active(void);

/* Called by shmstat_close() and shmstat_heartbeat() for @seg. */
SHMSTAT_HIDDEN void shmstat__prof_detach(struct shmstat_seg *seg);
SHMSTAT_HIDDEN void shmstat__prof_heartbeat(struct shmstat_seg *seg);

/* How the profiler plugs into the core (type.h) */
struct shmstat__type;
SHMSTAT_HIDDEN extern const struct shmstat__type shmstat__profile_type;

#endif
