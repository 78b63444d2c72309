/*
 * attach.c - a writer's attachment: open (map, reap, claim a writer slot
 * and a slot in the per-thread tables, start the handle index), close,
 * heartbeat, and maintenance (gc). It wires the core's parts together;
 * the types take part through type.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "attach.h"
#include "grace.h"
#include "procs.h"
#include "rcuuse.h"
#include "registry.h"
#include "segment.h"
#include "tls.h"
#include "type.h"

/* Give our writer slot back, and fold it (waiting up to a second for the
 * reaper lock; if it stays taken, the next reap folds it). */
static void leave(struct shmstat_seg *seg)
{
	if (seg->proc >= seg->max_procs)
		return;
	shmstat__proc_detach(seg);
	shmstat__reap(seg);
}

/* A forked child whose parent died before the child adopted the slot
 * claimed for it at the fork (tls.c), so that a reaper took the claim
 * back as one of a dead process: without a slot, every update of the
 * child did nothing, and its counts were lost (tests/stress/
 * test_prefork.c). It claims a slot as an attach does, acknowledging the
 * removals so far; the handles it inherited may be of metrics removed
 * and reclaimed while no slot held its parent's acknowledgement, so it
 * drops those (after the claim: its fence orders it with the reapers'
 * walks, as for any new writer) before it updates anything. */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_orphan(struct shmstat_seg *seg)
{
	if (!seg->orphan)
		return;
	seg->orphan = false;
	/* not while the parent's shmstat_open() or shmstat_close() of it was
	 * half done (its index not made yet, or being taken apart): its
	 * handles then do nothing, as before */
	if (!seg->live)
		return;
	shmstat__reap_wait(seg, 0);
	seg->want = ld_acquire(&seg->hdr->retire_seq);
	if (shmstat__proc_attach(seg, seg->want) == 0)
		shmstat__drop_removed(seg);
}

static void fork_child(void)
{
	int cancel;

	/* its claim reads /proc (cancellation points): a cancel pending in
	 * the forking thread acts after fork() returns, not in here (tls.c) */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	shmstat__tls_each(fork_orphan);
	pthread_setcancelstate(cancel, NULL);
}

