/*
 * test_check_eval.c - shmstat check's live values of signature-table
 * rules (tools/cmd/check_eval.c), built from the tool's sources: every
 * figure exact, and each table merged once however many rules read it
 * (the merges counted at the library's hook SHMSTAT_HOOK_SIGTAB_MERGE);
 * the same values without the shared views (each rule merging its own);
 * the samples of a counter at UINT64_MAX.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ut_common.h"
#include "hook.h"
#include "check_eval.h"

static int merges;

static void count_merges(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == SHMSTAT_HOOK_SIGTAB_MERGE)
		merges++;
}

/* rules of two tables: R_T1 of ce_sig, then one of ce_sig2, one counter */
static const char rules_text[] =
	"rules:\n"
	"  - {name: a-hits, sig: {metric: ce_sig, figure: hits, owner: a}, above: {warning: 1e9}}\n"
	"  - {name: a-weight, sig: {metric: ce_sig, figure: weight, owner: a}, above: {warning: 1e9}}\n"
	"  - {name: b-misses, sig: {metric: ce_sig, figure: misses, owner: b}, above: {warning: 1e9}}\n"
	"  - {name: b-ratio, sig: {metric: ce_sig, figure: hit_ratio, owner: b}, above: {warning: 1}}\n"
	"  - {name: hits, sig: {metric: ce_sig, figure: hits}, above: {warning: 1e9}}\n"
	"  - {name: misses, sig: {metric: ce_sig, figure: misses}, above: {warning: 1e9}}\n"
	"  - {name: weight, sig: {metric: ce_sig, figure: weight}, above: {warning: 1e9}}\n"
	"  - {name: ratio, sig: {metric: ce_sig, figure: hit_ratio}, above: {warning: 1}}\n"
	"  - {name: evictions, sig: {metric: ce_sig, figure: evictions}, above: {warning: 1e9}}\n"
	"  - {name: none, sig: {metric: ce_sig, figure: hits, owner: nobody}, above: {warning: 1e9}}\n"
	"  - {name: t2-misses, sig: {metric: ce_sig2, figure: misses}, above: {warning: 1e9}}\n"
	"  - {name: count, increase: ce_count, above: {warning: 1e9}}\n";
#define NRULES 12
#define NSIG 11

static void evaluate_all(const struct check_ctx *c, const struct ruleset *rs,
			 struct rule_value *v)
{
	char why[256];

	merges = 0;
	__atomic_store_n(&shmstat__test_hook, count_merges, __ATOMIC_RELEASE);
	for (size_t k = 0; k < rs->n; k++)
		check_evaluate(c, &rs->rules[k], &v[k], why, sizeof(why));
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
}

