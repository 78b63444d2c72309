/*
 * alerts.h - judging rule values and keeping alert state, for
 * `shmstat check`.
 *
 * The engine never reads a segment or a history: the caller computes each
 * rule's value (struct rule_value), rule_level() turns it into a health,
 * and alert_step() moves the rule's alert through its states at a time
 * the caller gives (so tests drive a clock). The alert table is kept
 * between runs in a JSON file (alerts_load / alerts_save).
 *
 * The alert of a rule (docs/rules.md draws the same):
 *
 *          bad                      bad for `for`
 *   (none) ----> PENDING ----------------------------> FIRING
 *     ^             | ok / unknown before `for`        |   ^
 *     +-------------+                                  |   | bad for `for`
 *     ^                                           ok   v   |
 *     +--- quiet (never bad) for `expire` ------- CLEARED --> PENDING (again)
 *
 *   - bad: the level is WARNING or CRITICAL. A rule with `for: 0` fires at
 *     its first bad step.
 *   - PENDING reports OK: the rule is bad but has not been bad for `for`.
 *     A first PENDING that ends before `for` leaves no trace; a PENDING
 *     after a CLEARED goes back to CLEARED.
 *   - FIRING reports the current level (WARNING or CRITICAL; it may move
 *     between them without a new `for`).
 *   - UNKNOWN (no value, too few samples) is no evidence either way: it
 *     ends a PENDING streak (the rule was not seen bad for `for`) but
 *     neither clears a FIRING alert nor restarts a CLEARED one's quiet
 *     time; the rule reports UNKNOWN meanwhile.
 *   - A CLEARED alert that turns bad again within the quiet time is the
 *     same alert (active_since kept, fired counts the flaps); once quiet
 *     for `expire` it is forgotten.
 *
 * Health and exit codes follow the Nagios plugin convention.
 */
#ifndef SHMSTAT_ALERTS_H
#define SHMSTAT_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

enum health { HEALTH_OK = 0, HEALTH_WARNING = 1, HEALTH_CRITICAL = 2, HEALTH_UNKNOWN = 3 };

/* "OK", "WARNING", "CRITICAL", "UNKNOWN" */
const char *health_name(enum health h);

/**
 * health_overall - the worst of @h[0..n-1]: CRITICAL > WARNING > UNKNOWN
 * > OK (a rule that cannot be evaluated is worse than a good one, better
 * than a bad one). No rules: OK.
 */
enum health health_overall(const enum health *h, size_t n);

/* ------------------------------------------------------------ evaluation */

/* A rule's value, as the caller computed it. */
struct rule_value {
	int has_value;             /* 0: no value (no data, a 0 denominator) */
	double value;              /* in the unit of the rule's thresholds */
	uint64_t samples;          /* what the value rests on (events, values
				    * recorded, series: docs/rules.md) */
	int has_baseline;          /* baseline rules: the baseline was computed */
	double baseline;
	uint64_t baseline_history_ns; /* the history the baseline rests on
				    * (at most the baseline's window) */
	uint64_t baseline_stretches; /* the window-long stretches of the
				    * baseline's window (a gauge: its records) */
	uint64_t baseline_values;  /* how many of them gave a value: the
				    * baseline is their median or mean */
	uint64_t span_ns;          /* a window's: the time its records span
				    * (histq.h, window_span_long()); 0: none
				    * (no window, or no two records) */
	const char *why;           /* when there is no value or no baseline:
				    * why (a short lowercase phrase); may be NULL */
};

/**
 * rule_level - the level of rule @r for value @v:
 *   - UNKNOWN without a value (or NaN), with fewer than min_samples
 *     samples, or, for a baseline rule, without a (finite) baseline;
 *   - else CRITICAL when the value is bad against `critical`, WARNING
 *     when bad against `warning`, else OK; bad means value OP threshold.
 * With a baseline the value compared is the percent change
 * 100 * (value - baseline) / |baseline| (a 0 baseline: 0 if the value is
 * 0, else +-infinity); above / at_or_above are bad when the change is >
 * (>=) the threshold, below / at_or_below when the change is < (<=) minus
 * the threshold.
 * A baseline rule without a baseline (too little history: min_history)
 * that has a `fallback` is judged as a rule without a baseline, its value
 * against the fallback thresholds (rule_uses_fallback()).
 * *@shown (may be NULL): the value compared (the percent change for
 * baselines), NaN when there is none. *@why (may be NULL): why UNKNOWN,
 * else NULL; a static phrase or @v->why.
 */
enum health rule_level(const struct rule *r, const struct rule_value *v, double *shown,
		       const char **why);

/* 1 when rule_level() judges @v against @r's fallback thresholds: a
 * baseline rule with a fallback, a value and no baseline. */
int rule_uses_fallback(const struct rule *r, const struct rule_value *v);

/**
 * baseline_history - the history behind baseline rule @r at @now_ns,
 * when the history's first record is at @first_ns (0: no record): how
 * much of the baseline's window (which ends where the rule's window
 * begins) it covers, into *@have_ns. Return 1 when that is at least the
 * rule's min_history (a baseline may be computed), else 0.
 */
