/*
 * rcuuse.h - this copy's use of liburcu, kept out of fork().
 *
 * liburcu is this copy's to use, not to fork: liburcu-bp's fork hooks
 * (urcu_bp_before_fork() and the call_rcu ones) lock process-wide
 * mutexes, so a second call in one fork() locks them again and the fork
 * hangs for good, every signal blocked. An application that calls them,
 * as liburcu asks of its users (pthread_atfork()), or another copy of
 * this library in the process (a plugin linked with libshmstat.a), made
 * every fork() hang while a segment was open. So no copy calls them.
 * Each keeps fork() out of its own use of liburcu instead: a read-side
 * section, a grace period, the index made or taken apart count as uses,
 * and fork() (tls.c's handlers) waits for the uses under way to end and
 * lets no other start, so that no thread of this copy is inside liburcu (its
 * grace-period or registry mutex held, a reader's count raised) when the
 * child is made: in the child, the parent's other threads left in
 * urcu-bp's registry are outside any read-side section, which is all a
 * grace period asks of them. Neither this copy nor its index
 * runs call_rcu threads (the index never resizes), which the other two
 * hooks are for. Not covered: a thread of the parent that exits during
 * the fork holds urcu-bp's registry mutex for a moment (its unregistering
 * is liburcu's own thread-exit handler); the child then waits for good at
 * its next grace period (shmstat_close()) or at the first read-side
 * section of a new thread (format.md, "Known limits"). When liburcu's
 * hooks ran first in the fork (an application's, registered after this
 * copy's), its locks are the forking thread's: no thread of this copy is
 * inside them, and this copy does not wait for its uses, which may wait
 * for those locks (liburcu then cleans up in the child). It tells by the
 * forking thread's signals, which those hooks block, all of them: a
 * process that blocks every signal around its fork() itself has that
 * way too, and the race above for every use under way.
 */
#ifndef SHMSTAT_RCUUSE_H
#define SHMSTAT_RCUUSE_H

#include "segment.h"
#include "util.h"

/* a use of liburcu other than a read-side section; uses do not nest */
SHMSTAT_HIDDEN void shmstat__rcu_use_begin(void);
SHMSTAT_HIDDEN void shmstat__rcu_use_end(void);
/* a read-side section (urcu_bp_read_lock() inside the use) */
SHMSTAT_HIDDEN void shmstat__rcu_read_begin(void);
SHMSTAT_HIDDEN void shmstat__rcu_read_end(void);

/* tls.c's fork handlers: prepare before their other locks */
SHMSTAT_HIDDEN void shmstat__urcu_fork_prepare(void);
SHMSTAT_HIDDEN void shmstat__urcu_fork_parent(void);
SHMSTAT_HIDDEN void shmstat__urcu_fork_child(void);

/* The process index of @seg (registry.c): liburcu's hash table, made
 * with all its buckets. 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__index_init(struct shmstat_seg *seg);

#endif
