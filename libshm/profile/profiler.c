/*
 * profiler.c - sampling profiler and latency stacks (see profiler.h).
 */
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <ucontext.h>

#include "shmstat_inline.h"
#include "tls.h"
#include "type.h"
#include "modmap.h"
#include "profiler.h"
#include "shmstat_profile.h"
#include "stacks.h"

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
	uintptr_t stack_max;       /* a thread's stack size by default */
	unsigned hz;
	/* executable ranges loaded at the start, for the leaf heuristic
	 * (fixed while the profiler runs) */
	struct {
		uintptr_t lo, hi;
	} text[256];
	uint32_t ntext;
	/* module records published, per segment: the profiler's and the
	 * latency stacks' may differ */
	struct shmstat_modpub pub[2];
	struct shmstat_seg *pub_seg[2];
} prof = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int gate;                   /* 1: handlers may write */
static int inflight;               /* handlers past the gate */
/* timer stops until the next stack (initial-exec: no __tls_get_addr on
 * the timer path) */
static __thread unsigned lat_left __attribute__((tls_model("initial-exec")));

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
 * Walk the frame records {saved fp, return address} from @fp, adding
 * return addresses to @k after the @k->depth frames already there. Only
 * [@lo, @hi) is read; each record must lie above the one before.
 */
