/*
 * reaplock.c - the reaper lock: one process at a time folds gone
 * writers, repairs and reclaims (grace.c); taken by a CAS of the
 * header's reaper_lock from 0 or from a dead holder (docs/format.md,
 * "Fold protocol"), and, since 4.6, with a lock of its byte that tells a
 * holder of another pid namespace dead (below).
 */
#include <fcntl.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "reaplock.h"
#include "hook.h"
#include "procs.h"

/* The reaper lock's word for this process image: its tag, and in the low
 * byte (a tag's state bits, 0 in a tag) a byte of the image's number,
 * never 0. A process that exec()s keeps its tag: a lock that a thread of
 * its old image held when another thread called exec() (nothing of that
 * image will let it go) is told from one a thread of this image holds. */
uint64_t shmstat__reaper_word(const struct shmstat_seg *seg)
{
	const uint64_t b = (shmstat__image_id() >> 8) & 0xffu;  /* bit 0 is always 1 */

	return SHMSTAT_TAG_OF(seg->tag) | (b != 0 ? b : 1);
}

/* The lock of the reaper lock.
 *
 * A holder of another pid namespace is not judged by pid (below,
 * holder_state()), and up to here it ran for all we knew: one SIGKILLed
 * while it held the lock (a container killed in its start-up, in the
 * reap of its shmstat_open(), by the OOM killer) was taken for alive by
 * every other namespace for good, its own being gone with it. Nothing
 * was folded any more: the slots of dead writers stayed taken, new
 * writers failed with SHMSTAT_EFULL, shmstat_gc() with SHMSTAT_EBUSY.
 * Most reaps hold no writer slot (shmstat_open() reaps before it claims
 * one, shmstat_close() after it gave its slot up, shmstat_gc() and
 * shmstat_profile_gc() have none), so the lock of a slot (procs.c) cannot
 * tell. So (format 4.6) a holder also holds an open file description
 * write lock (F_OFD_SETLK, F_WRLCK) of the reaper lock's first byte
 * (header byte 528), which the kernel lets go when it dies, and says so:
 * reaper_locked = its lock word, stored after its take, 0 again before
 * it lets go of the reaper lock and then of the byte.
 *
 * The byte is locked with a description opened for that one call of
 * shmstat__reaper_lock() (O_CLOEXEC), closed when the reaper lock is let
 * go or not taken: two threads of one process (or one attachment) never
 * share it, so one that fails to take the reaper lock and lets go of
 * its byte lock never lets go of the other's (an OFD lock is its
 * description's, whatever thread takes it or lets it go).
 *
 * Why a live holder is never taken for dead: a judge that would take the
 * lock from holder H holds a lock of the byte itself first: its write
 * lock (taken before its CAS, as every taker does) or else a read lock
 * (which a reader's read lock does not refuse). Then it reads
 * reaper_lock (H still) and reaper_locked (H). While it holds its lock
 * of the byte nobody else holds the write lock, so the take T that
 * stored that H into reaper_locked no longer holds its write lock. T
 * lets go of it only after its store of 0 into reaper_locked, and the
 * kernel orders its unlock before our lock (the file's lock list has a
 * lock of its own): had T let go, we would read 0, or a value a later
 * take stored while holding the write lock, which is not possible while
 * we hold ours. So T's process died holding it (or exec()ed: its
 * descriptor is O_CLOEXEC) and never let go of the reaper lock, and
 * nobody else stores H there (an image of T's process after an exec()
 * with the same byte never takes the lock from its own word; no other
 * process has its tag): the CAS from H takes the lock that T left. The judge then runs recovery
 * (grace.c, recover()): the fold T left half done is finished, as for a
 * dead holder of our own namespace.
 *
 * - A stopped holder (SIGSTOP, a cgroup freezer) keeps its description
 *   and its lock: the judge cannot lock the byte, and waits or gives up
 *   as for a holder that runs.
 * - A reader's read lock of the byte (any reader may take one) keeps a
 *   taker from its write lock: it takes the reaper lock all the same and
 *   says it holds none (0), judged as before 4.6. It cannot make a dead
 *   holder look alive to a judge (read locks share) nor a live one dead
 *   (only the absence of a write lock while we hold ours counts).
 * - A taker that fails its write lock (another taker or judge holds a
 *   lock of the byte that instant) tries once more after its CAS, then
 *   says it holds none.
 * - A holder's reaper_locked is stored after its CAS: a judge that reads
 *   the reaper lock between the two reads the last holder's value: 0
 *   (let go) or a dead holder's word, not this one's (a take never takes
 *   the lock from its own word).
 * - A child fork()ed while a thread holds the lock shares the
 *   description (fork() copies descriptors, O_CLOEXEC or not): the
 *   library's fork handler closes it in the child, for the attachments
 *   it knows; otherwise (a maintenance gc's, a raw clone()) the byte
 *   stays locked while the child lives, even if the holder dies: a later
 *   reap, never a wrong one.
 * - A 4.5 holder neither locks the byte nor stores reaper_locked; one
 *   that takes the lock leaves there 0 (a 4.6 holder's let go) or the
 *   word of a dead 4.6 holder it took it from, which is not its own. */

