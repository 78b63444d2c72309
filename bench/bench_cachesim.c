/*
 * bench_cachesim.c - overhead of the instrumentation on a realistic
 * service (issue 6): shmstat-cachesim with its shmstat calls against the
 * same run with --no-instrument (every shmstat call bypassed by a runtime
 * switch), same seed, 4 processes x 2 threads, timers sampled 1 in 16.
 *
 * Rounds: ROUNDS (9; 5 with --quick) of one instrumented, one plain and
 * one run with the signature-table calls alone bypassed (--no-sig), the
 * order turned every round so that drift hits all alike. Every
 * run does the same work: REQUESTS per thread (500,000; 200,000 with
 * --quick, about 0.8 s, so that --quick stays near 10 s), not a duration
 * (a slower run would do fewer requests, so more of them in the cache's
 * warm-up, all misses: the instrumented run would pay for that too).
 * What each run gives:
 *   requests/s       its "tally rate=" line (wall-clock throughput: on a
 *                    shared 2-CPU machine it swings with the neighbours)
 *   serving CPU      its "tally cpu_ns=" line: CPU time of the serving
 *                    threads while they served (setup, registration and
 *                    exit left out: what a long-running service pays)
 *   process-tree CPU user + sys of cachesim and its workers, whole runs
 *                    (RUSAGE_CHILDREN before and after): the above plus
 *                    start-up (key set, segment creation and pre-fault,
 *                    registration), the worker's reporting thread and exit
 * both CPU figures over the requests of the run ("tally total
 * requests="). Overhead of a round: (instrumented - plain) / plain, in
 * percent, of requests/s (lower is worse) or of CPU per request (higher
 * is worse). Output: three JSON lines, throughput, serving CPU and
 * process-tree CPU, each with the medians of instrumented and plain runs, the
 * median of the rounds' overheads, every round's overhead, and in how
 * many rounds the target (overhead < 1%) and, for CPU, the limit
 * (overhead <= 3%) were met. A fourth line splits the serving CPU's
 * overhead: the signature-table calls (instrumented - no-sig) and the
 * other calls (no-sig - plain), medians of the rounds' differences, in ns
 * and in percent of the plain run's. A missed target never fails the
 * process; the exit status is non-zero only when a run failed or printed
 * no tally.
 *
 * Usage: bench_cachesim [--quick]   (runs ../tools/shmstat-cachesim next to
 * it); BENCH_VERBOSE=1: every run to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "shmstat.h"

#define MAX_ROUNDS 9

static char cachesim[4096];

enum fig { F_RATE, F_CPU, F_TREE, F_COUNT };

/* figure @f of run @r, per request for the CPU ones (ns) */
static double figure(enum fig f, const struct bench_cachesim_result *r)
{
	switch (f) {
	case F_RATE: return r->rate;
	case F_CPU: return div0((double)r->cpu_ns, (double)r->requests);
	default: return div0((double)r->tree_cpu_ns, (double)r->requests);
	}
}

/* overhead in percent of instrumented @w against plain @wo */
static double overhead(enum fig f, double w, double wo)
{
	return f == F_RATE ? (wo - w) / wo * 100.0 : (w - wo) / wo * 100.0;
}

