/*
 * trend.c - trends through windows of history frames (shmstat_window.h):
 * a window cut into sub-windows of a step, a figure of each (window.c),
 * and the least-squares line through them.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_window.h"

/* The least-squares line through a trend's points, as they come. */
struct fit {
	double sx, sy, sxx, sxy, x0, x1;
};

/* Sub-window value @v of a step of @step_ns (0: between consecutive
 * frames), ending @x seconds into the window, a point of @out when it
 * has a value, unless its records span more than SHMSTAT_TREND_SPAN_MAX
 * steps: the sub-window that starts in a gap of the history took its
 * figure from the record before the gap, a rate averaged over an hour
 * the recorder was stopped, and it bent the line as a figure of the step
 * (a counter at 10/s wherever recorded trended "falling, -27.6%" over
 * 2h in steps of 5m: tests/cli/trend_gap.sh). A gauge's span is inside
 * its sub-window: never left out. */
static void fit_add(struct fit *t, struct shmstat_trend *out, const struct shmstat_wvalue *v,
		    uint64_t step_ns, double x)
{
	if (!v->has_value || !isfinite(v->value))
		return;
	if (step_ns && step_ns <= UINT64_MAX / SHMSTAT_TREND_SPAN_MAX && v->to_ns > v->from_ns &&
	    v->to_ns - v->from_ns > SHMSTAT_TREND_SPAN_MAX * step_ns) {
		out->left_out++;
		return;
	}
	if (out->points == 0) {
		out->first = v->value;
		t->x0 = x;
	}
	out->last = v->value;
	t->x1 = x;
	out->points++;
	t->sx += x;
	t->sy += v->value;
	t->sxx += x * x;
	t->sxy += x * v->value;
}

static void fit_end(const struct fit *t, struct shmstat_trend *out)
{
	if (out->points == 0)
		return;
	out->mean = t->sy / (double)out->points;
	if (out->points >= 2) {
		double d = (double)out->points * t->sxx - t->sx * t->sx;

		out->slope_per_s = d != 0 ? ((double)out->points * t->sxy - t->sx * t->sy) / d : 0;
		/* over the span the points cover, not the window: a window
		 * that is mostly empty does not magnify the change */
		if (out->mean != 0)
			out->change_pct = out->slope_per_s * (t->x1 - t->x0) / fabs(out->mean) * 100.0;
		out->direction = fabs(out->change_pct) < SHMSTAT_TREND_STABLE_PCT ? 0
				 : out->change_pct > 0 ? 1 : -1;
	}
}

/* The boundaries of the sub-windows of @step_ns in [@from_ns, @to_ns]
 * (anchored at @to_ns: a step that does not divide the window leaves out
 * its oldest part, never its newest) into *@cut (allocated), *@ncut of
 * them. 0, EINVAL (too many) or ENOMEM. */
static int step_cuts(uint64_t from_ns, uint64_t to_ns, uint64_t step_ns, uint64_t **cut,
		     size_t *ncut)
{
	uint64_t k = (to_ns - from_ns) / step_ns;

	*ncut = 0;
	if (k > SHMSTAT_TREND_MAX_STEPS)
		return EINVAL;
	*cut = malloc((size_t)(k + 1) * sizeof(**cut));
	if (*cut == NULL)
		return ENOMEM;
	for (uint64_t i = 0; i <= k; i++)
		(*cut)[(*ncut)++] = to_ns - (k - i) * step_ns;
	return 0;
}

/* Sub-window @c (1 .. ncut - 1) of @cut: its start (gauges: the value at
 * the end of each sub-window, so past the last one's end). */
static uint64_t sub_from(const struct shmstat_wquery *qy, const uint64_t *cut, size_t c)
{
	return qy->fig == SHMSTAT_FIG_GAUGE ? cut[c - 1] + 1 : cut[c - 1];
}

int shmstat_window_trend(shmstat_frame *const *f, size_t n, const struct shmstat_wquery *qy,
			 uint64_t from_ns, uint64_t to_ns, uint64_t step_ns,
			 struct shmstat_trend *out)
{
	struct fit t = { 0 };
	uint64_t *cut = NULL;
	size_t ncut = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (to_ns <= from_ns)
		return EINVAL;
	/* sub-window boundaries: every step, or every frame */
	if (step_ns) {
		err = step_cuts(from_ns, to_ns, step_ns, &cut, &ncut);
		if (err)
			return err;
	} else {
		cut = malloc((n ? n : 1) * sizeof(*cut));
		if (cut == NULL)
			return ENOMEM;
		for (size_t j = 0; j < n; j++) {
			struct shmstat_frame_info fi;

			shmstat_frame_info(f[j], &fi);
			if (fi.time_ns >= from_ns && fi.time_ns <= to_ns)
				cut[ncut++] = fi.time_ns;
		}
	}
	for (size_t c = 1; c < ncut; c++) {
		struct shmstat_wvalue v;

		err = shmstat_window(f, n, qy, sub_from(qy, cut, c), cut[c], &v);
		if (err)
			break;
		fit_add(&t, out, &v, step_ns, (double)(cut[c] - from_ns) / 1e9);
	}
	free(cut);
	if (err)
		return err;
	fit_end(&t, out);
	return 0;
}

int shmstat_history_trend(shmstat_history *h, shmstat_series_filter keep, void *arg,
			  const struct shmstat_wquery *qy, uint64_t from_ns, uint64_t to_ns,
			  uint64_t step_ns, struct shmstat_trend *out, struct shmstat_wvalue *whole,
			  struct shmstat_wread *rd)
{
	struct shmstat_wrange *r = NULL;
	struct shmstat_wvalue *v = NULL;
	struct fit t = { 0 };
	uint64_t *cut = NULL;
	size_t ncut = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if (whole)
		memset(whole, 0, sizeof(*whole));
	if (rd)
		memset(rd, 0, sizeof(*rd));
	if (to_ns <= from_ns || step_ns == 0 || qy == NULL)
		return EINVAL;
	err = step_cuts(from_ns, to_ns, step_ns, &cut, &ncut);
	if (err)
		return err;
	/* the whole window, then the sub-windows, read at once */
	r = malloc(ncut * sizeof(*r));
	v = malloc(ncut * sizeof(*v));
	if (r == NULL || v == NULL) {
		err = ENOMEM;
		goto out;
	}
	r[0] = (struct shmstat_wrange){ *qy, from_ns, to_ns };
	for (size_t c = 1; c < ncut; c++)
		r[c] = (struct shmstat_wrange){ *qy, sub_from(qy, cut, c), cut[c] };
	err = shmstat_history_windows(h, from_ns, to_ns, keep, arg, r, ncut, v, rd);
	if (err)
		goto out;
	if (whole)
		*whole = v[0];
	for (size_t c = 1; c < ncut; c++)
		fit_add(&t, out, &v[c], step_ns, (double)(cut[c] - from_ns) / 1e9);
	fit_end(&t, out);
out:
	free(cut);
	free(r);
	free(v);
	return err;
}
