/*
 * bench_soak.c - what a reader snapshotting at 100 Hz costs the writers
 * (issue 9, "Load": writer throughput with and without the reader).
 *
 * Writers: PROCS processes x THREADS threads (4 x 4: small enough for a
 * 2-core box, where the 16 threads already take every CPU), each thread
 * doing events as fast as it can; an event is the soak test's hot path
 * (tests/soak/test_soak.c) without its bookkeeping:
 *     shmstat_counter_inc       a counter
 *     shmstat_hist_record       a histogram, default layout
 *     shmstat_sig_hit / _miss   a signature table, 256 keys of 32 bytes,
 *                               4 owners (7 hits in 8); the soak test's
 *                               shape: 1,024 keys per summary (no
 *                               evictions), keys kept in 32 bytes, and a
 *                               summary for every writer thread (twice
 *                               as many: a run's writers give theirs
 *                               back when they detach, the next run's
 *                               take them), so every event goes to its
 *                               thread's own summary
 *     shmstat_gauge_add         a SUM gauge
 * Reader: one process, as an exporter would be: every 10 ms (absolute
 * deadlines) a snapshot (shmstat_snapshot), then every metric's value
 * summed, the histogram's stats and p50/p99, the signature table's view
 * (the merge of the 16 writer threads' summaries) and its top 10 keys.
 * It runs for the whole measured interval.
 *
 * Priorities: the writer threads run at nice 10 (BENCH_SOAK_WRITER_NICE=N
 * to change it), the reader at 0, in both kinds of runs: 16 busy threads
 * saturate a small box, and at equal priority the reader gets its fair
 * share only (about 1/17 of the CPUs), too little for 100 snapshots a
 * second of this segment; this way it keeps its 100 Hz and what it takes
 * from the writers is what a 100 Hz reader costs.
 *
 * Runs: ROUNDS rounds (5; 3 with --quick), each one run without the reader
 * (the baseline, "no_reader") and one with it, the order alternating from
 * round to round, every run SECONDS long (2 s; 1 s with --quick) on the
 * same segment (default capacities, sig_bytes what the table takes) with
 * fresh writer processes.
 * Events/s of a run: the events all threads counted between the start
 * signal and the stop flag, over that interval. Output: one JSON line
 * with the medians and
 *     difference_percent = (baseline - with reader) / baseline * 100
 * target: difference < 2%; and, to read it: snapshots_per_s (achieved),
 * reader_pass_ms (wall time of a snapshot and the exporter's work),
 * reader_cpu_ms (its CPU time), snapshot_cpu_ms (the CPU time of
 * shmstat_snapshot() alone), reader_cpu_percent (of one CPU), cpus.
 * With a box saturated by the writers, the difference cannot be below
 * reader_cpu_percent / cpus. The line says in how many rounds the
 * target was met (met_rounds of rounds); a missed target never fails the
 * process. A second line, "reader_impact_cpu" (issue 19), takes the
 * reader's own CPU out: the writer threads' CPU time per event
 * (CLOCK_THREAD_CPUTIME_ID over the events they counted) with and
 * without the reader, and overhead_percent, the median of the rounds'
 * (with - without) / without; target < 2%. With BENCH_VERBOSE=1 every round goes to stderr.
 *
 * Usage: bench_soak [--quick]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "shmstat.h"

#define PROCS 4
#define THREADS 4
#define KEYS 256
#define OWNERS 4
#define READER_HZ 100
#define WRITER_NICE 10             /* the writer threads (the reader's is 0) */
#define MAX_ROUNDS 5
#define WARMUP 1000                /* events per writer thread before the start */

struct slot {
	uint64_t v;                /* events */
	uint64_t cpu_ns;           /* the thread's CPU time while counting them */
	uint64_t pad[6];
};

/* Shared with the children (MAP_SHARED | MAP_ANONYMOUS, before fork). */
struct ctl {
	uint64_t stop;             /* the run is over */
	uint64_t pad[7];
	struct slot events[PROCS][THREADS];
	uint64_t snaps, busy, failed;
	uint64_t snap_ns;          /* wall time of the reader's passes */
	uint64_t cpu_ns;           /* CPU time of the reader's passes */
	uint64_t copy_cpu_ns;      /* CPU time of shmstat_snapshot() alone */
};

