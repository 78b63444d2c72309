/*
 * check_eval.h - the values of `shmstat check`'s rules (check_eval.c),
 * computed from a snapshot of the segment and the frames of its history.
 */
#ifndef SHMSTAT_CHECK_EVAL_H
#define SHMSTAT_CHECK_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "histq.h"
#include "rules.h"

struct shmstat_snap;

struct check_ctx {
	struct shmstat_snap *snap;
	struct frames fr;          /* the history's frames, when have_history */
	int have_history;
	uint64_t now;              /* ns since the epoch */
};

/**
 * check_evaluate - the value of rule @r now into *@v: no window, from
 * the snapshot (over the lifetime of the series); a window, from the
 * history; a baseline, from the history before the window (none with less
 * history behind it than the rule's min_history, nor with fewer
 * window-long stretches that gave a value than min_history holds windows:
 * @v->why says how much there is). @why (@whylen bytes) holds the reasons that are not static
 * phrases; @v->why may point into it.
 */
void check_evaluate(const struct check_ctx *c, const struct rule *r, struct rule_value *v,
		    char *why, size_t whylen);

/* What baseline @v of rule @r rests on into @buf (@n bytes): "12 of 36
 * 5m stretches" (v->baseline_values of v->baseline_stretches), for a
 * gauge "420 of 420 records". */
void check_baseline_points(char *buf, size_t n, const struct rule *r, const struct rule_value *v);

/* The registered unit of @r's metric (a ratio's first numerator) in the
 * snapshot; NULL when the segment has no such metric. */
const char *check_unit(const struct check_ctx *c, const struct rule *r);

#endif
