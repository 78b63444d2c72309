/*
 * procs.c - writer-process slots: claim, release and liveness (the fold
 * of a gone process's slot is grace.c's).
 *
 * A slot's word holds state and the process tag together and changes only
 * by CAS: FREE -> CLAIMING(tag) -> LIVE(tag) -> EXITED(tag) -> (fold) ->
 * FREE. A process is alive when kill(pid, 0) finds it, its start time
 * in /proc/PID/stat matches the one recorded (a recycled pid does not
 * keep a dead writer's slot) and one of its tasks runs (its main thread
 * may have exited before the others).
 *
 * Pids are those of the judge's pid namespace: a slot stamped with
 * another namespace (its `pidns`) is not judged by pid by anybody: it
 * counts as running until a process of its own namespace finds it gone
 * (docs/format.md, "Process tags"), or, when its writer says it holds
 * the lock of its slot (4.6), until that lock is gone (below, "The lock
 * of a slot").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmstat.h"
#include "hook.h"
#include "procs.h"

/* Start time (field 22), state (field 3) and number of threads (field
 * 20) of process @pid, from /proc/PID/stat; 0 when it cannot be read. */
static uint64_t read_stat(pid_t pid, char *state, long *threads)
{
	char buf[1024], path[64];
	const char *p;
	ssize_t n;
	int fd;

	*state = '?';
	*threads = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the
	 * last ')'; the state is field 3 */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return 0;
	*state = p[2];
	for (int field = 2; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return 0;
		if (field == 19)
			*threads = strtol(p + 1, NULL, 10);
	}
	return strtoull(p + 1, NULL, 10);
}

static bool gone_state(char state)
{
	return state == 'Z' || state == 'X' || state == 'x';
}

uint64_t shmstat__starttime(pid_t pid)
{
	char state;
	long threads;

	return read_stat(pid, &state, &threads);
}

/* Does @pid run with start time @start (compared on the bits of @mask;
 * 0: unknown, any)? A zombie, killed but not yet waited for, does not; a
 * process whose main thread exited while other threads of it run does.
 * *@stopped (may be NULL): it runs but is stopped by a signal (T). A
 * tracing stop (t) is not: a process under strace is in it at each of
 * its system calls, for a moment. */
static bool runs(pid_t pid, uint64_t start, uint64_t mask, bool *stopped)
{
	uint64_t now;
	long threads;
	char state;

	if (stopped)
		*stopped = false;
	if (pid <= 0)
		return false;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	now = read_stat(pid, &state, &threads);
	/* a zombie main thread with other threads still in the group (it
	 * called pthread_exit()) counts them in num_threads: the process
	 * runs. One stat file read, no walk of /proc/PID/task (whose
	 * dentries the kernel walks again when the process is waited for) */
	if (gone_state(state) && threads <= 1)
		return false;
	/* unreadable /proc (hidepid): the pid alone decides */
	if (now == 0 || start == 0 || (now & mask) == (start & mask)) {
		if (stopped)
			*stopped = state == 'T';
		return true;
	}
	return false;
}

bool shmstat__pid_alive(pid_t pid, uint64_t starttime)
{
	return runs(pid, starttime, UINT64_MAX, NULL);
}

uint64_t shmstat__self_tag(void)
{
	pid_t pid = getpid();

	return SHMSTAT_TAG(pid, shmstat__starttime(pid));
}

bool shmstat__tag_alive(uint64_t tag)
{
	return runs((pid_t)SHMSTAT_TAG_PID(tag), SHMSTAT_TAG_START(tag), 0xffffffu, NULL);
}

enum shmstat_tag_state shmstat__tag_state(uint64_t tag)
{
	bool stopped;

	if (!runs((pid_t)SHMSTAT_TAG_PID(tag), SHMSTAT_TAG_START(tag), 0xffffffu, &stopped))
		return SHMSTAT_TAG_GONE;
	return stopped ? SHMSTAT_TAG_STOPPED : SHMSTAT_TAG_RUNS;
}

/* The pid namespace, read again by a process whose pid changed (a
 * fork()ed child: one forked after an unshare(CLONE_NEWPID) is in
 * another). Pid stored after the namespace, read before it. */
