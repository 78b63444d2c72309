/*
 * procs.h - the writer-process table: one slot per attached process with
 * its pid, start time and heartbeat; liveness. Reaping is grace.h's.
 */
#ifndef SHMSTAT_PROCS_H
#define SHMSTAT_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"

/* Start time of @pid in clock ticks after boot (/proc/PID/stat field 22),
 * 0 when the process does not exist or cannot be read. */
SHMSTAT_HIDDEN uint64_t shmstat__starttime(pid_t pid);

/* true when @pid runs and started at @starttime (pids are reused); a
 * @starttime of 0 trusts the pid alone. */
SHMSTAT_HIDDEN bool shmstat__pid_alive(pid_t pid, uint64_t starttime);

/* The tag (layout.h) of the calling process, and whether the process a
 * tag names still runs. */
SHMSTAT_HIDDEN uint64_t shmstat__self_tag(void);
SHMSTAT_HIDDEN bool shmstat__tag_alive(uint64_t tag);

/* The same, telling a process that is alive but stopped (SIGSTOP:
 * /proc/PID/stat state T) from one that runs: nobody waits for a lock or
 * a claim such a process holds, it may stay stopped for ever. (A tracing
 * stop, t, counts as running: strace puts a process in it at each system
 * call; so does a process frozen by a cgroup freezer, S or D.) */
enum shmstat_tag_state { SHMSTAT_TAG_GONE, SHMSTAT_TAG_RUNS, SHMSTAT_TAG_STOPPED };
SHMSTAT_HIDDEN enum shmstat_tag_state shmstat__tag_state(uint64_t tag);

/* The pid namespace of the calling process (a slot's `pidns`, format
 * 4.5): st_dev and st_ino of /proc/self/ns/pid, never 0; 0 when unknown
 * (no /proc). Read once per process (a fork()ed child reads it again). */
SHMSTAT_HIDDEN uint64_t shmstat__self_pidns(void);

/* Is a process stamped with pid namespace @pidns in another one than
 * @self, ours (both known)? Its tag's pid means nothing in our /proc:
 * nobody judges it by pid. A loop over slots reads @self once
 * (shmstat__self_pidns() asks getpid() each call). */
static inline bool shmstat__pidns_other(uint64_t pidns, uint64_t self)
{
	return pidns != 0 && self != 0 && self != pidns;
}

/* shmstat__pidns_other(@pidns, shmstat__self_pidns()) */
SHMSTAT_HIDDEN bool shmstat__pidns_foreign(uint64_t pidns);

/* Is @tag (a descriptor's or an owner's claimer, a stack entry's) that of
 * a process of another pid namespace: one whose slot in @seg, in use,
 * is stamped so? */
SHMSTAT_HIDDEN bool shmstat__tag_foreign(const struct shmstat_seg *seg, uint64_t tag);

/* shmstat__tag_alive() and shmstat__tag_state() for a tag of @seg: a
 * process of another pid namespace runs, for all we know. */
SHMSTAT_HIDDEN bool shmstat__seg_tag_alive(const struct shmstat_seg *seg, uint64_t tag);
SHMSTAT_HIDDEN enum shmstat_tag_state shmstat__seg_tag_state(const struct shmstat_seg *seg,
							     uint64_t tag);

/* The lock of a slot (format 4.6, procs.c): while attached, a writer
 * holds an open file description write lock of its slot's first byte.
 * Take the lock of slot @i's byte for @seg (false: not taken), give the
 * one @seg holds back (if any). */
SHMSTAT_HIDDEN bool shmstat__proc_lock(struct shmstat_seg *seg, uint32_t i);
SHMSTAT_HIDDEN void shmstat__proc_unlock(struct shmstat_seg *seg);
/* In a fork()ed child: close the description of the lock inherited
 * (the parent's lock must go when the parent dies, not when we do); the
 * next shmstat__proc_lock() opens one of our own. */
SHMSTAT_HIDDEN void shmstat__proc_lock_forget(struct shmstat_seg *seg);

/* Does slot @p (mapped, or a copy) say that its writer holds its lock
 * (lock_ns == attach_ns, not 0)? Read after its word (acquire). */
SHMSTAT_HIDDEN bool shmstat__proc_says_locked(const struct shmstat_proc *p);

