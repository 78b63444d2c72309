/*
 * test_pidns.c - writers in different pid namespaces share one segment
 * (containers of one Kubernetes pod with a shared /dev/shm, docker
 * --ipc=shareable), and the reapers of each, and a reader of a third.
 *
 * Each namespace here is made with unshare(CLONE_NEWPID | CLONE_NEWNS)
 * and a /proc of its own, as a container has: its init (pid 1 there)
 * starts one writer (pid 2 there) and waits for it; /dev/shm stays the
 * same. Writer A counts (a counter, a LIVESUM gauge, a histogram, a
 * signature table with an owner), then writer B; a third namespace C
 * opens and closes a writer (both reap), and the test process (the first
 * namespace) runs shmstat_gc(): every reaper of another namespace saw A
 * and B under pids of its own /proc that are not theirs, judged them dead
 * and folded their stripes while they still wrote: the counts they made
 * after it were lost, and their gauges left the LIVESUM. Then A is
 * SIGKILLed while B keeps counting: the lock of its slot (4.6) is gone,
 * so a reader of any namespace lists it dead and a reaper of any (here,
 * ours) folds it; and every total stays exact: counter, histogram count
 * and sum, signature totals and the owner's, the LIVESUM gauge (A's share
 * leaves it at its reap). (Up to 4.5 only A's namespace's init reaped
 * it, and readers elsewhere listed it with alive -1, unknown; a writer
 * without its lock still is: test_pidns_rdlock.)
 *
 * Also: a crash-looping container (test_crashloop), a writer's fork()ed,
 * spawned and raw-cloned children (test_pidns_children), and a hostile
 * reader's read locks (test_pidns_rdlock).
 *
 * Needs root (or a user namespace's capabilities): without them the test
 * is skipped (77).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "hook.h"
#include "layout.h"

#define N_A UINT64_C(3000)     /* events of A per round */
#define N_B UINT64_C(2000)     /* of B */

static const char *seg_name;

/* Our ends of the pipes of the namespaces made so far: a namespace made
 * later closes them, so that each init sees EOF when we close its own */
static int our_fds[8];
static unsigned n_our_fds;

struct ns {
	pid_t pid;                 /* the child that made the namespace */
	int cmd, ack;              /* our ends */
};

/* The test's segment: @max_procs writer slots (0: the default). */
static void new_seg(uint32_t max_procs)
{
	struct shmstat_opts o;

	n_our_fds = 0;
	seg_name = stress_name("pidns");
	shmstat_opts_init(&o);
	if (max_procs != 0)
		o.max_procs = max_procs;
	stress_create(seg_name, max_procs != 0 ? &o : NULL);
}

/* In the namespace's init: mount a /proc of its own (private, not seen
 * outside). 0 or -1. */
static int own_proc(void)
{
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -1;
	return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* A child of the writer that only waits to be killed (with the rest of
 * its namespace). */
static void wait_for_ever(void)
{
	for (;;)
		pause();
}

/* A writer that dies or stops in a fold of one of its reaps, holding the
 * reaper lock: at the first hook point die_at it says 'm' on die_ack,
 * then raises die_sig. */
static int die_at, die_sig, die_ack;

static void die_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if ((int)point != die_at)
		return;
	die_at = 0;
	CHILD_CHECK(stress_write(die_ack, "m", 1) == 0);
	(void)raise(die_sig);
}

static void die_in_fold(int at, int sig, int ack)
{
	die_at = at;
	die_sig = sig;
	die_ack = ack;
	__atomic_store_n(&shmstat__test_hook, die_hook, __ATOMIC_RELEASE);
}

/* The writer: per command byte 'c' one round of counts, acked with 'c';
 * 'k': SIGKILL itself; 'q': close and exit. 'f': fork() a child (the
 * library's fork handlers run: it adopts a slot of its own), 'r': clone
 * one with the raw system call (no handler runs: it shares the writer's
 * open file descriptions), 's': posix_spawn() a sleep(1) (no handler
 * either; an exec); each child waits to be killed, each acked with 'c'.
 * 'z': a shmstat_gc() here that stops itself (SIGSTOP) in the merge of
 * its first fold, the reaper lock held, after saying 'm'. */
