/*
 * profiler.c - sampling profiler and latency stacks (see profiler.h).
 *
 * It is longer than 1,000 lines: the signal handler, the walk it runs
 * (its steps by a row or a frame pointer are in unwind.c), the
 * per-thread timers that send its signal and the gate that quiesces it
 * share file-static state (run_gen, own_gen, gate,
 * inflight, the unwind tables), so that all a handler may touch is in
 * one file and nothing of it is reachable from outside.
 */
#include <dirent.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <ucontext.h>

#include "shmstat_inline.h"
#include "tls.h"
#include "type.h"
#include "cfitab.h"
#include "hook.h"
#include "modmap.h"
#include "profiler.h"
#include "shmstat_profile.h"
#include "stacks.h"
#include "unwind.h"

/* glibc: the main thread's stack top at process start (its name)
 * NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
extern void *__libc_stack_end;

unsigned shmstat__prof_latency_every;

/* The process's profiler. The handler reads seg, tab, n, tag and period
 * only after it passed the gate, which start opens after setting them
 * and stop closes before anything changes. */
static struct {
	pthread_mutex_t lock;      /* start, stop, latency, modules */
	struct shmstat_seg *seg;   /* sampling into, or NULL */
	struct shmstat_seg *lat_seg;   /* latency stacks into, or NULL */
	struct shmstat_hdr *hdr;
	struct shmstat_stackent *tab;
	uint32_t n;
	uint64_t tag;
	uint64_t period_ns;
	uint32_t mod_gen;          /* the module history's point (modmap.h)
				    * in seg, after its last publication */
	uintptr_t stack_max;       /* a thread's stack size by default */
	unsigned hz;
	/* module records published, per segment: the profiler's and the
	 * latency stacks' may differ */
	struct shmstat_modpub pub[2];
	struct shmstat_seg *pub_seg[2];
} prof = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* The executable ranges of the modules loaded, for the leaf heuristic:
 * taken at the start and again with each new unwind table (a module
 * unloaded since must not stay in: code mapped later into part of its
 * hole would let the heuristic read the rest). Two buffers: the one the
 * handlers read (text_cur, a release store) and the one rebuilt, which
 * is written only after no handler is in flight (under prof.lock). */
struct texts {
	uint32_t n;
	struct {
		uintptr_t lo, hi;
	} r[256];
};
static struct texts text_buf[2];
static struct texts *text_cur;
static int gate;                   /* 1: handlers may write */
static int inflight;               /* handlers past the gate */
/* The unwind tables of the modules loaded (cfi.h), or NULL: built and
 * replaced under prof.lock, published with a release store, read by
 * handlers past the gate; an old one is freed once no handler is in
 * flight. */
static struct shmstat_cfitab *cfi_tab;

/*
 * Per-thread CPU timers: timer_create(CLOCK_THREAD_CPUTIME_ID of the
 * thread) with SIGEV_THREAD_ID sends SIGPROF to that thread each 1/hz s
 * of its own CPU time, so each thread is sampled in proportion to the CPU
 * it used, whatever the kernel's choice of a thread for a process-wide
 * signal. The threads alive at the profiler start get one, and so does
 * each thread that first writes a segment afterwards (the core's
 * thread_start hook); one that exits deletes its own. The process timer
 * (timer_create(CLOCK_PROCESS_CPUTIME_ID), SIGEV_SIGNAL) keeps running
 * for the others: its signal is skipped in a thread that has its own
 * timer (this run's signal seen, or made by itself). The two kinds are
 * told apart by their signal value: run_gen for a thread's, -run_gen for
 * the process's. Not ITIMER_PROF: it survives execve(), which resets the
 * handler, and its signal then kills the new image; POSIX timers are
 * deleted at exec, and their pending signals flushed. The timer of a
 * thread that exits without deleting its own (one alive at the start:
 * no key of ours runs in it) is deleted by timers_prune: at the
 * heartbeat, by shmstat_profiler_info, and when the table has doubled
 * since the last pruning. A
 * leaf lock: taken under prof.lock or the thread table's lock, never the
 * other way round.
 */
#define PROF_TIMERS 1024
static struct {
	pthread_mutex_t lock;
	int on;                    /* this run uses per-thread timers */
	int proc_on;               /* the process timer runs */
	timer_t proc;              /* the process timer */
	struct timespec period;
	uint32_t n;
	uint32_t prune_at;         /* n at which timer_for prunes first */
	uint64_t proc_cpu0;        /* the process's CPU time at this run's start */
	struct {
		timer_t id;
		pid_t tid;
	} t[PROF_TIMERS];
} tmr = { .lock = PTHREAD_MUTEX_INITIALIZER };
static int run_gen;                /* this run's number, the timers' signal value */
static uint64_t skipped;           /* process timer signals skipped */
static pthread_key_t timer_key;
static pthread_once_t timer_once = PTHREAD_ONCE_INIT;
/* the run in which this thread's own timer fired (0: not yet), from
 * when the process timer's signals are skipped in it */
static __thread int own_gen __attribute__((tls_model("initial-exec")));
/* the run in which this thread made or took over a timer of its own
 * (0: none). Not own_gen: a thread that set that when it made its timer
 * skipped the process timer's signals from its start, and one that
 * used less than a period of CPU was never sampled */
static __thread int has_timer;
/* 1 while this thread runs the SIGPROF handler, which SIGPROF may
 * interrupt (SA_NODEFER): a nested signal is skipped, so a walk slower
 * than the period never nests deeper than once */
static __thread unsigned char in_sigprof __attribute__((tls_model("initial-exec")));
/* timer stops until the next stack (initial-exec: no __tls_get_addr on
 * the timer path) */
static __thread unsigned lat_left __attribute__((tls_model("initial-exec")));

/* The thread's CPU time (CLOCK_THREAD_CPUTIME_ID) at its last CPU sample,
 * in units of 1,024 ns (low 32 bits: differences are taken modulo 2^32,
 * 73 minutes of CPU), and the run it was taken in (high 32 bits): a
 * sample weighs the CPU the thread used since (sample_weight()). One
 * word: a dlopen() of the library must find room for its whole TLS block
 * in the static TLS glibc keeps spare (16 bytes more, with the error
 * message's array still in it, and test_dlclose's dlopen failed,
 * "cannot allocate memory in static TLS block"; tests/checks/tls_size.sh). */
static __thread uint64_t cpu_mark __attribute__((tls_model("initial-exec")));

/* The stack table's entry of this thread's last CPU sample, whose weight
 * its CPU after that sample is added to when it exits (weigh_tail()):
 * set with cpu_mark. LAST_NONE: no sample since the mark; UINT32_MAX:
 * the sample was dropped (shmstat__stack_add()). */
#define LAST_NONE (UINT32_MAX - 1)
static __thread uint32_t last_slot __attribute__((tls_model("initial-exec")));

/* Clock @clk in ns; UINT64_MAX when it cannot be read. Async-signal-safe. */
static uint64_t cpu_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) != 0)
		return UINT64_MAX;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* cpu_mark's word for run @g at thread CPU time @now (ns) */
static uint64_t mark_at(uint32_t g, uint64_t now)
{
	return (uint64_t)g << 32 | (uint32_t)(now >> 10);
}

