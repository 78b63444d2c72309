/*
 * test_window_oom.c - shmstat_history_windows() and shmstat_history_trend()
 * when memory runs out (run by tests/unit/oom_sweep.sh under the
 * LD_PRELOAD library oom_fail).
 *
 *   test_window_oom DIR N
 *
 * Makes segment hy-woom-PID (one histogram) and history file
 * DIR/hy-woom-PID.shmhist with four records, the histogram counting more
 * before each, then asks the file for the mean and the median over all of
 * it (shmstat_history_windows()), and for their trend in steps of 2 s
 * (shmstat_history_trend()), with the N-th allocation failing (0: none):
 * each call returns ENOMEM, or 0 and the figures of a call with memory.
 * A window's histogram is made when the first run of its records ends,
 * at the window's end when no count went down: an allocation failing
 * there was lost, and the call returned 0 with no value and no reason.
 * Prints the allocations counted; removes both.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "shmstat_window.h"

#define T0 1000000000000000000ull
#define SEC 1000000000ull
#define NREC 4

static int same(const struct shmstat_wvalue *a, const struct shmstat_wvalue *b)
{
	return a->has_value == b->has_value && a->value == b->value && a->samples == b->samples &&
	       a->series == b->series;
}

/* The figures of @h: two windows over all of it, and a trend */
static int ask(shmstat_history *h, struct shmstat_wvalue v[2], struct shmstat_trend *tr)
{
	struct shmstat_wrange q[2] = {
		{ { .name = "hy_lat", .fig = SHMSTAT_FIG_MEAN }, T0, T0 + NREC * SEC },
		{ { .name = "hy_lat", .fig = SHMSTAT_FIG_QUANTILE, .q = 0.5 }, T0, T0 + NREC * SEC },
	};
	int err = shmstat_history_windows(h, T0, T0 + NREC * SEC, NULL, NULL, q, 2, v, NULL);

	if (err)
		return err;
	return shmstat_history_trend(h, NULL, NULL, &q[0].qy, T0, T0 + NREC * SEC, 2 * SEC, tr,
				     NULL, NULL);
}

int main(int argc, char **argv)
{
	void (*arm)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "oom_arm");
	long (*calls)(void) = (long (*)(void))dlsym(RTLD_DEFAULT, "oom_calls");
	const struct shmstat_metric_def dh = { .name = "hy_lat", .unit = "ns" };
	char name[64], path[4096];
	struct shmstat_history_opts o;
	struct shmstat_wvalue want[2], got[2];
	struct shmstat_trend twant, tgot;
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;
	shmstat_hist *hist;
	shmstat_history *h = NULL;
	int err, bad = 0;

	if (argc != 3 || arm == NULL || calls == NULL) {
		fprintf(stderr, "usage: LD_PRELOAD=oom_fail.so test_window_oom DIR N\n");
		return 2;
	}
	snprintf(name, sizeof(name), "hy-woom-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/%s.shmhist", argv[1], name);
	unlink(path);
	shmstat_history_opts_init(&o);
	o.max_bytes = 1 << 20;
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_hist_register(seg, &dh, NULL, &hist) != 0 ||
	    shmstat_reader_open(name, &r) != 0 || shmstat_history_create(path, &o, &h) != 0) {
		fprintf(stderr, "setup: %s\n", shmstat_last_error());
		bad = 1;
		goto out;
	}
	for (int k = 0; k <= NREC; k++) {
		shmstat_snap *s = NULL;

		for (int i = 0; i < 50; i++)
			shmstat_hist_record(hist, 1000 + (uint64_t)(i + k * 50) * 37);
		if (shmstat_snapshot(r, &s) != 0 ||
		    shmstat_history_append(h, s, T0 + (uint64_t)k * SEC, NULL) != 0) {
			fprintf(stderr, "append %d: %s\n", k, shmstat_last_error());
			shmstat_snap_free(s);
			bad = 1;
			goto out;
		}
		shmstat_snap_free(s);
	}
	err = ask(h, want, &twant);
	if (err != 0 || !want[0].has_value || !want[1].has_value || twant.points == 0) {
		fprintf(stderr, "with memory: %d %s (values %d %d, %zu points)\n", err,
			shmstat_last_error(), want[0].has_value, want[1].has_value, twant.points);
		bad = 1;
		goto out;
	}
	arm(1);
	err = ask(h, got, &tgot);
	arm(0);
	if (err != 0 && err != ENOMEM) {
		fprintf(stderr, "windows: %d %s\n", err, shmstat_last_error());
		bad = 1;
	} else if (err == 0 && (!same(&got[0], &want[0]) || !same(&got[1], &want[1]) ||
				tgot.points != twant.points || tgot.mean != twant.mean)) {
		fprintf(stderr,
			"0 returned, figures not those with memory: mean %d %g (%s), "
			"median %d %g (%s), trend %zu points; want %g, %g, %zu points\n",
			got[0].has_value, got[0].value, got[0].why ? got[0].why : "-",
			got[1].has_value, got[1].value, got[1].why ? got[1].why : "-", tgot.points,
			want[0].value, want[1].value, twant.points);
		bad = 1;
	}
	printf("%ld\n", calls());
out:
	shmstat_history_close(h);
	shmstat_reader_close(r);
	shmstat_close(seg);
	shmstat_unlink(name);
	unlink(path);
	return bad;
}
