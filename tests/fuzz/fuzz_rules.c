/*
 * fuzz_rules.c - the input is a rules file (docs/rules.md): rules_parse()
 * must refuse any malformed file with a message, never crash, hang or
 * leak. A file that parses is then used as `shmstat check` uses it:
 * every rule found by name, its names and values formatted, rule_level()
 * on values of every kind (none, NaN, infinities, zero, negative, huge;
 * with and without baselines; too few samples), and alert_step() through
 * a sequence of levels and times (pending, firing, level changes,
 * clearing, flapping, expiry, a clock that goes back), then
 * alerts_prune() and alerts_free().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "alerts.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void use_str(const char *s)
{
	volatile size_t n = s ? strlen(s) : 0;

	(void)n;
}

static void use_sel(const struct rule_selector *s)
{
	use_str(s->metric);
	use_str(s->labels);
	for (size_t k = 0; k < s->nlabels; k++) {
		use_str(s->keys[k]);
		use_str(s->values[k]);
	}
}

static const double values[] = { 0, -0.0, 1, -1, 0.5, 99.5, 1e300, -1e300, 1e-300, NAN,
				  INFINITY, -INFINITY, 4e9, 123456789.0 };
#define NV (sizeof(values) / sizeof(values[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset rs;
	struct alert_table t = { 0 };
	char err[512];
	char buf[64];

	if (rules_parse("fuzz.yaml", (const char *)data, size, &rs, err, sizeof(err)) != 0) {
		use_str(err);
		return 0;
	}
	for (size_t i = 0; i < rs.n; i++) {
		const struct rule *r = &rs.rules[i];

		if (rules_find(&rs, r->name) == NULL)
			abort();   /* every rule is found by its name */
		use_str(r->description);
		use_str(rule_kind_name(r->kind));
		use_str(rule_op_name(r->op));
		use_str(rule_figure_name(r->figure));
		use_str(rule_stat_name(r->baseline_stat));
		if (r->kind == RULE_RATIO) {
			for (size_t k = 0; k < r->nnum; k++)
				use_sel(&r->num[k]);
			for (size_t k = 0; k < r->nden; k++)
				use_sel(&r->den[k]);
		} else {
			use_sel(&r->sel);
		}
		for (size_t k = 0; k < NV; k++) {
			for (int b = 0; b < 4; b++) {
				struct rule_value v = {
					.has_value = 1, .value = values[k],
					.samples = b == 3 ? 0 : UINT64_MAX,
					.has_baseline = b != 0, .baseline = values[(k + b) % NV],
					.why = b == 2 ? "why" : NULL,
				};
				double shown;
				const char *why;

				(void)rule_level(r, &v, &shown, &why);
				use_str(why);
				rule_fmt_value(r, NULL, shown, r->has_baseline && !rule_uses_fallback(r, &v),
					       buf, sizeof(buf));
			}
			rule_fmt_value(r, NULL, values[k], 0, buf, sizeof(buf));
			rule_fmt_value(r, "ns", values[k], 0, buf, sizeof(buf));
			rule_fmt_value(r, "bytes", values[k], 0, buf, sizeof(buf));
			rule_fmt_value(r, NULL, values[k], 1, buf, sizeof(buf));
		}
		{
			char msg[256];
			uint64_t have;

			use_str(rule_unit_misfit(r, "", NULL, msg, sizeof(msg)));
			use_str(rule_unit_misfit(r, "ns", NULL, msg, sizeof(msg)));
			use_str(rule_unit_misfit(r, "bytes", NULL, msg, sizeof(msg)));
			if (r->has_baseline)
				for (size_t k = 0; k < 4; k++)
					(void)baseline_history(r, (uint64_t)1 << (40 + 5 * k),
							       (uint64_t)1 << (38 + 6 * k), &have);
		}
		{
			struct rule_value none = { 0 };

			(void)rule_level(r, &none, NULL, NULL);
		}
	}
	/* an alert for every rule through a run of levels and times */
	{
		static const enum health seq[] = {
			HEALTH_OK, HEALTH_WARNING, HEALTH_WARNING, HEALTH_CRITICAL, HEALTH_UNKNOWN,
			HEALTH_CRITICAL, HEALTH_OK, HEALTH_WARNING, HEALTH_OK, HEALTH_OK,
			HEALTH_UNKNOWN, HEALTH_CRITICAL, HEALTH_OK,
		};
		static const uint64_t dt[] = { 1, 1000000000ull, 60000000000ull, 1ull << 50,
					       0, 3600000000000ull };
		uint64_t now = 1763780000000000000ull;

		for (size_t s = 0; s < 3 * sizeof(seq) / sizeof(seq[0]); s++) {
			for (size_t i = 0; i < rs.n; i++) {
				struct alert_step_out out;

				if (alert_step(&t, &rs.rules[i], seq[s % 13], now, rs.expire_ns,
					       &out) == 0 && out.alert)
					use_str(out.alert->rule);
			}
			now += dt[s % 6];
			if (s == 20)
				now -= 5000000000ull;      /* the clock goes back */
		}
		if (rs.n)
			(void)alert_find(&t, rs.rules[0].name);
		(void)alerts_prune(&t, &rs);
	}
	alerts_free(&t);
	rules_free(&rs);
	return 0;
}