#define REAPER_BYTE ((uint64_t)offsetof(struct shmstat_hdr, reaper_lock))

/* A description for one call of shmstat__reaper_lock(): fd (-1: not
 * opened yet, -2: it could not be), and its lock of the byte. */
struct rbyte {
	int fd;
	short type;             /* F_UNLCK, F_RDLCK or F_WRLCK */
};

/* Lock the byte @type (F_RDLCK, F_WRLCK: nothing waits); true when held
 * so. A failed change leaves the lock held before. */
static bool byte_lock(struct shmstat_seg *seg, struct rbyte *b, short type)
{
	if (b->type == type)
		return true;
	if (b->fd == -1) {
		b->fd = shmstat__seg_open_again(seg);
		if (b->fd < 0)
			b->fd = -2;
	}
	if (shmstat__byte_setlk(b->fd, REAPER_BYTE, type) != 0)
		return false;
	b->type = type;
	/* the lock before the reads and stores that follow */
	shmstat__fence(__ATOMIC_SEQ_CST);
	return true;
}

static void byte_unlock(struct rbyte *b)
{
	if (b->type == F_UNLCK)
		return;
	/* after the stores before it */
	shmstat__fence(__ATOMIC_SEQ_CST);
	(void)shmstat__byte_setlk(b->fd, REAPER_BYTE, F_UNLCK);
	b->type = F_UNLCK;
}

