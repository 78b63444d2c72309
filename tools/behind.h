/*
 * behind.h - what shmstat record does with a snapshot when the clock is
 * behind the last record of its history file (behind.c): a record is
 * never appended before the last one, so the snapshot is skipped; a
 * clock that stays behind (the last record was written while the clock
 * was ahead: stepped back by NTP, a virtual machine resumed with a wrong
 * clock) would stop recording until it passes that record, so after a
 * bound the history starts anew (shmstat_history_restart()).
 *
 * The bound: BEHIND_STEPS intervals, or BEHIND_MIN_NS when that is
 * longer. The history starts anew at the first snapshot whose clock is
 * behind by more than the bound, or after the clock has been behind at
 * more snapshots in a row than the bound holds intervals. A clock behind
 * by less catches up within the bound: those snapshots are skipped.
 * No clock is read here: the times are passed in (tests drive them).
 */
#ifndef SHMSTAT_BEHIND_H
#define SHMSTAT_BEHIND_H

#include <stdint.h>

#define BEHIND_STEPS  10
#define BEHIND_MIN_NS (UINT64_C(600) * 1000000000u)   /* 10 min */

enum behind_do {
	BEHIND_APPEND,             /* the clock is not behind: append */
	BEHIND_SKIP,               /* behind, within the bound: skip this one */
	BEHIND_ANEW,               /* behind past the bound: start anew, append */
};

struct behind {
	uint64_t interval_ns;
	uint64_t bound_ns;         /* the bound (see above) */
	uint64_t skipped;          /* snapshots skipped in a row until now */
};

/* For a recorder taking a snapshot every @interval_ns (> 0). */
void behind_init(struct behind *b, uint64_t interval_ns);

/* The snapshot taken at @now_ns, when the history's last record is at
 * @last_ns (@has_last 0: it has none): what to do with it. Counts the
 * snapshots skipped in a row in b->skipped (0 again after an append). */
enum behind_do behind_next(struct behind *b, int has_last, uint64_t last_ns, uint64_t now_ns);

#endif