static uint64_t pidns_cached;
static pid_t pidns_pid;

uint64_t shmstat__self_pidns(void)
{
	const pid_t pid = getpid();
	struct stat st;
	uint64_t v;

	if (__atomic_load_n(&pidns_pid, __ATOMIC_ACQUIRE) == pid)
		return __atomic_load_n(&pidns_cached, __ATOMIC_RELAXED);
	v = 0;
	if (stat("/proc/self/ns/pid", &st) == 0) {
		v = ((uint64_t)st.st_dev << 32) ^ (uint64_t)st.st_ino;
		if (v == 0)
			v = 1;
	}
	__atomic_store_n(&pidns_cached, v, __ATOMIC_RELAXED);
	__atomic_store_n(&pidns_pid, pid, __ATOMIC_RELEASE);
	return v;
}

bool shmstat__pidns_foreign(uint64_t pidns)
{
	return pidns != 0 && shmstat__pidns_other(pidns, shmstat__self_pidns());
}

bool shmstat__tag_foreign(const struct shmstat_seg *seg, uint64_t tag)
{
	const uint64_t t = SHMSTAT_TAG_OF(tag);
	uint64_t self;

	if (seg == NULL || seg->procs == NULL)
		return false;
	self = shmstat__self_pidns();
	for (uint32_t i = 0; i < seg->max_procs; i++) {
		const struct shmstat_proc *p = &seg->procs[i];
		const uint64_t w = ld_acquire(&p->word);

		if (SHMSTAT_PROC_STATE(w) != SHMSTAT_PROC_FREE && SHMSTAT_TAG_OF(w) == t &&
		    shmstat__pidns_other(ld_relaxed(&p->pidns), self))
			return true;
	}
	return false;
}

bool shmstat__seg_tag_alive(const struct shmstat_seg *seg, uint64_t tag)
{
	return shmstat__tag_alive(tag) || shmstat__tag_foreign(seg, tag);
}

enum shmstat_tag_state shmstat__seg_tag_state(const struct shmstat_seg *seg, uint64_t tag)
{
	const enum shmstat_tag_state st = shmstat__tag_state(tag);

	return st == SHMSTAT_TAG_GONE && shmstat__tag_foreign(seg, tag) ? SHMSTAT_TAG_RUNS : st;
}

/* This process image's number: from the 16 random bytes the kernel
 * gives each new image (AT_RANDOM), so that every copy of this library in
 * a process (a static one in the program, another in a shared object)
 * has the same, an image that exec() starts another, and a forked child
 * its parent's (its tag already differs). Without AT_RANDOM, a number
 * drawn once by this copy. */
static uint64_t image_id;