int main(int argc, char **argv)
{
	static const char *const what[F_COUNT] = { "", "serving_threads", "process_tree" };
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	const int rounds = quick ? 5 : MAX_ROUNDS;
	const char *duration = "600";        /* a limit: runs end by requests */
	const unsigned long requests = quick ? 200000 : 500000;
	char ins_opts[64], plain_opts[96];
	const char *verbose = getenv("BENCH_VERBOSE");
	int verb = verbose && *verbose && strcmp(verbose, "0") != 0;
	struct bench_cachesim_result inst[MAX_ROUNDS], plain[MAX_ROUNDS], nosig[MAX_ROUNDS];
	char nosig_opts[96];
	char name[64];

	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	if (bench_cachesim_path(cachesim, sizeof(cachesim), "bench_cachesim") != 0)
		return 1;
	snprintf(name, sizeof(name), "bench-cachesim-%d", (int)getpid());
	snprintf(ins_opts, sizeof(ins_opts), "--requests %lu", requests);
	snprintf(plain_opts, sizeof(plain_opts), "%s --no-instrument", ins_opts);
	snprintf(nosig_opts, sizeof(nosig_opts), "%s --no-sig", ins_opts);
	for (int r = 0; r < rounds; r++) {
		/* the three kinds in an order turned every round */
		const char *const opts[3] = { plain_opts, ins_opts, nosig_opts };
		struct bench_cachesim_result *const res[3] = { &plain[r], &inst[r], &nosig[r] };
		int bad = 0;

		for (int k = 0; k < 3; k++)
			bad |= bench_cachesim_run_ex(cachesim, name, duration, opts[(k + r) % 3],
						     res[(k + r) % 3]) != 0;
		if (bad || !inst[r].requests || !plain[r].requests || !nosig[r].requests ||
		    !inst[r].cpu_ns || !plain[r].cpu_ns || !nosig[r].cpu_ns) {
			fprintf(stderr, "bench_cachesim: round %d: a run of %s failed or printed "
				"no tally\n", r, cachesim);
			return 1;
		}
		if (verb)
			fprintf(stderr, "round %d: instrumented %.0f req/s, %.0f ns serving CPU, "
				"%.0f ns process CPU per request; plain %.0f req/s, %.0f ns, %.0f ns\n",
				r, figure(F_RATE, &inst[r]), figure(F_CPU, &inst[r]),
				figure(F_TREE, &inst[r]), figure(F_RATE, &plain[r]),
				figure(F_CPU, &plain[r]), figure(F_TREE, &plain[r]));
	}
	for (int f = 0; f < F_COUNT; f++) {
		double w[MAX_ROUNDS], wo[MAX_ROUNDS], ov[MAX_ROUNDS], sorted[MAX_ROUNDS];
		int met = 0, lim = 0;

		for (int r = 0; r < rounds; r++) {
			w[r] = figure((enum fig)f, &inst[r]);
			wo[r] = figure((enum fig)f, &plain[r]);
			ov[r] = overhead((enum fig)f, w[r], wo[r]);
			sorted[r] = ov[r];
			met += ov[r] < 1.0;
			lim += ov[r] <= 3.0;
		}
		if (f == F_RATE)
			printf("{\"bench\":\"cachesim_overhead\",\"procs\":4,\"threads\":2,"
			       "\"requests_per_thread\":%lu,\"timer_sample\":16,"
			       "\"requests_per_s\":%.0f,\"baseline\":\"no_instrument\","
			       "\"baseline_requests_per_s\":%.0f,",
			       requests, median(w, rounds), median(wo, rounds));
		else
			printf("{\"bench\":\"cachesim_cpu\",\"cpu\":\"%s\",\"procs\":4,\"threads\":2,"
			       "\"requests_per_thread\":%lu,\"timer_sample\":16,"
			       "\"ns_per_request\":%.1f,\"baseline\":\"no_instrument\","
			       "\"baseline_ns_per_request\":%.1f,",
			       what[f], requests, median(w, rounds), median(wo, rounds));
		printf("\"overhead_percent\":%.2f,\"round_overhead_percent\":[",
		       median(sorted, rounds));
		for (int r = 0; r < rounds; r++)
			printf("%s%.2f", r ? "," : "", ov[r]);
		printf("],\"target\":\"overhead<1%%\",\"met_rounds\":%d", met);
		if (f != F_RATE)
			printf(",\"limit\":\"overhead<=3%%\",\"limit_met_rounds\":%d", lim);
		printf(",\"rounds\":%d}\n", rounds);
	}
	/* what the signature-table calls cost, and what the other calls
	 * (counters, gauge, timers) cost: serving CPU per request */
	{
		double sig[MAX_ROUNDS], other[MAX_ROUNDS], base[MAX_ROUNDS];

		for (int r = 0; r < rounds; r++) {
			sig[r] = figure(F_CPU, &inst[r]) - figure(F_CPU, &nosig[r]);
			other[r] = figure(F_CPU, &nosig[r]) - figure(F_CPU, &plain[r]);
			base[r] = figure(F_CPU, &plain[r]);
		}
		printf("{\"bench\":\"cachesim_cpu_split\",\"cpu\":\"serving_threads\",\"procs\":4,"
		       "\"threads\":2,\"requests_per_thread\":%lu,\"baseline\":\"no_instrument\","
		       "\"baseline_ns_per_request\":%.1f,\"sig_calls_ns_per_request\":%.1f,"
		       "\"sig_calls_percent\":%.2f,\"other_calls_ns_per_request\":%.1f,"
		       "\"other_calls_percent\":%.2f,\"rounds\":%d}\n",
		       requests, median(base, rounds), median(sig, rounds),
		       median(sig, rounds) / median(base, rounds) * 100.0, median(other, rounds),
		       median(other, rounds) / median(base, rounds) * 100.0, rounds);
	}
	return 0;
}
