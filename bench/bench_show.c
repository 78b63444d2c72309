/*
 * bench_show.c - time of `shmstat show --json` on a big segment (10,000
 * counters, 100 histograms, a signature table of capacity 65,536 with one
 * summary, which one writer thread (this one) fills with 65,536 keys of
 * 27 bytes: keys kept whole in 32 bytes, every count exact), against
 * `cat` of the same segment file, both run as processes in the same run,
 * alternating, REPS times (15; 5 with --quick) (DESIGN.md, "Benchmark
 * output"). Target: <= 20 ms for the whole command.
 *
 * Then the same segment served by `shmstat serve` (issue 8): the time of
 * a scrape (GET /metrics over loopback, the whole answer read), against
 * GET /healthz of the same exporter (the HTTP round trip alone),
 * alternating, REPS times. Target: < 50 ms for 10,000 series or more.
 * And GET /api/v1/show?segment=NAME of it (issue 21: show --json over
 * HTTP), alternated with those two. Target: <= 50 ms.
 *
 * Wall-clock times (a reader's command, what an operator waits for),
 * medians; each line says in how many runs its target was met
 * (met_rounds of rounds).
 *
 * Then two axes (issue 19, "Readers that scale with what is in use"),
 * each point a segment of its own, sized for it (max_procs and
 * max_threads writers + 1, the value slots its metrics take), holding
 * 300 histograms of the default layout and a signature table of capacity
 * 65,536 with a summary per writer (keys kept in 32 bytes), and written
 * by fork()ed writer processes that stay attached while it is read: each
 * one registers every metric (the same names: they share them), adds 1
 * to every counter, records 200 values 1 us apart into every histogram
 * and hits 1,000 keys of its own, from one thread. A point is read REPS
 * times (7; 3 with --quick), and its line gives the medians of:
 *     snapshot_ms    shmstat_snapshot() + shmstat_snap_free() in this
 *                    process (the reader opened once, before)
 *     show_json_ms   `shmstat show --json` run as a process, stdout to
 *                    /dev/null
 *     scrape_ms      GET /metrics of `shmstat serve`
 *     show_rss_mb    that show's peak RSS (ru_maxrss, MiB; run from a launcher
 *                    process forked at the start: run_rss())
 *     show_one_ms    `shmstat show --json -I bench_counter_000001_total`:
 *                    one counter asked for, the reader copies its slots
 *                    alone (shmstat_reader_opts.want); show_one_rss_mb
 *                    its peak RSS (writer axis only)
 *   "show_writers": 1, 4, 16, 64 writers, 10,000 counters; with
 *     snapshot_vs_1writer. Then two lines with the targets at 64 writers:
 *     "show_writers_snapshot", snapshot_ms <= 4 x the 1-writer figure,
 *     and "show_writers_rss", show_rss_mb <= 100 ("met": the medians).
 *   "show_churn": 64 writers that wrote and were SIGKILLed, then 64 new
 *     ones in their places that wrote the same (a pre-fork server's
 *     workers recycled), read like a point of the writer axis; with
 *     snapshot_vs_fresh, against the 64-writer point above (what the
 *     folds of the dead leave to read: format.md, "Pages in use").
 *   "show_metrics": 1,000, 10,000, 100,000 counters, 1 writer; the
 *     100,000 line with its target show_json_ms <= 100 ("met": the
 *     median; met_rounds of rounds).
 * The segments are named bench_show_w<writers>_<pid>, bench_show_c64_<pid>
 * and bench_show_m<counters>_<pid>, and removed after their point; the
 * writers are reaped (killed if they do not exit).
 *
 * A missed target never fails the process; the exit status is non-zero
 * only when a run failed, the signature table read back does not hold
 * the 65,536 keys and events written, or a point's segment does not hold
 * what its writers wrote.
 *
 * Usage: bench_show [--quick]   (runs ../tools/shmstat next to it)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "shmstat.h"

#define SIG_KEYS 65536          /* the table's capacity and the keys written */

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Run @argv with stdout to /dev/null; its wall time in ms, < 0 on error. */
static double run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	double t0 = now_ms();
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1 /* O_WRONLY */, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return now_ms() - t0;
}

/* GET @path from 127.0.0.1:@port, reading the whole answer: its wall
 * time in ms (< 0 on error); its lines that are not comments in *@series. */
static double http_get(int port, const char *path, long *series)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[256], buf[65536];
	double t0 = now_ms();
	int fd = socket(AF_INET, SOCK_STREAM, 0), bol = 1, body = 0, nl = 0;
	ssize_t n;

	*series = 0;
	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
		 path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (!body) {        /* the headers end at an empty line */
				nl = buf[i] == '\n' ? nl + 1 : buf[i] == '\r' ? nl : 0;
				body = nl == 2;
				continue;
			}
			if (bol && buf[i] != '#')
				(*series)++;
			bol = buf[i] == '\n';
		}
	close(fd);
	return n < 0 ? -1 : now_ms() - t0;
}

