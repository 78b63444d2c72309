/*
 * bench_history.c - cost of recording a snapshot into a history file
 * (shmstat_history_append()) against the cost of taking that snapshot
 * (shmstat_snapshot()), both measured in the same run (DESIGN.md,
 * "Benchmark output"; issue 7, "Size").
 *
 * The segment: 1,000 counters (values up to 2^32, growing), 10 latency
 * histograms of the default layout (log-normal values around 1 ms, about
 * 300 buckets in use each) and a signature table of 2,000 keys. The
 * history file: the default tiers (1 s for 10 min, 10 s for 6 h, 5 min
 * for 7 days) in the default 64 MiB, in $TMPDIR (or /tmp), removed at
 * the end.
 *
 * Lines (one JSON object each):
 *   history_append        one snapshot a second of synthetic time, as
 *                         `shmstat record` does: every append writes the
 *                         1 s tier, one in 10 the 10 s tier too, one in
 *                         300 the 5 min tier; ns per append (median of
 *                         the runs' means), bytes per record, bytes per
 *                         series, against the snapshot taken just before
 *                         each append ("baseline":"snapshot")
 *   history_append_all    one snapshot every 5 min of synthetic time:
 *                         every append writes all three tiers
 *   history_range_5m      shmstat_history_range() of the last 5 minutes
 *                         (300 frames from the 1 s tier, decoded) against
 *                         reading the whole file with pread(2)
 *                         ("baseline":"pread_file")
 *   history_file          the file's size and what each tier holds
 *
 * Usage: bench_history [--quick]   (--quick: fewer and shorter runs)
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "history.h"
#include "bench_util.h"

#define N_COUNTERS 1000
#define N_HISTS 10
#define N_KEYS 2000
#define S UINT64_C(1000000000)
#define T0 (UINT64_C(1700000000) * S)

static shmstat_counter *ctr[N_COUNTERS];
static shmstat_hist *hist[N_HISTS];
static shmstat_sigtab *tab;
static uint64_t seed = 88172645463325252ull;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static double unif(void)
{
	return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

/* What a second of a service changes: every counter, 200 latencies per
 * histogram, 300 key events. */
static void traffic(void)
{
	for (int k = 0; k < N_COUNTERS; k++)
		shmstat_counter_add(ctr[k], rnd() % 5000);
	for (int k = 0; k < N_HISTS; k++)
		for (int j = 0; j < 200; j++) {
			double z = sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif());

			shmstat_hist_record(hist[k], (uint64_t)(1e6 * exp(0.5 * z)));
		}
	for (int j = 0; j < 300; j++) {
		char key[48];
		double u = unif();
		unsigned kk = (unsigned)(N_KEYS * u * u * u);
		int len = snprintf(key, sizeof(key), "tenant-%04u:object-%06u", kk % 7, kk);

		shmstat_sig_hit(tab, key, (size_t)len, 100, 0);
	}
}

struct run {
	double snap_ns, append_ns, tiers, bytes;
};

/* @n appends @dt apart from *@t; means per append. */
static int measure(shmstat_reader *r, shmstat_history *h, uint64_t *t, uint64_t dt, int n,
		   struct run *out)
{
	double snap = 0, app = 0;
	uint64_t tiers = 0, bytes = 0;

	for (int i = 0; i < n; i++) {
		shmstat_snap *sn;
		struct shmstat__hf_tier_stat ts;
		unsigned w;
		double a, b, c;

		traffic();
		a = now_ns();
		if (shmstat_snapshot(r, &sn) != 0)
			return -1;
		b = now_ns();
		if (shmstat_history_append(h, sn, *t, &w) != 0) {
			shmstat_snap_free(sn);
			return -1;
		}
		c = now_ns();
		shmstat_snap_free(sn);
		snap += b - a;
		app += c - b;
		tiers += w;
		*t += dt;
		if (i == n - 1) {
			if (shmstat__history_tier_stat(h, 0, &ts) != 0)
				return -1;
			bytes = ts.newest_len;
		}
	}
	out->snap_ns = snap / n;
	out->append_ns = app / n;
	out->tiers = (double)tiers / n;
	out->bytes = (double)bytes;
	return 0;
}

static int cmp_run_append(const void *a, const void *b)
{
	double x = ((const struct run *)a)->append_ns, y = ((const struct run *)b)->append_ns;

	return (x > y) - (x < y);
}

