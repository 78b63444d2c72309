/*
 * test_alerts.c - the alert engine (tools/alerting/alerts.c) with an injected
 * clock: levels against thresholds in each direction, UNKNOWN, baselines;
 * alert states step by step (for, firing, clearing, expiry, flapping);
 * the state file round trip, its atomic replacement and its corrupt forms.
 * The rules come from a rules file parsed by tools/alerting/rules.c.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerts.h"
#include "nagios.h"

#define S 1000000000ull
#define T0 (1700000000ull * S)   /* the injected clock starts here */

static const char rules_text[] =
	"expire: 5m\n"
	"rules:\n"
	"  - {name: up, gauge: g, above: {warning: 10, critical: 20}}\n"
	"  - {name: up-eq, gauge: g, at_or_above: {warning: 10, critical: 20}}\n"
	"  - {name: down, gauge: g, below: {warning: 0.9, critical: 0.8}}\n"
	"  - {name: down-eq, gauge: g, at_or_below: {warning: 0.9, critical: 0.8}}\n"
	"  - {name: crit-only, gauge: g, above: {critical: 5}}\n"
	"  - {name: warn-only, gauge: g, below: {warning: 5}}\n"
	"  - name: ratio\n"
	"    ratio: {num: h, den: [h, m]}\n"
	"    window: 5m\n"
	"    below: {warning: 0.9, critical: 0.5}\n"
	"    min_samples: 10\n"
	"  - {name: p95, quantile: {metric: l, q: 0.95}, window: 5m, above: {warning: 2ms, critical: 5ms}}\n"
	"  - {name: base-up, quantile: {metric: l, q: 0.95}, window: 5m, baseline: {window: 24h},\n"
	"     above: {warning: 20%, critical: 50%}, min_samples: 10}\n"
	"  - {name: base-up-eq, quantile: {metric: l, q: 0.95}, window: 5m, baseline: {window: 24h},\n"
	"     at_or_above: {warning: 20%, critical: 50%}}\n"
	"  - {name: base-down, sig: {metric: s, figure: weight}, window: 1h,\n"
	"     baseline: {window: 7d, stat: mean}, below: {warning: 20%, critical: 50%}}\n"
	"  - {name: base-down-eq, sig: {metric: s, figure: weight}, window: 1h,\n"
	"     baseline: {window: 7d}, at_or_below: {warning: 20%, critical: 50%}}\n"
	"  - {name: slow, gauge: g, above: {warning: 1, critical: 2}, for: 1m}\n"
	"  - {name: fast, gauge: g, above: {warning: 1, critical: 2}}\n"
	"  - {name: other, gauge: g, above: {warning: 1}, for: 30s}\n"
	"  - name: fb-up\n"
	"    quantile: {metric: l, q: 0.95}\n"
	"    window: 5m\n"
	"    baseline: {window: 24h, min_history: 10m, fallback: {warning: 2ms, critical: 5ms}}\n"
	"    above: {warning: 20%, critical: 50%}\n"
	"    min_samples: 10\n"
	"  - name: fb-down\n"
	"    ratio: {num: h, den: [h, m]}\n"
	"    window: 5m\n"
	"    baseline: {window: 1h, min_history: 5m, fallback: {critical: 50%}}\n"
	"    below: {warning: 20%}\n"
	"  - {name: no-fb, gauge: g, baseline: {window: 1h, min_history: 30m}, above: {warning: 10%}}\n";

static struct ruleset rs;
static char err[512];

static const struct rule *R(const char *name)
{
	const struct rule *r = rules_find(&rs, name);

	if (r == NULL)
		fail_msg("no rule '%s'", name);
	return r;
}

static uint64_t at(uint64_t sec)
{
	return T0 + sec * S;
}

