/*
 * rules.h - alert rules files: what `shmstat check` evaluates.
 *
 * A rules file (YAML, parsed with libyaml; the format is documented in
 * docs/rules.md) holds a list of rules. A rule names an expression over
 * the metrics of a segment (a counter's rate or increase, a ratio of sums
 * of counters, a histogram quantile, a gauge, a signature-table figure),
 * the window it is computed over, a direction (above / below), warning
 * and critical thresholds, the minimum number of samples it needs, how
 * long it must be bad before it fires (`for`), and optionally a baseline
 * it is compared against (thresholds are then percent changes).
 *
 * This module only parses and checks files. Computing the values is the
 * caller's job (live snapshots, history windows); judging them and
 * keeping alert state is alerts.h's.
 *
 * Every malformed input is refused with "FILE:LINE: what is wrong": the
 * line of the key or value at fault (1-based), lowercase, naming the key
 * and the value.
 */
#ifndef SHMSTAT_RULES_H
#define SHMSTAT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "units.h"

/* --------------------------------------------------------------- limits */

#define RULES_MAX_FILE        (1u << 20)  /* bytes of a rules file */
#define RULES_MAX_RULES       1000
#define RULES_MAX_NAME        64          /* bytes of a rule name: [A-Za-z0-9_.:-] */
#define RULES_MAX_DESCRIPTION 1024        /* bytes of a description */
#define RULES_MAX_SELECTORS   16          /* selectors on each side of a ratio */
#define RULES_MAX_LABELS      16          /* label pairs in a selector (as the library) */
#define RULES_MAX_METRIC      95          /* bytes of a metric name (as the library) */
#define RULES_MAX_LABELS_LEN  223         /* bytes of a selector's canonical labels */
#define RULES_MAX_DEPTH       16          /* nested lists and mappings (a rule needs 5) */
#define RULES_MAX_DURATION_NS (366ull * 86400 * 1000000000) /* any duration */
#define RULES_DEFAULT_EXPIRE_NS (5ull * 60 * 1000000000)

/* ---------------------------------------------------------------- rules */

enum rule_kind {
	RULE_RATE,          /* counter: increase per second over the window */
	RULE_INCREASE,      /* counter: increase over the window */
	RULE_RATIO,         /* sum(num) increases / sum(den) increases */
	RULE_QUANTILE,      /* histogram: quantile q of the values recorded */
	RULE_GAUGE,         /* gauge: its current value */
	RULE_SIG,           /* signature table: one of its figures */
};

/* The value is bad when `value OP threshold`: above is RULE_GT,
 * at_or_above RULE_GE, below RULE_LT, at_or_below RULE_LE. */
enum rule_op { RULE_GT, RULE_GE, RULE_LT, RULE_LE };

enum rule_sig_figure {
	SIG_HIT_RATE,       /* hits / (hits + misses), 0..1 */
	SIG_HITS,
	SIG_MISSES,
	SIG_WEIGHT,
	SIG_EVICTIONS,
};

enum rule_base_stat { BASE_MEDIAN, BASE_MEAN };

/*
 * A selector: the series named @metric whose labels include every pair
 * keys[i]=values[i] (other labels are free); the figure is summed over
 * all of them. Written in files as metric or metric{k="v",...}.
 */
struct rule_selector {
	char *metric;
	size_t nlabels;
	char **keys, **values;  /* values unescaped; keys sorted, unique */
	char *labels;           /* the same pairs in the library's canonical
				 * form k="v",k2="v2" (sorted, \\ \" \n
				 * escaped; "" for none): what
				 * shmstat_labels_match() and struct
				 * shmstat_wquery take */
};

struct rule {
	/* (8-byte members first, then the 4-byte ones: no padding) */
	char *name;                   /* unique in the file */
	char *description;            /* NULL when not given */
	struct rule_selector sel;     /* rate, increase, quantile, gauge, sig */
	char *owner;                  /* sig: this owner's figure (NULL: the
				       * table's) */
	struct rule_selector *num, *den; /* ratio: sum(num) / sum(den) */
	size_t nnum, nden;
	double q;                     /* quantile: 0..1 */
	uint64_t window_ns;           /* 0: no window (the lifetime of the
				       * series; for gauges, always 0) */
	double warning, critical;     /* in the value's base unit (ns for
				       * durations, bytes, a fraction for
				       * 90%); with a baseline, percent
				       * changes in the bad direction (>= 0) */
	uint64_t min_samples;         /* fewer samples: UNKNOWN (0: no minimum) */
	uint64_t for_ns;              /* must be bad this long before firing */
	uint64_t baseline_window_ns;  /* the baseline: @baseline_stat of the
				       * value over this long before the window */
	uint64_t baseline_min_ns;     /* min_history: less history behind the
				       * baseline is no baseline (0: any) */
	double fb_warning, fb_critical; /* the fallback: as warning, critical
				       * without a baseline */
	int line;                     /* line of the rule in the file */
	enum rule_kind kind;
	enum rule_sig_figure figure;  /* sig */
	enum rule_op op;
	int has_warning, has_critical; /* at least one is set */
	enum qty_kind thr_kind;       /* what the thresholds were written as:
				       * QTY_NS or QTY_BYTES (the metric must
				       * be in ns or bytes), QTY_PERCENT, or
				       * QTY_PLAIN (plain numbers only) */
	int has_baseline;
	enum rule_base_stat baseline_stat;
	int has_fallback;             /* baseline rules: absolute thresholds
				       * for when there is no baseline */
	int has_fb_warning, has_fb_critical;
	enum qty_kind fb_kind;        /* as thr_kind, for the fallback */
};

