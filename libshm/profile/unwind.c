/*
 * unwind.c - one step of the profiler's stack walk (see unwind.h). Runs
 * in the SIGPROF handler: reads only through load(), inside the stack.
 */
#include <stdint.h>
#include <ucontext.h>

#include "cfi.h"
#include "unwind.h"

/* Register @dw (DWARF number) of the interrupted frame's context, when
 * the frame is the interrupted one. */
static int reg_of(const struct frame *f, unsigned dw, uintptr_t *out)
{
#if defined(__x86_64__)
	/* DWARF's order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 */
	static const unsigned char map[16] = { REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI,
					       REG_RBP, REG_RSP, REG_R8, REG_R9, REG_R10, REG_R11,
					       REG_R12, REG_R13, REG_R14, REG_R15 };

	if (f->uc == NULL || dw >= 16)
		return 0;
	*out = (uintptr_t)f->uc->uc_mcontext.gregs[map[dw]];
	return 1;
#elif defined(__aarch64__)
	if (f->uc == NULL || dw > 31)
		return 0;
	*out = dw == 31 ? (uintptr_t)f->uc->uc_mcontext.sp : (uintptr_t)f->uc->uc_mcontext.regs[dw];
	return 1;
#else
	(void)f;
	(void)dw;
	(void)out;
	return 0;
#endif
}

/*
 * The lowest address a saved frame pointer of the frame @f may be read
 * at. The stack pointer, but in the interrupted frame on x86-64, whose
 * epilogue may have popped the register already while its rows still
 * say "saved at CFA - 16" (GCC emits no restore after a pop): the slot
 * is then below sp, in the 128-byte red zone, which the kernel leaves
 * alone when it delivers a signal on this stack, and holds the value
 * popped. Only in the page that holds sp (mapped: the thread runs on
 * it), as the stack below may not be.
 */
static uintptr_t fp_floor(const struct frame *f)
{
#if defined(__x86_64__)
	uintptr_t page = f->sp & ~(uintptr_t)4095;

	if (f->uc && f->sp >= 128)
		return f->sp - 128 > page ? f->sp - 128 : page;
#endif
	return f->sp;
}

/*
 * One step by a REGS row (cfi.h), in the interrupted frame only: the CFA
 * from any register of its context plus N, the caller's sp the CFA or a
 * register, the return address and frame pointer in registers or at
 * the CFA plus an offset. glibc's __longjmp: the caller is the frame
 * that called setjmp (pc, sp and fp already loaded from the jmp_buf),
 * which the CFA (the jmp_buf) need not lie on the stack for. The new sp
 * must lie in [sp, top]; words are read only inside the stack. Taken
 * once a walk (f->uc is cleared), so the walk still ends.
 */
static int step_regs(const struct shmstat_cfirow *r, struct frame *f, uintptr_t top)
{
	unsigned cfa_off = (unsigned)SHMSTAT_CFA_OFF(r->cfa);
	unsigned spr = SHMSTAT_CFA_REGS_SP(cfa_off);
	uintptr_t cfa, sp, ra, fp = f->fp;
	int fp_ok = f->fp_ok;

	if (!reg_of(f, SHMSTAT_CFA_REGS_REG(cfa_off), &cfa))
		return 0;
	cfa += SHMSTAT_CFA_REGS_N(cfa_off);
	sp = cfa;
	if (spr && !reg_of(f, spr - 1, &sp))
		return 0;
	if (sp < f->sp || sp > top)
		return 0;
	if (SHMSTAT_CFI_IS_INREG(r->ra)) {
		if (!reg_of(f, SHMSTAT_CFI_REGNO(r->ra), &ra))
			return 0;
	} else if (r->ra % 8 != 0 || !load(cfa + (uintptr_t)(intptr_t)r->ra, f->sp, top, &ra)) {
		return 0;
	}
	if (SHMSTAT_CFI_IS_INREG(r->fp))
		fp_ok = reg_of(f, SHMSTAT_CFI_REGNO(r->fp), &fp);
	else if (r->fp == SHMSTAT_CFI_UNKNOWN)
		fp_ok = 0;
	else if (r->fp != SHMSTAT_CFI_SAME)
		fp_ok = load(cfa + (uintptr_t)(intptr_t)r->fp, fp_floor(f), top, &fp);
	if (r->cfa & SHMSTAT_CFA_SIGNED)
		ra = strip_pac(ra);
	f->pc = ra;
	f->sp = sp;
	f->fp = fp;
	f->fp_ok = (unsigned)fp_ok;
	f->sp_exact = 1;
	f->lr_ok = 0;
	f->pc_exact = 0;
	return 1;
}