static int writer(int cmd, int ack, uint64_t n, const char *owner)
{
	const struct shmstat_metric_def dc = { .name = "ns_events" };
	const struct shmstat_metric_def dg = { .name = "ns_live" };
	const struct shmstat_metric_def dh = { .name = "ns_lat" };
	const struct shmstat_metric_def ds = { .name = "ns_keys" };
	shmstat_counter *c;
	shmstat_gauge *g;
	shmstat_hist *h;
	shmstat_sigtab *t;
	shmstat_seg *seg;
	uint32_t id;
	char b;

	CHILD_CHECK(shmstat_open(seg_name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &dc, &c) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &dg, SHMSTAT_AGG_LIVESUM, &g) == 0);
	CHILD_CHECK(shmstat_hist_register(seg, &dh, NULL, &h) == 0);
	CHILD_CHECK(shmstat_sigtab_register(seg, &ds, NULL, &t) == 0);
	CHILD_CHECK(shmstat_sig_owner(t, owner, &id) == 0);
	shmstat_gauge_add(g, (int64_t)n);
	while (stress_read(cmd, &b, 1) == 1) {
		if (b == 'k')
			(void)raise(SIGKILL);
		if (b == 'q')
			break;
		if (b == 'z') {
			die_in_fold(SHMSTAT_HOOK_FOLD_MERGING, SIGSTOP, ack);
			(void)shmstat_gc(seg_name, NULL);
			continue;       /* never reached: killed stopped */
		}
		if (b == 'f' || b == 'r' || b == 's') {
			pid_t k;

			if (b == 's') {
				char *argv[] = { (char *)"sleep", (char *)"100000", NULL };

				CHILD_CHECK(posix_spawnp(&k, "sleep", NULL, NULL, argv, environ) == 0);
			} else {
				k = b == 'f' ? fork() : (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
				CHILD_CHECK(k >= 0);
				if (k == 0) {
					/* a fork()ed child acks: its fork
					 * handlers are done */
					if (b == 'f')
						CHILD_CHECK(stress_write(ack, "c", 1) == 0);
					wait_for_ever();
				}
				if (b == 'f')
					continue;
			}
			CHILD_CHECK(stress_write(ack, "c", 1) == 0);
			continue;
		}
		for (uint64_t i = 0; i < n; i++) {
			shmstat_counter_inc(c);
			shmstat_hist_record(h, 5);
			shmstat_sig_hit(t, owner, strlen(owner), 1, id);
		}
		CHILD_CHECK(stress_write(ack, "c", 1) == 0);
	}
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

struct nsarg {
	int cmd, ack;              /* the child's ends */
	int ours[2];               /* ours, closed in the child */
	uint64_t n;                /* events per round (0: open and close) */
	const char *owner;
	int die_at;                /* a hook point: the writer's open dies
				    * there (die_sig), after saying 'm' */
	int die_sig;               /* SIGKILL, or SIGSTOP: it stops there */
};

/* The namespace's maker: unshare, fork its init; the init mounts /proc,
 * forks the writer, waits for it, then per 'g' runs shmstat_gc() here
 * and acks with the number reaped, per 'w' acks with 'w' (the writer is
 * dead); exits at EOF. */
static int ns_main(void *p)
{
	const struct nsarg *a = p;
	pid_t init, w;
	int st;

	close(a->ours[0]);
	close(a->ours[1]);
	for (unsigned k = 0; k < n_our_fds; k++)
		close(our_fds[k]);
	CHILD_CHECK(unshare(CLONE_NEWPID | CLONE_NEWNS) == 0);
	init = fork();
	CHILD_CHECK(init >= 0);
	if (init > 0)
		return stress_wait(init);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	CHILD_CHECK(getpid() == 1);
	CHILD_CHECK(own_proc() == 0);
	/* a writer that dies in its fold is pid 3 there, not 2 as the
	 * others: a restart's writer started in the same clock tick would
	 * have its tag, and take a reaper lock held by its tag as its own
	 * process's, let go by an image before an exec() (the limit of
	 * tags: two processes with one tag are one) */
	if (a->die_at) {
		w = fork();
		CHILD_CHECK(w >= 0);
		if (w == 0)
			_exit(0);
		CHILD_CHECK(waitpid(w, &st, 0) == w);
	}
	w = fork();
	CHILD_CHECK(w >= 0);
	if (w == 0) {
		shmstat_seg *seg;

		if (a->die_at)
			die_in_fold(a->die_at, a->die_sig, a->ack);
		if (a->n > 0)
			_exit(writer(a->cmd, a->ack, a->n, a->owner));
		CHILD_CHECK(shmstat_open(seg_name, NULL, &seg) == 0);
		CHILD_CHECK(shmstat_close(seg) == 0);
		_exit(0);
	}
	CHILD_CHECK(waitpid(w, &st, 0) == w);
	for (char b; stress_read(a->cmd, &b, 1) == 1;) {
		unsigned reaped = 0;

		if (b == 'w') {         /* the writer is dead: waited for */
			CHILD_CHECK(stress_write(a->ack, "w", 1) == 0);
			continue;
		}
		CHILD_CHECK(b == 'g' && shmstat_gc(seg_name, &reaped) == 0);
		CHILD_CHECK(stress_write(a->ack, &reaped, sizeof(reaped)) == 0);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct ns ns_start_sig(uint64_t n, const char *owner, int at, int sig)
{
	int cmd[2], ack[2];
	struct nsarg a;
	struct ns ns;

	stress_pipe(cmd);
	stress_pipe(ack);
	a = (struct nsarg){ .cmd = cmd[0], .ack = ack[1], .ours = { cmd[1], ack[0] }, .n = n,
			    .owner = owner, .die_at = at, .die_sig = sig };
	ns.pid = stress_spawn(ns_main, &a);
	close(cmd[0]);
	close(ack[1]);
	ns.cmd = cmd[1];
	ns.ack = ack[0];
	if (n_our_fds + 2 <= sizeof(our_fds) / sizeof(our_fds[0])) {
		our_fds[n_our_fds++] = ns.cmd;
		our_fds[n_our_fds++] = ns.ack;
	}
	return ns;
}

static struct ns ns_start_dying(uint64_t n, const char *owner, int at)
{
	return ns_start_sig(n, owner, at, SIGKILL);
}

static struct ns ns_start(uint64_t n, const char *owner)
{
	return ns_start_dying(n, owner, 0);
}

/* One round of writer @ns's counts, waited for. */
static void round_of(const struct ns *ns)
{
	assert_int_equal(stress_write(ns->cmd, "c", 1), 0);
	stress_expect(ns->ack, ns->pid);
}

/* The writer of @ns SIGKILLed, and waited for by its init. */
static void kill_writer(const struct ns *ns)
{
	char c = 0;

	assert_int_equal(stress_write(ns->cmd, "kw", 2), 0);
	assert_int_equal(stress_read(ns->ack, &c, 1), 1);
	assert_int_equal(c, 'w');
}

/* What a reader of this (a third) namespace sees. */
static void check(uint64_t events, int64_t live, unsigned procs, unsigned unknown)
{
	struct shmstat_metric_info mi;
	struct shmstat_sigstats ss;
	struct shmstat_hstats hs;
	struct shmstat_proc_info pi;
	shmstat_snap *s = stress_snap(seg_name);
	shmstat_sigview *v;
	shmstat_hdata *hd;
	uint64_t owners = 0;
	unsigned n_unknown = 0;
	int i;

	i = stress_find(s, "ns_events", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(mi.counter, events);
	i = stress_find(s, "ns_live", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(mi.gauge, live);
	i = stress_find(s, "ns_lat", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(shmstat_snap_hist(s, (size_t)i, SHMSTAT_PROC_ALL, &hd), 0);
	shmstat_hdata_stats(hd, &hs);
	assert_int_equal(hs.count, events);
	assert_int_equal(hs.sum, 5 * events);
	shmstat_hdata_free(hd);
	i = stress_find(s, "ns_keys", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(shmstat_snap_sigtab(s, (size_t)i, &v), 0);
	shmstat_sigview_stats(v, &ss);
	assert_int_equal(ss.hits, events);
	for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
		struct shmstat_sigowner_info oi;

		assert_int_equal(shmstat_sigview_owner(v, k, &oi), 0);
		owners += oi.hits;
	}
	assert_int_equal(owners, events);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_snap_procs(s), procs);
	for (size_t j = 0; j < shmstat_snap_procs(s); j++) {
		assert_int_equal(shmstat_snap_proc(s, j, &pi), 0);
		n_unknown += pi.alive < 0;
	}
	assert_int_equal(n_unknown, unknown);
	shmstat_snap_free(s);
}

static unsigned gc_here(void)
{
	unsigned reaped = 0;

	assert_int_equal(shmstat_gc(seg_name, &reaped), 0);
	return reaped;
}

static unsigned gc_in(const struct ns *ns)
{
	unsigned reaped = 0;

	assert_int_equal(stress_write(ns->cmd, "g", 1), 0);
	assert_int_equal(stress_read(ns->ack, &reaped, sizeof(reaped)), sizeof(reaped));
	return reaped;
}

/* A writer of a namespace of its own opens and closes (both reap). */
static void other_ns_writer(void)
{
	struct ns c = ns_start(0, NULL);

	close(c.cmd);
	assert_int_equal(stress_wait(c.pid), 0);
	close(c.ack);
}

static void test_pidns(void **state)
{
	struct ns a, b;

	(void)state;
	new_seg(0);
	a = ns_start(N_A, "alpha");
	round_of(&a);
	b = ns_start(N_B, "beta");
	round_of(&b);
	check(N_A + N_B, N_A + N_B, 2, 0);

	/* reapers of other namespaces: this one's, and C's writer (its
	 * open and its close reap) */
	assert_int_equal(gc_here(), 0);
	other_ns_writer();
	round_of(&a);
	round_of(&b);
	check(2 * (N_A + N_B), N_A + N_B, 2, 0);

	/* A killed while B counts on: the lock of its slot is gone, any
	 * namespace's reaper folds it (4.5: only its own namespace's) */
	kill_writer(&a);
	round_of(&b);
	check(2 * N_A + 3 * N_B, N_B, 2, 0);    /* A listed dead, not unknown */
	assert_int_equal(gc_here(), 1);
	other_ns_writer();
	check(2 * N_A + 3 * N_B, N_B, 1, 0);
	assert_int_equal(gc_in(&a), 0);   /* nothing left for its own init */
	round_of(&b);
	check(2 * N_A + 4 * N_B, N_B, 1, 0);

	/* B closes; its own reap folds it */
	assert_int_equal(stress_write(b.cmd, "q", 1), 0);
	close(a.cmd);
	close(b.cmd);
	assert_int_equal(stress_wait(a.pid), 128 + SIGKILL);
	assert_int_equal(stress_wait(b.pid), 0);
	check(2 * N_A + 4 * N_B, 0, 0, 0);
	close(a.ack);
	close(b.ack);
}

/* The end of namespace @ns: its init exits at EOF (the kernel kills
 * what remains in it); its status. Our ends are dropped from our_fds (a
 * later namespace's maker must not close what a new pipe took). */
static int ns_end(struct ns *ns)
{
	int st;

	close(ns->cmd);
	st = stress_wait(ns->pid);
	close(ns->ack);
	for (unsigned k = 0; k < n_our_fds;) {
		if (our_fds[k] == ns->cmd || our_fds[k] == ns->ack)
			our_fds[k] = our_fds[--n_our_fds];
		else
			k++;
	}
	return st;
}

/* A writer of a pid namespace of its own that counts a round of @n and
 * is SIGKILLed, its namespace ending with it (a container's restart). */
static void crash_once(uint64_t n, const char *owner)
{
	struct ns x = ns_start(n, owner);

	round_of(&x);
	kill_writer(&x);
	assert_int_equal(ns_end(&x), 128 + SIGKILL);
}

static void cmd_of(const struct ns *ns, char c)
{
	assert_int_equal(stress_write(ns->cmd, &c, 1), 0);
	stress_expect(ns->ack, ns->pid);
}

#define CRASHES 10u            /* more than the segment's 4 slots */

/* A container that crash-loops: each restart is a new pid namespace,
 * whose writer counts and is SIGKILLed (the OOM killer), and the
 * namespace ends with it. Nobody of the namespace is left to reap it,
 * and up to 4.5 nobody else did: after max_procs restarts every new
 * writer's shmstat_open() failed with SHMSTAT_EFULL and counted nothing.
 * Since 4.6 a writer holds a lock of its slot while attached, which the
 * kernel drops when it dies: the next writer's open (of yet another
 * namespace) reaps it, and the totals stay exact. */
static void test_crashloop(void **state)
{
	struct ns x;

	(void)state;
	new_seg(4);
	for (unsigned k = 0; k < CRASHES; k++) {
		crash_once(N_A, "alpha");
	}
	x = ns_start(N_B, "beta");
	round_of(&x);
	/* the last crashed writer was reaped by beta's open; beta's
	 * liveness is known here (its lock is held) */
	check(CRASHES * N_A + N_B, N_B, 1, 0);
	assert_int_equal(gc_here(), 0);
	kill_writer(&x);
	assert_int_equal(gc_here(), 1);
	check(CRASHES * N_A + N_B, 0, 0, 0);
	assert_int_equal(ns_end(&x), 128 + SIGKILL);
}

/* The processes the reader of this namespace lists: alive, dead,
 * unknown. */
static void procs_seen(unsigned *alive, unsigned *dead, unsigned *unknown)
{
	shmstat_snap *s = stress_snap(seg_name);
	struct shmstat_proc_info pi;

	*alive = *dead = *unknown = 0;
	for (size_t j = 0; j < shmstat_snap_procs(s); j++) {
		assert_int_equal(shmstat_snap_proc(s, j, &pi), 0);
		if (pi.alive < 0)
			(*unknown)++;
		else if (pi.alive)
			(*alive)++;
		else
			(*dead)++;
	}
	shmstat_snap_free(s);
}

static void expect_procs(unsigned alive, unsigned dead, unsigned unknown)
{
	unsigned a, d, u;

	procs_seen(&a, &d, &u);
	assert_int_equal(a, alive);
	assert_int_equal(d, dead);
	assert_int_equal(u, unknown);
}

/* The children of a writer of another namespace: one fork()ed (it runs
 * the library's fork handlers, adopts a slot of its own and must not
 * keep its parent's lock: the parent, killed, is reaped while the child
 * lives), one spawned (posix_spawn runs no handler; its exec closes
 * the segment's descriptor, O_CLOEXEC); and one cloned raw, which shares
 * the parent's open file description and so its lock: the parent's
 * reap waits for it (a delay, never a wrong reap). */
static void test_pidns_children(void **state)
{
	struct ns w;

	(void)state;
	new_seg(0);
	w = ns_start(N_A, "alpha");
	round_of(&w);
	cmd_of(&w, 'f');
	cmd_of(&w, 's');
	expect_procs(2, 0, 0);          /* the writer and its forked child */
	kill_writer(&w);
	assert_int_equal(gc_here(), 1);
	expect_procs(1, 0, 0);          /* the child, its own lock held */
	check(N_A, 0, 1, 0);
	assert_int_equal(ns_end(&w), 128 + SIGKILL);
	assert_int_equal(gc_here(), 1);
	check(N_A, 0, 0, 0);

	w = ns_start(N_B, "beta");
	round_of(&w);
	cmd_of(&w, 'r');
	kill_writer(&w);
	/* the raw child holds the writer's description: taken as alive */
	assert_int_equal(gc_here(), 0);
	expect_procs(1, 0, 0);
	assert_int_equal(ns_end(&w), 128 + SIGKILL);
	assert_int_equal(gc_here(), 1);
	check(N_A + N_B, 0, 0, 0);
}

/* A reader's descriptor (O_RDONLY, as a group reader of a 0640 segment
 * opens it), with a read lock of the bytes [@off, @off + @len) of the
 * segment: 0 or the errno. */
static int rdlock(int fd, uint64_t off, uint64_t len)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = (off_t)off,
			    .l_len = (off_t)len };

	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

/* A hostile reader takes read locks of the slots' bytes. One held before
 * a writer attaches does not keep it out: it attaches without its lock,
 * and is judged as before 4.6 (liveness unknown here, reaped only in its
 * namespace). One taken after a writer died (a read lock does not
 * conflict with nothing) does not make it look alive: a read lock is no
 * writer's. */
static void test_pidns_rdlock(void **state)
{
	struct shmstat_hdr h;
	struct ns w;
	char path[300];
	uint64_t procs, len, byte;
	int fd;

	(void)state;
	new_seg(0);
	snprintf(path, sizeof(path), "/dev/shm/shmstat.%s", seg_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	procs = h.regions[SHMSTAT_REG_PROCS].off;
	len = (uint64_t)h.max_procs * sizeof(struct shmstat_proc);

	/* every slot's byte read-locked: the writer attaches anyway */
	assert_int_equal(rdlock(fd, procs, len), 0);
	w = ns_start(N_A, "alpha");
	round_of(&w);
	expect_procs(0, 0, 1);
	kill_writer(&w);
	assert_int_equal(gc_here(), 0);
	close(fd);                      /* its locks go */
	assert_int_equal(gc_here(), 0); /* it never held its own */
	assert_int_equal(gc_in(&w), 1);
	assert_int_equal(ns_end(&w), 128 + SIGKILL);
	check(N_A, 0, 0, 0);

	/* a writer with its lock: a read lock of its byte is refused while
	 * it lives, taken once it is dead, and taken for no writer's */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	w = ns_start(N_B, "beta");
	round_of(&w);
	expect_procs(1, 0, 0);
	byte = UINT64_MAX;
	for (uint32_t i = 0; i < h.max_procs; i++) {
		struct shmstat_proc p;
		const uint64_t at = procs + (uint64_t)i * sizeof(p);

		assert_int_equal(pread(fd, &p, sizeof(p), (off_t)at), (ssize_t)sizeof(p));
		if (SHMSTAT_PROC_STATE(p.word) == SHMSTAT_PROC_LIVE)
			byte = at;
	}
	assert_true(byte != UINT64_MAX);
	assert_int_equal(rdlock(fd, byte, 1), EAGAIN);
	kill_writer(&w);
	assert_int_equal(ns_end(&w), 128 + SIGKILL);
	assert_int_equal(rdlock(fd, byte, 1), 0);
	expect_procs(0, 1, 0);
	assert_int_equal(gc_here(), 1);
	check(N_A + N_B, 0, 0, 0);
	close(fd);
}

/* Writer @ns said 'm': it is in the fold where it dies or stops. */
static void expect_in_fold(const struct ns *ns)
{
	char c = 0;

	if (stress_read(ns->ack, &c, 1) != 1)
		fail_msg("the writer of namespace %d ended before its fold", (int)ns->pid);
	assert_int_equal(c, 'm');
}

/* The writer of @ns is dead and waited for by its init ('w'). */
static void writer_waited(const struct ns *ns)
{
	char c = 0;

	assert_int_equal(stress_write(ns->cmd, "w", 1), 0);
	assert_int_equal(stress_read(ns->ack, &c, 1), 1);
	assert_int_equal(c, 'w');
}

/* The one child of process @pid (of its main thread), as our /proc
 * lists it: its pid here; 0 when none. */
static pid_t child_of(pid_t pid)
{
	char path[64];
	long c = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &c) != 1)
		c = 0;
	fclose(f);
	return (pid_t)c;
}

/* The writer of @ns, its init's child, as our /proc lists it */
static pid_t ns_writer(const struct ns *ns)
{
	const pid_t init = child_of(ns->pid);
	pid_t w;

	assert_true(init > 0);
	w = child_of(init);
	assert_true(w > 0);
	return w;
}

/* A reaper of another pid namespace stopped in a fold, the reaper lock
 * held, and then killed with its namespace (a container stopped, then
 * killed): stopped, it is not taken for dead (its lock stays held: the
 * gc here fails with SHMSTAT_EBUSY, as for a stopped reaper of ours);
 * dead, a reaper of another namespace takes the lock, finishes the fold
 * it left half done, and folds the dead reaper's own slot: every count
 * exact, its own included. Up to the lock of the reaper lock, such a
 * holder was taken for alive by every other namespace for good: nothing
 * was folded any more (gc failed with SHMSTAT_EBUSY, every slot of a
 * gone writer stayed taken). */
static void test_pidns_reaper_stopped(void **state)
{
	struct ns r, x;
	char path[300];
	int fd;

	(void)state;
	new_seg(4);
	/* the reaper counts; then a writer that dies, for it to fold */
	r = ns_start(N_B, "beta");
	round_of(&r);
	crash_once(N_A, "alpha");

	/* the reaper stops in the merge of its fold of A */
	assert_int_equal(stress_write(r.cmd, "z", 1), 0);
	expect_in_fold(&r);
	assert_int_equal(shmstat_gc(seg_name, NULL), SHMSTAT_EBUSY);
	check(N_A + N_B, N_B, 2, 0);
	/* it holds the write lock of the reaper lock's byte, stopped */
	snprintf(path, sizeof(path), "/dev/shm/shmstat.%s", seg_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(rdlock(fd, offsetof(struct shmstat_hdr, reaper_lock), 1), EAGAIN);

	/* killed stopped (the kernel ends its namespace with it) */
	assert_int_equal(kill(ns_writer(&r), SIGKILL), 0);
	writer_waited(&r);
	assert_int_equal(ns_end(&r), 128 + SIGKILL);

	/* A's fold finished, the reaper's own slot folded; a reader's read
	 * lock of the byte does not make the dead holder look alive */
	assert_int_equal(rdlock(fd, offsetof(struct shmstat_hdr, reaper_lock), 1), 0);
	assert_int_equal(gc_here(), 1);
	close(fd);
	check(N_A + N_B, 0, 0, 0);
	x = ns_start(N_A, "gamma");
	round_of(&x);
	check(2 * N_A + N_B, N_A, 1, 0);
	assert_int_equal(stress_write(x.cmd, "q", 1), 0);
	assert_int_equal(ns_end(&x), 0);
	check(2 * N_A + N_B, 0, 0, 0);
}

/* A container that crash-loops and is killed once in its start-up, in
 * the reap of its shmstat_open(), in the middle of its fold of the
 * writer of the restart before (FLIPPED: the new grave current, the
 * dead writer's stripes being zeroed), the reaper lock held; then more
 * restarts than the segment has slots. Every restart's open must reap
 * the last one's writer (up to the lock of the reaper lock the dead
 * holder was taken for alive for good, nothing was folded any more,
 * and the 4th restart's open failed with SHMSTAT_EFULL), and every
 * total stays exact. */
static void test_pidns_reaper_killed(void **state)
{
	char path[64];
	struct ns x;
	int nsfd;

	(void)state;
	new_seg(4);
	crash_once(N_A, "alpha");

	x = ns_start_dying(N_A, "alpha", SHMSTAT_HOOK_FOLD_FLIPPED);
	expect_in_fold(&x);
	/* the kernel gives the number of a pid namespace that is gone to
	 * the next one made, and the restart that gets it judges the dead
	 * reaper by pid, finds it gone and takes its lock: a chance, not a
	 * rule (any other namespace made meanwhile, of any kind, takes the
	 * number). Kept here, as such a namespace would keep it. */
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)child_of(x.pid));
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(nsfd >= 0);
	writer_waited(&x);
	assert_int_equal(ns_end(&x), 128 + SIGKILL);

	for (unsigned k = 0; k < CRASHES; k++) {
		crash_once(N_A, "alpha");
	}
	x = ns_start(N_B, "beta");
	round_of(&x);
	check((CRASHES + 1) * N_A + N_B, N_B, 1, 0);
	kill_writer(&x);
	assert_int_equal(gc_here(), 1);
	check((CRASHES + 1) * N_A + N_B, 0, 0, 0);
	assert_int_equal(ns_end(&x), 128 + SIGKILL);
	close(nsfd);
}

/* A reaper of another pid namespace without a writer slot (the reap of
 * its shmstat_open(), before it claims one) stopped between its take of
 * the reaper lock and its stamps (reaper_pidns, reaper_who): it holds the
 * write lock of the lock's byte, so it runs. Up to here a judge of
 * another namespace judged it by its pid, which names nothing of it here,
 * took it for dead and took the lock from it: two reapers at once (the
 * gc here returned 0 instead of SHMSTAT_EBUSY). Killed there, it lets go
 * of the byte with its life, and the gc here takes the lock from it. */
static void test_pidns_reaper_unstamped(void **state)
{
	struct ns x;

	(void)state;
	new_seg(4);
	/* a dead writer, for the reaper to fold */
	crash_once(N_A, "alpha");

	x = ns_start_sig(0, NULL, SHMSTAT_HOOK_REAPER_TAKEN, SIGSTOP);
	expect_in_fold(&x);
	assert_int_equal(shmstat_gc(seg_name, NULL), SHMSTAT_EBUSY);
	check(N_A, 0, 1, 0);

	assert_int_equal(kill(ns_writer(&x), SIGKILL), 0);
	writer_waited(&x);
	assert_int_equal(ns_end(&x), 128 + SIGKILL);
	assert_int_equal(gc_here(), 1);
	check(N_A, 0, 0, 0);
}

/* A writer of another pid namespace stopped between the CAS of its
 * claim and its pidns store: its slot then says no namespace (a fold
 * zeroes it), and a reaper judged the claim by the pid of its tag, which
 * names nothing of it here: it took the claim back and folded it while
 * the writer lived (the gc here reaped 1), and the writer's
 * shmstat_open() then failed with SHMSTAT_EBUSY (its slot taken back),
 * after its stores of its namespace, acknowledgement and attach time
 * landed in a slot no longer its. It holds the lock of its slot from
 * before its CAS: while a write lock of the byte is held, the claim is
 * not gone. */
static void test_pidns_claim_unstamped(void **state)
{
	struct ns x;

	(void)state;
	new_seg(4);
	x = ns_start_sig(N_A, "alpha", SHMSTAT_HOOK_PROC_CLAIMED, SIGSTOP);
	expect_in_fold(&x);
	assert_int_equal(gc_here(), 0);

	assert_int_equal(kill(ns_writer(&x), SIGCONT), 0);
	round_of(&x);
	check(N_A, N_A, 1, 0);
	assert_int_equal(stress_write(x.cmd, "q", 1), 0);
	assert_int_equal(ns_end(&x), 0);
	check(N_A, 0, 0, 0);
}

/* Can we make a pid namespace and a mount one, and mount a /proc of
 * its own there (a container that is root without CAP_SYS_ADMIN, or
 * whose /proc has masked paths, cannot)? */
static bool can_unshare(void)
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		pid_t init;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
			_exit(1);
		init = fork();
		if (init == 0)
			_exit(own_proc() == 0 ? 0 : 1);
		if (init < 0 || waitpid(init, &st, 0) != init || !WIFEXITED(st))
			_exit(1);
		_exit(WEXITSTATUS(st));
	}
	return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pidns, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_crashloop, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_pidns_children, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_pidns_rdlock, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_pidns_reaper_stopped, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_pidns_reaper_killed, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_pidns_reaper_unstamped, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_pidns_claim_unstamped, stress_setup,
						stress_teardown),
	};

	if (!can_unshare()) {
		fprintf(stderr, "test_pidns: skipped: unshare(CLONE_NEWPID | CLONE_NEWNS) and a "
				"mount of /proc there are not permitted (needs root with "
				"CAP_SYS_ADMIN)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
