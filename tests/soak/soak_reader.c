/*
 * soak_reader.c - the reader process of the soak test (test_soak.c).
 *
 *   soak_reader NAME        (fd 3: the test's control page, soak.h)
 *
 * Built against the plain library, without sanitizer: its snapshots are
 * fast next to the instrumented writers, as a real exporter's would be.
 * Every 10 ms (100 Hz, paced with absolute deadlines; a snapshot that
 * comes late is taken at once and counted as late) until the control
 * page says stop, it takes a snapshot of segment NAME and checks it:
 *
 *   - shmstat_snapshot() returns 0 or SHMSTAT_EBUSY (documented: a copy
 *     kept racing with folds; counted), nothing else; so do the views
 *     (shmstat_snap_hist, shmstat_snap_sigtab);
 *   - every metric is there (SOAK_METRICS), no descriptor fails validation,
 *     at most SOAK_W writers alive;
 *   - monotonic: soak_events_total, each soak_writer_events_total, the
 *     histogram's count, the signature table's hits, misses, weight and
 *     per-owner events, the SUM gauge never decrease;
 *   - every acknowledged step is counted, and no step more than can be in
 *     flight: with A0 the acknowledged steps read before the snapshot, A2
 *     and K2 the acknowledged steps and the kills read after it,
 *         A0 <= value <= A2 + (threads) + SOAK_T * K2
 *     (a live thread may have done one step it has not acknowledged yet;
 *     a killed one may have left one step half done, which its successor
 *     does again), for each of the above (per writer slot for the
 *     per-writer counters, with that slot's threads and kills);
 *   - sane values: the histogram has no under- or overflow and, once a
 *     step is acknowledged, SOAK_VMIN <= min <= max <= SOAK_VMAX; the
 *     signature table holds at most SOAK_KEYS keys and evicted none; the
 *     LIVESUM gauge is between 0 and SOAK_T * writers alive; the LAST
 *     gauge of each writer thread is between its acknowledged steps
 *     before the snapshot and one more than after it.
 *
 * At the end it prints "snapshots=N busy=B late=L work_us=U" (U: the
 * mean wall time of a snapshot and its checks, in microseconds; the
 * writers may have kept it off the CPU meanwhile) and exits 0; on the
 * first wrong snapshot it says why on stderr and exits 1; on any other
 * failure (an error that is not SHMSTAT_EBUSY), 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "soak.h"

static struct soak_ctl *ctl;
static uint64_t snaps;

#define WRONG(...)                                                             \
	do {                                                                   \
		fprintf(stderr, "soak_reader: snapshot %" PRIu64 ": ", snaps); \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		exit(1);                                                       \
	} while (0)

/* What the control page says at one moment. */
struct acks {
	uint64_t all, w[SOAK_W], wt[SOAK_W][SOAK_T];
	uint64_t kills, kw[SOAK_W];
};

static void read_acks(struct acks *a)
{
	memset(a, 0, sizeof(*a));
	for (int w = 0; w < SOAK_W; w++) {
		for (int t = 0; t < SOAK_T; t++) {
			a->wt[w][t] = soak_ld(&ctl->thr[w][t].ack);
			a->w[w] += a->wt[w][t];
		}
		a->all += a->w[w];
	}
	/* after the acks: a kill counted here covers a step counted in them */
	for (int w = 0; w < SOAK_W; w++) {
		a->kw[w] = soak_ld(&ctl->kills[w].v);
		a->kills += a->kw[w];
	}
}

/* The values checked for monotony, from one snapshot. */
struct mono {
	uint64_t total, writer[SOAK_W], hcount, hits, misses, weight, owners, sum;
};

static void check_bounds(const char *what, uint64_t v, uint64_t lo, uint64_t hi)
{
	if (v < lo || v > hi)
		WRONG("%s = %" PRIu64 ", outside [%" PRIu64 ", %" PRIu64 "] (acknowledged, "
		      "+ in flight)", what, v, lo, hi);
}

static void check_mono(const char *what, uint64_t v, uint64_t prev)
{
	if (v < prev)
		WRONG("%s went down: %" PRIu64 " after %" PRIu64, what, v, prev);
}

static void check(const shmstat_snap *s, const struct acks *a0, const struct acks *a2,
		  struct mono *prev)
{
	const uint64_t inflight = (uint64_t)SOAK_W * SOAK_T + (uint64_t)SOAK_T * a2->kills;
	struct shmstat_seg_info info;
	struct shmstat_metric_info mi;
	struct mono m;
	size_t n = shmstat_snap_metrics(s), hist = SIZE_MAX, sigs = SIZE_MAX;
	int seen_writer[SOAK_W] = { 0 }, seen_last[SOAK_W][SOAK_T] = { { 0 } };
	int64_t inflight_gauge = -1;

