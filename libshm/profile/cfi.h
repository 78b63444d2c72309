/*
 * cfi.h - unwind tables for the profiler's signal handler.
 *
 * The tables that make C++ exceptions work (.eh_frame, indexed by
 * .eh_frame_hdr) say for every pc of a function how to find its caller:
 * where the Canonical Frame Address (CFA, the stack pointer before the
 * call) is, and where the return address and the caller's registers were
 * saved relative to it. Every module has them in memory (a PT_LOAD
 * segment, found through PT_GNU_EH_FRAME), the vDSO included, built with
 * or without frame pointers.
 *
 * They are byte code (DW_CFA_* instructions) to be run from the start of
 * a function up to the pc: too slow, and too much parsing of untrusted
 * bytes, for a signal handler. So they are run here, OUTSIDE the handler
 * (profiler start, heartbeat after a dlopen), into a compact table:
 *
 *   row:     12 bytes, sorted by pc within the module
 *     pc     offset of the first byte it covers, from the module's lo
 *     cfa    how to compute the CFA: (offset << 8) | (aux << 4) | kind
 *              kind SHMSTAT_CFA_SP:  sp + offset
 *              kind SHMSTAT_CFA_FP:  fp + offset
 *              kind SHMSTAT_CFA_PLT: sp + offset, + 8 when (pc & 15) >= aux
 *                                    (the x86-64 PLT's expression)
 *              kind SHMSTAT_CFA_SIGFRAME: the word at sp + offset
 *                                    (a signal frame's saved registers:
 *                                    ra and fp below are then sp + ra,
 *                                    sp + fp, not CFA + ...); aux
 *                                    SHMSTAT_CFA_AUX_SIGNAL in a signal
 *                                    trampoline (augmentation S): the
 *                                    caller's pc is where it was
 *                                    interrupted, not a return address
 *              kind SHMSTAT_CFA_REGS: the CFA, the caller's sp, ra
 *                                    or fp in registers the walk knows
 *                                    only in the interrupted frame
 *                                    (its context): offset
 *                                    SHMSTAT_CFA_REGS_MAKE(cfa register,
 *                                    sp rule, N), CFA = register + N,
 *                                    the caller's sp = the CFA (sp
 *                                    rule 0) or register (rule - 1);
 *                                    ra and fp may be
 *                                    SHMSTAT_CFI_INREG(register).
 *                                    glibc's x86-64 __longjmp (CFA =
 *                                    rdi, rsp in r8, rbp in r9, rip in
 *                                    rdx) and _dl_runtime_resolve
 *                                    (CFA = rbx + 32, the stack
 *                                    realigned). In a caller's frame
 *                                    the handler falls back to the
 *                                    frame pointer, as for NONE
 *              kind SHMSTAT_CFA_NONE: no row here (a gap between
 *                                    functions, or a rule not kept): the
 *                                    handler falls back to the frame
 *                                    pointer
 *              SHMSTAT_CFA_SIGNED (bit 3): the return address is signed
 *                                    (arm64 pointer authentication)
 *     ra     where the return address is: CFA + ra (a multiple of 8), or
 *            SHMSTAT_CFI_SAME (still in its register: arm64's x30, for
 *            the interrupted frame), SHMSTAT_CFI_UNDEF (none: the
 *            outermost frame), SHMSTAT_CFI_UNKNOWN, or (REGS rows)
 *            SHMSTAT_CFI_INREG(n): in register n
 *     fp     where the caller's frame pointer is: CFA + fp, or
 *            SHMSTAT_CFI_SAME (not changed), SHMSTAT_CFI_UNKNOWN,
 *            SHMSTAT_CFI_INREG(n) (REGS rows)
 *
 * Only what a walk needs is kept (the CFA, the return address and the
 * frame pointer; the stack pointer when it is in a register); rules the
 * table cannot express (DWARF expressions but the PLT's, registers
 * saved at offsets from other registers) give a NONE row, so the
 * handler takes the frame pointer there as it did before the tables.
 * The DWARF expressions of glibc's x86-64 signal trampoline (__restore_rt:
 * CFA = *(rsp + N), every register saved at rsp + M) are kept as
 * SIGFRAME rows: without them a walk from a signal handler lost the
 * frames of the code the signal interrupted.
 * Consecutive rows with the same rules are merged.
 *
 * The parser reads only inside the one region it is given (the PT_LOAD
 * segment holding .eh_frame_hdr; .eh_frame must lie in it too), checks
 * every length, offset and LEB128 against it, and bounds every loop by
 * the bytes it consumes: corrupt tables give fewer rows, never a read
 * outside the region (tests/prof/test_cfi.c mutates real tables at
 * random under ASan, and compares the rows of libc, the vDSO and the test
 * program with elfutils' libdw).
 *
 * A process's table of the rows of every module, and the handler's
 * lookup in it, are in cfitab.h.
 */