static int setup(void **state)
{
	(void)state;
	if (rules_parse("t.yaml", rules_text, strlen(rules_text), &rs, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rules_free(&rs);
	return 0;
}

/* ---------------------------------------------------------------- levels */

static struct rule_value val(double v, uint64_t samples)
{
	return (struct rule_value){ .has_value = 1, .value = v, .samples = samples };
}

static struct rule_value based(double v, double base)
{
	return (struct rule_value){ .has_value = 1, .value = v, .samples = 100, .has_baseline = 1,
				    .baseline = base };
}

static void test_thresholds(void **state)
{
	static const struct {
		const char *rule;
		double v;
		enum health want;
	} c[] = {
		/* above: bad when > */
		{ "up", 5, HEALTH_OK }, { "up", 10, HEALTH_OK }, { "up", 10.5, HEALTH_WARNING },
		{ "up", 20, HEALTH_WARNING }, { "up", 21, HEALTH_CRITICAL }, { "up", -1e300, HEALTH_OK },
		{ "up", INFINITY, HEALTH_CRITICAL },
		/* at_or_above: bad when >= */
		{ "up-eq", 9.99, HEALTH_OK }, { "up-eq", 10, HEALTH_WARNING },
		{ "up-eq", 20, HEALTH_CRITICAL },
		/* below: bad when < */
		{ "down", 0.95, HEALTH_OK }, { "down", 0.9, HEALTH_OK }, { "down", 0.85, HEALTH_WARNING },
		{ "down", 0.8, HEALTH_WARNING }, { "down", 0.7, HEALTH_CRITICAL },
		{ "down", -INFINITY, HEALTH_CRITICAL },
		/* at_or_below: bad when <= */
		{ "down-eq", 0.91, HEALTH_OK }, { "down-eq", 0.9, HEALTH_WARNING },
		{ "down-eq", 0.8, HEALTH_CRITICAL },
		/* one threshold only */
		{ "crit-only", 4, HEALTH_OK }, { "crit-only", 6, HEALTH_CRITICAL },
		{ "warn-only", 6, HEALTH_OK }, { "warn-only", -100, HEALTH_WARNING },
		/* durations: nanoseconds */
		{ "p95", 1.9e6, HEALTH_OK }, { "p95", 2.1e6, HEALTH_WARNING },
		{ "p95", 5.1e6, HEALTH_CRITICAL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rule_value v = val(c[i].v, 1);
		const char *why = "x";
		double shown = 0;
		enum health h = rule_level(R(c[i].rule), &v, &shown, &why);

		if (h != c[i].want)
			fail_msg("%s at %g: %s, want %s", c[i].rule, c[i].v, health_name(h),
				 health_name(c[i].want));
		assert_true(shown == c[i].v);
		assert_null(why);
	}
}

static void test_unknown(void **state)
{
	const struct rule *r = R("ratio");
	struct rule_value v;
	const char *why;
	double shown;

	(void)state;
	/* no value: the caller's reason, or ours */
	v = (struct rule_value){ .has_value = 0, .why = "no history for the window" };
	assert_int_equal(rule_level(r, &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "no history for the window");
	assert_true(isnan(shown));
	v.why = NULL;
	assert_int_equal(rule_level(r, &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "no value");
	v = val(NAN, 100);
	assert_int_equal(rule_level(r, &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "no value");

	/* min_samples 10: 9 is UNKNOWN whatever the value, 10 is judged */
	v = val(0.1, 9);
	assert_int_equal(rule_level(r, &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "fewer samples than min_samples");
	assert_true(shown == 0.1);
	v = val(0.1, 10);
	assert_int_equal(rule_level(r, &v, &shown, &why), HEALTH_CRITICAL);
	assert_null(why);
	v = val(0.95, 0);
	assert_int_equal(rule_level(r, &v, NULL, NULL), HEALTH_UNKNOWN);
	v = val(0.95, 1000);
	assert_int_equal(rule_level(r, &v, NULL, NULL), HEALTH_OK);
	/* no minimum: 0 samples are enough */
	v = val(25, 0);
	assert_int_equal(rule_level(R("up"), &v, NULL, NULL), HEALTH_CRITICAL);
}

static void test_baseline(void **state)
{
	static const struct {
		const char *rule;
		double v, base, shown;
		enum health want;
	} c[] = {
		/* above 20% / 50%: change = 100 (v - base) / |base| */
		{ "base-up", 119, 100, 19, HEALTH_OK },
		{ "base-up", 120, 100, 20, HEALTH_OK },
		{ "base-up", 121, 100, 21, HEALTH_WARNING },
		{ "base-up", 150, 100, 50, HEALTH_WARNING },
		{ "base-up", 151, 100, 51, HEALTH_CRITICAL },
		{ "base-up", 50, 100, -50, HEALTH_OK },         /* better: fine */
		{ "base-up", 3e6, 2e6, 50, HEALTH_WARNING },    /* 2ms -> 3ms */
		{ "base-up", 0, 0, 0, HEALTH_OK },
		{ "base-up", 1, 0, INFINITY, HEALTH_CRITICAL },
		{ "base-up", -50, -100, 50, HEALTH_WARNING },   /* a negative baseline */
		{ "base-up-eq", 120, 100, 20, HEALTH_WARNING },
		{ "base-up-eq", 150, 100, 50, HEALTH_CRITICAL },
		/* below 20% / 50%: a drop of 20% is a change of -20 */
		{ "base-down", 81, 100, -19, HEALTH_OK },
		{ "base-down", 80, 100, -20, HEALTH_OK },
		{ "base-down", 79, 100, -21, HEALTH_WARNING },
		{ "base-down", 50, 100, -50, HEALTH_WARNING },
		{ "base-down", 49, 100, -51, HEALTH_CRITICAL },
		{ "base-down", 200, 100, 100, HEALTH_OK },      /* better: fine */
		{ "base-down", -1, 0, -INFINITY, HEALTH_CRITICAL },
		{ "base-down-eq", 80, 100, -20, HEALTH_WARNING },
		{ "base-down-eq", 50, 100, -50, HEALTH_CRITICAL },
	};
	struct rule_value v;
	const char *why;
	double shown;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		enum health h;

		v = based(c[i].v, c[i].base);
		h = rule_level(R(c[i].rule), &v, &shown, &why);
		if (h != c[i].want || !(fabs(shown - c[i].shown) < 1e-9 || shown == c[i].shown))
			fail_msg("%s: %g against %g: %s shown %g, want %s shown %g", c[i].rule,
				 c[i].v, c[i].base, health_name(h), shown, health_name(c[i].want),
				 c[i].shown);
	}
	/* no baseline, or not a finite one: UNKNOWN */
	v = based(150, 100);
	v.has_baseline = 0;
	assert_int_equal(rule_level(R("base-up"), &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "no baseline");
	assert_true(isnan(shown));
	v.why = "history shorter than 24h";
	assert_int_equal(rule_level(R("base-up"), &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "history shorter than 24h");
	v = based(150, NAN);
	assert_int_equal(rule_level(R("base-up"), &v, NULL, NULL), HEALTH_UNKNOWN);
	/* min_samples before the baseline */
	v = based(150, 100);
	v.samples = 9;
	assert_int_equal(rule_level(R("base-up"), &v, NULL, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "fewer samples than min_samples");
}


/* A baseline with less history than min_history (issue 20): how much
 * history is behind it as the injected clock moves on from the first
 * record; before min_history the fallback's absolute thresholds judge,
 * or (no fallback) UNKNOWN; from it on, the percent change. */
static void test_baseline_history(void **state)
{
	const struct rule *up = R("fb-up"), *down = R("fb-down"), *nofb = R("no-fb");
	uint64_t have;
	struct rule_value v;
	const char *why;
	double shown;

	(void)state;
	/* fb-up: window 5m, baseline 24h before it, min_history 10m; first
	 * record at T0 */
	assert_int_equal(baseline_history(up, at(0), T0, &have), 0);
	assert_int_equal(have, 0);
	assert_int_equal(baseline_history(up, at(300), T0, &have), 0);   /* all in the window */
	assert_int_equal(have, 0);
	assert_int_equal(baseline_history(up, at(7 * 60), T0, &have), 0);
	assert_int_equal(have, 120 * S);
	assert_int_equal(baseline_history(up, at(15 * 60 - 1), T0, &have), 0);
	assert_int_equal(have, 599 * S);
	assert_int_equal(baseline_history(up, at(15 * 60), T0, &have), 1);  /* 10m: enough */
	assert_int_equal(have, 600 * S);
	assert_int_equal(baseline_history(up, at(12 * 3600), T0, &have), 1);
	assert_int_equal(have, 12 * 3600 * S - 300 * S);
	/* a day and more: the baseline's window, no more */
	assert_int_equal(baseline_history(up, at(3 * 86400), T0, &have), 1);
	assert_int_equal(have, 86400 * S);
	/* no record at all */
	assert_int_equal(baseline_history(up, at(3600), 0, &have), 0);
	assert_int_equal(have, 0);
	/* a gauge's baseline ends now (no window) */
	assert_int_equal(baseline_history(nofb, at(29 * 60), T0, &have), 0);
	assert_int_equal(have, 29 * 60 * S);
	assert_int_equal(baseline_history(nofb, at(30 * 60), T0, &have), 1);
	/* without min_history any history will do */
	assert_int_equal(baseline_history(R("base-up"), at(301), T0, &have), 1);
	assert_int_equal(have, 1 * S);

	/* no baseline yet: the fallback's absolute thresholds (2ms, 5ms),
	 * compared with the value itself */
	v = val(1.5e6, 100);
	v.why = "no baseline: 2m of history before the window, min_history is 10m";
	assert_true(rule_uses_fallback(up, &v));
	assert_int_equal(rule_level(up, &v, &shown, &why), HEALTH_OK);
	assert_true(shown == 1.5e6);
	assert_null(why);
	v.value = 2.5e6;
	assert_int_equal(rule_level(up, &v, &shown, &why), HEALTH_WARNING);
	v.value = 6e6;
	assert_int_equal(rule_level(up, &v, &shown, &why), HEALTH_CRITICAL);
	/* min_samples still first */
	v.samples = 3;
	assert_int_equal(rule_level(up, &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "fewer samples than min_samples");
	/* no value: UNKNOWN, no fallback */
	v = (struct rule_value){ .has_value = 0, .why = "no data in the window" };
	assert_false(rule_uses_fallback(up, &v));
	assert_int_equal(rule_level(up, &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "no data in the window");
	/* once there is a baseline: the change, not the fallback (6ms
	 * against 5ms is +20%: OK, though above the fallback's critical) */
	v = based(6e6, 5e6);
	assert_false(rule_uses_fallback(up, &v));
	assert_int_equal(rule_level(up, &v, &shown, &why), HEALTH_OK);
	assert_true(fabs(shown - 20) < 1e-9);

	/* fb-down: below; the fallback has a critical only, 50% (0.5) */
	v = val(0.6, 100);
	assert_int_equal(rule_level(down, &v, &shown, &why), HEALTH_OK);
	v.value = 0.4;
	assert_int_equal(rule_level(down, &v, &shown, &why), HEALTH_CRITICAL);
	v = based(0.7, 1);      /* -30%: WARNING against the baseline */
	assert_int_equal(rule_level(down, &v, &shown, &why), HEALTH_WARNING);

	/* no fallback: UNKNOWN, saying how much history there is */
	v = val(100, 1);
	v.why = "no baseline: 5m of history, min_history is 30m";
	assert_false(rule_uses_fallback(nofb, &v));
	assert_int_equal(rule_level(nofb, &v, &shown, &why), HEALTH_UNKNOWN);
	assert_string_equal(why, "no baseline: 5m of history, min_history is 30m");
	assert_true(isnan(shown));
}

static void test_health(void **state)
{
	enum health a[] = { HEALTH_OK, HEALTH_UNKNOWN, HEALTH_OK };
	enum health b[] = { HEALTH_UNKNOWN, HEALTH_WARNING, HEALTH_OK };
	enum health c[] = { HEALTH_WARNING, HEALTH_CRITICAL, HEALTH_UNKNOWN };
	enum health d[] = { HEALTH_OK, HEALTH_OK };

	(void)state;
	assert_int_equal(health_overall(a, 3), HEALTH_UNKNOWN);
	assert_int_equal(health_overall(b, 3), HEALTH_WARNING);
	assert_int_equal(health_overall(c, 3), HEALTH_CRITICAL);
	assert_int_equal(health_overall(d, 2), HEALTH_OK);
	assert_int_equal(health_overall(NULL, 0), HEALTH_OK);
	/* Nagios exit codes */
	assert_int_equal(HEALTH_OK, 0);
	assert_int_equal(HEALTH_WARNING, 1);
	assert_int_equal(HEALTH_CRITICAL, 2);
	assert_int_equal(HEALTH_UNKNOWN, 3);
	assert_string_equal(health_name(HEALTH_OK), "OK");
	assert_string_equal(health_name(HEALTH_WARNING), "WARNING");
	assert_string_equal(health_name(HEALTH_CRITICAL), "CRITICAL");
	assert_string_equal(health_name(HEALTH_UNKNOWN), "UNKNOWN");
	assert_string_equal(alert_phase_name(ALERT_CLEARED), "cleared");
}

/* ---------------------------------------------------------------- alerts */

static struct alert_table tab;

static int reset_table(void **state)
{
	(void)state;
	alerts_free(&tab);
	return 0;
}

/* One step of @rule at T0 + @sec seconds with @level; its outcome. */
static struct alert_step_out step(const char *rule, enum health level, uint64_t sec)
{
	struct alert_step_out o;
	int rc = alert_step(&tab, R(rule), level, at(sec), rs.expire_ns, &o);

	if (rc != 0)
		fail_msg("alert_step: %d", rc);
	return o;
}

#define W HEALTH_WARNING
#define C HEALTH_CRITICAL
#define U HEALTH_UNKNOWN
#define OK HEALTH_OK

static void test_fire_without_for(void **state)
{
	struct alert_step_out o;

	(void)state;
	o = step("fast", OK, 0);
	assert_int_equal(o.health, OK);
	assert_null(o.alert);
	assert_int_equal(o.events, 0);
	assert_int_equal(tab.n, 0);

	o = step("fast", W, 10);      /* for: 0 fires at once */
	assert_int_equal(o.health, W);
	assert_int_equal(o.events, ALERT_EV_FIRED);
	assert_non_null(o.alert);
	assert_string_equal(o.alert->rule, "fast");
	assert_int_equal(o.alert->phase, ALERT_FIRING);
	assert_int_equal(o.alert->state, W);
	assert_int_equal(o.alert->bad_level, W);
	assert_int_equal(o.alert->worst, W);
	assert_int_equal(o.alert->bad_since, at(10));
	assert_int_equal(o.alert->active_since, at(10));
	assert_int_equal(o.alert->cleared_at, 0);
	assert_int_equal(o.alert->fired, 1);

	o = step("fast", C, 20);      /* escalates, no new for */
	assert_int_equal(o.health, C);
	assert_int_equal(o.events, ALERT_EV_LEVEL);
	assert_int_equal(o.alert->worst, C);
	assert_int_equal(o.alert->active_since, at(10));

	o = step("fast", C, 30);
	assert_int_equal(o.events, 0);
	o = step("fast", W, 40);      /* back down: worst is kept */
	assert_int_equal(o.health, W);
	assert_int_equal(o.events, ALERT_EV_LEVEL);
	assert_int_equal(o.alert->bad_level, W);
	assert_int_equal(o.alert->worst, C);

	o = step("fast", OK, 50);     /* clears */
	assert_int_equal(o.health, OK);
	assert_int_equal(o.events, ALERT_EV_CLEARED);
	assert_int_equal(o.alert->phase, ALERT_CLEARED);
	assert_int_equal(o.alert->state, OK);
	assert_int_equal(o.alert->cleared_at, at(50));
	assert_int_equal(o.alert->quiet_since, at(50));
	assert_int_equal(o.alert->bad_since, 0);
	assert_int_equal(o.alert->active_since, at(10));
	assert_int_equal(o.alert->last_ns, at(50));
	assert_int_equal(tab.n, 1);
}

static void test_for_duration(void **state)
{
	struct alert_step_out o;

	(void)state;
	/* bad for 1m before firing; reported OK meanwhile */
	o = step("slow", C, 0);
	assert_int_equal(o.health, OK);
	assert_int_equal(o.events, ALERT_EV_PENDING);
	assert_int_equal(o.alert->phase, ALERT_PENDING);
	assert_int_equal(o.alert->state, OK);
	assert_int_equal(o.alert->bad_since, at(0));
	assert_int_equal(o.alert->bad_level, C);
	assert_int_equal(o.alert->active_since, 0);
	assert_int_equal(o.alert->worst, OK);
	assert_int_equal(o.alert->fired, 0);
	o = step("slow", W, 30);
	assert_int_equal(o.health, OK);
	assert_int_equal(o.events, 0);
	assert_int_equal(o.alert->bad_level, W);
	o = step("slow", W, 59);
	assert_int_equal(o.health, OK);
	assert_int_equal(o.alert->phase, ALERT_PENDING);
	o = step("slow", W, 60);      /* exactly for: fires */
	assert_int_equal(o.health, W);
	assert_int_equal(o.events, ALERT_EV_FIRED);
	assert_int_equal(o.alert->phase, ALERT_FIRING);
	assert_int_equal(o.alert->bad_since, at(0));
	assert_int_equal(o.alert->active_since, at(60));
	assert_int_equal(o.alert->worst, W);
	assert_int_equal(o.alert->fired, 1);
	alerts_free(&tab);

	/* it recovers before for: no trace, and the next streak starts anew */
	o = step("slow", W, 0);
	assert_int_equal(o.events, ALERT_EV_PENDING);
	o = step("slow", OK, 50);
	assert_int_equal(o.health, OK);
	assert_int_equal(o.events, ALERT_EV_RESET);
	assert_null(o.alert);
	assert_int_equal(tab.n, 0);
	o = step("slow", W, 70);
	assert_int_equal(o.events, ALERT_EV_PENDING);
	assert_int_equal(o.alert->bad_since, at(70));
	o = step("slow", W, 120);     /* 0 + 60 has passed, 70 + 60 has not */
	assert_int_equal(o.health, OK);
	assert_int_equal(o.alert->phase, ALERT_PENDING);
	o = step("slow", C, 130);
	assert_int_equal(o.health, C);
	assert_int_equal(o.events, ALERT_EV_FIRED);
	assert_int_equal(o.alert->active_since, at(130));
	alerts_free(&tab);

	/* UNKNOWN ends a pending streak too: it was not seen bad all along */
	step("slow", W, 0);
	o = step("slow", U, 30);
	assert_int_equal(o.health, U);
	assert_int_equal(o.events, ALERT_EV_RESET);
	assert_null(o.alert);
	o = step("slow", W, 40);
	o = step("slow", W, 90);
	assert_int_equal(o.health, OK);
	o = step("slow", W, 100);
	assert_int_equal(o.health, W);
}

static void test_unknown_while_active(void **state)
{
	struct alert_step_out o;

	(void)state;
	step("fast", C, 0);
	/* firing: UNKNOWN neither clears nor changes the alert */
	o = step("fast", U, 10);
	assert_int_equal(o.health, U);
	assert_int_equal(o.events, 0);
	assert_int_equal(o.alert->phase, ALERT_FIRING);
	assert_int_equal(o.alert->bad_level, C);
	assert_int_equal(o.alert->state, U);
	o = step("fast", C, 20);
	assert_int_equal(o.health, C);
	assert_int_equal(o.events, 0);
	assert_int_equal(o.alert->active_since, at(0));
	o = step("fast", OK, 30);
	assert_int_equal(o.events, ALERT_EV_CLEARED);
	/* cleared: UNKNOWN does not restart the quiet time */
	o = step("fast", U, 200);
	assert_int_equal(o.health, U);
	assert_int_equal(o.alert->phase, ALERT_CLEARED);
	assert_int_equal(o.alert->quiet_since, at(30));
	o = step("fast", U, 330);     /* 30 + 5m */
	assert_int_equal(o.health, U);
	assert_int_equal(o.events, ALERT_EV_EXPIRED);
	assert_null(o.alert);
	assert_int_equal(tab.n, 0);
}

static void test_expiry(void **state)
{
	struct alert_step_out o;

	(void)state;
	step("fast", W, 0);
	step("fast", OK, 100);
	o = step("fast", OK, 399);    /* 1 s short of 5 min of quiet */
	assert_int_equal(o.events, 0);
	assert_non_null(o.alert);
	assert_int_equal(o.alert->phase, ALERT_CLEARED);
	assert_int_equal(o.alert->cleared_at, at(100));
	assert_int_equal(o.alert->last_ns, at(399));
	o = step("fast", OK, 400);
	assert_int_equal(o.health, OK);
	assert_int_equal(o.events, ALERT_EV_EXPIRED);
	assert_null(o.alert);
	assert_null(alert_find(&tab, "fast"));
	assert_int_equal(tab.n, 0);

	/* bad again after the quiet time, with no step in between: the old
	 * alert expires and a new one starts */
	step("fast", W, 1000);
	step("fast", OK, 1010);
	o = step("fast", C, 1400);
	assert_int_equal(o.events, ALERT_EV_EXPIRED | ALERT_EV_FIRED);
	assert_int_equal(o.alert->active_since, at(1400));
	assert_int_equal(o.alert->fired, 1);
	assert_int_equal(o.alert->worst, C);
	assert_int_equal(o.alert->cleared_at, 0);
	alerts_free(&tab);

	/* with a for: the expiry, then a new pending streak */
	step("slow", W, 0);
	step("slow", W, 60);
	step("slow", OK, 70);
	o = step("slow", W, 400);
	assert_int_equal(o.events, ALERT_EV_EXPIRED | ALERT_EV_PENDING);
	assert_int_equal(o.alert->phase, ALERT_PENDING);
	assert_int_equal(o.alert->active_since, 0);
	assert_int_equal(o.alert->fired, 0);
	assert_int_equal(o.health, OK);
}

static void test_flapping(void **state)
{
	struct alert_step_out o;

	(void)state;
	/* for: 0, bad again within the quiet time: the same alert */
	step("fast", W, 0);
	step("fast", OK, 100);
	o = step("fast", C, 220);
	assert_int_equal(o.health, C);
	assert_int_equal(o.events, ALERT_EV_FIRED);
	assert_int_equal(o.alert->phase, ALERT_FIRING);
	assert_int_equal(o.alert->active_since, at(0));
	assert_int_equal(o.alert->fired, 2);
	assert_int_equal(o.alert->cleared_at, 0);
	assert_int_equal(o.alert->quiet_since, 0);
	assert_int_equal(o.alert->worst, C);
	assert_int_equal(tab.n, 1);
	/* the quiet time counts from the last clearing */
	o = step("fast", OK, 230);
	assert_int_equal(o.events, ALERT_EV_CLEARED);
	assert_int_equal(o.alert->cleared_at, at(230));
	o = step("fast", OK, 400);    /* 100 + 5m has passed, 230 + 5m not */
	assert_non_null(o.alert);
	o = step("fast", OK, 530);
	assert_int_equal(o.events, ALERT_EV_EXPIRED);
	alerts_free(&tab);

	/* for: 1m. A blip within the quiet time: pending (reported OK), back
	 * to cleared; the quiet time restarts after the blip */
	step("slow", W, 0);
	step("slow", W, 60);
	o = step("slow", OK, 100);
	assert_int_equal(o.events, ALERT_EV_CLEARED);
	o = step("slow", C, 200);
	assert_int_equal(o.health, OK);
	assert_int_equal(o.events, ALERT_EV_PENDING);
	assert_int_equal(o.alert->phase, ALERT_PENDING);
	assert_int_equal(o.alert->active_since, at(60));
	assert_int_equal(o.alert->cleared_at, at(100));
	assert_int_equal(o.alert->bad_since, at(200));
	o = step("slow", OK, 210);
	assert_int_equal(o.health, OK);
	assert_int_equal(o.events, ALERT_EV_RESET);
	assert_int_equal(o.alert->phase, ALERT_CLEARED);
	assert_int_equal(o.alert->cleared_at, at(100));
	assert_int_equal(o.alert->quiet_since, at(210));
	o = step("slow", OK, 400);    /* 100 + 5m: not yet */
	assert_non_null(o.alert);
	o = step("slow", OK, 510);    /* 210 + 5m */
	assert_int_equal(o.events, ALERT_EV_EXPIRED);
	alerts_free(&tab);

	/* for: 1m, bad again long enough within the quiet time: fires again,
	 * the same alert */
	step("slow", W, 0);
	step("slow", W, 60);
	step("slow", OK, 100);
	step("slow", W, 200);
	o = step("slow", W, 260);
	assert_int_equal(o.health, W);
	assert_int_equal(o.events, ALERT_EV_FIRED);
	assert_int_equal(o.alert->active_since, at(60));
	assert_int_equal(o.alert->fired, 2);
	assert_int_equal(o.alert->cleared_at, 0);
}

static void test_many_rules(void **state)
{
	struct alert_step_out o;
	struct ruleset keep = { 0 };
	char text[] = "rules:\n  - {name: fast, gauge: g, above: {warning: 1}}\n";

	(void)state;
	step("fast", W, 0);
	step("slow", W, 0);
	step("other", W, 0);
	step("up", OK, 0);
	assert_int_equal(tab.n, 3);
	o = step("other", W, 30);     /* its own for: 30s */
	assert_int_equal(o.health, W);
	o = step("slow", W, 30);
	assert_int_equal(o.health, OK);
	assert_int_equal(alert_find(&tab, "fast")->phase, ALERT_FIRING);
	assert_int_equal(alert_find(&tab, "slow")->phase, ALERT_PENDING);
	assert_int_equal(alert_find(&tab, "other")->phase, ALERT_FIRING);
	/* first-seen order */
	assert_string_equal(tab.a[0].rule, "fast");
	assert_string_equal(tab.a[1].rule, "slow");
	assert_string_equal(tab.a[2].rule, "other");
	o = step("slow", OK, 40);     /* dropped from the middle */
	assert_int_equal(tab.n, 2);
	assert_string_equal(tab.a[1].rule, "other");

	/* rules gone from the file are forgotten */
	assert_int_equal(rules_parse("k.yaml", text, strlen(text), &keep, err, sizeof(err)), 0);
	assert_int_equal(alerts_prune(&tab, &keep), 1);
	assert_int_equal(tab.n, 1);
	assert_string_equal(tab.a[0].rule, "fast");
	assert_int_equal(alerts_prune(&tab, &rs), 0);
	rules_free(&keep);
}

static void test_clock_and_args(void **state)
{
	struct alert_step_out o;
	struct rule nameless = { 0 };

	(void)state;
	step("slow", W, 100);
	o = step("slow", W, 50);      /* the clock went back: no time passed */
	assert_int_equal(o.health, OK);
	assert_int_equal(o.alert->phase, ALERT_PENDING);
	o = step("slow", W, 160);
	assert_int_equal(o.health, W);

	/* back by a day: no time passed between the two steps, so `for`
	 * (1m) is over 60 s later, not a day and 60 s later (bad_since
	 * stayed in the future: pending for a day) */
	alerts_free(&tab);
	step("slow", W, 86400 + 100);
	o = step("slow", W, 130);     /* the clock went back a day */
	assert_int_equal(o.alert->phase, ALERT_PENDING);
	assert_int_equal(o.alert->bad_since, at(130));
	o = step("slow", W, 189);
	assert_int_equal(o.health, OK);
	o = step("slow", W, 190);     /* 30 s + 60 s after the first step */
	assert_int_equal(o.health, W);
	assert_int_equal(o.events, ALERT_EV_FIRED);
	/* the quiet time of expire (5m) too: cleared, then a day back */
	o = step("slow", OK, 86400 + 200);
	assert_int_equal(o.events, ALERT_EV_CLEARED);
	o = step("slow", OK, 200);
	assert_non_null(o.alert);
	o = step("slow", OK, 500);    /* 5m of quiet */
	assert_int_equal(o.events, ALERT_EV_EXPIRED);
	alerts_free(&tab);

	assert_int_equal(alert_step(&tab, R("slow"), W, 0, rs.expire_ns, &o), EINVAL);
	assert_int_equal(alert_step(&tab, R("slow"), (enum health)7, at(1), rs.expire_ns, &o), EINVAL);
	assert_int_equal(alert_step(&tab, &nameless, W, at(1), rs.expire_ns, &o), EINVAL);

	/* expire 0: a cleared alert is forgotten at the next step */
	alerts_free(&tab);
	assert_int_equal(alert_step(&tab, R("fast"), W, at(0), 0, &o), 0);
	assert_int_equal(alert_step(&tab, R("fast"), OK, at(1), 0, &o), 0);
	assert_int_equal(o.events, ALERT_EV_CLEARED);
	assert_int_equal(alert_step(&tab, R("fast"), OK, at(1), 0, &o), 0);
	assert_int_equal(o.events, ALERT_EV_EXPIRED);
}

/* The value -> level -> alert chain, as `shmstat check` runs it. */
static void test_pipeline(void **state)
{
	static const struct {
		double v;
		uint64_t samples;
		enum health level, health;
		enum alert_phase phase;   /* 9: no alert */
	} seq[] = {
		{ 0.95, 100, OK, OK, 9 },
		{ 0.85, 100, W, W, ALERT_FIRING },
		{ 0.40, 5, U, U, ALERT_FIRING },    /* too few samples */
		{ 0.40, 50, C, C, ALERT_FIRING },
		{ 0.92, 50, OK, OK, ALERT_CLEARED },
		{ 0.92, 50, OK, OK, ALERT_CLEARED },
	};
	const struct rule *r = R("ratio");

	(void)state;
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct rule_value v = val(seq[i].v, seq[i].samples);
		enum health level = rule_level(r, &v, NULL, NULL);
		struct alert_step_out o;

		assert_int_equal(level, seq[i].level);
		assert_int_equal(alert_step(&tab, r, level, at(60 * i), rs.expire_ns, &o), 0);
		assert_int_equal(o.health, seq[i].health);
		if (seq[i].phase == 9)
			assert_null(o.alert);
		else
			assert_int_equal(o.alert->phase, seq[i].phase);
	}
	/* 5 min after the clearing at 240 s */
	{
		struct alert_step_out o;

		assert_int_equal(alert_step(&tab, r, OK, at(540), rs.expire_ns, &o), 0);
		assert_int_equal(o.events, ALERT_EV_EXPIRED);
	}
}


/* ---------------------------------------------------------------- nagios */

/* Performance data as the plugin guidelines write it: numbers of
 * [-0-9.], ranges [@]start:end, labels quoted. */
static void test_nagios(void **state)
{
	static const struct { double v; const char *want; } nums[] = {
		{ 0, "0" }, { 42, "42" }, { -5, "-5" }, { 0.9, "0.9" }, { 86.73077, "86.7308" },
		{ 266012.4, "266012" }, { 1.5e12, "1500000000000" }, { 1.004e-6, "0.000001004" },
		{ 1e-12, "0.000000000001" }, { -0.25, "-0.25" }, { NAN, "0" },
	};
	char buf[64], *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		nagios_num(buf, sizeof(buf), nums[i].v);
		if (strcmp(buf, nums[i].want) != 0)
			fail_msg("nagios_num(%.17g) = %s, want %s", nums[i].v, buf, nums[i].want);
	}
	nagios_range(buf, sizeof(buf), RULE_GT, 200000);
	assert_string_equal(buf, "~:200000");
	nagios_range(buf, sizeof(buf), RULE_LT, 90);
	assert_string_equal(buf, "90:");
	nagios_range(buf, sizeof(buf), RULE_GE, 1);
	assert_string_equal(buf, "@1:");
	nagios_range(buf, sizeof(buf), RULE_LE, 0);
	assert_string_equal(buf, "@~:0");
	nagios_range(buf, sizeof(buf), RULE_LT, -30);
	assert_string_equal(buf, "-30:");
	/* a threshold as written, not cut to 6 digits (0.00123457), nor
	 * with the noise of its scaling (0.7% as a percentage) */
	nagios_range(buf, sizeof(buf), RULE_GT, 1234566e-9);
	assert_string_equal(buf, "~:0.001234566");
	nagios_range(buf, sizeof(buf), RULE_LT, 100 * 0.007);
	assert_string_equal(buf, "0.7:");

	f = open_memstream(&out, &len);
	assert_non_null(f);
	nagios_perf_put(f, &(struct nagios_perf){ .label = "hit-ratio", .value = 86.7, .uom = "%",
						  .op = RULE_LT, .has_warn = 1, .warn = 90,
						  .has_crit = 1, .crit = 80, .has_min = 1,
						  .has_max = 1, .max = 100 });
	nagios_perf_put(f, &(struct nagios_perf){ .label = "p95", .value = 0.0012, .uom = "s",
						  .op = RULE_GT, .has_crit = 1, .crit = 0.005 });
	nagios_perf_put(f, &(struct nagios_perf){ .label = "it's", .value = 3, .uom = "" });
	nagios_perf_put(f, &(struct nagios_perf){ .label = "inf", .value = INFINITY });
	/* a value on the side of its thresholds the plugin judged it on: a
	 * gauge of 1234567 ns was 0.00123457 against 0.00123457 both for
	 * 1234566 ns (WARNING: above) and 1234568 ns (WARNING: below) */
	nagios_perf_put(f, &(struct nagios_perf){ .label = "t", .value = 1234567e-9, .uom = "s",
						  .op = RULE_GT, .has_warn = 1, .warn = 1234566e-9 });
	nagios_perf_put(f, &(struct nagios_perf){ .label = "u", .value = 1234567e-9, .uom = "s",
						  .op = RULE_GE, .has_crit = 1, .crit = 1234567e-9 });
	nagios_perf_put(f, &(struct nagios_perf){ .label = "w", .value = 1234567e-9, .uom = "s",
						  .op = RULE_LT, .has_warn = 1, .warn = 1234568e-9 });
	/* and a threshold of 16 digits the value is at when both are read
	 * back (at or above 10.00000000000001 was '10;@10:', bad to a
	 * reader where the plugin said OK): written with its 16 */
	nagios_perf_put(f, &(struct nagios_perf){ .label = "x", .value = 10, .uom = "", .op = RULE_GE,
						  .has_warn = 1, .warn = 10.00000000000001 });
	nagios_perf_put(f, &(struct nagios_perf){ .label = "y", .value = 10, .uom = "", .op = RULE_LE,
						  .has_warn = 1, .warn = 9.999999999999998 });
	nagios_text_put(f, " a|b");
	fclose(f);
	assert_string_equal(out, " 'hit-ratio'=86.7%;90:;80:;0;100 'p95'=0.0012s;;~:0.005 'it''s'=3"
				 " 't'=0.00123457s;~:0.001234566 'u'=0.001234567s;;@0.001234567:"
				 " 'w'=0.001234567s;0.001234568:"
				 " 'x'=10;@10.00000000000001: 'y'=10;@~:9.999999999999998 a\\x7cb");
	free(out);
}

/* ------------------------------------------------------------ state file */

static char dir[64];

static void in_dir(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static int mkdir_in(const char *parent)
{
	snprintf(dir, sizeof(dir), "%s/shmstat-alerts-XXXXXX", parent);
	return mkdtemp(dir) ? 0 : -1;
}

static int mkdir_setup(void **state)
{
	(void)state;
	return mkdir_in(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
}

/* Under /tmp whatever TMPDIR says: uid 65534 must reach the directory,
 * and a TMPDIR may be private (pam_tmpdir's /tmp/user/0 is 0700). */
static int mkdir_tmp_setup(void **state)
{
	(void)state;
	return mkdir_in("/tmp");
}

static int rmdir_teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	(void)state;
	alerts_free(&tab);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(dir);
}

static size_t files_in_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* @text into @path, 0600 (the mode alerts_load() accepts). */
static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void assert_same(const struct alert_table *a, const struct alert_table *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct alert *x = &a->a[i], *y = &b->a[i];

		assert_string_equal(x->rule, y->rule);
		assert_int_equal(x->phase, y->phase);
		assert_int_equal(x->state, y->state);
		assert_int_equal(x->bad_level, y->bad_level);
		assert_int_equal(x->worst, y->worst);
		assert_int_equal(x->bad_since, y->bad_since);
		assert_int_equal(x->active_since, y->active_since);
		assert_int_equal(x->cleared_at, y->cleared_at);
		assert_int_equal(x->quiet_since, y->quiet_since);
		assert_int_equal(x->last_ns, y->last_ns);
		assert_int_equal(x->fired, y->fired);
	}
}

static void test_round_trip(void **state)
{
	struct alert_table back = { 0 };
	struct alert_step_out o1, o2;
	char p[128];
	struct stat st;

	(void)state;
	in_dir(p, sizeof(p), "alerts.json");
	/* missing: an empty table */
	assert_int_equal(alerts_load(p, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 0);
	/* one alert in each phase */
	step("other", W, 0);                    /* pending, first time */
	step("fast", C, 0);                     /* firing */
	step("up", W, 0);
	step("up", OK, 10);                     /* cleared */
	step("slow", W, 0);
	step("slow", C, 60);
	step("slow", OK, 70);
	step("slow", W, 80);                    /* pending again, after firing */
	step("down", U, 5);                     /* no alert */
	assert_int_equal(tab.n, 4);
	assert_int_equal(alerts_save(p, &tab, err, sizeof(err)), 0);
	assert_int_equal(files_in_dir(), 1);    /* no temporary file left */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(alerts_load(p, &back, err, sizeof(err)), 0);
	assert_same(&tab, &back);

	/* the loaded table goes on exactly as the one kept in memory */
	static const struct { const char *rule; enum health l; uint64_t sec; } next[] = {
		{ "other", W, 30 }, { "fast", OK, 40 }, { "up", W, 50 }, { "slow", W, 140 },
		{ "up", OK, 60 }, { "fast", OK, 341 },
	};
	for (size_t i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
		struct alert_table *keep = &tab;

		assert_int_equal(alert_step(keep, R(next[i].rule), next[i].l, at(next[i].sec),
					    rs.expire_ns, &o1), 0);
		assert_int_equal(alert_step(&back, R(next[i].rule), next[i].l, at(next[i].sec),
					    rs.expire_ns, &o2), 0);
		assert_int_equal(o1.health, o2.health);
		assert_int_equal(o1.events, o2.events);
	}
	assert_same(&tab, &back);
	assert_int_equal(alert_find(&tab, "slow")->fired, 2);

	/* saving again replaces the file, keeping its mode */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(alerts_save(p, &back, err, sizeof(err)), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(files_in_dir(), 1);
	alerts_free(&back);
	assert_int_equal(alerts_load(p, &back, err, sizeof(err)), 0);
	assert_same(&tab, &back);
	alerts_free(&back);

	/* an empty table */
	alerts_free(&tab);
	assert_int_equal(alerts_save(p, &tab, err, sizeof(err)), 0);
	assert_int_equal(alerts_load(p, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 0);
	assert_null(back.rules);
	alerts_free(&back);
	alerts_free(NULL);
	/* the rules file the state is of */
	tab.rules = strdup("/etc/shmstat/a \"b\".yaml");
	assert_non_null(tab.rules);
	assert_int_equal(alerts_save(p, &tab, err, sizeof(err)), 0);
	assert_int_equal(alerts_load(p, &back, err, sizeof(err)), 0);
	assert_non_null(back.rules);
	assert_string_equal(back.rules, tab.rules);
	alerts_free(&back);
	alerts_free(&tab);
}

static void test_save_errors(void **state)
{
	char p[128], want[256];

	(void)state;
	step("fast", W, 0);
	in_dir(p, sizeof(p), "no-such-dir/alerts.json");
	assert_int_equal(alerts_save(p, &tab, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot create a temporary file next to it: %s", p,
		 strerror(ENOENT));
	assert_string_equal(err, want);

	/* the target is a directory: the rename fails, no temporary file stays */
	in_dir(p, sizeof(p), "a-dir");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(alerts_save(p, &tab, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot rename"));
	assert_int_equal(files_in_dir(), 1);
	assert_int_equal(rmdir(p), 0);

	/* loading a directory (alerts_load() overwrites the table) */
	alerts_free(&tab);
	assert_int_equal(alerts_load(dir, &tab, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(tab.n, 0);
}

/* The fields of a good alert, in order; a case replaces one (or drops it). */
static const char *const fkeys[] = {
	"rule", "phase", "state", "bad_level", "worst", "bad_since", "active_since",
	"cleared_at", "quiet_since", "last_ns", "fired",
};
static const char *const fgood[] = {
	"\"fast\"", "\"firing\"", "\"WARNING\"", "\"WARNING\"", "\"WARNING\"", "1700000000000000000",
	"1700000000000000000", "0", "0", "1700000010000000000", "1",
};

static void alert_json(char *buf, size_t n, int field, const char *value)
{
	size_t o = (size_t)snprintf(buf, n, "{\"format\": \"shmstat.alerts/1\", \"alerts\": [{");
	int first = 1;

	for (int i = 0; i < 11; i++) {
		const char *v = i == field ? value : fgood[i];

		if (v == NULL)
			continue;
		o += (size_t)snprintf(buf + o, n - o, "%s\"%s\": %s", first ? "" : ", ", fkeys[i], v);
		first = 0;
	}
	snprintf(buf + o, n - o, "}]}\n");
}

static void test_corrupt(void **state)
{
	static const struct {
		int field;             /* -1: use text */
		const char *value, *text, *reason;
	} c[] = {
		{ -1, NULL, "", "corrupt alert state: not JSON" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/1\",\n \"alerts\": [\n", "corrupt alert state: not JSON" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/1\", \"format\": \"x\", \"alerts\": []}",
		  "not JSON: duplicate object key" },
		{ -1, NULL, "[]", "corrupt alert state: not a JSON object" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/2\", \"alerts\": []}",
		  "not an alert state file: 'format' is not \"shmstat.alerts/1\"" },
		{ -1, NULL, "{\"alerts\": []}", "not an alert state file" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/1\"}", "corrupt alert state: no 'alerts' list" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/1\", \"alerts\": {}}", "no 'alerts' list" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/1\", \"alerts\": [], \"x\": 1}",
		  "corrupt alert state: unknown key 'x'" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/1\", \"rules\": 5, \"alerts\": []}",
		  "corrupt alert state: 'rules' is not a file name" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/1\", \"rules\": \"\", \"alerts\": []}",
		  "corrupt alert state: 'rules' is not a file name" },
		{ -1, NULL, "{\"format\": \"shmstat.alerts/1\", \"alerts\": [1]}",
		  "corrupt alert state: alert 1: not a JSON object" },
		{ 0, NULL, NULL, "alert 1: no 'rule' string" },
		{ 0, "7", NULL, "alert 1: no 'rule' string" },
		{ 0, "\"a b\"", NULL, "alert 1: 'rule' is not a valid rule name: 'a b'" },
		{ 1, "\"burning\"", NULL,
		  "alert 1 ('fast'): 'phase' is not one of pending, firing, cleared: 'burning'" },
		{ 2, "\"BAD\"", NULL, "'state' is not one of OK, WARNING, CRITICAL, UNKNOWN: 'BAD'" },
		{ 2, "2", NULL, "alert 1 ('fast'): 'state' is not a string" },
		{ 3, "\"OK\"", NULL, "'bad_level' must be WARNING or CRITICAL" },
		{ 4, "\"OK\"", NULL, "'worst' does not match 'fired'" },
		{ 5, "-1", NULL, "alert 1 ('fast'): 'bad_since' is not an integer >= 0" },
		{ 5, "\"5\"", NULL, "'bad_since' is not an integer >= 0" },
		{ 5, "1.5", NULL, "'bad_since' is not an integer >= 0" },
		{ 5, "0", NULL, "firing needs 'bad_since', 'active_since', 'fired' > 0 and no 'cleared_at'" },
		{ 6, "0", NULL, "firing needs" },
		{ 7, "5", NULL, "firing needs" },
		{ 9, NULL, NULL, "alert 1 ('fast'): no 'last_ns'" },
		{ 9, "0", NULL, "'last_ns' is 0" },
		{ 10, "1099511627776", NULL, "'fired' is too large" },
		{ 10, "0", NULL, "'worst' does not match 'fired'" },
		{ 1, "\"cleared\"", NULL, "cleared needs 'active_since', 'cleared_at', 'quiet_since'" },
		{ 1, "\"pending\", \"extra\": 1", NULL, "alert 1 ('fast'): unknown key 'extra'" },
	};
	char p[128], text[1024];

	(void)state;
	in_dir(p, sizeof(p), "bad.json");
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (c[i].field < 0)
			snprintf(text, sizeof(text), "%s", c[i].text);
		else
			alert_json(text, sizeof(text), c[i].field, c[i].value);
		write_file(p, text);
		if (alerts_load(p, &tab, err, sizeof(err)) != -1 ||
		    strncmp(err, p, strlen(p)) != 0 || strstr(err, c[i].reason) == NULL)
			fail_msg("case %zu: want \"%s\"\n  text: %s\n  got: %s", i, c[i].reason, text,
				 err);
		assert_int_equal(tab.n, 0);
		assert_null(tab.a);
	}
	/* the line of a JSON syntax error */
	write_file(p, "{\"format\": \"shmstat.alerts/1\",\n \"alerts\": [\n  {\"rule\": }]}\n");
	assert_int_equal(alerts_load(p, &tab, err, sizeof(err)), -1);
	snprintf(text, sizeof(text), "%s:3: corrupt alert state: not JSON", p);
	assert_true(strncmp(err, text, strlen(text)) == 0);

	/* the good one loads; twice the same rule does not */
	alert_json(text, sizeof(text), -1, NULL);
	write_file(p, text);
	if (alerts_load(p, &tab, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(tab.n, 1);
	assert_int_equal(tab.a[0].phase, ALERT_FIRING);
	assert_int_equal(tab.a[0].last_ns, 1700000010000000000ull);
	alerts_free(&tab);
	{
		char two[2048];
		char *inner = strchr(text, '[') + 1;
		size_t n = (size_t)(strrchr(text, ']') - inner);

		snprintf(two, sizeof(two), "{\"format\": \"shmstat.alerts/1\", \"alerts\": [%.*s, %.*s]}",
			 (int)n, inner, (int)n, inner);
		write_file(p, two);
		assert_int_equal(alerts_load(p, &tab, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "alert 2 ('fast'): a second alert for the same rule"));
		assert_int_equal(tab.n, 0);
	}
}

/*
 * State files another user planted (issue 17): in a sticky world-writable
 * directory, uid 65534 makes a 0666 file that says "fast" has been firing
 * since 2001, a symbolic link to a file of ours, a FIFO with no writer, a
 * hard link to a file of ours, and a file of its own made 0600. Each is
 * refused with a message naming the file and why, never read (the FIFO
 * does not block: alarm() ends a hang); a file of ours with group write
 * is refused too. Saving over the 0666 file leaves a 0600 file of ours.
 */
static void test_planted(void **state)
{
	static const struct { const char *name, *reason; } c[] = {
		{ "open.json", "alert state is owned by uid 65534, not by this user (uid 0); refusing it" },
		{ "link.json", "alert state is a symbolic link; refusing it" },
		{ "fifo.json", "alert state is not a regular file; refusing it" },
		{ "hard.json", "alert state has 2 hard links; refusing it" },
		{ "own.json", "alert state is owned by uid 65534" },
		{ "group.json", "alert state has mode 0660, not 0600 or 0640; refusing it" },
		/* our file, through a link uid 65534 planted as a directory */
		{ "via/ours.json", "alert state goes through a symbolic link of uid 65534 in a shared directory; refusing it" },
	};
	char p[128], q[128], text[1024], want[256];
	struct stat st;
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_planted: skipped: not root (uid 65534 plants the files)\n");
		skip();
	}
	assert_int_equal(chmod(dir, 01777), 0);
	/* a file of ours, 0600, for the links to point at */
	in_dir(q, sizeof(q), "ours.json");
	alert_json(text, sizeof(text), -1, NULL);
	write_file(q, text);
	/* firing since 2001-09-09 (1e18 ns), fired 1 */
	snprintf(text, sizeof(text),
		 "{\"format\": \"shmstat.alerts/1\", \"alerts\": [{\"rule\": \"fast\", "
		 "\"phase\": \"firing\", \"state\": \"CRITICAL\", \"bad_level\": \"CRITICAL\", "
		 "\"worst\": \"CRITICAL\", \"bad_since\": 1000000000000000000, "
		 "\"active_since\": 1000000000000000000, \"cleared_at\": 0, \"quiet_since\": 0, "
		 "\"last_ns\": 1000000000000000000, \"fired\": 1}]}\n");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(10);
		umask(0);
		in_dir(p, sizeof(p), "open.json");
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0666);
		if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd))
			_exit(11);
		in_dir(p, sizeof(p), "own.json");
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd))
			_exit(12);
		in_dir(p, sizeof(p), "link.json");
		if (symlink(q, p) != 0)
			_exit(13);
		in_dir(p, sizeof(p), "fifo.json");
		if (mkfifo(p, 0666) != 0)
			_exit(14);
		in_dir(p, sizeof(p), "via");
		if (symlink(dir, p) != 0)
			_exit(15);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* a hard link to our file (a protected_hardlinks kernel stops uid
	 * 65534 making it; root makes it to test the check itself) */
	in_dir(p, sizeof(p), "hard.json");
	assert_int_equal(link(q, p), 0);
	in_dir(p, sizeof(p), "group.json");
	alert_json(text, sizeof(text), -1, NULL);
	write_file(p, text);
	assert_int_equal(chmod(p, 0660), 0);

	alarm(30);              /* a FIFO that blocks the load ends the test */
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		in_dir(p, sizeof(p), c[i].name);
		snprintf(want, sizeof(want), "%s: %s", p, c[i].reason);
		if (alerts_load(p, &tab, err, sizeof(err)) != -1 ||
		    strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: want \"%s\"\n  got: %s", c[i].name, want, err);
		assert_int_equal(tab.n, 0);
	}
	alarm(0);
	in_dir(p, sizeof(p), "link.json");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* nor saved through that link: nothing made where it leads */
	step("fast", W, 0);
	in_dir(p, sizeof(p), "via/saved.json");
	snprintf(want, sizeof(want), "%s: %s", p, c[sizeof(c) / sizeof(c[0]) - 1].reason);
	assert_int_equal(alerts_save(p, &tab, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	in_dir(p, sizeof(p), "saved.json");
	assert_int_equal(lstat(p, &st), -1);
	alerts_free(&tab);

	/* saving over the planted 0666 file: a new file, ours, 0600 */
	step("fast", W, 0);
	in_dir(p, sizeof(p), "open.json");
	assert_int_equal(alerts_save(p, &tab, err, sizeof(err)), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* and over the symbolic link: the link is replaced, its target kept */
	in_dir(p, sizeof(p), "link.json");
	assert_int_equal(alerts_save(p, &tab, err, sizeof(err)), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	alerts_free(&tab);
	in_dir(p, sizeof(p), "open.json");
	assert_int_equal(alerts_load(p, &tab, err, sizeof(err)), 0);
	assert_int_equal(tab.n, 1);
	assert_int_equal(tab.a[0].active_since, at(0));     /* ours, not 2001's */
	alerts_free(&tab);
	in_dir(p, sizeof(p), "hard.json");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(alerts_load(q, &tab, err, sizeof(err)), 0);
	assert_int_equal(tab.a[0].last_ns, 1700000010000000000ull);
}

/* Random levels and gaps (a fixed seed): after every step the table keeps
 * the invariants the loader checks, so each saved state loads back as it
 * was, and the health follows the phase. */
static void test_random_steps(void **state)
{
	static const char *const names[] = { "fast", "slow", "other" };
	static const enum health lv[] = { OK, W, C, U };
	struct alert_table back = { 0 };
	uint64_t now = 0, seed = 12345;
	char p[128];

	(void)state;
	in_dir(p, sizeof(p), "random.json");
	for (int i = 0; i < 20000; i++) {
		const char *name;
		enum health level;
		struct alert_step_out o;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		name = names[(seed >> 33) % 3];
		level = lv[(seed >> 40) % 4];
		now += (seed >> 50) % 120;       /* 0 .. 119 s, sometimes none */
		if ((seed >> 20) % 50 == 0)
			now += 400;              /* now and then past the quiet time */
		o = step(name, level, now);
		if (o.alert) {
			assert_string_equal(o.alert->rule, name);
			assert_int_equal(o.health, o.alert->phase == ALERT_PENDING ? OK : level);
			assert_int_equal(o.alert->last_ns, at(now));
		} else {
			assert_int_equal(o.health, level);
			assert_null(alert_find(&tab, name));
		}
		if (i % 100 == 99) {
			if (alerts_save(p, &tab, err, sizeof(err)) != 0 ||
			    alerts_load(p, &back, err, sizeof(err)) != 0)
				fail_msg("step %d: %s", i, err);
			assert_same(&tab, &back);
			alerts_free(&back);
		}
	}
}

int main(void)
{
	const struct CMUnitTest level_tests[] = {
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_baseline_history),
		cmocka_unit_test(test_nagios),
		cmocka_unit_test(test_health),
	};
	const struct CMUnitTest alert_tests[] = {
		cmocka_unit_test_teardown(test_fire_without_for, reset_table),
		cmocka_unit_test_teardown(test_for_duration, reset_table),
		cmocka_unit_test_teardown(test_unknown_while_active, reset_table),
		cmocka_unit_test_teardown(test_expiry, reset_table),
		cmocka_unit_test_teardown(test_flapping, reset_table),
		cmocka_unit_test_teardown(test_many_rules, reset_table),
		cmocka_unit_test_teardown(test_clock_and_args, reset_table),
		cmocka_unit_test_teardown(test_pipeline, reset_table),
		cmocka_unit_test_setup_teardown(test_round_trip, mkdir_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_save_errors, mkdir_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, mkdir_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_planted, mkdir_tmp_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_random_steps, mkdir_setup, rmdir_teardown),
	};
	int rc;

	rc = cmocka_run_group_tests_name("levels", level_tests, setup, teardown);
	rc |= cmocka_run_group_tests_name("alerts", alert_tests, setup, teardown);
	return rc;
}
