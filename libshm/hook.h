/*
 * hook.h - test hooks: named points in the library where a test can run
 * code of its own, to force one interleaving of two threads or processes
 * deterministically (a test blocks there on a pipe while another party
 * acts, or kills the process right there).
 *
 * Compiled only into the libraries the test suites link
 * (-DSHMSTAT_TEST_HOOKS, tests/meson.build): in the installed library
 * SHMSTAT_HOOK() is nothing at all, on the hot path as elsewhere.
 */
#ifndef SHMSTAT_HOOK_H
#define SHMSTAT_HOOK_H

#include "util.h"

enum shmstat_hook_point {
	/* shmstat_remove(): the descriptor is RETIRED without a sequence
	 * yet (arg: the descriptor) */
	SHMSTAT_HOOK_REMOVE_PENDING = 1,
	/* reuse_values(): a DEADV tombstone was picked by the scan (arg:
	 * the descriptor), and then its value_off was read */
	SHMSTAT_HOOK_REUSE_PICKED,
	/* a registration walks the directory for a free run of removed
	 * metrics' slots (arg: the segment) */
	SHMSTAT_HOOK_REUSE_WALK,
	SHMSTAT_HOOK_REUSE_READ,
	/* registration: the descriptor was found LIVE and the handle is
	 * about to be published in the process's index (arg: the
	 * descriptor) */
	SHMSTAT_HOOK_REG_FOUND,
	/* counter add: the handle passed its epoch check, the store is
	 * next (arg: the handle) */
	SHMSTAT_HOOK_ADD_CHECKED,
	/* the fold: MERGING published (fold_seq moved), the merge next; and
	 * FLIPPED stored, its fold_seq bump next (arg: the segment) */
	SHMSTAT_HOOK_FOLD_MERGING,
	SHMSTAT_HOOK_FOLD_FLIPPED,
	/* a reader's copy: fold_seq read and the object's extents taken,
	 * the copy next (arg: the reader) */
	SHMSTAT_HOOK_COPY_EXTENTS,
	/* a reader's copy: the stripes read (their first pass), the
	 * signature summaries and the last pass next (arg: the reader) */
	SHMSTAT_HOOK_COPY_STRIPES,
	/* a reader's copy: a live descriptor failed its checksum as read,
	 * its reads alone next (arg: the descriptor's slot, a uint32_t) */
	SHMSTAT_HOOK_DESC_TORN,
	/* the reaper's minimum of the writers' acknowledgements: a
	 * writer's ack_seq was read (arg: its struct shmstat_proc) */
	SHMSTAT_HOOK_RECLAIM_ACK,
	/* shmstat_remove(): the descriptor read LIVE holds the metric
	 * named, its CAS to PENDING next (arg: the descriptor) */
	SHMSTAT_HOOK_REMOVE_MATCHED,
	/* fork(), in the child: the slot preclaimed for it is adopted next
	 * (arg: the segment) */
	SHMSTAT_HOOK_FORK_ADOPT,
	/* a reader reads a process's gauges again (gaugesnap.c): its
	 * process stripe and thread stripes read, the process stripe's
	 * second read next (arg: the snapshot) */
	SHMSTAT_HOOK_GAUGE_REREAD,
	/* the reaper's merge of DEADV tombstones: the first of a run was
	 * taken (CLAIMED), the others are taken next (arg: the descriptor) */
	SHMSTAT_HOOK_COALESCE_CLAIMED,
	/* a wait for the reaper lock or for a claimed descriptor: one sleep
	 * or yield next (arg: the word waited on) */
	SHMSTAT_HOOK_WAIT,
	/* the reaper's minimum of the writers' acknowledgements: a
	 * writer slot's word was read, before its state is looked at (arg:
	 * its struct shmstat_proc) */
	SHMSTAT_HOOK_RECLAIM_SLOT,
	/* the reaper has its minimum of the acknowledgements and reads the
	 * removed metrics next (arg: the segment) */
	SHMSTAT_HOOK_RECLAIM_WALKED,
	/* a sum of one process's values (a gauge's value, a per-process
	 * breakdown) reads one of its stripes (arg: the snapshot) */
	SHMSTAT_HOOK_SUM_STRIPE,
	/* the SIGPROF handler took a signal to sample (its nesting guard
	 * passed), the walk next (arg: NULL) */
	SHMSTAT_HOOK_SIGPROF,
	/* shmstat_open() creates a segment: the object is sized, its
	 * header (the magic last) is written next (arg: the name) */
	SHMSTAT_HOOK_CREATE_SIZED,
	/* shmstat_snap_sigtab(): a signature table's summaries are merged
	 * into a view next (arg: the snapshot) */
	SHMSTAT_HOOK_SIGTAB_MERGE,
	/* the profiler publishes module records into a segment, its lock
	 * held (arg: the segment) */
	SHMSTAT_HOOK_PROF_PUBLISH,
	/* a history append: a new series' dictionary entry is in the
	 * writer's dictionary, its pwrite next (arg: the history) */
	SHMSTAT_HOOK_HIST_DICT,
	/* a window's figure of one owner of a table compares the name
	 * sought with a frame's owner's (arg: that owner's name) */
	SHMSTAT_HOOK_OWNER_NAME,
	/* fork(), in the parent: a claim is given the child's tag next
	 * (arg: that tag, a uint64_t the hook may set to 0, as where the
	 * kernel does not list children: the claim then keeps ours) */
	SHMSTAT_HOOK_FORK_RETAG,
	/* a window's query looks at a series of a frame, whether it answers
	 * (arg: the frame) */
	SHMSTAT_HOOK_WINDOW_SERIES,
	/* shmstat_frame_find() compares the name and labels sought with a
	 * series' (arg: its struct hdesc) */
	SHMSTAT_HOOK_FRAME_FIND,
	/* a window's walk compares a series with one of its tracks (arg:
	 * the track) */
	SHMSTAT_HOOK_WINDOW_TRACK,
	/* registration: the descriptor's shape and value slots were read
	 * and checked, the handle is made from them next (arg: the
	 * descriptor) */
	SHMSTAT_HOOK_REG_CHECKED,
	/* shmstat_profile_gc(): whether the process of a stack entry or
	 * module record runs is read in /proc next (a cancellation point;
	 * arg: its tag, a uint64_t) */
	SHMSTAT_HOOK_PROF_RECLAIM,
	/* shmstat_snap_profile(): the stack table was read, the module
	 * records' pread()s are next (arg: the reader) */
	SHMSTAT_HOOK_PROFILE_READ,
	/* shmstat_history_open(): the file is open and its header valid,
	 * the pread()s of its names next (arg: the history) */
	SHMSTAT_HOOK_HIST_OPENED,
	/* a history read (range, windows, each): a ring's valid record was
	 * found, the pread()s of the next are to come (arg: the history) */
	SHMSTAT_HOOK_HIST_SCANNED,
	/* the reaper lock was just taken by its CAS (and the write lock of
	 * its byte tried once more); the holder's stamps (reaper_pidns,
	 * reaper_locked, reaper_who) are next (arg: the lock word) */
	SHMSTAT_HOOK_REAPER_TAKEN,
	/* a writer slot was just claimed by its CAS (CLAIMING); its pidns,
	 * ack_seq and attach_ns stores are next (arg: its struct
	 * shmstat_proc) */
	SHMSTAT_HOOK_PROC_CLAIMED,
};

#ifdef SHMSTAT_TEST_HOOKS
/* Set by a test; called with the point and its argument. */
extern void (*shmstat__test_hook)(enum shmstat_hook_point point, const void *arg);
#define SHMSTAT_HOOK(point, arg)                                                   \
	do {                                                                        \
		void (*hook_)(enum shmstat_hook_point, const void *) =              \
			__atomic_load_n(&shmstat__test_hook, __ATOMIC_ACQUIRE);     \
		if (hook_ != NULL)                                                  \
			hook_((point), (arg));                                      \
	} while (0)
#else
#define SHMSTAT_HOOK(point, arg) ((void)0)
#endif

#endif