#ifndef SHMSTAT_CFI_H
#define SHMSTAT_CFI_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SHMSTAT_CFA_NONE 0
#define SHMSTAT_CFA_SP 1
#define SHMSTAT_CFA_FP 2
#define SHMSTAT_CFA_PLT 3
#define SHMSTAT_CFA_SIGFRAME 4
#define SHMSTAT_CFA_REGS 5
#define SHMSTAT_CFA_AUX_SIGNAL 1   /* SIGFRAME's aux: the caller's pc is exact */
#define SHMSTAT_CFA_KIND(c) ((c) & 7)
#define SHMSTAT_CFA_SIGNED 8
#define SHMSTAT_CFA_AUX(c) (((c) >> 4) & 15)
#define SHMSTAT_CFA_OFF(c) ((c) / 256)        /* arithmetic: the offset may be < 0 */
#define SHMSTAT_CFA_MAKE(kind, aux, off) ((int32_t)((uint32_t)(off) << 8) | (int32_t)((aux) << 4) | (int32_t)(kind))

/* A REGS row's offset: the CFA's register (< 64), the sp rule (0: the
 * CFA; n + 1: register n, n < 63) and N (0 <= N < 2048). */
#define SHMSTAT_CFA_REGS_MAKE(reg, sp, n) ((int32_t)(reg) | (int32_t)((sp) << 6) | (int32_t)((uint32_t)(n) << 12))
#define SHMSTAT_CFA_REGS_REG(off) ((unsigned)(off) & 63)
#define SHMSTAT_CFA_REGS_SP(off) (((unsigned)(off) >> 6) & 63)
#define SHMSTAT_CFA_REGS_N(off) ((unsigned)(off) >> 12)

#define SHMSTAT_CFI_SAME 1
#define SHMSTAT_CFI_UNDEF 2
#define SHMSTAT_CFI_UNKNOWN 3
/* ra, fp: in register n (< 4096) of the interrupted frame (REGS rows);
 * never a multiple of 8, as offsets are */
#define SHMSTAT_CFI_INREG(n) ((int16_t)(((n) << 3) | 4))
#define SHMSTAT_CFI_IS_INREG(v) ((v) > 0 && ((v) & 7) == 4)
#define SHMSTAT_CFI_REGNO(v) ((unsigned)(v) >> 3)

struct shmstat_cfirow {
	uint32_t pc;
	int32_t cfa;
	int16_t ra;
	int16_t fp;
};

/* DWARF register numbers of an architecture (parser input, so that the
 * tests parse arm64 tables on x86-64 too). */
struct shmstat_cfiarch {
	unsigned sp, fp, ra;
	int arm64;                 /* DW_CFA_AARCH64_negate_ra_state */
};
SHMSTAT_HIDDEN extern const struct shmstat_cfiarch shmstat__cfi_x86_64, shmstat__cfi_arm64;

/* One module's tables, as the parser sees them. */
struct shmstat_cfisrc {
	const unsigned char *mem;  /* readable bytes [mem, mem + len) */
	size_t len;
	uintptr_t addr;            /* the address mem[0] has in the module */
	uintptr_t hdr;             /* address of .eh_frame_hdr, in [addr, addr + len);
				    * 0: none, .eh_frame is walked instead */
	uintptr_t frame;           /* without hdr: .eh_frame, frame_len bytes */
	size_t frame_len;
	uintptr_t lo, hi;          /* the module's code: rows outside are dropped */
	const struct shmstat_cfiarch *arch;
};

/* Rows being collected (outside the handler: malloc). */
struct shmstat_cfibuf {
	struct shmstat_cfirow *rows;
	size_t n, cap;
	int oom;
};

/* Statistics of one parse, for the tests. */
struct shmstat_cfistats {
	uint32_t fdes, fdes_used, cies_bad, fdes_bad;
};

/*
 * shmstat__cfi_parse - append to @b the rows of module @src (pcs relative
 * to src->lo, sorted, ending in a NONE row). Return the number of rows
 * added; 0 when the module has no usable table. Reads only inside
 * [src->mem, src->mem + src->len). @st may be NULL.
 */
SHMSTAT_HIDDEN size_t shmstat__cfi_parse(const struct shmstat_cfisrc *src, struct shmstat_cfibuf *b,
					 struct shmstat_cfistats *st);

struct dl_phdr_info;

/*
 * shmstat__cfi_frame_of - where .eh_frame of loaded module @info is, from
 * the section headers of its file, for a module without .eh_frame_hdr
 * (GCC links static executables without one): 0, or -1 when the file
 * cannot be read, is not the one loaded (other program headers) or has
 * no such section. Outside signal handlers (it opens the file).
 */
SHMSTAT_HIDDEN int shmstat__cfi_frame_of(const struct dl_phdr_info *info, uintptr_t *addr,
					 size_t *len);

#endif