/* Is @mark of run @g? */
static bool marked_in(uint64_t mark, uint32_t g)
{
	return (uint32_t)(mark >> 32) == g;
}

/* The thread CPU (ns, in 1,024 ns units) from mark @mark to @now;
 * UINT64_MAX when @mark is not of run @g. */
static uint64_t since_mark(uint64_t mark, uint32_t g, uint64_t now)
{
	if (!marked_in(mark, g))
		return UINT64_MAX;
	return (uint64_t)((uint32_t)(now >> 10) - (uint32_t)mark) << 10;
}

/* This thread's stack [lo, hi), learnt outside any handler (0: not yet).
 * Initial-exec: the handler's access allocates nothing. */
static __thread struct {
	uintptr_t lo, hi;
} tstack __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------------- unwinding */

/* The thread pointer: on x86-64 its first word points to itself. */
static inline uintptr_t thread_pointer(void)
{
	uintptr_t tp = 0;

#if defined(__x86_64__)
	__asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
#endif
	return tp;
}

/*
 * The end of the mapped stack above @sp, or 0 when it is not known:
 *   - this thread's own stack, when it was learnt (shmstat__prof_thread)
 *     and holds @sp;
 *   - an alternate signal stack holding @sp (@alt, from the context);
 *   - a thread whose bounds are not known: below its thread pointer by at
 *     most the default stack size (glibc puts the descriptor at the top of
 *     the block, so all of [sp, tp) is mapped when sp is in the block), or
 *     the main thread's stack below __libc_stack_end.
 * A known thread whose sp lies outside its stack (a coroutine) gets 0.
 */
static uintptr_t stack_top(uintptr_t sp, const stack_t *alt)
{
	uintptr_t tp = thread_pointer(), main_top = (uintptr_t)__libc_stack_end;
	uintptr_t max = ld_relaxed(&prof.stack_max);
	uintptr_t lo = ld_relaxed(&tstack.lo), hi = ld_relaxed(&tstack.hi);

	if (hi && sp >= lo && sp < hi)
		return hi;
	if (alt && !(alt->ss_flags & SS_DISABLE) && alt->ss_size > 0 &&
	    sp >= (uintptr_t)alt->ss_sp && sp - (uintptr_t)alt->ss_sp < alt->ss_size)
		return (uintptr_t)alt->ss_sp + alt->ss_size;
	if (hi)
		return 0;
	if (tp > sp && tp - sp <= max)
		return tp;
	if (main_top > sp && main_top - sp <= max)
		return main_top;
	return 0;
}