uint64_t shmstat__image_id(void)
{
	uint64_t v = __atomic_load_n(&image_id, __ATOMIC_RELAXED), zero = 0;
	const unsigned char *r;

	if (v != 0)
		return v;
	/* an address the kernel gives
	 * NOLINTNEXTLINE(performance-no-int-to-ptr) */
	r = (const unsigned char *)(uintptr_t)getauxval(AT_RANDOM);
	if (r != NULL)
		memcpy(&v, r + 8, sizeof(v));
	else if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = shmstat__now_ns() ^ ((uint64_t)(uintptr_t)&v << 16) ^ (uint64_t)getpid();
	v |= 1;
	if (!__atomic_compare_exchange_n(&image_id, &zero, v, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		v = zero;
	return v;
}

static void read_comm(char comm[16])
{
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, comm, 15) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	comm[n] = '\0';
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
}

/* ---------------------------------------------------- the lock of a slot
 *
 * A pid says nothing about a process of another pid namespace, and a
 * container that crash-loops leaves the slot of each of its writers
 * (SIGKILLed) LIVE in a namespace that is gone: nobody could reap them,
 * and after max_procs restarts no new writer had a slot. So (format 4.6)
 * a writer holds, while attached, an open file description lock
 * (F_OFD_SETLK, F_WRLCK) of one byte of the object: the first byte of
 * its slot. The kernel lets it go when the last descriptor of that
 * description is closed: when the writer dies (SIGKILL too), whatever
 * its namespace, or exec()s (the descriptor is O_CLOEXEC). The lock
 * is held by a description of its own (seg->lock_fd), not the mapped
 * one: a mapping holds its description too, and a fork()ed child
 * inherits the mapping; a lock of the mapped description lived on in
 * the child after the parent died. A fork()ed child's handler closes
 * the inherited lock_fd (the parent's lock stays the parent's alone)
 * and takes its own lock with a description of its own; a child that
 * runs no handler (a raw clone()) shares the description and the lock
 * lives on until it too is gone: a later reap, never a wrong one.
 *
 * The slot says so: its lock_ns equals its attach_ns (not 0). A judge
 * of a slot of another namespace that says so asks the kernel for a
 * lock that conflicts with a write lock of the byte (F_OFD_GETLK): a
 * write lock is the writer's, it runs; none, it is gone. A read lock
 * (any reader may take one: a group reader of a 0640 segment opens it
 * read-only) is nobody's: no write lock of the byte can be held while
 * it is, so a hostile reader cannot make a dead writer look alive. Nor
 * can it keep a writer out: one that cannot take its lock attaches
 * without it, not saying so, and is judged as before 4.6 (alive, for
 * another namespace).
 *
 * Order (why a judge never reaps a live writer): the claimer takes the
 * lock BEFORE its CAS that claims the slot (a fork()ed child before its
 * CAS that adopts the claim its parent made), and says so (lock_ns)
 * only after both; it lets the lock go only after its slot is no longer
 * its (its CAS to EXITED, or its claim taken back). A judge reads the
 * word (acquire), then lock_ns and attach_ns: if they say so, that
 * claimer's lock was taken before, and stays while the word is its. A
 * reaper judges under the reaper lock, where nobody else folds or frees
 * the slot, and takes it by a CAS from the word it read: if the CAS
 * succeeds the word stayed the claimer's from the read to the CAS, so
 * the lock was held all that time if the claimer lived: "none" means it
 * died. A claimer between its lock and its lock_ns store is not said to
 * hold it: judged as before. lock_ns from an earlier claim does not
 * match: every claim stamps attach_ns anew (a fold, of any version,
 * zeroes it; a 4.5 fold leaves lock_ns). */

static off_t lock_byte(const struct shmstat_seg *seg, uint32_t i)
{
	return (off_t)((const unsigned char *)&seg->procs[i] - seg->base);
}

/* Take the lock of slot @i's byte for this attachment (nothing waits):
 * false when another description holds a lock that conflicts (a writer
 * trying the slot, a reader's read lock) or there is no descriptor. */
static bool lock_take(struct shmstat_seg *seg, uint32_t i)
{
	if (seg->lock1 != 0)
		return false;
	/* its description, opened at the first lock (-2: that failed, not
	 * tried again for each slot) */
	if (seg->lock_fd == -1) {
		seg->lock_fd = shmstat__seg_open_again(seg);
		if (seg->lock_fd < 0)
			seg->lock_fd = -2;
	}
	if (shmstat__byte_setlk(seg->lock_fd, lock_byte(seg, i), F_WRLCK) != 0)
		return false;
	seg->lock1 = i + 1;
	/* the lock before any store that follows: a judge that sees our
	 * lock_ns (or our claim) and then asks the kernel finds the lock */
	shmstat__fence(__ATOMIC_SEQ_CST);
	return true;
}

bool shmstat__proc_lock(struct shmstat_seg *seg, uint32_t i)
{
	return i < seg->max_procs && lock_take(seg, i);
}

void shmstat__proc_unlock(struct shmstat_seg *seg)
{
	if (seg->lock1 == 0)
		return;
	(void)shmstat__byte_setlk(seg->lock_fd, lock_byte(seg, seg->lock1 - 1), F_UNLCK);
	seg->lock1 = 0;
}

void shmstat__proc_lock_forget(struct shmstat_seg *seg)
{
	if (seg->lock_fd >= 0)
		close(seg->lock_fd);
	seg->lock_fd = -1;
	seg->lock1 = 0;
}

int shmstat__byte_setlk(int fd, uint64_t off, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)off,
			    .l_len = 1 };

	if (fd < 0 || off > (uint64_t)INT64_MAX)
		return -1;
	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -1;
}