static void test_sig_rules_merge_once(void **state)
{
	const char *name = ut_name("chk");
	struct shmstat_opts o;
	struct shmstat_sigtab_opts so;
	struct shmstat_metric_def d1 = { .name = "ce_sig" }, d2 = { .name = "ce_sig2" },
				  dc = { .name = "ce_count" };
	shmstat_seg *seg;
	shmstat_sigtab *t1, *t2;
	shmstat_counter *cnt;
	uint32_t a, b;
	struct ruleset rs = { 0 };
	struct check_ctx c = { 0 };
	struct rule_value shared[NRULES], own[NRULES];
	struct shmstat_sigstats st;
	struct shmstat_metric_info mi;
	shmstat_sigview *v;
	char err[256], key[16];
	struct timespec ts;

	(void)state;
	shmstat_opts_init(&o);
	shmstat_sigtab_opts_init(&so);
	so.capacity = 4;        /* 11 keys: evictions */
	so.key_bytes = 8;
	so.owners = 4;
	so.summaries = 2;
	o.sig_bytes = 2 * shmstat_sigtab_bytes(&so);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &d1, &so, &t1), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &d2, &so, &t2), 0);
	assert_int_equal(shmstat_counter_register(seg, &dc, &cnt), 0);
	assert_int_equal(shmstat_sig_owner(t1, "a", &a), 0);
	assert_int_equal(shmstat_sig_owner(t1, "b", &b), 0);
	for (int k = 0; k < 10; k++) {
		int n = snprintf(key, sizeof(key), "k%d", k);

		shmstat_sig_hit(t1, key, (size_t)n, 2, a);             /* a: 10 hits, weight 20 */
		if (k < 5)
			shmstat_sig_miss(t1, key, (size_t)n, b);       /* b: 5 misses */
	}
	for (int k = 0; k < 3; k++)
		shmstat_sig_hit(t1, "x", 1, 1, 0);                     /* no owner */
	for (int k = 0; k < 4; k++)
		shmstat_sig_miss(t2, "y", 1, 0);
	shmstat_counter_add(cnt, 7);
	assert_int_equal(rules_parse("rules.yaml", rules_text, sizeof(rules_text) - 1, &rs, err,
				     sizeof(err)), 0);
	assert_int_equal(rs.n, NRULES);

	c.snap = ut_snap(name);
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	c.now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	assert_int_equal(shmstat_snap_sigtab(c.snap, (size_t)ut_find(c.snap, "ce_sig", "", &mi), &v),
			 0);
	shmstat_sigview_stats(v, &st);
	shmstat_sigview_free(v);
	assert_true(st.evictions > 0);

	/* the views shared: each of the two tables merged once */
	check_views(&c);
	assert_non_null(c.sigv);
	evaluate_all(&c, &rs, shared);
	assert_int_equal(merges, 2);
	/* again: merged already */
	evaluate_all(&c, &rs, shared);
	assert_int_equal(merges, 0);
	check_views_free(&c);
	assert_null(c.sigv);

	/* without them: each sig rule merges its table, to the same values */
	evaluate_all(&c, &rs, own);
	assert_int_equal(merges, NSIG);

	{
		const double want[NRULES] = { 10, 20, 5, 0, 13, 5, 23, 13.0 / 18.0,
					      (double)st.evictions, 0 /* an owner not in the table */, 4, 7 };

		for (size_t k = 0; k < NRULES; k++) {
			const char *rn = rs.rules[k].name;
			if (!shared[k].has_value || shared[k].value != want[k])
				fail_msg("rule %s: %d %g, want %g", rn, shared[k].has_value,
					 shared[k].value, want[k]);
			assert_true(own[k].has_value);
			assert_true(own[k].value == shared[k].value);
			assert_true(own[k].samples == shared[k].samples);
		}
	}
	shmstat_snap_free(c.snap);
	rules_free(&rs);
	shmstat_close(seg);
}

/* A counter at UINT64_MAX (a double of 2^64 summed): its samples are
 * UINT64_MAX, not what converting 2^64 to uint64_t made (0 on x86-64:
 * "fewer samples than min_samples" for the largest count there is) */
static void test_huge_counter_samples(void **state)
{
	static const char text[] =
		"rules:\n"
		"  - {name: inc, increase: ce_big, above: {warning: 1}, min_samples: 10}\n"
		"  - {name: rate, rate: ce_big, above: {warning: 1}, min_samples: 10}\n"
		"  - {name: ratio, ratio: {num: [ce_big], den: [ce_big, ce_big]}, above: {warning: 1%},"
		" min_samples: 10}\n";
	const char *name = ut_name("chkbig");
	struct shmstat_metric_def d = { .name = "ce_big" };
	struct ruleset rs = { 0 };
	struct check_ctx c = { 0 };
	struct rule_value v;
	shmstat_counter *cnt;
	shmstat_seg *seg;
	struct timespec ts;
	char err[256], why[256];

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &d, &cnt), 0);
	shmstat_counter_add(cnt, UINT64_MAX);
	assert_int_equal(rules_parse("big.yaml", text, sizeof(text) - 1, &rs, err, sizeof(err)), 0);
	c.snap = ut_snap(name);
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	c.now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	for (size_t k = 0; k < rs.n; k++) {
		check_evaluate(&c, &rs.rules[k], &v, why, sizeof(why));
		if (!v.has_value || v.samples != UINT64_MAX)
			fail_msg("rule %s: has_value %d, samples %llu, want %llu", rs.rules[k].name,
				 v.has_value, (unsigned long long)v.samples,
				 (unsigned long long)UINT64_MAX);
		assert_int_equal(rule_level(&rs.rules[k], &v, &(double){ 0 }, &(const char *){ NULL }),
				 HEALTH_WARNING);
	}
	shmstat_snap_free(c.snap);
	rules_free(&rs);
	shmstat_close(seg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sig_rules_merge_once, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_huge_counter_samples, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