/* after tls.c's fork handlers: child handlers run in the order set */
static void set_fork_handler(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

/* Claim a writer slot. With none free while slots of gone writers wait
 * for a reaper that is folding them (all the workers of a pre-fork
 * server killed and started again at once: every new one's reap waits
 * for the one that holds the lock, and gave up after 1 s while 64 big
 * stripes took longer to fold; 14 of 64 new writers then had no slot and
 * counted nothing), wait for it (grace.c). */
static int claim_proc(struct shmstat_seg *seg)
{
	struct shmstat_slot_wait sw = { .seen = 0 };
	int err;

	while ((err = shmstat__proc_claim(seg, seg->want)) == SHMSTAT_EFULL &&
	       shmstat__reap_for_slot(seg, &sw))
		;
	return err == SHMSTAT_EFULL ? shmstat__proc_full(seg) : err;
}

void shmstat_opts_init(struct shmstat_opts *o)
{
	o->max_procs = 32;
	o->max_metrics = 1024;
	o->max_values = 16384;
	o->max_threads = 32;
	o->sig_bytes = UINT64_C(8) << 20;
	o->max_stacks = 4096;
	o->max_modules = 1024;
	o->mode = 0600;
}

static int attach(const char *name, const struct shmstat_opts *opts, shmstat_seg **out)
{
	struct shmstat_opts defaults;
	struct shmstat_seg *seg;
	int err;

	shmstat__clear_error();
	*out = NULL;
	if (opts == NULL) {
		shmstat_opts_init(&defaults);
		opts = &defaults;
	}
	if (opts->mode != 0600 && opts->mode != 0640)
		return shmstat__fail(EINVAL, "segment mode must be 0600 or 0640, not %04o",
				     opts->mode);
	err = shmstat_valid_name(name);
	if (err)
		return err;
	/* the process's 16th open, before the segment is created: a refused
	 * open created it and left it (20 MB reserved in /dev/shm with the
	 * defaults, until removed by hand) */
	err = shmstat__tls_reserve(name);
	if (err)
		return err;
	seg = calloc(1, sizeof(*seg));
	if (seg == NULL) {
		shmstat__tls_unreserve();
		return shmstat__fail(ENOMEM, "out of memory attaching segment '%s'", name);
	}
	seg->fd = -1;
	seg->lock_fd = -1;
	err = shmstat__seg_map(seg, name, opts);
	if (err)
		goto fail_unreserve;
	seg->pid = getpid();
	seg->tag = shmstat__self_tag();
	shmstat__reap(seg);
	/* a new writer holds no handle of a removed metric */
	seg->want = ld_acquire(&seg->hdr->retire_seq);
	err = claim_proc(seg);
	if (err)
		goto fail_unreserve;
	err = shmstat__tls_attach(seg);     /* takes the slot reserved */
	if (err)
		goto fail_proc;
	pthread_once(&fork_once, set_fork_handler);
	err = shmstat__index_init(seg);
	if (err)
		goto fail_tls;
	shmstat__tls_lock();    /* fork() holds it: the child sees all or none */
	seg->live = true;
	shmstat__tls_unlock();
	*out = seg;
	return 0;
fail_unreserve:
	shmstat__tls_unreserve();
	shmstat__seg_unmap(seg);
	free(seg);
	return err;
fail_tls:
	shmstat__tls_detach(seg);
fail_proc:
	leave(seg);
	shmstat__seg_unmap(seg);
	free(seg);
	return err;
}

/* open, close and gc are no cancellation points: a thread cancelled
 * inside one (at the open(), read() or getrandom() of a step) would
 * leave a segment half-created (sized, its magic never written: every
 * shmstat_open() of the name waited 2 s and failed, for good), the
 * reaper lock or liburcu's grace-period lock held, a slot half-claimed.
 * A cancel takes effect at the thread's next cancellation point. */
int shmstat_open(const char *name, const struct shmstat_opts *opts, shmstat_seg **out)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = attach(name, opts, out);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

int shmstat_close(shmstat_seg *seg)
{
	int cancel;

	if (seg == NULL)
		return 0;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	shmstat__tls_lock();
	seg->live = false;
	shmstat__tls_unlock();
	SHMSTAT_EACH_TYPE(detach, seg);
	shmstat__index_destroy(seg);
	shmstat__tls_detach(seg);
	leave(seg);
	shmstat__seg_unmap(seg);
	free(seg);
	pthread_setcancelstate(cancel, NULL);
	return 0;
}

/* Map @name read-write for maintenance (gc): no writer slot, no stripes. */
int shmstat__seg_maintain(struct shmstat_seg *seg, const char *name)
{
	shmstat__clear_error();
	memset(seg, 0, sizeof(*seg));
	seg->fd = -1;
	seg->lock_fd = -1;
	seg->pid = getpid();
	seg->tag = shmstat__self_tag();
	seg->proc = UINT32_MAX;
	return shmstat__seg_map(seg, name, NULL);
}

int shmstat_gc(const char *name, unsigned *reaped)
{
	struct shmstat_seg seg;
	unsigned n;
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = shmstat__seg_maintain(&seg, name);
	if (err) {
		pthread_setcancelstate(cancel, NULL);
		return err;
	}
	err = shmstat__gc_reap(&seg, &n);
	shmstat__seg_unmap(&seg);
	pthread_setcancelstate(cancel, NULL);
	if (reaped)
		*reaped = n;
	return err;
}

/* no cancellation point either: the profiler's heartbeat holds its lock
 * across some (profiler.c) */
void shmstat_heartbeat(shmstat_seg *seg)
{
	int cancel;

	if (seg && seg->proc < seg->max_procs) {
		st_relaxed(&seg->procs[seg->proc].heartbeat_ns, shmstat__now_ns());
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
		SHMSTAT_EACH_TYPE(heartbeat, seg);
		pthread_setcancelstate(cancel, NULL);
	}
}