void shmstat__prof_thread(void)
{
	pthread_attr_t a;
	void *addr = NULL;
	size_t size = 0;

	if (ld_relaxed(&tstack.hi) != 0 || pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	if (pthread_attr_getstack(&a, &addr, &size) == 0 && size > 0) {
		st_relaxed(&tstack.lo, (uintptr_t)addr);
		/* a handler on this thread sees hi only with lo set */
		__atomic_signal_fence(__ATOMIC_RELEASE);
		st_relaxed(&tstack.hi, (uintptr_t)addr + size);
	}
	pthread_attr_destroy(&a);
}

int shmstat__prof_active(void)
{
	return __atomic_load_n(&gate, __ATOMIC_RELAXED) ||
	       ld_relaxed(&shmstat__prof_latency_every) != 0;
}

/*
 * One step through a signal frame (a SIGFRAME row: glibc's __restore_rt,
 * whose frame is the kernel's ucontext): the interrupted sp, pc and fp
 * are words at sp + the row's offsets, inside [sp, top). The interrupted
 * sp may lie on another stack (a handler on an alternate signal stack
 * interrupted the thread's own): then the walk goes on there, once, with
 * that stack's top (stack_top: a stack known to be mapped), when it
 * started on the alternate stack (f->switched is set otherwise). The pc
 * is where the code was interrupted, not a return address.
 */
static int step_sig(const struct shmstat_cfirow *r, struct frame *f, uintptr_t *topp)
{
	uintptr_t sp, pc, fp = f->fp, top = *topp;
	int fp_ok = f->fp_ok;

	if (!f->sp_exact ||
	    !load(f->sp + (uintptr_t)(intptr_t)SHMSTAT_CFA_OFF(r->cfa), f->sp, top, &sp) ||
	    r->ra < 0 || !load(f->sp + (uintptr_t)r->ra, f->sp, top, &pc))
		return 0;
	if (r->fp == SHMSTAT_CFI_UNKNOWN)
		fp_ok = 0;
	else if (r->fp != SHMSTAT_CFI_SAME)
		fp_ok = r->fp >= 0 && load(f->sp + (uintptr_t)r->fp, f->sp, top, &fp);
	if (sp <= f->sp || sp > top) {
		/* another stack: once a walk */
		if (f->switched || (top = stack_top(sp, NULL)) == 0 || top == *topp)
			return 0;
		f->switched = 1;
	}
	f->pc = pc;
	f->sp = sp;
	f->fp = fp;
	f->sp_exact = 1;
	f->fp_ok = (unsigned)fp_ok;
	f->lr_ok = 0;
	f->pc_exact = (SHMSTAT_CFA_AUX(r->cfa) & SHMSTAT_CFA_AUX_SIGNAL) != 0;
	*topp = top;
	return 1;
}

/*
 * Walk from frame @f, adding return addresses to @k after the @k->depth
 * frames already there: by the row of table @t for each pc where it has
 * one, by the frame pointer elsewhere (and for the first step when
 * @first_fp). Every step moves up the stack, so the walk ends: at the
 * outermost frame, at a step that cannot be taken, or after
 * SHMSTAT_STACK_SLOTS frames (truncated).
 */
__attribute__((no_sanitize_address, no_sanitize("thread")))
static void unwind(struct shmstat_stackkey *k, struct frame *f, uintptr_t top,
		   const struct shmstat_cfitab *t, int first_fp)
{
	for (;;) {
		const struct shmstat_cfirow *r = NULL;

		if (t && !first_fp)
			r = shmstat__cfi_find(t, f->pc_exact ? f->pc : f->pc - 1);
		/* a REGS row in a caller's frame: its registers are not known */
		if (r && SHMSTAT_CFA_KIND(r->cfa) == SHMSTAT_CFA_REGS && f->uc == NULL)
			r = NULL;
		first_fp = 0;
		if (r && SHMSTAT_CFA_KIND(r->cfa) == SHMSTAT_CFA_SIGFRAME ? !step_sig(r, f, &top)
		    : r ? !shmstat__unwind_row(r, f, top) : !shmstat__unwind_fp(f, top))
			return;
		f->uc = NULL;
		if (f->pc < 4096)
			return;
		if (k->depth == SHMSTAT_STACK_SLOTS) {
			k->flags |= SHMSTAT_STACK_F_TRUNCATED;
			return;
		}
		/* readers look every frame but the leaf up at its address
		 * - 1, a return address's call; the pc a signal interrupted
		 * (below a signal frame) is the instruction itself, whose
		 * address - 1, at a function's first instruction, lies in the
		 * function before: kept as pc + 1 (format.md) */
		k->pcs[k->depth++] = f->pc + (f->pc_exact ? 1 : 0);
	}
}

/*
 * The caller of a function that set up no frame (a leaf: GCC gives none
 * to leaves that need no stack, even with -fno-omit-frame-pointer) is not
 * in the frame chain: its return address is the word at sp. Take that word
 * when it is one: it points into the same executable range as @pc (so
 * into a module that is mapped: the thread runs in it), right after a
 * direct call (E8 rel32) whose target lies at or below @pc, less than
 * 1 MiB below. Calls between modules go through the PLT and are not
 * recognized (the caller is then missing, as without the heuristic).
 */
__attribute__((no_sanitize_address, no_sanitize("thread")))
static uintptr_t leaf_caller(uintptr_t pc, uintptr_t sp, uintptr_t top)
{
#if defined(__x86_64__)
	const struct texts *tx = ld_acquire(&text_cur);
	uintptr_t ret, target;
	int32_t rel;

	if (tx == NULL || sp % sizeof(uintptr_t) != 0 || top - sp < sizeof(uintptr_t))
		return 0;
	/* addresses from registers and the stack, checked against the
	 * thread's stack and the code loaded: casts are what this does */
	ret = *(const uintptr_t *)sp;   /* NOLINT(performance-no-int-to-ptr) */
	for (uint32_t i = 0; i < tx->n; i++) {
		if (pc < tx->r[i].lo || pc >= tx->r[i].hi)
			continue;
		if (ret < tx->r[i].lo + 5 || ret > tx->r[i].hi)
			return 0;
		if (*(const unsigned char *)(ret - 5) != 0xe8)   /* NOLINT(performance-no-int-to-ptr) */
			return 0;
		memcpy(&rel, (const void *)(ret - 4), sizeof(rel));   /* NOLINT(performance-no-int-to-ptr) */
		target = ret + (uintptr_t)(intptr_t)rel;
		return target <= pc && pc - target < ((uintptr_t)1 << 20) ? ret : 0;
	}
#else
	(void)pc;
	(void)sp;
	(void)top;
#endif
	return 0;
}

/*
 * The return address at @sp, when the function interrupted there has no
 * row and set up no frame (a leaf: its return address is the word at sp)
 * and its caller has a row: a callback built without unwind tables
 * (-fno-asynchronous-unwind-tables) called through a pointer by libc's
 * qsort, or one without rows called directly (leaf_caller's word: the
 * walk goes on from it by its rows). The word must be an address inside
 * code the table has a row for (at the address before it: the call).
 * The code is not read: the word may point into a module unloaded since
 * the table was built. 0 when not so.
 */
__attribute__((no_sanitize_address, no_sanitize("thread")))
static uintptr_t leaf_return(uintptr_t sp, uintptr_t top, const struct shmstat_cfitab *t)
{
	uintptr_t ret;

	if (!load(sp, sp, top, &ret) || ret < 4096 || !shmstat__cfi_find(t, ret - 1))
		return 0;
	return ret;
}

static int add_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct texts *tx = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum && tx->n < 256; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz > 0) {
			tx->r[tx->n].lo = info->dlpi_addr + ph->p_vaddr;
			tx->r[tx->n].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			tx->n++;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- handler */

/*
 * The weight of a CPU sample: the CPU time this thread used since its
 * last sample of this run. Not one period: the kernel looks at CPU timers
 * at its tick and sends one signal for all the periods that passed (none
 * more while it is pending or blocked), so at 997 Hz on a kernel ticking
 * at 250 Hz a sample stood for about 4 periods, and 2.68 s of CPU weighed
 * 0.60 s. Nor the period times the timer's overruns: the process timer's
 * carry the whole process's periods into the one thread it interrupts.
 * The thread's first sample of a run weighs what it used before, at most
 * one period (a thread may have run for hours before the profiler),
 * unless mark_new_thread() marked it (a thread made since the start).
 * clock_gettime() is async-signal-safe.
 */
static uint64_t sample_weight(void)
{
	const uint32_t g = (uint32_t)ld_relaxed(&run_gen);
	const uint64_t now = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t w;

	if (now == UINT64_MAX)
		return prof.period_ns;
	w = since_mark(cpu_mark, g, now);
	if (w == UINT64_MAX)
		w = now < prof.period_ns ? now : prof.period_ns;
	cpu_mark = mark_at(g, now);
	return w;
}

static void on_sigprof(int sig, siginfo_t *si, void *ucv);

/*
 * Has this thread's own timer gone silent: no sample for more than
 * OWN_SILENT_NS of its CPU (and two periods)? Then the process timer's
 * signals are taken in it again. On this project's machine (Linux 6.18,
 * HZ=250) a thread's CPU timer sometimes stops for good: it reads as
 * expired (1 ns left) and sends nothing more, whether re-armed or made
 * anew, and the thread then had no sample for the rest of its life (6 of
 * 40 threads of 800 ms of CPU, 8 at a time, each with its own timer at
 * 1 kHz; 0 to 18 in 100 threads of 50 ms next to one other running
 * thread; none with one thread at a time; docs/profiling.md). A silent
 * timer cannot be told from a working one but by its signals. The weight
 * stays the CPU since the last sample, so nothing is counted twice.
 * Async-signal-safe.
 */
#define OWN_SILENT_NS 25000000u
static bool own_silent(uint32_t g)
{
	const uint64_t now = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	const uint64_t lim = 2 * prof.period_ns > OWN_SILENT_NS ? 2 * prof.period_ns : OWN_SILENT_NS;

	/* no mark of this run, or no clock: taken */
	return now == UINT64_MAX || since_mark(cpu_mark, g, now) > lim;
}

#if defined(__x86_64__)
/* Signal @sig's handler now (0: default, ignored or unknown), from the
 * kernel: rt_sigaction(2) without libc's wrapper or a sanitizer's
 * interceptor (async-signal-safe), into the kernel's struct sigaction
 * (x86-64: handler, flags, restorer, mask). Asked at the sample, not
 * noted beforehand: a handler installed after the profiler started is
 * the one the kernel ran. */
static uintptr_t handler_now(uintptr_t sig)
{
	struct {
		uintptr_t handler;
		unsigned long flags;
		uintptr_t restorer;
		uint64_t mask;
	} k;
	const int e = errno;
	uintptr_t h = 0;

	if (syscall(SYS_rt_sigaction, (int)sig, NULL, &k, sizeof(k.mask)) == 0)
		h = k.handler > 1 ? k.handler : 0;
	errno = e;
	return h;
}
#endif

/*
 * Is the code interrupted with context @uc and stack pointer @sp at a
 * signal handler's first instruction, as the kernel sets it up (x86-64):
 * the word at @sp a return into a signal trampoline (a SIGFRAME row of
 * the tables), @arg (rdx, the third argument) the ucontext right above
 * it, and the other registers as the kernel left them? Words are read
 * inside [@sp, @top) only. Async-signal-safe.
 */
__attribute__((no_sanitize_address, no_sanitize("thread")))
static bool handler_entry(const ucontext_t *uc, uintptr_t sp, uintptr_t arg, uintptr_t top)
{
#if defined(__x86_64__)
	const struct shmstat_cfitab *t = ld_acquire(&cfi_tab);
	const struct shmstat_cfirow *r;
	const uintptr_t sig = (uintptr_t)uc->uc_mcontext.gregs[REG_RDI];
	const uintptr_t info = (uintptr_t)uc->uc_mcontext.gregs[REG_RSI];
	uintptr_t ret, pc;

	/* what the kernel sets (x86's setup_rt_frame): rip the handler of
	 * the signal in rdi, rax 0, rsi its siginfo above the ucontext
	 * (written only for SA_SIGINFO handlers: its si_signo is not
	 * checked). Without the pc, a frameless handler that changed none
	 * of the four registers (a leaf spinning on a flag that reads 0
	 * into eax) had all its samples taken as the code it interrupted;
	 * now only those at its first instruction. The pc is compared last,
	 * with the handler the kernel holds now: one system call, only for
	 * a sample that has everything else of a handler's entry (those at
	 * an entry, and each of a frameless handler's as above). */
	if (t == NULL || arg != sp + sizeof(uintptr_t) || uc->uc_mcontext.gregs[REG_RAX] != 0 ||
	    sig == 0 || sig >= NSIG || sig == SIGPROF || info <= arg || info >= top ||
	    !load(sp, sp, top, &ret) || ret < 4096)
		return false;
	r = shmstat__cfi_find(t, ret - 1);
	if (r == NULL || SHMSTAT_CFA_KIND(r->cfa) != SHMSTAT_CFA_SIGFRAME)
		return false;
	pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	return pc == handler_now(sig);
#else
	(void)uc;
	(void)sp;
	(void)arg;
	(void)top;
	return false;
#endif
}

/*
 * The context to sample for a SIGPROF whose handler got @uc. A thread's
 * own timer and the process timer expire at the same tick: the kernel
 * sets up the frame of one SIGPROF and, SIGPROF unblocked in the handler
 * (SA_NODEFER), delivers the other at once, interrupting the first
 * handler at its first instruction. Its pc is then on_sigprof itself and
 * its third argument (rdi, rsi, rdx; x0..x2) the first one's ucontext,
 * which holds the code both interrupted: that context is sampled, not
 * the handler (each thread's first sample was "on_sigprof <- the signal
 * trampoline <- the code": 55% of the samples of threads of 7 ms of CPU;
 * tests/prof/test_sigprof_entry.c). The pointer is taken only when the
 * whole ucontext lies on the stack above the interrupted sp, where the
 * kernel puts it.
 *
 * The same at the entry of any other handler (x86-64): a signal sent
 * while SIGPROF was pending (raise(), a timer's SIGALRM) has a lower
 * number and is set up first, so the SIGPROF interrupted its handler
 * before it ran an instruction, and the CPU the sample stands for (the
 * kill system call, the delivery) went to that handler: 12% of the
 * samples of a loop of raise(SIGUSR1), where perf puts them in
 * pthread_kill. Such an entry is told by what the kernel leaves there:
 * the return address at sp is a signal trampoline (a SIGFRAME row), and
 * rdx, the handler's third argument, points at its ucontext right above
 * it; the sample is taken in the context that handler got (at most
 * SIGCTX_MAX such frames, each higher up the stack).
 */
#define SIGCTX_MAX 8
__attribute__((no_sanitize_address, no_sanitize("thread")))
static ucontext_t *sample_context1(ucontext_t *uc)
{
#if defined(__x86_64__) || defined(__aarch64__)
#if defined(__x86_64__)
	const uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	const uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	const uintptr_t arg = (uintptr_t)uc->uc_mcontext.gregs[REG_RDX];
#else
	const uintptr_t pc = (uintptr_t)uc->uc_mcontext.pc;
	const uintptr_t sp = (uintptr_t)uc->uc_mcontext.sp;
	const uintptr_t arg = (uintptr_t)uc->uc_mcontext.regs[2];
#endif
	uintptr_t top;

	if (arg % sizeof(uintptr_t) != 0 || arg <= sp ||
	    (top = stack_top(sp, &uc->uc_stack)) == 0 || arg >= top ||
	    top - arg < sizeof(ucontext_t) ||
	    (pc != (uintptr_t)on_sigprof && !handler_entry(uc, sp, arg, top)))
		return uc;
	return (ucontext_t *)arg;   /* NOLINT(performance-no-int-to-ptr) */
#else
	return uc;
#endif
}

static ucontext_t *sample_context(ucontext_t *uc)
{
	for (int i = 0; i < SIGCTX_MAX; i++) {
		ucontext_t *up = sample_context1(uc);

		if (up == uc)
			break;
		uc = up;
	}
	return uc;
}

static void on_sigprof(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno;
	ucontext_t *uc = ucv;
	struct shmstat_stackkey k;
	struct frame f = { .sp_exact = 1, .fp_ok = 1, .pc_exact = 1 };
	uintptr_t top;

	(void)sig;
	if (!__atomic_load_n(&gate, __ATOMIC_SEQ_CST))
		goto out;
	if (__atomic_load_n(&in_sigprof, __ATOMIC_RELAXED)) {
		/* in this thread's handler: its walk goes on */
		__atomic_fetch_add(&skipped, 1, __ATOMIC_RELAXED);
		goto out;
	}
	__atomic_store_n(&in_sigprof, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_fetch_add(&inflight, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&gate, __ATOMIC_SEQ_CST))
		goto leave;
	SHMSTAT_HOOK(SHMSTAT_HOOK_SIGPROF, NULL);
	if (si && si->si_code == SI_TIMER) {
		int v = si->si_value.sival_int, g = ld_relaxed(&run_gen);

		if (v == g) {
			/* this thread's own timer's. Its first signal covers
			 * the CPU since the timer was made, which the process
			 * timer sampled (its signals are taken in this thread
			 * until now): skipped, so that it is not counted
			 * twice, if the process timer took a sample in this
			 * thread. If not, taken: a thread of a few ms of CPU
			 * may have no later signal (the tick's granularity),
			 * and its CPU then weighed nothing */
			if (ld_relaxed(&own_gen) != g) {
				st_relaxed(&own_gen, g);
				if (marked_in(cpu_mark, (uint32_t)g) && last_slot != LAST_NONE) {
					__atomic_fetch_add(&skipped, 1, __ATOMIC_RELAXED);
					goto leave;
				}
			}
		} else if (v == -g) {
			/* the process timer's: skipped in a thread its own
			 * timer samples, unless that timer went silent */
			if (ld_relaxed(&own_gen) == g && !own_silent((uint32_t)g)) {
				__atomic_fetch_add(&skipped, 1, __ATOMIC_RELAXED);
				goto leave;
			}
		} else {
			/* a timer of an earlier run, being deleted */
			goto leave;
		}
	}
	uc = sample_context(uc);
#if defined(__x86_64__)
	f.uc = uc;
	f.pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	f.sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	f.fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
	f.uc = uc;
	f.pc = (uintptr_t)uc->uc_mcontext.pc;
	f.sp = (uintptr_t)uc->uc_mcontext.sp;
	f.fp = (uintptr_t)uc->uc_mcontext.regs[29];
	f.lr = (uintptr_t)uc->uc_mcontext.regs[30];
	f.lr_ok = 1;
#else
	(void)uc;
#endif
	/* no pc: an architecture this file does not read registers of */
	/* cppcheck-suppress knownConditionTrueFalse */
	if (f.pc == 0)
		goto leave;
	k.kind = SHMSTAT_STACK_CPU;
	/* which of the module records were loaded: readers pick the
	 * module of each frame by it */
	k.metric = ld_relaxed(&prof.mod_gen);
	k.flags = 0;
	k.depth = 1;
	k.pcs[0] = f.pc;
	top = stack_top(f.sp, &uc->uc_stack);
	/* only a walk that starts on the alternate signal stack may go on to
	 * another stack (step_sig): a signal frame on the thread's own stack
	 * saved an sp on that stack, and one that points elsewhere is not a
	 * signal frame (a stack word that only looks like a return into
	 * __restore_rt), whose sp could lie anywhere below the thread pointer */
	f.switched = !(top && !(uc->uc_stack.ss_flags & SS_DISABLE) &&
		       top == (uintptr_t)uc->uc_stack.ss_sp + uc->uc_stack.ss_size);
	if (top) {
		const struct shmstat_cfitab *t = ld_acquire(&cfi_tab);

		if (t && shmstat__cfi_find(t, f.pc)) {
			unwind(&k, &f, top, t, 0);
		} else {
			/* no row for the pc: the frame pointer as before the
			 * tables, with the leaf heuristic's caller */
			uintptr_t caller, ret = 0;
			struct frame g = f;

			unwind(&k, &f, top, t, 1);
			/* the heuristic's caller is that same word: taken
			 * alone, it ended the stack there when the frame
			 * pointer led nowhere (a leaf without rows called
			 * directly from code whose rbp holds data) */
			if (k.depth == 1 && t)
				ret = leaf_return(g.sp, top, t);
			if (ret) {
				/* nothing by the frame pointer: a leaf without a
				 * row below a caller with one, walked on by its rows */
				g.pc = ret;
				g.sp += sizeof(uintptr_t);
				g.uc = NULL;
				g.pc_exact = 0;
				k.pcs[k.depth++] = ret;
				unwind(&k, &g, top, t, 0);
			} else if ((caller = leaf_caller(g.pc, g.sp, top)) != 0 &&
				   (k.depth < 2 || k.pcs[1] != caller)) {
				if (k.depth == SHMSTAT_STACK_SLOTS) {
					k.depth--;
					k.flags |= SHMSTAT_STACK_F_TRUNCATED;
				}
				memmove(&k.pcs[2], &k.pcs[1], (k.depth - 1) * sizeof(k.pcs[0]));
				k.pcs[1] = caller;
				k.depth++;
			}
		}
	}
	{
		const uint64_t w = sample_weight();

		last_slot = shmstat__stack_add(prof.hdr, prof.tab, prof.n, prof.tag, &k, 1, w);
	}
leave:
	__atomic_fetch_sub(&inflight, 1, __ATOMIC_SEQ_CST);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&in_sigprof, 0, __ATOMIC_RELAXED);
out:
	errno = saved;
}

