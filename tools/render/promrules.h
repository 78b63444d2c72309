/*
 * promrules.h - a rules file (rules.h) as Prometheus recording and
 * alerting rules (`shmstat check --emit prometheus-rules`), so that the
 * rules `shmstat check` judges on one host judge a fleet the same way.
 *
 * Each rule that translates becomes, in one group `shmstat`:
 *   - a recording rule `shmstat:NAME:value`, its value in PromQL over
 *     the series the exporter names (prom.h: base units, one family per
 *     meaning), and `shmstat:NAME:samples` when it has min_samples;
 *   - an alerting rule NAME with label severity="critical" (value bad
 *     against critical) and one with severity="warning" (bad against
 *     warning, not against critical), each with the rule's `for`, the
 *     label shmstat_rule (the rule's own name) and its description;
 *   - with a baseline, the value compared is the percent change against
 *     the median (quantile_over_time 0.5) or mean (avg_over_time) of the
 *     recorded value over the baseline window before the rule's window.
 * What does not translate is left out and said (promrules_emit's
 * @why): rules without a window (their lifetime has no PromQL form,
 * except a gauge's value), and min_history/fallback of baselines (noted,
 * the rest translated).
 */
#ifndef SHMSTAT_PROMRULES_H
#define SHMSTAT_PROMRULES_H

#include <stdio.h>

#include "shmstat.h"
#include "rules.h"

/* What a metric is, when a segment says it (promrules_emit's @lookup):
 * its type and registered unit; 0, or -1 when the segment has no such
 * metric (the rule's kind and thresholds then say it). */
typedef int (*promrules_lookup)(const char *metric, enum shmstat_type *type, const char **unit,
				void *arg);

/* Write @rs (from file @source) as a Prometheus rules file to @f; each
 * rule left out or translated only in part gets a line "NAME: why" in
 * @notes (may be NULL). How many rules were translated. */
size_t promrules_emit(FILE *f, const struct ruleset *rs, const char *source,
		      promrules_lookup lookup, void *arg, FILE *notes);

#endif