__attribute__((no_sanitize_address, no_sanitize("thread")))
static void walk(struct shmstat_stackkey *k, uintptr_t fp, uintptr_t lo, uintptr_t hi)
{
	while (fp >= lo && fp % sizeof(uintptr_t) == 0 && hi - fp >= 2 * sizeof(uintptr_t) &&
	       fp < hi) {
		/* a frame record inside the checked bounds
		 * NOLINTNEXTLINE(performance-no-int-to-ptr) */
		const uintptr_t *rec = (const uintptr_t *)fp;
		uintptr_t next = rec[0], ret = rec[1];

		if (ret < 4096)
			return;
		if (k->depth == SHMSTAT_STACK_SLOTS) {
			k->flags |= SHMSTAT_STACK_F_TRUNCATED;
			return;
		}
		k->pcs[k->depth++] = ret;
		if (next <= fp)
			return;
		lo = fp + 2 * sizeof(uintptr_t);
		fp = next;
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
	uintptr_t ret, target;
	int32_t rel;

	if (sp % sizeof(uintptr_t) != 0 || top - sp < sizeof(uintptr_t))
		return 0;
	/* addresses from registers and the stack, checked against the
	 * thread's stack and the code loaded: casts are what this does */
	ret = *(const uintptr_t *)sp;   /* NOLINT(performance-no-int-to-ptr) */
	for (uint32_t i = 0; i < prof.ntext; i++) {
		if (pc < prof.text[i].lo || pc >= prof.text[i].hi)
			continue;
		if (ret < prof.text[i].lo + 5 || ret > prof.text[i].hi)
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

static int add_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	for (int i = 0; i < info->dlpi_phnum && prof.ntext < 256; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz > 0) {
			prof.text[prof.ntext].lo = info->dlpi_addr + ph->p_vaddr;
			prof.text[prof.ntext].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			prof.ntext++;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- handler */

static void on_sigprof(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno;
	ucontext_t *uc = ucv;
	struct shmstat_stackkey k;
	uintptr_t pc = 0, sp = 0, fp = 0, top;

	(void)sig;
	(void)si;
	if (!__atomic_load_n(&gate, __ATOMIC_SEQ_CST))
		goto out;
	__atomic_fetch_add(&inflight, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&gate, __ATOMIC_SEQ_CST))
		goto leave;
#if defined(__x86_64__)
	pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
	pc = (uintptr_t)uc->uc_mcontext.pc;
	sp = (uintptr_t)uc->uc_mcontext.sp;
	fp = (uintptr_t)uc->uc_mcontext.regs[29];
#else
	(void)uc;
#endif
	/* no pc: an architecture this file does not read registers of */
	/* cppcheck-suppress knownConditionTrueFalse */
	if (pc == 0)
		goto leave;
	k.kind = SHMSTAT_STACK_CPU;
	k.metric = 0;
	k.flags = 0;
	k.depth = 1;
	k.pcs[0] = pc;
	top = stack_top(sp, &uc->uc_stack);
	if (top) {
		uintptr_t caller = leaf_caller(pc, sp, top);

		walk(&k, fp, sp, top);
		/* the heuristic's caller, unless the chain has it already */
		if (caller && (k.depth < 2 || k.pcs[1] != caller)) {
			if (k.depth == SHMSTAT_STACK_SLOTS) {
				k.depth--;
				k.flags |= SHMSTAT_STACK_F_TRUNCATED;
			}
			memmove(&k.pcs[2], &k.pcs[1], (k.depth - 1) * sizeof(k.pcs[0]));
			k.pcs[1] = caller;
			k.depth++;
		}
	}
	shmstat__stack_add(prof.hdr, prof.tab, prof.n, prof.tag, &k, 1, prof.period_ns);
leave:
	__atomic_fetch_sub(&inflight, 1, __ATOMIC_SEQ_CST);
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
	if (top)
		walk(&k, fp, sp, top);
	shmstat__stack_add(seg->hdr, seg->stacks, seg->max_stacks, seg->tag, &k, 1, ns);
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
	int i = prof.pub_seg[0] == seg ? 0 : prof.pub_seg[1] == seg ? 1 : -1;

	if (i < 0) {
		/* a slot no running profiler or latency recording uses */
		i = (prof.pub_seg[0] == NULL || (prof.pub_seg[0] != prof.seg &&
						  prof.pub_seg[0] != prof.lat_seg)) ? 0 : 1;
		memset(&prof.pub[i], 0, sizeof(prof.pub[i]));
		st_relaxed(&prof.pub_seg[i], seg);
		proc_record = 1;
	}
	return shmstat__modmap_publish(seg, &prof.pub[i], proc_record, hz);
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

int shmstat_profiler_start(shmstat_seg *seg, unsigned hz)
{
	struct sigaction sa, old;
	struct itimerval it, cur;
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
	prof.ntext = 0;
	dl_iterate_phdr(add_text, NULL);
	prof.seg = seg;
	prof.hdr = seg->hdr;
	prof.tab = seg->stacks;
	prof.n = seg->max_stacks;
	prof.tag = seg->tag;
	prof.hz = hz;
	prof.period_ns = 1000000000u / hz;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigprof;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	__atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
	if (sigaction(SIGPROF, &sa, NULL) != 0) {
		err = shmstat__fail(errno, "cannot install the SIGPROF handler: %s", strerror(errno));
		goto undo;
	}
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_sec = (time_t)(1000000u / hz / 1000000u);
	it.it_interval.tv_usec = (suseconds_t)(1000000u / hz % 1000000u);
	it.it_value = it.it_interval;
	if (setitimer(ITIMER_PROF, &it, NULL) != 0) {
		err = shmstat__fail(errno, "cannot start ITIMER_PROF: %s", strerror(errno));
		(void)signal(SIGPROF, SIG_IGN);
		goto undo;
	}
	err = 0;
	goto out;
undo:
	__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&inflight, __ATOMIC_SEQ_CST) != 0)
		sched_yield();
	prof.seg = NULL;
out:
	pthread_mutex_unlock(&prof.lock);
	return err;
}

/* Stop the timer and wait for handlers (lock held). */
static void stop_locked(void)
{
	struct itimerval off;

	memset(&off, 0, sizeof(off));
	setitimer(ITIMER_PROF, &off, NULL);
	__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&inflight, __ATOMIC_SEQ_CST) != 0)
		sched_yield();
	/* a signal still pending is dropped, not fatal */
	(void)signal(SIGPROF, SIG_IGN);
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

int shmstat_profiler_latency(shmstat_seg *seg, unsigned every)
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

int shmstat_profiler_modules(shmstat_seg *seg)
{
	int err;

	shmstat__clear_error();
	if (seg == NULL)
		return shmstat__fail(EINVAL, "no segment given to the profiler");
	pthread_mutex_lock(&prof.lock);
	err = publish(seg, 0, prof.seg == seg ? prof.hz : 0);
	pthread_mutex_unlock(&prof.lock);
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
}

const struct shmstat__type shmstat__profile_type = {
	.name = "profile",
	.type = UINT32_MAX,
	.thread_start = thread_start,
	.heartbeat = shmstat__prof_heartbeat,
	.detach = shmstat__prof_detach,
};
