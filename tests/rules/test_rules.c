/*
 * test_rules.c - rules files (tools/alerting/rules.c): every malformed file of a
 * table gives "FILE:LINE: reason" with the expected line and reason; good
 * files give the expected structs; the documented example parses and is
 * the one docs/rules.md shows.
 *
 * Arguments: docs/examples/cachesim-rules.yaml, docs/rules.md.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rules.h"

#define S  1000000000ull
#define MS 1000000ull

static const char *example_path, *doc_path;

/* A rule that is fine, to append the key under test to. */
#define GOOD "rules:\n  - name: a\n    rate: x_total\n"

struct bad {
	const char *text;
	int line;               /* 0: no line in the message */
	const char *reason;     /* a substring of the message */
};

static const struct bad bad_cases[] = {
	/* the file as a whole */
	{ "", 1, "empty rules file" },
	{ "# only a comment\n\n", 1, "empty rules file" },
	{ "---\n", 1, "empty rules file" },
	{ "- a\n- b\n", 1, "must be a mapping with a 'rules' list, not a list" },
	{ "hello\n", 1, "must be a mapping with a 'rules' list, not a value" },
	{ "rules:\n\t- name: a\n", 2, "bad YAML: found character that cannot start any token" },
	{ "rules: [a, b\n", 2, "bad YAML: did not find expected ',' or ']'" },
	{ "rules:\n  - name: \"a\n", 3, "bad YAML: found unexpected end of stream" },
	{ "rules:\n  - name: a\xff\n", 2, "bad YAML: invalid" },
	{ "rulez: []\n", 1, "top level: unknown key (known: expire, rules)" },
	{ "expire: 5m\n", 1, "no 'rules' list" },
	{ "rules: {a: 1}\n", 1, "'rules' must be a list of rules, not a mapping" },
	{ "rules: []\n", 1, "'rules' is an empty list" },
	{ "rules:\n", 1, "'rules' must be a list of rules, not a value" },
	{ "expire: 5x\n" GOOD "    above: {critical: 1}\n", 1,
	  "top level: 'expire' is not a duration (write e.g." },
	{ "expire: [5m]\n" GOOD "    above: {critical: 1}\n", 1,
	  "'expire' must be a single value, not a list" },
	{ "expire: 5m\nexpire: 6m\n" GOOD "    above: {critical: 1}\n", 2,
	  "key 'expire' is given twice (first at line 1)" },
	{ GOOD "    above: {critical: 1}\n---\n" GOOD "    above: {critical: 1}\n", 5,
	  "a second YAML document" },
	{ "base: &b {critical: 1}\n" GOOD "    above: *b\n", 5, "aliases (*name) are not supported" },
	{ GOOD "    above: {critical: 1}\n  - <<: *x\n", 5, "aliases (*name) are not supported" },
	{ "rules:\n  - &r {name: a, rate: x, above: {critical: 1}}\n  - *r\n", 3,
	  "aliases (*name) are not supported" },

	/* a rule's keys */
	{ "rules:\n  - just-a-name\n", 2, "rule 1 must be a mapping (name: ..., rate: ..., ...), not a value" },
	{ "rules:\n  - [a, b]\n", 2, "rule 1 must be a mapping" },
	{ "rules:\n  - rate: x_total\n    above: {critical: 1}\n", 2, "rule 1 has no 'name'" },
	{ "rules:\n  - name: ''\n    rate: x\n    above: {critical: 1}\n", 2, "rule 1: 'name' has no value" },
	{ "rules:\n  - name:\n    rate: x\n    above: {critical: 1}\n", 2, "rule 1: 'name' has no value" },
	{ "rules:\n  - name: a b\n    rate: x\n    above: {critical: 1}\n", 2,
	  "rule 1: 'name' has a character other than A-Z a-z 0-9 _ . : -" },
	{ "rules:\n  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	  "    rate: x\n    above: {critical: 1}\n", 2, "rule 1: 'name' is longer than 64 bytes" },
	{ "rules:\n  - name: \"a\\0b\"\n    rate: x\n    above: {critical: 1}\n", 2,
	  "rule 1: 'name' holds a NUL byte" },
	{ "rules:\n  - name: {a: 1}\n    rate: x\n    above: {critical: 1}\n", 2,
	  "rule 1: 'name' must be a single value, not a mapping" },
	{ GOOD "    above: {critical: 1}\n  - name: a\n    gauge: y\n    above: {critical: 1}\n", 5,
	  "duplicate rule name 'a' (first at line 2)" },
	/* a baseline rule a writes 'a_change' in the performance data */
	{ "rules:\n  - name: a_change\n    gauge: y\n    above: {critical: 1}\n"
	  "  - name: a\n    gauge: y\n    baseline: {window: 1h}\n    above: {critical: 1}\n", 2,
	  "rule 'a_change': its name is the performance data label of the change of rule 'a' (line 5) against its baseline: rename it" },
	/* a window rule a writes 'a_span' when its records span longer */
	{ "rules:\n  - name: a\n    rate: x\n    window: 5m\n    above: {critical: 1}\n"
	  "  - name: a_span\n    gauge: y\n    above: {critical: 1}\n", 6,
	  "rule 'a_span': its name is the performance data label of the span of rule 'a' (line 2) over its window: rename it" },
	{ GOOD "    windw: 5m\n    above: {critical: 1}\n", 4,
	  "rule 'a': unknown key (known: name, description, rate, increase, ratio" },
	{ GOOD "    window: 5m\n    window: 6m\n    above: {critical: 1}\n", 5,
	  "rule 'a': key 'window' is given twice (first at line 4)" },
	{ GOOD "    [x]: 1\n    above: {critical: 1}\n", 4, "rule 'a': keys must be plain names, not a list" },
	{ GOOD "    description: [a]\n    above: {critical: 1}\n", 4,
	  "rule 'a': 'description' must be a single value, not a list" },

	/* expressions */
	{ "rules:\n  - name: a\n    window: 5m\n    above: {critical: 1}\n", 2,
	  "rule 'a' has no expression: give one of rate, increase, ratio, quantile, gauge, sig" },
	{ GOOD "    gauge: y\n    above: {critical: 1}\n", 4,
	  "rule 'a' has two expressions, 'rate' and 'gauge': give one" },
	{ "rules:\n  - name: a\n    rate: '1x'\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'rate' is not a selector: a metric name starts with a letter, '_' or ':' (at character 1 of the value)" },
	{ "rules:\n  - name: a\n    rate: 'x{tier=t1}'\n    above: {critical: 1}\n", 3,
	  "the value of label 1 must be in double quotes (at character 8 of the value)" },
	{ "rules:\n  - name: a\n    rate: 'x{tier=\"t1\"'\n    above: {critical: 1}\n", 3,
	  "expected ',' or '}' after label 1 (no closing '}')" },
	{ "rules:\n  - name: a\n    rate: 'x{tier=\"t1}'\n    above: {critical: 1}\n", 3,
	  "the value of label 1 has no closing '\"'" },
	{ "rules:\n  - name: a\n    rate: 'x{tier}'\n    above: {critical: 1}\n", 3,
	  "expected '=' after label 1 (at character 7 of the value)" },
	{ "rules:\n  - name: a\n    rate: 'x{a=\"1\",a=\"2\"}'\n    above: {critical: 1}\n", 3,
	  "labels 1 and 2 have the same name" },
	{ "rules:\n  - name: a\n    rate: 'x{__a=\"1\"}'\n    above: {critical: 1}\n", 3,
	  "label names starting with '__' are reserved" },
	{ "rules:\n  - name: a\n    rate: 'x{a=\"\\t\"}'\n    above: {critical: 1}\n", 3,
	  "unknown escape in the value of label 1" },
	{ "rules:\n  - name: a\n    rate: 'x{a=\"1\"} y'\n    above: {critical: 1}\n", 3,
	  "unexpected text after the labels (at character 9 of the value)" },
	{ "rules:\n  - name: a\n    rate: 'x y'\n    above: {critical: 1}\n", 3,
	  "unexpected text after the metric name" },
	{ "rules:\n  - name: a\n    rate: 'x{1=\"a\"}'\n    above: {critical: 1}\n", 3,
	  "expected a label name" },
	{ "rules:\n  - name: a\n    rate: "
	  "'x{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",i=\"1\",j=\"1\","
	  "k=\"1\",l=\"1\",m=\"1\",n=\"1\",o=\"1\",p=\"1\",q=\"1\"}'\n    above: {critical: 1}\n",
	  3, "more than 16 labels" },
	{ "rules:\n  - name: a\n    rate: x_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    above: {critical: 1}\n", 3,
	  "the metric name is longer than 95 bytes" },
	{ "rules:\n  - name: a\n    rate: {}\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'rate' has no 'metric'" },
	{ "rules:\n  - name: a\n    rate: {metric: x, q: 1}\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'rate': unknown key (known: metric)" },
	{ "rules:\n  - name: a\n    gauge: [x]\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'gauge' must be a single value, not a list" },
	{ "rules:\n  - name: a\n    quantile: x\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'quantile' must be a mapping {metric: ..., q: ...}" },
	{ "rules:\n  - name: a\n    quantile: {metric: x}\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'quantile' has no 'q'" },
	{ "rules:\n  - name: a\n    quantile: {q: 0.5}\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'quantile' has no 'metric'" },
	{ "rules:\n  - name: a\n    quantile:\n      metric: x\n      q: 1.5\n    above: {critical: 1}\n", 5,
	  "rule 'a': 'q' must be between 0 and 1 (0.95 for the 95th percentile)" },
	{ "rules:\n  - name: a\n    quantile: {metric: x, q: -0.1}\n    above: {critical: 1}\n", 3,
	  "'q' must be between 0 and 1" },
	{ "rules:\n  - name: a\n    quantile: {metric: x, q: p95}\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'q' is not a number" },
	{ "rules:\n  - name: a\n    quantile: {metric: x, q: nan}\n    above: {critical: 1}\n", 3,
	  "'q' is not a number" },
	{ "rules:\n  - name: a\n    sig: x\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'sig' must be a mapping {metric: ..., figure: ...}" },
	{ "rules:\n  - name: a\n    sig: {metric: x, figure: hitrate}\n    above: {critical: 1}\n", 3,
	  "rule 'a': unknown 'figure' (known: hit_ratio, hits, misses, weight, evictions)" },
	{ "rules:\n  - name: a\n    sig: {metric: x}\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'sig' has no 'figure'" },
	{ "rules:\n  - name: a\n    ratio: {num: [x]}\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'ratio' has no 'den'" },
	{ "rules:\n  - name: a\n    ratio: [x, y]\n    above: {critical: 1}\n", 3,
	  "rule 'a': 'ratio' must be a mapping {num: [...], den: [...]}" },
	{ "rules:\n  - name: a\n    ratio:\n      num: []\n      den: [y]\n    above: {critical: 1}\n", 4,
	  "rule 'a': 'num' is an empty list" },
	{ "rules:\n  - name: a\n    ratio:\n      num: {x: 1}\n      den: [y]\n    above: {critical: 1}\n", 4,
	  "rule 'a': 'num' must be a selector or a list of selectors" },
	{ "rules:\n  - name: a\n    ratio:\n      num: [x]\n      den: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q]\n"
	  "    above: {critical: 1}\n", 5, "rule 'a': 'den' has more than 16 selectors" },
	{ "rules:\n  - name: a\n    ratio:\n      num: [x]\n      den:\n        - y\n        - 'z{'\n"
	  "    above: {critical: 1}\n", 7, "rule 'a': 'den' is not a selector: no closing '}'" },
	{ "rules:\n  - name: a\n    ratio:\n      num: [x]\n      den: [y]\n      sum: [z]\n"
	  "    above: {critical: 1}\n", 6, "rule 'a': 'ratio': unknown key (known: num, den)" },

	/* window, for, min_samples */
	{ GOOD "    window: 5\n    above: {critical: 1}\n", 4,
	  "rule 'a': 'window' is not a duration (write e.g. 30s, 5m, 1h30m" },
	{ GOOD "    window: 5 m\n    above: {critical: 1}\n", 4, "'window' is not a duration" },
	{ GOOD "    window: -5m\n    above: {critical: 1}\n", 4, "'window' is not a duration" },
	{ GOOD "    window: 5min\n    above: {critical: 1}\n", 4, "'window' is not a duration" },
	{ GOOD "    window: 367d\n    above: {critical: 1}\n", 4, "'window' is not a duration" },
	{ GOOD "    window: 99999999999999999999999s\n    above: {critical: 1}\n", 4,
	  "'window' is not a duration" },
	{ GOOD "    window: 0\n    above: {critical: 1}\n", 4, "rule 'a': 'window' must be longer than 0" },
	{ GOOD "    window:\n    above: {critical: 1}\n", 4, "rule 'a': 'window' has no value" },
	{ "rules:\n  - name: a\n    gauge: x\n    window: 5m\n    above: {critical: 1}\n", 4,
	  "rule 'a': 'window' does not apply to a gauge" },
	{ GOOD "    for: soon\n    above: {critical: 1}\n", 4, "rule 'a': 'for' is not a duration" },
	{ GOOD "    min_samples: 10.5\n    above: {critical: 1}\n", 4,
	  "rule 'a': 'min_samples' is not a whole number >= 0" },
	{ GOOD "    min_samples: -1\n    above: {critical: 1}\n", 4,
	  "'min_samples' is not a whole number >= 0" },
	{ GOOD "    min_samples: ten\n    above: {critical: 1}\n", 4,
	  "'min_samples' is not a whole number >= 0" },
	{ GOOD "    min_samples: 99999999999999999999\n    above: {critical: 1}\n", 4,
	  "rule 'a': 'min_samples' is too large" },

	/* thresholds */
	{ GOOD "    window: 5m\n", 2,
	  "rule 'a' has no thresholds: give one of above, at_or_above, below, at_or_below" },
	{ GOOD "    above: {critical: 1}\n    below: {critical: 0}\n", 5,
	  "rule 'a' has two directions, 'above' and 'below': give one" },
	{ GOOD "    above: 5\n", 4, "rule 'a': 'above' must be a mapping {warning: ..., critical: ...}" },
	{ GOOD "    above: {}\n", 4, "rule 'a': 'above' needs 'warning', 'critical' or both" },
	{ GOOD "    above: {warn: 1}\n", 4, "rule 'a': 'above': unknown key (known: warning, critical)" },
	{ GOOD "    above:\n      warning: 10\n      critical: 5\n", 5,
	  "rule 'a': 'above': warning (10) must be at most critical (5)" },
	{ GOOD "    at_or_above: {warning: 10, critical: 5}\n", 4,
	  "'at_or_above': warning (10) must be at most critical (5)" },
	{ GOOD "    below: {warning: 0.8, critical: 0.9}\n", 4,
	  "rule 'a': 'below': warning (0.8) must be at least critical (0.9)" },
	{ GOOD "    at_or_below: {warning: 0.8, critical: 0.9}\n", 4,
	  "'at_or_below': warning (0.8) must be at least critical (0.9)" },
	{ GOOD "    above: {warning: lots}\n", 4, "rule 'a': 'above': 'warning' is not a number (" },
	{ GOOD "    above: {warning: inf}\n", 4, "'warning' is not a number" },
	{ GOOD "    above: {warning: 0x10}\n", 4, "'warning' is not a number" },
	{ GOOD "    above: {warning: 1e999}\n", 4, "'warning' is not a number" },
	{ GOOD "    above: {critical: 5 ms}\n", 4, "'critical' is not a number" },
	{ GOOD "    above: {critical: 90%}\n", 4,
	  "rule 'a': 'above': 'critical: 90%' is a percentage, but the rule compares a rate (" },
	{ GOOD "    above: {critical: 90%}\n", 4, "; percent changes need a 'baseline'" },
	{ GOOD "    above: {critical: 15XB}\n", 4, "rule 'a': 'above': 'critical' is not a number (" },
	/* units that do not fit what the rule compares (issue 20) */
	{ "rules:\n  - name: a\n    ratio: {num: x, den: y}\n    below: {warning: 15MB}\n", 4,
	  "rule 'a': 'below': 'warning: 15MB' is bytes, but the rule compares a ratio (write 0.9 or 90%)" },
	{ "rules:\n  - name: a\n    ratio: {num: x, den: y}\n    below: {critical: 2ms}\n", 4,
	  "rule 'a': 'below': 'critical: 2ms' is a duration, but the rule compares a ratio" },
	{ "rules:\n  - name: a\n    sig: {metric: s, figure: hit_rate}\n    below: {warning: 1KiB}\n", 4,
	  "rule 'a': 'below': 'warning: 1KiB' is bytes, but the rule compares a hit ratio (write 0.9 or 90%)" },
	/* an owner's figure (issue 21): not of evictions, a scalar */
	{ "rules:\n  - name: a\n    sig: {metric: s, figure: evictions, owner: x}\n    above: {warning: 1}\n", 3,
	  "rule 'a': 'owner' takes hits, misses, weight or hit_ratio: evictions are the table's" },
	{ "rules:\n  - name: a\n    sig: {metric: s, figure: hits, owner: [x]}\n    above: {warning: 1}\n", 3,
	  "'owner'" },
	{ "rules:\n  - name: a\n    sig: {metric: s, figure: misses}\n    above: {warning: 2ms}\n", 4,
	  "rule 'a': 'above': 'warning: 2ms' is a duration, but the rule compares a count (write a number" },
	{ "rules:\n  - name: a\n    sig: {metric: s, figure: hits}\n    below: {warning: 50%}\n", 4,
	  "'warning: 50%' is a percentage, but the rule compares a count" },
	{ "rules:\n  - name: a\n    gauge: g\n    above: {warning: 95%}\n", 4,
	  "rule 'a': 'above': 'warning: 95%' is a percentage, but the rule compares a value in the metric's unit" },
	{ "rules:\n  - name: a\n    quantile: {metric: x, q: 0.9}\n    above: {warning: 2ms, critical: 15MB}\n", 4,
	  "rule 'a': 'above': warning (2ms) is a duration, critical (15MB) bytes" },
	{ "rules:\n  - name: a\n    gauge: g\n    above: {warning: 2MiB, critical: 1MB}\n", 4,
	  "rule 'a': 'above': warning (2MiB) must be at most critical (1MB): it is the lesser alarm" },
	{ GOOD "    above: {critical: [1]}\n", 4, "'critical' must be a single value, not a list" },

	/* baselines */
	{ GOOD "    window: 5m\n    baseline: {stat: median}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline' has no 'window' (how far back it looks, e.g. 24h)" },
	{ GOOD "    window: 5m\n    baseline: 24h\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline' must be a mapping {window: ..., stat: median|mean}" },
	{ GOOD "    window: 5m\n    baseline: {window: 24h, stat: p50}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': unknown 'stat' (known: median, mean)" },
	{ GOOD "    window: 5m\n    baseline: {window: 24h, min: 1}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': unknown key (known: window, stat, min_history, fallback)" },
	{ GOOD "    window: 5m\n    baseline: {window: 24h, min_history: 5}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'min_history' is not a duration (" },
	{ GOOD "    window: 5m\n    baseline: {window: 1h, min_history: 2h}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': 'min_history' must be at most the baseline's 'window'" },
	{ GOOD "    window: 5m\n    baseline: {window: 1h, fallback: 5}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': 'fallback' must be a mapping {warning: ..., critical: ...}" },
	{ GOOD "    window: 5m\n    baseline: {window: 1h, fallback: {}}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': 'fallback' needs 'warning', 'critical' or both" },
	{ GOOD "    window: 5m\n    baseline: {window: 1h, fallback: {warn: 1}}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': 'fallback': unknown key (known: warning, critical)" },
	{ "rules:\n  - name: a\n    quantile: {metric: x, q: 0.9}\n    window: 5m\n"
	  "    baseline: {window: 1h, fallback: {critical: 20%}}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': 'fallback': 'critical: 20%' is a percentage, but the rule compares a value in the metric's unit" },
	{ "rules:\n  - name: a\n    quantile: {metric: x, q: 0.9}\n    window: 5m\n"
	  "    baseline: {window: 1h, fallback: {warning: 5ms, critical: 2ms}}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': 'fallback': warning (5ms) must be at most critical (2ms)" },
	{ "rules:\n  - name: a\n    ratio: {num: x, den: y}\n    window: 5m\n"
	  "    baseline: {window: 1h, fallback: {warning: 0.8, critical: 0.9}}\n    below: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': 'fallback': warning (0.8) must be at least critical (0.9)" },
	{ GOOD "    window: 5m\n    baseline: {window: 0}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': 'baseline': 'window' must be longer than 0" },
	{ GOOD "    baseline: {window: 24h}\n    above: {critical: 20%}\n", 4,
	  "rule 'a': a 'baseline' needs the rule's 'window'" },
	{ GOOD "    window: 1h\n    baseline: {window: 30m}\n    above: {critical: 20%}\n", 5,
	  "rule 'a': the baseline's 'window' must be longer than the rule's 'window'" },
	{ GOOD "    window: 5m\n    baseline: {window: 24h}\n    above: {critical: -20%}\n", 6,
	  "'critical: -20%': a baseline threshold is a change in the bad direction, >= 0" },
	{ "rules:\n  - name: a\n    quantile: {metric: x, q: 0.9}\n    window: 5m\n"
	  "    baseline: {window: 24h}\n    above: {critical: 2ms}\n", 6,
	  "'critical: 2ms': with a baseline, thresholds are percent changes (e.g. 20%), not durations" },
	{ GOOD "    window: 5m\n    baseline: {window: 24h}\n    below: {warning: 50%, critical: 20%}\n", 6,
	  "rule 'a': 'below': warning (50%) must be at most critical (20%)" },
};

static char err[512];

/* After "t.yaml:LINE:": " " or "COLUMN: " (no line: " " alone). */
static int after_line(const char *p, int line)
{
	if (line == 0 || *p == ' ')
		return *p == ' ';
	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return p[0] == ':' && p[1] == ' ';
}

static void check_bad(const struct bad *b, size_t i)
{
	struct ruleset rs = { (void *)1, 99, 1 };
	char want[32];
	const char *msg;
	int rc;

	rc = rules_parse("t.yaml", b->text, strlen(b->text), &rs, err, sizeof(err));
	if (rc != -1 || (b->line ? snprintf(want, sizeof(want), "t.yaml:%d:", b->line) :
				   snprintf(want, sizeof(want), "t.yaml:")) < 0 ||
	    strncmp(err, want, strlen(want)) != 0 || !after_line(err + strlen(want), b->line) ||
	    strstr(err, b->reason) == NULL)
		fail_msg("case %zu: want line %d and \"%s\"\n  text: %s\n  got %d: %s", i, b->line,
			 b->reason, b->text, rc, err);
	if (getenv("TEST_RULES_SHOW"))     /* to read every message */
		fprintf(stderr, "%s\n", err);
	/* lowercase, no final full stop */
	msg = strchr(err + strlen("t.yaml:"), ' ');
	assert_non_null(msg);
	if (msg[1] >= 'A' && msg[1] <= 'Z')
		fail_msg("case %zu: message starts with '%c': %s", i, msg[1], err);
	assert_true(err[strlen(err) - 1] != '.');
	/* nothing left to free */
	assert_null(rs.rules);
	assert_int_equal(rs.n, 0);
}

static void test_bad_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		check_bad(&bad_cases[i], i);
}