static void byte_close(struct rbyte *b)
{
	byte_unlock(b);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* Holder @holder of another pid namespace says it holds the byte's write
 * lock: is it gone? With @b (ours, for this take): true when we hold a
 * lock of the byte and the holder still says so (above, why). Without
 * (a hint, for a caller that only waits or says who holds the lock):
 * nobody holds a write lock of the byte now. */
static bool holder_lock_gone(struct shmstat_seg *seg, uint64_t holder, struct rbyte *b)
{
	struct shmstat_hdr *h = seg->hdr;

	if (ld_acquire(&h->reaper_locked) != holder)
		return false;
	if (b == NULL)
		return shmstat__lock_test(seg->fd, REAPER_BYTE) == 0;
	if (b->type == F_UNLCK && !byte_lock(seg, b, F_RDLCK))
		return false;
	return ld_acquire(&h->reaper_lock) == holder && ld_acquire(&h->reaper_locked) == holder;
}

/* The state of the reaper lock's holder @holder (not 0, not our own
 * word): our tag with another image's byte is our process before an
 * exec(), gone as a reaper. @b: as for holder_lock_gone(). */
static enum shmstat_tag_state holder_state(struct shmstat_seg *seg, uint64_t holder,
					   struct rbyte *b)
{
	/* read once: a holder that stamps itself while we judge it by pid
	 * below must not be taken for one of our namespace */
	const uint64_t who = ld_acquire(&seg->hdr->reaper_who);
	enum shmstat_tag_state st;

	/* a holder of another pid namespace (as it stamped itself after
	 * its take, or as its writer slot says) is not judged by pid: it
	 * runs while it holds the byte's lock, when it says it does
	 * (above), else for all we know; also one whose tag is ours (the
	 * same pid and start time there) */
	if (who == holder && shmstat__pidns_foreign(ld_relaxed(&seg->hdr->reaper_pidns)))
		return holder_lock_gone(seg, holder, b) ? SHMSTAT_TAG_GONE : SHMSTAT_TAG_RUNS;
	if (SHMSTAT_TAG_OF(holder) == SHMSTAT_TAG_OF(seg->tag))
		return SHMSTAT_TAG_GONE;
	st = shmstat__seg_tag_state(seg, holder);
	/* Between its take and its stamps (a few instructions, or stopped
	 * there) a holder without a writer slot is judged by pid, which
	 * for one of another namespace names nothing of it: it was taken
	 * for gone, and the lock taken from it while it folded (two
	 * reapers at once; test_pidns_reaper_unstamped). A 4.6 taker holds
	 * the byte's write lock from before its CAS, so while another
	 * description holds one (not ours: then it holds none) it is not
	 * taken for gone: a later take if it died there holding none, or
	 * another taker held it that instant. (One that could not take the
	 * byte's lock, or a 4.5 one, is still judged by pid there.) */
	if (st == SHMSTAT_TAG_GONE && who != holder && (b == NULL || b->type != F_WRLCK) &&
	    shmstat__lock_test(seg->fd, REAPER_BYTE) == 1)
		return SHMSTAT_TAG_RUNS;
	return st;
}

/* After a take of the lock: hold the byte's write lock if we can, and
 * say so and which pid namespace holds the lock. (The caller then
 * finishes the fold a dead holder left: grace.c, recover().) */
static bool taken(struct shmstat_seg *seg, uint64_t me, struct rbyte *b)
{
	struct shmstat_hdr *h = seg->hdr;
	const bool locked = byte_lock(seg, b, F_WRLCK);

	if (!locked)
		byte_close(b);
	seg->reaper_fd1 = locked ? b->fd + 1 : 0;
	SHMSTAT_HOOK(SHMSTAT_HOOK_REAPER_TAKEN, &h->reaper_lock);
	st_relaxed(&h->reaper_pidns, shmstat__self_pidns());
	st_relaxed(&h->reaper_locked, locked ? me : 0);
	st_release(&h->reaper_who, me);
	return true;
}

enum shmstat_tag_state shmstat__reaper_holder_state(struct shmstat_seg *seg, uint64_t holder)
{
	return holder_state(seg, holder, NULL);
}

bool shmstat__reaper_lock(struct shmstat_seg *seg, unsigned wait_ms)
{
	uint64_t *lock = &seg->hdr->reaper_lock;
	const uint64_t me = shmstat__reaper_word(seg);
	struct rbyte b = { .fd = -1, .type = F_UNLCK };

	for (unsigned waited = 0;; waited++) {
		uint64_t holder = 0;

		/* the byte's write lock before the CAS: we judge under it */
		(void)byte_lock(seg, &b, F_WRLCK);
		if (cas_acqrel(lock, &holder, me))
			return taken(seg, me, &b);
		if (holder != me) {
			enum shmstat_tag_state hs = holder_state(seg, holder, &b);

			if (hs == SHMSTAT_TAG_GONE && cas_acqrel(lock, &holder, me))
				return taken(seg, me, &b);
			/* a stopped holder may stay so for ever: the caller
			 * goes on without reaping rather than wait for it */
			if (hs == SHMSTAT_TAG_STOPPED)
				break;
		}
		/* not held while we wait: the next taker may need it */
		byte_unlock(&b);
		if (waited >= wait_ms)
			break;
		SHMSTAT_HOOK(SHMSTAT_HOOK_WAIT, lock);
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	byte_close(&b);
	return false;
}

void shmstat__reaper_unlock(struct shmstat_seg *seg)
{
	struct rbyte b = { .fd = seg->reaper_fd1 - 1, .type = F_WRLCK };

	seg->reaper_fd1 = 0;
	/* no longer says it holds the byte, before it lets go of the reaper
	 * lock, then of the byte (byte_unlock() fences) */
	if (b.fd >= 0)
		st_relaxed(&seg->hdr->reaper_locked, 0);
	st_release(&seg->hdr->reaper_lock, 0);
	if (b.fd >= 0)
		byte_close(&b);
}

void shmstat__reaper_forget(struct shmstat_seg *seg)
{
	/* the parent's description: its lock stays the parent's */
	if (seg->reaper_fd1 > 0)
		close(seg->reaper_fd1 - 1);
	seg->reaper_fd1 = 0;
}