/* Lock byte @off of the object open as @fd with an open file
 * description lock of @type (F_WRLCK, F_RDLCK; F_UNLCK lets go), nothing
 * waits: 0, or -1 (a lock of another description conflicts, or @fd is
 * not open). */
SHMSTAT_HIDDEN int shmstat__byte_setlk(int fd, uint64_t off, short type);

/* Is a write lock held of byte @off of the object open as @fd (any
 * mode, read-only too)? 1: yes (its writer runs), 0: no (a read lock is
 * no writer's), -1: cannot tell. */
SHMSTAT_HIDDEN int shmstat__lock_test(int fd, uint64_t off);

/* Is a write lock held of slot @p's byte, whether or not the slot says
 * so (a claimer holds it from before its CAS): shmstat__lock_test(). */
SHMSTAT_HIDDEN int shmstat__proc_lock_held(const struct shmstat_seg *seg,
					   const struct shmstat_proc *p);

/* Slot @p of @seg by its lock: -1 when it does not say it holds one (or
 * the kernel cannot tell), else shmstat__lock_test() of its byte. */
SHMSTAT_HIDDEN int shmstat__proc_lock_state(const struct shmstat_seg *seg,
					    const struct shmstat_proc *p);

/* This process image's number (struct shmstat_proc's `image`): random,
 * nonzero, drawn again by the image an exec() starts. */
SHMSTAT_HIDDEN uint64_t shmstat__image_id(void);

/* Claim a slot for this process; seg->proc receives it. @ack: the
 * removals it has acknowledged (see shmstat_quiesce()). 0 or EFULL. */
SHMSTAT_HIDDEN int shmstat__proc_attach(struct shmstat_seg *seg, uint64_t ack);

/* The two halves of shmstat__proc_attach(): one try, which returns
 * SHMSTAT_EFULL without a message; and the refusal, which says whether
 * the slots are taken by live processes or by gone ones not folded yet
 * (it asks whether each is alive) and returns SHMSTAT_EFULL. */
SHMSTAT_HIDDEN int shmstat__proc_claim(struct shmstat_seg *seg, uint64_t ack);
SHMSTAT_HIDDEN int shmstat__proc_full(struct shmstat_seg *seg);

/* fork: in the parent, claim a slot for the child-to-be (CLAIMING with
 * the parent's tag and acknowledgement, so that the grace period of
 * removals counts the child from the first instant); UINT32_MAX if none.
 * *@stamp receives the claim's attach_ns, which names this claim apart
 * from a later one of the same slot by the same parent. In the child,
 * adopt it: 0 or an error (the claim was taken back, or is another's). */
SHMSTAT_HIDDEN uint32_t shmstat__proc_preclaim(struct shmstat_seg *seg, uint64_t *stamp);
SHMSTAT_HIDDEN int shmstat__proc_adopt(struct shmstat_seg *seg, uint32_t i, uint64_t parent_tag,
				       uint64_t stamp);
/* In the parent, when fork() may have failed: give claim @i (@stamp) up,
 * marking it exited for the next reap (the slot has no values). A child
 * that was forked after all finds it taken back and claims a slot of
 * its own. True if it was still ours to give up. */
SHMSTAT_HIDDEN bool shmstat__proc_unclaim(struct shmstat_seg *seg, uint32_t i, uint64_t stamp);
/* In the parent, after fork(): give claim @i (@stamp) the child's tag
 * @child, so that any reaper folds it once the child is gone (it died
 * before it adopted the claim). True if it was still ours to retag. */
SHMSTAT_HIDDEN bool shmstat__proc_retag(struct shmstat_seg *seg, uint32_t i, uint64_t stamp,
					uint64_t child);

/* The tag of the calling thread's newest child (the last pid of
 * /proc/self/task/TID/children, where a fork()ed child is added at the
 * end), 0 if unknown (no such file: a kernel without
 * CONFIG_PROC_CHILDREN). */
SHMSTAT_HIDDEN uint64_t shmstat__newest_child_tag(void);

/* Give our slot back: mark it exited (the caller then reaps, which
 * folds it). */
SHMSTAT_HIDDEN void shmstat__proc_detach(struct shmstat_seg *seg);

#endif