/*
 * One step by unwind-table row @r: the CFA from the stack or frame
 * pointer, the return address from the stack at CFA + r->ra (or, in the
 * interrupted frame on arm64, from x30), the caller's frame pointer from
 * CFA + r->fp when this frame saved it. The CFA must lie at or above the
 * stack pointer and at most at @top; every read inside [sp, top). Return
 * 0 when the step cannot be taken.
 */
int shmstat__unwind_row(const struct shmstat_cfirow *r, struct frame *f, uintptr_t top)
{
	uintptr_t cfa, ra, fp = f->fp;
	int kind = SHMSTAT_CFA_KIND(r->cfa);
	uintptr_t off = (uintptr_t)(intptr_t)SHMSTAT_CFA_OFF(r->cfa);

	if (kind == SHMSTAT_CFA_SIGFRAME)
		return 0;               /* the caller's (it knows the stacks) */
	if (kind == SHMSTAT_CFA_REGS)
		return step_regs(r, f, top);
	if (kind == SHMSTAT_CFA_FP) {
		if (!f->fp_ok)
			return 0;
		cfa = f->fp + off;
	} else {
		if (!f->sp_exact)
			return 0;
		cfa = f->sp + off;
		if (kind == SHMSTAT_CFA_PLT && (f->pc & 15) >= (uintptr_t)SHMSTAT_CFA_AUX(r->cfa))
			cfa += 8;
	}
	/* the caller's frame lies above: no step down, none past the top */
	if (cfa < f->sp || cfa > top)
		return 0;
	if (r->ra == SHMSTAT_CFI_SAME) {
		/* in the link register: the interrupted frame only, once */
		if (!f->lr_ok)
			return 0;
		ra = f->lr;
	} else if (r->ra == SHMSTAT_CFI_UNDEF || r->ra == SHMSTAT_CFI_UNKNOWN ||
		   cfa == f->sp || !load(cfa + (uintptr_t)(intptr_t)r->ra, f->sp, top, &ra)) {
		/* the outermost frame, no rule, no progress, or outside the
		 * stack */
		return 0;
	}
	if (r->fp == SHMSTAT_CFI_UNKNOWN)
		f->fp_ok = 0;
	else if (r->fp != SHMSTAT_CFI_SAME)
		f->fp_ok = (unsigned)load(cfa + (uintptr_t)(intptr_t)r->fp, fp_floor(f), top, &fp);
	if (r->cfa & SHMSTAT_CFA_SIGNED)
		ra = strip_pac(ra);
	f->pc = ra;
	f->sp = cfa;
	f->fp = fp;
	f->sp_exact = 1;
	f->lr_ok = 0;
	f->pc_exact = 0;
	return 1;
}

/* One step by the frame record {saved fp, return address} at fp, which
 * must lie at or above the stack pointer (so each record above the one
 * before) and inside the stack. */
int shmstat__unwind_fp(struct frame *f, uintptr_t top)
{
	uintptr_t next, ret;

	if (!f->fp_ok || f->fp < f->sp || !load(f->fp, f->sp, top, &next) ||
	    !load(f->fp + sizeof(uintptr_t), f->sp, top, &ret))
		return 0;
	f->pc = strip_pac(ret);
	f->sp = f->fp + 2 * sizeof(uintptr_t);
	f->fp = next;
#if defined(__x86_64__)
	f->sp_exact = 1;               /* push rbp; mov rsp, rbp */
#else
	f->sp_exact = 0;               /* the record may sit anywhere in the frame */
#endif
	f->lr_ok = 0;
	f->pc_exact = 0;
	return 1;
}
