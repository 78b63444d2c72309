/*
 * demo.c - shmstat-demo: a small multi-process writer for the README demo.
 *
 * Forks P worker processes of T threads each; every thread serves fake
 * requests for a few seconds and counts them in a shared segment:
 * requests, cache hits and misses per worker, requests in flight (a SUM
 * gauge), the deepest queue (a MAX gauge) and live workers (a LIVESUM
 * gauge). The parent prints what the workers say they counted, so the
 * numbers `shmstat show` prints can be checked against them.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"

static const char usage[] =
	"usage: shmstat-demo [--name NAME] [--procs P] [--threads T] [--seconds S]\n";

struct worker {
	shmstat_counter *requests, *hits, *misses;
	shmstat_gauge *inflight, *queue;
	shmstat_hist *latency;
	shmstat_sigtab *sigs;
	double seconds;
	unsigned long long served, hit;
	uint32_t account[3];
	unsigned seed;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *serve(void *arg)
{
	struct worker *w = arg;
	double end = now() + w->seconds;
	unsigned x = w->seed | 1;

	while (now() < end) {
		for (int i = 0; i < 1000; i++) {
			/* time 1 request in 64 */
			uint64_t t0 = shmstat_timer_start_sampled(64);

			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			shmstat_gauge_add(w->inflight, 1);
			shmstat_counter_inc(w->requests);
			if (x % 100 < 80) {
				shmstat_counter_inc(w->hits);
				w->hit++;
			} else {
				shmstat_counter_inc(w->misses);
			}
			if (t0) {
				/* 1 request in 64: which conversation, and
				 * what its reuse saved (micro-dollars) */
				char key[32];
				unsigned conv = (x >> 8) % 97 * ((x >> 16) % 97) / 97;
				int n = snprintf(key, sizeof(key), "conv-%u:gpt", conv);

				if (x % 100 < 80)
					shmstat_sig_hit(w->sigs, key, (size_t)n, 1000,
							w->account[conv % 3]);
				else
					shmstat_sig_miss(w->sigs, key, (size_t)n,
							 w->account[conv % 3]);
			}
			w->served++;
			shmstat_gauge_sub(w->inflight, 1);
			shmstat_timer_stop(w->latency, t0);
		}
		shmstat_gauge_set(w->queue, (int64_t)(x % 64));
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	}
	return NULL;
}

static int run_worker(const char *name, int id, int threads, double seconds)
{
	char idbuf[16];
	const char *labels[] = { "worker", idbuf, NULL };
	struct shmstat_metric_def def = { 0 };
	struct worker w[64];
	pthread_t tid[64];
	shmstat_seg *seg;
	shmstat_counter *requests, *hits, *misses;
	shmstat_gauge *inflight, *queue, *alive;
	shmstat_hist *latency;
	shmstat_sigtab *sigs;
	uint32_t account[3] = { 0 };
	unsigned long long served = 0, hit = 0;

	if (shmstat_open(name, NULL, &seg) != 0) {
		fprintf(stderr, "shmstat-demo: %s\n", shmstat_last_error());
		return 1;
	}
	snprintf(idbuf, sizeof(idbuf), "%d", id);
	def.name = "demo_requests_total";
	def.labels = labels;
	def.help = "requests served";
	shmstat_counter_register(seg, &def, &requests);
	def.labels = NULL;
	def.name = "demo_cache_hits_total";
	def.help = "cache hits";
	shmstat_counter_register(seg, &def, &hits);
	def.name = "demo_cache_misses_total";
	def.help = "cache misses";
	shmstat_counter_register(seg, &def, &misses);
	def.name = "demo_inflight";
	def.help = "requests in flight";
	shmstat_gauge_register(seg, &def, SHMSTAT_AGG_SUM, &inflight);
	def.name = "demo_queue_depth_max";
	def.help = "deepest queue of any worker";
	shmstat_gauge_register(seg, &def, SHMSTAT_AGG_MAX, &queue);
	def.name = "demo_workers_alive";
	def.help = "worker processes running";
	shmstat_gauge_register(seg, &def, SHMSTAT_AGG_LIVESUM, &alive);
	shmstat_gauge_set(alive, 1);
	def.name = "demo_request_duration";
	def.help = "time to serve a request (1 in 64 sampled)";
	def.unit = "ns";
	shmstat_hist_register(seg, &def, NULL, &latency);
	def.name = "demo_signatures";
	def.help = "conversations served from cache (1 in 64 sampled)";
	def.unit = NULL;
	shmstat_sigtab_register(seg, &def, NULL, &sigs);
	for (int a = 0; a < 3; a++) {
		char acct[16];

		snprintf(acct, sizeof(acct), "account-%d", a + 1);
		shmstat_sig_owner(sigs, acct, &account[a]);
	}

	for (int t = 0; t < threads; t++) {
		w[t] = (struct worker){ requests, hits, misses, inflight, queue, latency, sigs,
					seconds, 0, 0, { account[0], account[1], account[2] },
					(unsigned)(id * 7919 + t * 104729 + 1) };
		pthread_create(&tid[t], NULL, serve, &w[t]);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		served += w[t].served;
		hit += w[t].hit;
	}
	shmstat_gauge_set(alive, 0);
	printf("worker %d (pid %d): %llu requests, %llu hits, %llu misses\n", id, (int)getpid(),
	       served, hit, served - hit);
	fflush(stdout);
	shmstat_close(seg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "procs", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = "demo";
	int procs = 3, threads = 2, c, rc = 0;
	double seconds = 3;

	while ((c = getopt_long(argc, argv, "n:p:t:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'p': procs = (int)strtol(optarg, NULL, 10); break;
		case 't': threads = (int)strtol(optarg, NULL, 10); break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (procs < 1 || procs > 32 || threads < 1 || threads > 64 || seconds <= 0 || seconds > 3600) {
		fprintf(stderr, "shmstat-demo: procs must be 1..32, threads 1..64, seconds 0..3600\n");
		return 2;
	}
	if (shmstat_valid_name(name) != 0) {
		fprintf(stderr, "shmstat-demo: %s\n", shmstat_last_error());
		return 2;
	}
	fflush(stdout);
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(run_worker(name, i, threads, seconds));
		if (pid < 0) {
			perror("shmstat-demo: fork");
			rc = 1;
		}
	}
	for (int i = 0; i < procs; i++) {
		int st;

		if (wait(&st) > 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
			rc = 1;
	}
	return rc;
}
