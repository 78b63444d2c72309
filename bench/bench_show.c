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
 *
 * Wall-clock times (a reader's command, what an operator waits for),
 * medians; each line says in how many runs its target was met
 * (met_rounds of rounds). A missed target never fails the process; the
 * exit status is non-zero only when a run failed or the signature table
 * read back does not hold the 65,536 keys and events written.
 *
 * Usage: bench_show [--quick]   (runs ../tools/shmstat next to it)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
		double scrape[15], health[15];
		long series = 0, dummy;
		int port, okay = 1;
		pid_t sp = start_serve(tool, name, &port);

		met = 0;
		for (int r = 0; r < reps && sp > 0 && port > 0; r++) {
			if (r % 2 == 0) {
				scrape[r] = http_get(port, "/metrics", &series);
				health[r] = http_get(port, "/healthz", &dummy);
			} else {
				health[r] = http_get(port, "/healthz", &dummy);
				scrape[r] = http_get(port, "/metrics", &series);
			}
			if (scrape[r] < 0 || health[r] < 0)
				okay = 0;
			met += scrape[r] >= 0 && scrape[r] < 50 && series >= 10000;
		}
		if (sp > 0) {
			kill(sp, SIGTERM);
			waitpid(sp, NULL, 0);
		}
		if (sp <= 0 || port <= 0 || !okay) {
			fprintf(stderr, "bench_show: shmstat serve did not answer\n");
			rc = 1;
		} else {
			qsort(scrape, (size_t)reps, sizeof(double), cmp);
			qsort(health, (size_t)reps, sizeof(double), cmp);
			printf("{\"bench\":\"serve_scrape\",\"series\":%ld,\"ms\":%.2f,"
			       "\"baseline\":\"healthz\",\"baseline_ms\":%.3f,\"ratio\":%.1f,"
			       "\"target\":\"ms<50\",\"met_rounds\":%d,\"rounds\":%d}\n",
			       series, scrape[reps / 2], health[reps / 2],
			       health[reps / 2] > 0 ? scrape[reps / 2] / health[reps / 2] : 0,
			       met, reps);
		}
	}
	if (getenv("BENCH_KEEP")) {
		printf("kept %s\n", name);
		return rc;
	}
	shmstat_close(seg);
	shmstat_unlink(name);
	return rc;
}
