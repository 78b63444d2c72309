/*
 * check_eval.h - the values of `shmstat check`'s rules (check_eval.c),
 * computed from a snapshot of the segment and the frames of its history.
 */
#ifndef SHMSTAT_CHECK_EVAL_H
#define SHMSTAT_CHECK_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alerts.h"
#include "histq.h"
#include "rules.h"

struct shmstat_snap;
struct shmstat_sigview;
struct check_plan;

struct check_ctx {
	struct shmstat_snap *snap;
	struct frames fr;          /* the history's frames, when have_history:
				    * their times only (no series) */
	struct check_plan *plan;   /* the rules' window figures (check_plan()) */
	struct shmstat_sigview **sigv;  /* the snapshot's signature tables by
				    * metric index, each merged once, when a
				    * rule first asks (check_views()); NULL:
				    * each rule merges its own */
	size_t nsigv;
	int have_history;
	uint64_t now;              /* ns since the epoch */
};

/**
 * check_views - room for the merged views of @c's snapshot's signature
 * tables, so that rules share them: each table is merged at most once,
 * however many rules read it. Without it (out of memory) each rule merges
 * the tables it reads; the values are the same. check_views_free() frees
 * the views.
 */
void check_views(struct check_ctx *c);
void check_views_free(struct check_ctx *c);

/**
 * check_plan - the figures over windows that the rules of @rs ask for
 * (windows, ratios' selectors, baseline stretches and points), read from
 * the history of @c in one pass over its records [@from, @to], one record
 * at a time (shmstat_history_windows(), the series @keep keeps): what it
 * takes follows the rules' windows and series, not the records. The
 * rules are evaluated once to learn what they ask for. 0, or an errno
 * (shmstat_last_error() says why).
 */
int check_plan(struct check_ctx *c, const struct ruleset *rs, uint64_t from, uint64_t to,
	       shmstat_series_filter keep, void *arg);
void check_plan_free(struct check_ctx *c);

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

/* ", its records span 1h10m" into @buf (@n bytes) when rule @r's window
 * value @v rests on records that span longer than the window (histq.h,
 * window_span_long()), else "". */
void check_span_note(const struct rule *r, const struct rule_value *v, char *buf, size_t n);
/* The performance data " 'NAME_span'=600s" onto @f in that case (also
 * when the span left the rule without a value), else nothing. */
void check_span_perf(const struct rule *r, const struct rule_value *v, FILE *f);

/* The unit of @r's value: the registered unit of its metric (a ratio's
 * first numerator) in the snapshot, but "" (a count) for the rate or
 * increase of a histogram, which count the values it recorded (*@hcount
 * then 1, else 0); NULL when the segment has no such metric. */
const char *check_unit(const struct check_ctx *c, const struct rule *r, int *hcount);
/* rule_unit_misfit() of @r with the unit check_unit() gave (@hcount
 * its flag; NULL: no misfit), the message into @buf: NULL when the
 * thresholds fit. */
const char *check_unit_misfit(const struct rule *r, const char *unit, int hcount, char *buf,
			      size_t n);

#endif