/* -------------------------------------------------------- latency stacks */

void shmstat__prof_latency(struct shmstat_counter *h, uint64_t ns, uintptr_t ret, uintptr_t fp,
			   uintptr_t sp)
{
	struct shmstat_seg *seg = h->seg;
	unsigned every = ld_relaxed(&shmstat__prof_latency_every);
	struct shmstat_stackkey k;
	uintptr_t top;

	/* timers of other segments do not count towards 1 in every */
	if (every == 0 || seg == NULL || seg != ld_acquire(&prof.lat_seg) ||
	    seg->stacks == NULL || h->epoch != seg->epoch)
		return;
	if (lat_left-- > 1)
		return;
	lat_left = every;
	shmstat__prof_thread();        /* once per thread: its stack's bounds */
	k.kind = SHMSTAT_STACK_LATENCY;
	k.metric = h->off + 1;
	k.flags = SHMSTAT_STACK_F_RETLEAF;
	k.depth = 1;
	k.pcs[0] = ret;
	/* the walk reads [sp, top) only: sp is the timer's own frame, on
	 * this stack; fp, the caller's, may be anything */
	top = stack_top(sp, NULL);
	if (top) {
		/* frame pointers only: the tables may be replaced meanwhile,
		 * and only handlers are waited for */
		struct frame f = { .pc = ret, .sp = sp, .fp = fp, .fp_ok = 1 };

		unwind(&k, &f, top, NULL, 1);
	}
	shmstat__stack_add(seg->hdr, seg->stacks, seg->max_stacks, seg->tag, &k, 1, ns);
}