	memset(&m, 0, sizeof(m));
	shmstat_snap_info(s, &info);
	if (n != SOAK_METRICS || info.metrics != SOAK_METRICS)
		WRONG("%zu metrics (info: %u), expected %d", n, info.metrics, SOAK_METRICS);
	if (info.bad_descs != 0)
		WRONG("%u descriptors failed validation", info.bad_descs);
	if (info.writers_alive > SOAK_W)
		WRONG("%u writers alive, at most %d run at once", info.writers_alive, SOAK_W);
	if (info.removed)
		WRONG("the segment is removed");
	for (size_t i = 0; i < n; i++) {
		unsigned w, t;

		if (shmstat_snap_metric(s, i, &mi) != 0)
			WRONG("shmstat_snap_metric(%zu) failed", i);
		if (strcmp(mi.name, SOAK_M_TOTAL) == 0) {
			m.total = mi.counter;
		} else if (strcmp(mi.name, SOAK_M_WRITER) == 0) {
			if (sscanf(mi.labels, "writer=\"%u\"", &w) != 1 || w >= SOAK_W)
				WRONG("%s{%s}: unexpected labels", mi.name, mi.labels);
			m.writer[w] = mi.counter;
			seen_writer[w] = 1;
		} else if (strcmp(mi.name, SOAK_M_HIST) == 0) {
			hist = i;
			m.hcount = mi.counter;
		} else if (strcmp(mi.name, SOAK_M_SIGS) == 0) {
			sigs = i;
		} else if (strcmp(mi.name, SOAK_M_SUM) == 0) {
			if (mi.gauge < 0)
				WRONG("%s = %" PRId64, mi.name, mi.gauge);
			m.sum = (uint64_t)mi.gauge;
		} else if (strcmp(mi.name, SOAK_M_INFLIGHT) == 0) {
			inflight_gauge = mi.gauge;
		} else if (strcmp(mi.name, SOAK_M_LAST) == 0) {
			if (sscanf(mi.labels, "thread=\"%u\",writer=\"%u\"", &t, &w) != 2 ||
			    w >= SOAK_W || t >= SOAK_T)
				WRONG("%s{%s}: unexpected labels", mi.name, mi.labels);
			seen_last[w][t] = 1;
			if (mi.has_value && (mi.gauge < 0 ||
					     (uint64_t)mi.gauge > a2->wt[w][t] + 1))
				WRONG("%s{%s} = %" PRId64 ", acknowledged %" PRIu64 " after",
				      mi.name, mi.labels, mi.gauge, a2->wt[w][t]);
			if (a0->wt[w][t] > 0 &&
			    (!mi.has_value || (uint64_t)mi.gauge < a0->wt[w][t]))
				WRONG("%s{%s} = %" PRId64 " (has_value %d), acknowledged %" PRIu64
				      " before", mi.name, mi.labels, mi.gauge, mi.has_value,
				      a0->wt[w][t]);
		} else {
			WRONG("unexpected metric %s{%s}", mi.name, mi.labels);
		}
	}
	for (int w = 0; w < SOAK_W; w++) {
		if (!seen_writer[w])
			WRONG("%s{writer=\"%d\"} is missing", SOAK_M_WRITER, w);
		for (int t = 0; t < SOAK_T; t++)
			if (!seen_last[w][t])
				WRONG("%s{writer=\"%d\",thread=\"%d\"} is missing", SOAK_M_LAST, w, t);
	}
	if (hist == SIZE_MAX || sigs == SIZE_MAX || inflight_gauge == -1)
		WRONG("a metric is missing");
	if (inflight_gauge < 0 || inflight_gauge > (int64_t)SOAK_T * info.writers_alive)
		WRONG("%s = %" PRId64 " with %u writers alive", SOAK_M_INFLIGHT, inflight_gauge,
		      info.writers_alive);