/* Start `shmstat serve -s @name` on a free port: its pid, *@port. */
static pid_t start_serve(const char *tool, const char *name, int *port)
{
	char *argv[] = { (char *)tool, "serve", "--listen", "127.0.0.1:0", "-s", (char *)name, NULL };
	posix_spawn_file_actions_t fa;
	char line[512];
	int p[2];
	pid_t pid;
	FILE *f;

	*port = 0;
	if (pipe(p) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	if (posix_spawn(&pid, tool, &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	f = fdopen(p[0], "r");
	while (pid > 0 && f && fgets(line, sizeof(line), f)) {
		char *c = strstr(line, "127.0.0.1:");

		if (c) {
			*port = atoi(c + 10);
			break;
		}
	}
	if (f)
		fclose(f);              /* later messages: SIGPIPE-free, ignored */
	return pid;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One JSON line of an HTTP figure: the median of @ms[0..reps-1] (sorted
 * here) against GET /healthz's median @health_ms. */
static void http_line(const char *bench, const char *target, long series, double *ms,
		      double health_ms, int met, int reps)
{
	double m;

	qsort(ms, (size_t)reps, sizeof(double), cmp);
	m = ms[reps / 2];
	printf("{\"bench\":\"%s\",\"series\":%ld,\"ms\":%.2f,"
	       "\"baseline\":\"healthz\",\"baseline_ms\":%.3f,\"ratio\":%.1f,"
	       "\"target\":\"%s\",\"met_rounds\":%d,\"rounds\":%d}\n",
	       bench, series, m, health_ms, health_ms > 0 ? m / health_ms : 0, target, met, reps);
}

/* Signature table "bench_signatures" of segment @name, read back: its
 * 65,536 keys, each with its one hit, exact. 0 or -1 with a message. */
static int check_sigs(const char *name)
{
	struct shmstat_metric_info mi;
	struct shmstat_sigstats st;
	shmstat_reader *r;
	shmstat_snap *s;
	int found = 0, bad = 0;

	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0) {
		fprintf(stderr, "bench_show: cannot read the segment: %s\n", shmstat_last_error());
		return -1;
	}
	for (size_t i = 0; i < shmstat_snap_metrics(s) && !found; i++) {
		shmstat_sigview *v;

		if (shmstat_snap_metric(s, i, &mi) != 0 || mi.type != SHMSTAT_SIGTABLE ||
		    strcmp(mi.name, "bench_signatures") != 0 || shmstat_snap_sigtab(s, i, &v) != 0)
			continue;
		found = 1;
		shmstat_sigview_stats(v, &st);
		if (st.used != SIG_KEYS || st.hits != SIG_KEYS || st.weight != 1000u * SIG_KEYS ||
		    st.evictions != 0 || st.max_error != 0 || st.unsummarized != 0) {
			fprintf(stderr, "bench_show: the signature table holds %u keys, %llu hits, "
				"%llu weight, %llu evictions, max_error %llu, %llu unsummarized; "
				"expected %d, %d, %d, 0, 0, 0\n", st.used,
				(unsigned long long)st.hits, (unsigned long long)st.weight,
				(unsigned long long)st.evictions, (unsigned long long)st.max_error,
				(unsigned long long)st.unsummarized, SIG_KEYS, SIG_KEYS,
				1000 * SIG_KEYS);
			bad = 1;
		}
		shmstat_sigview_free(v);
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	if (!found)
		fprintf(stderr, "bench_show: no signature table read back\n");
	return found && !bad ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * The two axes of issue 19: what a reader costs as the writers and the
 * metrics grow. Every point is a segment of its own, sized for it, and
 * written by fork()ed writer processes that stay attached while it is
 * read (a reader copies the stripes of live writers only).
 */

#define AX_HISTS 300            /* histograms of every point, default layout */
#define AX_HIST_VALUES 200      /* values each writer records in each one */
#define AX_SIG_CAPACITY 65536   /* keys per summary */
#define AX_SIG_KEYS 1000        /* keys each writer hits, its own */
#define AX_MAX_WRITERS 64
#define AX_MAX_REPS 7
#define AX_SHOW_MS 100          /* the metric axis' target at 100,000 counters */

/* What a point measured: medians of its repetitions. */
struct ax_result {
	double snapshot_ms, show_ms, scrape_ms, rss_mb;
	double one_ms, one_rss_mb;      /* show -I of one counter */
	int show_met;           /* repetitions whose show --json took <= AX_SHOW_MS */
	uint64_t segment_bytes;
	long series;            /* lines of a scrape that are not comments */
};

/*
 * The commands whose peak RSS is measured run from a launcher, a process
 * forked at the start, while this one is small: a forked child's peak
 * RSS (ru_maxrss) counts the pages of the process it was forked from,
 * whatever it execs, and a spawned one (posix_spawn, CLONE_VM) that
 * process's peak. This process grows (its own snapshots, the segments'
 * pages it maps); the launcher does not.
 */
static int launch_req[2] = { -1, -1 }, launch_res[2] = { -1, -1 };

struct launch_result {
	double ms;                 /* < 0: the command failed */
	long maxrss_kb;
};

/* In the launcher: read an argv (a count, then NUL-terminated strings),
 * run it with stdout to /dev/null, answer; until EOF. */
static void launcher(void)
{
	static char buf[16384];
	char *argv[16];
	uint32_t n;

	while (read(launch_req[0], &n, sizeof(n)) == (ssize_t)sizeof(n) && n < sizeof(buf)) {
		struct launch_result res = { .ms = -1, .maxrss_kb = -1 };
		struct rusage ru;
		size_t got = 0;
		int argc = 0, st;
		double t0;
		pid_t pid;

		while (got < n) {
			ssize_t k = read(launch_req[0], buf + got, n - got);

			if (k <= 0)
				_exit(1);
			got += (size_t)k;
		}
		for (size_t i = 0; i < n && argc < 15; i += strlen(buf + i) + 1)
			argv[argc++] = buf + i;
		argv[argc] = NULL;
		t0 = now_ms();
		pid = argc > 0 ? fork() : -1;
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0 && dup2(fd, 1) == 1)
				execv(argv[0], argv);
			_exit(127);
		}
		if (pid > 0 && wait4(pid, &st, 0, &ru) == pid && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0) {
			res.ms = now_ms() - t0;
			res.maxrss_kb = ru.ru_maxrss;
		}
		if (write(launch_res[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(1);
	}
	_exit(0);
}

/* Start the launcher (before this process grows). 0 or -1. */
static int launcher_start(void)
{
	pid_t pid;

	if (pipe(launch_req) != 0 || pipe(launch_res) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(launch_req[1]);
		close(launch_res[0]);
		launcher();
	}
	close(launch_req[0]);
	close(launch_res[1]);
	return 0;
}

/* Run @argv (a path) with stdout to /dev/null, from the launcher: its
 * wall time in ms (< 0 on error), its peak RSS in MiB in *@rss_mb. */
static double run_rss(char *const argv[], double *rss_mb)
{
	static char buf[16384];
	struct launch_result res;
	uint32_t n = 0;

	*rss_mb = -1;
	for (int i = 0; argv[i] != NULL; i++) {
		const size_t l = strlen(argv[i]) + 1;

		if (i >= 15 || n + l > sizeof(buf))
			return -1;
		memcpy(buf + n, argv[i], l);
		n += (uint32_t)l;
	}
	if (write(launch_req[1], &n, sizeof(n)) != (ssize_t)sizeof(n) ||
	    write(launch_req[1], buf, n) != (ssize_t)n ||
	    read(launch_res[0], &res, sizeof(res)) != (ssize_t)sizeof(res) || res.ms < 0)
		return -1;
	*rss_mb = (double)res.maxrss_kb / 1024;
	return res.ms;
}

/* Value slots a histogram of the default layout takes in each stripe,
 * read back from a probe segment: the layout is the library's, and a
 * guess too small would leave the big segments without room for the
 * last histograms. 0 on error. */
static uint32_t ax_hist_slots(void)
{
	struct shmstat_metric_def d = { .name = "bench_probe" };
	struct shmstat_seg_info before = { 0 }, after = { 0 };
	struct shmstat_hist_opts ho;
	struct shmstat_opts o;
	shmstat_reader *r = NULL;
	shmstat_seg *seg;
	shmstat_snap *s;
	shmstat_hist *h;
	char name[64];
	int ok = 0;

	snprintf(name, sizeof(name), "bench_show_probe_%d", (int)getpid());
	shmstat_opts_init(&o);
	o.max_procs = 1;
	o.max_threads = 1;
	o.max_metrics = 4;
	o.sig_bytes = 0;
	if (shmstat_open(name, &o, &seg) != 0)
		return 0;
	shmstat_hist_opts_init(&ho);
	if (shmstat_reader_open(name, &r) == 0 && shmstat_snapshot(r, &s) == 0) {
		shmstat_snap_info(s, &before);
		shmstat_snap_free(s);
		if (shmstat_hist_register(seg, &d, &ho, &h) == 0 && shmstat_snapshot(r, &s) == 0) {
			shmstat_snap_info(s, &after);
			shmstat_snap_free(s);
			ok = 1;
		}
	}
	shmstat_reader_close(r);
	shmstat_close(seg);
	shmstat_unlink(name);
	return ok ? (uint32_t)(after.values_used - before.values_used) : 0;
}

/* The shape of a point's segment and table: room for @writers writers
 * (each one process and one thread, with a summary of its own) and this
 * process while it creates the segment, @counters counters, AX_HISTS
 * histograms of @hslots slots each and the table. */
static void ax_opts(int writers, int counters, uint32_t hslots, struct shmstat_opts *o,
		    struct shmstat_sigtab_opts *so)
{
	shmstat_sigtab_opts_init(so);
	so->capacity = AX_SIG_CAPACITY;
	so->key_bytes = 32;     /* the keys below are 29 bytes: kept whole */
	/* one a writer slot: at the churn point a new writer takes the
	 * spare slot while the 64 dead still hold their summaries (with one
	 * a writer, its 1,000 keys were all unsummarized) */
	so->summaries = (uint32_t)writers + 1;
	shmstat_opts_init(o);
	o->max_procs = (uint32_t)writers + 1;
	o->max_threads = (uint32_t)writers + 1;
	o->max_metrics = (uint32_t)counters + AX_HISTS + 64;
	/* the table's exact totals take 7 + 3 per owner (199 by default):
	 * in the room left over. Exact rather than generous: every stripe
	 * (2 + 2 x 65 at 64 writers) has this many slots */
	o->max_values = (uint32_t)counters + AX_HISTS * hslots + 1024;
	o->sig_bytes = shmstat_sigtab_bytes(so);
}

/* A writer process: attach, register every metric (the names every
 * writer uses, so they share them), count into each from this thread,
 * answer on @ready_fd ('1', or '0' when something failed), then stay
 * attached until @done_fd reads EOF. Never returns. */
static void ax_writer(const char *name, int w, int counters, const struct shmstat_sigtab_opts *so,
		      int ready_fd, int done_fd)
{
	struct shmstat_hist_opts ho;
	shmstat_sigtab *t = NULL;
	shmstat_seg *seg = NULL;
	char n[48], key[48], c, buf;
	int bad = shmstat_open(name, NULL, &seg) != 0;

	for (int i = 0; i < counters && !bad; i++) {
		struct shmstat_metric_def d = { .name = n, .help = "bench counter" };
		shmstat_counter *ctr;

		snprintf(n, sizeof(n), "bench_counter_%06d_total", i);
		bad = shmstat_counter_register(seg, &d, &ctr) != 0;
		shmstat_counter_inc(ctr);
	}
	shmstat_hist_opts_init(&ho);
	for (int i = 0; i < AX_HISTS && !bad; i++) {
		struct shmstat_metric_def d = { .name = n, .unit = "ns" };
		shmstat_hist *h;

		snprintf(n, sizeof(n), "bench_latency_%03d", i);
		bad = shmstat_hist_register(seg, &d, &ho, &h) != 0;
		/* 1 us apart, each writer and histogram shifted a little:
		 * about 200 buckets in use, a few hundred over the writers */
		for (uint64_t k = 0; k < AX_HIST_VALUES; k++)
			shmstat_hist_record(h, 1000 * k + (uint64_t)(w * 37 + i * 11) % 500);
	}
	if (!bad) {
		struct shmstat_metric_def d = { .name = "bench_signatures" };

		bad = shmstat_sigtab_register(seg, &d, so, &t) != 0;
	}
	for (int k = 0; k < AX_SIG_KEYS && !bad; k++) {
		int len = snprintf(key, sizeof(key), "writer-%02d-conversation-%06d", w, k);

		shmstat_sig_hit(t, key, (size_t)len, 1000, 0);
	}
	if (bad)
		fprintf(stderr, "bench_show: writer %d of %s: %s\n", w, name, shmstat_last_error());
	c = bad ? '0' : '1';
	if (write(ready_fd, &c, 1) != 1)
		bad = 1;
	close(ready_fd);
	/* attached, as a service would be, until the benchmark is done
	 * with the segment (or gone: EOF all the same) */
	while (read(done_fd, &buf, 1) < 0 && errno == EINTR)
		;
	shmstat_close(seg);
	_exit(bad);
}

/* Start @writers writer processes of segment @name into @pids; *@done
 * is the pipe end whose closing ends them. 0 once every one has answered
 * that it wrote everything, -1 when one failed or died (those started
 * are in @pids all the same, for ax_stop()). */
static int ax_start(const char *name, int writers, int counters,
		    const struct shmstat_sigtab_opts *so, pid_t *pids, int *done)
{
	int ready[2], dp[2], ok = 0;
	char c;

	*done = -1;
	for (int w = 0; w < writers; w++)
		pids[w] = -1;
	/* close-on-exec: the commands run meanwhile must not hold them */
	if (pipe2(ready, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(dp, O_CLOEXEC) != 0) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	fflush(NULL);
	for (int w = 0; w < writers; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			close(ready[0]);
			close(dp[1]);
			ax_writer(name, w, counters, so, ready[1], dp[0]);
		}
		if (pids[w] < 0)
			break;
	}
	close(ready[1]);
	close(dp[0]);
	*done = dp[1];
	/* each writer answers once and closes its end: EOF before every
	 * one has answered is one that died */
	while (ok < writers) {
		ssize_t n = read(ready[0], &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1 || c != '1')
			break;
		ok++;
	}
	close(ready[0]);
	return ok == writers ? 0 : -1;
}

/* End the writers: EOF on their pipe, each one reaped; one that has not
 * exited 10 s later is killed, so that none outlives the benchmark. 0,
 * or -1 when one did not exit by itself with status 0. */
static int ax_stop(pid_t *pids, int writers, int done)
{
	const double deadline = now_ms() + 10000;
	int bad = 0;

	if (done >= 0)
		close(done);
	for (int w = 0; w < writers; w++) {
		pid_t got;
		int st = 0;

		if (pids[w] <= 0)
			continue;
		while ((got = waitpid(pids[w], &st, WNOHANG)) == 0 && now_ms() < deadline) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
		if (got == 0) {
			kill(pids[w], SIGKILL);
			got = waitpid(pids[w], &st, 0);
			bad = 1;
		}
		if (got != pids[w] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
		pids[w] = -1;
	}
	return bad ? -1 : 0;
}

/* Snapshot @s of a point holds what its writers wrote, @gens sets of
 * them one after the other: every metric, each counter counted once by
 * every writer, each histogram AX_HIST_VALUES times by every writer,
 * every key of every writer in the table, each with its one hit. 0, or
 * -1 with a message. */
static int ax_check(const shmstat_snap *s, const char *name, int writers, int counters, int gens)
{
	struct shmstat_metric_info mi;
	struct shmstat_sigstats st = { 0 };
	const uint64_t keys = (uint64_t)writers * AX_SIG_KEYS;
	const uint64_t n = (uint64_t)writers * (uint64_t)gens;
	int nc = 0, nh = 0, ns = 0, bad = 0;

	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		shmstat_sigview *v;

		if (shmstat_snap_metric(s, i, &mi) != 0) {
			bad++;
			continue;
		}
		switch (mi.type) {
		case SHMSTAT_COUNTER:
			nc++;
			bad += mi.counter != n;
			break;
		case SHMSTAT_HISTOGRAM:
			nh++;
			bad += mi.counter != n * AX_HIST_VALUES;
			break;
		case SHMSTAT_SIGTABLE:
			ns++;
			if (shmstat_snap_sigtab(s, i, &v) != 0) {
				bad++;
				break;
			}
			shmstat_sigview_stats(v, &st);
			shmstat_sigview_free(v);
			bad += st.used != keys || st.hits != keys * (uint64_t)gens || st.evictions != 0 ||
			       st.max_error != 0 || st.unsummarized != 0;
			break;
		default:
			bad++;
		}
	}
	if (bad || nc != counters || nh != AX_HISTS || ns != 1) {
		fprintf(stderr, "bench_show: %s holds %d counters, %d histograms, %d tables "
			"(%d wrong; the table %u keys, %llu hits, %llu unsummarized); expected "
			"%d, %d, 1 of %d writers, %llu keys\n", name, nc, nh, ns, bad, st.used,
			(unsigned long long)st.hits, (unsigned long long)st.unsummarized,
			counters, AX_HISTS, writers, (unsigned long long)keys);
		return -1;
	}
	return 0;
}

/* One point: segment @name with @counters counters written by @writers
 * processes, read @reps times (snapshot in this process, `shmstat show
 * --json`, a scrape of `shmstat serve`), the medians into *@res. With
 * @churn, the first writers are SIGKILLed once they have written, as a
 * pre-fork server's workers may be, and as many new ones take their
 * places (their attach reaps the dead): the segment is read then. The
 * writers are reaped and the segment removed whatever happens. 0 or -1
 * with a message. */
static int ax_point(const char *tool, const char *name, int writers, int counters,
		    uint32_t hslots, int reps, int churn, struct ax_result *res)
{
	double snap[AX_MAX_REPS], show[AX_MAX_REPS], scrape[AX_MAX_REPS], rss[AX_MAX_REPS];
	double one[AX_MAX_REPS], one_rss[AX_MAX_REPS];
	char *sa[] = { (char *)tool, "show", "--json", (char *)name, NULL };
	char *oa[] = { (char *)tool, "show", "--json", "-I", "bench_counter_000001_total",
		       (char *)name, NULL };
	struct shmstat_sigtab_opts so;
	struct shmstat_seg_info info;
	struct shmstat_opts o;
	pid_t pids[AX_MAX_WRITERS], sp = -1;
	shmstat_reader *r = NULL;
	shmstat_seg *seg;
	shmstat_snap *s;
	int done = -1, port = 0, rc = -1;

	memset(res, 0, sizeof(*res));
	for (int w = 0; w < writers; w++)
		pids[w] = -1;
	ax_opts(writers, counters, hslots, &o, &so);
	/* created and left: this process holds no writer slot, and no
	 * segment its forked writers would attach to as well */
	if (shmstat_open(name, &o, &seg) != 0) {
		fprintf(stderr, "bench_show: cannot create %s: %s\n", name, shmstat_last_error());
		return -1;
	}
	shmstat_close(seg);
	if (ax_start(name, writers, counters, &so, pids, &done) != 0) {
		fprintf(stderr, "bench_show: the writers of %s did not all start\n", name);
		goto out;
	}
	if (churn) {
		for (int w = 0; w < writers; w++) {
			kill(pids[w], SIGKILL);
			waitpid(pids[w], NULL, 0);
			pids[w] = -1;
		}
		close(done);
		done = -1;
		if (ax_start(name, writers, counters, &so, pids, &done) != 0) {
			fprintf(stderr, "bench_show: the second writers of %s did not all start\n",
				name);
			goto out;
		}
	}
	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0) {
		fprintf(stderr, "bench_show: cannot read %s: %s\n", name, shmstat_last_error());
		goto out;
	}
	shmstat_snap_info(s, &info);
	res->segment_bytes = info.size;
	if (ax_check(s, name, writers, counters, churn ? 2 : 1) != 0) {
		shmstat_snap_free(s);
		goto out;
	}
	shmstat_snap_free(s);
	sp = start_serve(tool, name, &port);
	if (sp <= 0 || port <= 0) {
		fprintf(stderr, "bench_show: shmstat serve of %s did not start\n", name);
		goto out;
	}
	for (int i = 0; i < reps; i++) {
		double t0 = now_ms();

		if (shmstat_snapshot(r, &s) != 0) {
			fprintf(stderr, "bench_show: snapshot of %s: %s\n", name,
				shmstat_last_error());
			goto out;
		}
		shmstat_snap_free(s);
		snap[i] = now_ms() - t0;
	}
	for (int i = 0; i < reps; i++) {
		long series = 0;

		show[i] = run_rss(sa, &rss[i]);
		one[i] = run_rss(oa, &one_rss[i]);
		scrape[i] = http_get(port, "/metrics", &series);
		if (show[i] < 0 || one[i] < 0 || scrape[i] < 0 || series < counters) {
			fprintf(stderr, "bench_show: show or scrape of %s failed (%ld series)\n",
				name, series);
			goto out;
		}
		res->series = series;
		res->show_met += show[i] <= AX_SHOW_MS;
	}
	res->snapshot_ms = median(snap, reps);
	res->show_ms = median(show, reps);
	res->scrape_ms = median(scrape, reps);
	res->rss_mb = median(rss, reps);
	res->one_ms = median(one, reps);
	res->one_rss_mb = median(one_rss, reps);
	rc = 0;
out:
	if (sp > 0) {
		kill(sp, SIGTERM);
		waitpid(sp, NULL, 0);
	}
	shmstat_reader_close(r);
	if (ax_stop(pids, writers, done) != 0) {
		fprintf(stderr, "bench_show: a writer of %s did not exit cleanly\n", name);
		rc = -1;
	}
	shmstat_unlink(name);
	return rc;
}

/* Both axes, their lines printed; 0, or -1 when a point failed. */
static int axes(const char *tool, int quick)
{
	static const int writers[] = { 1, 4, 16, 64 };
	static const int counters[] = { 1000, 10000, 100000 };
	const int reps = quick ? 3 : AX_MAX_REPS;
	const uint32_t hslots = ax_hist_slots();
	struct ax_result res, one = { 0 }, at64 = { 0 };
	char name[64];
	int rc = 0;

	if (hslots == 0) {
		fprintf(stderr, "bench_show: cannot probe a histogram's size: %s\n",
			shmstat_last_error());
		return -1;
	}
	for (size_t k = 0; k < sizeof(writers) / sizeof(writers[0]); k++) {
		const int w = writers[k];

		snprintf(name, sizeof(name), "bench_show_w%d_%d", w, (int)getpid());
		if (ax_point(tool, name, w, 10000, hslots, reps, 0, &res) != 0) {
			rc = -1;
			continue;
		}
		if (w == 1)
			one = res;
		if (w == 64)
			at64 = res;
		printf("{\"bench\":\"show_writers\",\"writers\":%d,\"counters\":10000,"
		       "\"histograms\":%d,\"sig_capacity\":%d,\"sig_summaries\":%d,"
		       "\"segment_bytes\":%llu,\"series\":%ld,\"snapshot_ms\":%.2f,"
		       "\"show_json_ms\":%.2f,\"scrape_ms\":%.2f,\"show_rss_mb\":%.1f,"
		       "\"show_one_ms\":%.2f,\"show_one_rss_mb\":%.1f,"
		       "\"snapshot_vs_1writer\":%.2f,\"rounds\":%d}\n",
		       w, AX_HISTS, AX_SIG_CAPACITY, w + 1, (unsigned long long)res.segment_bytes,
		       res.series, res.snapshot_ms, res.show_ms, res.scrape_ms, res.rss_mb,
		       res.one_ms, res.one_rss_mb,
		       one.snapshot_ms > 0 ? res.snapshot_ms / one.snapshot_ms : 0, reps);
		fflush(stdout);
	}
	/* the targets, one a line: at 64 writers, against the one writer;
	 * none when either point failed */
	if (one.snapshot_ms > 0 && at64.snapshot_ms > 0 && at64.rss_mb > 0) {
		printf("{\"bench\":\"show_writers_snapshot\",\"writers\":64,"
		       "\"snapshot_ms\":%.2f,\"baseline\":\"1_writer\",\"baseline_ms\":%.2f,"
		       "\"ratio\":%.2f,\"target\":\"snapshot_64<=4x_1\",\"met\":%s}\n",
		       at64.snapshot_ms, one.snapshot_ms, at64.snapshot_ms / one.snapshot_ms,
		       jbool(at64.snapshot_ms <= 4 * one.snapshot_ms));
		printf("{\"bench\":\"show_writers_rss\",\"writers\":64,\"show_rss_mb\":%.1f,"
		       "\"target\":\"show_rss_mb_64<=100\",\"met\":%s}\n",
		       at64.rss_mb, jbool(at64.rss_mb <= 100));
	}
	/* 64 writers SIGKILLed and 64 new ones in their places: a reader
	 * costs what the new ones wrote, as at the fresh point (the folds
	 * leave the holes holes: format.md, "Pages in use") */
	snprintf(name, sizeof(name), "bench_show_c64_%d", (int)getpid());
	if (ax_point(tool, name, 64, 10000, hslots, reps, 1, &res) != 0) {
		rc = -1;
	} else {
		printf("{\"bench\":\"show_churn\",\"writers\":64,\"killed_and_replaced\":64,"
		       "\"snapshot_ms\":%.2f,\"show_json_ms\":%.2f,\"scrape_ms\":%.2f,"
		       "\"show_rss_mb\":%.1f,\"baseline\":\"fresh_64_writers\","
		       "\"baseline_snapshot_ms\":%.2f,\"snapshot_vs_fresh\":%.2f,\"rounds\":%d}\n",
		       res.snapshot_ms, res.show_ms, res.scrape_ms, res.rss_mb, at64.snapshot_ms,
		       at64.snapshot_ms > 0 ? res.snapshot_ms / at64.snapshot_ms : 0, reps);
		fflush(stdout);
	}
	for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
		const int n = counters[k];

		snprintf(name, sizeof(name), "bench_show_m%d_%d", n, (int)getpid());
		if (ax_point(tool, name, 1, n, hslots, reps, 0, &res) != 0) {
			rc = -1;
			continue;
		}
		printf("{\"bench\":\"show_metrics\",\"counters\":%d,\"writers\":1,"
		       "\"histograms\":%d,\"sig_capacity\":%d,\"sig_summaries\":2,"
		       "\"segment_bytes\":%llu,\"series\":%ld,\"snapshot_ms\":%.2f,"
		       "\"show_json_ms\":%.2f,\"scrape_ms\":%.2f,\"show_rss_mb\":%.1f",
		       n, AX_HISTS, AX_SIG_CAPACITY, (unsigned long long)res.segment_bytes,
		       res.series, res.snapshot_ms, res.show_ms, res.scrape_ms, res.rss_mb);
		if (n == 100000)
			printf(",\"target\":\"show_json_ms<=%d\",\"met\":%s,\"met_rounds\":%d",
			       AX_SHOW_MS, jbool(res.show_ms <= AX_SHOW_MS),
			       res.show_met);
		printf(",\"rounds\":%d}\n", reps);
		fflush(stdout);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct shmstat_opts o;
	struct shmstat_sigtab_opts so;
	shmstat_seg *seg;
	shmstat_sigtab *t;
	char name[64], path[128], keybuf[64], self[4096], tool[4200];
	int reps, met = 0, rc = 0, quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	double show[15], cat[15];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0) {
		fprintf(stderr, "bench_show: cannot find itself\n");
		return 1;
	}
	if (launcher_start() != 0) {
		fprintf(stderr, "bench_show: cannot start its launcher\n");
		return 1;
	}
	self[len] = '\0';
	snprintf(tool, sizeof(tool), "%s/../tools/shmstat", dirname(self));
	reps = quick ? 5 : 15;
	snprintf(name, sizeof(name), "bench_show.%d", (int)getpid());
	snprintf(path, sizeof(path), "/dev/shm/shmstat.%s", name);
	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_threads = 4;
	o.max_metrics = 16384;
	o.max_values = 10000 + 100 * 2350 + 300;
	/* the signature table: one summary of 65,536 keys (below), and a
	 * little room */
	shmstat_sigtab_opts_init(&so);
	so.capacity = SIG_KEYS;
	so.key_bytes = 32;
	so.summaries = 1;
	o.sig_bytes = shmstat_sigtab_bytes(&so) + 65536;
	if (shmstat_open(name, &o, &seg) != 0) {
		fprintf(stderr, "bench_show: %s\n", shmstat_last_error());
		return 1;
	}
	for (int i = 0; i < 10000; i++) {
		char n[32];
		struct shmstat_metric_def d = { .name = n, .help = "bench counter" };
		shmstat_counter *c;

		snprintf(n, sizeof(n), "bench_counter_%05d_total", i);
		shmstat_counter_register(seg, &d, &c);
		shmstat_counter_add(c, (uint64_t)i * 7);
	}
	for (int i = 0; i < 100; i++) {
		char n[32];
		struct shmstat_metric_def d = { .name = n, .unit = "ns" };
		shmstat_hist *h;

		snprintf(n, sizeof(n), "bench_latency_%03d", i);
		shmstat_hist_register(seg, &d, NULL, &h);
		for (uint64_t v = 1; v < 3000000000u; v = v * 3 / 2 + 1)
			shmstat_hist_record_n(h, v, 10);
	}
	{
		struct shmstat_metric_def d = { .name = "bench_signatures" };

		if (shmstat_sigtab_register(seg, &d, &so, &t) != 0) {
			fprintf(stderr, "bench_show: %s\n", shmstat_last_error());
			shmstat_close(seg);
			shmstat_unlink(name);
			return 1;
		}
	}
	for (int i = 0; i < SIG_KEYS; i++) {
		int n = snprintf(keybuf, sizeof(keybuf), "conversation-%08d:model", i);

		shmstat_sig_hit(t, keybuf, (size_t)n, 1000, 0);
	}
	/* the table holds every key, every count exact */
	if (check_sigs(name) != 0) {
		shmstat_close(seg);
		shmstat_unlink(name);
		return 1;
	}
	for (int r = 0; r < reps; r++) {
		char *sa[] = { tool, "show", "--json", name, NULL };
		char *ca[] = { "cat", path, NULL };

		if (r % 2 == 0) {
			show[r] = run(sa);
			cat[r] = run(ca);
		} else {
			cat[r] = run(ca);
			show[r] = run(sa);
		}
		if (show[r] < 0 || cat[r] < 0) {
			fprintf(stderr, "bench_show: a run failed\n");
			shmstat_close(seg);
			shmstat_unlink(name);
			return 1;
		}
		met += show[r] <= 20;
	}
	qsort(show, (size_t)reps, sizeof(double), cmp);
	qsort(cat, (size_t)reps, sizeof(double), cmp);
	{
		struct shmstat_seg_info info;
		shmstat_reader *r;
		shmstat_snap *s;
		uint64_t size = 0;

		if (shmstat_reader_open(name, &r) == 0 && shmstat_snapshot(r, &s) == 0) {
			shmstat_snap_info(s, &info);
			size = info.size;
			shmstat_snap_free(s);
			shmstat_reader_close(r);
		}
		printf("{\"bench\":\"show_json\",\"counters\":10000,\"histograms\":100,"
		       "\"sig_capacity\":%d,\"sig_summaries\":1,\"sig_key_bytes\":32,"
		       "\"segment_bytes\":%llu,\"ms\":%.2f,"
		       "\"baseline\":\"cat_segment\",\"baseline_ms\":%.2f,\"ratio\":%.2f,"
		       "\"target\":\"ms<=20\",\"met_rounds\":%d,\"rounds\":%d}\n",
		       SIG_KEYS, (unsigned long long)size, show[reps / 2], cat[reps / 2],
		       cat[reps / 2] > 0 ? show[reps / 2] / cat[reps / 2] : 0, met, reps);
	}
	{
		double scrape[15], health[15], api[15];
		long series = 0, dummy;
		int port, okay = 1, met_api = 0;
		pid_t sp = start_serve(tool, name, &port);
		char show_path[512];

		snprintf(show_path, sizeof(show_path), "/api/v1/show?segment=%s", name);
		met = 0;
		for (int r = 0; r < reps && sp > 0 && port > 0; r++) {
			if (r % 2 == 0) {
				scrape[r] = http_get(port, "/metrics", &series);
				api[r] = http_get(port, show_path, &dummy);
				health[r] = http_get(port, "/healthz", &dummy);
			} else {
				health[r] = http_get(port, "/healthz", &dummy);
				api[r] = http_get(port, show_path, &dummy);
				scrape[r] = http_get(port, "/metrics", &series);
			}
			if (scrape[r] < 0 || health[r] < 0 || api[r] < 0)
				okay = 0;
			met += scrape[r] >= 0 && scrape[r] < 50 && series >= 10000;
			met_api += api[r] >= 0 && api[r] <= 50;
		}
		if (sp > 0) {
			kill(sp, SIGTERM);
			waitpid(sp, NULL, 0);
		}
		if (sp <= 0 || port <= 0 || !okay) {
			fprintf(stderr, "bench_show: shmstat serve did not answer\n");
			rc = 1;
		} else {
			qsort(health, (size_t)reps, sizeof(double), cmp);
			http_line("serve_scrape", "ms<50", series, scrape, health[reps / 2], met, reps);
			http_line("serve_api_show", "ms<=50", series, api, health[reps / 2], met_api,
				  reps);
		}
	}
	/* closed before the axes fork their writers, which would attach to
	 * it too */
	shmstat_close(seg);
	if (getenv("BENCH_KEEP"))
		printf("kept %s\n", name);
	else
		shmstat_unlink(name);
	if (axes(tool, quick) != 0)
		rc = 1;
	return rc;
}
