/*
 * unwind.h - one step of the profiler's stack walk (its signal handler):
 * by an unwind-table row (cfi.h) or by the frame pointer, from one frame
 * to its caller's. The walk itself (profiler.c) chooses the step for each
 * frame, takes the steps through signal frames (it knows the thread's
 * stacks) and bounds the number of frames.
 *
 * Every word read lies inside [lo, top) of the stack being walked,
 * aligned; a step that cannot be taken so returns 0. Async-signal-safe:
 * no lock, no allocation, no system call.
 */
#ifndef SHMSTAT_UNWIND_H
#define SHMSTAT_UNWIND_H

#include <stdint.h>
#include <ucontext.h>

#include "cfi.h"
#include "util.h"

/* What a step knows of a frame: its pc, its stack pointer (exact when
 * sp_exact; otherwise a lower bound, after a frame-pointer step on
 * arm64, whose frame records need not sit at the top of the frame), its
 * frame pointer (when fp_ok) and, in the interrupted frame only, the link
 * register (arm64's x30). pc_exact: the pc is where the thread was
 * interrupted, not a return address (which is looked up at pc - 1: the
 * call, not what follows it). switched: the walk may not go on to
 * another stack (step_sig). uc: the interrupted context, in the
 * interrupted frame only (its registers: REGS rows, the red zone). */
struct frame {
	uintptr_t pc, sp, fp, lr;
	const ucontext_t *uc;
	unsigned sp_exact : 1, fp_ok : 1, lr_ok : 1, pc_exact : 1, switched : 1;
};

/* The word at @a into @out, when [a, a + 8) is aligned and inside
 * [@lo, @hi): the part of the stack the walk may read. */
__attribute__((no_sanitize_address, no_sanitize("thread")))
static inline int load(uintptr_t a, uintptr_t lo, uintptr_t hi, uintptr_t *out)
{
	if (a % sizeof(uintptr_t) != 0 || a < lo || a >= hi || hi - a < sizeof(uintptr_t))
		return 0;
	/* inside the checked bounds: NOLINTNEXTLINE(performance-no-int-to-ptr) */
	*out = *(const uintptr_t *)a;
	return 1;
}

/* A return address signed by pointer authentication (arm64), stripped:
 * XPACLRI is in the hint space, a no-op on cores without it (where
 * nothing was signed either). */
static inline uintptr_t strip_pac(uintptr_t ra)
{
#if defined(__aarch64__)
	register uintptr_t x30 __asm__("x30") = ra;

	__asm__("hint #7" : "+r"(x30));
	return x30;
#else
	return ra;
#endif
}

/*
 * shmstat__unwind_row - one step by row @r (not a SIGFRAME row: 0) of
 * frame @f, whose stack ends at @top: 1, with @f its caller's frame, or 0.
 */
SHMSTAT_HIDDEN int shmstat__unwind_row(const struct shmstat_cfirow *r, struct frame *f,
				       uintptr_t top);

/* shmstat__unwind_fp - one step by the frame record at f->fp: 1 or 0. */
SHMSTAT_HIDDEN int shmstat__unwind_fp(struct frame *f, uintptr_t top);

#endif