	{
		shmstat_hdata *h;
		struct shmstat_hstats hs;
		int err = shmstat_snap_hist(s, hist, SHMSTAT_PROC_ALL, &h);

		if (err) {
			fprintf(stderr, "soak_reader: shmstat_snap_hist: %s\n", shmstat_strerror(err));
			exit(2);
		}
		shmstat_hdata_stats(h, &hs);
		shmstat_hdata_free(h);
		if (hs.count != m.hcount)
			WRONG("histogram count %" PRIu64 ", metric says %" PRIu64, hs.count, m.hcount);
		if (hs.underflow || hs.overflow)
			WRONG("histogram underflow %" PRIu64 " overflow %" PRIu64, hs.underflow,
			      hs.overflow);
		if (a0->all > 0 && (hs.min < SOAK_VMIN || hs.min > hs.max || hs.max > SOAK_VMAX))
			WRONG("histogram min %" PRIu64 " max %" PRIu64, hs.min, hs.max);
	}
	{
		shmstat_sigview *v;
		struct shmstat_sigstats ss;
		int err = shmstat_snap_sigtab(s, sigs, &v);

		if (err) {
			fprintf(stderr, "soak_reader: shmstat_snap_sigtab: %s\n", shmstat_strerror(err));
			exit(2);
		}
		shmstat_sigview_stats(v, &ss);
		m.hits = ss.hits;
		m.misses = ss.misses;
		m.weight = ss.weight;
		for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
			struct shmstat_sigowner_info oi;

			if (shmstat_sigview_owner(v, k, &oi) != 0)
				WRONG("shmstat_sigview_owner(%zu) failed", k);
			m.owners += oi.hits + oi.misses;
		}
		if (shmstat_sigview_entries(v) > SOAK_KEYS || ss.evictions != 0)
			WRONG("signature table: %zu keys, %" PRIu64 " evictions (%d keys, room "
			      "for all)", shmstat_sigview_entries(v), ss.evictions, SOAK_KEYS);
		if (ss.owners > SOAK_OWNERS)
			WRONG("signature table: %u owners", ss.owners);
		if (ss.weight > (ss.hits + inflight) * SOAK_WMAX)
			WRONG("signature table: weight %" PRIu64 " for %" PRIu64 " hits", ss.weight,
			      ss.hits);
		shmstat_sigview_free(v);
	}

	check_bounds(SOAK_M_TOTAL, m.total, a0->all, a2->all + inflight);
	check_bounds("histogram count", m.hcount, a0->all, a2->all + inflight);
	check_bounds("signature events", m.hits + m.misses, a0->all, a2->all + inflight);
	check_bounds("signature owner events", m.owners, a0->all, a2->all + inflight);
	check_bounds(SOAK_M_SUM, m.sum, a0->all, a2->all + inflight);
	for (int w = 0; w < SOAK_W; w++)
		check_bounds(SOAK_M_WRITER, m.writer[w], a0->w[w],
			     a2->w[w] + SOAK_T + (uint64_t)SOAK_T * a2->kw[w]);

	check_mono(SOAK_M_TOTAL, m.total, prev->total);
	for (int w = 0; w < SOAK_W; w++)
		check_mono(SOAK_M_WRITER, m.writer[w], prev->writer[w]);
	check_mono("histogram count", m.hcount, prev->hcount);
	check_mono("signature hits", m.hits, prev->hits);
	check_mono("signature misses", m.misses, prev->misses);
	check_mono("signature weight", m.weight, prev->weight);
	check_mono("signature owner events", m.owners, prev->owners);
	check_mono(SOAK_M_SUM, m.sum, prev->sum);
	*prev = m;
}

static void add_ns(struct timespec *ts, long ns)
{
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int main(int argc, char **argv)
{
	struct mono prev;
	struct timespec next, now, t0;
	uint64_t busy = 0, late = 0;
	long long work_ns = 0;
	shmstat_reader *r;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: soak_reader NAME   (fd 3: the control page)\n");
		return 2;
	}
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ, MAP_SHARED, 3, 0);
	if (ctl == MAP_FAILED) {
		perror("soak_reader: mmap of fd 3");
		return 2;
	}
	err = shmstat_reader_open(argv[1], &r);
	if (err) {
		fprintf(stderr, "soak_reader: shmstat_reader_open(%s): %s: %s\n", argv[1],
			shmstat_strerror(err), shmstat_last_error());
		return 2;
	}
	memset(&prev, 0, sizeof(prev));
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!soak_ld(&ctl->stop_reader)) {
		struct acks a0, a2;
		shmstat_snap *s = NULL;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		read_acks(&a0);
		err = shmstat_snapshot(r, &s);
		read_acks(&a2);
		snaps++;
		if (err == SHMSTAT_EBUSY) {
			busy++;
		} else if (err) {
			fprintf(stderr, "soak_reader: snapshot %" PRIu64 ": %s: %s\n", snaps,
				shmstat_strerror(err), shmstat_last_error());
			return 2;
		} else {
			check(s, &a0, &a2, &prev);
			shmstat_snap_free(s);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		work_ns += (now.tv_sec - t0.tv_sec) * 1000000000LL + (now.tv_nsec - t0.tv_nsec);
		/* load shaping, not synchronization: 100 snapshots a second */
		add_ns(&next, 10 * 1000 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (before(&next, &now)) {
			late++;
			next = now;
			continue;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	shmstat_reader_close(r);
	printf("snapshots=%" PRIu64 " busy=%" PRIu64 " late=%" PRIu64 " work_us=%lld\n", snaps, busy,
	       late, snaps ? work_ns / 1000 / (long long)snaps : 0);
	return 0;
}