int baseline_history(const struct rule *r, uint64_t now_ns, uint64_t first_ns, uint64_t *have_ns);

/* ---------------------------------------------------------------- alerts */

enum alert_phase { ALERT_PENDING, ALERT_FIRING, ALERT_CLEARED };

/* "pending", "firing", "cleared" */
const char *alert_phase_name(enum alert_phase p);

/* Times are nanoseconds since the epoch (CLOCK_REALTIME, or the clock the
 * caller injects); 0 means "not set". */
struct alert {
	char *rule;                /* the rule's name */
	enum alert_phase phase;
	enum health state;         /* the rule's health after the last step */
	enum health bad_level;     /* WARNING or CRITICAL: the level of the
				    * current bad streak (the last one while
				    * CLEARED) */
	enum health worst;         /* worst level it fired at since
				    * active_since; OK before it first fires */
	uint64_t bad_since;        /* start of the current bad streak (0 while
				    * CLEARED) */
	uint64_t active_since;     /* when it first fired (the alert's start;
				    * kept while it flaps); 0 before */
	uint64_t cleared_at;       /* when it last stopped firing; 0 while
				    * FIRING and before it first cleared */
	uint64_t quiet_since;      /* CLEARED: not bad since then (the quiet
				    * time counts from here); else 0 */
	uint64_t last_ns;          /* time of the last step */
	uint32_t fired;            /* times it fired (> 1: it flapped) */
};

struct alert_table {
	struct alert *a;           /* in the order the alerts appeared */
	size_t n, cap;
	char *rules;               /* the rules file the state is of (its
				    * absolute path; "rules" in the file),
				    * or NULL: saved with it when set */
};

#define ALERTS_MAX 100000          /* alerts in a state file */

/* What a step changed (bits of alert_step_out.events). */
enum {
	ALERT_EV_PENDING = 1 << 0,  /* a bad streak began; not firing yet */
	ALERT_EV_FIRED   = 1 << 1,  /* it fired (again if fired > 1) */
	ALERT_EV_LEVEL   = 1 << 2,  /* firing, and its level changed */
	ALERT_EV_CLEARED = 1 << 3,  /* it stopped firing */
	ALERT_EV_RESET   = 1 << 4,  /* a pending streak ended before `for` */
	ALERT_EV_EXPIRED = 1 << 5,  /* a cleared alert was forgotten */
};

struct alert_step_out {
	enum health health;        /* the rule's health now: what check prints
				    * and exits with (PENDING: OK) */
	unsigned events;           /* ALERT_EV_* */
	const struct alert *alert; /* the rule's alert, or NULL if it has none
				    * (then health is the level given); valid
				    * until the table changes */
};

/**
 * alert_step - one evaluation of rule @r at @now_ns with @level (from
 * rule_level()): the transitions drawn at the top of this file, with
 * @r->for_ns and the quiet time @expire_ns (the ruleset's expire_ns).
 * Steps of one rule come in time order; a clock that goes back counts as
 * no time passed.
 * Return 0 (*@out filled), EINVAL (@now_ns 0, no rule name, a level out
 * of range) or ENOMEM.
 */
int alert_step(struct alert_table *t, const struct rule *r, enum health level, uint64_t now_ns,
	       uint64_t expire_ns, struct alert_step_out *out);

/** alert_find - the alert of rule @name, or NULL. */
const struct alert *alert_find(const struct alert_table *t, const char *name);

/**
 * alerts_prune - forget the alerts of rules that @rs no longer has (a
 * rule renamed or removed from the file). Return how many were dropped.
 */
size_t alerts_prune(struct alert_table *t, const struct ruleset *rs);

/**
 * alerts_load - read state file @path (JSON, schema shmstat.alerts/1,
 * docs/rules.md) into *@t, and the rules file it is of into @t->rules
 * (NULL: not said). A missing file is an empty table. Its directory is
 * resolved once (outpath.h's out_resolve(): a path through a symbolic
 * link another user may have planted is refused) and the file opened
 * there, by the directory's descriptor.
 * Return 0, or -1 with @err set ("FILE:LINE: ..." for bad JSON, "FILE:
 * alert N ('rule'): ..." for a bad alert); *@t is then empty. *@t is
 * overwritten, not freed: pass an empty or freed table.
 */
int alerts_load(const char *path, struct alert_table *t, char *err, size_t errlen);

/**
 * alerts_save - write @t to @path atomically: a temporary file in the
 * same directory, fsync, rename over @path, fsync of the directory; the
 * directory resolved once as alerts_load() resolves it, and each step
 * done in it by its descriptor. The file is 0600, 0640 when the one it
 * replaces is ours and 0640. Two processes saving at once do not
 * corrupt it (the last rename wins).
 * Return 0, or -1 with @err set.
 */
int alerts_save(const char *path, const struct alert_table *t, char *err, size_t errlen);

/** alerts_free - free the table; it is left empty. NULL is allowed. */
void alerts_free(struct alert_table *t);

#endif
