/*
 * behind.c - the clock behind a history file's last record: skip the
 * snapshot, or start the history anew past a bound (behind.h).
 */
#include "behind.h"

void behind_init(struct behind *b, uint64_t interval_ns)
{
	b->interval_ns = interval_ns ? interval_ns : 1;
	b->bound_ns = b->interval_ns > UINT64_MAX / BEHIND_STEPS ? UINT64_MAX
								 : b->interval_ns * BEHIND_STEPS;
	if (b->bound_ns < BEHIND_MIN_NS)
		b->bound_ns = BEHIND_MIN_NS;
	b->skipped = 0;
}

enum behind_do behind_next(struct behind *b, int has_last, uint64_t last_ns, uint64_t now_ns)
{
	if (!has_last || now_ns >= last_ns) {
		b->skipped = 0;
		return BEHIND_APPEND;
	}
	/* behind for longer than the bound: this snapshot would be the
	 * (skipped + 1)th in a row, covering that many intervals */
	if (last_ns - now_ns > b->bound_ns || b->skipped + 1 > b->bound_ns / b->interval_ns) {
		b->skipped = 0;
		return BEHIND_ANEW;
	}
	b->skipped++;
	return BEHIND_SKIP;
}