static struct ctl *ctl;
static char seg_name[64];
static uint64_t sent;              /* events of all runs, warm-ups included */
static int writer_nice = WRITER_NICE;
static char keys[KEYS][40];
static size_t key_len[KEYS];

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The signature table's shape (the soak test's), for the segment's
 * sig_bytes and every writer's registration. */
static void sig_opts(struct shmstat_sigtab_opts *o)
{
	shmstat_sigtab_opts_init(o);
	o->capacity = 1024;
	o->key_bytes = 32;
	o->owners = OWNERS;
	o->summaries = 2 * PROCS * THREADS;
	o->ttl_ns = 0;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_soak: %s: %s (%s)\n", what, shmstat_strerror(err),
		shmstat_last_error());
	_exit(1);
}

/* ----------------------------------------------------------------- writers */

struct handles {
	shmstat_counter *c;
	shmstat_hist *h;
	shmstat_sigtab *t;
	shmstat_gauge *g;
	uint32_t owner[OWNERS];
};

struct wthread {
	const struct handles *h;
	int p, t;
	pthread_barrier_t *bar;
};

static inline void event(const struct handles *h, uint64_t m)
{
	const uint32_t k = (uint32_t)(m % KEYS);

	shmstat_counter_inc(h->c);
	shmstat_hist_record(h->h, 1 + (m >> 24) % 1000000);
	if ((m >> 8) & 7)
		shmstat_sig_hit(h->t, keys[k], key_len[k], 1 + (m >> 11) % 100,
				h->owner[k % OWNERS]);
	else
		shmstat_sig_miss(h->t, keys[k], key_len[k], h->owner[k % OWNERS]);
	shmstat_gauge_add(h->g, 1);
}

static void *writer_thread(void *arg)
{
	const struct wthread *w = arg;
	uint64_t seed = ((uint64_t)(w->p * THREADS + w->t) << 44), n = 0;
	double c0;

	/* below the reader's priority, so that it keeps its 100 Hz on a
	 * box the writers saturate (its share is then what it costs) */
	if (setpriority(PRIO_PROCESS, 0, writer_nice) != 0)
		die("setpriority", errno);
	for (uint64_t i = 0; i < WARMUP; i++)          /* claims a stripe, warms up */
		event(w->h, mix(seed ^ (UINT64_C(1) << 43) ^ i));
	pthread_barrier_wait(w->bar);                  /* warmed up */
	pthread_barrier_wait(w->bar);                  /* go */
	c0 = thread_cpu_ns();
	while (!__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED))
		event(w->h, mix(seed ^ n++));
	ctl->events[w->p][w->t].cpu_ns = (uint64_t)(thread_cpu_ns() - c0);
	__atomic_store_n(&ctl->events[w->p][w->t].v, n, __ATOMIC_RELEASE);
	return NULL;
}

static int writer_main(int p, int ready_fd, int go_fd)
{
	static const char *const owners[OWNERS] = { "acct-0", "acct-1", "acct-2", "acct-3" };
	const struct shmstat_metric_def dc = { .name = "bench_soak_events_total" };
	const struct shmstat_metric_def dh = { .name = "bench_soak_value" };
	const struct shmstat_metric_def dt = { .name = "bench_soak_sigs" };
	const struct shmstat_metric_def dg = { .name = "bench_soak_events" };
	struct shmstat_sigtab_opts so;
	struct handles h;
	struct wthread w[THREADS];
	pthread_t th[THREADS];
	pthread_barrier_t bar;
	shmstat_seg *seg;
	char c;
	int err;

	if ((err = shmstat_open(seg_name, NULL, &seg)) != 0)
		die("shmstat_open", err);
	sig_opts(&so);
	if ((err = shmstat_counter_register(seg, &dc, &h.c)) != 0 ||
	    (err = shmstat_hist_register(seg, &dh, NULL, &h.h)) != 0 ||
	    (err = shmstat_sigtab_register(seg, &dt, &so, &h.t)) != 0 ||
	    (err = shmstat_gauge_register(seg, &dg, SHMSTAT_AGG_SUM, &h.g)) != 0)
		die("register", err);
	for (int o = 0; o < OWNERS; o++)
		if ((err = shmstat_sig_owner(h.t, owners[o], &h.owner[o])) != 0)
			die("shmstat_sig_owner", err);
	pthread_barrier_init(&bar, NULL, THREADS + 1);
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct wthread){ .h = &h, .p = p, .t = t, .bar = &bar };
		if (pthread_create(&th[t], NULL, writer_thread, &w[t]) != 0)
			die("pthread_create", errno);
	}
	pthread_barrier_wait(&bar);
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &c, 1) != 0)   /* go: EOF */
		_exit(1);
	pthread_barrier_wait(&bar);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	shmstat_close(seg);
	return 0;
}