int shmstat__lock_test(int fd, uint64_t off)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)off,
			    .l_len = 1 };

	if (fd < 0 || off > (uint64_t)INT64_MAX)
		return -1;
	/* after the reads of the slot (pairs with lock_take()'s fence) */
	shmstat__fence(__ATOMIC_SEQ_CST);
	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return -1;
	/* only a write lock is a writer's */
	return fl.l_type == F_WRLCK;
}

bool shmstat__proc_says_locked(const struct shmstat_proc *p)
{
	const uint64_t l = ld_relaxed(&p->lock_ns);

	return l != 0 && l == ld_relaxed(&p->attach_ns);
}

int shmstat__proc_lock_held(const struct shmstat_seg *seg, const struct shmstat_proc *p)
{
	return shmstat__lock_test(seg->fd, (uint64_t)((const unsigned char *)p - seg->base));
}

int shmstat__proc_lock_state(const struct shmstat_seg *seg, const struct shmstat_proc *p)
{
	return shmstat__proc_says_locked(p) ? shmstat__proc_lock_held(seg, p) : -1;
}

/* Claim a free slot as CLAIMING for @tag; its index or UINT32_MAX.
 * @lock: LOCK_NONE (a claim at fork, for the child: the child locks),
 * LOCK_MUST (only a slot whose lock we take), LOCK_TRY (any free slot,
 * with its lock if we can take it). */
enum claim_lock { LOCK_NONE, LOCK_MUST, LOCK_TRY };

static uint32_t claim_slot(struct shmstat_seg *seg, uint64_t tag, uint64_t ack,
			   enum claim_lock lock)
{
	for (uint32_t i = 0; i < seg->max_procs; i++) {
		struct shmstat_proc *p = &seg->procs[i];
		uint64_t w = SHMSTAT_PROC_WORD(SHMSTAT_PROC_FREE, 0);
		bool locked;

		if (ld_relaxed(&p->word) != w)
			continue;
		/* the lock first, then the claim ("The lock of a slot") */
		locked = lock != LOCK_NONE && lock_take(seg, i);
		if (lock == LOCK_MUST && !locked)
			continue;
		if (!cas_acqrel(&p->word, &w, SHMSTAT_PROC_WORD(SHMSTAT_PROC_CLAIMING, tag))) {
			if (locked)
				shmstat__proc_unlock(seg);
			continue;
		}
		SHMSTAT_HOOK(SHMSTAT_HOOK_PROC_CLAIMED, p);
		/* first of all: a reaper of another pid namespace that reads
		 * it judges the claim by its namespace, not by the pid
		 * (before it, for a few instructions, by the pid) */
		st_relaxed(&p->pidns, shmstat__self_pidns());
		/* no earlier claim's word that we hold the lock (4.5 folds
		 * leave it; attach_ns, stamped below, would not match it) */
		st_relaxed(&p->lock_ns, 0);
		/* before anything else: the grace period counts CLAIMING */
		st_release(&p->ack_seq, ack);
		/* a reaper that read this slot FREE reads it again after its
		 * minimum (grace.c, reclaim_retired()), and the descriptors
		 * we read later come after it: with this fence and the
		 * reaper's, either it sees our claim, or we see the removals
		 * its minimum counts (no handle of them) */
		shmstat__fence(__ATOMIC_SEQ_CST);
		p->attach_ns = shmstat__now_ns();
		return i;
	}
	return UINT32_MAX;
}

/* Fill claimed slot @i for this process and publish it LIVE; 0, or
 * SHMSTAT_EBUSY if a reaper took the claim back (it was judged gone). */
