/*
 * rcuuse.c - this copy's use of liburcu, kept out of fork() (rcuuse.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include <urcu/urcu-bp.h>
#include <urcu/rculfhash.h>

#include "rcuuse.h"
#include "segment.h"
#include "util.h"

/* The uses of liburcu under way (users), and fork() waiting for them
 * to end (forking): a use does not start meanwhile. fork() holds use_mx
 * from its prepare handler to its parent's or child's, as tls.c's
 * slots_lock. A use does not nest in another: the one thread would wait
 * for a fork that waits for it. */
static pthread_mutex_t use_mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t use_cv = PTHREAD_COND_INITIALIZER;
static unsigned long users;
static bool forking;

void shmstat__rcu_use_begin(void)
{
	pthread_mutex_lock(&use_mx);
	while (forking)
		pthread_cond_wait(&use_cv, &use_mx);
	users++;
	pthread_mutex_unlock(&use_mx);
}

void shmstat__rcu_use_end(void)
{
	pthread_mutex_lock(&use_mx);
	if (--users == 0 && forking)
		pthread_cond_broadcast(&use_cv);
	pthread_mutex_unlock(&use_mx);
}

void shmstat__rcu_read_begin(void)
{
	shmstat__rcu_use_begin();
	urcu_bp_read_lock();
}

void shmstat__rcu_read_end(void)
{
	urcu_bp_read_unlock();
	shmstat__rcu_use_end();
}

/* Has urcu_bp_before_fork() run in this fork() already (the
 * application's handler, registered after ours, runs before it)? It
 * blocks every signal in the forking thread, then takes liburcu's locks.
 * Then no thread of ours can be inside those locks, and waiting for the
 * uses to end would wait for good for one that waits for them (a new
 * thread's registration in its first read-side section). */
static bool urcu_forking(void)
{
	sigset_t cur;

	if (pthread_sigmask(SIG_SETMASK, NULL, &cur) != 0)
		return false;
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigismember(&cur, sig) != 1)
			return false;
	return true;
}

void shmstat__urcu_fork_prepare(void)
{
	const bool wait = !urcu_forking();

	pthread_mutex_lock(&use_mx);
	forking = true;
	while (wait && users > 0)
		pthread_cond_wait(&use_cv, &use_mx);
}

void shmstat__urcu_fork_parent(void)
{
	forking = false;
	pthread_cond_broadcast(&use_cv);
	pthread_mutex_unlock(&use_mx);
}

void shmstat__urcu_fork_child(void)
{
	/* the parent's other threads, their uses and their waits, are not
	 * the child's */
	users = 0;
	forking = false;
	pthread_cond_init(&use_cv, NULL);
	pthread_mutex_unlock(&use_mx);
}

/* The index has its buckets from the start: one per two descriptors of
 * the segment (at least 64), so it never grows: its handles are the live
 * metrics this process registered, at most max_metrics. liburcu (0.13)
 * asserts on every allocation it cannot make (the table, each order of
 * buckets, a resize's too): a resize in a registration made a writer
 * abort when memory ran out. Now liburcu allocates only here, at
 * shmstat_open(), after a trial allocation of what it takes has
 * succeeded. (Neither does the index resize itself: liburcu's automatic
 * resizing runs in a worker thread (liburcu-cds) that its fork hooks
 * start again in the child, where (liburcu 0.13) it finds its futex at
 * -2 and spins at 100% CPU instead of waiting; and that thread never
 * ends, so a process whose main thread called pthread_exit() would
 * outlive its own last thread.) */
#define INDEX_BUCKETS 64ul

int shmstat__index_init(struct shmstat_seg *seg)
{
	unsigned long n = INDEX_BUCKETS;
	void *trial;

	while (2 * n < seg->max_metrics)
		n *= 2;
	/* the buckets (one node each) and the table, more than liburcu asks */
	trial = malloc(n * sizeof(struct cds_lfht_node) + 4096);
	if (trial == NULL)
		return shmstat__fail(ENOMEM, "cannot allocate the metric index");
	free(trial);
	shmstat__rcu_use_begin();
	seg->index = cds_lfht_new_flavor(n, n, 0, 0, &urcu_bp_flavor, NULL);
	shmstat__rcu_use_end();
	if (seg->index == NULL)
		return shmstat__fail(ENOMEM, "cannot allocate the metric index");
	return 0;
}