/* ---------------------------------------------------- unwind tables */

/* Wait until no handler is past the gate (one that is may be reading
 * what the caller is about to free). */
static void quiesce(void)
{
	while (__atomic_load_n(&inflight, __ATOMIC_SEQ_CST) != 0)
		sched_yield();
}

/* The executable ranges loaded now into the buffer no handler reads, then
 * published; the one replaced is not written again before no handler is
 * in flight (prof.lock held). */
static void text_refresh(void)
{
	struct texts *tx = ld_relaxed(&text_cur) == &text_buf[0] ? &text_buf[1] : &text_buf[0];

	tx->n = 0;
	dl_iterate_phdr(add_text, tx);
	__atomic_store_n(&text_cur, tx, __ATOMIC_SEQ_CST);
	quiesce();
}

/* Publish @t as the handlers' table and free the one it replaces, after
 * every handler that may have read it left (prof.lock held). */
static void cfi_replace(struct shmstat_cfitab *t)
{
	struct shmstat_cfitab *old = cfi_tab;

	__atomic_store_n(&cfi_tab, t, __ATOMIC_SEQ_CST);
	if (old) {
		quiesce();
		shmstat__cfi_free(old);
	}
}

/* Modules loaded or unloaded since the table was built: a new one
 * (prof.lock held, the profiler running). */
static void cfi_refresh(void)
{
	if (prof.seg && shmstat__cfi_stale(cfi_tab)) {
		struct shmstat_cfitab *t = shmstat__cfi_build();

		text_refresh();
		if (t)
			cfi_replace(t);
	}
}

/* ------------------------------------------------- per-thread timers */

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * Whether entry @i's thread is gone (tmr.lock held). A thread's CPU timer
 * outlives its thread in the kernel (it is a timer of the process) but
 * no longer runs: timer_gettime reports it disarmed (it_value 0), which
 * an armed periodic timer never is (at least 1 ns), and which also holds
 * when the thread id was taken again by a new thread. tgkill(0) covers
 * kernels that keep the reload value of a dead timer: ESRCH, no thread.
 */
static int timer_dead(uint32_t i)
{
	struct itimerspec cur;

	if (timer_gettime(tmr.t[i].id, &cur) != 0)
		return 1;
	if (cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0)
		return 1;
	return syscall(SYS_tgkill, (long)getpid(), (long)tmr.t[i].tid, 0L) != 0 && errno == ESRCH;
}

/* The table size at which timer_for() prunes next, for @n timers now:
 * when it has doubled (32 at least) */
static uint32_t next_prune(uint32_t n)
{
	return n < PROF_TIMERS / 64 ? PROF_TIMERS / 32 : 2 * n;
}

/* Delete the timers of threads gone (tmr.lock held): a system call or
 * two per timer, at most PROF_TIMERS. */
static void timers_prune(void)
{
	for (uint32_t i = 0; i < tmr.n;) {
		if (timer_dead(i)) {
			timer_delete(tmr.t[i].id);
			tmr.t[i] = tmr.t[--tmr.n];
		} else {
			i++;
		}
	}
	tmr.prune_at = next_prune(tmr.n);
}

