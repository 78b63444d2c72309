/*
 * histogram.c - time some work into a histogram, then read it back.
 *
 * The work is timed three ways: a plain timer (100 calls), a sampled
 * timer that times 1 call in 10 (1000 calls, 100 samples) and a timer for
 * the rest of a block (50 blocks). The reader then finds 250 values and
 * prints their median and 99th percentile. After 10 more timed calls, the
 * difference of two snapshots holds exactly those 10.
 *
 * SHMSTAT_TIME_SCOPE uses the cleanup attribute of GCC and Clang, which
 * they accept with -std=c11 too.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <shmstat.h>

static const struct shmstat_metric_def lookup_def = {
	.name = "example_lookup_duration",
	.help = "Time taken by one lookup.",
	.unit = "ns",
};

/* Something to time: a few hundred nanoseconds to microseconds. */
static uint64_t lookup(uint64_t key)
{
	volatile uint64_t x = key;

	for (int i = 0; i < 200 + (int)(key % 300); i++)
		x = x * 6364136223846793005u + 1442695040888963407u;
	return x;
}

/* The histogram of metric @metric in a new snapshot of @r, all processes. */
static shmstat_hdata *read_hist(shmstat_reader *r, const char *metric)
{
	shmstat_hdata *h = NULL;
	shmstat_snap *s;
	int err = shmstat_snapshot(r, &s);

	if (err) {
		fprintf(stderr, "histogram: snapshot: %s\n", shmstat_last_error());
		return NULL;
	}
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info m;

		shmstat_snap_metric(s, i, &m);
		if (m.type == SHMSTAT_HISTOGRAM && strcmp(m.name, metric) == 0) {
			err = shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h);
			if (err)
				fprintf(stderr, "histogram: %s\n", shmstat_strerror(err));
			break;
		}
	}
	shmstat_snap_free(s);   /* h does not point into s */
	return h;
}

int main(void)
{
	static const double q[2] = { 0.5, 0.99 };
	char name[64];
	shmstat_seg *seg;
	shmstat_hist *lookups;
	shmstat_reader *r = NULL;
	shmstat_hdata *before = NULL, *after = NULL, *interval = NULL;
	struct shmstat_hstats st;
	uint64_t v[2];
	int err, ok = 0;

	snprintf(name, sizeof(name), "example-histogram-%ld", (long)getpid());
	err = shmstat_open(name, NULL, &seg);
	if (err) {
		fprintf(stderr, "histogram: %s\n", shmstat_last_error());
		return 1;
	}
	/* NULL options: 1 ns .. 1 h at 7 bits, within 0.78125% */
	err = shmstat_hist_register(seg, &lookup_def, NULL, &lookups);
	if (err) {
		fprintf(stderr, "histogram: %s\n", shmstat_last_error());
		goto out;
	}

	for (uint64_t k = 0; k < 100; k++) {          /* 100 values */
		uint64_t t = shmstat_timer_start();

		lookup(k);
		shmstat_timer_stop(lookups, t);
	}
	for (uint64_t k = 0; k < 1000; k++) {         /* 1 in 10: 100 values */
		uint64_t t = shmstat_timer_start_sampled(10);

		lookup(k);
		shmstat_timer_stop(lookups, t);       /* nothing when t is 0 */
	}
	for (uint64_t k = 0; k < 50; k++) {           /* 50 values */
		SHMSTAT_TIME_SCOPE(lookups);
		lookup(k);
	}                                             /* recorded here */

	err = shmstat_reader_open(name, &r);
	if (err) {
		fprintf(stderr, "histogram: %s\n", shmstat_last_error());
		goto out;
	}
	before = read_hist(r, lookup_def.name);
	if (before == NULL)
		goto out;
	shmstat_hdata_stats(before, &st);
	if (shmstat_hdata_quantiles(before, q, 2, v) != 0)
		goto out;
	printf("%s: count %" PRIu64 ", p50 %" PRIu64 " ns, p99 %" PRIu64 " ns, "
	       "min %" PRIu64 " ns, max %" PRIu64 " ns (within %.5f%%)\n",
	       lookup_def.name, st.count, v[0], v[1], st.min, st.max, 100.0 / (1u << st.bits));
	if (st.count != 250 || v[0] > v[1] || v[0] < st.min || v[1] > st.max) {
		fprintf(stderr, "histogram: expected 250 values in order, got %" PRIu64 "\n",
			st.count);
		goto out;
	}

	/* an interval: what was recorded between two snapshots */
	for (uint64_t k = 0; k < 10; k++) {
		SHMSTAT_TIME_SCOPE(lookups);
		lookup(k);
	}
	after = read_hist(r, lookup_def.name);
	if (after == NULL || shmstat_hdata_sub(after, before, &interval) != 0)
		goto out;
	shmstat_hdata_stats(interval, &st);
	printf("interval: count %" PRIu64 "\n", st.count);
	ok = st.count == 10;
	if (!ok)
		fprintf(stderr, "histogram: expected 10 values in the interval\n");
out:
	shmstat_hdata_free(interval);
	shmstat_hdata_free(after);
	shmstat_hdata_free(before);
	shmstat_reader_close(r);
	shmstat_close(seg);
	shmstat_unlink(name);
	return ok ? 0 : 1;
}