/* What a rule's value is, for units and formats:
 *   RV_FRACTION  ratio, sig hit_ratio: 0 .. 1 (thresholds 0.9 or 90%)
 *   RV_COUNT     sig hits, misses, evictions: events
 *   RV_RATE      rate: per second, in the metric's unit
 *   RV_AMOUNT    increase, quantile, gauge, sig weight: in the metric's
 *                unit (a duration for "ns", bytes for "bytes") */
enum rule_vkind { RV_FRACTION, RV_COUNT, RV_RATE, RV_AMOUNT };

enum rule_vkind rule_value_kind(const struct rule *r);

struct ruleset {
	struct rule *rules;           /* in file order */
	size_t n;                     /* 1 .. RULES_MAX_RULES */
	uint64_t expire_ns;           /* quiet time before a cleared alert is
				       * forgotten (top-level `expire`,
				       * default 5 min) */
};

/**
 * rules_load - parse and check rules file @path into *@out.
 * Return 0, or -1 with @err (@errlen bytes, always NUL-terminated) set to
 * "FILE:LINE: what is wrong" (FILE alone when no line applies, e.g. the
 * file cannot be read); *@out is then empty and needs no rules_free().
 */
int rules_load(const char *path, struct ruleset *out, char *err, size_t errlen);

/**
 * rules_parse - the same from the @len bytes at @text; @path only names
 * the file in messages.
 */
int rules_parse(const char *path, const char *text, size_t len, struct ruleset *out, char *err,
		size_t errlen);

/** rules_free - free what rules_load() gave; *@rs is left empty. NULL is allowed. */
void rules_free(struct ruleset *rs);

/** rules_find - the rule named @name, or NULL. */
const struct rule *rules_find(const struct ruleset *rs, const char *name);

/* Names as the file writes them: "rate", ..., "sig"; ">", ">=", "<", "<=";
 * "hit_ratio", ...; "median", "mean". */
const char *rule_kind_name(enum rule_kind k);
const char *rule_op_name(enum rule_op op);
const char *rule_figure_name(enum rule_sig_figure f);
const char *rule_stat_name(enum rule_base_stat s);

/**
 * rule_fmt_value - @v, a value of rule @r, as units.h writes figures, in
 * @buf (@n bytes): a ratio "86.7%", a rate "148k/s", an amount in @unit
 * (the metric's registered unit: "2.5ms" for "ns", "4.2 MiB" for
 * "bytes"; NULL: the unit the thresholds were written in); with @pct
 * the percent change of a baseline rule, "+12.5%". "-" for NaN.
 */
void rule_fmt_value(const struct rule *r, const char *unit, double v, int pct, char *buf,
		    size_t n);

/* The unit of @r's value: the metric's registered @unit, or when NULL
 * the one its thresholds were written in ("ns", "bytes", else ""). */
const char *rule_value_unit(const struct rule *r, const char *unit);

/**
 * rule_unit_misfit - NULL when the metric's registered @unit suits the
 * thresholds of @r (durations need "ns", bytes "bytes"), else a message
 * naming the threshold and what it compares, in @buf (@n bytes): the
 * metric and its unit, or @what when not NULL (what the value is).
 */
const char *rule_unit_misfit(const struct rule *r, const char *unit, const char *what, char *buf,
			     size_t n);

/* ------------------------------------------------------- inline rules */

/*
 * A rule from the command line (`shmstat check NAME --rate METRIC -w X
 * -c Y`): the expression, the window, the direction and the thresholds
 * as Nagios plugins take them (-w, -c: a threshold, or a range with one
 * open end, docs/rules.md). Checked as a rules file is.
 */
struct rule_inline {
	enum rule_kind kind;
	const char *sel;              /* rate, increase, quantile, gauge, sig */
	const char *num, *den;        /* ratio: selectors joined by '+' */
	const char *q;                /* quantile */
	const char *figure;           /* sig */
	const char *window;           /* NULL: none (lifetime) */
	const char *warning, *critical; /* -w, -c; at least one */
	int below;                    /* --below: plain thresholds are lower
				       * bounds */
	const char *min_samples;      /* NULL: 0 */
};

/**
 * rules_inline - the ruleset of one rule named KIND:METRIC (cut to
 * RULES_MAX_NAME) from @in. Return 0, or -1 with @err set to
 * "OPTION: what is wrong" (*@out then empty).
 */
int rules_inline(const struct rule_inline *in, struct ruleset *out, char *err, size_t errlen);

/**
 * rules_parse_range - a -w/-c threshold @s as Nagios plugins write them
 * ([@]start:end, "~" for minus infinity), with one open end: "X" (bad
 * above X; with @below, bad below X), "~:X" (bad above X), "X:" (bad
 * below X), "@X:" (bad at or above X), "@~:X" (bad at or below X). The
 * direction into *@op, the text of X into @num (@numlen bytes). Return
 * 0, or -1 with @err set: a range bounded on both sides ("10:20", "@10")
 * has no single direction.
 */
int rules_parse_range(const char *s, int below, enum rule_op *op, char *num, size_t numlen,
		      char *err, size_t errlen);

/** rule_name_valid - 1 if @s is a valid rule name: 1..RULES_MAX_NAME of [A-Za-z0-9_.:-]. */
int rule_name_valid(const char *s);

/**
 * rules_parse_duration - a duration such as "250ms", "5m", "1h30m" or "0"
 * into *@ns (units ns, us, ms, s, m, h, d; at most RULES_MAX_DURATION_NS).
 * Return 0 or -1. For command-line options that take the same durations.
 */
int rules_parse_duration(const char *s, uint64_t *ns);

#endif