/*
 * The calling thread, which was not alive when this run started, first
 * writes a segment (tmr.lock held): its first sample is to weigh all the
 * CPU it used, since its CPU clock started with it, instead of at most a
 * period (sample_weight(), which cannot tell such a thread from one that
 * ran for hours before the run). CPU timers fire at the scheduler's tick
 * (4 ms at HZ=250), so a thread of a few ms has one or two samples, and
 * 200 threads of 7 ms of CPU at 997 Hz weighed 13% of their CPU (a
 * thread alive throughout: 100%; tests/prof/test_short_threads.c). Not
 * when a sample of this run came first (its mark is kept), nor when the
 * thread used more CPU than the whole process since the start (it ran
 * before: its timer was not made at the start, timer_create failed).
 * A compare-and-swap: the handler may set the mark in between.
 */
static void mark_new_thread(void)
{
	const uint32_t g = (uint32_t)ld_relaxed(&run_gen);
	uint64_t old = __atomic_load_n(&cpu_mark, __ATOMIC_RELAXED);
	const uint64_t now = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	const uint64_t proc = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);

	if (marked_in(old, g) || now == UINT64_MAX || proc == UINT64_MAX ||
	    proc < tmr.proc_cpu0 || now > proc - tmr.proc_cpu0)
		return;
	last_slot = LAST_NONE;          /* before: a sample in between sets both */
	(void)__atomic_compare_exchange_n(&cpu_mark, &old, mark_at(g, 0), 0,
					  __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* A timer for thread @tid (tmr.lock held, tmr.on): 1 when made here, 0
 * when it had one, -1 when it cannot have one. The calling thread's is
 * marked in its own thread-local state, and deleted when it exits
 * (timer_key). */
static int timer_for(pid_t tid, int self)
{
	struct sigevent sev;
	struct itimerspec its;
	/* the kernel's id of thread @tid's CPU clock (glibc's
	 * pthread_getcpuclockid makes the same, from a pthread_t) */
	clockid_t clk = self ? CLOCK_THREAD_CPUTIME_ID : (clockid_t)((~(unsigned)tid << 3) | 6u);
	timer_t id;

	for (uint32_t i = 0; i < tmr.n; i++) {
		if (tmr.t[i].tid != tid)
			continue;
		if (!self)
			return 0;
		if (!timer_dead(i)) {
			/* made at the start, for this thread: deleted when
			 * it exits, now that it runs here */
			(void)pthread_setspecific(timer_key, &tmr);
			has_timer = run_gen;
			return 0;
		}
		/* the timer of an earlier thread of that id, gone */
		timer_delete(tmr.t[i].id);
		tmr.t[i] = tmr.t[--tmr.n];
		break;
	}
	/* amortized: a pruning each time the table doubled (a full table
	 * of live timers waits for the heartbeat's) */
	if (tmr.n >= tmr.prune_at)
		timers_prune();
	if (tmr.n == PROF_TIMERS)
		return -1;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGPROF;
	sev.sigev_value.sival_int = run_gen;
	sev._sigev_un._tid = tid;
	if (timer_create(clk, &sev, &id) != 0)
		return -1;
	its.it_interval = tmr.period;
	its.it_value = tmr.period;
	if (timer_settime(id, 0, &its, NULL) != 0) {
		timer_delete(id);
		return -1;
	}
	tmr.t[tmr.n].id = id;
	tmr.t[tmr.n].tid = tid;
	tmr.n++;
	if (self) {
		has_timer = run_gen;
		(void)pthread_setspecific(timer_key, &tmr);
	}
	return 1;
}

/*
 * The calling thread exits: the CPU it used since its last sample of this
 * run is added to that sample's stack, as each sample weighs the CPU
 * since the one before (sample_weight()). Without it a thread lost the
 * CPU after its last sample: CPU timers fire at the scheduler's tick (4
 * ms at HZ=250), and 200 threads of 7 ms of CPU weighed about half of it
 * even with their first samples weighing all the CPU before them
 * (tests/prof/test_short_threads.c). Claimed by a compare-and-swap of the
 * mark, which a SIGPROF taken meanwhile moves (its sample then weighs
 * it); in flight like a handler, so that shmstat_profiler_stop() waits.
 */
static void weigh_tail(void)
{
	const uint32_t g = (uint32_t)ld_relaxed(&run_gen);
	uint64_t old = __atomic_load_n(&cpu_mark, __ATOMIC_RELAXED), now;
	const uint32_t slot = last_slot;

	if (!marked_in(old, g) || slot == LAST_NONE ||
	    (now = cpu_ns(CLOCK_THREAD_CPUTIME_ID)) == UINT64_MAX)
		return;
	__atomic_fetch_add(&inflight, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&gate, __ATOMIC_SEQ_CST) && ld_relaxed(&run_gen) == (int)g &&
	    __atomic_compare_exchange_n(&cpu_mark, &old, mark_at(g, now), 0, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
		shmstat__stack_weigh(prof.hdr, prof.tab, prof.n, prof.tag, slot,
				     since_mark(old, g, now));
	__atomic_fetch_sub(&inflight, 1, __ATOMIC_SEQ_CST);
}

/* A thread that had made its own timer exits: its last CPU weighed, its
 * timer deleted. */
static void timer_exit(void *unused)
{
	pid_t tid = gettid_();

	(void)unused;
	weigh_tail();
	pthread_mutex_lock(&tmr.lock);
	for (uint32_t i = 0; i < tmr.n; i++) {
		if (tmr.t[i].tid == tid) {
			timer_delete(tmr.t[i].id);
			tmr.t[i] = tmr.t[--tmr.n];
			break;
		}
	}
	st_relaxed(&own_gen, 0);
	has_timer = 0;
	cpu_mark = 0;           /* the child's CPU clock starts at 0 */
	pthread_mutex_unlock(&tmr.lock);
}

static void make_timer_key(void)
{
	(void)pthread_key_create(&timer_key, timer_exit);
}

/* Timers for every thread alive now, then the process timer (prof.lock
 * held, the gate open): 0, or the errno of the process timer, which is
 * then not running and the others deleted. The first thread timer that
 * cannot be made turns them off for this run: the process timer alone
 * samples then. */
static int timers_start(unsigned hz)
{
	pid_t self = gettid_();
	DIR *d;
	struct dirent *e;
	struct sigevent sev;
	struct itimerspec its;
	int err = 0;

	(void)pthread_once(&timer_once, make_timer_key);
	pthread_mutex_lock(&tmr.lock);
	tmr.period.tv_sec = 0;
	tmr.period.tv_nsec = (long)(1000000000u / hz);
	if (hz == 1) {
		tmr.period.tv_sec = 1;
		tmr.period.tv_nsec = 0;
	}
	st_relaxed(&run_gen, run_gen == INT32_MAX ? 1 : run_gen + 1);
	tmr.proc_cpu0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	tmr.prune_at = PROF_TIMERS + 1;    /* not the timers made here */
	tmr.on = timer_for(self, 1) >= 0;
	d = tmr.on ? opendir("/proc/self/task") : NULL;
	while (d && (e = readdir(d)) != NULL) {
		long tid = strtol(e->d_name, NULL, 10);

		if (tid > 0 && tid != self)
			(void)timer_for((pid_t)tid, 0);   /* gone meanwhile: nothing */
	}
	if (d)
		closedir(d);
	tmr.prune_at = next_prune(tmr.n);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGPROF;
	sev.sigev_value.sival_int = -run_gen;
	its.it_interval = tmr.period;
	its.it_value = tmr.period;
	if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &tmr.proc) != 0) {
		err = errno;
	} else if (timer_settime(tmr.proc, 0, &its, NULL) != 0) {
		err = errno;
		timer_delete(tmr.proc);
	} else {
		tmr.proc_on = 1;
	}
	pthread_mutex_unlock(&tmr.lock);
	return err;
}