static int fill_slot(struct shmstat_seg *seg, uint32_t i)
{
	struct shmstat_proc *p = &seg->procs[i];
	uint64_t w = SHMSTAT_PROC_WORD(SHMSTAT_PROC_CLAIMING, seg->tag);

	/* a claim made at fork by the parent has its namespace */
	st_relaxed(&p->pidns, shmstat__self_pidns());
	p->starttime = shmstat__starttime(seg->pid);
	p->attach_ns = shmstat__now_ns();
	p->heartbeat_ns = p->attach_ns;
	p->uid = (uint32_t)geteuid();
	read_comm(p->comm);
	st_relaxed(&p->image, shmstat__image_id());
	/* we hold the lock of this slot (taken before the claim): say so,
	 * after attach_ns, before LIVE */
	if (seg->lock1 == i + 1)
		st_release(&p->lock_ns, p->attach_ns);
	if (!cas_acqrel(&p->word, &w, SHMSTAT_PROC_WORD(SHMSTAT_PROC_LIVE, seg->tag))) {
		/* not ours any more: its lock neither */
		shmstat__proc_unlock(seg);
		return shmstat__fail(SHMSTAT_EBUSY,
				     "segment '%s': the writer slot being claimed was taken back",
				     seg->name);
	}
	seg->proc = i;
	return 0;
}

uint32_t shmstat__proc_preclaim(struct shmstat_seg *seg, uint64_t *stamp)
{
	uint32_t i = UINT32_MAX;

	if (seg->proc < seg->max_procs)
		i = claim_slot(seg, seg->tag, ld_acquire(&seg->procs[seg->proc].ack_seq),
			       LOCK_NONE);
	*stamp = i < seg->max_procs ? ld_relaxed(&seg->procs[i].attach_ns) : 0;
	return i;
}

/* A child stalled for over 10 s before this (stopped, or a slow handler
 * of its own that ran first) had its claim folded as never adopted; the
 * parent may have claimed the same slot again for another child, with
 * the same word. The stamp tells the two claims apart: a fold zeroes
 * attach_ns before it frees the slot, and a new claim stamps the time. */
int shmstat__proc_adopt(struct shmstat_seg *seg, uint32_t i, uint64_t parent_tag, uint64_t stamp)
{
	const uint64_t theirs = SHMSTAT_PROC_WORD(SHMSTAT_PROC_CLAIMING, parent_tag);
	const uint64_t mine = SHMSTAT_PROC_WORD(SHMSTAT_PROC_CLAIMING, seg->tag);
	struct shmstat_proc *p;
	uint64_t w = theirs;

	if (i >= seg->max_procs)
		return shmstat__fail(SHMSTAT_EBUSY, "no slot was claimed at fork");
	p = &seg->procs[i];
	/* the parent may have given the claim our tag already (retag) */
	if (ld_acquire(&p->attach_ns) != stamp || (!cas_acqrel(&p->word, &w, mine) && w != mine))
		return shmstat__fail(SHMSTAT_EBUSY, "the slot claimed at fork was taken back");
	/* folded and claimed again between the check and the CAS: give the
	 * other child its claim back */
	if (ld_acquire(&p->attach_ns) != stamp) {
		w = mine;
		cas_acqrel(&p->word, &w, theirs);
		return shmstat__fail(SHMSTAT_EBUSY, "the slot claimed at fork was taken back");
	}
	return fill_slot(seg, i);
}

bool shmstat__proc_unclaim(struct shmstat_seg *seg, uint32_t i, uint64_t stamp)
{
	uint64_t w = SHMSTAT_PROC_WORD(SHMSTAT_PROC_CLAIMING, seg->tag);
	struct shmstat_proc *p;

	if (i >= seg->max_procs)
		return false;
	p = &seg->procs[i];
	/* EXITED, not FREE: only a fold frees a slot (its fields cleared,
	 * under the reaper lock). attach_ns is left alone: a child that
	 * adopted the claim first checks it after its CAS, and our CAS then
	 * fails; one that comes after ours fails its CAS. */
	return ld_acquire(&p->attach_ns) == stamp &&
	       cas_acqrel(&p->word, &w, SHMSTAT_PROC_WORD(SHMSTAT_PROC_EXITED, seg->tag));
}