static void report(const char *bench, struct run *runs, int reps, size_t series)
{
	double snaps[16];
	struct run *m;

	for (int i = 0; i < reps; i++)
		snaps[i] = runs[i].snap_ns;
	qsort(runs, (size_t)reps, sizeof(*runs), cmp_run_append);
	m = &runs[reps / 2];
	{
		double snap = median(snaps, reps);

		printf("{\"bench\":\"%s\",\"series\":%zu,\"ns_per_append\":%.0f,\"tiers_per_append\":%.2f,"
		       "\"bytes_per_record\":%.0f,\"bytes_per_series\":%.2f,"
		       "\"baseline\":\"snapshot\",\"baseline_ns\":%.0f,\"ratio\":%.3f}\n",
		       bench, series, m->append_ns, m->tiers, m->bytes, m->bytes / (double)series,
		       snap, div0(m->append_ns, snap));
	}
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int reps = quick ? 3 : 7, per = quick ? 100 : 400, rc = 1;
	struct shmstat_opts so;
	struct shmstat_sigtab_opts to;
	struct shmstat__hf_tier_stat ts;
	struct run runs[16];
	shmstat_history *h = NULL;
	shmstat_reader *r = NULL;
	shmstat_seg *seg = NULL;
	char name[64], dir[256], path[300];
	const char *tmp = getenv("TMPDIR");
	uint64_t t = T0;
	size_t series;

	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	snprintf(name, sizeof(name), "bench_history.%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/bench-history-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("bench_history: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bench.shmhist", dir);
	shmstat_opts_init(&so);
	so.max_procs = 2;
	so.max_threads = 2;
	so.max_metrics = 1100;
	so.max_values = N_COUNTERS + N_HISTS * 2350 + 1024;
	if (shmstat_open(name, &so, &seg) != 0)
		goto fail;
	for (int k = 0; k < N_COUNTERS; k++) {
		char nm[64], route[32];
		const char *lab[] = { "route", route, NULL };
		struct shmstat_metric_def d = { .name = nm, .labels = lab, .help = "requests served" };

		snprintf(nm, sizeof(nm), "service_%02d_requests_total", k / 20);
		snprintf(route, sizeof(route), "/api/v1/resource%02d", k % 20);
		if (shmstat_counter_register(seg, &d, &ctr[k]) != 0)
			goto fail;
		shmstat_counter_add(ctr[k], rnd() >> 32);
	}
	for (int k = 0; k < N_HISTS; k++) {
		char nm[32];
		struct shmstat_metric_def d = { .name = nm, .unit = "ns" };

		snprintf(nm, sizeof(nm), "service_latency_%d_ns", k);
		if (shmstat_hist_register(seg, &d, NULL, &hist[k]) != 0)
			goto fail;
	}
	shmstat_sigtab_opts_init(&to);
	{
		struct shmstat_metric_def d = { .name = "service_cache_keys" };

		if (shmstat_sigtab_register(seg, &d, &to, &tab) != 0)
			goto fail;
	}
	if (shmstat_reader_open(name, &r) != 0 || shmstat_history_create(path, NULL, &h) != 0)
		goto fail;
	series = N_COUNTERS + N_HISTS + 1;

	/* warm up: the dictionary is written, the rings are touched */
	if (measure(r, h, &t, S, 50, &runs[0]) != 0)
		goto fail;
	for (int i = 0; i < reps; i++)
		if (measure(r, h, &t, S, per, &runs[i]) != 0)
			goto fail;
	report("history_append", runs, reps, series);
	for (int i = 0; i < reps; i++)
		if (measure(r, h, &t, 300 * S, per / 4, &runs[i]) != 0)
			goto fail;
	report("history_append_all", runs, reps, series);
	/* the last 5 minutes at 1 s: fill them first */
	if (measure(r, h, &t, S, 300, &runs[0]) != 0)
		goto fail;
	{
		double rg[16], rd[16];
		size_t frames = 0;
		unsigned char *buf = malloc(1 << 20);
		int fd = open(path, O_RDONLY);

		if (buf == NULL || fd < 0) {
			free(buf);
			goto fail;
		}
		for (int i = 0; i < reps; i++) {
			shmstat_frame **f;
			double a = now_ns(), b;

			if (shmstat_history_range(h, t - 300 * S, t, &f, &frames) != 0) {
				free(buf);
				close(fd);
				goto fail;
			}
			b = now_ns();
			shmstat_frames_free(f, frames);
			rg[i] = b - a;
			a = now_ns();
			for (off_t o = 0; pread(fd, buf, 1 << 20, o) > 0; o += 1 << 20)
				;
			rd[i] = now_ns() - a;
		}
		free(buf);
		close(fd);
		{
			double x = median(rg, reps), y = median(rd, reps);

			printf("{\"bench\":\"history_range_5m\",\"series\":%zu,\"frames\":%zu,\"ms\":%.2f,"
			       "\"baseline\":\"pread_file\",\"baseline_ms\":%.2f,\"ratio\":%.2f}\n",
			       series, frames, x / 1e6, y / 1e6, div0(x, y));
		}
	}
	{
		struct stat st;
		uint64_t keep[3] = { 0, 0, 0 }, ring[3] = { 0, 0, 0 };

		for (unsigned k = 0; k < 3; k++) {
			if (shmstat__history_tier_stat(h, k, &ts) != 0)
				goto fail;
			ring[k] = ts.ring_len;
			keep[k] = ts.ring_len / (ts.max_len ? ts.max_len : 1);
		}
		if (stat(path, &st) != 0)
			goto fail;
		printf("{\"bench\":\"history_file\",\"series\":%zu,\"file_bytes\":%lld,"
		       "\"dict_bytes\":%llu,\"ring_bytes\":[%llu,%llu,%llu],"
		       "\"records_per_ring\":[%llu,%llu,%llu],\"records_needed\":[601,2161,2017]}\n",
		       series, (long long)st.st_size, (unsigned long long)ts.dict_used,
		       (unsigned long long)ring[0], (unsigned long long)ring[1],
		       (unsigned long long)ring[2], (unsigned long long)keep[0],
		       (unsigned long long)keep[1], (unsigned long long)keep[2]);
	}
	rc = 0;
fail:
	if (rc)
		fprintf(stderr, "bench_history: %s\n", shmstat_last_error());
	shmstat_history_close(h);
	shmstat_reader_close(r);
	shmstat_close(seg);
	shmstat_unlink(name);
	unlink(path);
	rmdir(dir);
	return rc;
}