static void timers_stop(void)
{
	pthread_mutex_lock(&tmr.lock);
	if (tmr.proc_on)
		timer_delete(tmr.proc);
	tmr.proc_on = 0;
	tmr.on = 0;
	for (uint32_t i = 0; i < tmr.n; i++)
		timer_delete(tmr.t[i].id);
	tmr.n = 0;
	/* a signal of a deleted timer still pending is dropped */
	st_relaxed(&run_gen, run_gen == INT32_MAX ? 1 : run_gen + 1);
	pthread_mutex_unlock(&tmr.lock);
}

/* -------------------------------------------------------------------- API */

/*
 * A child of fork() inherits the handler but not the timer, and a segment
 * attachment that is its parent's: its profiler state starts over (the
 * lock too, which another thread may have held at the fork). The child
 * opens its own segment and starts its own profiler.
 */
static void atfork_child(void)
{
	pthread_mutex_init(&prof.lock, NULL);
	__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&inflight, 0, __ATOMIC_SEQ_CST);
	st_relaxed(&shmstat__prof_latency_every, 0);
	st_relaxed(&prof.lat_seg, NULL);
	prof.seg = NULL;
	shmstat__cfi_free(cfi_tab);     /* the parent's, copied */
	cfi_tab = NULL;
	/* timers are not inherited */
	pthread_mutex_init(&tmr.lock, NULL);
	tmr.on = 0;
	tmr.proc_on = 0;
	tmr.n = 0;
	st_relaxed(&own_gen, 0);
	has_timer = 0;
	cpu_mark = 0;           /* the child's CPU clock starts at 0 */
	for (int i = 0; i < 2; i++)
		st_relaxed(&prof.pub_seg[i], NULL);
}

static void register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, atfork_child);
}

/* The window below a thread pointer taken as that thread's stack when
 * its bounds are not known: the default stack size of new threads. A
 * thread made with a smaller stack is bounded the same way; only a stack
 * pointer outside its stack (a coroutine) could then let the walk cross
 * into other mappings, which is why bounds are learnt where possible. */
static void set_stack_max(void)
{
	pthread_attr_t a;
	size_t size = 0;

	if (pthread_getattr_default_np(&a) == 0) {
		(void)pthread_attr_getstacksize(&a, &size);
		pthread_attr_destroy(&a);
	}
	if (size == 0)
		size = (size_t)8 << 20;
	if (size < (size_t)64 << 10)
		size = (size_t)64 << 10;
	if (size > (size_t)1 << 30)
		size = (size_t)1 << 30;
	st_relaxed(&prof.stack_max, (uintptr_t)size);
}

/* Publish modules into @seg (lock held): each of the (at most two)
 * segments in use keeps what it has; a new one takes the other slot. */
static int publish(struct shmstat_seg *seg, int proc_record, unsigned hz)
{
	int i = prof.pub_seg[0] == seg ? 0 : prof.pub_seg[1] == seg ? 1 : -1, err;

	SHMSTAT_HOOK(SHMSTAT_HOOK_PROF_PUBLISH, seg);
	if (i < 0) {
		/* a slot no running profiler or latency recording uses */
		i = (prof.pub_seg[0] == NULL || (prof.pub_seg[0] != prof.seg &&
						  prof.pub_seg[0] != prof.lat_seg)) ? 0 : 1;
		shmstat__modmap_forget(&prof.pub[i]);
		st_relaxed(&prof.pub_seg[i], seg);
		proc_record = 1;
	}
	err = shmstat__modmap_publish(seg, &prof.pub[i], proc_record, hz);
	if (seg == prof.seg)
		st_relaxed(&prof.mod_gen, prof.pub[i].seq);
	return err;
}

static int published(const struct shmstat_seg *seg)
{
	return ld_relaxed(&prof.pub_seg[0]) == seg || ld_relaxed(&prof.pub_seg[1]) == seg;
}

static int need_table(struct shmstat_seg *seg)
{
	if (seg->stacks == NULL || seg->max_stacks == 0)
		return shmstat__fail(SHMSTAT_EFULL,
				     "segment '%s' has no stack table (created with max_stacks 0, or by format 2.0)",
				     seg->name);
	return 0;
}

static int start(shmstat_seg *seg, unsigned hz)
{
	struct sigaction sa, old;
	struct itimerval cur;
	struct shmstat_stackkey warm = { .kind = SHMSTAT_STACK_CPU, .depth = 1 };
	int err;

	shmstat__clear_error();
	if (seg == NULL)
		return shmstat__fail(EINVAL, "no segment given to the profiler");
	if (hz == 0)
		hz = SHMSTAT_PROFILE_HZ;
	if (hz > 1000)
		return shmstat__fail(EINVAL, "profiler rate must be 1 to 1000 Hz, not %u", hz);
	err = need_table(seg);
	if (err)
		return err;
	(void)pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&prof.lock);
	if (prof.seg) {
		err = shmstat__fail(SHMSTAT_EBUSY, "the profiler already runs (segment '%s')",
				    prof.seg->name);
		goto out;
	}
	if (sigaction(SIGPROF, NULL, &old) != 0 || getitimer(ITIMER_PROF, &cur) != 0) {
		err = shmstat__fail(errno, "cannot read the SIGPROF settings: %s", strerror(errno));
		goto out;
	}
	if (((old.sa_flags & SA_SIGINFO) ? (void *)old.sa_sigaction != (void *)on_sigprof :
	     (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)) ||
	    cur.it_value.tv_sec || cur.it_value.tv_usec) {
		err = shmstat__fail(SHMSTAT_EBUSY,
				    "SIGPROF or ITIMER_PROF is in use by another profiler");
		goto out;
	}
	err = publish(seg, 1, hz);
	if (err && err != SHMSTAT_EFULL)
		goto out;
	/* resolve what the handler calls before any signal */
	(void)shmstat__stack_hash(seg->tag, &warm);
	(void)thread_pointer();
	set_stack_max();
	shmstat__prof_thread();
	text_refresh();
	/* the unwind tables, before the first signal (without them, or
	 * out of memory: frame pointers only) */
	cfi_replace(shmstat__cfi_build());
	prof.seg = seg;
	st_relaxed(&prof.mod_gen, prof.pub[prof.pub_seg[0] == seg ? 0 : 1].seq);
	prof.hdr = seg->hdr;
	prof.tab = seg->stacks;
	prof.n = seg->max_stacks;
	prof.tag = seg->tag;
	prof.hz = hz;
	prof.period_ns = 1000000000u / hz;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigprof;
	/* SA_NODEFER: SIGPROF stays unblocked in the handler. Blocked, the
	 * process timer's signal (shared), which fires at the same ticks as a
	 * busy thread's own, was handed by the kernel to another thread, an
	 * idle one: half the samples of one busy thread went to a sleeping
	 * one. Unblocked, the busy thread takes it and skips it (the handler
	 * is reentrant: locals, atomics, a lock-free table). */
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
	/* Every other signal waits while the handler runs (but those a
	 * fault raises): a handler that leaves by siglongjmp (a timeout's
	 * SIGALRM) taken inside this one abandoned it past its gate, with
	 * in_sigprof set (that thread's samples all skipped from then on)
	 * and inflight counted (shmstat_profiler_stop() waited for ever). */
	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGPROF);
	sigdelset(&sa.sa_mask, SIGSEGV);
	sigdelset(&sa.sa_mask, SIGBUS);
	sigdelset(&sa.sa_mask, SIGILL);
	sigdelset(&sa.sa_mask, SIGFPE);
	sigdelset(&sa.sa_mask, SIGTRAP);
	__atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
	if (sigaction(SIGPROF, &sa, NULL) != 0) {
		err = shmstat__fail(errno, "cannot install the SIGPROF handler: %s", strerror(errno));
		goto undo;
	}
	err = timers_start(hz);
	if (err) {
		err = shmstat__fail(err, "cannot start the process CPU timer: %s", strerror(err));
		timers_stop();
		(void)signal(SIGPROF, SIG_IGN);
		goto undo;
	}
	err = 0;
	goto out;