/* Texts built by the test: more than 1000 rules; the file size bound. */
static void test_limits(void **state)
{
	size_t cap = 64 * 1024, o;
	char *t = malloc(cap);
	struct ruleset rs;

	(void)state;
	assert_non_null(t);
	o = (size_t)sprintf(t, "rules:\n");
	for (int i = 0; i < RULES_MAX_RULES; i++)
		o += (size_t)sprintf(t + o, "  - {name: r%d, gauge: x, above: {critical: 1}}\n", i);
	assert_int_equal(rules_parse("t.yaml", t, o, &rs, err, sizeof(err)), 0);
	assert_int_equal(rs.n, RULES_MAX_RULES);
	assert_string_equal(rs.rules[999].name, "r999");
	assert_int_equal(rs.rules[999].line, 1001);
	rules_free(&rs);
	o += (size_t)sprintf(t + o, "  - {name: one-more, gauge: x, above: {critical: 1}}\n");
	assert_int_equal(rules_parse("t.yaml", t, o, &rs, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:1002:5: more than 1000 rules");
	free(t);

	t = calloc(1, RULES_MAX_FILE + 2);
	assert_non_null(t);
	memset(t, '#', RULES_MAX_FILE + 1);
	assert_int_equal(rules_parse("t.yaml", t, RULES_MAX_FILE + 1, &rs, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml: larger than 1048576 bytes");
	free(t);

	/* a description at the bound, one byte over */
	t = malloc(4096);
	assert_non_null(t);
	o = (size_t)sprintf(t, GOOD "    above: {critical: 1}\n    description: ");
	memset(t + o, 'd', RULES_MAX_DESCRIPTION);
	strcpy(t + o + RULES_MAX_DESCRIPTION, "\n");
	assert_int_equal(rules_parse("t.yaml", t, strlen(t), &rs, err, sizeof(err)), 0);
	assert_int_equal(strlen(rs.rules[0].description), RULES_MAX_DESCRIPTION);
	rules_free(&rs);
	strcpy(t + o + RULES_MAX_DESCRIPTION, "d\n");
	assert_int_equal(rules_parse("t.yaml", t, strlen(t), &rs, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:5:18: rule 'a': 'description' is longer than 1024 bytes");
	free(t);

	/* nesting: a rule's own depth is fine; one level past the bound is
	 * refused where it starts; half a megabyte of '[' (whose scan by
	 * libyaml is quadratic, minutes) is refused at the same place */
	t = malloc(1u << 20);
	assert_non_null(t);
	o = (size_t)sprintf(t, "rules:\n  - name: a\n    ratio: {num: [x_total], den: [x_total, y_total]}\n"
			       "    window: 5m\n    above: {critical: 2}\n"
			       "  - name: b\n    quantile: {metric: h, q: 0.95}\n    window: 5m\n"
			       "    above: {critical: 2}\n    baseline: {window: 24h, stat: median, "
			       "min_history: 5m, fallback: {critical: 5ms}}\n");
	if (rules_parse("t.yaml", t, o, &rs, err, sizeof(err)) != 0)
		fail_msg("a rule of depth 5: %s", err);
	rules_free(&rs);
	for (size_t depth = RULES_MAX_DEPTH - 1; depth <= 500000; depth = depth * 2 + 1) {
		o = (size_t)sprintf(t, "rules: ");
		memset(t + o, '[', depth);
		memset(t + o + depth, ']', depth);
		o += 2 * depth;
		assert_int_equal(rules_parse("t.yaml", t, o, &rs, err, sizeof(err)), -1);
		if (depth < RULES_MAX_DEPTH)
			assert_null(strstr(err, "nested"));
		else
			assert_string_equal(err, "t.yaml:1:23: lists and mappings nested deeper "
						 "than 16 levels");
	}
	free(t);

	/* a short error buffer: cut, still terminated */
	{
		char small[12];

		assert_int_equal(rules_parse("t.yaml", "rules: []\n", 10, &rs, small, sizeof(small)), -1);
		assert_string_equal(small, "t.yaml:1:8:");
		assert_int_equal(rules_parse("t.yaml", "rules: []\n", 10, &rs, NULL, 0), -1);
	}
}

static void check_sel(const struct rule_selector *s, const char *metric, const char *labels)
{
	assert_string_equal(s->metric, metric);
	assert_string_equal(s->labels, labels);
}

static void test_good(void **state)
{
	static const char text[] =
		"# a comment\n"
		"expire: 1h30m\n"
		"rules:\n"
		"  - name: hit-ratio\n"                                       /* 4 */
		"    description: cache hit ratio\n"
		"    ratio:\n"
		"      num: cachesim_hits_total\n"
		"      den: [cachesim_hits_total, 'cachesim_misses_total{model=\"gpt-4o\"}']\n"
		"    window: 5m\n"
		"    below: {warning: 0.9, critical: 0.8}\n"
		"    min_samples: 10\n"
		"    for: 1m\n"
		"  - name: p95\n"                                             /* 13 */
		"    quantile: {metric: 'lat{b=\"x\\\"y\", a = \"1\" ,}', q: 0.95}\n"
		"    window: 250ms\n"
		"    at_or_above: {warning: 2ms, critical: 1.5s}\n"
		"  - name: p95.degraded\n"                                    /* 17 */
		"    quantile: {metric: lat, q: 1}\n"
		"    window: 5m\n"
		"    baseline: {window: 24h}\n"
		"    above: {warning: 20%, critical: 50}\n"
		"  - name: errors_1\n"                                        /* 22 */
		"    rate: {metric: 'errs{tier=\"t1\"}'}\n"
		"    above: {critical: 5}\n"
		"  - name: 'drop:mean'\n"                                     /* 25 */
		"    sig: {metric: sigs, figure: weight}\n"
		"    window: 1h\n"
		"    baseline: {window: 7d, stat: mean}\n"
		"    at_or_below: {warning: 30%}\n"
		"  - name: inflight\n"                                        /* 30 */
		"    gauge: inflight\n"
		"    above: {warning: -1e3, critical: 1e3}\n"
		"    for: 0\n"
		"  - {name: n, increase: c_total, window: 1d, below: {critical: 1}}\n"
		"  - name: gauge-ns\n"
		"    gauge: lag_ns\n"
		"    baseline: {window: 1h}\n"
		"    above: {critical: 100}\n";
	struct ruleset rs;
	const struct rule *r;

	(void)state;
	if (rules_parse("t.yaml", text, strlen(text), &rs, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(rs.n, 8);
	assert_int_equal(rs.expire_ns, 5400 * S);

	r = &rs.rules[0];
	assert_string_equal(r->name, "hit-ratio");
	assert_int_equal(r->line, 4);
	assert_string_equal(r->description, "cache hit ratio");
	assert_int_equal(r->kind, RULE_RATIO);
	assert_int_equal(r->nnum, 1);
	assert_int_equal(r->nden, 2);
	check_sel(&r->num[0], "cachesim_hits_total", "");
	assert_int_equal(r->num[0].nlabels, 0);
	check_sel(&r->den[0], "cachesim_hits_total", "");
	check_sel(&r->den[1], "cachesim_misses_total", "model=\"gpt-4o\"");
	assert_int_equal(r->den[1].nlabels, 1);
	assert_string_equal(r->den[1].keys[0], "model");
	assert_string_equal(r->den[1].values[0], "gpt-4o");
	assert_null(r->sel.metric);
	assert_int_equal(r->window_ns, 300 * S);
	assert_int_equal(r->op, RULE_LT);
	assert_true(r->has_warning && r->has_critical);
	assert_true(r->warning == 0.9 && r->critical == 0.8);
	assert_int_equal(r->thr_kind, QTY_PLAIN);
	assert_int_equal(r->min_samples, 10);
	assert_int_equal(r->for_ns, 60 * S);
	assert_false(r->has_baseline);

	r = &rs.rules[1];
	assert_int_equal(r->line, 13);
	assert_null(r->description);
	assert_int_equal(r->kind, RULE_QUANTILE);
	/* sorted by key, unescaped, canonical form re-escaped */
	check_sel(&r->sel, "lat", "a=\"1\",b=\"x\\\"y\"");
	assert_int_equal(r->sel.nlabels, 2);
	assert_string_equal(r->sel.keys[0], "a");
	assert_string_equal(r->sel.values[0], "1");
	assert_string_equal(r->sel.keys[1], "b");
	assert_string_equal(r->sel.values[1], "x\"y");
	assert_true(r->q == 0.95);
	assert_int_equal(r->window_ns, 250 * MS);
	assert_int_equal(r->op, RULE_GE);
	assert_true(r->warning == 2e6 && r->critical == 1.5e9);
	assert_int_equal(r->thr_kind, QTY_NS);
	assert_int_equal(r->min_samples, 0);
	assert_int_equal(r->for_ns, 0);

	r = &rs.rules[2];
	assert_string_equal(r->name, "p95.degraded");
	assert_true(r->q == 1);
	assert_true(r->has_baseline);
	assert_int_equal(r->baseline_window_ns, 86400 * S);
	assert_int_equal(r->baseline_stat, BASE_MEDIAN);
	assert_int_equal(r->op, RULE_GT);
	assert_true(r->warning == 20 && r->critical == 50);
	assert_int_equal(r->thr_kind, QTY_PERCENT);
	assert_false(r->has_fallback);
	assert_int_equal(r->baseline_min_ns, 0);

	r = &rs.rules[3];
	assert_int_equal(r->kind, RULE_RATE);
	check_sel(&r->sel, "errs", "tier=\"t1\"");
	assert_int_equal(r->window_ns, 0);
	assert_false(r->has_warning);
	assert_true(r->has_critical && r->critical == 5);

	r = &rs.rules[4];
	assert_string_equal(r->name, "drop:mean");
	assert_int_equal(r->kind, RULE_SIG);
	assert_int_equal(r->figure, SIG_WEIGHT);
	assert_int_equal(r->baseline_window_ns, 7 * 86400 * S);
	assert_int_equal(r->baseline_stat, BASE_MEAN);
	assert_int_equal(r->op, RULE_LE);
	assert_true(r->has_warning && !r->has_critical && r->warning == 30);

	r = &rs.rules[5];
	assert_int_equal(r->kind, RULE_GAUGE);
	assert_true(r->warning == -1000 && r->critical == 1000);
	assert_int_equal(r->for_ns, 0);

	r = &rs.rules[6];
	assert_string_equal(r->name, "n");
	assert_int_equal(r->kind, RULE_INCREASE);
	assert_int_equal(r->window_ns, 86400 * S);
	assert_int_equal(r->line, 34);

	r = &rs.rules[7];
	assert_int_equal(r->kind, RULE_GAUGE);
	assert_true(r->has_baseline && r->window_ns == 0);

	assert_ptr_equal(rules_find(&rs, "inflight"), &rs.rules[5]);
	assert_null(rules_find(&rs, "nope"));
	rules_free(&rs);
	assert_null(rs.rules);
	assert_int_equal(rs.n, 0);
	rules_free(&rs);    /* twice is fine */
	rules_free(NULL);
}

static void test_defaults(void **state)
{
	static const char text[] = GOOD "    above: {warning: 1}\n";
	struct ruleset rs;

	(void)state;
	assert_int_equal(rules_parse("t.yaml", text, strlen(text), &rs, err, sizeof(err)), 0);
	assert_int_equal(rs.expire_ns, 300 * S);
	assert_int_equal(rs.expire_ns, RULES_DEFAULT_EXPIRE_NS);
	assert_int_equal(rs.rules[0].window_ns, 0);
	assert_int_equal(rs.rules[0].for_ns, 0);
	assert_int_equal(rs.rules[0].min_samples, 0);
	rules_free(&rs);
	assert_int_equal(rules_parse("t.yaml", "expire: 0\n" GOOD "    above: {warning: 1}\n",
				     strlen("expire: 0\n" GOOD "    above: {warning: 1}\n"), &rs, err,
				     sizeof(err)), 0);
	assert_int_equal(rs.expire_ns, 0);
	rules_free(&rs);
}

static void test_durations(void **state)
{
	static const struct { const char *s; uint64_t ns; } good[] = {
		{ "0", 0 }, { "0s", 0 }, { "1ns", 1 }, { "1us", 1000 }, { "250ms", 250 * MS },
		{ "1.5s", 1500 * MS }, { "5m", 300 * S }, { "1h30m", 5400 * S }, { "2d", 172800 * S },
		{ "1h1m1s1ms1us1ns", 3661 * S + MS + 1001 }, { "0.5ns", 1 }, { "366d", 366 * 86400 * S },
		{ ".5s", 500 * MS },
	};
	static const char *const bad[] = {
		"", "5", "s", "5x", "-1s", "+1s", "1e3s", "5 m", " 5m", "5m ", "1.5", "1..5s", "367d",
		"366d1ns", "18446744073709551616ns", "5min", "nan", "inf",
	};
	uint64_t ns;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (rules_parse_duration(good[i].s, &ns) != 0)
			fail_msg("'%s' refused", good[i].s);
		if (ns != good[i].ns)
			fail_msg("'%s': %llu, want %llu", good[i].s, (unsigned long long)ns,
				 (unsigned long long)good[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rules_parse_duration(bad[i], &ns) == 0)
			fail_msg("'%s' accepted", bad[i]);
}

static void test_names(void **state)
{
	char buf[32];
	struct rule r = { 0 };

	(void)state;
	assert_string_equal(rule_kind_name(RULE_SIG), "sig");
	assert_string_equal(rule_kind_name(RULE_RATE), "rate");
	assert_string_equal(rule_op_name(RULE_GE), ">=");
	assert_string_equal(rule_op_name(RULE_LT), "<");
	assert_string_equal(rule_figure_name(SIG_HIT_RATE), "hit_ratio");
	assert_string_equal(rule_stat_name(BASE_MEAN), "mean");
	assert_true(rule_name_valid("a-b_c.d:e9"));
	assert_false(rule_name_valid(""));
	assert_false(rule_name_valid("a/b"));

	/* figures as units.h writes them, by what the rule compares */
	r.kind = RULE_GAUGE;
	rule_fmt_value(&r, NULL, 0.91234, 0, buf, sizeof(buf));
	assert_string_equal(buf, "0.9123");
	rule_fmt_value(&r, NULL, NAN, 0, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	rule_fmt_value(&r, NULL, 21.04, 1, buf, sizeof(buf));
	assert_string_equal(buf, "+21.0%");
	rule_fmt_value(&r, NULL, -30, 1, buf, sizeof(buf));
	assert_string_equal(buf, "-30.0%");
	rule_fmt_value(&r, "items", 148123, 0, buf, sizeof(buf));
	assert_string_equal(buf, "148k items");
	rule_fmt_value(&r, "bytes", 3670016, 0, buf, sizeof(buf));
	assert_string_equal(buf, "3.5 MiB");
	/* no metric: the unit the thresholds were written in */
	r.thr_kind = QTY_NS;
	rule_fmt_value(&r, NULL, 2.5e6, 0, buf, sizeof(buf));
	assert_string_equal(buf, "2.5ms");
	rule_fmt_value(&r, NULL, 1.5e9, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1.5s");
	rule_fmt_value(&r, NULL, 750, 0, buf, sizeof(buf));
	assert_string_equal(buf, "750ns");
	rule_fmt_value(&r, "ns", 21900, 0, buf, sizeof(buf));
	assert_string_equal(buf, "21.9us");
	r.kind = RULE_RATE;
	rule_fmt_value(&r, "", 266000, 0, buf, sizeof(buf));
	assert_string_equal(buf, "266k/s");
	r.kind = RULE_RATIO;
	rule_fmt_value(&r, NULL, 0.8673, 0, buf, sizeof(buf));
	assert_string_equal(buf, "86.7%");
	r.kind = RULE_SIG;
	r.figure = SIG_MISSES;
	rule_fmt_value(&r, "microdollars", 12345, 0, buf, sizeof(buf));
	assert_string_equal(buf, "12.3k");
}


/* Thresholds with units (issue 20): read into the base unit of what the
 * rule compares; the kind kept to check the metric's unit against. */
static void test_unit_thresholds(void **state)
{
	static const char text[] =
		"rules:\n"
		"  - {name: ratio-pct, ratio: {num: h, den: [h, m]}, below: {warning: 90%, critical: 0.8}}\n"
		"  - {name: bytes, gauge: cache_bytes, above: {warning: 15MB, critical: 15MiB}}\n"
		"  - {name: plain-si, rate: req_total, above: {warning: 1.5k, critical: 2M}}\n"
		"  - {name: ns-mixed, quantile: {metric: lat, q: 0.99}, above: {warning: 2000000, critical: 5ms}}\n"
		"  - {name: rate-ns, rate: cpu_ns_total, above: {critical: 500ms}}\n"
		"  - {name: hit-rate, sig: {metric: s, figure: hit_rate}, below: {warning: 50%}}\n"
		"  - {name: misses, sig: {metric: s, figure: misses}, above: {warning: 1k}}\n"
		"  - {name: owned, sig: {metric: s, figure: weight, owner: acct-1}, window: 1h, above: {warning: 1k}}\n"
		"  - name: base\n"
		"    quantile: {metric: lat, q: 0.95}\n"
		"    window: 5m\n"
		"    baseline: {window: 24h, min_history: 10m, fallback: {warning: 2ms, critical: 5ms}}\n"
		"    above: {warning: 20, critical: 50%}\n"
		"  - name: base-ratio\n"
		"    ratio: {num: h, den: [h, m]}\n"
		"    window: 5m\n"
		"    baseline: {window: 1h, fallback: {critical: 50%}}\n"
		"    below: {warning: 10%}\n";
	struct ruleset rs;
	const struct rule *r;

	(void)state;
	if (rules_parse("t.yaml", text, strlen(text), &rs, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	r = rules_find(&rs, "owned");
	assert_non_null(r);
	assert_string_equal(r->owner, "acct-1");
	assert_int_equal(r->figure, SIG_WEIGHT);
	assert_null(rules_find(&rs, "misses")->owner);
	r = rules_find(&rs, "ratio-pct");
	assert_true(fabs(r->warning - 0.9) < 1e-12 && r->critical == 0.8);
	assert_int_equal(r->thr_kind, QTY_PERCENT);
	assert_int_equal(rule_value_kind(r), RV_FRACTION);
	r = rules_find(&rs, "bytes");
	assert_true(r->warning == 15e6 && r->critical == 15.0 * 1048576);
	assert_int_equal(r->thr_kind, QTY_BYTES);
	r = rules_find(&rs, "plain-si");
	assert_true(r->warning == 1500 && r->critical == 2e6);
	assert_int_equal(r->thr_kind, QTY_PLAIN);
	assert_int_equal(rule_value_kind(r), RV_RATE);
	r = rules_find(&rs, "ns-mixed");
	assert_true(r->warning == 2e6 && r->critical == 5e6);
	assert_int_equal(r->thr_kind, QTY_NS);  /* the plain one is in ns too */
	r = rules_find(&rs, "rate-ns");
	assert_true(r->critical == 5e8 && r->thr_kind == QTY_NS);
	r = rules_find(&rs, "hit-rate");
	assert_true(fabs(r->warning - 0.5) < 1e-12 && rule_value_kind(r) == RV_FRACTION);
	r = rules_find(&rs, "misses");
	assert_true(r->warning == 1000 && rule_value_kind(r) == RV_COUNT);
	r = rules_find(&rs, "base");
	/* a baseline's percent change: 20 or 20%, in percent points */
	assert_true(r->warning == 20 && r->critical == 50);
	assert_int_equal(r->baseline_min_ns, 600 * S);
	assert_true(r->has_fallback && r->has_fb_warning && r->has_fb_critical);
	assert_true(r->fb_warning == 2e6 && r->fb_critical == 5e6 && r->fb_kind == QTY_NS);
	r = rules_find(&rs, "base-ratio");
	assert_true(r->warning == 10 && r->op == RULE_LT);
	assert_true(r->has_fallback && !r->has_fb_warning && r->has_fb_critical);
	assert_true(fabs(r->fb_critical - 0.5) < 1e-12 && r->fb_kind == QTY_PERCENT);

	/* the metric's unit, known at check time: durations need ns, bytes
	 * need bytes; plain numbers and fractions fit any */
	{
		char buf[256];

		assert_null(rule_unit_misfit(rules_find(&rs, "bytes"), "bytes", NULL, buf, sizeof(buf)));
		assert_string_equal(rule_unit_misfit(rules_find(&rs, "bytes"), "items", NULL, buf, sizeof(buf)),
				    "warning threshold 14.3 MiB is bytes, but cache_bytes is in 'items'");
		assert_null(rule_unit_misfit(rules_find(&rs, "rate-ns"), "nanoseconds", NULL, buf, sizeof(buf)));
		assert_string_equal(rule_unit_misfit(rules_find(&rs, "rate-ns"), "", NULL, buf, sizeof(buf)),
				    "critical threshold 500ms is a duration, but cpu_ns_total has no unit (a count)");
		assert_null(rule_unit_misfit(rules_find(&rs, "plain-si"), "", NULL, buf, sizeof(buf)));
		assert_null(rule_unit_misfit(rules_find(&rs, "ratio-pct"), "bytes", NULL, buf, sizeof(buf)));
		assert_string_equal(rule_unit_misfit(rules_find(&rs, "base"), "bytes", NULL, buf, sizeof(buf)),
				    "fallback warning threshold 2ms is a duration, but lat is in 'bytes'");
	}
	rules_free(&rs);
}

/* -w and -c as Nagios plugins write them: one open end, one direction. */
static void test_ranges(void **state)
{
	static const struct {
		const char *s;
		int below;
		enum rule_op op;
		const char *num;        /* NULL: refused, with this in the message */
		const char *msg;
	} c[] = {
		{ "10", 0, RULE_GT, "10", NULL },
		{ "10", 1, RULE_LT, "10", NULL },
		{ "~:10", 0, RULE_GT, "10", NULL },
		{ "~:10", 1, RULE_GT, "10", NULL },     /* the range says which way */
		{ "10:", 0, RULE_LT, "10", NULL },
		{ "@10:", 0, RULE_GE, "10", NULL },
		{ "@~:2ms", 0, RULE_LE, "2ms", NULL },
		{ "90%:", 0, RULE_LT, "90%", NULL },
		{ "-5", 0, RULE_GT, "-5", NULL },
		{ "10:20", 0, 0, NULL, "'10:20' is bounded on both sides; a rule has one direction" },
		{ "@10:20", 0, 0, NULL, "'@10:20' is bounded on both sides" },
		{ "@10", 0, 0, NULL, "'@10' is the range 0 to 10, bounded on both sides: write '@10:'" },
		{ ":10", 0, 0, NULL, "is bounded on both sides" },
		{ "~:", 0, 0, NULL, "'~:' is not a threshold or a range ([@]START:END)" },
		{ "", 0, 0, NULL, "'' is not a threshold or a range" },
		{ "@", 0, 0, NULL, "'@' is not a threshold or a range" },
		{ "1:2:3", 0, 0, NULL, "bounded on both sides" },
		{ "~:1:", 0, 0, NULL, "'~:1:' is not a threshold or a range" },
	};
	char num[64], msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		enum rule_op op = (enum rule_op)-1;
		int rc = rules_parse_range(c[i].s, c[i].below, &op, num, sizeof(num), msg, sizeof(msg));

		if (c[i].num && (rc != 0 || op != c[i].op || strcmp(num, c[i].num) != 0))
			fail_msg("'%s': rc %d op %d num '%s', want op %d num '%s'", c[i].s, rc, op,
				 rc ? msg : num, c[i].op, c[i].num);
		if (!c[i].num && (rc != -1 || strstr(msg, c[i].msg) == NULL))
			fail_msg("'%s': rc %d, message '%s', want '%s'", c[i].s, rc, msg, c[i].msg);
	}
}

/* One rule from check's options: built and checked as a rules file is,
 * messages naming the option. */
static void test_inline(void **state)
{
	static const struct {
		struct rule_inline in;
		const char *msg;        /* NULL: good */
	} bad[] = {
		{ { .kind = RULE_RATE, .sel = "x{a", .warning = "1" },
		  "--rate: 'x{a' is not a selector: expected '=' after label 1" },
		{ { .kind = RULE_RATE, .sel = "x" }, "--rate needs -w, -c or both (the thresholds)" },
		{ { .kind = RULE_RATE, .sel = "x", .warning = "lots" },
		  "-w: 'lots' is not a number (" },
		{ { .kind = RULE_RATIO, .num = "a", .den = "b", .warning = "15MB" },
		  "-w: '15MB' is bytes, but the rule compares a ratio (write 0.9 or 90%)" },
		{ { .kind = RULE_RATIO, .num = "a", .den = "b+", .warning = "1" },
		  "--ratio: '' is not a selector" },
		{ { .kind = RULE_SIG, .sel = "s", .figure = "hits", .critical = "2ms" },
		  "-c: '2ms' is a duration, but the rule compares a count" },
		{ { .kind = RULE_SIG, .sel = "s", .figure = "hitrate", .critical = "1" },
		  "--sig: unknown figure 'hitrate' (known: hit_ratio, hits, misses, weight, evictions)" },
		{ { .kind = RULE_QUANTILE, .sel = "l", .q = "95", .warning = "1" },
		  "--quantile: '95' is not a quantile between 0 and 1" },
		{ { .kind = RULE_GAUGE, .sel = "g", .window = "5m", .warning = "1" },
		  "--window does not apply to a gauge" },
		{ { .kind = RULE_RATE, .sel = "r", .window = "5", .warning = "1" },
		  "--window: '5' is not a duration longer than 0" },
		{ { .kind = RULE_RATE, .sel = "r", .min_samples = "-1", .warning = "1" },
		  "--min-samples: '-1' is not a whole number >= 0" },
		{ { .kind = RULE_RATE, .sel = "r", .min_samples = "99999999999999999999", .warning = "1" },
		  "--min-samples: '99999999999999999999' is not a whole number >= 0" },
		{ { .kind = RULE_RATE, .sel = "r", .warning = "10:", .critical = "~:5" },
		  "-w '10:' is bad below it, -c '~:5' bad above it: give both the same direction" },
		{ { .kind = RULE_RATE, .sel = "r", .warning = "10", .critical = "5" },
		  "-w/-c: warning (10) must be at most critical (5): it is the lesser alarm" },
		{ { .kind = RULE_RATE, .sel = "r", .below = 1, .warning = "5", .critical = "10" },
		  "-w/-c: warning (5) must be at least critical (10)" },
		{ { .kind = RULE_QUANTILE, .sel = "l", .q = "0.5", .warning = "2ms", .critical = "@5ms:" },
		  "-w '2ms' is bad above it, -c '@5ms:' bad at or above it: give both the same direction" },
		{ { .kind = RULE_GAUGE, .sel = "g", .warning = "10:20" },
		  "-w '10:20' is bounded on both sides" },
	};
	struct ruleset rs;
	const struct rule *r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rules_inline(&bad[i].in, &rs, err, sizeof(err)) != -1 ||
		    strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("case %zu: want \"%s\"\n  got: %s", i, bad[i].msg, err);
		assert_null(rs.rules);
		assert_int_equal(rs.n, 0);
	}

	/* ratio of sums, percent thresholds, bad below */
	{
		struct rule_inline in = { .kind = RULE_RATIO, .num = "hits_total{t=\"a+b\"}",
					  .den = "hits_total+misses_total", .window = "5m",
					  .warning = "90%:", .critical = "80%:", .min_samples = "100" };

		if (rules_inline(&in, &rs, err, sizeof(err)) != 0)
			fail_msg("%s", err);
	}
	assert_int_equal(rs.n, 1);
	r = &rs.rules[0];
	assert_string_equal(r->name, "ratio:hits_total");
	assert_int_equal(r->kind, RULE_RATIO);
	assert_int_equal(r->nnum, 1);
	check_sel(&r->num[0], "hits_total", "t=\"a+b\"");   /* '+' in quotes stays */
	assert_int_equal(r->nden, 2);
	check_sel(&r->den[1], "misses_total", "");
	assert_int_equal(r->window_ns, 300 * S);
	assert_int_equal(r->op, RULE_LT);
	assert_true(fabs(r->warning - 0.9) < 1e-12 && fabs(r->critical - 0.8) < 1e-12);
	assert_int_equal(r->min_samples, 100);
	assert_false(r->has_baseline);
	rules_free(&rs);

	/* a quantile with durations, plain thresholds with --below */
	{
		struct rule_inline in = { .kind = RULE_QUANTILE, .sel = "lat", .q = "0.95",
					  .warning = "2ms", .critical = "~:5ms" };

		if (rules_inline(&in, &rs, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		r = &rs.rules[0];
		assert_string_equal(r->name, "quantile:lat");
		assert_true(r->q == 0.95);
		/* -w 2ms is "above" by default, as -c ~:5ms */
		assert_int_equal(r->op, RULE_GT);
		assert_true(r->warning == 2e6 && r->critical == 5e6 && r->thr_kind == QTY_NS);
		rules_free(&rs);
	}
	{
		struct rule_inline in = { .kind = RULE_GAUGE, .sel = "free_bytes", .below = 1,
					  .warning = "1GiB", .critical = "100MB" };

		if (rules_inline(&in, &rs, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		r = &rs.rules[0];
		assert_int_equal(r->op, RULE_LT);
		assert_true(r->warning == 1073741824.0 && r->critical == 1e8);
		assert_int_equal(r->thr_kind, QTY_BYTES);
		rules_free(&rs);
	}
	{
		/* a name cut at 64 bytes, still a valid rule name */
		struct rule_inline in = { .kind = RULE_INCREASE,
					  .sel = "a_very_long_metric_name_of_more_than_sixty_four_bytes_in_all_total",
					  .critical = "1" };

		if (rules_inline(&in, &rs, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_int_equal(strlen(rs.rules[0].name), RULES_MAX_NAME);
		assert_true(rule_name_valid(rs.rules[0].name));
		rules_free(&rs);
	}
}

/* ------------------------------------------------------------ files */

static char dir[64];

static void path_in_dir(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_load(void **state)
{
	char p[128], want[256];
	struct ruleset rs;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/shmstat-rules-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));

	path_in_dir(p, sizeof(p), "good.yaml");
	write_file(p, GOOD "    above: {critical: 1}\n");
	assert_int_equal(rules_load(p, &rs, err, sizeof(err)), 0);
	assert_int_equal(rs.n, 1);
	rules_free(&rs);

	/* the file's name in messages */
	path_in_dir(p, sizeof(p), "bad.yaml");
	write_file(p, GOOD "    above: {critical: x}\n");
	assert_int_equal(rules_load(p, &rs, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:4:23: rule 'a': 'above': 'critical' is not a number (", p);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	assert_int_equal(unlink(p), 0);

	/* a file that is not a rules file (issue 17): where and what was
	 * expected, none of its content (/etc/shadow as root printed a user
	 * name); each secret below would have been quoted */
	{
		static const struct { const char *text, *msg; } sec[] = {
			{ "root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n",
			  "1:1: top level: unknown key (known: expire, rules)" },
			{ "expire: s3cr3t-token\n", "1:9: top level: 'expire' is not a duration (" },
			{ GOOD "    above: {critical: s3cr3t-token}\n",
			  "4:23: rule 'a': 'above': 'critical' is not a number (" },
			{ "rules:\n  - name: s3cr3t token\n", "2:11: rule 1: 'name' has a character other" },
			{ "rules:\n  - name: a\n    rate: 'x{s3cr3t}'\n    above: {critical: 1}\n",
			  "3:11: rule 'a': 'rate' is not a selector: expected '=' after label 1 (at character 9 of the value)" },
			{ "rules:\n  - name: a\n    rate: 'x s3cr3t'\n    above: {critical: 1}\n",
			  "3:11: rule 'a': 'rate' is not a selector: unexpected text after the metric name" },
			{ "s3cr3t: &s3cr3t 1\nrules: *s3cr3t\n",
			  "2:8: aliases (*name) are not supported in rules files" },
			{ GOOD "    s3cr3t-token: 1\n", "4:5: rule 'a': unknown key (known: name," },
		};

		path_in_dir(p, sizeof(p), "secret");
		for (size_t i = 0; i < sizeof(sec) / sizeof(sec[0]); i++) {
			write_file(p, sec[i].text);
			assert_int_equal(rules_load(p, &rs, err, sizeof(err)), -1);
			snprintf(want, sizeof(want), "%s:%s", p, sec[i].msg);
			if (strncmp(err, want, strlen(want)) != 0 || strstr(err, "s3cr3t") ||
			    strstr(err, "root") || strstr(err, "daemon"))
				fail_msg("case %zu: want \"%s\"\n  got: %s", i, want, err);
		}
		assert_int_equal(unlink(p), 0);
	}

	/* a FIFO with no writer: refused at once, never opened blocking (a
	 * hang ends the test through alarm()) */
	path_in_dir(p, sizeof(p), "fifo.yaml");
	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(30);
	assert_int_equal(rules_load(p, &rs, err, sizeof(err)), -1);
	alarm(0);
	snprintf(want, sizeof(want), "%s: not a regular file", p);
	assert_string_equal(err, want);
	assert_int_equal(unlink(p), 0);

	path_in_dir(p, sizeof(p), "missing.yaml");
	assert_int_equal(rules_load(p, &rs, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: %s", p, strerror(ENOENT));
	assert_string_equal(err, want);

	assert_int_equal(rules_load(dir, &rs, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(err, want);

	path_in_dir(p, sizeof(p), "big.yaml");
	write_file(p, "");
	assert_int_equal(truncate(p, RULES_MAX_FILE + 1), 0);
	assert_int_equal(rules_load(p, &rs, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", p);
	assert_string_equal(err, want);
	assert_int_equal(unlink(p), 0);

	path_in_dir(p, sizeof(p), "good.yaml");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The documented example parses, every rule as the comments say. */
static void test_example(void **state)
{
	struct ruleset rs;
	const struct rule *r;
	FILE *f;
	char *ex, *doc;
	long n;

	(void)state;
	if (rules_load(example_path, &rs, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(rs.expire_ns, 300 * S);
	assert_true(rs.n >= 10);
	r = rules_find(&rs, "hit-ratio");
	assert_non_null(r);
	assert_int_equal(r->kind, RULE_RATIO);
	assert_int_equal(r->op, RULE_LT);
	r = rules_find(&rs, "lookup-p95");
	assert_non_null(r);
	assert_string_equal(r->sel.metric, "cachesim_lookup_duration");
	assert_true(r->thr_kind == QTY_NS && r->warning == 2e6 && r->critical == 5e6);
	r = rules_find(&rs, "lookup-p95-degraded");
	assert_non_null(r);
	assert_true(r->has_baseline && r->warning == 20 && r->critical == 50);
	/* useful within minutes: a fallback until 5m of history */
	assert_int_equal(r->baseline_min_ns, 300 * S);
	assert_true(r->has_fallback && r->fb_kind == QTY_NS && r->fb_warning == 2e6 &&
		    r->fb_critical == 5e6);
	/* every baseline of the example has a fallback */
	for (size_t i = 0; i < rs.n; i++)
		if (rs.rules[i].has_baseline && !rs.rules[i].has_fallback)
			fail_msg("example rule '%s' has a baseline and no fallback", rs.rules[i].name);
	r = rules_find(&rs, "signature-hit-rate");
	assert_non_null(r);
	assert_int_equal(r->figure, SIG_HIT_RATE);
	rules_free(&rs);

	/* docs/rules.md shows this very file */
	f = fopen(example_path, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	ex = calloc(1, (size_t)n + 1);
	assert_non_null(ex);
	assert_int_equal(fread(ex, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	f = fopen(doc_path, "r");
	assert_non_null(f);
	doc = calloc(1, 1 << 20);
	assert_non_null(doc);
	(void)!fread(doc, 1, (1 << 20) - 1, f);
	fclose(f);
	n = strstr(doc, ex) != NULL;
	free(ex);
	free(doc);
	if (!n)
		fail_msg("%s does not show %s as it is", doc_path, example_path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_cases),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_unit_thresholds),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_example),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: test_rules EXAMPLE.yaml RULES.md\n");
		return 2;
	}
	example_path = argv[1];
	doc_path = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
