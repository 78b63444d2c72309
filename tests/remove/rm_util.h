/*
 * rm_util.h - small helpers shared by the metric-removal tests (unit part:
 * they use cmocka assertions and ut_common.h).
 */
#ifndef RM_UTIL_H
#define RM_UTIL_H

#include <stdio.h>
#include <string.h>

#include "ut_common.h"

/* Open (create) @name with the small options, @metrics descriptors and
 * @values value slots per stripe. */
static inline shmstat_seg *rm_open(const char *name, uint32_t metrics, uint32_t values)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;
	int err;

	ut_small_opts(&o);
	o.max_metrics = metrics;
	o.max_values = values;
	err = shmstat_open(name, &o, &seg);
	if (err)
		fail_msg("shmstat_open(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
	return seg;
}

static inline int rm_counter(shmstat_seg *seg, const char *name, const char *const *labels,
			     shmstat_counter **c)
{
	const struct shmstat_metric_def def = { .name = name, .labels = labels };

	return shmstat_counter_register(seg, &def, c);
}

static inline int rm_remove(shmstat_seg *seg, const char *name, const char *const *labels)
{
	const struct shmstat_metric_def def = { .name = name, .labels = labels };

	return shmstat_remove(seg, &def);
}

/* shmstat_gc() on @name, which must succeed. */
static inline void rm_gc(const char *name)
{
	int err = shmstat_gc(name, NULL);

	if (err)
		fail_msg("shmstat_gc(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
}

/* The metric @metric{@labels} of a fresh snapshot of @seg: 1 and *@mi
 * when it is there, 0 when it is not. */
static inline int rm_lookup(const char *seg, const char *metric, const char *labels,
			    struct shmstat_metric_info *mi)
{
	shmstat_snap *s = ut_snap(seg);
	struct shmstat_metric_info m;
	int i = ut_find(s, metric, labels, &m);

	shmstat_snap_free(s);
	if (i >= 0 && mi) {
		/* the strings pointed into the snapshot: keep the numbers */
		*mi = m;
		mi->name = mi->labels = mi->help = mi->unit = NULL;
	}
	return i >= 0;
}

/* Counter @metric{@labels} of @seg; it must be there. */
static inline uint64_t rm_value(const char *seg, const char *metric, const char *labels,
				uint64_t *reg_id)
{
	struct shmstat_metric_info mi = {0};   /* -Wmaybe-uninitialized: fail_msg() is not noreturn */

	if (!rm_lookup(seg, metric, labels, &mi))
		fail_msg("metric %s{%s} is missing from %s", metric, labels, seg);
	assert_int_equal(mi.type, SHMSTAT_COUNTER);
	if (reg_id)
		*reg_id = mi.reg_id;
	return mi.counter;
}

#endif
