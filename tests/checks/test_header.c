/*
 * test_header.c - the public headers as a user compiles them, and the
 * inline calls beside the library calls. Built as C (every standard from
 * C99) and, through test_header.cc, as C++ (C++11 on), with the warnings
 * users turn on (tests/checks/meson.build, header_matrix.sh): the headers
 * must add none. Then it counts: THREADS threads alternate the inline
 * calls (shmstat_inline.h) and the library calls on the same counter and
 * gauge, time blocks with SHMSTAT_TIME_SCOPE and the sampled timer both
 * ways; every value read back must be exact.
 *
 * Usage: test_header SEGMENT-NAME
 */
#include <shmstat.h>
#include <shmstat_inline.h>
#include <shmstat_profile.h>
#include <shmstat_history.h>
#include <shmstat_window.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
#define NIL nullptr
#define CAST(t, v) static_cast<t>(v)
#else
#define NIL NULL
#define CAST(t, v) ((t)(v))
#endif

#define THREADS 4u
#define N 100000u
#define SAMPLE 7u
#define SCOPED 1000u

static shmstat_counter *ctr;
static shmstat_gauge *gau;
static shmstat_hist *scoped, *sampled;

static void timed(void)
{
	SHMSTAT_TIME_SCOPE(scoped);
}

static void timed_sampled(void)
{
	SHMSTAT_TIME_SCOPE_SAMPLED(sampled, SAMPLE);
}

static void *work(void *arg)
{
	unsigned t = *CAST(const unsigned *, arg);
	unsigned i;

	for (i = 0; i < N; i++) {
		if ((i + t) % 2u) {
			shmstat_counter_add_inline(ctr, 3);
			shmstat_counter_inc_inline(ctr);
			shmstat_gauge_add_inline(gau, 5);
			shmstat_gauge_sub_inline(gau, 2);
		} else {
			shmstat_counter_add(ctr, 3);
			shmstat_counter_inc(ctr);
			shmstat_gauge_add(gau, 5);
			shmstat_gauge_sub(gau, 2);
		}
		if (i < SCOPED)
			timed();
		if (i % 2u)
			shmstat_timer_stop_inline(sampled, shmstat_timer_start_sampled_inline(SAMPLE));
		else
			timed_sampled();
	}
	return NIL;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "test_header: %s: %s (%s)\n", what, shmstat_strerror(err), shmstat_last_error());
	exit(1);
}

static uint64_t hist_count(const shmstat_snap *s, size_t i)
{
	shmstat_hdata *h = NIL;
	struct shmstat_hstats st;
	int err = shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h);

	if (err)
		die("shmstat_snap_hist", err);
	shmstat_hdata_stats(h, &st);
	shmstat_hdata_free(h);
	return st.count;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "test-header";
	shmstat_seg *seg = NIL;
	struct shmstat_metric_def dc, dg, dh1, dh2;
	pthread_t th[THREADS];
	unsigned ids[THREADS];
	shmstat_reader *r = NIL;
	shmstat_snap *s = NIL;
	unsigned i;
	size_t m;
	int err, bad = 0;
	/* N/SAMPLE rounded up: the 1st of each SAMPLE calls is sampled */
	uint64_t want_sampled = THREADS * ((N + SAMPLE - 1) / SAMPLE);

	memset(&dc, 0, sizeof dc);
	dg = dh1 = dh2 = dc;
	dc.name = "test_header_events_total";
	dg.name = "test_header_level";
	dh1.name = "test_header_scoped_ns";
	dh2.name = "test_header_sampled_ns";
	shmstat_unlink(name);
	if ((err = shmstat_open(name, NIL, &seg)) != 0)
		die("shmstat_open", err);
	if ((err = shmstat_counter_register(seg, &dc, &ctr)) != 0 ||
	    (err = shmstat_gauge_register(seg, &dg, SHMSTAT_AGG_SUM, &gau)) != 0 ||
	    (err = shmstat_hist_register(seg, &dh1, NIL, &scoped)) != 0 ||
	    (err = shmstat_hist_register(seg, &dh2, NIL, &sampled)) != 0)
		die("register", err);
	for (i = 0; i < THREADS; i++) {
		ids[i] = i;
		if (pthread_create(&th[i], NIL, work, &ids[i]) != 0)
			die("pthread_create", 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NIL);
	if ((err = shmstat_reader_open(name, &r)) != 0)
		die("shmstat_reader_open", err);
	if ((err = shmstat_snapshot(r, &s)) != 0)
		die("shmstat_snapshot", err);
	for (m = 0; m < shmstat_snap_metrics(s); m++) {
		struct shmstat_metric_info mi;

		if (shmstat_snap_metric(s, m, &mi) != 0)
			die("shmstat_snap_metric", 0);
		if (strcmp(mi.name, dc.name) == 0 && mi.counter != 4ull * THREADS * N) {
			printf("%s = %llu, want %llu\n", mi.name, CAST(unsigned long long, mi.counter),
			       4ull * THREADS * N);
			bad = 1;
		}
		if (strcmp(mi.name, dg.name) == 0 && mi.gauge != 3ll * THREADS * N) {
			printf("%s = %lld, want %lld\n", mi.name, CAST(long long, mi.gauge), 3ll * THREADS * N);
			bad = 1;
		}
		if (strcmp(mi.name, dh1.name) == 0 && hist_count(s, m) != THREADS * SCOPED) {
			printf("%s count %llu, want %u\n", mi.name,
			       CAST(unsigned long long, hist_count(s, m)), THREADS * SCOPED);
			bad = 1;
		}
		if (strcmp(mi.name, dh2.name) == 0 && hist_count(s, m) != want_sampled) {
			printf("%s count %llu, want %llu\n", mi.name,
			       CAST(unsigned long long, hist_count(s, m)),
			       CAST(unsigned long long, want_sampled));
			bad = 1;
		}
	}
	if (shmstat_snap_metrics(s) != 4) {
		printf("%zu metrics, want 4\n", shmstat_snap_metrics(s));
		bad = 1;
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	shmstat_close(seg);
	shmstat_unlink(name);
	if (!bad)
		printf("test_header: ok\n");
	return bad;
}
