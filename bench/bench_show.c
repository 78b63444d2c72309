/*
 * bench_show.c - time of `shmstat show --json` on a big segment (10,000
 * counters, 100 histograms, a signature table of 64k entries), against
 * `cat` of the same segment file, both run as processes in the same run
 * (DESIGN.md, "Benchmark output"). Target: <= 20 ms for the whole command.
 *
 * Usage: bench_show [--quick]   (runs ../tools/shmstat next to it)
 */
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"

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

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct shmstat_opts o;
	struct shmstat_sigtab_opts so;
	shmstat_seg *seg;
	shmstat_sigtab *t;
	char name[64], path[128], keybuf[64], self[4096], tool[4200];
	int reps, quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
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
	o.max_sig_entries = 65536 + 64;
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
	shmstat_sigtab_opts_init(&so);
	so.capacity = 32768;       /* 64k entries */
	{
		struct shmstat_metric_def d = { .name = "bench_signatures" };

		if (shmstat_sigtab_register(seg, &d, &so, &t) != 0) {
			fprintf(stderr, "bench_show: %s\n", shmstat_last_error());
			shmstat_close(seg);
			shmstat_unlink(name);
			return 1;
		}
	}
	for (int i = 0; i < 32768; i++) {
		int n = snprintf(keybuf, sizeof(keybuf), "conversation-%08d:model", i);

		shmstat_sig_hit(t, keybuf, (size_t)n, 1000, 0);
	}
	for (int r = 0; r < reps; r++) {
		char *sa[] = { tool, "show", "--json", name, NULL };
		char *ca[] = { "cat", path, NULL };

		show[r] = run(sa);
		cat[r] = run(ca);
		if (show[r] < 0 || cat[r] < 0) {
			fprintf(stderr, "bench_show: a run failed\n");
			shmstat_close(seg);
			shmstat_unlink(name);
			return 1;
		}
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
		       "\"sig_entries\":65536,\"segment_bytes\":%llu,\"ms\":%.2f,"
		       "\"baseline\":\"cat_segment\",\"baseline_ms\":%.2f,\"ratio\":%.2f,"
		       "\"target\":\"ms<=20\",\"met\":%s}\n",
		       (unsigned long long)size, show[reps / 2], cat[reps / 2],
		       cat[reps / 2] > 0 ? show[reps / 2] / cat[reps / 2] : 0,
		       show[reps / 2] <= 20 ? "true" : "false");
	}
	if (getenv("BENCH_KEEP")) {
		printf("kept %s\n", name);
		return 0;
	}
	shmstat_close(seg);
	shmstat_unlink(name);
	return 0;
}