/* ------------------------------------------------------------------ reader */

static void reader_main(int ready_fd)
{
	static const double q[2] = { 0.5, 0.99 };
	shmstat_reader *r;
	struct timespec next;
	uint64_t sink = 0;
	int err = shmstat_reader_open(seg_name, &r);

	if (err)
		die("shmstat_reader_open", err);
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED)) {
		double t0 = now_ns(), c0 = thread_cpu_ns(), c1;
		shmstat_snap *s;

		err = shmstat_snapshot(r, &s);
		c1 = thread_cpu_ns();
		ctl->copy_cpu_ns += (uint64_t)(c1 - c0);
		if (err == SHMSTAT_EBUSY) {
			ctl->busy++;
		} else if (err) {
			ctl->failed++;
			fprintf(stderr, "bench_soak: snapshot: %s\n", shmstat_last_error());
		} else {
			for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
				struct shmstat_metric_info mi;

				if (shmstat_snap_metric(s, i, &mi) != 0)
					continue;
				sink += mi.counter + (uint64_t)mi.gauge;
				if (mi.type == SHMSTAT_HISTOGRAM) {
					shmstat_hdata *h;
					struct shmstat_hstats hs;
					uint64_t qv[2];

					if (shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h) == 0) {
						shmstat_hdata_stats(h, &hs);
						if (hs.count && shmstat_hdata_quantiles(h, q, 2, qv) == 0)
							sink += qv[0] + qv[1];
						shmstat_hdata_free(h);
					}
				} else if (mi.type == SHMSTAT_SIGTABLE) {
					shmstat_sigview *v;
					size_t top[10];

					if (shmstat_snap_sigtab(s, i, &v) == 0) {
						sink += shmstat_sigview_top(v, SHMSTAT_BY_HITS, NULL,
									    10, top);
						shmstat_sigview_free(v);
					}
				}
			}
			shmstat_snap_free(s);
			ctl->snaps++;
		}
		ctl->snap_ns += (uint64_t)(now_ns() - t0);
		ctl->cpu_ns += (uint64_t)(thread_cpu_ns() - c0);
		next.tv_nsec += 1000000000L / READER_HZ;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	shmstat_reader_close(r);
	_exit(sink == 42 ? 3 : 0);     /* keep the work */
}

/* -------------------------------------------------------------------- runs */

static pid_t spawn_writer(int p, int ready[2], int go[2])
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		_exit(writer_main(p, ready[1], go[0]));
	}
	return pid;
}

