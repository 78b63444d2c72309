/*
 * nagios.h - the Nagios plugin output of `shmstat check` (the monitoring
 * plugins' development guidelines): the first line
 *
 *   SHMSTAT WARNING - summary | 'label'=value[UOM];[warn];[crit];[min];[max] ...
 *
 * then long text, one line per rule. Here: the performance data, whose
 * values are numbers of [-0-9.] in a base unit (UOM s, B, %, c or none),
 * warn and crit ranges in the plugins' range format ([@]start:end, "~"
 * for minus infinity; alert outside the range, or inside it with "@").
 */
#ifndef SHMSTAT_NAGIOS_H
#define SHMSTAT_NAGIOS_H

#include <stddef.h>
#include <stdio.h>

#include "rules.h"

/* @v as perfdata writes numbers: digits, '-', '.', no exponent, at most
 * 6 significant digits ("0.000123", "266000", "86.7308"). A threshold
 * (nagios_range()) has as many as it has, up to 15 ("0.001234566"); a
 * value (nagios_perf_put()) more than 6 when it takes them to stand on
 * the same side of its thresholds as unrounded. */
void nagios_num(char *buf, size_t n, double v);

/* The range that alerts when a value is bad against @thr in direction
 * @op: above "~:X", below "X:", at_or_above "@X:", at_or_below "@~:X". */
void nagios_range(char *buf, size_t n, enum rule_op op, double thr);

struct nagios_perf {
	const char *label;
	double value;
	const char *uom;              /* "", "s", "%", "B", "c" */
	enum rule_op op;              /* the direction of warn and crit */
	int has_warn, has_crit, has_min, has_max;
	double warn, crit, min, max;  /* in the unit of @value */
};

/* " 'label'=value[UOM];[warn];[crit];[min];[max]" onto @f (a space
 * first; the label quoted, a quote in it doubled; trailing empty fields
 * dropped). Nothing when @p->value is not finite. */
void nagios_perf_put(FILE *f, const struct nagios_perf *p);

/* @s onto @f with '|' (which would start performance data) as \x7c */
void nagios_text_put(FILE *f, const char *s);

#endif