undo:
	__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
	quiesce();
	cfi_replace(NULL);
	prof.seg = NULL;
out:
	pthread_mutex_unlock(&prof.lock);
	return err;
}

/* start, latency, modules and the heartbeat are no cancellation points:
 * they hold prof.lock across some (the open() and read() of an ELF
 * file for the unwind tables, of /proc/self/comm and /proc/self/task),
 * and a thread cancelled at one left it held: every later call of the
 * profiler, and shmstat_close(), waited for it forever. A cancel takes
 * effect at the thread's next cancellation point. */
int shmstat_profiler_start(shmstat_seg *seg, unsigned hz)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = start(seg, hz);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

/* Stop the timers and wait for handlers (lock held). */
static void stop_locked(void)
{
	timers_stop();
	__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
	quiesce();
	/* a signal still pending is dropped, not fatal */
	(void)signal(SIGPROF, SIG_IGN);
	cfi_replace(NULL);
	prof.seg = NULL;
}

/* the API takes the handle as every other call does */
/* cppcheck-suppress constParameter */
int shmstat_profiler_stop(shmstat_seg *seg)
{
	int err = 0;

	shmstat__clear_error();
	pthread_mutex_lock(&prof.lock);
	if (seg == NULL || prof.seg != seg)
		err = shmstat__fail(EINVAL, "the profiler does not run for this segment");
	else
		stop_locked();
	pthread_mutex_unlock(&prof.lock);
	return err;
}

static int latency(shmstat_seg *seg, unsigned every)
{
	int err;

	shmstat__clear_error();
	if (seg == NULL)
		return shmstat__fail(EINVAL, "no segment given to the profiler");
	err = need_table(seg);
	if (err)
		return err;
	(void)pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&prof.lock);
	if (every == 0) {
		if (ld_relaxed(&prof.lat_seg) == seg) {
			st_relaxed(&shmstat__prof_latency_every, 0);
			st_release(&prof.lat_seg, NULL);
		}
		err = 0;
	} else {
		err = publish(seg, 0, prof.seg == seg ? prof.hz : 0);
		if (err == SHMSTAT_EFULL)
			err = 0;        /* stacks still count; names may be missing */
		if (err == 0) {
			if (prof.seg == NULL)
				set_stack_max();   /* the walk's bound */
			st_release(&prof.lat_seg, seg);
			st_relaxed(&shmstat__prof_latency_every, every);
		}
	}
	pthread_mutex_unlock(&prof.lock);
	return err;
}

int shmstat_profiler_latency(shmstat_seg *seg, unsigned every)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = latency(seg, every);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

int shmstat_profiler_modules(shmstat_seg *seg)
{
	int cancel, err;

	shmstat__clear_error();
	if (seg == NULL)
		return shmstat__fail(EINVAL, "no segment given to the profiler");
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	pthread_mutex_lock(&prof.lock);
	err = publish(seg, 0, prof.seg == seg ? prof.hz : 0);
	cfi_refresh();
	pthread_mutex_unlock(&prof.lock);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

void shmstat__prof_heartbeat(struct shmstat_seg *seg)
{
	if (!published(seg))
		return;
	if (pthread_mutex_trylock(&prof.lock) != 0)
		return;
	if (published(seg) && (prof.seg == seg || prof.lat_seg == seg))
		(void)publish(seg, 0, 0);
	if (prof.seg == seg) {
		cfi_refresh();
		pthread_mutex_lock(&tmr.lock);
		if (tmr.on)
			timers_prune();
		pthread_mutex_unlock(&tmr.lock);
	}
	pthread_mutex_unlock(&prof.lock);
}

/* compared only, but the segment is being closed: not a const one */
/* cppcheck-suppress constParameter */
void shmstat__prof_detach(struct shmstat_seg *seg)
{
	pthread_mutex_lock(&prof.lock);
	if (prof.seg == seg)
		stop_locked();
	if (prof.lat_seg == seg) {
		st_relaxed(&shmstat__prof_latency_every, 0);
		st_release(&prof.lat_seg, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (prof.pub_seg[i] == seg)
			st_relaxed(&prof.pub_seg[i], NULL);
	pthread_mutex_unlock(&prof.lock);
}

/* ----------------------------------------------------- the core's hooks */

static void thread_start(struct shmstat_seg *seg)
{
	(void)seg;
	if (shmstat__prof_active())
		shmstat__prof_thread();     /* its stack, for the profiler's walk */
	if (has_timer != ld_relaxed(&run_gen) && __atomic_load_n(&gate, __ATOMIC_RELAXED)) {
		/* a thread that writes a segment: a timer of its own */
		pthread_mutex_lock(&tmr.lock);
		if (tmr.on && timer_for(gettid_(), 1) == 1)
			mark_new_thread();      /* none made for it at the start */
		pthread_mutex_unlock(&tmr.lock);
	}
}

int shmstat_profiler_info(struct shmstat_profiler_info *out)
{
	shmstat__clear_error();
	if (out == NULL)
		return shmstat__fail(EINVAL, "no place given for the profiler's figures");
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&prof.lock);
	out->running = prof.seg != NULL;
	out->hz = prof.seg ? prof.hz : 0;
	if (cfi_tab) {
		out->unwind_bytes = cfi_tab->bytes;
		out->unwind_modules = cfi_tab->nmod;
		out->unwind_rows = cfi_tab->nrows;
	}
	pthread_mutex_lock(&tmr.lock);
	if (tmr.on)
		timers_prune();    /* the timers of threads alive */
	out->thread_timers = tmr.n;
	pthread_mutex_unlock(&tmr.lock);
	out->skipped = __atomic_load_n(&skipped, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&prof.lock);
	return 0;
}

const struct shmstat__type shmstat__profile_type = {
	.name = "profile",
	.type = UINT32_MAX,
	.thread_start = thread_start,
	.heartbeat = shmstat__prof_heartbeat,
	.detach = shmstat__prof_detach,
};