static int wait_ok(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

struct rstats {
	uint64_t snaps, busy;
	double wall_ms, cpu_ms, copy_cpu_ms;   /* per snapshot */
	double writer_ns;          /* writers' CPU time per event */
};

/* One run; events per second, < 0 on failure. */
static double run(int with_reader, double seconds, struct rstats *rs)
{
	int ready[2], go[2];
	pid_t w[PROCS], rd = -1;
	double t0, t1;
	uint64_t total = 0;
	int bad = 0;
	char c;

	memset(ctl, 0, sizeof(*ctl));
	if (pipe(ready) != 0 || pipe(go) != 0)
		return -1;
	for (int p = 0; p < PROCS; p++)
		w[p] = spawn_writer(p, ready, go);
	if (with_reader) {
		fflush(NULL);
		rd = fork();
		if (rd == 0) {
			close(ready[0]);
			close(go[0]);
			close(go[1]);
			reader_main(ready[1]);
		}
	}
	close(go[0]);
	close(ready[1]);
	for (int k = 0; k < PROCS + with_reader; k++)
		if (read(ready[0], &c, 1) != 1)
			bad = 1;
	close(ready[0]);
	t0 = now_ns();
	close(go[1]);                  /* go: every writer reads EOF */
	{
		struct timespec ts = { .tv_sec = (time_t)seconds,
				       .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELAXED);
	t1 = now_ns();
	for (int p = 0; p < PROCS; p++)
		if (w[p] < 0 || wait_ok(w[p]) != 0)
			bad = 1;
	if (rd >= 0 && wait_ok(rd) != 0)
		bad = 1;
	if (rd < 0 && with_reader)
		bad = 1;
	if (bad || ctl->failed)
		return -1;
	{
		uint64_t cpu = 0;

		for (int p = 0; p < PROCS; p++)
			for (int t = 0; t < THREADS; t++) {
				total += __atomic_load_n(&ctl->events[p][t].v, __ATOMIC_ACQUIRE);
				cpu += ctl->events[p][t].cpu_ns;
			}
		rs->writer_ns = total ? (double)cpu / (double)total : 0;
	}
	sent += total + (uint64_t)PROCS * THREADS * WARMUP;
	{
		const double n = (double)(ctl->snaps + ctl->busy);

		rs->snaps = ctl->snaps;
		rs->busy = ctl->busy;
		rs->wall_ms = n > 0 ? (double)ctl->snap_ns / 1e6 / n : 0;
		rs->cpu_ms = n > 0 ? (double)ctl->cpu_ns / 1e6 / n : 0;
		rs->copy_cpu_ms = n > 0 ? (double)ctl->copy_cpu_ns / 1e6 / n : 0;
	}
	return (double)total / ((t1 - t0) / 1e9);
}

/* The signature table after every run, into *@st: its exact totals must
 * be the events sent (0), else -1 with a message. */
static int check_table(struct shmstat_sigstats *st)
{
	struct shmstat_metric_info mi;
	shmstat_reader *r;
	shmstat_snap *s;
	int found = 0;

	memset(st, 0, sizeof(*st));
	if (shmstat_reader_open(seg_name, &r) != 0 || shmstat_snapshot(r, &s) != 0) {
		fprintf(stderr, "bench_soak: cannot read the segment: %s\n", shmstat_last_error());
		return -1;
	}
	for (size_t i = 0; i < shmstat_snap_metrics(s) && !found; i++) {
		shmstat_sigview *v;

		if (shmstat_snap_metric(s, i, &mi) != 0 || mi.type != SHMSTAT_SIGTABLE ||
		    shmstat_snap_sigtab(s, i, &v) != 0)
			continue;
		shmstat_sigview_stats(v, st);
		shmstat_sigview_free(v);
		found = 1;
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	if (!found || st->events != sent) {
		fprintf(stderr, "bench_soak: the signature table counted %" PRIu64 " events; %"
			PRIu64 " were sent\n", st->events, sent);
		return -1;
	}
	if (st->unsummarized)
		fprintf(stderr, "bench_soak: warning: %" PRIu64 " events found no free summary\n",
			st->unsummarized);
	return 0;
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int rounds = quick ? 3 : MAX_ROUNDS;
	double seconds = quick ? 1.0 : 2.0;
	double with[MAX_ROUNDS], without[MAX_ROUNDS], w, wo, diff;
	double wall_ms[MAX_ROUNDS], cpu_ms[MAX_ROUNDS], copy_ms[MAX_ROUNDS], rate, cpu;
	double wcpu[MAX_ROUNDS], wocpu[MAX_ROUNDS], cpu_diff[MAX_ROUNDS];
	int cpu_met = 0;
	uint64_t snaps = 0, busy = 0;
	const char *verbose = getenv("BENCH_VERBOSE");
	int verb = verbose && *verbose && strcmp(verbose, "0") != 0;
	struct shmstat_sigstats st;
	shmstat_seg *seg;
	int err, ncpus = 1, met = 0, bad;

	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	{
		cpu_set_t cpus;

		if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
			ncpus = CPU_COUNT(&cpus);
		if (ncpus < 2)
			fprintf(stderr, "bench_soak: warning: only %d CPU available\n", ncpus);
	}
	if (getenv("BENCH_SOAK_WRITER_NICE"))
		writer_nice = atoi(getenv("BENCH_SOAK_WRITER_NICE"));
	for (int k = 0; k < KEYS; k++) {
		snprintf(keys[k], sizeof(keys[k]), "soak-key-%03d-%019d", k, k * 7919);
		key_len[k] = strlen(keys[k]);
	}
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED) {
		perror("bench_soak: mmap");
		return 1;
	}
	snprintf(seg_name, sizeof(seg_name), "bench-soak-%d", (int)getpid());
	/* created and left: the parent holds no writer slot when it forks */
	{
		struct shmstat_sigtab_opts so;
		struct shmstat_opts o;

		sig_opts(&so);
		shmstat_opts_init(&o);
		o.sig_bytes = shmstat_sigtab_bytes(&so);
		err = shmstat_open(seg_name, &o, &seg);
	}
	if (err) {
		fprintf(stderr, "bench_soak: cannot create segment %s: %s (%s)\n", seg_name,
			shmstat_strerror(err), shmstat_last_error());
		return 1;
	}
	shmstat_close(seg);

	for (int r = 0; r < rounds; r++) {
		struct rstats rs, plain;

		/* alternate which one goes first */
		if (r % 2 == 0) {
			without[r] = run(0, seconds, &plain);
			with[r] = run(1, seconds, &rs);
		} else {
			with[r] = run(1, seconds, &rs);
			without[r] = run(0, seconds, &plain);
		}
		wcpu[r] = rs.writer_ns;
		wocpu[r] = plain.writer_ns;
		if (with[r] <= 0 || without[r] <= 0) {
			fprintf(stderr, "bench_soak: round %d failed\n", r);
			shmstat_unlink(seg_name);
			return 1;
		}
		snaps += rs.snaps;
		busy += rs.busy;
		wall_ms[r] = rs.wall_ms;
		cpu_ms[r] = rs.cpu_ms;
		copy_ms[r] = rs.copy_cpu_ms;
		if (verb)
			fprintf(stderr, "round %d: no_reader %.0f events/s, reader %.0f events/s "
				"(%.2f%%; %" PRIu64 " snapshots, %" PRIu64 " busy; a pass: %.3f ms "
				"wall, %.3f ms CPU, of which the snapshot %.3f ms)\n", r, without[r],
				with[r], (without[r] - with[r]) / without[r] * 100, rs.snaps,
				rs.busy, rs.wall_ms, rs.cpu_ms, rs.copy_cpu_ms);
	}
	bad = check_table(&st);
	shmstat_unlink(seg_name);
	for (int r = 0; r < rounds; r++) {
		met += (without[r] - with[r]) / without[r] * 100.0 < 2.0;
		cpu_diff[r] = wocpu[r] > 0 ? (wcpu[r] - wocpu[r]) / wocpu[r] * 100.0 : 0;
		cpu_met += cpu_diff[r] < 2.0;
	}
	w = median(with, rounds);
	wo = median(without, rounds);
	diff = (wo - w) / wo * 100.0;
	rate = (double)snaps / (seconds * rounds);
	cpu = median(cpu_ms, rounds);
	printf("{\"bench\":\"reader_impact\",\"procs\":%d,\"threads\":%d,\"cpus\":%d,"
	       "\"writer_nice\":%d,\"rounds\":%d,"
	       "\"seconds_per_run\":%.0f,\"reader_hz\":%d,\"events_per_s\":%.0f,"
	       "\"baseline\":\"no_reader\",\"baseline_events_per_s\":%.0f,"
	       "\"difference_percent\":%.2f,\"snapshots_per_s\":%.1f,\"snapshot_busy\":%" PRIu64
	       ",\"reader_pass_ms\":%.3f,\"reader_cpu_ms\":%.3f,\"snapshot_cpu_ms\":%.3f,"
	       "\"reader_cpu_percent\":%.2f,\"sig_summaries\":%u,\"sig_unsummarized\":%" PRIu64
	       ",\"target\":\"difference<2%%\",\"met_rounds\":%d}\n",
	       PROCS, THREADS, ncpus, writer_nice, rounds, seconds, READER_HZ, w, wo, diff, rate, busy,
	       median(wall_ms, rounds), cpu, median(copy_ms, rounds), rate * cpu / 10.0,
	       st.summaries, st.unsummarized, met);
	/* what the reader costs the writers' own work: their CPU time per
	 * event with and without it (its CPU time is its own, above) */
	printf("{\"bench\":\"reader_impact_cpu\",\"procs\":%d,\"threads\":%d,\"cpus\":%d,"
	       "\"rounds\":%d,\"reader_hz\":%d,\"writer_ns_per_event\":%.2f,"
	       "\"baseline\":\"no_reader\",\"baseline_writer_ns_per_event\":%.2f,"
	       "\"overhead_percent\":%.2f,\"target\":\"overhead<2%%\",\"met_rounds\":%d}\n",
	       PROCS, THREADS, ncpus, rounds, READER_HZ, median(wcpu, rounds),
	       median(wocpu, rounds), median(cpu_diff, rounds), cpu_met);
	return bad ? 1 : 0;
}