bool shmstat__proc_retag(struct shmstat_seg *seg, uint32_t i, uint64_t stamp, uint64_t child)
{
	const uint64_t ours = SHMSTAT_PROC_WORD(SHMSTAT_PROC_CLAIMING, seg->tag);
	const uint64_t theirs = SHMSTAT_PROC_WORD(SHMSTAT_PROC_CLAIMING, child);
	struct shmstat_proc *p;
	uint64_t w = ours;

	if (i >= seg->max_procs || child == 0 || child == seg->tag)
		return false;
	p = &seg->procs[i];
	/* the child adopts from either word (shmstat__proc_adopt); one that
	 * adopted already made ours fail */
	if (ld_acquire(&p->attach_ns) != stamp || !cas_acqrel(&p->word, &w, theirs))
		return false;
	if (ld_acquire(&p->attach_ns) != stamp) {
		/* folded and claimed again meanwhile: not this child's */
		w = theirs;
		cas_acqrel(&p->word, &w, ours);
		return false;
	}
	return true;
}

uint64_t shmstat__newest_child_tag(void)
{
	char path[64], buf[512];
	long last = 0, cur = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)gettid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* "pid pid ... pid ": digits carried from one read to the next */
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < n; k++) {
			if (buf[k] >= '0' && buf[k] <= '9') {
				cur = cur < 100000000 ? cur * 10 + (buf[k] - '0') : 0;
			} else if (cur > 0) {
				last = cur;
				cur = 0;
			}
		}
	}
	close(fd);
	if (cur > 0)
		last = cur;
	return last > 0 ? SHMSTAT_TAG((pid_t)last, shmstat__starttime((pid_t)last)) : 0;
}

int shmstat__proc_claim(struct shmstat_seg *seg, uint64_t ack)
{
	/* a slot whose lock we take; else (its byte read-locked by a
	 * reader, tried by another writer) any, judged without the lock */
	uint32_t i = claim_slot(seg, seg->tag, ack, LOCK_MUST);

	if (i == UINT32_MAX)
		i = claim_slot(seg, seg->tag, ack, LOCK_TRY);

	seg->proc = UINT32_MAX;
	return i != UINT32_MAX ? fill_slot(seg, i) : SHMSTAT_EFULL;
}

int shmstat__proc_full(struct shmstat_seg *seg)
{
	const uint64_t self = shmstat__self_pidns();
	uint32_t i, live = 0;

	/* say which: slots of gone writers wait for a reaper, one that
	 * holds the lock stopped (SIGSTOP) keeps them all taken (grace.c) */
	for (i = 0; i < seg->max_procs; i++) {
		const uint64_t w = ld_acquire(&seg->procs[i].word);

		if (SHMSTAT_PROC_STATE(w) != SHMSTAT_PROC_LIVE)
			continue;
		if (shmstat__pidns_other(ld_relaxed(&seg->procs[i].pidns), self) ?
		    shmstat__proc_lock_state(seg, &seg->procs[i]) != 0 : shmstat__tag_alive(w))
			live++;
	}
	if (live >= seg->max_procs)
		return shmstat__fail(SHMSTAT_EFULL,
				     "segment '%s' has no free writer slot: all %u are taken by live processes",
				     seg->name, seg->max_procs);
	return shmstat__fail(SHMSTAT_EFULL,
			     "segment '%s' has no free writer slot: of its %u, %u are taken by "
			     "live processes and %u by gone ones or claims not folded yet (another "
			     "process holds the reaper lock, or took the slots since)",
			     seg->name, seg->max_procs, live, seg->max_procs - live);
}

int shmstat__proc_attach(struct shmstat_seg *seg, uint64_t ack)
{
	const int err = shmstat__proc_claim(seg, ack);

	return err == SHMSTAT_EFULL ? shmstat__proc_full(seg) : err;
}

void shmstat__proc_detach(struct shmstat_seg *seg)
{
	struct shmstat_proc *p;
	uint64_t w;

	if (seg->proc >= seg->max_procs)
		return;
	p = &seg->procs[seg->proc];
	w = SHMSTAT_PROC_WORD(SHMSTAT_PROC_LIVE, seg->tag);
	cas_acqrel(&p->word, &w, SHMSTAT_PROC_WORD(SHMSTAT_PROC_EXITED, seg->tag));
	/* after the slot is no longer LIVE ("The lock of a slot") */
	shmstat__proc_unlock(seg);
	seg->proc = UINT32_MAX;
}
